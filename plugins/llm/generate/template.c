/*
 * plugins/llm/generate/template.c - see template.h.
 */
#include "template.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct gen_seg {
    bool field; /* placeholder, else literal */
    char *text; /* literal text or the field path */
    size_t len;
} gen_seg;

struct gen_tpl {
    gen_seg *segs;
    size_t n;
};

void gen_tpl_free(gen_tpl *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->segs[i].text);
    free(t->segs);
    free(t);
}

static int seg_add(gen_tpl *t, bool field, const char *s, size_t len)
{
    gen_seg *ns = realloc(t->segs, (t->n + 1) * sizeof *ns);
    if (!ns)
        return -1;
    t->segs = ns;
    char *txt = malloc(len + 1);
    if (!txt)
        return -1;
    memcpy(txt, s, len);
    txt[len] = '\0';
    t->segs[t->n++] = (gen_seg){field, txt, len};
    return 0;
}

int gen_tpl_compile(const char *text, gen_tpl **out, assay_error *err)
{
    gen_tpl *t = calloc(1, sizeof *t);
    const char *p = text, *lit = text;
    if (!t)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    while ((p = strstr(p, "{{")) != NULL) {
        const char *close = strstr(p + 2, "}}");
        if (!close) {
            gen_tpl_free(t);
            return assay_error_set(err, ASSAY_EINVAL,
                                   "unclosed '{{' at byte %zu",
                                   (size_t)(p - text));
        }
        const char *a = p + 2, *b = close;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        if (a == b || memchr(a, '{', (size_t)(b - a)) ||
            memchr(a, ' ', (size_t)(b - a))) {
            gen_tpl_free(t);
            return assay_error_set(err, ASSAY_EINVAL,
                                   "bad placeholder at byte %zu (expected "
                                   "{{field}})",
                                   (size_t)(p - text));
        }
        if ((p > lit && seg_add(t, false, lit, (size_t)(p - lit))) ||
            seg_add(t, true, a, (size_t)(b - a))) {
            gen_tpl_free(t);
            return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        }
        p = lit = close + 2;
    }
    if (*lit && seg_add(t, false, lit, strlen(lit))) {
        gen_tpl_free(t);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    *out = t;
    return ASSAY_OK;
}

/* Field `path` ("a.b.c") of `rec`, or NULL. */
static const json_t *tpl_lookup(const json_t *rec, const char *path)
{
    const json_t *v = json_object_get(rec, path);
    if (v || !strchr(path, '.'))
        return v;
    char part[256];
    const char *p = path;
    v = rec;
    while (v && *p) {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p);
        if (l >= sizeof part)
            return NULL;
        memcpy(part, p, l);
        part[l] = '\0';
        v = json_object_get(v, part);
        p = dot ? dot + 1 : p + l;
    }
    return v;
}

typedef struct tbuf {
    char *p;
    size_t n, cap;
} tbuf;

static int tb_put(tbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = (b->n + n + 1) * 2;
        char *np = realloc(b->p, cap);
        if (!np)
            return -1;
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
    return 0;
}

int gen_tpl_render(const gen_tpl *t, const json_t *rec, size_t idx, char **out,
                   assay_error *err)
{
    tbuf b = {0};
    if (!json_is_object(rec))
        return assay_error_set(err, ASSAY_EDATA,
                               "record %zu: expected an object", idx);
    if (tb_put(&b, "", 0))
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    for (size_t i = 0; i < t->n; i++) {
        const gen_seg *s = &t->segs[i];
        int bad = 0;
        if (!s->field) {
            bad = tb_put(&b, s->text, s->len);
        } else {
            const json_t *v = tpl_lookup(rec, s->text);
            if (!v) {
                free(b.p);
                return assay_error_set(err, ASSAY_EDATA,
                                       "record %zu: missing field '%s' "
                                       "(used in a prompt template)",
                                       idx, s->text);
            }
            if (json_is_string(v)) {
                bad = tb_put(&b, json_string_value(v), json_string_length(v));
            } else {
                char *j = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
                bad = !j || tb_put(&b, j, strlen(j));
                free(j);
            }
        }
        if (bad) {
            free(b.p);
            return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        }
    }
    *out = b.p;
    return ASSAY_OK;
}

void gen_error_prefix(assay_error *err, const char *fmt, ...)
{
    char head[256], old[ASSAY_ERROR_TEXT];
    va_list ap;
    if (!err)
        return;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    memcpy(old, err->text, sizeof old);
    old[sizeof old - 1] = '\0';
    size_t hl = strlen(head), room = sizeof err->text - 1 - hl;
    size_t ol = strnlen(old, room);
    memcpy(err->text, head, hl);
    memcpy(err->text + hl, old, ol);
    err->text[hl + ol] = '\0';
}
