/*
 * test_bleu.c - metric.bleu: sacreBLEU tokenizers, golden sentence and
 * corpus BLEU (tests/golden/text, sacreBLEU 2.6.0), smoothing methods, and
 * the plugin through the real host (testkit) when it is built.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "bleu_score.h"
#include "tc_testutil.h"

/* ---- tokenizers --------------------------------------------------------- */

/* input, then the expected output of none, 13a, intl, char, zh (computed
 * with sacreBLEU's own regular expressions and tables) */
static const char *const tok_cases[][6] = {
    {"Hello, world! It's 3.14 and 1,000-2 (ok).",
     "Hello, world! It's 3.14 and 1,000-2 (ok).",
     "Hello , world ! It's 3.14 and 1,000 - 2 ( ok ) .",
     "Hello , world ! It ' s 3.14 and 1,000-2 ( ok ) .",
     "H e l l o , w o r l d ! I t ' s 3 . 1 4 a n d 1 , 0 0 0 - 2 ( o k ) .",
     "Hello , world ! It's 3.14 and 1,000 - 2 ( ok ) ."},
    {"\303\234ber 1.000 Menschen \342\200\224 na\303\257ve \302\253 quoted \302\273 \342\202\2544.50 tourists\342\200\246",
     "\303\234ber 1.000 Menschen \342\200\224 na\303\257ve \302\253 quoted \302\273 \342\202\2544.50 tourists\342\200\246",
     "\303\234ber 1.000 Menschen \342\200\224 na\303\257ve \302\253 quoted \302\273 \342\202\2544.50 tourists\342\200\246",
     "\303\234ber 1.000 Menschen \342\200\224 na\303\257ve \302\253 quoted \302\273 \342\202\254 4.50 tourists \342\200\246",
     "\303\234 b e r 1 . 0 0 0 M e n s c h e n \342\200\224 n a \303\257 v e \302\253 q u o t e d \302\273 \342\202\254 4 . 5 0 t o u r i s t s \342\200\246",
     "\303\234ber 1.000 Menschen \342\200\224 na\303\257ve \302\253 quoted \302\273 \342\202\254 4.50 tourists \342\200\246"},
    {"\346\210\221\345\226\234\346\254\242\345\214\227\344\272\254\343\200\202\344\275\240\345\221\242\357\274\237 Yes, 100%!",
     "\346\210\221\345\226\234\346\254\242\345\214\227\344\272\254\343\200\202\344\275\240\345\221\242\357\274\237 Yes, 100%!",
     "\346\210\221\345\226\234\346\254\242\345\214\227\344\272\254\343\200\202\344\275\240\345\221\242\357\274\237 Yes , 100 % !",
     "\346\210\221\345\226\234\346\254\242\345\214\227\344\272\254 \343\200\202 \344\275\240\345\221\242 \357\274\237 Yes , 100 % !",
     "\346\210\221 \345\226\234 \346\254\242 \345\214\227 \344\272\254 \343\200\202 \344\275\240 \345\221\242 \357\274\237 Y e s , 1 0 0 % !",
     "\346\210\221 \345\226\234 \346\254\242 \345\214\227 \344\272\254 \343\200\202 \344\275\240 \345\221\242 \357\274\237 Yes , 100 % !"},
    {"a.b,c 12.5. x-1 9-",
     "a.b,c 12.5. x-1 9-",
     "a . b , c 12.5 . x-1 9 -",
     "a . b , c 12.5 . x - 1 9-",
     "a . b , c 1 2 . 5 . x - 1 9 -",
     "a . b , c 12.5 . x-1 9 -"},
    {"&quot;amp&amp;lt; <skipped> done-\nnext\nline",
     "&quot;amp&amp;lt; <skipped> done- next line",
     "\" amp < donenext line",
     "& quot ; amp & amp ; lt ; < skipped > done - next line",
     "& q u o t ; a m p & a m p ; l t ; < s k i p p e d > d o n e - n e x t l i n e",
     "& quot ; amp & amp ; lt ; < skipped > done- next line"},
    {"\317\200 \342\211\210 3.14159, e\302\262 \342\211\210 2.71828",
     "\317\200 \342\211\210 3.14159, e\302\262 \342\211\210 2.71828",
     "\317\200 \342\211\210 3.14159 , e\302\262 \342\211\210 2.71828",
     "\317\200 \342\211\210 3.14159 , e\302\262 \342\211\210 2.71828",
     "\317\200 \342\211\210 3 . 1 4 1 5 9 , e \302\262 \342\211\210 2 . 7 1 8 2 8",
     "\317\200 \342\211\210 3.14159 , e\302\262 \342\211\210 2.71828"},
    {"  tabs\tand\302\240nbsp\343\200\200ideo  ",
     "tabs and nbsp ideo",
     "tabs and nbsp ideo",
     "tabs and nbsp ideo",
     "t a b s a n d n b s p i d e o",
     "tabs and nbsp ideo"},
    {"Zo\303\253's r\303\251sum\303\251: 6 languages.",
     "Zo\303\253's r\303\251sum\303\251: 6 languages.",
     "Zo\303\253's r\303\251sum\303\251 : 6 languages .",
     "Zo\303\253 ' s r\303\251sum\303\251 : 6 languages .",
     "Z o \303\253 ' s r \303\251 s u m \303\251 : 6 l a n g u a g e s .",
     "Zo\303\253's r\303\251sum\303\251 : 6 languages ."},
    {"x..y,,z 1..2 ,5 .5",
     "x..y,,z 1..2 ,5 .5",
     "x . . y , , z 1 . . 2 , 5 . 5",
     "x . . y , , z 1 . . 2 , 5 . 5",
     "x . . y , , z 1 . . 2 , 5 . 5",
     "x . . y , , z 1 . . 2 , 5 . 5"},
};

/* Join tokens with single spaces into buf. */
static void join_words(const tc_words *w, char *buf, size_t cap)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < w->n; i++) {
        assert_true(o + w->v[i].len + 2 < cap);
        if (i)
            buf[o++] = ' ';
        memcpy(buf + o, w->v[i].p, w->v[i].len);
        o += w->v[i].len;
        buf[o] = '\0';
    }
}

static void test_tokenizers(void **state)
{
    (void)state;
    static const tc_tokenizer kinds[] = {TC_TOK_NONE, TC_TOK_13A,
                                         TC_TOK_INTL, TC_TOK_CHAR, TC_TOK_ZH};
    tc_scratch w = {0};
    tc_buf text = {0};
    tc_words words = {0};
    char got[4096];
    for (size_t c = 0; c < sizeof tok_cases / sizeof tok_cases[0]; c++) {
        const char *s = tok_cases[c][0];
        size_t n = tc_rstrip_len(s, strlen(s));
        for (size_t k = 0; k < 5; k++) {
            words.n = 0;
            assert_int_equal(tc_tokenize(kinds[k], s, n, &w, &text, &words),
                             0);
            join_words(&words, got, sizeof got);
            if (strcmp(got, tok_cases[c][k + 1]) != 0)
                fail_msg("case %zu tokenizer %s:\n got  [%s]\n want [%s]", c,
                         tc_tokenizer_name(kinds[k]), got,
                         tok_cases[c][k + 1]);
            words.n = 0;
            assert_int_equal(
                tc_tokenize_ref(kinds[k], s, n, &w, &text, &words), 0);
            join_words(&words, got, sizeof got);
            assert_string_equal(got, tok_cases[c][k + 1]);
        }
    }
    tc_scratch_free(&w);
    tc_buf_free(&text);
    tc_words_free(&words);
}

/* The fast 13a/zh tokenizer equals the literal substitution passes on
 * random strings full of the characters the rules care about. */
static void test_tokenizer_fuzz(void **state)
{
    (void)state;
    static const char *const atoms[] = {
        "a", "Z", "1", "9", "0", ".", ",", "-", " ", "  ", "(", "'", "\n",
        "&", "&quot;", "&amp;", "<skipped>", "\303\251", "\344\270\255",
        "\342\200\224", "\302\240", "\t", "..", ",,", "-\n", "5.", ".5"};
    size_t na = sizeof atoms / sizeof atoms[0];
    tc_scratch w1 = {0}, w2 = {0};
    tc_buf t1 = {0}, t2 = {0};
    tc_words o1 = {0}, o2 = {0};
    char s[512], g1[2048], g2[2048];
    assay_rng r;
    assay_rng_init(&r, 7);
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = 0, k = assay_rng_below(&r, 14);
        for (size_t q = 0; q < k; q++) {
            const char *a = atoms[assay_rng_below(&r, na)];
            size_t al = strlen(a);
            memcpy(s + len, a, al);
            len += al;
        }
        s[len] = '\0';
        for (int z = 0; z < 2; z++) {
            tc_tokenizer tk = z ? TC_TOK_ZH : TC_TOK_13A;
            o1.n = o2.n = 0;
            assert_int_equal(tc_tokenize(tk, s, len, &w1, &t1, &o1), 0);
            assert_int_equal(tc_tokenize_ref(tk, s, len, &w2, &t2, &o2), 0);
            join_words(&o1, g1, sizeof g1);
            join_words(&o2, g2, sizeof g2);
            if (strcmp(g1, g2) != 0)
                fail_msg("%s on [%s]:\n fast [%s]\n ref  [%s]",
                         tc_tokenizer_name(tk), s, g1, g2);
        }
    }
    tc_scratch_free(&w1);
    tc_scratch_free(&w2);
    tc_buf_free(&t1);
    tc_buf_free(&t2);
    tc_words_free(&o1);
    tc_words_free(&o2);
}

/* The 13a tokenization of every golden pair equals sacreBLEU's. */
static void test_golden_tok13a(void **state)
{
    (void)state;
    json_t *pairs = tct_load_jsonl("text_pairs.jsonl");
    json_t *toks = tct_load_jsonl("sacrebleu_tok13a.jsonl");
    assert_non_null(pairs);
    assert_non_null(toks);
    assert_int_equal(json_array_size(pairs), json_array_size(toks));
    tc_scratch w = {0};
    tc_buf text = {0};
    tc_words words = {0};
    static char got[1 << 16];
    for (size_t i = 0; i < json_array_size(pairs); i++) {
        json_t *p = json_array_get(pairs, i), *t = json_array_get(toks, i);
        json_t *refs = json_object_get(p, "refs");
        for (size_t r = 0; r <= json_array_size(refs); r++) {
            json_t *src = r == 0 ? json_object_get(p, "hyp")
                                 : json_array_get(refs, r - 1);
            json_t *want = r == 0 ? json_object_get(t, "hyp_tok13a")
                                  : json_array_get(
                                        json_object_get(t, "refs_tok13a"),
                                        r - 1);
            const char *s = json_string_value(src);
            size_t n = tc_rstrip_len(s, json_string_length(src));
            words.n = 0;
            assert_int_equal(
                tc_tokenize(TC_TOK_13A, s, n, &w, &text, &words), 0);
            join_words(&words, got, sizeof got);
            if (strcmp(got, json_string_value(want)) != 0)
                fail_msg("pair %zu string %zu:\n got  [%s]\n want [%s]", i,
                         r, got, json_string_value(want));
        }
    }
    tc_scratch_free(&w);
    tc_buf_free(&text);
    tc_words_free(&words);
    json_decref(pairs);
    json_decref(toks);
}

/* ---- golden BLEU --------------------------------------------------------- */

static void check_result(size_t id, const char *what, const bleu_result *r,
                         const json_t *want)
{
    double ws = tct_num(want, "score");
    if (!(fabs(r->score - ws) <= 1e-4))
        fail_msg("item %zu %s: score %.12g, want %.12g", id, what, r->score,
                 ws);
    for (int n = 0; n < 4; n++) {
        json_int_t c = json_integer_value(
            json_array_get(json_object_get(want, "counts"), n));
        json_int_t t = json_integer_value(
            json_array_get(json_object_get(want, "totals"), n));
        double p = json_number_value(
            json_array_get(json_object_get(want, "precisions"), n));
        if (r->counts[n] != (double)c || r->totals[n] != (double)t)
            fail_msg("item %zu %s: order %d counts %g/%g, want %lld/%lld", id,
                     what, n + 1, r->counts[n], r->totals[n], (long long)c,
                     (long long)t);
        if (!(fabs(r->precisions[n] - p) <= 1e-9))
            fail_msg("item %zu %s: precision %d %.15g, want %.15g", id, what,
                     n + 1, r->precisions[n], p);
    }
    if (r->sys_len != (int64_t)tct_num(want, "sys_len") ||
        r->ref_len != (int64_t)tct_num(want, "ref_len"))
        fail_msg("item %zu %s: lengths %lld/%lld", id, what,
                 (long long)r->sys_len, (long long)r->ref_len);
    if (!(fabs(r->bp - tct_num(want, "bp")) <= 1e-12))
        fail_msg("item %zu %s: bp %.15g want %.15g", id, what, r->bp,
                 tct_num(want, "bp"));
}

/* Fill hyp/refs of a golden pair (first reference only when `first`). */
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
    assert_int_equal(json_array_size(pairs), 296);
    bleu_worker w = {0};
    bleu_config cfg = {TC_TOK_13A, false, 4};
    for (size_t i = 0; i < json_array_size(pairs); i++) {
        json_t *p = json_array_get(pairs, i), *g = json_array_get(gold, i);
        assert_int_equal(json_integer_value(json_object_get(p, "id")),
                         json_integer_value(json_object_get(g, "id")));
        tc_str hyp, refs[8];
        size_t nr = pair_strings(p, false, &hyp, refs);
        bleu_stats st;
        bleu_result r;
        assert_int_equal(bleu_segment(&w, &cfg, &hyp, refs, nr, &st), 0);
        bleu_compute(&st, 4, BLEU_SMOOTH_EXP, -1, true, &r);
        check_result(i, "bleu", &r, json_object_get(g, "bleu"));
        bleu_compute(&st, 4, BLEU_SMOOTH_EXP, -1, false, &r);
        check_result(i, "bleu_no_eff_order", &r,
                     json_object_get(g, "bleu_no_eff_order"));
    }
    bleu_worker_free(&w);
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
    assert_true(json_array_size(corpora) >= 6);
    bleu_worker w = {0};
    bleu_config cfg = {TC_TOK_13A, false, 4};
    for (size_t c = 0; c < json_array_size(corpora); c++) {
        json_t *cp = json_array_get(corpora, c);
        bool first = strcmp(json_string_value(json_object_get(
                                cp, "refs_used")),
                            "first reference only") == 0;
        json_t *ids = json_object_get(cp, "item_ids");
        bleu_stats sum = {0};
        for (size_t j = 0; j < json_array_size(ids); j++) {
            size_t id = (size_t)json_integer_value(json_array_get(ids, j));
            tc_str hyp, refs[8];
            size_t nr = pair_strings(json_array_get(pairs, id), first, &hyp,
                                     refs);
            bleu_stats st;
            assert_int_equal(bleu_segment(&w, &cfg, &hyp, refs, nr, &st), 0);
            bleu_stats_add(&sum, &st);
        }
        bleu_result r;
        bleu_compute(&sum, 4, BLEU_SMOOTH_EXP, -1, false, &r);
        check_result(c, json_string_value(json_object_get(cp, "name")), &r,
                     json_object_get(cp, "bleu"));
    }
    bleu_worker_free(&w);
    json_decref(pairs);
    json_decref(gold);
}

/* Packed integer n-gram keys give the same statistics as the general
 * table, on the golden pairs and on random word soup. */
static void test_packed_equals_ref(void **state)
{
    (void)state;
    json_t *pairs = tct_load_jsonl("text_pairs.jsonl");
    assert_non_null(pairs);
    bleu_worker w1 = {0}, w2 = {0};
    bleu_config cfg = {TC_TOK_13A, false, 4};
    for (size_t i = 0; i < json_array_size(pairs); i++) {
        tc_str hyp, refs[8];
        size_t nr = pair_strings(json_array_get(pairs, i), false, &hyp, refs);
        bleu_stats a, b;
        assert_int_equal(bleu_segment(&w1, &cfg, &hyp, refs, nr, &a), 0);
        assert_int_equal(bleu_segment_ref(&w2, &cfg, &hyp, refs, nr, &b), 0);
        assert_memory_equal(&a, &b, sizeof a);
    }
    static const char *const words[] = {"a", "b", "c", "the", "cat", "."};
    assay_rng r;
    assay_rng_init(&r, 99);
    char hs[512], rs[3][512];
    for (int iter = 0; iter < 3000; iter++) {
        tc_str hyp, refs[3];
        char *bufs[4] = {hs, rs[0], rs[1], rs[2]};
        size_t nr = 1 + assay_rng_below(&r, 3);
        for (size_t q = 0; q <= nr; q++) {
            size_t len = 0, k = assay_rng_below(&r, 30);
            for (size_t j = 0; j < k; j++)
                len += (size_t)snprintf(bufs[q] + len, 512 - len, "%s ",
                                        words[assay_rng_below(&r, 6)]);
            if (q == 0) {
                hyp.p = hs;
                hyp.len = len;
            } else {
                refs[q - 1].p = bufs[q];
                refs[q - 1].len = len;
            }
        }
        bleu_stats a, b;
        assert_int_equal(bleu_segment(&w1, &cfg, &hyp, refs, nr, &a), 0);
        assert_int_equal(bleu_segment_ref(&w2, &cfg, &hyp, refs, nr, &b), 0);
        assert_memory_equal(&a, &b, sizeof a);
    }
    bleu_worker_free(&w1);
    bleu_worker_free(&w2);
    json_decref(pairs);
}

/* ---- smoothing methods (sacreBLEU's compute_bleu rules) ------------------ */

static void test_smoothing(void **state)
{
    (void)state;
    bleu_stats st = {.sys_len = 4, .ref_len = 5,
                     .correct = {3, 1, 0, 0}, .total = {4, 3, 2, 1}};
    bleu_result r;
    double bp = exp(1.0 - 5.0 / 4.0);
    double p1 = 75.0, p2 = 100.0 / 3.0;

    bleu_compute(&st, 4, BLEU_SMOOTH_NONE, -1, false, &r);
    assert_true(r.score < 1e-300);
    assert_true(fabs(r.bp - bp) < 1e-15);

    bleu_compute(&st, 4, BLEU_SMOOTH_FLOOR, -1, false, &r);
    double want = bp * exp((log(p1) + log(p2) + log(100.0 * 0.1 / 2) +
                            log(100.0 * 0.1 / 1)) / 4);
    assert_true(fabs(r.score - want) < 1e-12);
    bleu_compute(&st, 4, BLEU_SMOOTH_FLOOR, 0.5, false, &r);
    want = bp * exp((log(p1) + log(p2) + log(25.0) + log(50.0)) / 4);
    assert_true(fabs(r.score - want) < 1e-12);

    bleu_compute(&st, 4, BLEU_SMOOTH_ADDK, -1, false, &r);
    want = bp * exp((log(75.0) + log(50.0) + log(100.0 / 3.0) + log(50.0)) /
                    4);
    assert_true(fabs(r.score - want) < 1e-12);
    assert_true(r.counts[1] == 2.0 && r.totals[3] == 2.0);

    bleu_compute(&st, 4, BLEU_SMOOTH_EXP, -1, false, &r);
    want = bp * exp((log(p1) + log(p2) + log(25.0) + log(25.0)) / 4);
    assert_true(fabs(r.score - want) < 1e-12);

    /* no match at all: 0 whatever the smoothing */
    bleu_stats z = {.sys_len = 3, .ref_len = 3, .total = {3, 2, 1, 0}};
    bleu_compute(&z, 4, BLEU_SMOOTH_FLOOR, -1, true, &r);
    assert_true(r.score == 0.0);
    /* empty hypothesis: bp 0 */
    bleu_stats e = {.sys_len = 0, .ref_len = 7};
    bleu_compute(&e, 4, BLEU_SMOOTH_EXP, -1, true, &r);
    assert_true(r.score == 0.0 && r.bp == 0.0);
}

/* Multiple references: clipping by the max count over references and
 * the closest length (ties: shorter). */
static void test_multiref(void **state)
{
    (void)state;
    bleu_worker w = {0};
    bleu_config cfg = {TC_TOK_13A, false, 4};
    tc_str hyp = {"the the the cat", 15};
    tc_str refs[2] = {{"the cat sat", 11}, {"the the dog is here", 19}};
    bleu_stats st;
    assert_int_equal(bleu_segment(&w, &cfg, &hyp, refs, 2, &st), 0);
    assert_int_equal(st.correct[0], 3); /* the x2 (ref 2) + cat */
    assert_int_equal(st.total[0], 4);
    assert_int_equal(st.correct[1], 2); /* "the the", "the cat" */
    assert_int_equal(st.sys_len, 4);
    assert_int_equal(st.ref_len, 3); /* |4-3| == |4-5|: the shorter */
    /* lowercase option */
    bleu_config lc = {TC_TOK_13A, true, 4};
    tc_str h2 = {"The CAT", 7}, r2 = {"the cat", 7};
    assert_int_equal(bleu_segment(&w, &lc, &h2, &r2, 1, &st), 0);
    assert_int_equal(st.correct[0], 2);
    assert_int_equal(st.correct[1], 1);
    bleu_worker_free(&w);
}


/* ---- the plugin through the host ----------------------------------------- */

static void test_plugin_golden(void **state)
{
    (void)state;
    const assay_plugin *p = tct_plugin("metric.bleu");
    assert_non_null(p);
    json_t *pairs = tct_load_jsonl("text_pairs.jsonl");
    json_t *gold = tct_load_jsonl("sacrebleu_sentence.jsonl");
    json_t *corp = tct_load_json("sacrebleu_corpus.json");
    assert_non_null(pairs);
    assert_non_null(gold);
    assert_non_null(corp);
    json_t *in = json_object();
    json_object_set_new(in, "items", tct_pairs_records(pairs, false));
    json_t *out = NULL;
    assay_error err = {0};
    int rc = assay_testkit_run(p, "{\"bootstrap\": 200}", in, &out, &err);
    if (rc)
        fail_msg("run: %s", err.text);
    json_t *sum = json_object_get(out, "summary");
    json_t *want = json_object_get(
        json_array_get(json_object_get(corp, "corpora"), 0), "bleu");
    double score = tct_num(sum, "score");
    assert_true(fabs(score - tct_num(want, "score")) <= 1e-4);
    assert_int_equal(tct_num(sum, "sys_len"), tct_num(want, "sys_len"));
    assert_int_equal(tct_num(sum, "ref_len"), tct_num(want, "ref_len"));
    assert_string_equal(
        json_string_value(json_object_get(sum, "signature")),
        "nrefs:var|case:mixed|eff:no|tok:13a|smooth:exp");
    json_t *ci = json_object_get(sum, "ci");
    assert_non_null(ci);
    assert_true(tct_num(ci, "low") < score && score < tct_num(ci, "high"));
    json_t *items = json_object_get(out, "items");
    assert_int_equal(json_array_size(items), json_array_size(pairs));
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *it = json_array_get(items, i);
        double ws = tct_num(json_object_get(json_array_get(gold, i), "bleu"),
                            "score");
        assert_int_equal(json_integer_value(json_object_get(it, "id")), i);
        if (!(fabs(tct_num(it, "score") - ws) <= 1e-4))
            fail_msg("item %zu: %.10g want %.10g", i, tct_num(it, "score"),
                     ws);
    }
    /* same seed, same interval */
    json_t *out2 = NULL;
    assert_int_equal(
        assay_testkit_run(p, "{\"bootstrap\": 200}", in, &out2, &err), 0);
    assert_true(json_equal(json_object_get(out, "summary"),
                           json_object_get(out2, "summary")));
    json_decref(out2);
    json_decref(out);
    json_decref(in);
    json_decref(pairs);
    json_decref(gold);
    json_decref(corp);
}

static void test_plugin_errors(void **state)
{
    (void)state;
    const assay_plugin *p = tct_plugin("metric.bleu");
    assert_non_null(p);
    json_error_t je;
    assay_error err = {0};
    json_t *out = NULL;
    json_t *in = json_loads("{\"items\": [{\"hyp\": \"a b\", \"refs\": "
                            "[\"a b\"]}, {\"hyp\": \"c\"}]}",
                            0, &je);
    assert_int_not_equal(assay_testkit_run(p, NULL, in, &out, &err), 0);
    assert_non_null(strstr(err.text, "record 1"));
    assert_non_null(strstr(err.text, "'refs'"));
    json_decref(in);
    in = json_loads("{\"items\": [{\"hyp\": 3, \"refs\": \"x\"}]}", 0, &je);
    assert_int_not_equal(assay_testkit_run(p, NULL, in, &out, &err), 0);
    assert_non_null(strstr(err.text, "record 0"));
    assert_non_null(strstr(err.text, "'hyp'"));
    json_decref(in);
    in = json_loads("{\"items\": [{\"hyp\": \"x\", \"refs\": [1]}]}", 0,
                    &je);
    assert_int_not_equal(assay_testkit_run(p, NULL, in, &out, &err), 0);
    assert_non_null(strstr(err.text, "record 0"));
    json_decref(in);
    /* custom field names, a single string reference, tokenize none */
    in = json_loads("{\"items\": [{\"out\": \"a b c d\", \"gold\": "
                    "\"a b c d\"}]}",
                    0, &je);
    assert_int_equal(assay_testkit_run(p,
                                       "{\"hyp_field\": \"out\", "
                                       "\"refs_field\": \"gold\", "
                                       "\"tokenize\": \"none\"}",
                                       in, &out, &err),
                     0);
    assert_true(fabs(tct_num(json_object_get(out, "summary"), "score") -
                     100.0) < 1e-9);
    json_decref(out);
    json_decref(in);
    /* no items: a score of 0, no NaN */
    in = json_loads("{\"items\": []}", 0, &je);
    assert_int_equal(assay_testkit_run(p, NULL, in, &out, &err), 0);
    assert_true(tct_num(json_object_get(out, "summary"), "score") == 0.0);
    json_decref(out);
    json_decref(in);
}

#ifdef TC_HAVE_TESTKIT
/* Table input: columns hyp, refs, refs_1 (a missing cell: no second
 * reference) and id; same scores as the records path. */
static void test_plugin_table(void **state)
{
    (void)state;
    const assay_plugin *p = tct_plugin("metric.bleu");
    assert_non_null(p);
    json_t *pairs = tct_load_jsonl("text_pairs.jsonl");
    size_t n = json_array_size(pairs);
    assay_table *t = assay_testkit_table_new(n);
    assert_non_null(t);
    int64_t *ids = assay_testkit_table_add_col(t, "id", ASSAY_COL_INT64);
    assert_non_null(ids);
    assert_non_null(assay_testkit_table_add_col(t, "hyp", ASSAY_COL_STRING));
    assert_non_null(assay_testkit_table_add_col(t, "refs", ASSAY_COL_STRING));
    assert_non_null(
        assay_testkit_table_add_col(t, "refs_1", ASSAY_COL_STRING));
    for (size_t i = 0; i < n; i++) {
        json_t *pr = json_array_get(pairs, i);
        json_t *h = json_object_get(pr, "hyp");
        json_t *rs = json_object_get(pr, "refs");
        ((int64_t *)t->cols[0].data)[i] = (int64_t)i;
        assert_int_equal(assay_testkit_table_set_str(t, 1, i,
                                                     json_string_value(h),
                                                     json_string_length(h)),
                         0);
        for (size_t k = 0; k < 2 && k < json_array_size(rs); k++) {
            json_t *r = json_array_get(rs, k);
            assert_int_equal(
                assay_testkit_table_set_str(t, 2 + k, i, json_string_value(r),
                                            json_string_length(r)),
                0);
        }
    }
    assay_testkit_tables in = {.n = 1, .ports = {"items"}, .tables = {t}};
    json_t *out = NULL;
    assay_error err = {0};
    if (assay_testkit_run_tables(p, "{\"bootstrap\": 20}", NULL, &in, &out,
                                 NULL, &err))
        fail_msg("run: %s", err.text);
    /* the golden pairs have at most 2 references except a few; compare
     * with the statistics computed directly from the same references */
    bleu_worker w = {0};
    bleu_config cfg = {TC_TOK_13A, false, 4};
    bleu_stats sum = {0};
    for (size_t i = 0; i < n; i++) {
        tc_str hyp, refs[8];
        size_t nr = pair_strings(json_array_get(pairs, i), false, &hyp, refs);
        bleu_stats st;
        assert_int_equal(
            bleu_segment(&w, &cfg, &hyp, refs, nr > 2 ? 2 : nr, &st), 0);
        bleu_stats_add(&sum, &st);
    }
    bleu_result r;
    bleu_compute(&sum, 4, BLEU_SMOOTH_EXP, -1, false, &r);
    json_t *summ = json_object_get(out, "summary");
    assert_true(fabs(tct_num(summ, "score") - r.score) < 1e-9);
    assert_non_null(json_object_get(summ, "ci"));
    json_t *items = json_object_get(out, "items");
    assert_int_equal(json_array_size(items), n);
    assert_int_equal(
        json_integer_value(json_object_get(json_array_get(items, 7), "id")),
        7);
    bleu_worker_free(&w);
    json_decref(out);
    assay_testkit_table_free(t);
    json_decref(pairs);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokenizers),
        cmocka_unit_test(test_tokenizer_fuzz),
        cmocka_unit_test(test_golden_tok13a),
        cmocka_unit_test(test_golden_sentence),
        cmocka_unit_test(test_golden_corpus),
        cmocka_unit_test(test_packed_equals_ref),
        cmocka_unit_test(test_smoothing),
        cmocka_unit_test(test_multiref),
        cmocka_unit_test(test_plugin_golden),
        cmocka_unit_test(test_plugin_errors),
#ifdef TC_HAVE_TESTKIT
        cmocka_unit_test(test_plugin_table),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
