/*
 * fc_dialog.c - see fc_dialog.h.
 */
#include "fc_dialog.h"

#include <stdlib.h>
#include <string.h>

#include "jc_text.h"
#include "syn_json.h"
#include "syn_pylit.h"
#include "syn_schema.h"

static int role_code(const char *r)
{
    if (!r)
        return FC_BADROLE;
    if (!strcmp(r, "system"))
        return FC_SYSTEM;
    if (!strcmp(r, "user") || !strcmp(r, "human"))
        return FC_USER;
    if (!strcmp(r, "assistant") || !strcmp(r, "gpt"))
        return FC_ASSISTANT;
    if (!strcmp(r, "tool") || !strcmp(r, "function") ||
        !strcmp(r, "observation"))
        return FC_TOOL;
    return FC_BADROLE;
}

void fc_dialog_free(fc_dialog *d)
{
    for (size_t i = 0; i < d->n; i++) {
        for (size_t k = 0; k < d->msgs[i].ncalls; k++) {
            json_decref(d->msgs[i].calls[k].args);
            free(d->msgs[i].calls[k].args_text);
            free(d->msgs[i].calls[k].own_name);
        }
        free(d->msgs[i].calls);
    }
    free(d->msgs);
    json_decref(d->tools);
    memset(d, 0, sizeof *d);
}

const json_t *fc_dialog_tool(const fc_dialog *d, const char *name)
{
    size_t i;
    json_t *t;
    if (!name)
        return NULL;
    json_array_foreach(d->tools, i, t)
    {
        const char *n = syn_fn_name(t);
        if (n && !strcmp(n, name))
            return t;
    }
    return NULL;
}

/* Arguments given as JSON text or as an object. */
static int set_args(fc_call *c, const json_t *a)
{
    if (json_is_string(a)) {
        c->args_text = jc_strdup(json_string_value(a));
        json_t *v = json_loads(json_string_value(a), 0, NULL);
        if (json_is_object(v))
            c->args = v;
        else {
            json_decref(v);
            c->args_bad = true;
        }
    } else if (json_is_object(a)) {
        c->args = json_incref((json_t *)a);
        c->args_text = json_dumps(a, JSON_COMPACT);
    } else if (!a || json_is_null(a)) {
        c->args = json_object();
        c->args_text = jc_strdup("{}");
        if (!c->args)
            return ASSAY_ENOMEM;
    } else {
        c->args_bad = true;
        c->args_text = json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY);
    }
    return c->args_text ? ASSAY_OK : ASSAY_ENOMEM;
}

static int read_calls(fc_msg *m, const json_t *tc)
{
    size_t n = json_array_size(tc), i;
    json_t *c;
    if (!n)
        return ASSAY_OK;
    m->calls = calloc(n, sizeof *m->calls);
    if (!m->calls)
        return ASSAY_ENOMEM;
    json_array_foreach(tc, i, c)
    {
        fc_call *k = &m->calls[m->ncalls++];
        const json_t *fn = json_object_get(c, "function");
        if (!json_is_object(fn))
            fn = c;
        k->id = json_string_value(json_object_get(c, "id"));
        k->name = json_string_value(json_object_get(fn, "name"));
        if (set_args(k, json_object_get(fn, "arguments")))
            return ASSAY_ENOMEM;
    }
    return ASSAY_OK;
}

static int read_messages(const json_t *msgs, fc_dialog *d)
{
    size_t i;
    json_t *m;
    d->msgs = calloc(json_array_size(msgs) + 1, sizeof *d->msgs);
    if (!d->msgs)
        return ASSAY_ENOMEM;
    json_array_foreach(msgs, i, m)
    {
        fc_msg *x = &d->msgs[d->n++];
        x->role_name = json_string_value(json_object_get(m, "role"));
        x->role = role_code(x->role_name);
        const json_t *c = json_object_get(m, "content");
        x->content_present = c != NULL;
        x->content = json_string_value(c);
        x->content_bad = c && !json_is_string(c) && !json_is_null(c);
        x->tool_call_id = json_string_value(json_object_get(m, "tool_call_id"));
        x->name = json_string_value(json_object_get(m, "name"));
        x->finish_reason =
            json_string_value(json_object_get(m, "finish_reason"));
        const json_t *tc = json_object_get(m, "tool_calls");
        if (!tc)
            tc = json_object_get(m, "function_call") /* legacy */
                     ? json_pack("[O]", json_object_get(m, "function_call"))
                     : NULL;
        else
            json_incref((json_t *)tc);
        int rc = read_calls(x, tc);
        json_decref((json_t *)tc);
        if (rc)
            return rc;
    }
    return ASSAY_OK;
}

/* ShareGPT-style conversations: calls in Python syntax, tool results as
 * JSON lists; the tool list from the system prompt. */
static int read_conversations(const json_t *rec, const json_t *conv,
                              fc_dialog *d)
{
    size_t i;
    json_t *m;
    const char *sys = json_string_value(json_object_get(rec, "system"));
    d->msgs = calloc(json_array_size(conv) + 1, sizeof *d->msgs);
    if (!d->msgs)
        return ASSAY_ENOMEM;
    if (sys) {
        fc_msg *x = &d->msgs[d->n++];
        x->role = FC_SYSTEM;
        x->role_name = "system";
        x->content = sys;
        x->content_present = true;
        if (!json_is_array(d->tools)) {
            json_t *t = NULL;
            assay_error e;
            json_decref(d->tools);
            d->tools = NULL;
            if (syn_json_find(sys, SYN_JSON_ARRAY, &t, &e) == ASSAY_OK)
                d->tools = t;
            else if (e.code == ASSAY_ENOMEM)
                return ASSAY_ENOMEM;
        }
    }
    json_array_foreach(conv, i, m)
    {
        fc_msg *x = &d->msgs[d->n++];
        x->role_name = json_string_value(json_object_get(m, "from"));
        x->role = role_code(x->role_name);
        const json_t *v = json_object_get(m, "value");
        x->content_present = v != NULL;
        x->content = json_string_value(v);
        x->content_bad = v && !json_is_string(v);
        if (x->role != FC_ASSISTANT || !x->content)
            continue;
        json_t *calls = NULL;
        assay_error e;
        const char *t = x->content;
        while (*t == ' ' || *t == '\n')
            t++;
        if (*t != '[' ||
            syn_pycalls_parse(x->content, strlen(x->content), &calls, &e))
            continue; /* an answer in words */
        size_t k;
        json_t *c;
        x->calls = calloc(json_array_size(calls) + 1, sizeof *x->calls);
        if (!x->calls) {
            json_decref(calls);
            return ASSAY_ENOMEM;
        }
        json_array_foreach(calls, k, c)
        {
            fc_call *fc = &x->calls[x->ncalls++];
            fc->own_name =
                jc_strdup(json_string_value(json_object_get(c, "name")));
            fc->name = fc->own_name;
            if (!fc->own_name ||
                set_args(fc, json_object_get(c, "arguments"))) {
                json_decref(calls);
                return ASSAY_ENOMEM;
            }
        }
        x->content = NULL; /* the calls are the content */
        json_decref(calls);
    }
    return ASSAY_OK;
}

int fc_dialog_read(const json_t *rec, fc_dialog *d, assay_error *err)
{
    memset(d, 0, sizeof *d);
    const json_t *tools = json_object_get(rec, "tools");
    if (!tools)
        tools = json_object_get(rec, "functions");
    if (json_is_string(tools)) {
        json_t *t = json_loads(json_string_value(tools), 0, NULL);
        d->tools = json_is_array(t) ? t : NULL;
        if (!d->tools)
            json_decref(t);
    } else if (json_is_array(tools)) {
        d->tools = json_incref((json_t *)tools);
    }
    const json_t *msgs = json_object_get(rec, "messages");
    const json_t *conv = json_object_get(rec, "conversations");
    int rc = ASSAY_OK;
    if (json_is_array(msgs)) {
        d->layout = "messages";
        rc = read_messages(msgs, d);
    } else if (json_is_array(conv)) {
        d->layout = "conversations";
        rc = read_conversations(rec, conv, d);
    } else {
        d->messages_missing = true;
        d->layout = "messages";
    }
    d->tools_missing = !json_is_array(d->tools);
    if (rc) {
        fc_dialog_free(d);
        return assay_error_set(err, rc, "out of memory");
    }
    return ASSAY_OK;
}

char *fc_dialog_transcript(const fc_dialog *d, size_t max_chars)
{
    jc_buf b = {0};
    char *out = NULL;
    for (size_t i = 0; i < d->n; i++) {
        const fc_msg *m = &d->msgs[i];
        if (jc_buf_printf(&b, "[%s]", m->role_name ? m->role_name : "?"))
            goto done;
        if (m->role == FC_TOOL && m->name &&
            jc_buf_printf(&b, " (%s)", m->name))
            goto done;
        if (m->content) {
            size_t l = strlen(m->content);
            if (jc_buf_printf(&b, " %.*s%s",
                              (int)(l > max_chars ? max_chars : l), m->content,
                              l > max_chars ? "..." : ""))
                goto done;
        }
        for (size_t k = 0; k < m->ncalls; k++)
            if (jc_buf_printf(&b, "%s call %s(%s)", k ? ";" : "",
                              m->calls[k].name ? m->calls[k].name : "?",
                              m->calls[k].args_text ? m->calls[k].args_text
                                                    : ""))
                goto done;
        if (jc_buf_puts(&b, "\n"))
            goto done;
    }
    jc_buf_take(&b, &out);
done:
    jc_buf_free(&b);
    return out;
}
