/*
 * assay/value.h - the values that travel on ports.
 *
 * Three kinds of value exist:
 *   records  a jansson array of objects (json_t *), for items, verdicts,
 *            judgments, dialogs;
 *   table    a columnar table (struct assay_table below) with int64,
 *            float64 and string columns of one length, for interactions,
 *            scores, embeddings and fit data at millions of rows;
 *   json     any JSON value (metric summaries, fitted parameters).
 *
 * Values handed to a plugin as inputs are immutable and borrowed for the
 * duration of run(): several nodes may read the same value at once, so a
 * plugin must never modify an input (copy it with json_copy() /
 * json_deep_copy() first).  Tables are created and filled through the host
 * vtable (assay/host.h) and read directly through the structs below, so
 * inner loops cost no function call.
 *
 * The record helpers at the end read typed fields and produce uniform
 * error messages ("record 12: field 'score': expected a number, got
 * string"); the host adds the node name in front.
 */
#ifndef ASSAY_VALUE_H
#define ASSAY_VALUE_H

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Value types of ports.  ASSAY_T_ANY accepts whatever is connected. */
typedef enum assay_type {
    ASSAY_T_RECORDS = 1,
    ASSAY_T_TABLE = 2,
    ASSAY_T_JSON = 3,
    ASSAY_T_ANY = 4
} assay_type;

/* Column element types of a table. */
typedef enum assay_col_type {
    ASSAY_COL_INT64 = 1,
    ASSAY_COL_FLOAT64 = 2,
    ASSAY_COL_STRING = 3
} assay_col_type;

/*
 * One column.  `data` points at `nrows` elements: int64_t for INT64,
 * double for FLOAT64 (NaN marks a missing value), and `const char *` for
 * STRING (NULL marks a missing value; strings are UTF-8 and owned by the
 * table).  Use the typed accessors below rather than casting by hand.
 */
typedef struct assay_column {
    const char *name;
    assay_col_type type;
    void *data;
} assay_column;

/*
 * A table: `ncols` columns of `nrows` rows each.  Owned by the host once
 * it is set on an output port; read-only for every consumer.
 */
typedef struct assay_table {
    size_t nrows;
    size_t ncols;
    assay_column *cols;
} assay_table;

/* Column by name, or NULL. */
static inline const assay_column *assay_table_col(const assay_table *t,
                                                  const char *name)
{
    for (size_t i = 0; t && i < t->ncols; i++)
        if (strcmp(t->cols[i].name, name) == 0)
            return &t->cols[i];
    return NULL;
}

static inline const int64_t *assay_col_i64(const assay_column *c)
{
    return c && c->type == ASSAY_COL_INT64 ? (const int64_t *)c->data : NULL;
}

static inline const double *assay_col_f64(const assay_column *c)
{
    return c && c->type == ASSAY_COL_FLOAT64 ? (const double *)c->data
                                              : NULL;
}

static inline const char *const *assay_col_str(const assay_column *c)
{
    return c && c->type == ASSAY_COL_STRING ? (const char *const *)c->data
                                             : NULL;
}

/* Numeric value of row `r` of an INT64 or FLOAT64 column, NaN otherwise. */
static inline double assay_col_num(const assay_column *c, size_t r)
{
    if (c->type == ASSAY_COL_FLOAT64)
        return ((const double *)c->data)[r];
    if (c->type == ASSAY_COL_INT64)
        return (double)((const int64_t *)c->data)[r];
    return NAN;
}

/*
 * Find a column by name and require a type class, filling `err` with a
 * message naming the column when it is missing or of the wrong type.
 * `want` is ASSAY_COL_INT64, ASSAY_COL_FLOAT64 (which also accepts INT64:
 * read it with assay_col_num) or ASSAY_COL_STRING.
 */
static inline int assay_table_need(const assay_table *t, const char *name,
                                   assay_col_type want,
                                   const assay_column **out, assay_error *err)
{
    const assay_column *c = assay_table_col(t, name);
    static const char *const tn[] = {"?", "int64", "float64", "string"};
    if (!c)
        return assay_error_set(err, ASSAY_EDATA,
                               "table has no column '%s'", name);
    bool ok = c->type == want ||
              (want == ASSAY_COL_FLOAT64 && c->type == ASSAY_COL_INT64);
    if (!ok)
        return assay_error_set(err, ASSAY_EDATA,
                               "column '%s': expected %s, got %s", name,
                               tn[want], tn[c->type]);
    *out = c;
    return ASSAY_OK;
}

/* ---- record helpers ---------------------------------------------------- */

static inline const char *assay__json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

/*
 * Required string field `field` of record number `idx` in a records array.
 * On success *out is borrowed from the record.
 */
static inline int assay_rec_str(const json_t *rec, size_t idx,
                                const char *field, const char **out,
                                assay_error *err)
{
    *out = NULL;
    json_t *v = json_is_object(rec) ? json_object_get(rec, field) : NULL;
    if (!json_is_object(rec))
        return assay_error_set(err, ASSAY_EDATA,
                               "record %zu: expected an object, got %s", idx,
                               assay__json_type_name(rec));
    if (!v)
        return assay_error_set(err, ASSAY_EDATA,
                               "record %zu: missing field '%s'", idx, field);
    if (!json_is_string(v))
        return assay_error_set(err, ASSAY_EDATA,
                               "record %zu: field '%s': expected a string, "
                               "got %s",
                               idx, field, assay__json_type_name(v));
    *out = json_string_value(v);
    return ASSAY_OK;
}

/*
 * Required finite number field.  Integers and reals are accepted; a string
 * that holds a number is not (data should be typed at the source).
 */
static inline int assay_rec_num(const json_t *rec, size_t idx,
                                const char *field, double *out,
                                assay_error *err)
{
    *out = NAN;
    json_t *v = json_is_object(rec) ? json_object_get(rec, field) : NULL;
    if (!json_is_object(rec))
        return assay_error_set(err, ASSAY_EDATA,
                               "record %zu: expected an object, got %s", idx,
                               assay__json_type_name(rec));
    if (!v)
        return assay_error_set(err, ASSAY_EDATA,
                               "record %zu: missing field '%s'", idx, field);
    if (!json_is_number(v))
        return assay_error_set(err, ASSAY_EDATA,
                               "record %zu: field '%s': expected a number, "
                               "got %s",
                               idx, field, assay__json_type_name(v));
    double d = json_number_value(v);
    if (!isfinite(d))
        return assay_error_set(err, ASSAY_EDATA,
                               "record %zu: field '%s': not a finite number",
                               idx, field);
    *out = d;
    return ASSAY_OK;
}

/* Required field of any type (borrowed). */
static inline int assay_rec_get(const json_t *rec, size_t idx,
                                const char *field, json_t **out,
                                assay_error *err)
{
    *out = NULL;
    json_t *v = json_is_object(rec) ? json_object_get(rec, field) : NULL;
    if (!json_is_object(rec))
        return assay_error_set(err, ASSAY_EDATA,
                               "record %zu: expected an object, got %s", idx,
                               assay__json_type_name(rec));
    if (!v)
        return assay_error_set(err, ASSAY_EDATA,
                               "record %zu: missing field '%s'", idx, field);
    *out = v;
    return ASSAY_OK;
}

/* ---- option helpers ------------------------------------------------------
 * The host validates options against the plugin's schema and fills in
 * defaults before create(), so a declared option with a default is always
 * present with the declared type; these accessors need no error path.
 */

static inline int64_t assay_opt_int(const json_t *opts, const char *name)
{
    return json_integer_value(json_object_get(opts, name));
}

static inline double assay_opt_num(const json_t *opts, const char *name)
{
    return json_number_value(json_object_get(opts, name));
}

static inline bool assay_opt_bool(const json_t *opts, const char *name)
{
    return json_is_true(json_object_get(opts, name));
}

/* String option or NULL when absent/null (borrowed from `opts`). */
static inline const char *assay_opt_str(const json_t *opts, const char *name)
{
    return json_string_value(json_object_get(opts, name));
}

#ifdef __cplusplus
}
#endif
#endif /* ASSAY_VALUE_H */
