/*
 * tests/llm/test_generate.c - llm.generate end to end: the plugin .so
 * through a small host vtable backed by the real LLM service and the fake
 * server (records in, records out).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmtest.h"

/* What one node run sees and produces. */
struct assay_io {
    const json_t *items;
    json_t *out_items;
    json_t *out_info;
};

typedef struct mini_host {
    assay_host h;
    llm_service *s;
} mini_host;

static llm_service *svc_of(const assay_host *h)
{
    return ((const mini_host *)h)->s;
}

static void m_log(const assay_host *h, int level, const char *fmt, ...)
{
    va_list ap;
    (void)h;
    (void)level;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static bool m_cancelled(const assay_host *h)
{
    (void)h;
    return false;
}

static int m_resolve(const assay_host *h, const char *path, char *out,
                     size_t outsz, assay_error *err)
{
    (void)h;
    if ((size_t)snprintf(out, outsz, "%s", path) >= outsz)
        return assay_error_set(err, ASSAY_EINVAL, "path too long");
    return 0;
}

static assay_type m_in_type(assay_io *io, const char *port)
{
    return strcmp(port, "items") == 0 && io->items ? ASSAY_T_RECORDS : 0;
}

static const json_t *m_in_records(assay_io *io, const char *port)
{
    return strcmp(port, "items") == 0 ? io->items : NULL;
}

static int m_out_records(assay_io *io, const char *port, json_t *r,
                         assay_error *err)
{
    (void)err;
    assert_string_equal(port, "items");
    assert_null(io->out_items);
    io->out_items = r;
    return 0;
}

static int m_out_json(assay_io *io, const char *port, json_t *v,
                      assay_error *err)
{
    (void)err;
    assert_string_equal(port, "info");
    io->out_info = v;
    return 0;
}

static int m_batch(const assay_host *h, const char *ep,
                   const assay_llm_request *reqs, size_t n,
                   assay_llm_result *res, assay_error *err)
{
    return llm_service_batch(svc_of(h), "gen", ep, reqs, n, res, NULL, NULL,
                             err);
}

static json_t *m_info(const assay_host *h, const char *ep)
{
    return llm_service_endpoint_info(svc_of(h), ep);
}

static const assay_plugin *load_generate(void)
{
    const char *path = getenv("GENERATE_PLUGIN");
    assert_non_null(path);
    void *so = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    assert_non_null(so);
    assay_plugin_entry_fn fn;
    *(void **)&fn = dlsym(so, ASSAY_PLUGIN_ENTRY_SYMBOL);
    assert_non_null(fn);
    const assay_plugin *p = fn(ASSAY_ABI_VERSION)[0];
    assert_string_equal(p->name, "llm.generate");
    return p;
}

static void host_init(mini_host *m, llm_service *s)
{
    memset(m, 0, sizeof *m);
    m->s = s;
    m->h.abi_version = ASSAY_ABI_VERSION;
    m->h.struct_size = sizeof m->h;
    m->h.log = m_log;
    m->h.cancelled = m_cancelled;
    m->h.resolve_path = m_resolve;
    m->h.in_type = m_in_type;
    m->h.in_records = m_in_records;
    m->h.out_records = m_out_records;
    m->h.out_json = m_out_json;
    m->h.llm_batch = m_batch;
    m->h.llm_result_clear = llm_result_clear;
    m->h.llm_endpoint_info = m_info;
}

/* Options as the host would pass them: validated, defaults filled. */
static json_t *options(const char *given)
{
    json_t *o = json_pack("{s:s, s:i, s:s, s:b, s:s, s:n, s:n, s:n, s:n, "
                          "s:n}",
                          "llm", "ep", "n", 1, "field", "answer", "usage", 1,
                          "on_error", "fail", "user", "system", "user_file",
                          "system_file", "params");
    json_t *g = json_loads(given, 0, NULL);
    assert_non_null(g);
    json_object_update(o, g);
    json_decref(g);
    return o;
}

static int run_node(llm_service *s, const char *opts, const char *items,
                    struct assay_io *io, assay_estimate *est, assay_error *err)
{
    const assay_plugin *p = load_generate();
    mini_host m;
    void *state = NULL;
    json_t *o = options(opts), *in = json_loads(items, 0, NULL);
    assert_non_null(in);
    host_init(&m, s);
    memset(io, 0, sizeof *io);
    io->items = in;
    int rc = p->create(&m.h, o, &state, err);
    json_decref(o);
    if (rc == 0 && est) {
        est->struct_size = sizeof *est;
        rc = p->estimate(state, io, est, err);
        /* borrowed from the plugin's state: read it before destroy */
        if (rc == 0)
            assert_string_equal(est->endpoint, "ep");
        est->endpoint = NULL;
    }
    if (rc == 0)
        rc = p->run(state, io, err);
    if (state || rc == 0)
        p->destroy(state);
    json_decref(in);
    io->items = NULL;
    return rc;
}

static const char items3[] =
    "[{\"id\": 1, \"question\": \"sky?\"}, {\"id\": 2, \"question\": "
    "\"sea?\"}, {\"id\": 3, \"question\": \"sun?\"}]";

static void test_generate_n1(void **state)
{
    (void)state;
    fake_server f;
    assert_int_equal(fake_start(&f, NULL), 0);
    json_t *eps = test_endpoints("ep", "openai", &f, NULL);
    llm_service *s = NULL;
    assay_error err = {0};
    assert_int_equal(llm_service_create(eps, NULL, NULL, "off",
                                        test_find_plugin, NULL, &s, &err),
                     0);
    struct assay_io io;
    assay_estimate est = {0};
    int rc = run_node(s,
                      "{\"system\": \"Answer briefly.\", \"user\": "
                      "\"Q{{id}}: {{ question }}\"}",
                      items3, &io, &est, &err);
    if (rc)
        fprintf(stderr, "%s\n", err.text);
    assert_int_equal(rc, 0);
    assert_int_equal(est.llm_requests, 3);
    assert_true(est.prompt_tokens > 0);
    assert_int_equal(json_array_size(io.out_items), 3);
    const char *want[3] = {"echo: Q1: sky?", "echo: Q2: sea?",
                           "echo: Q3: sun?"};
    for (size_t i = 0; i < 3; i++) {
        json_t *r = json_array_get(io.out_items, i);
        assert_int_equal(json_integer_value(json_object_get(r, "id")),
                         (json_int_t)i + 1);
        assert_string_equal(json_string_value(json_object_get(r, "answer")),
                            want[i]);
        json_t *u = json_object_get(r, "answer_usage");
        assert_true(json_integer_value(json_object_get(u, "prompt_tokens")) >
                    0);
        assert_null(json_object_get(r, "answer_error"));
    }
    assert_int_equal(
        json_integer_value(json_object_get(io.out_info, "requests")), 3);
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(io.out_info, "endpoint_info"), "model")),
        "fake-model");
    json_decref(io.out_items);
    json_decref(io.out_info);
    llm_service_destroy(s);
    json_decref(eps);
    fake_stop(&f);
}

static void test_generate_samples_and_cache(void **state)
{
    (void)state;
    fake_server f;
    assert_int_equal(fake_start(&f, NULL), 0);
    char *dir = test_tmpdir(), path[600];
    snprintf(path, sizeof path, "%s/c.sqlite", dir);
    json_t *eps = test_endpoints("ep", "openai", &f, NULL);
    assay_error err = {0};
    struct assay_io io;
    for (int round = 0; round < 2; round++) {
        llm_service *s = NULL;
        assert_int_equal(llm_service_create(eps, NULL, path, NULL,
                                            test_find_plugin, NULL, &s, &err),
                         0);
        assert_int_equal(run_node(s,
                                  "{\"user\": \"{{question}}\", \"n\": 4, "
                                  "\"field\": \"resp\", \"params\": "
                                  "{\"temperature\": 0.9}}",
                                  items3, &io, NULL, &err),
                         0);
        for (size_t i = 0; i < 3; i++) {
            json_t *r = json_array_get(io.out_items, i);
            json_t *a = json_object_get(r, "resp");
            assert_int_equal(json_array_size(a), 4);
            json_t *u = json_object_get(r, "resp_usage");
            assert_int_equal(json_integer_value(json_object_get(u, "cached")),
                             round == 0 ? 0 : 4);
        }
        json_decref(io.out_items);
        json_decref(io.out_info);
        llm_service_destroy(s);
    }
    /* 12 requests sent once: the second round came from the cache */
    json_t *st = fake_stats(&f);
    assert_int_equal(json_integer_value(json_object_get(st, "requests")), 12);
    json_decref(st);
    json_decref(eps);
    free(dir);
    fake_stop(&f);
}

static void test_generate_errors(void **state)
{
    (void)state;
    fake_server f;
    assert_int_equal(fake_start(&f, "{\"rules\": [{\"user\": \"sea\", "
                                    "\"status\": 400, \"error\": \"content "
                                    "policy\"}]}"),
                     0);
    json_t *eps = test_endpoints("ep", "openai", &f, NULL);
    llm_service *s = NULL;
    assay_error err = {0};
    struct assay_io io;
    assert_int_equal(llm_service_create(eps, NULL, NULL, "off",
                                        test_find_plugin, NULL, &s, &err),
                     0);
    /* missing field: names the record and the field */
    assert_int_equal(
        run_node(s, "{\"user\": \"{{prompt}}\"}", items3, &io, NULL, &err),
        ASSAY_EDATA);
    assert_non_null(strstr(err.text, "record 0: missing field 'prompt'"));
    /* on_error fail: the node fails naming the record */
    assert_int_equal(
        run_node(s, "{\"user\": \"{{question}}\"}", items3, &io, NULL, &err),
        ASSAY_ELLM);
    assert_non_null(strstr(err.text, "record 1 sample 0"));
    assert_non_null(strstr(err.text, "content policy"));
    /* on_error record: null answer plus the reason */
    assert_int_equal(run_node(s,
                              "{\"user\": \"{{question}}\", \"on_error\": "
                              "\"record\"}",
                              items3, &io, NULL, &err),
                     0);
    json_t *r1 = json_array_get(io.out_items, 1);
    assert_true(json_is_null(json_object_get(r1, "answer")));
    assert_non_null(
        strstr(json_string_value(json_object_get(r1, "answer_error")),
               "HTTP 400: content policy"));
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(io.out_items, 2), "answer")),
                        "echo: sun?");
    assert_int_equal(json_integer_value(json_object_get(io.out_info, "failed")),
                     1);
    json_decref(io.out_items);
    json_decref(io.out_info);
    /* neither user nor user_file */
    assert_int_equal(run_node(s, "{}", items3, &io, NULL, &err), ASSAY_EINVAL);
    assert_non_null(strstr(err.text, "user"));
    llm_service_destroy(s);
    json_decref(eps);
    fake_stop(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_n1),
        cmocka_unit_test(test_generate_samples_and_cache),
        cmocka_unit_test(test_generate_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
