/*
 * judge.pointwise - an LLM judge rates one response on an integer scale
 * (MT-Bench single-answer layout, default 1-10), optionally against a
 * reference answer.  In pair mode it rates both responses of a pair and
 * the higher rating wins, so rubric scoring can be compared with pairwise
 * judges on the same gold labels.
 */
#include <assay/plugin.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jc_opts.h"
#include "jc_text.h"
#include "jc_verdict.h"
#include "pointwise_tpl.h"

#define PT_EST_COMPLETION 512

typedef struct pt_state {
    const assay_host *h;
    char *endpoint;
    const char *endpoint_opt; /* the options' string, for estimate() */
    json_t *params;
    jc_prompt prompt;
    char *repair;
    char *f_input, *f_output, *f_out1, *f_out2, *f_ref, *f_ref2, *f_gold;
    char *f_label, *f_id, *f_subset, *rubric;
    bool pair, on_error_record;
    long lo, hi;
    unsigned samples, max_repairs;
    jc_rel_opts rel;
} pt_state;

static const assay_port pt_inputs[] = {
    {.name = "items",
     .type = ASSAY_T_RECORDS,
     .required = true,
     .doc = "responses to rate (single) or pairs (pair mode)"},
    {0}};

static const assay_port pt_outputs[] = {
    {.name = "verdicts",
     .type = ASSAY_T_RECORDS,
     .doc = "per item: score (or score_1, score_2 and verdict), status, "
            "samples with raw answers",
     .chart = "table"},
    {.name = "reliability",
     .type = ASSAY_T_JSON,
     .doc = "against gold: correlations (single) or accuracy (pair), "
            "invalid rate, per subset",
     .chart = "bar"},
    {.name = "info",
     .type = ASSAY_T_JSON,
     .doc = "endpoint description (no key), requests, tokens"},
    {0}};

static const assay_option pt_options[] = {
    JC_OPT_LLM,
    JC_OPT_PARAMS,
    {.name = "template",
     .type = ASSAY_OPT_STRING,
     .doc = "prompt template text overriding the built-in one (see doc)"},
    {.name = "template_file",
     .type = ASSAY_OPT_STRING,
     .doc = "file holding the prompt template (relative to the YAML)"},
    {.name = "mode",
     .type = ASSAY_OPT_ENUM,
     .def = "\"single\"",
     .choices = "single|pair",
     .doc = "rate output_field, or rate both responses of a pair and "
            "compare"},
    {.name = "scale_min",
     .type = ASSAY_OPT_INT,
     .def = "1",
     .has_min = true,
     .min = -1000,
     .has_max = true,
     .max = 1000,
     .doc = "lowest rating"},
    {.name = "scale_max",
     .type = ASSAY_OPT_INT,
     .def = "10",
     .has_min = true,
     .min = -1000,
     .has_max = true,
     .max = 1000,
     .doc = "highest rating"},
    {.name = "rubric",
     .type = ASSAY_OPT_STRING,
     .doc = "criteria sentence for the prompt (default: the general "
            "helpfulness criteria)"},
    {.name = "input_field",
     .type = ASSAY_OPT_STRING,
     .def = "\"input\"",
     .doc = "item field with the instruction"},
    {.name = "output_field",
     .type = ASSAY_OPT_STRING,
     .def = "\"output\"",
     .doc = "single mode: item field with the response"},
    {.name = "output_1_field",
     .type = ASSAY_OPT_STRING,
     .def = "\"output_1\"",
     .doc = "pair mode: the first response"},
    {.name = "output_2_field",
     .type = ASSAY_OPT_STRING,
     .def = "\"output_2\"",
     .doc = "pair mode: the second response"},
    {.name = "reference_field",
     .type = ASSAY_OPT_STRING,
     .doc = "item field with a reference answer; unset: reference-free"},
    {.name = "reference_2_field",
     .type = ASSAY_OPT_STRING,
     .doc = "pair mode: reference for the second response (default: "
            "reference_field), e.g. each response's own revision"},
    {.name = "gold_field",
     .type = ASSAY_OPT_STRING,
     .doc = "single mode: item field with a human rating (number)"},
    {.name = "label_field",
     .type = ASSAY_OPT_STRING,
     .def = "\"label\"",
     .doc = "pair mode: item field with the gold winner (1/2, A/B, tie)"},
    {.name = "id_field",
     .type = ASSAY_OPT_STRING,
     .def = "\"id\"",
     .doc = "item field copied into the verdicts when present"},
    {.name = "samples",
     .type = ASSAY_OPT_INT,
     .def = "1",
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 64,
     .doc = "ratings per response, averaged (set a temperature in params)"},
    JC_OPT_MAX_REPAIRS,
    JC_OPT_ON_ERROR,
    JC_OPT_RELIABILITY,
    {0}};

static void pt_destroy(void *state)
{
    pt_state *s = state;
    if (!s)
        return;
    free(s->endpoint);
    json_decref(s->params);
    jc_prompt_free(&s->prompt);
    free(s->repair);
    free(s->f_input);
    free(s->f_output);
    free(s->f_out1);
    free(s->f_out2);
    free(s->f_ref);
    free(s->f_ref2);
    free(s->f_gold);
    free(s->f_label);
    free(s->f_id);
    free(s->f_subset);
    free(s->rubric);
    free(s);
}

static int pt_create(const assay_host *h, const json_t *o, void **state,
                     assay_error *err)
{
    pt_state *s = calloc(1, sizeof *s);
    int rc;
    if (!s)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    s->h = h;
    s->endpoint_opt = assay_opt_str(o, "llm");
    if (!jc_opt_strdup(o, "llm", &s->endpoint) ||
        !jc_opt_strdup(o, "input_field", &s->f_input) ||
        !jc_opt_strdup(o, "output_field", &s->f_output) ||
        !jc_opt_strdup(o, "output_1_field", &s->f_out1) ||
        !jc_opt_strdup(o, "output_2_field", &s->f_out2) ||
        !jc_opt_strdup(o, "reference_field", &s->f_ref) ||
        !jc_opt_strdup(o, "reference_2_field", &s->f_ref2) ||
        !jc_opt_strdup(o, "gold_field", &s->f_gold) ||
        !jc_opt_strdup(o, "label_field", &s->f_label) ||
        !jc_opt_strdup(o, "id_field", &s->f_id) ||
        !jc_opt_strdup(o, "subset_field", &s->f_subset) ||
        !jc_opt_strdup(o, "rubric", &s->rubric)) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto fail;
    }
    if (!s->f_ref2 && s->f_ref && !(s->f_ref2 = jc_strdup(s->f_ref))) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto fail;
    }
    s->pair = !strcmp(assay_opt_str(o, "mode"), "pair");
    s->lo = (long)assay_opt_int(o, "scale_min");
    s->hi = (long)assay_opt_int(o, "scale_max");
    if (s->lo >= s->hi) {
        rc = assay_error_set(err, ASSAY_EINVAL,
                             "scale_min (%ld) must be below scale_max (%ld)",
                             s->lo, s->hi);
        goto fail;
    }
    s->samples = (unsigned)assay_opt_int(o, "samples");
    s->max_repairs = (unsigned)assay_opt_int(o, "max_repairs");
    s->on_error_record = !strcmp(assay_opt_str(o, "on_error"), "record");
    jc_rel_opts_get(h, o, &s->rel);
    json_t *p = json_object_get(o, "params");
    if (json_is_object(p) && !(s->params = json_deep_copy(p))) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto fail;
    }
    rc = jc_prompt_option(h, o, "template", "template_file",
                          JUDGE_TPL_POINTWISE, &s->prompt, err);
    if (rc)
        goto fail;
    if (s->prompt.repair && s->max_repairs) {
        json_t *ctx = json_pack("{s:I, s:I}", "scale_min", (json_int_t)s->lo,
                                "scale_max", (json_int_t)s->hi);
        rc = ctx ? jc_tpl_render(s->prompt.repair, ctx, 0, &s->repair, err)
                 : assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        json_decref(ctx);
        if (rc) {
            assay_error_prefix(err, "repair message: ");
            goto fail;
        }
    } else {
        s->max_repairs = 0;
    }
    *state = s;
    return ASSAY_OK;
fail:
    pt_destroy(s);
    return rc;
}

/* The fields of one item; resp[1]/ref[1] only in pair mode. */
typedef struct pt_item {
    const char *input, *resp[2], *ref[2], *subset;
    int gold;          /* pair mode */
    double gold_score; /* single mode; NAN: none */
    bool no_ref;
} pt_item;

static unsigned pt_nresp(const pt_state *s)
{
    return s->pair ? 2 : 1;
}

static int pt_read_item(const pt_state *s, const json_t *rec, size_t i,
                        pt_item *it, assay_error *err)
{
    int rc;
    memset(it, 0, sizeof *it);
    it->gold_score = NAN;
    if ((rc = assay_rec_str(rec, i, s->f_input, &it->input, err)) ||
        (rc = jc_rec_opt_str(rec, i, s->f_subset, &it->subset, err)))
        return rc;
    if (s->pair) {
        if ((rc = assay_rec_str(rec, i, s->f_out1, &it->resp[0], err)) ||
            (rc = assay_rec_str(rec, i, s->f_out2, &it->resp[1], err)) ||
            (rc = jc_gold_label(rec, i, s->f_label, &it->gold, err)))
            return rc;
    } else {
        if ((rc = assay_rec_str(rec, i, s->f_output, &it->resp[0], err)))
            return rc;
        const json_t *g = s->f_gold ? json_object_get(rec, s->f_gold) : NULL;
        if (g && !json_is_null(g) &&
            (rc = assay_rec_num(rec, i, s->f_gold, &it->gold_score, err)))
            return rc;
    }
    for (unsigned k = 0; s->f_ref && k < pt_nresp(s); k++) {
        const char *f = k ? s->f_ref2 : s->f_ref;
        if ((rc = jc_rec_opt_str(rec, i, f, &it->ref[k], err)))
            return rc;
        if (!it->ref[k]) {
            if (!s->on_error_record)
                return assay_error_set(err, ASSAY_EDATA,
                                       "record %zu: missing field '%s' "
                                       "(the reference answer)",
                                       i, f);
            it->no_ref = true;
        }
    }
    return ASSAY_OK;
}

static int pt_render(const pt_state *s, const json_t *rec, size_t i,
                     const pt_item *it, unsigned k, char **sys, char **usr,
                     assay_error *err)
{
    const char *kv[] = {"question",  it->input,   "answer",
                        it->resp[k], "reference", it->ref[k],
                        "rubric",    s->rubric,   NULL};
    json_t *ctx = jc_context(rec, kv);
    if (!ctx || json_object_set_new(ctx, "scale_min", json_integer(s->lo)) ||
        json_object_set_new(ctx, "scale_max", json_integer(s->hi))) {
        json_decref(ctx);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    int rc = jc_prompt_render(&s->prompt, ctx, i, sys, usr, err);
    json_decref(ctx);
    return rc;
}

static int pt_estimate(void *state, assay_io *io, assay_estimate *est,
                       assay_error *err)
{
    pt_state *s = state;
    uint64_t per_item =
        (uint64_t)pt_nresp(s) * s->samples * (1 + s->max_repairs);
    const json_t *recs = jc_estimate_items(s->h, io, "items", per_item);
    uint64_t chars = 0;
    est->endpoint = s->endpoint_opt;
    if (!recs)
        return ASSAY_OK;
    size_t n = json_array_size(recs);
    for (size_t i = 0; i < n; i++) {
        const json_t *rec = json_array_get(recs, i);
        pt_item it;
        int rc = pt_read_item(s, rec, i, &it, err);
        if (rc)
            return rc;
        for (unsigned k = 0; !it.no_ref && k < pt_nresp(s); k++) {
            char *sys, *usr;
            if ((rc = pt_render(s, rec, i, &it, k, &sys, &usr, err)))
                return rc;
            chars += (strlen(usr) + (sys ? strlen(sys) : 0)) * s->samples *
                     (1 + s->max_repairs);
            free(sys);
            free(usr);
        }
    }
    jc_estimate_fill(est, s->endpoint_opt, per_item * n, chars, s->params,
                     PT_EST_COMPLETION);
    return ASSAY_OK;
}

static int pt_done(void *ud, jc_runner *r, jc_call *c, assay_error *err)
{
    const pt_state *s = ud;
    (void)r;
    jc_call_drop_prompts(c);
    if (c->status == JC_S_FAILED && !s->on_error_record)
        return assay_error_set(err, jc_failure_code(c->error),
                               "record %zu: %s (set on_error: record to "
                               "keep going)",
                               c->item, c->error);
    return ASSAY_OK;
}

/* The samples of one response: mean score (NAN: none valid), JSON. */
static json_t *pt_samples_json(const pt_state *s, const jc_call *c,
                               double *mean, bool *failed)
{
    json_t *arr = json_array();
    double sum = 0;
    unsigned nv = 0;
    bool put_ok = true;
    *failed = false;
    for (unsigned k = 0; arr && k < s->samples; k++) {
        const jc_call *x = &c[k];
        json_t *raws = jc_call_raws(x);
        json_t *o = json_pack(
            "{s:o, s:s, s:o, s:I}", "score",
            x->status == JC_S_OK ? json_integer(x->score) : json_null(),
            "status", jc_status_name(x->status), "answers",
            raws ? raws : json_null(), "repairs", (json_int_t)x->repairs);
        if (!raws || !o || json_array_append_new(arr, o)) {
            json_decref(arr);
            return NULL;
        }
        if (x->status == JC_S_INVALID)
            put_ok &= jc_put(o, "why", json_string(jc_why_name(x->why)));
        if (x->status == JC_S_FAILED)
            put_ok &= jc_put(o, "error", json_string(x->error));
        *failed |= x->status == JC_S_FAILED;
        if (x->status == JC_S_OK) {
            sum += (double)x->score;
            nv++;
        }
    }
    *mean = nv && !*failed ? sum / nv : NAN;
    if (!put_ok) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

static json_t *num_or_null(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

static int pt_run_node(void *state, assay_io *io, assay_error *err)
{
    pt_state *s = state;
    const assay_host *h = s->h;
    const json_t *recs = h->in_records(io, "items");
    size_t n = json_array_size(recs), per = pt_nresp(s) * s->samples;
    size_t ncalls = n * per, i;
    pt_item *items = calloc(n ? n : 1, sizeof *items);
    jc_call *calls = calloc(ncalls ? ncalls : 1, sizeof *calls);
    jc_rel_item *rel = calloc(n ? n : 1, sizeof *rel);
    double *score = calloc(n ? n : 1, sizeof *score);
    double *gold = calloc(n ? n : 1, sizeof *gold);
    bool *valid = calloc(n ? n : 1, sizeof *valid);
    bool *failed = calloc(n ? n : 1, sizeof *failed);
    const char **subset = calloc(n ? n : 1, sizeof *subset);
    json_t *out = json_array(), *report = NULL, *info = NULL;
    jc_runner r;
    int rc = ASSAY_OK;
    jc_runner_init(&r, h, s->endpoint, s->params, pt_done, s);
    if (!items || !calls || !rel || !score || !gold || !valid || !failed ||
        !subset || !out) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    for (i = 0; i < n; i++) {
        const json_t *rec = json_array_get(recs, i);
        if ((rc = pt_read_item(s, rec, i, &items[i], err)))
            goto done;
        for (unsigned k = 0; !items[i].no_ref && k < pt_nresp(s); k++) {
            char *sys, *usr;
            if ((rc = pt_render(s, rec, i, &items[i], k, &sys, &usr, err)))
                goto done;
            for (unsigned j = 0; j < s->samples; j++) {
                jc_call *c = &calls[i * per + k * s->samples + j];
                bool last = j + 1 == s->samples;
                c->system = last ? sys : jc_strdup(sys);
                c->user = last ? usr : jc_strdup(usr);
                if ((sys && !c->system) || !c->user) {
                    if (!last) {
                        free(sys);
                        free(usr);
                    }
                    rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
                    goto done;
                }
                c->parse = JC_PARSE_SCORE;
                c->lo = s->lo;
                c->hi = s->hi;
                c->repair = s->repair;
                c->max_repairs = s->max_repairs;
                c->sample = j;
                c->item = i;
                if ((rc = jc_runner_add(&r, c, err)))
                    goto done;
            }
        }
    }
    if ((rc = jc_runner_run(&r, err)))
        goto done;
    if (h->cancelled(h)) {
        rc = assay_error_set(err, ASSAY_ECANCELED, "cancelled");
        goto done;
    }
    for (i = 0; i < n; i++) {
        const json_t *rec = json_array_get(recs, i);
        const pt_item *it = &items[i];
        json_t *v = json_object();
        double sc[2] = {NAN, NAN};
        bool f = it->no_ref, put_ok = true;
        if (!v || jc_verdict_base(h, v, rec, i, s->f_id, s->f_subset)) {
            json_decref(v);
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto done;
        }
        for (unsigned k = 0; k < pt_nresp(s); k++) {
            bool fk = false;
            json_t *smp =
                it->no_ref
                    ? json_array()
                    : pt_samples_json(s, &calls[i * per + k * s->samples],
                                      &sc[k], &fk);
            f |= fk;
            const char *key = !s->pair ? "samples"
                              : k      ? "samples_2"
                                       : "samples_1";
            if (!smp || json_object_set_new(v, key, smp)) {
                json_decref(v);
                rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
                goto done;
            }
        }
        bool ok = !f && isfinite(sc[0]) && (!s->pair || isfinite(sc[1]));
        put_ok &= jc_put(v, "status",
                         json_string(f    ? "failed"
                                     : ok ? "ok"
                                          : "invalid"));
        if (s->pair) {
            int verdict = !ok             ? JC_V_NONE
                          : sc[0] > sc[1] ? JC_V_A
                          : sc[1] > sc[0] ? JC_V_B
                                          : JC_V_TIE;
            const char *vn = jc_verdict_name(verdict),
                       *gn = jc_verdict_name(it->gold);
            put_ok &= jc_put(v, "score_1", num_or_null(f ? NAN : sc[0]));
            put_ok &= jc_put(v, "score_2", num_or_null(f ? NAN : sc[1]));
            put_ok &= jc_put(v, "verdict", vn ? json_string(vn) : json_null());
            put_ok &= jc_put(v, "gold", gn ? json_string(gn) : json_null());
            put_ok &= jc_put(v, "correct",
                             it->gold == JC_V_NONE
                                 ? json_null()
                                 : json_boolean(verdict != JC_V_NONE &&
                                                verdict == it->gold));
            rel[i] = (jc_rel_item){.gold = it->gold,
                                   .verdict = verdict,
                                   .failed = f,
                                   .len1 = jc_utf8_len(it->resp[0]),
                                   .len2 = jc_utf8_len(it->resp[1]),
                                   .subset = it->subset};
        } else {
            put_ok &= jc_put(v, "score", num_or_null(f ? NAN : sc[0]));
            put_ok &= jc_put(v, "gold", num_or_null(it->gold_score));
            score[i] = sc[0];
            valid[i] = ok;
            failed[i] = f;
            gold[i] = it->gold_score;
            subset[i] = it->subset;
        }
        if (it->no_ref)
            put_ok &= jc_put(v, "error",
                             json_string("no reference answer (an "
                                         "upstream failure?)"));
        if (!put_ok || json_array_append_new(out, v)) {
            if (!put_ok)
                json_decref(v);
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto done;
        }
    }
    report = s->pair ? jc_reliability(rel, n, &r.counts[0], &s->rel)
                     : jc_reliability_scores(score, valid, failed, gold, subset,
                                             n, &r.counts[0], &s->rel);
    info = jc_info(h, s->endpoint, &r, n);
    if (!report || !info) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    if (!jc_put(report, "scale",
                json_pack("{s:I, s:I}", "min", (json_int_t)s->lo, "max",
                          (json_int_t)s->hi))) {
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
    if (rc == 0)
        rc = h->out_json(io, "info", info, err);
    else
        json_decref(info);
    info = NULL;
done:
    for (i = 0; calls && i < ncalls; i++)
        jc_call_clear(&calls[i]);
    free(calls);
    free(items);
    free(rel);
    free(score);
    free(gold);
    free(valid);
    free(failed);
    free(subset);
    json_decref(out);
    json_decref(report);
    json_decref(info);
    jc_runner_free(&r);
    return rc;
}

static const assay_plugin pt_plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "judge.pointwise",
    .kind = "judge",
    .version = "1.0.0",
    .summary = "LLM rubric rating of a response on an integer scale, with "
               "optional reference and a reliability report",
    .doc = "Asks the endpoint `llm` to rate a response to an instruction on "
           "the integer scale scale_min..scale_max (default 1-10), using the "
           "MT-Bench single-answer layout: a system message with the rubric "
           "and the rating format, a user message with [Question], an "
           "optional [Reference Answer] (reference_field: a human answer, or "
           "a response-adapted one from reviser.reviseval) and the answer "
           "between start/end markers.  The judge explains first and ends "
           "with 'Rating: [[n]]'.\n"
           "Parsing takes the LAST rating token ([[n]] or [[n/max]]; never a "
           "number elsewhere in the text); a fraction, a value off the scale "
           "or two different ratings on the final line are invalid.  An "
           "answer without a usable rating is re-asked up to max_repairs "
           "times with the repair message; then the item is `invalid` "
           "(counted and reported, never scored).  samples: k averages k "
           "ratings (give a temperature in params).\n"
           "mode: single rates output_field; verdicts: {index, judge, id, "
           "subset, score (mean rating or null), status, gold, samples: "
           "[{score, status, answers, repairs, why}]}; with gold_field (a "
           "human rating) the reliability report gives Pearson, Spearman "
           "(bootstrap CI), Kendall tau-b, exact agreement, within-one and "
           "mean absolute error, per subset.\n"
           "mode: pair rates output_1 and output_2 separately (each with its "
           "reference: reference_field, reference_2_field) and reports "
           "verdict A, B or tie (equal ratings) with score_1, score_2; its "
           "reliability report is judge.pairwise's (accuracy with bootstrap "
           "CI, per subset, invalid rate, length bias).\n"
           "Requests: items x responses x samples, plus repairs.  A failed "
           "request marks the item failed (on_error: record, the default) or "
           "fails the node (on_error: fail).\n"
           "Template: template/template_file as in judge.pairwise; fields "
           "question, answer, reference, rubric, scale_min, scale_max and "
           "every item field.\n\nDefault template "
           "(pointwise.txt):\n" JUDGE_TPL_POINTWISE,
    .inputs = pt_inputs,
    .outputs = pt_outputs,
    .options = pt_options,
    .flags = ASSAY_F_ALL_ITEMS | ASSAY_F_NEEDS_LLM,
    .create = pt_create,
    .run = pt_run_node,
    .destroy = pt_destroy,
    .estimate = pt_estimate,
};

static const assay_plugin *const pt_list[] = {&pt_plugin, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi)
{
    (void)host_abi;
    return pt_list;
}
