/*
 * core/hostapi.h - the assay_host vtable and assay_io behind it.  A
 * node_ctx is one node instance's view of the host: its name, seed,
 * directories, progress counters, log sink and the LLM service.  exec
 * runs a plugin's create/run/destroy against a node_ctx and an io,
 * including `group_by` breakdowns, and checks that every output was set.
 */
#ifndef ASSAY_HOSTAPI_H
#define ASSAY_HOSTAPI_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include <assay/plugin.h>

#include "value.h"

struct llm_service;

typedef struct node_ctx {
    const char *name;
    const assay_plugin *plugin;
    uint64_t run_seed;
    unsigned threads;
    const char *config_dir; /* absolute */
    const char *run_dir;    /* NULL when not persisting (tests) */
    char node_dir[PATH_MAX]; /* "" when not persisting */
    char scratch_dir[PATH_MAX];
    const atomic_bool *cancel;
    /* log sink (may be NULL): every line goes to `log`, lines at or above
     * `echo_level` also to stderr through `echo` */
    FILE *log;
    pthread_mutex_t *log_lock;
    int echo_level;
    void (*echo)(void *ud, const char *line);
    void *echo_ud;
    /* progress as last reported */
    atomic_uint_fast64_t prog_done, prog_total;
    char prog_unit[32];
    atomic_bool prog_seen;
    struct llm_service *llm;
    assay_host host;
} node_ctx;

struct assay_io {
    node_ctx *nc;
    const assay_plugin *p;
    size_t nin, nout;
    value **in;      /* per input port (NULL: unconnected) */
    value **out;     /* per output port (NULL until set) */
    bool estimating; /* during estimate(): outputs refused */
};

/* Prepare a node context (fills host vtable).  `node_dir` may be NULL. */
void node_ctx_init(node_ctx *nc, const char *name, const assay_plugin *p,
                   uint64_t run_seed, unsigned threads,
                   const char *config_dir, const char *run_dir,
                   const char *node_dir, const atomic_bool *cancel);
/* Remove the scratch directory if one was made. */
void node_ctx_cleanup(node_ctx *nc);

/* Allocate an io for plugin p (inputs/outputs all NULL). */
assay_io *io_new(node_ctx *nc, const assay_plugin *p);
/* Drop the io and every value it holds. */
void io_free(assay_io *io);

/* The seed a node with this name gets for `stream`. */
uint64_t hostapi_seed(uint64_t run_seed, const char *node,
                      const char *stream);

/*
 * Run the plugin: create, run, destroy.  When `group_by` is set, the
 * plugin additionally runs once per group of items and the groups' json
 * outputs are attached to the overall json outputs under "groups".  On
 * failure `err` holds the plugin's message.
 */
int exec_plugin(node_ctx *nc, const json_t *options, assay_io *io,
                const char *group_by, assay_error *err);

/* Ask estimate() for --dry-run; ENOTSUP when the plugin has none.  The
 * endpoint name the plugin reports is copied into `endpoint` (size
 * `endpoint_sz`, truncated) before the plugin state is destroyed, and
 * est->endpoint points there (NULL when none was reported). */
int exec_estimate(node_ctx *nc, const json_t *options, assay_io *io,
                  assay_estimate *est, char *endpoint, size_t endpoint_sz,
                  assay_error *err);

#endif
