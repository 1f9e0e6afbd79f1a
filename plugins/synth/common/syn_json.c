/*
 * syn_json.c - see syn_json.h.
 */
#include "syn_json.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "syn_pylit.h"

/* End (one past the closing bracket) of the balanced span opening at
 * t[a], or 0 when it never closes.  `py` also treats single quotes as
 * string delimiters. */
static size_t span_end(const char *t, size_t n, size_t a, bool py)
{
    char stack[256];
    size_t depth = 0;
    for (size_t i = a; i < n; i++) {
        char c = t[i];
        if (c == '"' || (py && c == '\'')) {
            for (i++; i < n && t[i] != c; i++)
                if (t[i] == '\\')
                    i++;
            if (i >= n)
                return 0;
            continue;
        }
        if (c == '{' || c == '[') {
            if (depth == sizeof stack)
                return 0;
            stack[depth++] = c == '{' ? '}' : ']';
        } else if (c == '}' || c == ']') {
            if (depth == 0 || stack[depth - 1] != c)
                return 0; /* mismatched: not a span */
            if (--depth == 0)
                return i + 1;
        }
    }
    return 0;
}

/* Copy of t[a..b) without commas that directly precede a closing
 * bracket (outside strings).  NULL on ENOMEM. */
static char *drop_trailing_commas(const char *t, size_t a, size_t b,
                                  size_t *outlen)
{
    char *o = malloc(b - a + 1);
    size_t k = 0;
    if (!o)
        return NULL;
    for (size_t i = a; i < b; i++) {
        char c = t[i];
        if (c == '"') {
            o[k++] = c;
            for (i++; i < b; i++) {
                o[k++] = t[i];
                if (t[i] == '\\' && i + 1 < b)
                    o[k++] = t[++i];
                else if (t[i] == '"')
                    break;
            }
            continue;
        }
        if (c == ',') {
            size_t j = i + 1;
            while (j < b && (t[j] == ' ' || t[j] == '\n' || t[j] == '\r' ||
                             t[j] == '\t'))
                j++;
            if (j < b && (t[j] == '}' || t[j] == ']'))
                continue;
        }
        o[k++] = c;
    }
    o[k] = '\0';
    *outlen = k;
    return o;
}

static bool kind_ok(const json_t *v, int want)
{
    return want == SYN_JSON_ANY      ? (json_is_object(v) || json_is_array(v))
           : want == SYN_JSON_OBJECT ? json_is_object(v)
                                     : json_is_array(v);
}

/* Parse t[a..b) strictly, then leniently.  NULL when it is not a value
 * (or on ENOMEM, reported through *oom). */
static json_t *parse_span(const char *t, size_t a, size_t b, bool *oom)
{
    json_t *v = json_loadb(t + a, b - a, 0, NULL);
    if (v)
        return v;
    size_t n;
    char *c = drop_trailing_commas(t, a, b, &n);
    if (!c) {
        *oom = true;
        return NULL;
    }
    v = json_loadb(c, n, 0, NULL);
    free(c);
    if (v)
        return v;
    assay_error e;
    if (syn_pylit_parse_all(t + a, b - a, &v, &e) == 0)
        return v;
    if (e.code == ASSAY_ENOMEM)
        *oom = true;
    return NULL;
}

int syn_json_find(const char *text, int want, json_t **out, assay_error *err)
{
    const char *t = text ? text : "";
    size_t n = strlen(t), a = 0, b = n;
    bool oom = false;
    *out = NULL;
    while (a < b &&
           (t[a] == ' ' || t[a] == '\n' || t[a] == '\r' || t[a] == '\t'))
        a++;
    while (b > a && (t[b - 1] == ' ' || t[b - 1] == '\n' || t[b - 1] == '\r' ||
                     t[b - 1] == '\t'))
        b--;
    json_t *v = json_loadb(t + a, b - a, 0, NULL);
    if (v && kind_ok(v, want)) {
        *out = v;
        return ASSAY_OK;
    }
    json_decref(v);
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        bool obj = c == '{', arr = c == '[';
        if (!obj && !arr)
            continue;
        if ((want == SYN_JSON_OBJECT && !obj) ||
            (want == SYN_JSON_ARRAY && !arr)) {
            /* an object inside an array is fine when objects are
             * wanted: keep scanning inside */
            continue;
        }
        for (int py = 0; py < 2; py++) {
            size_t e = span_end(t, n, i, py);
            if (!e)
                continue;
            v = parse_span(t, i, e, &oom);
            if (oom)
                return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            if (v && kind_ok(v, want)) {
                *out = v;
                return ASSAY_OK;
            }
            json_decref(v);
        }
    }
    return assay_error_set(err, ASSAY_EDATA, "no JSON %s in the answer",
                           want == SYN_JSON_OBJECT  ? "object"
                           : want == SYN_JSON_ARRAY ? "array"
                                                    : "value");
}

int syn_json_objects(const char *text, json_t **out)
{
    const char *t = text ? text : "";
    size_t n = strlen(t);
    bool oom = false;
    json_t *arr = json_array();
    if (!arr)
        return ASSAY_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (t[i] != '{')
            continue;
        size_t e = 0;
        json_t *v = NULL;
        for (int py = 0; py < 2 && !v; py++) {
            e = span_end(t, n, i, py);
            if (e)
                v = parse_span(t, i, e, &oom);
            if (oom)
                goto oom;
        }
        if (!v || !json_is_object(v)) {
            json_decref(v);
            continue; /* look for objects further on */
        }
        if (json_array_append_new(arr, v))
            goto oom;
        i = e - 1;
    }
    *out = arr;
    return ASSAY_OK;
oom:
    json_decref(arr);
    return ASSAY_ENOMEM;
}

char *syn_json_canon(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}
