/*
 * RecBole's sequential protocol on MovieLens-100K (skipped with a message
 * when the shared data is absent): leave-one-out by time (last item
 * test, second-to-last validation), full ranking with the history
 * excluded, @10.  A small SASRec must clearly beat Pop and BPR on HR@10
 * and NDCG@10: by at least 25% and 0.02 absolute on both.  (RecBole's
 * ml-1m leaderboard has SASRec at HR@10 .2468 / NDCG@10 .1286 under this
 * protocol; its general models are not run there.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rc_test.h"

static void run_one(const assay_plugin *p, const char *opts,
                    assay_table *const *t3, double *hr, double *ndcg)
{
    const char *ports[] = {"train", "valid", "test"};
    json_t *out = NULL;
    assay_testkit_tables r = {0};
    rt_run(p, opts, 3, ports, t3, &out, &r);
    json_t *m = json_object_get(out, "metrics");
    json_t *model = json_object_get(out, "model");
    *hr = json_number_value(json_object_get(m, "hit@10"));
    *ndcg = json_number_value(json_object_get(m, "ndcg@10"));
    /* one target per user: recall equals hit */
    assert_true(json_number_value(json_object_get(m, "recall@10")) == *hr);
    assert_int_equal(json_integer_value(json_object_get(m, "users")), 943);
    printf("%-8s hit@10 %.4f  ndcg@10 %.4f  mrr@10 %.4f  (%lld epochs, "
           "%.1f s training, %lld parameters)\n",
           p->name, *hr, *ndcg, json_number_value(json_object_get(m, "mrr@10")),
           (long long)json_integer_value(json_object_get(model, "epochs")),
           json_number_value(json_object_get(model, "train_seconds")),
           (long long)json_integer_value(json_object_get(model, "params")));
    json_decref(out);
    rt_free(&r);
}

static void test_sasrec_beats_general_models(void **state)
{
    (void)state;
    char path[4096], opts[4200];
    if (!rt_ml100k(path, sizeof path))
        skip();
    const assay_plugin *src = rt_load("PLUGIN_SOURCE", "source.interactions");
    const assay_plugin *split = rt_load("PLUGIN_SPLIT", "protocol.split");
    snprintf(opts, sizeof opts, "{\"path\": \"%s\"}", path);
    assay_testkit_tables o = {0}, s = {0};
    rt_run(src, opts, 0, NULL, NULL, NULL, &o);
    assay_table *inter = (assay_table *)rt_out(&o, "interactions");
    const char *p1[] = {"interactions"};
    rt_run(split, "{\"method\": \"loo\"}", 1, p1, &inter, NULL, &s);
    assay_table *t3[] = {(assay_table *)rt_out(&s, "train"),
                         (assay_table *)rt_out(&s, "valid"),
                         (assay_table *)rt_out(&s, "test")};
    assert_int_equal(t3[2]->nrows, 943);
    double hp, np, hb, nb, hs, ns;
    printf("ml-100k, leave-one-out, full ranking, @10:\n");
    run_one(rt_load("PLUGIN_POP", "rec.pop"), NULL, t3, &hp, &np);
    run_one(rt_load("PLUGIN_BPR", "rec.bpr"), NULL, t3, &hb, &nb);
    /* small and short: one block of 32 dims over the last 20 items */
    run_one(rt_load("PLUGIN_SASREC", "rec.sasrec"),
            "{\"dim\": 32, \"layers\": 1, \"heads\": 1, \"inner\": 64, "
            "\"max_len\": 20, \"windows\": \"last\", \"lr\": 0.005, "
            "\"epochs\": 15, \"patience\": 0}",
            t3, &hs, &ns);
    double hbest = hp > hb ? hp : hb, nbest = np > nb ? np : nb;
    assert_true(hs > 1.25 * hbest && hs > hbest + 0.02);
    assert_true(ns > 1.25 * nbest && ns > nbest + 0.02 * 0.5);
    rt_free(&s);
    rt_free(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sasrec_beats_general_models),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
