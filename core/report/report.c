/*
 * core/report/report.c - report.html (see report.h).
 *
 * The page is produced in one pass into a growable buffer.  Every text
 * that comes from the run (node names, labels, values, errors, config)
 * goes through the XML escaper of the chart module, so a label holding
 * markup cannot break the page.  Sizes are bounded everywhere: charts
 * take at most a few dozen bars or a few thousand points, previews of
 * per-item values a few rows, and once the page passes
 * REPORT_SOFT_LIMIT the remaining detail is replaced by a note.
 */
#include "report/report.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "report/summary.h"
#include "report/svg.h"
#include "store.h"

#ifndef ASSAY_VERSION
#define ASSAY_VERSION "0.0.0"
#endif

#define MAX_BARS 24         /* categories of one bar chart */
#define MAX_SERIES 10       /* series of one chart */
#define MAX_POINTS 5000     /* points of one series */
#define LINE_POINTS 1000    /* points of a curve drawn from a long array */
#define MAX_CHARTS_OUTPUT 8 /* charts drawn for one output */
#define MAX_TABLE_ROWS 200  /* rows of a json field table */
#define PREVIEW_ROWS 20     /* per-item rows shown for result nodes */
#define PREVIEW_ROWS_DATA 8 /* ... and for other nodes */
#define PREVIEW_COLS 14
#define ITEMS_MAX_LOAD 2000000 /* per-item values read for charts */

typedef struct rctx {
    const rundir *rd;
    strbuf *o;
    bool truncated;  /* detail left out for size */
    strbuf charted;  /* paths of the current output already in a chart
                        ("path\n" each) */
    bool lb_heading; /* the leaderboards section is open */
} rctx;

/* ---- html basics --------------------------------------------------------- */

void report_esc(strbuf *o, const char *s)
{
    if (s)
        svg_escape(o, s, strlen(s));
}

/* Escaped text cut to `max` bytes (on a character boundary). */
static void esc_cut(strbuf *o, const char *s, size_t max)
{
    if (!s)
        return;
    size_t n = strlen(s);
    if (n <= max) {
        svg_escape(o, s, n);
        return;
    }
    while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
        max--;
    svg_escape(o, s, max);
    sb_puts(o, "\xe2\x80\xa6");
}

void report_num_cell(strbuf *o, double v, bool integer)
{
    char b[64];
    summary_fmt(v, integer, b, sizeof b);
    if (isfinite(v))
        sb_printf(o, "<td class=\"n\" data-v=\"%.17g\">%s</td>", v, b);
    else
        sb_printf(o, "<td class=\"n\">%s</td>", isnan(v) ? "-" : b);
}

/* An id usable in href="#..." built from a node name. */
static void anchor(strbuf *o, const char *prefix, const char *name)
{
    sb_puts(o, prefix);
    for (const char *p = name; *p; p++) {
        unsigned char c = (unsigned char)*p;
        sb_printf(o, "%c", isalnum(c) || c == '-' || c == '_' ? c : '_');
    }
}

static const char CSS[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,"
    "sans-serif;margin:0 auto;max-width:1320px;padding:0 20px 40px;"
    "color:#222;background:#fff;font-size:14px;line-height:1.4}"
    "h1{font-size:24px;margin:18px 0 4px}h2{font-size:19px;margin:28px 0 "
    "8px;padding-bottom:4px;border-bottom:1px solid #ddd}"
    "h3{font-size:16px;margin:22px 0 6px}h4{font-size:14px;margin:14px 0 "
    "4px;color:#444}"
    ".badge{display:inline-block;padding:1px 8px;border-radius:10px;"
    "font-size:12px;font-weight:600;color:#fff;background:#888;"
    "vertical-align:middle}.b-ok,.b-done{background:#3a8d47}"
    ".b-failed{background:#c62828}.b-interrupted,.b-skipped{background:"
    "#9e6a00}.b-cache,.b-resumed{background:#4e79a7}"
    ".meta{color:#555;font-size:13px}.meta b{color:#222;font-weight:600}"
    "nav{margin:10px 0;font-size:13px}nav a{margin-right:14px}"
    "a{color:#2f5f8f;text-decoration:none}a:hover{text-decoration:"
    "underline}"
    "table{border-collapse:collapse;margin:6px 0 10px;font-size:13px}"
    "th,td{border-bottom:1px solid #e6e6e6;padding:3px 10px 3px 6px;"
    "text-align:left;vertical-align:top}th{background:#f4f5f7;"
    "position:sticky;top:0}table.sort th{cursor:pointer;user-select:none}"
    "table.sort th:after{content:' \\2195';color:#aaa;font-size:11px}"
    "th[data-d=a]:after{content:' \\2191';color:#333}"
    "th[data-d=d]:after{content:' \\2193';color:#333}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums;"
    "white-space:nowrap}td.err{color:#b71c1c;max-width:520px}"
    "td.best{font-weight:700;background:#eef6ee}"
    ".cards{display:flex;flex-wrap:wrap;gap:6px 28px;align-items:"
    "flex-start}.card h4{margin:8px 0 2px}"
    ".charts{display:flex;flex-wrap:wrap;gap:10px 18px;align-items:"
    "flex-start}svg.chart{max-width:100%;height:auto;border:1px solid "
    "#eee;border-radius:4px;background:#fff}"
    ".scroll{overflow:auto;max-height:760px;border:1px solid #eee;"
    "border-radius:4px}.wide{overflow-x:auto}"
    ".note{color:#666;font-size:12px;margin:2px 0 8px}"
    ".warn{color:#9e6a00}.node{margin-bottom:18px;content-visibility:"
    "auto;contain-intrinsic-size:auto 480px}"
    "details.node>summary h3{display:inline-block;margin:6px 0}"
    "code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;"
    "font-size:12px}pre{background:#f7f7f7;padding:8px;overflow:auto;"
    "max-height:480px}details>summary{cursor:pointer;color:#2f5f8f}"
    "@media print{.scroll{max-height:none}}";

/* Sort a table by the clicked header: numbers by data-v (or the text when
 * it is a number), other cells as text. */
static const char JS[] =
    "(function(){function k(c){if(!c)return'';var v=c.getAttribute("
    "'data-v');if(v!==null&&v!==''){var n=parseFloat(v);if(!isNaN(n))"
    "return n}var t=c.textContent.trim();if(/^[-+]?(\\d+\\.?\\d*|\\.\\d+)"
    "(e[-+]?\\d+)?%?$/i.test(t))return parseFloat(t);return t.toLowerCase()"
    "}var hs=document.querySelectorAll('table.sort th');for(var h=0;"
    "h<hs.length;h++){hs[h].addEventListener('click',function(){var th="
    "this,tb=th.closest('table'),b=tb.tBodies[0];if(!b)return;var i="
    "Array.prototype.indexOf.call(th.parentNode.children,th),d=th."
    "getAttribute('data-d')==='a'?'d':'a',all=tb.querySelectorAll('th');"
    "for(var j=0;j<all.length;j++)all[j].removeAttribute('data-d');th."
    "setAttribute('data-d',d);var rs=Array.prototype.slice.call(b.rows);"
    "rs.sort(function(x,y){var p=k(x.cells[i]),q=k(y.cells[i]),r;if("
    "typeof p==='number'&&typeof q==='number')r=p-q;else if(typeof p===\n"
    "'number')r=-1;else if(typeof q==='number')r=1;else r=p<q?-1:p>q?1:0;"
    "return d==='a'?r:-r});for(var m=0;m<rs.length;m++)b.appendChild(rs[m]"
    ")})}})();";

void report_html_head(strbuf *o, const char *title)
{
    sb_puts(o, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
               "charset=\"utf-8\"><meta name=\"viewport\" "
               "content=\"width=device-width,initial-scale=1\">"
               "<title>");
    report_esc(o, title);
    sb_printf(o, "</title><style>%s</style></head><body>\n", CSS);
}

void report_html_tail(strbuf *o)
{
    sb_printf(o, "<script>%s</script>\n</body></html>\n", JS);
}

static bool over_budget(rctx *c)
{
    if (c->o->len > REPORT_SOFT_LIMIT) {
        c->truncated = true;
        return true;
    }
    return false;
}

static void chart_error(strbuf *o, const char *what, const char *msg)
{
    sb_puts(o, "<p class=\"note warn\">chart ");
    report_esc(o, what);
    sb_puts(o, " not drawn: ");
    report_esc(o, msg);
    sb_puts(o, "</p>");
}

/* Render a chart into the page; a failure other than ENOMEM becomes a
 * note, so that one odd value never loses the page. */
static int draw(strbuf *o, const svg_chart *ch)
{
    assay_error err = {0};
    int rc = svg_render(ch, o, &err);
    if (rc == ASSAY_ENOMEM)
        return rc;
    if (rc)
        chart_error(o, ch->title ? ch->title : "", err.text);
    return 0;
}

/* ---- charts given as JSON (report.charts) -------------------------------- */

/* Numbers of a json array into a new double array (NaN for non-numbers);
 * at most MAX_POINTS. */
static double *num_array(const json_t *a, size_t *n)
{
    size_t k = json_array_size(a);
    if (k > MAX_POINTS)
        k = MAX_POINTS;
    *n = k;
    double *v = malloc((k ? k : 1) * sizeof *v);
    if (!v)
        return NULL;
    for (size_t i = 0; i < k; i++) {
        json_t *x = json_array_get(a, i);
        v[i] = json_is_number(x) ? json_number_value(x) : NAN;
    }
    return v;
}

typedef struct spec_mem {
    double *arrays[4 * MAX_SERIES + 4];
    size_t narrays;
    char *texts[MAX_BARS * 4];
    size_t ntexts;
} spec_mem;

static double *keep(spec_mem *m, double *p)
{
    if (!p || m->narrays >= sizeof m->arrays / sizeof *m->arrays) {
        free(p);
        return NULL;
    }
    return m->arrays[m->narrays++] = p;
}

static void spec_mem_free(spec_mem *m)
{
    for (size_t i = 0; i < m->narrays; i++)
        free(m->arrays[i]);
    for (size_t i = 0; i < m->ntexts; i++)
        free(m->texts[i]);
}

/* Interval array [[lo, hi], ...] into lo/hi arrays of length n. */
static int spec_ci(spec_mem *m, const json_t *ci, size_t n, const double **lo,
                   const double **hi)
{
    *lo = *hi = NULL;
    if (!json_is_array(ci))
        return 0;
    double *l = keep(m, malloc((n ? n : 1) * sizeof *l));
    double *h = keep(m, malloc((n ? n : 1) * sizeof *h));
    if (!l || !h)
        return ASSAY_ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (!rd_is_interval(json_array_get(ci, i), &l[i], &h[i]))
            l[i] = h[i] = NAN;
    *lo = l;
    *hi = h;
    return 0;
}

static int spec_table(strbuf *o, const json_t *spec, assay_error *err)
{
    const json_t *cols = json_object_get(spec, "columns");
    const json_t *rows = json_object_get(spec, "rows");
    if (!json_is_array(cols) || !json_is_array(rows))
        return assay_error_set(err, ASSAY_EINVAL,
                               "a table needs 'columns' and 'rows' arrays");
    const char *title = json_string_value(json_object_get(spec, "title"));
    if (title) {
        sb_puts(o, "<h4>");
        report_esc(o, title);
        sb_puts(o, "</h4>");
    }
    sb_puts(o, "<div class=\"wide\"><table class=\"sort\"><thead><tr>");
    for (size_t i = 0; i < json_array_size(cols); i++) {
        sb_puts(o, "<th>");
        const char *s = json_string_value(json_array_get(cols, i));
        report_esc(o, s ? s : "");
        sb_puts(o, "</th>");
    }
    sb_puts(o, "</tr></thead><tbody>");
    size_t nr = json_array_size(rows);
    for (size_t r = 0; r < nr && r < MAX_TABLE_ROWS; r++) {
        const json_t *row = json_array_get(rows, r);
        sb_puts(o, "<tr>");
        for (size_t i = 0; i < json_array_size(cols); i++) {
            const json_t *v = json_array_get(row, i);
            if (json_is_number(v))
                report_num_cell(o, json_number_value(v), json_is_integer(v));
            else {
                sb_puts(o, "<td>");
                if (json_is_string(v))
                    esc_cut(o, json_string_value(v), 300);
                else if (v && !json_is_null(v)) {
                    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
                    esc_cut(o, s, 300);
                    free(s);
                }
                sb_puts(o, "</td>");
            }
        }
        sb_puts(o, "</tr>");
    }
    sb_puts(o, "</tbody></table></div>");
    if (nr > MAX_TABLE_ROWS)
        sb_printf(o, "<p class=\"note\">%d of %zu rows shown.</p>",
                  MAX_TABLE_ROWS, nr);
    return o->oom ? ASSAY_ENOMEM : 0;
}

int report_chart_spec(strbuf *o, const json_t *spec, assay_error *err)
{
    const char *type = json_string_value(json_object_get(spec, "type"));
    if (!json_is_object(spec) || !type)
        return assay_error_set(err, ASSAY_EINVAL,
                               "a chart needs an object with a 'type'");
    if (!strcmp(type, "table"))
        return spec_table(o, spec, err);
    svg_chart ch = {0};
    spec_mem m = {0};
    svg_series ser[MAX_SERIES];
    const char *cats[MAX_BARS * 4];
    size_t maxcats = sizeof cats / sizeof *cats;
    int rc = 0;
    memset(ser, 0, sizeof ser);
    if (!strcmp(type, "bar"))
        ch.kind = SVG_BAR;
    else if (!strcmp(type, "line"))
        ch.kind = SVG_LINE;
    else if (!strcmp(type, "scatter"))
        ch.kind = SVG_SCATTER;
    else if (!strcmp(type, "stacked"))
        ch.kind = SVG_STACKED;
    else if (!strcmp(type, "hist"))
        ch.kind = SVG_HIST;
    else
        return assay_error_set(err, ASSAY_EINVAL,
                               "unknown chart type '%s' (bar, line, "
                               "scatter, stacked, hist, table)",
                               type);
    ch.title = json_string_value(json_object_get(spec, "title"));
    ch.xlabel = json_string_value(json_object_get(spec, "xlabel"));
    ch.ylabel = json_string_value(json_object_get(spec, "ylabel"));
    ch.xlog = json_is_true(json_object_get(spec, "xlog"));
    ch.ylog = json_is_true(json_object_get(spec, "ylog"));
    ch.percent = json_is_true(json_object_get(spec, "percent"));
    if (ch.kind == SVG_HIST) {
        size_t n;
        double *v = keep(&m, num_array(json_object_get(spec, "values"), &n));
        if (!v) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto out;
        }
        json_int_t bins = json_integer_value(json_object_get(spec, "bins"));
        ch.values = v;
        ch.nvalues = n;
        ch.bins = bins > 0 && bins <= 200 ? (size_t)bins : 0;
        rc = svg_render(&ch, o, err);
        goto out;
    }
    const json_t *x = json_object_get(spec, "x");
    bool categorical = ch.kind == SVG_BAR || ch.kind == SVG_STACKED;
    double *xs = NULL;
    size_t nx = 0;
    if (categorical) {
        if (!json_is_array(x)) {
            rc =
                assay_error_set(err, ASSAY_EINVAL,
                                "a %s chart needs 'x' (category labels)", type);
            goto out;
        }
        for (size_t i = 0; i < json_array_size(x) && i < maxcats; i++) {
            const json_t *e = json_array_get(x, i);
            char *t = json_is_string(e)
                          ? util_strndup(json_string_value(e),
                                         strlen(json_string_value(e)))
                          : json_dumps(e, JSON_COMPACT | JSON_ENCODE_ANY);
            if (!t) {
                rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
                goto out;
            }
            m.texts[m.ntexts++] = t;
            cats[ch.ncats++] = t;
        }
        ch.cats = cats;
    } else if (json_is_array(x)) {
        xs = keep(&m, num_array(x, &nx));
        if (!xs) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto out;
        }
    }
    /* series: "series": [{name, x, y, ci, line, dashed}] or top-level y */
    const json_t *sl = json_object_get(spec, "series");
    size_t ns = json_is_array(sl) ? json_array_size(sl) : 1;
    if (ns > MAX_SERIES)
        ns = MAX_SERIES;
    for (size_t s = 0; s < ns; s++) {
        const json_t *sj = json_is_array(sl) ? json_array_get(sl, s) : spec;
        svg_series *se = &ser[ch.nseries];
        size_t ny;
        double *y = keep(&m, num_array(json_object_get(sj, "y"), &ny));
        if (!y) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto out;
        }
        se->name = json_string_value(json_object_get(sj, "name"));
        se->y = y;
        se->n = ny;
        se->line = json_is_true(json_object_get(sj, "line"));
        se->dashed = json_is_true(json_object_get(sj, "dashed"));
        if (!categorical) {
            const json_t *sx = json_object_get(sj, "x");
            size_t k = 0;
            double *xv = json_is_array(sx) && sj != spec
                             ? keep(&m, num_array(sx, &k))
                             : xs;
            if (json_is_array(sx) && sj != spec && !xv) {
                rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
                goto out;
            }
            if (xv == xs)
                k = nx;
            se->x = xv;
            if (xv && k < se->n)
                se->n = k;
        } else if (se->n > ch.ncats)
            se->n = ch.ncats;
        if ((rc = spec_ci(&m, json_object_get(sj, "ci"), se->n, &se->lo,
                          &se->hi))) {
            assay_error_set(err, rc, "out of memory");
            goto out;
        }
        ch.nseries++;
    }
    ch.series = ser;
    double lo, hi;
    if (rd_is_interval(json_object_get(spec, "shade"), &lo, &hi)) {
        ch.shade = true;
        ch.shade_from = lo;
        ch.shade_to = hi;
        ch.shade_label =
            json_string_value(json_object_get(spec, "shade_label"));
    }
    rc = svg_render(&ch, o, err);
out:
    spec_mem_free(&m);
    return rc;
}

/* ---- charts chosen from a json value ------------------------------------- */

static const char *leaf_of(const char *path)
{
    const char *d = strrchr(path, '.');
    return d ? d + 1 : path;
}

/* Parent part of a path into buf ("" for a top-level key). */
static void parent_of(const char *path, char *buf, size_t n)
{
    const char *d = strrchr(path, '.');
    size_t l = d ? (size_t)(d - path) : 0;
    if (l >= n)
        l = n - 1;
    memcpy(buf, path, l);
    buf[l] = '\0';
}

/* "ndcg@10" -> base "ndcg", k = 10. */
static bool at_k(const char *leaf, char *base, size_t bn, long *k)
{
    const char *at = strrchr(leaf, '@');
    if (!at || at == leaf || !at[1])
        return false;
    char *end;
    long v = strtol(at + 1, &end, 10);
    if (*end || v <= 0)
        return false;
    size_t l = (size_t)(at - leaf);
    if (l >= bn)
        return false;
    memcpy(base, leaf, l);
    base[l] = '\0';
    *k = v;
    return true;
}

/* Timings and settings never make a chart. */
static bool chartable(const rd_num *x)
{
    const char *l = leaf_of(x->path);
    size_t n = strlen(l);
    static const char *const skip[] = {
        "bootstrap", "ci", "level", "seed", "delta", "threads", "r", "m", "k"};
    for (size_t i = 0; i < sizeof skip / sizeof *skip; i++)
        if (!strcmp(l, skip[i]))
            return false;
    if ((n >= 7 && !strcmp(l + n - 7, "seconds")) ||
        (n >= 3 && !strcmp(l + n - 3, "_ms")))
        return false;
    return !x->integer && isfinite(x->v);
}

static char *title_of(const char *prefix, const char *what)
{
    strbuf t = {0};
    sb_puts(&t, prefix);
    if (what && what[0]) {
        sb_puts(&t, " \xc2\xb7 ");
        sb_puts(&t, what);
    }
    return t.oom ? (sb_free(&t), NULL) : sb_steal(&t);
}

/* Sweeps over K: numbers named <base>@<K> that share a parent. */
static int sweep_charts(rctx *c, const char *title, rd_nums *ns, bool *used,
                        int *left)
{
    char parent[256], p2[256], base[128], b2[128];
    for (size_t i = 0; i<ns->n && * left> 0; i++) {
        long k;
        if (used[i] || !chartable(&ns->v[i]) ||
            !at_k(leaf_of(ns->v[i].path), base, sizeof base, &k))
            continue;
        parent_of(ns->v[i].path, parent, sizeof parent);
        /* the group: same parent, any base */
        char bn[MAX_SERIES][128];
        size_t nb = 0;
        long ks[32];
        size_t nk = 0;
        for (size_t j = i; j < ns->n; j++) {
            long kj;
            parent_of(ns->v[j].path, p2, sizeof p2);
            if (used[j] || !chartable(&ns->v[j]) || strcmp(p2, parent) ||
                !at_k(leaf_of(ns->v[j].path), b2, sizeof b2, &kj))
                continue;
            size_t bi = 0;
            while (bi < nb && strcmp(bn[bi], b2) != 0)
                bi++;
            if (bi == nb && nb < MAX_SERIES)
                snprintf(bn[nb++], sizeof bn[0], "%s", b2);
            size_t ki = 0;
            while (ki < nk && ks[ki] != kj)
                ki++;
            if (ki == nk && nk < 32)
                ks[nk++] = kj;
        }
        /* sort the cut-offs */
        for (size_t a = 1; a < nk; a++)
            for (size_t b = a; b > 0 && ks[b - 1] > ks[b]; b--) {
                long t = ks[b];
                ks[b] = ks[b - 1];
                ks[b - 1] = t;
            }
        size_t cells = nb * nk;
        double *y = malloc((cells ? cells : 1) * 3 * sizeof *y);
        if (!y)
            return ASSAY_ENOMEM;
        double *lo = y + cells, *hi = y + 2 * cells;
        for (size_t q = 0; q < cells * 3; q++)
            y[q] = NAN;
        for (size_t j = i; j < ns->n; j++) {
            long kj;
            parent_of(ns->v[j].path, p2, sizeof p2);
            if (used[j] || !chartable(&ns->v[j]) || strcmp(p2, parent) ||
                !at_k(leaf_of(ns->v[j].path), b2, sizeof b2, &kj))
                continue;
            size_t bi = 0, ki = 0;
            while (bi < nb && strcmp(bn[bi], b2))
                bi++;
            while (ki < nk && ks[ki] != kj)
                ki++;
            if (bi == nb || ki == nk)
                continue;
            y[bi * nk + ki] = ns->v[j].v;
            lo[bi * nk + ki] = ns->v[j].lo;
            hi[bi * nk + ki] = ns->v[j].hi;
            used[j] = true;
        }
        svg_series ser[MAX_SERIES];
        svg_chart ch = {0};
        memset(ser, 0, sizeof ser);
        double kx[32];
        const char *kc[32];
        char kn[32][24];
        char *t = title_of(title, parent);
        int rc = 0;
        if (nk >= 3) {
            for (size_t ki = 0; ki < nk; ki++)
                kx[ki] = (double)ks[ki];
            for (size_t bi = 0; bi < nb; bi++)
                ser[bi] = (svg_series){.name = bn[bi],
                                       .n = nk,
                                       .x = kx,
                                       .y = y + bi * nk,
                                       .lo = lo + bi * nk,
                                       .hi = hi + bi * nk};
            ch = (svg_chart){.kind = SVG_LINE,
                             .title = t,
                             .xlabel = "K",
                             .series = ser,
                             .nseries = nb,
                             .xlog = ks[nk - 1] >= 20 * ks[0]};
            rc = draw(c->o, &ch);
        } else {
            /* one or two cut-offs: grouped bars, measures x cut-offs */
            double *ty = malloc(3 * cells * sizeof *ty);
            if (!ty)
                rc = ASSAY_ENOMEM;
            for (size_t ki = 0; !rc && ki < nk; ki++) {
                snprintf(kn[ki], sizeof kn[ki], "@%ld", ks[ki]);
                for (size_t bi = 0; bi < nb; bi++) {
                    ty[ki * nb + bi] = y[bi * nk + ki];
                    ty[cells + ki * nb + bi] = lo[bi * nk + ki];
                    ty[2 * cells + ki * nb + bi] = hi[bi * nk + ki];
                }
                ser[ki] = (svg_series){.name = kn[ki],
                                       .n = nb,
                                       .y = ty + ki * nb,
                                       .lo = ty + cells + ki * nb,
                                       .hi = ty + 2 * cells + ki * nb};
            }
            for (size_t bi = 0; bi < nb; bi++)
                kc[bi] = bn[bi];
            char kl[40];
            snprintf(kl, sizeof kl, "at K = %ld", ks[0]);
            ch = (svg_chart){.kind = SVG_BAR,
                             .title = t,
                             .cats = kc,
                             .ncats = nb,
                             .series = ser,
                             .nseries = nk,
                             .xlabel = nk == 1 ? kl : NULL};
            if (!rc)
                rc = draw(c->o, &ch);
            free(ty);
        }
        free(t);
        free(y);
        if (rc)
            return rc;
        (*left)--;
    }
    return 0;
}

/* Bars of the remaining real numbers, by parent object and by scale:
 * values within [-1, 1] together, larger ones in groups whose largest
 * and smallest magnitude differ by at most 10x. */
/* Whether `path` lies inside a path already drawn by another chart. */
static bool in_charted(const rctx *c, const char *path)
{
    const char *s = c->charted.buf;
    while (s && *s) {
        const char *nl = strchr(s, '\n');
        size_t l = nl ? (size_t)(nl - s) : strlen(s);
        if (!strncmp(path, s, l) && path[l] == '.')
            return true;
        s = nl ? nl + 1 : s + l;
    }
    return false;
}

static int scalar_pass(rctx *c, const char *title, const rd_nums *ns,
                       bool *used, int *left, bool with_ci)
{
    char parent[256], p2[256];
    for (size_t i = 0; i<ns->n && * left> 0; i++) {
        if (used[i] || !chartable(&ns->v[i]))
            continue;
        parent_of(ns->v[i].path, parent, sizeof parent);
        /* chunks of this parent, each of one scale */
        bool tried[MAX_BARS * 8] = {0};
        for (int pass = 0; pass < 6 && *left > 0; pass++) {
            const char *cats[MAX_BARS];
            double y[MAX_BARS], lo[MAX_BARS], hi[MAX_BARS];
            size_t idx[MAX_BARS], n = 0;
            bool any_ci = false, unit = false, first = true;
            double mn = 0, mx = 0;
            for (size_t j = i; j < ns->n && n < MAX_BARS; j++) {
                const rd_num *x = &ns->v[j];
                char base[128];
                long k;
                if (used[j] || !chartable(x) ||
                    (j - i < sizeof tried && tried[j - i]))
                    continue;
                /* <metric>@<K> belong to the sweep charts */
                if (with_ci && at_k(leaf_of(x->path), base, sizeof base, &k))
                    continue;
                parent_of(x->path, p2, sizeof p2);
                if (strcmp(p2, parent))
                    continue;
                double a = fabs(x->v);
                if (first) {
                    unit = a <= 1;
                    mn = mx = a;
                    first = false;
                } else if (unit ? a > 1
                                : (a <= 1 ||
                                   (a > mx ? a : mx) / (a < mn ? a : mn) > 10))
                    continue;
                mn = a < mn ? a : mn;
                mx = a > mx ? a : mx;
                idx[n] = j;
                cats[n] = leaf_of(x->path);
                y[n] = x->v;
                lo[n] = x->lo;
                hi[n] = x->hi;
                any_ci |= isfinite(x->lo);
                n++;
            }
            if (n == 0)
                break;
            for (size_t k = 0; k < n; k++)
                if (idx[k] - i < sizeof tried)
                    tried[idx[k] - i] = true;
            /* with intervals first (one number with its interval is worth
             * a chart); without, two numbers, three in a nested object */
            if (any_ci != with_ci || (n < 2 && !any_ci) ||
                (!any_ci && parent[0] && n < 3))
                continue;
            for (size_t k = 0; k < n; k++)
                used[idx[k]] = true;
            svg_series s = {.n = n, .y = y, .lo = lo, .hi = hi};
            char *t = title_of(title, parent);
            svg_chart ch = {.kind = SVG_BAR,
                            .title = t,
                            .cats = cats,
                            .ncats = n,
                            .series = &s,
                            .nseries = 1};
            int rc = t ? draw(c->o, &ch) : ASSAY_ENOMEM;
            free(t);
            if (rc)
                return rc;
            (*left)--;
        }
    }
    return 0;
}

static int scalar_charts(rctx *c, const char *title, const rd_nums *ns,
                         bool *used, int *left)
{
    for (size_t i = 0; i < ns->n; i++)
        if (in_charted(c, ns->v[i].path))
            used[i] = true;
    int rc = scalar_pass(c, title, ns, used, left, true);
    return rc ? rc : scalar_pass(c, title, ns, used, left, false);
}

static bool all_numbers(const json_t *a, size_t min)
{
    if (!json_is_array(a) || json_array_size(a) < min)
        return false;
    for (size_t i = 0; i < json_array_size(a); i++)
        if (!json_is_number(json_array_get(a, i)))
            return false;
    return true;
}

static bool all_pairs(const json_t *a)
{
    double lo, hi;
    if (!json_is_array(a) || json_array_size(a) < 2)
        return false;
    for (size_t i = 0; i < json_array_size(a); i++)
        if (!rd_is_interval(json_array_get(a, i), &lo, &hi))
            return false;
    return true;
}

static bool is_int_key(const char *k)
{
    if (!*k)
        return false;
    for (; *k; k++)
        if (!isdigit((unsigned char)*k) && *k != '-')
            return false;
    return true;
}

/* Names of outcome counts: win(s)[_a|_b], a_wins, b_wins, tie(s),
 * draw(s), loss(es). */
static bool wtl_name(const char *k)
{
    static const char *const pre[] = {"win", "tie", "loss", "draw"};
    for (size_t i = 0; i < sizeof pre / sizeof *pre; i++)
        if (!strncasecmp(k, pre[i], strlen(pre[i])))
            return true;
    return !strcasecmp(k, "a_wins") || !strcasecmp(k, "b_wins");
}

/* Series fields of an array of objects: numeric in most rows, not
 * integer-only when `reals` (counts stay out of metric charts), no
 * interval bookkeeping. */
static size_t numeric_fields(const json_t *arr, const char **out, size_t max,
                             bool reals)
{
    const json_t *r0 = json_array_get(arr, 0);
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)r0, k, v)
    {
        if (n >= max)
            break;
        size_t l = strlen(k);
        if (l >= 3 && !strcmp(k + l - 3, "_ci"))
            continue;
        size_t num = 0, real = 0;
        for (size_t i = 0; i < json_array_size(arr); i++) {
            json_t *x = json_object_get(json_array_get(arr, i), k);
            num += json_is_number(x);
            real += json_is_real(x);
        }
        if (num * 5 >= json_array_size(arr) * 4 && (!reals || real))
            out[n++] = k;
    }
    return n;
}

static const char *label_field(const json_t *arr)
{
    const char *k;
    json_t *v;
    json_object_foreach(json_array_get(arr, 0), k,
                        v) if (json_is_string(v)) return k;
    return NULL;
}

/* Charts of an array of objects: a sweep (line over an increasing first
 * numeric field), labelled bars, or stacked bars. */
static int rows_chart(rctx *c, const char *title, const json_t *arr,
                      const char *hint)
{
    size_t nr = json_array_size(arr);
    if (nr > MAX_POINTS)
        nr = MAX_POINTS;
    const char *f[MAX_SERIES + 1];
    size_t nf = numeric_fields(arr, f, MAX_SERIES + 1, false);
    const char *lab = label_field(arr);
    if (nf == 0)
        return 0;
    double *buf = malloc((nf * 3 + 1) * nr * sizeof *buf);
    if (!buf)
        return ASSAY_ENOMEM;
    for (size_t fi = 0; fi < nf; fi++)
        for (size_t r = 0; r < nr; r++) {
            json_t *o = json_array_get(arr, r);
            json_t *x = json_object_get(o, f[fi]);
            char ck[300];
            snprintf(ck, sizeof ck, "%s_ci", f[fi]);
            buf[fi * nr + r] = json_is_number(x) ? json_number_value(x) : NAN;
            double lo = NAN, hi = NAN;
            rd_is_interval(json_object_get(o, ck), &lo, &hi);
            buf[(nf + fi) * nr + r] = lo;
            buf[(2 * nf + fi) * nr + r] = hi;
        }
    bool increasing = nr >= 3;
    for (size_t r = 1; r < nr && increasing; r++)
        increasing = buf[r] > buf[r - 1];
    svg_series ser[MAX_SERIES];
    memset(ser, 0, sizeof ser);
    svg_chart ch = {.title = title};
    int rc = 0;
    size_t outcomes = 0;
    for (size_t fi = 0; fi < nf; fi++)
        outcomes += wtl_name(f[fi]);
    bool stacked = (hint && !strcmp(hint, "stacked")) || outcomes >= 2;
    const char **cats = NULL;
    if (increasing && !stacked && nf >= 2) {
        double mn = buf[0], mx = buf[nr - 1];
        bool ypos = true;
        double ymn = INFINITY, ymx = 0;
        for (size_t fi = 1; fi < nf; fi++) {
            ser[fi - 1] = (svg_series){.name = f[fi],
                                       .n = nr,
                                       .x = buf,
                                       .y = buf + fi * nr,
                                       .lo = buf + (nf + fi) * nr,
                                       .hi = buf + (2 * nf + fi) * nr};
            for (size_t r = 0; r < nr; r++) {
                double v = buf[fi * nr + r];
                if (isfinite(v)) {
                    ypos &= v > 0;
                    ymn = v < ymn ? v : ymn;
                    ymx = v > ymx ? v : ymx;
                }
            }
        }
        ch.kind = SVG_LINE;
        ch.series = ser;
        ch.nseries = nf - 1;
        ch.xlabel = f[0];
        ch.xlog = mn > 0 && mx / mn >= 100;
        ch.ylog = ypos && ymn > 0 && ymx / ymn >= 1000;
        rc = draw(c->o, &ch);
    } else if (lab) {
        size_t nc = nr < MAX_BARS ? nr : MAX_BARS;
        cats = malloc(nc * sizeof *cats);
        if (!cats) {
            free(buf);
            return ASSAY_ENOMEM;
        }
        for (size_t r = 0; r < nc; r++) {
            cats[r] =
                json_string_value(json_object_get(json_array_get(arr, r), lab));
            if (!cats[r])
                cats[r] = "?";
        }
        size_t ns = 0;
        for (size_t fi = 0; fi < nf && ns < MAX_SERIES; fi++) {
            bool real = false;
            for (size_t r = 0; r < nc; r++)
                real |= buf[fi * nr + r] != floor(buf[fi * nr + r]);
            if (!real && !stacked)
                continue; /* counts beside rates make unreadable bars */
            if (stacked && outcomes && !wtl_name(f[fi]))
                continue; /* only the outcome counts are stacked */
            ser[ns++] = (svg_series){.name = f[fi],
                                     .n = nc,
                                     .y = buf + fi * nr,
                                     .lo = buf + (nf + fi) * nr,
                                     .hi = buf + (2 * nf + fi) * nr};
        }
        ch.kind = stacked ? SVG_STACKED : SVG_BAR;
        ch.cats = cats;
        ch.ncats = nc;
        ch.series = ser;
        ch.nseries = ns;
        ch.percent = stacked;
        if (ns)
            rc = draw(c->o, &ch);
    }
    free(cats);
    free(buf);
    return rc;
}

/* Charts of an object whose members are objects of numbers (aspects x
 * outcomes; fit statistics per data split). */
static int matrix_chart(rctx *c, const char *title, const json_t *obj,
                        const char *hint)
{
    const char *rows[MAX_BARS], *cols[MAX_SERIES];
    size_t nr = 0, nc = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        if (nr < MAX_BARS)
            rows[nr++] = k;
        const char *k2;
        json_t *v2;
        json_object_foreach(v, k2, v2)
        {
            if (!json_is_number(v2))
                continue;
            size_t i = 0;
            while (i < nc && strcmp(cols[i], k2))
                i++;
            if (i == nc && nc < MAX_SERIES)
                cols[nc++] = k2;
        }
    }
    /* a square matrix over the same labels is a confusion matrix: the
     * table shows it better than bars */
    bool square = nr == nc;
    for (size_t i = 0; square && i < nr; i++) {
        size_t j = 0;
        while (j < nc && strcmp(rows[i], cols[j]))
            j++;
        square = j < nc;
    }
    if (square || nr < 2 || nc < 1)
        return 0;
    bool stacked = (hint && !strcmp(hint, "stacked"));
    size_t outcomes = 0;
    for (size_t j = 0; j < nc; j++)
        outcomes += wtl_name(cols[j]);
    stacked |= outcomes >= 2;
    double y[MAX_SERIES][MAX_BARS];
    svg_series ser[MAX_SERIES];
    memset(ser, 0, sizeof ser);
    size_t ns = 0;
    int unit0 = -1; /* the scale of the first series drawn */
    for (size_t j = 0; j < nc; j++) {
        bool real = false;
        double mx = 0;
        for (size_t i = 0; i < nr; i++) {
            json_t *x = json_object_get(json_object_get(obj, rows[i]), cols[j]);
            y[ns][i] = json_is_number(x) ? json_number_value(x) : NAN;
            real |= json_is_real(x);
            if (isfinite(y[ns][i]) && fabs(y[ns][i]) > mx)
                mx = fabs(y[ns][i]);
        }
        if (!real && !stacked)
            continue;
        if (stacked && !wtl_name(cols[j]) &&
            !(hint && !strcmp(hint, "stacked")))
            continue;
        /* rates beside sizes make unreadable bars: one scale only */
        if (!stacked) {
            int unit = mx <= 1;
            if (unit0 < 0)
                unit0 = unit;
            else if (unit != unit0)
                continue;
        }
        ser[ns] = (svg_series){.name = cols[j], .n = nr, .y = y[ns]};
        ns++;
    }
    if (!ns)
        return 0;
    svg_chart ch = {.kind = stacked ? SVG_STACKED : SVG_BAR,
                    .title = title,
                    .cats = rows,
                    .ncats = nr,
                    .series = ser,
                    .nseries = ns,
                    .percent = stacked};
    return draw(c->o, &ch);
}

/* Walk a json output for arrays and nested objects worth a chart. */
static int struct_charts(rctx *c, const char *title, const json_t *j,
                         const char *path, const char *hint, int depth,
                         int *left)
{
    if (depth > 3 || *left <= 0)
        return 0;
    const char *k;
    json_t *v;
    int rc = 0;
    json_object_foreach((json_t *)j, k, v)
    {
        if (*left <= 0 || rc)
            break;
        if (depth == 0 && !strcmp(k, "report"))
            continue;
        char p[300];
        snprintf(p, sizeof p, "%s%s%s", path, path[0] ? "." : "", k);
        char *t = title_of(title, p);
        if (!t)
            return ASSAY_ENOMEM;
        bool drawn = true;
        bool reals = false;
        for (size_t i = 0; json_is_array(v) && i < json_array_size(v); i++)
            reals |= json_is_real(json_array_get(v, i));
        if (all_numbers(v, 3) && (reals || (hint && !strcmp(hint, "hist")))) {
            size_t n;
            double *y = num_array(v, &n);
            if (!y) {
                free(t);
                return ASSAY_ENOMEM;
            }
            /* a long curve is drawn from every step-th point (at most
             * LINE_POINTS), a histogram from all of them */
            size_t step =
                n > LINE_POINTS ? (n + LINE_POINTS - 1) / LINE_POINTS : 1;
            double *xs = NULL;
            if (step > 1 &&
                !(xs = malloc(((n + step - 1) / step) * sizeof *xs))) {
                free(y);
                free(t);
                return ASSAY_ENOMEM;
            }
            size_t m = n;
            if (step > 1) {
                for (m = 0; m * step < n; m++) {
                    xs[m] = (double)(m * step + 1);
                    y[m] = y[m * step];
                }
            }
            svg_series s = {.n = m, .x = xs, .y = y};
            svg_chart ch = {.title = t};
            if (hint && !strcmp(hint, "hist")) {
                if (step > 1) { /* undo the thinning: all values */
                    free(y);
                    y = num_array(v, &n);
                    if (!y) {
                        free(xs);
                        free(t);
                        return ASSAY_ENOMEM;
                    }
                }
                ch.kind = SVG_HIST;
                ch.values = y;
                ch.nvalues = n;
                ch.xlabel = k;
            } else {
                ch.kind = SVG_LINE;
                ch.series = &s;
                ch.nseries = 1;
                ch.xlabel =
                    strstr(k, "loss") || strstr(k, "epoch") ? "epoch" : "index";
                ch.ylabel = k;
            }
            rc = draw(c->o, &ch);
            free(y);
            free(xs);
        } else if (all_pairs(v)) {
            size_t n = json_array_size(v);
            if (n > MAX_POINTS)
                n = MAX_POINTS;
            double *xy = malloc(2 * n * sizeof *xy);
            if (!xy) {
                free(t);
                return ASSAY_ENOMEM;
            }
            for (size_t i = 0; i < n; i++)
                rd_is_interval(json_array_get(v, i), &xy[i], &xy[n + i]);
            svg_series s = {.n = n, .x = xy, .y = xy + n};
            svg_chart ch = {.kind = SVG_LINE,
                            .title = t,
                            .series = &s,
                            .nseries = 1,
                            .ylabel = k};
            rc = draw(c->o, &ch);
            free(xy);
        } else if (json_is_array(v) && json_array_size(v) >= 2 &&
                   json_is_object(json_array_get(v, 0))) {
            size_t before = c->o->len;
            rc = rows_chart(c, t, v, hint);
            drawn = c->o->len > before;
        } else if (json_is_object(v) && json_object_size(v) >= 2) {
            /* integer keys with numbers: a distribution (positions) */
            bool dist = json_object_size(v) >= 3;
            bool objs = true;
            const char *k2;
            json_t *v2;
            json_object_foreach(v, k2, v2)
            {
                dist &= is_int_key(k2) && json_is_number(v2);
                /* {value, se, ci} members are numbers with intervals,
                 * drawn by the scalar charts */
                objs &= json_is_object(v2) &&
                        !json_is_number(json_object_get(v2, "value"));
            }
            if (dist) {
                size_t n = json_object_size(v);
                if (n > 60)
                    n = 60;
                const char **cats = malloc(n * sizeof *cats);
                double *y = malloc(n * sizeof *y);
                long *key = malloc(n * sizeof *key);
                if (!cats || !y || !key) {
                    free(cats);
                    free(y);
                    free(key);
                    free(t);
                    return ASSAY_ENOMEM;
                }
                size_t i = 0;
                json_object_foreach(v, k2, v2)
                {
                    if (i == n)
                        break;
                    cats[i] = k2;
                    key[i] = strtol(k2, NULL, 10);
                    y[i++] = json_number_value(v2);
                }
                for (size_t a = 1; a < n; a++)
                    for (size_t b = a; b > 0 && key[b - 1] > key[b]; b--) {
                        long tk = key[b];
                        key[b] = key[b - 1];
                        key[b - 1] = tk;
                        double ty = y[b];
                        y[b] = y[b - 1];
                        y[b - 1] = ty;
                        const char *tc = cats[b];
                        cats[b] = cats[b - 1];
                        cats[b - 1] = tc;
                    }
                svg_series s = {.n = n, .y = y};
                svg_chart ch = {.kind = SVG_BAR,
                                .title = t,
                                .cats = cats,
                                .ncats = n,
                                .series = &s,
                                .nseries = 1,
                                .xlabel = k};
                rc = draw(c->o, &ch);
                free(cats);
                free(y);
                free(key);
            } else if (objs) {
                size_t before = c->o->len;
                rc = matrix_chart(c, t, v, hint);
                drawn = c->o->len > before;
                if (drawn) {
                    sb_puts(&c->charted, p);
                    sb_puts(&c->charted, "\n");
                }
                if (!drawn && !rc)
                    rc = struct_charts(c, title, v, p, hint, depth + 1, left);
            } else {
                drawn = false;
                rc = struct_charts(c, title, v, p, hint, depth + 1, left);
            }
        } else
            drawn = false;
        free(t);
        if (drawn)
            (*left)--;
    }
    return rc;
}

/* ---- tables of a json value ---------------------------------------------- */

typedef struct subtab {
    char path[300];
    const json_t *v;
} subtab;

typedef struct fields {
    size_t rows;
    subtab subs[8];
    size_t nsubs;
} fields;

static void field_row(strbuf *o, fields *fs, const char *path, const json_t *v,
                      double lo, double hi)
{
    if (fs->rows++ >= MAX_TABLE_ROWS)
        return;
    sb_puts(o, "<tr><td><code>");
    report_esc(o, path);
    sb_puts(o, "</code></td>");
    if (json_is_number(v))
        report_num_cell(o, json_number_value(v), json_is_integer(v));
    else if (json_is_string(v)) {
        sb_puts(o, "<td>");
        esc_cut(o, json_string_value(v), 300);
        sb_puts(o, "</td>");
    } else {
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        sb_puts(o, "<td><code>");
        esc_cut(o, s ? s : "?", 300);
        sb_puts(o, "</code></td>");
        free(s);
    }
    if (isfinite(lo) && isfinite(hi)) {
        char a[64], b[64];
        summary_fmt(lo, false, a, sizeof a);
        summary_fmt(hi, false, b, sizeof b);
        sb_printf(o, "<td class=\"n\" data-v=\"%.17g\">[%s, %s]</td></tr>", lo,
                  a, b);
    } else
        sb_puts(o, "<td></td></tr>");
}

static bool scalar_array(const json_t *a)
{
    for (size_t i = 0; i < json_array_size(a); i++) {
        const json_t *x = json_array_get(a, i);
        if (json_is_object(x) || json_is_array(x))
            return false;
    }
    return true;
}

static bool objects_of_scalars(const json_t *o)
{
    if (!json_is_object(o) || json_object_size(o) < 2)
        return false;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v)
    {
        if (!json_is_object(v) || !json_object_size(v))
            return false;
        const char *k2;
        json_t *v2;
        json_object_foreach(v, k2, v2) if (json_is_object(v2) ||
                                           json_is_array(v2)) return false;
    }
    return true;
}

static void field_rows(strbuf *o, fields *fs, const json_t *j,
                       const char *prefix, int depth)
{
    const char *k;
    json_t *v;
    char p[300];
    double olo = NAN, ohi = NAN;
    const char *owner = rd_object_interval(j, &olo, &ohi);
    json_object_foreach((json_t *)j, k, v)
    {
        if (depth == 0 && !strcmp(k, "report"))
            continue;
        size_t kl = strlen(k);
        if (kl > 3 && !strcmp(k + kl - 3, "_ci")) {
            char base[256];
            snprintf(base, sizeof base, "%.*s", (int)(kl - 3), k);
            if (json_is_number(json_object_get(j, base)))
                continue; /* shown as the interval of its number */
        }
        if (!strcmp(k, "ci") && json_is_number(json_object_get(j, "score")))
            continue;
        if (owner && (!strcmp(k, "ci_low") || !strcmp(k, "ci_high")))
            continue; /* shown as the interval of `owner` */
        snprintf(p, sizeof p, "%s%s%s", prefix, prefix[0] ? "." : "", k);
        double lo = NAN, hi = NAN;
        if (json_is_number(v)) {
            char ck[300];
            snprintf(ck, sizeof ck, "%s_ci", k);
            json_t *ci = json_object_get(j, ck);
            if (owner && !strcmp(k, owner)) {
                lo = olo;
                hi = ohi;
            } else if (!rd_is_interval(ci, &lo, &hi) && !strcmp(k, "score")) {
                json_t *c2 = json_object_get(j, "ci");
                json_t *l = json_object_get(c2, "low"),
                       *h = json_object_get(c2, "high");
                if (json_is_number(l) && json_is_number(h)) {
                    lo = json_number_value(l);
                    hi = json_number_value(h);
                }
            }
            field_row(o, fs, p, v, lo, hi);
        } else if (json_is_object(v)) {
            json_t *val = json_object_get(v, "value");
            if (json_is_number(val)) {
                if (!rd_is_interval(json_object_get(v, "ci"), &lo, &hi) &&
                    json_is_number(json_object_get(v, "ci_low")) &&
                    json_is_number(json_object_get(v, "ci_high"))) {
                    lo = json_number_value(json_object_get(v, "ci_low"));
                    hi = json_number_value(json_object_get(v, "ci_high"));
                }
                field_row(o, fs, p, val, lo, hi);
                /* the other members (se, bootstrap_se, ...) */
                const char *k2;
                json_t *v2;
                json_object_foreach(v, k2, v2)
                {
                    if (!strcmp(k2, "value") || !strcmp(k2, "ci") ||
                        (isfinite(lo) &&
                         (!strcmp(k2, "ci_low") || !strcmp(k2, "ci_high"))))
                        continue;
                    char p2[320];
                    snprintf(p2, sizeof p2, "%s.%s", p, k2);
                    field_row(o, fs, p2, v2, NAN, NAN);
                }
            } else if (objects_of_scalars(v) && fs->nsubs < 8) {
                snprintf(fs->subs[fs->nsubs].path, sizeof fs->subs[0].path,
                         "%s", p);
                fs->subs[fs->nsubs++].v = v;
            } else if (depth < 6)
                field_rows(o, fs, v, p, depth + 1);
        } else if (json_is_array(v)) {
            if (json_array_size(v) && json_is_object(json_array_get(v, 0)) &&
                fs->nsubs < 8) {
                snprintf(fs->subs[fs->nsubs].path, sizeof fs->subs[0].path,
                         "%s", p);
                fs->subs[fs->nsubs++].v = v;
            } else if (scalar_array(v) && json_array_size(v) > 12) {
                /* long lists: their size and range only */
                double mn = INFINITY, mx = -INFINITY;
                for (size_t i = 0; i < json_array_size(v); i++) {
                    json_t *x = json_array_get(v, i);
                    if (json_is_number(x)) {
                        double d = json_number_value(x);
                        mn = d < mn ? d : mn;
                        mx = d > mx ? d : mx;
                    }
                }
                char txt[160], a[64], b[64];
                summary_fmt(mn, false, a, sizeof a);
                summary_fmt(mx, false, b, sizeof b);
                if (isfinite(mn))
                    snprintf(txt, sizeof txt, "%zu values in [%s, %s]",
                             json_array_size(v), a, b);
                else
                    snprintf(txt, sizeof txt, "%zu values", json_array_size(v));
                json_t *s = json_string(txt);
                field_row(o, fs, p, s, NAN, NAN);
                json_decref(s);
            } else
                field_row(o, fs, p, v, NAN, NAN);
        } else
            field_row(o, fs, p, v, NAN, NAN);
    }
}

static void add_cols(const json_t *row, const char **cols, size_t *nc)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)row, k, v)
    {
        size_t i = 0;
        while (i < *nc && strcmp(cols[i], k))
            i++;
        if (i == *nc && *nc < 16)
            cols[(*nc)++] = k;
    }
}

/* Array of objects or object of objects as a table: one row per element,
 * one column per key (the union over the first rows, at most 16). */
static void sub_table(strbuf *o, const subtab *s)
{
    const char *cols[16];
    size_t nc = 0;
    bool arr = json_is_array(s->v);
    size_t n = arr ? json_array_size(s->v) : json_object_size(s->v);
    void *it;
    sb_puts(o, "<h4><code>");
    report_esc(o, s->path);
    sb_puts(o, "</code></h4><div class=\"wide\"><table class=\"sort\">"
               "<thead><tr>");
    if (!arr)
        sb_puts(o, "<th></th>");
    if (arr) {
        for (size_t r = 0; r < n && r < MAX_TABLE_ROWS; r++)
            add_cols(json_array_get(s->v, r), cols, &nc);
    } else {
        const char *k0;
        json_t *row;
        size_t r = 0;
        json_object_foreach((json_t *)s->v, k0, row)
        {
            if (r++ >= MAX_TABLE_ROWS)
                break;
            add_cols(row, cols, &nc);
        }
    }
    for (size_t i = 0; i < nc; i++) {
        sb_puts(o, "<th>");
        report_esc(o, cols[i]);
        sb_puts(o, "</th>");
    }
    sb_puts(o, "</tr></thead><tbody>");
    it = arr ? NULL : json_object_iter((json_t *)s->v);
    for (size_t r = 0; r < n && r < MAX_TABLE_ROWS; r++) {
        json_t *row;
        sb_puts(o, "<tr>");
        if (arr)
            row = json_array_get(s->v, r);
        else {
            row = json_object_iter_value(it);
            sb_puts(o, "<th>");
            report_esc(o, json_object_iter_key(it));
            sb_puts(o, "</th>");
            it = json_object_iter_next((json_t *)s->v, it);
        }
        for (size_t i = 0; i < nc; i++) {
            json_t *v = json_object_get(row, cols[i]);
            if (json_is_number(v))
                report_num_cell(o, json_number_value(v), json_is_integer(v));
            else if (json_is_string(v)) {
                sb_puts(o, "<td>");
                esc_cut(o, json_string_value(v), 200);
                sb_puts(o, "</td>");
            } else if (!v || json_is_null(v))
                sb_puts(o, "<td></td>");
            else {
                char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
                sb_puts(o, "<td><code>");
                esc_cut(o, t ? t : "?", 200);
                sb_puts(o, "</code></td>");
                free(t);
            }
        }
        sb_puts(o, "</tr>");
    }
    sb_puts(o, "</tbody></table></div>");
    if (n > MAX_TABLE_ROWS)
        sb_printf(o, "<p class=\"note\">%d of %zu rows shown.</p>",
                  MAX_TABLE_ROWS, n);
}

static void fields_table(strbuf *o, const json_t *j)
{
    fields fs = {0};
    if (!json_is_object(j)) {
        sb_puts(o, "<pre>");
        char *s = json_dumps(j, JSON_INDENT(1) | JSON_ENCODE_ANY);
        esc_cut(o, s ? s : "?", 4000);
        free(s);
        sb_puts(o, "</pre>");
        return;
    }
    sb_puts(o, "<table class=\"sort\"><thead><tr><th>field</th><th>value"
               "</th><th>interval</th></tr></thead><tbody>");
    field_rows(o, &fs, j, "", 0);
    sb_puts(o, "</tbody></table>");
    if (fs.rows > MAX_TABLE_ROWS)
        sb_printf(o, "<p class=\"note\">%d of %zu fields shown.</p>",
                  MAX_TABLE_ROWS, fs.rows);
    for (size_t i = 0; i < fs.nsubs; i++)
        sub_table(o, &fs.subs[i]);
}

/* ---- one json output ----------------------------------------------------- */

static bool result_kind(const char *kind);

static int json_output(rctx *c, const rd_node *n, const rd_port *p)
{
    strbuf *o = c->o;
    json_t *j = NULL;
    assay_error err = {0};
    if (rundir_json(c->rd, n, p, &j, &err)) {
        sb_puts(o, "<p class=\"note warn\">");
        report_esc(o, err.text);
        sb_puts(o, "</p>");
        return o->oom ? ASSAY_ENOMEM : 0;
    }
    char title[300];
    snprintf(title, sizeof title, "%s.%s", n->name, p->name);
    int rc = 0, left = MAX_CHARTS_OUTPUT;
    sb_puts(o, "<div class=\"charts\">");
    /* charts the plugin asked for */
    const json_t *specs =
        json_object_get(json_object_get(j, "report"), "charts");
    for (size_t i = 0; !rc && i < json_array_size(specs) && i < 32; i++) {
        assay_error e2 = {0};
        size_t before = o->len;
        int r = report_chart_spec(o, json_array_get(specs, i), &e2);
        if (r == ASSAY_ENOMEM)
            rc = r;
        else if (r) {
            char what[64];
            snprintf(what, sizeof what, "report.charts[%zu]", i);
            chart_error(o, what, e2.text);
        } else if (strstr(o->buf + before, "<svg"))
            left--; /* tables asked for do not use up the charts */
    }
    if (left < 2)
        left = 2; /* the automatic charts always get a few */
    const char *hint = p->chart;
    /* settings and sizes of sources and transforms make poor charts:
     * those get charts only when their port asks for one */
    bool table_only =
        (hint && !strcmp(hint, "table")) ||
        (!hint && !result_kind(n->kind) && strcmp(n->kind, "recommender"));
    if (!rc && !table_only && json_is_object(j) && !over_budget(c)) {
        rd_nums ns = {0};
        rc = rd_flatten(j, 0, &ns);
        bool *used = calloc(ns.n ? ns.n : 1, sizeof *used);
        if (!used)
            rc = ASSAY_ENOMEM;
        c->charted.len = 0;
        if (c->charted.buf)
            c->charted.buf[0] = '\0';
        /* numbers with intervals first, then sweeps over K, structures
         * (curves, distributions, win/tie/loss), the other numbers */
        if (!rc)
            rc = scalar_pass(c, title, &ns, used, &left, true);
        if (!rc)
            rc = sweep_charts(c, title, &ns, used, &left);
        if (!rc)
            rc = struct_charts(c, title, j, "", hint, 0, &left);
        if (!rc)
            rc = scalar_charts(c, title, &ns, used, &left);
        free(used);
        rd_nums_free(&ns);
    } else if (!rc && !table_only && json_is_array(j) && !over_budget(c)) {
        if (all_numbers(j, 3)) {
            size_t k;
            double *y = num_array(j, &k);
            svg_series s = {.n = k, .y = y};
            svg_chart ch = {.kind = hint && !strcmp(hint, "hist") ? SVG_HIST
                                                                  : SVG_LINE,
                            .title = title,
                            .series = &s,
                            .nseries = 1,
                            .values = y,
                            .nvalues = k};
            rc = y ? draw(o, &ch) : ASSAY_ENOMEM;
            free(y);
        } else if (json_array_size(j) >= 2 &&
                   json_is_object(json_array_get(j, 0)))
            rc = rows_chart(c, title, j, hint);
    }
    sb_puts(o, "</div>");
    if (!rc) {
        if (json_is_array(j) && json_array_size(j) &&
            json_is_object(json_array_get(j, 0))) {
            subtab s = {.v = j};
            snprintf(s.path, sizeof s.path, "%s", p->name);
            sub_table(o, &s);
        } else
            fields_table(o, j);
    }
    json_decref(j);
    return rc ? rc : o->oom ? ASSAY_ENOMEM : 0;
}

/* ---- per-item values ----------------------------------------------------- */

/* Identifier-like columns never make a histogram. */
static bool id_like(const char *name)
{
    static const char *const ids[] = {
        "id",  "index", "user",  "item", "query",     "qid",   "group", "uid",
        "iid", "doc",   "docno", "row",  "timestamp", "label", "n"};
    for (size_t i = 0; i < sizeof ids / sizeof *ids; i++)
        if (!strcasecmp(name, ids[i]))
            return true;
    size_t l = strlen(name);
    return (l > 3 && !strcmp(name + l - 3, "_id")) ||
           (l > 3 && !strcmp(name + l - 3, "_ms")) ||
           (l >= 7 && !strcmp(name + l - 7, "seconds"));
}

static bool result_kind(const char *kind)
{
    static const char *const k[] = {"metric", "judge",    "fitter",
                                    "scorer", "verifier", "report"};
    for (size_t i = 0; i < sizeof k / sizeof *k; i++)
        if (!strcmp(kind, k[i]))
            return true;
    return false;
}

/* Whether a numeric column varies (a constant makes a one-bar chart). */
static bool varies(const rd_col *col, size_t n)
{
    double first = NAN;
    for (size_t r = 0; r < n; r++) {
        double v = col->num[r];
        if (isnan(v))
            continue;
        if (isnan(first))
            first = v;
        else if (v != first)
            return true;
    }
    return false;
}

static void preview(strbuf *o, const rd_items *it, size_t rows, size_t total,
                    const char *file)
{
    size_t nr = it->nrows < rows ? it->nrows : rows;
    size_t nc = it->ncols < PREVIEW_COLS ? it->ncols : PREVIEW_COLS;
    char b[64];
    sb_puts(o, "<div class=\"wide\"><table class=\"sort\"><thead><tr>");
    for (size_t c = 0; c < nc; c++) {
        sb_puts(o, "<th>");
        report_esc(o, it->cols[c].name);
        sb_puts(o, "</th>");
    }
    sb_puts(o, "</tr></thead><tbody>");
    for (size_t r = 0; r < nr; r++) {
        sb_puts(o, "<tr>");
        for (size_t c = 0; c < nc; c++) {
            const rd_col *col = &it->cols[c];
            if (col->kind == RD_NUM) {
                report_num_cell(o, col->num[r], col->integer);
                continue;
            }
            sb_puts(o, "<td>");
            if (col->kind == RD_STR || r < it->shown)
                esc_cut(o, rd_cell_text(col, r, b, sizeof b), 120);
            sb_puts(o, "</td>");
        }
        sb_puts(o, "</tr>");
    }
    sb_puts(o, "</tbody></table></div><p class=\"note\">");
    if (total > nr)
        sb_printf(o, "First %zu of %zu rows", nr, total);
    else
        sb_printf(o, "%zu row%s", total, total == 1 ? "" : "s");
    if (it->ncols > nc)
        sb_printf(o, ", %zu of %zu columns", nc, it->ncols);
    sb_puts(o, "; all values in <code>");
    report_esc(o, file);
    sb_puts(o, "</code>.</p>");
}

/* Per-item rows of outcome counts (a pair and an aspect per row, wins,
 * ties, losses) as 100% stacked bars; the label of a row joins its text
 * columns that vary between rows. */
static int items_stacked(rctx *c, const rd_node *n, const rd_port *p,
                         const rd_items *it)
{
    const rd_col *labs[3], *cnt[MAX_SERIES];
    size_t nl = 0, ncnt = 0;
    for (size_t k = 0; k < it->ncols; k++) {
        const rd_col *col = &it->cols[k];
        if (col->kind == RD_STR && nl < 3) {
            bool differ = false;
            for (size_t r = 1; r < it->nrows && !differ; r++)
                differ = (col->str[r] == NULL) != (col->str[0] == NULL) ||
                         (col->str[r] && strcmp(col->str[r], col->str[0]));
            if (differ)
                labs[nl++] = col;
        } else if (col->kind == RD_NUM && wtl_name(col->name) &&
                   ncnt < MAX_SERIES)
            cnt[ncnt++] = col;
    }
    /* no outcome names: the integer columns */
    for (size_t k = 0; k < it->ncols && ncnt == 0; k++)
        if (it->cols[k].kind == RD_NUM && it->cols[k].integer &&
            !id_like(it->cols[k].name))
            cnt[ncnt++] = &it->cols[k];
    size_t nr = it->nrows < 2 * MAX_BARS ? it->nrows : 2 * MAX_BARS;
    if (!ncnt || !nr)
        return 0;
    char **names = calloc(nr, sizeof *names);
    if (!names)
        return ASSAY_ENOMEM;
    int rc = 0;
    for (size_t r = 0; r < nr && !rc; r++) {
        strbuf t = {0};
        for (size_t k = 0; k < nl; k++) {
            if (k)
                sb_puts(&t, " \xc2\xb7 ");
            sb_puts(&t, labs[k]->str[r] ? labs[k]->str[r] : "");
        }
        if (!nl)
            sb_printf(&t, "%zu", r + 1);
        if (t.oom) {
            sb_free(&t);
            rc = ASSAY_ENOMEM;
        } else
            names[r] = sb_steal(&t);
    }
    if (!rc) {
        svg_series ser[MAX_SERIES];
        for (size_t k = 0; k < ncnt; k++)
            ser[k] =
                (svg_series){.name = cnt[k]->name, .n = nr, .y = cnt[k]->num};
        char title[400];
        snprintf(title, sizeof title, "%s.%s%s", n->name, p->name,
                 nr < it->nrows ? " (first rows)" : "");
        svg_chart ch = {.kind = SVG_STACKED,
                        .title = title,
                        .cats = (const char *const *)names,
                        .ncats = nr,
                        .series = ser,
                        .nseries = ncnt,
                        .percent = true,
                        .width = 760};
        rc = draw(c->o, &ch);
    }
    for (size_t r = 0; r < nr; r++)
        free(names[r]);
    free(names);
    return rc;
}

static int items_output(rctx *c, const rd_node *n, const rd_port *p)
{
    strbuf *o = c->o;
    bool result = result_kind(n->kind);
    const char *hint = p->chart;
    bool want_charts = !over_budget(c) &&
                       ((hint && strcmp(hint, "table")) || (!hint && result));
    size_t rows = result ? PREVIEW_ROWS : PREVIEW_ROWS_DATA;
    char file[600];
    snprintf(file, sizeof file, "nodes/%s/%s", n->name, p->file);
    if (p->count == 0) {
        sb_puts(o, "<p class=\"note\">empty</p>");
        return 0;
    }
    if (p->count > ITEMS_MAX_LOAD)
        want_charts = false;
    if (over_budget(c)) {
        sb_printf(o, "<p class=\"note\">%zu %s in <code>", p->count,
                  p->type == ASSAY_T_TABLE ? "rows" : "records");
        report_esc(o, file);
        sb_puts(o, "</code> (not previewed).</p>");
        return o->oom ? ASSAY_ENOMEM : 0;
    }
    rd_items *it = NULL;
    assay_error err = {0};
    size_t total = p->count;
    /* charts need every value; a preview needs only the first rows */
    int rc = want_charts
                 ? rundir_items(c->rd, n, p, rows, &it, &err)
                 : rundir_items_head(c->rd, n, p, rows, &it, &total, &err);
    if (rc == ASSAY_ENOMEM)
        return rc;
    if (rc) {
        sb_puts(o, "<p class=\"note warn\">");
        report_esc(o, err.text);
        sb_puts(o, "</p>");
        return o->oom ? ASSAY_ENOMEM : 0;
    }
    char title[400];
    if (want_charts) {
        sb_puts(o, "<div class=\"charts\">");
        const rd_col *num[8];
        size_t nn = 0;
        for (size_t k = 0; k < it->ncols && nn < 8; k++) {
            const rd_col *col = &it->cols[k];
            if (col->kind == RD_NUM && !id_like(col->name) &&
                varies(col, it->nrows))
                num[nn++] = col;
        }
        const rd_col *lab = NULL;
        for (size_t k = 0; k < it->ncols && !lab; k++)
            if (it->cols[k].kind == RD_STR)
                lab = &it->cols[k];
        if (hint && (!strcmp(hint, "scatter") || !strcmp(hint, "line")) &&
            nn >= 2) {
            size_t np = it->nrows < MAX_POINTS ? it->nrows : MAX_POINTS;
            svg_series ser[MAX_SERIES];
            size_t ns = 0;
            for (size_t k = 1; k < nn && ns < MAX_SERIES; k++)
                ser[ns++] = (svg_series){.name = num[k]->name,
                                         .n = np,
                                         .x = num[0]->num,
                                         .y = num[k]->num};
            snprintf(title, sizeof title, "%s.%s", n->name, p->name);
            svg_chart ch = {.kind =
                                !strcmp(hint, "line") ? SVG_LINE : SVG_SCATTER,
                            .title = title,
                            .xlabel = num[0]->name,
                            .ylabel = ns == 1 ? ser[0].name : NULL,
                            .series = ser,
                            .nseries = ns};
            rc = draw(o, &ch);
        } else if (hint && !strcmp(hint, "stacked") && lab) {
            rc = items_stacked(c, n, p, it);
        } else if (hint && !strcmp(hint, "bar") && lab && nn >= 1) {
            size_t nc = it->nrows < MAX_BARS ? it->nrows : MAX_BARS;
            const char *cats[MAX_BARS];
            for (size_t r = 0; r < nc; r++)
                cats[r] = lab->str[r] ? lab->str[r] : "";
            svg_series ser[MAX_SERIES];
            size_t ns = 0;
            for (size_t k = 0; k < nn && ns < 4; k++)
                ser[ns++] = (svg_series){
                    .name = num[k]->name, .n = nc, .y = num[k]->num};
            snprintf(title, sizeof title, "%s.%s", n->name, p->name);
            svg_chart ch = {.kind = SVG_BAR,
                            .title = title,
                            .cats = cats,
                            .ncats = nc,
                            .series = ser,
                            .nseries = ns};
            rc = draw(o, &ch);
        } else {
            /* distributions of the per-item numbers */
            size_t maxh = hint && !strcmp(hint, "hist") ? 4 : 2;
            for (size_t k = 0; !rc && k < nn && k < maxh; k++) {
                snprintf(title, sizeof title, "%s.%s: %s (n = %zu)", n->name,
                         p->name, num[k]->name, it->nrows);
                svg_chart ch = {.kind = SVG_HIST,
                                .title = title,
                                .xlabel = num[k]->name,
                                .values = num[k]->num,
                                .nvalues = it->nrows,
                                .width = 480,
                                .height = 300};
                rc = draw(o, &ch);
            }
        }
        sb_puts(o, "</div>");
    }
    if (!rc) {
        /* the rows themselves are folded: the charts and the note say
         * what the output is */
        size_t nt = total > it->nrows ? total : it->nrows;
        sb_printf(o, "<details><summary>%s %zu of %zu row%s</summary>",
                  it->nrows > rows ? "first" : "all",
                  it->nrows < rows ? it->nrows : rows, nt, nt == 1 ? "" : "s");
        preview(o, it, rows, nt, file);
        sb_puts(o, "</details>");
    }
    rd_items_free(it);
    return rc ? rc : o->oom ? ASSAY_ENOMEM : 0;
}

/* ---- fitted laws: observed points, the fitted curve, extrapolation ------- */

/* A node with a `points` table (variables, y, pred) and a `curve` table
 * (var, the variables, pred, extrapolated) gets one chart per variable. */
static int fit_charts(rctx *c, const rd_node *n)
{
    const rd_port *pp = rundir_port(n, "points"), *cp = rundir_port(n, "curve");
    if (!pp || !cp || pp->type != ASSAY_T_TABLE || cp->type != ASSAY_T_TABLE ||
        over_budget(c))
        return 0;
    rd_items *pts = NULL, *cur = NULL;
    assay_error err = {0};
    int rc = 0;
    if ((rc = rundir_items(c->rd, n, pp, 0, &pts, &err)) ||
        (rc = rundir_items(c->rd, n, cp, 0, &cur, &err))) {
        if (rc != ASSAY_ENOMEM)
            rc = 0; /* unreadable: the sections below say so */
        goto out;
    }
    const rd_col *var = rd_items_col(cur, "var"),
                 *pred = rd_items_col(cur, "pred"),
                 *ext = rd_items_col(cur, "extrapolated"),
                 *y = rd_items_col(pts, "y");
    if (!var || var->kind != RD_STR || !pred || pred->kind != RD_NUM || !y ||
        y->kind != RD_NUM)
        goto out;
    /* the target's name and the fitted formula, from the params output */
    const char *target = "y";
    json_t *params = NULL;
    const rd_port *jp = rundir_port(n, "params");
    if (jp && jp->type == ASSAY_T_JSON &&
        rundir_json(c->rd, n, jp, &params, &err) == 0 &&
        json_string_value(json_object_get(params, "target")))
        target = json_string_value(json_object_get(params, "target"));
    const char *law = json_string_value(json_object_get(params, "fitted_law"));
    if (law) {
        sb_puts(c->o, "<p>Fitted: <code>");
        report_esc(c->o, law);
        sb_puts(c->o, "</code></p>");
    }
    sb_puts(c->o, "<div class=\"charts\">");
    const char *done[8];
    size_t nd = 0;
    for (size_t r = 0; r < cur->nrows && nd < 8 && !rc; r++) {
        const char *v = var->str[r];
        size_t k = 0;
        while (v && k < nd && strcmp(done[k], v))
            k++;
        if (!v || k < nd)
            continue;
        done[nd++] = v;
        const rd_col *px = rd_items_col(pts, v), *cx = rd_items_col(cur, v);
        if (!px || px->kind != RD_NUM || !cx || cx->kind != RD_NUM)
            continue;
        size_t m = 0;
        double *xs = malloc(2 * cur->nrows * sizeof *xs);
        if (!xs) {
            rc = ASSAY_ENOMEM;
            break;
        }
        double *ys = xs + cur->nrows;
        double e0 = INFINITY, e1 = -INFINITY;
        bool pos = true;
        for (size_t q = 0; q < cur->nrows; q++) {
            if (!var->str[q] || strcmp(var->str[q], v))
                continue;
            xs[m] = cx->num[q];
            ys[m++] = pred->num[q];
            pos &= cx->num[q] > 0;
            if (ext && ext->kind == RD_NUM && ext->num[q] == 1) {
                e0 = cx->num[q] < e0 ? cx->num[q] : e0;
                e1 = cx->num[q] > e1 ? cx->num[q] : e1;
            }
        }
        double mn = INFINITY, mx = -INFINITY;
        for (size_t q = 0; q < pts->nrows; q++) {
            pos &= px->num[q] > 0;
            mn = px->num[q] < mn ? px->num[q] : mn;
            mx = px->num[q] > mx ? px->num[q] : mx;
        }
        /* the shaded band starts where the data end */
        if (isfinite(e0) && isfinite(mx) && mx < e0)
            e0 = mx;
        svg_series ser[2] = {
            {.name = "observed",
             .n = pts->nrows < MAX_POINTS ? pts->nrows : MAX_POINTS,
             .x = px->num,
             .y = y->num},
            {.name = "fitted law", .n = m, .x = xs, .y = ys, .line = true}};
        char title[300];
        snprintf(title, sizeof title, "%s: %s vs %s", n->name, target, v);
        svg_chart ch = {.kind = SVG_SCATTER,
                        .title = title,
                        .xlabel = v,
                        .ylabel = target,
                        .series = ser,
                        .nseries = 2,
                        .xlog = pos && mn > 0 && e1 / mn >= 100 &&
                                (isfinite(e1) ? e1 : mx) / mn >= 100,
                        .shade = isfinite(e0) && isfinite(e1) && e1 > e0,
                        .shade_from = e0,
                        .shade_to = e1,
                        .shade_label = "extrapolation"};
        if (!ch.xlog && pos && mn > 0 && mx / mn >= 100)
            ch.xlog = true;
        rc = draw(c->o, &ch);
        free(xs);
    }
    /* several variables: observed against predicted, on the diagonal
     * when the law fits */
    const rd_col *pr = rd_items_col(pts, "pred");
    if (!rc && nd > 1 && pr && pr->kind == RD_NUM) {
        double mn = INFINITY, mx = -INFINITY;
        for (size_t q = 0; q < pts->nrows; q++)
            for (int k = 0; k < 2; k++) {
                double v = k ? pr->num[q] : y->num[q];
                if (isfinite(v)) {
                    mn = v < mn ? v : mn;
                    mx = v > mx ? v : mx;
                }
            }
        double dx[2] = {mn, mx};
        svg_series ser[2] = {
            {.name = "points",
             .n = pts->nrows < MAX_POINTS ? pts->nrows : MAX_POINTS,
             .x = pr->num,
             .y = y->num},
            {.name = "observed = predicted",
             .n = 2,
             .x = dx,
             .y = dx,
             .line = true,
             .dashed = true}};
        char title[300], xl[200];
        snprintf(title, sizeof title, "%s: observed vs predicted %s", n->name,
                 target);
        snprintf(xl, sizeof xl, "predicted %s", target);
        svg_chart ch = {.kind = SVG_SCATTER,
                        .title = title,
                        .xlabel = xl,
                        .ylabel = target,
                        .series = ser,
                        .nseries = 2};
        if (isfinite(mn))
            rc = draw(c->o, &ch);
    }
    sb_puts(c->o, "</div>");
    if (nd > 1)
        sb_puts(c->o, "<p class=\"note\">Each curve varies one variable "
                      "with the others held at their medians, so points "
                      "scatter around it; the last chart compares every "
                      "observation with its prediction.</p>");
    json_decref(params);
out:
    rd_items_free(pts);
    rd_items_free(cur);
    return rc ? rc : c->o->oom ? ASSAY_ENOMEM : 0;
}

/* ---- node sections ------------------------------------------------------- */

static const char *badge_class(const char *status)
{
    if (!strcmp(status, "done") || !strcmp(status, "ok"))
        return "b-ok";
    if (!strcmp(status, "failed"))
        return "b-failed";
    return "b-skipped";
}

/* Nodes whose outputs are results (shown first and open); the data
 * nodes (sources, transforms) follow, folded. */
static bool result_node(const rd_node *n)
{
    return result_kind(n->kind) || !strcmp(n->kind, "recommender") ||
           !strcmp(n->kind, "generator") || !strcmp(n->kind, "reviser") ||
           !strcmp(n->kind, "synthesizer") || n->error;
}

static int node_section(rctx *c, const rd_node *n)
{
    strbuf *o = c->o;
    bool fold = !result_node(n);
    sb_puts(o, fold ? "<details class=\"node\" id=\""
                    : "<div "
                      "class=\"node\" "
                      "id=\"");
    anchor(o, "n-", n->name);
    sb_puts(o, fold ? "\"><summary><h3>" : "\"><h3>");
    report_esc(o, n->name);
    sb_puts(o, " <span class=\"meta\">");
    report_esc(o, n->plugin);
    sb_puts(o, " ");
    report_esc(o, n->version);
    sb_printf(o, "</span> <span class=\"badge %s\">", badge_class(n->status));
    report_esc(o, n->status);
    sb_puts(o, fold ? "</span></h3></summary>" : "</span></h3>");
    if (n->error) {
        sb_puts(o, "<p class=\"warn\">");
        report_esc(o, n->error);
        sb_puts(o, "</p>");
    }
    int rc = fit_charts(c, n);
    for (size_t i = 0; !rc && i < n->nouts; i++) {
        const rd_port *p = &n->outs[i];
        sb_puts(o, "<h4>");
        report_esc(o, p->name);
        sb_printf(o, " <span class=\"meta\">%s",
                  p->type == ASSAY_T_JSON      ? "json"
                  : p->type == ASSAY_T_RECORDS ? "records"
                                               : "table");
        if (p->type != ASSAY_T_JSON)
            sb_printf(o, ", %zu", p->count);
        if (p->chart) {
            sb_puts(o, ", chart: ");
            report_esc(o, p->chart);
        }
        sb_puts(o, "</span></h4>");
        if (over_budget(c) && p->type == ASSAY_T_JSON &&
            c->o->len > REPORT_SOFT_LIMIT + 500000) {
            sb_puts(o, "<p class=\"note\">left out (report size limit); "
                       "see <code>");
            report_esc(o, n->name);
            sb_puts(o, "/");
            report_esc(o, p->file);
            sb_puts(o, "</code>.</p>");
            continue;
        }
        rc = p->type == ASSAY_T_JSON ? json_output(c, n, p)
                                     : items_output(c, n, p);
    }
    sb_puts(o, fold ? "</details>\n" : "</div>\n");
    return rc ? rc : o->oom ? ASSAY_ENOMEM : 0;
}

/* ---- leaderboards: nodes whose summaries share their metrics ------------- */

typedef struct lb_entry {
    size_t node;
    const rd_port *port;
    rd_nums nums;
    char sig[2048]; /* the sorted set of metric paths */
    bool grouped;
} lb_entry;

/* Metric paths: real numbers that are not settings or timings. */
static int lb_signature(lb_entry *e)
{
    strbuf sb = {0};
    for (size_t i = 0; i < e->nums.n; i++)
        if (chartable(&e->nums.v[i])) {
            sb_puts(&sb, e->nums.v[i].path);
            sb_puts(&sb, "\n");
        }
    snprintf(e->sig, sizeof e->sig, "%s", sb.buf ? sb.buf : "");
    bool oom = sb.oom;
    sb_free(&sb);
    return oom ? ASSAY_ENOMEM : 0;
}

static const rd_num *lb_get(const lb_entry *e, const char *path)
{
    for (size_t i = 0; i < e->nums.n; i++)
        if (!strcmp(e->nums.v[i].path, path))
            return &e->nums.v[i];
    return NULL;
}

/* Higher is better unless the name says otherwise. */
static bool lower_better(const char *path)
{
    static const char *const low[] = {
        "loss", "error",      "ter",     "rmse", "mape",      "mae",
        "mse",  "perplexity", "gini",    "arp",  "objective", "invalid",
        "fail", "miss",       "latency", "cost"};
    const char *l = leaf_of(path);
    for (size_t i = 0; i < sizeof low / sizeof *low; i++)
        if (strstr(l, low[i]))
            return true;
    return false;
}

static int leaderboard(rctx *c, lb_entry *es, const size_t *members, size_t nm)
{
    strbuf *o = c->o;
    const lb_entry *e0 = &es[members[0]];
    /* columns: the metrics every member reports, left out where all
     * members agree (settings, constants) */
    const char *cols[16];
    size_t nc = 0;
    for (size_t i = 0; i < e0->nums.n && nc < 16; i++) {
        const rd_num *x = &e0->nums.v[i];
        if (!chartable(x))
            continue;
        bool everywhere = true, differs = false;
        for (size_t s = 1; s < nm && everywhere; s++) {
            const rd_num *y = lb_get(&es[members[s]], x->path);
            everywhere = y && chartable(y);
            differs |= everywhere && y->v != x->v;
        }
        if (everywhere && differs)
            cols[nc++] = x->path;
    }
    if (nc == 0)
        return 0;
    if (!c->lb_heading) {
        sb_puts(o, "<section id=\"leaderboards\"><h2>Leaderboards</h2><p "
                   "class=\"note\">Nodes whose outputs report the same "
                   "metrics; the best value of each column is in bold "
                   "(lower is better for losses and errors).</p>");
        c->lb_heading = true;
    }
    sb_puts(o, "<h3>");
    report_esc(o, e0->port->name);
    sb_printf(o, " of %zu nodes</h3>", nm);
    /* chart: up to 10 metrics on the scale of the first one (within
     * [-1, 1] or not) x up to 10 nodes */
    const char *mc[MAX_BARS];
    size_t nmc = 0;
    bool unit0 = nc > 0 && fabs(lb_get(e0, cols[0])->v) <= 1;
    for (size_t k = 0; k < nc && nmc < 10; k++)
        if ((fabs(lb_get(e0, cols[k])->v) <= 1) == unit0)
            mc[nmc++] = cols[k];
    int rc = 0;
    sb_puts(o, "<div class=\"charts\">");
    if (nm <= MAX_SERIES && nmc > 0) {
        double y[MAX_SERIES][MAX_BARS], lo[MAX_SERIES][MAX_BARS],
            hi[MAX_SERIES][MAX_BARS];
        svg_series ser[MAX_SERIES];
        for (size_t s = 0; s < nm; s++) {
            const lb_entry *e = &es[members[s]];
            for (size_t k = 0; k < nmc; k++) {
                const rd_num *x = lb_get(e, mc[k]);
                y[s][k] = x ? x->v : NAN;
                lo[s][k] = x ? x->lo : NAN;
                hi[s][k] = x ? x->hi : NAN;
            }
            ser[s] = (svg_series){.name = c->rd->nodes[e->node].name,
                                  .n = nmc,
                                  .y = y[s],
                                  .lo = lo[s],
                                  .hi = hi[s]};
        }
        char title[300];
        snprintf(title, sizeof title, "%s by node", e0->port->name);
        svg_chart ch = {.kind = SVG_BAR,
                        .title = title,
                        .cats = mc,
                        .ncats = nmc,
                        .series = ser,
                        .nseries = nm,
                        .width = nmc * nm > 30 ? 900 : 640};
        rc = draw(o, &ch);
    } else if (nc > 0) {
        /* many nodes: the first metric, one bar per node */
        size_t nb = nm < MAX_BARS * 2 ? nm : MAX_BARS * 2;
        const char **cats = malloc(nb * sizeof *cats);
        double *y = malloc(3 * nb * sizeof *y);
        if (!cats || !y)
            rc = ASSAY_ENOMEM;
        for (size_t s = 0; !rc && s < nb; s++) {
            const lb_entry *e = &es[members[s]];
            const rd_num *x = lb_get(e, cols[0]);
            cats[s] = c->rd->nodes[e->node].name;
            y[s] = x ? x->v : NAN;
            y[nb + s] = x ? x->lo : NAN;
            y[2 * nb + s] = x ? x->hi : NAN;
        }
        if (!rc) {
            svg_series s = {.name = cols[0],
                            .n = nb,
                            .y = y,
                            .lo = y + nb,
                            .hi = y + 2 * nb};
            char title[400];
            snprintf(title, sizeof title, "%s: %s%s", e0->port->name, cols[0],
                     nm > nb ? " (first nodes)" : "");
            svg_chart ch = {.kind = SVG_BAR,
                            .title = title,
                            .cats = cats,
                            .ncats = nb,
                            .series = &s,
                            .nseries = 1,
                            .width = 900};
            rc = draw(o, &ch);
        }
        free(cats);
        free(y);
    }
    sb_puts(o, "</div>");
    if (rc)
        return rc;
    /* the table: best value per column in bold */
    size_t *best = calloc(nc ? nc : 1, sizeof *best);
    if (!best)
        return ASSAY_ENOMEM;
    for (size_t k = 0; k < nc; k++) {
        bool low = lower_better(cols[k]);
        double bv = NAN;
        for (size_t s = 0; s < nm; s++) {
            const rd_num *x = lb_get(&es[members[s]], cols[k]);
            if (x && isfinite(x->v) &&
                (isnan(bv) || (low ? x->v < bv : x->v > bv))) {
                bv = x->v;
                best[k] = s;
            }
        }
    }
    sb_puts(o, "<div class=\"wide\"><table class=\"sort\"><thead><tr><th>"
               "node</th><th>plugin</th>");
    for (size_t k = 0; k < nc; k++) {
        sb_puts(o, "<th>");
        report_esc(o, cols[k]);
        sb_puts(o, "</th>");
    }
    sb_puts(o, "</tr></thead><tbody>");
    size_t shown = nm < 1000 ? nm : 1000;
    for (size_t s = 0; s < shown; s++) {
        const lb_entry *e = &es[members[s]];
        const rd_node *n = &c->rd->nodes[e->node];
        sb_puts(o, "<tr><td><a href=\"#");
        anchor(o, "n-", n->name);
        sb_puts(o, "\">");
        report_esc(o, n->name);
        sb_puts(o, "</a></td><td>");
        report_esc(o, n->plugin);
        sb_puts(o, "</td>");
        for (size_t k = 0; k < nc; k++) {
            const rd_num *x = lb_get(e, cols[k]);
            char b[64], l[64], h[64];
            if (!x) {
                sb_puts(o, "<td></td>");
                continue;
            }
            summary_fmt(x->v, x->integer, b, sizeof b);
            sb_printf(o, "<td class=\"n%s\" data-v=\"%.17g\">%s",
                      nm > 1 && best[k] == s ? " best" : "", x->v, b);
            if (isfinite(x->lo) && isfinite(x->hi)) {
                summary_fmt(x->lo, false, l, sizeof l);
                summary_fmt(x->hi, false, h, sizeof h);
                sb_printf(o, " <span class=\"meta\">[%s, %s]</span>", l, h);
            }
            sb_puts(o, "</td>");
        }
        sb_puts(o, "</tr>");
    }
    sb_puts(o, "</tbody></table></div>");
    if (nm > shown)
        sb_printf(o, "<p class=\"note\">%zu of %zu nodes shown.</p>", shown,
                  nm);
    free(best);
    return o->oom ? ASSAY_ENOMEM : 0;
}

static int leaderboards(rctx *c)
{
    const rundir *rd = c->rd;
    size_t ne = 0, cap = 0;
    lb_entry *es = NULL;
    int rc = 0;
    for (size_t i = 0; i < rd->n && !rc; i++) {
        const rd_node *n = &rd->nodes[i];
        if (!strcmp(n->kind, "source") || !strcmp(n->kind, "transform"))
            continue;
        for (size_t k = 0; k < n->nouts && !rc; k++) {
            const rd_port *p = &n->outs[k];
            if (p->type != ASSAY_T_JSON)
                continue;
            json_t *j = NULL;
            assay_error err = {0};
            if (rundir_json(rd, n, p, &j, &err))
                continue;
            if (ne == cap) {
                cap = cap ? cap * 2 : 16;
                lb_entry *ns = realloc(es, cap * sizeof *ns);
                if (!ns) {
                    json_decref(j);
                    rc = ASSAY_ENOMEM;
                    break;
                }
                es = ns;
            }
            lb_entry *e = &es[ne];
            memset(e, 0, sizeof *e);
            e->node = i;
            e->port = p;
            rc = json_is_object(j) ? rd_flatten(j, 0, &e->nums) : 0;
            json_decref(j);
            ne++;
            if (!rc)
                rc = lb_signature(e);
        }
    }
    size_t *members = malloc((ne ? ne : 1) * sizeof *members);
    if (!members)
        rc = ASSAY_ENOMEM;
    /* one leaderboard per output port name shared by several nodes */
    c->lb_heading = false;
    for (size_t i = 0; i < ne && !rc; i++) {
        if (es[i].grouped || !es[i].sig[0])
            continue;
        size_t nm = 0;
        for (size_t j = i; j < ne; j++)
            if (!es[j].grouped && es[j].sig[0] &&
                !strcmp(es[j].port->name, es[i].port->name)) {
                es[j].grouped = true;
                members[nm++] = j;
            }
        if (nm >= 2)
            rc = leaderboard(c, es, members, nm);
    }
    if (c->lb_heading)
        sb_puts(c->o, "</section>\n");
    for (size_t i = 0; i < ne; i++)
        rd_nums_free(&es[i].nums);
    free(es);
    free(members);
    return rc ? rc : c->o->oom ? ASSAY_ENOMEM : 0;
}

/* ---- the experiment graph
 * ---------------------------------------------------- */

#define GBOX_W 150
#define GBOX_H 38
#define GGAP_X 22
#define GGAP_Y 46
#define GWRAP 10 /* nodes per row; wider layers wrap */

static int graph_svg(rctx *c)
{
    const rundir *rd = c->rd;
    size_t n = rd->n;
    if (!n)
        return 0;
    int rc = 0;
    long *layer = calloc(n, sizeof *layer);
    double *pos = calloc(n, sizeof *pos);
    size_t *order = malloc(n * sizeof *order);
    size_t *row = calloc(n, sizeof *row), *col = calloc(n, sizeof *col);
    double *gx = calloc(n, sizeof *gx), *gy = calloc(n, sizeof *gy);
    if (!layer || !pos || !order || !row || !col || !gx || !gy) {
        rc = ASSAY_ENOMEM;
        goto out;
    }
    /* longest path from the sources (the graph is acyclic; n passes
     * bound the work even if a manifest were not) */
    for (size_t pass = 0; pass < n; pass++) {
        bool changed = false;
        for (size_t i = 0; i < n; i++)
            for (size_t k = 0; k < rd->nodes[i].nins; k++) {
                long f = rd->nodes[i].ins[k].from;
                if (f >= 0 && layer[f] + 1 > layer[i]) {
                    layer[i] = layer[f] + 1;
                    changed = true;
                }
            }
        if (!changed)
            break;
    }
    long nl = 0;
    for (size_t i = 0; i < n; i++)
        nl = layer[i] + 1 > nl ? layer[i] + 1 : nl;
    /* order inside layers: manifest order, then two barycentre sweeps */
    for (size_t i = 0; i < n; i++)
        pos[i] = (double)i;
    for (int sweep = 0; sweep < 2; sweep++) {
        for (size_t i = 0; i < n; i++) {
            double s = 0;
            size_t m = 0;
            for (size_t k = 0; k < rd->nodes[i].nins; k++)
                if (rd->nodes[i].ins[k].from >= 0) {
                    s += pos[rd->nodes[i].ins[k].from];
                    m++;
                }
            if (m)
                pos[i] = s / (double)m + (double)i * 1e-6;
        }
        /* renumber within each layer */
        for (size_t i = 0; i < n; i++)
            order[i] = i;
        for (size_t a = 1; a < n; a++)
            for (size_t b = a; b > 0; b--) {
                size_t x = order[b - 1], y = order[b];
                bool gt = layer[x] > layer[y] ||
                          (layer[x] == layer[y] && pos[x] > pos[y]);
                if (!gt)
                    break;
                order[b - 1] = y;
                order[b] = x;
            }
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            if (i > 0 && layer[order[i]] != layer[order[i - 1]])
                k = 0;
            pos[order[i]] = (double)k++;
        }
    }
    /* rows: a layer of m nodes takes ceil(m / GWRAP) rows */
    size_t rows = 0, widest = 1;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && layer[order[j]] == layer[order[i]])
            j++;
        size_t m = j - i;
        for (size_t q = 0; q < m; q++) {
            row[order[i + q]] = rows + q / GWRAP;
            col[order[i + q]] = q % GWRAP;
        }
        size_t w = m < GWRAP ? m : GWRAP;
        widest = w > widest ? w : widest;
        rows += (m + GWRAP - 1) / GWRAP;
        i = j;
    }
    double W = (double)widest * (GBOX_W + GGAP_X) + GGAP_X;
    double H = (double)rows * (GBOX_H + GGAP_Y) + GGAP_Y / 2.0;
    /* centre every row */
    size_t *inrow = calloc(rows ? rows : 1, sizeof *inrow);
    if (!inrow) {
        rc = ASSAY_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        inrow[row[i]]++;
    for (size_t i = 0; i < n; i++) {
        double rw = (double)inrow[row[i]] * (GBOX_W + GGAP_X) - GGAP_X;
        gx[i] = (W - rw) / 2 + (double)col[i] * (GBOX_W + GGAP_X);
        gy[i] = GGAP_Y / 4.0 + (double)row[i] * (GBOX_H + GGAP_Y);
    }
    free(inrow);
    strbuf *o = c->o;
    sb_printf(o,
              "<div class=\"scroll\"><svg xmlns=\"http://www.w3.org/2000/"
              "svg\" class=\"graph\" width=\"%.0f\" height=\"%.0f\" "
              "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" "
              "font-size=\"11\"><title>experiment graph</title><defs>"
              "<marker id=\"arr\" viewBox=\"0 0 10 10\" refX=\"10\" "
              "refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" "
              "orient=\"auto\"><path d=\"M0 0L10 5L0 10z\" "
              "fill=\"#888\"/></marker></defs>",
              W, H, W, H);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < rd->nodes[i].nins; k++) {
            long f = rd->nodes[i].ins[k].from;
            if (f < 0)
                continue;
            double x1 = gx[f] + GBOX_W / 2.0, y1 = gy[f] + GBOX_H,
                   x2 = gx[i] + GBOX_W / 2.0, y2 = gy[i];
            double dy = (y2 - y1) / 2 > 20 ? (y2 - y1) / 2 : 20;
            sb_printf(o,
                      "<path d=\"M%.1f %.1fC%.1f %.1f %.1f %.1f %.1f "
                      "%.1f\" fill=\"none\" stroke=\"#999\" "
                      "stroke-width=\"1.2\" marker-end=\"url(#arr)\">"
                      "<title>",
                      x1, y1, x1, y1 + dy, x2, y2 - dy, x2, y2);
            report_esc(o, rd->nodes[f].name);
            sb_puts(o, ".");
            report_esc(o, rd->nodes[i].ins[k].from_port);
            sb_puts(o, " \xe2\x86\x92 ");
            report_esc(o, rd->nodes[i].name);
            sb_puts(o, ".");
            report_esc(o, rd->nodes[i].ins[k].port);
            sb_puts(o, "</title></path>");
        }
    for (size_t i = 0; i < n; i++) {
        const rd_node *nd = &rd->nodes[i];
        const char *fill = "#fff8e1", *stroke = "#c9a227", *dash = "";
        if (!strcmp(nd->status, "done")) {
            bool reused = nd->source[0] && strcmp(nd->source, "run");
            fill = reused ? "#e8f0f8" : "#e8f5e9";
            stroke = reused ? "#4e79a7" : "#3a8d47";
            dash = reused ? " stroke-dasharray=\"4 2\"" : "";
        } else if (!strcmp(nd->status, "failed")) {
            fill = "#fdecea";
            stroke = "#c62828";
        } else if (!strcmp(nd->status, "skipped") ||
                   !strcmp(nd->status, "omitted")) {
            fill = "#f2f2f2";
            stroke = "#999";
        }
        sb_puts(o, "<a href=\"#");
        anchor(o, "n-", nd->name);
        sb_printf(o,
                  "\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%d\" "
                  "height=\"%d\" rx=\"6\" fill=\"%s\" stroke=\"%s\" "
                  "stroke-width=\"1.5\"%s><title>",
                  gx[i], gy[i], GBOX_W, GBOX_H, fill, stroke, dash);
        report_esc(o, nd->name);
        sb_puts(o, " (");
        report_esc(o, nd->plugin);
        sb_puts(o, "): ");
        report_esc(o, nd->status);
        if (nd->source[0]) {
            sb_puts(o, ", ");
            report_esc(o, nd->source);
        }
        if (isfinite(nd->seconds))
            sb_printf(o, ", %.3fs", nd->seconds);
        sb_printf(o,
                  "</title></rect><text x=\"%.1f\" y=\"%.1f\" "
                  "text-anchor=\"middle\" font-weight=\"bold\">",
                  gx[i] + GBOX_W / 2.0, gy[i] + 16);
        esc_cut(o, nd->name, 22);
        sb_printf(o,
                  "</text><text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\""
                  " font-size=\"10\" fill=\"#555\">",
                  gx[i] + GBOX_W / 2.0, gy[i] + 30);
        esc_cut(o, nd->plugin, 26);
        sb_puts(o, "</text></a>");
    }
    sb_puts(o, "</svg></div><p class=\"note\">Green: run; blue, dashed: "
               "reused from the cache or an earlier run; red: failed; "
               "grey: skipped. Click a node for its outputs.</p>");
out:
    free(layer);
    free(pos);
    free(order);
    free(row);
    free(col);
    free(gx);
    free(gy);
    return rc ? rc : c->o->oom ? ASSAY_ENOMEM : 0;
}

/* ---- tables of the run
 * -------------------------------------------------------- */

static void outputs_text(strbuf *o, const rd_node *n)
{
    for (size_t i = 0; i < n->nouts; i++) {
        const rd_port *p = &n->outs[i];
        if (i)
            sb_puts(o, ", ");
        report_esc(o, p->name);
        if (p->type == ASSAY_T_JSON)
            sb_puts(o, " (json)");
        else
            sb_printf(o, " (%zu %s)", p->count,
                      p->type == ASSAY_T_TABLE ? "rows" : "records");
    }
}

static void nodes_table(rctx *c)
{
    strbuf *o = c->o;
    sb_puts(o, "<section id=\"nodes\"><h2>Nodes</h2><div class=\"wide\">"
               "<table class=\"sort\"><thead><tr><th>node</th><th>plugin"
               "</th><th>kind</th><th>status</th><th>source</th><th>"
               "seconds</th><th>outputs</th><th>error</th></tr></thead>"
               "<tbody>");
    for (size_t i = 0; i < c->rd->n; i++) {
        const rd_node *n = &c->rd->nodes[i];
        sb_puts(o, "<tr><td><a href=\"#");
        anchor(o, "n-", n->name);
        sb_puts(o, "\">");
        report_esc(o, n->name);
        sb_puts(o, "</a></td><td>");
        report_esc(o, n->plugin);
        sb_puts(o, " <span class=\"meta\">");
        report_esc(o, n->version);
        sb_puts(o, "</span></td><td>");
        report_esc(o, n->kind);
        sb_printf(o, "</td><td><span class=\"badge %s\">",
                  badge_class(n->status));
        report_esc(o, n->status);
        sb_puts(o, "</span></td><td>");
        report_esc(o, n->source);
        sb_puts(o, "</td>");
        report_num_cell(o, n->seconds, false);
        sb_puts(o, "<td>");
        outputs_text(o, n);
        sb_puts(o, "</td><td class=\"err\">");
        if (n->error)
            esc_cut(o, n->error, 600);
        sb_puts(o, "</td></tr>");
    }
    sb_puts(o, "</tbody></table></div></section>\n");
}

static void llm_row(strbuf *o, const char *name, const json_t *s, bool endpoint)
{
    sb_puts(o, "<tr><td>");
    report_esc(o, name);
    sb_puts(o, "</td>");
    if (endpoint) {
        sb_puts(o, "<td>");
        report_esc(o, json_string_value(json_object_get(s, "provider")));
        sb_puts(o, "</td><td>");
        report_esc(o, json_string_value(json_object_get(s, "model")));
        sb_puts(o, "</td>");
    }
    static const char *const ints[] = {"requests",      "cached",
                                       "retried",       "failed",
                                       "prompt_tokens", "completion_tokens"};
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++)
        report_num_cell(
            o, (double)json_integer_value(json_object_get(s, ints[i])), true);
    report_num_cell(o, json_number_value(json_object_get(s, "cost")), false);
    const json_t *lat = json_object_get(s, "latency_ms");
    report_num_cell(o, json_number_value(json_object_get(lat, "p50")), false);
    report_num_cell(o, json_number_value(json_object_get(lat, "p90")), false);
    sb_puts(o, "</tr>");
}

static void llm_head(strbuf *o, const char *first, bool endpoint)
{
    sb_puts(o, "<div class=\"wide\"><table class=\"sort\"><thead><tr><th>");
    sb_puts(o, first);
    sb_puts(o, "</th>");
    if (endpoint)
        sb_puts(o, "<th>provider</th><th>model</th>");
    sb_puts(o, "<th>requests</th><th>cached</th><th>retried</th><th>failed"
               "</th><th>prompt tokens</th><th>completion tokens</th><th>"
               "cost</th><th>p50 ms</th><th>p90 ms</th></tr></thead>"
               "<tbody>");
}

static int llm_section(rctx *c)
{
    const json_t *llm = json_object_get(c->rd->manifest, "llm");
    const json_t *eps = json_object_get(llm, "endpoints");
    if (!json_object_size(eps))
        return 0;
    strbuf *o = c->o;
    sb_puts(o, "<section id=\"llm\"><h2>LLM usage and cost</h2>");
    llm_head(o, "endpoint", true);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)eps, k, v) llm_row(o, k, v, true);
    sb_puts(o, "</tbody></table></div>");
    const json_t *nodes = json_object_get(llm, "nodes");
    if (json_object_size(nodes)) {
        llm_head(o, "node", false);
        json_object_foreach((json_t *)nodes, k, v) llm_row(o, k, v, false);
        sb_puts(o, "</tbody></table></div>");
        /* cost and tokens per node, when more than one node talks */
        size_t nn = json_object_size(nodes);
        if (nn >= 2 && nn <= MAX_BARS && !over_budget(c)) {
            const char *cats[MAX_BARS];
            double pt[MAX_BARS], ct[MAX_BARS];
            size_t i = 0;
            json_object_foreach((json_t *)nodes, k, v)
            {
                cats[i] = k;
                pt[i] = (double)json_integer_value(
                    json_object_get(v, "prompt_tokens"));
                ct[i++] = (double)json_integer_value(
                    json_object_get(v, "completion_tokens"));
            }
            svg_series s[2] = {{.name = "prompt", .n = nn, .y = pt},
                               {.name = "completion", .n = nn, .y = ct}};
            svg_chart ch = {.kind = SVG_STACKED,
                            .title = "tokens per node",
                            .cats = cats,
                            .ncats = nn,
                            .series = s,
                            .nseries = 2};
            if (draw(o, &ch))
                return ASSAY_ENOMEM;
        }
    }
    const json_t *b = json_object_get(llm, "budget");
    if (b) {
        sb_printf(o,
                  "<p class=\"meta\">Run total: <b>%lld</b> requests, "
                  "<b>%lld</b> tokens, cost <b>%.4f</b>",
                  (long long)json_integer_value(json_object_get(b, "requests")),
                  (long long)json_integer_value(json_object_get(b, "tokens")),
                  json_number_value(json_object_get(b, "cost")));
        if (json_is_number(json_object_get(b, "max_cost")))
            sb_printf(o, " (budget %.4f)",
                      json_number_value(json_object_get(b, "max_cost")));
        sb_puts(o, ".</p>");
    }
    sb_puts(o, "</section>\n");
    return o->oom ? ASSAY_ENOMEM : 0;
}

/* A per-item output listed under `report:` (a leaderboard of models, a
 * sweep): every row as a table, and a chart of its real-valued columns:
 * a line over the first numeric column when it increases and no label
 * column names the rows, else bars per labelled row. */
static int key_items(rctx *c, const rd_node *n, const rd_port *p)
{
    strbuf *o = c->o;
    rd_items *it = NULL;
    assay_error err = {0};
    int rc = rundir_items(c->rd, n, p, 200, &it, &err);
    if (rc == ASSAY_ENOMEM)
        return rc;
    if (rc)
        return 0;
    char title[300];
    snprintf(title, sizeof title, "%s.%s", n->name, p->name);
    const rd_col *lab = NULL, *num[MAX_SERIES + 1];
    size_t nn = 0;
    for (size_t k = 0; k < it->ncols; k++) {
        const rd_col *col = &it->cols[k];
        if (col->kind == RD_STR && !lab)
            lab = col;
        else if (col->kind == RD_NUM && nn <= MAX_SERIES)
            num[nn++] = col;
    }
    size_t nr = it->nrows;
    sb_puts(o, "<div class=\"card\"><h4><a href=\"#");
    anchor(o, "n-", n->name);
    sb_puts(o, "\">");
    report_esc(o, title);
    sb_puts(o, "</a></h4><div class=\"charts\">");
    bool increasing = !lab && nn >= 2 && nr >= 3;
    for (size_t r = 1; increasing && r < nr; r++)
        increasing = num[0]->num[r] > num[0]->num[r - 1];
    svg_series ser[MAX_SERIES];
    size_t ns = 0;
    for (size_t k = increasing ? 1 : 0; k < nn && ns < MAX_SERIES; k++)
        if (!num[k]->integer && !id_like(num[k]->name))
            ser[ns++] = (svg_series){.name = num[k]->name,
                                     .n = nr < MAX_POINTS ? nr : MAX_POINTS,
                                     .x = increasing ? num[0]->num : NULL,
                                     .y = num[k]->num};
    if (ns && increasing) {
        double mn = num[0]->num[0], mx = num[0]->num[nr - 1];
        svg_chart ch = {.kind = SVG_LINE,
                        .title = title,
                        .xlabel = num[0]->name,
                        .series = ser,
                        .nseries = ns,
                        .xlog = mn > 0 && mx / mn >= 16};
        rc = draw(o, &ch);
    } else if (ns && lab && nr <= MAX_BARS) {
        const char *cats[MAX_BARS];
        for (size_t r = 0; r < nr; r++)
            cats[r] = lab->str[r] ? lab->str[r] : "";
        for (size_t k = 0; k < ns; k++)
            ser[k].n = nr;
        svg_chart ch = {.kind = SVG_BAR,
                        .title = title,
                        .cats = cats,
                        .ncats = nr,
                        .series = ser,
                        .nseries = ns,
                        .width = nr * ns > 24 ? 900 : 640};
        rc = draw(o, &ch);
    }
    sb_puts(o, "</div>");
    if (!rc) {
        char file[600];
        snprintf(file, sizeof file, "nodes/%s/%s", n->name, p->file);
        preview(o, it, 200, it->nrows, file);
    }
    sb_puts(o, "</div>");
    rd_items_free(it);
    return rc ? rc : o->oom ? ASSAY_ENOMEM : 0;
}

/* A compact chart of an output's key numbers k->v[from..to): its real
 * numbers at the top level or with an interval, on the scale of the
 * first one (within [-1, 1] or not), at most 12. */
static int key_chart(rctx *c, const summary_keys *k, size_t from, size_t to)
{
    const char *cats[12];
    double y[12], lo[12], hi[12];
    size_t n = 0;
    int unit = -1;
    bool any_ci = false;
    for (size_t i = from; i < to && n < 12; i++) {
        const rd_num *x = &k->v[i].num;
        if (x->integer || !isfinite(x->v) ||
            (strchr(x->path, '.') && !isfinite(x->lo)))
            continue;
        int u = fabs(x->v) <= 1;
        if (unit < 0)
            unit = u;
        if (u != unit)
            continue;
        cats[n] = x->path;
        y[n] = x->v;
        lo[n] = x->lo;
        hi[n] = x->hi;
        any_ci |= isfinite(x->lo);
        n++;
    }
    if (n < 2 && !any_ci)
        return 0;
    svg_series s = {.n = n, .y = y, .lo = lo, .hi = hi};
    svg_chart ch = {.kind = SVG_BAR,
                    .title = k->v[from].output,
                    .cats = cats,
                    .ncats = n,
                    .series = &s,
                    .nseries = 1,
                    .width = 460,
                    .height = 280};
    return draw(c->o, &ch);
}

/* The key numbers: one small table per output, side by side. */
static int key_section(rctx *c)
{
    summary_keys k;
    assay_error err = {0};
    strbuf *o = c->o;
    int rc = summary_collect(c->rd, 16, &k, &err);
    if (rc) {
        summary_keys_free(&k);
        return rc;
    }
    sb_puts(o, "<section id=\"key\"><h2>Key results</h2><div "
               "class=\"cards\">");
    for (size_t i = 0; i < k.n; i++) {
        const summary_key *e = &k.v[i];
        if (i == 0 || strcmp(e->output, k.v[i - 1].output)) {
            if (i)
                sb_puts(o, "</tbody></table></div>");
            const char *dot = strrchr(e->output, '.');
            char node[256];
            snprintf(node, sizeof node, "%.*s",
                     dot ? (int)(dot - e->output) : (int)strlen(e->output),
                     e->output);
            sb_puts(o, "<div class=\"card\"><h4><a href=\"#");
            anchor(o, "n-", node);
            sb_puts(o, "\">");
            report_esc(o, e->output);
            sb_puts(o, "</a></h4>");
            size_t j = i;
            while (j < k.n && !strcmp(k.v[j].output, e->output))
                j++;
            long ix = rundir_find(c->rd, node);
            if (ix < 0 || !rundir_port(&c->rd->nodes[ix], "curve"))
                if ((rc = key_chart(c, &k, i, j)))
                    break;
            sb_puts(o, "<table class=\"sort\"><thead><tr><th>"
                       "number</th><th>value</th><th>interval</th></tr>"
                       "</thead><tbody>");
        }
        sb_puts(o, "<tr><td><code>");
        report_esc(o, e->num.path);
        sb_puts(o, "</code></td>");
        report_num_cell(o, e->num.v, e->num.integer);
        if (isfinite(e->num.lo) && isfinite(e->num.hi)) {
            char a[64], b[64];
            summary_fmt(e->num.lo, false, a, sizeof a);
            summary_fmt(e->num.hi, false, b, sizeof b);
            sb_printf(o, "<td class=\"n\">[%s, %s]</td>", a, b);
        } else
            sb_puts(o, "<td></td>");
        sb_puts(o, "</tr>");
    }
    if (k.n)
        sb_puts(o, "</tbody></table></div>");
    sb_puts(o, "</div>");
    if (k.omitted)
        sb_printf(o,
                  "<p class=\"note\">%zu more numbers in the node "
                  "sections below.</p>",
                  k.omitted);
    /* per-item outputs listed under report: (small ones in full) */
    const json_t *list =
        json_object_get(json_object_get(c->rd->manifest, "config"), "report");
    bool open = false;
    for (size_t i = 0; !rc && i < json_array_size(list) && !o->oom; i++) {
        const char *ref = json_string_value(json_array_get(list, i));
        const char *dot = ref ? strrchr(ref, '.') : NULL;
        char node[256];
        if (!dot || (size_t)(dot - ref) >= sizeof node)
            continue;
        memcpy(node, ref, (size_t)(dot - ref));
        node[dot - ref] = '\0';
        long ix = rundir_find(c->rd, node);
        const rd_port *p =
            ix >= 0 ? rundir_port(&c->rd->nodes[ix], dot + 1) : NULL;
        if (!p || p->type == ASSAY_T_JSON || p->count > 200 || !p->count)
            continue;
        if (!open)
            sb_puts(o, "<div class=\"cards\">");
        open = true;
        if ((rc = key_items(c, &c->rd->nodes[ix], p)))
            break;
    }
    if (open)
        sb_puts(o, "</div>");
    /* fitted laws whose parameters are listed: their charts here too */
    for (size_t i = 0; !rc && i < json_array_size(list); i++) {
        const char *ref = json_string_value(json_array_get(list, i));
        const char *dot = ref ? strrchr(ref, '.') : NULL;
        char node[256];
        if (!dot || (size_t)(dot - ref) >= sizeof node)
            continue;
        memcpy(node, ref, (size_t)(dot - ref));
        node[dot - ref] = '\0';
        long ix = rundir_find(c->rd, node);
        if (ix < 0 || !rundir_port(&c->rd->nodes[ix], "points") ||
            !rundir_port(&c->rd->nodes[ix], "curve"))
            continue;
        sb_puts(o, "<h4>");
        report_esc(o, node);
        sb_puts(o, ": fitted law</h4>");
        rc = fit_charts(c, &c->rd->nodes[ix]);
    }
    if (!open && !k.n)
        sb_puts(o, "<p class=\"note\">No key numbers: list the outputs "
                   "that matter under <code>report:</code> in the "
                   "experiment.</p>");
    if (k.missing)
        sb_printf(o,
                  "<p class=\"note warn\">%zu output%s listed under "
                  "<code>report:</code> %s not produced.</p>",
                  k.missing, k.missing == 1 ? "" : "s",
                  k.missing == 1 ? "was" : "were");
    sb_puts(o, "</section>\n");
    summary_keys_free(&k);
    return rc;
}

static void config_section(rctx *c)
{
    strbuf *o = c->o;
    const json_t *m = c->rd->manifest;
    sb_puts(o, "<section id=\"config\"><h2>Configuration and plugins</h2>"
               "<div class=\"wide\"><table class=\"sort\"><thead><tr><th>"
               "plugin</th><th>version</th><th>kind</th><th>sha256</th>"
               "<th>file</th></tr></thead><tbody>");
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(m, "plugins"), k, v)
    {
        sb_puts(o, "<tr><td>");
        report_esc(o, k);
        sb_puts(o, "</td><td>");
        report_esc(o, json_string_value(json_object_get(v, "version")));
        sb_puts(o, "</td><td>");
        report_esc(o, json_string_value(json_object_get(v, "kind")));
        sb_puts(o, "</td><td><code>");
        esc_cut(o, json_string_value(json_object_get(v, "sha256")), 12);
        sb_puts(o, "</code></td><td><code>");
        report_esc(o, json_string_value(json_object_get(v, "file")));
        sb_puts(o, "</code></td></tr>");
    }
    sb_puts(o, "</tbody></table></div><details><summary>resolved "
               "configuration (secrets redacted)</summary><pre>");
    char *s = json_dumps(json_object_get(m, "config"),
                         JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    esc_cut(o, s ? s : "", 200000);
    free(s);
    sb_puts(o, "</pre></details></section>\n");
}

static void header(rctx *c)
{
    strbuf *o = c->o;
    const json_t *m = c->rd->manifest;
    const char *exp = json_string_value(json_object_get(m, "experiment"));
    const char *status = json_string_value(json_object_get(m, "status"));
    sb_puts(o, "<header><h1>");
    report_esc(o, exp ? exp : "run");
    sb_printf(o, " <span class=\"badge %s\">",
              badge_class(status ? status : "?"));
    report_esc(o, status ? status : "?");
    sb_puts(o, "</span></h1><p class=\"meta\">");
    static const char *const keys[] = {"started", "finished", "seed",
                                       "assay_version", "jobs"};
    static const char *const names[] = {"started", "finished", "seed", "assay",
                                        "threads"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        const json_t *v = json_object_get(m, keys[i]);
        if (!v)
            continue;
        sb_printf(o, "%s: <b>", names[i]);
        if (json_is_string(v))
            report_esc(o, json_string_value(v));
        else
            sb_printf(o, "%lld", (long long)json_integer_value(v));
        sb_puts(o, "</b> &#183; ");
    }
    sb_printf(o, "time: <b>%.2fs</b> &#183; nodes: <b>%zu</b>",
              json_number_value(json_object_get(m, "seconds")), c->rd->n);
    size_t failed = 0, reused = 0;
    for (size_t i = 0; i < c->rd->n; i++) {
        failed += !strcmp(c->rd->nodes[i].status, "failed");
        reused += c->rd->nodes[i].source[0] &&
                  strcmp(c->rd->nodes[i].source, "run") != 0;
    }
    sb_printf(o, " (%zu reused, %zu failed)<br>config: <code>", reused, failed);
    report_esc(o, json_string_value(json_object_get(m, "config_file")));
    sb_puts(o, "</code>");
    const json_t *sets = json_object_get(m, "sets");
    for (size_t i = 0; i < json_array_size(sets); i++) {
        sb_puts(o, " <code>--set ");
        report_esc(o, json_string_value(json_array_get(sets, i)));
        sb_puts(o, "</code>");
    }
    sb_puts(o, "<br>run directory: <code>");
    report_esc(o, c->rd->path);
    sb_puts(o, "</code></p></header>\n<nav><a href=\"#key\">key results</a>"
               "<a href=\"#leaderboards\">leaderboards</a><a "
               "href=\"#graph\">graph</a><a href=\"#nodes\">nodes</a>");
    if (json_object_get(m, "llm"))
        sb_puts(o, "<a href=\"#llm\">LLM usage</a>");
    sb_puts(o, "<a href=\"#outputs\">outputs</a><a href=\"#config\">"
               "configuration</a></nav>\n");
}

int report_render(const rundir *rd, strbuf *out, assay_error *err)
{
    rctx c = {.rd = rd, .o = out};
    const char *exp =
        json_string_value(json_object_get(rd->manifest, "experiment"));
    char title[300];
    snprintf(title, sizeof title, "%s \xe2\x80\x94 assay report",
             exp ? exp : "run");
    report_html_head(out, title);
    header(&c);
    int rc = key_section(&c);
    if (!rc)
        rc = leaderboards(&c);
    if (!rc) {
        sb_puts(out, "<section id=\"graph\"><h2>Experiment graph</h2>");
        rc = graph_svg(&c);
        sb_puts(out, "</section>\n");
    }
    if (!rc) {
        nodes_table(&c);
        rc = llm_section(&c);
    }
    if (!rc)
        sb_puts(out, "<section id=\"outputs\"><h2>Outputs</h2>");
    /* results first, then the data nodes (folded) */
    bool data_note = false;
    for (size_t k = 0; !rc && k < 2 * rd->n; k++) {
        const rd_node *n = &rd->nodes[k % rd->n];
        if ((!n->nouts && !n->error) || result_node(n) != (k < rd->n))
            continue;
        if (k >= rd->n && !data_note) {
            data_note = true;
            sb_puts(out, "<p class=\"note\">Sources and transforms "
                         "(click a name to open its outputs):</p>");
        }
        if (out->len > REPORT_SOFT_LIMIT + 800000) {
            /* past the limit even for summaries: name what is left */
            c.truncated = true;
            sb_puts(out, "<p class=\"note\">");
            report_esc(out, n->name);
            sb_puts(out, ": ");
            outputs_text(out, n);
            sb_puts(out, "</p>");
            continue;
        }
        rc = node_section(&c, n);
    }
    if (!rc) {
        sb_puts(out, "</section>\n");
        if (c.truncated)
            sb_puts(out, "<p class=\"note warn\">This report reached its "
                         "size limit: later charts and previews were left "
                         "out. Every value is in the run directory.</p>");
        config_section(&c);
        sb_printf(out,
                  "<footer class=\"note\">assay %s &#183; "
                  "regenerate with <code>assay report ",
                  ASSAY_VERSION);
        report_esc(out, rd->path);
        sb_puts(out, "</code></footer>");
        report_html_tail(out);
    }
    bool coom = c.charted.oom;
    sb_free(&c.charted);
    if (rc == ASSAY_ENOMEM || out->oom || coom)
        return assay_error_set(err, ASSAY_ENOMEM,
                               "out of memory while building the report");
    return rc;
}

int report_write(const char *run_dir, const char *out_path, char *written,
                 size_t written_sz, assay_error *err)
{
    rundir *rd = NULL;
    int rc = rundir_load(run_dir, &rd, err);
    if (rc)
        return rc;
    char path[PATH_MAX + 32];
    if (out_path)
        snprintf(path, sizeof path, "%s", out_path);
    else
        snprintf(path, sizeof path, "%s/report.html", rd->path);
    strbuf sb = {0};
    rc = report_render(rd, &sb, err);
    if (!rc)
        rc = store_write_file(path, sb.buf, sb.len, false, err);
    if (!rc && written)
        snprintf(written, written_sz, "%s", path);
    sb_free(&sb);
    rundir_free(rd);
    return rc;
}

void report_finish_run(const char *run_dir, bool print)
{
    rundir *rd = NULL;
    assay_error err = {0};
    if (rundir_load(run_dir, &rd, &err)) {
        fprintf(stderr, "assay: warning: no report: %s\n", err.text);
        return;
    }
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/report.html", rd->path);
    strbuf sb = {0};
    int rc = report_render(rd, &sb, &err);
    if (!rc)
        rc = store_write_file(path, sb.buf, sb.len, false, &err);
    sb_free(&sb);
    if (rc)
        fprintf(stderr, "assay: warning: cannot write %s: %s\n", path,
                err.text);
    if (print)
        summary_print(stdout, rd, rc ? NULL : path);
    rundir_free(rd);
}
