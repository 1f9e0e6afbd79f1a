/*
 * core/run.h - execute a validated graph: a worker pool runs nodes in
 * dependency order (independent nodes concurrently), a failing node skips
 * its dependents while the others finish, Ctrl-C stops cleanly.  Every
 * output is persisted in the run directory (atomic writes) and in a
 * content-addressed node cache shared by all experiments of a project;
 * a node whose key (plugin, plugin file hash, options, seed, input
 * hashes) is cached is not run again.  `--resume DIR` reuses the finished
 * nodes of an interrupted run.
 */
#ifndef ASSAY_RUN_H
#define ASSAY_RUN_H

#include <signal.h>
#include <stdbool.h>

#include "graph.h"
#include "registry.h"

typedef struct run_opts {
    const char *runs_dir;   /* where run directories go ("runs") */
    const char *cache_dir;  /* node + LLM cache (".assay/cache") */
    const char *resume_dir; /* --resume: the run directory to continue */
    bool fresh;             /* ignore (but refill) the node cache */
    unsigned jobs;          /* worker threads (0: number of cores) */
    int verbosity;          /* -1 quiet, 0 normal, 1 verbose */
    const char *only;       /* run only this node and its ancestors */
    bool dry_run;           /* plan and estimate, run nothing expensive */
    const char *llm_cache_mode; /* overrides the YAML `cache:` */
    const char *const *sets; /* --set overrides, for the manifest */
    size_t nsets;
    const volatile sig_atomic_t *interrupt; /* set by the SIGINT handler */
    bool progress_tty;      /* draw a live status line */
    unsigned shard_index;   /* --shard I/N: run the per-item part of */
    unsigned shard_count;   /* shard I of N (count 0: not sharded) */
    bool isolate_all;       /* --isolate: every node in a worker process
                               (but those using the LLM service) */
    const char *const *merge_dirs; /* `assay merge`: the shard run dirs, */
    size_t nmerge;          /* in shard order */
} run_opts;

/*
 * Run `g`.  Returns 0 when every node finished, 1 when some node failed
 * or the run was interrupted, 2 on a setup problem (run directory, LLM
 * endpoints).  The run directory is written to run_dir (may be NULL).
 */
int run_graph(graph *g, registry *reg, const run_opts *o, char *run_dir,
              size_t run_dir_sz);

#endif
