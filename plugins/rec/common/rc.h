/*
 * plugins/rec/common/rc.h - shared code of the recommender (rec.*) and
 * evaluation-protocol (protocol.*) plugins: dense id indexes, per-user
 * interaction lists, top-K selection, RecBole-style ranking metrics, a
 * small thread pool and the driver that turns a model (fit + score) into a
 * complete recommender node.
 *
 * Conventions of the interaction tables every node here reads:
 *   user       int64   user id (any integers; dense ids are not required)
 *   item       int64   item id
 *   timestamp  int64 or float64, optional: orders each user's history;
 *              without it the row order is the time order
 *   rating     int64 or float64, optional (read by the protocol nodes)
 * Other columns are carried through by the protocol nodes untouched.
 *
 * Everything is static-linked into each plugin; nothing here keeps global
 * state.  Prefix: rc_.
 */
#ifndef ASSAY_REC_COMMON_H
#define ASSAY_REC_COMMON_H

#include <assay/plugin.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Column names of the interaction convention above. */
#define RC_COL_USER "user"
#define RC_COL_ITEM "item"
#define RC_COL_TIME "timestamp"
#define RC_COL_RATING "rating"

/* ---- thread pool ------------------------------------------------------ */

typedef struct rc_pool rc_pool;

/* Work item: task number `task` run by worker `worker` (0 .. size-1; the
 * calling thread is worker 0).  Returns 0 or a negative ASSAY_E* code. */
typedef int (*rc_task_fn)(void *ctx, size_t task, unsigned worker);

/* A pool of `nthreads` workers (>= 1; the caller counts as one, so
 * nthreads - 1 threads are started).  Caller frees with rc_pool_free. */
int rc_pool_new(unsigned nthreads, rc_pool **out, assay_error *err);

/* Run fn for every task in [0, ntasks) and wait.  Tasks are claimed
 * dynamically.  Returns the first non-zero code a task returned (the
 * remaining tasks still run; they may check rc_pool_failed to stop
 * early).  Not reentrant: call from one thread at a time. */
int rc_pool_run(rc_pool *p, size_t ntasks, rc_task_fn fn, void *ctx);

/* True once a task of the current rc_pool_run returned an error. */
bool rc_pool_failed(rc_pool *p);

unsigned rc_pool_size(const rc_pool *p);
void rc_pool_free(rc_pool *p);

/* ---- dense ids -------------------------------------------------------- */

/* Sorted unique raw ids; the dense id of a raw id is its position. */
typedef struct rc_ids {
    int64_t *raw;
    size_t n;
} rc_ids;

/* Build the index of every value in `cols[c][0 .. lens[c])` (borrowed).
 * On success the caller frees with rc_ids_free. */
int rc_ids_build(rc_ids *ids, const int64_t *const *cols, const size_t *lens,
                 size_t ncols, assay_error *err);

/* Dense id of `raw`, or -1 when absent. */
int64_t rc_ids_find(const rc_ids *ids, int64_t raw);

void rc_ids_free(rc_ids *ids);

/* ---- interaction tables ----------------------------------------------- */

/* A borrowed view of an interaction table (valid while the table is). */
typedef struct rc_inter {
    const assay_table *table;
    size_t n;
    const int64_t *user;
    const int64_t *item;
    const assay_column *time;   /* NULL: row order is time order */
    const assay_column *rating; /* NULL when absent */
} rc_inter;

/* Check `t` (from input `port`, named in messages) against the convention
 * above and fill `out`.  `need_rating`: the rating column is required. */
int rc_inter_view(const assay_table *t, const char *port, bool need_rating,
                  rc_inter *out, assay_error *err);

/* Compressed rows: row r holds idx[ptr[r] .. ptr[r+1]). */
typedef struct rc_csr {
    size_t n;
    size_t *ptr;
    uint32_t *idx;
} rc_csr;

static inline size_t rc_csr_len(const rc_csr *c, size_t r)
{
    return c->ptr[r + 1] - c->ptr[r];
}

static inline const uint32_t *rc_csr_row(const rc_csr *c, size_t r)
{
    return c->idx + c->ptr[r];
}

/* Rows of `in` grouped by dense user (`users` must contain every user of
 * `in`): row u lists the table row numbers of user u, in time order (ties
 * and missing time: table order) when `by_time`, else in table order.
 * Caller frees with rc_csr_free. */
int rc_group_rows(const rc_inter *in, const rc_ids *users, bool by_time,
                  rc_csr *out, assay_error *err);

/* Per-user item lists (dense items) from several tables read as one: row
 * u lists the items of user u ordered by time when every part has a time
 * column, then by part, then by row.  Duplicates are kept. */
int rc_csr_build(const rc_inter *parts, size_t nparts, const rc_ids *users,
                 const rc_ids *items, rc_csr *out, assay_error *err);

/* Copy of `in` with every row sorted ascending and duplicates removed. */
int rc_csr_unique(const rc_csr *in, rc_csr *out, assay_error *err);

/* Transpose: `ncols` rows of the result (column indices of `in` must be
 * below it), each listing the rows of `in` in ascending order. */
int rc_csr_transpose(const rc_csr *in, size_t ncols, rc_csr *out,
                     assay_error *err);

/* Binary search in a sorted row. */
bool rc_sorted_has(const uint32_t *v, size_t n, uint32_t x);

void rc_csr_free(rc_csr *c);

/* ---- tables ----------------------------------------------------------- */

/* A new table holding rows `rows[0 .. n)` of `src` (every column, same
 * names and types, in that order).  On success *out is owned by the
 * caller (hand it to out_table or free it with host->table_free). */
int rc_table_take(const assay_host *host, const assay_table *src,
                  const uint32_t *rows, size_t n, assay_table **out,
                  assay_error *err);

/* ---- ranking and metrics ---------------------------------------------- */

/*
 * The `k` highest of scores[0 .. n), skipping items whose skip[i] is
 * non-zero (skip may be NULL), best first; equal scores rank the lower
 * index first and NaN ranks last.  Writes up to k indices to `out` and
 * their scores to `out_scores` (both caller-owned, k elements); returns
 * how many.
 */
size_t rc_topk(const float *scores, size_t n, const unsigned char *skip,
               size_t k, uint32_t *out, float *out_scores);

/* Metric families, in RecBole's order. */
enum {
    RC_M_RECALL = 0,
    RC_M_MRR = 1,
    RC_M_NDCG = 2,
    RC_M_HIT = 3,
    RC_M_PRECISION = 4,
    RC_M_COUNT = 5
};

/* At most this many cut-offs. */
#define RC_MAX_KS 8

/* Metric names ("recall", "mrr", "ndcg", "hit", "precision"). */
extern const char *const rc_metric_names[RC_M_COUNT];

/*
 * Full-ranking metrics of one user as RecBole computes them: `top` is the
 * ranked list (ntop >= max k, or shorter when few items remain), `truth`
 * the user's sorted, unique relevant items.  For each cut-off k:
 *   hit = 1 if a relevant item is in the top k
 *   precision = hits / k, recall = hits / |truth|
 *   mrr = 1 / rank of the first relevant item within the top k (else 0)
 *   ndcg = sum over hits of 1/log2(rank+1), divided by the ideal DCG of
 *          min(|truth|, k) hits
 * out[m * nk + j] receives metric m at ks[j].
 */
void rc_metrics_user(const uint32_t *top, size_t ntop, const uint32_t *truth,
                     size_t ntruth, const size_t *ks, size_t nk, double *out);

/*
 * Sampled-candidate metrics of one positive at rank `rank` (1 + the
 * number of negatives scored strictly higher: ties favour the positive):
 * out[m * nk + j] for m = RC_M_HIT, RC_M_NDCG (1/log2(rank+1) within k)
 * and RC_M_MRR (1/rank within k); recall equals hit and precision is
 * hit / k, as with a single relevant item.
 */
void rc_metrics_sampled(size_t rank, const size_t *ks, size_t nk, double *out);

/* ---- the recommender driver ------------------------------------------- */

/* A history: per-user sequences (time order) and the same as sorted sets
 * (the items excluded from ranking). */
typedef struct rc_hist {
    const rc_csr *seq;
    const rc_csr *set;
} rc_hist;

typedef struct rc_ctx rc_ctx;

/* What a model plugin supplies (all callbacks run on the node's thread). */
typedef struct rc_model {
    /* Fit on ctx->train (`m` is this model, for rc_validate).  Adds
     * members (epochs, curves) to `report` (borrowed). */
    int (*fit)(const struct rc_model *m, rc_ctx *ctx, json_t *report,
               assay_error *err);
    /* Scores of every item (n x ctx->n_items floats, row-major, in `out`)
     * for users[0 .. n) whose histories are `h`. */
    int (*score)(void *self, rc_ctx *ctx, const rc_hist *h,
                 const uint32_t *users, size_t n, float *out, assay_error *err);
    /* Number of trained parameters. */
    uint64_t (*nparams)(void *self);
    void *self;
    const char *name; /* "bpr", "pop", ... */
} rc_model;

/* The data a model is fitted on, built by the driver. */
struct rc_ctx {
    const assay_host *host;
    rc_pool *pool;
    size_t n_users, n_items;
    rc_ids users, items;
    rc_csr train, train_set; /* training interactions */
    rc_csr valid, valid_set; /* validation (empty rows when absent) */
    rc_csr test, test_set;   /* test (empty rows when absent) */
    rc_csr full, full_set;   /* train + valid: the history for test */
    bool has_valid, has_test;
    /* early stopping */
    int valid_metric; /* RC_M_* */
    size_t valid_k;
    bool exclude_seen;
};

/* Histories of a context: for validation (train) and for test and the
 * final lists (train + valid). */
rc_hist rc_ctx_train_hist(const rc_ctx *ctx);
rc_hist rc_ctx_full_hist(const rc_ctx *ctx);

/*
 * Mean validation metric (ctx->valid_metric at ctx->valid_k, full
 * ranking over every item not in the user's training history) over users
 * with validation items.  ASSAY_EINVAL when no validation input is
 * connected.
 */
int rc_validate(rc_ctx *ctx, const rc_model *m, double *value,
                assay_error *err);

/*
 * Early stopping on the validation metric, shared by the iterative
 * models.  After each epoch call rc_early_step: it validates every
 * `eval_every` epochs (when a validation input is connected and patience
 * > 0), sets *improved when the model should be snapshotted as the best
 * so far, and returns 1 once `patience` validations in a row brought no
 * improvement (0 to go on, < 0 on error).
 */
typedef struct rc_early {
    bool active;
    int64_t patience, eval_every;
    double best;
    int64_t best_epoch, bad;
    json_t *curve; /* [[epoch, value], ...] */
} rc_early;

int rc_early_init(rc_early *e, const rc_ctx *ctx, int64_t patience,
                  int64_t eval_every, assay_error *err);
int rc_early_step(rc_early *e, rc_ctx *ctx, const rc_model *m, int64_t epoch,
                  bool *improved, assay_error *err);
/* Add valid_metric, best_epoch, best_valid and valid_curve to `report`. */
int rc_early_report(rc_early *e, const rc_ctx *ctx, json_t *report);
void rc_early_free(rc_early *e);

/* Seconds on a monotonic clock. */
double rc_now(void);

/* Parse "ndcg@10"-style names into a metric and cut-off. */
int rc_parse_metric(const char *s, int *metric, size_t *k, assay_error *err);

/*
 * The node's run(): read train/valid/test/candidates, fit `m` (timed),
 * rank every target user, score the candidates and set every output
 * port of RC_REC_OUTPUTS.  `opts` are the node's options (borrowed);
 * `create_model` is called once the data is known and fills *m.
 */
typedef int (*rc_create_fn)(void *cfg, rc_ctx *ctx, rc_model *m,
                            assay_error *err);
typedef void (*rc_destroy_fn)(rc_model *m);

int rc_run(const assay_host *host, assay_io *io, const json_t *opts,
           const char *name, rc_create_fn create_model,
           rc_destroy_fn destroy_model, void *cfg, assay_error *err);

/* Copy the option object (for a plugin's create()).  Caller decrefs. */
json_t *rc_opts_copy(const json_t *opts);

/* The input and output ports every recommender plugin declares. */
extern const assay_port rc_rec_inputs[];
extern const assay_port rc_rec_outputs[];

/* Options every recommender declares (put first in its option array). */
#define RC_REC_OPTIONS                                                         \
    {.name = "k",                                                              \
     .type = ASSAY_OPT_INT,                                                    \
     .def = "10",                                                              \
     .has_min = true,                                                          \
     .min = 1,                                                                 \
     .has_max = true,                                                          \
     .max = 10000,                                                             \
     .doc = "length of the top-K lists written to topk and lists"},            \
        {.name = "metric_ks",                                                  \
         .type = ASSAY_OPT_LIST,                                               \
         .def = "[10]",                                                        \
         .doc = "cut-offs of the metrics output (up to 8 integers)"},          \
        {.name = "exclude_seen",                                               \
         .type = ASSAY_OPT_BOOL,                                               \
         .def = "true",                                                        \
         .doc = "never recommend items already in the user's history "         \
                "(train, plus valid for test users)"},                         \
    {                                                                          \
        .name = "users", .type = ASSAY_OPT_ENUM, .def = "\"auto\"",            \
        .choices = "auto|test|all",                                            \
        .doc = "whom to write lists for: test users (auto when test is "       \
               "connected) or every user"                                      \
    }

/* Shared text of the descriptors' doc, describing ports and metrics. */
#define RC_REC_DOC_IO                                                          \
    "Inputs: `train` (required), `valid`, `test` and `candidates` are "        \
    "interaction tables with int64 columns `user` and `item` (and "            \
    "optionally `timestamp`, which orders each history; without it the "       \
    "row order counts). Ids need not be dense. The history of a test user "    \
    "is train + valid; validation users are ranked against train only.\n"      \
    "Outputs: `topk` (table user, rank, item, score), `lists` (records "       \
    "{user, items, scores, targets}), `history` (records {user, items} in "    \
    "time order: what the model saw), `scores` (the candidates table with "    \
    "a `score` column added: query, user, item, label when present), "         \
    "`model` (json: training seconds, epochs, seconds per epoch, "             \
    "parameter count, evaluation seconds) and `metrics` (json).\n"             \
    "Metrics: with `test` connected, RecBole's full-ranking protocol: "        \
    "every item outside the user's history is ranked and recall, mrr, "        \
    "ndcg, hit and precision @K are averaged over test users (RecBole "        \
    "definitions: mrr is cut at K, ndcg's ideal DCG uses min(|truth|, K) "     \
    "hits). With `candidates` carrying a `label` column (1 positive, 0 "       \
    "negative, grouped by `query` or else by user), each positive is "         \
    "ranked against its group's negatives (rank = 1 + negatives scored "       \
    "strictly higher) and hit, ndcg and mrr @K are reported under "            \
    "`sampled`."

#endif
