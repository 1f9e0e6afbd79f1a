/*
 * apen.c - the metric.apen plugin: Approximate Entropy of single
 * sequences (a records field holding an array) or of every user's item
 * sequence in an interactions table.
 */
#include <assay/plugin.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "apencore.h"
#include "statcommon.h"

typedef struct apen_state {
    const assay_host *host;
    char *seq_field, *user_field, *item_field, *time_field;
    int64_t m, seq_len;
    double r;
    bool r_std, absolute;
} apen_state;

/* The sequences to evaluate: seq s is vals[off[s]..off[s + 1]). */
typedef struct apen_job {
    const apen_state *st;
    size_t nseq;
    size_t *off;
    double *vals;
    double *out; /* nseq x 5: n, r, apen, phi_m, phi_m1 */
    size_t **scratch;
    size_t *scap;
} apen_job;

static const assay_port apen_inputs[] = {
    {.name = "items", .type = ASSAY_T_RECORDS,
     .doc = "records whose sequence_field holds an array of numbers (one "
            "ApEn per record)"},
    {.name = "interactions", .type = ASSAY_T_ANY,
     .doc = "records or table (user, item[, timestamp]): one ApEn per "
            "user over the item ids in time order"},
    {0}};

static const assay_port apen_outputs[] = {
    {.name = "summary", .type = ASSAY_T_JSON,
     .doc = "mean ApEn over the sequences where it is defined, with "
            "counts and settings", .chart = "bar"},
    {.name = "items", .type = ASSAY_T_RECORDS,
     .doc = "per sequence: index or user, n, r, apen, phi_m, phi_m1 (null "
            "when undefined)", .chart = "hist"},
    {0}};

static const assay_option apen_options[] = {
    {.name = "m", .type = ASSAY_OPT_INT, .def = "2", .has_min = true,
     .min = 1, .has_max = true, .max = 1000,
     .doc = "embedding dimension (template length)"},
    {.name = "r", .type = ASSAY_OPT_FLOAT, .def = "0.2", .has_min = true,
     .min = 0, .doc = "tolerance: absolute, or a multiple of the sequence's "
                      "std (see r_mode)"},
    {.name = "r_mode", .type = ASSAY_OPT_ENUM, .def = "\"std\"",
     .choices = "std|absolute",
     .doc = "std: tolerance = r x population std of each sequence; "
            "absolute: tolerance = r"},
    {.name = "absolute_value", .type = ASSAY_OPT_BOOL, .def = "false",
     .doc = "report |phi_m - phi_m+1| (the Performance-Law variant) instead "
            "of phi_m - phi_m+1"},
    {.name = "sequence_field", .type = ASSAY_OPT_STRING,
     .def = "\"sequence\"", .doc = "items: field holding the sequence"},
    {.name = "user_field", .type = ASSAY_OPT_STRING, .def = "\"user\"",
     .doc = "interactions: user id field"},
    {.name = "item_field", .type = ASSAY_OPT_STRING, .def = "\"item\"",
     .doc = "interactions: item id field (numbers; string ids are coded "
            "0, 1, ... in order of appearance, so only r < 1 is meaningful)"},
    {.name = "time_field", .type = ASSAY_OPT_STRING, .def = "\"timestamp\"",
     .doc = "interactions: ordering field (input order when absent; ties "
            "keep input order)"},
    {.name = "seq_len", .type = ASSAY_OPT_INT, .def = "0", .has_min = true,
     .min = 0, .doc = "interactions: use each user's last seq_len items "
                      "(0: all)"},
    {0}};

static void apen_destroy(void *state)
{
    apen_state *s = state;
    if (!s)
        return;
    free(s->seq_field);
    free(s->user_field);
    free(s->item_field);
    free(s->time_field);
    free(s);
}

static int apen_create(const assay_host *host, const json_t *opts,
                       void **state, assay_error *err)
{
    apen_state *s = calloc(1, sizeof *s);
    if (!s)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    s->host = host;
    s->seq_field = strdup(assay_opt_str(opts, "sequence_field"));
    s->user_field = strdup(assay_opt_str(opts, "user_field"));
    s->item_field = strdup(assay_opt_str(opts, "item_field"));
    s->time_field = strdup(assay_opt_str(opts, "time_field"));
    if (!s->seq_field || !s->user_field || !s->item_field ||
        !s->time_field) {
        apen_destroy(s);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    s->m = assay_opt_int(opts, "m");
    s->r = assay_opt_num(opts, "r");
    s->r_std = strcmp(assay_opt_str(opts, "r_mode"), "std") == 0;
    s->absolute = assay_opt_bool(opts, "absolute_value");
    s->seq_len = assay_opt_int(opts, "seq_len");
    *state = s;
    return ASSAY_OK;
}

static int apen_task(void *arg, size_t b, size_t e, unsigned worker,
                     assay_error *err)
{
    apen_job *j = arg;
    const apen_state *st = j->st;
    for (size_t q = b; q < e; q++) {
        size_t n = j->off[q + 1] - j->off[q];
        const double *x = j->vals + j->off[q];
        if (2 * n + 2 > j->scap[worker]) {
            size_t *p = realloc(j->scratch[worker], (2 * n + 2) * sizeof *p);
            if (!p)
                return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            j->scratch[worker] = p;
            j->scap[worker] = 2 * n + 2;
        }
        double r = st->r_std ? st->r * ap_std(x, n) : st->r;
        double a, pm, pm1;
        ap_apen(x, n, (size_t)st->m, r, j->scratch[worker], &a, &pm, &pm1);
        if (st->absolute)
            a = fabs(a);
        double *o = j->out + q * 5;
        o[0] = (double)n;
        o[1] = n ? r : NAN;
        o[2] = a;
        o[3] = pm;
        o[4] = pm1;
    }
    return ASSAY_OK;
}

/* Sequences from records: field holds an array of finite numbers. */
static int seq_from_records(const apen_state *s, const json_t *recs,
                            apen_job *j, assay_error *err)
{
    size_t nrec = json_array_size(recs), total = 0;
    for (size_t r = 0; r < nrec; r++) {
        json_t *v = NULL;
        int rc = assay_rec_get(json_array_get(recs, r), r, s->seq_field, &v,
                               err);
        if (rc) {
            sc_error_port(err, "items");
            return rc;
        }
        if (!json_is_array(v))
            return assay_error_set(err, ASSAY_EDATA,
                                   "input 'items': record %zu: field '%s': "
                                   "expected an array of numbers, got %s",
                                   r, s->seq_field,
                                   assay__json_type_name(v));
        total += json_array_size(v);
    }
    j->nseq = nrec;
    j->off = malloc((nrec + 1) * sizeof *j->off);
    j->vals = malloc((total + 1) * sizeof *j->vals);
    if (!j->off || !j->vals)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    size_t w = 0;
    for (size_t r = 0; r < nrec; r++) {
        json_t *a = json_object_get(json_array_get(recs, r), s->seq_field);
        j->off[r] = w;
        for (size_t k = 0; k < json_array_size(a); k++) {
            json_t *e = json_array_get(a, k);
            double d = json_number_value(e);
            if (!json_is_number(e) || !isfinite(d))
                return assay_error_set(err, ASSAY_EDATA,
                                       "input 'items': record %zu: field "
                                       "'%s': element %zu is not a finite "
                                       "number",
                                       r, s->seq_field, k);
            j->vals[w++] = d;
        }
    }
    j->off[nrec] = w;
    return ASSAY_OK;
}

typedef struct time_sort {
    const double *t;
} time_sort;

static int cmp_time(const void *a, const void *b, void *arg)
{
    const double *t = ((const time_sort *)arg)->t;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    if (t && t[x] != t[y])
        return t[x] < t[y] ? -1 : 1;
    return (x > y) - (x < y);
}

/* Per-user sequences from interactions; users in order of first
 * appearance (their keys kept for the output). */
static int seq_from_interactions(const apen_state *s, const sc_input *in,
                                 sc_keys *users, sc_keymap *umap,
                                 apen_job *j, assay_error *err)
{
    size_t n = in->n;
    sc_keys items = {0};
    double *t = NULL, *iv = NULL;
    size_t *uid = NULL, *ord = NULL;
    int rc;
    if ((rc = sc_input_keys(in, s->user_field, users, err)) ||
        (rc = sc_input_keys(in, s->item_field, &items, err)))
        goto done;
    iv = malloc((n + 1) * sizeof *iv);
    uid = malloc((n + 1) * sizeof *uid);
    ord = malloc((n + 1) * sizeof *ord);
    if (!iv || !uid || !ord) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    if (items.is_str) {
        sc_keymap im;
        if ((rc = sc_keymap_init(&im, true, 1024, err)))
            goto done;
        for (size_t r = 0; r < n && !rc; r++) {
            size_t id;
            rc = sc_keymap_intern(&im, &items, r, &id, NULL, err);
            iv[r] = (double)id;
        }
        sc_keymap_free(&im);
        if (rc)
            goto done;
    } else {
        for (size_t r = 0; r < n; r++)
            iv[r] = (double)items.i[r];
    }
    if (sc_input_has(in, s->time_field)) {
        t = malloc((n + 1) * sizeof *t);
        if (!t) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto done;
        }
        if ((rc = sc_input_nums(in, s->time_field, false, t, err)))
            goto done;
    }
    if ((rc = sc_keymap_init(umap, users->is_str, 1024, err)))
        goto done;
    for (size_t r = 0; r < n && !rc; r++)
        rc = sc_keymap_intern(umap, users, r, &uid[r], NULL, err);
    if (rc)
        goto done;
    size_t nu = umap->n;
    size_t *cnt = calloc(nu + 1, sizeof *cnt);
    if (!cnt) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t r = 0; r < n; r++)
        cnt[uid[r] + 1]++;
    for (size_t u = 0; u < nu; u++)
        cnt[u + 1] += cnt[u];
    for (size_t r = 0; r < n; r++)
        ord[cnt[uid[r]]++] = r;
    for (size_t u = nu; u > 0; u--)
        cnt[u] = cnt[u - 1];
    cnt[0] = 0;
    j->nseq = nu;
    j->off = malloc((nu + 1) * sizeof *j->off);
    j->vals = malloc((n + 1) * sizeof *j->vals);
    if (!j->off || !j->vals) {
        free(cnt);
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    time_sort ts = {t};
    size_t w = 0;
    for (size_t u = 0; u < nu; u++) {
        size_t b = cnt[u], len = cnt[u + 1] - cnt[u];
        qsort_r(ord + b, len, sizeof *ord, cmp_time, &ts);
        size_t skip = s->seq_len > 0 && len > (size_t)s->seq_len
                          ? len - (size_t)s->seq_len
                          : 0;
        j->off[u] = w;
        for (size_t k = skip; k < len; k++)
            j->vals[w++] = iv[ord[b + k]];
    }
    j->off[nu] = w;
    free(cnt);
done:
    sc_keys_free(&items);
    free(t);
    free(iv);
    free(uid);
    free(ord);
    return rc;
}

static int apen_outputs_build(const apen_state *s, const apen_job *j,
                              const sc_keys *users, const sc_keymap *umap,
                              json_t **summary, json_t **items,
                              assay_error *err)
{
    json_t *arr = json_array(), *sum = json_object();
    double total = 0.0;
    size_t defined = 0;
    if (!arr || !sum)
        goto oom;
    for (size_t q = 0; q < j->nseq; q++) {
        const double *o = j->out + q * 5;
        json_t *rec = json_object();
        if (!rec || json_array_append_new(arr, rec))
            goto oom;
        json_t *id = users ? sc_keys_json(users, umap->first[q])
                           : json_integer((json_int_t)q);
        if (sc_json_set(rec, users ? s->user_field : "index", id, err) ||
            sc_json_set(rec, "n", json_integer((json_int_t)o[0]), err) ||
            sc_json_set(rec, "r", sc_json_num(o[1]), err) ||
            sc_json_set(rec, "apen", sc_json_num(o[2]), err) ||
            sc_json_set(rec, "phi_m", sc_json_num(o[3]), err) ||
            sc_json_set(rec, "phi_m1", sc_json_num(o[4]), err))
            goto oom;
        if (isfinite(o[2])) {
            total += o[2];
            defined++;
        }
    }
    if (sc_json_set(sum, "apen", sc_json_num(defined ? total / (double)defined
                                                      : NAN),
                    err) ||
        sc_json_set(sum, "sequences", json_integer((json_int_t)j->nseq),
                    err) ||
        sc_json_set(sum, "defined", json_integer((json_int_t)defined), err) ||
        sc_json_set(sum, "m", json_integer(s->m), err) ||
        sc_json_set(sum, "r", json_real(s->r), err) ||
        sc_json_set(sum, "r_mode", json_string(s->r_std ? "std" : "absolute"),
                    err) ||
        sc_json_set(sum, "absolute_value", json_boolean(s->absolute), err))
        goto oom;
    *summary = sum;
    *items = arr;
    return ASSAY_OK;
oom:
    json_decref(arr);
    json_decref(sum);
    return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
}

static int apen_run(void *state, assay_io *io, assay_error *err)
{
    apen_state *s = state;
    const assay_host *h = s->host;
    apen_job j;
    sc_keys users = {0};
    sc_keymap umap;
    json_t *summary = NULL, *items = NULL;
    unsigned T = h->threads(h);
    int rc;

    memset(&j, 0, sizeof j);
    memset(&umap, 0, sizeof umap);
    j.st = s;
    const json_t *recs = h->in_records(io, "items");
    sc_input inter;
    if ((rc = sc_input_get(h, io, "interactions", false, &inter, err)))
        return rc;
    bool have_inter = inter.recs || inter.tab;
    if (!!recs == have_inter)
        return assay_error_set(err, ASSAY_EINVAL,
                               "connect exactly one of the inputs 'items' "
                               "and 'interactions'");
    rc = recs ? seq_from_records(s, recs, &j, err)
              : seq_from_interactions(s, &inter, &users, &umap, &j, err);
    if (rc)
        goto done;
    j.out = malloc((j.nseq + 1) * 5 * sizeof *j.out);
    j.scratch = calloc(T, sizeof *j.scratch);
    j.scap = calloc(T, sizeof *j.scap);
    if (!j.out || !j.scratch || !j.scap) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    rc = sc_parallel(h, T, j.nseq, 16, apen_task, &j, err);
    if (rc)
        goto done;
    h->progress(h, j.nseq, j.nseq, "sequences");
    rc = apen_outputs_build(s, &j, recs ? NULL : &users, &umap, &summary,
                            &items, err);
    if (rc)
        goto done;
    rc = h->out_json(io, "summary", summary, err);
    summary = NULL;
    if (!rc)
        rc = h->out_records(io, "items", items, err);
    items = NULL;
done:
    json_decref(summary);
    json_decref(items);
    for (unsigned t = 0; j.scratch && t < T; t++)
        free(j.scratch[t]);
    free(j.scratch);
    free(j.scap);
    free(j.out);
    free(j.off);
    free(j.vals);
    sc_keys_free(&users);
    sc_keymap_free(&umap);
    return rc;
}

static const assay_plugin apen_plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "metric.apen",
    .kind = "metric",
    .version = "1.0.0",
    .summary = "Approximate Entropy of sequences or of users' item "
               "sequences (data quality)",
    .doc =
        "Approximate Entropy ApEn(m, r) of Pincus (1991), as used for the "
        "data-quality term of the sequential-recommendation performance "
        "law.\n"
        "\n"
        "For x_1..x_N, templates u_i = (x_i..x_i+k-1) of length k = m and "
        "m+1 are compared by the largest element-wise difference; C_i^k is "
        "the share of templates within r of u_i (itself included, d <= "
        "r), phi_k the mean of ln C_i^k, and ApEn = phi_m - phi_m+1 "
        "(|...| with absolute_value: true).  Undefined (null) when N < "
        "m+1.  With r_mode: std the tolerance is r times the sequence's "
        "population standard deviation (a constant sequence gets r = 0 and "
        "ApEn 0).  Matches a numpy reference of the definition within "
        "1e-9.\n"
        "\n"
        "Inputs (connect one): `items`, records whose sequence_field holds "
        "an array of numbers, or `interactions` (records or table: "
        "user_field, item_field and optionally time_field), giving one "
        "sequence per user: the item ids ordered by time (input order for "
        "ties or without a time field), the last seq_len kept.\n"
        "Outputs: `summary` with the mean ApEn over sequences where it is "
        "defined, and `items` with each sequence's n, r, apen, phi_m and "
        "phi_m1.  O(N^2 m) per sequence; sequences run in parallel.",
    .inputs = apen_inputs,
    .outputs = apen_outputs,
    .options = apen_options,
    .flags = ASSAY_F_ALL_ITEMS | ASSAY_F_DETERMINISTIC,
    .create = apen_create,
    .run = apen_run,
    .destroy = apen_destroy,
};

static const assay_plugin *const apen_list[] = {&apen_plugin, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi)
{
    (void)host_abi;
    return apen_list;
}
