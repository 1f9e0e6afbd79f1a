/*
 * fstat.h - statistics around a fit: goodness of fit, parameter
 * covariance from the Jacobian, percentile intervals.
 */
#ifndef FSTAT_H
#define FSTAT_H

#include <stddef.h>

/* Goodness of fit of pred against y (both on the target's own scale). */
typedef struct fstat_gof {
    size_t n;
    double r2;   /* 1 - SS_res / SS_tot (NaN when n < 2 or SS_tot = 0) */
    double rmse; /* sqrt(mean squared error) */
    double mape; /* mean |pred - y| / |y| over y != 0 (NaN if none) */
} fstat_gof;

void fstat_gof_compute(const double *y, const double *pred, size_t n,
                       fstat_gof *g);

/*
 * Covariance of the parameters from the Jacobian J (n x k, row-major) of
 * the scaled residuals r (n): cov = s2 (J'J)^-1 with s2 = sum r^2 / (n-k),
 * as scipy's curve_fit does without absolute_sigma.  *cond is the
 * condition number of J'J after scaling its columns to unit length (so it
 * does not depend on parameter units).  Returns 0, or -1 when J'J is
 * singular (cond infinite), n <= k, or memory runs out; cov is then
 * unspecified.
 */
int fstat_covariance(const double *J, const double *r, size_t n, size_t k,
                     double *cov, double *cond);

/* The (1-level)/2 and (1+level)/2 percentiles of v[0..n-1] (sorted in
 * place), with linear interpolation between order statistics. */
void fstat_percentile_ci(double *v, size_t n, double level, double *lo,
                         double *hi);

/* Sample standard deviation of v[0..n-1] (NaN when n < 2). */
double fstat_sd(const double *v, size_t n);

#endif
