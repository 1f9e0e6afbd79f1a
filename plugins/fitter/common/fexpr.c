/*
 * fexpr.c - parse a law formula into a DAG (with common subexpressions
 * shared and constants folded) and compile it into three tapes: the
 * parameter-only part (scalar), the data-only part (once per data set) and
 * the per-point part.  See fexpr.h for the language.
 */
#include "fexpr_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FX_MAX_SRC 65536  /* longest formula accepted */
#define FX_MAX_NODES 8192 /* most DAG nodes */
#define FX_MAX_DEPTH 200  /* deepest nesting */

/* Dependence bits of a node. */
enum { DEP_PARAM = 1, DEP_DATA = 2 };

typedef struct cnode {
    int op;
    int a, b;
    double c;     /* FX_CONST value */
    int idx;      /* FX_VAR / FX_PARAM index */
    int pos, end; /* source span */
    int dep;
    int powbase; /* FX_LOG made from the base of x^y */
    int slot;
} cnode;

typedef struct parser {
    const char *src;
    size_t len;
    size_t pos;
    const char *label;
    const char *const *vars;
    size_t nvars;
    const char *const *params;
    size_t nparams;
    cnode *nodes;
    size_t nnodes, cap;
    int depth;
    assay_error *err;
    int rc;
} parser;

/* ---- scalar semantics (shared with the evaluator) --------------------- */

double fexpr__apply(int op, double a, double b)
{
    switch (op) {
    case FX_ADD:
        return a + b;
    case FX_SUB:
        return a - b;
    case FX_MUL:
        return a * b;
    case FX_DIV:
        return a / b;
    case FX_POW:
        return pow(a, b);
    case FX_MIN:
        return a <= b ? a : b;
    case FX_MAX:
        return a >= b ? a : b;
    case FX_NEG:
        return -a;
    case FX_LOG:
        return log(a);
    case FX_EXP:
        return exp(a);
    case FX_SQRT:
        return sqrt(a);
    case FX_ABS:
        return fabs(a);
    case FX_SIG:
        return a >= 0 ? 1.0 / (1.0 + exp(-a)) : exp(a) / (1.0 + exp(a));
    case FX_TANH:
        return tanh(a);
    case FX_SQR:
        return a * a;
    case FX_RECIP:
        return 1.0 / a;
    case FX_COPY:
        return a;
    default:
        return NAN;
    }
}

void fexpr__partials(int op, double a, double b, double v, double *da,
                     double *db)
{
    double x = 0, y = 0;
    switch (op) {
    case FX_ADD:
        x = 1, y = 1;
        break;
    case FX_SUB:
        x = 1, y = -1;
        break;
    case FX_MUL:
        x = b, y = a;
        break;
    case FX_DIV:
        x = 1.0 / b, y = -v / b;
        break;
    case FX_POW:
        x = a != 0 ? v * b / a : b * pow(a, b - 1);
        y = v != 0 ? v * log(a) : 0;
        break;
    case FX_MIN:
        x = a <= b, y = a > b;
        break;
    case FX_MAX:
        x = a >= b, y = a < b;
        break;
    case FX_NEG:
        x = -1;
        break;
    case FX_LOG:
        x = 1.0 / a;
        break;
    case FX_EXP:
        x = v;
        break;
    case FX_SQRT:
        x = 0.5 / v;
        break;
    case FX_ABS:
        x = a > 0 ? 1 : a < 0 ? -1 : 0;
        break;
    case FX_SIG:
        x = v * (1 - v);
        break;
    case FX_TANH:
        x = 1 - v * v;
        break;
    case FX_SQR:
        x = 2 * a;
        break;
    case FX_RECIP:
        x = -v * v;
        break;
    case FX_COPY:
        x = 1;
        break;
    default:
        break;
    }
    if (da)
        *da = x;
    if (db)
        *db = y;
}

static bool op_unary(int op)
{
    return op >= FX_NEG;
}

/* ---- errors ------------------------------------------------------------ */

/* Line and column (1-based, in bytes) of offset `off`. */
static void line_col(const char *src, size_t off, int *line, int *col)
{
    int l = 1, c = 1;
    for (size_t i = 0; i < off && src[i]; i++) {
        if (src[i] == '\n')
            l++, c = 1;
        else
            c++;
    }
    *line = l;
    *col = c;
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int
perr(parser *p, size_t off, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    int line, col;
    if (p->rc)
        return -1; /* keep the first error */
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    line_col(p->src, off, &line, &col);
    assay_error_set(p->err, ASSAY_EINVAL, "%s:%d:%d: %s", p->label, line, col,
                    msg);
    p->rc = ASSAY_EINVAL;
    return -1;
}

static int poom(parser *p)
{
    if (!p->rc) {
        assay_error_set(p->err, ASSAY_ENOMEM, "%s: out of memory", p->label);
        p->rc = ASSAY_ENOMEM;
    }
    return -1;
}

/* ---- DAG construction with sharing and folding ------------------------- */

static int add_node(parser *p, const cnode *n)
{
    /* share an identical node (same op, operands, constant, index) */
    for (size_t i = 0; i < p->nnodes; i++) {
        const cnode *o = &p->nodes[i];
        if (o->op == n->op && o->a == n->a && o->b == n->b &&
            o->idx == n->idx && o->powbase == n->powbase &&
            /* bit-identical constants only (0.0 and -0.0 differ):
             * NOLINTNEXTLINE(bugprone-suspicious-memory-comparison) */
            (n->op != FX_CONST || memcmp(&o->c, &n->c, sizeof o->c) == 0))
            return (int)i;
    }
    if (p->nnodes >= FX_MAX_NODES)
        return perr(p, (size_t)n->pos, "formula too long");
    if (p->nnodes == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        cnode *nn = realloc(p->nodes, cap * sizeof *nn);
        if (!nn)
            return poom(p);
        p->nodes = nn;
        p->cap = cap;
    }
    p->nodes[p->nnodes] = *n;
    return (int)p->nnodes++;
}

static int mk_const(parser *p, double c, int pos, int end)
{
    cnode n = {.op = FX_CONST,
               .a = -1,
               .b = -1,
               .c = c,
               .idx = -1,
               .pos = pos,
               .end = end,
               .dep = 0,
               .slot = -1};
    return add_node(p, &n);
}

static int mk_op(parser *p, int op, int a, int b, int pos, int end);

/* Build op(a, b) after algebraic rewrites; -1 on error. */
static int mk_op(parser *p, int op, int a, int b, int pos, int end)
{
    if (a < 0 || (!op_unary(op) && b < 0))
        return -1;
    const cnode *na = &p->nodes[a];
    const cnode *nb = op_unary(op) ? NULL : &p->nodes[b];
    int dep = na->dep | (nb ? nb->dep : 0);
    if (dep == 0) { /* fold constants */
        double v = fexpr__apply(op, na->c, nb ? nb->c : 0);
        if (!isfinite(v))
            return perr(p, (size_t)pos,
                        "constant subexpression '%.*s' is not finite",
                        end - pos > 60 ? 60 : end - pos, p->src + pos);
        return mk_const(p, v, pos, end);
    }
    if (op == FX_POW && nb->dep == 0) {
        double c = nb->c;
        if (c == 1)
            return a;
        if (c == 0)
            return mk_const(p, 1.0, pos, end);
        if (c == 2)
            return mk_op(p, FX_SQR, a, -1, pos, end);
        if (c == 0.5)
            return mk_op(p, FX_SQRT, a, -1, pos, end);
        if (c == -1)
            return mk_op(p, FX_RECIP, a, -1, pos, end);
    }
    if (op == FX_POW && na->dep == DEP_DATA) {
        /* x^y with data-only x: exp(y * log x), log x computed once per
         * data set (and checked > 0 there) */
        cnode l = {.op = FX_LOG,
                   .a = a,
                   .b = -1,
                   .idx = -1,
                   .pos = na->pos,
                   .end = na->end,
                   .dep = DEP_DATA,
                   .powbase = 1,
                   .slot = -1};
        int li = add_node(p, &l);
        if (li < 0)
            return -1;
        int m = mk_op(p, FX_MUL, b, li, pos, end);
        return mk_op(p, FX_EXP, m, -1, pos, end);
    }
    if (op == FX_DIV && nb->dep == 0 && nb->c == 0)
        return perr(p, (size_t)pos, "division by zero");
    if (op == FX_DIV && nb->dep == 0) /* x / c -> x * (1/c) */
        return mk_op(p, FX_MUL, a, mk_const(p, 1.0 / nb->c, nb->pos, nb->end),
                     pos, end);
    cnode n = {.op = op,
               .a = a,
               .b = nb ? b : -1,
               .idx = -1,
               .pos = pos,
               .end = end,
               .dep = dep,
               .slot = -1};
    return add_node(p, &n);
}

/* ---- lexer ------------------------------------------------------------- */

static void skip_ws(parser *p)
{
    while (p->pos < p->len &&
           (p->src[p->pos] == ' ' || p->src[p->pos] == '\t' ||
            p->src[p->pos] == '\n' || p->src[p->pos] == '\r'))
        p->pos++;
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Peek the next significant character (0 at the end). */
static char peek(parser *p)
{
    skip_ws(p);
    return p->pos < p->len ? p->src[p->pos] : 0;
}

static bool accept(parser *p, char c)
{
    if (peek(p) == c) {
        p->pos++;
        return true;
    }
    return false;
}

/* Describe the token at the current position for messages. */
static void describe_here(parser *p, char *buf, size_t sz)
{
    char c = peek(p);
    if (!c)
        snprintf(buf, sz, "end of formula");
    else if ((unsigned char)c < 0x20 || (unsigned char)c >= 0x7f)
        snprintf(buf, sz, "byte 0x%02x", (unsigned char)c);
    else
        snprintf(buf, sz, "'%c'", c);
}

/* ---- recursive descent -------------------------------------------------- */

static int parse_expr(parser *p);
static int parse_unary(parser *p);

static int parse_number(parser *p)
{
    size_t s = p->pos, i = s;
    char buf[64];
    while (i < p->len && is_digit(p->src[i]))
        i++;
    if (i < p->len && p->src[i] == '.') {
        i++;
        while (i < p->len && is_digit(p->src[i]))
            i++;
    }
    if (i == s + 1 && p->src[s] == '.')
        return perr(p, s, "malformed number");
    if (i < p->len && (p->src[i] == 'e' || p->src[i] == 'E')) {
        size_t j = i + 1;
        if (j < p->len && (p->src[j] == '+' || p->src[j] == '-'))
            j++;
        if (j < p->len && is_digit(p->src[j])) {
            while (j < p->len && is_digit(p->src[j]))
                j++;
            i = j;
        } else {
            return perr(p, i, "malformed exponent in number");
        }
    }
    if (i - s >= sizeof buf)
        return perr(p, s, "number too long");
    memcpy(buf, p->src + s, i - s);
    buf[i - s] = '\0';
    double v = strtod(buf, NULL);
    if (!isfinite(v))
        return perr(p, s, "number out of range");
    p->pos = i;
    return mk_const(p, v, (int)s, (int)i);
}

static int find_name(const char *const *names, size_t n, const char *s,
                     size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (names[i] && strlen(names[i]) == len &&
            memcmp(names[i], s, len) == 0)
            return (int)i;
    return -1;
}

/* Function table: name, op, arity. */
static const struct {
    const char *name;
    int op;
    int arity;
} funcs[] = {
    {"log", FX_LOG, 1},     {"ln", FX_LOG, 1},    {"log10", -10, 1},
    {"exp", FX_EXP, 1},     {"sqrt", FX_SQRT, 1}, {"abs", FX_ABS, 1},
    {"sigmoid", FX_SIG, 1}, {"tanh", FX_TANH, 1}, {"pow", FX_POW, 2},
    {"min", FX_MIN, 2},     {"max", FX_MAX, 2},
};

static int parse_call(parser *p, size_t s, size_t len)
{
    int fi = -1;
    int args[2] = {-1, -1};
    int nargs = 0;
    for (size_t i = 0; i < sizeof funcs / sizeof funcs[0]; i++)
        if (strlen(funcs[i].name) == len &&
            memcmp(funcs[i].name, p->src + s, len) == 0)
            fi = (int)i;
    if (fi < 0)
        return perr(p, s,
                    "unknown function '%.*s' (known: log, ln, log10, exp, "
                    "sqrt, abs, sigmoid, tanh, pow, min, max)",
                    (int)(len > 40 ? 40 : len), p->src + s);
    p->pos++; /* '(' */
    if (peek(p) == ')')
        return perr(p, p->pos, "%s() takes %d argument%s, got 0",
                    funcs[fi].name, funcs[fi].arity,
                    funcs[fi].arity == 1 ? "" : "s");
    for (;;) {
        int a = parse_expr(p);
        if (a < 0)
            return -1;
        if (nargs < 2)
            args[nargs] = a;
        nargs++;
        if (accept(p, ','))
            continue;
        if (accept(p, ')'))
            break;
        char what[32];
        describe_here(p, what, sizeof what);
        return perr(p, p->pos, "expected ',' or ')', got %s", what);
    }
    if (nargs != funcs[fi].arity)
        return perr(p, s, "%s() takes %d argument%s, got %d", funcs[fi].name,
                    funcs[fi].arity, funcs[fi].arity == 1 ? "" : "s", nargs);
    int end = (int)p->pos;
    if (funcs[fi].op == -10) { /* log10(x) = log(x) * (1/ln 10) */
        int l = mk_op(p, FX_LOG, args[0], -1, (int)s, end);
        return mk_op(p, FX_MUL, l, mk_const(p, 1.0 / log(10.0), (int)s, end),
                     (int)s, end);
    }
    return mk_op(p, funcs[fi].op, args[0], args[1], (int)s, end);
}

static int parse_primary(parser *p)
{
    char c = peek(p);
    size_t s = p->pos;
    if (is_digit(c) || c == '.')
        return parse_number(p);
    if (c == '(') {
        p->pos++;
        int e = parse_expr(p);
        if (e < 0)
            return -1;
        if (!accept(p, ')')) {
            char what[32];
            describe_here(p, what, sizeof what);
            return perr(p, p->pos, "expected ')', got %s", what);
        }
        return e;
    }
    if (is_alpha(c)) {
        size_t i = s;
        while (i < p->len && (is_alpha(p->src[i]) || is_digit(p->src[i])))
            i++;
        size_t len = i - s;
        p->pos = i;
        if (peek(p) == '(')
            return parse_call(p, s, len);
        int v = find_name(p->vars, p->nvars, p->src + s, len);
        if (v >= 0) {
            cnode n = {.op = FX_VAR,
                       .a = -1,
                       .b = -1,
                       .idx = v,
                       .pos = (int)s,
                       .end = (int)i,
                       .dep = DEP_DATA,
                       .slot = -1};
            return add_node(p, &n);
        }
        v = find_name(p->params, p->nparams, p->src + s, len);
        if (v >= 0) {
            cnode n = {.op = FX_PARAM,
                       .a = -1,
                       .b = -1,
                       .idx = v,
                       .pos = (int)s,
                       .end = (int)i,
                       .dep = DEP_PARAM,
                       .slot = -1};
            return add_node(p, &n);
        }
        if (len == 2 && memcmp(p->src + s, "pi", 2) == 0)
            return mk_const(p, 3.14159265358979323846, (int)s, (int)i);
        if (len == 1 && p->src[s] == 'e')
            return mk_const(p, 2.71828182845904523536, (int)s, (int)i);
        return perr(p, s,
                    "unknown name '%.*s': not a variable, parameter or "
                    "constant",
                    (int)(len > 40 ? 40 : len), p->src + s);
    }
    char what[32];
    describe_here(p, what, sizeof what);
    return perr(p, p->pos, "expected a number, name or '(', got %s", what);
}

static int parse_power(parser *p)
{
    size_t s = (peek(p), p->pos);
    int base = parse_primary(p);
    if (base < 0)
        return -1;
    if (accept(p, '^')) {
        int ex = parse_unary(p);
        return mk_op(p, FX_POW, base, ex, (int)s, (int)p->pos);
    }
    return base;
}

static int parse_unary(parser *p)
{
    size_t s = (peek(p), p->pos);
    int r;
    if (++p->depth > FX_MAX_DEPTH)
        return perr(p, s, "formula nested too deeply");
    if (accept(p, '-')) {
        int a = parse_unary(p);
        r = mk_op(p, FX_NEG, a, -1, (int)s, (int)p->pos);
    } else if (accept(p, '+')) {
        r = parse_unary(p);
    } else {
        r = parse_power(p);
    }
    p->depth--;
    return r;
}

static int parse_term(parser *p)
{
    size_t s = (peek(p), p->pos);
    int left = parse_unary(p);
    while (left >= 0) {
        char c = peek(p);
        if (c != '*' && c != '/')
            break;
        p->pos++;
        int right = parse_unary(p);
        left = mk_op(p, c == '*' ? FX_MUL : FX_DIV, left, right, (int)s,
                     (int)p->pos);
    }
    return left;
}

static int parse_expr(parser *p)
{
    size_t s = (peek(p), p->pos);
    if (++p->depth > FX_MAX_DEPTH)
        return perr(p, s, "formula nested too deeply");
    int left = parse_term(p);
    while (left >= 0) {
        char c = peek(p);
        if (c != '+' && c != '-')
            break;
        p->pos++;
        int right = parse_term(p);
        left = mk_op(p, c == '+' ? FX_ADD : FX_SUB, left, right, (int)s,
                     (int)p->pos);
    }
    p->depth--;
    return left;
}

/* ---- compilation into tapes --------------------------------------------- */

void fexpr_free(fexpr *e)
{
    if (!e)
        return;
    free(e->var_used);
    free(e->param_used);
    free(e->scal_init);
    free(e->scal_dep);
    free(e->param_scal);
    free(e->stape);
    free(e->var_data);
    free(e->dtape);
    for (size_t i = 0; e->dtext && i < e->ndtape; i++)
        free(e->dtext[i]);
    free(e->dtext);
    free(e->dbase);
    free(e->ptape);
    free(e->feed);
    free(e->feed_of);
    free(e->bcast);
    free(e);
}

static int operand(const cnode *nodes, int i, uint8_t *kind)
{
    const cnode *n = &nodes[i];
    if (n->dep == DEP_PARAM || n->dep == 0)
        *kind = FX_K_SCAL;
    else if (n->dep == DEP_DATA)
        *kind = FX_K_DATA;
    else
        *kind = FX_K_PT;
    return n->slot;
}

static char *span_text(const char *src, int pos, int end)
{
    int len = end - pos;
    if (len < 0)
        len = 0;
    if (len > 80)
        len = 80;
    char *t = malloc((size_t)len + 1);
    if (t) {
        memcpy(t, src + pos, (size_t)len);
        t[len] = '\0';
    }
    return t;
}

/* Turn the live part of the DAG rooted at `root` into tapes. */
static int build(parser *p, int root, fexpr *e)
{
    size_t nn = p->nnodes;
    cnode *nodes = p->nodes;
    unsigned char *live = calloc(nn ? nn : 1, 1);
    if (!live)
        return poom(p);
    live[root] = 1;
    for (size_t i = nn; i-- > 0;) {
        if (!live[i])
            continue;
        if (nodes[i].a >= 0)
            live[nodes[i].a] = 1;
        if (nodes[i].b >= 0)
            live[nodes[i].b] = 1;
    }
    /* capacities: every live node takes at most one slot and one
     * instruction; +1 for a final copy */
    size_t cap = nn + 1;
    e->scal_init = calloc(cap, sizeof *e->scal_init);
    e->scal_dep = calloc(cap, 1);
    e->stape = calloc(cap, sizeof *e->stape);
    e->dtape = calloc(cap, sizeof *e->dtape);
    e->dtext = calloc(cap, sizeof *e->dtext);
    e->dbase = calloc(cap, 1);
    e->ptape = calloc(cap, sizeof *e->ptape);
    e->feed = calloc(cap, sizeof *e->feed);
    e->feed_of = calloc(cap, sizeof *e->feed_of);
    e->bcast = calloc(cap, sizeof *e->bcast);
    if (!e->bcast || !e->scal_init || !e->scal_dep || !e->stape || !e->dtape ||
        !e->dtext || !e->dbase || !e->ptape || !e->feed || !e->feed_of) {
        free(live);
        return poom(p);
    }
    for (size_t i = 0; i < nn; i++) {
        cnode *n = &nodes[i];
        if (!live[i])
            continue;
        fexpr_ins ins = {.op = (uint8_t)n->op, .a = -1, .b = -1};
        if (n->a >= 0)
            ins.a = operand(nodes, n->a, &ins.ka);
        if (n->b >= 0)
            ins.b = operand(nodes, n->b, &ins.kb);
        switch (n->op) {
        case FX_CONST:
            n->slot = (int)e->nscal;
            e->scal_init[e->nscal++] = n->c;
            break;
        case FX_PARAM:
            n->slot = (int)e->nscal;
            e->scal_dep[e->nscal] = 1;
            e->param_scal[n->idx] = n->slot;
            e->param_used[n->idx] = 1;
            e->nscal++;
            break;
        case FX_VAR:
            n->slot = (int)e->ndata++;
            e->var_data[n->idx] = n->slot;
            e->var_used[n->idx] = 1;
            break;
        default:
            if (n->dep == DEP_PARAM) {
                n->slot = (int)e->nscal;
                e->scal_dep[e->nscal++] = 1;
                ins.out = n->slot;
                e->stape[e->nstape++] = ins;
            } else if (n->dep == DEP_DATA) {
                n->slot = (int)e->ndata++;
                ins.out = n->slot;
                /* messages about log/sqrt name the argument */
                const cnode *sn =
                    n->op == FX_LOG || n->op == FX_SQRT ? &nodes[n->a] : n;
                e->dtext[e->ndtape] = span_text(p->src, sn->pos, sn->end);
                if (!e->dtext[e->ndtape]) {
                    free(live);
                    return poom(p);
                }
                e->dbase[e->ndtape] = (unsigned char)n->powbase;
                e->dtape[e->ndtape++] = ins;
            } else {
                n->slot = (int)e->npt++;
                ins.out = n->slot;
                e->ptape[e->nptape++] = ins;
            }
            break;
        }
    }
    free(live);
    if (nodes[root].dep != (DEP_PARAM | DEP_DATA)) {
        fexpr_ins ins = {.op = FX_COPY, .b = -1, .out = (int32_t)e->npt++};
        ins.a = operand(nodes, root, &ins.ka);
        e->ptape[e->nptape++] = ins;
        e->root = ins.out;
    } else {
        e->root = nodes[root].slot;
    }
    unsigned char *seen = calloc(e->nscal + 1, 1);
    if (!seen)
        return poom(p);
    for (size_t s = 0; s < e->nscal; s++)
        e->feed_of[s] = -1;
    for (size_t i = 0; i < e->nptape; i++) {
        const fexpr_ins *in = &e->ptape[i];
        int32_t ops[2] = {in->ka == FX_K_SCAL ? in->a : -1,
                          in->b >= 0 && in->kb == FX_K_SCAL ? in->b : -1};
        for (int j = 0; j < 2; j++) {
            int32_t s = ops[j];
            if (s < 0 || seen[s])
                continue;
            seen[s] = 1;
            e->bcast[e->nbcast++] = s;
            if (e->scal_dep[s]) {
                e->feed_of[s] = (int32_t)e->nfeed;
                e->feed[e->nfeed++] = s;
            }
        }
    }
    free(seen);
    /* first adjoint writes in reverse order (a before b within one
     * instruction, as the evaluator does) */
    unsigned char *pseen = calloc(e->npt + 1, 1);
    unsigned char *fseen = calloc(e->nfeed + 1, 1);
    if (!pseen || !fseen) {
        free(pseen);
        free(fseen);
        return poom(p);
    }
    for (size_t i = e->nptape; i-- > 0;) {
        fexpr_ins *in = &e->ptape[i];
        for (int j = 0; j < 2; j++) {
            uint8_t kind = j ? in->kb : in->ka;
            int32_t s = j ? in->b : in->a;
            unsigned char *seenp = NULL;
            if (s < 0)
                continue;
            if (kind == FX_K_PT)
                seenp = &pseen[s];
            else if (kind == FX_K_SCAL && e->feed_of[s] >= 0)
                seenp = &fseen[e->feed_of[s]];
            if (!seenp)
                continue;
            if (j)
                in->fb = !*seenp;
            else
                in->fa = !*seenp;
            *seenp = 1;
        }
    }
    free(pseen);
    free(fseen);
    return 0;
}

int fexpr_compile(const char *src, const char *label, const char *const *vars,
                  size_t nvars, const char *const *params, size_t nparams,
                  unsigned flags, fexpr **out, assay_error *err)
{
    parser p = {.src = src ? src : "",
                .label = label ? label : "formula",
                .vars = vars,
                .nvars = nvars,
                .params = params,
                .nparams = nparams,
                .err = err};
    fexpr *e = NULL;
    *out = NULL;
    p.len = strlen(p.src);
    if (p.len > FX_MAX_SRC)
        return assay_error_set(err, ASSAY_EINVAL,
                               "%s: formula longer than %d bytes", p.label,
                               FX_MAX_SRC);
    if (peek(&p) == 0) {
        perr(&p, 0, "empty formula");
        goto fail;
    }
    int root = parse_expr(&p);
    if (root < 0)
        goto fail;
    if (peek(&p) != 0) {
        char what[32];
        describe_here(&p, what, sizeof what);
        perr(&p, p.pos, "unexpected %s after the end of the formula", what);
        goto fail;
    }
    if (flags & FEXPR_LOG_OUTPUT) {
        root = mk_op(&p, FX_LOG, root, -1, 0, (int)p.len);
        if (root < 0)
            goto fail;
    }
    if (!(p.nodes[root].dep & DEP_PARAM)) {
        perr(&p, 0, "the formula does not depend on any parameter");
        goto fail;
    }
    e = calloc(1, sizeof *e);
    if (!e) {
        poom(&p);
        goto fail;
    }
    e->nvars = nvars;
    e->nparams = nparams;
    e->var_used = calloc(nvars + 1, 1);
    e->param_used = calloc(nparams + 1, 1);
    e->param_scal = malloc((nparams + 1) * sizeof *e->param_scal);
    e->var_data = malloc((nvars + 1) * sizeof *e->var_data);
    if (!e->var_used || !e->param_used || !e->param_scal || !e->var_data) {
        poom(&p);
        goto fail;
    }
    for (size_t i = 0; i < nparams; i++)
        e->param_scal[i] = -1;
    for (size_t i = 0; i < nvars; i++)
        e->var_data[i] = -1;
    if (build(&p, root, e) < 0)
        goto fail;
    free(p.nodes);
    *out = e;
    return 0;
fail:
    free(p.nodes);
    fexpr_free(e);
    return p.rc ? p.rc : ASSAY_EINTERNAL;
}

size_t fexpr_nparams(const fexpr *e)
{
    return e->nparams;
}

size_t fexpr_nvars(const fexpr *e)
{
    return e->nvars;
}

bool fexpr_uses_var(const fexpr *e, size_t i)
{
    return i < e->nvars && e->var_used[i];
}

bool fexpr_uses_param(const fexpr *e, size_t i)
{
    return i < e->nparams && e->param_used[i];
}

size_t fexpr_point_ops(const fexpr *e)
{
    return e->nptape;
}
