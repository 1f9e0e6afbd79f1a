/*
 * transform.select - keep, drop and rename fields of records.
 */
#include <assay/plugin.h>

#include <stdlib.h>
#include <string.h>

typedef struct state {
    const assay_host *host;
    json_t *fields; /* array of names to keep, or null: keep all */
    json_t *drop;   /* array of names */
    json_t *rename; /* {old: new} */
    bool strict;
} state;

static const assay_port inputs[] = {
    {.name = "items", .type = ASSAY_T_RECORDS, .required = true,
     .doc = "records to reshape"},
    {0}};
static const assay_port outputs[] = {
    {.name = "items", .type = ASSAY_T_RECORDS,
     .doc = "the records with the selected fields, in the same order"},
    {0}};
static const assay_option options[] = {
    {.name = "fields", .type = ASSAY_OPT_LIST,
     .doc = "fields to keep, in this order (default: all)"},
    {.name = "drop", .type = ASSAY_OPT_LIST, .def = "[]",
     .doc = "fields to remove"},
    {.name = "rename", .type = ASSAY_OPT_OBJECT, .def = "{}",
     .doc = "renames applied last: {old_name: new_name}"},
    {.name = "strict", .type = ASSAY_OPT_BOOL, .def = "true",
     .doc = "fail when a field listed in 'fields' is missing from a "
            "record"},
    {0}};

static int create(const assay_host *h, const json_t *opts, void **st,
                  assay_error *err)
{
    const json_t *lists[2] = {json_object_get(opts, "fields"),
                              json_object_get(opts, "drop")};
    for (int l = 0; l < 2; l++)
        for (size_t i = 0; i < json_array_size(lists[l]); i++)
            if (!json_is_string(json_array_get(lists[l], i)))
                return assay_error_set(err, ASSAY_EINVAL,
                                       "option '%s': entry %zu is not a "
                                       "field name",
                                       l ? "drop" : "fields", i);
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(opts, "rename"), k, v) if (
        !json_is_string(v)) return assay_error_set(err, ASSAY_EINVAL,
                                                   "option 'rename': '%s' "
                                                   "must map to a name",
                                                   k);
    state *s = calloc(1, sizeof *s);
    if (!s)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    s->host = h;
    s->fields = json_deep_copy(json_object_get(opts, "fields"));
    s->drop = json_deep_copy(json_object_get(opts, "drop"));
    s->rename = json_deep_copy(json_object_get(opts, "rename"));
    s->strict = assay_opt_bool(opts, "strict");
    *st = s;
    return 0;
}

static int run(void *st, assay_io *io, assay_error *err)
{
    state *s = st;
    const json_t *items = s->host->in_records(io, "items");
    bool strict = s->strict;
    json_t *out = json_array();
    if (!items || !out) {
        json_decref(out);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < json_array_size(items); i++) {
        const json_t *rec = json_array_get(items, i);
        if (!json_is_object(rec)) {
            json_decref(out);
            return assay_error_set(err, ASSAY_EDATA,
                                   "record %zu: expected an object", i);
        }
        json_t *o;
        if (json_is_array(s->fields)) {
            o = json_object();
            for (size_t f = 0; f < json_array_size(s->fields); f++) {
                const char *name =
                    json_string_value(json_array_get(s->fields, f));
                json_t *v = json_object_get(rec, name);
                if (!v && strict) {
                    json_decref(o);
                    json_decref(out);
                    return assay_error_set(err, ASSAY_EDATA,
                                           "record %zu: missing field '%s'",
                                           i, name);
                }
                if (v)
                    json_object_set(o, name, v);
            }
        } else
            o = json_copy((json_t *)rec);
        for (size_t f = 0; f < json_array_size(s->drop); f++)
            json_object_del(o, json_string_value(json_array_get(s->drop, f)));
        const char *k;
        json_t *v;
        json_object_foreach(s->rename, k, v)
        {
            json_t *val = json_object_get(o, k);
            if (!val)
                continue;
            json_incref(val);
            json_object_del(o, k);
            json_object_set_new(o, json_string_value(v), val);
        }
        json_array_append_new(out, o);
    }
    return s->host->out_records(io, "items", out, err);
}

static void destroy(void *st)
{
    state *s = st;
    if (!s)
        return;
    json_decref(s->fields);
    json_decref(s->drop);
    json_decref(s->rename);
    free(s);
}

static const assay_plugin plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "transform.select",
    .kind = "transform",
    .version = "1.0.0",
    .summary = "Keep, drop and rename record fields",
    .doc = "For each record: keep the fields listed in 'fields' (all when "
           "absent), remove those in 'drop', then apply 'rename'.",
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
