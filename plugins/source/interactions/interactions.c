/*
 * source.interactions - read user-item interaction logs (MovieLens
 * u.data / ratings.dat / ratings.csv, RecBole atomic .inter files, any
 * CSV or TSV with named columns) into an interaction table, plus the item
 * and user side information next to them.
 */
#include <assay/plugin.h>

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "textio.h"

enum {
    FMT_AUTO,
    FMT_ML100K,
    FMT_ML1M,
    FMT_MLLATEST,
    FMT_ATOMIC,
    FMT_CSV,
    FMT_TSV
};
static const char *const fmt_names[] = {
    "auto", "ml-100k", "ml-1m", "ml-latest", "atomic", "csv", "tsv", NULL};

enum { IDS_AUTO, IDS_KEEP, IDS_DENSE };

/* How ids of one column are held: raw integers, or dense ids of a string
 * map written back as strings (STR) or kept as integers with a mapping
 * column (DENSE). */
enum { ID_INT, ID_DENSE, ID_STR };

enum { ROLE_USER, ROLE_ITEM, ROLE_RATING, ROLE_TIME, NROLES };
static const char *const role_names[NROLES] = {"user", "item", "rating",
                                               "timestamp"};
static const char *const role_opts[NROLES] = {"user_col", "item_col",
                                              "rating_col", "time_col"};
/* Header names recognised per role (compared case-insensitively, after
 * dropping a RecBole ":type" suffix). */
static const char *const role_guess[NROLES][12] = {
    {"user", "user_id", "userid", "uid", "reviewerid", "visitorid",
     "customer_id", NULL},
    {"item", "item_id", "itemid", "iid", "movieid", "movie_id", "asin",
     "product_id", "business_id", "track_id", "book_id", NULL},
    {"rating", "ratings", "score", "stars", "overall", NULL},
    {"timestamp", "time", "ts", "unixreviewtime", "unix_timestamp", NULL}};

/* The 19 genre flags of MovieLens 100K u.item, in file order. */
static const char *const ml100k_genres[19] = {
    "unknown",   "Action",   "Adventure",   "Animation", "Children's",
    "Comedy",    "Crime",    "Documentary", "Drama",     "Fantasy",
    "Film-Noir", "Horror",   "Musical",     "Mystery",   "Romance",
    "Sci-Fi",    "Thriller", "War",         "Western"};

typedef struct src_cfg {
    const assay_host *host;
    json_t *opts;
} src_cfg;

/* One id column being read. */
typedef struct idcol {
    int mode;
    tio_map *map; /* ID_DENSE / ID_STR */
} idcol;

/* The interactions as read. */
typedef struct inter_data {
    size_t n, cap;
    int64_t *user, *item; /* raw ints or map ids */
    double *rating, *time;
    bool has_rating, has_time, time_int;
    idcol ids[2];
} inter_data;

static int nomem(assay_error *err)
{
    return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
}

static bool file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static bool ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcasecmp(s + a - b, suf) == 0;
}

static int detect_format(const char *path)
{
    const char *b = base_name(path);
    if (strcmp(b, "u.data") == 0 || ends_with(b, ".data"))
        return FMT_ML100K;
    if (ends_with(b, ".dat"))
        return FMT_ML1M;
    if (ends_with(b, ".inter"))
        return FMT_ATOMIC;
    if (strcmp(b, "ratings.csv") == 0)
        return FMT_MLLATEST;
    if (ends_with(b, ".tsv") || ends_with(b, ".tab"))
        return FMT_TSV;
    return FMT_CSV;
}

/* A header field's name without quotes, spaces or a ":type" suffix. */
static size_t header_name(tio_field f, char *out, size_t outsz)
{
    size_t n = 0;
    for (size_t i = 0; i < f.len && n + 1 < outsz; i++) {
        char c = f.s[i];
        if (c == ':')
            break;
        if (c == ' ' && n == 0)
            continue;
        out[n++] = c;
    }
    while (n && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
    return n;
}

/* The layout of the main file. */
typedef struct layout {
    tio_sep sep;
    bool header;
    int col[NROLES]; /* field index per role, -1 absent */
    size_t nfields;  /* fields a data line must have at least */
} layout;

static int header_layout(const src_cfg *c, const tio_field *hf, size_t nh,
                         const char *path, layout *lo, assay_error *err)
{
    char name[128];
    for (int r = 0; r < NROLES; r++) {
        const char *want = assay_opt_str(c->opts, role_opts[r]);
        lo->col[r] = -1;
        for (size_t i = 0; i < nh && lo->col[r] < 0; i++) {
            header_name(hf[i], name, sizeof name);
            if (want) {
                if (strcmp(name, want) == 0)
                    lo->col[r] = (int)i;
                continue;
            }
            for (size_t g = 0; role_guess[r][g]; g++)
                if (strcasecmp(name, role_guess[r][g]) == 0)
                    lo->col[r] = (int)i;
        }
        if (lo->col[r] < 0 && (want || r <= ROLE_ITEM)) {
            char list[512];
            size_t at = 0;
            list[0] = '\0';
            for (size_t i = 0; i < nh && at + 2 < sizeof list; i++) {
                header_name(hf[i], name, sizeof name);
                int w = snprintf(list + at, sizeof list - at, "%s%s",
                                 i ? ", " : "", name);
                if (w < 0)
                    break;
                at += (size_t)w;
            }
            if (want)
                return assay_error_set(err, ASSAY_EDATA,
                                       "%s: no column '%s' (option %s); "
                                       "the header has: %s",
                                       path, want, role_opts[r], list);
            return assay_error_set(err, ASSAY_EDATA,
                                   "%s: no %s column found; set option %s "
                                   "(the header has: %s)",
                                   path, role_names[r], role_opts[r], list);
        }
    }
    return ASSAY_OK;
}

static void finish_layout(layout *lo)
{
    lo->nfields = 0;
    for (int r = 0; r < NROLES; r++)
        if (lo->col[r] >= 0 && (size_t)lo->col[r] + 1 > lo->nfields)
            lo->nfields = (size_t)lo->col[r] + 1;
}

static void inter_free(inter_data *d)
{
    free(d->user);
    free(d->item);
    free(d->rating);
    free(d->time);
    for (int i = 0; i < 2; i++)
        tio_map_free(d->ids[i].map);
    memset(d, 0, sizeof *d);
}

static int inter_push(inter_data *d)
{
    if (d->n < d->cap)
        return ASSAY_OK;
    size_t nc = d->cap ? d->cap * 2 : 4096;
    int64_t *u = realloc(d->user, nc * sizeof *u);
    if (!u)
        return ASSAY_ENOMEM;
    d->user = u;
    int64_t *it = realloc(d->item, nc * sizeof *it);
    if (!it)
        return ASSAY_ENOMEM;
    d->item = it;
    double *r = realloc(d->rating, nc * sizeof *r);
    if (!r)
        return ASSAY_ENOMEM;
    d->rating = r;
    double *t = realloc(d->time, nc * sizeof *t);
    if (!t)
        return ASSAY_ENOMEM;
    d->time = t;
    d->cap = nc;
    return ASSAY_OK;
}

/* Parse one id field.  Returns 1 when an integer column met a non-integer
 * (the caller restarts with a map), 0 on success, <0 on error. */
static int read_id(idcol *ic, tio_field f, int64_t *out)
{
    if (ic->mode == ID_INT)
        return tio_parse_i64(f, out) ? 0 : 1;
    while (f.len && (f.s[0] == ' '))
        f.s++, f.len--;
    while (f.len && f.s[f.len - 1] == ' ')
        f.len--;
    return tio_map_get(ic->map, f.s, f.len, out);
}

/*
 * Read every data line of `f` with layout `lo` into `d`.  Returns 1 when
 * an integer id column must become a map column (d->ids updated; the
 * caller rewinds and calls again).
 */
static int read_rows(tio_file *f, const layout *lo, const char *path,
                     inter_data *d, assay_error *err)
{
    tio_field fl[64];
    char *scratch = NULL;
    size_t scap = 0;
    const char *line;
    size_t len;
    int rc = ASSAY_OK;
    d->n = 0;
    d->has_rating = lo->col[ROLE_RATING] >= 0;
    d->has_time = lo->col[ROLE_TIME] >= 0;
    d->time_int = true;
    while (tio_next_line(f, &line, &len)) {
        if (len == 0)
            continue;
        if (len > scap) {
            free(scratch);
            scap = len * 2;
            scratch = malloc(scap);
            if (!scratch) {
                rc = nomem(err);
                goto done;
            }
        }
        size_t nf = tio_split(line, len, lo->sep, fl, 64, scratch);
        if (nf < lo->nfields) {
            rc = assay_error_set(err, ASSAY_EDATA,
                                 "%s:%zu: expected at least %zu fields, "
                                 "got %zu",
                                 path, f->line_no, lo->nfields, nf);
            goto done;
        }
        if (inter_push(d)) {
            rc = nomem(err);
            goto done;
        }
        for (int r = 0; r < 2; r++) {
            int64_t *dst = r == 0 ? &d->user[d->n] : &d->item[d->n];
            int x = read_id(&d->ids[r], fl[lo->col[r]], dst);
            if (x == 1) {
                d->ids[r].map = tio_map_new();
                if (!d->ids[r].map) {
                    rc = nomem(err);
                    goto done;
                }
                d->ids[r].mode = ID_DENSE;
                rc = 1;
                goto done;
            }
            if (x < 0) {
                rc = nomem(err);
                goto done;
            }
        }
        if (d->has_rating &&
            !tio_parse_f64(fl[lo->col[ROLE_RATING]], &d->rating[d->n])) {
            rc = assay_error_set(err, ASSAY_EDATA,
                                 "%s:%zu: field %d (rating): not a number",
                                 path, f->line_no, lo->col[ROLE_RATING] + 1);
            goto done;
        }
        if (d->has_time) {
            double t;
            if (!tio_parse_f64(fl[lo->col[ROLE_TIME]], &t)) {
                rc = assay_error_set(err, ASSAY_EDATA,
                                     "%s:%zu: field %d (timestamp): not a "
                                     "number",
                                     path, f->line_no, lo->col[ROLE_TIME] + 1);
                goto done;
            }
            if (t != floor(t) || fabs(t) > 9e15)
                d->time_int = false;
            d->time[d->n] = t;
        }
        d->n++;
    }
done:
    free(scratch);
    return rc;
}

/* ---- side information --------------------------------------------------- */

/* A side file read as strings: rows x ncols fields (NUL-terminated,
 * UTF-8), with column names. */
typedef struct side_data {
    size_t nrows, ncols, cap;
    char **names;
    char **cells; /* row-major */
    int idcol;
} side_data;

static void side_free(side_data *s)
{
    if (s->cells)
        for (size_t i = 0; i < s->nrows * s->ncols; i++)
            free(s->cells[i]);
    free(s->cells);
    if (s->names)
        for (size_t c = 0; c < s->ncols; c++)
            free(s->names[c]);
    free(s->names);
    memset(s, 0, sizeof *s);
}

static char *dup_str(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/*
 * Read a side file: separator `sep`; column names from the header when
 * `names` is NULL (then `id_name` picks the id column, or the first
 * column), else the fixed `names` (ncols of them, id in column 0).
 * ml100k_item: fold u.item's 19 genre flags into one `genres` column.
 */
static int side_read(const char *path, tio_sep sep, const char *const *names,
                     size_t nnames, const char *id_name, bool ml100k_item,
                     side_data *s, assay_error *err)
{
    tio_file f;
    tio_field fl[64];
    char *scratch = NULL;
    const char *line;
    size_t len;
    int rc = tio_file_read(path, &f, err);
    memset(s, 0, sizeof *s);
    if (rc)
        return rc;
    if (!names) {
        if (!tio_next_line(&f, &line, &len)) {
            rc = assay_error_set(err, ASSAY_EDATA, "%s: empty file", path);
            goto done;
        }
        scratch = malloc(len + 1);
        if (!scratch)
            goto fail_nomem;
        size_t nf = tio_split(line, len, sep, fl, 64, scratch);
        if (nf > 64)
            nf = 64;
        s->ncols = nf;
        s->names = calloc(nf, sizeof *s->names);
        if (!s->names)
            goto fail_nomem;
        s->idcol = 0;
        for (size_t c = 0; c < nf; c++) {
            char nm[128];
            header_name(fl[c], nm, sizeof nm);
            if (!(s->names[c] = dup_str(nm, strlen(nm))))
                goto fail_nomem;
            if (id_name && strcasecmp(nm, id_name) == 0)
                s->idcol = (int)c;
        }
        free(scratch);
        scratch = NULL;
    } else {
        s->ncols = ml100k_item ? 6 : nnames;
        s->names = calloc(s->ncols, sizeof *s->names);
        if (!s->names)
            goto fail_nomem;
        for (size_t c = 0; c < s->ncols; c++) {
            const char *nm = c < nnames ? names[c] : "genres";
            if (!(s->names[c] = dup_str(nm, strlen(nm))))
                goto fail_nomem;
        }
        s->idcol = 0;
    }
    while (tio_next_line(&f, &line, &len)) {
        if (len == 0)
            continue;
        free(scratch);
        scratch = malloc(len + 1);
        if (!scratch)
            goto fail_nomem;
        size_t nf = tio_split(line, len, sep, fl, 64, scratch);
        size_t need = ml100k_item ? 5 + 19 : s->ncols;
        if (nf < need && !(nf + 1 == need && !ml100k_item)) {
            rc = assay_error_set(err, ASSAY_EDATA,
                                 "%s:%zu: expected %zu fields, got %zu", path,
                                 f.line_no, need, nf);
            goto done;
        }
        if (s->nrows == s->cap) {
            size_t nc = s->cap ? s->cap * 2 : 1024;
            char **cells = realloc(s->cells, nc * s->ncols * sizeof *cells);
            if (!cells)
                goto fail_nomem;
            s->cells = cells;
            s->cap = nc;
        }
        char **row = s->cells + s->nrows * s->ncols;
        for (size_t c = 0; c < s->ncols; c++)
            row[c] = NULL;
        s->nrows++;
        size_t ncopy = ml100k_item ? 5 : s->ncols;
        for (size_t c = 0; c < ncopy; c++) {
            size_t ol;
            tio_field v = c < nf ? fl[c] : (tio_field){"", 0};
            if (tio_to_utf8(v.s, v.len, &row[c], &ol))
                goto fail_nomem;
        }
        if (ml100k_item) {
            char g[512];
            size_t at = 0;
            g[0] = '\0';
            for (size_t k = 0; k < 19; k++) {
                if (fl[5 + k].len == 1 && fl[5 + k].s[0] == '1') {
                    int w = snprintf(g + at, sizeof g - at, "%s%s",
                                     at ? "|" : "", ml100k_genres[k]);
                    if (w > 0 && (size_t)w < sizeof g - at)
                        at += (size_t)w;
                }
            }
            if (!(row[5] = dup_str(g, at)))
                goto fail_nomem;
        }
    }
    goto done;

fail_nomem:
    rc = nomem(err);
done:
    free(scratch);
    tio_file_free(&f);
    if (rc)
        side_free(s);
    return rc;
}

/* ---- output tables ------------------------------------------------------ */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Position of x in sorted v[0..n), or -1. */
static int64_t find_i64(const int64_t *v, size_t n, int64_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && v[lo] == x ? (int64_t)lo : -1;
}

/* Column type of side column c: all integers -> int64, all numbers (or
 * empty) -> float64, else string.  The id column is handled apart. */
static assay_col_type side_type(const side_data *s, size_t c)
{
    bool all_int = true, all_num = true, any = false;
    for (size_t r = 0; r < s->nrows && (all_int || all_num); r++) {
        const char *v = s->cells[r * s->ncols + c];
        tio_field f = {v, strlen(v)};
        int64_t i;
        double d;
        if (f.len == 0) {
            all_int = false;
            continue;
        }
        any = true;
        /* "00501" is a code, not a number: keep such columns as text */
        if (f.len > 1 && v[0] == '0' && v[1] >= '0' && v[1] <= '9') {
            all_int = all_num = false;
            continue;
        }
        if (!tio_parse_i64(f, &i))
            all_int = false;
        if (!tio_parse_f64(f, &d))
            all_num = false;
    }
    if (!any)
        return ASSAY_COL_STRING;
    if (all_int)
        return ASSAY_COL_INT64;
    return all_num ? ASSAY_COL_FLOAT64 : ASSAY_COL_STRING;
}

/*
 * The entity table of one role (users or items): one row per id known
 * from the interactions or the side file, with the id column, `<role>_raw`
 * for dense ids, `n_interactions`, and the side columns.
 */
static int entity_table(const assay_host *host, const char *role,
                        const int64_t *col, size_t n, idcol *ic,
                        side_data *side, assay_table **out, assay_error *err)
{
    int rc = ASSAY_OK;
    int64_t *keys = NULL, *side_id = NULL, *row_of = NULL, *count = NULL;
    size_t nkeys = 0;
    assay_table *t = NULL;

    /* side ids in the interactions' id space */
    if (side && side->nrows) {
        side_id = malloc(side->nrows * sizeof *side_id);
        if (!side_id)
            goto fail_nomem;
        for (size_t r = 0; r < side->nrows; r++) {
            const char *v = side->cells[r * side->ncols + side->idcol];
            tio_field f = {v, strlen(v)};
            if (ic->mode == ID_INT) {
                if (!tio_parse_i64(f, &side_id[r])) {
                    rc = assay_error_set(err, ASSAY_EDATA,
                                         "%s side file: row %zu: id '%s' is "
                                         "not an integer like the "
                                         "interactions' ids",
                                         role, r + 1, v);
                    goto done;
                }
            } else if (tio_map_get(ic->map, v, f.len, &side_id[r])) {
                goto fail_nomem;
            }
        }
    }
    size_t nside = side ? side->nrows : 0;
    if (ic->mode == ID_INT) {
        keys = malloc((n + nside + 1) * sizeof *keys);
        if (!keys)
            goto fail_nomem;
        if (n)
            memcpy(keys, col, n * sizeof *keys);
        if (nside)
            memcpy(keys + n, side_id, nside * sizeof *keys);
        qsort(keys, n + nside, sizeof *keys, cmp_i64);
        for (size_t i = 0; i < n + nside; i++)
            if (nkeys == 0 || keys[nkeys - 1] != keys[i])
                keys[nkeys++] = keys[i];
    } else {
        nkeys = tio_map_size(ic->map);
        keys = malloc((nkeys + 1) * sizeof *keys);
        if (!keys)
            goto fail_nomem;
        for (size_t i = 0; i < nkeys; i++)
            keys[i] = (int64_t)i;
    }
    count = calloc(nkeys + 1, sizeof *count);
    row_of = malloc((nkeys + 1) * sizeof *row_of);
    if (!count || !row_of)
        goto fail_nomem;
    for (size_t i = 0; i < nkeys; i++)
        row_of[i] = -1;
    for (size_t i = 0; i < n; i++)
        count[find_i64(keys, nkeys, col[i])]++;
    for (size_t r = 0; r < nside; r++) {
        int64_t k = find_i64(keys, nkeys, side_id[r]);
        if (row_of[k] < 0)
            row_of[k] = (int64_t)r;
    }

    t = host->table_new(nkeys);
    if (!t)
        goto fail_nomem;
    size_t ci = 0;
    if (ic->mode == ID_STR) {
        if (!host->table_add_col(t, role, ASSAY_COL_STRING))
            goto fail_nomem;
        for (size_t i = 0; i < nkeys; i++) {
            const char *k = tio_map_key(ic->map, keys[i]);
            if (host->table_set_str(t, ci, i, k, strlen(k)))
                goto fail_nomem;
        }
        ci++;
    } else {
        int64_t *d = host->table_add_col(t, role, ASSAY_COL_INT64);
        if (!d)
            goto fail_nomem;
        memcpy(d, keys, nkeys * sizeof *d);
        ci++;
        if (ic->mode == ID_DENSE) {
            char nm[64];
            snprintf(nm, sizeof nm, "%s_raw", role);
            if (!host->table_add_col(t, nm, ASSAY_COL_STRING))
                goto fail_nomem;
            for (size_t i = 0; i < nkeys; i++) {
                const char *k = tio_map_key(ic->map, keys[i]);
                if (host->table_set_str(t, ci, i, k, strlen(k)))
                    goto fail_nomem;
            }
            ci++;
        }
    }
    int64_t *cnt = host->table_add_col(t, "n_interactions", ASSAY_COL_INT64);
    if (!cnt)
        goto fail_nomem;
    memcpy(cnt, count, nkeys * sizeof *cnt);
    ci++;
    for (size_t c = 0; side && c < side->ncols; c++) {
        if ((int)c == side->idcol || assay_table_col(t, side->names[c]))
            continue;
        assay_col_type ty = side_type(side, c);
        void *d = host->table_add_col(t, side->names[c], ty);
        if (!d)
            goto fail_nomem;
        for (size_t i = 0; i < nkeys; i++) {
            const char *v =
                row_of[i] >= 0
                    ? side->cells[(size_t)row_of[i] * side->ncols + c]
                    : NULL;
            tio_field f = {v, v ? strlen(v) : 0};
            if (ty == ASSAY_COL_INT64) {
                int64_t x = 0;
                if (v)
                    tio_parse_i64(f, &x);
                ((int64_t *)d)[i] = x;
            } else if (ty == ASSAY_COL_FLOAT64) {
                double x = NAN;
                if (v && f.len)
                    tio_parse_f64(f, &x);
                ((double *)d)[i] = x;
            } else if (v && f.len && host->table_set_str(t, ci, i, v, f.len)) {
                goto fail_nomem;
            }
        }
        ci++;
    }
    *out = t;
    t = NULL;
    goto done;

fail_nomem:
    rc = nomem(err);
done:
    if (t)
        host->table_free(t);
    free(keys);
    free(side_id);
    free(row_of);
    free(count);
    return rc;
}

static int inter_table(const assay_host *host, const inter_data *d,
                       assay_table **out, assay_error *err)
{
    assay_table *t = host->table_new(d->n);
    if (!t)
        return nomem(err);
    size_t ci = 0;
    for (int r = 0; r < 2; r++) {
        const int64_t *src = r == 0 ? d->user : d->item;
        const char *nm = role_names[r];
        if (d->ids[r].mode == ID_STR) {
            if (!host->table_add_col(t, nm, ASSAY_COL_STRING))
                goto fail;
            for (size_t i = 0; i < d->n; i++) {
                const char *k = tio_map_key(d->ids[r].map, src[i]);
                if (host->table_set_str(t, ci, i, k, strlen(k)))
                    goto fail;
            }
        } else {
            int64_t *dst = host->table_add_col(t, nm, ASSAY_COL_INT64);
            if (!dst)
                goto fail;
            if (d->n)
                memcpy(dst, src, d->n * sizeof *dst);
        }
        ci++;
    }
    if (d->has_rating) {
        double *dst = host->table_add_col(t, "rating", ASSAY_COL_FLOAT64);
        if (!dst)
            goto fail;
        if (d->n)
            memcpy(dst, d->rating, d->n * sizeof *dst);
    }
    if (d->has_time) {
        if (d->time_int) {
            int64_t *dst = host->table_add_col(t, "timestamp", ASSAY_COL_INT64);
            if (!dst)
                goto fail;
            for (size_t i = 0; i < d->n; i++)
                dst[i] = (int64_t)d->time[i];
        } else {
            double *dst =
                host->table_add_col(t, "timestamp", ASSAY_COL_FLOAT64);
            if (!dst)
                goto fail;
            if (d->n)
                memcpy(dst, d->time, d->n * sizeof *dst);
        }
    }
    *out = t;
    return ASSAY_OK;
fail:
    host->table_free(t);
    return nomem(err);
}

/* ---- the node ----------------------------------------------------------- */

/* Side file paths implied by the format (next to the main file). */
static void side_paths(int fmt, const char *path, char *item, char *user,
                       size_t sz)
{
    const char *b = base_name(path);
    int dirlen = (int)(b - path);
    item[0] = user[0] = '\0';
    switch (fmt) {
    case FMT_ML100K:
        snprintf(item, sz, "%.*su.item", dirlen, path);
        snprintf(user, sz, "%.*su.user", dirlen, path);
        break;
    case FMT_ML1M:
        snprintf(item, sz, "%.*smovies.dat", dirlen, path);
        snprintf(user, sz, "%.*susers.dat", dirlen, path);
        break;
    case FMT_MLLATEST:
        snprintf(item, sz, "%.*smovies.csv", dirlen, path);
        break;
    case FMT_ATOMIC: {
        const char *dot = strrchr(b, '.');
        int stem = (int)(dot ? (size_t)(dot - path) : strlen(path));
        snprintf(item, sz, "%.*s.item", stem, path);
        snprintf(user, sz, "%.*s.user", stem, path);
        break;
    }
    default:
        break;
    }
}

static tio_sep sep_of(int fmt, const char *path)
{
    switch (fmt) {
    case FMT_ML100K:
    case FMT_ATOMIC:
    case FMT_TSV:
        return TIO_TAB;
    case FMT_ML1M:
        return TIO_DCOLON;
    default:
        return ends_with(path, ".tsv") ? TIO_TAB : TIO_COMMA;
    }
}

/* Read the side file `path` of `role` for format `fmt`. */
static int read_side(int fmt, bool is_item, const char *path,
                     const char *id_name, side_data *s, assay_error *err)
{
    static const char *const ml100k_item[] = {"item", "title", "release_date",
                                              "video_release_date", "imdb_url"};
    static const char *const ml100k_user[] = {"user", "age", "gender",
                                              "occupation", "zip_code"};
    static const char *const ml1m_item[] = {"item", "title", "genres"};
    static const char *const ml1m_user[] = {"user", "gender", "age",
                                            "occupation", "zip_code"};
    switch (fmt) {
    case FMT_ML100K:
        return is_item ? side_read(path, TIO_PIPE, ml100k_item, 5, NULL, true,
                                   s, err)
                       : side_read(path, TIO_PIPE, ml100k_user, 5, NULL, false,
                                   s, err);
    case FMT_ML1M:
        return is_item ? side_read(path, TIO_DCOLON, ml1m_item, 3, NULL, false,
                                   s, err)
                       : side_read(path, TIO_DCOLON, ml1m_user, 5, NULL, false,
                                   s, err);
    default:
        return side_read(path, sep_of(fmt, path), NULL, 0, id_name, false, s,
                         err);
    }
}

static int src_run(void *state, assay_io *io, assay_error *err)
{
    src_cfg *c = state;
    const assay_host *host = c->host;
    char path[4096], ipath[4096], upath[4096], name[128];
    tio_file f = {0};
    inter_data d = {0};
    side_data sides[2] = {{0}, {0}};
    assay_table *tabs[3] = {NULL, NULL, NULL};
    json_t *info = NULL;
    layout lo = {0};
    int rc;

    if ((rc = host->resolve_path(host, assay_opt_str(c->opts, "path"), path,
                                 sizeof path, err)))
        return rc;
    const char *fs = assay_opt_str(c->opts, "format");
    int fmt = FMT_AUTO;
    for (int i = 0; fmt_names[i]; i++)
        if (fs && strcmp(fs, fmt_names[i]) == 0)
            fmt = i;
    if (fmt == FMT_AUTO)
        fmt = detect_format(path);
    const char *idopt = assay_opt_str(c->opts, "ids");
    int ids = idopt && strcmp(idopt, "dense") == 0  ? IDS_DENSE
              : idopt && strcmp(idopt, "keep") == 0 ? IDS_KEEP
                                                    : IDS_AUTO;
    if ((rc = tio_file_read(path, &f, err)))
        return rc;

    lo.sep = sep_of(fmt, path);
    lo.header = !(fmt == FMT_ML100K || fmt == FMT_ML1M);
    size_t data_start = f.pos, header_lines = 0;
    if (lo.header) {
        const char *line;
        size_t len;
        tio_field hf[64];
        if (!tio_next_line(&f, &line, &len)) {
            rc = assay_error_set(err, ASSAY_EDATA, "%s: empty file", path);
            goto done;
        }
        char *scratch = malloc(len + 1);
        if (!scratch)
            goto fail_nomem;
        size_t nh = tio_split(line, len, lo.sep, hf, 64, scratch);
        rc = header_layout(c, hf, nh < 64 ? nh : 64, path, &lo, err);
        free(scratch);
        if (rc)
            goto done;
        data_start = f.pos;
        header_lines = 1;
    } else {
        for (int r = 0; r < NROLES; r++)
            lo.col[r] = r;
    }
    finish_layout(&lo);

    for (int r = 0; r < 2; r++) {
        d.ids[r].mode = ids == IDS_DENSE ? ID_DENSE : ID_INT;
        if (d.ids[r].mode != ID_INT && !(d.ids[r].map = tio_map_new()))
            goto fail_nomem;
    }
    for (;;) {
        f.pos = data_start;
        f.line_no = header_lines;
        rc = read_rows(&f, &lo, path, &d, err);
        if (rc != 1)
            break;
        host->log(host, ASSAY_LOG_DEBUG,
                  "non-integer ids: re-reading with a string map");
    }
    if (rc)
        goto done;
    if (ids == IDS_KEEP)
        for (int r = 0; r < 2; r++)
            if (d.ids[r].mode == ID_DENSE)
                d.ids[r].mode = ID_STR;

    /* side information */
    bool want_side = assay_opt_bool(c->opts, "side_info");
    side_paths(fmt, path, ipath, upath, sizeof ipath);
    const char *opt_files[2] = {assay_opt_str(c->opts, "item_file"),
                                assay_opt_str(c->opts, "user_file")};
    char *side_path[2] = {ipath, upath};
    bool have_side[2] = {false, false};
    for (int r = 0; r < 2; r++) {
        int sfmt = fmt;
        if (opt_files[r]) {
            if ((rc = host->resolve_path(host, opt_files[r], side_path[r],
                                         sizeof ipath, err)))
                goto done;
            if (!file_exists(side_path[r])) {
                rc = assay_error_set(err, ASSAY_EIO, "%s: no such file",
                                     side_path[r]);
                goto done;
            }
            /* a named file is parsed by its own name */
            sfmt = strcmp(base_name(side_path[r]), "u.item") == 0 ||
                           strcmp(base_name(side_path[r]), "u.user") == 0
                       ? FMT_ML100K
                   : ends_with(side_path[r], ".dat") ? FMT_ML1M
                   : ends_with(side_path[r], ".item") ||
                           ends_with(side_path[r], ".user")
                       ? FMT_ATOMIC
                       : FMT_CSV;
        } else if (!want_side || !side_path[r][0] ||
                   !file_exists(side_path[r])) {
            continue;
        }
        /* the side id column is named like the interactions' one */
        name[0] = '\0';
        if (lo.header) {
            const char *line;
            size_t len;
            tio_field hf[64];
            f.pos = 0;
            tio_next_line(&f, &line, &len);
            char *scratch = malloc(len + 1);
            if (!scratch)
                goto fail_nomem;
            size_t nh = tio_split(line, len, lo.sep, hf, 64, scratch);
            if ((size_t)lo.col[r] < nh)
                header_name(hf[lo.col[r]], name, sizeof name);
            free(scratch);
        }
        if ((rc = read_side(sfmt, r == 0, side_path[r], name[0] ? name : NULL,
                            &sides[r], err)))
            goto done;
        have_side[r] = true;
    }
    /* sides[0] holds items, sides[1] users: swap into role order */
    if ((rc = inter_table(host, &d, &tabs[0], err)) ||
        (rc = entity_table(host, "item", d.item, d.n, &d.ids[1],
                           have_side[0] ? &sides[0] : NULL, &tabs[1], err)) ||
        (rc = entity_table(host, "user", d.user, d.n, &d.ids[0],
                           have_side[1] ? &sides[1] : NULL, &tabs[2], err)))
        goto done;

    info = json_pack("{s:s, s:s, s:I, s:I, s:I, s:s, s:s, s:b, s:b}", "path",
                     path, "format", fmt_names[fmt], "rows", (json_int_t)d.n,
                     "users", (json_int_t)tabs[2]->nrows, "items",
                     (json_int_t)tabs[1]->nrows, "user_ids",
                     d.ids[0].mode == ID_INT     ? "integer"
                     : d.ids[0].mode == ID_DENSE ? "dense"
                                                 : "string",
                     "item_ids",
                     d.ids[1].mode == ID_INT     ? "integer"
                     : d.ids[1].mode == ID_DENSE ? "dense"
                                                 : "string",
                     "rating", d.has_rating, "timestamp", d.has_time);
    if (!info)
        goto fail_nomem;
    if (have_side[0] &&
        json_object_set_new(info, "item_file", json_string(ipath)))
        goto fail_nomem;
    if (have_side[1] &&
        json_object_set_new(info, "user_file", json_string(upath)))
        goto fail_nomem;
    host->log(host, ASSAY_LOG_INFO,
              "%s: %zu interactions, %zu users, %zu "
              "items",
              path, d.n, tabs[2]->nrows, tabs[1]->nrows);

    static const char *const ports[3] = {"interactions", "items", "users"};
    for (int i = 0; i < 3; i++) {
        rc = host->out_table(io, ports[i], tabs[i], err);
        tabs[i] = NULL;
        if (rc)
            goto done;
    }
    rc = host->out_json(io, "info", info, err);
    info = NULL;
    goto done;

fail_nomem:
    rc = nomem(err);
done:
    for (int i = 0; i < 3; i++)
        if (tabs[i])
            host->table_free(tabs[i]);
    json_decref(info);
    side_free(&sides[0]);
    side_free(&sides[1]);
    inter_free(&d);
    tio_file_free(&f);
    return rc;
}

static int src_create(const assay_host *host, const json_t *options,
                      void **state, assay_error *err)
{
    src_cfg *c = calloc(1, sizeof *c);
    if (!c || !(c->opts = json_deep_copy(options))) {
        free(c);
        return nomem(err);
    }
    c->host = host;
    *state = c;
    return ASSAY_OK;
}

static void src_destroy(void *state)
{
    src_cfg *c = state;
    if (!c)
        return;
    json_decref(c->opts);
    free(c);
}

static const assay_port src_outputs[] = {
    {.name = "interactions",
     .type = ASSAY_T_TABLE,
     .doc = "one row per interaction: user, item[, rating][, timestamp]"},
    {.name = "items",
     .type = ASSAY_T_TABLE,
     .doc = "one row per item: item[, item_raw], n_interactions and the "
            "item side information"},
    {.name = "users",
     .type = ASSAY_T_TABLE,
     .doc = "one row per user: user[, user_raw], n_interactions and the "
            "user side information"},
    {.name = "info",
     .type = ASSAY_T_JSON,
     .doc = "what was read: path, format, counts, id handling, side files"},
    {0}};

static const assay_option src_options[] = {
    {.name = "path",
     .type = ASSAY_OPT_STRING,
     .required = true,
     .doc = "interaction file (relative paths start at the YAML's folder)"},
    {.name = "format",
     .type = ASSAY_OPT_ENUM,
     .def = "\"auto\"",
     .choices = "auto|ml-100k|ml-1m|ml-latest|atomic|csv|tsv",
     .doc = "file layout; auto decides by file name (u.data, *.dat, "
            "ratings.csv, *.inter, *.tsv, else csv)"},
    {.name = "ids",
     .type = ASSAY_OPT_ENUM,
     .def = "\"auto\"",
     .choices = "auto|keep|dense",
     .doc = "auto: integer ids kept, others mapped to dense integers; "
            "keep: ids as read (strings stay strings); dense: always "
            "0..n-1 in order of appearance, raw ids in items/users"},
    {.name = "user_col",
     .type = ASSAY_OPT_STRING,
     .doc = "header name of the user column (csv/tsv/atomic; default: "
            "guessed, e.g. user_id, userId)"},
    {.name = "item_col",
     .type = ASSAY_OPT_STRING,
     .doc = "header name of the item column (default: guessed, e.g. "
            "item_id, movieId, asin)"},
    {.name = "rating_col",
     .type = ASSAY_OPT_STRING,
     .doc = "header name of the rating column (default: guessed; "
            "optional)"},
    {.name = "time_col",
     .type = ASSAY_OPT_STRING,
     .doc = "header name of the timestamp column (default: guessed; "
            "optional)"},
    {.name = "side_info",
     .type = ASSAY_OPT_BOOL,
     .def = "true",
     .doc = "read the item/user files that sit next to the data (u.item, "
            "movies.dat, movies.csv, X.item, ...) when present"},
    {.name = "item_file",
     .type = ASSAY_OPT_STRING,
     .doc = "item side information file (u.item, movies.dat, *.item or a "
            "csv with a header)"},
    {.name = "user_file",
     .type = ASSAY_OPT_STRING,
     .doc = "user side information file (u.user, users.dat, *.user or a "
            "csv with a header)"},
    {0}};

static const assay_plugin src_plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "source.interactions",
    .kind = "source",
    .version = "1.0.0",
    .summary = "Interaction logs (MovieLens, RecBole atomic, CSV/TSV) as a "
               "table, with item and user side information",
    .doc = "Reads user-item interactions into the table every protocol.* and "
           "rec.* node takes: int64 `user` and `item`, float64 `rating` and "
           "`timestamp` (int64 when every value is an integer) when the file "
           "has them.\n"
           "Formats: MovieLens 100K `u.data` (tab: user, item, rating, "
           "timestamp), MovieLens 1M/10M `ratings.dat` (`::`), MovieLens "
           "latest/20M/25M `ratings.csv` (header userId,movieId,rating,"
           "timestamp), RecBole atomic files (`*.inter`, tab-separated header "
           "of `name:type`), and any CSV (RFC 4180 quoting) or TSV whose "
           "header names the columns (set user_col/item_col/... or let the "
           "usual names be recognised).\n"
           "Ids: integer ids are kept as they are; other ids (strings such as "
           "Amazon ASINs) are mapped to dense integers 0..n-1 in order of "
           "appearance, and the original strings go to the `item_raw` / "
           "`user_raw` columns of the `items` / `users` outputs (`ids: "
           "dense` forces the mapping, `ids: keep` keeps strings).\n"
           "Side information: the item and user files next to the data are "
           "read when present: u.item (title, release_date, "
           "video_release_date, imdb_url, and the 19 genre flags folded into "
           "a `genres` column joined by '|'), u.user (age, gender, "
           "occupation, zip_code), movies.dat, users.dat, movies.csv, "
           "RecBole `.item`/`.user`. Latin-1 text is converted to UTF-8. Each "
           "side column becomes int64, float64 or string by its values. Rows "
           "of `items`/`users` cover every id of the data and of the side "
           "file, with `n_interactions` counted from the data.\n"
           "Duplicate interactions are kept; filter them with protocol "
           "nodes. Download MovieLens with examples/download-movielens.sh.",
    .outputs = src_outputs,
    .options = src_options,
    .flags = ASSAY_F_DETERMINISTIC | ASSAY_F_CHEAP,
    .create = src_create,
    .run = src_run,
    .destroy = src_destroy,
};

static const assay_plugin *const src_list[] = {&src_plugin, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi)
{
    (void)host_abi;
    return src_list;
}
