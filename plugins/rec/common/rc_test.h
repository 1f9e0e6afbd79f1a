/*
 * rc_test.h - helpers shared by the recsys plugin tests (never linked into
 * a plugin): building interaction tables, finding outputs of a testkit
 * run, locating the shared datasets, loading ml-100k through
 * source.interactions.
 */
#ifndef ASSAY_REC_TEST_H
#define ASSAY_REC_TEST_H

#include <assay/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testkit.h"

/* An interaction table user, item[, timestamp][, rating][, row] (row =
 * 0..n-1, so that tests can follow rows through a protocol node). */
static inline assay_table *rt_table(size_t n, const int64_t *user,
                                    const int64_t *item, const int64_t *time,
                                    const double *rating, bool row_ids)
{
    assay_table *t = assay_testkit_table_new(n);
    if (!t)
        return NULL;
    int64_t *u = assay_testkit_table_add_col(t, "user", ASSAY_COL_INT64);
    memcpy(u, user, n * sizeof *u);
    int64_t *it = assay_testkit_table_add_col(t, "item", ASSAY_COL_INT64);
    memcpy(it, item, n * sizeof *it);
    if (time) {
        int64_t *tt =
            assay_testkit_table_add_col(t, "timestamp", ASSAY_COL_INT64);
        memcpy(tt, time, n * sizeof *tt);
    }
    if (rating) {
        double *r = assay_testkit_table_add_col(t, "rating", ASSAY_COL_FLOAT64);
        memcpy(r, rating, n * sizeof *r);
    }
    if (row_ids) {
        int64_t *r = assay_testkit_table_add_col(t, "row", ASSAY_COL_INT64);
        for (size_t i = 0; i < n; i++)
            r[i] = (int64_t)i;
    }
    return t;
}

/* Output table `port` of a testkit run, or NULL. */
static inline const assay_table *rt_out(const assay_testkit_tables *o,
                                        const char *port)
{
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->ports[i], port) == 0)
            return o->tables[i];
    return NULL;
}

static inline void rt_free(assay_testkit_tables *o)
{
    for (size_t i = 0; i < o->n; i++)
        assay_testkit_table_free(o->tables[i]);
    o->n = 0;
}

static inline const int64_t *rt_i64(const assay_table *t, const char *name)
{
    return assay_col_i64(assay_table_col(t, name));
}

/* Run plugin `p` with the given input tables; fails the test (with the
 * error text) when the run fails. */
static inline void rt_run(const assay_plugin *p, const char *opts, size_t n,
                          const char *const *ports, assay_table *const *tabs,
                          json_t **json_out, assay_testkit_tables *out)
{
    assay_testkit_tables in = {0};
    assay_error err = {0};
    json_t *j = NULL;
    in.n = n;
    for (size_t i = 0; i < n; i++) {
        in.ports[i] = ports[i];
        in.tables[i] = tabs[i];
    }
    int rc = assay_testkit_run_tables(p, opts, NULL, &in, &j, out, &err);
    if (rc) {
        fprintf(stderr, "run of %s failed: %s\n", p->name, err.text);
        exit(1);
    }
    if (json_out)
        *json_out = j;
    else
        json_decref(j);
}

/* The shared data folder ($ASSAY_SHARED, else <repo>/../shared), or
 * NULL when it does not exist. */
static inline const char *rt_shared(char *buf, size_t sz)
{
    const char *e = getenv("ASSAY_SHARED");
    const char *src = getenv("ASSAY_SRC");
    struct stat st;
    if (e && *e)
        snprintf(buf, sz, "%s", e);
    else if (src && *src)
        snprintf(buf, sz, "%s/../shared", src);
    else
        snprintf(buf, sz, "../shared");
    return stat(buf, &st) == 0 && S_ISDIR(st.st_mode) ? buf : NULL;
}

/* Path of ml-100k.inter under the shared folder, or NULL (printing why)
 * when absent. */
static inline const char *rt_ml100k(char *buf, size_t sz)
{
    char dir[4096];
    struct stat st;
    if (!rt_shared(dir, sizeof dir)) {
        printf("skip: the shared data folder is absent (set ASSAY_SHARED)\n");
        return NULL;
    }
    snprintf(buf, sz, "%s/data/ml-100k/ml-100k.inter", dir);
    if (stat(buf, &st) != 0) {
        printf("skip: %s is absent\n", buf);
        return NULL;
    }
    return buf;
}

/* Descriptor `name` from the plugin file named by environment variable
 * `env` (exits with the loader's message on failure). */
static inline const assay_plugin *rt_load(const char *env, const char *name)
{
    assay_error err = {0};
    const assay_plugin *p = assay_testkit_load(getenv(env), name, &err);
    if (!p) {
        fprintf(stderr, "cannot load %s from $%s: %s\n", name, env, err.text);
        exit(1);
    }
    return p;
}

#endif
