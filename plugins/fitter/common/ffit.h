/*
 * ffit.h - fit a compiled law: local optimisers (NLopt's bounded L-BFGS,
 * a Levenberg-Marquardt for least squares) and a deterministic, threaded
 * multi-start over a Cartesian grid of initial values.
 *
 * Multi-start runs in two stages: every start is optimised with a loose
 * tolerance ("screening"); the `polish` best distinct end points are then
 * optimised again with a tight tolerance, and the lowest objective wins.
 * Results are stored per start index and ties are broken by index, so the
 * answer does not depend on the number of threads.
 */
#ifndef FFIT_H
#define FFIT_H

#include <stdbool.h>
#include <stddef.h>

#include <assay/error.h>

#include "fexpr.h"

typedef enum ffit_method {
    FFIT_LBFGS = 1, /* NLopt NLOPT_LD_LBFGS, bounds honoured */
    FFIT_LM = 2     /* Levenberg-Marquardt (least squares only) */
} ffit_method;

/* A fitting problem (all pointers borrowed). */
typedef struct ffit_problem {
    const fexpr *law;
    const fexpr_data *data;
    const double *y; /* n targets, in the space the law predicts */
    const double *s; /* n residual scales (1/sigma) or NULL */
    fexpr_loss loss;
    double delta;     /* Huber threshold */
    size_t k;         /* parameters */
    const double *lo; /* k lower bounds (-INFINITY: none) */
    const double *hi; /* k upper bounds (INFINITY: none) */
} ffit_problem;

/* Stopping rules of one local optimisation. */
typedef struct ffit_tol {
    double ftol_rel; /* stop when the objective improves less than this */
    double xtol_rel; /* ... or the step is smaller than this */
    int max_eval;    /* evaluation budget */
} ffit_tol;

/* Multi-start settings. */
typedef struct ffit_options {
    ffit_method method;
    ffit_tol screen; /* every start */
    ffit_tol polish; /* the best few */
    size_t npolish;  /* how many distinct end points to polish */
    unsigned threads;
    /* optional: polled from worker threads */
    bool (*cancelled)(void *ud);
    void (*progress)(void *ud, size_t done, size_t total);
    void *ud;
} ffit_options;

/* Defaults for a method (tolerances, 8 polished starts, 1 thread). */
void ffit_options_default(ffit_options *o, ffit_method method);

/* A Cartesian grid of initial values: vals[j][0..len[j]-1] (borrowed). */
typedef struct ffit_grid {
    size_t k;
    const double *const *vals;
    const size_t *len;
} ffit_grid;

/* Number of grid points (0 if it overflows SIZE_MAX). */
size_t ffit_grid_size(const ffit_grid *g);

/* Start number `i` of the grid, clamped into [lo, hi]; the last parameter
 * varies fastest. */
void ffit_grid_point(const ffit_grid *g, size_t i, const double *lo,
                     const double *hi, double *p);

typedef struct ffit_result {
    double *p;         /* k best parameters (caller frees with free) */
    double f;          /* objective there */
    size_t best_start; /* grid index whose polished end point won */
    size_t n_starts;
    size_t n_finite; /* starts that ended at a finite objective */
    size_t n_polished;
    long evals; /* objective evaluations in total */
} ffit_result;

/*
 * Optimise from every grid point and keep the best.  Fails with
 * ASSAY_EDATA when no start reaches a finite objective, ASSAY_ECANCELED
 * when o->cancelled says so, ASSAY_ENOMEM, or ASSAY_EINVAL (LM with a
 * non-least-squares loss).  res->p is allocated on success.
 */
int ffit_multistart(const ffit_problem *pb, const ffit_grid *grid,
                    const ffit_options *o, ffit_result *res, assay_error *err);

/*
 * One local optimisation from p (k values, updated in place; clamped into
 * the bounds first).  *f gets the final objective; *evals (may be NULL)
 * the evaluations used.  ws is scratch for pb->law.  Returns 0, or
 * ASSAY_ENOMEM.
 */
int ffit_local(const ffit_problem *pb, ffit_method method, const ffit_tol *tol,
               double *p, double *f, long *evals, fexpr_ws *ws);

#endif
