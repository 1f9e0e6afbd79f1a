/*
 * test_sampler.c - SynAlign's exploration-aware sampler: the GP
 * posterior it uses matches the golden values (tests/golden/mmd_gp/
 * gp.json: mean and latent variance), and on separable 2-D data the
 * sampler picks one point per cluster before it returns to any cluster.
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

#include "kernel.h"
#include "sa_sampler.h"

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

static void close_to(double got, double want, const char *what)
{
    if (fabs(got - want) > 1e-9 + 1e-7 * fabs(want))
        fail_msg("%s: %.17g, golden %.17g", what, got, want);
}

static void test_gp_golden(void **st)
{
    (void)st;
    const char *src = getenv("ASSAY_SRC");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/golden/mmd_gp/gp.json",
             src ? src : ".");
    json_error_t je;
    json_t *doc = json_load_file(path, 0, &je);
    if (!doc)
        fail_msg("%s: %s", path, je.text);
    size_t i, iso = 0;
    json_t *c;
    json_array_foreach(json_object_get(doc, "cases"), i, c)
    {
        const char *name = json_string_value(json_object_get(c, "name"));
        size_t n, m, d, d2;
        double *X = rows(json_object_get(c, "X_train"), &n, &d);
        double *Xs = rows(json_object_get(c, "X_test"), &m, &d2);
        double s2 = json_number_value(json_object_get(c, "signal_variance"));
        double sn2 = json_number_value(json_object_get(c, "noise_variance"));
        json_t *lj = json_object_get(c, "lengthscale");
        double *y = malloc(n * sizeof *y), *mean = malloc(m * sizeof *mean);
        double *var = malloc(m * sizeof *var), ls[8];
        size_t nls = json_is_array(lj) ? json_array_size(lj) : 1;
        for (size_t k = 0; k < nls; k++)
            ls[k] = json_is_array(lj) ? json_number_value(json_array_get(lj, k))
                                      : json_number_value(lj);
        for (size_t k = 0; k < n; k++)
            y[k] = json_number_value(
                json_array_get(json_object_get(c, "y_train"), k));
        assert_int_equal(mk_gp_posterior(X, n, d, y, Xs, m, s2, ls, nls, sn2,
                                         mean, NULL, var, NULL),
                         0);
        for (size_t a = 0; a < m; a++) {
            close_to(mean[a],
                     json_number_value(
                         json_array_get(json_object_get(c, "mean"), a)),
                     name);
            close_to(var[a],
                     json_number_value(
                         json_array_get(json_object_get(c, "var_f"), a)),
                     name);
        }
        /* the sampler's variance (zero targets) is the same var_f */
        if (nls == 1) {
            assay_error err;
            double *v2 = malloc(m * sizeof *v2);
            assert_int_equal(
                sa_gp_var(X, n, Xs, m, d, s2, ls[0], sn2, v2, &err), 0);
            for (size_t a = 0; a < m; a++)
                close_to(v2[a],
                         json_number_value(
                             json_array_get(json_object_get(c, "var_f"), a)),
                         name);
            free(v2);
            iso++;
        }
        free(X);
        free(Xs);
        free(y);
        free(mean);
        free(var);
    }
    assert_true(iso >= 5);
    json_decref(doc);
}

/* Four separated blobs of 25 points: the first four picks land in four
 * different blobs, whatever the seed and whichever point starts. */
static void test_separable(void **st)
{
    (void)st;
    enum { NB = 4, PER = 25, N = NB * PER };
    static const double cx[NB] = {0, 10, 0, 10}, cy[NB] = {0, 0, 10, 10};
    double E[N * 2];
    assay_rng r;
    assay_rng_init(&r, 3);
    for (size_t i = 0; i < N; i++) {
        E[2 * i] = cx[i % NB] + 0.6 * assay_rng_normal(&r);
        E[2 * i + 1] = cy[i % NB] + 0.6 * assay_rng_normal(&r);
    }
    for (uint64_t seed = 1; seed <= 20; seed++) {
        size_t picks[8], cl[16];
        bool fb[8];
        assay_error err;
        sa_opts o = {
            .rounds = 8, .k = 2, .lengthscale = 0, .noise = 1e-6, .seed = seed};
        assert_int_equal(sa_sample(E, N, 2, &o, picks, cl, fb, &err), 0);
        bool seen[NB] = {false};
        for (int p = 0; p < NB; p++) {
            size_t blob = picks[p] % NB;
            if (seen[blob])
                fail_msg("seed %llu: pick %d returns to blob %zu",
                         (unsigned long long)seed, p, blob);
            seen[blob] = true;
        }
        /* clusters: the pick first, then its nearest neighbour (same
         * blob), no point twice */
        bool used[N] = {false};
        for (int p = 0; p < 8; p++) {
            assert_int_equal(cl[2 * p], picks[p]);
            assert_int_equal(cl[2 * p + 1] % NB, picks[p] % NB);
            for (int j = 0; j < 2; j++) {
                assert_false(used[cl[2 * p + j]]);
                used[cl[2 * p + j]] = true;
            }
            assert_false(fb[p]);
        }
    }
    /* more rounds than points: the rest fall back to random picks */
    size_t picks[5], cl[10];
    bool fb[5];
    assay_error err;
    sa_opts o = {.rounds = 5, .k = 2, .noise = 1e-6, .seed = 9};
    assert_int_equal(sa_sample(E, 5, 2, &o, picks, cl, fb, &err), 0);
    assert_false(fb[0] || fb[1] || fb[2]);
    assert_true(cl[2 * 2 + 1] == SIZE_MAX); /* third cluster cut short */
    assert_true(fb[3] && fb[4]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gp_golden),
        cmocka_unit_test(test_separable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
