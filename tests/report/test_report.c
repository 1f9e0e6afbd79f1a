/*
 * Tests of report.html, the terminal summary, run comparison and the
 * paired tests, on run directories written by the test itself (a
 * manifest, node records, JSON, JSONL and binary-table outputs), so that
 * every shape the reporter handles is pinned: intervals, sweeps over K,
 * win/tie/loss objects, position distributions, plugin-declared charts,
 * fitted laws, failed nodes, LLM usage, hostile text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "failalloc.h"
#include "report/compare.h"
#include "report/report.h"
#include "report/rundir.h"
#include "report/stats.h"
#include "report/summary.h"
#include "table.h"
#include "util.h"
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

static char g_root[PATH_MAX];

static void put(const char *dir, const char *name, const char *text)
{
    char path[PATH_MAX + 300];
    assay_error err;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char d[PATH_MAX + 300];
    util_dirname(path, d, sizeof d);
    assert_int_equal(util_mkdirs(d, &err), 0);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void put_table(const char *dir, const char *name, assay_table *t)
{
    char path[PATH_MAX + 300];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(table_write(t, f, NULL), 0);
    fclose(f);
    table_free(t);
}

static const char MANIFEST[] =
    "{\"experiment\": \"demo <x>\", \"status\": \"failed\","
    " \"assay_version\": \"0.1.0\", \"config_file\": \"/x/exp.yaml\","
    " \"sets\": [], \"seed\": 7, \"started\": \"2026-01-01T00:00:00Z\","
    " \"finished\": \"2026-01-01T00:00:02Z\", \"seconds\": 1.5, \"jobs\": 2,"
    " \"config\": {\"experiment\": \"demo\", \"seed\": 7, \"nodes\": {"
    "  \"data\": {\"plugin\": \"source.jsonl\", \"with\": {\"path\": "
    "\"d.jsonl\"}},"
    "  \"m1\": {\"plugin\": \"metric.x\", \"inputs\": {\"items\": "
    "\"data.records\"}, \"with\": {\"bootstrap\": %d}},"
    "  \"m2\": {\"plugin\": \"metric.x\", \"inputs\": {\"items\": "
    "\"data.records\"}},"
    "  \"fit\": {\"plugin\": \"fitter.law\", \"inputs\": {\"data\": "
    "\"data.records\"}},"
    "  \"bad\": {\"plugin\": \"metric.x\", \"inputs\": {\"items\": "
    "[\"data.records\", \"m1.items\"]}}},"
    "  \"report\": [\"m1.summary\", \"m2.summary\", \"nope.summary\", "
    "\"m1.items\"]},"
    " \"plugins\": {"
    "  \"source.jsonl\": {\"version\": \"1.0.0\", \"kind\": \"source\", "
    "\"file\": \"/p/s.so\", \"sha256\": \"aaaa\"},"
    "  \"metric.x\": {\"version\": \"2.0.0\", \"kind\": \"metric\", "
    "\"file\": \"/p/m.so\", \"sha256\": \"%s\"},"
    "  \"fitter.law\": {\"version\": \"1.0.0\", \"kind\": \"fitter\", "
    "\"file\": \"/p/f.so\", \"sha256\": \"cccc\"}},"
    " \"nodes\": {"
    "  \"data\": {\"plugin\": \"source.jsonl\", \"status\": \"done\", "
    "\"source\": \"run\", \"seconds\": 0.01},"
    "  \"m1\": {\"plugin\": \"metric.x\", \"status\": \"done\", \"source\": "
    "\"run\", \"seconds\": 0.5},"
    "  \"m2\": {\"plugin\": \"metric.x\", \"status\": \"done\", \"source\": "
    "\"cache\", \"seconds\": 0.001},"
    "  \"fit\": {\"plugin\": \"fitter.law\", \"status\": \"done\", "
    "\"source\": \"run\", \"seconds\": 0.2},"
    "  \"bad\": {\"plugin\": \"metric.x\", \"status\": \"failed\", "
    "\"source\": \"run\", \"seconds\": 0.1, \"error\": \"record 3: field "
    "'score': <boom> & more\"}},"
    " \"llm\": {\"endpoints\": {\"judge\": {\"provider\": \"openai\", "
    "\"model\": \"gpt-x\", \"requests\": 10, \"sent\": 6, \"ok\": 6, "
    "\"cached\": 4, \"retried\": 1, \"failed\": 0, \"skipped\": 0, "
    "\"replay_miss\": 0, \"prompt_tokens\": 900, \"completion_tokens\": "
    "100, \"cost\": 0.5, \"latency_ms\": {\"p50\": 120, \"p90\": 300, "
    "\"p99\": 400}}}, \"nodes\": {\"m1\": {\"requests\": 6, \"cached\": 2, "
    "\"prompt_tokens\": 600, \"completion_tokens\": 60, \"cost\": 0.3}, "
    "\"m2\": {\"requests\": 4, \"cached\": 2, \"prompt_tokens\": 300, "
    "\"completion_tokens\": 40, \"cost\": 0.2}}, \"budget\": {\"requests\": "
    "10, \"tokens\": 1000, \"cost\": 0.5, \"max_cost\": 2.0}}}";

static const char SUMMARY[] =
    "{\"n\": 40, \"accuracy\": %g, \"accuracy_ci\": [%g, %g], \"auc\": "
    "0.75, \"label\": \"<script>alert(1)</script>\", \"ndcg@5\": 0.3, "
    "\"ndcg@10\": 0.4, \"ndcg@20\": 0.5, \"hr@5\": 0.4, \"hr@10\": 0.5, "
    "\"hr@20\": 0.6, \"arena\": {\"relevance\": {\"win\": 5, \"tie\": 2, "
    "\"loss\": 3}, \"fluency\": {\"win\": 1, \"tie\": 1, \"loss\": 8}}, "
    "\"positions\": {\"1\": 10, \"3\": 4, \"2\": 7}, "
    "\"train_loss\": [0.9, 0.7, 0.55, 0.5], "
    "\"report\": {\"charts\": [{\"type\": \"bar\", \"title\": \"custom "
    "<chart>\", \"x\": [\"a\", \"b\"], \"y\": [1, 2], \"ci\": [[0.5, 1.5], "
    "[1.5, 2.5]]}, {\"type\": \"pie\"}, {\"type\": \"table\", \"title\": "
    "\"custom table\", \"columns\": [\"k\", \"v\"], \"rows\": [[\"x&y\", "
    "1]]}]}}";

static const char NODE_JSON[] =
    "{\"node\": \"%s\", \"status\": \"done\", \"options\": {}, "
    "\"outputs\": {%s}}";

/* Write a run directory under g_root/<name>; `shift` moves run B's
 * per-item outcomes (see test_compare). */
static void make_run(const char *name, int bootstrap, const char *sha,
                     int variant, char *dir, size_t dirsz)
{
    snprintf(dir, dirsz, "%s/%s", g_root, name);
    char buf[16384];
    snprintf(buf, sizeof buf, MANIFEST, bootstrap, sha);
    put(dir, "manifest.json", buf);
    char nd[PATH_MAX + 64];
    /* data: records */
    snprintf(nd, sizeof nd, "%s/nodes/data", dir);
    snprintf(buf, sizeof buf, NODE_JSON, "data",
             "\"records\": {\"file\": \"records.jsonl\", \"type\": "
             "\"records\", \"count\": 3}");
    put(nd, "node.json", buf);
    put(nd, "records.jsonl",
        "{\"id\": 1, \"text\": \"<b>bold</b>\"}\n"
        "{\"id\": 2, \"text\": \"caf\xc3\xa9\"}\n"
        "{\"id\": 3, \"text\": [1, 2]}\n");
    /* m1, m2: summary (bar) + items (hist) */
    for (int m = 1; m <= 2; m++) {
        char node[8];
        snprintf(node, sizeof node, "m%d", m);
        snprintf(nd, sizeof nd, "%s/nodes/%s", dir, node);
        snprintf(buf, sizeof buf, NODE_JSON, node,
                 m == 1 ? "\"summary\": {\"file\": \"summary.json\", "
                          "\"type\": \"json\", \"count\": 1, \"chart\": "
                          "\"bar\"}, \"items\": {\"file\": \"items.jsonl\", "
                          "\"type\": \"records\", \"count\": 40, \"chart\": "
                          "\"hist\"}"
                        : "\"summary\": {\"file\": \"summary.json\", "
                          "\"type\": \"json\", \"count\": 1, \"chart\": "
                          "\"bar\"}, \"items\": {\"file\": \"items.jsonl\", "
                          "\"type\": \"records\", \"count\": 40, \"chart\": "
                          "\"hist\"}, \"pairs\": {\"file\": \"pairs.jsonl\", "
                          "\"type\": \"records\", \"count\": 2, \"chart\": "
                          "\"stacked\"}");
        if (m == 2) /* an arena's per-aspect outcome counts */
            put(nd, "pairs.jsonl",
                "{\"pair\": \"pop vs knn\", \"aspect\": \"relevance\", "
                "\"wins_a\": 5, \"ties\": 2, \"wins_b\": 3, \"q\": 0.6}\n"
                "{\"pair\": \"pop vs knn\", \"aspect\": \"novelty\", "
                "\"wins_a\": 1, \"ties\": 1, \"wins_b\": 8, \"q\": 0.15}\n");
        put(nd, "node.json", buf);
        double acc = variant ? 0.575 : 0.75;
        snprintf(buf, sizeof buf, SUMMARY, acc + 0.01 * m, acc - 0.1,
                 acc + 0.1);
        put(nd, "summary.json", buf);
        strbuf items = {0};
        for (int i = 0; i < 40; i++) {
            /* A: items 0-29 right; B: 0-9 wrong, 30-32 right */
            bool right =
                variant ? ((i >= 10 && i < 30) || (i >= 30 && i < 33)) : i < 30;
            double score = i / 40.0 + (variant ? 0.1 : 0);
            sb_printf(&items,
                      "{\"id\": \"q%d\", \"correct\": %s, \"score\": %.17g, "
                      "\"len\": %d, \"rouge\": {\"f\": %.3f}}\n",
                      i, right ? "true" : "false", score, 8, score / 2);
        }
        put(nd, "items.jsonl", items.buf);
        sb_free(&items);
    }
    /* fit: points and curve tables, params json */
    snprintf(nd, sizeof nd, "%s/nodes/fit", dir);
    put(nd, "node.json",
        "{\"node\": \"fit\", \"outputs\": {\"params\": {\"file\": "
        "\"params.json\", \"type\": \"json\", \"count\": 1}, \"points\": "
        "{\"file\": \"points.atb\", \"type\": \"table\", \"count\": 4}, "
        "\"curve\": {\"file\": \"curve.atb\", \"type\": \"table\", "
        "\"count\": 6}}}");
    put(nd, "params.json",
        "{\"target\": \"loss\", \"fitted_law\": \"2 + 5 / N^0.3\", "
        "\"params\": {\"E\": {\"value\": 2.0, \"se\": 0.1, \"ci\": [1.8, "
        "2.2]}, \"alpha\": {\"value\": 0.3, \"ci\": [0.25, 0.35]}}, \"fit\": "
        "{\"in_sample\": {\"n\": 4, \"r2\": 0.99, \"rmse\": 0.01, "
        "\"mape\": 0.004}}}");
    assay_table *t = table_new(4);
    double *pn = table_add_col(t, "N", ASSAY_COL_FLOAT64);
    double *py = table_add_col(t, "y", ASSAY_COL_FLOAT64);
    for (int i = 0; i < 4; i++) {
        pn[i] = pow(10, 6 + i);
        py[i] = 2 + 5 / pow(pn[i], 0.3);
    }
    put_table(nd, "points.atb", t);
    t = table_new(6);
    table_add_col(t, "var", ASSAY_COL_STRING);
    double *cn = table_add_col(t, "N", ASSAY_COL_FLOAT64);
    double *cp = table_add_col(t, "pred", ASSAY_COL_FLOAT64);
    int64_t *ce = table_add_col(t, "extrapolated", ASSAY_COL_INT64);
    for (int i = 0; i < 6; i++) {
        table_set_str(t, 0, (size_t)i, "N", 1);
        cn[i] = pow(10, 6 + i);
        cp[i] = 2 + 5 / pow(cn[i], 0.3);
        ce[i] = i >= 4;
    }
    put_table(nd, "curve.atb", t);
}

static int setup(void **state)
{
    (void)state;
    snprintf(g_root, sizeof g_root, "/tmp/assay-report-test-XXXXXX");
    assert_non_null(mkdtemp(g_root));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    util_rmtree(g_root);
    return 0;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

/* Every <svg>...</svg> of a page is well-formed XML; returns how many. */
static size_t check_svgs(const char *page)
{
    size_t n = 0;
    for (const char *p = page; (p = strstr(p, "<svg "));) {
        const char *e = strstr(p, "</svg>");
        assert_non_null(e);
        xmlcheck x;
        size_t len = (size_t)(e - p) + 6;
        bool ok = xml_wellformed(p, len, &x);
        if (!ok)
            print_error("svg %zu: %s at %zu: %.80s\n", n, x.why, x.at,
                        p + x.at);
        assert_true(ok);
        n++;
        p = e;
    }
    return n;
}

/* ---- reading a run directory --------------------------------------------- */

static void test_rundir(void **state)
{
    (void)state;
    char dir[PATH_MAX];
    make_run("read", 100, "bbbb", 0, dir, sizeof dir);
    rundir *rd = NULL;
    assay_error err = {0};
    assert_int_equal(rundir_load(dir, &rd, &err), 0);
    assert_int_equal(rd->n, 5);
    long m1 = rundir_find(rd, "m1"), bad = rundir_find(rd, "bad");
    assert_true(m1 >= 0 && bad >= 0);
    assert_string_equal(rd->nodes[m1].kind, "metric");
    assert_int_equal(rd->nodes[m1].nouts, 2);
    const rd_port *p = rundir_port(&rd->nodes[m1], "summary");
    assert_non_null(p);
    assert_string_equal(p->chart, "bar");
    assert_int_equal(p->type, ASSAY_T_JSON);
    /* the failed node has no node.json but keeps its edges and error */
    assert_int_equal(rd->nodes[bad].nouts, 0);
    assert_int_equal(rd->nodes[bad].nins, 2);
    assert_int_equal(rd->nodes[bad].ins[1].from, m1);
    assert_string_equal(rd->nodes[bad].ins[1].from_port, "items");
    assert_non_null(strstr(rd->nodes[bad].error, "<boom>"));
    assert_true(isnan(rd->nodes[rundir_find(rd, "data")].seconds) == 0);

    /* records as columns: booleans numeric and binary, nested objects
     * flattened, arrays kept as text */
    rd_items *it = NULL;
    p = rundir_port(&rd->nodes[m1], "items");
    assert_int_equal(rundir_items(rd, &rd->nodes[m1], p, 5, &it, &err), 0);
    assert_int_equal(it->nrows, 40);
    const rd_col *c = rd_items_col(it, "correct");
    assert_non_null(c);
    assert_int_equal(c->kind, RD_NUM);
    assert_true(c->binary);
    assert_near(c->num[29], 1, 0);
    assert_near(c->num[30], 0, 0);
    c = rd_items_col(it, "rouge.f");
    assert_non_null(c);
    assert_int_equal(c->kind, RD_NUM);
    assert_false(c->binary);
    assert_string_equal(rd_items_col(it, "id")->str[39], "q39");
    rd_items_free(it);
    /* a preview reads only the head */
    size_t total = 0;
    assert_int_equal(
        rundir_items_head(rd, &rd->nodes[m1], p, 3, &it, &total, &err), 0);
    assert_int_equal(it->nrows, 3);
    rd_items_free(it);
    long fit = rundir_find(rd, "fit");
    p = rundir_port(&rd->nodes[fit], "curve");
    assert_int_equal(
        rundir_items_head(rd, &rd->nodes[fit], p, 2, &it, &total, &err), 0);
    assert_int_equal(it->nrows, 2);
    assert_int_equal(total, 6);
    assert_string_equal(rd_items_col(it, "var")->str[1], "N");
    assert_near(rd_items_col(it, "N")->num[1], 1e7, 0);
    assert_near(rd_items_col(it, "extrapolated")->num[1], 0, 0);
    rd_items_free(it);
    assert_int_equal(rundir_items(rd, &rd->nodes[fit], p, 0, &it, &err), 0);
    assert_near(rd_items_col(it, "extrapolated")->num[5], 1, 0);
    rd_items_free(it);
    rundir_free(rd);

    /* not a run directory */
    assert_int_not_equal(rundir_load(g_root, &rd, &err), 0);
    assert_non_null(strstr(err.text, "manifest.json"));
    assert_null(rd);
}

static void test_flatten(void **state)
{
    (void)state;
    json_t *j = json_loads(
        "{\"acc\": 0.8, \"acc_ci\": [0.7, 0.9], \"acc_ci_resamples\": 100, "
        "\"score\": 44.1, \"ci\": {\"level\": 0.95, \"low\": 40, \"high\": "
        "48}, \"params\": {\"E\": {\"value\": 1.7, \"ci\": [1.6, 1.8]}}, "
        "\"sub\": {\"n\": 5, \"accuracy\": 0.8, \"ci_low\": 0.7, "
        "\"ci_high\": 0.95}, \"rel\": {\"value\": 0.5, \"n\": 3, "
        "\"ci_low\": 0.4, \"ci_high\": 0.6}, "
        "\"n\": 5, \"ok\": true, \"list\": [1, 2], \"report\": {\"x\": 1}}",
        0, NULL);
    assert_non_null(j);
    rd_nums ns = {0};
    assert_int_equal(rd_flatten(j, 8, &ns), 0);
    const char *want[] = {"acc", "score", "params.E", "sub.n",   "sub.accuracy",
                          "rel", "n",     "ok",       "list[0]", "list[1]"};
    assert_int_equal(ns.n, 10);
    for (size_t i = 0; i < 10; i++)
        assert_string_equal(ns.v[i].path, want[i]);
    /* ci_low / ci_high bound the first real of their object */
    assert_near(ns.v[4].lo, 0.7, 0);
    assert_near(ns.v[4].hi, 0.95, 0);
    assert_true(isnan(ns.v[3].lo));
    assert_near(ns.v[5].v, 0.5, 0);
    assert_near(ns.v[5].lo, 0.4, 0);
    assert_near(ns.v[0].lo, 0.7, 0);
    assert_near(ns.v[0].hi, 0.9, 0);
    assert_near(ns.v[1].lo, 40, 0);
    assert_near(ns.v[2].v, 1.7, 0);
    assert_near(ns.v[2].hi, 1.8, 0);
    assert_true(ns.v[3].integer);
    assert_false(ns.v[0].integer);
    assert_true(isnan(ns.v[3].lo));
    rd_nums_free(&ns);
    /* arrays longer than the limit are skipped */
    assert_int_equal(rd_flatten(j, 0, &ns), 0);
    assert_int_equal(ns.n, 8);
    rd_nums_free(&ns);
    json_decref(j);
}

/* ---- report.html --------------------------------------------------------- */

static void test_report_page(void **state)
{
    (void)state;
    char dir[PATH_MAX], out[PATH_MAX + 32];
    make_run("page", 100, "bbbb", 0, dir, sizeof dir);
    assay_error err = {0};
    assert_int_equal(report_write(dir, NULL, out, sizeof out, &err), 0);
    assert_non_null(strstr(out, "/page/report.html"));
    char *page = NULL;
    size_t len = 0;
    assert_int_equal(util_read_file(out, &page, &len, &err), 0);
    /* self-contained: no external resources */
    assert_null(strstr(page, "src=\"http"));
    assert_null(strstr(page, "href=\"http"));
    assert_null(strstr(page, "@import"));
    assert_null(strstr(page, "url(http"));
    assert_int_equal(count(page, "<script"), 1); /* the table sorter */
    /* hostile text is escaped everywhere */
    assert_null(strstr(page, "<script>alert"));
    assert_non_null(strstr(page, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert_non_null(strstr(page, "&lt;boom&gt; &amp; more"));
    assert_non_null(strstr(page, "demo &lt;x&gt;"));
    assert_non_null(strstr(page, "&lt;b&gt;bold&lt;/b&gt;"));
    /* sections */
    const char *sections[] = {
        "id=\"key\"", "id=\"leaderboards\"", "id=\"graph\"", "id=\"nodes\"",
        "id=\"llm\"", "id=\"outputs\"",      "id=\"config\""};
    for (size_t i = 0; i < 7; i++)
        assert_non_null(strstr(page, sections[i]));
    /* the graph: five boxes, five edges, linked to the node sections */
    assert_int_equal(count(page, "marker-end=\"url(#arr)\""), 5);
    assert_int_equal(count(page, "<rect x=") >= 5, 1);
    assert_non_null(strstr(page, "<a href=\"#n-m1\">"));
    assert_non_null(strstr(page, "id=\"n-m1\""));
    /* key results: intervals, the missing output named */
    assert_non_null(strstr(page, "[0.65, 0.85]"));
    assert_non_null(strstr(page, "listed under <code>report:</code> was "
                                 "not produced"));
    /* charts by kind */
    size_t nsvg = check_svgs(page);
    assert_true(nsvg >= 12);
    assert_non_null(strstr(page, "<title>summary by node</title>")); /* lb */
    assert_non_null(strstr(page, ">K</text>"));                 /* @K sweep */
    assert_non_null(strstr(page, "relevance \xc2\xb7 win: 5")); /* stacked */
    /* per-item outcome counts with the stacked hint: one bar per aspect,
     * the pair (the same on every row) left out of the label */
    assert_non_null(strstr(page, "<title>m2.pairs</title>"));
    assert_non_null(strstr(page, "relevance \xc2\xb7 wins_a: 5 (50.0%)"));
    assert_non_null(strstr(page, "novelty \xc2\xb7 wins_b: 8 (80.0%)"));
    assert_non_null(strstr(page, "<title>m1.summary \xc2\xb7 positions"));
    assert_non_null(strstr(page, "<title>m1.summary \xc2\xb7 train_loss"));
    assert_non_null(strstr(page, "<title>custom &lt;chart&gt;</title>"));
    assert_non_null(strstr(page, "unknown chart type &#39;pie&#39;"));
    assert_non_null(strstr(page, "<h4>custom table</h4>"));
    assert_non_null(strstr(page, "x&amp;y"));
    assert_non_null(strstr(page, "m1.items: score (n = 40)")); /* hist */
    assert_non_null(strstr(page, "m1.items: rouge.f (n = 40)"));
    /* the fitted law: observed points, the curve, the shaded band */
    assert_non_null(strstr(page, "<title>fit: loss vs N</title>"));
    assert_non_null(strstr(page, "<title>extrapolation</title>"));
    assert_non_null(strstr(page, "2 + 5 / N^0.3"));
    /* parameters with intervals as bars with whiskers */
    assert_non_null(strstr(page, "<title>fit.params \xc2\xb7 params</title>"));
    /* LLM usage and cost */
    assert_non_null(strstr(page, "gpt-x"));
    assert_non_null(strstr(page, "(budget 2.0000)"));
    assert_non_null(strstr(page, "<title>tokens per node</title>"));
    /* node table: the reused node and the failed one */
    assert_non_null(strstr(page, "<td>cache</td>"));
    assert_non_null(strstr(page, "b-failed"));
    /* previews say how much is shown */
    assert_non_null(strstr(page, "First 20 of 40 rows"));
    free(page);

    /* -o elsewhere */
    char other[PATH_MAX + 32];
    snprintf(other, sizeof other, "%s/other.html", g_root);
    assert_int_equal(report_write(dir, other, out, sizeof out, &err), 0);
    assert_string_equal(out, other);
    assert_true(util_is_file(other));
}

/* A run with many nodes and many per-item values stays under 10 MB and
 * says what it left out. */
static void test_report_size_limit(void **state)
{
    (void)state;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/big", g_root);
    strbuf m = {0};
    sb_puts(&m, "{\"experiment\": \"big\", \"status\": \"ok\", \"seconds\": "
                "1, \"config\": {\"nodes\": {");
    for (int i = 0; i < 300; i++)
        sb_printf(&m, "%s\"n%d\": {\"plugin\": \"metric.x\"%s}", i ? "," : "",
                  i, i ? ", \"inputs\": {\"items\": \"n0.items\"}" : "");
    sb_puts(&m, "}}, \"plugins\": {\"metric.x\": {\"version\": \"1\", "
                "\"kind\": \"metric\"}}, \"nodes\": {");
    for (int i = 0; i < 300; i++)
        sb_printf(&m,
                  "%s\"n%d\": {\"plugin\": \"metric.x\", \"status\": "
                  "\"done\", \"source\": \"run\", \"seconds\": 0.1}",
                  i ? "," : "", i);
    sb_puts(&m, "}}");
    put(dir, "manifest.json", m.buf);
    sb_free(&m);
    /* every node: a summary with 60 numbers (and a long array) and 2,000
     * items */
    strbuf items = {0}, sum = {0};
    for (int k = 0; k < 2000; k++)
        sb_printf(&items,
                  "{\"id\": %d, \"score\": %.6f, \"note\": "
                  "\"%040d\"}\n",
                  k, sin(k) * sin(k), k);
    sb_puts(&sum, "{\"values\": [");
    for (int k = 0; k < 5000; k++)
        sb_printf(&sum, "%s%.4f", k ? "," : "", cos(k));
    sb_puts(&sum, "]");
    for (int k = 0; k < 60; k++)
        sb_printf(&sum, ", \"m%d\": %.6f", k, 0.5 + 0.001 * k);
    for (int i = 0; i < 300; i++) {
        char nd[PATH_MAX + 64], rec[256];
        snprintf(nd, sizeof nd, "%s/nodes/n%d", dir, i);
        snprintf(rec, sizeof rec,
                 "{\"outputs\": {\"summary\": {\"file\": \"summary.json\", "
                 "\"type\": \"json\", \"count\": 1}, \"items\": {\"file\": "
                 "\"items.jsonl\", \"type\": \"records\", \"count\": 2000, "
                 "\"chart\": \"hist\"}}}");
        put(nd, "node.json", rec);
        /* one metric differs between the nodes */
        size_t keep = sum.len;
        sb_printf(&sum, ", \"acc\": %.4f}", 0.5 + i / 1000.0);
        put(nd, "summary.json", sum.buf);
        sum.len = keep;
        sum.buf[keep] = '\0';
        put(nd, "items.jsonl", items.buf);
    }
    sb_free(&items);
    sb_free(&sum);
    rundir *rd = NULL;
    assay_error err = {0};
    assert_int_equal(rundir_load(dir, &rd, &err), 0);
    strbuf page = {0};
    assert_int_equal(report_render(rd, &page, &err), 0);
    rundir_free(rd);
    assert_true(page.len < 10 * 1000 * 1000);
    assert_non_null(strstr(page.buf, "reached its size limit"));
    /* no huge array is embedded: the 5,000 values are summarised */
    assert_non_null(strstr(page.buf, "5000 values in ["));
    assert_null(strstr(page.buf, "0.4081,"));
    /* and the leaderboard of 300 identical summaries is there */
    assert_non_null(strstr(page.buf, "summary of 300 nodes"));
    sb_free(&page);
}

/* ---- terminal summary
 * ---------------------------------------------------------- */

static void test_summary(void **state)
{
    (void)state;
    char dir[PATH_MAX];
    make_run("sum", 100, "bbbb", 0, dir, sizeof dir);
    rundir *rd = NULL;
    assay_error err = {0};
    assert_int_equal(rundir_load(dir, &rd, &err), 0);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    summary_print(f, rd, "R/report.html");
    fclose(f);
    assert_non_null(strstr(text, "demo <x>: failed \xe2\x80\x94 4 done "
                                 "(1 reused), 1 failed, 0 skipped in "
                                 "1.50s\n"));
    assert_non_null(strstr(text, "LLM: 10 requests (4 from cache, 0 "
                                 "failed), 900 prompt + 100 completion "
                                 "tokens, cost 0.5000\n"));
    assert_non_null(strstr(text, "\nm1.summary\n"));
    assert_non_null(strstr(text, "  [0.65, 0.85]\n"));
    assert_non_null(strstr(text, "nope.summary: (not produced)\n"));
    assert_non_null(strstr(text, "m1.items: 40 records\n"));
    assert_non_null(strstr(text, "failed: bad: record 3"));
    assert_non_null(strstr(text, "report: R/report.html\n"));
    assert_non_null(strstr(text, "more numbers in the report"));
    /* aligned: every number line of an output ends its value at the
     * same column */
    const char *a = strstr(text, "\n  n "), *b = strstr(text, "\n  auc ");
    assert_non_null(a);
    assert_non_null(b);
    size_t la = (size_t)(strchr(a + 1, '\n') - a),
           lb = (size_t)(strchr(b + 1, '\n') - b);
    assert_int_equal(la, lb);
    free(text);
    char key[200];
    summary_key_metric(dir, key, sizeof key);
    assert_string_equal(key, "accuracy=0.76");
    summary_key_metric(g_root, key, sizeof key); /* not a run */
    assert_string_equal(key, "");
    rundir_free(rd);
}

/* ---- paired tests
 * ------------------------------------------------------------------ */

static void test_stats(void **state)
{
    (void)state;
    /* statsmodels mcnemar([[.., 10], [2, ..]], exact=True): 0.03857 */
    assert_near(rstats_mcnemar_exact(10, 2), 158.0 / 4096, 1e-12);
    assert_near(rstats_mcnemar_exact(2, 10), 158.0 / 4096, 1e-12);
    assert_near(rstats_mcnemar_exact(0, 0), 1, 0);
    assert_near(rstats_mcnemar_exact(5, 5), 1, 0);
    assert_near(rstats_mcnemar_exact(0, 1), 1, 0);
    assert_near(rstats_mcnemar_exact(0, 10), 2.0 / 1024, 1e-15);
    double p = rstats_mcnemar_exact(1000, 1150);
    assert_true(p > 0.0005 && p < 0.002); /* z ~ 3.2 */
    p = rstats_mcnemar_exact(100000, 100000);
    assert_near(p, 1, 0);
    double st;
    /* chi-squared with continuity correction: (|10-2|-1)^2/12 = 4.0833,
     * p = 0.04331 */
    p = rstats_mcnemar_chi2(10, 2, &st);
    assert_near(st, 49.0 / 12, 1e-12);
    assert_near(p, 0.0433081, 1e-6);
    p = rstats_mcnemar_chi2(0, 0, &st);
    assert_near(p, 1, 0);
    assert_near(st, 0, 0);
    p = rstats_mcnemar_chi2(3, 2, &st); /* |b-c| - 1 = 0 */
    assert_near(st, 0, 0);
    assert_near(p, 1, 1e-12);

    double a[200], b[200], c[200];
    for (int i = 0; i < 200; i++) {
        a[i] = sin(i) * 0.5 + 0.5;
        b[i] = a[i] + 0.05 + 0.02 * cos(3 * i);
        c[i] = a[i];
    }
    rstats_boot r1, r2;
    assert_int_equal(rstats_paired_bootstrap(a, b, 200, 1000, 42, 0.05, &r1),
                     0);
    assert_near(r1.diff, r1.mean_b - r1.mean_a, 1e-12);
    assert_true(r1.lo <= r1.diff && r1.diff <= r1.hi);
    assert_true(r1.lo > 0.04 && r1.hi < 0.06);
    assert_near(r1.p, 0, 0);
    assert_int_equal(r1.resamples, 1000);
    /* seeded: the same seed gives the same interval */
    assert_int_equal(rstats_paired_bootstrap(a, b, 200, 1000, 42, 0.05, &r2),
                     0);
    assert_near(r1.lo, r2.lo, 0);
    assert_near(r1.hi, r2.hi, 0);
    /* no difference: p = 1 and a zero-width interval */
    assert_int_equal(rstats_paired_bootstrap(a, c, 200, 500, 1, 0.05, &r2), 0);
    assert_near(r2.p, 1, 0);
    assert_near(r2.lo, 0, 0);
    assert_near(r2.hi, 0, 0);
    assert_int_equal(rstats_paired_bootstrap(a, b, 0, 100, 1, 0.05, &r2),
                     ASSAY_EINVAL);
}

static void test_compare(void **state)
{
    (void)state;
    char da[PATH_MAX], db[PATH_MAX], html[PATH_MAX + 32];
    make_run("A", 100, "bbbb", 0, da, sizeof da);
    make_run("B", 200, "dddd", 1, db, sizeof db);
    snprintf(html, sizeof html, "%s/cmp.html", g_root);
    compare_opts o = {.html = html, .bootstrap = 500, .seed = 3, .alpha = 0.05};
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assay_error err = {0};
    assert_int_equal(compare_runs(da, db, &o, f, &err), 0);
    fclose(f);
    /* metric differences */
    assert_non_null(strstr(text, "m1.summary"));
    assert_non_null(strstr(text, "accuracy"));
    assert_non_null(strstr(text, "-0.175"));
    /* McNemar on `correct`: 10 right->wrong, 3 wrong->right;
     * exact p = 2 * 378 / 8192, chi2 = 36/13 */
    assert_non_null(strstr(text, "m1.items correct: n=40 paired by id"));
    assert_non_null(strstr(text, "McNemar: 10 right->wrong, 3 "
                                 "wrong->right; exact p=0.0923, "
                                 "chi2=2.769 p=0.0961"));
    /* the paired bootstrap on scores shifted by 0.1 */
    assert_non_null(strstr(text, "m1.items score: n=40 paired by id, "
                                 "mean 0.4875 -> 0.5875 (+0.1"));
    /* the regressions: items q0..q9 */
    assert_non_null(strstr(text, "m1.items correct: 10 items: q0 q1 q2 q3 "
                                 "q4 q5 q6 q7 q8 q9\n"));
    /* columns equal in both runs are left out */
    assert_null(strstr(text, "m1.items len:"));
    assert_non_null(strstr(text, "per-item columns equal on every item"));
    /* configuration: the option and the plugin hash */
    assert_non_null(strstr(text, "config.nodes.m1.with.bootstrap: 100 -> "
                                 "200\n"));
    assert_non_null(strstr(text, "plugins.metric.x.sha256: \"bbbb\" -> "
                                 "\"dddd\"\n"));
    assert_non_null(strstr(text, "html: "));
    free(text);
    char *page = NULL;
    assert_int_equal(util_read_file(html, &page, &len, &err), 0);
    assert_true(check_svgs(page) >= 3);
    assert_non_null(strstr(page, "<code>q9</code>"));
    assert_non_null(strstr(page, "<h2>Configuration differences</h2>"));
    free(page);
    /* a directory that is not a run */
    f = open_memstream(&text, &len);
    assert_int_not_equal(compare_runs(da, g_root, &o, f, &err), 0);
    fclose(f);
    free(text);
}

/* ---- failing allocations
 * ----------------------------------------------------------- */

/* Run `fn` with the n-th allocation failing for n = 0, 1, ... until it
 * succeeds: every failure must be a clean error (the sanitizer build
 * also checks that nothing leaks). */
static void until_success(int (*fn)(const char *), const char *arg, long limit)
{
    for (long n = 0; n < limit; n += n < 400 ? 1 : 13) {
        failalloc_arm(n);
        int rc = fn(arg);
        long failed = failalloc_failed();
        failalloc_disarm();
        if (rc == 0 && failed == 0)
            return;
        assert_int_not_equal(rc, 0);
    }
    fail_msg("never succeeded within %ld allocations", limit);
}

static int render_once(const char *dir)
{
    rundir *rd = NULL;
    assay_error err = {0};
    int rc = rundir_load(dir, &rd, &err);
    if (rc)
        return rc;
    strbuf sb = {0};
    rc = report_render(rd, &sb, &err);
    sb_free(&sb);
    rundir_free(rd);
    return rc;
}

static int compare_once(const char *root)
{
    char a[PATH_MAX], b[PATH_MAX], html[PATH_MAX];
    snprintf(a, sizeof a, "%s/A", root);
    snprintf(b, sizeof b, "%s/B", root);
    snprintf(html, sizeof html, "%s/oom.html", root);
    compare_opts o = {.html = html, .bootstrap = 20, .seed = 1, .alpha = 0.05};
    FILE *f = fopen("/dev/null", "w");
    assay_error err = {0};
    int rc = compare_runs(a, b, &o, f, &err);
    fclose(f);
    return rc;
}

static void test_out_of_memory(void **state)
{
    (void)state;
    char dir[PATH_MAX];
    make_run("oom", 100, "bbbb", 0, dir, sizeof dir);
    until_success(render_once, dir, 40000);
    char da[PATH_MAX], db[PATH_MAX];
    make_run("A", 100, "bbbb", 0, da, sizeof da);
    make_run("B", 200, "dddd", 1, db, sizeof db);
    until_success(compare_once, g_root, 40000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rundir),
        cmocka_unit_test(test_flatten),
        cmocka_unit_test(test_report_page),
        cmocka_unit_test(test_report_size_limit),
        cmocka_unit_test(test_summary),
        cmocka_unit_test(test_stats),
        cmocka_unit_test(test_compare),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
