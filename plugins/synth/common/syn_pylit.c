/*
 * syn_pylit.c - see syn_pylit.h.
 */
#include "syn_pylit.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PL_MAX_DEPTH 200

typedef struct pl_parser {
    const char *s;
    size_t len, pos;
    int depth;
    assay_error *err;
} pl_parser;

/* A small growable byte buffer for string bodies. */
typedef struct pl_buf {
    char *p;
    size_t len, cap;
} pl_buf;

static int pl_put(pl_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return ASSAY_ENOMEM;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return ASSAY_OK;
}

/* Append code point `cp` as UTF-8 (surrogates become U+FFFD). */
static int pl_put_cp(pl_buf *b, uint32_t cp)
{
    char u[4];
    size_t n;
    if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
        cp = 0xFFFD;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return pl_put(b, u, n);
}

static int pl_fail(pl_parser *p, const char *what)
{
    return assay_error_set(p->err, ASSAY_EDATA, "offset %zu: %s", p->pos, what);
}

static int pl_oom(pl_parser *p)
{
    return assay_error_set(p->err, ASSAY_ENOMEM, "out of memory");
}

static void pl_skip(pl_parser *p)
{
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f')
            p->pos++;
        else if (c == '\\' && p->pos + 1 < p->len && p->s[p->pos + 1] == '\n')
            p->pos += 2; /* explicit line joining */
        else
            break;
    }
}

static bool pl_is_ident_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           (unsigned char)c >= 0x80;
}

static bool pl_is_ident(char c)
{
    return pl_is_ident_start(c) || (c >= '0' && c <= '9');
}

static int pl_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Read `n` hex digits at p->pos into *cp. */
static bool pl_hexn(pl_parser *p, size_t n, uint32_t *cp)
{
    uint32_t v = 0;
    if (p->pos + n > p->len)
        return false;
    for (size_t i = 0; i < n; i++) {
        int h = pl_hex(p->s[p->pos + i]);
        if (h < 0)
            return false;
        v = v * 16 + (uint32_t)h;
    }
    p->pos += n;
    *cp = v;
    return true;
}

/* One escape sequence after the backslash (p->pos at the escaped char).
 * `pending_hi` carries a high surrogate waiting for its low half. */
static int pl_escape(pl_parser *p, pl_buf *b, bool bytes, uint32_t *hi)
{
    char c = p->s[p->pos++];
    uint32_t cp;
    int rc = ASSAY_OK;
    const char *simple = NULL;
    switch (c) {
    case '\n':
        return ASSAY_OK; /* line continuation */
    case '\\':
        simple = "\\";
        break;
    case '\'':
        simple = "'";
        break;
    case '"':
        simple = "\"";
        break;
    case 'a':
        simple = "\a";
        break;
    case 'b':
        simple = "\b";
        break;
    case 'f':
        simple = "\f";
        break;
    case 'n':
        simple = "\n";
        break;
    case 'r':
        simple = "\r";
        break;
    case 't':
        simple = "\t";
        break;
    case 'v':
        simple = "\v";
        break;
    default:
        break;
    }
    if (simple)
        return pl_put(b, simple, 1);
    if (c >= '0' && c <= '7') {
        cp = (uint32_t)(c - '0');
        for (int i = 0; i < 2 && p->pos < p->len && p->s[p->pos] >= '0' &&
                        p->s[p->pos] <= '7';
             i++)
            cp = cp * 8 + (uint32_t)(p->s[p->pos++] - '0');
        return pl_put_cp(b, cp);
    }
    if (c == 'x') {
        if (!pl_hexn(p, 2, &cp))
            return pl_fail(p, "bad \\x escape");
        return pl_put_cp(b, cp);
    }
    if (!bytes && (c == 'u' || c == 'U')) {
        if (!pl_hexn(p, c == 'u' ? 4 : 8, &cp))
            return pl_fail(p, "bad unicode escape");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (*hi)
                rc = pl_put_cp(b, 0xFFFD);
            *hi = cp;
            return rc;
        }
        if (cp >= 0xDC00 && cp <= 0xDFFF && *hi) {
            cp = 0x10000 + ((*hi - 0xD800) << 10) + (cp - 0xDC00);
            *hi = 0;
        }
        return pl_put_cp(b, cp);
    }
    /* unknown escape (and \N{...}): kept as written */
    char keep[2] = {'\\', c};
    return pl_put(b, keep, 2);
}

/* A string literal body; p->pos at the opening quote.  Appends the
 * decoded text to `b`. */
static int pl_string_body(pl_parser *p, pl_buf *b, bool raw, bool bytes)
{
    char q = p->s[p->pos];
    bool triple =
        p->pos + 2 < p->len && p->s[p->pos + 1] == q && p->s[p->pos + 2] == q;
    uint32_t hi = 0;
    int rc;
    p->pos += triple ? 3 : 1;
    for (;;) {
        if (p->pos >= p->len)
            return pl_fail(p, "unterminated string");
        char c = p->s[p->pos];
        if (c == q) {
            if (!triple) {
                p->pos++;
                break;
            }
            if (p->pos + 2 < p->len && p->s[p->pos + 1] == q &&
                p->s[p->pos + 2] == q) {
                p->pos += 3;
                break;
            }
        }
        if (!triple && c == '\n')
            return pl_fail(p, "newline in a single-quoted string");
        if (hi && c != '\\') {
            if ((rc = pl_put_cp(b, 0xFFFD)))
                return rc;
            hi = 0;
        }
        if (c == '\\' && p->pos + 1 < p->len) {
            if (raw) {
                /* a raw string keeps the backslash; it only protects
                 * the next character from ending the string */
                if ((rc = pl_put(b, p->s + p->pos, 2)))
                    return rc;
                p->pos += 2;
                continue;
            }
            p->pos++;
            if ((rc = pl_escape(p, b, bytes, &hi)))
                return rc;
            continue;
        }
        /* copy a run of ordinary bytes */
        size_t a = p->pos;
        while (p->pos < p->len && p->s[p->pos] != q && p->s[p->pos] != '\\' &&
               p->s[p->pos] != '\n')
            p->pos++;
        if (p->pos == a)
            p->pos++; /* a newline inside a triple-quoted string */
        if ((rc = pl_put(b, p->s + a, p->pos - a)))
            return rc;
    }
    if (hi)
        return pl_put_cp(b, 0xFFFD);
    return ASSAY_OK;
}

/* Length of a string prefix (r, u, b, rb, br, any case) at p->pos that is
 * followed by a quote, or 0. */
static size_t pl_prefix(const pl_parser *p, bool *raw, bool *bytes)
{
    size_t i = p->pos, n = 0;
    *raw = *bytes = false;
    while (i + n < p->len && n < 2) {
        char c = p->s[i + n];
        if (c == 'r' || c == 'R')
            *raw = true;
        else if (c == 'b' || c == 'B')
            *bytes = true;
        else if (!(c == 'u' || c == 'U'))
            break;
        n++;
    }
    if (n && i + n < p->len && (p->s[i + n] == '\'' || p->s[i + n] == '"'))
        return n;
    *raw = *bytes = false;
    return 0;
}

/* One or more adjacent string literals, concatenated. */
static int pl_string(pl_parser *p, json_t **out)
{
    pl_buf b = {0};
    int rc = ASSAY_OK;
    bool first = true;
    for (;;) {
        bool raw, bytes;
        size_t pre = pl_prefix(p, &raw, &bytes);
        char c = p->pos + pre < p->len ? p->s[p->pos + pre] : '\0';
        if (c != '\'' && c != '"')
            break;
        p->pos += pre;
        if ((rc = pl_string_body(p, &b, raw, bytes)))
            goto done;
        first = false;
        size_t save = p->pos;
        pl_skip(p);
        bool r2, b2;
        size_t pre2 = pl_prefix(p, &r2, &b2);
        char c2 = p->pos + pre2 < p->len ? p->s[p->pos + pre2] : '\0';
        if (c2 != '\'' && c2 != '"') {
            p->pos = save;
            break;
        }
    }
    if (first) {
        rc = pl_fail(p, "expected a string");
        goto done;
    }
    *out = json_stringn(b.p ? b.p : "", b.len);
    if (!*out)
        rc = pl_oom(p);
done:
    free(b.p);
    return rc;
}

static int pl_number(pl_parser *p, json_t **out)
{
    char buf[128];
    size_t n = 0, a = p->pos;
    bool real = false;
    int base = 10;
    if (p->pos + 1 < p->len && p->s[p->pos] == '0') {
        char x = p->s[p->pos + 1];
        if (x == 'x' || x == 'X')
            base = 16;
        else if (x == 'o' || x == 'O')
            base = 8;
        else if (x == 'b' || x == 'B')
            base = 2;
        if (base != 10)
            p->pos += 2;
    }
    while (p->pos < p->len && n + 1 < sizeof buf) {
        char c = p->s[p->pos];
        bool ok = (c >= '0' && c <= '9') || c == '_' ||
                  (base == 16 && pl_hex(c) >= 0);
        if (base == 10 && (c == '.' || c == 'e' || c == 'E')) {
            ok = true;
            real = true;
        }
        if (base == 10 && (c == '+' || c == '-') && n &&
            (buf[n - 1] == 'e' || buf[n - 1] == 'E'))
            ok = true;
        if (!ok)
            break;
        if (c != '_')
            buf[n++] = c;
        p->pos++;
    }
    buf[n] = '\0';
    if (n == 0) {
        p->pos = a;
        return pl_fail(p, "expected a number");
    }
    if (p->pos < p->len && (p->s[p->pos] == 'j' || p->s[p->pos] == 'J'))
        return pl_fail(p, "complex numbers are not supported");
    char *end;
    errno = 0;
    if (!real) {
        long long v = strtoll(buf, &end, base);
        if (*end == '\0' && errno == 0) {
            *out = json_integer((json_int_t)v);
            return *out ? ASSAY_OK : pl_oom(p);
        }
        if (base != 10 || *end != '\0') {
            p->pos = a;
            return pl_fail(p, "bad integer");
        }
    }
    errno = 0;
    double d = strtod(buf, &end);
    if (*end != '\0' || !isfinite(d)) {
        p->pos = a;
        return pl_fail(p, "bad number");
    }
    *out = json_real(d);
    return *out ? ASSAY_OK : pl_oom(p);
}

static int pl_value(pl_parser *p, json_t **out);

/* JSON text of a non-string dict key. */
static char *pl_key_text(const json_t *k)
{
    if (json_is_string(k)) {
        const char *s = json_string_value(k);
        size_t n = json_string_length(k);
        char *c = malloc(n + 1);
        if (c) {
            memcpy(c, s, n);
            c[n] = '\0';
        }
        return c;
    }
    return json_dumps(k, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* list [..], tuple (..), set/dict {..}; p->pos at the opener. */
static int pl_container(pl_parser *p, json_t **out)
{
    char open = p->s[p->pos], close = open == '['   ? ']'
                                      : open == '(' ? ')'
                                                    : '}';
    json_t *arr = NULL, *obj = NULL, *k = NULL, *v = NULL;
    int rc = ASSAY_OK, kind = 0; /* 0 unknown, 1 array, 2 dict */
    bool comma = false;
    if (++p->depth > PL_MAX_DEPTH)
        return pl_fail(p, "nesting too deep");
    p->pos++;
    for (;;) {
        pl_skip(p);
        if (p->pos >= p->len) {
            rc = pl_fail(p, "unterminated container");
            goto done;
        }
        if (p->s[p->pos] == close) {
            p->pos++;
            break;
        }
        if ((rc = pl_value(p, &k)))
            goto done;
        pl_skip(p);
        if (open == '{' && kind != 1 && p->pos < p->len &&
            p->s[p->pos] == ':') {
            p->pos++;
            kind = 2;
            if ((rc = pl_value(p, &v)))
                goto done;
            char *key = pl_key_text(k);
            if (!key) {
                rc = pl_oom(p);
                goto done;
            }
            if (!obj && !(obj = json_object())) {
                free(key);
                rc = pl_oom(p);
                goto done;
            }
            int bad = json_object_set_new(obj, key, v);
            v = NULL;
            free(key);
            json_decref(k);
            k = NULL;
            if (bad) {
                rc = pl_oom(p);
                goto done;
            }
        } else {
            if (kind == 2) {
                rc = pl_fail(p, "expected ':' in a dict");
                goto done;
            }
            kind = 1;
            if (!arr && !(arr = json_array())) {
                rc = pl_oom(p);
                goto done;
            }
            int bad = json_array_append_new(arr, k);
            k = NULL;
            if (bad) {
                rc = pl_oom(p);
                goto done;
            }
        }
        pl_skip(p);
        if (p->pos >= p->len) {
            rc = pl_fail(p, "unterminated container");
            goto done;
        }
        if (p->s[p->pos] == ',') {
            p->pos++;
            comma = true;
            continue;
        }
        if (p->pos < p->len && p->s[p->pos] == close) {
            p->pos++;
            break;
        }
        rc = pl_fail(p, "expected ',' or a closing bracket");
        goto done;
    }
    if (kind == 2) {
        *out = obj;
        obj = NULL;
    } else if (open == '{' && kind == 0) {
        *out = json_object(); /* {} is an empty dict */
    } else if (open == '(' && !comma && json_array_size(arr) == 1) {
        *out = json_incref(json_array_get(arr, 0)); /* (x) is just x */
    } else {
        *out = arr ? arr : json_array();
        arr = NULL;
    }
    if (!*out)
        rc = pl_oom(p);
done:
    p->depth--;
    json_decref(arr);
    json_decref(obj);
    json_decref(k);
    json_decref(v);
    return rc;
}

static int pl_value(pl_parser *p, json_t **out)
{
    pl_skip(p);
    *out = NULL;
    if (p->pos >= p->len)
        return pl_fail(p, "expected a value");
    char c = p->s[p->pos];
    if (c == '[' || c == '(' || c == '{')
        return pl_container(p, out);
    bool raw, bytes;
    if (c == '\'' || c == '"' || pl_prefix(p, &raw, &bytes))
        return pl_string(p, out);
    if (c == '-' || c == '+') {
        p->pos++;
        json_t *v;
        int rc = pl_value(p, &v);
        if (rc)
            return rc;
        if (json_is_integer(v) && c == '-')
            *out = json_integer(-json_integer_value(v));
        else if (json_is_real(v) && c == '-')
            *out = json_real(-json_real_value(v));
        else if (json_is_number(v))
            *out = json_incref(v);
        json_decref(v);
        if (!*out)
            return pl_fail(p, "unary sign before a non-number");
        return ASSAY_OK;
    }
    if ((c >= '0' && c <= '9') || c == '.')
        return pl_number(p, out);
    if (pl_is_ident_start(c)) {
        size_t a = p->pos;
        while (p->pos < p->len && pl_is_ident(p->s[p->pos]))
            p->pos++;
        size_t n = p->pos - a;
        if (n == 4 && !memcmp(p->s + a, "True", 4))
            *out = json_true();
        else if (n == 5 && !memcmp(p->s + a, "False", 5))
            *out = json_false();
        else if (n == 4 && !memcmp(p->s + a, "None", 4))
            *out = json_null();
        /* JSON's spellings too: models mix the two notations */
        else if (n == 4 && !memcmp(p->s + a, "true", 4))
            *out = json_true();
        else if (n == 5 && !memcmp(p->s + a, "false", 5))
            *out = json_false();
        else if (n == 4 && !memcmp(p->s + a, "null", 4))
            *out = json_null();
        else {
            p->pos = a;
            return pl_fail(p, "a name is not a literal");
        }
        return ASSAY_OK;
    }
    return pl_fail(p, "unexpected character");
}

int syn_pylit_parse(const char *s, size_t len, size_t *pos, json_t **out,
                    assay_error *err)
{
    pl_parser p = {.s = s, .len = len, .pos = *pos, .err = err};
    int rc = pl_value(&p, out);
    if (rc == 0)
        *pos = p.pos;
    return rc;
}

int syn_pylit_parse_all(const char *s, size_t len, json_t **out,
                        assay_error *err)
{
    pl_parser p = {.s = s, .len = len, .err = err};
    int rc = pl_value(&p, out);
    if (rc)
        return rc;
    pl_skip(&p);
    if (p.pos != p.len) {
        json_decref(*out);
        *out = NULL;
        return pl_fail(&p, "text after the literal");
    }
    return ASSAY_OK;
}

/* dotted.name(kw=value, ...) at p->pos; appends {name, arguments}. */
static int pl_call(pl_parser *p, json_t *calls)
{
    size_t a = p->pos;
    json_t *args = NULL, *v = NULL, *call = NULL;
    int rc;
    for (;;) {
        if (p->pos >= p->len || !pl_is_ident_start(p->s[p->pos]))
            return pl_fail(p, "expected a function name");
        while (p->pos < p->len && pl_is_ident(p->s[p->pos]))
            p->pos++;
        if (p->pos < p->len && p->s[p->pos] == '.') {
            p->pos++;
            continue;
        }
        break;
    }
    size_t name_end = p->pos;
    pl_skip(p);
    if (p->pos >= p->len || p->s[p->pos] != '(')
        return pl_fail(p, "expected '(' after the function name");
    p->pos++;
    if (!(args = json_object()))
        return pl_oom(p);
    for (;;) {
        pl_skip(p);
        if (p->pos < p->len && p->s[p->pos] == ')') {
            p->pos++;
            break;
        }
        size_t k0 = p->pos;
        while (p->pos < p->len && pl_is_ident(p->s[p->pos]))
            p->pos++;
        size_t k1 = p->pos;
        pl_skip(p);
        if (k1 == k0 || p->pos >= p->len || p->s[p->pos] != '=' ||
            (p->pos + 1 < p->len && p->s[p->pos + 1] == '=')) {
            p->pos = k0;
            rc = pl_fail(p, "positional argument (arguments must be "
                            "given as name=value)");
            goto fail;
        }
        p->pos++;
        if ((rc = pl_value(p, &v)))
            goto fail;
        char key[256];
        size_t kl = k1 - k0 < sizeof key - 1 ? k1 - k0 : sizeof key - 1;
        memcpy(key, p->s + k0, kl);
        key[kl] = '\0';
        if (json_object_get(args, key)) {
            p->pos = k0;
            rc = pl_fail(p, "argument given twice");
            goto fail;
        }
        int bad = json_object_set_new(args, key, v);
        v = NULL;
        if (bad) {
            rc = pl_oom(p);
            goto fail;
        }
        pl_skip(p);
        if (p->pos < p->len && p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->len && p->s[p->pos] == ')') {
            p->pos++;
            break;
        }
        rc = pl_fail(p, "expected ',' or ')' in the argument list");
        goto fail;
    }
    call = json_object();
    if (!call ||
        json_object_set_new(call, "name",
                            json_stringn(p->s + a, name_end - a)) ||
        json_object_set_new(call, "arguments", args)) {
        args = NULL;
        rc = pl_oom(p);
        goto fail;
    }
    args = NULL;
    if (json_array_append_new(calls, call)) {
        call = NULL;
        return pl_oom(p);
    }
    return ASSAY_OK;
fail:
    json_decref(args);
    json_decref(v);
    json_decref(call);
    return rc;
}

int syn_pycalls_parse(const char *s, size_t len, json_t **out, assay_error *err)
{
    pl_parser p = {.s = s, .len = len, .err = err};
    json_t *calls = json_array();
    int rc = ASSAY_OK;
    char close = 0;
    if (!calls)
        return pl_oom(&p);
    pl_skip(&p);
    if (p.pos < p.len && (p.s[p.pos] == '[' || p.s[p.pos] == '(')) {
        close = p.s[p.pos] == '[' ? ']' : ')';
        p.pos++;
    }
    for (;;) {
        pl_skip(&p);
        if (p.pos >= p.len)
            break;
        if (close && p.s[p.pos] == close) {
            p.pos++;
            close = 0;
            pl_skip(&p);
            break;
        }
        if ((rc = pl_call(&p, calls)))
            goto fail;
        pl_skip(&p);
        if (p.pos < p.len && (p.s[p.pos] == ',' || p.s[p.pos] == ';'))
            p.pos++;
    }
    if (close) {
        rc = pl_fail(&p, "unterminated list of calls");
        goto fail;
    }
    if (p.pos != p.len) {
        rc = pl_fail(&p, "text after the calls");
        goto fail;
    }
    *out = calls;
    return ASSAY_OK;
fail:
    json_decref(calls);
    return rc;
}
