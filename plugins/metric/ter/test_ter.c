/*
 * test_ter.c - metric.ter: Tercom tokenizer options, golden TER (edits,
 * average reference length, score; sentence and corpus) against sacreBLEU
 * 2.6.0, and the plugin through the host.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "tc_testutil.h"
#include "ter_score.h"

/* input; then default, normalized, normalized+no_punct,
 * normalized+asian, no_punct+asian+case_sensitive (computed with
 * sacreBLEU's TercomTokenizer rules) */
static const char *const tok_cases[][6] = {
    {"He said: \"It's John's (big) day\", 3.5-4 km.",
     "he said: \"it's john's (big) day\", 3.5-4 km.",
     "he said : \" it 's john 's ( big ) day \" , 3.5 - 4 km .",
     "he said it 's john 's big day 35 - 4 km",
     "he said : \" it 's john 's ( big ) day \" , 3.5 - 4 km .",
     "He said It's John's big day 35-4 km"},
    {"\303\207a co\303\273te 1.000,50 \342\202\254!  It's \316\243\316\212\316\243\316\245\316\246\316\237\316\243.",
     "\303\247a co\303\273te 1.000,50 \342\202\254! it's \317\203\316\257\317\203\317\205\317\206\316\277\317\202.",
     "\303\247a co\303\273te 1.000,50 \342\202\254 ! it 's \317\203\316\257\317\203\317\205\317\206\316\277\317\202 .",
     "\303\247a co\303\273te 100050 \342\202\254 it 's \317\203\316\257\317\203\317\205\317\206\316\277\317\202",
     "\303\247a co\303\273te 1.000,50 \342\202\254 ! it 's \317\203\316\257\317\203\317\205\317\206\316\277\317\202 .",
     "\303\207a co\303\273te 100050 \342\202\254 It's \316\243\316\212\316\243\316\245\316\246\316\237\316\243"},
    {"\346\235\261\344\272\254\343\201\257\343\200\201\346\227\245\346\234\254\343\201\256\351\246\226\351\203\275\343\201\247\343\201\231\343\200\202\357\274\210\343\201\257\343\201\204\357\274\211",
     "\346\235\261\344\272\254\343\201\257\343\200\201\346\227\245\346\234\254\343\201\256\351\246\226\351\203\275\343\201\247\343\201\231\343\200\202\357\274\210\343\201\257\343\201\204\357\274\211",
     "\346\235\261\344\272\254\343\201\257\343\200\201\346\227\245\346\234\254\343\201\256\351\246\226\351\203\275\343\201\247\343\201\231\343\200\202\357\274\210\343\201\257\343\201\204\357\274\211",
     "\346\235\261\344\272\254\343\201\257\343\200\201\346\227\245\346\234\254\343\201\256\351\246\226\351\203\275\343\201\247\343\201\231\343\200\202\357\274\210\343\201\257\343\201\204\357\274\211",
     "\346\235\261 \344\272\254 \343\201\257 \343\200\201 \346\227\245 \346\234\254 \343\201\256 \351\246\226 \351\203\275 \343\201\247\343\201\231 \343\200\202 \357\274\210 \343\201\257\343\201\204 \357\274\211",
     "\346\235\261\344\272\254\343\201\257\346\227\245\346\234\254\343\201\256\351\246\226\351\203\275\343\201\247\343\201\231\343\201\257\343\201\204"},
    {"a-\nb\nc &amp; d &quot;e&quot;",
     "a- b c &amp; d &quot;e&quot;",
     "a- b c & d \" e \"",
     "a- b c & d e",
     "a- b c & d \" e \"",
     "a- b c &amp d &quote&quot"},
    {"\357\274\241\357\274\242\357\274\243\357\274\214\357\275\204\357\275\205\357\275\206\357\274\237 what's up",
     "\357\275\201\357\275\202\357\275\203\357\274\214\357\275\204\357\275\205\357\275\206\357\274\237 what's up",
     "\357\275\201\357\275\202\357\275\203\357\274\214\357\275\204\357\275\205\357\275\206\357\274\237 what 's up",
     "\357\275\201\357\275\202\357\275\203\357\274\214\357\275\204\357\275\205\357\275\206\357\274\237 what 's up",
     "\357\275\201\357\275\202\357\275\203 \357\274\214 \357\275\204\357\275\205\357\275\206 \357\274\237 what 's up",
     "\357\274\241\357\274\242\357\274\243\357\275\204\357\275\205\357\275\206 what's up"},
};

static void test_tokenizer(void **state)
{
    (void)state;
    static const ter_config cfgs[5] = {{false, false, false, false},
                                       {true, false, false, false},
                                       {true, true, false, false},
                                       {true, false, true, false},
                                       {false, true, true, true}};
    ter_worker w = {0};
    tc_buf text = {0};
    tc_words words = {0};
    char got[4096];
    for (size_t c = 0; c < sizeof tok_cases / sizeof tok_cases[0]; c++)
        for (size_t k = 0; k < 5; k++) {
            tc_str s = {tok_cases[c][0], strlen(tok_cases[c][0])};
            words.n = 0;
            assert_int_equal(ter_tokenize(&w, &cfgs[k], &s, &text, &words),
                             0);
            size_t o = 0;
            got[0] = '\0';
            for (size_t i = 0; i < words.n; i++) {
                o += (size_t)snprintf(got + o, sizeof got - o, "%s%.*s",
                                      i ? " " : "", (int)words.v[i].len,
                                      words.v[i].p);
            }
            if (strcmp(got, tok_cases[c][k + 1]) != 0)
                fail_msg("case %zu config %zu:\n got  [%s]\n want [%s]", c,
                         k, got, tok_cases[c][k + 1]);
        }
    tc_buf_free(&text);
    tc_words_free(&words);
    ter_worker_free(&w);
}

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

static void test_golden_sentence(void **state)
{
    (void)state;
    json_t *pairs = tct_load_jsonl("text_pairs.jsonl");
    json_t *gold = tct_load_jsonl("sacrebleu_sentence.jsonl");
    assert_non_null(pairs);
    assert_non_null(gold);
    ter_worker w = {0};
    ter_config cfg = {false, false, false, false};
    for (size_t i = 0; i < json_array_size(pairs); i++) {
        json_t *g = json_object_get(json_array_get(gold, i), "ter");
        tc_str hyp, refs[8];
        size_t nr = pair_strings(json_array_get(pairs, i), false, &hyp,
                                 refs);
        int64_t e;
        double len;
        assert_int_equal(ter_segment(&w, &cfg, &hyp, refs, nr, &e, &len), 0);
        if (e != (int64_t)tct_num(g, "num_edits") ||
            len != tct_num(g, "ref_length"))
            fail_msg("item %zu: edits %lld len %g, want %g %g", i,
                     (long long)e, len, tct_num(g, "num_edits"),
                     tct_num(g, "ref_length"));
        double sc = ter_score((double)e, len);
        if (!(fabs(sc - tct_num(g, "score")) <= 1e-4))
            fail_msg("item %zu: score %.12g want %.12g", i, sc,
                     tct_num(g, "score"));
    }
    ter_worker_free(&w);
    json_decref(pairs);
    json_decref(gold);
}

static void test_golden_corpus(void **state)
{
    (void)state;
    json_t *pairs = tct_load_jsonl("text_pairs.jsonl");
    json_t *gold = tct_load_json("sacrebleu_corpus.json");
    assert_non_null(pairs);
    assert_non_null(gold);
    json_t *corpora = json_object_get(gold, "corpora");
    ter_worker w = {0};
    ter_config cfg = {false, false, false, false};
    for (size_t c = 0; c < json_array_size(corpora); c++) {
        json_t *cp = json_array_get(corpora, c);
        bool first = strcmp(json_string_value(json_object_get(
                                cp, "refs_used")),
                            "first reference only") == 0;
        json_t *ids = json_object_get(cp, "item_ids");
        double edits = 0, len = 0;
        for (size_t j = 0; j < json_array_size(ids); j++) {
            size_t id = (size_t)json_integer_value(json_array_get(ids, j));
            tc_str hyp, refs[8];
            size_t nr = pair_strings(json_array_get(pairs, id), first, &hyp,
                                     refs);
            int64_t e;
            double l;
            assert_int_equal(ter_segment(&w, &cfg, &hyp, refs, nr, &e, &l),
                             0);
            edits += (double)e;
            len += l;
        }
        json_t *g = json_object_get(cp, "ter");
        assert_true(edits == tct_num(g, "num_edits"));
        assert_true(fabs(len - tct_num(g, "ref_length")) < 1e-9);
        assert_true(fabs(ter_score(edits, len) - tct_num(g, "score")) <=
                    1e-4);
    }
    ter_worker_free(&w);
    json_decref(pairs);
    json_decref(gold);
}

/* Shifts: a moved block costs one edit. */
static void test_shift(void **state)
{
    (void)state;
    ter_worker w = {0};
    int32_t h[] = {4, 5, 1, 2, 3}, r[] = {1, 2, 3, 4, 5};
    int64_t e;
    assert_int_equal(ter_edits(&w, h, 5, r, 5, &e), 0);
    assert_int_equal(e, 1);
    int32_t h2[] = {1, 2, 3};
    assert_int_equal(ter_edits(&w, h2, 3, r, 0, &e), 0);
    assert_int_equal(e, 3); /* empty reference: every word is an edit */
    assert_int_equal(ter_edits(&w, h2, 0, r, 5, &e), 0);
    assert_int_equal(e, 5);
    assert_true(ter_score(3, 0) == 100.0 && ter_score(0, 0) == 0.0);
    ter_worker_free(&w);
}

static void test_plugin(void **state)
{
    (void)state;
    const assay_plugin *p = tct_plugin("metric.ter");
    assert_non_null(p);
    json_t *pairs = tct_load_jsonl("text_pairs.jsonl");
    json_t *gold = tct_load_jsonl("sacrebleu_sentence.jsonl");
    json_t *corp = tct_load_json("sacrebleu_corpus.json");
    json_t *in = json_object();
    json_object_set_new(in, "items", tct_pairs_records(pairs, true));
    json_t *out = NULL;
    assay_error err = {0};
    if (assay_testkit_run(p, "{\"bootstrap\": 100}", in, &out, &err))
        fail_msg("run: %s", err.text);
    json_t *want = json_object_get(
        json_array_get(json_object_get(corp, "corpora"), 1), "ter");
    json_t *sum = json_object_get(out, "summary");
    assert_true(fabs(tct_num(sum, "score") - tct_num(want, "score")) <=
                1e-4);
    assert_string_equal(
        json_string_value(json_object_get(sum, "signature")),
        "nrefs:1|case:lc|tok:tercom|norm:no|punct:yes|asian:no");
    assert_non_null(json_object_get(sum, "ci"));
    assert_int_equal(json_array_size(json_object_get(out, "items")), 296);
    json_decref(out);
    json_decref(in);
    json_error_t je;
    in = json_loads("{\"items\": [{\"hyp\": \"a\"}]}", 0, &je);
    assert_int_not_equal(assay_testkit_run(p, NULL, in, &out, &err), 0);
    assert_non_null(strstr(err.text, "record 0"));
    json_decref(in);
    json_decref(pairs);
    json_decref(gold);
    json_decref(corp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokenizer),
        cmocka_unit_test(test_golden_sentence),
        cmocka_unit_test(test_golden_corpus),
        cmocka_unit_test(test_shift),
        cmocka_unit_test(test_plugin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
