/*
 * output.c - per-item value tables.
 */
#include "statcommon.h"

#include <stdlib.h>
#include <string.h>

int sc_table_keyed(const assay_host *h, const char *key_name,
                   const sc_keys *k, const size_t *krow, size_t nrows,
                   const char *const *names, size_t ncols,
                   const double *vals, size_t stride, assay_table **out,
                   assay_error *err)
{
    *out = NULL;
    assay_table *t = h->table_new(nrows);
    if (!t)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    if (!h->table_add_col(t, key_name,
                          k->is_str ? ASSAY_COL_STRING : ASSAY_COL_INT64))
        goto fail_col;
    for (size_t j = 0; j < ncols; j++)
        if (!h->table_add_col(t, names[j], ASSAY_COL_FLOAT64))
            goto fail_col;
    if (k->is_str) {
        for (size_t i = 0; i < nrows; i++) {
            const char *s = k->s[krow[i]];
            if (h->table_set_str(t, 0, i, s, strlen(s)) != 0) {
                h->table_free(t);
                return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            }
        }
    } else {
        int64_t *kd = t->cols[0].data;
        for (size_t i = 0; i < nrows; i++)
            kd[i] = k->i[krow[i]];
    }
    for (size_t j = 0; j < ncols; j++) {
        double *d = t->cols[j + 1].data;
        for (size_t i = 0; i < nrows; i++)
            d[i] = vals[i * stride + j];
    }
    *out = t;
    return ASSAY_OK;
fail_col:
    h->table_free(t);
    return assay_error_set(err, ASSAY_EINVAL,
                           "cannot add output column (duplicate name or out "
                           "of memory)");
}
