/*
 * core/report/compare.h - `assay runs compare A B`: what changed between
 * two runs.  Outputs are matched by node name and port; for json outputs
 * every number is compared, for per-item outputs the items are paired
 * by an id column both runs share (id, qid, query, item_id, index, user,
 * group, pair_id; by position when none qualifies and the counts agree)
 * and every numeric column both hold is tested: McNemar (exact and
 * chi-squared) for 0/1 columns with the list of items right in A and
 * wrong in B, a seeded paired bootstrap of the mean difference for the
 * others.  Configuration differences come from the two manifests
 * (resolved config, --set values, seed, plugin versions and hashes).
 */
#ifndef ASSAY_REPORT_COMPARE_H
#define ASSAY_REPORT_COMPARE_H

#include <stdint.h>
#include <stdio.h>

#include <assay/error.h>

typedef struct compare_opts {
    const char *html;   /* HTML output (NULL: <B>/compare.html) */
    unsigned bootstrap; /* paired bootstrap resamples */
    uint64_t seed;      /* bootstrap seed */
    double alpha;       /* significance level (and 1 - CI level) */
} compare_opts;

/* Compare the runs in directories `a` and `b`; print to `out` and write
 * the HTML page.  0, or an error (unreadable run directory: ASSAY_EIO /
 * ASSAY_EDATA; ASSAY_ENOMEM) with `err` filled. */
int compare_runs(const char *a, const char *b, const compare_opts *o, FILE *out,
                 assay_error *err);

#endif
