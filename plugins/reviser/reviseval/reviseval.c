/*
 * reviser.reviseval - RevisEval's response-adapted references (Zhang et
 * al., ICLR 2025): an LLM revises the response under evaluation so that
 * it follows the instruction better, and the revision becomes the
 * reference for a reference-based judge or for text metrics.
 */
#include <assay/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jc_opts.h"
#include "jc_text.h"
#include "reviseval_tpl.h"

#define RV_EST_COMPLETION 1024

enum { RV_SECOND = 0, RV_FIRST = 1, RV_BOTH = 2 };

typedef struct rv_state {
    const assay_host *h;
    char *endpoint;
    const char *endpoint_opt; /* the options' string, for estimate() */
    json_t *params;
    jc_prompt prompt;
    char *f_input, *f_output, *f_out1, *f_out2, *f_rubric, *rubric;
    char field[2][160], error_field[160];
    bool pair, show_other, on_error_record;
    int revise;
} rv_state;

static const assay_port rv_inputs[] = {
    {.name = "items",
     .type = ASSAY_T_RECORDS,
     .required = true,
     .doc = "instructions with the response(s) to revise"},
    {0}};

static const assay_port rv_outputs[] = {
    {.name = "items",
     .type = ASSAY_T_RECORDS,
     .doc = "the input items with the revised reference(s) added"},
    {.name = "info",
     .type = ASSAY_T_JSON,
     .doc = "endpoint description (no key), requests, tokens"},
    {0}};

static const assay_option rv_options[] = {
    {.name = "llm",
     .type = ASSAY_OPT_STRING,
     .required = true,
     .doc = "endpoint (name in the experiment's llm: section) that revises"},
    JC_OPT_PARAMS,
    {.name = "template",
     .type = ASSAY_OPT_STRING,
     .doc = "prompt template text overriding the built-in one (see doc)"},
    {.name = "template_file",
     .type = ASSAY_OPT_STRING,
     .doc = "file holding the prompt template (relative to the YAML)"},
    {.name = "mode",
     .type = ASSAY_OPT_ENUM,
     .def = "\"pair\"",
     .choices = "pair|single",
     .doc = "pairs (output_1, output_2) or single responses (output_field)"},
    {.name = "revise",
     .type = ASSAY_OPT_ENUM,
     .def = "\"second\"",
     .choices = "second|first|both",
     .doc = "pair mode: which response to revise (the released code "
            "revises the second); both: one revision each"},
    {.name = "show_other",
     .type = ASSAY_OPT_BOOL,
     .def = "true",
     .doc = "pair mode: show the other response as one to learn from"},
    {.name = "rubric",
     .type = ASSAY_OPT_STRING,
     .def = "\"the accuracy of its content and how precisely it carries "
            "out the instruction\"",
     .doc = "what the revision should focus on"},
    {.name = "rubric_field",
     .type = ASSAY_OPT_STRING,
     .doc = "item field with a per-item rubric (overrides rubric)"},
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
    {.name = "field",
     .type = ASSAY_OPT_STRING,
     .def = "\"revised\"",
     .doc = "output field; with revise: both, <field>_1 and <field>_2"},
    JC_OPT_ON_ERROR,
    {0}};

static void rv_destroy(void *state)
{
    rv_state *s = state;
    if (!s)
        return;
    free(s->endpoint);
    json_decref(s->params);
    jc_prompt_free(&s->prompt);
    free(s->f_input);
    free(s->f_output);
    free(s->f_out1);
    free(s->f_out2);
    free(s->f_rubric);
    free(s->rubric);
    free(s);
}

static int rv_create(const assay_host *h, const json_t *o, void **state,
                     assay_error *err)
{
    rv_state *s = calloc(1, sizeof *s);
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
        !jc_opt_strdup(o, "rubric_field", &s->f_rubric) ||
        !jc_opt_strdup(o, "rubric", &s->rubric)) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto fail;
    }
    s->pair = !strcmp(assay_opt_str(o, "mode"), "pair");
    const char *rev = assay_opt_str(o, "revise");
    s->revise = !strcmp(rev, "both")    ? RV_BOTH
                : !strcmp(rev, "first") ? RV_FIRST
                                        : RV_SECOND;
    s->show_other = assay_opt_bool(o, "show_other");
    s->on_error_record = !strcmp(assay_opt_str(o, "on_error"), "record");
    const char *f = assay_opt_str(o, "field");
    if (!f[0] || strlen(f) > 100) {
        rc = assay_error_set(err, ASSAY_EINVAL,
                             "field: expected a name of 1 to 100 bytes");
        goto fail;
    }
    if (s->pair && s->revise == RV_BOTH) {
        snprintf(s->field[0], sizeof s->field[0], "%s_1", f);
        snprintf(s->field[1], sizeof s->field[1], "%s_2", f);
    } else {
        snprintf(s->field[0], sizeof s->field[0], "%s", f);
    }
    snprintf(s->error_field, sizeof s->error_field, "%s_error", f);
    json_t *p = json_object_get(o, "params");
    if (json_is_object(p) && !(s->params = json_deep_copy(p))) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto fail;
    }
    rc = jc_prompt_option(h, o, "template", "template_file",
                          REVISER_TPL_REVISEVAL, &s->prompt, err);
    if (rc)
        goto fail;
    *state = s;
    return ASSAY_OK;
fail:
    rv_destroy(s);
    return rc;
}

/* Revisions per item. */
static unsigned rv_count(const rv_state *s)
{
    return s->pair && s->revise == RV_BOTH ? 2 : 1;
}

/* Which response revision `k` rewrites: 0 = output_1 (or the single
 * output), 1 = output_2. */
static int rv_target(const rv_state *s, unsigned k)
{
    if (!s->pair)
        return 0;
    if (s->revise == RV_BOTH)
        return (int)k;
    return s->revise == RV_FIRST ? 0 : 1;
}

static int rv_render(const rv_state *s, const json_t *rec, size_t i, unsigned k,
                     char **sys, char **usr, assay_error *err)
{
    const char *input, *resp[2] = {NULL, NULL}, *rubric = s->rubric;
    int rc;
    if ((rc = assay_rec_str(rec, i, s->f_input, &input, err)))
        return rc;
    if (s->pair) {
        if ((rc = assay_rec_str(rec, i, s->f_out1, &resp[0], err)) ||
            (rc = assay_rec_str(rec, i, s->f_out2, &resp[1], err)))
            return rc;
    } else if ((rc = assay_rec_str(rec, i, s->f_output, &resp[0], err))) {
        return rc;
    }
    if (s->f_rubric) {
        const char *r2;
        if ((rc = jc_rec_opt_str(rec, i, s->f_rubric, &r2, err)))
            return rc;
        if (r2)
            rubric = r2;
    }
    int t = rv_target(s, k);
    const char *kv[] = {
        "question", input,   "response",
        resp[t],    "other", s->pair && s->show_other ? resp[1 - t] : NULL,
        "rubric",   rubric,  NULL};
    json_t *ctx = jc_context(rec, kv);
    if (!ctx)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    rc = jc_prompt_render(&s->prompt, ctx, i, sys, usr, err);
    json_decref(ctx);
    return rc;
}

static int rv_estimate(void *state, assay_io *io, assay_estimate *est,
                       assay_error *err)
{
    rv_state *s = state;
    const json_t *recs = jc_estimate_items(s->h, io, "items", rv_count(s));
    uint64_t chars = 0;
    est->endpoint = s->endpoint_opt;
    if (!recs)
        return ASSAY_OK;
    size_t n = json_array_size(recs);
    for (size_t i = 0; i < n; i++)
        for (unsigned k = 0; k < rv_count(s); k++) {
            char *sys, *usr;
            int rc =
                rv_render(s, json_array_get(recs, i), i, k, &sys, &usr, err);
            if (rc)
                return rc;
            chars += strlen(usr) + (sys ? strlen(sys) : 0);
            free(sys);
            free(usr);
        }
    jc_estimate_fill(est, s->endpoint_opt, (uint64_t)n * rv_count(s), chars,
                     s->params, RV_EST_COMPLETION);
    return ASSAY_OK;
}

static int rv_done(void *ud, jc_runner *r, jc_call *c, assay_error *err)
{
    const rv_state *s = ud;
    (void)r;
    jc_call_drop_prompts(c);
    if (c->status == JC_S_FAILED && !s->on_error_record)
        return assay_error_set(err, jc_failure_code(c->error),
                               "record %zu: %s (set on_error: record to "
                               "keep going)",
                               c->item, c->error);
    return ASSAY_OK;
}

/* The revision text without leading and trailing blank space. */
static json_t *rv_text(const char *t)
{
    size_t a = 0, b = strlen(t);
    while (a < b &&
           (t[a] == ' ' || t[a] == '\n' || t[a] == '\r' || t[a] == '\t'))
        a++;
    while (b > a && (t[b - 1] == ' ' || t[b - 1] == '\n' || t[b - 1] == '\r' ||
                     t[b - 1] == '\t'))
        b--;
    return json_stringn(t + a, b - a);
}

static int rv_run(void *state, assay_io *io, assay_error *err)
{
    rv_state *s = state;
    const assay_host *h = s->h;
    const json_t *recs = h->in_records(io, "items");
    size_t n = json_array_size(recs), per = rv_count(s), i;
    jc_call *calls = calloc(n ? n * per : 1, sizeof *calls);
    json_t *out = json_array(), *info = NULL;
    uint64_t failed = 0;
    bool put_ok = true;
    jc_runner r;
    int rc = ASSAY_OK;
    jc_runner_init(&r, h, s->endpoint, s->params, rv_done, s);
    if (!calls || !out) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    for (i = 0; i < n; i++)
        for (unsigned k = 0; k < per; k++) {
            jc_call *c = &calls[i * per + k];
            if ((rc = rv_render(s, json_array_get(recs, i), i, k, &c->system,
                                &c->user, err)))
                goto done;
            c->parse = JC_PARSE_TEXT;
            c->item = i;
            if ((rc = jc_runner_add(&r, c, err)))
                goto done;
        }
    if ((rc = jc_runner_run(&r, err)))
        goto done;
    if (h->cancelled(h)) {
        rc = assay_error_set(err, ASSAY_ECANCELED, "cancelled");
        goto done;
    }
    for (i = 0; i < n; i++) {
        json_t *rec = json_copy(json_array_get(recs, i));
        json_t *errors = NULL;
        if (!rec) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto done;
        }
        for (unsigned k = 0; k < per; k++) {
            const jc_call *c = &calls[i * per + k];
            json_t *v =
                c->status == JC_S_OK ? rv_text(jc_call_text(c)) : json_null();
            if (c->status != JC_S_OK) {
                failed++;
                if (!errors && !(errors = json_object()))
                    put_ok = false;
                else
                    put_ok &=
                        jc_put(errors, s->field[k],
                               json_string(c->error ? c->error : "no answer"));
            }
            if (!v || json_object_set_new(rec, s->field[k], v)) {
                json_decref(rec);
                json_decref(errors);
                rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
                goto done;
            }
        }
        if (errors)
            put_ok &= jc_put(
                rec, s->error_field,
                per == 1 ? json_incref(json_object_get(errors, s->field[0]))
                         : json_incref(errors));
        json_decref(errors);
        if (json_array_append_new(out, rec)) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto done;
        }
    }
    if (failed)
        h->log(h, ASSAY_LOG_WARN,
               "%llu of %zu revisions failed (recorded in %s)",
               (unsigned long long)failed, n * per, s->error_field);
    info = jc_info(h, s->endpoint, &r, n);
    if (!info) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    put_ok &= jc_put(info, "revisions", json_integer((json_int_t)(n * per)));
    if (!put_ok) {
        json_decref(info);
        info = NULL;
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    rc = h->out_records(io, "items", out, err);
    out = NULL;
    if (rc == 0)
        rc = h->out_json(io, "info", info, err);
    else
        json_decref(info);
    info = NULL;
done:
    for (i = 0; calls && i < n * per; i++)
        jc_call_clear(&calls[i]);
    free(calls);
    json_decref(out);
    json_decref(info);
    jc_runner_free(&r);
    return rc;
}

static const assay_plugin rv_plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "reviser.reviseval",
    .kind = "reviser",
    .version = "1.0.0",
    .summary = "RevisEval: revise the response under evaluation into a "
               "response-adapted reference",
    .doc = "Implements the reviser of RevisEval (Zhang et al., \"RevisEval: "
           "Improving LLM-as-a-Judge via Response-Adapted References\", ICLR "
           "2025).  The endpoint `llm` rewrites the response under evaluation "
           "so that it follows the instruction better, focusing on `rubric` "
           "(default: accuracy and precise execution of the instruction), and "
           "returns it unchanged when it is already good; the revision r* is "
           "then the reference for judge.pairwise / judge.pointwise "
           "(reference_field: revised) or for the text metrics (metric.bleu, "
           "metric.rouge, metric.chrf ... with refs_field: revised, combined "
           "by judge.metric-vote).\n"
           "mode: pair (default) takes LLMBar-style pairs.  revise: second "
           "revises output_2 as the released code does, with output_1 shown "
           "as another response (not necessarily better) whose strengths to "
           "borrow and weaknesses to avoid (show_other); first revises "
           "output_1; both writes one revision per response (<field>_1, "
           "<field>_2), for per-response references.  mode: single revises "
           "output_field (NLG scoring).  One request per revision.\n"
           "Output items: the input items plus `<field>` (default revised; "
           "leading and trailing blank space removed).  A failed request "
           "leaves the field null (on_error: record, the default) with "
           "`<field>_error` saying why, or fails the node (on_error: fail); a "
           "judge downstream "
           "then records that item as failed.\n"
           "Template: template/template_file as in judge.pairwise; fields "
           "question, response, other (pair mode with show_other), rubric and "
           "every item field.\n\nDefault template "
           "(reviseval.txt):\n" REVISER_TPL_REVISEVAL,
    .inputs = rv_inputs,
    .outputs = rv_outputs,
    .options = rv_options,
    .flags = ASSAY_F_PER_ITEM | ASSAY_F_NEEDS_LLM,
    .create = rv_create,
    .run = rv_run,
    .destroy = rv_destroy,
    .estimate = rv_estimate,
};

static const assay_plugin *const rv_list[] = {&rv_plugin, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi)
{
    (void)host_abi;
    return rv_list;
}
