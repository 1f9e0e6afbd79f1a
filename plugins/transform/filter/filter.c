/*
 * transform.filter - keep the records that satisfy conditions on fields.
 */
#include <assay/plugin.h>

#include <regex.h>
#include <stdlib.h>
#include <string.h>

enum op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_IN, OP_NOT_IN,
          OP_EXISTS, OP_MISSING, OP_CONTAINS, OP_MATCHES };

static const char *const OP_NAMES[] = {"==", "!=", "<", "<=", ">", ">=",
                                       "in", "not_in", "exists", "missing",
                                       "contains", "matches"};

typedef struct cond {
    char *field;
    enum op op;
    json_t *value;
    regex_t re;
    bool has_re;
} cond;

typedef struct state {
    const assay_host *host;
    cond *conds;
    size_t n;
    bool any;
} state;

static const assay_port inputs[] = {
    {.name = "items", .type = ASSAY_T_RECORDS, .required = true,
     .doc = "records to filter"},
    {0}};
static const assay_port outputs[] = {
    {.name = "items", .type = ASSAY_T_RECORDS,
     .doc = "records that pass, in input order"},
    {.name = "rejected", .type = ASSAY_T_RECORDS,
     .doc = "records that do not pass"},
    {0}};
static const assay_option options[] = {
    {.name = "where", .type = ASSAY_OPT_LIST, .required = true,
     .doc = "conditions: [{field: f, op: '==', value: v}, ...]; ops: == != "
            "< <= > >= in not_in exists missing contains matches"},
    {.name = "mode", .type = ASSAY_OPT_ENUM, .def = "\"all\"",
     .choices = "all|any", .doc = "a record passes when all (or any) "
                                  "conditions hold"},
    {0}};

static void destroy(void *st)
{
    state *s = st;
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->conds[i].field);
        json_decref(s->conds[i].value);
        if (s->conds[i].has_re)
            regfree(&s->conds[i].re);
    }
    free(s->conds);
    free(s);
}

static int create(const assay_host *h, const json_t *opts, void **st,
                  assay_error *err)
{
    const json_t *where = json_object_get(opts, "where");
    state *s = calloc(1, sizeof *s);
    if (!s)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    s->host = h;
    s->any = strcmp(assay_opt_str(opts, "mode"), "any") == 0;
    s->n = json_array_size(where);
    s->conds = calloc(s->n ? s->n : 1, sizeof *s->conds);
    if (!s->conds) {
        free(s);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    *st = s;
    for (size_t i = 0; i < s->n; i++) {
        const json_t *c = json_array_get(where, i);
        const char *f = json_string_value(json_object_get(c, "field"));
        const char *op = json_string_value(json_object_get(c, "op"));
        json_t *v = json_object_get(c, "value");
        if (!json_is_object(c) || !f)
            return assay_error_set(err, ASSAY_EINVAL,
                                   "option 'where': condition %zu needs "
                                   "'field'",
                                   i);
        if (!op)
            op = "==";
        size_t k = 0, nops = sizeof OP_NAMES / sizeof *OP_NAMES;
        while (k < nops && strcmp(OP_NAMES[k], op))
            k++;
        if (k == nops)
            return assay_error_set(err, ASSAY_EINVAL,
                                   "option 'where': condition %zu: unknown "
                                   "op '%s'",
                                   i, op);
        cond *cd = &s->conds[i];
        cd->field = strdup(f);
        cd->op = (enum op)k;
        cd->value = json_incref(v);
        if (!cd->field)
            return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        bool needs_value = cd->op != OP_EXISTS && cd->op != OP_MISSING;
        if (needs_value && !v)
            return assay_error_set(err, ASSAY_EINVAL,
                                   "option 'where': condition %zu (%s) "
                                   "needs 'value'",
                                   i, op);
        if ((cd->op == OP_IN || cd->op == OP_NOT_IN) && !json_is_array(v))
            return assay_error_set(err, ASSAY_EINVAL,
                                   "option 'where': condition %zu: '%s' "
                                   "needs a list value",
                                   i, op);
        if ((cd->op == OP_LT || cd->op == OP_LE || cd->op == OP_GT ||
             cd->op == OP_GE) &&
            !json_is_number(v))
            return assay_error_set(err, ASSAY_EINVAL,
                                   "option 'where': condition %zu: '%s' "
                                   "needs a number",
                                   i, op);
        if (cd->op == OP_CONTAINS && !json_is_string(v))
            return assay_error_set(err, ASSAY_EINVAL,
                                   "option 'where': condition %zu: "
                                   "'contains' needs a string",
                                   i);
        if (cd->op == OP_MATCHES) {
            if (!json_is_string(v) ||
                regcomp(&cd->re, json_string_value(v),
                        REG_EXTENDED | REG_NOSUB) != 0)
                return assay_error_set(err, ASSAY_EINVAL,
                                       "option 'where': condition %zu: "
                                       "'matches' needs a valid extended "
                                       "regular expression",
                                       i);
            cd->has_re = true;
        }
    }
    return 0;
}

static bool holds(const cond *c, const json_t *rec)
{
    const json_t *f = json_object_get(rec, c->field);
    switch (c->op) {
    case OP_EXISTS: return f && !json_is_null(f);
    case OP_MISSING: return !f || json_is_null(f);
    case OP_EQ: return f && json_equal((json_t *)f, c->value);
    case OP_NE: return !f || !json_equal((json_t *)f, c->value);
    case OP_LT:
    case OP_LE:
    case OP_GT:
    case OP_GE: {
        if (!json_is_number(f))
            return false;
        double a = json_number_value(f), b = json_number_value(c->value);
        return c->op == OP_LT ? a < b : c->op == OP_LE ? a <= b
                                      : c->op == OP_GT ? a > b
                                                       : a >= b;
    }
    case OP_IN:
    case OP_NOT_IN: {
        bool found = false;
        for (size_t i = 0; f && i < json_array_size(c->value); i++)
            found |= json_equal((json_t *)f, json_array_get(c->value, i));
        return c->op == OP_IN ? found : !found;
    }
    case OP_CONTAINS:
        if (json_is_string(f))
            return strstr(json_string_value(f),
                          json_string_value(c->value)) != NULL;
        if (json_is_array(f))
            for (size_t i = 0; i < json_array_size(f); i++)
                if (json_equal(json_array_get(f, i), c->value))
                    return true;
        return false;
    case OP_MATCHES:
        return json_is_string(f) &&
               regexec(&c->re, json_string_value(f), 0, NULL, 0) == 0;
    }
    return false;
}

static int run(void *st, assay_io *io, assay_error *err)
{
    state *s = st;
    const json_t *items = s->host->in_records(io, "items");
    json_t *keep = json_array(), *rej = json_array();
    if (!items || !keep || !rej) {
        json_decref(keep);
        json_decref(rej);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < json_array_size(items); i++) {
        const json_t *rec = json_array_get(items, i);
        bool pass = !s->any;
        for (size_t k = 0; k < s->n; k++) {
            bool h = holds(&s->conds[k], rec);
            if (s->any && h) {
                pass = true;
                break;
            }
            if (!s->any && !h) {
                pass = false;
                break;
            }
        }
        json_array_append(pass ? keep : rej, (json_t *)rec);
    }
    s->host->log(s->host, ASSAY_LOG_INFO, "kept %zu of %zu records",
                 json_array_size(keep), json_array_size(items));
    int rc = s->host->out_records(io, "items", keep, err);
    if (rc) {
        json_decref(rej);
        return rc;
    }
    return s->host->out_records(io, "rejected", rej, err);
}

static const assay_plugin plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "transform.filter",
    .kind = "transform",
    .version = "1.0.0",
    .summary = "Keep records that satisfy conditions on their fields",
    .doc = "Each condition compares one field: == and != (JSON equality), "
           "< <= > >= (numbers; a non-number never passes), in / not_in (a "
           "list), exists / missing, contains (substring of a string or "
           "element of a list) and matches (POSIX extended regex).  "
           "mode: all (default) or any.",
    .inputs = inputs,
    .outputs = outputs,
    .options = options,
    .flags = ASSAY_F_PER_ITEM | ASSAY_F_DETERMINISTIC | ASSAY_F_CHEAP,
    .create = create,
    .run = run,
    .destroy = destroy,
};

static const assay_plugin *const list[] = {&plugin, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi)
{
    (void)host_abi;
    return list;
}
