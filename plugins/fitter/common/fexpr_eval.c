/*
 * fexpr_eval.c - evaluate a compiled law over data, with its gradient.
 *
 * Points are processed in blocks of FEXPR_BLOCK: each instruction runs as
 * one loop over the block, so that the loops vectorise and the interpreter
 * costs one dispatch per instruction and block, not per point.  exp and
 * log are written here as branch-free polynomial kernels (accurate to a
 * couple of ulp) because the libm calls do not vectorise; on x86-64 the
 * block kernels are also built for AVX2/FMA and picked at load time.
 *
 * Reverse mode: after the forward sweep of a block, the adjoint of the
 * law's value is seeded per point and swept back; adjoints reaching
 * parameter-dependent scalars are kept per point (fa), then chained with
 * the forward-mode derivatives of the scalar part (sder) to give either
 * the Jacobian rows or the summed gradient.
 */
#include "fexpr_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define B FEXPR_BLOCK

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) &&         \
    !defined(__SANITIZE_ADDRESS__)
#define FX_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FX_CLONES
#endif

/* ---- vectorisable exp and log ------------------------------------------ */

static inline uint64_t fx_bits(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static inline double fx_double(uint64_t u)
{
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* exp(x): 2^k * e^r with |r| <= ln2/2, Taylor to degree 13 (error below
 * 1e-17 relative before rounding).  Results below 2^-1022 flush to 0. */
static inline double fx_exp(double x)
{
    const double magic = 0x1.8p52;
    double xc = x > 709.78 ? 709.78 : x;
    xc = xc < -708.0 ? -708.0 : xc;
    double z = xc * 0x1.71547652b82fep0 + magic;
    double kf = z - magic;
    int64_t k = (int64_t)(fx_bits(z) - fx_bits(magic));
    double r = (xc - kf * 0x1.62e42fee00000p-1) - kf * 0x1.a39ef35793c76p-33;
    /* Estrin's scheme: short dependency chains, so that consecutive
     * vectors overlap in the pipeline */
    double r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
    double q01 = 1.0 + r, q23 = 0.5 + r * (1.0 / 6.0);
    double q45 = 1.0 / 24.0 + r * (1.0 / 120.0);
    double q67 = 1.0 / 720.0 + r * (1.0 / 5040.0);
    double q89 = 1.0 / 40320.0 + r * (1.0 / 362880.0);
    double qab = 1.0 / 3628800.0 + r * (1.0 / 39916800.0);
    double qcd = 1.0 / 479001600.0 + r * (1.0 / 6227020800.0);
    double hi = q89 + r2 * qab + r4 * qcd;
    double p = q01 + (r2 * q23 + r4 * (q45 + r2 * q67) + r8 * hi);
    double s = fx_double((uint64_t)(k + 1022) << 52);
    double res = p * s * 2.0;
    res = x > 709.782712893384 ? INFINITY : res;
    res = x < -708.0 ? 0.0 : res;
    return res;
}

/* log(x): x = m 2^e with m in [sqrt(1/2), sqrt(2)), log(1+f) by the atanh
 * series in s = f/(2+f). */
static inline double fx_log(double x)
{
    int sub = x < 0x1p-1022;
    double xs = sub ? x * 0x1p54 : x;
    uint64_t bx = fx_bits(xs);
    double e = fx_double(0x4330000000000000ULL | ((bx >> 52) & 0x7ff)) -
               0x1p52 - 1023.0 - (sub ? 54.0 : 0.0);
    double m = fx_double((bx & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL);
    int big = m > 1.4142135623730951;
    m = big ? m * 0.5 : m;
    e = big ? e + 1.0 : e;
    double f = m - 1.0;
    double s = f / (2.0 + f);
    double z = s * s;
    double z2 = z * z, z4 = z2 * z2, z8 = z4 * z4;
    double a01 = 2.0 / 3.0 + z * (2.0 / 5.0);
    double a23 = 2.0 / 7.0 + z * (2.0 / 9.0);
    double a45 = 2.0 / 11.0 + z * (2.0 / 13.0);
    double a67 = 2.0 / 15.0 + z * (2.0 / 17.0);
    double a89 = 2.0 / 19.0 + z * (2.0 / 21.0);
    double R = z * (a01 + z2 * a23 + z4 * (a45 + z2 * a67) + z8 * a89);
    double hfsq = 0.5 * f * f;
    double lm = f - (hfsq - s * (hfsq + R));
    double res = e * 0x1.62e42fee00000p-1 + (lm + e * 0x1.a39ef35793c76p-33);
    res = x == INFINITY ? INFINITY : res;
    res = x == 0.0 ? -INFINITY : res;
    res = x < 0.0 || x != x ? NAN : res;
    return res;
}

/* ---- workspace and data -------------------------------------------------- */

fexpr_ws *fexpr_ws_new(const fexpr *e)
{
    fexpr_ws *ws = calloc(1, sizeof *ws);
    if (!ws)
        return NULL;
    size_t k = e->nparams ? e->nparams : 1;
    ws->k = e->nparams;
    ws->sval = calloc(e->nscal + 1, sizeof *ws->sval);
    ws->sder = calloc((e->nscal + 1) * k, sizeof *ws->sder);
    ws->pv = calloc((e->npt + e->nscal + 1) * B, sizeof *ws->pv);
    ws->pa = calloc((e->npt + 1) * B, sizeof *ws->pa);
    ws->fa = calloc((e->nfeed + 1) * B, sizeof *ws->fa);
    ws->tmp = calloc(B, sizeof *ws->tmp);
    if (!ws->sval || !ws->sder || !ws->pv || !ws->pa || !ws->fa || !ws->tmp) {
        fexpr_ws_free(ws);
        return NULL;
    }
    return ws;
}

void fexpr_ws_free(fexpr_ws *ws)
{
    if (!ws)
        return;
    free(ws->sval);
    free(ws->sder);
    free(ws->pv);
    free(ws->pa);
    free(ws->fa);
    free(ws->tmp);
    free(ws);
}

size_t fexpr_data_n(const fexpr_data *d)
{
    return d->n;
}

void fexpr_data_free(fexpr_data *d)
{
    if (!d)
        return;
    free(d->cols);
    free(d);
}

int fexpr_data_subset(const fexpr_data *d, const size_t *idx, size_t m,
                      fexpr_data **out)
{
    fexpr_data *s = calloc(1, sizeof *s);
    *out = NULL;
    if (!s)
        return ASSAY_ENOMEM;
    s->n = m;
    s->ndata = d->ndata;
    s->cols = malloc((d->ndata * m + 1) * sizeof *s->cols);
    if (!s->cols) {
        free(s);
        return ASSAY_ENOMEM;
    }
    for (size_t c = 0; c < d->ndata; c++)
        for (size_t i = 0; i < m; i++)
            s->cols[c * m + i] = d->cols[c * d->n + idx[i]];
    *out = s;
    return 0;
}

/* Data-only part: once per data set, with domain checks. */
int fexpr_bind(const fexpr *e, const double *const *cols, size_t n,
               fexpr_data **out, assay_error *err)
{
    fexpr_data *d = calloc(1, sizeof *d);
    *out = NULL;
    if (!d)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    d->n = n;
    d->ndata = e->ndata;
    d->cols = calloc(e->ndata * n + 1, sizeof *d->cols);
    if (!d->cols) {
        free(d);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    for (size_t v = 0; v < e->nvars; v++) {
        if (e->var_data[v] < 0)
            continue;
        if (!cols || !cols[v]) {
            fexpr_data_free(d);
            return assay_error_set(err, ASSAY_EINVAL,
                                   "no data for variable %zu", v);
        }
        memcpy(d->cols + (size_t)e->var_data[v] * n, cols[v],
               n * sizeof(double));
    }
    for (size_t t = 0; t < e->ndtape; t++) {
        const fexpr_ins *in = &e->dtape[t];
        double *o = d->cols + (size_t)in->out * n;
        const double *A =
            in->ka == FX_K_DATA ? d->cols + (size_t)in->a * n : NULL;
        const double *Bv = in->b >= 0 && in->kb == FX_K_DATA
                               ? d->cols + (size_t)in->b * n
                               : NULL;
        double ac = A ? 0 : e->scal_init[in->a];
        double bc = in->b >= 0 && !Bv ? e->scal_init[in->b] : 0;
        for (size_t i = 0; i < n; i++) {
            double a = A ? A[i] : ac, b = Bv ? Bv[i] : bc;
            if (in->op == FX_LOG && !(a > 0)) {
                int rc = assay_error_set(
                    err, ASSAY_EDATA,
                    e->dbase[t]
                        ? "record %zu: '%s' is %g but must be > 0 (it is "
                          "the base of a power with a fitted exponent)"
                        : "record %zu: log() of '%s' = %g: must be > 0",
                    i, e->dtext[t], a);
                fexpr_data_free(d);
                return rc;
            }
            if (in->op == FX_SQRT && !(a >= 0)) {
                int rc = assay_error_set(
                    err, ASSAY_EDATA,
                    "record %zu: sqrt() of '%s' = %g: must be >= 0", i,
                    e->dtext[t], a);
                fexpr_data_free(d);
                return rc;
            }
            o[i] = fexpr__apply(in->op, a, b);
            if (!isfinite(o[i])) {
                int rc = assay_error_set(err, ASSAY_EDATA,
                                         "record %zu: '%s' is not finite", i,
                                         e->dtext[t]);
                fexpr_data_free(d);
                return rc;
            }
        }
    }
    *out = d;
    return 0;
}

/* ---- scalar part --------------------------------------------------------- */

/* Values of all scalar slots at p, with d slot / d p (forward mode). */
FX_CLONES
static void eval_scalars(const fexpr *e, const fexpr_data *d, const double *p,
                         fexpr_ws *ws, bool deriv)
{
    size_t k = e->nparams;
    memcpy(ws->sval, e->scal_init, e->nscal * sizeof *ws->sval);
    if (deriv)
        memset(ws->sder, 0, e->nscal * k * sizeof *ws->sder);
    for (size_t j = 0; j < k; j++) {
        int32_t s = e->param_scal[j];
        if (s < 0)
            continue;
        ws->sval[s] = p[j];
        if (deriv)
            ws->sder[(size_t)s * k + j] = 1.0;
    }
    for (size_t t = 0; t < e->nstape; t++) {
        const fexpr_ins *in = &e->stape[t];
        double a = ws->sval[in->a], b = in->b >= 0 ? ws->sval[in->b] : 0;
        double v = fexpr__apply(in->op, a, b);
        ws->sval[in->out] = v;
        if (!deriv)
            continue;
        double da, db;
        fexpr__partials(in->op, a, b, v, &da, &db);
        double *o = ws->sder + (size_t)in->out * k;
        const double *ga = ws->sder + (size_t)in->a * k;
        const double *gb = in->b >= 0 ? ws->sder + (size_t)in->b * k : NULL;
        for (size_t j = 0; j < k; j++)
            o[j] = da * ga[j] + (gb ? db * gb[j] : 0);
    }
    /* broadcast scalars used by the point tape into block arrays (stored
     * after the point slots in pv) */
    size_t m = d->n < B ? d->n : B;
    for (size_t t = 0; t < e->nbcast; t++) {
        size_t s = (size_t)e->bcast[t];
        double *bc = ws->pv + (e->npt + s) * B, v = ws->sval[s];
        for (size_t i = 0; i < m; i++)
            bc[i] = v;
    }
}

/* ---- per-point blocks ------------------------------------------------------
 */

static inline const double *opnd(const fexpr *e, const fexpr_data *d,
                                 double *pv, uint8_t kind, int32_t s,
                                 size_t off)
{
    if (kind == FX_K_PT)
        return pv + (size_t)s * B;
    if (kind == FX_K_DATA)
        return d->cols + (size_t)s * d->n + off;
    return pv + (e->npt + (size_t)s) * B;
}

/* Forward sweep over points off..off+m-1 (m <= B). */
FX_CLONES
static void block_forward(const fexpr *e, const fexpr_data *d, size_t off,
                          size_t m, double *pv)
{
    for (size_t t = 0; t < e->nptape; t++) {
        const fexpr_ins *in = &e->ptape[t];
        double *restrict o = pv + (size_t)in->out * B;
        const double *restrict A = opnd(e, d, pv, in->ka, in->a, off);
        const double *restrict Bv =
            in->b >= 0 ? opnd(e, d, pv, in->kb, in->b, off) : A;
        size_t i;
        switch (in->op) {
        case FX_ADD:
            for (i = 0; i < m; i++)
                o[i] = A[i] + Bv[i];
            break;
        case FX_SUB:
            for (i = 0; i < m; i++)
                o[i] = A[i] - Bv[i];
            break;
        case FX_MUL:
            for (i = 0; i < m; i++)
                o[i] = A[i] * Bv[i];
            break;
        case FX_DIV:
            for (i = 0; i < m; i++)
                o[i] = A[i] / Bv[i];
            break;
        case FX_POW:
            for (i = 0; i < m; i++)
                o[i] = pow(A[i], Bv[i]);
            break;
        case FX_MIN:
            for (i = 0; i < m; i++)
                o[i] = A[i] <= Bv[i] ? A[i] : Bv[i];
            break;
        case FX_MAX:
            for (i = 0; i < m; i++)
                o[i] = A[i] >= Bv[i] ? A[i] : Bv[i];
            break;
        case FX_NEG:
            for (i = 0; i < m; i++)
                o[i] = -A[i];
            break;
        case FX_LOG:
            for (i = 0; i < m; i++)
                o[i] = fx_log(A[i]);
            break;
        case FX_EXP:
            for (i = 0; i < m; i++)
                o[i] = fx_exp(A[i]);
            break;
        case FX_SQRT:
            for (i = 0; i < m; i++)
                o[i] = sqrt(A[i]);
            break;
        case FX_ABS:
            for (i = 0; i < m; i++)
                o[i] = fabs(A[i]);
            break;
        case FX_SIG:
            for (i = 0; i < m; i++) {
                double a = A[i];
                double ex = fx_exp(-fabs(a));
                double v = 1.0 / (1.0 + ex);
                o[i] = a >= 0 ? v : ex * v;
            }
            break;
        case FX_TANH:
            for (i = 0; i < m; i++) {
                double a = A[i];
                double ex = fx_exp(-2.0 * fabs(a));
                double v = (1.0 - ex) / (1.0 + ex);
                o[i] = a >= 0 ? v : -v;
            }
            break;
        case FX_SQR:
            for (i = 0; i < m; i++)
                o[i] = A[i] * A[i];
            break;
        case FX_RECIP:
            for (i = 0; i < m; i++)
                o[i] = 1.0 / A[i];
            break;
        case FX_COPY:
            for (i = 0; i < m; i++)
                o[i] = A[i];
            break;
        default:
            break;
        }
    }
}

/* Where operand (kind, s) accumulates its adjoint, or NULL. */
static inline double *adj_dst(const fexpr *e, fexpr_ws *ws, uint8_t kind,
                              int32_t s)
{
    if (kind == FX_K_PT)
        return ws->pa + (size_t)s * B;
    if (kind == FX_K_SCAL && e->feed_of[s] >= 0)
        return ws->fa + (size_t)e->feed_of[s] * B;
    return NULL;
}

/* Write (first visit) or accumulate EXPR into dst[0..m-1]. */
#define FX_ACC(dst, first, EXPR)                                               \
    do {                                                                       \
        if (!(dst))                                                            \
            break;                                                             \
        if (first)                                                             \
            for (i = 0; i < m; i++)                                            \
                (dst)[i] = (EXPR);                                             \
        else                                                                   \
            for (i = 0; i < m; i++)                                            \
                (dst)[i] += (EXPR);                                            \
    } while (0)

/* Reverse sweep over a block; pa[root] holds the seed.  Every other
 * adjoint array is assigned on its first visit (fexpr_ins.fa/fb), so
 * nothing needs zeroing. */
FX_CLONES
static void block_backward(const fexpr *e, const fexpr_data *d, size_t off,
                           size_t m, fexpr_ws *ws)
{
    double *pv = ws->pv;
    for (size_t t = e->nptape; t-- > 0;) {
        const fexpr_ins *in = &e->ptape[t];
        const double *restrict g = ws->pa + (size_t)in->out * B;
        const double *restrict v = pv + (size_t)in->out * B;
        const double *restrict A = opnd(e, d, pv, in->ka, in->a, off);
        const double *restrict Bv =
            in->b >= 0 ? opnd(e, d, pv, in->kb, in->b, off) : A;
        double *da = adj_dst(e, ws, in->ka, in->a);
        double *db = in->b >= 0 ? adj_dst(e, ws, in->kb, in->b) : NULL;
        bool fa = in->fa, fb = in->fb;
        size_t i;
        switch (in->op) {
        case FX_ADD:
            FX_ACC(da, fa, g[i]);
            FX_ACC(db, fb, g[i]);
            break;
        case FX_SUB:
            FX_ACC(da, fa, g[i]);
            FX_ACC(db, fb, -g[i]);
            break;
        case FX_MUL:
            FX_ACC(da, fa, g[i] * Bv[i]);
            FX_ACC(db, fb, g[i] * A[i]);
            break;
        case FX_DIV:
            FX_ACC(da, fa, g[i] / Bv[i]);
            FX_ACC(db, fb, -g[i] * v[i] / Bv[i]);
            break;
        case FX_POW:
            /* d/da = v b / a (b a^(b-1) at a = 0), d/db = v log a */
            FX_ACC(da, fa,
                   g[i] * (A[i] != 0 ? v[i] * Bv[i] / A[i]
                                     : Bv[i] * pow(A[i], Bv[i] - 1)));
            FX_ACC(db, fb, v[i] != 0 ? g[i] * v[i] * log(A[i]) : 0.0);
            break;
        case FX_MIN:
            FX_ACC(da, fa, A[i] <= Bv[i] ? g[i] : 0.0);
            FX_ACC(db, fb, A[i] <= Bv[i] ? 0.0 : g[i]);
            break;
        case FX_MAX:
            FX_ACC(da, fa, A[i] >= Bv[i] ? g[i] : 0.0);
            FX_ACC(db, fb, A[i] >= Bv[i] ? 0.0 : g[i]);
            break;
        case FX_NEG:
            FX_ACC(da, fa, -g[i]);
            break;
        case FX_LOG:
            FX_ACC(da, fa, g[i] / A[i]);
            break;
        case FX_EXP:
            FX_ACC(da, fa, g[i] * v[i]);
            break;
        case FX_SQRT:
            FX_ACC(da, fa, 0.5 * g[i] / v[i]);
            break;
        case FX_ABS:
            FX_ACC(da, fa, A[i] > 0 ? g[i] : A[i] < 0 ? -g[i] : 0.0);
            break;
        case FX_SIG:
            FX_ACC(da, fa, g[i] * v[i] * (1.0 - v[i]));
            break;
        case FX_TANH:
            FX_ACC(da, fa, g[i] * (1.0 - v[i] * v[i]));
            break;
        case FX_SQR:
            FX_ACC(da, fa, 2.0 * g[i] * A[i]);
            break;
        case FX_RECIP:
            FX_ACC(da, fa, -g[i] * v[i] * v[i]);
            break;
        case FX_COPY:
            FX_ACC(da, fa, g[i]);
            break;
        default:
            break;
        }
    }
}

/* Sum of a[0..m-1] in a fixed order with eight partial sums (fast, and
 * the same on every run). */
static inline double sum8(const double *a, size_t m)
{
    double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t i = 0;
    for (; i + 8 <= m; i += 8)
        for (size_t j = 0; j < 8; j++)
            s[j] += a[i + j];
    for (; i < m; i++)
        s[0] += a[i];
    return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}

void fexpr_predict(const fexpr *e, const fexpr_data *d, const double *p,
                   double *out, fexpr_ws *ws)
{
    eval_scalars(e, d, p, ws, false);
    for (size_t off = 0; off < d->n; off += B) {
        size_t m = d->n - off < B ? d->n - off : B;
        block_forward(e, d, off, m, ws->pv);
        memcpy(out + off, ws->pv + (size_t)e->root * B, m * sizeof *out);
    }
}

void fexpr_jacobian(const fexpr *e, const fexpr_data *d, const double *p,
                    double *pred, double *jac, fexpr_ws *ws)
{
    size_t k = e->nparams;
    eval_scalars(e, d, p, ws, true);
    for (size_t off = 0; off < d->n; off += B) {
        size_t m = d->n - off < B ? d->n - off : B;
        block_forward(e, d, off, m, ws->pv);
        if (pred)
            memcpy(pred + off, ws->pv + (size_t)e->root * B, m * sizeof *pred);
        double *seed = ws->pa + (size_t)e->root * B;
        for (size_t i = 0; i < m; i++)
            seed[i] = 1.0;
        block_backward(e, d, off, m, ws);
        for (size_t i = 0; i < m; i++) {
            double *row = jac + (off + i) * k;
            memset(row, 0, k * sizeof *row);
            for (size_t f = 0; f < e->nfeed; f++) {
                double a = ws->fa[f * B + i];
                const double *ds = ws->sder + (size_t)e->feed[f] * k;
                for (size_t j = 0; j < k; j++)
                    row[j] += a * ds[j];
            }
        }
    }
}

/* Residual pass of the objective over one block: returns the block's loss
 * and writes d loss / d pred into seed. */
FX_CLONES
static double block_loss(const double *restrict pred, const double *y,
                         const double *s, fexpr_loss loss, double delta,
                         size_t m, double *restrict seed, double *restrict tmp)
{
    if (loss == FEXPR_LOSS_LSQ) {
        for (size_t i = 0; i < m; i++) {
            double w = s ? s[i] : 1.0;
            double r = w * (pred[i] - y[i]);
            tmp[i] = r * r;
            seed[i] = 2.0 * r * w;
        }
        return sum8(tmp, m);
    }
    double hd = 0.5 * delta;
    for (size_t i = 0; i < m; i++) {
        double w = s ? s[i] : 1.0;
        double r = w * (pred[i] - y[i]);
        double ar = fabs(r);
        bool in = ar <= delta;
        tmp[i] = in ? 0.5 * r * r : delta * (ar - hd);
        double psi = in ? r : (r > 0 ? delta : -delta);
        seed[i] = psi * w;
    }
    return sum8(tmp, m);
}

/* Per-feed sums of the block's adjoints into gs (cloned for wide
 * vectors). */
FX_CLONES
static void feed_sums(const fexpr *e, const fexpr_ws *ws, size_t m, double *gs)
{
    for (size_t fi = 0; fi < e->nfeed; fi++)
        gs[fi] += sum8(ws->fa + fi * B, m);
}

double fexpr_objective(const fexpr *e, const fexpr_data *d, const double *p,
                       const double *y, const double *s, fexpr_loss loss,
                       double delta, double *grad, fexpr_ws *ws)
{
    size_t k = e->nparams;
    double f = 0;
    double gsum[64];
    double *gs = e->nfeed <= 64 ? gsum : NULL;
    eval_scalars(e, d, p, ws, grad != NULL);
    if (grad) {
        memset(grad, 0, k * sizeof *grad);
        if (gs)
            memset(gs, 0, e->nfeed * sizeof *gs);
    }
    for (size_t off = 0; off < d->n; off += B) {
        size_t m = d->n - off < B ? d->n - off : B;
        block_forward(e, d, off, m, ws->pv);
        double *seed = ws->pa + (size_t)e->root * B;
        f += block_loss(ws->pv + (size_t)e->root * B, y + off,
                        s ? s + off : NULL, loss, delta, m, seed, ws->tmp);
        if (!grad)
            continue;
        block_backward(e, d, off, m, ws);
        if (gs) {
            feed_sums(e, ws, m, gs);
            continue;
        }
        for (size_t fi = 0; fi < e->nfeed; fi++) {
            double acc = sum8(ws->fa + fi * B, m);
            const double *ds = ws->sder + (size_t)e->feed[fi] * k;
            for (size_t j = 0; j < k; j++)
                grad[j] += acc * ds[j];
        }
    }
    if (grad && gs)
        for (size_t fi = 0; fi < e->nfeed; fi++) {
            const double *ds = ws->sder + (size_t)e->feed[fi] * k;
            for (size_t j = 0; j < k; j++)
                grad[j] += gs[fi] * ds[j];
        }
    return f;
}
