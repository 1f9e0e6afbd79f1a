/*
 * st_traj.c - see st_traj.h.
 */
#include "st_traj.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jc_text.h"
#include "st_rules.h"
#include "syn_pylit.h"

static char *dupn(const char *s, size_t n)
{
    char *o = malloc(n + 1);
    if (o) {
        memcpy(o, s, n);
        o[n] = '\0';
    }
    return o;
}

/* A JSON value as text: strings as they are, others compact (reals with
 * 15 digits, so 41.9 stays 41.9 and texts compare as written). */
static char *value_text(const json_t *v)
{
    if (!v || json_is_null(v))
        return jc_strdup("");
    if (json_is_string(v))
        return dupn(json_string_value(v), json_string_length(v));
    return json_dumps(v,
                      JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
}

void st_traj_free(st_traj *t)
{
    free(t->query);
    for (size_t i = 0; i < t->nsteps; i++) {
        free(t->steps[i].name);
        free(t->steps[i].arguments);
        free(t->steps[i].response);
    }
    free(t->steps);
    free(t->final_answer);
    json_decref(t->process_reward);
    json_decref(t->is_solved);
    memset(t, 0, sizeof *t);
}

double st_status_value(const char *label)
{
    if (!label)
        return -1;
    const char *dot = strrchr(label, '.');
    const char *s = dot ? dot + 1 : label;
    if (!strcasecmp(s, "Solved"))
        return 1.0;
    if (!strcasecmp(s, "Unsure"))
        return 0.5;
    if (!strcasecmp(s, "Unsolved"))
        return 0.0;
    return -1;
}

int st_finish_args(const char *args, char **answer, bool *gave_up)
{
    json_t *a = json_loads(args ? args : "", 0, NULL);
    *gave_up = false;
    if (json_is_object(a)) {
        const char *rt = json_string_value(json_object_get(a, "return_type"));
        *gave_up = rt && !strcmp(rt, "give_up_and_restart");
        *answer = value_text(json_object_get(a, "final_answer"));
        json_decref(a);
        return *answer ? ASSAY_OK : ASSAY_ENOMEM;
    }
    json_decref(a);
    /* cut-off text: the string after "final_answer": */
    *gave_up = args && strstr(args, "give_up_and_restart");
    const char *k = args ? strstr(args, "\"final_answer\"") : NULL;
    if (k) {
        k += strlen("\"final_answer\"");
        while (*k == ' ' || *k == ':')
            k++;
        if (*k == '"') {
            *answer = st_json_string_lenient(k + 1, NULL);
            return *answer ? ASSAY_OK : ASSAY_ENOMEM;
        }
    }
    *answer = jc_strdup("");
    return *answer ? ASSAY_OK : ASSAY_ENOMEM;
}

/* A label object that may come as a Python repr string. */
static json_t *labels(const json_t *v)
{
    if (json_is_object(v))
        return json_incref((json_t *)v);
    if (json_is_string(v)) {
        json_t *o = NULL;
        assay_error e;
        if (syn_pylit_parse_all(json_string_value(v), json_string_length(v), &o,
                                &e) == 0 &&
            json_is_object(o))
            return o;
        json_decref(o);
    }
    return NULL;
}

static int add_step(st_traj *t, const json_t *name, const json_t *args,
                    const json_t *resp)
{
    st_step *s = realloc(t->steps, (t->nsteps + 1) * sizeof *s);
    if (!s)
        return ASSAY_ENOMEM;
    t->steps = s;
    st_step *e = &s[t->nsteps];
    e->name = value_text(name);
    e->arguments = value_text(args);
    e->response = value_text(resp);
    t->nsteps++;
    if (!e->name || !e->arguments || !e->response)
        return ASSAY_ENOMEM;
    return ASSAY_OK;
}

/* A call dict: its Finish-ness decides whether it is a step or the end. */
static int take_call(st_traj *t, const json_t *call)
{
    const char *name = json_string_value(json_object_get(call, "name"));
    if (name && !strcmp(name, "Finish")) {
        const json_t *a = json_object_get(call, "arguments");
        char *at = value_text(a);
        if (!at)
            return ASSAY_ENOMEM;
        free(t->final_answer);
        t->final_answer = NULL;
        int rc = st_finish_args(at, &t->final_answer, &t->gave_up);
        free(at);
        t->has_finish = true;
        return rc;
    }
    return add_step(t, json_object_get(call, "name"),
                    json_object_get(call, "arguments"),
                    json_object_get(call, "response"));
}

/* "Step 3: {...}" or "Final step: {...}": the dict after the first
 * ": " at or after `from`; *end is set past it. */
static int repr_after_label(const char *s, size_t len, size_t from,
                            json_t **out, size_t *end)
{
    const char *colon = NULL;
    for (size_t i = from; i + 1 < len; i++)
        if (s[i] == ':' && s[i + 1] == ' ') {
            colon = s + i;
            break;
        }
    if (!colon)
        return ASSAY_EDATA;
    size_t pos = (size_t)(colon - s) + 2;
    assay_error e;
    int rc = syn_pylit_parse(s, len, &pos, out, &e);
    if (rc)
        return rc == ASSAY_ENOMEM ? rc : ASSAY_EDATA;
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return ASSAY_EDATA;
    }
    *end = pos;
    return ASSAY_OK;
}

static int read_annotated(const json_t *rec, size_t idx, st_traj *t,
                          assay_error *err)
{
    const json_t *steps = json_object_get(rec, "answer_steps");
    const json_t *fin = json_object_get(rec, "final_step");
    int rc;
    if (json_is_array(steps)) {
        size_t i;
        json_t *s;
        json_array_foreach(steps, i, s)
        {
            json_t *call = NULL;
            size_t end;
            if (!json_is_string(s) ||
                (rc =
                     repr_after_label(json_string_value(s),
                                      json_string_length(s), 0, &call, &end))) {
                return assay_error_set(err, ASSAY_EDATA,
                                       "record %zu: field 'answer_steps': "
                                       "item %zu is not \"Step i: {...}\"",
                                       idx, i);
            }
            rc = take_call(t, call);
            json_decref(call);
            if (rc)
                return assay_error_set(err, rc, "out of memory");
        }
    } else if (json_is_string(steps)) {
        const char *s = json_string_value(steps);
        size_t len = json_string_length(steps), pos = 0;
        for (;;) {
            while (pos < len && (s[pos] == '\n' || s[pos] == ' '))
                pos++;
            if (pos >= len)
                break;
            json_t *call = NULL;
            size_t end;
            if (strncmp(s + pos, "Step ", 5) ||
                (rc = repr_after_label(s, len, pos, &call, &end)))
                return assay_error_set(err, ASSAY_EDATA,
                                       "record %zu: field 'answer_steps': "
                                       "unreadable step at offset %zu",
                                       idx, pos);
            rc = take_call(t, call);
            json_decref(call);
            if (rc)
                return assay_error_set(err, rc, "out of memory");
            pos = end;
        }
    } else if (steps && !json_is_null(steps)) {
        return assay_error_set(err, ASSAY_EDATA,
                               "record %zu: field 'answer_steps': expected "
                               "a list or a string",
                               idx);
    }
    if (json_is_string(fin) && json_string_length(fin)) {
        json_t *call = NULL;
        size_t end;
        if ((rc = repr_after_label(json_string_value(fin),
                                   json_string_length(fin), 0, &call, &end)))
            return assay_error_set(err, ASSAY_EDATA,
                                   "record %zu: field 'final_step' is not "
                                   "\"Final step: {...}\"",
                                   idx);
        rc = take_call(t, call);
        json_decref(call);
        if (rc)
            return assay_error_set(err, rc, "out of memory");
    }
    t->process_reward = labels(json_object_get(rec, "process_reward"));
    t->is_solved = labels(json_object_get(rec, "is_solved"));
    t->format = "annotated";
    return ASSAY_OK;
}

static int read_predicted(const json_t *rec, size_t idx, st_traj *t,
                          assay_error *err)
{
    const json_t *ans = json_object_get(rec, "answer");
    const json_t *node =
        json_array_get(json_object_get(ans, "answer_details"), 0);
    int rc;
    for (size_t guard = 0; node && guard < 100000; guard++) {
        const char *role = json_string_value(json_object_get(node, "role"));
        const json_t *msg = json_object_get(node, "message");
        if (role && !strcmp(role, "tool") && json_is_object(msg) &&
            (rc = take_call(t, msg)))
            return assay_error_set(err, rc, "out of memory");
        node = json_array_get(json_object_get(node, "next"), 0);
    }
    if (!t->has_finish) {
        const char *fa =
            json_string_value(json_object_get(ans, "final_answer"));
        if (fa && fa[0]) {
            free(t->final_answer);
            t->final_answer = NULL;
            if ((rc = st_finish_args(fa, &t->final_answer, &t->gave_up)))
                return assay_error_set(err, rc, "out of memory");
            t->has_finish = true;
        }
    }
    (void)idx;
    t->format = "predicted";
    return ASSAY_OK;
}

static int read_steps(const json_t *rec, size_t idx, st_traj *t,
                      assay_error *err)
{
    const json_t *steps = json_object_get(rec, "steps");
    size_t i;
    json_t *s;
    int rc;
    json_array_foreach(steps, i, s)
    {
        if (!json_is_object(s) || !json_is_string(json_object_get(s, "name")))
            return assay_error_set(err, ASSAY_EDATA,
                                   "record %zu: field 'steps': item %zu "
                                   "needs a 'name'",
                                   idx, i);
        if ((rc = take_call(t, s)))
            return assay_error_set(err, rc, "out of memory");
    }
    const json_t *fa = json_object_get(rec, "final_answer");
    if (fa && !json_is_null(fa)) {
        free(t->final_answer);
        if (!(t->final_answer = value_text(fa)))
            return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        t->has_finish = true;
    }
    if (json_is_true(json_object_get(rec, "gave_up")))
        t->gave_up = true;
    t->process_reward = labels(json_object_get(rec, "process_reward"));
    t->is_solved = labels(json_object_get(rec, "is_solved"));
    t->format = "steps";
    return ASSAY_OK;
}

int st_traj_read(const json_t *rec, size_t idx, st_traj *t, assay_error *err)
{
    int rc;
    memset(t, 0, sizeof *t);
    if (!json_is_object(rec))
        return assay_error_set(err, ASSAY_EDATA,
                               "record %zu: expected an object, got %s", idx,
                               rec ? assay__json_type_name(rec) : "nothing");
    const char *q;
    if ((rc = assay_rec_str(rec, idx, "query", &q, err)))
        return rc;
    if (!(t->query = jc_strdup(q)) || !(t->final_answer = jc_strdup("")))
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    else if (json_is_array(json_object_get(rec, "steps")))
        rc = read_steps(rec, idx, t, err);
    else if (json_object_get(rec, "answer_steps") ||
             json_object_get(rec, "final_step"))
        rc = read_annotated(rec, idx, t, err);
    else if (json_is_object(json_object_get(rec, "answer")))
        rc = read_predicted(rec, idx, t, err);
    else
        rc = assay_error_set(err, ASSAY_EDATA,
                             "record %zu: no trajectory: expected 'steps', "
                             "'answer_steps'/'final_step' or 'answer'",
                             idx);
    if (rc)
        st_traj_free(t);
    return rc;
}
