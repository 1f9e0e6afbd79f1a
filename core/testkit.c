/*
 * In-process runner for plugin unit tests: the real loader, option
 * validation, host vtable and value conversions, without a graph or a run
 * directory.
 */
#include "testkit.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "hostapi.h"
#include "options.h"
#include "registry.h"
#include "table.h"
#include "value.h"

/* Registries stay alive (and reachable, so leak checkers stay quiet) until
 * the test process exits: the descriptors they return point into them. */
static registry *loaded[64];
static size_t nloaded;

const assay_plugin *assay_testkit_load(const char *so_path, const char *name,
                                       assay_error *err)
{
    registry *r = nloaded < 64 ? registry_new() : NULL;
    if (r)
        loaded[nloaded++] = r;
    if (!r) {
        assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        return NULL;
    }
    if (!so_path) {
        assay_error_set(err, ASSAY_EINVAL, "no plugin path (is PLUGIN set?)");
        return NULL;
    }
    if (registry_load_file(r, so_path, err))
        return NULL;
    const plugin_entry *e = registry_find(r, name);
    if (!e) {
        assay_error_set(err, ASSAY_EINVAL, "%s does not provide '%s'",
                        so_path, name);
        return NULL;
    }
    return &e->desc;
}

static long port_index(const assay_port *ports, const char *name)
{
    for (long i = 0; ports && ports[i].name; i++)
        if (strcmp(ports[i].name, name) == 0)
            return i;
    return -1;
}

int assay_testkit_run_tables(const assay_plugin *p, const char *options_json,
                             const json_t *inputs,
                             const assay_testkit_tables *in_tables,
                             json_t **outputs,
                             assay_testkit_tables *out_tables,
                             assay_error *err)
{
    static const atomic_bool never = false;
    json_t *given = NULL;
    if (options_json && *options_json) {
        json_error_t je;
        given = json_loads(options_json, 0, &je);
        if (!given)
            return assay_error_set(err, ASSAY_EINVAL, "options: %s",
                                   je.text);
    }
    diag d = {0};
    json_t *opts = NULL;
    int rc = options_resolve(p, given, NULL, "options", 0, 0, "node 'test'",
                             &d, &opts);
    json_decref(given);
    if (rc) {
        char buf[1024];
        diag_first(&d, buf, sizeof buf);
        diag_free(&d);
        return assay_error_set(err, ASSAY_EINVAL, "%s", buf);
    }
    diag_free(&d);
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        snprintf(cwd, sizeof cwd, ".");
    node_ctx *nc = calloc(1, sizeof *nc);
    if (!nc) {
        json_decref(opts);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    const char *th = getenv("ASSAY_THREADS");
    node_ctx_init(nc, "test", p, 42, th ? (unsigned)strtoul(th, NULL, 10) : 2,
                  cwd, NULL, NULL, &never);
    nc->echo_level = ASSAY_LOG_WARN;
    assay_io *io = io_new(nc, p);
    if (!io) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)inputs, k, v)
    {
        long i = port_index(p->inputs, k);
        if (i < 0) {
            rc = assay_error_set(err, ASSAY_EINVAL, "no input port '%s'", k);
            goto out;
        }
        assay_type t = p->inputs[i].type;
        if (t == ASSAY_T_ANY)
            t = json_is_array(v) ? ASSAY_T_RECORDS : ASSAY_T_JSON;
        io->in[i] = value_new_json(t == ASSAY_T_JSON ? ASSAY_T_JSON
                                                     : ASSAY_T_RECORDS,
                                   json_incref(v));
    }
    for (size_t t = 0; in_tables && t < in_tables->n; t++) {
        long i = port_index(p->inputs, in_tables->ports[t]);
        if (i < 0) {
            rc = assay_error_set(err, ASSAY_EINVAL, "no input port '%s'",
                                 in_tables->ports[t]);
            goto out;
        }
        value_unref(io->in[i]);
        io->in[i] = value_new_table(table_copy(in_tables->tables[t]));
    }
    rc = exec_plugin(nc, opts, io, NULL, err);
    if (rc)
        goto out;
    json_t *res = json_object();
    if (out_tables)
        out_tables->n = 0;
    for (size_t i = 0; i < io->nout; i++) {
        value *ov = io->out[i];
        const char *name = p->outputs[i].name;
        if (value_type(ov) == ASSAY_T_TABLE && out_tables &&
            out_tables->n < 16) {
            out_tables->ports[out_tables->n] = name;
            out_tables->tables[out_tables->n++] =
                table_copy(value_table(ov, NULL));
            continue;
        }
        const json_t *j = value_type(ov) == ASSAY_T_JSON
                              ? value_json(ov)
                              : value_records(ov, err);
        if (!j) {
            json_decref(res);
            rc = err->code ? err->code : ASSAY_ENOMEM;
            goto out;
        }
        json_object_set(res, name, (json_t *)j);
    }
    *outputs = res;
out:
    io_free(io);
    node_ctx_cleanup(nc);
    free(nc);
    json_decref(opts);
    return rc;
}

int assay_testkit_run(const assay_plugin *p, const char *options_json,
                      const json_t *inputs, json_t **outputs,
                      assay_error *err)
{
    return assay_testkit_run_tables(p, options_json, inputs, NULL, outputs,
                                    NULL, err);
}

assay_table *assay_testkit_table_new(size_t nrows)
{
    return table_new(nrows);
}

void *assay_testkit_table_add_col(assay_table *t, const char *name,
                                  assay_col_type type)
{
    return table_add_col(t, name, type);
}

int assay_testkit_table_set_str(assay_table *t, size_t col, size_t row,
                                const char *s, size_t len)
{
    return table_set_str(t, col, row, s, len);
}

void assay_testkit_table_free(assay_table *t)
{
    table_free(t);
}
