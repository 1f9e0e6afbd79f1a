/*
 * protocol.kcore - iterative k-core filtering: drop users with fewer than
 * user_min interactions and items with fewer than item_min, repeatedly,
 * until every remaining user and item qualifies (RecBole's
 * user_inter_num_interval / item_inter_num_interval "[k,inf)").
 */
#include <assay/plugin.h>

#include <stdlib.h>
#include <string.h>

#include "rc.h"

typedef struct kc_cfg {
    const assay_host *host;
    int64_t user_min, item_min, max_rounds;
} kc_cfg;

/* Row numbers kept by the k-core of `in` (in table order), with the
 * number of rounds until nothing changed. */
static int kcore_rows(const rc_inter *in, int64_t umin, int64_t imin,
                      int64_t max_rounds, uint32_t **rows_out, size_t *n_out,
                      size_t *rounds_out, size_t *nu_out, size_t *ni_out,
                      assay_error *err)
{
    rc_ids users = {0}, items = {0};
    uint32_t *du = NULL, *di = NULL, *ucnt = NULL, *icnt = NULL;
    unsigned char *alive = NULL;
    int rc;
    size_t n = in->n;
    if ((rc = rc_ids_build(&users, &in->user, &n, 1, err)) ||
        (rc = rc_ids_build(&items, &in->item, &n, 1, err)))
        goto done;
    du = malloc((n ? n : 1) * sizeof *du);
    di = malloc((n ? n : 1) * sizeof *di);
    ucnt = malloc((users.n ? users.n : 1) * sizeof *ucnt);
    icnt = malloc((items.n ? items.n : 1) * sizeof *icnt);
    alive = malloc(n ? n : 1);
    if (!du || !di || !ucnt || !icnt || !alive) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t r = 0; r < n; r++) {
        du[r] = (uint32_t)rc_ids_find(&users, in->user[r]);
        di[r] = (uint32_t)rc_ids_find(&items, in->item[r]);
        alive[r] = 1;
    }
    size_t rounds = 0, left = n;
    for (;;) {
        memset(ucnt, 0, users.n * sizeof *ucnt);
        memset(icnt, 0, items.n * sizeof *icnt);
        for (size_t r = 0; r < n; r++)
            if (alive[r]) {
                ucnt[du[r]]++;
                icnt[di[r]]++;
            }
        if (max_rounds > 0 && (int64_t)rounds >= max_rounds)
            break;
        size_t dropped = 0;
        for (size_t r = 0; r < n; r++)
            if (alive[r] &&
                ((int64_t)ucnt[du[r]] < umin || (int64_t)icnt[di[r]] < imin)) {
                alive[r] = 0;
                dropped++;
            }
        if (dropped == 0)
            break;
        rounds++;
        left -= dropped;
    }
    uint32_t *rows = malloc((left ? left : 1) * sizeof *rows);
    if (!rows) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    size_t k = 0, nu = 0, ni = 0;
    for (size_t r = 0; r < n; r++)
        if (alive[r])
            rows[k++] = (uint32_t)r;
    for (size_t u = 0; u < users.n; u++)
        nu += ucnt[u] > 0;
    for (size_t i = 0; i < items.n; i++)
        ni += icnt[i] > 0;
    *rows_out = rows;
    *n_out = k;
    *rounds_out = rounds;
    *nu_out = nu;
    *ni_out = ni;
done:
    rc_ids_free(&users);
    rc_ids_free(&items);
    free(du);
    free(di);
    free(ucnt);
    free(icnt);
    free(alive);
    return rc;
}

static int kc_create(const assay_host *host, const json_t *o, void **state,
                     assay_error *err)
{
    kc_cfg *c = calloc(1, sizeof *c);
    if (!c)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    c->host = host;
    c->user_min = assay_opt_int(o, "user_min");
    c->item_min = assay_opt_int(o, "item_min");
    c->max_rounds = assay_opt_int(o, "max_rounds");
    *state = c;
    return ASSAY_OK;
}

static int kc_run(void *state, assay_io *io, assay_error *err)
{
    kc_cfg *c = state;
    const assay_host *host = c->host;
    const assay_table *t = host->in_table(io, "interactions");
    rc_inter in;
    uint32_t *rows = NULL;
    size_t n = 0, rounds = 0, nu = 0, ni = 0;
    assay_table *out = NULL;
    json_t *info = NULL;
    int rc = rc_inter_view(t, "interactions", false, &in, err);
    if (rc)
        return rc;
    if ((rc = kcore_rows(&in, c->user_min, c->item_min, c->max_rounds, &rows,
                         &n, &rounds, &nu, &ni, err)) ||
        (rc = rc_table_take(host, t, rows, n, &out, err)))
        goto done;
    info = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "user_min",
                     (json_int_t)c->user_min, "item_min",
                     (json_int_t)c->item_min, "rounds", (json_int_t)rounds,
                     "rows_in", (json_int_t)in.n, "rows_out", (json_int_t)n,
                     "users", (json_int_t)nu, "items", (json_int_t)ni);
    if (!info) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    host->log(host, ASSAY_LOG_INFO,
              "%lld-core users / %lld-core items: %zu of %zu rows, %zu users, "
              "%zu items after %zu rounds",
              (long long)c->user_min, (long long)c->item_min, n, in.n, nu, ni,
              rounds);
    rc = host->out_table(io, "interactions", out, err);
    out = NULL;
    if (rc)
        goto done;
    rc = host->out_json(io, "info", info, err);
    info = NULL;
done:
    if (out)
        host->table_free(out);
    json_decref(info);
    free(rows);
    return rc;
}

static void kc_destroy(void *state)
{
    free(state);
}

static const assay_port kc_inputs[] = {
    {.name = "interactions",
     .type = ASSAY_T_TABLE,
     .required = true,
     .doc = "interaction table (int64 user and item)"},
    {0}};

static const assay_port kc_outputs[] = {
    {.name = "interactions",
     .type = ASSAY_T_TABLE,
     .doc = "the rows of the k-core (all columns, original order)"},
    {.name = "info",
     .type = ASSAY_T_JSON,
     .doc = "thresholds, rounds, rows, users and items left"},
    {0}};

static const assay_option kc_options[] = {
    {.name = "user_min",
     .type = ASSAY_OPT_INT,
     .def = "5",
     .has_min = true,
     .min = 0,
     .doc = "fewest interactions a user must keep"},
    {.name = "item_min",
     .type = ASSAY_OPT_INT,
     .def = "5",
     .has_min = true,
     .min = 0,
     .doc = "fewest interactions an item must keep"},
    {.name = "max_rounds",
     .type = ASSAY_OPT_INT,
     .def = "0",
     .has_min = true,
     .min = 0,
     .doc = "stop after this many filtering rounds (0: until stable, "
            "a true k-core)"},
    {0}};

static const assay_plugin kc_plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "protocol.kcore",
    .kind = "transform",
    .version = "1.0.0",
    .summary = "k-core filtering of users and items",
    .doc = "Removes users with fewer than `user_min` interactions and items "
           "with fewer than `item_min`, and repeats (removing an item can "
           "push a user under the threshold) until no row is removed, so "
           "that every remaining user and item meets its threshold - the "
           "filter RecBole applies with user_inter_num_interval and "
           "item_inter_num_interval \"[k,inf)\" (10 and 10 on its ml-1m "
           "leaderboard). Duplicate interactions count as many times as "
           "they occur. All columns are kept, in the original row order.",
    .inputs = kc_inputs,
    .outputs = kc_outputs,
    .options = kc_options,
    .flags = ASSAY_F_DETERMINISTIC | ASSAY_F_CHEAP,
    .create = kc_create,
    .run = kc_run,
    .destroy = kc_destroy,
};

static const assay_plugin *const kc_list[] = {&kc_plugin, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi)
{
    (void)host_abi;
    return kc_list;
}
