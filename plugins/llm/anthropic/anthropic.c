/*
 * llm.anthropic - the Anthropic Messages API wire format, as an
 * llm-provider plugin (assay/provider.h).
 */
#include <assay/plugin.h>
#include <assay/provider.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Messages API version header sent with every request. */
#define AN_API_VERSION "2023-06-01"
/* max_tokens is mandatory in this API; used when none is configured. */
#define AN_DEFAULT_MAX_TOKENS 1024

static int an_chat_url(const assay_provider_endpoint *ep, char *url,
                       size_t urlsz, assay_error *err)
{
    int n = snprintf(url, urlsz, "%s/messages", ep->base_url);
    if (n < 0 || (size_t)n >= urlsz)
        return assay_error_set(err, ASSAY_EINVAL, "base_url is too long");
    return ASSAY_OK;
}

static int an_header(json_t *headers, const char *name, const char *value,
                     assay_error *err)
{
    char line[1024];
    int n = snprintf(line, sizeof line, "%s: %s", name, value);
    if (n < 0 || (size_t)n >= sizeof line)
        return assay_error_set(err, ASSAY_EINVAL, "header %s is too long",
                               name);
    if (json_array_append_new(headers, json_string(line)) != 0)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    return ASSAY_OK;
}

static int an_headers(const assay_provider_endpoint *ep, json_t *headers,
                      assay_error *err)
{
    int rc = an_header(headers, "Content-Type", "application/json", err);
    if (rc == 0)
        rc = an_header(headers, "anthropic-version", AN_API_VERSION, err);
    if (rc == 0 && ep->api_key && ep->api_key[0])
        rc = an_header(headers, "x-api-key", ep->api_key, err);
    return rc;
}

/*
 * System messages go to the top-level "system" string (joined by blank
 * lines when there are several); the others stay in order.  Parameters:
 * max_tokens (required by the API: default 1024), temperature, top_p,
 * stop -> stop_sequences; seed and response_format have no equivalent and
 * are dropped; any other key is passed through.
 */
static int an_chat_body(const assay_provider_endpoint *ep,
                        const assay_llm_message *msgs, size_t n_msgs,
                        const json_t *params, json_t **body, assay_error *err)
{
    json_t *b = json_object(), *arr = json_array();
    char *sys = NULL;
    size_t sys_len = 0;
    int rc = ASSAY_ENOMEM;
    if (!b || !arr)
        goto fail;
    if (json_object_set_new(b, "model", json_string(ep->model)) != 0)
        goto fail;
    for (size_t i = 0; i < n_msgs; i++) {
        if (!msgs[i].role || !msgs[i].content) {
            rc = assay_error_set(err, ASSAY_EINVAL,
                                 "message %zu has no role or content", i);
            goto out;
        }
        if (strcmp(msgs[i].role, "system") == 0) {
            size_t l = strlen(msgs[i].content);
            char *ns = realloc(sys, sys_len + l + 3);
            if (!ns)
                goto fail;
            sys = ns;
            if (sys_len) {
                memcpy(sys + sys_len, "\n\n", 2);
                sys_len += 2;
            }
            memcpy(sys + sys_len, msgs[i].content, l + 1);
            sys_len += l;
            continue;
        }
        json_t *m = json_pack("{s:s, s:s}", "role", msgs[i].role, "content",
                              msgs[i].content);
        if (!m) {
            rc = assay_error_set(err, ASSAY_EINVAL,
                                 "message %zu is not valid UTF-8", i);
            goto out;
        }
        if (json_array_append_new(arr, m) != 0)
            goto fail;
    }
    if (sys) {
        json_t *s = json_stringn(sys, sys_len);
        if (!s) {
            rc = assay_error_set(err, ASSAY_EINVAL,
                                 "system message is not valid UTF-8");
            goto out;
        }
        if (json_object_set_new(b, "system", s) != 0)
            goto fail;
    }
    if (json_object_set(b, "messages", arr) != 0)
        goto fail;
    if (json_object_set_new(b, "max_tokens",
                            json_integer(AN_DEFAULT_MAX_TOKENS)) != 0)
        goto fail;
    if (params) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)params, k, v)
        {
            if (strcmp(k, "seed") == 0 || strcmp(k, "response_format") == 0)
                continue;
            if (strcmp(k, "stop") == 0) {
                json_t *st =
                    json_is_string(v) ? json_pack("[O]", v) : json_incref(v);
                if (!st || json_object_set_new(b, "stop_sequences", st))
                    goto fail;
                continue;
            }
            if (json_object_set(b, k, v) != 0)
                goto fail;
        }
    }
    *body = b;
    b = NULL;
    rc = ASSAY_OK;
    goto out;
fail:
    rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
out:
    free(sys);
    json_decref(arr);
    json_decref(b);
    return rc;
}

static uint32_t an_u32(const json_t *obj, const char *key)
{
    json_int_t v = json_integer_value(json_object_get(obj, key));
    return v < 0 ? 0 : v > (json_int_t)UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* The answer is the first "text" block of "content"; stop_reason
 * end_turn/stop_sequence -> "stop", max_tokens -> "length". */
static int an_chat_parse(const json_t *doc, assay_provider_reply *out,
                         assay_error *err)
{
    json_t *content = json_object_get(doc, "content"), *blk;
    size_t i;
    if (!json_is_array(content))
        return assay_error_set(err, ASSAY_EDATA,
                               "response has no content array");
    out->text = "";
    out->text_len = 0;
    json_array_foreach(content, i, blk)
    {
        const char *type = json_string_value(json_object_get(blk, "type"));
        json_t *t = json_object_get(blk, "text");
        if (type && strcmp(type, "text") == 0 && json_is_string(t)) {
            out->text = json_string_value(t);
            out->text_len = json_string_length(t);
            break;
        }
    }
    const char *sr = json_string_value(json_object_get(doc, "stop_reason"));
    if (sr && (strcmp(sr, "end_turn") == 0 || strcmp(sr, "stop_sequence") == 0))
        sr = "stop";
    else if (sr && strcmp(sr, "max_tokens") == 0)
        sr = "length";
    out->finish_reason = sr;
    json_t *usage = json_object_get(doc, "usage");
    out->prompt_tokens = an_u32(usage, "input_tokens");
    out->completion_tokens = an_u32(usage, "output_tokens");
    return ASSAY_OK;
}

/* {"type": "error", "error": {"type": ..., "message": ...}} */
static size_t an_error_message(const json_t *doc, char *msg, size_t msgsz)
{
    const json_t *e = json_object_get(doc, "error");
    const char *s = json_string_value(json_object_get(e, "message"));
    const char *type = json_string_value(json_object_get(e, "type"));
    if (!s)
        s = json_string_value(e);
    if (!s)
        s = json_string_value(json_object_get(doc, "message"));
    if (!s || msgsz == 0)
        return 0;
    int n = type ? snprintf(msg, msgsz, "%s: %s", type, s)
                 : snprintf(msg, msgsz, "%s", s);
    return n < 0 ? 0 : (size_t)n < msgsz ? (size_t)n : msgsz - 1;
}

static const assay_llm_provider an_provider = {
    .struct_size = sizeof(assay_llm_provider),
    .chat_url = an_chat_url,
    .headers = an_headers,
    .chat_body = an_chat_body,
    .chat_parse = an_chat_parse,
    .error_message = an_error_message,
};

static int an_create(const assay_host *host, const json_t *options,
                     void **state, assay_error *err)
{
    (void)host;
    (void)options;
    (void)err;
    *state = NULL;
    return ASSAY_OK;
}

static int an_run(void *state, assay_io *io, assay_error *err)
{
    (void)state;
    (void)io;
    return assay_error_set(err, ASSAY_ENOTSUP,
                           "provider plugins are used through llm: "
                           "endpoints, not as graph nodes");
}

static void an_destroy(void *state)
{
    (void)state;
}

static const assay_plugin an_plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "llm.anthropic",
    .kind = "llm-provider",
    .version = "1.0.0",
    .summary = "Anthropic Messages API wire format",
    .doc = "Provider for endpoints declared in the experiment's llm: section "
           "with `provider: anthropic`.  Sends POST {base_url}/messages "
           "(base_url default https://api.anthropic.com/v1) with headers "
           "x-api-key and anthropic-version: " AN_API_VERSION ".\n"
           "System messages become the top-level `system` text (several are "
           "joined by blank lines).  max_tokens is required by the API and "
           "defaults to 1024; temperature and top_p pass through; stop "
           "becomes stop_sequences; seed and response_format have no "
           "equivalent and are dropped.  The answer is the first text block; "
           "stop_reason end_turn/stop_sequence is reported as \"stop\" and "
           "max_tokens as \"length\".  Usage from usage.input_tokens / "
           "usage.output_tokens.  No embeddings.\n"
           "Not a graph node: running it as one fails.",
    .flags = ASSAY_F_DETERMINISTIC,
    .create = an_create,
    .run = an_run,
    .destroy = an_destroy,
    .ext = &an_provider,
};

static const assay_plugin *const an_list[] = {&an_plugin, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi_version)
{
    (void)host_abi_version;
    return an_list;
}
