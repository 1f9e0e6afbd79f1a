/*
 * jc_reliab.c - see jc_reliab.h.
 */
#include "jc_reliab.h"

#include <assay/plugin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jc_verdict.h"

/* obj[key] = v (reference taken); false on a NULL v or ENOMEM. */
static bool jc_put(json_t *obj, const char *key, json_t *v)
{
    return json_object_set_new(obj, key, v) == 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double jc_percentile(const double *v, size_t n, double q)
{
    if (n == 0)
        return NAN;
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)floor(pos);
    size_t hi = lo + 1 < n ? lo + 1 : lo;
    double f = pos - (double)lo;
    return v[lo] + (v[hi] - v[lo]) * f;
}

/* A number, or null when not finite. */
static json_t *num(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

static json_t *rate(uint64_t k, uint64_t n)
{
    return n ? json_real((double)k / (double)n) : json_null();
}

/*
 * Accuracy over the items listed in idx[0..m) with a bootstrap CI:
 * {value, ci_low, ci_high, n}.  `ok[i]` says item i is correct; `use[i]`
 * that it counts (for accuracy_valid).
 */
static json_t *acc_ci(const bool *ok, const bool *use, const size_t *idx,
                      size_t m, const jc_rel_opts *o, uint64_t salt)
{
    size_t k = 0, u = 0;
    for (size_t i = 0; i < m; i++) {
        if (!use[idx[i]])
            continue;
        u++;
        k += ok[idx[i]];
    }
    json_t *r = json_object();
    bool put_ok = true;
    if (!r)
        return NULL;
    put_ok &= jc_put(r, "value", rate(k, u));
    put_ok &= jc_put(r, "n", json_integer((json_int_t)u));
    double lo = NAN, hi = NAN;
    if (u > 0 && o->resamples > 0) {
        double *acc = malloc(o->resamples * sizeof *acc);
        if (!acc) {
            json_decref(r);
            return NULL;
        }
        assay_rng rng;
        assay_rng_init(&rng, o->seed ^ (salt * 0x9e3779b97f4a7c15ULL));
        size_t got = 0;
        for (unsigned b = 0; b < o->resamples; b++) {
            size_t kk = 0, uu = 0;
            for (size_t i = 0; i < m; i++) {
                size_t x = idx[assay_rng_below(&rng, m)];
                if (!use[x])
                    continue;
                uu++;
                kk += ok[x];
            }
            if (uu)
                acc[got++] = (double)kk / (double)uu;
        }
        qsort(acc, got, sizeof *acc, cmp_double);
        lo = jc_percentile(acc, got, (1 - o->level) / 2);
        hi = jc_percentile(acc, got, 1 - (1 - o->level) / 2);
        free(acc);
    }
    put_ok &= jc_put(r, "ci_low", num(lo));
    put_ok &= jc_put(r, "ci_high", num(hi));
    if (!put_ok) {
        json_decref(r);
        return NULL;
    }
    return r;
}

static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static json_t *group(size_t n, size_t k)
{
    return json_pack("{s:I, s:o}", "n", (json_int_t)n, "accuracy", rate(k, n));
}

json_t *jc_reliability(const jc_rel_item *it, size_t n, const jc_rel_counts *c,
                       const jc_rel_opts *o)
{
    json_t *r = json_object(), *subsets = NULL, *v;
    bool put_ok = true;
    bool *ok = calloc(n ? n : 1, sizeof *ok);
    bool *all = calloc(n ? n : 1, sizeof *all);
    bool *valid = calloc(n ? n : 1, sizeof *valid);
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    size_t *sidx = malloc((n ? n : 1) * sizeof *sidx);
    size_t ngold = 0, i;
    if (!r || !ok || !all || !valid || !idx || !sidx)
        goto oom;
    for (i = 0; i < n; i++) {
        all[i] = true;
        valid[i] = it[i].verdict != JC_V_NONE && !it[i].failed;
        ok[i] = valid[i] && it[i].verdict == it[i].gold;
        if (it[i].gold != JC_V_NONE)
            idx[ngold++] = i;
    }
    put_ok &= jc_put(r, "n_items", json_integer((json_int_t)n));
    put_ok &= jc_put(r, "n_gold", json_integer((json_int_t)ngold));
    if (!(v = acc_ci(ok, all, idx, ngold, o, 1)))
        goto oom;
    put_ok &= jc_put(r, "accuracy", v);
    if (!(v = acc_ci(ok, valid, idx, ngold, o, 2)))
        goto oom;
    put_ok &= jc_put(r, "accuracy_valid", v);

    /* per order, when every item ran in both orders */
    size_t nsw = 0, k0 = 0, k1 = 0;
    for (i = 0; i < ngold; i++) {
        const jc_rel_item *x = &it[idx[i]];
        if (!x->swapped)
            continue;
        nsw++;
        k0 += !x->failed && x->order[0] == x->gold;
        k1 += !x->failed && x->order[1] == x->gold;
    }
    if (nsw) {
        put_ok &= jc_put(
            r, "per_order",
            json_pack("{s:o, s:o, s:o, s:I}", "first", rate(k0, nsw), "second",
                      rate(k1, nsw), "average",
                      json_real(((double)k0 + (double)k1) / 2.0 / (double)nsw),
                      "n", (json_int_t)nsw));
    } else {
        put_ok &= jc_put(r, "per_order", json_null());
    }

    /* subsets */
    if (!(subsets = json_object()))
        goto oom;
    for (i = 0; i < ngold; i++) {
        const char *s = it[idx[i]].subset;
        if (!s || json_object_get(subsets, s))
            continue;
        size_t m = 0;
        for (size_t j = i; j < ngold; j++)
            if (it[idx[j]].subset && strcmp(it[idx[j]].subset, s) == 0)
                sidx[m++] = idx[j];
        json_t *a = acc_ci(ok, all, sidx, m, o, str_hash(s));
        json_t *av = acc_ci(ok, valid, sidx, m, o, str_hash(s) + 1);
        if (!a || !av) {
            json_decref(a);
            json_decref(av);
            goto oom;
        }
        json_t *g = json_pack("{s:I, s:O, s:O, s:O, s:O}", "n", (json_int_t)m,
                              "accuracy", json_object_get(a, "value"), "ci_low",
                              json_object_get(a, "ci_low"), "ci_high",
                              json_object_get(a, "ci_high"), "accuracy_valid",
                              json_object_get(av, "value"));
        json_decref(a);
        json_decref(av);
        if (!g || json_object_set_new(subsets, s, g))
            goto oom;
    }
    put_ok &= jc_put(r, "subsets", subsets);
    subsets = NULL;

    /* position consistency */
    size_t npc = 0, cons = 0, first_pick = 0, decisive = 0;
    for (i = 0; i < n; i++) {
        const jc_rel_item *x = &it[i];
        if (!x->swapped || x->failed)
            continue;
        if (x->order[0] != JC_V_NONE && x->order[1] != JC_V_NONE) {
            npc++;
            cons += x->order[0] == x->order[1];
        }
        /* first shown: A in the first order, B in the second */
        if (x->order[0] == JC_V_A || x->order[0] == JC_V_B) {
            decisive++;
            first_pick += x->order[0] == JC_V_A;
        }
        if (x->order[1] == JC_V_A || x->order[1] == JC_V_B) {
            decisive++;
            first_pick += x->order[1] == JC_V_B;
        }
    }
    if (npc || decisive)
        put_ok &= jc_put(r, "position_consistency",
                         json_pack("{s:o, s:I, s:o}", "rate", rate(cons, npc),
                                   "n", (json_int_t)npc, "first_position_rate",
                                   rate(first_pick, decisive)));
    else
        put_ok &= jc_put(r, "position_consistency", json_null());

    /* invalid and failed */
    size_t n_inv = 0, n_fail = 0, cnt[4] = {0, 0, 0, 0};
    for (i = 0; i < n; i++) {
        if (it[i].failed)
            n_fail++;
        else if (it[i].verdict == JC_V_NONE)
            n_inv++;
        else
            cnt[it[i].verdict]++;
    }
    put_ok &= jc_put(r, "invalid",
                     json_pack("{s:I, s:I, s:o, s:I, s:o, s:I, s:I}", "outputs",
                               (json_int_t)c->outputs, "invalid_outputs",
                               (json_int_t)c->invalid_outputs, "output_rate",
                               rate(c->invalid_outputs, c->outputs), "items",
                               (json_int_t)n_inv, "item_rate", rate(n_inv, n),
                               "repairs", (json_int_t)c->repairs, "repaired",
                               (json_int_t)c->repaired));
    put_ok &= jc_put(r, "failed",
                     json_pack("{s:I, s:o}", "items", (json_int_t)n_fail,
                               "rate", rate(n_fail, n)));
    put_ok &= jc_put(
        r, "verdicts",
        json_pack("{s:I, s:I, s:I, s:I, s:I}", "A", (json_int_t)cnt[1], "B",
                  (json_int_t)cnt[2], "tie", (json_int_t)cnt[3], "invalid",
                  (json_int_t)n_inv, "failed", (json_int_t)n_fail));

    /* length bias */
    size_t g_long = 0, k_long = 0, g_short = 0, k_short = 0, g_eq = 0, k_eq = 0,
           dec = 0, pick_long = 0;
    for (i = 0; i < n; i++) {
        const jc_rel_item *x = &it[i];
        int longer = x->len1 > x->len2   ? JC_V_A
                     : x->len2 > x->len1 ? JC_V_B
                                         : JC_V_NONE;
        if (x->gold == JC_V_A || x->gold == JC_V_B) {
            if (longer == JC_V_NONE) {
                g_eq++;
                k_eq += ok[i];
            } else if (longer == x->gold) {
                g_long++;
                k_long += ok[i];
            } else {
                g_short++;
                k_short += ok[i];
            }
        }
        if (longer != JC_V_NONE && valid[i] &&
            (x->verdict == JC_V_A || x->verdict == JC_V_B)) {
            dec++;
            pick_long += x->verdict == longer;
        }
    }
    put_ok &= jc_put(
        r, "length_bias",
        json_pack("{s:o, s:o, s:o, s:o, s:o, s:I}", "longer_won",
                  group(g_long, k_long), "shorter_won", group(g_short, k_short),
                  "equal_length", group(g_eq, k_eq), "longer_gold_rate",
                  rate(g_long, g_long + g_short), "prefers_longer_rate",
                  rate(pick_long, dec), "n_decisive", (json_int_t)dec));
    put_ok &= jc_put(r, "bootstrap",
                     json_pack("{s:I, s:f}", "resamples",
                               (json_int_t)o->resamples, "level", o->level));
    if (!put_ok)
        goto oom;
    free(ok);
    free(all);
    free(valid);
    free(idx);
    free(sidx);
    return r;
oom:
    json_decref(subsets);
    json_decref(r);
    free(ok);
    free(all);
    free(valid);
    free(idx);
    free(sidx);
    return NULL;
}

/* ---- correlations ------------------------------------------------------ */

double jc_pearson(const double *x, const double *y, size_t n)
{
    if (n < 2)
        return NAN;
    double mx = 0, my = 0;
    for (size_t i = 0; i < n; i++) {
        mx += x[i];
        my += y[i];
    }
    mx /= (double)n;
    my /= (double)n;
    double sxy = 0, sxx = 0, syy = 0;
    for (size_t i = 0; i < n; i++) {
        sxy += (x[i] - mx) * (y[i] - my);
        sxx += (x[i] - mx) * (x[i] - mx);
        syy += (y[i] - my) * (y[i] - my);
    }
    if (sxx <= 0 || syy <= 0)
        return NAN;
    return sxy / sqrt(sxx * syy);
}

typedef struct rank_pair {
    double v;
    size_t i;
} rank_pair;

static int cmp_rank(const void *a, const void *b)
{
    const rank_pair *x = a, *y = b;
    return (x->v > y->v) - (x->v < y->v);
}

/* Average ranks (1-based, ties averaged) of x into r; false on ENOMEM. */
static bool ranks(const double *x, size_t n, double *r)
{
    rank_pair *p = malloc((n ? n : 1) * sizeof *p);
    if (!p)
        return false;
    for (size_t i = 0; i < n; i++)
        p[i] = (rank_pair){x[i], i};
    qsort(p, n, sizeof *p, cmp_rank);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && p[j + 1].v == p[i].v)
            j++;
        double avg = ((double)i + (double)j) / 2.0 + 1.0;
        for (size_t k = i; k <= j; k++)
            r[p[k].i] = avg;
        i = j + 1;
    }
    free(p);
    return true;
}

double jc_spearman(const double *x, const double *y, size_t n)
{
    double *rx = malloc((n ? n : 1) * sizeof *rx);
    double *ry = malloc((n ? n : 1) * sizeof *ry);
    double r = NAN;
    if (rx && ry && ranks(x, n, rx) && ranks(y, n, ry))
        r = jc_pearson(rx, ry, n);
    free(rx);
    free(ry);
    return r;
}

double jc_kendall_b(const double *x, const double *y, size_t n)
{
    double conc = 0, disc = 0, tx = 0, ty = 0;
    if (n < 2)
        return NAN;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            double dx = x[i] - x[j], dy = y[i] - y[j];
            if (dx == 0 && dy == 0)
                continue;
            if (dx == 0)
                tx++;
            else if (dy == 0)
                ty++;
            else if ((dx > 0) == (dy > 0))
                conc++;
            else
                disc++;
        }
    double d = sqrt((conc + disc + tx) * (conc + disc + ty));
    return d > 0 ? (conc - disc) / d : NAN;
}

json_t *jc_reliability_scores(const double *score, const bool *valid,
                              const bool *failed, const double *gold,
                              const char *const *subset, size_t n,
                              const jc_rel_counts *c, const jc_rel_opts *o)
{
    json_t *r = json_object(), *subs = json_object();
    double *xs = malloc((n ? n : 1) * sizeof *xs);
    double *ys = malloc((n ? n : 1) * sizeof *ys);
    double *bx = malloc((n ? n : 1) * sizeof *bx);
    double *by = malloc((n ? n : 1) * sizeof *by);
    double *boot = malloc((o->resamples ? o->resamples : 1) * sizeof *boot);
    size_t m = 0, ngold = 0, exact = 0, near = 0, ninv = 0, nfail = 0;
    double abs_err = 0;
    bool put_ok = true;
    if (!r || !subs || !xs || !ys || !bx || !by || !boot)
        goto oom;
    for (size_t i = 0; i < n; i++) {
        if (failed[i])
            nfail++;
        else if (!valid[i])
            ninv++;
        if (!isfinite(gold[i]))
            continue;
        ngold++;
        if (!valid[i])
            continue;
        xs[m] = score[i];
        ys[m] = gold[i];
        exact += fabs(score[i] - gold[i]) < 1e-9;
        near += fabs(score[i] - gold[i]) <= 1 + 1e-9;
        abs_err += fabs(score[i] - gold[i]);
        m++;
    }
    put_ok &= jc_put(r, "n_items", json_integer((json_int_t)n));
    put_ok &= jc_put(r, "n_gold", json_integer((json_int_t)ngold));
    put_ok &= jc_put(r, "n_valid", json_integer((json_int_t)m));
    put_ok &= jc_put(r, "pearson", num(jc_pearson(xs, ys, m)));
    double lo = NAN, hi = NAN;
    if (m >= 2 && o->resamples) {
        assay_rng rng;
        assay_rng_init(&rng, o->seed);
        size_t got = 0;
        for (unsigned b = 0; b < o->resamples; b++) {
            for (size_t i = 0; i < m; i++) {
                size_t k = assay_rng_below(&rng, m);
                bx[i] = xs[k];
                by[i] = ys[k];
            }
            double s = jc_spearman(bx, by, m);
            if (isfinite(s))
                boot[got++] = s;
        }
        qsort(boot, got, sizeof *boot, cmp_double);
        lo = jc_percentile(boot, got, (1 - o->level) / 2);
        hi = jc_percentile(boot, got, 1 - (1 - o->level) / 2);
    }
    put_ok &= jc_put(r, "spearman",
                     json_pack("{s:o, s:o, s:o}", "value",
                               num(jc_spearman(xs, ys, m)), "ci_low", num(lo),
                               "ci_high", num(hi)));
    put_ok &= jc_put(r, "kendall_tau_b", num(jc_kendall_b(xs, ys, m)));
    put_ok &= jc_put(r, "exact_agreement", rate(exact, m));
    put_ok &= jc_put(r, "within_one", rate(near, m));
    put_ok &= jc_put(r, "mean_abs_error",
                     m ? json_real(abs_err / (double)m) : json_null());
    for (size_t i = 0; subset && i < n; i++) {
        const char *s = subset[i];
        if (!s || json_object_get(subs, s))
            continue;
        size_t k = 0, ex = 0, cnt = 0;
        for (size_t j = i; j < n; j++) {
            if (!subset[j] || strcmp(subset[j], s) != 0 || !isfinite(gold[j]))
                continue;
            cnt++;
            if (!valid[j])
                continue;
            bx[k] = score[j];
            by[k] = gold[j];
            ex += fabs(score[j] - gold[j]) < 1e-9;
            k++;
        }
        put_ok &= jc_put(subs, s,
                         json_pack("{s:I, s:I, s:o, s:o}", "n", (json_int_t)cnt,
                                   "n_valid", (json_int_t)k, "spearman",
                                   num(jc_spearman(bx, by, k)),
                                   "exact_agreement", rate(ex, k)));
    }
    put_ok &= jc_put(r, "subsets", subs);
    subs = NULL;
    put_ok &= jc_put(r, "invalid",
                     json_pack("{s:I, s:I, s:o, s:I, s:o, s:I, s:I}", "outputs",
                               (json_int_t)c->outputs, "invalid_outputs",
                               (json_int_t)c->invalid_outputs, "output_rate",
                               rate(c->invalid_outputs, c->outputs), "items",
                               (json_int_t)ninv, "item_rate", rate(ninv, n),
                               "repairs", (json_int_t)c->repairs, "repaired",
                               (json_int_t)c->repaired));
    put_ok &= jc_put(r, "failed",
                     json_pack("{s:I, s:o}", "items", (json_int_t)nfail, "rate",
                               rate(nfail, n)));
    put_ok &= jc_put(r, "bootstrap",
                     json_pack("{s:I, s:f}", "resamples",
                               (json_int_t)o->resamples, "level", o->level));
    if (!put_ok)
        goto oom;
    free(xs);
    free(ys);
    free(bx);
    free(by);
    free(boot);
    return r;
oom:
    json_decref(r);
    json_decref(subs);
    free(xs);
    free(ys);
    free(bx);
    free(by);
    free(boot);
    return NULL;
}
