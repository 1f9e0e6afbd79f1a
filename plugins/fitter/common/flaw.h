/*
 * flaw.h - what every fitter plugin shares: the law specification read
 * from options, reading the data port, the full fit (multi-start, standard
 * errors, bootstrap, hold-out and extrapolation checks) and the three
 * output ports (params json, points table, curve table).
 *
 * A preset fills a flaw_spec itself (its formula, grid and defaults) and
 * adds its own numbers through the `extra` hook of flaw_run.
 */
#ifndef FLAW_H
#define FLAW_H

#include <assay/plugin.h>

#include "fexpr.h"
#include "ffit.h"

typedef struct flaw_param {
    char *name;
    double *init; /* ninit initial values (the multi-start grid) */
    size_t ninit;
    double lo, hi; /* bounds, +-INFINITY when absent */
} flaw_param;

/* Post-processing of predictions for reporting (not for fitting). */
enum {
    FLAW_POST_NONE = 0,
    FLAW_POST_MMLU = 1 /* floor 25, above 90: 90 + 10 tanh(0.1 x - 9) */
};

typedef struct flaw_spec {
    char *law;    /* formula text */
    char *target; /* column of observed values */
    size_t nvars;
    char **var_names; /* names in the formula */
    char **var_cols;  /* their columns */
    size_t nparams;
    flaw_param *params;
    bool log_target; /* fit log(target) */
    bool log_pred;   /* the formula predicts the target; fit log(formula) */
    fexpr_loss loss;
    double delta;
    ffit_method method;
    char *sigma_col; /* per-point standard deviations, or NULL */
    int64_t bootstrap;
    double ci;
    double holdout;
    char *extrap_var; /* variable to split on, or NULL */
    double extrap_frac;
    int64_t curve_points;
    double curve_extend;
    double screen_ftol;
    int64_t polish;
    int post;
    size_t drop_top; /* drop rows whose target is among the largest */
} flaw_spec;

/* Options every fitter plugin declares (an initializer list for an
 * assay_option array), with the default loss as JSON text. */
#define FLAW_COMMON_OPTIONS(LOSS_DEFAULT)                                      \
    {.name = "loss",                                                           \
     .type = ASSAY_OPT_ENUM,                                                   \
     .def = (LOSS_DEFAULT),                                                    \
     .choices = "lsq|huber",                                                   \
     .doc = "lsq: sum of squared residuals; huber: robust Huber loss"},        \
        {.name = "delta",                                                      \
         .type = ASSAY_OPT_FLOAT,                                              \
         .def = "0.001",                                                       \
         .has_min = true,                                                      \
         .min = 1e-12,                                                         \
         .doc = "Huber threshold on the (scaled) residual"},                   \
        {.name = "method",                                                     \
         .type = ASSAY_OPT_ENUM,                                               \
         .def = "\"auto\"",                                                    \
         .choices = "auto|lbfgs|lm",                                           \
         .doc = "optimiser: lm (Levenberg-Marquardt, lsq only), lbfgs "        \
                "(NLopt L-BFGS with bounds), auto: lm for lsq, lbfgs "         \
                "otherwise"},                                                  \
        {.name = "sigma",                                                      \
         .type = ASSAY_OPT_STRING,                                             \
         .doc = "column of per-point standard deviations (residuals are "      \
                "divided by them)"},                                           \
        {.name = "bootstrap",                                                  \
         .type = ASSAY_OPT_INT,                                                \
         .def = "200",                                                         \
         .has_min = true,                                                      \
         .min = 0,                                                             \
         .has_max = true,                                                      \
         .max = 100000,                                                        \
         .doc = "bootstrap resamples of the points for confidence intervals "  \
                "(0: none)"},                                                  \
        {.name = "ci",                                                         \
         .type = ASSAY_OPT_FLOAT,                                              \
         .def = "0.95",                                                        \
         .has_min = true,                                                      \
         .min = 0.5,                                                           \
         .has_max = true,                                                      \
         .max = 0.999,                                                         \
         .doc = "confidence level of the bootstrap intervals"},                \
        {.name = "holdout",                                                    \
         .type = ASSAY_OPT_FLOAT,                                              \
         .def = "0",                                                           \
         .has_min = true,                                                      \
         .min = 0,                                                             \
         .has_max = true,                                                      \
         .max = 0.9,                                                           \
         .doc = "fraction of points held out at random (seeded) for "          \
                "out-of-sample R2/RMSE/MAPE (0: none)"},                       \
        {.name = "extrapolate_by",                                             \
         .type = ASSAY_OPT_STRING,                                             \
         .doc = "variable for the extrapolation check: fit on the points "     \
                "with its smaller values, predict the larger ones"},           \
        {.name = "extrapolate_frac",                                           \
         .type = ASSAY_OPT_FLOAT,                                              \
         .def = "0.25",                                                        \
         .has_min = true,                                                      \
         .min = 0.05,                                                          \
         .has_max = true,                                                      \
         .max = 0.9,                                                           \
         .doc = "fraction of points (largest by extrapolate_by) predicted in " \
                "the extrapolation check"},                                    \
        {.name = "curve_points",                                               \
         .type = ASSAY_OPT_INT,                                                \
         .def = "50",                                                          \
         .has_min = true,                                                      \
         .min = 2,                                                             \
         .has_max = true,                                                      \
         .max = 100000,                                                        \
         .doc = "points per variable in the curve output"},                    \
        {.name = "curve_extend",                                               \
         .type = ASSAY_OPT_FLOAT,                                              \
         .def = "1",                                                           \
         .has_min = true,                                                      \
         .min = 0,                                                             \
         .has_max = true,                                                      \
         .max = 100,                                                           \
         .doc = "how far the curve runs past the largest observed value, as "  \
                "a multiple of the observed span (log span for wide positive " \
                "ranges)"},                                                    \
        {.name = "screen_ftol",                                                \
         .type = ASSAY_OPT_FLOAT,                                              \
         .def = "1e-4",                                                        \
         .has_min = true,                                                      \
         .min = 1e-15,                                                         \
         .has_max = true,                                                      \
         .max = 0.1,                                                           \
         .doc = "relative tolerance of the first pass over all starts"},       \
    {                                                                          \
        .name = "polish", .type = ASSAY_OPT_INT, .def = "8", .has_min = true,  \
        .min = 1, .has_max = true, .max = 10000,                               \
        .doc = "best distinct starts refined to full precision"                \
    }

/* Release what a spec owns (the struct itself is the caller's). */
void flaw_spec_free(flaw_spec *s);

/* Read FLAW_COMMON_OPTIONS into s (other fields untouched). */
int flaw_spec_common(flaw_spec *s, const json_t *opts, assay_error *err);

/*
 * Read the generic law options (law, target, vars, params, space) into s.
 * Formula syntax is checked later, in flaw_run (with the column).
 */
int flaw_spec_generic(flaw_spec *s, const json_t *opts, assay_error *err);

/* Add a variable / a parameter (copies the strings and values). */
int flaw_spec_add_var(flaw_spec *s, const char *name, const char *col);
int flaw_spec_add_param(flaw_spec *s, const char *name, const double *init,
                        size_t ninit, double lo, double hi);

/* What flaw_run hands to a preset's extra hook (all borrowed). */
typedef struct flaw_fit {
    const flaw_spec *spec;
    const double *p;    /* k fitted values */
    const double *se;   /* k standard errors (NaN: unavailable) */
    const double *boot; /* nboot x k bootstrap estimates, or NULL */
    size_t nboot;
    size_t n;         /* points */
    json_t *warnings; /* array the hook may append messages to */
} flaw_fit;

typedef int (*flaw_extra_fn)(const flaw_fit *fit, json_t *out, void *ud,
                             assay_error *err);

/*
 * Run the whole fit on input port "data" and set the output ports
 * "params", "points" and "curve".  `extra` (optional) may add members to
 * the params object before it is emitted.
 */
int flaw_run(const assay_host *h, const flaw_spec *s, assay_io *io,
             flaw_extra_fn extra, void *ud, assay_error *err);

/* Standard ports of a fitter plugin. */
extern const assay_port flaw_inputs[];
extern const assay_port flaw_outputs[];

/* The post-processing of FLAW_POST_MMLU (exposed for tests). */
double flaw_mmlu_bound(double x);

/* JSON number, or null when not finite (new reference). */
json_t *flaw_num(double v);

#endif
