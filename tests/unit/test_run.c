/*
 * Running graphs: outputs and lineage on disk, manifest fields, the node
 * cache (reuse, --fresh, changed options), failure propagation, --only,
 * --resume, interruption, group_by and multi-input combination.  Every
 * run goes to a fresh temporary runs directory and cache directory.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "graph.h"
#include "run.h"
#include "sha256.h"
#include "util.h"

static registry *REG;
static char TMP[256];

static int setup(void **state)
{
    (void)state;
    REG = registry_new();
    assay_error err;
    const char *dir = getenv("ASSAY_PLUGIN_PATH");
    if (!dir || registry_add_dir(REG, dir, &err) ||
        !registry_find(REG, "test.add")) {
        fprintf(stderr, "cannot load the test plugins from "
                        "ASSAY_PLUGIN_PATH\n");
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    registry_free(REG);
    return 0;
}

/* A fresh temporary directory per test. */
static int tmp_setup(void **state)
{
    (void)state;
    snprintf(TMP, sizeof TMP, "/tmp/assay-run-XXXXXX");
    return mkdtemp(TMP) ? 0 : -1;
}

static int tmp_teardown(void **state)
{
    (void)state;
    util_rmtree(TMP);
    return 0;
}

static graph *load(const char *text)
{
    graph *g = NULL;
    diag d = {0};
    if (graph_load_string(text, strlen(text), "exp.yaml", REG, &g, &d)) {
        diag_print(&d, stderr);
        fail_msg("graph refused");
    }
    diag_free(&d);
    return g;
}

/* Run `text` with the given cache directory (relative to TMP). */
static int run_text(const char *text, const char *cache, run_opts *extra,
                    char *run_dir, size_t n)
{
    char runs[512], cdir[512];
    snprintf(runs, sizeof runs, "%s/runs", TMP);
    snprintf(cdir, sizeof cdir, "%s/%s", TMP, cache);
    run_opts o = {0};
    if (extra)
        o = *extra;
    o.runs_dir = runs;
    o.cache_dir = cdir;
    o.jobs = o.jobs ? o.jobs : 4;
    o.verbosity = -1;
    graph *g = load(text);
    int rc = run_graph(g, REG, &o, run_dir, n);
    graph_free(g);
    return rc;
}

static char *slurp(const char *path)
{
    char *data = NULL;
    size_t len;
    assay_error err;
    if (util_read_file(path, &data, &len, &err))
        fail_msg("%s", err.text);
    return data;
}

static json_t *load_json(const char *dir, const char *rel)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    json_error_t je;
    json_t *j = json_load_file(p, JSON_DECODE_ANY, &je);
    if (!j)
        fail_msg("%s: %s", p, je.text);
    return j;
}

static size_t count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = 0;
    int c;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

static const char *node_str(const json_t *m, const char *node,
                            const char *field)
{
    return json_string_value(json_object_get(
        json_object_get(json_object_get(m, "nodes"), node), field));
}

static void test_outputs_and_lineage(void **state)
{
    (void)state;
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "experiment: lin\n"
             "seed: 5\n"
             "nodes:\n"
             "  src: {plugin: test.source, with: {n: 3, marker: %s/m}}\n"
             "  plus: {plugin: test.add, inputs: {items: src},"
             " with: {delta: 0.5, marker: %s/m}}\n"
             "  sum: {plugin: test.sum, inputs: {items: plus}}\n"
             "  tab: {plugin: test.table, with: {n: 4}}\n"
             "report: [sum.summary]\n",
             TMP, TMP);
    char rd[4096];
    assert_int_equal(run_text(yaml, "cache", NULL, rd, sizeof rd), 0);
    char want_prefix[600];
    snprintf(want_prefix, sizeof want_prefix, "%s/runs/lin/", TMP);
    assert_int_equal(strncmp(rd, want_prefix, strlen(want_prefix)), 0);

    /* the values on disk */
    char p[4200];
    snprintf(p, sizeof p, "%s/nodes/plus/items.jsonl", rd);
    char *txt = slurp(p);
    assert_string_equal(txt, "{\"id\":0,\"value\":0.5,\"group\":\"g0\"}\n"
                             "{\"id\":1,\"value\":1.5,\"group\":\"g0\"}\n"
                             "{\"id\":2,\"value\":2.5,\"group\":\"g0\"}\n");
    free(txt);
    json_t *sum = load_json(rd, "nodes/sum/summary.json");
    assert_true(json_number_value(json_object_get(sum, "sum")) == 4.5);
    assert_int_equal(json_integer_value(json_object_get(sum, "count")), 3);
    json_decref(sum);
    snprintf(p, sizeof p, "%s/nodes/tab/table.atb", rd);
    assert_true(util_is_file(p));
    snprintf(p, sizeof p, "%s/log.txt", rd);
    txt = slurp(p);
    assert_non_null(strstr(txt, "plus: started (test.add 1.0.0)"));
    assert_non_null(strstr(txt, "run ok"));
    free(txt);

    /* node.json: lineage with hashes that match the files */
    json_t *nj = load_json(rd, "nodes/plus/node.json");
    assert_string_equal(json_string_value(json_object_get(nj, "node")), "plus");
    assert_string_equal(json_string_value(json_object_get(nj, "plugin")),
                        "test.add");
    assert_string_equal(json_string_value(json_object_get(nj, "status")),
                        "done");
    assert_string_equal(json_string_value(json_object_get(nj, "source")),
                        "run");
    assert_int_equal(strlen(json_string_value(json_object_get(nj, "key"))), 64);
    assert_true(json_number_value(json_object_get(
                    json_object_get(nj, "options"), "delta")) == 0.5);
    json_t *in0 = json_array_get(json_object_get(nj, "inputs"), 0);
    assert_string_equal(json_string_value(json_object_get(in0, "port")),
                        "items");
    assert_string_equal(json_string_value(json_object_get(in0, "from")),
                        "src.items");
    char hex[65];
    snprintf(p, sizeof p, "%s/nodes/src/items.jsonl", rd);
    assert_int_equal(sha256_file_hex(p, hex), 0);
    assert_string_equal(json_string_value(json_object_get(in0, "sha256")), hex);
    json_t *out = json_object_get(json_object_get(nj, "outputs"), "items");
    assert_string_equal(json_string_value(json_object_get(out, "file")),
                        "items.jsonl");
    assert_string_equal(json_string_value(json_object_get(out, "type")),
                        "records");
    assert_int_equal(json_integer_value(json_object_get(out, "count")), 3);
    snprintf(p, sizeof p, "%s/nodes/plus/items.jsonl", rd);
    assert_int_equal(sha256_file_hex(p, hex), 0);
    assert_string_equal(json_string_value(json_object_get(out, "sha256")), hex);
    json_decref(nj);
    nj = load_json(rd, "nodes/tab/node.json");
    out = json_object_get(json_object_get(nj, "outputs"), "table");
    assert_string_equal(json_string_value(json_object_get(out, "type")),
                        "table");
    assert_int_equal(json_integer_value(json_object_get(out, "count")), 4);
    json_decref(nj);

    /* the manifest */
    json_t *m = load_json(rd, "manifest.json");
    assert_string_equal(json_string_value(json_object_get(m, "experiment")),
                        "lin");
    assert_string_equal(json_string_value(json_object_get(m, "status")), "ok");
    assert_int_equal(json_integer_value(json_object_get(m, "seed")), 5);
    assert_non_null(json_string_value(json_object_get(m, "assay_version")));
    assert_non_null(json_string_value(json_object_get(m, "abi")));
    assert_non_null(json_string_value(json_object_get(m, "started")));
    assert_non_null(json_string_value(json_object_get(m, "finished")));
    assert_true(json_number_value(json_object_get(m, "seconds")) >= 0);
    assert_int_equal(json_integer_value(json_object_get(m, "jobs")), 4);
    assert_true(json_is_array(json_object_get(m, "sets")));
    assert_true(json_is_object(json_object_get(m, "config")));
    char cdir[600];
    snprintf(cdir, sizeof cdir, "%s/cache", TMP);
    assert_string_equal(json_string_value(json_object_get(m, "cache_dir")),
                        cdir);
    json_t *pl = json_object_get(json_object_get(m, "plugins"), "test.add");
    assert_string_equal(json_string_value(json_object_get(pl, "version")),
                        "1.0.0");
    assert_string_equal(json_string_value(json_object_get(pl, "kind")),
                        "transform");
    const char *sofile = json_string_value(json_object_get(pl, "file"));
    assert_non_null(sofile);
    assert_int_equal(sha256_file_hex(sofile, hex), 0);
    assert_string_equal(json_string_value(json_object_get(pl, "sha256")), hex);
    assert_string_equal(node_str(m, "sum", "status"), "done");
    assert_string_equal(node_str(m, "sum", "source"), "run");
    assert_int_equal(strlen(node_str(m, "sum", "key")), 64);
    assert_int_equal(json_object_size(json_object_get(m, "nodes")), 4);
    json_decref(m);
    snprintf(p, sizeof p, "%s/m", TMP);
    assert_int_equal(count_lines(p), 2);
}

static void test_cache(void **state)
{
    (void)state;
    char yaml[2048], yaml2[2048];
    const char *fmt =
        "experiment: cached\n"
        "nodes:\n"
        "  src: {plugin: test.source, with: {n: 5, marker: %s/m}}\n"
        "  a: {plugin: test.add, inputs: {items: src},"
        " with: {delta: %s, marker: %s/m}}\n"
        "  b: {plugin: test.add, inputs: {items: a}, with: {marker: %s/m}}\n"
        "  c: {plugin: test.add, inputs: {items: src}, with: {marker: "
        "%s/m}}\n";
    snprintf(yaml, sizeof yaml, fmt, TMP, "1", TMP, TMP, TMP);
    char rd[4096], m[600];
    snprintf(m, sizeof m, "%s/m", TMP);
    assert_int_equal(run_text(yaml, "cache", NULL, rd, sizeof rd), 0);
    assert_int_equal(count_lines(m), 4);
    /* the second run takes everything from the cache */
    char rd2[4096];
    assert_int_equal(run_text(yaml, "cache", NULL, rd2, sizeof rd2), 0);
    assert_string_not_equal(rd, rd2);
    assert_int_equal(count_lines(m), 4);
    json_t *man = load_json(rd2, "manifest.json");
    assert_string_equal(node_str(man, "src", "source"), "cache");
    assert_string_equal(node_str(man, "b", "source"), "cache");
    json_decref(man);
    /* the reused outputs are in the new run directory, byte for byte */
    char p1[4200], p2[4200];
    snprintf(p1, sizeof p1, "%s/nodes/b/items.jsonl", rd);
    snprintf(p2, sizeof p2, "%s/nodes/b/items.jsonl", rd2);
    char *t1 = slurp(p1), *t2 = slurp(p2);
    assert_string_equal(t1, t2);
    free(t1);
    free(t2);
    json_t *nj = load_json(rd2, "nodes/b/node.json");
    assert_string_equal(json_string_value(json_object_get(nj, "source")),
                        "cache");
    json_decref(nj);
    /* fresh: every node runs again */
    run_opts fresh = {.fresh = true};
    assert_int_equal(run_text(yaml, "cache", &fresh, rd2, sizeof rd2), 0);
    assert_int_equal(count_lines(m), 8);
    /* a changed option reruns that node and its dependents only */
    snprintf(yaml2, sizeof yaml2, fmt, TMP, "2", TMP, TMP, TMP);
    assert_int_equal(run_text(yaml2, "cache", NULL, rd2, sizeof rd2), 0);
    assert_int_equal(count_lines(m), 10);
    t1 = slurp(m);
    assert_non_null(strstr(t1, "a\nb\n") ? t1 : strstr(t1, "b\na\n"));
    free(t1);
    man = load_json(rd2, "manifest.json");
    assert_string_equal(node_str(man, "src", "source"), "cache");
    assert_string_equal(node_str(man, "c", "source"), "cache");
    assert_string_equal(node_str(man, "a", "source"), "run");
    assert_string_equal(node_str(man, "b", "source"), "run");
    json_decref(man);
    /* another cache directory knows nothing */
    assert_int_equal(run_text(yaml2, "other-cache", NULL, rd2, sizeof rd2), 0);
    assert_int_equal(count_lines(m), 14);
    /* the seed is part of the key */
    char yaml3[2100];
    snprintf(yaml3, sizeof yaml3, "seed: 9\n%s", yaml2);
    assert_int_equal(run_text(yaml3, "cache", NULL, rd2, sizeof rd2), 0);
    assert_int_equal(count_lines(m), 18);
}

static void test_failures(void **state)
{
    (void)state;
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "experiment: fails\n"
             "nodes:\n"
             "  src: {plugin: test.source}\n"
             "  bad: {plugin: test.fail, inputs: {items: src},"
             " with: {message: 'boom at record 3'}}\n"
             "  after: {plugin: test.add, inputs: {items: bad}}\n"
             "  after2: {plugin: test.sum, inputs: {items: after}}\n"
             "  fine: {plugin: test.add, inputs: {items: src},"
             " with: {marker: %s/m}}\n"
             "  fine2: {plugin: test.sum, inputs: {items: fine}}\n"
             "  silent: {plugin: test.fail, with: {how: no-output}}\n",
             TMP);
    char rd[4096];
    assert_int_equal(run_text(yaml, "cache", NULL, rd, sizeof rd), 1);
    json_t *m = load_json(rd, "manifest.json");
    assert_string_equal(json_string_value(json_object_get(m, "status")),
                        "failed");
    assert_string_equal(node_str(m, "bad", "status"), "failed");
    assert_string_equal(node_str(m, "bad", "error"), "boom at record 3");
    assert_string_equal(node_str(m, "after", "status"), "skipped");
    assert_string_equal(node_str(m, "after", "error"),
                        "skipped: upstream node 'bad' failed");
    assert_string_equal(node_str(m, "after2", "status"), "skipped");
    assert_string_equal(node_str(m, "fine", "status"), "done");
    assert_string_equal(node_str(m, "fine2", "status"), "done");
    assert_string_equal(node_str(m, "silent", "status"), "failed");
    assert_string_equal(node_str(m, "silent", "error"),
                        "test.fail finished without setting output "
                        "'items'");
    json_decref(m);
    json_t *nj = load_json(rd, "nodes/bad/node.json");
    assert_string_equal(json_string_value(json_object_get(nj, "status")),
                        "failed");
    assert_string_equal(json_string_value(json_object_get(nj, "error")),
                        "boom at record 3");
    assert_int_equal(json_object_size(json_object_get(nj, "outputs")), 0);
    json_decref(nj);
    /* a failed node is not cached: it fails again, the rest is reused */
    char m2[600];
    snprintf(m2, sizeof m2, "%s/m", TMP);
    assert_int_equal(count_lines(m2), 1);
    assert_int_equal(run_text(yaml, "cache", NULL, rd, sizeof rd), 1);
    assert_int_equal(count_lines(m2), 1);
    m = load_json(rd, "manifest.json");
    assert_string_equal(node_str(m, "bad", "status"), "failed");
    assert_string_equal(node_str(m, "fine", "source"), "cache");
    json_decref(m);
}

static void test_only(void **state)
{
    (void)state;
    const char *yaml = "nodes:\n"
                       "  src: {plugin: test.source}\n"
                       "  a: {plugin: test.add, inputs: {items: src}}\n"
                       "  b: {plugin: test.add, inputs: {items: a}}\n"
                       "  other: {plugin: test.fail}\n";
    char rd[4096];
    run_opts o = {.only = "a"};
    assert_int_equal(run_text(yaml, "cache", &o, rd, sizeof rd), 0);
    json_t *m = load_json(rd, "manifest.json");
    assert_string_equal(json_string_value(json_object_get(m, "status")), "ok");
    assert_string_equal(node_str(m, "src", "status"), "done");
    assert_string_equal(node_str(m, "a", "status"), "done");
    assert_string_equal(node_str(m, "b", "status"), "omitted");
    assert_string_equal(node_str(m, "other", "status"), "omitted");
    json_decref(m);
    o.only = "nosuch";
    assert_int_equal(run_text(yaml, "cache", &o, rd, sizeof rd), 2);
}

static void test_resume(void **state)
{
    (void)state;
    char yaml[2048], yaml2[2048];
    const char *fmt = "experiment: res\n"
                      "nodes:\n"
                      "  src: {plugin: test.source, with: {marker: %s/m}}\n"
                      "  a: {plugin: test.add, inputs: {items: src},"
                      " with: {marker: %s/m, delta: %d}}\n"
                      "  b: {plugin: test.sum, inputs: {items: a}}\n";
    snprintf(yaml, sizeof yaml, fmt, TMP, TMP, 1);
    char rd[4096], rd2[4096], m[600];
    snprintf(m, sizeof m, "%s/m", TMP);
    assert_int_equal(run_text(yaml, "c1", NULL, rd, sizeof rd), 0);
    assert_int_equal(count_lines(m), 2);
    /* resuming a finished run with an empty cache runs nothing */
    run_opts o = {.resume_dir = rd};
    assert_int_equal(run_text(yaml, "c2", &o, rd2, sizeof rd2), 0);
    assert_string_equal(rd, rd2);
    assert_int_equal(count_lines(m), 2);
    json_t *man = load_json(rd, "manifest.json");
    assert_string_equal(node_str(man, "src", "source"), "resumed");
    assert_string_equal(node_str(man, "b", "source"), "resumed");
    json_decref(man);
    /* a node whose finished record was lost runs again */
    char p[4200];
    snprintf(p, sizeof p, "%s/nodes/a/node.json", rd);
    assert_int_equal(unlink(p), 0);
    assert_int_equal(run_text(yaml, "c3", &o, rd2, sizeof rd2), 0);
    assert_int_equal(count_lines(m), 3);
    man = load_json(rd, "manifest.json");
    assert_string_equal(node_str(man, "a", "source"), "run");
    assert_string_equal(node_str(man, "b", "source"), "resumed");
    json_decref(man);
    /* an output changed on disk is not trusted */
    snprintf(p, sizeof p, "%s/nodes/src/items.jsonl", rd);
    FILE *f = fopen(p, "a");
    fputs("{\"id\": 99, \"value\": 99}\n", f);
    fclose(f);
    assert_int_equal(run_text(yaml, "c4", &o, rd2, sizeof rd2), 0);
    assert_int_equal(count_lines(m), 4);
    /* a changed option does not match the recorded key */
    snprintf(yaml2, sizeof yaml2, fmt, TMP, TMP, 3);
    assert_int_equal(run_text(yaml2, "c5", &o, rd2, sizeof rd2), 0);
    assert_int_equal(count_lines(m), 5);
    json_t *sum = load_json(rd, "nodes/b/summary.json");
    /* values 0..9 plus 3 each */
    assert_true(json_number_value(json_object_get(sum, "sum")) == 75.0);
    json_decref(sum);
    /* not a directory */
    run_opts bad = {.resume_dir = "/nonexistent/run"};
    assert_int_equal(run_text(yaml, "c6", &bad, rd2, sizeof rd2), 2);
}

static void test_interrupt(void **state)
{
    (void)state;
    const char *yaml = "nodes:\n"
                       "  src: {plugin: test.source}\n"
                       "  slow: {plugin: test.add, inputs: {items: src},"
                       " with: {sleep_ms: 20000}}\n"
                       "  later: {plugin: test.sum, inputs: {items: slow}}\n";
    static volatile sig_atomic_t flag = 1;
    run_opts o = {.interrupt = &flag};
    char rd[4096];
    double t0 = util_now();
    assert_int_equal(run_text(yaml, "cache", &o, rd, sizeof rd), 1);
    /* the sleeping node noticed the cancellation long before 20 s */
    assert_true(util_now() - t0 < 15);
    json_t *m = load_json(rd, "manifest.json");
    assert_string_equal(json_string_value(json_object_get(m, "status")),
                        "interrupted");
    const char *s = node_str(m, "slow", "status");
    assert_true(strcmp(s, "failed") == 0 || strcmp(s, "skipped") == 0);
    assert_string_equal(node_str(m, "later", "status"), "skipped");
    json_decref(m);
}

static void test_group_by(void **state)
{
    (void)state;
    const char *yaml = "nodes:\n"
                       "  src: {plugin: test.source, with: {n: 7, groups: "
                       "3}}\n"
                       "  s: {plugin: test.sum, inputs: {items: src},"
                       " group_by: group}\n"
                       "  t: {plugin: test.table, with: {n: 4, groups: 2}}\n"
                       "  st: {plugin: test.sum, inputs: {items: t},"
                       " group_by: group}\n"
                       "  missing: {plugin: test.sum, inputs: {items: src},"
                       " group_by: colour}\n";
    char rd[4096];
    assert_int_equal(run_text(yaml, "cache", NULL, rd, sizeof rd), 1);
    json_t *s = load_json(rd, "nodes/s/summary.json");
    /* ids 0..6: g0 = 0+3+6, g1 = 1+4, g2 = 2+5 */
    assert_true(json_number_value(json_object_get(s, "sum")) == 21.0);
    assert_int_equal(json_integer_value(json_object_get(s, "count")), 7);
    assert_string_equal(json_string_value(json_object_get(s, "group_by")),
                        "group");
    json_t *gs = json_object_get(s, "groups");
    assert_int_equal(json_object_size(gs), 3);
    json_t *g0 = json_object_get(gs, "g0");
    assert_true(json_number_value(json_object_get(g0, "sum")) == 9.0);
    assert_int_equal(json_integer_value(json_object_get(g0, "count")), 3);
    json_t *g2 = json_object_get(gs, "g2");
    assert_true(json_number_value(json_object_get(g2, "sum")) == 7.0);
    assert_int_equal(json_integer_value(json_object_get(g2, "count")), 2);
    json_decref(s);
    /* table input: values 0, 0.5, 1, 1.5; g0 = 0 + 1, g1 = 0.5 + 1.5 */
    s = load_json(rd, "nodes/st/summary.json");
    gs = json_object_get(s, "groups");
    assert_true(json_number_value(
                    json_object_get(json_object_get(gs, "g0"), "sum")) == 1.0);
    assert_true(json_number_value(
                    json_object_get(json_object_get(gs, "g1"), "sum")) == 2.0);
    json_decref(s);
    json_t *m = load_json(rd, "manifest.json");
    assert_string_equal(node_str(m, "missing", "status"), "failed");
    assert_string_equal(node_str(m, "missing", "error"),
                        "group_by: no input has the field 'colour'");
    json_decref(m);
}

static void test_multi_inputs(void **state)
{
    (void)state;
    /* records concatenated; json values collected in an array; more
     * upstream values than any fixed-size buffer would hold */
    strbuf sb = {0};
    sb_puts(&sb, "nodes:\n"
                 "  a: {plugin: test.source, with: {n: 2}}\n"
                 "  b: {plugin: test.source, with: {n: 3}}\n"
                 "  t: {plugin: test.table, with: {n: 4}}\n"
                 "  s: {plugin: test.sum, inputs: {items: a,"
                 " extra: [a, b, t, b]}}\n"
                 "  one: {plugin: test.sum, inputs: {items: a,"
                 " extra: [t]}}\n"
                 "  root: {plugin: test.noop}\n");
    for (int i = 0; i < 70; i++)
        sb_printf(&sb, "  n%d: {plugin: test.noop, inputs: {x: root}}\n", i);
    sb_puts(&sb, "  sink:\n    plugin: test.noop\n    inputs:\n      x:\n");
    for (int i = 0; i < 70; i++)
        sb_printf(&sb, "        - n%d\n", i);
    char rd[4096];
    int rc = run_text(sb.buf, "cache", NULL, rd, sizeof rd);
    sb_free(&sb);
    assert_int_equal(rc, 0);
    json_t *s = load_json(rd, "nodes/s/summary.json");
    assert_int_equal(json_integer_value(json_object_get(s, "extra")), 12);
    json_decref(s);
    s = load_json(rd, "nodes/one/summary.json");
    assert_int_equal(json_integer_value(json_object_get(s, "extra")), 4);
    json_decref(s);
    /* sink: 1 + 70 * (1 + 1) */
    s = load_json(rd, "nodes/sink/y.json");
    assert_int_equal(json_integer_value(json_object_get(s, "n")), 141);
    json_decref(s);
}

static void test_setup_errors(void **state)
{
    (void)state;
    /* a runs directory that cannot be created */
    char file[600];
    snprintf(file, sizeof file, "%s/plain-file", TMP);
    FILE *f = fopen(file, "w");
    fclose(f);
    run_opts o = {0};
    o.runs_dir = file;
    char cdir[600];
    snprintf(cdir, sizeof cdir, "%s/cache", TMP);
    o.cache_dir = cdir;
    o.verbosity = -1;
    o.jobs = 1;
    graph *g = load("nodes:\n  s: {plugin: test.source}\n");
    char rd[4096];
    assert_int_equal(run_graph(g, REG, &o, rd, sizeof rd), 2);
    /* an unusable cache directory disables the cache, the run goes on */
    char runs[600];
    snprintf(runs, sizeof runs, "%s/runs", TMP);
    o.runs_dir = runs;
    o.cache_dir = file;
    assert_int_equal(run_graph(g, REG, &o, rd, sizeof rd), 0);
    graph_free(g);
}

#define T(f) cmocka_unit_test_setup_teardown(f, tmp_setup, tmp_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_outputs_and_lineage),
        T(test_cache),
        T(test_failures),
        T(test_only),
        T(test_resume),
        T(test_interrupt),
        T(test_group_by),
        T(test_multi_inputs),
        T(test_setup_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
