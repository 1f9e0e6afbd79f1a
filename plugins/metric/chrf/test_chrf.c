/*
 * test_chrf.c - metric.chrf: golden chrF and chrF++ (sentence statistics
 * of the best reference, scores, corpus scores) against sacreBLEU 2.6.0,
 * options, and the plugin through the host.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "chrf_score.h"
#include "tc_testutil.h"

static size_t pair_strings(const json_t *p, bool first, tc_str *hyp,
                           tc_str *refs)
{
    json_t *h = json_object_get(p, "hyp"), *rs = json_object_get(p, "refs");
    hyp->p = json_string_value(h);
    hyp->len = json_string_length(h);
    size_t n = first ? 1 : json_array_size(rs);
    for (size_t k = 0; k < n; k++) {
        refs[k].p = json_string_value(json_array_get(rs, k));
        refs[k].len = json_string_length(json_array_get(rs, k));
    }
    return n;
}

static void check_sentence(const chrf_config *cfg, const char *key)
{
    json_t *pairs = tct_load_jsonl("text_pairs.jsonl");
    json_t *gold = tct_load_jsonl("sacrebleu_sentence.jsonl");
    assert_non_null(pairs);
    assert_non_null(gold);
    assert_int_equal(json_array_size(pairs), json_array_size(gold));
    chrf_worker w = {0};
    int ns = chrf_nstats(cfg);
    for (size_t i = 0; i < json_array_size(pairs); i++) {
        json_t *g = json_object_get(json_array_get(gold, i), key);
        tc_str hyp, refs[8];
        size_t nr = pair_strings(json_array_get(pairs, i), false, &hyp,
                                 refs);
        int64_t st[CHRF_MAX_STATS];
        double d[CHRF_MAX_STATS];
        assert_int_equal(chrf_segment(&w, cfg, &hyp, refs, nr, st), 0);
        json_t *want = json_object_get(g, "stats");
        assert_int_equal(json_array_size(want), ns);
        for (int k = 0; k < ns; k++) {
            if (st[k] != json_integer_value(json_array_get(want, k)))
                fail_msg("%s item %zu stat %d: %lld want %lld", key, i, k,
                         (long long)st[k],
                         (long long)json_integer_value(
                             json_array_get(want, k)));
            d[k] = (double)st[k];
        }
        double score = chrf_fscore(cfg, d), ws = tct_num(g, "score");
        if (!(fabs(score - ws) <= 1e-4))
            fail_msg("%s item %zu: %.12g want %.12g", key, i, score, ws);
    }
    chrf_worker_free(&w);
    json_decref(pairs);
    json_decref(gold);
}

static void test_golden_chrf(void **state)
{
    (void)state;
    chrf_config cfg = {6, 0, 2.0, false, false, false};
    check_sentence(&cfg, "chrf");
}

static void test_golden_chrfpp(void **state)
{
    (void)state;
    chrf_config cfg = {6, 2, 2.0, false, false, false};
    check_sentence(&cfg, "chrf_pp");
}

static void test_golden_corpus(void **state)
{
    (void)state;
    json_t *pairs = tct_load_jsonl("text_pairs.jsonl");
    json_t *gold = tct_load_json("sacrebleu_corpus.json");
    assert_non_null(pairs);
    assert_non_null(gold);
    json_t *corpora = json_object_get(gold, "corpora");
    chrf_worker w = {0};
    for (int pp = 0; pp < 2; pp++) {
        chrf_config cfg = {6, pp ? 2 : 0, 2.0, false, false, false};
        int ns = chrf_nstats(&cfg);
        for (size_t c = 0; c < json_array_size(corpora); c++) {
            json_t *cp = json_array_get(corpora, c);
            bool first = strcmp(json_string_value(json_object_get(
                                    cp, "refs_used")),
                                "first reference only") == 0;
            json_t *ids = json_object_get(cp, "item_ids");
            double sum[CHRF_MAX_STATS] = {0};
            for (size_t j = 0; j < json_array_size(ids); j++) {
                size_t id = (size_t)json_integer_value(json_array_get(ids, j));
                tc_str hyp, refs[8];
                size_t nr = pair_strings(json_array_get(pairs, id), first,
                                         &hyp, refs);
                int64_t st[CHRF_MAX_STATS];
                assert_int_equal(chrf_segment(&w, &cfg, &hyp, refs, nr, st),
                                 0);
                for (int k = 0; k < ns; k++)
                    sum[k] += (double)st[k];
            }
            double ws = tct_num(json_object_get(cp, pp ? "chrf_pp" : "chrf"),
                                "score");
            double got = chrf_fscore(&cfg, sum);
            if (!(fabs(got - ws) <= 1e-4))
                fail_msg("corpus %zu (%s): %.12g want %.12g", c,
                         pp ? "chrF++" : "chrF", got, ws);
        }
    }
    chrf_worker_free(&w);
    json_decref(pairs);
    json_decref(gold);
}

/* Options beyond the golden defaults, checked by hand. */
static void test_options(void **state)
{
    (void)state;
    chrf_worker w = {0};
    int64_t st[CHRF_MAX_STATS];
    /* lowercase: case differences vanish */
    chrf_config lc = {6, 0, 2.0, true, false, false};
    tc_str h = {"ÉCOLE Été", 12}, r = {"école été", 12};
    assert_int_equal(chrf_segment(&w, &lc, &h, &r, 1, st), 0);
    double d[CHRF_MAX_STATS];
    for (int k = 0; k < 18; k++)
        d[k] = (double)st[k];
    assert_true(fabs(chrf_fscore(&lc, d) - 100.0) < 1e-9);
    /* code points, not bytes: "é" is one character */
    assert_int_equal(st[0], 8); /* 8 characters without the space */
    /* whitespace kept: "a b" has 3 unigrams, 2 bigrams */
    chrf_config ws = {2, 0, 2.0, false, true, false};
    tc_str h2 = {"a b", 3}, r2 = {"ab", 2};
    assert_int_equal(chrf_segment(&w, &ws, &h2, &r2, 1, st), 0);
    assert_int_equal(st[0], 3);
    assert_int_equal(st[2], 2);
    assert_int_equal(st[3], 2);
    assert_int_equal(st[5], 0);
    /* word split: "(hi)" -> "(hi", ")"; "x," -> "x", "," */
    chrf_config wo = {1, 1, 2.0, false, false, false};
    tc_str h3 = {"(hi) x,", 7}, r3 = {"(hi) x ,", 8};
    assert_int_equal(chrf_segment(&w, &wo, &h3, &r3, 1, st), 0);
    assert_int_equal(st[3], 4);
    assert_int_equal(st[4], 4);
    assert_int_equal(st[5], 4);
    /* eps smoothing averages F over all orders */
    chrf_config eps = {2, 0, 2.0, false, false, true};
    double s2[6] = {2, 2, 2, 1, 1, 0};
    double f1 = 1.0, f2 = 1e-16;
    (void)f2;
    assert_true(fabs(chrf_fscore(&eps, s2) - 100 * (f1 + 1e-16) / 2) <
                1e-9);
    chrf_worker_free(&w);
}

static void test_plugin(void **state)
{
    (void)state;
    const assay_plugin *p = tct_plugin("metric.chrf");
    assert_non_null(p);
    json_t *pairs = tct_load_jsonl("text_pairs.jsonl");
    json_t *gold = tct_load_jsonl("sacrebleu_sentence.jsonl");
    json_t *corp = tct_load_json("sacrebleu_corpus.json");
    json_t *in = json_object();
    json_object_set_new(in, "items", tct_pairs_records(pairs, false));
    json_t *out = NULL;
    assay_error err = {0};
    if (assay_testkit_run(p, "{\"word_order\": 2, \"bootstrap\": 100}", in,
                          &out, &err))
        fail_msg("run: %s", err.text);
    json_t *c0 = json_array_get(json_object_get(corp, "corpora"), 0);
    json_t *sum = json_object_get(out, "summary");
    double score = tct_num(sum, "score");
    assert_true(fabs(score - tct_num(json_object_get(c0, "chrf_pp"),
                                     "score")) <= 1e-4);
    assert_string_equal(
        json_string_value(json_object_get(sum, "signature")),
        "nrefs:var|case:mixed|eff:yes|nc:6|nw:2|space:no");
    json_t *ci = json_object_get(sum, "ci");
    assert_true(tct_num(ci, "low") <= score && score <= tct_num(ci, "high"));
    json_t *items = json_object_get(out, "items");
    assert_int_equal(json_array_size(items), json_array_size(pairs));
    for (size_t i = 0; i < json_array_size(items); i++) {
        double ws = tct_num(
            json_object_get(json_array_get(gold, i), "chrf_pp"), "score");
        assert_true(fabs(tct_num(json_array_get(items, i), "score") - ws) <=
                    1e-4);
    }
    json_decref(out);
    /* malformed input names the record and field */
    json_error_t je;
    json_t *bad = json_loads("{\"items\": [{\"hyp\": \"a\", \"refs\": "
                             "[]}]}", 0, &je);
    assert_int_not_equal(assay_testkit_run(p, NULL, bad, &out, &err), 0);
    assert_non_null(strstr(err.text, "record 0"));
    assert_non_null(strstr(err.text, "refs"));
    json_decref(bad);
    json_decref(in);
    json_decref(pairs);
    json_decref(gold);
    json_decref(corp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_chrf),
        cmocka_unit_test(test_golden_chrfpp),
        cmocka_unit_test(test_golden_corpus),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_plugin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
