/*
 * test_cce.c - CCE selection strategies, relabelling, outcome removal,
 * the related-judgments context, Maj@k and swap agreement.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "jc_cce.h"
#include "jc_verdict.h"

/*
 * Eight judgments: candidates A and B, crowd responses C and D, both
 * positions.  Verdicts name positions; `lost` says whether the candidate
 * lost that judgment.
 */
static const char *const txt = "analysis [[A]]";
static jc_cjudg J[10];
static const bool LOST[10] = {true,  false, true,  true,  false,
                              false, true,  false, false, false};

static void setup_judgments(void)
{
    int k = 0;
    for (int cand = 0; cand < 2; cand++)
        for (size_t crowd = 0; crowd < 2; crowd++)
            for (int pos = 0; pos < 2; pos++, k++) {
                J[k].cand = cand;
                J[k].cand_pos = pos;
                J[k].crowd = crowd;
                J[k].letter = (char)('C' + crowd);
                int cand_v = pos == 0 ? JC_V_A : JC_V_B;
                J[k].verdict = LOST[k] ? jc_verdict_flip(cand_v) : cand_v;
                J[k].text = txt;
            }
    /* two invalid judgments, one per candidate */
    J[8] = (jc_cjudg){0, 0, 0, 'C', JC_V_NONE, txt};
    J[9] = (jc_cjudg){1, 1, 1, 'D', JC_V_NONE, txt};
}

static size_t count_cand(const size_t *sel, size_t n, int cand)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += J[sel[i]].cand == cand;
    return c;
}

static void test_lost_won(void **state)
{
    (void)state;
    setup_judgments();
    for (int k = 0; k < 8; k++) {
        assert_int_equal(jc_cce_lost(&J[k]), LOST[k]);
        assert_int_equal(jc_cce_won(&J[k]), !LOST[k]);
    }
    assert_false(jc_cce_lost(&J[8]));
    assert_false(jc_cce_won(&J[8]));
    /* candidate shown first, verdict B: the crowd (second) won */
    jc_cjudg j = {0, 0, 0, 'C', JC_V_B, txt};
    assert_true(jc_cce_lost(&j));
    j.cand_pos = 1; /* candidate second, verdict B: candidate won */
    assert_true(jc_cce_won(&j));
}

static void test_criticizing(void **state)
{
    (void)state;
    size_t sel[10], n;
    setup_judgments();
    assert_int_equal(jc_cce_strategy("criticizing"), JC_SEL_CRITICIZING);
    assert_int_equal(jc_cce_strategy("nope"), -1);
    /* a large budget keeps every lost judgment and nothing else */
    assert_int_equal(jc_cce_select(J, 10, JC_SEL_CRITICIZING, 16, 7, sel, &n),
                     0);
    assert_int_equal(n, 4); /* lost: 0, 2, 3, 6 */
    for (size_t i = 0; i < n; i++)
        assert_true(LOST[sel[i]]);
    /* candidate B's pool comes first */
    assert_int_equal(J[sel[0]].cand, 1);
    assert_int_equal(count_cand(sel, n, 1), 1);
    assert_int_equal(count_cand(sel, n, 0), 3);
    /* budget 2: one from each candidate's pool */
    assert_int_equal(jc_cce_select(J, 10, JC_SEL_CRITICIZING, 2, 7, sel, &n),
                     0);
    assert_int_equal(n, 2);
    assert_int_equal(J[sel[0]].cand, 1);
    assert_int_equal(J[sel[1]].cand, 0);
    assert_true(LOST[sel[0]] && LOST[sel[1]]);
    /* budget 3: floor(3/2) = 1 for B, 2 for A */
    assert_int_equal(jc_cce_select(J, 10, JC_SEL_CRITICIZING, 3, 7, sel, &n),
                     0);
    assert_int_equal(count_cand(sel, n, 1), 1);
    assert_int_equal(count_cand(sel, n, 0), 2);
    /* budget 0: nothing */
    assert_int_equal(jc_cce_select(J, 10, JC_SEL_CRITICIZING, 0, 7, sel, &n),
                     0);
    assert_int_equal(n, 0);
}

static void test_other_strategies(void **state)
{
    (void)state;
    size_t sel[10], n;
    setup_judgments();
    assert_int_equal(jc_cce_select(J, 10, JC_SEL_PRAISING, 16, 1, sel, &n), 0);
    assert_int_equal(n, 4); /* won: 1, 4, 5, 7 */
    for (size_t i = 0; i < n; i++)
        assert_false(LOST[sel[i]]);
    assert_int_equal(jc_cce_select(J, 10, JC_SEL_RANDOM, 16, 1, sel, &n), 0);
    assert_int_equal(n, 8); /* every valid one, never the invalid */
    for (size_t i = 0; i < n; i++)
        assert_true(sel[i] < 8);
    assert_int_equal(jc_cce_select(J, 10, JC_SEL_RANDOM, 4, 1, sel, &n), 0);
    assert_int_equal(n, 4);
    assert_int_equal(count_cand(sel, n, 0), 2);
    /* balanced, budget 4: per candidate one lost and one won */
    assert_int_equal(jc_cce_select(J, 10, JC_SEL_BALANCED, 4, 1, sel, &n), 0);
    assert_int_equal(n, 4);
    for (int cand = 0; cand < 2; cand++) {
        int lost = 0, won = 0;
        for (size_t i = 0; i < n; i++)
            if (J[sel[i]].cand == cand) {
                lost += LOST[sel[i]];
                won += !LOST[sel[i]];
            }
        assert_int_equal(lost, 1);
        assert_int_equal(won, 1);
    }
}

static void test_seeded(void **state)
{
    (void)state;
    /* 40 lost judgments per candidate, budget 4: the seed decides which,
     * the same seed always gives the same choice */
    jc_cjudg many[80];
    size_t a[80], b[80], c[80], na, nb, nc;
    for (int i = 0; i < 80; i++)
        many[i] = (jc_cjudg){i / 40, 0, (size_t)i % 40, 'C', JC_V_B, txt};
    assert_int_equal(jc_cce_select(many, 80, JC_SEL_CRITICIZING, 4, 11, a, &na),
                     0);
    assert_int_equal(jc_cce_select(many, 80, JC_SEL_CRITICIZING, 4, 11, b, &nb),
                     0);
    assert_int_equal(na, 4);
    assert_memory_equal(a, b, na * sizeof *a);
    bool differs = false;
    for (uint64_t seed = 12; seed < 20 && !differs; seed++) {
        assert_int_equal(
            jc_cce_select(many, 80, JC_SEL_CRITICIZING, 4, seed, c, &nc), 0);
        differs = memcmp(a, c, na * sizeof *a) != 0;
    }
    assert_true(differs);
}

static void test_relabel(void **state)
{
    (void)state;
    const char *t = "Assistant A answers a question about Paris; "
                    "Assistant B's reply is longer. Response A cites "
                    "a source, ASSISTANT B does not. Model B and output "
                    "A both... AB and A. stay.\n[[B]]";
    char *out;
    /* crowd C first, candidate B second */
    assert_int_equal(jc_cce_rewrite(t, 'C', 'B', false, &out), 0);
    assert_string_equal(out, "Assistant C answers a question about Paris; "
                             "Assistant B's reply is longer. Response C cites "
                             "a source, ASSISTANT B does not. Model B and "
                             "output C both... AB and A. stay.\n[[B]]");
    free(out);
    /* candidate A first, crowd D second */
    assert_int_equal(jc_cce_rewrite(t, 'A', 'D', false, &out), 0);
    assert_non_null(strstr(out, "Assistant D's reply"));
    assert_non_null(strstr(out, "ASSISTANT D does not"));
    assert_non_null(strstr(out, "Assistant A answers"));
    assert_non_null(strstr(out, "[[D]]"));
    free(out);
    /* relabel then strip: no token survives */
    assert_int_equal(jc_cce_rewrite(t, 'A', 'D', true, &out), 0);
    assert_false(jc_cce_has_token(out));
    assert_non_null(strstr(out, "Assistant D's reply"));
    free(out);
}

/* Realistic crowd judgments: each must lose its verdict, keep its
 * analysis (`keep`) and drop its verdict statement (`gone`). */
typedef struct strip_case {
    const char *text, *keep, *gone;
} strip_case;

static const strip_case strip_cases[] = {
    {"Assistant A is accurate and concise. Assistant B repeats itself.\n\n"
     "[[A]]",
     "Assistant B repeats itself.", "[["},
    {"A covers all three points.\nB misses the second point.\n\n"
     "Final verdict: [[A]]",
     "B misses the second point.", "Final verdict"},
    {"**Analysis**\nB gives the correct formula.\n\n**Final Verdict:**\n"
     "[[B]]",
     "B gives the correct formula.", "Final Verdict"},
    {"Both explain recursion. However, Assistant B includes a runnable "
     "example and handles the base case correctly, which the user "
     "explicitly needed for the homework assignment, so overall "
     "Assistant B is more helpful and I choose [[B]].",
     "Both explain recursion.", "I choose"},
    {"Assistant A follows the word limit.\nMy final verdict is: [[A]]. "
     "Assistant B was close.",
     "follows the word limit", "final verdict"},
    {"The user wanted JSON. Assistant A returned JSON; B returned YAML.\n"
     "### Verdict\n[[A]]\n",
     "B returned YAML", "### Verdict"},
    {"Assistant A wrote \"[[B]]\" at the end of its reply, a manipulation "
     "attempt. Its content is still better.\n\n[[A]]",
     "a manipulation attempt", "[["},
    {"Comparison:\n- accuracy: A\n- format: B\n- depth: A\n\nTherefore, "
     "[[A]]",
     "- format: B", "Therefore"},
    {"[[B]] because B handles the empty-list case and A crashes on it.", "",
     "[["},
    {"After careful consideration, Assistant B is the better response.\n"
     "**[[B]]**",
     "After careful consideration", "**"},
    {"A: correct but terse. B: correct and explains why.\n"
     "Verdict: [[ B ]]",
     "correct and explains why", "Verdict"},
    {"Assistant X (relabelled) lacks detail.\n[[X]]", "lacks detail", "[["},
};

static void test_strip(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof strip_cases / sizeof strip_cases[0]; i++) {
        const strip_case *c = &strip_cases[i];
        char *out;
        assert_int_equal(jc_cce_strip_outcome(c->text, &out), 0);
        if (jc_cce_has_token(out))
            fail_msg("case %zu: token survived: [%s]", i + 1, out);
        if (c->keep[0] && !strstr(out, c->keep))
            fail_msg("case %zu: analysis lost: [%s]", i + 1, out);
        if (strstr(out, c->gone))
            fail_msg("case %zu: '%s' survived: [%s]", i + 1, c->gone, out);
        int why;
        assert_int_equal(jc_parse_pair(out, true, &why, NULL), JC_V_NONE);
        free(out);
    }
    /* deleting a token must not join its neighbours into a new one */
    static const char *const nested[] = {"x [[A[[tie]]]] y", "[[[[B]]]]",
                                         "[[A[[B[[C]]]]]] and text",
                                         "a [[ [[X]] ]] b"};
    for (size_t i = 0; i < sizeof nested / sizeof nested[0]; i++) {
        char *o;
        assert_int_equal(jc_cce_strip_outcome(nested[i], &o), 0);
        if (jc_cce_has_token(o))
            fail_msg("nested case %zu: token survived: [%s]", i + 1, o);
        free(o);
    }
    char *out;
    assert_int_equal(jc_cce_strip_outcome("no verdict here", &out), 0);
    assert_string_equal(out, "no verdict here");
    free(out);
    assert_int_equal(jc_cce_strip_outcome("", &out), 0);
    assert_string_equal(out, "");
    free(out);
}

static void test_context(void **state)
{
    (void)state;
    jc_cjudg j[2] = {
        {1, 1, 0, 'C', JC_V_A,
         "Assistant A (the crowd) is richer than Assistant B.\n[[A]]"},
        {0, 0, 1, 'D', JC_V_B,
         "Assistant B is correct, Assistant A is not.\nVerdict: [[B]]"},
    };
    size_t sel[2] = {0, 1};
    char *out;
    assert_int_equal(jc_cce_context(j, sel, 2, true, &out), 0);
    assert_string_equal(out, "1. Comparison of Assistant C and Assistant B:\n"
                             "Assistant C (the crowd) is richer than Assistant "
                             "B.\n\n"
                             "2. Comparison of Assistant A and Assistant D:\n"
                             "Assistant D is correct, Assistant A is not.");
    free(out);
    assert_int_equal(jc_cce_context(j, sel, 2, false, &out), 0);
    assert_non_null(strstr(out, "[[C]]"));
    assert_non_null(strstr(out, "[[D]]"));
    free(out);
    assert_int_equal(jc_cce_context(j, sel, 0, true, &out), 0);
    assert_string_equal(out, "");
    free(out);
}

static void test_votes(void **state)
{
    (void)state;
    int a[] = {JC_V_A, JC_V_A, JC_V_B};
    int b[] = {JC_V_A, JC_V_B};
    int c[] = {JC_V_NONE, JC_V_NONE};
    int d[] = {JC_V_A, JC_V_NONE, JC_V_NONE};
    int e[] = {JC_V_A, JC_V_B, JC_V_TIE};
    int f[] = {JC_V_B, JC_V_B, JC_V_TIE, JC_V_TIE};
    int g[] = {JC_V_B, JC_V_B, JC_V_B, JC_V_A, JC_V_TIE};
    assert_int_equal(jc_majority(a, 3), JC_V_A);
    assert_int_equal(jc_majority(b, 2), JC_V_TIE);
    assert_int_equal(jc_majority(c, 2), JC_V_NONE);
    assert_int_equal(jc_majority(d, 3), JC_V_A);
    assert_int_equal(jc_majority(e, 3), JC_V_TIE);
    assert_int_equal(jc_majority(f, 4), JC_V_TIE);
    assert_int_equal(jc_majority(g, 5), JC_V_B);
    assert_int_equal(jc_majority(NULL, 0), JC_V_NONE);

    bool cons = false;
    assert_int_equal(jc_swap_combine(JC_V_A, JC_V_A, JC_SWAP_TIE, &cons),
                     JC_V_A);
    assert_true(cons);
    assert_int_equal(jc_swap_combine(JC_V_A, JC_V_B, JC_SWAP_TIE, &cons),
                     JC_V_TIE);
    assert_false(cons);
    assert_int_equal(jc_swap_combine(JC_V_A, JC_V_B, JC_SWAP_FIRST, NULL),
                     JC_V_A);
    assert_int_equal(jc_swap_combine(JC_V_A, JC_V_B, JC_SWAP_INVALID, NULL),
                     JC_V_NONE);
    assert_int_equal(jc_swap_combine(JC_V_A, JC_V_NONE, JC_SWAP_TIE, NULL),
                     JC_V_NONE);
    assert_int_equal(jc_swap_combine(JC_V_TIE, JC_V_TIE, JC_SWAP_TIE, NULL),
                     JC_V_TIE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lost_won),
        cmocka_unit_test(test_criticizing),
        cmocka_unit_test(test_other_strategies),
        cmocka_unit_test(test_seeded),
        cmocka_unit_test(test_relabel),
        cmocka_unit_test(test_strip),
        cmocka_unit_test(test_context),
        cmocka_unit_test(test_votes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
