/*
 * Fuzz target: the law-formula language of the fitter plugins
 * (plugins/fitter/common/fexpr.c, fexpr_eval.c).  The input is a formula
 * (any bytes) compiled against the variables and parameters of the
 * Chinchilla and performance-law presets, with and without the
 * log-output flag.  A compiled law is bound to a few data points
 * (including zero and negative values, to hit the domain checks),
 * then evaluated: predictions, the Jacobian and both objectives with
 * gradients, on the full data and on a bootstrap-style subset.
 *
 * Invariants: a failed compile has a message; a compiled law uses at
 * least one parameter and reports sizes that match its names.
 */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fexpr.h"

static const char *const VARS[] = {"N", "D", "C", "x", "e"};
static const char *const PARAMS[] = {"E",    "A", "B", "alpha",
                                     "beta", "a", "b", "pi"};
#define NV (sizeof VARS / sizeof VARS[0])
#define NP (sizeof PARAMS / sizeof PARAMS[0])
#define NPTS 6

static const double COL_N[NPTS] = {1e6, 1e7, 1e8, 1e9, 0.5, 3};
static const double COL_D[NPTS] = {2e7, 2e8, 2e9, 2e10, 1, 0};
static const double COL_C[NPTS] = {1, 2, 3, 4, 5, 6};
static const double COL_X[NPTS] = {-1, 0, 1, 2.5, -3e3, 1e-300};
static const double COL_E[NPTS] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6};

static void evaluate(const fexpr *e, const fexpr_data *d)
{
    size_t n = fexpr_data_n(d), k = fexpr_nparams(e);
    double p[NP] = {1.69, 406.4, 410.7, 0.34, 0.28, -0.5, 2.0, 0.0};
    double *pred = calloc(n ? n : 1, sizeof *pred);
    double *jac = calloc((n ? n : 1) * (k ? k : 1), sizeof *jac);
    double *y = calloc(n ? n : 1, sizeof *y);
    double grad[NP];
    fexpr_ws *ws = fexpr_ws_new(e);
    if (pred && jac && y && ws) {
        fexpr_predict(e, d, p, pred, ws);
        fexpr_jacobian(e, d, p, NULL, jac, ws);
        fexpr_jacobian(e, d, p, pred, jac, ws);
        for (size_t i = 0; i < n; i++)
            y[i] = 1.0 + (double)i;
        fexpr_objective(e, d, p, y, NULL, FEXPR_LOSS_LSQ, 0, grad, ws);
        fexpr_objective(e, d, p, y, y, FEXPR_LOSS_HUBER, 0.1, grad, ws);
        fexpr_objective(e, d, p, y, NULL, FEXPR_LOSS_HUBER, 1e-3, NULL, ws);
    }
    fexpr_ws_free(ws);
    free(pred);
    free(jac);
    free(y);
}

static void one(const char *src, unsigned flags)
{
    fexpr *e = NULL;
    assay_error err;
    err.text[0] = '\0';
    if (fexpr_compile(src, "law", VARS, NV, PARAMS, NP, flags, &e, &err)) {
        if (!err.text[0])
            fuzz_fail("compile failed without a message");
        return;
    }
    if (fexpr_nparams(e) != NP || fexpr_nvars(e) != NV)
        fuzz_fail("compiled law reports %zu params, %zu vars", fexpr_nparams(e),
                  fexpr_nvars(e));
    bool any = false;
    for (size_t i = 0; i < NP; i++)
        any |= fexpr_uses_param(e, i);
    if (!any)
        fuzz_fail("compiled law uses no parameter");
    for (size_t i = 0; i < NV; i++)
        (void)fexpr_uses_var(e, i);
    (void)fexpr_point_ops(e);
    const double *cols[NV] = {COL_N, COL_D, COL_C, COL_X, COL_E};
    for (size_t from = 0; from < 2; from++) {
        /* all points, then only the first four (all positive) */
        fexpr_data *d = NULL;
        if (fexpr_bind(e, cols, from ? 4 : NPTS, &d, &err) == 0) {
            evaluate(e, d);
            size_t idx[] = {0, 0, 2, 1};
            fexpr_data *sub = NULL;
            if (fexpr_data_subset(d, idx, 4, &sub) == 0) {
                evaluate(e, sub);
                fexpr_data_free(sub);
            }
            fexpr_data_free(d);
        }
    }
    fexpr_free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *src = fuzz_cstr(data, size);
    if (!src)
        return 0;
    one(src, 0);
    one(src, FEXPR_LOG_OUTPUT);
    free(src);
    return 0;
}
