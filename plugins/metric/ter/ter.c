/*
 * ter.c - metric.ter: Translation Edit Rate matching sacreBLEU 2.x.
 */
#include "ter_score.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct ter_state {
    const assay_host *host;
    tc_common_opts common;
    ter_config cfg;
} ter_state;

static const assay_option ter_options[] = {
    TC_OPT_FIELDS,
    {.name = "normalized", .type = ASSAY_OPT_BOOL, .def = "false",
     .doc = "apply Tercom's punctuation and western normalization"},
    {.name = "no_punct", .type = ASSAY_OPT_BOOL, .def = "false",
     .doc = "remove punctuation (.,?:;!\"()) before scoring"},
    {.name = "asian_support", .type = ASSAY_OPT_BOOL, .def = "false",
     .doc = "split CJK characters and handle Asian punctuation (with "
            "normalized / no_punct)"},
    {.name = "case_sensitive", .type = ASSAY_OPT_BOOL, .def = "false",
     .doc = "compare case-sensitively (default: lowercase everything)"},
    TC_OPT_ITEMS_BOOT,
    {0}};

static const assay_port ter_inputs[] = {TC_PORTS_IN};
static const assay_port ter_outputs[] = {TC_PORTS_OUT};

static void ter_destroy(void *state);

/* Parse and check the options into a new state (*state is set as soon
 * as it exists, so that a failure can be cleaned up by the caller). */
static int ter_setup(const assay_host *host, const json_t *options,
                     void **state, assay_error *err)
{
    ter_state *s = calloc(1, sizeof *s);
    if (!s)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    s->host = host;
    int rc = tc_common_opts_read(options, &s->common, err);
    if (rc) {
        free(s);
        return rc;
    }
    s->cfg.normalized = assay_opt_bool(options, "normalized");
    s->cfg.no_punct = assay_opt_bool(options, "no_punct");
    s->cfg.asian_support = assay_opt_bool(options, "asian_support");
    s->cfg.case_sensitive = assay_opt_bool(options, "case_sensitive");
    *state = s;
    return ASSAY_OK;
}

static int ter_create(const assay_host *host, const json_t *options,
                      void **state, assay_error *err)
{
    *state = NULL;
    int rc = ter_setup(host, options, state, err);
    if (rc) {
        ter_destroy(*state);
        *state = NULL;
    }
    return rc;
}

static void ter_destroy(void *state)
{
    ter_state *s = state;
    if (!s)
        return;
    tc_common_opts_free(&s->common);
    free(s);
}

typedef struct ter_job {
    const ter_state *s;
    const tc_items *items;
    double *stats; /* n x 2: edits, average reference length */
    ter_worker *workers;
} ter_job;

static int ter_range(void *vctx, unsigned tid, size_t b, size_t e,
                     assay_error *err)
{
    ter_job *j = vctx;
    const tc_items *it = j->items;
    for (size_t i = b; i < e; i++) {
        size_t r0 = it->ref_off[i], nr = it->ref_off[i + 1] - r0;
        int64_t edits;
        int rc = ter_segment(&j->workers[tid], &j->s->cfg, &it->hyp[i],
                             it->refs + r0, nr, &edits, &j->stats[2 * i + 1]);
        if (rc)
            return assay_error_set(err, rc, "item %zu: %s", i,
                                   assay_strerror(rc));
        j->stats[2 * i] = (double)edits;
    }
    return ASSAY_OK;
}

static double ter_boot_stat(const double *sum, const void *ctx)
{
    (void)ctx;
    return ter_score(sum[0], sum[1]);
}

static json_t *ter_summary(const ter_state *s, double edits, double len,
                           const tc_items *it)
{
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
             "nrefs:%s|case:%s|tok:tercom|norm:%s|punct:%s|asian:%s", nrefs,
             s->cfg.case_sensitive ? "mixed" : "lc",
             s->cfg.normalized ? "yes" : "no",
             s->cfg.no_punct ? "no" : "yes",
             s->cfg.asian_support ? "yes" : "no");
    json_t *o = json_object();
    if (!o)
        return NULL;
    if (tc_json_setnum(o, "score", ter_score(edits, len)) ||
        tc_json_setint(o, "num_edits", (json_int_t)edits) ||
        tc_json_setnum(o, "ref_length", len) ||
        tc_json_setint(o, "n_items", (json_int_t)it->n) ||
        tc_json_setstr(o, "signature", sig)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int ter_run(void *state, assay_io *io, assay_error *err)
{
    ter_state *s = state;
    const assay_host *h = s->host;
    tc_items it;
    double *stats = NULL;
    ter_worker *workers = NULL;
    json_t *summary = NULL, *items = NULL;
    int rc = tc_items_read(h, io, "items", s->common.hyp_field,
                           s->common.refs_field, true, &it, err);
    if (rc)
        return rc;
    unsigned nt = tc_threads_for(h, it.n > 64 ? it.n * 32 : it.n);
    stats = calloc(2 * (it.n ? it.n : 1), sizeof *stats);
    workers = calloc(nt, sizeof *workers);
    if (!stats || !workers) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto cleanup;
    }
    ter_job job = {s, &it, stats, workers};
    if ((rc = tc_map_items(h, it.n, nt, ter_range, &job, err)))
        goto cleanup;
    double edits = 0, len = 0;
    for (size_t i = 0; i < it.n; i++) {
        edits += stats[2 * i];
        len += stats[2 * i + 1];
    }
    if (!(summary = ter_summary(s, edits, len, &it))) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto cleanup;
    }
    if (s->common.bootstrap > 0 && it.n > 0) {
        double lo, hi, sd;
        rc = tc_bootstrap(stats, it.n, 2, ter_boot_stat, NULL,
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
        json_t *o = json_object(), *id = tc_items_id(&it, i);
        double e = stats[2 * i], l = stats[2 * i + 1];
        if (!o || (id && tc_json_setnew(o, "id", id)) ||
            tc_json_setnum(o, "score", ter_score(e, l)) ||
            tc_json_setint(o, "num_edits", (json_int_t)e) ||
            tc_json_setnum(o, "ref_length", l) ||
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
        ter_worker_free(&workers[t]);
    free(workers);
    free(stats);
    tc_items_free(&it);
    return rc;
}

static const assay_plugin ter_plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "metric.ter",
    .kind = "metric",
    .version = "1.0.0",
    .summary = "Translation Edit Rate (TER), as sacreBLEU's Tercom port",
    .doc =
        "Computes TER exactly as sacreBLEU 2.x TER() (checked against "
        "sacreBLEU 2.6.0 on the golden set): hypothesis and references "
        "are right-stripped, lowercased unless case_sensitive, optionally "
        "normalized (Tercom's western rules, Asian character split) and "
        "stripped of punctuation, then split on whitespace.  Edits are "
        "Tercom's greedy block shifts (runs of at most 10 words moved at "
        "most 50 positions, at most 1000 candidates per reference) plus a "
        "beam-limited word edit distance.  Per item the fewest edits over "
        "the references and the average reference length are kept; the "
        "score is 100 * edits / length (100 when the length is 0 and there "
        "are edits, 0 when both are 0), at corpus level from sums.\n"
        "Input 'items': records with hyp_field and refs_field (string or "
        "list), or a table.  Output 'summary': {score (0-100, lower is "
        "better), num_edits, ref_length, n_items, signature, ci when "
        "bootstrap > 0}.  Output 'items': {id, score, num_edits, "
        "ref_length} per item.",
    .inputs = ter_inputs,
    .outputs = ter_outputs,
    .options = ter_options,
    .flags = ASSAY_F_ALL_ITEMS | ASSAY_F_DETERMINISTIC,
    .create = ter_create,
    .run = ter_run,
    .destroy = ter_destroy,
};

static const assay_plugin *const ter_list[] = {&ter_plugin, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi)
{
    (void)host_abi;
    return ter_list;
}
