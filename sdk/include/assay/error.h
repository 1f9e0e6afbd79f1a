/*
 * assay/error.h - error codes and the caller-owned error buffer.
 *
 * Every fallible SDK function and plugin callback returns an int: 0 on
 * success or one of the negative ASSAY_E* codes below.  The human-readable
 * reason goes into a struct assay_error owned by the caller, filled at the
 * failure site with what went wrong and where (record index, field name,
 * file and line).  The host prefixes the node name when it reports it.
 */
#ifndef ASSAY_ERROR_H
#define ASSAY_ERROR_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes.  Stable values: they appear in manifests and exit paths. */
enum {
    ASSAY_OK = 0,
    ASSAY_EINVAL = -1,    /* bad option, bad argument or bad configuration */
    ASSAY_ENOMEM = -2,    /* an allocation failed */
    ASSAY_EIO = -3,       /* a file could not be read or written */
    ASSAY_EDATA = -4,     /* input data is malformed (missing field, NaN) */
    ASSAY_ECANCELED = -5, /* the run was cancelled (Ctrl-C, budget, fail) */
    ASSAY_ELLM = -6,      /* the LLM service failed for this request */
    ASSAY_EBUDGET = -7,   /* the run-wide LLM budget is exhausted */
    ASSAY_ENOTSUP = -8,   /* the host or plugin lacks this capability */
    ASSAY_EABI = -9,      /* ABI mismatch between host and plugin */
    ASSAY_EINTERNAL = -10, /* a bug: an invariant was violated */
    ASSAY_ETIMEOUT = -11   /* a time limit was reached */
};

/* Size of the message buffer in struct assay_error. */
#define ASSAY_ERROR_TEXT 1024

/*
 * Caller-owned error description.  `code` repeats the returned code;
 * `text` is a NUL-terminated, single-paragraph message.
 */
typedef struct assay_error {
    int code;
    char text[ASSAY_ERROR_TEXT];
} assay_error;

/*
 * Fill `err` (may be NULL) with `code` and a printf-style message and
 * return `code`, so that a failure site reads
 *     return assay_error_set(err, ASSAY_EDATA, "record %zu: ...", i);
 */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static inline int assay_error_set(assay_error *err, int code, const char *fmt,
                                  ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->text, sizeof err->text, fmt, ap);
        va_end(ap);
    }
    return code;
}

/*
 * Prefix an existing message with context ("record 3: " + old text), so
 * that callers up the stack can say where without losing what.
 */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static inline void assay_error_prefix(assay_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    char head[256], old[ASSAY_ERROR_TEXT];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    memcpy(old, err->text, sizeof old);
    old[sizeof old - 1] = '\0';
    size_t hl = strlen(head), ol = strlen(old);
    if (hl > sizeof err->text - 1)
        hl = sizeof err->text - 1;
    if (ol > sizeof err->text - 1 - hl)
        ol = sizeof err->text - 1 - hl;
    memcpy(err->text, head, hl);
    memcpy(err->text + hl, old, ol);
    err->text[hl + ol] = '\0';
}

/* A short stable name for an error code ("EINVAL" ...), never NULL. */
static inline const char *assay_strerror(int code)
{
    switch (code) {
    case ASSAY_OK: return "ok";
    case ASSAY_EINVAL: return "invalid argument";
    case ASSAY_ENOMEM: return "out of memory";
    case ASSAY_EIO: return "i/o error";
    case ASSAY_EDATA: return "bad data";
    case ASSAY_ECANCELED: return "cancelled";
    case ASSAY_ELLM: return "llm request failed";
    case ASSAY_EBUDGET: return "budget exhausted";
    case ASSAY_ENOTSUP: return "not supported";
    case ASSAY_EABI: return "abi mismatch";
    case ASSAY_EINTERNAL: return "internal error";
    case ASSAY_ETIMEOUT: return "timed out";
    default: return "unknown error";
    }
}

#ifdef __cplusplus
}
#endif
#endif /* ASSAY_ERROR_H */
