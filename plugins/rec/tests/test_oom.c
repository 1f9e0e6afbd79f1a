/*
 * Out of memory is an error, not a crash, in the recsys plugins: each
 * plugin (linked statically here, its entry point renamed, and run
 * through the real host code of the testkit) is run with the N-th
 * allocation failing, for N = 0, 1, ... until a run sees no failure.
 * Every run must either fail with ASSAY_ENOMEM or succeed with the same
 * result as an unhindered run; under AddressSanitizer the error paths are
 * also checked for leaks.  Allocations of this binary's code (plugins,
 * recsys common code, host tables) go through the wrappers below
 * (-Wl,--wrap); jansson's and OpenBLAS's do not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rc_test.h"

/* ---- failing allocator ------------------------------------------------ */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);

static pthread_mutex_t fa_lock = PTHREAD_MUTEX_INITIALIZER;
static long fa_left = -1, fa_failed;

/* Let `n` more allocations succeed, refuse the rest (n < 0: never). */
static void fa_arm(long n)
{
    pthread_mutex_lock(&fa_lock);
    fa_left = n;
    fa_failed = 0;
    pthread_mutex_unlock(&fa_lock);
}

static long fa_disarm(void)
{
    pthread_mutex_lock(&fa_lock);
    fa_left = -1;
    long f = fa_failed;
    pthread_mutex_unlock(&fa_lock);
    return f;
}

static bool fa_refuse(void)
{
    bool no = false;
    pthread_mutex_lock(&fa_lock);
    if (fa_left == 0) {
        fa_failed++;
        no = true;
    } else if (fa_left > 0) {
        fa_left--;
    }
    pthread_mutex_unlock(&fa_lock);
    return no;
}

void *__wrap_malloc(size_t n)
{
    return fa_refuse() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t m)
{
    return fa_refuse() ? NULL : __real_calloc(n, m);
}

void *__wrap_realloc(void *p, size_t n)
{
    return fa_refuse() ? NULL : __real_realloc(p, n);
}

/* ---- the plugins, linked in with renamed entry points ------------------ */

#define ENTRY(x)                                                               \
    const assay_plugin *const *oom_entry_##x(uint32_t host_abi_version);
ENTRY(pop)
ENTRY(itemknn)
ENTRY(bpr)
ENTRY(sasrec)
ENTRY(split)
ENTRY(negatives)
ENTRY(kcore)
ENTRY(filter)
ENTRY(interactions)
ENTRY(synthetic)

static const assay_plugin *first(const assay_plugin *const *list)
{
    return list[0];
}

/* ---- data --------------------------------------------------------------- */

typedef struct world {
    assay_table *train, *valid, *test, *cand, *all;
} world;

static void make_world(world *w)
{
    enum { U = 12, L = 8 };
    int64_t u[U * L], it[U * L], t[U * L];
    double r[U * L];
    int64_t vu[U], vi[U], vt[U], eu[U], ei[U], et[U];
    size_t n = 0;
    for (int64_t a = 0; a < U; a++) {
        for (int64_t k = 0; k < L; k++) {
            u[n] = a;
            it[n] = (a * 3 + k * 5) % 23;
            t[n] = k;
            r[n++] = 1 + (double)((a + k) % 5);
        }
        vu[a] = eu[a] = a;
        vi[a] = (a * 3 + 40) % 23 + 23;
        ei[a] = (a * 7 + 1) % 23 + 23;
        vt[a] = L;
        et[a] = L + 1;
    }
    w->train = rt_table(n, u, it, t, r, false);
    w->all = rt_table(n, u, it, t, r, true);
    w->valid = rt_table(U, vu, vi, vt, NULL, false);
    w->test = rt_table(U, eu, ei, et, NULL, false);
    w->cand = rt_table(U, eu, ei, NULL, NULL, false);
    int64_t *lab =
        assay_testkit_table_add_col(w->cand, "label", ASSAY_COL_INT64);
    for (size_t i = 0; i < U; i++)
        lab[i] = 1;
}

static void free_world(world *w)
{
    assay_testkit_table_free(w->train);
    assay_testkit_table_free(w->all);
    assay_testkit_table_free(w->valid);
    assay_testkit_table_free(w->test);
    assay_testkit_table_free(w->cand);
}

/* The deterministic part of a run's result: json and records outputs
 * without timings, and each table's size. */
static json_t *summary(json_t *out, const assay_testkit_tables *t)
{
    json_t *s = json_deep_copy(out);
    json_object_del(s, "model"); /* timings */
    json_t *info = json_object_get(s, "info");
    if (info)
        json_object_del(info, "path");
    for (size_t i = 0; i < t->n; i++)
        json_object_set_new(s, t->ports[i],
                            json_integer((json_int_t)t->tables[i]->nrows));
    return s;
}

/*
 * Run plugin `p` once unhindered (the reference), then with allocation N
 * failing for every N until a run sees no failure.
 */
static void sweep(const assay_plugin *p, const char *opts, size_t n,
                  const char *const *ports, assay_table *const *tabs)
{
    assay_testkit_tables in = {0}, out = {0};
    assay_error err = {0};
    json_t *res = NULL;
    in.n = n;
    for (size_t i = 0; i < n; i++) {
        in.ports[i] = ports[i];
        in.tables[i] = tabs[i];
    }
    assert_int_equal(
        assay_testkit_run_tables(p, opts, NULL, &in, &res, &out, &err), 0);
    json_t *want = summary(res, &out);
    json_decref(res);
    rt_free(&out);
    long steps = 0, failures = 0;
    for (long k = 0; k < 1000000; k++) {
        res = NULL;
        memset(&out, 0, sizeof out);
        memset(&err, 0, sizeof err);
        fa_arm(k);
        int rc = assay_testkit_run_tables(p, opts, NULL, &in, &res, &out, &err);
        long failed = fa_disarm();
        steps++;
        /* the testkit copies output tables after the run; a refused
         * allocation there leaves NULL (the harness's failure, not the
         * plugin's) */
        bool copied = true;
        for (size_t i = 0; i < out.n; i++)
            copied = copied && out.tables[i];
        if (rc == 0 && !copied) {
            for (size_t i = 0; i < out.n; i++)
                if (out.tables[i])
                    assay_testkit_table_free(out.tables[i]);
            out.n = 0;
            failures++;
        } else if (rc == 0) {
            json_t *got = summary(res, &out);
            if (!json_equal(got, want)) {
                char *a = json_dumps(got, JSON_COMPACT);
                char *b = json_dumps(want, JSON_COMPACT);
                fprintf(stderr,
                        "%s, allocation %ld failing: result %s, "
                        "want %s\n",
                        p->name, k, a, b);
                free(a);
                free(b);
                fail();
            }
            json_decref(got);
        } else {
            failures++;
            if (rc != ASSAY_ENOMEM)
                fprintf(stderr, "%s, allocation %ld failing: rc %d (%s)\n",
                        p->name, k, rc, err.text);
            assert_int_equal(rc, ASSAY_ENOMEM);
        }
        json_decref(res);
        rt_free(&out);
        if (failed == 0)
            break;
    }
    printf("%-32s %ld allocation points, %ld failed cleanly\n", p->name,
           steps - 1, failures);
    json_decref(want);
}

static void test_recommenders(void **state)
{
    (void)state;
    world w;
    make_world(&w);
    const char *ports[] = {"train", "valid", "test", "candidates"};
    assay_table *tabs[] = {w.train, w.valid, w.test, w.cand};
    sweep(first(oom_entry_pop(ASSAY_ABI_VERSION)), "{\"k\": 5}", 4, ports,
          tabs);
    sweep(first(oom_entry_itemknn(ASSAY_ABI_VERSION)),
          "{\"neighbors\": 4, \"shrink\": 1}", 4, ports, tabs);
    sweep(first(oom_entry_bpr(ASSAY_ABI_VERSION)),
          "{\"dim\": 4, \"epochs\": 3, \"patience\": 1}", 4, ports, tabs);
    sweep(first(oom_entry_sasrec(ASSAY_ABI_VERSION)),
          "{\"dim\": 8, \"heads\": 2, \"inner\": 8, \"layers\": 1, "
          "\"max_len\": 5, \"epochs\": 2, \"batch\": 4, \"patience\": 1}",
          4, ports, tabs);
    free_world(&w);
}

static void test_protocols(void **state)
{
    (void)state;
    world w;
    make_world(&w);
    const char *p1[] = {"interactions"};
    sweep(first(oom_entry_split(ASSAY_ABI_VERSION)), "{\"method\": \"loo\"}", 1,
          p1, &w.all);
    sweep(first(oom_entry_split(ASSAY_ABI_VERSION)), "{\"by\": \"global\"}", 1,
          p1, &w.all);
    sweep(first(oom_entry_kcore(ASSAY_ABI_VERSION)),
          "{\"user_min\": 3, \"item_min\": 3}", 1, p1, &w.all);
    sweep(first(oom_entry_filter(ASSAY_ABI_VERSION)), "{\"min\": 3}", 1, p1,
          &w.all);
    const char *p3[] = {"train", "test", "exclude"};
    assay_table *t3[] = {w.train, w.test, w.valid};
    sweep(first(oom_entry_negatives(ASSAY_ABI_VERSION)),
          "{\"n\": 5, \"sampler\": \"popularity\"}", 3, p3, t3);
    free_world(&w);
}

static void test_sources(void **state)
{
    (void)state;
    char dir[] = "/tmp/assay-oom-XXXXXX", path[256], opts[400];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/log.csv", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("user,item,rating,timestamp\na,x,4,10\nb,y,3,11\na,y,5,12\n"
          "c,\"z,z\",1,13\n",
          f);
    fclose(f);
    snprintf(path, sizeof path, "%s/log.item", dir);
    snprintf(opts, sizeof opts, "{\"path\": \"%s/log.csv\"}", dir);
    sweep(first(oom_entry_interactions(ASSAY_ABI_VERSION)), opts, 0, NULL,
          NULL);
    setenv("ASSAY_THREADS", "2", 1);
    sweep(first(oom_entry_synthetic(ASSAY_ABI_VERSION)),
          "{\"n_users\": 40, \"n_items\": 30, \"mean_length\": 6, "
          "\"min_length\": 3, \"pool\": 8}",
          0, NULL, NULL);
    snprintf(path, sizeof path, "rm -rf '%s'", dir);
    assert_int_equal(system(path), 0);
}

int main(void)
{
    /* one thread: deterministic results to compare (BPR is lock-free
     * over several) */
    setenv("ASSAY_THREADS", "1", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recommenders),
        cmocka_unit_test(test_protocols),
        cmocka_unit_test(test_sources),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
