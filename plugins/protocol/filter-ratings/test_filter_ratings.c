/*
 * protocol.filter-ratings through the real host: inclusive and exclusive
 * bounds, all columns carried in order, and clear errors for a missing
 * rating column or no bound at all.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rc_test.h"

static const assay_plugin *fr_p;

static const int64_t U[] = {1, 1, 2, 2, 3, 3};
static const int64_t I[] = {5, 6, 5, 7, 8, 9};
static const double R[] = {1, 3, 3.5, 5, 2.9999, 4};

static size_t kept(const char *opts, int64_t *rows)
{
    assay_table *in = rt_table(6, U, I, NULL, R, true);
    const char *ports[] = {"interactions"};
    assay_testkit_tables o = {0};
    rt_run(fr_p, opts, 1, ports, &in, NULL, &o);
    assay_testkit_table_free(in);
    const assay_table *t = rt_out(&o, "interactions");
    size_t n = t->nrows;
    memcpy(rows, rt_i64(t, "row"), n * sizeof *rows);
    /* every column survives with the right values */
    const double *r = assay_col_f64(assay_table_col(t, "rating"));
    for (size_t i = 0; i < n; i++) {
        assert_true(r[i] == R[rows[i]]);
        assert_int_equal(rt_i64(t, "user")[i], U[rows[i]]);
        assert_int_equal(rt_i64(t, "item")[i], I[rows[i]]);
    }
    rt_free(&o);
    return n;
}

static void test_bounds(void **state)
{
    (void)state;
    int64_t rows[6];
    assert_int_equal(kept("{\"min\": 3}", rows), 4);
    assert_int_equal(rows[0], 1);
    assert_int_equal(rows[1], 2);
    assert_int_equal(rows[2], 3);
    assert_int_equal(rows[3], 5);
    assert_int_equal(kept("{\"min\": 3, \"min_exclusive\": true}", rows), 3);
    assert_int_equal(kept("{\"max\": 3}", rows), 3);
    assert_int_equal(kept("{\"min\": 2, \"max\": 4, \"max_exclusive\": "
                          "true}",
                          rows),
                     3);
    assert_int_equal(rows[2], 4);
}

static void test_errors(void **state)
{
    (void)state;
    assay_error err = {0};
    json_t *j = NULL;
    assay_testkit_tables o = {0};
    assay_table *in = rt_table(6, U, I, NULL, R, false);
    assay_testkit_tables tin = {1, {"interactions"}, {in}};
    assert_int_not_equal(
        assay_testkit_run_tables(fr_p, "{}", NULL, &tin, &j, &o, &err), 0);
    assert_non_null(strstr(err.text, "min"));
    assert_int_not_equal(assay_testkit_run_tables(fr_p,
                                                  "{\"min\": 4, \"max\": 2}",
                                                  NULL, &tin, &j, &o, &err),
                         0);
    assay_testkit_table_free(in);
    in = rt_table(6, U, I, NULL, NULL, false);
    tin.tables[0] = in;
    assert_int_not_equal(assay_testkit_run_tables(fr_p, "{\"min\": 1}", NULL,
                                                  &tin, &j, &o, &err),
                         0);
    assert_non_null(strstr(err.text, "'rating'"));
    assay_testkit_table_free(in);
}

int main(void)
{
    fr_p = rt_load("PLUGIN", "protocol.filter-ratings");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
