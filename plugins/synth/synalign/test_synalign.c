/*
 * synth.synalign through the real host (core/testkit.h), alignment only
 * (the LLM stages run end to end in tests/synth against the fake
 * server): a synthetic set of real copies plus off-topic junk gets its
 * weight on the copies, the resampled set holds no junk, MMD^2 drops;
 * data and option errors name what is wrong.
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
        assay_testkit_load(getenv("PLUGIN"), "synth.synalign", &err);
    if (!p)
        fprintf(stderr, "%s\n", err.text);
    assert_non_null(p);
    return p;
}

static const char *const pos[] = {"great battery and a bright screen, love it",
                                  "fast shipping, the blender works perfectly",
                                  "excellent sound quality for the price",
                                  "comfortable shoes, fit true to size",
                                  "the camera takes sharp photos even at night",
                                  "sturdy case, my phone survived a drop"};
static const char *const neg[] = {"the charger stopped working after a week",
                                  "cheap plastic, it broke on the first day",
                                  "terrible fit, the shoes hurt my feet",
                                  "screen flickers and support never answered",
                                  "the blender leaks and smells of burnt motor",
                                  "headphones crackle, returning them"};
static const char *const junk[] = {
    "quarterly tax filing deadlines for small partnerships",
    "the migration route of arctic terns spans both poles",
    "baroque counterpoint rules for parallel fifths",
    "volcanic soil chemistry and vineyard yields",
    "orbital mechanics of geostationary transfer burns",
    "medieval guild charters regulated apprentice wages"};

static json_t *records(const char *const *t, size_t n, const char *label,
                       json_t *into)
{
    for (size_t i = 0; i < n; i++)
        json_array_append_new(
            into, json_pack("{s:s, s:s}", "text", t[i], "label", label));
    return into;
}

static void test_align_copies_and_junk(void **st)
{
    (void)st;
    json_t *real = json_array(), *syn = json_array();
    records(pos, 6, "positive", real);
    records(neg, 6, "negative", real);
    records(pos, 6, "positive", syn);
    records(neg, 6, "negative", syn);
    records(junk, 3, "positive", syn);
    records(junk + 3, 3, "negative", syn);
    json_t *in = json_pack("{s:o, s:o}", "items", real, "synthetic", syn);
    json_t *out = NULL;
    assay_error err;
    if (assay_testkit_run(load(), "{\"resample\": 200, \"tol\": 1e-6}", in,
                          &out, &err))
        fail_msg("%s", err.text);
    json_t *items = json_object_get(out, "items");
    assert_int_equal(json_array_size(items), 18);
    double junk_mass = 0, sum = 0;
    for (size_t a = 0; a < 18; a++) {
        double w = json_real_value(
            json_object_get(json_array_get(items, a), "weight"));
        sum += w;
        if (a >= 12)
            junk_mass += w;
    }
    assert_true(sum > 0.999999 && sum < 1.000001);
    if (junk_mass > 1e-3)
        fail_msg("junk keeps %.4f of the weight", junk_mass);
    json_t *res = json_object_get(out, "resampled");
    assert_int_equal(json_array_size(res), 200);
    size_t i;
    json_t *r;
    json_array_foreach(res, i, r)
    {
        const char *t = json_string_value(json_object_get(r, "text"));
        for (size_t j = 0; j < 6; j++)
            assert_string_not_equal(t, junk[j]);
    }
    json_t *sm = json_object_get(out, "summary");
    double before = json_real_value(json_object_get(sm, "mmd2_before"));
    double after = json_real_value(json_object_get(sm, "mmd2_after"));
    printf("# MMD^2 %.4g -> %.4g\n", before, after);
    assert_true(after < 0.01 * before);
    assert_int_equal(json_integer_value(json_object_get(sm, "synthetic")), 18);
    json_decref(out);
    json_decref(in);
}

static void test_errors(void **st)
{
    (void)st;
    json_t *real = records(pos, 3, "positive", json_array());
    json_t *syn = records(neg, 2, "neutral", json_array());
    json_t *in = json_pack("{s:O, s:o}", "items", real, "synthetic", syn);
    json_t *out = NULL;
    assay_error err;
    assert_int_equal(assay_testkit_run(load(), "{}", in, &out, &err),
                     ASSAY_EDATA);
    assert_non_null(strstr(err.text, "synthetic record 0: field 'label'"));
    json_decref(in);
    in = json_pack("{s:o}", "items", real);
    assert_int_equal(assay_testkit_run(load(), "{}", in, &out, &err),
                     ASSAY_EINVAL);
    assert_non_null(strstr(err.text, "option llm"));
    json_decref(in);
    in = json_loads("{\"items\": [{\"text\": \"x\"}]}", 0, NULL);
    assert_int_equal(
        assay_testkit_run(load(), "{\"llm\": \"x\"}", in, &out, &err),
        ASSAY_EDATA);
    assert_non_null(strstr(err.text, "record 0: missing field 'label'"));
    json_decref(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_align_copies_and_junk),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
