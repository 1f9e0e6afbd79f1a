/*
 * kernel.c - RBF-kernel MMD, the median heuristic and a GP posterior.
 */
#include "kernel.h"

#include <assay/error.h>
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

double mk_rbf(const double *a, const double *b, size_t d, double sigma)
{
    double s = 0.0;
    for (size_t k = 0; k < d; k++) {
        double t = a[k] - b[k];
        s += t * t;
    }
    return exp(-s / (2.0 * sigma * sigma));
}

/* ---- MMD: row blocks summed per block, blocks added in order ------------- */

typedef struct mmd_job {
    const double *X, *Y, *w;
    size_t n, m, d;
    double sigma;
    size_t nblocks, block;
    /* per block of rows: within-X (i < j), within-Y (a < b, plain and
     * weighted), and cross sums (plain and weighted) */
    double *sxx, *syy, *syyw, *sxy, *sxyw;
    size_t next;
    pthread_mutex_t lock;
} mmd_job;

static void mmd_block(mmd_job *j, size_t blk)
{
    size_t total = j->n + j->m;
    size_t b = blk * j->block, e = b + j->block < total ? b + j->block : total;
    double sxx = 0, syy = 0, syyw = 0, sxy = 0, sxyw = 0;
    for (size_t r = b; r < e; r++) {
        if (r < j->n) {
            const double *x = j->X + r * j->d;
            for (size_t i = r + 1; i < j->n; i++)
                sxx += mk_rbf(x, j->X + i * j->d, j->d, j->sigma);
            for (size_t a = 0; a < j->m; a++) {
                double k = mk_rbf(x, j->Y + a * j->d, j->d, j->sigma);
                sxy += k;
                if (j->w)
                    sxyw += j->w[a] * k;
            }
        } else {
            size_t a = r - j->n;
            const double *y = j->Y + a * j->d;
            for (size_t c = a + 1; c < j->m; c++) {
                double k = mk_rbf(y, j->Y + c * j->d, j->d, j->sigma);
                syy += k;
                if (j->w)
                    syyw += j->w[a] * j->w[c] * k;
            }
        }
    }
    j->sxx[blk] = sxx;
    j->syy[blk] = syy;
    j->syyw[blk] = syyw;
    j->sxy[blk] = sxy;
    j->sxyw[blk] = sxyw;
}

static void *mmd_worker(void *arg)
{
    mmd_job *j = arg;
    for (;;) {
        pthread_mutex_lock(&j->lock);
        size_t blk = j->next++;
        pthread_mutex_unlock(&j->lock);
        if (blk >= j->nblocks)
            break;
        mmd_block(j, blk);
    }
    return NULL;
}

int mk_mmd(const double *X, size_t n, const double *Y, size_t m, size_t d,
           double sigma, const double *wy, unsigned nthreads,
           mk_mmd_result *out)
{
    mmd_job j;
    memset(&j, 0, sizeof j);
    j.X = X;
    j.Y = Y;
    j.n = n;
    j.m = m;
    j.d = d;
    j.sigma = sigma;
    double *v = NULL;
    if (wy) {
        double ws = 0;
        for (size_t a = 0; a < m; a++)
            ws += wy[a];
        v = malloc((m ? m : 1) * sizeof *v);
        if (!v)
            return ASSAY_ENOMEM;
        for (size_t a = 0; a < m; a++)
            v[a] = wy[a] / ws;
        j.w = v;
    }
    j.block = 16;
    j.nblocks = (n + m + j.block - 1) / j.block;
    size_t nb = j.nblocks ? j.nblocks : 1;
    double *buf = calloc(5 * nb, sizeof *buf);
    if (!buf) {
        free(v);
        return ASSAY_ENOMEM;
    }
    j.sxx = buf;
    j.syy = buf + nb;
    j.syyw = buf + 2 * nb;
    j.sxy = buf + 3 * nb;
    j.sxyw = buf + 4 * nb;
    pthread_mutex_init(&j.lock, NULL);
    pthread_t tid[64];
    unsigned started = 0;
    for (unsigned t = 1; t < nthreads && t < 64; t++) {
        if (pthread_create(&tid[t], NULL, mmd_worker, &j) != 0)
            break;
        started = t;
    }
    mmd_worker(&j);
    for (unsigned t = 1; t <= started; t++)
        pthread_join(tid[t], NULL);
    pthread_mutex_destroy(&j.lock);
    double sxx = 0, syy = 0, syyw = 0, sxy = 0, sxyw = 0;
    for (size_t b = 0; b < j.nblocks; b++) {
        sxx += j.sxx[b];
        syy += j.syy[b];
        syyw += j.syyw[b];
        sxy += j.sxy[b];
        sxyw += j.sxyw[b];
    }
    double dn = (double)n, dm = (double)m;
    /* full sums: diagonal k = 1, off-diagonal pairs twice */
    double fxx = 2.0 * sxx + dn, fyy = 2.0 * syy + dm;
    out->kxx_mean = fxx / (dn * dn);
    out->kyy_mean = fyy / (dm * dm);
    out->kxy_mean = sxy / (dn * dm);
    out->mmd2_biased = out->kxx_mean + out->kyy_mean - 2.0 * out->kxy_mean;
    out->mmd2_unbiased = n >= 2 && m >= 2
                             ? 2.0 * sxx / (dn * (dn - 1)) +
                                   2.0 * syy / (dm * (dm - 1)) -
                                   2.0 * out->kxy_mean
                             : NAN;
    out->mmd2_weighted = NAN;
    if (v) {
        double sq = 0;
        for (size_t a = 0; a < m; a++)
            sq += v[a] * v[a];
        out->mmd2_weighted = out->kxx_mean + (2.0 * syyw + sq) -
                             2.0 * sxyw / dn;
    }
    free(buf);
    free(v);
    return 0;
}

/* ---- median heuristic ------------------------------------------------------ */

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int mk_median_distance(const double *X, size_t n, const double *Y, size_t m,
                       size_t d, size_t max_points, double *median)
{
    size_t total = n + m, use = total;
    if (max_points >= 2 && use > max_points)
        use = max_points;
    *median = 0;
    if (use < 2)
        return 0;
    const double **pts = malloc(use * sizeof *pts);
    size_t np = use * (use - 1) / 2;
    double *dist = malloc(np * sizeof *dist);
    if (!pts || !dist) {
        free(pts);
        free(dist);
        return ASSAY_ENOMEM;
    }
    for (size_t k = 0; k < use; k++) {
        size_t idx = (size_t)((double)k * (double)total / (double)use);
        pts[k] = idx < n ? X + idx * d : Y + (idx - n) * d;
    }
    size_t w = 0;
    for (size_t a = 0; a < use; a++)
        for (size_t b = a + 1; b < use; b++) {
            double s = 0;
            for (size_t k = 0; k < d; k++) {
                double t = pts[a][k] - pts[b][k];
                s += t * t;
            }
            dist[w++] = sqrt(s);
        }
    qsort(dist, np, sizeof *dist, cmp_dbl);
    *median = np % 2 ? dist[np / 2]
                     : 0.5 * (dist[np / 2 - 1] + dist[np / 2]);
    free(pts);
    free(dist);
    return 0;
}

/* ---- Gaussian-process posterior -------------------------------------------- */

static double gp_k(const double *a, const double *b, size_t d, double s2,
                   const double *ls, size_t nls)
{
    double s = 0;
    for (size_t k = 0; k < d; k++) {
        double t = (a[k] - b[k]) / ls[nls == 1 ? 0 : k];
        s += t * t;
    }
    return s2 * exp(-0.5 * s);
}

int mk_gp_posterior(const double *X, size_t n, size_t d, const double *y,
                    const double *Xs, size_t m, double s2, const double *ls,
                    size_t nls, double sn2, double *mean, double *cov,
                    double *var, double *lml)
{
    int rc = 0;
    double *K = malloc((n * n + 1) * sizeof *K);
    double *alpha = malloc((n + 1) * sizeof *alpha);
    double *V = malloc((n * m + 1) * sizeof *V);
    if (!K || !alpha || !V) {
        rc = ASSAY_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            K[i * n + j] = gp_k(X + i * d, X + j * d, d, s2, ls, nls) +
                           (i == j ? sn2 : 0.0);
    if (n > 0 && LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)n, K,
                                (lapack_int)n) != 0) {
        rc = ASSAY_EDATA; /* not positive definite */
        goto done;
    }
    /* alpha = K^-1 y = L^-T L^-1 y */
    memcpy(alpha, y, n * sizeof *alpha);
    if (n > 0) {
        cblas_dtrsv(CblasRowMajor, CblasLower, CblasNoTrans, CblasNonUnit,
                    (blasint)n, K, (blasint)n, alpha, 1);
        double quad = 0;
        for (size_t i = 0; i < n; i++)
            quad += alpha[i] * alpha[i]; /* y^T K^-1 y = |L^-1 y|^2 */
        cblas_dtrsv(CblasRowMajor, CblasLower, CblasTrans, CblasNonUnit,
                    (blasint)n, K, (blasint)n, alpha, 1);
        if (lml) {
            double logdet = 0;
            for (size_t i = 0; i < n; i++)
                logdet += log(K[i * n + i]);
            *lml = -0.5 * quad - logdet -
                   0.5 * (double)n * log(2.0 * 3.14159265358979323846);
        }
    } else if (lml) {
        *lml = 0;
    }
    /* V = L^-1 K(X, Xs) (n x m) */
    for (size_t i = 0; i < n; i++)
        for (size_t a = 0; a < m; a++)
            V[i * m + a] = gp_k(X + i * d, Xs + a * d, d, s2, ls, nls);
    for (size_t a = 0; a < m; a++) {
        double s = 0;
        for (size_t i = 0; i < n; i++)
            s += V[i * m + a] * alpha[i];
        mean[a] = s;
    }
    if (n > 0 && m > 0)
        cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasNoTrans,
                    CblasNonUnit, (blasint)n, (blasint)m, 1.0, K,
                    (blasint)n, V, (blasint)m);
    for (size_t a = 0; a < m; a++)
        for (size_t b = a; b < m; b++) {
            if (!cov && b != a)
                continue;
            double s = 0;
            for (size_t i = 0; i < n; i++)
                s += V[i * m + a] * V[i * m + b];
            double c = gp_k(Xs + a * d, Xs + b * d, d, s2, ls, nls) - s;
            if (cov) {
                cov[a * m + b] = c;
                cov[b * m + a] = c;
            }
            if (var && a == b)
                var[a] = c;
        }
done:
    free(K);
    free(alpha);
    free(V);
    return rc;
}
