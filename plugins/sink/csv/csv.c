/*
 * sink.csv - write a table (or records) as RFC 4180 CSV.
 */
#include <assay/plugin.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/sinkpath.h"

typedef struct state {
    const assay_host *host;
    char path[4096];
    char delim;
} state;

static const assay_port inputs[] = {
    {.name = "table", .type = ASSAY_T_TABLE, .required = true,
     .doc = "rows to write (records are converted to a table)"},
    {0}};

static const assay_option options[] = {
    {.name = "path", .type = ASSAY_OPT_STRING, .required = true,
     .doc = "output file, relative to the run directory"},
    {.name = "delimiter", .type = ASSAY_OPT_ENUM, .def = "\",\"",
     .choices = ",|;|tab", .doc = "field separator"},
    {.name = "allow_outside", .type = ASSAY_OPT_BOOL, .def = "false",
     .doc = "allow an absolute path or '..'"},
    {0}};

static int create(const assay_host *h, const json_t *opts, void **st,
                  assay_error *err)
{
    state *s = calloc(1, sizeof *s);
    if (!s)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    s->host = h;
    const char *d = assay_opt_str(opts, "delimiter");
    s->delim = strcmp(d, "tab") == 0 ? '\t' : d[0];
    *st = s;
    return sink_resolve_path(h, assay_opt_str(opts, "path"),
                             assay_opt_bool(opts, "allow_outside"), s->path,
                             sizeof s->path, err);
}

/* Would source.csv read this unquoted text back as a number? */
static bool looks_numeric(const char *v)
{
    if (!*v)
        return false;
    char *end;
    errno = 0;
    (void)strtod(v, &end);
    return *end == '\0';
}

/* `text`: a string cell, quoted when needed to read back as the same
 * string (numbers-as-text like "007", the empty string). */
static void put_field(FILE *f, const char *v, char delim, bool text)
{
    bool quote = strchr(v, delim) || strchr(v, '"') || strchr(v, '\n') ||
                 strchr(v, '\r') ||
                 (*v && (v[0] == ' ' || v[strlen(v) - 1] == ' ')) ||
                 (text && (!*v || looks_numeric(v)));
    if (!quote) {
        fputs(v, f);
        return;
    }
    fputc('"', f);
    for (const char *p = v; *p; p++) {
        if (*p == '"')
            fputc('"', f);
        fputc(*p, f);
    }
    fputc('"', f);
}

static int run(void *st, assay_io *io, assay_error *err)
{
    state *s = st;
    const assay_table *t = s->host->in_table(io, "table");
    if (!t)
        return assay_error_set(err, ASSAY_EDATA,
                               "input 'table' could not be read as a table");
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", s->path, (long)getpid());
    FILE *f = sink_open_tmp(tmp);
    if (!f)
        return assay_error_set(err, ASSAY_EIO, "%s: cannot create: %s", tmp,
                               strerror(errno));
    for (size_t c = 0; c < t->ncols; c++) {
        if (c)
            fputc(s->delim, f);
        put_field(f, t->cols[c].name, s->delim, false);
    }
    fputs("\r\n", f);
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const assay_column *col = &t->cols[c];
            if (c)
                fputc(s->delim, f);
            if (col->type == ASSAY_COL_INT64)
                fprintf(f, "%" PRId64, assay_col_i64(col)[r]);
            else if (col->type == ASSAY_COL_FLOAT64) {
                double d = assay_col_f64(col)[r];
                if (isfinite(d))
                    fprintf(f, "%.17g", d);
            } else {
                const char *v = assay_col_str(col)[r];
                if (v)
                    put_field(f, v, s->delim, true);
            }
        }
        fputs("\r\n", f);
    }
    int rc = ferror(f) ? ASSAY_EIO : 0;
    if (fclose(f) != 0)
        rc = ASSAY_EIO;
    if (!rc && rename(tmp, s->path) != 0)
        rc = ASSAY_EIO;
    if (rc) {
        unlink(tmp);
        return assay_error_set(err, rc, "%s: write failed", s->path);
    }
    return 0;
}

static void destroy(void *st)
{
    free(st);
}

static const assay_plugin sink_csv = {
    ASSAY_PLUGIN_HEADER,
    .name = "sink.csv",
    .kind = "sink",
    .version = "1.0.0",
    .summary = "Write a table as CSV",
    .doc = "Writes a header row and one row per table row (CRLF line ends, "
           "fields quoted when they contain the delimiter, quotes, "
           "newlines or edge spaces, and text that would read back as a "
           "number or as missing (\"007\", \"\"); missing values are "
           "empty fields; "
           "doubles with 17 significant digits).  Paths are relative to "
           "the run directory.",
    .inputs = inputs,
    .options = options,
    .flags = ASSAY_F_SIDE_EFFECTS | ASSAY_F_ALL_ITEMS,
    .create = create,
    .run = run,
    .destroy = destroy,
};

static const assay_plugin *const list[] = {&sink_csv, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi)
{
    (void)host_abi;
    return list;
}
