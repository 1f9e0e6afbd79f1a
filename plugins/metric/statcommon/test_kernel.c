/*
 * test_kernel.c - MMD^2 and the GP posterior against tests/golden/mmd_gp
 * (1e-9 relative), and the median heuristic on a hand-checked case.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel.h"

static json_t *load(const char *name)
{
    char path[4096];
    const char *src = getenv("ASSAY_SRC");
    snprintf(path, sizeof path, "%s/tests/golden/mmd_gp/%s", src ? src : ".",
             name);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    if (!j)
        fail_msg("%s: %s", path, je.text);
    return j;
}

/* 1e-9 relative; values that are zero up to rounding get an absolute
 * floor scaled by the size of the terms they cancel from */
static void close_to(double got, const json_t *want, double scale,
                     const char *what, const char *name)
{
    if (!want || json_is_null(want)) {
        if (!isnan(got))
            fail_msg("%s %s: got %.17g want null", name, what, got);
        return;
    }
    double w = json_number_value(want);
    double tol = 1e-9 * fabs(w);
    if (tol < 1e-14 * scale)
        tol = 1e-14 * scale;
    if (!(fabs(got - w) <= tol))
        fail_msg("%s %s: got %.17g want %.17g", name, what, got, w);
}

static double *rows(const json_t *a, size_t *n, size_t *d)
{
    *n = json_array_size(a);
    *d = *n ? json_array_size(json_array_get(a, 0)) : 0;
    double *v = malloc((*n * *d + 1) * sizeof *v);
    for (size_t i = 0; i < *n; i++)
        for (size_t k = 0; k < *d; k++)
            v[i * *d + k] =
                json_number_value(json_array_get(json_array_get(a, i), k));
    return v;
}

static double *vec(const json_t *a)
{
    size_t n = json_array_size(a);
    double *v = malloc((n + 1) * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = json_number_value(json_array_get(a, i));
    return v;
}

static void test_mmd(void **st)
{
    (void)st;
    json_t *g = load("mmd.json");
    size_t i, seen = 0;
    json_t *c;
    json_array_foreach(json_object_get(g, "cases"), i, c)
    {
        const char *name = json_string_value(json_object_get(c, "name"));
        size_t n, m, d, d2;
        double *X = rows(json_object_get(c, "X_real"), &n, &d);
        double *Y = rows(json_object_get(c, "Y_synthetic"), &m, &d2);
        assert_int_equal(d, d2);
        json_t *wj = json_object_get(c, "weights_on_Y");
        double *w = json_is_array(wj) ? vec(wj) : NULL;
        double sigma = json_number_value(json_object_get(c, "sigma"));
        for (unsigned th = 1; th <= 3; th += 2) {
            mk_mmd_result r;
            assert_int_equal(mk_mmd(X, n, Y, m, d, sigma, w, th, &r), 0);
            close_to(r.kxx_mean, json_object_get(c, "kxx_mean"), 1, "kxx",
                     name);
            close_to(r.kyy_mean, json_object_get(c, "kyy_mean"), 1, "kyy",
                     name);
            close_to(r.kxy_mean, json_object_get(c, "kxy_mean"), 1, "kxy",
                     name);
            close_to(r.mmd2_biased, json_object_get(c, "mmd2_biased"), 1,
                     "biased", name);
            close_to(r.mmd2_unbiased, json_object_get(c, "mmd2_unbiased"), 1,
                     "unbiased", name);
            if (w)
                close_to(r.mmd2_weighted,
                         json_object_get(c, "mmd2_weighted_biased"), 1,
                         "weighted", name);
            else
                assert_true(isnan(r.mmd2_weighted));
        }
        free(X);
        free(Y);
        free(w);
        seen++;
    }
    assert_int_equal(seen, 9);
    json_decref(g);
}

static void test_median(void **st)
{
    (void)st;
    /* points 0, 1, 3 (1-D) and 6: distances 1 3 6 2 5 3 -> median 3 */
    double X[] = {0, 1}, Y[] = {3, 6}, med;
    assert_int_equal(mk_median_distance(X, 2, Y, 2, 1, 0, &med), 0);
    assert_true(med == 3.0);
    /* odd count: 0, 1, 3 -> 1 2 3 -> 2 */
    assert_int_equal(mk_median_distance(X, 2, Y, 1, 1, 0, &med), 0);
    assert_true(med == 2.0);
    /* identical points: 0 */
    double Z[] = {1, 1, 1, 1};
    assert_int_equal(mk_median_distance(Z, 2, Z + 2, 2, 1, 0, &med), 0);
    assert_true(med == 0.0);
}

static void test_gp(void **st)
{
    (void)st;
    json_t *g = load("gp.json");
    size_t i, seen = 0;
    json_t *c;
    json_array_foreach(json_object_get(g, "cases"), i, c)
    {
        const char *name = json_string_value(json_object_get(c, "name"));
        size_t n, m, d, d2;
        double *X = rows(json_object_get(c, "X_train"), &n, &d);
        double *Xs = rows(json_object_get(c, "X_test"), &m, &d2);
        double *y = vec(json_object_get(c, "y_train"));
        json_t *lj = json_object_get(c, "lengthscale");
        double lsv[16];
        size_t nls = 1;
        if (json_is_array(lj)) {
            nls = json_array_size(lj);
            for (size_t k = 0; k < nls; k++)
                lsv[k] = json_number_value(json_array_get(lj, k));
        } else {
            lsv[0] = json_number_value(lj);
        }
        double s2 = json_number_value(json_object_get(c, "signal_variance"));
        double sn2 = json_number_value(json_object_get(c, "noise_variance"));
        double *mean = malloc(m * sizeof *mean), *var = malloc(m * sizeof *var);
        double *cov = malloc(m * m * sizeof *cov), lml;
        assert_int_equal(mk_gp_posterior(X, n, d, y, Xs, m, s2, lsv, nls, sn2,
                                         mean, cov, var, &lml),
                         0);
        close_to(lml, json_object_get(c, "log_marginal_likelihood"), 1,
                 "lml", name);
        /* posterior values are differences of O(s2) terms */
        for (size_t a = 0; a < m; a++) {
            close_to(mean[a], json_array_get(json_object_get(c, "mean"), a),
                     1, "mean", name);
            close_to(var[a], json_array_get(json_object_get(c, "var_f"), a),
                     s2, "var_f", name);
            close_to(var[a] + sn2,
                     json_array_get(json_object_get(c, "var_y"), a), s2,
                     "var_y", name);
            for (size_t b = 0; b < m; b++)
                close_to(cov[a * m + b],
                         json_array_get(
                             json_array_get(json_object_get(c, "cov_f"), a),
                             b),
                         s2, "cov_f", name);
        }
        free(X);
        free(Xs);
        free(y);
        free(mean);
        free(var);
        free(cov);
        seen++;
    }
    assert_int_equal(seen, 6);
    json_decref(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mmd),
        cmocka_unit_test(test_median),
        cmocka_unit_test(test_gp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
