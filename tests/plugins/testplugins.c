/*
 * Plugins used by the host's own tests: small, deterministic nodes that
 * produce, transform, fail, sleep and count, so that graphs can exercise
 * scheduling, failure propagation, caching and resume.  One file, several
 * descriptors (which the loader must support).
 */
#include <assay/plugin.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct st {
    const assay_host *h;
    json_t *opts;
} st;

static int create(const assay_host *h, const json_t *opts, void **out,
                  assay_error *err)
{
    st *s = calloc(1, sizeof *s);
    if (!s)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    s->h = h;
    s->opts = json_deep_copy(opts);
    *out = s;
    if (!s->opts)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    return 0;
}

static void destroy(void *p)
{
    st *s = p;
    if (s)
        json_decref(s->opts);
    free(s);
}

/* Append one line to the marker file, if the option names one. */
static void touch_marker(st *s)
{
    const char *m = assay_opt_str(s->opts, "marker");
    if (!m)
        return;
    char path[4096];
    if (s->h->resolve_path(s->h, m, path, sizeof path, NULL))
        return;
    FILE *f = fopen(path, "a");
    if (f) {
        fprintf(f, "%s\n", s->h->node_name(s->h));
        fclose(f);
    }
}

/* ---- test.source ------------------------------------------------------ */
static const assay_port src_out[] = {
    {.name = "items", .type = ASSAY_T_RECORDS, .doc = "n records"}, {0}};
static const assay_option src_opts[] = {
    {.name = "n", .type = ASSAY_OPT_INT, .def = "10", .has_min = true,
     .min = 0, .doc = "number of records"},
    {.name = "groups", .type = ASSAY_OPT_INT, .def = "1", .has_min = true,
     .min = 1, .doc = "records get group = id % groups"},
    {.name = "marker", .type = ASSAY_OPT_STRING,
     .doc = "append the node name to this file when run"},
    {0}};
static int src_run(void *p, assay_io *io, assay_error *err)
{
    st *s = p;
    touch_marker(s);
    json_t *a = json_array();
    int64_t n = assay_opt_int(s->opts, "n"),
            g = assay_opt_int(s->opts, "groups");
    for (int64_t i = 0; i < n; i++) {
        char grp[32];
        snprintf(grp, sizeof grp, "g%lld", (long long)(i % g));
        json_array_append_new(a, json_pack("{sI sf ss}", "id", (json_int_t)i,
                                           "value", (double)i, "group", grp));
    }
    return s->h->out_records(io, "items", a, err);
}
static const assay_plugin p_source = {
    ASSAY_PLUGIN_HEADER, .name = "test.source", .kind = "source",
    .version = "1.0.0", .summary = "n records {id, value, group}",
    .outputs = src_out, .options = src_opts,
    .flags = ASSAY_F_DETERMINISTIC | ASSAY_F_CHEAP, .create = create,
    .run = src_run, .destroy = destroy};

/* ---- test.add: value += delta, with an optional delay ----------------- */
static const assay_port add_in[] = {
    {.name = "items", .type = ASSAY_T_RECORDS, .required = true,
     .doc = "records with a numeric 'value'"},
    {0}};
static const assay_port add_out[] = {
    {.name = "items", .type = ASSAY_T_RECORDS, .doc = "value + delta"},
    {0}};
static const assay_option add_opts[] = {
    {.name = "delta", .type = ASSAY_OPT_FLOAT, .def = "1", .doc = "added"},
    {.name = "sleep_ms", .type = ASSAY_OPT_INT, .def = "0", .has_min = true,
     .min = 0, .doc = "sleep this long first (checks cancellation)"},
    {.name = "marker", .type = ASSAY_OPT_STRING,
     .doc = "append the node name to this file when run"},
    {0}};
static int add_run(void *p, assay_io *io, assay_error *err)
{
    st *s = p;
    touch_marker(s);
    int64_t ms = assay_opt_int(s->opts, "sleep_ms");
    for (int64_t t = 0; t < ms; t += 10) {
        if (s->h->cancelled(s->h))
            return assay_error_set(err, ASSAY_ECANCELED, "cancelled");
        s->h->progress(s->h, (uint64_t)t, (uint64_t)ms, "ms");
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    const json_t *in = s->h->in_records(io, "items");
    double d = assay_opt_num(s->opts, "delta");
    json_t *out = json_array();
    for (size_t i = 0; i < json_array_size(in); i++) {
        double v;
        int rc = assay_rec_num(json_array_get(in, i), i, "value", &v, err);
        if (rc) {
            json_decref(out);
            return rc;
        }
        json_t *r = json_copy(json_array_get(in, i));
        json_object_set_new(r, "value", json_real(v + d));
        json_array_append_new(out, r);
    }
    return s->h->out_records(io, "items", out, err);
}
static const assay_plugin p_add = {
    ASSAY_PLUGIN_HEADER, .name = "test.add", .kind = "transform",
    .version = "1.0.0", .summary = "adds delta to each record's value",
    .inputs = add_in, .outputs = add_out, .options = add_opts,
    .flags = ASSAY_F_PER_ITEM | ASSAY_F_DETERMINISTIC, .create = create,
    .run = add_run, .destroy = destroy};

/* ---- test.sum: all-items summary (group_by target) -------------------- */
static const assay_port sum_in[] = {
    {.name = "items", .type = ASSAY_T_RECORDS, .required = true,
     .doc = "records with a numeric 'value'"},
    {.name = "extra", .type = ASSAY_T_RECORDS, .multi = true,
     .doc = "more records, counted separately"},
    {0}};
static const assay_port sum_out[] = {
    {.name = "summary", .type = ASSAY_T_JSON, .doc = "{sum, count}"},
    {0}};
static int sum_run(void *p, assay_io *io, assay_error *err)
{
    st *s = p;
    const json_t *in = s->h->in_records(io, "items");
    const json_t *extra = s->h->in_records(io, "extra");
    double sum = 0;
    for (size_t i = 0; i < json_array_size(in); i++) {
        double v;
        int rc = assay_rec_num(json_array_get(in, i), i, "value", &v, err);
        if (rc)
            return rc;
        sum += v;
    }
    json_t *o = json_pack("{sf sI}", "sum", sum, "count",
                          (json_int_t)json_array_size(in));
    if (extra)
        json_object_set_new(o, "extra",
                            json_integer((json_int_t)json_array_size(extra)));
    return s->h->out_json(io, "summary", o, err);
}
static const assay_plugin p_sum = {
    ASSAY_PLUGIN_HEADER, .name = "test.sum", .kind = "metric",
    .version = "1.0.0", .summary = "sum and count of values",
    .inputs = sum_in, .outputs = sum_out,
    .flags = ASSAY_F_ALL_ITEMS | ASSAY_F_DETERMINISTIC, .create = create,
    .run = sum_run, .destroy = destroy};

/* ---- test.fail -------------------------------------------------------- */
static const assay_port fail_in[] = {
    {.name = "items", .type = ASSAY_T_RECORDS, .doc = "ignored"}, {0}};
static const assay_option fail_opts[] = {
    {.name = "message", .type = ASSAY_OPT_STRING,
     .def = "\"failing on purpose\"", .doc = "error text"},
    {.name = "how", .type = ASSAY_OPT_ENUM, .def = "\"error\"",
     .choices = "error|no-output|segv|abort|exit",
     .doc = "error: return an error; no-output: succeed without output; "
            "segv/abort/exit: crash the process"},
    {0}};
static int fail_run(void *p, assay_io *io, assay_error *err)
{
    st *s = p;
    (void)io;
    const char *how = assay_opt_str(s->opts, "how");
    if (!strcmp(how, "no-output"))
        return 0;
    if (!strcmp(how, "segv"))
        raise(SIGSEGV);
    if (!strcmp(how, "abort"))
        abort();
    if (!strcmp(how, "exit"))
        exit(3);
    return assay_error_set(err, ASSAY_EDATA, "%s",
                           assay_opt_str(s->opts, "message"));
}
static const assay_plugin p_fail = {
    ASSAY_PLUGIN_HEADER, .name = "test.fail", .kind = "transform",
    .version = "1.0.0", .summary = "fails in a chosen way",
    .inputs = fail_in, .outputs = add_out, .options = fail_opts,
    .create = create, .run = fail_run, .destroy = destroy};

/* ---- test.table: a table source (int, float, string columns) ---------- */
static const assay_port tab_out[] = {
    {.name = "table", .type = ASSAY_T_TABLE, .doc = "n rows"}, {0}};
static int tab_run(void *p, assay_io *io, assay_error *err)
{
    st *s = p;
    int64_t n = assay_opt_int(s->opts, "n");
    assay_table *t = s->h->table_new((size_t)n);
    int64_t *id = s->h->table_add_col(t, "id", ASSAY_COL_INT64);
    double *v = s->h->table_add_col(t, "value", ASSAY_COL_FLOAT64);
    if (!id || !v || !s->h->table_add_col(t, "group", ASSAY_COL_STRING)) {
        s->h->table_free(t);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    for (int64_t i = 0; i < n; i++) {
        char g[32];
        id[i] = i;
        v[i] = (double)i * 0.5;
        snprintf(g, sizeof g, "g%lld",
                 (long long)(i % assay_opt_int(s->opts, "groups")));
        s->h->table_set_str(t, 2, (size_t)i, g, strlen(g));
    }
    return s->h->out_table(io, "table", t, err);
}
static const assay_plugin p_table = {
    ASSAY_PLUGIN_HEADER, .name = "test.table", .kind = "source",
    .version = "1.0.0", .summary = "a table {id, value, group}",
    .outputs = tab_out, .options = src_opts,
    .flags = ASSAY_F_DETERMINISTIC | ASSAY_F_CHEAP, .create = create,
    .run = tab_run, .destroy = destroy};

/* ---- test.noop: trivial json -> json, for overhead benchmarks --------- */
static const assay_port noop_in[] = {
    {.name = "x", .type = ASSAY_T_JSON, .multi = true, .doc = "any"}, {0}};
static const assay_port noop_out[] = {
    {.name = "y", .type = ASSAY_T_JSON, .doc = "{n: 1 + sum of inputs' n}"},
    {0}};
static int noop_run(void *p, assay_io *io, assay_error *err)
{
    st *s = p;
    const json_t *x = s->h->in_json(io, "x");
    json_int_t n = 1;
    for (size_t i = 0; i < json_array_size(x); i++)
        n += json_integer_value(json_object_get(json_array_get(x, i), "n"));
    return s->h->out_json(io, "y", json_pack("{sI}", "n", n), err);
}
static const assay_plugin p_noop = {
    ASSAY_PLUGIN_HEADER, .name = "test.noop", .kind = "transform",
    .version = "1.0.0", .summary = "counts its ancestors",
    .inputs = noop_in, .outputs = noop_out,
    .flags = ASSAY_F_DETERMINISTIC, .create = create, .run = noop_run,
    .destroy = destroy};

static const assay_plugin *const list[] = {&p_source, &p_add,   &p_sum,
                                           &p_fail,   &p_table, &p_noop,
                                           NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi)
{
    (void)host_abi;
    return list;
}
