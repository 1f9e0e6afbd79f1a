/*
 * core/ydoc.h - YAML documents as a small tree that keeps the line and
 * column of every node, parsed with libyaml.  Scalars keep their text and
 * whether they were quoted, so typing (null/bool/int/float/string) happens
 * only when a value is converted to JSON.  Supports anchors and aliases
 * (expanded, with a size cap), `${VAR}` / `${VAR:-default}` expansion and
 * `--set path=value` overrides.
 */
#ifndef ASSAY_YDOC_H
#define ASSAY_YDOC_H

#include <jansson.h>
#include <stdbool.h>

#include "diag.h"

typedef enum ykind { Y_SCALAR, Y_SEQ, Y_MAP } ykind;

typedef struct ynode {
    ykind kind;
    int line, col;       /* 1-based position of the node */
    char *value;         /* scalar text */
    bool quoted;         /* quoted or block scalar: always a string */
    size_t n;            /* children */
    char **keys;         /* MAP: keys (scalars) */
    int *key_line, *key_col;
    struct ynode **items; /* MAP values / SEQ items */
} ynode;

/* Parse a file / a buffer (`name` used in messages).  On failure adds a
 * diagnostic and returns non-zero. */
int yaml_load_file(const char *path, ynode **out, diag *d);
int yaml_load_string(const char *text, size_t len, const char *name,
                     ynode **out, diag *d);
void ynode_free(ynode *n);
ynode *ynode_clone(const ynode *n);

/* Child of a mapping by key, or NULL; `idx` (may be NULL) gets its index. */
ynode *ynode_get(const ynode *map, const char *key, size_t *idx);

/* Set (replace or append) a mapping entry; takes ownership of `val`
 * (freed on failure too). */
int ynode_set(ynode *map, const char *key, ynode *val);

/* Scalar -> JSON: plain scalars are typed as YAML 1.2 core schema
 * (null, true/false, integers, floats); quoted ones are strings. */
json_t *ynode_to_json(const ynode *n);

/* Expand ${VAR} and ${VAR:-default} in every scalar; an undefined
 * variable without default is an error at the scalar's position. */
int yaml_expand_env(ynode *root, const char *file, diag *d);

/* Apply an override "a.b.c=value" (value parsed as YAML). */
int yaml_set_path(ynode *root, const char *assignment, diag *d);

/* "mapping", "sequence" or "scalar". */
const char *ynode_kind_name(const ynode *n);

#endif
