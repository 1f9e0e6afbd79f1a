/*
 * test_fexpr.c - the formula language: parsing and its error messages,
 * values, exact gradients (against central differences), data-domain
 * errors, and a fuzz loop proving that no input string crashes the parser.
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

#include "fexpr.h"

static const char *const V[] = {"x", "y"};
static const char *const P[] = {"a", "b", "c"};

/* Compile `src`; expect failure with exactly `msg`. */
static void expect_error(const char *src, const char *msg)
{
    fexpr *e = NULL;
    assay_error err = {0};
    int rc = fexpr_compile(src, "law", V, 2, P, 3, 0, &e, &err);
    assert_int_equal(rc, ASSAY_EINVAL);
    assert_null(e);
    if (strcmp(err.text, msg) != 0)
        fail_msg("'%s': got \"%s\", want \"%s\"", src, err.text, msg);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("a * (x + 1", "law:1:11: expected ')', got end of formula");
    expect_error("a + * x", "law:1:5: expected a number, name or '(', got "
                            "'*'");
    expect_error("a + q", "law:1:5: unknown name 'q': not a variable, "
                          "parameter or constant");
    expect_error("a * foo(x)",
                 "law:1:5: unknown function 'foo' (known: log, ln, log10, "
                 "exp, sqrt, abs, sigmoid, tanh, pow, min, max)");
    expect_error("a * min(x)", "law:1:5: min() takes 2 arguments, got 1");
    expect_error("a * x )", "law:1:7: unexpected ')' after the end of the "
                            "formula");
    expect_error("", "law:1:1: empty formula");
    expect_error("x + 1", "law:1:1: the formula does not depend on any "
                          "parameter");
    expect_error("a / 0", "law:1:1: division by zero");
    expect_error("a +\n  1.5e", "law:2:6: malformed exponent in number");
    expect_error("a + log(-1)", "law:1:5: constant subexpression 'log(-1)' "
                                "is not finite");
    expect_error("a + x $ 2", "law:1:7: unexpected '$' after the end of "
                              "the formula");
}

/* Value and gradient of `src` at (x, y) and p against libm and central
 * differences. */
static void check(const char *src, double x, double y, const double *p,
                  double want)
{
    fexpr *e = NULL;
    fexpr_data *d = NULL;
    assay_error err = {0};
    int rc = fexpr_compile(src, "law", V, 2, P, 3, 0, &e, &err);
    if (rc)
        fail_msg("%s: %s", src, err.text);
    const double *cols[] = {&x, &y};
    rc = fexpr_bind(e, cols, 1, &d, &err);
    if (rc)
        fail_msg("%s: %s", src, err.text);
    fexpr_ws *ws = fexpr_ws_new(e);
    double v, jac[3];
    fexpr_predict(e, d, p, &v, ws);
    if (!(fabs(v - want) <= 1e-13 * fmax(1, fabs(want))))
        fail_msg("%s = %.17g, want %.17g", src, v, want);
    fexpr_jacobian(e, d, p, &v, jac, ws);
    for (int j = 0; j < 3; j++) {
        double q[3] = {p[0], p[1], p[2]}, hi, lo;
        double h = 1e-6 * fmax(1, fabs(p[j]));
        q[j] = p[j] + h;
        fexpr_predict(e, d, q, &hi, ws);
        q[j] = p[j] - h;
        fexpr_predict(e, d, q, &lo, ws);
        double fd = (hi - lo) / (2 * h);
        if (!(fabs(jac[j] - fd) <= 1e-6 * fmax(1, fabs(fd))))
            fail_msg("%s: d/d%s = %.12g, central difference %.12g", src, P[j],
                     jac[j], fd);
    }
    fexpr_ws_free(ws);
    fexpr_data_free(d);
    fexpr_free(e);
}

static void test_values_and_gradients(void **state)
{
    (void)state;
    const double p[3] = {1.3, 0.7, -0.4};
    double x = 2.5, y = 0.3, a = p[0], b = p[1], c = p[2];
    check("a + b*x - c/y", x, y, p, a + b * x - c / y);
    check("a * x^b + c", x, y, p, a * pow(x, b) + c);
    check("-a^2 + 2^-b", x, y, p, -(a * a) + pow(2, -b));
    check("a^b^c", x, y, p, pow(a, pow(b, c)));
    check("pow(a, x) * pow(x, 3)", x, y, p, pow(a, x) * pow(x, 3));
    check("log(a*x) + ln(b) + log10(x*b)", x, y, p,
          log(a * x) + log(b) + log10(x * b));
    check("exp(c*x) + sqrt(a + x)", x, y, p, exp(c * x) + sqrt(a + x));
    check("abs(c) * sigmoid(a - x) + tanh(b*y - a)", x, y, p,
          fabs(c) * (1 / (1 + exp(-(a - x)))) + tanh(b * y - a));
    check("min(a, x) + max(b*x, c) + min(x, y)", x, y, p,
          fmin(a, x) + fmax(b * x, c) + fmin(x, y));
    check("a + pi*b + e*c", x, y, p, a + M_PI * b + M_E * c);
    check("(a*x)^2 + (b*x)^0.5 + 1/(c - 1) + a/x", x, y, p,
          (a * x) * (a * x) + sqrt(b * x) + 1 / (c - 1) + a / x);
    check("a + 0*b + 0*c", x, y, p, a);
    check("a*b + c + x*y", x, y, p, a * b + c + x * y);
    check("log(exp(a - b*log(x)) + exp(c - b*log(y)) + exp(a))", x, y, p,
          log(exp(a - b * log(x)) + exp(c - b * log(y)) + exp(a)));
    check("sigmoid(-40*a) + tanh(30*b) + exp(-800*a)", x, y, p,
          1 / (1 + exp(40 * a)) + tanh(30 * b) + 0.0);
}

/* 700 points span several evaluation blocks. */
static void test_blocks_and_objective(void **state)
{
    (void)state;
    size_t n = 700;
    double *x = malloc(n * sizeof *x), *yv = malloc(n * sizeof *yv);
    const double p[3] = {2.0, -0.5, 1.0};
    for (size_t i = 0; i < n; i++) {
        x[i] = 1 + (double)i;
        yv[i] = p[0] * pow(x[i], p[1]) + p[2] + (i % 2 ? 1e-3 : -2e-3);
    }
    fexpr *e;
    fexpr_data *d;
    assay_error err = {0};
    assert_int_equal(fexpr_compile("a*x^b + c", "law", V, 2, P, 3, 0, &e, &err),
                     0);
    const double *cols[] = {x, NULL};
    assert_int_equal(fexpr_bind(e, cols, n, &d, &err), 0);
    fexpr_ws *ws = fexpr_ws_new(e);
    double g[3], want = 0;
    for (size_t i = 0; i < n; i++) {
        double r = p[0] * pow(x[i], p[1]) + p[2] - yv[i];
        double ar = fabs(r);
        want += ar <= 1.5e-3 ? 0.5 * r * r : 1.5e-3 * (ar - 0.75e-3);
    }
    double f =
        fexpr_objective(e, d, p, yv, NULL, FEXPR_LOSS_HUBER, 1.5e-3, g, ws);
    assert_true(fabs(f - want) < 1e-12 * want);
    for (int j = 0; j < 3; j++) {
        double q[3] = {p[0], p[1], p[2]};
        q[j] += 1e-7;
        double fp = fexpr_objective(e, d, q, yv, NULL, FEXPR_LOSS_HUBER, 1.5e-3,
                                    NULL, ws);
        q[j] -= 2e-7;
        double fm = fexpr_objective(e, d, q, yv, NULL, FEXPR_LOSS_HUBER, 1.5e-3,
                                    NULL, ws);
        assert_true(fabs(g[j] - (fp - fm) / 2e-7) < 1e-5 * fmax(1, fabs(g[j])));
    }
    fexpr_ws_free(ws);
    fexpr_data_free(d);
    fexpr_free(e);
    free(x);
    free(yv);
}

static void test_data_domain(void **state)
{
    (void)state;
    double x[] = {1, 2, -3}, y[] = {1, 1, 1};
    const double *cols[] = {x, y};
    fexpr *e;
    fexpr_data *d = NULL;
    assay_error err = {0};
    assert_int_equal(fexpr_compile("a * x^b", "law", V, 2, P, 3, 0, &e, &err),
                     0);
    assert_int_equal(fexpr_bind(e, cols, 3, &d, &err), ASSAY_EDATA);
    assert_string_equal(err.text,
                        "record 2: 'x' is -3 but must be > 0 (it is the "
                        "base of a power with a fitted exponent)");
    fexpr_free(e);
    assert_int_equal(
        fexpr_compile("a + log(x + y)", "law", V, 2, P, 3, 0, &e, &err), 0);
    assert_int_equal(fexpr_bind(e, cols, 3, &d, &err), ASSAY_EDATA);
    assert_string_equal(err.text,
                        "record 2: log() of 'x + y' = -2: must be > 0");
    fexpr_free(e);
    assert_null(d);
}

/* Random and mutated formulas: every outcome is a clean success or a
 * message, never a crash (run under the sanitizers in CI). */
static void test_fuzz(void **state)
{
    (void)state;
    static const char *const seeds[] = {"E + A / N^alpha + B / D^beta",
                                        "log(exp(a - b*log(x)) + exp(c))",
                                        "min(a, max(x, b)) ^ -c",
                                        "sigmoid(a*(x - b)) * tanh(c*y)",
                                        "((((a))))",
                                        "pow(x, a) + sqrt(abs(b*y)) - 1e-3*c"};
    static const char alphabet[] = "abcxyeEpi+-*/^(),.0123456789 lognexp"
                                   "sqrtminax\t\n$";
    assay_rng rng;
    assay_rng_init(&rng, 12345);
    char buf[256];
    for (int it = 0; it < 20000; it++) {
        size_t len;
        if (it % 2) {
            len = (size_t)assay_rng_below(&rng, sizeof buf - 1);
            for (size_t i = 0; i < len; i++)
                buf[i] =
                    it % 7 == 0
                        ? (char)(1 + assay_rng_below(&rng, 255))
                        : alphabet[assay_rng_below(&rng, sizeof alphabet - 1)];
        } else {
            const char *s = seeds[assay_rng_below(&rng, 6)];
            len = strlen(s);
            memcpy(buf, s, len);
            for (int m = 0; m < 3; m++) {
                size_t at = (size_t)assay_rng_below(&rng, len + 1);
                if (at < len)
                    buf[at] =
                        alphabet[assay_rng_below(&rng, sizeof alphabet - 1)];
            }
        }
        buf[len] = '\0';
        fexpr *e = NULL;
        assay_error err = {0};
        int rc = fexpr_compile(buf, "law", V, 2, P, 3, 0, &e, &err);
        if (rc == 0) {
            double x[] = {1.5, 0.5}, y[] = {2, 3};
            const double *cols[] = {x, y};
            fexpr_data *d = NULL;
            if (fexpr_bind(e, cols, 2, &d, &err) == 0) {
                fexpr_ws *ws = fexpr_ws_new(e);
                double p[3] = {0.3, -1.2, 2}, out[2], J[6];
                fexpr_jacobian(e, d, p, out, J, ws);
                fexpr_ws_free(ws);
                fexpr_data_free(d);
            }
            fexpr_free(e);
        } else {
            assert_non_null(strstr(err.text, "law"));
        }
    }
    /* deep nesting is refused, not a stack overflow */
    char deep[4096];
    for (int i = 0; i < 2000; i++)
        deep[i] = '(';
    memcpy(deep + 2000, "a", 2);
    fexpr *e = NULL;
    assay_error err = {0};
    assert_int_equal(fexpr_compile(deep, "law", V, 2, P, 3, 0, &e, &err),
                     ASSAY_EINVAL);
    assert_non_null(strstr(err.text, "nested too deeply"));
    for (int i = 0; i < 2000; i++)
        deep[i] = '-';
    assert_int_equal(fexpr_compile(deep, "law", V, 2, P, 3, 0, &e, &err),
                     ASSAY_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_values_and_gradients),
        cmocka_unit_test(test_blocks_and_objective),
        cmocka_unit_test(test_data_domain),
        cmocka_unit_test(test_fuzz),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
