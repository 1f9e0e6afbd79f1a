/*
 * classification.c - the metric.classification plugin: accuracy, ROC AUC,
 * group AUC, Cohen's kappa, Spearman rho, Kendall tau-b and Pearson r,
 * each with an optional seeded percentile-bootstrap confidence interval.
 */
#include <assay/plugin.h>

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clscore.h"
#include "statcommon.h"

enum {
    M_ACCURACY = 0,
    M_AUC,
    M_GAUC,
    M_KAPPA,
    M_SPEARMAN,
    M_KENDALL,
    M_PEARSON,
    M_COUNT
};

static const char *const metric_names[M_COUNT] = {
    "accuracy", "auc", "gauc", "kappa", "spearman", "kendall", "pearson"};

typedef struct cls_state {
    const assay_host *host;
    char *label_field, *pred_field, *score_field, *group_field;
    bool want[M_COUNT];
    bool automatic;
    cl_weights weights;
    int64_t bootstrap;
    double ci;
} cls_state;

/* Everything one evaluation needs, per row. */
typedef struct cls_data {
    size_t n;
    size_t *tid, *pid;   /* label ids (sorted-label positions) */
    size_t nlab;
    double *truth;       /* numeric truth (AUC positives, correlations) */
    bool *pos;           /* truth > 0 */
    double *score;
    size_t *gid;         /* group ids */
    size_t ng;
    double *gauc_g;      /* per-group AUC */
    size_t *gauc_n;      /* per-group size */
    cl_weights weights;
    unsigned threads;
} cls_data;

static const assay_port cls_inputs[] = {
    {.name = "items", .type = ASSAY_T_ANY, .required = true,
     .doc = "records or table: truth label, and a predicted label and/or "
            "a score per item (and a group id for gauc)"},
    {0}};

static const assay_port cls_outputs[] = {
    {.name = "summary", .type = ASSAY_T_JSON,
     .doc = "each metric's value (null when undefined) and, with "
            "bootstrap, its confidence interval", .chart = "bar"},
    {.name = "items", .type = ASSAY_T_RECORDS,
     .doc = "per-group AUC records {group, n, auc, included} when gauc is "
            "computed, else empty", .chart = "hist"},
    {0}};

static const assay_option cls_options[] = {
    {.name = "metrics", .type = ASSAY_OPT_LIST, .def = "[]",
     .doc = "any of accuracy, auc, gauc, kappa, spearman, kendall, pearson; "
            "empty: every metric the present fields allow"},
    {.name = "label_field", .type = ASSAY_OPT_STRING, .def = "\"label\"",
     .doc = "truth: a class label, a 0/1 (or >0 positive) outcome, or the "
            "first variable x of the correlations"},
    {.name = "pred_field", .type = ASSAY_OPT_STRING, .def = "\"pred\"",
     .doc = "predicted label (accuracy, kappa)"},
    {.name = "score_field", .type = ASSAY_OPT_STRING, .def = "\"score\"",
     .doc = "predicted score (auc, gauc) or the second variable y of the "
            "correlations"},
    {.name = "group_field", .type = ASSAY_OPT_STRING, .def = "\"user\"",
     .doc = "group (user) id for gauc"},
    {.name = "kappa_weights", .type = ASSAY_OPT_ENUM, .def = "\"none\"",
     .choices = "none|linear|quadratic",
     .doc = "Cohen's kappa disagreement weights on the sorted label set"},
    {.name = "bootstrap", .type = ASSAY_OPT_INT, .def = "0", .has_min = true,
     .min = 0, .has_max = true, .max = 1000000,
     .doc = "bootstrap resamples for confidence intervals (0: none)"},
    {.name = "ci", .type = ASSAY_OPT_FLOAT, .def = "0.95", .has_min = true,
     .min = 0.5, .has_max = true, .max = 0.999999,
     .doc = "confidence level of the percentile bootstrap interval"},
    {0}};

static void cls_destroy(void *state)
{
    cls_state *s = state;
    if (!s)
        return;
    free(s->label_field);
    free(s->pred_field);
    free(s->score_field);
    free(s->group_field);
    free(s);
}

static int cls_create(const assay_host *host, const json_t *opts,
                      void **state, assay_error *err)
{
    int rc;
    cls_state *s = calloc(1, sizeof *s);
    if (!s)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    s->host = host;
    s->label_field = strdup(assay_opt_str(opts, "label_field"));
    s->pred_field = strdup(assay_opt_str(opts, "pred_field"));
    s->score_field = strdup(assay_opt_str(opts, "score_field"));
    s->group_field = strdup(assay_opt_str(opts, "group_field"));
    if (!s->label_field || !s->pred_field || !s->score_field ||
        !s->group_field) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto fail;
    }
    const json_t *ms = json_object_get(opts, "metrics");
    size_t i;
    const json_t *m;
    s->automatic = json_array_size(ms) == 0;
    json_array_foreach(ms, i, m)
    {
        const char *name = json_string_value(m);
        int k = -1;
        for (int j = 0; name && j < M_COUNT; j++)
            if (strcmp(name, metric_names[j]) == 0)
                k = j;
        if (k < 0) {
            rc = assay_error_set(err, ASSAY_EINVAL,
                                 "option 'metrics': element %zu: unknown "
                                 "metric (expected accuracy, auc, gauc, "
                                 "kappa, spearman, kendall or pearson)",
                                 i);
            goto fail;
        }
        s->want[k] = true;
    }
    const char *w = assay_opt_str(opts, "kappa_weights");
    s->weights = strcmp(w, "linear") == 0      ? CL_W_LINEAR
                 : strcmp(w, "quadratic") == 0 ? CL_W_QUADRATIC
                                               : CL_W_NONE;
    s->bootstrap = assay_opt_int(opts, "bootstrap");
    s->ci = assay_opt_num(opts, "ci");
    *state = s;
    return ASSAY_OK;
fail:
    cls_destroy(s);
    return rc;
}

/* ---- labels ------------------------------------------------------------------- */

/* Canonical text of a label value (integral numbers without ".0"). */
static int label_text(double v, char *buf, size_t size)
{
    if (v == floor(v) && fabs(v) < 9e15)
        return snprintf(buf, size, "%" PRId64, (int64_t)v);
    return snprintf(buf, size, "%.17g", v);
}

/*
 * Read a label field as canonical strings (numbers formatted, booleans as
 * true/false) into k (is_str, owned).  *numeric is set when every label
 * is a number (then nums[] holds the values, caller frees).
 */
static int read_labels(const sc_input *in, const char *field, sc_keys *k,
                       double **nums, bool *numeric, assay_error *err)
{
    size_t n = in->n;
    memset(k, 0, sizeof *k);
    k->n = n;
    k->is_str = true;
    k->own_s = malloc((n ? n : 1) * sizeof *k->own_s);
    k->arena = malloc(n * 32 + 1);
    *nums = malloc((n ? n : 1) * sizeof **nums);
    *numeric = true;
    if (!k->own_s || !k->arena || !*nums) {
        free(*nums);
        *nums = NULL;
        sc_keys_free(k);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    k->s = k->own_s;
    size_t off = 0;
    const assay_column *c = in->tab ? assay_table_col(in->tab, field) : NULL;
    if (in->tab && !c) {
        free(*nums);
        *nums = NULL;
        sc_keys_free(k);
        return assay_error_set(err, ASSAY_EDATA,
                               "input '%s': table has no column '%s'",
                               in->port, field);
    }
    for (size_t r = 0; r < n; r++) {
        const char *txt = NULL;
        double v = NAN;
        bool isnum = false;
        if (c) {
            if (c->type == ASSAY_COL_STRING) {
                txt = assay_col_str(c)[r];
                if (!txt)
                    goto missing;
            } else {
                v = assay_col_num(c, r);
                isnum = true;
                if (!isfinite(v))
                    goto notfinite;
            }
        } else {
            json_t *j = NULL;
            int rc = assay_rec_get(json_array_get(in->recs, r), r, field, &j,
                                   err);
            if (rc) {
                sc_error_port(err, in->port);
                free(*nums);
                *nums = NULL;
                sc_keys_free(k);
                return rc;
            }
            if (json_is_string(j)) {
                txt = json_string_value(j);
            } else if (json_is_number(j)) {
                v = json_number_value(j);
                isnum = true;
                if (!isfinite(v))
                    goto notfinite;
            } else if (json_is_boolean(j)) {
                v = json_is_true(j) ? 1.0 : 0.0;
                txt = json_is_true(j) ? "true" : "false";
                isnum = true;
            } else {
                goto missing;
            }
        }
        if (isnum) {
            (*nums)[r] = v;
            if (!txt) {
                int w = label_text(v, k->arena + off, 32);
                txt = k->arena + off;
                off += (size_t)w + 1;
            }
        } else {
            *numeric = false;
            (*nums)[r] = NAN;
        }
        k->own_s[r] = txt;
        continue;
    missing:
        free(*nums);
        *nums = NULL;
        sc_keys_free(k);
        return assay_error_set(err, ASSAY_EDATA,
                               "input '%s': %s %zu: field '%s': expected a "
                               "label (string, number or boolean)",
                               in->port, c ? "row" : "record", r, field);
    notfinite:
        free(*nums);
        *nums = NULL;
        sc_keys_free(k);
        return assay_error_set(err, ASSAY_EDATA,
                               "input '%s': %s %zu: field '%s': not a finite "
                               "number",
                               in->port, c ? "row" : "record", r, field);
    }
    return ASSAY_OK;
}

typedef struct lab_sort {
    const sc_keymap *m;
    const double *num; /* per label id, or NULL: string order */
} lab_sort;

static int cmp_lab(const void *a, const void *b, void *arg)
{
    const lab_sort *ls = arg;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    if (ls->num) {
        double u = ls->num[x], v = ls->num[y];
        return (u > v) - (u < v);
    }
    return strcmp(ls->m->sval[x], ls->m->sval[y]);
}

/* Map truth and prediction labels to positions in their sorted union. */
static int label_ids(const sc_keys *t, const double *tn, const sc_keys *p,
                     const double *pn, bool numeric, cls_data *d,
                     assay_error *err)
{
    sc_keymap m;
    int rc = sc_keymap_init(&m, true, 64, err);
    if (rc)
        return rc;
    size_t n = t->n;
    size_t *order = NULL, *posof = NULL;
    double *lnum = NULL;
    for (size_t r = 0; r < n && !rc; r++) {
        rc = sc_keymap_intern(&m, t, r, &d->tid[r], NULL, err);
        if (!rc)
            rc = sc_keymap_intern(&m, p, r, &d->pid[r], NULL, err);
    }
    if (rc)
        goto done;
    size_t L = m.n;
    order = malloc((L + 1) * sizeof *order);
    posof = malloc((L + 1) * sizeof *posof);
    lnum = malloc((L + 1) * sizeof *lnum);
    if (!order || !posof || !lnum) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t id = 0; id < L; id++) {
        order[id] = id;
        size_t r = m.first[id];
        /* the first sighting is in t or p: find its number */
        lnum[id] = strcmp(t->s[r], m.sval[id]) == 0 ? tn[r] : pn[r];
    }
    lab_sort ls = {&m, numeric ? lnum : NULL};
    qsort_r(order, L, sizeof *order, cmp_lab, &ls);
    for (size_t i = 0; i < L; i++)
        posof[order[i]] = i;
    for (size_t r = 0; r < n; r++) {
        d->tid[r] = posof[d->tid[r]];
        d->pid[r] = posof[d->pid[r]];
    }
    d->nlab = L;
done:
    free(order);
    free(posof);
    free(lnum);
    sc_keymap_free(&m);
    return rc;
}

/* ---- metric evaluation on a (re)sample ----------------------------------- */

typedef struct cls_scratch {
    size_t cap;
    size_t *idx, *iscr, *tid, *pid;
    double *a, *b, *dscr, *conf;
    bool *pos;
    size_t ccap;
} cls_scratch;

static void scratch_free(cls_scratch *s)
{
    free(s->idx);
    free(s->iscr);
    free(s->tid);
    free(s->pid);
    free(s->a);
    free(s->b);
    free(s->dscr);
    free(s->conf);
    free(s->pos);
    memset(s, 0, sizeof *s);
}

static int scratch_reserve(cls_scratch *s, size_t n, size_t L)
{
    if (n > s->cap) {
        scratch_free(s);
        s->idx = malloc(n * sizeof *s->idx);
        s->iscr = malloc(3 * n * sizeof *s->iscr);
        s->tid = malloc(n * sizeof *s->tid);
        s->pid = malloc(n * sizeof *s->pid);
        s->a = malloc(n * sizeof *s->a);
        s->b = malloc(n * sizeof *s->b);
        s->dscr = malloc(4 * n * sizeof *s->dscr);
        s->pos = malloc(n * sizeof *s->pos);
        if (!s->idx || !s->iscr || !s->tid || !s->pid || !s->a || !s->b ||
            !s->dscr || !s->pos)
            return ASSAY_ENOMEM;
        s->cap = n;
    }
    if (L * L > s->ccap) {
        free(s->conf);
        s->conf = malloc(L * L * sizeof *s->conf);
        if (!s->conf)
            return ASSAY_ENOMEM;
        s->ccap = L * L;
    }
    return ASSAY_OK;
}

/*
 * Metric m on the rows idx[0..n) (idx NULL: all rows in order; for gauc,
 * idx lists groups).  NaN when undefined.
 */
static int cls_eval(const cls_data *d, int m, const size_t *idx, size_t n,
                    cls_scratch *s, unsigned threads, double *out)
{
    size_t L = d->nlab;
    if (scratch_reserve(s, n ? n : 1, L ? L : 1))
        return ASSAY_ENOMEM;
#define ROW(i) (idx ? idx[i] : (i))
    switch (m) {
    case M_ACCURACY: {
        size_t ok = 0;
        for (size_t i = 0; i < n; i++)
            ok += d->tid[ROW(i)] == d->pid[ROW(i)];
        *out = n ? (double)ok / (double)n : NAN;
        return ASSAY_OK;
    }
    case M_KAPPA:
        memset(s->conf, 0, L * L * sizeof *s->conf);
        for (size_t i = 0; i < n; i++)
            s->conf[d->tid[ROW(i)] * L + d->pid[ROW(i)]] += 1.0;
        *out = cl_kappa_conf(s->conf, L, d->weights);
        return ASSAY_OK;
    case M_AUC:
        if (!idx)
            return cl_auc(d->score, d->pos, n, threads, out) ? ASSAY_ENOMEM
                                                             : ASSAY_OK;
        for (size_t i = 0; i < n; i++) {
            s->a[i] = d->score[idx[i]];
            s->pos[i] = d->pos[idx[i]];
        }
        if (n > 100000)
            return cl_auc(s->a, s->pos, n, 1, out) ? ASSAY_ENOMEM : ASSAY_OK;
        *out = cl_auc_small(s->a, s->pos, n, s->dscr);
        return ASSAY_OK;
    case M_GAUC: {
        double num = 0, den = 0;
        for (size_t i = 0; i < n; i++) {
            size_t g = ROW(i);
            if (isnan(d->gauc_g[g]))
                continue;
            num += (double)d->gauc_n[g] * d->gauc_g[g];
            den += (double)d->gauc_n[g];
        }
        *out = den > 0 ? num / den : NAN;
        return ASSAY_OK;
    }
    default:
        break;
    }
    const double *x = d->truth, *y = d->score;
    if (idx) {
        for (size_t i = 0; i < n; i++) {
            s->a[i] = d->truth[idx[i]];
            s->b[i] = d->score[idx[i]];
        }
        x = s->a;
        y = s->b;
    }
    if (m == M_PEARSON)
        *out = cl_pearson(x, y, n);
    else if (m == M_SPEARMAN)
        *out = cl_spearman(x, y, n, s->dscr, s->iscr);
    else
        *out = cl_kendall_b(x, y, n, s->dscr, s->iscr);
    return ASSAY_OK;
#undef ROW
}

/* ---- bootstrap ------------------------------------------------------------------ */

typedef struct boot_job {
    const cls_data *d;
    int metric;
    size_t n;          /* rows (or groups for gauc) resampled */
    uint64_t seed;
    double *vals;      /* per replicate */
    cls_scratch *ws;   /* per worker */
} boot_job;

static int boot_task(void *arg, size_t b, size_t e, unsigned worker,
                     assay_error *err)
{
    boot_job *j = arg;
    cls_scratch *s = &j->ws[worker];
    for (size_t rep = b; rep < e; rep++) {
        if (scratch_reserve(s, j->n ? j->n : 1, j->d->nlab ? j->d->nlab : 1))
            return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        /* one generator per replicate: results do not depend on threads */
        uint64_t x = j->seed + (uint64_t)rep * 0x9e3779b97f4a7c15ULL;
        assay_rng rng;
        assay_rng_init(&rng, assay_splitmix64(&x));
        for (size_t i = 0; i < j->n; i++)
            s->idx[i] = (size_t)assay_rng_below(&rng, j->n);
        /* cls_eval leaves s->idx alone (the reserve above sized all) */
        int rc = cls_eval(j->d, j->metric, s->idx, j->n, s, 1,
                          &j->vals[rep]);
        if (rc)
            return assay_error_set(err, rc, "out of memory");
    }
    return ASSAY_OK;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Percentile interval of metric m over B resamples: *lo, *hi (NaN when
 * no replicate is defined), *valid = defined replicates. */
static int bootstrap_ci(const cls_state *st, const cls_data *d, int m,
                        size_t n, double *lo, double *hi, size_t *valid,
                        assay_error *err)
{
    const assay_host *h = st->host;
    size_t B = (size_t)st->bootstrap;
    unsigned T = h->threads(h);
    boot_job j = {.d = d, .metric = m, .n = n};
    char label[48];
    snprintf(label, sizeof label, "bootstrap.%s", metric_names[m]);
    j.seed = h->seed(h, label);
    j.vals = malloc(B * sizeof *j.vals);
    j.ws = calloc(T ? T : 1, sizeof *j.ws);
    if (!j.vals || !j.ws) {
        free(j.vals);
        free(j.ws);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    int rc = sc_parallel(h, T, B, 1, boot_task, &j, err);
    size_t w = 0;
    for (size_t b = 0; b < B && !rc; b++)
        if (isfinite(j.vals[b]))
            j.vals[w++] = j.vals[b];
    if (!rc) {
        qsort(j.vals, w, sizeof *j.vals, cmp_dbl);
        double a = (1.0 - st->ci) / 2.0;
        *lo = sc_quantile_sorted(j.vals, w, a);
        *hi = sc_quantile_sorted(j.vals, w, 1.0 - a);
        *valid = w;
    }
    for (unsigned t = 0; t < T; t++)
        scratch_free(&j.ws[t]);
    free(j.ws);
    free(j.vals);
    return rc;
}

/* ---- run ------------------------------------------------------------------------- */

static void data_free(cls_data *d)
{
    free(d->tid);
    free(d->pid);
    free(d->truth);
    free(d->pos);
    free(d->score);
    free(d->gid);
    free(d->gauc_g);
    free(d->gauc_n);
}

static int cls_items(const sc_keys *gk, const sc_keymap *gm,
                     const cls_data *d, json_t **out, assay_error *err)
{
    json_t *arr = json_array();
    if (!arr)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    for (size_t g = 0; gk && g < d->ng; g++) {
        json_t *o = json_object();
        if (!o || json_array_append_new(arr, o) ||
            sc_json_set(o, "group", sc_keys_json(gk, gm->first[g]), err) ||
            sc_json_set(o, "n", json_integer((json_int_t)d->gauc_n[g]),
                        err) ||
            sc_json_set(o, "auc", sc_json_num(d->gauc_g[g]), err) ||
            sc_json_set(o, "included", json_boolean(!isnan(d->gauc_g[g])),
                        err)) {
            json_decref(arr);
            return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        }
    }
    *out = arr;
    return ASSAY_OK;
}

static int cls_run(void *state, assay_io *io, assay_error *err)
{
    cls_state *s = state;
    const assay_host *h = s->host;
    sc_input in;
    cls_data d;
    sc_keys tl = {0}, pl = {0}, gk = {0};
    sc_keymap gm;
    double *tnum = NULL, *pnum = NULL;
    json_t *summary = NULL, *items = NULL;
    cls_scratch ws = {0};
    bool want[M_COUNT];
    int rc;

    memset(&d, 0, sizeof d);
    memset(&gm, 0, sizeof gm);
    rc = sc_input_get(h, io, "items", true, &in, err);
    if (rc)
        return rc;
    size_t n = in.n;
    bool has_label = sc_input_has(&in, s->label_field);
    bool has_pred = sc_input_has(&in, s->pred_field);
    bool has_score = sc_input_has(&in, s->score_field);
    bool has_group = sc_input_has(&in, s->group_field);
    memcpy(want, s->want, sizeof want);
    d.n = n;
    d.weights = s->weights;
    d.threads = h->threads(h);

    /* labels: numeric truth when possible */
    bool tnumeric = false, pnumeric = false;
    if (has_label || !s->automatic) {
        rc = read_labels(&in, s->label_field, &tl, &tnum, &tnumeric, err);
        if (rc)
            goto done;
    }
    if (s->automatic) {
        bool binary = tnumeric;
        for (size_t r = 0; r < n && binary; r++)
            binary = tnum[r] == 0 || tnum[r] == 1;
        want[M_ACCURACY] = want[M_KAPPA] = has_label && has_pred;
        want[M_AUC] = has_label && has_score && binary;
        want[M_GAUC] = want[M_AUC] && has_group;
        want[M_PEARSON] = want[M_SPEARMAN] = want[M_KENDALL] =
            has_label && has_score && tnumeric && !binary;
    }
    bool need_pred = want[M_ACCURACY] || want[M_KAPPA];
    bool need_score = want[M_AUC] || want[M_GAUC] || want[M_PEARSON] ||
                      want[M_SPEARMAN] || want[M_KENDALL];
    bool need_num = need_score;
    if (need_num && !tnumeric) {
        rc = assay_error_set(err, ASSAY_EDATA,
                             "input 'items': field '%s' must be numeric for "
                             "auc, gauc and the correlations",
                             s->label_field);
        goto done;
    }
    d.tid = malloc((n ? n : 1) * sizeof *d.tid);
    d.pid = malloc((n ? n : 1) * sizeof *d.pid);
    d.pos = malloc((n ? n : 1) * sizeof *d.pos);
    d.score = malloc((n ? n : 1) * sizeof *d.score);
    if (!d.tid || !d.pid || !d.pos || !d.score) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    if (need_pred) {
        rc = read_labels(&in, s->pred_field, &pl, &pnum, &pnumeric, err);
        if (rc)
            goto done;
        rc = label_ids(&tl, tnum, &pl, pnum, tnumeric && pnumeric, &d, err);
        if (rc)
            goto done;
    }
    if (need_score) {
        rc = sc_input_nums(&in, s->score_field, true, d.score, err);
        if (rc)
            goto done;
        for (size_t r = 0; r < n; r++)
            d.pos[r] = tnum[r] > 0;
        d.truth = tnum;
        tnum = NULL;
    }
    if (want[M_GAUC]) {
        rc = sc_input_keys(&in, s->group_field, &gk, err);
        if (rc)
            goto done;
        rc = sc_keymap_init(&gm, gk.is_str, 1024, err);
        d.gid = malloc((n ? n : 1) * sizeof *d.gid);
        if (!rc && !d.gid)
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        for (size_t r = 0; r < n && !rc; r++)
            rc = sc_keymap_intern(&gm, &gk, r, &d.gid[r], NULL, err);
        if (rc)
            goto done;
        d.ng = gm.n;
        d.gauc_g = malloc((d.ng + 1) * sizeof *d.gauc_g);
        d.gauc_n = malloc((d.ng + 1) * sizeof *d.gauc_n);
        double gv;
        size_t inc;
        if (!d.gauc_g || !d.gauc_n ||
            cl_gauc(d.gid, d.ng, d.score, d.pos, n, d.gauc_g, d.gauc_n, &gv,
                    &inc)) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto done;
        }
    }

    summary = json_object();
    if (!summary) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    rc = sc_json_set(summary, "n", json_integer((json_int_t)n), err);
    for (int m = 0; m < M_COUNT && !rc; m++) {
        if (!want[m])
            continue;
        double v;
        size_t units = m == M_GAUC ? d.ng : n;
        rc = cls_eval(&d, m, NULL, units, &ws, d.threads, &v);
        if (rc) {
            rc = assay_error_set(err, rc, "out of memory");
            break;
        }
        rc = sc_json_set(summary, metric_names[m], sc_json_num(v), err);
        if (!rc && m == M_GAUC) {
            size_t inc = 0;
            for (size_t g = 0; g < d.ng; g++)
                inc += !isnan(d.gauc_g[g]);
            rc = sc_json_set(summary, "gauc_groups",
                             json_integer((json_int_t)inc), err);
        }
        if (!rc && m == M_KAPPA)
            rc = sc_json_set(summary, "kappa_weights",
                             json_string(s->weights == CL_W_LINEAR ? "linear"
                                         : s->weights == CL_W_QUADRATIC
                                             ? "quadratic"
                                             : "none"),
                             err);
        if (!rc && s->bootstrap > 0) {
            double lo = NAN, hi = NAN;
            size_t valid = 0;
            rc = bootstrap_ci(s, &d, m, units, &lo, &hi, &valid, err);
            if (rc)
                break;
            char key[64];
            json_t *ci = json_array();
            if (ci) {
                json_array_append_new(ci, sc_json_num(lo));
                json_array_append_new(ci, sc_json_num(hi));
            }
            snprintf(key, sizeof key, "%s_ci", metric_names[m]);
            rc = sc_json_set(summary, key, ci, err);
            snprintf(key, sizeof key, "%s_ci_resamples", metric_names[m]);
            if (!rc)
                rc = sc_json_set(summary, key,
                                 json_integer((json_int_t)valid), err);
        }
    }
    if (!rc && s->bootstrap > 0)
        rc = sc_json_set(summary, "bootstrap",
                         json_integer((json_int_t)s->bootstrap), err);
    if (!rc && s->bootstrap > 0)
        rc = sc_json_set(summary, "ci", json_real(s->ci), err);
    if (rc)
        goto done;
    rc = cls_items(want[M_GAUC] ? &gk : NULL, &gm, &d, &items, err);
    if (rc)
        goto done;
    rc = h->out_json(io, "summary", summary, err);
    summary = NULL;
    if (rc)
        goto done;
    rc = h->out_records(io, "items", items, err);
    items = NULL;
done:
    json_decref(summary);
    json_decref(items);
    scratch_free(&ws);
    data_free(&d);
    free(tnum);
    free(pnum);
    sc_keys_free(&tl);
    sc_keys_free(&pl);
    sc_keys_free(&gk);
    sc_keymap_free(&gm);
    return rc;
}

static const assay_plugin cls_plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "metric.classification",
    .kind = "metric",
    .version = "1.0.0",
    .summary = "Accuracy, ROC AUC, group AUC, Cohen's kappa, Spearman, "
               "Kendall tau-b, Pearson, with bootstrap intervals",
    .doc =
        "Classification and correlation statistics over items (records or "
        "a table), matching scikit-learn 1.2 and scipy 1.10.\n"
        "\n"
        "Fields: label_field (truth), pred_field (predicted label), "
        "score_field (predicted score), group_field (user id).\n"
        "- accuracy: share of items whose predicted label equals the truth "
        "(labels compared as text; numbers in canonical form, so 1 and 1.0 "
        "agree); sklearn accuracy_score.\n"
        "- auc: ROC AUC of score against truth (truth > 0 is positive): "
        "the probability that a positive outscores a negative, ties "
        "counting 1/2, as sklearn roc_auc_score; null with one class.\n"
        "- gauc: per-group AUC weighted by the group's item count, over "
        "groups having both classes (DIN, Zhou et al. 2018); null when no "
        "group qualifies.  items lists every group's AUC.\n"
        "- kappa: Cohen's kappa of truth vs predicted label, optionally "
        "linear or quadratic weights on the sorted label set (numeric "
        "order when all labels are numbers); null when undefined (both "
        "raters constant on one label); sklearn cohen_kappa_score.\n"
        "- pearson, spearman (average ranks), kendall (tau-b): between "
        "truth (x) and score (y), as scipy.stats; null for constant input "
        "or fewer than 2 items.\n"
        "With `metrics: []` every metric the fields allow is computed "
        "(accuracy and kappa with a pred field; auc/gauc with a score and "
        "0/1 truth; the correlations with a score and non-binary numeric "
        "truth).\n"
        "\n"
        "bootstrap: B > 0 adds `<metric>_ci` = [lo, hi], the percentile "
        "interval at level `ci` over B resamples of the items with "
        "replacement (groups for gauc), seeded from the run seed (the "
        "same seed gives the same interval on any thread count), and "
        "`<metric>_ci_resamples`, the number of resamples where the metric "
        "was defined.\n"
        "Missing fields and non-finite numbers fail naming the record and "
        "field.",
    .inputs = cls_inputs,
    .outputs = cls_outputs,
    .options = cls_options,
    .flags = ASSAY_F_ALL_ITEMS | ASSAY_F_DETERMINISTIC,
    .create = cls_create,
    .run = cls_run,
    .destroy = cls_destroy,
};

static const assay_plugin *const cls_list[] = {&cls_plugin, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi)
{
    (void)host_abi;
    return cls_list;
}
