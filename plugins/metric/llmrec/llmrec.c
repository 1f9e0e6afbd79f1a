/*
 * metric.llmrec family - evaluating LLMs as recommenders beyond utility
 * (Jiang et al., "Beyond Utility: Evaluating LLM as Recommender", WWW
 * 2025):
 *   metric.llmrec           utility and beyond-utility metrics of LLM and
 *                           traditional systems on the same candidates,
 *                           hallucination and compliance
 *   metric.llmrec-history   history-length sensitivity (utility vs L)
 *   metric.llmrec-position  candidate position bias (target-first vs
 *                           shuffled, positions of the recommended items)
 *   metric.llmrec-profile   generation-involved performance (profile
 *                           prompts vs history-only)
 */
#include <assay/plugin.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lm.h"

#define LM_MAX_KS 8

typedef struct lm_state {
    const assay_host *h;
    json_t *opts;
    size_t ks[LM_MAX_KS], nk;
} lm_state;

static int nomem(assay_error *err)
{
    return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
}

static int read_ks(const json_t *opts, size_t *ks, size_t *nk, assay_error *err)
{
    const json_t *a = json_object_get(opts, "ks");
    size_t i;
    json_t *v;
    *nk = 0;
    if (!json_is_array(a) || json_array_size(a) == 0 ||
        json_array_size(a) > LM_MAX_KS)
        return assay_error_set(err, ASSAY_EINVAL,
                               "option 'ks': expected a list of 1 to %d "
                               "cut-offs",
                               LM_MAX_KS);
    json_array_foreach(a, i, v)
    {
        if (!json_is_integer(v) || json_integer_value(v) < 1 ||
            json_integer_value(v) > 1000)
            return assay_error_set(err, ASSAY_EINVAL,
                                   "option 'ks': element %zu must be an "
                                   "integer in [1, 1000]",
                                   i);
        ks[(*nk)++] = (size_t)json_integer_value(v);
    }
    return ASSAY_OK;
}

static int lm_create(const assay_host *h, const json_t *options, void **state,
                     assay_error *err)
{
    lm_state *s = calloc(1, sizeof *s);
    int rc;
    if (!s)
        return nomem(err);
    s->h = h;
    if (!(s->opts = json_deep_copy(options))) {
        free(s);
        return nomem(err);
    }
    if ((rc = read_ks(options, s->ks, &s->nk, err))) {
        json_decref(s->opts);
        free(s);
        return rc;
    }
    *state = s;
    return ASSAY_OK;
}

static void lm_destroy(void *state)
{
    lm_state *s = state;
    if (!s)
        return;
    json_decref(s->opts);
    free(s);
}

/* ---- inputs -------------------------------------------------------------- */

static void systems_free(lm_sys *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        lm_sys_free(&v[i]);
    free(v);
}

/* The name given for system `i` in list option `opt`, or NULL. */
static const char *opt_name(const json_t *opts, const char *opt, size_t i)
{
    return json_string_value(json_array_get(json_object_get(opts, opt), i));
}

/*
 * Read the systems on input `port`: a multi input delivers a JSON array
 * with one records array per connected value; a records value is one
 * system.  Names from list option `names_opt`, else the records'
 * `system` field, else "<port><i>".
 */
static int read_systems(const lm_state *s, assay_io *io, const char *port,
                        const char *names_opt, bool required, lm_sys **out,
                        size_t *nout, assay_error *err)
{
    const assay_host *h = s->h;
    assay_type t = h->in_type(io, port);
    const json_t *v = t == ASSAY_T_RECORDS ? h->in_records(io, port)
                      : t                  ? h->in_json(io, port)
                                           : NULL;
    *out = NULL;
    *nout = 0;
    if (!v) {
        if (required)
            return assay_error_set(err, ASSAY_EINVAL,
                                   "input '%s' is not connected", port);
        return ASSAY_OK;
    }
    if (!json_is_array(v))
        return assay_error_set(err, ASSAY_EDATA,
                               "input '%s': expected records, got %s", port,
                               assay__json_type_name(v));
    bool nested = json_array_size(v) > 0 && json_is_array(json_array_get(v, 0));
    size_t n = nested ? json_array_size(v) : 1;
    lm_sys *sys = calloc(n, sizeof *sys);
    if (!sys)
        return nomem(err);
    for (size_t i = 0; i < n; i++) {
        char fb[64];
        snprintf(fb, sizeof fb, "%s%zu", port, i + 1);
        const json_t *recs = nested ? json_array_get(v, i) : v;
        int rc = lm_sys_read(recs, opt_name(s->opts, names_opt, i), fb, &sys[i],
                             err);
        if (rc) {
            if (nested)
                assay_error_prefix(err, "input '%s' value %zu: ", port, i + 1);
            else
                assay_error_prefix(err, "input '%s': ", port);
            systems_free(sys, i);
            return rc;
        }
    }
    *out = sys;
    *nout = n;
    return ASSAY_OK;
}

/* Training statistics from the `train` table (user, item). */
static int read_pop(const lm_state *s, assay_io *io, lm_pop *pop,
                    assay_error *err)
{
    const assay_table *t = s->h->in_table(io, "train");
    const assay_column *cu = NULL, *ci = NULL;
    int rc;
    if (!t)
        return assay_error_set(err, ASSAY_EINVAL,
                               "input 'train' is not connected");
    if ((rc = assay_table_need(t, "user", ASSAY_COL_INT64, &cu, err)) ||
        (rc = assay_table_need(t, "item", ASSAY_COL_INT64, &ci, err))) {
        assay_error_prefix(err, "input 'train': ");
        return rc;
    }
    return lm_pop_build(pop, assay_col_i64(cu), assay_col_i64(ci), t->nrows,
                        assay_opt_num(s->opts, "tail_quantile"), err);
}

/* Item categories from the optional `items` table; *have false when it
 * is not connected. */
static int read_cats(const lm_state *s, assay_io *io, lm_cats *cats, bool *have,
                     assay_error *err)
{
    static const char *const guess[] = {"genres",     "class", "category",
                                        "categories", "genre", NULL};
    const assay_table *t = s->h->in_table(io, "items");
    const char *f = assay_opt_str(s->opts, "category_field");
    *have = false;
    if (!t)
        return ASSAY_OK;
    const assay_column *ci = assay_table_col(t, "item"), *cc = NULL;
    if (f)
        cc = assay_table_col(t, f);
    for (size_t i = 0; !f && guess[i] && !cc; i++)
        cc = assay_table_col(t, guess[i]);
    if (!ci || ci->type != ASSAY_COL_INT64)
        return assay_error_set(err, ASSAY_EDATA,
                               "input 'items': needs an int64 column "
                               "'item'");
    if (!cc || cc->type != ASSAY_COL_STRING)
        return assay_error_set(err, ASSAY_EDATA,
                               "input 'items': no string column of "
                               "categories ('%s')",
                               f ? f : "genres, class, category");
    int rc =
        lm_cats_build(cats, assay_col_i64(ci),
                      (const char *const *)assay_col_str(cc), t->nrows, err);
    *have = rc == 0;
    return rc;
}

static bool put(json_t *o, const char *k, json_t *v)
{
    return json_object_set_new(o, k, v) == 0;
}

/* hr/ndcg/mrr@k of `m` into `o`. */
static bool put_utility(json_t *o, const lm_metrics *m, size_t k)
{
    char key[48];
    snprintf(key, sizeof key, "hr@%zu", k);
    if (!put(o, key, lm_num(m->hr)))
        return false;
    snprintf(key, sizeof key, "ndcg@%zu", k);
    if (!put(o, key, lm_num(m->ndcg)))
        return false;
    snprintf(key, sizeof key, "mrr@%zu", k);
    return put(o, key, lm_num(m->mrr));
}

/* The system-level fields that do not depend on k. */
static bool put_sys_info(json_t *o, const lm_sys *sys, const lm_metrics *m)
{
    return put(o, "kind", json_string(sys->llm ? "llm" : "scores")) &&
           put(o, "queries", json_integer((json_int_t)m->queries)) &&
           put(o, "failed", json_integer((json_int_t)m->failed)) &&
           put(o, "evaluated", json_integer((json_int_t)m->evaluated)) &&
           put(o, "hallucination_rate", lm_num(m->halluc_rate)) &&
           put(o, "compliance_rate", lm_num(m->compliance)) &&
           put(o, "final_compliance_rate", lm_num(m->final_compliance)) &&
           (sys->history_len < 0 ||
            put(o, "history_len", json_integer(sys->history_len))) &&
           (!sys->prompt || put(o, "prompt", json_string(sys->prompt))) &&
           (!sys->order || put(o, "order", json_string(sys->order)));
}

static int check_names(lm_sys *sys, size_t n, assay_error *err)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (!strcmp(sys[i].name, sys[j].name))
                return assay_error_set(err, ASSAY_EINVAL,
                                       "two systems are named '%s': set "
                                       "option 'names'",
                                       sys[i].name);
    return ASSAY_OK;
}

/* ---- metric.llmrec ------------------------------------------------------- */

static int llmrec_run(void *state, assay_io *io, assay_error *err)
{
    lm_state *s = state;
    const assay_host *h = s->h;
    lm_sys *sys = NULL;
    size_t ns = 0;
    lm_pop pop = {0};
    lm_cats cats = {0};
    bool have_cats = false;
    json_t *summary = NULL, *items = NULL, *board = NULL;
    double *hit = NULL, *ndcg = NULL, *mrr = NULL;
    size_t *kept = NULL;
    int rc;
    bool common = assay_opt_bool(s->opts, "common");
    size_t groups = (size_t)assay_opt_int(s->opts, "popreo_groups");

    if ((rc = read_systems(s, io, "systems", "names", true, &sys, &ns, err)) ||
        (rc = check_names(sys, ns, err)) || (rc = read_pop(s, io, &pop, err)) ||
        (rc = read_cats(s, io, &cats, &have_cats, err)))
        goto done;
    kept = calloc(ns ? ns : 1, sizeof *kept);
    if (!kept)
        goto fail_nomem;
    if (common && ns > 1 && (rc = lm_common(sys, ns, kept, err)))
        goto done;
    summary = json_object();
    items = json_array();
    board = json_array();
    json_t *sysobj = json_object(), *ksj = json_array();
    if (!summary || !items || !board || !put(summary, "systems", sysobj) ||
        !put(summary, "ks", ksj) ||
        !put(summary, "common_queries", json_boolean(common)) ||
        !put(summary, "long_tail_threshold", lm_num(pop.tail)) ||
        !put(summary, "train_users", json_integer((json_int_t)pop.nusers)))
        goto fail_nomem;
    for (size_t j = 0; j < s->nk; j++)
        if (json_array_append_new(ksj, json_integer((json_int_t)s->ks[j])))
            goto fail_nomem;
    for (size_t si = 0; si < ns; si++) {
        const lm_sys *x = &sys[si];
        json_t *o = json_object(), *row = json_object();
        if (!put(sysobj, x->name, o) || !row ||
            json_array_append_new(board, row) ||
            !put(row, "system", json_string(x->name)))
            goto fail_nomem;
        free(hit);
        free(ndcg);
        free(mrr);
        hit = malloc((s->nk * x->n + 1) * sizeof *hit);
        ndcg = malloc((s->nk * x->n + 1) * sizeof *ndcg);
        mrr = malloc((s->nk * x->n + 1) * sizeof *mrr);
        if (!hit || !ndcg || !mrr)
            goto fail_nomem;
        for (size_t j = 0; j < s->nk; j++) {
            lm_metrics m;
            if (h->cancelled(h)) {
                rc = assay_error_set(err, ASSAY_ECANCELED, "cancelled");
                goto done;
            }
            if ((rc = lm_compute(x, &pop, have_cats ? &cats : NULL, s->ks[j],
                                 groups, &m, hit + j * x->n, ndcg + j * x->n,
                                 mrr + j * x->n, err)))
                goto done;
            if (lm_metrics_json(&m, s->ks[j], o) ||
                lm_metrics_json(&m, s->ks[j], row))
                goto fail_nomem;
            if (j == 0 &&
                (!put_sys_info(o, x, &m) || !put_sys_info(row, x, &m)))
                goto fail_nomem;
        }
        for (size_t i = 0; i < x->n; i++) {
            const lm_query *q = &x->q[i];
            json_t *r = json_pack(
                "{s:s, s:I, s:I, s:o, s:b}", "system", x->name, "user",
                (json_int_t)q->user, "target", (json_int_t)q->target, "rank",
                q->rank ? json_integer((json_int_t)q->rank) : json_null(),
                "failed", q->failed);
            if (!r || json_array_append_new(items, r))
                goto fail_nomem;
            for (size_t j = 0; j < s->nk; j++) {
                char key[48];
                size_t at = j * x->n + i;
                snprintf(key, sizeof key, "hr@%zu", s->ks[j]);
                if (!put(r, key, lm_num(hit[at])))
                    goto fail_nomem;
                snprintf(key, sizeof key, "ndcg@%zu", s->ks[j]);
                if (!put(r, key, lm_num(ndcg[at])))
                    goto fail_nomem;
                snprintf(key, sizeof key, "mrr@%zu", s->ks[j]);
                if (!put(r, key, lm_num(mrr[at])))
                    goto fail_nomem;
            }
        }
    }
    rc = h->out_json(io, "summary", summary, err);
    summary = NULL;
    if (rc)
        goto done;
    rc = h->out_records(io, "items", items, err);
    items = NULL;
    if (rc)
        goto done;
    rc = h->out_records(io, "leaderboard", board, err);
    board = NULL;
    goto done;
fail_nomem:
    rc = nomem(err);
done:
    json_decref(summary);
    json_decref(items);
    json_decref(board);
    free(hit);
    free(ndcg);
    free(mrr);
    free(kept);
    systems_free(sys, ns);
    lm_pop_free(&pop);
    lm_cats_free(&cats);
    return rc;
}

/* ---- shared by the dimension nodes --------------------------------------- */

/* Utility of system `x` at every k, into `o` (and hallucination and
 * compliance).  Per-query ndcg@k at the largest k goes to `ndcg_last`
 * (x->n values) when given, hit/mrr likewise. */
static int utility_json(const lm_state *s, const lm_sys *x, json_t *o,
                        double *hit_last, double *ndcg_last, double *mrr_last,
                        assay_error *err)
{
    static const lm_pop empty = {0};
    lm_metrics m = {0};
    double *hit = malloc((x->n + 1) * sizeof *hit);
    double *ndcg = malloc((x->n + 1) * sizeof *ndcg);
    double *mrr = malloc((x->n + 1) * sizeof *mrr);
    int rc = ASSAY_OK;
    if (!hit || !ndcg || !mrr) {
        rc = nomem(err);
        goto done;
    }
    for (size_t j = 0; j < s->nk; j++) {
        if ((rc = lm_compute(x, &empty, NULL, s->ks[j], 5, &m, hit, ndcg, mrr,
                             err)))
            goto done;
        if (!put_utility(o, &m, s->ks[j])) {
            rc = nomem(err);
            goto done;
        }
        if (j + 1 == s->nk) {
            if (hit_last)
                memcpy(hit_last, hit, x->n * sizeof *hit);
            if (ndcg_last)
                memcpy(ndcg_last, ndcg, x->n * sizeof *ndcg);
            if (mrr_last)
                memcpy(mrr_last, mrr, x->n * sizeof *mrr);
        }
    }
    if (!put(o, "queries", json_integer((json_int_t)m.queries)) ||
        !put(o, "failed", json_integer((json_int_t)m.failed)) ||
        !put(o, "hallucination_rate", lm_num(m.halluc_rate)) ||
        !put(o, "compliance_rate", lm_num(m.compliance)))
        rc = nomem(err);
done:
    free(hit);
    free(ndcg);
    free(mrr);
    return rc;
}

/* Restrict `sys` to common queries and sort them for pairing. */
static int align(lm_sys *sys, size_t n, assay_error *err)
{
    size_t *kept = calloc(n ? n : 1, sizeof *kept);
    if (!kept)
        return nomem(err);
    int rc = lm_common(sys, n, kept, err);
    free(kept);
    for (size_t i = 0; rc == 0 && i < n; i++)
        lm_sort(&sys[i]);
    return rc;
}

/* {value, ci_low, ci_high} of mean(b) - mean(a) per query. */
static json_t *delta_json(const lm_state *s, const double *a, const double *b,
                          size_t n, const char *stream)
{
    double d, lo, hi;
    unsigned B = (unsigned)assay_opt_int(s->opts, "bootstrap");
    double level = assay_opt_num(s->opts, "ci_level");
    lm_paired_delta(a, b, n, B, level, s->h->seed(s->h, stream), &d, &lo, &hi);
    json_t *o = json_object();
    if (!o || !put(o, "value", lm_num(d)) || !put(o, "ci_low", lm_num(lo)) ||
        !put(o, "ci_high", lm_num(hi))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Deltas of hr/ndcg/mrr at the largest k: variant minus base. */
static json_t *deltas(const lm_state *s, const double *const base[3],
                      const double *const var[3], size_t n, const char *stream)
{
    static const char *const names[3] = {"hr", "ndcg", "mrr"};
    json_t *o = json_object();
    char key[48];
    for (int m = 0; o && m < 3; m++) {
        snprintf(key, sizeof key, "%s@%zu", names[m], s->ks[s->nk - 1]);
        if (!put(o, key, delta_json(s, base[m], var[m], n, stream))) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

static int emit(const assay_host *h, assay_io *io, const char *p1, json_t *v1,
                const char *p2, json_t *v2, assay_error *err)
{
    int rc = h->out_json(io, p1, v1, err);
    if (rc) {
        json_decref(v2);
        return rc;
    }
    return h->out_records(io, p2, v2, err);
}

/* ---- metric.llmrec-history ----------------------------------------------- */

typedef struct curve_pt {
    const char *family;
    double len;
    double ndcg; /* at the largest k */
    json_t *row;
} curve_pt;

static int pt_cmp(const void *a, const void *b)
{
    const curve_pt *x = a, *y = b;
    int c = strcmp(x->family, y->family);
    if (c)
        return c;
    return (x->len > y->len) - (x->len < y->len);
}

/* Summary of one family's curve pts[0..n) (sorted by length). */
static json_t *family_summary(const lm_state *s, const curve_pt *pts, size_t n)
{
    json_t *o = json_object(), *points = json_array();
    char key[64];
    if (!o || !points || !put(o, "points", points)) {
        json_decref(o);
        json_decref(points);
        return NULL;
    }
    size_t best = 0, worst = 0;
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (json_array_append_new(points, json_incref(pts[i].row)))
            goto fail;
        if (!isfinite(pts[i].ndcg))
            continue;
        if (!isfinite(pts[best].ndcg) || pts[i].ndcg > pts[best].ndcg)
            best = i;
        if (!isfinite(pts[worst].ndcg) || pts[i].ndcg < pts[worst].ndcg)
            worst = i;
        if (pts[i].len > 0) {
            double x = log2(pts[i].len);
            sx += x;
            sy += pts[i].ndcg;
            sxx += x * x;
            sxy += x * pts[i].ndcg;
            m++;
        }
    }
    size_t k = s->ks[s->nk - 1];
    double slope = NAN;
    if (m >= 2 && m * sxx - sx * sx > 0)
        slope = (m * sxy - sx * sy) / (m * sxx - sx * sx);
    snprintf(key, sizeof key, "slope_ndcg@%zu_per_doubling", k);
    if (!put(o, "best_history_len",
             n && isfinite(pts[best].ndcg) ? json_real(pts[best].len)
                                           : json_null()) ||
        !put(o, "worst_history_len",
             n && isfinite(pts[worst].ndcg) ? json_real(pts[worst].len)
                                            : json_null()))
        goto fail;
    snprintf(key, sizeof key, "spread_ndcg@%zu", k);
    if (!put(o, key,
             n && isfinite(pts[best].ndcg)
                 ? json_real(pts[best].ndcg - pts[worst].ndcg)
                 : json_null()))
        goto fail;
    snprintf(key, sizeof key, "slope_ndcg@%zu_per_doubling", k);
    if (!put(o, key, lm_num(slope)))
        goto fail;
    return o;
fail:
    json_decref(o);
    return NULL;
}

static int history_run(void *state, assay_io *io, assay_error *err)
{
    lm_state *s = state;
    const assay_host *h = s->h;
    lm_sys *runs = NULL, *base = NULL, *all = NULL;
    size_t nr = 0, nb = 0, na = 0;
    curve_pt *pts = NULL;
    json_t *summary = NULL, *curve = NULL;
    int rc;
    if ((rc = read_systems(s, io, "runs", "names", true, &runs, &nr, err)) ||
        (rc = read_systems(s, io, "baselines", "baseline_names", false, &base,
                           &nb, err)))
        goto done;
    na = nr + nb;
    all = calloc(na ? na : 1, sizeof *all);
    pts = calloc(na ? na : 1, sizeof *pts);
    if (!all || !pts)
        goto fail_nomem;
    memcpy(all, runs, nr * sizeof *all);
    if (nb)
        memcpy(all + nr, base, nb * sizeof *all);
    free(runs);
    free(base);
    runs = base = NULL;
    if ((rc = align(all, na, err)))
        goto done;
    summary = json_object();
    curve = json_array();
    json_t *fams = json_object();
    if (!summary || !curve || !put(summary, "families", fams))
        goto fail_nomem;
    for (size_t i = 0; i < na; i++) {
        lm_sys *x = &all[i];
        bool is_base = i >= nr;
        const json_t *lens =
            json_object_get(s->opts, is_base ? "baseline_lens" : "lens");
        json_t *l = json_array_get(lens, is_base ? i - nr : i);
        double len = json_is_number(l)     ? json_number_value(l)
                     : x->history_len >= 0 ? (double)x->history_len
                                           : NAN;
        if (!isfinite(len)) {
            rc = assay_error_set(err, ASSAY_EINVAL,
                                 "%s %zu ('%s'): history length unknown: "
                                 "give option '%s'",
                                 is_base ? "baseline" : "run",
                                 (is_base ? i - nr : i) + 1, x->name,
                                 is_base ? "baseline_lens" : "lens");
            goto done;
        }
        /* a family: the LLM runs (by name prefix option) or baselines */
        const char *fam = is_base ? opt_name(s->opts, "baseline_names", i - nr)
                                  : assay_opt_str(s->opts, "family");
        if (!fam)
            fam = is_base ? x->name : "llm";
        json_t *row = json_object();
        double *nd = malloc((x->n + 1) * sizeof *nd);
        pts[i] = (curve_pt){fam, len, NAN, row};
        if (!row || !nd) {
            free(nd);
            goto fail_nomem;
        }
        rc = utility_json(s, x, row, NULL, nd, NULL, err);
        if (rc == 0 &&
            (!put(row, "system", json_string(x->name)) ||
             !put(row, "family", json_string(fam)) ||
             !put(row, "kind", json_string(is_base ? "baseline" : "llm")) ||
             !put(row, "history_len", json_real(len))))
            rc = nomem(err);
        free(nd);
        if (rc)
            goto done;
        char key[48];
        snprintf(key, sizeof key, "ndcg@%zu", s->ks[s->nk - 1]);
        pts[i].ndcg = json_number_value(json_object_get(row, key));
        if (json_is_null(json_object_get(row, key)))
            pts[i].ndcg = NAN;
    }
    qsort(pts, na, sizeof *pts, pt_cmp);
    for (size_t a = 0; a < na;) {
        size_t b = a;
        while (b < na && !strcmp(pts[b].family, pts[a].family))
            b++;
        if (!put(fams, pts[a].family, family_summary(s, pts + a, b - a)))
            goto fail_nomem;
        a = b;
    }
    for (size_t i = 0; i < na; i++)
        if (json_array_append_new(curve, json_incref(pts[i].row)))
            goto fail_nomem;
    if (!put(summary, "queries", json_integer((json_int_t)(na ? all[0].n : 0))))
        goto fail_nomem;
    rc = emit(h, io, "summary", summary, "curve", curve, err);
    summary = curve = NULL;
    goto done;
fail_nomem:
    rc = nomem(err);
done:
    for (size_t i = 0; pts && i < na; i++)
        json_decref(pts[i].row);
    free(pts);
    json_decref(summary);
    json_decref(curve);
    systems_free(runs, nr);
    systems_free(base, nb);
    systems_free(all, na);
    return rc;
}

/* ---- metric.llmrec-position ---------------------------------------------- */

/* Shown positions of the recommended items of `x` (top k), counted per
 * position 1..maxn, and of the first recommended item. */
typedef struct pos_stats {
    double *all, *top1; /* maxn + 1 entries, index = position */
    double total, total1, sum_pos;
} pos_stats;

static int pos_count(const lm_sys *x, size_t k, size_t maxn, pos_stats *p)
{
    p->all = calloc(maxn + 1, sizeof *p->all);
    p->top1 = calloc(maxn + 1, sizeof *p->top1);
    p->total = p->total1 = p->sum_pos = 0;
    if (!p->all || !p->top1)
        return ASSAY_ENOMEM;
    for (size_t i = 0; i < x->n; i++) {
        const lm_query *q = &x->q[i];
        if (q->failed)
            continue;
        size_t kq = q->ntop < k ? q->ntop : k;
        bool first = true;
        for (size_t j = 0; j < kq; j++) {
            size_t p1 = 0;
            for (size_t c = 0; c < q->ncand && !p1; c++)
                if (q->cands[c] == q->top[j])
                    p1 = c + 1;
            if (!p1 || p1 > maxn)
                continue;
            p->all[p1] += 1;
            p->total += 1;
            p->sum_pos += (double)p1;
            if (first) {
                p->top1[p1] += 1;
                p->total1 += 1;
                first = false;
            }
        }
    }
    return ASSAY_OK;
}

static json_t *pos_json(const pos_stats *p, size_t maxn)
{
    json_t *share = json_array();
    for (size_t i = 1; share && i <= maxn; i++)
        if (json_array_append_new(
                share, lm_num(p->total ? p->all[i] / p->total : NAN))) {
            json_decref(share);
            return NULL;
        }
    size_t q = maxn / 4 ? maxn / 4 : 1;
    double first_q = 0;
    for (size_t i = 1; i <= q && i <= maxn; i++)
        first_q += p->all[i];
    return json_pack(
        "{s:o, s:o, s:o, s:o, s:f}", "share_by_position", share,
        "mean_position", lm_num(p->total ? p->sum_pos / p->total : NAN),
        "first_position_top1_share",
        lm_num(p->total1 ? p->top1[1] / p->total1 : NAN), "first_quarter_share",
        lm_num(p->total ? first_q / p->total : NAN), "expected_share",
        maxn ? 1.0 / (double)maxn : 0.0);
}

static int position_run(void *state, assay_io *io, assay_error *err)
{
    lm_state *s = state;
    const assay_host *h = s->h;
    lm_sys *sys = NULL, *a = NULL, *b = NULL;
    size_t n1 = 0, n2 = 0;
    json_t *summary = NULL, *rows = NULL;
    pos_stats ps[2] = {{0}};
    double *u[2][3] = {{NULL}};
    int rc;
    if ((rc = read_systems(s, io, "shuffled", "names", true, &a, &n1, err)) ||
        (rc = read_systems(s, io, "first", "first_names", true, &b, &n2, err)))
        goto done;
    if (n1 != 1 || n2 != 1) {
        rc = assay_error_set(err, ASSAY_EINVAL,
                             "inputs 'shuffled' and 'first' take one run "
                             "each");
        goto done;
    }
    sys = calloc(2, sizeof *sys);
    if (!sys)
        goto fail_nomem;
    sys[0] = a[0];
    sys[1] = b[0];
    free(a);
    free(b);
    a = b = NULL;
    if (!sys[0].llm || !sys[1].llm) {
        rc = assay_error_set(err, ASSAY_EDATA,
                             "position bias needs rec.llm lists (with the "
                             "candidates in the order shown)");
        goto done;
    }
    if ((rc = align(sys, 2, err)))
        goto done;
    size_t n = sys[0].n, maxn = 0, k = s->ks[s->nk - 1];
    for (int v = 0; v < 2; v++)
        for (size_t i = 0; i < sys[v].n; i++)
            if (sys[v].q[i].ncand > maxn)
                maxn = sys[v].q[i].ncand;
    summary = json_object();
    rows = json_array();
    json_t *o[2] = {json_object(), json_object()};
    if (!summary || !rows || !put(summary, "shuffled", o[0]) ||
        !put(summary, "target_first", o[1]) ||
        !put(summary, "queries", json_integer((json_int_t)n)) ||
        !put(summary, "n_candidates", json_integer((json_int_t)maxn)))
        goto fail_nomem;
    for (int v = 0; v < 2; v++) {
        for (int m = 0; m < 3; m++)
            if (!(u[v][m] = malloc((n + 1) * sizeof(double))))
                goto fail_nomem;
        if ((rc = utility_json(s, &sys[v], o[v], u[v][0], u[v][1], u[v][2],
                               err)))
            goto done;
        if (pos_count(&sys[v], k, maxn, &ps[v]))
            goto fail_nomem;
        if (!put(o[v], "positions", pos_json(&ps[v], maxn)) ||
            !put(o[v], "system", json_string(sys[v].name)))
            goto fail_nomem;
    }
    const double *const base[3] = {u[0][0], u[0][1], u[0][2]};
    const double *const var[3] = {u[1][0], u[1][1], u[1][2]};
    if (!put(summary, "gap", deltas(s, base, var, n, "position")))
        goto fail_nomem;
    /* hit rate by the target's shown position in the shuffled run */
    double *tq = calloc(maxn + 1, sizeof *tq),
           *th = calloc(maxn + 1, sizeof *th);
    if (!tq || !th) {
        free(tq);
        free(th);
        goto fail_nomem;
    }
    for (size_t i = 0; i < n; i++) {
        const lm_query *q = &sys[0].q[i];
        size_t p1 = 0;
        for (size_t c = 0; c < q->ncand && !p1; c++)
            if (q->cands[c] == q->target)
                p1 = c + 1;
        if (!p1 || q->failed)
            continue;
        tq[p1] += 1;
        th[p1] += q->rank > 0 && q->rank <= k;
    }
    for (size_t p = 1; p <= maxn; p++) {
        json_t *r = json_pack(
            "{s:I, s:o, s:o, s:o, s:o, s:I, s:o}", "position", (json_int_t)p,
            "shuffled_share",
            lm_num(ps[0].total ? ps[0].all[p] / ps[0].total : NAN),
            "target_first_share",
            lm_num(ps[1].total ? ps[1].all[p] / ps[1].total : NAN),
            "shuffled_top1_share",
            lm_num(ps[0].total1 ? ps[0].top1[p] / ps[0].total1 : NAN),
            "target_first_top1_share",
            lm_num(ps[1].total1 ? ps[1].top1[p] / ps[1].total1 : NAN),
            "shuffled_target_queries", (json_int_t)tq[p],
            "shuffled_target_hit_rate", lm_num(tq[p] ? th[p] / tq[p] : NAN));
        if (!r || json_array_append_new(rows, r)) {
            free(tq);
            free(th);
            goto fail_nomem;
        }
    }
    free(tq);
    free(th);
    rc = emit(h, io, "summary", summary, "positions", rows, err);
    summary = rows = NULL;
    goto done;
fail_nomem:
    rc = nomem(err);
done:
    for (int v = 0; v < 2; v++) {
        free(ps[v].all);
        free(ps[v].top1);
        for (int m = 0; m < 3; m++)
            free(u[v][m]);
    }
    json_decref(summary);
    json_decref(rows);
    systems_free(a, n1);
    systems_free(b, n2);
    systems_free(sys, sys ? 2 : 0);
    return rc;
}

/* ---- metric.llmrec-profile ----------------------------------------------- */

static int profile_run(void *state, assay_io *io, assay_error *err)
{
    lm_state *s = state;
    const assay_host *h = s->h;
    lm_sys *b = NULL, *v = NULL, *all = NULL;
    size_t nb = 0, nv = 0, na = 0;
    json_t *summary = NULL, *rows = NULL;
    double **u = NULL;
    int rc;
    if ((rc =
             read_systems(s, io, "history", "base_name", true, &b, &nb, err)) ||
        (rc = read_systems(s, io, "variants", "names", true, &v, &nv, err)))
        goto done;
    if (nb != 1) {
        rc =
            assay_error_set(err, ASSAY_EINVAL, "input 'history' takes one run");
        goto done;
    }
    na = 1 + nv;
    all = calloc(na, sizeof *all);
    u = calloc(3 * na, sizeof *u);
    if (!all || !u)
        goto fail_nomem;
    all[0] = b[0];
    memcpy(all + 1, v, nv * sizeof *all);
    free(b);
    free(v);
    b = v = NULL;
    if ((rc = check_names(all, na, err)) || (rc = align(all, na, err)))
        goto done;
    size_t n = all[0].n;
    summary = json_object();
    rows = json_array();
    json_t *vars = json_object(), *base = json_object();
    if (!summary || !rows || !put(summary, "base", base) ||
        !put(summary, "variants", vars) ||
        !put(summary, "queries", json_integer((json_int_t)n)))
        goto fail_nomem;
    for (size_t i = 0; i < na; i++) {
        json_t *o = i ? json_object() : base;
        if (i && !put(vars, all[i].name, o))
            goto fail_nomem;
        for (int m = 0; m < 3; m++)
            if (!(u[3 * i + m] = malloc((n + 1) * sizeof(double))))
                goto fail_nomem;
        if ((rc = utility_json(s, &all[i], o, u[3 * i], u[3 * i + 1],
                               u[3 * i + 2], err)))
            goto done;
        if (!put(o, "system", json_string(all[i].name)) ||
            (all[i].prompt && !put(o, "prompt", json_string(all[i].prompt))))
            goto fail_nomem;
        if (i) {
            const double *const bb[3] = {u[0], u[1], u[2]};
            const double *const vv[3] = {u[3 * i], u[3 * i + 1], u[3 * i + 2]};
            if (!put(o, "delta", deltas(s, bb, vv, n, all[i].name)))
                goto fail_nomem;
        }
        json_t *row = json_deep_copy(o);
        if (!row || json_array_append_new(rows, row))
            goto fail_nomem;
        json_object_del(row, "delta");
        if (i) {
            json_t *d = json_object_get(o, "delta");
            const char *key;
            json_t *val;
            json_object_foreach(d, key, val)
            {
                char k2[64];
                snprintf(k2, sizeof k2, "delta_%s", key);
                if (!put(row, k2, json_incref(json_object_get(val, "value"))))
                    goto fail_nomem;
            }
        }
    }
    rc = emit(h, io, "summary", summary, "rows", rows, err);
    summary = rows = NULL;
    goto done;
fail_nomem:
    rc = nomem(err);
done:
    for (size_t i = 0; u && i < 3 * na; i++)
        free(u[i]);
    free(u);
    json_decref(summary);
    json_decref(rows);
    systems_free(b, nb);
    systems_free(v, nv);
    systems_free(all, na);
    return rc;
}

/* ---- descriptors --------------------------------------------------------- */

#define LM_OPT_KS                                                              \
    {                                                                          \
        .name = "ks", .type = ASSAY_OPT_LIST, .def = "[5, 10]",                \
        .doc = "cut-offs K of every metric (the paper's metric_len: 5 and "    \
               "10)"                                                           \
    }
#define LM_OPT_BOOT                                                            \
    {.name = "bootstrap",                                                      \
     .type = ASSAY_OPT_INT,                                                    \
     .def = "1000",                                                            \
     .has_min = true,                                                          \
     .min = 0,                                                                 \
     .has_max = true,                                                          \
     .max = 100000,                                                            \
     .doc = "paired bootstrap resamples of the differences (0: no CI)"},       \
    {                                                                          \
        .name = "ci_level", .type = ASSAY_OPT_FLOAT, .def = "0.95",            \
        .has_min = true, .min = 0.5, .has_max = true, .max = 0.999,            \
        .doc = "confidence level of the intervals"                             \
    }

#define LM_DOC_INPUTS                                                          \
    "A system is either rec.llm `lists` (the recommended ids, candidates "     \
    "in the order shown, target, status, titles kept and hallucinated "        \
    "titles) or scored candidates in the protocol.negatives layout "           \
    "(query, user, item, label, score: the `scores` of a rec.* node), "        \
    "ranked by score with the target first among equal scores. The rank "      \
    "of the target is its position in the list, and a target the list "        \
    "misses is a miss at every K (the paper's rank 20). Failed LLM "           \
    "queries are counted, never scored."

static const assay_port llmrec_inputs[] = {
    {.name = "systems",
     .type = ASSAY_T_ANY,
     .required = true,
     .multi = true,
     .doc = "one value per system: rec.llm lists or rec.* scores "
            "(candidates with scores)"},
    {.name = "train",
     .type = ASSAY_T_TABLE,
     .required = true,
     .doc = "training interactions (user, item): popularity, long tail, "
            "history lengths"},
    {.name = "items",
     .type = ASSAY_T_TABLE,
     .doc = "item categories (item + genres/class/category) for Shannon "
            "entropy"},
    {0}};

static const assay_port llmrec_outputs[] = {
    {.name = "summary",
     .type = ASSAY_T_JSON,
     .doc = "per system: utility, beyond-utility, hallucination and "
            "compliance at every K"},
    {.name = "items",
     .type = ASSAY_T_RECORDS,
     .doc = "per system and query: rank, hit, ndcg and mrr at every K"},
    {.name = "leaderboard",
     .type = ASSAY_T_RECORDS,
     .doc = "one row per system with every metric",
     .chart = "bar"},
    {0}};

static const assay_option llmrec_options[] = {
    LM_OPT_KS,
    {.name = "names",
     .type = ASSAY_OPT_LIST,
     .def = "[]",
     .doc = "system names in input order (default: the records' system "
            "field, else systems1, systems2, ...)"},
    {.name = "common",
     .type = ASSAY_OPT_BOOL,
     .def = "true",
     .doc = "score every system on the queries (user, target) that all of "
            "them answered"},
    {.name = "tail_quantile",
     .type = ASSAY_OPT_FLOAT,
     .def = "0.8",
     .has_min = true,
     .min = 0,
     .has_max = true,
     .max = 1,
     .doc = "long-tail threshold for ACLT: items below this quantile of "
            "training frequency"},
    {.name = "popreo_groups",
     .type = ASSAY_OPT_INT,
     .def = "5",
     .has_min = true,
     .min = 2,
     .has_max = true,
     .max = 100,
     .doc = "PopREO: equal-size groups of queries by target popularity"},
    {.name = "category_field",
     .type = ASSAY_OPT_STRING,
     .doc = "items: the category column (default: genres, class, "
            "category, categories or genre)"},
    {0}};

static const assay_plugin llmrec_plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "metric.llmrec",
    .kind = "metric",
    .version = "1.0.0",
    .summary = "Utility and beyond-utility metrics of LLM and traditional "
               "recommenders on sampled candidates (EvaLLMasRec)",
    .doc =
        "The metric set of Jiang et al., 'Beyond Utility: Evaluating LLM as "
        "Recommender' (WWW 2025, llm_metrics.py), for several systems on "
        "the same users and candidates.\n" LM_DOC_INPUTS "\n"
        "Per K, over the evaluated queries (list = the first K recommended "
        "items):\n"
        "- hr, ndcg, mrr: 1[rank <= K], 1/log2(rank+1) and 1/rank within "
        "K;\n"
        "- arp: mean training frequency of the listed items; aclt: share "
        "of listed items whose frequency is below the tail_quantile "
        "percentile (linear interpolation) of the frequencies of items "
        "seen in train (both averaged per query);\n"
        "- popreo: std/mean (population std) of HR over popreo_groups "
        "equal groups of queries ordered by the target's training "
        "frequency (numpy.array_split sizes; null with fewer queries than "
        "groups or a zero mean);\n"
        "- gini: Gini index of how often each recommended item appears "
        "over all lists (sum (2i - m - 1) x_i / (m sum x), x ascending "
        "over the m items recommended at least once);\n"
        "- jain: (sum ndcg)^2 / (n sum ndcg^2) over queries; dpd: |mean "
        "ndcg of users with more training interactions than the median - "
        "mean ndcg of the others|;\n"
        "- coverage: distinct listed items / distinct candidates over all "
        "queries; shannon: mean over lists of the entropy (natural log) of "
        "the category counts of the listed items; jaccard: mean over pairs "
        "of queries whose candidate sets overlap of |lists' intersection| "
        "/ |candidates' intersection| (all pairs: quadratic in the "
        "queries);\n"
        "- serendipity: mean of hit - hit * hit_MostPop, MostPop ranking the "
        "same candidates by training frequency (rank 1 + the candidates "
        "strictly more frequent than the target); self_info: mean of log2("
        "training users / max(1, frequency)) of the listed items.\n"
        "Per system: queries, failed, evaluated, hallucination_rate "
        "(hallucinated titles / titles kept; null for score systems), "
        "compliance_rate (first answers), final_compliance_rate, and "
        "history_len/prompt/order from rec.llm.\n"
        "With common: true every system is reduced to the (user, target) "
        "queries that all systems answered, so numbers compare like with "
        "like. Undefined values are null, never NaN.",
    .inputs = llmrec_inputs,
    .outputs = llmrec_outputs,
    .options = llmrec_options,
    .flags = ASSAY_F_ALL_ITEMS | ASSAY_F_DETERMINISTIC,
    .create = lm_create,
    .run = llmrec_run,
    .destroy = lm_destroy,
};

static const assay_port history_inputs[] = {
    {.name = "runs",
     .type = ASSAY_T_ANY,
     .required = true,
     .multi = true,
     .doc = "rec.llm lists of the same users at several history lengths"},
    {.name = "baselines",
     .type = ASSAY_T_ANY,
     .multi = true,
     .doc = "traditional models trained with a matching history window "
            "(scores or lists), lengths in baseline_lens"},
    {0}};

static const assay_port history_outputs[] = {
    {.name = "summary",
     .type = ASSAY_T_JSON,
     .doc = "per family: the curve, best and worst length, spread and "
            "slope of ndcg per doubling of L"},
    {.name = "curve",
     .type = ASSAY_T_RECORDS,
     .doc = "one row per run: family, history_len, hr/ndcg/mrr@K, "
            "hallucination and compliance",
     .chart = "line"},
    {0}};

static const assay_option history_options[] = {
    LM_OPT_KS,
    {.name = "names",
     .type = ASSAY_OPT_LIST,
     .def = "[]",
     .doc = "names of the runs (default: the records' system field)"},
    {.name = "lens",
     .type = ASSAY_OPT_LIST,
     .def = "[]",
     .doc = "history length of each run (default: the records' "
            "history_len)"},
    {.name = "family",
     .type = ASSAY_OPT_STRING,
     .def = "\"llm\"",
     .doc = "family name of the runs' curve"},
    {.name = "baseline_names",
     .type = ASSAY_OPT_LIST,
     .def = "[]",
     .doc = "family of each baseline (e.g. sasrec for each window); "
            "default: the value's system name"},
    {.name = "baseline_lens",
     .type = ASSAY_OPT_LIST,
     .def = "[]",
     .doc = "history window of each baseline"},
    {0}};

static const assay_plugin history_plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "metric.llmrec-history",
    .kind = "metric",
    .version = "1.0.0",
    .summary = "History-length sensitivity of an LLM recommender: utility "
               "as a function of the history length L",
    .doc = "The first LLM-specific dimension of Jiang et al. (WWW 2025): the "
           "same users are recommended with the last L history items for "
           "several L (one rec.llm node per L, e.g. L in {1, 2, 3, 4, 10, 15, "
           "20}) and HR/NDCG/MRR@K are traced against L, optionally beside "
           "traditional models trained with the same window (baselines, e.g. "
           "rec.sasrec with max_len L).\n" LM_DOC_INPUTS "\n"
           "Every run is reduced to the queries all runs answered. Output "
           "`curve`: one row per run {system, family, kind, history_len, "
           "hr/ndcg/mrr@K, queries, failed, hallucination_rate, "
           "compliance_rate}; `summary.families`: per family the points in "
           "order of L, best_history_len and worst_history_len (by NDCG at the "
           "largest K), spread_ndcg@K (best - worst) and the least-squares "
           "slope of NDCG@K per doubling of L (regressed on log2 L, L > 0).",
    .inputs = history_inputs,
    .outputs = history_outputs,
    .options = history_options,
    .flags = ASSAY_F_ALL_ITEMS | ASSAY_F_DETERMINISTIC,
    .create = lm_create,
    .run = history_run,
    .destroy = lm_destroy,
};

static const assay_port position_inputs[] = {
    {.name = "shuffled",
     .type = ASSAY_T_ANY,
     .required = true,
     .doc = "rec.llm lists with shuffled candidates"},
    {.name = "first",
     .type = ASSAY_T_ANY,
     .required = true,
     .doc = "rec.llm lists of the same queries with the target shown "
            "first (candidate_order: target_first)"},
    {0}};

static const assay_port position_outputs[] = {
    {.name = "summary",
     .type = ASSAY_T_JSON,
     .doc = "utility of both runs, the target-first gap with bootstrap CI, "
            "position statistics"},
    {.name = "positions",
     .type = ASSAY_T_RECORDS,
     .doc = "per shown position: share of recommendations and of top-1 "
            "picks in both runs, hit rate by target position",
     .chart = "line"},
    {0}};

static const assay_option position_options[] = {
    LM_OPT_KS,
    LM_OPT_BOOT,
    {.name = "names",
     .type = ASSAY_OPT_LIST,
     .def = "[]",
     .doc = "name of the shuffled run (default: its system field)"},
    {.name = "first_names",
     .type = ASSAY_OPT_LIST,
     .def = "[]",
     .doc = "name of the target-first run (default: its system field)"},
    {0}};

static const assay_plugin position_plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "metric.llmrec-position",
    .kind = "metric",
    .version = "1.0.0",
    .summary = "Candidate position bias of an LLM recommender: target-first "
               "vs shuffled candidates, and where recommended items sat",
    .doc = "The second LLM-specific dimension of Jiang et al. (WWW 2025): the "
           "same queries are asked twice, once with shuffled candidates and "
           "once with the target shown first (the paper's unshuffled lists). "
           "An unbiased recommender scores the same; a model that favours "
           "early positions gains in the target-first run.\n"
           "Both inputs are rec.llm lists; they are reduced to the common "
           "queries. summary: each run's hr/ndcg/mrr@K, `gap` = target_first - "
           "shuffled at the largest K with a paired bootstrap interval over "
           "queries, and `positions` per run: share_by_position (share of the "
           "recommended items, top K, that were shown at each position), "
           "mean_position, first_quarter_share, first_position_top1_share "
           "(how often the top-1 pick was the first candidate) and "
           "expected_share (1/n, no bias). Output `positions`: one row per "
           "shown position with those shares and, for the shuffled run, the "
           "queries whose target sat there and their hit rate.",
    .inputs = position_inputs,
    .outputs = position_outputs,
    .options = position_options,
    .flags = ASSAY_F_ALL_ITEMS | ASSAY_F_DETERMINISTIC,
    .create = lm_create,
    .run = position_run,
    .destroy = lm_destroy,
};

static const assay_port profile_inputs[] = {
    {.name = "history",
     .type = ASSAY_T_ANY,
     .required = true,
     .doc = "rec.llm lists of the history-only prompt (the base)"},
    {.name = "variants",
     .type = ASSAY_T_ANY,
     .required = true,
     .multi = true,
     .doc = "rec.llm lists of profile-only and profile+history prompts "
            "(one per profile generator)"},
    {0}};

static const assay_port profile_outputs[] = {
    {.name = "summary",
     .type = ASSAY_T_JSON,
     .doc = "utility of the base and of each variant, with the difference "
            "to the base and its bootstrap CI"},
    {.name = "rows",
     .type = ASSAY_T_RECORDS,
     .doc = "one row per run: prompt, hr/ndcg/mrr@K and the deltas",
     .chart = "bar"},
    {0}};

static const assay_option profile_options[] = {
    LM_OPT_KS,
    LM_OPT_BOOT,
    {.name = "names",
     .type = ASSAY_OPT_LIST,
     .def = "[]",
     .doc = "names of the variants (default: their system field)"},
    {.name = "base_name",
     .type = ASSAY_OPT_LIST,
     .def = "[]",
     .doc = "name of the base run, as a one-element list"},
    {0}};

static const assay_plugin profile_plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "metric.llmrec-profile",
    .kind = "metric",
    .version = "1.0.0",
    .summary = "Generation-involved performance: profile-only and "
               "profile+history prompts against history-only",
    .doc = "The third LLM-specific dimension of Jiang et al. (WWW 2025): user "
           "profiles generated by an LLM from the history (synth.user-profile) "
           "replace or join the history in the prompt (rec.llm prompt: "
           "profile or profile_history). Each variant is compared with the "
           "history-only run on the common queries.\n"
           "summary: base {system, prompt, hr/ndcg/mrr@K, queries, failed, "
           "hallucination_rate, compliance_rate}, variants {name: the same "
           "plus delta: {metric@K: {value, ci_low, ci_high}}} where delta = "
           "variant - base at the largest K with a paired bootstrap interval "
           "over queries. Output rows: one per run with the deltas flattened "
           "(delta_hr@K, ...).",
    .inputs = profile_inputs,
    .outputs = profile_outputs,
    .options = profile_options,
    .flags = ASSAY_F_ALL_ITEMS | ASSAY_F_DETERMINISTIC,
    .create = lm_create,
    .run = profile_run,
    .destroy = lm_destroy,
};

static const assay_plugin *const lm_list[] = {
    &llmrec_plugin, &history_plugin, &position_plugin, &profile_plugin, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi)
{
    (void)host_abi;
    return lm_list;
}
