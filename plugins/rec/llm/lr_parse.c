/*
 * lr_parse.c - lists of titles in LLM answers, and Python list literals
 * for prompts (see lr.h).
 *
 * Models asked for "a Python list of titles" answer in many shapes: the
 * list alone, the list inside a code fence after some prose, JSON with
 * double quotes, single quotes that break on the first apostrophe
 * ('Schindler's List'), typographic quotes, numbered lines, or a bare
 * [Title, Title] list.  The parser accepts all of these; an answer where
 * none is found is a format violation for the caller.
 */
#include "lr.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void lr_titles_free(lr_titles *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i]);
    free(t->v);
    memset(t, 0, sizeof *t);
}

int lr_titles_push(lr_titles *t, const char *s, size_t n)
{
    while (n && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **v = realloc(t->v, cap * sizeof *v);
        if (!v)
            return ASSAY_ENOMEM;
        t->v = v;
        t->cap = cap;
    }
    char *c = malloc(n + 1);
    if (!c)
        return ASSAY_ENOMEM;
    memcpy(c, s, n);
    c[n] = '\0';
    t->v[t->n++] = c;
    return ASSAY_OK;
}

/* ---- quotes ---------------------------------------------------------- */

enum { Q_NONE = 0, Q_SINGLE = 1, Q_DOUBLE = 2 };

/* Is there a quote character at `p`?  Returns its class and sets *len. */
static int quote_at(const char *p, size_t *len)
{
    const unsigned char *u = (const unsigned char *)p;
    *len = 1;
    if (*u == '\'')
        return Q_SINGLE;
    if (*u == '"')
        return Q_DOUBLE;
    if (u[0] == 0xe2 && u[1] == 0x80) {
        *len = 3;
        if (u[2] == 0x98 || u[2] == 0x99)
            return Q_SINGLE;
        if (u[2] == 0x9c || u[2] == 0x9d)
            return Q_DOUBLE;
    }
    *len = 0;
    return Q_NONE;
}

/* Skip spaces, newlines and '# comment' lines. */
static const char *skip_ws(const char *p)
{
    for (;;) {
        while (*p && isspace((unsigned char)*p))
            p++;
        if (*p != '#')
            return p;
        while (*p && *p != '\n')
            p++;
    }
}

/* Does a quote that ends an element sit at `p` (its length `ql`)?  It
 * does when the next thing is ']', or ',' followed by another quoted
 * element or by ']'. */
static bool closes_element(const char *p, size_t ql)
{
    const char *q = p + ql;
    while (*q == ' ' || *q == '\t')
        q++;
    if (*q == '#' || *q == '\n' || *q == '\r')
        q = skip_ws(q);
    if (*q == ']')
        return true;
    if (*q != ',')
        return false;
    q = skip_ws(q + 1);
    size_t l;
    if (*q == ']' || quote_at(q, &l) != Q_NONE)
        return true;
    /* u'...' / r'...' prefixes */
    return (*q == 'u' || *q == 'r' || *q == 'b') &&
           quote_at(q + 1, &l) != Q_NONE;
}

/* Put the UTF-8 encoding of `cp` into buffer `b`. */
static int buf_cp(jc_buf *b, unsigned long cp)
{
    char o[4];
    size_t n;
    if (cp < 0x80) {
        o[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        o[0] = (char)(0xf0 | (cp >> 18));
        o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    return jc_buf_put(b, o, n);
}

/* `n` hex digits at p, or -1. */
static long hex_n(const char *p, int n)
{
    long v = 0;
    for (int i = 0; i < n; i++) {
        int c = (unsigned char)p[i];
        if (!isxdigit(c))
            return -1;
        v = v * 16 + (isdigit(c) ? c - '0' : (tolower(c) - 'a' + 10));
    }
    return v;
}

/*
 * Parse the quoted element at `p` (which starts with a quote) into `b`;
 * returns the position after its closing quote, or NULL when it never
 * closes.  *oom is set on allocation failure.
 */
static const char *parse_element(const char *p, jc_buf *b, bool *oom)
{
    size_t ql;
    int cls = quote_at(p, &ql);
    p += ql;
    while (*p) {
        size_t l;
        int c = quote_at(p, &l);
        if (c == cls && closes_element(p, l))
            return p + l;
        if (*p == '\\' && p[1]) {
            int rc = 0;
            long cp;
            switch (p[1]) {
            case 'n':
            case 't':
            case 'r':
                rc = jc_buf_put(b, " ", 1);
                p += 2;
                break;
            case 'u':
                if ((cp = hex_n(p + 2, 4)) >= 0) {
                    /* a surrogate pair \ud83c\udfac */
                    if (cp >= 0xd800 && cp < 0xdc00 && p[6] == '\\' &&
                        p[7] == 'u') {
                        long lo = hex_n(p + 8, 4);
                        if (lo >= 0xdc00 && lo < 0xe000) {
                            cp =
                                0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                            p += 6;
                        }
                    }
                    rc = buf_cp(b, (unsigned long)cp);
                    p += 6;
                } else {
                    rc = jc_buf_put(b, p, 2);
                    p += 2;
                }
                break;
            case 'x':
                if ((cp = hex_n(p + 2, 2)) >= 0) {
                    rc = buf_cp(b, (unsigned long)cp);
                    p += 4;
                } else {
                    rc = jc_buf_put(b, p, 2);
                    p += 2;
                }
                break;
            case '\'':
            case '"':
            case '\\':
            case '/':
                rc = jc_buf_put(b, p + 1, 1);
                p += 2;
                break;
            default:
                rc = jc_buf_put(b, p, 2);
                p += 2;
            }
            if (rc) {
                *oom = true;
                return NULL;
            }
            continue;
        }
        if (jc_buf_put(b, p, 1)) {
            *oom = true;
            return NULL;
        }
        p++;
    }
    return NULL;
}

/* Parse a bracketed list of quoted strings starting at '[' `p`.
 * Returns true with the elements in `out` (empty on false). */
static bool parse_quoted_list(const char *p, lr_titles *out, bool *oom)
{
    jc_buf b = {0};
    p = skip_ws(p + 1);
    for (;;) {
        size_t l;
        if ((*p == 'u' || *p == 'r' || *p == 'b') &&
            quote_at(p + 1, &l) != Q_NONE)
            p++;
        if (quote_at(p, &l) == Q_NONE)
            goto fail;
        const char *e = parse_element(p, &b, oom);
        if (!e)
            goto fail;
        if (lr_titles_push(out, b.p ? b.p : "", b.len)) {
            *oom = true;
            goto fail;
        }
        b.len = 0;
        if (b.p)
            b.p[0] = '\0';
        p = skip_ws(e);
        if (*p == ',')
            p = skip_ws(p + 1);
        if (*p == ']') {
            jc_buf_free(&b);
            return out->n > 0;
        }
    }
fail:
    jc_buf_free(&b);
    lr_titles_free(out);
    return false;
}

/* ---- cleaning one title ---------------------------------------------- */

/* Copy of [s, s+n) without markdown emphasis marks and without one pair
 * of surrounding quotes; trailing ',' / ';' dropped. */
static int push_clean(lr_titles *t, const char *s, size_t n)
{
    char *c = malloc(n + 1);
    size_t w = 0;
    if (!c)
        return ASSAY_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '*' || s[i] == '`' ||
            (s[i] == '_' && i + 1 < n && s[i + 1] == '_')) {
            if (s[i] == '_')
                i++;
            continue;
        }
        c[w++] = s[i];
    }
    c[w] = '\0';
    /* trim, trailing separators */
    size_t a = 0, e = w;
    while (a < e && isspace((unsigned char)c[a]))
        a++;
    while (e > a && (isspace((unsigned char)c[e - 1]) || c[e - 1] == ',' ||
                     c[e - 1] == ';'))
        e--;
    size_t ql, qr;
    int lq = a < e ? quote_at(c + a, &ql) : Q_NONE;
    if (lq != Q_NONE && e - a > ql) {
        /* a closing quote of the same class at the end */
        for (size_t k = 1; k <= 3 && k <= e - a - ql; k++) {
            if (quote_at(c + e - k, &qr) == lq && qr == k) {
                a += ql;
                e -= k;
                break;
            }
        }
    }
    int rc = lr_titles_push(t, c + a, e - a);
    free(c);
    return rc;
}

/* ---- numbered and bulleted lines -------------------------------------- */

/* If the line [p, e) is "12. Title", "12) Title", "12: Title" (maybe in
 * markdown emphasis) return the title's start, else NULL. */
static const char *numbered(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '*' || *p == '#'))
        p++;
    const char *d = p;
    while (p < e && isdigit((unsigned char)*p))
        p++;
    if (p == d || p - d > 3 || p >= e)
        return NULL;
    if (*p == '*')
        p++;
    if (p >= e || (*p != '.' && *p != ')' && *p != ':'))
        return NULL;
    p++;
    if (p < e && *p == '*')
        p++;
    if (p >= e || (*p != ' ' && *p != '\t'))
        return NULL;
    return p;
}

static const char *bulleted(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    if (e - p >= 2 && (*p == '-' || *p == '*') && p[1] == ' ')
        return p + 2;
    if (e - p >= 4 && (unsigned char)p[0] == 0xe2 &&
        (unsigned char)p[1] == 0x80 && (unsigned char)p[2] == 0xa2)
        return p + 3;
    return NULL;
}

static int parse_lines(const char *text, lr_titles *out, bool bullets)
{
    const char *p = text;
    while (*p) {
        const char *e = strchr(p, '\n');
        if (!e)
            e = p + strlen(p);
        const char *t = bullets ? bulleted(p, e) : numbered(p, e);
        if (t) {
            const char *te = e;
            if (te > t && te[-1] == '\r')
                te--;
            if (push_clean(out, t, (size_t)(te - t)))
                return ASSAY_ENOMEM;
            if (out->v[out->n - 1][0] == '\0')
                free(out->v[--out->n]);
        }
        p = *e ? e + 1 : e;
    }
    return ASSAY_OK;
}

/* ---- bare bracketed lists ------------------------------------------- */

static bool is_article(const char *s)
{
    static const char *const a[] = {"the", "a",   "an", "les", "la",
                                    "le",  "l'",  "il", "el",  "das",
                                    "der", "die", NULL};
    for (size_t i = 0; a[i]; i++)
        if (strcasecmp(s, a[i]) == 0)
            return true;
    return false;
}

/* Parse "[Title, Title, Title]" at '[' `p` ending at its ']' `e`. */
static int parse_bare(const char *p, const char *e, lr_titles *out)
{
    bool lines = memchr(p, '\n', (size_t)(e - p)) != NULL;
    const char *s = p + 1;
    while (s < e) {
        const char *sep = s;
        while (sep < e && *sep != (lines ? '\n' : ','))
            sep++;
        const char *a = s, *b = sep;
        if (lines) {
            const char *t = numbered(a, b);
            if (t)
                a = t;
        }
        if (push_clean(out, a, (size_t)(b - a)))
            return ASSAY_ENOMEM;
        char *last = out->v[out->n - 1];
        if (!*last) {
            free(out->v[--out->n]);
        } else if (out->n >= 2 && is_article(last)) {
            /* "Usual Suspects, The": rejoin the article */
            char *prev = out->v[out->n - 2];
            size_t pl = strlen(prev), ll = strlen(last);
            char *j = malloc(pl + ll + 3);
            if (!j)
                return ASSAY_ENOMEM;
            memcpy(j, prev, pl);
            memcpy(j + pl, ", ", 2);
            memcpy(j + pl + 2, last, ll + 1);
            free(prev);
            free(last);
            out->n--;
            out->v[out->n - 1] = j;
        }
        s = sep + 1;
    }
    return ASSAY_OK;
}

/* ---- the answer ------------------------------------------------------- */

static void titles_swap(lr_titles *a, lr_titles *b)
{
    lr_titles t = *a;
    *a = *b;
    *b = t;
}

int lr_parse_list(const char *text, lr_titles *out)
{
    lr_titles best = {0}, cur = {0};
    bool oom = false;
    if (!text)
        return ASSAY_OK;
    /* 1. bracketed lists of quoted strings: the longest, last of equals */
    for (const char *p = strchr(text, '['); p; p = strchr(p + 1, '[')) {
        if (parse_quoted_list(p, &cur, &oom) && cur.n >= best.n) {
            titles_swap(&best, &cur);
            lr_titles_free(&cur);
        } else {
            lr_titles_free(&cur);
        }
        if (oom)
            goto nomem;
    }
    if (best.n) {
        best.format = LR_FMT_LIST;
        goto found;
    }
    /* 2. numbered lines, else two bulleted lines at least */
    if (parse_lines(text, &best, false))
        goto nomem;
    if (best.n) {
        best.format = LR_FMT_LINES;
        goto found;
    }
    if (parse_lines(text, &best, true))
        goto nomem;
    if (best.n >= 2) {
        best.format = LR_FMT_LINES;
        goto found;
    }
    lr_titles_free(&best);
    /* 3. bare bracketed lists */
    for (const char *p = strchr(text, '['); p; p = strchr(p + 1, '[')) {
        const char *e = strchr(p + 1, ']');
        if (!e)
            break;
        if (memchr(p + 1, '[', (size_t)(e - p - 1)))
            continue;
        if (parse_bare(p, e, &cur))
            goto nomem;
        if (cur.n && cur.n >= best.n)
            titles_swap(&best, &cur);
        lr_titles_free(&cur);
    }
    if (best.n)
        best.format = LR_FMT_UNQUOTED;
found:
    lr_titles_free(out);
    *out = best;
    return ASSAY_OK;
nomem:
    lr_titles_free(&best);
    lr_titles_free(&cur);
    return ASSAY_ENOMEM;
}

/* ---- Python list literals --------------------------------------------- */

int lr_pylist(jc_buf *b, const char *const *v, size_t n)
{
    if (jc_buf_put(b, "[", 1))
        return ASSAY_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const char *s = v[i];
        bool dq = strchr(s, '\'') && !strchr(s, '"');
        char q = dq ? '"' : '\'';
        if ((i && jc_buf_put(b, ", ", 2)) || jc_buf_put(b, &q, 1))
            return ASSAY_ENOMEM;
        for (const char *p = s; *p; p++) {
            int rc;
            if (*p == '\\' || *p == q)
                rc = jc_buf_put(b, "\\", 1) || jc_buf_put(b, p, 1);
            else if (*p == '\n')
                rc = jc_buf_put(b, "\\n", 2);
            else
                rc = jc_buf_put(b, p, 1);
            if (rc)
                return ASSAY_ENOMEM;
        }
        if (jc_buf_put(b, &q, 1))
            return ASSAY_ENOMEM;
    }
    return jc_buf_put(b, "]", 1) ? ASSAY_ENOMEM : ASSAY_OK;
}
