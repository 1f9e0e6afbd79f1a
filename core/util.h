/*
 * core/util.h - small shared helpers of the host: a growable string
 * buffer, files (read whole, atomic write, mkdir -p), paths, edit distance
 * for did-you-mean hints, and clocks.
 */
#ifndef ASSAY_UTIL_H
#define ASSAY_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <assay/error.h>

/* Growable NUL-terminated buffer.  Zero-initialise; free with sb_free. */
typedef struct strbuf {
    char *buf;
    size_t len, cap;
    bool oom; /* an append failed: contents are truncated */
} strbuf;

int sb_append(strbuf *sb, const char *s, size_t n);
int sb_puts(strbuf *sb, const char *s);
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
int sb_printf(strbuf *sb, const char *fmt, ...);
/* Take the buffer (caller frees); leaves sb empty.  Never NULL unless OOM. */
char *sb_steal(strbuf *sb);
void sb_free(strbuf *sb);

/* Duplicate `n` bytes as a NUL-terminated string (NULL on ENOMEM). */
char *util_strndup(const char *s, size_t n);

/* Read a whole file (NUL-terminated; *len excludes the NUL).  Caller frees. */
int util_read_file(const char *path, char **data, size_t *len,
                   assay_error *err);

/* Write `len` bytes to `path` atomically: temp file in the same
 * directory, fsync, rename. */
int util_write_atomic(const char *path, const void *data, size_t len,
                      assay_error *err);

/* mkdir -p (mode 0755). */
int util_mkdirs(const char *path, assay_error *err);

/* Remove a directory tree (best effort; returns 0 or -errno). */
int util_rmtree(const char *path);

/* Join two path parts into `out` ("a" + "b" -> "a/b"; an absolute `b` is
 * returned as is).  Fails when it does not fit. */
int util_path_join(char *out, size_t outsz, const char *a, const char *b);

/* Directory part of `path` into `out` ("." when none). */
void util_dirname(const char *path, char *out, size_t outsz);

/* Absolute, normalised form of an existing path into `out` (realpath). */
int util_realpath(const char *path, char *out, size_t outsz);

bool util_is_dir(const char *path);
bool util_is_file(const char *path);

/* Levenshtein distance, capped at `cap` (returns cap when larger). */
size_t util_edit_distance(const char *a, const char *b, size_t cap);

/* The candidate closest to `name` (NULL if none is close enough). */
const char *util_did_you_mean(const char *name, const char *const *cands,
                              size_t n);

/* Monotonic clock in seconds; wall clock as ISO-8601 UTC into out[32]. */
double util_now(void);
void util_iso_time(char out[32]);

/* Strict integer / double parse of a whole string. */
bool util_parse_i64(const char *s, int64_t *out);
bool util_parse_double(const char *s, double *out);

/* Number of online CPUs (>= 1). */
unsigned util_ncpus(void);

/* Peak resident set size of this process in KiB. */
long util_peak_rss_kib(void);

#endif
