/*
 * core/report/stats.h - paired tests for comparing two runs on the same
 * items: McNemar's test for per-item correct/incorrect outcomes (exact
 * binomial and chi-squared with continuity correction) and a seeded
 * paired bootstrap of the mean difference for per-item scores.
 */
#ifndef ASSAY_REPORT_STATS_H
#define ASSAY_REPORT_STATS_H

#include <stddef.h>
#include <stdint.h>

/* McNemar on the discordant pairs: b = right in A and wrong in B, c =
 * wrong in A and right in B.  Exact: two-sided binomial p-value with
 * p = 1/2 (min(1, 2 P[X <= min(b, c)]), X ~ Bin(b + c, 1/2)); 1 when
 * b + c = 0.  Chi-squared: (|b - c| - 1)^2 / (b + c) with one degree of
 * freedom (statistic 0 and p 1 when b + c = 0). */
double rstats_mcnemar_exact(size_t b, size_t c);
double rstats_mcnemar_chi2(size_t b, size_t c, double *stat);

typedef struct rstats_boot {
    double mean_a, mean_b; /* over the n pairs */
    double diff;           /* mean(b - a) */
    double lo, hi;         /* percentile interval of the difference */
    double p;              /* two-sided: 2 min(P*[d <= 0], P*[d >= 0]) */
    unsigned resamples;
} rstats_boot;

/* Paired bootstrap: resample the n pairs with replacement `resamples`
 * times (seeded; the same seed gives the same result), interval at
 * level 1 - alpha.  Returns 0, ASSAY_EINVAL (n == 0 or resamples == 0)
 * or ASSAY_ENOMEM. */
int rstats_paired_bootstrap(const double *a, const double *b, size_t n,
                            unsigned resamples, uint64_t seed, double alpha,
                            rstats_boot *out);

#endif
