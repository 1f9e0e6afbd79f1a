/*
 * The host's allocation-failure sweep: plugin loading, validation and a
 * whole run of a small graph of real plugins (files in, transforms, a
 * metric, a sink, the run directory, the node cache, the report, the
 * command line), repeated with the allocator failing after N
 * allocations for every N until the work needs no more.
 *
 * Unlike tests/unit/test_oom.c, jansson's allocations fail too (through
 * json_set_alloc_funcs, so every JSON value the host and the plugins
 * build is in the count), plugin loading is inside the sweep, and each
 * failed run is followed by a run with memory available that shares its
 * node cache: an out-of-memory failure must not leave a half-written
 * cache entry or value that a later run trusts.
 *
 * Each step must either succeed with the right results or fail cleanly:
 * a non-zero status, no crash, and (under AddressSanitizer) no leak,
 * checked after every step so that a report names the allocation.
 * Allocations made inside libyaml, libcurl, SQLite and by the plugins'
 * own malloc calls are not made to fail: only the host code linked into
 * this program (-Wl,--wrap) and jansson.  Nor are jansson's allocations
 * while it parses JSON text for the host: its lexer does not check them
 * and stops the process on an assertion (jansson 2.14, upstream issue
 * akheron/jansson#362), a bug of the library rather than of the host.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "graph.h"
#include "registry.h"
#include "run.h"
#include "util.h"

/* ---- an allocator that fails after N allocations ----------------------
 * arm(n): n more allocations succeed, every one after that fails, until
 * disarm().  Counts every allocation it sees.  Locked: the run allocates
 * from worker threads. */
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);

/* Provided by LeakSanitizer when it is linked in. */
int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

static pthread_mutex_t alloc_lock = PTHREAD_MUTEX_INITIALIZER;
static long alloc_left = -1; /* allocations still allowed; -1: no limit */
static long alloc_refused;   /* refused since arm() */
static long alloc_seen;      /* seen since arm() */

static void arm(long n)
{
    pthread_mutex_lock(&alloc_lock);
    alloc_left = n;
    alloc_refused = 0;
    alloc_seen = 0;
    pthread_mutex_unlock(&alloc_lock);
}

/* Stop failing; returns the number of refused allocations. */
static long disarm(void)
{
    pthread_mutex_lock(&alloc_lock);
    alloc_left = -1;
    long n = alloc_refused;
    pthread_mutex_unlock(&alloc_lock);
    return n;
}

static long seen(void)
{
    pthread_mutex_lock(&alloc_lock);
    long n = alloc_seen;
    pthread_mutex_unlock(&alloc_lock);
    return n;
}

static bool refuse(void)
{
    bool no = false;
    pthread_mutex_lock(&alloc_lock);
    alloc_seen++;
    if (alloc_left == 0) {
        alloc_refused++;
        no = true;
    } else if (alloc_left > 0)
        alloc_left--;
    pthread_mutex_unlock(&alloc_lock);
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

/* Inside jansson's parser (see the top of the file): set by the
 * wrappers of the parse functions the host calls. */
static _Thread_local int in_parser;

json_t *__real_json_loads(const char *s, size_t flags, json_error_t *e);
json_t *__real_json_loadb(const char *b, size_t n, size_t flags,
                          json_error_t *e);
json_t *__real_json_load_file(const char *path, size_t flags, json_error_t *e);
json_t *__wrap_json_loads(const char *s, size_t flags, json_error_t *e);
json_t *__wrap_json_loadb(const char *b, size_t n, size_t flags,
                          json_error_t *e);
json_t *__wrap_json_load_file(const char *path, size_t flags, json_error_t *e);

json_t *__wrap_json_loads(const char *s, size_t flags, json_error_t *e)
{
    in_parser++;
    json_t *j = __real_json_loads(s, flags, e);
    in_parser--;
    return j;
}

json_t *__wrap_json_loadb(const char *b, size_t n, size_t flags,
                          json_error_t *e)
{
    in_parser++;
    json_t *j = __real_json_loadb(b, n, flags, e);
    in_parser--;
    return j;
}

json_t *__wrap_json_load_file(const char *path, size_t flags, json_error_t *e)
{
    in_parser++;
    json_t *j = __real_json_load_file(path, flags, e);
    in_parser--;
    return j;
}

static void *json_malloc(size_t n)
{
    return !in_parser && refuse() ? NULL : __real_malloc(n);
}

static void json_free(void *p)
{
    free(p);
}

/* ---- the test's files and output -------------------------------------- */

static char TMP[64];
static char EXP[128];           /* the experiment file */
static char LOG[128];           /* stdout and stderr of the current step */
static const char *PLUGIN_DIRS; /* colon list, from the environment */
static int saved_out = -1, saved_err = -1;

/* Send stdout and stderr to LOG (truncated), so that the messages of
 * thousands of failing steps stay out of the test log but can be read. */
static void quiet(void)
{
    fflush(stdout);
    fflush(stderr);
    int fd = open(LOG, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return;
    if (saved_out < 0) {
        saved_out = dup(1);
        saved_err = dup(2);
    }
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
}

static void loud(void)
{
    fflush(stdout);
    fflush(stderr);
    if (saved_out >= 0) {
        dup2(saved_out, 1);
        dup2(saved_err, 2);
        close(saved_out);
        close(saved_err);
        saved_out = saved_err = -1;
    }
}

/* True when the output of the current step contains `s`. */
static bool log_has(const char *s)
{
    fflush(stdout);
    fflush(stderr);
    char *text = NULL;
    size_t len;
    assay_error err;
    bool yes =
        util_read_file(LOG, &text, &len, &err) == 0 && strstr(text, s) != NULL;
    free(text);
    return yes;
}

/* ---- the sweep ----------------------------------------------------------
 * A step gets the allocation budget `n` and calls arm(n) itself once its
 * setup is done (setup that must not fail: creating directories, loading
 * plugins where that is not what the step tests).  It returns 0 when the
 * work succeeded and sets *checked when the result was verified; on
 * failure it returns non-zero and leaves *why empty, or describes what
 * went wrong beyond the allocation failure in why. */
typedef int (*step_fn)(long n, bool *checked, char *why, size_t whysz);

typedef struct sweep_stats {
    long points; /* allocations the work makes */
    long steps;  /* steps run */
} sweep_stats;

/* Environment knobs, for chasing a finding: ALLOC_FULL=1 tries every
 * allocation in every sweep; ALLOC_FROM=N starts the sweeps at N;
 * ALLOC_LEAK_EVERY=K checks for leaks after every K-th step (default 8:
 * a check stops the process and scans the heap, which dominates the
 * time of a sanitizer build). */
static long env_long(const char *name, long dflt)
{
    const char *s = getenv(name);
    char *end;
    long v = s && *s ? strtol(s, &end, 10) : dflt;
    return s && *s && *end == '\0' && v >= 0 ? v : dflt;
}

static bool leaked(void)
{
    return __lsan_do_recoverable_leak_check &&
           __lsan_do_recoverable_leak_check();
}

static void sweep(const char *what, step_fn step, long stride, sweep_stats *st)
{
    char msg[1024] = "";
    long n = env_long("ALLOC_FROM", 0), last_n = -1, checked_to = n - 1;
    long every = env_long("ALLOC_LEAK_EVERY", 8);
    if (env_long("ALLOC_FULL", 0))
        stride = 1;
    if (every < 1)
        every = 1;
    st->steps = 0;
    for (;; n += n < 200 ? 1 : stride) {
        bool checked = false;
        char why[512] = "";
        quiet();
        int rc = step(n, &checked, why, sizeof why);
        long refused = disarm();
        long made = seen();
        st->steps++;
        if (why[0]) {
            snprintf(msg, sizeof msg, "%s, allocation %ld failing: %s", what, n,
                     why);
            break;
        }
        bool last = refused == 0;
        if ((st->steps % every == 0 || last) && leaked()) {
            snprintf(msg, sizeof msg,
                     "%s: leak with an allocation from %ld to %ld failing "
                     "(see the LeakSanitizer report above; ALLOC_FROM=%ld "
                     "ALLOC_LEAK_EVERY=1 finds which)",
                     what, checked_to + 1, n, checked_to + 1);
            break;
        }
        if (st->steps % every == 0 || last)
            checked_to = n;
        if (refused == 0) {
            if (rc != 0)
                snprintf(msg, sizeof msg,
                         "%s fails without any failed "
                         "allocation",
                         what);
            else if (!checked)
                snprintf(msg, sizeof msg, "%s: result not right", what);
            st->points = made;
            last_n = n;
            break;
        }
        if (rc == 0 && !checked) {
            snprintf(msg, sizeof msg,
                     "%s succeeded with allocation %ld failing, but the "
                     "result is wrong",
                     what, n);
            break;
        }
        if (n > 5000000) {
            snprintf(msg, sizeof msg, "%s never finished", what);
            break;
        }
    }
    loud();
    if (msg[0]) {
        print_message("output of the last step (%s):\n", LOG);
        char *text = NULL;
        size_t len;
        assay_error err;
        if (util_read_file(LOG, &text, &len, &err) == 0)
            fputs(text, stdout);
        free(text);
        fail_msg("%s", msg);
    }
    printf("%s: %ld allocation points, %ld steps (every one up to 200, "
           "then every %ld-th), last %ld%s\n",
           what, st->points, st->steps, stride, last_n,
           __lsan_do_recoverable_leak_check ? ", leak-checked" : "");
}

/* ---- what the steps do -------------------------------------------------- */

static const char *const WANT[] = {"test.source",      "test.add",
                                   "source.jsonl",     "transform.filter",
                                   "transform.select", "metric.classification",
                                   "sink.jsonl"};

/* Add every directory of PLUGIN_DIRS; the first error is returned. */
static int add_dirs(registry *r, assay_error *err)
{
    char *copy = __real_strdup(PLUGIN_DIRS);
    if (!copy)
        return ASSAY_ENOMEM;
    int rc = 0;
    char *save = NULL;
    for (char *d = strtok_r(copy, ":", &save); d && !rc;
         d = strtok_r(NULL, ":", &save))
        rc = registry_add_dir(r, d, err);
    free(copy);
    return rc;
}

/* Plugin loading: scanning the directories, dlopen, descriptor checks,
 * the name index. */
static int step_load(long n, bool *checked, char *why, size_t whysz)
{
    arm(n);
    registry *r = registry_new();
    if (!r)
        return ASSAY_ENOMEM;
    assay_error err;
    int rc = add_dirs(r, &err);
    /* the name index only serves did-you-mean hints: without memory for
     * it there are no hints, which is not an error */
    size_t nn = 0;
    const char *const *names = rc ? NULL : registry_names(r, &nn);
    size_t found = 0;
    for (size_t i = 0; i < sizeof WANT / sizeof WANT[0]; i++)
        found += registry_find(r, WANT[i]) != NULL;
    size_t problems = registry_nproblems(r);
    if (rc == 0 && found == sizeof WANT / sizeof WANT[0] && problems == 0)
        *checked = !names || nn >= found;
    else if (rc == 0 && problems == 0 && disarm() > 0)
        /* an allocation failed, nothing says so, yet plugins are
         * missing */
        snprintf(why, whysz,
                 "%zu of %zu plugins loaded and no problem "
                 "recorded",
                 found, sizeof WANT / sizeof WANT[0]);
    else if (rc == 0)
        rc = ASSAY_ENOMEM; /* reported as a problem: a clean failure */
    registry_free(r);
    return rc;
}

/* A registry built with memory available. */
static registry *full_registry(void)
{
    registry *r = registry_new();
    assay_error err;
    if (!r || add_dirs(r, &err)) {
        registry_free(r);
        return NULL;
    }
    size_t n;
    registry_names(r, &n);
    return r;
}

static const char BAD_GRAPH[] =
    "experiment: bad\n"
    "nodes:\n"
    "  data: {plugin: source.jsonl, with: {path: items.jsonl, limt: 3}}\n"
    "  keep:\n"
    "    plugin: transform.filter\n"
    "    inputs: {items: data.record}\n"
    "    with: {where: [{field: score, op: '>=', value: 0}], mode: every}\n"
    "  acc: {plugin: metric.classification, inputs: {items: keep},\n"
    "        with: {metrics: [accuracy], bootstrap: -1}}\n"
    "  out: {plugin: sink.jsonl, inputs: {items: acc.summary}}\n"
    "  loop: {plugin: transform.select, inputs: {items: loop2}}\n"
    "  loop2: {plugin: transform.select, inputs: {items: loop}}\n";

/* Validation with real plugin schemas: a valid graph and one with a
 * problem of every kind. */
static int step_validate(long n, bool *checked, char *why, size_t whysz)
{
    registry *r = full_registry();
    if (!r) {
        snprintf(why, whysz, "plugins cannot be loaded");
        return ASSAY_EIO;
    }
    arm(n);
    graph *g = NULL;
    diag d = {0};
    int rc = graph_load(EXP, NULL, 0, r, &g, &d);
    bool good = rc == 0 && g->n == 6 && d.n == 0 && graph_find(g, "acc") >= 0 &&
                json_integer_value(json_object_get(
                    g->nodes[graph_find(g, "acc")].options, "bootstrap")) == 20;
    graph_free(g);
    diag_free(&d);
    if (rc == 0 && !good) {
        registry_free(r);
        return 0; /* loaded, but wrong: *checked stays false */
    }
    if (rc == 0) {
        g = NULL;
        memset(&d, 0, sizeof d);
        int bad = graph_load_string(BAD_GRAPH, strlen(BAD_GRAPH), "bad.yaml", r,
                                    &g, &d);
        if (bad == 0) {
            snprintf(why, whysz, "the broken graph loaded");
            graph_free(g);
        } else if (d.n == 0 && d.dropped == 0)
            snprintf(why, whysz,
                     "the broken graph failed without a "
                     "diagnostic");
        /* with memory available every problem is reported */
        *checked = d.n == 8;
        rc = disarm() > 0 && !*checked ? bad : 0;
        diag_free(&d);
    }
    registry_free(r);
    return rc;
}

static int read_json(const char *dir, const char *rel, json_t **out)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    *out = json_load_file(p, 0, NULL);
    return *out ? 0 : ASSAY_EIO;
}

static size_t count_lines(const char *dir, const char *rel)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    FILE *f = fopen(p, "r");
    size_t n = 0;
    int c;
    while (f && (c = fgetc(f)) != EOF)
        n += c == '\n';
    if (f)
        fclose(f);
    return n;
}

/* The outputs of a finished run of the experiment (see setup). */
static bool run_right(const char *rd, bool need_report)
{
    json_t *sum = NULL, *man = NULL;
    bool ok = read_json(rd, "nodes/acc/summary.json", &sum) == 0 &&
              read_json(rd, "manifest.json", &man) == 0;
    /* 5 of the 6 items pass the filter; 4 of them are right */
    ok = ok && json_real_value(json_object_get(sum, "accuracy")) == 0.8 &&
         json_is_array(json_object_get(sum, "accuracy_ci")) &&
         count_lines(rd, "nodes/slim/items.jsonl") == 5 &&
         count_lines(rd, "out.jsonl") == 5 &&
         strcmp(json_string_value(json_object_get(man, "status")), "ok") == 0;
    if (ok && need_report) {
        char p[PATH_MAX + 16];
        snprintf(p, sizeof p, "%s/report.html", rd);
        /* the report may be missing only when a warning said so */
        ok = util_is_file(p) || log_has("no report") || log_has("cannot write");
    }
    json_decref(sum);
    json_decref(man);
    return ok;
}

static void clean_dirs(void)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/runs", TMP);
    util_rmtree(p);
    snprintf(p, sizeof p, "%s/cache", TMP);
    util_rmtree(p);
}

/* A run with memory available after a failed one: it shares the node
 * cache, so anything the failure left there is used. */
static void recover(registry *r, char *why, size_t whysz)
{
    graph *g = NULL;
    diag d = {0};
    char runs[PATH_MAX], cache[PATH_MAX], rd[PATH_MAX] = "";
    snprintf(runs, sizeof runs, "%s/runs2", TMP);
    snprintf(cache, sizeof cache, "%s/cache", TMP);
    util_rmtree(runs);
    if (graph_load(EXP, NULL, 0, r, &g, &d)) {
        snprintf(why, whysz, "the graph no longer loads");
        diag_free(&d);
        return;
    }
    run_opts o = {
        .runs_dir = runs, .cache_dir = cache, .jobs = 1, .verbosity = -1};
    int rc = run_graph(g, r, &o, rd, sizeof rd);
    graph_free(g);
    diag_free(&d);
    if (rc != 0 || !run_right(rd, false))
        snprintf(why, whysz, "the next run with memory available %s",
                 rc ? "fails" : "gives wrong results (from the cache?)");
}

/* A whole run through run_graph (the registry and the graph are built
 * with memory available). */
static int run_common(long n, bool *checked, char *why, size_t whysz,
                      bool isolate)
{
    clean_dirs();
    registry *r = full_registry();
    graph *g = NULL;
    diag d = {0};
    if (!r || graph_load(EXP, NULL, 0, r, &g, &d)) {
        snprintf(why, whysz, "setup failed");
        registry_free(r);
        diag_free(&d);
        return ASSAY_EIO;
    }
    diag_free(&d);
    char runs[PATH_MAX], cache[PATH_MAX], rd[PATH_MAX] = "";
    snprintf(runs, sizeof runs, "%s/runs", TMP);
    snprintf(cache, sizeof cache, "%s/cache", TMP);
    run_opts o = {.runs_dir = runs,
                  .cache_dir = cache,
                  .jobs = 1,
                  .verbosity = 0,
                  .isolate_all = isolate};
    arm(n);
    int rc = run_graph(g, r, &o, rd, sizeof rd);
    long refused = disarm();
    graph_free(g);
    if (rc == 0)
        *checked = rd[0] && run_right(rd, true);
    else if (rc != 1 && rc != 2)
        snprintf(why, whysz, "run_graph returned %d", rc);
    if (refused && !why[0])
        recover(r, why, whysz);
    registry_free(r);
    return rc;
}

static int step_run(long n, bool *checked, char *why, size_t whysz)
{
    return run_common(n, checked, why, whysz, false);
}

static int step_isolated(long n, bool *checked, char *why, size_t whysz)
{
    return run_common(n, checked, why, whysz, true);
}

/* `assay run` from the command line: plugins found through
 * ASSAY_PLUGIN_PATH, the graph read from its file, the run, the report
 * and the terminal summary, all inside the sweep. */
static int step_cli(long n, bool *checked, char *why, size_t whysz)
{
    clean_dirs();
    char runs[PATH_MAX], cache[PATH_MAX];
    snprintf(runs, sizeof runs, "%s/runs", TMP);
    snprintf(cache, sizeof cache, "%s/cache", TMP);
    char *argv[] = {"assay",       "run", EXP,  "--runs-dir", runs,
                    "--cache-dir", cache, "-j", "1",          NULL};
    arm(n);
    int rc = cli_main(9, argv);
    long refused = disarm();
    if (rc == 0) {
        /* the one run directory under runs/alloc/ */
        char exp_runs[PATH_MAX + 16], rd[PATH_MAX * 2] = "";
        snprintf(exp_runs, sizeof exp_runs, "%s/alloc", runs);
        DIR *dir = opendir(exp_runs);
        struct dirent *e;
        while (dir && (e = readdir(dir)) != NULL)
            if (e->d_name[0] != '.')
                snprintf(rd, sizeof rd, "%s/%s", exp_runs, e->d_name);
        if (dir)
            closedir(dir);
        *checked =
            rd[0] && run_right(rd, true) && (log_has("accuracy") || refused);
    } else if (rc != 1 && rc != 2)
        snprintf(why, whysz, "exit code %d", rc);
    if (rc != 0 && refused && !why[0]) {
        registry *r = full_registry();
        if (r)
            recover(r, why, whysz);
        registry_free(r);
    }
    return rc;
}

/* ---- the tests ------------------------------------------------------------
 */

static long stride_for(const char *env, long dflt)
{
    long v = env_long(env, dflt);
    return v > 0 ? v : dflt;
}

/* Default strides keep the test to a minute or two in a sanitizer build
 * on two cores: every allocation of loading and validation, every one of
 * the first 200 of the runs and then a spread of the rest (ALLOC_FULL=1
 * for all of them). */
static void test_load(void **state)
{
    (void)state;
    sweep_stats st;
    sweep("plugin loading", step_load, 1, &st);
}

static void test_validate(void **state)
{
    (void)state;
    sweep_stats st;
    sweep("validation", step_validate, 1, &st);
}

static void test_run(void **state)
{
    (void)state;
    sweep_stats st;
    sweep("whole run", step_run, stride_for("ALLOC_STRIDE_RUN", 5), &st);
}

static void test_isolated(void **state)
{
    (void)state;
    sweep_stats st;
    sweep("isolated run", step_isolated, stride_for("ALLOC_STRIDE_RUN", 5) * 4,
          &st);
}

static void test_cli(void **state)
{
    (void)state;
    sweep_stats st;
    sweep("assay run", step_cli, stride_for("ALLOC_STRIDE_RUN", 5) * 3, &st);
}

static const char EXPERIMENT[] =
    "experiment: alloc\n"
    "seed: 11\n"
    "nodes:\n"
    "  data: {plugin: source.jsonl, with: {path: items.jsonl}}\n"
    "  keep:\n"
    "    plugin: transform.filter\n"
    "    inputs: {items: data}\n"
    "    with: {where: [{field: score, op: '>=', value: 0}]}\n"
    "  slim:\n"
    "    plugin: transform.select\n"
    "    inputs: {items: keep.items}\n"
    "    with: {fields: [id, label, pred, score]}\n"
    "  acc:\n"
    "    plugin: metric.classification\n"
    "    inputs: {items: slim}\n"
    "    with: {metrics: [accuracy, auc], bootstrap: 20}\n"
    "  out: {plugin: sink.jsonl, inputs: {items: slim}, with: {path: "
    "out.jsonl}}\n"
    "  src: {plugin: test.source, with: {n: 3}}\n"
    "report: [acc.summary]\n";

static const char ITEMS[] =
    "{\"id\": 1, \"label\": 1, \"pred\": 1, \"score\": 0.9}\n"
    "{\"id\": 2, \"label\": 0, \"pred\": 0, \"score\": 0.2}\n"
    "{\"id\": 3, \"label\": 1, \"pred\": 0, \"score\": 0.4}\n"
    "{\"id\": 4, \"label\": 0, \"pred\": 0, \"score\": 0.3}\n"
    "{\"id\": 5, \"label\": 1, \"pred\": 1, \"score\": 0.8}\n"
    "{\"id\": 6, \"label\": 0, \"pred\": 1, \"score\": -1}\n";

static int write_text(const char *dir, const char *name, const char *text)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

static int setup(void **state)
{
    (void)state;
    json_set_alloc_funcs(json_malloc, json_free);
    PLUGIN_DIRS = getenv("ALLOC_PLUGIN_PATH");
    if (!PLUGIN_DIRS || !*PLUGIN_DIRS) {
        fprintf(stderr, "ALLOC_PLUGIN_PATH is not set\n");
        return -1;
    }
    /* `assay run` finds them there */
    setenv("ASSAY_PLUGIN_PATH", PLUGIN_DIRS, 1);
    setenv("CI", "true", 1);
    /* tmpfs when there is one: the manifest is fsync'ed on every run */
    snprintf(TMP, sizeof TMP, "/dev/shm/assay-alloc-XXXXXX");
    if (!mkdtemp(TMP)) {
        snprintf(TMP, sizeof TMP, "/tmp/assay-alloc-XXXXXX");
        if (!mkdtemp(TMP))
            return -1;
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/exp", TMP);
    snprintf(EXP, sizeof EXP, "%s/exp/alloc.yaml", TMP);
    snprintf(LOG, sizeof LOG, "%s/step.log", TMP);
    if (mkdir(dir, 0700) || write_text(dir, "alloc.yaml", EXPERIMENT) ||
        write_text(dir, "items.jsonl", ITEMS))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    util_rmtree(TMP);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load), cmocka_unit_test(test_validate),
        cmocka_unit_test(test_run),  cmocka_unit_test(test_isolated),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
