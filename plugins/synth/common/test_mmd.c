/*
 * test_mmd.c - the MMD weight learner: weighted MMD^2 against the golden
 * values (tests/golden/mmd_gp/mmd.json), mass on in-distribution copies
 * when the synthetic set mixes copies of the real set with junk, a known
 * interior optimum, the optimality conditions, and independence from the
 * thread count.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <assay/rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "syn_mmd.h"

static double *rows(const json_t *a, size_t *n, size_t *d)
{
    *n = json_array_size(a);
    *d = json_array_size(json_array_get(a, 0));
    double *x = malloc((*n * *d + 1) * sizeof *x);
    for (size_t i = 0; i < *n; i++)
        for (size_t k = 0; k < *d; k++)
            x[i * *d + k] =
                json_number_value(json_array_get(json_array_get(a, i), k));
    return x;
}

static void test_golden(void **st)
{
    (void)st;
    const char *src = getenv("ASSAY_SRC");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/golden/mmd_gp/mmd.json",
             src ? src : ".");
    json_error_t je;
    json_t *doc = json_load_file(path, 0, &je);
    if (!doc)
        fail_msg("%s: %s", path, je.text);
    json_t *cases = json_object_get(doc, "cases"), *c;
    size_t i, checked = 0, weighted = 0;
    json_array_foreach(cases, i, c)
    {
        size_t n, m, d, d2;
        double *X = rows(json_object_get(c, "X_real"), &n, &d);
        double *Y = rows(json_object_get(c, "Y_synthetic"), &m, &d2);
        assert_int_equal(d, d2);
        double sigma = json_number_value(json_object_get(c, "sigma"));
        json_t *wj = json_object_get(c, "weights_on_Y");
        double *w = NULL, want;
        if (json_is_array(wj)) {
            w = malloc(m * sizeof *w);
            for (size_t a = 0; a < m; a++)
                w[a] = json_number_value(json_array_get(wj, a));
            want =
                json_number_value(json_object_get(c, "mmd2_weighted_biased"));
            weighted++;
        } else {
            want = json_number_value(json_object_get(c, "mmd2_biased"));
        }
        for (unsigned t = 1; t <= 3; t += 2) {
            double got;
            assay_error err;
            assert_int_equal(
                syn_mmd_weighted(X, n, Y, m, d, sigma, w, t, &got, &err), 0);
            if (fabs(got - want) > 1e-10 + 1e-9 * fabs(want))
                fail_msg("%s (%u threads): %.17g, golden %.17g",
                         json_string_value(json_object_get(c, "name")), t, got,
                         want);
        }
        checked++;
        free(X);
        free(Y);
        free(w);
    }
    assert_true(checked >= 8);
    assert_true(weighted >= 3);
    json_decref(doc);
}

/* n real points in d dims from two Gaussian blobs. */
static double *blobs(assay_rng *r, size_t n, size_t d, double shift)
{
    double *x = malloc(n * d * sizeof *x);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < d; k++)
            x[i * d + k] = 0.3 * assay_rng_normal(r) +
                           (i % 2 ? 1.0 : -1.0) * (k == 0) + shift;
    return x;
}

static void test_copies_and_junk(void **st)
{
    (void)st;
    assay_rng r;
    assay_rng_init(&r, 11);
    size_t n = 80, d = 6, m = 3 * n;
    double *X = blobs(&r, n, d, 0.0);
    double *Y = malloc(m * d * sizeof *Y);
    /* copies of the real points, jittered copies, and junk far away */
    memcpy(Y, X, n * d * sizeof *Y);
    for (size_t i = 0; i < n * d; i++)
        Y[n * d + i] = X[i] + 0.01 * assay_rng_normal(&r);
    double *J = blobs(&r, n, d, 4.0);
    memcpy(Y + 2 * n * d, J, n * d * sizeof *Y);
    free(J);
    double *w = malloc(m * sizeof *w);
    syn_mmd_opts o = {
        .sigma = 1.0, .threads = 2, .max_iter = 20000, .tol = 1e-4};
    syn_mmd_result res;
    assay_error err;
    assert_int_equal(syn_mmd_learn(X, n, Y, m, d, &o, w, &res, &err), 0);
    double junk = 0, sum = 0;
    for (size_t a = 0; a < m; a++) {
        assert_true(w[a] >= 0);
        sum += w[a];
        if (a >= 2 * n)
            junk += w[a];
    }
    assert_true(fabs(sum - 1.0) < 1e-12);
    if (junk > 1e-3)
        fail_msg("junk keeps %.3g of the mass", junk);
    printf("# before %.6g after %.3g gap %.3g it %zu junk %.3g\n",
           res.mmd2_before, res.mmd2_after, res.gap, res.iterations, junk);
    assert_true(res.mmd2_before > 0.02);
    assert_true(res.mmd2_after < 2e-4 * res.mmd2_before);
    assert_true(res.converged);
    /* the reported value is the weighted MMD^2 at the weights */
    double check;
    assert_int_equal(syn_mmd_weighted(X, n, Y, m, d, 1.0, w, 1, &check, &err),
                     0);
    assert_true(fabs(check - res.mmd2_after) < 1e-12);
    printf("# copies+junk: before %.4g after %.3g, %zu steps, support %zu, "
           "junk mass %.2g\n",
           res.mmd2_before, res.mmd2_after, res.iterations, res.support, junk);
    free(X);
    free(Y);
    free(w);
}

/* X = {0}, Y = {-1, 1, 3}: symmetric optimum w = (1/2, 1/2, 0). */
static void test_interior_optimum(void **st)
{
    (void)st;
    double X[] = {0.0}, Y[] = {-1.0, 1.0, 3.0}, w[3];
    syn_mmd_opts o = {
        .sigma = 1.0, .threads = 1, .max_iter = 1000, .tol = 1e-12};
    syn_mmd_result res;
    assay_error err;
    assert_int_equal(syn_mmd_learn(X, 1, Y, 3, 1, &o, w, &res, &err), 0);
    assert_true(fabs(w[0] - 0.5) < 1e-6);
    assert_true(fabs(w[1] - 0.5) < 1e-6);
    assert_true(w[2] < 1e-9);
    /* f = 1 + (1 + e^-2)/2 - 2 e^-1/2 */
    double f = 1.0 + 0.5 * (1.0 + exp(-2.0)) - 2.0 * exp(-0.5);
    assert_true(fabs(res.mmd2_after - f) < 1e-9);
}

/* On random data the result satisfies the optimality conditions: the
 * gradient is (nearly) equal on the support and not smaller elsewhere;
 * the weights do not depend on the thread count. */
static void test_kkt_and_threads(void **st)
{
    (void)st;
    assay_rng r;
    assay_rng_init(&r, 5);
    size_t n = 150, m = 400, d = 5;
    double *X = blobs(&r, n, d, 0.0), *Y = blobs(&r, m, d, 0.4);
    for (size_t i = 0; i < m * d; i++)
        Y[i] *= 1.3;
    double *w1 = malloc(m * sizeof *w1), *w3 = malloc(m * sizeof *w3);
    syn_mmd_opts o = {
        .sigma = 1.2, .threads = 1, .max_iter = 50000, .tol = 1e-9};
    syn_mmd_result r1, r3;
    assay_error err;
    assert_int_equal(syn_mmd_learn(X, n, Y, m, d, &o, w1, &r1, &err), 0);
    o.threads = 3;
    assert_int_equal(syn_mmd_learn(X, n, Y, m, d, &o, w3, &r3, &err), 0);
    assert_memory_equal(w1, w3, m * sizeof *w1);
    assert_true(r1.mmd2_after == r3.mmd2_after);
    assert_true(r1.mmd2_after < 0.5 * r1.mmd2_before);
    assert_true(r1.gap <= 1e-9 * r1.mmd2_before || !r1.converged);
    assert_true(r1.converged);
    /* gradient g_a = 2 (sum_b w_b k(y_a, y_b) - mean_j k(y_a, x_j)) */
    double g2 = 1.0 / (2.0 * 1.2 * 1.2), gmin = INFINITY, gsup = -INFINITY;
    for (size_t a = 0; a < m; a++) {
        double kw = 0, kb = 0;
        for (size_t b = 0; b < m; b++) {
            double s = 0;
            for (size_t k = 0; k < d; k++)
                s += (Y[a * d + k] - Y[b * d + k]) *
                     (Y[a * d + k] - Y[b * d + k]);
            kw += w1[b] * exp(-s * g2);
        }
        for (size_t j = 0; j < n; j++) {
            double s = 0;
            for (size_t k = 0; k < d; k++)
                s += (Y[a * d + k] - X[j * d + k]) *
                     (Y[a * d + k] - X[j * d + k]);
            kb += exp(-s * g2) / (double)n;
        }
        double g = 2.0 * (kw - kb);
        if (g < gmin)
            gmin = g;
        if (w1[a] > 0 && g > gsup)
            gsup = g;
    }
    /* sum_a w_a (g_a - gmin) <= gap: every support point within a
     * small multiple of the tolerance of the minimum */
    assert_true(gsup - gmin < 1e-4);
    free(X);
    free(Y);
    free(w1);
    free(w3);
}

static void test_errors(void **st)
{
    (void)st;
    double X[] = {0.0}, Y[] = {1.0}, w[1];
    syn_mmd_opts o = {.sigma = 0.0, .threads = 1, .max_iter = 10};
    syn_mmd_result res;
    assay_error err;
    assert_int_equal(syn_mmd_learn(X, 1, Y, 1, 1, &o, w, &res, &err),
                     ASSAY_EINVAL);
    double f;
    assert_int_equal(syn_mmd_weighted(X, 1, Y, 1, 1, -1.0, NULL, 1, &f, &err),
                     ASSAY_EINVAL);
    o.sigma = 1.0;
    assert_int_equal(syn_mmd_learn(X, 1, Y, 1, 1, &o, w, &res, &err), 0);
    assert_true(w[0] == 1.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_copies_and_junk),
        cmocka_unit_test(test_interior_optimum),
        cmocka_unit_test(test_kkt_and_threads),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
