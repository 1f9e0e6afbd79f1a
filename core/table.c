/*
 * Tables are an assay_table header followed by private bookkeeping: the
 * column capacity and an arena of string chunks.  String cells point into
 * the arena, so a table frees in O(chunks) and copies nothing on read.
 */
#include "table.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
    char data[];
} chunk;

typedef struct table_impl {
    assay_table pub; /* must be first */
    size_t cap_cols;
    chunk *arena;
} table_impl;

static size_t elem_size(assay_col_type t)
{
    return t == ASSAY_COL_STRING ? sizeof(char *) : 8;
}

assay_table *table_new(size_t nrows)
{
    table_impl *ti = calloc(1, sizeof *ti);
    if (!ti)
        return NULL;
    ti->pub.nrows = nrows;
    return &ti->pub;
}

void *table_add_col(assay_table *t, const char *name, assay_col_type type)
{
    table_impl *ti = (table_impl *)t;
    if (!t || !name || type < ASSAY_COL_INT64 || type > ASSAY_COL_STRING ||
        assay_table_col(t, name))
        return NULL;
    if (t->ncols == ti->cap_cols) {
        size_t cap = ti->cap_cols ? ti->cap_cols * 2 : 8;
        assay_column *nc = realloc(t->cols, cap * sizeof *nc);
        if (!nc)
            return NULL;
        t->cols = nc;
        ti->cap_cols = cap;
    }
    char *nm = strdup(name);
    void *data = calloc(t->nrows ? t->nrows : 1, elem_size(type));
    if (!nm || !data) {
        free(nm);
        free(data);
        return NULL;
    }
    t->cols[t->ncols].name = nm;
    t->cols[t->ncols].type = type;
    t->cols[t->ncols].data = data;
    t->ncols++;
    return data;
}

static char *arena_alloc(table_impl *ti, size_t n)
{
    chunk *c = ti->arena;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->used = 0;
        c->cap = cap;
        c->next = ti->arena;
        ti->arena = c;
    }
    char *p = c->data + c->used;
    c->used += n;
    return p;
}

int table_set_str(assay_table *t, size_t col, size_t row, const char *s,
                  size_t len)
{
    table_impl *ti = (table_impl *)t;
    if (!t || col >= t->ncols || row >= t->nrows ||
        t->cols[col].type != ASSAY_COL_STRING)
        return ASSAY_EINVAL;
    const char **cells = t->cols[col].data;
    if (!s) {
        cells[row] = NULL;
        return 0;
    }
    char *p = arena_alloc(ti, len + 1);
    if (!p)
        return ASSAY_ENOMEM;
    memcpy(p, s, len);
    p[len] = '\0';
    cells[row] = p;
    return 0;
}

int table_resize(assay_table *t, size_t nrows)
{
    if (!t)
        return ASSAY_EINVAL;
    for (size_t c = 0; c < t->ncols; c++) {
        size_t es = elem_size(t->cols[c].type);
        void *nd = realloc(t->cols[c].data, (nrows ? nrows : 1) * es);
        if (!nd)
            return ASSAY_ENOMEM;
        if (nrows > t->nrows)
            memset((char *)nd + t->nrows * es, 0, (nrows - t->nrows) * es);
        t->cols[c].data = nd;
    }
    t->nrows = nrows;
    return 0;
}

void table_free(assay_table *t)
{
    table_impl *ti = (table_impl *)t;
    if (!t)
        return;
    for (size_t c = 0; c < t->ncols; c++) {
        free((char *)t->cols[c].name);
        free(t->cols[c].data);
    }
    free(t->cols);
    for (chunk *c = ti->arena, *n; c; c = n) {
        n = c->next;
        free(c);
    }
    free(ti);
}

/* ---- records <-> table ------------------------------------------------ */

enum { K_NONE = 0, K_INT, K_NUM, K_STR };

int table_from_records(const json_t *records, assay_table **out,
                       assay_error *err)
{
    if (!json_is_array(records))
        return assay_error_set(err, ASSAY_EDATA, "expected an array of "
                                                 "records");
    size_t n = json_array_size(records);
    /* pass 1: discover columns and their kinds */
    json_t *kinds = json_object(); /* name -> int kind, insertion order */
    json_t *nulls = json_object();
    if (!kinds || !nulls) {
        json_decref(kinds);
        json_decref(nulls);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        json_t *r = json_array_get(records, i);
        if (!json_is_object(r)) {
            rc = assay_error_set(err, ASSAY_EDATA,
                                 "record %zu: expected an object", i);
            break;
        }
        const char *k;
        json_t *v;
        json_object_foreach(r, k, v)
        {
            int kind;
            if (json_is_integer(v) || json_is_boolean(v))
                kind = K_INT;
            else if (json_is_real(v))
                kind = K_NUM;
            else if (json_is_string(v))
                kind = K_STR;
            else if (json_is_null(v)) {
                json_object_set_new(nulls, k, json_true());
                kind = K_NONE;
            } else {
                rc = assay_error_set(err, ASSAY_EDATA,
                                     "record %zu: field '%s': %s values "
                                     "cannot be stored in a table column",
                                     i, k, assay__json_type_name(v));
                break;
            }
            json_t *prev = json_object_get(kinds, k);
            int pk = prev ? (int)json_integer_value(prev) : K_NONE;
            int nk = pk;
            if (pk == K_NONE)
                nk = kind;
            else if (kind == K_NONE || kind == pk)
                nk = pk;
            else if ((pk == K_INT && kind == K_NUM) ||
                     (pk == K_NUM && kind == K_INT))
                nk = K_NUM;
            else {
                rc = assay_error_set(err, ASSAY_EDATA,
                                     "record %zu: field '%s': mixes strings "
                                     "and numbers across records",
                                     i, k);
                break;
            }
            if (!prev || nk != pk)
                json_object_set_new(kinds, k, json_integer(nk));
        }
    }
    assay_table *t = NULL;
    if (rc)
        goto done;
    t = table_new(n);
    if (!t) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    const char *k;
    json_t *kv;
    json_object_foreach(kinds, k, kv)
    {
        int kind = (int)json_integer_value(kv);
        /* a column with missing/null cells cannot stay int64 */
        bool holes = json_object_get(nulls, k) != NULL;
        for (size_t i = 0; !holes && i < n; i++)
            if (!json_object_get(json_array_get(records, i), k))
                holes = true;
        if (kind == K_INT && holes)
            kind = K_NUM;
        if (kind == K_NONE)
            kind = K_NUM;
        assay_col_type ct = kind == K_INT   ? ASSAY_COL_INT64
                            : kind == K_NUM ? ASSAY_COL_FLOAT64
                                            : ASSAY_COL_STRING;
        void *data = table_add_col(t, k, ct);
        if (!data) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto done;
        }
        size_t ci = t->ncols - 1;
        for (size_t i = 0; i < n; i++) {
            json_t *v = json_object_get(json_array_get(records, i), k);
            if (ct == ASSAY_COL_INT64)
                ((int64_t *)data)[i] =
                    json_is_boolean(v) ? json_is_true(v)
                                       : json_integer_value(v);
            else if (ct == ASSAY_COL_FLOAT64)
                ((double *)data)[i] =
                    json_is_number(v) ? json_number_value(v)
                    : json_is_boolean(v) ? (double)json_is_true(v)
                                         : NAN;
            else if (json_is_string(v) &&
                     table_set_str(t, ci, i, json_string_value(v),
                                   json_string_length(v))) {
                rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
                goto done;
            }
        }
    }
done:
    json_decref(kinds);
    json_decref(nulls);
    if (rc) {
        table_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

json_t *table_to_records(const assay_table *t)
{
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    for (size_t r = 0; r < t->nrows; r++) {
        json_t *o = json_object();
        if (!o || json_array_append_new(arr, o)) {
            json_decref(arr);
            return NULL;
        }
        for (size_t c = 0; c < t->ncols; c++) {
            const assay_column *col = &t->cols[c];
            json_t *v;
            if (col->type == ASSAY_COL_INT64)
                v = json_integer(((const int64_t *)col->data)[r]);
            else if (col->type == ASSAY_COL_FLOAT64) {
                double d = ((const double *)col->data)[r];
                v = isfinite(d) ? json_real(d) : json_null();
            } else {
                const char *s = ((const char *const *)col->data)[r];
                v = s ? json_string(s) : json_null();
                if (s && !v) /* invalid UTF-8: keep the bytes visible */
                    v = json_stringn_nocheck(s, strlen(s));
            }
            if (!v || json_object_set_new(o, col->name, v)) {
                json_decref(arr);
                return NULL;
            }
        }
    }
    return arr;
}

/* ---- binary form ------------------------------------------------------ */

static const char MAGIC[8] = {'A', 'S', 'S', 'A', 'Y', 'T', 'B', '1'};

static int put(FILE *f, sha256_ctx *h, const void *p, size_t n)
{
    if (n && fwrite(p, 1, n, f) != n)
        return ASSAY_EIO;
    if (h)
        sha256_update(h, p, n);
    return 0;
}

int table_write(const assay_table *t, FILE *f, sha256_ctx *h)
{
    uint64_t nr = t->nrows, nc = t->ncols;
    if (put(f, h, MAGIC, 8) || put(f, h, &nr, 8) || put(f, h, &nc, 8))
        return ASSAY_EIO;
    for (size_t c = 0; c < t->ncols; c++) {
        uint32_t ty = t->cols[c].type, nl = (uint32_t)strlen(t->cols[c].name);
        if (put(f, h, &ty, 4) || put(f, h, &nl, 4) ||
            put(f, h, t->cols[c].name, nl))
            return ASSAY_EIO;
    }
    for (size_t c = 0; c < t->ncols; c++) {
        const assay_column *col = &t->cols[c];
        if (col->type != ASSAY_COL_STRING) {
            if (put(f, h, col->data, t->nrows * 8))
                return ASSAY_EIO;
            continue;
        }
        const char *const *s = col->data;
        for (size_t r = 0; r < t->nrows; r++) {
            uint32_t l = s[r] ? (uint32_t)strlen(s[r]) : UINT32_MAX;
            if (put(f, h, &l, 4))
                return ASSAY_EIO;
        }
        for (size_t r = 0; r < t->nrows; r++)
            if (s[r] && put(f, h, s[r], strlen(s[r])))
                return ASSAY_EIO;
    }
    return 0;
}

int table_read(FILE *f, assay_table **out, assay_error *err)
{
    char magic[8];
    uint64_t nr, nc;
    if (fread(magic, 1, 8, f) != 8 || memcmp(magic, MAGIC, 8) ||
        fread(&nr, 8, 1, f) != 1 || fread(&nc, 8, 1, f) != 1 ||
        nc > 100000 || nr > ((uint64_t)1 << 40))
        return assay_error_set(err, ASSAY_EDATA, "not an assay table file");
    /* every column stores at least 4 bytes per row: a row count the file
     * cannot hold is corruption, not a reason to allocate terabytes */
    struct stat st;
    long pos = ftell(f);
    if (nc > 0 && pos >= 0 && fstat(fileno(f), &st) == 0 &&
        S_ISREG(st.st_mode) && st.st_size >= pos &&
        nr > (uint64_t)(st.st_size - pos) / 4)
        return assay_error_set(err, ASSAY_EDATA, "truncated table");
    assay_table *t = table_new((size_t)nr);
    if (!t)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    int rc = 0;
    char *buf = NULL;
    for (uint64_t c = 0; c < nc; c++) {
        uint32_t ty, nl;
        char name[1024];
        if (fread(&ty, 4, 1, f) != 1 || fread(&nl, 4, 1, f) != 1 ||
            nl >= sizeof name || fread(name, 1, nl, f) != nl ||
            ty < ASSAY_COL_INT64 || ty > ASSAY_COL_STRING) {
            rc = assay_error_set(err, ASSAY_EDATA, "corrupt table header");
            goto fail;
        }
        name[nl] = '\0';
        if (!table_add_col(t, name, (assay_col_type)ty)) {
            rc = assay_table_col(t, name)
                     ? assay_error_set(err, ASSAY_EDATA,
                                       "corrupt table: column '%s' twice",
                                       name)
                     : assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto fail;
        }
    }
    for (size_t c = 0; c < t->ncols; c++) {
        assay_column *col = &t->cols[c];
        if (col->type != ASSAY_COL_STRING) {
            if (fread(col->data, 8, t->nrows, f) != t->nrows) {
                rc = assay_error_set(err, ASSAY_EDATA, "truncated table");
                goto fail;
            }
            continue;
        }
        uint32_t *lens = malloc((t->nrows ? t->nrows : 1) * 4);
        if (!lens) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto fail;
        }
        if (fread(lens, 4, t->nrows, f) != t->nrows) {
            free(lens);
            rc = assay_error_set(err, ASSAY_EDATA, "truncated table");
            goto fail;
        }
        size_t cap = 0;
        for (size_t r = 0; r < t->nrows; r++) {
            if (lens[r] == UINT32_MAX)
                continue;
            if (lens[r] + 1 > cap) {
                cap = lens[r] + 1;
                char *nb = realloc(buf, cap);
                if (!nb) {
                    free(lens);
                    rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
                    goto fail;
                }
                buf = nb;
            }
            if (fread(buf, 1, lens[r], f) != lens[r] ||
                table_set_str(t, c, r, buf, lens[r])) {
                free(lens);
                rc = assay_error_set(err, ASSAY_EDATA, "truncated table");
                goto fail;
            }
        }
        free(lens);
    }
    free(buf);
    *out = t;
    return 0;
fail:
    free(buf);
    table_free(t);
    return rc;
}

int table_concat(const assay_table *const *ts, size_t n, assay_table **out,
                 assay_error *err)
{
    if (n == 0)
        return assay_error_set(err, ASSAY_EINVAL, "nothing to concatenate");
    const assay_table *a = ts[0];
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (ts[i]->ncols != a->ncols)
            return assay_error_set(err, ASSAY_EDATA,
                                   "cannot concatenate tables: input %zu "
                                   "has %zu columns, input 0 has %zu",
                                   i, ts[i]->ncols, a->ncols);
        for (size_t c = 0; c < a->ncols; c++)
            if (strcmp(ts[i]->cols[c].name, a->cols[c].name) ||
                ts[i]->cols[c].type != a->cols[c].type)
                return assay_error_set(err, ASSAY_EDATA,
                                       "cannot concatenate tables: input "
                                       "%zu column %zu is '%s', input 0 "
                                       "has '%s' (or another type)",
                                       i, c, ts[i]->cols[c].name,
                                       a->cols[c].name);
        total += ts[i]->nrows;
    }
    assay_table *t = table_new(total);
    if (!t)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    for (size_t c = 0; c < a->ncols; c++) {
        char *dst = table_add_col(t, a->cols[c].name, a->cols[c].type);
        if (!dst)
            goto oom;
        size_t row = 0;
        for (size_t i = 0; i < n; i++) {
            const assay_column *src = &ts[i]->cols[c];
            if (src->type != ASSAY_COL_STRING) {
                memcpy(dst + row * 8, src->data, ts[i]->nrows * 8);
            } else {
                const char *const *s = src->data;
                for (size_t r = 0; r < ts[i]->nrows; r++)
                    if (s[r] &&
                        table_set_str(t, c, row + r, s[r], strlen(s[r])))
                        goto oom;
            }
            row += ts[i]->nrows;
        }
    }
    *out = t;
    return 0;
oom:
    table_free(t);
    return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
}

assay_table *table_copy(const assay_table *t)
{
    assay_table *out = NULL;
    const assay_table *one[1] = {t};
    if (t->ncols == 0) {
        return table_new(t->nrows);
    }
    if (table_concat(one, 1, &out, NULL))
        return NULL;
    return out;
}
