/*
 * tests/llm/test_replicas.c - endpoints with several base URLs (replicas
 * of one deployment) against fake servers on 127.0.0.1: configuration,
 * spreading by requests in flight, a replica that refuses connections,
 * hangs, answers 5xx, is killed in the middle of a batch or comes back;
 * per-replica accounting; a cache key that does not depend on the
 * replica.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "llmtest.h"

/* N requests "r<i> <tag>", each one user message. */
typedef struct reqset {
    size_t n;
    char **text;
    assay_llm_message *msgs;
    assay_llm_request *reqs;
} reqset;

static reqset *reqset_new(size_t n, const char *tag)
{
    reqset *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->n = n;
    r->text = calloc(n, sizeof *r->text);
    r->msgs = calloc(n, sizeof *r->msgs);
    r->reqs = calloc(n, sizeof *r->reqs);
    assert_true(r->text && r->msgs && r->reqs);
    for (size_t i = 0; i < n; i++) {
        char t[128];
        snprintf(t, sizeof t, "r%zu %s", i, tag);
        r->text[i] = strdup(t);
        r->msgs[i] = (assay_llm_message){"user", r->text[i]};
        r->reqs[i] = (assay_llm_request){
            .messages = &r->msgs[i], .n_messages = 1, .item = i};
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

static void results_free(assay_llm_result *res, size_t n)
{
    for (size_t i = 0; i < n; i++)
        llm_result_clear(&res[i]);
    free(res);
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

/* A service whose endpoint "ep" lists the URLs `urls` (JSON array text)
 * under `key`, plus the JSON members `extra` (may be NULL). */
static llm_service *svc_new(const char *key, const char *urls,
                            const char *extra, const char *cache)
{
    char cfg[2048];
    snprintf(cfg, sizeof cfg,
             "{\"ep\": {\"provider\": \"openai\", \"model\": \"fake-model\", "
             "\"%s\": %s, \"backoff\": 0.01, \"timeout\": 5%s%s}}",
             key, urls, extra ? ", " : "", extra ? extra : "");
    json_t *eps = json_loads(cfg, 0, NULL);
    llm_service *s = NULL;
    assay_error err = {0};
    assert_non_null(eps);
    int rc = llm_service_create(eps, NULL, cache, cache ? NULL : "off",
                                test_find_plugin, NULL, &s, &err);
    if (rc)
        fprintf(stderr, "create: %s\n", err.text);
    assert_int_equal(rc, 0);
    json_decref(eps);
    return s;
}

static json_int_t jint(const json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

/* Replica i of endpoint "ep" in the usage JSON (borrowed from `u`). */
static const json_t *replica_usage(const json_t *u, size_t i)
{
    const json_t *ep = json_object_get(json_object_get(u, "endpoints"), "ep");
    return json_array_get(json_object_get(ep, "replicas"), i);
}

/*
 * Sum the servers' per-request answered counters (a request has the
 * same key on every server): every one of the `n` requests must have
 * been answered exactly once over all servers.
 */
static void check_answered_once(json_t *const *stats, size_t nservers, size_t n)
{
    json_t *sum = json_object();
    json_int_t total = 0;
    for (size_t k = 0; k < nservers; k++) {
        const char *h;
        json_t *v;
        total += jint(stats[k], "answered");
        json_object_foreach(json_object_get(stats[k], "keys"), h, v)
        {
            json_int_t a = json_integer_value(json_array_get(v, 1));
            json_t *old = json_object_get(sum, h);
            json_object_set_new(
                sum, h, json_integer(a + (old ? json_integer_value(old) : 0)));
        }
    }
    assert_int_equal(total, (json_int_t)n);
    size_t once = 0;
    const char *h;
    json_t *v;
    json_object_foreach(sum, h, v)
    {
        assert_true(json_integer_value(v) <= 1);
        once += json_integer_value(v) == 1;
    }
    assert_int_equal(once, n);
    json_decref(sum);
}

/* A free port: a server started and stopped at once. */
static int dead_port(void)
{
    fake_server f;
    assert_int_equal(fake_start(&f, NULL), 0);
    int port = f.port;
    fake_stop(&f);
    return port;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

/* ---- configuration ------------------------------------------------------ */

static void expect_config_error(const char *cfg, const char *needle)
{
    json_t *eps = json_loads(cfg, 0, NULL);
    llm_service *s = NULL;
    assay_error err = {0};
    assert_non_null(eps);
    assert_int_not_equal(llm_service_create(eps, NULL, NULL, "off",
                                            test_find_plugin, NULL, &s, &err),
                         0);
    assert_null(s);
    if (!strstr(err.text, needle))
        fprintf(stderr, "expected '%s' in: %s\n", needle, err.text);
    assert_non_null(strstr(err.text, needle));
    json_decref(eps);
}

static void test_config(void **state)
{
    (void)state;
    expect_config_error("{\"j\": {\"provider\": \"openai\", \"model\": \"m\", "
                        "\"base_url\": []}}",
                        "llm.j.base_url: expected at least one URL");
    expect_config_error("{\"j\": {\"provider\": \"openai\", \"model\": \"m\", "
                        "\"base_urls\": \"http://a/v1\"}}",
                        "llm.j.base_urls: expected a list of URLs");
    expect_config_error(
        "{\"j\": {\"provider\": \"openai\", \"model\": \"m\", "
        "\"base_url\": \"http://a/v1\", \"base_urls\": [\"http://b/v1\"]}}",
        "not both");
    expect_config_error("{\"j\": {\"provider\": \"openai\", \"model\": \"m\", "
                        "\"base_urls\": [\"http://a/v1\", 3]}}",
                        "llm.j.base_urls[1]: expected a non-empty URL");
    expect_config_error("{\"j\": {\"provider\": \"openai\", \"model\": \"m\", "
                        "\"base_url\": [\"http://a/v1\", \"ftp://b\"]}}",
                        "llm.j.base_url[1]: expected an http:// or https://");
    expect_config_error("{\"j\": {\"provider\": \"openai\", \"model\": \"m\", "
                        "\"base_urls\": [\"http://a/v1\", \"http://a/v1/\"]}}",
                        "llm.j.base_urls[1]: http://a/v1 is listed twice");
    expect_config_error("{\"j\": {\"provider\": \"openai\", \"model\": \"m\", "
                        "\"base_url\": 7}}",
                        "llm.j.base_url: expected a URL or a list of URLs");

    /* both spellings; info lists every URL, base_url is the first */
    const char *forms[] = {"base_url", "base_urls"};
    for (size_t k = 0; k < 2; k++) {
        llm_service *s = svc_new(
            forms[k], "[\"http://127.0.0.1:1/v1/\", \"https://x.test/v1\"]",
            NULL, NULL);
        json_t *info = llm_service_endpoint_info(s, "ep");
        assert_non_null(info);
        assert_string_equal(
            json_string_value(json_object_get(info, "base_url")),
            "http://127.0.0.1:1/v1");
        json_t *urls = json_object_get(info, "base_urls");
        assert_int_equal(json_array_size(urls), 2);
        assert_string_equal(json_string_value(json_array_get(urls, 1)),
                            "https://x.test/v1");
        json_decref(info);
        json_t *u = llm_service_usage(s);
        assert_int_equal(
            json_array_size(json_object_get(
                json_object_get(json_object_get(u, "endpoints"), "ep"),
                "replicas")),
            2);
        assert_string_equal(
            json_string_value(json_object_get(replica_usage(u, 1), "state")),
            "up");
        json_decref(u);
        llm_service_destroy(s);
    }
}

/* The cache key is the same whichever replicas an endpoint lists, and
 * answers cached through one replica are served to an endpoint that
 * lists another. */
static void test_cache_key_and_hits(void **state)
{
    (void)state;
    fake_server a, b;
    char urls[256], one[160], key1[65], key2[65], *dir = test_tmpdir();
    char cache[600];
    assay_error err = {0};
    assert_non_null(dir);
    snprintf(cache, sizeof cache, "%s/llm.sqlite", dir);
    assert_int_equal(fake_start(&a, "{\"latency\": {\"ms\": 2}}"), 0);
    assert_int_equal(fake_start(&b, "{\"latency\": {\"ms\": 2}}"), 0);
    snprintf(urls, sizeof urls, "[\"%s\", \"%s\"]", a.base_url, b.base_url);
    snprintf(one, sizeof one, "\"%s\"", b.base_url);
    reqset *r = reqset_new(40, "cache");

    llm_service *s = svc_new("base_url", urls, NULL, cache);
    assert_int_equal(llm_service_cache_key(s, "ep", &r->reqs[3], key1, &err),
                     0);
    assay_llm_result *res = calloc(r->n, sizeof *res);
    assert_int_equal(
        llm_service_batch(s, "n", "ep", r->reqs, r->n, res, NULL, NULL, &err),
        0);
    check_echo(r, res);
    results_free(res, r->n);
    llm_service_destroy(s);

    s = svc_new("base_url", one, NULL, cache);
    assert_int_equal(llm_service_cache_key(s, "ep", &r->reqs[3], key2, &err),
                     0);
    assert_string_equal(key1, key2);
    json_t *st0 = fake_stats(&b);
    res = calloc(r->n, sizeof *res);
    assert_int_equal(
        llm_service_batch(s, "n", "ep", r->reqs, r->n, res, NULL, NULL, &err),
        0);
    check_echo(r, res);
    for (size_t i = 0; i < r->n; i++)
        assert_true(res[i].cached);
    json_t *st1 = fake_stats(&b);
    assert_int_equal(jint(st1, "requests"), jint(st0, "requests"));
    json_decref(st0);
    json_decref(st1);
    results_free(res, r->n);
    llm_service_destroy(s);
    reqset_free(r);
    fake_stop(&a);
    fake_stop(&b);
    free(dir);
}

/* ---- spreading ---------------------------------------------------------- */

static void test_spread(void **state)
{
    (void)state;
    fake_server f[2];
    char urls[256];
    assay_error err = {0};
    for (int k = 0; k < 2; k++)
        assert_int_equal(fake_start(&f[k], "{\"latency\": {\"ms\": 10}}"), 0);
    snprintf(urls, sizeof urls, "[\"%s\", \"%s\"]", f[0].base_url,
             f[1].base_url);
    llm_service *s =
        svc_new("base_urls", urls, "\"max_concurrency\": 16", NULL);
    reqset *r = reqset_new(300, "spread");
    assay_llm_result *res = calloc(r->n, sizeof *res);
    assert_int_equal(
        llm_service_batch(s, "n", "ep", r->reqs, r->n, res, NULL, NULL, &err),
        0);
    check_echo(r, res);
    json_t *st[2] = {fake_stats(&f[0]), fake_stats(&f[1])};
    check_answered_once(st, 2, r->n);
    json_t *u = llm_service_usage(s);
    for (int k = 0; k < 2; k++) {
        const json_t *ru = replica_usage(u, (size_t)k);
        /* equal servers share the work about equally */
        assert_true(jint(st[k], "answered") >= 100);
        assert_int_equal(jint(ru, "ok"), jint(st[k], "answered"));
        assert_int_equal(jint(ru, "sent"), jint(st[k], "requests"));
        assert_int_equal(jint(ru, "failed"), 0);
        assert_int_equal(jint(ru, "downs"), 0);
        assert_true(jint(ru, "prompt_tokens") > 0);
        /* the least loaded one is chosen: never far more in flight on
         * one server than the endpoint's share */
        assert_true(jint(st[k], "inflight_max") <= 12);
    }
    json_decref(u);
    json_decref(st[0]);
    json_decref(st[1]);
    results_free(res, r->n);
    reqset_free(r);
    llm_service_destroy(s);
    fake_stop(&f[0]);
    fake_stop(&f[1]);
}

/* ---- failing replicas --------------------------------------------------- */

/* Nothing listens on the first replica: everything is answered by the
 * second without spending retries (retries: 0); the first is taken out.
 * Once a server listens there again and its time out has passed, it is
 * probed and used again. */
static void test_refused_then_back(void **state)
{
    (void)state;
    fake_server b, a;
    char urls[256], dead[64];
    assay_error err = {0};
    int port = dead_port();
    snprintf(dead, sizeof dead, "http://127.0.0.1:%d/v1", port);
    assert_int_equal(fake_start(&b, "{\"latency\": {\"ms\": 5}}"), 0);
    snprintf(urls, sizeof urls, "[\"%s\", \"%s\"]", dead, b.base_url);
    llm_service *s = svc_new("base_url", urls,
                             "\"retries\": 0, \"max_concurrency\": 8", NULL);
    reqset *r = reqset_new(80, "refused");
    assay_llm_result *res = calloc(r->n, sizeof *res);
    assert_int_equal(
        llm_service_batch(s, "n", "ep", r->reqs, r->n, res, NULL, NULL, &err),
        0);
    check_echo(r, res);
    json_t *u = llm_service_usage(s);
    const json_t *r0 = replica_usage(u, 0), *r1 = replica_usage(u, 1);
    assert_string_equal(json_string_value(json_object_get(r0, "state")),
                        "down");
    assert_int_equal(jint(r0, "downs"), 1);
    assert_int_equal(jint(r0, "ok"), 0);
    assert_true(jint(r0, "failed") >= 1);
    /* taken out after the first refusal, not tried for every request */
    assert_true(jint(r0, "sent") <= 8);
    assert_int_equal(jint(r1, "ok"), (json_int_t)r->n);
    json_t *ep = json_object_get(json_object_get(u, "endpoints"), "ep");
    assert_int_equal(jint(ep, "failed"), 0);
    assert_int_equal(jint(ep, "ok"), (json_int_t)r->n);
    json_decref(u);
    results_free(res, r->n);
    reqset_free(r);

    /* the first replica comes back on the same port */
    if (fake_start_on(&a, port, "{\"latency\": {\"ms\": 5}}") != 0) {
        fprintf(stderr, "port %d was taken meanwhile; second half skipped\n",
                port);
    } else {
        sleep_s(1.4); /* the first time out is at most 1.25 s */
        r = reqset_new(120, "back");
        res = calloc(r->n, sizeof *res);
        assert_int_equal(llm_service_batch(s, "n", "ep", r->reqs, r->n, res,
                                           NULL, NULL, &err),
                         0);
        check_echo(r, res);
        json_t *sa = fake_stats(&a);
        assert_true(jint(sa, "answered") >= 20);
        json_decref(sa);
        u = llm_service_usage(s);
        assert_string_equal(
            json_string_value(json_object_get(replica_usage(u, 0), "state")),
            "up");
        json_decref(u);
        results_free(res, r->n);
        reqset_free(r);
        fake_stop(&a);
    }
    llm_service_destroy(s);
    fake_stop(&b);
}

/* The first replica answers 500 to everything: it is taken out after a
 * short streak and every request is answered by the second, retries 0. */
static void test_5xx_streak(void **state)
{
    (void)state;
    fake_server f[2];
    char urls[256];
    assay_error err = {0};
    assert_int_equal(fake_start(&f[0], "{\"latency\": {\"ms\": 3}, "
                                       "\"faults\": {\"500\": 1.0}}"),
                     0);
    assert_int_equal(fake_start(&f[1], "{\"latency\": {\"ms\": 3}}"), 0);
    snprintf(urls, sizeof urls, "[\"%s\", \"%s\"]", f[0].base_url,
             f[1].base_url);
    llm_service *s = svc_new("base_urls", urls,
                             "\"retries\": 0, \"max_concurrency\": 4", NULL);
    reqset *r = reqset_new(60, "5xx");
    assay_llm_result *res = calloc(r->n, sizeof *res);
    assert_int_equal(
        llm_service_batch(s, "n", "ep", r->reqs, r->n, res, NULL, NULL, &err),
        0);
    check_echo(r, res);
    json_t *st[2] = {fake_stats(&f[0]), fake_stats(&f[1])};
    assert_int_equal(jint(st[0], "answered"), 0);
    assert_int_equal(jint(st[1], "answered"), (json_int_t)r->n);
    /* a streak and perhaps a probe, not a share of the requests */
    assert_true(jint(st[0], "requests") <= 8);
    json_t *u = llm_service_usage(s);
    assert_true(jint(replica_usage(u, 0), "downs") >= 1);
    /* each request it got failed, or was moved when it was taken out */
    assert_int_equal(jint(replica_usage(u, 0), "failed") +
                         jint(replica_usage(u, 0), "moved"),
                     jint(st[0], "requests"));
    json_decref(u);
    json_decref(st[0]);
    json_decref(st[1]);
    results_free(res, r->n);
    reqset_free(r);
    llm_service_destroy(s);
    fake_stop(&f[0]);
    fake_stop(&f[1]);
}

/* The first replica accepts requests and never answers: they time out,
 * the replica is taken out, and what it held is answered by the other. */
static void test_hung_replica(void **state)
{
    (void)state;
    fake_server f[2];
    char urls[256];
    assay_error err = {0};
    assert_int_equal(fake_start(&f[0], "{\"faults\": {\"stall\": 1.0}}"), 0);
    assert_int_equal(fake_start(&f[1], "{\"latency\": {\"ms\": 3}}"), 0);
    snprintf(urls, sizeof urls, "[\"%s\", \"%s\"]", f[0].base_url,
             f[1].base_url);
    llm_service *s = svc_new(
        "base_urls", urls,
        "\"retries\": 0, \"max_concurrency\": 8, \"timeout\": 0.4", NULL);
    reqset *r = reqset_new(100, "hung");
    assay_llm_result *res = calloc(r->n, sizeof *res);
    assert_int_equal(
        llm_service_batch(s, "n", "ep", r->reqs, r->n, res, NULL, NULL, &err),
        0);
    check_echo(r, res);
    json_t *sb = fake_stats(&f[1]);
    assert_int_equal(jint(sb, "answered"), (json_int_t)r->n);
    json_t *u = llm_service_usage(s);
    const json_t *r0 = replica_usage(u, 0);
    assert_true(jint(r0, "downs") >= 1);
    assert_int_equal(jint(r0, "ok"), 0);
    /* taken out after REPLICA_FAULTS (3) time outs; the rest of what it
     * held was moved, not waited for */
    assert_true(jint(r0, "failed") + jint(r0, "moved") >= 1);
    assert_true(jint(r0, "failed") <= 4);
    json_decref(u);
    json_decref(sb);
    results_free(res, r->n);
    reqset_free(r);
    llm_service_destroy(s);
    fake_stop(&f[0]);
    fake_stop(&f[1]);
}

/* ---- a replica killed in the middle of a batch ------------------------- */

typedef struct kill_ctx {
    fake_server *victim;
    json_t *victim_stats; /* its /stats just before the kill */
    const reqset *r;
    assay_llm_result *res;
    size_t seen;
} kill_ctx;

/*
 * The victim stops answering after 30 answers (pause_after) and holds
 * what it receives after that: once it holds some, has sent its 30
 * answers and 50 results are in, its counters are final; read them and
 * kill -9 it.
 */
static int kill_cb(void *ud, assay_llm_stream *st, size_t index,
                   assay_llm_result *res)
{
    kill_ctx *k = ud;
    (void)st;
    k->res[index] = *res;
    res->text = NULL;
    k->seen++;
    if (!k->victim_stats && k->seen >= 50) {
        json_t *vs = fake_stats(k->victim);
        /* "answered" counts an answer when it is scheduled; the keys'
         * counters when it was sent: wait until both say 30 */
        json_int_t sent = 0;
        const char *h;
        json_t *v;
        json_object_foreach(json_object_get(vs, "keys"), h, v) sent +=
            json_integer_value(json_array_get(v, 1));
        if (vs && jint(vs, "answered") == 30 && sent == 30 &&
            jint(vs, "requests") > 30) {
            k->victim_stats = vs;
            fake_kill(k->victim);
        } else {
            json_decref(vs);
        }
    }
    return 0;
}

static void test_killed_mid_run(void **state)
{
    (void)state;
    fake_server f[2];
    char urls[256];
    assay_error err = {0};
    assert_int_equal(fake_start(&f[0], "{\"latency\": {\"ms\": 5}, "
                                       "\"pause_after\": 30}"),
                     0);
    assert_int_equal(fake_start(&f[1], "{\"latency\": {\"ms\": 5}}"), 0);
    snprintf(urls, sizeof urls, "[\"%s\", \"%s\"]", f[0].base_url,
             f[1].base_url);
    llm_service *s = svc_new("base_url", urls,
                             "\"retries\": 0, \"max_concurrency\": 12", NULL);
    reqset *r = reqset_new(300, "killed");
    assay_llm_result *res = calloc(r->n, sizeof *res);
    kill_ctx k = {.victim = &f[0], .r = r, .res = res};
    assert_int_equal(llm_service_stream(s, "n", "ep", r->reqs, r->n, kill_cb,
                                        &k, NULL, NULL, &err),
                     0);
    assert_non_null(k.victim_stats); /* it was killed mid-run */
    check_echo(r, res);
    json_t *st[2] = {k.victim_stats, fake_stats(&f[1])};
    check_answered_once(st, 2, r->n);
    json_t *u = llm_service_usage(s);
    const json_t *r0 = replica_usage(u, 0);
    assert_string_equal(json_string_value(json_object_get(r0, "state")),
                        "down");
    assert_true(jint(r0, "downs") >= 1);
    assert_int_equal(jint(r0, "ok"), 30);
    assert_int_equal(jint(replica_usage(u, 1), "ok"), (json_int_t)r->n - 30);
    json_t *ep = json_object_get(json_object_get(u, "endpoints"), "ep");
    assert_int_equal(jint(ep, "ok"), (json_int_t)r->n);
    assert_int_equal(jint(ep, "failed"), 0);
    json_decref(u);
    json_decref(st[0]);
    json_decref(st[1]);
    results_free(res, r->n);
    reqset_free(r);
    llm_service_destroy(s);
    fake_stop(&f[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_cache_key_and_hits),
        cmocka_unit_test(test_spread),
        cmocka_unit_test(test_refused_then_back),
        cmocka_unit_test(test_5xx_streak),
        cmocka_unit_test(test_hung_replica),
        cmocka_unit_test(test_killed_mid_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
