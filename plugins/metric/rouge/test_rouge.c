/*
 * test_rouge.c - metric.rouge: the Porter stemmer, the tokenizer and
 * ROUGE-1/2/L/Lsum (with and without stemming, single and multiple
 * references, multi-line summaries, means) against Google's rouge-score
 * golden values, and the plugin through the host.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "porter.h"
#include "rouge_score.h"
#include "tc_testutil.h"

static const char *const type_names[4] = {"rouge1", "rouge2", "rougeL",
                                          "rougeLsum"};

static void config(rouge_config *c, bool stem)
{
    memset(c, 0, sizeof *c);
    c->stem = stem;
    c->ntypes = 4;
    for (int k = 0; k < 4; k++)
        assert_true(rouge_type_parse(type_names[k], &c->types[k]));
}

/* Porter stemmer, NLTK variant: irregular forms, short words, the NLTK
 * departures from the original algorithm (values from NLTK 3.8). */
static void test_porter(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"caresses", "caress"},   {"ponies", "poni"},
        {"ties", "tie"},          {"dies", "die"},
        {"flies", "fli"},         {"spied", "spi"},
        {"died", "die"},          {"happy", "happi"},
        {"enjoy", "enjoy"},       {"sky", "sky"},
        {"skies", "sky"},         {"dying", "die"},
        {"news", "news"},         {"innings", "inning"},
        {"agreed", "agre"},       {"feed", "feed"},
        {"hopping", "hop"},       {"hissing", "hiss"},
        {"filing", "file"},       {"conflated", "conflat"},
        {"generalli", "gener"},   {"conformabli", "conform"},
        {"geology", "geolog"},    {"hopefulli", "hope"},
        {"relational", "relat"},  {"electrical", "electr"},
        {"adjustment", "adjust"}, {"adoption", "adopt"},
        {"controll", "control"},  {"rate", "rate"},
        {"generalization", "gener"}, {"as", "as"},
        {"implementation", "implement"}, {"during", "dure"}};
    char out[PORTER_MAX + 8];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        porter_stem(cases[i][0], strlen(cases[i][0]), out);
        if (strcmp(out, cases[i][1]) != 0)
            fail_msg("stem(%s) = %s, want %s", cases[i][0], out,
                     cases[i][1]);
    }
}

static void check_tokens(const char *what, size_t id, const json_t *text,
                         bool stem, const json_t *want)
{
    rouge_doc d = {0};
    assert_int_equal(rouge_tokenize(json_string_value(text),
                                    json_string_length(text), stem, &d),
                     0);
    bool ok = d.w.n == json_array_size(want);
    for (size_t i = 0; ok && i < d.w.n; i++) {
        json_t *t = json_array_get(want, i);
        ok = d.w.v[i].len == json_string_length(t) &&
             memcmp(d.w.v[i].p, json_string_value(t), d.w.v[i].len) == 0;
    }
    if (!ok)
        fail_msg("item %zu %s: tokens differ (%zu vs %zu)", id, what, d.w.n,
                 json_array_size(want));
    tc_buf_free(&d.text);
    tc_words_free(&d.w);
    free(d.id);
    free(d.line);
}

static void test_golden_tokens(void **state)
{
    (void)state;
    json_t *pairs = tct_load_jsonl("text_pairs.jsonl");
    json_t *toks = tct_load_jsonl("rouge_tokens.jsonl");
    assert_non_null(pairs);
    assert_non_null(toks);
    for (size_t i = 0; i < json_array_size(pairs); i++) {
        json_t *p = json_array_get(pairs, i), *t = json_array_get(toks, i);
        json_t *h = json_object_get(p, "hyp");
        json_t *r = json_array_get(json_object_get(p, "refs"), 0);
        check_tokens("hyp", i, h, false, json_object_get(t, "hyp"));
        check_tokens("ref0", i, r, false, json_object_get(t, "ref0"));
        check_tokens("hyp_stem", i, h, true, json_object_get(t, "hyp_stem"));
        check_tokens("ref0_stem", i, r, true,
                     json_object_get(t, "ref0_stem"));
    }
    json_decref(pairs);
    json_decref(toks);
}

static double max_dev;

static void check_prf(size_t id, const char *what, const rouge_prf *got,
                      const json_t *want)
{
    for (int k = 0; k < 4; k++) {
        json_t *w = json_object_get(want, type_names[k]);
        double v[3] = {got[k].p, got[k].r, got[k].f};
        for (int q = 0; q < 3; q++) {
            double x = json_number_value(json_array_get(w, q));
            double d = fabs(v[q] - x);
            if (d > max_dev)
                max_dev = d;
            if (!(d <= 1e-6))
                fail_msg("item %zu %s %s[%d]: %.17g want %.17g", id, what,
                         type_names[k], q, v[q], x);
        }
    }
}

static void test_golden_sentence(void **state)
{
    (void)state;
    json_t *pairs = tct_load_jsonl("text_pairs.jsonl");
    json_t *gold = tct_load_jsonl("rouge_sentence.jsonl");
    assert_non_null(pairs);
    assert_non_null(gold);
    rouge_worker w = {0};
    size_t nmulti = 0;
    for (int stem = 0; stem < 2; stem++) {
        rouge_config cfg;
        config(&cfg, stem);
        for (size_t i = 0; i < json_array_size(pairs); i++) {
            json_t *p = json_array_get(pairs, i), *g = json_array_get(gold, i);
            json_t *refs = json_object_get(p, "refs");
            tc_str hyp = {json_string_value(json_object_get(p, "hyp")),
                          json_string_length(json_object_get(p, "hyp"))};
            tc_str tg[8];
            size_t nr = json_array_size(refs);
            for (size_t k = 0; k < nr; k++) {
                tg[k].p = json_string_value(json_array_get(refs, k));
                tg[k].len = json_string_length(json_array_get(refs, k));
            }
            rouge_prf out[4];
            assert_int_equal(rouge_pair(&w, &cfg, &tg[0], &hyp, out), 0);
            check_prf(i, stem ? "stem" : "nostem", out,
                      json_object_get(g, stem ? "stem" : "nostem"));
            json_t *mw = json_object_get(g, stem ? "stem_multi"
                                                 : "nostem_multi");
            if (nr > 1) {
                assert_non_null(mw);
                assert_int_equal(rouge_multi(&w, &cfg, &hyp, tg, nr, out), 0);
                check_prf(i, "multi", out, mw);
                nmulti++;
            }
        }
    }
    assert_true(nmulti >= 100);
    print_message("max deviation from rouge-score: %.3g\n", max_dev);
    rouge_worker_free(&w);
    json_decref(pairs);
    json_decref(gold);
}

static void test_golden_multiline(void **state)
{
    (void)state;
    json_t *gold = tct_load_jsonl("rouge_multiline.jsonl");
    assert_non_null(gold);
    assert_int_equal(json_array_size(gold), 40);
    rouge_worker w = {0};
    for (int stem = 0; stem < 2; stem++) {
        rouge_config cfg;
        config(&cfg, stem);
        for (size_t i = 0; i < json_array_size(gold); i++) {
            json_t *g = json_array_get(gold, i);
            json_t *t = json_object_get(g, "target");
            json_t *p = json_object_get(g, "prediction");
            tc_str ts = {json_string_value(t), json_string_length(t)};
            tc_str ps = {json_string_value(p), json_string_length(p)};
            rouge_prf out[4];
            assert_int_equal(rouge_pair(&w, &cfg, &ts, &ps, out), 0);
            check_prf(i, stem ? "ml-stem" : "ml-nostem", out,
                      json_object_get(g, stem ? "stem" : "nostem"));
        }
    }
    rouge_worker_free(&w);
    json_decref(gold);
}

/* The plugin: means over items equal rouge_means.json; multi-reference
 * items take the best reference. */
static void test_plugin(void **state)
{
    (void)state;
    const assay_plugin *p = tct_plugin("metric.rouge");
    assert_non_null(p);
    json_t *pairs = tct_load_jsonl("text_pairs.jsonl");
    json_t *means = tct_load_json("rouge_means.json");
    json_t *gold = tct_load_jsonl("rouge_sentence.jsonl");
    assert_non_null(means);
    json_t *mm = json_object_get(means, "mean_over_items_first_ref");
    for (int stem = 0; stem < 2; stem++) {
        json_t *in = json_object();
        json_object_set_new(in, "items", tct_pairs_records(pairs, true));
        json_t *out = NULL;
        assay_error err = {0};
        const char *opts = stem ? "{\"use_stemmer\": true, \"bootstrap\": 50}"
                                : "{}";
        if (assay_testkit_run(p, opts, in, &out, &err))
            fail_msg("run: %s", err.text);
        json_t *sum = json_object_get(out, "summary");
        json_t *want = json_object_get(mm, stem ? "stem" : "nostem");
        for (int k = 0; k < 4; k++) {
            json_t *got = json_object_get(sum, type_names[k]);
            json_t *w = json_object_get(want, type_names[k]);
            const char *f[3] = {"precision", "recall", "fmeasure"};
            for (int q = 0; q < 3; q++)
                if (!(fabs(tct_num(got, f[q]) -
                           json_number_value(json_array_get(w, q))) <= 1e-9))
                    fail_msg("%s mean %s: %.17g", type_names[k], f[q],
                             tct_num(got, f[q]));
            if (stem)
                assert_non_null(json_object_get(got, "ci"));
        }
        assert_int_equal(json_array_size(json_object_get(out, "items")),
                         296);
        json_decref(out);
        json_decref(in);
    }
    /* all references: per item the best one */
    json_t *in = json_object();
    json_object_set_new(in, "items", tct_pairs_records(pairs, false));
    json_t *out = NULL;
    assay_error err = {0};
    assert_int_equal(assay_testkit_run(p, "{\"rouge_types\": [\"rougeL\"]}",
                                       in, &out, &err),
                     0);
    json_t *items = json_object_get(out, "items");
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *g = json_array_get(gold, i);
        json_t *w = json_object_get(g, "nostem_multi");
        if (!w)
            w = json_object_get(g, "nostem");
        double f = json_number_value(
            json_array_get(json_object_get(w, "rougeL"), 2));
        double got = tct_num(
            json_object_get(json_array_get(items, i), "rougeL"), "fmeasure");
        assert_true(fabs(got - f) <= 1e-12);
    }
    json_decref(out);
    json_decref(in);
    /* bad option and bad data */
    in = json_loads("{\"items\": [{\"hyp\": \"a\", \"refs\": 5}]}", 0, NULL);
    assert_int_not_equal(assay_testkit_run(p, NULL, in, &out, &err), 0);
    assert_non_null(strstr(err.text, "record 0"));
    json_decref(in);
    in = json_loads("{\"items\": []}", 0, NULL);
    assert_int_not_equal(
        assay_testkit_run(p, "{\"rouge_types\": [\"rougeX\"]}", in, &out,
                          &err),
        0);
    assert_non_null(strstr(err.text, "rougeX"));
    json_decref(in);
    json_decref(pairs);
    json_decref(means);
    json_decref(gold);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_porter),
        cmocka_unit_test(test_golden_tokens),
        cmocka_unit_test(test_golden_sentence),
        cmocka_unit_test(test_golden_multiline),
        cmocka_unit_test(test_plugin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
