/*
 * source.jsonl - read records from a JSON Lines file.
 */
#include <assay/plugin.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct state {
    const assay_host *host;
    char path[4096];
    int64_t limit;
    bool skip_bad;
} state;

static const assay_port outputs[] = {
    {.name = "records", .type = ASSAY_T_RECORDS,
     .doc = "one record per non-empty line, in file order"},
    {0}};

static const assay_option options[] = {
    {.name = "path", .type = ASSAY_OPT_STRING, .required = true,
     .doc = "file to read (relative paths are relative to the YAML file)"},
    {.name = "limit", .type = ASSAY_OPT_INT, .def = "0", .has_min = true,
     .min = 0, .doc = "read at most this many records (0: all)"},
    {.name = "skip_invalid", .type = ASSAY_OPT_BOOL, .def = "false",
     .doc = "skip (and count) lines that are not JSON objects instead of "
            "failing"},
    {0}};

static int jl_create(const assay_host *h, const json_t *opts, void **st,
                     assay_error *err)
{
    state *s = calloc(1, sizeof *s);
    if (!s)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    s->host = h;
    s->limit = assay_opt_int(opts, "limit");
    s->skip_bad = assay_opt_bool(opts, "skip_invalid");
    int rc = h->resolve_path(h, assay_opt_str(opts, "path"), s->path,
                             sizeof s->path, err);
    if (rc) {
        free(s);
        return rc;
    }
    *st = s;
    return 0;
}

static int jl_run(void *st, assay_io *io, assay_error *err)
{
    state *s = st;
    const assay_host *h = s->host;
    FILE *f = fopen(s->path, "rb");
    if (!f)
        return assay_error_set(err, ASSAY_EIO, "%s: cannot open: %s",
                               s->path, strerror(errno));
    json_t *arr = json_array();
    char *line = NULL;
    size_t cap = 0, lineno = 0, skipped = 0;
    ssize_t len;
    int rc = arr ? 0 : ASSAY_ENOMEM;
    while (!rc && (len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        size_t lead = strspn(line, " \t");
        if ((size_t)len == lead)
            continue;
        json_error_t je;
        json_t *r = json_loadb(line, (size_t)len, 0, &je);
        if (!r || !json_is_object(r)) {
            json_decref(r);
            if (s->skip_bad) {
                skipped++;
                continue;
            }
            rc = assay_error_set(err, ASSAY_EDATA, "%s:%zu:%d: %s", s->path,
                                 lineno, r ? 1 : je.column,
                                 r ? "expected a JSON object" : je.text);
            break;
        }
        if (json_array_append_new(arr, r))
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        if (s->limit && (int64_t)json_array_size(arr) >= s->limit)
            break;
        if ((lineno & 4095) == 0) {
            h->progress(h, lineno, 0, "lines");
            if (h->cancelled(h))
                rc = assay_error_set(err, ASSAY_ECANCELED, "cancelled");
        }
    }
    if (!rc && ferror(f))
        rc = assay_error_set(err, ASSAY_EIO, "%s: read error", s->path);
    free(line);
    fclose(f);
    if (rc) {
        json_decref(arr);
        return rc;
    }
    if (skipped)
        h->log(h, ASSAY_LOG_WARN, "%s: skipped %zu invalid lines", s->path,
               skipped);
    return h->out_records(io, "records", arr, err);
}

static void jl_destroy(void *st)
{
    free(st);
}

static const assay_plugin source_jsonl = {
    ASSAY_PLUGIN_HEADER,
    .name = "source.jsonl",
    .kind = "source",
    .version = "1.0.0",
    .summary = "Read records from a JSON Lines file",
    .doc = "Reads a JSON Lines file (one JSON object per line; blank lines "
           "are ignored) into records.\nA line that is not a JSON object "
           "fails the node with file:line:column, unless skip_invalid is "
           "set.",
    .outputs = outputs,
    .options = options,
    .flags = ASSAY_F_DETERMINISTIC | ASSAY_F_CHEAP | ASSAY_F_NO_CACHE,
    .create = jl_create,
    .run = jl_run,
    .destroy = jl_destroy,
};

static const assay_plugin *const list[] = {&source_jsonl, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi)
{
    (void)host_abi;
    return list;
}
