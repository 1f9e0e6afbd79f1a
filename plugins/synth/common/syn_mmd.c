/*
 * syn_mmd.c - see syn_mmd.h.
 */
#include "syn_mmd.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Rows per kernel block (both sides). */
#define MB_ROWS 256

/* ---- a parallel for over task indices ----------------------------------- */

typedef int (*par_fn)(void *ctx, size_t task, double *scratch);

typedef struct par_job {
    par_fn fn;
    void *ctx;
    size_t ntasks, scratch;
    atomic_size_t next;
    atomic_int rc;
    const assay_host *host;
} par_job;

static void *par_worker(void *arg)
{
    par_job *j = arg;
    double *scratch = malloc(j->scratch * sizeof *scratch);
    if (!scratch) {
        atomic_store(&j->rc, ASSAY_ENOMEM);
        return NULL;
    }
    for (;;) {
        if (atomic_load(&j->rc))
            break;
        size_t t = atomic_fetch_add(&j->next, 1);
        if (t >= j->ntasks)
            break;
        if (j->host && j->host->cancelled(j->host)) {
            atomic_store(&j->rc, ASSAY_ECANCELED);
            break;
        }
        int rc = j->fn(j->ctx, t, scratch);
        if (rc) {
            atomic_store(&j->rc, rc);
            break;
        }
    }
    free(scratch);
    return NULL;
}

/* Run fn(ctx, t, scratch) for t in [0, ntasks) on `threads` threads,
 * each with a private scratch buffer of `scratch` doubles. */
static int par_for(unsigned threads, size_t ntasks, size_t scratch, par_fn fn,
                   void *ctx, const assay_host *host)
{
    par_job j = {.fn = fn,
                 .ctx = ctx,
                 .ntasks = ntasks,
                 .scratch = scratch ? scratch : 1,
                 .host = host};
    atomic_init(&j.next, 0);
    atomic_init(&j.rc, 0);
    pthread_t tid[64];
    unsigned started = 0;
    if (threads > ntasks)
        threads = (unsigned)(ntasks ? ntasks : 1);
    if (threads > 64)
        threads = 64;
    for (unsigned t = 1; t < threads; t++) {
        if (pthread_create(&tid[started], NULL, par_worker, &j) != 0)
            break;
        started++;
    }
    par_worker(&j);
    for (unsigned t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
    return atomic_load(&j.rc);
}

/* ---- kernel blocks ----------------------------------------------------------
 */

static void row_norms(const double *A, size_t n, size_t d, double *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = cblas_ddot((blasint)d, A + i * d, 1, A + i * d, 1);
}

/* buf (ra x rb) = k(A[a0..a0+ra), B[b0..b0+rb)) */
static void kblock(const double *A, const double *na, size_t a0, size_t ra,
                   const double *B, const double *nb, size_t b0, size_t rb,
                   size_t d, double g, double *buf)
{
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)ra,
                (blasint)rb, (blasint)d, 1.0, A + a0 * d, (blasint)d,
                B + b0 * d, (blasint)d, 0.0, buf, (blasint)rb);
    for (size_t i = 0; i < ra; i++) {
        double *row = buf + i * rb, ai = na[a0 + i];
        const double *bn = nb + b0;
        for (size_t j = 0; j < rb; j++) {
            double d2 = ai + bn[j] - 2.0 * row[j];
            row[j] = exp(-(d2 > 0 ? d2 : 0) * g);
        }
    }
}

/* The same in single precision, for the m x m pass of the solver (its
 * values feed the float kernel matrix; the reported objective is
 * recomputed in double). */
static void kblock_f(const float *A, const float *na, size_t a0, size_t ra,
                     const float *B, const float *nb, size_t b0, size_t rb,
                     size_t d, float g, float *buf)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)ra,
                (blasint)rb, (blasint)d, 1.0f, A + a0 * d, (blasint)d,
                B + b0 * d, (blasint)d, 0.0f, buf, (blasint)rb);
    for (size_t i = 0; i < ra; i++) {
        float *row = buf + i * rb, ai = na[a0 + i];
        const float *bn = nb + b0;
        for (size_t j = 0; j < rb; j++) {
            float d2 = ai + bn[j] - 2.0f * row[j];
            row[j] = expf(-(d2 > 0 ? d2 : 0) * g);
        }
    }
}

/* Weighted row sums of k(A, B): out[i] = sum_j wb[j] k(a_i, b_j) (wb
 * NULL: 1).  Tasks are row blocks of A. */
typedef struct rowsum_job {
    const double *A, *na, *B, *nb, *wb;
    size_t na_rows, nb_rows, d;
    double g;
    double *out;
} rowsum_job;

static int rowsum_task(void *ctx, size_t t, double *buf)
{
    rowsum_job *j = ctx;
    size_t a0 = t * MB_ROWS;
    size_t ra = a0 + MB_ROWS < j->na_rows ? MB_ROWS : j->na_rows - a0;
    for (size_t i = 0; i < ra; i++)
        j->out[a0 + i] = 0;
    for (size_t b0 = 0; b0 < j->nb_rows; b0 += MB_ROWS) {
        size_t rb = b0 + MB_ROWS < j->nb_rows ? MB_ROWS : j->nb_rows - b0;
        kblock(j->A, j->na, a0, ra, j->B, j->nb, b0, rb, j->d, j->g, buf);
        for (size_t i = 0; i < ra; i++) {
            const double *row = buf + i * rb;
            double s = 0;
            if (j->wb)
                for (size_t k = 0; k < rb; k++)
                    s += j->wb[b0 + k] * row[k];
            else
                for (size_t k = 0; k < rb; k++)
                    s += row[k];
            j->out[a0 + i] += s;
        }
    }
    return 0;
}

static int rowsums(const double *A, const double *na, size_t nra,
                   const double *B, const double *nb, size_t nrb, size_t d,
                   double g, const double *wb, unsigned threads,
                   const assay_host *h, double *out)
{
    rowsum_job j = {A, na, B, nb, wb, nra, nrb, d, g, out};
    size_t tasks = (nra + MB_ROWS - 1) / MB_ROWS;
    return par_for(threads, tasks, (size_t)MB_ROWS * MB_ROWS, rowsum_task, &j,
                   h);
}

/* Row sums of the symmetric k(Y, Y) from the blocks on and above the
 * diagonal: block (bi, bj) writes its row sums to part[bj][rows of bi]
 * and, off the diagonal, its column sums to part[bi][rows of bj]; every
 * slot is written by exactly one task. */
typedef struct symsum_job {
    const float *Y, *ny;
    size_t m, d, nb;
    float g;
    double *part; /* nb x m */
    float *dense; /* m x m copy of the kernel matrix, or NULL */
} symsum_job;

static int symsum_task(void *ctx, size_t t, double *scratch)
{
    symsum_job *j = ctx;
    float *buf = (float *)scratch;
    /* task t -> block pair (bi, bj), bi <= bj, row-major over the upper
     * triangle */
    size_t bi = 0, rem = t;
    while (rem >= j->nb - bi) {
        rem -= j->nb - bi;
        bi++;
    }
    size_t bj = bi + rem;
    size_t a0 = bi * MB_ROWS, b0 = bj * MB_ROWS;
    size_t ra = a0 + MB_ROWS < j->m ? MB_ROWS : j->m - a0;
    size_t rb = b0 + MB_ROWS < j->m ? MB_ROWS : j->m - b0;
    kblock_f(j->Y, j->ny, a0, ra, j->Y, j->ny, b0, rb, j->d, j->g, buf);
    if (j->dense)
        for (size_t i = 0; i < ra; i++) {
            memcpy(j->dense + (a0 + i) * j->m + b0, buf + i * rb,
                   rb * sizeof *buf);
            for (size_t k = 0; k < rb; k++)
                j->dense[(b0 + k) * j->m + a0 + i] = buf[i * rb + k];
        }
    double *rows = j->part + bj * j->m + a0;
    for (size_t i = 0; i < ra; i++) {
        double s = 0;
        for (size_t k = 0; k < rb; k++)
            s += buf[i * rb + k];
        rows[i] = s;
    }
    if (bi != bj) {
        double *cols = j->part + bi * j->m + b0;
        for (size_t k = 0; k < rb; k++)
            cols[k] = 0;
        for (size_t i = 0; i < ra; i++)
            for (size_t k = 0; k < rb; k++)
                cols[k] += buf[i * rb + k];
    }
    return 0;
}

/* Row sums of k(Y, Y) in single precision (see symsum_job), and the
 * float matrix itself when `dense` is given. */
static int sym_rowsums(const double *Y, size_t m, size_t d, double g,
                       unsigned threads, const assay_host *h, double *out,
                       float *dense)
{
    size_t nb = (m + MB_ROWS - 1) / MB_ROWS;
    double *part = malloc(nb * m * sizeof *part);
    float *yf = malloc(m * d * sizeof *yf), *nyf = malloc(m * sizeof *nyf);
    int rc = ASSAY_ENOMEM;
    if (!part || !yf || !nyf)
        goto done;
    for (size_t i = 0; i < m * d; i++)
        yf[i] = (float)Y[i];
    for (size_t i = 0; i < m; i++) {
        double s = 0;
        for (size_t k = 0; k < d; k++)
            s += (double)yf[i * d + k] * (double)yf[i * d + k];
        nyf[i] = (float)s;
    }
    symsum_job j = {yf, nyf, m, d, nb, (float)g, part, dense};
    rc = par_for(threads, nb * (nb + 1) / 2, (size_t)MB_ROWS * MB_ROWS,
                 symsum_task, &j, h);
    if (rc == 0)
        for (size_t i = 0; i < m; i++) {
            double s = 0;
            for (size_t bj = 0; bj < nb; bj++)
                s += part[bj * m + i];
            out[i] = s;
        }
done:
    free(part);
    free(yf);
    free(nyf);
    return rc;
}

/* mean k(X, X) (diagonal included), summed in row order */
static int kxx_mean(const double *X, const double *nx, size_t n, size_t d,
                    double g, unsigned threads, const assay_host *h,
                    double *mean)
{
    double *r = malloc(n * sizeof *r);
    if (!r)
        return ASSAY_ENOMEM;
    int rc = rowsums(X, nx, n, X, nx, n, d, g, NULL, threads, h, r);
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += r[i];
    *mean = s / ((double)n * (double)n);
    free(r);
    return rc;
}

int syn_mmd_weighted(const double *X, size_t n, const double *Y, size_t m,
                     size_t d, double sigma, const double *w, unsigned threads,
                     double *mmd2, assay_error *err)
{
    double *nx = malloc((n + 1) * sizeof *nx);
    double *ny = malloc((m + 1) * sizeof *ny);
    double *v = malloc((m + 1) * sizeof *v);
    double *r = malloc((m + 1) * sizeof *r);
    double *b = malloc((m + 1) * sizeof *b);
    int rc = ASSAY_OK;
    if (!(sigma > 0) || n == 0 || m == 0) {
        rc = assay_error_set(err, ASSAY_EINVAL,
                             "MMD needs sigma > 0 and two non-empty "
                             "samples");
        goto done;
    }
    if (!nx || !ny || !v || !r || !b) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    double g = 1.0 / (2.0 * sigma * sigma), ws = 0;
    for (size_t a = 0; a < m; a++)
        ws += w ? w[a] : 1.0;
    if (!(ws > 0)) {
        rc = assay_error_set(err, ASSAY_EINVAL, "weights sum to zero");
        goto done;
    }
    for (size_t a = 0; a < m; a++)
        v[a] = (w ? w[a] : 1.0) / ws;
    row_norms(X, n, d, nx);
    row_norms(Y, m, d, ny);
    double c;
    if ((rc = kxx_mean(X, nx, n, d, g, threads, NULL, &c)) ||
        (rc = rowsums(Y, ny, m, Y, ny, m, d, g, v, threads, NULL, r)) ||
        (rc = rowsums(Y, ny, m, X, nx, n, d, g, NULL, threads, NULL, b))) {
        rc = assay_error_set(err, rc, "out of memory");
        goto done;
    }
    double wkw = 0, wb = 0;
    for (size_t a = 0; a < m; a++) {
        wkw += v[a] * r[a];
        wb += v[a] * b[a];
    }
    *mmd2 = c + wkw - 2.0 * wb / (double)n;
done:
    free(nx);
    free(ny);
    free(v);
    free(r);
    free(b);
    return rc;
}

/* ---- kernel columns ---------------------------------------------------------
 * Dense mode: the whole m x m matrix in float, filled for free by the
 * symmetric row-sum pass (its blocks are computed there anyway); column j
 * is row j.  Column mode, when the matrix does not fit the memory
 * budget: columns computed on demand (one dgemv each) into a
 * round-robin cache of float columns.  The gradient bookkeeping stays in
 * double; the objective is recomputed exactly at the end. */

typedef struct col_src {
    const double *Y, *ny;
    size_t m, d;
    double g;
    float *dense; /* m x m, or NULL */
    float *cols;  /* slots x m */
    double *tmp;  /* m */
    size_t slots, next;
    int64_t *slot_of; /* m: slot or -1 */
    size_t *owner;    /* slots: column index or SIZE_MAX */
} col_src;

static int cols_init(col_src *c, const double *Y, const double *ny, size_t m,
                     size_t d, double g, size_t mb)
{
    memset(c, 0, sizeof *c);
    c->Y = Y;
    c->ny = ny;
    c->m = m;
    c->d = d;
    c->g = g;
    size_t budget = (mb ? mb : 1024) * ((size_t)1 << 20);
    if (m <= budget / sizeof(float) / m) {
        c->dense = malloc(m * m * sizeof *c->dense);
        if (c->dense)
            return ASSAY_OK;
        /* no room after all: fall back to columns */
    }
    size_t slots = budget / (m * sizeof(float));
    if (slots < 4)
        slots = 4;
    if (slots > m)
        slots = m;
    c->slots = slots;
    c->cols = malloc(slots * m * sizeof *c->cols);
    c->tmp = malloc(m * sizeof *c->tmp);
    c->slot_of = malloc(m * sizeof *c->slot_of);
    c->owner = malloc(slots * sizeof *c->owner);
    if (!c->cols || !c->tmp || !c->slot_of || !c->owner)
        return ASSAY_ENOMEM;
    for (size_t i = 0; i < m; i++)
        c->slot_of[i] = -1;
    for (size_t k = 0; k < slots; k++)
        c->owner[k] = SIZE_MAX;
    return ASSAY_OK;
}

static void cols_free(col_src *c)
{
    free(c->dense);
    free(c->cols);
    free(c->tmp);
    free(c->slot_of);
    free(c->owner);
}

/* Column j of k(Y, Y); `keep` is a column that must stay cached. */
static const float *col_get(col_src *c, size_t j, size_t keep)
{
    if (c->dense)
        return c->dense + j * c->m;
    if (c->slot_of[j] >= 0)
        return c->cols + (size_t)c->slot_of[j] * c->m;
    size_t k = c->next;
    if (c->owner[k] == keep && keep != SIZE_MAX)
        k = (k + 1) % c->slots;
    c->next = (k + 1) % c->slots;
    if (c->owner[k] != SIZE_MAX)
        c->slot_of[c->owner[k]] = -1;
    c->owner[k] = j;
    c->slot_of[j] = (int64_t)k;
    float *col = c->cols + k * c->m;
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (blasint)c->m, (blasint)c->d, 1.0,
                c->Y, (blasint)c->d, c->Y + j * c->d, 1, 0.0, c->tmp, 1);
    double nj = c->ny[j];
    for (size_t i = 0; i < c->m; i++) {
        double d2 = c->ny[i] + nj - 2.0 * c->tmp[i];
        col[i] = (float)exp(-(d2 > 0 ? d2 : 0) * c->g);
    }
    col[j] = 1.0f;
    return col;
}

/* ---- the solver
 * -------------------------------------------------------------- */

/* f at w over its support: c + w'Kw - 2 w'b, with w'Kw summed exactly
 * from kernel blocks of the support points. */
static int exact_objective(const double *Y, size_t m, size_t d, double g,
                           const double *w, const double *bmean, double c,
                           unsigned threads, const assay_host *h, double *f)
{
    size_t ns = 0;
    for (size_t a = 0; a < m; a++)
        ns += w[a] > 0;
    double *S = malloc((ns * d + 1) * sizeof *S);
    double *ws = malloc((ns + 1) * sizeof *ws);
    double *nsq = malloc((ns + 1) * sizeof *nsq);
    double *r = malloc((ns + 1) * sizeof *r);
    int rc = ASSAY_OK;
    if (!S || !ws || !nsq || !r) {
        rc = ASSAY_ENOMEM;
        goto done;
    }
    double wb = 0;
    for (size_t a = 0, k = 0; a < m; a++) {
        if (!(w[a] > 0))
            continue;
        memcpy(S + k * d, Y + a * d, d * sizeof *S);
        ws[k++] = w[a];
        wb += w[a] * bmean[a];
    }
    row_norms(S, ns, d, nsq);
    if ((rc = rowsums(S, nsq, ns, S, nsq, ns, d, g, ws, threads, h, r)))
        goto done;
    double wkw = 0;
    for (size_t k = 0; k < ns; k++)
        wkw += ws[k] * r[k];
    *f = c + wkw - 2.0 * wb;
done:
    free(S);
    free(ws);
    free(nsq);
    free(r);
    return rc;
}

int syn_mmd_learn(const double *X, size_t n, const double *Y, size_t m,
                  size_t d, const syn_mmd_opts *o, double *w,
                  syn_mmd_result *res, assay_error *err)
{
    const assay_host *h = o->host;
    unsigned threads = o->threads ? o->threads : 1;
    double *nx = NULL, *ny = NULL, *b = NULL, *kw = NULL;
    col_src cc;
    int rc = ASSAY_OK;
    memset(&cc, 0, sizeof cc);
    memset(res, 0, sizeof *res);
    if (!(o->sigma > 0) || n == 0 || m == 0)
        return assay_error_set(err, ASSAY_EINVAL,
                               "MMD weights need sigma > 0 and two "
                               "non-empty samples");
    double g = 1.0 / (2.0 * o->sigma * o->sigma);
    nx = malloc(n * sizeof *nx);
    ny = malloc(m * sizeof *ny);
    b = malloc(m * sizeof *b);
    kw = malloc(m * sizeof *kw);
    if (!nx || !ny || !b || !kw) {
        rc = ASSAY_ENOMEM;
        goto done;
    }
    row_norms(X, n, d, nx);
    row_norms(Y, m, d, ny);
    if ((rc = cols_init(&cc, Y, ny, m, d, g, o->cache_mb)))
        goto done;

    /* b_a = mean_j k(y_a, x_j); c = mean k(X, X); Kw at uniform w (and,
     * in dense mode, the kernel matrix itself) */
    double c;
    if ((rc = rowsums(Y, ny, m, X, nx, n, d, g, NULL, threads, h, b)) ||
        (rc = kxx_mean(X, nx, n, d, g, threads, h, &c)) ||
        (rc = sym_rowsums(Y, m, d, g, threads, h, kw, cc.dense)))
        goto done;
    double wkw = 0, wb = 0, inv_m = 1.0 / (double)m;
    for (size_t a = 0; a < m; a++) {
        b[a] /= (double)n;
        kw[a] *= inv_m;
        w[a] = inv_m;
        wkw += kw[a] * inv_m;
        wb += b[a] * inv_m;
    }
    res->mmd2_before = c + wkw - 2.0 * wb;
    double tol =
        o->tol * (res->mmd2_before > 1e-300 ? res->mmd2_before : 1e-300);

    /* gradient 2 (Kw - b): the best point overall (s) and the worst
     * point that still has mass (v); each step's update pass also scans
     * for the next step */
    size_t s = 0, v = SIZE_MAX, it = 0;
    double gs = INFINITY, gv = -INFINITY, gw = 0, gap = INFINITY;
    for (size_t a = 0; a < m; a++) {
        double ga = 2.0 * (kw[a] - b[a]);
        if (ga < gs) {
            gs = ga;
            s = a;
        }
        gw += w[a] * ga;
        if (ga > gv) {
            gv = ga;
            v = a;
        }
    }
    for (;; it++) {
        gap = gw - gs;
        if (gap <= tol || v == SIZE_MAX || s == v) {
            res->converged = true;
            break;
        }
        if (it >= o->max_iter)
            break;
        if (h && (it & 63) == 0) {
            if (h->cancelled(h)) {
                rc = ASSAY_ECANCELED;
                goto done;
            }
            h->progress(h, it, o->max_iter, "steps");
        }
        const float *cs = col_get(&cc, s, SIZE_MAX);
        const float *cv = col_get(&cc, v, s);
        cs = col_get(&cc, s, v); /* still there: a lookup */
        double dkd = 2.0 - 2.0 * (double)cs[v];
        double gamma = dkd > 1e-14 ? (gv - gs) / (2.0 * dkd) : w[v];
        if (gamma > w[v])
            gamma = w[v];
        if (!(gamma > 0))
            break;
        w[s] += gamma;
        w[v] = gamma == w[v] ? 0.0 : w[v] - gamma;
        s = 0;
        v = SIZE_MAX;
        gs = INFINITY;
        gv = -INFINITY;
        gw = 0;
        for (size_t a = 0; a < m; a++) {
            kw[a] += gamma * ((double)cs[a] - (double)cv[a]);
            double ga = 2.0 * (kw[a] - b[a]);
            if (ga < gs) {
                gs = ga;
                s = a;
            }
            if (w[a] > 0) {
                gw += w[a] * ga;
                if (ga > gv) {
                    gv = ga;
                    v = a;
                }
            }
        }
    }
    res->iterations = it;
    res->gap = gap;
    /* renormalise away the rounding of many small moves */
    double sum = 0;
    for (size_t a = 0; a < m; a++)
        sum += w[a];
    for (size_t a = 0; a < m; a++) {
        w[a] /= sum;
        res->support += w[a] > 0;
    }
    rc = exact_objective(Y, m, d, g, w, b, c, threads, h, &res->mmd2_after);
done:
    cols_free(&cc);
    free(nx);
    free(ny);
    free(b);
    free(kw);
    if (rc == ASSAY_ENOMEM)
        assay_error_set(err, rc, "out of memory");
    else if (rc == ASSAY_ECANCELED)
        assay_error_set(err, rc, "cancelled");
    return rc;
}
