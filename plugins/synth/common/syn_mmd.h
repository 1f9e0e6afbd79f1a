/*
 * syn_mmd.h - sampling weights on the simplex that minimise the weighted
 * squared MMD between a synthetic sample Y (m x d) and a real sample X
 * (n x d), RBF kernel k(a, b) = exp(-||a - b||^2 / (2 sigma^2)):
 *
 *   f(w) = sum_ab w_a w_b k(y_a, y_b) - (2/n) sum_a w_a sum_j k(y_a, x_j)
 *          + (1/n^2) sum_ij k(x_i, x_j),    w >= 0, sum w = 1
 *
 * (the weighted biased MMD^2 of the golden set and of metric.mmd).
 *
 * Solver: pairwise Frank-Wolfe with exact line search, from uniform
 * weights.  Each step moves mass from the worst point that still has
 * some (largest gradient) to the best point (smallest gradient); the
 * objective is quadratic, so the step length has a closed form, and a
 * step costs O(m) given two kernel columns.  The Frank-Wolfe duality gap
 * bounds the distance to the optimum and is the stopping rule.
 * Off-distribution points lose their mass in whole "drop" steps, so the
 * solution puts exactly zero weight on them (projected or exponentiated
 * gradient would leave them a little mass and need a full m x m
 * product per step).
 *
 * The O(m^2 d) and O(mn d) kernel sums (the gradient at the uniform start
 * and the cross term) run as cblas_dgemm blocks over `threads` threads;
 * every sum is assembled in a fixed order, so results do not depend on
 * the thread count.  When the m x m kernel matrix fits `cache_mb` as
 * floats it is kept from that pass (columns are then free); otherwise
 * columns are computed on demand (one dgemv each) into a cache of that
 * size, so memory stays O((n + m) d + cache_mb).
 */
#ifndef SYN_MMD_H
#define SYN_MMD_H

#include <assay/plugin.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct syn_mmd_opts {
    double sigma;           /* bandwidth, > 0 */
    unsigned threads;       /* worker threads, >= 1 */
    size_t max_iter;        /* pairwise Frank-Wolfe steps at most */
    double tol;             /* stop when the duality gap <= tol * f(uniform) */
    size_t cache_mb;        /* memory for kernel values (MiB); 0: 1024 */
    const assay_host *host; /* cancellation and progress; may be NULL */
} syn_mmd_opts;

typedef struct syn_mmd_result {
    double mmd2_before; /* f at uniform weights */
    double mmd2_after;  /* f at the learned weights (recomputed exactly) */
    double gap;         /* last duality gap: after - optimum <= gap */
    size_t iterations;
    size_t support; /* weights > 0 */
    bool converged; /* gap reached the tolerance */
} syn_mmd_result;

/*
 * Learn weights w (m entries, caller-allocated).  X, Y row-major.
 * n, m >= 1.  0, ASSAY_ENOMEM, ASSAY_ECANCELED or ASSAY_EINVAL (sigma),
 * with `err` filled.
 */
int syn_mmd_learn(const double *X, size_t n, const double *Y, size_t m,
                  size_t d, const syn_mmd_opts *o, double *w,
                  syn_mmd_result *res, assay_error *err);

/*
 * Weighted biased MMD^2 with weights `w` on Y (normalised here; NULL:
 * uniform), through the same BLAS blocks.
 */
int syn_mmd_weighted(const double *X, size_t n, const double *Y, size_t m,
                     size_t d, double sigma, const double *w, unsigned threads,
                     double *mmd2, assay_error *err);

#endif
