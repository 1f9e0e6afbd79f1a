/*
 * sr_net.c - forward and backward passes of the rec.sasrec network (see
 * sr_net.h).  Matrix products are CBLAS calls on packed token matrices
 * (all tokens of a batch at once) or, for attention, on each sequence's
 * block; row-wise work (LayerNorm, softmax, dropout, activations) is
 * spread over an rc_pool.
 */
#include "sr_net.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef SR_DOUBLE
#define GEMM cblas_dgemm
#define GEMV cblas_dgemv
#define EXP exp
#else
#define GEMM cblas_sgemm
#define GEMV cblas_sgemv
#define EXP softmax_exp
#endif

/*
 * exp(x) for the softmax (x <= 0 after the max is subtracted): range
 * reduction x = n ln2 + r with |r| <= ln2/2, a degree-6 polynomial for
 * e^r (Cephes expf coefficients) and 2^n built in the exponent bits.
 * Relative error below 2e-7; plain arithmetic, so that loops calling it
 * vectorise without -ffast-math (libm's expf does not).
 */
static inline float softmax_exp(float x)
{
    const float shifter = 12582912.0f; /* 1.5 * 2^23: round to integer */
    x = x < -87.0f ? -87.0f : x;
    float n = (x * 1.44269504088896341f + shifter) - shifter;
    float r = x - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    union {
        int32_t i;
        float f;
    } sc;
    sc.i = ((int32_t)n + 127) << 23;
    return p * sc.f;
}

float sr_softmax_exp(float x)
{
    return softmax_exp(x);
}

#define LN_EPS 1e-5
#define ROWS_PER_TASK 64

/* Row-major C = alpha op(A) op(B) + beta C with the leading dimensions
 * given explicitly (all int for CBLAS). */
static inline void gemm(bool ta, bool tb, size_t m, size_t n, size_t k,
                        sr_real alpha, const sr_real *a, size_t lda,
                        const sr_real *b, size_t ldb, sr_real beta, sr_real *c,
                        size_t ldc)
{
    if (m == 0 || n == 0)
        return;
    GEMM(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
         tb ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k, alpha, a,
         (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

/* db += column sums of the rows x cols matrix dy (through GEMV). */
static inline void colsum(const sr_real *dy, size_t rows, size_t cols,
                          const sr_real *ones, sr_real *db)
{
    if (rows == 0)
        return;
    GEMV(CblasRowMajor, CblasTrans, (int)rows, (int)cols, 1, dy, (int)cols,
         ones, 1, 1, db, 1);
}

/* ---- parameters --------------------------------------------------------- */

static size_t layer_size(const sr_config *c)
{
    size_t d = c->d, f = c->inner;
    return 2 * d + d * 3 * d + 3 * d + d * d + d + 2 * d + d * f + f + f * d +
           d;
}

size_t sr_param_count(const sr_config *c)
{
    return c->n_items * c->d + c->max_len * c->d + c->layers * layer_size(c) +
           2 * c->d;
}

static void set_views(sr_params *p, const sr_config *c)
{
    size_t d = c->d, f = c->inner;
    sr_real *at = p->data;
    p->E = at;
    at += c->n_items * d;
    p->P = at;
    at += c->max_len * d;
    for (size_t l = 0; l < c->layers; l++) {
        sr_layer *L = &p->layer[l];
        L->ln1_g = at;
        at += d;
        L->ln1_b = at;
        at += d;
        L->Wqkv = at;
        at += d * 3 * d;
        L->bqkv = at;
        at += 3 * d;
        L->Wo = at;
        at += d * d;
        L->bo = at;
        at += d;
        L->ln2_g = at;
        at += d;
        L->ln2_b = at;
        at += d;
        L->W1 = at;
        at += d * f;
        L->b1 = at;
        at += f;
        L->W2 = at;
        at += f * d;
        L->b2 = at;
        at += d;
    }
    p->lnf_g = at;
    at += d;
    p->lnf_b = at;
}

int sr_params_alloc(sr_params *p, const sr_config *c)
{
    memset(p, 0, sizeof *p);
    p->count = sr_param_count(c);
    p->data = calloc(p->count, sizeof *p->data);
    p->layer = calloc(c->layers ? c->layers : 1, sizeof *p->layer);
    if (!p->data || !p->layer) {
        sr_params_free(p);
        return ASSAY_ENOMEM;
    }
    set_views(p, c);
    return ASSAY_OK;
}

void sr_params_free(sr_params *p)
{
    free(p->data);
    free(p->layer);
    memset(p, 0, sizeof *p);
}

static void fill_normal(sr_real *v, size_t n, double std, assay_rng *r)
{
    for (size_t i = 0; i < n; i++)
        v[i] = (sr_real)(std * assay_rng_normal(r));
}

static void fill_const(sr_real *v, size_t n, sr_real x)
{
    for (size_t i = 0; i < n; i++)
        v[i] = x;
}

void sr_params_init(sr_params *p, const sr_config *c, double std, assay_rng *r)
{
    size_t d = c->d, f = c->inner;
    memset(p->data, 0, p->count * sizeof *p->data);
    fill_normal(p->E, c->n_items * d, std, r);
    fill_normal(p->P, c->max_len * d, std, r);
    for (size_t l = 0; l < c->layers; l++) {
        sr_layer *L = &p->layer[l];
        fill_const(L->ln1_g, d, 1);
        fill_const(L->ln2_g, d, 1);
        fill_normal(L->Wqkv, d * 3 * d, std, r);
        fill_normal(L->Wo, d * d, std, r);
        fill_normal(L->W1, d * f, std, r);
        fill_normal(L->W2, f * d, std, r);
    }
    fill_const(p->lnf_g, d, 1);
}

/* ---- work space --------------------------------------------------------- */

typedef struct sr_lwork {
    sr_real *x; /* layer input, T x d */
    sr_real *a; /* LN1 output */
    sr_real *mu1, *rs1;
    sr_real *qkv; /* T x 3d */
    sr_real *att; /* concatenated heads, T x d */
    sr_real *A;   /* attention probabilities */
    unsigned char *m_o;
    sr_real *xm; /* after the attention residual */
    sr_real *b;  /* LN2 output */
    sr_real *mu2, *rs2;
    sr_real *f1; /* pre-activation, T x inner */
    sr_real *g;  /* relu(f1) */
    unsigned char *m_f;
} sr_lwork;

struct sr_work {
    size_t cap_t, cap_s, layers, T;
    unsigned workers;
    sr_lwork *l;
    unsigned char *m_e;
    sr_real *xf, *h, *muf, *rsf;
    size_t *a_off; /* per sequence offset into A (cap_s + 1) */
    size_t a_cap;
    /* backward */
    sr_real *dx, *dy, *dqkv, *datt, *dbig, *dh, *ones;
    sr_real *logits;
    size_t chunk;
    sr_real **mm;      /* per worker: max_len x max_len */
    double *loss_part; /* per CE task */
    size_t nloss;
    double *lnacc; /* per worker: LayerNorm gain and bias sums, 2d */
    bool train;
    bool compact; /* h holds only each sequence's last row */
    uint64_t seed;
};

void sr_work_free(sr_work *w)
{
    if (!w)
        return;
    for (size_t l = 0; w->l && l < w->layers; l++) {
        sr_lwork *L = &w->l[l];
        free(L->x);
        free(L->a);
        free(L->mu1);
        free(L->rs1);
        free(L->qkv);
        free(L->att);
        free(L->A);
        free(L->m_o);
        free(L->xm);
        free(L->b);
        free(L->mu2);
        free(L->rs2);
        free(L->f1);
        free(L->g);
        free(L->m_f);
    }
    free(w->l);
    free(w->m_e);
    free(w->xf);
    free(w->h);
    free(w->muf);
    free(w->rsf);
    free(w->a_off);
    free(w->dx);
    free(w->dy);
    free(w->dqkv);
    free(w->datt);
    free(w->dbig);
    free(w->dh);
    free(w->ones);
    free(w->logits);
    for (unsigned i = 0; w->mm && i < w->workers; i++)
        free(w->mm[i]);
    free(w->mm);
    free(w->loss_part);
    free(w->lnacc);
    free(w);
}

#define ALLOC(p, n) (((p) = malloc(((n) + 1) * sizeof *(p))) != NULL)

int sr_work_new(const sr_config *c, size_t max_tokens, size_t max_seqs,
                unsigned workers, sr_work **out)
{
    sr_work *w = calloc(1, sizeof *w);
    if (!w)
        return ASSAY_ENOMEM;
    size_t T = max_tokens, d = c->d, f = c->inner, n = c->max_len;
    w->cap_t = T;
    w->cap_s = max_seqs;
    w->layers = c->layers;
    w->workers = workers ? workers : 1;
    /* attention probabilities: at most every sequence full length */
    size_t full = T / (n ? n : 1) + 1;
    if (full > max_seqs)
        full = max_seqs;
    w->a_cap = c->heads * (full * n * n + n * n);
    w->chunk = ((size_t)16 << 20) / (c->n_items ? c->n_items : 1);
    if (w->chunk > 2048)
        w->chunk = 2048;
    if (w->chunk < 16)
        w->chunk = 16;
    w->nloss = (w->chunk + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
    w->l = calloc(c->layers ? c->layers : 1, sizeof *w->l);
    if (!w->l)
        goto fail;
    for (size_t l = 0; l < c->layers; l++) {
        sr_lwork *L = &w->l[l];
        if (!ALLOC(L->x, T * d) || !ALLOC(L->a, T * d) || !ALLOC(L->mu1, T) ||
            !ALLOC(L->rs1, T) || !ALLOC(L->qkv, T * 3 * d) ||
            !ALLOC(L->att, T * d) || !ALLOC(L->A, w->a_cap) ||
            !ALLOC(L->m_o, T * d) || !ALLOC(L->xm, T * d) ||
            !ALLOC(L->b, T * d) || !ALLOC(L->mu2, T) || !ALLOC(L->rs2, T) ||
            !ALLOC(L->f1, T * f) || !ALLOC(L->g, T * f) ||
            !ALLOC(L->m_f, T * d))
            goto fail;
    }
    size_t big = f > 3 * d ? f : 3 * d;
    if (!ALLOC(w->m_e, T * d) || !ALLOC(w->xf, T * d) || !ALLOC(w->h, T * d) ||
        !ALLOC(w->muf, T) || !ALLOC(w->rsf, T) ||
        !ALLOC(w->a_off, max_seqs + 1) || !ALLOC(w->dx, T * d) ||
        !ALLOC(w->dy, T * d) || !ALLOC(w->dqkv, T * 3 * d) ||
        !ALLOC(w->datt, T * d) || !ALLOC(w->dbig, T * big) ||
        !ALLOC(w->dh, T * d) || !ALLOC(w->ones, T) ||
        !ALLOC(w->logits, w->chunk * c->n_items) ||
        !ALLOC(w->loss_part, w->nloss) || !ALLOC(w->lnacc, 2 * d * w->workers))
        goto fail;
    for (size_t i = 0; i < T; i++)
        w->ones[i] = 1;
    w->mm = calloc(w->workers, sizeof *w->mm);
    if (!w->mm)
        goto fail;
    for (unsigned i = 0; i < w->workers; i++)
        if (!ALLOC(w->mm[i], n * n))
            goto fail;
    *out = w;
    return ASSAY_OK;
fail:
    sr_work_free(w);
    return ASSAY_ENOMEM;
}

/* ---- parallel rows ------------------------------------------------------ */

typedef void (*row_fn)(void *ctx, size_t begin, size_t end, unsigned w);

typedef struct row_job {
    row_fn fn;
    void *ctx;
    size_t n, per;
} row_job;

static int row_task(void *vctx, size_t t, unsigned w)
{
    row_job *j = vctx;
    size_t b = t * j->per, e = b + j->per < j->n ? b + j->per : j->n;
    j->fn(j->ctx, b, e, w);
    return 0;
}

/* Run fn over [0, n) in chunks of `per` on the pool (or inline). */
static void par(rc_pool *pool, size_t n, size_t per, row_fn fn, void *ctx)
{
    if (n == 0)
        return;
    if (!pool || rc_pool_size(pool) == 1 || n <= per) {
        fn(ctx, 0, n, 0);
        return;
    }
    row_job j = {fn, ctx, n, per};
    rc_pool_run(pool, (n + per - 1) / per, row_task, &j);
}

/* ---- dropout masks ------------------------------------------------------ */

/* Keep-mask of row `t` at dropout site `site`: 1 keep, 0 drop. */
static void drop_mask(uint64_t seed, unsigned site, size_t t, size_t d,
                      double p, unsigned char *m)
{
    uint64_t x = seed ^ ((uint64_t)site << 48) ^ (t * 0x9e3779b97f4a7c15ULL);
    assay_rng r;
    assay_rng_init(&r, assay_splitmix64(&x));
    uint32_t thr = (uint32_t)(p * 65536.0);
    for (size_t k = 0; k < d; k += 4) {
        uint64_t bits = assay_rng_next(&r);
        for (size_t q = 0; q < 4 && k + q < d; q++)
            m[k + q] = ((bits >> (16 * q)) & 0xFFFF) >= thr;
    }
}

/* ---- row kernels -------------------------------------------------------- */

typedef struct ln_job {
    const sr_real *x, *g, *b;
    sr_real *y, *mu, *rs;
    size_t d;
} ln_job;

static void ln_rows(void *vctx, size_t b, size_t e, unsigned w)
{
    ln_job *j = vctx;
    size_t d = j->d;
    (void)w;
    for (size_t t = b; t < e; t++) {
        const sr_real *x = j->x + t * d;
        sr_real *y = j->y + t * d;
        double s = 0.0, q = 0.0;
        for (size_t k = 0; k < d; k++)
            s += x[k];
        double mu = s / (double)d;
        for (size_t k = 0; k < d; k++)
            q += (x[k] - mu) * (x[k] - mu);
        double rs = 1.0 / sqrt(q / (double)d + LN_EPS);
        j->mu[t] = (sr_real)mu;
        j->rs[t] = (sr_real)rs;
        for (size_t k = 0; k < d; k++)
            y[k] = (sr_real)((x[k] - mu) * rs) * j->g[k] + j->b[k];
    }
}

static void layer_norm(rc_pool *pool, size_t T, size_t d, const sr_real *x,
                       const sr_real *g, const sr_real *bb, sr_real *y,
                       sr_real *mu, sr_real *rs)
{
    ln_job j = {x, g, bb, y, mu, rs, d};
    par(pool, T, ROWS_PER_TASK, ln_rows, &j);
}

/* LayerNorm backward: dx += d/dx given dy, and the gain and bias
 * gradients summed per worker (w->lnacc) and then into dg, db. */
typedef struct lnb_job {
    const sr_real *x, *g, *mu, *rs, *dy;
    sr_real *dx;
    double *acc; /* workers x 2d */
    size_t d;
} lnb_job;

static void lnb_rows(void *vctx, size_t b, size_t e, unsigned w)
{
    lnb_job *j = vctx;
    size_t d = j->d;
    double *ag = j->acc + (size_t)w * 2 * d, *ab = ag + d;
    for (size_t t = b; t < e; t++) {
        const sr_real *x = j->x + t * d, *dy = j->dy + t * d;
        sr_real *dx = j->dx + t * d;
        double mu = j->mu[t], rs = j->rs[t], m1 = 0.0, m2 = 0.0;
        for (size_t k = 0; k < d; k++) {
            double xh = (x[k] - mu) * rs, gh = (double)dy[k] * j->g[k];
            m1 += gh;
            m2 += gh * xh;
            ag[k] += dy[k] * xh;
            ab[k] += dy[k];
        }
        m1 /= (double)d;
        m2 /= (double)d;
        for (size_t k = 0; k < d; k++) {
            double xh = (x[k] - mu) * rs, gh = (double)dy[k] * j->g[k];
            dx[k] += (sr_real)(rs * (gh - m1 - xh * m2));
        }
    }
}

static void layer_norm_back(rc_pool *pool, sr_work *w, size_t T, size_t d,
                            const sr_real *x, const sr_real *g,
                            const sr_real *mu, const sr_real *rs,
                            const sr_real *dy, sr_real *dx, sr_real *dg,
                            sr_real *db)
{
    memset(w->lnacc, 0, 2 * d * w->workers * sizeof *w->lnacc);
    lnb_job j = {x, g, mu, rs, dy, dx, w->lnacc, d};
    par(pool, T, ROWS_PER_TASK, lnb_rows, &j);
    for (unsigned q = 0; q < w->workers; q++)
        for (size_t k = 0; k < d; k++) {
            dg[k] += (sr_real)w->lnacc[q * 2 * d + k];
            db[k] += (sr_real)w->lnacc[q * 2 * d + d + k];
        }
}

/* ---- attention ---------------------------------------------------------- */

typedef struct att_job {
    const sr_config *c;
    const sr_batch *bt;
    sr_work *w;
    sr_lwork *L;
} att_job;

/* Forward of sequences [b, e): A = softmax(QK^T/sqrt(dh) + mask), O = AV. */
static void att_fwd(void *vctx, size_t b, size_t e, unsigned wk)
{
    att_job *j = vctx;
    size_t d = j->c->d, H = j->c->heads, dh = d / H, ld = 3 * d;
    sr_real scale = (sr_real)(1.0 / sqrt((double)dh));
    (void)wk;
    for (size_t s = b; s < e; s++) {
        size_t r0 = j->bt->off[s], m = j->bt->off[s + 1] - r0;
        for (size_t h = 0; h < H; h++) {
            sr_real *A = j->L->A + j->w->a_off[s] + h * m * m;
            const sr_real *Q = j->L->qkv + r0 * ld + h * dh;
            const sr_real *K = Q + d, *V = Q + 2 * d;
            gemm(false, true, m, m, dh, scale, Q, ld, K, ld, 0, A, m);
            for (size_t i = 0; i < m; i++) {
                sr_real *row = A + i * m, mx = row[0];
                for (size_t k = 1; k <= i; k++)
                    if (row[k] > mx)
                        mx = row[k];
                double sum = 0.0;
                for (size_t k = 0; k <= i; k++) {
                    row[k] = EXP(row[k] - mx);
                    sum += row[k];
                }
                for (size_t k = 0; k <= i; k++)
                    row[k] = (sr_real)(row[k] / sum);
                for (size_t k = i + 1; k < m; k++)
                    row[k] = 0;
            }
            gemm(false, false, m, dh, m, 1, A, m, V, ld, 0,
                 j->L->att + r0 * d + h * dh, d);
        }
    }
}

/* Backward of sequences [b, e): from datt (T x d) into dqkv (T x 3d). */
static void att_bwd(void *vctx, size_t b, size_t e, unsigned wk)
{
    att_job *j = vctx;
    size_t d = j->c->d, H = j->c->heads, dh = d / H, ld = 3 * d;
    sr_real scale = (sr_real)(1.0 / sqrt((double)dh));
    sr_real *dS = j->w->mm[wk];
    for (size_t s = b; s < e; s++) {
        size_t r0 = j->bt->off[s], m = j->bt->off[s + 1] - r0;
        for (size_t h = 0; h < H; h++) {
            const sr_real *A = j->L->A + j->w->a_off[s] + h * m * m;
            const sr_real *Q = j->L->qkv + r0 * ld + h * dh;
            const sr_real *K = Q + d, *V = Q + 2 * d;
            const sr_real *dO = j->w->datt + r0 * d + h * dh;
            sr_real *dQ = j->w->dqkv + r0 * ld + h * dh;
            sr_real *dK = dQ + d, *dV = dQ + 2 * d;
            /* dV = A^T dO ; dA = dO V^T */
            gemm(true, false, m, dh, m, 1, A, m, dO, d, 0, dV, ld);
            gemm(false, true, m, m, dh, 1, dO, d, V, ld, 0, dS, m);
            /* dS = A * (dA - rowsum(dA * A)) * scale */
            for (size_t i = 0; i < m; i++) {
                sr_real *row = dS + i * m;
                const sr_real *ar = A + i * m;
                double dot = 0.0;
                for (size_t k = 0; k <= i; k++)
                    dot += (double)row[k] * ar[k];
                for (size_t k = 0; k <= i; k++)
                    row[k] = (sr_real)(ar[k] * (row[k] - dot)) * scale;
                for (size_t k = i + 1; k < m; k++)
                    row[k] = 0;
            }
            /* dQ = dS K ; dK = dS^T Q */
            gemm(false, false, m, dh, m, 1, dS, m, K, ld, 0, dQ, ld);
            gemm(true, false, m, dh, m, 1, dS, m, Q, ld, 0, dK, ld);
        }
    }
}

/* ---- elementwise kernels ------------------------------------------------ */

typedef struct ew_job {
    const sr_config *c;
    const sr_batch *bt;
    const sr_params *p;
    sr_work *w;
    sr_lwork *L;
    unsigned site;
} ew_job;

/* x0 = dropout(E[item] + P[pos]) */
static void embed_rows(void *vctx, size_t b, size_t e, unsigned wk)
{
    ew_job *j = vctx;
    size_t d = j->c->d, s = 0;
    double p = j->c->dropout;
    sr_real keep = (sr_real)(1.0 / (1.0 - p));
    sr_real *x0 = j->w->l[0].x;
    (void)wk;
    if (j->c->layers == 0)
        x0 = j->w->xf;
    while (j->bt->off[s + 1] <= b)
        s++;
    for (size_t t = b; t < e; t++) {
        while (j->bt->off[s + 1] <= t)
            s++;
        size_t pos = t - j->bt->off[s];
        const sr_real *E = j->p->E + (size_t)j->bt->items[t] * d;
        const sr_real *P = j->p->P + pos * d;
        sr_real *x = x0 + t * d;
        unsigned char *m = j->w->m_e + t * d;
        if (j->w->train && p > 0) {
            drop_mask(j->w->seed, 0, t, d, p, m);
            for (size_t k = 0; k < d; k++)
                x[k] = (E[k] + P[k]) * (keep * (sr_real)m[k]);
        } else {
            for (size_t k = 0; k < d; k++)
                x[k] = E[k] + P[k];
        }
    }
}

/* out = x + dropout(y + bias) at the site; y and out are T x d. */
typedef struct res_job {
    const sr_real *x, *y, *bias;
    sr_real *out;
    unsigned char *mask;
    size_t d;
    unsigned site;
    double p;
    bool train;
    uint64_t seed;
} res_job;

static void res_rows(void *vctx, size_t b, size_t e, unsigned wk)
{
    res_job *j = vctx;
    size_t d = j->d;
    sr_real keep = (sr_real)(1.0 / (1.0 - j->p));
    const sr_real *restrict bias = j->bias;
    (void)wk;
    for (size_t t = b; t < e; t++) {
        const sr_real *restrict x = j->x + t * d;
        const sr_real *restrict y = j->y + t * d;
        sr_real *restrict o = j->out + t * d;
        unsigned char *restrict m = j->mask + t * d;
        if (j->train && j->p > 0) {
            drop_mask(j->seed, j->site, t, d, j->p, m);
            for (size_t k = 0; k < d; k++)
                o[k] = x[k] + (y[k] + bias[k]) * (keep * (sr_real)m[k]);
        } else {
            for (size_t k = 0; k < d; k++)
                o[k] = x[k] + y[k] + bias[k];
        }
    }
}

static void residual(rc_pool *pool, sr_work *w, size_t T, size_t d,
                     const sr_real *x, const sr_real *y, const sr_real *bias,
                     sr_real *out, unsigned char *mask, unsigned site, double p)
{
    res_job j = {x, y, bias, out, mask, d, site, p, w->train, w->seed};
    par(pool, T, ROWS_PER_TASK, res_rows, &j);
}

/* Row-wise: y += bias (ld = row stride, n = columns from `col`), and for
 * the feed-forward layer g = relu(f1 += b1). */
typedef struct bias_job {
    sr_real *y, *g;
    const sr_real *bias;
    size_t ld, col, n;
} bias_job;

static void bias_rows(void *vctx, size_t b, size_t e, unsigned wk)
{
    bias_job *j = vctx;
    const sr_real *restrict bias = j->bias;
    size_t n = j->n;
    (void)wk;
    for (size_t t = b; t < e; t++) {
        sr_real *restrict y = j->y + t * j->ld + j->col;
        for (size_t k = 0; k < n; k++)
            y[k] += bias[k];
        if (j->g) {
            sr_real *restrict g = j->g + t * j->ld;
            for (size_t k = 0; k < n; k++) {
                sr_real v = y[k];
                g[k] = v > 0 ? v : 0;
            }
        }
    }
}

static void add_bias(rc_pool *pool, size_t T, sr_real *y, size_t ld, size_t col,
                     size_t n, const sr_real *bias, sr_real *g)
{
    bias_job j = {y, g, bias, ld, col, n};
    par(pool, T, ROWS_PER_TASK, bias_rows, &j);
}

/* ---- forward ------------------------------------------------------------ */

/* The feed-forward half of a block on `rows` rows: xm -> out. */
static void ffn_half(const sr_config *c, const sr_layer *P, sr_lwork *L,
                     sr_work *w, size_t rows, const sr_real *xm, sr_real *out,
                     unsigned site, rc_pool *pool)
{
    size_t d = c->d, f = c->inner;
    layer_norm(pool, rows, d, xm, P->ln2_g, P->ln2_b, L->b, L->mu2, L->rs2);
    gemm(false, false, rows, f, d, 1, L->b, d, P->W1, f, 0, L->f1, f);
    add_bias(pool, rows, L->f1, f, 0, f, P->b1, L->g);
    gemm(false, false, rows, d, f, 1, L->g, f, P->W2, d, 0, w->dy, d);
    residual(pool, w, rows, d, xm, w->dy, P->b2, out, L->m_f, site, c->dropout);
}

/* Last-row attention of sequences [b, e) for the final block at
 * inference: queries in w->dqkv (nseq x d), output into w->datt. */
typedef struct lastatt_job {
    const sr_config *c;
    const sr_batch *bt;
    sr_work *w;
    sr_lwork *L;
} lastatt_job;

static void lastatt_rows(void *vctx, size_t b, size_t e, unsigned wk)
{
    lastatt_job *j = vctx;
    size_t d = j->c->d, H = j->c->heads, dh = d / H, ld = 3 * d;
    sr_real scale = (sr_real)(1.0 / sqrt((double)dh));
    sr_real *sc = j->w->mm[wk];
    for (size_t s = b; s < e; s++) {
        size_t r0 = j->bt->off[s], m = j->bt->off[s + 1] - r0;
        for (size_t h = 0; h < H; h++) {
            const sr_real *K = j->L->qkv + r0 * ld + d + h * dh;
            const sr_real *V = K + d;
            const sr_real *q = j->w->dqkv + s * d + h * dh;
            sr_real *o = j->w->datt + s * d + h * dh;
#ifdef SR_DOUBLE
            cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)m, (int)dh, scale, K,
                        (int)ld, q, 1, 0, sc, 1);
#else
            cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)m, (int)dh, scale, K,
                        (int)ld, q, 1, 0, sc, 1);
#endif
            sr_real mx = sc[0];
            for (size_t k = 1; k < m; k++)
                mx = sc[k] > mx ? sc[k] : mx;
            double sum = 0.0;
            for (size_t k = 0; k < m; k++) {
                sc[k] = EXP(sc[k] - mx);
                sum += sc[k];
            }
            for (size_t k = 0; k < m; k++)
                sc[k] = (sr_real)(sc[k] / sum);
#ifdef SR_DOUBLE
            cblas_dgemv(CblasRowMajor, CblasTrans, (int)m, (int)dh, 1, V,
                        (int)ld, sc, 1, 0, o, 1);
#else
            cblas_sgemv(CblasRowMajor, CblasTrans, (int)m, (int)dh, 1, V,
                        (int)ld, sc, 1, 0, o, 1);
#endif
        }
    }
}

/*
 * The final block and LayerNorm for inference when only each sequence's
 * last position is scored: keys and values for every position, the rest
 * (query, attention row, projections, feed-forward, final LayerNorm) for
 * the last rows only.  Leaves the hidden states compact in w->h.
 */
static void forward_last(const sr_config *c, const sr_params *p, sr_work *w,
                         const sr_batch *b, rc_pool *pool)
{
    size_t T = w->T, d = c->d, S = b->nseq;
    sr_real *xl = w->dx; /* last rows of the block input (or of x0) */
    if (c->layers == 0) {
        for (size_t s = 0; s < S; s++)
            memcpy(xl + s * d, w->xf + (b->off[s + 1] - 1) * d, d * sizeof *xl);
        layer_norm(pool, S, d, xl, p->lnf_g, p->lnf_b, w->h, w->muf, w->rsf);
        w->compact = true;
        return;
    }
    size_t l = c->layers - 1;
    sr_lwork *L = &w->l[l];
    const sr_layer *P = &p->layer[l];
    layer_norm(pool, T, d, L->x, P->ln1_g, P->ln1_b, L->a, L->mu1, L->rs1);
    /* keys and values of every position */
    gemm(false, false, T, 2 * d, d, 1, L->a, d, P->Wqkv + d, 3 * d, 0,
         L->qkv + d, 3 * d);
    add_bias(pool, T, L->qkv, 3 * d, d, 2 * d, P->bqkv + d, NULL);
    /* queries of the last rows */
    sr_real *al = w->dy;
    for (size_t s = 0; s < S; s++) {
        size_t t = b->off[s + 1] - 1;
        memcpy(xl + s * d, L->x + t * d, d * sizeof *xl);
        memcpy(al + s * d, L->a + t * d, d * sizeof *al);
    }
    gemm(false, false, S, d, d, 1, al, d, P->Wqkv, 3 * d, 0, w->dqkv, d);
    add_bias(pool, S, w->dqkv, d, 0, d, P->bqkv, NULL);
    lastatt_job lj = {c, b, w, L};
    par(pool, S, 8, lastatt_rows, &lj);
    gemm(false, false, S, d, d, 1, w->datt, d, P->Wo, d, 0, w->dy, d);
    residual(pool, w, S, d, xl, w->dy, P->bo, L->xm, L->m_o, 0, 0.0);
    ffn_half(c, P, L, w, S, L->xm, w->xf, 0, pool);
    layer_norm(pool, S, d, w->xf, p->lnf_g, p->lnf_b, w->h, w->muf, w->rsf);
    w->compact = true;
}

int sr_forward(const sr_config *c, const sr_params *p, sr_work *w,
               const sr_batch *b, int mode, uint64_t seed, rc_pool *pool)
{
    size_t T = b->off[b->nseq], d = c->d;
    if (T > w->cap_t || b->nseq > w->cap_s)
        return ASSAY_EINTERNAL;
    w->T = T;
    w->train = mode == SR_TRAIN;
    w->compact = false;
    w->seed = seed;
    /* attention block offsets */
    size_t ao = 0;
    for (size_t s = 0; s < b->nseq; s++) {
        size_t m = b->off[s + 1] - b->off[s];
        if (m > c->max_len || m == 0)
            return ASSAY_EINTERNAL;
        w->a_off[s] = ao;
        ao += c->heads * m * m;
    }
    if (ao > w->a_cap)
        return ASSAY_EINTERNAL;
    ew_job ej = {c, b, p, w, NULL, 0};
    par(pool, T, ROWS_PER_TASK, embed_rows, &ej);
    size_t full = c->layers;
    if (mode == SR_EVAL_LAST && full > 0)
        full--;
    for (size_t l = 0; l < full; l++) {
        sr_lwork *L = &w->l[l];
        const sr_layer *P = &p->layer[l];
        layer_norm(pool, T, d, L->x, P->ln1_g, P->ln1_b, L->a, L->mu1, L->rs1);
        gemm(false, false, T, 3 * d, d, 1, L->a, d, P->Wqkv, 3 * d, 0, L->qkv,
             3 * d);
        add_bias(pool, T, L->qkv, 3 * d, 0, 3 * d, P->bqkv, NULL);
        att_job aj = {c, b, w, L};
        par(pool, b->nseq, 4, att_fwd, &aj);
        gemm(false, false, T, d, d, 1, L->att, d, P->Wo, d, 0, w->dy, d);
        residual(pool, w, T, d, L->x, w->dy, P->bo, L->xm, L->m_o,
                 (unsigned)(1 + 2 * l), c->dropout);
        sr_real *next = l + 1 < c->layers ? w->l[l + 1].x : w->xf;
        ffn_half(c, P, L, w, T, L->xm, next, (unsigned)(2 + 2 * l), pool);
    }
    if (mode == SR_EVAL_LAST) {
        forward_last(c, p, w, b, pool);
        return ASSAY_OK;
    }
    layer_norm(pool, T, d, w->xf, p->lnf_g, p->lnf_b, w->h, w->muf, w->rsf);
    return ASSAY_OK;
}

/* ---- loss and backward -------------------------------------------------- */

typedef struct ce_job {
    sr_real *logits;
    size_t n_items, r0;
    const uint32_t *targets;
    double *loss;
    sr_real inv_T;
} ce_job;

#if defined(__GNUC__) && !defined(SR_DOUBLE)
/* Four-lane float vectors (GCC/clang vector extensions; SSE2 on x86-64,
 * NEON on arm64): the softmax over the items is the one elementwise loop
 * heavy enough to matter, and libm's expf does not vectorise. */
typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));

static inline v4f splat(float a)
{
    v4f v = {a, a, a, a};
    return v;
}

static inline v4f vmax(v4f a, v4f b)
{
    v4i m = a > b;
    return (v4f)(((v4i)a & m) | ((v4i)b & ~m));
}

/* softmax_exp on four lanes */
static inline v4f vexp(v4f x)
{
    x = vmax(x, splat(-87.0f));
    v4f n = (x * splat(1.44269504088896341f) + splat(12582912.0f)) -
            splat(12582912.0f);
    v4f r = x - n * splat(0.693359375f) + n * splat(2.12194440e-4f);
    v4f p = splat(1.9875691500e-4f);
    p = p * r + splat(1.3981999507e-3f);
    p = p * r + splat(8.3334519073e-3f);
    p = p * r + splat(4.1665795894e-2f);
    p = p * r + splat(1.6666665459e-1f);
    p = p * r + splat(5.0000001201e-1f);
    p = p * r * r + r + splat(1.0f);
    v4i e = (__builtin_convertvector(n, v4i) + 127) << 23;
    return p * (v4f)e;
}

/* max of z[0..n) and then z[i] = exp(z[i] - max), returning the sum */
static double exp_shift_sum(float *z, size_t n)
{
    size_t i = 0;
    float mx = z[0];
    if (n >= 8) {
        v4f m0, m1;
        memcpy(&m0, z, sizeof m0);
        memcpy(&m1, z + 4, sizeof m1);
        for (i = 8; i + 8 <= n; i += 8) {
            v4f a, b;
            memcpy(&a, z + i, sizeof a);
            memcpy(&b, z + i + 4, sizeof b);
            m0 = vmax(m0, a);
            m1 = vmax(m1, b);
        }
        m0 = vmax(m0, m1);
        for (int q = 0; q < 4; q++)
            mx = m0[q] > mx ? m0[q] : mx;
    }
    for (; i < n; i++)
        mx = z[i] > mx ? z[i] : mx;
    v4f acc0 = splat(0.0f), acc1 = splat(0.0f), vm = splat(mx);
    for (i = 0; i + 8 <= n; i += 8) {
        v4f a, b;
        memcpy(&a, z + i, sizeof a);
        memcpy(&b, z + i + 4, sizeof b);
        a = vexp(a - vm);
        b = vexp(b - vm);
        memcpy(z + i, &a, sizeof a);
        memcpy(z + i + 4, &b, sizeof b);
        acc0 += a;
        acc1 += b;
    }
    acc0 += acc1;
    double sum = 0.0;
    for (int q = 0; q < 4; q++)
        sum += acc0[q];
    for (; i < n; i++) {
        z[i] = softmax_exp(z[i] - mx);
        sum += z[i];
    }
    return sum;
}
#else
static double exp_shift_sum(sr_real *z, size_t n)
{
    sr_real mx = z[0];
    for (size_t i = 1; i < n; i++)
        mx = z[i] > mx ? z[i] : mx;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        z[i] = EXP(z[i] - mx);
        sum += z[i];
    }
    return sum;
}
#endif

/* Rows [b, e) of the chunk: softmax, loss, then dlogits in place. */
static void ce_rows(void *vctx, size_t b, size_t e, unsigned wk)
{
    ce_job *j = vctx;
    size_t n = j->n_items;
    double loss = 0.0;
    (void)wk;
    for (size_t r = b; r < e; r++) {
        sr_real *z = j->logits + r * n;
        double sum = exp_shift_sum(z, n);
        uint32_t tg = j->targets[j->r0 + r];
        loss += -log((double)z[tg] / sum);
        sr_real scale = (sr_real)(1.0 / sum) * j->inv_T;
        for (size_t i = 0; i < n; i++)
            z[i] *= scale;
        z[tg] -= j->inv_T;
    }
    j->loss[b / ROWS_PER_TASK] = loss;
}

/* dst = dy * mask / (1 - p) at a dropout site (dy when not training);
 * with `relu` (the feed-forward input), dst = dy where f1 > 0, else 0. */
typedef struct back_job {
    sr_real *dst;
    const sr_real *dy, *f1;
    const unsigned char *mask;
    size_t n; /* values per row */
    double p;
    bool train;
} back_job;

static void back_rows(void *vctx, size_t b, size_t e, unsigned wk)
{
    back_job *j = vctx;
    size_t lo = b * j->n, hi = e * j->n;
    sr_real *restrict dst = j->dst;
    const sr_real *restrict dy = j->dy;
    (void)wk;
    if (j->f1) {
        /* in place (dst == dy): one pointer for both */
        const sr_real *restrict f1 = j->f1;
        for (size_t i = lo; i < hi; i++) {
            sr_real v = dst[i];
            dst[i] = f1[i] > 0 ? v : 0;
        }
    } else if (!j->train || j->p <= 0) {
        memcpy(dst + lo, dy + lo, (hi - lo) * sizeof *dst);
    } else {
        sr_real keep = (sr_real)(1.0 / (1.0 - j->p));
        const unsigned char *restrict m = j->mask;
        for (size_t i = lo; i < hi; i++)
            dst[i] = dy[i] * (keep * (sr_real)m[i]);
    }
}

static void drop_back(rc_pool *pool, size_t T, size_t d, sr_real *dst,
                      const sr_real *dy, const unsigned char *mask, double p,
                      bool train)
{
    back_job j = {dst, dy, NULL, mask, d, p, train};
    par(pool, T, ROWS_PER_TASK, back_rows, &j);
}

static void relu_back(rc_pool *pool, size_t T, size_t f, sr_real *dbig,
                      const sr_real *f1)
{
    back_job j = {dbig, dbig, f1, NULL, f, 0, false};
    par(pool, T, ROWS_PER_TASK, back_rows, &j);
}

int sr_backward(const sr_config *c, const sr_params *p, sr_work *w,
                const sr_batch *b, sr_params *g, double *loss, rc_pool *pool)
{
    size_t T = w->T, d = c->d, f = c->inner, n = c->n_items;
    if (!b->targets || w->compact)
        return ASSAY_EINVAL;
    sr_real inv_T = (sr_real)(1.0 / (double)(T ? T : 1));
    double total = 0.0;
    /* cross-entropy over the items, a chunk of rows at a time:
     * Z = h E^T; G = (softmax(Z) - onehot) / T; dh = G E; dE += G^T h */
    for (size_t r0 = 0; r0 < T; r0 += w->chunk) {
        size_t rows = T - r0 < w->chunk ? T - r0 : w->chunk;
        gemm(false, true, rows, n, d, 1, w->h + r0 * d, d, p->E, d, 0,
             w->logits, n);
        memset(w->loss_part, 0, w->nloss * sizeof *w->loss_part);
        ce_job cj = {w->logits, n, r0, b->targets, w->loss_part, inv_T};
        par(pool, rows, ROWS_PER_TASK, ce_rows, &cj);
        for (size_t i = 0; i < w->nloss; i++)
            total += w->loss_part[i];
        gemm(false, false, rows, d, n, 1, w->logits, n, p->E, d, 0,
             w->dh + r0 * d, d);
        gemm(true, false, n, d, rows, 1, w->logits, n, w->h + r0 * d, d, 1,
             g->E, d);
    }
    *loss = total / (double)(T ? T : 1);
    /* final LayerNorm */
    memset(w->dx, 0, T * d * sizeof *w->dx);
    layer_norm_back(pool, w, T, d, w->xf, p->lnf_g, w->muf, w->rsf, w->dh,
                    w->dx, g->lnf_g, g->lnf_b);
    for (size_t l = c->layers; l-- > 0;) {
        sr_lwork *L = &w->l[l];
        const sr_layer *P = &p->layer[l];
        sr_layer *G = &g->layer[l];
        /* x_out = xm + drop(g W2 + b2) */
        drop_back(pool, T, d, w->dy, w->dx, L->m_f, c->dropout, w->train);
        gemm(true, false, f, d, T, 1, L->g, f, w->dy, d, 1, G->W2, d);
        colsum(w->dy, T, d, w->ones, G->b2);
        gemm(false, true, T, f, d, 1, w->dy, d, P->W2, d, 0, w->dbig, f);
        relu_back(pool, T, f, w->dbig, L->f1);
        gemm(true, false, d, f, T, 1, L->b, d, w->dbig, f, 1, G->W1, f);
        colsum(w->dbig, T, f, w->ones, G->b1);
        /* d(LN2 output) into dy, then dx (= d xm) += LN2 backward */
        gemm(false, true, T, d, f, 1, w->dbig, f, P->W1, f, 0, w->dy, d);
        layer_norm_back(pool, w, T, d, L->xm, P->ln2_g, L->mu2, L->rs2, w->dy,
                        w->dx, G->ln2_g, G->ln2_b);
        /* xm = x + drop(att Wo + bo) */
        drop_back(pool, T, d, w->dy, w->dx, L->m_o, c->dropout, w->train);
        gemm(true, false, d, d, T, 1, L->att, d, w->dy, d, 1, G->Wo, d);
        colsum(w->dy, T, d, w->ones, G->bo);
        gemm(false, true, T, d, d, 1, w->dy, d, P->Wo, d, 0, w->datt, d);
        att_job aj = {c, b, w, L};
        par(pool, b->nseq, 4, att_bwd, &aj);
        gemm(true, false, d, 3 * d, T, 1, L->a, d, w->dqkv, 3 * d, 1, G->Wqkv,
             3 * d);
        colsum(w->dqkv, T, 3 * d, w->ones, G->bqkv);
        gemm(false, true, T, d, 3 * d, 1, w->dqkv, 3 * d, P->Wqkv, 3 * d, 0,
             w->dy, d);
        layer_norm_back(pool, w, T, d, L->x, P->ln1_g, L->mu1, L->rs1, w->dy,
                        w->dx, G->ln1_g, G->ln1_b);
    }
    /* embeddings: x0 = drop(E[item] + P[pos]) */
    drop_back(pool, T, d, w->dy, w->dx, w->m_e, c->dropout, w->train);
    for (size_t s = 0; s < b->nseq; s++) {
        for (size_t t = b->off[s]; t < b->off[s + 1]; t++) {
            sr_real *ge = g->E + (size_t)b->items[t] * d;
            sr_real *gp = g->P + (t - b->off[s]) * d;
            const sr_real *dy = w->dy + t * d;
            for (size_t k = 0; k < d; k++) {
                ge[k] += dy[k];
                gp[k] += dy[k];
            }
        }
    }
    return ASSAY_OK;
}

void sr_score_last(const sr_config *c, const sr_params *p, sr_work *w,
                   const sr_batch *b, float *out)
{
    size_t d = c->d, n = c->n_items;
    const sr_real *h = w->h;
    if (!w->compact) {
        /* gather the last rows into dh (scratch) */
        for (size_t s = 0; s < b->nseq; s++)
            memcpy(w->dh + s * d, w->h + (b->off[s + 1] - 1) * d,
                   d * sizeof(sr_real));
        h = w->dh;
    }
#ifdef SR_DOUBLE
    for (size_t s = 0; s < b->nseq; s++)
        for (size_t i = 0; i < n; i++) {
            double z = 0.0;
            for (size_t k = 0; k < d; k++)
                z += h[s * d + k] * p->E[i * d + k];
            out[s * n + i] = (float)z;
        }
#else
    gemm(false, true, b->nseq, n, d, 1, h, d, p->E, d, 0, out, n);
#endif
}

void sr_adam(sr_params *p, const sr_params *g, sr_params *m, sr_params *v,
             double lr, double b1, double b2, double eps, double wd,
             uint64_t step)
{
    double c1 = 1.0 / (1.0 - pow(b1, (double)step));
    double c2 = 1.0 / (1.0 - pow(b2, (double)step));
    sr_real fb1 = (sr_real)b1, fb2 = (sr_real)b2;
    for (size_t i = 0; i < p->count; i++) {
        sr_real gi = g->data[i] + (sr_real)wd * p->data[i];
        m->data[i] = fb1 * m->data[i] + (1 - fb1) * gi;
        v->data[i] = fb2 * v->data[i] + (1 - fb2) * gi * gi;
        p->data[i] -=
            (sr_real)(lr * (m->data[i] * c1) / (sqrt(v->data[i] * c2) + eps));
    }
}
