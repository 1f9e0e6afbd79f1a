/*
 * core/report/svg.c - SVG charts for the HTML report (see svg.h).
 *
 * Layout: title on top, a legend row (wrapped) under it, the plot area
 * with a left axis (ticks, grid lines, axis title rotated) and a bottom
 * axis.  Text widths are estimated from the number of code points, which
 * is close enough for the 11px sans-serif labels a browser draws.  Every
 * coordinate is clamped to the plot area, so no clip path (and no
 * document-wide id) is needed: several charts can share one HTML page.
 */
#include "svg.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CHAR_W 6.3   /* estimated width of an 11px character */
#define LABEL_MAX 28 /* code points shown of a category label */

static const char *const PALETTE[] = {
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
#define NPALETTE (sizeof PALETTE / sizeof *PALETTE)

/* ---- text ---------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        min = 0x10000;
    } else
        return 0;
    if (n < len)
        return 0;
    unsigned cp = c & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    /* U+FFFE and U+FFFF are not XML characters */
    if (cp == 0xfffe || cp == 0xffff)
        return 0;
    return len;
}

int svg_escape(strbuf *out, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, run = 0;
    while (i < n) {
        unsigned c = p[i];
        const char *rep = NULL;
        size_t adv = 1;
        if (c == '&')
            rep = "&amp;";
        else if (c == '<')
            rep = "&lt;";
        else if (c == '>')
            rep = "&gt;";
        else if (c == '"')
            rep = "&quot;";
        else if (c == '\'')
            rep = "&#39;";
        else if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
            rep = "\xef\xbf\xbd";
        else if (c == 0x7f)
            rep = "\xef\xbf\xbd";
        else if (c >= 0x80) {
            adv = utf8_seq(p + i, n - i);
            if (adv == 0) {
                rep = "\xef\xbf\xbd";
                adv = 1;
            }
        }
        if (rep) {
            if (run)
                sb_append(out, (const char *)p + i - run, run);
            run = 0;
            sb_puts(out, rep);
        } else
            run += adv;
        i += adv;
    }
    if (run)
        sb_append(out, (const char *)p + i - run, run);
    return out->oom ? ASSAY_ENOMEM : 0;
}

static void esc(strbuf *out, const char *s)
{
    if (s)
        svg_escape(out, s, strlen(s));
}

/* Number of code points (bytes that do not continue a sequence). */
static size_t text_len(const char *s)
{
    size_t n = 0;
    for (; s && *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

static double text_w(const char *s, double scale)
{
    return (double)text_len(s) * CHAR_W * scale;
}

/* Append the first `max` code points of s, escaped, with an ellipsis
 * when cut. */
static void esc_trunc(strbuf *out, const char *s, size_t max)
{
    if (!s)
        return;
    size_t cps = 0, i = 0, n = strlen(s);
    while (i < n && cps < max) {
        i++;
        while (i < n && ((unsigned char)s[i] & 0xc0) == 0x80)
            i++;
        cps++;
    }
    svg_escape(out, s, i);
    if (i < n)
        sb_puts(out, "\xe2\x80\xa6");
}

void svg_fmt_num(double v, char *buf, size_t n)
{
    if (!isfinite(v)) {
        snprintf(buf, n, "%s", isnan(v) ? "NaN" : v > 0 ? "inf" : "-inf");
        return;
    }
    double a = fabs(v);
    if (a == 0)
        snprintf(buf, n, "0");
    else if (a >= 1e6 || a < 1e-4) {
        /* "1.5e+21" -> "1.5e21", "2e-05" -> "2e-5" */
        char t[64], *e;
        snprintf(t, sizeof t, "%.3g", v);
        e = strchr(t, 'e');
        if (e) {
            char *d = e + 1, *src = e + 1;
            if (*src == '+')
                src++;
            else if (*src == '-')
                *d++ = *src++;
            while (*src == '0' && src[1])
                src++;
            memmove(d, src, strlen(src) + 1);
        }
        snprintf(buf, n, "%s", t);
    } else if (a >= 1000)
        snprintf(buf, n, "%.6g", v);
    else
        snprintf(buf, n, "%.4g", v);
}

/* ---- axes ---------------------------------------------------------------- */

void svg_axis_nice(double lo, double hi, int max_ticks, bool log, svg_axis *ax)
{
    memset(ax, 0, sizeof *ax);
    if (max_ticks < 2)
        max_ticks = 2;
    if (max_ticks > 30)
        max_ticks = 30;
    if (!isfinite(lo) || !isfinite(hi)) {
        lo = 0;
        hi = 1;
    }
    if (lo > hi) {
        double t = lo;
        lo = hi;
        hi = t;
    }
    if (log && lo > 0) {
        double dlo = floor(log10(lo) + 1e-9), dhi = ceil(log10(hi) - 1e-9);
        if (dhi <= dlo)
            dhi = dlo + 1;
        double span = dhi - dlo, k = ceil(span / max_ticks);
        if (k < 1)
            k = 1;
        ax->log = true;
        ax->lo = dlo;
        ax->hi = dhi;
        for (double d = dlo; d <= dhi + 1e-9 && ax->nticks < 32; d += k)
            ax->ticks[ax->nticks++] = pow(10, d);
        return;
    }
    if (hi - lo <= fabs(hi) * 1e-12 || hi == lo) {
        double pad = lo == 0 ? 1 : fabs(lo) * 0.1;
        lo -= pad;
        hi += pad;
    }
    double raw = (hi - lo) / max_ticks;
    double mag = pow(10, floor(log10(raw)));
    static const double mult[] = {1, 2, 2.5, 5, 10};
    double step = 10 * mag;
    for (size_t i = 0; i < sizeof mult / sizeof *mult; i++)
        if (mult[i] * mag >= raw * (1 - 1e-9)) {
            step = mult[i] * mag;
            break;
        }
    double first = floor(lo / step + 1e-9), last = ceil(hi / step - 1e-9);
    ax->lo = first * step;
    ax->hi = last * step;
    for (double k = first; k <= last + 1e-9 && ax->nticks < 32; k++) {
        double t = k * step;
        if (fabs(t) < step * 1e-9)
            t = 0;
        ax->ticks[ax->nticks++] = t;
    }
}

/* Plot geometry and the two axes. */
typedef struct frame {
    double x0, y0, x1, y1; /* plot area: left, top, right, bottom */
    svg_axis xa, ya;
} frame;

static double map_v(const svg_axis *a, double v, double p0, double p1)
{
    double t;
    if (a->log)
        t = v > 0 ? (log10(v) - a->lo) / (a->hi - a->lo) : -1;
    else
        t = (v - a->lo) / (a->hi - a->lo);
    if (!isfinite(t))
        t = 0;
    if (t < -0.02)
        t = -0.02;
    if (t > 1.02)
        t = 1.02;
    return p0 + t * (p1 - p0);
}

static double fx(const frame *f, double v)
{
    return map_v(&f->xa, v, f->x0, f->x1);
}

static double fy(const frame *f, double v)
{
    return map_v(&f->ya, v, f->y1, f->y0);
}

/* ---- pieces -------------------------------------------------------------- */

/* Outcome series get their conventional colours: wins (of the first
 * system: "win", "wins", "wins_a", "a_wins") green, ties grey, losses
 * (and the second system's wins: "wins_b", "b_wins") red. */
static const char *series_color(const svg_series *s, size_t i)
{
    const char *n = s->name ? s->name : "";
    size_t l = strlen(n);
    bool second = (l > 2 && !strcmp(n + l - 2, "_b")) || !strncmp(n, "b_", 2);
    if (!strncasecmp(n, "tie", 3) || !strncasecmp(n, "draw", 4))
        return "#bab0ac";
    if (!strncasecmp(n, "loss", 4) ||
        (second && (strstr(n, "win") || strstr(n, "WIN"))))
        return "#e15759";
    if (!strncasecmp(n, "win", 3) || !strcmp(n, "a_wins"))
        return "#59a14f";
    return PALETTE[i % NPALETTE];
}

static void text_at(strbuf *o, double x, double y, const char *anchor,
                    const char *extra, const char *s)
{
    sb_printf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\"%s%s>", x, y,
              anchor, extra ? " " : "", extra ? extra : "");
    esc(o, s);
    sb_puts(o, "</text>");
}

/* Legend entries wrapped into rows; returns the height used. */
static double legend(strbuf *o, const svg_chart *c, double x0, double y,
                     double maxw, bool draw)
{
    double x = x0, rows = 0;
    bool any = false;
    size_t n = c->nseries + (c->shade && c->shade_label ? 1 : 0);
    for (size_t i = 0; i < n; i++) {
        const char *name = i < c->nseries ? c->series[i].name : c->shade_label;
        if (!name)
            continue;
        double w = 18 + text_w(name, 1) + 14;
        if (any && x + w > x0 + maxw) {
            x = x0;
            rows++;
        }
        any = true;
        if (draw) {
            double yy = y + rows * 16;
            if (i >= c->nseries)
                sb_printf(o,
                          "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" "
                          "height=\"12\" fill=\"#888\" fill-opacity=\"0.2\" "
                          "stroke=\"#888\"/>",
                          x, yy - 10);
            else if (c->kind == SVG_SCATTER && c->series[i].line)
                sb_printf(
                    o,
                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                    "y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"%s/>",
                    x, yy - 4, x + 12, yy - 4, series_color(&c->series[i], i),
                    c->series[i].dashed ? " stroke-dasharray=\"4 3\"" : "");
            else
                sb_printf(o,
                          "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" "
                          "height=\"12\" fill=\"%s\"/>",
                          x, yy - 10, series_color(&c->series[i], i));
            text_at(o, x + 17, yy, "start", NULL, name);
        }
        x += w;
    }
    return any ? (rows + 1) * 16 : 0;
}

static void y_axis(strbuf *o, const frame *f, const char *label)
{
    char b[64];
    for (size_t i = 0; i < f->ya.nticks; i++) {
        double y = fy(f, f->ya.ticks[i]);
        sb_printf(o,
                  "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                  "class=\"grid\"/>",
                  f->x0, y, f->x1, y);
        svg_fmt_num(f->ya.ticks[i], b, sizeof b);
        text_at(o, f->x0 - 6, y + 4, "end", NULL, b);
    }
    sb_printf(o,
              "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
              "class=\"axis\"/>",
              f->x0, f->y0, f->x0, f->y1);
    if (label) {
        double cy = (f->y0 + f->y1) / 2;
        sb_printf(o,
                  "<text x=\"14\" y=\"%.1f\" text-anchor=\"middle\" "
                  "transform=\"rotate(-90 14 %.1f)\">",
                  cy, cy);
        esc_trunc(o, label, 60);
        sb_puts(o, "</text>");
    }
}

static void x_axis_num(strbuf *o, const frame *f, const char *label, double h)
{
    char b[64];
    for (size_t i = 0; i < f->xa.nticks; i++) {
        double x = fx(f, f->xa.ticks[i]);
        sb_printf(o,
                  "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                  "class=\"grid\"/>",
                  x, f->y0, x, f->y1);
        svg_fmt_num(f->xa.ticks[i], b, sizeof b);
        text_at(o, x, f->y1 + 16, "middle", NULL, b);
    }
    sb_printf(o,
              "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
              "class=\"axis\"/>",
              f->x0, f->y1, f->x1, f->y1);
    if (label) {
        sb_printf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">",
                  (f->x0 + f->x1) / 2, h - 8);
        esc_trunc(o, label, 80);
        sb_puts(o, "</text>");
    }
}

/* Widest tick label of an axis, in pixels. */
static double ticks_w(const svg_axis *a)
{
    double w = 0;
    char b[64];
    for (size_t i = 0; i < a->nticks; i++) {
        svg_fmt_num(a->ticks[i], b, sizeof b);
        double t = text_w(b, 1);
        if (t > w)
            w = t;
    }
    return w;
}

static void range_add(double *lo, double *hi, double v, bool log)
{
    if (!isfinite(v) || (log && v <= 0))
        return;
    if (v < *lo)
        *lo = v;
    if (v > *hi)
        *hi = v;
}

/* ---- chart kinds --------------------------------------------------------- */

typedef struct canvas {
    double w, h, top; /* size; first y below title and legend */
} canvas;

static void bar_body(strbuf *o, const svg_chart *c, const canvas *cv)
{
    /* the axis covers the values and zero, and the intervals unless one
     * would squash the bars (an interval reaching 5x past the values is
     * drawn clipped at the edge of the plot) */
    double lo = 0, hi = 0;
    for (size_t s = 0; s < c->nseries; s++) {
        const svg_series *se = &c->series[s];
        for (size_t i = 0; i < se->n && i < c->ncats; i++)
            range_add(&lo, &hi, se->y[i], false);
    }
    double span = hi - lo > 0 ? hi - lo : 1;
    double vlo = lo - 5 * span, vhi = hi + 5 * span;
    for (size_t s = 0; s < c->nseries; s++) {
        const svg_series *se = &c->series[s];
        for (size_t i = 0; i < se->n && i < c->ncats; i++) {
            if (se->lo && se->lo[i] >= vlo)
                range_add(&lo, &hi, se->lo[i], false);
            if (se->hi && se->hi[i] <= vhi)
                range_add(&lo, &hi, se->hi[i], false);
        }
    }
    frame f;
    svg_axis_nice(lo, hi, 6, false, &f.ya);
    /* category labels: horizontal when they fit, else rotated */
    double maxl = 0;
    for (size_t i = 0; i < c->ncats; i++) {
        size_t l = text_len(c->cats[i]);
        double w = (double)(l > LABEL_MAX ? LABEL_MAX + 1 : l) * CHAR_W;
        if (w > maxl)
            maxl = w;
    }
    f.x0 = 12 + ticks_w(&f.ya) + (c->ylabel ? 18 : 0);
    f.x1 = cv->w - 12;
    double band = (f.x1 - f.x0) / (double)c->ncats;
    bool rotate = maxl > band - 4;
    double lab_h = rotate ? maxl * 0.64 + 14 : 18;
    if (lab_h > cv->h * 0.4)
        lab_h = cv->h * 0.4;
    f.y0 = cv->top;
    f.y1 = cv->h - lab_h - (c->xlabel ? 22 : 6);
    y_axis(o, &f, c->ylabel);
    size_t ns = c->nseries;
    double gw = band * 0.8, bw = gw / (double)ns;
    bool values = c->ncats * ns <= 24 && bw >= 34;
    double zero = fy(&f, 0);
    char b[64], b2[64];
    for (size_t i = 0; i < c->ncats; i++) {
        double gx = f.x0 + band * (double)i + band * 0.1;
        for (size_t s = 0; s < ns; s++) {
            const svg_series *se = &c->series[s];
            if (i >= se->n || !isfinite(se->y[i]))
                continue;
            double v = se->y[i], yv = fy(&f, v);
            double top = v >= 0 ? yv : zero, bot = v >= 0 ? zero : yv;
            double x = gx + bw * (double)s;
            sb_printf(o,
                      "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                      "height=\"%.1f\" fill=\"%s\"><title>",
                      x + bw * 0.05, top, bw * 0.9,
                      bot - top < 0.5 ? 0.5 : bot - top, series_color(se, s));
            esc(o, c->cats[i]);
            if (se->name) {
                sb_puts(o, " \xc2\xb7 ");
                esc(o, se->name);
            }
            svg_fmt_num(v, b, sizeof b);
            sb_printf(o, ": %s", b);
            bool has_ci =
                se->lo && se->hi && isfinite(se->lo[i]) && isfinite(se->hi[i]);
            if (has_ci) {
                svg_fmt_num(se->lo[i], b, sizeof b);
                svg_fmt_num(se->hi[i], b2, sizeof b2);
                sb_printf(o, " [%s, %s]", b, b2);
            }
            sb_puts(o, "</title></rect>");
            double cx = x + bw / 2;
            double label_y = v >= 0 ? yv - 4 : yv + 12;
            if (has_ci) {
                double y1 = fy(&f, se->lo[i]), y2 = fy(&f, se->hi[i]);
                double cap = bw * 0.2 < 5 ? bw * 0.2 : 5;
                sb_printf(o,
                          "<path d=\"M%.1f %.1fV%.1fM%.1f %.1fH%.1fM%.1f "
                          "%.1fH%.1f\" class=\"ci\"/>",
                          cx, y1, y2, cx - cap, y1, cx + cap, cx - cap, y2,
                          cx + cap);
                if (v >= 0 && y2 < yv)
                    label_y = y2 - 4;
            }
            if (values) {
                svg_fmt_num(v, b, sizeof b);
                text_at(o, cx, label_y, "middle", "class=\"val\"", b);
            }
        }
        /* the category label */
        double cx = f.x0 + band * ((double)i + 0.5);
        if (rotate)
            sb_printf(o,
                      "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
                      "transform=\"rotate(-40 %.1f %.1f)\">",
                      cx, f.y1 + 12, cx, f.y1 + 12);
        else
            sb_printf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">",
                      cx, f.y1 + 15);
        esc_trunc(o, c->cats[i], LABEL_MAX);
        if (text_len(c->cats[i]) > LABEL_MAX) {
            sb_puts(o, "<title>");
            esc(o, c->cats[i]);
            sb_puts(o, "</title>");
        }
        sb_puts(o, "</text>");
    }
    sb_printf(o,
              "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
              "class=\"axis\"/>",
              f.x0, zero, f.x1, zero);
    if (c->xlabel) {
        sb_printf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">",
                  (f.x0 + f.x1) / 2, cv->h - 8);
        esc_trunc(o, c->xlabel, 80);
        sb_puts(o, "</text>");
    }
}

/* x of point i of a series (1-based index when the series has no x). */
static double sx(const svg_series *s, size_t i)
{
    return s->x ? s->x[i] : (double)(i + 1);
}

/* Line and scatter charts: numeric x and y axes. */
static void xy_body(strbuf *o, const svg_chart *c, const canvas *cv)
{
    double xlo = DBL_MAX, xhi = -DBL_MAX, ylo = DBL_MAX, yhi = -DBL_MAX;
    for (size_t s = 0; s < c->nseries; s++) {
        const svg_series *se = &c->series[s];
        for (size_t i = 0; i < se->n; i++) {
            double x = sx(se, i);
            if (!isfinite(x) || !isfinite(se->y[i]) || (c->xlog && x <= 0))
                continue;
            range_add(&xlo, &xhi, x, c->xlog);
            range_add(&ylo, &yhi, se->y[i], c->ylog);
            if (se->lo)
                range_add(&ylo, &yhi, se->lo[i], c->ylog);
            if (se->hi)
                range_add(&ylo, &yhi, se->hi[i], c->ylog);
        }
    }
    if (c->shade) {
        range_add(&xlo, &xhi, c->shade_from, c->xlog);
        range_add(&xlo, &xhi, c->shade_to, c->xlog);
    }
    frame f;
    svg_axis_nice(xlo, xhi, 7, c->xlog, &f.xa);
    svg_axis_nice(ylo, yhi, 6, c->ylog, &f.ya);
    /* a few integer x values (epochs, indices, cut-offs): integer ticks */
    bool ints = !c->xlog && xhi >= xlo && xhi - xlo <= 12;
    for (size_t s = 0; ints && s < c->nseries; s++)
        for (size_t i = 0; ints && i < c->series[s].n; i++) {
            double x = sx(&c->series[s], i);
            ints = !isfinite(x) || x == floor(x);
        }
    if (ints) {
        f.xa.lo = xlo - (xhi == xlo ? 1 : 0);
        f.xa.hi = xhi + (xhi == xlo ? 1 : 0);
        f.xa.nticks = 0;
        for (double t = f.xa.lo; t <= f.xa.hi && f.xa.nticks < 32; t++)
            f.xa.ticks[f.xa.nticks++] = t;
    }
    f.x0 = 12 + ticks_w(&f.ya) + (c->ylabel ? 18 : 0);
    /* room for the last x tick label */
    f.x1 = cv->w - 8 - ticks_w(&f.xa) / 2;
    f.y0 = cv->top;
    f.y1 = cv->h - 24 - (c->xlabel ? 20 : 0);
    if (c->shade) {
        double a = fx(&f, c->shade_from), b = fx(&f, c->shade_to);
        if (b < a) {
            double t = a;
            a = b;
            b = t;
        }
        if (a < f.x0)
            a = f.x0;
        if (b > f.x1)
            b = f.x1;
        if (b > a) {
            sb_printf(o,
                      "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                      "height=\"%.1f\" fill=\"#888\" fill-opacity=\"0.13\">",
                      a, f.y0, b - a, f.y1 - f.y0);
            if (c->shade_label) {
                sb_puts(o, "<title>");
                esc(o, c->shade_label);
                sb_puts(o, "</title>");
            }
            sb_puts(o, "</rect>");
        }
    }
    y_axis(o, &f, c->ylabel);
    x_axis_num(o, &f, c->xlabel, cv->h);
    size_t total = 0;
    for (size_t s = 0; s < c->nseries; s++)
        total += c->series[s].n;
    for (size_t s = 0; s < c->nseries; s++) {
        const svg_series *se = &c->series[s];
        const char *col = series_color(se, s);
        bool curve = c->kind == SVG_LINE || se->line;
        /* interval band of a line */
        if (curve && se->lo && se->hi) {
            bool first = true;
            sb_puts(o, "<path d=\"");
            for (size_t i = 0; i < se->n; i++) {
                if (!isfinite(se->hi[i]) || !isfinite(sx(se, i)))
                    continue;
                sb_printf(o, "%s%.1f %.1f", first ? "M" : "L",
                          fx(&f, sx(se, i)), fy(&f, se->hi[i]));
                first = false;
            }
            for (size_t i = se->n; i-- > 0;) {
                if (!isfinite(se->lo[i]) || !isfinite(sx(se, i)))
                    continue;
                sb_printf(o, "%s%.1f %.1f", first ? "M" : "L",
                          fx(&f, sx(se, i)), fy(&f, se->lo[i]));
                first = false;
            }
            sb_printf(o,
                      "Z\" fill=\"%s\" fill-opacity=\"0.15\" "
                      "stroke=\"none\"/>",
                      col);
        }
        if (curve) {
            bool pen = false;
            sb_puts(o, "<path d=\"");
            for (size_t i = 0; i < se->n; i++) {
                double x = sx(se, i), y = se->y[i];
                if (!isfinite(x) || !isfinite(y) || (c->xlog && x <= 0) ||
                    (c->ylog && y <= 0)) {
                    pen = false;
                    continue;
                }
                sb_printf(o, "%s%.1f %.1f", pen ? "L" : "M", fx(&f, x),
                          fy(&f, y));
                pen = true;
            }
            sb_printf(o,
                      "\" fill=\"none\" stroke=\"%s\" "
                      "stroke-width=\"2\"%s>",
                      col, se->dashed ? " stroke-dasharray=\"5 4\"" : "");
            if (se->name) {
                sb_puts(o, "<title>");
                esc(o, se->name);
                sb_puts(o, "</title>");
            }
            sb_puts(o, "</path>");
        }
        bool markers = c->kind == SVG_SCATTER ? !se->line : total <= 120;
        if (!markers)
            continue;
        char bx[64], by[64];
        for (size_t i = 0; i < se->n; i++) {
            double x = sx(se, i), y = se->y[i];
            if (!isfinite(x) || !isfinite(y) || (c->xlog && x <= 0) ||
                (c->ylog && y <= 0))
                continue;
            svg_fmt_num(x, bx, sizeof bx);
            svg_fmt_num(y, by, sizeof by);
            sb_printf(o,
                      "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%s\" fill=\"%s\"%s>"
                      "<title>",
                      fx(&f, x), fy(&f, y),
                      c->kind == SVG_SCATTER ? "3.5" : "3", col,
                      c->kind == SVG_SCATTER ? " fill-opacity=\"0.75\"" : "");
            if (se->name) {
                esc(o, se->name);
                sb_puts(o, ": ");
            }
            sb_printf(o, "(%s, %s)</title></circle>", bx, by);
        }
    }
}

/* Horizontal stacked bars: one row per category, one segment per series. */
static void stacked_body(strbuf *o, const svg_chart *c, const canvas *cv)
{
    double maxtot = 0;
    double *tot = calloc(c->ncats, sizeof *tot);
    if (!tot) {
        o->oom = true;
        return;
    }
    for (size_t i = 0; i < c->ncats; i++) {
        for (size_t s = 0; s < c->nseries; s++) {
            const svg_series *se = &c->series[s];
            if (i < se->n && isfinite(se->y[i]) && se->y[i] > 0)
                tot[i] += se->y[i];
        }
        if (tot[i] > maxtot)
            maxtot = tot[i];
    }
    frame f;
    svg_axis_nice(0, c->percent ? 100 : (maxtot > 0 ? maxtot : 1), 6, false,
                  &f.xa);
    double maxl = 0;
    for (size_t i = 0; i < c->ncats; i++) {
        size_t l = text_len(c->cats[i]);
        double w = (double)(l > LABEL_MAX ? LABEL_MAX + 1 : l) * CHAR_W;
        if (w > maxl)
            maxl = w;
    }
    if (maxl > cv->w * 0.35)
        maxl = cv->w * 0.35;
    f.x0 = 10 + maxl + 8;
    f.x1 = cv->w - 8 - ticks_w(&f.xa) / 2;
    f.y0 = cv->top;
    f.y1 = cv->h - 24 - (c->xlabel ? 20 : 0);
    memset(&f.ya, 0, sizeof f.ya);
    x_axis_num(o, &f, c->xlabel ? c->xlabel : c->percent ? "%" : NULL, cv->h);
    double band = (f.y1 - f.y0) / (double)c->ncats;
    char b[64];
    for (size_t i = 0; i < c->ncats; i++) {
        double y = f.y0 + band * (double)i + band * 0.15, h = band * 0.7;
        double acc = 0;
        for (size_t s = 0; s < c->nseries; s++) {
            const svg_series *se = &c->series[s];
            if (i >= se->n || !isfinite(se->y[i]) || se->y[i] <= 0)
                continue;
            double v = c->percent ? (tot[i] > 0 ? 100 * se->y[i] / tot[i] : 0)
                                  : se->y[i];
            double xa = fx(&f, acc), xb = fx(&f, acc + v);
            acc += v;
            sb_printf(o,
                      "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                      "height=\"%.1f\" fill=\"%s\"><title>",
                      xa, y, xb - xa, h, series_color(se, s));
            esc(o, c->cats[i]);
            if (se->name) {
                sb_puts(o, " \xc2\xb7 ");
                esc(o, se->name);
            }
            svg_fmt_num(se->y[i], b, sizeof b);
            sb_printf(o, ": %s", b);
            if (tot[i] > 0)
                sb_printf(o, " (%.1f%%)", 100 * se->y[i] / tot[i]);
            sb_puts(o, "</title></rect>");
            if (c->percent)
                snprintf(b, sizeof b, "%.0f%%", v);
            else
                svg_fmt_num(v, b, sizeof b);
            if (xb - xa > text_w(b, 1) + 6 && h >= 12)
                text_at(o, (xa + xb) / 2, y + h / 2 + 4, "middle",
                        "class=\"seg\"", b);
        }
        sb_printf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">",
                  f.x0 - 6, y + h / 2 + 4);
        esc_trunc(o, c->cats[i], LABEL_MAX);
        sb_puts(o, "</text>");
    }
    sb_printf(o,
              "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
              "class=\"axis\"/>",
              f.x0, f.y0, f.x0, f.y1);
    free(tot);
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Histogram of c->values. */
static void hist_body(strbuf *o, const svg_chart *c, const canvas *cv)
{
    size_t n = 0;
    double lo = DBL_MAX, hi = -DBL_MAX;
    bool ints = true;
    for (size_t i = 0; i < c->nvalues; i++) {
        double v = c->values[i];
        if (!isfinite(v))
            continue;
        n++;
        range_add(&lo, &hi, v, false);
        if (v != floor(v))
            ints = false;
    }
    size_t nb;
    double start, width;
    if (ints && hi - lo <= 60) {
        /* one bin per integer value, centred on it */
        nb = (size_t)(hi - lo) + 1;
        start = lo - 0.5;
        width = 1;
    } else {
        nb = c->bins;
        if (nb == 0) {
            /* Freedman-Diaconis on a sorted copy, clamped to 8..40 */
            double *s = malloc(n * sizeof *s);
            double iqr = 0;
            if (s) {
                size_t k = 0;
                for (size_t i = 0; i < c->nvalues; i++)
                    if (isfinite(c->values[i]))
                        s[k++] = c->values[i];
                qsort(s, n, sizeof *s, cmp_dbl);
                iqr = s[(3 * n) / 4 < n ? (3 * n) / 4 : n - 1] - s[n / 4];
                free(s);
            }
            double h = 2 * iqr / cbrt((double)n);
            nb = h > 0 ? (size_t)ceil((hi - lo) / h) : 10;
            if (nb < 8)
                nb = 8;
            if (nb > 40)
                nb = 40;
        }
        if (nb > 200)
            nb = 200;
        if (hi <= lo) {
            lo -= 0.5;
            hi += 0.5;
        }
        start = lo;
        width = (hi - lo) / (double)nb;
    }
    size_t *cnt = calloc(nb, sizeof *cnt);
    if (!cnt) {
        o->oom = true;
        return;
    }
    size_t maxc = 0;
    for (size_t i = 0; i < c->nvalues; i++) {
        double v = c->values[i];
        if (!isfinite(v))
            continue;
        size_t k = (size_t)floor((v - start) / width);
        if (k >= nb)
            k = nb - 1;
        if (++cnt[k] > maxc)
            maxc = cnt[k];
    }
    frame f;
    svg_axis_nice(start, start + width * (double)nb, 7, false, &f.xa);
    svg_axis_nice(0, (double)maxc, 5, false, &f.ya);
    f.x0 = 12 + ticks_w(&f.ya) + 18;
    f.x1 = cv->w - 8 - ticks_w(&f.xa) / 2;
    f.y0 = cv->top;
    f.y1 = cv->h - 24 - (c->xlabel ? 20 : 0);
    y_axis(o, &f, c->ylabel ? c->ylabel : "count");
    x_axis_num(o, &f, c->xlabel, cv->h);
    char b1[64], b2[64];
    const char *col = c->nseries ? series_color(&c->series[0], 0) : PALETTE[0];
    for (size_t k = 0; k < nb; k++) {
        if (!cnt[k])
            continue;
        double a = start + width * (double)k, b = a + width;
        double xa = fx(&f, a), xb = fx(&f, b), y = fy(&f, (double)cnt[k]);
        svg_fmt_num(a, b1, sizeof b1);
        svg_fmt_num(b, b2, sizeof b2);
        sb_printf(o,
                  "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\""
                  " fill=\"%s\" stroke=\"#fff\" stroke-width=\"0.5\">"
                  "<title>[%s, %s): %zu</title></rect>",
                  xa, y, xb - xa, f.y1 - y, col, b1, b2, cnt[k]);
    }
    free(cnt);
}

/* ---- entry --------------------------------------------------------------- */

/* Whether anything in `c` can be drawn; fills err otherwise. */
static int check(const svg_chart *c, assay_error *err)
{
    switch (c->kind) {
    case SVG_BAR:
    case SVG_STACKED:
        if (!c->ncats || !c->cats || !c->nseries || !c->series)
            return assay_error_set(err, ASSAY_EINVAL,
                                   "chart needs categories and series");
        break;
    case SVG_LINE:
    case SVG_SCATTER:
        if (!c->nseries || !c->series)
            return assay_error_set(err, ASSAY_EINVAL, "chart needs series");
        break;
    case SVG_HIST: {
        for (size_t i = 0; i < c->nvalues; i++)
            if (isfinite(c->values[i]))
                return 0;
        return assay_error_set(err, ASSAY_EINVAL,
                               "histogram has no finite values");
    }
    default:
        return assay_error_set(err, ASSAY_EINVAL, "unknown chart kind %d",
                               (int)c->kind);
    }
    for (size_t s = 0; s < c->nseries; s++) {
        const svg_series *se = &c->series[s];
        if (se->n && !se->y)
            return assay_error_set(err, ASSAY_EINVAL, "series %zu has no y", s);
        for (size_t i = 0; i < se->n; i++) {
            double x =
                c->kind == SVG_LINE || c->kind == SVG_SCATTER ? sx(se, i) : 1;
            if (isfinite(se->y[i]) && isfinite(x) && !(c->xlog && x <= 0) &&
                !(c->ylog && se->y[i] <= 0))
                return 0;
        }
    }
    return assay_error_set(err, ASSAY_EINVAL, "chart has no finite values");
}

int svg_render(const svg_chart *c, strbuf *out, assay_error *err)
{
    int rc = check(c, err);
    if (rc)
        return rc;
    canvas cv = {.w = c->width > 0 ? c->width : 640,
                 .h = c->height > 0 ? c->height : 360};
    if (c->kind == SVG_STACKED && c->height <= 0) {
        double want = 70 + 30 * (double)c->ncats;
        cv.h = want < 200 ? 200 : want > 900 ? 900 : want;
    }
    size_t start = out->len;
    sb_printf(out,
              "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" "
              "width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
              "role=\"img\" font-family=\"sans-serif\" font-size=\"11\">",
              cv.w, cv.h, cv.w, cv.h);
    if (c->title) {
        sb_puts(out, "<title>");
        esc(out, c->title);
        sb_puts(out, "</title>");
    }
    sb_puts(out, "<style>.grid{stroke:#e4e4e4;stroke-width:1}"
                 ".axis{stroke:#555;stroke-width:1}"
                 ".ci{stroke:#222;stroke-width:1.3;fill:none}"
                 ".val{font-size:10px;fill:#333}"
                 ".seg{font-size:10px;fill:#fff}"
                 "</style>");
    double y = 8;
    if (c->title) {
        sb_printf(out,
                  "<text x=\"%.1f\" y=\"22\" text-anchor=\"middle\" "
                  "font-size=\"14\" font-weight=\"bold\">",
                  cv.w / 2);
        esc_trunc(out, c->title, (size_t)(cv.w / (CHAR_W * 1.3)));
        sb_puts(out, "</text>");
        y = 32;
    }
    bool want_legend =
        c->kind != SVG_HIST && (c->nseries > 1 || c->kind == SVG_STACKED ||
                                (c->shade && c->shade_label));
    if (want_legend) {
        double lh = legend(out, c, 12, y + 12, cv.w - 24, true);
        y += lh + (lh > 0 ? 2 : 0);
    }
    cv.top = y + 10;
    switch (c->kind) {
    case SVG_BAR:
        bar_body(out, c, &cv);
        break;
    case SVG_LINE:
    case SVG_SCATTER:
        xy_body(out, c, &cv);
        break;
    case SVG_STACKED:
        stacked_body(out, c, &cv);
        break;
    case SVG_HIST:
        hist_body(out, c, &cv);
        break;
    }
    sb_puts(out, "</svg>");
    if (out->oom) {
        out->len = start;
        if (out->buf)
            out->buf[start] = '\0';
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    return 0;
}
