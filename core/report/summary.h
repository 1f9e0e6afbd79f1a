/*
 * core/report/summary.h - the key numbers of a run: the outputs listed
 * under `report:` in the experiment (or, without that list, the json
 * outputs of metric, fitter and judge nodes), flattened into labelled
 * numbers with their intervals.  Printed as an aligned table at the end
 * of `assay run`, shown at the top of report.html, and the source of the
 * key-metric column of `assay runs`.
 */
#ifndef ASSAY_REPORT_SUMMARY_H
#define ASSAY_REPORT_SUMMARY_H

#include <stdio.h>

#include "report/rundir.h"

typedef struct summary_key {
    char output[300]; /* "node.port" */
    rd_num num;       /* path inside the output, value, interval */
} summary_key;

typedef struct summary_keys {
    summary_key *v;
    size_t n, cap;
    size_t omitted; /* numbers left out by the per-output limit */
    size_t missing; /* listed outputs that were not produced */
} summary_keys;

/* Collect the key numbers of `rd`, at most `per_output` from each output
 * (settings such as bootstrap counts, CI levels and timings are left
 * out).  Free with summary_keys_free. */
int summary_collect(const rundir *rd, size_t per_output, summary_keys *out,
                    assay_error *err);
void summary_keys_free(summary_keys *k);

/* Print the end-of-run summary of `rd` to `out`: node counts and time,
 * LLM usage, the key numbers as an aligned table, failed nodes, and
 * where the report (`report_path`, may be NULL) and the run directory
 * are. */
void summary_print(FILE *out, const rundir *rd, const char *report_path);

/* "accuracy=0.805" (the first real number of the first key output) of
 * the run in `run_dir` into buf; "" when there is none. */
void summary_key_metric(const char *run_dir, char *buf, size_t n);

/* Format a number for tables: integers exactly, others with 4
 * significant digits. */
void summary_fmt(double v, bool integer, char *buf, size_t n);

#endif
