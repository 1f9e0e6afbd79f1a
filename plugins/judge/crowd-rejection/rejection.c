/*
 * judge.crowd-rejection - crowd rejection sampling (CCE paper, section on
 * distillation data): among several responses to one instruction, keep
 * the one with the highest CCE win rate, the lowest-ranked responses
 * serving as the crowd.
 *
 * Per item with M responses (three stages, pipelined across items in one
 * stream):
 *   1. ranking: the vanilla pairwise judge on every ordered pair (i, j),
 *      M(M-1) calls; win rate = wins / 2(M-1);
 *   2. the crowd_size lowest-ranked responses become the crowd; every
 *      remaining candidate is judged against every crowd response in both
 *      positions, 2 x candidates x crowd calls;
 *   3. CCE: every ordered pair of candidates gets a final judgment whose
 *      context holds the selected, relabelled, outcome-removed crowd
 *      judgments of both; the candidate with the highest CCE win rate is
 *      chosen (ties: vanilla rate, then position in the list).
 */
#include <assay/plugin.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cce_tpl.h"
#include "jc_cce.h"
#include "jc_opts.h"
#include "jc_text.h"
#include "jc_verdict.h"
#include "pairwise_tpl.h"

#define CR_EST_COMPLETION 512
#define CR_MAX_RESPONSES 26

enum { ST_RANK = 1, ST_CROWD = 2, ST_FINAL = 3 };
enum { CLS_FINAL = 0, CLS_OTHER = 1 };

typedef struct cr_state {
    const assay_host *h;
    char *endpoint;
    const char *endpoint_opt; /* the options' string, for estimate() */
    json_t *params;
    jc_prompt final_p, judge_p;
    char *repair;
    char *f_input, *f_resp, *f_best, *f_id, *f_subset, *field;
    char field_index[160], field_model[160];
    unsigned crowd_size, max_repairs;
    size_t budget;
    int strategy;
    bool strip, on_error_record;
    jc_rel_opts rel;
} cr_state;

static const assay_port cr_inputs[] = {
    {.name = "items",
     .type = ASSAY_T_RECORDS,
     .required = true,
     .doc = "instructions, each with a list of candidate responses"},
    {0}};

static const assay_port cr_outputs[] = {
    {.name = "items",
     .type = ASSAY_T_RECORDS,
     .doc = "the items with the chosen response, win rates, crowd and "
            "every judgment",
     .chart = "table"},
    {.name = "reliability",
     .type = ASSAY_T_JSON,
     .doc = "accuracy of the choice against best_field (bootstrap CI, per "
            "subset), invalid rates, ranking position consistency",
     .chart = "bar"},
    {.name = "info",
     .type = ASSAY_T_JSON,
     .doc = "endpoint description (no key), requests per stage, tokens"},
    {0}};

static const assay_option cr_options[] = {
    JC_OPT_LLM,
    JC_OPT_PARAMS,
    {.name = "crowd_size",
     .type = ASSAY_OPT_INT,
     .def = "2",
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 24,
     .doc = "lowest-ranked responses used as the crowd (at most M - 2)"},
    {.name = "budget",
     .type = ASSAY_OPT_INT,
     .def = "16",
     .has_min = true,
     .min = 0,
     .has_max = true,
     .max = 1024,
     .doc = "K: crowd judgments in each final prompt"},
    {.name = "selection",
     .type = ASSAY_OPT_ENUM,
     .def = "\"criticizing\"",
     .choices = "criticizing|praising|random|balanced",
     .doc = "which crowd judgments to keep (see judge.cce)"},
    {.name = "outcome_removal",
     .type = ASSAY_OPT_BOOL,
     .def = "true",
     .doc = "delete each crowd judgment's verdict before the final prompt"},
    {.name = "template",
     .type = ASSAY_OPT_STRING,
     .doc = "final (CCE) prompt overriding cce.txt"},
    {.name = "template_file",
     .type = ASSAY_OPT_STRING,
     .doc = "file with the final prompt"},
    {.name = "judge_template",
     .type = ASSAY_OPT_STRING,
     .doc = "ranking and crowd-judgment prompt overriding the pairwise "
            "judge's"},
    {.name = "judge_template_file",
     .type = ASSAY_OPT_STRING,
     .doc = "file with the ranking and crowd-judgment prompt"},
    {.name = "input_field",
     .type = ASSAY_OPT_STRING,
     .def = "\"input\"",
     .doc = "item field with the instruction"},
    {.name = "responses_field",
     .type = ASSAY_OPT_STRING,
     .def = "\"responses\"",
     .doc = "item field with the candidates: strings or {model, response}"},
    {.name = "best_field",
     .type = ASSAY_OPT_STRING,
     .doc = "item field with the index (0-based) of the best response, "
            "for the reliability report"},
    {.name = "id_field",
     .type = ASSAY_OPT_STRING,
     .def = "\"id\"",
     .doc = "item field identifying the item in messages"},
    {.name = "field",
     .type = ASSAY_OPT_STRING,
     .def = "\"chosen\"",
     .doc = "output field with the chosen response (plus _index, _model)"},
    JC_OPT_MAX_REPAIRS,
    JC_OPT_ON_ERROR,
    JC_OPT_RELIABILITY,
    {0}};

static void cr_destroy(void *state)
{
    cr_state *s = state;
    if (!s)
        return;
    free(s->endpoint);
    json_decref(s->params);
    jc_prompt_free(&s->final_p);
    jc_prompt_free(&s->judge_p);
    free(s->repair);
    free(s->f_input);
    free(s->f_resp);
    free(s->f_best);
    free(s->f_id);
    free(s->f_subset);
    free(s->field);
    free(s);
}

static int cr_create(const assay_host *h, const json_t *o, void **state,
                     assay_error *err)
{
    cr_state *s = calloc(1, sizeof *s);
    int rc = ASSAY_OK;
    if (!s)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    s->h = h;
    s->endpoint_opt = assay_opt_str(o, "llm");
    if (!jc_opt_strdup(o, "llm", &s->endpoint) ||
        !jc_opt_strdup(o, "input_field", &s->f_input) ||
        !jc_opt_strdup(o, "responses_field", &s->f_resp) ||
        !jc_opt_strdup(o, "best_field", &s->f_best) ||
        !jc_opt_strdup(o, "id_field", &s->f_id) ||
        !jc_opt_strdup(o, "subset_field", &s->f_subset) ||
        !jc_opt_strdup(o, "field", &s->field)) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto fail;
    }
    if (!s->field[0] || strlen(s->field) > 100) {
        rc = assay_error_set(err, ASSAY_EINVAL,
                             "field: expected a name of 1 to 100 bytes");
        goto fail;
    }
    snprintf(s->field_index, sizeof s->field_index, "%s_index", s->field);
    snprintf(s->field_model, sizeof s->field_model, "%s_model", s->field);
    s->crowd_size = (unsigned)assay_opt_int(o, "crowd_size");
    s->budget = (size_t)assay_opt_int(o, "budget");
    s->strategy = jc_cce_strategy(assay_opt_str(o, "selection"));
    s->strip = assay_opt_bool(o, "outcome_removal");
    s->max_repairs = (unsigned)assay_opt_int(o, "max_repairs");
    s->on_error_record = !strcmp(assay_opt_str(o, "on_error"), "record");
    jc_rel_opts_get(h, o, &s->rel);
    const json_t *p = json_object_get(o, "params");
    if (json_is_object(p) && !(s->params = json_deep_copy(p))) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto fail;
    }
    if ((rc = jc_prompt_option(h, o, "template", "template_file", JUDGE_TPL_CCE,
                               &s->final_p, err)) ||
        (rc = jc_prompt_option(h, o, "judge_template", "judge_template_file",
                               JUDGE_TPL_PAIRWISE, &s->judge_p, err)))
        goto fail;
    if (s->final_p.repair && s->max_repairs) {
        json_t *ctx = json_pack("{s:b}", "ties", 0);
        rc = ctx ? jc_tpl_render(s->final_p.repair, ctx, 0, &s->repair, err)
                 : assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        json_decref(ctx);
        if (rc)
            goto fail;
    } else {
        s->max_repairs = 0;
    }
    *state = s;
    return ASSAY_OK;
fail:
    cr_destroy(s);
    return rc;
}

/* ---- per item ---------------------------------------------------------- */

typedef struct cr_item {
    const json_t *rec;
    const char *input, *subset;
    size_t m; /* responses */
    const char *resp[CR_MAX_RESPONSES];
    char model[CR_MAX_RESPONSES][64];
    long best;     /* gold index, -1: none */
    jc_call *rank; /* m*m (diagonal unused) */
    size_t ncrowd, ncand;
    size_t crowd[CR_MAX_RESPONSES], cand[CR_MAX_RESPONSES];
    char letter[CR_MAX_RESPONSES]; /* crowd letters by response index */
    jc_call *cj;                   /* ncand x ncrowd x 2 */
    jc_call *fin;                  /* ncand x ncand (diagonal unused) */
    char **ctx;                    /* contexts of the finals */
    size_t *nsel;
    double vrate[CR_MAX_RESPONSES], crate[CR_MAX_RESPONSES];
    long chosen;
    size_t pending;
    int stage;
    bool failed;
    char *error;
} cr_item;

typedef struct cr_run {
    cr_state *s;
    cr_item *items;
    size_t n;
    uint64_t sel_seed;
    uint64_t stage_requests[4];
} cr_run;

static void cr_item_free(cr_item *it)
{
    for (size_t k = 0; it->rank && k < it->m * it->m; k++)
        jc_call_clear(&it->rank[k]);
    free(it->rank);
    for (size_t k = 0; it->cj && k < it->ncand * it->ncrowd * 2; k++)
        jc_call_clear(&it->cj[k]);
    free(it->cj);
    for (size_t k = 0; it->fin && k < it->ncand * it->ncand; k++) {
        jc_call_clear(&it->fin[k]);
        free(it->ctx[k]);
    }
    free(it->fin);
    free(it->ctx);
    free(it->nsel);
    free(it->error);
}

static int cr_read_item(const cr_state *s, const json_t *rec, size_t i,
                        cr_item *it, assay_error *err)
{
    json_t *rs;
    int rc;
    it->rec = rec;
    it->best = -1;
    it->chosen = -1;
    if ((rc = assay_rec_str(rec, i, s->f_input, &it->input, err)) ||
        (rc = jc_rec_opt_str(rec, i, s->f_subset, &it->subset, err)) ||
        (rc = assay_rec_get(rec, i, s->f_resp, &rs, err)))
        return rc;
    if (!json_is_array(rs) || json_array_size(rs) < 2 ||
        json_array_size(rs) > CR_MAX_RESPONSES)
        return assay_error_set(err, ASSAY_EDATA,
                               "record %zu: field '%s': expected a list of "
                               "2 to %d responses",
                               i, s->f_resp, CR_MAX_RESPONSES);
    it->m = json_array_size(rs);
    for (size_t k = 0; k < it->m; k++) {
        const json_t *x = json_array_get(rs, k);
        const json_t *model = json_object_get(x, "model");
        if (json_is_string(x))
            it->resp[k] = json_string_value(x);
        else if (json_is_string(json_object_get(x, "response")))
            it->resp[k] = json_string_value(json_object_get(x, "response"));
        else
            return assay_error_set(err, ASSAY_EDATA,
                                   "record %zu: field '%s': element %zu: "
                                   "expected a string or an object with a "
                                   "string 'response'",
                                   i, s->f_resp, k);
        snprintf(it->model[k], sizeof it->model[k], "%s",
                 json_is_string(model) ? json_string_value(model) : "response");
    }
    if (s->f_best) {
        const json_t *b = json_object_get(rec, s->f_best);
        if (b && !json_is_null(b)) {
            if (!json_is_integer(b) || json_integer_value(b) < 0 ||
                (size_t)json_integer_value(b) >= it->m)
                return assay_error_set(err, ASSAY_EDATA,
                                       "record %zu: field '%s': expected an "
                                       "index from 0 to %zu",
                                       i, s->f_best, it->m - 1);
            it->best = (long)json_integer_value(b);
        }
    }
    it->rank = calloc(it->m * it->m, sizeof *it->rank);
    if (!it->rank)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    return ASSAY_OK;
}

/* A vanilla pairwise question: x as Assistant A, y as Assistant B. */
static int cr_pair_call(const cr_state *s, const cr_item *it, size_t i,
                        const char *x, const char *y, jc_call *q,
                        assay_error *err)
{
    const char *kv[] = {"question",  it->input, "answer_a", x,    "answer_b", y,
                        "reference", NULL,      "rubric",   NULL, NULL};
    json_t *ctx = jc_context(it->rec, kv);
    if (!ctx || json_object_set_new(ctx, "ties", json_false())) {
        json_decref(ctx);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    int rc = jc_prompt_render(&s->judge_p, ctx, i, &q->system, &q->user, err);
    json_decref(ctx);
    q->parse = JC_PARSE_PAIR;
    q->item = i;
    q->cls = CLS_OTHER;
    q->a = i;
    return rc;
}

static int cr_add(cr_run *run, jc_runner *r, cr_item *it, jc_call *q, int stage,
                  assay_error *err)
{
    q->tag = stage;
    int rc = jc_runner_add(r, q, err);
    if (rc == 0) {
        it->pending++;
        run->stage_requests[stage]++;
    }
    return rc;
}

/* Stage 1: every ordered pair. */
static int cr_stage_rank(cr_run *run, jc_runner *r, cr_item *it, size_t i,
                         assay_error *err)
{
    it->stage = ST_RANK;
    for (size_t a = 0; a < it->m; a++)
        for (size_t b = 0; b < it->m; b++) {
            if (a == b)
                continue;
            jc_call *q = &it->rank[a * it->m + b];
            int rc =
                cr_pair_call(run->s, it, i, it->resp[a], it->resp[b], q, err);
            if (rc == 0)
                rc = cr_add(run, r, it, q, ST_RANK, err);
            if (rc)
                return rc;
        }
    return ASSAY_OK;
}

/* Win rates of the ranking stage; crowd = lowest, candidates = the rest. */
static void cr_rank(const cr_state *s, cr_item *it)
{
    size_t order[CR_MAX_RESPONSES];
    for (size_t k = 0; k < it->m; k++) {
        double w = 0;
        for (size_t o = 0; o < it->m; o++) {
            if (o == k)
                continue;
            const jc_call *first = &it->rank[k * it->m + o];
            const jc_call *second = &it->rank[o * it->m + k];
            w += first->status == JC_S_OK && first->verdict == JC_V_A;
            w += second->status == JC_S_OK && second->verdict == JC_V_B;
        }
        it->vrate[k] = w / (2.0 * (double)(it->m - 1));
        order[k] = k;
    }
    /* ascending rate; among equals the later response ranks lower */
    for (size_t a = 1; a < it->m; a++)
        for (size_t b = a; b > 0; b--) {
            size_t x = order[b - 1], y = order[b];
            bool swap = it->vrate[y] < it->vrate[x] ||
                        (it->vrate[y] == it->vrate[x] && y > x);
            if (!swap)
                break;
            order[b - 1] = y;
            order[b] = x;
        }
    it->ncrowd = s->crowd_size < it->m - 2 ? s->crowd_size : it->m - 2;
    for (size_t k = 0; k < it->ncrowd; k++)
        it->crowd[k] = order[k];
    /* candidates keep the list order */
    it->ncand = 0;
    for (size_t k = 0; k < it->m; k++) {
        bool in_crowd = false;
        for (size_t c = 0; c < it->ncrowd; c++)
            in_crowd |= it->crowd[c] == k;
        if (!in_crowd)
            it->cand[it->ncand++] = k;
    }
    char next = 'C';
    for (size_t c = 0; c < it->ncrowd; c++)
        it->letter[it->crowd[c]] = next++;
}

/* Stage 2: each candidate vs each crowd response, both positions. */
static int cr_stage_crowd(cr_run *run, jc_runner *r, cr_item *it, size_t i,
                          assay_error *err)
{
    it->stage = ST_CROWD;
    cr_rank(run->s, it);
    size_t n = it->ncand * it->ncrowd * 2;
    it->cj = calloc(n ? n : 1, sizeof *it->cj);
    if (!it->cj)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    for (size_t p = 0; p < it->ncand; p++)
        for (size_t c = 0; c < it->ncrowd; c++)
            for (int pos = 0; pos < 2; pos++) {
                jc_call *q = &it->cj[(p * it->ncrowd + c) * 2 + (size_t)pos];
                const char *cand = it->resp[it->cand[p]];
                const char *crowd = it->resp[it->crowd[c]];
                int rc = cr_pair_call(run->s, it, i, pos ? crowd : cand,
                                      pos ? cand : crowd, q, err);
                if (rc == 0)
                    rc = cr_add(run, r, it, q, ST_CROWD, err);
                if (rc)
                    return rc;
            }
    return ASSAY_OK;
}

/* The crowd judgments of candidate p as CCE's candidate `role` (0 = A). */
static void cr_collect(const cr_item *it, size_t p, int role, jc_cjudg *out,
                       size_t *n)
{
    for (size_t c = 0; c < it->ncrowd; c++)
        for (int pos = 0; pos < 2; pos++) {
            const jc_call *q = &it->cj[(p * it->ncrowd + c) * 2 + (size_t)pos];
            jc_cjudg *j = &out[(*n)++];
            j->cand = role;
            j->cand_pos = pos;
            j->crowd = c;
            j->letter = it->letter[it->crowd[c]];
            j->verdict = q->status == JC_S_OK ? q->verdict : JC_V_NONE;
            j->text = jc_call_text(q) ? jc_call_text(q) : "";
        }
}

/* Stage 3: a CCE final for every ordered pair of candidates. */
static int cr_stage_final(cr_run *run, jc_runner *r, cr_item *it, size_t i,
                          assay_error *err)
{
    const cr_state *s = run->s;
    size_t nc = it->ncand, nj = it->ncrowd * 4;
    it->stage = ST_FINAL;
    it->fin = calloc(nc * nc, sizeof *it->fin);
    it->ctx = calloc(nc * nc, sizeof *it->ctx);
    it->nsel = calloc(nc * nc, sizeof *it->nsel);
    jc_cjudg *cj = calloc(nj ? nj : 1, sizeof *cj);
    size_t *sel = calloc(nj ? nj : 1, sizeof *sel);
    int rc = ASSAY_OK;
    if (!it->fin || !it->ctx || !it->nsel || !cj || !sel) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t a = 0; a < nc; a++)
        for (size_t b = 0; b < nc; b++) {
            if (a == b)
                continue;
            size_t n = 0, k = a * nc + b;
            cr_collect(it, a, 0, cj, &n);
            cr_collect(it, b, 1, cj, &n);
            uint64_t seed = jc_item_seed(jc_item_seed(run->sel_seed, i), k);
            if (jc_cce_select(cj, n, s->strategy, s->budget, seed, sel,
                              &it->nsel[k]) ||
                jc_cce_context(cj, sel, it->nsel[k], s->strip, &it->ctx[k])) {
                rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
                goto done;
            }
            char nb[32];
            snprintf(nb, sizeof nb, "%zu", it->nsel[k]);
            const char *kv[] = {"question",
                                it->input,
                                "answer_a",
                                it->resp[it->cand[a]],
                                "answer_b",
                                it->resp[it->cand[b]],
                                "crowd_judgments",
                                it->ctx[k],
                                "n_judgments",
                                nb,
                                "reference",
                                NULL,
                                "rubric",
                                NULL,
                                NULL};
            json_t *ctx = jc_context(it->rec, kv);
            jc_call *q = &it->fin[k];
            if (!ctx) {
                rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
                goto done;
            }
            rc = jc_prompt_render(&s->final_p, ctx, i, &q->system, &q->user,
                                  err);
            json_decref(ctx);
            if (rc)
                goto done;
            q->parse = JC_PARSE_PAIR;
            q->repair = s->repair;
            q->max_repairs = s->max_repairs;
            q->item = i;
            q->cls = CLS_FINAL;
            q->a = i;
            if ((rc = cr_add(run, r, it, q, ST_FINAL, err)))
                goto done;
        }
done:
    free(cj);
    free(sel);
    return rc;
}

/* CCE win rates and the choice. */
static void cr_choose(cr_item *it)
{
    size_t nc = it->ncand;
    for (size_t k = 0; k < it->m; k++)
        it->crate[k] = NAN;
    for (size_t a = 0; a < nc; a++) {
        double w = 0;
        for (size_t b = 0; b < nc; b++) {
            if (a == b)
                continue;
            const jc_call *ab = &it->fin[a * nc + b],
                          *ba = &it->fin[b * nc + a];
            w += ab->status == JC_S_OK && ab->verdict == JC_V_A;
            w += ba->status == JC_S_OK && ba->verdict == JC_V_B;
        }
        it->crate[it->cand[a]] = nc > 1 ? w / (2.0 * (double)(nc - 1)) : 1.0;
    }
    it->chosen = -1;
    for (size_t a = 0; a < nc; a++) {
        size_t k = it->cand[a];
        if (it->chosen < 0 || it->crate[k] > it->crate[it->chosen] ||
            (it->crate[k] == it->crate[it->chosen] &&
             it->vrate[k] > it->vrate[it->chosen]))
            it->chosen = (long)k;
    }
}

static int cr_fail(cr_run *run, cr_item *it, const jc_call *c, assay_error *err)
{
    static const char *const stage[] = {"", "ranking", "crowd judgment",
                                        "final judgment"};
    if (!run->s->on_error_record)
        return assay_error_set(err, jc_failure_code(c->error),
                               "record %zu: %s: %s (set on_error: record to "
                               "keep going)",
                               c->item, stage[c->tag], c->error);
    if (!it->failed) {
        char msg[800];
        snprintf(msg, sizeof msg, "%s: %s", stage[c->tag], c->error);
        it->failed = true;
        if (!(it->error = jc_strdup(msg)))
            return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    return ASSAY_OK;
}

/* Start the item's next stages while nothing of it is in flight (a stage
 * may have no questions: no crowd when M = 2). */
static int cr_advance(cr_run *run, jc_runner *r, cr_item *it, size_t i,
                      assay_error *err)
{
    int rc = ASSAY_OK;
    while (rc == 0 && it->pending == 0 && !it->failed) {
        if (it->stage == ST_RANK) {
            rc = cr_stage_crowd(run, r, it, i, err);
        } else if (it->stage == ST_CROWD) {
            rc = cr_stage_final(run, r, it, i, err);
        } else {
            if (it->stage == ST_FINAL) {
                cr_choose(it);
                it->stage = ST_FINAL + 1;
            }
            break;
        }
    }
    return rc;
}

static int cr_done(void *ud, jc_runner *r, jc_call *c, assay_error *err)
{
    cr_run *run = ud;
    cr_item *it = &run->items[c->a];
    int rc = ASSAY_OK;
    jc_call_drop_prompts(c);
    it->pending--;
    if (c->status == JC_S_FAILED && (rc = cr_fail(run, it, c, err)))
        return rc;
    return cr_advance(run, r, it, c->a, err);
}

/* ---- estimate ------------------------------------------------------------ */

static uint64_t cr_calls(const cr_state *s, size_t m)
{
    size_t c = s->crowd_size < m - 2 ? s->crowd_size : m - 2;
    size_t nc = m - c;
    return (uint64_t)(m * (m - 1) + 2 * nc * c +
                      nc * (nc - 1) * (1 + s->max_repairs));
}

static int cr_estimate(void *state, assay_io *io, assay_estimate *est,
                       assay_error *err)
{
    cr_state *s = state;
    const json_t *recs = jc_estimate_items(s->h, io, "items", cr_calls(s, 5));
    uint64_t total = 0, chars = 0;
    est->endpoint = s->endpoint_opt;
    if (!recs)
        return ASSAY_OK;
    for (size_t i = 0; i < json_array_size(recs); i++) {
        cr_item it = {0};
        int rc = cr_read_item(s, json_array_get(recs, i), i, &it, err);
        if (rc) {
            cr_item_free(&it);
            return rc;
        }
        uint64_t q = cr_calls(s, it.m);
        size_t len = strlen(it.input);
        for (size_t k = 0; k < it.m; k++)
            len += strlen(it.resp[k]);
        total += q;
        chars += q * (2 * len / it.m + 1500);
        cr_item_free(&it);
    }
    jc_estimate_fill(est, s->endpoint_opt, total, chars, s->params,
                     CR_EST_COMPLETION);
    return ASSAY_OK;
}

/* ---- output ----------------------------------------------------------------
 */

static json_t *num(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

static json_t *cr_verdict_json(const jc_call *q)
{
    const char *vn = q->status == JC_S_OK ? jc_verdict_name(q->verdict) : NULL;
    return vn ? json_string(vn) : json_null();
}

static json_t *cr_item_json(const cr_state *s, const cr_item *it)
{
    json_t *v = json_copy((json_t *)it->rec);
    json_t *vr = json_array(), *crr = json_array(), *crowd = json_array();
    json_t *judg = json_array();
    bool put_ok = true;
    if (!v || !vr || !crr || !crowd || !judg)
        goto oom;
    for (size_t k = 0; k < it->m; k++) {
        put_ok &= !json_array_append_new(vr, num(it->vrate[k]));
        put_ok &= !json_array_append_new(crr, num(it->crate[k]));
    }
    for (size_t c = 0; c < it->ncrowd; c++)
        put_ok &= !json_array_append_new(
            crowd, json_integer((json_int_t)it->crowd[c]));
    for (size_t a = 0; a < it->m; a++)
        for (size_t b = 0; b < it->m; b++) {
            if (a == b || it->rank[a * it->m + b].status == JC_S_PENDING)
                continue;
            put_ok &= !json_array_append_new(
                judg, json_pack("{s:s, s:I, s:I, s:o}", "stage", "rank", "a",
                                (json_int_t)a, "b", (json_int_t)b, "verdict",
                                cr_verdict_json(&it->rank[a * it->m + b])));
        }
    for (size_t p = 0; it->cj && p < it->ncand; p++)
        for (size_t c = 0; c < it->ncrowd; c++)
            for (int pos = 0; pos < 2; pos++) {
                const jc_call *q =
                    &it->cj[(p * it->ncrowd + c) * 2 + (size_t)pos];
                size_t x = pos ? it->crowd[c] : it->cand[p];
                size_t y = pos ? it->cand[p] : it->crowd[c];
                put_ok &= !json_array_append_new(
                    judg,
                    json_pack("{s:s, s:I, s:I, s:o, s:o}", "stage", "crowd",
                              "a", (json_int_t)x, "b", (json_int_t)y, "verdict",
                              cr_verdict_json(q), "answer",
                              jc_call_text(q) ? json_string(jc_call_text(q))
                                              : json_null()));
            }
    for (size_t a = 0; it->fin && a < it->ncand; a++)
        for (size_t b = 0; b < it->ncand; b++) {
            if (a == b)
                continue;
            const jc_call *q = &it->fin[a * it->ncand + b];
            put_ok &= !json_array_append_new(
                judg, json_pack("{s:s, s:I, s:I, s:o, s:s, s:I, s:s, s:o}",
                                "stage", "cce", "a", (json_int_t)it->cand[a],
                                "b", (json_int_t)it->cand[b], "verdict",
                                cr_verdict_json(q), "status",
                                jc_status_name(q->status), "n_selected",
                                (json_int_t)it->nsel[a * it->ncand + b],
                                "context", it->ctx[a * it->ncand + b], "answer",
                                jc_call_text(q) ? json_string(jc_call_text(q))
                                                : json_null()));
        }
    bool ok = !it->failed && it->chosen >= 0;
    put_ok &= jc_put(v, s->field,
                     ok ? json_string(it->resp[it->chosen]) : json_null());
    put_ok &=
        jc_put(v, s->field_index, ok ? json_integer(it->chosen) : json_null());
    put_ok &= jc_put(v, s->field_model,
                     ok ? json_string(it->model[it->chosen]) : json_null());
    put_ok &= jc_put(v, "status", json_string(it->failed ? "failed" : "ok"));
    if (it->error)
        put_ok &= jc_put(v, "error", json_string(it->error));
    put_ok &= jc_put(v, "win_rates", vr);
    put_ok &= jc_put(v, "cce_win_rates", crr);
    put_ok &= jc_put(v, "crowd", crowd);
    put_ok &= jc_put(v, "judgments", judg);
    vr = crr = crowd = judg = NULL; /* v holds them now */
    if (!put_ok)
        goto oom;
    return v;
oom:
    json_decref(v);
    json_decref(vr);
    json_decref(crr);
    json_decref(crowd);
    json_decref(judg);
    return NULL;
}

static int cr_run_node(void *state, assay_io *io, assay_error *err)
{
    cr_state *s = state;
    const assay_host *h = s->h;
    const json_t *recs = h->in_records(io, "items");
    size_t n = json_array_size(recs), i;
    cr_run run = {.s = s, .n = n};
    jc_rel_item *rel = calloc(n ? n : 1, sizeof *rel);
    json_t *out = json_array(), *report = NULL, *info = NULL;
    jc_runner r;
    int rc = ASSAY_OK;
    run.items = calloc(n ? n : 1, sizeof *run.items);
    run.sel_seed = h->seed(h, "selection");
    jc_runner_init(&r, h, s->endpoint, s->params, cr_done, &run);
    if (!run.items || !rel || !out) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    for (i = 0; i < n; i++)
        if ((rc = cr_read_item(s, json_array_get(recs, i), i, &run.items[i],
                               err)) ||
            (rc = cr_stage_rank(&run, &r, &run.items[i], i, err)))
            goto done;
    if ((rc = jc_runner_run(&r, err)))
        goto done;
    if (h->cancelled(h)) {
        rc = assay_error_set(err, ASSAY_ECANCELED, "cancelled");
        goto done;
    }
    size_t pc_n = 0, pc_same = 0;
    for (i = 0; i < n; i++) {
        cr_item *it = &run.items[i];
        json_t *v = cr_item_json(s, it);
        if (!v || json_array_append_new(out, v)) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto done;
        }
        /* position consistency of the ranking stage */
        for (size_t a = 0; a < it->m; a++)
            for (size_t b = a + 1; b < it->m; b++) {
                const jc_call *x = &it->rank[a * it->m + b];
                const jc_call *y = &it->rank[b * it->m + a];
                if (x->status != JC_S_OK || y->status != JC_S_OK)
                    continue;
                pc_n++;
                pc_same += x->verdict == jc_verdict_flip(y->verdict);
            }
        /* the choice scored as a pairwise item: A = right, B = wrong */
        bool ok = !it->failed && it->chosen >= 0;
        rel[i] = (jc_rel_item){.gold = it->best >= 0 ? JC_V_A : JC_V_NONE,
                               .verdict = !ok                      ? JC_V_NONE
                                          : it->chosen == it->best ? JC_V_A
                                                                   : JC_V_B,
                               .failed = it->failed,
                               .subset = it->subset};
    }
    report = jc_reliability(rel, n, &r.counts[CLS_FINAL], &s->rel);
    info = jc_info(h, s->endpoint, &r, n);
    if (!report || !info) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    /* pairwise-only parts of the report do not apply to a choice */
    json_object_del(report, "per_order");
    json_object_del(report, "verdicts");
    json_object_del(report, "length_bias");
    bool put_ok = true;
    put_ok &= jc_put(report, "position_consistency",
                     json_pack("{s:o, s:I, s:s}", "rate",
                               pc_n ? json_real((double)pc_same / (double)pc_n)
                                    : json_null(),
                               "n", (json_int_t)pc_n, "stage", "rank"));
    const jc_rel_counts *oc = &r.counts[CLS_OTHER];
    put_ok &=
        jc_put(report, "other_judgments",
               json_pack("{s:I, s:I, s:o}", "outputs", (json_int_t)oc->outputs,
                         "invalid_outputs", (json_int_t)oc->invalid_outputs,
                         "output_rate",
                         oc->outputs ? json_real((double)oc->invalid_outputs /
                                                 (double)oc->outputs)
                                     : json_null()));
    put_ok &= jc_put(
        info, "stages",
        json_pack("{s:I, s:I, s:I, s:I}", "rank",
                  (json_int_t)run.stage_requests[ST_RANK], "crowd_judgments",
                  (json_int_t)run.stage_requests[ST_CROWD], "finals",
                  (json_int_t)run.stage_requests[ST_FINAL], "repairs",
                  (json_int_t)r.counts[CLS_FINAL].repairs));
    if (!put_ok) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    rc = h->out_records(io, "items", out, err);
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
    for (i = 0; run.items && i < n; i++)
        cr_item_free(&run.items[i]);
    free(run.items);
    free(rel);
    json_decref(out);
    json_decref(report);
    json_decref(info);
    jc_runner_free(&r);
    return rc;
}

static const assay_plugin cr_plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "judge.crowd-rejection",
    .kind = "judge",
    .version = "1.0.0",
    .summary = "Crowd rejection sampling: keep the response with the highest "
               "CCE win rate, the lowest-ranked ones as the crowd",
    .doc = "Crowd rejection sampling from the CCE paper (choosing SFT targets "
           "among responses of several models).  Per item, with M responses "
           "in responses_field (strings or {model, response}, 2 to 26):\n"
           "1. Ranking: the vanilla pairwise judge (judge.pairwise's prompt, "
           "no ties) on every ordered pair, M(M-1) requests; win rate = wins "
           "/ 2(M-1).\n"
           "2. The crowd_size lowest-ranked responses (at most M-2; ties: the "
           "later response ranks lower) become the crowd, labelled C, D, ...; "
           "each remaining candidate is judged against each crowd response in "
           "both positions, 2 x candidates x crowd requests.\n"
           "3. CCE: for every ordered pair of candidates a final judgment "
           "(cce.txt) whose context holds up to `budget` crowd judgments of "
           "the two, selected, relabelled and outcome-removed as in "
           "judge.cce; CCE win rate = wins / 2(candidates-1).  The candidate "
           "with the highest CCE win rate is chosen (ties: the higher vanilla "
           "rate, then list order).\n"
           "The stages of all items are pipelined in one stream.  Output "
           "items: the input items plus <field> (default chosen: the text), "
           "<field>_index, <field>_model, status, win_rates, cce_win_rates "
           "(null for the crowd), crowd (indices) and judgments (every "
           "ranking, crowd and final judgment with its verdict; finals with "
           "their context).  Output reliability: with best_field (the index "
           "of the best response) the accuracy of the choice with bootstrap "
           "CI and per subset; the final judgments' invalid rate; the other "
           "judgments' invalid rate; position consistency of the ranking "
           "stage (both orders of each pair).  A failed request fails the "
           "item (on_error: record, the default) or the node (on_error: "
           "fail).",
    .inputs = cr_inputs,
    .outputs = cr_outputs,
    .options = cr_options,
    .flags = ASSAY_F_ALL_ITEMS | ASSAY_F_NEEDS_LLM,
    .create = cr_create,
    .run = cr_run_node,
    .destroy = cr_destroy,
    .estimate = cr_estimate,
};

static const assay_plugin *const cr_list[] = {&cr_plugin, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi)
{
    (void)host_abi;
    return cr_list;
}
