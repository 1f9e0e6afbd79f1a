/*
 * fc_rules.c - see fc_rules.h.
 */
#include "fc_rules.h"

#include <stdlib.h>
#include <string.h>

#include "jc_text.h"
#include "syn_text.h"

const char *const fc_rule_names[] = {
    "dialog_required_fields", "api_required_fields",
    "api_schema_valid",       "call_function_exists",
    "call_arguments_valid",   "call_required_params",
    "call_unknown_params",    "call_param_types",
    "call_param_enum",        "call_param_format",
    "call_param_range",       "role_order",
    "call_has_response",      "response_name_matches",
    "response_nonempty",      "response_complete",
    "response_length",        "invalid_characters",
    "mixed_language",         NULL};

static const char *role_label(const fc_msg *m)
{
    return m->role_name ? m->role_name : "(no role)";
}

/* ---- fields and definitions -------------------------------------------- */

static void check_fields(const fc_dialog *d, syn_fails *f)
{
    if (d->messages_missing)
        syn_fails_add(f, "dialog_required_fields", -1,
                      "no messages (or conversations) list");
    else if (d->n == 0)
        syn_fails_add(f, "dialog_required_fields", -1, "no messages");
    if (d->tools_missing)
        syn_fails_add(f, "dialog_required_fields", -1,
                      "no tools list (an empty list is fine)");
    for (size_t i = 0; i < d->n; i++) {
        const fc_msg *m = &d->msgs[i];
        if (m->role == FC_BADROLE) {
            syn_fails_add(f, "dialog_required_fields", (int)i,
                          "message %zu: unknown role '%s'", i, role_label(m));
            continue;
        }
        if (m->content_bad)
            syn_fails_add(f, "dialog_required_fields", (int)i,
                          "message %zu: content is not text", i);
        bool need_text = m->role != FC_ASSISTANT || m->ncalls == 0;
        if (need_text && !m->content && !m->content_bad)
            syn_fails_add(f, "dialog_required_fields", (int)i,
                          "message %zu (%s): no content", i, role_label(m));
        for (size_t k = 0; k < m->ncalls; k++)
            if (!m->calls[k].name)
                syn_fails_add(f, "dialog_required_fields", (int)i,
                              "message %zu: call %zu has no function name", i,
                              k);
        if (m->ncalls && m->role != FC_ASSISTANT)
            syn_fails_add(f, "dialog_required_fields", (int)i,
                          "message %zu: only the assistant calls tools", i);
    }
}

static void check_tools(const fc_dialog *d, const fc_rule_opts *o, syn_fails *f)
{
    size_t i, j;
    json_t *t;
    json_array_foreach(d->tools, i, t)
    {
        size_t before = f->n;
        syn_fn_check(t, (int)i, &o->schema, f);
        for (size_t k = before; k < f->n; k++)
            f->v[k].at = -1;
        const char *n = syn_fn_name(t);
        for (j = 0; n && j < i; j++) {
            const char *m = syn_fn_name(json_array_get(d->tools, j));
            if (m && !strcmp(m, n)) {
                syn_fails_add(f, "api_schema_valid", -1,
                              "tools %zu and %zu are both named '%s'", j, i, n);
                break;
            }
        }
    }
}

static void check_calls(const fc_dialog *d, const fc_rule_opts *o, syn_fails *f)
{
    for (size_t i = 0; i < d->n; i++) {
        const fc_msg *m = &d->msgs[i];
        for (size_t k = 0; k < m->ncalls; k++) {
            const fc_call *c = &m->calls[k];
            if (!c->name)
                continue;
            const json_t *tool = fc_dialog_tool(d, c->name);
            if (!tool) {
                syn_fails_add(f, "call_function_exists", (int)i,
                              "message %zu: '%s' is not an available "
                              "function",
                              i, c->name);
                continue;
            }
            if (c->args_bad || !c->args) {
                syn_fails_add(f, "call_arguments_valid", (int)i,
                              "message %zu: %s: the arguments are not a "
                              "JSON object: %.80s",
                              i, c->name, c->args_text ? c->args_text : "");
                continue;
            }
            syn_args_check(tool, c->args, (int)i, &o->schema, f);
        }
    }
}

/* ---- order and responses ---------------------------------------------- */

static void check_order(const fc_dialog *d, syn_fails *f)
{
    int prev = -1;
    bool pending = false; /* the last assistant message made calls */
    for (size_t i = 0; i < d->n; i++) {
        const fc_msg *m = &d->msgs[i];
        int r = m->role;
        const char *bad = NULL;
        switch (r) {
        case FC_SYSTEM:
            if (i > 0)
                bad = "a system message after the start";
            break;
        case FC_USER:
            if (prev == FC_USER)
                bad = "two user messages in a row";
            else if (prev == FC_TOOL)
                bad = "a user message right after a tool response";
            else if (prev == FC_ASSISTANT && pending)
                bad = "a user message while calls wait for responses";
            break;
        case FC_ASSISTANT:
            if (prev == -1 || prev == FC_SYSTEM)
                bad = "the assistant speaks before the user";
            else if (prev == FC_ASSISTANT)
                bad = "two assistant messages in a row";
            break;
        case FC_TOOL:
            if (!(prev == FC_TOOL || (prev == FC_ASSISTANT && pending)))
                bad = "a tool response without a call before it";
            break;
        default:
            break;
        }
        if (bad)
            syn_fails_add(f, "role_order", (int)i, "message %zu (%s): %s", i,
                          role_label(m), bad);
        if (r == FC_ASSISTANT)
            pending = m->ncalls > 0;
        if (r != FC_BADROLE)
            prev = r;
    }
    if (d->n && prev != FC_ASSISTANT)
        syn_fails_add(f, "role_order", (int)d->n - 1,
                      "the dialog does not end with an assistant message");
    else if (d->n && pending)
        syn_fails_add(f, "role_order", (int)d->n - 1,
                      "the dialog ends with calls that have no responses");
}

/* The responses in tool message `m`: one for a plain message, or one per
 * element of a JSON list of {"name", ...} (conversation layout). */
typedef struct fc_resp {
    size_t msg;
    const char *name;
    const char *id;
    json_t *hold; /* keeps `name` alive */
} fc_resp;

static size_t responses_of(const fc_msg *m, size_t i, fc_resp *out, size_t cap)
{
    if (!m->name && !m->tool_call_id && m->content) {
        json_t *v = json_loads(m->content, 0, NULL);
        if (json_is_array(v) && json_array_size(v) > 0) {
            size_t k, n = 0;
            json_t *e;
            json_array_foreach(v, k, e)
            {
                if (n == cap)
                    break;
                out[n] =
                    (fc_resp){i, json_string_value(json_object_get(e, "name")),
                              NULL, n == 0 ? v : NULL};
                n++;
            }
            if (n == 0)
                json_decref(v);
            return n;
        }
        json_decref(v);
    }
    if (!cap)
        return 0;
    out[0] = (fc_resp){i, m->name, m->tool_call_id, NULL};
    return 1;
}

static void check_responses(const fc_dialog *d, syn_fails *f)
{
    for (size_t i = 0; i < d->n; i++) {
        const fc_msg *m = &d->msgs[i];
        if (m->role != FC_ASSISTANT || !m->ncalls)
            continue;
        /* the tool messages that follow */
        fc_resp resp[64];
        size_t nr = 0, j = i + 1;
        for (; j < d->n && d->msgs[j].role == FC_TOOL; j++)
            nr += responses_of(&d->msgs[j], j, resp + nr,
                               sizeof resp / sizeof resp[0] - nr);
        bool by_id = nr > 0;
        for (size_t k = 0; k < nr; k++)
            by_id = by_id && resp[k].id;
        bool used[64] = {false};
        for (size_t k = 0; k < m->ncalls; k++) {
            const fc_call *c = &m->calls[k];
            size_t hit = SIZE_MAX;
            if (by_id) {
                for (size_t r = 0; r < nr && hit == SIZE_MAX; r++)
                    if (!used[r] && c->id && !strcmp(resp[r].id, c->id))
                        hit = r;
            } else if (k < nr) {
                hit = k;
            }
            if (hit == SIZE_MAX) {
                syn_fails_add(f, "call_has_response", (int)i,
                              "message %zu: the call of %s has no tool "
                              "response",
                              i, c->name ? c->name : "?");
                continue;
            }
            used[hit] = true;
            if (resp[hit].name && c->name && strcmp(resp[hit].name, c->name))
                syn_fails_add(f, "response_name_matches", (int)resp[hit].msg,
                              "message %zu: a response named '%s' answers "
                              "a call of '%s'",
                              resp[hit].msg, resp[hit].name, c->name);
        }
        for (size_t r = 0; r < nr; r++)
            if (!used[r])
                syn_fails_add(f, "call_has_response", (int)resp[r].msg,
                              "message %zu: a tool response that answers "
                              "no call",
                              resp[r].msg);
        for (size_t r = 0; r < nr; r++)
            json_decref(resp[r].hold);
    }
}

/* ---- texts ------------------------------------------------------------------
 */

static bool looks_json(const char *s)
{
    while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
        s++;
    return *s == '{' || *s == '[';
}

static size_t count_fences(const char *s)
{
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, "```")); p += 3)
        n++;
    return n;
}

enum {
    SC_NONE = -1,
    SC_LATIN,
    SC_GREEK,
    SC_CYRILLIC,
    SC_HEBREW,
    SC_ARABIC,
    SC_DEVANAGARI,
    SC_THAI,
    SC_CJK,
    SC_N
};

static int script_of(uint32_t c)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
        (c >= 0xC0 && c <= 0x24F && c != 0xD7 && c != 0xF7))
        return SC_LATIN;
    if (c >= 0x370 && c <= 0x3FF)
        return SC_GREEK;
    if (c >= 0x400 && c <= 0x4FF)
        return SC_CYRILLIC;
    if (c >= 0x590 && c <= 0x5FF)
        return SC_HEBREW;
    if ((c >= 0x600 && c <= 0x6FF) || (c >= 0x750 && c <= 0x77F))
        return SC_ARABIC;
    if (c >= 0x900 && c <= 0x97F)
        return SC_DEVANAGARI;
    if (c >= 0xE00 && c <= 0xE7F)
        return SC_THAI;
    if ((c >= 0x3040 && c <= 0x30FF) || (c >= 0x3400 && c <= 0x4DBF) ||
        (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xAC00 && c <= 0xD7AF) ||
        (c >= 0x1100 && c <= 0x11FF) || (c >= 0x3130 && c <= 0x318F))
        return SC_CJK;
    return SC_NONE;
}

static const char *const script_names[SC_N] = {"Latin",  "Greek",  "Cyrillic",
                                               "Hebrew", "Arabic", "Devanagari",
                                               "Thai",   "CJK"};

static void check_text(const char *s, size_t i, const fc_msg *m,
                       const fc_rule_opts *o, syn_fails *f)
{
    size_t n = strlen(s), k = 0, chars = 0, counts[SC_N] = {0};
    bool badchar = false;
    uint32_t bad = 0;
    while (k < n) {
        size_t a = k;
        uint32_t c = syn_utf8_next(s, n, &k);
        chars++;
        bool replacement = c == 0xFFFD && k - a == 3;
        if (!badchar &&
            ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F ||
             (c >= 0x80 && c <= 0x9F) || replacement ||
             (c == 0xFFFD && k - a == 1) || c == 0xFFFE || c == 0xFFFF)) {
            badchar = true;
            bad = c;
        }
        int sc = script_of(c);
        if (sc >= 0)
            counts[sc]++;
    }
    if (badchar)
        syn_fails_add(f, "invalid_characters", (int)i,
                      "message %zu: invalid character U+%04X", i,
                      (unsigned)bad);
    if (chars > o->max_chars)
        syn_fails_add(f, "response_length", (int)i,
                      "message %zu: %zu characters (at most %zu)", i, chars,
                      o->max_chars);
    if (m->role != FC_USER && m->role != FC_ASSISTANT)
        return;
    size_t total = 0;
    int first = -1, second = -1;
    for (int sc = 0; sc < SC_N; sc++) {
        total += counts[sc];
        if (first < 0 || counts[sc] > counts[first]) {
            second = first;
            first = sc;
        } else if (second < 0 || counts[sc] > counts[second]) {
            second = sc;
        }
    }
    if (second >= 0 && counts[second] >= o->mixed_min &&
        (double)counts[second] >= o->mixed_ratio * (double)total)
        syn_fails_add(f, "mixed_language", (int)i,
                      "message %zu: %zu %s and %zu %s letters", i,
                      counts[first], script_names[first], counts[second],
                      script_names[second]);
}

static void check_contents(const fc_dialog *d, const fc_rule_opts *o,
                           syn_fails *f)
{
    for (size_t i = 0; i < d->n; i++) {
        const fc_msg *m = &d->msgs[i];
        const char *s = m->content;
        if (m->finish_reason && !strcmp(m->finish_reason, "length"))
            syn_fails_add(f, "response_complete", (int)i,
                          "message %zu: generation stopped at the length "
                          "limit",
                          i);
        for (size_t k = 0; k < m->ncalls; k++)
            if (m->calls[k].args_text)
                check_text(m->calls[k].args_text, i, &(fc_msg){0}, o, f);
        if (!s) {
            continue;
        }
        if (m->role != FC_SYSTEM && jc_blank(s) &&
            !(m->role == FC_ASSISTANT && m->ncalls))
            syn_fails_add(f, "response_nonempty", (int)i,
                          "message %zu (%s): empty text", i, role_label(m));
        if (m->role == FC_TOOL && looks_json(s)) {
            json_t *v = json_loads(s, 0, NULL);
            if (!v)
                syn_fails_add(f, "response_complete", (int)i,
                              "message %zu: the tool response starts as "
                              "JSON but does not parse (cut off?)",
                              i);
            json_decref(v);
        }
        if (count_fences(s) % 2)
            syn_fails_add(f, "response_complete", (int)i,
                          "message %zu: an unclosed ``` block", i);
        check_text(s, i, m, o, f);
    }
}

void fc_rules_check(const fc_dialog *d, const fc_rule_opts *o, syn_fails *f)
{
    check_fields(d, f);
    check_tools(d, o, f);
    check_calls(d, o, f);
    check_order(d, f);
    check_responses(d, f);
    check_contents(d, o, f);
}
