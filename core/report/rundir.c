/*
 * core/report/rundir.c - reading a run directory back (see rundir.h).
 */
#include "rundir.h"

#include <math.h>
#include <stdint.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"
#include "util.h"

static char *dup_or(const char *s, const char *def)
{
    const char *v = s ? s : def;
    return v ? util_strndup(v, strlen(v)) : NULL;
}

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static assay_type type_of(const char *s)
{
    if (!s)
        return 0;
    if (!strcmp(s, "records"))
        return ASSAY_T_RECORDS;
    if (!strcmp(s, "table"))
        return ASSAY_T_TABLE;
    if (!strcmp(s, "json"))
        return ASSAY_T_JSON;
    return 0;
}

static void node_free(rd_node *n)
{
    free(n->name);
    free(n->plugin);
    free(n->version);
    free(n->kind);
    free(n->status);
    free(n->source);
    free(n->error);
    for (size_t i = 0; i < n->nouts; i++) {
        free(n->outs[i].name);
        free(n->outs[i].file);
        free(n->outs[i].chart);
    }
    free(n->outs);
    for (size_t i = 0; i < n->nins; i++) {
        free(n->ins[i].port);
        free(n->ins[i].from_port);
    }
    free(n->ins);
    json_decref(n->record);
}

void rundir_free(rundir *rd)
{
    if (!rd)
        return;
    for (size_t i = 0; i < rd->n; i++)
        node_free(&rd->nodes[i]);
    free(rd->nodes);
    json_decref(rd->manifest);
    free(rd);
}

long rundir_find(const rundir *rd, const char *name)
{
    for (size_t i = 0; name && i < rd->n; i++)
        if (!strcmp(rd->nodes[i].name, name))
            return (long)i;
    return -1;
}

const rd_port *rundir_port(const rd_node *n, const char *port)
{
    for (size_t i = 0; port && i < n->nouts; i++)
        if (!strcmp(n->outs[i].name, port))
            return &n->outs[i];
    return NULL;
}

int rundir_path(const rundir *rd, const rd_node *n, const rd_port *p, char *out,
                size_t outsz)
{
    int k = snprintf(out, outsz, "%s/nodes/%s/%s", rd->path, n->name, p->file);
    return k < 0 || (size_t)k >= outsz ? ASSAY_EINVAL : 0;
}

/* The outputs listed in node.json. */
static int load_outputs(rd_node *n, assay_error *err)
{
    json_t *outs = json_object_get(n->record, "outputs");
    size_t cnt = json_object_size(outs);
    if (!cnt)
        return 0;
    n->outs = calloc(cnt, sizeof *n->outs);
    if (!n->outs)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    const char *k;
    json_t *e;
    json_object_foreach(outs, k, e)
    {
        assay_type t = type_of(jstr(e, "type"));
        const char *file = jstr(e, "file");
        if (!t || !file || strchr(file, '/'))
            continue;
        rd_port *p = &n->outs[n->nouts];
        p->name = dup_or(k, NULL);
        p->file = dup_or(file, NULL);
        const char *chart = jstr(e, "chart");
        p->chart = chart ? dup_or(chart, NULL) : NULL;
        p->type = t;
        json_int_t c = json_integer_value(json_object_get(e, "count"));
        p->count = c > 0 ? (size_t)c : 0;
        n->nouts++;
        if (!p->name || !p->file || (chart && !p->chart))
            return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    return 0;
}

/* Add the edge "port <- ref" where ref is "node.port". */
static int add_edge(rundir *rd, rd_node *n, const char *port, const char *ref,
                    assay_error *err)
{
    if (!ref)
        return 0;
    const char *dot = strrchr(ref, '.');
    char node[256];
    size_t l = dot ? (size_t)(dot - ref) : strlen(ref);
    if (l >= sizeof node)
        return 0;
    memcpy(node, ref, l);
    node[l] = '\0';
    rd_edge *ne = realloc(n->ins, (n->nins + 1) * sizeof *ne);
    if (!ne)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    n->ins = ne;
    rd_edge *e = &n->ins[n->nins];
    e->port = dup_or(port, NULL);
    e->from_port = dup_or(dot ? dot + 1 : "", NULL);
    e->from = rundir_find(rd, node);
    n->nins++;
    if (!e->port || !e->from_port)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    return 0;
}

/* Edges from the resolved config (present for every node, run or not). */
static int load_edges(rundir *rd, rd_node *n, const json_t *cfg_nodes,
                      assay_error *err)
{
    json_t *ins =
        json_object_get(json_object_get(cfg_nodes, n->name), "inputs");
    const char *port;
    json_t *v;
    json_object_foreach(ins, port, v)
    {
        int rc = 0;
        if (json_is_string(v))
            rc = add_edge(rd, n, port, json_string_value(v), err);
        else if (json_is_array(v))
            for (size_t i = 0; !rc && i < json_array_size(v); i++)
                rc = add_edge(rd, n, port,
                              json_string_value(json_array_get(v, i)), err);
        if (rc)
            return rc;
    }
    return 0;
}

int rundir_load(const char *path, rundir **out, assay_error *err)
{
    *out = NULL;
    rundir *rd = calloc(1, sizeof *rd);
    if (!rd)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    int rc = 0;
    snprintf(rd->path, sizeof rd->path, "%s", path);
    size_t l = strlen(rd->path);
    while (l > 1 && rd->path[l - 1] == '/')
        rd->path[--l] = '\0';
    char mp[PATH_MAX + 32];
    snprintf(mp, sizeof mp, "%s/manifest.json", rd->path);
    json_error_t je;
    rd->manifest = json_load_file(mp, 0, &je);
    if (!rd->manifest) {
        rc = assay_error_set(err, ASSAY_EIO, "%s: %s", mp,
                             util_is_file(mp) ? je.text
                                              : "no manifest.json (not a "
                                                "run directory?)");
        goto fail;
    }
    json_t *nodes = json_object_get(rd->manifest, "nodes");
    json_t *plugins = json_object_get(rd->manifest, "plugins");
    size_t cnt = json_object_size(nodes);
    rd->nodes = calloc(cnt ? cnt : 1, sizeof *rd->nodes);
    if (!rd->nodes) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto fail;
    }
    const char *name;
    json_t *nj;
    json_object_foreach(nodes, name, nj)
    {
        rd_node *n = &rd->nodes[rd->n++];
        const char *plugin = jstr(nj, "plugin");
        json_t *pj = json_object_get(plugins, plugin ? plugin : "");
        n->name = dup_or(name, NULL);
        n->plugin = dup_or(plugin, "?");
        n->version = dup_or(jstr(pj, "version"), "?");
        n->kind = dup_or(jstr(pj, "kind"), "?");
        n->status = dup_or(jstr(nj, "status"), "?");
        n->source = dup_or(jstr(nj, "source"), "");
        n->error = jstr(nj, "error") ? dup_or(jstr(nj, "error"), NULL) : NULL;
        json_t *sec = json_object_get(nj, "seconds");
        n->seconds = json_is_number(sec) ? json_number_value(sec) : NAN;
        if (!n->name || !n->plugin || !n->version || !n->kind || !n->status ||
            !n->source) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto fail;
        }
        /* node.json: outputs, options (absent when the node never ran) */
        char np[PATH_MAX + 300];
        snprintf(np, sizeof np, "%s/nodes/%s/node.json", rd->path, name);
        n->record = util_is_file(np) ? json_load_file(np, 0, NULL) : NULL;
        if (n->record) {
            n->options = json_object_get(n->record, "options");
            if ((rc = load_outputs(n, err)))
                goto fail;
        }
    }
    json_t *cfg_nodes =
        json_object_get(json_object_get(rd->manifest, "config"), "nodes");
    for (size_t i = 0; i < rd->n; i++)
        if ((rc = load_edges(rd, &rd->nodes[i], cfg_nodes, err)))
            goto fail;
    *out = rd;
    return 0;
fail:
    rundir_free(rd);
    return rc;
}

int rundir_json(const rundir *rd, const rd_node *n, const rd_port *p,
                json_t **out, assay_error *err)
{
    char path[PATH_MAX + 600];
    *out = NULL;
    if (rundir_path(rd, n, p, path, sizeof path))
        return assay_error_set(err, ASSAY_EINVAL, "path too long");
    json_error_t je;
    *out = json_load_file(path, JSON_DECODE_ANY, &je);
    if (!*out)
        return assay_error_set(err, ASSAY_EDATA, "%s:%d: %s", path, je.line,
                               je.text);
    return 0;
}

/* ---- items --------------------------------------------------------------- */

static int table_head(FILE *f, size_t rows, assay_table **out, size_t *total,
                      assay_error *err);

void rd_items_free(rd_items *it)
{
    if (!it)
        return;
    for (size_t c = 0; c < it->ncols; c++) {
        rd_col *col = &it->cols[c];
        free(col->name);
        free(col->field);
        free(col->member);
        free(col->num);
        size_t ns = col->kind == RD_STR ? it->nrows : it->shown;
        for (size_t r = 0; col->str && r < ns; r++)
            free(col->str[r]);
        free(col->str);
    }
    free(it->cols);
    free(it);
}

const rd_col *rd_items_col(const rd_items *it, const char *name)
{
    for (size_t c = 0; it && c < it->ncols; c++)
        if (!strcmp(it->cols[c].name, name))
            return &it->cols[c];
    return NULL;
}

const char *rd_cell_text(const rd_col *c, size_t row, char *buf, size_t n)
{
    buf[0] = '\0';
    if (c->kind == RD_NUM) {
        double v = c->num[row];
        if (isnan(v))
            return buf;
        if (c->integer && fabs(v) < 1e15)
            snprintf(buf, n, "%.0f", v);
        else
            snprintf(buf, n, "%.6g", v);
        return buf;
    }
    const char *s = c->str ? c->str[row] : NULL;
    return s ? s : buf;
}

static void num_flags(rd_col *c, size_t nrows)
{
    c->binary = c->integer = true;
    for (size_t r = 0; r < nrows; r++) {
        double v = c->num[r];
        if (isnan(v))
            continue;
        if (v != 0 && v != 1)
            c->binary = false;
        if (v != floor(v))
            c->integer = false;
    }
}

static int items_from_table(const assay_table *t, rd_items *it)
{
    it->nrows = t->nrows;
    it->cols = calloc(t->ncols ? t->ncols : 1, sizeof *it->cols);
    if (!it->cols)
        return ASSAY_ENOMEM;
    for (size_t c = 0; c < t->ncols; c++) {
        const assay_column *tc = &t->cols[c];
        rd_col *col = &it->cols[it->ncols++];
        col->name = util_strndup(tc->name, strlen(tc->name));
        if (!col->name)
            return ASSAY_ENOMEM;
        size_t n = t->nrows ? t->nrows : 1;
        if (tc->type == ASSAY_COL_STRING) {
            col->kind = RD_STR;
            col->str = calloc(n, sizeof *col->str);
            if (!col->str)
                return ASSAY_ENOMEM;
            const char *const *s = assay_col_str(tc);
            for (size_t r = 0; r < t->nrows; r++)
                if (s[r] && !(col->str[r] = util_strndup(s[r], strlen(s[r]))))
                    return ASSAY_ENOMEM;
        } else {
            col->kind = RD_NUM;
            col->num = malloc(n * sizeof *col->num);
            if (!col->num)
                return ASSAY_ENOMEM;
            for (size_t r = 0; r < t->nrows; r++)
                col->num[r] = assay_col_num(tc, r);
            num_flags(col, t->nrows);
        }
    }
    return 0;
}

/* Text of a json value for display (strings as is), cut to 200 bytes. */
static char *cell_json(const json_t *v)
{
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t l = strlen(s);
        return util_strndup(s, l > 200 ? 200 : l);
    }
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s && strlen(s) > 200)
        s[200] = '\0';
    return s;
}

/* Whether every member of an object is a scalar (then its members
 * become columns). */
static bool flat_object(const json_t *v)
{
    if (!json_is_object(v) || !json_object_size(v) || json_object_size(v) > 16)
        return false;
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)v, k, x) if (json_is_object(x) ||
                                               json_is_array(x)) return false;
    return true;
}

static rd_col_kind kind_of(const json_t *v)
{
    return json_is_number(v) || json_is_boolean(v) ? RD_NUM
           : json_is_string(v)                     ? RD_STR
           : json_is_null(v) || !v                 ? 0
                                                   : RD_OTHER;
}

/* The column for field[.member], added on first sight. */
static rd_col *col_for(rd_items *it, json_t *names, size_t *cap,
                       const char *field, const char *member)
{
    char name[600];
    snprintf(name, sizeof name, "%s%s%s", field, member ? "." : "",
             member ? member : "");
    json_t *ix = json_object_get(names, name);
    if (ix)
        return &it->cols[json_integer_value(ix)];
    if (it->ncols == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        rd_col *nv = realloc(it->cols, nc * sizeof *nv);
        if (!nv)
            return NULL;
        it->cols = nv;
        *cap = nc;
    }
    rd_col *col = &it->cols[it->ncols];
    memset(col, 0, sizeof *col);
    col->name = util_strndup(name, strlen(name));
    col->field = util_strndup(field, strlen(field));
    col->member = member ? util_strndup(member, strlen(member)) : NULL;
    if (!col->name || !col->field || (member && !col->member) ||
        json_object_set_new(names, name, json_integer((json_int_t)it->ncols))) {
        free(col->name);
        free(col->field);
        free(col->member);
        return NULL;
    }
    it->ncols++;
    return col;
}

static void merge_kind(rd_col *col, rd_col_kind want)
{
    if (!want || col->kind == want)
        return;
    col->kind = col->kind ? RD_OTHER : want;
}

static int items_from_records(const json_t *arr, size_t keep, rd_items *it)
{
    size_t nr = json_array_size(arr);
    it->nrows = nr;
    it->shown = keep < nr ? keep : nr;
    json_t *names = json_object(); /* name -> column index */
    size_t cap = 0;
    int rc = 0;
    if (!names)
        return ASSAY_ENOMEM;
    /* pass 1: columns and their kinds */
    for (size_t r = 0; r < nr; r++) {
        json_t *rec = json_array_get(arr, r);
        const char *k;
        json_t *v;
        json_object_foreach(rec, k, v)
        {
            if (flat_object(v)) {
                const char *k2;
                json_t *v2;
                json_object_foreach(v, k2, v2)
                {
                    rd_col *col = col_for(it, names, &cap, k, k2);
                    if (!col) {
                        rc = ASSAY_ENOMEM;
                        goto out;
                    }
                    merge_kind(col, kind_of(v2));
                }
                continue;
            }
            rd_col *col = col_for(it, names, &cap, k, NULL);
            if (!col) {
                rc = ASSAY_ENOMEM;
                goto out;
            }
            merge_kind(col, kind_of(v));
        }
    }
    /* pass 2: values */
    size_t n = nr ? nr : 1;
    for (size_t c = 0; c < it->ncols; c++) {
        rd_col *col = &it->cols[c];
        if (!col->kind)
            col->kind = RD_OTHER; /* null everywhere */
        if (col->kind == RD_NUM) {
            col->num = malloc(n * sizeof *col->num);
            if (!col->num) {
                rc = ASSAY_ENOMEM;
                goto out;
            }
        } else {
            size_t ns = col->kind == RD_STR ? n : (it->shown ? it->shown : 1);
            col->str = calloc(ns, sizeof *col->str);
            if (!col->str) {
                rc = ASSAY_ENOMEM;
                goto out;
            }
        }
        for (size_t r = 0; r < nr; r++) {
            json_t *v = json_object_get(json_array_get(arr, r), col->field);
            if (col->member)
                v = json_object_get(v, col->member);
            if (col->kind == RD_NUM)
                col->num[r] = json_is_boolean(v)  ? (json_is_true(v) ? 1 : 0)
                              : json_is_number(v) ? json_number_value(v)
                                                  : NAN;
            else if (col->kind == RD_STR) {
                const char *s = json_string_value(v);
                if (s && !(col->str[r] = util_strndup(s, strlen(s)))) {
                    rc = ASSAY_ENOMEM;
                    goto out;
                }
            } else if (r < it->shown && v && !json_is_null(v)) {
                if (!(col->str[r] = cell_json(v))) {
                    rc = ASSAY_ENOMEM;
                    goto out;
                }
            }
        }
        if (col->kind == RD_NUM)
            num_flags(col, nr);
    }
out:
    json_decref(names);
    return rc;
}

int rundir_items(const rundir *rd, const rd_node *n, const rd_port *p,
                 size_t keep_text, rd_items **out, assay_error *err)
{
    char path[PATH_MAX + 600];
    *out = NULL;
    if (p->type != ASSAY_T_RECORDS && p->type != ASSAY_T_TABLE)
        return assay_error_set(err, ASSAY_EINVAL, "%s.%s is not per-item",
                               n->name, p->name);
    if (rundir_path(rd, n, p, path, sizeof path))
        return assay_error_set(err, ASSAY_EINVAL, "path too long");
    rd_items *it = calloc(1, sizeof *it);
    if (!it)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    int rc = 0;
    if (p->type == ASSAY_T_TABLE) {
        FILE *f = fopen(path, "rb");
        assay_table *t = NULL;
        size_t total;
        if (!f) {
            rc = assay_error_set(err, ASSAY_EIO, "%s: cannot open", path);
            goto fail;
        }
        rc = table_head(f, SIZE_MAX, &t, &total, err);
        fclose(f);
        if (rc) {
            assay_error_prefix(err, "%s: ", path);
            goto fail;
        }
        rc = items_from_table(t, it);
        table_free(t);
    } else {
        char *data = NULL;
        size_t len;
        if ((rc = util_read_file(path, &data, &len, err)))
            goto fail;
        json_t *arr = json_array();
        size_t line = 1;
        for (char *q = data; *q && arr;) {
            char *nl = memchr(q, '\n', len - (size_t)(q - data));
            size_t l = nl ? (size_t)(nl - q) : strlen(q);
            if (l) {
                json_error_t je;
                json_t *r = json_loadb(q, l, 0, &je);
                if (!r || json_array_append_new(arr, r)) {
                    json_decref(arr);
                    free(data);
                    rc = assay_error_set(err, ASSAY_EDATA, "%s:%zu: %s", path,
                                         line, r ? "out of memory" : je.text);
                    goto fail;
                }
            }
            line++;
            q = nl ? nl + 1 : q + l;
        }
        free(data);
        if (!arr) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto fail;
        }
        rc = items_from_records(arr, keep_text, it);
        json_decref(arr);
    }
    if (rc) {
        if (!err->text[0] || rc == ASSAY_ENOMEM)
            assay_error_set(err, rc, "out of memory");
        goto fail;
    }
    *out = it;
    return 0;
fail:
    rd_items_free(it);
    return rc;
}

/* ---- summary numbers ----------------------------------------------------- */

bool rd_is_interval(const json_t *j, double *lo, double *hi)
{
    if (!json_is_array(j) || json_array_size(j) != 2 ||
        !json_is_number(json_array_get(j, 0)) ||
        !json_is_number(json_array_get(j, 1)))
        return false;
    *lo = json_number_value(json_array_get(j, 0));
    *hi = json_number_value(json_array_get(j, 1));
    return true;
}

/* Interval given as {low, high} or [lo, hi]. */
static bool any_interval(const json_t *j, double *lo, double *hi)
{
    if (rd_is_interval(j, lo, hi))
        return true;
    json_t *l = json_object_get(j, "low"), *h = json_object_get(j, "high");
    if (json_is_number(l) && json_is_number(h)) {
        *lo = json_number_value(l);
        *hi = json_number_value(h);
        return true;
    }
    return false;
}

const char *rd_object_interval(const json_t *o, double *lo, double *hi)
{
    json_t *l = json_object_get(o, "ci_low"),
           *h = json_object_get(o, "ci_high");
    if (!json_is_number(l) || !json_is_number(h))
        return NULL;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v)
    {
        if (!json_is_real(v) || !strcmp(k, "ci_low") || !strcmp(k, "ci_high"))
            continue;
        *lo = json_number_value(l);
        *hi = json_number_value(h);
        return k;
    }
    return NULL;
}

void rd_nums_free(rd_nums *ns)
{
    free(ns->v);
    ns->v = NULL;
    ns->n = ns->cap = 0;
}

static int push(rd_nums *ns, const char *path, double v, double lo, double hi,
                bool integer)
{
    if (ns->n == ns->cap) {
        size_t cap = ns->cap ? ns->cap * 2 : 32;
        rd_num *nv = realloc(ns->v, cap * sizeof *nv);
        if (!nv)
            return ASSAY_ENOMEM;
        ns->v = nv;
        ns->cap = cap;
    }
    rd_num *x = &ns->v[ns->n++];
    snprintf(x->path, sizeof x->path, "%s", path);
    x->v = v;
    x->lo = lo;
    x->hi = hi;
    x->integer = integer;
    return 0;
}

static bool ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

static int flatten(const json_t *j, const char *prefix, size_t max_array,
                   int depth, rd_nums *out)
{
    char p[512];
    if (depth > 6)
        return 0;
    if (json_is_number(j) || json_is_boolean(j)) {
        double v = json_is_boolean(j) ? (json_is_true(j) ? 1 : 0)
                                      : json_number_value(j);
        return push(out, prefix, v, NAN, NAN, !json_is_real(j));
    }
    if (json_is_object(j)) {
        /* {value: x, ci: [lo, hi], ...}: one number with its interval */
        json_t *val = json_object_get(j, "value");
        double lo = NAN, hi = NAN, olo = NAN, ohi = NAN;
        if (json_is_number(val) && prefix[0]) {
            if (!any_interval(json_object_get(j, "ci"), &lo, &hi)) {
                json_t *l = json_object_get(j, "ci_low"),
                       *h = json_object_get(j, "ci_high");
                if (json_is_number(l) && json_is_number(h)) {
                    lo = json_number_value(l);
                    hi = json_number_value(h);
                }
            }
            return push(out, prefix, json_number_value(val), lo, hi,
                        !json_is_real(val));
        }
        /* {accuracy, ci_low, ci_high}: the interval of the first real */
        const char *owner = rd_object_interval(j, &olo, &ohi);
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)j, k, v)
        {
            if (depth == 0 && !strcmp(k, "report"))
                continue;
            if (ends_with(k, "_ci") || ends_with(k, "_ci_resamples") ||
                !strcmp(k, "ci") ||
                (owner && (!strcmp(k, "ci_low") || !strcmp(k, "ci_high"))))
                continue;
            snprintf(p, sizeof p, "%s%s%s", prefix, prefix[0] ? "." : "", k);
            if (json_is_number(v)) {
                /* sibling interval: <k>_ci, or ci {low, high} for score */
                char ck[300];
                snprintf(ck, sizeof ck, "%s_ci", k);
                lo = hi = NAN;
                if (!any_interval(json_object_get(j, ck), &lo, &hi) &&
                    !strcmp(k, "score"))
                    any_interval(json_object_get(j, "ci"), &lo, &hi);
                if (owner && !strcmp(k, owner)) {
                    lo = olo;
                    hi = ohi;
                }
                if (push(out, p, json_number_value(v), lo, hi,
                         !json_is_real(v)))
                    return ASSAY_ENOMEM;
                continue;
            }
            if (flatten(v, p, max_array, depth + 1, out))
                return ASSAY_ENOMEM;
        }
        return 0;
    }
    if (json_is_array(j) && json_array_size(j) <= max_array) {
        for (size_t i = 0; i < json_array_size(j); i++) {
            snprintf(p, sizeof p, "%s[%zu]", prefix, i);
            if (flatten(json_array_get(j, i), p, max_array, depth + 1, out))
                return ASSAY_ENOMEM;
        }
    }
    return 0;
}

int rd_flatten(const json_t *j, size_t max_array, rd_nums *out)
{
    return flatten(j, "", max_array, 0, out);
}

/* First `rows` rows of a binary table (the layout of core/table.c:
 * magic, rows, columns, per column type/name, then each column: numbers
 * as 8-byte values, strings as a length array then the bytes). */
static int table_head(FILE *f, size_t rows, assay_table **out, size_t *total,
                      assay_error *err)
{
    char magic[8];
    uint64_t nr, nc;
    if (fread(magic, 1, 8, f) != 8 || memcmp(magic, "ASSAYTB1", 8) ||
        fread(&nr, 8, 1, f) != 1 || fread(&nc, 8, 1, f) != 1 || nc > 100000 ||
        nr > ((uint64_t)1 << 40))
        return assay_error_set(err, ASSAY_EDATA, "not an assay table file");
    /* every column stores at least 4 bytes per row: a row count the file
     * cannot hold is corruption, not a reason to allocate */
    struct stat st;
    off_t pos = ftello(f);
    if (nc > 0 && pos >= 0 && fstat(fileno(f), &st) == 0 &&
        S_ISREG(st.st_mode) && st.st_size >= pos &&
        nr > (uint64_t)(st.st_size - pos) / 4)
        return assay_error_set(err, ASSAY_EDATA, "truncated table");
    *total = (size_t)nr;
    size_t k = nr < rows ? (size_t)nr : rows;
    assay_table *t = table_new(k);
    if (!t)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    int rc = 0;
    uint32_t *lens = NULL;
    char *buf = NULL;
    for (uint64_t c = 0; c < nc; c++) {
        uint32_t ty, nl;
        char name[1024];
        if (fread(&ty, 4, 1, f) != 1 || fread(&nl, 4, 1, f) != 1 ||
            nl >= sizeof name || fread(name, 1, nl, f) != nl ||
            ty < ASSAY_COL_INT64 || ty > ASSAY_COL_STRING) {
            rc = assay_error_set(err, ASSAY_EDATA, "corrupt table header");
            goto out;
        }
        name[nl] = '\0';
        /* a repeated name is corruption; any other refusal of
         * table_add_col is a failed allocation */
        if (assay_table_col(t, name)) {
            rc = assay_error_set(err, ASSAY_EDATA,
                                 "corrupt table: column '%s' twice", name);
            goto out;
        }
        if (!table_add_col(t, name, (assay_col_type)ty)) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto out;
        }
    }
    lens = malloc((k ? k : 1) * sizeof *lens);
    if (!lens) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t c = 0; c < t->ncols; c++) {
        assay_column *col = &t->cols[c];
        if (col->type != ASSAY_COL_STRING) {
            if (fread(col->data, 8, k, f) != k ||
                fseeko(f, (off_t)((nr - k) * 8), SEEK_CUR)) {
                rc = assay_error_set(err, ASSAY_EDATA, "truncated table");
                goto out;
            }
            continue;
        }
        /* lengths: the first k kept, the rest only summed to skip */
        uint64_t skip = 0;
        for (uint64_t r = 0; r < nr; r++) {
            uint32_t l;
            if (fread(&l, 4, 1, f) != 1) {
                rc = assay_error_set(err, ASSAY_EDATA, "truncated table");
                goto out;
            }
            if (r < k)
                lens[r] = l;
            else if (l != UINT32_MAX)
                skip += l;
        }
        for (size_t r = 0; r < k; r++) {
            if (lens[r] == UINT32_MAX)
                continue;
            char *nb = realloc(buf, (size_t)lens[r] + 1);
            if (!nb) {
                rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
                goto out;
            }
            buf = nb;
            if (fread(buf, 1, lens[r], f) != lens[r] ||
                table_set_str(t, c, r, buf, lens[r])) {
                rc = assay_error_set(err, ASSAY_EDATA, "truncated table");
                goto out;
            }
        }
        if (skip && fseeko(f, (off_t)skip, SEEK_CUR)) {
            rc = assay_error_set(err, ASSAY_EDATA, "truncated table");
            goto out;
        }
    }
out:
    free(lens);
    free(buf);
    if (rc)
        table_free(t);
    else
        *out = t;
    return rc;
}

int rundir_items_head(const rundir *rd, const rd_node *n, const rd_port *p,
                      size_t rows, rd_items **out, size_t *total,
                      assay_error *err)
{
    char path[PATH_MAX + 600];
    *out = NULL;
    *total = 0;
    if (p->type != ASSAY_T_RECORDS && p->type != ASSAY_T_TABLE)
        return assay_error_set(err, ASSAY_EINVAL, "%s.%s is not per-item",
                               n->name, p->name);
    if (rundir_path(rd, n, p, path, sizeof path))
        return assay_error_set(err, ASSAY_EINVAL, "path too long");
    FILE *f = fopen(path, "rb");
    if (!f)
        return assay_error_set(err, ASSAY_EIO, "%s: cannot open", path);
    rd_items *it = calloc(1, sizeof *it);
    int rc = it ? 0 : assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    if (!rc && p->type == ASSAY_T_TABLE) {
        assay_table *t = NULL;
        rc = table_head(f, rows, &t, total, err);
        if (!rc) {
            rc = items_from_table(t, it);
            table_free(t);
            if (rc)
                assay_error_set(err, rc, "out of memory");
        } else
            assay_error_prefix(err, "%s: ", path);
    } else if (!rc) {
        json_t *arr = json_array();
        char *line = NULL;
        size_t cap = 0, lineno = 0;
        ssize_t len;
        while (arr && json_array_size(arr) < rows &&
               (len = getline(&line, &cap, f)) >= 0) {
            lineno++;
            while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
                len--;
            if (len == 0)
                continue;
            json_error_t je;
            json_t *r = json_loadb(line, (size_t)len, 0, &je);
            if (!r || json_array_append_new(arr, r)) {
                rc = assay_error_set(err, ASSAY_EDATA, "%s:%zu: %s", path,
                                     lineno, r ? "out of memory" : je.text);
                break;
            }
        }
        free(line);
        if (!arr)
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        if (!rc) {
            *total = json_array_size(arr);
            rc = items_from_records(arr, rows, it);
            if (rc)
                assay_error_set(err, rc, "out of memory");
        }
        json_decref(arr);
    }
    fclose(f);
    if (rc) {
        rd_items_free(it);
        return rc;
    }
    *out = it;
    return 0;
}
