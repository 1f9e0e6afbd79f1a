/*
 * core/testkit.h - run one plugin in-process through the real host, for
 * plugin unit tests (linked from libassay-core; never used by plugins
 * themselves, which link nothing of the host).
 */
#ifndef ASSAY_TESTKIT_H
#define ASSAY_TESTKIT_H

#include <assay/plugin.h>

/*
 * Load the descriptor named `name` from the shared object `so_path`
 * through the real loader (ABI and descriptor checks included).  The
 * descriptor stays valid until the process exits.  NULL with `err` filled
 * on failure.
 */
const assay_plugin *assay_testkit_load(const char *so_path, const char *name,
                                       assay_error *err);

/*
 * Run plugin `p` once as a node named "test":
 *   options_json  JSON object text ("{}" or NULL for defaults); validated
 *                 and defaulted exactly as in a graph, so bad options fail
 *                 here with the graph's message
 *   inputs        JSON object {port: value} (borrowed; may be NULL):
 *                 records and table ports take an array of objects (for a
 *                 table port the columns are inferred: all-integer ->
 *                 int64, numbers -> float64, strings -> string), json
 *                 ports any value
 *   outputs       on success a new JSON object {port: value}; table
 *                 outputs come back as arrays of row objects.  Caller
 *                 decrefs.
 * Returns 0, or the failing code with `err` filled.  The seed is 42.
 */
int assay_testkit_run(const assay_plugin *p, const char *options_json,
                      const json_t *inputs, json_t **outputs,
                      assay_error *err);

/*
 * Same, with tables given and returned as tables (for large inputs):
 * `tables`/`table_ports` (n_tables entries) are borrowed and delivered on
 * the named ports; table outputs are returned in *out_tables (a new JSON
 * object is still returned for records/json outputs).  The caller frees
 * each returned table with assay_testkit_table_free.
 */
typedef struct assay_testkit_tables {
    size_t n;
    const char *ports[16];
    assay_table *tables[16];
} assay_testkit_tables;

int assay_testkit_run_tables(const assay_plugin *p, const char *options_json,
                             const json_t *inputs,
                             const assay_testkit_tables *in_tables,
                             json_t **outputs,
                             assay_testkit_tables *out_tables,
                             assay_error *err);

/* The host's table constructors, for building test inputs. */
assay_table *assay_testkit_table_new(size_t nrows);
void *assay_testkit_table_add_col(assay_table *t, const char *name,
                                  assay_col_type type);
int assay_testkit_table_set_str(assay_table *t, size_t col, size_t row,
                                const char *s, size_t len);
void assay_testkit_table_free(assay_table *t);

#endif
