/*
 * tests/llm/test_llm_oom.c - out of memory is an error, not a crash: every
 * JSON allocation the service and the provider make while building
 * requests, parsing answers and reporting usage is made to fail in turn
 * (jansson's allocator hooks), and each batch must still come back with
 * either a result per request or a clean error.  Run under ASan it also
 * proves the error paths leak nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmtest.h"

/* Allocation number `fail_at` (counting from arming) fails; 0: never. */
static atomic_long alloc_count, fail_at;
static atomic_long failures;

static void *oom_malloc(size_t n)
{
    long k = atomic_fetch_add(&alloc_count, 1) + 1;
    long f = atomic_load(&fail_at);
    if (f && k == f) {
        atomic_fetch_add(&failures, 1);
        return NULL;
    }
    return malloc(n);
}

static void oom_free(void *p)
{
    free(p);
}

static void arm(long at)
{
    atomic_store(&alloc_count, 0);
    atomic_store(&fail_at, at);
}

static void test_every_json_allocation_fails_once(void **state)
{
    (void)state;
    fake_server f;
    assert_int_equal(fake_start(&f, NULL), 0);
    json_t *eps = test_endpoints("ep", "openai", &f,
                                 "{\"retries\": 1, \"backoff\": 0.001, "
                                 "\"temperature\": 0.2}");
    assay_llm_message m[3] = {
        {"system", "sys"}, {"user", "alpha"}, {"user", "beta"}};
    assay_llm_request q[2] = {{.messages = m, .n_messages = 2, .item = 0},
                              {.messages = m + 1, .n_messages = 2, .item = 1}};
    json_t *params = json_pack("{s:i}", "max_tokens", 9);
    q[1].params = params;
    long rounds = 0, errors = 0, failed_items = 0;
    for (long at = 1; at < 400; at++) {
        llm_service *s = NULL;
        assay_error err = {0};
        assay_llm_result res[2];
        memset(res, 0, sizeof res);
        assert_int_equal(llm_service_create(eps, NULL, NULL, "off",
                                            test_find_plugin, NULL, &s, &err),
                         0);
        atomic_store(&failures, 0);
        arm(at);
        int rc = llm_service_batch(s, "oom", "ep", q, 2, res, NULL, NULL, &err);
        json_t *u = llm_service_usage(s);
        arm(0);
        json_decref(u);
        rounds++;
        if (rc != 0) {
            /* a clean error: message set, results cleared */
            assert_true(err.text[0] != '\0');
            assert_null(res[0].text);
            assert_null(res[1].text);
            errors++;
        } else {
            for (int i = 0; i < 2; i++) {
                if (res[i].status == ASSAY_LLM_OK)
                    assert_non_null(res[i].text);
                else
                    failed_items++;
                llm_result_clear(&res[i]);
            }
        }
        llm_service_destroy(s);
        /* past the last allocation nothing fails any more: done */
        if (atomic_load(&failures) == 0 && at > 50)
            break;
    }
    fprintf(stderr, "oom: %ld rounds, %ld batch errors, %ld failed items\n",
            rounds, errors, failed_items);
    assert_true(rounds > 20);
    json_decref(params);
    json_decref(eps);
    fake_stop(&f);
}

int main(void)
{
    if (!getenv("FAKELLM") || !getenv("OPENAI_PLUGIN"))
        return 1;
    json_set_alloc_funcs(oom_malloc, oom_free);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_json_allocation_fails_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
