/*
 * assay/llm.h - chat requests and results exchanged with the host's LLM
 * service (see the llm_* members of struct assay_host in assay/host.h).
 *
 * A plugin never talks HTTP.  It builds an array of requests, hands them
 * to the host in one call and receives one result per request, in the
 * same order.  The host owns concurrency, rate limits, retries, the
 * response cache, budgets and accounting, for every node of the run at
 * once.  Endpoints are named in the experiment's `llm:` section and a
 * plugin chooses one by name, normally through a string option `llm`.
 */
#ifndef ASSAY_LLM_H
#define ASSAY_LLM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One chat message.  `role` is "system", "user" or "assistant". */
typedef struct assay_llm_message {
    const char *role;
    const char *content;
} assay_llm_message;

/*
 * One chat request.  The host copies everything it needs before the call
 * returns or the request is queued, so the caller's buffers need only
 * live for the duration of the submitting call.
 *
 *   messages/n_messages  the conversation, in order
 *   sample               sample index: requests identical but for this
 *                        number are distinct cache entries (n samples of
 *                        one prompt); 0 for the first
 *   params               optional JSON object overriding the endpoint's
 *                        default parameters for this request: temperature,
 *                        top_p, max_tokens, seed, stop, response_format
 *                        (borrowed; may be NULL)
 *   item                 caller's item index, used in error messages and
 *                        in replay misses ("item 17")
 */
typedef struct assay_llm_request {
    const assay_llm_message *messages;
    size_t n_messages;
    uint32_t sample;
    const json_t *params;
    size_t item;
} assay_llm_request;

/* Outcome of one request. */
typedef enum assay_llm_status {
    ASSAY_LLM_OK = 0,       /* `text` holds the answer */
    ASSAY_LLM_FAILED = 1,   /* retries exhausted or a non-retryable error */
    ASSAY_LLM_SKIPPED = 2,  /* not sent: run cancelled or budget reached */
    ASSAY_LLM_REPLAY_MISS = 3 /* cache: replay and no cached answer */
} assay_llm_status;

/*
 * Result of one request.  `text` is allocated by the host and released by
 * host->llm_result_clear(); everything else is plain data.
 */
typedef struct assay_llm_result {
    assay_llm_status status;
    char *text;               /* answer text (NULL unless status is OK) */
    char finish_reason[32];   /* "stop", "length", "tool_calls", ... */
    char error[512];          /* why it failed, for FAILED/SKIPPED/MISS */
    int http_status;          /* last HTTP status seen (0 if none) */
    uint32_t prompt_tokens;
    uint32_t completion_tokens;
    uint32_t attempts;        /* HTTP attempts made (0 for a cache hit) */
    bool cached;              /* served from the response cache */
    double latency_ms;        /* wall time of the successful attempt */
} assay_llm_result;

/* Opaque handle to a running streaming batch (host->llm_stream). */
typedef struct assay_llm_stream assay_llm_stream;

/*
 * Callback of a streaming batch: called once per finished request, on the
 * thread that called llm_stream(), never concurrently.  `index` is the
 * request's position (initial requests first, then added ones in order of
 * addition).  `r` is borrowed for the duration of the call; take ownership
 * of r->text by setting it to NULL.  May add follow-up requests with
 * host->llm_stream_add(s, ...).  Returning non-zero cancels the requests
 * not yet sent and makes llm_stream() return that value.
 */
typedef int (*assay_llm_on_result)(void *ud, assay_llm_stream *s,
                                   size_t index, assay_llm_result *r);

#ifdef __cplusplus
}
#endif
#endif /* ASSAY_LLM_H */
