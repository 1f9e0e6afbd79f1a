/*
 * judge.metric-vote - pairwise verdicts from text metrics: each metric
 * compares the similarity of the two responses to their reference (for
 * RevisEval, the response-adapted one) and votes; the majority over the
 * metrics is the verdict (RevisEval, Table 3), with the judges'
 * reliability report.
 */
#include <assay/plugin.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jc_cce.h"
#include "jc_opts.h"
#include "jc_text.h"
#include "jc_verdict.h"

typedef struct mv_state {
    const assay_host *h;
    json_t *score_fields, *lower, *names;
    char *f_out1, *f_out2, *f_label, *f_id, *f_subset;
    double margin;
    jc_rel_opts rel;
} mv_state;

static const assay_port mv_inputs[] = {
    {.name = "items",
     .type = ASSAY_T_RECORDS,
     .required = true,
     .doc = "the pairs (gold label, subset, both responses)"},
    {.name = "first",
     .type = ASSAY_T_RECORDS,
     .required = true,
     .multi = true,
     .doc = "per-item metric records of output_1, one metric node each "
            "(a YAML list)"},
    {.name = "second",
     .type = ASSAY_T_RECORDS,
     .required = true,
     .multi = true,
     .doc = "per-item metric records of output_2, same metrics, same "
            "order"},
    {0}};

static const assay_port mv_outputs[] = {
    {.name = "verdicts",
     .type = ASSAY_T_RECORDS,
     .doc = "per pair: verdict, votes and scores of each metric",
     .chart = "table"},
    {.name = "reliability",
     .type = ASSAY_T_JSON,
     .doc = "accuracy with bootstrap CI (majority and per metric), per "
            "subset, length bias",
     .chart = "bar"},
    {0}};

static const assay_option mv_options[] = {
    {.name = "score_fields",
     .type = ASSAY_OPT_LIST,
     .def = "[\"score\"]",
     .doc = "field (dotted path) of each metric's per-item score, one per "
            "metric or one for all"},
    {.name = "lower_is_better",
     .type = ASSAY_OPT_LIST,
     .def = "[false]",
     .doc = "per metric (or one for all): true for distances such as TER"},
    {.name = "metric_names",
     .type = ASSAY_OPT_LIST,
     .doc = "names of the metrics for the report (default metric_1, ...)"},
    {.name = "tie_margin",
     .type = ASSAY_OPT_FLOAT,
     .def = "0",
     .has_min = true,
     .min = 0,
     .doc = "a metric votes tie when the two scores differ by at most this"},
    {.name = "output_1_field",
     .type = ASSAY_OPT_STRING,
     .def = "\"output_1\"",
     .doc = "item field with the first response"},
    {.name = "output_2_field",
     .type = ASSAY_OPT_STRING,
     .def = "\"output_2\"",
     .doc = "item field with the second response"},
    {.name = "label_field",
     .type = ASSAY_OPT_STRING,
     .def = "\"label\"",
     .doc = "item field with the gold winner (1/2, A/B, tie)"},
    {.name = "id_field",
     .type = ASSAY_OPT_STRING,
     .def = "\"id\"",
     .doc = "item field copied into the verdicts when present"},
    JC_OPT_RELIABILITY,
    {0}};

static void mv_destroy(void *state)
{
    mv_state *s = state;
    if (!s)
        return;
    json_decref(s->score_fields);
    json_decref(s->lower);
    json_decref(s->names);
    free(s->f_out1);
    free(s->f_out2);
    free(s->f_label);
    free(s->f_id);
    free(s->f_subset);
    free(s);
}

static int mv_create(const assay_host *h, const json_t *o, void **state,
                     assay_error *err)
{
    mv_state *s = calloc(1, sizeof *s);
    if (!s)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    s->h = h;
    s->score_fields = json_deep_copy(json_object_get(o, "score_fields"));
    s->lower = json_deep_copy(json_object_get(o, "lower_is_better"));
    const json_t *nm = json_object_get(o, "metric_names");
    s->names = json_is_array(nm) ? json_deep_copy(nm) : json_array();
    s->f_out1 = jc_strdup(assay_opt_str(o, "output_1_field"));
    s->f_out2 = jc_strdup(assay_opt_str(o, "output_2_field"));
    s->f_label = jc_strdup(assay_opt_str(o, "label_field"));
    s->f_id = jc_strdup(assay_opt_str(o, "id_field"));
    s->f_subset = jc_strdup(assay_opt_str(o, "subset_field"));
    s->margin = assay_opt_num(o, "tie_margin");
    jc_rel_opts_get(h, o, &s->rel);
    if (!s->score_fields || !s->lower || !s->names || !s->f_out1 ||
        !s->f_out2 || !s->f_label || !s->f_id || !s->f_subset) {
        mv_destroy(s);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < json_array_size(s->score_fields); i++)
        if (!json_is_string(json_array_get(s->score_fields, i))) {
            mv_destroy(s);
            return assay_error_set(err, ASSAY_EINVAL,
                                   "score_fields[%zu]: expected a string", i);
        }
    for (size_t i = 0; i < json_array_size(s->lower); i++)
        if (!json_is_boolean(json_array_get(s->lower, i))) {
            mv_destroy(s);
            return assay_error_set(err, ASSAY_EINVAL,
                                   "lower_is_better[%zu]: expected true or "
                                   "false",
                                   i);
        }
    *state = s;
    return ASSAY_OK;
}

/* Option list entry `m` (or the only entry when the list has one). */
static const json_t *mv_per_metric(const json_t *list, size_t m)
{
    return json_array_size(list) == 1 ? json_array_get(list, 0)
                                      : json_array_get(list, m);
}

/* Number at dotted path `path` of record `rec`, NAN when absent/null. */
static double mv_score(const json_t *rec, const char *path)
{
    char part[128];
    const json_t *v = rec;
    while (v && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof part)
            return NAN;
        memcpy(part, path, n);
        part[n] = '\0';
        v = json_object_get(v, part);
        path += n + (dot ? 1 : 0);
    }
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static json_t *num(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

static int mv_run(void *state, assay_io *io, assay_error *err)
{
    mv_state *s = state;
    const assay_host *h = s->h;
    const json_t *items = h->in_records(io, "items");
    const json_t *first = h->in_records(io, "first");
    const json_t *second = h->in_records(io, "second");
    size_t n = json_array_size(items), m, i, k;
    jc_rel_item *rel = NULL;
    int *votes = NULL;
    size_t *mcorrect = NULL;
    json_t *out = NULL, *report = NULL;
    bool put_ok = true;
    int rc = ASSAY_OK;
    if (n == 0 || json_array_size(first) % n ||
        json_array_size(second) != json_array_size(first) ||
        json_array_size(first) == 0)
        return assay_error_set(err, ASSAY_EDATA,
                               "first has %zu records and second %zu: each "
                               "must hold one record per item (%zu items) "
                               "for every metric",
                               json_array_size(first), json_array_size(second),
                               n);
    m = json_array_size(first) / n;
    if ((json_array_size(s->score_fields) != 1 &&
         json_array_size(s->score_fields) != m) ||
        (json_array_size(s->lower) != 1 && json_array_size(s->lower) != m) ||
        (json_array_size(s->names) && json_array_size(s->names) != m))
        return assay_error_set(err, ASSAY_EINVAL,
                               "%zu metrics connected: score_fields, "
                               "lower_is_better and metric_names need one "
                               "entry each (or one for all)",
                               m);
    rel = calloc(n, sizeof *rel);
    votes = calloc(m, sizeof *votes);
    mcorrect = calloc(m, sizeof *mcorrect);
    out = json_array();
    if (!rel || !votes || !mcorrect || !out) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    size_t ngold = 0;
    for (i = 0; i < n; i++) {
        const json_t *rec = json_array_get(items, i);
        const char *o1, *o2, *subset;
        int gold;
        if ((rc = assay_rec_str(rec, i, s->f_out1, &o1, err)) ||
            (rc = assay_rec_str(rec, i, s->f_out2, &o2, err)) ||
            (rc = jc_gold_label(rec, i, s->f_label, &gold, err)) ||
            (rc = jc_rec_opt_str(rec, i, s->f_subset, &subset, err)))
            goto done;
        json_t *v = json_object(), *vv = json_object(), *s1 = json_array(),
               *s2 = json_array();
        if (!v || !vv || !s1 || !s2 ||
            jc_verdict_base(h, v, rec, i, s->f_id, s->f_subset)) {
            json_decref(v);
            json_decref(vv);
            json_decref(s1);
            json_decref(s2);
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto done;
        }
        put_ok &= jc_put(v, "votes", vv);
        put_ok &= jc_put(v, "scores_1", s1);
        put_ok &= jc_put(v, "scores_2", s2);
        ngold += gold != JC_V_NONE;
        for (k = 0; k < m; k++) {
            const char *path =
                json_string_value(mv_per_metric(s->score_fields, k));
            bool lower = json_is_true(mv_per_metric(s->lower, k));
            double a = mv_score(json_array_get(first, k * n + i), path);
            double b = mv_score(json_array_get(second, k * n + i), path);
            int vote = JC_V_NONE;
            if (isfinite(a) && isfinite(b)) {
                double d = lower ? b - a : a - b;
                vote = fabs(d) <= s->margin ? JC_V_TIE
                       : d > 0              ? JC_V_A
                                            : JC_V_B;
            }
            votes[k] = vote;
            if (gold != JC_V_NONE && vote == gold)
                mcorrect[k]++;
            char name[64];
            const char *nm = json_string_value(json_array_get(s->names, k));
            if (!nm) {
                snprintf(name, sizeof name, "metric_%zu", k + 1);
                nm = name;
            }
            const char *vn = jc_verdict_name(vote);
            put_ok &= jc_put(vv, nm, vn ? json_string(vn) : json_null());
            put_ok &= !json_array_append_new(s1, num(a));
            put_ok &= !json_array_append_new(s2, num(b));
        }
        int verdict = jc_majority(votes, m);
        const char *vn = jc_verdict_name(verdict), *gn = jc_verdict_name(gold);
        put_ok &= jc_put(v, "verdict", vn ? json_string(vn) : json_null());
        put_ok &= jc_put(v, "status",
                         json_string(verdict == JC_V_NONE ? "invalid" : "ok"));
        put_ok &= jc_put(v, "gold", gn ? json_string(gn) : json_null());
        put_ok &= jc_put(v, "correct",
                         gold == JC_V_NONE ? json_null()
                                           : json_boolean(verdict == gold));
        if (json_array_append_new(out, v)) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto done;
        }
        rel[i] = (jc_rel_item){.gold = gold,
                               .verdict = verdict,
                               .len1 = jc_utf8_len(o1),
                               .len2 = jc_utf8_len(o2),
                               .subset = subset};
    }
    jc_rel_counts counts = {0};
    report = jc_reliability(rel, n, &counts, &s->rel);
    json_t *per = json_array();
    if (!report || !per) {
        json_decref(per);
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    for (k = 0; k < m; k++) {
        char name[64];
        const char *nm = json_string_value(json_array_get(s->names, k));
        if (!nm) {
            snprintf(name, sizeof name, "metric_%zu", k + 1);
            nm = name;
        }
        put_ok &= !json_array_append_new(
            per,
            json_pack("{s:s, s:o}", "name", nm, "accuracy",
                      ngold ? json_real((double)mcorrect[k] / (double)ngold)
                            : json_null()));
    }
    put_ok &= jc_put(report, "metrics", per);
    put_ok &= jc_put(report, "judge", json_string(h->node_name(h)));
    if (!put_ok) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    rc = h->out_records(io, "verdicts", out, err);
    out = NULL;
    if (rc == 0)
        rc = h->out_json(io, "reliability", report, err);
    else
        json_decref(report);
    report = NULL;
done:
    free(rel);
    free(votes);
    free(mcorrect);
    json_decref(out);
    json_decref(report);
    return rc;
}

static const assay_plugin mv_plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "judge.metric-vote",
    .kind = "judge",
    .version = "1.0.0",
    .summary = "Pairwise verdicts by majority vote over text metrics "
               "(RevisEval's metric route), with a reliability report",
    .doc = "Turns per-item metric scores into pairwise verdicts.  Connect, "
           "for each metric, the per-item output (`items` port of metric.bleu, "
           "metric.rouge, metric.chrf, metric.ter ...) scoring output_1 "
           "against its reference to `first` and the one scoring output_2 to "
           "`second`, in the same order (YAML lists).  For RevisEval the "
           "reference is the response-adapted one from reviser.reviseval "
           "(refs_field: revised; with revise: both, each response against "
           "its own revision, revised_1 / revised_2).\n"
           "Per item and metric: the response whose score is higher (lower "
           "with lower_is_better) gets the vote, a tie when the scores differ "
           "by at most tie_margin, no vote when a score is missing.  The "
           "verdict is the majority over the metrics (a split is a tie; no "
           "vote at all: invalid), as the 'majority vote' row of RevisEval's "
           "Table 3.\n"
           "score_fields gives each metric's per-item score as a dotted path "
           "(score for BLEU, chrF and TER; rougeL.fmeasure for ROUGE).  "
           "Output verdicts: {index, judge, id, subset, verdict, status, gold, "
           "correct, votes {metric: A/B/tie}, scores_1, scores_2}.  Output "
           "reliability: judge.pairwise's report (accuracy with bootstrap CI, "
           "per subset, length bias) plus metrics: [{name, accuracy}] for "
           "each metric alone.",
    .inputs = mv_inputs,
    .outputs = mv_outputs,
    .options = mv_options,
    .flags = ASSAY_F_ALL_ITEMS | ASSAY_F_DETERMINISTIC,
    .create = mv_create,
    .run = mv_run,
    .destroy = mv_destroy,
};

static const assay_plugin *const mv_list[] = {&mv_plugin, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi)
{
    (void)host_abi;
    return mv_list;
}
