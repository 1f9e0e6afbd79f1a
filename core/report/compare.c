/*
 * core/report/compare.c - `assay runs compare A B` (see compare.h).
 */
#include "report/compare.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"
#include "report/rundir.h"
#include "report/stats.h"
#include "report/summary.h"
#include "report/svg.h"
#include "store.h"
#include "util.h"

#define MAX_ITEM_COLS 12   /* tested columns per per-item output */
#define MAX_IDS_KEPT 200   /* regressions listed per column */
#define MAX_DROPS 10       /* largest score drops listed per column */
#define BOOT_WORK 40000000 /* resamples x items per column, at most */
#define ITEMS_MAX 2000000  /* per-item outputs larger than this: skipped */

typedef struct mdiff {
    char output[300];
    rd_num a, b;
    bool has_a, has_b;
} mdiff;

typedef struct drop {
    char *id;
    double a, b;
} drop;

typedef struct itest {
    char output[300];
    char column[128];
    char idcol[128];
    size_t n;
    bool binary;
    size_t right_right, wrong_wrong, regress, improve;
    double p_exact, p_chi2, chi2;
    rstats_boot boot;
    char **ids; /* regressions (binary) */
    size_t nids;
    drop drops[MAX_DROPS]; /* largest decreases (scores) */
    size_t ndrops;
} itest;

typedef struct cdiff {
    char path[512];
    char *a, *b; /* compact JSON text, NULL when absent */
} cdiff;

typedef struct cmp {
    rundir *a, *b;
    mdiff *m;
    size_t nm, capm;
    itest *t;
    size_t nt, capt;
    cdiff *c;
    size_t nc, capc;
    strbuf notes;     /* lines about what could not be compared */
    size_t identical; /* per-item columns equal on every paired item */
    const compare_opts *o;
} cmp;

static void cmp_free(cmp *c)
{
    for (size_t i = 0; i < c->nt; i++) {
        for (size_t k = 0; k < c->t[i].nids; k++)
            free(c->t[i].ids[k]);
        free(c->t[i].ids);
        for (size_t k = 0; k < c->t[i].ndrops; k++)
            free(c->t[i].drops[k].id);
    }
    for (size_t i = 0; i < c->nc; i++) {
        free(c->c[i].a);
        free(c->c[i].b);
    }
    free(c->m);
    free(c->t);
    free(c->c);
    sb_free(&c->notes);
    rundir_free(c->a);
    rundir_free(c->b);
}

/* ---- json outputs -------------------------------------------------------- */

static const rd_num *find_num(const rd_nums *ns, const char *path)
{
    for (size_t i = 0; i < ns->n; i++)
        if (!strcmp(ns->v[i].path, path))
            return &ns->v[i];
    return NULL;
}

static bool setting_like(const char *path)
{
    const char *l = strrchr(path, '.');
    l = l ? l + 1 : path;
    size_t n = strlen(l);
    return !strcmp(l, "bootstrap") || !strcmp(l, "ci") || !strcmp(l, "level") ||
           !strcmp(l, "resamples") || !strcmp(l, "threads") ||
           (n >= 7 && !strcmp(l + n - 7, "seconds")) ||
           (n >= 3 && !strcmp(l + n - 3, "_ms"));
}

static int json_diffs(cmp *c, const rd_node *na, const rd_port *pa,
                      const rd_node *nb, const rd_port *pb)
{
    json_t *ja = NULL, *jb = NULL;
    assay_error e = {0};
    int rc = 0;
    if (rundir_json(c->a, na, pa, &ja, &e) ||
        rundir_json(c->b, nb, pb, &jb, &e)) {
        sb_printf(&c->notes, "%s.%s: %s\n", na->name, pa->name, e.text);
        goto out;
    }
    rd_nums xa = {0}, xb = {0};
    if (rd_flatten(ja, 0, &xa) || rd_flatten(jb, 0, &xb)) {
        rd_nums_free(&xa);
        rd_nums_free(&xb);
        rc = ASSAY_ENOMEM;
        goto out;
    }
    for (int side = 0; side < 2 && !rc; side++) {
        const rd_nums *from = side ? &xb : &xa, *other = side ? &xa : &xb;
        for (size_t i = 0; i < from->n; i++) {
            const rd_num *x = &from->v[i];
            const rd_num *y = find_num(other, x->path);
            if (setting_like(x->path) || (side == 1 && y))
                continue; /* pairs were added from A's side */
            if (x->integer && y && y->v == x->v)
                continue; /* unchanged counts */
            if (c->nm == c->capm) {
                size_t nc = c->capm ? c->capm * 2 : 32;
                mdiff *nv = realloc(c->m, nc * sizeof *nv);
                if (!nv) {
                    rc = ASSAY_ENOMEM;
                    break;
                }
                c->m = nv;
                c->capm = nc;
            }
            mdiff *d = &c->m[c->nm++];
            memset(d, 0, sizeof *d);
            snprintf(d->output, sizeof d->output, "%s.%s", na->name, pa->name);
            if (side == 0) {
                d->a = *x;
                d->has_a = true;
                if (y) {
                    d->b = *y;
                    d->has_b = true;
                }
            } else {
                d->b = *x;
                d->has_b = true;
            }
        }
    }
    rd_nums_free(&xa);
    rd_nums_free(&xb);
out:
    json_decref(ja);
    json_decref(jb);
    return rc;
}

/* ---- per-item outputs ---------------------------------------------------- */

static const char *const ID_COLS[] = {"id",    "qid",        "query", "item_id",
                                      "index", "user",       "group", "pair_id",
                                      "uid",   "question_id"};

static bool idish(const char *name)
{
    for (size_t i = 0; i < sizeof ID_COLS / sizeof *ID_COLS; i++)
        if (!strcmp(name, ID_COLS[i]))
            return true;
    size_t l = strlen(name);
    return !strcmp(name, "item") || !strcmp(name, "n") ||
           !strcmp(name, "label") || !strcmp(name, "timestamp") ||
           (l > 3 && !strcmp(name + l - 3, "_id"));
}

/* Text key of a cell for matching (NULL when missing). */
static const char *key_text(const rd_col *col, size_t r, char *buf, size_t n)
{
    if (col->kind == RD_STR)
        return col->str[r];
    if (col->kind != RD_NUM || isnan(col->num[r]))
        return NULL;
    snprintf(buf, n, "%.17g", col->num[r]);
    return buf;
}

/* Map key -> row of `col`; NULL when a key repeats or is missing. */
static json_t *key_map(const rd_items *it, const rd_col *col)
{
    json_t *m = json_object();
    char b[64];
    for (size_t r = 0; m && r < it->nrows; r++) {
        const char *k = key_text(col, r, b, sizeof b);
        if (!k || json_object_get(m, k) ||
            json_object_set_new(m, k, json_integer((json_int_t)r))) {
            json_decref(m);
            return NULL;
        }
    }
    return m;
}

/* Pair the rows of A and B: by a shared unique id column, else by
 * position when the row counts agree.  *ia / *ib get the matched rows
 * (caller frees), *m their number, idcol the column used. */
static int pair_rows(const rd_items *a, const rd_items *b, size_t **ia,
                     size_t **ib, size_t *m, const rd_col **ida, char *idcol,
                     size_t idsz)
{
    *ia = *ib = NULL;
    *m = 0;
    *ida = NULL;
    for (size_t k = 0; k < sizeof ID_COLS / sizeof *ID_COLS; k++) {
        const rd_col *ca = rd_items_col(a, ID_COLS[k]),
                     *cb = rd_items_col(b, ID_COLS[k]);
        if (!ca || !cb || ca->kind == RD_OTHER || ca->kind != cb->kind ||
            (ca->kind == RD_NUM && (!ca->integer || !cb->integer)))
            continue;
        json_t *mb = key_map(b, cb);
        json_t *ma = mb ? key_map(a, ca) : NULL;
        json_decref(ma);
        if (!ma) {
            json_decref(mb);
            continue; /* repeated ids: not an item key */
        }
        *ia = malloc((a->nrows ? a->nrows : 1) * sizeof **ia);
        *ib = malloc((a->nrows ? a->nrows : 1) * sizeof **ib);
        if (!*ia || !*ib) {
            json_decref(mb);
            free(*ia);
            free(*ib);
            *ia = *ib = NULL;
            return ASSAY_ENOMEM;
        }
        char buf[64];
        for (size_t r = 0; r < a->nrows; r++) {
            const char *key = key_text(ca, r, buf, sizeof buf);
            json_t *x = key ? json_object_get(mb, key) : NULL;
            if (!x)
                continue;
            (*ia)[*m] = r;
            (*ib)[*m] = (size_t)json_integer_value(x);
            (*m)++;
        }
        json_decref(mb);
        *ida = ca;
        snprintf(idcol, idsz, "%s", ID_COLS[k]);
        return 0;
    }
    if (a->nrows != b->nrows || !a->nrows)
        return ASSAY_EINVAL;
    *ia = malloc(a->nrows * sizeof **ia);
    *ib = malloc(a->nrows * sizeof **ib);
    if (!*ia || !*ib) {
        free(*ia);
        free(*ib);
        *ia = *ib = NULL;
        return ASSAY_ENOMEM;
    }
    for (size_t r = 0; r < a->nrows; r++)
        (*ia)[r] = (*ib)[r] = r;
    *m = a->nrows;
    snprintf(idcol, idsz, "(row order)");
    return 0;
}

static char *row_id(const rd_col *ida, size_t r)
{
    char b[64];
    const char *k = ida ? key_text(ida, r, b, sizeof b) : NULL;
    if (!k) {
        snprintf(b, sizeof b, "row %zu", r);
        k = b;
    }
    return util_strndup(k, strlen(k));
}

static int test_column(cmp *c, itest *t, const rd_col *ca, const rd_col *cb,
                       const size_t *ia, const size_t *ib, size_t m,
                       const rd_col *ida)
{
    double *xa = malloc((m ? m : 1) * sizeof *xa);
    double *xb = malloc((m ? m : 1) * sizeof *xb);
    size_t *row = malloc((m ? m : 1) * sizeof *row);
    int rc = 0;
    if (!xa || !xb || !row) {
        rc = ASSAY_ENOMEM;
        goto out;
    }
    size_t n = 0;
    for (size_t k = 0; k < m; k++) {
        double va = ca->num[ia[k]], vb = cb->num[ib[k]];
        if (isnan(va) || isnan(vb))
            continue;
        xa[n] = va;
        xb[n] = vb;
        row[n++] = ia[k];
    }
    t->n = n;
    t->binary = ca->binary && cb->binary;
    if (n == 0)
        goto out;
    if (t->binary) {
        for (size_t k = 0; k < n; k++) {
            bool ra = xa[k] != 0, rb = xb[k] != 0;
            t->right_right += ra && rb;
            t->wrong_wrong += !ra && !rb;
            t->improve += !ra && rb;
            if (ra && !rb) {
                t->regress++;
                if (t->nids < MAX_IDS_KEPT) {
                    if (!t->ids &&
                        !(t->ids = calloc(MAX_IDS_KEPT, sizeof *t->ids))) {
                        rc = ASSAY_ENOMEM;
                        goto out;
                    }
                    if (!(t->ids[t->nids] = row_id(ida, row[k]))) {
                        rc = ASSAY_ENOMEM;
                        goto out;
                    }
                    t->nids++;
                }
            }
        }
        t->p_exact = rstats_mcnemar_exact(t->regress, t->improve);
        t->p_chi2 = rstats_mcnemar_chi2(t->regress, t->improve, &t->chi2);
    }
    /* the paired bootstrap for every column (for 0/1 columns it gives the
     * interval of the accuracy difference) */
    unsigned B = c->o->bootstrap;
    if (B && (double)B * (double)n > BOOT_WORK)
        B = (unsigned)(BOOT_WORK / n) > 200 ? (unsigned)(BOOT_WORK / n) : 200;
    if (B) {
        rc = rstats_paired_bootstrap(xa, xb, n, B, c->o->seed, c->o->alpha,
                                     &t->boot);
        if (rc == ASSAY_EINVAL)
            rc = 0;
        if (rc)
            goto out;
    } else {
        double sa = 0, sb = 0;
        for (size_t k = 0; k < n; k++) {
            sa += xa[k];
            sb += xb[k];
        }
        t->boot.mean_a = sa / (double)n;
        t->boot.mean_b = sb / (double)n;
        t->boot.diff = (sb - sa) / (double)n;
        t->boot.lo = t->boot.hi = t->boot.p = NAN;
    }
    if (!t->binary) {
        /* the largest decreases */
        for (size_t k = 0; k < n; k++) {
            double d = xb[k] - xa[k];
            if (!(d < 0))
                continue;
            size_t pos = t->ndrops;
            while (pos > 0 && d < t->drops[pos - 1].b - t->drops[pos - 1].a)
                pos--;
            if (pos >= MAX_DROPS)
                continue;
            if (t->ndrops == MAX_DROPS)
                free(t->drops[--t->ndrops].id);
            memmove(&t->drops[pos + 1], &t->drops[pos],
                    (t->ndrops - pos) * sizeof *t->drops);
            t->drops[pos].a = xa[k];
            t->drops[pos].b = xb[k];
            t->drops[pos].id = row_id(ida, row[k]);
            t->ndrops++;
            if (!t->drops[pos].id) {
                rc = ASSAY_ENOMEM;
                goto out;
            }
        }
    }
out:
    free(xa);
    free(xb);
    free(row);
    return rc;
}

static int item_tests(cmp *c, const rd_node *na, const rd_port *pa,
                      const rd_node *nb, const rd_port *pb)
{
    if (pa->count == 0 || pb->count == 0)
        return 0;
    if (pa->count > ITEMS_MAX || pb->count > ITEMS_MAX) {
        sb_printf(&c->notes, "%s.%s: %zu items, too many to pair here\n",
                  na->name, pa->name, pa->count);
        return c->notes.oom ? ASSAY_ENOMEM : 0;
    }
    rd_items *a = NULL, *b = NULL;
    assay_error e = {0};
    int rc = 0;
    size_t *ia = NULL, *ib = NULL, m = 0;
    if ((rc = rundir_items(c->a, na, pa, 0, &a, &e)) ||
        (rc = rundir_items(c->b, nb, pb, 0, &b, &e))) {
        if (rc == ASSAY_ENOMEM)
            goto out;
        rc = 0;
        sb_printf(&c->notes, "%s.%s: %s\n", na->name, pa->name, e.text);
        goto out;
    }
    char idcol[128];
    const rd_col *ida = NULL;
    rc = pair_rows(a, b, &ia, &ib, &m, &ida, idcol, sizeof idcol);
    if (rc == ASSAY_EINVAL) {
        rc = 0;
        sb_printf(&c->notes,
                  "%s.%s: no id column both runs share and different "
                  "item counts (%zu vs %zu): not paired\n",
                  na->name, pa->name, a->nrows, b->nrows);
        goto out;
    }
    if (rc)
        goto out;
    size_t tested = 0;
    for (size_t k = 0; k < a->ncols && tested < MAX_ITEM_COLS && !rc; k++) {
        const rd_col *ca = &a->cols[k];
        const rd_col *cb = rd_items_col(b, ca->name);
        if (ca->kind != RD_NUM || !cb || cb->kind != RD_NUM ||
            idish(ca->name) || !strcmp(ca->name, idcol))
            continue;
        if (c->nt == c->capt) {
            size_t ncap = c->capt ? c->capt * 2 : 16;
            itest *nv = realloc(c->t, ncap * sizeof *nv);
            if (!nv) {
                rc = ASSAY_ENOMEM;
                break;
            }
            c->t = nv;
            c->capt = ncap;
        }
        bool same = true;
        for (size_t q = 0; q < m && same; q++) {
            double x = ca->num[ia[q]], y = cb->num[ib[q]];
            same = x == y || (isnan(x) && isnan(y));
        }
        if (same) {
            c->identical++;
            continue;
        }
        itest *t = &c->t[c->nt++];
        memset(t, 0, sizeof *t);
        snprintf(t->output, sizeof t->output, "%s.%s", na->name, pa->name);
        snprintf(t->column, sizeof t->column, "%s", ca->name);
        snprintf(t->idcol, sizeof t->idcol, "%s", idcol);
        rc = test_column(c, t, ca, cb, ia, ib, m, ida);
        tested++;
    }
    if (m < a->nrows || m < b->nrows)
        sb_printf(&c->notes,
                  "%s.%s: %zu items paired by %s (%zu in A, "
                  "%zu in B)\n",
                  na->name, pa->name, m, idcol, a->nrows, b->nrows);
out:
    free(ia);
    free(ib);
    rd_items_free(a);
    rd_items_free(b);
    return rc ? rc : c->notes.oom ? ASSAY_ENOMEM : 0;
}

/* ---- configuration
 * ----------------------------------------------------------- */

static int flat_config(const json_t *j, const char *prefix, json_t *map,
                       int depth)
{
    char p[512];
    if (json_is_object(j) && depth < 12 && json_object_size(j)) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)j, k, v)
        {
            snprintf(p, sizeof p, "%s%s%s", prefix, prefix[0] ? "." : "", k);
            if (flat_config(v, p, map, depth + 1))
                return ASSAY_ENOMEM;
        }
        return 0;
    }
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
    if (!s || json_object_set_new(map, prefix, json_string(s))) {
        free(s);
        return ASSAY_ENOMEM;
    }
    free(s);
    return 0;
}

/* The parts of a manifest that define what was run. */
static json_t *run_identity(const json_t *m)
{
    json_t *id = json_object();
    if (!id)
        return NULL;
    json_object_set(id, "config", json_object_get(m, "config"));
    json_object_set(id, "sets", json_object_get(m, "sets"));
    json_object_set(id, "assay_version", json_object_get(m, "assay_version"));
    const char *k;
    json_t *v;
    json_t *pl = json_object();
    json_object_foreach(json_object_get(m, "plugins"), k, v)
    {
        json_t *e = json_object();
        json_object_set(e, "version", json_object_get(v, "version"));
        json_object_set(e, "sha256", json_object_get(v, "sha256"));
        json_object_set_new(pl, k, e);
    }
    json_object_set_new(id, "plugins", pl);
    return id;
}

static int config_diffs(cmp *c)
{
    json_t *ia = run_identity(c->a->manifest),
           *ib = run_identity(c->b->manifest);
    json_t *ma = json_object(), *mb = json_object();
    int rc = 0;
    if (!ia || !ib || !ma || !mb || flat_config(ia, "", ma, 0) ||
        flat_config(ib, "", mb, 0)) {
        rc = ASSAY_ENOMEM;
        goto out;
    }
    for (int side = 0; side < 2 && !rc; side++) {
        json_t *from = side ? mb : ma, *other = side ? ma : mb;
        const char *k;
        json_t *v;
        json_object_foreach(from, k, v)
        {
            json_t *w = json_object_get(other, k);
            if ((side == 1 && w) ||
                (w && !strcmp(json_string_value(v), json_string_value(w))))
                continue;
            if (c->nc == c->capc) {
                size_t ncap = c->capc ? c->capc * 2 : 16;
                cdiff *nv = realloc(c->c, ncap * sizeof *nv);
                if (!nv) {
                    rc = ASSAY_ENOMEM;
                    break;
                }
                c->c = nv;
                c->capc = ncap;
            }
            cdiff *d = &c->c[c->nc++];
            snprintf(d->path, sizeof d->path, "%s", k);
            const char *sa = side ? NULL : json_string_value(v);
            const char *sb = side ? json_string_value(v) : json_string_value(w);
            d->a = sa ? util_strndup(sa, strlen(sa)) : NULL;
            d->b = sb ? util_strndup(sb, strlen(sb)) : NULL;
            if ((sa && !d->a) || (sb && !d->b)) {
                rc = ASSAY_ENOMEM;
                break;
            }
        }
    }
out:
    json_decref(ia);
    json_decref(ib);
    json_decref(ma);
    json_decref(mb);
    return rc;
}

/* ---- the comparison
 * ------------------------------------------------------------- */

static int compute(cmp *c)
{
    int rc = 0;
    for (size_t i = 0; i < c->a->n && !rc; i++) {
        const rd_node *na = &c->a->nodes[i];
        long j = rundir_find(c->b, na->name);
        if (j < 0) {
            sb_printf(&c->notes, "node %s: only in A\n", na->name);
            continue;
        }
        const rd_node *nb = &c->b->nodes[j];
        for (size_t k = 0; k < na->nouts && !rc; k++) {
            const rd_port *pa = &na->outs[k];
            const rd_port *pb = rundir_port(nb, pa->name);
            if (!pb) {
                sb_printf(&c->notes, "%s.%s: not produced in B\n", na->name,
                          pa->name);
                continue;
            }
            if (pa->type == ASSAY_T_JSON && pb->type == ASSAY_T_JSON)
                rc = json_diffs(c, na, pa, nb, pb);
            else if (pa->type != ASSAY_T_JSON && pb->type != ASSAY_T_JSON &&
                     (!strcmp(na->kind, "metric") ||
                      !strcmp(na->kind, "judge") ||
                      !strcmp(na->kind, "scorer") ||
                      !strcmp(na->kind, "verifier") ||
                      !strcmp(na->kind, "recommender")))
                rc = item_tests(c, na, pa, nb, pb);
        }
    }
    for (size_t j = 0; j < c->b->n; j++)
        if (rundir_find(c->a, c->b->nodes[j].name) < 0)
            sb_printf(&c->notes, "node %s: only in B\n", c->b->nodes[j].name);
    if (!rc)
        rc = config_diffs(c);
    return rc ? rc : c->notes.oom ? ASSAY_ENOMEM : 0;
}

/* ---- text output
 * ------------------------------------------------------------------ */

static void fmt(double v, bool integer, char *b, size_t n)
{
    summary_fmt(v, integer, b, n);
}

static void fmt_diff(double d, char *b, size_t n)
{
    char t[64];
    summary_fmt(d, false, t, sizeof t);
    snprintf(b, n, "%s%s", d > 0 ? "+" : "", t);
}

static void fmt_p(double p, char *b, size_t n)
{
    if (isnan(p))
        snprintf(b, n, "-");
    else if (p < 1e-4)
        snprintf(b, n, "<0.0001");
    else
        snprintf(b, n, "%.4f", p);
}

static void run_line(FILE *out, const char *label, const rundir *rd)
{
    const json_t *m = rd->manifest;
    const char *e = json_string_value(json_object_get(m, "experiment"));
    const char *s = json_string_value(json_object_get(m, "status"));
    const char *t = json_string_value(json_object_get(m, "started"));
    fprintf(out, "%s: %s  (%s, %s, started %s)\n", label, rd->path, e ? e : "?",
            s ? s : "?", t ? t : "?");
}

static const char *mpath(const mdiff *m)
{
    return m->has_a ? m->a.path : m->b.path;
}

static void print_text(const cmp *c, FILE *out, const char *html)
{
    char a[64], b[64], d[64], l[64], h[64], p1[32], p2[32];
    run_line(out, "A", c->a);
    run_line(out, "B", c->b);
    /* metric differences */
    size_t wo = 6, wm = 6, shown = 0;
    for (size_t i = 0; i < c->nm; i++) {
        size_t x = strlen(c->m[i].output), y = strlen(mpath(&c->m[i]));
        wo = x > wo ? x : wo;
        wm = y > wm ? y : wm;
    }
    wo = wo > 32 ? 32 : wo;
    wm = wm > 36 ? 36 : wm;
    fprintf(out, "\nmetric differences (B - A)\n");
    size_t differ = 0;
    for (size_t i = 0; i < c->nm; i++)
        differ +=
            !(c->m[i].has_a && c->m[i].has_b && c->m[i].a.v == c->m[i].b.v);
    if (!c->nm)
        fprintf(out, "  (no outputs with numbers in both runs)\n");
    else if (differ)
        fprintf(out, "  %-*s %-*s %12s %12s %12s\n", (int)wo, "output", (int)wm,
                "number", "A", "B", "B - A");
    size_t same = 0;
    for (size_t i = 0; i < c->nm; i++) {
        const mdiff *m = &c->m[i];
        if (m->has_a && m->has_b && m->a.v == m->b.v) {
            same++;
            continue;
        }
        if (++shown > 200)
            continue;
        fmt(m->a.v, m->a.integer, a, sizeof a);
        fmt(m->b.v, m->b.integer, b, sizeof b);
        if (m->has_a && m->has_b)
            fmt_diff(m->b.v - m->a.v, d, sizeof d);
        else
            snprintf(d, sizeof d, "%s", m->has_a ? "(only A)" : "(only B)");
        fprintf(out, "  %-*s %-*s %12s %12s %12s\n", (int)wo, m->output,
                (int)wm, mpath(m), m->has_a ? a : "-", m->has_b ? b : "-", d);
    }
    if (same)
        fprintf(out, "  (%zu %snumber%s equal in both runs)\n", same,
                differ ? "more " : "", same == 1 ? "" : "s");
    if (shown > 200)
        fprintf(out, "  (%zu more differences in the HTML page)\n",
                shown - 200);
    /* paired tests */
    fprintf(out,
            "\npaired tests on the same items (B - A, %.0f%% "
            "intervals)\n",
            100 * (1 - c->o->alpha));
    if (!c->nt)
        fprintf(out, "  (no per-item values that differ)\n");
    if (c->identical)
        fprintf(out, "  (%zu per-item column%s equal on every item)\n",
                c->identical, c->identical == 1 ? "" : "s");
    for (size_t i = 0; i < c->nt; i++) {
        const itest *t = &c->t[i];
        fmt(t->boot.mean_a, false, a, sizeof a);
        fmt(t->boot.mean_b, false, b, sizeof b);
        fmt_diff(t->boot.diff, d, sizeof d);
        fprintf(out, "  %s %s: n=%zu paired by %s, mean %s -> %s (%s",
                t->output, t->column, t->n, t->idcol, a, b, d);
        if (isfinite(t->boot.lo)) {
            fmt(t->boot.lo, false, l, sizeof l);
            fmt(t->boot.hi, false, h, sizeof h);
            fmt_p(t->boot.p, p1, sizeof p1);
            fprintf(out, ", [%s, %s], bootstrap p=%s", l, h, p1);
        }
        fprintf(out, ")\n");
        if (t->binary) {
            fmt_p(t->p_exact, p1, sizeof p1);
            fmt_p(t->p_chi2, p2, sizeof p2);
            fprintf(out,
                    "    McNemar: %zu right->wrong, %zu wrong->right; "
                    "exact p=%s, chi2=%.3f p=%s%s\n",
                    t->regress, t->improve, p1, t->chi2, p2,
                    t->p_exact < c->o->alpha ? "  *" : "");
        }
    }
    /* regressions */
    bool any = false;
    for (size_t i = 0; i < c->nt; i++) {
        const itest *t = &c->t[i];
        if (!t->binary || !t->regress)
            continue;
        if (!any)
            fprintf(out, "\nregressions (right in A, wrong in B)\n");
        any = true;
        fprintf(out, "  %s %s: %zu item%s:", t->output, t->column, t->regress,
                t->regress == 1 ? "" : "s");
        for (size_t k = 0; k < t->nids && k < 20; k++)
            fprintf(out, " %s", t->ids[k]);
        fprintf(out, "%s\n", t->regress > 20 ? " ..." : "");
    }
    /* configuration */
    fprintf(out, "\nconfiguration differences\n");
    if (!c->nc)
        fprintf(out, "  (none)\n");
    for (size_t i = 0; i < c->nc && i < 100; i++)
        fprintf(out, "  %s: %.60s -> %.60s\n", c->c[i].path,
                c->c[i].a ? c->c[i].a : "(absent)",
                c->c[i].b ? c->c[i].b : "(absent)");
    if (c->nc > 100)
        fprintf(out, "  ... %zu more in the HTML page\n", c->nc - 100);
    if (c->notes.len)
        fprintf(out, "\nnot compared\n%s", c->notes.buf);
    if (html)
        fprintf(out, "\nhtml: %s\n", html);
    fflush(out);
}

/* ---- html
 * ------------------------------------------------------------------------ */

static void th(strbuf *o, const char *const *names, size_t n)
{
    sb_puts(o, "<div class=\"wide\"><table class=\"sort\"><thead><tr>");
    for (size_t i = 0; i < n; i++)
        sb_printf(o, "<th>%s</th>", names[i]);
    sb_puts(o, "</tr></thead><tbody>");
}

static void td(strbuf *o, const char *s)
{
    sb_puts(o, "<td>");
    report_esc(o, s);
    sb_puts(o, "</td>");
}

static void td_p(strbuf *o, double p, double alpha)
{
    char b[32];
    fmt_p(p, b, sizeof b);
    if (isnan(p))
        sb_puts(o, "<td class=\"n\">-</td>");
    else
        sb_printf(o, "<td class=\"n%s\" data-v=\"%.17g\">%s</td>",
                  p < alpha ? " best" : "", p, b);
}

/* Whether a difference is worth a bar: a real number in both runs that
 * changed. */
static bool chart_diff(const mdiff *m)
{
    return m->has_a && m->has_b && !m->a.integer && !m->b.integer &&
           m->a.v != m->b.v && isfinite(m->a.v) && isfinite(m->b.v);
}

/* Grouped bars A vs B for the changed numbers of one output, on the
 * scale of the first: within [-1, 1], or within 10x of it. */
static int diff_chart(strbuf *o, const cmp *c, size_t from, size_t to)
{
    const char *cats[24];
    double ya[24], yb[24], la[24], ha[24], lb[24], hb[24];
    size_t n = 0;
    double ref = NAN;
    for (size_t i = from; i < to && n < 24; i++) {
        const mdiff *m = &c->m[i];
        if (!chart_diff(m))
            continue;
        double a = fabs(m->a.v) > fabs(m->b.v) ? fabs(m->a.v) : fabs(m->b.v);
        if (isnan(ref))
            ref = a;
        bool unit = ref <= 1;
        if (unit ? a > 1 : (a <= 1 || a > ref * 10 || a < ref / 10))
            continue;
        cats[n] = m->a.path;
        ya[n] = m->a.v;
        yb[n] = m->b.v;
        la[n] = m->a.lo;
        ha[n] = m->a.hi;
        lb[n] = m->b.lo;
        hb[n++] = m->b.hi;
    }
    if (n < 1)
        return 0;
    svg_series s[2] = {{.name = "A", .n = n, .y = ya, .lo = la, .hi = ha},
                       {.name = "B", .n = n, .y = yb, .lo = lb, .hi = hb}};
    svg_chart ch = {.kind = SVG_BAR,
                    .title = c->m[from].output,
                    .cats = cats,
                    .ncats = n,
                    .series = s,
                    .nseries = 2};
    assay_error e = {0};
    int rc = svg_render(&ch, o, &e);
    return rc == ASSAY_ENOMEM ? rc : 0;
}

/* Paired differences B - A with their intervals, one chart per output. */
static int paired_charts(strbuf *o, const cmp *c)
{
    for (size_t i = 0; i < c->nt;) {
        size_t j = i;
        while (j < c->nt && !strcmp(c->t[j].output, c->t[i].output))
            j++;
        const char *cats[24];
        double y[24], lo[24], hi[24];
        size_t n = 0;
        for (size_t k = i; k < j && n < 24; k++) {
            if (!isfinite(c->t[k].boot.lo))
                continue;
            cats[n] = c->t[k].column;
            y[n] = c->t[k].boot.diff;
            lo[n] = c->t[k].boot.lo;
            hi[n++] = c->t[k].boot.hi;
        }
        if (n) {
            char title[400];
            snprintf(title, sizeof title, "%s: mean difference B - A",
                     c->t[i].output);
            svg_series s = {
                .name = "B - A", .n = n, .y = y, .lo = lo, .hi = hi};
            svg_chart ch = {.kind = SVG_BAR,
                            .title = title,
                            .cats = cats,
                            .ncats = n,
                            .series = &s,
                            .nseries = 1,
                            .width = 480,
                            .height = 320};
            assay_error e = {0};
            if (svg_render(&ch, o, &e) == ASSAY_ENOMEM)
                return ASSAY_ENOMEM;
        }
        i = j;
    }
    return 0;
}

static int render_html(const cmp *c, strbuf *o)
{
    char a[64], b[64], d[64], l[64], h[64];
    report_html_head(o, "assay: run comparison");
    sb_puts(o, "<header><h1>Run comparison</h1><p class=\"meta\">A: <code>");
    report_esc(o, c->a->path);
    sb_puts(o, "</code><br>B: <code>");
    report_esc(o, c->b->path);
    sb_printf(o,
              "</code><br>paired bootstrap: %u resamples, seed %llu; "
              "marked: p &lt; %g</p></header>",
              c->o->bootstrap, (unsigned long long)c->o->seed, c->o->alpha);
    /* charts: A vs B per output */
    sb_puts(o, "<h2>Metric differences</h2><div class=\"charts\">");
    int rc = 0;
    for (size_t i = 0; i < c->nm && !rc;) {
        size_t j = i;
        while (j < c->nm && !strcmp(c->m[j].output, c->m[i].output))
            j++;
        rc = diff_chart(o, c, i, j);
        i = j;
    }
    sb_puts(o, "</div>");
    /* the numbers that changed (or exist in one run only), then the
     * equal ones folded */
    size_t same = 0;
    for (size_t i = 0; i < c->nm; i++)
        same += c->m[i].has_a && c->m[i].has_b && c->m[i].a.v == c->m[i].b.v;
    if (same == c->nm)
        sb_puts(o, "<p>No number differs between the two runs.</p>");
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1 && !same)
            break;
        if (pass == 1)
            sb_printf(o,
                      "<details><summary>%zu number%s equal in both "
                      "runs</summary>",
                      same, same == 1 ? "" : "s");
        if (pass == 0 && same == c->nm)
            continue;
        static const char *const mh[] = {
            "output", "number", "A", "A interval", "B", "B interval", "B - A"};
        th(o, mh, 7);
        for (size_t i = 0; i < c->nm; i++) {
            const mdiff *m = &c->m[i];
            bool eq = m->has_a && m->has_b && m->a.v == m->b.v;
            if (eq != (pass == 1))
                continue;
            sb_puts(o, "<tr>");
            td(o, m->output);
            td(o, mpath(m));
            for (int s = 0; s < 2; s++) {
                const rd_num *x = s ? &m->b : &m->a;
                bool has = s ? m->has_b : m->has_a;
                if (has)
                    report_num_cell(o, x->v, x->integer);
                else
                    sb_puts(o, "<td>-</td>");
                if (has && isfinite(x->lo)) {
                    fmt(x->lo, false, l, sizeof l);
                    fmt(x->hi, false, h, sizeof h);
                    sb_printf(o, "<td class=\"n\">[%s, %s]</td>", l, h);
                } else
                    sb_puts(o, "<td></td>");
            }
            if (m->has_a && m->has_b) {
                fmt_diff(m->b.v - m->a.v, d, sizeof d);
                sb_printf(o, "<td class=\"n\" data-v=\"%.17g\">%s</td>",
                          m->b.v - m->a.v, d);
            } else
                sb_puts(o, "<td></td>");
            sb_puts(o, "</tr>");
        }
        sb_puts(o, "</tbody></table></div>");
        if (pass == 1)
            sb_puts(o, "</details>");
    }
    /* paired tests */
    sb_printf(o,
              "<h2>Paired tests on the same items</h2><p class=\"note\">"
              "Mean per item in A and B, the paired bootstrap interval "
              "of B - A (%.0f%%) and its p-value; for 0/1 columns also "
              "McNemar's test on the items that changed.</p>",
              100 * (1 - c->o->alpha));
    if (c->nt) {
        sb_puts(o, "<div class=\"charts\">");
        rc = paired_charts(o, c);
        sb_puts(o, "</div>");
        static const char *const tt[] = {"output",
                                         "column",
                                         "paired by",
                                         "n",
                                         "mean A",
                                         "mean B",
                                         "B - A",
                                         "interval",
                                         "bootstrap p",
                                         "right&#8594;wrong",
                                         "wrong&#8594;right",
                                         "McNemar exact p",
                                         "McNemar chi2 p"};
        th(o, tt, 13);
        for (size_t i = 0; i < c->nt; i++) {
            const itest *t = &c->t[i];
            sb_puts(o, "<tr>");
            td(o, t->output);
            td(o, t->column);
            td(o, t->idcol);
            report_num_cell(o, (double)t->n, true);
            report_num_cell(o, t->boot.mean_a, false);
            report_num_cell(o, t->boot.mean_b, false);
            fmt_diff(t->boot.diff, d, sizeof d);
            sb_printf(o, "<td class=\"n\" data-v=\"%.17g\">%s</td>",
                      t->boot.diff, d);
            if (isfinite(t->boot.lo)) {
                fmt(t->boot.lo, false, a, sizeof a);
                fmt(t->boot.hi, false, b, sizeof b);
                sb_printf(o, "<td class=\"n\">[%s, %s]</td>", a, b);
            } else
                sb_puts(o, "<td></td>");
            td_p(o, t->boot.p, c->o->alpha);
            if (t->binary) {
                report_num_cell(o, (double)t->regress, true);
                report_num_cell(o, (double)t->improve, true);
                td_p(o, t->p_exact, c->o->alpha);
                td_p(o, t->p_chi2, c->o->alpha);
            } else
                sb_puts(o, "<td></td><td></td><td></td><td></td>");
            sb_puts(o, "</tr>");
        }
        sb_puts(o, "</tbody></table></div>");
    }
    /* regressions */
    sb_puts(o, "<h2>Regressions</h2>");
    bool any = false;
    for (size_t i = 0; i < c->nt; i++) {
        const itest *t = &c->t[i];
        if (t->binary && t->regress) {
            any = true;
            sb_puts(o, "<h4>");
            report_esc(o, t->output);
            sb_puts(o, " ");
            report_esc(o, t->column);
            sb_printf(o, ": %zu item%s right in A and wrong in B</h4><p>",
                      t->regress, t->regress == 1 ? "" : "s");
            for (size_t k = 0; k < t->nids; k++) {
                sb_puts(o, k ? ", <code>" : "<code>");
                report_esc(o, t->ids[k]);
                sb_puts(o, "</code>");
            }
            if (t->regress > t->nids)
                sb_printf(o, " &#8230; (%zu more)", t->regress - t->nids);
            sb_puts(o, "</p>");
        } else if (!t->binary && t->ndrops) {
            any = true;
            sb_puts(o, "<h4>");
            report_esc(o, t->output);
            sb_puts(o, " ");
            report_esc(o, t->column);
            sb_puts(o, ": largest decreases</h4>");
            static const char *const dh2[] = {"item", "A", "B", "B - A"};
            th(o, dh2, 4);
            for (size_t k = 0; k < t->ndrops; k++) {
                sb_puts(o, "<tr>");
                td(o, t->drops[k].id);
                report_num_cell(o, t->drops[k].a, false);
                report_num_cell(o, t->drops[k].b, false);
                report_num_cell(o, t->drops[k].b - t->drops[k].a, false);
                sb_puts(o, "</tr>");
            }
            sb_puts(o, "</tbody></table></div>");
        }
    }
    if (!any)
        sb_puts(o, "<p>No item got worse.</p>");
    /* configuration */
    sb_puts(o, "<h2>Configuration differences</h2>");
    if (!c->nc)
        sb_puts(o, "<p>The two runs used the same configuration and "
                   "plugins.</p>");
    else {
        static const char *const ch[] = {"path", "A", "B"};
        th(o, ch, 3);
        for (size_t i = 0; i < c->nc; i++) {
            sb_puts(o, "<tr><td><code>");
            report_esc(o, c->c[i].path);
            sb_puts(o, "</code></td><td><code>");
            report_esc(o, c->c[i].a ? c->c[i].a : "(absent)");
            sb_puts(o, "</code></td><td><code>");
            report_esc(o, c->c[i].b ? c->c[i].b : "(absent)");
            sb_puts(o, "</code></td></tr>");
        }
        sb_puts(o, "</tbody></table></div>");
    }
    if (c->notes.len) {
        sb_puts(o, "<h2>Not compared</h2><pre>");
        report_esc(o, c->notes.buf);
        sb_puts(o, "</pre>");
    }
    report_html_tail(o);
    return rc ? rc : o->oom ? ASSAY_ENOMEM : 0;
}

int compare_runs(const char *a, const char *b, const compare_opts *o, FILE *out,
                 assay_error *err)
{
    cmp c = {.o = o};
    int rc = rundir_load(a, &c.a, err);
    if (!rc)
        rc = rundir_load(b, &c.b, err);
    if (rc)
        goto out;
    if ((rc = compute(&c))) {
        assay_error_set(err, rc, "out of memory");
        goto out;
    }
    char html[PATH_MAX + 32];
    if (o->html)
        snprintf(html, sizeof html, "%s", o->html);
    else
        snprintf(html, sizeof html, "%s/compare.html", c.b->path);
    strbuf sb = {0};
    rc = render_html(&c, &sb);
    if (!rc)
        rc = store_write_file(html, sb.buf, sb.len, false, err);
    else
        assay_error_set(err, rc, "out of memory");
    sb_free(&sb);
    print_text(&c, out, rc ? NULL : html);
out:
    cmp_free(&c);
    return rc;
}
