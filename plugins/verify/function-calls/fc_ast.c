/*
 * fc_ast.c - see fc_ast.h.
 */
#include "fc_ast.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jc_text.h"
#include "syn_pylit.h"

char *fc_ast_standardize(const char *s)
{
    size_t n = strlen(s), k = 0;
    char *o = malloc(n + 1);
    if (!o)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (strchr(" ,./-_*^", c))
            continue;
        if (c == '\'')
            c = '"';
        o[k++] = (char)tolower((unsigned char)c);
    }
    o[k] = '\0';
    return o;
}

void fc_ast_category(const char *id, char *out, size_t outsz)
{
    size_t n = strlen(id), cut = n;
    for (size_t i = n; i-- > 0;) {
        if (id[i] != '_')
            continue;
        bool tail = i + 1 < n && isdigit((unsigned char)id[i + 1]);
        for (size_t j = i + 1; tail && j < n; j++)
            tail = isdigit((unsigned char)id[j]) || id[j] == '-';
        if (tail) {
            cut = i;
            break;
        }
    }
    snprintf(out, outsz, "%.*s", (int)cut, id);
}

/* ---- decoding ------------------------------------------------------------ */

static int add_call(json_t *calls, const char *name, const json_t *args)
{
    json_t *a = NULL;
    if (json_is_string(args)) {
        a = json_loads(json_string_value(args), 0, NULL);
        if (!json_is_object(a)) {
            json_decref(a);
            return ASSAY_EDATA;
        }
    } else if (json_is_object(args)) {
        a = json_incref((json_t *)args);
    } else if (!args || json_is_null(args)) {
        a = json_object();
    } else {
        return ASSAY_EDATA;
    }
    json_t *c = json_pack("{s:s, s:o}", "name", name, "arguments", a);
    if (!c)
        return ASSAY_ENOMEM;
    return json_array_append_new(calls, c) ? ASSAY_ENOMEM : ASSAY_OK;
}

static int decode_value(const json_t *v, json_t *calls, char *why, size_t whysz,
                        int depth);

/* Strip ``` fences and blanks; returns a new string. */
static char *unfence(const char *s)
{
    const char *a = s, *f = strstr(s, "```");
    if (f) {
        a = f + 3;
        while (isalpha((unsigned char)*a))
            a++; /* ```python, ```json */
        const char *e = strstr(a, "```");
        size_t n = e ? (size_t)(e - a) : strlen(a);
        char *o = malloc(n + 1);
        if (o) {
            memcpy(o, a, n);
            o[n] = '\0';
        }
        return o;
    }
    return jc_strdup(s);
}

static int decode_text(const char *text, json_t *calls, char *why, size_t whysz,
                       int depth)
{
    char *t = unfence(text);
    if (!t)
        return ASSAY_ENOMEM;
    char *p = t;
    while (*p && isspace((unsigned char)*p))
        p++;
    int rc = ASSAY_OK;
    if (!*p)
        goto done;
    if (*p == '[' || *p == '{') {
        json_t *v = json_loads(p, 0, NULL);
        if (v) {
            rc = decode_value(v, calls, why, whysz, depth + 1);
            json_decref(v);
            goto done;
        }
    }
    json_t *pc = NULL;
    assay_error e;
    rc = syn_pycalls_parse(p, strlen(p), &pc, &e);
    if (rc == ASSAY_OK) {
        size_t i;
        json_t *c;
        json_array_foreach(pc, i, c)
        {
            if ((rc = add_call(calls,
                               json_string_value(json_object_get(c, "name")),
                               json_object_get(c, "arguments"))))
                break;
        }
        json_decref(pc);
    } else if (rc != ASSAY_ENOMEM) {
        snprintf(why, whysz, "not a call: %s", e.text);
        rc = ASSAY_EDATA;
    }
done:
    free(t);
    return rc;
}

static int decode_one(const json_t *e, json_t *calls, char *why, size_t whysz,
                      int depth)
{
    if (json_is_string(e))
        return decode_text(json_string_value(e), calls, why, whysz, depth);
    if (!json_is_object(e)) {
        snprintf(why, whysz, "a call is neither an object nor text");
        return ASSAY_EDATA;
    }
    const json_t *fn = json_object_get(e, "function");
    if (json_is_object(fn))
        e = fn;
    const json_t *name = json_object_get(e, "name");
    if (json_is_string(name)) {
        int rc = add_call(calls, json_string_value(name),
                          json_object_get(e, "arguments"));
        if (rc == ASSAY_EDATA)
            snprintf(why, whysz, "%s: the arguments are not an object",
                     json_string_value(name));
        return rc;
    }
    if (json_object_size(e) == 1) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)e, k, v)
        {
            if (json_is_object(v) || json_is_string(v)) {
                int rc = add_call(calls, k, v);
                if (rc == ASSAY_EDATA)
                    snprintf(why, whysz, "%s: the arguments are not an object",
                             k);
                return rc;
            }
        }
    }
    snprintf(why, whysz, "an object that is not a call");
    return ASSAY_EDATA;
}

static int decode_value(const json_t *v, json_t *calls, char *why, size_t whysz,
                        int depth)
{
    if (depth > 4) {
        snprintf(why, whysz, "calls nested too deeply");
        return ASSAY_EDATA;
    }
    if (!v || json_is_null(v))
        return ASSAY_OK;
    if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            int rc = decode_one(e, calls, why, whysz, depth);
            if (rc)
                return rc;
        }
        return ASSAY_OK;
    }
    return decode_one(v, calls, why, whysz, depth);
}

int fc_ast_decode(const json_t *answer, json_t **calls, char *why, size_t whysz)
{
    *calls = json_array();
    if (!*calls)
        return ASSAY_ENOMEM;
    why[0] = '\0';
    int rc = decode_value(answer, *calls, why, whysz, 0);
    if (rc) {
        json_decref(*calls);
        *calls = NULL;
    }
    return rc;
}

/* ---- checking --------------------------------------------------------------
 */

enum { T_ANY, T_STR, T_INT, T_NUM, T_BOOL, T_ARR, T_OBJ };

static int map_type(const char *t)
{
    static const struct {
        const char *name;
        int code;
    } tab[] = {
        {"string", T_STR},   {"String", T_STR},    {"str", T_STR},
        {"char", T_STR},     {"Character", T_STR}, {"integer", T_INT},
        {"int", T_INT},      {"long", T_INT},      {"Long", T_INT},
        {"Integer", T_INT},  {"short", T_INT},     {"byte", T_INT},
        {"float", T_NUM},    {"double", T_NUM},    {"Double", T_NUM},
        {"Float", T_NUM},    {"number", T_NUM},    {"boolean", T_BOOL},
        {"Boolean", T_BOOL}, {"bool", T_BOOL},     {"array", T_ARR},
        {"Array", T_ARR},    {"ArrayList", T_ARR}, {"List", T_ARR},
        {"tuple", T_ARR},    {"list", T_ARR},      {"Set", T_ARR},
        {"dict", T_OBJ},     {"HashMap", T_OBJ},   {"Map", T_OBJ},
        {"object", T_OBJ},
    };
    if (!t)
        return T_ANY;
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (!strcmp(t, tab[i].name))
            return tab[i].code;
    return T_ANY;
}

static bool is_type(const json_t *v, int t)
{
    switch (t) {
    case T_STR:
        return json_is_string(v);
    case T_INT:
        return json_is_integer(v);
    case T_NUM:
        return json_is_number(v);
    case T_BOOL:
        return json_is_boolean(v);
    case T_ARR:
        return json_is_array(v);
    case T_OBJ:
        return json_is_object(v);
    }
    return true;
}

/* Java/JavaScript: a string holding a literal of type t, as a value (new
 * reference) or NULL. */
static json_t *literal_of(const char *s, int t)
{
    size_t n = strlen(s);
    char buf[128];
    if ((t == T_INT || t == T_NUM) && n > 0 && n < sizeof buf) {
        memcpy(buf, s, n + 1);
        if (strchr("LlFfDd", buf[n - 1]))
            buf[n - 1] = '\0';
        char *end;
        if (t == T_INT) {
            long long x = strtoll(buf, &end, 10);
            if (*buf && !*end)
                return json_integer((json_int_t)x);
        } else {
            double x = strtod(buf, &end);
            if (*buf && !*end)
                return json_real(x);
        }
        return NULL;
    }
    if (t == T_BOOL) {
        if (!strcmp(s, "true"))
            return json_true();
        if (!strcmp(s, "false"))
            return json_false();
        return NULL;
    }
    if (t == T_ARR || t == T_OBJ) {
        json_t *v = json_loads(s, 0, NULL);
        if (v && is_type(v, t))
            return v;
        json_decref(v);
    }
    return NULL;
}

static bool values_match(const json_t *v, const json_t *cand);

/* `v` equals one of the acceptable values in list `acc` ("" skipped). */
static bool acceptable(const json_t *v, const json_t *acc)
{
    if (!json_is_array(acc))
        return values_match(v, acc);
    size_t i;
    json_t *c;
    json_array_foreach(acc, i, c)
    {
        if (json_is_string(c) && json_string_length(c) == 0)
            continue;
        if (values_match(v, c))
            return true;
    }
    return false;
}

static bool optional_in(const json_t *acc)
{
    size_t i;
    json_t *c;
    json_array_foreach(acc, i, c) if (json_is_string(c) &&
                                      json_string_length(c) == 0) return true;
    return false;
}

static bool values_match(const json_t *v, const json_t *cand)
{
    if (json_is_string(v) && json_is_string(cand)) {
        char *a = fc_ast_standardize(json_string_value(v));
        char *b = fc_ast_standardize(json_string_value(cand));
        bool eq = a && b && !strcmp(a, b);
        free(a);
        free(b);
        return eq;
    }
    if (json_is_number(v) && json_is_number(cand))
        return json_number_value(v) == json_number_value(cand);
    if (json_is_array(v) && json_is_array(cand)) {
        if (json_array_size(v) != json_array_size(cand))
            return false;
        for (size_t i = 0; i < json_array_size(v); i++)
            if (!values_match(json_array_get(v, i), json_array_get(cand, i)))
                return false;
        return true;
    }
    if (json_is_object(v) && json_is_object(cand)) {
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x)
        {
            const json_t *acc = json_object_get(cand, k);
            if (!acc || !acceptable(x, acc))
                return false;
        }
        json_object_foreach((json_t *)cand, k, x)
        {
            if (!json_object_get(v, k) && !(json_is_array(x) && optional_in(x)))
                return false;
        }
        return true;
    }
    return json_equal((json_t *)v, (json_t *)cand) != 0;
}

/* Same kind of JSON value (numbers of either kind agree; arrays when
 * each element agrees with some element of the other). */
static bool kinds_agree(const json_t *v, const json_t *c)
{
    if (json_is_number(v) && json_is_number(c))
        return true;
    if (json_is_boolean(v) && json_is_boolean(c))
        return true;
    if (json_typeof(v) != json_typeof(c))
        return false;
    if (!json_is_array(v) || json_array_size(c) == 0)
        return true;
    size_t i, k;
    json_t *e, *f;
    json_array_foreach(v, i, e)
    {
        bool any = false;
        json_array_foreach(c, k, f) any = any || kinds_agree(e, f);
        if (!any)
            return false;
    }
    return true;
}

/* Is `v` of the kind of some acceptable value?  Then it passes the type
 * check whatever the declared type, as in BFCL, whose ground truth
 * writes variables as strings ("data['sales']" for an array) and
 * sometimes lists values of another item type than declared. */
static bool kind_of_acceptable(const json_t *v, const json_t *acc)
{
    size_t i;
    json_t *c;
    json_array_foreach(acc, i, c)
    {
        if (json_is_string(c) && json_string_length(c) == 0)
            continue;
        if (kinds_agree(v, c))
            return true;
    }
    return false;
}

static bool names_equal(const char *a, const char *b, const fc_ast_opts *o)
{
    if (!a || !b)
        return false;
    if (!strcmp(a, b))
        return true;
    if (!o->underscore_names)
        return false;
    for (; *a && *b; a++, b++) {
        char x = *a == '.' ? '_' : *a, y = *b == '.' ? '_' : *b;
        if (x != y)
            return false;
    }
    return *a == *b;
}

static const json_t *find_fn(const json_t *funcs, const char *name,
                             const fc_ast_opts *o)
{
    size_t i;
    json_t *f;
    json_array_foreach(funcs, i, f)
    {
        if (names_equal(json_string_value(json_object_get(f, "name")), name, o))
            return f;
    }
    return NULL;
}

/* Type check of `v` against property schema `ps`; *conv gets a converted
 * value (new reference) for Java/JavaScript literals, else NULL. */
static bool type_ok(const json_t *v, const json_t *ps, bool literal,
                    json_t **conv)
{
    int t = map_type(json_string_value(json_object_get(ps, "type")));
    *conv = NULL;
    if (is_type(v, t)) {
        if (t == T_ARR) {
            const json_t *items = json_object_get(ps, "items");
            size_t i;
            json_t *e;
            json_array_foreach(v, i, e)
            {
                json_t *c2;
                if (json_is_object(items) && !type_ok(e, items, false, &c2))
                    return false;
                json_decref(c2);
            }
        }
        return true;
    }
    if (literal && json_is_string(v)) {
        *conv = literal_of(json_string_value(v), t);
        return *conv != NULL;
    }
    return false;
}

static bool fail(char *error, size_t esz, char *detail, size_t dsz,
                 const char *type, const char *fmt, const char *a,
                 const char *b)
{
    snprintf(error, esz, "%s", type);
    snprintf(detail, dsz, fmt, a ? a : "?", b ? b : "?");
    return false;
}

/* One call against one ground-truth entry {"fname": {param: [values]}}. */
static bool call_matches(const json_t *funcs, const json_t *call,
                         const json_t *gt, bool literal, const fc_ast_opts *o,
                         char *error, size_t esz, char *detail, size_t dsz)
{
    const char *gname = NULL;
    const json_t *gparams = NULL;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)gt, k, v)
    {
        gname = k;
        gparams = v;
    }
    const char *name = json_string_value(json_object_get(call, "name"));
    const json_t *args = json_object_get(call, "arguments");
    if (!names_equal(name, gname, o))
        return fail(error, esz, detail, dsz, "wrong_name",
                    "called %s, expected %s", name, gname);
    const json_t *fn = find_fn(funcs, gname, o);
    const json_t *params = json_object_get(fn, "parameters");
    const json_t *props = json_object_get(params, "properties");
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(params, "required"), i, r)
    {
        const char *rn = json_string_value(r);
        if (rn && !json_object_get(args, rn))
            return fail(error, esz, detail, dsz, "missing_required",
                        "%s: required parameter %s is missing", gname, rn);
    }
    json_object_foreach((json_t *)args, k, v)
    {
        const json_t *ps = json_object_get(props, k);
        const json_t *acc = json_object_get(gparams, k);
        if (!ps)
            return fail(error, esz, detail, dsz, "unexpected_param",
                        "%s: parameter %s is not in the definition", gname, k);
        if (!acc)
            return fail(error, esz, detail, dsz, "unexpected_param",
                        "%s: parameter %s is not expected", gname, k);
        if (json_is_null(v) && acceptable(v, acc))
            continue; /* None where the ground truth allows it */
        if (json_is_array(acc) && json_array_size(acc) == 0) {
            /* no acceptable value listed: BFCL's way of writing an
             * empty list as the only answer */
            if (json_is_array(v) && json_array_size(v) == 0)
                continue;
            return fail(error, esz, detail, dsz, "value_error",
                        "%s: parameter %s should be an empty list", gname, k);
        }
        json_t *conv;
        if (!type_ok(v, ps, literal, &conv) && !kind_of_acceptable(v, acc))
            return fail(error, esz, detail, dsz, "type_error",
                        "%s: parameter %s has the wrong type", gname, k);
        bool ok = acceptable(conv ? conv : v, acc);
        json_decref(conv);
        if (!ok)
            return fail(error, esz, detail, dsz, "value_error",
                        "%s: parameter %s has a value that is not "
                        "accepted",
                        gname, k);
    }
    json_object_foreach((json_t *)gparams, k, v)
    {
        if (!json_object_get(args, k) && !optional_in(v))
            return fail(error, esz, detail, dsz, "missing_param",
                        "%s: parameter %s is expected but missing", gname, k);
    }
    return true;
}

/* Perfect matching of calls to ground-truth entries by backtracking. */
static bool assign(const unsigned char *ok, size_t n, size_t row,
                   unsigned char *used)
{
    if (row == n)
        return true;
    for (size_t j = 0; j < n; j++) {
        if (used[j] || !ok[row * n + j])
            continue;
        used[j] = 1;
        if (assign(ok, n, row + 1, used))
            return true;
        used[j] = 0;
    }
    return false;
}

bool fc_ast_check(const json_t *q, const json_t *gt, const char *category,
                  const json_t *calls, const fc_ast_opts *o, char *error,
                  size_t errsz, char *detail, size_t detsz)
{
    const json_t *funcs = json_object_get(q, "function");
    size_t nc = json_array_size(calls), ng = json_array_size(gt);
    bool literal = strstr(category, "java") != NULL; /* java, javascript */
    char nb[32], gb[32];
    error[0] = detail[0] = '\0';
    if (strstr(category, "irrelevance")) {
        if (nc == 0)
            return true;
        return fail(error, errsz, detail, detsz, "called_irrelevant",
                    "%s called although no function fits%s",
                    json_string_value(
                        json_object_get(json_array_get(calls, 0), "name")),
                    "");
    }
    if (strstr(category, "relevance")) {
        if (nc > 0)
            return true;
        return fail(error, errsz, detail, detsz, "no_call",
                    "no function called%s%s", "", "");
    }
    snprintf(nb, sizeof nb, "%zu", nc);
    snprintf(gb, sizeof gb, "%zu", ng);
    if (nc != ng)
        return fail(error, errsz, detail, detsz, "wrong_count",
                    "%s calls, expected %s", nb, gb);
    if (ng == 0)
        return true;
    if (ng == 1)
        return call_matches(funcs, json_array_get(calls, 0),
                            json_array_get(gt, 0), literal, o, error, errsz,
                            detail, detsz);
    unsigned char *ok = calloc(ng * ng, 1), *used = calloc(ng, 1);
    if (!ok || !used) {
        free(ok);
        free(used);
        return fail(error, errsz, detail, detsz, "no_match",
                    "out of memory%s%s", "", "");
    }
    char e2[64], d2[256], first_e[64] = "", first_d[256] = "";
    for (size_t i = 0; i < ng; i++)
        for (size_t j = 0; j < ng; j++) {
            ok[i * ng + j] = call_matches(funcs, json_array_get(calls, i),
                                          json_array_get(gt, j), literal, o, e2,
                                          sizeof e2, d2, sizeof d2);
            /* remember a same-name mismatch: the likely reason */
            if (!ok[i * ng + j] && !first_e[0] &&
                strcmp(e2, "wrong_name") != 0) {
                snprintf(first_e, sizeof first_e, "%s", e2);
                snprintf(first_d, sizeof first_d, "%s", d2);
            }
        }
    bool done = assign(ok, ng, 0, used);
    free(ok);
    free(used);
    if (done)
        return true;
    snprintf(error, errsz, "no_match");
    snprintf(detail, detsz, "no one-to-one match of the calls%s%s",
             first_d[0] ? "; e.g. " : "", first_d);
    return false;
}

int fc_ast_judge(const json_t *q, const json_t *gt, const char *category,
                 const json_t *answer, const fc_ast_opts *o, bool *correct,
                 json_t **calls, char *error, size_t errsz, char *detail,
                 size_t detsz)
{
    json_t *c = NULL;
    error[0] = detail[0] = '\0';
    int rc = fc_ast_decode(answer, &c, detail, detsz);
    if (calls)
        *calls = NULL;
    if (rc == ASSAY_ENOMEM)
        return rc;
    if (rc == ASSAY_EDATA) {
        *correct = strstr(category, "irrelevance") != NULL;
        if (*correct)
            detail[0] = '\0';
        else
            snprintf(error, errsz, "decode_error");
        return ASSAY_OK;
    }
    *correct = fc_ast_check(q, gt, category, c, o, error, errsz, detail, detsz);
    if (calls)
        *calls = c;
    else
        json_decref(c);
    return ASSAY_OK;
}
