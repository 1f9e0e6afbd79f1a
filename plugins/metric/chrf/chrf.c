/*
 * chrf.c - metric.chrf: chrF and chrF++ matching sacreBLEU 2.x.
 */
#include "chrf_score.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct chrf_state {
    const assay_host *host;
    tc_common_opts common;
    chrf_config cfg;
} chrf_state;

static const assay_option chrf_options[] = {
    TC_OPT_FIELDS,
    {.name = "char_order", .type = ASSAY_OPT_INT, .def = "6",
     .has_min = true, .min = 1, .has_max = true, .max = CHRF_MAX_CHAR,
     .doc = "character n-gram order"},
    {.name = "word_order", .type = ASSAY_OPT_INT, .def = "0",
     .has_min = true, .min = 0, .has_max = true, .max = CHRF_MAX_WORD,
     .doc = "word n-gram order: 0 for chrF, 2 for chrF++"},
    {.name = "beta", .type = ASSAY_OPT_FLOAT, .def = "2", .has_min = true,
     .min = 0, .doc = "weight of recall relative to precision"},
    {.name = "lowercase", .type = ASSAY_OPT_BOOL, .def = "false",
     .doc = "case-insensitive comparison"},
    {.name = "whitespace", .type = ASSAY_OPT_BOOL, .def = "false",
     .doc = "keep whitespace inside character n-grams"},
    {.name = "eps_smoothing", .type = ASSAY_OPT_BOOL, .def = "false",
     .doc = "chrF++.py/NLTK-style average over all orders instead of "
            "sacreBLEU's effective orders"},
    TC_OPT_ITEMS_BOOT,
    {0}};

static const assay_port chrf_inputs[] = {TC_PORTS_IN};
static const assay_port chrf_outputs[] = {TC_PORTS_OUT};

static void chrf_destroy(void *state);

/* Parse and check the options into a new state (*state is set as soon
 * as it exists, so that a failure can be cleaned up by the caller). */
static int chrf_setup(const assay_host *host, const json_t *options,
                      void **state, assay_error *err)
{
    chrf_state *s = calloc(1, sizeof *s);
    if (!s)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    s->host = host;
    int rc = tc_common_opts_read(options, &s->common, err);
    if (rc) {
        free(s);
        return rc;
    }
    *state = s;
    json_t *v;
    s->cfg.char_order = (v = json_object_get(options, "char_order"))
                            ? (int)json_integer_value(v)
                            : 6;
    s->cfg.word_order = (int)assay_opt_int(options, "word_order");
    s->cfg.beta = (v = json_object_get(options, "beta"))
                      ? json_number_value(v)
                      : 2.0;
    s->cfg.lowercase = assay_opt_bool(options, "lowercase");
    s->cfg.whitespace = assay_opt_bool(options, "whitespace");
    s->cfg.eps_smoothing = assay_opt_bool(options, "eps_smoothing");
    if (s->cfg.char_order < 1 || s->cfg.char_order > CHRF_MAX_CHAR ||
        s->cfg.word_order < 0 || s->cfg.word_order > CHRF_MAX_WORD)
        return assay_error_set(err, ASSAY_EINVAL,
                               "options 'char_order' (1..%d) and "
                               "'word_order' (0..%d) out of range",
                               CHRF_MAX_CHAR, CHRF_MAX_WORD);
    return ASSAY_OK;
}

static int chrf_create(const assay_host *host, const json_t *options,
                       void **state, assay_error *err)
{
    *state = NULL;
    int rc = chrf_setup(host, options, state, err);
    if (rc) {
        chrf_destroy(*state);
        *state = NULL;
    }
    return rc;
}

static void chrf_destroy(void *state)
{
    chrf_state *s = state;
    if (!s)
        return;
    tc_common_opts_free(&s->common);
    free(s);
}

typedef struct chrf_job {
    const chrf_state *s;
    const tc_items *items;
    int64_t *stats; /* n x ns */
    chrf_worker *workers;
} chrf_job;

static int chrf_range(void *vctx, unsigned tid, size_t b, size_t e,
                      assay_error *err)
{
    chrf_job *j = vctx;
    const tc_items *it = j->items;
    size_t ns = (size_t)chrf_nstats(&j->s->cfg);
    for (size_t i = b; i < e; i++) {
        size_t r0 = it->ref_off[i], nr = it->ref_off[i + 1] - r0;
        int rc = chrf_segment(&j->workers[tid], &j->s->cfg, &it->hyp[i],
                              it->refs + r0, nr, j->stats + i * ns);
        if (rc)
            return assay_error_set(err, rc, "item %zu: %s", i,
                                   assay_strerror(rc));
    }
    return ASSAY_OK;
}

static double chrf_boot_stat(const double *sum, const void *ctx)
{
    return chrf_fscore(ctx, sum);
}

static json_t *chrf_summary(const chrf_state *s, const double *sum,
                            const tc_items *it)
{
    int ns = chrf_nstats(&s->cfg);
    size_t minr = SIZE_MAX, maxr = 0;
    for (size_t i = 0; i < it->n; i++) {
        size_t k = it->ref_off[i + 1] - it->ref_off[i];
        minr = k < minr ? k : minr;
        maxr = k > maxr ? k : maxr;
    }
    char nrefs[32], sig[256];
    if (it->n == 0 || minr != maxr)
        snprintf(nrefs, sizeof nrefs, "var");
    else
        snprintf(nrefs, sizeof nrefs, "%zu", maxr);
    snprintf(sig, sizeof sig,
             "nrefs:%s|case:%s|eff:%s|nc:%d|nw:%d|space:%s", nrefs,
             s->cfg.lowercase ? "lc" : "mixed",
             s->cfg.eps_smoothing ? "no" : "yes", s->cfg.char_order,
             s->cfg.word_order, s->cfg.whitespace ? "yes" : "no");
    json_t *o = json_object(), *st = json_array();
    if (!o || !st)
        goto fail;
    for (int i = 0; i < ns; i++)
        if (json_array_append_new(st, json_integer((json_int_t)sum[i])))
            goto fail;
    if (tc_json_setnum(o, "score", chrf_fscore(&s->cfg, sum)) ||
        tc_json_setint(o, "char_order", s->cfg.char_order) ||
        tc_json_setint(o, "word_order", s->cfg.word_order) ||
        tc_json_setnum(o, "beta", s->cfg.beta) ||
        tc_json_setnew(o, "stats", st) ||
        tc_json_setint(o, "n_items", (json_int_t)it->n) ||
        tc_json_setstr(o, "signature", sig)) {
        st = NULL;
        goto fail;
    }
    return o;
fail:
    json_decref(st);
    json_decref(o);
    return NULL;
}

static int chrf_run(void *state, assay_io *io, assay_error *err)
{
    chrf_state *s = state;
    const assay_host *h = s->host;
    tc_items it;
    int64_t *stats = NULL;
    double *bs = NULL, sum[CHRF_MAX_STATS] = {0};
    chrf_worker *workers = NULL;
    json_t *summary = NULL, *items = NULL;
    size_t ns = (size_t)chrf_nstats(&s->cfg);
    int rc = tc_items_read(h, io, "items", s->common.hyp_field,
                           s->common.refs_field, true, &it, err);
    if (rc)
        return rc;
    unsigned nt = tc_threads_for(h, it.n);
    stats = calloc((it.n ? it.n : 1) * ns, sizeof *stats);
    workers = calloc(nt, sizeof *workers);
    if (!stats || !workers) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto cleanup;
    }
    chrf_job job = {s, &it, stats, workers};
    if ((rc = tc_map_items(h, it.n, nt, chrf_range, &job, err)))
        goto cleanup;
    for (size_t i = 0; i < it.n; i++)
        for (size_t k = 0; k < ns; k++)
            sum[k] += (double)stats[i * ns + k];
    if (!(summary = chrf_summary(s, sum, &it))) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto cleanup;
    }
    if (s->common.bootstrap > 0 && it.n > 0) {
        if (!(bs = malloc(it.n * ns * sizeof *bs))) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto cleanup;
        }
        for (size_t i = 0; i < it.n * ns; i++)
            bs[i] = (double)stats[i];
        double lo, hi, sd;
        rc = tc_bootstrap(bs, it.n, ns, chrf_boot_stat, &s->cfg,
                          s->common.bootstrap, s->common.ci,
                          h->seed(h, "bootstrap"), nt, &lo, &hi, &sd, err);
        if (rc)
            goto cleanup;
        if (tc_bootstrap_put(summary, s->common.ci, s->common.bootstrap, lo,
                             hi, sd)) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto cleanup;
        }
    }
    items = json_array();
    for (size_t i = 0; items && s->common.item_scores && i < it.n; i++) {
        double d[CHRF_MAX_STATS];
        for (size_t k = 0; k < ns; k++)
            d[k] = (double)stats[i * ns + k];
        json_t *o = json_object(), *id = tc_items_id(&it, i);
        if (!o || (id && tc_json_setnew(o, "id", id)) ||
            tc_json_setnum(o, "score", chrf_fscore(&s->cfg, d)) ||
            json_array_append_new(items, o)) {
            json_decref(items);
            items = NULL;
        }
    }
    if (!items) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto cleanup;
    }
    rc = h->out_json(io, "summary", summary, err);
    summary = NULL;
    if (rc == 0)
        rc = h->out_records(io, "items", items, err);
    items = NULL;
cleanup:
    json_decref(summary);
    json_decref(items);
    for (unsigned t = 0; workers && t < nt; t++)
        chrf_worker_free(&workers[t]);
    free(workers);
    free(stats);
    free(bs);
    tc_items_free(&it);
    return rc;
}

static const assay_plugin chrf_plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "metric.chrf",
    .kind = "metric",
    .version = "1.0.0",
    .summary = "chrF and chrF++ (character n-gram F-score), as sacreBLEU",
    .doc =
        "Computes chrF (word_order 0) and chrF++ (word_order 2) exactly as "
        "sacreBLEU 2.x CHRF (checked against sacreBLEU 2.6.0 on the golden "
        "set): character n-grams of orders 1..char_order over Unicode code "
        "points with whitespace removed (whitespace: keep it), word "
        "n-grams after sacreBLEU's punctuation split (one ASCII punctuation "
        "character peeled off the end, else the start, of each word), "
        "per-order hypothesis/reference/match counts, F-beta (beta 2) "
        "averaged over the orders present in both (sacreBLEU's effective "
        "order; eps_smoothing: over all orders).  With several references "
        "an item keeps the statistics of the reference with the highest "
        "F (first on ties); the corpus score comes from statistics summed "
        "over items.\n"
        "Input 'items': records with hyp_field and refs_field (string or "
        "list), or a table (columns hyp_field, refs_field[, "
        "refs_field_1...]).  Output 'summary': {score (0-100), char_order, "
        "word_order, beta, stats (summed [hyp, ref, match] per order), "
        "n_items, signature, ci when bootstrap > 0}.  Output 'items': "
        "{id, score} per item (sentence chrF).",
    .inputs = chrf_inputs,
    .outputs = chrf_outputs,
    .options = chrf_options,
    .flags = ASSAY_F_ALL_ITEMS | ASSAY_F_DETERMINISTIC,
    .create = chrf_create,
    .run = chrf_run,
    .destroy = chrf_destroy,
};

static const assay_plugin *const chrf_list[] = {&chrf_plugin, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi)
{
    (void)host_abi;
    return chrf_list;
}
