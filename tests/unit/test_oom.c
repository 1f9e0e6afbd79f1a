/*
 * Out of memory is an error, not a crash: load YAML, resolve and validate
 * graphs (valid and broken ones), apply overrides and convert tables while
 * the N-th allocation of the host code fails, for every N until the work
 * needs no more allocations.  Each step must fail cleanly or succeed with
 * a correct result; under AddressSanitizer every error path is also
 * checked for leaks.  (Allocations inside jansson and libyaml are not
 * made to fail: only code linked into this binary is wrapped.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <unistd.h>

#include "graph.h"
#include "run.h"
#include "table.h"
#include "util.h"

/* ---- an allocator that fails on demand --------------------------------
 * Linked with -Wl,--wrap=malloc,calloc,realloc,strdup: calls from the
 * core code go through these.  arm(n) lets n more allocations succeed and
 * refuses every one after that until disarm().  Thread-safe: run_graph
 * allocates from its worker threads too. */
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long left = -1, nfailed;

static void failalloc_arm(long n)
{
    pthread_mutex_lock(&lock);
    left = n;
    nfailed = 0;
    pthread_mutex_unlock(&lock);
}

static void failalloc_disarm(void)
{
    pthread_mutex_lock(&lock);
    left = -1;
    pthread_mutex_unlock(&lock);
}

static long failalloc_failed(void)
{
    pthread_mutex_lock(&lock);
    long n = nfailed;
    pthread_mutex_unlock(&lock);
    return n;
}

static bool refuse(void)
{
    bool no = false;
    pthread_mutex_lock(&lock);
    if (left == 0) {
        nfailed++;
        no = true;
    } else if (left > 0)
        left--;
    pthread_mutex_unlock(&lock);
    return no;
}

void *__wrap_malloc(size_t n)
{
    return refuse() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t m)
{
    return refuse() ? NULL : __real_calloc(n, m);
}

void *__wrap_realloc(void *p, size_t n)
{
    return refuse() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
    return refuse() ? NULL : __real_strdup(s);
}

/* ---- the sweeps -----------------------------------------------------------
 */

static registry *REG;

static int setup(void **state)
{
    (void)state;
    REG = registry_new();
    assay_error err;
    const char *dir = getenv("ASSAY_PLUGIN_PATH");
    if (!dir || registry_add_dir(REG, dir, &err) ||
        !registry_find(REG, "test.add"))
        return -1;
    size_t n;
    registry_names(REG, &n); /* built once, outside the sweeps */
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    registry_free(REG);
    return 0;
}

/*
 * Call step(n) with the allocator failing after n allocations, for
 * n = 0, 1, ... until a call sees no failure.  `step` returns 0 on
 * success; it must clean up after itself either way.
 */
static void sweep(const char *what, int (*step)(bool *checked))
{
    for (long n = 0; n < 200000; n++) {
        bool checked = false;
        failalloc_arm(n);
        int rc = step(&checked);
        long failed = failalloc_failed();
        failalloc_disarm();
        if (failed == 0) {
            if (rc != 0)
                fail_msg("%s: fails without any failed allocation", what);
            if (!checked)
                fail_msg("%s: result not checked", what);
            printf("%s: %ld allocation points\n", what, n);
            return;
        }
        /* succeeding anyway is fine when the result is still right */
        if (rc == 0 && !checked)
            fail_msg("%s: succeeded with allocation %ld failing but the "
                     "result is wrong",
                     what, n);
    }
    fail_msg("%s: never finished", what);
}

static const char GOOD[] =
    "experiment: oom\n"
    "seed: 3\n"
    "description: &d {delta: 2, sleep_ms: 0}\n"
    "nodes:\n"
    "  src: {plugin: test.source, with: {n: 4, groups: 2}}\n"
    "  a: {plugin: test.add, inputs: {items: src.items}, with: *d}\n"
    "  b: {plugin: test.add, inputs: {items: a}, with: {delta: 0.5}}\n"
    "  s:\n"
    "    plugin: test.sum\n"
    "    inputs: {items: b.items, extra: [a, src.items]}\n"
    "    group_by: group\n"
    "  t: {plugin: test.table}\n"
    "  n1: {plugin: test.noop}\n"
    "  n2: {plugin: test.noop, inputs: {x: [n1.y, n1]}}\n"
    "report: [s.summary, n2.y]\n";

static int load_good(bool *checked)
{
    graph *g = NULL;
    diag d = {0};
    int rc = graph_load_string(GOOD, strlen(GOOD), "oom.yaml", REG, &g, &d);
    if (rc == 0) {
        *checked =
            g->n == 7 && g->nreport == 2 &&
            g->nodes[graph_find(g, "s")].ndeps == 3 &&
            g->nodes[graph_find(g, "s")].inputs[1].nrefs == 2 &&
            assay_opt_num(g->nodes[graph_find(g, "a")].options, "delta") ==
                2.0 &&
            strcmp(g->nodes[graph_find(g, "s")].group_by, "group") == 0 &&
            strcmp(g->experiment, "oom") == 0 && d.n == 0;
        graph_free(g);
    }
    diag_free(&d);
    return rc;
}

static void test_good_graph(void **state)
{
    (void)state;
    sweep("valid graph", load_good);
}

static const char BAD[] = "experiment: bad\n"
                          "colour: red\n"
                          "seed: -1\n"
                          "nodes:\n"
                          "  src: {plugin: test.sourc}\n"
                          "  a: {plugin: test.add, inputs: {itme: src}}\n"
                          "  b: {plugin: test.add, inputs: {items: zz.items},"
                          " with: {delta: x, bogus: 1}}\n"
                          "  c: {plugin: test.noop, inputs: {x: b.items}}\n"
                          "  d: {plugin: test.add, inputs: {items: e}}\n"
                          "  e: {plugin: test.add, inputs: {items: d}}\n"
                          "  f: {plugin: test.fail, with: {how: abrt}}\n";

static int load_bad(bool *checked)
{
    graph *g = NULL;
    diag d = {0};
    int rc = graph_load_string(BAD, strlen(BAD), "bad.yaml", REG, &g, &d);
    if (rc == 0) { /* must never succeed */
        graph_free(g);
        diag_free(&d);
        return 0;
    }
    /* with every allocation available, all the problems are reported */
    *checked = d.n == 11;
    diag_free(&d);
    return failalloc_failed() ? rc : 0;
}

static void test_bad_graph(void **state)
{
    (void)state;
    sweep("invalid graph", load_bad);
}

static int yaml_steps(bool *checked)
{
    static const char doc[] = "a: &x {k: [1, 2, {z: \"${ASSAY_OOM_V}\"}]}\n"
                              "b: *x\n"
                              "c: ${ASSAY_OOM_MISSING:-dflt}\n";
    ynode *r = NULL;
    diag d = {0};
    int rc = yaml_load_string(doc, strlen(doc), "y.yaml", &r, &d);
    if (!rc)
        rc = yaml_expand_env(r, "y.yaml", &d);
    if (!rc)
        rc = yaml_set_path(r, "b.k=[3, 4]", &d);
    if (!rc)
        rc = yaml_set_path(r, "new.deep.key=v", &d);
    if (!rc) {
        ynode *c = ynode_clone(r);
        if (!c)
            rc = ASSAY_ENOMEM;
        else {
            json_t *j = ynode_to_json(c);
            char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
            *checked =
                s && strcmp(s, "{\"a\":{\"k\":[1,2,{\"z\":\"v\"}]},"
                               "\"b\":{\"k\":[3,4]},\"c\":\"dflt\","
                               "\"new\":{\"deep\":{\"key\":\"v\"}}}") == 0;
            free(s);
            json_decref(j);
            ynode_free(c);
        }
    }
    ynode_free(r);
    diag_free(&d);
    return rc;
}

static void test_yaml(void **state)
{
    (void)state;
    setenv("ASSAY_OOM_V", "v", 1);
    unsetenv("ASSAY_OOM_MISSING");
    sweep("yaml load, expand, set, clone", yaml_steps);
}

static int table_steps(bool *checked)
{
    json_t *recs = json_loads("[{\"i\": 1, \"f\": 0.5, \"s\": \"x\"},"
                              " {\"i\": 2, \"f\": null, \"s\": \"yy\"},"
                              " {\"i\": 3, \"s\": null, \"b\": true}]",
                              0, NULL);
    if (!recs)
        return ASSAY_ENOMEM; /* jansson is not made to fail */
    assay_table *t = NULL, *c = NULL, *back = NULL;
    assay_error err;
    int rc = table_from_records(recs, &t, &err);
    if (!rc) {
        const assay_table *two[] = {t, t};
        rc = table_concat(two, 2, &c, &err);
    }
    FILE *f = NULL;
    if (!rc && !(f = tmpfile()))
        rc = ASSAY_EIO;
    if (!rc)
        rc = table_write(c, f, NULL);
    if (!rc) {
        rewind(f);
        rc = table_read(f, &back, &err);
    }
    if (!rc) {
        json_t *out = table_to_records(back);
        if (!out)
            rc = ASSAY_ENOMEM;
        else {
            *checked =
                json_array_size(out) == 6 &&
                json_integer_value(
                    json_object_get(json_array_get(out, 4), "i")) == 2 &&
                json_is_null(json_object_get(json_array_get(out, 5), "s"));
            json_decref(out);
        }
    }
    if (f)
        fclose(f);
    table_free(t);
    table_free(c);
    table_free(back);
    json_decref(recs);
    return rc;
}

static void test_tables(void **state)
{
    (void)state;
    sweep("table conversions", table_steps);
}

/* A whole run: graph loading, scheduling, values, tables, group_by, the
 * run directory and the node cache.  The run directory and the cache are
 * emptied before every step so that each one does all the work. */
static char TMP[64];

static int run_steps(bool *checked)
{
    static const char text[] =
        "experiment: oomrun\n"
        "nodes:\n"
        "  src: {plugin: test.source, with: {n: 6, groups: 2}}\n"
        "  a: {plugin: test.add, inputs: {items: src}, with: {delta: 1}}\n"
        "  t: {plugin: test.table, with: {n: 3}}\n"
        "  s:\n"
        "    plugin: test.sum\n"
        "    inputs: {items: a, extra: [t, src]}\n"
        "    group_by: group\n"
        "  n1: {plugin: test.noop}\n"
        "  n2: {plugin: test.noop, inputs: {x: [n1, n1]}}\n"
        "report: [s.summary]\n";
    char runs[128], cache[128];
    snprintf(runs, sizeof runs, "%s/runs", TMP);
    snprintf(cache, sizeof cache, "%s/cache", TMP);
    util_rmtree(runs);
    util_rmtree(cache);
    graph *g = NULL;
    diag d = {0};
    int rc = graph_load_string(text, strlen(text), "oomrun.yaml", REG, &g, &d);
    diag_free(&d);
    if (rc)
        return rc;
    run_opts o = {
        .runs_dir = runs, .cache_dir = cache, .jobs = 1, .verbosity = -1};
    char rd[PATH_MAX] = "";
    rc = run_graph(g, REG, &o, rd, sizeof rd);
    graph_free(g);
    if (rc == 0) {
        char p[PATH_MAX + 64];
        snprintf(p, sizeof p, "%s/nodes/s/summary.json", rd);
        json_t *sum = json_load_file(p, 0, NULL);
        /* values 1..6; g0 = 1 + 3 + 5 */
        *checked = json_number_value(json_object_get(sum, "sum")) == 21.0 &&
                   json_integer_value(json_object_get(sum, "extra")) == 9 &&
                   json_number_value(json_object_get(
                       json_object_get(json_object_get(sum, "groups"), "g0"),
                       "sum")) == 9.0;
        json_decref(sum);
        snprintf(p, sizeof p, "%s/nodes/n2/y.json", rd);
        json_t *y = json_load_file(p, 0, NULL);
        *checked = *checked && json_integer_value(json_object_get(y, "n")) == 3;
        json_decref(y);
    }
    return rc;
}

static void test_run(void **state)
{
    (void)state;
    /* tmpfs when there is one: the manifest is fsync'ed on every run */
    snprintf(TMP, sizeof TMP, "/dev/shm/assay-oom-XXXXXX");
    if (!mkdtemp(TMP)) {
        snprintf(TMP, sizeof TMP, "/tmp/assay-oom-XXXXXX");
        assert_non_null(mkdtemp(TMP));
    }
    /* failed nodes print their errors even with -q: keep the log short */
    fflush(stderr);
    int saved = dup(2), null = open("/dev/null", O_WRONLY);
    assert_true(saved >= 0 && null >= 0);
    dup2(null, 2);
    close(null);
    sweep("whole run", run_steps);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    util_rmtree(TMP);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yaml),       cmocka_unit_test(test_tables),
        cmocka_unit_test(test_good_graph), cmocka_unit_test(test_bad_graph),
        cmocka_unit_test(test_run),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
