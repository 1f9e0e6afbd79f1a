/*
 * protocol.split through the real host: every row lands in exactly one
 * part, part sizes follow RecBole's rule (hand-computed cases), temporal
 * splits never put a training row after a test row, leave-one-out takes
 * the last two rows by time, and the same seed gives the same split.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rc_test.h"

static const assay_plugin *split_p;

/* Users with these history sizes and the RecBole 0.8/0.1/0.1 sizes
 * (train, valid, test) worked out by hand. */
static const size_t sizes[] = {1, 2, 3, 5, 7, 9, 10, 11, 15, 20};
static const size_t expect_rs[][3] = {
    {1, 0, 0}, {1, 0, 1}, {1, 1, 1}, {3, 1, 1},  {5, 1, 1},
    {7, 1, 1}, {8, 1, 1}, {9, 1, 1}, {13, 1, 1}, {16, 2, 2}};
#define NUSERS (sizeof sizes / sizeof *sizes)

typedef struct data {
    size_t n;
    int64_t user[256], item[256], time[256];
} data;

/* Users 100, 101, ... (rows interleaved across users); timestamps with
 * ties; items distinct per user. */
static void make_data(data *d)
{
    assay_rng r;
    assay_rng_init(&r, 5);
    d->n = 0;
    size_t left[NUSERS];
    for (size_t u = 0; u < NUSERS; u++)
        left[u] = sizes[u];
    bool more = true;
    while (more) {
        more = false;
        for (size_t u = 0; u < NUSERS; u++) {
            if (!left[u])
                continue;
            more = true;
            d->user[d->n] = 100 + (int64_t)u;
            d->item[d->n] = (int64_t)(sizes[u] - left[u]);
            d->time[d->n] = (int64_t)assay_rng_below(&r, 20);
            d->n++;
            left[u]--;
        }
    }
}

typedef struct parts {
    assay_testkit_tables out;
    const assay_table *t[3];
} parts;

static void run_split(const data *d, const char *opts, parts *p)
{
    assay_table *in = rt_table(d->n, d->user, d->item, d->time, NULL, true);
    const char *ports[] = {"interactions"};
    memset(p, 0, sizeof *p);
    rt_run(split_p, opts, 1, ports, &in, NULL, &p->out);
    assay_testkit_table_free(in);
    p->t[0] = rt_out(&p->out, "train");
    p->t[1] = rt_out(&p->out, "valid");
    p->t[2] = rt_out(&p->out, "test");
    for (int i = 0; i < 3; i++)
        assert_non_null(p->t[i]);
}

/* Every input row appears in exactly one part, unchanged. */
static void check_partition(const data *d, const parts *p)
{
    int seen[256] = {0};
    for (int k = 0; k < 3; k++) {
        const int64_t *row = rt_i64(p->t[k], "row");
        const int64_t *u = rt_i64(p->t[k], "user");
        const int64_t *it = rt_i64(p->t[k], "item");
        const int64_t *tm = rt_i64(p->t[k], "timestamp");
        assert_non_null(row);
        for (size_t i = 0; i < p->t[k]->nrows; i++) {
            assert_true(row[i] >= 0 && (size_t)row[i] < d->n);
            seen[row[i]]++;
            assert_int_equal(u[i], d->user[row[i]]);
            assert_int_equal(it[i], d->item[row[i]]);
            assert_int_equal(tm[i], d->time[row[i]]);
        }
    }
    for (size_t r = 0; r < d->n; r++)
        assert_int_equal(seen[r], 1);
}

static size_t count_user(const assay_table *t, int64_t user)
{
    const int64_t *u = rt_i64(t, "user");
    size_t c = 0;
    for (size_t i = 0; i < t->nrows; i++)
        c += u[i] == user;
    return c;
}

static void check_sizes(const parts *p, const size_t (*want)[3])
{
    for (size_t u = 0; u < NUSERS; u++)
        for (int k = 0; k < 3; k++)
            if (count_user(p->t[k], 100 + (int64_t)u) != want[u][k]) {
                fprintf(stderr, "user of %zu rows, part %d: %zu, want %zu\n",
                        sizes[u], k, count_user(p->t[k], 100 + (int64_t)u),
                        want[u][k]);
                fail();
            }
}

static void test_random_by_user(void **state)
{
    (void)state;
    data d;
    parts a, b;
    make_data(&d);
    run_split(&d, "{\"method\": \"random\"}", &a);
    check_partition(&d, &a);
    check_sizes(&a, expect_rs);
    /* the seed reproduces the split exactly */
    run_split(&d, "{\"method\": \"random\"}", &b);
    for (int k = 0; k < 3; k++) {
        assert_int_equal(a.t[k]->nrows, b.t[k]->nrows);
        assert_memory_equal(rt_i64(a.t[k], "row"), rt_i64(b.t[k], "row"),
                            a.t[k]->nrows * sizeof(int64_t));
    }
    /* rows keep the input order inside each part */
    for (int k = 0; k < 3; k++) {
        const int64_t *row = rt_i64(a.t[k], "row");
        for (size_t i = 1; i < a.t[k]->nrows; i++)
            assert_true(row[i - 1] < row[i]);
    }
    rt_free(&a.out);
    rt_free(&b.out);
}

/* Per user: no training row is later than a validation row, and no
 * validation row later than a test row. */
static void test_temporal_by_user(void **state)
{
    (void)state;
    data d;
    parts p;
    make_data(&d);
    run_split(&d, "{\"method\": \"temporal\"}", &p);
    check_partition(&d, &p);
    check_sizes(&p, expect_rs);
    for (size_t u = 0; u < NUSERS; u++) {
        int64_t mx[3] = {-1, -1, -1}, mn[3] = {999, 999, 999};
        for (int k = 0; k < 3; k++) {
            const int64_t *us = rt_i64(p.t[k], "user");
            const int64_t *tm = rt_i64(p.t[k], "timestamp");
            for (size_t i = 0; i < p.t[k]->nrows; i++) {
                if (us[i] != 100 + (int64_t)u)
                    continue;
                if (tm[i] > mx[k])
                    mx[k] = tm[i];
                if (tm[i] < mn[k])
                    mn[k] = tm[i];
            }
        }
        assert_true(mx[0] <= mn[1] || mn[1] == 999);
        assert_true(mx[0] <= mn[2] || mn[2] == 999);
        assert_true(mx[1] <= mn[2] || mn[2] == 999);
    }
    rt_free(&p.out);
}

static void test_global(void **state)
{
    (void)state;
    data d;
    parts p;
    make_data(&d); /* 83 rows: test 8, valid 8, train 67 */
    assert_int_equal(d.n, 83);
    run_split(&d, "{\"method\": \"temporal\", \"by\": \"global\"}", &p);
    check_partition(&d, &p);
    assert_int_equal(p.t[0]->nrows, 67);
    assert_int_equal(p.t[1]->nrows, 8);
    assert_int_equal(p.t[2]->nrows, 8);
    int64_t mx0 = 0, mn2 = 999;
    const int64_t *t0 = rt_i64(p.t[0], "timestamp");
    const int64_t *t2 = rt_i64(p.t[2], "timestamp");
    for (size_t i = 0; i < p.t[0]->nrows; i++)
        mx0 = t0[i] > mx0 ? t0[i] : mx0;
    for (size_t i = 0; i < p.t[2]->nrows; i++)
        mn2 = t2[i] < mn2 ? t2[i] : mn2;
    assert_true(mx0 <= mn2);
    rt_free(&p.out);
    run_split(&d,
              "{\"method\": \"random\", \"by\": \"global\", "
              "\"ratios\": [0.7, 0.3]}",
              &p);
    check_partition(&d, &p);
    /* floor(0.3 * 83) = 24 test rows, no validation */
    assert_int_equal(p.t[0]->nrows, 59);
    assert_int_equal(p.t[1]->nrows, 0);
    assert_int_equal(p.t[2]->nrows, 24);
    rt_free(&p.out);
}

/* Leave-one-out: the latest row is test, the second latest validation
 * (ties broken by row order), users with one or two rows as documented. */
static void test_leave_one_out(void **state)
{
    (void)state;
    data d;
    parts p;
    make_data(&d);
    run_split(&d, "{\"method\": \"loo\"}", &p);
    check_partition(&d, &p);
    for (size_t u = 0; u < NUSERS; u++) {
        int64_t user = 100 + (int64_t)u;
        size_t n = sizes[u];
        size_t want[3] = {n <= 2 ? 1 : n - 2, n >= 3, n >= 2};
        for (int k = 0; k < 3; k++)
            assert_int_equal(count_user(p.t[k], user), want[k]);
        /* the user's rows sorted by (time, row): test is the last */
        int64_t best_t = -1, best_r = -1, second_t = -1, second_r = -1;
        for (size_t r = 0; r < d.n; r++) {
            if (d.user[r] != user)
                continue;
            if (d.time[r] >= best_t) {
                second_t = best_t;
                second_r = best_r;
                best_t = d.time[r];
                best_r = (int64_t)r;
            } else if (d.time[r] >= second_t) {
                second_t = d.time[r];
                second_r = (int64_t)r;
            }
        }
        const int64_t *tr = rt_i64(p.t[2], "row");
        const int64_t *tu = rt_i64(p.t[2], "user");
        const int64_t *vr = rt_i64(p.t[1], "row");
        const int64_t *vu = rt_i64(p.t[1], "user");
        for (size_t i = 0; i < p.t[2]->nrows; i++)
            if (tu[i] == user)
                assert_int_equal(tr[i], best_r);
        for (size_t i = 0; i < p.t[1]->nrows; i++)
            if (vu[i] == user)
                assert_int_equal(vr[i], second_r);
    }
    rt_free(&p.out);
    run_split(&d, "{\"method\": \"loo\", \"validation\": false}", &p);
    assert_int_equal(p.t[1]->nrows, 0);
    assert_int_equal(p.t[2]->nrows, NUSERS - 1);
    rt_free(&p.out);
}

static void test_bad_options(void **state)
{
    (void)state;
    data d;
    make_data(&d);
    assay_table *in = rt_table(d.n, d.user, d.item, d.time, NULL, false);
    assay_testkit_tables tin = {1, {"interactions"}, {in}}, out = {0};
    json_t *j = NULL;
    assay_error err = {0};
    assert_int_not_equal(assay_testkit_run_tables(split_p, "{\"ratios\": [1]}",
                                                  NULL, &tin, &j, &out, &err),
                         0);
    assert_non_null(strstr(err.text, "ratios"));
    assert_int_not_equal(assay_testkit_run_tables(split_p,
                                                  "{\"ratios\": [0.9, -0.1]}",
                                                  NULL, &tin, &j, &out, &err),
                         0);
    assert_int_not_equal(assay_testkit_run_tables(split_p,
                                                  "{\"method\": \"sometimes\"}",
                                                  NULL, &tin, &j, &out, &err),
                         0);
    assay_testkit_table_free(in);
    /* string ids are refused with a hint */
    assay_table *s = assay_testkit_table_new(1);
    assay_testkit_table_add_col(s, "user", ASSAY_COL_STRING);
    assay_testkit_table_set_str(s, 0, 0, "u1", 2);
    int64_t *it = assay_testkit_table_add_col(s, "item", ASSAY_COL_INT64);
    it[0] = 1;
    tin.tables[0] = s;
    assert_int_not_equal(
        assay_testkit_run_tables(split_p, NULL, NULL, &tin, &j, &out, &err), 0);
    assert_non_null(strstr(err.text, "'user'"));
    assay_testkit_table_free(s);
}

/* ml-100k under RecBole's general protocol: 943 users, every row in one
 * part, each user's part sizes by the rule. */
static void test_ml100k(void **state)
{
    (void)state;
    char path[4096], opts[4200];
    if (!rt_ml100k(path, sizeof path))
        skip();
    const assay_plugin *src = rt_load("PLUGIN_SOURCE", "source.interactions");
    snprintf(opts, sizeof opts, "{\"path\": \"%s\"}", path);
    assay_testkit_tables o = {0}, s = {0};
    rt_run(src, opts, 0, NULL, NULL, NULL, &o);
    const assay_table *inter = rt_out(&o, "interactions");
    assert_non_null(inter);
    assert_int_equal(inter->nrows, 100000);
    const char *ports[] = {"interactions"};
    assay_table *in = (assay_table *)inter;
    rt_run(split_p, "{\"method\": \"random\", \"ratios\": [0.8,0.1,0.1]}", 1,
           ports, &in, NULL, &s);
    const assay_table *t[3] = {rt_out(&s, "train"), rt_out(&s, "valid"),
                               rt_out(&s, "test")};
    assert_int_equal(t[0]->nrows + t[1]->nrows + t[2]->nrows, 100000);
    /* per user: valid = test = floor(0.1 n) (ml-100k users have >= 20) */
    size_t cnt[3][944] = {{0}}, tot[944] = {0};
    const int64_t *u = rt_i64(inter, "user");
    for (size_t i = 0; i < inter->nrows; i++)
        tot[u[i]]++;
    for (int k = 0; k < 3; k++) {
        const int64_t *uk = rt_i64(t[k], "user");
        for (size_t i = 0; i < t[k]->nrows; i++)
            cnt[k][uk[i]]++;
    }
    for (size_t x = 1; x <= 943; x++) {
        assert_true(tot[x] >= 20);
        assert_int_equal(cnt[1][x], tot[x] / 10);
        assert_int_equal(cnt[2][x], tot[x] / 10);
        assert_int_equal(cnt[0][x], tot[x] - 2 * (tot[x] / 10));
    }
    rt_free(&s);
    rt_free(&o);
}

int main(void)
{
    split_p = rt_load("PLUGIN", "protocol.split");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_by_user),
        cmocka_unit_test(test_temporal_by_user),
        cmocka_unit_test(test_global),
        cmocka_unit_test(test_leave_one_out),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_ml100k),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
