/*
 * core/graph.h - an experiment graph: the YAML document resolved against
 * the plugin registry and validated before anything runs (unknown plugin,
 * port or option with did-you-mean, type mismatches, missing required
 * inputs, cycles), then ordered topologically.
 */
#ifndef ASSAY_GRAPH_H
#define ASSAY_GRAPH_H

#include <assay/plugin.h>

#include "diag.h"
#include "registry.h"
#include "ydoc.h"

typedef struct gref {
    size_t node;            /* upstream node index */
    const assay_port *port; /* its output port */
    int line, col;
} gref;

typedef struct ginput {
    const assay_port *port; /* the plugin's input port */
    gref *refs;             /* connected values (0 = unconnected) */
    size_t nrefs;
} ginput;

typedef struct gnode {
    char *name;
    int line, col;
    const plugin_entry *plugin;
    json_t *options;        /* validated, defaulted */
    ginput *inputs;         /* one per declared input port */
    size_t ninputs;
    size_t noutputs;
    char *group_by;         /* NULL when not grouped */
    char *shard_key;        /* sources: item key for sharding ("id") */
    bool isolate;           /* run in a forked worker process */
    double timeout;         /* seconds (0: none); implies isolation */
    size_t *deps;           /* distinct upstream nodes */
    size_t ndeps;
    size_t *users;          /* distinct downstream nodes */
    size_t nusers;
} gnode;

typedef struct graph {
    char *file;             /* the YAML path as given */
    char *config_dir;       /* its absolute directory */
    char *experiment;
    uint64_t seed;
    ynode *root;            /* after ${VAR} expansion and --set */
    json_t *config;         /* the whole resolved document as JSON */
    json_t *llm;            /* the `llm:` mapping (or NULL) */
    json_t *budget;         /* the `budget:` mapping (or NULL) */
    char *cache_mode;       /* `cache:` value or NULL */
    gnode *nodes;
    size_t n;
    size_t *order;          /* a topological order of node indices */
    gref *report;           /* `report:` entries */
    size_t nreport;
} graph;

/*
 * Load, expand, override, resolve and validate.  Every problem found is
 * added to `d`; the return is non-zero when there was any.  `reg` gets the
 * YAML's plugin_dirs added.  On success *out is the graph.
 */
int graph_load(const char *path, const char *const *sets, size_t nsets,
               registry *reg, graph **out, diag *d);

/* Same from text (tests, fuzzing); `name` is used as the file name. */
int graph_load_string(const char *text, size_t len, const char *name,
                      registry *reg, graph **out, diag *d);

void graph_free(graph *g);

/* Node index by name, or -1. */
long graph_find(const graph *g, const char *name);

/* "node.port" of a ref into buf. */
const char *graph_ref_name(const graph *g, const gref *r, char *buf,
                           size_t n);

/* Write the graph as Graphviz dot or Mermaid. */
int graph_write_dot(const graph *g, FILE *f);
int graph_write_mermaid(const graph *g, FILE *f);

/* "records", "table", "json", "any". */
const char *graph_type_name(assay_type t);

#endif
