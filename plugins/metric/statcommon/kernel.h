/*
 * kernel.h - RBF-kernel statistics for distribution comparison and
 * Bayesian optimisation: MMD^2 (biased, unbiased, weighted biased), the
 * median-distance bandwidth heuristic, and a Gaussian-process regression
 * posterior (Cholesky through LAPACKE).  Reused by metric.mmd and by the
 * synthesizers that weight samples by MMD or track GP uncertainty.
 *
 * Points are row-major arrays: X is n x d.  Functions return 0 or a
 * negative ASSAY_E* code (ENOMEM; EDATA for a kernel matrix that is not
 * positive definite).
 */
#ifndef METRIC_KERNEL_H
#define METRIC_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* k(a, b) = exp(-||a - b||^2 / (2 sigma^2)) */
double mk_rbf(const double *a, const double *b, size_t d, double sigma);

typedef struct mk_mmd_result {
    double kxx_mean, kyy_mean, kxy_mean; /* full matrices, diagonals in */
    double mmd2_biased;    /* V-statistic */
    double mmd2_unbiased;  /* U-statistic within samples; NaN if n or m < 2 */
    double mmd2_weighted;  /* weights on Y normalised to sum 1; NaN when no
                              weights were given */
} mk_mmd_result;

/*
 * MMD^2 between X (n x d, real) and Y (m x d, synthetic) with bandwidth
 * sigma > 0.  wy (m entries, >= 0, positive sum) or NULL.  Work is split
 * over `nthreads` threads; the result does not depend on the count.
 */
int mk_mmd(const double *X, size_t n, const double *Y, size_t m, size_t d,
           double sigma, const double *wy, unsigned nthreads,
           mk_mmd_result *out);

/*
 * Median of the Euclidean distances between distinct points of the
 * pooled sample X u Y (at most max_points points, evenly spaced, are
 * used).  0 when every pooled point is identical.
 */
int mk_median_distance(const double *X, size_t n, const double *Y, size_t m,
                       size_t d, size_t max_points, double *median);

/*
 * Gaussian-process regression posterior with zero prior mean and kernel
 * k(a, b) = s2 exp(-1/2 sum_d ((a_d - b_d) / l_d)^2), lengthscales ls
 * (nls = 1: isotropic, nls = d: one per dimension), noise variance sn2:
 * mean (m), cov (m x m, may be NULL), var (m, may be NULL: diagonal of
 * cov) of the latent f at Xs (m x d), and the log marginal likelihood
 * (may be NULL).
 */
int mk_gp_posterior(const double *X, size_t n, size_t d, const double *y,
                    const double *Xs, size_t m, double s2, const double *ls,
                    size_t nls, double sn2, double *mean, double *cov,
                    double *var, double *lml);

#endif /* METRIC_KERNEL_H */
