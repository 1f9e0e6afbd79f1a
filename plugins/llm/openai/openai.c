/*
 * llm.openai - the OpenAI Chat Completions wire format, as an
 * llm-provider plugin (assay/provider.h).  It serves OpenAI and every
 * server that speaks the same protocol: vLLM, SGLang, llama.cpp's
 * server, Ollama, LM Studio, TGI and most hosted APIs.  Also embeddings
 * (POST {base_url}/embeddings).
 */
#include <assay/plugin.h>
#include <assay/provider.h>

#include <stdio.h>
#include <string.h>

/* Join base_url and `path` into `url`. */
static int oa_url(const assay_provider_endpoint *ep, const char *path,
                  char *url, size_t urlsz, assay_error *err)
{
    int n = snprintf(url, urlsz, "%s%s", ep->base_url, path);
    if (n < 0 || (size_t)n >= urlsz)
        return assay_error_set(err, ASSAY_EINVAL,
                               "base_url is too long (%zu bytes at most)",
                               urlsz - 1 - strlen(path));
    return ASSAY_OK;
}

static int oa_chat_url(const assay_provider_endpoint *ep, char *url,
                       size_t urlsz, assay_error *err)
{
    return oa_url(ep, "/chat/completions", url, urlsz, err);
}

static int oa_embed_url(const assay_provider_endpoint *ep, char *url,
                        size_t urlsz, assay_error *err)
{
    return oa_url(ep, "/embeddings", url, urlsz, err);
}

/* Append "Name: value" to the header array. */
static int oa_header(json_t *headers, const char *name, const char *value,
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

static int oa_headers(const assay_provider_endpoint *ep, json_t *headers,
                      assay_error *err)
{
    int rc = oa_header(headers, "Content-Type", "application/json", err);
    if (rc == 0 && ep->api_key && ep->api_key[0]) {
        char v[900];
        int n = snprintf(v, sizeof v, "Bearer %s", ep->api_key);
        if (n < 0 || (size_t)n >= sizeof v)
            return assay_error_set(err, ASSAY_EINVAL, "api_key is too long");
        rc = oa_header(headers, "Authorization", v, err);
    }
    return rc;
}

/* The body: {"model", "messages": [...], parameters...}.  Every
 * parameter is passed through under its own name: OpenAI-compatible
 * servers use the names assay's parameters are named after. */
static int oa_chat_body(const assay_provider_endpoint *ep,
                        const assay_llm_message *msgs, size_t n_msgs,
                        const json_t *params, json_t **body, assay_error *err)
{
    json_t *b = json_object(), *arr = json_array();
    if (!b || !arr)
        goto oom;
    if (json_object_set_new(b, "model", json_string(ep->model)) != 0)
        goto oom;
    for (size_t i = 0; i < n_msgs; i++) {
        if (!msgs[i].role || !msgs[i].content) {
            json_decref(arr);
            json_decref(b);
            return assay_error_set(err, ASSAY_EINVAL,
                                   "message %zu has no role or content", i);
        }
        json_t *m = json_pack("{s:s, s:s}", "role", msgs[i].role, "content",
                              msgs[i].content);
        if (!m) {
            json_decref(arr);
            json_decref(b);
            return assay_error_set(err, ASSAY_EINVAL,
                                   "message %zu is not valid UTF-8", i);
        }
        if (json_array_append_new(arr, m) != 0)
            goto oom;
    }
    if (json_object_set(b, "messages", arr) != 0)
        goto oom;
    if (params) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)params, k, v)
        {
            if (json_object_set(b, k, v) != 0)
                goto oom;
        }
    }
    json_decref(arr);
    *body = b;
    return ASSAY_OK;
oom:
    json_decref(arr);
    json_decref(b);
    return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
}

static uint32_t oa_u32(const json_t *obj, const char *key)
{
    json_int_t v = json_integer_value(json_object_get(obj, key));
    return v < 0 ? 0 : v > (json_int_t)UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static int oa_chat_parse(const json_t *doc, assay_provider_reply *out,
                         assay_error *err)
{
    json_t *choice = json_array_get(json_object_get(doc, "choices"), 0);
    json_t *msg = json_object_get(choice, "message");
    json_t *content = json_object_get(msg, "content");
    if (!json_is_object(msg))
        return assay_error_set(err, ASSAY_EDATA,
                               "response has no choices[0].message");
    if (content && !json_is_string(content) && !json_is_null(content))
        return assay_error_set(err, ASSAY_EDATA,
                               "choices[0].message.content is not a "
                               "string");
    out->text = json_is_string(content) ? json_string_value(content) : "";
    out->text_len = json_is_string(content) ? json_string_length(content) : 0;
    out->finish_reason =
        json_string_value(json_object_get(choice, "finish_reason"));
    json_t *usage = json_object_get(doc, "usage");
    out->prompt_tokens = oa_u32(usage, "prompt_tokens");
    out->completion_tokens = oa_u32(usage, "completion_tokens");
    return ASSAY_OK;
}

/* {"error": {"message": ...}} (OpenAI, vLLM), {"error": "..."} (some
 * servers), {"detail": "..."} / {"message": "..."} (TGI and others). */
static size_t oa_error_message(const json_t *doc, char *msg, size_t msgsz)
{
    const json_t *e = json_object_get(doc, "error");
    const char *s = json_string_value(json_object_get(e, "message"));
    if (!s)
        s = json_string_value(e);
    if (!s)
        s = json_string_value(json_object_get(doc, "detail"));
    if (!s)
        s = json_string_value(json_object_get(doc, "message"));
    if (!s || msgsz == 0)
        return 0;
    int n = snprintf(msg, msgsz, "%s", s);
    return n < 0 ? 0 : (size_t)n < msgsz ? (size_t)n : msgsz - 1;
}

static int oa_embed_body(const assay_provider_endpoint *ep,
                         const char *const *texts, size_t n, json_t **body,
                         assay_error *err)
{
    json_t *in = json_array();
    for (size_t i = 0; in && i < n; i++)
        if (json_array_append_new(in, json_string(texts[i] ? texts[i] : "")) !=
            0) {
            json_decref(in);
            in = NULL;
        }
    json_t *b =
        in ? json_pack("{s:s, s:o}", "model", ep->model, "input", in) : NULL;
    if (!b)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    *body = b;
    return ASSAY_OK;
}

/* data[] entries carry their input position in "index"; fall back to the
 * array position when a server omits it. */
static const json_t *oa_embed_vector(const json_t *doc, size_t i,
                                     assay_error *err)
{
    json_t *data = json_object_get(doc, "data"), *d;
    size_t j;
    json_array_foreach(data, j, d)
    {
        json_t *idx = json_object_get(d, "index");
        size_t at = json_is_integer(idx) ? (size_t)json_integer_value(idx) : j;
        if (at == i) {
            json_t *v = json_object_get(d, "embedding");
            if (json_is_array(v))
                return v;
            break;
        }
    }
    assay_error_set(err, ASSAY_EDATA,
                    "embedding response has no vector for input %zu", i);
    return NULL;
}

static const assay_llm_provider oa_provider = {
    .struct_size = sizeof(assay_llm_provider),
    .chat_url = oa_chat_url,
    .headers = oa_headers,
    .chat_body = oa_chat_body,
    .chat_parse = oa_chat_parse,
    .error_message = oa_error_message,
    .embed_url = oa_embed_url,
    .embed_body = oa_embed_body,
    .embed_vector = oa_embed_vector,
};

static int oa_create(const assay_host *host, const json_t *options,
                     void **state, assay_error *err)
{
    (void)host;
    (void)options;
    (void)err;
    *state = NULL;
    return ASSAY_OK;
}

static int oa_run(void *state, assay_io *io, assay_error *err)
{
    (void)state;
    (void)io;
    return assay_error_set(err, ASSAY_ENOTSUP,
                           "provider plugins are used through llm: "
                           "endpoints, not as graph nodes");
}

static void oa_destroy(void *state)
{
    (void)state;
}

static const assay_plugin oa_plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "llm.openai",
    .kind = "llm-provider",
    .version = "1.0.0",
    .summary = "OpenAI Chat Completions and embeddings wire format",
    .doc = "Provider for endpoints declared in the experiment's llm: section "
           "with `provider: openai`.  Speaks the OpenAI Chat Completions "
           "protocol (POST {base_url}/chat/completions) used by OpenAI, vLLM, "
           "SGLang, llama.cpp's server, Ollama, LM Studio, TGI and most hosted "
           "APIs, and the embeddings protocol (POST {base_url}/embeddings).\n"
           "base_url includes the version prefix (default "
           "https://api.openai.com/v1).  The key is sent as "
           "`Authorization: Bearer KEY`.  Parameters (temperature, top_p, "
           "max_tokens, seed, stop, response_format and any extra `params:`) "
           "are passed through unchanged.  Usage comes from the response's "
           "usage.prompt_tokens / usage.completion_tokens; error messages "
           "from error.message (or error, detail, message).\n"
           "Not a graph node: running it as one fails.",
    .flags = ASSAY_F_DETERMINISTIC,
    .create = oa_create,
    .run = oa_run,
    .destroy = oa_destroy,
    .ext = &oa_provider,
};

static const assay_plugin *const oa_list[] = {&oa_plugin, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi_version)
{
    (void)host_abi_version;
    return oa_list;
}
