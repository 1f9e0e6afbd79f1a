/*
 * protocol.split - train/validation/test splits of an interaction table:
 * random by ratio (per user or global), temporal by ratio (per user or
 * global) and leave-one-out (last item test, second-to-last validation).
 */
#include <assay/plugin.h>

#include <stdlib.h>
#include <string.h>

#include "rc.h"

enum { M_RANDOM, M_TEMPORAL, M_LOO };

typedef struct sp_cfg {
    const assay_host *host;
    int method;
    bool per_user;
    double ratio[3];
    size_t nparts; /* 2 (train/test) or 3 (train/valid/test) */
} sp_cfg;

/*
 * Part sizes of a group of `tot` rows (RecBole's rule): each later part
 * gets floor(ratio * tot) rows, the first part the rest; then, from the
 * last part backwards, a part whose share is strictly between 0 and 1 row
 * takes one row from the first part while that keeps more than one.
 */
static void part_sizes(size_t tot, const double *ratio, size_t nparts,
                       size_t *cnt)
{
    size_t rest = 0;
    for (size_t p = 1; p < nparts; p++) {
        cnt[p] = (size_t)floor(ratio[p] * (double)tot);
        rest += cnt[p];
    }
    cnt[0] = tot - rest;
    for (size_t i = 1; i < nparts; i++) {
        if (cnt[0] <= 1)
            break;
        double share = ratio[nparts - i] * (double)tot;
        if (share > 0 && share < 1) {
            cnt[nparts - i]++;
            cnt[0]--;
        }
    }
}

/* Leave-one-out sizes: train n-2, valid 1, test 1 (train n-1, test 1 for
 * two rows; train only for one). With two parts: train n-1, test 1. */
static void loo_sizes(size_t tot, size_t nparts, size_t *cnt)
{
    memset(cnt, 0, 3 * sizeof *cnt);
    if (tot <= 1) {
        cnt[0] = tot;
    } else if (tot == 2 || nparts == 2) {
        cnt[0] = tot - 1;
        cnt[nparts - 1] = 1;
    } else {
        cnt[0] = tot - 2;
        cnt[1] = 1;
        cnt[2] = 1;
    }
}

typedef struct time_row {
    double t;
    uint32_t row;
} time_row;

static int cmp_time_row(const void *a, const void *b)
{
    const time_row *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

/* Assign every row of `in` to a part: part[r] in 0..nparts-1. */
static int assign_parts(const sp_cfg *c, const rc_inter *in, uint64_t seed,
                        unsigned char *part, size_t *sizes, assay_error *err)
{
    size_t n = in->n, cnt[3];
    assay_rng rng;
    int rc = ASSAY_OK;
    assay_rng_init(&rng, seed);
    memset(sizes, 0, 3 * sizeof *sizes);
    if (c->method != M_RANDOM && !in->time)
        c->host->log(c->host, ASSAY_LOG_WARN,
                     "no `timestamp` column: the row order is the time "
                     "order");
    if (!c->per_user && c->method != M_LOO) {
        uint32_t *order = malloc((n ? n : 1) * sizeof *order);
        if (!order)
            return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        if (c->method == M_RANDOM) {
            for (size_t r = 0; r < n; r++)
                order[r] = (uint32_t)r;
            assay_rng_shuffle(&rng, order, n, sizeof *order);
        } else {
            time_row *tr = malloc((n ? n : 1) * sizeof *tr);
            if (!tr) {
                free(order);
                return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            }
            for (size_t r = 0; r < n; r++) {
                tr[r].t = in->time ? assay_col_num(in->time, r) : (double)r;
                tr[r].row = (uint32_t)r;
            }
            qsort(tr, n, sizeof *tr, cmp_time_row);
            for (size_t r = 0; r < n; r++)
                order[r] = tr[r].row;
            free(tr);
        }
        part_sizes(n, c->ratio, c->nparts, cnt);
        size_t at = 0;
        for (size_t p = 0; p < c->nparts; p++)
            for (size_t k = 0; k < cnt[p]; k++)
                part[order[at++]] = (unsigned char)p;
        for (size_t p = 0; p < c->nparts; p++)
            sizes[p] = cnt[p];
        free(order);
        return ASSAY_OK;
    }
    /* per user: group rows (time order for temporal and leave-one-out) */
    rc_ids users = {0};
    rc_csr g = {0};
    size_t len = n;
    if ((rc = rc_ids_build(&users, &in->user, &len, 1, err)) ||
        (rc = rc_group_rows(in, &users, c->method != M_RANDOM, &g, err)))
        goto done;
    for (size_t u = 0; u < g.n; u++) {
        uint32_t *rows = g.idx + g.ptr[u];
        size_t m = rc_csr_len(&g, u);
        if (c->method == M_RANDOM)
            assay_rng_shuffle(&rng, rows, m, sizeof *rows);
        if (c->method == M_LOO)
            loo_sizes(m, c->nparts, cnt);
        else
            part_sizes(m, c->ratio, c->nparts, cnt);
        size_t at = 0;
        for (size_t p = 0; p < c->nparts; p++) {
            for (size_t k = 0; k < cnt[p]; k++)
                part[rows[at++]] = (unsigned char)p;
            sizes[p] += cnt[p];
        }
    }
done:
    rc_csr_free(&g);
    rc_ids_free(&users);
    return rc;
}

static int sp_create(const assay_host *host, const json_t *o, void **state,
                     assay_error *err)
{
    sp_cfg *c = calloc(1, sizeof *c);
    if (!c)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    c->host = host;
    const char *m = assay_opt_str(o, "method");
    c->method = strcmp(m, "temporal") == 0 ? M_TEMPORAL
                : strcmp(m, "loo") == 0    ? M_LOO
                                           : M_RANDOM;
    c->per_user = strcmp(assay_opt_str(o, "by"), "user") == 0;
    const json_t *ra = json_object_get(o, "ratios");
    size_t i;
    json_t *v;
    double sum = 0.0;
    c->nparts = json_array_size(ra);
    if (c->method == M_LOO) {
        c->nparts = assay_opt_bool(o, "validation") ? 3 : 2;
    } else {
        if (c->nparts < 2 || c->nparts > 3)
            goto bad_ratios;
        json_array_foreach(ra, i, v)
        {
            if (!json_is_number(v) || json_number_value(v) < 0)
                goto bad_ratios;
            c->ratio[i] = json_number_value(v);
            sum += c->ratio[i];
        }
        if (!(sum > 0))
            goto bad_ratios;
        for (i = 0; i < c->nparts; i++)
            c->ratio[i] /= sum;
    }
    *state = c;
    return ASSAY_OK;
bad_ratios:
    free(c);
    return assay_error_set(err, ASSAY_EINVAL,
                           "option 'ratios': expected 2 or 3 non-negative "
                           "numbers with a positive sum, e.g. [0.8, 0.1, "
                           "0.1] (train, valid, test) or [0.8, 0.2]");
}

static int sp_run(void *state, assay_io *io, assay_error *err)
{
    sp_cfg *c = state;
    const assay_host *host = c->host;
    const assay_table *t = host->in_table(io, "interactions");
    rc_inter in;
    unsigned char *part = NULL;
    uint32_t *rows = NULL;
    assay_table *outs[3] = {NULL, NULL, NULL};
    json_t *info = NULL;
    size_t sizes[3];
    int rc = rc_inter_view(t, "interactions", false, &in, err);
    if (rc)
        return rc;
    part = malloc(in.n ? in.n : 1);
    rows = malloc((in.n ? in.n : 1) * sizeof *rows);
    if (!part || !rows)
        goto fail_nomem;
    if ((rc =
             assign_parts(c, &in, host->seed(host, "split"), part, sizes, err)))
        goto done;
    /* with two parts the second is the test set; valid stays empty */
    size_t slot[3] = {0, c->nparts == 3 ? 1 : 2, 2};
    for (size_t p = 0; p < 3; p++) {
        size_t n = 0;
        for (size_t pp = 0; pp < c->nparts; pp++) {
            if (slot[pp] != p)
                continue;
            for (size_t r = 0; r < in.n; r++)
                if (part[r] == pp)
                    rows[n++] = (uint32_t)r;
        }
        if ((rc = rc_table_take(host, t, rows, n, &outs[p], err)))
            goto done;
    }
    static const char *const mnames[] = {"random", "temporal", "loo"};
    info = json_pack(
        "{s:s, s:s, s:I, s:I, s:I, s:I}", "method", mnames[c->method], "by",
        c->per_user || c->method == M_LOO ? "user" : "global", "rows",
        (json_int_t)in.n, "train", (json_int_t)outs[0]->nrows, "valid",
        (json_int_t)outs[1]->nrows, "test", (json_int_t)outs[2]->nrows);
    if (!info)
        goto fail_nomem;
    if (c->method != M_LOO) {
        json_t *ra = json_array();
        if (!ra || json_object_set_new(info, "ratios", ra))
            goto fail_nomem;
        for (size_t p = 0; p < c->nparts; p++)
            if (json_array_append_new(ra, json_real(c->ratio[p])))
                goto fail_nomem;
    }
    host->log(host, ASSAY_LOG_INFO, "%s split: train %zu, valid %zu, test %zu",
              mnames[c->method], outs[0]->nrows, outs[1]->nrows,
              outs[2]->nrows);
    static const char *const ports[3] = {"train", "valid", "test"};
    for (size_t p = 0; p < 3; p++) {
        rc = host->out_table(io, ports[p], outs[p], err);
        outs[p] = NULL;
        if (rc)
            goto done;
    }
    rc = host->out_json(io, "info", info, err);
    info = NULL;
    goto done;

fail_nomem:
    rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
done:
    for (size_t p = 0; p < 3; p++)
        if (outs[p])
            host->table_free(outs[p]);
    json_decref(info);
    free(part);
    free(rows);
    return rc;
}

static void sp_destroy(void *state)
{
    free(state);
}

static const assay_port sp_inputs[] = {
    {.name = "interactions",
     .type = ASSAY_T_TABLE,
     .required = true,
     .doc = "interaction table (int64 user and item, optional timestamp)"},
    {0}};

static const assay_port sp_outputs[] = {
    {.name = "train", .type = ASSAY_T_TABLE, .doc = "training rows"},
    {.name = "valid",
     .type = ASSAY_T_TABLE,
     .doc = "validation rows (empty with two ratios or validation: false)"},
    {.name = "test", .type = ASSAY_T_TABLE, .doc = "test rows"},
    {.name = "info",
     .type = ASSAY_T_JSON,
     .doc = "method, grouping, ratios and the size of each part"},
    {0}};

static const assay_option sp_options[] = {
    {.name = "method",
     .type = ASSAY_OPT_ENUM,
     .def = "\"random\"",
     .choices = "random|temporal|loo",
     .doc = "random: shuffled then cut by ratio; temporal: cut by ratio in "
            "time order; loo: leave-one-out by time"},
    {.name = "ratios",
     .type = ASSAY_OPT_LIST,
     .def = "[0.8, 0.1, 0.1]",
     .doc = "train, valid, test shares (or train, test); normalised to sum "
            "1"},
    {.name = "by",
     .type = ASSAY_OPT_ENUM,
     .def = "\"user\"",
     .choices = "user|global",
     .doc = "cut each user's rows by the ratios (user) or all rows at once "
            "(global)"},
    {.name = "validation",
     .type = ASSAY_OPT_BOOL,
     .def = "true",
     .doc = "loo only: hold out the second-to-last item as validation"},
    {0}};

static const assay_plugin sp_plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "protocol.split",
    .kind = "transform",
    .version = "1.0.0",
    .summary = "Random, temporal and leave-one-out train/valid/test splits",
    .doc = "Splits an interaction table into train, valid and test tables "
           "with every column kept; each row lands in exactly one part.\n"
           "random (RecBole order RO + split RS): with by: user, each user's "
           "rows are shuffled (seeded) and cut by the ratios; with by: global "
           "all rows are. temporal (RecBole TO + RS): the same cuts in "
           "timestamp order (ties: table order), so every test row of a user "
           "(or of the data, globally) is no earlier than its training rows. "
           "Part sizes follow RecBole: the later parts get floor(ratio * n) "
           "rows and train the rest, then a part whose share is between 0 "
           "and 1 row takes one from train while train keeps more than one. "
           "loo (RecBole TO + LS valid_and_test): per user in time order, the "
           "last row is test and the second-to-last validation; a user with "
           "two rows gives one to train and one to test, a user with one row "
           "is train only.\n"
           "RecBole's ml-100k/ml-1m general protocol is `method: random, "
           "ratios: [0.8, 0.1, 0.1], by: user`; its sequential protocol is "
           "`method: loo`. The seed comes from the run seed and node name.",
    .inputs = sp_inputs,
    .outputs = sp_outputs,
    .options = sp_options,
    .flags = ASSAY_F_DETERMINISTIC | ASSAY_F_CHEAP,
    .create = sp_create,
    .run = sp_run,
    .destroy = sp_destroy,
};

static const assay_plugin *const sp_list[] = {&sp_plugin, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi)
{
    (void)host_abi;
    return sp_list;
}
