/*
 * lr_cat.c - the item catalogue and the mapping of generated titles back
 * to catalogue ids (see lr.h).
 *
 * Three sorted key arrays make the indexes: the title as written
 * (trimmed), its case-folded form, and its normalised form (plus the
 * normalised form without parenthesised alternate titles, so "Shanghai
 * Triad (Yao a yao yao dao waipo qiao)" is also found as "Shanghai
 * Triad").  A lookup is a binary search; equal keys (duplicate titles,
 * as MovieLens has) are resolved by candidates, then year, then id.
 */
#include "lr.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int nomem(assay_error *err)
{
    return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
}

const char *lr_level_name(int level)
{
    switch (level) {
    case LR_M_EXACT:
        return "exact";
    case LR_M_CASE:
        return "case";
    case LR_M_NORM:
        return "normalised";
    }
    return "none";
}

/* ---- text forms ---------------------------------------------------------- */

static bool is_sp(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
}

/* Copy of [s, s + n) without surrounding whitespace. */
static char *trim_dup(const char *s, size_t n)
{
    while (n && is_sp((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n && is_sp((unsigned char)s[n - 1]))
        n--;
    char *o = malloc(n + 1);
    if (!o)
        return NULL;
    memcpy(o, s, n);
    o[n] = '\0';
    return o;
}

/* Append the UTF-8 encoding of code point `cp` to `o` (room for 4). */
static size_t put_utf8(char *o, unsigned long cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    if (cp > 0x10ffff)
        cp = 0xfffd;
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Bytes of the UTF-8 encoding of `cp`. */
static size_t utf8_len(unsigned long cp)
{
    return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/* Decode one UTF-8 sequence at `s` (NUL-terminated); *len gets its byte
 * length.  A malformed byte decodes as itself (Latin-1 reading). */
static unsigned long get_utf8(const unsigned char *s, size_t *len)
{
    unsigned long cp;
    size_t n;
    if (s[0] < 0x80) {
        *len = 1;
        return s[0];
    }
    if ((s[0] & 0xe0) == 0xc0) {
        cp = s[0] & 0x1f;
        n = 2;
    } else if ((s[0] & 0xf0) == 0xe0) {
        cp = s[0] & 0x0f;
        n = 3;
    } else if ((s[0] & 0xf8) == 0xf0) {
        cp = s[0] & 0x07;
        n = 4;
    } else {
        *len = 1;
        return s[0];
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            *len = 1;
            return s[0];
        }
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    *len = n;
    return cp;
}

/* HTML entities decoded into a new string. */
static char *decode_entities(const char *s)
{
    static const struct {
        const char *name;
        unsigned long cp;
    } named[] = {{"amp", '&'},      {"lt", '<'},       {"gt", '>'},
                 {"quot", '"'},     {"apos", '\''},    {"nbsp", 0xa0},
                 {"ndash", 0x2013}, {"mdash", 0x2014}, {"rsquo", 0x2019},
                 {"lsquo", 0x2018}, {"rdquo", 0x201d}, {"ldquo", 0x201c},
                 {"eacute", 0xe9},  {"egrave", 0xe8},  {"aacute", 0xe1},
                 {"agrave", 0xe0},  {"ouml", 0xf6},    {"uuml", 0xfc},
                 {"auml", 0xe4},    {"ccedil", 0xe7},  {"ntilde", 0xf1},
                 {"hellip", 0x2026}};
    size_t n = strlen(s);
    char *o = malloc(n + 1), *w = o;
    if (!o)
        return NULL;
    for (size_t i = 0; i < n;) {
        const char *semi;
        if (s[i] == '&' &&
            (semi = memchr(s + i, ';', n - i < 12 ? n - i : 12))) {
            const char *a = s + i + 1;
            size_t len = (size_t)(semi - a);
            unsigned long cp = 0;
            bool ok = false;
            if (len >= 2 && a[0] == '#') {
                char *end;
                bool hex = a[1] == 'x' || a[1] == 'X';
                const char *digits = a + (hex ? 2 : 1);
                if (digits < semi && isxdigit((unsigned char)*digits)) {
                    cp = strtoul(digits, &end, hex ? 16 : 10);
                    ok = end == semi && cp > 0 && cp <= 0x10ffff;
                }
            } else {
                for (size_t k = 0; k < sizeof named / sizeof *named; k++)
                    if (strlen(named[k].name) == len &&
                        memcmp(named[k].name, a, len) == 0) {
                        cp = named[k].cp;
                        ok = true;
                        break;
                    }
            }
            /* the encoding never outgrows the entity's own bytes */
            if (ok && utf8_len(cp) <= len + 2) {
                w += put_utf8(w, cp);
                i = (size_t)(semi - s) + 1;
                continue;
            }
        }
        *w++ = s[i++];
    }
    *w = '\0';
    return o;
}

/* Base letters of U+00C0 .. U+00FF (lower case; 0: not a letter). */
static const char latin1_base[64] = {
    'a', 'a', 'a', 'a', 'a', 'a', 0,   'c', 'e', 'e', 'e', 'e', 'i',
    'i', 'i', 'i', 'd', 'n', 'o', 'o', 'o', 'o', 'o', 0,   'o', 'u',
    'u', 'u', 'u', 'y', 0,   0,   'a', 'a', 'a', 'a', 'a', 'a', 0,
    'c', 'e', 'e', 'e', 'e', 'i', 'i', 'i', 'i', 'd', 'n', 'o', 'o',
    'o', 'o', 'o', 0,   'o', 'u', 'u', 'u', 'u', 'y', 0,   'y'};

/*
 * Fold to lower-case ASCII where a close equivalent exists: quotes and
 * dashes, accents dropped (when `strip_accents`), ligatures spelt out.
 * Other characters are kept.  Output is never longer than 2x input.
 */
static char *fold_text(const char *s, bool strip_accents)
{
    size_t n = strlen(s);
    char *o = malloc(2 * n + 1), *w = o;
    const unsigned char *p = (const unsigned char *)s;
    if (!o)
        return NULL;
    while (*p) {
        size_t len;
        unsigned long cp = get_utf8(p, &len);
        if (cp < 0x80) {
            *w++ = (char)tolower((int)cp);
        } else if (cp == 0x2018 || cp == 0x2019 || cp == 0x201a ||
                   cp == 0x201b || cp == 0x2032 || cp == 0x00b4 ||
                   cp == 0x0060) {
            *w++ = '\'';
        } else if (cp == 0x201c || cp == 0x201d || cp == 0x201e ||
                   cp == 0x2033 || cp == 0x00ab || cp == 0x00bb) {
            *w++ = '"';
        } else if (cp == 0x2010 || cp == 0x2011 || cp == 0x2012 ||
                   cp == 0x2013 || cp == 0x2014 || cp == 0x2212) {
            *w++ = '-';
        } else if (cp == 0x00a0 || cp == 0x2009 || cp == 0x202f) {
            *w++ = ' ';
        } else if (strip_accents && cp == 0xdf) {
            *w++ = 's';
            *w++ = 's';
        } else if (strip_accents && (cp == 0xe6 || cp == 0xc6)) {
            *w++ = 'a';
            *w++ = 'e';
        } else if (strip_accents && (cp == 0x153 || cp == 0x152)) {
            *w++ = 'o';
            *w++ = 'e';
        } else if (cp >= 0xc0 && cp <= 0xff && strip_accents &&
                   latin1_base[cp - 0xc0]) {
            *w++ = latin1_base[cp - 0xc0];
        } else if (cp >= 0xc0 && cp <= 0xde && cp != 0xd7) {
            /* Latin-1 upper case: its lower-case form */
            w += put_utf8(w, cp + 0x20);
        } else {
            memcpy(w, p, len);
            w += len;
        }
        p += len;
    }
    *w = '\0';
    return o;
}

char *lr_fold(const char *s)
{
    char *f = fold_text(s, false);
    if (!f)
        return NULL;
    char *t = trim_dup(f, strlen(f));
    free(f);
    return t;
}

int lr_title_year(const char *s)
{
    for (const char *p = strchr(s, '('); p; p = strchr(p + 1, '(')) {
        if (isdigit((unsigned char)p[1]) && isdigit((unsigned char)p[2]) &&
            isdigit((unsigned char)p[3]) && isdigit((unsigned char)p[4]) &&
            p[5] == ')') {
            int y = (p[1] - '0') * 1000 + (p[2] - '0') * 100 +
                    (p[3] - '0') * 10 + (p[4] - '0');
            if (y >= 1800 && y <= 2100)
                return y;
        }
    }
    return 0;
}

/* Articles that MovieLens-style titles move to the end (", The"). */
static const char *const trailing_articles[] = {
    "the", "a",   "an",  "les", "la", "le",  "l'",  "il", "el", "das", "der",
    "die", "los", "las", "lo",  "un", "une", "gli", "i",  "o",  NULL};

/* Remove surrounding spaces of w[0 .. *n) in place. */
static void trim_in_place(char *w, size_t *n)
{
    size_t a = 0, b = *n;
    while (a < b && is_sp((unsigned char)w[a]))
        a++;
    while (b > a && is_sp((unsigned char)w[b - 1]))
        b--;
    memmove(w, w + a, b - a);
    *n = b - a;
    w[*n] = '\0';
}

/*
 * In the lower-case text w[0 .. *n): drop a trailing "(yyyy)", then move
 * a trailing ", article" of the main part (before a final parenthesised
 * alternate title) to the front.
 */
static void move_article(char *w, size_t *n)
{
    trim_in_place(w, n);
    if (*n >= 6 && w[*n - 1] == ')' && w[*n - 6] == '(' &&
        isdigit((unsigned char)w[*n - 5]) &&
        isdigit((unsigned char)w[*n - 4]) &&
        isdigit((unsigned char)w[*n - 3]) &&
        isdigit((unsigned char)w[*n - 2])) {
        *n -= 6;
        w[*n] = '\0';
        trim_in_place(w, n);
    }
    size_t main_end = *n;
    if (*n && w[*n - 1] == ')') {
        /* the last balanced parenthesised group ends the main part */
        int depth = 0;
        for (size_t i = *n; i-- > 0;) {
            if (w[i] == ')')
                depth++;
            else if (w[i] == '(' && --depth == 0) {
                main_end = i;
                break;
            }
        }
        while (main_end > 0 && is_sp((unsigned char)w[main_end - 1]))
            main_end--;
    }
    for (size_t k = 0; trailing_articles[k]; k++) {
        const char *a = trailing_articles[k];
        size_t al = strlen(a);
        if (main_end < al + 3)
            continue;
        size_t at = main_end - al;
        if (memcmp(w + at, a, al) != 0 || w[at - 1] != ' ' || w[at - 2] != ',')
            continue;
        /* "usual suspects, the" -> "the usual suspects" */
        char *tmp = malloc(*n + 2);
        if (!tmp)
            return; /* best effort: leave the text as it is */
        size_t t = 0;
        bool glue = a[al - 1] == '\'';
        memcpy(tmp + t, a, al);
        t += al;
        if (!glue)
            tmp[t++] = ' ';
        memcpy(tmp + t, w, at - 2);
        t += at - 2;
        memcpy(tmp + t, w + main_end, *n - main_end);
        t += *n - main_end;
        memcpy(w, tmp, t);
        w[t] = '\0';
        *n = t;
        free(tmp);
        return;
    }
}

/* Drop every parenthesised or bracketed group of `s` (new string). */
static char *drop_groups(const char *s)
{
    size_t n = strlen(s);
    char *o = malloc(n + 1), *w = o;
    int depth = 0;
    if (!o)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '(' || s[i] == '[')
            depth++;
        else if ((s[i] == ')' || s[i] == ']') && depth > 0)
            depth--;
        else if (depth == 0)
            *w++ = s[i];
    }
    *w = '\0';
    return o;
}

char *lr_norm(const char *s)
{
    char *dec = decode_entities(s);
    char *f = dec ? fold_text(dec, true) : NULL;
    free(dec);
    if (!f)
        return NULL;
    size_t n = strlen(f);
    move_article(f, &n);
    /* '&' reads "and"; apostrophes vanish; other punctuation separates */
    char *o = malloc(5 * n + 1), *w = o;
    if (!o) {
        free(f);
        return NULL;
    }
    bool space = true; /* at a word boundary */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)f[i];
        if (c == '\'')
            continue;
        if (c == '&') {
            if (!space)
                *w++ = ' ';
            memcpy(w, "and", 3);
            w += 3;
            *w++ = ' ';
            space = true;
            continue;
        }
        if (c >= 0x80 || isalnum(c)) {
            *w++ = (char)c;
            space = false;
        } else if (!space) {
            *w++ = ' ';
            space = true;
        }
    }
    while (w > o && w[-1] == ' ')
        w--;
    *w = '\0';
    free(f);
    /* leading English articles are dropped ("the usual suspects") */
    static const char *const lead[] = {"the ", "a ", "an ", NULL};
    for (size_t k = 0; lead[k]; k++) {
        size_t l = strlen(lead[k]);
        if (strncmp(o, lead[k], l) == 0 && o[l]) {
            memmove(o, o + l, strlen(o + l) + 1);
            break;
        }
    }
    return o;
}

/* ---- catalogue ----------------------------------------------------------- */

void lr_cat_free(lr_cat *c)
{
    for (size_t i = 0; i < c->n; i++) {
        if (c->title)
            free(c->title[i]);
        if (c->cat)
            free(c->cat[i]);
    }
    for (int l = 0; l < 3; l++) {
        for (size_t i = 0; i < c->nkeys[l]; i++)
            free(c->keys[l][i].key);
        free(c->keys[l]);
    }
    free(c->id);
    free(c->title);
    free(c->cat);
    free(c->year);
    memset(c, 0, sizeof *c);
}

static int key_cmp(const void *a, const void *b)
{
    const lr_key *x = a, *y = b;
    int r = strcmp(x->key, y->key);
    return r ? r : (x->pos > y->pos) - (x->pos < y->pos);
}

/* Append key `k` (taken, may be NULL on ENOMEM) for item `pos`. */
static int key_push(lr_cat *c, int level, size_t *cap, char *k, size_t pos)
{
    if (!k)
        return ASSAY_ENOMEM;
    if (!*k) {
        free(k);
        return ASSAY_OK;
    }
    if (c->nkeys[level] == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        lr_key *p = realloc(c->keys[level], nc * sizeof *p);
        if (!p) {
            free(k);
            return ASSAY_ENOMEM;
        }
        c->keys[level] = p;
        *cap = nc;
    }
    c->keys[level][c->nkeys[level]++] = (lr_key){k, (uint32_t)pos};
    return ASSAY_OK;
}

typedef struct cat_src {
    int64_t id;
    size_t at; /* index in the input arrays */
} cat_src;

static int src_cmp(const void *a, const void *b)
{
    const cat_src *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

int lr_cat_from_arrays(lr_cat *c, const int64_t *ids, const char *const *titles,
                       const char *const *cats, const int *years, size_t n,
                       assay_error *err)
{
    size_t cap[3] = {0, 0, 0};
    int rc = ASSAY_OK;
    cat_src *src = malloc((n ? n : 1) * sizeof *src);
    memset(c, 0, sizeof *c);
    c->id = malloc((n ? n : 1) * sizeof *c->id);
    c->title = calloc(n ? n : 1, sizeof *c->title);
    c->cat = calloc(n ? n : 1, sizeof *c->cat);
    c->year = calloc(n ? n : 1, sizeof *c->year);
    if (!src || !c->id || !c->title || !c->cat || !c->year) {
        free(src);
        lr_cat_free(c);
        return nomem(err);
    }
    for (size_t i = 0; i < n; i++)
        src[i] = (cat_src){ids[i], i};
    qsort(src, n, sizeof *src, src_cmp);
    c->n = n;
    for (size_t i = 0; i < n; i++) {
        if (i && src[i].id == src[i - 1].id) {
            rc = assay_error_set(err, ASSAY_EDATA,
                                 "item %lld appears twice in the catalogue",
                                 (long long)src[i].id);
            goto fail;
        }
        size_t a = src[i].at;
        const char *t = titles[a];
        c->id[i] = src[i].id;
        if (t && *t) {
            c->title[i] = trim_dup(t, strlen(t));
        } else {
            char buf[40];
            snprintf(buf, sizeof buf, "item %lld", (long long)src[i].id);
            c->title[i] = trim_dup(buf, strlen(buf));
        }
        if (!c->title[i])
            goto fail_nomem;
        if (cats && cats[a] &&
            !(c->cat[i] = trim_dup(cats[a], strlen(cats[a]))))
            goto fail_nomem;
        c->year[i] = years ? years[a] : 0;
        if (!c->year[i])
            c->year[i] = lr_title_year(c->title[i]);
        /* the three indexes */
        const char *ti = c->title[i];
        char *norm = lr_norm(ti), *bare = drop_groups(ti), *bnorm = NULL;
        if (bare)
            bnorm = lr_norm(bare);
        free(bare);
        if (!norm || !bnorm) {
            free(norm);
            free(bnorm);
            goto fail_nomem;
        }
        if (strcmp(norm, bnorm) == 0) {
            free(bnorm);
            bnorm = NULL;
        }
        /* key_push takes its key, also on failure */
        if (key_push(c, 0, &cap[0], trim_dup(ti, strlen(ti)), i) ||
            key_push(c, 1, &cap[1], lr_fold(ti), i)) {
            free(norm);
            free(bnorm);
            goto fail_nomem;
        }
        if (key_push(c, 2, &cap[2], norm, i)) {
            free(bnorm);
            goto fail_nomem;
        }
        if (bnorm && key_push(c, 2, &cap[2], bnorm, i))
            goto fail_nomem;
    }
    for (int l = 0; l < 3; l++)
        if (c->nkeys[l])
            qsort(c->keys[l], c->nkeys[l], sizeof(lr_key), key_cmp);
    free(src);
    return ASSAY_OK;

fail_nomem:
    rc = nomem(err);
fail:
    free(src);
    lr_cat_free(c);
    return rc;
}

/* Column `name` of `t`, or the first of `guesses` present. */
static const assay_column *pick_col(const assay_table *t, const char *name,
                                    const char *const *guesses)
{
    if (name)
        return assay_table_col(t, name);
    for (size_t i = 0; guesses[i]; i++) {
        const assay_column *c = assay_table_col(t, guesses[i]);
        if (c)
            return c;
    }
    return NULL;
}

int lr_cat_build(lr_cat *c, const assay_table *t, const char *port,
                 const char *id_col, const char *title_col, const char *cat_col,
                 const char *year_col, assay_error *err)
{
    static const char *const g_title[] = {"title",     "movie_title", "name",
                                          "item_name", "item_title",  NULL};
    static const char *const g_cat[] = {"genres",     "class", "category",
                                        "categories", "genre", NULL};
    static const char *const g_year[] = {"year", "release_year", NULL};
    const char *idn = id_col ? id_col : "item";
    const assay_column *ci = assay_table_col(t, idn);
    const assay_column *ct = pick_col(t, title_col, g_title);
    const assay_column *cc = pick_col(t, cat_col, g_cat);
    const assay_column *cy = pick_col(t, year_col, g_year);
    memset(c, 0, sizeof *c);
    if (!t)
        return assay_error_set(err, ASSAY_EINVAL,
                               "input '%s' is not "
                               "connected",
                               port);
    if (!ci || ci->type != ASSAY_COL_INT64)
        return assay_error_set(err, ASSAY_EDATA,
                               "input '%s': needs an int64 column '%s'", port,
                               idn);
    if (!ct || ct->type != ASSAY_COL_STRING)
        return assay_error_set(err, ASSAY_EDATA,
                               "input '%s': needs a string column of "
                               "titles ('%s'%s)",
                               port, title_col ? title_col : "title",
                               title_col ? "" : ", movie_title or name");
    if (cat_col && (!cc || cc->type != ASSAY_COL_STRING))
        return assay_error_set(err, ASSAY_EDATA,
                               "input '%s': no string column '%s'", port,
                               cat_col);
    if (cc && cc->type != ASSAY_COL_STRING)
        cc = NULL;
    size_t n = t->nrows;
    int *years = calloc(n ? n : 1, sizeof *years);
    if (!years)
        return nomem(err);
    for (size_t r = 0; cy && r < n; r++) {
        if (cy->type == ASSAY_COL_STRING) {
            const char *s = assay_col_str(cy)[r];
            long y = s ? strtol(s, NULL, 10) : 0;
            years[r] = y > 0 && y < 10000 ? (int)y : 0;
        } else {
            double y = assay_col_num(cy, r);
            years[r] = y > 0 && y < 10000 ? (int)y : 0;
        }
    }
    int rc = lr_cat_from_arrays(
        c, assay_col_i64(ci), (const char *const *)assay_col_str(ct),
        cc ? (const char *const *)assay_col_str(cc) : NULL, years, n, err);
    free(years);
    if (rc)
        assay_error_prefix(err, "input '%s': ", port);
    return rc;
}

long lr_cat_find(const lr_cat *c, int64_t id)
{
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->id[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < c->n && c->id[lo] == id ? (long)lo : -1;
}

static bool in_list(const int64_t *v, size_t n, int64_t x)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == x)
            return true;
    return false;
}

/* Best item with key `k` at `level`; -1 when none. */
static long lookup(const lr_cat *c, int level, const char *k,
                   const int64_t *cands, size_t ncand, int year, bool *in_cands)
{
    const lr_key *keys = c->keys[level];
    size_t lo = 0, hi = c->nkeys[level];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(keys[mid].key, k) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    long best = -1;
    int best_score = -1;
    for (size_t i = lo; i < c->nkeys[level] && !strcmp(keys[i].key, k); i++) {
        size_t pos = keys[i].pos;
        bool ic = in_list(cands, ncand, c->id[pos]);
        int score = (ic ? 2 : 0) + (year && c->year[pos] == year ? 1 : 0);
        /* keys are sorted by position, i.e. by id: the first of equal
         * scores has the lowest id */
        if (score > best_score) {
            best = (long)pos;
            best_score = score;
            *in_cands = ic;
        }
    }
    return best;
}

/* Try one form of the title at every level. */
static int match_form(const lr_cat *c, const char *title, const int64_t *cands,
                      size_t ncand, int year, lr_match *m)
{
    char *forms[3] = {NULL, NULL, NULL};
    int rc = ASSAY_OK;
    forms[0] = trim_dup(title, strlen(title));
    forms[1] = lr_fold(title);
    forms[2] = lr_norm(title);
    if (!forms[0] || !forms[1] || !forms[2]) {
        rc = ASSAY_ENOMEM;
        goto done;
    }
    for (int l = 0; l < 3; l++) {
        bool ic = false;
        long pos = lookup(c, l, forms[l], cands, ncand, year, &ic);
        if (pos >= 0) {
            m->item = c->id[pos];
            m->level = l + 1;
            m->in_cands = ic;
            goto done;
        }
    }
    /* without parenthesised parts ("Heat (a crime thriller)") */
    char *bare = drop_groups(title), *bn = bare ? lr_norm(bare) : NULL;
    free(bare);
    if (!bn) {
        rc = ASSAY_ENOMEM;
        goto done;
    }
    if (*bn && strcmp(bn, forms[2]) != 0) {
        bool ic = false;
        long pos = lookup(c, 2, bn, cands, ncand, year, &ic);
        if (pos >= 0) {
            m->item = c->id[pos];
            m->level = LR_M_NORM;
            m->in_cands = ic;
        }
    }
    free(bn);
done:
    for (int i = 0; i < 3; i++)
        free(forms[i]);
    return rc;
}

/* Start of an explanation appended after the title: " - ", " – ", " — ",
 * or NULL. */
static const char *explanation_at(const char *s)
{
    static const char *const seps[] = {" - ", " \xe2\x80\x93 ",
                                       " \xe2\x80\x94 ", NULL};
    const char *best = NULL;
    for (size_t k = 0; seps[k]; k++) {
        const char *p = strstr(s, seps[k]);
        if (p && (!best || p < best))
            best = p;
    }
    return best;
}

int lr_cat_match(const lr_cat *c, const char *title, const int64_t *cands,
                 size_t ncand, bool strip_suffix, lr_match *m)
{
    int year = lr_title_year(title);
    int rc;
    m->item = 0;
    m->level = LR_M_NONE;
    m->in_cands = false;
    if ((rc = match_form(c, title, cands, ncand, year, m)) ||
        m->level != LR_M_NONE)
        return rc;
    const char *ex = explanation_at(title);
    if (ex && ex > title) {
        char *head = trim_dup(title, (size_t)(ex - title));
        if (!head)
            return ASSAY_ENOMEM;
        rc = match_form(c, head, cands, ncand, year, m);
        free(head);
        if (rc || m->level != LR_M_NONE)
            return rc;
    }
    const char *colon = strip_suffix ? strrchr(title, ':') : NULL;
    if (colon && colon > title) {
        char *head = trim_dup(title, (size_t)(colon - title));
        if (!head)
            return ASSAY_ENOMEM;
        rc = match_form(c, head, cands, ncand, year, m);
        free(head);
    }
    return rc;
}
