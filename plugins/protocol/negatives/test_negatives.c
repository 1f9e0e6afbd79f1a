/*
 * protocol.negatives through the real host: one positive and N distinct
 * negatives per test row, never an item of the user's train, test or
 * excluded rows, popularity sampling only draws items seen in training
 * (and favours frequent ones), users who saw almost everything get what
 * is left, and the seed reproduces the lists exactly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rc_test.h"

static const assay_plugin *neg_p;

typedef struct world {
    size_t ntr, nte, nex;
    int64_t tr_u[4000], tr_i[4000], te_u[200], te_i[200], ex_u[200], ex_i[200];
} world;

/* 60 users over items 0..196; user u has 20-29 items of a window in
 * train, one test and one excluded item; user 7 has seen every item
 * except 195 and 196.  40 more users (train only) all have items
 * 150..159, which makes those the most popular. */
static void make_world(world *w)
{
    assay_rng r;
    assay_rng_init(&r, 11);
    memset(w, 0, sizeof *w);
    for (int64_t u = 0; u < 60; u++) {
        size_t k = u == 7 ? 193 : 20 + assay_rng_below(&r, 10);
        for (size_t j = 0; j < k; j++) {
            w->tr_u[w->ntr] = u;
            w->tr_i[w->ntr++] =
                u == 7 ? (int64_t)j : (u * 3 + (int64_t)j) % 190;
        }
        w->te_u[w->nte] = u;
        w->te_i[w->nte++] = u == 7 ? 193 : 195; /* 195: never in train */
        w->ex_u[w->nex] = u;
        w->ex_i[w->nex++] = u == 7 ? 194 : 196;
    }
    for (int64_t u = 1000; u < 1040; u++)
        for (int64_t it = 150; it < 160; it++) {
            w->tr_u[w->ntr] = u;
            w->tr_i[w->ntr++] = it;
        }
}

static bool user_has(const world *w, int64_t u, int64_t it)
{
    for (size_t i = 0; i < w->ntr; i++)
        if (w->tr_u[i] == u && w->tr_i[i] == it)
            return true;
    for (size_t i = 0; i < w->nte; i++)
        if (w->te_u[i] == u && w->te_i[i] == it)
            return true;
    for (size_t i = 0; i < w->nex; i++)
        if (w->ex_u[i] == u && w->ex_i[i] == it)
            return true;
    return false;
}

/* Run with train and test, plus the exclude table or (without it) an
 * items catalogue 0..196, so that the excluded items stay samplable. */
static void run_neg(const world *w, const char *opts, bool with_exclude,
                    assay_testkit_tables *out, json_t **j)
{
    assay_table *tr = rt_table(w->ntr, w->tr_u, w->tr_i, NULL, NULL, false);
    assay_table *te = rt_table(w->nte, w->te_u, w->te_i, NULL, NULL, false);
    assay_table *ex = rt_table(w->nex, w->ex_u, w->ex_i, NULL, NULL, false);
    assay_table *cat = assay_testkit_table_new(197);
    int64_t *ci = assay_testkit_table_add_col(cat, "item", ASSAY_COL_INT64);
    for (int64_t i = 0; i < 197; i++)
        ci[i] = i;
    const char *ports[] = {"train", "test", with_exclude ? "exclude" : "items"};
    assay_table *tabs[] = {tr, te, with_exclude ? ex : cat};
    rt_run(neg_p, opts, 3, ports, tabs, j, out);
    assay_testkit_table_free(tr);
    assay_testkit_table_free(te);
    assay_testkit_table_free(ex);
    assay_testkit_table_free(cat);
}

static void check_lists(const world *w, const assay_table *c, size_t n,
                        size_t *short_user7)
{
    const int64_t *q = rt_i64(c, "query"), *u = rt_i64(c, "user");
    const int64_t *it = rt_i64(c, "item"), *lab = rt_i64(c, "label");
    assert_non_null(q);
    assert_non_null(lab);
    size_t at = 0;
    for (size_t qi = 0; qi < w->nte; qi++) {
        size_t b = at, pos = 0;
        unsigned char used[256] = {0};
        while (at < c->nrows && q[at] == (int64_t)qi) {
            assert_int_equal(u[at], w->te_u[qi]);
            assert_false(used[it[at]]); /* distinct */
            used[it[at]] = 1;
            if (lab[at] == 1) {
                assert_int_equal(it[at], w->te_i[qi]);
                pos++;
            } else {
                assert_int_equal(lab[at], 0);
                /* never a positive of the user, whatever the part */
                assert_false(user_has(w, u[at], it[at]));
            }
            at++;
        }
        assert_int_equal(pos, 1);
        if (w->te_u[qi] == 7)
            *short_user7 = at - b - 1;
        else
            assert_int_equal(at - b, n + 1);
    }
    assert_int_equal(at, c->nrows);
}

static void test_uniform(void **state)
{
    (void)state;
    world w;
    make_world(&w);
    assay_testkit_tables a = {0}, b = {0};
    json_t *ja = NULL;
    size_t got7 = 0;
    run_neg(&w, "{\"n\": 50}", true, &a, &ja);
    const assay_table *ca = rt_out(&a, "candidates");
    check_lists(&w, ca, 50, &got7);
    /* user 7 has 0..194 in its rows: 195 and 196 are left */
    assert_int_equal(got7, 2);
    json_t *info = json_object_get(ja, "info");
    assert_int_equal(json_integer_value(json_object_get(info, "short_queries")),
                     1);
    /* same seed, same lists */
    run_neg(&w, "{\"n\": 50}", true, &b, NULL);
    const assay_table *cb = rt_out(&b, "candidates");
    assert_int_equal(ca->nrows, cb->nrows);
    assert_memory_equal(rt_i64(ca, "item"), rt_i64(cb, "item"),
                        ca->nrows * sizeof(int64_t));
    /* shuffled: the positive is not always first */
    const int64_t *lab = rt_i64(ca, "label");
    size_t first = 0;
    for (size_t i = 0; i < ca->nrows; i++)
        if (lab[i] == 1 &&
            (i == 0 || rt_i64(ca, "query")[i - 1] != rt_i64(ca, "query")[i]))
            first++;
    assert_true(first < w.nte / 2);
    json_decref(ja);
    rt_free(&a);
    rt_free(&b);
}

/* Without the exclude input, excluded items may be drawn: the check must
 * see that (it guards the exclusion logic above from being vacuous). */
static void test_exclude_matters(void **state)
{
    (void)state;
    world w;
    make_world(&w);
    assay_testkit_tables a = {0};
    run_neg(&w, "{\"n\": 150, \"shuffle\": false}", false, &a, NULL);
    const assay_table *c = rt_out(&a, "candidates");
    const int64_t *it = rt_i64(c, "item");
    const int64_t *lab = rt_i64(c, "label");
    size_t hits = 0;
    for (size_t i = 0; i < c->nrows; i++) {
        if (lab[i] == 1) /* positive first when not shuffled */
            assert_true(i == 0 ||
                        rt_i64(c, "query")[i - 1] != rt_i64(c, "query")[i]);
        hits += lab[i] == 0 && it[i] == 196;
    }
    assert_true(hits > 0);
    rt_free(&a);
}

static void test_popularity(void **state)
{
    (void)state;
    world w;
    make_world(&w);
    assay_testkit_tables a = {0};
    size_t got7 = 0;
    run_neg(&w, "{\"n\": 20, \"sampler\": \"popularity\"}", true, &a, NULL);
    const assay_table *c = rt_out(&a, "candidates");
    check_lists(&w, c, 20, &got7);
    /* only items with training interactions are drawn; items 190..199
     * never occur in train except for user 7's 190..192 */
    size_t trc[200] = {0}, drawn[200] = {0};
    for (size_t i = 0; i < w.ntr; i++)
        trc[w.tr_i[i]]++;
    const int64_t *it = rt_i64(c, "item"), *lab = rt_i64(c, "label");
    for (size_t i = 0; i < c->nrows; i++)
        if (lab[i] == 0) {
            assert_true(trc[it[i]] > 0);
            drawn[it[i]]++;
        }
    /* items 150..159 (40+ interactions) are drawn far more often than
     * 190..192 (one interaction each) */
    double hi = 0, lo = 0;
    for (size_t i = 150; i < 160; i++)
        hi += drawn[i] / 10.0;
    for (size_t i = 190; i < 193; i++)
        lo += drawn[i] / 3.0;
    assert_true(hi > 4.0 * lo + 1.0);
    rt_free(&a);
}

static void test_ml100k(void **state)
{
    (void)state;
    char path[4096], opts[4200];
    if (!rt_ml100k(path, sizeof path))
        skip();
    const assay_plugin *src = rt_load("PLUGIN_SOURCE", "source.interactions");
    const assay_plugin *split = rt_load("PLUGIN_SPLIT", "protocol.split");
    snprintf(opts, sizeof opts, "{\"path\": \"%s\"}", path);
    assay_testkit_tables o = {0}, s = {0}, n = {0};
    rt_run(src, opts, 0, NULL, NULL, NULL, &o);
    assay_table *inter = (assay_table *)rt_out(&o, "interactions");
    const char *p1[] = {"interactions"};
    rt_run(split, "{\"method\": \"loo\"}", 1, p1, &inter, NULL, &s);
    const char *p2[] = {"train", "test", "exclude"};
    assay_table *t2[] = {(assay_table *)rt_out(&s, "train"),
                         (assay_table *)rt_out(&s, "test"),
                         (assay_table *)rt_out(&s, "valid")};
    rt_run(neg_p, "{\"n\": 100}", 3, p2, t2, NULL, &n);
    const assay_table *c = rt_out(&n, "candidates");
    assert_int_equal(c->nrows, 943 * 101);
    /* no negative is any item the user ever rated */
    static unsigned char rated[944][1683];
    memset(rated, 0, sizeof rated);
    const int64_t *u = rt_i64(inter, "user"), *it = rt_i64(inter, "item");
    for (size_t i = 0; i < inter->nrows; i++)
        rated[u[i]][it[i]] = 1;
    const int64_t *cu = rt_i64(c, "user"), *ci = rt_i64(c, "item");
    const int64_t *cl = rt_i64(c, "label");
    size_t pos = 0;
    for (size_t i = 0; i < c->nrows; i++) {
        if (cl[i])
            pos++;
        else
            assert_false(rated[cu[i]][ci[i]]);
    }
    assert_int_equal(pos, 943);
    rt_free(&n);
    rt_free(&s);
    rt_free(&o);
}

int main(void)
{
    neg_p = rt_load("PLUGIN", "protocol.negatives");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uniform),
        cmocka_unit_test(test_exclude_matters),
        cmocka_unit_test(test_popularity),
        cmocka_unit_test(test_ml100k),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
