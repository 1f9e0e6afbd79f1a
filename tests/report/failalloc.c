/*
 * tests/report/failalloc.c - see failalloc.h.  The counters are test
 * state of a single-threaded test binary.
 */
#include "failalloc.h"

#include <stdbool.h>
#include <stdlib.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);

static long left = -1, failed;

void failalloc_arm(long n)
{
    left = n;
    failed = 0;
}

void failalloc_disarm(void)
{
    left = -1;
}

long failalloc_failed(void)
{
    return failed;
}

static bool refuse(void)
{
    if (left < 0)
        return false;
    if (left == 0) {
        failed++;
        return true;
    }
    left--;
    return false;
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
