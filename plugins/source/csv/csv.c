/*
 * source.csv - read a CSV/TSV file (RFC 4180 quoting) into a table with
 * typed columns.
 */
#include <assay/plugin.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct state {
    const assay_host *host;
    char path[4096];
    char delim;
    bool header;
    const json_t *types; /* borrowed copy below */
    json_t *types_own;
    int64_t limit;
} state;

/* A parsed file: cells as (offset, length) into the text, row-major. */
typedef struct cell {
    size_t off, len;
    bool quoted;
} cell;

typedef struct grid {
    char *text; /* unescaped cell bytes */
    size_t tlen, tcap;
    cell *cells;
    size_t ncells, ccap;
    size_t *row_start; /* index of each row's first cell */
    size_t nrows, rcap;
} grid;

static int push_byte(grid *g, char c)
{
    if (g->tlen == g->tcap) {
        size_t cap = g->tcap ? g->tcap * 2 : 4096;
        char *t = realloc(g->text, cap);
        if (!t)
            return ASSAY_ENOMEM;
        g->text = t;
        g->tcap = cap;
    }
    g->text[g->tlen++] = c;
    return 0;
}

static int push_cell(grid *g, size_t off, bool quoted)
{
    if (g->ncells == g->ccap) {
        size_t cap = g->ccap ? g->ccap * 2 : 1024;
        cell *c = realloc(g->cells, cap * sizeof *c);
        if (!c)
            return ASSAY_ENOMEM;
        g->cells = c;
        g->ccap = cap;
    }
    g->cells[g->ncells].off = off;
    g->cells[g->ncells].len = g->tlen - off;
    g->cells[g->ncells].quoted = quoted;
    g->ncells++;
    return push_byte(g, '\0');
}

static int push_row(grid *g, size_t first)
{
    if (g->nrows == g->rcap) {
        size_t cap = g->rcap ? g->rcap * 2 : 256;
        size_t *r = realloc(g->row_start, cap * sizeof *r);
        if (!r)
            return ASSAY_ENOMEM;
        g->row_start = r;
        g->rcap = cap;
    }
    g->row_start[g->nrows++] = first;
    return 0;
}

/* Parse `data` into `g`; errors name line numbers. */
static int parse(const char *data, size_t n, char delim, grid *g,
                 const char *path, int64_t limit, assay_error *err)
{
    size_t i = 0, line = 1;
    while (i < n) {
        /* one record */
        size_t first = g->ncells;
        size_t rec_line = line;
        for (;;) {
            size_t off = g->tlen;
            bool quoted = false;
            if (i < n && data[i] == '"') {
                quoted = true;
                i++;
                for (;;) {
                    if (i >= n)
                        return assay_error_set(err, ASSAY_EDATA,
                                               "%s:%zu: unterminated quoted "
                                               "field",
                                               path, rec_line);
                    if (data[i] == '"') {
                        if (i + 1 < n && data[i + 1] == '"') {
                            if (push_byte(g, '"'))
                                return ASSAY_ENOMEM;
                            i += 2;
                            continue;
                        }
                        i++;
                        break;
                    }
                    if (data[i] == '\n')
                        line++;
                    if (push_byte(g, data[i++]))
                        return ASSAY_ENOMEM;
                }
                if (i < n && data[i] != delim && data[i] != '\n' &&
                    data[i] != '\r')
                    return assay_error_set(err, ASSAY_EDATA,
                                           "%s:%zu: unexpected character "
                                           "after a closing quote",
                                           path, line);
            } else {
                while (i < n && data[i] != delim && data[i] != '\n' &&
                       data[i] != '\r')
                    if (push_byte(g, data[i++]))
                        return ASSAY_ENOMEM;
            }
            if (push_cell(g, off, quoted))
                return ASSAY_ENOMEM;
            if (i < n && data[i] == delim) {
                i++;
                continue;
            }
            break;
        }
        if (i < n && data[i] == '\r')
            i++;
        if (i < n && data[i] == '\n')
            i++;
        line++;
        /* a blank line is one empty unquoted cell: skip it */
        if (g->ncells - first == 1 && g->cells[first].len == 0 &&
            !g->cells[first].quoted) {
            g->ncells = first;
            continue;
        }
        if (push_row(g, first))
            return ASSAY_ENOMEM;
        if (limit && g->nrows >= (size_t)limit + 1)
            break;
    }
    return 0;
}

static void grid_free(grid *g)
{
    free(g->text);
    free(g->cells);
    free(g->row_start);
}

static const assay_port outputs[] = {
    {.name = "table", .type = ASSAY_T_TABLE,
     .doc = "the rows, with int64 / float64 / string columns"},
    {0}};

static const assay_option options[] = {
    {.name = "path", .type = ASSAY_OPT_STRING, .required = true,
     .doc = "file to read (relative to the YAML file)"},
    {.name = "delimiter", .type = ASSAY_OPT_STRING, .def = "\",\"",
     .doc = "field separator: one character, or \"\\t\" / \"tab\" for TSV"},
    {.name = "header", .type = ASSAY_OPT_BOOL, .def = "true",
     .doc = "the first row names the columns (else col1, col2, ...)"},
    {.name = "types", .type = ASSAY_OPT_OBJECT, .def = "{}",
     .doc = "force column types: {column: int64|float64|string}; others "
            "are inferred"},
    {.name = "limit", .type = ASSAY_OPT_INT, .def = "0", .has_min = true,
     .min = 0, .doc = "read at most this many data rows (0: all)"},
    {0}};

static int csv_create(const assay_host *h, const json_t *opts, void **st,
                      assay_error *err)
{
    const char *d = assay_opt_str(opts, "delimiter");
    char delim;
    if (!strcmp(d, "\\t") || !strcmp(d, "tab") || !strcmp(d, "\t"))
        delim = '\t';
    else if (strlen(d) == 1 && d[0] != '"' && d[0] != '\n' && d[0] != '\r')
        delim = d[0];
    else
        return assay_error_set(err, ASSAY_EINVAL,
                               "option 'delimiter' must be one character "
                               "(not a quote or newline), got '%s'",
                               d);
    const json_t *types = json_object_get(opts, "types");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)types, k, v)
    {
        const char *t = json_string_value(v);
        if (!t || (strcmp(t, "int64") && strcmp(t, "float64") &&
                   strcmp(t, "string")))
            return assay_error_set(err, ASSAY_EINVAL,
                                   "option 'types': column '%s' must be "
                                   "int64, float64 or string",
                                   k);
    }
    state *s = calloc(1, sizeof *s);
    if (!s)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    s->host = h;
    s->delim = delim;
    s->header = assay_opt_bool(opts, "header");
    s->limit = assay_opt_int(opts, "limit");
    s->types_own = json_deep_copy(types);
    s->types = s->types_own;
    int rc = h->resolve_path(h, assay_opt_str(opts, "path"), s->path,
                             sizeof s->path, err);
    if (rc) {
        json_decref(s->types_own);
        free(s);
        return rc;
    }
    *st = s;
    return 0;
}

static bool parse_i64(const char *s, int64_t *out)
{
    if (!*s)
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

static bool parse_f64(const char *s, double *out)
{
    if (!*s)
        return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || errno == ERANGE)
        return false;
    *out = v;
    return true;
}

static int read_file(const char *path, char **data, size_t *len,
                     assay_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return assay_error_set(err, ASSAY_EIO, "%s: cannot open: %s", path,
                               strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    if (bad) {
        free(buf);
        return assay_error_set(err, ASSAY_EIO, "%s: read error", path);
    }
    *data = buf;
    *len = n;
    return 0;
}

static int csv_run(void *st, assay_io *io, assay_error *err)
{
    state *s = st;
    const assay_host *h = s->host;
    char *data = NULL;
    size_t len = 0;
    int rc = read_file(s->path, &data, &len, err);
    if (rc)
        return rc;
    size_t skip = 0;
    if (len >= 3 && (unsigned char)data[0] == 0xEF &&
        (unsigned char)data[1] == 0xBB && (unsigned char)data[2] == 0xBF)
        skip = 3; /* UTF-8 byte order mark */
    grid g = {0};
    rc = parse(data + skip, len - skip, s->delim, &g, s->path, s->limit, err);
    free(data);
    if (rc) {
        if (rc == ASSAY_ENOMEM)
            assay_error_set(err, rc, "out of memory reading %s", s->path);
        grid_free(&g);
        return rc;
    }
    if (g.nrows == 0) {
        grid_free(&g);
        return assay_error_set(err, ASSAY_EDATA, "%s: the file is empty",
                               s->path);
    }
    size_t ncols = (g.nrows > 1 ? g.row_start[1] : g.ncells) -
                   g.row_start[0];
    size_t first = s->header ? 1 : 0;
    size_t nrows = g.nrows - first;
    for (size_t r = 0; r < g.nrows; r++) {
        size_t end = r + 1 < g.nrows ? g.row_start[r + 1] : g.ncells;
        if (end - g.row_start[r] != ncols) {
            rc = assay_error_set(err, ASSAY_EDATA,
                                 "%s: row %zu has %zu fields, the first row "
                                 "has %zu",
                                 s->path, r + 1, end - g.row_start[r], ncols);
            grid_free(&g);
            return rc;
        }
    }
    assay_table *t = h->table_new(nrows);
    if (!t) {
        grid_free(&g);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    for (size_t c = 0; c < ncols && !rc; c++) {
        char name[256];
        if (s->header) {
            const cell *hc = &g.cells[g.row_start[0] + c];
            snprintf(name, sizeof name, "%s", g.text + hc->off);
            if (!name[0])
                snprintf(name, sizeof name, "col%zu", c + 1);
        } else
            snprintf(name, sizeof name, "col%zu", c + 1);
        /* infer: int64 if every non-empty cell is an integer, float64 if
         * every one is a number, else string */
        const char *forced = json_string_value(json_object_get(s->types,
                                                                name));
        bool all_int = true, all_num = true, any = false;
        for (size_t r = first; r < g.nrows && (all_int || all_num); r++) {
            const cell *ce = &g.cells[g.row_start[r] + c];
            const char *v = g.text + ce->off;
            if (!*v)
                continue;
            any = true;
            int64_t i;
            double d;
            if (ce->quoted || !parse_i64(v, &i))
                all_int = false;
            if (ce->quoted || !parse_f64(v, &d))
                all_num = false;
        }
        bool empty_cells = false;
        for (size_t r = first; r < g.nrows; r++)
            if (!g.text[g.cells[g.row_start[r] + c].off])
                empty_cells = true;
        assay_col_type ty = !any             ? ASSAY_COL_STRING
                            : all_int && !empty_cells ? ASSAY_COL_INT64
                            : all_num       ? ASSAY_COL_FLOAT64
                                            : ASSAY_COL_STRING;
        if (forced)
            ty = !strcmp(forced, "int64")     ? ASSAY_COL_INT64
                 : !strcmp(forced, "float64") ? ASSAY_COL_FLOAT64
                                              : ASSAY_COL_STRING;
        void *col = h->table_add_col(t, name, ty);
        if (!col) {
            rc = assay_error_set(err, ASSAY_EDATA,
                                 "%s: duplicate column name '%s'", s->path,
                                 name);
            break;
        }
        size_t ci = t->ncols - 1;
        for (size_t r = first; r < g.nrows && !rc; r++) {
            const cell *ce = &g.cells[g.row_start[r] + c];
            const char *v = g.text + ce->off;
            size_t row = r - first;
            if (ty == ASSAY_COL_STRING) {
                if (h->table_set_str(t, ci, row, v, ce->len))
                    rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            } else if (ty == ASSAY_COL_INT64) {
                if (!parse_i64(v, &((int64_t *)col)[row]))
                    rc = assay_error_set(err, ASSAY_EDATA,
                                         "%s: row %zu, column '%s': '%s' is "
                                         "not an integer",
                                         s->path, r + 1, name, v);
            } else {
                double d = NAN;
                if (*v && !parse_f64(v, &d))
                    rc = assay_error_set(err, ASSAY_EDATA,
                                         "%s: row %zu, column '%s': '%s' is "
                                         "not a number",
                                         s->path, r + 1, name, v);
                ((double *)col)[row] = d;
            }
        }
    }
    grid_free(&g);
    if (rc) {
        h->table_free(t);
        return rc;
    }
    return h->out_table(io, "table", t, err);
}

static void csv_destroy(void *st)
{
    state *s = st;
    if (s)
        json_decref(s->types_own);
    free(s);
}

static const assay_plugin source_csv = {
    ASSAY_PLUGIN_HEADER,
    .name = "source.csv",
    .kind = "source",
    .version = "1.0.0",
    .summary = "Read a CSV or TSV file into a typed table",
    .doc = "Parses RFC 4180 CSV (quoted fields may contain the delimiter, "
           "doubled quotes and newlines; CRLF or LF line ends; a UTF-8 BOM "
           "is ignored; blank lines are skipped).\nColumn types are "
           "inferred: int64 when every cell is an integer, float64 when "
           "every non-empty cell is a number (empty cells become missing "
           "values), string otherwise; quoted cells always count as text. "
           "`types:` forces a column's type.\nRows with a different number "
           "of fields than the first fail with the row number.",
    .outputs = outputs,
    .options = options,
    .flags = ASSAY_F_DETERMINISTIC | ASSAY_F_CHEAP | ASSAY_F_NO_CACHE,
    .create = csv_create,
    .run = csv_run,
    .destroy = csv_destroy,
};

static const assay_plugin *const list[] = {&source_csv, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi)
{
    (void)host_abi;
    return list;
}
