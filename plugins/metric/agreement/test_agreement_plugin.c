/*
 * test_agreement_plugin.c - metric.agreement through the real host on a
 * hand-computed case (join by id, swap mapping, ties), and malformed
 * input.
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
    plug = assay_testkit_load(getenv("PLUGIN"), "metric.agreement", &err);
    if (!plug)
        fail_msg("load: %s", err.text);
    return 0;
}

static const char *PRED =
    "[{\"id\": 1, \"v\": \"A\", \"sw\": \"B\"},"
    " {\"id\": 2, \"v\": \"B\", \"sw\": \"B\"},"
    " {\"id\": 3, \"v\": \"tie\", \"sw\": \"Tie \"},"
    " {\"id\": 4, \"v\": \"model_b\", \"sw\": \"a\"}]";
static const char *GOLD =
    "[{\"id\": 4, \"winner\": \"B\"}, {\"id\": 1, \"winner\": \"A\"},"
    " {\"id\": 3, \"winner\": \"A\"}, {\"id\": 2, \"winner\": \"tie\"}]";

static json_t *run(const char *opts, const char *pred, const char *gold,
                   assay_error *err, int *rc)
{
    json_t *in = json_object();
    json_object_set_new(in, "pred", json_loads(pred, 0, NULL));
    if (gold)
        json_object_set_new(in, "gold", json_loads(gold, 0, NULL));
    json_t *out = NULL;
    *rc = assay_testkit_run(plug, opts, in, &out, err);
    json_decref(in);
    return out;
}

static double num(const json_t *o, const char *k)
{
    return json_number_value(json_object_get(o, k));
}

static void test_hand_case(void **st)
{
    (void)st;
    assay_error err = {0};
    int rc;
    json_t *out = run("{\"pred_field\": \"v\", \"swapped_field\": \"sw\"}",
                      PRED, GOLD, &err, &rc);
    if (rc)
        fail_msg("%s", err.text);
    json_t *s = json_object_get(out, "summary");
    assert_true(fabs(num(s, "accuracy") - 0.75) < 1e-15);
    assert_true(fabs(num(s, "accuracy_without_gold_ties") - 2.0 / 3) < 1e-15);
    assert_true(fabs(num(s, "position_consistency") - 0.75) < 1e-15);
    assert_true(fabs(num(s, "first_position_rate") - 2.0 / 6) < 1e-15);
    assert_true(fabs(num(s, "kappa") - 0.4375 / 0.6875) < 1e-15);
    assert_true(fabs(num(s, "tie_rate") - 0.5) < 1e-15);
    json_t *cm = json_object_get(s, "confusion");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(cm, "A"), "tie")),
        1);
    json_t *items = json_object_get(out, "items");
    json_t *i1 = json_array_get(items, 1);
    assert_string_equal(json_string_value(json_object_get(i1, "used")), "tie");
    assert_false(json_is_true(json_object_get(i1, "consistent")));
    json_decref(out);

    /* combine: first scores the first order: A B tie B vs A tie A B */
    out = run("{\"pred_field\": \"v\", \"swapped_field\": \"sw\", "
              "\"combine\": \"first\"}",
              PRED, GOLD, &err, &rc);
    assert_int_equal(rc, 0);
    s = json_object_get(out, "summary");
    assert_true(fabs(num(s, "accuracy") - 0.5) < 1e-15);
    json_decref(out);

    /* swapped verdicts already in original positions */
    out = run("{\"pred_field\": \"v\", \"swapped_field\": \"sw\", "
              "\"swapped_mapped\": true}",
              PRED, NULL, &err, &rc);
    assert_int_equal(rc, 0);
    s = json_object_get(out, "summary");
    assert_true(fabs(num(s, "position_consistency") - 0.5) < 1e-15);
    assert_null(json_object_get(s, "accuracy"));
    json_decref(out);
}

static void test_malformed(void **st)
{
    (void)st;
    assay_error err = {0};
    int rc;
    json_t *out = run("{\"pred_field\": \"v\"}",
                      "[{\"id\": 1, \"v\": \"A\"}, {\"id\": 2, \"v\": "
                      "\"maybe\"}]",
                      NULL, &err, &rc);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(err.text, "record 1"));
    assert_non_null(strstr(err.text, "'v'"));
    json_decref(out);
    out = run("{\"pred_field\": \"v\"}", "[{\"id\": 9, \"v\": \"A\"}]",
              "[{\"id\": 1, \"winner\": \"A\"}]", &err, &rc);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(err.text, "not found in gold"));
    json_decref(out);
    out = run(NULL, "[{\"winner\": \"A\"}]",
              "[{\"winner\": \"A\"}, {\"winner\": \"B\"}]", &err, &rc);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(err.text, "1 records and gold 2"));
    json_decref(out);
    out = run(NULL, "[{\"winner\": 1.5}]", NULL, &err, &rc);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(err.text, "record 0"));
    json_decref(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_case),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
