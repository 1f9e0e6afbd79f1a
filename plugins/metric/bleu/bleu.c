/*
 * bleu.c - metric.bleu: corpus and sentence BLEU matching sacreBLEU 2.x.
 */
#include "bleu_score.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct bleu_state {
    const assay_host *host;
    tc_common_opts common;
    bleu_config cfg;
    bleu_smooth smooth;
    double smooth_value; /* < 0: the method's default */
    bool eff_order, item_eff_order;
} bleu_state;

static const assay_option bleu_options[] = {
    TC_OPT_FIELDS,
    {.name = "tokenize", .type = ASSAY_OPT_ENUM, .def = "\"13a\"",
     .choices = "13a|none|intl|char|zh",
     .doc = "sacreBLEU tokenizer applied to hypothesis and references"},
    {.name = "smooth_method", .type = ASSAY_OPT_ENUM, .def = "\"exp\"",
     .choices = "exp|none|floor|add-k",
     .doc = "smoothing of zero n-gram precisions (sacreBLEU's methods)"},
    {.name = "smooth_value", .type = ASSAY_OPT_FLOAT, .def = NULL,
     .has_min = true, .min = 0,
     .doc = "value for floor (default 0.1) and add-k (default 1)"},
    {.name = "lowercase", .type = ASSAY_OPT_BOOL, .def = "false",
     .doc = "lowercase hypothesis and references first (case:lc)"},
    {.name = "max_ngram_order", .type = ASSAY_OPT_INT, .def = "4",
     .has_min = true, .min = 1, .has_max = true, .max = BLEU_MAX_ORDER,
     .doc = "highest n-gram order"},
    {.name = "effective_order", .type = ASSAY_OPT_BOOL, .def = "false",
     .doc = "corpus score: average only the orders that have hypothesis "
            "n-grams (sacreBLEU BLEU(effective_order=...))"},
    {.name = "item_effective_order", .type = ASSAY_OPT_BOOL, .def = "true",
     .doc = "per-item scores use effective order, as "
            "sacrebleu.sentence_bleu does"},
    TC_OPT_ITEMS_BOOT,
    {0}};

static const assay_port bleu_inputs[] = {TC_PORTS_IN};
static const assay_port bleu_outputs[] = {TC_PORTS_OUT};

static void bleu_destroy(void *state);

/* Parse and check the options into a new state (*state is set as soon
 * as it exists, so that a failure can be cleaned up by the caller). */
static int bleu_setup(const assay_host *host, const json_t *options,
                      void **state, assay_error *err)
{
    bleu_state *s = calloc(1, sizeof *s);
    if (!s)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    s->host = host;
    int rc = tc_common_opts_read(options, &s->common, err);
    if (rc) {
        free(s);
        return rc;
    }
    *state = s;
    const char *tok = assay_opt_str(options, "tokenize");
    const char *sm = assay_opt_str(options, "smooth_method");
    if (!tc_tokenizer_from_name(tok ? tok : "13a", &s->cfg.tokenizer))
        return assay_error_set(err, ASSAY_EINVAL,
                               "option 'tokenize': unknown tokenizer '%s'",
                               tok);
    if (!bleu_smooth_from_name(sm ? sm : "exp", &s->smooth))
        return assay_error_set(err, ASSAY_EINVAL,
                               "option 'smooth_method': unknown method '%s'",
                               sm);
    json_t *sv = json_object_get(options, "smooth_value");
    s->smooth_value = json_is_number(sv) ? json_number_value(sv) : -1.0;
    s->cfg.lowercase = assay_opt_bool(options, "lowercase");
    json_t *o = json_object_get(options, "max_ngram_order");
    s->cfg.order = o ? (int)json_integer_value(o) : 4;
    if (s->cfg.order < 1 || s->cfg.order > BLEU_MAX_ORDER)
        return assay_error_set(err, ASSAY_EINVAL,
                               "option 'max_ngram_order' must be 1..%d",
                               BLEU_MAX_ORDER);
    s->eff_order = assay_opt_bool(options, "effective_order");
    json_t *ie = json_object_get(options, "item_effective_order");
    s->item_eff_order = ie ? json_is_true(ie) : true;
    return ASSAY_OK;
}

static int bleu_create(const assay_host *host, const json_t *options,
                       void **state, assay_error *err)
{
    *state = NULL;
    int rc = bleu_setup(host, options, state, err);
    if (rc) {
        bleu_destroy(*state);
        *state = NULL;
    }
    return rc;
}

static void bleu_destroy(void *state)
{
    bleu_state *s = state;
    if (!s)
        return;
    tc_common_opts_free(&s->common);
    free(s);
}

typedef struct bleu_job {
    const bleu_state *s;
    const tc_items *items;
    int32_t *stats; /* n x bleu_packed_size(order) */
    bleu_worker *workers;
} bleu_job;

static int bleu_range(void *vctx, unsigned tid, size_t b, size_t e,
                      assay_error *err)
{
    bleu_job *j = vctx;
    const tc_items *it = j->items;
    int order = j->s->cfg.order;
    size_t k = bleu_packed_size(order);
    for (size_t i = b; i < e; i++) {
        size_t r0 = it->ref_off[i], nr = it->ref_off[i + 1] - r0;
        bleu_stats st;
        int rc = bleu_segment(&j->workers[tid], &j->s->cfg, &it->hyp[i],
                              it->refs + r0, nr, &st);
        if (rc)
            return assay_error_set(err, rc, "item %zu: %s", i,
                                   assay_strerror(rc));
        bleu_stats_pack(&st, order, j->stats + i * k);
    }
    return ASSAY_OK;
}

/* Summed statistics -> score, for the bootstrap. Layout of a row:
 * sys_len, ref_len, correct[order], total[order]. */
typedef struct boot_par {
    int order;
    bleu_smooth smooth;
    double smooth_value;
    bool eff;
} boot_par;

static double bleu_boot_stat(const double *sum, const void *ctx)
{
    const boot_par *p = ctx;
    bleu_stats st = {0};
    st.sys_len = (int64_t)llround(sum[0]);
    st.ref_len = (int64_t)llround(sum[1]);
    for (int n = 0; n < p->order; n++) {
        st.correct[n] = (int64_t)llround(sum[2 + n]);
        st.total[n] = (int64_t)llround(sum[2 + p->order + n]);
    }
    bleu_result r;
    bleu_compute(&st, p->order, p->smooth, p->smooth_value, p->eff, &r);
    return r.score;
}

static json_t *num_array(const double *v, int n)
{
    json_t *a = json_array();
    for (int i = 0; a && i < n; i++) {
        double x = v[i];
        json_t *e = x == floor(x) && fabs(x) < 1e15
                        ? json_integer((json_int_t)x)
                        : json_real(x);
        if (json_array_append_new(a, e)) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

/* The summary object of a corpus result. */
static json_t *bleu_summary(const bleu_state *s, const bleu_result *r,
                            const tc_items *it)
{
    int order = s->cfg.order;
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
    snprintf(sig, sizeof sig, "nrefs:%s|case:%s|eff:%s|tok:%s|smooth:%s",
             nrefs, s->cfg.lowercase ? "lc" : "mixed",
             s->eff_order ? "yes" : "no",
             tc_tokenizer_name(s->cfg.tokenizer),
             bleu_smooth_name(s->smooth));
    json_t *o = json_object();
    if (!o)
        return NULL;
    if (tc_json_setnum(o, "score", r->score) ||
        tc_json_setnew(o, "counts", num_array(r->counts, order)) ||
        tc_json_setnew(o, "totals", num_array(r->totals, order)) ||
        tc_json_setnew(o, "precisions", num_array(r->precisions, order)) ||
        tc_json_setnum(o, "bp", r->bp) ||
        tc_json_setnum(o, "ratio", r->ratio) ||
        tc_json_setint(o, "sys_len", r->sys_len) ||
        tc_json_setint(o, "ref_len", r->ref_len) ||
        tc_json_setint(o, "n_items", (json_int_t)it->n) ||
        tc_json_setstr(o, "signature", sig)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *bleu_item(const bleu_state *s, const tc_items *it, size_t i,
                         const int32_t *packed)
{
    bleu_result r;
    bleu_stats st;
    bleu_stats_unpack(packed, s->cfg.order, &st);
    bleu_compute(&st, s->cfg.order, s->smooth, s->smooth_value,
                 s->item_eff_order, &r);
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_t *id = tc_items_id(it, i);
    if ((id && tc_json_setnew(o, "id", id)) ||
        tc_json_setnum(o, "score", r.score) ||
        tc_json_setnew(o, "precisions",
                       num_array(r.precisions, s->cfg.order)) ||
        tc_json_setnum(o, "bp", r.bp) ||
        tc_json_setint(o, "sys_len", r.sys_len) ||
        tc_json_setint(o, "ref_len", r.ref_len)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int bleu_run(void *state, assay_io *io, assay_error *err)
{
    bleu_state *s = state;
    const assay_host *h = s->host;
    tc_items it;
    int32_t *stats = NULL;
    bleu_worker *workers = NULL;
    double *bs = NULL;
    json_t *summary = NULL, *items = NULL;
    unsigned nt = 1;
    int order = s->cfg.order;
    int rc = tc_items_read(h, io, "items", s->common.hyp_field,
                           s->common.refs_field, true, &it, err);
    if (rc)
        return rc;
    nt = tc_threads_for(h, it.n);
    size_t k = bleu_packed_size(order);
    stats = calloc((it.n ? it.n : 1) * k, sizeof *stats);
    workers = calloc(nt, sizeof *workers);
    if (!stats || !workers) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto cleanup;
    }
    bleu_job job = {s, &it, stats, workers};
    if ((rc = tc_map_items(h, it.n, nt, bleu_range, &job, err)))
        goto cleanup;

    bleu_stats sum = {0};
    for (size_t i = 0; i < it.n; i++)
        bleu_stats_add_packed(&sum, stats + i * k, order);
    bleu_result r;
    bleu_compute(&sum, order, s->smooth, s->smooth_value, s->eff_order, &r);
    if (!(summary = bleu_summary(s, &r, &it))) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto cleanup;
    }
    if (s->common.bootstrap > 0 && it.n > 0) {
        /* rows in the packed layout: sys_len, ref_len, correct, total */
        bs = malloc(it.n * k * sizeof *bs);
        if (!bs) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto cleanup;
        }
        for (size_t i = 0; i < it.n * k; i++)
            bs[i] = (double)stats[i];
        boot_par par = {order, s->smooth, s->smooth_value, s->eff_order};
        double lo, hi, sd;
        rc = tc_bootstrap(bs, it.n, k, bleu_boot_stat, &par,
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
    for (size_t i = 0; items && s->common.item_scores && i < it.n; i++)
        if (json_array_append_new(items,
                                  bleu_item(s, &it, i, stats + i * k))) {
            json_decref(items);
            items = NULL;
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
        bleu_worker_free(&workers[t]);
    free(workers);
    free(stats);
    free(bs);
    tc_items_free(&it);
    return rc;
}

static const assay_plugin bleu_plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "metric.bleu",
    .kind = "metric",
    .version = "1.0.0",
    .summary = "BLEU, corpus and per item, matching sacreBLEU 2.x",
    .doc =
        "Computes BLEU exactly as sacreBLEU 2.x (checked against sacreBLEU "
        "2.6.0 on the golden set): the hypothesis and its references are "
        "right-stripped and tokenized (default 13a, the mteval-v13a rules; "
        "also none, intl (Unicode punctuation and symbols), char and zh), "
        "n-grams up to max_ngram_order are clipped by their highest count "
        "in any reference, the reference length is the closest one (ties: "
        "the shorter), and the corpus score comes from statistics summed "
        "over items, with the brevity penalty and the chosen smoothing "
        "(exp by default; none, floor, add-k).  Items may have different "
        "numbers of references (sacreBLEU's nrefs:var).\n"
        "Input 'items': records with the hypothesis in hyp_field and the "
        "references in refs_field (a string or a list of strings; nulls "
        "are skipped), or a table with string columns hyp_field and "
        "refs_field[, refs_field_1, ...].\n"
        "Output 'summary': {score (0-100), counts, totals, precisions "
        "(percent), bp, ratio, sys_len, ref_len, n_items, signature, and "
        "ci {level, low, high, sd, resamples} when bootstrap > 0: paired "
        "percentile bootstrap over items, corpus BLEU recomputed from the "
        "resampled statistics}.  Output 'items': per item {id, score, "
        "precisions, bp, sys_len, ref_len}: sentence BLEU with effective "
        "order as sacrebleu.sentence_bleu.",
    .inputs = bleu_inputs,
    .outputs = bleu_outputs,
    .options = bleu_options,
    .flags = ASSAY_F_ALL_ITEMS | ASSAY_F_DETERMINISTIC,
    .create = bleu_create,
    .run = bleu_run,
    .destroy = bleu_destroy,
};

static const assay_plugin *const bleu_list[] = {&bleu_plugin, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi)
{
    (void)host_abi;
    return bleu_list;
}
