/*
 * fexpr.h - law formulas: parse, compile to a tape, evaluate with exact
 * gradients with respect to the parameters.
 *
 * A formula such as "E + A / N^alpha + B / D^beta" names variables (bound
 * to data columns) and parameters (fitted).  Grammar, loosest first:
 *
 *     expr    := term (('+' | '-') term)*
 *     term    := unary (('*' | '/') unary)*
 *     unary   := ('-' | '+') unary | power
 *     power   := primary ('^' unary)?            right-associative
 *     primary := number | name | name '(' expr (',' expr)* ')'
 *              | '(' expr ')'
 *
 * Functions: log (natural; also ln), log10, exp, sqrt, abs, sigmoid,
 * tanh, pow(x, y), min(x, y), max(x, y).  Constants: pi, and e unless a
 * variable or parameter of that name exists (names bind variables first,
 * then parameters, then constants).
 *
 * Compilation splits the formula by what each node depends on: constant
 * subexpressions are folded, parameter-only subexpressions are evaluated
 * once per parameter vector, data-only subexpressions (log N, ...) once per
 * data set, and only the rest is evaluated per point, block-wise, so that
 * the inner loops vectorise.  Gradients are exact: a reverse sweep over the
 * per-point tape, chained with forward-mode derivatives of the
 * parameter-only part.
 */
#ifndef FEXPR_H
#define FEXPR_H

#include <stdbool.h>
#include <stddef.h>

#include <assay/error.h>

/* Points per evaluation block (the width of the per-point arrays). */
#define FEXPR_BLOCK 128

typedef struct fexpr fexpr;
typedef struct fexpr_data fexpr_data;
typedef struct fexpr_ws fexpr_ws;

/* Compile flags. */
enum {
    FEXPR_LOG_OUTPUT = 1u << 0 /* the law's value is log(formula) */
};

/*
 * Compile `src` (NUL-terminated, any bytes) with the given variable and
 * parameter names (borrowed during the call).  `label` names the formula
 * in messages ("law" gives "law:1:12: expected ')'").  On success *out is
 * a new compiled law the caller frees with fexpr_free.  Fails with
 * ASSAY_EINVAL and a message pointing at the line and column for a syntax
 * error, an unknown name or function, or a formula that does not depend on
 * any parameter; ASSAY_ENOMEM when memory runs out.  Never crashes on any
 * input string.
 */
int fexpr_compile(const char *src, const char *label, const char *const *vars,
                  size_t nvars, const char *const *params, size_t nparams,
                  unsigned flags, fexpr **out, assay_error *err);

void fexpr_free(fexpr *e);

size_t fexpr_nparams(const fexpr *e);
size_t fexpr_nvars(const fexpr *e);

/* True when variable `i` appears in the formula. */
bool fexpr_uses_var(const fexpr *e, size_t i);

/* True when parameter `i` appears in the formula. */
bool fexpr_uses_param(const fexpr *e, size_t i);

/* Number of instructions per point (for tests and benchmarks). */
size_t fexpr_point_ops(const fexpr *e);

/*
 * Bind data: cols[v] holds the n values of variable v (borrowed during the
 * call; NULL allowed for a variable the formula does not use).  Evaluates
 * the data-only part once and checks its domain: a log or sqrt of an
 * out-of-range value or a non-finite intermediate fails with ASSAY_EDATA
 * naming the point (0-based) and the subexpression.  `names` (optional,
 * borrowed) labels points in messages: when given, "point %zu" becomes
 * names[i].  *out is freed with fexpr_data_free.
 */
int fexpr_bind(const fexpr *e, const double *const *cols, size_t n,
               fexpr_data **out, assay_error *err);

void fexpr_data_free(fexpr_data *d);

size_t fexpr_data_n(const fexpr_data *d);

/* A subset of the points of `d` (idx[0..m-1], repeats allowed, as for a
 * bootstrap resample).  Caller frees with fexpr_data_free. */
int fexpr_data_subset(const fexpr_data *d, const size_t *idx, size_t m,
                      fexpr_data **out);

/* Per-thread scratch for evaluating `e`; NULL on ENOMEM. */
fexpr_ws *fexpr_ws_new(const fexpr *e);
void fexpr_ws_free(fexpr_ws *ws);

/* Predictions at parameters p (k values) for every point: out[0..n-1]. */
void fexpr_predict(const fexpr *e, const fexpr_data *d, const double *p,
                   double *out, fexpr_ws *ws);

/*
 * Predictions and the Jacobian d pred_i / d p_j, row-major n x k in jac.
 * pred may be NULL.
 */
void fexpr_jacobian(const fexpr *e, const fexpr_data *d, const double *p,
                    double *pred, double *jac, fexpr_ws *ws);

/* Loss kinds for fexpr_objective. */
typedef enum fexpr_loss {
    FEXPR_LOSS_LSQ = 1,  /* sum of r^2 */
    FEXPR_LOSS_HUBER = 2 /* sum of Huber_delta(r) */
} fexpr_loss;

/*
 * The fitting objective sum_i rho(s_i * (pred_i - y_i)) where s (NULL: all
 * ones) scales residuals (1/sigma), and its gradient (grad may be NULL).
 * rho(r) = r^2 for LSQ; r^2/2 if |r| <= delta else delta*(|r| - delta/2)
 * for HUBER.  Returns the objective (inf or NaN where the law is not
 * defined at p).
 */
double fexpr_objective(const fexpr *e, const fexpr_data *d, const double *p,
                       const double *y, const double *s, fexpr_loss loss,
                       double delta, double *grad, fexpr_ws *ws);

#endif
