/*
 * jc_cce.c - see jc_cce.h.
 */
#include "jc_cce.h"

#include <assay/plugin.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "jc_text.h"
#include "jc_verdict.h"

int jc_cce_strategy(const char *name)
{
    static const char *const names[] = {"criticizing", "praising", "random",
                                        "balanced"};
    for (int i = 0; name && i < 4; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

bool jc_cce_lost(const jc_cjudg *j)
{
    if (j->verdict != JC_V_A && j->verdict != JC_V_B)
        return false;
    int cand_verdict = j->cand_pos == 0 ? JC_V_A : JC_V_B;
    return j->verdict != cand_verdict;
}

bool jc_cce_won(const jc_cjudg *j)
{
    if (j->verdict != JC_V_A && j->verdict != JC_V_B)
        return false;
    return !jc_cce_lost(j);
}

/* Shuffle `idx[0..n)` and append its first `take` entries to out. */
static void take_shuffled(assay_rng *rng, size_t *idx, size_t n, size_t take,
                          size_t *out, size_t *nout)
{
    assay_rng_shuffle(rng, idx, n, sizeof *idx);
    for (size_t i = 0; i < n && i < take; i++)
        out[(*nout)++] = idx[i];
}

int jc_cce_select(const jc_cjudg *j, size_t n, int strategy, size_t budget,
                  uint64_t seed, size_t *out, size_t *nout)
{
    size_t *lost = malloc((n ? n : 1) * sizeof *lost);
    size_t *won = malloc((n ? n : 1) * sizeof *won);
    assay_rng rng;
    *nout = 0;
    if (!lost || !won) {
        free(lost);
        free(won);
        return ASSAY_ENOMEM;
    }
    assay_rng_init(&rng, seed);
    /* candidate B's pool first (the crowd sat beside B), then A's */
    for (int pass = 0; pass < 2; pass++) {
        int cand = pass == 0 ? 1 : 0;
        size_t share = cand == 1 ? budget / 2 : budget - budget / 2;
        size_t nl = 0, nw = 0;
        for (size_t i = 0; i < n; i++) {
            if (j[i].cand != cand)
                continue;
            if (jc_cce_lost(&j[i]))
                lost[nl++] = i;
            else if (jc_cce_won(&j[i]))
                won[nw++] = i;
        }
        switch (strategy) {
        case JC_SEL_CRITICIZING:
            take_shuffled(&rng, lost, nl, share, out, nout);
            break;
        case JC_SEL_PRAISING:
            take_shuffled(&rng, won, nw, share, out, nout);
            break;
        case JC_SEL_BALANCED:
            take_shuffled(&rng, lost, nl, share - share / 2, out, nout);
            take_shuffled(&rng, won, nw, share / 2, out, nout);
            break;
        default: {
            /* random: every judgment with a verdict, in a fixed order */
            size_t m = 0;
            for (size_t i = 0; i < n; i++)
                if (j[i].cand == cand &&
                    (jc_cce_lost(&j[i]) || jc_cce_won(&j[i])))
                    lost[m++] = i;
            take_shuffled(&rng, lost, m, share, out, nout);
        }
        }
    }
    free(lost);
    free(won);
    return ASSAY_OK;
}

/* ---- relabelling ------------------------------------------------------ */

static bool word_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* True when a relabel keyword ("Assistant", "Response", ...; any case)
 * and one or more spaces come just before text[at]. */
static bool keyword_before(const char *text, size_t at)
{
    static const char *const kw[] = {"assistant", "response", "answer",
                                     "output",    "model",    NULL};
    size_t e = at;
    if (e == 0 || text[e - 1] != ' ')
        return false;
    while (e > 0 && text[e - 1] == ' ')
        e--;
    for (int i = 0; kw[i]; i++) {
        size_t k = strlen(kw[i]);
        if (e >= k && strncasecmp(text + e - k, kw[i], k) == 0 &&
            (e == k || !word_char(text[e - k - 1])))
            return true;
    }
    return false;
}

int jc_cce_rewrite(const char *text, char first, char second,
                   bool strip_outcome, char **out)
{
    jc_buf b = {0};
    jc_span tok, in;
    size_t n = strlen(text), i = 0, next_tok = 0;
    bool have_tok = jc_token_next(text, 0, &tok, &in);
    char letter;
    *out = NULL;
    while (i < n) {
        if (have_tok && i == tok.start) {
            int v = jc_token_pair(text + in.start, in.end - in.start, &letter);
            if (v == JC_V_A || v == JC_V_B) {
                char lab = v == JC_V_A ? first : second;
                if (jc_buf_put(&b, "[[", 2) || jc_buf_put(&b, &lab, 1) ||
                    jc_buf_put(&b, "]]", 2))
                    goto oom;
            } else if (jc_buf_put(&b, text + tok.start, tok.end - tok.start)) {
                goto oom;
            }
            i = tok.end;
            next_tok = tok.end;
            have_tok = jc_token_next(text, next_tok, &tok, &in);
            continue;
        }
        char c = text[i];
        if ((c == 'A' || c == 'B') && keyword_before(text, i) &&
            (i + 1 == n || !word_char(text[i + 1]))) {
            char lab = c == 'A' ? first : second;
            if (jc_buf_put(&b, &lab, 1))
                goto oom;
        } else if (jc_buf_put(&b, &c, 1)) {
            goto oom;
        }
        i++;
    }
    if (jc_buf_take(&b, out))
        goto oom;
    if (strip_outcome) {
        char *relabelled = *out, *stripped;
        int rc = jc_cce_strip_outcome(relabelled, &stripped);
        free(relabelled);
        *out = rc ? NULL : stripped;
        return rc;
    }
    return ASSAY_OK;
oom:
    jc_buf_free(&b);
    return ASSAY_ENOMEM;
}

/* ---- outcome removal -------------------------------------------------- */

/* Is this token a pairwise verdict (including relabelled letters)? */
static bool is_verdict_token(const char *text, const jc_span *in)
{
    char letter;
    int v = jc_token_pair(text + in->start, in->end - in->start, &letter);
    return v != JC_V_NONE || letter != 0;
}

/* Words in [a, b) outside verdict tokens. */
static size_t words_outside_tokens(const char *text, size_t a, size_t b)
{
    size_t words = 0, i = a;
    bool in_word = false;
    jc_span tok, in;
    bool have = jc_token_next(text, a, &tok, &in);
    while (i < b) {
        if (have && i == tok.start) {
            i = tok.end;
            in_word = false;
            have = jc_token_next(text, i, &tok, &in);
            continue;
        }
        bool wc =
            isalnum((unsigned char)text[i]) || ((unsigned char)text[i] & 0x80);
        if (wc && !in_word)
            words++;
        in_word = wc;
        i++;
    }
    return words;
}

static bool span_has_ci(const char *s, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (strncasecmp(s + i, needle, k) == 0)
            return true;
    return false;
}

/* A left-over heading such as "**Final verdict:**" or "Verdict". */
static bool heading_line(const char *s, size_t n)
{
    size_t a = 0, b = n;
    while (a < b && (isspace((unsigned char)s[a]) || s[a] == '*' ||
                     s[a] == '#' || s[a] == '_' || s[a] == '>'))
        a++;
    while (b > a && (isspace((unsigned char)s[b - 1]) || s[b - 1] == '*' ||
                     s[b - 1] == '_'))
        b--;
    if (a == b)
        return true; /* only markup: drop */
    size_t words = 0;
    bool in_word = false;
    for (size_t i = a; i < b; i++) {
        bool wc = isalnum((unsigned char)s[i]) != 0;
        if (wc && !in_word)
            words++;
        in_word = wc;
    }
    if (s[b - 1] == ':' && words <= 6)
        return true;
    return words <= 3 && (span_has_ci(s + a, b - a, "verdict") ||
                          span_has_ci(s + a, b - a, "decision") ||
                          span_has_ci(s + a, b - a, "conclusion"));
}

/* Copy `s` without its verdict tokens into *out (new string); *dropped
 * tells whether there was any. */
static int drop_verdict_tokens(const char *s, char **out, bool *dropped)
{
    jc_buf b = {0};
    jc_span tok, in;
    size_t at = 0;
    *dropped = false;
    while (jc_token_next(s, at, &tok, &in)) {
        bool verdict = is_verdict_token(s, &in);
        if (jc_buf_put(&b, s + at, (verdict ? tok.start : tok.end) - at))
            goto oom;
        *dropped |= verdict;
        at = tok.end;
    }
    if (jc_buf_puts(&b, s + at) || jc_buf_take(&b, out))
        goto oom;
    return ASSAY_OK;
oom:
    jc_buf_free(&b);
    return ASSAY_ENOMEM;
}

int jc_cce_strip_outcome(const char *text, char **out)
{
    jc_buf b = {0};
    jc_span tok, in, last = {0, 0};
    size_t n = strlen(text), at = 0, cut_a = 0, cut_b = 0;
    bool found = false;
    *out = NULL;
    while (jc_token_next(text, at, &tok, &in)) {
        if (is_verdict_token(text, &in)) {
            last = tok;
            found = true;
        }
        at = tok.end;
    }
    if (found) {
        size_t la = last.start, lb = last.end;
        while (la > 0 && text[la - 1] != '\n')
            la--;
        while (lb < n && text[lb] != '\n')
            lb++;
        bool statement = span_has_ci(text + la, lb - la, "verdict") ||
                         span_has_ci(text + la, lb - la, "final") ||
                         words_outside_tokens(text, la, lb) <= 12;
        if (statement) {
            cut_a = la;
            cut_b = lb < n ? lb + 1 : lb;
        } else {
            /* the sentence that ends with the token */
            size_t sa = last.start;
            while (sa > la && !((text[sa - 1] == ' ' || text[sa - 1] == '\t') &&
                                sa >= la + 2 &&
                                (text[sa - 2] == '.' || text[sa - 2] == '!' ||
                                 text[sa - 2] == '?')))
                sa--;
            size_t sb = last.end;
            while (sb < lb &&
                   (text[sb] == '.' || text[sb] == '*' || text[sb] == '!' ||
                    text[sb] == ')' || text[sb] == '_'))
                sb++;
            cut_a = sa;
            cut_b = sb;
        }
    }
    /* copy everything but the cut, deleting any other verdict token */
    at = 0;
    while (at < n) {
        if (found && at == cut_a) {
            at = cut_b;
            continue;
        }
        size_t stop = found && cut_a > at ? cut_a : n;
        if (jc_token_next(text, at, &tok, &in) && tok.start < stop) {
            bool verdict = is_verdict_token(text, &in);
            if (jc_buf_put(&b, text + at, tok.start - at) ||
                (!verdict &&
                 jc_buf_put(&b, text + tok.start, tok.end - tok.start)))
                goto oom;
            at = tok.end;
            continue;
        }
        if (jc_buf_put(&b, text + at, stop - at))
            goto oom;
        at = stop;
    }
    /* trailing blank lines and a heading left behind */
    for (int round = 0; found && round < 3 && b.len; round++) {
        while (b.len && isspace((unsigned char)b.p[b.len - 1]))
            b.p[--b.len] = '\0';
        size_t ls = b.len;
        while (ls > 0 && b.p[ls - 1] != '\n')
            ls--;
        if (b.len == 0 || !heading_line(b.p + ls, b.len - ls))
            break;
        b.len = ls;
        b.p[b.len] = '\0';
    }
    if (jc_buf_take(&b, out))
        goto oom;
    /* deleting a token can join the brackets around it into a new one
     * ("[[A[[tie]]]]" leaves "[[A]]"): delete until none is left (each
     * pass that finds one makes the text shorter) */
    for (bool dropped = true; dropped;) {
        char *again = NULL;
        if (drop_verdict_tokens(*out, &again, &dropped)) {
            free(*out);
            *out = NULL;
            return ASSAY_ENOMEM;
        }
        free(*out);
        *out = again;
    }
    return ASSAY_OK;
oom:
    jc_buf_free(&b);
    return ASSAY_ENOMEM;
}

bool jc_cce_has_token(const char *text)
{
    jc_span tok, in;
    size_t at = 0;
    while (jc_token_next(text, at, &tok, &in)) {
        if (is_verdict_token(text, &in))
            return true;
        at = tok.end;
    }
    return false;
}

int jc_cce_context(const jc_cjudg *j, const size_t *sel, size_t nsel,
                   bool strip_outcome, char **out)
{
    jc_buf b = {0};
    *out = NULL;
    for (size_t k = 0; k < nsel; k++) {
        const jc_cjudg *x = &j[sel[k]];
        char cand = x->cand == 0 ? 'A' : 'B';
        char first = x->cand_pos == 0 ? cand : x->letter;
        char second = x->cand_pos == 0 ? x->letter : cand;
        char *body;
        if (jc_cce_rewrite(x->text, first, second, strip_outcome, &body))
            goto oom;
        int rc = jc_buf_printf(&b,
                               "%s%zu. Comparison of Assistant %c and "
                               "Assistant %c:\n%s\n",
                               k ? "\n" : "", k + 1, first, second, body);
        free(body);
        if (rc)
            goto oom;
    }
    if (b.len && b.p[b.len - 1] == '\n')
        b.p[--b.len] = '\0';
    if (jc_buf_take(&b, out))
        goto oom;
    return ASSAY_OK;
oom:
    jc_buf_free(&b);
    return ASSAY_ENOMEM;
}

/* ---- votes ------------------------------------------------------------ */

int jc_majority(const int *v, size_t n)
{
    size_t c[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < n; i++)
        if (v[i] >= JC_V_A && v[i] <= JC_V_TIE)
            c[v[i]]++;
    size_t top = c[1] > c[2] ? c[1] : c[2];
    if (c[3] > top)
        top = c[3];
    if (top == 0)
        return JC_V_NONE;
    int winners = (c[1] == top) + (c[2] == top) + (c[3] == top);
    if (winners > 1)
        return JC_V_TIE;
    return c[1] == top ? JC_V_A : c[2] == top ? JC_V_B : JC_V_TIE;
}

int jc_swap_combine(int v1, int v2, int policy, bool *consistent)
{
    if (v1 == JC_V_NONE || v2 == JC_V_NONE)
        return JC_V_NONE;
    if (consistent)
        *consistent = v1 == v2;
    if (v1 == v2)
        return v1;
    switch (policy) {
    case JC_SWAP_FIRST:
        return v1;
    case JC_SWAP_INVALID:
        return JC_V_NONE;
    default:
        return JC_V_TIE;
    }
}
