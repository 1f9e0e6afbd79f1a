/*
 * apencore.h - Approximate Entropy (Pincus 1991).
 */
#ifndef METRIC_APENCORE_H
#define METRIC_APENCORE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * ApEn(m, r) of x[0..n): templates of length k (k = m, m + 1), Chebyshev
 * distance, matches d <= r with the self-match counted, phi_k = mean of
 * ln(C_i^k).  Sets *apen = phi_m - phi_(m+1) and the two phis.  Returns
 * false (outputs NaN) when undefined: n < m + 1 or m < 1.  O(n^2 m) time,
 * O(n) memory (`counts` scratch of 2n size_t).
 */
bool ap_apen(const double *x, size_t n, size_t m, double r, size_t *counts,
             double *apen, double *phi_m, double *phi_m1);

/* Population standard deviation (ddof 0) as numpy computes it. */
double ap_std(const double *x, size_t n);

#endif /* METRIC_APENCORE_H */
