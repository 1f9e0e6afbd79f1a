/*
 * test_classification_plugin.c - metric.classification through the real
 * host: every golden case as records (1e-9 relative, null where the
 * reference is undefined), automatic metric choice, the seeded bootstrap
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
    plug = assay_testkit_load(getenv("PLUGIN"), "metric.classification",
                              &err);
    if (!plug)
        fail_msg("load: %s", err.text);
    char path[4096];
    const char *src = getenv("ASSAY_SRC");
    snprintf(path, sizeof path,
             "%s/tests/golden/classification/classification.json",
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

static void check(const json_t *got, const json_t *want, const char *what,
                  const char *name)
{
    if (!want || json_is_null(want)) {
        if (!json_is_null(got))
            fail_msg("%s %s: got non-null, want null", name, what);
        return;
    }
    if (!json_is_number(got))
        fail_msg("%s %s: got no number", name, what);
    double g = json_number_value(got), w = json_number_value(want);
    double tol = fabs(w) * 1e-9;
    if (tol < 1e-15)
        tol = 1e-15;
    if (!(fabs(g - w) <= tol))
        fail_msg("%s %s: got %.17g want %.17g", name, what, g, w);
}

/* Records {f1: a[i], f2: b[i]} (and group when g is given). */
static json_t *zip(const char *f1, const json_t *a, const char *f2,
                   const json_t *b)
{
    json_t *r = json_array();
    for (size_t i = 0; i < json_array_size(a); i++)
        json_array_append_new(r, json_pack("{sOsO}", f1, json_array_get(a, i),
                                           f2, json_array_get(b, i)));
    return r;
}

static json_t *run_ok(const char *opts, json_t *items)
{
    json_t *in = json_pack("{sO}", "items", items);
    json_t *out = NULL;
    assay_error err = {0};
    if (assay_testkit_run(plug, opts, in, &out, &err))
        fail_msg("run: %s", err.text);
    json_decref(in);
    return out;
}

static void test_golden_cases(void **st)
{
    (void)st;
    size_t i, seen = 0;
    json_t *c;
    json_array_foreach(json_object_get(gold, "cases"), i, c)
    {
        const char *metric = json_string_value(json_object_get(c, "metric"));
        const char *name = json_string_value(json_object_get(c, "name"));
        json_t *items = NULL, *out = NULL, *sum;
        if (strcmp(metric, "roc_auc") == 0) {
            items = zip("label", json_object_get(c, "y_true"), "score",
                        json_object_get(c, "y_score"));
            out = run_ok("{\"metrics\": [\"auc\"]}", items);
            sum = json_object_get(out, "summary");
            check(json_object_get(sum, "auc"), json_object_get(c, "expected"),
                  "auc", name);
        } else if (strcmp(metric, "group_auc") == 0) {
            items = json_array();
            size_t u;
            json_t *us;
            json_array_foreach(json_object_get(c, "users"), u, us)
            {
                json_t *yt = json_object_get(us, "y_true");
                json_t *ys = json_object_get(us, "y_score");
                for (size_t k = 0; k < json_array_size(yt); k++)
                    json_array_append_new(
                        items, json_pack("{sIsOsO}", "user", (json_int_t)u,
                                         "label", json_array_get(yt, k),
                                         "score", json_array_get(ys, k)));
            }
            out = run_ok("{\"metrics\": [\"gauc\"]}", items);
            sum = json_object_get(out, "summary");
            check(json_object_get(sum, "gauc"),
                  json_object_get(c, "expected"), "gauc", name);
            assert_int_equal(
                json_integer_value(json_object_get(sum, "gauc_groups")),
                json_integer_value(json_object_get(c, "n_users_included")));
            json_t *rows = json_object_get(out, "items");
            assert_int_equal(json_array_size(rows),
                             json_array_size(json_object_get(c, "users")));
        } else if (strcmp(metric, "correlation") == 0) {
            items = zip("label", json_object_get(c, "x"), "score",
                        json_object_get(c, "y"));
            out = run_ok("{\"metrics\": [\"pearson\", \"spearman\", "
                         "\"kendall\"]}",
                         items);
            sum = json_object_get(out, "summary");
            check(json_object_get(sum, "pearson"),
                  json_object_get(json_object_get(c, "pearson"), "statistic"),
                  "pearson", name);
            check(json_object_get(sum, "spearman"),
                  json_object_get(json_object_get(c, "spearman"),
                                  "statistic"),
                  "spearman", name);
            check(json_object_get(sum, "kendall"),
                  json_object_get(json_object_get(c, "kendall_tau_b"),
                                  "statistic"),
                  "kendall", name);
        } else if (strcmp(metric, "cohen_kappa") == 0) {
            items = zip("label", json_object_get(c, "rater1"), "pred",
                        json_object_get(c, "rater2"));
            const char *w = json_string_value(json_object_get(c, "weights"));
            char opts[128];
            snprintf(opts, sizeof opts,
                     "{\"metrics\": [\"kappa\"], \"kappa_weights\": \"%s\"}",
                     w ? w : "none");
            out = run_ok(opts, items);
            sum = json_object_get(out, "summary");
            check(json_object_get(sum, "kappa"),
                  json_object_get(c, "expected"), "kappa", name);
        } else if (strcmp(metric, "accuracy") == 0) {
            items = zip("label", json_object_get(c, "y_true"), "pred",
                        json_object_get(c, "y_pred"));
            out = run_ok("{\"metrics\": [\"accuracy\"]}", items);
            sum = json_object_get(out, "summary");
            check(json_object_get(sum, "accuracy"),
                  json_object_get(c, "expected"), "accuracy", name);
        } else {
            fail_msg("unknown golden metric %s", metric);
        }
        json_decref(items);
        json_decref(out);
        seen++;
    }
    assert_int_equal(seen, 42);
}

/* String labels; automatic metrics; kappa label order by text. */
static void test_auto_and_strings(void **st)
{
    (void)st;
    json_t *items = json_loads(
        "[{\"label\": \"cat\", \"pred\": \"cat\", \"score\": 1},"
        " {\"label\": \"dog\", \"pred\": \"cat\", \"score\": 2},"
        " {\"label\": \"dog\", \"pred\": \"dog\", \"score\": 3},"
        " {\"label\": \"cow\", \"pred\": \"cow\", \"score\": 4}]",
        0, NULL);
    json_t *out = run_ok("{}", items);
    json_t *sum = json_object_get(out, "summary");
    assert_true(fabs(json_number_value(json_object_get(sum, "accuracy")) -
                     0.75) < 1e-15);
    assert_non_null(json_object_get(sum, "kappa"));
    assert_null(json_object_get(sum, "auc")); /* labels not numeric */
    json_decref(out);
    json_decref(items);

    /* numeric 0/1 truth with scores: auc (not correlations) */
    items = json_loads("[{\"label\": 1, \"score\": 0.9, \"user\": \"a\"},"
                       " {\"label\": 0, \"score\": 0.1, \"user\": \"a\"},"
                       " {\"label\": true, \"score\": 0.3, \"user\": \"b\"},"
                       " {\"label\": 0, \"score\": 0.4, \"user\": \"b\"}]",
                       0, NULL);
    out = run_ok("{}", items);
    sum = json_object_get(out, "summary");
    assert_true(fabs(json_number_value(json_object_get(sum, "auc")) - 0.75) <
                1e-15);
    assert_true(fabs(json_number_value(json_object_get(sum, "gauc")) - 0.5) <
                1e-15);
    assert_null(json_object_get(sum, "pearson"));
    json_decref(out);
    json_decref(items);
}

static void test_bootstrap(void **st)
{
    (void)st;
    json_t *c = NULL;
    size_t i;
    json_t *cc;
    json_array_foreach(json_object_get(gold, "cases"), i, cc)
    {
        if (strcmp(json_string_value(json_object_get(cc, "name")),
                   "continuous_n50") == 0)
            c = cc;
    }
    assert_non_null(c);
    json_t *items = zip("label", json_object_get(c, "x"), "score",
                        json_object_get(c, "y"));
    const char *opts = "{\"metrics\": [\"pearson\", \"kendall\"], "
                       "\"bootstrap\": 300, \"ci\": 0.9}";
    setenv("ASSAY_THREADS", "1", 1);
    json_t *a = run_ok(opts, items);
    setenv("ASSAY_THREADS", "2", 1);
    json_t *b = run_ok(opts, items);
    json_t *sa = json_object_get(a, "summary");
    json_t *sb = json_object_get(b, "summary");
    /* same seed, same interval, whatever the thread count */
    assert_true(json_equal(json_object_get(sa, "pearson_ci"),
                           json_object_get(sb, "pearson_ci")));
    double v = json_number_value(json_object_get(sa, "pearson"));
    json_t *ci = json_object_get(sa, "pearson_ci");
    double lo = json_number_value(json_array_get(ci, 0));
    double hi = json_number_value(json_array_get(ci, 1));
    assert_true(lo < v && v < hi && lo > 0.2 && hi < 0.85);
    assert_int_equal(
        json_integer_value(json_object_get(sa, "pearson_ci_resamples")), 300);
    assert_non_null(json_object_get(sa, "kendall_ci"));
    json_decref(a);
    json_decref(b);
    json_decref(items);
}

static void expect_error(const char *opts, const char *text,
                         const char *needle1, const char *needle2)
{
    json_t *items = json_loads(text, 0, NULL);
    assert_non_null(items);
    json_t *in = json_pack("{sO}", "items", items);
    json_t *out = NULL;
    assay_error err = {0};
    assert_int_not_equal(assay_testkit_run(plug, opts, in, &out, &err), 0);
    if (!strstr(err.text, needle1) || (needle2 && !strstr(err.text, needle2)))
        fail_msg("error '%s' lacks '%s'/'%s'", err.text, needle1,
                 needle2 ? needle2 : "");
    json_decref(in);
    json_decref(items);
}

static void test_malformed(void **st)
{
    (void)st;
    expect_error("{\"metrics\": [\"auc\"]}",
                 "[{\"label\": 1, \"score\": 0.5}, {\"label\": 0}]",
                 "record 1", "'score'");
    expect_error("{\"metrics\": [\"auc\"]}",
                 "[{\"label\": 1, \"score\": \"x\"}]", "record 0",
                 "expected a number");
    expect_error("{\"metrics\": [\"accuracy\"]}",
                 "[{\"label\": 1, \"pred\": null}]", "record 0", "'pred'");
    expect_error("{\"metrics\": [\"auc\"]}",
                 "[{\"label\": \"yes\", \"score\": 1}]", "'label'",
                 "numeric");
    expect_error("{\"metrics\": [\"f1\"]}", "[]", "metrics", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_cases),
        cmocka_unit_test(test_auto_and_strings),
        cmocka_unit_test(test_bootstrap),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
