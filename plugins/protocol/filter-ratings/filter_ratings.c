/*
 * protocol.filter-ratings - keep the interactions whose rating lies in an
 * interval (RecBole's `val_interval: {rating: "[3,inf)"}`).
 */
#include <assay/plugin.h>

#include <stdlib.h>
#include <string.h>

#include "rc.h"

typedef struct fr_cfg {
    const assay_host *host;
    double lo, hi;
    bool has_lo, has_hi, lo_open, hi_open;
} fr_cfg;

static int fr_create(const assay_host *host, const json_t *o, void **state,
                     assay_error *err)
{
    fr_cfg *c = calloc(1, sizeof *c);
    if (!c)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    c->host = host;
    const json_t *lo = json_object_get(o, "min");
    const json_t *hi = json_object_get(o, "max");
    c->has_lo = json_is_number(lo);
    c->has_hi = json_is_number(hi);
    c->lo = c->has_lo ? json_number_value(lo) : -INFINITY;
    c->hi = c->has_hi ? json_number_value(hi) : INFINITY;
    c->lo_open = assay_opt_bool(o, "min_exclusive");
    c->hi_open = assay_opt_bool(o, "max_exclusive");
    if (!c->has_lo && !c->has_hi) {
        free(c);
        return assay_error_set(err, ASSAY_EINVAL, "give `min`, `max` or both");
    }
    if (c->lo > c->hi) {
        free(c);
        return assay_error_set(err, ASSAY_EINVAL, "min %g exceeds max %g",
                               json_number_value(lo), json_number_value(hi));
    }
    *state = c;
    return ASSAY_OK;
}

static int fr_run(void *state, assay_io *io, assay_error *err)
{
    fr_cfg *c = state;
    const assay_host *host = c->host;
    const assay_table *t = host->in_table(io, "interactions");
    rc_inter in;
    int rc = rc_inter_view(t, "interactions", true, &in, err);
    if (rc)
        return rc;
    uint32_t *rows = malloc((in.n ? in.n : 1) * sizeof *rows);
    if (!rows)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    size_t n = 0;
    for (size_t r = 0; r < in.n; r++) {
        double v = assay_col_num(in.rating, r);
        bool ok = (c->lo_open ? v > c->lo : v >= c->lo) &&
                  (c->hi_open ? v < c->hi : v <= c->hi);
        if (ok)
            rows[n++] = (uint32_t)r;
    }
    assay_table *out = NULL;
    json_t *info = NULL;
    if ((rc = rc_table_take(host, t, rows, n, &out, err)))
        goto done;
    char interval[96];
    snprintf(interval, sizeof interval, "%c%g, %g%c",
             c->lo_open || !c->has_lo ? '(' : '[', c->lo, c->hi,
             c->hi_open || !c->has_hi ? ')' : ']');
    info = json_pack("{s:s, s:I, s:I}", "interval", interval, "rows_in",
                     (json_int_t)in.n, "rows_out", (json_int_t)n);
    if (!info) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    host->log(host, ASSAY_LOG_INFO, "rating in %s: kept %zu of %zu rows",
              interval, n, in.n);
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

static void fr_destroy(void *state)
{
    free(state);
}

static const assay_port fr_inputs[] = {
    {.name = "interactions",
     .type = ASSAY_T_TABLE,
     .required = true,
     .doc = "interaction table with a numeric `rating` column"},
    {0}};

static const assay_port fr_outputs[] = {
    {.name = "interactions",
     .type = ASSAY_T_TABLE,
     .doc = "the rows whose rating is inside the interval (all columns, "
            "original order)"},
    {.name = "info",
     .type = ASSAY_T_JSON,
     .doc = "the interval and the row counts before and after"},
    {0}};

static const assay_option fr_options[] = {
    {.name = "min",
     .type = ASSAY_OPT_FLOAT,
     .doc = "lowest rating kept (absent: no lower bound)"},
    {.name = "max",
     .type = ASSAY_OPT_FLOAT,
     .doc = "highest rating kept (absent: no upper bound)"},
    {.name = "min_exclusive",
     .type = ASSAY_OPT_BOOL,
     .def = "false",
     .doc = "exclude the value `min` itself"},
    {.name = "max_exclusive",
     .type = ASSAY_OPT_BOOL,
     .def = "false",
     .doc = "exclude the value `max` itself"},
    {0}};

static const assay_plugin fr_plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "protocol.filter-ratings",
    .kind = "transform",
    .version = "1.0.0",
    .summary = "Keep interactions whose rating lies in an interval",
    .doc = "Rating threshold of an evaluation protocol: keeps the rows of "
           "`interactions` whose `rating` is within [min, max] (bounds "
           "optional, each may be made exclusive) and drops the others; "
           "every column is carried over and the row order is kept. "
           "RecBole's ml-1m leaderboard protocol keeps ratings >= 3: "
           "`with: {min: 3}`. The interval and counts go to `info` (and so "
           "into the run directory).",
    .inputs = fr_inputs,
    .outputs = fr_outputs,
    .options = fr_options,
    .flags = ASSAY_F_DETERMINISTIC | ASSAY_F_CHEAP,
    .create = fr_create,
    .run = fr_run,
    .destroy = fr_destroy,
};

static const assay_plugin *const fr_list[] = {&fr_plugin, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi)
{
    (void)host_abi;
    return fr_list;
}
