/*
 * test_apencore.c - ApEn against tests/golden/apen (1e-9 relative; null
 * where the definition is undefined).
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

#include "apencore.h"

static void close_to(double got, const json_t *want, const char *what,
                     const char *name)
{
    if (json_is_null(want)) {
        if (!isnan(got))
            fail_msg("%s %s: got %.17g want null", name, what, got);
        return;
    }
    double w = json_number_value(want);
    double tol = 1e-9 * fabs(w);
    if (tol < 1e-13)
        tol = 1e-13;
    if (!(fabs(got - w) <= tol))
        fail_msg("%s %s: got %.17g want %.17g", name, what, got, w);
}

static void test_golden(void **st)
{
    (void)st;
    char path[4096];
    const char *src = getenv("ASSAY_SRC");
    snprintf(path, sizeof path, "%s/tests/golden/apen/apen.json",
             src ? src : ".");
    json_error_t je;
    json_t *g = json_load_file(path, 0, &je);
    if (!g)
        fail_msg("%s: %s", path, je.text);
    size_t i, nres = 0;
    json_t *s;
    json_array_foreach(json_object_get(g, "sequences"), i, s)
    {
        const char *name = json_string_value(json_object_get(s, "name"));
        json_t *xa = json_object_get(s, "x");
        size_t n = json_array_size(xa);
        double *x = malloc((n + 1) * sizeof *x);
        size_t *cnt = malloc((2 * n + 2) * sizeof *cnt);
        for (size_t k = 0; k < n; k++)
            x[k] = json_number_value(json_array_get(xa, k));
        if (n > 0)
            close_to(ap_std(x, n), json_object_get(s, "std_ddof0"), "std",
                     name);
        size_t j;
        json_t *res;
        json_array_foreach(json_object_get(s, "results"), j, res)
        {
            size_t m = (size_t)json_integer_value(json_object_get(res, "m"));
            double r = json_number_value(json_object_get(res, "r"));
            double a, pm, pm1;
            ap_apen(x, n, m, r, cnt, &a, &pm, &pm1);
            close_to(a, json_object_get(res, "apen"), "apen", name);
            close_to(pm, json_object_get(res, "phi_m"), "phi_m", name);
            close_to(pm1, json_object_get(res, "phi_m_plus_1"), "phi_m1",
                     name);
            nres++;
        }
        free(x);
        free(cnt);
    }
    assert_true(nres >= 50);
    json_decref(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_golden)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
