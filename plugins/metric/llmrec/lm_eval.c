/*
 * lm_eval.c - reading system results, training statistics and the
 * utility / beyond-utility metrics (see lm.h for the contracts and
 * llmrec.c's descriptor docs for the definitions as users see them).
 */
#include "lm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int nomem(assay_error *err)
{
    return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
}

static char *dup_str(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d)
        memcpy(d, s, n + 1);
    return d;
}

json_t *lm_num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

void lm_sys_free(lm_sys *s)
{
    for (size_t i = 0; s->q && i < s->n; i++) {
        free(s->q[i].cands);
        free(s->q[i].top);
    }
    free(s->q);
    free(s->name);
    free(s->prompt);
    free(s->order);
    memset(s, 0, sizeof *s);
}

/* ---- reading ---------------------------------------------------------- */

/* Integer array field `f` of record `i` into a new array. */
static int read_ids(const json_t *rec, size_t i, const char *f, int64_t **out,
                    size_t *n, assay_error *err)
{
    json_t *a;
    int rc = assay_rec_get(rec, i, f, &a, err);
    *out = NULL;
    *n = 0;
    if (rc)
        return rc;
    if (!json_is_array(a))
        return assay_error_set(err, ASSAY_EDATA,
                               "record %zu: field '%s': expected an array, "
                               "got %s",
                               i, f, assay__json_type_name(a));
    size_t m = json_array_size(a);
    int64_t *v = malloc((m ? m : 1) * sizeof *v);
    if (!v)
        return nomem(err);
    for (size_t k = 0; k < m; k++) {
        json_t *x = json_array_get(a, k);
        if (!json_is_integer(x)) {
            free(v);
            return assay_error_set(err, ASSAY_EDATA,
                                   "record %zu: field '%s': element %zu is "
                                   "not an integer id",
                                   i, f, k);
        }
        v[k] = json_integer_value(x);
    }
    *out = v;
    *n = m;
    return ASSAY_OK;
}

static int rec_int(const json_t *rec, size_t i, const char *f, int64_t *out,
                   assay_error *err)
{
    double d;
    int rc = assay_rec_num(rec, i, f, &d, err);
    if (rc)
        return rc;
    if (d != floor(d))
        return assay_error_set(err, ASSAY_EDATA,
                               "record %zu: field '%s': expected an integer "
                               "id",
                               i, f);
    *out = (int64_t)d;
    return ASSAY_OK;
}

/* Optional non-negative count field (absent: `def`). */
static int rec_count(const json_t *rec, size_t i, const char *f, size_t def,
                     size_t *out, assay_error *err)
{
    json_t *v = json_object_get(rec, f);
    if (!v || json_is_null(v)) {
        *out = def;
        return ASSAY_OK;
    }
    double d;
    int rc = assay_rec_num(rec, i, f, &d, err);
    if (rc)
        return rc;
    if (d < 0)
        return assay_error_set(err, ASSAY_EDATA,
                               "record %zu: field '%s': negative count", i, f);
    *out = (size_t)d;
    return ASSAY_OK;
}

static size_t rank_of(const int64_t *v, size_t n, int64_t x)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == x)
            return i + 1;
    return 0;
}

static int read_lists(const json_t *recs, lm_sys *s, assay_error *err)
{
    size_t n = json_array_size(recs);
    s->llm = true;
    s->q = calloc(n ? n : 1, sizeof *s->q);
    if (!s->q)
        return nomem(err);
    const json_t *r0 = json_array_get(recs, 0);
    json_t *hl = json_object_get(r0, "history_len");
    s->history_len = json_is_integer(hl) ? (long)json_integer_value(hl) : -1;
    const char *pr = json_string_value(json_object_get(r0, "prompt"));
    const char * or = json_string_value(json_object_get(r0, "order"));
    if ((pr && !(s->prompt = dup_str(pr))) || (or &&!(s->order = dup_str(or))))
        return nomem(err);
    for (size_t i = 0; i < n; i++) {
        const json_t *rec = json_array_get(recs, i);
        lm_query *q = &s->q[i];
        const char *status;
        int rc;
        s->n = i + 1;
        if ((rc = rec_int(rec, i, "user", &q->user, err)) ||
            (rc = rec_int(rec, i, "target", &q->target, err)) ||
            (rc = assay_rec_str(rec, i, "status", &status, err)) ||
            (rc = read_ids(rec, i, "candidates", &q->cands, &q->ncand, err)) ||
            (rc = read_ids(rec, i, "items", &q->top, &q->ntop, err)) ||
            (rc = rec_count(rec, i, "n_titles", q->ntop, &q->slots, err)) ||
            (rc = rec_count(rec, i, "hallucinated", 0, &q->halluc, err)))
            return rc;
        q->failed = strcmp(status, "failed") == 0;
        q->final_ok = q->failed ? -1 : strcmp(status, "ok") == 0;
        const char *fa =
            json_string_value(json_object_get(rec, "first_answer"));
        q->first_ok = q->failed || !fa ? -1 : strcmp(fa, "ok") == 0;
        /* ids 0 never rank (the paper's hallucination id) */
        size_t w = 0;
        for (size_t k = 0; k < q->ntop; k++)
            if (q->top[k] != 0)
                q->top[w++] = q->top[k];
        q->ntop = w;
        q->rank = rank_of(q->top, q->ntop, q->target);
    }
    return ASSAY_OK;
}

typedef struct grp {
    int64_t key;
    size_t rec;
} grp;

static int grp_cmp(const void *a, const void *b)
{
    const grp *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return (x->rec > y->rec) - (x->rec < y->rec);
}

/* Ranking order of one group's candidates. */
typedef struct cand {
    int64_t item;
    double score;
    bool pos;
    size_t at;
} cand;

static int cand_cmp(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    if (x->pos != y->pos)
        return x->pos ? -1 : 1;
    return (x->at > y->at) - (x->at < y->at);
}

static int read_scores(const json_t *recs, lm_sys *s, assay_error *err)
{
    size_t n = json_array_size(recs), nq = 0;
    const json_t *r0 = json_array_get(recs, 0);
    const char *kf = json_object_get(r0, "query") ? "query" : "user";
    grp *g = malloc((n ? n : 1) * sizeof *g);
    cand *c = malloc((n ? n : 1) * sizeof *c);
    int rc = ASSAY_OK;
    s->q = calloc(n ? n : 1, sizeof *s->q);
    if (!g || !c || !s->q) {
        rc = nomem(err);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if ((rc = rec_int(json_array_get(recs, i), i, kf, &g[i].key, err)))
            goto done;
        g[i].rec = i;
    }
    qsort(g, n, sizeof *g, grp_cmp);
    for (size_t a = 0; a < n;) {
        size_t b = a, m = 0;
        while (b < n && g[b].key == g[a].key)
            b++;
        lm_query *q = &s->q[nq];
        bool has_target = false;
        for (size_t i = a; i < b; i++) {
            const json_t *rec = json_array_get(recs, g[i].rec);
            size_t ri = g[i].rec;
            int64_t user, item;
            double label, score;
            if ((rc = rec_int(rec, ri, "user", &user, err)) ||
                (rc = rec_int(rec, ri, "item", &item, err)) ||
                (rc = assay_rec_num(rec, ri, "label", &label, err)) ||
                (rc = assay_rec_num(rec, ri, "score", &score, err)))
                goto done;
            bool pos = label > 0 && !has_target;
            if (pos) {
                has_target = true;
                q->target = item;
            } else if (label > 0) {
                continue; /* one target per query */
            }
            q->user = user;
            c[m++] = (cand){item, score, pos, i};
        }
        a = b;
        if (!has_target)
            continue; /* no positive: nothing to evaluate */
        q->cands = malloc(m * sizeof *q->cands);
        q->top = malloc(m * sizeof *q->top);
        if (!q->cands || !q->top) {
            free(q->cands);
            free(q->top);
            q->cands = q->top = NULL;
            rc = nomem(err);
            goto done;
        }
        for (size_t i = 0; i < m; i++)
            q->cands[i] = c[i].item;
        qsort(c, m, sizeof *c, cand_cmp);
        for (size_t i = 0; i < m; i++)
            q->top[i] = c[i].item;
        q->ncand = q->ntop = q->slots = m;
        q->rank = rank_of(q->top, m, q->target);
        q->first_ok = q->final_ok = -1;
        nq++;
        s->n = nq;
    }
done:
    free(g);
    free(c);
    return rc;
}

int lm_sys_read(const json_t *recs, const char *name, const char *fallback,
                lm_sys *out, assay_error *err)
{
    int rc;
    memset(out, 0, sizeof *out);
    out->history_len = -1;
    if (!json_is_array(recs))
        return assay_error_set(err, ASSAY_EDATA,
                               "expected records (rec.llm lists or scored "
                               "candidates), got %s",
                               recs ? assay__json_type_name(recs) : "none");
    const json_t *r0 = json_array_get(recs, 0);
    if (!name)
        name = json_string_value(json_object_get(r0, "system"));
    if (!(out->name = dup_str(name ? name : fallback)))
        return nomem(err);
    if (!r0)
        return ASSAY_OK;
    if (json_object_get(r0, "candidates") && json_object_get(r0, "items"))
        rc = read_lists(recs, out, err);
    else if (json_object_get(r0, "score") && json_object_get(r0, "label"))
        rc = read_scores(recs, out, err);
    else
        rc = assay_error_set(err, ASSAY_EDATA,
                             "record 0: expected rec.llm lists (fields "
                             "items, candidates) or scored candidates "
                             "(item, label, score)");
    if (rc)
        lm_sys_free(out);
    return rc;
}

/* ---- common queries ----------------------------------------------------- */

typedef struct qkey {
    int64_t user, target;
} qkey;

static int qkey_cmp(const void *a, const void *b)
{
    const qkey *x = a, *y = b;
    if (x->user != y->user)
        return x->user < y->user ? -1 : 1;
    return (x->target > y->target) - (x->target < y->target);
}

int lm_common(lm_sys *sys, size_t n, size_t *kept, assay_error *err)
{
    qkey **keys = calloc(n ? n : 1, sizeof *keys);
    size_t *nk = calloc(n ? n : 1, sizeof *nk);
    int rc = ASSAY_OK;
    if (!keys || !nk) {
        rc = nomem(err);
        goto done;
    }
    for (size_t s = 0; s < n; s++) {
        keys[s] = malloc((sys[s].n ? sys[s].n : 1) * sizeof **keys);
        if (!keys[s]) {
            rc = nomem(err);
            goto done;
        }
        for (size_t i = 0; i < sys[s].n; i++)
            if (!sys[s].q[i].failed)
                keys[s][nk[s]++] = (qkey){sys[s].q[i].user, sys[s].q[i].target};
        qsort(keys[s], nk[s], sizeof **keys, qkey_cmp);
    }
    for (size_t s = 0; s < n; s++) {
        size_t w = 0;
        for (size_t i = 0; i < sys[s].n; i++) {
            lm_query *q = &sys[s].q[i];
            qkey k = {q->user, q->target};
            bool all = true;
            for (size_t t = 0; t < n && all; t++)
                all = bsearch(&k, keys[t], nk[t], sizeof **keys, qkey_cmp) !=
                      NULL;
            if (all) {
                sys[s].q[w++] = *q;
            } else {
                sys[s].failed_dropped += q->failed;
                free(q->cands);
                free(q->top);
            }
        }
        sys[s].n = w;
        kept[s] = w;
    }
done:
    for (size_t s = 0; keys && s < n; s++)
        free(keys[s]);
    free(keys);
    free(nk);
    return rc;
}

static int query_cmp(const void *a, const void *b)
{
    const lm_query *x = a, *y = b;
    qkey kx = {x->user, x->target}, ky = {y->user, y->target};
    return qkey_cmp(&kx, &ky);
}

void lm_sort(lm_sys *s)
{
    if (s->n > 1)
        qsort(s->q, s->n, sizeof *s->q, query_cmp);
}

/* ---- training statistics ---------------------------------------------- */

static int i64_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Distinct sorted values of v[0..n) with their counts. */
static int count_values(const int64_t *v, size_t n, int64_t **keys,
                        double **cnt, size_t *m)
{
    int64_t *s = malloc((n ? n : 1) * sizeof *s);
    if (!s)
        return ASSAY_ENOMEM;
    memcpy(s, v, n * sizeof *s);
    qsort(s, n, sizeof *s, i64_cmp);
    *keys = malloc((n ? n : 1) * sizeof **keys);
    *cnt = malloc((n ? n : 1) * sizeof **cnt);
    if (!*keys || !*cnt) {
        free(s);
        free(*keys);
        free(*cnt);
        *keys = NULL;
        *cnt = NULL;
        return ASSAY_ENOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k && (*keys)[k - 1] == s[i]) {
            (*cnt)[k - 1] += 1.0;
            continue;
        }
        (*keys)[k] = s[i];
        (*cnt)[k] = 1.0;
        k++;
    }
    *m = k;
    free(s);
    return ASSAY_OK;
}

double lm_percentile(const double *v, size_t n, double q)
{
    if (n == 0)
        return NAN;
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)floor(pos);
    if (lo + 1 >= n)
        return v[n - 1];
    double f = pos - (double)lo;
    return v[lo] + f * (v[lo + 1] - v[lo]);
}

int lm_pop_build(lm_pop *p, const int64_t *user, const int64_t *item, size_t n,
                 double tail_q, assay_error *err)
{
    memset(p, 0, sizeof *p);
    if (count_values(item, n, &p->item, &p->freq, &p->nitems) ||
        count_values(user, n, &p->user, &p->ulen, &p->nusers)) {
        lm_pop_free(p);
        return nomem(err);
    }
    double *f = malloc((p->nitems ? p->nitems : 1) * sizeof *f);
    if (!f) {
        lm_pop_free(p);
        return nomem(err);
    }
    memcpy(f, p->freq, p->nitems * sizeof *f);
    qsort(f, p->nitems, sizeof *f, dbl_cmp);
    p->tail = lm_percentile(f, p->nitems, tail_q);
    free(f);
    return ASSAY_OK;
}

static double lookup(const int64_t *keys, const double *vals, size_t n,
                     int64_t k)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (keys[mid] < k)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && keys[lo] == k ? vals[lo] : 0.0;
}

double lm_pop_freq(const lm_pop *p, int64_t item)
{
    return lookup(p->item, p->freq, p->nitems, item);
}

double lm_pop_ulen(const lm_pop *p, int64_t user)
{
    return lookup(p->user, p->ulen, p->nusers, user);
}

void lm_pop_free(lm_pop *p)
{
    free(p->item);
    free(p->freq);
    free(p->user);
    free(p->ulen);
    memset(p, 0, sizeof *p);
}

/* ---- categories ---------------------------------------------------------- */

typedef struct catname {
    char *name;
    uint32_t id;
} catname;

void lm_cats_free(lm_cats *c)
{
    free(c->item);
    free(c->ptr);
    free(c->cat);
    memset(c, 0, sizeof *c);
}

typedef struct item_at {
    int64_t item;
    size_t at;
} item_at;

static int item_at_cmp(const void *a, const void *b)
{
    const item_at *x = a, *y = b;
    if (x->item != y->item)
        return x->item < y->item ? -1 : 1;
    return (x->at > y->at) - (x->at < y->at);
}

/* Id of category `s[0..len)` in the growing name table (linear search:
 * category vocabularies are small). */
static long cat_id(catname **names, size_t *n, size_t *cap, const char *s,
                   size_t len)
{
    for (size_t i = 0; i < *n; i++)
        if (strlen((*names)[i].name) == len &&
            memcmp((*names)[i].name, s, len) == 0)
            return (long)(*names)[i].id;
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 32;
        catname *p = realloc(*names, nc * sizeof *p);
        if (!p)
            return -1;
        *names = p;
        *cap = nc;
    }
    char *d = malloc(len + 1);
    if (!d)
        return -1;
    memcpy(d, s, len);
    d[len] = '\0';
    (*names)[*n] = (catname){d, (uint32_t)*n};
    return (long)(*n)++;
}

int lm_cats_build(lm_cats *c, const int64_t *item, const char *const *text,
                  size_t n, assay_error *err)
{
    catname *names = NULL;
    size_t nn = 0, cn = 0, cap = 0, total = 0;
    item_at *ord = malloc((n ? n : 1) * sizeof *ord);
    int rc = ASSAY_OK;
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < n; i++)
        total += text[i] ? strlen(text[i]) / 2 + 1 : 0;
    c->item = malloc((n ? n : 1) * sizeof *c->item);
    c->ptr = calloc(n + 1, sizeof *c->ptr);
    c->cat = malloc((total ? total : 1) * sizeof *c->cat);
    if (!ord || !c->item || !c->ptr || !c->cat)
        goto fail_nomem;
    for (size_t i = 0; i < n; i++)
        ord[i] = (item_at){item[i], i};
    qsort(ord, n, sizeof *ord, item_at_cmp);
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        if (cn && c->item[cn - 1] == ord[i].item)
            continue; /* the first row of an item counts */
        const char *t = text[ord[i].at];
        c->item[cn] = ord[i].item;
        size_t start = at;
        if (t) {
            char sep = strchr(t, '|') ? '|' : strchr(t, ',') ? ',' : ' ';
            const char *p = t;
            while (*p) {
                while (*p == sep || *p == ' ' || *p == '\t')
                    p++;
                const char *e = p;
                while (*e && *e != sep && !(sep == ' ' && *e == '\t'))
                    e++;
                const char *te = e;
                while (te > p && (te[-1] == ' ' || te[-1] == '\t'))
                    te--;
                if (te > p) {
                    long id = cat_id(&names, &nn, &cap, p, (size_t)(te - p));
                    if (id < 0)
                        goto fail_nomem;
                    bool dup = false;
                    for (size_t k = start; k < at && !dup; k++)
                        dup = c->cat[k] == (uint32_t)id;
                    if (!dup)
                        c->cat[at++] = (uint32_t)id;
                }
                p = e;
            }
        }
        c->ptr[cn + 1] = at;
        cn++;
    }
    c->nitems = cn;
    goto done;
fail_nomem:
    rc = nomem(err);
    lm_cats_free(c);
done:
    for (size_t i = 0; i < nn; i++)
        free(names[i].name);
    free(names);
    free(ord);
    return rc;
}

/* Categories of `item`: *n of them at the returned pointer. */
static const uint32_t *item_cats(const lm_cats *c, int64_t item, size_t *n)
{
    size_t lo = 0, hi = c->nitems;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->item[mid] < item)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < c->nitems && c->item[lo] == item) {
        *n = c->ptr[lo + 1] - c->ptr[lo];
        return c->cat + c->ptr[lo];
    }
    *n = 0;
    return NULL;
}

/* ---- metrics ------------------------------------------------------------- */

void lm_utility(size_t rank, size_t k, double *hit, double *ndcg, double *mrr)
{
    bool h = rank > 0 && rank <= k;
    *hit = h ? 1.0 : 0.0;
    *ndcg = h ? 1.0 / log2((double)rank + 1.0) : 0.0;
    *mrr = h ? 1.0 / (double)rank : 0.0;
}

/* |a ∩ b| of two sorted arrays. */
static size_t inter(const int64_t *a, size_t na, const int64_t *b, size_t nb)
{
    size_t i = 0, j = 0, c = 0;
    while (i < na && j < nb) {
        if (a[i] < b[j])
            i++;
        else if (a[i] > b[j])
            j++;
        else {
            c++;
            i++;
            j++;
        }
    }
    return c;
}

/* Sorted unique copy of v[0..n). */
static int64_t *sorted_unique(const int64_t *v, size_t n, size_t *m)
{
    int64_t *s = malloc((n ? n : 1) * sizeof *s);
    if (!s)
        return NULL;
    memcpy(s, v, n * sizeof *s);
    qsort(s, n, sizeof *s, i64_cmp);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!k || s[k - 1] != s[i])
            s[k++] = s[i];
    *m = k;
    return s;
}

typedef struct by_pop {
    double freq;
    size_t at; /* index among evaluated queries */
} by_pop;

static int by_pop_cmp(const void *a, const void *b)
{
    const by_pop *x = a, *y = b;
    if (x->freq != y->freq)
        return x->freq < y->freq ? -1 : 1;
    return (x->at > y->at) - (x->at < y->at);
}

/* PopREO: std / mean of HR over `groups` equal-size groups of queries
 * ordered by target popularity (sizes as numpy.array_split). */
static double popreo(const double *hit, const double *tfreq, size_t n,
                     size_t groups)
{
    if (groups < 2 || n < groups)
        return NAN;
    by_pop *o = malloc(n * sizeof *o);
    if (!o)
        return NAN;
    for (size_t i = 0; i < n; i++)
        o[i] = (by_pop){tfreq[i], i};
    qsort(o, n, sizeof *o, by_pop_cmp);
    double *g = calloc(groups, sizeof *g);
    if (!g) {
        free(o);
        return NAN;
    }
    size_t base = n / groups, extra = n % groups, at = 0;
    for (size_t gi = 0; gi < groups; gi++) {
        size_t len = base + (gi < extra ? 1 : 0);
        double s = 0.0;
        for (size_t i = 0; i < len; i++)
            s += hit[o[at + i].at];
        g[gi] = s / (double)len;
        at += len;
    }
    double mean = 0.0, var = 0.0;
    for (size_t gi = 0; gi < groups; gi++)
        mean += g[gi];
    mean /= (double)groups;
    for (size_t gi = 0; gi < groups; gi++)
        var += (g[gi] - mean) * (g[gi] - mean);
    var /= (double)groups;
    free(o);
    free(g);
    return mean > 0 ? sqrt(var) / mean : NAN;
}

/* Gini index of the exposure counts of the recommended items. */
static double gini(int64_t *all, size_t n)
{
    if (n == 0)
        return NAN;
    qsort(all, n, sizeof *all, i64_cmp);
    double *x = malloc(n * sizeof *x);
    if (!x)
        return NAN;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (i && all[i] == all[i - 1])
            x[m - 1] += 1.0;
        else
            x[m++] = 1.0;
    }
    qsort(x, m, sizeof *x, dbl_cmp);
    double num = 0.0, sum = 0.0;
    for (size_t i = 0; i < m; i++) {
        num += (2.0 * (double)(i + 1) - (double)m - 1.0) * x[i];
        sum += x[i];
    }
    free(x);
    return num / ((double)m * sum);
}

int lm_compute(const lm_sys *s, const lm_pop *pop, const lm_cats *cats,
               size_t k, size_t groups, lm_metrics *m, double *hit_out,
               double *ndcg_out, double *mrr_out, assay_error *err)
{
    size_t n = s->n, ne = 0;
    int rc = ASSAY_OK;
    memset(m, 0, sizeof *m);
    m->queries = n + s->failed_dropped;
    m->failed = s->failed_dropped;
    double *hit = malloc((n ? n : 1) * sizeof *hit);
    double *ndcg = malloc((n ? n : 1) * sizeof *ndcg);
    double *tfreq = malloc((n ? n : 1) * sizeof *tfreq);
    double *ulen = malloc((n ? n : 1) * sizeof *ulen);
    int64_t **tops = calloc(n ? n : 1, sizeof *tops);
    int64_t **cands = calloc(n ? n : 1, sizeof *cands);
    size_t *ntops = calloc(n ? n : 1, sizeof *ntops);
    size_t *ncands = calloc(n ? n : 1, sizeof *ncands);
    int64_t *all = NULL, *allc = NULL;
    size_t nall = 0, nallc = 0;
    if (!hit || !ndcg || !tfreq || !ulen || !tops || !cands || !ntops ||
        !ncands)
        goto fail_nomem;
    double s_hit = 0, s_ndcg = 0, s_mrr = 0, s_ndcg2 = 0;
    double s_arp = 0, s_aclt = 0, s_si = 0, s_ser = 0, s_sh = 0;
    size_t n_pop = 0, n_sh = 0, halluc = 0, slots = 0;
    size_t c_first = 0, n_first = 0, c_final = 0, n_final = 0;
    size_t total_top = 0, total_c = 0;
    for (size_t i = 0; i < n; i++)
        if (!s->q[i].failed) {
            total_top += s->q[i].ntop < k ? s->q[i].ntop : k;
            total_c += s->q[i].ncand;
        }
    all = malloc((total_top ? total_top : 1) * sizeof *all);
    allc = malloc((total_c ? total_c : 1) * sizeof *allc);
    if (!all || !allc)
        goto fail_nomem;
    for (size_t i = 0; i < n; i++) {
        const lm_query *q = &s->q[i];
        double h, nd, mr;
        if (q->failed) {
            m->failed++;
            if (hit_out && ndcg_out && mrr_out)
                hit_out[i] = ndcg_out[i] = mrr_out[i] = NAN;
            continue;
        }
        lm_utility(q->rank, k, &h, &nd, &mr);
        if (hit_out && ndcg_out && mrr_out) {
            hit_out[i] = h;
            ndcg_out[i] = nd;
            mrr_out[i] = mr;
        }
        hit[ne] = h;
        ndcg[ne] = nd;
        tfreq[ne] = lm_pop_freq(pop, q->target);
        ulen[ne] = lm_pop_ulen(pop, q->user);
        s_hit += h;
        s_ndcg += nd;
        s_mrr += mr;
        s_ndcg2 += nd * nd;
        size_t kq = q->ntop < k ? q->ntop : k;
        if (kq) {
            double a = 0, t = 0, si = 0;
            for (size_t j = 0; j < kq; j++) {
                double f = lm_pop_freq(pop, q->top[j]);
                a += f;
                t += f < pop->tail;
                si += log2((double)pop->nusers / (f > 1 ? f : 1.0));
                all[nall++] = q->top[j];
            }
            s_arp += a / (double)kq;
            s_aclt += t / (double)kq;
            s_si += si / (double)kq;
            n_pop++;
        }
        for (size_t j = 0; j < q->ncand; j++)
            allc[nallc++] = q->cands[j];
        /* MostPop's hit on the same candidates */
        double tf = tfreq[ne];
        size_t prank = 1;
        bool tin = false;
        for (size_t j = 0; j < q->ncand; j++) {
            if (q->cands[j] == q->target)
                tin = true;
            else if (lm_pop_freq(pop, q->cands[j]) > tf)
                prank++;
        }
        double hpop = tin && prank <= k ? 1.0 : 0.0;
        s_ser += h - h * hpop;
        /* category entropy of the top k */
        if (cats && kq) {
            uint32_t cid[512];
            double cc[512];
            size_t nc = 0;
            double tot = 0;
            for (size_t j = 0; j < kq; j++) {
                size_t ncat;
                const uint32_t *cs = item_cats(cats, q->top[j], &ncat);
                for (size_t a = 0; a < ncat; a++) {
                    size_t b = 0;
                    while (b < nc && cid[b] != cs[a])
                        b++;
                    if (b == nc) {
                        if (nc == 512)
                            continue;
                        cid[nc] = cs[a];
                        cc[nc++] = 0;
                    }
                    cc[b] += 1;
                    tot += 1;
                }
            }
            if (tot > 0) {
                double hsum = 0;
                for (size_t b = 0; b < nc; b++) {
                    double p = cc[b] / tot;
                    hsum -= p * log(p);
                }
                s_sh += hsum;
                n_sh++;
            }
        }
        /* per-query sorted sets for coverage and Jaccard */
        if (!(tops[ne] = sorted_unique(q->top, kq, &ntops[ne])) ||
            !(cands[ne] = sorted_unique(q->cands, q->ncand, &ncands[ne])))
            goto fail_nomem;
        if (s->llm) {
            halluc += q->halluc;
            slots += q->slots;
        }
        if (q->first_ok >= 0) {
            c_first += (size_t)q->first_ok;
            n_first++;
        }
        if (q->final_ok >= 0) {
            c_final += (size_t)q->final_ok;
            n_final++;
        }
        ne++;
    }
    m->evaluated = ne;
    double dn = (double)ne;
    m->hr = ne ? s_hit / dn : NAN;
    m->ndcg = ne ? s_ndcg / dn : NAN;
    m->mrr = ne ? s_mrr / dn : NAN;
    m->arp = n_pop ? s_arp / (double)n_pop : NAN;
    m->aclt = n_pop ? s_aclt / (double)n_pop : NAN;
    m->self_info = n_pop ? s_si / (double)n_pop : NAN;
    m->serendipity = ne ? s_ser / dn : NAN;
    m->jain = s_ndcg2 > 0 ? s_ndcg * s_ndcg / (dn * s_ndcg2) : NAN;
    m->popreo = popreo(hit, tfreq, ne, groups);
    m->shannon = cats && n_sh ? s_sh / (double)n_sh : NAN;
    m->halluc_rate = s->llm && slots ? (double)halluc / (double)slots : NAN;
    m->compliance = n_first ? (double)c_first / (double)n_first : NAN;
    m->final_compliance = n_final ? (double)c_final / (double)n_final : NAN;
    /* DPD: long vs short histories split at the median length */
    m->dpd = NAN;
    if (ne) {
        double *sl = malloc(ne * sizeof *sl);
        if (!sl)
            goto fail_nomem;
        memcpy(sl, ulen, ne * sizeof *sl);
        qsort(sl, ne, sizeof *sl, dbl_cmp);
        double med = lm_percentile(sl, ne, 0.5);
        free(sl);
        double a = 0, b = 0;
        size_t na = 0, nb = 0;
        for (size_t i = 0; i < ne; i++) {
            if (ulen[i] > med) {
                a += ndcg[i];
                na++;
            } else {
                b += ndcg[i];
                nb++;
            }
        }
        if (na && nb)
            m->dpd = fabs(a / (double)na - b / (double)nb);
    }
    /* coverage and Gini over the union of the lists */
    size_t ucand = 0, utop = 0;
    int64_t *uc = sorted_unique(allc, nallc, &ucand);
    int64_t *ut = uc ? sorted_unique(all, nall, &utop) : NULL;
    bool ok = uc && ut;
    free(uc);
    free(ut);
    if (!ok)
        goto fail_nomem;
    m->coverage = ucand ? (double)utop / (double)ucand : NAN;
    m->gini = gini(all, nall);
    /* Jaccard over pairs of queries whose candidate sets overlap */
    double s_j = 0;
    size_t n_j = 0;
    for (size_t a = 0; a < ne; a++) {
        for (size_t b = a + 1; b < ne; b++) {
            size_t ci = inter(cands[a], ncands[a], cands[b], ncands[b]);
            if (!ci)
                continue;
            s_j += (double)inter(tops[a], ntops[a], tops[b], ntops[b]) /
                   (double)ci;
            n_j++;
        }
    }
    m->jaccard = n_j ? s_j / (double)n_j : NAN;
    goto done;
fail_nomem:
    rc = nomem(err);
done:
    for (size_t i = 0; i < ne; i++) {
        free(tops[i]);
        free(cands[i]);
    }
    if (rc && tops && cands && ne < n) {
        free(tops[ne]);
        free(cands[ne]);
    }
    free(tops);
    free(cands);
    free(ntops);
    free(ncands);
    free(all);
    free(allc);
    free(hit);
    free(ndcg);
    free(tfreq);
    free(ulen);
    return rc;
}

int lm_metrics_json(const lm_metrics *m, size_t k, json_t *o)
{
    struct {
        const char *name;
        double v;
    } at_k[] = {{"hr", m->hr},
                {"ndcg", m->ndcg},
                {"mrr", m->mrr},
                {"arp", m->arp},
                {"aclt", m->aclt},
                {"popreo", m->popreo},
                {"gini", m->gini},
                {"jain", m->jain},
                {"dpd", m->dpd},
                {"coverage", m->coverage},
                {"shannon", m->shannon},
                {"jaccard", m->jaccard},
                {"serendipity", m->serendipity},
                {"self_info", m->self_info}};
    char key[48];
    for (size_t i = 0; i < sizeof at_k / sizeof *at_k; i++) {
        snprintf(key, sizeof key, "%s@%zu", at_k[i].name, k);
        if (json_object_set_new(o, key, lm_num(at_k[i].v)))
            return ASSAY_ENOMEM;
    }
    return ASSAY_OK;
}

void lm_paired_delta(const double *a, const double *b, size_t n,
                     unsigned resamples, double level, uint64_t seed,
                     double *delta, double *lo, double *hi)
{
    double *d = malloc((n ? n : 1) * sizeof *d);
    size_t m = 0;
    *delta = *lo = *hi = NAN;
    if (!d)
        return;
    for (size_t i = 0; i < n; i++)
        if (isfinite(a[i]) && isfinite(b[i]))
            d[m++] = b[i] - a[i];
    if (m == 0) {
        free(d);
        return;
    }
    double s = 0;
    for (size_t i = 0; i < m; i++)
        s += d[i];
    *delta = s / (double)m;
    double *boot = resamples ? malloc(resamples * sizeof *boot) : NULL;
    if (boot) {
        assay_rng rng;
        assay_rng_init(&rng, seed);
        for (unsigned r = 0; r < resamples; r++) {
            double t = 0;
            for (size_t i = 0; i < m; i++)
                t += d[assay_rng_below(&rng, m)];
            boot[r] = t / (double)m;
        }
        qsort(boot, resamples, sizeof *boot, dbl_cmp);
        *lo = lm_percentile(boot, resamples, (1.0 - level) / 2.0);
        *hi = lm_percentile(boot, resamples, 1.0 - (1.0 - level) / 2.0);
    }
    free(boot);
    free(d);
}
