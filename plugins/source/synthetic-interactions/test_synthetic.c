/*
 * source.synthetic-interactions through the real host: sizes and column
 * types, identical output for 1 and 2 threads, Zipf popularity, no repeat
 * without `repeats`, increasing timestamps per user, and the sequential
 * signal that `drift` controls (next items are predictable from the
 * previous one far better with drift than without).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "testkit.h"

static const assay_plugin *syn_p;

static const assay_table *gen(const char *opts, assay_testkit_tables *o)
{
    json_t *j = NULL;
    assay_error err = {0};
    memset(o, 0, sizeof *o);
    int rc = assay_testkit_run_tables(syn_p, opts, NULL, NULL, &j, o, &err);
    if (rc)
        fprintf(stderr, "%s\n", err.text);
    assert_int_equal(rc, 0);
    json_decref(j);
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->ports[i], "interactions") == 0)
            return o->tables[i];
    fail();
    return NULL;
}

static void free_out(assay_testkit_tables *o)
{
    for (size_t i = 0; i < o->n; i++)
        assay_testkit_table_free(o->tables[i]);
}

static const int64_t *col(const assay_table *t, const char *n)
{
    const int64_t *c = assay_col_i64(assay_table_col(t, n));
    assert_non_null(c);
    return c;
}

static void test_shape_and_threads(void **state)
{
    (void)state;
    const char *opts = "{\"n_users\": 300, \"n_items\": 400, "
                       "\"mean_length\": 20, \"min_length\": 5}";
    assay_testkit_tables a, b;
    setenv("ASSAY_THREADS", "1", 1);
    const assay_table *ta = gen(opts, &a);
    setenv("ASSAY_THREADS", "2", 1);
    const assay_table *tb = gen(opts, &b);
    assert_int_equal(ta->nrows, tb->nrows);
    assert_true(ta->nrows > 300 * 15 && ta->nrows < 300 * 25);
    for (size_t c = 0; c < ta->ncols; c++)
        assert_memory_equal(ta->cols[c].data, tb->cols[c].data, ta->nrows * 8);
    const int64_t *u = col(ta, "user"), *it = col(ta, "item");
    const int64_t *ts = col(ta, "timestamp");
    const double *r = assay_col_f64(assay_table_col(ta, "rating"));
    assert_non_null(r);
    size_t per_user[300] = {0};
    static unsigned char seen[300][400];
    for (size_t i = 0; i < ta->nrows; i++) {
        assert_true(u[i] >= 0 && u[i] < 300);
        assert_true(it[i] >= 0 && it[i] < 400);
        assert_true(r[i] >= 1 && r[i] <= 5 && r[i] == (int)r[i]);
        assert_false(seen[u[i]][it[i]]); /* no repeats */
        seen[u[i]][it[i]] = 1;
        per_user[u[i]]++;
        if (i > 0 && u[i - 1] == u[i])
            assert_true(ts[i] > ts[i - 1]);
        if (i > 0)
            assert_true(u[i] >= u[i - 1]);
    }
    for (size_t x = 0; x < 300; x++)
        assert_true(per_user[x] >= 5);
    free_out(&a);
    free_out(&b);
    unsetenv("ASSAY_THREADS");
}

/* With zipf 1.2 the 10 most consumed items take a far larger share than
 * with zipf 0 (uniform popularity). */
static double top10_share(const char *opts)
{
    assay_testkit_tables o;
    const assay_table *t = gen(opts, &o);
    size_t cnt[500] = {0};
    const int64_t *it = col(t, "item");
    for (size_t i = 0; i < t->nrows; i++)
        cnt[it[i]]++;
    size_t top = 0;
    for (int k = 0; k < 10; k++) {
        size_t best = 0;
        for (size_t i = 1; i < 500; i++)
            if (cnt[i] > cnt[best])
                best = i;
        top += cnt[best];
        cnt[best] = 0;
    }
    double s = (double)top / (double)t->nrows;
    free_out(&o);
    return s;
}

static void test_zipf(void **state)
{
    (void)state;
    double skew = top10_share("{\"n_users\": 400, \"n_items\": 500, "
                              "\"zipf\": 1.2, \"affinity\": 0}");
    double flat = top10_share("{\"n_users\": 400, \"n_items\": 500, "
                              "\"zipf\": 0, \"affinity\": 0}");
    assert_true(skew > 0.2);
    assert_true(flat < 0.06);
}

/* Successor predictability: learn the most frequent next item of each
 * item on the first half of the users, measure how often it is the true
 * next item on the second half. */
static double successor_accuracy(const char *opts)
{
    assay_testkit_tables o;
    const assay_table *t = gen(opts, &o);
    const int64_t *u = col(t, "user"), *it = col(t, "item");
    static uint32_t next[200][200];
    memset(next, 0, sizeof next);
    size_t n = t->nrows, half = 0;
    while (half < n && u[half] < 500)
        half++;
    for (size_t i = 1; i < half; i++)
        if (u[i] == u[i - 1])
            next[it[i - 1]][it[i]]++;
    size_t hit = 0, tot = 0;
    for (size_t i = half + 1; i < n; i++) {
        if (u[i] != u[i - 1])
            continue;
        size_t best = 0;
        for (size_t j = 1; j < 200; j++)
            if (next[it[i - 1]][j] > next[it[i - 1]][best])
                best = j;
        hit += (int64_t)best == it[i];
        tot++;
    }
    free_out(&o);
    return (double)hit / (double)tot;
}

static void test_drift(void **state)
{
    (void)state;
    double seq = successor_accuracy("{\"n_users\": 1000, \"n_items\": 200, "
                                    "\"drift\": 0.9, \"zipf\": 0.5, "
                                    "\"repeats\": true}");
    double stat = successor_accuracy("{\"n_users\": 1000, \"n_items\": 200, "
                                     "\"drift\": 0, \"zipf\": 0.5, "
                                     "\"repeats\": true}");
    fprintf(stderr, "successor accuracy: drift 0.9 %.3f, drift 0 %.3f\n", seq,
            stat);
    assert_true(seq > 1.5 * stat);
}

static void test_bad_options(void **state)
{
    (void)state;
    json_t *j = NULL;
    assay_testkit_tables o = {0};
    assay_error err = {0};
    assert_int_not_equal(assay_testkit_run_tables(
                             syn_p, "{\"mean_length\": 3, \"min_length\": 5}",
                             NULL, NULL, &j, &o, &err),
                         0);
    assert_non_null(strstr(err.text, "mean_length"));
    assert_int_not_equal(
        assay_testkit_run_tables(syn_p, "{\"n_items\": 3, \"min_length\": 5}",
                                 NULL, NULL, &j, &o, &err),
        0);
    assert_non_null(strstr(err.text, "n_items"));
}

int main(void)
{
    assay_error err = {0};
    syn_p = assay_testkit_load(getenv("PLUGIN"),
                               "source.synthetic-interactions", &err);
    if (!syn_p) {
        fprintf(stderr, "%s\n", err.text);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shape_and_threads),
        cmocka_unit_test(test_zipf),
        cmocka_unit_test(test_drift),
        cmocka_unit_test(test_bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
