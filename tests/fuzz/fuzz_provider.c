/*
 * Fuzz target: the llm-provider plugins (plugins/llm/openai and
 * plugins/llm/anthropic) through their vtable (assay/provider.h), as the
 * LLM service drives them.  The input is a response body from a model
 * server: it is parsed the way the host parses bodies (json_loadb, NUL
 * bytes and all) and handed to chat_parse, error_message (with buffers
 * of several sizes, and with no document when the body is not JSON) and
 * embed_vector.  The same document also drives the request side: when it
 * holds "messages", "params", "model", "base_url", "api_key" or "input"
 * they become the conversation, parameters, endpoint and embedding texts
 * of chat_url, headers, chat_body and embed_body.
 *
 * Invariants: a parsed reply's text is readable for text_len bytes and
 * its token counts are the documented clamps; an error message fits its
 * buffer and is terminated; an embedding vector is an array; built
 * bodies serialise.
 */
#include "fuzz.h"

#include <assay/provider.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const assay_llm_provider *PROV[2];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    json_object_seed(1);
    const assay_plugin *o =
        fuzz_find(fuzz_openai_entry(ASSAY_ABI_VERSION), "llm.openai");
    const assay_plugin *a =
        fuzz_find(fuzz_anthropic_entry(ASSAY_ABI_VERSION), "llm.anthropic");
    if (!o || !a || !o->ext || !a->ext) {
        fprintf(stderr, "fuzz-provider: provider descriptors not found\n");
        exit(1);
    }
    PROV[0] = o->ext;
    PROV[1] = a->ext;
    return 0;
}

static const char *str_or(const json_t *doc, const char *key, const char *dflt)
{
    const char *s = json_string_value(json_object_get(doc, key));
    return s ? s : dflt;
}

static void response_side(const assay_llm_provider *p, const json_t *doc)
{
    if (doc) {
        assay_provider_reply r;
        assay_error err;
        memset(&r, 0, sizeof r);
        if (p->chat_parse(doc, &r, &err) == 0) {
            if (!r.text)
                fuzz_fail("chat_parse: ok without text");
            /* every byte of the answer must be readable */
            volatile char sink = 0;
            for (size_t i = 0; i < r.text_len; i++)
                sink ^= r.text[i];
            (void)sink;
            if (r.finish_reason)
                (void)strlen(r.finish_reason);
        } else if (!err.text[0])
            fuzz_fail("chat_parse: error without a message");
    }
    static const size_t sizes[] = {0, 1, 7, 512};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        char msg[512];
        memset(msg, 'x', sizeof msg);
        size_t n = p->error_message(doc, msg, sizes[k]);
        if (sizes[k] == 0 && n != 0)
            fuzz_fail("error_message: wrote into an empty buffer");
        if (sizes[k] && n && (n >= sizes[k] || msg[n] != '\0'))
            fuzz_fail("error_message: %zu bytes into %zu", n, sizes[k]);
    }
    if (doc && p->embed_vector && ASSAY_PROVIDER_HAS(p, embed_vector))
        for (size_t i = 0; i < 4; i++) {
            assay_error err;
            const json_t *v = p->embed_vector(doc, i, &err);
            if (v && !json_is_array(v))
                fuzz_fail("embed_vector: not an array");
        }
}

static void request_side(const assay_llm_provider *p, const json_t *doc)
{
    assay_provider_endpoint ep = {
        .base_url = str_or(doc, "base_url", "http://127.0.0.1:1/v1"),
        .model = str_or(doc, "model", "m"),
        .api_key = str_or(doc, "api_key", NULL),
    };
    assay_error err;
    char url[64];
    p->chat_url(&ep, url, sizeof url, &err);
    json_t *headers = json_array();
    if (headers)
        p->headers(&ep, headers, &err);
    json_decref(headers);

    assay_llm_message msgs[16];
    size_t n = 0, i;
    json_t *m;
    json_array_foreach(json_object_get(doc, "messages"), i, m)
    {
        if (n == 16)
            break;
        msgs[n].role = str_or(m, "role", "user");
        msgs[n++].content = str_or(m, "content", "");
    }
    const json_t *params = json_object_get(doc, "params");
    if (!params)
        params = json_is_object(doc) ? doc : NULL;
    json_t *body = NULL;
    if (p->chat_body(&ep, msgs, n, params, &body, &err) == 0) {
        char *s = json_dumps(body, JSON_COMPACT);
        free(s);
        json_decref(body);
    }
    if (p->embed_body) {
        const char *texts[16];
        size_t k = 0;
        json_array_foreach(json_object_get(doc, "input"), i, m)
        {
            if (k < 16)
                texts[k++] = json_string_value(m);
        }
        body = NULL;
        if (p->embed_body(&ep, texts, k, &body, &err) == 0)
            json_decref(body);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t je;
    json_t *doc = json_loadb((const char *)data, size, 0, &je);
    for (size_t k = 0; k < 2; k++) {
        response_side(PROV[k], doc);
        if (doc)
            request_side(PROV[k], doc);
    }
    json_decref(doc);
    return 0;
}
