/*
 * jc_tpl.c - see jc_tpl.h.  A template compiles into a flat list of
 * operations (text, variable, section open, section close); a section's
 * open operation knows where its close is, so rendering skips a false
 * section in one step.
 */
#include "jc_tpl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jc_text.h"

enum { OP_TEXT, OP_VAR, OP_OPEN, OP_CLOSE };

typedef struct tpl_op {
    int kind;
    bool inverted;   /* OP_OPEN: {{^name}} */
    size_t off, len; /* OP_TEXT: span of the source */
    char *name;      /* OP_VAR, OP_OPEN, OP_CLOSE */
    size_t jump;     /* OP_OPEN: index of the matching OP_CLOSE */
} tpl_op;

struct jc_tpl {
    char *src;
    tpl_op *ops;
    size_t nops, cap;
};

void jc_tpl_free(jc_tpl *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nops; i++)
        free(t->ops[i].name);
    free(t->ops);
    free(t->src);
    free(t);
}

static int tpl_push(jc_tpl *t, tpl_op op)
{
    if (t->nops == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        tpl_op *p = realloc(t->ops, cap * sizeof *p);
        if (!p)
            return ASSAY_ENOMEM;
        t->ops = p;
        t->cap = cap;
    }
    t->ops[t->nops++] = op;
    return ASSAY_OK;
}

static bool tpl_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

static bool tpl_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Push literal text src[a..b) (nothing when empty). */
static int tpl_text(jc_tpl *t, size_t a, size_t b)
{
    if (b <= a)
        return ASSAY_OK;
    tpl_op op = {.kind = OP_TEXT, .off = a, .len = b - a};
    return tpl_push(t, op);
}

int jc_tpl_compile(const char *text, size_t len, jc_tpl **out, assay_error *err)
{
    jc_tpl *t = calloc(1, sizeof *t);
    size_t stack[64], depth = 0;
    size_t lit = 0, i = 0;
    int rc = ASSAY_OK;
    *out = NULL;
    if (!t || !(t->src = malloc(len + 1))) {
        free(t);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    memcpy(t->src, text, len);
    t->src[len] = '\0';
    const char *s = t->src;
    while (i + 1 < len) {
        if (s[i] != '{' || s[i + 1] != '{') {
            i++;
            continue;
        }
        size_t open = i, j = i + 2;
        const char *close = strstr(s + j, "}}");
        if (!close) {
            rc = assay_error_set(err, ASSAY_EINVAL,
                                 "template: unclosed '{{' at byte %zu", open);
            goto fail;
        }
        size_t end = (size_t)(close - s) + 2; /* just past "}}" */
        char sigil = 0;
        while (j < end - 2 && tpl_space(s[j]))
            j++;
        if (s[j] == '#' || s[j] == '^' || s[j] == '/' || s[j] == '!')
            sigil = s[j++];
        size_t ns, ne;
        while (j < end - 2 && tpl_space(s[j]))
            j++;
        ns = j;
        while (j < end - 2 && tpl_name_char(s[j]))
            j++;
        ne = j;
        while (j < end - 2 && tpl_space(s[j]))
            j++;
        if (sigil != '!' && (ne == ns || j != end - 2)) {
            rc = assay_error_set(err, ASSAY_EINVAL,
                                 "template: bad placeholder at byte %zu "
                                 "(expected {{name}}, {{#name}}, {{^name}}, "
                                 "{{/name}} or {{! comment}})",
                                 open);
            goto fail;
        }
        /* a section or comment tag alone on its line takes the line */
        size_t text_end = open, resume = end;
        if (sigil) {
            size_t a = open, b = end;
            while (a > 0 && tpl_space(s[a - 1]))
                a--;
            while (b < len && tpl_space(s[b]))
                b++;
            bool line_start = a == 0 || s[a - 1] == '\n';
            bool line_end = b == len || s[b] == '\n';
            if (line_start && line_end) {
                text_end = a;
                resume = b < len ? b + 1 : b;
            }
        }
        if ((rc = tpl_text(t, lit, text_end)) != 0)
            goto oom;
        if (sigil != '!') {
            tpl_op op = {0};
            op.name = malloc(ne - ns + 1);
            if (!op.name)
                goto oom;
            memcpy(op.name, s + ns, ne - ns);
            op.name[ne - ns] = '\0';
            if (sigil == '#' || sigil == '^') {
                op.kind = OP_OPEN;
                op.inverted = sigil == '^';
                if (depth == sizeof stack / sizeof stack[0]) {
                    free(op.name);
                    rc = assay_error_set(err, ASSAY_EINVAL,
                                         "template: sections nested too "
                                         "deep at byte %zu",
                                         open);
                    goto fail;
                }
                stack[depth++] = t->nops;
            } else if (sigil == '/') {
                op.kind = OP_CLOSE;
                if (depth == 0 ||
                    strcmp(t->ops[stack[depth - 1]].name, op.name) != 0) {
                    rc = assay_error_set(
                        err, ASSAY_EINVAL,
                        "template: {{/%s}} at byte %zu closes %s%s%s", op.name,
                        open, depth ? "{{#" : "no open section",
                        depth ? t->ops[stack[depth - 1]].name : "",
                        depth ? "}}" : "");
                    free(op.name);
                    goto fail;
                }
                t->ops[stack[--depth]].jump = t->nops;
            } else {
                op.kind = OP_VAR;
            }
            if (tpl_push(t, op)) {
                free(op.name);
                goto oom;
            }
        }
        i = lit = resume;
    }
    if (depth) {
        rc = assay_error_set(err, ASSAY_EINVAL,
                             "template: section {{#%s}} is never closed",
                             t->ops[stack[depth - 1]].name);
        goto fail;
    }
    if ((rc = tpl_text(t, lit, len)) != 0)
        goto oom;
    *out = t;
    return ASSAY_OK;
oom:
    rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
fail:
    jc_tpl_free(t);
    return rc;
}

/* The value at dotted path `name` in `ctx`, or NULL. */
static const json_t *tpl_lookup(const json_t *ctx, const char *name)
{
    char part[256];
    const json_t *v = ctx;
    const char *p = name;
    while (v && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (n >= sizeof part || !json_is_object(v))
            return NULL;
        memcpy(part, p, n);
        part[n] = '\0';
        v = json_object_get(v, part);
        p += n + (dot ? 1 : 0);
    }
    return v;
}

static bool tpl_truthy(const json_t *v)
{
    if (!v || json_is_null(v) || json_is_false(v))
        return false;
    if (json_is_string(v))
        return json_string_length(v) > 0;
    if (json_is_array(v))
        return json_array_size(v) > 0;
    if (json_is_object(v))
        return json_object_size(v) > 0;
    return true;
}

int jc_tpl_render(const jc_tpl *t, const json_t *ctx, size_t idx, char **out,
                  assay_error *err)
{
    jc_buf b = {0};
    *out = NULL;
    for (size_t i = 0; i < t->nops; i++) {
        const tpl_op *op = &t->ops[i];
        int rc = ASSAY_OK;
        if (op->kind == OP_TEXT) {
            rc = jc_buf_put(&b, t->src + op->off, op->len);
        } else if (op->kind == OP_OPEN) {
            bool on = tpl_truthy(tpl_lookup(ctx, op->name));
            if (on == op->inverted)
                i = op->jump; /* the loop steps past the close */
        } else if (op->kind == OP_VAR) {
            const json_t *v = tpl_lookup(ctx, op->name);
            if (!v || json_is_null(v)) {
                jc_buf_free(&b);
                return assay_error_set(err, ASSAY_EDATA,
                                       "record %zu: %s field '%s'", idx,
                                       v ? "null" : "missing", op->name);
            }
            if (json_is_string(v)) {
                rc =
                    jc_buf_put(&b, json_string_value(v), json_string_length(v));
            } else {
                char *d = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
                rc = d ? jc_buf_puts(&b, d) : ASSAY_ENOMEM;
                free(d);
            }
        }
        if (rc) {
            jc_buf_free(&b);
            return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        }
    }
    if (jc_buf_take(&b, out))
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    return ASSAY_OK;
}

bool jc_tpl_uses(const jc_tpl *t, const char *name)
{
    for (size_t i = 0; t && i < t->nops; i++)
        if (t->ops[i].name && strcmp(t->ops[i].name, name) == 0)
            return true;
    return false;
}

/* ---- prompt files --------------------------------------------------- */

void jc_prompt_free(jc_prompt *p)
{
    if (!p)
        return;
    jc_tpl_free(p->system);
    jc_tpl_free(p->user);
    jc_tpl_free(p->repair);
    p->system = p->user = p->repair = NULL;
}

/* If the line [a, b) is a marker "@@ name @@", copy the name. */
static bool prompt_marker(const char *a, const char *b, char *name, size_t cap)
{
    while (a < b && tpl_space(*a))
        a++;
    while (b > a && tpl_space(b[-1]))
        b--;
    if (b - a < 5 || a[0] != '@' || a[1] != '@' || b[-1] != '@' || b[-2] != '@')
        return false;
    a += 2;
    b -= 2;
    while (a < b && tpl_space(*a))
        a++;
    while (b > a && tpl_space(b[-1]))
        b--;
    if (a == b || (size_t)(b - a) >= cap)
        return false;
    for (const char *p = a; p < b; p++)
        if (!tpl_name_char(*p))
            return false;
    memcpy(name, a, (size_t)(b - a));
    name[b - a] = '\0';
    return true;
}

/* True when [a, b) holds only whitespace and {{! comments }}. */
static bool prompt_blank(const char *a, const char *b)
{
    while (a < b) {
        if (b - a >= 3 && a[0] == '{' && a[1] == '{' && a[2] == '!') {
            const char *e = strstr(a, "}}");
            if (!e || e + 2 > b)
                return false;
            a = e + 2;
            continue;
        }
        if (!tpl_space(*a) && *a != '\n')
            return false;
        a++;
    }
    return true;
}

/* Compile the message body [a, b) without its blank edge lines. */
static int prompt_part(const char *a, const char *b, jc_tpl **out,
                       const char *name, assay_error *err)
{
    while (a < b && (tpl_space(*a) || *a == '\n')) {
        /* drop whole leading blank lines only */
        const char *nl = memchr(a, '\n', (size_t)(b - a));
        const char *p = a;
        while (p < b && tpl_space(*p))
            p++;
        if (!nl || p != nl)
            break;
        a = nl + 1;
    }
    while (b > a && (tpl_space(b[-1]) || b[-1] == '\n'))
        b--;
    int rc = jc_tpl_compile(a, (size_t)(b - a), out, err);
    if (rc)
        assay_error_prefix(err, "message '%s': ", name);
    return rc;
}

int jc_prompt_parse(const char *text, jc_prompt *out, assay_error *err)
{
    const char *body = NULL, *p = text, *end = text + strlen(text);
    char cur[32] = "", name[32];
    int rc = ASSAY_OK;
    memset(out, 0, sizeof *out);
    while (p <= end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if (prompt_marker(p, le, name, sizeof name)) {
            if (cur[0]) {
                jc_tpl **slot = !strcmp(cur, "system") ? &out->system
                                : !strcmp(cur, "user") ? &out->user
                                                       : &out->repair;
                if ((rc = prompt_part(body, p, slot, cur, err)) != 0)
                    goto fail;
            } else if (!prompt_blank(text, p)) {
                rc = assay_error_set(err, ASSAY_EINVAL,
                                     "prompt: text before the first "
                                     "'@@ %s @@' marker",
                                     name);
                goto fail;
            }
            if (strcmp(name, "system") && strcmp(name, "user") &&
                strcmp(name, "repair")) {
                rc = assay_error_set(err, ASSAY_EINVAL,
                                     "prompt: unknown message '@@ %s @@' "
                                     "(expected system, user or repair)",
                                     name);
                goto fail;
            }
            if ((!strcmp(name, "system") && out->system) ||
                (!strcmp(name, "user") && out->user) ||
                (!strcmp(name, "repair") && out->repair) ||
                !strcmp(name, cur)) {
                rc = assay_error_set(err, ASSAY_EINVAL,
                                     "prompt: message '@@ %s @@' given "
                                     "twice",
                                     name);
                goto fail;
            }
            snprintf(cur, sizeof cur, "%s", name);
            body = nl ? nl + 1 : end;
        }
        if (!nl)
            break;
        p = nl + 1;
    }
    if (!cur[0]) {
        rc = prompt_part(text, end, &out->user, "user", err);
    } else {
        jc_tpl **slot = !strcmp(cur, "system") ? &out->system
                        : !strcmp(cur, "user") ? &out->user
                                               : &out->repair;
        rc = prompt_part(body, end, slot, cur, err);
    }
    if (rc)
        goto fail;
    if (!out->user) {
        rc = assay_error_set(err, ASSAY_EINVAL,
                             "prompt: no '@@ user @@' message");
        goto fail;
    }
    return ASSAY_OK;
fail:
    jc_prompt_free(out);
    return rc;
}

int jc_prompt_render(const jc_prompt *p, const json_t *ctx, size_t idx,
                     char **system, char **user, assay_error *err)
{
    *system = *user = NULL;
    int rc =
        p->system ? jc_tpl_render(p->system, ctx, idx, system, err) : ASSAY_OK;
    if (rc == 0)
        rc = jc_tpl_render(p->user, ctx, idx, user, err);
    if (rc) {
        free(*system);
        *system = NULL;
    }
    return rc;
}

bool jc_prompt_uses(const jc_prompt *p, const char *name)
{
    return jc_tpl_uses(p->system, name) || jc_tpl_uses(p->user, name) ||
           jc_tpl_uses(p->repair, name);
}
