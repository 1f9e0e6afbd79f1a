/*
 * Experiment graphs against a registry holding the test plugins:
 * topological order, diamonds, multi inputs, cycles named in the message,
 * type checks, required inputs, did-you-mean hints for nodes, ports and
 * plugins, report references, --set overrides, and the dot/Mermaid
 * writers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "graph.h"
#include "util.h"

static registry *REG;

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

static graph *load_ok(const char *text)
{
    graph *g = NULL;
    diag d = {0};
    int rc = graph_load_string(text, strlen(text), "exp.yaml", REG, &g, &d);
    if (rc) {
        diag_print(&d, stderr);
        fail_msg("graph refused");
    }
    assert_int_equal(d.n, 0);
    diag_free(&d);
    return g;
}

/* Load a graph that must fail; returns its diagnostics (caller frees). */
static diag load_bad(const char *text)
{
    graph *g = NULL;
    diag d = {0};
    int rc = graph_load_string(text, strlen(text), "exp.yaml", REG, &g, &d);
    assert_int_not_equal(rc, 0);
    assert_null(g);
    assert_true(d.n > 0);
    return d;
}

/* One diagnostic expected: message, hint (NULL = none) and position. */
static void bad1(const char *text, int line, int col, const char *msg,
                 const char *hint)
{
    diag d = load_bad(text);
    if (d.n != 1) {
        diag_print(&d, stderr);
        fail_msg("%zu diagnostics, expected 1", d.n);
    }
    assert_string_equal(d.items[0].msg, msg);
    if (hint)
        assert_string_equal(d.items[0].hint ? d.items[0].hint : "(none)", hint);
    else
        assert_null(d.items[0].hint);
    assert_string_equal(d.items[0].file, "exp.yaml");
    assert_int_equal(d.items[0].line, line);
    assert_int_equal(d.items[0].col, col);
    diag_free(&d);
}

static size_t pos_in_order(const graph *g, const char *name)
{
    long idx = graph_find(g, name);
    assert_true(idx >= 0);
    for (size_t k = 0; k < g->n; k++)
        if (g->order[k] == (size_t)idx)
            return k;
    fail_msg("%s not in the order", name);
    return 0;
}

static void test_chain_order(void **state)
{
    (void)state;
    /* written in reverse so that file order is not a valid order */
    graph *g = load_ok("experiment: chain\n"
                       "seed: 11\n"
                       "nodes:\n"
                       "  total: {plugin: test.sum, inputs: {items: "
                       "c.items}}\n"
                       "  c: {plugin: test.add, inputs: {items: b.items}}\n"
                       "  b: {plugin: test.add, inputs: {items: a},"
                       " with: {delta: 2}}\n"
                       "  a: {plugin: test.add, inputs: {items: src.items}}\n"
                       "  src: {plugin: test.source, with: {n: 4}}\n"
                       "report: [total.summary]\n");
    assert_string_equal(g->experiment, "chain");
    assert_int_equal(g->seed, 11);
    assert_int_equal(g->n, 5);
    assert_true(pos_in_order(g, "src") < pos_in_order(g, "a"));
    assert_true(pos_in_order(g, "a") < pos_in_order(g, "b"));
    assert_true(pos_in_order(g, "b") < pos_in_order(g, "c"));
    assert_true(pos_in_order(g, "c") < pos_in_order(g, "total"));
    /* options are validated and defaulted */
    const gnode *b = &g->nodes[graph_find(g, "b")];
    assert_true(assay_opt_num(b->options, "delta") == 2.0);
    assert_int_equal(assay_opt_int(b->options, "sleep_ms"), 0);
    assert_true(json_is_null(json_object_get(b->options, "marker")));
    /* a bare node name picks its only output */
    assert_int_equal(b->ninputs, 1);
    assert_int_equal(b->inputs[0].nrefs, 1);
    assert_int_equal(b->inputs[0].refs[0].node, (size_t)graph_find(g, "a"));
    assert_string_equal(b->inputs[0].refs[0].port->name, "items");
    assert_int_equal(b->inputs[0].refs[0].line, 6);
    char buf[64];
    assert_string_equal(
        graph_ref_name(g, &b->inputs[0].refs[0], buf, sizeof buf), "a.items");
    assert_int_equal(g->nreport, 1);
    assert_string_equal(graph_ref_name(g, &g->report[0], buf, sizeof buf),
                        "total.summary");
    const gnode *src = &g->nodes[graph_find(g, "src")];
    assert_int_equal(src->ndeps, 0);
    assert_int_equal(src->nusers, 1);
    assert_int_equal(src->line, 8);
    assert_int_equal(src->col, 3);
    assert_int_equal(src->noutputs, 1);
    assert_string_equal(src->plugin->desc.name, "test.source");
    assert_int_equal(graph_find(g, "nope"), -1);
    assert_non_null(g->config);
    assert_int_equal(json_integer_value(json_object_get(g->config, "seed")),
                     11);
    graph_free(g);
}

static void test_diamond_and_multi(void **state)
{
    (void)state;
    graph *g = load_ok("nodes:\n"
                       "  src: {plugin: test.source}\n"
                       "  left: {plugin: test.add, inputs: {items: "
                       "src.items}}\n"
                       "  right: {plugin: test.add, inputs: {items: "
                       "src.items}}\n"
                       "  join:\n"
                       "    plugin: test.sum\n"
                       "    inputs:\n"
                       "      items: left.items\n"
                       "      extra: [right.items, src.items, left]\n"
                       "  tab: {plugin: test.table}\n"
                       "  conv: {plugin: test.add, inputs: {items: "
                       "tab.table}}\n");
    /* no experiment name: the file's base name */
    assert_string_equal(g->experiment, "exp");
    assert_int_equal(g->seed, 0);
    const gnode *j = &g->nodes[graph_find(g, "join")];
    assert_int_equal(j->ninputs, 2);
    assert_int_equal(j->inputs[0].nrefs, 1);
    assert_int_equal(j->inputs[1].nrefs, 3);
    assert_string_equal(j->inputs[1].port->name, "extra");
    assert_int_equal(j->inputs[1].refs[1].node, (size_t)graph_find(g, "src"));
    /* distinct dependencies: left, right, src */
    assert_int_equal(j->ndeps, 3);
    const gnode *src = &g->nodes[graph_find(g, "src")];
    assert_int_equal(src->nusers, 3);
    size_t pj = pos_in_order(g, "join");
    assert_true(pos_in_order(g, "left") < pj);
    assert_true(pos_in_order(g, "right") < pj);
    assert_true(pos_in_order(g, "src") < pos_in_order(g, "left"));
    /* records and tables connect to each other */
    const gnode *conv = &g->nodes[graph_find(g, "conv")];
    assert_int_equal(conv->inputs[0].refs[0].port->type, ASSAY_T_TABLE);

    /* the writers */
    FILE *f = tmpfile();
    assert_int_equal(graph_write_dot(g, f), 0);
    long n = ftell(f);
    rewind(f);
    char *txt = calloc(1, (size_t)n + 1);
    assert_int_equal(fread(txt, 1, (size_t)n, f), (size_t)n);
    assert_non_null(strstr(txt, "digraph \"exp\""));
    assert_non_null(strstr(txt, "\"join\" [label=\"join\\ntest.sum\"]"));
    assert_non_null(strstr(txt, "\"right\" -> \"join\" [label=\"items -> "
                                "extra\"]"));
    assert_non_null(strstr(txt, "\"tab\" -> \"conv\" [label=\"table -> "
                                "items\"]"));
    free(txt);
    fclose(f);
    f = tmpfile();
    assert_int_equal(graph_write_mermaid(g, f), 0);
    n = ftell(f);
    rewind(f);
    txt = calloc(1, (size_t)n + 1);
    assert_int_equal(fread(txt, 1, (size_t)n, f), (size_t)n);
    assert_true(strncmp(txt, "flowchart LR\n", 13) == 0);
    char edge[64];
    snprintf(edge, sizeof edge, "n%ld -- \"table → items\" --> n%ld",
             graph_find(g, "tab"), graph_find(g, "conv"));
    assert_non_null(strstr(txt, edge));
    free(txt);
    fclose(f);
    graph_free(g);
}

static void test_wide(void **state)
{
    (void)state;
    /* 100 upstream values into one multi json port */
    strbuf sb = {0};
    sb_puts(&sb, "nodes:\n  root: {plugin: test.noop}\n");
    for (int i = 0; i < 100; i++)
        sb_printf(&sb, "  n%d: {plugin: test.noop, inputs: {x: root.y}}\n", i);
    sb_puts(&sb, "  sink:\n    plugin: test.noop\n    inputs:\n      x:\n");
    for (int i = 0; i < 100; i++)
        sb_printf(&sb, "        - n%d.y\n", i);
    graph *g = load_ok(sb.buf);
    sb_free(&sb);
    const gnode *s = &g->nodes[graph_find(g, "sink")];
    assert_int_equal(s->inputs[0].nrefs, 100);
    assert_int_equal(s->ndeps, 100);
    assert_int_equal(pos_in_order(g, "sink"), 101);
    assert_int_equal(pos_in_order(g, "root"), 0);
    graph_free(g);
}

static void test_cycles(void **state)
{
    (void)state;
    bad1("nodes:\n"
         "  a: {plugin: test.add, inputs: {items: a.items}}\n",
         2, 41,
         "node 'a' cannot take its own output as input (cycle: a -> "
         "a)",
         "connect an output of another node");
    diag d = load_bad("nodes:\n"
                      "  src: {plugin: test.source}\n"
                      "  a: {plugin: test.add, inputs: {items: b.items}}\n"
                      "  b: {plugin: test.add, inputs: {items: a.items}}\n"
                      "  c: {plugin: test.add, inputs: {items: src.items}}\n");
    assert_int_equal(d.n, 1);
    /* either rotation of the two-node cycle names both nodes */
    const char *m = d.items[0].msg;
    if (strcmp(m, "the graph has a cycle: a -> b -> a") != 0 &&
        strcmp(m, "the graph has a cycle: b -> a -> b") != 0)
        fail_msg("cycle message: %s", m);
    assert_string_equal(d.items[0].hint,
                        "a node cannot depend on its own output, directly "
                        "or through others");
    diag_free(&d);
    d = load_bad("nodes:\n"
                 "  x: {plugin: test.add, inputs: {items: z.items}}\n"
                 "  y: {plugin: test.add, inputs: {items: x.items}}\n"
                 "  z: {plugin: test.add, inputs: {items: y.items}}\n"
                 "  after: {plugin: test.sum, inputs: {items: z.items}}\n");
    assert_int_equal(d.n, 1);
    m = d.items[0].msg;
    if (strcmp(m, "the graph has a cycle: x -> y -> z -> x") != 0 &&
        strcmp(m, "the graph has a cycle: y -> z -> x -> y") != 0 &&
        strcmp(m, "the graph has a cycle: z -> x -> y -> z") != 0)
        fail_msg("cycle message: %s", m);
    /* 'after' hangs off the cycle but is not part of it */
    assert_null(strstr(m, "after"));
    diag_free(&d);
}

static void test_type_and_required(void **state)
{
    (void)state;
    bad1("nodes:\n"
         "  src: {plugin: test.source}\n"
         "  n: {plugin: test.noop, inputs: {x: src.items}}\n",
         3, 38,
         "type mismatch: src.items is records, but input 'x' of node 'n' "
         "expects json",
         "connect an output of type json");
    bad1("nodes:\n"
         "  n: {plugin: test.noop}\n"
         "  a: {plugin: test.add, inputs: {items: n.y}}\n",
         3, 41,
         "type mismatch: n.y is json, but input 'items' of node 'a' expects "
         "records",
         "connect an output of type records (records and table convert "
         "into each other)");
    bad1("nodes:\n"
         "  src: {plugin: test.source}\n"
         "  a: {plugin: test.add}\n",
         3, 3, "node 'a': required input 'items' is not connected",
         "add inputs: {items: <node>.<port>} (records)");
    bad1("nodes:\n"
         "  src: {plugin: test.source}\n"
         "  a: {plugin: test.add, inputs: {items: [src.items, src]}}\n",
         3, 41,
         "node 'a': input 'items' of test.add takes one value, not a "
         "list",
         "connect one value, or combine them upstream");
    bad1("nodes:\n"
         "  src: {plugin: test.source}\n"
         "  a: {plugin: test.sum, inputs: {items: src, extra: []}}\n",
         3, 53, "node 'a': input 'extra' is an empty list",
         "connect at least one output, or remove the input");
    bad1("nodes:\n"
         "  src: {plugin: test.source}\n"
         "  a: {plugin: test.add, inputs: {items: {node: src}}}\n",
         3, 41, "node 'a': input 'items' must name an output, not a mapping",
         "write <node>.<port>");
    bad1("nodes:\n"
         "  src: {plugin: test.source}\n"
         "  a: {plugin: test.add, inputs: [src.items]}\n",
         3, 33, "node 'a': 'inputs' must be a mapping",
         "write inputs: {port: node.port}");
}

static void test_did_you_mean(void **state)
{
    (void)state;
    bad1("nodes:\n"
         "  source: {plugin: test.source}\n"
         "  a: {plugin: test.add, inputs: {items: sourc.items}}\n",
         3, 41, "unknown node 'sourc' in input 'sourc.items'",
         "did you mean 'source'?");
    bad1("nodes:\n"
         "  source: {plugin: test.source}\n"
         "  a: {plugin: test.add, inputs: {items: elsewhere.items}}\n",
         3, 41, "unknown node 'elsewhere' in input 'elsewhere.items'",
         "the nodes are: source, a");
    bad1("nodes:\n"
         "  src: {plugin: test.source}\n"
         "  a: {plugin: test.add, inputs: {items: src.item}}\n",
         3, 41, "node 'src' (test.source) has no output port 'item'",
         "did you mean 'items'?");
    bad1("nodes:\n"
         "  src: {plugin: test.source}\n"
         "  a: {plugin: test.add, inputs: {items: src.records}}\n",
         3, 41, "node 'src' (test.source) has no output port 'records'",
         "test.source output ports: items");
    /* the misspelt port also leaves the required one unconnected */
    diag d = load_bad("nodes:\n"
                      "  src: {plugin: test.source}\n"
                      "  a: {plugin: test.add, inputs: {itemz: src.items}}\n");
    assert_int_equal(d.n, 2);
    assert_string_equal(d.items[0].msg,
                        "node 'a': test.add has no input port 'itemz'");
    assert_string_equal(d.items[0].hint, "did you mean 'items'?");
    assert_int_equal(d.items[0].line, 3);
    assert_int_equal(d.items[0].col, 34);
    diag_free(&d);
    d = load_bad("nodes:\n"
                 "  src: {plugin: test.source}\n"
                 "  a: {plugin: test.add, inputs: {data: src.items}}\n");
    assert_int_equal(d.n, 2);
    assert_string_equal(d.items[0].msg,
                        "node 'a': test.add has no input port 'data'");
    assert_string_equal(d.items[0].hint, "test.add input ports: items");
    assert_string_equal(d.items[1].msg,
                        "node 'a': required input 'items' is not connected");
    diag_free(&d);
    bad1("nodes:\n"
         "  src: {plugin: test.sourc}\n",
         2, 17, "unknown plugin 'test.sourc'", "did you mean 'test.source'?");
    bad1("nodes:\n"
         "  src: {plugin: test.source, with: {nn: 3}}\n",
         2, 37, "node 'src': unknown option 'nn' for test.source",
         "did you mean 'n'?");
    bad1("nodes:\n"
         "  src: {plugin: test.source, inptus: {}}\n",
         2, 30, "unknown key 'inptus' in node 'src'", "did you mean 'inputs'?");
    bad1("experiment: x\n"
         "node:\n"
         "  src: {plugin: test.source}\n"
         "nodes:\n"
         "  a: {plugin: test.source}\n",
         2, 1, "unknown key 'node' in the experiment", "did you mean 'nodes'?");
}

static void test_top_level(void **state)
{
    (void)state;
    bad1("- a\n- b\n", 1, 1,
         "expected a mapping at the top level, got a sequence",
         "an experiment is a mapping with 'experiment:' and 'nodes:'");
    bad1("experiment: x\n", 1, 1, "the experiment has no 'nodes'",
         "add nodes: {name: {plugin: ..., inputs: ..., with: ...}}");
    bad1("nodes: {}\n", 1, 8, "'nodes' is empty",
         "add nodes: {name: {plugin: ...}}");
    bad1("nodes:\n", 1, 7, "'nodes' is empty",
         "add nodes: {name: {plugin: ...}}");
    bad1("nodes: [a]\n", 1, 8,
         "'nodes' must be a mapping of node names, not a sequence",
         "write nodes: {name: {plugin: ...}}, one key per node");
    bad1("nodes:\n  a: test.source\n", 2, 6,
         "node 'a' must be a mapping, got a scalar",
         "write name: {plugin: <plugin>, with: {...}}");
    bad1("nodes:\n  a: {with: {n: 1}}\n", 2, 3,
         "node 'a' needs 'plugin: <name>'",
         "`assay plugins` lists the plugins");
    bad1("nodes:\n  a.b: {plugin: test.source}\n", 2, 3, "bad node name 'a.b'",
         "use letters, digits, '_' and '-' (no dots)");
    bad1("experiment: my exp\nnodes:\n  a: {plugin: test.source}\n", 1, 13,
         "'experiment' must be a simple name",
         "use letters, digits, '_' and '-'");
    bad1("seed: -1\nnodes:\n  a: {plugin: test.source}\n", 1, 7,
         "'seed' must be a non-negative integer", "for example 'seed: 42'");
    bad1("seed: 1.5\nnodes:\n  a: {plugin: test.source}\n", 1, 7,
         "'seed' must be a non-negative integer", "for example 'seed: 42'");
    bad1("cache: sometimes\nnodes:\n  a: {plugin: test.source}\n", 1, 8,
         "bad value for 'cache'", "one of read-write, off, replay");
    bad1("llm: [a]\nnodes:\n  a: {plugin: test.source}\n", 1, 6,
         "'llm' must be a mapping of named endpoints",
         "write llm: {name: {provider: openai, model: ...}}");
    bad1("nodes:\n  a: {plugin: test.source}\nreport: [a.nothing]\n", 3, 10,
         "node 'a' (test.source) has no output port 'nothing'",
         "test.source output ports: items");
    bad1("nodes:\n  s: {plugin: test.source}\n"
         "  a: {plugin: test.sum, inputs: {items: s}, group_by: [x]}\n",
         3, 55, "node 'a': 'group_by' must be a field name",
         "write group_by: FIELD, one field of the input records");
    bad1("nodes:\n  s: {plugin: test.source}\n"
         "  a: {plugin: test.add, inputs: {items: s}, group_by: group}\n",
         3, 55,
         "node 'a': test.add computes per item; 'group_by' applies to "
         "all-items nodes only",
         "group metrics, fitters and other all-items nodes");
    bad1("plugin_dirs: [does/not/exist]\nnodes:\n  a: {plugin: "
         "test.source}\n",
         1, 15, "plugin directory 'does/not/exist' does not exist",
         "relative paths start at the experiment file's directory");
    bad1("nodes:\n  a: {plugin: test.source}\nreport: [{x: 1}]\n", 3, 10,
         "a report entry must name an output as <node>.<port>, not a "
         "mapping",
         "write <node>.<port>, e.g. 'data.records'");
    bad1("nodes:\n  a: {plugin: test.source}\nreport: [b.items]\n", 3, 10,
         "unknown node 'b' in report entry 'b.items'", "the nodes are: a");

    graph *g = load_ok("experiment: e-1\ncache: replay\n"
                       "llm: {j: {provider: openai, model: m}}\n"
                       "budget: {max_cost: 2}\n"
                       "description: text\n"
                       "nodes:\n  s: {plugin: test.source}\n"
                       "  t: {plugin: test.sum, inputs: {items: s},"
                       " group_by: group}\n");
    assert_string_equal(g->cache_mode, "replay");
    assert_non_null(json_object_get(g->llm, "j"));
    assert_true(json_number_value(json_object_get(g->budget, "max_cost")) ==
                2.0);
    assert_string_equal(g->nodes[1].group_by, "group");
    graph_free(g);
}

static void test_all_errors_reported(void **state)
{
    (void)state;
    diag d = load_bad("experiment: x\n"
                      "colour: blue\n"
                      "nodes:\n"
                      "  a: {plugin: test.nope}\n"
                      "  b: {plugin: test.source, with: {n: -1}}\n"
                      "  c: {plugin: test.add, inputs: {items: zz.items}}\n"
                      "  d: {plugin: test.add}\n"
                      "  p: {plugin: test.add, inputs: {items: q}}\n"
                      "  q: {plugin: test.add, inputs: {items: p}}\n");
    assert_int_equal(d.n, 6);
    assert_int_equal(d.items[0].line, 2); /* colour */
    assert_int_equal(d.items[1].line, 4); /* test.nope */
    assert_int_equal(d.items[2].line, 5); /* n: -1 */
    assert_string_equal(d.items[2].msg,
                        "node 'b': option 'n' is -1; it must be at least 0");
    assert_int_equal(d.items[3].line, 6); /* zz */
    assert_int_equal(d.items[4].line, 7); /* d: no input */
    /* the cycle is found even though other problems were */
    assert_string_equal(d.items[5].msg, "the graph has a cycle: q -> p -> q");
    diag_free(&d);
}

static void test_env_and_sets(void **state)
{
    (void)state;
    setenv("ASSAY_T_N", "7", 1);
    unsetenv("ASSAY_T_MISSING");
    char tmpd[] = "/tmp/assay-graph-XXXXXX";
    assert_non_null(mkdtemp(tmpd));
    char path[256];
    snprintf(path, sizeof path, "%s/env.yaml", tmpd);
    FILE *f = fopen(path, "w");
    fputs("nodes:\n"
          "  s: {plugin: test.source, with: {n: \"${ASSAY_T_N}\"}}\n"
          "  t:\n    plugin: test.source\n    with:\n      n: ${ASSAY_T_N}\n",
          f);
    fclose(f);
    diag d = {0};
    graph *g = NULL;
    /* a quoted expansion stays a string: wrong type for n */
    assert_int_not_equal(graph_load(path, NULL, 0, REG, &g, &d), 0);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.items[0].msg,
                        "node 's': option 'n' expects an integer, got "
                        "string '7'");
    assert_string_equal(d.items[0].hint,
                        "remove the quotes: a quoted value is a string");
    assert_string_equal(d.items[0].file, path);
    diag_free(&d);
    const char *sets[] = {"nodes.s.with.n=3", "nodes.u.plugin=test.add",
                          "nodes.u.inputs.items=t.items", "seed=99"};
    assert_int_equal(graph_load(path, sets, 4, REG, &g, &d), 0);
    assert_int_equal(assay_opt_int(g->nodes[0].options, "n"), 3);
    assert_int_equal(assay_opt_int(g->nodes[1].options, "n"), 7);
    assert_int_equal(g->n, 3);
    assert_string_equal(g->nodes[2].name, "u");
    assert_int_equal(g->seed, 99);
    assert_string_equal(g->experiment, "env");
    char real[4096];
    assert_int_equal(util_realpath(tmpd, real, sizeof real), 0);
    assert_string_equal(g->config_dir, real);
    graph_free(g);
    const char *bad_sets[] = {"nodes.s.with.n=many", "nodes.s.plugin.x=1"};
    assert_int_not_equal(graph_load(path, bad_sets, 2, REG, &g, &d), 0);
    assert_int_equal(d.n, 1); /* the override error stops before build */
    assert_string_equal(d.items[0].file, "--set");
    diag_free(&d);
    f = fopen(path, "w");
    fputs("nodes:\n  s:\n    plugin: test.source\n    with:\n"
          "      marker: x/${ASSAY_T_MISSING}\n",
          f);
    fclose(f);
    assert_int_not_equal(graph_load(path, NULL, 0, REG, &g, &d), 0);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.items[0].msg,
                        "environment variable 'ASSAY_T_MISSING' is not set");
    assert_int_equal(d.items[0].line, 5);
    assert_int_equal(d.items[0].col, 15);
    diag_free(&d);
    assert_int_not_equal(
        graph_load("/nonexistent/x.yaml", NULL, 0, REG, &g, &d), 0);
    assert_int_equal(d.n, 1);
    assert_non_null(strstr(d.items[0].msg, "cannot read the file"));
    diag_free(&d);
    util_rmtree(tmpd);
    assert_string_equal(graph_type_name(ASSAY_T_RECORDS), "records");
    assert_string_equal(graph_type_name(ASSAY_T_TABLE), "table");
    assert_string_equal(graph_type_name(ASSAY_T_JSON), "json");
    assert_string_equal(graph_type_name(ASSAY_T_ANY), "any");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_order),
        cmocka_unit_test(test_diamond_and_multi),
        cmocka_unit_test(test_wide),
        cmocka_unit_test(test_cycles),
        cmocka_unit_test(test_type_and_required),
        cmocka_unit_test(test_did_you_mean),
        cmocka_unit_test(test_top_level),
        cmocka_unit_test(test_all_errors_reported),
        cmocka_unit_test(test_env_and_sets),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
