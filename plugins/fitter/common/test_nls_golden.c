/*
 * test_nls_golden.c - the fit engine against scipy's results in
 * tests/golden/nls/nls.json (see the README there for the tolerances).
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

#include "ffit.h"
#include "fstat.h"

static json_t *golden;

static int load_golden(void **state)
{
    (void)state;
    const char *src = getenv("ASSAY_SRC");
    char path[1024];
    json_error_t je;
    snprintf(path, sizeof path, "%s/tests/golden/nls/nls.json",
             src ? src : ".");
    golden = json_load_file(path, 0, &je);
    if (!golden)
        fprintf(stderr, "cannot read %s: %s\n", path, je.text);
    return golden ? 0 : -1;
}

static int free_golden(void **state)
{
    (void)state;
    json_decref(golden);
    return 0;
}

static double *arr(const json_t *a, size_t *n)
{
    *n = json_array_size(a);
    double *v = malloc((*n + 1) * sizeof *v);
    assert_non_null(v);
    for (size_t i = 0; i < *n; i++)
        v[i] = json_number_value(json_array_get(a, i));
    return v;
}

static void assert_rel(double got, double want, double tol)
{
    double rel = fabs(got - want) / fmax(fabs(want), 1e-300);
    if (!(rel <= tol))
        fail_msg("got %.17g want %.17g (rel %.3g > %.3g)", got, want, rel, tol);
}

static const char *const chin_vars[] = {"N", "D"};
static const char *const chin_params[] = {"a", "b", "e", "alpha", "beta"};

typedef struct chin {
    fexpr *e;
    fexpr_data *d;
    double *N, *D, *L, *lL;
    size_t n;
} chin;

static void chin_load(const json_t *ds, chin *c)
{
    assay_error err = {0};
    const json_t *data = json_object_get(ds, "data");
    size_t n1, n2;
    c->N = arr(json_object_get(data, "N"), &c->n);
    c->D = arr(json_object_get(data, "D"), &n1);
    c->L = arr(json_object_get(data, "L"), &n2);
    assert_int_equal(n1, c->n);
    assert_int_equal(n2, c->n);
    c->lL = malloc(c->n * sizeof *c->lL);
    for (size_t i = 0; i < c->n; i++)
        c->lL[i] = log(c->L[i]);
    assert_int_equal(fexpr_compile("log(exp(a - alpha*log(N)) + "
                                   "exp(b - beta*log(D)) + exp(e))",
                                   "law", chin_vars, 2, chin_params, 5, 0,
                                   &c->e, &err),
                     0);
    const double *cols[] = {c->N, c->D};
    assert_int_equal(fexpr_bind(c->e, cols, c->n, &c->d, &err), 0);
}

static void chin_free(chin *c)
{
    fexpr_data_free(c->d);
    fexpr_free(c->e);
    free(c->N);
    free(c->D);
    free(c->L);
    free(c->lL);
}

/* The objective at fixed parameters equals scipy's (deterministic). */
static void test_chinchilla_objective_checks(void **state)
{
    (void)state;
    size_t i;
    json_t *ds;
    json_array_foreach(json_object_get(golden, "chinchilla"), i, ds)
    {
        chin c;
        chin_load(ds, &c);
        fexpr_ws *ws = fexpr_ws_new(c.e);
        size_t j;
        json_t *chk;
        json_array_foreach(json_object_get(ds, "objective_checks"), j, chk)
        {
            size_t k;
            double *p =
                arr(json_object_get(chk, "params_a_b_e_alpha_beta"), &k);
            double want = json_number_value(json_object_get(chk, "objective"));
            double f = fexpr_objective(c.e, c.d, p, c.lL, NULL,
                                       FEXPR_LOSS_HUBER, 1e-3, NULL, ws);
            /* the noiseless optimum is ~4e-19: compare absolutely there */
            if (want < 1e-15)
                assert_true(fabs(f - want) < 1e-17);
            else
                assert_rel(f, want, 1e-12);
            free(p);
        }
        fexpr_ws_free(ws);
        chin_free(&c);
    }
}

/* The published grid (4,500 starts), or a 900-start slice of it (e = 0)
 * when `small`. */
static void chin_fit(chin *c, unsigned threads, bool small, ffit_result *r)
{
    static const double gab[] = {0, 5, 10, 15, 20, 25};
    static const double ge[] = {-1, -0.5, 0, 0.5, 1};
    static const double ge0[] = {0};
    static const double gx[] = {0, 0.5, 1, 1.5, 2};
    const double *vals[] = {gab, gab, small ? ge0 : ge, gx, gx};
    size_t len[] = {6, 6, small ? 1 : 5, 5, 5};
    ffit_grid g = {.k = 5, .vals = vals, .len = len};
    ffit_problem pb = {.law = c->e,
                       .data = c->d,
                       .y = c->lL,
                       .loss = FEXPR_LOSS_HUBER,
                       .delta = 1e-3,
                       .k = 5};
    ffit_options o;
    assay_error err = {0};
    ffit_options_default(&o, FFIT_LBFGS);
    o.screen.ftol_rel = 1e-4;
    o.threads = threads;
    assert_int_equal(ffit_grid_size(&g), small ? 900 : 4500);
    int rc = ffit_multistart(&pb, &g, &o, r, &err);
    if (rc)
        fail_msg("%s", err.text);
}

/* The 4,500-start fit reaches scipy's optimum (or lower). */
static void test_chinchilla_fit(void **state)
{
    (void)state;
    size_t i;
    json_t *ds;
    json_array_foreach(json_object_get(golden, "chinchilla"), i, ds)
    {
        chin c;
        ffit_result r;
        const json_t *fit = json_object_get(ds, "fit");
        const json_t *gen = json_object_get(ds, "generating");
        chin_load(ds, &c);
        chin_fit(&c, 2, false, &r);
        double want = json_number_value(json_object_get(fit, "objective"));
        printf("%s: objective %.17g (scipy %.17g), %.1f evaluations per "
               "start\n",
               json_string_value(json_object_get(ds, "name")), r.f, want,
               (double)r.evals / (double)r.n_starts);
        assert_true(r.f <= want * (1 + 1e-6));
        assert_int_equal(r.n_starts, 4500);
        if (json_number_value(json_object_get(gen, "noise_sigma_log")) == 0) {
            /* noiseless: the generating parameters come back */
            assert_rel(exp(r.p[0]),
                       json_number_value(json_object_get(gen, "A")), 1e-4);
            assert_rel(exp(r.p[1]),
                       json_number_value(json_object_get(gen, "B")), 1e-4);
            assert_rel(exp(r.p[2]),
                       json_number_value(json_object_get(gen, "E")), 1e-4);
            assert_rel(r.p[3], json_number_value(json_object_get(gen, "alpha")),
                       1e-4);
            assert_rel(r.p[4], json_number_value(json_object_get(gen, "beta")),
                       1e-4);
        } else {
            /* noisy: scipy's optimum region (the objective is flat along
             * A-B-alpha-beta; exponents agree to a few 1e-3) */
            const json_t *sp = json_object_get(fit, "a_b_e_alpha_beta");
            for (size_t j = 3; j < 5; j++)
                assert_true(fabs(r.p[j] - json_number_value(
                                              json_array_get(sp, j))) < 5e-3);
        }
        free(r.p);
        chin_free(&c);
    }
}

/* One thread or two: bit-identical answers. */
static void test_thread_independence(void **state)
{
    (void)state;
    chin c;
    ffit_result r1, r2;
    chin_load(json_array_get(json_object_get(golden, "chinchilla"), 1), &c);
    chin_fit(&c, 1, true, &r1);
    chin_fit(&c, 2, true, &r2);
    assert_memory_equal(r1.p, r2.p, 5 * sizeof *r1.p);
    assert_true(r1.f == r2.f);
    assert_int_equal(r1.best_start, r2.best_start);
    free(r1.p);
    free(r2.p);
    chin_free(&c);
}

/* y = a x^b + c by Levenberg-Marquardt from p0, as curve_fit. */
static void test_powerlaw(void **state)
{
    (void)state;
    size_t i;
    json_t *ds;
    static const char *const vars[] = {"x"};
    static const char *const params[] = {"a", "b", "c"};
    json_array_foreach(json_object_get(golden, "powerlaw"), i, ds)
    {
        const json_t *data = json_object_get(ds, "data");
        const json_t *fit = json_object_get(ds, "fit");
        const char *name = json_string_value(json_object_get(ds, "name"));
        size_t n, ny, k;
        double *x = arr(json_object_get(data, "x"), &n);
        double *y = arr(json_object_get(data, "y"), &ny);
        double *p = arr(json_object_get(ds, "p0"), &k);
        double *s = NULL;
        const json_t *sig = json_object_get(data, "sigma");
        if (json_is_array(sig)) {
            size_t ns;
            s = arr(sig, &ns);
            for (size_t q = 0; q < ns; q++)
                s[q] = 1 / s[q];
        }
        fexpr *e;
        fexpr_data *d;
        assay_error err = {0};
        assert_int_equal(fexpr_compile("a * x^b + c", "law", vars, 1, params, 3,
                                       0, &e, &err),
                         0);
        const double *cols[] = {x};
        assert_int_equal(fexpr_bind(e, cols, n, &d, &err), 0);
        fexpr_ws *ws = fexpr_ws_new(e);
        ffit_problem pb = {.law = e,
                           .data = d,
                           .y = y,
                           .s = s,
                           .loss = FEXPR_LOSS_LSQ,
                           .k = 3};
        ffit_tol tol = {
            .ftol_rel = 1e-15, .xtol_rel = 1e-15, .max_eval = 20000};
        double f;
        assert_int_equal(ffit_local(&pb, FFIT_LM, &tol, p, &f, NULL, ws), 0);
        double wsse = json_number_value(json_object_get(fit, "weighted_sse"));
        printf("%s: weighted sse %.17g (scipy %.17g)\n", name, f, wsse);
        assert_true(f <= wsse * (1 + 1e-6) + 1e-30);
        bool noiseless = strcmp(name, "noiseless") == 0;
        for (size_t j = 0; j < 3; j++)
            assert_rel(p[j], json_number_value(json_object_get(fit, params[j])),
                       noiseless ? 1e-9 : 1e-6);
        if (!noiseless) {
            double *J = malloc(n * 3 * sizeof *J);
            double *r = malloc(n * sizeof *r);
            double cov[9], cond;
            fexpr_jacobian(e, d, p, r, J, ws);
            for (size_t q = 0; q < n; q++) {
                double w = s ? s[q] : 1;
                r[q] = w * (r[q] - y[q]);
                for (size_t j = 0; j < 3; j++)
                    J[q * 3 + j] *= w;
            }
            assert_int_equal(fstat_covariance(J, r, n, 3, cov, &cond), 0);
            const json_t *pc = json_object_get(fit, "pcov");
            for (size_t a = 0; a < 3; a++)
                for (size_t b = 0; b < 3; b++)
                    assert_rel(cov[a * 3 + b],
                               json_number_value(
                                   json_array_get(json_array_get(pc, a), b)),
                               1e-4);
            free(J);
            free(r);
        }
        fexpr_ws_free(ws);
        fexpr_data_free(d);
        fexpr_free(e);
        free(x);
        free(y);
        free(p);
        free(s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chinchilla_objective_checks),
        cmocka_unit_test(test_chinchilla_fit),
        cmocka_unit_test(test_thread_independence),
        cmocka_unit_test(test_powerlaw),
    };
    return cmocka_run_group_tests(tests, load_golden, free_golden);
}
