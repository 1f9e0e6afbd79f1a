/*
 * test_mmd_plugin.c - metric.mmd through the real host: the golden MMD
 * cases as records (with weights), one as tables, the median heuristic
 * and malformed input.
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
static json_t *gold;

static int setup(void **st)
{
    (void)st;
    assay_error err = {0};
    plug = assay_testkit_load(getenv("PLUGIN"), "metric.mmd", &err);
    if (!plug)
        fail_msg("load: %s", err.text);
    char path[4096];
    const char *src = getenv("ASSAY_SRC");
    snprintf(path, sizeof path, "%s/tests/golden/mmd_gp/mmd.json",
             src ? src : ".");
    json_error_t je;
    gold = json_load_file(path, 0, &je);
    if (!gold)
        fail_msg("%s: %s", path, je.text);
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    json_decref(gold);
    return 0;
}

static void close_to(const json_t *got, const json_t *want, const char *what,
                     const char *name)
{
    if (!want || json_is_null(want)) {
        if (!json_is_null(got))
            fail_msg("%s %s: want null", name, what);
        return;
    }
    double g = json_number_value(got), w = json_number_value(want);
    double tol = 1e-9 * fabs(w);
    if (tol < 1e-14)
        tol = 1e-14;
    if (!json_is_number(got) || !(fabs(g - w) <= tol))
        fail_msg("%s %s: got %.17g want %.17g", name, what, g, w);
}

static json_t *points(const json_t *rows, const json_t *weights)
{
    json_t *r = json_array();
    for (size_t i = 0; i < json_array_size(rows); i++) {
        json_t *o = json_pack("{sO}", "embedding", json_array_get(rows, i));
        if (weights)
            json_object_set(o, "w", json_array_get(weights, i));
        json_array_append_new(r, o);
    }
    return r;
}

static void test_golden(void **st)
{
    (void)st;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(gold, "cases"), i, c)
    {
        const char *name = json_string_value(json_object_get(c, "name"));
        json_t *wj = json_object_get(c, "weights_on_Y");
        bool weighted = json_is_array(wj);
        json_t *in = json_pack("{soso}", "real",
                               points(json_object_get(c, "X_real"), NULL),
                               "synthetic",
                               points(json_object_get(c, "Y_synthetic"),
                                      weighted ? wj : NULL));
        char opts[128];
        snprintf(opts, sizeof opts, "{\"sigma\": %.17g%s}",
                 json_number_value(json_object_get(c, "sigma")),
                 weighted ? ", \"weight_field\": \"w\"" : "");
        json_t *out = NULL;
        assay_error err = {0};
        if (assay_testkit_run(plug, opts, in, &out, &err))
            fail_msg("%s: %s", name, err.text);
        json_t *s = json_object_get(out, "summary");
        close_to(json_object_get(s, "mmd2_biased"),
                 json_object_get(c, "mmd2_biased"), "biased", name);
        close_to(json_object_get(s, "mmd2_unbiased"),
                 json_object_get(c, "mmd2_unbiased"), "unbiased", name);
        if (weighted)
            close_to(json_object_get(s, "mmd2_weighted_biased"),
                     json_object_get(c, "mmd2_weighted_biased"), "weighted",
                     name);
        else
            assert_null(json_object_get(s, "mmd2_weighted_biased"));
        assert_string_equal(
            json_string_value(json_object_get(s, "sigma_source")), "given");
        json_decref(out);
        json_decref(in);
    }
}

static assay_table *table_of(const json_t *rows)
{
    size_t n = json_array_size(rows);
    size_t d = json_array_size(json_array_get(rows, 0));
    assay_table *t = assay_testkit_table_new(n);
    assay_testkit_table_add_col(t, "label", ASSAY_COL_STRING);
    for (size_t k = 0; k < d; k++) {
        char name[16];
        snprintf(name, sizeof name, "x%zu", k);
        assay_testkit_table_add_col(t, name, ASSAY_COL_FLOAT64);
    }
    for (size_t r = 0; r < n; r++) {
        assay_testkit_table_set_str(t, 0, r, "a", 1);
        for (size_t k = 0; k < d; k++)
            ((double *)t->cols[k + 1].data)[r] = json_number_value(
                json_array_get(json_array_get(rows, r), k));
    }
    return t;
}

static void test_tables_and_median(void **st)
{
    (void)st;
    json_t *c = json_array_get(json_object_get(gold, "cases"), 2);
    assay_table *x = table_of(json_object_get(c, "X_real"));
    assay_table *y = table_of(json_object_get(c, "Y_synthetic"));
    assay_testkit_tables tin = {.n = 2, .ports = {"real", "synthetic"},
                                .tables = {x, y}};
    char opts[64];
    snprintf(opts, sizeof opts, "{\"sigma\": %.17g}",
             json_number_value(json_object_get(c, "sigma")));
    json_t *out = NULL;
    assay_error err = {0};
    if (assay_testkit_run_tables(plug, opts, NULL, &tin, &out, NULL, &err))
        fail_msg("%s", err.text);
    json_t *s = json_object_get(out, "summary");
    close_to(json_object_get(s, "mmd2_biased"),
             json_object_get(c, "mmd2_biased"), "biased", "table");
    assert_int_equal(json_integer_value(json_object_get(s, "dim")), 5);
    json_decref(out);
    assay_testkit_table_free(x);
    assay_testkit_table_free(y);

    /* median heuristic: 1-D points 0, 1 | 3, 6 -> distances 1 3 6 2 5 3 */
    json_t *in = json_loads("{\"real\": [{\"embedding\": [0]}, "
                            "{\"embedding\": [1]}], \"synthetic\": "
                            "[{\"embedding\": [3]}, {\"embedding\": [6]}]}",
                            0, NULL);
    if (assay_testkit_run(plug, NULL, in, &out, &err))
        fail_msg("%s", err.text);
    s = json_object_get(out, "summary");
    assert_true(json_number_value(json_object_get(s, "sigma")) == 3.0);
    assert_string_equal(json_string_value(json_object_get(s, "sigma_source")),
                        "median");
    json_decref(out);
    json_decref(in);
}

static void expect_error(const char *opts, const char *txt, const char *n1,
                         const char *n2)
{
    json_t *in = json_loads(txt, 0, NULL);
    assert_non_null(in);
    json_t *out = NULL;
    assay_error err = {0};
    assert_int_not_equal(assay_testkit_run(plug, opts, in, &out, &err), 0);
    if (!strstr(err.text, n1) || (n2 && !strstr(err.text, n2)))
        fail_msg("error '%s' lacks '%s'/'%s'", err.text, n1, n2 ? n2 : "");
    json_decref(in);
}

static void test_malformed(void **st)
{
    (void)st;
    expect_error(NULL,
                 "{\"real\": [{\"embedding\": [0, 1]}], \"synthetic\": "
                 "[{\"embedding\": [1]}]}",
                 "record 0", "'embedding'");
    expect_error(NULL,
                 "{\"real\": [{\"embedding\": [0]}], \"synthetic\": "
                 "[{\"vec\": [1]}]}",
                 "synthetic", "'embedding'");
    expect_error(NULL,
                 "{\"real\": [{\"embedding\": [0]}], \"synthetic\": "
                 "[{\"embedding\": [\"a\"]}]}",
                 "record 0", "element 0");
    expect_error("{\"weight_field\": \"w\"}",
                 "{\"real\": [{\"embedding\": [0]}], \"synthetic\": "
                 "[{\"embedding\": [1], \"w\": -1}]}",
                 "record 0", "negative");
    expect_error(NULL, "{\"real\": [], \"synthetic\": []}", "at least one",
                 NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_tables_and_median),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
