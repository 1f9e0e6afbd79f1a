/*
 * tc_testutil.h - helpers for the text metric tests: locate and load the
 * golden files in tests/golden/text/ (copied from the shared golden set).
 * Test code only; never built into a plugin.
 */
#ifndef TC_TESTUTIL_H
#define TC_TESTUTIL_H

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Path of golden file `name` under $ASSAY_SRC/tests/golden/text (falls
 * back to the source root known at build time). */
static inline void tct_path(const char *name, char *out, size_t outsz)
{
    const char *root = getenv("ASSAY_SRC");
#ifdef TC_SOURCE_ROOT
    if (!root || !*root)
        root = TC_SOURCE_ROOT;
#endif
    if (!root)
        root = ".";
    snprintf(out, outsz, "%s/tests/golden/text/%s", root, name);
}

/* Load a JSON Lines golden file as an array (NULL and a message on
 * failure).  Caller decrefs. */
static inline json_t *tct_load_jsonl(const char *name)
{
    char path[4096];
    tct_path(name, path, sizeof path);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return NULL;
    }
    json_t *arr = json_array();
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while (arr && (len = getline(&line, &cap, f)) > 0) {
        json_error_t e;
        if (len <= 1)
            continue;
        json_t *v = json_loadb(line, (size_t)len, 0, &e);
        if (!v) {
            fprintf(stderr, "%s: %s\n", path, e.text);
            json_decref(arr);
            arr = NULL;
            break;
        }
        json_array_append_new(arr, v);
    }
    free(line);
    fclose(f);
    return arr;
}

/* Load one JSON golden file.  Caller decrefs. */
static inline json_t *tct_load_json(const char *name)
{
    char path[4096];
    json_error_t e;
    tct_path(name, path, sizeof path);
    json_t *v = json_load_file(path, 0, &e);
    if (!v)
        fprintf(stderr, "%s: %s\n", path, e.text);
    return v;
}

/* Number of a JSON number field (NaN when absent or null). */
static inline double tct_num(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}


/* ---- running a plugin --------------------------------------------------
 * With TC_HAVE_TESTKIT (the test links libassay-core) plugins run through
 * the real host (core/testkit.h).  Without it a minimal in-process host
 * stands in: it fills option defaults from the schema, delivers records
 * and json inputs, and collects outputs, so that the plugin glue can be
 * tested before the core library exists.
 */
#include <assay/plugin.h>

#ifdef TC_HAVE_TESTKIT
#include "testkit.h"
#else
#include <dlfcn.h>
#include <stdarg.h>

struct assay_io {
    const json_t *in;
    json_t *out;
};

static void tct_log(const assay_host *h, int level, const char *fmt, ...)
{
    va_list ap;
    (void)h;
    (void)level;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}
static void tct_progress(const assay_host *h, uint64_t d, uint64_t t,
                         const char *u)
{
    (void)h, (void)d, (void)t, (void)u;
}
static bool tct_cancelled(const assay_host *h) { (void)h; return false; }
static uint64_t tct_seed(const assay_host *h, const char *stream)
{
    uint64_t x = 42;
    (void)h;
    for (const char *p = stream ? stream : ""; *p; p++)
        x = x * 1099511628211ULL + (unsigned char)*p;
    return assay_splitmix64(&x);
}
static unsigned tct_threads(const assay_host *h) { (void)h; return 2; }
static assay_type tct_in_type(assay_io *io, const char *port)
{
    json_t *v = json_object_get(io->in, port);
    return !v ? 0 : json_is_array(v) ? ASSAY_T_RECORDS : ASSAY_T_JSON;
}
static const json_t *tct_in_records(assay_io *io, const char *port)
{
    json_t *v = json_object_get(io->in, port);
    return json_is_array(v) ? v : NULL;
}
static const json_t *tct_in_json(assay_io *io, const char *port)
{
    return json_object_get(io->in, port);
}
static const assay_table *tct_in_table(assay_io *io, const char *port)
{
    (void)io, (void)port;
    return NULL;
}
static int tct_out(assay_io *io, const char *port, json_t *v,
                   assay_error *err)
{
    (void)err;
    return json_object_set_new(io->out, port, v) ? ASSAY_ENOMEM : 0;
}

static const assay_plugin *assay_testkit_load(const char *so_path,
                                              const char *name,
                                              assay_error *err)
{
    void *dl = dlopen(so_path, RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        assay_error_set(err, ASSAY_EIO, "%s", dlerror());
        return NULL;
    }
    assay_plugin_entry_fn fn =
        (assay_plugin_entry_fn)dlsym(dl, ASSAY_PLUGIN_ENTRY_SYMBOL);
    if (!fn) {
        assay_error_set(err, ASSAY_EABI, "no entry symbol");
        return NULL;
    }
    for (const assay_plugin *const *p = fn(ASSAY_ABI_VERSION); *p; p++)
        if (strcmp((*p)->name, name) == 0)
            return *p;
    assay_error_set(err, ASSAY_EINVAL, "no plugin %s", name);
    return NULL;
}

static int assay_testkit_run(const assay_plugin *p, const char *options_json,
                             const json_t *inputs, json_t **outputs,
                             assay_error *err)
{
    json_error_t je;
    json_t *opts = json_loads(options_json ? options_json : "{}", 0, &je);
    if (!opts)
        return assay_error_set(err, ASSAY_EINVAL, "options: %s", je.text);
    for (const assay_option *o = p->options; o && o->name; o++) {
        if (json_object_get(opts, o->name))
            continue;
        json_t *d = o->def ? json_loads(o->def, JSON_DECODE_ANY, &je)
                           : json_null();
        if (o->type == ASSAY_OPT_FLOAT && json_is_integer(d)) {
            json_t *r = json_real((double)json_integer_value(d));
            json_decref(d);
            d = r;
        }
        json_object_set_new(opts, o->name, d);
    }
    assay_host h = {.abi_version = ASSAY_ABI_VERSION,
                    .struct_size = sizeof h,
                    .log = tct_log,
                    .progress = tct_progress,
                    .cancelled = tct_cancelled,
                    .seed = tct_seed,
                    .threads = tct_threads,
                    .in_type = tct_in_type,
                    .in_records = tct_in_records,
                    .in_table = tct_in_table,
                    .in_json = tct_in_json,
                    .out_records = tct_out,
                    .out_json = tct_out};
    void *state = NULL;
    int rc = p->create(&h, opts, &state, err);
    json_decref(opts);
    if (rc) {
        p->destroy(state);
        return rc;
    }
    struct assay_io io = {inputs, json_object()};
    rc = p->run(state, &io, err);
    p->destroy(state);
    if (rc) {
        json_decref(io.out);
        return rc;
    }
    *outputs = io.out;
    return 0;
}
#endif /* TC_HAVE_TESTKIT */

/* Load plugin `name` from $PLUGIN (the .so under test); NULL with a
 * message when it cannot be loaded. */
static inline const assay_plugin *tct_plugin(const char *name)
{
    const char *so = getenv("PLUGIN");
    assay_error err = {0};
    if (!so) {
        fprintf(stderr, "PLUGIN is not set\n");
        return NULL;
    }
    const assay_plugin *p = assay_testkit_load(so, name, &err);
    if (!p)
        fprintf(stderr, "load %s: %s\n", so, err.text);
    return p;
}

/* Golden pairs as records {id, hyp, refs} (first reference only when
 * `first`), for running a plugin.  Caller decrefs. */
static inline json_t *tct_pairs_records(const json_t *pairs, bool first)
{
    json_t *out = json_array();
    for (size_t i = 0; i < json_array_size(pairs); i++) {
        json_t *p = json_array_get(pairs, i);
        json_t *refs = json_object_get(p, "refs");
        json_t *r = json_object();
        json_object_set(r, "id", json_object_get(p, "id"));
        json_object_set(r, "hyp", json_object_get(p, "hyp"));
        if (first)
            json_object_set(r, "refs", json_array_get(refs, 0));
        else
            json_object_set(r, "refs", refs);
        json_array_append_new(out, r);
    }
    return out;
}

#endif /* TC_TESTUTIL_H */
