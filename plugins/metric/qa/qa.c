/*
 * qa.c - metric.qa: SQuAD-style exact match and token F1.
 */
#include "qa_score.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct qa_state {
    const assay_host *host;
    tc_common_opts common;
    bool v1;
} qa_state;

static const assay_option qa_options[] = {
    TC_OPT_FIELDS,
    {.name = "squad_version", .type = ASSAY_OPT_ENUM, .def = "\"2.0\"",
     .choices = "2.0|1.1",
     .doc = "2.0: an empty prediction matching an empty (or no) answer "
            "scores F1 1; 1.1: empty sides score F1 0"},
    TC_OPT_ITEMS_BOOT,
    {0}};

static const assay_port qa_inputs[] = {
    {.name = "items", .type = ASSAY_T_ANY, .required = true,
     .doc = "records (or a table) with a predicted answer and the gold "
            "answers"},
    {0}};
static const assay_port qa_outputs[] = {TC_PORTS_OUT};

static void qa_destroy(void *state);

/* Parse and check the options into a new state (*state is set as soon
 * as it exists, so that a failure can be cleaned up by the caller). */
static int qa_setup(const assay_host *host, const json_t *options,
                    void **state, assay_error *err)
{
    qa_state *s = calloc(1, sizeof *s);
    if (!s)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    s->host = host;
    int rc = tc_common_opts_read(options, &s->common, err);
    if (rc) {
        free(s);
        return rc;
    }
    const char *v = assay_opt_str(options, "squad_version");
    s->v1 = v && strcmp(v, "1.1") == 0;
    *state = s;
    return ASSAY_OK;
}

static int qa_create(const assay_host *host, const json_t *options,
                     void **state, assay_error *err)
{
    *state = NULL;
    int rc = qa_setup(host, options, state, err);
    if (rc) {
        qa_destroy(*state);
        *state = NULL;
    }
    return rc;
}

static void qa_destroy(void *state)
{
    qa_state *s = state;
    if (!s)
        return;
    tc_common_opts_free(&s->common);
    free(s);
}

typedef struct qa_job {
    const qa_state *s;
    const tc_items *items;
    double *em, *f1;
    qa_worker *workers;
} qa_job;

static int qa_range(void *vctx, unsigned tid, size_t b, size_t e,
                    assay_error *err)
{
    qa_job *j = vctx;
    const tc_items *it = j->items;
    for (size_t i = b; i < e; i++) {
        size_t r0 = it->ref_off[i], nr = it->ref_off[i + 1] - r0;
        int rc = qa_score(&j->workers[tid], &it->hyp[i], it->refs + r0, nr,
                          j->s->v1, &j->em[i], &j->f1[i]);
        if (rc)
            return assay_error_set(err, rc, "item %zu: %s", i,
                                   assay_strerror(rc));
    }
    return ASSAY_OK;
}

/* 100 x the mean (the SQuAD script's totals). */
static double pct_mean(const double *sum, const void *ctx)
{
    return 100.0 * sum[0] / (double)*(const size_t *)ctx;
}

static int put_metric(const qa_state *s, json_t *summary, const char *name,
                      const double *v, size_t n, unsigned nt,
                      assay_error *err)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    json_t *o = json_object();
    if (!o || tc_json_setnum(o, "score", n ? 100.0 * sum / (double)n : 0.0))
        goto nomem;
    if (s->common.bootstrap > 0 && n > 0) {
        const assay_host *h = s->host;
        double lo, hi, sd;
        char label[64];
        snprintf(label, sizeof label, "bootstrap:%s", name);
        int rc = tc_bootstrap(v, n, 1, pct_mean, &n, s->common.bootstrap,
                              s->common.ci, h->seed(h, label), nt, &lo, &hi,
                              &sd, err);
        if (rc) {
            json_decref(o);
            return rc;
        }
        if (tc_bootstrap_put(o, s->common.ci, s->common.bootstrap, lo, hi,
                             sd))
            goto nomem;
    }
    if (tc_json_setnew(summary, name, o))
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    return ASSAY_OK;
nomem:
    json_decref(o);
    return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
}

static int qa_run(void *state, assay_io *io, assay_error *err)
{
    qa_state *s = state;
    const assay_host *h = s->host;
    tc_items it;
    double *em = NULL, *f1 = NULL;
    qa_worker *workers = NULL;
    json_t *summary = NULL, *items = NULL;
    int rc = tc_items_read(h, io, "items", s->common.hyp_field,
                           s->common.refs_field, false, &it, err);
    if (rc)
        return rc;
    unsigned nt = tc_threads_for(h, it.n);
    em = calloc(it.n ? it.n : 1, sizeof *em);
    f1 = calloc(it.n ? it.n : 1, sizeof *f1);
    workers = calloc(nt, sizeof *workers);
    if (!em || !f1 || !workers) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto cleanup;
    }
    qa_job job = {s, &it, em, f1, workers};
    if ((rc = tc_map_items(h, it.n, nt, qa_range, &job, err)))
        goto cleanup;
    if (!(summary = json_object())) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto cleanup;
    }
    if ((rc = put_metric(s, summary, "exact_match", em, it.n, nt, err)) ||
        (rc = put_metric(s, summary, "f1", f1, it.n, nt, err)))
        goto cleanup;
    if (tc_json_setint(summary, "n_items", (json_int_t)it.n) ||
        tc_json_setstr(summary, "squad_version", s->v1 ? "1.1" : "2.0")) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto cleanup;
    }
    items = json_array();
    for (size_t i = 0; items && s->common.item_scores && i < it.n; i++) {
        json_t *o = json_object(), *id = tc_items_id(&it, i);
        if (!o || (id && tc_json_setnew(o, "id", id)) ||
            tc_json_setint(o, "exact_match", (json_int_t)em[i]) ||
            tc_json_setnum(o, "f1", f1[i]) ||
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
        qa_worker_free(&workers[t]);
    free(workers);
    free(em);
    free(f1);
    tc_items_free(&it);
    return rc;
}

static const assay_plugin qa_plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "metric.qa",
    .kind = "metric",
    .version = "1.0.0",
    .summary = "Exact match and token F1 with SQuAD answer normalisation",
    .doc =
        "Scores predicted answers against gold answers as the official "
        "SQuAD evaluation script does: both sides are normalised (Python "
        "lowercase, ASCII punctuation removed, the articles a/an/the "
        "removed as whole words, whitespace collapsed); exact match is 1 "
        "when the normalised strings are equal; token F1 is the F1 of the "
        "bag-of-token overlap.  Each item takes the maximum over its gold "
        "answers; an item with no answer (empty list) counts as one empty "
        "answer (SQuAD 2.0 unanswerable questions).\n"
        "Input 'items': records with the prediction in hyp_field and the "
        "gold answers in refs_field (string or list), or a table.  Output "
        "'summary': {exact_match: {score}, f1: {score}} as 100 x the mean "
        "(with ci when bootstrap > 0), n_items, squad_version.  Output "
        "'items': {id, exact_match (0/1), f1 (0..1)} per item.",
    .inputs = qa_inputs,
    .outputs = qa_outputs,
    .options = qa_options,
    .flags = ASSAY_F_ALL_ITEMS | ASSAY_F_DETERMINISTIC,
    .create = qa_create,
    .run = qa_run,
    .destroy = qa_destroy,
};

static const assay_plugin *const qa_list[] = {&qa_plugin, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi)
{
    (void)host_abi;
    return qa_list;
}
