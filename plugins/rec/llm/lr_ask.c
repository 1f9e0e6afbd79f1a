/*
 * lr_ask.c - questions through the host's streaming LLM call, with
 * re-asks when the owner's checker rejects an answer (see lr.h).
 *
 * Initial questions are the stream's first requests (index = question
 * number); each re-ask is added from the callback, so re-asks of early
 * questions overlap with the first answers of later ones.
 */
#include "lr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ask_run {
    const assay_host *h;
    const json_t *params;
    lr_q *qs;
    size_t n;
    lr_check_fn check;
    void *ud;
    const char *default_repair;
    lr_ask_stats *st;
    assay_error *err;
    size_t *map; /* request index -> question */
    size_t cap;
    size_t resolved;
} ask_run;

const char *lr_q_text(const lr_q *q)
{
    return q->n ? q->answers[q->n - 1] : NULL;
}

json_t *lr_q_answers(const lr_q *q)
{
    json_t *a = json_array();
    for (unsigned i = 0; a && i < q->n; i++)
        if (json_array_append_new(a, json_string(q->answers[i]))) {
            json_decref(a);
            return NULL;
        }
    return a;
}

void lr_q_clear(lr_q *q)
{
    free(q->system);
    free(q->user);
    for (unsigned i = 0; i < q->n; i++) {
        free(q->answers[i]);
        if (q->repairs)
            free(q->repairs[i]);
    }
    free(q->answers);
    free(q->repairs);
    free(q->error);
    memset(q, 0, sizeof *q);
}

static int map_set(ask_run *r, size_t index, size_t q)
{
    if (index >= r->cap) {
        size_t cap = r->cap ? r->cap : 64;
        while (cap <= index)
            cap *= 2;
        size_t *m = realloc(r->map, cap * sizeof *m);
        if (!m)
            return ASSAY_ENOMEM;
        for (size_t i = r->cap; i < cap; i++)
            m[i] = SIZE_MAX;
        r->map = m;
        r->cap = cap;
    }
    r->map[index] = q;
    return ASSAY_OK;
}

/* The conversation of q's next attempt in `msgs` (room for 2 + 2n). */
static size_t conversation(const lr_q *q, assay_llm_message *msgs)
{
    size_t k = 0;
    if (q->system)
        msgs[k++] = (assay_llm_message){"system", q->system};
    msgs[k++] = (assay_llm_message){"user", q->user};
    for (unsigned i = 0; i < q->n; i++) {
        msgs[k++] = (assay_llm_message){"assistant", q->answers[i]};
        msgs[k++] = (assay_llm_message){"user", q->repairs[i]};
    }
    return k;
}

static void progress(ask_run *r)
{
    r->resolved++;
    r->h->progress(r->h, r->resolved, r->n, "requests");
}

static int on_result(void *ud, assay_llm_stream *s, size_t index,
                     assay_llm_result *res)
{
    ask_run *r = ud;
    assay_error *err = r->err;
    if (index >= r->cap || r->map[index] == SIZE_MAX)
        return assay_error_set(err, ASSAY_EINTERNAL,
                               "LLM result %zu has no question", index);
    lr_q *q = &r->qs[r->map[index]];
    r->map[index] = SIZE_MAX;
    r->st->requests++;
    if (r->h->cancelled(r->h))
        return assay_error_set(err, ASSAY_ECANCELED, "cancelled");
    if (res->status != ASSAY_LLM_OK) {
        char msg[700];
        const char *kind = res->status == ASSAY_LLM_SKIPPED ? "skipped"
                           : res->status == ASSAY_LLM_REPLAY_MISS
                               ? "replay miss"
                               : "failed";
        snprintf(msg, sizeof msg, "%s: %s", kind, res->error);
        r->st->failed++;
        q->status = LR_Q_FAILED;
        free(q->error);
        if (!(q->error = jc_strdup(msg)))
            return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        progress(r);
        return 0;
    }
    char *text = res->text ? res->text : jc_strdup("");
    res->text = NULL;
    if (!text)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    q->answers[q->n] = text;
    q->repairs[q->n] = NULL;
    q->n++;
    q->prompt_tokens += res->prompt_tokens;
    q->completion_tokens += res->completion_tokens;
    q->cached += res->cached;
    r->st->prompt_tokens += res->prompt_tokens;
    r->st->completion_tokens += res->completion_tokens;
    r->st->cached += res->cached;
    char *repair = NULL;
    int why = r->check(r->ud, q, text, &repair, err);
    if (why < 0) {
        free(repair);
        return why;
    }
    if (q->n == 1)
        q->first_why = (unsigned)why;
    if (why == 0) {
        free(repair);
        q->status = LR_Q_OK;
        progress(r);
        return 0;
    }
    if (q->n > q->max_reasks) {
        free(repair);
        q->status = LR_Q_INVALID;
        r->st->invalid++;
        progress(r);
        return 0;
    }
    if (!repair &&
        !(repair = jc_strdup(r->default_repair ? r->default_repair : "")))
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    q->repairs[q->n - 1] = repair;
    assay_llm_message *msgs = malloc((2 + 2 * (size_t)q->n) * sizeof *msgs);
    if (!msgs)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    assay_llm_request req = {.messages = msgs,
                             .n_messages = conversation(q, msgs),
                             .sample = q->sample,
                             .params = r->params,
                             .item = q->item};
    size_t at;
    int rc = r->h->llm_stream_add(s, &req, &at, err);
    free(msgs);
    if (rc)
        return rc;
    r->st->reasks++;
    if (map_set(r, at, (size_t)(q - r->qs)))
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    return 0;
}

int lr_ask_run(const assay_host *h, const char *endpoint, const json_t *params,
               lr_q *qs, size_t n, lr_check_fn check, void *ud,
               const char *default_repair, lr_ask_stats *st, assay_error *err)
{
    ask_run r = {.h = h,
                 .params = params,
                 .qs = qs,
                 .n = n,
                 .check = check,
                 .ud = ud,
                 .default_repair = default_repair,
                 .st = st,
                 .err = err};
    assay_llm_request *reqs = NULL;
    assay_llm_message *msgs = NULL;
    int rc = ASSAY_OK;
    if (n == 0)
        return ASSAY_OK;
    reqs = calloc(n, sizeof *reqs);
    msgs = calloc(2 * n, sizeof *msgs);
    if (!reqs || !msgs || map_set(&r, n - 1, 0)) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        lr_q *q = &qs[i];
        q->status = LR_Q_PENDING;
        q->answers = calloc(q->max_reasks + 1, sizeof *q->answers);
        q->repairs = calloc(q->max_reasks + 1, sizeof *q->repairs);
        if (!q->answers || !q->repairs || !q->user) {
            rc = assay_error_set(err, q->user ? ASSAY_ENOMEM : ASSAY_EINTERNAL,
                                 q->user ? "out of memory"
                                         : "question without a prompt");
            goto done;
        }
        reqs[i] =
            (assay_llm_request){.messages = msgs + 2 * i,
                                .n_messages = conversation(q, msgs + 2 * i),
                                .sample = q->sample,
                                .params = params,
                                .item = q->item};
        r.map[i] = i;
    }
    rc = h->llm_stream(h, endpoint, reqs, n, on_result, &r, err);
    if (rc == 0 && h->cancelled(h))
        rc = assay_error_set(err, ASSAY_ECANCELED, "cancelled");
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (qs[i].status == LR_Q_PENDING)
            rc = assay_error_set(err, ASSAY_EINTERNAL,
                                 "question %zu was never answered", i);
done:
    free(r.map);
    free(reqs);
    free(msgs);
    return rc;
}
