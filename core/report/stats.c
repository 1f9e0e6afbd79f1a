/*
 * core/report/stats.c - McNemar and the paired bootstrap (see stats.h).
 */
#include "report/stats.h"

#include <math.h>
#include <stdlib.h>

#include <assay/error.h>
#include <assay/rng.h>

double rstats_mcnemar_exact(size_t b, size_t c)
{
    size_t n = b + c, k = b < c ? b : c;
    if (n == 0)
        return 1.0;
    /* P[X <= k] summed in log space from the largest term down, so that
     * large n neither overflows nor underflows */
    double ln2n = (double)n * log(2.0), lgn1 = lgamma((double)n + 1);
    double sum = 0;
    for (size_t i = 0; i <= k; i++) {
        double lt =
            lgn1 - lgamma((double)i + 1) - lgamma((double)(n - i) + 1) - ln2n;
        sum += exp(lt);
    }
    double p = 2 * sum;
    return p > 1 ? 1 : p;
}

double rstats_mcnemar_chi2(size_t b, size_t c, double *stat)
{
    size_t n = b + c;
    if (n == 0) {
        if (stat)
            *stat = 0;
        return 1.0;
    }
    double d = fabs((double)b - (double)c) - 1;
    if (d < 0)
        d = 0;
    double x = d * d / (double)n;
    if (stat)
        *stat = x;
    /* survival function of chi-squared with 1 dof */
    return erfc(sqrt(x / 2));
}

static int cmp_d(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* Quantile of sorted v (linear interpolation, numpy's default). */
static double quantile(const double *v, size_t n, double q)
{
    double h = (double)(n - 1) * q;
    size_t lo = (size_t)floor(h);
    size_t hi = lo + 1 < n ? lo + 1 : lo;
    return v[lo] + (h - (double)lo) * (v[hi] - v[lo]);
}

int rstats_paired_bootstrap(const double *a, const double *b, size_t n,
                            unsigned resamples, uint64_t seed, double alpha,
                            rstats_boot *out)
{
    if (n == 0 || resamples == 0)
        return ASSAY_EINVAL;
    double *d = malloc(n * sizeof *d), *m = malloc(resamples * sizeof *m);
    if (!d || !m) {
        free(d);
        free(m);
        return ASSAY_ENOMEM;
    }
    double sa = 0, sb = 0;
    for (size_t i = 0; i < n; i++) {
        d[i] = b[i] - a[i];
        sa += a[i];
        sb += b[i];
    }
    out->mean_a = sa / (double)n;
    out->mean_b = sb / (double)n;
    out->diff = (sb - sa) / (double)n;
    assay_rng r;
    assay_rng_init(&r, seed);
    size_t le = 0, ge = 0;
    for (unsigned k = 0; k < resamples; k++) {
        double s = 0;
        for (size_t i = 0; i < n; i++)
            s += d[assay_rng_below(&r, n)];
        m[k] = s / (double)n;
        le += m[k] <= 0;
        ge += m[k] >= 0;
    }
    qsort(m, resamples, sizeof *m, cmp_d);
    out->lo = quantile(m, resamples, alpha / 2);
    out->hi = quantile(m, resamples, 1 - alpha / 2);
    double p = 2.0 * (double)(le < ge ? le : ge) / resamples;
    out->p = p > 1 ? 1 : p;
    out->resamples = resamples;
    free(d);
    free(m);
    return 0;
}
