/*
 * protocol.kcore through the real host: a hand-made cascade (removing an
 * item pushes a user under the threshold), agreement with a brute-force
 * k-core on random data, idempotence, and the info counts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rc_test.h"

static const assay_plugin *kc_p;

static void run_kcore(size_t n, const int64_t *u, const int64_t *it,
                      const char *opts, assay_testkit_tables *out, json_t **j)
{
    assay_table *in = rt_table(n, u, it, NULL, NULL, true);
    const char *ports[] = {"interactions"};
    rt_run(kc_p, opts, 1, ports, &in, j, out);
    assay_testkit_table_free(in);
}

/*
 * 2-core: users a=1 (items 10, 11), b=2 (10, 11), c=3 (11, 12);
 * item 12 has one interaction -> dropped; then c has one -> dropped;
 * item 11 keeps a and b.  Result: rows of a and b only.
 */
static void test_cascade(void **state)
{
    (void)state;
    const int64_t u[] = {1, 1, 2, 2, 3, 3};
    const int64_t it[] = {10, 11, 10, 11, 11, 12};
    assay_testkit_tables o = {0};
    json_t *j = NULL;
    run_kcore(6, u, it, "{\"user_min\": 2, \"item_min\": 2}", &o, &j);
    const assay_table *t = rt_out(&o, "interactions");
    assert_int_equal(t->nrows, 4);
    const int64_t *row = rt_i64(t, "row");
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(row[i], (int64_t)i);
    json_t *info = json_object_get(j, "info");
    assert_int_equal(json_integer_value(json_object_get(info, "rounds")), 2);
    assert_int_equal(json_integer_value(json_object_get(info, "users")), 2);
    assert_int_equal(json_integer_value(json_object_get(info, "items")), 2);
    json_decref(j);
    rt_free(&o);
    /* one round only: the cascade stops half-way */
    run_kcore(6, u, it, "{\"user_min\": 2, \"item_min\": 2, \"max_rounds\": 1}",
              &o, NULL);
    assert_int_equal(rt_out(&o, "interactions")->nrows, 5);
    rt_free(&o);
}

/* Reference: repeatedly delete rows of deficient users/items. */
static size_t brute_kcore(size_t n, const int64_t *u, const int64_t *it,
                          int64_t ku, int64_t ki, unsigned char *alive)
{
    for (size_t r = 0; r < n; r++)
        alive[r] = 1;
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t r = 0; r < n; r++) {
            if (!alive[r])
                continue;
            int64_t cu = 0, ci = 0;
            for (size_t s = 0; s < n; s++) {
                cu += alive[s] && u[s] == u[r];
                ci += alive[s] && it[s] == it[r];
            }
            if (cu < ku || ci < ki) {
                alive[r] = 0;
                changed = true;
            }
        }
    }
    size_t k = 0;
    for (size_t r = 0; r < n; r++)
        k += alive[r];
    return k;
}

static void test_random_against_brute_force(void **state)
{
    (void)state;
    enum { N = 600 };
    int64_t u[N], it[N];
    unsigned char alive[N];
    assay_rng r;
    assay_rng_init(&r, 3);
    for (size_t i = 0; i < N; i++) {
        u[i] = (int64_t)assay_rng_below(&r, 80);
        /* skewed items: low ids are popular */
        double x = assay_rng_uniform(&r);
        it[i] = (int64_t)(x * x * 120);
    }
    size_t want = brute_kcore(N, u, it, 5, 4, alive);
    assert_true(want > 50 && want < N);
    assay_testkit_tables o = {0}, o2 = {0};
    run_kcore(N, u, it, "{\"user_min\": 5, \"item_min\": 4}", &o, NULL);
    const assay_table *t = rt_out(&o, "interactions");
    assert_int_equal(t->nrows, want);
    const int64_t *row = rt_i64(t, "row");
    for (size_t i = 0; i < t->nrows; i++)
        assert_true(alive[row[i]]);
    /* already a 5/4-core: nothing more to remove */
    run_kcore(t->nrows, rt_i64(t, "user"), rt_i64(t, "item"),
              "{\"user_min\": 5, \"item_min\": 4}", &o2, NULL);
    assert_int_equal(rt_out(&o2, "interactions")->nrows, want);
    rt_free(&o);
    rt_free(&o2);
}

/* RecBole's ml-1m leaderboard filter on ml-100k: ratings >= 3, then a
 * 10-core; every remaining user and item has at least 10 rows. */
static void test_ml100k(void **state)
{
    (void)state;
    char path[4096], opts[4200];
    if (!rt_ml100k(path, sizeof path))
        skip();
    const assay_plugin *src = rt_load("PLUGIN_SOURCE", "source.interactions");
    const assay_plugin *fr =
        rt_load("PLUGIN_FILTER", "protocol.filter-ratings");
    snprintf(opts, sizeof opts, "{\"path\": \"%s\"}", path);
    assay_testkit_tables o = {0}, f = {0}, k = {0};
    rt_run(src, opts, 0, NULL, NULL, NULL, &o);
    assay_table *in = (assay_table *)rt_out(&o, "interactions");
    const char *ports[] = {"interactions"};
    rt_run(fr, "{\"min\": 3}", 1, ports, &in, NULL, &f);
    assay_table *fi = (assay_table *)rt_out(&f, "interactions");
    assert_int_equal(fi->nrows, 82520);
    rt_run(kc_p, "{\"user_min\": 10, \"item_min\": 10}", 1, ports, &fi, NULL,
           &k);
    const assay_table *t = rt_out(&k, "interactions");
    static size_t cu[944], ci[1683];
    const int64_t *u = rt_i64(t, "user"), *it = rt_i64(t, "item");
    for (size_t i = 0; i < t->nrows; i++) {
        cu[u[i]]++;
        ci[it[i]]++;
    }
    for (size_t i = 0; i < 944; i++)
        assert_true(cu[i] == 0 || cu[i] >= 10);
    for (size_t i = 0; i < 1683; i++)
        assert_true(ci[i] == 0 || ci[i] >= 10);
    assert_true(t->nrows > 75000 && t->nrows < fi->nrows);
    rt_free(&k);
    rt_free(&f);
    rt_free(&o);
}

int main(void)
{
    kc_p = rt_load("PLUGIN", "protocol.kcore");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cascade),
        cmocka_unit_test(test_random_against_brute_force),
        cmocka_unit_test(test_ml100k),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
