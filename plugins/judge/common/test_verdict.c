/*
 * test_verdict.c - the verdict parsers on realistic judge answers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "jc_verdict.h"

typedef struct pair_case {
    const char *text;
    bool ties;
    int want; /* JC_V_* */
    int why;  /* JC_WHY_* when want is JC_V_NONE */
} pair_case;

static const pair_case pair_cases[] = {
    /* 1 plain final token */
    {"Both answers address the question. Assistant A is more precise.\n\n"
     "[[A]]",
     false, JC_V_A, 0},
    /* 2 long explanation, B */
    {"Assistant A misreads the instruction: the user asked for three "
     "bullet points and A wrote a paragraph. Assistant B follows the "
     "format exactly and its points are accurate.\n\nFinal verdict: [[B]]",
     false, JC_V_B, 0},
    /* 3 the format instruction echoed first, then the verdict */
    {"I must output \"[[A]]\" if assistant A is better and \"[[B]]\" if "
     "assistant B is better.\n\nAssistant B gives the correct year.\n\n"
     "[[B]]",
     false, JC_V_B, 0},
    /* 4 a quoted [[A]] inside the analysis, then a final B */
    {"Assistant A ends its reply with the string \"[[A]]\", which looks like "
     "an attempt to influence the judge. Ignoring that, Assistant B's "
     "answer is complete.\n\nMy final verdict is [[B]].",
     false, JC_V_B, 0},
    /* 5 no token at all */
    {"Assistant A is better because it is more concise and accurate.", false,
     JC_V_NONE, JC_WHY_NOTOKEN},
    /* 6 markdown bold around the token */
    {"**Evaluation**\nA covers every requirement.\n\n**[[A]]**", false, JC_V_A,
     0},
    /* 7 bold inside the brackets */
    {"Verdict: [[**B**]]", false, JC_V_B, 0},
    /* 8 verdict on its own line among several lines */
    {"1. Helpfulness: B is more helpful.\n2. Accuracy: both are correct.\n"
     "3. Detail: B gives an example.\n[[B]]\n",
     false, JC_V_B, 0},
    /* 9 spaces inside the brackets */
    {"Final Verdict: [[ A ]]", false, JC_V_A, 0},
    /* 10 lower-case letter */
    {"after weighing both, [[a]]", false, JC_V_A, 0},
    /* 11 'Assistant' inside the brackets */
    {"The better response comes from [[Assistant B]]", false, JC_V_B, 0},
    /* 12 tie token with ties allowed */
    {"Both are equally good and equally brief.\n[[C]]", true, JC_V_TIE, 0},
    /* 13 tie token when ties are not allowed */
    {"Both are equally good.\n[[C]]", false, JC_V_NONE, JC_WHY_TIE},
    /* 14 the word tie */
    {"They are indistinguishable in quality. [[tie]]", true, JC_V_TIE, 0},
    /* 15 two verdicts on the final line */
    {"It is hard to decide. [[A]] or [[B]]", false, JC_V_NONE, JC_WHY_AMBIG},
    /* 16 slash-separated verdicts */
    {"Verdict: [[A]]/[[B]]", false, JC_V_NONE, JC_WHY_AMBIG},
    /* 17 changed its mind on a later line */
    {"At first glance I would say [[A]].\nHowever, A's code does not "
     "compile, while B's does.\nRevised verdict: [[B]]",
     false, JC_V_B, 0},
    /* 18 empty answer */
    {"", false, JC_V_NONE, JC_WHY_EMPTY},
    /* 19 whitespace only */
    {"  \n\t\n", false, JC_V_NONE, JC_WHY_EMPTY},
    /* 20 unbalanced brackets */
    {"Final verdict: [[A]", false, JC_V_NONE, JC_WHY_NOTOKEN},
    /* 21 single brackets */
    {"Final verdict: [A]", false, JC_V_NONE, JC_WHY_NOTOKEN},
    /* 22 verdict word without brackets */
    {"Verdict: A", false, JC_V_NONE, JC_WHY_NOTOKEN},
    /* 23 an unknown letter only */
    {"Neither is acceptable: [[X]]", false, JC_V_NONE, JC_WHY_NOTOKEN},
    /* 24 trailing period */
    {"Therefore [[A]].", false, JC_V_A, 0},
    /* 25 token in a code span */
    {"Final answer: `[[B]]`", false, JC_V_B, 0},
    /* 26 triple brackets */
    {"[[[A]]]", false, JC_V_A, 0},
    /* 27 spaces around B */
    {"[[ B ]]", false, JC_V_B, 0},
    /* 28 a note after the verdict */
    {"[[A]]\n\nNote: both responses were polite and well formatted.", false,
     JC_V_A, 0},
    /* 29 repeated verdict */
    {"My verdict: [[A]]\n[[A]]", false, JC_V_A, 0},
    /* 30 full format instruction echoed, then the verdict */
    {"Output your final verdict by strictly following this format: "
     "\"[[A]]\" if assistant A is better, \"[[B]]\" if assistant B is "
     "better.\n\nAssistant A answered the question that was asked.\n[[A]]",
     false, JC_V_A, 0},
    /* 31 only the echoed format line */
    {"Output \"[[A]]\" if assistant A is better, \"[[B]]\" if assistant B "
     "is better.",
     false, JC_V_NONE, JC_WHY_AMBIG},
    /* 32 unicode around the token */
    {"B répond mieux à la consigne 👍\n\nVerdict final : [[B]]", false, JC_V_B,
     0},
    /* 33 CRLF line endings */
    {"A is wrong about the capital.\r\nB is right.\r\n[[B]]\r\n", false, JC_V_B,
     0},
    /* 34 'Response' inside the brackets */
    {"Winner: [[Response A]]", false, JC_V_A, 0},
    /* 35 bold heading and token */
    {"**Final Verdict:** [[B]]", false, JC_V_B, 0},
    /* 36 markdown heading above the token */
    {"### Analysis\nA is thorough.\n### Verdict\n[[A]]", false, JC_V_A, 0},
    /* 37 token at the start of a sentence */
    {"[[A]] is my answer, since B ignores the word limit.", false, JC_V_A, 0},
    /* 38 spaced tie without ties */
    {"Equal quality: [[ C ]]", false, JC_V_NONE, JC_WHY_TIE},
    /* 39 sentence inside the brackets */
    {"[[A is better]]", false, JC_V_NONE, JC_WHY_NOTOKEN},
    /* 40 two lines, two verdicts: the last line decides */
    {"[[A]]\n[[B]]", false, JC_V_B, 0},
    /* 41 a score token in a pairwise answer */
    {"I rate this [[1]]", false, JC_V_NONE, JC_WHY_NOTOKEN},
    /* 42 verdict followed by its reason */
    {"[[B]] because B handles the edge case of an empty list.", false, JC_V_B,
     0},
    /* 43 tie with a label */
    {"Tie: [[C]]", true, JC_V_TIE, 0},
    /* 44 the word tie when ties are not allowed */
    {"[[Tie]]", false, JC_V_NONE, JC_WHY_TIE},
    /* 45 the same verdict twice on one line is not ambiguous */
    {"[[a]] and again **[[A]]**", false, JC_V_A, 0},
    /* 46 a citation-like token after the verdict is ignored */
    {"Verdict: [[B]]\nSee [[reference 2]] for the source.", false, JC_V_B, 0},
    /* 47 verdict words without brackets after a real token */
    {"[[A]]\nIn short, Assistant B is worse.", false, JC_V_A, 0},
    /* 48 a very long answer with the verdict at the very end */
    {"Step 1: compare facts. Step 2: compare format. Step 3: compare "
     "length. Step 4: compare tone. Step 5: weigh everything. After all "
     "five steps Assistant B wins on facts and format, Assistant A on "
     "tone only.\n\n\n\n[[B]]",
     false, JC_V_B, 0},
};

static void test_pair_table(void **state)
{
    (void)state;
    size_t n = sizeof pair_cases / sizeof pair_cases[0];
    assert_true(n >= 40);
    for (size_t i = 0; i < n; i++) {
        int why = -1;
        jc_span sp = {0, 0};
        int v =
            jc_parse_pair(pair_cases[i].text, pair_cases[i].ties, &why, &sp);
        if (v != pair_cases[i].want ||
            (v == JC_V_NONE && why != pair_cases[i].why))
            fail_msg("case %zu: got verdict %d (%s), want %d (%s)\n%s", i + 1,
                     v, jc_why_name(why), pair_cases[i].want,
                     jc_why_name(pair_cases[i].why), pair_cases[i].text);
        if (v != JC_V_NONE) {
            assert_int_equal(why, JC_WHY_OK);
            assert_true(sp.end > sp.start);
            assert_memory_equal(pair_cases[i].text + sp.start, "[[", 2);
        }
    }
}

typedef struct score_case {
    const char *text;
    long lo, hi;
    bool ok;
    long want;
    int why;
} score_case;

static const score_case score_cases[] = {
    {"The answer is accurate but terse.\nRating: [[7]]", 1, 10, true, 7, 0},
    {"Score: [[7/10]]", 1, 10, true, 7, 0},
    {"Rating: [[7.5]]", 1, 10, false, 0, JC_WHY_RANGE},
    {"Rating: [[11]]", 1, 10, false, 0, JC_WHY_RANGE},
    {"Rating: [[0]]", 1, 10, false, 0, JC_WHY_RANGE},
    {"[[Rating: 8]]", 1, 10, true, 8, 0},
    {"[[ 9 ]]", 1, 10, true, 9, 0},
    {"I first thought [[8]].\nOn reflection: [[3]]", 1, 10, true, 3, 0},
    {"Either [[8]] or [[9]]", 1, 10, false, 0, JC_WHY_AMBIG},
    {"A solid answer, I would give it eight.", 1, 10, false, 0, JC_WHY_NOTOKEN},
    {"Rating: [[7/5]]", 1, 10, false, 0, JC_WHY_RANGE},
    {"Rating: [[-1]]", 1, 10, false, 0, JC_WHY_RANGE},
    {"Rating: [[10]]", 1, 10, true, 10, 0},
    {"Rating: [[7.0]]", 1, 10, true, 7, 0},
    {"**Rating: [[6]]**", 1, 10, true, 6, 0},
    {"[[A]]", 1, 10, false, 0, JC_WHY_NOTOKEN},
    {"[[score: 4]]", 1, 5, true, 4, 0},
    {"Format: \"Rating: [[5]]\".\nThe response ... Rating: [[2]]", 1, 5, true,
     2, 0},
    {"", 1, 10, false, 0, JC_WHY_EMPTY},
    {"[[3]] and [[3]]", 1, 10, true, 3, 0},
};

static void test_score_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof score_cases / sizeof score_cases[0]; i++) {
        const score_case *c = &score_cases[i];
        long s = -99;
        int why = -1;
        bool ok = jc_parse_score(c->text, c->lo, c->hi, &s, &why, NULL);
        if (ok != c->ok || (ok && s != c->want) || (!ok && why != c->why))
            fail_msg("score case %zu: ok=%d score=%ld why=%s\n%s", i + 1, ok, s,
                     jc_why_name(why), c->text);
    }
}

static void test_token_scan(void **state)
{
    (void)state;
    const char *t = "x [[A]] y [[ **b** ]] z [[no\nnewline]] [[B]]";
    jc_span tok, in;
    size_t at = 0;
    int n = 0;
    char letters[8] = "";
    while (jc_token_next(t, at, &tok, &in)) {
        char letter;
        jc_token_pair(t + in.start, in.end - in.start, &letter);
        letters[n++] = letter ? letter : '?';
        at = tok.end;
    }
    assert_int_equal(n, 3);
    assert_string_equal(letters, "ABB");
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(jc_verdict_name(JC_V_A), "A");
    assert_string_equal(jc_verdict_name(JC_V_TIE), "tie");
    assert_null(jc_verdict_name(JC_V_NONE));
    assert_int_equal(jc_verdict_flip(JC_V_A), JC_V_B);
    assert_int_equal(jc_verdict_flip(JC_V_TIE), JC_V_TIE);
    assert_string_equal(jc_why_name(JC_WHY_AMBIG), "ambiguous");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pair_table),
        cmocka_unit_test(test_score_table),
        cmocka_unit_test(test_token_scan),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
