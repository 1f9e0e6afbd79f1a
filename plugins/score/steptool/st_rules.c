/*
 * st_rules.c - see st_rules.h.
 */
#include "st_rules.h"

#include <ctype.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jc_text.h"
#include "syn_text.h"

static int hexv(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static size_t put_utf8(char *o, uint32_t cp)
{
    if (cp >= 0xD800 && cp <= 0xDFFF)
        cp = 0xFFFD;
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static bool hex4(const char *p, uint32_t *v)
{
    uint32_t x = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexv(p[i]);
        if (h < 0)
            return false;
        x = x * 16 + (uint32_t)h;
    }
    *v = x;
    return true;
}

char *st_json_string_lenient(const char *p, const char **end)
{
    size_t n = strlen(p);
    char *o = malloc(n + 1), *w = o;
    if (!o)
        return NULL;
    size_t i = 0;
    while (i < n && p[i] != '"') {
        if (p[i] != '\\') {
            *w++ = p[i++];
            continue;
        }
        if (i + 1 >= n)
            break;
        char c = p[i + 1];
        i += 2;
        switch (c) {
        case 'n':
            *w++ = '\n';
            break;
        case 't':
            *w++ = '\t';
            break;
        case 'r':
            *w++ = '\r';
            break;
        case 'b':
            *w++ = '\b';
            break;
        case 'f':
            *w++ = '\f';
            break;
        case 'u': {
            uint32_t cp;
            if (i + 4 > n || !hex4(p + i, &cp)) {
                i = n;
                break;
            }
            i += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF && i + 6 <= n && p[i] == '\\' &&
                p[i + 1] == 'u') {
                uint32_t lo;
                if (hex4(p + i + 2, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    i += 6;
                }
            }
            w += put_utf8(w, cp); /* at most 4 bytes for >= 6 read */
            break;
        }
        default:
            *w++ = c;
            break;
        }
    }
    *w = '\0';
    if (end)
        *end = i < n ? p + i + 1 : p + n;
    return o;
}

static const char *skip_key(const char *text, const char *key)
{
    const char *k = strstr(text, key);
    if (!k)
        return NULL;
    k += strlen(key);
    while (*k == ' ' || *k == ':' || *k == '\n' || *k == '\t')
        k++;
    return k;
}

/* The string rule on a response text. */
static int string_rule(const char *s, bool empty_fails, const char **why)
{
    const char *p = s;
    while (*p && isspace((unsigned char)*p))
        p++;
    if (!*p) {
        *why = "empty";
        return empty_fails ? 0 : 1;
    }
    char *low = syn_key_dup(s);
    int ok = 1;
    *why = "ok: string";
    if (!low || strstr(low, "wrong") || strstr(low, "error") ||
        strstr(low, "is empty")) {
        *why = "string reports an error";
        ok = 0;
    } else if (!strncasecmp(p, "please", 6)) {
        *why = "string starts with 'Please'";
        ok = 0;
    }
    free(low);
    return ok;
}

int st_succ_rule(const char *response, bool empty_fails, const char **why)
{
    const char *text = response ? response : "";
    json_t *doc = json_loads(text, JSON_DECODE_ANY, NULL);
    if (doc) {
        const json_t *r = doc;
        if (json_is_object(doc) && json_object_get(doc, "error")) {
            const json_t *e = json_object_get(doc, "error");
            if ((json_is_string(e) && json_string_length(e) > 0) ||
                (!json_is_string(e) && !json_is_null(e) && !json_is_false(e))) {
                json_decref(doc);
                *why = "error";
                return 0;
            }
            r = json_object_get(doc, "response");
        }
        int ok;
        if (!r || json_is_null(r)) {
            *why = "empty";
            ok = empty_fails ? 0 : 1;
        } else if (json_is_object(r)) {
            const json_t *st = json_object_get(r, "status");
            bool bad =
                (json_is_integer(st) && json_integer_value(st) == 400) ||
                (json_is_string(st) && !strcmp(json_string_value(st), "400"));
            *why = bad ? "status 400" : "ok: dict";
            ok = !bad;
        } else if (json_is_string(r)) {
            ok = string_rule(json_string_value(r), empty_fails, why);
        } else {
            *why = "ok: list, number or boolean";
            ok = 1;
        }
        json_decref(doc);
        return ok;
    }
    /* cut-off JSON: read the error string and the response's kind */
    const char *e = skip_key(text, "\"error\"");
    if (e && *e == '"' && e[1] != '"') {
        *why = "error";
        return 0;
    }
    const char *r = skip_key(text, "\"response\"");
    if (!r)
        return string_rule(text, empty_fails, why);
    if (*r == '{') {
        bool bad = strstr(r, "\"status\": 400") || strstr(r, "\"status\":400");
        *why = bad ? "status 400" : "ok: dict";
        return !bad;
    }
    if (*r == '"') {
        char *s = st_json_string_lenient(r + 1, NULL);
        if (!s) {
            *why = "out of memory";
            return 0;
        }
        int ok = string_rule(s, empty_fails, why);
        free(s);
        return ok;
    }
    if (*r == 'n' || *r == '\0') {
        *why = "empty";
        return empty_fails ? 0 : 1;
    }
    *why = "ok: list, number or boolean";
    return 1;
}

char *st_response_text(const char *response)
{
    const char *text = response ? response : "";
    json_t *doc = json_loads(text, JSON_DECODE_ANY, NULL);
    if (doc) {
        const json_t *r = doc;
        if (json_is_object(doc) && json_object_get(doc, "response"))
            r = json_object_get(doc, "response");
        char *o = json_is_string(r) ? jc_strdup(json_string_value(r))
                  : json_is_null(r)
                      ? jc_strdup("")
                      : json_dumps(r, JSON_COMPACT | JSON_ENCODE_ANY |
                                          JSON_REAL_PRECISION(15));
        json_decref(doc);
        return o;
    }
    const char *r = skip_key(text, "\"response\"");
    if (!r)
        return jc_strdup(text);
    if (*r == '"')
        return st_json_string_lenient(r + 1, NULL);
    return jc_strdup(r);
}

/* Units of a text: code points, or hashes of lowercased alphanumeric
 * words.  *n gets the count (at most cap). */
static uint64_t *units(const char *s, bool words, size_t cap, size_t *n)
{
    size_t len = strlen(s), k = 0;
    uint64_t *u = malloc((len + 1) * sizeof *u);
    if (!u)
        return NULL;
    if (!words) {
        for (size_t i = 0; i < len && k < cap;)
            u[k++] = syn_utf8_next(s, len, &i);
    } else {
        for (size_t i = 0; i < len && k < cap;) {
            while (i < len && !isalnum((unsigned char)s[i]) &&
                   (unsigned char)s[i] < 0x80)
                i++;
            if (i >= len)
                break;
            uint64_t h = 1469598103934665603ULL;
            while (i < len && (isalnum((unsigned char)s[i]) ||
                               (unsigned char)s[i] >= 0x80)) {
                h ^= (uint64_t)(unsigned char)tolower((unsigned char)s[i]);
                h *= 1099511628211ULL;
                i++;
            }
            u[k++] = h;
        }
    }
    *n = k;
    return u;
}

size_t st_lcs(const char *a, const char *b, bool words, size_t cap,
              size_t *len_a)
{
    size_t na, nb;
    uint64_t *ua = units(a ? a : "", words, cap, &na);
    uint64_t *ub = units(b ? b : "", words, cap, &nb);
    uint32_t *prev = calloc(nb + 1, sizeof *prev);
    uint32_t *cur = calloc(nb + 1, sizeof *cur);
    size_t out = (size_t)-1;
    if (!ua || !ub || !prev || !cur)
        goto done;
    for (size_t i = 1; i <= na; i++) {
        uint64_t x = ua[i - 1];
        cur[0] = 0;
        for (size_t j = 1; j <= nb; j++)
            cur[j] = x == ub[j - 1]
                         ? prev[j - 1] + 1
                         : (prev[j] > cur[j - 1] ? prev[j] : cur[j - 1]);
        uint32_t *t = prev;
        prev = cur;
        cur = t;
    }
    out = prev[nb];
    *len_a = na;
done:
    free(ua);
    free(ub);
    free(prev);
    free(cur);
    return out;
}

int st_contribution_rule(const char *response_text, const char *answer,
                         bool words, double threshold, double *ratio)
{
    size_t la = 0;
    size_t l = st_lcs(response_text, answer, words, 20000, &la);
    if (l == (size_t)-1)
        return -1;
    *ratio = la ? (double)l / (double)la : 0.0;
    return la && *ratio >= threshold ? 1 : 0;
}

void st_rewards(const double *succ, const double *contrib, size_t n,
                double solved, double alpha, bool normalize, double gamma,
                double *r, double *G)
{
    for (size_t t = 0; t < n; t++) {
        r[t] = alpha * succ[t] + contrib[t];
        if (normalize)
            r[t] /= alpha + 1.0;
    }
    r[n] = solved;
    double acc = 0;
    for (size_t t = n + 1; t-- > 0;) {
        acc = r[t] + gamma * acc;
        G[t] = acc;
    }
}
