/*
 * transform.join - join two record sets on a key field (hash join).
 */
#include <assay/plugin.h>

#include <stdlib.h>
#include <string.h>

typedef struct state {
    const assay_host *host;
    char *left_on, *right_on, *prefix;
    bool left_join;
} state;

static const assay_port inputs[] = {
    {.name = "left", .type = ASSAY_T_RECORDS, .required = true,
     .doc = "records whose order the output keeps"},
    {.name = "right", .type = ASSAY_T_RECORDS, .required = true,
     .doc = "records looked up by key"},
    {0}};
static const assay_port outputs[] = {
    {.name = "items", .type = ASSAY_T_RECORDS,
     .doc = "left records merged with their matching right records"},
    {0}};
static const assay_option options[] = {
    {.name = "on", .type = ASSAY_OPT_STRING,
     .doc = "key field present in both inputs"},
    {.name = "left_on", .type = ASSAY_OPT_STRING,
     .doc = "key field of the left records (instead of 'on')"},
    {.name = "right_on", .type = ASSAY_OPT_STRING,
     .doc = "key field of the right records (instead of 'on')"},
    {.name = "how", .type = ASSAY_OPT_ENUM, .def = "\"inner\"",
     .choices = "inner|left",
     .doc = "inner: only matched left records; left: all left records"},
    {.name = "prefix", .type = ASSAY_OPT_STRING, .def = "\"right_\"",
     .doc = "prefix for right fields whose names clash with left fields"},
    {0}};

static void destroy(void *st)
{
    state *s = st;
    if (!s)
        return;
    free(s->left_on);
    free(s->right_on);
    free(s->prefix);
    free(s);
}

static int create(const assay_host *h, const json_t *opts, void **st,
                  assay_error *err)
{
    const char *on = assay_opt_str(opts, "on");
    const char *lo = assay_opt_str(opts, "left_on");
    const char *ro = assay_opt_str(opts, "right_on");
    if (!lo)
        lo = on;
    if (!ro)
        ro = on;
    if (!lo || !ro)
        return assay_error_set(err, ASSAY_EINVAL,
                               "give 'on' (or both 'left_on' and "
                               "'right_on')");
    state *s = calloc(1, sizeof *s);
    if (!s)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    *st = s;
    s->host = h;
    s->left_on = strdup(lo);
    s->right_on = strdup(ro);
    s->prefix = strdup(assay_opt_str(opts, "prefix"));
    s->left_join = strcmp(assay_opt_str(opts, "how"), "left") == 0;
    if (!s->left_on || !s->right_on || !s->prefix)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    return 0;
}

static char *key_text(const json_t *v)
{
    return json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
}

static int run(void *st, assay_io *io, assay_error *err)
{
    state *s = st;
    const json_t *left = s->host->in_records(io, "left");
    const json_t *right = s->host->in_records(io, "right");
    json_t *index = json_object(); /* key -> right record (first wins) */
    json_t *out = json_array();
    int rc = 0;
    size_t dups = 0;
    if (!index || !out) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < json_array_size(right); i++) {
        json_t *k = NULL;
        const json_t *r = json_array_get(right, i);
        if ((rc = assay_rec_get(r, i, s->right_on, &k, err))) {
            assay_error_prefix(err, "right ");
            goto done;
        }
        char *kt = key_text(k);
        if (!kt) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto done;
        }
        if (json_object_get(index, kt))
            dups++;
        else
            json_object_set(index, kt, (json_t *)r);
        free(kt);
    }
    for (size_t i = 0; i < json_array_size(left); i++) {
        json_t *k = NULL;
        const json_t *l = json_array_get(left, i);
        if ((rc = assay_rec_get(l, i, s->left_on, &k, err))) {
            assay_error_prefix(err, "left ");
            goto done;
        }
        char *kt = key_text(k);
        json_t *r = kt ? json_object_get(index, kt) : NULL;
        free(kt);
        if (!r && !s->left_join)
            continue;
        json_t *o = json_copy((json_t *)l);
        const char *f;
        json_t *v;
        json_object_foreach(r, f, v)
        {
            if (strcmp(f, s->right_on) == 0 &&
                strcmp(s->left_on, s->right_on) == 0)
                continue;
            if (json_object_get(o, f)) {
                char name[512];
                snprintf(name, sizeof name, "%s%s", s->prefix, f);
                json_object_set(o, name, v);
            } else
                json_object_set(o, f, v);
        }
        json_array_append_new(out, o);
    }
    if (dups)
        s->host->log(s->host, ASSAY_LOG_WARN,
                     "%zu right records repeat a key; the first of each "
                     "was used",
                     dups);
    rc = s->host->out_records(io, "items", out, err);
    out = NULL;
done:
    json_decref(index);
    json_decref(out);
    return rc;
}

static const assay_plugin plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "transform.join",
    .kind = "transform",
    .version = "1.0.0",
    .summary = "Join two record sets on a key field",
    .doc = "Hash join: each left record is merged with the first right "
           "record whose key is equal (JSON equality, so 1 and \"1\" "
           "differ).  Right fields that clash with left fields get "
           "'prefix'.  how: inner drops unmatched left records, left keeps "
           "them.  Output follows the left order.",
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
