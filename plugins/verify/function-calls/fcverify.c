/*
 * verify.function-calls - ToolACE's dual-layer verification of
 * function-calling dialogs (rule layer + LLM checks), and BFCL-style AST
 * evaluation of a model's calls against ground truth.
 */
#include <assay/plugin.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consistency_tpl.h"
#include "fc_ast.h"
#include "fc_dialog.h"
#include "fc_rules.h"
#include "hallucination_tpl.h"
#include "jc_opts.h"
#include "jc_text.h"
#include "quality_tpl.h"
#include "syn_llm.h"
#include "tool_response_tpl.h"

enum { FV_HALLU = 0, FV_CONSIST, FV_TOOLRESP, FV_QUALITY, FV_NASPECT };

static const char *const fv_aspects[FV_NASPECT] = {
    "hallucination", "consistency", "tool_response", "quality"};
static const char *const fv_default_tpl[FV_NASPECT] = {
    VERIFY_TPL_HALLUCINATION, VERIFY_TPL_CONSISTENCY, VERIFY_TPL_TOOL_RESPONSE,
    VERIFY_TPL_QUALITY};

#define FV_EST_COMPLETION 120

typedef struct fv_state {
    const assay_host *h;
    bool bfcl;
    fc_rule_opts ro;
    bool skip[32]; /* per fc_rule_names index */
    /* model layer */
    char *endpoint;
    json_t *params;
    bool aspect_on[FV_NASPECT];
    jc_prompt prompt[FV_NASPECT];
    char *repair[FV_NASPECT];
    bool model_all, on_error_record;
    unsigned max_repairs;
    size_t transcript_chars;
    /* bfcl */
    fc_ast_opts ao;
    char *answer_field, *id_field, *category;
} fv_state;

static const assay_port fv_inputs[] = {
    {.name = "items",
     .type = ASSAY_T_RECORDS,
     .required = true,
     .doc = "dialogs (mode dialog) or BFCL questions {id, question, "
            "function} (mode bfcl)"},
    {.name = "answers",
     .type = ASSAY_T_RECORDS,
     .doc = "bfcl: model answers {id, <answer_field>} joined by id (else "
            "the answer is read from the item)"},
    {.name = "ground_truth",
     .type = ASSAY_T_RECORDS,
     .doc = "bfcl: BFCL possible answers {id, ground_truth} joined by id "
            "(else read from the item)"},
    {0}};

static const assay_port fv_outputs[] = {
    {.name = "items",
     .type = ASSAY_T_RECORDS,
     .doc = "dialog: each item with `verification` (passed, failed rules, "
            "model verdicts); bfcl: {id, category, correct, error, calls}"},
    {.name = "passed",
     .type = ASSAY_T_RECORDS,
     .doc = "dialog: the items that passed every check, unchanged (clean "
            "training data); bfcl: the correctly answered items"},
    {.name = "summary",
     .type = ASSAY_T_JSON,
     .doc = "pass rate and failures per rule and aspect (dialog); accuracy "
            "per category and overall (bfcl)",
     .chart = "table"},
    {0}};

static const assay_option fv_options[] = {
    {.name = "mode",
     .type = ASSAY_OPT_ENUM,
     .def = "\"dialog\"",
     .choices = "dialog|bfcl",
     .doc = "verify dialogs (rule + model layer) or evaluate answers "
            "BFCL-style"},
    {.name = "skip_rules",
     .type = ASSAY_OPT_LIST,
     .def = "[]",
     .doc = "rule names not to apply (see the doc for the list)"},
    {.name = "strict_types",
     .type = ASSAY_OPT_BOOL,
     .def = "false",
     .doc = "definitions may use only JSON Schema type names (not dict, "
            "float, tuple, any ...)"},
    {.name = "max_chars",
     .type = ASSAY_OPT_INT,
     .def = "8000",
     .has_min = true,
     .min = 1,
     .doc = "response_length: most characters in one message"},
    {.name = "mixed_ratio",
     .type = ASSAY_OPT_FLOAT,
     .def = "0.2",
     .has_min = true,
     .min = 0,
     .has_max = true,
     .max = 1,
     .doc = "mixed_language: share of a second script that fails a text"},
    {.name = "mixed_min",
     .type = ASSAY_OPT_INT,
     .def = "5",
     .has_min = true,
     .min = 1,
     .doc = "mixed_language: letters of the second script needed"},
    {.name = "llm",
     .type = ASSAY_OPT_STRING,
     .doc = "endpoint of the model layer (none: rule layer only)"},
    JC_OPT_PARAMS,
    {.name = "aspects",
     .type = ASSAY_OPT_LIST,
     .def = "[\"hallucination\", \"consistency\", \"tool_response\", "
            "\"quality\"]",
     .doc = "model-layer checks to run, one LLM request each"},
    {.name = "model_on_rule_failures",
     .type = ASSAY_OPT_BOOL,
     .def = "false",
     .doc = "also send dialogs that failed the rule layer to the model "
            "layer"},
    {.name = "templates",
     .type = ASSAY_OPT_OBJECT,
     .doc = "prompt template text per aspect, overriding the built-in "
            "ones"},
    {.name = "transcript_chars",
     .type = ASSAY_OPT_INT,
     .def = "2000",
     .has_min = true,
     .min = 16,
     .doc = "longer messages are cut in the model-layer prompts"},
    JC_OPT_MAX_REPAIRS,
    JC_OPT_ON_ERROR,
    {.name = "answer_field",
     .type = ASSAY_OPT_STRING,
     .def = "\"result\"",
     .doc = "bfcl: field holding the model's answer"},
    {.name = "id_field",
     .type = ASSAY_OPT_STRING,
     .def = "\"id\"",
     .doc = "field joining items, answers and ground truth (and copied "
            "into outputs)"},
    {.name = "category",
     .type = ASSAY_OPT_STRING,
     .doc = "bfcl: category of every item (default: from each id, e.g. "
            "parallel_multiple_12 -> parallel_multiple)"},
    {.name = "underscore_names",
     .type = ASSAY_OPT_BOOL,
     .def = "true",
     .doc = "bfcl: a called name matches with '.' read as '_'"},
    {0}};

static void fv_destroy(void *state)
{
    fv_state *s = state;
    if (!s)
        return;
    free(s->endpoint);
    json_decref(s->params);
    for (int a = 0; a < FV_NASPECT; a++) {
        jc_prompt_free(&s->prompt[a]);
        free(s->repair[a]);
    }
    free(s->answer_field);
    free(s->id_field);
    free(s->category);
    free(s);
}

static int rule_index(const char *name)
{
    for (int i = 0; fc_rule_names[i]; i++)
        if (!strcmp(fc_rule_names[i], name))
            return i;
    return -1;
}

static int fv_create(const assay_host *h, const json_t *o, void **state,
                     assay_error *err)
{
    fv_state *s = calloc(1, sizeof *s);
    int rc = ASSAY_OK;
    if (!s)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    s->h = h;
    s->bfcl = !strcmp(assay_opt_str(o, "mode"), "bfcl");
    s->ro.schema.strict_types = assay_opt_bool(o, "strict_types");
    s->ro.max_chars = (size_t)assay_opt_int(o, "max_chars");
    s->ro.mixed_ratio = assay_opt_num(o, "mixed_ratio");
    s->ro.mixed_min = (size_t)assay_opt_int(o, "mixed_min");
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(o, "skip_rules"), i, v)
    {
        int k = json_is_string(v) ? rule_index(json_string_value(v)) : -1;
        if (k < 0) {
            rc = assay_error_set(err, ASSAY_EINVAL,
                                 "skip_rules: item %zu is not a rule name "
                                 "(see assay plugins info "
                                 "verify.function-calls)",
                                 i);
            goto fail;
        }
        s->skip[k] = true;
    }
    s->model_all = assay_opt_bool(o, "model_on_rule_failures");
    s->on_error_record = !strcmp(assay_opt_str(o, "on_error"), "record");
    s->max_repairs = (unsigned)assay_opt_int(o, "max_repairs");
    s->transcript_chars = (size_t)assay_opt_int(o, "transcript_chars");
    s->ao.underscore_names = assay_opt_bool(o, "underscore_names");
    const char *ep = assay_opt_str(o, "llm");
    s->endpoint = ep ? jc_strdup(ep) : NULL;
    s->answer_field = jc_strdup(assay_opt_str(o, "answer_field"));
    s->id_field = jc_strdup(assay_opt_str(o, "id_field"));
    const char *cat = assay_opt_str(o, "category");
    s->category = cat ? jc_strdup(cat) : NULL;
    json_t *p = json_object_get(o, "params");
    s->params = json_is_object(p) ? json_deep_copy(p) : NULL;
    if ((ep && !s->endpoint) || !s->answer_field || !s->id_field ||
        (cat && !s->category) || (json_is_object(p) && !s->params)) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto fail;
    }
    json_array_foreach(json_object_get(o, "aspects"), i, v)
    {
        int k = -1;
        for (int a = 0; a < FV_NASPECT && json_is_string(v); a++)
            if (!strcmp(json_string_value(v), fv_aspects[a]))
                k = a;
        if (k < 0) {
            rc = assay_error_set(err, ASSAY_EINVAL,
                                 "aspects: item %zu: expected "
                                 "hallucination, consistency, "
                                 "tool_response or quality",
                                 i);
            goto fail;
        }
        s->aspect_on[k] = true;
    }
    const json_t *tpls = json_object_get(o, "templates");
    const char *k;
    json_object_foreach((json_t *)tpls, k, v)
    {
        int a = -1;
        for (int x = 0; x < FV_NASPECT; x++)
            if (!strcmp(k, fv_aspects[x]))
                a = x;
        if (a < 0 || !json_is_string(v)) {
            rc = assay_error_set(err, ASSAY_EINVAL,
                                 "templates: '%s' is not an aspect with a "
                                 "template text",
                                 k);
            goto fail;
        }
    }
    for (int a = 0; a < FV_NASPECT; a++) {
        const char *t = json_string_value(json_object_get(tpls, fv_aspects[a]));
        if ((rc = jc_prompt_parse(t ? t : fv_default_tpl[a], &s->prompt[a],
                                  err))) {
            assay_error_prefix(err, "template %s: ", fv_aspects[a]);
            goto fail;
        }
        if (s->prompt[a].repair) {
            json_t *empty = json_object();
            rc = empty ? jc_tpl_render(s->prompt[a].repair, empty, 0,
                                       &s->repair[a], err)
                       : ASSAY_ENOMEM;
            json_decref(empty);
            if (rc)
                goto fail;
        }
    }
    *state = s;
    return ASSAY_OK;
fail:
    fv_destroy(s);
    return rc;
}

/* ---- dialog mode ------------------------------------------------------ */

typedef struct fv_item {
    fc_dialog d;
    syn_fails f;
    bool rules_passed;
    jc_call calls[FV_NASPECT];
    bool asked[FV_NASPECT];
    json_t *model; /* aspect -> {verdict, reason} */
} fv_item;

typedef struct fv_run {
    fv_state *s;
    fv_item *items;
    size_t n, resolved, asked;
} fv_run;

static bool has_tool_messages(const fc_dialog *d)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->msgs[i].role == FC_TOOL)
            return true;
    return false;
}

static int fv_render(fv_state *s, const json_t *rec, size_t i, fv_item *it,
                     int a, char **sys, char **usr, assay_error *err)
{
    char *tr = fc_dialog_transcript(&it->d, s->transcript_chars);
    char *tools =
        json_dumps(it->d.tools ? it->d.tools : json_array(), JSON_INDENT(1));
    const char *system = "";
    for (size_t k = 0; k < it->d.n; k++)
        if (it->d.msgs[k].role == FC_SYSTEM && it->d.msgs[k].content)
            system = it->d.msgs[k].content;
    json_t *ctx = jc_context(rec, NULL);
    int rc = ASSAY_ENOMEM;
    if (tr && tools && ctx &&
        !json_object_set_new(ctx, "dialog", json_string(tr)) &&
        !json_object_set_new(ctx, "tools", json_string(tools)) &&
        !json_object_set_new(ctx, "system", json_string(system)))
        rc = jc_prompt_render(&s->prompt[a], ctx, i, sys, usr, err);
    else
        assay_error_set(err, rc, "out of memory");
    json_decref(ctx);
    free(tr);
    free(tools);
    return rc;
}

static int fv_done(void *ud, jc_runner *r, jc_call *c, assay_error *err)
{
    fv_run *run = ud;
    fv_state *s = run->s;
    fv_item *it = &run->items[c->item];
    int a = c->tag, rc;
    json_t *j = NULL;
    const char *verdict = NULL;
    rc = syn_call_json(r, c, SYN_JSON_OBJECT, &j, err);
    if (rc == SYN_ANS_RETRY)
        return ASSAY_OK;
    if (rc < 0)
        return rc;
    if (rc == SYN_ANS_OK) {
        verdict = json_string_value(json_object_get(j, "verdict"));
        if (!verdict || (strcmp(verdict, "pass") && strcmp(verdict, "fail"))) {
            json_decref(j);
            j = NULL;
            verdict = NULL;
            if (syn_call_retry(r, c, &rc, err))
                return ASSAY_OK;
            if (rc)
                return rc;
        }
    }
    if (c->status == JC_S_FAILED && !s->on_error_record) {
        json_decref(j);
        return assay_error_set(err, jc_failure_code(c->error),
                               "record %zu: %s check: %s (set on_error: "
                               "record to keep going)",
                               c->item, fv_aspects[a], c->error);
    }
    json_t *o = json_object();
    if (!o) {
        json_decref(j);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    if (verdict) {
        json_object_set_new(o, "verdict", json_string(verdict));
        json_t *reason = json_object_get(j, "reason");
        if (json_is_string(reason))
            json_object_set(o, "reason", reason);
    } else {
        json_object_set_new(
            o, "verdict",
            json_string(c->status == JC_S_FAILED ? "error" : "invalid"));
        if (c->error)
            json_object_set_new(o, "error", json_string(c->error));
    }
    json_t *raws = jc_call_raws(c);
    if (raws)
        json_object_set_new(o, "raw", raws);
    json_decref(j);
    if (json_object_set_new(it->model, fv_aspects[a], o))
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    jc_call_drop_prompts(c);
    s->h->progress(s->h, ++run->resolved, run->asked, "checks");
    return ASSAY_OK;
}

static json_t *fails_json(const syn_fails *f)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < f->n; i++) {
        json_t *e = json_pack("{s:s, s:s}", "rule", f->v[i].rule, "message",
                              f->v[i].msg);
        if (e && f->v[i].at >= 0)
            json_object_set_new(e, "message_index", json_integer(f->v[i].at));
        if (!e || json_array_append_new(a, e)) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

/* Drop failures of skipped rules. */
static void filter_fails(const fv_state *s, syn_fails *f)
{
    size_t w = 0;
    for (size_t i = 0; i < f->n; i++) {
        int k = rule_index(f->v[i].rule);
        if (k >= 0 && s->skip[k])
            continue;
        f->v[w++] = f->v[i];
    }
    f->n = w;
}

static int dialog_run(fv_state *s, assay_io *io, assay_error *err)
{
    const assay_host *h = s->h;
    const json_t *recs = h->in_records(io, "items");
    size_t n = json_array_size(recs);
    fv_run run = {.s = s, .n = n};
    jc_runner r;
    json_t *items = json_array(), *passed = json_array(), *sum = NULL;
    json_t *rule_counts = json_object(), *aspect_counts = json_object();
    size_t npassed = 0, nrule = 0, nfailed_llm = 0;
    int rc = ASSAY_OK;
    jc_runner_init(&r, h, s->endpoint, s->params, fv_done, &run);
    run.items = calloc(n ? n : 1, sizeof *run.items);
    if (!run.items || !items || !passed || !rule_counts || !aspect_counts) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        fv_item *it = &run.items[i];
        const json_t *rec = json_array_get(recs, i);
        if (!json_is_object(rec)) {
            rc = assay_error_set(err, ASSAY_EDATA,
                                 "record %zu: expected an object", i);
            goto done;
        }
        if ((rc = fc_dialog_read(rec, &it->d, err)))
            goto done;
        fc_rules_check(&it->d, &s->ro, &it->f);
        if (it->f.oom) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto done;
        }
        filter_fails(s, &it->f);
        it->rules_passed = it->f.n == 0;
        nrule += it->rules_passed;
        if (!s->endpoint || (!it->rules_passed && !s->model_all))
            continue;
        if (!(it->model = json_object())) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto done;
        }
        for (int a = 0; a < FV_NASPECT; a++) {
            if (!s->aspect_on[a] ||
                (a == FV_TOOLRESP && !has_tool_messages(&it->d)))
                continue;
            char *sys = NULL, *usr = NULL;
            if ((rc = fv_render(s, rec, i, it, a, &sys, &usr, err)))
                goto done;
            syn_call_init(&it->calls[a], sys, usr, s->repair[a], s->max_repairs,
                          i, 0);
            it->calls[a].tag = a;
            it->asked[a] = true;
            run.asked++;
            if ((rc = jc_runner_add(&r, &it->calls[a], err)))
                goto done;
        }
    }
    if (s->endpoint && (rc = jc_runner_run(&r, err)))
        goto done;
    if (h->cancelled(h)) {
        rc = assay_error_set(err, ASSAY_ECANCELED, "cancelled");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        fv_item *it = &run.items[i];
        const json_t *rec = json_array_get(recs, i);
        bool model_ok = true, model_error = false;
        const char *k;
        json_t *v;
        json_object_foreach(it->model, k, v)
        {
            const char *verdict =
                json_string_value(json_object_get(v, "verdict"));
            model_ok = model_ok && verdict && !strcmp(verdict, "pass");
            model_error = model_error || (verdict && strcmp(verdict, "pass") &&
                                          strcmp(verdict, "fail"));
            json_t *ac = json_object_get(aspect_counts, k);
            if (!ac) {
                ac = json_pack("{s:i, s:i, s:i}", "pass", 0, "fail", 0, "error",
                               0);
                json_object_set_new(aspect_counts, k, ac);
            }
            const char *slot = !verdict                   ? "error"
                               : !strcmp(verdict, "pass") ? "pass"
                               : !strcmp(verdict, "fail") ? "fail"
                                                          : "error";
            json_object_set_new(
                ac, slot,
                json_integer(json_integer_value(json_object_get(ac, slot)) +
                             1));
        }
        nfailed_llm += model_error;
        bool ok = it->rules_passed && model_ok;
        json_t *out = json_copy((json_t *)rec);
        json_t *ver = json_object();
        json_t *failed_rules = json_array();
        for (size_t f = 0; failed_rules && f < it->f.n; f++) {
            bool seen = false;
            for (size_t g = 0; g < f; g++)
                seen = seen || !strcmp(it->f.v[g].rule, it->f.v[f].rule);
            if (seen)
                continue;
            json_array_append_new(failed_rules, json_string(it->f.v[f].rule));
            json_t *c = json_object_get(rule_counts, it->f.v[f].rule);
            json_object_set_new(rule_counts, it->f.v[f].rule,
                                json_integer(json_integer_value(c) + 1));
        }
        if (!out || !ver || !failed_rules ||
            json_object_set_new(ver, "passed", json_boolean(ok)) ||
            json_object_set_new(ver, "rules_passed",
                                json_boolean(it->rules_passed)) ||
            json_object_set_new(ver, "failed_rules", failed_rules) ||
            json_object_set_new(ver, "failures", fails_json(&it->f)) ||
            json_object_set_new(ver, "layout", json_string(it->d.layout)) ||
            (it->model && json_object_set(ver, "model", it->model)) ||
            json_object_set_new(out, "verification", ver)) {
            json_decref(out);
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto done;
        }
        if (model_error)
            json_object_set_new(ver, "status", json_string("failed"));
        if (json_array_append_new(items, out) ||
            (ok && json_array_append(passed, (json_t *)rec))) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto done;
        }
        npassed += ok;
    }
    sum = json_pack("{s:s, s:I, s:I, s:f, s:I, s:f, s:O}", "mode", "dialog",
                    "items", (json_int_t)n, "passed", (json_int_t)npassed,
                    "pass_rate", n ? (double)npassed / (double)n : 0.0,
                    "rules_passed", (json_int_t)nrule, "rule_pass_rate",
                    n ? (double)nrule / (double)n : 0.0, "rule_failures",
                    rule_counts);
    if (sum && s->endpoint) {
        json_object_set(sum, "model", aspect_counts);
        json_object_set_new(sum, "model_errors",
                            json_integer((json_int_t)nfailed_llm));
        json_object_set_new(sum, "llm", jc_info(h, s->endpoint, &r, n));
    }
    if (!sum) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    if (nfailed_llm)
        h->log(h, ASSAY_LOG_WARN,
               "%zu dialogs have a model check that could not be done "
               "(verification.status: failed)",
               nfailed_llm);
    rc = h->out_records(io, "items", items, err);
    items = NULL;
    if (rc == 0)
        rc = h->out_records(io, "passed", passed, err);
    else
        json_decref(passed);
    passed = NULL;
    if (rc == 0)
        rc = h->out_json(io, "summary", sum, err);
    else
        json_decref(sum);
    sum = NULL;
done:
    for (size_t i = 0; run.items && i < n; i++) {
        fc_dialog_free(&run.items[i].d);
        syn_fails_free(&run.items[i].f);
        for (int a = 0; a < FV_NASPECT; a++)
            jc_call_clear(&run.items[i].calls[a]);
        json_decref(run.items[i].model);
    }
    free(run.items);
    json_decref(items);
    json_decref(passed);
    json_decref(sum);
    json_decref(rule_counts);
    json_decref(aspect_counts);
    jc_runner_free(&r);
    return rc;
}

/* ---- bfcl mode ---------------------------------------------------------- */

/* The id of a record as text (strings as they are, numbers printed). */
static int id_text(const json_t *rec, const char *field, char *out, size_t sz)
{
    const json_t *v = json_object_get(rec, field);
    if (json_is_string(v))
        snprintf(out, sz, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(out, sz, "%lld", (long long)json_integer_value(v));
    else
        return -1;
    return 0;
}

/* An index id -> record over records `recs` (new object of borrowed
 * values, as integers into recs). */
static int index_by_id(const json_t *recs, const char *field, const char *port,
                       json_t **out, assay_error *err)
{
    json_t *ix = json_object();
    size_t i;
    json_t *r;
    if (!ix)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    json_array_foreach(recs, i, r)
    {
        char id[512];
        if (id_text(r, field, id, sizeof id)) {
            json_decref(ix);
            return assay_error_set(err, ASSAY_EDATA,
                                   "%s: record %zu: missing field '%s'", port,
                                   i, field);
        }
        if (json_object_set_new(ix, id, json_integer((json_int_t)i))) {
            json_decref(ix);
            return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        }
    }
    *out = ix;
    return ASSAY_OK;
}

static const json_t *joined(const json_t *recs, const json_t *ix,
                            const char *id)
{
    const json_t *k = json_object_get(ix, id);
    return k ? json_array_get(recs, (size_t)json_integer_value(k)) : NULL;
}

static int bfcl_run(fv_state *s, assay_io *io, assay_error *err)
{
    const assay_host *h = s->h;
    const json_t *recs = h->in_records(io, "items");
    const json_t *ans = h->in_records(io, "answers");
    const json_t *gts = h->in_records(io, "ground_truth");
    json_t *aix = NULL, *gix = NULL, *items = json_array();
    json_t *passed = json_array(), *cats = json_object();
    json_t *errors = json_object(), *sum = NULL;
    size_t n = json_array_size(recs), correct = 0, missing = 0;
    int rc = ASSAY_OK;
    if (!items || !passed || !cats || !errors) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    if ((ans && (rc = index_by_id(ans, s->id_field, "answers", &aix, err))) ||
        (gts &&
         (rc = index_by_id(gts, s->id_field, "ground_truth", &gix, err))))
        goto done;
    for (size_t i = 0; i < n; i++) {
        const json_t *q = json_array_get(recs, i);
        char id[512], cat[256];
        if (id_text(q, s->id_field, id, sizeof id)) {
            rc = assay_error_set(err, ASSAY_EDATA,
                                 "record %zu: missing field '%s'", i,
                                 s->id_field);
            goto done;
        }
        if (!json_is_array(json_object_get(q, "function"))) {
            rc = assay_error_set(err, ASSAY_EDATA,
                                 "record %zu: field 'function': expected "
                                 "the list of function definitions",
                                 i);
            goto done;
        }
        if (s->category)
            snprintf(cat, sizeof cat, "%s", s->category);
        else
            fc_ast_category(id, cat, sizeof cat);
        const json_t *arec = aix ? joined(ans, aix, id) : q;
        const json_t *answer =
            arec ? json_object_get(arec, s->answer_field) : NULL;
        const json_t *grec = gix ? joined(gts, gix, id) : q;
        const json_t *gt = grec ? json_object_get(grec, "ground_truth") : NULL;
        bool needs_gt = !strstr(cat, "relevance");
        json_t *o = json_pack("{s:s, s:s}", s->id_field, id, "category", cat);
        char error[64] = "", detail[320] = "";
        json_t *calls = NULL;
        bool ok = false;
        if (!o) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto done;
        }
        if (needs_gt && !json_is_array(gt)) {
            json_decref(o);
            rc = assay_error_set(err, ASSAY_EDATA,
                                 "record %zu (id %s): no ground truth "
                                 "(field 'ground_truth' of the item or of "
                                 "the ground_truth input)",
                                 i, id);
            goto done;
        }
        if (!answer) {
            snprintf(error, sizeof error, "no_answer");
            snprintf(detail, sizeof detail, "no field '%s' for this id",
                     s->answer_field);
            missing++;
        } else {
            rc = fc_ast_judge(q, gt, cat, answer, &s->ao, &ok, &calls, error,
                              sizeof error, detail, sizeof detail);
            if (rc) {
                json_decref(o);
                rc = assay_error_set(err, rc, "out of memory");
                goto done;
            }
            rc = ASSAY_OK;
        }
        json_object_set_new(o, "correct", json_boolean(ok));
        if (!ok) {
            json_object_set_new(o, "error", json_string(error));
            json_object_set_new(o, "detail", json_string(detail));
            json_t *c = json_object_get(errors, error);
            json_object_set_new(errors, error,
                                json_integer(json_integer_value(c) + 1));
        }
        if (calls)
            json_object_set_new(o, "calls", calls);
        json_t *cs = json_object_get(cats, cat);
        if (!cs) {
            cs = json_pack("{s:i, s:i}", "items", 0, "correct", 0);
            json_object_set_new(cats, cat, cs);
        }
        json_object_set_new(
            cs, "items",
            json_integer(json_integer_value(json_object_get(cs, "items")) + 1));
        json_object_set_new(
            cs, "correct",
            json_integer(json_integer_value(json_object_get(cs, "correct")) +
                         ok));
        correct += ok;
        if (json_array_append_new(items, o) ||
            (ok && json_array_append(passed, (json_t *)q))) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto done;
        }
    }
    double mean = 0;
    const char *k;
    json_t *v;
    json_object_foreach(cats, k, v)
    {
        double a = (double)json_integer_value(json_object_get(v, "correct")) /
                   (double)json_integer_value(json_object_get(v, "items"));
        json_object_set_new(v, "accuracy", json_real(a));
        mean += a;
    }
    sum = json_pack(
        "{s:s, s:I, s:I, s:f, s:f, s:O, s:O, s:I}", "mode", "bfcl", "items",
        (json_int_t)n, "correct", (json_int_t)correct, "accuracy",
        n ? (double)correct / (double)n : 0.0, "overall",
        json_object_size(cats) ? mean / (double)json_object_size(cats) : 0.0,
        "categories", cats, "errors", errors, "missing_answers",
        (json_int_t)missing);
    if (!sum) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    if (missing)
        h->log(h, ASSAY_LOG_WARN,
               "%zu of %zu items have no answer (counted as wrong, error "
               "no_answer)",
               missing, n);
    h->progress(h, n, n, "items");
    rc = h->out_records(io, "items", items, err);
    items = NULL;
    if (rc == 0)
        rc = h->out_records(io, "passed", passed, err);
    else
        json_decref(passed);
    passed = NULL;
    if (rc == 0)
        rc = h->out_json(io, "summary", sum, err);
    else
        json_decref(sum);
    sum = NULL;
done:
    json_decref(aix);
    json_decref(gix);
    json_decref(items);
    json_decref(passed);
    json_decref(cats);
    json_decref(errors);
    json_decref(sum);
    return rc;
}

static int fv_run_cb(void *state, assay_io *io, assay_error *err)
{
    fv_state *s = state;
    return s->bfcl ? bfcl_run(s, io, err) : dialog_run(s, io, err);
}

static int fv_estimate(void *state, assay_io *io, assay_estimate *est,
                       assay_error *err)
{
    fv_state *s = state;
    (void)err;
    est->endpoint = s->endpoint;
    if (s->bfcl || !s->endpoint)
        return ASSAY_OK;
    unsigned per = 0;
    for (int a = 0; a < FV_NASPECT; a++)
        per += s->aspect_on[a];
    const json_t *recs = jc_estimate_items(s->h, io, "items", per);
    if (!recs)
        return ASSAY_OK;
    size_t n = json_array_size(recs);
    uint64_t chars = 0;
    for (size_t i = 0; i < n; i++) {
        char *t = json_dumps(json_array_get(recs, i), JSON_COMPACT);
        chars += (t ? strlen(t) : 0) + 1200;
        free(t);
    }
    jc_estimate_fill(est, s->endpoint, (uint64_t)n * per, chars * per,
                     s->params, FV_EST_COMPLETION);
    return ASSAY_OK;
}

#define FV_DOC                                                                 \
    "Two uses.\n"                                                              \
    "mode: dialog implements the Dual-Layer Verification of ToolACE (Liu "     \
    "et al., \"ToolACE: Winning the Points of LLM Function Calling\", "        \
    "ICLR 2025) for function-calling dialogs.  The rule layer runs "           \
    "deterministic checks and names every failed rule per sample: "            \
    "dialog_required_fields, api_required_fields, api_schema_valid "           \
    "(definitions are valid JSON Schema, names unique), "                      \
    "call_function_exists, call_arguments_valid, call_required_params, "       \
    "call_unknown_params, call_param_types, call_param_enum, "                 \
    "call_param_format (patterns, formats date/date-time/time/email/uri/"      \
    "uuid/ipv4/ipv6/hostname), call_param_range, role_order, "                 \
    "call_has_response (every call answered, by tool_call_id or in "           \
    "order), response_name_matches, response_nonempty, "                       \
    "response_complete (not cut off), response_length (max_chars), "           \
    "invalid_characters and mixed_language (mixed_ratio, mixed_min); "         \
    "skip_rules turns rules off.  With `llm` set, the model layer asks "       \
    "one request per aspect for a JSON verdict {verdict: pass|fail, "          \
    "reason}: hallucination (argument values not backed by the user or "       \
    "system prompt), consistency (the task completed within the "              \
    "constraints), tool_response (simulated responses fit the "                \
    "definitions; only for dialogs with tool messages) and quality "           \
    "(repetition, meaningless tokens); by default only dialogs that "          \
    "passed the rules are sent.  Unreadable answers get repair turns; a "      \
    "failed request marks the dialog failed (verification.status), never "     \
    "passed.  Dialogs: OpenAI-style {tools, messages} (synth.toolace's "       \
    "output) or ShareGPT-style {system, conversations} with Python-syntax "    \
    "calls, as in the public ToolACE data.  Outputs: items with "              \
    "`verification` {passed, rules_passed, failed_rules, failures "            \
    "[{rule, message, message_index}], model}, the passed items "              \
    "unchanged, and a summary (pass rates, failures per rule, verdicts "       \
    "per aspect).\n"                                                           \
    "mode: bfcl evaluates a model's function calls the way the Berkeley "      \
    "Function Calling Leaderboard's AST checker does, on data in BFCL's "      \
    "format: question records {id, question, function} with the answer "       \
    "in answer_field (or joined by id from the answers input) and the "        \
    "possible answers {id, ground_truth} (from the item or the "               \
    "ground_truth input).  Answers may be BFCL's decoded form [{fname: "       \
    "{args}}], {name, arguments} lists, OpenAI tool calls, or Python call "    \
    "text \"[f(a=1)]\".  The function name must match, required "              \
    "parameters be present, no parameter be unknown, types match "             \
    "(integers accepted for floats), values be among the acceptable ones "     \
    "(strings compared after BFCL's standardisation: spaces and ,./-_*^ "      \
    "removed, lower case), parameters of the ground truth without \"\" "       \
    "be present; simple/multiple need exactly one call, parallel ones a "      \
    "one-to-one match in any order, irrelevance no call, live_relevance "      \
    "some call.  Items get {id, category, correct, error, detail, "            \
    "calls}; the summary has accuracy per category, overall (the "             \
    "unweighted mean over categories) and error counts.\n\n"

static const assay_plugin fv_plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "verify.function-calls",
    .kind = "verifier",
    .version = "1.0.0",
    .summary = "ToolACE dual-layer verification of function-calling "
               "dialogs; BFCL-style AST evaluation of model calls",
    .doc = FV_DOC
    "Default templates:\n\nhallucination.txt:\n" VERIFY_TPL_HALLUCINATION
    "\nconsistency.txt:\n" VERIFY_TPL_CONSISTENCY
    "\ntool_response.txt:\n" VERIFY_TPL_TOOL_RESPONSE
    "\nquality.txt:\n" VERIFY_TPL_QUALITY,
    .inputs = fv_inputs,
    .outputs = fv_outputs,
    .options = fv_options,
    /* the model layer (or annotator) talks to the LLM service when `llm`
     * is set: estimates for --dry-run, never an isolated worker */
    .flags = ASSAY_F_ALL_ITEMS | ASSAY_F_NEEDS_LLM,
    .create = fv_create,
    .run = fv_run_cb,
    .destroy = fv_destroy,
    .estimate = fv_estimate,
};

static const assay_plugin *const fv_list[] = {&fv_plugin, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi)
{
    (void)host_abi;
    return fv_list;
}
