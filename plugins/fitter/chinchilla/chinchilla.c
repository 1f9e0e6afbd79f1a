/*
 * chinchilla.c - fitter.chinchilla: the parametric loss law
 * L(N, D) = E + A/N^alpha + B/D^beta fitted as in Hoffmann et al. (2022),
 * Approach 3, and the Epoch AI replication: Huber loss (delta 1e-3) on
 * log L, parameters a = log A, b = log B, e = log E, alpha, beta, the
 * published 4,500-point grid of initial values; plus the compute-optimal
 * allocation N_opt(C), D_opt(C) for C = 6ND.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <assay/plugin.h>

#include "flaw.h"
#include "fstat.h"

typedef struct chin_state {
    const assay_host *host;
    flaw_spec spec;
    double *compute;
    size_t ncompute;
} chin_state;

static const assay_option chin_options[] = {
    {.name = "n_col",
     .type = ASSAY_OPT_STRING,
     .def = "\"N\"",
     .doc = "column with the model size N (parameters)"},
    {.name = "d_col",
     .type = ASSAY_OPT_STRING,
     .def = "\"D\"",
     .doc = "column with the training tokens D"},
    {.name = "loss_col",
     .type = ASSAY_OPT_STRING,
     .def = "\"loss\"",
     .doc = "column with the final training loss L"},
    {.name = "drop_largest",
     .type = ASSAY_OPT_INT,
     .def = "0",
     .has_min = true,
     .min = 0,
     .has_max = true,
     .max = 1000000,
     .doc = "drop the points with the largest losses first (Epoch drops 5 "
            "from the digitised Chinchilla data)"},
    {.name = "compute",
     .type = ASSAY_OPT_LIST,
     .def = "[1e20, 1e21, 1e22, 1e23, 1e24, 1e25]",
     .doc = "compute budgets C (FLOP) for the compute-optimal allocation"},
    {.name = "init",
     .type = ASSAY_OPT_OBJECT,
     .doc = "override the grid of initial values: {a: [..], b: [..], e: "
            "[..], alpha: [..], beta: [..]}"},
    FLAW_COMMON_OPTIONS("\"huber\""),
    {0}};

/* The grid of the Chinchilla paper (Appendix D.2) / Epoch replication. */
static const double grid_ab[] = {0, 5, 10, 15, 20, 25};
static const double grid_e[] = {-1, -0.5, 0, 0.5, 1};
static const double grid_exp[] = {0, 0.5, 1, 1.5, 2};

static int chin_param(flaw_spec *s, const json_t *init, const char *name,
                      const double *def, size_t ndef, assay_error *err)
{
    const json_t *v = init ? json_object_get(init, name) : NULL;
    double buf[1024];
    size_t n = 0;
    if (!v) {
        memcpy(buf, def, ndef * sizeof *def);
        n = ndef;
    } else if (json_is_number(v)) {
        buf[n++] = json_number_value(v);
    } else if (json_is_array(v) && json_array_size(v) > 0 &&
               json_array_size(v) <= 1024) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x)
        {
            if (!json_is_number(x))
                return assay_error_set(err, ASSAY_EINVAL,
                                       "option 'init.%s[%zu]': expected a "
                                       "number",
                                       name, i);
            buf[n++] = json_number_value(x);
        }
    } else {
        return assay_error_set(err, ASSAY_EINVAL,
                               "option 'init.%s': expected a number or a "
                               "list of 1 to 1024 numbers",
                               name);
    }
    if (flaw_spec_add_param(s, name, buf, n, -INFINITY, INFINITY))
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    return 0;
}

static int chin_create(const assay_host *host, const json_t *options,
                       void **state, assay_error *err)
{
    chin_state *st = calloc(1, sizeof *st);
    const json_t *init = json_object_get(options, "init");
    const json_t *comp = json_object_get(options, "compute");
    int rc;
    if (!st)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    st->host = host;
    flaw_spec *s = &st->spec;
    if ((rc = flaw_spec_common(s, options, err)))
        goto fail;
    if (json_is_object(init)) {
        const char *key;
        json_t *val;
        json_object_foreach((json_t *)init, key, val)
        {
            if (strcmp(key, "a") && strcmp(key, "b") && strcmp(key, "e") &&
                strcmp(key, "alpha") && strcmp(key, "beta")) {
                rc = assay_error_set(err, ASSAY_EINVAL,
                                     "option 'init': unknown parameter "
                                     "'%s' (a, b, e, alpha, beta)",
                                     key);
                goto fail;
            }
        }
    } else {
        init = NULL;
    }
    s->law = strdup("log(exp(a - alpha*log(N)) + exp(b - beta*log(D)) + "
                    "exp(e))");
    s->target = strdup(assay_opt_str(options, "loss_col"));
    if (!s->law || !s->target ||
        flaw_spec_add_var(s, "N", assay_opt_str(options, "n_col")) ||
        flaw_spec_add_var(s, "D", assay_opt_str(options, "d_col"))) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto fail;
    }
    if ((rc = chin_param(s, init, "a", grid_ab, 6, err)) ||
        (rc = chin_param(s, init, "b", grid_ab, 6, err)) ||
        (rc = chin_param(s, init, "e", grid_e, 5, err)) ||
        (rc = chin_param(s, init, "alpha", grid_exp, 5, err)) ||
        (rc = chin_param(s, init, "beta", grid_exp, 5, err)))
        goto fail;
    s->log_target = true;
    s->drop_top = (size_t)assay_opt_int(options, "drop_largest");
    st->ncompute = json_array_size(comp);
    st->compute = calloc(st->ncompute + 1, sizeof *st->compute);
    if (!st->compute) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < st->ncompute; i++) {
        const json_t *c = json_array_get(comp, i);
        if (!json_is_number(c) || !(json_number_value(c) > 0)) {
            rc = assay_error_set(err, ASSAY_EINVAL,
                                 "option 'compute[%zu]': expected a "
                                 "positive number of FLOP",
                                 i);
            goto fail;
        }
        st->compute[i] = json_number_value(c);
    }
    *state = st;
    return 0;
fail:
    flaw_spec_free(s);
    free(st->compute);
    free(st);
    return rc;
}

/* Compute-optimal allocation (Hoffmann eq. 4) for p = (a, b, e, alpha,
 * beta): N_opt = G (C/6)^(beta/(alpha+beta)), D_opt = (C/6)/N_opt with
 * G = (alpha A / (beta B))^(1/(alpha+beta)). */
static void allocation(const double *p, double C, double *n, double *d)
{
    double al = p[3], be = p[4];
    double G = pow(al * exp(p[0]) / (be * exp(p[1])), 1 / (al + be));
    *n = G * pow(C / 6, be / (al + be));
    *d = (C / 6) / *n;
}

static json_t *ci_pair(double *v, size_t m, double level)
{
    double lo, hi;
    json_t *a = json_array();
    fstat_percentile_ci(v, m, level, &lo, &hi);
    json_array_append_new(a, flaw_num(lo));
    json_array_append_new(a, flaw_num(hi));
    return a;
}

static int chin_extra(const flaw_fit *fit, json_t *out, void *ud,
                      assay_error *err)
{
    chin_state *st = ud;
    const double *p = fit->p;
    size_t B = fit->boot ? fit->nboot : 0;
    double *v = malloc((B + 1) * sizeof *v);
    if (!v)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    static const char *const names[] = {"A", "B", "E"};
    json_t *law = json_object();
    for (int q = 0; q < 3; q++) {
        json_t *o = json_object();
        json_object_set_new(o, "value", json_real(exp(p[q])));
        /* delta method: se(exp a) = exp(a) se(a) */
        json_object_set_new(o, "se", flaw_num(exp(p[q]) * fit->se[q]));
        if (B) {
            size_t m = 0;
            for (size_t r = 0; r < B; r++)
                if (isfinite(fit->boot[r * 5 + q]))
                    v[m++] = exp(fit->boot[r * 5 + q]);
            json_object_set_new(o, "ci", ci_pair(v, m, fit->spec->ci));
        }
        json_object_set_new(law, names[q], o);
    }
    json_object_set_new(law, "alpha", json_real(p[3]));
    json_object_set_new(law, "beta", json_real(p[4]));
    json_object_set_new(out, "law_params", law);
    char txt[256];
    snprintf(txt, sizeof txt, "L(N, D) = %.5g + %.5g / N^%.5g + %.5g / D^%.5g",
             exp(p[2]), exp(p[0]), p[3], exp(p[1]), p[4]);
    json_object_set_new(out, "fitted_law", json_string(txt));
    st->host->log(st->host, ASSAY_LOG_INFO, "%s", txt);

    json_t *alloc = json_object();
    double al = p[3], be = p[4];
    json_object_set_new(alloc, "a", flaw_num(be / (al + be)));
    json_object_set_new(alloc, "b", flaw_num(al / (al + be)));
    json_object_set_new(
        alloc, "G",
        flaw_num(pow(al * exp(p[0]) / (be * exp(p[1])), 1 / (al + be))));
    json_t *rows = json_array();
    for (size_t i = 0; i < st->ncompute; i++) {
        double C = st->compute[i], n, d;
        allocation(p, C, &n, &d);
        json_t *r = json_object();
        json_object_set_new(r, "C", json_real(C));
        json_object_set_new(r, "N_opt", flaw_num(n));
        json_object_set_new(r, "D_opt", flaw_num(d));
        json_object_set_new(r, "tokens_per_param", flaw_num(d / n));
        if (B) {
            size_t m = 0;
            for (size_t b = 0; b < B; b++) {
                if (!isfinite(fit->boot[b * 5]))
                    continue;
                double nb, db;
                allocation(fit->boot + b * 5, C, &nb, &db);
                if (isfinite(nb))
                    v[m++] = nb;
            }
            json_object_set_new(r, "N_opt_ci", ci_pair(v, m, fit->spec->ci));
        }
        json_array_append_new(rows, r);
    }
    json_object_set_new(alloc, "budgets", rows);
    json_object_set_new(out, "compute_optimal", alloc);
    free(v);
    if (!isfinite(al + be) || al + be <= 0)
        json_array_append_new(
            fit->warnings,
            json_string("alpha + beta <= 0: no compute-optimal allocation"));
    return 0;
}

static int chin_run(void *state, assay_io *io, assay_error *err)
{
    chin_state *st = state;
    return flaw_run(st->host, &st->spec, io, chin_extra, st, err);
}

static void chin_destroy(void *state)
{
    chin_state *st = state;
    if (!st)
        return;
    flaw_spec_free(&st->spec);
    free(st->compute);
    free(st);
}

static const assay_plugin chin_plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "fitter.chinchilla",
    .kind = "fitter",
    .version = "1.0.0",
    .summary = "Chinchilla scaling law L = E + A/N^alpha + B/D^beta "
               "(Approach 3) with the compute-optimal allocation",
    .doc = "Fits L(N, D) = E + A/N^alpha + B/D^beta the way Hoffmann et al. "
           "(2022, Approach 3) and the Epoch AI replication (Besiroglu et al. "
           "2024) do: in log space with a = log A, b = log B, e = log E,\n"
           "  pred = log(exp(a - alpha log N) + exp(b - beta log D) + exp(e))\n"
           "minimising sum_i Huber_delta(pred_i - log L_i) (delta = 1e-3, no "
           "division by n) with L-BFGS from every point of the published grid "
           "alpha, beta in {0, .5, 1, 1.5, 2}, e in {-1, -.5, 0, .5, 1}, a, b "
           "in {0, 5, ..., 25} (4,500 starts; override with `init`).  Matches "
           "scipy's L-BFGS-B optimum on the golden datasets (objective equal "
           "or lower).  For the digitised Chinchilla data set drop_largest: "
           "5 as Epoch did.\n\n"
           "Input `data`: one row per training run with columns n_col (N, "
           "parameters), d_col (D, tokens) and loss_col (final loss); all "
           "must be > 0.\n\n"
           "Outputs: as fitter.law (params in log space with standard errors "
           "and bootstrap intervals, points, curve), plus `law_params` (A, B, "
           "E with intervals, alpha, beta), `fitted_law` and "
           "`compute_optimal`: for each budget C in `compute`, N_opt = G "
           "(C/6)^(beta/(alpha+beta)), D_opt = C/(6 N_opt), G = (alpha A / "
           "(beta B))^(1/(alpha+beta)) (Hoffmann eq. 4), tokens per "
           "parameter and a bootstrap interval for N_opt.",
    .inputs = flaw_inputs,
    .outputs = flaw_outputs,
    .options = chin_options,
    .flags = ASSAY_F_ALL_ITEMS | ASSAY_F_DETERMINISTIC,
    .create = chin_create,
    .run = chin_run,
    .destroy = chin_destroy,
};

static const assay_plugin *const chin_list[] = {&chin_plugin, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi)
{
    (void)host_abi;
    return chin_list;
}
