/*
 * tests/report/failalloc.h - make the allocator fail on demand in a test
 * binary linked with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc:
 * failalloc_arm(n) lets n more allocations succeed and fails every one
 * after that until failalloc_disarm().  Only code linked statically into
 * the test (libassay-core) is affected, not shared libraries.
 */
#ifndef ASSAY_TEST_FAILALLOC_H
#define ASSAY_TEST_FAILALLOC_H

#include <stddef.h>

void failalloc_arm(long n);
void failalloc_disarm(void);
/* Allocations refused since the last arm. */
long failalloc_failed(void);

#endif
