/*
 * jc_text.h - small string helpers shared by the judge and reviser
 * plugins: a growable buffer, duplication, UTF-8 length, whole-file
 * reading.  Linked statically into each plugin; no global state.
 */
#ifndef JC_TEXT_H
#define JC_TEXT_H

#include <assay/plugin.h>
#include <stdbool.h>
#include <stddef.h>

/* A growable NUL-terminated byte buffer.  Zero-initialise before use. */
typedef struct jc_buf {
    char *p;
    size_t len, cap;
} jc_buf;

/* Append `n` bytes of `s`; ASSAY_ENOMEM (buffer unchanged) on failure. */
int jc_buf_put(jc_buf *b, const char *s, size_t n);
/* Append a NUL-terminated string. */
int jc_buf_puts(jc_buf *b, const char *s);
/* Append printf-style text. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
int jc_buf_printf(jc_buf *b, const char *fmt, ...);
/* Hand the string over (never NULL on success: an empty buffer gives "");
 * the buffer is reset.  Caller frees with free(). */
int jc_buf_take(jc_buf *b, char **out);
void jc_buf_free(jc_buf *b);

/* strdup that returns NULL for NULL input or on ENOMEM. */
char *jc_strdup(const char *s);

/* The string option `name` of `opts` duplicated into *out (NULL when the
 * option is unset); false only when out of memory. */
bool jc_opt_strdup(const json_t *opts, const char *name, char **out);

/* Number of UTF-8 code points in `s` (malformed bytes count as one). */
size_t jc_utf8_len(const char *s);

/*
 * Read the whole file `path` into a new string (caller frees).
 * ASSAY_EIO with the path in the message when it cannot be read.
 */
int jc_read_file(const char *path, char **out, assay_error *err);

/* True when `s` is NULL or holds only ASCII whitespace. */
bool jc_blank(const char *s);

#endif
