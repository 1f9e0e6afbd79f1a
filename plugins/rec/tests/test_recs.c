/*
 * The rec.* plugins through the real host on small data with known
 * answers: Pop's lists, metrics and candidate ranks worked out by hand,
 * ItemKNN's scores against a brute-force implementation of the shrunk
 * cosine neighbourhood, BPR separating two user communities (and exactly
 * reproducible with one thread), SASRec learning a deterministic
 * successor pattern that Pop cannot, and the error messages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>

#include "rc_test.h"

static const assay_plugin *pop_p, *knn_p, *bpr_p, *sas_p;

static double metric(json_t *out, const char *key)
{
    json_t *m = json_object_get(out, "metrics");
    json_t *v = json_object_get(m, key);
    if (!v) {
        char *s = json_dumps(m, 0);
        fprintf(stderr, "metrics has no %s: %s\n", key, s ? s : "?");
        free(s);
        fail();
    }
    return json_number_value(v);
}

static void test_pop_by_hand(void **state)
{
    (void)state;
    const int64_t tu[] = {1, 1, 2, 2, 3, 3, 3};
    const int64_t ti[] = {11, 10, 10, 12, 10, 11, 13};
    const int64_t tt[] = {6, 5, 1, 2, 1, 2, 3};
    const int64_t eu[] = {1, 2, 2}, ei[] = {12, 11, 14}, et[] = {9, 9, 9};
    assay_table *tr = rt_table(7, tu, ti, tt, NULL, false);
    assay_table *te = rt_table(3, eu, ei, et, NULL, false);
    /* candidates of user 1: 10 (train item, score 3), 14 (0), 12 (1) */
    const int64_t cu[] = {1, 1, 1}, ci[] = {10, 14, 12};
    assay_table *ca = rt_table(3, cu, ci, NULL, NULL, false);
    int64_t *lab = assay_testkit_table_add_col(ca, "label", ASSAY_COL_INT64);
    lab[2] = 1;
    const char *ports[] = {"train", "test", "candidates"};
    assay_table *tabs[] = {tr, te, ca};
    json_t *out = NULL;
    assay_testkit_tables o = {0};
    rt_run(pop_p, "{\"k\": 3, \"metric_ks\": [1, 2]}", 3, ports, tabs, &out,
           &o);
    /* user 1: 12 (1), 13 (1, tie: lower id after), 14 (0); user 2: 11
     * (2), 13 (1), 14 (0) */
    const assay_table *topk = rt_out(&o, "topk");
    assert_int_equal(topk->nrows, 6);
    const int64_t want_u[] = {1, 1, 1, 2, 2, 2};
    const int64_t want_i[] = {12, 13, 14, 11, 13, 14};
    const double want_s[] = {1, 1, 0, 2, 1, 0};
    for (size_t r = 0; r < 6; r++) {
        assert_int_equal(rt_i64(topk, "user")[r], want_u[r]);
        assert_int_equal(rt_i64(topk, "item")[r], want_i[r]);
        assert_int_equal(rt_i64(topk, "rank")[r], (int64_t)(r % 3) + 1);
        assert_true(assay_col_f64(assay_table_col(topk, "score"))[r] ==
                    want_s[r]);
    }
    /* @2: user 1 all hits; user 2 hit 11 at rank 1 of {11, 14} */
    double l3 = 1.0 / log2(3.0);
    assert_true(fabs(metric(out, "recall@2") - 0.75) < 1e-12);
    assert_true(fabs(metric(out, "precision@2") - 0.5) < 1e-12);
    assert_true(fabs(metric(out, "hit@2") - 1.0) < 1e-12);
    assert_true(fabs(metric(out, "mrr@2") - 1.0) < 1e-12);
    assert_true(fabs(metric(out, "ndcg@2") - (1.0 + 1.0 / (1 + l3)) / 2) <
                1e-12);
    assert_true(fabs(metric(out, "ndcg@1") - 1.0) < 1e-12);
    assert_true(fabs(metric(out, "recall@1") - 0.75) < 1e-12);
    /* candidates: the positive (score 1) is beaten by item 10 (3) */
    json_t *sampled =
        json_object_get(json_object_get(out, "metrics"), "sampled");
    assert_true(json_number_value(json_object_get(sampled, "hit@1")) == 0);
    assert_true(json_number_value(json_object_get(sampled, "hit@2")) == 1);
    assert_true(json_number_value(json_object_get(sampled, "mrr")) == 0.5);
    const assay_table *sc = rt_out(&o, "scores");
    const double *s = assay_col_f64(assay_table_col(sc, "score"));
    assert_true(s[0] == 3 && s[1] == 0 && s[2] == 1);
    assert_int_equal(rt_i64(sc, "label")[2], 1);
    /* records: lists with targets, history in time order */
    json_t *lists = json_object_get(out, "lists");
    assert_int_equal(json_array_size(lists), 2);
    json_t *l0 = json_array_get(lists, 0);
    assert_int_equal(json_integer_value(json_object_get(l0, "user")), 1);
    assert_int_equal(
        json_integer_value(json_array_get(json_object_get(l0, "items"), 0)),
        12);
    assert_int_equal(
        json_integer_value(json_array_get(json_object_get(l0, "targets"), 0)),
        12);
    json_t *h0 = json_array_get(json_object_get(out, "history"), 0);
    assert_int_equal(
        json_integer_value(json_array_get(json_object_get(h0, "items"), 0)),
        10); /* t=5 before 11 at t=6 */
    json_t *model = json_object_get(out, "model");
    assert_int_equal(json_integer_value(json_object_get(model, "params")), 5);
    json_decref(out);
    rt_free(&o);
    /* users: all ranks user 3 too, who has only 12 and 14 left */
    rt_run(pop_p, "{\"k\": 3, \"users\": \"all\"}", 2, ports, tabs, &out, &o);
    assert_int_equal(rt_out(&o, "topk")->nrows, 8);
    json_decref(out);
    rt_free(&o);
    assay_testkit_table_free(tr);
    assay_testkit_table_free(te);
    assay_testkit_table_free(ca);
}

/* ---- ItemKNN against brute force --------------------------------------- */

enum { KU = 30, KI = 25 };

static void test_itemknn_brute_force(void **state)
{
    (void)state;
    unsigned char m[KU][KI];
    assay_rng r;
    assay_rng_init(&r, 9);
    int64_t u[KU * KI], it[KU * KI], cu[KU * KI], ci[KU * KI];
    size_t n = 0, nc = 0;
    for (int a = 0; a < KU; a++)
        for (int b = 0; b < KI; b++) {
            m[a][b] = assay_rng_below(&r, 10) < 3;
            if (m[a][b]) {
                u[n] = a;
                it[n++] = b;
            }
            cu[nc] = a;
            ci[nc++] = b;
        }
    /* every item and user occurs */
    for (int b = 0; b < KI; b++) {
        u[n] = b;
        it[n++] = b;
        m[b][b] = 1;
    }
    assay_table *tr = rt_table(n, u, it, NULL, NULL, false);
    assay_table *ca = rt_table(nc, cu, ci, NULL, NULL, false);
    const char *ports[] = {"train", "candidates"};
    assay_table *tabs[] = {tr, ca};
    json_t *out = NULL;
    assay_testkit_tables o = {0};
    rt_run(knn_p, "{\"neighbors\": 5, \"shrink\": 0.5}", 2, ports, tabs, &out,
           &o);
    const double *got =
        assay_col_f64(assay_table_col(rt_out(&o, "scores"), "score"));
    /* reference */
    double sim[KI][KI], cnt[KI] = {0};
    for (int b = 0; b < KI; b++)
        for (int a = 0; a < KU; a++)
            cnt[b] += m[a][b];
    for (int i = 0; i < KI; i++)
        for (int j = 0; j < KI; j++) {
            double co = 0;
            for (int a = 0; a < KU; a++)
                co += m[a][i] && m[a][j];
            sim[i][j] = i == j ? 0 : co / (sqrt(cnt[i]) * sqrt(cnt[j]) + 0.5);
        }
    bool in_nbr[KI][KI]; /* in_nbr[j][i]: i among j's 5 neighbours */
    memset(in_nbr, 0, sizeof in_nbr);
    for (int j = 0; j < KI; j++)
        for (int k = 0; k < 5; k++) {
            int best = -1;
            for (int i = 0; i < KI; i++)
                if (i != j && !in_nbr[j][i] && sim[i][j] > 0 &&
                    (best < 0 || (float)sim[i][j] > (float)sim[best][j]))
                    best = i;
            if (best >= 0)
                in_nbr[j][best] = true;
        }
    size_t checked = 0;
    for (size_t c = 0; c < nc; c++) {
        double want = 0;
        for (int i = 0; i < KI; i++)
            if (m[cu[c]][i] && in_nbr[ci[c]][i])
                want += sim[i][ci[c]];
        assert_true(fabs(got[c] - want) < 1e-5);
        checked += want > 0;
    }
    assert_true(checked > nc / 2);
    json_t *model = json_object_get(out, "model");
    assert_true(json_integer_value(json_object_get(model, "params")) <= KI * 5);
    json_decref(out);
    rt_free(&o);
    assay_testkit_table_free(tr);
    assay_testkit_table_free(ca);
}

/* ---- BPR: two communities ---------------------------------------------- */

static void two_communities(int64_t *u, int64_t *it, size_t *n, int64_t *teu,
                            int64_t *tei, size_t *nt)
{
    assay_rng r;
    assay_rng_init(&r, 21);
    *n = *nt = 0;
    for (int64_t a = 0; a < 80; a++) {
        int64_t base = a < 40 ? 0 : 20;
        unsigned char used[20] = {0};
        for (int k = 0; k < 11; k++) {
            int64_t b;
            do
                b = (int64_t)assay_rng_below(&r, 20);
            while (used[b]);
            used[b] = 1;
            if (k < 10) {
                u[*n] = a;
                it[(*n)++] = base + b;
            } else {
                teu[*nt] = a;
                tei[(*nt)++] = base + b;
            }
        }
    }
}

static void test_bpr_communities(void **state)
{
    (void)state;
    int64_t u[800], it[800], teu[80], tei[80];
    size_t n, nt;
    two_communities(u, it, &n, teu, tei, &nt);
    assay_table *tr = rt_table(n, u, it, NULL, NULL, false);
    assay_table *te = rt_table(nt, teu, tei, NULL, NULL, false);
    const char *ports[] = {"train", "test"};
    assay_table *tabs[] = {tr, te};
    const char *opts = "{\"dim\": 8, \"epochs\": 60, \"lr\": 0.05, "
                       "\"reg\": 0.005, \"init_std\": 0.1}";
    json_t *out = NULL, *out2 = NULL;
    assay_testkit_tables o = {0}, o2 = {0};
    setenv("ASSAY_THREADS", "1", 1);
    rt_run(bpr_p, opts, 2, ports, tabs, &out, &o);
    rt_run(bpr_p, opts, 2, ports, tabs, &out2, &o2);
    unsetenv("ASSAY_THREADS");
    const assay_table *t = rt_out(&o, "topk"), *t2 = rt_out(&o2, "topk");
    assert_int_equal(t->nrows, 800);
    size_t same = 0;
    const int64_t *tu = rt_i64(t, "user"), *ti = rt_i64(t, "item");
    for (size_t r = 0; r < t->nrows; r++)
        same += (tu[r] < 40) == (ti[r] < 20);
    fprintf(stderr, "bpr: %zu of %zu recommendations in the community\n", same,
            t->nrows);
    assert_true(same >= 0.95 * t->nrows);
    /* one thread: bit-identical */
    assert_memory_equal(assay_table_col(t, "score")->data,
                        assay_table_col(t2, "score")->data,
                        t->nrows * sizeof(double));
    json_t *model = json_object_get(out, "model");
    assert_int_equal(json_integer_value(json_object_get(model, "epochs")), 60);
    assert_int_equal(json_integer_value(json_object_get(model, "params")),
                     (80 + 40) * 8);
    assert_int_equal(json_array_size(json_object_get(model, "train_loss")), 60);
    /* the loss goes down */
    json_t *loss = json_object_get(model, "train_loss");
    assert_true(json_number_value(json_array_get(loss, 59)) <
                0.5 * json_number_value(json_array_get(loss, 0)));
    assert_true(metric(out, "hit@10") > 0.6);
    json_decref(out);
    json_decref(out2);
    rt_free(&o);
    rt_free(&o2);
    /* with validation: early stopping keeps the best epoch */
    const char *vports[] = {"train", "valid", "test"};
    assay_table *vtabs[] = {tr, te, te};
    rt_run(bpr_p, "{\"dim\": 8, \"epochs\": 200, \"patience\": 3}", 3, vports,
           vtabs, &out, &o);
    model = json_object_get(out, "model");
    int64_t ep = json_integer_value(json_object_get(model, "epochs"));
    int64_t best = json_integer_value(json_object_get(model, "best_epoch"));
    assert_true(best >= 1 && best <= ep && ep <= 200);
    assert_int_equal(json_array_size(json_object_get(model, "valid_curve")),
                     ep);
    assert_string_equal(
        json_string_value(json_object_get(model, "valid_metric")), "mrr@10");
    json_decref(out);
    rt_free(&o);
    assay_testkit_table_free(tr);
    assay_testkit_table_free(te);
}

/* ---- SASRec: successor pattern ----------------------------------------- */

static void test_sasrec_successor(void **state)
{
    (void)state;
    /* 80 users; each walks i -> i+1 (mod 30) from a random start for 15
     * steps: the next item is a function of the last one */
    int64_t u[1200], it[1200], t[1200], vu[80], vi[80], vt[80], eu[80], ei[80],
        et[80];
    size_t n = 0;
    assay_rng r;
    assay_rng_init(&r, 4);
    for (int64_t a = 0; a < 80; a++) {
        int64_t s = (int64_t)assay_rng_below(&r, 30);
        for (int64_t k = 0; k < 13; k++) {
            u[n] = a;
            it[n] = (s + k) % 30;
            t[n++] = k;
        }
        vu[a] = eu[a] = a;
        vi[a] = (s + 13) % 30;
        ei[a] = (s + 14) % 30;
        vt[a] = 13;
        et[a] = 14;
    }
    assay_table *tr = rt_table(n, u, it, t, NULL, false);
    assay_table *va = rt_table(80, vu, vi, vt, NULL, false);
    assay_table *te = rt_table(80, eu, ei, et, NULL, false);
    const char *ports[] = {"train", "valid", "test"};
    assay_table *tabs[] = {tr, va, te};
    json_t *out = NULL;
    assay_testkit_tables o = {0};
    rt_run(sas_p,
           "{\"dim\": 16, \"heads\": 2, \"layers\": 1, \"inner\": 32, "
           "\"max_len\": 8, \"epochs\": 60, \"lr\": 0.01, \"dropout\": 0.1, "
           "\"batch\": 32, \"patience\": 0, \"metric_ks\": [1, 10]}",
           3, ports, tabs, &out, &o);
    double hr1 = metric(out, "hit@1");
    json_t *model = json_object_get(out, "model");
    fprintf(stderr, "sasrec successor hit@1 %.3f after %lld epochs\n", hr1,
            (long long)json_integer_value(json_object_get(model, "epochs")));
    assert_true(hr1 > 0.9);
    /* parameter count: E, P, one layer, final LayerNorm */
    size_t d = 16, f = 32;
    size_t layer =
        2 * d + 3 * d * d + 3 * d + d * d + d + 2 * d + d * f + f + f * d + d;
    assert_int_equal(json_integer_value(json_object_get(model, "params")),
                     30 * d + 8 * d + layer + 2 * d);
    json_decref(out);
    rt_free(&o);
    /* Pop cannot use the order */
    rt_run(pop_p, "{\"metric_ks\": [1]}", 3, ports, tabs, &out, &o);
    assert_true(metric(out, "hit@1") < 0.2);
    json_decref(out);
    rt_free(&o);
    assay_testkit_table_free(tr);
    assay_testkit_table_free(va);
    assay_testkit_table_free(te);
}

static void test_errors(void **state)
{
    (void)state;
    const int64_t u[] = {1, 2}, it[] = {3, 4};
    assay_table *tr = rt_table(2, u, it, NULL, NULL, false);
    assay_testkit_tables in = {1, {"train"}, {tr}}, o = {0};
    json_t *j = NULL;
    assay_error err = {0};
    assert_int_not_equal(
        assay_testkit_run_tables(bpr_p, "{\"valid_metric\": \"auc@3\"}", NULL,
                                 &in, &j, &o, &err),
        0);
    assert_non_null(strstr(err.text, "valid_metric"));
    assert_int_not_equal(assay_testkit_run_tables(pop_p,
                                                  "{\"users\": \"test\"}", NULL,
                                                  &in, &j, &o, &err),
                         0);
    assert_non_null(strstr(err.text, "test"));
    assert_int_not_equal(assay_testkit_run_tables(sas_p,
                                                  "{\"dim\": 10, \"heads\": 3}",
                                                  NULL, &in, &j, &o, &err),
                         0);
    assert_non_null(strstr(err.text, "heads"));
    assay_testkit_table_free(tr);
    assay_table *bad = assay_testkit_table_new(1);
    int64_t *c = assay_testkit_table_add_col(bad, "uid", ASSAY_COL_INT64);
    c[0] = 1;
    in.tables[0] = bad;
    assert_int_not_equal(
        assay_testkit_run_tables(knn_p, NULL, NULL, &in, &j, &o, &err), 0);
    assert_non_null(strstr(err.text, "'user'"));
    assay_testkit_table_free(bad);
}

int main(void)
{
    pop_p = rt_load("PLUGIN_POP", "rec.pop");
    knn_p = rt_load("PLUGIN_KNN", "rec.itemknn");
    bpr_p = rt_load("PLUGIN_BPR", "rec.bpr");
    sas_p = rt_load("PLUGIN_SASREC", "rec.sasrec");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pop_by_hand),
        cmocka_unit_test(test_itemknn_brute_force),
        cmocka_unit_test(test_bpr_communities),
        cmocka_unit_test(test_sasrec_successor),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
