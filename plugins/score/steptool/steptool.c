/*
 * score.steptool - StepTool's step-grained rewards for tool-use
 * trajectories (Yu et al., arXiv 2410.07745), with the rule annotator,
 * an LLM annotator (several runs, aggregated) or the labels a file
 * already carries; plus source.steptool, a reader for the StepTool and
 * StableToolBench JSON files.
 */
#include <assay/plugin.h>

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jc_opts.h"
#include "jc_text.h"
#include "st_rules.h"
#include "st_traj.h"
#include "steptool_tpl.h"
#include "syn_llm.h"

enum { ANN_RULE = 0, ANN_LLM = 1, ANN_GIVEN = 2 };
enum { FIN_AUTO = 0, FIN_GIVEN = 1, FIN_RULE = 2 };

#define ST_EST_COMPLETION 200

typedef struct st_state {
    const assay_host *h;
    int annotator, final;
    double alpha, gamma, threshold;
    bool normalize, words, empty_fails, on_error_record;
    unsigned runs, max_repairs;
    size_t max_chars;
    char *endpoint, *id_field, *repair;
    json_t *params;
    jc_prompt prompt;
} st_state;

static const assay_port st_inputs[] = {
    {.name = "items",
     .type = ASSAY_T_RECORDS,
     .required = true,
     .doc = "trajectories: {query, steps} or StepTool/StableToolBench "
            "records (answer_steps/final_step, or answer.answer_details)"},
    {0}};

static const assay_port st_outputs[] = {
    {.name = "items",
     .type = ASSAY_T_RECORDS,
     .doc = "per trajectory: succ, contribution, rewards r_1..r_T, "
            "returns, is_solved, status"},
    {.name = "steps",
     .type = ASSAY_T_RECORDS,
     .doc = "one record per step (the final one included): reward and "
            "return, for analysis"},
    {.name = "summary",
     .type = ASSAY_T_JSON,
     .doc = "pass rate (per judge run too), success-call rate, mean "
            "rewards and returns"},
    {0}};

static const assay_option st_options[] = {
    {.name = "annotator",
     .type = ASSAY_OPT_ENUM,
     .def = "\"rule\"",
     .choices = "rule|llm|given",
     .doc = "who scores the intermediate steps: StepTool's rules, an LLM, "
            "or the process_reward labels in the data"},
    {.name = "final",
     .type = ASSAY_OPT_ENUM,
     .def = "\"auto\"",
     .choices = "auto|given|rule",
     .doc = "IsSolved from: auto (the LLM with annotator llm, else the "
            "data's is_solved labels when present, else the rule), the "
            "labels, or the rule (an answer given: 1, else 0)"},
    {.name = "alpha",
     .type = ASSAY_OPT_FLOAT,
     .def = "1",
     .has_min = true,
     .min = 0,
     .has_max = true,
     .max = 100,
     .doc = "weight of SuccCalling in an intermediate reward"},
    {.name = "normalize",
     .type = ASSAY_OPT_BOOL,
     .def = "true",
     .doc = "divide intermediate rewards by alpha + 1 (all rewards in "
            "[0, 1])"},
    {.name = "gamma",
     .type = ASSAY_OPT_FLOAT,
     .def = "0.99",
     .has_min = true,
     .min = 0,
     .has_max = true,
     .max = 1,
     .doc = "discount of the returns"},
    {.name = "lcs_threshold",
     .type = ASSAY_OPT_FLOAT,
     .def = "0.3",
     .has_min = true,
     .min = 0,
     .has_max = true,
     .max = 1,
     .doc = "rule contribution: LCS(response, answer)/len(response) at "
            "least this"},
    {.name = "lcs_unit",
     .type = ASSAY_OPT_ENUM,
     .def = "\"char\"",
     .choices = "char|word",
     .doc = "units of the LCS and of len"},
    {.name = "empty_fails",
     .type = ASSAY_OPT_BOOL,
     .def = "true",
     .doc = "rule: an empty or missing tool response is a failed call"},
    {.name = "llm",
     .type = ASSAY_OPT_STRING,
     .doc = "endpoint of the LLM annotator (annotator: llm)"},
    JC_OPT_PARAMS,
    {.name = "runs",
     .type = ASSAY_OPT_INT,
     .def = "3",
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 32,
     .doc = "LLM annotation runs per trajectory (sampled; averaged)"},
    {.name = "structured",
     .type = ASSAY_OPT_ENUM,
     .def = "\"none\"",
     .choices = "none|json_object|json_schema",
     .doc = "ask the server for structured output: response_format "
            "json_object, or json_schema with evaluate_process_reward's "
            "parameters"},
    {.name = "max_response_chars",
     .type = ASSAY_OPT_INT,
     .def = "1024",
     .has_min = true,
     .min = 16,
     .has_max = true,
     .max = 1000000,
     .doc = "tool responses longer than this are cut in the LLM prompt"},
    {.name = "template",
     .type = ASSAY_OPT_STRING,
     .doc = "prompt template text overriding the built-in one"},
    {.name = "template_file",
     .type = ASSAY_OPT_STRING,
     .doc = "file holding the prompt template (relative to the YAML)"},
    JC_OPT_MAX_REPAIRS,
    JC_OPT_ON_ERROR,
    {.name = "id_field",
     .type = ASSAY_OPT_STRING,
     .def = "\"id\"",
     .doc = "item field copied into the outputs when present"},
    {0}};

static void st_destroy(void *state)
{
    st_state *s = state;
    if (!s)
        return;
    free(s->endpoint);
    free(s->id_field);
    free(s->repair);
    json_decref(s->params);
    jc_prompt_free(&s->prompt);
    free(s);
}

/* The JSON schema of evaluate_process_reward's arguments. */
static json_t *st_schema(void)
{
    return json_pack(
        "{s:s, s:{s:{s:s, s:{s:s}}, s:{s:s, s:{s:s}}, s:{s:s, s:[sss]}}, "
        "s:[sss], s:b}",
        "type", "object", "properties", "succeed_tool_calling", "type", "array",
        "items", "type", "number", "contribution_to_final_answer", "type",
        "array", "items", "type", "number", "final_answer_status", "type",
        "string", "enum", "Unsure", "Unsolved", "Solved", "required",
        "succeed_tool_calling", "contribution_to_final_answer",
        "final_answer_status", "additionalProperties", 0);
}

static int st_create(const assay_host *h, const json_t *o, void **state,
                     assay_error *err)
{
    st_state *s = calloc(1, sizeof *s);
    int rc = ASSAY_OK;
    if (!s)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    s->h = h;
    const char *ann = assay_opt_str(o, "annotator");
    s->annotator = !strcmp(ann, "llm")     ? ANN_LLM
                   : !strcmp(ann, "given") ? ANN_GIVEN
                                           : ANN_RULE;
    const char *fin = assay_opt_str(o, "final");
    s->final = !strcmp(fin, "given")  ? FIN_GIVEN
               : !strcmp(fin, "rule") ? FIN_RULE
                                      : FIN_AUTO;
    s->alpha = assay_opt_num(o, "alpha");
    s->gamma = assay_opt_num(o, "gamma");
    s->threshold = assay_opt_num(o, "lcs_threshold");
    s->normalize = assay_opt_bool(o, "normalize");
    s->words = !strcmp(assay_opt_str(o, "lcs_unit"), "word");
    s->empty_fails = assay_opt_bool(o, "empty_fails");
    s->runs = (unsigned)assay_opt_int(o, "runs");
    s->max_repairs = (unsigned)assay_opt_int(o, "max_repairs");
    s->max_chars = (size_t)assay_opt_int(o, "max_response_chars");
    s->on_error_record = !strcmp(assay_opt_str(o, "on_error"), "record");
    const char *ep = assay_opt_str(o, "llm");
    if (s->annotator == ANN_LLM && !ep) {
        rc = assay_error_set(err, ASSAY_EINVAL,
                             "annotator: llm needs the option llm (an "
                             "endpoint name)");
        goto fail;
    }
    s->endpoint = ep ? jc_strdup(ep) : NULL;
    s->id_field = jc_strdup(assay_opt_str(o, "id_field"));
    json_t *p = json_object_get(o, "params");
    s->params = json_is_object(p) ? json_deep_copy(p) : json_object();
    if ((ep && !s->endpoint) || !s->id_field || !s->params) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto fail;
    }
    const char *st = assay_opt_str(o, "structured");
    if (strcmp(st, "none") != 0 &&
        !json_object_get(s->params, "response_format")) {
        json_t *rf =
            !strcmp(st, "json_object")
                ? json_pack("{s:s}", "type", "json_object")
                : json_pack("{s:s, s:{s:s, s:o, s:b}}", "type", "json_schema",
                            "json_schema", "name", "evaluate_process_reward",
                            "schema", st_schema(), "strict", 1);
        if (!rf || json_object_set_new(s->params, "response_format", rf)) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto fail;
        }
    }
    rc = jc_prompt_option(h, o, "template", "template_file", SCORE_TPL_STEPTOOL,
                          &s->prompt, err);
    if (rc)
        goto fail;
    if (s->prompt.repair) {
        json_t *empty = json_object();
        rc = empty ? jc_tpl_render(s->prompt.repair, empty, 0, &s->repair, err)
                   : assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        json_decref(empty);
        if (rc)
            goto fail;
    }
    *state = s;
    return ASSAY_OK;
fail:
    st_destroy(s);
    return rc;
}

/* ---- per-item work --------------------------------------------------- */

typedef struct st_item {
    st_traj t;
    bool read;
    int status; /* JC_S_OK, JC_S_FAILED, JC_S_INVALID */
    char *error;
    double *succ, *contrib, *ratio;
    const char **why;
    double solved;
    const char *solved_from; /* "llm", "given", "rule" */
    /* LLM runs */
    jc_call *calls;
    unsigned done_runs;
    json_t *runs; /* per-run judgments */
    json_t *raw;  /* answers */
} st_item;

typedef struct st_run {
    st_state *s;
    st_item *items;
    size_t n, resolved;
    jc_runner r;
} st_run;

static void item_free(st_item *it, unsigned runs)
{
    st_traj_free(&it->t);
    free(it->error);
    free(it->succ);
    free(it->contrib);
    free(it->ratio);
    free(it->why);
    for (unsigned k = 0; it->calls && k < runs; k++)
        jc_call_clear(&it->calls[k]);
    free(it->calls);
    json_decref(it->runs);
    json_decref(it->raw);
}

/* Mean of a given label list over the runs of `pr`, one value per step
 * (contributions divided by `scale`).  ASSAY_EDATA naming the record when
 * a run's list has the wrong length. */
static int given_means(const json_t *pr, const char *key, size_t n,
                       double scale, double *out, size_t idx, assay_error *err)
{
    const char *run;
    json_t *v;
    size_t nruns = 0;
    for (size_t t = 0; t < n; t++)
        out[t] = 0;
    json_object_foreach((json_t *)pr, run, v)
    {
        const json_t *l = json_object_get(v, key);
        if (!json_is_array(l) || json_array_size(l) != n)
            return assay_error_set(err, ASSAY_EDATA,
                                   "record %zu: field 'process_reward': "
                                   "run %s: '%s' should list %zu numbers",
                                   idx, run, key, n);
        for (size_t t = 0; t < n; t++) {
            const json_t *x = json_array_get(l, t);
            if (!json_is_number(x))
                return assay_error_set(err, ASSAY_EDATA,
                                       "record %zu: field "
                                       "'process_reward': run %s: '%s' "
                                       "holds a non-number",
                                       idx, run, key);
            out[t] += json_number_value(x) / scale;
        }
        nruns++;
    }
    if (nruns == 0)
        return assay_error_set(err, ASSAY_EDATA,
                               "record %zu: field 'process_reward' has no "
                               "runs",
                               idx);
    for (size_t t = 0; t < n; t++)
        out[t] /= (double)nruns;
    return ASSAY_OK;
}

/* Mean IsSolved of the given labels; ASSAY_EDATA on an unknown label. */
static int given_solved(const json_t *lab, double *out, size_t idx,
                        assay_error *err)
{
    const char *run;
    json_t *v;
    double sum = 0;
    size_t k = 0;
    json_object_foreach((json_t *)lab, run, v)
    {
        double x = st_status_value(json_string_value(v));
        if (x < 0)
            return assay_error_set(err, ASSAY_EDATA,
                                   "record %zu: field 'is_solved': run %s: "
                                   "expected Solved, Unsure or Unsolved",
                                   idx, run);
        sum += x;
        k++;
    }
    if (!k)
        return assay_error_set(
            err, ASSAY_EDATA, "record %zu: field 'is_solved' has no runs", idx);
    *out = sum / (double)k;
    return ASSAY_OK;
}

/* Rule annotations of one trajectory. */
static int annotate_rules(st_state *s, st_item *it, assay_error *err)
{
    for (size_t t = 0; t < it->t.nsteps; t++) {
        const st_step *st = &it->t.steps[t];
        it->succ[t] = st_succ_rule(st->response, s->empty_fails, &it->why[t]);
        char *txt = st_response_text(st->response);
        if (!txt)
            return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        int c = st_contribution_rule(txt, it->t.final_answer, s->words,
                                     s->threshold, &it->ratio[t]);
        free(txt);
        if (c < 0)
            return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        it->contrib[t] = c;
    }
    return ASSAY_OK;
}

static double rule_solved(const st_traj *t)
{
    return t->has_finish && !t->gave_up && !jc_blank(t->final_answer) ? 1.0
                                                                      : 0.0;
}

/* ---- the LLM annotator ---------------------------------------------- */

/* The numbered steps as prompt text. */
static char *steps_text(const st_state *s, const st_traj *t)
{
    jc_buf b = {0};
    char *out = NULL;
    for (size_t i = 0; i < t->nsteps; i++) {
        const st_step *st = &t->steps[i];
        size_t rl = strlen(st->response);
        if (jc_buf_printf(&b,
                          "Step %zu: called %s with arguments %s\n"
                          "Response: %.*s%s\n",
                          i + 1, st->name, st->arguments,
                          (int)(rl > s->max_chars ? s->max_chars : rl),
                          st->response, rl > s->max_chars ? "..." : ""))
            goto done;
    }
    if (t->nsteps == 0 && jc_buf_puts(&b, "(none)"))
        goto done;
    jc_buf_take(&b, &out);
done:
    jc_buf_free(&b);
    return out;
}

static int render(st_state *s, const json_t *rec, size_t i, st_item *it,
                  char **sys, char **usr, assay_error *err)
{
    char *steps = steps_text(s, &it->t);
    if (!steps)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    json_t *ctx = jc_context(rec, NULL);
    int rc = ASSAY_ENOMEM;
    if (ctx && !json_object_set_new(ctx, "query", json_string(it->t.query)) &&
        !json_object_set_new(ctx, "steps", json_string(steps)) &&
        !json_object_set_new(ctx, "nsteps",
                             json_integer((json_int_t)it->t.nsteps)) &&
        !json_object_set_new(ctx, "final_answer",
                             json_string(it->t.final_answer)))
        rc = jc_prompt_render(&s->prompt, ctx, i, sys, usr, err);
    else
        assay_error_set(err, rc, "out of memory");
    json_decref(ctx);
    free(steps);
    return rc;
}

/* Check one parsed judgment; NULL when fine, else what is wrong. */
static const char *judgment_problem(const json_t *j, size_t n)
{
    const json_t *sc = json_object_get(j, "succeed_tool_calling");
    const json_t *co = json_object_get(j, "contribution_to_final_answer");
    if (!co)
        co = json_object_get(j, "contributions");
    const char *fs =
        json_string_value(json_object_get(j, "final_answer_status"));
    if (!json_is_array(sc) || !json_is_array(co))
        return "missing lists";
    if (json_array_size(sc) != n || json_array_size(co) != n)
        return "lists of the wrong length";
    for (size_t t = 0; t < n; t++) {
        const json_t *a = json_array_get(sc, t), *b = json_array_get(co, t);
        if (!json_is_number(a) || !json_is_number(b) ||
            json_number_value(a) < 0 || json_number_value(a) > 1 ||
            json_number_value(b) < 0 || json_number_value(b) > 5)
            return "a value out of range";
    }
    if (st_status_value(fs) < 0)
        return "an unknown final_answer_status";
    return NULL;
}

static int llm_done(void *ud, jc_runner *r, jc_call *c, assay_error *err)
{
    st_run *run = ud;
    st_state *s = run->s;
    st_item *it = &run->items[c->item];
    json_t *j = NULL;
    int rc = ASSAY_OK;
    if (c->status != JC_S_FAILED) {
        rc = syn_call_json(r, c, SYN_JSON_OBJECT, &j, err);
        if (rc == SYN_ANS_RETRY)
            return ASSAY_OK;
        if (rc < 0)
            return rc;
        if (rc == SYN_ANS_OK && judgment_problem(j, it->t.nsteps)) {
            json_decref(j);
            j = NULL;
            if (syn_call_retry(r, c, &rc, err))
                return ASSAY_OK;
            if (rc)
                return rc;
        }
    }
    json_t *raws = jc_call_raws(c);
    json_t *rj = json_object();
    if (!raws || !rj) {
        json_decref(raws);
        json_decref(rj);
        json_decref(j);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    json_object_set_new(
        rj, "status",
        json_string(jc_status_name(j                          ? JC_S_OK
                                   : c->status == JC_S_FAILED ? JC_S_FAILED
                                                              : JC_S_INVALID)));
    if (j) {
        json_object_set(rj, "succeed_tool_calling",
                        json_object_get(j, "succeed_tool_calling"));
        json_t *co = json_object_get(j, "contribution_to_final_answer");
        json_object_set(rj, "contribution_to_final_answer",
                        co ? co : json_object_get(j, "contributions"));
        json_object_set(rj, "final_answer_status",
                        json_object_get(j, "final_answer_status"));
    } else if (c->error) {
        json_object_set_new(rj, "error", json_string(c->error));
    }
    json_array_set_new(it->runs, c->sample, rj);
    json_array_set_new(it->raw, c->sample, raws);
    json_decref(j);
    if (c->status == JC_S_FAILED && !s->on_error_record)
        return assay_error_set(err, jc_failure_code(c->error),
                               "record %zu: %s (set on_error: record to "
                               "keep going)",
                               c->item, c->error);
    jc_call_drop_prompts(c);
    it->done_runs++;
    s->h->progress(s->h, ++run->resolved, (uint64_t)run->n * s->runs,
                   "annotations");
    return ASSAY_OK;
}

/* Aggregate an item's LLM runs: means over the usable runs. */
static void llm_aggregate(st_state *s, st_item *it)
{
    size_t n = it->t.nsteps, ok = 0;
    double solved = 0;
    for (size_t t = 0; t < n; t++)
        it->succ[t] = it->contrib[t] = 0;
    bool failed_any = false;
    for (unsigned k = 0; k < s->runs; k++) {
        const json_t *rj = json_array_get(it->runs, k);
        const char *st = json_string_value(json_object_get(rj, "status"));
        if (!st || strcmp(st, "ok")) {
            failed_any = failed_any || (st && !strcmp(st, "failed"));
            continue;
        }
        const json_t *sc = json_object_get(rj, "succeed_tool_calling");
        const json_t *co = json_object_get(rj, "contribution_to_final_answer");
        for (size_t t = 0; t < n; t++) {
            it->succ[t] += json_number_value(json_array_get(sc, t));
            it->contrib[t] += json_number_value(json_array_get(co, t)) / 5.0;
        }
        solved += st_status_value(
            json_string_value(json_object_get(rj, "final_answer_status")));
        ok++;
    }
    if (!ok) {
        it->status = failed_any ? JC_S_FAILED : JC_S_INVALID;
        if (!it->error)
            it->error =
                jc_strdup(failed_any ? "every annotation run failed"
                                     : "no annotation run could be read");
        return;
    }
    for (size_t t = 0; t < n; t++) {
        it->succ[t] /= (double)ok;
        it->contrib[t] /= (double)ok;
    }
    it->solved = solved / (double)ok;
    it->solved_from = "llm";
}

/* ---- outputs ------------------------------------------------------------ */

static json_t *num_array(const double *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_real(v[i]))) {
            json_decref(a);
            return NULL;
        }
    return a;
}

typedef struct st_totals {
    size_t scored, failed, invalid, steps, finals;
    double solved, succ, contrib, step_reward, final_reward, ret1;
} st_totals;

static int item_output(st_state *s, const json_t *rec, size_t i, st_item *it,
                       json_t *items, json_t *steps, st_totals *tot,
                       assay_error *err)
{
    json_t *o = json_object();
    if (!o)
        goto oom;
    json_t *id = json_object_get(rec, s->id_field);
    if (json_object_set_new(o, "index", json_integer((json_int_t)i)) ||
        (id && json_object_set(o, s->id_field, id)))
        goto oom;
    static const char *const ann[] = {"rule", "llm", "given"};
    json_object_set_new(o, "annotator", json_string(ann[s->annotator]));
    if (it->read) {
        json_object_set_new(o, "format", json_string(it->t.format));
        json_object_set_new(o, "steps", json_integer((json_int_t)it->t.nsteps));
        json_t *names = json_array();
        for (size_t t = 0; names && t < it->t.nsteps; t++)
            json_array_append_new(names, json_string(it->t.steps[t].name));
        if (!names || json_object_set_new(o, "names", names))
            goto oom;
    }
    json_object_set_new(o, "status", json_string(jc_status_name(it->status)));
    if (it->status != JC_S_OK) {
        json_object_set_new(o, "error",
                            json_string(it->error ? it->error : "failed"));
        if (it->runs)
            json_object_set(o, "runs", it->runs);
        if (it->raw)
            json_object_set(o, "raw", it->raw);
        if (json_array_append_new(items, o))
            return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        if (it->status == JC_S_FAILED)
            tot->failed++;
        else
            tot->invalid++;
        return ASSAY_OK;
    }
    size_t n = it->t.nsteps;
    double *r = malloc((n + 1) * sizeof *r), *G = malloc((n + 1) * sizeof *G);
    if (!r || !G) {
        free(r);
        free(G);
        goto oom;
    }
    st_rewards(it->succ, it->contrib, n, it->solved, s->alpha, s->normalize,
               s->gamma, r, G);
    int bad =
        json_object_set_new(o, "succ", num_array(it->succ, n)) ||
        json_object_set_new(o, "contribution", num_array(it->contrib, n)) ||
        json_object_set_new(o, "is_solved", json_real(it->solved)) ||
        json_object_set_new(o, "is_solved_from",
                            json_string(it->solved_from)) ||
        json_object_set_new(o, "rewards", num_array(r, n + 1)) ||
        json_object_set_new(o, "returns", num_array(G, n + 1));
    if (!bad && s->annotator == ANN_RULE) {
        json_t *why = json_array();
        for (size_t t = 0; why && t < n; t++)
            json_array_append_new(why, json_string(it->why[t]));
        bad = !why || json_object_set_new(o, "succ_why", why) ||
              json_object_set_new(o, "lcs_ratio", num_array(it->ratio, n));
    }
    if (!bad && it->runs)
        bad = json_object_set(o, "runs", it->runs) ||
              json_object_set(o, "raw", it->raw);
    for (size_t t = 0; !bad && t <= n; t++) {
        json_t *st = json_pack("{s:I, s:I, s:s, s:b, s:f, s:f}", "index",
                               (json_int_t)i, "step", (json_int_t)(t + 1),
                               "name", t < n ? it->t.steps[t].name : "Finish",
                               "final", t == n, "reward", r[t], "return", G[t]);
        if (st && id)
            json_object_set(st, s->id_field, id);
        if (st && t < n) {
            json_object_set_new(st, "succ", json_real(it->succ[t]));
            json_object_set_new(st, "contribution", json_real(it->contrib[t]));
        }
        bad = !st || json_array_append_new(steps, st);
    }
    tot->scored++;
    tot->steps += n;
    tot->solved += it->solved;
    tot->final_reward += r[n];
    tot->ret1 += G[0];
    for (size_t t = 0; t < n; t++) {
        tot->succ += it->succ[t];
        tot->contrib += it->contrib[t];
        tot->step_reward += r[t];
    }
    free(r);
    free(G);
    if (bad || json_array_append_new(items, o))
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    return ASSAY_OK;
oom:
    json_decref(o);
    return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
}

/* Pass rate per judge run: the runs' labels (given is_solved or LLM
 * statuses) averaged over the items that have that run. */
static json_t *per_run_pass(st_state *s, st_item *items, size_t n)
{
    json_t *keys = json_object(); /* run -> [sum, count] */
    if (!keys)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        st_item *it = &items[i];
        if (it->status != JC_S_OK)
            continue;
        json_t *labels = NULL;
        if (!strcmp(it->solved_from, "given")) {
            labels = json_incref(it->t.is_solved);
        } else if (!strcmp(it->solved_from, "llm")) {
            labels = json_object();
            for (unsigned k = 0; labels && k < s->runs; k++) {
                const json_t *rj = json_array_get(it->runs, k);
                const json_t *st = json_object_get(rj, "final_answer_status");
                char key[16];
                snprintf(key, sizeof key, "%u", k);
                if (st)
                    json_object_set(labels, key, (json_t *)st);
            }
        }
        const char *k;
        json_t *v;
        json_object_foreach(labels, k, v)
        {
            double x = st_status_value(json_string_value(v));
            json_t *acc = json_object_get(keys, k);
            if (x < 0)
                continue;
            if (!acc) {
                acc = json_pack("[f, i]", 0.0, 0);
                json_object_set_new(keys, k, acc);
            }
            json_array_set_new(
                acc, 0, json_real(json_real_value(json_array_get(acc, 0)) + x));
            json_array_set_new(
                acc, 1,
                json_integer(json_integer_value(json_array_get(acc, 1)) + 1));
        }
        json_decref(labels);
    }
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(keys, k, v)
    {
        double c = (double)json_integer_value(json_array_get(v, 1));
        if (out && c > 0)
            json_object_set_new(
                out, k,
                json_real(100.0 * json_real_value(json_array_get(v, 0)) / c));
    }
    json_decref(keys);
    return out;
}

static json_t *summary(st_state *s, const st_totals *t, st_item *items,
                       size_t n, const jc_runner *r)
{
    double sc = t->scored ? (double)t->scored : 1.0;
    double ns = t->steps ? (double)t->steps : 1.0;
    static const char *const ann[] = {"rule", "llm", "given"};
    json_t *o = json_pack(
        "{s:I, s:I, s:I, s:I, s:s, s:f, s:f, s:b}", "items", (json_int_t)n,
        "scored", (json_int_t)t->scored, "failed", (json_int_t)t->failed,
        "invalid", (json_int_t)t->invalid, "annotator", ann[s->annotator],
        "alpha", s->alpha, "gamma", s->gamma, "normalize", s->normalize);
    if (!o)
        return NULL;
    if (t->scored) {
        json_object_set_new(o, "pass_rate", json_real(100.0 * t->solved / sc));
        json_object_set_new(o, "steps_mean", json_real((double)t->steps / sc));
        json_object_set_new(o, "final_reward_mean",
                            json_real(t->final_reward / sc));
        json_object_set_new(o, "return_mean", json_real(t->ret1 / sc));
    }
    if (t->steps) {
        json_object_set_new(o, "succ_rate", json_real(t->succ / ns));
        json_object_set_new(o, "contribution_mean", json_real(t->contrib / ns));
        json_object_set_new(o, "step_reward_mean",
                            json_real(t->step_reward / ns));
    }
    json_t *pr = per_run_pass(s, items, n);
    if (pr && json_object_size(pr) > 0) {
        double m = 0, v = 0, k = (double)json_object_size(pr);
        const char *key;
        json_t *x;
        json_object_foreach(pr, key, x) m += json_real_value(x);
        m /= k;
        json_object_foreach(pr, key, x) v +=
            (json_real_value(x) - m) * (json_real_value(x) - m);
        json_object_set_new(o, "pass_rate_runs", pr);
        json_object_set_new(o, "pass_rate_runs_mean", json_real(m));
        json_object_set_new(o, "pass_rate_runs_std",
                            json_real(k > 1 ? sqrt(v / k) : 0.0));
    } else {
        json_decref(pr);
    }
    if (s->annotator == ANN_LLM)
        json_object_set_new(o, "llm", jc_info(s->h, s->endpoint, r, n));
    return o;
}

static int st_run_cb(void *state, assay_io *io, assay_error *err)
{
    st_state *s = state;
    const assay_host *h = s->h;
    const json_t *recs = h->in_records(io, "items");
    size_t n = json_array_size(recs);
    st_run run = {.s = s, .n = n};
    json_t *items = json_array(), *steps = json_array(), *sum = NULL;
    st_totals tot = {0};
    int rc = ASSAY_OK;
    jc_runner_init(&run.r, h, s->endpoint, s->params, llm_done, &run);
    run.items = calloc(n ? n : 1, sizeof *run.items);
    if (!run.items || !items || !steps) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        st_item *it = &run.items[i];
        const json_t *rec = json_array_get(recs, i);
        if ((rc = st_traj_read(rec, i, &it->t, err)))
            goto done;
        it->read = true;
        it->status = JC_S_OK;
        size_t m = it->t.nsteps + 1;
        it->succ = calloc(m, sizeof *it->succ);
        it->contrib = calloc(m, sizeof *it->contrib);
        it->ratio = calloc(m, sizeof *it->ratio);
        it->why = calloc(m, sizeof *it->why);
        if (!it->succ || !it->contrib || !it->ratio || !it->why) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto done;
        }
        /* intermediate steps */
        if (s->annotator == ANN_RULE) {
            if ((rc = annotate_rules(s, it, err)))
                goto done;
        } else if (s->annotator == ANN_GIVEN) {
            if (!it->t.process_reward) {
                rc = assay_error_set(err, ASSAY_EDATA,
                                     "record %zu: missing field "
                                     "'process_reward' (annotator: given)",
                                     i);
                goto done;
            }
            if ((rc = given_means(it->t.process_reward, "succeed_tool_calling",
                                  it->t.nsteps, 1.0, it->succ, i, err)) ||
                (rc = given_means(it->t.process_reward, "contributions",
                                  it->t.nsteps, 5.0, it->contrib, i, err)))
                goto done;
        } else {
            it->calls = calloc(s->runs, sizeof *it->calls);
            it->runs = json_array();
            it->raw = json_array();
            if (!it->calls || !it->runs || !it->raw) {
                rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
                goto done;
            }
            for (unsigned k = 0; k < s->runs; k++) {
                json_array_append_new(it->runs, json_null());
                json_array_append_new(it->raw, json_null());
                char *sys = NULL, *usr = NULL;
                if ((rc = render(s, rec, i, it, &sys, &usr, err)))
                    goto done;
                syn_call_init(&it->calls[k], sys, usr, s->repair,
                              s->max_repairs, i, k);
                if ((rc = jc_runner_add(&run.r, &it->calls[k], err)))
                    goto done;
            }
        }
        /* final step */
        bool given = it->t.is_solved != NULL;
        if (s->final == FIN_GIVEN ||
            (s->final == FIN_AUTO && s->annotator != ANN_LLM && given)) {
            if (!given) {
                rc = assay_error_set(err, ASSAY_EDATA,
                                     "record %zu: missing field "
                                     "'is_solved' (final: given)",
                                     i);
                goto done;
            }
            if ((rc = given_solved(it->t.is_solved, &it->solved, i, err)))
                goto done;
            it->solved_from = "given";
        } else if (s->final == FIN_RULE ||
                   (s->final == FIN_AUTO && s->annotator != ANN_LLM)) {
            it->solved = rule_solved(&it->t);
            it->solved_from = "rule";
        }
    }
    if (s->annotator == ANN_LLM) {
        if ((rc = jc_runner_run(&run.r, err)))
            goto done;
        if (h->cancelled(h)) {
            rc = assay_error_set(err, ASSAY_ECANCELED, "cancelled");
            goto done;
        }
        for (size_t i = 0; i < n; i++) {
            st_item *it = &run.items[i];
            double keep = it->solved;
            const char *from = it->solved_from;
            llm_aggregate(s, it);
            if (from) { /* final: given or rule overrides the LLM's */
                it->solved = keep;
                it->solved_from = from;
            }
        }
    }
    for (size_t i = 0; i < n; i++)
        if ((rc = item_output(s, json_array_get(recs, i), i, &run.items[i],
                              items, steps, &tot, err)))
            goto done;
    if (tot.failed || tot.invalid)
        h->log(h, ASSAY_LOG_WARN,
               "%zu of %zu trajectories not scored (%zu failed, %zu "
               "unreadable); see status/error in items",
               tot.failed + tot.invalid, n, tot.failed, tot.invalid);
    if (!(sum = summary(s, &tot, run.items, n, &run.r))) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    h->progress(h, n, n, "trajectories");
    rc = h->out_records(io, "items", items, err);
    items = NULL;
    if (rc == 0)
        rc = h->out_records(io, "steps", steps, err);
    else
        json_decref(steps);
    steps = NULL;
    if (rc == 0)
        rc = h->out_json(io, "summary", sum, err);
    else
        json_decref(sum);
    sum = NULL;
done:
    for (size_t i = 0; run.items && i < n; i++)
        item_free(&run.items[i], s->runs);
    free(run.items);
    json_decref(items);
    json_decref(steps);
    json_decref(sum);
    jc_runner_free(&run.r);
    return rc;
}

static int st_estimate(void *state, assay_io *io, assay_estimate *est,
                       assay_error *err)
{
    st_state *s = state;
    (void)err;
    est->endpoint = s->endpoint;
    if (s->annotator != ANN_LLM)
        return ASSAY_OK;
    const json_t *recs = jc_estimate_items(s->h, io, "items", s->runs);
    if (!recs)
        return ASSAY_OK;
    size_t n = json_array_size(recs);
    uint64_t chars = 0;
    for (size_t i = 0; i < n; i++) {
        st_traj t;
        assay_error e;
        if (st_traj_read(json_array_get(recs, i), i, &t, &e))
            continue;
        chars += 1500 + strlen(t.query) + strlen(t.final_answer);
        for (size_t k = 0; k < t.nsteps; k++) {
            size_t rl = strlen(t.steps[k].response);
            chars += strlen(t.steps[k].arguments) + 64 +
                     (rl > s->max_chars ? s->max_chars : rl);
        }
        st_traj_free(&t);
    }
    jc_estimate_fill(est, s->endpoint, (uint64_t)n * s->runs, chars * s->runs,
                     s->params, ST_EST_COMPLETION);
    return ASSAY_OK;
}

static const assay_plugin st_plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "score.steptool",
    .kind = "scorer",
    .version = "1.0.0",
    .summary = "StepTool step-grained rewards for tool-use trajectories "
               "(rule, LLM or given annotations), returns and pass rates",
    .doc = "Implements the step-grained reward shaping of StepTool (Yu et "
           "al., \"StepTool: Enhancing Multi-Step Tool Usage in LLMs through "
           "Step-Grained Reinforcement Learning\", arXiv 2410.07745): every "
           "intermediate tool call t gets r_t = alpha * SuccCalling_t + "
           "Contribution_t (divided by alpha + 1 when normalize is set, so "
           "rewards lie in [0, 1]), the final step gets r_T = IsSolved "
           "(Solved 1, Unsure 0.5, Unsolved 0), and the discounted returns "
           "G_t = sum_{i>=t} gamma^(i-t) r_i are given for analysis (the "
           "paper's form: the released PPO code's (n - idx - 1) step weights "
           "are not reproduced).\n"
           "annotator: rule follows StepTool's annotation notebook: a call "
           "fails when the tool message's error is not empty, a dict "
           "response has status 400, or a string response contains "
           "\"wrong\", \"error\" or \"is empty\" or starts with \"Please\" "
           "(case-insensitive; empty responses fail with empty_fails); list, "
           "number and boolean responses succeed; ToolBench's cut-off JSON "
           "messages are read leniently.  Contribution is 1 when "
           "LCS(response, final answer) / len(response) >= lcs_threshold "
           "(0.3; LCS over characters or words).  annotator: llm asks "
           "endpoint `llm` `runs` times (sample indices 0..runs-1) for the "
           "arguments of evaluate_process_reward as JSON (0/1 success and "
           "0-5 contribution per step, Solved/Unsure/Unsolved); unreadable "
           "answers get repair turns; the usable runs are averaged "
           "(contribution / 5); structured: json_object or json_schema asks "
           "the server for that response_format.  annotator: given averages "
           "the process_reward runs the data carries.  IsSolved (final): the "
           "LLM's, the data's is_solved runs averaged, or a rule proxy (1 "
           "when Finish gave a non-empty answer, else 0).\n"
           "Input: {query, steps: [{name, arguments, response}], "
           "final_answer} records, StepTool reward-annotation and "
           "StableToolBench pass-rate records (answer_steps / final_step "
           "Python reprs, process_reward, is_solved), or StepTool converted "
           "predictions (answer.answer_details trees); source.steptool reads "
           "those JSON files.\n"
           "Outputs: items (succ, contribution, rewards r_1..r_T, returns, "
           "is_solved, status; rule details succ_why and lcs_ratio; LLM runs "
           "and raw answers), steps (one record per step), summary "
           "(pass_rate = 100 x mean IsSolved, per-run pass rates with mean "
           "and std as StableToolBench reports them, success-call rate, mean "
           "rewards and returns).  A failed LLM run is recorded in the item; "
           "an item with no usable run has status failed/invalid and no "
           "rewards (on_error: fail stops the node instead).\n\n"
           "Default template (steptool.txt):\n" SCORE_TPL_STEPTOOL,
    .inputs = st_inputs,
    .outputs = st_outputs,
    .options = st_options,
    /* the model layer (or annotator) talks to the LLM service when `llm`
     * is set: estimates for --dry-run, never an isolated worker */
    .flags = ASSAY_F_ALL_ITEMS | ASSAY_F_NEEDS_LLM,
    .create = st_create,
    .run = st_run_cb,
    .destroy = st_destroy,
    .estimate = st_estimate,
};

/* ---- source.steptool -------------------------------------------------- */

typedef struct src_state {
    const assay_host *h;
    char *path;
    int64_t limit;
} src_state;

static const assay_port src_outputs[] = {
    {.name = "records",
     .type = ASSAY_T_RECORDS,
     .doc = "one record per trajectory, with its key as `id`"},
    {0}};

static const assay_option src_options[] = {
    {.name = "path",
     .type = ASSAY_OPT_STRING,
     .required = true,
     .doc = "JSON file (object keyed by id, or list) or JSON Lines file"},
    {.name = "limit",
     .type = ASSAY_OPT_INT,
     .def = "0",
     .has_min = true,
     .min = 0,
     .doc = "read at most this many records (0: all)"},
    {0}};

static void src_destroy(void *state)
{
    src_state *s = state;
    if (s)
        free(s->path);
    free(s);
}

static int src_create(const assay_host *h, const json_t *o, void **state,
                      assay_error *err)
{
    src_state *s = calloc(1, sizeof *s);
    if (!s || !(s->path = jc_strdup(assay_opt_str(o, "path")))) {
        free(s);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    s->h = h;
    s->limit = assay_opt_int(o, "limit");
    *state = s;
    return ASSAY_OK;
}

/* Append `v` (an object) to `out`, with key `id` unless it has one. */
static int src_add(json_t *out, json_t *v, const char *id)
{
    json_t *r = json_copy(v);
    if (!r)
        return ASSAY_ENOMEM;
    if (id && !json_object_get(r, "id") &&
        json_object_set_new(r, "id", json_string(id))) {
        json_decref(r);
        return ASSAY_ENOMEM;
    }
    return json_array_append_new(out, r) ? ASSAY_ENOMEM : ASSAY_OK;
}

static int src_run(void *state, assay_io *io, assay_error *err)
{
    src_state *s = state;
    char path[PATH_MAX];
    int rc = s->h->resolve_path(s->h, s->path, path, sizeof path, err);
    if (rc)
        return rc;
    json_error_t je;
    json_t *doc = json_load_file(path, JSON_DECODE_ANY, &je), *out;
    if (!(out = json_array())) {
        json_decref(doc);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    size_t limit = s->limit > 0 ? (size_t)s->limit : SIZE_MAX;
    if (json_is_object(doc) && !json_object_get(doc, "query")) {
        const char *k;
        json_t *v;
        json_object_foreach(doc, k, v)
        {
            if (json_array_size(out) >= limit)
                break;
            if (!json_is_object(v)) {
                rc = assay_error_set(err, ASSAY_EDATA,
                                     "%s: key '%s': expected an object",
                                     s->path, k);
                goto done;
            }
            if ((rc = src_add(out, v, k)))
                goto nomem;
        }
    } else if (json_is_object(doc)) {
        if ((rc = src_add(out, doc, NULL)))
            goto nomem;
    } else if (json_is_array(doc)) {
        size_t i;
        json_t *v;
        json_array_foreach(doc, i, v)
        {
            if (json_array_size(out) >= limit)
                break;
            if (!json_is_object(v)) {
                rc = assay_error_set(err, ASSAY_EDATA,
                                     "%s: item %zu: expected an object",
                                     s->path, i);
                goto done;
            }
            if ((rc = src_add(out, v, NULL)))
                goto nomem;
        }
    } else {
        /* JSON Lines */
        FILE *f = fopen(path, "r");
        if (!f) {
            rc = assay_error_set(err, ASSAY_EIO, "%s: cannot open", s->path);
            goto done;
        }
        char *line = NULL;
        size_t cap = 0, lineno = 0;
        ssize_t len;
        while ((len = getline(&line, &cap, f)) >= 0 &&
               json_array_size(out) < limit) {
            lineno++;
            if (jc_blank(line))
                continue;
            json_t *v = json_loadb(line, (size_t)len, 0, &je);
            if (!json_is_object(v)) {
                json_decref(v);
                rc = assay_error_set(err, ASSAY_EDATA, "%s:%zu:%d: %s", s->path,
                                     lineno, je.column,
                                     v ? "expected an object" : je.text);
                break;
            }
            rc = json_array_append_new(out, v) ? ASSAY_ENOMEM : ASSAY_OK;
            if (rc)
                break;
        }
        free(line);
        fclose(f);
        if (rc == ASSAY_ENOMEM)
            goto nomem;
        if (rc)
            goto done;
    }
    json_decref(doc);
    return s->h->out_records(io, "records", out, err);
nomem:
    rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
done:
    json_decref(doc);
    json_decref(out);
    return rc;
}

static const assay_plugin src_plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "source.steptool",
    .kind = "source",
    .version = "1.0.0",
    .summary = "Read StepTool / StableToolBench trajectory files",
    .doc = "Reads the JSON files of StepTool and StableToolBench (reward "
           "annotations, pass-rate results, converted predictions): a JSON "
           "object keyed by query id becomes one record per key, with the "
           "key added as `id`; a JSON list gives its objects; anything "
           "else is read as JSON Lines.  Feed the records to "
           "score.steptool.",
    .outputs = src_outputs,
    .options = src_options,
    .flags = ASSAY_F_DETERMINISTIC | ASSAY_F_CHEAP | ASSAY_F_NO_CACHE,
    .create = src_create,
    .run = src_run,
    .destroy = src_destroy,
};

static const assay_plugin *const st_list[] = {&st_plugin, &src_plugin, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi)
{
    (void)host_abi;
    return st_list;
}
