/*
 * judge.pairwise - an LLM judge compares two responses to one instruction
 * (MT-Bench pairwise layout), optionally against a reference answer, in
 * one or both orders (swap), with k samples per order (Maj@k), and writes
 * the verdicts and a judge-reliability report.
 */
#include <assay/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jc_cce.h"
#include "jc_opts.h"
#include "jc_text.h"
#include "jc_verdict.h"
#include "pairwise_tpl.h"

/* Completion tokens assumed per request when params give no max_tokens. */
#define PW_EST_COMPLETION 512

typedef struct pw_state {
    const assay_host *h;
    char *endpoint;
    const char *endpoint_opt; /* the options' string, for estimate() */
    json_t *params;
    jc_prompt prompt;
    char *repair;
    char *f_input, *f_out1, *f_out2, *f_label, *f_id, *f_subset, *f_ref;
    char *rubric;
    bool ties, swap, on_error_record;
    int swap_policy;
    unsigned samples, max_repairs;
    jc_rel_opts rel;
} pw_state;

static const assay_port pw_inputs[] = {
    {.name = "items",
     .type = ASSAY_T_RECORDS,
     .required = true,
     .doc = "pairs: instruction, two responses, optional gold label, "
            "reference and subset"},
    {0}};

static const assay_port pw_outputs[] = {
    {.name = "verdicts",
     .type = ASSAY_T_RECORDS,
     .doc = "one record per pair: verdict, status, gold, correct, per-order "
            "votes and raw answers",
     .chart = "table"},
    {.name = "reliability",
     .type = ASSAY_T_JSON,
     .doc = "accuracy with bootstrap CI, per subset, position consistency, "
            "invalid rate, length bias",
     .chart = "bar"},
    {.name = "info",
     .type = ASSAY_T_JSON,
     .doc = "endpoint description (no key), requests, tokens"},
    {0}};

static const assay_option pw_options[] = {
    JC_OPT_LLM,
    JC_OPT_PARAMS,
    {.name = "template",
     .type = ASSAY_OPT_STRING,
     .doc = "prompt template text overriding the built-in one (see doc)"},
    {.name = "template_file",
     .type = ASSAY_OPT_STRING,
     .doc = "file holding the prompt template (relative to the YAML)"},
    JC_OPT_PAIR_FIELDS,
    {.name = "reference_field",
     .type = ASSAY_OPT_STRING,
     .doc = "item field with a reference answer (human or revised); "
            "unset: reference-free"},
    {.name = "rubric",
     .type = ASSAY_OPT_STRING,
     .doc = "criteria sentence for the prompt (default: the general "
            "helpfulness criteria)"},
    {.name = "ties",
     .type = ASSAY_OPT_BOOL,
     .def = "false",
     .doc = "allow the judge to answer [[C]] (a tie)"},
    {.name = "swap",
     .type = ASSAY_OPT_BOOL,
     .def = "false",
     .doc = "judge both orders and report a verdict only when they agree"},
    {.name = "swap_policy",
     .type = ASSAY_OPT_ENUM,
     .def = "\"tie\"",
     .choices = "tie|first|invalid",
     .doc = "verdict when the two orders disagree: tie, the first order's, "
            "or invalid"},
    {.name = "samples",
     .type = ASSAY_OPT_INT,
     .def = "1",
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 64,
     .doc = "answers per order, combined by majority vote (Maj@k); set a "
            "temperature in params"},
    JC_OPT_MAX_REPAIRS,
    JC_OPT_ON_ERROR,
    JC_OPT_RELIABILITY,
    {0}};

static void pw_destroy(void *state)
{
    pw_state *s = state;
    if (!s)
        return;
    free(s->endpoint);
    json_decref(s->params);
    jc_prompt_free(&s->prompt);
    free(s->repair);
    free(s->f_input);
    free(s->f_out1);
    free(s->f_out2);
    free(s->f_label);
    free(s->f_id);
    free(s->f_subset);
    free(s->f_ref);
    free(s->rubric);
    free(s);
}

/* Duplicate an optional string option (NULL stays NULL); false on
 * ENOMEM. */
static int pw_create(const assay_host *h, const json_t *o, void **state,
                     assay_error *err)
{
    pw_state *s = calloc(1, sizeof *s);
    int rc;
    if (!s)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    s->h = h;
    s->endpoint_opt = assay_opt_str(o, "llm");
    if (!jc_opt_strdup(o, "llm", &s->endpoint) ||
        !jc_opt_strdup(o, "input_field", &s->f_input) ||
        !jc_opt_strdup(o, "output_1_field", &s->f_out1) ||
        !jc_opt_strdup(o, "output_2_field", &s->f_out2) ||
        !jc_opt_strdup(o, "label_field", &s->f_label) ||
        !jc_opt_strdup(o, "id_field", &s->f_id) ||
        !jc_opt_strdup(o, "subset_field", &s->f_subset) ||
        !jc_opt_strdup(o, "reference_field", &s->f_ref) ||
        !jc_opt_strdup(o, "rubric", &s->rubric)) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto fail;
    }
    s->ties = assay_opt_bool(o, "ties");
    s->swap = assay_opt_bool(o, "swap");
    const char *pol = assay_opt_str(o, "swap_policy");
    s->swap_policy = !strcmp(pol, "first")     ? JC_SWAP_FIRST
                     : !strcmp(pol, "invalid") ? JC_SWAP_INVALID
                                               : JC_SWAP_TIE;
    s->samples = (unsigned)assay_opt_int(o, "samples");
    s->max_repairs = (unsigned)assay_opt_int(o, "max_repairs");
    s->on_error_record = !strcmp(assay_opt_str(o, "on_error"), "record");
    jc_rel_opts_get(h, o, &s->rel);
    json_t *p = json_object_get(o, "params");
    if (json_is_object(p) && !(s->params = json_deep_copy(p))) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto fail;
    }
    rc = jc_prompt_option(h, o, "template", "template_file", JUDGE_TPL_PAIRWISE,
                          &s->prompt, err);
    if (rc)
        goto fail;
    if (s->f_ref && !jc_prompt_uses(&s->prompt, "reference"))
        h->log(h, ASSAY_LOG_WARN,
               "reference_field is set but the template never uses "
               "{{reference}}");
    if (s->prompt.repair && s->max_repairs) {
        json_t *ctx = json_pack("{s:b}", "ties", s->ties);
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
    pw_destroy(s);
    return rc;
}

/* The fields of item `i` the judge needs. */
typedef struct pw_item {
    const char *input, *out1, *out2, *ref, *subset;
    int gold;
    bool no_ref; /* reference_field set but the item has none */
} pw_item;

static int pw_read_item(const pw_state *s, const json_t *rec, size_t i,
                        pw_item *it, assay_error *err)
{
    int rc;
    memset(it, 0, sizeof *it);
    if ((rc = assay_rec_str(rec, i, s->f_input, &it->input, err)) ||
        (rc = assay_rec_str(rec, i, s->f_out1, &it->out1, err)) ||
        (rc = assay_rec_str(rec, i, s->f_out2, &it->out2, err)) ||
        (rc = jc_gold_label(rec, i, s->f_label, &it->gold, err)) ||
        (rc = jc_rec_opt_str(rec, i, s->f_subset, &it->subset, err)))
        return rc;
    if (s->f_ref) {
        if ((rc = jc_rec_opt_str(rec, i, s->f_ref, &it->ref, err)))
            return rc;
        if (!it->ref) {
            if (!s->on_error_record)
                return assay_error_set(err, ASSAY_EDATA,
                                       "record %zu: missing field '%s' "
                                       "(the reference answer)",
                                       i, s->f_ref);
            it->no_ref = true;
        }
    }
    return ASSAY_OK;
}

/* Render the prompt of item `i` in order `ord` (1: swapped). */
static int pw_render(const pw_state *s, const json_t *rec, size_t i,
                     const pw_item *it, int ord, char **sys, char **usr,
                     assay_error *err)
{
    const char *kv[] = {"question",  it->input,
                        "answer_a",  ord ? it->out2 : it->out1,
                        "answer_b",  ord ? it->out1 : it->out2,
                        "reference", it->ref,
                        "rubric",    s->rubric,
                        NULL};
    json_t *ctx = jc_context(rec, kv);
    if (!ctx || json_object_set_new(ctx, "ties", json_boolean(s->ties))) {
        json_decref(ctx);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    int rc = jc_prompt_render(&s->prompt, ctx, i, sys, usr, err);
    json_decref(ctx);
    return rc;
}

static unsigned pw_orders(const pw_state *s)
{
    return s->swap ? 2 : 1;
}

static int pw_estimate(void *state, assay_io *io, assay_estimate *est,
                       assay_error *err)
{
    pw_state *s = state;
    uint64_t per_item =
        (uint64_t)pw_orders(s) * s->samples * (1 + s->max_repairs);
    const json_t *recs = jc_estimate_items(s->h, io, "items", per_item);
    uint64_t chars = 0;
    est->endpoint = s->endpoint_opt;
    if (!recs)
        return ASSAY_OK;
    size_t n = json_array_size(recs);
    for (size_t i = 0; i < n; i++) {
        const json_t *rec = json_array_get(recs, i);
        pw_item it;
        char *sys, *usr;
        int rc = pw_read_item(s, rec, i, &it, err);
        if (rc == 0 && it.no_ref)
            continue;
        if (rc == 0)
            rc = pw_render(s, rec, i, &it, 0, &sys, &usr, err);
        if (rc)
            return rc;
        chars += (strlen(usr) + (sys ? strlen(sys) : 0)) * per_item;
        free(sys);
        free(usr);
    }
    jc_estimate_fill(est, s->endpoint_opt, per_item * n, chars, s->params,
                     PW_EST_COMPLETION);
    return ASSAY_OK;
}

typedef struct pw_run {
    pw_state *s;
    jc_call *calls;
} pw_run;

/* A resolved question: fail the node on a failed request unless failures
 * are recorded; free the prompts. */
static int pw_done(void *ud, jc_runner *r, jc_call *c, assay_error *err)
{
    pw_run *run = ud;
    (void)r;
    jc_call_drop_prompts(c);
    if (c->status == JC_S_FAILED && !run->s->on_error_record)
        return assay_error_set(err, jc_failure_code(c->error),
                               "record %zu: %s (set on_error: record to "
                               "keep going)",
                               c->item, c->error);
    return ASSAY_OK;
}

/* Votes of one order's samples -> {verdict, votes, answers}; *v gets the
 * majority verdict in the original labels, *failed whether a sample
 * failed. */
static json_t *pw_order_json(const pw_state *s, const jc_call *c, int ord,
                             int *v, bool *failed)
{
    int *votes = calloc(s->samples, sizeof *votes);
    size_t cnt[5] = {0, 0, 0, 0, 0};
    json_t *answers = json_array(), *o = NULL;
    bool put_ok = true;
    *failed = false;
    if (!votes || !answers)
        goto oom;
    for (unsigned k = 0; k < s->samples; k++) {
        const jc_call *x = &c[k];
        int mv = x->status == JC_S_OK ? x->verdict : JC_V_NONE;
        if (ord)
            mv = jc_verdict_flip(mv);
        votes[k] = mv;
        *failed |= x->status == JC_S_FAILED;
        cnt[x->status == JC_S_OK ? mv : 4]++;
        json_t *raws = jc_call_raws(x);
        const char *vn = jc_verdict_name(mv);
        json_t *a = json_pack("{s:o, s:s, s:o, s:I}", "verdict",
                              vn ? json_string(vn) : json_null(), "status",
                              jc_status_name(x->status), "answers",
                              raws ? raws : json_null(), "repairs",
                              (json_int_t)x->repairs);
        if (!raws || !a || json_array_append_new(answers, a))
            goto oom;
        if (x->status == JC_S_INVALID)
            put_ok &= jc_put(a, "why", json_string(jc_why_name(x->why)));
        if (x->status == JC_S_FAILED)
            put_ok &= jc_put(a, "error", json_string(x->error));
    }
    if (!put_ok)
        goto oom;
    *v = *failed ? JC_V_NONE : jc_majority(votes, s->samples);
    const char *vn = jc_verdict_name(*v);
    o = json_pack("{s:s, s:o, s:{s:I, s:I, s:I, s:I}, s:o}", "order",
                  ord ? "BA" : "AB", "verdict",
                  vn ? json_string(vn) : json_null(), "votes", "A",
                  (json_int_t)cnt[JC_V_A], "B", (json_int_t)cnt[JC_V_B], "tie",
                  (json_int_t)cnt[JC_V_TIE], "invalid", (json_int_t)cnt[4],
                  "samples", answers);
    answers = NULL;
    if (!o)
        goto oom;
    free(votes);
    return o;
oom:
    free(votes);
    json_decref(answers);
    return NULL;
}

static int pw_run_node(void *state, assay_io *io, assay_error *err)
{
    pw_state *s = state;
    const assay_host *h = s->h;
    const json_t *recs = h->in_records(io, "items");
    size_t n = json_array_size(recs), per = pw_orders(s) * s->samples;
    size_t ncalls = n * per, i;
    pw_item *items = calloc(n ? n : 1, sizeof *items);
    jc_call *calls = calloc(ncalls ? ncalls : 1, sizeof *calls);
    jc_rel_item *rel = calloc(n ? n : 1, sizeof *rel);
    json_t *out = json_array(), *report = NULL;
    pw_run run = {s, calls};
    jc_runner r;
    int rc = ASSAY_OK;
    jc_runner_init(&r, h, s->endpoint, s->params, pw_done, &run);
    if (!items || !calls || !rel || !out) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    for (i = 0; i < n; i++) {
        const json_t *rec = json_array_get(recs, i);
        if ((rc = pw_read_item(s, rec, i, &items[i], err)) != 0)
            goto done;
        if (items[i].no_ref)
            continue;
        for (unsigned ord = 0; ord < pw_orders(s); ord++) {
            char *sys, *usr;
            if ((rc = pw_render(s, rec, i, &items[i], (int)ord, &sys, &usr,
                                err)) != 0)
                goto done;
            for (unsigned k = 0; k < s->samples; k++) {
                jc_call *c = &calls[i * per + ord * s->samples + k];
                c->system = k + 1 < s->samples ? jc_strdup(sys) : sys;
                c->user = k + 1 < s->samples ? jc_strdup(usr) : usr;
                if ((sys && !c->system) || !c->user) {
                    if (k + 1 < s->samples) {
                        free(sys);
                        free(usr);
                    }
                    rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
                    goto done;
                }
                c->parse = JC_PARSE_PAIR;
                c->ties = s->ties;
                c->repair = s->repair;
                c->max_repairs = s->max_repairs;
                c->sample = k;
                c->item = i;
                if ((rc = jc_runner_add(&r, c, err)) != 0)
                    goto done;
            }
        }
    }
    if ((rc = jc_runner_run(&r, err)) != 0)
        goto done;
    if (h->cancelled(h)) {
        rc = assay_error_set(err, ASSAY_ECANCELED, "cancelled");
        goto done;
    }
    for (i = 0; i < n; i++) {
        const json_t *rec = json_array_get(recs, i);
        const pw_item *it = &items[i];
        json_t *v = json_object(), *orders = json_array();
        int ov[2] = {JC_V_NONE, JC_V_NONE}, verdict = JC_V_NONE;
        bool failed = it->no_ref, consistent = false, put_ok = true;
        if (!v || !orders ||
            jc_verdict_base(h, v, rec, i, s->f_id, s->f_subset)) {
            json_decref(v);
            json_decref(orders);
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto done;
        }
        for (unsigned ord = 0; !it->no_ref && ord < pw_orders(s); ord++) {
            bool f;
            json_t *o = pw_order_json(s, &calls[i * per + ord * s->samples],
                                      (int)ord, &ov[ord], &f);
            failed |= f;
            if (!o || json_array_append_new(orders, o)) {
                json_decref(v);
                json_decref(orders);
                rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
                goto done;
            }
        }
        if (!failed)
            verdict = s->swap ? jc_swap_combine(ov[0], ov[1], s->swap_policy,
                                                &consistent)
                              : ov[0];
        const char *vn = jc_verdict_name(verdict),
                   *gn = jc_verdict_name(it->gold);
        const char *status = failed                 ? "failed"
                             : verdict == JC_V_NONE ? "invalid"
                                                    : "ok";
        put_ok &= jc_put(v, "verdict", vn ? json_string(vn) : json_null());
        put_ok &= jc_put(v, "status", json_string(status));
        put_ok &= jc_put(v, "gold", gn ? json_string(gn) : json_null());
        put_ok &= jc_put(v, "correct",
                         it->gold == JC_V_NONE
                             ? json_null()
                             : json_boolean(!failed && verdict != JC_V_NONE &&
                                            verdict == it->gold));
        if (s->swap)
            put_ok &= jc_put(v, "consistent",
                             ov[0] != JC_V_NONE && ov[1] != JC_V_NONE
                                 ? json_boolean(consistent)
                                 : json_null());
        if (it->no_ref)
            put_ok &= jc_put(v, "error",
                             json_string("no reference answer (an "
                                         "upstream failure?)"));
        put_ok &= jc_put(v, "orders", orders);
        if (!put_ok || json_array_append_new(out, v)) {
            if (!put_ok)
                json_decref(v);
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto done;
        }
        rel[i] = (jc_rel_item){.gold = it->gold,
                               .verdict = verdict,
                               .failed = failed,
                               .swapped = s->swap,
                               .order = {ov[0], ov[1]},
                               .len1 = jc_utf8_len(it->out1),
                               .len2 = jc_utf8_len(it->out2),
                               .subset = it->subset};
    }
    report = jc_reliability(rel, n, &r.counts[0], &s->rel);
    json_t *info = jc_info(h, s->endpoint, &r, n);
    if (!report || !info) {
        json_decref(info);
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    if (!jc_put(info, "orders", json_integer(pw_orders(s))) ||
        !jc_put(info, "samples", json_integer(s->samples))) {
        json_decref(info);
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
done:
    for (i = 0; calls && i < ncalls; i++)
        jc_call_clear(&calls[i]);
    free(calls);
    free(items);
    free(rel);
    json_decref(out);
    json_decref(report);
    jc_runner_free(&r);
    return rc;
}

static const assay_plugin pw_plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "judge.pairwise",
    .kind = "judge",
    .version = "1.0.0",
    .summary = "LLM judge of two responses (A vs B), with position swap, "
               "Maj@k and a reliability report",
    .doc =
        "Asks the endpoint `llm` which of two responses to an instruction "
        "is better, using the MT-Bench pairwise layout (system message with "
        "criteria and output format; user message with [User Question], an "
        "optional [Reference Answer] and both answers between start/end "
        "markers).  The judge reasons first and ends with [[A]], [[B]] or, "
        "with ties: true, [[C]].\n"
        "Parsing takes the LAST verdict token of the answer (a token quoted "
        "earlier never decides; two different verdicts on the final line "
        "are ambiguous).  An answer without a usable verdict is re-asked up "
        "to max_repairs times with the short repair message as a follow-up "
        "turn; after that the pair is `invalid` (counted in the report, "
        "never scored as a verdict).\n"
        "swap: true judges both orders (A,B) and (B,A) and reports a verdict "
        "only when they agree; otherwise tie (swap_policy: tie), the first "
        "order's verdict (first) or invalid.  samples: k asks k answers per "
        "order (sample indices 0..k-1, distinct cache entries; give a "
        "temperature in params) and takes the majority (Maj@k; a split vote "
        "is a tie).  reference_field adds a reference answer (a human one, "
        "or one revised by reviser.reviseval) and the instruction to "
        "compare with it first.  Requests: items x orders x samples, plus "
        "repairs.\n"
        "Input items: LLMBar format by default (input, output_1, output_2, "
        "label: 1 or 2); label also accepts A/B/tie, 0/3 for a tie; items "
        "without it have no gold.  Output verdicts: {index, judge, id, "
        "subset, verdict (A = output_1 wins, B, tie or null), status (ok, "
        "invalid, failed), gold, correct, consistent (swap), orders: "
        "[{order, verdict, votes, samples: [{verdict, status, answers, "
        "repairs, why}]}]}.  A request the LLM service could not answer "
        "marks the pair failed (on_error: record, the default) or fails the "
        "node (on_error: fail); one not sent because the run is cancelled or "
        "the budget is spent stops the node.\n"
        "Output reliability: accuracy (invalid and failed count as wrong) "
        "and accuracy_valid with percentile bootstrap CIs, per-order "
        "accuracy (swap), per-subset accuracy (subset_field), position "
        "consistency and first-position rate, invalid-output rate, repairs, "
        "verdict counts and length bias (accuracy when the longer vs the "
        "shorter response is the gold winner, and how often the judge picks "
        "the longer one).\n"
        "Template: option `template` (text) or `template_file` overrides "
        "the prompt; messages are introduced by '@@ system @@', '@@ user @@' "
        "and '@@ repair @@' lines; {{field}} is an item field or one of "
        "question, answer_a, answer_b, reference, rubric, ties; "
        "{{#x}}..{{/x}} and {{^x}}..{{/x}} include text when x is (not) set."
        "\n\nDefault template (pairwise.txt):\n" JUDGE_TPL_PAIRWISE,
    .inputs = pw_inputs,
    .outputs = pw_outputs,
    .options = pw_options,
    .flags = ASSAY_F_ALL_ITEMS | ASSAY_F_NEEDS_LLM,
    .create = pw_create,
    .run = pw_run_node,
    .destroy = pw_destroy,
    .estimate = pw_estimate,
};

static const assay_plugin *const pw_list[] = {&pw_plugin, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi)
{
    (void)host_abi;
    return pw_list;
}
