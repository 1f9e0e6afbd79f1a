/*
 * law.c - fitter.law: fit any law written as a formula.
 */
#include <stdlib.h>
#include <string.h>

#include <assay/plugin.h>

#include "flaw.h"

typedef struct law_state {
    const assay_host *host;
    flaw_spec spec;
} law_state;

static const assay_option law_options[] = {
    {.name = "law",
     .type = ASSAY_OPT_STRING,
     .required = true,
     .doc = "the law as a formula, e.g. \"E + A / N^alpha + B / D^beta\" "
            "(+ - * / ^, log exp sqrt abs sigmoid tanh pow min max, pi)"},
    {.name = "target",
     .type = ASSAY_OPT_STRING,
     .required = true,
     .doc = "column holding the observed value the law predicts"},
    {.name = "vars",
     .type = ASSAY_OPT_OBJECT,
     .required = true,
     .doc = "formula variables bound to input columns, e.g. {N: params, "
            "D: tokens}"},
    {.name = "params",
     .type = ASSAY_OPT_OBJECT,
     .required = true,
     .doc = "fitted parameters: name: value | [grid] | {init: value or "
            "[grid], min: x, max: y}"},
    {.name = "space",
     .type = ASSAY_OPT_ENUM,
     .def = "\"raw\"",
     .choices = "raw|log",
     .doc = "residuals on the raw target, or log(law) - log(target)"},
    FLAW_COMMON_OPTIONS("\"lsq\""),
    {0}};

static int law_create(const assay_host *host, const json_t *options,
                      void **state, assay_error *err)
{
    law_state *st = calloc(1, sizeof *st);
    int rc;
    if (!st)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    st->host = host;
    if ((rc = flaw_spec_common(&st->spec, options, err)) ||
        (rc = flaw_spec_generic(&st->spec, options, err))) {
        flaw_spec_free(&st->spec);
        free(st);
        return rc;
    }
    *state = st;
    return 0;
}

static int law_run(void *state, assay_io *io, assay_error *err)
{
    law_state *st = state;
    return flaw_run(st->host, &st->spec, io, NULL, NULL, err);
}

static void law_destroy(void *state)
{
    law_state *st = state;
    if (!st)
        return;
    flaw_spec_free(&st->spec);
    free(st);
}

static const assay_plugin law_plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "fitter.law",
    .kind = "fitter",
    .version = "1.0.0",
    .summary = "Fit a law written as a formula: multi-start robust least "
               "squares with bootstrap intervals and extrapolation checks",
    .doc = "Fits the parameters of a law such as\n"
           "  law: \"E + A / N^alpha + B / D^beta\"\n"
           "to the rows of the input table.  `vars` binds the formula's "
           "variables to columns, `params` gives each parameter a grid of "
           "initial values and optional bounds, `target` names the observed "
           "column.\n\n"
           "Formula: + - * / ^ (right-associative; -x^2 = -(x^2)), unary "
           "minus, log (natural; ln), log10, exp, sqrt, abs, sigmoid, tanh, "
           "pow(x,y), min(x,y), max(x,y), the constants pi and e.  Syntax "
           "errors point at the column (\"law:1:12: expected ')'\").  The "
           "formula is compiled once: constant parts are folded, data-only "
           "parts (log N) computed once per data set, and gradients with "
           "respect to the parameters are exact (reverse mode).\n\n"
           "Fit: objective sum_i rho(r_i), r_i = (pred_i - y_i)/sigma_i "
           "(space: log uses log(pred) - log(y)); rho = r^2 (loss lsq) or "
           "Huber_delta (loss huber: r^2/2 inside delta, delta(|r| - "
           "delta/2) outside).  Every point of the Cartesian grid of initial "
           "values is optimised (NLopt L-BFGS with bounds, or "
           "Levenberg-Marquardt for lsq) on host threads with a loose "
           "tolerance; the `polish` best distinct end points are refined to "
           "full precision and the lowest objective wins (ties: first grid "
           "index), so results do not depend on the thread count.\n\n"
           "Outputs: `params` (json): value, Jacobian standard error "
           "(curve_fit convention: s^2 (J'J)^-1, s^2 = sum r^2/(n-k)) when "
           "J'J is well conditioned, bootstrap SE and percentile interval "
           "(seeded resampling of points, each refitted from the optimum), "
           "objective, R2/RMSE/MAPE in sample, on a seeded hold-out "
           "(`holdout`) and in the extrapolation check (`extrapolate_by`: "
           "fit the smaller values, predict the largest "
           "`extrapolate_frac`), the fitted formula with numbers, and "
           "`warnings` (optimum on a bound, near-singular J'J, skipped "
           "checks).  `points`: per row the variables, y, pred, residual "
           "(y - pred).  `curve`: the law over each variable's range and "
           "beyond (`curve_extend`), other variables at their medians.\n\n"
           "Errors: formula errors with line:column; NaN or missing inputs, "
           "non-positive values where a log is taken (log(N), N^alpha with a "
           "fitted alpha, space: log) name the record and column; fewer "
           "points than parameters is an error.",
    .inputs = flaw_inputs,
    .outputs = flaw_outputs,
    .options = law_options,
    .flags = ASSAY_F_ALL_ITEMS | ASSAY_F_DETERMINISTIC,
    .create = law_create,
    .run = law_run,
    .destroy = law_destroy,
};

static const assay_plugin *const law_list[] = {&law_plugin, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi)
{
    (void)host_abi;
    return law_list;
}
