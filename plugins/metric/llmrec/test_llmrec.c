/*
 * Unit tests of the metric.llmrec family: every metric of the paper on a
 * case small enough to work out by hand (derivations in the comments),
 * reading of rec.llm lists and scored candidates, the common-query
 * reduction, the paired bootstrap, and the four plugins through the real
 * host.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../../core/testkit.h"
#include "lm.h"

#define TOL 1e-12

/* Allocation failures in the lm_* code: the binary is linked with --wrap
 * for malloc, calloc and realloc; every allocation fails once
 * `fail_after` more have succeeded (-1: never). */
static long fail_after = -1;
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);

static bool alloc_fails(void)
{
    if (fail_after == 0)
        return true;
    if (fail_after > 0)
        fail_after--;
    return false;
}

void *__wrap_malloc(size_t n);
void *__wrap_malloc(size_t n)
{
    return alloc_fails() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t m);
void *__wrap_calloc(size_t n, size_t m)
{
    return alloc_fails() ? NULL : __real_calloc(n, m);
}

void *__wrap_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n)
{
    return alloc_fails() ? NULL : __real_realloc(p, n);
}

/*
 * The hand-worked case.  Training interactions:
 *   user 1: 10 20 30        user 2: 10 20
 *   user 3: 10              user 4: 10 20 30 40 50
 * so item frequencies are 10:4 20:3 30:2 40:1 50:1 60:0, 4 users, and
 * history lengths 3, 2, 1, 5.  The frequencies of items seen in train,
 * sorted, are 1 1 2 3 4: their 0.8 percentile is 3 + 0.2 * (4 - 3) = 3.2,
 * so every item but 10 is long tail.
 * Categories: 10 A|B, 20 D, 30 C, 40 A, 50 A|C.
 *
 * An LLM system at K = 2 (rec.llm lists):
 *   q1 user 1, target 40, candidates 40 50 60 10, list 50 40 10: rank 2
 *   q2 user 2, target 60, candidates 10 60 30 20, list 10 20: missed;
 *      3 titles, 1 hallucinated; first answer had the wrong length
 *   q3 user 3, target 30, candidates 30 20 10 40, list 30 50: rank 1
 *   q4 user 4: failed
 */
static const char *LISTS =
    "[{\"system\": \"gpt\", \"user\": 1, \"target\": 40, "
    "\"candidates\": [40, 50, 60, 10], \"items\": [50, 40, 10], "
    "\"status\": \"ok\", \"first_answer\": \"ok\", \"n_titles\": 3, "
    "\"hallucinated\": 0, \"history_len\": 10, \"prompt\": \"history\", "
    "\"order\": \"shuffled\"},"
    "{\"system\": \"gpt\", \"user\": 2, \"target\": 60, "
    "\"candidates\": [10, 60, 30, 20], \"items\": [10, 20], "
    "\"status\": \"ok\", \"first_answer\": \"length_error\", "
    "\"n_titles\": 3, \"hallucinated\": 1},"
    "{\"system\": \"gpt\", \"user\": 3, \"target\": 30, "
    "\"candidates\": [30, 20, 10, 40], \"items\": [30, 50], "
    "\"status\": \"ok\", \"first_answer\": \"ok\", \"n_titles\": 2, "
    "\"hallucinated\": 0},"
    "{\"system\": \"gpt\", \"user\": 4, \"target\": 60, "
    "\"candidates\": [60, 10], \"items\": [], \"status\": \"failed\"}]";

static const int64_t TU[] = {1, 1, 1, 2, 2, 3, 4, 4, 4, 4, 4};
static const int64_t TI[] = {10, 20, 30, 10, 20, 10, 10, 20, 30, 40, 50};
static const int64_t CI[] = {10, 20, 30, 40, 50};
static const char *const CT[] = {"A|B", "D", "C", "A", "A|C"};

static json_t *parse(const char *s)
{
    json_error_t e;
    json_t *j = json_loads(s, 0, &e);
    if (!j)
        fail_msg("bad test JSON at %d: %s", e.position, e.text);
    return j;
}

static void test_metrics_by_hand(void **state)
{
    (void)state;
    assay_error err = {0};
    json_t *recs = parse(LISTS);
    lm_sys s;
    lm_pop pop;
    lm_cats cats;
    lm_metrics m;
    assert_int_equal(lm_sys_read(recs, NULL, "x", &s, &err), 0);
    assert_string_equal(s.name, "gpt");
    assert_true(s.llm);
    assert_int_equal(s.history_len, 10);
    assert_int_equal(lm_pop_build(&pop, TU, TI, 11, 0.8, &err), 0);
    assert_true(fabs(pop.tail - 3.2) < TOL);
    assert_int_equal(lm_cats_build(&cats, CI, CT, 5, &err), 0);
    double hit[4], nd[4], mr[4];
    assert_int_equal(lm_compute(&s, &pop, &cats, 2, 3, &m, hit, nd, mr, &err),
                     0);
    assert_int_equal(m.queries, 4);
    assert_int_equal(m.failed, 1);
    assert_int_equal(m.evaluated, 3);
    /* ranks 2, -, 1 at K = 2 */
    assert_true(fabs(m.hr - 2.0 / 3.0) < TOL);
    double n1 = 1.0 / log2(3.0);
    assert_true(fabs(m.ndcg - (n1 + 1.0) / 3.0) < TOL);
    assert_true(fabs(m.mrr - (0.5 + 1.0) / 3.0) < TOL);
    assert_true(isnan(hit[3]) && isnan(nd[3]) && isnan(mr[3]));
    assert_true(fabs(nd[0] - n1) < TOL && nd[1] == 0.0 && nd[2] == 1.0);
    /* lists at K = 2: {50, 40}, {10, 20}, {30, 50}
     * ARP: ((1+1)/2 + (4+3)/2 + (2+1)/2) / 3 = (1 + 3.5 + 1.5) / 3 = 2 */
    assert_true(fabs(m.arp - 2.0) < TOL);
    /* ACLT: long tail shares 2/2, 1/2, 2/2 -> 2.5 / 3 */
    assert_true(fabs(m.aclt - 2.5 / 3.0) < TOL);
    /* PopREO with 3 groups: targets by frequency 60(0) 40(1) 30(2) give
     * HR 0, 1, 1: mean 2/3, std sqrt(2/9) -> sqrt(2/9) / (2/3) */
    assert_true(fabs(m.popreo - sqrt(2.0 / 9.0) / (2.0 / 3.0)) < TOL);
    /* Gini: exposures 50:2, 40:1, 10:1, 20:1, 30:1 -> x = 1 1 1 1 2,
     * sum (2i - 6) x_i = -4 - 2 + 0 + 2 + 8 = 4, / (5 * 6) */
    assert_true(fabs(m.gini - 4.0 / 30.0) < TOL);
    /* Jain: (n1 + 1)^2 / (3 (n1^2 + 1)) */
    assert_true(fabs(m.jain - (n1 + 1) * (n1 + 1) / (3.0 * (n1 * n1 + 1.0))) <
                TOL);
    /* DPD: lengths 3, 2, 1, median 2: |ndcg(user 1) - mean(0, 1)| */
    assert_true(fabs(m.dpd - fabs(n1 - 0.5)) < TOL);
    /* coverage: 5 listed items of 6 candidates */
    assert_true(fabs(m.coverage - 5.0 / 6.0) < TOL);
    /* Shannon: {A, A, C} twice -> -(2/3 ln 2/3 + 1/3 ln 1/3), {A, B, D}
     * -> ln 3 */
    double h2 = -(2.0 / 3.0 * log(2.0 / 3.0) + 1.0 / 3.0 * log(1.0 / 3.0));
    assert_true(fabs(m.shannon - (2.0 * h2 + log(3.0)) / 3.0) < TOL);
    /* Jaccard: (q1,q2) share 10 and 60, no listed item: 0; (q1,q3)
     * share 10 and 40, list overlap {50}: 1/2; (q2,q3) share 10, 20 and
     * 30, no overlap: 0 -> 0.5 / 3 */
    assert_true(fabs(m.jaccard - 0.5 / 3.0) < TOL);
    /* Serendipity: MostPop ranks q1's target 40 second (10 is more
     * frequent): a hit for both, 0; q3's target 30 is beaten by 20 and
     * 10: MostPop misses, the LLM hits, 1 -> 1/3 */
    assert_true(fabs(m.serendipity - 1.0 / 3.0) < TOL);
    /* self-information: log2(4/1) twice -> 2; log2(4/4), log2(4/3) ->
     * log2(4/3)/2; log2(4/2), log2(4/1) -> 1.5 */
    double si = (2.0 + log2(4.0 / 3.0) / 2.0 + 1.5) / 3.0;
    assert_true(fabs(m.self_info - si) < TOL);
    /* 1 hallucinated of 8 titles; first answers 2 of 3 compliant */
    assert_true(fabs(m.halluc_rate - 1.0 / 8.0) < TOL);
    assert_true(fabs(m.compliance - 2.0 / 3.0) < TOL);
    assert_true(fabs(m.final_compliance - 1.0) < TOL);
    /* K = 1: only q3's rank 1 counts; PopREO with more groups than
     * queries is undefined */
    assert_int_equal(
        lm_compute(&s, &pop, NULL, 1, 5, &m, NULL, NULL, NULL, &err), 0);
    assert_true(fabs(m.hr - 1.0 / 3.0) < TOL);
    assert_true(isnan(m.popreo));
    assert_true(isnan(m.shannon));
    /* the JSON never carries NaN */
    json_t *o = json_object();
    assert_int_equal(lm_metrics_json(&m, 1, o), 0);
    assert_true(json_is_null(json_object_get(o, "popreo@1")));
    assert_true(json_is_real(json_object_get(o, "hr@1")));
    json_decref(o);
    lm_sys_free(&s);
    lm_pop_free(&pop);
    lm_cats_free(&cats);
    json_decref(recs);
}

static void test_scores_and_common(void **state)
{
    (void)state;
    assay_error err = {0};
    /* query 7: 50 scores highest; 40 (the target) and 60 tie at 0.5:
     * the target goes first, so its rank is 2; query 8 (user 3) ranks
     * its target 30 first; query 9 (user 5) is not in the LLM system */
    json_t *recs =
        parse("[{\"query\": 7, \"user\": 1, \"item\": 40, \"label\": 1, "
              "\"score\": 0.5},"
              "{\"query\": 7, \"user\": 1, \"item\": 50, \"label\": 0, "
              "\"score\": 0.9},"
              "{\"query\": 7, \"user\": 1, \"item\": 60, \"label\": 0, "
              "\"score\": 0.5},"
              "{\"query\": 7, \"user\": 1, \"item\": 10, \"label\": 0, "
              "\"score\": 0.1},"
              "{\"query\": 9, \"user\": 5, \"item\": 99, \"label\": 1, "
              "\"score\": 1},"
              "{\"query\": 8, \"user\": 3, \"item\": 30, \"label\": 1, "
              "\"score\": 3},"
              "{\"query\": 8, \"user\": 3, \"item\": 20, \"label\": 0, "
              "\"score\": 2}]");
    lm_sys sys[2];
    json_t *lists = parse(LISTS);
    assert_int_equal(lm_sys_read(lists, "llm", "x", &sys[0], &err), 0);
    assert_int_equal(lm_sys_read(recs, NULL, "pop", &sys[1], &err), 0);
    assert_string_equal(sys[1].name, "pop");
    assert_false(sys[1].llm);
    assert_int_equal(sys[1].n, 3);
    const lm_query *q7 = &sys[1].q[0];
    assert_int_equal(q7->target, 40);
    assert_int_equal(q7->rank, 2);
    assert_int_equal(q7->top[0], 50);
    assert_int_equal(q7->top[1], 40);
    assert_int_equal(q7->top[2], 60);
    assert_int_equal(q7->cands[0], 40);
    size_t kept[2];
    assert_int_equal(lm_common(sys, 2, kept, &err), 0);
    /* common: (1, 40) and (3, 30); the LLM's failed query is dropped but
     * still counted */
    assert_int_equal(kept[0], 2);
    assert_int_equal(kept[1], 2);
    assert_int_equal(sys[0].failed_dropped, 1);
    lm_metrics m;
    lm_pop pop;
    assert_int_equal(lm_pop_build(&pop, TU, TI, 11, 0.8, &err), 0);
    assert_int_equal(
        lm_compute(&sys[1], &pop, NULL, 2, 5, &m, NULL, NULL, NULL, &err), 0);
    assert_true(fabs(m.hr - 1.0) < TOL);
    assert_true(isnan(m.halluc_rate));
    assert_true(isnan(m.compliance));
    assert_int_equal(
        lm_compute(&sys[0], &pop, NULL, 2, 5, &m, NULL, NULL, NULL, &err), 0);
    assert_int_equal(m.failed, 1);
    assert_int_equal(m.evaluated, 2);
    lm_sort(&sys[0]);
    assert_int_equal(sys[0].q[0].user, 1);
    for (int i = 0; i < 2; i++)
        lm_sys_free(&sys[i]);
    lm_pop_free(&pop);
    json_decref(recs);
    json_decref(lists);
}

static void test_read_errors(void **state)
{
    (void)state;
    assay_error err = {0};
    lm_sys s;
    json_t *bad = parse("[{\"user\": 1, \"target\": 2, \"candidates\": [1], "
                        "\"items\": [\"x\"], \"status\": \"ok\"}]");
    assert_int_equal(lm_sys_read(bad, NULL, "x", &s, &err), ASSAY_EDATA);
    assert_non_null(strstr(err.text, "record 0: field 'items'"));
    json_decref(bad);
    bad = parse("[{\"user\": 1}]");
    assert_int_equal(lm_sys_read(bad, NULL, "x", &s, &err), ASSAY_EDATA);
    assert_non_null(strstr(err.text, "expected rec.llm lists"));
    json_decref(bad);
    bad = parse("[{\"query\": 1, \"user\": 1, \"item\": 3, \"score\": 1, "
                "\"label\": \"yes\"}]");
    assert_int_equal(lm_sys_read(bad, NULL, "x", &s, &err), ASSAY_EDATA);
    assert_non_null(strstr(err.text, "field 'label'"));
    json_decref(bad);
    /* an empty system is fine */
    json_t *empty = json_array();
    assert_int_equal(lm_sys_read(empty, NULL, "none", &s, &err), 0);
    assert_int_equal(s.n, 0);
    lm_sys_free(&s);
    json_decref(empty);
}

static void test_stats(void **state)
{
    (void)state;
    double v[] = {1, 2, 3, 4};
    assert_true(fabs(lm_percentile(v, 4, 0.5) - 2.5) < TOL);
    assert_true(fabs(lm_percentile(v, 4, 1.0) - 4.0) < TOL);
    assert_true(fabs(lm_percentile(v, 4, 0.0) - 1.0) < TOL);
    /* pairs (0,1) (1,1) (1,1): differences 1 0 0; the NaN pair is out */
    double a[] = {0, 1, 1, 0}, b[] = {1, 1, 1, NAN};
    double d, lo, hi;
    lm_paired_delta(a, b, 4, 0, 0.95, 1, &d, &lo, &hi);
    assert_true(fabs(d - 1.0 / 3.0) < TOL);
    assert_true(isnan(lo) && isnan(hi));
    lm_paired_delta(a, b, 4, 2000, 0.95, 1, &d, &lo, &hi);
    assert_true(lo >= 0.0 && lo <= d && d <= hi && hi <= 1.0);
    assert_true(lo < hi);
    /* same seed, same interval */
    double lo2, hi2;
    lm_paired_delta(a, b, 4, 2000, 0.95, 1, &d, &lo2, &hi2);
    assert_true(lo == lo2 && hi == hi2);
    double u[3];
    lm_utility(3, 5, &u[0], &u[1], &u[2]);
    assert_true(u[0] == 1.0 && fabs(u[1] - 0.5) < TOL &&
                fabs(u[2] - 1.0 / 3.0) < TOL);
    lm_utility(0, 5, &u[0], &u[1], &u[2]);
    assert_true(u[0] == 0.0 && u[1] == 0.0 && u[2] == 0.0);
}

/* One pass over the hand-worked case with allocations failing after
 * `budget`: every call either works or reports ENOMEM. */
static int oom_round(const json_t *lists, const json_t *scores, long budget,
                     bool *completed)
{
    assay_error err = {0};
    lm_sys sys[2] = {{0}, {0}};
    lm_pop pop = {0};
    lm_cats cats = {0};
    lm_metrics m;
    size_t kept[2];
    int rc;
    *completed = false;
    fail_after = budget;
    if ((rc = lm_sys_read(lists, NULL, "a", &sys[0], &err)) ||
        (rc = lm_sys_read(scores, NULL, "b", &sys[1], &err)) ||
        (rc = lm_pop_build(&pop, TU, TI, 11, 0.8, &err)) ||
        (rc = lm_cats_build(&cats, CI, CT, 5, &err)) ||
        (rc = lm_common(sys, 2, kept, &err)) ||
        (rc = lm_compute(&sys[0], &pop, &cats, 2, 2, &m, NULL, NULL, NULL,
                         &err)))
        goto done;
    double a[] = {0, 1, 1}, b[] = {1, 1, 0}, d, lo, hi;
    lm_paired_delta(a, b, 3, 50, 0.9, 1, &d, &lo, &hi);
    *completed = true;
done:
    fail_after = -1;
    lm_sys_free(&sys[0]);
    lm_sys_free(&sys[1]);
    lm_pop_free(&pop);
    lm_cats_free(&cats);
    return rc == ASSAY_ENOMEM ? 0 : rc;
}

static void test_out_of_memory(void **state)
{
    (void)state;
    json_t *lists = parse(LISTS);
    json_t *scores =
        parse("[{\"query\": 7, \"user\": 1, \"item\": 40, \"label\": 1, "
              "\"score\": 0.5},"
              "{\"query\": 7, \"user\": 1, \"item\": 50, \"label\": 0, "
              "\"score\": 0.9}]");
    bool completed = false;
    long budget = 0;
    for (; budget < 100000 && !completed; budget++)
        assert_int_equal(oom_round(lists, scores, budget, &completed), 0);
    assert_true(completed);
    assert_true(budget > 30);
    json_decref(lists);
    json_decref(scores);
}

/* ---- through the host -------------------------------------------------- */

static const assay_plugin *load(const char *name)
{
    assay_error err = {0};
    const char *so = getenv("PLUGIN");
    if (!so)
        fail_msg("PLUGIN is not set (run through meson test)");
    const assay_plugin *p = assay_testkit_load(so, name, &err);
    if (!p)
        fail_msg("%s", err.text);
    return p;
}

static json_t *train_records(void)
{
    json_t *a = json_array();
    for (size_t i = 0; i < 11; i++)
        json_array_append_new(a,
                              json_pack("{s:I, s:I}", "user", (json_int_t)TU[i],
                                        "item", (json_int_t)TI[i]));
    return a;
}

static void test_plugin_llmrec(void **state)
{
    (void)state;
    const assay_plugin *p = load("metric.llmrec");
    assay_error err = {0};
    json_t *out = NULL;
    json_t *lists = parse(LISTS);
    json_t *pop =
        parse("[{\"query\": 1, \"user\": 1, \"item\": 40, \"label\": 1, "
              "\"score\": 1},"
              "{\"query\": 1, \"user\": 1, \"item\": 10, \"label\": 0, "
              "\"score\": 4},"
              "{\"query\": 3, \"user\": 3, \"item\": 30, \"label\": 1, "
              "\"score\": 2},"
              "{\"query\": 3, \"user\": 3, \"item\": 20, \"label\": 0, "
              "\"score\": 3}]");
    json_t *items = parse("[{\"item\": 10, \"genres\": \"A|B\"}, "
                          "{\"item\": 30, \"genres\": \"C\"}]");
    json_t *in = json_pack("{s:[o,o], s:o, s:o}", "systems", lists, pop,
                           "train", train_records(), "items", items);
    assert_int_equal(assay_testkit_run(p,
                                       "{\"ks\": [1, 2], \"names\": "
                                       "[\"llm\", \"pop\"]}",
                                       in, &out, &err),
                     0);
    json_t *sys = json_object_get(json_object_get(out, "summary"), "systems");
    json_t *llm = json_object_get(sys, "llm");
    json_t *pp = json_object_get(sys, "pop");
    assert_non_null(llm);
    assert_non_null(pp);
    /* common queries: users 1 and 3; the LLM ranks 2 and 1, pop ranks
     * both targets second */
    assert_true(fabs(json_real_value(json_object_get(llm, "hr@1")) - 0.5) <
                TOL);
    assert_true(fabs(json_real_value(json_object_get(llm, "hr@2")) - 1.0) <
                TOL);
    assert_true(fabs(json_real_value(json_object_get(pp, "mrr@2")) - 0.5) <
                TOL);
    assert_int_equal(json_integer_value(json_object_get(llm, "failed")), 1);
    assert_int_equal(json_integer_value(json_object_get(llm, "evaluated")), 2);
    assert_true(json_is_null(json_object_get(pp, "hallucination_rate")));
    assert_string_equal(json_string_value(json_object_get(pp, "kind")),
                        "scores");
    assert_int_equal(json_array_size(json_object_get(out, "leaderboard")), 2);
    /* per query rows: 2 per system */
    assert_int_equal(json_array_size(json_object_get(out, "items")), 4);
    json_decref(out);
    json_decref(in);
    /* missing train */
    in = json_pack("{s:[o]}", "systems", parse(LISTS));
    assert_int_not_equal(assay_testkit_run(p, "{}", in, &out, &err), 0);
    assert_non_null(strstr(err.text, "train"));
    json_decref(in);
}

/* rec.llm-style lists for the dimension nodes: users 1..4, target = 100
 * + user, 4 candidates. */
static json_t *run_lists(const char *sys, int hl, const char *prompt,
                         const char *order, const int ranks[4])
{
    json_t *a = json_array();
    for (int u = 1; u <= 4; u++) {
        int t = 100 + u;
        json_t *c = json_array(), *items = json_array();
        /* candidates: shuffled runs show the target at position u, the
         * target-first run at position 1 */
        int tpos = strcmp(order, "target_first") ? u : 1;
        for (int p = 1, o = 0; p <= 4; p++)
            json_array_append_new(c, json_integer(p == tpos ? t : 200 + o++));
        /* the list: the item at position 1 first, then the target at its
         * rank (0: missed) */
        int r = ranks[u - 1];
        json_array_append_new(items, json_integer(r == 1 ? t : 200));
        if (r == 2)
            json_array_append_new(items, json_integer(t));
        json_array_append_new(
            a, json_pack("{s:s, s:i, s:i, s:o, s:o, s:s, s:i, s:s, s:s}",
                         "system", sys, "user", u, "target", t, "candidates", c,
                         "items", items, "status", "ok", "history_len", hl,
                         "prompt", prompt, "order", order));
    }
    return a;
}

static void test_plugin_history(void **state)
{
    (void)state;
    const assay_plugin *p = load("metric.llmrec-history");
    assay_error err = {0};
    json_t *out = NULL;
    int r1[] = {0, 0, 0, 1}, r5[] = {1, 2, 0, 1}, r10[] = {1, 1, 0, 1};
    json_t *in = json_pack("{s:[o,o,o]}", "runs",
                           run_lists("L10", 10, "history", "shuffled", r10),
                           run_lists("L1", 1, "history", "shuffled", r1),
                           run_lists("L5", 5, "history", "shuffled", r5));
    assert_int_equal(assay_testkit_run(p, "{\"ks\": [1]}", in, &out, &err), 0);
    json_t *curve = json_object_get(out, "curve");
    assert_int_equal(json_array_size(curve), 3);
    /* sorted by length: hr@1 = 1/4, 2/4, 3/4 */
    double want[] = {0.25, 0.5, 0.75}, lens[] = {1, 5, 10};
    for (size_t i = 0; i < 3; i++) {
        json_t *row = json_array_get(curve, i);
        assert_true(json_real_value(json_object_get(row, "history_len")) ==
                    lens[i]);
        assert_true(fabs(json_real_value(json_object_get(row, "hr@1")) -
                         want[i]) < TOL);
    }
    json_t *fam = json_object_get(
        json_object_get(json_object_get(out, "summary"), "families"), "llm");
    assert_true(json_real_value(json_object_get(fam, "best_history_len")) ==
                10.0);
    assert_true(fabs(json_real_value(json_object_get(fam, "spread_ndcg@1")) -
                     0.5) < TOL);
    /* least squares of (0, .25) (log2 5, .5) (log2 10, .75) */
    double x[] = {0, log2(5.0), log2(10.0)}, y[] = {0.25, 0.5, 0.75};
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (int i = 0; i < 3; i++) {
        sx += x[i];
        sy += y[i];
        sxx += x[i] * x[i];
        sxy += x[i] * y[i];
    }
    double slope = (3 * sxy - sx * sy) / (3 * sxx - sx * sx);
    assert_true(fabs(json_real_value(
                         json_object_get(fam, "slope_ndcg@1_per_doubling")) -
                     slope) < 1e-9);
    json_decref(out);
    json_decref(in);
}

static void test_plugin_position(void **state)
{
    (void)state;
    const assay_plugin *p = load("metric.llmrec-position");
    assay_error err = {0};
    json_t *out = NULL;
    /* shuffled: targets at positions 1..4, only user 1's (position 1) is
     * ranked first; target-first: every target ranked first */
    int rs[] = {1, 0, 0, 0}, rf[] = {1, 1, 1, 1};
    json_t *in =
        json_pack("{s:o, s:o}", "shuffled",
                  run_lists("shuf", 10, "history", "shuffled", rs), "first",
                  run_lists("first", 10, "history", "target_first", rf));
    assert_int_equal(
        assay_testkit_run(p, "{\"ks\": [1], \"bootstrap\": 0}", in, &out, &err),
        0);
    json_t *sum = json_object_get(out, "summary");
    json_t *gap = json_object_get(json_object_get(sum, "gap"), "hr@1");
    assert_true(fabs(json_real_value(json_object_get(gap, "value")) - 0.75) <
                TOL);
    /* every top-1 pick of both runs is the candidate shown first */
    json_t *pos =
        json_object_get(json_object_get(sum, "shuffled"), "positions");
    assert_true(fabs(json_real_value(
                         json_object_get(pos, "first_position_top1_share")) -
                     1.0) < TOL);
    json_t *rows = json_object_get(out, "positions");
    assert_int_equal(json_array_size(rows), 4);
    json_t *r1 = json_array_get(rows, 0), *r3 = json_array_get(rows, 2);
    assert_true(fabs(json_real_value(json_object_get(r1, "shuffled_share")) -
                     1.0) < TOL);
    assert_true(
        fabs(json_real_value(json_object_get(r1, "shuffled_target_hit_rate")) -
             1.0) < TOL);
    assert_true(
        fabs(json_real_value(json_object_get(r3, "shuffled_target_hit_rate")) -
             0.0) < TOL);
    json_decref(out);
    json_decref(in);
}

static void test_plugin_profile(void **state)
{
    (void)state;
    const assay_plugin *p = load("metric.llmrec-profile");
    assay_error err = {0};
    json_t *out = NULL;
    int rb[] = {1, 0, 0, 0}, rp[] = {1, 1, 0, 0}, rph[] = {1, 1, 1, 0};
    json_t *in =
        json_pack("{s:o, s:[o,o]}", "history",
                  run_lists("hist", 10, "history", "shuffled", rb), "variants",
                  run_lists("prof", 10, "profile", "shuffled", rp),
                  run_lists("both", 10, "profile_history", "shuffled", rph));
    assert_int_equal(assay_testkit_run(p, "{\"ks\": [1], \"bootstrap\": 200}",
                                       in, &out, &err),
                     0);
    json_t *vars = json_object_get(json_object_get(out, "summary"), "variants");
    json_t *d1 = json_object_get(
        json_object_get(json_object_get(vars, "prof"), "delta"), "hr@1");
    json_t *d2 = json_object_get(
        json_object_get(json_object_get(vars, "both"), "delta"), "hr@1");
    assert_true(fabs(json_real_value(json_object_get(d1, "value")) - 0.25) <
                TOL);
    assert_true(fabs(json_real_value(json_object_get(d2, "value")) - 0.5) <
                TOL);
    assert_true(json_real_value(json_object_get(d2, "ci_low")) <= 0.5);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(vars, "both"), "prompt")),
                        "profile_history");
    assert_int_equal(json_array_size(json_object_get(out, "rows")), 3);
    json_decref(out);
    json_decref(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_by_hand),
        cmocka_unit_test(test_scores_and_common),
        cmocka_unit_test(test_read_errors),
        cmocka_unit_test(test_stats),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_plugin_llmrec),
        cmocka_unit_test(test_plugin_history),
        cmocka_unit_test(test_plugin_position),
        cmocka_unit_test(test_plugin_profile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
