/*
 * flaw.c - the fit pipeline shared by the fitter plugins: options into a
 * law spec, the data port into columns, multi-start fit, uncertainty
 * (Jacobian standard errors, seeded bootstrap), checks (hold-out,
 * extrapolation), and the params / points / curve outputs.
 */
#include "flaw.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "fstat.h"

const assay_port flaw_inputs[] = {
    {.name = "data",
     .type = ASSAY_T_TABLE,
     .required = true,
     .doc = "the points to fit: one row per observation, columns named in "
            "the options (records are accepted too)"},
    {0}};

const assay_port flaw_outputs[] = {
    {.name = "params",
     .type = ASSAY_T_JSON,
     .doc = "fitted parameters with standard errors, bootstrap intervals, "
            "fit statistics, checks and warnings"},
    {.name = "points",
     .type = ASSAY_T_TABLE,
     .chart = "scatter",
     .doc = "per point: the variables, observed value, prediction and "
            "residual"},
    {.name = "curve",
     .type = ASSAY_T_TABLE,
     .chart = "line",
     .doc = "the fitted law over a grid of each variable (others at their "
            "median), extended past the data; 'extrapolated' marks the "
            "extension"},
    {0}};

json_t *flaw_num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

double flaw_mmlu_bound(double x)
{
    if (x < 25)
        return 25;
    if (x > 90)
        return 90 + 10 * tanh(0.1 * x - 9);
    return x;
}

/* ---- the spec ---------------------------------------------------------- */

void flaw_spec_free(flaw_spec *s)
{
    free(s->law);
    free(s->target);
    for (size_t i = 0; i < s->nvars; i++) {
        free(s->var_names[i]);
        free(s->var_cols[i]);
    }
    free(s->var_names);
    free(s->var_cols);
    for (size_t i = 0; i < s->nparams; i++) {
        free(s->params[i].name);
        free(s->params[i].init);
    }
    free(s->params);
    free(s->sigma_col);
    free(s->extrap_var);
    memset(s, 0, sizeof *s);
}

static int dup_opt(const json_t *opts, const char *name, char **out)
{
    const char *v = assay_opt_str(opts, name);
    free(*out);
    *out = NULL;
    if (!v)
        return 0;
    *out = strdup(v);
    return *out ? 0 : ASSAY_ENOMEM;
}

int flaw_spec_common(flaw_spec *s, const json_t *opts, assay_error *err)
{
    const char *loss = assay_opt_str(opts, "loss");
    const char *method = assay_opt_str(opts, "method");
    s->loss =
        loss && strcmp(loss, "huber") == 0 ? FEXPR_LOSS_HUBER : FEXPR_LOSS_LSQ;
    s->delta = assay_opt_num(opts, "delta");
    if (method && strcmp(method, "lm") == 0)
        s->method = FFIT_LM;
    else if (method && strcmp(method, "lbfgs") == 0)
        s->method = FFIT_LBFGS;
    else
        s->method = s->loss == FEXPR_LOSS_LSQ ? FFIT_LM : FFIT_LBFGS;
    if (s->method == FFIT_LM && s->loss != FEXPR_LOSS_LSQ)
        return assay_error_set(err, ASSAY_EINVAL,
                               "option 'method': lm needs loss lsq (use "
                               "lbfgs for the Huber loss)");
    s->bootstrap = assay_opt_int(opts, "bootstrap");
    s->ci = assay_opt_num(opts, "ci");
    s->holdout = assay_opt_num(opts, "holdout");
    s->extrap_frac = assay_opt_num(opts, "extrapolate_frac");
    s->curve_points = assay_opt_int(opts, "curve_points");
    s->curve_extend = assay_opt_num(opts, "curve_extend");
    s->screen_ftol = assay_opt_num(opts, "screen_ftol");
    s->polish = assay_opt_int(opts, "polish");
    if (dup_opt(opts, "sigma", &s->sigma_col) ||
        dup_opt(opts, "extrapolate_by", &s->extrap_var))
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    return 0;
}

int flaw_spec_add_var(flaw_spec *s, const char *name, const char *col)
{
    char **n = realloc(s->var_names, (s->nvars + 1) * sizeof *n);
    if (!n)
        return ASSAY_ENOMEM;
    s->var_names = n;
    char **c = realloc(s->var_cols, (s->nvars + 1) * sizeof *c);
    if (!c)
        return ASSAY_ENOMEM;
    s->var_cols = c;
    s->var_names[s->nvars] = strdup(name);
    s->var_cols[s->nvars] = strdup(col);
    s->nvars++;
    if (!s->var_names[s->nvars - 1] || !s->var_cols[s->nvars - 1])
        return ASSAY_ENOMEM;
    return 0;
}

int flaw_spec_add_param(flaw_spec *s, const char *name, const double *init,
                        size_t ninit, double lo, double hi)
{
    flaw_param *p = realloc(s->params, (s->nparams + 1) * sizeof *p);
    if (!p)
        return ASSAY_ENOMEM;
    s->params = p;
    flaw_param *q = &s->params[s->nparams++];
    memset(q, 0, sizeof *q);
    q->name = strdup(name);
    q->init = malloc((ninit ? ninit : 1) * sizeof *q->init);
    if (!q->name || !q->init)
        return ASSAY_ENOMEM;
    if (ninit)
        memcpy(q->init, init, ninit * sizeof *init);
    else
        q->init[0] = 1.0;
    q->ninit = ninit ? ninit : 1;
    q->lo = lo;
    q->hi = hi;
    return 0;
}

static bool is_ident(const char *s)
{
    if (!s || !*s)
        return false;
    for (const char *c = s; *c; c++) {
        bool al =
            (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || *c == '_';
        bool dig = *c >= '0' && *c <= '9';
        if (!al && !(dig && c != s))
            return false;
    }
    return true;
}

/* One entry of `params:` - a number, a list of numbers, or an object
 * {init: number | [numbers], min: x, max: y}. */
static int read_param(flaw_spec *s, const char *name, const json_t *v,
                      assay_error *err)
{
    const json_t *init = v;
    double lo = -INFINITY, hi = INFINITY;
    double buf[4096];
    size_t n = 0;
    if (!is_ident(name))
        return assay_error_set(err, ASSAY_EINVAL,
                               "option 'params': '%s' is not a valid name "
                               "(letters, digits and _, not starting with "
                               "a digit)",
                               name);
    if (json_is_object(v)) {
        const char *key;
        json_t *val;
        init = json_object_get(v, "init");
        json_object_foreach((json_t *)v, key, val)
        {
            if (strcmp(key, "init") && strcmp(key, "min") && strcmp(key, "max"))
                return assay_error_set(err, ASSAY_EINVAL,
                                       "option 'params.%s': unknown key "
                                       "'%s' (expected init, min, max)",
                                       name, key);
        }
        const json_t *mn = json_object_get(v, "min");
        const json_t *mx = json_object_get(v, "max");
        if (mn && !json_is_null(mn)) {
            if (!json_is_number(mn))
                return assay_error_set(err, ASSAY_EINVAL,
                                       "option 'params.%s.min': expected a "
                                       "number",
                                       name);
            lo = json_number_value(mn);
        }
        if (mx && !json_is_null(mx)) {
            if (!json_is_number(mx))
                return assay_error_set(err, ASSAY_EINVAL,
                                       "option 'params.%s.max': expected a "
                                       "number",
                                       name);
            hi = json_number_value(mx);
        }
        if (lo > hi)
            return assay_error_set(err, ASSAY_EINVAL,
                                   "option 'params.%s': min %g > max %g", name,
                                   lo, hi);
    }
    if (!init || json_is_null(init)) {
        /* no initial value: 1, or the middle of a finite range (a single
         * bound clamps 1 into the range when the grid is expanded) */
        buf[n++] = isfinite(lo) && isfinite(hi) ? 0.5 * (lo + hi) : 1.0;
    } else if (json_is_number(init)) {
        buf[n++] = json_number_value(init);
    } else if (json_is_array(init) && json_array_size(init) > 0) {
        size_t i;
        json_t *x;
        if (json_array_size(init) > sizeof buf / sizeof buf[0])
            return assay_error_set(err, ASSAY_EINVAL,
                                   "option 'params.%s.init': more than "
                                   "4096 values",
                                   name);
        json_array_foreach(init, i, x)
        {
            if (!json_is_number(x))
                return assay_error_set(err, ASSAY_EINVAL,
                                       "option 'params.%s.init[%zu]': "
                                       "expected a number",
                                       name, i);
            buf[n++] = json_number_value(x);
        }
    } else {
        return assay_error_set(err, ASSAY_EINVAL,
                               "option 'params.%s': expected a number, a "
                               "list of numbers or {init, min, max}",
                               name);
    }
    for (size_t i = 0; i < n; i++)
        if (!isfinite(buf[i]))
            return assay_error_set(err, ASSAY_EINVAL,
                                   "option 'params.%s.init': not a finite "
                                   "number",
                                   name);
    if (flaw_spec_add_param(s, name, buf, n, lo, hi))
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    return 0;
}

int flaw_spec_generic(flaw_spec *s, const json_t *opts, assay_error *err)
{
    const json_t *vars = json_object_get(opts, "vars");
    const json_t *params = json_object_get(opts, "params");
    const char *space = assay_opt_str(opts, "space");
    const char *key;
    json_t *val;
    if (dup_opt(opts, "law", &s->law) || dup_opt(opts, "target", &s->target))
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    if (!s->law || !s->target)
        return assay_error_set(err, ASSAY_EINVAL,
                               "options 'law' and 'target' are required");
    if (!json_is_object(vars) || json_object_size(vars) == 0)
        return assay_error_set(err, ASSAY_EINVAL,
                               "option 'vars': expected a mapping of "
                               "formula names to columns, e.g. {N: params}");
    json_object_foreach((json_t *)vars, key, val)
    {
        if (!is_ident(key))
            return assay_error_set(err, ASSAY_EINVAL,
                                   "option 'vars': '%s' is not a valid name",
                                   key);
        if (!json_is_string(val))
            return assay_error_set(err, ASSAY_EINVAL,
                                   "option 'vars.%s': expected a column "
                                   "name",
                                   key);
        if (flaw_spec_add_var(s, key, json_string_value(val)))
            return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    if (!json_is_object(params) || json_object_size(params) == 0)
        return assay_error_set(err, ASSAY_EINVAL,
                               "option 'params': expected a mapping of "
                               "parameter names to initial values");
    json_object_foreach((json_t *)params, key, val)
    {
        for (size_t i = 0; i < s->nvars; i++)
            if (strcmp(s->var_names[i], key) == 0)
                return assay_error_set(err, ASSAY_EINVAL,
                                       "'%s' is both a variable and a "
                                       "parameter",
                                       key);
        int rc = read_param(s, key, val, err);
        if (rc)
            return rc;
    }
    s->log_target = s->log_pred = space && strcmp(space, "log") == 0;
    return 0;
}

/* ---- reading the data --------------------------------------------------- */

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct cols {
    size_t n;
    double **x; /* nvars columns */
    double *y;  /* raw target */
    double *ys; /* target in the fitted space */
    double *s;  /* 1/sigma or NULL */
} cols;

static void cols_free(cols *c, size_t nvars)
{
    for (size_t v = 0; c->x && v < nvars; v++)
        free(c->x[v]);
    free(c->x);
    free(c->y);
    free(c->ys);
    free(c->s);
}

static int read_col(const assay_table *t, const char *name, const char *what,
                    double **out, assay_error *err)
{
    const assay_column *c = NULL;
    int rc = assay_table_need(t, name, ASSAY_COL_FLOAT64, &c, err);
    if (rc) {
        assay_error_prefix(err, "%s: ", what);
        return rc;
    }
    double *v = malloc((t->nrows + 1) * sizeof *v);
    if (!v)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    for (size_t i = 0; i < t->nrows; i++) {
        v[i] = assay_col_num(c, i);
        if (!isfinite(v[i])) {
            free(v);
            return assay_error_set(err, ASSAY_EDATA,
                                   "record %zu: field '%s': missing or not "
                                   "a finite number",
                                   i, name);
        }
    }
    *out = v;
    return 0;
}

static int read_data(const flaw_spec *s, const assay_table *t, const fexpr *e,
                     cols *c, assay_error *err)
{
    int rc;
    memset(c, 0, sizeof *c);
    c->n = t->nrows;
    c->x = calloc(s->nvars + 1, sizeof *c->x);
    if (!c->x)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    for (size_t v = 0; v < s->nvars; v++) {
        if (!fexpr_uses_var(e, v) &&
            !(s->extrap_var && strcmp(s->extrap_var, s->var_names[v]) == 0))
            continue;
        char what[96];
        snprintf(what, sizeof what, "variable '%s'", s->var_names[v]);
        if ((rc = read_col(t, s->var_cols[v], what, &c->x[v], err)))
            return rc;
    }
    if ((rc = read_col(t, s->target, "target", &c->y, err)))
        return rc;
    c->ys = malloc((c->n + 1) * sizeof *c->ys);
    if (!c->ys)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    for (size_t i = 0; i < c->n; i++) {
        if (s->log_target && !(c->y[i] > 0))
            return assay_error_set(err, ASSAY_EDATA,
                                   "record %zu: field '%s' is %g, but the "
                                   "fit takes its log: it must be > 0",
                                   i, s->target, c->y[i]);
        c->ys[i] = s->log_target ? log(c->y[i]) : c->y[i];
    }
    if (s->sigma_col) {
        if ((rc = read_col(t, s->sigma_col, "sigma", &c->s, err)))
            return rc;
        for (size_t i = 0; i < c->n; i++) {
            if (!(c->s[i] > 0))
                return assay_error_set(err, ASSAY_EDATA,
                                       "record %zu: field '%s' (sigma) is "
                                       "%g: must be > 0",
                                       i, s->sigma_col, c->s[i]);
            c->s[i] = 1.0 / c->s[i];
        }
    }
    return 0;
}

/*
 * Drop the rows whose target is among the s->drop_top largest (ties with
 * the cut go too), after the data was checked with the original record
 * numbers: compacts the columns and replaces *d by the kept subset.
 */
static int drop_largest(const flaw_spec *s, cols *c, fexpr_data **d,
                        assay_error *err)
{
    if (s->drop_top == 0 || s->drop_top >= c->n)
        return 0;
    double *srt = malloc(c->n * sizeof *srt);
    size_t *keep = malloc(c->n * sizeof *keep);
    fexpr_data *sub = NULL;
    if (!srt || !keep) {
        free(srt);
        free(keep);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    memcpy(srt, c->y, c->n * sizeof *srt);
    qsort(srt, c->n, sizeof *srt, cmp_dbl);
    double cut = srt[c->n - s->drop_top];
    size_t m = 0;
    for (size_t i = 0; i < c->n; i++)
        if (c->y[i] < cut)
            keep[m++] = i;
    if (fexpr_data_subset(*d, keep, m, &sub)) {
        free(srt);
        free(keep);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    for (size_t q = 0; q < m; q++) {
        size_t i = keep[q];
        for (size_t v = 0; v < s->nvars; v++)
            if (c->x[v])
                c->x[v][q] = c->x[v][i];
        c->y[q] = c->y[i];
        c->ys[q] = c->ys[i];
        if (c->s)
            c->s[q] = c->s[i];
    }
    c->n = m;
    fexpr_data_free(*d);
    *d = sub;
    free(srt);
    free(keep);
    return 0;
}

/* ---- the fit context ------------------------------------------------------
 */

typedef struct fitctx {
    const assay_host *h;
    const flaw_spec *s;
    fexpr *e;
    size_t k;
    double *lo, *hi;
    const double **gvals;
    size_t *glen;
    ffit_grid grid;
    ffit_options opt;
} fitctx;

static bool cb_cancelled(void *ud)
{
    const assay_host *h = ud;
    return h->cancelled && h->cancelled(h);
}

static void cb_progress(void *ud, size_t done, size_t total)
{
    const assay_host *h = ud;
    if (h->progress)
        h->progress(h, done, total, "starts");
}

/* Fit the points idx[0..m-1] (all when idx is NULL) with the full
 * multi-start; p gets k values. */
static int fit_subset(fitctx *fc, const fexpr_data *all, const cols *c,
                      const size_t *idx, size_t m, double *p, double *f,
                      ffit_result *out, assay_error *err)
{
    fexpr_data *sub = NULL;
    double *y = NULL, *sc = NULL;
    const fexpr_data *d = all;
    const double *yy = c->ys, *ss = c->s;
    int rc = 0;
    if (idx) {
        y = malloc((m + 1) * sizeof *y);
        sc = c->s ? malloc((m + 1) * sizeof *sc) : NULL;
        if (!y || (c->s && !sc) || fexpr_data_subset(all, idx, m, &sub)) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < m; i++) {
            y[i] = c->ys[idx[i]];
            if (sc)
                sc[i] = c->s[idx[i]];
        }
        d = sub;
        yy = y;
        ss = sc;
    }
    ffit_problem pb = {.law = fc->e,
                       .data = d,
                       .y = yy,
                       .s = ss,
                       .loss = fc->s->loss,
                       .delta = fc->s->delta,
                       .k = fc->k,
                       .lo = fc->lo,
                       .hi = fc->hi};
    ffit_result r;
    rc = ffit_multistart(&pb, &fc->grid, &fc->opt, &r, err);
    if (rc)
        goto out;
    memcpy(p, r.p, fc->k * sizeof *p);
    *f = r.f;
    if (out)
        *out = r;
    else
        free(r.p);
out:
    fexpr_data_free(sub);
    free(y);
    free(sc);
    return rc;
}

/* ---- bootstrap --------------------------------------------------------------
 */

typedef struct bootctx {
    fitctx *fc;
    const fexpr_data *data;
    const cols *c;
    const double *p0;
    uint64_t seed;
    size_t B;
    double *est; /* B x k */
    atomic_size_t next;
    atomic_int rc;
} bootctx;

static void *boot_worker(void *arg)
{
    bootctx *b = arg;
    fitctx *fc = b->fc;
    size_t n = b->c->n, k = fc->k;
    fexpr_ws *ws = fexpr_ws_new(fc->e);
    size_t *idx = malloc((n + 1) * sizeof *idx);
    double *y = malloc((n + 1) * sizeof *y);
    double *sc = b->c->s ? malloc((n + 1) * sizeof *sc) : NULL;
    if (!ws || !idx || !y || (b->c->s && !sc)) {
        atomic_store(&b->rc, ASSAY_ENOMEM);
        goto out;
    }
    for (;;) {
        size_t r = atomic_fetch_add(&b->next, 1);
        if (r >= b->B || atomic_load(&b->rc))
            break;
        if (cb_cancelled((void *)fc->h)) {
            atomic_store(&b->rc, ASSAY_ECANCELED);
            break;
        }
        /* replicate r draws from its own stream: the same on any thread */
        uint64_t x = b->seed ^ (0x9e3779b97f4a7c15ULL * (r + 1));
        assay_rng rng;
        assay_rng_init(&rng, assay_splitmix64(&x));
        for (size_t i = 0; i < n; i++) {
            idx[i] = (size_t)assay_rng_below(&rng, n);
            y[i] = b->c->ys[idx[i]];
            if (sc)
                sc[i] = b->c->s[idx[i]];
        }
        fexpr_data *sub = NULL;
        if (fexpr_data_subset(b->data, idx, n, &sub)) {
            atomic_store(&b->rc, ASSAY_ENOMEM);
            break;
        }
        ffit_problem pb = {.law = fc->e,
                           .data = sub,
                           .y = y,
                           .s = sc,
                           .loss = fc->s->loss,
                           .delta = fc->s->delta,
                           .k = k,
                           .lo = fc->lo,
                           .hi = fc->hi};
        double *p = b->est + r * k, f;
        memcpy(p, b->p0, k * sizeof *p);
        int rc =
            ffit_local(&pb, fc->opt.method, &fc->opt.polish, p, &f, NULL, ws);
        fexpr_data_free(sub);
        if (rc) {
            atomic_store(&b->rc, rc);
            break;
        }
        if (!isfinite(f) || f >= 1e300)
            for (size_t j = 0; j < k; j++)
                p[j] = NAN;
        if (fc->h->progress)
            fc->h->progress(fc->h, r + 1, b->B, "bootstrap");
    }
out:
    fexpr_ws_free(ws);
    free(idx);
    free(y);
    free(sc);
    return NULL;
}

static int run_bootstrap(fitctx *fc, const fexpr_data *data, const cols *c,
                         const double *p0, double *est, assay_error *err)
{
    bootctx b = {.fc = fc,
                 .data = data,
                 .c = c,
                 .p0 = p0,
                 .B = (size_t)fc->s->bootstrap,
                 .est = est};
    b.seed = fc->h->seed ? fc->h->seed(fc->h, "bootstrap") : 0;
    atomic_init(&b.next, 0);
    atomic_init(&b.rc, 0);
    unsigned nt = fc->opt.threads;
    if (nt > b.B)
        nt = (unsigned)b.B;
    pthread_t tid[256];
    unsigned started = 0;
    for (unsigned t = 1; t < nt && t < 256; t++) {
        if (pthread_create(&tid[t], NULL, boot_worker, &b) != 0)
            break;
        started++;
    }
    boot_worker(&b);
    for (unsigned t = 1; t <= started; t++)
        pthread_join(tid[t], NULL);
    int rc = atomic_load(&b.rc);
    if (rc == ASSAY_ECANCELED)
        return assay_error_set(err, rc, "fit cancelled");
    if (rc)
        return assay_error_set(err, rc, "out of memory in the bootstrap");
    return 0;
}

/* ---- outputs
 * ------------------------------------------------------------------ */

/* Prediction on the target's own scale. */
static double to_target(const flaw_spec *s, double v)
{
    v = s->log_target ? exp(v) : v;
    return s->post == FLAW_POST_MMLU ? flaw_mmlu_bound(v) : v;
}

static json_t *gof_json(const fstat_gof *g)
{
    json_t *o = json_object();
    json_object_set_new(o, "n", json_integer((json_int_t)g->n));
    json_object_set_new(o, "r2", flaw_num(g->r2));
    json_object_set_new(o, "rmse", flaw_num(g->rmse));
    json_object_set_new(o, "mape", flaw_num(g->mape));
    return o;
}

/* Goodness of fit of parameters p on the points idx (all if NULL). */
static int gof_on(fitctx *fc, const fexpr_data *d, const cols *c,
                  const size_t *idx, size_t m, const double *p, fstat_gof *g)
{
    double *pred = malloc((c->n + 1) * sizeof *pred);
    double *yy = malloc((m + 1) * sizeof *yy);
    double *pp = malloc((m + 1) * sizeof *pp);
    fexpr_ws *ws = fexpr_ws_new(fc->e);
    int rc = 0;
    if (!pred || !yy || !pp || !ws) {
        rc = ASSAY_ENOMEM;
        goto out;
    }
    fexpr_predict(fc->e, d, p, pred, ws);
    for (size_t i = 0; i < m; i++) {
        size_t j = idx ? idx[i] : i;
        yy[i] = c->y[j];
        pp[i] = to_target(fc->s, pred[j]);
    }
    fstat_gof_compute(yy, pp, m, g);
out:
    free(pred);
    free(yy);
    free(pp);
    fexpr_ws_free(ws);
    return rc;
}

/* The formula with fitted values in place of parameter names. */
static char *fitted_text(const flaw_spec *s, const double *p)
{
    size_t cap = strlen(s->law) * 4 + 64 * s->nparams + 64, len = 0;
    char *out = malloc(cap);
    const char *src = s->law;
    if (!out)
        return NULL;
    for (size_t i = 0; src[i];) {
        char ch = src[i];
        bool al =
            (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
        if (!al) {
            bool dig = ch >= '0' && ch <= '9';
            size_t j = i + 1;
            /* copy a number whole, so that "1e5" is not seen as "e" */
            while (dig && src[j] &&
                   ((src[j] >= '0' && src[j] <= '9') || src[j] == '.' ||
                    src[j] == 'e' || src[j] == 'E' ||
                    ((src[j] == '+' || src[j] == '-') &&
                     (src[j - 1] == 'e' || src[j - 1] == 'E'))))
                j++;
            if (len + (j - i) + 1 >= cap)
                break;
            memcpy(out + len, src + i, j - i);
            len += j - i;
            i = j;
            continue;
        }
        size_t j = i;
        while ((src[j] >= 'a' && src[j] <= 'z') ||
               (src[j] >= 'A' && src[j] <= 'Z') || src[j] == '_' ||
               (src[j] >= '0' && src[j] <= '9'))
            j++;
        int hit = -1;
        for (size_t q = 0; q < s->nparams; q++)
            if (strlen(s->params[q].name) == j - i &&
                memcmp(s->params[q].name, src + i, j - i) == 0)
                hit = (int)q;
        char num[64];
        const char *put = src + i;
        size_t plen = j - i;
        if (hit >= 0) {
            double v = p[hit];
            int nl = snprintf(num, sizeof num, v < 0 ? "(%.6g)" : "%.6g", v);
            put = num;
            plen = nl > 0 ? (size_t)nl : 0;
        }
        if (len + plen + 1 >= cap)
            break;
        memcpy(out + len, put, plen);
        len += plen;
        i = j;
    }
    out[len] = '\0';
    return out;
}

/* Curve table: for each used variable, a grid over its range and beyond,
 * the others at their medians. */
static int make_curve(fitctx *fc, const cols *c, const double *p,
                      assay_table **out, assay_error *err)
{
    const assay_host *h = fc->h;
    const flaw_spec *s = fc->s;
    size_t nv = 0, G = (size_t)s->curve_points;
    int rc = 0;
    for (size_t v = 0; v < s->nvars; v++)
        nv += fexpr_uses_var(fc->e, v);
    size_t rows = nv * G;
    double *med = calloc(s->nvars + 1, sizeof *med);
    double *tmp = malloc((c->n + 1) * sizeof *tmp);
    double **gx = calloc(s->nvars + 1, sizeof *gx);
    double *pred = malloc((rows + 1) * sizeof *pred);
    fexpr_data *d = NULL;
    fexpr_ws *ws = fexpr_ws_new(fc->e);
    assay_table *t = NULL;
    if (!med || !tmp || !gx || !pred || !ws)
        goto oom;
    for (size_t v = 0; v < s->nvars; v++) {
        if (!fexpr_uses_var(fc->e, v))
            continue;
        memcpy(tmp, c->x[v], c->n * sizeof *tmp);
        qsort(tmp, c->n, sizeof *tmp, cmp_dbl);
        med[v] = c->n % 2 ? tmp[c->n / 2]
                          : 0.5 * (tmp[c->n / 2 - 1] + tmp[c->n / 2]);
        if (!(gx[v] = malloc((rows + 1) * sizeof *gx[v])))
            goto oom;
        for (size_t r = 0; r < rows; r++)
            gx[v][r] = med[v];
    }
    t = h->table_new(rows);
    if (!t)
        goto oom;
    if (!h->table_add_col(t, "var", ASSAY_COL_STRING))
        goto oom;
    size_t base = 0;
    for (size_t v = 0; v < s->nvars; v++) {
        if (!fexpr_uses_var(fc->e, v))
            continue;
        double mn = INFINITY, mx = -INFINITY;
        for (size_t i = 0; i < c->n; i++) {
            mn = fmin(mn, c->x[v][i]);
            mx = fmax(mx, c->x[v][i]);
        }
        bool lg = mn > 0 && mx / mn >= 20;
        double a = lg ? log(mn) : mn, b = lg ? log(mx) : mx;
        double top = b + (b - a) * s->curve_extend;
        for (size_t g = 0; g < G; g++) {
            double z = a + (top - a) * (double)g / (double)(G - 1);
            gx[v][base + g] = lg ? exp(z) : z;
            if (h->table_set_str(t, 0, base + g, s->var_names[v],
                                 strlen(s->var_names[v])))
                goto oom;
        }
        base += G;
    }
    if ((rc = fexpr_bind(fc->e, (const double *const *)gx, rows, &d, err))) {
        /* the extension left the law's domain: report it, keep going */
        h->log(h, ASSAY_LOG_WARN, "curve: %s", err->text);
        d = NULL;
        rc = 0;
    }
    if (d)
        fexpr_predict(fc->e, d, p, pred, ws);
    else
        for (size_t r = 0; r < rows; r++)
            pred[r] = NAN;
    for (size_t v = 0; v < s->nvars; v++) {
        if (!fexpr_uses_var(fc->e, v))
            continue;
        double *col = h->table_add_col(t, s->var_names[v], ASSAY_COL_FLOAT64);
        if (!col)
            goto oom;
        memcpy(col, gx[v], rows * sizeof *col);
    }
    double *pc = h->table_add_col(t, "pred", ASSAY_COL_FLOAT64);
    if (!pc)
        goto oom;
    for (size_t r = 0; r < rows; r++)
        pc[r] = to_target(s, pred[r]);
    int64_t *ex = h->table_add_col(t, "extrapolated", ASSAY_COL_INT64);
    if (!ex)
        goto oom;
    base = 0;
    for (size_t v = 0; v < s->nvars; v++) {
        if (!fexpr_uses_var(fc->e, v))
            continue;
        double mx = -INFINITY;
        for (size_t i = 0; i < c->n; i++)
            mx = fmax(mx, c->x[v][i]);
        for (size_t g = 0; g < G; g++)
            ex[base + g] = gx[v][base + g] > mx * (1 + 1e-12);
        base += G;
    }
    *out = t;
    t = NULL;
    goto out;
oom:
    rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
out:
    if (t)
        h->table_free(t);
    for (size_t v = 0; gx && v < s->nvars; v++)
        free(gx[v]);
    free(gx);
    free(med);
    free(tmp);
    free(pred);
    fexpr_data_free(d);
    fexpr_ws_free(ws);
    return rc;
}

static int make_points(fitctx *fc, const cols *c, const fexpr_data *d,
                       const double *p, const unsigned char *held,
                       assay_table **out, assay_error *err)
{
    const assay_host *h = fc->h;
    const flaw_spec *s = fc->s;
    size_t n = c->n;
    double *pred = malloc((n + 1) * sizeof *pred);
    fexpr_ws *ws = fexpr_ws_new(fc->e);
    assay_table *t = h->table_new(n);
    int rc = 0;
    if (!pred || !ws || !t)
        goto oom;
    fexpr_predict(fc->e, d, p, pred, ws);
    for (size_t v = 0; v < s->nvars; v++) {
        if (!c->x[v])
            continue;
        double *col = h->table_add_col(t, s->var_names[v], ASSAY_COL_FLOAT64);
        if (!col)
            goto oom;
        memcpy(col, c->x[v], n * sizeof *col);
    }
    double *yc = h->table_add_col(t, "y", ASSAY_COL_FLOAT64);
    if (!yc)
        goto oom;
    memcpy(yc, c->y, n * sizeof *yc);
    double *pc = h->table_add_col(t, "pred", ASSAY_COL_FLOAT64);
    if (!pc)
        goto oom;
    for (size_t i = 0; i < n; i++)
        pc[i] = to_target(s, pred[i]);
    double *rc_ = h->table_add_col(t, "residual", ASSAY_COL_FLOAT64);
    if (!rc_)
        goto oom;
    for (size_t i = 0; i < n; i++)
        rc_[i] = c->y[i] - to_target(s, pred[i]);
    if (s->log_target) {
        double *lr = h->table_add_col(t, "log_residual", ASSAY_COL_FLOAT64);
        if (!lr)
            goto oom;
        for (size_t i = 0; i < n; i++)
            lr[i] = c->ys[i] - pred[i];
    }
    if (held) {
        int64_t *hc = h->table_add_col(t, "heldout", ASSAY_COL_INT64);
        if (!hc)
            goto oom;
        for (size_t i = 0; i < n; i++)
            hc[i] = held[i];
    }
    *out = t;
    t = NULL;
    goto out;
oom:
    rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
out:
    if (t)
        h->table_free(t);
    free(pred);
    fexpr_ws_free(ws);
    return rc;
}

/* Uncertainty from the Jacobian at p: fills se (NaN when unavailable) and
 * adds warnings. */
static int jacobian_se(fitctx *fc, const fexpr_data *d, const cols *c,
                       const double *p, double *se, json_t *warn,
                       double *cond_out)
{
    size_t n = c->n, k = fc->k;
    double *J = malloc((n * k + 1) * sizeof *J);
    double *r = malloc((n + 1) * sizeof *r);
    double *cov = malloc((k * k + 1) * sizeof *cov);
    fexpr_ws *ws = fexpr_ws_new(fc->e);
    int rc = 0;
    for (size_t j = 0; j < k; j++)
        se[j] = NAN;
    *cond_out = NAN;
    if (!J || !r || !cov || !ws) {
        rc = ASSAY_ENOMEM;
        goto out;
    }
    fexpr_jacobian(fc->e, d, p, r, J, ws);
    for (size_t i = 0; i < n; i++) {
        double w = c->s ? c->s[i] : 1.0;
        r[i] = w * (r[i] - c->ys[i]);
        for (size_t j = 0; j < k; j++)
            J[i * k + j] *= w;
    }
    double cond;
    if (n <= k) {
        json_array_append_new(
            warn, json_string("as many parameters as points: no degrees of "
                              "freedom left, standard errors omitted"));
    } else if (fstat_covariance(J, r, n, k, cov, &cond) != 0) {
        json_array_append_new(
            warn, json_string("the Jacobian is singular at the optimum (a "
                              "parameter has no effect or parameters are "
                              "redundant): standard errors omitted"));
    } else {
        *cond_out = cond;
        if (cond > 1e12) {
            char msg[256];
            snprintf(msg, sizeof msg,
                     "the Hessian (J'J) is near-singular (condition number "
                     "%.3g): parameters are not identifiable separately, "
                     "standard errors omitted",
                     cond);
            json_array_append_new(warn, json_string(msg));
        } else {
            for (size_t j = 0; j < k; j++)
                se[j] = sqrt(cov[j * k + j]);
            if (cond > 1e8) {
                char msg[256];
                snprintf(msg, sizeof msg,
                         "the Hessian (J'J) is ill-conditioned (condition "
                         "number %.3g): standard errors are unreliable",
                         cond);
                json_array_append_new(warn, json_string(msg));
            }
        }
    }
out:
    free(J);
    free(r);
    free(cov);
    fexpr_ws_free(ws);
    return rc;
}

/* ---- the pipeline
 * ------------------------------------------------------------- */

int flaw_run(const assay_host *h, const flaw_spec *s, assay_io *io,
             flaw_extra_fn extra, void *ud, assay_error *err)
{
    fitctx fc = {.h = h, .s = s, .k = s->nparams};
    cols c = {0};
    fexpr_data *d = NULL;
    double *p = NULL, *se = NULL, *boot = NULL;
    size_t *idx = NULL;
    unsigned char *held = NULL;
    json_t *out = NULL, *warn = json_array();
    assay_table *pts = NULL, *curve = NULL;
    const char **vn = NULL, **pn = NULL;
    int rc = 0;
    size_t k = s->nparams;

    if (!warn)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    vn = calloc(s->nvars + 1, sizeof *vn);
    pn = calloc(k + 1, sizeof *pn);
    fc.lo = malloc((k + 1) * sizeof *fc.lo);
    fc.hi = malloc((k + 1) * sizeof *fc.hi);
    fc.gvals = calloc(k + 1, sizeof *fc.gvals);
    fc.glen = calloc(k + 1, sizeof *fc.glen);
    p = calloc(k + 1, sizeof *p);
    se = calloc(k + 1, sizeof *se);
    if (!vn || !pn || !fc.lo || !fc.hi || !fc.gvals || !fc.glen || !p || !se)
        goto oom;
    for (size_t v = 0; v < s->nvars; v++)
        vn[v] = s->var_names[v];
    for (size_t j = 0; j < k; j++) {
        pn[j] = s->params[j].name;
        fc.lo[j] = s->params[j].lo;
        fc.hi[j] = s->params[j].hi;
        fc.gvals[j] = s->params[j].init;
        fc.glen[j] = s->params[j].ninit;
    }
    fc.grid = (ffit_grid){.k = k, .vals = fc.gvals, .len = fc.glen};
    rc = fexpr_compile(s->law, "law", vn, s->nvars, pn, k,
                       s->log_pred ? FEXPR_LOG_OUTPUT : 0, &fc.e, err);
    if (rc)
        goto out;
    for (size_t j = 0; j < k; j++)
        if (!fexpr_uses_param(fc.e, j)) {
            rc = assay_error_set(err, ASSAY_EINVAL,
                                 "parameter '%s' does not appear in the law",
                                 pn[j]);
            goto out;
        }
    for (size_t v = 0; v < s->nvars; v++)
        if (!fexpr_uses_var(fc.e, v))
            h->log(h, ASSAY_LOG_WARN,
                   "variable '%s' does not appear in the law", vn[v]);
    int ev = -1;
    if (s->extrap_var) {
        for (size_t v = 0; v < s->nvars; v++)
            if (strcmp(s->extrap_var, vn[v]) == 0)
                ev = (int)v;
        if (ev < 0) {
            rc = assay_error_set(err, ASSAY_EINVAL,
                                 "option 'extrapolate_by': '%s' is not one "
                                 "of the law's variables",
                                 s->extrap_var);
            goto out;
        }
    }

    const assay_table *t = h->in_table(io, "data");
    if (!t) {
        rc = assay_error_set(err, ASSAY_EINVAL, "input 'data' is missing");
        goto out;
    }
    if ((rc = read_data(s, t, fc.e, &c, err)))
        goto out;
    if ((rc = fexpr_bind(fc.e, (const double *const *)c.x, c.n, &d, err)) ||
        (rc = drop_largest(s, &c, &d, err)))
        goto out;
    if (c.n < k) {
        rc = assay_error_set(err, ASSAY_EDATA,
                             "%zu points for %zu parameters: a fit needs at "
                             "least as many points as parameters",
                             c.n, k);
        goto out;
    }

    ffit_options_default(&fc.opt, s->method);
    fc.opt.screen.ftol_rel = s->screen_ftol;
    fc.opt.npolish = (size_t)s->polish;
    fc.opt.threads = h->threads ? h->threads(h) : 1;
    fc.opt.cancelled = cb_cancelled;
    fc.opt.progress = cb_progress;
    fc.opt.ud = (void *)h;

    /* the main fit */
    double f;
    ffit_result res;
    if ((rc = fit_subset(&fc, d, &c, NULL, c.n, p, &f, &res, err)))
        goto out;
    free(res.p);

    out = json_object();
    if (!out)
        goto oom;
    json_object_set_new(out, "law", json_string(s->law));
    char *ft = fitted_text(s, p);
    if (ft) {
        json_object_set_new(out, "fitted_law", json_string(ft));
        json_object_set_new(out, "fitted_formula", json_string(ft));
        h->log(h, ASSAY_LOG_INFO, "fitted law: %s", ft);
        free(ft);
    }
    json_object_set_new(out, "target", json_string(s->target));
    json_object_set_new(out, "space",
                        json_string(s->log_target ? "log" : "raw"));
    json_object_set_new(
        out, "loss",
        json_string(s->loss == FEXPR_LOSS_HUBER ? "huber" : "lsq"));
    if (s->loss == FEXPR_LOSS_HUBER)
        json_object_set_new(out, "delta", json_real(s->delta));
    json_object_set_new(out, "method",
                        json_string(s->method == FFIT_LM ? "lm" : "lbfgs"));
    json_object_set_new(out, "objective", flaw_num(f));
    json_object_set_new(out, "n_points", json_integer((json_int_t)c.n));
    json_object_set_new(out, "n_starts",
                        json_integer((json_int_t)res.n_starts));
    json_object_set_new(out, "n_finite_starts",
                        json_integer((json_int_t)res.n_finite));
    json_object_set_new(out, "best_start",
                        json_integer((json_int_t)res.best_start));

    double cond;
    if ((rc = jacobian_se(&fc, d, &c, p, se, warn, &cond)))
        goto oom;
    json_object_set_new(out, "condition_number", flaw_num(cond));
    for (size_t j = 0; j < k; j++) {
        double lo = fc.lo[j], hi = fc.hi[j];
        double tol = 1e-6 * fmax(1.0, fabs(p[j]));
        const char *which = isfinite(lo) && p[j] - lo <= tol   ? "lower"
                            : isfinite(hi) && hi - p[j] <= tol ? "upper"
                                                               : NULL;
        if (which) {
            char msg[256];
            snprintf(msg, sizeof msg,
                     "parameter '%s' = %g sits on its %s bound: the optimum "
                     "may lie outside the allowed range",
                     pn[j], p[j], which);
            json_array_append_new(warn, json_string(msg));
        }
    }

    /* bootstrap */
    size_t B = (size_t)s->bootstrap;
    if (B > 0) {
        boot = malloc((B * k + 1) * sizeof *boot);
        if (!boot)
            goto oom;
        if ((rc = run_bootstrap(&fc, d, &c, p, boot, err)))
            goto out;
    }
    json_t *pj = json_object();
    double *col = malloc((B + 1) * sizeof *col);
    if (!pj || !col) {
        json_decref(pj);
        free(col);
        goto oom;
    }
    size_t nfail = 0;
    for (size_t r = 0; r < B; r++)
        nfail += !isfinite(boot[r * k]);
    for (size_t j = 0; j < k; j++) {
        json_t *o = json_object();
        json_object_set_new(o, "value", json_real(p[j]));
        json_object_set_new(o, "se", flaw_num(se[j]));
        if (B > 0) {
            size_t m = 0;
            for (size_t r = 0; r < B; r++)
                if (isfinite(boot[r * k + j]))
                    col[m++] = boot[r * k + j];
            double lo, hi;
            json_object_set_new(o, "bootstrap_se", flaw_num(fstat_sd(col, m)));
            fstat_percentile_ci(col, m, s->ci, &lo, &hi);
            json_t *ci = json_array();
            json_array_append_new(ci, flaw_num(lo));
            json_array_append_new(ci, flaw_num(hi));
            json_object_set_new(o, "ci", ci);
        }
        if (isfinite(fc.lo[j]))
            json_object_set_new(o, "min", json_real(fc.lo[j]));
        if (isfinite(fc.hi[j]))
            json_object_set_new(o, "max", json_real(fc.hi[j]));
        json_object_set_new(pj, pn[j], o);
    }
    free(col);
    json_object_set_new(out, "params", pj);
    if (B > 0) {
        json_t *bj = json_object();
        json_object_set_new(bj, "resamples", json_integer((json_int_t)B));
        json_object_set_new(bj, "failed", json_integer((json_int_t)nfail));
        json_object_set_new(bj, "level", json_real(s->ci));
        json_object_set_new(bj, "method",
                            json_string("percentile; each resample refitted "
                                        "from the full-data optimum"));
        json_object_set_new(out, "bootstrap", bj);
    }

    /* goodness of fit, hold-out and extrapolation */
    json_t *fit = json_object();
    fstat_gof g;
    if (gof_on(&fc, d, &c, NULL, c.n, p, &g))
        goto oom_fit;
    json_object_set_new(fit, "in_sample", gof_json(&g));
    idx = malloc((c.n + 1) * sizeof *idx);
    held = calloc(c.n + 1, 1);
    if (!idx || !held)
        goto oom_fit;
    size_t nh = (size_t)floor(s->holdout * (double)c.n + 0.5);
    if (nh > 0 && c.n - nh >= k) {
        assay_rng rng;
        assay_rng_init(&rng, h->seed ? h->seed(h, "holdout") : 0);
        for (size_t i = 0; i < c.n; i++)
            idx[i] = i;
        assay_rng_shuffle(&rng, idx, c.n, sizeof *idx);
        for (size_t i = 0; i < nh; i++)
            held[idx[i]] = 1;
        size_t m = 0;
        for (size_t i = 0; i < c.n; i++)
            if (!held[i])
                idx[m++] = i;
        for (size_t i = 0; i < c.n; i++)
            if (held[i])
                idx[m++] = i;
        double *ph = calloc(k + 1, sizeof *ph), fh;
        if (!ph)
            goto oom_fit;
        rc = fit_subset(&fc, d, &c, idx, c.n - nh, ph, &fh, NULL, err);
        if (!rc && gof_on(&fc, d, &c, idx + (c.n - nh), nh, ph, &g) == 0) {
            json_t *hj = gof_json(&g);
            json_object_set_new(hj, "n_train",
                                json_integer((json_int_t)(c.n - nh)));
            json_object_set_new(fit, "holdout", hj);
        }
        free(ph);
        if (rc) {
            json_decref(fit);
            goto out;
        }
    } else if (nh > 0) {
        json_array_append_new(warn,
                              json_string("too few points for the hold-out "
                                          "check: skipped"));
    }
    if (ev >= 0) {
        /* sort by the variable; the largest extrap_frac are predicted */
        const double *xv = c.x[ev];
        for (size_t i = 0; i < c.n; i++)
            idx[i] = i;
        for (size_t i = 1; i < c.n; i++) { /* stable insertion sort */
            size_t v = idx[i], j = i;
            while (j > 0 && xv[idx[j - 1]] > xv[v]) {
                idx[j] = idx[j - 1];
                j--;
            }
            idx[j] = v;
        }
        size_t nt = (size_t)floor(s->extrap_frac * (double)c.n + 0.5);
        /* never split points that share the value */
        while (nt > 0 && nt < c.n && xv[idx[c.n - nt - 1]] == xv[idx[c.n - nt]])
            nt--;
        if (nt == 0 || c.n - nt < k) {
            json_array_append_new(warn,
                                  json_string("too few distinct points for the "
                                              "extrapolation check: skipped"));
        } else {
            double *pe = calloc(k + 1, sizeof *pe), fe;
            if (!pe)
                goto oom_fit;
            rc = fit_subset(&fc, d, &c, idx, c.n - nt, pe, &fe, NULL, err);
            if (!rc && gof_on(&fc, d, &c, idx + (c.n - nt), nt, pe, &g) == 0) {
                json_t *ej = gof_json(&g);
                json_object_set_new(ej, "by", json_string(vn[ev]));
                json_object_set_new(ej, "n_train",
                                    json_integer((json_int_t)(c.n - nt)));
                json_object_set_new(ej, "train_max",
                                    json_real(xv[idx[c.n - nt - 1]]));
                json_object_set_new(ej, "test_min",
                                    json_real(xv[idx[c.n - nt]]));
                json_t *pe_j = json_object();
                for (size_t j = 0; j < k; j++)
                    json_object_set_new(pe_j, pn[j], json_real(pe[j]));
                json_object_set_new(ej, "params", pe_j);
                json_object_set_new(fit, "extrapolation", ej);
            }
            free(pe);
            if (rc) {
                json_decref(fit);
                goto out;
            }
        }
    }
    json_object_set_new(out, "fit", fit);

    if (extra) {
        flaw_fit ff = {.spec = s,
                       .p = p,
                       .se = se,
                       .boot = boot,
                       .nboot = B,
                       .n = c.n,
                       .warnings = warn};
        if ((rc = extra(&ff, out, ud, err)))
            goto out;
    }
    json_object_set_new(out, "warnings", warn);
    warn = NULL;
    json_t *wl = json_object_get(out, "warnings");
    for (size_t i = 0; i < json_array_size(wl); i++)
        h->log(h, ASSAY_LOG_WARN, "%s",
               json_string_value(json_array_get(wl, i)));

    if ((rc = make_points(&fc, &c, d, p, nh > 0 ? held : NULL, &pts, err)))
        goto out;
    if ((rc = make_curve(&fc, &c, p, &curve, err)))
        goto out;
    rc = h->out_json(io, "params", out, err);
    out = NULL;
    if (rc)
        goto out;
    rc = h->out_table(io, "points", pts, err);
    pts = NULL;
    if (rc)
        goto out;
    rc = h->out_table(io, "curve", curve, err);
    curve = NULL;
    goto out;
oom_fit:
    json_decref(fit);
oom:
    rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
out:
    if (pts)
        h->table_free(pts);
    if (curve)
        h->table_free(curve);
    json_decref(out);
    json_decref(warn);
    cols_free(&c, s->nvars);
    fexpr_data_free(d);
    fexpr_free(fc.e);
    free(fc.lo);
    free(fc.hi);
    free(fc.gvals);
    free(fc.glen);
    free(vn);
    free(pn);
    free(p);
    free(se);
    free(boot);
    free(idx);
    free(held);
    return rc;
}
