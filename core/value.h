/*
 * core/value.h - values produced on output ports: reference counted,
 * immutable once published, converted lazily between records and table
 * (conversions are cached and thread-safe), persisted and hashed.
 */
#ifndef ASSAY_CORE_VALUE_H
#define ASSAY_CORE_VALUE_H

#include <assay/value.h>

typedef struct value value;

/* New values; they take ownership of `j` / `t` (also on failure). */
value *value_new_json(assay_type type, json_t *j);
value *value_new_table(assay_table *t);
value *value_ref(value *v);
void value_unref(value *v);

/* The type the value was produced as (RECORDS, TABLE or JSON). */
assay_type value_type(const value *v);

/* Views (borrowed while the value lives).  A records view of a table and
 * a table view of records are built on first use; NULL with `err` on a
 * failed conversion or for json values asked as records/table. */
const json_t *value_records(value *v, assay_error *err);
const assay_table *value_table(value *v, assay_error *err);
const json_t *value_json(const value *v);

/* Item count: records length, table rows, 1 for json. */
size_t value_count(const value *v);

/* The SHA-256 of the value's persisted bytes (after value_save or
 * value_load), or of its canonical serialization computed on demand. */
const char *value_hash(value *v);

/* File extension for a type: "jsonl", "atb" or "json". */
const char *value_ext(assay_type type);

/* Persist atomically as <dir>/<port>.<ext>; records the hash. */
int value_save(value *v, const char *dir, const char *port,
               assay_error *err);

/* Load a value persisted by value_save. */
int value_load(const char *path, assay_type type, value **out,
               assay_error *err);

/* Combine several values connected to one multi input: records are
 * concatenated, tables row-concatenated, json values put in an array. */
int value_combine(value *const *vs, size_t n, assay_type want, value **out,
                  assay_error *err);

#endif
