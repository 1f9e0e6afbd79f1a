/*
 * clscore.h - classification and agreement statistics matching
 * scikit-learn 1.2 / scipy 1.10: accuracy, ROC AUC with tied scores,
 * group AUC, Cohen's kappa (unweighted, linear, quadratic), Pearson r,
 * Spearman rho and Kendall tau-b.  NaN means undefined (the reference
 * returns NaN or refuses the input).
 */
#ifndef METRIC_CLSCORE_H
#define METRIC_CLSCORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * ROC AUC of scores with binary truths (pos[i] true = positive): the
 * probability that a random positive outscores a random negative, ties
 * counting 1/2 (Mann-Whitney; equals sklearn's trapezoidal ROC area).
 * NaN when one class is absent.  `nthreads` threads sort the two classes
 * in chunks; returns -ENOMEM style codes (<0) on allocation failure.
 */
int cl_auc(const double *score, const bool *pos, size_t n, unsigned nthreads,
           double *auc);

/* Same for small inputs, single-threaded, through caller scratch of 2n
 * doubles (used per group and per bootstrap replicate). */
double cl_auc_small(const double *score, const bool *pos, size_t n,
                    double *scratch);

/* Pearson r (scipy.stats.pearsonr): NaN for n < 2 or constant input. */
double cl_pearson(const double *x, const double *y, size_t n);

/* Spearman rho (average ranks, then Pearson): NaN when undefined.
 * scratch: 4n doubles + n size_t (see cl_spearman_scratch). */
double cl_spearman(const double *x, const double *y, size_t n, double *dscr,
                   size_t *iscr);

/* Kendall tau-b (scipy's algorithm, O(n log n)).  NaN when undefined.
 * scratch: 2n doubles + 3n size_t. */
double cl_kendall_b(const double *x, const double *y, size_t n, double *dscr,
                    size_t *iscr);

/* Average ranks (1-based, ties share their mean rank) of v into r;
 * iscr: n size_t. */
void cl_rank_average(const double *v, size_t n, double *r, size_t *iscr);

typedef enum cl_weights {
    CL_W_NONE = 0,
    CL_W_LINEAR = 1,
    CL_W_QUADRATIC = 2
} cl_weights;

/*
 * Cohen's kappa from a confusion matrix conf[i * L + j] (rater 1 label i,
 * rater 2 label j; labels in their sorted order), as sklearn's
 * cohen_kappa_score.  NaN when the expected disagreement is 0.
 */
double cl_kappa_conf(const double *conf, size_t L, cl_weights w);

/*
 * Group AUC: rows belong to groups g[i] in [0, ng).  Per-group AUC into
 * auc_g (NaN for a group with one class) and sizes into n_g; *gauc is
 * sum_g n_g AUC_g / sum_g n_g over the groups having both classes (NaN
 * when none), *n_included their number.  Returns <0 on ENOMEM.
 */
int cl_gauc(const size_t *g, size_t ng, const double *score, const bool *pos,
            size_t n, double *auc_g, size_t *n_g, double *gauc,
            size_t *n_included);

#endif /* METRIC_CLSCORE_H */
