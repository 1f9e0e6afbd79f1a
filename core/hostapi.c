#include "hostapi.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "llm/llm.h"
#include "sha256.h"
#include "table.h"
#include "util.h"

static node_ctx *ctx_of(const assay_host *h)
{
    return (node_ctx *)h->ctx;
}

static const char *level_name(int level)
{
    switch (level) {
    case ASSAY_LOG_ERROR: return "error";
    case ASSAY_LOG_WARN: return "warning";
    case ASSAY_LOG_INFO: return "info";
    default: return "debug";
    }
}

static void h_log(const assay_host *h, int level, const char *fmt, ...)
{
    node_ctx *nc = ctx_of(h);
    char msg[2048], line[2200], ts[32];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    util_iso_time(ts);
    snprintf(line, sizeof line, "%s: %s: %s", nc->name, level_name(level),
             msg);
    if (nc->log) {
        if (nc->log_lock)
            pthread_mutex_lock(nc->log_lock);
        fprintf(nc->log, "%s %s\n", ts, line);
        fflush(nc->log);
        if (nc->log_lock)
            pthread_mutex_unlock(nc->log_lock);
    }
    if (level <= nc->echo_level) {
        if (nc->echo)
            nc->echo(nc->echo_ud, line);
        else
            fprintf(stderr, "%s\n", line);
    }
}

static void h_progress(const assay_host *h, uint64_t done, uint64_t total,
                       const char *unit)
{
    node_ctx *nc = ctx_of(h);
    atomic_store(&nc->prog_done, done);
    atomic_store(&nc->prog_total, total);
    if (unit && strcmp(nc->prog_unit, unit) != 0) {
        /* a benign race at worst shows a torn unit for one redraw */
        snprintf(nc->prog_unit, sizeof nc->prog_unit, "%s", unit);
    }
    atomic_store(&nc->prog_seen, true);
}

static bool h_cancelled(const assay_host *h)
{
    node_ctx *nc = ctx_of(h);
    return nc->cancel && atomic_load(nc->cancel);
}

uint64_t hostapi_seed(uint64_t run_seed, const char *node,
                      const char *stream)
{
    sha256_ctx c;
    uint8_t d[32];
    sha256_init(&c);
    sha256_update(&c, "assay-seed-v1", 13);
    sha256_update(&c, &run_seed, sizeof run_seed);
    sha256_update(&c, node, strlen(node) + 1);
    if (stream)
        sha256_update(&c, stream, strlen(stream));
    sha256_final(&c, d);
    uint64_t s = 0;
    for (int i = 0; i < 8; i++)
        s = s << 8 | d[i];
    return s;
}

static uint64_t h_seed(const assay_host *h, const char *stream)
{
    node_ctx *nc = ctx_of(h);
    return hostapi_seed(nc->run_seed, nc->name, stream);
}

static const char *h_path(const assay_host *h, int which)
{
    node_ctx *nc = ctx_of(h);
    switch (which) {
    case ASSAY_PATH_CONFIG_DIR: return nc->config_dir;
    case ASSAY_PATH_RUN_DIR: return nc->run_dir;
    case ASSAY_PATH_NODE_DIR: return nc->node_dir[0] ? nc->node_dir : NULL;
    case ASSAY_PATH_SCRATCH_DIR:
        if (!nc->scratch_dir[0]) {
            char tmpl[PATH_MAX];
            const char *base = nc->node_dir[0] ? nc->node_dir : NULL;
            if (base)
                snprintf(tmpl, sizeof tmpl, "%s/.scratch-XXXXXX", base);
            else {
                const char *t = getenv("TMPDIR");
                snprintf(tmpl, sizeof tmpl, "%s/assay-scratch-XXXXXX",
                         t && *t ? t : "/tmp");
            }
            if (!mkdtemp(tmpl))
                return NULL;
            snprintf(nc->scratch_dir, sizeof nc->scratch_dir, "%s", tmpl);
        }
        return nc->scratch_dir;
    default: return NULL;
    }
}

static int h_resolve_path(const assay_host *h, const char *path, char *out,
                          size_t outsz, assay_error *err)
{
    node_ctx *nc = ctx_of(h);
    if (!path || !*path)
        return assay_error_set(err, ASSAY_EINVAL, "empty path");
    if (util_path_join(out, outsz, nc->config_dir, path))
        return assay_error_set(err, ASSAY_EINVAL, "path too long: %s", path);
    return 0;
}

static unsigned h_threads(const assay_host *h)
{
    unsigned t = ctx_of(h)->threads;
    return t ? t : 1;
}

static const char *h_node_name(const assay_host *h)
{
    return ctx_of(h)->name;
}

static void h_free(void *p)
{
    free(p);
}

/* ---- io --------------------------------------------------------------- */

static long port_index(const assay_port *ports, const char *name)
{
    for (long i = 0; ports && ports[i].name; i++)
        if (strcmp(ports[i].name, name) == 0)
            return i;
    return -1;
}

static value *in_value(assay_io *io, const char *port)
{
    long i = port_index(io->p->inputs, port);
    return i < 0 ? NULL : io->in[i];
}

static assay_type h_in_type(assay_io *io, const char *port)
{
    long i = port_index(io->p->inputs, port);
    if (i < 0 || !io->in[i])
        return 0;
    assay_type decl = io->p->inputs[i].type;
    return decl == ASSAY_T_ANY ? value_type(io->in[i]) : decl;
}

static const json_t *h_in_records(assay_io *io, const char *port)
{
    value *v = in_value(io, port);
    if (!v)
        return NULL;
    assay_error err;
    const json_t *j = value_records(v, &err);
    if (!j)
        h_log(&io->nc->host, ASSAY_LOG_ERROR, "input '%s': %s", port,
              err.text);
    return j;
}

static const assay_table *h_in_table(assay_io *io, const char *port)
{
    value *v = in_value(io, port);
    if (!v)
        return NULL;
    assay_error err;
    const assay_table *t = value_table(v, &err);
    if (!t)
        h_log(&io->nc->host, ASSAY_LOG_ERROR, "input '%s': %s", port,
              err.text);
    return t;
}

static const json_t *h_in_json(assay_io *io, const char *port)
{
    value *v = in_value(io, port);
    if (!v)
        return NULL;
    if (value_type(v) == ASSAY_T_JSON)
        return value_json(v);
    return value_records(v, NULL); /* an ANY port fed records */
}

static int set_out(assay_io *io, const char *port, assay_type type,
                   value *v, assay_error *err)
{
    long i = port_index(io->p->outputs, port);
    if (!v)
        return assay_error_set(err, ASSAY_ENOMEM,
                               "out of memory setting output '%s'", port);
    if (i < 0) {
        value_unref(v);
        return assay_error_set(err, ASSAY_EINVAL,
                               "plugin set unknown output port '%s'", port);
    }
    if (io->estimating) {
        value_unref(v);
        return assay_error_set(err, ASSAY_EINVAL,
                               "outputs cannot be set during estimate()");
    }
    assay_type decl = io->p->outputs[i].type;
    bool ok = decl == type || decl == ASSAY_T_ANY ||
              (decl == ASSAY_T_RECORDS && type == ASSAY_T_TABLE) ||
              (decl == ASSAY_T_TABLE && type == ASSAY_T_RECORDS);
    if (!ok) {
        value_unref(v);
        return assay_error_set(err, ASSAY_EINVAL,
                               "output '%s' is declared %s but was set to a "
                               "different kind of value",
                               port, decl == ASSAY_T_JSON ? "json"
                                                          : "records/table");
    }
    if (io->out[i]) {
        value_unref(v);
        return assay_error_set(err, ASSAY_EINVAL,
                               "output '%s' was set twice", port);
    }
    io->out[i] = v;
    return 0;
}

static int h_out_records(assay_io *io, const char *port, json_t *records,
                         assay_error *err)
{
    if (!json_is_array(records)) {
        json_decref(records);
        return assay_error_set(err, ASSAY_EINVAL,
                               "output '%s': records must be a JSON array",
                               port);
    }
    return set_out(io, port, ASSAY_T_RECORDS,
                   value_new_json(ASSAY_T_RECORDS, records), err);
}

static int h_out_table(assay_io *io, const char *port, assay_table *t,
                       assay_error *err)
{
    if (!t)
        return assay_error_set(err, ASSAY_EINVAL, "output '%s': NULL table",
                               port);
    return set_out(io, port, ASSAY_T_TABLE, value_new_table(t), err);
}

static int h_out_json(assay_io *io, const char *port, json_t *v,
                      assay_error *err)
{
    if (!v)
        return assay_error_set(err, ASSAY_EINVAL, "output '%s': NULL value",
                               port);
    return set_out(io, port, ASSAY_T_JSON, value_new_json(ASSAY_T_JSON, v),
                   err);
}

/* ---- LLM -------------------------------------------------------------- */

static void llm_progress(void *ud, uint64_t done, uint64_t total,
                         uint64_t cached)
{
    node_ctx *nc = ud;
    (void)cached;
    h_progress(&nc->host, done, total, "requests");
}

static int no_llm(const node_ctx *nc, assay_error *err)
{
    return assay_error_set(err, ASSAY_EINVAL,
                           "no LLM endpoints are configured; add an 'llm:' "
                           "section to the experiment (node '%s')",
                           nc->name);
}

static int h_llm_batch(const assay_host *h, const char *endpoint,
                       const assay_llm_request *reqs, size_t n,
                       assay_llm_result *res, assay_error *err)
{
    node_ctx *nc = ctx_of(h);
    if (nc->llm)
        return llm_service_batch(nc->llm, nc->name, endpoint, reqs, n, res,
                                 llm_progress, nc, err);
    return no_llm(nc, err);
}

static int h_llm_stream(const assay_host *h, const char *endpoint,
                        const assay_llm_request *reqs, size_t n,
                        assay_llm_on_result cb, void *ud, assay_error *err)
{
    node_ctx *nc = ctx_of(h);
    if (nc->llm)
        return llm_service_stream(nc->llm, nc->name, endpoint, reqs, n, cb,
                                  ud, llm_progress, nc, err);
    return no_llm(nc, err);
}

static int h_llm_stream_add(assay_llm_stream *s, const assay_llm_request *req,
                            size_t *index, assay_error *err)
{
    return llm_stream_add(s, req, index, err);
}

static void h_llm_result_clear(assay_llm_result *r)
{
    llm_result_clear(r);
}

static json_t *h_llm_endpoint_info(const assay_host *h, const char *endpoint)
{
    node_ctx *nc = ctx_of(h);
    return nc->llm ? llm_service_endpoint_info(nc->llm, endpoint) : NULL;
}

static int h_embed(const assay_host *h, const char *endpoint,
                   const char *const *texts, size_t n, double **vectors,
                   size_t *dim, assay_error *err)
{
    node_ctx *nc = ctx_of(h);
    if (nc->llm)
        return llm_service_embed(nc->llm, nc->name, endpoint, texts, n,
                                 vectors, dim, err);
    return no_llm(nc, err);
}

static const assay_host HOST_TEMPLATE = {
    .abi_version = ASSAY_ABI_VERSION,
    .struct_size = sizeof(assay_host),
    .log = h_log,
    .progress = h_progress,
    .cancelled = h_cancelled,
    .seed = h_seed,
    .path = h_path,
    .resolve_path = h_resolve_path,
    .threads = h_threads,
    .node_name = h_node_name,
    .free = h_free,
    .in_type = h_in_type,
    .in_records = h_in_records,
    .in_table = h_in_table,
    .in_json = h_in_json,
    .out_records = h_out_records,
    .out_table = h_out_table,
    .out_json = h_out_json,
    .table_new = table_new,
    .table_add_col = table_add_col,
    .table_set_str = table_set_str,
    .table_resize = table_resize,
    .table_free = table_free,
    .llm_batch = h_llm_batch,
    .llm_stream = h_llm_stream,
    .llm_stream_add = h_llm_stream_add,
    .llm_result_clear = h_llm_result_clear,
    .llm_endpoint_info = h_llm_endpoint_info,
    .embed = h_embed,
};

void node_ctx_init(node_ctx *nc, const char *name, const assay_plugin *p,
                   uint64_t run_seed, unsigned threads,
                   const char *config_dir, const char *run_dir,
                   const char *node_dir, const atomic_bool *cancel)
{
    memset(nc, 0, sizeof *nc);
    nc->name = name;
    nc->plugin = p;
    nc->run_seed = run_seed;
    nc->threads = threads;
    nc->config_dir = config_dir;
    nc->run_dir = run_dir;
    if (node_dir)
        snprintf(nc->node_dir, sizeof nc->node_dir, "%s", node_dir);
    nc->cancel = cancel;
    nc->echo_level = ASSAY_LOG_WARN;
    atomic_init(&nc->prog_done, 0);
    atomic_init(&nc->prog_total, 0);
    atomic_init(&nc->prog_seen, false);
    nc->host = HOST_TEMPLATE;
    nc->host.ctx = nc;
}

void node_ctx_cleanup(node_ctx *nc)
{
    if (nc->scratch_dir[0]) {
        util_rmtree(nc->scratch_dir);
        nc->scratch_dir[0] = '\0';
    }
}

static size_t count_ports(const assay_port *p)
{
    size_t n = 0;
    while (p && p[n].name)
        n++;
    return n;
}

assay_io *io_new(node_ctx *nc, const assay_plugin *p)
{
    assay_io *io = calloc(1, sizeof *io);
    if (!io)
        return NULL;
    io->nc = nc;
    io->p = p;
    io->nin = count_ports(p->inputs);
    io->nout = count_ports(p->outputs);
    io->in = calloc(io->nin ? io->nin : 1, sizeof *io->in);
    io->out = calloc(io->nout ? io->nout : 1, sizeof *io->out);
    if (!io->in || !io->out) {
        io_free(io);
        return NULL;
    }
    return io;
}

void io_free(assay_io *io)
{
    if (!io)
        return;
    for (size_t i = 0; io->in && i < io->nin; i++)
        value_unref(io->in[i]);
    for (size_t i = 0; io->out && i < io->nout; i++)
        value_unref(io->out[i]);
    free(io->in);
    free(io->out);
    free(io);
}

/* One create/run/destroy cycle. */
static int run_once(node_ctx *nc, const json_t *options, assay_io *io,
                    assay_error *err)
{
    const assay_plugin *p = io->p;
    void *state = NULL;
    err->code = 0;
    err->text[0] = '\0';
    int rc = p->create(&nc->host, options, &state, err);
    if (rc) {
        if (!err->text[0])
            assay_error_set(err, rc, "create failed (%s)",
                            assay_strerror(rc));
        if (state) /* what create set up before failing */
            p->destroy(state);
        return rc < 0 ? rc : ASSAY_EINTERNAL;
    }
    rc = p->run(state, io, err);
    if (rc && !err->text[0])
        assay_error_set(err, rc, "run failed (%s)", assay_strerror(rc));
    p->destroy(state);
    if (rc)
        return rc < 0 ? rc : ASSAY_EINTERNAL;
    for (size_t i = 0; i < io->nout; i++)
        if (!io->out[i])
            return assay_error_set(err, ASSAY_EINTERNAL,
                                   "%s finished without setting output "
                                   "'%s'",
                                   p->name, p->outputs[i].name);
    return 0;
}

/* Group key of a JSON value ("null" for missing). */
static void key_of(const json_t *v, char *buf, size_t n)
{
    if (json_is_string(v))
        snprintf(buf, n, "%s", json_string_value(v));
    else if (!v)
        snprintf(buf, n, "null");
    else {
        char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        snprintf(buf, n, "%s", s ? s : "?");
        free(s);
    }
}

/*
 * group_by: partition the items of every records/table input that has the
 * field; inputs without it but with the same item count are partitioned
 * by position; other inputs are passed whole.
 */
static int run_groups(node_ctx *nc, const json_t *options, assay_io *io,
                      const char *field, assay_error *err)
{
    long ref = -1;
    const json_t *refrec = NULL;
    for (size_t i = 0; i < io->nin && ref < 0; i++) {
        if (!io->in[i] || value_type(io->in[i]) == ASSAY_T_JSON)
            continue;
        const json_t *r = value_records(io->in[i], NULL);
        if (r && json_array_size(r) &&
            json_object_get(json_array_get(r, 0), field)) {
            ref = (long)i;
            refrec = r;
        }
    }
    if (ref < 0)
        return assay_error_set(err, ASSAY_EDATA,
                               "group_by: no input has the field '%s'",
                               field);
    size_t n = json_array_size(refrec);
    /* group ids in order of first appearance */
    json_t *keys = json_object();
    size_t *gid = malloc((n ? n : 1) * sizeof *gid);
    if (!keys || !gid) {
        json_decref(keys);
        free(gid);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    size_t ngroups = 0;
    for (size_t r = 0; r < n; r++) {
        char k[512];
        key_of(json_object_get(json_array_get(refrec, r), field), k,
               sizeof k);
        json_t *g = json_object_get(keys, k);
        if (!g) {
            g = json_integer((json_int_t)ngroups++);
            json_object_set_new(keys, k, g);
        }
        gid[r] = (size_t)json_integer_value(g);
    }
    json_t *groups_out = json_object();
    int rc = groups_out ? 0 : ASSAY_ENOMEM;
    const char *gk;
    json_t *gv;
    json_object_foreach(keys, gk, gv)
    {
        if (rc)
            break;
        size_t g = (size_t)json_integer_value(gv);
        assay_io *sub = io_new(nc, io->p);
        if (!sub) {
            rc = ASSAY_ENOMEM;
            break;
        }
        for (size_t i = 0; i < io->nin && !rc; i++) {
            value *v = io->in[i];
            if (!v)
                continue;
            const json_t *recs = value_type(v) == ASSAY_T_JSON
                                     ? NULL
                                     : value_records(v, NULL);
            bool has = recs && json_array_size(recs) &&
                       json_object_get(json_array_get(recs, 0), field);
            bool aligned = recs && json_array_size(recs) == n;
            if (!recs || (!has && !aligned)) {
                sub->in[i] = value_ref(v);
                continue;
            }
            json_t *part = json_array();
            for (size_t r = 0; part && r < json_array_size(recs); r++) {
                const json_t *rec = json_array_get(recs, r);
                bool in;
                if (has && (long)i != ref) {
                    char k[512];
                    key_of(json_object_get(rec, field), k, sizeof k);
                    in = strcmp(k, gk) == 0;
                } else
                    in = gid[r] == g;
                if (in)
                    json_array_append(part, (json_t *)rec);
            }
            sub->in[i] = value_new_json(ASSAY_T_RECORDS, part);
            if (!sub->in[i])
                rc = ASSAY_ENOMEM;
        }
        if (!rc) {
            rc = run_once(nc, options, sub, err);
            if (rc)
                assay_error_prefix(err, "group '%s': ", gk);
        }
        if (!rc) {
            json_t *g_o = json_object();
            for (size_t o = 0; g_o && o < sub->nout; o++)
                if (value_type(sub->out[o]) == ASSAY_T_JSON)
                    json_object_set(g_o, io->p->outputs[o].name,
                                    (json_t *)value_json(sub->out[o]));
            json_object_set_new(groups_out, gk, g_o);
        }
        io_free(sub);
    }
    if (rc == ASSAY_ENOMEM)
        assay_error_set(err, rc, "out of memory while grouping");
    /* attach each json output's per-group values to the overall value */
    for (size_t o = 0; !rc && o < io->nout; o++) {
        if (value_type(io->out[o]) != ASSAY_T_JSON)
            continue;
        json_t *overall = (json_t *)value_json(io->out[o]);
        json_t *per = json_object();
        const char *k;
        json_t *gv2;
        json_object_foreach(groups_out, k, gv2)
        {
            json_t *x = json_object_get(gv2, io->p->outputs[o].name);
            if (x)
                json_object_set(per, k, x);
        }
        json_t *wrapped = json_object();
        if (json_is_object(overall)) {
            json_object_update(wrapped, overall);
        } else
            json_object_set(wrapped, "overall", overall);
        json_object_set_new(wrapped, "group_by", json_string(field));
        json_object_set_new(wrapped, "groups", per);
        value_unref(io->out[o]);
        io->out[o] = value_new_json(ASSAY_T_JSON, wrapped);
        if (!io->out[o])
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    json_decref(groups_out);
    json_decref(keys);
    free(gid);
    return rc;
}

int exec_plugin(node_ctx *nc, const json_t *options, assay_io *io,
                const char *group_by, assay_error *err)
{
    int rc = run_once(nc, options, io, err);
    if (!rc && group_by)
        rc = run_groups(nc, options, io, group_by, err);
    node_ctx_cleanup(nc);
    return rc;
}

int exec_estimate(node_ctx *nc, const json_t *options, assay_io *io,
                  assay_estimate *est, char *endpoint, size_t endpoint_sz,
                  assay_error *err)
{
    const assay_plugin *p = io->p;
    if (p->struct_size < offsetof(assay_plugin, estimate) +
                             sizeof p->estimate ||
        !p->estimate)
        return ASSAY_ENOTSUP;
    void *state = NULL;
    memset(est, 0, sizeof *est);
    est->struct_size = sizeof *est;
    int rc = p->create(&nc->host, options, &state, err);
    if (rc) {
        if (state)
            p->destroy(state);
        return rc;
    }
    io->estimating = true;
    rc = p->estimate(state, io, est, err);
    io->estimating = false;
    /* the name usually lives in the state: keep a copy past destroy */
    if (endpoint_sz)
        snprintf(endpoint, endpoint_sz, "%s",
                 est->endpoint ? est->endpoint : "");
    est->endpoint = endpoint_sz && endpoint[0] ? endpoint : NULL;
    p->destroy(state);
    return rc;
}
