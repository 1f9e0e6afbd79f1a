/*
 * rankcore.c - ranking measures with trec_eval and leave-one-out
 * semantics.
 *
 * Layout of the work:
 *   1. judged queries get dense ids (order of first appearance in the
 *      qrels); each query's judgments are sorted by item id, duplicates
 *      dropped (first kept), and the full-protocol ideal DCG precomputed;
 *   2. the run is cut into groups of consecutive rows with the same query
 *      (a run sorted or grouped by query gives one group per query; any
 *      order works, a query's groups are gathered);
 *   3. queries are evaluated in parallel.  Within a query only the
 *      "hits" (judged items with rel >= threshold or a positive gain)
 *      need a rank: they are sorted by the ranking order, and each
 *      candidate is placed among them by binary search, which gives every
 *      hit's rank in O(n log R) without sorting the candidates.
 */
#include "rankcore.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct rk_hit {
    double score;
    double rel;
    size_t row;
    size_t pos; /* index among the query's candidates */
    size_t rank;
} rk_hit;

typedef struct rk_ws {
    rk_hit *hits;
    size_t hcap;
    size_t *cnt;
    size_t ccap;
    double *crel;
    size_t rcap;
    size_t *idx;
    size_t icap;
    double *gains;
    size_t gcap;
} rk_ws;

typedef struct rk_ctx {
    const rk_config *cfg;
    const sc_keys *run_q, *run_item, *qr_item;
    const double *score, *qr_rel;
    size_t nrun, nq;
    /* run groups: [gstart[g], gstart[g + 1]) belongs to query gq[g] */
    size_t ng;
    size_t *gstart;
    size_t *gq;
    size_t *qseg_off; /* nq + 1: groups of query q are qseg[off..] */
    size_t *qseg;
    /* judgments: query q's are qrels rows jrow[joff[q]..joff[q + 1]),
     * sorted by item id */
    size_t *joff;
    size_t *jend;    /* end of query q's list after dropping duplicates */
    size_t *jrow;
    unsigned nthreads;
    size_t *numrel;  /* full protocol num_rel per query */
    double *idcg;    /* full protocol: nq x (nk + 1), last = uncut */
    rk_ws *ws;
    unsigned nws;
    rk_result *res;
} rk_ctx;

static double rk_gain(const rk_config *cfg, double rel)
{
    if (rel <= 0)
        return 0.0;
    return cfg->exp_gain ? exp2(rel) - 1.0 : rel;
}

static double rk_log2p1(size_t rank)
{
    return log2((double)rank + 1.0);
}

/* Grow *p (elements of `size`) to hold at least `need`. */
static int rk_reserve(void **p, size_t *cap, size_t need, size_t size,
                      assay_error *err)
{
    if (need <= *cap)
        return ASSAY_OK;
    size_t nc = *cap ? *cap : 64;
    while (nc < need)
        nc *= 2;
    void *q = realloc(*p, nc * size);
    if (!q)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    *p = q;
    *cap = nc;
    return ASSAY_OK;
}

void rk_col_name(const rk_config *cfg, size_t col, char *buf, size_t size)
{
    static const char *const base[RK_NBASE] = {
        "num_ret", "num_rel", "num_rel_ret", "map", "mrr", "ndcg", "rank"};
    static const char *const perk[RK_PER_K] = {"hr",     "ndcg", "precision",
                                               "recall", "map",  "mrr"};
    if (col < RK_NBASE) {
        snprintf(buf, size, "%s", base[col]);
        return;
    }
    size_t k = (col - RK_NBASE) / RK_PER_K, m = (col - RK_NBASE) % RK_PER_K;
    snprintf(buf, size, "%s@%lld", perk[m],
             k < cfg->nk ? (long long)cfg->ks[k] : -1LL);
}

void rk_result_free(rk_result *res)
{
    if (!res)
        return;
    free(res->qrow);
    free(res->evaluated);
    free(res->vals);
    free(res->mean);
    memset(res, 0, sizeof *res);
}

/* ---- judgments ----------------------------------------------------------- */

/* qsort_r comparator: qrels rows by item id, then row. */
static int cmp_judged(const void *a, const void *b, void *arg)
{
    const sc_keys *k = arg;
    size_t ra = *(const size_t *)a, rb = *(const size_t *)b;
    int c = sc_keys_cmp(k, ra, k, rb);
    if (c)
        return c;
    return (ra > rb) - (ra < rb);
}

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* Ideal DCG at every cut-off (and uncut, last) from gains sorted in
 * descending order. */
static void rk_ideal(const rk_config *cfg, const double *g, size_t n,
                     double *out)
{
    double sum = 0.0;
    size_t ki = 0;
    /* cut-offs are visited in the order given; compute each directly */
    for (ki = 0; ki < cfg->nk; ki++) {
        double s = 0.0;
        size_t lim = (size_t)cfg->ks[ki] < n ? (size_t)cfg->ks[ki] : n;
        for (size_t i = 0; i < lim && g[i] > 0; i++)
            s += g[i] / rk_log2p1(i + 1);
        out[ki] = s;
    }
    for (size_t i = 0; i < n && g[i] > 0; i++)
        sum += g[i] / rk_log2p1(i + 1);
    out[cfg->nk] = sum;
}

typedef struct rk_jprep {
    rk_ctx *c;
    double *g;
} rk_jprep;

static int rk_jprep_task(void *arg, size_t qb, size_t qe, unsigned worker,
                         assay_error *err)
{
    (void)worker;
    (void)err;
    rk_jprep *jp = arg;
    rk_ctx *c = jp->c;
    const rk_config *cfg = c->cfg;
    for (size_t q = qb; q < qe; q++) {
        size_t b = c->joff[q], e = c->joff[q + 1], w = b;
        double *g = jp->g + b;
        size_t ng = 0;
        if (e - b > 1)
            qsort_r(c->jrow + b, e - b, sizeof *c->jrow, cmp_judged,
                    (void *)c->qr_item);
        for (size_t i = b; i < e; i++) {
            if (w > b && sc_keys_cmp(c->qr_item, c->jrow[w - 1], c->qr_item,
                                     c->jrow[i]) == 0)
                continue;
            c->jrow[w++] = c->jrow[i];
            double rel = c->qr_rel[c->jrow[w - 1]];
            if (rel >= cfg->rel_threshold)
                c->numrel[q]++;
            g[ng++] = rk_gain(cfg, rel);
        }
        c->jend[q] = w;
        if (ng > 1)
            qsort(g, ng, sizeof *g, cmp_desc);
        rk_ideal(cfg, g, ng, c->idcg + q * (cfg->nk + 1));
    }
    return ASSAY_OK;
}

static int rk_prepare_qrels(rk_ctx *c, sc_keys *qr_q, size_t nqr,
                            sc_keymap *qmap, assay_error *err)
{
    const rk_config *cfg = c->cfg;
    int rc;
    size_t *qid = malloc((nqr ? nqr : 1) * sizeof *qid);
    if (!qid)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    for (size_t r = 0; r < nqr; r++) {
        rc = sc_keymap_intern(qmap, qr_q, r, &qid[r], NULL, err);
        if (rc)
            goto fail_qid;
    }
    size_t nq = qmap->n;
    c->nq = nq;
    c->joff = calloc(nq + 1, sizeof *c->joff);
    c->jrow = malloc((nqr ? nqr : 1) * sizeof *c->jrow);
    c->numrel = calloc(nq ? nq : 1, sizeof *c->numrel);
    c->idcg = calloc((nq ? nq : 1) * (cfg->nk + 1), sizeof *c->idcg);
    double *g = malloc((nqr ? nqr : 1) * sizeof *g);
    if (!c->joff || !c->jrow || !c->numrel || !c->idcg || !g) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto fail_g;
    }
    for (size_t r = 0; r < nqr; r++)
        c->joff[qid[r] + 1]++;
    for (size_t q = 0; q < nq; q++)
        c->joff[q + 1] += c->joff[q];
    {
        size_t *pos = malloc((nq ? nq : 1) * sizeof *pos);
        if (!pos) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto fail_g;
        }
        memcpy(pos, c->joff, nq * sizeof *pos);
        for (size_t r = 0; r < nqr; r++)
            c->jrow[pos[qid[r]]++] = r;
        free(pos);
    }
    /* sort each query's judgments by item, drop duplicates (in parallel:
     * each query owns its slice of jrow and of g) */
    c->jend = malloc((nq ? nq : 1) * sizeof *c->jend);
    if (!c->jend) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto fail_g;
    }
    rk_jprep jp = {c, g};
    rc = sc_parallel(NULL, c->nthreads, nq, 4096, rk_jprep_task, &jp, err);
    if (rc)
        goto fail_g;
    free(g);
    c->res->qrow = malloc((nq ? nq : 1) * sizeof *c->res->qrow);
    if (!c->res->qrow) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto fail_qid;
    }
    memcpy(c->res->qrow, qmap->first, nq * sizeof *c->res->qrow);
    free(qid);
    return ASSAY_OK;
fail_g:
    free(g);
fail_qid:
    free(qid);
    return rc;
}

/* ---- run groups ------------------------------------------------------------ */

typedef struct rk_cut {
    rk_ctx *c;
    size_t grain;
    size_t **starts; /* per chunk */
    size_t *nstarts;
} rk_cut;

static int rk_cut_task(void *arg, size_t b, size_t e, unsigned worker,
                       assay_error *err)
{
    (void)worker;
    rk_cut *cut = arg;
    const sc_keys *k = cut->c->run_q;
    size_t chunk = b / cut->grain, cap = 256, n = 0;
    size_t *s = malloc(cap * sizeof *s);
    if (!s)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    for (size_t r = b; r < e; r++) {
        bool start = r == 0;
        if (!start) {
            if (k->is_str)
                start = strcmp(k->s[r], k->s[r - 1]) != 0;
            else
                start = k->i[r] != k->i[r - 1];
        }
        if (!start)
            continue;
        if (n == cap) {
            size_t *t = realloc(s, 2 * cap * sizeof *s);
            if (!t) {
                free(s);
                return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            }
            s = t;
            cap *= 2;
        }
        s[n++] = r;
    }
    cut->starts[chunk] = s;
    cut->nstarts[chunk] = n;
    return ASSAY_OK;
}

typedef struct rk_find {
    rk_ctx *c;
    const sc_keymap *qmap;
} rk_find;

/* Does query id q have the key of run row `row`?  (A cheap check that
 * avoids hashing when the run lists queries in qrels order.) */
static bool rk_is_query(const sc_keymap *m, const sc_keys *k, size_t row,
                        size_t q)
{
    if (q >= m->n)
        return false;
    return m->is_str ? strcmp(m->sval[q], k->s[row]) == 0
                     : m->ival[q] == k->i[row];
}

static int rk_find_task(void *arg, size_t b, size_t e, unsigned worker,
                        assay_error *err)
{
    (void)worker;
    (void)err;
    rk_find *f = arg;
    rk_ctx *c = f->c;
    size_t guess = SIZE_MAX;
    for (size_t g = b; g < e; g++) {
        size_t q, row = c->gstart[g];
        if (guess != SIZE_MAX && rk_is_query(f->qmap, c->run_q, row, guess))
            q = guess;
        else if (!sc_keymap_find(f->qmap, c->run_q, row, &q))
            q = SIZE_MAX;
        c->gq[g] = q;
        guess = q == SIZE_MAX ? SIZE_MAX : q + 1;
    }
    return ASSAY_OK;
}

static int rk_prepare_run(rk_ctx *c, const assay_host *h, unsigned nthreads,
                          const sc_keymap *qmap, assay_error *err)
{
    int rc = ASSAY_OK;
    size_t n = c->nrun;
    size_t grain = n / ((size_t)nthreads * 8) + 1;
    if (grain < (1u << 16))
        grain = 1u << 16;
    size_t nchunks = (n + grain - 1) / grain;
    rk_cut cut = {.c = c, .grain = grain};
    cut.starts = calloc(nchunks ? nchunks : 1, sizeof *cut.starts);
    cut.nstarts = calloc(nchunks ? nchunks : 1, sizeof *cut.nstarts);
    if (!cut.starts || !cut.nstarts) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    rc = sc_parallel(h, nthreads, n, grain, rk_cut_task, &cut, err);
    if (rc)
        goto done;
    size_t ng = 0;
    for (size_t i = 0; i < nchunks; i++)
        ng += cut.nstarts[i];
    c->ng = ng;
    c->gstart = malloc((ng + 1) * sizeof *c->gstart);
    c->gq = malloc((ng ? ng : 1) * sizeof *c->gq);
    if (!c->gstart || !c->gq) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    size_t w = 0;
    for (size_t i = 0; i < nchunks; i++) {
        memcpy(c->gstart + w, cut.starts[i],
               cut.nstarts[i] * sizeof *c->gstart);
        w += cut.nstarts[i];
    }
    c->gstart[ng] = n;

    rk_find f = {.c = c, .qmap = qmap};
    rc = sc_parallel(h, nthreads, ng, 4096, rk_find_task, &f, err);
    if (rc)
        goto done;

    /* gather each query's groups (counting sort, stable) */
    c->qseg_off = calloc(c->nq + 1, sizeof *c->qseg_off);
    c->qseg = malloc((ng ? ng : 1) * sizeof *c->qseg);
    if (!c->qseg_off || !c->qseg) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    size_t unjudged_groups = 0;
    for (size_t g = 0; g < ng; g++) {
        if (c->gq[g] == SIZE_MAX)
            unjudged_groups++;
        else
            c->qseg_off[c->gq[g] + 1]++;
    }
    for (size_t q = 0; q < c->nq; q++)
        c->qseg_off[q + 1] += c->qseg_off[q];
    {
        size_t *pos = malloc((c->nq ? c->nq : 1) * sizeof *pos);
        if (!pos) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto done;
        }
        memcpy(pos, c->qseg_off, c->nq * sizeof *pos);
        size_t rows = 0;
        for (size_t g = 0; g < ng; g++)
            if (c->gq[g] != SIZE_MAX) {
                c->qseg[pos[c->gq[g]]++] = g;
                rows += c->gstart[g + 1] - c->gstart[g];
            }
        free(pos);
        c->res->n_run_rows = rows;
    }
    /* distinct unjudged run queries (rare: a small map suffices) */
    if (unjudged_groups) {
        sc_keymap um;
        rc = sc_keymap_init(&um, c->run_q->is_str, 16, err);
        if (rc)
            goto done;
        for (size_t g = 0; g < ng && !rc; g++)
            if (c->gq[g] == SIZE_MAX) {
                size_t id;
                rc = sc_keymap_intern(&um, c->run_q, c->gstart[g], &id,
                                      NULL, err);
            }
        c->res->n_unjudged = um.n;
        sc_keymap_free(&um);
    }
done:
    if (cut.starts)
        for (size_t i = 0; i < nchunks; i++)
            free(cut.starts[i]);
    free(cut.starts);
    free(cut.nstarts);
    return rc;
}

/* ---- one query ------------------------------------------------------------- */

/* Row of the qrels judgment of run row `row` in query q's list, if any. */
static bool rk_judged(const rk_ctx *c, size_t q, size_t row, size_t *jr)
{
    size_t b = c->joff[q], e = c->jend[q];
    const sc_keys *ri = c->run_item, *qi = c->qr_item;
    if (e - b <= 8) {
        if (!ri->is_str) {
            int64_t v = ri->i[row];
            for (size_t j = b; j < e; j++)
                if (qi->i[c->jrow[j]] == v) {
                    *jr = c->jrow[j];
                    return true;
                }
            return false;
        }
        for (size_t j = b; j < e; j++)
            if (strcmp(qi->s[c->jrow[j]], ri->s[row]) == 0) {
                *jr = c->jrow[j];
                return true;
            }
        return false;
    }
    while (b < e) {
        size_t mid = b + (e - b) / 2;
        int cmp = sc_keys_cmp(qi, c->jrow[mid], ri, row);
        if (cmp == 0) {
            *jr = c->jrow[mid];
            return true;
        }
        if (cmp < 0)
            b = mid + 1;
        else
            e = mid;
    }
    return false;
}

/* True when the candidate (score s, relevance r, run row) ranks before
 * hit h.  Non-hits carry r = -inf.  Irreflexive: a hit never ranks
 * before itself. */
static inline bool rk_before(const rk_ctx *c, double s, double r, size_t row,
                             const rk_hit *h)
{
    if (s != h->score)
        return s > h->score;
    switch (c->cfg->ties) {
    case RK_TIES_OPTIMISTIC:
        if (r != h->rel)
            return r > h->rel;
        break;
    case RK_TIES_PESSIMISTIC:
        if (r != h->rel)
            return r < h->rel;
        break;
    default:
        break;
    }
    return sc_keys_cmp(c->run_item, row, c->run_item, h->row) > 0;
}

/* qsort_r comparator: hits in ranking order. */
static int cmp_hits(const void *a, const void *b, void *arg)
{
    const rk_ctx *c = arg;
    const rk_hit *x = a, *y = b;
    if (rk_before(c, x->score, x->rel, x->row, y))
        return -1;
    if (rk_before(c, y->score, y->rel, y->row, x))
        return 1;
    return 0;
}

#define RK_ROW(j) (idx ? idx[j] : base + (j))

static int rk_query(rk_ctx *c, rk_ws *ws, size_t q, size_t base,
                    const size_t *idx, size_t n, double *out,
                    assay_error *err)
{
    const rk_config *cfg = c->cfg;
    const double *score = c->score;
    const double thr = cfg->rel_threshold;
    size_t J = c->jend[q] - c->joff[q];
    size_t nh = 0;
    int rc;

    rc = rk_reserve((void **)&ws->hits, &ws->hcap, (J < n ? J : n) + 1,
                    sizeof *ws->hits, err);
    if (rc)
        return rc;

    /* 1. hits: judged candidates that matter for some measure */
    if (!idx && !c->run_item->is_str && J <= 8) {
        /* common case: a few judgments, integer ids, contiguous rows */
        int64_t jk[8];
        const int64_t *items = c->run_item->i + base;
        for (size_t t = 0; t < J; t++)
            jk[t] = c->qr_item->i[c->jrow[c->joff[q] + t]];
        for (size_t j = 0; j < n && nh < J; j++) {
            int64_t v = items[j];
            size_t t = 0;
            while (t < J && jk[t] != v)
                t++;
            if (t == J)
                continue;
            double rel = c->qr_rel[c->jrow[c->joff[q] + t]];
            if (rel < thr && rk_gain(cfg, rel) <= 0)
                continue;
            ws->hits[nh] = (rk_hit){score[base + j], rel, base + j, j, 0};
            nh++;
        }
    } else {
        for (size_t j = 0; j < n && nh < J; j++) {
            size_t row = RK_ROW(j), jr;
            if (!rk_judged(c, q, row, &jr))
                continue;
            double rel = c->qr_rel[jr];
            if (rel < thr && rk_gain(cfg, rel) <= 0)
                continue;
            ws->hits[nh] = (rk_hit){score[row], rel, row, j, 0};
            nh++;
        }
    }

    /* 2. ranks of the hits */
    if (nh == 1 && !idx) {
        /* the leave-one-out case: count who beats the single hit */
        const double *s = score + base;
        rk_hit *h = &ws->hits[0];
        double hs = h->score;
        size_t gt = 0, eq = 0;
        for (size_t j = 0; j < n; j++) {
            gt += s[j] > hs;
            eq += s[j] == hs;
        }
        if (eq > 1)
            for (size_t j = 0; j < n; j++)
                if (s[j] == hs && j != h->pos &&
                    rk_before(c, s[j], -INFINITY, base + j, h))
                    gt++;
        h->rank = gt + 1;
    } else if (nh > 0) {
        rc = rk_reserve((void **)&ws->crel, &ws->rcap, n, sizeof *ws->crel,
                        err);
        if (rc)
            return rc;
        for (size_t j = 0; j < n; j++)
            ws->crel[j] = -INFINITY;
        for (size_t k = 0; k < nh; k++)
            ws->crel[ws->hits[k].pos] = ws->hits[k].rel;
        qsort_r(ws->hits, nh, sizeof *ws->hits, cmp_hits, c);
        rc = rk_reserve((void **)&ws->cnt, &ws->ccap, nh + 1,
                        sizeof *ws->cnt, err);
        if (rc)
            return rc;
        memset(ws->cnt, 0, (nh + 1) * sizeof *ws->cnt);
        for (size_t j = 0; j < n; j++) {
            size_t row = RK_ROW(j);
            double s = score[row], r = ws->crel[j];
            /* first hit that this candidate ranks before */
            size_t lo = 0, hi = nh;
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (rk_before(c, s, r, row, &ws->hits[mid]))
                    hi = mid;
                else
                    lo = mid + 1;
            }
            ws->cnt[lo]++;
        }
        size_t ahead = 0;
        for (size_t k = 0; k < nh; k++) {
            ahead += ws->cnt[k];
            ws->hits[k].rank = ahead + 1;
        }
    }

    /* 3. measures */
    size_t nk = cfg->nk;
    memset(out, 0, (RK_NBASE + RK_PER_K * nk) * sizeof *out);
    size_t numrel = 0, relret = 0, first = 0;
    if (cfg->protocol == RK_FULL) {
        numrel = c->numrel[q];
    } else {
        for (size_t k = 0; k < nh; k++)
            numrel += ws->hits[k].rel >= thr;
    }
    const double *ideal;
    if (cfg->protocol == RK_FULL) {
        ideal = c->idcg + q * (nk + 1);
    } else {
        rc = rk_reserve((void **)&ws->gains, &ws->gcap, nh + nk + 2,
                        sizeof *ws->gains, err);
        if (rc)
            return rc;
        for (size_t k = 0; k < nh; k++)
            ws->gains[k] = rk_gain(cfg, ws->hits[k].rel);
        qsort(ws->gains, nh, sizeof *ws->gains, cmp_desc);
        double *id = ws->gains + nh;
        rk_ideal(cfg, ws->gains, nh, id);
        ideal = id;
    }
    double ap = 0.0, dcg = 0.0;
    for (size_t k = 0; k < nh; k++) {
        const rk_hit *h = &ws->hits[k];
        bool bin = h->rel >= thr;
        double g = rk_gain(cfg, h->rel);
        double dg = g > 0 ? g / rk_log2p1(h->rank) : 0.0;
        dcg += dg;
        double prec = 0.0;
        if (bin) {
            relret++;
            prec = (double)relret / (double)h->rank;
            ap += prec;
            if (!first)
                first = h->rank;
        }
        for (size_t ki = 0; ki < nk; ki++) {
            if (h->rank > (size_t)cfg->ks[ki])
                continue;
            double *o = out + RK_NBASE + ki * RK_PER_K;
            o[RK_K_NDCG] += dg;
            if (bin) {
                o[RK_K_PRECISION] += 1.0;
                o[RK_K_MAP] += prec;
            }
        }
    }
    out[RK_C_NUM_RET] = (double)n;
    out[RK_C_NUM_REL] = (double)numrel;
    out[RK_C_NUM_REL_RET] = (double)relret;
    out[RK_C_RANK] = (double)first;
    if (numrel > 0) {
        out[RK_C_MAP] = ap / (double)numrel;
        out[RK_C_MRR] = first ? 1.0 / (double)first : 0.0;
        out[RK_C_NDCG] = ideal[nk] > 0 ? dcg / ideal[nk] : 0.0;
    }
    for (size_t ki = 0; ki < nk; ki++) {
        double *o = out + RK_NBASE + ki * RK_PER_K;
        double K = (double)cfg->ks[ki];
        double inK = o[RK_K_PRECISION];
        if (numrel == 0) {
            memset(o, 0, RK_PER_K * sizeof *o);
            continue;
        }
        o[RK_K_HR] = inK > 0 ? 1.0 : 0.0;
        o[RK_K_NDCG] = ideal[ki] > 0 ? o[RK_K_NDCG] / ideal[ki] : 0.0;
        o[RK_K_PRECISION] = inK / K;
        o[RK_K_RECALL] = inK / (double)numrel;
        o[RK_K_MAP] = o[RK_K_MAP] / (double)numrel;
        o[RK_K_MRR] = first && first <= (size_t)cfg->ks[ki]
                          ? 1.0 / (double)first
                          : 0.0;
    }
    return ASSAY_OK;
}

static int rk_eval_task(void *arg, size_t b, size_t e, unsigned worker,
                        assay_error *err)
{
    rk_ctx *c = arg;
    rk_ws *ws = &c->ws[worker];
    rk_result *res = c->res;
    for (size_t q = b; q < e; q++) {
        double *out = res->vals + q * res->ncols;
        size_t sb = c->qseg_off[q], se = c->qseg_off[q + 1];
        int rc;
        if (sb == se) {
            res->evaluated[q] = false;
            memset(out, 0, res->ncols * sizeof *out);
            out[RK_C_NUM_REL] = (double)c->numrel[q];
            continue;
        }
        res->evaluated[q] = true;
        if (se - sb == 1) {
            size_t g = c->qseg[sb];
            rc = rk_query(c, ws, q, c->gstart[g], NULL,
                          c->gstart[g + 1] - c->gstart[g], out, err);
        } else {
            size_t n = 0;
            for (size_t s = sb; s < se; s++) {
                size_t g = c->qseg[s];
                n += c->gstart[g + 1] - c->gstart[g];
            }
            rc = rk_reserve((void **)&ws->idx, &ws->icap, n, sizeof *ws->idx,
                            err);
            if (rc)
                return rc;
            size_t w = 0;
            for (size_t s = sb; s < se; s++) {
                size_t g = c->qseg[s];
                for (size_t r = c->gstart[g]; r < c->gstart[g + 1]; r++)
                    ws->idx[w++] = r;
            }
            rc = rk_query(c, ws, q, 0, ws->idx, n, out, err);
        }
        if (rc)
            return rc;
    }
    return ASSAY_OK;
}

/* ---- leave-one-out fast path ----------------------------------------------
 * The common sampled-candidate layout: integer ids, one qrels row per
 * query with queries strictly increasing (so a query's index is found by
 * binary search, without hashing), every relevance a hit, and the run
 * grouped by query in the same order with every query present once.
 * Then each query is one pass over its candidates: find the positive,
 * count who beats it.  The values are those rk_query computes (same
 * expressions); anything else falls back to the general path. */

typedef struct rk_loo {
    rk_ctx *c;
    const int64_t *qkeys; /* the queries' keys, ascending */
    size_t nq;
    size_t nchunks;
    size_t *qb, *qe; /* per chunk: queries [qb, qe) it evaluated */
    double *sums;    /* per chunk: ncols sums over its queries */
    double *rows;    /* per chunk: one query's values (summary only) */
    atomic_bool bad; /* the layout is not the simple one */
} rk_loo;

static size_t rk_loo_lower(const int64_t *k, size_t n, int64_t v)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (k[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Branch-free loops the compiler vectorizes (the library is built with
 * -O3, see meson.build). */
static bool rk_all_equal(const int64_t *a, size_t n, int64_t v)
{
    uint64_t diff = 0;
    for (size_t i = 0; i < n; i++)
        diff |= (uint64_t)(a[i] ^ v);
    return diff == 0;
}

#if defined(__GNUC__)
/* Compilers do not vectorize a count of floating-point comparisons on
 * their own (the comparisons may trap): two lanes at a time with vector
 * extensions (SSE2 on x86-64, plain code elsewhere).  A comparison
 * yields -1 per true lane. */
typedef double rk_v2d __attribute__((vector_size(16)));
typedef long long rk_v2i __attribute__((vector_size(16)));
#endif

static void rk_count_above(const double *s, size_t n, double v, size_t *gt,
                           size_t *eq)
{
    size_t g = 0, e = 0, j = 0;
#if defined(__GNUC__)
    rk_v2i ag = {0, 0}, ae = {0, 0}, bg = {0, 0}, be = {0, 0};
    rk_v2d vv = {v, v};
    for (; j + 4 <= n; j += 4) {
        rk_v2d x, y;
        memcpy(&x, s + j, sizeof x);
        memcpy(&y, s + j + 2, sizeof y);
        ag -= (rk_v2i)(x > vv);
        ae -= (rk_v2i)(x == vv);
        bg -= (rk_v2i)(y > vv);
        be -= (rk_v2i)(y == vv);
    }
    g = (size_t)(ag[0] + ag[1] + bg[0] + bg[1]);
    e = (size_t)(ae[0] + ae[1] + be[0] + be[1]);
#endif
    for (; j < n; j++) {
        g += s[j] > v;
        e += s[j] == v;
    }
    *gt = g;
    *eq = e;
}

static void rk_loo_measures(const rk_ctx *c, size_t q, size_t n,
                            size_t rank, double *out)
{
    const rk_config *cfg = c->cfg;
    size_t nk = cfg->nk;
    double g = rk_gain(cfg, c->qr_rel[q]);
    memset(out, 0, (RK_NBASE + RK_PER_K * nk) * sizeof *out);
    size_t numrel = cfg->protocol == RK_FULL || rank ? 1 : 0;
    out[RK_C_NUM_RET] = (double)n;
    out[RK_C_NUM_REL] = (double)numrel;
    if (!rank)
        return; /* not among the candidates: every measure is 0 */
    /* as rk_query with one hit: ideal DCG g at every cut-off */
    double dg = g / rk_log2p1(rank);
    double prec = 1.0 / (double)rank;
    out[RK_C_NUM_REL_RET] = 1.0;
    out[RK_C_RANK] = (double)rank;
    out[RK_C_MAP] = prec;
    out[RK_C_MRR] = 1.0 / (double)rank;
    out[RK_C_NDCG] = g > 0 ? dg / g : 0.0;
    for (size_t ki = 0; ki < nk; ki++) {
        if (rank > (size_t)cfg->ks[ki])
            continue;
        double *o = out + RK_NBASE + ki * RK_PER_K;
        o[RK_K_HR] = 1.0;
        o[RK_K_NDCG] = g > 0 ? dg / g : 0.0;
        o[RK_K_PRECISION] = 1.0 / (double)cfg->ks[ki];
        o[RK_K_RECALL] = 1.0;
        o[RK_K_MAP] = prec;
        o[RK_K_MRR] = 1.0 / (double)rank;
    }
}

static int rk_loo_task(void *arg, size_t b, size_t e, unsigned worker,
                       assay_error *err)
{
    (void)worker;
    (void)err;
    rk_loo *L = arg;
    rk_ctx *c = L->c;
    const int64_t *ru = c->run_q->i, *ri = c->run_item->i;
    const int64_t *qk = L->qkeys, *qi = c->qr_item->i;
    const double *sc = c->score;
    size_t N = c->nrun, nq = L->nq, ncols = c->res->ncols;
    for (size_t chunk = b; chunk < e; chunk++) {
        size_t r = N * chunk / L->nchunks, end = N * (chunk + 1) / L->nchunks;
        /* start at the first group that begins in this chunk */
        while (r > 0 && r < end && ru[r] == ru[r - 1])
            r++;
        size_t q = r < end ? rk_loo_lower(qk, nq, ru[r]) : 0;
        L->qb[chunk] = L->qe[chunk] = q;
        size_t guess = 0;
        while (r < end) {
            if (atomic_load_explicit(&L->bad, memory_order_relaxed))
                return ASSAY_OK;
            int64_t u = ru[r];
            if (q >= nq || qk[q] != u) {
                atomic_store(&L->bad, true);
                return ASSAY_OK;
            }
            /* the group (most often as long as the previous one: check
             * that guess with a loop that vectorizes), the positive in
             * it, who beats it */
            size_t g0 = r;
            if (guess && g0 + guess <= N &&
                (g0 + guess == N || ru[g0 + guess] != u) &&
                rk_all_equal(ru + g0, guess, u))
                r = g0 + guess;
            else
                while (r < N && ru[r] == u)
                    r++;
            size_t n = r - g0, pos = 0;
            guess = n;
            int64_t want = qi[q];
            const int64_t *items = ri + g0;
            while (pos < n && items[pos] != want)
                pos++;
            size_t rank = 0;
            if (pos < n) {
                const double *s = sc + g0;
                double hs = s[pos];
                size_t gt, eq;
                rk_count_above(s, n, hs, &gt, &eq);
                if (eq > 1) {
                    rk_hit h = {hs, c->qr_rel[q], g0 + pos, pos, 0};
                    for (size_t j = 0; j < n; j++)
                        if (s[j] == hs && j != pos &&
                            rk_before(c, s[j], -INFINITY, g0 + j, &h))
                            gt++;
                }
                rank = gt + 1;
            }
            double *v = c->res->vals ? c->res->vals + q * ncols
                                     : L->rows + chunk * ncols;
            rk_loo_measures(c, q, n, rank, v);
            double *sum = L->sums + chunk * ncols;
            for (size_t j = 0; j < ncols; j++)
                sum[j] += v[j];
            q++;
        }
        L->qe[chunk] = q;
    }
    return ASSAY_OK;
}

/* 1 when the fast path evaluated everything, 0 when the layout is not
 * the simple one (nothing is left allocated), else an error. */
static int rk_try_loo(rk_ctx *c, const assay_host *h, unsigned nthreads,
                      const sc_keys *qr_q, assay_error *err)
{
    const rk_config *cfg = c->cfg;
    rk_result *res = c->res;
    size_t nq = qr_q->n, N = c->nrun;
    if (qr_q->is_str || c->qr_item->is_str || c->run_q->is_str ||
        c->run_item->is_str || nq == 0 || N == 0 || cfg->missing_zero)
        return 0;
    for (size_t q = 0; q < nq; q++) {
        double rel = c->qr_rel[q];
        if ((q && qr_q->i[q] <= qr_q->i[q - 1]) || !(rel >= cfg->rel_threshold) ||
            !(rk_gain(cfg, rel) > 0))
            return 0;
    }
    if (c->run_q->i[0] != qr_q->i[0])
        return 0;
    /* chunks of rows, as many whatever the thread count: the means add
     * the chunks' sums in order, the same for any number of threads */
    rk_loo L = {.c = c, .qkeys = qr_q->i, .nq = nq};
    L.nchunks = N / 65536;
    L.nchunks = L.nchunks < 1 ? 1 : L.nchunks > 256 ? 256 : L.nchunks;
    atomic_init(&L.bad, false);
    size_t ncols = RK_NBASE + RK_PER_K * cfg->nk;
    L.qb = malloc(L.nchunks * sizeof *L.qb);
    L.qe = malloc(L.nchunks * sizeof *L.qe);
    L.sums = calloc(L.nchunks * ncols, sizeof *L.sums);
    L.rows = malloc(L.nchunks * ncols * sizeof *L.rows);
    res->ncols = ncols;
    if (!cfg->summary_only)
        res->vals = malloc(nq * ncols * sizeof *res->vals);
    int rc = 0;
    if (!L.qb || !L.qe || !L.sums || !L.rows ||
        (!cfg->summary_only && !res->vals)) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    rc = sc_parallel(h, nthreads, L.nchunks, 1, rk_loo_task, &L, err);
    if (rc)
        goto out;
    /* every query once, in order: the chunks' ranges chain up */
    bool ok = !atomic_load(&L.bad);
    size_t next = 0;
    for (size_t k = 0; ok && k < L.nchunks; k++) {
        if (L.qe[k] == L.qb[k])
            continue;
        ok = L.qb[k] == next;
        next = L.qe[k];
    }
    if (!ok || next != nq)
        goto out; /* rc 0: not the simple layout */
    res->nq = nq;
    res->qrow = malloc(nq * sizeof *res->qrow);
    res->evaluated = malloc(nq * sizeof *res->evaluated);
    res->mean = calloc(res->ncols, sizeof *res->mean);
    if (!res->qrow || !res->evaluated || !res->mean) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t q = 0; q < nq; q++) {
        res->qrow[q] = q;
        res->evaluated[q] = true;
    }
    for (size_t k = 0; k < L.nchunks; k++)
        for (size_t j = 0; j < ncols; j++)
            res->mean[j] += L.sums[k * ncols + j];
    for (size_t j = 0; j < ncols; j++)
        if (j != RK_C_NUM_RET && j != RK_C_NUM_REL && j != RK_C_NUM_REL_RET)
            res->mean[j] /= (double)nq;
    res->n_averaged = nq;
    res->n_run_rows = N;
    rc = 1;
out:
    free(L.qb);
    free(L.qe);
    free(L.sums);
    free(L.rows);
    if (rc != 1) {
        free(res->vals);
        free(res->qrow);
        free(res->evaluated);
        free(res->mean);
        memset(res, 0, sizeof *res);
    }
    return rc;
}

int rk_evaluate(const rk_config *cfg, const assay_host *h, unsigned nthreads,
                sc_keys *run_q, sc_keys *run_item, const double *run_score,
                sc_keys *qr_q, sc_keys *qr_item, const double *qr_rel,
                rk_result *res, assay_error *err)
{
    int rc;
    rk_ctx c;
    sc_keymap qmap;
    memset(&c, 0, sizeof c);
    memset(res, 0, sizeof *res);
    memset(&qmap, 0, sizeof qmap);
    if (nthreads < 1)
        nthreads = 1;
    if (run_q->n != run_item->n || qr_q->n != qr_item->n)
        return assay_error_set(err, ASSAY_EINTERNAL, "column length mismatch");
    /* ids of one kind on both sides */
    if (run_q->is_str != qr_q->is_str) {
        if ((rc = sc_keys_to_str(run_q, err)) ||
            (rc = sc_keys_to_str(qr_q, err)))
            return rc;
    }
    if (run_item->is_str != qr_item->is_str) {
        if ((rc = sc_keys_to_str(run_item, err)) ||
            (rc = sc_keys_to_str(qr_item, err)))
            return rc;
    }
    c.cfg = cfg;
    c.run_q = run_q;
    c.run_item = run_item;
    c.qr_item = qr_item;
    c.score = run_score;
    c.qr_rel = qr_rel;
    c.nrun = run_q->n;
    c.res = res;
    c.nthreads = nthreads;

    rc = rk_try_loo(&c, h, nthreads, qr_q, err);
    if (rc == 1) {
        rc = ASSAY_OK;
        goto done;
    }
    if (rc)
        goto done;
    rc = sc_keymap_init(&qmap, qr_q->is_str, qr_q->n + 16, err);
    if (rc)
        goto done;
    rc = rk_prepare_qrels(&c, qr_q, qr_q->n, &qmap, err);
    if (rc)
        goto done;
    rc = rk_prepare_run(&c, h, nthreads, &qmap, err);
    if (rc)
        goto done;

    res->nq = c.nq;
    res->ncols = RK_NBASE + RK_PER_K * cfg->nk;
    res->vals = malloc((c.nq ? c.nq : 1) * res->ncols * sizeof *res->vals);
    res->evaluated = calloc(c.nq ? c.nq : 1, sizeof *res->evaluated);
    res->mean = calloc(res->ncols, sizeof *res->mean);
    c.nws = nthreads;
    c.ws = calloc(nthreads, sizeof *c.ws);
    if (!res->vals || !res->evaluated || !res->mean || !c.ws) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    size_t grain = c.nq / ((size_t)nthreads * 16) + 1;
    if (grain > 4096)
        grain = 4096;
    rc = sc_parallel(h, nthreads, c.nq, grain, rk_eval_task, &c, err);
    if (rc)
        goto done;

    /* means over the averaged queries, in query order (deterministic);
     * the count columns are sums, as trec_eval reports them */
    size_t na = 0;
    for (size_t q = 0; q < c.nq; q++) {
        if (!res->evaluated[q] && !cfg->missing_zero)
            continue;
        na++;
        const double *v = res->vals + q * res->ncols;
        for (size_t j = 0; j < res->ncols; j++)
            res->mean[j] += v[j];
    }
    res->n_averaged = na;
    for (size_t j = 0; j < res->ncols; j++) {
        bool count = j == RK_C_NUM_RET || j == RK_C_NUM_REL ||
                     j == RK_C_NUM_REL_RET;
        if (!count)
            res->mean[j] = na ? res->mean[j] / (double)na : NAN;
    }
done:
    if (c.ws)
        for (unsigned t = 0; t < c.nws; t++) {
            free(c.ws[t].hits);
            free(c.ws[t].cnt);
            free(c.ws[t].crel);
            free(c.ws[t].idx);
            free(c.ws[t].gains);
        }
    free(c.ws);
    free(c.gstart);
    free(c.gq);
    free(c.qseg_off);
    free(c.qseg);
    free(c.joff);
    free(c.jend);
    free(c.jrow);
    free(c.numrel);
    free(c.idcg);
    sc_keymap_free(&qmap);
    if (rc)
        rk_result_free(res);
    return rc;
}
