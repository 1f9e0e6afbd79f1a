/*
 * core/report/svg.h - the report's chart module: bar charts with
 * confidence whiskers, line charts (sweeps, training curves), scatter
 * plots with a fitted curve and a shaded extrapolation region, stacked
 * horizontal bars (win/tie/loss per aspect) and histograms, rendered as
 * standalone SVG elements (inline in the HTML report) with axes, ticks,
 * labels and a legend.  Every label is XML-escaped; the output is
 * well-formed XML whatever bytes the labels hold (invalid UTF-8 and
 * control characters are replaced, other Unicode is kept).
 *
 * The chart description borrows every array and string; nothing is
 * retained after svg_render returns.
 */
#ifndef ASSAY_REPORT_SVG_H
#define ASSAY_REPORT_SVG_H

#include <stdbool.h>
#include <stddef.h>

#include <assay/error.h>

#include "util.h"

typedef enum svg_kind {
    SVG_BAR = 1,     /* categories x series, vertical bars from 0 */
    SVG_LINE = 2,    /* numeric x, one polyline per series */
    SVG_SCATTER = 3, /* numeric x, markers; series with `line` as curves */
    SVG_STACKED = 4, /* categories, series stacked in horizontal bars */
    SVG_HIST = 5     /* distribution of `values` in bins */
} svg_kind;

typedef struct svg_series {
    const char *name; /* legend text (NULL: no legend entry) */
    size_t n;         /* points (bar/stacked: one per category) */
    const double *x;  /* line/scatter: x values (NULL: 1..n) */
    const double *y;  /* values; NaN points are skipped */
    const double *lo; /* optional interval (whiskers on bars, band on */
    const double *hi; /*   lines); NaN entries are skipped */
    bool line;        /* scatter: draw as a connected curve */
    bool dashed;      /* line/curve: dashed stroke */
} svg_series;

typedef struct svg_chart {
    svg_kind kind;
    const char *title;  /* may be NULL */
    const char *xlabel; /* axis titles (may be NULL) */
    const char *ylabel;
    const char *const *cats; /* bar/stacked: category labels */
    size_t ncats;
    const svg_series *series;
    size_t nseries;
    bool xlog, ylog; /* logarithmic axes (all plotted values > 0) */
    /* A shaded band of x (scatter/line), e.g. the extrapolation region. */
    bool shade;
    double shade_from, shade_to;
    const char *shade_label;
    /* hist: the sample; bins 0 picks a count (unit bins for small
     * integer ranges). */
    const double *values;
    size_t nvalues;
    size_t bins;
    bool percent;      /* stacked: normalise each bar to 100% */
    int width, height; /* pixels (0: 640 x 360) */
} svg_chart;

/* Render `c` as one <svg> element appended to `out`.  Returns 0, or
 * ASSAY_EINVAL (nothing plottable: `err` says why, nothing appended) or
 * ASSAY_ENOMEM. */
int svg_render(const svg_chart *c, strbuf *out, assay_error *err);

/* Append `s` (`n` bytes) escaped for XML text and attribute values:
 * & < > " ' as entities, C0 controls other than tab/newline and invalid
 * UTF-8 as U+FFFD; valid UTF-8 kept as is. */
int svg_escape(strbuf *out, const char *s, size_t n);

/* Axis scale: a "nice" range covering [lo, hi] and its tick values
 * (1, 2, 2.5 or 5 times a power of ten; at most `max_ticks` + 1 ticks;
 * decades on a log axis).  ticks[] receives up to 32 values. */
typedef struct svg_axis {
    double lo, hi; /* the covered range (log axes: log10 of it) */
    bool log;
    size_t nticks;
    double ticks[32]; /* in data units */
} svg_axis;
void svg_axis_nice(double lo, double hi, int max_ticks, bool log, svg_axis *ax);

/* Compact number text for ticks and labels ("0.25", "1.5e+21", "12k"
 * is never used: exact digits only).  Writes at most `n` bytes. */
void svg_fmt_num(double v, char *buf, size_t n);

#endif
