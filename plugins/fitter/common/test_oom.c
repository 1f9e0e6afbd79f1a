/*
 * test_oom.c - out of memory is an error, not a crash: compile, bind and
 * a multi-start fit run with an allocator that fails after N calls, for
 * every N until the run succeeds; each failure must come back as
 * ASSAY_ENOMEM with nothing leaked (every block allocated during the run
 * is freed).
 *
 * malloc/calloc/realloc/free are replaced for the whole process (glibc's
 * __libc_* entry points do the real work), so this test is skipped in
 * sanitizer builds, whose runtime owns the allocator.
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

#include "ffit.h"

#if defined(__SANITIZE_ADDRESS__)
#define FX_OOM_SKIP 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FX_OOM_SKIP 1
#endif
#endif

#ifndef FX_OOM_SKIP
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t m);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

/* Allocation budget: -1 unlimited.  Only this test's thread allocates
 * while a budget is set (the fit runs on one thread). */
static long oom_left = -1;
/* Blocks allocated and not yet freed. */
static long live;

static int oom_take(void)
{
    if (oom_left < 0)
        return 1;
    if (oom_left == 0)
        return 0;
    oom_left--;
    return 1;
}

void *malloc(size_t n)
{
    void *r = oom_take() ? __libc_malloc(n) : NULL;
    live += r != NULL;
    return r;
}

void *calloc(size_t n, size_t m)
{
    void *r = oom_take() ? __libc_calloc(n, m) : NULL;
    live += r != NULL;
    return r;
}

void *realloc(void *p, size_t n)
{
    if (!oom_take())
        return NULL;
    void *r = __libc_realloc(p, n);
    if (!p && r)
        live++;
    else if (p && !r && n == 0)
        live--;
    return r;
}

void free(void *p)
{
    live -= p != NULL;
    __libc_free(p);
}

/* The whole engine path once; returns 0 or the first error code. */
static int pipeline(void)
{
    static const char *const vars[] = {"N", "D"};
    static const char *const params[] = {"a", "b", "e", "alpha", "beta"};
    double Nv[40], Dv[40], y[40];
    for (int i = 0; i < 40; i++) {
        Nv[i] = 1e8 * (1 + i);
        Dv[i] = 2e9 * (1 + (i * 7) % 40);
        y[i] = log(1.7 + 400 / pow(Nv[i], 0.34) + 400 / pow(Dv[i], 0.28));
    }
    fexpr *e = NULL;
    fexpr_data *d = NULL;
    assay_error err = {0};
    int rc = fexpr_compile("log(exp(a - alpha*log(N)) + exp(b - beta*log(D))"
                           " + exp(e))",
                           "law", vars, 2, params, 5, 0, &e, &err);
    if (rc)
        return rc;
    const double *cols[] = {Nv, Dv};
    rc = fexpr_bind(e, cols, 40, &d, &err);
    if (rc) {
        fexpr_free(e);
        return rc;
    }
    static const double g0[] = {5, 6}, g1[] = {0.5}, g2[] = {0.3};
    const double *vals[] = {g0, g0, g1, g2, g2};
    size_t len[] = {2, 1, 1, 1, 1};
    ffit_grid g = {.k = 5, .vals = vals, .len = len};
    ffit_problem pb = {.law = e,
                       .data = d,
                       .y = y,
                       .loss = FEXPR_LOSS_HUBER,
                       .delta = 1e-3,
                       .k = 5};
    ffit_options o;
    ffit_result r;
    ffit_options_default(&o, FFIT_LBFGS);
    o.npolish = 2;
    rc = ffit_multistart(&pb, &g, &o, &r, &err);
    if (rc == 0)
        free(r.p);
    size_t idx[] = {3, 1, 4, 1, 5};
    fexpr_data *sub = NULL;
    if (rc == 0 && fexpr_data_subset(d, idx, 5, &sub))
        rc = ASSAY_ENOMEM;
    fexpr_data_free(sub);
    fexpr_data_free(d);
    fexpr_free(e);
    return rc;
}

static void test_every_failure_point(void **state)
{
    (void)state;
    long n;
    for (n = 0; n < 100000; n++) {
        long before = live;
        oom_left = n;
        int rc = pipeline();
        oom_left = -1;
        if (live != before)
            fail_msg("allocation %ld failing: %ld blocks leaked", n,
                     live - before);
        if (rc == 0)
            break;
        if (rc != ASSAY_ENOMEM)
            fail_msg("allocation %ld failing gave code %d, not ENOMEM", n, rc);
    }
    printf("the pipeline needs %ld allocations; every earlier failure "
           "gave ENOMEM\n",
           n);
    assert_true(n > 10 && n < 100000);
}
#endif

int main(void)
{
#ifdef FX_OOM_SKIP
    printf("skipped: sanitizer builds own the allocator\n");
    return 77; /* meson's exit code for a skipped test */
#else
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_failure_point),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
#endif
}
