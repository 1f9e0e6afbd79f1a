/*
 * assay/provider.h - the extension vtable of `llm-provider` plugins.
 *
 * The host owns HTTP (connections, concurrency, rate limits, retries,
 * cache, accounting).  A provider plugin only translates: it builds the
 * request path, headers and body for one endpoint's wire format and
 * reads the answer, the usage and the error message back out of the
 * parsed response.  Its descriptor (kind "llm-provider") points `ext` at
 * one struct assay_llm_provider.  Every callback is pure and reentrant:
 * the host calls them from several threads at once.
 *
 * Memory: the host parses every response body itself and hands the
 * provider the parsed JSON; what a provider returns from it is borrowed
 * from that JSON.  Bodies it builds are new jansson values the host
 * serialises and releases.  Headers are appended as "Name: value"
 * strings to a JSON array the host owns; they may contain the API key,
 * which the host never logs.
 *
 * Versioning: struct_size first; members are only appended; the host
 * checks ASSAY_PROVIDER_HAS() before using an optional member.
 */
#ifndef ASSAY_PROVIDER_H
#define ASSAY_PROVIDER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "llm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a provider knows of the endpoint it serves (all borrowed). */
typedef struct assay_provider_endpoint {
    const char *base_url; /* no trailing slash, e.g. https://host/v1 */
    const char *model;
    const char *api_key; /* NULL when the endpoint has none */
} assay_provider_endpoint;

/* The fields of a successful chat response (borrowed from its JSON). */
typedef struct assay_provider_reply {
    const char *text; /* answer text; "" when empty */
    size_t text_len;
    const char *finish_reason; /* may be NULL */
    uint32_t prompt_tokens;
    uint32_t completion_tokens;
} assay_provider_reply;

typedef struct assay_llm_provider {
    uint32_t struct_size; /* sizeof(assay_llm_provider) of the plugin */

    /* URL of a chat request: base_url + the provider's path, written into
     * `url` (fails with ASSAY_EINVAL when it does not fit). */
    int (*chat_url)(const assay_provider_endpoint *ep, char *url, size_t urlsz,
                    assay_error *err);

    /* Append the request headers (authentication, API version, content
     * type) to `headers`, a JSON array of "Name: value" strings. */
    int (*headers)(const assay_provider_endpoint *ep, json_t *headers,
                   assay_error *err);

    /* Build the body of one chat request.  `params` is the effective
     * parameter object (endpoint defaults overridden by the request):
     * temperature, top_p, max_tokens, seed, stop, response_format; the
     * provider maps them to its names and drops what it cannot express.
     * On success *body is a new JSON value the caller decrefs. */
    int (*chat_body)(const assay_provider_endpoint *ep,
                     const assay_llm_message *msgs, size_t n_msgs,
                     const json_t *params, json_t **body, assay_error *err);

    /* Read a 2xx chat response.  ASSAY_EDATA with a message when the
     * document does not have the expected shape (the host retries it as
     * a malformed answer). */
    int (*chat_parse)(const json_t *doc, assay_provider_reply *out,
                      assay_error *err);

    /* The server's message in an error response (any status), written
     * into `msg`; `doc` is NULL when the body was not JSON.  Returns the
     * length written (0: nothing recognisable). */
    size_t (*error_message)(const json_t *doc, char *msg, size_t msgsz);

    /* ---- embeddings (NULL when the provider has none) --------------- */

    /* URL of an embedding request. */
    int (*embed_url)(const assay_provider_endpoint *ep, char *url, size_t urlsz,
                     assay_error *err);

    /* Body embedding texts[0..n-1]; *body is new, the caller decrefs. */
    int (*embed_body)(const assay_provider_endpoint *ep,
                      const char *const *texts, size_t n, json_t **body,
                      assay_error *err);

    /* Vector of input `i` in a 2xx embedding response: a borrowed JSON
     * array of numbers, or NULL with `err` filled. */
    const json_t *(*embed_vector)(const json_t *doc, size_t i,
                                  assay_error *err);
} assay_llm_provider;

/* True when provider vtable `p` is recent enough to have `member`. */
#define ASSAY_PROVIDER_HAS(p, member)                                          \
    ((p)->struct_size >=                                                       \
     offsetof(assay_llm_provider, member) + sizeof((p)->member))

#ifdef __cplusplus
}
#endif
#endif /* ASSAY_PROVIDER_H */
