/*
 * rec.bpr - BPR-MF (Rendle et al., UAI 2009): matrix factorisation trained
 * on the pairwise loss -log sigmoid(s(u,i) - s(u,j)) for observed items i
 * and sampled unobserved items j, with lock-free multi-threaded SGD or
 * row-wise Adam (Hogwild style), seeded, with early stopping on a
 * validation metric.
 */
#include <assay/plugin.h>

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "rc.h"

typedef struct bpr_cfg {
    const assay_host *host;
    json_t *opts;
} bpr_cfg;

typedef struct bpr_model {
    const assay_host *host;
    size_t nu, ni, d;
    float *U, *V;             /* nu x d, ni x d */
    float *bestU, *bestV;     /* snapshot of the best validation epoch */
    float *mU, *vU, *mV, *vV; /* Adam moments (NULL for sgd) */
    uint32_t *tU, *tV;        /* Adam steps per row */
    double lr, reg, init_std, b1, b2, eps;
    int64_t epochs, patience, eval_every;
    bool adam;
    uint64_t seed;
} bpr_model;

/* One epoch's work for one thread. */
typedef struct bpr_job {
    bpr_model *m;
    rc_ctx *ctx;
    const uint32_t *su, *si; /* samples (user, item), shuffled */
    size_t n;
    unsigned parts;
    uint64_t epoch;
    double *loss; /* per part */
} bpr_job;

static inline void sgd_step(bpr_model *m, float *pu, float *pi, float *pj)
{
    size_t d = m->d;
    float x = 0.0f;
    for (size_t k = 0; k < d; k++)
        x += pu[k] * (pi[k] - pj[k]);
    float g = 1.0f / (1.0f + expf(x)); /* sigmoid(-x) */
    float lr = (float)m->lr, reg = (float)m->reg;
    for (size_t k = 0; k < d; k++) {
        float u = pu[k], vi = pi[k], vj = pj[k];
        pu[k] = u + lr * (g * (vi - vj) - reg * u);
        pi[k] = vi + lr * (g * u - reg * vi);
        pj[k] = vj + lr * (-g * u - reg * vj);
    }
}

/* Adam on one row: p -= lr * mhat / (sqrt(vhat) + eps). */
static inline void adam_row(const bpr_model *m, float *p, float *mm, float *vv,
                            uint32_t *t, const float *g)
{
    uint32_t s = ++*t;
    float b1 = (float)m->b1, b2 = (float)m->b2, eps = (float)m->eps;
    float c1 = 1.0f / (1.0f - powf(b1, (float)s));
    float c2 = 1.0f / (1.0f - powf(b2, (float)s));
    float lr = (float)m->lr;
    for (size_t k = 0; k < m->d; k++) {
        mm[k] = b1 * mm[k] + (1.0f - b1) * g[k];
        vv[k] = b2 * vv[k] + (1.0f - b2) * g[k] * g[k];
        p[k] -= lr * (mm[k] * c1) / (sqrtf(vv[k] * c2) + eps);
    }
}

static int bpr_part(void *vctx, size_t part, unsigned w)
{
    bpr_job *j = vctx;
    bpr_model *m = j->m;
    rc_ctx *ctx = j->ctx;
    size_t d = m->d;
    size_t b = j->n * part / j->parts, e = j->n * (part + 1) / j->parts;
    assay_rng rng;
    uint64_t x =
        m->seed ^ (j->epoch * 0x9e3779b97f4a7c15ULL) ^ ((uint64_t)part << 48);
    float gu[1024], gi[1024], gj[1024];
    double loss = 0.0;
    (void)w;
    assay_rng_init(&rng, assay_splitmix64(&x));
    for (size_t s = b; s < e; s++) {
        uint32_t u = j->su[s], i = j->si[s], nj;
        const uint32_t *seen = rc_csr_row(&ctx->train_set, u);
        size_t ns = rc_csr_len(&ctx->train_set, u);
        if (ns >= m->ni)
            continue; /* the user has every item: no negative */
        do
            nj = (uint32_t)assay_rng_below(&rng, m->ni);
        while (rc_sorted_has(seen, ns, nj));
        float *pu = m->U + (size_t)u * d, *pi = m->V + (size_t)i * d;
        float *pj = m->V + (size_t)nj * d;
        float xs = 0.0f;
        for (size_t k = 0; k < d; k++)
            xs += pu[k] * (pi[k] - pj[k]);
        /* -log sigmoid(x), stable */
        loss += xs > 0 ? log1p(exp(-xs)) : -xs + log1p(exp(xs));
        if (!m->adam) {
            sgd_step(m, pu, pi, pj);
            continue;
        }
        float g = -1.0f / (1.0f + expf(xs)); /* d loss / d x */
        float reg = (float)m->reg;
        for (size_t k = 0; k < d; k++) {
            gu[k] = g * (pi[k] - pj[k]) + reg * pu[k];
            gi[k] = g * pu[k] + reg * pi[k];
            gj[k] = -g * pu[k] + reg * pj[k];
        }
        adam_row(m, pu, m->mU + (size_t)u * d, m->vU + (size_t)u * d, &m->tU[u],
                 gu);
        adam_row(m, pi, m->mV + (size_t)i * d, m->vV + (size_t)i * d, &m->tV[i],
                 gi);
        adam_row(m, pj, m->mV + (size_t)nj * d, m->vV + (size_t)nj * d,
                 &m->tV[nj], gj);
    }
    j->loss[part] = loss;
    return 0;
}

static void snapshot(bpr_model *m, bool restore)
{
    size_t nu = m->nu * m->d, nv = m->ni * m->d;
    if (restore) {
        memcpy(m->U, m->bestU, nu * sizeof *m->U);
        memcpy(m->V, m->bestV, nv * sizeof *m->V);
    } else {
        memcpy(m->bestU, m->U, nu * sizeof *m->U);
        memcpy(m->bestV, m->V, nv * sizeof *m->V);
    }
}

static int bpr_fit(const rc_model *mm, rc_ctx *ctx, json_t *report,
                   assay_error *err)
{
    bpr_model *m = mm->self;
    const assay_host *host = ctx->host;
    size_t n = ctx->train.ptr[ctx->n_users];
    unsigned parts = rc_pool_size(ctx->pool);
    uint32_t *su = malloc((n ? n : 1) * sizeof *su);
    uint32_t *si = malloc((n ? n : 1) * sizeof *si);
    uint32_t *perm = malloc((n ? n : 1) * sizeof *perm);
    uint32_t *tu = malloc((n ? n : 1) * sizeof *tu);
    uint32_t *ti = malloc((n ? n : 1) * sizeof *ti);
    double *loss = calloc(parts, sizeof *loss);
    json_t *lcurve = json_array();
    rc_early es = {0};
    int rc;
    if (!su || !si || !perm || !tu || !ti || !loss || !lcurve) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = rc_early_init(&es, ctx, m->patience, m->eval_every, err)))
        goto done;
    for (size_t u = 0, at = 0; u < ctx->n_users; u++)
        for (size_t k = ctx->train.ptr[u]; k < ctx->train.ptr[u + 1]; k++) {
            su[at] = (uint32_t)u;
            si[at++] = ctx->train.idx[k];
        }
    for (size_t k = 0; k < n; k++)
        perm[k] = (uint32_t)k;
    assay_rng order;
    assay_rng_init(&order, m->seed ^ 0x5bd1e995ULL);
    double t_train = 0.0;
    int64_t epoch, done_epochs = 0;
    for (epoch = 1; epoch <= m->epochs; epoch++) {
        if (host->cancelled(host)) {
            rc = assay_error_set(err, ASSAY_ECANCELED, "cancelled");
            goto done;
        }
        double t0 = rc_now();
        assay_rng_shuffle(&order, perm, n, sizeof *perm);
        for (size_t k = 0; k < n; k++) {
            tu[k] = su[perm[k]];
            ti[k] = si[perm[k]];
        }
        bpr_job job = {.m = m,
                       .ctx = ctx,
                       .su = tu,
                       .si = ti,
                       .n = n,
                       .parts = parts,
                       .epoch = (uint64_t)epoch,
                       .loss = loss};
        if ((rc = rc_pool_run(ctx->pool, parts, bpr_part, &job))) {
            assay_error_set(err, rc, "training failed");
            goto done;
        }
        t_train += rc_now() - t0;
        done_epochs = epoch;
        double l = 0.0;
        for (unsigned p = 0; p < parts; p++)
            l += loss[p];
        if (json_array_append_new(lcurve, json_real(n ? l / n : 0.0)))
            goto fail_nomem;
        host->progress(host, (uint64_t)epoch, (uint64_t)m->epochs, "epochs");
        bool improved;
        int st = rc_early_step(&es, ctx, mm, epoch, &improved, err);
        if (st < 0) {
            rc = st;
            goto done;
        }
        if (improved)
            snapshot(m, false);
        if (st == 1)
            break;
    }
    if (es.active && es.best_epoch > 0)
        snapshot(m, true);
    if (json_object_set_new(report, "epochs", json_integer(done_epochs)) ||
        json_object_set_new(
            report, "epoch_seconds",
            json_real(done_epochs ? t_train / done_epochs : 0.0)) ||
        json_object_set_new(report, "train_loss", json_incref(lcurve)) ||
        rc_early_report(&es, ctx, report))
        goto fail_nomem;
    rc = ASSAY_OK;
    goto done;

fail_nomem:
    rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
done:
    free(su);
    free(si);
    free(perm);
    free(tu);
    free(ti);
    free(loss);
    json_decref(lcurve);
    rc_early_free(&es);
    return rc;
}

/* scores = U[users] V^T through BLAS */
static int bpr_score(void *self, rc_ctx *ctx, const rc_hist *h,
                     const uint32_t *users, size_t n, float *out,
                     assay_error *err)
{
    bpr_model *m = self;
    size_t d = m->d;
    (void)h;
    float *q = malloc((n ? n : 1) * d * sizeof *q);
    if (!q)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        memcpy(q + i * d, m->U + (size_t)users[i] * d, d * sizeof *q);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n,
                (int)ctx->n_items, (int)d, 1.0f, q, (int)d, m->V, (int)d, 0.0f,
                out, (int)ctx->n_items);
    free(q);
    return ASSAY_OK;
}

static uint64_t bpr_nparams(void *self)
{
    bpr_model *m = self;
    return (uint64_t)(m->nu + m->ni) * m->d;
}

static void bpr_unmake(rc_model *mm)
{
    bpr_model *m = mm->self;
    if (!m)
        return;
    free(m->U);
    free(m->V);
    free(m->bestU);
    free(m->bestV);
    free(m->mU);
    free(m->vU);
    free(m->mV);
    free(m->vV);
    free(m->tU);
    free(m->tV);
    free(m);
}

static int bpr_make(void *cfg, rc_ctx *ctx, rc_model *mm, assay_error *err)
{
    bpr_cfg *c = cfg;
    const json_t *o = c->opts;
    bpr_model *m = calloc(1, sizeof *m);
    if (!m)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    mm->self = m;
    mm->fit = bpr_fit;
    mm->score = bpr_score;
    mm->nparams = bpr_nparams;
    mm->name = "bpr";
    m->host = ctx->host;
    m->nu = ctx->n_users;
    m->ni = ctx->n_items;
    m->d = (size_t)assay_opt_int(o, "dim");
    m->lr = assay_opt_num(o, "lr");
    m->reg = assay_opt_num(o, "reg");
    m->init_std = assay_opt_num(o, "init_std");
    m->epochs = assay_opt_int(o, "epochs");
    m->patience = assay_opt_int(o, "patience");
    m->eval_every = assay_opt_int(o, "eval_every");
    m->adam = strcmp(assay_opt_str(o, "optimizer"), "adam") == 0;
    m->b1 = 0.9;
    m->b2 = 0.999;
    m->eps = 1e-8;
    m->seed = ctx->host->seed(ctx->host, "bpr");
    size_t nu = m->nu * m->d, nv = m->ni * m->d;
    m->U = malloc((nu + 1) * sizeof *m->U);
    m->V = malloc((nv + 1) * sizeof *m->V);
    m->bestU = malloc((nu + 1) * sizeof *m->U);
    m->bestV = malloc((nv + 1) * sizeof *m->V);
    if (!m->U || !m->V || !m->bestU || !m->bestV)
        goto fail_nomem;
    if (m->adam) {
        m->mU = calloc(nu + 1, sizeof *m->mU);
        m->vU = calloc(nu + 1, sizeof *m->vU);
        m->mV = calloc(nv + 1, sizeof *m->mV);
        m->vV = calloc(nv + 1, sizeof *m->vV);
        m->tU = calloc(m->nu + 1, sizeof *m->tU);
        m->tV = calloc(m->ni + 1, sizeof *m->tV);
        if (!m->mU || !m->vU || !m->mV || !m->vV || !m->tU || !m->tV)
            goto fail_nomem;
    }
    assay_rng r;
    assay_rng_init(&r, ctx->host->seed(ctx->host, "bpr-init"));
    for (size_t k = 0; k < nu; k++)
        m->U[k] = (float)(m->init_std * assay_rng_normal(&r));
    for (size_t k = 0; k < nv; k++)
        m->V[k] = (float)(m->init_std * assay_rng_normal(&r));
    return ASSAY_OK;

fail_nomem:
    bpr_unmake(mm);
    mm->self = NULL;
    return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
}

static int bpr_create(const assay_host *host, const json_t *options,
                      void **state, assay_error *err)
{
    bpr_cfg *c = calloc(1, sizeof *c);
    if (!c || !(c->opts = rc_opts_copy(options))) {
        free(c);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    c->host = host;
    *state = c;
    return ASSAY_OK;
}

static int bpr_run(void *state, assay_io *io, assay_error *err)
{
    bpr_cfg *c = state;
    return rc_run(c->host, io, c->opts, "bpr", bpr_make, bpr_unmake, c, err);
}

static void bpr_destroy(void *state)
{
    bpr_cfg *c = state;
    if (!c)
        return;
    json_decref(c->opts);
    free(c);
}

static const assay_option bpr_options[] = {
    RC_REC_OPTIONS,
    {.name = "dim",
     .type = ASSAY_OPT_INT,
     .def = "64",
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 1024,
     .doc = "embedding size of users and items"},
    {.name = "epochs",
     .type = ASSAY_OPT_INT,
     .def = "300",
     .has_min = true,
     .min = 1,
     .doc = "most training epochs (one pass over train each)"},
    {.name = "optimizer",
     .type = ASSAY_OPT_ENUM,
     .def = "\"sgd\"",
     .choices = "sgd|adam",
     .doc = "plain SGD (BPR paper) or per-row Adam; both lock-free over "
            "the threads"},
    {.name = "lr",
     .type = ASSAY_OPT_FLOAT,
     .def = "0.02",
     .has_min = true,
     .min = 0,
     .doc = "learning rate"},
    {.name = "reg",
     .type = ASSAY_OPT_FLOAT,
     .def = "0.01",
     .has_min = true,
     .min = 0,
     .doc = "L2 regularisation of the rows touched by each update"},
    {.name = "init_std",
     .type = ASSAY_OPT_FLOAT,
     .def = "0.03",
     .has_min = true,
     .min = 0,
     .doc = "standard deviation of the normal initialisation"},
    {.name = "patience",
     .type = ASSAY_OPT_INT,
     .def = "10",
     .has_min = true,
     .min = 0,
     .doc = "stop after this many validations without improvement (0: "
            "never; needs `valid`)"},
    {.name = "eval_every",
     .type = ASSAY_OPT_INT,
     .def = "1",
     .has_min = true,
     .min = 1,
     .doc = "validate every this many epochs"},
    {.name = "valid_metric",
     .type = ASSAY_OPT_STRING,
     .def = "\"mrr@10\"",
     .doc = "early-stopping metric on `valid` (recall|mrr|ndcg|hit|"
            "precision@K, full ranking)"},
    {0}};

static const assay_plugin bpr_plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "rec.bpr",
    .kind = "recommender",
    .version = "1.0.0",
    .summary = "BPR-MF: matrix factorisation with the Bayesian "
               "personalised ranking loss",
    .doc = "Matrix factorisation s(u, i) = p_u . q_i trained with BPR "
           "(Rendle et al. 2009): every epoch visits each training "
           "interaction (u, i) once in a seeded random order, draws a "
           "negative j uniformly among the items u has not interacted "
           "with, and takes a step on -log sigmoid(s(u,i) - s(u,j)) plus "
           "L2 `reg` on the touched rows. The epoch is split over the "
           "node's threads, which update the shared embeddings without "
           "locks (Hogwild); with one thread a run is exactly "
           "reproducible, with several the interleaving varies slightly. "
           "After each `eval_every` epochs the full-ranking `valid_metric` "
           "is computed on `valid` (training items excluded, as RecBole "
           "does) and training stops after `patience` checks without "
           "improvement; the best epoch's embeddings are kept. RecBole's "
           "BPR uses Adam with mini-batches; `optimizer: adam` gives a "
           "per-row (sparse) Adam. `model` reports epochs, seconds per "
           "epoch, the loss curve and the validation curve.\n" RC_REC_DOC_IO,
    .inputs = rc_rec_inputs,
    .outputs = rc_rec_outputs,
    .options = bpr_options,
    .flags = ASSAY_F_ALL_ITEMS,
    .create = bpr_create,
    .run = bpr_run,
    .destroy = bpr_destroy,
};

static const assay_plugin *const bpr_list[] = {&bpr_plugin, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi)
{
    (void)host_abi;
    return bpr_list;
}
