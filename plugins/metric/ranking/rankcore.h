/*
 * rankcore.h - ranking measures (HR, NDCG, MRR, MAP, P, R at cut-offs)
 * over a run (query, item, score) and relevance judgments (query, item,
 * relevance), with trec_eval semantics for full rankings and the
 * leave-one-out definition for sampled candidate sets.  Independent of
 * the host so that benchmarks and tests can call it directly.
 */
#ifndef METRIC_RANKCORE_H
#define METRIC_RANKCORE_H

#include "statcommon.h"

typedef enum rk_protocol {
    RK_FULL = 0,   /* every judged item counts (trec_eval): unretrieved
                      relevant items lower recall, MAP and the ideal DCG */
    RK_SAMPLED = 1 /* only the query's candidates (its run rows) count:
                      num_rel and the ideal DCG come from the candidates */
} rk_protocol;

typedef enum rk_ties {
    RK_TIES_TREC = 0, /* equal scores: item id descending (trec_eval) */
    RK_TIES_OPTIMISTIC = 1,  /* equal scores: more relevant first */
    RK_TIES_PESSIMISTIC = 2  /* equal scores: less relevant first */
} rk_ties;

typedef struct rk_config {
    rk_protocol protocol;
    rk_ties ties;
    double rel_threshold;  /* binary relevance: rel >= threshold */
    bool exp_gain;         /* NDCG gain 2^rel - 1 instead of rel */
    const int64_t *ks;     /* cut-offs (borrowed), each >= 1 */
    size_t nk;
    bool missing_zero;     /* judged queries absent from the run count
                              with zeros (trec_eval -c) */
    bool summary_only;     /* only the means are wanted: rk_result.vals
                              may be NULL */
} rk_config;

/* Per-query value columns: RK_NBASE fixed ones, then RK_PER_K per cut-off
 * (column RK_NBASE + k * RK_PER_K + measure). */
enum {
    RK_C_NUM_RET = 0,
    RK_C_NUM_REL,
    RK_C_NUM_REL_RET,
    RK_C_MAP,
    RK_C_MRR,
    RK_C_NDCG,
    RK_C_RANK, /* rank of the first relevant item, 0 when none */
    RK_NBASE
};
enum {
    RK_K_HR = 0,
    RK_K_NDCG,
    RK_K_PRECISION,
    RK_K_RECALL,
    RK_K_MAP,
    RK_K_MRR,
    RK_PER_K
};

typedef struct rk_result {
    size_t nq;        /* judged queries, in order of first appearance */
    size_t ncols;     /* RK_NBASE + RK_PER_K * nk */
    size_t *qrow;     /* per query: first qrels row (for its key) */
    bool *evaluated;  /* per query: had run rows */
    double *vals;     /* nq x ncols, row-major (NULL when the config
                         asked for the summary only and the leave-one-out
                         fast path ran) */
    double *mean;     /* ncols: means over the averaged queries; the count
                         columns hold sums (trec_eval's "all") */
    size_t n_averaged;   /* queries in the means */
    size_t n_unjudged;   /* distinct run queries absent from qrels */
    size_t n_run_rows;   /* run rows that belong to judged queries */
} rk_result;

/*
 * Evaluate.  Key columns may be converted to strings in place when the
 * run and the qrels disagree on the kind (integer vs string ids).  Scores
 * and relevances must be finite (checked by the caller).  `h` (may be
 * NULL) is polled for cancellation.  On success *res is filled; free it
 * with rk_result_free (also safe after a failure).
 */
int rk_evaluate(const rk_config *cfg, const assay_host *h, unsigned nthreads,
                sc_keys *run_q, sc_keys *run_item, const double *run_score,
                sc_keys *qr_q, sc_keys *qr_item, const double *qr_rel,
                rk_result *res, assay_error *err);

void rk_result_free(rk_result *res);

/* Name of value column `col` ("ndcg@10", "map", ...) into buf. */
void rk_col_name(const rk_config *cfg, size_t col, char *buf, size_t size);

#endif /* METRIC_RANKCORE_H */
