/*
 * fstat.c - goodness of fit, covariance from the Jacobian (via a Jacobi
 * eigen-decomposition of the scaled normal matrix, which also gives the
 * condition number), percentile intervals.
 */
#include "fstat.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void fstat_gof_compute(const double *y, const double *pred, size_t n,
                       fstat_gof *g)
{
    double mean = 0, ss_tot = 0, ss_res = 0, ape = 0;
    size_t nape = 0;
    g->n = n;
    for (size_t i = 0; i < n; i++)
        mean += y[i];
    mean = n ? mean / (double)n : 0;
    for (size_t i = 0; i < n; i++) {
        double e = pred[i] - y[i];
        ss_res += e * e;
        ss_tot += (y[i] - mean) * (y[i] - mean);
        if (y[i] != 0) {
            ape += fabs(e / y[i]);
            nape++;
        }
    }
    g->r2 = n >= 2 && ss_tot > 0 ? 1 - ss_res / ss_tot : NAN;
    g->rmse = n ? sqrt(ss_res / (double)n) : NAN;
    g->mape = nape ? ape / (double)nape : NAN;
}

/* Eigenvalues (w) and vectors (V, columns) of symmetric A (k x k,
 * destroyed) by cyclic Jacobi rotations. */
static void jacobi_eigen(double *A, size_t k, double *w, double *V)
{
    memset(V, 0, k * k * sizeof *V);
    for (size_t i = 0; i < k; i++)
        V[i * k + i] = 1;
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0, diag = 0;
        for (size_t p = 0; p < k; p++) {
            diag += A[p * k + p] * A[p * k + p];
            for (size_t q = p + 1; q < k; q++)
                off += A[p * k + q] * A[p * k + q];
        }
        if (off <= 1e-30 * diag || off == 0)
            break;
        for (size_t p = 0; p < k; p++)
            for (size_t q = p + 1; q < k; q++) {
                double apq = A[p * k + q];
                if (apq == 0)
                    continue;
                double theta = (A[q * k + q] - A[p * k + p]) / (2 * apq);
                double t = (theta >= 0 ? 1 : -1) /
                           (fabs(theta) + sqrt(theta * theta + 1));
                double c = 1 / sqrt(t * t + 1), s = t * c;
                for (size_t r = 0; r < k; r++) {
                    double arp = A[r * k + p], arq = A[r * k + q];
                    A[r * k + p] = c * arp - s * arq;
                    A[r * k + q] = s * arp + c * arq;
                }
                for (size_t r = 0; r < k; r++) {
                    double apr = A[p * k + r], aqr = A[q * k + r];
                    A[p * k + r] = c * apr - s * aqr;
                    A[q * k + r] = s * apr + c * aqr;
                }
                for (size_t r = 0; r < k; r++) {
                    double vrp = V[r * k + p], vrq = V[r * k + q];
                    V[r * k + p] = c * vrp - s * vrq;
                    V[r * k + q] = s * vrp + c * vrq;
                }
            }
    }
    for (size_t i = 0; i < k; i++)
        w[i] = A[i * k + i];
}

int fstat_covariance(const double *J, const double *r, size_t n, size_t k,
                     double *cov, double *cond)
{
    int rc = -1;
    double *A = calloc(k * k + 1, sizeof *A);
    double *V = calloc(k * k + 1, sizeof *V);
    double *w = calloc(k + 1, sizeof *w);
    double *sc = calloc(k + 1, sizeof *sc);
    *cond = INFINITY;
    if (!A || !V || !w || !sc || n <= k)
        goto out;
    for (size_t a = 0; a < k; a++)
        for (size_t b = 0; b <= a; b++) {
            double t = 0;
            for (size_t i = 0; i < n; i++)
                t += J[i * k + a] * J[i * k + b];
            A[a * k + b] = A[b * k + a] = t;
        }
    for (size_t a = 0; a < k; a++) {
        if (!(A[a * k + a] > 0) || !isfinite(A[a * k + a]))
            goto out; /* a parameter with no effect on the fit */
        sc[a] = 1 / sqrt(A[a * k + a]);
    }
    for (size_t a = 0; a < k; a++)
        for (size_t b = 0; b < k; b++)
            A[a * k + b] *= sc[a] * sc[b];
    jacobi_eigen(A, k, w, V);
    double wmin = INFINITY, wmax = 0;
    for (size_t a = 0; a < k; a++) {
        wmin = fmin(wmin, w[a]);
        wmax = fmax(wmax, w[a]);
    }
    if (!(wmin > 0))
        goto out;
    *cond = wmax / wmin;
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += r[i] * r[i];
    double s2 = ss / (double)(n - k);
    for (size_t a = 0; a < k; a++)
        for (size_t b = 0; b < k; b++) {
            double t = 0;
            for (size_t m = 0; m < k; m++)
                t += V[a * k + m] * V[b * k + m] / w[m];
            cov[a * k + b] = t * sc[a] * sc[b] * s2;
        }
    rc = 0;
out:
    free(A);
    free(V);
    free(w);
    free(sc);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double quantile_sorted(const double *v, size_t n, double q)
{
    double h = q * (double)(n - 1);
    size_t i = (size_t)floor(h);
    if (i + 1 >= n)
        return v[n - 1];
    return v[i] + (h - (double)i) * (v[i + 1] - v[i]);
}

void fstat_percentile_ci(double *v, size_t n, double level, double *lo,
                         double *hi)
{
    if (n == 0) {
        *lo = *hi = NAN;
        return;
    }
    qsort(v, n, sizeof *v, cmp_double);
    *lo = quantile_sorted(v, n, (1 - level) / 2);
    *hi = quantile_sorted(v, n, (1 + level) / 2);
}

double fstat_sd(const double *v, size_t n)
{
    if (n < 2)
        return NAN;
    double m = 0, s = 0;
    for (size_t i = 0; i < n; i++)
        m += v[i];
    m /= (double)n;
    for (size_t i = 0; i < n; i++)
        s += (v[i] - m) * (v[i] - m);
    return sqrt(s / (double)(n - 1));
}
