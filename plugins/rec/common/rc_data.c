/*
 * rc_data.c - dense id indexes, interaction table views, per-user lists
 * (CSR) and row subsets of tables.
 */
#include "rc.h"

#include <stdlib.h>
#include <string.h>

static int nomem(assay_error *err)
{
    return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
}

/* ---- ids ---------------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int rc_ids_build(rc_ids *ids, const int64_t *const *cols, const size_t *lens,
                 size_t ncols, assay_error *err)
{
    size_t total = 0;
    ids->raw = NULL;
    ids->n = 0;
    for (size_t c = 0; c < ncols; c++)
        total += lens[c];
    int64_t *v = malloc((total ? total : 1) * sizeof *v);
    if (!v)
        return nomem(err);
    size_t at = 0;
    for (size_t c = 0; c < ncols; c++) {
        if (lens[c])
            memcpy(v + at, cols[c], lens[c] * sizeof *v);
        at += lens[c];
    }
    qsort(v, total, sizeof *v, cmp_i64);
    size_t n = 0;
    for (size_t i = 0; i < total; i++)
        if (n == 0 || v[n - 1] != v[i])
            v[n++] = v[i];
    if (n >= UINT32_MAX) {
        free(v);
        return assay_error_set(err, ASSAY_EDATA, "more than 2^32 distinct ids");
    }
    int64_t *shrunk = realloc(v, (n ? n : 1) * sizeof *v);
    ids->raw = shrunk ? shrunk : v;
    ids->n = n;
    return ASSAY_OK;
}

int64_t rc_ids_find(const rc_ids *ids, int64_t raw)
{
    size_t lo = 0, hi = ids->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ids->raw[mid] < raw)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < ids->n && ids->raw[lo] == raw ? (int64_t)lo : -1;
}

void rc_ids_free(rc_ids *ids)
{
    free(ids->raw);
    ids->raw = NULL;
    ids->n = 0;
}

/* ---- views -------------------------------------------------------------- */

static int need_id_col(const assay_table *t, const char *port, const char *name,
                       const int64_t **out, assay_error *err)
{
    const assay_column *c = assay_table_col(t, name);
    if (!c)
        return assay_error_set(err, ASSAY_EDATA,
                               "input '%s': table has no column '%s'", port,
                               name);
    if (c->type != ASSAY_COL_INT64)
        return assay_error_set(
            err, ASSAY_EDATA,
            "input '%s': column '%s' must hold int64 ids, got %s (read the "
            "data with source.interactions, whose `ids: dense` maps any id "
            "to integers)",
            port, name, c->type == ASSAY_COL_STRING ? "strings" : "floats");
    *out = c->data;
    return ASSAY_OK;
}

static int need_num_col(const assay_table *t, const char *port,
                        const char *name, bool required,
                        const assay_column **out, assay_error *err)
{
    const assay_column *c = assay_table_col(t, name);
    *out = NULL;
    if (!c) {
        if (!required)
            return ASSAY_OK;
        return assay_error_set(err, ASSAY_EDATA,
                               "input '%s': table has no column '%s'", port,
                               name);
    }
    if (c->type == ASSAY_COL_STRING)
        return assay_error_set(err, ASSAY_EDATA,
                               "input '%s': column '%s' must be numeric, "
                               "got strings",
                               port, name);
    if (c->type == ASSAY_COL_FLOAT64) {
        const double *d = c->data;
        for (size_t r = 0; r < t->nrows; r++)
            if (!isfinite(d[r]))
                return assay_error_set(err, ASSAY_EDATA,
                                       "input '%s': row %zu: field '%s': "
                                       "not a finite number",
                                       port, r, name);
    }
    *out = c;
    return ASSAY_OK;
}

int rc_inter_view(const assay_table *t, const char *port, bool need_rating,
                  rc_inter *out, assay_error *err)
{
    int rc;
    memset(out, 0, sizeof *out);
    if (!t)
        return assay_error_set(err, ASSAY_EINVAL, "input '%s' is missing",
                               port);
    if (t->nrows >= UINT32_MAX)
        return assay_error_set(err, ASSAY_EDATA,
                               "input '%s': more than 2^32 rows", port);
    out->table = t;
    out->n = t->nrows;
    if ((rc = need_id_col(t, port, RC_COL_USER, &out->user, err)) ||
        (rc = need_id_col(t, port, RC_COL_ITEM, &out->item, err)) ||
        (rc = need_num_col(t, port, RC_COL_TIME, false, &out->time, err)) ||
        (rc = need_num_col(t, port, RC_COL_RATING, need_rating, &out->rating,
                           err)))
        return rc;
    return ASSAY_OK;
}

/* ---- CSR ---------------------------------------------------------------- */

void rc_csr_free(rc_csr *c)
{
    free(c->ptr);
    free(c->idx);
    c->ptr = NULL;
    c->idx = NULL;
    c->n = 0;
}

static int csr_alloc(rc_csr *c, size_t n, size_t nnz, assay_error *err)
{
    c->n = n;
    c->ptr = calloc(n + 1, sizeof *c->ptr);
    c->idx = malloc((nnz ? nnz : 1) * sizeof *c->idx);
    if (!c->ptr || !c->idx) {
        rc_csr_free(c);
        return nomem(err);
    }
    return ASSAY_OK;
}

/* A sortable entry: time, then a tie key (part << 32 | row). */
typedef struct ord_entry {
    double t;
    uint64_t tie;
    uint32_t val;
} ord_entry;

static int cmp_ord(const void *a, const void *b)
{
    const ord_entry *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return (x->tie > y->tie) - (x->tie < y->tie);
}

/*
 * Shared builder: `nparts` views, value of each row = row number (rows)
 * or dense item (items != NULL).  Counting sort by user keeps part/row
 * order; rows of one user are then sorted by time when `by_time`.
 */
static int group_build(const rc_inter *parts, size_t nparts,
                       const rc_ids *users, const rc_ids *items, bool by_time,
                       rc_csr *out, assay_error *err)
{
    size_t total = 0;
    uint32_t *du = NULL;
    ord_entry *ord = NULL;
    int rc;
    for (size_t p = 0; p < nparts; p++) {
        total += parts[p].n;
        if (!parts[p].time)
            by_time = false;
    }
    if ((rc = csr_alloc(out, users->n, total, err)))
        return rc;
    du = malloc((total ? total : 1) * sizeof *du);
    if (!du)
        goto fail_nomem;
    size_t at = 0;
    for (size_t p = 0; p < nparts; p++) {
        for (size_t r = 0; r < parts[p].n; r++, at++) {
            int64_t u = rc_ids_find(users, parts[p].user[r]);
            if (u < 0) {
                rc = assay_error_set(err, ASSAY_EINTERNAL,
                                     "user %lld missing from the index",
                                     (long long)parts[p].user[r]);
                goto fail;
            }
            du[at] = (uint32_t)u;
            out->ptr[u + 1]++;
        }
    }
    for (size_t u = 0; u < users->n; u++)
        out->ptr[u + 1] += out->ptr[u];
    size_t *fill = malloc((users->n ? users->n : 1) * sizeof *fill);
    if (!fill)
        goto fail_nomem;
    memcpy(fill, out->ptr, users->n * sizeof *fill);
    /* Stable scatter.  With by_time the slots first hold the global entry
     * number, replaced after sorting. */
    at = 0;
    for (size_t p = 0; p < nparts; p++) {
        for (size_t r = 0; r < parts[p].n; r++, at++) {
            uint32_t v;
            if (by_time) {
                v = (uint32_t)at;
            } else if (items) {
                int64_t it = rc_ids_find(items, parts[p].item[r]);
                if (it < 0) {
                    free(fill);
                    rc = assay_error_set(err, ASSAY_EINTERNAL,
                                         "item %lld missing from the index",
                                         (long long)parts[p].item[r]);
                    goto fail;
                }
                v = (uint32_t)it;
            } else {
                v = (uint32_t)r;
            }
            out->idx[fill[du[at]]++] = v;
        }
    }
    free(fill);
    if (by_time) {
        /* global entry -> (part, row) */
        size_t maxlen = 0;
        for (size_t u = 0; u < users->n; u++)
            if (rc_csr_len(out, u) > maxlen)
                maxlen = rc_csr_len(out, u);
        ord = malloc((maxlen ? maxlen : 1) * sizeof *ord);
        if (!ord)
            goto fail_nomem;
        size_t *start = malloc((nparts + 1) * sizeof *start);
        if (!start)
            goto fail_nomem;
        start[0] = 0;
        for (size_t p = 0; p < nparts; p++)
            start[p + 1] = start[p] + parts[p].n;
        for (size_t u = 0; u < users->n; u++) {
            size_t n = rc_csr_len(out, u);
            uint32_t *row = out->idx + out->ptr[u];
            for (size_t i = 0; i < n; i++) {
                size_t g = row[i], p = 0;
                while (g >= start[p + 1])
                    p++;
                size_t r = g - start[p];
                ord[i].t = assay_col_num(parts[p].time, r);
                ord[i].tie = ((uint64_t)p << 32) | r;
                ord[i].val = (uint32_t)r;
                if (items) {
                    int64_t it = rc_ids_find(items, parts[p].item[r]);
                    if (it < 0) {
                        free(start);
                        rc = assay_error_set(err, ASSAY_EINTERNAL,
                                             "item %lld missing from the index",
                                             (long long)parts[p].item[r]);
                        goto fail;
                    }
                    ord[i].val = (uint32_t)it;
                }
            }
            qsort(ord, n, sizeof *ord, cmp_ord);
            for (size_t i = 0; i < n; i++)
                row[i] = ord[i].val;
        }
        free(start);
    }
    free(ord);
    free(du);
    return ASSAY_OK;

fail_nomem:
    rc = nomem(err);
fail:
    free(ord);
    free(du);
    rc_csr_free(out);
    return rc;
}

int rc_group_rows(const rc_inter *in, const rc_ids *users, bool by_time,
                  rc_csr *out, assay_error *err)
{
    return group_build(in, 1, users, NULL, by_time, out, err);
}

int rc_csr_build(const rc_inter *parts, size_t nparts, const rc_ids *users,
                 const rc_ids *items, rc_csr *out, assay_error *err)
{
    return group_build(parts, nparts, users, items, true, out, err);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

int rc_csr_unique(const rc_csr *in, rc_csr *out, assay_error *err)
{
    int rc;
    size_t nnz = in->ptr[in->n];
    if ((rc = csr_alloc(out, in->n, nnz, err)))
        return rc;
    size_t at = 0;
    for (size_t r = 0; r < in->n; r++) {
        size_t n = rc_csr_len(in, r);
        uint32_t *dst = out->idx + at;
        memcpy(dst, rc_csr_row(in, r), n * sizeof *dst);
        qsort(dst, n, sizeof *dst, cmp_u32);
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (m == 0 || dst[m - 1] != dst[i])
                dst[m++] = dst[i];
        at += m;
        out->ptr[r + 1] = at;
    }
    return ASSAY_OK;
}

int rc_csr_transpose(const rc_csr *in, size_t ncols, rc_csr *out,
                     assay_error *err)
{
    int rc;
    size_t nnz = in->ptr[in->n];
    if ((rc = csr_alloc(out, ncols, nnz, err)))
        return rc;
    for (size_t i = 0; i < nnz; i++) {
        if (in->idx[i] >= ncols) {
            rc_csr_free(out);
            return assay_error_set(err, ASSAY_EINTERNAL,
                                   "column index out of range");
        }
        out->ptr[in->idx[i] + 1]++;
    }
    for (size_t c = 0; c < ncols; c++)
        out->ptr[c + 1] += out->ptr[c];
    size_t *fill = malloc((ncols ? ncols : 1) * sizeof *fill);
    if (!fill) {
        rc_csr_free(out);
        return nomem(err);
    }
    memcpy(fill, out->ptr, ncols * sizeof *fill);
    for (size_t r = 0; r < in->n; r++)
        for (size_t i = in->ptr[r]; i < in->ptr[r + 1]; i++)
            out->idx[fill[in->idx[i]]++] = (uint32_t)r;
    free(fill);
    return ASSAY_OK;
}

bool rc_sorted_has(const uint32_t *v, size_t n, uint32_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && v[lo] == x;
}

/* ---- tables ------------------------------------------------------------- */

int rc_table_take(const assay_host *host, const assay_table *src,
                  const uint32_t *rows, size_t n, assay_table **out,
                  assay_error *err)
{
    assay_table *t = host->table_new(n);
    if (!t)
        return nomem(err);
    for (size_t c = 0; c < src->ncols; c++) {
        const assay_column *sc = &src->cols[c];
        void *d = host->table_add_col(t, sc->name, sc->type);
        if (!d)
            goto fail_nomem;
        if (sc->type == ASSAY_COL_INT64) {
            int64_t *dst = d;
            const int64_t *s = sc->data;
            for (size_t i = 0; i < n; i++)
                dst[i] = s[rows[i]];
        } else if (sc->type == ASSAY_COL_FLOAT64) {
            double *dst = d;
            const double *s = sc->data;
            for (size_t i = 0; i < n; i++)
                dst[i] = s[rows[i]];
        } else {
            const char *const *s = sc->data;
            for (size_t i = 0; i < n; i++) {
                const char *v = s[rows[i]];
                if (v && host->table_set_str(t, c, i, v, strlen(v)) != 0)
                    goto fail_nomem;
            }
        }
    }
    *out = t;
    return ASSAY_OK;

fail_nomem:
    host->table_free(t);
    return nomem(err);
}
