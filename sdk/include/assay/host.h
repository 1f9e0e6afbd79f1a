/*
 * assay/host.h - the services the host offers a plugin.
 *
 * A plugin links against nothing of the host (SQLite-extension style):
 * every service arrives through the struct assay_host vtable passed to the
 * plugin's create() callback.  The plugin keeps the pointer in its state;
 * it stays valid until destroy() returns.  Each node instance gets its own
 * assay_host, so log lines, progress, seeds and paths are the node's.
 *
 * Versioning: the struct begins with abi_version and struct_size and only
 * grows at the end.  A plugin built against a newer minor version checks
 * `struct_size` (ASSAY_HOST_HAS(h, member)) before using a member it
 * knows the host may lack.
 *
 * Threads: every member may be called from any thread the plugin creates,
 * concurrently, except where noted.
 */
#ifndef ASSAY_HOST_H
#define ASSAY_HOST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "llm.h"
#include "value.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A node's inputs and outputs during one run() (opaque). */
typedef struct assay_io assay_io;

/* Log levels for host->log. */
enum {
    ASSAY_LOG_ERROR = 0,
    ASSAY_LOG_WARN = 1,
    ASSAY_LOG_INFO = 2,
    ASSAY_LOG_DEBUG = 3
};

/* Directories a plugin may ask for with host->path. */
enum {
    ASSAY_PATH_CONFIG_DIR = 1, /* directory of the experiment YAML */
    ASSAY_PATH_NODE_DIR = 2,   /* this node's folder in the run directory:
                                  artifacts a user should see go here */
    ASSAY_PATH_SCRATCH_DIR = 3,/* private temporary space, removed after
                                  the node finishes */
    ASSAY_PATH_RUN_DIR = 4     /* the run directory itself (read-only use) */
};

typedef struct assay_host assay_host;

/* True when host `h` is recent enough to have `member`. */
#define ASSAY_HOST_HAS(h, member)                                            \
    ((h)->struct_size >= offsetof(assay_host, member) + sizeof((h)->member))

struct assay_host {
    uint32_t abi_version; /* ASSAY_ABI_VERSION of the host */
    uint32_t struct_size; /* sizeof(struct assay_host) in the host */
    void *ctx;            /* the host's private node context: do not touch */

    /* ---- general services -------------------------------------------- */

    /* Log a line for this node (prefixed with the node name, written to
     * the run's log.txt and, at INFO and above, to the terminal). */
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    void (*log)(const assay_host *h, int level, const char *fmt, ...);

    /* Report progress: `done` of `total` units (`unit` like "items",
     * "epochs", "requests"; borrowed only during the call).  Cheap: call
     * it as often as you like, the host rate-limits drawing.  total 0 means
     * unknown. */
    void (*progress)(const assay_host *h, uint64_t done, uint64_t total,
                     const char *unit);

    /* True once the run is being stopped (Ctrl-C, a budget, a fatal error
     * elsewhere).  Long loops check it and return ASSAY_ECANCELED. */
    bool (*cancelled)(const assay_host *h);

    /* A 64-bit seed derived from the run's seed, the node's name and
     * `stream` (any label, NULL allowed).  Same inputs, same seed, on every
     * machine; seed an assay_rng (assay/rng.h) with it. */
    uint64_t (*seed)(const assay_host *h, const char *stream);

    /* A directory (one of ASSAY_PATH_*), absolute, without trailing slash;
     * NULL if unknown.  Borrowed until destroy(). */
    const char *(*path)(const assay_host *h, int which);

    /* Resolve a user-supplied path (an option value) against the config
     * directory: absolute paths are kept, relative ones are joined.  Fails
     * with a clear message when the result does not fit in `outsz`. */
    int (*resolve_path)(const assay_host *h, const char *path, char *out,
                        size_t outsz, assay_error *err);

    /* How many threads this node may use for its own parallel work (at
     * least 1).  Reflects the machine's cores and the user's --jobs. */
    unsigned (*threads)(const assay_host *h);

    /* The node's name in the graph (borrowed). */
    const char *(*node_name)(const assay_host *h);

    /* Release memory the host allocated for the plugin (embeddings). */
    void (*free)(void *p);

    /* ---- inputs (valid during run()/estimate(); values are borrowed and
     *      read-only; the host converts records <-> table to the port's
     *      declared type) ------------------------------------------------ */

    /* The type delivered on input `port`, or 0 when it is not connected
     * (or, during estimate(), not computed yet). */
    assay_type (*in_type)(assay_io *io, const char *port);

    /* Records on input `port` (a JSON array), or NULL if not connected. */
    const json_t *(*in_records)(assay_io *io, const char *port);

    /* Table on input `port`, or NULL if not connected. */
    const assay_table *(*in_table)(assay_io *io, const char *port);

    /* JSON value on input `port`, or NULL if not connected. */
    const json_t *(*in_json)(assay_io *io, const char *port);

    /* ---- outputs (each port set at most once per run) --------------- */

    /* Set output `port` to a records array.  Takes the reference (also on
     * failure). */
    int (*out_records)(assay_io *io, const char *port, json_t *records,
                       assay_error *err);

    /* Set output `port` to a table made with table_new.  Takes ownership
     * (also on failure). */
    int (*out_table)(assay_io *io, const char *port, assay_table *t,
                     assay_error *err);

    /* Set output `port` to any JSON value.  Takes the reference. */
    int (*out_json)(assay_io *io, const char *port, json_t *value,
                    assay_error *err);

    /* ---- building tables --------------------------------------------- */

    /* A new table of `nrows` rows and no columns, or NULL on ENOMEM. */
    assay_table *(*table_new)(size_t nrows);

    /* Append a column and return its data array (nrows elements, zeroed;
     * string columns start as all NULL and are filled with table_set_str).
     * NULL on ENOMEM or a duplicate name.  The pointer stays valid until
     * the next table_add_col/table_resize on the same table. */
    void *(*table_add_col)(assay_table *t, const char *name,
                           assay_col_type type);

    /* Copy `len` bytes of `s` (NULL: missing) into string column `col`,
     * row `row`.  Strings are stored in the table's own arena. */
    int (*table_set_str)(assay_table *t, size_t col, size_t row,
                         const char *s, size_t len);

    /* Change the row count; new rows are zero/NULL.  Column data pointers
     * must be fetched again afterwards (t->cols[i].data). */
    int (*table_resize)(assay_table *t, size_t nrows);

    /* Free a table that was not handed to out_table. */
    void (*table_free)(assay_table *t);

    /* ---- LLM service ------------------------------------------------- */

    /* Send `n` chat requests to the endpoint named `endpoint` and wait for
     * all of them.  results[i] answers reqs[i]; each must be released with
     * llm_result_clear.  Returns 0 when every request has a result (some
     * may have status FAILED or SKIPPED: per-item outcomes, not errors);
     * a negative code only when the batch as a whole could not run
     * (unknown endpoint, cache unusable, ...), with `err` filled. */
    int (*llm_batch)(const assay_host *h, const char *endpoint,
                     const assay_llm_request *reqs, size_t n,
                     assay_llm_result *results, assay_error *err);

    /* Streaming variant: results are delivered to `cb` as they arrive (on
     * this thread), and the callback may add follow-up requests with
     * llm_stream_add, so that a multi-stage method pipelines its stages
     * across items.  Returns when every request, initial and added, has
     * been delivered. */
    int (*llm_stream)(const assay_host *h, const char *endpoint,
                      const assay_llm_request *reqs, size_t n,
                      assay_llm_on_result cb, void *ud, assay_error *err);

    /* Add a request to a running stream (only from its callback).  On
     * success *index is the index it will be delivered with. */
    int (*llm_stream_add)(assay_llm_stream *s, const assay_llm_request *req,
                          size_t *index, assay_error *err);

    /* Release what a result owns and reset it. */
    void (*llm_result_clear)(assay_llm_result *r);

    /* Describe endpoint `endpoint` (provider, model, base_url, defaults,
     * never the key) as a new JSON object the caller decrefs, for recording
     * in outputs.  NULL if unknown. */
    json_t *(*llm_endpoint_info)(const assay_host *h, const char *endpoint);

    /* ---- embedding service ------------------------------------------- */

    /* Embed `n` texts with endpoint `endpoint`.  On success *vectors is an
     * n x *dim row-major array that the caller releases with h->free. */
    int (*embed)(const assay_host *h, const char *endpoint,
                 const char *const *texts, size_t n, double **vectors,
                 size_t *dim, assay_error *err);
};

#ifdef __cplusplus
}
#endif
#endif /* ASSAY_HOST_H */
