/*
 * Unit tests of the recsys common code: top-K selection against a full
 * sort (ties, skips, NaN), RecBole's full-ranking metrics on hand-worked
 * lists, the sampled-candidate metrics against the leave-one-out golden
 * vectors, id indexes, time-ordered CSR building, and the thread pool.
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

#include "rc.h"

typedef struct ref_entry {
    float s;
    uint32_t i;
} ref_entry;

static int cmp_ref(const void *a, const void *b)
{
    const ref_entry *x = a, *y = b;
    float sx = x->s != x->s ? -INFINITY : x->s;
    float sy = y->s != y->s ? -INFINITY : y->s;
    if (sx != sy)
        return sx > sy ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

static void test_topk_against_sort(void **state)
{
    (void)state;
    assay_rng r;
    assay_rng_init(&r, 1);
    enum { N = 500 };
    float s[N];
    unsigned char skip[N];
    ref_entry ref[N];
    uint32_t out[N];
    float out_s[N];
    for (int round = 0; round < 200; round++) {
        size_t n = 1 + assay_rng_below(&r, N), m = 0;
        for (size_t i = 0; i < n; i++) {
            /* few distinct values: many ties */
            s[i] = (float)assay_rng_below(&r, round % 2 ? 5 : 1000);
            if (assay_rng_below(&r, 50) == 0)
                s[i] = NAN;
            skip[i] = assay_rng_below(&r, 4) == 0;
            if (!skip[i])
                ref[m++] = (ref_entry){s[i], (uint32_t)i};
        }
        qsort(ref, m, sizeof *ref, cmp_ref);
        size_t k = 1 + assay_rng_below(&r, 40);
        size_t got = rc_topk(s, n, skip, k, out, out_s);
        assert_int_equal(got, k < m ? k : m);
        for (size_t j = 0; j < got; j++)
            assert_int_equal(out[j], ref[j].i);
    }
}

static void test_full_metrics_by_hand(void **state)
{
    (void)state;
    /* ranked list 5, 3, 9, 1; relevant {1, 3, 7} */
    const uint32_t top[] = {5, 3, 9, 1};
    const uint32_t truth[] = {1, 3, 7};
    const size_t ks[] = {2, 4};
    double v[RC_M_COUNT * 2];
    rc_metrics_user(top, 4, truth, 3, ks, 2, v);
    double l3 = 1.0 / log2(3.0), l5 = 1.0 / log2(5.0);
    /* @2: one hit at rank 2 */
    assert_true(fabs(v[RC_M_RECALL * 2 + 0] - 1.0 / 3) < 1e-12);
    assert_true(fabs(v[RC_M_PRECISION * 2 + 0] - 0.5) < 1e-12);
    assert_true(fabs(v[RC_M_HIT * 2 + 0] - 1.0) < 1e-12);
    assert_true(fabs(v[RC_M_MRR * 2 + 0] - 0.5) < 1e-12);
    assert_true(fabs(v[RC_M_NDCG * 2 + 0] - l3 / (1 + l3)) < 1e-12);
    /* @4: hits at ranks 2 and 4; ideal DCG of min(3, 4) = 3 hits */
    assert_true(fabs(v[RC_M_RECALL * 2 + 1] - 2.0 / 3) < 1e-12);
    assert_true(fabs(v[RC_M_PRECISION * 2 + 1] - 0.5) < 1e-12);
    assert_true(fabs(v[RC_M_NDCG * 2 + 1] - (l3 + l5) / (1 + l3 + 0.5)) <
                1e-12);
    assert_true(fabs(v[RC_M_MRR * 2 + 1] - 0.5) < 1e-12);
    /* no hit */
    const uint32_t miss[] = {8, 9};
    rc_metrics_user(miss, 2, truth, 3, ks, 1, v);
    for (int m = 0; m < RC_M_COUNT; m++)
        assert_true(v[m] == 0.0);
    /* a list shorter than k (few items left): precision still over k */
    const uint32_t shortl[] = {3};
    const size_t k10[] = {10};
    rc_metrics_user(shortl, 1, truth, 3, k10, 1, v);
    assert_true(fabs(v[RC_M_PRECISION] - 0.1) < 1e-12);
    assert_true(fabs(v[RC_M_NDCG] - 1.0 / (1 + l3 + 0.5)) < 1e-12);
}

/* Golden leave-one-out vectors: rank = 1 + #candidates scored strictly
 * higher than the positive; HR, NDCG and MRR as in the golden README. */
static void test_sampled_golden(void **state)
{
    (void)state;
    char path[4096], dirs[3][4096];
    const char *src = getenv("ASSAY_SRC"), *sh = getenv("ASSAY_SHARED");
    FILE *f = NULL;
    snprintf(dirs[0], sizeof dirs[0], "%s/tests/golden/ranking",
             src ? src : ".");
    snprintf(dirs[1], sizeof dirs[1], "%s/golden/ranking",
             sh ? sh : "/nonexistent");
    snprintf(dirs[2], sizeof dirs[2], "%s/../shared/golden/ranking",
             src ? src : ".");
    for (int d = 0; d < 3 && !f; d++) {
        snprintf(path, sizeof path, "%s/loo_users.jsonl", dirs[d]);
        f = fopen(path, "r");
    }
    if (!f) {
        printf("skip: no golden leave-one-out vectors (tests/golden/ranking "
               "or the shared folder)\n");
        skip();
    }
    char summary[4096];
    snprintf(summary, sizeof summary, "%.*s/loo_summary.json",
             (int)(strrchr(path, '/') - path), path);
    json_error_t je;
    json_t *sum = json_load_file(summary, 0, &je);
    assert_non_null(sum);
    json_t *mean = json_object_get(sum, "mean");
    const size_t ks[] = {1, 5, 10};
    double acc[RC_M_COUNT * 3] = {0}, mrr = 0;
    size_t n = 0;
    char line[1 << 16];
    while (fgets(line, sizeof line, f)) {
        json_t *rec = json_loads(line, 0, &je);
        assert_non_null(rec);
        json_t *sc = json_object_get(rec, "scores");
        size_t pos = (size_t)json_integer_value(json_object_get(rec, "pos"));
        double p = json_number_value(json_array_get(sc, pos));
        size_t rank = 1;
        for (size_t i = 0; i < json_array_size(sc); i++)
            rank += i != pos && json_number_value(json_array_get(sc, i)) > p;
        double v[RC_M_COUNT * 3];
        rc_metrics_sampled(rank, ks, 3, v);
        for (size_t i = 0; i < RC_M_COUNT * 3; i++)
            acc[i] += v[i];
        mrr += 1.0 / (double)rank;
        n++;
        json_decref(rec);
    }
    fclose(f);
    assert_int_equal(n, 500);
    struct {
        const char *key;
        int m;
        size_t j;
    } chk[] = {{"hr@1", RC_M_HIT, 0},
               {"hr@5", RC_M_HIT, 1},
               {"hr@10", RC_M_HIT, 2},
               {"ndcg@5", RC_M_NDCG, 1},
               {"ndcg@10", RC_M_NDCG, 2}};
    for (size_t c = 0; c < sizeof chk / sizeof *chk; c++) {
        double want = json_number_value(json_object_get(mean, chk[c].key));
        double got = acc[chk[c].m * 3 + chk[c].j] / (double)n;
        assert_true(fabs(got - want) < 1e-12);
    }
    assert_true(fabs(mrr / n -
                     json_number_value(json_object_get(mean, "mrr"))) < 1e-12);
    json_decref(sum);
}

static void test_ids_and_csr(void **state)
{
    (void)state;
    const int64_t u[] = {30, 10, 30, 20, 10, 30};
    const int64_t it[] = {7, 5, 9, 7, 6, 5};
    const int64_t t[] = {5, 2, 5, 1, 1, 3};
    const int64_t *cols[] = {u};
    size_t lens[] = {6};
    rc_ids users, items;
    assay_error err;
    assert_int_equal(rc_ids_build(&users, cols, lens, 1, &err), 0);
    cols[0] = it;
    assert_int_equal(rc_ids_build(&items, cols, lens, 1, &err), 0);
    assert_int_equal(users.n, 3);
    assert_int_equal(items.n, 4);
    assert_int_equal(rc_ids_find(&users, 20), 1);
    assert_int_equal(rc_ids_find(&users, 25), -1);
    /* a table view with an int64 timestamp column */
    assay_column c[3] = {{"user", ASSAY_COL_INT64, (void *)u},
                         {"item", ASSAY_COL_INT64, (void *)it},
                         {"timestamp", ASSAY_COL_INT64, (void *)t}};
    assay_table tab = {6, 3, c};
    rc_inter v;
    assert_int_equal(rc_inter_view(&tab, "train", false, &v, &err), 0);
    rc_csr seq, set;
    assert_int_equal(rc_csr_build(&v, 1, &users, &items, &seq, &err), 0);
    /* user 30: items 7 (t5, row 0), 9 (t5, row 2), 5 (t3) -> 5, 7, 9 */
    assert_int_equal(rc_csr_len(&seq, 2), 3);
    assert_int_equal(items.raw[rc_csr_row(&seq, 2)[0]], 5);
    assert_int_equal(items.raw[rc_csr_row(&seq, 2)[1]], 7);
    assert_int_equal(items.raw[rc_csr_row(&seq, 2)[2]], 9);
    /* user 10: 6 (t1) before 5 (t2) */
    assert_int_equal(items.raw[rc_csr_row(&seq, 0)[0]], 6);
    assert_int_equal(rc_csr_unique(&seq, &set, &err), 0);
    assert_int_equal(rc_csr_row(&set, 0)[0], 0); /* item 5 */
    assert_true(rc_sorted_has(rc_csr_row(&set, 2), 3, 3));
    rc_csr tr;
    assert_int_equal(rc_csr_transpose(&set, items.n, &tr, &err), 0);
    assert_int_equal(rc_csr_len(&tr, 0), 2); /* item 5: users 10, 30 */
    /* a missing column is named */
    tab.ncols = 1;
    assert_int_not_equal(rc_inter_view(&tab, "train", false, &v, &err), 0);
    assert_non_null(strstr(err.text, "'item'"));
    rc_csr_free(&seq);
    rc_csr_free(&set);
    rc_csr_free(&tr);
    rc_ids_free(&users);
    rc_ids_free(&items);
}

static int add_task(void *ctx, size_t t, unsigned w)
{
    (void)w;
    _Atomic long *sum = ctx;
    *sum += (long)t;
    return t == 777 ? ASSAY_EDATA : 0;
}

static void test_pool(void **state)
{
    (void)state;
    rc_pool *p;
    assay_error err;
    assert_int_equal(rc_pool_new(3, &p, &err), 0);
    for (int rep = 0; rep < 50; rep++) {
        _Atomic long sum = 0;
        assert_int_equal(rc_pool_run(p, 500, add_task, &sum), 0);
        assert_int_equal(sum, 500 * 499 / 2);
    }
    _Atomic long sum = 0;
    assert_int_equal(rc_pool_run(p, 1000, add_task, &sum), ASSAY_EDATA);
    rc_pool_free(p);
}

static void test_parse_metric(void **state)
{
    (void)state;
    int m;
    size_t k;
    assay_error err;
    assert_int_equal(rc_parse_metric("ndcg@20", &m, &k, &err), 0);
    assert_int_equal(m, RC_M_NDCG);
    assert_int_equal(k, 20);
    assert_int_not_equal(rc_parse_metric("auc@5", &m, &k, &err), 0);
    assert_int_not_equal(rc_parse_metric("mrr", &m, &k, &err), 0);
    assert_int_not_equal(rc_parse_metric("mrr@x", &m, &k, &err), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topk_against_sort),
        cmocka_unit_test(test_full_metrics_by_hand),
        cmocka_unit_test(test_sampled_golden),
        cmocka_unit_test(test_ids_and_csr),
        cmocka_unit_test(test_pool),
        cmocka_unit_test(test_parse_metric),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
