/*
 * verify.function-calls through the real host (core/testkit.h): the rule
 * layer over the case file, option errors, and BFCL mode with answers
 * and ground truth joined by id.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testkit.h"

static const assay_plugin *load(void)
{
    assay_error err;
    const assay_plugin *p =
        assay_testkit_load(getenv("PLUGIN"), "verify.function-calls", &err);
    if (!p)
        fprintf(stderr, "%s\n", err.text);
    assert_non_null(p);
    return p;
}

static json_t *case_items(void)
{
    const char *src = getenv("ASSAY_SRC");
    char path[4096];
    snprintf(path, sizeof path,
             "%s/plugins/verify/function-calls/rule_cases.json",
             src ? src : ".");
    json_t *doc = json_load_file(path, 0, NULL);
    assert_non_null(doc);
    json_t *items = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(doc, "passing"), i, v)
        json_array_append(items, v);
    json_array_foreach(json_object_get(doc, "cases"), i, v)
        json_array_append(items, json_object_get(v, "fail"));
    json_decref(doc);
    return items;
}

static void test_dialog_rules(void **st)
{
    (void)st;
    json_t *items = case_items();
    size_t n = json_array_size(items);
    json_t *in = json_pack("{s:o}", "items", items), *out = NULL;
    assay_error err;
    if (assay_testkit_run(load(), "{}", in, &out, &err))
        fail_msg("%s", err.text);
    json_t *sum = json_object_get(out, "summary");
    assert_int_equal(json_integer_value(json_object_get(sum, "items")), n);
    assert_int_equal(json_integer_value(json_object_get(sum, "passed")), 7);
    assert_int_equal(json_array_size(json_object_get(out, "passed")), 7);
    json_t *rf = json_object_get(sum, "rule_failures");
    assert_true(json_integer_value(json_object_get(rf, "mixed_language")) >= 1);
    json_t *it = json_array_get(json_object_get(out, "items"), 7);
    json_t *ver = json_object_get(it, "verification");
    assert_false(json_is_true(json_object_get(ver, "passed")));
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(ver, "failed_rules"), 0)),
                        "dialog_required_fields");
    json_decref(out);
    /* skipping a rule lets its failing sample through */
    if (assay_testkit_run(load(), "{\"skip_rules\": [\"mixed_language\"]}", in,
                          &out, &err))
        fail_msg("%s", err.text);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(out, "summary"), "passed")),
                     8);
    json_decref(out);
    assert_int_equal(assay_testkit_run(load(), "{\"skip_rules\": [\"nope\"]}",
                                       in, &out, &err),
                     ASSAY_EINVAL);
    assert_non_null(strstr(err.text, "skip_rules"));
    json_decref(in);
}

static void test_bfcl(void **st)
{
    (void)st;
    json_t *in = json_loads(
        "{\"items\": ["
        "{\"id\": \"simple_python_0\", \"question\": [[]], \"function\": "
        "[{\"name\": \"calc.area\", \"description\": \"d\", \"parameters\": "
        "{\"type\": \"dict\", \"properties\": {\"r\": {\"type\": "
        "\"float\"}, \"unit\": {\"type\": \"string\"}}, \"required\": "
        "[\"r\"]}}]},"
        "{\"id\": \"simple_python_1\", \"question\": [[]], \"function\": "
        "[{\"name\": \"calc.area\", \"description\": \"d\", \"parameters\": "
        "{\"type\": \"dict\", \"properties\": {\"r\": {\"type\": "
        "\"float\"}}, \"required\": [\"r\"]}}]},"
        "{\"id\": \"irrelevance_0\", \"question\": [[]], \"function\": []},"
        "{\"id\": \"simple_python_2\", \"question\": [[]], \"function\": []}"
        "], \"answers\": ["
        "{\"id\": \"simple_python_0\", \"result\": \"[calc_area(r=2, "
        "unit='Square Meters')]\"},"
        "{\"id\": \"simple_python_1\", \"result\": [{\"calc.area\": {\"r\": "
        "\"2\"}}]},"
        "{\"id\": \"irrelevance_0\", \"result\": \"No function fits.\"}"
        "], \"ground_truth\": ["
        "{\"id\": \"simple_python_0\", \"ground_truth\": [{\"calc.area\": "
        "{\"r\": [2.0], \"unit\": [\"square meters\", \"\"]}}]},"
        "{\"id\": \"simple_python_1\", \"ground_truth\": [{\"calc.area\": "
        "{\"r\": [2.0]}}]},"
        "{\"id\": \"simple_python_2\", \"ground_truth\": [{\"f\": {}}]}]}",
        0, NULL);
    assert_non_null(in);
    json_t *out = NULL;
    assay_error err;
    if (assay_testkit_run(load(), "{\"mode\": \"bfcl\"}", in, &out, &err))
        fail_msg("%s", err.text);
    json_t *items = json_object_get(out, "items");
    assert_true(
        json_is_true(json_object_get(json_array_get(items, 0), "correct")));
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(items, 1), "error")),
        "type_error");
    assert_true(
        json_is_true(json_object_get(json_array_get(items, 2), "correct")));
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(items, 3), "error")),
        "no_answer");
    json_t *sum = json_object_get(out, "summary");
    assert_int_equal(json_integer_value(json_object_get(sum, "correct")), 2);
    json_t *cats = json_object_get(sum, "categories");
    assert_int_equal(json_object_size(cats), 2);
    /* overall: mean of simple_python 1/3 and irrelevance 1/1 */
    assert_true(json_real_value(json_object_get(sum, "overall")) > 0.6666);
    json_decref(out);
    /* no ground truth for a category that needs it: a data error */
    json_object_del(in, "ground_truth");
    assert_int_equal(
        assay_testkit_run(load(), "{\"mode\": \"bfcl\"}", in, &out, &err),
        ASSAY_EDATA);
    assert_non_null(strstr(err.text, "record 0 (id simple_python_0)"));
    json_decref(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dialog_rules),
        cmocka_unit_test(test_bfcl),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
