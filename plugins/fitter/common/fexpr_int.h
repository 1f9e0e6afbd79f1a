/*
 * fexpr_int.h - the compiled form of a law, shared by the compiler
 * (fexpr.c) and the evaluator (fexpr_eval.c).  Not part of any interface.
 */
#ifndef FEXPR_INT_H
#define FEXPR_INT_H

#include <stdint.h>

#include "fexpr.h"

/* Operations.  Unary ones use operand a only. */
enum {
    FX_CONST = 0,
    FX_VAR,
    FX_PARAM,
    FX_ADD,
    FX_SUB,
    FX_MUL,
    FX_DIV,
    FX_POW,
    FX_MIN,
    FX_MAX,
    FX_NEG,
    FX_LOG,
    FX_EXP,
    FX_SQRT,
    FX_ABS,
    FX_SIG,
    FX_TANH,
    FX_SQR,
    FX_RECIP,
    FX_COPY,
    FX_NOPS
};

/* Where an operand lives. */
enum {
    FX_K_SCAL = 0, /* scalar pool: constants, parameters, parameter-only */
    FX_K_DATA = 1, /* data columns: variables and data-only values */
    FX_K_PT = 2    /* per-point block arrays */
};

typedef struct fexpr_ins {
    uint8_t op;
    uint8_t ka, kb;
    uint8_t fa, fb; /* point tape: first adjoint write to a / b in the
                       reverse sweep (assign instead of accumulate) */
    int32_t a, b;
    int32_t out;
} fexpr_ins;

struct fexpr {
    size_t nvars, nparams;
    unsigned char *var_used, *param_used;

    /* scalar pool: nscal values; constants preset in scal_init */
    size_t nscal;
    double *scal_init;
    unsigned char *scal_dep; /* 1 when the slot depends on parameters */
    int32_t *param_scal;     /* scalar slot of each parameter, or -1 */
    fexpr_ins *stape;
    size_t nstape;

    /* data pool: ndata columns of n values */
    size_t ndata;
    int32_t *var_data; /* data slot of each variable, or -1 */
    fexpr_ins *dtape;
    size_t ndtape;
    char **dtext;         /* per data instruction: its source text */
    unsigned char *dbase; /* per data instruction: log of a power base */

    /* point pool */
    size_t npt;
    fexpr_ins *ptape;
    size_t nptape;
    int32_t root; /* point slot of the law's value */

    /* parameter-dependent scalar slots read by the point tape */
    size_t nfeed;
    int32_t *feed;    /* feed index -> scalar slot */
    int32_t *feed_of; /* scalar slot -> feed index or -1 */

    /* scalar slots read by the point tape (broadcast into blocks) */
    size_t nbcast;
    int32_t *bcast;
};

struct fexpr_data {
    size_t n;
    size_t ndata;
    double *cols; /* ndata x n, column-major by slot */
};

struct fexpr_ws {
    size_t k;
    double *sval; /* nscal */
    double *sder; /* nscal x k: d slot / d param */
    double *pv;   /* npt x FEXPR_BLOCK values */
    double *pa;   /* npt x FEXPR_BLOCK adjoints */
    double *fa;   /* nfeed x FEXPR_BLOCK adjoints of fed scalars */
    double *tmp;  /* FEXPR_BLOCK */
};

/* Value and partial derivatives of a scalar op (da, db may be NULL). */
double fexpr__apply(int op, double a, double b);
void fexpr__partials(int op, double a, double b, double v, double *da,
                     double *db);

#endif
