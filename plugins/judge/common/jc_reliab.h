/*
 * jc_reliab.h - the judge-reliability report every judge node with gold
 * labels writes on its `reliability` port.
 *
 * Pairwise report (jc_reliability):
 *   n_items, n_gold                 items, items with a gold label
 *   accuracy {value, ci_low, ci_high, n}
 *                                   share of gold items whose verdict
 *                                   equals the gold label; an invalid or
 *                                   failed item counts as wrong
 *   accuracy_valid {...}            the same over items with a verdict
 *                                   (the usual #correct / #valid)
 *   per_order {first, second, average}   accuracy of each order alone
 *                                   when both orders ran (swap)
 *   subsets {NAME: {n, accuracy, ci_low, ci_high, accuracy_valid}}
 *   position_consistency {rate, n, first_position_rate} or null
 *   invalid {outputs, invalid_outputs, output_rate, items, item_rate,
 *            repairs, repaired}
 *   failed {items, rate}
 *   verdicts {A, B, tie, invalid, failed}
 *   length_bias {longer_won: {n, accuracy}, shorter_won: {n, accuracy},
 *                equal_length: {n, accuracy}, longer_gold_rate,
 *                prefers_longer_rate, n_decisive}
 *   bootstrap {resamples, level}
 * CIs are percentile intervals of a seeded bootstrap over items (null
 * when there are no gold items or no resamples).
 */
#ifndef JC_RELIAB_H
#define JC_RELIAB_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One judged pair. */
typedef struct jc_rel_item {
    int gold;           /* JC_V_A/B/TIE, JC_V_NONE: no gold label */
    int verdict;        /* final verdict, JC_V_NONE: invalid or failed */
    bool failed;        /* a request of this item failed */
    bool swapped;       /* both orders ran: order[] is meaningful */
    int order[2];       /* verdict of each order, mapped to the original
                           labels (JC_V_NONE: invalid) */
    size_t len1, len2;  /* response lengths in characters */
    const char *subset; /* borrowed; NULL when none */
} jc_rel_item;

/* Counts over the judge's answers. */
typedef struct jc_rel_counts {
    uint64_t outputs;         /* answers received (repairs included) */
    uint64_t invalid_outputs; /* answers without a usable verdict */
    uint64_t repairs;         /* repair requests sent */
    uint64_t repaired;        /* questions answered after a repair */
} jc_rel_counts;

typedef struct jc_rel_opts {
    unsigned resamples; /* bootstrap resamples (0: no CIs) */
    double level;       /* CI level, e.g. 0.95 */
    uint64_t seed;      /* bootstrap seed */
} jc_rel_opts;

/* The pairwise report as a new JSON object; NULL on ENOMEM. */
json_t *jc_reliability(const jc_rel_item *it, size_t n, const jc_rel_counts *c,
                       const jc_rel_opts *o);

/*
 * Score report (pointwise judges against numeric gold ratings):
 *   n_items, n_gold, n_valid, pearson, spearman {value, ci_low, ci_high},
 *   kendall_tau_b, exact_agreement, within_one, mean_abs_error,
 *   subsets {NAME: {n, spearman, exact_agreement}}, invalid {...},
 *   failed {...}.  Correlations are over items with both a score and a
 *   gold rating; null when undefined (fewer than 2 items, no variance).
 * `valid[i]` false: item i has no score (invalid or failed[i]).
 */
json_t *jc_reliability_scores(const double *score, const bool *valid,
                              const bool *failed, const double *gold,
                              const char *const *subset, size_t n,
                              const jc_rel_counts *c, const jc_rel_opts *o);

/* Correlations (exposed for tests); NAN when undefined. */
double jc_pearson(const double *x, const double *y, size_t n);
double jc_spearman(const double *x, const double *y, size_t n);
double jc_kendall_b(const double *x, const double *y, size_t n);

/* Percentile of sorted `v[0..n)` at q in [0,1], linear interpolation. */
double jc_percentile(const double *v, size_t n, double q);

#endif
