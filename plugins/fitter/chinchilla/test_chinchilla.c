/*
 * test_chinchilla.c - fitter.chinchilla through the real host on the
 * golden noiseless data set (generating parameters recovered) and the
 * compute-optimal allocation formula.
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

static json_t *dataset(const char *name)
{
    char path[1024];
    const char *src = getenv("ASSAY_SRC");
    snprintf(path, sizeof path, "%s/tests/golden/nls/nls.json",
             src ? src : ".");
    json_t *g = json_load_file(path, 0, NULL);
    assert_non_null(g);
    size_t i;
    json_t *ds, *hit = NULL;
    json_array_foreach(json_object_get(g, "chinchilla"), i, ds)
    {
        if (strcmp(json_string_value(json_object_get(ds, "name")), name) == 0)
            hit = json_incref(ds);
    }
    json_decref(g);
    assert_non_null(hit);
    return hit;
}

static json_t *rows_of(const json_t *ds)
{
    const json_t *d = json_object_get(ds, "data");
    json_t *rows = json_array();
    for (size_t i = 0; i < json_array_size(json_object_get(d, "N")); i++) {
        json_t *r = json_object();
        json_object_set(r, "N", json_array_get(json_object_get(d, "N"), i));
        json_object_set(r, "D", json_array_get(json_object_get(d, "D"), i));
        json_object_set(r, "loss", json_array_get(json_object_get(d, "L"), i));
        json_array_append_new(rows, r);
    }
    json_t *in = json_object();
    json_object_set_new(in, "data", rows);
    return in;
}

static double num(const json_t *o, const char *a, const char *b)
{
    return json_number_value(json_object_get(json_object_get(o, a), b));
}

static void test_noiseless(void **state)
{
    (void)state;
    assay_error err = {0};
    const assay_plugin *p =
        assay_testkit_load(getenv("PLUGIN"), "fitter.chinchilla", &err);
    if (!p)
        fail_msg("%s", err.text);
    json_t *ds = dataset("noiseless"), *in = rows_of(ds), *out = NULL;
    int rc = assay_testkit_run(p,
                               "{\"bootstrap\": 8, \"compute\": [1e21, "
                               "1e24], \"extrapolate_by\": \"N\"}",
                               in, &out, &err);
    if (rc)
        fail_msg("%s", err.text);
    json_t *pr = json_object_get(out, "params");
    json_t *lp = json_object_get(pr, "law_params");
    const json_t *gen = json_object_get(ds, "generating");
    static const char *const names[] = {"A", "B", "E"};
    for (int q = 0; q < 3; q++) {
        double want = json_number_value(json_object_get(gen, names[q]));
        double got = num(lp, names[q], "value");
        assert_true(fabs(got - want) < 1e-4 * want);
    }
    double al = json_number_value(json_object_get(lp, "alpha"));
    double be = json_number_value(json_object_get(lp, "beta"));
    assert_true(fabs(al - 0.3) < 1e-4 && fabs(be - 0.33) < 1e-4);
    double obj = json_number_value(json_object_get(pr, "objective"));
    double sc = num(ds, "fit", "objective");
    assert_true(obj <= sc * (1 + 1e-6));
    assert_int_equal(json_integer_value(json_object_get(pr, "n_starts")), 4500);
    /* N_opt = G (C/6)^(beta/(alpha+beta)), D_opt = C / (6 N_opt) */
    double A = num(lp, "A", "value"), B = num(lp, "B", "value");
    double G = pow(al * A / (be * B), 1 / (al + be));
    json_t *b1 = json_array_get(
        json_object_get(json_object_get(pr, "compute_optimal"), "budgets"), 1);
    double C = 1e24, n = G * pow(C / 6, be / (al + be));
    assert_true(fabs(json_number_value(json_object_get(b1, "N_opt")) - n) <
                1e-9 * n);
    assert_true(fabs(json_number_value(json_object_get(b1, "D_opt")) -
                     C / (6 * n)) < 1e-9 * C / n);
    json_t *ex = json_object_get(json_object_get(pr, "fit"), "extrapolation");
    assert_true(json_number_value(json_object_get(ex, "mape")) < 1e-4);
    assert_non_null(strstr(json_string_value(json_object_get(pr, "fitted_law")),
                           "L(N, D) = 1.5"));
    json_decref(out);
    json_decref(in);
    json_decref(ds);
}

/* drop_largest removes the points with the largest losses first; record
 * numbers in data errors still refer to the input rows. */
static void test_drop_and_errors(void **state)
{
    (void)state;
    assay_error err = {0};
    const assay_plugin *p =
        assay_testkit_load(getenv("PLUGIN"), "fitter.chinchilla", &err);
    json_t *ds = dataset("noiseless"), *in = rows_of(ds), *out = NULL;
    int rc = assay_testkit_run(p,
                               "{\"bootstrap\": 0, \"drop_largest\": 5, "
                               "\"init\": {\"a\": [5], \"b\": [5]}}",
                               in, &out, &err);
    if (rc)
        fail_msg("%s", err.text);
    json_t *pr = json_object_get(out, "params");
    assert_int_equal(json_integer_value(json_object_get(pr, "n_points")), 35);
    assert_int_equal(json_integer_value(json_object_get(pr, "n_starts")), 125);
    json_decref(out);
    json_object_set_new(json_array_get(json_object_get(in, "data"), 9), "N",
                        json_real(-1));
    rc = assay_testkit_run(p, "{\"bootstrap\": 0, \"drop_largest\": 5}", in,
                           &out, &err);
    assert_int_equal(rc, ASSAY_EDATA);
    assert_non_null(strstr(err.text, "record 9"));
    json_decref(in);
    json_decref(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_noiseless),
        cmocka_unit_test(test_drop_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
