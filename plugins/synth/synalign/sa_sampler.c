/*
 * sa_sampler.c - see sa_sampler.h.
 */
#include "sa_sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernel.h"

int sa_gp_var(const double *X, size_t n, const double *Xs, size_t m, size_t d,
              double s2, double l, double sn2, double *var, assay_error *err)
{
    if (n == 0) {
        for (size_t a = 0; a < m; a++)
            var[a] = s2;
        return ASSAY_OK;
    }
    double *y = calloc(n, sizeof *y), *mean = malloc((m + 1) * sizeof *mean);
    int rc = ASSAY_OK;
    if (!y || !mean)
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    else if ((rc = mk_gp_posterior(X, n, d, y, Xs, m, s2, &l, 1, sn2, mean,
                                   NULL, var, NULL)) == ASSAY_ENOMEM)
        assay_error_set(err, rc, "out of memory");
    else if (rc)
        assay_error_set(err, rc,
                        "the GP kernel matrix of the selected points is not "
                        "positive definite (raise gp_noise)");
    free(y);
    free(mean);
    return rc;
}

static double dist2(const double *a, const double *b, size_t d)
{
    double s = 0;
    for (size_t k = 0; k < d; k++) {
        double t = a[k] - b[k];
        s += t * t;
    }
    return s;
}

int sa_sample(const double *E, size_t n, size_t d, const sa_opts *o,
              size_t *picks, size_t *cluster, bool *fallback, assay_error *err)
{
    size_t k = o->k ? o->k : 1;
    bool *sel = calloc(n, sizeof *sel);
    size_t *rem = malloc(n * sizeof *rem);       /* remaining indices */
    double *S = malloc((n * d + 1) * sizeof *S); /* selected embeddings */
    double *R = malloc((n * d + 1) * sizeof *R); /* remaining embeddings */
    double *var = malloc((n + 1) * sizeof *var);
    size_t nsel = 0;
    int rc = ASSAY_OK;
    assay_rng rng;
    assay_rng_init(&rng, o->seed);
    if (!sel || !rem || !S || !R || !var) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    double l = o->lengthscale;
    if (!(l > 0)) {
        if ((rc = mk_median_distance(E, n, NULL, 0, d, 1000, &l))) {
            assay_error_set(err, rc, "out of memory");
            goto done;
        }
        if (!(l > 0))
            l = 1.0; /* every point identical */
    }
    for (size_t r = 0; r < o->rounds; r++) {
        if (o->host && o->host->cancelled(o->host)) {
            rc = assay_error_set(err, ASSAY_ECANCELED, "cancelled");
            goto done;
        }
        size_t nrem = 0;
        for (size_t i = 0; i < n; i++)
            if (!sel[i]) {
                memcpy(R + nrem * d, E + i * d, d * sizeof *R);
                rem[nrem++] = i;
            }
        size_t *cl = cluster + r * k;
        for (size_t j = 0; j < k; j++)
            cl[j] = SIZE_MAX;
        fallback[r] = nrem == 0;
        if (nrem == 0) {
            picks[r] = cl[0] = (size_t)assay_rng_below(&rng, n);
            continue;
        }
        size_t best = 0;
        if (nsel == 0) {
            best = (size_t)assay_rng_below(&rng, nrem);
        } else {
            if ((rc = sa_gp_var(S, nsel, R, nrem, d, 1.0, l, o->noise, var,
                                err)))
                goto done;
            for (size_t a = 1; a < nrem; a++)
                if (var[a] > var[best])
                    best = a;
        }
        size_t p = rem[best];
        picks[r] = p;
        cl[0] = p;
        sel[p] = true;
        memcpy(S + nsel * d, E + p * d, d * sizeof *S);
        nsel++;
        /* its k - 1 nearest unselected neighbours */
        for (size_t j = 1; j < k; j++) {
            size_t nn = SIZE_MAX;
            double bd = INFINITY;
            for (size_t a = 0; a < nrem; a++) {
                size_t i = rem[a];
                if (sel[i])
                    continue;
                double dd = dist2(E + p * d, E + i * d, d);
                if (dd < bd) {
                    bd = dd;
                    nn = i;
                }
            }
            if (nn == SIZE_MAX)
                break;
            cl[j] = nn;
            sel[nn] = true;
            memcpy(S + nsel * d, E + nn * d, d * sizeof *S);
            nsel++;
        }
    }
done:
    free(sel);
    free(rem);
    free(S);
    free(R);
    free(var);
    return rc;
}
