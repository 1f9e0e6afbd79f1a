#include "options.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

const char *options_type_name(assay_opt_type t)
{
    switch (t) {
    case ASSAY_OPT_INT: return "int";
    case ASSAY_OPT_FLOAT: return "float";
    case ASSAY_OPT_BOOL: return "bool";
    case ASSAY_OPT_STRING: return "string";
    case ASSAY_OPT_ENUM: return "enum";
    case ASSAY_OPT_LIST: return "list";
    case ASSAY_OPT_OBJECT: return "object";
    case ASSAY_OPT_ANY: return "any";
    }
    return "?";
}

/* What a value is, in the words of the YAML it came from, with the value
 * itself when it is short: "string 'ten'", "integer 5", "a list". */
static const char *jtype(const json_t *v, char *buf, size_t n)
{
    switch (json_typeof(v)) {
    case JSON_STRING: {
        const char *s = json_string_value(v);
        if (strlen(s) <= 40 && !strpbrk(s, "\n\r"))
            snprintf(buf, n, "string '%s'", s);
        else
            snprintf(buf, n, "a string");
        return buf;
    }
    case JSON_INTEGER:
        snprintf(buf, n, "integer %lld", (long long)json_integer_value(v));
        return buf;
    case JSON_REAL:
        snprintf(buf, n, "number %.15g", json_real_value(v));
        return buf;
    case JSON_TRUE: return "true";
    case JSON_FALSE: return "false";
    case JSON_NULL: return "null (no value)";
    case JSON_ARRAY: return "a list";
    case JSON_OBJECT: return "a mapping";
    }
    return "?";
}

/* A hint for a string given where a number or a boolean was expected. */
static void string_hint(const assay_option *o, const json_t *v, char *hint,
                        size_t n)
{
    if (!json_is_string(v))
        return;
    const char *s = json_string_value(v);
    double d;
    if ((o->type == ASSAY_OPT_INT || o->type == ASSAY_OPT_FLOAT) &&
        util_parse_double(s, &d))
        snprintf(hint, n, "remove the quotes: a quoted value is a string");
    else if (o->type == ASSAY_OPT_BOOL &&
             (!strcmp(s, "true") || !strcmp(s, "false")))
        snprintf(hint, n, "remove the quotes: a quoted value is a string");
    else if (o->type == ASSAY_OPT_BOOL)
        snprintf(hint, n, "write true or false (YAML 1.2 reads '%s' as a "
                          "string)", s);
}

/* Is `s` one of the '|'-separated choices? */
static bool in_choices(const char *choices, const char *s)
{
    size_t n = strlen(s);
    for (const char *p = choices; p && *p;) {
        const char *bar = strchr(p, '|');
        size_t l = bar ? (size_t)(bar - p) : strlen(p);
        if (l == n && strncmp(p, s, n) == 0)
            return true;
        p = bar ? bar + 1 : NULL;
    }
    return false;
}

static const char *closest_choice(const char *choices, const char *s,
                                  char *buf, size_t bufsz)
{
    const char *cands[64];
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", choices ? choices : "");
    size_t n = 0;
    char *save = NULL;
    for (char *t = strtok_r(tmp, "|", &save); t && n < 64;
         t = strtok_r(NULL, "|", &save))
        cands[n++] = t;
    const char *best = util_did_you_mean(s, cands, n);
    if (!best)
        return NULL;
    snprintf(buf, bufsz, "%s", best);
    return buf;
}

/* Bounds check with a message that states the allowed range in words
 * ("at least 1", "at most 10", "between 1 and 10"). */
static bool out_of_range(const assay_option *o, double d, char *msg,
                         size_t msgsz)
{
    if (!(o->has_min && d < o->min) && !(o->has_max && d > o->max))
        return false;
    if (o->has_min && o->has_max)
        snprintf(msg, msgsz, "option '%s' is %.15g; it must be between %g "
                             "and %g",
                 o->name, d, o->min, o->max);
    else if (o->has_min)
        snprintf(msg, msgsz, "option '%s' is %.15g; it must be at least %g",
                 o->name, d, o->min);
    else
        snprintf(msg, msgsz, "option '%s' is %.15g; it must be at most %g",
                 o->name, d, o->max);
    return true;
}

/*
 * Check (and normalise) one value.  Returns a new reference to the value
 * to store, or NULL with `msg` filled.
 */
static json_t *check_value(const assay_option *o, json_t *v, char *msg,
                           size_t msgsz, char *hint, size_t hintsz)
{
    char tb[80];
    hint[0] = '\0';
    switch (o->type) {
    case ASSAY_OPT_INT: {
        if (json_is_real(v) && floor(json_real_value(v)) == json_real_value(v) &&
            fabs(json_real_value(v)) < 9e15)
            v = json_integer((json_int_t)json_real_value(v));
        else if (json_is_integer(v))
            json_incref(v);
        else {
            snprintf(msg, msgsz, "option '%s' expects an integer, got %s",
                     o->name, jtype(v, tb, sizeof tb));
            string_hint(o, v, hint, hintsz);
            return NULL;
        }
        double d = (double)json_integer_value(v);
        if (out_of_range(o, d, msg, msgsz)) {
            json_decref(v);
            return NULL;
        }
        return v;
    }
    case ASSAY_OPT_FLOAT: {
        if (!json_is_number(v)) {
            snprintf(msg, msgsz, "option '%s' expects a number, got %s",
                     o->name, jtype(v, tb, sizeof tb));
            string_hint(o, v, hint, hintsz);
            return NULL;
        }
        double d = json_number_value(v);
        if (!isfinite(d)) {
            snprintf(msg, msgsz, "option '%s' must be finite", o->name);
            return NULL;
        }
        if (out_of_range(o, d, msg, msgsz))
            return NULL;
        return json_real(d);
    }
    case ASSAY_OPT_BOOL:
        if (!json_is_boolean(v)) {
            snprintf(msg, msgsz, "option '%s' expects true or false, got %s",
                     o->name, jtype(v, tb, sizeof tb));
            string_hint(o, v, hint, hintsz);
            return NULL;
        }
        return json_incref(v);
    case ASSAY_OPT_STRING:
        if (!json_is_string(v)) {
            snprintf(msg, msgsz, "option '%s' expects a string, got %s",
                     o->name, jtype(v, tb, sizeof tb));
            snprintf(hint, hintsz, "quote the value to make it a string");
            return NULL;
        }
        return json_incref(v);
    case ASSAY_OPT_ENUM:
        if (!json_is_string(v) || !in_choices(o->choices,
                                              json_string_value(v))) {
            if (json_is_string(v)) {
                snprintf(msg, msgsz, "option '%s': '%s' is not one of %s",
                         o->name, json_string_value(v),
                         o->choices ? o->choices : "(none)");
                char b[128];
                const char *c = closest_choice(o->choices,
                                               json_string_value(v), b,
                                               sizeof b);
                if (c)
                    snprintf(hint, hintsz, "did you mean '%s'?", c);
            } else
                snprintf(msg, msgsz, "option '%s' expects one of %s, got %s",
                         o->name, o->choices ? o->choices : "(none)",
                         jtype(v, tb, sizeof tb));
            return NULL;
        }
        return json_incref(v);
    case ASSAY_OPT_LIST:
        if (json_is_array(v))
            return json_incref(v);
        if (json_is_object(v)) {
            snprintf(msg, msgsz, "option '%s' expects a list, got a mapping",
                     o->name);
            snprintf(hint, hintsz, "for a list of mappings write [{...}] or "
                                   "'- key: value' lines");
            return NULL;
        }
        {
            json_t *a = json_array();
            if (a)
                json_array_append(a, v);
            return a;
        }
    case ASSAY_OPT_OBJECT:
        if (!json_is_object(v)) {
            snprintf(msg, msgsz, "option '%s' expects a mapping, got %s",
                     o->name, jtype(v, tb, sizeof tb));
            return NULL;
        }
        return json_incref(v);
    case ASSAY_OPT_ANY:
        return json_incref(v);
    }
    snprintf(msg, msgsz, "option '%s' has an unknown type", o->name);
    return NULL;
}

int options_check_default(const assay_option *o, char *msg, size_t msgsz)
{
    char hint[256];
    if (!o->def)
        return 0;
    if (o->required) {
        snprintf(msg, msgsz, "option '%s' is required and has a default",
                 o->name);
        return ASSAY_EINVAL;
    }
    json_error_t je;
    json_t *v = json_loads(o->def, JSON_DECODE_ANY, &je);
    if (!v) {
        snprintf(msg, msgsz, "option '%s': default '%s' is not JSON: %s",
                 o->name, o->def, je.text);
        return ASSAY_EINVAL;
    }
    json_t *ok = json_is_null(v) ? json_incref(v)
                                 : check_value(o, v, msg, msgsz, hint,
                                               sizeof hint);
    json_decref(v);
    if (!ok) {
        char tmp[512];
        snprintf(tmp, sizeof tmp, "%s", msg);
        snprintf(msg, msgsz, "default of %s", tmp);
        return ASSAY_EINVAL;
    }
    json_decref(ok);
    return 0;
}

static void pos_of(const ynode *ypos, const char *key, int *line, int *col)
{
    size_t i;
    if (ypos && ynode_get(ypos, key, &i)) {
        *line = ypos->items[i]->line;
        *col = ypos->items[i]->col;
    }
}

static void keypos_of(const ynode *ypos, const char *key, int *line, int *col)
{
    size_t i;
    if (ypos && ynode_get(ypos, key, &i)) {
        *line = ypos->key_line[i];
        *col = ypos->key_col[i];
    }
}

int options_resolve(const assay_plugin *p, const json_t *given,
                    const ynode *ypos, const char *file, int line, int col,
                    const char *who, diag *d, json_t **out)
{
    int rc = 0;
    json_t *res = json_object();
    if (!res) {
        diag_add(d, file, line, col, NULL, "out of memory");
        return ASSAY_ENOMEM;
    }
    if (given && !json_is_object(given)) {
        diag_add(d, file, line, col, NULL,
                 "%s: 'with' must be a mapping of options", who);
        json_decref(res);
        return ASSAY_EINVAL;
    }
    /* unknown keys */
    const char *key;
    json_t *v;
    const char *names[256];
    size_t nn = 0;
    for (const assay_option *o = p->options; o && o->name && nn < 256; o++)
        names[nn++] = o->name;
    json_object_foreach((json_t *)given, key, v)
    {
        bool known = false;
        for (size_t i = 0; i < nn; i++)
            known |= strcmp(names[i], key) == 0;
        if (known)
            continue;
        int l = line, c = col;
        keypos_of(ypos, key, &l, &c);
        const char *best = util_did_you_mean(key, names, nn);
        char hint[512];
        if (best)
            snprintf(hint, sizeof hint, "did you mean '%s'?", best);
        else if (nn == 0)
            snprintf(hint, sizeof hint, "%s takes no options", p->name);
        else
            snprintf(hint, sizeof hint,
                     "see `assay plugins info %s` for its options", p->name);
        diag_add(d, file, l, c, hint, "%s: unknown option '%s' for %s", who,
                 key, p->name);
        rc = ASSAY_EINVAL;
    }
    for (const assay_option *o = p->options; o && o->name; o++) {
        json_t *gv = given ? json_object_get(given, o->name) : NULL;
        json_t *store = NULL;
        if (!gv || (json_is_null(gv) && !o->required)) {
            if (o->required) {
                char hint[400];
                snprintf(hint, sizeof hint, "add '%s: <%s>' under 'with:'%s%s",
                         o->name, options_type_name(o->type),
                         o->doc ? "; " : "", o->doc ? o->doc : "");
                diag_add(d, file, line, col, hint,
                         "%s: missing required option '%s'", who, o->name);
                rc = ASSAY_EINVAL;
                continue;
            }
            if (o->def) {
                json_t *dv = json_loads(o->def, JSON_DECODE_ANY, NULL);
                char msg[512], hint[256];
                store = dv && !json_is_null(dv)
                            ? check_value(o, dv, msg, sizeof msg, hint,
                                          sizeof hint)
                            : json_null();
                json_decref(dv);
            } else
                store = json_null();
        } else {
            char msg[512], hint[256];
            store = check_value(o, gv, msg, sizeof msg, hint, sizeof hint);
            if (!store) {
                int l = line, c = col;
                pos_of(ypos, o->name, &l, &c);
                diag_add(d, file, l, c, hint[0] ? hint : NULL, "%s: %s", who,
                         msg);
                rc = ASSAY_EINVAL;
                continue;
            }
        }
        if (!store || json_object_set_new(res, o->name, store)) {
            diag_add(d, file, line, col, NULL, "out of memory");
            rc = ASSAY_ENOMEM;
        }
    }
    if (rc) {
        json_decref(res);
        return rc;
    }
    *out = res;
    return 0;
}
