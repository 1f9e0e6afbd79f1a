/*
 * Unit tests of the report's SVG chart module: axis ranges and ticks,
 * number labels, XML escaping (markup, quotes, Unicode, invalid bytes),
 * well-formed output for every chart kind with hostile labels, chart
 * geometry (bars, whiskers, bins) and the failure paths.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "failalloc.h"
#include "report/svg.h"
#include "xmlcheck.h"

/* |a - b| <= eps (cmocka 1.1 compares floats only in single precision) */
#define assert_near(a, b, eps)                                                 \
    do {                                                                       \
        double a_ = (a), b_ = (b);                                             \
        if (!(a_ == b_ || fabs(a_ - b_) <= (eps))) {                           \
            print_error("%s = %.17g, expected %.17g (+- %g)\n", #a, a_, b_,    \
                        (double)(eps));                                        \
            fail();                                                            \
        }                                                                      \
    } while (0)

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

static void assert_wellformed(const char *s)
{
    xmlcheck x;
    bool ok = xml_wellformed(s, strlen(s), &x);
    if (!ok)
        print_error("not well-formed at %zu: %s: ...%.60s\n", x.at, x.why,
                    s + (x.at > 20 ? x.at - 20 : 0));
    assert_true(ok);
}

/* ---- axes ---------------------------------------------------------------- */

static void test_ticks_linear(void **state)
{
    (void)state;
    svg_axis a;
    svg_axis_nice(0, 0.93, 6, false, &a);
    assert_near(a.lo, 0, 1e-12);
    assert_near(a.hi, 1, 1e-12);
    assert_int_equal(a.nticks, 6);
    assert_near(a.ticks[1], 0.2, 1e-12);
    assert_near(a.ticks[5], 1.0, 1e-12);

    svg_axis_nice(-0.2, 0.91, 6, false, &a);
    assert_near(a.lo, -0.2, 1e-12);
    assert_near(a.hi, 1.0, 1e-12);
    assert_near(a.ticks[1], 0, 0); /* exactly zero, no -0.0000001 */

    svg_axis_nice(3, 97, 6, false, &a);
    assert_near(a.lo, 0, 0);
    assert_near(a.hi, 100, 1e-9);
    assert_near(a.ticks[1] - a.ticks[0], 20, 1e-9);

    /* 2.5 steps are nice too */
    svg_axis_nice(0, 9.5, 4, false, &a);
    assert_near(a.ticks[1] - a.ticks[0], 2.5, 1e-12);
    assert_near(a.hi, 10, 1e-12);

    /* the range always covers the data; ticks lie inside the range */
    double cases[][2] = {{1e-7, 3e-7}, {-5e6, 1.2e7}, {44.06, 51.35}, {-3, -1}};
    for (size_t i = 0; i < 4; i++) {
        svg_axis_nice(cases[i][0], cases[i][1], 6, false, &a);
        assert_true(a.lo <= cases[i][0] && a.hi >= cases[i][1]);
        assert_true(a.nticks >= 2 && a.nticks <= 8);
        for (size_t k = 0; k < a.nticks; k++)
            assert_true(a.ticks[k] >= a.lo - 1e-9 * fabs(a.hi - a.lo) &&
                        a.ticks[k] <= a.hi + 1e-9 * fabs(a.hi - a.lo));
    }
}

static void test_ticks_degenerate(void **state)
{
    (void)state;
    svg_axis a;
    svg_axis_nice(5, 5, 6, false, &a); /* one value: padded around it */
    assert_true(a.lo < 5 && a.hi > 5);
    svg_axis_nice(0, 0, 6, false, &a);
    assert_true(a.lo <= 0 && a.hi >= 1);
    svg_axis_nice(NAN, 3, 6, false, &a); /* non-finite: a unit range */
    assert_true(a.nticks >= 2);
    svg_axis_nice(7, 2, 6, false, &a); /* reversed bounds */
    assert_true(a.lo <= 2 && a.hi >= 7);
}

static void test_ticks_log(void **state)
{
    (void)state;
    svg_axis a;
    svg_axis_nice(7.1e7, 4.6e12, 7, true, &a);
    assert_true(a.log);
    assert_near(a.lo, 7, 0);
    assert_near(a.hi, 13, 0);
    assert_int_equal(a.nticks, 7);
    assert_near(a.ticks[0], 1e7, 1);
    assert_near(a.ticks[6], 1e13, 1e3);
    /* 30 decades with at most 6 ticks: every 5th decade */
    svg_axis_nice(1e-10, 1e20, 6, true, &a);
    assert_true(a.nticks <= 7);
    assert_near(log10(a.ticks[1]) - log10(a.ticks[0]), 5, 1e-9);
    /* within one decade: still two ticks */
    svg_axis_nice(2, 3, 6, true, &a);
    assert_int_equal(a.nticks, 2);
}

static void test_fmt(void **state)
{
    (void)state;
    char b[64];
    svg_fmt_num(0.25, b, sizeof b);
    assert_string_equal(b, "0.25");
    svg_fmt_num(1e21, b, sizeof b);
    assert_string_equal(b, "1e21");
    svg_fmt_num(2e-5, b, sizeof b);
    assert_string_equal(b, "2e-5");
    svg_fmt_num(-1.5e10, b, sizeof b);
    assert_string_equal(b, "-1.5e10");
    svg_fmt_num(12345, b, sizeof b);
    assert_string_equal(b, "12345");
    svg_fmt_num(0, b, sizeof b);
    assert_string_equal(b, "0");
    svg_fmt_num(0.915584, b, sizeof b);
    assert_string_equal(b, "0.9156");
    svg_fmt_num(NAN, b, sizeof b);
    assert_string_equal(b, "NaN");
}

/* ---- escaping ------------------------------------------------------------ */

static char *escaped(const char *s, size_t n)
{
    strbuf sb = {0};
    assert_int_equal(svg_escape(&sb, s, n), 0);
    return sb_steal(&sb);
}

static void test_escape(void **state)
{
    (void)state;
    char *e = escaped("<b>&\"x\"'y'", 10);
    assert_string_equal(e, "&lt;b&gt;&amp;&quot;x&quot;&#39;y&#39;");
    free(e);
    /* Unicode is kept byte for byte */
    const char *u = "na\xc3\xafve \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x93\x88";
    e = escaped(u, strlen(u));
    assert_string_equal(e, u);
    free(e);
    /* invalid UTF-8, overlong forms, surrogates and C0 controls become
     * U+FFFD; tab and newline stay */
    e = escaped("a\xff"
                "b\x01"
                "c\t\xc0\xaf\xed\xa0\x80\n",
                12);
    assert_string_equal(e, "a\xef\xbf\xbd"
                           "b\xef\xbf\xbd"
                           "c\t"
                           "\xef\xbf\xbd\xef\xbf\xbd"
                           "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\n");
    free(e);
    /* a truncated sequence at the end */
    e = escaped("ok\xe6\x97", 4);
    assert_string_equal(e, "ok\xef\xbf\xbd\xef\xbf\xbd");
    free(e);
    /* embedded NUL is a control character too */
    e = escaped("a\0b", 3);
    assert_string_equal(e, "a\xef\xbf\xbd"
                           "b");
    free(e);
}

/* ---- every chart kind, hostile labels ------------------------------------ */

static const char *const HOSTILE[] = {
    "<script>alert(1)</script>",
    "a & b",
    "\"quoted\" 'single'",
    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xc3\xbc",
    "bad\xff"
    "byte\x02",
    "]]> --> <!--",
    "ndcg@10",
    "a very long category label that goes on"};
#define NH (sizeof HOSTILE / sizeof *HOSTILE)

static void check_hostile_output(const char *s, bool legend)
{
    assert_wellformed(s);
    assert_null(strstr(s, "<script"));
    assert_null(strstr(s, "\xff"));
    assert_non_null(strstr(s, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    if (legend) /* series names: in the legend */
        assert_non_null(strstr(s, "a &amp; b"));
    assert_non_null(strstr(s, "&quot;quoted&quot; &#39;single&#39;"));
}

static void test_kinds_wellformed(void **state)
{
    (void)state;
    double y[NH], lo[NH], hi[NH], x[NH], y2[NH];
    for (size_t i = 0; i < NH; i++) {
        y[i] = 0.1 * (double)i - 0.2;
        lo[i] = y[i] - 0.05;
        hi[i] = y[i] + 0.07;
        x[i] = pow(10, (double)i);
        y2[i] = 3 + (double)i;
    }
    svg_series s[3] = {
        {.name = HOSTILE[0], .n = NH, .y = y, .lo = lo, .hi = hi},
        {.name = HOSTILE[1], .n = NH, .y = y2},
        {.name = HOSTILE[3],
         .n = NH,
         .x = x,
         .y = y2,
         .line = true,
         .dashed = true}};
    svg_kind kinds[] = {SVG_BAR, SVG_LINE, SVG_SCATTER, SVG_STACKED, SVG_HIST};
    for (size_t k = 0; k < 5; k++) {
        svg_chart c = {.kind = kinds[k],
                       .title = HOSTILE[0],
                       .xlabel = HOSTILE[2],
                       .ylabel = HOSTILE[4],
                       .cats = HOSTILE,
                       .ncats = NH,
                       .series = s,
                       .nseries = 3,
                       .values = y2,
                       .nvalues = NH,
                       .shade = true,
                       .shade_from = 100,
                       .shade_to = 1e6,
                       .shade_label = HOSTILE[1],
                       .xlog = kinds[k] == SVG_SCATTER};
        strbuf sb = {0};
        assay_error err = {0};
        assert_int_equal(svg_render(&c, &sb, &err), 0);
        check_hostile_output(sb.buf, kinds[k] != SVG_HIST);
        if (kinds[k] == SVG_BAR || kinds[k] == SVG_STACKED) /* categories */
            assert_non_null(
                strstr(sb.buf, "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"));
        /* the root is an svg element with a size */
        assert_true(
            !strncmp(sb.buf, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39));
        assert_non_null(strstr(sb.buf, "viewBox=\"0 0 640 "));
        sb_free(&sb);
    }
}

/* A chart can be appended to a buffer that already holds text, and
 * several charts in a row stay separately well-formed. */
static void test_append(void **state)
{
    (void)state;
    strbuf sb = {0};
    sb_puts(&sb, "<div>");
    double y[] = {1, 2, 3};
    const char *cats[] = {"a", "b", "c"};
    svg_series s = {.n = 3, .y = y};
    svg_chart c = {
        .kind = SVG_BAR, .cats = cats, .ncats = 3, .series = &s, .nseries = 1};
    assay_error err = {0};
    assert_int_equal(svg_render(&c, &sb, &err), 0);
    assert_int_equal(svg_render(&c, &sb, &err), 0);
    sb_puts(&sb, "</div>");
    assert_wellformed(sb.buf);
    assert_int_equal(count(sb.buf, "<svg "), 2);
    sb_free(&sb);
}

/* ---- geometry ------------------------------------------------------------ */

static void test_bar_ci(void **state)
{
    (void)state;
    const char *cats[] = {"accuracy", "auc", "kappa"};
    double y[] = {0.805, 0.9156, 0.5989}, lo[] = {0.75, 0.884, NAN},
           hi[] = {0.86, 0.9463, NAN};
    svg_series s = {.name = "clsm", .n = 3, .y = y, .lo = lo, .hi = hi};
    svg_chart c = {.kind = SVG_BAR,
                   .title = "metrics",
                   .cats = cats,
                   .ncats = 3,
                   .series = &s,
                   .nseries = 1};
    strbuf sb = {0};
    assay_error err = {0};
    assert_int_equal(svg_render(&c, &sb, &err), 0);
    assert_wellformed(sb.buf);
    /* three bars, two whiskers (the NaN interval draws none) */
    assert_int_equal(count(sb.buf, "<rect "), 3);
    assert_int_equal(count(sb.buf, "class=\"ci\""), 2);
    /* the y axis runs 0..1 in steps of 0.2: its labels are there */
    assert_non_null(strstr(sb.buf, ">0.2</text>"));
    assert_non_null(strstr(sb.buf, ">1</text>"));
    assert_null(strstr(sb.buf, ">1.2</text>"));
    /* hover text names category, value and interval */
    assert_non_null(strstr(sb.buf, "accuracy \xc2\xb7 clsm: 0.805 "
                                   "[0.75, 0.86]"));
    /* one series: no legend */
    assert_null(strstr(sb.buf, "width=\"12\" height=\"12\""));
    sb_free(&sb);

    /* negative values: the axis includes them and zero */
    double yn[] = {-0.3, 0.4};
    svg_series sn[2] = {{.name = "A", .n = 2, .y = yn},
                        {.name = "B", .n = 2, .y = yn}};
    svg_chart cn = {
        .kind = SVG_BAR, .cats = cats, .ncats = 2, .series = sn, .nseries = 2};
    assert_int_equal(svg_render(&cn, &sb, &err), 0);
    assert_wellformed(sb.buf);
    assert_non_null(strstr(sb.buf, ">-0.3</text>"));
    /* two series: a legend with two swatches */
    assert_int_equal(count(sb.buf, "width=\"12\" height=\"12\""), 2);
    assert_int_equal(count(sb.buf, "<rect "), 4 + 2);
    sb_free(&sb);
}

static void test_hist_bins(void **state)
{
    (void)state;
    /* positions 1..10: one bin per position */
    double v[200];
    for (int i = 0; i < 200; i++)
        v[i] = 1 + i % 10;
    svg_chart c = {
        .kind = SVG_HIST, .values = v, .nvalues = 200, .xlabel = "position"};
    strbuf sb = {0};
    assay_error err = {0};
    assert_int_equal(svg_render(&c, &sb, &err), 0);
    assert_wellformed(sb.buf);
    assert_int_equal(count(sb.buf, "<rect "), 10);
    assert_non_null(strstr(sb.buf, "[0.5, 1.5): 20</title>"));
    sb_free(&sb);
    /* continuous values, explicit bins; NaN and inf are left out */
    double w[103];
    for (int i = 0; i < 100; i++)
        w[i] = i / 100.0 + 0.001;
    w[100] = NAN;
    w[101] = INFINITY;
    w[102] = 0.5;
    c = (svg_chart){.kind = SVG_HIST, .values = w, .nvalues = 103, .bins = 5};
    assert_int_equal(svg_render(&c, &sb, &err), 0);
    assert_wellformed(sb.buf);
    assert_int_equal(count(sb.buf, "<rect "), 5);
    /* 100 + 1 finite values in five bins: 20, 20, 21, 20, 20 */
    assert_non_null(strstr(sb.buf, "): 21</title>"));
    sb_free(&sb);
}

static void test_stacked_percent(void **state)
{
    (void)state;
    const char *asp[] = {"relevance", "novelty"};
    double w[] = {40, 10}, t[] = {10, 0}, l[] = {50, 30};
    svg_series s[3] = {{.name = "win", .n = 2, .y = w},
                       {.name = "tie", .n = 2, .y = t},
                       {.name = "loss", .n = 2, .y = l}};
    svg_chart c = {.kind = SVG_STACKED,
                   .cats = asp,
                   .ncats = 2,
                   .series = s,
                   .nseries = 3,
                   .percent = true};
    strbuf sb = {0};
    assay_error err = {0};
    assert_int_equal(svg_render(&c, &sb, &err), 0);
    assert_wellformed(sb.buf);
    /* five segments (a zero is not drawn) + three legend swatches */
    assert_int_equal(count(sb.buf, "<rect "), 5 + 3);
    assert_non_null(strstr(sb.buf, "novelty \xc2\xb7 loss: 30 (75.0%)"));
    /* win, tie, loss get their conventional colours */
    assert_non_null(strstr(sb.buf, "#59a14f"));
    assert_non_null(strstr(sb.buf, "#e15759"));
    sb_free(&sb);
}

static void test_scatter_shade(void **state)
{
    (void)state;
    double x[] = {1e8, 1e9, 1e10}, y[] = {3, 2.5, 2.2};
    double cx[] = {1e8, 1e10, 1e12}, cy[] = {3, 2.2, 2.0};
    svg_series s[2] = {{.name = "observed", .n = 3, .x = x, .y = y},
                       {.name = "fit", .n = 3, .x = cx, .y = cy, .line = true}};
    svg_chart c = {.kind = SVG_SCATTER,
                   .series = s,
                   .nseries = 2,
                   .xlog = true,
                   .shade = true,
                   .shade_from = 1e10,
                   .shade_to = 1e12,
                   .shade_label = "extrapolation"};
    strbuf sb = {0};
    assay_error err = {0};
    assert_int_equal(svg_render(&c, &sb, &err), 0);
    assert_wellformed(sb.buf);
    assert_int_equal(count(sb.buf, "<circle "), 3); /* the curve has none */
    assert_non_null(strstr(sb.buf, "fill-opacity=\"0.13\"")); /* the band */
    assert_non_null(strstr(sb.buf, ">1e12</text>"));
    assert_non_null(strstr(sb.buf, ">extrapolation</text>"));
    /* on a log axis, non-positive x are skipped, not drawn at -inf */
    double xz[] = {0, -1, 10}, yz[] = {1, 2, 3};
    svg_series sz = {.n = 3, .x = xz, .y = yz};
    c = (svg_chart){
        .kind = SVG_SCATTER, .series = &sz, .nseries = 1, .xlog = true};
    sb_free(&sb);
    assert_int_equal(svg_render(&c, &sb, &err), 0);
    assert_int_equal(count(sb.buf, "<circle "), 1);
    assert_null(strstr(sb.buf, "nan"));
    assert_null(strstr(sb.buf, "inf"));
    sb_free(&sb);
}

/* ---- failures
 * ---------------------------------------------------------------- */

static void test_nothing_to_draw(void **state)
{
    (void)state;
    strbuf sb = {0};
    sb_puts(&sb, "keep");
    assay_error err = {0};
    svg_chart c = {.kind = SVG_BAR};
    assert_int_equal(svg_render(&c, &sb, &err), ASSAY_EINVAL);
    double nan[] = {NAN, NAN};
    const char *cats[] = {"a", "b"};
    svg_series s = {.n = 2, .y = nan};
    c = (svg_chart){
        .kind = SVG_BAR, .cats = cats, .ncats = 2, .series = &s, .nseries = 1};
    assert_int_equal(svg_render(&c, &sb, &err), ASSAY_EINVAL);
    assert_non_null(strstr(err.text, "no finite"));
    c = (svg_chart){.kind = SVG_HIST, .values = nan, .nvalues = 2};
    assert_int_equal(svg_render(&c, &sb, &err), ASSAY_EINVAL);
    c = (svg_chart){.kind = (svg_kind)99};
    assert_int_equal(svg_render(&c, &sb, &err), ASSAY_EINVAL);
    assert_string_equal(sb.buf, "keep"); /* nothing appended */
    sb_free(&sb);
}

/* Every allocation of a render may fail: the result is ENOMEM with the
 * buffer as it was, never a crash or a leak (the sanitizer build checks
 * the leaks). */
static void test_out_of_memory(void **state)
{
    (void)state;
    double v[300], y[] = {1, 2, 3};
    for (int i = 0; i < 300; i++)
        v[i] = sin(i) * 10;
    const char *cats[] = {"a", "b", "c"};
    svg_series s = {.name = "s", .n = 3, .y = y};
    svg_chart charts[] = {{.kind = SVG_HIST, .values = v, .nvalues = 300},
                          {.kind = SVG_STACKED,
                           .cats = cats,
                           .ncats = 3,
                           .series = &s,
                           .nseries = 1},
                          {.kind = SVG_BAR,
                           .title = "t",
                           .cats = cats,
                           .ncats = 3,
                           .series = &s,
                           .nseries = 1}};
    for (size_t k = 0; k < 3; k++) {
        bool succeeded = false;
        for (long n = 0; n < 200 && !succeeded; n++) {
            strbuf sb = {0};
            sb_puts(&sb, "x");
            assay_error err = {0};
            failalloc_arm(n);
            int rc = svg_render(&charts[k], &sb, &err);
            long failed = failalloc_failed();
            failalloc_disarm();
            if (rc == 0) {
                assert_int_equal(failed, 0);
                succeeded = true;
            } else {
                assert_int_equal(rc, ASSAY_ENOMEM);
                assert_int_equal(sb.len, 1);
            }
            sb_free(&sb);
        }
        assert_true(succeeded);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ticks_linear),
        cmocka_unit_test(test_ticks_degenerate),
        cmocka_unit_test(test_ticks_log),
        cmocka_unit_test(test_fmt),
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_kinds_wellformed),
        cmocka_unit_test(test_append),
        cmocka_unit_test(test_bar_ci),
        cmocka_unit_test(test_hist_bins),
        cmocka_unit_test(test_stacked_percent),
        cmocka_unit_test(test_scatter_shade),
        cmocka_unit_test(test_nothing_to_draw),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
