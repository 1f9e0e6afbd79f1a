/*
 * plugins/metric/llmrec/lm.h - the evaluation core of the metric.llmrec
 * family: recommendation results of LLM and traditional systems on
 * sampled candidate lists, the utility and beyond-utility metrics of
 * "Beyond Utility: Evaluating LLM as Recommender" (Jiang et al., WWW
 * 2025), and paired bootstrap intervals.  Prefix: lm_.
 */
#ifndef ASSAY_LM_H
#define ASSAY_LM_H

#include <assay/plugin.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One evaluated query: a user, its target and what a system ranked. */
typedef struct lm_query {
    int64_t user, target;
    int64_t *cands; /* candidates in the order shown (owned) */
    size_t ncand;
    int64_t *top; /* recommended ids, best first (owned; no 0s) */
    size_t ntop;
    size_t rank;   /* 1-based rank of the target in top; 0: absent */
    size_t slots;  /* titles kept (LLM) or ntop */
    size_t halluc; /* titles that matched no item (LLM) */
    int first_ok;  /* first answer compliant: 1/0, -1 unknown */
    int final_ok;  /* last answer compliant: 1/0, -1 unknown */
    bool failed;   /* no answer: left out of every metric */
} lm_query;

/* One system's results. */
typedef struct lm_sys {
    char *name;
    bool llm;         /* read from rec.llm lists */
    long history_len; /* -1 unknown */
    char *prompt;     /* rec.llm prompt kind, or NULL */
    char *order;      /* rec.llm candidate order, or NULL */
    lm_query *q;
    size_t n;
    size_t failed_dropped; /* failed queries removed by lm_common */
} lm_sys;

void lm_sys_free(lm_sys *s);

/*
 * Read one system from a records array `recs` (borrowed):
 *  - rec.llm lists (records with `items` and `candidates`): user, target,
 *    candidates, items, status, n_titles, hallucinated, first_answer;
 *  - scored candidates (records with `score`, `label` and `item`, from a
 *    rec.* scores table or rec.llm scores): grouped by `query` (else
 *    `user`) in input order; the positive is the target; the items are
 *    ranked by score (equal scores: the target first, then input order),
 *    so the target's rank is 1 + the candidates scored strictly higher.
 * `name` (may be NULL: the records' `system` field, else `fallback`).
 * Errors name the record and field.
 */
int lm_sys_read(const json_t *recs, const char *name, const char *fallback,
                lm_sys *out, assay_error *err);

/* Keep, in every system, only the queries (user, target) that all of
 * them answered; returns how many remain per system. */
int lm_common(lm_sys *sys, size_t n, size_t *kept, assay_error *err);

/* Sort the queries by (user, target), so that systems reduced to common
 * queries line up for paired comparisons. */
void lm_sort(lm_sys *s);

/* Training statistics: item frequencies and user history lengths. */
typedef struct lm_pop {
    int64_t *item; /* sorted */
    double *freq;
    size_t nitems;
    int64_t *user; /* sorted */
    double *ulen;
    size_t nusers;
    double tail; /* long-tail threshold: the tail_q percentile of the
                    frequencies of items seen in train */
} lm_pop;

/* From parallel user/item columns of `n` training rows. */
int lm_pop_build(lm_pop *p, const int64_t *user, const int64_t *item, size_t n,
                 double tail_q, assay_error *err);
double lm_pop_freq(const lm_pop *p, int64_t item);
double lm_pop_ulen(const lm_pop *p, int64_t user);
void lm_pop_free(lm_pop *p);

/* Item categories (category ids per item). */
typedef struct lm_cats {
    int64_t *item; /* sorted */
    size_t *ptr;   /* nitems + 1 */
    uint32_t *cat;
    size_t nitems;
} lm_cats;

/* From `n` items and their category texts ('|' or ',' separated, else
 * whitespace separated; NULL: none). */
int lm_cats_build(lm_cats *c, const int64_t *item, const char *const *text,
                  size_t n, assay_error *err);
void lm_cats_free(lm_cats *c);

/* Percentile of sorted v[0..n) at q in [0, 1] (linear interpolation, as
 * numpy's default). */
double lm_percentile(const double *v, size_t n, double q);

/* Metrics of one system at cut-off k.  NAN marks an undefined value. */
typedef struct lm_metrics {
    size_t queries, failed, evaluated;
    double hr, ndcg, mrr;
    double arp, aclt, popreo, gini, jain, dpd;
    double coverage, shannon, jaccard, serendipity, self_info;
    double halluc_rate, compliance, final_compliance;
} lm_metrics;

/*
 * Compute every metric of `s` at cut-off `k` (the first k items of each
 * list).  `cats` may be NULL (shannon undefined).  `groups` is PopREO's
 * number of target-popularity groups.  Per-query hit/ndcg/mrr go to the
 * optional arrays (s->n each; failed queries get NAN).
 */
int lm_compute(const lm_sys *s, const lm_pop *pop, const lm_cats *cats,
               size_t k, size_t groups, lm_metrics *m, double *hit,
               double *ndcg, double *mrr, assay_error *err);

/* The metrics as members "<name>@k" of `o` (null where undefined). */
int lm_metrics_json(const lm_metrics *m, size_t k, json_t *o);

/* Single-query utility: hit, ndcg and mrr of rank `rank` at k. */
void lm_utility(size_t rank, size_t k, double *hit, double *ndcg, double *mrr);

/*
 * Paired bootstrap of mean(b) - mean(a) over n pairs (NAN pairs left
 * out): the point value and the percentile interval at `level` over
 * `resamples` draws seeded with `seed`.  lo/hi NAN when resamples is 0
 * or no pair is complete.
 */
void lm_paired_delta(const double *a, const double *b, size_t n,
                     unsigned resamples, double level, uint64_t seed,
                     double *delta, double *lo, double *hi);

/* JSON number or null for NAN. */
json_t *lm_num(double v);

#endif
