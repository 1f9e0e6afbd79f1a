/*
 * tests/llm/test_providers.c - the llm-provider plugins on their own:
 * request bodies, headers, URLs, response and error parsing, embeddings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "llmtest.h"

static const assay_llm_provider *prov(const char *name)
{
    const assay_plugin *p = test_find_plugin(NULL, name);
    assert_non_null(p);
    assert_string_equal(p->kind, "llm-provider");
    assert_non_null(p->ext);
    /* as a graph node it refuses to run */
    assay_error err;
    assert_int_equal(p->run(NULL, NULL, &err), ASSAY_ENOTSUP);
    assert_non_null(strstr(err.text, "llm:"));
    return p->ext;
}

static const assay_provider_endpoint ep = {"https://example.test/v1", "m-1",
                                           "sk-abc123456789"};
static const assay_llm_message msgs[3] = {
    {"system", "be brief"}, {"system", "be kind"}, {"user", "hello \"world\""}};

static bool has_header(const json_t *h, const char *line)
{
    size_t i;
    json_t *v;
    json_array_foreach(h, i, v) if (strcmp(json_string_value(v), line) ==
                                    0) return true;
    return false;
}

static void test_openai(void **state)
{
    (void)state;
    const assay_llm_provider *p = prov("llm.openai");
    char url[256];
    assay_error err;
    assert_int_equal(p->chat_url(&ep, url, sizeof url, &err), 0);
    assert_string_equal(url, "https://example.test/v1/chat/completions");
    assert_int_equal(p->embed_url(&ep, url, sizeof url, &err), 0);
    assert_string_equal(url, "https://example.test/v1/embeddings");
    assert_int_not_equal(p->chat_url(&ep, url, 10, &err), 0);

    json_t *h = json_array();
    assert_int_equal(p->headers(&ep, h, &err), 0);
    assert_true(has_header(h, "Authorization: Bearer sk-abc123456789"));
    assert_true(has_header(h, "Content-Type: application/json"));
    json_decref(h);
    assay_provider_endpoint nokey = {"http://x/v1", "m", NULL};
    h = json_array();
    assert_int_equal(p->headers(&nokey, h, &err), 0);
    assert_int_equal(json_array_size(h), 1); /* no Authorization */
    json_decref(h);

    json_t *params =
        json_pack("{s:f, s:i, s:s, s:{s:s}}", "temperature", 0.5, "max_tokens",
                  20, "stop", "END", "response_format", "type", "json_object");
    json_t *body = NULL;
    assert_int_equal(p->chat_body(&ep, msgs, 3, params, &body, &err), 0);
    assert_string_equal(json_string_value(json_object_get(body, "model")),
                        "m-1");
    json_t *m = json_object_get(body, "messages");
    assert_int_equal(json_array_size(m), 3);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(m, 2), "content")),
        "hello \"world\"");
    assert_int_equal(json_integer_value(json_object_get(body, "max_tokens")),
                     20);
    assert_string_equal(json_string_value(json_object_get(body, "stop")),
                        "END");
    assert_non_null(json_object_get(body, "response_format"));
    json_decref(body);
    json_decref(params);
    assay_llm_message bad = {"user", "\xff\xfe"};
    assert_int_equal(p->chat_body(&ep, &bad, 1, NULL, &body, &err),
                     ASSAY_EINVAL);
    assert_non_null(strstr(err.text, "UTF-8"));

    json_t *doc = json_loads(
        "{\"choices\": [{\"message\": {\"role\": \"assistant\", \"content\": "
        "\"hi!\"}, \"finish_reason\": \"length\"}], \"usage\": "
        "{\"prompt_tokens\": 11, \"completion_tokens\": 3}}",
        0, NULL);
    assay_provider_reply r = {0};
    assert_int_equal(p->chat_parse(doc, &r, &err), 0);
    assert_string_equal(r.text, "hi!");
    assert_int_equal(r.text_len, 3);
    assert_string_equal(r.finish_reason, "length");
    assert_int_equal(r.prompt_tokens, 11);
    assert_int_equal(r.completion_tokens, 3);
    json_decref(doc);
    /* content null (tool calls) is an empty answer; no choices is bad */
    doc = json_loads("{\"choices\": [{\"message\": {\"content\": null}}]}", 0,
                     NULL);
    assert_int_equal(p->chat_parse(doc, &r, &err), 0);
    assert_string_equal(r.text, "");
    json_decref(doc);
    doc = json_loads("{\"object\": \"error\"}", 0, NULL);
    assert_int_equal(p->chat_parse(doc, &r, &err), ASSAY_EDATA);
    json_decref(doc);

    char msg[64];
    const char *shapes[4] = {
        "{\"error\": {\"message\": \"bad key\"}}", "{\"error\": \"bad key\"}",
        "{\"detail\": \"bad key\"}", "{\"message\": \"bad key\"}"};
    for (int i = 0; i < 4; i++) {
        doc = json_loads(shapes[i], 0, NULL);
        assert_int_equal(p->error_message(doc, msg, sizeof msg), 7);
        assert_string_equal(msg, "bad key");
        json_decref(doc);
    }
    assert_int_equal(p->error_message(NULL, msg, sizeof msg), 0);
    doc = json_loads("{\"error\": {\"message\": \"a very long message\"}}", 0,
                     NULL);
    assert_int_equal(p->error_message(doc, msg, 7), 6);
    assert_string_equal(msg, "a very");
    json_decref(doc);

    const char *texts[2] = {"a", "b"};
    assert_int_equal(p->embed_body(&ep, texts, 2, &body, &err), 0);
    assert_int_equal(json_array_size(json_object_get(body, "input")), 2);
    json_decref(body);
    doc = json_loads("{\"data\": [{\"index\": 1, \"embedding\": [3, 4]}, "
                     "{\"index\": 0, \"embedding\": [1, 2]}]}",
                     0, NULL);
    const json_t *v = p->embed_vector(doc, 0, &err);
    assert_int_equal(json_integer_value(json_array_get(v, 0)), 1);
    v = p->embed_vector(doc, 1, &err);
    assert_int_equal(json_integer_value(json_array_get(v, 0)), 3);
    assert_null(p->embed_vector(doc, 2, &err));
    json_decref(doc);
}

static void test_anthropic(void **state)
{
    (void)state;
    const assay_llm_provider *p = prov("llm.anthropic");
    char url[256];
    assay_error err;
    assert_int_equal(p->chat_url(&ep, url, sizeof url, &err), 0);
    assert_string_equal(url, "https://example.test/v1/messages");
    assert_null(p->embed_body);

    json_t *h = json_array();
    assert_int_equal(p->headers(&ep, h, &err), 0);
    assert_true(has_header(h, "x-api-key: sk-abc123456789"));
    assert_true(has_header(h, "anthropic-version: 2023-06-01"));
    json_decref(h);

    json_t *body = NULL;
    assert_int_equal(p->chat_body(&ep, msgs, 3, NULL, &body, &err), 0);
    assert_string_equal(json_string_value(json_object_get(body, "system")),
                        "be brief\n\nbe kind");
    assert_int_equal(json_array_size(json_object_get(body, "messages")), 1);
    assert_int_equal(json_integer_value(json_object_get(body, "max_tokens")),
                     1024);
    json_decref(body);

    json_t *params =
        json_pack("{s:i, s:s, s:i, s:s, s:f}", "max_tokens", 50, "stop", "END",
                  "seed", 7, "response_format", "x", "top_p", 0.9);
    assert_int_equal(p->chat_body(&ep, msgs + 2, 1, params, &body, &err), 0);
    assert_null(json_object_get(body, "system"));
    assert_int_equal(json_integer_value(json_object_get(body, "max_tokens")),
                     50);
    json_t *ss = json_object_get(body, "stop_sequences");
    assert_int_equal(json_array_size(ss), 1);
    assert_string_equal(json_string_value(json_array_get(ss, 0)), "END");
    assert_null(json_object_get(body, "stop"));
    assert_null(json_object_get(body, "seed"));
    assert_null(json_object_get(body, "response_format"));
    assert_non_null(json_object_get(body, "top_p"));
    json_decref(body);
    json_decref(params);

    json_t *doc = json_loads(
        "{\"content\": [{\"type\": \"thinking\", \"thinking\": \"hmm\"}, "
        "{\"type\": \"text\", \"text\": \"Paris\"}], \"stop_reason\": "
        "\"max_tokens\", \"usage\": {\"input_tokens\": 9, \"output_tokens\": "
        "2}}",
        0, NULL);
    assay_provider_reply r = {0};
    assert_int_equal(p->chat_parse(doc, &r, &err), 0);
    assert_string_equal(r.text, "Paris");
    assert_string_equal(r.finish_reason, "length");
    assert_int_equal(r.prompt_tokens, 9);
    assert_int_equal(r.completion_tokens, 2);
    json_decref(doc);

    char msg[128];
    doc = json_loads("{\"type\": \"error\", \"error\": {\"type\": "
                     "\"overloaded_error\", \"message\": \"Overloaded\"}}",
                     0, NULL);
    assert_true(p->error_message(doc, msg, sizeof msg) > 0);
    assert_string_equal(msg, "overloaded_error: Overloaded");
    json_decref(doc);
}

/* Arbitrary bytes never crash the parsers (a small deterministic fuzz:
 * random mutations of valid documents). */
static void test_parse_garbage(void **state)
{
    (void)state;
    const char *seeds[3] = {
        "{\"choices\": [{\"message\": {\"content\": \"x\"}}], \"usage\": "
        "{\"prompt_tokens\": 1}}",
        "{\"content\": [{\"type\": \"text\", \"text\": \"y\"}], "
        "\"usage\": {\"input_tokens\": -5}}",
        "{\"data\": [{\"index\": 0, \"embedding\": [1, \"a\", null]}], "
        "\"error\": {\"message\": 3}}"};
    const assay_llm_provider *ps[2] = {prov("llm.openai"),
                                       prov("llm.anthropic")};
    uint64_t x = 12345;
    for (int round = 0; round < 3000; round++) {
        char buf[256];
        const char *s = seeds[round % 3];
        size_t n = strlen(s);
        memcpy(buf, s, n + 1);
        for (int k = 0; k < 3; k++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            buf[(x >> 33) % n] = (char)(x >> 13);
        }
        json_t *doc = json_loadb(buf, n, 0, NULL);
        for (int i = 0; i < 2; i++) {
            assay_provider_reply r;
            assay_error err;
            char msg[64];
            ps[i]->chat_parse(doc ? doc : json_null(), &r, &err);
            ps[i]->error_message(doc, msg, sizeof msg);
            if (ps[i]->embed_vector)
                ps[i]->embed_vector(doc, 0, &err);
        }
        json_decref(doc);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_openai),
        cmocka_unit_test(test_anthropic),
        cmocka_unit_test(test_parse_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
