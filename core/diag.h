/*
 * core/diag.h - a list of diagnostics ("file:line:col: error: message"
 * with an optional hint), so that validation reports every problem it
 * finds rather than only the first.
 */
#ifndef ASSAY_DIAG_H
#define ASSAY_DIAG_H

#include <stdio.h>

typedef struct diag_item {
    char *file;
    int line, col; /* 1-based; 0 when unknown */
    char *msg;
    char *hint;    /* may be NULL */
} diag_item;

typedef struct diag {
    diag_item *items;
    size_t n, cap;
    size_t dropped; /* problems that could not be stored (out of memory);
                       printed as one "out of memory" line */
} diag;

#if defined(__GNUC__)
__attribute__((format(printf, 6, 7)))
#endif
void diag_add(diag *d, const char *file, int line, int col, const char *hint,
              const char *fmt, ...);
/* Print every item: "file:line:col: error: msg" and "  hint: ..." lines,
 * then an "out of memory" line when problems were dropped. */
void diag_print(const diag *d, FILE *out);
/* First item formatted into buf (for single-error callers). */
void diag_first(const diag *d, char *buf, size_t n);
void diag_free(diag *d);

#endif
