/*
 * ranking.c - the metric.ranking plugin: HR, NDCG, MRR, MAP, precision
 * and recall at cut-offs for graded or binary relevance, matching
 * trec_eval 10.0 (full rankings) and the leave-one-out definition used by
 * recommender evaluations (sampled candidates).
 */
#include <assay/plugin.h>

#include <stdlib.h>
#include <string.h>

#include "rankcore.h"

typedef struct ranking_state {
    const assay_host *host;
    char *query_field, *item_field, *score_field, *rel_field;
    int64_t *ks;
    size_t nk;
    rk_config cfg;
    bool items;
} ranking_state;

static const assay_port ranking_inputs[] = {
    {.name = "run", .type = ASSAY_T_ANY, .required = true,
     .doc = "scored items: records or table with query, item and score "
            "fields (one row per candidate)"},
    {.name = "qrels", .type = ASSAY_T_ANY, .required = true,
     .doc = "relevance judgments: records or table with query, item and "
            "relevance fields (unjudged items are non-relevant)"},
    {0}};

static const assay_port ranking_outputs[] = {
    {.name = "summary", .type = ASSAY_T_JSON,
     .doc = "mean of every measure over the evaluated queries, with the "
            "counts of queries", .chart = "bar"},
    {.name = "items", .type = ASSAY_T_TABLE,
     .doc = "one row per evaluated query: its id and every measure",
     .chart = "hist"},
    {0}};

static const assay_option ranking_options[] = {
    {.name = "query_field", .type = ASSAY_OPT_STRING, .def = "\"user\"",
     .doc = "field/column holding the query (user) id in run and qrels"},
    {.name = "item_field", .type = ASSAY_OPT_STRING, .def = "\"item\"",
     .doc = "field/column holding the item (document) id in run and qrels"},
    {.name = "score_field", .type = ASSAY_OPT_STRING, .def = "\"score\"",
     .doc = "run field/column with the score (higher ranks first)"},
    {.name = "relevance_field", .type = ASSAY_OPT_STRING,
     .def = "\"relevance\"",
     .doc = "qrels field/column with the graded relevance level"},
    {.name = "ks", .type = ASSAY_OPT_LIST, .def = "[5, 10]",
     .doc = "cut-offs K for HR@K, NDCG@K, precision@K, recall@K, MAP@K, "
            "MRR@K"},
    {.name = "protocol", .type = ASSAY_OPT_ENUM, .def = "\"full\"",
     .choices = "full|sampled",
     .doc = "full: all judged items count (trec_eval); sampled: only each "
            "query's candidates (its run rows) count"},
    {.name = "ties", .type = ASSAY_OPT_ENUM, .def = "\"auto\"",
     .choices = "auto|trec|optimistic|pessimistic",
     .doc = "order of equal scores: trec = item id descending, "
            "optimistic/pessimistic = relevant first/last; auto = trec for "
            "full, optimistic for sampled"},
    {.name = "relevance_threshold", .type = ASSAY_OPT_FLOAT, .def = "1",
     .doc = "binary measures count items with relevance >= this"},
    {.name = "gain", .type = ASSAY_OPT_ENUM, .def = "\"linear\"",
     .choices = "linear|exponential",
     .doc = "NDCG gain: the relevance level (trec_eval) or 2^rel - 1"},
    {.name = "missing_queries", .type = ASSAY_OPT_ENUM, .def = "\"skip\"",
     .choices = "skip|zero",
     .doc = "judged queries absent from the run: left out of the means, "
            "or counted as zeros (trec_eval -c)"},
    {.name = "items", .type = ASSAY_OPT_BOOL, .def = "true",
     .doc = "emit the per-query table on port items (empty when false)"},
    {0}};

static void ranking_destroy(void *state)
{
    ranking_state *s = state;
    if (!s)
        return;
    free(s->query_field);
    free(s->item_field);
    free(s->score_field);
    free(s->rel_field);
    free(s->ks);
    free(s);
}

static int ranking_create(const assay_host *host, const json_t *opts,
                          void **state, assay_error *err)
{
    int rc;
    ranking_state *s = calloc(1, sizeof *s);
    if (!s)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    s->host = host;
    s->query_field = strdup(assay_opt_str(opts, "query_field"));
    s->item_field = strdup(assay_opt_str(opts, "item_field"));
    s->score_field = strdup(assay_opt_str(opts, "score_field"));
    s->rel_field = strdup(assay_opt_str(opts, "relevance_field"));
    if (!s->query_field || !s->item_field || !s->score_field ||
        !s->rel_field) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto fail;
    }
    rc = sc_opt_int_list(opts, "ks", 1, &s->ks, &s->nk, err);
    if (rc)
        goto fail;
    const char *proto = assay_opt_str(opts, "protocol");
    const char *ties = assay_opt_str(opts, "ties");
    s->cfg.protocol = strcmp(proto, "sampled") == 0 ? RK_SAMPLED : RK_FULL;
    if (strcmp(ties, "trec") == 0)
        s->cfg.ties = RK_TIES_TREC;
    else if (strcmp(ties, "optimistic") == 0)
        s->cfg.ties = RK_TIES_OPTIMISTIC;
    else if (strcmp(ties, "pessimistic") == 0)
        s->cfg.ties = RK_TIES_PESSIMISTIC;
    else
        s->cfg.ties = s->cfg.protocol == RK_SAMPLED ? RK_TIES_OPTIMISTIC
                                                    : RK_TIES_TREC;
    s->cfg.rel_threshold = assay_opt_num(opts, "relevance_threshold");
    s->cfg.exp_gain =
        strcmp(assay_opt_str(opts, "gain"), "exponential") == 0;
    s->cfg.missing_zero =
        strcmp(assay_opt_str(opts, "missing_queries"), "zero") == 0;
    s->cfg.ks = s->ks;
    s->cfg.nk = s->nk;
    s->items = assay_opt_bool(opts, "items");
    s->cfg.summary_only = !s->items;
    *state = s;
    return ASSAY_OK;
fail:
    ranking_destroy(s);
    return rc;
}

static const char *ties_name(rk_ties t)
{
    return t == RK_TIES_TREC         ? "trec"
           : t == RK_TIES_OPTIMISTIC ? "optimistic"
                                     : "pessimistic";
}

/* The summary object: settings, counts, then every mean. */
static int ranking_summary(const ranking_state *s, const rk_result *res,
                           json_t **out, assay_error *err)
{
    int rc;
    json_t *o = json_object();
    json_t *ks = json_array();
    if (!o || !ks) {
        json_decref(o);
        json_decref(ks);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    for (size_t k = 0; k < s->nk; k++)
        json_array_append_new(ks, json_integer(s->ks[k]));
    if ((rc = sc_json_set(o, "protocol",
                          json_string(s->cfg.protocol == RK_FULL ? "full"
                                                                 : "sampled"),
                          err)) ||
        (rc = sc_json_set(o, "ties", json_string(ties_name(s->cfg.ties)),
                          err)) ||
        (rc = sc_json_set(o, "ks", ks, err)) ||
        (rc = sc_json_set(o, "queries", json_integer((json_int_t)
                                                     res->n_averaged),
                          err)) ||
        (rc = sc_json_set(o, "queries_judged",
                          json_integer((json_int_t)res->nq), err)) ||
        (rc = sc_json_set(o, "queries_not_judged",
                          json_integer((json_int_t)res->n_unjudged), err)))
        goto fail;
    size_t noeval = 0;
    for (size_t q = 0; q < res->nq; q++)
        noeval += !res->evaluated[q];
    rc = sc_json_set(o, "queries_not_in_run", json_integer((json_int_t)noeval),
                     err);
    if (rc)
        goto fail;
    for (size_t c = 0; c < res->ncols; c++) {
        char name[64];
        if (c == RK_C_RANK)
            continue;
        rk_col_name(&s->cfg, c, name, sizeof name);
        json_t *v = c <= RK_C_NUM_REL_RET
                        ? json_integer((json_int_t)res->mean[c])
                        : sc_json_num(res->mean[c]);
        rc = sc_json_set(o, name, v, err);
        if (rc)
            goto fail;
    }
    *out = o;
    return ASSAY_OK;
fail:
    json_decref(o);
    return rc;
}

static int ranking_items(const ranking_state *s, const rk_result *res,
                         const sc_keys *qr_q, assay_table **out,
                         assay_error *err)
{
    const assay_host *h = s->host;
    int rc = ASSAY_OK;
    size_t nrows = 0;
    for (size_t q = 0; q < res->nq && s->items; q++)
        nrows += res->evaluated[q] || s->cfg.missing_zero;
    size_t *krow = malloc((nrows ? nrows : 1) * sizeof *krow);
    double *vals = malloc((nrows ? nrows : 1) * res->ncols * sizeof *vals);
    char(*names)[64] = malloc(res->ncols * sizeof *names);
    const char **np = malloc(res->ncols * sizeof *np);
    if (!krow || !vals || !names || !np) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t c = 0; c < res->ncols; c++) {
        rk_col_name(&s->cfg, c, names[c], sizeof names[c]);
        np[c] = names[c];
    }
    size_t w = 0;
    for (size_t q = 0; q < res->nq && s->items; q++) {
        if (!res->evaluated[q] && !s->cfg.missing_zero)
            continue;
        krow[w] = res->qrow[q];
        memcpy(vals + w * res->ncols, res->vals + q * res->ncols,
               res->ncols * sizeof *vals);
        w++;
    }
    rc = sc_table_keyed(h, s->query_field, qr_q, krow, nrows, np, res->ncols,
                        vals, res->ncols, out, err);
done:
    free(krow);
    free(vals);
    free(names);
    free(np);
    return rc;
}

static int ranking_run(void *state, assay_io *io, assay_error *err)
{
    ranking_state *s = state;
    const assay_host *h = s->host;
    sc_input run, qrels;
    sc_keys rq = {0}, ri = {0}, qq = {0}, qi = {0};
    const double *score = NULL, *rel = NULL;
    double *score_own = NULL, *rel_own = NULL;
    rk_result res = {0};
    json_t *summary = NULL;
    assay_table *items = NULL;
    int rc;

    if ((rc = sc_input_get(h, io, "run", true, &run, err)) ||
        (rc = sc_input_get(h, io, "qrels", true, &qrels, err)))
        return rc;
    if ((rc = sc_input_keys(&run, s->query_field, &rq, err)) ||
        (rc = sc_input_keys(&run, s->item_field, &ri, err)) ||
        (rc = sc_input_nums_view(&run, s->score_field, &score, &score_own,
                                 err)) ||
        (rc = sc_input_keys(&qrels, s->query_field, &qq, err)) ||
        (rc = sc_input_keys(&qrels, s->item_field, &qi, err)) ||
        (rc = sc_input_nums_view(&qrels, s->rel_field, &rel, &rel_own, err)))
        goto done;

    rc = rk_evaluate(&s->cfg, h, h->threads(h), &rq, &ri, score, &qq, &qi,
                     rel, &res, err);
    if (rc)
        goto done;
    h->progress(h, res.nq, res.nq, "queries");
    if (res.n_unjudged)
        h->log(h, ASSAY_LOG_INFO,
               "%zu run queries have no judgments and were ignored",
               res.n_unjudged);
    if ((rc = ranking_summary(s, &res, &summary, err)) ||
        (rc = ranking_items(s, &res, &qq, &items, err)))
        goto done;
    rc = h->out_json(io, "summary", summary, err);
    summary = NULL;
    if (rc)
        goto done;
    rc = h->out_table(io, "items", items, err);
    items = NULL;
done:
    json_decref(summary);
    if (items)
        h->table_free(items);
    rk_result_free(&res);
    free(score_own);
    free(rel_own);
    sc_keys_free(&rq);
    sc_keys_free(&ri);
    sc_keys_free(&qq);
    sc_keys_free(&qi);
    return rc;
}

static const assay_plugin ranking_plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "metric.ranking",
    .kind = "metric",
    .version = "1.0.0",
    .summary = "HR, NDCG, MRR, MAP, precision and recall at K (trec_eval "
               "and leave-one-out semantics)",
    .doc =
        "Ranking measures for search runs and recommender lists.\n"
        "\n"
        "Inputs: `run` has one row per (query, item) with a score; `qrels` "
        "one row per judged (query, item) with a graded relevance level "
        "(unjudged items are non-relevant; a repeated judgment keeps the "
        "first).  Ids may be integers or strings.  Records or tables are "
        "accepted; a missing field or a non-finite score fails naming the "
        "row and field.\n"
        "\n"
        "Each query's run rows are ranked by score, descending.  Equal "
        "scores are ordered by `ties`: `trec` puts the larger item id "
        "first (string order for string ids, as trec_eval does with "
        "docnos; numeric order for integer ids), `optimistic` puts more "
        "relevant items first (leave-one-out convention: rank = 1 + number "
        "of strictly higher scores), `pessimistic` last.\n"
        "\n"
        "Measures (binary ones use rel >= relevance_threshold): map "
        "(average precision over num_rel), mrr (1/rank of the first "
        "relevant item), ndcg (gain = rel or 2^rel-1, discount "
        "1/log2(rank+1), ideal ranking from the judged items), and per K: "
        "hr@K (a relevant item in the top K), ndcg@K, precision@K "
        "(relevant in top K / K), recall@K (/ num_rel), map@K (trec_eval "
        "map_cut), mrr@K.  A query without relevant items scores 0.  With "
        "`protocol: full` num_rel and the ideal DCG use every judged item "
        "of the query (trec_eval); with `protocol: sampled` only the "
        "query's candidates (its run rows), as in sampled-candidate "
        "recommender evaluation.  These reproduce trec_eval 10.0 (map, "
        "recip_rank, P_k, recall_k, ndcg, ndcg_cut_k, map_cut_k) and the "
        "leave-one-out HR/NDCG/MRR of recommender papers.\n"
        "\n"
        "Outputs: `summary` holds the mean of every measure over the "
        "queries that are judged and appear in the run (with "
        "missing_queries: zero, every judged query; trec_eval -c), the "
        "sums num_ret, num_rel and num_rel_ret, and query counts; run "
        "queries without judgments are ignored.  `items` is a table with "
        "one row per averaged query (the query id column, then each "
        "measure, and `rank` = rank of the first relevant item or 0).  "
        "Queries are evaluated in parallel on the node's threads.  The "
        "usual leave-one-out layout (integer ids, one judgment per query "
        "with query ids ascending, run rows grouped by query in that "
        "order) takes a single pass without hashing; with items: false "
        "it also skips the per-query values.  Any other layout gives the "
        "same values by the general path.",
    .inputs = ranking_inputs,
    .outputs = ranking_outputs,
    .options = ranking_options,
    .flags = ASSAY_F_ALL_ITEMS | ASSAY_F_DETERMINISTIC,
    .create = ranking_create,
    .run = ranking_run,
    .destroy = ranking_destroy,
};

static const assay_plugin *const ranking_list[] = {&ranking_plugin, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi)
{
    (void)host_abi;
    return ranking_list;
}
