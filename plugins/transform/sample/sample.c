/*
 * transform.sample - a seeded random sample of records (without
 * replacement), optionally stratified by a field; input order is kept.
 */
#include <assay/plugin.h>

#include <stdlib.h>
#include <string.h>

typedef struct state {
    const assay_host *host;
    int64_t n;
    double fraction;
    char *stratify;
} state;

static const assay_port inputs[] = {
    {.name = "items", .type = ASSAY_T_RECORDS, .required = true,
     .doc = "records to sample from"},
    {0}};
static const assay_port outputs[] = {
    {.name = "items", .type = ASSAY_T_RECORDS,
     .doc = "the sampled records, in their input order"},
    {0}};
static const assay_option options[] = {
    {.name = "n", .type = ASSAY_OPT_INT, .def = "0", .has_min = true,
     .min = 0, .doc = "number of records to keep (0: use 'fraction')"},
    {.name = "fraction", .type = ASSAY_OPT_FLOAT, .def = "1.0",
     .has_min = true, .min = 0, .has_max = true, .max = 1,
     .doc = "share of records to keep when n is 0 (rounded)"},
    {.name = "stratify", .type = ASSAY_OPT_STRING,
     .doc = "field whose values keep their proportions in the sample"},
    {0}};

static int create(const assay_host *h, const json_t *opts, void **st,
                  assay_error *err)
{
    state *s = calloc(1, sizeof *s);
    if (!s)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    s->host = h;
    s->n = assay_opt_int(opts, "n");
    s->fraction = assay_opt_num(opts, "fraction");
    const char *strat = assay_opt_str(opts, "stratify");
    if (strat && !(s->stratify = strdup(strat))) {
        free(s);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    *st = s;
    return 0;
}

/* Mark `k` of the `m` indices idx[0..m) as chosen (partial shuffle). */
static void choose(assay_rng *rng, size_t *idx, size_t m, size_t k,
                   unsigned char *chosen)
{
    for (size_t i = 0; i < k && i < m; i++) {
        size_t j = i + (size_t)assay_rng_below(rng, m - i);
        size_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
        chosen[idx[i]] = 1;
    }
}

static int run(void *st, assay_io *io, assay_error *err)
{
    state *s = st;
    const json_t *items = s->host->in_records(io, "items");
    size_t n = json_array_size(items);
    size_t want = s->n > 0 ? (size_t)s->n
                           : (size_t)(s->fraction * (double)n + 0.5);
    if (want > n)
        want = n;
    assay_rng rng;
    assay_rng_init(&rng, s->host->seed(s->host, "sample"));
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    unsigned char *chosen = calloc(n ? n : 1, 1);
    json_t *out = json_array();
    int rc = 0;
    if (!idx || !chosen || !out) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    if (!s->stratify) {
        for (size_t i = 0; i < n; i++)
            idx[i] = i;
        choose(&rng, idx, n, want, chosen);
    } else {
        /* group indices by stratum (first-appearance order), then give
         * each stratum a share by largest remainders */
        json_t *groups = json_object();
        for (size_t i = 0; i < n && groups; i++) {
            json_t *v = NULL;
            rc = assay_rec_get(json_array_get(items, i), i, s->stratify, &v,
                               err);
            if (rc)
                break;
            char *key = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
            json_t *g = key ? json_object_get(groups, key) : NULL;
            if (!g && key) {
                g = json_array();
                json_object_set_new(groups, key, g);
            }
            free(key);
            json_array_append_new(g, json_integer((json_int_t)i));
        }
        size_t ng = json_object_size(groups), gi = 0, assigned = 0;
        size_t *quota = calloc(ng ? ng : 1, sizeof *quota);
        double *rem = calloc(ng ? ng : 1, sizeof *rem);
        const char *k;
        json_t *g;
        json_object_foreach(groups, k, g)
        {
            double exact = n ? (double)want * (double)json_array_size(g) /
                                   (double)n
                             : 0;
            quota[gi] = (size_t)exact;
            rem[gi] = exact - (double)quota[gi];
            assigned += quota[gi];
            gi++;
        }
        while (!rc && assigned < want && ng) {
            size_t best = 0;
            for (size_t i = 1; i < ng; i++)
                if (rem[i] > rem[best])
                    best = i;
            quota[best]++;
            rem[best] = -1;
            assigned++;
        }
        gi = 0;
        json_object_foreach(groups, k, g)
        {
            size_t m = json_array_size(g);
            for (size_t i = 0; i < m; i++)
                idx[i] = (size_t)json_integer_value(json_array_get(g, i));
            choose(&rng, idx, m, quota[gi++], chosen);
        }
        free(quota);
        free(rem);
        json_decref(groups);
        if (rc)
            goto done;
    }
    for (size_t i = 0; i < n; i++)
        if (chosen[i])
            json_array_append(out, json_array_get(items, i));
    rc = s->host->out_records(io, "items", out, err);
    out = NULL;
done:
    json_decref(out);
    free(idx);
    free(chosen);
    return rc;
}

static void destroy(void *st)
{
    state *s = st;
    if (s)
        free(s->stratify);
    free(s);
}

static const assay_plugin plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "transform.sample",
    .kind = "transform",
    .version = "1.0.0",
    .summary = "Seeded random sample of records, optionally stratified",
    .doc = "Keeps n records (or round(fraction * count)) chosen uniformly "
           "without replacement with the node's seed, so the same run seed "
           "gives the same sample.  With 'stratify', each value of that "
           "field keeps its share (largest-remainder rounding).  Output "
           "keeps the input order.",
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
