/*
 * protocol.negatives - sampled-candidate ranking lists: each test
 * interaction becomes a query of 1 positive + N sampled negatives, drawn
 * uniformly or by training popularity among the items the user never
 * interacted with (in train, test or any `exclude` table).
 */
#include <assay/plugin.h>

#include <stdlib.h>
#include <string.h>

#include "rc.h"

typedef struct ng_cfg {
    const assay_host *host;
    int64_t n;
    bool popularity, shuffle;
} ng_cfg;

/* Vose alias table over w[0..n) (some weights may be 0, not all). */
static int alias_build(const double *w, size_t n, double *prob, uint32_t *alias)
{
    double sum = 0.0;
    size_t ns = 0, nl = 0;
    double *sc = malloc(n * sizeof *sc);
    uint32_t *small = malloc(n * sizeof *small);
    uint32_t *large = malloc(n * sizeof *large);
    if (!sc || !small || !large) {
        free(sc);
        free(small);
        free(large);
        return ASSAY_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        sum += w[i];
    for (size_t i = 0; i < n; i++) {
        sc[i] = w[i] * (double)n / sum;
        if (sc[i] < 1.0)
            small[ns++] = (uint32_t)i;
        else
            large[nl++] = (uint32_t)i;
    }
    while (ns && nl) {
        uint32_t s = small[--ns], l = large[--nl];
        prob[s] = sc[s];
        alias[s] = l;
        sc[l] += sc[s] - 1.0;
        if (sc[l] < 1.0)
            small[ns++] = l;
        else
            large[nl++] = l;
    }
    while (nl) {
        uint32_t l = large[--nl];
        prob[l] = 1.0;
        alias[l] = l;
    }
    while (ns) {
        uint32_t s = small[--ns];
        prob[s] = 1.0;
        alias[s] = s;
    }
    free(sc);
    free(small);
    free(large);
    return ASSAY_OK;
}

typedef struct keyed {
    double key;
    uint32_t item;
} keyed;

static int cmp_key_desc(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    if (x->key != y->key)
        return x->key > y->key ? -1 : 1;
    return (x->item > y->item) - (x->item < y->item);
}

/*
 * Exact weighted sampling without replacement (Efraimidis-Spirakis keys
 * u^(1/w)) of up to `need` items among those not in `seen` (sorted) and
 * not marked; used when rejection sampling meets too many refusals.
 */
static int sample_exact(assay_rng *rng, const double *w, size_t nitems,
                        const uint32_t *seen, size_t nseen,
                        const unsigned char *mark, size_t need, uint32_t *out,
                        size_t *got)
{
    keyed *k = malloc((nitems ? nitems : 1) * sizeof *k);
    if (!k)
        return ASSAY_ENOMEM;
    size_t m = 0;
    for (size_t i = 0; i < nitems; i++) {
        if (mark[i] || !(w[i] > 0) || rc_sorted_has(seen, nseen, (uint32_t)i))
            continue;
        double u = assay_rng_uniform(rng);
        k[m].key = log(u > 0 ? u : 1e-300) / w[i];
        k[m].item = (uint32_t)i;
        m++;
    }
    qsort(k, m, sizeof *k, cmp_key_desc);
    size_t take = m < need ? m : need;
    for (size_t i = 0; i < take; i++)
        out[i] = k[i].item;
    *got = take;
    free(k);
    return ASSAY_OK;
}

static int ng_run(void *state, assay_io *io, assay_error *err)
{
    ng_cfg *c = state;
    const assay_host *host = c->host;
    rc_inter te, tr, ex;
    bool has_ex = false;
    rc_ids users = {0}, items = {0};
    rc_csr hist = {0}, seen = {0};
    double *w = NULL, *ap = NULL;
    uint32_t *aa = NULL, *neg = NULL;
    unsigned char *mark = NULL;
    assay_table *out = NULL;
    json_t *info = NULL;
    int rc;

    const assay_table *tt = host->in_table(io, "test");
    const assay_table *trt = host->in_table(io, "train");
    const assay_table *ext = host->in_table(io, "exclude");
    const assay_table *cat = host->in_table(io, "items");
    if ((rc = rc_inter_view(tt, "test", false, &te, err)) ||
        (rc = rc_inter_view(trt, "train", false, &tr, err)))
        return rc;
    if (ext) {
        if ((rc = rc_inter_view(ext, "exclude", false, &ex, err)))
            return rc;
        has_ex = true;
    }
    const int64_t *cat_items = NULL;
    if (cat) {
        const assay_column *ci = assay_table_col(cat, "item");
        if (!ci || ci->type != ASSAY_COL_INT64)
            return assay_error_set(err, ASSAY_EDATA,
                                   "input 'items': needs an int64 column "
                                   "'item'");
        cat_items = ci->data;
    }
    /* indexes: users of any table; items of the catalogue (or of every
     * table) */
    {
        const int64_t *uc[3] = {te.user, tr.user, has_ex ? ex.user : NULL};
        const int64_t *ic[4] = {te.item, tr.item, has_ex ? ex.item : NULL,
                                cat_items};
        size_t ul[3] = {te.n, tr.n, has_ex ? ex.n : 0};
        size_t il[4] = {te.n, tr.n, has_ex ? ex.n : 0, cat ? cat->nrows : 0};
        if ((rc = rc_ids_build(&users, uc, ul, 3, err)))
            goto done;
        if (cat)
            rc = rc_ids_build(&items, &ic[3], &il[3], 1, err);
        else
            rc = rc_ids_build(&items, ic, il, 3, err);
        if (rc)
            goto done;
    }
    if (cat) {
        /* every interaction item must be in the catalogue */
        const rc_inter *parts[3] = {&te, &tr, has_ex ? &ex : NULL};
        static const char *const pn[3] = {"test", "train", "exclude"};
        for (int p = 0; p < 3; p++)
            for (size_t r = 0; parts[p] && r < parts[p]->n; r++)
                if (rc_ids_find(&items, parts[p]->item[r]) < 0) {
                    rc =
                        assay_error_set(err, ASSAY_EDATA,
                                        "input '%s': row %zu: item %lld is "
                                        "not in the `items` catalogue",
                                        pn[p], r, (long long)parts[p]->item[r]);
                    goto done;
                }
    }
    rc_inter parts[3] = {tr, te};
    size_t np = 2;
    if (has_ex)
        parts[np++] = ex;
    if ((rc = rc_csr_build(parts, np, &users, &items, &hist, err)) ||
        (rc = rc_csr_unique(&hist, &seen, err)))
        goto done;

    size_t ni = items.n, N = (size_t)c->n;
    w = malloc((ni ? ni : 1) * sizeof *w);
    ap = malloc((ni ? ni : 1) * sizeof *ap);
    aa = malloc((ni ? ni : 1) * sizeof *aa);
    mark = calloc(ni ? ni : 1, 1);
    neg = malloc((N + 1) * sizeof *neg);
    if (!w || !ap || !aa || !mark || !neg)
        goto fail_nomem;
    for (size_t i = 0; i < ni; i++)
        w[i] = c->popularity ? 0.0 : 1.0;
    if (c->popularity)
        for (size_t r = 0; r < tr.n; r++)
            w[rc_ids_find(&items, tr.item[r])] += 1.0;
    double wsum = 0.0;
    for (size_t i = 0; i < ni; i++)
        wsum += w[i];
    if (!(wsum > 0)) {
        rc = assay_error_set(err, ASSAY_EDATA,
                             "no item can be sampled (empty train for "
                             "popularity sampling)");
        goto done;
    }
    if (alias_build(w, ni, ap, aa))
        goto fail_nomem;

    size_t rows = te.n * (N + 1);
    out = host->table_new(rows);
    if (!out || !host->table_add_col(out, "query", ASSAY_COL_INT64) ||
        !host->table_add_col(out, "user", ASSAY_COL_INT64) ||
        !host->table_add_col(out, "item", ASSAY_COL_INT64) ||
        !host->table_add_col(out, "label", ASSAY_COL_INT64))
        goto fail_nomem;
    int64_t *cq = out->cols[0].data, *cu = out->cols[1].data;
    int64_t *cit = out->cols[2].data, *cl = out->cols[3].data;

    assay_rng rng;
    assay_rng_init(&rng, host->seed(host, "negatives"));
    size_t at = 0, short_q = 0, min_got = N;
    for (size_t q = 0; q < te.n; q++) {
        if ((q & 1023) == 0) {
            if (host->cancelled(host)) {
                rc = assay_error_set(err, ASSAY_ECANCELED, "cancelled");
                goto done;
            }
            host->progress(host, q, te.n, "queries");
        }
        uint32_t u = (uint32_t)rc_ids_find(&users, te.user[q]);
        const uint32_t *sv = rc_csr_row(&seen, u);
        size_t ns = rc_csr_len(&seen, u), got = 0;
        size_t tries = 0, limit = 20 * N + 1000;
        while (got < N && tries < limit) {
            tries++;
            uint32_t i = (uint32_t)assay_rng_below(&rng, ni);
            if (assay_rng_uniform(&rng) >= ap[i])
                i = aa[i];
            if (mark[i] || rc_sorted_has(sv, ns, i))
                continue;
            mark[i] = 1;
            neg[got++] = i;
        }
        if (got < N) {
            size_t more = 0;
            if (sample_exact(&rng, w, ni, sv, ns, mark, N - got, neg + got,
                             &more))
                goto fail_nomem;
            got += more;
        }
        for (size_t k = 0; k < got; k++)
            mark[neg[k]] = 0;
        if (got < N)
            short_q++;
        if (got < min_got)
            min_got = got;
        /* positive first, then the negatives; optionally shuffled */
        size_t base = at;
        cl[at] = 1;
        cit[at++] = te.item[q];
        for (size_t k = 0; k < got; k++) {
            cl[at] = 0;
            cit[at++] = items.raw[neg[k]];
        }
        for (size_t r = base; r < at; r++) {
            cq[r] = (int64_t)q;
            cu[r] = te.user[q];
        }
        if (c->shuffle) {
            for (size_t r = at - 1; r > base; r--) {
                size_t j = base + (size_t)assay_rng_below(&rng, r - base + 1);
                int64_t ti = cit[r], tl = cl[r];
                cit[r] = cit[j];
                cl[r] = cl[j];
                cit[j] = ti;
                cl[j] = tl;
            }
        }
    }
    if (at < rows && host->table_resize(out, at))
        goto fail_nomem;
    if (short_q)
        host->log(host, ASSAY_LOG_WARN,
                  "%zu of %zu queries got fewer than %zu negatives (fewest: "
                  "%zu): their users have seen almost every item",
                  short_q, te.n, N, min_got);
    info = json_pack(
        "{s:I, s:s, s:b, s:I, s:I, s:I, s:I}", "negatives", (json_int_t)N,
        "sampler", c->popularity ? "popularity" : "uniform", "shuffle",
        c->shuffle, "queries", (json_int_t)te.n, "candidates", (json_int_t)at,
        "items", (json_int_t)ni, "short_queries", (json_int_t)short_q);
    if (!info)
        goto fail_nomem;
    rc = host->out_table(io, "candidates", out, err);
    out = NULL;
    if (rc)
        goto done;
    rc = host->out_json(io, "info", info, err);
    info = NULL;
    goto done;

fail_nomem:
    rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
done:
    if (out)
        host->table_free(out);
    json_decref(info);
    rc_ids_free(&users);
    rc_ids_free(&items);
    rc_csr_free(&hist);
    rc_csr_free(&seen);
    free(w);
    free(ap);
    free(aa);
    free(mark);
    free(neg);
    return rc;
}

static int ng_create(const assay_host *host, const json_t *o, void **state,
                     assay_error *err)
{
    ng_cfg *c = calloc(1, sizeof *c);
    if (!c)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    c->host = host;
    c->n = assay_opt_int(o, "n");
    c->popularity = strcmp(assay_opt_str(o, "sampler"), "popularity") == 0;
    c->shuffle = assay_opt_bool(o, "shuffle");
    *state = c;
    return ASSAY_OK;
}

static void ng_destroy(void *state)
{
    free(state);
}

static const assay_port ng_inputs[] = {
    {.name = "test",
     .type = ASSAY_T_TABLE,
     .required = true,
     .doc = "positives: one query per row (user, item)"},
    {.name = "train",
     .type = ASSAY_T_TABLE,
     .required = true,
     .doc = "training interactions: never sampled for their user; the "
            "popularity counts"},
    {.name = "exclude",
     .type = ASSAY_T_TABLE,
     .multi = true,
     .doc = "more interactions never sampled for their user (e.g. valid)"},
    {.name = "items",
     .type = ASSAY_T_TABLE,
     .doc = "the catalogue to sample from (column item); default: every "
            "item of the inputs"},
    {0}};

static const assay_port ng_outputs[] = {
    {.name = "candidates",
     .type = ASSAY_T_TABLE,
     .doc = "query, user, item, label (1 positive, 0 negative), N + 1 rows "
            "per query"},
    {.name = "info",
     .type = ASSAY_T_JSON,
     .doc = "sampler, N, number of queries and candidates, short queries"},
    {0}};

static const assay_option ng_options[] = {
    {.name = "n",
     .type = ASSAY_OPT_INT,
     .def = "100",
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 1000000,
     .doc = "negatives per positive"},
    {.name = "sampler",
     .type = ASSAY_OPT_ENUM,
     .def = "\"uniform\"",
     .choices = "uniform|popularity",
     .doc = "uniform over the catalogue, or proportional to training "
            "interactions"},
    {.name = "shuffle",
     .type = ASSAY_OPT_BOOL,
     .def = "true",
     .doc = "shuffle each query's candidates (false: positive first)"},
    {0}};

static const assay_plugin ng_plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "protocol.negatives",
    .kind = "transform",
    .version = "1.0.0",
    .summary = "Sampled-candidate lists: 1 positive + N negatives per test "
               "interaction",
    .doc = "Builds the candidate lists of the sampled-ranking protocol (e.g. "
           "SASRec's 1 + 100 on MovieLens, the performance-law setup's 1 + "
           "2499): for every row of `test` a query holding that positive and "
           "`n` distinct negatives. A negative is never an item the user has "
           "in `train`, `test` or `exclude` (so no positive of the user, "
           "whatever the split, can be a negative). `uniform` samples the "
           "catalogue evenly; `popularity` in proportion to each item's "
           "training interactions (items never seen in train are then never "
           "drawn). Sampling is seeded (run seed + node name) and goes query "
           "by query in test order, so the output is reproducible. When a "
           "user has seen nearly the whole catalogue the query gets fewer "
           "negatives (logged, counted in info.short_queries).\n"
           "Output rows: query (the test row number), user, item, label; the "
           "rec.* nodes score them through their `candidates` input and "
           "report sampled hit/ndcg/mrr.",
    .inputs = ng_inputs,
    .outputs = ng_outputs,
    .options = ng_options,
    .flags = ASSAY_F_DETERMINISTIC | ASSAY_F_CHEAP,
    .create = ng_create,
    .run = ng_run,
    .destroy = ng_destroy,
};

static const assay_plugin *const ng_list[] = {&ng_plugin, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi)
{
    (void)host_abi;
    return ng_list;
}
