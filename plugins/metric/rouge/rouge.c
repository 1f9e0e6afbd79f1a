/*
 * rouge.c - metric.rouge: ROUGE-N/L/Lsum matching Google's rouge-score.
 */
#include "rouge_score.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct rouge_state {
    const assay_host *host;
    tc_common_opts common;
    rouge_config cfg;
} rouge_state;

static const assay_option rouge_options[] = {
    TC_OPT_FIELDS,
    {.name = "rouge_types", .type = ASSAY_OPT_LIST,
     .def = "[\"rouge1\", \"rouge2\", \"rougeL\", \"rougeLsum\"]",
     .doc = "scores to compute: rouge1..rouge9, rougeL, rougeLsum"},
    {.name = "use_stemmer", .type = ASSAY_OPT_BOOL, .def = "false",
     .doc = "Porter-stem tokens longer than 3 characters (NLTK variant, "
            "as rouge-score)"},
    TC_OPT_ITEMS_BOOT,
    {0}};

static const assay_port rouge_inputs[] = {TC_PORTS_IN};
static const assay_port rouge_outputs[] = {TC_PORTS_OUT};

static void rouge_destroy(void *state);

/* Parse and check the options into a new state (*state is set as soon
 * as it exists, so that a failure can be cleaned up by the caller). */
static int rouge_setup(const assay_host *host, const json_t *options,
                       void **state, assay_error *err)
{
    rouge_state *s = calloc(1, sizeof *s);
    if (!s)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    s->host = host;
    int rc = tc_common_opts_read(options, &s->common, err);
    if (rc) {
        free(s);
        return rc;
    }
    *state = s;
    s->cfg.stem = assay_opt_bool(options, "use_stemmer");
    json_t *types = json_object_get(options, "rouge_types");
    if (!types || json_is_null(types)) {
        static const char *const def[] = {"rouge1", "rouge2", "rougeL",
                                          "rougeLsum"};
        for (int k = 0; k < 4; k++)
            rouge_type_parse(def[k], &s->cfg.types[s->cfg.ntypes++]);
        return ASSAY_OK;
    }
    if (json_is_string(types)) /* a scalar stands for a one-element list */
        types = json_pack("[O]", types);
    else
        json_incref(types);
    size_t n = json_array_size(types);
    if (n == 0 || n > ROUGE_MAX_TYPES) {
        json_decref(types);
        return assay_error_set(err, ASSAY_EINVAL,
                               "option 'rouge_types': give 1 to %d types",
                               ROUGE_MAX_TYPES);
    }
    for (size_t i = 0; i < n; i++) {
        const char *name = json_string_value(json_array_get(types, i));
        if (!rouge_type_parse(name, &s->cfg.types[s->cfg.ntypes++])) {
            rc = assay_error_set(err, ASSAY_EINVAL,
                                 "option 'rouge_types': unknown type '%s' "
                                 "(rouge1..rouge9, rougeL, rougeLsum)",
                                 name ? name : "(not a string)");
            json_decref(types);
            return rc;
        }
    }
    json_decref(types);
    return ASSAY_OK;
}

static int rouge_create(const assay_host *host, const json_t *options,
                        void **state, assay_error *err)
{
    *state = NULL;
    int rc = rouge_setup(host, options, state, err);
    if (rc) {
        rouge_destroy(*state);
        *state = NULL;
    }
    return rc;
}

static void rouge_destroy(void *state)
{
    rouge_state *s = state;
    if (!s)
        return;
    tc_common_opts_free(&s->common);
    free(s);
}

typedef struct rouge_job {
    const rouge_state *s;
    const tc_items *items;
    rouge_prf *scores; /* n x ntypes */
    rouge_worker *workers;
} rouge_job;

static int rouge_range(void *vctx, unsigned tid, size_t b, size_t e,
                       assay_error *err)
{
    rouge_job *j = vctx;
    const tc_items *it = j->items;
    size_t nt = (size_t)j->s->cfg.ntypes;
    for (size_t i = b; i < e; i++) {
        size_t r0 = it->ref_off[i], nr = it->ref_off[i + 1] - r0;
        int rc = rouge_multi(&j->workers[tid], &j->s->cfg, &it->hyp[i],
                             it->refs + r0, nr, j->scores + i * nt);
        if (rc)
            return assay_error_set(err, rc, "item %zu: %s", i,
                                   assay_strerror(rc));
    }
    return ASSAY_OK;
}

static double mean_stat(const double *sum, const void *ctx)
{
    return sum[0] / (double)*(const size_t *)ctx;
}

static json_t *prf_object(const rouge_prf *v)
{
    json_t *o = json_object();
    if (o && (tc_json_setnum(o, "precision", v->p) ||
              tc_json_setnum(o, "recall", v->r) ||
              tc_json_setnum(o, "fmeasure", v->f))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int rouge_run(void *state, assay_io *io, assay_error *err)
{
    rouge_state *s = state;
    const assay_host *h = s->host;
    tc_items it;
    rouge_prf *scores = NULL;
    rouge_worker *workers = NULL;
    double *fs = NULL;
    json_t *summary = NULL, *items = NULL;
    size_t ntypes = (size_t)s->cfg.ntypes;
    int rc = tc_items_read(h, io, "items", s->common.hyp_field,
                           s->common.refs_field, true, &it, err);
    if (rc)
        return rc;
    unsigned nt = tc_threads_for(h, it.n);
    scores = calloc((it.n ? it.n : 1) * ntypes, sizeof *scores);
    workers = calloc(nt, sizeof *workers);
    if (!scores || !workers) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto cleanup;
    }
    rouge_job job = {s, &it, scores, workers};
    if ((rc = tc_map_items(h, it.n, nt, rouge_range, &job, err)))
        goto cleanup;
    if (!(summary = json_object())) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto cleanup;
    }
    if (s->common.bootstrap > 0 && it.n > 0 &&
        !(fs = malloc(it.n * sizeof *fs))) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto cleanup;
    }
    for (size_t k = 0; k < ntypes; k++) {
        rouge_prf m = {0, 0, 0};
        for (size_t i = 0; i < it.n; i++) {
            m.p += scores[i * ntypes + k].p;
            m.r += scores[i * ntypes + k].r;
            m.f += scores[i * ntypes + k].f;
        }
        if (it.n) {
            m.p /= (double)it.n;
            m.r /= (double)it.n;
            m.f /= (double)it.n;
        }
        json_t *o = prf_object(&m);
        if (!o || tc_json_setnew(summary, s->cfg.types[k].name, o)) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto cleanup;
        }
        if (fs) {
            char label[64];
            double lo, hi, sd;
            for (size_t i = 0; i < it.n; i++)
                fs[i] = scores[i * ntypes + k].f;
            snprintf(label, sizeof label, "bootstrap:%s",
                     s->cfg.types[k].name);
            rc = tc_bootstrap(fs, it.n, 1, mean_stat, &it.n,
                              s->common.bootstrap, s->common.ci,
                              h->seed(h, label), nt, &lo, &hi, &sd, err);
            if (rc)
                goto cleanup;
            if (tc_bootstrap_put(o, s->common.ci, s->common.bootstrap, lo,
                                 hi, sd)) {
                rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
                goto cleanup;
            }
        }
    }
    if (tc_json_setint(summary, "n_items", (json_int_t)it.n) ||
        tc_json_setnew(summary, "use_stemmer", json_boolean(s->cfg.stem))) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto cleanup;
    }
    items = json_array();
    for (size_t i = 0; items && s->common.item_scores && i < it.n; i++) {
        json_t *o = json_object(), *id = tc_items_id(&it, i);
        bool bad = !o || (id && tc_json_setnew(o, "id", id));
        for (size_t k = 0; !bad && k < ntypes; k++)
            bad = tc_json_setnew(o, s->cfg.types[k].name,
                                 prf_object(&scores[i * ntypes + k])) != 0;
        if (bad || json_array_append_new(items, o)) {
            if (bad)
                json_decref(o);
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
        rouge_worker_free(&workers[t]);
    free(workers);
    free(scores);
    free(fs);
    tc_items_free(&it);
    return rc;
}

static const assay_plugin rouge_plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "metric.rouge",
    .kind = "metric",
    .version = "1.0.0",
    .summary = "ROUGE-N, ROUGE-L and ROUGE-Lsum, as Google's rouge-score",
    .doc =
        "Computes ROUGE precision, recall and F1 exactly as Google's "
        "rouge-score RougeScorer (checked against it on the golden set, "
        "with and without stemming): text is lowercased, every run of "
        "characters other than [a-z0-9] separates tokens (so non-ASCII "
        "letters vanish, as in rouge-score), and with use_stemmer tokens "
        "longer than 3 characters are Porter-stemmed (NLTK's variant).  "
        "rougeN: clipped n-gram overlap; rougeL: longest common "
        "subsequence; rougeLsum: lines separated by newlines, union LCS "
        "per reference line without double counting (ROUGE-1.5.5).  With "
        "several references an item takes, per type, the reference with "
        "the highest F1 (first on ties; rouge-score's score_multi).\n"
        "Input 'items': records with hyp_field (prediction) and "
        "refs_field (target: string or list), or a table.  Output "
        "'summary': per type {precision, recall, fmeasure} averaged over "
        "items (and ci of the mean F1 when bootstrap > 0), n_items, "
        "use_stemmer.  Output 'items': {id, <type>: {precision, recall, "
        "fmeasure}} per item.",
    .inputs = rouge_inputs,
    .outputs = rouge_outputs,
    .options = rouge_options,
    .flags = ASSAY_F_ALL_ITEMS | ASSAY_F_DETERMINISTIC,
    .create = rouge_create,
    .run = rouge_run,
    .destroy = rouge_destroy,
};

static const assay_plugin *const rouge_list[] = {&rouge_plugin, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi)
{
    (void)host_abi;
    return rouge_list;
}
