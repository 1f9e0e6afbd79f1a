/*
 * syn_schema.c - see syn_schema.h.
 */
#include "syn_schema.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SC_MAX_DEPTH 32

/* ---- the failure list --------------------------------------------------- */

void syn_fails_add(syn_fails *f, const char *rule, int at, const char *fmt, ...)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 8;
        syn_fail *v = realloc(f->v, cap * sizeof *v);
        if (!v) {
            f->oom = true;
            return;
        }
        f->v = v;
        f->cap = cap;
    }
    syn_fail *e = &f->v[f->n++];
    snprintf(e->rule, sizeof e->rule, "%s", rule);
    e->at = at;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
}

bool syn_fails_has(const syn_fails *f, const char *rule)
{
    for (size_t i = 0; i < f->n; i++)
        if (!strcmp(f->v[i].rule, rule))
            return true;
    return false;
}

void syn_fails_free(syn_fails *f)
{
    free(f->v);
    memset(f, 0, sizeof *f);
}

/* ---- types ----------------------------------------------------------------
 */

enum {
    ST_BAD = -1,
    ST_ANY = 0,
    ST_STRING,
    ST_INTEGER,
    ST_NUMBER,
    ST_BOOLEAN,
    ST_ARRAY,
    ST_OBJECT,
    ST_NULL
};

static int type_code(const char *n, bool strict)
{
    static const struct {
        const char *name;
        int code;
        bool schema;
    } tab[] = {
        {"string", ST_STRING, true}, {"integer", ST_INTEGER, true},
        {"number", ST_NUMBER, true}, {"boolean", ST_BOOLEAN, true},
        {"array", ST_ARRAY, true},   {"object", ST_OBJECT, true},
        {"null", ST_NULL, true},     {"dict", ST_OBJECT, false},
        {"float", ST_NUMBER, false}, {"int", ST_INTEGER, false},
        {"str", ST_STRING, false},   {"bool", ST_BOOLEAN, false},
        {"list", ST_ARRAY, false},   {"tuple", ST_ARRAY, false},
        {"any", ST_ANY, false},
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (!strcmp(n, tab[i].name))
            return strict && !tab[i].schema ? ST_BAD : tab[i].code;
    return ST_BAD;
}

static const char *type_label(int t)
{
    static const char *const names[] = {"any",    "string",  "integer",
                                        "number", "boolean", "array",
                                        "object", "null"};
    return t >= 0 && t <= ST_NULL ? names[t] : "?";
}

static const char *value_label(const json_t *v)
{
    if (json_is_integer(v))
        return "integer";
    if (json_is_real(v))
        return "number";
    return assay__json_type_name(v);
}

static bool value_is(const json_t *v, int t)
{
    switch (t) {
    case ST_ANY:
        return true;
    case ST_STRING:
        return json_is_string(v);
    case ST_INTEGER:
        return json_is_integer(v) ||
               (json_is_real(v) &&
                floor(json_real_value(v)) == json_real_value(v));
    case ST_NUMBER:
        return json_is_number(v);
    case ST_BOOLEAN:
        return json_is_boolean(v);
    case ST_ARRAY:
        return json_is_array(v);
    case ST_OBJECT:
        return json_is_object(v);
    case ST_NULL:
        return json_is_null(v);
    }
    return false;
}

/* The schema's declared types (up to 8): *n 0 when it declares none;
 * false when a declared name is unknown (its name in *bad). */
static bool schema_types(const json_t *s, bool strict, int *types, int *n,
                         const char **bad)
{
    const json_t *t = json_object_get(s, "type");
    *n = 0;
    *bad = NULL;
    if (!t)
        return true;
    if (json_is_string(t)) {
        types[0] = type_code(json_string_value(t), strict);
        *n = 1;
        if (types[0] == ST_BAD) {
            *bad = json_string_value(t);
            return false;
        }
        return true;
    }
    if (json_is_array(t) && json_array_size(t) > 0 && json_array_size(t) <= 8) {
        size_t i;
        json_t *e;
        json_array_foreach(t, i, e)
        {
            if (!json_is_string(e)) {
                *bad = "(not a string)";
                return false;
            }
            types[*n] = type_code(json_string_value(e), strict);
            if (types[*n] == ST_BAD) {
                *bad = json_string_value(e);
                return false;
            }
            (*n)++;
        }
        return true;
    }
    *bad = "(not a string or a list of strings)";
    return false;
}

static bool value_of_types(const json_t *v, const int *types, int n)
{
    if (n == 0)
        return true;
    for (int i = 0; i < n; i++)
        if (value_is(v, types[i]))
            return true;
    return false;
}

static void types_text(const int *types, int n, char *out, size_t sz)
{
    size_t k = 0;
    out[0] = '\0';
    for (int i = 0; i < n && k < sz; i++)
        k += (size_t)snprintf(out + k, sz - k, "%s%s", i ? " or " : "",
                              type_label(types[i]));
}

/* Equality with integers and reals compared by value. */
static bool values_equal(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b);
    if (json_is_array(a) && json_is_array(b)) {
        if (json_array_size(a) != json_array_size(b))
            return false;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!values_equal(json_array_get(a, i), json_array_get(b, i)))
                return false;
        return true;
    }
    if (json_is_object(a) && json_is_object(b)) {
        const char *k;
        json_t *v;
        if (json_object_size(a) != json_object_size(b))
            return false;
        json_object_foreach((json_t *)a, k, v)
        {
            json_t *w = json_object_get(b, k);
            if (!w || !values_equal(v, w))
                return false;
        }
        return true;
    }
    return json_equal((json_t *)a, (json_t *)b) != 0;
}

/* ---- patterns ---------------------------------------------------------------
 */

typedef struct re_buf {
    char *p;
    size_t len, cap;
    bool oom;
} re_buf;

static void rb_put(re_buf *b, const char *s)
{
    size_t n = strlen(s);
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
}

static void rb_putc(re_buf *b, char c)
{
    char s[2] = {c, '\0'};
    rb_put(b, s);
}

/* Translate a bracket expression starting at pat[*i] == '['.  POSIX
 * brackets take backslashes literally, so escapes are resolved here and
 * ']' goes first, '-' last. */
static bool re_bracket(const char *pat, size_t *i, re_buf *b)
{
    re_buf items = {0};
    bool neg = false, dash = false, close = false;
    size_t k = *i + 1;
    if (pat[k] == '^') {
        neg = true;
        k++;
    }
    for (bool first = true; pat[k]; first = false) {
        char c = pat[k];
        if (c == ']' && !first) {
            k++;
            break;
        }
        if (c == '\\' && pat[k + 1]) {
            char e = pat[k + 1];
            k += 2;
            switch (e) {
            case 'd':
                rb_put(&items, "0-9");
                break;
            case 'w':
                rb_put(&items, "A-Za-z0-9_");
                break;
            case 's':
                rb_put(&items, "[:space:]");
                break;
            case 'n':
                rb_putc(&items, '\n');
                break;
            case 't':
                rb_putc(&items, '\t');
                break;
            case 'r':
                rb_putc(&items, '\r');
                break;
            case ']':
                close = true;
                break;
            case '-':
                dash = true;
                break;
            case 'D':
            case 'W':
            case 'S':
                rb_put(&items, "\x01");
                break; /* unsupported */
            default:
                rb_putc(&items, e);
                break;
            }
            continue;
        }
        if (c == '[' && pat[k + 1] == ':') {
            const char *end = strstr(pat + k, ":]");
            if (!end)
                break;
            size_t n = (size_t)(end + 2 - (pat + k));
            char tmp[32];
            if (n >= sizeof tmp)
                break;
            memcpy(tmp, pat + k, n);
            tmp[n] = '\0';
            rb_put(&items, tmp);
            k += n;
            continue;
        }
        if (c == ']') { /* first position: a literal bracket */
            close = true;
            k++;
            continue;
        }
        if (c == '-' && (first || pat[k + 1] == ']')) {
            dash = true;
            k++;
            continue;
        }
        rb_putc(&items, c);
        k++;
    }
    bool ok = !items.oom && (!items.p || !strchr(items.p, '\x01'));
    rb_put(b, neg ? "[^" : "[");
    if (close)
        rb_putc(b, ']');
    if (items.p)
        rb_put(b, items.p);
    if (dash)
        rb_putc(b, '-');
    rb_putc(b, ']');
    if (!close && !items.p && !dash)
        ok = false; /* [] matches nothing in ECMA; not expressible */
    free(items.p);
    *i = k;
    return ok;
}

/* ECMA pattern -> POSIX ERE text (caller frees); NULL when it uses
 * something POSIX cannot express. */
static char *re_translate(const char *pat)
{
    re_buf b = {0};
    bool ok = true;
    for (size_t i = 0; pat[i] && ok;) {
        char c = pat[i];
        if (c == '[') {
            ok = re_bracket(pat, &i, &b);
            continue;
        }
        if (c == '\\' && pat[i + 1]) {
            char e = pat[i + 1];
            i += 2;
            switch (e) {
            case 'd':
                rb_put(&b, "[0-9]");
                break;
            case 'D':
                rb_put(&b, "[^0-9]");
                break;
            case 'w':
                rb_put(&b, "[A-Za-z0-9_]");
                break;
            case 'W':
                rb_put(&b, "[^A-Za-z0-9_]");
                break;
            case 's':
                rb_put(&b, "[[:space:]]");
                break;
            case 'S':
                rb_put(&b, "[^[:space:]]");
                break;
            case 'n':
                rb_putc(&b, '\n');
                break;
            case 't':
                rb_putc(&b, '\t');
                break;
            case 'r':
                rb_putc(&b, '\r');
                break;
            case '/':
                rb_putc(&b, '/');
                break;
            case 'b':
            case 'B': {
                char t[3] = {'\\', e, '\0'}; /* GNU extension */
                rb_put(&b, t);
                break;
            }
            default:
                if (isalnum((unsigned char)e)) {
                    ok = false; /* back-references, \p{..}, \u.. */
                } else {
                    char t[3] = {'\\', e, '\0'};
                    rb_put(&b, t);
                }
            }
            continue;
        }
        if (c == '(' && pat[i + 1] == '?') {
            if (pat[i + 2] != ':') {
                ok = false; /* look-around, named groups, flags */
                continue;
            }
            rb_putc(&b, '(');
            i += 3;
            continue;
        }
        if (c == '?' && i > 0 &&
            (pat[i - 1] == '*' || pat[i - 1] == '+' || pat[i - 1] == '?' ||
             pat[i - 1] == '}') &&
            !(i > 1 && pat[i - 2] == '\\')) {
            i++; /* lazy quantifier: same set of matching strings */
            continue;
        }
        rb_putc(&b, c);
        i++;
    }
    if (!ok || b.oom) {
        free(b.p);
        return NULL;
    }
    if (!b.p) {
        b.p = malloc(1);
        if (b.p)
            b.p[0] = '\0';
    }
    return b.p;
}

bool syn_pattern_match(const char *pattern, const char *s, bool *bad)
{
    regex_t re;
    char *ere = re_translate(pattern);
    *bad = false;
    if (!ere || regcomp(&re, ere, REG_EXTENDED | REG_NOSUB) != 0) {
        free(ere);
        *bad = true;
        return false;
    }
    free(ere);
    bool m = regexec(&re, s, 0, NULL, 0) == 0;
    regfree(&re);
    return m;
}

static bool pattern_compiles(const char *pattern)
{
    bool bad;
    syn_pattern_match(pattern, "", &bad);
    return !bad;
}

/* ---- formats
 * ------------------------------------------------------------------- */

static bool digits(const char *s, int n)
{
    for (int i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

static int num2(const char *s)
{
    return (s[0] - '0') * 10 + (s[1] - '0');
}

/* YYYY-MM-DD with a valid day; *len is 10 on success. */
static bool date_ok(const char *s)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (!digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' ||
        !digits(s + 8, 2))
        return false;
    int y = num2(s) * 100 + num2(s + 2), m = num2(s + 5), d = num2(s + 8);
    if (m < 1 || m > 12 || d < 1)
        return false;
    int max = mdays[m - 1];
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        max = 29;
    return d <= max;
}

/* HH:MM[:SS[.frac]][Z|+HH:MM|-HH:MM]; *end set past the time. */
static bool time_ok(const char *s)
{
    if (!digits(s, 2) || s[2] != ':' || !digits(s + 3, 2))
        return false;
    if (num2(s) > 23 || num2(s + 3) > 59)
        return false;
    const char *p = s + 5;
    if (*p == ':') {
        if (!digits(p + 1, 2) || num2(p + 1) > 60)
            return false;
        p += 3;
        if (*p == '.') {
            p++;
            if (!isdigit((unsigned char)*p))
                return false;
            while (isdigit((unsigned char)*p))
                p++;
        }
    }
    if (*p == 'Z' || *p == 'z')
        p++;
    else if (*p == '+' || *p == '-') {
        if (!digits(p + 1, 2) || p[3] != ':' || !digits(p + 4, 2) ||
            num2(p + 1) > 23 || num2(p + 4) > 59)
            return false;
        p += 6;
    }
    return *p == '\0';
}

static bool label_ok(const char *s, size_t n)
{
    if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-')
            return false;
    return true;
}

static bool hostname_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 253)
        return false;
    for (const char *p = s;;) {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p);
        if (!label_ok(p, l))
            return false;
        if (!dot)
            return true;
        p = dot + 1;
    }
}

bool syn_format_ok(const char *fmt, const char *s)
{
    if (!strcmp(fmt, "date"))
        return strlen(s) == 10 && date_ok(s);
    if (!strcmp(fmt, "time"))
        return time_ok(s);
    if (!strcmp(fmt, "date-time"))
        return strlen(s) > 11 && date_ok(s) &&
               (s[10] == 'T' || s[10] == 't' || s[10] == ' ') &&
               time_ok(s + 11);
    if (!strcmp(fmt, "email")) {
        const char *at = strchr(s, '@');
        if (!at || at == s || strchr(at + 1, '@') || strchr(s, ' '))
            return false;
        return strchr(at + 1, '.') && hostname_ok(at + 1);
    }
    if (!strcmp(fmt, "uri") || !strcmp(fmt, "url")) {
        const char *p = s;
        if (!isalpha((unsigned char)*p))
            return false;
        while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' ||
               *p == '.')
            p++;
        if (*p != ':' || !p[1])
            return false;
        for (; *p; p++)
            if (isspace((unsigned char)*p))
                return false;
        return true;
    }
    if (!strcmp(fmt, "uuid")) {
        static const int groups[] = {8, 4, 4, 4, 12};
        const char *p = s;
        for (int g = 0; g < 5; g++) {
            for (int i = 0; i < groups[g]; i++, p++)
                if (!isxdigit((unsigned char)*p))
                    return false;
            if (g < 4 && *p++ != '-')
                return false;
        }
        return *p == '\0';
    }
    if (!strcmp(fmt, "ipv4")) {
        struct in_addr a;
        return inet_pton(AF_INET, s, &a) == 1;
    }
    if (!strcmp(fmt, "ipv6")) {
        struct in6_addr a;
        return inet_pton(AF_INET6, s, &a) == 1;
    }
    if (!strcmp(fmt, "hostname"))
        return hostname_ok(s);
    return true;
}

/* ---- definitions ------------------------------------------------------------
 */

const json_t *syn_fn_body(const json_t *tool)
{
    if (!json_is_object(tool))
        return NULL;
    const json_t *fn = json_object_get(tool, "function");
    return json_is_object(fn) ? fn : tool;
}

const char *syn_fn_name(const json_t *tool)
{
    return json_string_value(json_object_get(syn_fn_body(tool), "name"));
}

static bool ident_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    if (!isalpha((unsigned char)s[0]) && s[0] != '_')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '.' &&
            s[i] != '-')
            return false;
    return true;
}

static bool blank(const char *s)
{
    for (; s && *s; s++)
        if (!isspace((unsigned char)*s))
            return false;
    return true;
}

typedef struct chk {
    const syn_schema_opts *o;
    syn_fails *f;
    int at;
    const char *fn;
} chk;

static void check_schema(chk *c, const json_t *s, const char *path, int depth);

static void check_num_pair(chk *c, const json_t *s, const char *path,
                           const char *lo, const char *hi, bool integral)
{
    const json_t *a = json_object_get(s, lo), *b = json_object_get(s, hi);
    if (a && (!json_is_number(a) ||
              (integral && (!json_is_integer(a) || json_integer_value(a) < 0))))
        syn_fails_add(c->f, "api_schema_valid", c->at,
                      "%s: %s '%s': %s must be a %s", c->fn, path, lo, lo,
                      integral ? "non-negative integer" : "number");
    if (b && (!json_is_number(b) ||
              (integral && (!json_is_integer(b) || json_integer_value(b) < 0))))
        syn_fails_add(c->f, "api_schema_valid", c->at,
                      "%s: %s: %s must be a %s", c->fn, path, hi,
                      integral ? "non-negative integer" : "number");
    if (json_is_number(a) && json_is_number(b) &&
        json_number_value(a) > json_number_value(b))
        syn_fails_add(c->f, "api_schema_valid", c->at,
                      "%s: %s: %s is greater than %s", c->fn, path, lo, hi);
}

/* `required` of an object schema: distinct names of declared
 * properties. */
static void check_required(chk *c, const json_t *s, const json_t *props,
                           const char *path)
{
    const json_t *req = json_object_get(s, "required");
    if (!req)
        return;
    if (!json_is_array(req)) {
        syn_fails_add(c->f, "api_schema_valid", c->at,
                      "%s: %s: 'required' must be a list of names", c->fn,
                      path);
        return;
    }
    size_t i;
    json_t *e;
    json_array_foreach(req, i, e)
    {
        const char *n = json_string_value(e);
        if (!n) {
            syn_fails_add(c->f, "api_schema_valid", c->at,
                          "%s: %s: 'required' holds a non-string", c->fn, path);
            continue;
        }
        if (!json_object_get(props, n))
            syn_fails_add(c->f, "api_schema_valid", c->at,
                          "%s: %s: required parameter '%s' is not among "
                          "the properties",
                          c->fn, path, n);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(n, json_string_value(json_array_get(req, j))
                               ? json_string_value(json_array_get(req, j))
                               : "")) {
                syn_fails_add(c->f, "api_schema_valid", c->at,
                              "%s: %s: '%s' is listed twice in 'required'",
                              c->fn, path, n);
                break;
            }
    }
}

static void check_properties(chk *c, const json_t *s, const char *path,
                             int depth)
{
    const json_t *props = json_object_get(s, "properties");
    if (props && !json_is_object(props)) {
        syn_fails_add(c->f, "api_schema_valid", c->at,
                      "%s: %s: 'properties' must be an object", c->fn, path);
        props = NULL;
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)props, k, v)
    {
        char sub[256];
        snprintf(sub, sizeof sub, "%s%s%s", path, path[0] ? "." : "", k);
        check_schema(c, v, sub, depth + 1);
    }
    check_required(c, s, props, path[0] ? path : "parameters");
}

static void check_schema(chk *c, const json_t *s, const char *path, int depth)
{
    int types[8], nt;
    const char *bad;
    if (depth > SC_MAX_DEPTH) {
        syn_fails_add(c->f, "api_schema_valid", c->at,
                      "%s: %s: nested too deeply", c->fn, path);
        return;
    }
    if (!json_is_object(s)) {
        syn_fails_add(c->f, "api_schema_valid", c->at,
                      "%s: parameter '%s': its schema is not an object", c->fn,
                      path);
        return;
    }
    if (!schema_types(s, c->o->strict_types, types, &nt, &bad)) {
        syn_fails_add(c->f, "api_schema_valid", c->at,
                      "%s: parameter '%s': unknown type '%s'", c->fn, path,
                      bad);
        return;
    }
    if (nt == 0 && !json_object_get(s, "enum") &&
        !json_object_get(s, "const") && !json_object_get(s, "anyOf") &&
        !json_object_get(s, "oneOf") && !json_object_get(s, "allOf") &&
        !json_object_get(s, "$ref")) {
        syn_fails_add(c->f, "api_schema_valid", c->at,
                      "%s: parameter '%s' declares no type", c->fn, path);
    }
    const json_t *d = json_object_get(s, "description");
    if (d && !json_is_string(d))
        syn_fails_add(c->f, "api_schema_valid", c->at,
                      "%s: parameter '%s': description is not a string", c->fn,
                      path);
    const json_t *en = json_object_get(s, "enum");
    if (en) {
        if (!json_is_array(en) || json_array_size(en) == 0) {
            syn_fails_add(c->f, "api_schema_valid", c->at,
                          "%s: parameter '%s': enum must be a non-empty "
                          "list",
                          c->fn, path);
        } else {
            size_t i;
            json_t *e;
            json_array_foreach(en, i, e)
            {
                if (!value_of_types(e, types, nt)) {
                    char tt[64];
                    types_text(types, nt, tt, sizeof tt);
                    syn_fails_add(c->f, "api_schema_valid", c->at,
                                  "%s: parameter '%s': enum value %zu is "
                                  "not of type %s",
                                  c->fn, path, i, tt);
                    break;
                }
            }
        }
    }
    const json_t *def = json_object_get(s, "default");
    if (def && !json_is_null(def) && !value_of_types(def, types, nt)) {
        char tt[64];
        types_text(types, nt, tt, sizeof tt);
        syn_fails_add(c->f, "api_schema_valid", c->at,
                      "%s: parameter '%s': default is not of type %s", c->fn,
                      path, tt);
    }
    const json_t *pat = json_object_get(s, "pattern");
    if (pat &&
        (!json_is_string(pat) || !pattern_compiles(json_string_value(pat))))
        syn_fails_add(c->f, "api_schema_valid", c->at,
                      "%s: parameter '%s': pattern does not compile", c->fn,
                      path);
    const json_t *fmt = json_object_get(s, "format");
    if (fmt && !json_is_string(fmt))
        syn_fails_add(c->f, "api_schema_valid", c->at,
                      "%s: parameter '%s': format is not a string", c->fn,
                      path);
    check_num_pair(c, s, path, "minimum", "maximum", false);
    check_num_pair(c, s, path, "minLength", "maxLength", true);
    check_num_pair(c, s, path, "minItems", "maxItems", true);
    const json_t *items = json_object_get(s, "items");
    if (items) {
        char sub[256];
        snprintf(sub, sizeof sub, "%s[]", path);
        if (json_is_array(items)) {
            size_t i;
            json_t *e;
            json_array_foreach(items, i, e) check_schema(c, e, sub, depth + 1);
        } else {
            check_schema(c, items, sub, depth + 1);
        }
    }
    if (json_object_get(s, "properties") || json_object_get(s, "required"))
        check_properties(c, s, path, depth);
    static const char *const comb[] = {"anyOf", "oneOf", "allOf"};
    for (int k = 0; k < 3; k++) {
        const json_t *a = json_object_get(s, comb[k]);
        if (!a)
            continue;
        if (!json_is_array(a) || json_array_size(a) == 0) {
            syn_fails_add(c->f, "api_schema_valid", c->at,
                          "%s: parameter '%s': %s must be a non-empty list",
                          c->fn, path, comb[k]);
            continue;
        }
        size_t i;
        json_t *e;
        json_array_foreach(a, i, e) check_schema(c, e, path, depth + 1);
    }
}

void syn_fn_check(const json_t *tool, int at, const syn_schema_opts *o,
                  syn_fails *f)
{
    const json_t *fn = syn_fn_body(tool);
    syn_schema_opts dflt = {0};
    chk c = {.o = o ? o : &dflt, .f = f, .at = at, .fn = "?"};
    if (!fn) {
        syn_fails_add(f, "api_required_fields", at,
                      "tool %d: the definition is not an object", at);
        return;
    }
    const json_t *type = json_object_get(tool, "type");
    if (fn != tool && type &&
        (!json_is_string(type) ||
         strcmp(json_string_value(type), "function") != 0))
        syn_fails_add(f, "api_schema_valid", at,
                      "tool %d: type must be \"function\"", at);
    const json_t *name = json_object_get(fn, "name");
    const json_t *desc = json_object_get(fn, "description");
    const json_t *params = json_object_get(fn, "parameters");
    char label[80];
    if (!json_is_string(name) || blank(json_string_value(name))) {
        syn_fails_add(f, "api_required_fields", at,
                      "tool %d: missing or empty 'name'", at);
        snprintf(label, sizeof label, "tool %d", at);
    } else {
        snprintf(label, sizeof label, "%s", json_string_value(name));
        if (!ident_ok(json_string_value(name)))
            syn_fails_add(f, "api_schema_valid", at,
                          "%s: the name is not an identifier (letters, "
                          "digits, _ . -, at most 64 bytes)",
                          label);
    }
    c.fn = label;
    if (!json_is_string(desc) || blank(json_string_value(desc)))
        syn_fails_add(f, "api_required_fields", at,
                      "%s: missing or empty 'description'", label);
    if (!params) {
        syn_fails_add(f, "api_required_fields", at, "%s: missing 'parameters'",
                      label);
        return;
    }
    if (!json_is_object(params)) {
        syn_fails_add(f, "api_required_fields", at,
                      "%s: 'parameters' is not an object", label);
        return;
    }
    const char *pt = json_string_value(json_object_get(params, "type"));
    if (!pt || type_code(pt, c.o->strict_types) != ST_OBJECT)
        syn_fails_add(f, "api_schema_valid", at,
                      "%s: parameters must have type \"object\"", label);
    check_properties(&c, params, "", 0);
}

/* ---- values
 * ------------------------------------------------------------------ */

static void check_value(chk *c, const json_t *s, const json_t *v,
                        const char *path, int depth);

static void check_object_value(chk *c, const json_t *s, const json_t *v,
                               const char *path, int depth, bool top)
{
    const json_t *props = json_object_get(s, "properties");
    const json_t *req = json_object_get(s, "required");
    const json_t *addl = json_object_get(s, "additionalProperties");
    size_t i;
    json_t *e;
    json_array_foreach(req, i, e)
    {
        const char *n = json_string_value(e);
        if (n && !json_object_get(v, n)) {
            if (top)
                syn_fails_add(c->f, "call_required_params", c->at,
                              "%s: required parameter '%s' is missing", c->fn,
                              n);
            else
                syn_fails_add(c->f, "call_required_params", c->at,
                              "%s: '%s' lacks required property '%s'", c->fn,
                              path, n);
        }
    }
    const char *k;
    json_t *val;
    json_object_foreach((json_t *)v, k, val)
    {
        char sub[256];
        snprintf(sub, sizeof sub, "%s%s%s", path, path[0] ? "." : "", k);
        const json_t *ps =
            json_is_object(props) ? json_object_get(props, k) : NULL;
        if (ps) {
            check_value(c, ps, val, sub, depth + 1);
            continue;
        }
        if (top || json_is_false(addl))
            syn_fails_add(c->f, "call_unknown_params", c->at,
                          "%s: parameter '%s' is not defined", c->fn, sub);
        else if (json_is_object(addl))
            check_value(c, addl, val, sub, depth + 1);
    }
}

static void check_value(chk *c, const json_t *s, const json_t *v,
                        const char *path, int depth)
{
    int types[8], nt;
    const char *bad;
    if (depth > SC_MAX_DEPTH || !json_is_object(s))
        return;
    if (!schema_types(s, c->o->strict_types, types, &nt, &bad))
        return; /* the definition's fault, reported by syn_fn_check */
    if (!value_of_types(v, types, nt)) {
        char tt[64];
        types_text(types, nt, tt, sizeof tt);
        syn_fails_add(c->f, "call_param_types", c->at,
                      "%s: parameter '%s': expected %s, got %s", c->fn, path,
                      tt, value_label(v));
        return;
    }
    const json_t *en = json_object_get(s, "enum");
    const json_t *cst = json_object_get(s, "const");
    if (json_is_array(en) && json_array_size(en)) {
        bool found = false;
        size_t i;
        json_t *e;
        json_array_foreach(en, i, e) found = found || values_equal(e, v);
        if (!found) {
            char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            syn_fails_add(c->f, "call_param_enum", c->at,
                          "%s: parameter '%s': %.80s is not one of the "
                          "allowed values",
                          c->fn, path, t ? t : "?");
            free(t);
        }
    }
    if (cst && !values_equal(cst, v))
        syn_fails_add(c->f, "call_param_enum", c->at,
                      "%s: parameter '%s': not the constant value", c->fn,
                      path);
    if (json_is_string(v)) {
        const char *str = json_string_value(v);
        const char *pat = json_string_value(json_object_get(s, "pattern"));
        const char *fmt = json_string_value(json_object_get(s, "format"));
        bool badpat;
        if (pat && !syn_pattern_match(pat, str, &badpat) && !badpat)
            syn_fails_add(c->f, "call_param_format", c->at,
                          "%s: parameter '%s': \"%.60s\" does not match "
                          "pattern %.60s",
                          c->fn, path, str, pat);
        if (fmt && !syn_format_ok(fmt, str))
            syn_fails_add(c->f, "call_param_format", c->at,
                          "%s: parameter '%s': \"%.60s\" is not a valid %s",
                          c->fn, path, str, fmt);
        size_t len = 0;
        for (const unsigned char *p = (const unsigned char *)str; *p; p++)
            len += (*p & 0xC0) != 0x80;
        const json_t *mn = json_object_get(s, "minLength");
        const json_t *mx = json_object_get(s, "maxLength");
        if (json_is_integer(mn) && (json_int_t)len < json_integer_value(mn))
            syn_fails_add(c->f, "call_param_range", c->at,
                          "%s: parameter '%s': shorter than %lld "
                          "characters",
                          c->fn, path, (long long)json_integer_value(mn));
        if (json_is_integer(mx) && (json_int_t)len > json_integer_value(mx))
            syn_fails_add(c->f, "call_param_range", c->at,
                          "%s: parameter '%s': longer than %lld characters",
                          c->fn, path, (long long)json_integer_value(mx));
    }
    if (json_is_number(v)) {
        double x = json_number_value(v);
        const json_t *mn = json_object_get(s, "minimum");
        const json_t *mx = json_object_get(s, "maximum");
        const json_t *emn = json_object_get(s, "exclusiveMinimum");
        const json_t *emx = json_object_get(s, "exclusiveMaximum");
        const json_t *mul = json_object_get(s, "multipleOf");
        bool lo_strict = json_is_true(emn), hi_strict = json_is_true(emx);
        if (json_is_number(mn) && (lo_strict ? x <= json_number_value(mn)
                                             : x < json_number_value(mn)))
            syn_fails_add(c->f, "call_param_range", c->at,
                          "%s: parameter '%s': %g is below the minimum %g",
                          c->fn, path, x, json_number_value(mn));
        if (json_is_number(mx) && (hi_strict ? x >= json_number_value(mx)
                                             : x > json_number_value(mx)))
            syn_fails_add(c->f, "call_param_range", c->at,
                          "%s: parameter '%s': %g is above the maximum %g",
                          c->fn, path, x, json_number_value(mx));
        if (json_is_number(emn) && x <= json_number_value(emn))
            syn_fails_add(c->f, "call_param_range", c->at,
                          "%s: parameter '%s': %g is not above %g", c->fn, path,
                          x, json_number_value(emn));
        if (json_is_number(emx) && x >= json_number_value(emx))
            syn_fails_add(c->f, "call_param_range", c->at,
                          "%s: parameter '%s': %g is not below %g", c->fn, path,
                          x, json_number_value(emx));
        if (json_is_number(mul) && json_number_value(mul) > 0) {
            double q = x / json_number_value(mul);
            if (fabs(q - nearbyint(q)) > 1e-9 * fmax(1.0, fabs(q)))
                syn_fails_add(c->f, "call_param_range", c->at,
                              "%s: parameter '%s': %g is not a multiple of "
                              "%g",
                              c->fn, path, x, json_number_value(mul));
        }
    }
    if (json_is_array(v)) {
        const json_t *mn = json_object_get(s, "minItems");
        const json_t *mx = json_object_get(s, "maxItems");
        size_t n = json_array_size(v);
        if (json_is_integer(mn) && (json_int_t)n < json_integer_value(mn))
            syn_fails_add(c->f, "call_param_range", c->at,
                          "%s: parameter '%s': fewer than %lld items", c->fn,
                          path, (long long)json_integer_value(mn));
        if (json_is_integer(mx) && (json_int_t)n > json_integer_value(mx))
            syn_fails_add(c->f, "call_param_range", c->at,
                          "%s: parameter '%s': more than %lld items", c->fn,
                          path, (long long)json_integer_value(mx));
        if (json_is_true(json_object_get(s, "uniqueItems"))) {
            for (size_t i = 0; i < n; i++)
                for (size_t j = i + 1; j < n; j++)
                    if (values_equal(json_array_get(v, i),
                                     json_array_get(v, j))) {
                        syn_fails_add(c->f, "call_param_range", c->at,
                                      "%s: parameter '%s': items %zu and "
                                      "%zu are equal",
                                      c->fn, path, i, j);
                        i = j = n;
                    }
        }
        const json_t *items = json_object_get(s, "items");
        for (size_t i = 0; i < n; i++) {
            char sub[256];
            snprintf(sub, sizeof sub, "%s[%zu]", path, i);
            const json_t *is =
                json_is_array(items) ? json_array_get(items, i) : items;
            if (is)
                check_value(c, is, json_array_get(v, i), sub, depth + 1);
        }
    }
    if (json_is_object(v) &&
        (json_object_get(s, "properties") || json_object_get(s, "required") ||
         json_object_get(s, "additionalProperties")))
        check_object_value(c, s, v, path, depth, false);
    const json_t *any = json_object_get(s, "anyOf");
    if (!any)
        any = json_object_get(s, "oneOf");
    if (json_is_array(any) && json_array_size(any)) {
        bool ok = false;
        size_t i;
        json_t *e;
        json_array_foreach(any, i, e)
        {
            syn_fails tmp = {0};
            chk c2 = *c;
            c2.f = &tmp;
            check_value(&c2, e, v, path, depth + 1);
            ok = ok || (tmp.n == 0 && !tmp.oom);
            syn_fails_free(&tmp);
        }
        if (!ok)
            syn_fails_add(c->f, "call_param_types", c->at,
                          "%s: parameter '%s' matches none of the allowed "
                          "schemas",
                          c->fn, path);
    }
    const json_t *all = json_object_get(s, "allOf");
    size_t i;
    json_t *e;
    json_array_foreach(all, i, e) check_value(c, e, v, path, depth + 1);
}

void syn_args_check(const json_t *tool, const json_t *args, int at,
                    const syn_schema_opts *o, syn_fails *f)
{
    const json_t *fn = syn_fn_body(tool);
    syn_schema_opts dflt = {0};
    const char *name = syn_fn_name(tool);
    chk c = {.o = o ? o : &dflt, .f = f, .at = at, .fn = name ? name : "?"};
    if (!json_is_object(args)) {
        syn_fails_add(f, "call_param_types", at,
                      "%s: the arguments are not an object", c.fn);
        return;
    }
    const json_t *params = json_object_get(fn, "parameters");
    if (!json_is_object(params))
        params = NULL;
    if (!params) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)args, k, v)
            syn_fails_add(f, "call_unknown_params", at,
                          "%s: parameter '%s' is not defined", c.fn, k);
        return;
    }
    check_object_value(&c, params, args, "", 0, true);
}
