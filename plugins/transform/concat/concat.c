/*
 * transform.concat - concatenate several record sets, tagging each record
 * with where it came from.
 */
#include <assay/plugin.h>

#include <stdlib.h>
#include <string.h>

typedef struct state {
    const assay_host *host;
    json_t *labels;
    char *tag;
} state;

static const assay_port inputs[] = {
    {.name = "items", .type = ASSAY_T_ANY, .required = true, .multi = true,
     .doc = "a list of record sets (connect several outputs as a list)"},
    {0}};
static const assay_port outputs[] = {
    {.name = "items", .type = ASSAY_T_RECORDS,
     .doc = "all records, list order, each tagged with its source label"},
    {0}};
static const assay_option options[] = {
    {.name = "labels", .type = ASSAY_OPT_LIST, .def = "[]",
     .doc = "one label per input (default: input0, input1, ...)"},
    {.name = "tag", .type = ASSAY_OPT_STRING, .def = "\"source\"",
     .doc = "field that receives the label (\"\": do not tag)"},
    {0}};

static int create(const assay_host *h, const json_t *opts, void **st,
                  assay_error *err)
{
    state *s = calloc(1, sizeof *s);
    if (!s)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    s->host = h;
    s->labels = json_deep_copy(json_object_get(opts, "labels"));
    s->tag = strdup(assay_opt_str(opts, "tag"));
    *st = s;
    if (!s->labels || !s->tag)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    return 0;
}

static int run(void *st, assay_io *io, assay_error *err)
{
    state *s = st;
    const json_t *sets = s->host->in_json(io, "items");
    json_t *out = json_array();
    if (!out)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    size_t nl = json_array_size(s->labels);
    if (nl && nl != json_array_size(sets)) {
        json_decref(out);
        return assay_error_set(err, ASSAY_EINVAL,
                               "option 'labels' has %zu entries for %zu "
                               "inputs",
                               nl, json_array_size(sets));
    }
    for (size_t i = 0; i < json_array_size(sets); i++) {
        const json_t *set = json_array_get(sets, i);
        if (!json_is_array(set)) {
            json_decref(out);
            return assay_error_set(err, ASSAY_EDATA,
                                   "input %zu is not a record set", i);
        }
        char label[64];
        const json_t *lj = json_array_get(s->labels, i);
        if (lj && !json_is_string(lj)) {
            json_decref(out);
            return assay_error_set(err, ASSAY_EINVAL,
                                   "option 'labels': entry %zu is not a "
                                   "string",
                                   i);
        }
        snprintf(label, sizeof label, "input%zu", i);
        for (size_t r = 0; r < json_array_size(set); r++) {
            json_t *rec = json_array_get(set, r);
            if (!s->tag[0] || !json_is_object(rec)) {
                json_array_append(out, rec);
                continue;
            }
            json_t *c = json_copy(rec);
            json_object_set_new(c, s->tag,
                                json_string(lj ? json_string_value(lj)
                                               : label));
            json_array_append_new(out, c);
        }
    }
    return s->host->out_records(io, "items", out, err);
}

static void destroy(void *st)
{
    state *s = st;
    if (!s)
        return;
    json_decref(s->labels);
    free(s->tag);
    free(s);
}

static const assay_plugin plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "transform.concat",
    .kind = "transform",
    .version = "1.0.0",
    .summary = "Concatenate several record sets with a source tag",
    .doc = "Connect a list: inputs: {items: [a.records, b.records]}.  The "
           "records of each input follow in list order; each gets the "
           "field named by 'tag' set to its input's label.",
    .inputs = inputs,
    .outputs = outputs,
    .options = options,
    .flags = ASSAY_F_DETERMINISTIC | ASSAY_F_CHEAP | ASSAY_F_ALL_ITEMS,
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
