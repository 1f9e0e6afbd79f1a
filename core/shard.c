#include "shard.h"

#include <stdlib.h>
#include <string.h>

#include "sha256.h"
#include "table.h"

static bool is_source(const gnode *n)
{
    return n->ninputs == 0 || strcmp(n->plugin->desc.kind, "source") == 0;
}

static bool item_outputs_only(const gnode *n)
{
    for (const assay_port *p = n->plugin->desc.outputs; p && p->name; p++)
        if (p->type != ASSAY_T_RECORDS && p->type != ASSAY_T_TABLE)
            return false;
    return n->noutputs > 0;
}

int shard_plan_build(const graph *g, shard_plan *p, assay_error *err)
{
    p->n = g->n;
    p->in_shards = calloc(g->n ? g->n : 1, sizeof *p->in_shards);
    p->partition = calloc(g->n ? g->n : 1, sizeof *p->partition);
    p->origin = malloc((g->n ? g->n : 1) * sizeof *p->origin);
    if (!p->in_shards || !p->partition || !p->origin) {
        shard_plan_free(p);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    for (size_t k = 0; k < g->n; k++) {
        size_t i = g->order[k];
        const gnode *n = &g->nodes[i];
        p->origin[i] = -1;
        if (is_source(n)) {
            bool split = item_outputs_only(n) &&
                         !(n->plugin->desc.flags & ASSAY_F_SIDE_EFFECTS);
            p->partition[i] = split;
            p->in_shards[i] = split;
            p->origin[i] = split ? (long)i : -1;
            continue;
        }
        if (!(n->plugin->desc.flags & ASSAY_F_PER_ITEM) ||
            (n->plugin->desc.flags & ASSAY_F_ALL_ITEMS))
            continue;
        long origin = -1;
        bool ok = true;
        for (size_t j = 0; j < n->ninputs && ok; j++)
            for (size_t r = 0; r < n->inputs[j].nrefs && ok; r++) {
                size_t up = n->inputs[j].refs[r].node;
                if (!p->in_shards[up] ||
                    (origin >= 0 && p->origin[up] != origin))
                    ok = false;
                else
                    origin = p->origin[up];
            }
        if (ok && origin >= 0) {
            p->in_shards[i] = true;
            p->origin[i] = origin;
        }
    }
    return 0;
}

void shard_plan_free(shard_plan *p)
{
    free(p->in_shards);
    free(p->partition);
    free(p->origin);
    memset(p, 0, sizeof *p);
}

bool shard_parse(const char *s, unsigned *index, unsigned *count)
{
    char *end;
    unsigned long i = strtoul(s, &end, 10);
    if (end == s || *end != '/')
        return false;
    const char *c = end + 1;
    unsigned long n = strtoul(c, &end, 10);
    if (end == c || *end || n == 0 || n > 100000 || i >= n)
        return false;
    *index = (unsigned)i;
    *count = (unsigned)n;
    return true;
}

/* Canonical text of an item's key (malloc'd). */
static char *record_key(const json_t *rec, const char *field)
{
    const json_t *k = field ? json_object_get(rec, field) : NULL;
    return json_dumps(k ? k : rec,
                      JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

static char *row_key(const assay_table *t, const assay_column *col,
                     size_t r)
{
    char buf[64];
    if (!col) {
        /* no key column: the whole row, as records would hash it */
        json_t *o = json_object();
        for (size_t c = 0; o && c < t->ncols; c++) {
            const assay_column *cc = &t->cols[c];
            json_t *v = cc->type == ASSAY_COL_INT64
                            ? json_integer(assay_col_i64(cc)[r])
                        : cc->type == ASSAY_COL_FLOAT64
                            ? json_real(assay_col_f64(cc)[r])
                        : assay_col_str(cc)[r]
                            ? json_string(assay_col_str(cc)[r])
                            : json_null();
            json_object_set_new(o, cc->name, v ? v : json_null());
        }
        char *s = o ? record_key(o, NULL) : NULL;
        json_decref(o);
        return s;
    }
    if (col->type == ASSAY_COL_INT64) {
        snprintf(buf, sizeof buf, "%lld", (long long)assay_col_i64(col)[r]);
        return strdup(buf);
    }
    if (col->type == ASSAY_COL_FLOAT64) {
        json_t *v = json_real(assay_col_f64(col)[r]);
        char *s = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT)
                    : strdup("null");
        json_decref(v);
        return s;
    }
    const char *s = assay_col_str(col)[r];
    json_t *v = s ? json_string(s) : json_null();
    char *out = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    json_decref(v);
    return out;
}

static unsigned bucket(const char *key, unsigned count)
{
    uint8_t d[32];
    sha256(key, strlen(key), d);
    uint64_t h = 0;
    for (int i = 0; i < 8; i++)
        h = h << 8 | d[i];
    return (unsigned)(h % count);
}

int shard_partition(value *v, const char *key_field, unsigned index,
                    unsigned count, value **out, assay_error *err)
{
    if (value_type(v) == ASSAY_T_TABLE) {
        const assay_table *t = value_table(v, err);
        if (!t)
            return ASSAY_EDATA;
        const assay_column *kc = key_field ? assay_table_col(t, key_field)
                                           : NULL;
        size_t keep = 0;
        unsigned char *in = calloc(t->nrows ? t->nrows : 1, 1);
        if (!in)
            return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        for (size_t r = 0; r < t->nrows; r++) {
            char *k = row_key(t, kc, r);
            if (!k) {
                free(in);
                return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            }
            in[r] = bucket(k, count) == index;
            keep += in[r];
            free(k);
        }
        assay_table *nt = table_new(keep);
        int rc = nt ? 0 : ASSAY_ENOMEM;
        for (size_t c = 0; !rc && c < t->ncols; c++) {
            const assay_column *src = &t->cols[c];
            char *dst = table_add_col(nt, src->name, src->type);
            if (!dst) {
                rc = ASSAY_ENOMEM;
                break;
            }
            size_t w = 0;
            for (size_t r = 0; r < t->nrows && !rc; r++) {
                if (!in[r])
                    continue;
                if (src->type == ASSAY_COL_STRING) {
                    const char *s = assay_col_str(src)[r];
                    if (s && table_set_str(nt, c, w, s, strlen(s)))
                        rc = ASSAY_ENOMEM;
                } else
                    memcpy(dst + w * 8, (const char *)src->data + r * 8, 8);
                w++;
            }
        }
        free(in);
        if (rc) {
            table_free(nt);
            return assay_error_set(err, rc, "out of memory");
        }
        *out = value_new_table(nt);
        return *out ? 0 : assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    const json_t *recs = value_records(v, err);
    if (!recs)
        return ASSAY_EDATA;
    json_t *part = json_array();
    for (size_t i = 0; part && i < json_array_size(recs); i++) {
        const json_t *rec = json_array_get(recs, i);
        char *k = record_key(rec, key_field);
        if (!k) {
            json_decref(part);
            return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        }
        if (bucket(k, count) == index)
            json_array_append(part, (json_t *)rec);
        free(k);
    }
    *out = value_new_json(ASSAY_T_RECORDS, part);
    return *out ? 0 : assay_error_set(err, ASSAY_ENOMEM, "out of memory");
}

typedef struct slot {
    size_t pos;   /* position of the key in the order source */
    size_t seq;   /* position in shard-order concatenation */
} slot;

static int cmp_slot(const void *a, const void *b)
{
    const slot *x = a, *y = b;
    if (x->pos != y->pos)
        return x->pos < y->pos ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int shard_merge(value *const *parts, size_t n, const char *key_field,
                value *order, value **out, assay_error *err)
{
    value *cat = NULL;
    assay_type t = n ? value_type(parts[0]) : ASSAY_T_RECORDS;
    int rc = value_combine(parts, n, t == ASSAY_T_TABLE ? ASSAY_T_TABLE
                                                        : ASSAY_T_RECORDS,
                           &cat, err);
    if (rc)
        return rc;
    if (!order || !key_field) {
        *out = cat;
        return 0;
    }
    /* key -> first position in the unsharded source */
    const json_t *src = value_records(order, err);
    const json_t *items = value_records(cat, err);
    if (!src || !items) {
        value_unref(cat);
        return ASSAY_EDATA;
    }
    json_t *pos = json_object();
    for (size_t i = 0; pos && i < json_array_size(src); i++) {
        const json_t *k = json_object_get(json_array_get(src, i), key_field);
        if (!k)
            continue;
        char *ks = json_dumps(k, JSON_COMPACT | JSON_SORT_KEYS |
                                     JSON_ENCODE_ANY);
        if (ks && !json_object_get(pos, ks))
            json_object_set_new(pos, ks, json_integer((json_int_t)i));
        free(ks);
    }
    size_t m = json_array_size(items);
    slot *slots = malloc((m ? m : 1) * sizeof *slots);
    if (!pos || !slots) {
        json_decref(pos);
        free(slots);
        value_unref(cat);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < m; i++) {
        const json_t *k = json_object_get(json_array_get(items, i),
                                          key_field);
        char *ks = k ? json_dumps(k, JSON_COMPACT | JSON_SORT_KEYS |
                                         JSON_ENCODE_ANY)
                     : NULL;
        json_t *p = ks ? json_object_get(pos, ks) : NULL;
        free(ks);
        slots[i].pos = p ? (size_t)json_integer_value(p) : (size_t)-1;
        slots[i].seq = i;
    }
    qsort(slots, m, sizeof *slots, cmp_slot);
    json_decref(pos);
    if (t == ASSAY_T_TABLE) {
        /* reorder rows through a records round trip keeps the code small;
         * tables of per-item nodes are modest after sharding */
        json_t *arr = json_array();
        for (size_t i = 0; arr && i < m; i++)
            json_array_append(arr, json_array_get(items, slots[i].seq));
        assay_table *nt = NULL;
        rc = arr ? table_from_records(arr, &nt, err) : ASSAY_ENOMEM;
        json_decref(arr);
        free(slots);
        value_unref(cat);
        if (rc)
            return rc;
        *out = value_new_table(nt);
        return *out ? 0 : assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < m; i++)
        json_array_append(arr, json_array_get(items, slots[i].seq));
    free(slots);
    value_unref(cat);
    *out = value_new_json(ASSAY_T_RECORDS, arr);
    return *out ? 0 : assay_error_set(err, ASSAY_ENOMEM, "out of memory");
}
