/*
 * rec.sasrec - a causal self-attention sequential recommender in the
 * spirit of SASRec (Kang & McAuley, ICDM 2018), trained with full-softmax
 * cross-entropy as RecBole does, on the CPU through CBLAS (network in
 * sr_net.c).
 */
#include <assay/plugin.h>

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "rc.h"
#include "sr_net.h"

typedef struct sas_cfg {
    const assay_host *host;
    json_t *opts;
} sas_cfg;

typedef struct sas_model {
    sr_config cfg;
    sr_params p, g, m, v, best;
    sr_work *w;
    size_t batch;
    int64_t epochs, patience, eval_every;
    double lr, wd, init_std;
    bool all_windows;
    uint64_t seed;
    uint64_t step;
    /* batch assembly */
    size_t *off;
    uint32_t *items, *targets;
} sas_model;

/* A training window: user u, targets are seq[end - len .. end) and the
 * inputs the items just before them. */
typedef struct window {
    uint32_t user;
    uint32_t end;
    uint32_t len;
} window;

/* Every window of the epoch: the last max_len transitions of each user
 * (windows: last) or consecutive blocks covering all transitions
 * (windows: all). */
static int make_windows(const sas_model *s, const rc_csr *seq, window **out,
                        size_t *n, size_t *tokens)
{
    size_t cap = 0, L = s->cfg.max_len;
    for (size_t u = 0; u < seq->n; u++) {
        size_t m = rc_csr_len(seq, u);
        if (m < 2)
            continue;
        cap += s->all_windows ? (m - 1 + L - 1) / L : 1;
    }
    window *w = malloc((cap ? cap : 1) * sizeof *w);
    if (!w)
        return ASSAY_ENOMEM;
    size_t k = 0, tok = 0;
    for (size_t u = 0; u < seq->n; u++) {
        size_t m = rc_csr_len(seq, u);
        if (m < 2)
            continue;
        /* transitions are targets at positions 1 .. m-1 */
        size_t end = m;
        do {
            size_t avail = end - 1, len = avail < L ? avail : L;
            w[k].user = (uint32_t)u;
            w[k].end = (uint32_t)end;
            w[k].len = (uint32_t)len;
            tok += len;
            k++;
            end -= len;
        } while (s->all_windows && end >= 2);
    }
    *out = w;
    *n = k;
    *tokens = tok;
    return ASSAY_OK;
}

static int sas_fit(const rc_model *mm, rc_ctx *ctx, json_t *report,
                   assay_error *err)
{
    sas_model *s = mm->self;
    const assay_host *host = ctx->host;
    window *win = NULL;
    size_t nwin = 0, tokens = 0;
    json_t *lcurve = json_array();
    rc_early es = {0};
    int rc;
    if (!lcurve || make_windows(s, &ctx->train, &win, &nwin, &tokens)) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    if (nwin == 0) {
        rc = assay_error_set(err, ASSAY_EDATA,
                             "input 'train': no user has two interactions "
                             "to learn a transition from");
        goto done;
    }
    if ((rc = rc_early_init(&es, ctx, s->patience, s->eval_every, err)))
        goto done;
    assay_rng order;
    assay_rng_init(&order, s->seed ^ 0x2545F4914F6CDD1DULL);
    double t_train = 0.0;
    int64_t epoch, done_epochs = 0;
    for (epoch = 1; epoch <= s->epochs; epoch++) {
        double t0 = rc_now(), loss_sum = 0.0;
        size_t loss_tok = 0;
        assay_rng_shuffle(&order, win, nwin, sizeof *win);
        for (size_t at = 0; at < nwin; at += s->batch) {
            if (host->cancelled(host)) {
                rc = assay_error_set(err, ASSAY_ECANCELED, "cancelled");
                goto done;
            }
            size_t nb = nwin - at < s->batch ? nwin - at : s->batch, T = 0;
            s->off[0] = 0;
            for (size_t i = 0; i < nb; i++) {
                const window *wd = &win[at + i];
                const uint32_t *sq = rc_csr_row(&ctx->train, wd->user);
                size_t first = wd->end - wd->len; /* first target */
                for (size_t k = 0; k < wd->len; k++) {
                    s->items[T + k] = sq[first - 1 + k];
                    s->targets[T + k] = sq[first + k];
                }
                T += wd->len;
                s->off[i + 1] = T;
            }
            sr_batch b = {nb, s->off, s->items, s->targets};
            s->step++;
            uint64_t x = s->seed ^ (s->step * 0x9e3779b97f4a7c15ULL);
            if ((rc = sr_forward(&s->cfg, &s->p, s->w, &b, SR_TRAIN,
                                 assay_splitmix64(&x), ctx->pool)))
                goto internal;
            memset(s->g.data, 0, s->g.count * sizeof *s->g.data);
            double loss;
            if ((rc = sr_backward(&s->cfg, &s->p, s->w, &b, &s->g, &loss,
                                  ctx->pool)))
                goto internal;
            if (!isfinite(loss)) {
                rc = assay_error_set(err, ASSAY_EDATA,
                                     "training diverged at epoch %lld (loss "
                                     "%g); lower lr",
                                     (long long)epoch, loss);
                goto done;
            }
            loss_sum += loss * (double)T;
            loss_tok += T;
            sr_adam(&s->p, &s->g, &s->m, &s->v, s->lr, 0.9, 0.999, 1e-8, s->wd,
                    s->step);
        }
        t_train += rc_now() - t0;
        done_epochs = epoch;
        if (json_array_append_new(lcurve,
                                  json_real(loss_sum / (double)loss_tok)))
            goto fail_nomem;
        host->progress(host, (uint64_t)epoch, (uint64_t)s->epochs, "epochs");
        bool improved;
        int st = rc_early_step(&es, ctx, mm, epoch, &improved, err);
        if (st < 0) {
            rc = st;
            goto done;
        }
        if (improved)
            memcpy(s->best.data, s->p.data, s->p.count * sizeof *s->p.data);
        if (st == 1)
            break;
    }
    if (es.active && es.best_epoch > 0)
        memcpy(s->p.data, s->best.data, s->p.count * sizeof *s->p.data);
    if (json_object_set_new(report, "epochs", json_integer(done_epochs)) ||
        json_object_set_new(
            report, "epoch_seconds",
            json_real(done_epochs ? t_train / done_epochs : 0.0)) ||
        json_object_set_new(report, "tokens_per_epoch",
                            json_integer((json_int_t)tokens)) ||
        json_object_set_new(report, "windows_per_epoch",
                            json_integer((json_int_t)nwin)) ||
        json_object_set_new(report, "train_loss", json_incref(lcurve)) ||
        rc_early_report(&es, ctx, report))
        goto fail_nomem;
    rc = ASSAY_OK;
    goto done;

internal:
    rc = assay_error_set(err,
                         rc == ASSAY_ENOMEM ? ASSAY_ENOMEM : ASSAY_EINTERNAL,
                         "network pass failed (%s)", assay_strerror(rc));
    goto done;
fail_nomem:
    rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
done:
    free(win);
    json_decref(lcurve);
    rc_early_free(&es);
    return rc;
}

/* Scores: the last max_len items of each user's history in, the next-item
 * scores of the last position out. */
static int sas_score(void *self, rc_ctx *ctx, const rc_hist *h,
                     const uint32_t *users, size_t n, float *out,
                     assay_error *err)
{
    sas_model *s = self;
    size_t ni = ctx->n_items, L = s->cfg.max_len;
    for (size_t at = 0; at < n; at += s->batch) {
        size_t nb = n - at < s->batch ? n - at : s->batch, T = 0, ns = 0;
        uint32_t idx[1024]; /* batch rows with a history */
        s->off[0] = 0;
        for (size_t i = 0; i < nb; i++) {
            const uint32_t *sq = rc_csr_row(h->seq, users[at + i]);
            size_t m = rc_csr_len(h->seq, users[at + i]);
            if (m == 0) {
                memset(out + (at + i) * ni, 0, ni * sizeof *out);
                continue;
            }
            size_t len = m < L ? m : L;
            memcpy(s->items + T, sq + m - len, len * sizeof *s->items);
            T += len;
            s->off[++ns] = T;
            idx[ns - 1] = (uint32_t)i;
        }
        if (ns == 0)
            continue;
        sr_batch b = {ns, s->off, s->items, NULL};
        int rc =
            sr_forward(&s->cfg, &s->p, s->w, &b, SR_EVAL_LAST, 0, ctx->pool);
        if (rc)
            return assay_error_set(err, ASSAY_EINTERNAL, "network pass failed");
        /* contiguous rows: score into a scratch block when rows were
         * skipped */
        if (ns == nb) {
            sr_score_last(&s->cfg, &s->p, s->w, &b, out + at * ni);
        } else {
            float *tmp = malloc(ns * ni * sizeof *tmp);
            if (!tmp)
                return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            sr_score_last(&s->cfg, &s->p, s->w, &b, tmp);
            for (size_t k = 0; k < ns; k++)
                memcpy(out + (at + idx[k]) * ni, tmp + k * ni,
                       ni * sizeof *tmp);
            free(tmp);
        }
    }
    return ASSAY_OK;
}

static uint64_t sas_nparams(void *self)
{
    return ((sas_model *)self)->p.count;
}

static void sas_unmake(rc_model *mm)
{
    sas_model *s = mm->self;
    if (!s)
        return;
    sr_params_free(&s->p);
    sr_params_free(&s->g);
    sr_params_free(&s->m);
    sr_params_free(&s->v);
    sr_params_free(&s->best);
    sr_work_free(s->w);
    free(s->off);
    free(s->items);
    free(s->targets);
    free(s);
}

/* OpenBLAS releases older than the CPU fall back to their SSE3
 * (Prescott) kernels, several times slower than the AVX2/AVX-512 ones the
 * CPU can run; say how to pick them (the kernel is chosen when the library
 * loads, so a plugin cannot switch it). */
static void warn_slow_blas(const assay_host *host)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    const char *core = openblas_get_corename();
    if (core && strcmp(core, "Prescott") == 0 && __builtin_cpu_supports("avx2"))
        host->log(host, ASSAY_LOG_WARN,
                  "OpenBLAS runs its generic Prescott kernels on this AVX2 "
                  "CPU; set OPENBLAS_CORETYPE=%s for faster training",
                  __builtin_cpu_supports("avx512f") ? "SkylakeX" : "Haswell");
#else
    (void)host;
#endif
}

static int sas_make(void *cfgp, rc_ctx *ctx, rc_model *mm, assay_error *err)
{
    sas_cfg *c = cfgp;
    const json_t *o = c->opts;
    sas_model *s = calloc(1, sizeof *s);
    if (!s)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    mm->self = s;
    mm->fit = sas_fit;
    mm->score = sas_score;
    mm->nparams = sas_nparams;
    mm->name = "sasrec";
    s->cfg.n_items = ctx->n_items;
    s->cfg.d = (size_t)assay_opt_int(o, "dim");
    s->cfg.heads = (size_t)assay_opt_int(o, "heads");
    s->cfg.layers = (size_t)assay_opt_int(o, "layers");
    s->cfg.inner = (size_t)assay_opt_int(o, "inner");
    s->cfg.max_len = (size_t)assay_opt_int(o, "max_len");
    s->cfg.dropout = assay_opt_num(o, "dropout");
    s->batch = (size_t)assay_opt_int(o, "batch");
    s->epochs = assay_opt_int(o, "epochs");
    s->patience = assay_opt_int(o, "patience");
    s->eval_every = assay_opt_int(o, "eval_every");
    s->lr = assay_opt_num(o, "lr");
    s->wd = assay_opt_num(o, "weight_decay");
    s->init_std = assay_opt_num(o, "init_std");
    s->all_windows = strcmp(assay_opt_str(o, "windows"), "all") == 0;
    s->seed = ctx->host->seed(ctx->host, "sasrec");
    if (s->cfg.d % s->cfg.heads != 0) {
        sas_unmake(mm);
        mm->self = NULL;
        return assay_error_set(
            err, ASSAY_EINVAL, "dim (%zu) must be a multiple of heads (%zu)",
            (size_t)assay_opt_int(o, "dim"), (size_t)assay_opt_int(o, "heads"));
    }
    size_t T = s->batch * s->cfg.max_len;
    if (sr_params_alloc(&s->p, &s->cfg) || sr_params_alloc(&s->g, &s->cfg) ||
        sr_params_alloc(&s->m, &s->cfg) || sr_params_alloc(&s->v, &s->cfg) ||
        sr_params_alloc(&s->best, &s->cfg) ||
        sr_work_new(&s->cfg, T, s->batch, rc_pool_size(ctx->pool), &s->w) ||
        !(s->off = malloc((s->batch + 1) * sizeof *s->off)) ||
        !(s->items = malloc(T * sizeof *s->items)) ||
        !(s->targets = malloc(T * sizeof *s->targets))) {
        sas_unmake(mm);
        mm->self = NULL;
        return assay_error_set(err, ASSAY_ENOMEM,
                               "out of memory for the network");
    }
    warn_slow_blas(ctx->host);
    assay_rng r;
    assay_rng_init(&r, ctx->host->seed(ctx->host, "sasrec-init"));
    sr_params_init(&s->p, &s->cfg, s->init_std, &r);
    return ASSAY_OK;
}

static int sas_create(const assay_host *host, const json_t *options,
                      void **state, assay_error *err)
{
    sas_cfg *c = calloc(1, sizeof *c);
    if (!c || !(c->opts = rc_opts_copy(options))) {
        free(c);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    c->host = host;
    *state = c;
    return ASSAY_OK;
}

static int sas_run(void *state, assay_io *io, assay_error *err)
{
    sas_cfg *c = state;
    return rc_run(c->host, io, c->opts, "sasrec", sas_make, sas_unmake, c, err);
}

static void sas_destroy(void *state)
{
    sas_cfg *c = state;
    if (!c)
        return;
    json_decref(c->opts);
    free(c);
}

static const assay_option sas_options[] = {
    RC_REC_OPTIONS,
    {.name = "dim",
     .type = ASSAY_OPT_INT,
     .def = "64",
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 4096,
     .doc = "hidden size (item and position embeddings)"},
    {.name = "layers",
     .type = ASSAY_OPT_INT,
     .def = "2",
     .has_min = true,
     .min = 0,
     .has_max = true,
     .max = 64,
     .doc = "transformer blocks"},
    {.name = "heads",
     .type = ASSAY_OPT_INT,
     .def = "2",
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 64,
     .doc = "attention heads (must divide dim)"},
    {.name = "inner",
     .type = ASSAY_OPT_INT,
     .def = "256",
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 65536,
     .doc = "feed-forward hidden size"},
    {.name = "max_len",
     .type = ASSAY_OPT_INT,
     .def = "50",
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 4096,
     .doc = "longest history window the model reads"},
    {.name = "dropout",
     .type = ASSAY_OPT_FLOAT,
     .def = "0.2",
     .has_min = true,
     .min = 0,
     .has_max = true,
     .max = 0.95,
     .doc = "dropout on the embeddings and both residual branches"},
    {.name = "windows",
     .type = ASSAY_OPT_ENUM,
     .def = "\"all\"",
     .choices = "all|last",
     .doc = "train on every transition (consecutive max_len blocks) or "
            "only on each user's last max_len"},
    {.name = "batch",
     .type = ASSAY_OPT_INT,
     .def = "128",
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 1024,
     .doc = "windows per Adam step"},
    {.name = "lr",
     .type = ASSAY_OPT_FLOAT,
     .def = "0.001",
     .has_min = true,
     .min = 0,
     .doc = "Adam learning rate"},
    {.name = "weight_decay",
     .type = ASSAY_OPT_FLOAT,
     .def = "0",
     .has_min = true,
     .min = 0,
     .doc = "L2 added to every gradient"},
    {.name = "init_std",
     .type = ASSAY_OPT_FLOAT,
     .def = "0.02",
     .has_min = true,
     .min = 0,
     .doc = "standard deviation of the weight initialisation"},
    {.name = "epochs",
     .type = ASSAY_OPT_INT,
     .def = "200",
     .has_min = true,
     .min = 1,
     .doc = "most training epochs"},
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
     .def = "\"ndcg@10\"",
     .doc = "early-stopping metric on `valid` (recall|mrr|ndcg|hit|"
            "precision@K, full ranking)"},
    {0}};

static const assay_plugin sas_plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "rec.sasrec",
    .kind = "recommender",
    .version = "1.0.0",
    .summary = "Causal self-attention sequential recommender (SASRec "
               "family), trained on the CPU",
    .doc = "Predicts a user's next item from the last `max_len` items of the "
           "history, ordered by `timestamp`. The network is a decoder-only "
           "transformer as in SASRec (Kang & McAuley 2018): item embedding + "
           "learned position embedding, then `layers` pre-LayerNorm blocks of "
           "causal multi-head self-attention (`heads`) and a ReLU "
           "feed-forward layer (`inner`), each with a residual connection and "
           "dropout, a final LayerNorm, and scores h . e_i with the item "
           "embeddings (tied). Training follows RecBole's SASRec: "
           "cross-entropy over all items (no negative sampling) at every "
           "position of each window, Adam, early stopping on `valid_metric` "
           "with `patience` (the best epoch's weights are kept). With windows: "
           "all every transition of the training sequences is used each epoch "
           "(long histories are cut into consecutive max_len blocks).\n"
           "For the leave-one-out protocol connect protocol.split (method: "
           "loo): validation users are scored from their training sequence, "
           "test users from train + valid. The backward pass is written by "
           "hand and checked against finite differences in the tests; matrix "
           "products go through OpenBLAS (CBLAS), row-wise work and "
           "per-sequence attention over the node's threads. `params` counts "
           "every weight.\n" RC_REC_DOC_IO,
    .inputs = rc_rec_inputs,
    .outputs = rc_rec_outputs,
    .options = sas_options,
    .flags = ASSAY_F_ALL_ITEMS,
    .create = sas_create,
    .run = sas_run,
    .destroy = sas_destroy,
};

static const assay_plugin *const sas_list[] = {&sas_plugin, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi)
{
    (void)host_abi;
    return sas_list;
}
