/*
 * lr_util.c - seeds, estimates, the info output, feature profiles, row
 * indexes and item texts for prompts (see lr.h).
 */
#include "lr.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

uint64_t lr_mix(uint64_t base, uint64_t key)
{
    uint64_t x = base ^ (key * 0x9e3779b97f4a7c15ULL);
    assay_splitmix64(&x);
    return assay_splitmix64(&x);
}

void lr_estimate_fill(assay_estimate *est, const char *endpoint,
                      uint64_t requests, uint64_t prompt_chars,
                      const json_t *params, uint64_t def_completion)
{
    json_t *mt = json_object_get(params, "max_tokens");
    uint64_t comp = json_is_integer(mt) && json_integer_value(mt) > 0
                        ? (uint64_t)json_integer_value(mt)
                        : def_completion;
    est->endpoint = endpoint;
    est->llm_requests = requests;
    est->prompt_tokens = (prompt_chars + 3) / 4 + 8 * requests;
    est->completion_tokens = comp * requests;
}

json_t *lr_info(const assay_host *h, const char *endpoint,
                const lr_ask_stats *st)
{
    json_t *info = json_pack(
        "{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "endpoint", endpoint,
        "requests", (json_int_t)st->requests, "failed_requests",
        (json_int_t)st->failed, "cached", (json_int_t)st->cached, "reasks",
        (json_int_t)st->reasks, "invalid_after_reasks", (json_int_t)st->invalid,
        "prompt_tokens", (json_int_t)st->prompt_tokens, "completion_tokens",
        (json_int_t)st->completion_tokens);
    json_t *ep = info ? h->llm_endpoint_info(h, endpoint) : NULL;
    if (ep && json_object_set_new(info, "endpoint_info", ep)) {
        json_decref(info);
        return NULL;
    }
    return info;
}

char *lr_feature_profile(const assay_table *users, size_t row,
                         const json_t *fields)
{
    jc_buf b = {0};
    size_t i;
    json_t *f;
    json_array_foreach(fields, i, f)
    {
        const char *name = json_string_value(f);
        const assay_column *c = name ? assay_table_col(users, name) : NULL;
        char val[128];
        if (!c)
            continue;
        if (c->type == ASSAY_COL_STRING) {
            const char *s = assay_col_str(c)[row];
            if (!s || !*s)
                continue;
            snprintf(val, sizeof val, "%s", s);
        } else {
            double d = assay_col_num(c, row);
            if (!isfinite(d))
                continue;
            if (d == floor(d) && fabs(d) < 1e15)
                snprintf(val, sizeof val, "%lld", (long long)d);
            else
                snprintf(val, sizeof val, "%g", d);
        }
        if (jc_buf_printf(&b, "%s%s %s", b.len ? ", " : "", name, val)) {
            jc_buf_free(&b);
            return NULL;
        }
    }
    char *out = NULL;
    if (jc_buf_take(&b, &out))
        return NULL;
    return out;
}

/* ---- row indexes --------------------------------------------------------- */

typedef struct kv {
    int64_t key;
    uint32_t row;
} kv;

static int kv_cmp(const void *a, const void *b)
{
    const kv *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

int lr_rowidx_build(lr_rowidx *x, const assay_table *t, const char *col,
                    const char *port, assay_error *err)
{
    const assay_column *c = assay_table_col(t, col);
    memset(x, 0, sizeof *x);
    if (!c || c->type != ASSAY_COL_INT64)
        return assay_error_set(err, ASSAY_EDATA,
                               "input '%s': needs an int64 column '%s'", port,
                               col);
    size_t n = t->nrows;
    kv *v = malloc((n ? n : 1) * sizeof *v);
    x->key = malloc((n ? n : 1) * sizeof *x->key);
    x->row = malloc((n ? n : 1) * sizeof *x->row);
    if (!v || !x->key || !x->row) {
        free(v);
        lr_rowidx_free(x);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    for (size_t r = 0; r < n; r++)
        v[r] = (kv){assay_col_i64(c)[r], (uint32_t)r};
    qsort(v, n, sizeof *v, kv_cmp);
    for (size_t r = 0; r < n; r++) {
        /* the first row of a repeated key wins */
        if (x->n && x->key[x->n - 1] == v[r].key)
            continue;
        x->key[x->n] = v[r].key;
        x->row[x->n] = v[r].row;
        x->n++;
    }
    free(v);
    return ASSAY_OK;
}

long lr_rowidx_find(const lr_rowidx *x, int64_t key)
{
    size_t lo = 0, hi = x->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (x->key[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < x->n && x->key[lo] == key ? (long)x->row[lo] : -1;
}

void lr_rowidx_free(lr_rowidx *x)
{
    free(x->key);
    free(x->row);
    memset(x, 0, sizeof *x);
}

/* ---- item texts ---------------------------------------------------------- */

void lr_strv_free(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

/* Categories as "A|B|C": kept when they hold '|' or ','; otherwise
 * whitespace separates them (RecBole token_seq). */
static int put_cats(jc_buf *b, const char *cat)
{
    if (strchr(cat, '|') || strchr(cat, ','))
        return jc_buf_puts(b, cat);
    bool first = true;
    const char *p = cat;
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *e = p;
        while (*e && *e != ' ' && *e != '\t')
            e++;
        if (e > p) {
            if ((!first && jc_buf_put(b, "|", 1)) ||
                jc_buf_put(b, p, (size_t)(e - p)))
                return ASSAY_ENOMEM;
            first = false;
        }
        p = e;
    }
    return ASSAY_OK;
}

char *lr_genres_text(const char *cat)
{
    jc_buf b = {0}, c = {0};
    char *out = NULL;
    if (!cat || put_cats(&b, cat)) {
        jc_buf_free(&b);
        return NULL;
    }
    /* "A|B|C" -> "A, B, C"; a ',' list keeps its own spacing */
    for (size_t i = 0; i < b.len; i++) {
        int rc = b.p[i] == '|' ? jc_buf_put(&c, ", ", 2)
                               : jc_buf_put(&c, b.p + i, 1);
        if (rc) {
            jc_buf_free(&b);
            jc_buf_free(&c);
            return NULL;
        }
    }
    jc_buf_free(&b);
    if (jc_buf_take(&c, &out))
        return NULL;
    return out;
}

/* Does another entry of ids[0 .. n) have the same title as entry i? */
static bool title_repeats(const lr_cat *c, const int64_t *ids, size_t n,
                          size_t i, long pos)
{
    for (size_t j = 0; j < n; j++) {
        long pj = j == i ? -1 : lr_cat_find(c, ids[j]);
        if (pj >= 0 && pj != pos && !strcmp(c->title[pj], c->title[pos]))
            return true;
    }
    return false;
}

char **lr_item_texts(const lr_cat *c, const int64_t *ids, size_t n,
                     bool with_cat, const double *ratings)
{
    char **v = calloc(n ? n : 1, sizeof *v);
    if (!v)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        jc_buf b = {0};
        long pos = lr_cat_find(c, ids[i]);
        int rc = pos >= 0 ? jc_buf_puts(&b, c->title[pos])
                          : jc_buf_printf(&b, "item %lld",
                                          (long long)ids[i]);
        /* two different items with one title in the same list: their
         * years tell them apart (the mapping reads the year back) */
        if (!rc && pos >= 0 && c->year[pos] &&
            !lr_title_year(c->title[pos]) &&
            title_repeats(c, ids, n, i, pos))
            rc = jc_buf_printf(&b, " (%d)", c->year[pos]);
        if (!rc && with_cat && pos >= 0 && c->cat[pos] && *c->cat[pos])
            rc = jc_buf_put(&b, ":", 1) || put_cats(&b, c->cat[pos]);
        if (!rc && ratings && isfinite(ratings[i]))
            rc = ratings[i] == floor(ratings[i])
                     ? jc_buf_printf(&b, ":%lld", (long long)ratings[i])
                     : jc_buf_printf(&b, ":%g", ratings[i]);
        if (rc || jc_buf_take(&b, &v[i])) {
            jc_buf_free(&b);
            lr_strv_free(v, n);
            return NULL;
        }
    }
    return v;
}

json_t *lr_pylist_json(const lr_cat *cat, const int64_t *ids, size_t n,
                       bool with_cat, const double *ratings)
{
    char **t = lr_item_texts(cat, ids, n, with_cat, ratings);
    jc_buf b = {0};
    json_t *j = NULL;
    if (t && lr_pylist(&b, (const char *const *)t, n) == 0)
        j = json_stringn(b.p ? b.p : "", b.len);
    jc_buf_free(&b);
    lr_strv_free(t, n);
    return j;
}

char *lr_last_line(const char *text)
{
    const char *end = text ? text + strlen(text) : NULL, *a = NULL, *b;
    /* the last line holding something other than spaces and emphasis */
    while (end && end > text) {
        b = end;
        a = b;
        while (a > text && a[-1] != '\n')
            a--;
        bool content = false;
        for (const char *p = a; p < b && !content; p++)
            content = !(*p == ' ' || *p == '\t' || *p == '\r' || *p == '*' ||
                        *p == '_' || *p == '#' || *p == '-');
        if (content)
            break;
        end = a > text ? a - 1 : text;
        a = NULL;
    }
    jc_buf buf = {0};
    char *out = NULL;
    if (a) {
        b = end;
        /* drop markdown emphasis, then a label */
        for (const char *p = a; p < b; p++)
            if (*p != '*' && *p != '_' && *p != '#' && jc_buf_put(&buf, p, 1)) {
                jc_buf_free(&buf);
                return NULL;
            }
    }
    if (jc_buf_take(&buf, &out))
        return NULL;
    char *s = out;
    while (*s == ' ' || *s == '\t' || *s == '-' || *s == '>')
        s++;
    static const char *const labels[] = {"summary", "profile", "user profile",
                                         "in summary", NULL};
    for (size_t i = 0; labels[i]; i++) {
        size_t l = strlen(labels[i]);
        if (strncasecmp(s, labels[i], l) == 0 && s[l] == ':') {
            s += l + 1;
            break;
        }
    }
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        n--;
    memmove(out, s, n);
    out[n] = '\0';
    return out;
}
