/*
 * jc_verdict.c - see jc_verdict.h.
 */
#include "jc_verdict.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_MAX 48

bool jc_token_next(const char *text, size_t from, jc_span *tok, jc_span *inner)
{
    const char *p = text + from;
    while ((p = strstr(p, "[[")) != NULL) {
        /* the innermost "[[" of a run such as "[[[A]]]" */
        while (p[2] == '[')
            p++;
        const char *c = p + 2, *q = c;
        while (*q && *q != '\n' && *q != '[' && (size_t)(q - c) <= TOKEN_MAX &&
               !(q[0] == ']' && q[1] == ']'))
            q++;
        if (q[0] == ']' && q[1] == ']' && (size_t)(q - c) <= TOKEN_MAX) {
            const char *a = c, *b = q;
            while (a < b && (isspace((unsigned char)*a) || *a == '*' ||
                             *a == '_' || *a == '`' || *a == '"' || *a == '\''))
                a++;
            while (b > a && (isspace((unsigned char)b[-1]) || b[-1] == '*' ||
                             b[-1] == '_' || b[-1] == '`' || b[-1] == '"' ||
                             b[-1] == '\'' || b[-1] == '.'))
                b--;
            tok->start = (size_t)(p - text);
            tok->end = (size_t)(q + 2 - text);
            inner->start = (size_t)(a - text);
            inner->end = (size_t)(b - text);
            return true;
        }
        p += 2;
    }
    return false;
}

/* Case-insensitive prefix test: word `w` followed by a space or ':'. */
static size_t skip_word(const char *s, size_t n, const char *w)
{
    size_t k = strlen(w);
    if (n <= k || strncasecmp(s, w, k) != 0)
        return 0;
    size_t i = k;
    if (s[i] == ':')
        i++;
    if (i < n && s[i] != ' ' && s[i] != '\t')
        return i == k ? 0 : i;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    return i;
}

int jc_token_pair(const char *s, size_t n, char *letter)
{
    static const char *const lead[] = {"assistant", "response", "answer",
                                       "output",    "model",    NULL};
    *letter = 0;
    for (int i = 0; lead[i]; i++) {
        size_t k = skip_word(s, n, lead[i]);
        if (k) {
            s += k;
            n -= k;
            break;
        }
    }
    if (n == 1 && isalpha((unsigned char)s[0])) {
        char c = (char)toupper((unsigned char)s[0]);
        *letter = c;
        return c == 'A'   ? JC_V_A
               : c == 'B' ? JC_V_B
               : c == 'C' ? JC_V_TIE
                          : JC_V_NONE;
    }
    if (n == 3 && strncasecmp(s, "tie", 3) == 0)
        return JC_V_TIE;
    return JC_V_NONE;
}

/* Offsets of the line holding byte `at`. */
static void line_of(const char *text, size_t at, size_t *a, size_t *b)
{
    size_t i = at;
    while (i > 0 && text[i - 1] != '\n')
        i--;
    *a = i;
    const char *nl = strchr(text + at, '\n');
    *b = nl ? (size_t)(nl - text) : strlen(text);
}

static bool blank(const char *text)
{
    for (; *text; text++)
        if (!isspace((unsigned char)*text))
            return false;
    return true;
}

int jc_parse_pair(const char *text, bool ties, int *why, jc_span *where)
{
    jc_span tok, in, last = {0, 0};
    int v = JC_V_NONE;
    size_t at = 0;
    char letter;
    *why = JC_WHY_OK;
    if (!text || blank(text)) {
        *why = JC_WHY_EMPTY;
        return JC_V_NONE;
    }
    while (jc_token_next(text, at, &tok, &in)) {
        int t = jc_token_pair(text + in.start, in.end - in.start, &letter);
        if (t != JC_V_NONE) {
            v = t;
            last = tok;
        }
        at = tok.end;
    }
    if (v == JC_V_NONE) {
        *why = JC_WHY_NOTOKEN;
        return JC_V_NONE;
    }
    /* another, different verdict on the same line makes it ambiguous */
    size_t la, lb;
    line_of(text, last.start, &la, &lb);
    at = la;
    while (jc_token_next(text, at, &tok, &in) && tok.start < lb) {
        int t = jc_token_pair(text + in.start, in.end - in.start, &letter);
        if (t != JC_V_NONE && t != v) {
            *why = JC_WHY_AMBIG;
            return JC_V_NONE;
        }
        at = tok.end;
    }
    if (v == JC_V_TIE && !ties) {
        *why = JC_WHY_TIE;
        return JC_V_NONE;
    }
    if (where)
        *where = last;
    return v;
}

/* Score token content: 1 = recognised with a valid integer in *val,
 * 2 = recognised but not a usable integer (fraction, other denominator),
 * 0 = not a score token. */
static int score_token(const char *s, size_t n, long hi, long *val)
{
    static const char *const lead[] = {"rating", "score", NULL};
    char buf[64];
    for (int i = 0; lead[i]; i++) {
        size_t k = skip_word(s, n, lead[i]);
        if (k) {
            s += k;
            n -= k;
            break;
        }
    }
    if (n == 0 || n >= sizeof buf)
        return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    const char *p = buf;
    if (!(isdigit((unsigned char)*p) ||
          ((*p == '-' || *p == '+') && isdigit((unsigned char)p[1]))))
        return 0;
    char *end;
    errno = 0;
    long x = strtol(p, &end, 10);
    if (errno)
        return 2;
    while (*end == ' ')
        end++;
    if (*end == '\0') {
        *val = x;
        return 1;
    }
    if (*end == '.' || *end == ',') {
        /* "7.0" is 7; "7.5" is not an integer score */
        const char *q = end + 1;
        bool zeros = isdigit((unsigned char)*q);
        while (*q == '0')
            q++;
        if (zeros && *q == '\0') {
            *val = x;
            return 1;
        }
        return isdigit((unsigned char)end[1]) ? 2 : 0;
    }
    if (*end == '/') {
        end++;
        while (*end == ' ')
            end++;
        char *e2;
        long d = strtol(end, &e2, 10);
        while (*e2 == ' ')
            e2++;
        if (e2 == end || *e2)
            return 0;
        if (d != hi)
            return 2;
        *val = x;
        return 1;
    }
    return 0;
}

bool jc_parse_score(const char *text, long lo, long hi, long *score, int *why,
                    jc_span *where)
{
    jc_span tok, in, last = {0, 0};
    size_t at = 0;
    int kind = 0;
    long v = 0, x;
    *why = JC_WHY_OK;
    if (!text || blank(text)) {
        *why = JC_WHY_EMPTY;
        return false;
    }
    while (jc_token_next(text, at, &tok, &in)) {
        int k = score_token(text + in.start, in.end - in.start, hi, &x);
        if (k) {
            kind = k;
            v = x;
            last = tok;
        }
        at = tok.end;
    }
    if (!kind) {
        *why = JC_WHY_NOTOKEN;
        return false;
    }
    size_t la, lb;
    line_of(text, last.start, &la, &lb);
    at = la;
    while (jc_token_next(text, at, &tok, &in) && tok.start < lb) {
        int k = score_token(text + in.start, in.end - in.start, hi, &x);
        if (k && (k != kind || (k == 1 && x != v))) {
            *why = JC_WHY_AMBIG;
            return false;
        }
        at = tok.end;
    }
    if (kind == 2 || v < lo || v > hi) {
        *why = JC_WHY_RANGE;
        return false;
    }
    *score = v;
    if (where)
        *where = last;
    return true;
}

const char *jc_why_name(int why)
{
    switch (why) {
    case JC_WHY_OK:
        return "ok";
    case JC_WHY_EMPTY:
        return "empty";
    case JC_WHY_NOTOKEN:
        return "no verdict token";
    case JC_WHY_AMBIG:
        return "ambiguous";
    case JC_WHY_TIE:
        return "tie not allowed";
    case JC_WHY_RANGE:
        return "out of range";
    }
    return "?";
}

const char *jc_verdict_name(int v)
{
    switch (v) {
    case JC_V_A:
        return "A";
    case JC_V_B:
        return "B";
    case JC_V_TIE:
        return "tie";
    }
    return NULL;
}

int jc_verdict_flip(int v)
{
    return v == JC_V_A ? JC_V_B : v == JC_V_B ? JC_V_A : v;
}
