/*
 * example.wordcount - a complete third-party assay plugin in one file.
 *
 * It counts the words of a text field in every record, adds the count to
 * the record, and reports corpus statistics.  Copy this folder, rename the
 * plugin, and build it with `make` (or meson) against the installed SDK:
 * it needs only <assay/plugin.h> and jansson, never the host.
 */
#include <assay/plugin.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Per-node state: plugins keep no globals, nodes run in parallel. */
typedef struct wc_state {
    const assay_host *host;
    char *field;
    int64_t min_length;
} wc_state;

static const assay_port inputs[] = {
    {.name = "items", .type = ASSAY_T_RECORDS, .required = true,
     .doc = "records with a text field"},
    {0}};

static const assay_port outputs[] = {
    {.name = "items", .type = ASSAY_T_RECORDS,
     .doc = "the records with an added 'words' field"},
    {.name = "summary", .type = ASSAY_T_JSON, .chart = "table",
     .doc = "{records, words, mean_words}"},
    {0}};

static const assay_option options[] = {
    {.name = "field", .type = ASSAY_OPT_STRING, .def = "\"text\"",
     .doc = "the field holding the text"},
    {.name = "min_length", .type = ASSAY_OPT_INT, .def = "1",
     .has_min = true, .min = 1,
     .doc = "count only words with at least this many characters"},
    {0}};

static int wc_create(const assay_host *host, const json_t *opts,
                     void **state, assay_error *err)
{
    wc_state *s = calloc(1, sizeof *s);
    if (!s)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    s->host = host;
    s->field = strdup(assay_opt_str(opts, "field"));
    s->min_length = assay_opt_int(opts, "min_length");
    *state = s;
    if (!s->field)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    return ASSAY_OK;
}

static size_t count_words(const char *text, size_t min_len)
{
    size_t n = 0, len = 0;
    for (const unsigned char *p = (const unsigned char *)text;; p++) {
        if (*p && !isspace(*p)) {
            len++;
            continue;
        }
        if (len >= min_len)
            n++;
        len = 0;
        if (!*p)
            break;
    }
    return n;
}

static int wc_run(void *state, assay_io *io, assay_error *err)
{
    wc_state *s = state;
    const assay_host *h = s->host;
    const json_t *items = h->in_records(io, "items");
    size_t n = json_array_size(items), total = 0;
    json_t *out = json_array();
    if (!out)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const json_t *rec = json_array_get(items, i);
        const char *text;
        /* names the record and field in the error, e.g.
         * "record 3: missing field 'text'" */
        int rc = assay_rec_str(rec, i, s->field, &text, err);
        if (rc) {
            json_decref(out);
            return rc;
        }
        size_t w = count_words(text, (size_t)s->min_length);
        total += w;
        json_t *copy = json_copy((json_t *)rec); /* inputs are read-only */
        json_object_set_new(copy, "words", json_integer((json_int_t)w));
        json_array_append_new(out, copy);
        if (h->cancelled(h)) {
            json_decref(out);
            return assay_error_set(err, ASSAY_ECANCELED, "cancelled");
        }
        h->progress(h, i + 1, n, "records");
    }
    int rc = h->out_records(io, "items", out, err);
    if (rc)
        return rc;
    json_t *summary = json_pack("{sI sI sf}", "records", (json_int_t)n,
                                "words", (json_int_t)total, "mean_words",
                                n ? (double)total / (double)n : 0.0);
    return h->out_json(io, "summary", summary, err);
}

static void wc_destroy(void *state)
{
    wc_state *s = state;
    if (s)
        free(s->field);
    free(s);
}

static const assay_plugin wordcount = {
    ASSAY_PLUGIN_HEADER,
    .name = "example.wordcount",
    .kind = "metric",
    .version = "1.0.0",
    .summary = "Count the words of a text field",
    .doc = "Adds 'words' (whitespace-separated tokens of at least "
           "min_length characters) to every record and reports the total "
           "and mean.",
    .inputs = inputs,
    .outputs = outputs,
    .options = options,
    .flags = ASSAY_F_DETERMINISTIC | ASSAY_F_ALL_ITEMS,
    .create = wc_create,
    .run = wc_run,
    .destroy = wc_destroy,
};

static const assay_plugin *const plugins[] = {&wordcount, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi_version)
{
    (void)host_abi_version;
    return plugins;
}
