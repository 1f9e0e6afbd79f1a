/*
 * sink.jsonl - write records to a JSON Lines file.
 */
#include <assay/plugin.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/sinkpath.h"

typedef struct state {
    const assay_host *host;
    char path[4096];
} state;

static const assay_port inputs[] = {
    {.name = "items", .type = ASSAY_T_RECORDS, .required = true,
     .doc = "records to write"},
    {0}};

static const assay_option options[] = {
    {.name = "path", .type = ASSAY_OPT_STRING, .required = true,
     .doc = "output file, relative to the run directory"},
    {.name = "allow_outside", .type = ASSAY_OPT_BOOL, .def = "false",
     .doc = "allow an absolute path or '..' (writing outside the run "
            "directory)"},
    {0}};

static int create(const assay_host *h, const json_t *opts, void **st,
                  assay_error *err)
{
    state *s = calloc(1, sizeof *s);
    if (!s)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    s->host = h;
    *st = s;
    return sink_resolve_path(h, assay_opt_str(opts, "path"),
                             assay_opt_bool(opts, "allow_outside"), s->path,
                             sizeof s->path, err);
}

static int run(void *st, assay_io *io, assay_error *err)
{
    state *s = st;
    const json_t *items = s->host->in_records(io, "items");
    if (!items)
        return assay_error_set(err, ASSAY_EDATA, "input 'items' missing");
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", s->path, (long)getpid());
    FILE *f = sink_open_tmp(tmp);
    if (!f)
        return assay_error_set(err, ASSAY_EIO, "%s: cannot create: %s", tmp,
                               strerror(errno));
    int rc = 0;
    for (size_t i = 0; i < json_array_size(items) && !rc; i++) {
        if (json_dumpf(json_array_get(items, i), f,
                       JSON_COMPACT | JSON_REAL_PRECISION(17)) ||
            fputc('\n', f) == EOF)
            rc = ASSAY_EIO;
    }
    if (fclose(f) != 0)
        rc = ASSAY_EIO;
    if (!rc && rename(tmp, s->path) != 0)
        rc = ASSAY_EIO;
    if (rc) {
        unlink(tmp);
        return assay_error_set(err, rc, "%s: write failed", s->path);
    }
    s->host->log(s->host, ASSAY_LOG_INFO, "wrote %zu records to %s",
                 json_array_size(items), s->path);
    return 0;
}

static void destroy(void *st)
{
    free(st);
}

static const assay_plugin sink_jsonl = {
    ASSAY_PLUGIN_HEADER,
    .name = "sink.jsonl",
    .kind = "sink",
    .version = "1.0.0",
    .summary = "Write records to a JSON Lines file",
    .doc = "Writes each record as one compact JSON line (doubles with 17 "
           "significant digits), atomically (temp file + rename).  Paths "
           "are relative to the run directory; absolute paths and '..' "
           "need allow_outside: true.",
    .inputs = inputs,
    .options = options,
    .flags = ASSAY_F_SIDE_EFFECTS | ASSAY_F_ALL_ITEMS,
    .create = create,
    .run = run,
    .destroy = destroy,
};

static const assay_plugin *const list[] = {&sink_jsonl, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi)
{
    (void)host_abi;
    return list;
}
