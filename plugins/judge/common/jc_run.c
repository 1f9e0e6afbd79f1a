/*
 * jc_run.c - see jc_run.h.
 */
#include "jc_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jc_text.h"
#include "jc_verdict.h"

const char *jc_call_text(const jc_call *c)
{
    return c->nraws ? c->raws[c->nraws - 1] : NULL;
}

void jc_call_drop_prompts(jc_call *c)
{
    free(c->system);
    free(c->user);
    c->system = c->user = NULL;
}

void jc_call_clear(jc_call *c)
{
    jc_call_drop_prompts(c);
    for (unsigned i = 0; i < c->nraws; i++)
        free(c->raws[i]);
    free(c->raws);
    free(c->error);
    memset(c, 0, sizeof *c);
}

json_t *jc_call_raws(const jc_call *c)
{
    json_t *a = json_array();
    for (unsigned i = 0; a && i < c->nraws; i++)
        if (json_array_append_new(a, json_string(c->raws[i]))) {
            json_decref(a);
            return NULL;
        }
    return a;
}

const char *jc_status_name(int status)
{
    switch (status) {
    case JC_S_OK:
        return "ok";
    case JC_S_INVALID:
        return "invalid";
    case JC_S_FAILED:
        return "failed";
    }
    return "pending";
}

void jc_runner_init(jc_runner *r, const assay_host *h, const char *endpoint,
                    const json_t *params, jc_done_fn done, void *ud)
{
    memset(r, 0, sizeof *r);
    r->h = h;
    r->endpoint = endpoint;
    r->params = params;
    r->done = done;
    r->ud = ud;
}

void jc_runner_free(jc_runner *r)
{
    free(r->map);
    free(r->pending);
    r->map = r->pending = NULL;
    r->cap = r->npending = r->cappending = 0;
}

/* Remember that request `index` asks question `c`. */
static int map_set(jc_runner *r, size_t index, jc_call *c)
{
    if (index >= r->cap) {
        size_t cap = r->cap ? r->cap : 256;
        while (cap <= index)
            cap *= 2;
        jc_call **m = realloc(r->map, cap * sizeof *m);
        if (!m)
            return ASSAY_ENOMEM;
        memset(m + r->cap, 0, (cap - r->cap) * sizeof *m);
        r->map = m;
        r->cap = cap;
    }
    r->map[index] = c;
    return ASSAY_OK;
}

/* The conversation of the call's next attempt: system?, user, then one
 * (answer, repair) pair per earlier unusable answer. */
static int build_request(const jc_runner *r, jc_call *c,
                         assay_llm_message *msgs, assay_llm_request *req)
{
    size_t k = 0;
    if (c->system)
        msgs[k++] = (assay_llm_message){"system", c->system};
    msgs[k++] = (assay_llm_message){"user", c->user};
    for (unsigned i = 0; i < c->nraws; i++) {
        msgs[k++] = (assay_llm_message){"assistant", c->raws[i]};
        msgs[k++] = (assay_llm_message){"user", c->repair};
    }
    memset(req, 0, sizeof *req);
    req->messages = msgs;
    req->n_messages = k;
    req->sample = c->sample;
    req->params = c->params ? c->params : r->params;
    req->item = c->item;
    return ASSAY_OK;
}

/* Send the call's next attempt into the running stream. */
static int submit(jc_runner *r, jc_call *c, assay_error *err)
{
    size_t nmsg = 2 + 2 * (size_t)c->nraws, index;
    assay_llm_message *msgs = malloc(nmsg * sizeof *msgs);
    assay_llm_request req;
    if (!msgs)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    build_request(r, c, msgs, &req);
    int rc = r->h->llm_stream_add(r->st, &req, &index, err);
    free(msgs);
    if (rc == 0 && map_set(r, index, c))
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    return rc;
}

int jc_runner_add(jc_runner *r, jc_call *c, assay_error *err)
{
    if (c->cls < 0 || c->cls >= JC_CLASSES || !c->user ||
        (c->max_repairs && !c->repair))
        return assay_error_set(err, ASSAY_EINTERNAL,
                               "jc_runner_add: malformed question");
    if (!c->raws) {
        c->raws = calloc(c->max_repairs + 1, sizeof *c->raws);
        if (!c->raws)
            return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    c->status = JC_S_PENDING;
    if (r->st)
        return submit(r, c, err);
    if (r->npending == r->cappending) {
        size_t cap = r->cappending ? r->cappending * 2 : 256;
        jc_call **p = realloc(r->pending, cap * sizeof *p);
        if (!p)
            return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        r->pending = p;
        r->cappending = cap;
    }
    r->pending[r->npending++] = c;
    return ASSAY_OK;
}

static const char *llm_status_name(assay_llm_status s)
{
    switch (s) {
    case ASSAY_LLM_OK:
        return "ok";
    case ASSAY_LLM_FAILED:
        return "failed";
    case ASSAY_LLM_SKIPPED:
        return "skipped";
    case ASSAY_LLM_REPLAY_MISS:
        return "replay miss";
    }
    return "?";
}

/* Parse the call's latest answer; true when it is usable. */
static bool parse_answer(jc_call *c)
{
    const char *t = jc_call_text(c);
    c->why = JC_WHY_OK;
    switch (c->parse) {
    case JC_PARSE_PAIR:
        c->verdict = jc_parse_pair(t, c->ties, &c->why, NULL);
        return c->verdict != JC_V_NONE;
    case JC_PARSE_SCORE:
        return jc_parse_score(t, c->lo, c->hi, &c->score, &c->why, NULL);
    default:
        return true;
    }
}

static int runner_cb(void *ud, assay_llm_stream *s, size_t index,
                     assay_llm_result *res)
{
    jc_runner *r = ud;
    assay_error *err = r->err;
    r->st = s;
    if (index >= r->cap || !r->map[index])
        return assay_error_set(err, ASSAY_EINTERNAL,
                               "LLM result %zu has no question", index);
    jc_call *c = r->map[index];
    r->map[index] = NULL;
    r->requests++;
    if (res->status == ASSAY_LLM_SKIPPED) {
        /* not an answer about this item: the run is being cancelled or
         * the budget is spent, so stop (a resumed run sends it again)
         * rather than record the item as failed */
        bool budget = strstr(res->error, "budget") != NULL;
        return assay_error_set(err, budget ? ASSAY_EBUDGET : ASSAY_ECANCELED,
                               "record %zu: request not sent: %s", c->item,
                               res->error);
    }
    if (r->h->cancelled(r->h))
        return assay_error_set(err, ASSAY_ECANCELED, "cancelled");
    if (res->status != ASSAY_LLM_OK) {
        char msg[700];
        snprintf(msg, sizeof msg, "%s: %s", llm_status_name(res->status),
                 res->error);
        r->failed_requests++;
        c->status = JC_S_FAILED;
        free(c->error);
        if (!(c->error = jc_strdup(msg)))
            return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        return r->done(r->ud, r, c, err);
    }
    c->raws[c->nraws++] = res->text ? res->text : jc_strdup("");
    res->text = NULL;
    if (!c->raws[c->nraws - 1])
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    c->prompt_tokens += res->prompt_tokens;
    c->completion_tokens += res->completion_tokens;
    c->cached += res->cached;
    r->prompt_tokens += res->prompt_tokens;
    r->completion_tokens += res->completion_tokens;
    r->cached += res->cached;
    jc_rel_counts *k = &r->counts[c->cls];
    if (c->parse != JC_PARSE_TEXT)
        k->outputs++;
    if (parse_answer(c)) {
        c->status = JC_S_OK;
        if (c->repairs)
            k->repaired++;
        return r->done(r->ud, r, c, err);
    }
    k->invalid_outputs++;
    if (c->repairs < c->max_repairs && c->repair) {
        c->repairs++;
        k->repairs++;
        return submit(r, c, err);
    }
    c->status = JC_S_INVALID;
    return r->done(r->ud, r, c, err);
}

int jc_runner_run(jc_runner *r, assay_error *err)
{
    size_t n = r->npending;
    int rc = ASSAY_OK;
    if (n == 0)
        return ASSAY_OK;
    assay_llm_request *reqs = calloc(n, sizeof *reqs);
    assay_llm_message *msgs = calloc(2 * n, sizeof *msgs);
    if (!reqs || !msgs) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        build_request(r, r->pending[i], msgs + 2 * i, &reqs[i]);
        if ((rc = map_set(r, i, r->pending[i])) != 0) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto done;
        }
    }
    r->npending = 0;
    r->err = err;
    rc = r->h->llm_stream(r->h, r->endpoint, reqs, n, runner_cb, r, err);
    r->st = NULL;
done:
    free(reqs);
    free(msgs);
    return rc;
}
