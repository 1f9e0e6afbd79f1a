/*
 * textcommon.c - UTF-8 helpers, sacreBLEU tokenizers, n-gram table, item
 * input, threads and bootstrap shared by the text metric plugins.
 */
#include "textcommon.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <utf8proc.h>

/* ---- buffers ------------------------------------------------------------- */

int tc_buf_reserve(tc_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return ASSAY_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        return ASSAY_ENOMEM;
    b->p = p;
    b->cap = cap;
    return ASSAY_OK;
}

int tc_buf_put(tc_buf *b, const char *s, size_t n)
{
    if (tc_buf_reserve(b, n))
        return ASSAY_ENOMEM;
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return ASSAY_OK;
}

void tc_buf_free(tc_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* ---- UTF-8 --------------------------------------------------------------- */

uint32_t tc_utf8_decode(const unsigned char *s, size_t n, size_t *adv)
{
    unsigned c = s[0];
    size_t need;
    uint32_t cp;
    if (c < 0x80) {
        *adv = 1;
        return c;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        need = 1;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 2;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3;
        cp = c & 0x07;
    } else {
        *adv = 1;
        return c;
    }
    if (need >= n) {
        *adv = 1;
        return c;
    }
    for (size_t k = 1; k <= need; k++) {
        if ((s[k] & 0xc0) != 0x80) {
            *adv = 1;
            return c;
        }
        cp = (cp << 6) | (s[k] & 0x3f);
    }
    *adv = need + 1;
    return cp;
}

size_t tc_utf8_encode(uint32_t cp, char *out)
{
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xc0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xe0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (unsigned char)(0xf0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

bool tc_is_space(uint32_t cp)
{
    if (cp < 0x80)
        return (cp >= 0x09 && cp <= 0x0d) || (cp >= 0x1c && cp <= 0x20);
    switch (cp) {
    case 0x85: case 0xa0: case 0x1680: case 0x2028: case 0x2029:
    case 0x202f: case 0x205f: case 0x3000:
        return true;
    default:
        return cp >= 0x2000 && cp <= 0x200a;
    }
}

/* True when the byte at s[0] starts a whitespace code point; *adv gets
 * the code point's length. */
static inline bool space_at(const char *s, size_t n, size_t *adv)
{
    unsigned char c = (unsigned char)s[0];
    if (c < 0x80) {
        *adv = 1;
        return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20);
    }
    return tc_is_space(tc_utf8_decode((const unsigned char *)s, n, adv));
}

size_t tc_rstrip_len(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    while (n > 0) {
        unsigned char c = u[n - 1];
        if (c < 0x80) {
            if (!((c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20)))
                return n;
            n--;
            continue;
        }
        /* a multi-byte code point: find its start */
        size_t k = n - 1, adv;
        while (k > 0 && (u[k] & 0xc0) == 0x80)
            k--;
        uint32_t cp = tc_utf8_decode(u + k, n - k, &adv);
        if (k + adv != n || !tc_is_space(cp))
            return n;
        n = k;
    }
    return 0;
}

void tc_strip(const char **s, size_t *n)
{
    size_t i = 0, adv;
    while (i < *n && space_at(*s + i, *n - i, &adv))
        i += adv;
    *s += i;
    *n -= i;
    *n = tc_rstrip_len(*s, *n);
}

/* Unicode properties used by the final-sigma rule of str.lower(). */
static bool is_cased(uint32_t cp)
{
    int c = utf8proc_category((utf8proc_int32_t)cp);
    return c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LL ||
           c == UTF8PROC_CATEGORY_LT;
}

static bool is_case_ignorable(uint32_t cp)
{
    switch (cp) {
    case 0x27: case 0x2e: case 0x3a: case 0x5e: case 0x60: case 0xa8:
    case 0xad: case 0xaf: case 0xb4: case 0xb7: case 0xb8: case 0x387:
    case 0x2018: case 0x2019: case 0x2024: case 0x2027: case 0xfe13:
    case 0xfe52: case 0xfe55: case 0xff07: case 0xff0e: case 0xff1a:
        return true;
    default:
        break;
    }
    int c = utf8proc_category((utf8proc_int32_t)cp);
    return c == UTF8PROC_CATEGORY_MN || c == UTF8PROC_CATEGORY_ME ||
           c == UTF8PROC_CATEGORY_CF || c == UTF8PROC_CATEGORY_LM ||
           c == UTF8PROC_CATEGORY_SK;
}

/* Python's Final_Sigma context for the capital sigma at byte `i`. */
static bool final_sigma(const char *s, size_t n, size_t i, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t j = i, adv;
    uint32_t c = 0;
    bool found = false;
    while (j > 0) {
        size_t k = j - 1;
        while (k > 0 && (u[k] & 0xc0) == 0x80)
            k--;
        c = tc_utf8_decode(u + k, n - k, &adv);
        j = k;
        if (!is_case_ignorable(c)) {
            found = true;
            break;
        }
    }
    if (!found || !is_cased(c))
        return false;
    for (j = i + len; j < n; j += adv) {
        c = tc_utf8_decode(u + j, n - j, &adv);
        if (!is_case_ignorable(c))
            return !is_cased(c);
    }
    return true;
}

int tc_lower(const char *s, size_t n, tc_buf *out)
{
    if (tc_buf_reserve(out, n + 8))
        return ASSAY_ENOMEM;
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            if (tc_buf_reserve(out, 1))
                return ASSAY_ENOMEM;
            out->p[out->len++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
            i++;
            continue;
        }
        size_t adv;
        uint32_t cp = tc_utf8_decode((const unsigned char *)s + i, n - i,
                                     &adv);
        char enc[8];
        size_t m;
        if (cp == 0x130) { /* full mapping: i + combining dot above */
            enc[0] = 'i';
            m = 1 + tc_utf8_encode(0x307, enc + 1);
        } else if (cp == 0x3a3) {
            m = tc_utf8_encode(final_sigma(s, n, i, adv) ? 0x3c2 : 0x3c3,
                               enc);
        } else if (adv == 1) { /* malformed byte: keep it */
            enc[0] = (char)c;
            m = 1;
        } else {
            m = tc_utf8_encode(
                (uint32_t)utf8proc_tolower((utf8proc_int32_t)cp), enc);
        }
        if (tc_buf_put(out, enc, m))
            return ASSAY_ENOMEM;
        i += adv;
    }
    if (out->p)
        out->p[out->len] = '\0';
    return ASSAY_OK;
}

/* ---- tokens -------------------------------------------------------------- */

uint64_t tc_hash(const char *p, size_t n)
{
    uint64_t h = 0x243f6a8885a308d3ULL ^ ((uint64_t)n * 0x9e3779b97f4a7c15ULL);
    const unsigned char *u = (const unsigned char *)p;
    uint64_t w = 0;
    if (n >= 8) {
        size_t i = 0;
        for (; i + 8 <= n; i += 8) {
            memcpy(&w, u + i, 8);
            h = (h ^ w) * 0xff51afd7ed558ccdULL;
            h ^= h >> 32;
        }
        if (i < n) { /* the last 8 bytes, overlapping */
            memcpy(&w, u + n - 8, 8);
            h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
        }
    } else if (n >= 4) { /* two overlapping 4-byte loads */
        uint32_t a, b;
        memcpy(&a, u, 4);
        memcpy(&b, u + n - 4, 4);
        w = ((uint64_t)a << 32) | b;
        h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
    } else if (n > 0) {
        w = (uint64_t)u[0] | ((uint64_t)u[n / 2] << 8) |
            ((uint64_t)u[n - 1] << 16);
        h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
    }
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    return h ^ (h >> 32);
}

int tc_words_grow(tc_words *w)
{
    size_t cap = w->cap ? w->cap * 2 : 64;
    tc_word *v = realloc(w->v, cap * sizeof *v);
    if (!v)
        return ASSAY_ENOMEM;
    w->v = v;
    w->cap = cap;
    return ASSAY_OK;
}

void tc_words_free(tc_words *w)
{
    free(w->v);
    w->v = NULL;
    w->n = w->cap = 0;
}

int tc_split(const char *s, size_t n, tc_words *out)
{
    size_t i = 0, adv;
    while (i < n) {
        while (i < n && space_at(s + i, n - i, &adv))
            i += adv;
        if (i >= n)
            break;
        size_t start = i;
        while (i < n && !space_at(s + i, n - i, &adv))
            i += adv;
        if (tc_words_push(out, s + start, i - start))
            return ASSAY_ENOMEM;
    }
    return ASSAY_OK;
}

/* ---- tokenizers ---------------------------------------------------------- */

static const char *const tok_names[] = {"none", "13a", "intl", "char", "zh"};

bool tc_tokenizer_from_name(const char *name, tc_tokenizer *out)
{
    for (int i = 0; i < 5; i++)
        if (name && strcmp(name, tok_names[i]) == 0) {
            *out = (tc_tokenizer)i;
            return true;
        }
    return false;
}

const char *tc_tokenizer_name(tc_tokenizer t)
{
    return (unsigned)t < 5 ? tok_names[t] : "?";
}

void tc_scratch_free(tc_scratch *w)
{
    tc_buf_free(&w->a);
    tc_buf_free(&w->b);
    tc_buf_free(&w->c);
}

/* Replace every occurrence of `pat` by `rep` (Python str.replace), from
 * `src` into `dst` (cleared). */
int tc_replace_all(const char *src, size_t n, const char *pat,
                   const char *rep, tc_buf *dst)
{
    size_t pl = strlen(pat), rl = strlen(rep), i = 0;
    dst->len = 0;
    if (tc_buf_reserve(dst, n))
        return ASSAY_ENOMEM;
    while (i < n) {
        const char *hit = memchr(src + i, pat[0], n - i);
        if (!hit) {
            if (tc_buf_put(dst, src + i, n - i))
                return ASSAY_ENOMEM;
            break;
        }
        size_t at = (size_t)(hit - src);
        if (tc_buf_put(dst, src + i, at - i))
            return ASSAY_ENOMEM;
        if (at + pl <= n && memcmp(src + at, pat, pl) == 0) {
            if (tc_buf_put(dst, rep, rl))
                return ASSAY_ENOMEM;
            i = at + pl;
        } else {
            if (tc_buf_put(dst, src + at, 1))
                return ASSAY_ENOMEM;
            i = at + 1;
        }
    }
    return ASSAY_OK;
}

static inline bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* The character class of the first 13a rule:
 * [\{-\~\[-\` -\&\(-\+\:-\@\/] */
static inline bool is_13a_punct(unsigned char c)
{
    return (c >= 0x7b && c <= 0x7e) || (c >= 0x5b && c <= 0x60) ||
           (c >= 0x20 && c <= 0x26) || (c >= 0x28 && c <= 0x2b) ||
           (c >= 0x3a && c <= 0x40) || c == 0x2f;
}

/*
 * sacreBLEU's TokenizerRegexp on bytes `src` (n) into `out`, using `tmp`:
 * the four substitutions of mteval-v13a, each applied left to right
 * without overlapping matches as Python's re.sub does.  All patterns
 * involve ASCII characters only and [^0-9] matches any other code point,
 * so scanning bytes gives the same result as scanning code points.
 */
int tc_regexp_rules(const char *src, size_t n, bool possessive, tc_buf *tmp,
                    tc_buf *out)
{
    /* rule 1: punctuation -> " c " */
    tmp->len = 0;
    if (tc_buf_reserve(tmp, 3 * n))
        return ASSAY_ENOMEM;
    char *o = tmp->p;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)src[i];
        if (is_13a_punct(c)) {
            *o++ = ' ';
            *o++ = (char)c;
            *o++ = ' ';
        } else {
            *o++ = (char)c;
        }
    }
    tmp->len = (size_t)(o - tmp->p);

    const char *s = tmp->p;
    size_t m = tmp->len;
    if (possessive && memchr(s, '\'', m)) {
        /* Tercom: "'s " -> " 's " (its "'s$" rule cannot match: the
         * string ends with the padding space) */
        if (tc_replace_all(s, m, "'s ", " 's ", out))
            return ASSAY_ENOMEM;
        tmp->len = 0;
        if (tc_buf_put(tmp, out->p, out->len))
            return ASSAY_ENOMEM;
        s = tmp->p;
        m = tmp->len;
    }

    /* rule 2: ([^0-9])([\.,]) -> "\1 \2 " */
    out->len = 0;
    if (tc_buf_reserve(out, 2 * m))
        return ASSAY_ENOMEM;
    o = out->p;
    for (size_t i = 0; i < m;) {
        unsigned char c = (unsigned char)s[i];
        if (i + 1 < m && !is_digit(c) && (s[i + 1] == '.' || s[i + 1] == ',')) {
            *o++ = (char)c;
            *o++ = ' ';
            *o++ = s[i + 1];
            *o++ = ' ';
            i += 2;
        } else {
            *o++ = (char)c;
            i++;
        }
    }
    out->len = (size_t)(o - out->p);

    /* rule 3: ([\.,])([^0-9]) -> " \1 \2" */
    s = out->p;
    m = out->len;
    tmp->len = 0;
    if (tc_buf_reserve(tmp, 2 * m))
        return ASSAY_ENOMEM;
    o = tmp->p;
    for (size_t i = 0; i < m;) {
        char c = s[i];
        if ((c == '.' || c == ',') && i + 1 < m &&
            !is_digit((unsigned char)s[i + 1])) {
            *o++ = ' ';
            *o++ = c;
            *o++ = ' ';
            *o++ = s[i + 1];
            i += 2;
        } else {
            *o++ = c;
            i++;
        }
    }
    tmp->len = (size_t)(o - tmp->p);

    /* rule 4: ([0-9])(-) -> "\1 \2 " */
    s = tmp->p;
    m = tmp->len;
    out->len = 0;
    if (tc_buf_reserve(out, 2 * m))
        return ASSAY_ENOMEM;
    o = out->p;
    for (size_t i = 0; i < m;) {
        unsigned char c = (unsigned char)s[i];
        if (is_digit(c) && i + 1 < m && s[i + 1] == '-') {
            *o++ = (char)c;
            *o++ = ' ';
            *o++ = '-';
            *o++ = ' ';
            i += 2;
        } else {
            *o++ = (char)c;
            i++;
        }
    }
    out->len = (size_t)(o - out->p);
    out->p[out->len] = '\0';
    return ASSAY_OK;
}

/* mteval-v13a: language-independent replacements, padding, rules.  The
 * patterns never start with a space, so replacing after padding is the
 * same as padding after replacing. */
static int tok_13a(const char *s, size_t n, tc_scratch *w, tc_buf *text)
{
    static const char *const reps[][2] = {
        {"<skipped>", ""}, {"-\n", ""},    {"\n", " "},  {"&quot;", "\""},
        {"&amp;", "&"},    {"&lt;", "<"}, {"&gt;", ">"}};
    tc_buf *cur = &w->a, *nxt = &w->b;
    cur->len = 0;
    if (tc_buf_put(cur, " ", 1) || tc_buf_put(cur, s, n))
        return ASSAY_ENOMEM;
    for (size_t r = 0; r < sizeof reps / sizeof reps[0]; r++) {
        if (!memchr(cur->p, reps[r][0][0], cur->len))
            continue;
        if (tc_replace_all(cur->p, cur->len, reps[r][0], reps[r][1], nxt))
            return ASSAY_ENOMEM;
        tc_buf *t = cur;
        cur = nxt;
        nxt = t;
    }
    if (tc_buf_put(cur, " ", 1))
        return ASSAY_ENOMEM;
    return tc_regexp_rules(cur->p, cur->len, false, &w->c, text);
}

/* The code points sacreBLEU's zh tokenizer treats as Chinese.  Its table
 * writes two supplementary ranges as 5-hex-digit escapes, which Python
 * reads as a BMP character followed by a digit; compared as strings they
 * select U+2001..U+2A6D and U+2F81..U+2FA1, reproduced here. */
static bool is_zh_char(uint32_t c)
{
    static const uint32_t r[][2] = {
        {0x2001, 0x2a6d}, {0x2e80, 0x2fdf}, {0x2ff0, 0x303f},
        {0x3100, 0x312f}, {0x31a0, 0x31ef}, {0x3200, 0x4db5},
        {0x4e00, 0x9fbb}, {0xf900, 0xfa2d}, {0xfa30, 0xfa6a},
        {0xfa70, 0xfad9}, {0xfe10, 0xfe1f}, {0xfe30, 0xfe4f},
        {0xff00, 0xffef}};
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++)
        if (c >= r[i][0] && c <= r[i][1])
            return true;
    return false;
}

static int tok_zh(const char *s, size_t n, tc_scratch *w, tc_buf *text)
{
    tc_strip(&s, &n);
    w->a.len = 0;
    if (tc_buf_reserve(&w->a, n))
        return ASSAY_ENOMEM;
    for (size_t i = 0; i < n;) {
        size_t adv;
        uint32_t cp = tc_utf8_decode((const unsigned char *)s + i, n - i,
                                     &adv);
        bool zh = adv > 1 && is_zh_char(cp);
        if ((zh && tc_buf_put(&w->a, " ", 1)) ||
            tc_buf_put(&w->a, s + i, adv) ||
            (zh && tc_buf_put(&w->a, " ", 1)))
            return ASSAY_ENOMEM;
        i += adv;
    }
    return tc_regexp_rules(w->a.p ? w->a.p : "", w->a.len, false, &w->b,
                           text);
}

/*
 * Fast exact form of the TokenizerRegexp rules (13a and zh).  The four
 * substitutions only ever insert spaces, so the result is the original
 * bytes with token boundaries ("gaps") added between some of them.
 * Instead of rewriting the string four times, this copies it once, keeps
 * a flag byte per position and replays every rule's left-to-right,
 * non-overlapping scan on the flags:
 *   WS   the byte belongs to a whitespace character (a non-digit element
 *        for the rules, a separator for the final split)
 *   G1   an inserted space before the byte after rule 1 (around class-1
 *        punctuation and, for zh, around CJK characters)
 *   G2A  inserted by rule 2; M2: the byte was the [.,] of a rule-2 match
 *        and so was consumed (cannot start the next match)
 *   G3A, M3  the same for rule 3;  G4A for rule 4
 * One inserted space is as good as several: spaces are non-digits and
 * never the consumed [.,] of rule 2.  Only ASCII bytes matter to the
 * rules, so bytes stand for characters.  `pad` is 13a's " line " padding
 * (a space before the first and after the last byte); zh has none.
 * Tests compare this with the literal passes (tc_tokenize_ref) on random
 * strings.
 */
enum { G1 = 1, G2A = 2, G3A = 4, G4A = 8, M2 = 16, M3 = 32, WS = 64 };

/* Byte classes: 0 ordinary, 1 whitespace, 2 rule-1 punctuation, 3 period
 * or comma, 4 dash, 5 non-ASCII. */
enum { K_ORD = 0, K_SPACE, K_P1, K_DC, K_DASH, K_HIGH };
static const unsigned char k13a[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1,
    1, 2, 2, 2, 2, 2, 2, 0, 2, 2, 2, 2, 3, 4, 3, 2,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2,
    2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2,
    2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 0,
    5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
    5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
    5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
    5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
    5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
    5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
    5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
    5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
};

/* A byte (or character) the rules or the split care about. */
typedef struct special {
    uint32_t pos, len;
} special;

#define SWAR_ONES 0x0101010101010101ULL
#define SWAR_HIGH 0x8080808080808080ULL

/* 0x80 in every byte of v (all ASCII) that is a letter or a digit. */
static inline uint64_t swar_alnum(uint64_t v)
{
    uint64_t l = v | (0x20 * SWAR_ONES); /* fold case */
    uint64_t letter = (l + (0x80 - 'a') * SWAR_ONES) &
                      ~(l + (0x80 - 'z' - 1) * SWAR_ONES);
    uint64_t digit = (v + (0x80 - '0') * SWAR_ONES) &
                     ~(v + (0x80 - '9' - 1) * SWAR_ONES);
    return (letter | digit) & SWAR_HIGH;
}

/* Record the ASCII special byte at p (class k) for rules_fast. */
static inline void scan_ascii(unsigned char *f, size_t p, unsigned k,
                              special *sl, size_t *ns, bool *dc, bool *dash)
{
    switch (k) {
    case K_SPACE:
        f[p] |= WS;
        break;
    case K_P1:
        f[p] |= G1;
        f[p + 1] |= G1;
        break;
    case K_DC:
        *dc = true;
        break;
    default: /* K_DASH */
        *dash = true;
        break;
    }
    sl[(*ns)++] = (special){(uint32_t)p, 1};
}

static int rules_fast(const char *s, size_t n, bool pad, bool zh,
                      tc_scratch *w, tc_buf *text, tc_words *out)
{
    text->len = 0;
    w->c.len = 0;
    w->a.len = 0;
    if (n >= UINT32_MAX)
        return ASSAY_EINVAL;
    if (tc_buf_put(text, s, n) || tc_buf_reserve(&w->c, n + 2) ||
        tc_buf_reserve(&w->a, (n + 1) * sizeof(special)))
        return ASSAY_ENOMEM;
    const unsigned char *t = (const unsigned char *)text->p;
    unsigned char *f = (unsigned char *)w->c.p;
    special *sl = (special *)(void *)w->a.p; /* at most one per byte */
    size_t ns = 0;
    memset(f, 0, n + 1);
    bool dc = false, dash = false;
    /* pass over the bytes: flags of rule 1 and the list of specials;
     * windows of 8 ASCII bytes skip their letters and digits at once */
    size_t i = 0;
    while (i < n) {
        size_t end = n;
        uint64_t cand = 0;
        bool window = false;
        if (i + 8 <= n) {
            uint64_t v;
            memcpy(&v, t + i, 8);
            if (!(v & SWAR_HIGH)) {
                cand = ~swar_alnum(v) & SWAR_HIGH;
                window = true;
            } else {
                end = i + 8;
            }
        }
        if (window) {
            while (cand) {
                size_t p = i + ((size_t)__builtin_ctzll(cand) >> 3);
                cand &= cand - 1;
                unsigned k = k13a[t[p]];
                if (k != K_ORD)
                    scan_ascii(f, p, k, sl, &ns, &dc, &dash);
            }
            i += 8;
            continue;
        }
        /* byte by byte up to `end` (a window with non-ASCII bytes, or the
         * tail); a multi-byte character may run past it */
        while (i < end) {
            unsigned k = k13a[t[i]];
            if (k == K_ORD) {
                i++;
                continue;
            }
            if (k != K_HIGH) {
                scan_ascii(f, i, k, sl, &ns, &dc, &dash);
                i++;
                continue;
            }
            size_t adv;
            uint32_t cp = tc_utf8_decode(t + i, n - i, &adv);
            special sp = {(uint32_t)i, (uint32_t)adv};
            if (tc_is_space(cp)) {
                for (size_t q = 0; q < adv; q++)
                    f[i + q] |= WS;
                sl[ns++] = sp;
            } else if (zh && adv > 1 && is_zh_char(cp)) {
                f[i] |= G1;
                f[i + adv] |= G1;
                sl[ns++] = sp;
            }
            i += adv;
        }
    }
    const special *sv = sl;
    if (dc) {
        /* rule 2: ([^0-9])([\.,]) -> "\1 \2 " */
        for (size_t q = 0; q < ns; q++) {
            size_t k = sv[q].pos;
            if (t[k] != '.' && t[k] != ',')
                continue;
            bool hit;
            if (f[k] & G1)
                hit = true;
            else if (k == 0)
                hit = pad;
            else
                hit = !is_digit(t[k - 1]) && !(f[k - 1] & M2);
            if (hit) {
                f[k] |= M2 | G2A;
                f[k + 1] |= G2A;
            }
        }
        /* rule 3: ([\.,])([^0-9]) -> " \1 \2" */
        for (size_t q = 0; q < ns; q++) {
            size_t k = sv[q].pos;
            if (t[k] != '.' && t[k] != ',')
                continue;
            if (!(f[k] & (G1 | G2A)) && k > 0 && (f[k - 1] & M3))
                continue; /* consumed by the match before */
            bool hit;
            if (f[k + 1] & (G1 | G2A))
                hit = true;
            else if (k + 1 == n)
                hit = pad;
            else
                hit = !is_digit(t[k + 1]);
            if (hit) {
                f[k] |= M3 | G3A;
                f[k + 1] |= G3A;
            }
        }
    }
    if (dash) {
        /* rule 4: ([0-9])(-) -> "\1 \2 " */
        for (size_t q = 0; q < ns; q++) {
            size_t k = sv[q].pos;
            if (t[k] == '-' && k > 0 && !(f[k] & (G1 | G2A | G3A)) &&
                is_digit(t[k - 1])) {
                f[k] |= G4A;
                f[k + 1] |= G4A;
            }
        }
    }
    /* split: boundaries only occur at or right after a special */
    const unsigned gap = G1 | G2A | G3A | G4A;
    size_t start = 0;
    for (size_t q = 0; q < ns; q++) {
        size_t p = sv[q].pos, e = p + sv[q].len;
        if (f[p] & WS) {
            if (p > start && tc_words_push(out, text->p + start, p - start))
                return ASSAY_ENOMEM;
            start = e;
            continue;
        }
        if ((f[p] & gap) && p > start) {
            if (tc_words_push(out, text->p + start, p - start))
                return ASSAY_ENOMEM;
            start = p;
        }
        if ((f[e] & gap) && e > start) {
            if (tc_words_push(out, text->p + start, e - start))
                return ASSAY_ENOMEM;
            start = e;
        }
    }
    if (n > start && tc_words_push(out, text->p + start, n - start))
        return ASSAY_ENOMEM;
    return ASSAY_OK;
}

/* 13a through the fast rules: replacements first (rarely needed). */
static int tok_13a_fast(const char *s, size_t n, tc_scratch *w, tc_buf *text,
                        tc_words *out)
{
    static const char *const reps[][2] = {
        {"<skipped>", ""}, {"-\n", ""},    {"\n", " "},  {"&quot;", "\""},
        {"&amp;", "&"},    {"&lt;", "<"}, {"&gt;", ">"}};
    if (memchr(s, '<', n) || memchr(s, '\n', n) || memchr(s, '&', n)) {
        tc_buf *cur = &w->a, *nxt = &w->b;
        cur->len = 0;
        if (tc_buf_put(cur, s, n))
            return ASSAY_ENOMEM;
        for (size_t r = 0; r < sizeof reps / sizeof reps[0]; r++) {
            if (!memchr(cur->p, reps[r][0][0], cur->len))
                continue;
            if (tc_replace_all(cur->p, cur->len, reps[r][0], reps[r][1],
                               nxt))
                return ASSAY_ENOMEM;
            tc_buf *tmp = cur;
            cur = nxt;
            nxt = tmp;
        }
        return rules_fast(cur->p, cur->len, true, false, w, text, out);
    }
    return rules_fast(s, n, true, false, w, text, out);
}

enum { CLS_OTHER = 0, CLS_P = 1, CLS_S = 2, CLS_N = 3 };

static int uni_class(uint32_t cp)
{
    switch (utf8proc_category((utf8proc_int32_t)cp)) {
    case UTF8PROC_CATEGORY_PC: case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS: case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI: case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
        return CLS_P;
    case UTF8PROC_CATEGORY_SM: case UTF8PROC_CATEGORY_SC:
    case UTF8PROC_CATEGORY_SK: case UTF8PROC_CATEGORY_SO:
        return CLS_S;
    case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
        return CLS_N;
    default:
        return CLS_OTHER;
    }
}

/* One pass of a two-character rule of the intl tokenizer: a match of
 * (first, second) classes becomes "\1 \2 " (lead == 0) or " \1 \2"
 * (lead == 1).  first_not/second_not negate the class test. */
static int intl_pair(const char *s, size_t n, int c1, bool not1, int c2,
                     bool not2, bool lead, tc_buf *out)
{
    out->len = 0;
    if (tc_buf_reserve(out, 2 * n + 4))
        return ASSAY_ENOMEM;
    char *o = out->p;
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t a1, a2 = 0;
        uint32_t x = tc_utf8_decode(u + i, n - i, &a1);
        bool ok = (uni_class(x) == c1) != not1 && i + a1 < n;
        if (ok) {
            uint32_t y = tc_utf8_decode(u + i + a1, n - i - a1, &a2);
            ok = (uni_class(y) == c2) != not2;
        }
        if (ok) {
            if (lead)
                *o++ = ' ';
            memcpy(o, s + i, a1);
            o += a1;
            *o++ = ' ';
            memcpy(o, s + i + a1, a2);
            o += a2;
            if (!lead)
                *o++ = ' ';
            i += a1 + a2;
        } else {
            memcpy(o, s + i, a1);
            o += a1;
            i += a1;
        }
    }
    out->len = (size_t)(o - out->p);
    return ASSAY_OK;
}

/* mteval-v14 international tokenization (sacreBLEU "intl"). */
static int tok_intl(const char *s, size_t n, tc_scratch *w, tc_buf *text)
{
    /* (\P{N})(\p{P}) -> "\1 \2 " */
    if (intl_pair(s, n, CLS_N, true, CLS_P, false, false, &w->a))
        return ASSAY_ENOMEM;
    /* (\p{P})(\P{N}) -> " \1 \2" */
    if (intl_pair(w->a.p, w->a.len, CLS_P, false, CLS_N, true, true, &w->b))
        return ASSAY_ENOMEM;
    /* (\p{S}) -> " \1 " */
    text->len = 0;
    if (tc_buf_reserve(text, 3 * w->b.len + 1))
        return ASSAY_ENOMEM;
    char *o = text->p;
    const unsigned char *u = (const unsigned char *)w->b.p;
    for (size_t i = 0; i < w->b.len;) {
        size_t adv;
        uint32_t x = tc_utf8_decode(u + i, w->b.len - i, &adv);
        bool sym = uni_class(x) == CLS_S;
        if (sym)
            *o++ = ' ';
        memcpy(o, u + i, adv);
        o += adv;
        if (sym)
            *o++ = ' ';
        i += adv;
    }
    text->len = (size_t)(o - text->p);
    text->p[text->len] = '\0';
    return ASSAY_OK;
}

int tc_tokenize_ref(tc_tokenizer t, const char *s, size_t n, tc_scratch *w,
                    tc_buf *text, tc_words *out)
{
    int rc = ASSAY_OK;
    text->len = 0;
    switch (t) {
    case TC_TOK_13A:
        rc = tok_13a(s, n, w, text);
        break;
    case TC_TOK_ZH:
        rc = tok_zh(s, n, w, text);
        break;
    case TC_TOK_INTL:
        rc = tok_intl(s, n, w, text);
        break;
    case TC_TOK_CHAR:
    case TC_TOK_NONE:
    default:
        rc = tc_buf_put(text, s, n);
        break;
    }
    if (rc)
        return rc;
    if (!text->p && tc_buf_reserve(text, 0))
        return ASSAY_ENOMEM;
    if (t != TC_TOK_CHAR)
        return tc_split(text->p, text->len, out);
    /* char: every non-whitespace code point is a token */
    for (size_t i = 0; i < text->len;) {
        size_t adv;
        bool sp = space_at(text->p + i, text->len - i, &adv);
        if (!sp && tc_words_push(out, text->p + i, adv))
            return ASSAY_ENOMEM;
        i += adv;
    }
    return ASSAY_OK;
}

int tc_tokenize(tc_tokenizer t, const char *s, size_t n, tc_scratch *w,
                tc_buf *text, tc_words *out)
{
    if (t == TC_TOK_13A)
        return tok_13a_fast(s, n, w, text, out);
    if (t == TC_TOK_ZH) {
        tc_strip(&s, &n); /* zh strips: no space element at either end */
        return rules_fast(s, n, false, true, w, text, out);
    }
    return tc_tokenize_ref(t, s, n, w, text, out);
}

/* ---- n-gram table -------------------------------------------------------- */

int tc_gtab_reset(tc_gtab *t, size_t expect, bool words)
{
    size_t cap = 16;
    while (cap < 2 * expect + 2)
        cap *= 2;
    if (cap > t->alloc) {
        tc_gram *v = realloc(t->v, cap * sizeof *v);
        if (!v)
            return ASSAY_ENOMEM;
        memset(v, 0, cap * sizeof *v);
        t->v = v;
        t->alloc = cap;
        t->epoch = 0;
    }
    /* entries of other epochs are empty: no clearing per reset */
    if (++t->epoch == 0) {
        memset(t->v, 0, t->alloc * sizeof *t->v);
        t->epoch = 1;
    }
    t->cap = cap;
    t->n = 0;
    t->words = words;
    return ASSAY_OK;
}

static bool gram_eq(const tc_gtab *t, const tc_gram *g, const void *key,
                    uint32_t len)
{
    if (g->len != len)
        return false;
    if (!t->words)
        return memcmp(g->key, key, len) == 0;
    const tc_word *a = g->key, *b = key;
    for (uint32_t i = 0; i < len; i++)
        if (!tc_word_eq(&a[i], &b[i]))
            return false;
    return true;
}

tc_gram *tc_gtab_find(tc_gtab *t, uint64_t h, const void *key, uint32_t len,
                      bool add)
{
    size_t mask = t->cap - 1, i = (size_t)(h ^ (h >> 29)) & mask;
    for (;;) {
        tc_gram *g = &t->v[i];
        if (g->epoch != t->epoch) {
            if (!add || 2 * (t->n + 1) > t->cap)
                return NULL;
            g->h = h;
            g->key = key;
            g->len = len;
            g->epoch = t->epoch;
            g->a = g->b = g->c = g->d = 0;
            t->n++;
            return g;
        }
        if (g->h == h && gram_eq(t, g, key, len))
            return g;
        i = (i + 1) & mask;
    }
}

void tc_gtab_free(tc_gtab *t)
{
    free(t->v);
    memset(t, 0, sizeof *t);
}

/* ---- items --------------------------------------------------------------- */

void tc_items_free(tc_items *it)
{
    free(it->hyp);
    free(it->ref_off);
    free(it->refs);
    memset(it, 0, sizeof *it);
}

static int items_alloc(tc_items *it, size_t n, size_t nrefs)
{
    it->n = n;
    it->hyp = calloc(n ? n : 1, sizeof *it->hyp);
    it->ref_off = calloc(n + 1, sizeof *it->ref_off);
    it->refs = calloc(nrefs ? nrefs : 1, sizeof *it->refs);
    if (!it->hyp || !it->ref_off || !it->refs)
        return ASSAY_ENOMEM;
    return ASSAY_OK;
}

static int items_from_records(const json_t *recs, const char *hf,
                              const char *rf, bool need_refs, tc_items *it,
                              assay_error *err)
{
    size_t n = json_array_size(recs), nrefs = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *r = json_object_get(json_array_get(recs, i), rf);
        nrefs += json_is_array(r) ? json_array_size(r) : 1;
    }
    if (items_alloc(it, n, nrefs))
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    it->records = recs;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *rec = json_array_get(recs, i);
        const char *h = NULL;
        json_t *rv = NULL;
        int rc = assay_rec_str(rec, i, hf, &h, err);
        if (rc)
            return rc;
        it->hyp[i].p = h;
        it->hyp[i].len = json_string_length(json_object_get(rec, hf));
        if ((rc = assay_rec_get(rec, i, rf, &rv, err)))
            return rc;
        it->ref_off[i] = k;
        if (json_is_string(rv)) {
            it->refs[k].p = json_string_value(rv);
            it->refs[k++].len = json_string_length(rv);
        } else if (json_is_array(rv)) {
            for (size_t j = 0; j < json_array_size(rv); j++) {
                json_t *e = json_array_get(rv, j);
                if (json_is_null(e))
                    continue;
                if (!json_is_string(e))
                    return assay_error_set(
                        err, ASSAY_EDATA,
                        "record %zu: field '%s' element %zu: expected a "
                        "string, got %s",
                        i, rf, j, assay__json_type_name(e));
                it->refs[k].p = json_string_value(e);
                it->refs[k++].len = json_string_length(e);
            }
        } else if (!json_is_null(rv)) {
            return assay_error_set(err, ASSAY_EDATA,
                                   "record %zu: field '%s': expected a "
                                   "string or an array of strings, got %s",
                                   i, rf, assay__json_type_name(rv));
        }
        if (need_refs && k == it->ref_off[i])
            return assay_error_set(err, ASSAY_EDATA,
                                   "record %zu: field '%s' holds no "
                                   "reference",
                                   i, rf);
    }
    it->ref_off[n] = k;
    return ASSAY_OK;
}

static int items_from_table(const assay_table *t, const char *hf,
                            const char *rf, bool need_refs, tc_items *it,
                            assay_error *err)
{
    const assay_column *hc = NULL, *rc[64];
    size_t nrc = 0;
    int rcode = assay_table_need(t, hf, ASSAY_COL_STRING, &hc, err);
    if (rcode)
        return rcode;
    char name[256];
    for (size_t j = 0; j < 64; j++) {
        if (j == 0)
            snprintf(name, sizeof name, "%s", rf);
        else
            snprintf(name, sizeof name, "%s_%zu", rf, j);
        const assay_column *c = assay_table_col(t, name);
        if (!c) {
            if (j == 0)
                continue;
            break;
        }
        if (c->type != ASSAY_COL_STRING)
            return assay_error_set(err, ASSAY_EDATA,
                                   "column '%s': expected string", name);
        rc[nrc++] = c;
    }
    if (!nrc && need_refs)
        return assay_error_set(err, ASSAY_EDATA,
                               "table has no column '%s' (nor '%s_1')", rf,
                               rf);
    size_t n = t->nrows;
    if (items_alloc(it, n, n * nrc))
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    it->table = t;
    it->id_col = assay_table_col(t, "id");
    const char *const *hs = assay_col_str(hc);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!hs[i])
            return assay_error_set(err, ASSAY_EDATA,
                                   "row %zu: column '%s' is missing", i, hf);
        it->hyp[i].p = hs[i];
        it->hyp[i].len = strlen(hs[i]);
        it->ref_off[i] = k;
        for (size_t j = 0; j < nrc; j++) {
            const char *r = assay_col_str(rc[j])[i];
            if (!r)
                continue;
            it->refs[k].p = r;
            it->refs[k++].len = strlen(r);
        }
        if (need_refs && k == it->ref_off[i])
            return assay_error_set(err, ASSAY_EDATA,
                                   "row %zu: column '%s' holds no reference",
                                   i, rf);
    }
    it->ref_off[n] = k;
    return ASSAY_OK;
}

int tc_items_read(const assay_host *host, assay_io *io, const char *port,
                  const char *hyp_field, const char *refs_field,
                  bool need_refs, tc_items *out, assay_error *err)
{
    memset(out, 0, sizeof *out);
    assay_type ty = host->in_type(io, port);
    int rc;
    if (ty == ASSAY_T_TABLE) {
        const assay_table *t = host->in_table(io, port);
        if (!t)
            return assay_error_set(err, ASSAY_EDATA,
                                   "input '%s' is not connected", port);
        rc = items_from_table(t, hyp_field, refs_field, need_refs, out,
                              err);
    } else {
        const json_t *r = host->in_records(io, port);
        if (!r)
            r = host->in_json(io, port);
        if (!json_is_array(r))
            return assay_error_set(err, ASSAY_EDATA,
                                   "input '%s': expected records (an array "
                                   "of objects) or a table",
                                   port);
        rc = items_from_records(r, hyp_field, refs_field, need_refs, out,
                                err);
    }
    if (rc)
        tc_items_free(out);
    return rc;
}

json_t *tc_items_id(const tc_items *it, size_t i)
{
    if (it->records) {
        json_t *v = json_object_get(json_array_get(it->records, i), "id");
        return v ? json_incref(v) : NULL;
    }
    if (it->id_col) {
        const assay_column *c = it->id_col;
        if (c->type == ASSAY_COL_STRING) {
            const char *s = assay_col_str(c)[i];
            return s ? json_string(s) : json_null();
        }
        if (c->type == ASSAY_COL_INT64)
            return json_integer(assay_col_i64(c)[i]);
        double d = assay_col_num(c, i);
        return isfinite(d) ? json_real(d) : json_null();
    }
    return NULL;
}

/* ---- threads ------------------------------------------------------------- */

typedef struct par_job {
    tc_range_fn fn;
    void *ctx;
    unsigned tid;
    size_t begin, end;
    int rc;
    assay_error err;
} par_job;

static void *par_main(void *arg)
{
    par_job *j = arg;
    j->rc = j->fn(j->ctx, j->tid, j->begin, j->end, &j->err);
    return NULL;
}

int tc_parallel(unsigned nthreads, size_t n, tc_range_fn fn, void *ctx,
                assay_error *err)
{
    if (nthreads < 1)
        nthreads = 1;
    if ((size_t)nthreads > n)
        nthreads = n ? (unsigned)n : 1;
    if (nthreads == 1)
        return fn(ctx, 0, 0, n, err);
    par_job *jobs = calloc(nthreads, sizeof *jobs);
    pthread_t *th = calloc(nthreads, sizeof *th);
    bool *started = calloc(nthreads, sizeof *started);
    int rc = ASSAY_OK;
    if (!jobs || !th || !started) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto cleanup;
    }
    for (unsigned t = 0; t < nthreads; t++) {
        jobs[t].fn = fn;
        jobs[t].ctx = ctx;
        jobs[t].tid = t;
        jobs[t].begin = n * t / nthreads;
        jobs[t].end = n * (t + 1) / nthreads;
    }
    for (unsigned t = 1; t < nthreads; t++)
        started[t] = pthread_create(&th[t], NULL, par_main, &jobs[t]) == 0;
    par_main(&jobs[0]);
    for (unsigned t = 1; t < nthreads; t++) {
        if (started[t])
            pthread_join(th[t], NULL);
        else /* could not start a thread: do its share here */
            par_main(&jobs[t]);
    }
    for (unsigned t = 0; t < nthreads; t++)
        if (jobs[t].rc) {
            rc = jobs[t].rc;
            if (err)
                *err = jobs[t].err;
            break;
        }
cleanup:
    free(jobs);
    free(th);
    free(started);
    return rc;
}

unsigned tc_threads_for(const assay_host *host, size_t n)
{
    unsigned t = host && host->threads ? host->threads(host) : 1;
    if (t < 1)
        t = 1;
    if (n < 2048)
        t = 1;
    return t;
}

typedef struct map_ctx {
    const assay_host *host;
    tc_range_fn fn;
    void *ctx;
    size_t n;
    _Atomic size_t done;
    _Atomic int stop;
} map_ctx;

enum { MAP_CHUNK = 4096 };

static int map_range(void *vctx, unsigned tid, size_t b0, size_t b1,
                     assay_error *err)
{
    map_ctx *m = vctx;
    for (size_t b = b0; b < b1; b += MAP_CHUNK) {
        size_t e = b + MAP_CHUNK < b1 ? b + MAP_CHUNK : b1;
        if (atomic_load(&m->stop))
            return ASSAY_ECANCELED;
        if (m->host && m->host->cancelled && m->host->cancelled(m->host)) {
            atomic_store(&m->stop, 1);
            return assay_error_set(err, ASSAY_ECANCELED, "cancelled");
        }
        int rc = m->fn(m->ctx, tid, b, e, err);
        if (rc) {
            atomic_store(&m->stop, 1);
            return rc;
        }
        size_t d = atomic_fetch_add(&m->done, e - b) + (e - b);
        if (m->host && m->host->progress)
            m->host->progress(m->host, d, m->n, "items");
    }
    return ASSAY_OK;
}

int tc_map_items(const assay_host *host, size_t n, unsigned nthreads,
                 tc_range_fn fn, void *ctx, assay_error *err)
{
    map_ctx m = {.host = host, .fn = fn, .ctx = ctx, .n = n};
    atomic_init(&m.done, 0);
    atomic_init(&m.stop, 0);
    return tc_parallel(nthreads, n, map_range, &m, err);
}

int tc_common_opts_read(const json_t *opts, tc_common_opts *out,
                        assay_error *err)
{
    const char *h = assay_opt_str(opts, "hyp_field");
    const char *r = assay_opt_str(opts, "refs_field");
    memset(out, 0, sizeof *out);
    out->hyp_field = strdup(h ? h : "hyp");
    out->refs_field = strdup(r ? r : "refs");
    if (!out->hyp_field || !out->refs_field) {
        tc_common_opts_free(out);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    json_t *is = json_object_get(opts, "item_scores");
    out->item_scores = is ? json_is_true(is) : true;
    json_int_t b = assay_opt_int(opts, "bootstrap");
    out->bootstrap = b > 0 ? (unsigned)b : 0;
    double ci = assay_opt_num(opts, "ci");
    out->ci = ci > 0 && ci < 1 ? ci : 0.95;
    return ASSAY_OK;
}

void tc_common_opts_free(tc_common_opts *o)
{
    free(o->hyp_field);
    free(o->refs_field);
    o->hyp_field = o->refs_field = NULL;
}

/* ---- bootstrap ----------------------------------------------------------- */

typedef struct boot_ctx {
    const double *stats;
    size_t n, k;
    tc_stat_fn fn;
    const void *fctx;
    uint64_t seed;
    double *reps;
} boot_ctx;

static int boot_range(void *vctx, unsigned tid, size_t b0, size_t b1,
                      assay_error *err)
{
    boot_ctx *c = vctx;
    (void)tid;
    double *sum = malloc(c->k * sizeof *sum);
    if (!sum)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    for (size_t b = b0; b < b1; b++) {
        assay_rng rng;
        uint64_t s = c->seed + (uint64_t)b * 0x9e3779b97f4a7c15ULL;
        assay_rng_init(&rng, assay_splitmix64(&s));
        memset(sum, 0, c->k * sizeof *sum);
        for (size_t i = 0; i < c->n; i++) {
            const double *row =
                c->stats + (size_t)assay_rng_below(&rng, c->n) * c->k;
            for (size_t j = 0; j < c->k; j++)
                sum[j] += row[j];
        }
        c->reps[b] = c->fn(sum, c->fctx);
    }
    free(sum);
    return ASSAY_OK;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Linear-interpolated quantile of sorted v (numpy's default). */
static double quantile(const double *v, size_t n, double q)
{
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)pos;
    if (lo + 1 >= n)
        return v[n - 1];
    double f = pos - (double)lo;
    return v[lo] + (v[lo + 1] - v[lo]) * f;
}

int tc_bootstrap(const double *stats, size_t n, size_t k, tc_stat_fn fn,
                 const void *ctx, unsigned resamples, double level,
                 uint64_t seed, unsigned nthreads, double *lo, double *hi,
                 double *sd, assay_error *err)
{
    if (n == 0 || resamples == 0) {
        *lo = *hi = *sd = 0.0;
        return ASSAY_OK;
    }
    boot_ctx c = {stats, n, k, fn, ctx, seed, NULL};
    c.reps = malloc(resamples * sizeof *c.reps);
    if (!c.reps)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    int rc = tc_parallel(resamples < 4 ? 1 : nthreads, resamples, boot_range,
                         &c, err);
    if (rc == 0) {
        double mean = 0, ss = 0;
        for (unsigned b = 0; b < resamples; b++)
            mean += c.reps[b];
        mean /= resamples;
        for (unsigned b = 0; b < resamples; b++)
            ss += (c.reps[b] - mean) * (c.reps[b] - mean);
        *sd = resamples > 1 ? sqrt(ss / (resamples - 1)) : 0.0;
        qsort(c.reps, resamples, sizeof *c.reps, cmp_double);
        double a = (1.0 - level) / 2.0;
        *lo = quantile(c.reps, resamples, a);
        *hi = quantile(c.reps, resamples, 1.0 - a);
    }
    free(c.reps);
    return rc;
}

int tc_bootstrap_put(json_t *summary, double level, unsigned resamples,
                     double lo, double hi, double sd)
{
    json_t *ci = json_object();
    if (!ci)
        return ASSAY_ENOMEM;
    if (tc_json_setnum(ci, "level", level) ||
        tc_json_setnum(ci, "low", lo) || tc_json_setnum(ci, "high", hi) ||
        tc_json_setnum(ci, "sd", sd) ||
        tc_json_setint(ci, "resamples", resamples)) {
        json_decref(ci);
        return ASSAY_ENOMEM;
    }
    return tc_json_setnew(summary, "ci", ci);
}

/* ---- JSON helpers -------------------------------------------------------- */

int tc_json_setnew(json_t *obj, const char *key, json_t *v)
{
    if (!v)
        return ASSAY_ENOMEM;
    return json_object_set_new(obj, key, v) ? ASSAY_ENOMEM : ASSAY_OK;
}

int tc_json_setnum(json_t *obj, const char *key, double v)
{
    return tc_json_setnew(obj, key, isfinite(v) ? json_real(v) : json_null());
}

int tc_json_setint(json_t *obj, const char *key, json_int_t v)
{
    return tc_json_setnew(obj, key, json_integer(v));
}

int tc_json_setstr(json_t *obj, const char *key, const char *v)
{
    return tc_json_setnew(obj, key, json_string(v));
}
