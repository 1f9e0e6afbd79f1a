/*
 * ta_consensus.c - see ta_consensus.h.
 */
#include "ta_consensus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jc_text.h"
#include "syn_json.h"

static const char *action_of(const char *a)
{
    static const struct {
        const char *alias, *action;
    } tab[] = {
        {"call", "call"},     {"tool_call", "call"},  {"function_call", "call"},
        {"calls", "call"},    {"respond", "respond"}, {"answer", "respond"},
        {"final", "respond"}, {"reply", "respond"},   {"ask", "ask"},
        {"clarify", "ask"},   {"ask_user", "ask"}};
    for (size_t i = 0; a && i < sizeof tab / sizeof tab[0]; i++)
        if (!strcmp(a, tab[i].alias))
            return tab[i].action;
    return NULL;
}

int ta_decision_norm(const json_t *d, json_t **out, char *why, size_t whysz)
{
    *out = NULL;
    const char *action =
        action_of(json_string_value(json_object_get(d, "action")));
    const json_t *calls = json_object_get(d, "calls");
    if (!calls)
        calls = json_object_get(d, "tool_calls");
    const json_t *content = json_object_get(d, "content");
    if (!action) {
        snprintf(why, whysz, "the action is not call, ask or respond");
        return ASSAY_EDATA;
    }
    json_t *o = json_pack("{s:s, s:[]}", "action", action, "calls");
    if (!o)
        return ASSAY_ENOMEM;
    const json_t *th = json_object_get(d, "thought");
    if (json_is_string(th))
        json_object_set(o, "thought", (json_t *)th);
    if (!strcmp(action, "call")) {
        if (!json_is_array(calls) || json_array_size(calls) == 0) {
            json_decref(o);
            snprintf(why, whysz, "action call without calls");
            return ASSAY_EDATA;
        }
        size_t i;
        json_t *c;
        json_array_foreach(calls, i, c)
        {
            const json_t *fn = json_object_get(c, "function");
            if (json_is_object(fn))
                c = (json_t *)fn;
            const char *name = json_string_value(json_object_get(c, "name"));
            const json_t *args = json_object_get(c, "arguments");
            json_t *a = NULL;
            if (json_is_string(args))
                a = json_loads(json_string_value(args), 0, NULL);
            else if (json_is_object(args))
                a = json_incref((json_t *)args);
            else if (!args || json_is_null(args))
                a = json_object();
            if (!name || !name[0] || !json_is_object(a)) {
                json_decref(a);
                json_decref(o);
                snprintf(why, whysz,
                         "call %zu has no name or its arguments "
                         "are not an object",
                         i);
                return ASSAY_EDATA;
            }
            json_t *e = json_pack("{s:s, s:o}", "name", name, "arguments", a);
            if (!e || json_array_append_new(json_object_get(o, "calls"), e)) {
                json_decref(o);
                return ASSAY_ENOMEM;
            }
        }
        json_object_set_new(o, "content", json_string(""));
    } else {
        if (!json_is_string(content) || jc_blank(json_string_value(content))) {
            json_decref(o);
            snprintf(why, whysz, "action %s without content", action);
            return ASSAY_EDATA;
        }
        json_object_set(o, "content", (json_t *)content);
    }
    *out = o;
    return ASSAY_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char *ta_decision_key(const json_t *norm)
{
    const char *action = json_string_value(json_object_get(norm, "action"));
    const json_t *calls = json_object_get(norm, "calls");
    size_t n = json_array_size(calls);
    char **parts = calloc(n + 1, sizeof *parts);
    jc_buf b = {0};
    char *out = NULL;
    if (!parts)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (!(parts[i] = syn_json_canon(json_array_get(calls, i))))
            goto done;
    qsort(parts, n, sizeof *parts, cmp_str);
    if (jc_buf_puts(&b, action ? action : "?"))
        goto done;
    for (size_t i = 0; i < n; i++)
        if (jc_buf_printf(&b, "|%s", parts[i]))
            goto done;
    jc_buf_take(&b, &out);
done:
    for (size_t i = 0; i < n; i++)
        free(parts[i]);
    free(parts);
    jc_buf_free(&b);
    return out;
}

size_t ta_majority(char *const *keys, size_t n, size_t *count)
{
    size_t best = SIZE_MAX, bc = 0;
    for (size_t i = 0; i < n; i++) {
        if (!keys[i])
            continue;
        size_t c = 0;
        for (size_t j = 0; j < n; j++)
            c += keys[j] && !strcmp(keys[i], keys[j]);
        if (c > bc) {
            bc = c;
            best = i;
        }
    }
    *count = bc;
    return best;
}
