#include "value.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sha256.h"
#include "table.h"
#include "util.h"

struct value {
    atomic_int refs;
    assay_type type;
    json_t *json;        /* RECORDS or JSON, or the records view */
    assay_table *table;  /* TABLE, or the table view */
    pthread_mutex_t lock; /* guards building the views and the hash */
    bool have_hash;
    char hash[65];
};

static value *value_alloc(assay_type type)
{
    value *v = calloc(1, sizeof *v);
    if (!v)
        return NULL;
    atomic_init(&v->refs, 1);
    v->type = type;
    pthread_mutex_init(&v->lock, NULL);
    return v;
}

value *value_new_json(assay_type type, json_t *j)
{
    value *v = j ? value_alloc(type) : NULL;
    if (!v) {
        json_decref(j);
        return NULL;
    }
    v->json = j;
    return v;
}

value *value_new_table(assay_table *t)
{
    value *v = t ? value_alloc(ASSAY_T_TABLE) : NULL;
    if (!v) {
        table_free(t);
        return NULL;
    }
    v->table = t;
    return v;
}

value *value_ref(value *v)
{
    if (v)
        atomic_fetch_add(&v->refs, 1);
    return v;
}

void value_unref(value *v)
{
    if (!v || atomic_fetch_sub(&v->refs, 1) != 1)
        return;
    json_decref(v->json);
    table_free(v->table);
    pthread_mutex_destroy(&v->lock);
    free(v);
}

assay_type value_type(const value *v)
{
    return v->type;
}

const json_t *value_records(value *v, assay_error *err)
{
    if (v->type == ASSAY_T_JSON) {
        assay_error_set(err, ASSAY_EDATA, "a json value is not records");
        return NULL;
    }
    pthread_mutex_lock(&v->lock);
    if (!v->json && v->table) {
        v->json = table_to_records(v->table);
        if (!v->json)
            assay_error_set(err, ASSAY_ENOMEM,
                            "out of memory converting a table to records");
    }
    const json_t *j = v->json;
    pthread_mutex_unlock(&v->lock);
    return j;
}

const assay_table *value_table(value *v, assay_error *err)
{
    if (v->type == ASSAY_T_JSON) {
        assay_error_set(err, ASSAY_EDATA, "a json value is not a table");
        return NULL;
    }
    pthread_mutex_lock(&v->lock);
    if (!v->table && v->json) {
        assay_table *t = NULL;
        if (table_from_records(v->json, &t, err) == 0)
            v->table = t;
    }
    const assay_table *t = v->table;
    pthread_mutex_unlock(&v->lock);
    return t;
}

const json_t *value_json(const value *v)
{
    return v->type == ASSAY_T_JSON ? v->json : NULL;
}

size_t value_count(const value *v)
{
    if (v->type == ASSAY_T_TABLE)
        return v->table->nrows;
    if (v->type == ASSAY_T_RECORDS)
        return json_array_size(v->json);
    return 1;
}

const char *value_ext(assay_type type)
{
    return type == ASSAY_T_TABLE ? "atb"
           : type == ASSAY_T_RECORDS ? "jsonl"
                                      : "json";
}

/* Serialise to `f` (may be NULL: hash only), updating `h`. */
static int serialise(value *v, FILE *f, sha256_ctx *h)
{
    if (v->type == ASSAY_T_TABLE) {
        if (f)
            return table_write(v->table, f, h);
        FILE *null = fopen("/dev/null", "wb");
        if (!null)
            return ASSAY_EIO;
        int rc = table_write(v->table, null, h);
        fclose(null);
        return rc;
    }
    size_t flags = JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17);
    if (v->type == ASSAY_T_JSON) {
        char *s = json_dumps(v->json, JSON_INDENT(2) | JSON_ENCODE_ANY |
                                          JSON_REAL_PRECISION(17));
        if (!s)
            return ASSAY_ENOMEM;
        size_t n = strlen(s);
        int rc = 0;
        if (f && (fwrite(s, 1, n, f) != n || fputc('\n', f) == EOF))
            rc = ASSAY_EIO;
        sha256_update(h, s, n);
        sha256_update(h, "\n", 1);
        free(s);
        return rc;
    }
    size_t n = json_array_size(v->json);
    for (size_t i = 0; i < n; i++) {
        char *s = json_dumps(json_array_get(v->json, i), flags);
        if (!s)
            return ASSAY_ENOMEM;
        size_t len = strlen(s);
        int bad = f && (fwrite(s, 1, len, f) != len || fputc('\n', f) == EOF);
        sha256_update(h, s, len);
        sha256_update(h, "\n", 1);
        free(s);
        if (bad)
            return ASSAY_EIO;
    }
    return 0;
}

const char *value_hash(value *v)
{
    pthread_mutex_lock(&v->lock);
    if (!v->have_hash) {
        sha256_ctx h;
        sha256_init(&h);
        if (serialise(v, NULL, &h) == 0) {
            sha256_final_hex(&h, v->hash);
            v->have_hash = true;
        }
    }
    pthread_mutex_unlock(&v->lock);
    return v->have_hash ? v->hash : "";
}

int value_save(value *v, const char *dir, const char *port,
               assay_error *err)
{
    char path[PATH_MAX], tmp[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/%s.%s", dir, port,
                     value_ext(v->type));
    int m = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof path || m < 0 ||
        (size_t)m >= sizeof tmp)
        return assay_error_set(err, ASSAY_EINVAL, "path too long");
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return assay_error_set(err, ASSAY_EIO, "%s: cannot create", tmp);
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    sha256_ctx h;
    sha256_init(&h);
    int rc = serialise(v, f, &h);
    /* no fsync: rename keeps the file whole across a crash of the process
     * (kill -9), which is what --resume needs; the manifest is durable */
    if (fflush(f) != 0)
        rc = rc ? rc : ASSAY_EIO;
    if (fclose(f) != 0)
        rc = rc ? rc : ASSAY_EIO;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = ASSAY_EIO;
    if (rc) {
        unlink(tmp);
        return assay_error_set(err, rc, "%s: cannot write output (%s)", path,
                               assay_strerror(rc));
    }
    pthread_mutex_lock(&v->lock);
    sha256_final_hex(&h, v->hash);
    v->have_hash = true;
    pthread_mutex_unlock(&v->lock);
    return 0;
}

int value_load(const char *path, assay_type type, value **out,
               assay_error *err)
{
    if (type == ASSAY_T_TABLE) {
        FILE *f = fopen(path, "rb");
        if (!f)
            return assay_error_set(err, ASSAY_EIO, "%s: cannot open", path);
        assay_table *t = NULL;
        int rc = table_read(f, &t, err);
        fclose(f);
        if (rc) {
            assay_error_prefix(err, "%s: ", path);
            return rc;
        }
        *out = value_new_table(t);
    } else if (type == ASSAY_T_JSON) {
        json_error_t je;
        json_t *j = json_load_file(path, JSON_DECODE_ANY, &je);
        if (!j)
            return assay_error_set(err, ASSAY_EDATA, "%s:%d: %s", path,
                                   je.line, je.text);
        *out = value_new_json(ASSAY_T_JSON, j);
    } else {
        char *data;
        size_t len;
        int rc = util_read_file(path, &data, &len, err);
        if (rc)
            return rc;
        json_t *arr = json_array();
        size_t line = 1;
        for (char *p = data; *p && arr;) {
            char *nl = strchr(p, '\n');
            size_t l = nl ? (size_t)(nl - p) : strlen(p);
            if (l) {
                json_error_t je;
                json_t *r = json_loadb(p, l, 0, &je);
                if (!r) {
                    json_decref(arr);
                    free(data);
                    return assay_error_set(err, ASSAY_EDATA, "%s:%zu: %s",
                                           path, line, je.text);
                }
                json_array_append_new(arr, r);
            }
            line++;
            p = nl ? nl + 1 : p + l;
        }
        free(data);
        if (!arr)
            return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        *out = value_new_json(ASSAY_T_RECORDS, arr);
    }
    if (!*out)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    char hex[65];
    if (sha256_file_hex(path, hex) == 0) {
        memcpy((*out)->hash, hex, 65);
        (*out)->have_hash = true;
    }
    return 0;
}

int value_combine(value *const *vs, size_t n, assay_type want, value **out,
                  assay_error *err)
{
    if (want == ASSAY_T_JSON || want == ASSAY_T_ANY) {
        json_t *arr = json_array();
        for (size_t i = 0; arr && i < n; i++) {
            json_t *item;
            if (vs[i]->type == ASSAY_T_JSON)
                item = json_incref(vs[i]->json);
            else {
                const json_t *r = value_records(vs[i], err);
                if (!r) {
                    json_decref(arr);
                    return err ? err->code : ASSAY_EDATA;
                }
                item = json_incref((json_t *)r);
            }
            json_array_append_new(arr, item);
        }
        *out = value_new_json(ASSAY_T_JSON, arr);
        return *out ? 0 : assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    if (want == ASSAY_T_TABLE) {
        const assay_table **ts = calloc(n ? n : 1, sizeof *ts);
        if (!ts)
            return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        int rc = 0;
        for (size_t i = 0; i < n && !rc; i++)
            if (!(ts[i] = value_table(vs[i], err)))
                rc = err ? err->code : ASSAY_EDATA;
        assay_table *t = NULL;
        if (!rc)
            rc = table_concat(ts, n, &t, err);
        free(ts);
        if (rc)
            return rc;
        *out = value_new_table(t);
        return *out ? 0 : assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        const json_t *r = value_records(vs[i], err);
        if (!r) {
            json_decref(arr);
            return err ? err->code : ASSAY_EDATA;
        }
        json_array_extend(arr, (json_t *)r);
    }
    *out = value_new_json(ASSAY_T_RECORDS, arr);
    return *out ? 0 : assay_error_set(err, ASSAY_ENOMEM, "out of memory");
}
