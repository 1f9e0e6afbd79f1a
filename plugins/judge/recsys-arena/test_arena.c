/*
 * Unit tests of the RecSys Arena core: verdict parsing on a table of
 * realistic judge answers, the swap combination, Q and its bootstrap
 * interval, rank correlations.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>

#include "arena.h"

#define A AR_A
#define B AR_B
#define T AR_TIE
#define N AR_NONE

typedef struct vcase {
    const char *name;
    const char *text;
    int want[AR_NASPECTS]; /* accuracy, satisfaction, inspiring, quality,
                              explainability, impact, overall */
} vcase;

static const vcase cases[] = {
    {"the paper's one-line format",
     "Accuracy: 'A wins'; Satisfaction: 'B wins'; Inspiring Content: "
     "'tie'; Content Quality: 'A wins'; Explainability/Transparency: "
     "'tie'; Positive Impact: 'A wins'; Overall Winner: 'A wins'",
     {A, B, T, A, T, A, A}},
    {"analysis first, then a verdict block in markdown",
     "### Analysis\n"
     "**Accuracy**: System A's list matches my love of thrillers, while "
     "B drifts into musicals.\n"
     "**Satisfaction**: I'd be happier with A.\n"
     "...\n"
     "### Verdicts\n"
     "- **Accuracy:** A wins\n"
     "- **Satisfaction:** A wins\n"
     "- **Inspiring Content:** B wins\n"
     "- **Content Quality:** Tie\n"
     "- **Explainability/Transparency:** A wins\n"
     "- **Positive Impact:** Tie\n"
     "- **Overall Winner:** A wins\n",
     {A, A, B, T, A, T, A}},
    {"numbered lines, aliases, 'System B'",
     "1. Accuracy - System B\n2. Satisfaction - System B\n"
     "3. Inspiration - tie\n4. Quality - Recommendation System A wins\n"
     "5. Transparency - B\n6. Impact on users - A\n"
     "7. Overall: System B is better.",
     {B, B, T, A, B, A, B}},
    {"an echoed format line is ignored, the answer counts",
     "You asked: Accuracy: 'A wins'|'B wins'|'tie'; Overall Winner: 'A "
     "wins'|'B wins'|'tie'.\n"
     "My verdicts: Accuracy: B wins; Overall Winner: B wins",
     {B, N, N, N, N, N, B}},
    {"the last statement of an aspect wins",
     "Accuracy: A wins at first sight.\nOn reflection, Accuracy: tie\n"
     "Overall Winner: tie",
     {T, N, N, N, N, N, T}},
    {"prose mentions do not count",
     "In terms of accuracy, A wins clearly. For satisfaction I prefer B. "
     "Overall I think B is stronger.",
     {N, N, N, N, N, N, N}},
    {"a markdown table",
     "| Aspect | Verdict |\n|---|---|\n| Accuracy | A wins |\n"
     "| Satisfaction | B wins |\n| Inspiring Content | tie |\n"
     "| Content Quality | tie |\n| Explainability/Transparency | A wins |\n"
     "| Positive Impact | B wins |\n| Overall Winner | A wins |\n",
     {A, B, T, T, A, B, A}},
    {"parenthesised definitions and dashes",
     "Accuracy (fits my interests) \xe2\x80\x94 B wins\n"
     "Satisfaction (I am satisfied) \xe2\x80\x93 draw\n"
     "Explainability and Transparency = A\n"
     "Final verdict: [[B]]",
     {B, T, N, N, A, N, B}},
    {"lower case and a tie phrased as 'a tie'",
     "accuracy: a wins; satisfaction: it's a tie; content quality: b wins; "
     "overall winner is a tie",
     {A, T, N, B, N, N, T}},
    {"possessive and placeholder are not verdicts",
     "Accuracy: A's list is closer to my taste.\n"
     "Satisfaction: <verdict>\nOverall Winner: A",
     {N, N, N, N, N, N, A}},
    {"empty", "", {N, N, N, N, N, N, N}},
};

static void test_parse_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int v[AR_NASPECTS];
        int n = ar_parse(cases[i].text, v), want_n = 0;
        for (int a = 0; a < AR_NASPECTS; a++) {
            want_n += cases[i].want[a] != N;
            if (v[a] != cases[i].want[a])
                fail_msg("%s: %s is %s, expected %s", cases[i].name,
                         ar_aspect_key(a),
                         ar_verdict_name(v[a]) ? ar_verdict_name(v[a]) : "none",
                         ar_verdict_name(cases[i].want[a])
                             ? ar_verdict_name(cases[i].want[a])
                             : "none");
        }
        assert_int_equal(n, want_n);
    }
}

static void test_swap(void **state)
{
    (void)state;
    bool c;
    /* AB says A; BA (flipped back) says A: consistent A */
    assert_int_equal(ar_combine(A, ar_flip(B), &c), A);
    assert_true(c);
    /* position bias: the first shown wins both times -> A then B: tie */
    assert_int_equal(ar_combine(A, ar_flip(A), &c), T);
    assert_false(c);
    assert_int_equal(ar_combine(T, ar_flip(T), &c), T);
    assert_true(c);
    assert_int_equal(ar_combine(T, B, &c), T);
    assert_false(c);
    assert_int_equal(ar_combine(A, N, &c), N);
    assert_false(c);
    assert_int_equal(ar_flip(N), N);
}

static void test_q(void **state)
{
    (void)state;
    /* the paper's NRMS vs LightGCN: (490 + 78) / (432 + 78) */
    assert_true(fabs(ar_q(490, 78, 432) - 568.0 / 510.0) < 1e-12);
    assert_true(fabs(ar_q(490, 78, 432) - 1.1137) < 5e-5);
    assert_true(isnan(ar_q(3, 0, 0)));
    assert_true(ar_q(0, 0, 2) == 0.0);
    /* CI over users: 6 A, 2 ties, 2 B -> Q = 8/4 = 2 */
    int v[] = {A, A, A, A, A, A, T, T, B, B, N};
    double lo, hi, lo2, hi2;
    unsigned used;
    ar_q_ci(v, 11, 2000, 0.95, 42, &lo, &hi, &used);
    assert_true(used > 1900 && used <= 2000);
    assert_true(lo < 2.0 && 2.0 < hi);
    assert_true(lo > 0.5);
    ar_q_ci(v, 11, 2000, 0.95, 42, &lo2, &hi2, &used);
    assert_true(lo == lo2 && hi == hi2);
    /* every resample of all-A users has Q undefined */
    int all_a[] = {A, A, A};
    ar_q_ci(all_a, 3, 100, 0.95, 1, &lo, &hi, &used);
    assert_int_equal(used, 0);
    assert_true(isnan(lo) && isnan(hi));
    ar_q_ci(v, 11, 0, 0.95, 1, &lo, &hi, &used);
    assert_true(isnan(lo));
}

static void test_correlation(void **state)
{
    (void)state;
    double x[] = {0.7, 0.5, 0.6, 0.1}, y[] = {0.30, 0.10, 0.20, 0.05};
    assert_true(fabs(ar_spearman(x, y, 4) - 1.0) < 1e-12);
    assert_true(fabs(ar_kendall(x, y, 4) - 1.0) < 1e-12);
    double z[] = {0.05, 0.20, 0.10, 0.30};
    assert_true(fabs(ar_spearman(x, z, 4) + 1.0) < 1e-12);
    /* one swapped pair of 6: tau = (5 - 1) / 6, rho = 1 - 6*2/(4*15) */
    double w[] = {0.30, 0.20, 0.10, 0.05};
    assert_true(fabs(ar_kendall(x, w, 4) - 4.0 / 6.0) < 1e-12);
    assert_true(fabs(ar_spearman(x, w, 4) - 0.8) < 1e-12);
    /* ties: tau-b */
    double t1[] = {1, 2, 2, 3}, t2[] = {1, 2, 3, 4};
    double tb = 5.0 / sqrt(5.0 * 6.0);
    assert_true(fabs(ar_kendall(t1, t2, 4) - tb) < 1e-12);
    double c[] = {1, 1, 1};
    assert_true(isnan(ar_spearman(c, t2, 3)));
    assert_true(isnan(ar_kendall(c, t2, 3)));
    assert_true(isnan(ar_spearman(x, y, 1)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_table),
        cmocka_unit_test(test_swap),
        cmocka_unit_test(test_q),
        cmocka_unit_test(test_correlation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
