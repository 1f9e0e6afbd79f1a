/*
 * Fuzz target: what the judge plugins read from model answers and
 * prompt files (plugins/judge/common, plugins/judge/recsys-arena).  The
 * input is one text, used as
 *   - a judge answer: pairwise verdict (with and without ties), rubric
 *     scores on several scales, every [[...]] token, CCE relabelling and
 *     outcome removal, the RecSys-Arena multi-aspect verdicts;
 *   - a prompt file: split into messages and compiled as templates, then
 *     rendered with a small record.
 *
 * Invariants: a verdict's span lies inside the text and is a token; a
 * score lies on its scale; outcome removal leaves no pairwise verdict
 * token; a verdict count matches the verdicts set.
 */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "jc_cce.h"
#include "jc_tpl.h"
#include "jc_verdict.h"

static json_t *CTX;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    json_object_seed(1);
    CTX = json_loads("{\"question\": \"Which is better?\", \"output_1\": "
                     "\"A text\", \"output_2\": \"\", \"n\": 3, "
                     "\"nested\": {\"k\": [1, {\"z\": null}]}, "
                     "\"flag\": true, \"none\": null, \"list\": []}",
                     0, NULL);
    if (!CTX) {
        fprintf(stderr, "fuzz-judge: context\n");
        exit(1);
    }
    return 0;
}

static void check_span(const char *text, size_t len, const jc_span *s)
{
    if (s->start > s->end || s->end > len || s->end - s->start < 4 ||
        strncmp(text + s->start, "[[", 2) != 0 ||
        strncmp(text + s->end - 2, "]]", 2) != 0)
        fuzz_fail("verdict span [%zu, %zu) is not a token", s->start, s->end);
}

static void answers(const char *text, size_t len)
{
    for (int ties = 0; ties < 2; ties++) {
        int why = -1;
        jc_span sp;
        int v = jc_parse_pair(text, ties, &why, &sp);
        if (v != JC_V_NONE) {
            check_span(text, len, &sp);
            if (v == JC_V_TIE && !ties)
                fuzz_fail("tie reported where ties are not allowed");
            (void)jc_verdict_name(jc_verdict_flip(v));
        } else
            (void)jc_why_name(why);
    }
    static const long scales[][2] = {{1, 10}, {1, 5}, {0, 100}, {-3, 3}};
    for (size_t k = 0; k < sizeof scales / sizeof scales[0]; k++) {
        long score = 0;
        int why = -1;
        jc_span sp;
        if (jc_parse_score(text, scales[k][0], scales[k][1], &score, &why,
                           &sp)) {
            check_span(text, len, &sp);
            if (score < scales[k][0] || score > scales[k][1])
                fuzz_fail("score %ld outside [%ld, %ld]", score, scales[k][0],
                          scales[k][1]);
        }
    }
    jc_span tok, inner;
    for (size_t from = 0; jc_token_next(text, from, &tok, &inner);
         from = tok.end) {
        if (tok.end <= from || inner.start < tok.start || inner.end > tok.end ||
            inner.start > inner.end)
            fuzz_fail("token spans out of order");
        char letter;
        jc_token_pair(text + inner.start, inner.end - inner.start, &letter);
    }
    char *out = NULL;
    if (jc_cce_strip_outcome(text, &out) == 0) {
        if (jc_cce_has_token(out))
            fuzz_fail("outcome removal left a verdict token");
        free(out);
    }
    out = NULL;
    if (jc_cce_rewrite(text, 'C', 'A', false, &out) == 0)
        free(out);
    out = NULL;
    if (jc_cce_rewrite(text, 'B', 'D', true, &out) == 0)
        free(out);

    int v[AR_NASPECTS];
    int n = ar_parse(text, v), set = 0;
    for (int a = 0; a < AR_NASPECTS; a++) {
        if (v[a] < AR_NONE || v[a] > AR_TIE)
            fuzz_fail("arena verdict %d out of range", v[a]);
        set += v[a] != AR_NONE;
    }
    if (n != set)
        fuzz_fail("arena: %d verdicts counted, %d set", n, set);
}

static void prompts(const char *text, size_t len)
{
    jc_tpl *t = NULL;
    assay_error err;
    if (jc_tpl_compile(text, len, &t, &err) == 0) {
        char *s = NULL;
        if (jc_tpl_render(t, CTX, 7, &s, &err) == 0)
            free(s);
        (void)jc_tpl_uses(t, "question");
    }
    jc_tpl_free(t);
    jc_prompt p;
    memset(&p, 0, sizeof p);
    if (jc_prompt_parse(text, &p, &err) == 0) {
        char *sys = NULL, *user = NULL;
        if (jc_prompt_render(&p, CTX, 0, &sys, &user, &err) == 0) {
            free(sys);
            free(user);
        }
    }
    jc_prompt_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstr(data, size);
    if (!text)
        return 0;
    /* the parsers read C strings: they see the text up to a NUL */
    size_t len = strlen(text);
    answers(text, len);
    prompts(text, len);
    free(text);
    return 0;
}
