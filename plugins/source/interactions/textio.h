/*
 * textio.h - reading delimited text files for source.interactions: whole
 * file loading, line and field splitting (plain delimiters, "::" and
 * RFC 4180 quoting), strict number parsing, Latin-1 to UTF-8 repair and a
 * string-to-dense-id map.  Prefix: tio_.
 */
#ifndef ASSAY_SOURCE_TEXTIO_H
#define ASSAY_SOURCE_TEXTIO_H

#include <assay/plugin.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A loaded file.  Free with tio_file_free. */
typedef struct tio_file {
    char *data;
    size_t len;
    size_t pos;     /* next unread byte */
    size_t line_no; /* 1-based number of the line last returned */
} tio_file;

/* Read all of `path`.  On failure `err` names the path and the reason. */
int tio_file_read(const char *path, tio_file *f, assay_error *err);
void tio_file_free(tio_file *f);

/* The next line (without its "\n" or "\r\n"), or false at the end.  The
 * returned slice points into the file buffer.  Skips nothing. */
bool tio_next_line(tio_file *f, const char **line, size_t *len);

/* A field slice. */
typedef struct tio_field {
    const char *s;
    size_t len;
} tio_field;

/* Field separators. */
typedef enum tio_sep {
    TIO_TAB = 1,    /* '\t' */
    TIO_COMMA = 2,  /* ',' with RFC 4180 quotes */
    TIO_PIPE = 3,   /* '|' */
    TIO_DCOLON = 4, /* "::" (MovieLens 1M/10M) */
    TIO_SPACE = 5   /* runs of spaces or tabs */
} tio_sep;

/*
 * Split `line` into at most `max` fields; returns the number of fields
 * found (which may exceed `max`: the rest are not stored).  Quoted CSV
 * fields are unquoted into `scratch` (at least len bytes), so the slices
 * point either into the line or into scratch.
 */
size_t tio_split(const char *line, size_t len, tio_sep sep, tio_field *out,
                 size_t max, char *scratch);

/* Strict parsers of a whole field (surrounding spaces allowed). */
bool tio_parse_i64(tio_field f, int64_t *out);
bool tio_parse_f64(tio_field f, double *out);

/* True when the bytes are valid UTF-8. */
bool tio_utf8_valid(const char *s, size_t len);

/*
 * A UTF-8 copy of `s`: unchanged when already valid, otherwise each byte
 * read as Latin-1 (MovieLens title files are Latin-1).  *out is malloc'd
 * (caller frees), NUL-terminated, its length in *olen.
 */
int tio_to_utf8(const char *s, size_t len, char **out, size_t *olen);

/* String -> dense id (0, 1, ... in order of first insertion). */
typedef struct tio_map tio_map;

tio_map *tio_map_new(void);
void tio_map_free(tio_map *m);

/* Dense id of `s`, inserting it when new (*id).  ASSAY_ENOMEM on
 * failure. */
int tio_map_get(tio_map *m, const char *s, size_t len, int64_t *id);

/* Dense id of `s` without inserting, or -1. */
int64_t tio_map_find(const tio_map *m, const char *s, size_t len);

/* Number of keys and the key of dense id `id` (borrowed, NUL-terminated). */
size_t tio_map_size(const tio_map *m);
const char *tio_map_key(const tio_map *m, int64_t id);

#endif
