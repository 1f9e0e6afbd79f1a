/*
 * core/report/report.h - report.html: one self-contained page per run
 * (inline CSS, a few lines of inline JavaScript to sort tables, inline
 * SVG charts; nothing fetched from the network) built only from what
 * the run directory holds, so `assay report RUN_DIR` can rebuild it at
 * any time.
 *
 * What the page shows: the run's header (status, times, seed, config),
 * the key numbers, leaderboards of nodes whose summaries share their
 * metrics, the experiment graph drawn as layered SVG, a sortable table
 * of nodes (status, seconds, cache source, errors), LLM usage and cost,
 * and per node its outputs: every json summary as a sortable table with
 * charts chosen by value kind, by the port's chart hint ("bar", "line",
 * "scatter", "table", "hist", "stacked") and by an optional
 * {"report": {"charts": [...]}} object inside a json output (schema in
 * examples/plugin-template/README.md), fitted laws as scatter + curve
 * with the extrapolated region shaded, and previews of per-item values
 * (tables are cut to a few rows with a note; the page stays under
 * about 10 MB for any run).
 */
#ifndef ASSAY_REPORT_REPORT_H
#define ASSAY_REPORT_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include <assay/error.h>

#include "report/rundir.h"
#include "util.h"

/* Soft size limit of a page: detail (charts, previews) stops being added
 * past it, with a note saying so. */
#define REPORT_SOFT_LIMIT ((size_t)8 * 1000 * 1000)

/* Append the HTML page of `rd` to `out`.  0 or ASSAY_ENOMEM. */
int report_render(const rundir *rd, strbuf *out, assay_error *err);

/* Build the report of the run in `run_dir` and write it atomically to
 * `out_path`, or to <run_dir>/report.html when out_path is NULL.  The
 * path written goes to `written` (may be NULL). */
int report_write(const char *run_dir, const char *out_path, char *written,
                 size_t written_sz, assay_error *err);

/* At the end of `assay run`: write <run_dir>/report.html and, when
 * `print`, the terminal summary (key numbers, where the report is).
 * Problems become warnings on stderr: the run itself is unaffected. */
void report_finish_run(const char *run_dir, bool print);

/* ---- pieces shared with the comparison page ------------------------------ */

/* The page head (title, inline style) and opening <body>. */
void report_html_head(strbuf *o, const char *title);
/* The sorting script and the closing tags. */
void report_html_tail(strbuf *o);
/* Escaped text. */
void report_esc(strbuf *o, const char *s);
/* A numeric table cell: <td class="n" data-v="...">text</td>. */
void report_num_cell(strbuf *o, double v, bool integer);

/* A chart given as JSON (the `report.charts` schema) rendered into `o`;
 * returns 0, or ASSAY_EINVAL with `err` when the spec is unusable (the
 * caller shows the message), or ASSAY_ENOMEM. */
int report_chart_spec(strbuf *o, const json_t *spec, assay_error *err);

#endif
