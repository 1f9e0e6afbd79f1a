/*
 * core/report/rundir.h - read a finished (or interrupted) run directory
 * back for the report, the terminal summary and run comparison:
 * manifest.json, every node's node.json (lineage, outputs with their
 * chart hints) and the stored output values (JSON, JSONL records and
 * binary tables), plus helpers that flatten metric summaries into
 * labelled numbers with their confidence intervals.
 */
#ifndef ASSAY_REPORT_RUNDIR_H
#define ASSAY_REPORT_RUNDIR_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include <assay/plugin.h>

/* One output port of a node, from node.json. */
typedef struct rd_port {
    char *name;
    char *file;      /* file name inside the node directory */
    assay_type type; /* ASSAY_T_RECORDS, _TABLE or _JSON */
    size_t count;    /* records, rows, or 1 */
    char *chart;     /* the port's chart hint, or NULL */
} rd_port;

/* One connection into a node: input port <- node.port upstream. */
typedef struct rd_edge {
    char *port;
    long from; /* index of the upstream node, -1 if unknown */
    char *from_port;
} rd_edge;

typedef struct rd_node {
    char *name;
    char *plugin;
    char *version;
    char *kind;     /* plugin kind from the manifest ("?" if unknown) */
    char *status;   /* done, failed, skipped, pending, ... */
    char *source;   /* run, cache, resumed (or "") */
    char *error;    /* or NULL */
    double seconds; /* NaN when not recorded */
    rd_port *outs;
    size_t nouts;
    rd_edge *ins;
    size_t nins;
    const json_t *options; /* borrowed from the node record, may be NULL */
    json_t *record;        /* node.json (owned; NULL when absent) */
} rd_node;

typedef struct rundir {
    char path[PATH_MAX];
    json_t *manifest; /* owned */
    rd_node *nodes;
    size_t n;
} rundir;

/* Load the run directory `path` (manifest.json is required; a node
 * without node.json is listed from the manifest with no outputs).
 * Caller frees with rundir_free. */
int rundir_load(const char *path, rundir **out, assay_error *err);
void rundir_free(rundir *rd);

/* Index of a node by name, or -1. */
long rundir_find(const rundir *rd, const char *name);

/* A port of node `n` by name, or NULL. */
const rd_port *rundir_port(const rd_node *n, const char *port);

/* Path of an output file into out (returns 0 or ASSAY_EINVAL). */
int rundir_path(const rundir *rd, const rd_node *n, const rd_port *p, char *out,
                size_t outsz);

/* Load a json output (new reference, caller decrefs). */
int rundir_json(const rundir *rd, const rd_node *n, const rd_port *p,
                json_t **out, assay_error *err);

/* ---- per-item values as columns ------------------------------------------ */

typedef enum rd_col_kind {
    RD_NUM = 1,  /* numbers and booleans (NaN: missing) */
    RD_STR = 2,  /* strings (NULL: missing) */
    RD_OTHER = 3 /* mixed, arrays or objects: text of the first rows */
} rd_col_kind;

typedef struct rd_col {
    char *name;   /* a member of an object field is "field.member" */
    char *field;  /* records: the record field ... */
    char *member; /* ... and the member inside it (NULL: the field) */
    rd_col_kind kind;
    bool binary;  /* RD_NUM whose values are all 0/1 (or booleans) */
    bool integer; /* RD_NUM whose values are all integers */
    double *num;  /* RD_NUM: nrows values */
    char **str;   /* RD_STR: nrows strings (owned, NULL missing);
                     RD_OTHER: JSON text of the first `shown` rows */
} rd_col;

typedef struct rd_items {
    size_t nrows, ncols;
    size_t shown; /* rows whose RD_OTHER text is kept */
    rd_col *cols;
} rd_items;

/* Load a records (JSONL) or table (.atb) output as columns.  Columns are
 * the union of record keys in first-seen order (a field holding objects
 * of scalars, such as {"rouge1": {"precision": .., "recall": ..}},
 * becomes one column per member, "rouge1.precision"); RD_OTHER cells keep
 * their text for the first `keep_text` rows only (cut to 200 bytes).
 * Caller frees with rd_items_free. */
int rundir_items(const rundir *rd, const rd_node *n, const rd_port *p,
                 size_t keep_text, rd_items **out, assay_error *err);
void rd_items_free(rd_items *it);

/* The first `rows` rows only (a preview), without reading the whole
 * output: JSONL stops after `rows` records, a table reads the start of
 * each column.  it->nrows is the number read; *total gets the full row
 * count when the file says it (tables), else the number read. */
int rundir_items_head(const rundir *rd, const rd_node *n, const rd_port *p,
                      size_t rows, rd_items **out, size_t *total,
                      assay_error *err);

/* Column by name, or NULL. */
const rd_col *rd_items_col(const rd_items *it, const char *name);

/* Text of a cell (numbers formatted; "" when missing) into buf. */
const char *rd_cell_text(const rd_col *c, size_t row, char *buf, size_t n);

/* ---- numbers of a json summary ------------------------------------------- */

/* One number of a summary: its path ("sampled.ndcg@10", "params.E"),
 * value and, when the summary gives one, its interval. */
typedef struct rd_num {
    char path[256];
    double v, lo, hi; /* lo/hi NaN without an interval */
    bool integer;     /* a JSON integer (counts, sizes) */
} rd_num;

typedef struct rd_nums {
    rd_num *v;
    size_t n, cap;
} rd_nums;

/* Collect the numbers of `j` depth-first in document order: `<k>_ci`
 * arrays and {value, ci}/{score, ci:{low, high}} objects become the
 * interval of their number; "report" objects, interval bookkeeping
 * (`*_ci_resamples`) and arrays longer than `max_array` are skipped.
 * Returns 0 or ASSAY_ENOMEM; free with rd_nums_free. */
int rd_flatten(const json_t *j, size_t max_array, rd_nums *out);
void rd_nums_free(rd_nums *ns);

/* An object holding "ci_low" and "ci_high" numbers: the key of the real
 * number they bound (its first real member), with the interval; NULL
 * when the object has no such pair. */
const char *rd_object_interval(const json_t *o, double *lo, double *hi);

/* Whether a json value is a two-number [lo, hi] array. */
bool rd_is_interval(const json_t *j, double *lo, double *hi);

#endif
