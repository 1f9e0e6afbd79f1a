/*
 * input.c - records-or-table inputs, numeric fields and id columns.
 */
#include "statcommon.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void sc_error_port(assay_error *err, const char *port)
{
    if (!err)
        return;
    char head[160];
    int w = snprintf(head, sizeof head, "input '%s': ", port);
    if (w < 0)
        return;
    size_t hl = (size_t)w < sizeof head ? (size_t)w : sizeof head - 1;
    size_t tl = strnlen(err->text, sizeof err->text - 1);
    if (hl + tl > sizeof err->text - 1)
        tl = sizeof err->text - 1 - hl;
    memmove(err->text + hl, err->text, tl);
    memcpy(err->text, head, hl);
    err->text[hl + tl] = '\0';
}

void sc_input_from_records(sc_input *in, const char *port, const json_t *recs)
{
    memset(in, 0, sizeof *in);
    in->port = port;
    in->recs = recs;
    in->n = json_array_size(recs);
}

void sc_input_from_table(sc_input *in, const char *port,
                         const assay_table *t)
{
    memset(in, 0, sizeof *in);
    in->port = port;
    in->tab = t;
    in->n = t ? t->nrows : 0;
}

int sc_input_get(const assay_host *h, assay_io *io, const char *port,
                 bool required, sc_input *in, assay_error *err)
{
    memset(in, 0, sizeof *in);
    in->port = port;
    assay_type t = h->in_type(io, port);
    if (t == ASSAY_T_TABLE) {
        sc_input_from_table(in, port, h->in_table(io, port));
        if (!in->tab)
            return assay_error_set(err, ASSAY_EINTERNAL,
                                   "input '%s': no table delivered", port);
        return ASSAY_OK;
    }
    if (t == ASSAY_T_RECORDS || t == ASSAY_T_JSON || t == ASSAY_T_ANY) {
        const json_t *v = t == ASSAY_T_RECORDS ? h->in_records(io, port)
                                               : h->in_json(io, port);
        if (!json_is_array(v))
            return assay_error_set(err, ASSAY_EDATA,
                                   "input '%s': expected records (an array "
                                   "of objects)",
                                   port);
        sc_input_from_records(in, port, v);
        return ASSAY_OK;
    }
    if (required)
        return assay_error_set(err, ASSAY_EINVAL,
                               "input '%s' is not connected", port);
    return ASSAY_OK;
}

bool sc_input_has(const sc_input *in, const char *field)
{
    if (in->tab)
        return assay_table_col(in->tab, field) != NULL;
    if (in->recs && json_array_size(in->recs) > 0)
        return json_object_get(json_array_get(in->recs, 0), field) != NULL;
    return false;
}

int sc_input_nums(const sc_input *in, const char *field, bool allow_bool,
                  double *out, assay_error *err)
{
    if (in->tab) {
        const assay_column *c = NULL;
        int rc = assay_table_need(in->tab, field, ASSAY_COL_FLOAT64, &c, err);
        if (rc) {
            sc_error_port(err, in->port);
            return rc;
        }
        for (size_t r = 0; r < in->n; r++) {
            double v = assay_col_num(c, r);
            if (!isfinite(v))
                return assay_error_set(err, ASSAY_EDATA,
                                       "input '%s': row %zu: column '%s': "
                                       "not a finite number",
                                       in->port, r, field);
            out[r] = v;
        }
        return ASSAY_OK;
    }
    for (size_t r = 0; r < in->n; r++) {
        const json_t *rec = json_array_get(in->recs, r);
        json_t *v = json_is_object(rec) ? json_object_get(rec, field) : NULL;
        if (allow_bool && json_is_boolean(v)) {
            out[r] = json_is_true(v) ? 1.0 : 0.0;
            continue;
        }
        int rc = assay_rec_num(rec, r, field, &out[r], err);
        if (rc) {
            sc_error_port(err, in->port);
            return rc;
        }
    }
    return ASSAY_OK;
}

int sc_input_nums_view(const sc_input *in, const char *field,
                       const double **out, double **owned, assay_error *err)
{
    *out = NULL;
    *owned = NULL;
    if (in->tab) {
        const assay_column *c = assay_table_col(in->tab, field);
        const double *d = assay_col_f64(c);
        if (d) {
            for (size_t r = 0; r < in->n; r++)
                if (!isfinite(d[r]))
                    return assay_error_set(err, ASSAY_EDATA,
                                           "input '%s': row %zu: column "
                                           "'%s': not a finite number",
                                           in->port, r, field);
            *out = d;
            return ASSAY_OK;
        }
    }
    double *v = malloc((in->n ? in->n : 1) * sizeof *v);
    if (!v)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    int rc = sc_input_nums(in, field, false, v, err);
    if (rc) {
        free(v);
        return rc;
    }
    *out = v;
    *owned = v;
    return ASSAY_OK;
}

/* Format integer keys as decimal strings into one owned arena. */
static int keys_format_ints(sc_keys *k, const int64_t *iv, assay_error *err)
{
    size_t n = k->n;
    char *arena = malloc(n * 21 + 1);
    const char **sv = malloc((n ? n : 1) * sizeof *sv);
    if (!arena || !sv) {
        free(arena);
        free(sv);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    size_t off = 0;
    for (size_t r = 0; r < n; r++) {
        int w = snprintf(arena + off, 21, "%" PRId64, iv[r]);
        sv[r] = arena + off;
        off += (size_t)w + 1;
    }
    free(k->own_i);
    k->own_i = NULL;
    k->i = NULL;
    free(k->own_s);
    free(k->arena);
    k->own_s = sv;
    k->arena = arena;
    k->s = sv;
    k->is_str = true;
    return ASSAY_OK;
}

int sc_keys_to_str(sc_keys *k, assay_error *err)
{
    if (k->is_str)
        return ASSAY_OK;
    return keys_format_ints(k, k->i, err);
}

void sc_keys_free(sc_keys *k)
{
    free(k->own_i);
    free(k->own_s);
    free(k->arena);
    memset(k, 0, sizeof *k);
}

/* An integral double that fits int64 exactly. */
static bool num_is_int(double v, int64_t *out)
{
    if (!isfinite(v) || v != floor(v) || fabs(v) > 9.007199254740992e15)
        return false;
    *out = (int64_t)v;
    return true;
}

static int keys_from_table(const sc_input *in, const char *field, sc_keys *k,
                           assay_error *err)
{
    const assay_column *c = assay_table_col(in->tab, field);
    if (!c)
        return assay_error_set(err, ASSAY_EDATA,
                               "input '%s': table has no column '%s'",
                               in->port, field);
    k->n = in->n;
    if (c->type == ASSAY_COL_INT64) {
        k->i = assay_col_i64(c);
        return ASSAY_OK;
    }
    if (c->type == ASSAY_COL_STRING) {
        const char *const *s = assay_col_str(c);
        for (size_t r = 0; r < in->n; r++)
            if (!s[r])
                return assay_error_set(err, ASSAY_EDATA,
                                       "input '%s': row %zu: column '%s': "
                                       "missing value",
                                       in->port, r, field);
        k->is_str = true;
        k->s = s;
        return ASSAY_OK;
    }
    /* float64 ids: accepted when every value is integral */
    k->own_i = malloc((in->n ? in->n : 1) * sizeof *k->own_i);
    if (!k->own_i)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    const double *d = assay_col_f64(c);
    for (size_t r = 0; r < in->n; r++)
        if (!num_is_int(d[r], &k->own_i[r]))
            return assay_error_set(err, ASSAY_EDATA,
                                   "input '%s': row %zu: column '%s': not "
                                   "an integer or string id",
                                   in->port, r, field);
    k->i = k->own_i;
    return ASSAY_OK;
}

static int keys_from_records(const sc_input *in, const char *field,
                             sc_keys *k, assay_error *err)
{
    size_t n = in->n, nstr = 0;
    k->n = n;
    k->own_i = malloc((n ? n : 1) * sizeof *k->own_i);
    k->own_s = malloc((n ? n : 1) * sizeof *k->own_s);
    if (!k->own_i || !k->own_s)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    for (size_t r = 0; r < n; r++) {
        json_t *v;
        int rc = assay_rec_get(json_array_get(in->recs, r), r, field, &v,
                               err);
        if (rc) {
            sc_error_port(err, in->port);
            return rc;
        }
        k->own_s[r] = NULL;
        if (json_is_string(v)) {
            k->own_s[r] = json_string_value(v);
            nstr++;
        } else if (!json_is_number(v) ||
                   !num_is_int(json_number_value(v), &k->own_i[r])) {
            return assay_error_set(err, ASSAY_EDATA,
                                   "input '%s': record %zu: field '%s': "
                                   "expected an integer or string id, got "
                                   "%s",
                                   in->port, r, field,
                                   assay__json_type_name(v));
        }
    }
    if (nstr == 0) {
        free(k->own_s);
        k->own_s = NULL;
        k->i = k->own_i;
        return ASSAY_OK;
    }
    if (nstr == n) {
        free(k->own_i);
        k->own_i = NULL;
        k->is_str = true;
        k->s = k->own_s;
        return ASSAY_OK;
    }
    /* mixed: format the integers, keep the strings */
    size_t nint = n - nstr;
    char *arena = malloc(nint * 21 + 1);
    if (!arena)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    size_t off = 0;
    for (size_t r = 0; r < n; r++) {
        if (k->own_s[r])
            continue;
        int w = snprintf(arena + off, 21, "%" PRId64, k->own_i[r]);
        k->own_s[r] = arena + off;
        off += (size_t)w + 1;
    }
    free(k->own_i);
    k->own_i = NULL;
    k->arena = arena;
    k->is_str = true;
    k->s = k->own_s;
    return ASSAY_OK;
}

int sc_input_keys(const sc_input *in, const char *field, sc_keys *k,
                  assay_error *err)
{
    memset(k, 0, sizeof *k);
    int rc = in->tab ? keys_from_table(in, field, k, err)
                     : keys_from_records(in, field, k, err);
    if (rc)
        sc_keys_free(k);
    return rc;
}

json_t *sc_keys_json(const sc_keys *k, size_t r)
{
    return k->is_str ? json_string(k->s[r]) : json_integer(k->i[r]);
}

json_t *sc_json_num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

int sc_json_set(json_t *obj, const char *key, json_t *v, assay_error *err)
{
    if (!v || json_object_set_new(obj, key, v) != 0)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    return ASSAY_OK;
}

int sc_opt_int_list(const json_t *opts, const char *name, int64_t min,
                    int64_t **out, size_t *n, assay_error *err)
{
    const json_t *a = json_object_get(opts, name);
    *out = NULL;
    *n = 0;
    if (!a || json_is_null(a))
        return ASSAY_OK;
    if (json_is_integer(a)) {
        *out = malloc(sizeof **out);
        if (!*out)
            return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        (*out)[0] = json_integer_value(a);
        *n = 1;
    } else if (json_is_array(a)) {
        size_t m = json_array_size(a);
        *out = malloc((m ? m : 1) * sizeof **out);
        if (!*out)
            return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        for (size_t i = 0; i < m; i++) {
            const json_t *v = json_array_get(a, i);
            if (!json_is_integer(v)) {
                free(*out);
                *out = NULL;
                return assay_error_set(err, ASSAY_EINVAL,
                                       "option '%s': element %zu is not an "
                                       "integer",
                                       name, i);
            }
            (*out)[i] = json_integer_value(v);
        }
        *n = m;
    } else {
        return assay_error_set(err, ASSAY_EINVAL,
                               "option '%s': expected a list of integers",
                               name);
    }
    for (size_t i = 0; i < *n; i++)
        if ((*out)[i] < min) {
            int64_t bad = (*out)[i];
            free(*out);
            *out = NULL;
            *n = 0;
            return assay_error_set(err, ASSAY_EINVAL,
                                   "option '%s': %" PRId64
                                   " is below the minimum %" PRId64,
                                   name, bad, min);
        }
    return ASSAY_OK;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void sc_sort_doubles(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
}

double sc_quantile_sorted(const double *s, size_t n, double q)
{
    if (n == 0)
        return NAN;
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)floor(pos);
    if (lo >= n - 1)
        return s[n - 1];
    double frac = pos - (double)lo;
    return s[lo] + (s[lo + 1] - s[lo]) * frac;
}
