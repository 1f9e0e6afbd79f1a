/*
 * ffit.c - local optimisers and the threaded multi-start.
 *
 * Quasi-Newton with bounds comes from NLopt (NLOPT_LD_LBFGS, Luksan's
 * limited-memory BFGS, which honours box constraints): a maintained,
 * Debian-packaged optimiser rather than our own line search.  NLopt has no
 * least-squares solver, so Levenberg-Marquardt is written here: it is a
 * short loop around a k x k Cholesky solve, and knowing the residual
 * structure makes it converge in a handful of Jacobian evaluations.
 */
#include "ffit.h"

#include <math.h>
#include <nlopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Marks a start that never reached a finite objective. */
#define FFIT_HUGE 1e300

void ffit_options_default(ffit_options *o, ffit_method method)
{
    memset(o, 0, sizeof *o);
    o->method = method;
    o->screen.ftol_rel = 1e-6;
    o->screen.xtol_rel = 1e-6;
    o->screen.max_eval = 2000;
    o->polish.ftol_rel = 1e-15;
    o->polish.xtol_rel = 1e-13;
    o->polish.max_eval = 20000;
    o->npolish = 8;
    o->threads = 1;
}

size_t ffit_grid_size(const ffit_grid *g)
{
    size_t s = 1;
    for (size_t j = 0; j < g->k; j++) {
        size_t l = g->len[j] ? g->len[j] : 1;
        if (s > SIZE_MAX / l)
            return 0;
        s *= l;
    }
    return s;
}

void ffit_grid_point(const ffit_grid *g, size_t i, const double *lo,
                     const double *hi, double *p)
{
    for (size_t j = g->k; j-- > 0;) {
        size_t l = g->len[j] ? g->len[j] : 1;
        double v = g->len[j] ? g->vals[j][i % l] : 0.0;
        i /= l;
        if (lo && v < lo[j])
            v = lo[j];
        if (hi && v > hi[j])
            v = hi[j];
        p[j] = v;
    }
}

/* ---- objective wrappers ---------------------------------------------------
 */

typedef struct obj_ctx {
    const ffit_problem *pb;
    fexpr_ws *ws;
    long evals;
    double fbad; /* what a point where the law is undefined reports */
} obj_ctx;

/*
 * The objective for NLopt.  Where the law is undefined (NaN or infinite:
 * an overflow or a log of a negative value at a trial point) it reports a
 * value well above the start's objective with a zero gradient, so that
 * the line search backs off.  The value must stay moderate: NLopt's
 * interpolation overflows or stalls on astronomically large ones (1e300),
 * so it is 1e6 times the first finite objective.
 */
static double objective(obj_ctx *c, const double *x, double *g)
{
    const ffit_problem *pb = c->pb;
    c->evals++;
    double f = fexpr_objective(pb->law, pb->data, x, pb->y, pb->s, pb->loss,
                               pb->delta, g, c->ws);
    if (!isfinite(f)) {
        if (g)
            memset(g, 0, pb->k * sizeof *g);
        return c->fbad > 0 ? c->fbad : FFIT_HUGE;
    }
    if (c->fbad == 0)
        c->fbad = fmin(1e6 * fmax(1.0, fabs(f)), 1e30);
    if (g)
        for (size_t j = 0; j < pb->k; j++)
            if (!isfinite(g[j]))
                g[j] = 0;
    return f;
}

static double nl_objective(unsigned n, const double *x, double *g, void *ud)
{
    (void)n;
    return objective(ud, x, g);
}

static void clamp(const ffit_problem *pb, double *p)
{
    for (size_t j = 0; j < pb->k; j++) {
        if (pb->lo && p[j] < pb->lo[j])
            p[j] = pb->lo[j];
        if (pb->hi && p[j] > pb->hi[j])
            p[j] = pb->hi[j];
    }
}

static int local_lbfgs(const ffit_problem *pb, const ffit_tol *tol, double *p,
                       double *f, obj_ctx *c)
{
    nlopt_opt opt = nlopt_create(NLOPT_LD_LBFGS, (unsigned)pb->k);
    if (!opt)
        return ASSAY_ENOMEM;
    nlopt_set_min_objective(opt, nl_objective, c);
    if (pb->lo)
        nlopt_set_lower_bounds(opt, pb->lo);
    if (pb->hi)
        nlopt_set_upper_bounds(opt, pb->hi);
    nlopt_set_ftol_rel(opt, tol->ftol_rel);
    nlopt_set_xtol_rel(opt, tol->xtol_rel);
    nlopt_set_maxeval(opt, tol->max_eval);
    double fv = FFIT_HUGE;
    nlopt_result r = nlopt_optimize(opt, p, &fv);
    nlopt_destroy(opt);
    if (r == NLOPT_OUT_OF_MEMORY)
        return ASSAY_ENOMEM;
    /* NLopt returns the best point seen, also on a roundoff stop */
    *f = fv;
    return 0;
}

/* ---- Levenberg-Marquardt --------------------------------------------------
 */

/* Solve (A) x = b for symmetric positive definite A (k x k, destroyed).
 * Returns false when A is not positive definite. */
static bool chol_solve(double *A, double *b, size_t k)
{
    for (size_t j = 0; j < k; j++) {
        double d = A[j * k + j];
        for (size_t m = 0; m < j; m++)
            d -= A[j * k + m] * A[j * k + m];
        if (!(d > 0))
            return false;
        d = sqrt(d);
        A[j * k + j] = d;
        for (size_t i = j + 1; i < k; i++) {
            double s = A[i * k + j];
            for (size_t m = 0; m < j; m++)
                s -= A[i * k + m] * A[j * k + m];
            A[i * k + j] = s / d;
        }
    }
    for (size_t i = 0; i < k; i++) {
        double s = b[i];
        for (size_t m = 0; m < i; m++)
            s -= A[i * k + m] * b[m];
        b[i] = s / A[i * k + i];
    }
    for (size_t i = k; i-- > 0;) {
        double s = b[i];
        for (size_t m = i + 1; m < k; m++)
            s -= A[m * k + i] * b[m];
        b[i] = s / A[i * k + i];
    }
    return true;
}

/* Residuals r_i = s_i (pred_i - y_i), optionally with their Jacobian;
 * returns sum r^2 (HUGE when not finite). */
static double lm_resid(const ffit_problem *pb, const double *p, double *r,
                       double *J, obj_ctx *c)
{
    size_t n = fexpr_data_n(pb->data), k = pb->k;
    c->evals++;
    if (J)
        fexpr_jacobian(pb->law, pb->data, p, r, J, c->ws);
    else
        fexpr_predict(pb->law, pb->data, p, r, c->ws);
    double f = 0;
    for (size_t i = 0; i < n; i++) {
        double w = pb->s ? pb->s[i] : 1.0;
        r[i] = w * (r[i] - pb->y[i]);
        f += r[i] * r[i];
        if (J && w != 1.0)
            for (size_t j = 0; j < k; j++)
                J[i * k + j] *= w;
    }
    return isfinite(f) ? f : FFIT_HUGE;
}

static int local_lm(const ffit_problem *pb, const ffit_tol *tol, double *p,
                    double *f, obj_ctx *c)
{
    size_t n = fexpr_data_n(pb->data), k = pb->k;
    int rc = 0;
    double *r = malloc((n + 1) * sizeof *r);
    double *rn = malloc((n + 1) * sizeof *rn);
    double *J = malloc((n * k + 1) * sizeof *J);
    double *A = malloc((k * k + 1) * sizeof *A);
    double *M = malloc((k * k + 1) * sizeof *M);
    double *g = malloc((k + 1) * sizeof *g);
    double *d = malloc((k + 1) * sizeof *d);
    double *pn = malloc((k + 1) * sizeof *pn);
    if (!r || !rn || !J || !A || !M || !g || !d || !pn) {
        rc = ASSAY_ENOMEM;
        goto out;
    }
    double fc = lm_resid(pb, p, r, J, c);
    double lambda = -1, nu = 2;
    bool fresh = true;
    while (c->evals < tol->max_eval && fc < FFIT_HUGE) {
        if (fresh) { /* normal equations at the current point */
            for (size_t a = 0; a < k; a++) {
                double s = 0;
                for (size_t i = 0; i < n; i++)
                    s += J[i * k + a] * r[i];
                g[a] = s;
                for (size_t b = 0; b <= a; b++) {
                    double t = 0;
                    for (size_t i = 0; i < n; i++)
                        t += J[i * k + a] * J[i * k + b];
                    A[a * k + b] = A[b * k + a] = t;
                }
            }
            fresh = false;
            if (lambda < 0) {
                double mx = 0;
                for (size_t a = 0; a < k; a++)
                    mx = fmax(mx, A[a * k + a]);
                lambda = 1e-3 * (mx > 0 ? mx : 1);
            }
            double gmax = 0;
            for (size_t a = 0; a < k; a++)
                gmax = fmax(gmax, fabs(g[a]));
            if (gmax <= 1e-300 || !isfinite(gmax))
                break;
        }
        memcpy(M, A, k * k * sizeof *M);
        for (size_t a = 0; a < k; a++) {
            double dg = A[a * k + a];
            M[a * k + a] += lambda * (dg > 1e-300 ? dg : 1e-300);
            d[a] = -g[a];
        }
        if (!chol_solve(M, d, k)) {
            lambda *= nu;
            nu *= 2;
            if (!(lambda < 1e300))
                break;
            continue;
        }
        double pnorm = 0, dnorm = 0;
        for (size_t a = 0; a < k; a++) {
            pn[a] = p[a] + d[a];
            pnorm += p[a] * p[a];
        }
        clamp(pb, pn);
        for (size_t a = 0; a < k; a++) {
            d[a] = pn[a] - p[a];
            dnorm += d[a] * d[a];
        }
        /* predicted reduction of the linear model for the taken step */
        double pred = 0;
        for (size_t a = 0; a < k; a++) {
            double Ad = 0;
            for (size_t b = 0; b < k; b++)
                Ad += A[a * k + b] * d[b];
            pred -= 2 * g[a] * d[a] + d[a] * Ad;
        }
        double fn = lm_resid(pb, pn, rn, NULL, c);
        double rho = pred > 0 ? (fc - fn) / pred : (fn < fc ? 1 : -1);
        if (fn < fc && rho > 0) {
            double drop = fc - fn;
            memcpy(p, pn, k * sizeof *p);
            fc = lm_resid(pb, p, r, J, c);
            fresh = true;
            double t = 2 * rho - 1;
            lambda *= fmax(1.0 / 3.0, 1 - t * t * t);
            nu = 2;
            if (drop <= tol->ftol_rel * fc ||
                sqrt(dnorm) <= tol->xtol_rel * (sqrt(pnorm) + tol->xtol_rel))
                break;
        } else {
            lambda *= nu;
            nu *= 2;
            if (!(lambda < 1e300) ||
                sqrt(dnorm) <= 1e-3 * tol->xtol_rel * (sqrt(pnorm) + 1e-300))
                break;
        }
    }
    *f = fc;
out:
    free(r);
    free(rn);
    free(J);
    free(A);
    free(M);
    free(g);
    free(d);
    free(pn);
    return rc;
}

int ffit_local(const ffit_problem *pb, ffit_method method, const ffit_tol *tol,
               double *p, double *f, long *evals, fexpr_ws *ws)
{
    obj_ctx c = {.pb = pb, .ws = ws};
    int rc;
    clamp(pb, p);
    if (method == FFIT_LM)
        rc = local_lm(pb, tol, p, f, &c);
    else
        rc = local_lbfgs(pb, tol, p, f, &c);
    if (evals)
        *evals = c.evals;
    if (!rc && pb->loss == FEXPR_LOSS_LSQ && method == FFIT_LM) {
        /* LM reports sum r^2; make sure it is the same objective */
        double g = fexpr_objective(pb->law, pb->data, p, pb->y, pb->s, pb->loss,
                                   pb->delta, NULL, ws);
        *f = isfinite(g) ? g : FFIT_HUGE;
    }
    return rc;
}

/* ---- multi-start ------------------------------------------------------------
 */

#define CHUNK 8

typedef struct mstart {
    const ffit_problem *pb;
    const ffit_grid *grid;
    const ffit_options *o;
    size_t S;     /* starts */
    double *pend; /* S x k end points of screening */
    double *fend; /* S objectives */
    size_t npol;  /* polish stage: candidates */
    size_t *pidx; /* their start indices */
    double *ppol; /* npol x k */
    double *fpol; /* npol */
    int stage;    /* 0 screening, 1 polishing */
    atomic_size_t next;
    atomic_size_t done;
    atomic_long evals;
    atomic_int rc;
} mstart;

static void *worker(void *arg)
{
    mstart *m = arg;
    const ffit_problem *pb = m->pb;
    size_t k = pb->k;
    fexpr_ws *ws = fexpr_ws_new(pb->law);
    if (!ws) {
        atomic_store(&m->rc, ASSAY_ENOMEM);
        return NULL;
    }
    size_t total = m->stage ? m->npol : m->S;
    for (;;) {
        if (atomic_load(&m->rc))
            break;
        if (m->o->cancelled && m->o->cancelled(m->o->ud)) {
            atomic_store(&m->rc, ASSAY_ECANCELED);
            break;
        }
        size_t i0 = atomic_fetch_add(&m->next, CHUNK);
        if (i0 >= total)
            break;
        size_t i1 = i0 + CHUNK < total ? i0 + CHUNK : total;
        for (size_t i = i0; i < i1; i++) {
            long ev = 0;
            double f = FFIT_HUGE;
            int rc;
            if (m->stage == 0) {
                double *p = m->pend + i * k;
                ffit_grid_point(m->grid, i, pb->lo, pb->hi, p);
                rc =
                    ffit_local(pb, m->o->method, &m->o->screen, p, &f, &ev, ws);
                m->fend[i] = isfinite(f) ? f : FFIT_HUGE;
            } else {
                double *p = m->ppol + i * k;
                rc =
                    ffit_local(pb, m->o->method, &m->o->polish, p, &f, &ev, ws);
                m->fpol[i] = isfinite(f) ? f : FFIT_HUGE;
            }
            if (rc) {
                atomic_store(&m->rc, rc);
                break;
            }
            atomic_fetch_add(&m->evals, ev);
        }
        size_t d = atomic_fetch_add(&m->done, i1 - i0) + (i1 - i0);
        if (m->o->progress && m->stage == 0)
            m->o->progress(m->o->ud, d, total);
    }
    fexpr_ws_free(ws);
    return NULL;
}

/* Run the current stage on `threads` threads (the calling one included). */
static int run_stage(mstart *m, unsigned threads)
{
    size_t total = m->stage ? m->npol : m->S;
    if (threads > total)
        threads = (unsigned)total;
    if (threads < 1)
        threads = 1;
    atomic_store(&m->next, 0);
    atomic_store(&m->done, 0);
    pthread_t *tid = calloc(threads, sizeof *tid);
    if (!tid)
        return ASSAY_ENOMEM;
    unsigned started = 0;
    for (unsigned t = 1; t < threads; t++) {
        if (pthread_create(&tid[t], NULL, worker, m) != 0)
            break;
        started++;
    }
    worker(m);
    for (unsigned t = 1; t <= started; t++)
        pthread_join(tid[t], NULL);
    free(tid);
    return atomic_load(&m->rc);
}

/* Order of start indices by objective, then index. */
typedef struct fidx {
    double f;
    size_t i;
} fidx;

static int cmp_fidx(const void *a, const void *b)
{
    const fidx *x = a, *y = b;
    if (x->f != y->f)
        return x->f < y->f ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

static bool same_point(const double *a, const double *b, size_t k)
{
    for (size_t j = 0; j < k; j++)
        if (fabs(a[j] - b[j]) > 1e-4 * fmax(1.0, fabs(b[j])))
            return false;
    return true;
}

int ffit_multistart(const ffit_problem *pb, const ffit_grid *grid,
                    const ffit_options *o, ffit_result *res, assay_error *err)
{
    size_t k = pb->k;
    int rc = 0;
    fidx *order = NULL;
    mstart m = {.pb = pb, .grid = grid, .o = o};
    memset(res, 0, sizeof *res);
    if (o->method == FFIT_LM && pb->loss != FEXPR_LOSS_LSQ)
        return assay_error_set(err, ASSAY_EINVAL,
                               "method 'lm' needs loss 'lsq' (use 'lbfgs' "
                               "for the Huber loss)");
    m.S = ffit_grid_size(grid);
    if (m.S == 0 || m.S > 100000000)
        return assay_error_set(err, ASSAY_EINVAL,
                               "the grid of initial values is too large "
                               "(more than 1e8 starts)");
    m.pend = malloc(m.S * k * sizeof *m.pend + 1);
    m.fend = malloc(m.S * sizeof *m.fend + 1);
    order = malloc(m.S * sizeof *order + 1);
    res->p = malloc(k * sizeof *res->p + 1);
    if (!m.pend || !m.fend || !order || !res->p) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    atomic_init(&m.rc, 0);
    atomic_init(&m.evals, 0);
    rc = run_stage(&m, o->threads);
    if (rc)
        goto stage_failed;
    size_t nfin = 0;
    for (size_t i = 0; i < m.S; i++) {
        order[i].f = m.fend[i];
        order[i].i = i;
        nfin += m.fend[i] < FFIT_HUGE;
    }
    if (!nfin) {
        rc = assay_error_set(err, ASSAY_EDATA,
                             "no start reached a finite objective: the law "
                             "is undefined (NaN or infinite) on this data "
                             "at every initial value");
        goto out;
    }
    qsort(order, m.S, sizeof *order, cmp_fidx);
    /* the best distinct end points */
    size_t want = o->npolish ? o->npolish : 1;
    m.pidx = malloc(want * sizeof *m.pidx);
    m.ppol = malloc(want * k * sizeof *m.ppol + 1);
    m.fpol = malloc(want * sizeof *m.fpol);
    if (!m.pidx || !m.ppol || !m.fpol) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t r = 0; r < m.S && m.npol < want; r++) {
        if (order[r].f >= FFIT_HUGE)
            break;
        const double *p = m.pend + order[r].i * k;
        bool dup = false;
        for (size_t q = 0; q < m.npol && !dup; q++)
            dup = same_point(p, m.ppol + q * k, k);
        if (dup)
            continue;
        m.pidx[m.npol] = order[r].i;
        memcpy(m.ppol + m.npol * k, p, k * sizeof *p);
        m.npol++;
    }
    m.stage = 1;
    rc = run_stage(&m, o->threads);
    if (rc)
        goto stage_failed;
    size_t best = 0;
    for (size_t q = 1; q < m.npol; q++)
        if (m.fpol[q] < m.fpol[best] ||
            (m.fpol[q] == m.fpol[best] && m.pidx[q] < m.pidx[best]))
            best = q;
    memcpy(res->p, m.ppol + best * k, k * sizeof *res->p);
    res->f = m.fpol[best];
    res->best_start = m.pidx[best];
    res->n_starts = m.S;
    res->n_finite = nfin;
    res->n_polished = m.npol;
    res->evals = atomic_load(&m.evals);
    goto out;
stage_failed:
    if (rc == ASSAY_ECANCELED)
        assay_error_set(err, rc, "fit cancelled");
    else
        assay_error_set(err, rc, "out of memory in the fit workers");
out:
    free(m.pend);
    free(m.fend);
    free(m.pidx);
    free(m.ppol);
    free(m.fpol);
    free(order);
    if (rc) {
        free(res->p);
        res->p = NULL;
    }
    return rc;
}
