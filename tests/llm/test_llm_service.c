/*
 * tests/llm/test_llm_service.c - the LLM service against the fake server
 * over real HTTP on 127.0.0.1: answers and order, cache modes, every
 * injected fault, non-retryable errors, budget, streaming follow-ups,
 * adaptive concurrency, limits, cancel, embeddings, secrets, config
 * validation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "llmtest.h"

/* N user prompts "q<i> <tag>" with an optional system message. */
typedef struct reqset {
    size_t n;
    char **text;
    assay_llm_message *msgs; /* 2 per request: system, user */
    assay_llm_request *reqs;
} reqset;

static reqset *reqset_new(size_t n, const char *tag, const char *system)
{
    reqset *r = calloc(1, sizeof *r);
    r->n = n;
    r->text = calloc(n, sizeof *r->text);
    r->msgs = calloc(2 * n, sizeof *r->msgs);
    r->reqs = calloc(n, sizeof *r->reqs);
    for (size_t i = 0; i < n; i++) {
        char t[128];
        snprintf(t, sizeof t, "q%zu %s", i, tag);
        r->text[i] = strdup(t);
        assay_llm_message *m = &r->msgs[2 * i];
        if (system) {
            m[0] = (assay_llm_message){"system", system};
            m[1] = (assay_llm_message){"user", r->text[i]};
        } else {
            m[0] = (assay_llm_message){"user", r->text[i]};
        }
        r->reqs[i] = (assay_llm_request){
            .messages = m, .n_messages = system ? 2 : 1, .item = i};
    }
    return r;
}

static void reqset_free(reqset *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->text[i]);
    free(r->text);
    free(r->msgs);
    free(r->reqs);
    free(r);
}

static assay_llm_result *results_new(size_t n)
{
    return calloc(n, sizeof(assay_llm_result));
}

static void results_free(assay_llm_result *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        llm_result_clear(&r[i]);
    free(r);
}

/* A service with one endpoint "ep" on the fake server. */
static llm_service *svc_new(const fake_server *f, const char *provider,
                            const char *extra, const char *budget,
                            const char *cache_path, const char *mode)
{
    json_t *eps = test_endpoints("ep", provider, f, extra);
    json_t *b = budget ? json_loads(budget, 0, NULL) : NULL;
    llm_service *s = NULL;
    assay_error err = {0};
    assert_non_null(eps);
    int rc = llm_service_create(eps, b, cache_path, mode, test_find_plugin,
                                NULL, &s, &err);
    if (rc)
        fprintf(stderr, "create: %s\n", err.text);
    assert_int_equal(rc, 0);
    json_decref(eps);
    json_decref(b);
    return s;
}

static json_int_t stat_int(json_t *st, const char *a, const char *b)
{
    json_t *v = json_object_get(st, a);
    if (b)
        v = json_object_get(v, b);
    return json_integer_value(v);
}

static void check_echo(const reqset *r, const assay_llm_result *res)
{
    for (size_t i = 0; i < r->n; i++) {
        char want[160];
        if (res[i].status != ASSAY_LLM_OK)
            fprintf(stderr, "item %zu: status %d: %s\n", i, res[i].status,
                    res[i].error);
        assert_int_equal(res[i].status, ASSAY_LLM_OK);
        snprintf(want, sizeof want, "echo: %s", r->text[i]);
        assert_string_equal(res[i].text, want);
    }
}

/* check_echo on the first n requests only. */
static void check_echo_n(const reqset *r, const assay_llm_result *res, size_t n)
{
    reqset part = *r;
    part.n = n;
    check_echo(&part, res);
}

static char *cache_file(char **dir)
{
    char *p = malloc(600);
    *dir = test_tmpdir();
    snprintf(p, 600, "%s/llm-cache.sqlite", *dir);
    return p;
}

/* ---- tests --------------------------------------------------------------- */

static void test_batch_answers_in_order(void **state)
{
    (void)state;
    fake_server f;
    assert_int_equal(fake_start(&f, "{\"latency\": {\"dist\": \"uniform\", "
                                    "\"min\": 1, \"max\": 30}}"),
                     0);
    llm_service *s = svc_new(&f, "openai",
                             "{\"max_concurrency\": 8, \"price\": {\"input\": "
                             "1000000, \"output\": 2000000}}",
                             NULL, NULL, "off");
    reqset *r = reqset_new(40, "basic", "be brief");
    assay_llm_result *res = results_new(r->n);
    assay_error err = {0};
    assert_int_equal(
        llm_service_batch(s, "gen", "ep", r->reqs, r->n, res, NULL, NULL, &err),
        0);
    check_echo(r, res);
    uint64_t pt = 0, ct = 0;
    for (size_t i = 0; i < r->n; i++) {
        assert_int_equal(res[i].attempts, 1);
        assert_false(res[i].cached);
        assert_true(res[i].prompt_tokens > 0);
        assert_true(res[i].completion_tokens > 0);
        assert_string_equal(res[i].finish_reason, "stop");
        assert_int_equal(res[i].http_status, 200);
        pt += res[i].prompt_tokens;
        ct += res[i].completion_tokens;
    }
    json_t *u = llm_service_usage(s);
    json_t *n = json_object_get(json_object_get(u, "nodes"), "gen");
    assert_int_equal(stat_int(n, "ok", NULL), 40);
    assert_int_equal(stat_int(n, "prompt_tokens", NULL), (json_int_t)pt);
    assert_int_equal(stat_int(n, "completion_tokens", NULL), (json_int_t)ct);
    /* price 1 USD per token in, 2 per token out */
    assert_true(fabs(json_number_value(json_object_get(n, "cost")) -
                     (double)(pt + 2 * ct)) < 1e-6);
    assert_true(json_number_value(json_object_get(
                    json_object_get(n, "latency_ms"), "p50")) > 0);
    json_decref(u);
    json_t *st = fake_stats(&f);
    assert_int_equal(stat_int(st, "requests", NULL), 40);
    assert_true(stat_int(st, "inflight_max", NULL) <= 8);
    json_decref(st);
    results_free(res, r->n);
    reqset_free(r);
    llm_service_destroy(s);
    fake_stop(&f);
}

static void test_cache_modes(void **state)
{
    (void)state;
    fake_server f;
    char *dir, *path = cache_file(&dir);
    assert_int_equal(fake_start(&f, NULL), 0);
    reqset *r = reqset_new(25, "cache", NULL);
    assay_llm_result *res = results_new(r->n);
    assay_error err = {0};

    llm_service *s = svc_new(&f, "openai", NULL, NULL, path, NULL);
    assert_int_equal(
        llm_service_batch(s, "gen", "ep", r->reqs, r->n, res, NULL, NULL, &err),
        0);
    check_echo(r, res);
    llm_service_destroy(s);

    /* second run: everything from the cache, nothing sent */
    for (size_t i = 0; i < r->n; i++)
        llm_result_clear(&res[i]);
    s = svc_new(&f, "openai", NULL, NULL, path, NULL);
    assert_int_equal(
        llm_service_batch(s, "gen", "ep", r->reqs, r->n, res, NULL, NULL, &err),
        0);
    check_echo(r, res);
    for (size_t i = 0; i < r->n; i++) {
        assert_true(res[i].cached);
        assert_int_equal(res[i].attempts, 0);
    }
    json_t *st = fake_stats(&f);
    assert_int_equal(stat_int(st, "requests", NULL), 25);
    json_decref(st);
    json_t *u = llm_service_usage(s);
    assert_int_equal(stat_int(json_object_get(u, "nodes"), "gen", "cached"),
                     25);
    json_decref(u);
    /* a different sample index is a different entry */
    r->reqs[0].sample = 1;
    uint64_t cached = 99;
    assert_int_equal(
        llm_service_cached_count(s, "ep", r->reqs, r->n, &cached, &err), 0);
    assert_int_equal(cached, 24);
    llm_service_destroy(s);

    /* replay: hits served, the new sample is a miss naming node and item */
    for (size_t i = 0; i < r->n; i++)
        llm_result_clear(&res[i]);
    s = svc_new(&f, "openai", NULL, NULL, path, "replay");
    assert_int_equal(llm_service_batch(s, "judge", "ep", r->reqs, r->n, res,
                                       NULL, NULL, &err),
                     0);
    assert_int_equal(res[0].status, ASSAY_LLM_REPLAY_MISS);
    assert_non_null(strstr(res[0].error, "node 'judge' item 0"));
    for (size_t i = 1; i < r->n; i++)
        assert_int_equal(res[i].status, ASSAY_LLM_OK);
    llm_service_destroy(s);

    /* off: sends again */
    for (size_t i = 0; i < r->n; i++)
        llm_result_clear(&res[i]);
    r->reqs[0].sample = 0;
    s = svc_new(&f, "openai", NULL, NULL, path, "off");
    assert_int_equal(
        llm_service_batch(s, "gen", "ep", r->reqs, r->n, res, NULL, NULL, &err),
        0);
    check_echo(r, res);
    assert_false(res[3].cached);
    llm_service_destroy(s);
    st = fake_stats(&f);
    assert_int_equal(stat_int(st, "requests", NULL), 50);
    json_decref(st);

    results_free(res, r->n);
    reqset_free(r);
    fake_stop(&f);
    free(path);
    free(dir);
}

static void test_replay_empty_cache(void **state)
{
    (void)state;
    fake_server f;
    char *dir, *path = cache_file(&dir);
    assert_int_equal(fake_start(&f, NULL), 0);
    llm_service *s = svc_new(&f, "openai", NULL, NULL, path, "replay");
    reqset *r = reqset_new(5, "replay", NULL);
    assay_llm_result *res = results_new(r->n);
    assay_error err = {0};
    assert_int_equal(llm_service_batch(s, "judge", "ep", r->reqs, r->n, res,
                                       NULL, NULL, &err),
                     0);
    for (size_t i = 0; i < r->n; i++) {
        char want[64];
        assert_int_equal(res[i].status, ASSAY_LLM_REPLAY_MISS);
        snprintf(want, sizeof want, "node 'judge' item %zu", i);
        assert_non_null(strstr(res[i].error, want));
        assert_non_null(strstr(res[i].error, "replay"));
        assert_null(res[i].text);
    }
    json_t *st = fake_stats(&f);
    assert_int_equal(stat_int(st, "requests", NULL), 0);
    json_decref(st);
    llm_service_destroy(s);
    /* replay without any cache file is a configuration error */
    json_t *eps = test_endpoints("ep", "openai", &f, NULL);
    assert_int_not_equal(llm_service_create(eps, NULL, NULL, "replay",
                                            test_find_plugin, NULL, &s, &err),
                         0);
    assert_non_null(strstr(err.text, "replay"));
    json_decref(eps);
    results_free(res, r->n);
    reqset_free(r);
    fake_stop(&f);
    free(path);
    free(dir);
}

/* One fault kind on every first attempt: each request succeeds on its
 * second attempt and the server answered each key exactly once. */
static void run_fault(const char *kind, const char *extra_ep,
                      double min_elapsed)
{
    fake_server f;
    char cfg[256];
    snprintf(cfg, sizeof cfg,
             "{\"faults\": {\"%s\": 1.0}, \"max_faults_per_key\": 1, "
             "\"retry_after\": %d}",
             kind, min_elapsed >= 1 ? 1 : 0);
    assert_int_equal(fake_start(&f, cfg), 0);
    llm_service *s = svc_new(&f, "openai", extra_ep, NULL, NULL, "off");
    reqset *r = reqset_new(12, kind, NULL);
    assay_llm_result *res = results_new(r->n);
    assay_error err = {0};
    double t0 = test_now();
    assert_int_equal(
        llm_service_batch(s, "gen", "ep", r->reqs, r->n, res, NULL, NULL, &err),
        0);
    double el = test_now() - t0;
    if (getenv("LLM_DEBUG")) {
        json_t *dbg = fake_stats(&f);
        char *t = json_dumps(dbg, 0);
        fprintf(stderr, "%s\n", t);
        free(t);
        json_decref(dbg);
    }
    check_echo(r, res);
    /* a reset on a reused keep-alive connection is retried by libcurl
     * itself on a fresh one, which the service sees as one attempt */
    bool reset = strcmp(kind, "reset") == 0;
    json_int_t ours = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (res[i].attempts != 2)
            fprintf(stderr, "%s item %zu: %u attempts\n", kind, i,
                    res[i].attempts);
        if (reset)
            assert_true(res[i].attempts == 1 || res[i].attempts == 2);
        else
            assert_int_equal(res[i].attempts, 2);
        ours += res[i].attempts - 1;
    }
    assert_true(el >= min_elapsed);
    json_t *st = fake_stats(&f);
    assert_int_equal(stat_int(st, "faults", kind), 12);
    assert_int_equal(stat_int(st, "max_answered_per_key", NULL), 1);
    assert_int_equal(stat_int(st, "answered", NULL), 12);
    json_decref(st);
    json_t *u = llm_service_usage(s);
    assert_int_equal(stat_int(json_object_get(u, "endpoints"), "ep", "retried"),
                     ours);
    assert_true(reset || ours == 12);
    json_decref(u);
    results_free(res, r->n);
    reqset_free(r);
    llm_service_destroy(s);
    fake_stop(&f);
}

static const char fast_retry[] = "{\"backoff\": 0.01, \"max_concurrency\": 4}";

static void test_fault_429_retry_after(void **state)
{
    (void)state;
    /* Retry-After: 1 must be honoured although backoff is 10 ms */
    run_fault("429", "{\"backoff\": 0.01, \"max_concurrency\": 12}", 1.0);
}

static void test_fault_500(void **state)
{
    (void)state;
    run_fault("500", fast_retry, 0);
}

static void test_fault_503(void **state)
{
    (void)state;
    run_fault("503", fast_retry, 0);
}

static void test_fault_stall(void **state)
{
    (void)state;
    run_fault("stall",
              "{\"backoff\": 0.01, \"max_concurrency\": 12, \"timeout\": 0.3}",
              0.3);
}

static void test_fault_truncated(void **state)
{
    (void)state;
    run_fault("truncated", fast_retry, 0);
}

static void test_fault_invalid_json(void **state)
{
    (void)state;
    run_fault("invalid_json", fast_retry, 0);
}

static void test_fault_reset(void **state)
{
    (void)state;
    run_fault("reset", fast_retry, 0);
}

static void test_retries_exhausted(void **state)
{
    (void)state;
    fake_server f;
    assert_int_equal(fake_start(&f, "{\"faults\": {\"503\": 1.0}}"), 0);
    llm_service *s =
        svc_new(&f, "openai", "{\"backoff\": 0.005, \"retries\": 2}", NULL,
                NULL, "off");
    reqset *r = reqset_new(3, "exhaust", NULL);
    assay_llm_result *res = results_new(r->n);
    assay_error err = {0};
    assert_int_equal(
        llm_service_batch(s, "gen", "ep", r->reqs, r->n, res, NULL, NULL, &err),
        0);
    for (size_t i = 0; i < r->n; i++) {
        assert_int_equal(res[i].status, ASSAY_LLM_FAILED);
        assert_int_equal(res[i].attempts, 3);
        assert_int_equal(res[i].http_status, 503);
        assert_non_null(strstr(res[i].error, "failed after 3 attempts"));
        assert_non_null(strstr(res[i].error, "HTTP 503"));
        assert_null(res[i].text);
    }
    json_t *u = llm_service_usage(s);
    assert_int_equal(stat_int(json_object_get(u, "nodes"), "gen", "failed"), 3);
    json_decref(u);
    results_free(res, r->n);
    reqset_free(r);
    llm_service_destroy(s);
    fake_stop(&f);
}

static void test_non_retryable(void **state)
{
    (void)state;
    fake_server f;
    assert_int_equal(
        fake_start(&f, "{\"rules\": [{\"user\": \"forbidden\", \"status\": "
                       "403, \"error\": \"this prompt is not allowed\"}, "
                       "{\"user\": \"missing\", \"status\": 404, \"error\": "
                       "\"model not found\"}, {\"user\": \"bad\", "
                       "\"status\": 400, \"error\": \"bad request body\"}]}"),
        0);
    llm_service *s =
        svc_new(&f, "openai", "{\"backoff\": 0.005}", NULL, NULL, "off");
    assay_llm_message m[3] = {{"user", "forbidden topic"},
                              {"user", "missing model"},
                              {"user", "bad one"}};
    assay_llm_request q[3];
    for (int i = 0; i < 3; i++)
        q[i] = (assay_llm_request){
            .messages = &m[i], .n_messages = 1, .item = (size_t)i};
    assay_llm_result res[3] = {0};
    assay_error err = {0};
    assert_int_equal(
        llm_service_batch(s, "gen", "ep", q, 3, res, NULL, NULL, &err), 0);
    const char *want[3] = {"HTTP 403: this prompt is not allowed",
                           "HTTP 404: model not found",
                           "HTTP 400: bad request body"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(res[i].status, ASSAY_LLM_FAILED);
        assert_int_equal(res[i].attempts, 1);
        assert_non_null(strstr(res[i].error, want[i]));
        llm_result_clear(&res[i]);
    }
    json_t *st = fake_stats(&f);
    assert_int_equal(stat_int(st, "requests", NULL), 3);
    json_decref(st);
    llm_service_destroy(s);
    fake_stop(&f);
}

static void test_secret_never_shown(void **state)
{
    (void)state;
    static const char secret[] = "sk-test-SECRET-0123456789abcdef";
    fake_server f;
    char *dir, *path = cache_file(&dir);
    char cfg[200], extra[200];
    snprintf(cfg, sizeof cfg, "{\"api_key\": \"%s\"}", secret);
    assert_int_equal(fake_start(&f, cfg), 0);

    /* right key: answers, and neither the cache nor info holds it */
    snprintf(extra, sizeof extra, "{\"api_key\": \"%s\"}", secret);
    llm_service *s = svc_new(&f, "openai", extra, NULL, path, NULL);
    reqset *r = reqset_new(10, "secret", NULL);
    assay_llm_result *res = results_new(r->n);
    assay_error err = {0};
    assert_int_equal(
        llm_service_batch(s, "gen", "ep", r->reqs, r->n, res, NULL, NULL, &err),
        0);
    check_echo(r, res);
    json_t *info = llm_service_endpoint_info(s, "ep");
    char *txt = json_dumps(info, 0);
    assert_null(strstr(txt, "SECRET"));
    assert_true(json_is_true(json_object_get(info, "has_api_key")));
    free(txt);
    json_decref(info);
    json_t *u = llm_service_usage(s);
    txt = json_dumps(u, 0);
    assert_null(strstr(txt, "SECRET"));
    free(txt);
    json_decref(u);
    llm_service_destroy(s);
    char p2[700];
    assert_false(file_contains(path, "SECRET"));
    snprintf(p2, sizeof p2, "%s-wal", path);
    assert_false(file_contains(p2, "SECRET"));
    assert_true(file_contains(path, "echo: q3 secret"));

    /* wrong key: the server quotes it back; the error must not */
    static const char wrong[] = "sk-wrong-KEY-ABCDEFGH987654321";
    snprintf(extra, sizeof extra, "{\"api_key\": \"%s\"}", wrong);
    s = svc_new(&f, "openai", extra, NULL, path, "off");
    for (size_t i = 0; i < r->n; i++)
        llm_result_clear(&res[i]);
    assert_int_equal(
        llm_service_batch(s, "gen", "ep", r->reqs, 2, res, NULL, NULL, &err),
        0);
    assert_int_equal(res[0].status, ASSAY_LLM_FAILED);
    assert_int_equal(res[0].http_status, 401);
    assert_int_equal(res[0].attempts, 1);
    assert_non_null(strstr(res[0].error, "Incorrect API key"));
    assert_non_null(strstr(res[0].error, "[redacted]"));
    assert_null(strstr(res[0].error, "KEY-ABCDEFGH"));
    llm_service_destroy(s);

    results_free(res, r->n);
    reqset_free(r);
    fake_stop(&f);
    free(path);
    free(dir);
}

/* 2,000 requests, 20% of attempts faulted: every answer right and in
 * order, no key answered twice. */
static void test_many_with_faults(void **state)
{
    (void)state;
    fake_server f;
    assert_int_equal(
        fake_start(&f, "{\"latency\": {\"dist\": \"uniform\", \"min\": 0, "
                       "\"max\": 4}, \"retry_after\": 0, "
                       "\"max_faults_per_key\": 3, \"faults\": {\"429\": "
                       "0.04, \"500\": 0.04, \"503\": 0.03, \"stall\": 0.01, "
                       "\"truncated\": 0.03, \"invalid_json\": 0.03, "
                       "\"reset\": 0.02}}"),
        0);
    llm_service *s = svc_new(&f, "openai",
                             "{\"backoff\": 0.005, \"backoff_max\": 0.05, "
                             "\"max_concurrency\": 64, \"timeout\": 0.5}",
                             NULL, NULL, "off");
    reqset *r = reqset_new(2000, "bulk", "system prompt");
    assay_llm_result *res = results_new(r->n);
    assay_error err = {0};
    assert_int_equal(
        llm_service_batch(s, "gen", "ep", r->reqs, r->n, res, NULL, NULL, &err),
        0);
    check_echo(r, res);
    json_t *st = fake_stats(&f);
    json_int_t faults = 0;
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(st, "faults"), k, v) faults +=
        json_integer_value(v);
    fprintf(stderr, "2000 requests: %lld attempts, %lld faults\n",
            (long long)stat_int(st, "requests", NULL), (long long)faults);
    assert_true(faults >= 300); /* ~20% of attempts */
    assert_int_equal(stat_int(st, "answered", NULL), 2000);
    assert_int_equal(stat_int(st, "max_answered_per_key", NULL), 1);
    assert_int_equal(stat_int(st, "nkeys", NULL), 2000);
    json_decref(st);
    results_free(res, r->n);
    reqset_free(r);
    llm_service_destroy(s);
    fake_stop(&f);
}

static void test_budget(void **state)
{
    (void)state;
    fake_server f;
    assert_int_equal(fake_start(&f, NULL), 0);
    llm_service *s = svc_new(&f, "openai", "{\"max_concurrency\": 3}",
                             "{\"max_requests\": 5}", NULL, "off");
    reqset *r = reqset_new(20, "budget", NULL);
    assay_llm_result *res = results_new(r->n);
    assay_error err = {0};
    assert_false(llm_service_budget_exhausted(s));
    assert_int_equal(
        llm_service_batch(s, "gen", "ep", r->reqs, r->n, res, NULL, NULL, &err),
        0);
    size_t ok = 0, skipped = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (res[i].status == ASSAY_LLM_OK)
            ok++;
        if (res[i].status == ASSAY_LLM_SKIPPED) {
            skipped++;
            assert_non_null(strstr(res[i].error, "budget"));
            assert_non_null(strstr(res[i].error, "max_requests 5"));
        }
    }
    assert_int_equal(ok, 5);
    assert_int_equal(skipped, 15);
    assert_true(llm_service_budget_exhausted(s));
    json_t *st = fake_stats(&f);
    assert_int_equal(stat_int(st, "requests", NULL), 5);
    json_decref(st);
    results_free(res, r->n);
    reqset_free(r);
    llm_service_destroy(s);

    /* max_tokens: stops once the tokens used reach the limit */
    s = svc_new(&f, "openai", "{\"max_concurrency\": 1}",
                "{\"max_tokens\": 30}", NULL, "off");
    r = reqset_new(50, "tokens", NULL);
    res = results_new(r->n);
    assert_int_equal(
        llm_service_batch(s, "gen", "ep", r->reqs, r->n, res, NULL, NULL, &err),
        0);
    assert_int_equal(res[0].status, ASSAY_LLM_OK);
    assert_int_equal(res[49].status, ASSAY_LLM_SKIPPED);
    assert_non_null(strstr(res[49].error, "max_tokens"));
    assert_true(llm_service_budget_exhausted(s));
    results_free(res, r->n);
    reqset_free(r);
    llm_service_destroy(s);

    /* max_cost: 1 USD per 1M tokens in and out, a budget of 30e-6 USD
     * (30 tokens) */
    s = svc_new(&f, "openai",
                "{\"max_concurrency\": 1, \"price\": {\"input\": 1, "
                "\"output\": 1}}",
                "{\"max_cost\": 0.00003}", NULL, "off");
    r = reqset_new(50, "cost", NULL);
    res = results_new(r->n);
    assert_int_equal(
        llm_service_batch(s, "gen", "ep", r->reqs, r->n, res, NULL, NULL, &err),
        0);
    assert_int_equal(res[0].status, ASSAY_LLM_OK);
    assert_int_equal(res[49].status, ASSAY_LLM_SKIPPED);
    assert_non_null(strstr(res[49].error, "max_cost"));
    json_t *u = llm_service_usage(s);
    double spent = json_number_value(
        json_object_get(json_object_get(u, "budget"), "cost"));
    assert_true(spent >= 0.00003 && spent < 0.00006);
    json_decref(u);
    results_free(res, r->n);
    reqset_free(r);
    llm_service_destroy(s);
    fake_stop(&f);
}

typedef struct follow_ctx {
    size_t n0;
    size_t delivered;
    char *answers[64];
    char bufs[64][128];
    assay_llm_message msgs[64];
    int stop_at;
} follow_ctx;

static int follow_cb(void *ud, assay_llm_stream *st, size_t index,
                     assay_llm_result *r)
{
    follow_ctx *c = ud;
    c->delivered++;
    assert_int_equal(r->status, ASSAY_LLM_OK);
    assert_true(index < 64);
    c->answers[index] = r->text; /* take ownership */
    r->text = NULL;
    if (index < c->n0) {
        /* second stage: ask about the first answer */
        snprintf(c->bufs[index], sizeof c->bufs[index], "follow %s",
                 c->answers[index]);
        c->msgs[index] = (assay_llm_message){"user", c->bufs[index]};
        assay_llm_request q = {
            .messages = &c->msgs[index], .n_messages = 1, .item = index};
        size_t at = 0;
        assay_error err;
        assert_int_equal(llm_stream_add(st, &q, &at, &err), 0);
        assert_true(at >= c->n0);
    }
    if (c->stop_at && (int)c->delivered == c->stop_at)
        return 7;
    return 0;
}

static void test_stream_followups(void **state)
{
    (void)state;
    fake_server f;
    assert_int_equal(fake_start(&f, "{\"latency\": {\"dist\": \"uniform\", "
                                    "\"min\": 1, \"max\": 20}}"),
                     0);
    llm_service *s = svc_new(&f, "openai", NULL, NULL, NULL, "off");
    reqset *r = reqset_new(10, "stage1", NULL);
    follow_ctx c = {.n0 = 10};
    assay_error err = {0};
    assert_int_equal(llm_service_stream(s, "multi", "ep", r->reqs, r->n,
                                        follow_cb, &c, NULL, NULL, &err),
                     0);
    assert_int_equal(c.delivered, 20);
    /* each follow-up answer echoes its first-stage answer */
    for (size_t i = 10; i < 20; i++) {
        assert_non_null(c.answers[i]);
        assert_non_null(strstr(c.answers[i], "echo: follow echo: q"));
    }
    for (size_t i = 0; i < 20; i++)
        free(c.answers[i]);

    /* a non-zero return stops the stream and is returned */
    follow_ctx c2 = {.n0 = 10, .stop_at = 3};
    assert_int_equal(llm_service_stream(s, "multi", "ep", r->reqs, r->n,
                                        follow_cb, &c2, NULL, NULL, &err),
                     7);
    assert_int_equal(c2.delivered, 3);
    for (size_t i = 0; i < 64; i++)
        free(c2.answers[i]);
    /* llm_stream_add outside a callback is refused */
    assert_int_not_equal(llm_stream_add(NULL, r->reqs, NULL, &err), 0);
    reqset_free(r);
    llm_service_destroy(s);
    fake_stop(&f);
}

static void test_anthropic(void **state)
{
    (void)state;
    fake_server f;
    assert_int_equal(
        fake_start(&f, "{\"rules\": [{\"system\": \"pirate\", \"user_regex\": "
                       "\"^q([0-9]+) \", \"answer\": \"arr $1 {{model}}\"}]}"),
        0);
    llm_service *s =
        svc_new(&f, "anthropic", "{\"max_tokens\": 64, \"stop\": \"END\"}",
                NULL, NULL, "off");
    reqset *r = reqset_new(6, "anth", "you are a pirate");
    assay_llm_result *res = results_new(r->n);
    assay_error err = {0};
    assert_int_equal(
        llm_service_batch(s, "gen", "ep", r->reqs, r->n, res, NULL, NULL, &err),
        0);
    for (size_t i = 0; i < r->n; i++) {
        char want[64];
        snprintf(want, sizeof want, "arr %zu fake-model", i);
        assert_int_equal(res[i].status, ASSAY_LLM_OK);
        assert_string_equal(res[i].text, want);
        assert_string_equal(res[i].finish_reason, "stop");
        assert_true(res[i].prompt_tokens > 0);
    }
    results_free(res, r->n);
    reqset_free(r);
    llm_service_destroy(s);
    fake_stop(&f);
}

static void test_embeddings(void **state)
{
    (void)state;
    fake_server f;
    assert_int_equal(fake_start(&f, "{\"embedding_dim\": 16, \"faults\": "
                                    "{\"500\": 0.3}, \"max_faults_per_key\": "
                                    "1}"),
                     0);
    llm_service *s =
        svc_new(&f, "openai", "{\"backoff\": 0.005}", NULL, NULL, "off");
    size_t n = 300;
    char **t = calloc(n, sizeof *t);
    for (size_t i = 0; i < n; i++) {
        char b[32];
        snprintf(b, sizeof b, "text %zu", i % 150);
        t[i] = strdup(b);
    }
    double *v = NULL;
    size_t dim = 0;
    assay_error err = {0};
    assert_int_equal(
        llm_service_embed(s, "emb", "ep", (const char **)t, n, &v, &dim, &err),
        0);
    assert_int_equal(dim, 16);
    for (size_t i = 0; i < 150; i++) {
        double norm = 0;
        for (size_t d = 0; d < dim; d++) {
            assert_true(v[i * dim + d] == v[(i + 150) * dim + d]);
            norm += v[i * dim + d] * v[i * dim + d];
        }
        assert_true(fabs(norm - 1) < 1e-9);
    }
    assert_true(v[0] != v[dim]); /* different texts differ */
    free(v);
    json_t *st = fake_stats(&f);
    assert_int_equal(stat_int(st, "answered", NULL), 3); /* 128+128+44 */
    json_decref(st);
    for (size_t i = 0; i < n; i++)
        free(t[i]);
    free(t);
    llm_service_destroy(s);

    /* anthropic has no embeddings */
    s = svc_new(&f, "anthropic", NULL, NULL, NULL, "off");
    const char *one = "x";
    assert_int_equal(llm_service_embed(s, "emb", "ep", &one, 1, &v, &dim, &err),
                     ASSAY_ENOTSUP);
    llm_service_destroy(s);
    fake_stop(&f);
}

/* Embeddings are cached per text: a repeated call sends nothing, a
 * partly new one sends only the new texts; replay misses fail. */
static void test_embeddings_cached(void **state)
{
    (void)state;
    fake_server f;
    char *dir, *path = cache_file(&dir);
    assert_int_equal(fake_start(&f, "{\"embedding_dim\": 4}"), 0);
    const char *t1[3] = {"red", "green", "blue"};
    const char *t2[4] = {"blue", "cyan", "red", "pink"};
    double *v1 = NULL, *v2 = NULL, *v3 = NULL;
    size_t d = 0;
    assay_error err = {0};
    llm_service *s = svc_new(&f, "openai", NULL, NULL, path, NULL);
    assert_int_equal(llm_service_embed(s, "emb", "ep", t1, 3, &v1, &d, &err),
                     0);
    assert_int_equal(d, 4);
    llm_service_destroy(s);
    s = svc_new(&f, "openai", NULL, NULL, path, NULL);
    assert_int_equal(llm_service_embed(s, "emb", "ep", t1, 3, &v2, &d, &err),
                     0);
    assert_memory_equal(v1, v2, 3 * 4 * sizeof *v1);
    json_t *st = fake_stats(&f);
    assert_int_equal(stat_int(st, "answered", NULL), 1);
    json_decref(st);
    /* blue and red from the cache, cyan and pink sent (one request) */
    assert_int_equal(llm_service_embed(s, "emb", "ep", t2, 4, &v3, &d, &err),
                     0);
    assert_memory_equal(v3, v1 + 2 * 4, 4 * sizeof *v1);
    assert_memory_equal(v3 + 2 * 4, v1, 4 * sizeof *v1);
    st = fake_stats(&f);
    assert_int_equal(stat_int(st, "answered", NULL), 2);
    json_decref(st);
    json_t *u = llm_service_usage(s);
    assert_int_equal(stat_int(json_object_get(u, "nodes"), "emb", "cached"), 5);
    json_decref(u);
    llm_service_destroy(s);
    free(v1);
    free(v2);
    free(v3);
    s = svc_new(&f, "openai", NULL, NULL, path, "replay");
    const char *t3[2] = {"red", "mauve"};
    assert_int_equal(llm_service_embed(s, "emb", "ep", t3, 2, &v1, &d, &err),
                     ASSAY_ELLM);
    assert_non_null(strstr(err.text, "no cached embedding for node 'emb' "
                                     "text 1"));
    assert_null(v1);
    llm_service_destroy(s);
    fake_stop(&f);
    free(path);
    free(dir);
}

/* The server refuses more than 4 requests at once with 429: the window
 * shrinks and every request still completes. */
static void test_adaptive_concurrency(void **state)
{
    (void)state;
    fake_server f;
    assert_int_equal(fake_start(&f, "{\"max_inflight\": 4, \"retry_after\": "
                                    "0, \"latency\": {\"ms\": 20}}"),
                     0);
    llm_service *s = svc_new(&f, "openai",
                             "{\"max_concurrency\": 32, \"backoff\": 0.02, "
                             "\"retries\": 20}",
                             NULL, NULL, "off");
    reqset *r = reqset_new(150, "aimd", NULL);
    assay_llm_result *res = results_new(r->n);
    assay_error err = {0};
    assert_int_equal(
        llm_service_batch(s, "gen", "ep", r->reqs, r->n, res, NULL, NULL, &err),
        0);
    check_echo(r, res);
    json_t *u = llm_service_usage(s);
    double conc = json_number_value(json_object_get(
        json_object_get(json_object_get(u, "endpoints"), "ep"), "concurrency"));
    json_t *st = fake_stats(&f);
    json_int_t n429 = stat_int(st, "status", "429");
    fprintf(stderr, "aimd: window %.2f, %lld 429s for 150 requests\n", conc,
            (long long)n429);
    assert_true(conc < 32);
    assert_true(n429 > 0);
    /* converged: far fewer refusals than requests */
    assert_true(n429 < 150);
    json_decref(st);
    json_decref(u);
    results_free(res, r->n);
    reqset_free(r);
    llm_service_destroy(s);
    fake_stop(&f);
}

static void test_rate_limit(void **state)
{
    (void)state;
    fake_server f;
    assert_int_equal(fake_start(&f, NULL), 0);
    /* 600/min = 10/s with a burst of 10: 20 requests take >= 1 s */
    llm_service *s = svc_new(&f, "openai",
                             "{\"max_concurrency\": 64, "
                             "\"requests_per_minute\": 600}",
                             NULL, NULL, "off");
    reqset *r = reqset_new(20, "rpm", NULL);
    assay_llm_result *res = results_new(r->n);
    assay_error err = {0};
    double t0 = test_now();
    assert_int_equal(
        llm_service_batch(s, "gen", "ep", r->reqs, r->n, res, NULL, NULL, &err),
        0);
    assert_true(test_now() - t0 >= 0.95);
    check_echo(r, res);
    results_free(res, r->n);
    reqset_free(r);
    llm_service_destroy(s);
    fake_stop(&f);
}

/* tokens_per_minute: 60,000/min = 1,000 tokens/s with a one-second
 * bucket; each request is estimated at ~106 tokens (prompt + max_tokens
 * 100), so about 9 start at once and the rest follow the refill although
 * the endpoint allows 64 in flight. */
static void test_token_rate_limit(void **state)
{
    (void)state;
    fake_server f;
    assert_int_equal(fake_start(&f, "{\"latency\": {\"ms\": 200}}"), 0);
    llm_service *s = svc_new(&f, "openai",
                             "{\"max_concurrency\": 64, \"max_tokens\": 100, "
                             "\"tokens_per_minute\": 60000}",
                             NULL, NULL, "off");
    reqset *r = reqset_new(30, "tpm", NULL);
    assay_llm_result *res = results_new(r->n);
    assay_error err = {0};
    assert_int_equal(
        llm_service_batch(s, "gen", "ep", r->reqs, r->n, res, NULL, NULL, &err),
        0);
    check_echo(r, res);
    json_t *st = fake_stats(&f);
    json_int_t peak = stat_int(st, "inflight_max", NULL);
    fprintf(stderr, "tpm: at most %lld in flight\n", (long long)peak);
    assert_true(peak >= 5 && peak < 20);
    json_decref(st);
    results_free(res, r->n);
    reqset_free(r);
    llm_service_destroy(s);
    fake_stop(&f);
}

typedef struct cancel_ctx {
    llm_service *s;
    reqset *r;
    assay_llm_result *res;
    int rc;
} cancel_ctx;

static void *cancel_thread(void *arg)
{
    cancel_ctx *c = arg;
    assay_error err;
    c->rc = llm_service_batch(c->s, "gen", "ep", c->r->reqs, c->r->n, c->res,
                              NULL, NULL, &err);
    return NULL;
}

typedef struct dup_ctx {
    llm_service *s;
    reqset *r;
    assay_llm_result *res;
    const char *node;
} dup_ctx;

static void *dup_thread(void *arg)
{
    dup_ctx *c = arg;
    assay_error err;
    assert_int_equal(llm_service_batch(c->s, c->node, "ep", c->r->reqs, c->r->n,
                                       c->res, NULL, NULL, &err),
                     0);
    return NULL;
}

/* Identical requests in flight at once (within one batch, and from two
 * nodes) are sent once; the others get a copy, counted as cache hits. */
static void test_identical_requests(void **state)
{
    (void)state;
    fake_server f;
    char *dir, *path = cache_file(&dir);
    assert_int_equal(fake_start(&f, "{\"latency\": {\"ms\": 100}}"), 0);
    llm_service *s =
        svc_new(&f, "openai", "{\"max_concurrency\": 4}", NULL, path, NULL);
    /* one batch: 12 requests, 4 distinct prompts */
    reqset *r = reqset_new(12, "dup", NULL);
    for (size_t i = 0; i < r->n; i++)
        r->msgs[2 * i].content = r->text[i % 4];
    assay_llm_result *res = results_new(r->n);
    assay_error err = {0};
    assert_int_equal(
        llm_service_batch(s, "gen", "ep", r->reqs, r->n, res, NULL, NULL, &err),
        0);
    size_t hits = 0;
    for (size_t i = 0; i < r->n; i++) {
        char want[64];
        snprintf(want, sizeof want, "echo: %s", r->text[i % 4]);
        assert_int_equal(res[i].status, ASSAY_LLM_OK);
        assert_string_equal(res[i].text, want);
        hits += res[i].cached;
    }
    assert_int_equal(hits, 8);
    json_t *st = fake_stats(&f);
    assert_int_equal(stat_int(st, "requests", NULL), 4);
    json_decref(st);
    results_free(res, r->n);
    reqset_free(r);

    /* two nodes asking the same 20 new prompts at the same time */
    dup_ctx a = {s, reqset_new(20, "twin", NULL), NULL, "left"};
    dup_ctx b = {s, reqset_new(20, "twin", NULL), NULL, "right"};
    a.res = results_new(20);
    b.res = results_new(20);
    pthread_t ta, tb;
    pthread_create(&ta, NULL, dup_thread, &a);
    pthread_create(&tb, NULL, dup_thread, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    check_echo(a.r, a.res);
    check_echo(b.r, b.res);
    st = fake_stats(&f);
    assert_int_equal(stat_int(st, "requests", NULL), 24);
    assert_int_equal(stat_int(st, "max_received_per_key", NULL), 1);
    json_decref(st);
    results_free(a.res, 20);
    results_free(b.res, 20);
    reqset_free(a.r);
    reqset_free(b.r);
    llm_service_destroy(s);
    fake_stop(&f);
    free(path);
    free(dir);
}

static int stop_first(void *ud, assay_llm_stream *st, size_t index,
                      assay_llm_result *r)
{
    (void)ud, (void)st, (void)index, (void)r;
    return 1; /* stop after the first answer */
}

typedef struct stopper_ctx {
    llm_service *s;
    reqset *r;
    int rc;
} stopper_ctx;

static void *stopper_thread(void *arg)
{
    stopper_ctx *c = arg;
    assay_error err;
    c->rc = llm_service_stream(c->s, "stopper", "ep", c->r->reqs, c->r->n,
                               stop_first, NULL, NULL, NULL, &err);
    return NULL;
}

/* A node that stops its stream must not take the answers of another
 * node following its requests with it. */
static void test_follower_survives_cancelled_leader(void **state)
{
    (void)state;
    fake_server f;
    char *dir, *path = cache_file(&dir);
    assert_int_equal(fake_start(&f, "{\"latency\": {\"ms\": 150}}"), 0);
    llm_service *s =
        svc_new(&f, "openai", "{\"max_concurrency\": 2}", NULL, path, NULL);
    stopper_ctx a = {s, reqset_new(10, "shared", NULL), 0};
    pthread_t ta;
    pthread_create(&ta, NULL, stopper_thread, &a);
    usleep(30000);
    reqset *r = reqset_new(10, "shared", NULL);
    assay_llm_result *res = results_new(r->n);
    assay_error err = {0};
    assert_int_equal(llm_service_batch(s, "keeper", "ep", r->reqs, r->n, res,
                                       NULL, NULL, &err),
                     0);
    pthread_join(ta, NULL);
    assert_int_equal(a.rc, 1);
    check_echo(r, res);
    results_free(res, r->n);
    reqset_free(r);
    reqset_free(a.r);
    llm_service_destroy(s);
    fake_stop(&f);
    free(path);
    free(dir);
}

static void test_cancel(void **state)
{
    (void)state;
    fake_server f;
    assert_int_equal(fake_start(&f, "{\"latency\": {\"ms\": 5000}}"), 0);
    llm_service *s =
        svc_new(&f, "openai", "{\"max_concurrency\": 4}", NULL, NULL, "off");
    cancel_ctx c = {s, reqset_new(10, "cancel", NULL), NULL, -1};
    c.res = results_new(10);
    pthread_t th;
    pthread_create(&th, NULL, cancel_thread, &c);
    usleep(200000);
    double t0 = test_now();
    llm_service_cancel(s);
    pthread_join(th, NULL);
    assert_true(test_now() - t0 < 4.0); /* did not wait for the answers */
    assert_int_equal(c.rc, 0);
    for (size_t i = 0; i < 10; i++) {
        assert_int_equal(c.res[i].status, ASSAY_LLM_SKIPPED);
        assert_non_null(strstr(c.res[i].error, "cancelled"));
    }
    results_free(c.res, 10);
    reqset_free(c.r);
    llm_service_destroy(s);
    fake_stop(&f);
}

static void test_dry_run(void **state)
{
    (void)state;
    fake_server f;
    char *dir, *path = cache_file(&dir);
    assert_int_equal(fake_start(&f, NULL), 0);
    reqset *r = reqset_new(10, "dry", NULL);
    assay_llm_result *res = results_new(r->n);
    assay_error err = {0};
    llm_service *s = svc_new(&f, "openai",
                             "{\"max_tokens\": 100, \"price\": {\"input\": "
                             "1, \"output\": 1}}",
                             NULL, path, NULL);
    assert_int_equal(
        llm_service_batch(s, "gen", "ep", r->reqs, 4, res, NULL, NULL, &err),
        0);
    llm_service_destroy(s);
    for (size_t i = 0; i < r->n; i++)
        llm_result_clear(&res[i]);
    s = svc_new(&f, "openai",
                "{\"max_tokens\": 100, \"price\": {\"input\": 1, "
                "\"output\": 1}}",
                NULL, path, NULL);
    llm_service_set_dry_run(s, true);
    assert_int_equal(
        llm_service_batch(s, "gen", "ep", r->reqs, r->n, res, NULL, NULL, &err),
        0);
    for (size_t i = 0; i < r->n; i++)
        assert_int_equal(res[i].status,
                         i < 4 ? ASSAY_LLM_OK : ASSAY_LLM_SKIPPED);
    json_t *u = llm_service_usage(s);
    json_t *d = json_object_get(json_object_get(u, "dry_run"), "gen");
    assert_int_equal(stat_int(d, "requests", NULL), 10);
    assert_int_equal(stat_int(d, "cached", NULL), 4);
    assert_int_equal(stat_int(d, "completion_tokens_est", NULL), 600);
    assert_true(stat_int(d, "prompt_tokens_est", NULL) > 0);
    assert_true(json_number_value(json_object_get(d, "cost_est")) > 0);
    json_decref(u);
    double cost;
    assert_int_equal(
        llm_service_estimate(s, "ep", 1000000, 2000000, &cost, &err), 0);
    assert_true(fabs(cost - 3.0) < 1e-9);
    json_t *st = fake_stats(&f);
    assert_int_equal(stat_int(st, "requests", NULL), 4);
    json_decref(st);
    llm_service_destroy(s);
    results_free(res, r->n);
    reqset_free(r);
    fake_stop(&f);
    free(path);
    free(dir);
}

/* A bad request in the middle of a large batch: the batch fails naming
 * the item, every result is cleared, and the requests already handed to
 * the loop come back (nothing leaks; under ASan nothing is read after
 * the call returns). */
static void test_bad_request_mid_batch(void **state)
{
    (void)state;
    fake_server f;
    assert_int_equal(fake_start(&f, "{\"latency\": {\"ms\": 20}}"), 0);
    reqset *r = reqset_new(600, "bad", NULL);
    assay_llm_result *res = results_new(r->n);
    assay_error err = {0};
    llm_service *s = svc_new(&f, "openai", NULL, NULL, NULL, "off");
    r->reqs[450].n_messages = 0;
    assert_int_equal(
        llm_service_batch(s, "bad", "ep", r->reqs, r->n, res, NULL, NULL, &err),
        ASSAY_EINVAL);
    assert_non_null(strstr(err.text, "item 450: request has no messages"));
    for (size_t i = 0; i < r->n; i++) {
        assert_null(res[i].text);
        assert_int_equal(res[i].status, 0);
    }
    /* the service is still usable */
    r->reqs[450].n_messages = 1;
    assert_int_equal(
        llm_service_batch(s, "bad", "ep", r->reqs, 8, res, NULL, NULL, &err),
        0);
    check_echo_n(r, res, 8);
    llm_service_destroy(s);
    results_free(res, r->n);
    reqset_free(r);
    fake_stop(&f);
}

static void expect_config_error(const char *endpoints, const char *budget,
                                const char *want)
{
    json_t *e = json_loads(endpoints, 0, NULL);
    json_t *b = budget ? json_loads(budget, 0, NULL) : NULL;
    llm_service *s = NULL;
    assay_error err = {0};
    assert_non_null(e);
    int rc =
        llm_service_create(e, b, NULL, NULL, test_find_plugin, NULL, &s, &err);
    if (rc == 0 || !strstr(err.text, want))
        fprintf(stderr, "want '%s', got '%s'\n", want, err.text);
    assert_int_equal(rc, ASSAY_EINVAL);
    assert_null(s);
    assert_non_null(strstr(err.text, want));
    json_decref(e);
    json_decref(b);
}

static void test_config_errors(void **state)
{
    (void)state;
    expect_config_error("{\"judge\": {\"provider\": \"openai\", \"model\": "
                        "\"m\", \"max_concurrency\": 0}}",
                        NULL,
                        "llm.judge.max_concurrency: expected a positive "
                        "integer");
    expect_config_error("{\"judge\": {\"provider\": \"openai\", \"model\": "
                        "\"m\", \"max_concurency\": 3}}",
                        NULL, "llm.judge.max_concurency: unknown key");
    expect_config_error("{\"j\": {\"provider\": \"nosuch\", \"model\": "
                        "\"m\"}}",
                        NULL,
                        "llm.j.provider: no provider plugin "
                        "'llm.nosuch'");
    expect_config_error("{\"j\": {\"provider\": \"openai\"}}", NULL,
                        "llm.j.model: required");
    expect_config_error("{\"j\": {\"provider\": \"openai\", \"model\": \"m\", "
                        "\"base_url\": \"\"}}",
                        NULL, "llm.j.base_url");
    expect_config_error("{\"j\": {\"provider\": \"openai\", \"model\": \"m\", "
                        "\"temperature\": \"hot\"}}",
                        NULL, "llm.j.temperature");
    expect_config_error("{\"j\": {\"provider\": \"openai\", \"model\": \"m\", "
                        "\"price\": {\"input\": -1}}}",
                        NULL, "llm.j.price.input");
    expect_config_error("{\"j\": {\"provider\": \"openai\", \"model\": \"m\", "
                        "\"cache\": \"sometimes\"}}",
                        NULL, "llm.j.cache");
    expect_config_error("{}", "{\"max_dollars\": 3}",
                        "budget.max_dollars: unknown key");
    expect_config_error("{}", "{\"max_cost\": \"lots\"}", "budget.max_cost");
    /* numeric strings (from ${ENV}) are accepted */
    json_t *e = json_loads("{\"j\": {\"provider\": \"openai\", \"model\": "
                           "\"m\", \"max_concurrency\": \"16\", \"timeout\": "
                           "\"2.5\"}}",
                           0, NULL);
    llm_service *s = NULL;
    assay_error err = {0};
    assert_int_equal(llm_service_create(e, NULL, NULL, NULL, test_find_plugin,
                                        NULL, &s, &err),
                     0);
    json_t *info = llm_service_endpoint_info(s, "j");
    assert_int_equal(
        json_integer_value(json_object_get(info, "max_concurrency")), 16);
    assert_string_equal(json_string_value(json_object_get(info, "base_url")),
                        "https://api.openai.com/v1");
    json_decref(info);
    assay_llm_result r;
    assay_llm_message m = {"user", "x"};
    assay_llm_request q = {.messages = &m, .n_messages = 1};
    assert_int_equal(
        llm_service_batch(s, "n", "nope", &q, 1, &r, NULL, NULL, &err),
        ASSAY_EINVAL);
    assert_non_null(strstr(err.text, "unknown LLM endpoint 'nope'"));
    llm_service_destroy(s);
    json_decref(e);
}

static void test_cache_key(void **state)
{
    (void)state;
    fake_server f = {.base_url = "http://127.0.0.1:9/v1"};
    llm_service *s =
        svc_new(&f, "openai", "{\"temperature\": 0.5}", NULL, NULL, "off");
    assay_llm_message m = {"user", "hello"};
    assay_llm_request q = {.messages = &m, .n_messages = 1};
    char k1[65], k2[65], k3[65], k4[65];
    assay_error err;
    assert_int_equal(llm_service_cache_key(s, "ep", &q, k1, &err), 0);
    assert_int_equal(strlen(k1), 64);
    assert_int_equal(llm_service_cache_key(s, "ep", &q, k2, &err), 0);
    assert_string_equal(k1, k2);
    q.sample = 1;
    assert_int_equal(llm_service_cache_key(s, "ep", &q, k3, &err), 0);
    assert_string_not_equal(k1, k3);
    q.sample = 0;
    json_t *p = json_pack("{s:f}", "temperature", 0.9);
    q.params = p;
    assert_int_equal(llm_service_cache_key(s, "ep", &q, k4, &err), 0);
    assert_string_not_equal(k1, k4);
    /* the same effective parameters give the same key */
    json_object_set_new(p, "temperature", json_real(0.5));
    assert_int_equal(llm_service_cache_key(s, "ep", &q, k4, &err), 0);
    assert_string_equal(k1, k4);
    json_decref(p);
    llm_service_destroy(s);
}

int main(void)
{
    if (!getenv("FAKELLM") || !getenv("OPENAI_PLUGIN")) {
        fprintf(stderr, "FAKELLM and OPENAI_PLUGIN must be set (run through "
                        "meson test)\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_answers_in_order),
        cmocka_unit_test(test_cache_modes),
        cmocka_unit_test(test_replay_empty_cache),
        cmocka_unit_test(test_fault_429_retry_after),
        cmocka_unit_test(test_fault_500),
        cmocka_unit_test(test_fault_503),
        cmocka_unit_test(test_fault_stall),
        cmocka_unit_test(test_fault_truncated),
        cmocka_unit_test(test_fault_invalid_json),
        cmocka_unit_test(test_fault_reset),
        cmocka_unit_test(test_retries_exhausted),
        cmocka_unit_test(test_non_retryable),
        cmocka_unit_test(test_secret_never_shown),
        cmocka_unit_test(test_many_with_faults),
        cmocka_unit_test(test_budget),
        cmocka_unit_test(test_stream_followups),
        cmocka_unit_test(test_anthropic),
        cmocka_unit_test(test_embeddings),
        cmocka_unit_test(test_embeddings_cached),
        cmocka_unit_test(test_adaptive_concurrency),
        cmocka_unit_test(test_rate_limit),
        cmocka_unit_test(test_token_rate_limit),
        cmocka_unit_test(test_identical_requests),
        cmocka_unit_test(test_follower_survives_cancelled_leader),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_dry_run),
        cmocka_unit_test(test_bad_request_mid_batch),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_cache_key),
    };
    if (getenv("LLMTEST_FILTER"))
        cmocka_set_test_filter(getenv("LLMTEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
