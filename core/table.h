/*
 * core/table.h - the host's implementation of assay_table: construction
 * (behind the host vtable), conversion to and from records, binary
 * serialization for the run directory and the node cache, concatenation.
 */
#ifndef ASSAY_CORE_TABLE_H
#define ASSAY_CORE_TABLE_H

#include <stdio.h>

#include <assay/value.h>

#include "sha256.h"

assay_table *table_new(size_t nrows);
void *table_add_col(assay_table *t, const char *name, assay_col_type type);
int table_set_str(assay_table *t, size_t col, size_t row, const char *s,
                  size_t len);
int table_resize(assay_table *t, size_t nrows);
void table_free(assay_table *t);

/* Records (array of objects) -> new table.  Columns are the union of keys
 * in first-seen order; integers -> int64 (booleans as 0/1), numbers ->
 * float64 (null -> NaN), strings -> string (null -> NULL).  Arrays and
 * objects are refused with the record index and field in `err`. */
int table_from_records(const json_t *records, assay_table **out,
                       assay_error *err);

/* Table -> new records array (NaN and NULL become null). */
json_t *table_to_records(const assay_table *t);

/* Binary form ("ASSAYTB1"); `hash` (may be NULL) is updated with every
 * byte written. */
int table_write(const assay_table *t, FILE *f, sha256_ctx *hash);
int table_read(FILE *f, assay_table **out, assay_error *err);

/* Row-concatenate tables with identical column names and types. */
int table_concat(const assay_table *const *ts, size_t n, assay_table **out,
                 assay_error *err);

/* Deep copy. */
assay_table *table_copy(const assay_table *t);

#endif
