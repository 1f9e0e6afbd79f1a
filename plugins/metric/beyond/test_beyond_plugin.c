/*
 * test_beyond_plugin.c - metric.beyond through the real host on a
 * hand-computed case, and malformed input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testkit.h"

static const assay_plugin *plug;

static int setup(void **st)
{
    (void)st;
    assay_error err = {0};
    plug = assay_testkit_load(getenv("PLUGIN"), "metric.beyond", &err);
    if (!plug)
        fail_msg("load: %s", err.text);
    return 0;
}

static double num(const json_t *o, const char *k)
{
    return json_number_value(json_object_get(o, k));
}

static void test_hand_case(void **st)
{
    (void)st;
    json_t *in = json_loads(
        "{\"train\": [{\"user\": \"u1\", \"item\": \"i1\"},"
        "  {\"user\": \"u1\", \"item\": \"i2\"},"
        "  {\"user\": \"u2\", \"item\": \"i1\"},"
        "  {\"user\": \"u2\", \"item\": \"i3\"},"
        "  {\"user\": \"u3\", \"item\": \"i1\"},"
        "  {\"user\": \"u3\", \"item\": \"i1\"}],"
        " \"recs\": [{\"user\": \"u1\", \"item\": \"i4\", \"rank\": 3},"
        "  {\"user\": \"u1\", \"item\": \"i3\", \"rank\": 1},"
        "  {\"user\": \"u2\", \"item\": \"i2\", \"rank\": 1},"
        "  {\"user\": \"u1\", \"item\": \"i2\", \"rank\": 2}],"
        " \"features\": [{\"item\": \"i2\", \"embedding\": [1, 0]},"
        "  {\"item\": \"i3\", \"embedding\": [0, 1]},"
        "  {\"item\": \"i4\", \"embedding\": [1, 1]}]}",
        0, NULL);
    assert_non_null(in);
    json_t *out = NULL;
    assay_error err = {0};
    if (assay_testkit_run(plug, "{\"k\": 2}", in, &out, &err))
        fail_msg("%s", err.text);
    json_t *s = json_object_get(out, "summary");
    assert_true(fabs(num(s, "novelty") - log2(3.0)) < 1e-15);
    assert_true(fabs(num(s, "arp") - 1.0) < 1e-15);
    assert_true(fabs(num(s, "coverage") - 0.5) < 1e-15);
    assert_true(fabs(num(s, "ild") - 1.0) < 1e-15);
    assert_int_equal(json_integer_value(json_object_get(s, "ild_users")), 1);
    assert_true(fabs(num(s, "gini") - 7.0 / 12) < 1e-15);
    json_t *items = json_object_get(out, "items");
    assert_int_equal(json_array_size(items), 2);
    assert_true(json_is_null(json_object_get(json_array_get(items, 1),
                                             "ild")));
    json_decref(out);

    /* k = 3 takes i4 too: coverage 3/4, u1 ild over 3 pairs */
    if (assay_testkit_run(plug, "{\"k\": 3}", in, &out, &err))
        fail_msg("%s", err.text);
    s = json_object_get(out, "summary");
    assert_true(fabs(num(s, "coverage") - 0.75) < 1e-15);
    double c = 1.0 / sqrt(2.0);
    assert_true(fabs(num(s, "ild") - (1.0 + 2 * (1 - c)) / 3) < 1e-15);
    json_decref(out);
    json_decref(in);
}

static void test_malformed(void **st)
{
    (void)st;
    json_t *in = json_loads(
        "{\"train\": [{\"user\": 1, \"item\": 1}],"
        " \"recs\": [{\"user\": 1, \"item\": 1, \"rank\": 1},"
        "  {\"user\": 1, \"rank\": 2}]}",
        0, NULL);
    json_t *out = NULL;
    assay_error err = {0};
    assert_int_not_equal(assay_testkit_run(plug, NULL, in, &out, &err), 0);
    assert_non_null(strstr(err.text, "record 1"));
    assert_non_null(strstr(err.text, "'item'"));
    json_decref(in);
    in = json_loads("{\"train\": [{\"user\": 1, \"item\": 1}],"
                    " \"recs\": [{\"user\": 1, \"item\": 1, \"rank\": 1}],"
                    " \"features\": [{\"item\": 1, \"embedding\": [1, "
                    "\"x\"]}]}",
                    0, NULL);
    assert_int_not_equal(assay_testkit_run(plug, NULL, in, &out, &err), 0);
    assert_non_null(strstr(err.text, "element 1"));
    json_decref(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_case),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
