/*
 * transform.collect - turn several json outputs (metric summaries, model
 * reports) into one row each, so that a sweep over nodes becomes a table
 * a fitter or a report can read.
 */
#include <assay/plugin.h>

#include <stdlib.h>
#include <string.h>

typedef struct state {
    const assay_host *host;
    json_t *fields; /* {column: "path.to.value"} */
    json_t *rows;   /* [{constant fields}, ...] one per input, or [] */
    bool strict;
} state;

static const assay_port inputs[] = {
    {.name = "values", .type = ASSAY_T_ANY, .required = true, .multi = true,
     .doc = "json values to collect, one row each (connect a list)"},
    {0}};
static const assay_port outputs[] = {
    {.name = "rows", .type = ASSAY_T_RECORDS, .chart = "table",
     .doc = "one record per input: the constant fields of 'rows' plus the "
            "extracted 'fields'"},
    {0}};
static const assay_option options[] = {
    {.name = "fields", .type = ASSAY_OPT_OBJECT, .required = true,
     .doc = "columns to extract: {column: path}, path = keys joined by '/' "
            "(e.g. {hr: 'hit@10', secs: 'model/train_seconds'})"},
    {.name = "rows", .type = ASSAY_OPT_LIST, .def = "[]",
     .doc = "constant fields per input, in input order (e.g. [{layers: 1}, "
            "{layers: 2}])"},
    {.name = "strict", .type = ASSAY_OPT_BOOL, .def = "true",
     .doc = "fail when a path is missing (false: write null)"},
    {0}};

static int create(const assay_host *h, const json_t *opts, void **st,
                  assay_error *err)
{
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(opts, "fields"), k, v) if (
        !json_is_string(v) || !json_string_length(v)) return
        assay_error_set(err, ASSAY_EINVAL,
                        "option 'fields': '%s' must map to a path string", k);
    const json_t *rows = json_object_get(opts, "rows");
    for (size_t i = 0; i < json_array_size(rows); i++)
        if (!json_is_object(json_array_get(rows, i)))
            return assay_error_set(err, ASSAY_EINVAL,
                                   "option 'rows': entry %zu is not a "
                                   "mapping",
                                   i);
    state *s = calloc(1, sizeof *s);
    if (!s)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    s->host = h;
    s->fields = json_deep_copy(json_object_get(opts, "fields"));
    s->rows = json_deep_copy(rows);
    s->strict = assay_opt_bool(opts, "strict");
    *st = s;
    if (!s->fields || !s->rows)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    return 0;
}

/* Follow a '/'-separated path through objects (and array indices). */
static const json_t *lookup(const json_t *v, const char *path)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", path);
    char *save = NULL;
    for (char *t = strtok_r(buf, "/", &save); t && v;
         t = strtok_r(NULL, "/", &save)) {
        if (json_is_object(v))
            v = json_object_get(v, t);
        else if (json_is_array(v)) {
            char *end;
            long i = strtol(t, &end, 10);
            v = (*end || i < 0) ? NULL : json_array_get(v, (size_t)i);
        } else
            v = NULL;
    }
    return v;
}

static int run(void *st, assay_io *io, assay_error *err)
{
    state *s = st;
    const json_t *vals = s->host->in_json(io, "values");
    size_t n = json_array_size(vals), nr = json_array_size(s->rows);
    if (nr && nr != n)
        return assay_error_set(err, ASSAY_EINVAL,
                               "option 'rows' has %zu entries for %zu inputs",
                               nr, n);
    json_t *out = json_array();
    if (!out)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get(vals, i);
        json_t *row = nr ? json_deep_copy(json_array_get(s->rows, i))
                         : json_object();
        const char *col;
        json_t *path;
        json_object_foreach(s->fields, col, path)
        {
            const json_t *x = lookup(v, json_string_value(path));
            if (!x && s->strict) {
                json_decref(row);
                json_decref(out);
                return assay_error_set(err, ASSAY_EDATA,
                                       "input %zu: no value at '%s' (for "
                                       "column '%s')",
                                       i, json_string_value(path), col);
            }
            json_object_set_new(row, col,
                                x ? json_deep_copy(x) : json_null());
        }
        json_array_append_new(out, row);
    }
    return s->host->out_records(io, "rows", out, err);
}

static void destroy(void *st)
{
    state *s = st;
    if (!s)
        return;
    json_decref(s->fields);
    json_decref(s->rows);
    free(s);
}

static const assay_plugin plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "transform.collect",
    .kind = "transform",
    .version = "1.0.0",
    .summary = "Collect values from several json outputs into rows",
    .doc = "Connect a list of json outputs (e.g. the metrics of recommenders "
           "trained at several sizes): inputs: {values: [a.metrics, "
           "b.metrics]}.  Each input becomes one record holding the "
           "constant fields given for it in 'rows' and the values found at "
           "the 'fields' paths.  The result feeds fitters (a sweep table) "
           "and reports.",
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
