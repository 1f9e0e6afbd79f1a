/*
 * test_qa.c - metric.qa: SQuAD normalisation, exact match and token F1
 * (expected values from the official SQuAD 2.0 evaluation functions),
 * and the plugin through the host.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "qa_score.h"
#include "tc_testutil.h"

/* gold, prediction, exact match, F1 (SQuAD 2.0) */
static const struct {
    const char *gold, *pred;
    double em, f1;
} cases[] = {
    {"The Eiffel Tower", "eiffel tower", 1, 1.0},
    {"a cat on a mat", "the cat sat on the mat", 0, 0.8571428571428571},
    {"caf\303\251 end", "Caf\303\251\342\200\224the end", 0, 0.5},
    {"", "", 1, 1},
    {"apple", "an apple", 1, 1.0},
    {"\304\260stanbul, T\303\274rkiye", "istanbul turkiye", 0, 0},
    {"the the cat", "cat the", 1, 1.0},
    {"1,000 km\302\262", "1000 km\302\262", 1, 1.0},
    {"x_y", "xy", 1, 1.0},
    {"th\303\251 cat", "the cat", 0, 0.6666666666666666},
};

static void test_cases(void **state)
{
    (void)state;
    qa_worker w = {0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tc_str g = {cases[i].gold, strlen(cases[i].gold)};
        tc_str p = {cases[i].pred, strlen(cases[i].pred)};
        double em, f1;
        assert_int_equal(qa_score(&w, &p, &g, 1, false, &em, &f1), 0);
        if (em != cases[i].em || fabs(f1 - cases[i].f1) > 1e-15)
            fail_msg("case %zu: em %g f1 %.17g, want %g %.17g", i, em, f1,
                     cases[i].em, cases[i].f1);
    }
    /* maximum over several answers; no answer = one empty answer */
    tc_str golds[3] = {{"Paris", 5}, {"the city of Paris", 17}, {"x", 1}};
    tc_str p = {"city of Paris", 13}, e = {"", 0};
    double em, f1;
    assert_int_equal(qa_score(&w, &p, golds, 3, false, &em, &f1), 0);
    assert_true(em == 1.0 && f1 == 1.0);
    assert_int_equal(qa_score(&w, &e, NULL, 0, false, &em, &f1), 0);
    assert_true(em == 1.0 && f1 == 1.0);
    /* SQuAD 1.1: empty sides score F1 0 */
    assert_int_equal(qa_score(&w, &e, &e, 1, true, &em, &f1), 0);
    assert_true(em == 1.0 && f1 == 0.0);
    qa_worker_free(&w);
}

static void test_plugin(void **state)
{
    (void)state;
    const assay_plugin *p = tct_plugin("metric.qa");
    assert_non_null(p);
    json_error_t je;
    json_t *in = json_loads(
        "{\"items\": ["
        "{\"id\": \"q1\", \"pred\": \"The Eiffel Tower\", \"answers\": "
        "[\"Eiffel Tower\", \"the tower\"]},"
        "{\"id\": \"q2\", \"pred\": \"the cat sat on the mat\", "
        "\"answers\": \"a cat on a mat\"},"
        "{\"id\": \"q3\", \"pred\": \"\", \"answers\": []}]}",
        0, &je);
    assert_non_null(in);
    json_t *out = NULL;
    assay_error err = {0};
    if (assay_testkit_run(p,
                          "{\"hyp_field\": \"pred\", \"refs_field\": "
                          "\"answers\", \"bootstrap\": 100}",
                          in, &out, &err))
        fail_msg("run: %s", err.text);
    json_t *sum = json_object_get(out, "summary");
    double em = tct_num(json_object_get(sum, "exact_match"), "score");
    double f1 = tct_num(json_object_get(sum, "f1"), "score");
    assert_true(fabs(em - 200.0 / 3) < 1e-9);
    assert_true(fabs(f1 - 100.0 * (2 + 0.8571428571428571) / 3) < 1e-9);
    assert_non_null(json_object_get(json_object_get(sum, "f1"), "ci"));
    json_t *items = json_object_get(out, "items");
    assert_int_equal(json_array_size(items), 3);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(items, 1), "id")),
        "q2");
    json_decref(out);
    json_decref(in);
    in = json_loads("{\"items\": [{\"hyp\": null, \"refs\": \"a\"}]}", 0,
                    &je);
    assert_int_not_equal(assay_testkit_run(p, NULL, in, &out, &err), 0);
    assert_non_null(strstr(err.text, "record 0"));
    assert_non_null(strstr(err.text, "'hyp'"));
    json_decref(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_plugin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
