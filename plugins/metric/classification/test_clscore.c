/*
 * test_clscore.c - golden tests of the classification statistics against
 * scikit-learn 1.2.1 / scipy 1.10.1 (tests/golden/classification), within
 * 1e-9 relative; undefined cases must come out as NaN exactly where the
 * reference has null.
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

#include "clscore.h"

static json_t *golden(void)
{
    char path[4096];
    const char *src = getenv("ASSAY_SRC");
    snprintf(path, sizeof path,
             "%s/tests/golden/classification/classification.json",
             src ? src : ".");
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    if (!j)
        fail_msg("%s: %s", path, je.text);
    return j;
}

static void check(double got, const json_t *want, const char *what,
                  const char *name)
{
    if (json_is_null(want) || !want) {
        if (!isnan(got))
            fail_msg("%s %s: got %.17g want null", name, what, got);
        return;
    }
    double w = json_number_value(want);
    double tol = 1e-9 * fabs(w);
    if (tol < 1e-15)
        tol = 1e-15;
    if (!(fabs(got - w) <= tol))
        fail_msg("%s %s: got %.17g want %.17g", name, what, got, w);
}

static double *nums(const json_t *a, size_t *n)
{
    *n = json_array_size(a);
    double *v = malloc((*n + 1) * sizeof *v);
    for (size_t i = 0; i < *n; i++)
        v[i] = json_number_value(json_array_get(a, i));
    return v;
}

static bool *bools(const json_t *a)
{
    size_t n = json_array_size(a);
    bool *v = malloc((n + 1) * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = json_number_value(json_array_get(a, i)) > 0;
    return v;
}

static void test_roc_auc(void **st)
{
    (void)st;
    json_t *g = golden();
    size_t i, seen = 0;
    json_t *c;
    json_array_foreach(json_object_get(g, "cases"), i, c)
    {
        if (strcmp(json_string_value(json_object_get(c, "metric")),
                   "roc_auc") != 0)
            continue;
        const char *name = json_string_value(json_object_get(c, "name"));
        size_t n;
        double *s = nums(json_object_get(c, "y_score"), &n);
        bool *p = bools(json_object_get(c, "y_true"));
        double a1, a3;
        assert_int_equal(cl_auc(s, p, n, 1, &a1), 0);
        assert_int_equal(cl_auc(s, p, n, 3, &a3), 0);
        check(a1, json_object_get(c, "expected"), "auc", name);
        check(a3, json_object_get(c, "expected"), "auc/3", name);
        double *scr = malloc((2 * n + 1) * sizeof *scr);
        check(cl_auc_small(s, p, n, scr), json_object_get(c, "expected"),
              "auc_small", name);
        free(scr);
        free(s);
        free(p);
        seen++;
    }
    assert_int_equal(seen, 10);
    json_decref(g);
}

/* Large input through the chunked path equals the single-chunk result. */
static void test_auc_large(void **st)
{
    (void)st;
    size_t n = 300000;
    double *s = malloc(n * sizeof *s);
    bool *p = malloc(n * sizeof *p);
    uint64_t x = 7;
    for (size_t i = 0; i < n; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        p[i] = (x >> 40) % 3 == 0;
        s[i] = (double)((x >> 20) % 1000) / 10.0 + (p[i] ? 5 : 0);
        if (i % 7 == 0)
            s[i] = -0.0; /* -0 ties +0 */
        if (i % 11 == 0)
            s[i] = 0.0;
    }
    double a1, a2;
    assert_int_equal(cl_auc(s, p, n, 1, &a1), 0);
    assert_int_equal(cl_auc(s, p, n, 2, &a2), 0);
    double *scr = malloc(2 * n * sizeof *scr);
    double a0 = cl_auc_small(s, p, n, scr);
    assert_true(a1 == a0 && a2 == a0);
    assert_true(a0 > 0.5 && a0 < 1);
    free(scr);
    free(s);
    free(p);
}

static void test_group_auc(void **st)
{
    (void)st;
    json_t *g = golden();
    size_t i, seen = 0;
    json_t *c;
    json_array_foreach(json_object_get(g, "cases"), i, c)
    {
        if (strcmp(json_string_value(json_object_get(c, "metric")),
                   "group_auc") != 0)
            continue;
        const char *name = json_string_value(json_object_get(c, "name"));
        json_t *users = json_object_get(c, "users");
        size_t nu = json_array_size(users), n = 0;
        for (size_t u = 0; u < nu; u++)
            n += json_array_size(
                json_object_get(json_array_get(users, u), "y_true"));
        size_t *grp = malloc((n + 1) * sizeof *grp);
        double *s = malloc((n + 1) * sizeof *s);
        bool *p = malloc((n + 1) * sizeof *p);
        size_t w = 0;
        for (size_t u = 0; u < nu; u++) {
            json_t *us = json_array_get(users, u);
            json_t *yt = json_object_get(us, "y_true");
            json_t *ys = json_object_get(us, "y_score");
            for (size_t k = 0; k < json_array_size(yt); k++) {
                grp[w] = u;
                s[w] = json_number_value(json_array_get(ys, k));
                p[w] = json_number_value(json_array_get(yt, k)) > 0;
                w++;
            }
        }
        double *ag = malloc((nu + 1) * sizeof *ag), gauc;
        size_t *ng = malloc((nu + 1) * sizeof *ng), inc;
        assert_int_equal(cl_gauc(grp, nu, s, p, n, ag, ng, &gauc, &inc), 0);
        check(gauc, json_object_get(c, "expected"), "gauc", name);
        assert_int_equal(inc, json_integer_value(
                                  json_object_get(c, "n_users_included")));
        for (size_t u = 0; u < nu; u++) {
            json_t *us = json_array_get(users, u);
            check(ag[u], json_object_get(us, "auc"), "user auc", name);
            assert_int_equal(ng[u],
                             json_integer_value(json_object_get(us, "n")));
        }
        free(grp);
        free(s);
        free(p);
        free(ag);
        free(ng);
        seen++;
    }
    assert_int_equal(seen, 5);
    json_decref(g);
}

static void test_correlation(void **st)
{
    (void)st;
    json_t *g = golden();
    size_t i, seen = 0;
    json_t *c;
    json_array_foreach(json_object_get(g, "cases"), i, c)
    {
        if (strcmp(json_string_value(json_object_get(c, "metric")),
                   "correlation") != 0)
            continue;
        const char *name = json_string_value(json_object_get(c, "name"));
        size_t n, m;
        double *x = nums(json_object_get(c, "x"), &n);
        double *y = nums(json_object_get(c, "y"), &m);
        assert_int_equal(n, m);
        double *d = malloc((4 * n + 1) * sizeof *d);
        size_t *ix = malloc((3 * n + 1) * sizeof *ix);
        check(cl_pearson(x, y, n),
              json_object_get(json_object_get(c, "pearson"), "statistic"),
              "pearson", name);
        check(cl_spearman(x, y, n, d, ix),
              json_object_get(json_object_get(c, "spearman"), "statistic"),
              "spearman", name);
        check(cl_kendall_b(x, y, n, d, ix),
              json_object_get(json_object_get(c, "kendall_tau_b"),
                              "statistic"),
              "kendall", name);
        free(x);
        free(y);
        free(d);
        free(ix);
        seen++;
    }
    assert_int_equal(seen, 11);
    json_decref(g);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void test_kappa(void **st)
{
    (void)st;
    json_t *g = golden();
    size_t i, seen = 0;
    json_t *c;
    json_array_foreach(json_object_get(g, "cases"), i, c)
    {
        if (strcmp(json_string_value(json_object_get(c, "metric")),
                   "cohen_kappa") != 0)
            continue;
        const char *name = json_string_value(json_object_get(c, "name"));
        size_t n, m;
        double *a = nums(json_object_get(c, "rater1"), &n);
        double *b = nums(json_object_get(c, "rater2"), &m);
        /* sorted label union */
        double *lab = malloc((2 * n + 1) * sizeof *lab);
        memcpy(lab, a, n * sizeof *lab);
        memcpy(lab + n, b, n * sizeof *lab);
        qsort(lab, 2 * n, sizeof *lab, cmp_d);
        size_t L = 0;
        for (size_t k = 0; k < 2 * n; k++)
            if (L == 0 || lab[L - 1] != lab[k])
                lab[L++] = lab[k];
        double *conf = calloc(L * L + 1, sizeof *conf);
        for (size_t k = 0; k < n; k++) {
            size_t ia = 0, ib = 0;
            while (lab[ia] != a[k])
                ia++;
            while (lab[ib] != b[k])
                ib++;
            conf[ia * L + ib] += 1;
        }
        const char *wn = json_string_value(json_object_get(c, "weights"));
        cl_weights w = !wn                         ? CL_W_NONE
                       : strcmp(wn, "linear") == 0 ? CL_W_LINEAR
                                                   : CL_W_QUADRATIC;
        check(cl_kappa_conf(conf, L, w), json_object_get(c, "expected"),
              "kappa", name);
        free(a);
        free(b);
        free(lab);
        free(conf);
        seen++;
    }
    assert_int_equal(seen, 10);
    json_decref(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roc_auc),     cmocka_unit_test(test_auc_large),
        cmocka_unit_test(test_group_auc),   cmocka_unit_test(test_correlation),
        cmocka_unit_test(test_kappa),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
