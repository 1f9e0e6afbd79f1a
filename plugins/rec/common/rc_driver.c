/*
 * rc_driver.c - everything a recommender node does around its model:
 * read and index the interaction tables, fit, rank users (full ranking
 * with the history excluded), score candidate lists, compute the metrics
 * and build every output port.
 */
#include "rc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const assay_port rc_rec_inputs[] = {
    {.name = "train",
     .type = ASSAY_T_TABLE,
     .required = true,
     .doc = "training interactions (user, item[, timestamp])"},
    {.name = "valid",
     .type = ASSAY_T_TABLE,
     .doc = "validation interactions: early stopping, and part of the "
            "history of test users"},
    {.name = "test",
     .type = ASSAY_T_TABLE,
     .doc = "test interactions: whom to rank and the truth of `metrics`"},
    {.name = "candidates",
     .type = ASSAY_T_TABLE,
     .doc = "(user, item[, query, label]) rows to score, e.g. from "
            "protocol.negatives"},
    {0}};

const assay_port rc_rec_outputs[] = {
    {.name = "topk",
     .type = ASSAY_T_TABLE,
     .doc = "top-K lists as rows (user, rank, item, score), rank from 1",
     .chart = "table"},
    {.name = "lists",
     .type = ASSAY_T_RECORDS,
     .doc = "top-K lists as records {user, items, scores[, targets]}"},
    {.name = "history",
     .type = ASSAY_T_RECORDS,
     .doc = "each listed user's history {user, items} in time order"},
    {.name = "scores",
     .type = ASSAY_T_TABLE,
     .doc = "the candidates with a `score` column (empty without "
            "candidates)"},
    {.name = "model",
     .type = ASSAY_T_JSON,
     .doc = "training report: seconds, epochs, parameters, curves"},
    {.name = "metrics",
     .type = ASSAY_T_JSON,
     .doc = "recall/mrr/ndcg/hit/precision@K on test (full ranking) and "
            "sampled-candidate metrics",
     .chart = "bar"},
    {0}};

static int nomem(assay_error *err)
{
    return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
}

json_t *rc_opts_copy(const json_t *opts)
{
    return json_deep_copy(opts);
}

rc_hist rc_ctx_train_hist(const rc_ctx *ctx)
{
    rc_hist h = {&ctx->train, &ctx->train_set};
    return h;
}

rc_hist rc_ctx_full_hist(const rc_ctx *ctx)
{
    rc_hist h = {&ctx->full, &ctx->full_set};
    return h;
}

/* ---- ranking many users ------------------------------------------------- */

typedef struct rank_job {
    rc_ctx *ctx;
    const rc_model *m;
    rc_hist h;
    const uint32_t *users; /* users of this batch */
    size_t n;
    const float *scores; /* n x n_items */
    const rc_csr *truth; /* sorted sets, or NULL */
    size_t klist;        /* entries kept per user (top, top_s) */
    uint32_t *top;       /* n x klist (batch-relative) */
    float *top_s;
    size_t *ntop;
    const size_t *ks;
    size_t nk;
    double *sums;         /* per worker: RC_M_COUNT * nk */
    size_t *counted;      /* per worker: users with truth */
    unsigned char **mask; /* per worker: n_items bytes, all zero */
} rank_job;

static int rank_task(void *vctx, size_t t, unsigned w)
{
    rank_job *j = vctx;
    rc_ctx *ctx = j->ctx;
    uint32_t u = j->users[t];
    unsigned char *mask = j->mask[w];
    const uint32_t *seen = rc_csr_row(j->h.set, u);
    size_t nseen = rc_csr_len(j->h.set, u);
    if (ctx->exclude_seen)
        for (size_t i = 0; i < nseen; i++)
            mask[seen[i]] = 1;
    uint32_t *top = j->top + t * j->klist;
    float *top_s = j->top_s + t * j->klist;
    size_t nt = rc_topk(j->scores + t * ctx->n_items, ctx->n_items,
                        ctx->exclude_seen ? mask : NULL, j->klist, top, top_s);
    if (ctx->exclude_seen)
        for (size_t i = 0; i < nseen; i++)
            mask[seen[i]] = 0;
    j->ntop[t] = nt;
    if (j->truth && rc_csr_len(j->truth, u) > 0) {
        double v[RC_M_COUNT * RC_MAX_KS];
        rc_metrics_user(top, nt, rc_csr_row(j->truth, u),
                        rc_csr_len(j->truth, u), j->ks, j->nk, v);
        double *s = j->sums + (size_t)w * RC_M_COUNT * j->nk;
        for (size_t i = 0; i < RC_M_COUNT * j->nk; i++)
            s[i] += v[i];
        j->counted[w]++;
    }
    return 0;
}

/* Users per score() call: bounded by a 64 MiB score buffer. */
static size_t score_batch(const rc_ctx *ctx)
{
    size_t b = ((size_t)16 << 20) / (ctx->n_items ? ctx->n_items : 1);
    if (b > 512)
        b = 512;
    return b ? b : 1;
}

/*
 * Rank `users[0 .. n)` with history `h`.  When `keep_top` is set, the
 * best `klist` items of every user are returned in top_out, tops_out and
 * ntop_out (caller frees).  When `truth` is set, the mean metrics over users
 * with truth go to `means` (RC_M_COUNT x nk) and their number to *counted.
 */
static int rank_users(rc_ctx *ctx, const rc_model *m, rc_hist h,
                      const uint32_t *users, size_t n, size_t klist,
                      bool keep_top, const rc_csr *truth, const size_t *ks,
                      size_t nk, uint32_t **top_out, float **tops_out,
                      size_t **ntop_out, double *means, size_t *counted,
                      assay_error *err)
{
    int rc = ASSAY_OK;
    unsigned nw = rc_pool_size(ctx->pool);
    size_t batch = score_batch(ctx);
    float *scores = NULL;
    uint32_t *top = NULL;
    float *top_s = NULL;
    size_t *ntop = NULL;
    double *sums = NULL;
    size_t *cnt = NULL;
    unsigned char **mask = NULL;
    size_t rows = keep_top ? n : (batch < n ? batch : n);

    scores = malloc((batch * ctx->n_items + 1) * sizeof *scores);
    top = malloc(((rows ? rows : 1) * klist) * sizeof *top);
    top_s = malloc(((rows ? rows : 1) * klist) * sizeof *top_s);
    ntop = calloc(rows ? rows : 1, sizeof *ntop);
    sums = calloc((size_t)nw * RC_M_COUNT * (nk ? nk : 1), sizeof *sums);
    cnt = calloc(nw, sizeof *cnt);
    mask = calloc(nw, sizeof *mask);
    if (!scores || !top || !top_s || !ntop || !sums || !cnt || !mask)
        goto fail_nomem;
    for (unsigned w = 0; w < nw; w++)
        if (!(mask[w] = calloc(ctx->n_items ? ctx->n_items : 1, 1)))
            goto fail_nomem;

    for (size_t at = 0; at < n; at += batch) {
        size_t b = n - at < batch ? n - at : batch;
        if (ctx->host->cancelled(ctx->host)) {
            rc = assay_error_set(err, ASSAY_ECANCELED, "cancelled");
            goto done;
        }
        if ((rc = m->score(m->self, ctx, &h, users + at, b, scores, err)))
            goto done;
        size_t off = keep_top ? at : 0;
        rank_job j = {.ctx = ctx,
                      .m = m,
                      .h = h,
                      .users = users + at,
                      .n = b,
                      .scores = scores,
                      .truth = truth,
                      .klist = klist,
                      .top = top + off * klist,
                      .top_s = top_s + off * klist,
                      .ntop = ntop + off,
                      .ks = ks,
                      .nk = nk,
                      .sums = sums,
                      .counted = cnt,
                      .mask = mask};
        if ((rc = rc_pool_run(ctx->pool, b, rank_task, &j)))
            goto done;
    }
    if (truth) {
        size_t total = 0;
        for (unsigned w = 0; w < nw; w++)
            total += cnt[w];
        for (size_t i = 0; i < RC_M_COUNT * nk; i++) {
            double s = 0.0;
            for (unsigned w = 0; w < nw; w++)
                s += sums[(size_t)w * RC_M_COUNT * nk + i];
            means[i] = total ? s / (double)total : 0.0;
        }
        *counted = total;
    }
    if (keep_top) {
        *top_out = top;
        *tops_out = top_s;
        *ntop_out = ntop;
        top = NULL;
        top_s = NULL;
        ntop = NULL;
    }
    goto done;

fail_nomem:
    rc = nomem(err);
done:
    if (mask)
        for (unsigned w = 0; w < nw; w++)
            free(mask[w]);
    free(mask);
    free(cnt);
    free(sums);
    free(ntop);
    free(top_s);
    free(top);
    free(scores);
    return rc;
}

/* Users with at least one entry in `c`. */
static int users_with_rows(const rc_csr *c, uint32_t **out, size_t *n,
                           assay_error *err)
{
    size_t cnt = 0;
    for (size_t u = 0; u < c->n; u++)
        cnt += rc_csr_len(c, u) > 0;
    uint32_t *v = malloc((cnt ? cnt : 1) * sizeof *v);
    if (!v)
        return nomem(err);
    cnt = 0;
    for (size_t u = 0; u < c->n; u++)
        if (rc_csr_len(c, u) > 0)
            v[cnt++] = (uint32_t)u;
    *out = v;
    *n = cnt;
    return ASSAY_OK;
}

int rc_validate(rc_ctx *ctx, const rc_model *m, double *value, assay_error *err)
{
    if (!ctx->has_valid)
        return assay_error_set(err, ASSAY_EINVAL,
                               "early stopping needs the `valid` input");
    uint32_t *users = NULL;
    size_t n = 0;
    double means[RC_M_COUNT];
    size_t counted = 0;
    int rc = users_with_rows(&ctx->valid_set, &users, &n, err);
    if (rc)
        return rc;
    rc = rank_users(ctx, m, rc_ctx_train_hist(ctx), users, n, ctx->valid_k,
                    false, &ctx->valid_set, &ctx->valid_k, 1, NULL, NULL, NULL,
                    means, &counted, err);
    free(users);
    if (rc)
        return rc;
    *value = means[ctx->valid_metric];
    return ASSAY_OK;
}

int rc_early_init(rc_early *e, const rc_ctx *ctx, int64_t patience,
                  int64_t eval_every, assay_error *err)
{
    memset(e, 0, sizeof *e);
    e->active = ctx->has_valid && patience > 0;
    e->patience = patience;
    e->eval_every = eval_every > 0 ? eval_every : 1;
    e->best = -1.0;
    e->curve = json_array();
    if (!e->curve)
        return nomem(err);
    return ASSAY_OK;
}

int rc_early_step(rc_early *e, rc_ctx *ctx, const rc_model *m, int64_t epoch,
                  bool *improved, assay_error *err)
{
    *improved = false;
    if (!e->active || epoch % e->eval_every != 0)
        return 0;
    double v;
    int rc = rc_validate(ctx, m, &v, err);
    if (rc)
        return rc;
    json_t *pt = json_pack("[I, f]", (json_int_t)epoch, v);
    if (!pt || json_array_append_new(e->curve, pt))
        return nomem(err);
    if (v > e->best) {
        e->best = v;
        e->best_epoch = epoch;
        e->bad = 0;
        *improved = true;
        return 0;
    }
    return ++e->bad >= e->patience ? 1 : 0;
}

int rc_early_report(rc_early *e, const rc_ctx *ctx, json_t *report)
{
    char name[48];
    if (!e->active)
        return ASSAY_OK;
    snprintf(name, sizeof name, "%s@%zu", rc_metric_names[ctx->valid_metric],
             ctx->valid_k);
    if (json_object_set_new(report, "valid_metric", json_string(name)) ||
        json_object_set_new(report, "best_epoch",
                            json_integer((json_int_t)e->best_epoch)) ||
        json_object_set_new(report, "best_valid", json_real(e->best)) ||
        json_object_set_new(report, "valid_curve", json_incref(e->curve)))
        return ASSAY_ENOMEM;
    return ASSAY_OK;
}

void rc_early_free(rc_early *e)
{
    json_decref(e->curve);
    e->curve = NULL;
}

/* ---- context ------------------------------------------------------------ */

static void ctx_free(rc_ctx *ctx)
{
    rc_ids_free(&ctx->users);
    rc_ids_free(&ctx->items);
    rc_csr_free(&ctx->train);
    rc_csr_free(&ctx->train_set);
    rc_csr_free(&ctx->valid);
    rc_csr_free(&ctx->valid_set);
    rc_csr_free(&ctx->test);
    rc_csr_free(&ctx->test_set);
    rc_csr_free(&ctx->full);
    rc_csr_free(&ctx->full_set);
    rc_pool_free(ctx->pool);
    ctx->pool = NULL;
}

/* Build the indexes and per-user lists from the connected tables. */
static int ctx_build(rc_ctx *ctx, const rc_inter *tr, const rc_inter *va,
                     const rc_inter *te, const rc_inter *ca, assay_error *err)
{
    const int64_t *ucols[4], *icols[4];
    size_t lens[4], nc = 0;
    const rc_inter *all[4] = {tr, va, te, ca};
    int rc;
    for (size_t i = 0; i < 4; i++) {
        if (!all[i])
            continue;
        ucols[nc] = all[i]->user;
        icols[nc] = all[i]->item;
        lens[nc] = all[i]->n;
        nc++;
    }
    if ((rc = rc_ids_build(&ctx->users, ucols, lens, nc, err)) ||
        (rc = rc_ids_build(&ctx->items, icols, lens, nc, err)))
        return rc;
    ctx->n_users = ctx->users.n;
    ctx->n_items = ctx->items.n;
    rc_inter empty = {0};
    const rc_inter *v = va ? va : &empty;
    const rc_inter *t = te ? te : &empty;
    rc_inter both[2] = {*tr, *v};
    if ((rc =
             rc_csr_build(tr, 1, &ctx->users, &ctx->items, &ctx->train, err)) ||
        (rc = rc_csr_unique(&ctx->train, &ctx->train_set, err)) ||
        (rc = rc_csr_build(v, 1, &ctx->users, &ctx->items, &ctx->valid, err)) ||
        (rc = rc_csr_unique(&ctx->valid, &ctx->valid_set, err)) ||
        (rc = rc_csr_build(t, 1, &ctx->users, &ctx->items, &ctx->test, err)) ||
        (rc = rc_csr_unique(&ctx->test, &ctx->test_set, err)) ||
        (rc = rc_csr_build(both, va ? 2 : 1, &ctx->users, &ctx->items,
                           &ctx->full, err)) ||
        (rc = rc_csr_unique(&ctx->full, &ctx->full_set, err)))
        return rc;
    ctx->has_valid = va && va->n > 0;
    ctx->has_test = te != NULL;
    return ASSAY_OK;
}

/* ---- outputs ------------------------------------------------------------ */

static int set_metric_members(json_t *o, const double *means, const size_t *ks,
                              size_t nk, bool sampled)
{
    char key[48];
    for (int mi = 0; mi < RC_M_COUNT; mi++) {
        if (sampled && (mi == RC_M_RECALL || mi == RC_M_PRECISION))
            continue;
        for (size_t j = 0; j < nk; j++) {
            snprintf(key, sizeof key, "%s@%zu", rc_metric_names[mi], ks[j]);
            if (json_object_set_new(o, key, json_real(means[mi * nk + j])))
                return ASSAY_ENOMEM;
        }
    }
    return ASSAY_OK;
}

/* Score the candidates table and compute sampled metrics.  *scored gets
 * a copy of the candidates with a score column. */
static int score_candidates(rc_ctx *ctx, const rc_model *m, const rc_inter *ca,
                            const size_t *ks, size_t nk, assay_table **scored,
                            json_t *metrics, assay_error *err)
{
    const assay_host *host = ctx->host;
    rc_csr groups = {0}, qgroups = {0};
    uint32_t *rows = NULL, *users = NULL;
    float *buf = NULL;
    assay_table *t = NULL;
    rc_ids qids = {0};
    int rc;
    size_t n = ca->n;
    const assay_column *label = assay_table_col(ca->table, "label");
    const assay_column *query = assay_table_col(ca->table, "query");
    if (label && label->type == ASSAY_COL_STRING)
        return assay_error_set(err, ASSAY_EDATA,
                               "input 'candidates': column 'label' must be "
                               "numeric");
    if (query && query->type != ASSAY_COL_INT64)
        return assay_error_set(err, ASSAY_EDATA,
                               "input 'candidates': column 'query' must be "
                               "int64");
    rows = malloc((n ? n : 1) * sizeof *rows);
    if (!rows)
        return nomem(err);
    for (size_t i = 0; i < n; i++)
        rows[i] = (uint32_t)i;
    if ((rc = rc_table_take(host, ca->table, rows, n, &t, err)))
        goto done;
    double *sc = host->table_add_col(t, "score", ASSAY_COL_FLOAT64);
    if (!sc)
        goto fail_nomem;
    if ((rc = rc_group_rows(ca, &ctx->users, false, &groups, err)))
        goto done;
    size_t nu = 0;
    if ((rc = users_with_rows(&groups, &users, &nu, err)))
        goto done;
    size_t batch = score_batch(ctx);
    buf = malloc(batch * ctx->n_items * sizeof *buf);
    if (!buf)
        goto fail_nomem;
    rc_hist h = rc_ctx_full_hist(ctx);
    for (size_t at = 0; at < nu; at += batch) {
        size_t b = nu - at < batch ? nu - at : batch;
        if (host->cancelled(host)) {
            rc = assay_error_set(err, ASSAY_ECANCELED, "cancelled");
            goto done;
        }
        if ((rc = m->score(m->self, ctx, &h, users + at, b, buf, err)))
            goto done;
        for (size_t i = 0; i < b; i++) {
            uint32_t u = users[at + i];
            const uint32_t *r = rc_csr_row(&groups, u);
            for (size_t k = 0; k < rc_csr_len(&groups, u); k++) {
                int64_t it = rc_ids_find(&ctx->items, ca->item[r[k]]);
                sc[r[k]] = buf[i * ctx->n_items + (size_t)it];
            }
        }
    }
    if (label) {
        /* group by query (else user) and rank each positive against the
         * group's negatives */
        rc_inter qv = *ca;
        const rc_csr *g = &groups;
        if (query) {
            const int64_t *q = query->data;
            size_t len = n;
            if ((rc = rc_ids_build(&qids, &q, &len, 1, err)))
                goto done;
            qv.user = q;
            if ((rc = rc_group_rows(&qv, &qids, false, &qgroups, err)))
                goto done;
            g = &qgroups;
        }
        double sums[RC_M_COUNT * RC_MAX_KS] = {0}, v[RC_M_COUNT * RC_MAX_KS];
        double mrr_all = 0.0;
        size_t npos = 0, nq = 0;
        for (size_t gi = 0; gi < g->n; gi++) {
            const uint32_t *r = rc_csr_row(g, gi);
            size_t len = rc_csr_len(g, gi);
            bool any = false;
            for (size_t a = 0; a < len; a++) {
                double la = assay_col_num(label, r[a]);
                if (!(la > 0))
                    continue;
                size_t rank = 1;
                for (size_t b = 0; b < len; b++) {
                    double lb = assay_col_num(label, r[b]);
                    if (!(lb > 0) && sc[r[b]] > sc[r[a]])
                        rank++;
                }
                rc_metrics_sampled(rank, ks, nk, v);
                for (size_t i = 0; i < RC_M_COUNT * nk; i++)
                    sums[i] += v[i];
                mrr_all += 1.0 / (double)rank;
                npos++;
                any = true;
            }
            nq += any;
        }
        for (size_t i = 0; i < RC_M_COUNT * nk; i++)
            sums[i] = npos ? sums[i] / (double)npos : 0.0;
        json_t *s = json_object();
        if (!s || json_object_set_new(metrics, "sampled", s) ||
            json_object_set_new(s, "queries", json_integer((json_int_t)nq)) ||
            json_object_set_new(s, "positives",
                                json_integer((json_int_t)npos)) ||
            set_metric_members(s, sums, ks, nk, true) ||
            json_object_set_new(s, "mrr",
                                json_real(npos ? mrr_all / npos : 0.0)))
            goto fail_nomem;
    }
    *scored = t;
    t = NULL;
    rc = ASSAY_OK;
    goto done;

fail_nomem:
    rc = nomem(err);
done:
    if (t)
        host->table_free(t);
    rc_ids_free(&qids);
    rc_csr_free(&qgroups);
    rc_csr_free(&groups);
    free(buf);
    free(users);
    free(rows);
    return rc;
}

/* An empty candidates-style table (when no candidates are connected). */
static int empty_scores(const assay_host *host, assay_table **out,
                        assay_error *err)
{
    assay_table *t = host->table_new(0);
    if (!t || !host->table_add_col(t, "user", ASSAY_COL_INT64) ||
        !host->table_add_col(t, "item", ASSAY_COL_INT64) ||
        !host->table_add_col(t, "score", ASSAY_COL_FLOAT64)) {
        if (t)
            host->table_free(t);
        return nomem(err);
    }
    *out = t;
    return ASSAY_OK;
}

static json_t *raw_list(const rc_ids *ids, const uint32_t *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_integer(ids->raw[v[i]]))) {
            json_decref(a);
            return NULL;
        }
    return a;
}

/* topk table, lists and history records for the ranked users. */
static int build_lists(rc_ctx *ctx, const uint32_t *users, size_t n, size_t k,
                       const uint32_t *top, const float *top_s,
                       const size_t *ntop, assay_table **topk_out,
                       json_t **lists_out, json_t **hist_out, assay_error *err)
{
    const assay_host *host = ctx->host;
    size_t rows = 0;
    for (size_t i = 0; i < n; i++)
        rows += ntop[i];
    assay_table *t = host->table_new(rows);
    json_t *lists = json_array(), *hist = json_array();
    if (!t || !lists || !hist)
        goto fail_nomem;
    int64_t *cu = host->table_add_col(t, "user", ASSAY_COL_INT64);
    int64_t *cr = cu ? host->table_add_col(t, "rank", ASSAY_COL_INT64) : NULL;
    int64_t *ci = cr ? host->table_add_col(t, "item", ASSAY_COL_INT64) : NULL;
    double *cs = ci ? host->table_add_col(t, "score", ASSAY_COL_FLOAT64) : NULL;
    if (!cs)
        goto fail_nomem;
    /* pointers may move with each add_col: fetch them again */
    cu = t->cols[0].data;
    cr = t->cols[1].data;
    ci = t->cols[2].data;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u = users[i];
        const uint32_t *tp = top + i * k;
        const float *ts = top_s + i * k;
        json_t *rec = json_object(), *scores = json_array();
        if (!rec || !scores ||
            json_object_set_new(rec, "user", json_integer(ctx->users.raw[u])) ||
            json_object_set_new(rec, "items",
                                raw_list(&ctx->items, tp, ntop[i])) ||
            json_object_set_new(rec, "scores", json_incref(scores))) {
            json_decref(scores);
            json_decref(rec);
            goto fail_nomem;
        }
        json_decref(scores); /* rec holds it */
        for (size_t r = 0; r < ntop[i]; r++, at++) {
            cu[at] = ctx->users.raw[u];
            cr[at] = (int64_t)r + 1;
            ci[at] = ctx->items.raw[tp[r]];
            /* NaN ranks last (rc_topk); write it as the lowest float */
            cs[at] = isfinite(ts[r]) ? ts[r] : -3.4e38;
            if (json_array_append_new(scores, json_real(cs[at]))) {
                json_decref(rec);
                goto fail_nomem;
            }
        }
        if (ctx->has_test &&
            json_object_set_new(rec, "targets",
                                raw_list(&ctx->items, rc_csr_row(&ctx->test, u),
                                         rc_csr_len(&ctx->test, u)))) {
            json_decref(rec);
            goto fail_nomem;
        }
        if (json_array_append_new(lists, rec))
            goto fail_nomem;
        json_t *hrec = json_object();
        if (!hrec ||
            json_object_set_new(hrec, "user",
                                json_integer(ctx->users.raw[u])) ||
            json_object_set_new(hrec, "items",
                                raw_list(&ctx->items, rc_csr_row(&ctx->full, u),
                                         rc_csr_len(&ctx->full, u)))) {
            json_decref(hrec);
            goto fail_nomem;
        }
        if (json_array_append_new(hist, hrec))
            goto fail_nomem;
    }
    *topk_out = t;
    *lists_out = lists;
    *hist_out = hist;
    return ASSAY_OK;

fail_nomem:
    if (t)
        host->table_free(t);
    json_decref(lists);
    json_decref(hist);
    return nomem(err);
}

/* ---- the node ----------------------------------------------------------- */

static int read_ks(const json_t *opts, size_t *ks, size_t *nk, assay_error *err)
{
    const json_t *a = json_object_get(opts, "metric_ks");
    size_t i;
    json_t *v;
    *nk = 0;
    if (!json_is_array(a) || json_array_size(a) == 0 ||
        json_array_size(a) > RC_MAX_KS)
        return assay_error_set(err, ASSAY_EINVAL,
                               "option 'metric_ks': expected a list of 1 to "
                               "%d integers",
                               RC_MAX_KS);
    json_array_foreach(a, i, v)
    {
        if (!json_is_integer(v) || json_integer_value(v) < 1 ||
            json_integer_value(v) > 10000)
            return assay_error_set(err, ASSAY_EINVAL,
                                   "option 'metric_ks': element %zu must be "
                                   "an integer in [1, 10000]",
                                   i);
        ks[(*nk)++] = (size_t)json_integer_value(v);
    }
    return ASSAY_OK;
}

static int optional_view(assay_io *io, const assay_host *host, const char *port,
                         rc_inter *v, bool *present, assay_error *err)
{
    const assay_table *t = host->in_table(io, port);
    *present = t != NULL;
    if (!t)
        return ASSAY_OK;
    return rc_inter_view(t, port, false, v, err);
}

int rc_run(const assay_host *host, assay_io *io, const json_t *opts,
           const char *name, rc_create_fn create_model,
           rc_destroy_fn destroy_model, void *cfg, assay_error *err)
{
    rc_ctx ctx = {0};
    rc_model m = {0};
    bool model_made = false, has_va, has_te, has_ca;
    rc_inter tr, va, te, ca;
    size_t ks[RC_MAX_KS], nk = 0;
    uint32_t *users = NULL, *top = NULL;
    float *top_s = NULL;
    size_t *ntop = NULL, nusers = 0;
    json_t *report = NULL, *metrics = NULL, *lists = NULL, *hist = NULL;
    assay_table *topk = NULL, *scored = NULL;
    int rc;

    ctx.host = host;
    if ((rc = read_ks(opts, ks, &nk, err)) ||
        (rc = rc_inter_view(host->in_table(io, "train"), "train", false, &tr,
                            err)) ||
        (rc = optional_view(io, host, "valid", &va, &has_va, err)) ||
        (rc = optional_view(io, host, "test", &te, &has_te, err)) ||
        (rc = optional_view(io, host, "candidates", &ca, &has_ca, err)))
        goto done;
    if (tr.n == 0) {
        rc =
            assay_error_set(err, ASSAY_EDATA, "input 'train': no interactions");
        goto done;
    }
    size_t k = (size_t)assay_opt_int(opts, "k");
    ctx.exclude_seen = assay_opt_bool(opts, "exclude_seen");
    const char *vm = assay_opt_str(opts, "valid_metric");
    ctx.valid_metric = RC_M_MRR;
    ctx.valid_k = 10;
    if (vm && (rc = rc_parse_metric(vm, &ctx.valid_metric, &ctx.valid_k, err)))
        goto done;
    if ((rc = rc_pool_new(host->threads(host), &ctx.pool, err)) ||
        (rc = ctx_build(&ctx, &tr, has_va ? &va : NULL, has_te ? &te : NULL,
                        has_ca ? &ca : NULL, err)))
        goto done;

    report = json_object();
    metrics = json_object();
    if (!report || !metrics)
        goto fail_nomem;
    if ((rc = create_model(cfg, &ctx, &m, err)))
        goto done;
    model_made = true;
    host->log(host, ASSAY_LOG_INFO,
              "%s: %zu users, %zu items, %zu training interactions", name,
              ctx.n_users, ctx.n_items, tr.n);
    double t0 = rc_now();
    if ((rc = m.fit(&m, &ctx, report, err)))
        goto done;
    double fit_s = rc_now() - t0;

    /* whom to rank */
    const char *who = assay_opt_str(opts, "users");
    bool all = who && strcmp(who, "all") == 0;
    if (who && strcmp(who, "test") == 0 && !has_te) {
        rc = assay_error_set(err, ASSAY_EINVAL,
                             "option 'users': 'test' needs the `test` "
                             "input");
        goto done;
    }
    if (!all && has_te) {
        if ((rc = users_with_rows(&ctx.test_set, &users, &nusers, err)))
            goto done;
    } else {
        nusers = ctx.n_users;
        users = malloc((nusers ? nusers : 1) * sizeof *users);
        if (!users)
            goto fail_nomem;
        for (size_t u = 0; u < nusers; u++)
            users[u] = (uint32_t)u;
    }
    size_t kmax = k;
    for (size_t j = 0; j < nk; j++)
        if (ks[j] > kmax)
            kmax = ks[j];
    double means[RC_M_COUNT * RC_MAX_KS];
    size_t counted = 0;
    t0 = rc_now();
    if ((rc = rank_users(&ctx, &m, rc_ctx_full_hist(&ctx), users, nusers, kmax,
                         true, has_te ? &ctx.test_set : NULL, ks, nk, &top,
                         &top_s, &ntop, means, &counted, err)))
        goto done;
    double rank_s = rc_now() - t0;
    if (json_object_set_new(metrics, "model", json_string(name)))
        goto fail_nomem;
    if (has_te) {
        if (json_object_set_new(metrics, "protocol",
                                json_string(ctx.exclude_seen
                                                ? "full ranking, history "
                                                  "excluded"
                                                : "full ranking")) ||
            json_object_set_new(metrics, "users",
                                json_integer((json_int_t)counted)) ||
            set_metric_members(metrics, means, ks, nk, false))
            goto fail_nomem;
    }
    t0 = rc_now();
    if (has_ca) {
        if ((rc = score_candidates(&ctx, &m, &ca, ks, nk, &scored, metrics,
                                   err)))
            goto done;
    } else if ((rc = empty_scores(host, &scored, err))) {
        goto done;
    }
    double cand_s = rc_now() - t0;
    /* keep only the first k of each list for the outputs */
    if (kmax > k) {
        for (size_t i = 0; i < nusers; i++) {
            memmove(top + i * k, top + i * kmax, k * sizeof *top);
            memmove(top_s + i * k, top_s + i * kmax, k * sizeof *top_s);
            if (ntop[i] > k)
                ntop[i] = k;
        }
    }
    if ((rc = build_lists(&ctx, users, nusers, k, top, top_s, ntop, &topk,
                          &lists, &hist, err)))
        goto done;
    if (json_object_set_new(report, "model", json_string(name)) ||
        json_object_set_new(report, "users",
                            json_integer((json_int_t)ctx.n_users)) ||
        json_object_set_new(report, "items",
                            json_integer((json_int_t)ctx.n_items)) ||
        json_object_set_new(report, "train_interactions",
                            json_integer((json_int_t)tr.n)) ||
        json_object_set_new(report, "params",
                            json_integer((json_int_t)m.nparams(m.self))) ||
        json_object_set_new(report, "train_seconds", json_real(fit_s)) ||
        json_object_set_new(report, "rank_seconds", json_real(rank_s)) ||
        json_object_set_new(report, "ranked_users",
                            json_integer((json_int_t)nusers)) ||
        json_object_set_new(report, "candidate_seconds", json_real(cand_s)) ||
        json_object_set_new(report, "threads",
                            json_integer(rc_pool_size(ctx.pool))))
        goto fail_nomem;
    /* the outputs take ownership, also on failure */
    rc = host->out_table(io, "topk", topk, err);
    topk = NULL;
    if (rc)
        goto done;
    rc = host->out_records(io, "lists", lists, err);
    lists = NULL;
    if (rc)
        goto done;
    rc = host->out_records(io, "history", hist, err);
    hist = NULL;
    if (rc)
        goto done;
    rc = host->out_table(io, "scores", scored, err);
    scored = NULL;
    if (rc)
        goto done;
    rc = host->out_json(io, "model", report, err);
    report = NULL;
    if (rc)
        goto done;
    rc = host->out_json(io, "metrics", metrics, err);
    metrics = NULL;
    goto done;

fail_nomem:
    rc = nomem(err);
done:
    if (topk)
        host->table_free(topk);
    if (scored)
        host->table_free(scored);
    json_decref(lists);
    json_decref(hist);
    json_decref(report);
    json_decref(metrics);
    free(top);
    free(top_s);
    free(ntop);
    free(users);
    if (model_made)
        destroy_model(&m);
    ctx_free(&ctx);
    return rc;
}
