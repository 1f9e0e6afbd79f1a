/*
 * embedder.hashing - deterministic feature-hashed TF-IDF vectors, offline
 * (no model, no server), so pipelines that need embeddings run anywhere.
 */
#include <assay/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hashvec.h"

typedef struct hs_state {
    const assay_host *host;
    hv_opts o;
    char *field, *id_field, *vector_field;
} hs_state;

static const assay_port hs_inputs[] = {
    {.name = "items",
     .type = ASSAY_T_RECORDS,
     .required = true,
     .doc = "records holding the text to embed"},
    {0}};

static const assay_port hs_outputs[] = {
    {.name = "table",
     .type = ASSAY_T_TABLE,
     .doc = "one row per record: the id column (with id_field) and "
            "float64 columns v0..v<dim-1>"},
    {.name = "items",
     .type = ASSAY_T_RECORDS,
     .doc = "the input records with the vector added as a list of numbers"},
    {0}};

static const assay_option hs_options[] = {
    {.name = "field",
     .type = ASSAY_OPT_STRING,
     .def = "\"text\"",
     .doc = "record field holding the text"},
    {.name = "dim",
     .type = ASSAY_OPT_INT,
     .def = "256",
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 1048576,
     .doc = "vector dimension (hash buckets)"},
    {.name = "ngram",
     .type = ASSAY_OPT_INT,
     .def = "1",
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 3,
     .doc = "word n-grams of 1..ngram tokens are features"},
    {.name = "lowercase",
     .type = ASSAY_OPT_BOOL,
     .def = "true",
     .doc = "lowercase ASCII letters before hashing"},
    {.name = "idf",
     .type = ASSAY_OPT_BOOL,
     .def = "true",
     .doc = "weight by smoothed inverse document frequency over the input"},
    {.name = "sublinear_tf",
     .type = ASSAY_OPT_BOOL,
     .def = "true",
     .doc = "term frequency 1 + ln(count) instead of count"},
    {.name = "norm",
     .type = ASSAY_OPT_ENUM,
     .def = "\"l2\"",
     .choices = "l2|none",
     .doc = "normalise each vector to unit length"},
    {.name = "id_field",
     .type = ASSAY_OPT_STRING,
     .doc = "record field copied as the first column of the table"},
    {.name = "vector_field",
     .type = ASSAY_OPT_STRING,
     .def = "\"vector\"",
     .doc = "field receiving the vector in the items output"},
    {0}};

static void hs_destroy(void *state)
{
    hs_state *s = state;
    if (!s)
        return;
    free(s->field);
    free(s->id_field);
    free(s->vector_field);
    free(s);
}

static char *hs_strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

static int hs_create(const assay_host *host, const json_t *o, void **state,
                     assay_error *err)
{
    hs_state *s = calloc(1, sizeof *s);
    if (!s)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    s->host = host;
    s->o.dim = (size_t)assay_opt_int(o, "dim");
    s->o.ngram = (int)assay_opt_int(o, "ngram");
    s->o.lowercase = assay_opt_bool(o, "lowercase");
    s->o.idf = assay_opt_bool(o, "idf");
    s->o.sublinear_tf = assay_opt_bool(o, "sublinear_tf");
    s->o.l2 = strcmp(assay_opt_str(o, "norm"), "l2") == 0;
    s->field = hs_strdup(assay_opt_str(o, "field"));
    s->vector_field = hs_strdup(assay_opt_str(o, "vector_field"));
    s->id_field = hs_strdup(assay_opt_str(o, "id_field"));
    if (!s->field || !s->vector_field ||
        (assay_opt_str(o, "id_field") && !s->id_field)) {
        hs_destroy(s);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    *state = s;
    return ASSAY_OK;
}

/* The id column: int64 when every id is an integer, else strings. */
static int hs_id_column(const hs_state *s, const json_t *recs, assay_table *t,
                        assay_error *err)
{
    const assay_host *h = s->host;
    size_t n = json_array_size(recs);
    bool all_int = true;
    for (size_t i = 0; i < n; i++) {
        json_t *v;
        int rc =
            assay_rec_get(json_array_get(recs, i), i, s->id_field, &v, err);
        if (rc)
            return rc;
        all_int = all_int && json_is_integer(v);
    }
    void *col = h->table_add_col(t, s->id_field,
                                 all_int ? ASSAY_COL_INT64 : ASSAY_COL_STRING);
    if (!col)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_object_get(json_array_get(recs, i), s->id_field);
        if (all_int) {
            ((int64_t *)col)[i] = json_integer_value(v);
            continue;
        }
        char *txt = json_is_string(v)
                        ? NULL
                        : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        const char *str = json_is_string(v) ? json_string_value(v) : txt;
        int rc =
            str ? h->table_set_str(t, 0, i, str, strlen(str)) : ASSAY_ENOMEM;
        free(txt);
        if (rc)
            return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    return ASSAY_OK;
}

static int hs_run(void *state, assay_io *io, assay_error *err)
{
    hs_state *s = state;
    const assay_host *h = s->host;
    const json_t *recs = h->in_records(io, "items");
    size_t n = json_array_size(recs), dim = s->o.dim;
    const char **texts = NULL;
    double *vec = NULL;
    assay_table *t = NULL;
    json_t *items = NULL;
    int rc;

    texts = calloc(n ? n : 1, sizeof *texts);
    vec = calloc(n && dim ? n * dim : 1, sizeof *vec);
    if (!texts || !vec || (n && dim > SIZE_MAX / sizeof(double) / n)) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        rc =
            assay_rec_str(json_array_get(recs, i), i, s->field, &texts[i], err);
        if (rc)
            goto done;
    }
    if (hv_embed(texts, n, &s->o, vec) != 0) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }

    /* table */
    t = h->table_new(n);
    if (!t) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    if (s->id_field) {
        rc = hs_id_column(s, recs, t, err);
        if (rc)
            goto done;
    }
    for (size_t d = 0; d < dim; d++) {
        char name[32];
        snprintf(name, sizeof name, "v%zu", d);
        double *col = h->table_add_col(t, name, ASSAY_COL_FLOAT64);
        if (!col) {
            rc = assay_error_set(err, ASSAY_ENOMEM,
                                 "out of memory (or a column named %s "
                                 "already exists)",
                                 name);
            goto done;
        }
        for (size_t i = 0; i < n; i++)
            col[i] = vec[i * dim + d];
    }

    /* records */
    items = json_array();
    for (size_t i = 0; items && i < n; i++) {
        json_t *rec = json_copy(json_array_get(recs, i));
        json_t *v = json_array();
        for (size_t d = 0; v && d < dim; d++)
            if (json_array_append_new(v, json_real(vec[i * dim + d])))
                break;
        if (!rec || !v || json_array_size(v) != dim ||
            json_object_set_new(rec, s->vector_field, v) ||
            json_array_append_new(items, rec)) {
            json_decref(items);
            items = NULL;
        }
    }
    if (!items) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    h->progress(h, n, n, "texts");
    rc = h->out_table(io, "table", t, err);
    t = NULL;
    if (rc == 0)
        rc = h->out_records(io, "items", items, err);
    else
        json_decref(items);
    items = NULL;
done:
    if (t)
        h->table_free(t);
    json_decref(items);
    free(texts);
    free(vec);
    return rc;
}

static const assay_plugin hs_plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "embedder.hashing",
    .kind = "embedder",
    .version = "1.0.0",
    .summary = "Deterministic feature-hashed TF-IDF text vectors, offline",
    .doc = "Embeds the text in field `field` of every input record without a "
           "model or a server, so that pipelines needing embeddings run "
           "offline and reproducibly (same texts and options, same vectors, "
           "on every machine).\n"
           "Tokens are maximal runs of ASCII letters/digits and non-ASCII "
           "bytes (UTF-8 letters stay in words), ASCII lowercased by default. "
           "Features are word n-grams of 1..ngram tokens, hashed with 64-bit "
           "FNV-1a into `dim` buckets with a hash-derived sign (the hashing "
           "trick of Weinberger et al., 2009), weighted by tf = 1 + ln(count) "
           "(or the raw count) times the smoothed idf ln((1+N)/(1+df)) + 1 "
           "over the N input texts (as scikit-learn's TfidfTransformer with "
           "smooth_idf), and L2-normalised.\n"
           "Outputs the vectors twice: `table` (float64 columns v0..v<dim-1>, "
           "after the id column when id_field is set) and `items` (the input "
           "records with `vector_field` holding the list of numbers).",
    .inputs = hs_inputs,
    .outputs = hs_outputs,
    .options = hs_options,
    .flags = ASSAY_F_ALL_ITEMS | ASSAY_F_DETERMINISTIC | ASSAY_F_CHEAP,
    .create = hs_create,
    .run = hs_run,
    .destroy = hs_destroy,
};

static const assay_plugin *const hs_list[] = {&hs_plugin, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi_version)
{
    (void)host_abi_version;
    return hs_list;
}
