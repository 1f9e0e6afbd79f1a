/*
 * assay/plugin.h - write an assay plugin.
 *
 * A plugin is a shared object that exports exactly one symbol,
 * assay_plugin_entry, returning a NULL-terminated list of descriptors.
 * Each descriptor names one plugin (e.g. "metric.bleu"): its kind, version,
 * input and output ports, options schema and callbacks.  Include this
 * header only; it pulls in the rest of the SDK.
 *
 *     #include <assay/plugin.h>
 *
 *     static const assay_port inputs[] = {
 *         {.name = "items", .type = ASSAY_T_RECORDS, .required = true,
 *          .doc = "records to count"},
 *         {0}};
 *     ...
 *     static const assay_plugin count = {
 *         ASSAY_PLUGIN_HEADER,
 *         .name = "example.count", .kind = "metric", .version = "1.0.0",
 *         .summary = "Counts records", .inputs = inputs, ...
 *         .create = count_create, .run = count_run,
 *         .destroy = count_destroy};
 *     static const assay_plugin *const list[] = {&count, NULL};
 *     ASSAY_PLUGIN_EXPORT const assay_plugin *const *
 *     assay_plugin_entry(uint32_t host_abi) { (void)host_abi; return list; }
 *
 * Lifecycle, per node of a graph:
 *   create(host, options, &state, err)   options validated and defaulted
 *   estimate(state, io, &est, err)       only for `assay run --dry-run`
 *   run(state, io, err)                  read inputs, set every output
 *   destroy(state)                       always once create set a state,
 *                                        even when create then failed
 * Plugins keep no global mutable state: instances run in parallel.
 */
#ifndef ASSAY_PLUGIN_H
#define ASSAY_PLUGIN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "host.h"
#include "llm.h"
#include "rng.h"
#include "value.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ABI version: the host refuses a plugin whose major differs; minors are
 * backward compatible (structs only grow at the end). */
#define ASSAY_ABI_MAJOR 1
#define ASSAY_ABI_MINOR 0
#define ASSAY_ABI_VERSION                                                    \
    ((uint32_t)((ASSAY_ABI_MAJOR << 16) | ASSAY_ABI_MINOR))
#define ASSAY_ABI_MAJOR_OF(v) ((uint32_t)(v) >> 16)

/* Mark the entry symbol exported (plugins build with hidden visibility). */
#if defined(__GNUC__)
#define ASSAY_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define ASSAY_PLUGIN_EXPORT
#endif

/* ---- ports --------------------------------------------------------------
 * A port array ends with an all-zero element ({0}).
 *   name      identifier [a-z0-9_]+, unique among the plugin's inputs (or
 *             outputs)
 *   type      ASSAY_T_RECORDS, ASSAY_T_TABLE, ASSAY_T_JSON or ASSAY_T_ANY;
 *             records and table connect to each other (the host converts)
 *   required  inputs only: the graph must connect it
 *   multi     inputs only: several upstream values may be connected as a
 *             YAML list; records are concatenated in list order, tables
 *             row-concatenated (same columns), json values put in an array
 *   doc       one line for `assay plugins info`
 *   chart     optional report hint for outputs ("bar", "line", "scatter",
 *             "table", "hist", "stacked"), read by the HTML report
 */
typedef struct assay_port {
    const char *name;
    assay_type type;
    bool required;
    bool multi;
    const char *doc;
    const char *chart;
    const void *reserved[2];
} assay_port;

/* ---- options ------------------------------------------------------------
 * Declared, never parsed by hand: the host checks unknown keys, types,
 * bounds and enum values (with the YAML position in the message) and fills
 * defaults before create().  An options array ends with {0}.
 *   name      identifier [a-z0-9_]+
 *   type      one of assay_opt_type
 *   required  the YAML must give it (then `def` must be NULL)
 *   def       default as JSON text: "10", "0.5", "true", "\"13a\"", "[1,2]";
 *             NULL: absent options are passed as JSON null
 *   min/max   inclusive bounds for INT and FLOAT, active when has_min /
 *             has_max is set
 *   choices   ENUM only: allowed values separated by '|', e.g. "exp|floor"
 *   doc       one line for `assay plugins info`
 * INT accepts integers; FLOAT accepts integers and reals (passed as real);
 * LIST accepts a JSON array (a scalar is wrapped in a one-element list);
 * OBJECT a mapping; ANY anything.
 */
typedef enum assay_opt_type {
    ASSAY_OPT_INT = 1,
    ASSAY_OPT_FLOAT = 2,
    ASSAY_OPT_BOOL = 3,
    ASSAY_OPT_STRING = 4,
    ASSAY_OPT_ENUM = 5,
    ASSAY_OPT_LIST = 6,
    ASSAY_OPT_OBJECT = 7,
    ASSAY_OPT_ANY = 8
} assay_opt_type;

typedef struct assay_option {
    const char *name;
    assay_opt_type type;
    bool required;
    const char *def;
    bool has_min, has_max;
    double min, max;
    const char *choices;
    const char *doc;
    const void *reserved[2];
} assay_option;

/* ---- flags: what the host may assume about a plugin ------------------- */
enum {
    /* Output for an item depends only on that item: the node may be
     * sharded across machines and its per-item outputs concatenated. */
    ASSAY_F_PER_ITEM = 1u << 0,
    /* Needs all items at once (metrics, fitters, reports): runs after the
     * merge of a sharded run. */
    ASSAY_F_ALL_ITEMS = 1u << 1,
    /* Same inputs and options (and seed) give the same outputs. */
    ASSAY_F_DETERMINISTIC = 1u << 2,
    /* Talks to models through the host's LLM service. */
    ASSAY_F_NEEDS_LLM = 1u << 3,
    /* Acts on the world outside the run directory (writes a file the user
     * named): never served from the node cache. */
    ASSAY_F_SIDE_EFFECTS = 1u << 4,
    /* Cheap and side-effect free (sources, light transforms): may run
     * during --dry-run so that downstream estimates see real input sizes. */
    ASSAY_F_CHEAP = 1u << 5,
    /* Reads state the options do not capture (a file's contents): always
     * run, never served from the node cache.  Its outputs are still hashed,
     * so nodes downstream are reused when the data did not change. */
    ASSAY_F_NO_CACHE = 1u << 6
};

/* What a node will cost, reported by estimate() for --dry-run. */
typedef struct assay_estimate {
    uint32_t struct_size;       /* set by the host */
    const char *endpoint;       /* endpoint the requests go to (borrowed
                                   from the options) */
    uint64_t llm_requests;      /* requests the node will send (upper bound
                                   where it depends on answers) */
    uint64_t prompt_tokens;     /* estimated input tokens in total */
    uint64_t completion_tokens; /* estimated output tokens in total */
} assay_estimate;

/*
 * The descriptor.  Start every initialiser with ASSAY_PLUGIN_HEADER.
 *   name      "<family>.<name>", [a-z0-9_.-]+, unique across all plugins
 *   kind      source, sink, transform, generator, judge, reviser,
 *             recommender, metric, synthesizer, verifier, scorer, fitter,
 *             llm-provider, embedder, report
 *   version   semantic version of this plugin
 *   summary   one line; doc: longer text (NULL allowed) for plugins info
 *   inputs, outputs, options: {0}-terminated arrays (NULL when empty)
 *   flags     ASSAY_F_* bits
 *   create    validate/prepare: options is the validated, defaulted JSON
 *             object (borrowed until create returns: copy what you keep);
 *             set *state (may stay NULL).  Set it as soon as the state
 *             exists: when create then fails, the host calls
 *             destroy(*state), so a half-built state is freed in one
 *             place.  Required.
 *   run       compute: read inputs, set every output port.  Required.
 *   destroy   free the state (called with whatever create set).  Required.
 *   estimate  optional: fill `est` from the options and the input sizes
 *             known so far (in_type 0: unknown)
 *   ext       kind-specific extension vtable (llm-provider: see
 *             assay/provider.h); NULL otherwise
 */
typedef struct assay_plugin {
    uint32_t abi_version;
    uint32_t struct_size;
    const char *name;
    const char *kind;
    const char *version;
    const char *summary;
    const char *doc;
    const assay_port *inputs;
    const assay_port *outputs;
    const assay_option *options;
    uint32_t flags;
    int (*create)(const assay_host *host, const json_t *options,
                  void **state, assay_error *err);
    int (*run)(void *state, assay_io *io, assay_error *err);
    void (*destroy)(void *state);
    int (*estimate)(void *state, assay_io *io, assay_estimate *est,
                    assay_error *err);
    const void *ext;
} assay_plugin;

#define ASSAY_PLUGIN_HEADER                                                  \
    .abi_version = ASSAY_ABI_VERSION, .struct_size = sizeof(assay_plugin)

/* Name and type of the entry point every plugin file exports. */
#define ASSAY_PLUGIN_ENTRY_SYMBOL "assay_plugin_entry"
typedef const assay_plugin *const *(*assay_plugin_entry_fn)(
    uint32_t host_abi_version);

/* The entry point (declared here so that plugins get the prototype). */
ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi_version);

#ifdef __cplusplus
}
#endif
#endif /* ASSAY_PLUGIN_H */
