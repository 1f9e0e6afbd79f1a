/*
 * rec.pop - most-popular recommender: every item scores its number of
 * training interactions (RecBole's Pop).
 */
#include <assay/plugin.h>

#include <stdlib.h>
#include <string.h>

#include "rc.h"

typedef struct pop_cfg {
    json_t *opts;
    const assay_host *host;
} pop_cfg;

typedef struct pop_model {
    float *count; /* n_items */
    size_t n_items;
} pop_model;

static int pop_fit(const rc_model *m, rc_ctx *ctx, json_t *report,
                   assay_error *err)
{
    pop_model *p = m->self;
    (void)err;
    for (size_t u = 0; u < ctx->n_users; u++) {
        const uint32_t *r = rc_csr_row(&ctx->train, u);
        for (size_t i = 0; i < rc_csr_len(&ctx->train, u); i++)
            p->count[r[i]] += 1.0f;
    }
    json_object_set_new(report, "epochs", json_integer(1));
    return ASSAY_OK;
}

static int pop_score(void *self, rc_ctx *ctx, const rc_hist *h,
                     const uint32_t *users, size_t n, float *out,
                     assay_error *err)
{
    pop_model *p = self;
    (void)h;
    (void)users;
    (void)err;
    for (size_t i = 0; i < n; i++)
        memcpy(out + i * ctx->n_items, p->count, ctx->n_items * sizeof *out);
    return ASSAY_OK;
}

static uint64_t pop_nparams(void *self)
{
    return ((pop_model *)self)->n_items;
}

static int pop_make(void *cfg, rc_ctx *ctx, rc_model *m, assay_error *err)
{
    (void)cfg;
    pop_model *p = calloc(1, sizeof *p);
    if (p)
        p->count = calloc(ctx->n_items ? ctx->n_items : 1, sizeof *p->count);
    if (!p || !p->count) {
        free(p);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    p->n_items = ctx->n_items;
    m->self = p;
    m->fit = pop_fit;
    m->score = pop_score;
    m->nparams = pop_nparams;
    m->name = "pop";
    return ASSAY_OK;
}

static void pop_unmake(rc_model *m)
{
    pop_model *p = m->self;
    if (p)
        free(p->count);
    free(p);
}

static int pop_create(const assay_host *host, const json_t *options,
                      void **state, assay_error *err)
{
    pop_cfg *c = calloc(1, sizeof *c);
    if (!c || !(c->opts = rc_opts_copy(options))) {
        free(c);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    c->host = host;
    *state = c;
    return ASSAY_OK;
}

static int pop_run(void *state, assay_io *io, assay_error *err)
{
    pop_cfg *c = state;
    return rc_run(c->host, io, c->opts, "pop", pop_make, pop_unmake, c, err);
}

static void pop_destroy(void *state)
{
    pop_cfg *c = state;
    if (!c)
        return;
    json_decref(c->opts);
    free(c);
}

static const assay_option pop_options[] = {RC_REC_OPTIONS, {0}};

static const assay_plugin pop_plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "rec.pop",
    .kind = "recommender",
    .version = "1.0.0",
    .summary = "Most-popular recommender (RecBole Pop): items ranked by "
               "training frequency",
    .doc = "Scores every item by its number of interactions in `train` and "
           "recommends the most frequent items the user has not seen. The "
           "baseline of RecBole's leaderboards (model Pop).\n" RC_REC_DOC_IO,
    .inputs = rc_rec_inputs,
    .outputs = rc_rec_outputs,
    .options = pop_options,
    .flags = ASSAY_F_ALL_ITEMS | ASSAY_F_DETERMINISTIC,
    .create = pop_create,
    .run = pop_run,
    .destroy = pop_destroy,
};

static const assay_plugin *const pop_list[] = {&pop_plugin, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi)
{
    (void)host_abi;
    return pop_list;
}
