/*
 * source.synthetic-interactions - seeded interaction logs of any size from
 * a latent-factor model with Zipfian item popularity and a drifting
 * (sequential) user interest.
 *
 * The model, per user u (see the descriptor's doc for the user-facing
 * version):
 *   item i: popularity weight w_i = (rank_i + 1)^-zipf with rank a seeded
 *           permutation; a unit vector v_i near one of `clusters` random
 *           centres (v = normalise(centre + spread * noise))
 *   user u: a unit taste vector z_0 drawn like an item vector; history
 *           length L_u = min_length + Exp(mean_length - min_length)
 *   step t: draw `pool` candidates from the popularity distribution (alias
 *           method), pick one with probability proportional to
 *           exp(affinity * z_t . v_c) (so p(i) ~ w_i exp(affinity z.v_i)),
 *           skipping items the user already has (unless repeats);
 *           then z_{t+1} = normalise((1 - drift) z_t + drift v_i).
 * Every user has its own generator seeded from the node seed and the user
 * number, so the data does not depend on the thread count.
 */
#include <assay/plugin.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct syn_cfg {
    const assay_host *host;
    int64_t n_users, n_items, dim, clusters, pool;
    double mean_len, min_len, zipf, drift, affinity, spread;
    bool repeats;
    int64_t start_time, mean_gap;
} syn_cfg;

/* Shared, read-only during generation. */
typedef struct syn_world {
    const syn_cfg *c;
    uint64_t seed;
    float *vec;      /* n_items x dim, unit rows */
    double *pop;     /* normalised popularity */
    double *alias_p; /* alias table */
    uint32_t *alias_a;
    size_t *offset; /* n_users + 1 */
    int64_t *user, *item, *time;
    double *rating;
    atomic_size_t next;
    atomic_int cancelled;
    atomic_size_t done;
    const assay_host *host;
} syn_world;

static int nomem(assay_error *err)
{
    return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
}

/* Vose's alias method over weights w[0..n). */
static int alias_build(const double *w, size_t n, double *prob, uint32_t *alias)
{
    double *scaled = malloc(n * sizeof *scaled);
    uint32_t *small = malloc(n * sizeof *small);
    uint32_t *large = malloc(n * sizeof *large);
    size_t ns = 0, nl = 0;
    double sum = 0.0;
    if (!scaled || !small || !large) {
        free(scaled);
        free(small);
        free(large);
        return ASSAY_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        sum += w[i];
    for (size_t i = 0; i < n; i++) {
        scaled[i] = w[i] * (double)n / sum;
        if (scaled[i] < 1.0)
            small[ns++] = (uint32_t)i;
        else
            large[nl++] = (uint32_t)i;
    }
    while (ns && nl) {
        uint32_t s = small[--ns], l = large[--nl];
        prob[s] = scaled[s];
        alias[s] = l;
        scaled[l] = scaled[l] + scaled[s] - 1.0;
        if (scaled[l] < 1.0)
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
    free(scaled);
    free(small);
    free(large);
    return ASSAY_OK;
}

static inline uint32_t alias_draw(const syn_world *w, assay_rng *r)
{
    uint32_t i = (uint32_t)assay_rng_below(r, (uint64_t)w->c->n_items);
    return assay_rng_uniform(r) < w->alias_p[i] ? i : w->alias_a[i];
}

static void normalise(float *v, size_t d)
{
    double s = 0.0;
    for (size_t k = 0; k < d; k++)
        s += (double)v[k] * v[k];
    s = sqrt(s);
    if (s < 1e-12)
        return;
    for (size_t k = 0; k < d; k++)
        v[k] = (float)(v[k] / s);
}

/* Generate user u's rows into [offset[u], offset[u+1]). */
static void gen_user(syn_world *w, size_t u, unsigned char *seen, float *z,
                     float *cand_score, uint32_t *cand)
{
    const syn_cfg *c = w->c;
    size_t d = (size_t)c->dim, M = (size_t)c->pool;
    assay_rng r;
    uint64_t x = w->seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(u + 1));
    assay_rng_init(&r, assay_splitmix64(&x));
    /* taste: like an item of a random cluster */
    uint32_t near = (uint32_t)assay_rng_below(&r, (uint64_t)c->n_items);
    for (size_t k = 0; k < d; k++)
        z[k] = w->vec[(size_t)near * d + k] +
               (float)(c->spread * assay_rng_normal(&r) / sqrt((double)d));
    normalise(z, d);
    size_t b = w->offset[u], e = w->offset[u + 1];
    double t = (double)c->start_time + assay_rng_uniform(&r) * 365.0 * 86400.0;
    for (size_t at = b; at < e; at++) {
        size_t nc = 0;
        for (size_t tries = 0; nc < M && tries < 4 * M; tries++) {
            uint32_t i = alias_draw(w, &r);
            if (!c->repeats && seen[i])
                continue;
            cand[nc++] = i;
        }
        if (nc == 0) {
            /* every drawn item was seen: take the first unseen one */
            for (uint32_t i = 0; i < (uint32_t)c->n_items; i++)
                if (!seen[i]) {
                    cand[nc++] = i;
                    break;
                }
        }
        double mx = -INFINITY;
        for (size_t j = 0; j < nc; j++) {
            const float *v = w->vec + (size_t)cand[j] * d;
            double a = 0.0;
            for (size_t k = 0; k < d; k++)
                a += (double)z[k] * v[k];
            cand_score[j] = (float)(c->affinity * a);
            if (cand_score[j] > mx)
                mx = cand_score[j];
        }
        double tot = 0.0;
        for (size_t j = 0; j < nc; j++) {
            cand_score[j] = (float)exp(cand_score[j] - mx);
            tot += cand_score[j];
        }
        double pick = assay_rng_uniform(&r) * tot;
        size_t j = 0;
        for (; j + 1 < nc; j++) {
            pick -= cand_score[j];
            if (pick < 0)
                break;
        }
        uint32_t item = cand[j];
        const float *v = w->vec + (size_t)item * d;
        double a = 0.0;
        for (size_t k = 0; k < d; k++)
            a += (double)z[k] * v[k];
        seen[item] = 1;
        w->user[at] = (int64_t)u;
        w->item[at] = (int64_t)item;
        /* 1..5 stars from the affinity plus noise */
        double s = 3.0 + 2.5 * a + 0.7 * assay_rng_normal(&r);
        s = floor(s + 0.5);
        w->rating[at] = s < 1 ? 1 : s > 5 ? 5 : s;
        t += 1.0 + (double)c->mean_gap * -log(1.0 - assay_rng_uniform(&r));
        w->time[at] = (int64_t)t;
        for (size_t k = 0; k < d; k++)
            z[k] = (float)((1.0 - c->drift) * z[k] + c->drift * v[k]);
        normalise(z, d);
    }
    for (size_t at = b; at < e; at++)
        seen[w->item[at]] = 0;
}

static void *gen_worker(void *arg)
{
    syn_world *w = arg;
    const syn_cfg *c = w->c;
    size_t n = (size_t)c->n_items, d = (size_t)c->dim, M = (size_t)c->pool;
    unsigned char *seen = calloc(n, 1);
    float *z = malloc(d * sizeof *z);
    float *cs = malloc((M + 1) * sizeof *cs);
    uint32_t *cand = malloc((M + 1) * sizeof *cand);
    if (!seen || !z || !cs || !cand) {
        atomic_store(&w->cancelled, ASSAY_ENOMEM);
        goto done;
    }
    for (;;) {
        size_t u0 = atomic_fetch_add(&w->next, 256);
        if (u0 >= (size_t)c->n_users || atomic_load(&w->cancelled))
            break;
        size_t u1 =
            u0 + 256 < (size_t)c->n_users ? u0 + 256 : (size_t)c->n_users;
        for (size_t u = u0; u < u1; u++)
            gen_user(w, u, seen, z, cs, cand);
        size_t done = atomic_fetch_add(&w->done, u1 - u0) + (u1 - u0);
        w->host->progress(w->host, done, (uint64_t)c->n_users, "users");
        if (w->host->cancelled(w->host))
            atomic_store(&w->cancelled, ASSAY_ECANCELED);
    }
done:
    free(seen);
    free(z);
    free(cs);
    free(cand);
    return NULL;
}

static int syn_run(void *state, assay_io *io, assay_error *err)
{
    syn_cfg *c = state;
    const assay_host *host = c->host;
    syn_world w = {0};
    assay_table *tab = NULL, *items = NULL;
    json_t *info = NULL;
    float *centres = NULL;
    uint32_t *perm = NULL;
    int rc = ASSAY_OK;
    size_t n = (size_t)c->n_items, d = (size_t)c->dim;
    size_t nu = (size_t)c->n_users;

    if (!c->repeats && c->min_len > (double)n)
        return assay_error_set(err, ASSAY_EINVAL,
                               "min_length (%g) exceeds n_items (%zu) "
                               "without repeats",
                               c->min_len, n);
    w.c = c;
    w.host = host;
    w.seed = host->seed(host, "interactions");
    assay_rng r;
    assay_rng_init(&r, host->seed(host, "items"));

    /* items: popularity and vectors */
    w.vec = malloc(n * d * sizeof *w.vec);
    w.pop = malloc(n * sizeof *w.pop);
    w.alias_p = malloc(n * sizeof *w.alias_p);
    w.alias_a = malloc(n * sizeof *w.alias_a);
    centres = malloc((size_t)c->clusters * d * sizeof *centres);
    perm = malloc(n * sizeof *perm);
    w.offset = malloc((nu + 1) * sizeof *w.offset);
    if (!w.vec || !w.pop || !w.alias_p || !w.alias_a || !centres || !perm ||
        !w.offset)
        goto fail_nomem;
    for (size_t i = 0; i < n; i++)
        perm[i] = (uint32_t)i;
    assay_rng_shuffle(&r, perm, n, sizeof *perm);
    double psum = 0.0;
    for (size_t i = 0; i < n; i++) {
        w.pop[perm[i]] = pow((double)i + 1.0, -c->zipf);
        psum += w.pop[perm[i]];
    }
    for (size_t i = 0; i < n; i++)
        w.pop[i] /= psum;
    if (alias_build(w.pop, n, w.alias_p, w.alias_a))
        goto fail_nomem;
    for (size_t k = 0; k < (size_t)c->clusters * d; k++)
        centres[k] = (float)assay_rng_normal(&r);
    for (size_t cl = 0; cl < (size_t)c->clusters; cl++)
        normalise(centres + cl * d, d);
    for (size_t i = 0; i < n; i++) {
        size_t cl = (size_t)assay_rng_below(&r, (uint64_t)c->clusters);
        for (size_t k = 0; k < d; k++)
            w.vec[i * d + k] =
                centres[cl * d + k] +
                (float)(c->spread * assay_rng_normal(&r) / sqrt((double)d));
        normalise(w.vec + i * d, d);
    }

    /* lengths */
    assay_rng lr;
    assay_rng_init(&lr, host->seed(host, "lengths"));
    w.offset[0] = 0;
    double extra = c->mean_len - c->min_len;
    for (size_t u = 0; u < nu; u++) {
        double len = c->min_len;
        if (extra > 0)
            len += floor(-extra * log(1.0 - assay_rng_uniform(&lr)));
        if (!c->repeats && len > (double)n)
            len = (double)n;
        if (len > 1e6)
            len = 1e6;
        w.offset[u + 1] = w.offset[u] + (size_t)len;
    }
    size_t rows = w.offset[nu];
    if (rows >= ((size_t)1 << 40)) {
        rc = assay_error_set(err, ASSAY_EINVAL, "%zu rows is too many", rows);
        goto done;
    }
    tab = host->table_new(rows);
    if (!tab)
        goto fail_nomem;
    if (!host->table_add_col(tab, "user", ASSAY_COL_INT64) ||
        !host->table_add_col(tab, "item", ASSAY_COL_INT64) ||
        !host->table_add_col(tab, "rating", ASSAY_COL_FLOAT64) ||
        !host->table_add_col(tab, "timestamp", ASSAY_COL_INT64))
        goto fail_nomem;
    w.user = tab->cols[0].data;
    w.item = tab->cols[1].data;
    w.rating = tab->cols[2].data;
    w.time = tab->cols[3].data;

    /* generate */
    unsigned nt = host->threads(host);
    if (nt < 1)
        nt = 1;
    if (nt > 64)
        nt = 64;
    pthread_t th[64];
    unsigned started = 0;
    atomic_init(&w.next, 0);
    atomic_init(&w.cancelled, 0);
    atomic_init(&w.done, 0);
    for (unsigned i = 1; i < nt; i++) {
        if (pthread_create(&th[started], NULL, gen_worker, &w) != 0)
            break;
        started++;
    }
    gen_worker(&w);
    for (unsigned i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    if ((rc = atomic_load(&w.cancelled))) {
        rc = rc == ASSAY_ENOMEM
                 ? nomem(err)
                 : assay_error_set(err, ASSAY_ECANCELED, "cancelled");
        goto done;
    }
    host->progress(host, nu, nu, "users");

    /* items table: id, popularity share, cluster-free summary */
    items = host->table_new(n);
    if (!items)
        goto fail_nomem;
    int64_t *iid = host->table_add_col(items, "item", ASSAY_COL_INT64);
    if (!iid || !host->table_add_col(items, "popularity", ASSAY_COL_FLOAT64) ||
        !host->table_add_col(items, "n_interactions", ASSAY_COL_INT64))
        goto fail_nomem;
    iid = items->cols[0].data;
    double *ipop = items->cols[1].data;
    int64_t *icnt = items->cols[2].data;
    for (size_t i = 0; i < n; i++) {
        iid[i] = (int64_t)i;
        ipop[i] = w.pop[i];
    }
    for (size_t k = 0; k < rows; k++)
        icnt[w.item[k]]++;

    info =
        json_pack("{s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:I, s:I}", "users",
                  (json_int_t)nu, "items", (json_int_t)n, "interactions",
                  (json_int_t)rows, "dim", (json_int_t)c->dim, "zipf", c->zipf,
                  "drift", c->drift, "affinity", c->affinity, "mean_length",
                  rows / (double)(nu ? nu : 1), "clusters",
                  (json_int_t)c->clusters, "pool", (json_int_t)c->pool);
    if (!info)
        goto fail_nomem;
    rc = host->out_table(io, "interactions", tab, err);
    tab = NULL;
    if (rc)
        goto done;
    rc = host->out_table(io, "items", items, err);
    items = NULL;
    if (rc)
        goto done;
    rc = host->out_json(io, "info", info, err);
    info = NULL;
    goto done;

fail_nomem:
    rc = nomem(err);
done:
    if (tab)
        host->table_free(tab);
    if (items)
        host->table_free(items);
    json_decref(info);
    free(w.vec);
    free(w.pop);
    free(w.alias_p);
    free(w.alias_a);
    free(w.offset);
    free(centres);
    free(perm);
    return rc;
}

static int syn_create(const assay_host *host, const json_t *o, void **state,
                      assay_error *err)
{
    syn_cfg *c = calloc(1, sizeof *c);
    if (!c)
        return nomem(err);
    c->host = host;
    c->n_users = assay_opt_int(o, "n_users");
    c->n_items = assay_opt_int(o, "n_items");
    c->dim = assay_opt_int(o, "dim");
    c->clusters = assay_opt_int(o, "clusters");
    c->pool = assay_opt_int(o, "pool");
    c->mean_len = assay_opt_num(o, "mean_length");
    c->min_len = assay_opt_num(o, "min_length");
    c->zipf = assay_opt_num(o, "zipf");
    c->drift = assay_opt_num(o, "drift");
    c->affinity = assay_opt_num(o, "affinity");
    c->spread = assay_opt_num(o, "spread");
    c->repeats = assay_opt_bool(o, "repeats");
    c->start_time = assay_opt_int(o, "start_time");
    c->mean_gap = assay_opt_int(o, "mean_gap");
    if (c->mean_len < c->min_len) {
        free(c);
        return assay_error_set(
            err, ASSAY_EINVAL, "mean_length (%g) is below min_length (%g)",
            assay_opt_num(o, "mean_length"), assay_opt_num(o, "min_length"));
    }
    *state = c;
    return ASSAY_OK;
}

static void syn_destroy(void *state)
{
    free(state);
}

static const assay_port syn_outputs[] = {
    {.name = "interactions",
     .type = ASSAY_T_TABLE,
     .doc = "user, item, rating (1-5), timestamp (seconds), users in "
            "order, each user's rows in time order"},
    {.name = "items",
     .type = ASSAY_T_TABLE,
     .doc = "item, popularity (its share of the Zipf weights), "
            "n_interactions"},
    {.name = "info",
     .type = ASSAY_T_JSON,
     .doc = "the generator's settings and the realised sizes"},
    {0}};

static const assay_option syn_options[] = {
    {.name = "n_users",
     .type = ASSAY_OPT_INT,
     .def = "1000",
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 1e9,
     .doc = "number of users"},
    {.name = "n_items",
     .type = ASSAY_OPT_INT,
     .def = "1000",
     .has_min = true,
     .min = 2,
     .has_max = true,
     .max = 2e9,
     .doc = "number of items"},
    {.name = "mean_length",
     .type = ASSAY_OPT_FLOAT,
     .def = "30",
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 1e6,
     .doc = "mean interactions per user"},
    {.name = "min_length",
     .type = ASSAY_OPT_FLOAT,
     .def = "5",
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 1e6,
     .doc = "fewest interactions per user (lengths are min_length plus "
            "an exponential)"},
    {.name = "dim",
     .type = ASSAY_OPT_INT,
     .def = "16",
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 1024,
     .doc = "latent dimension of items and user interests"},
    {.name = "clusters",
     .type = ASSAY_OPT_INT,
     .def = "20",
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 1e6,
     .doc = "number of item clusters (topics) the vectors gather around"},
    {.name = "spread",
     .type = ASSAY_OPT_FLOAT,
     .def = "0.5",
     .has_min = true,
     .min = 0,
     .has_max = true,
     .max = 100,
     .doc = "noise of item vectors around their cluster centre"},
    {.name = "zipf",
     .type = ASSAY_OPT_FLOAT,
     .def = "1.0",
     .has_min = true,
     .min = 0,
     .has_max = true,
     .max = 5,
     .doc = "Zipf exponent of item popularity (0: uniform)"},
    {.name = "affinity",
     .type = ASSAY_OPT_FLOAT,
     .def = "8.0",
     .has_min = true,
     .min = 0,
     .has_max = true,
     .max = 1000,
     .doc = "strength of the user-item match in the choice "
            "(0: popularity only)"},
    {.name = "drift",
     .type = ASSAY_OPT_FLOAT,
     .def = "0.4",
     .has_min = true,
     .min = 0,
     .has_max = true,
     .max = 1,
     .doc = "how far each consumed item pulls the user's interest "
            "(0: static taste; 1: interest = last item)"},
    {.name = "pool",
     .type = ASSAY_OPT_INT,
     .def = "64",
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 100000,
     .doc = "popularity-drawn candidates per step among which the "
            "affinity chooses"},
    {.name = "repeats",
     .type = ASSAY_OPT_BOOL,
     .def = "false",
     .doc = "allow a user to consume an item twice"},
    {.name = "start_time",
     .type = ASSAY_OPT_INT,
     .def = "1600000000",
     .doc = "earliest first timestamp (Unix seconds)"},
    {.name = "mean_gap",
     .type = ASSAY_OPT_INT,
     .def = "86400",
     .has_min = true,
     .min = 0,
     .doc = "mean seconds between a user's interactions"},
    {0}};

static const assay_plugin syn_plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "source.synthetic-interactions",
    .kind = "source",
    .version = "1.0.0",
    .summary = "Seeded synthetic interactions: latent factors, Zipfian "
               "popularity, drifting sequential interest",
    .doc = "Generates an interaction table of any size for quickstarts and "
           "scaling experiments, with the columns source.interactions "
           "produces (user, item, rating, timestamp).\n"
           "Model: items get a Zipf popularity weight w_i = (r_i + 1)^-zipf "
           "(r_i a seeded random rank) and a unit latent vector near one of "
           "`clusters` topic centres. A user starts from a unit interest "
           "vector z and a history length min_length + Exp(mean_length - "
           "min_length). At each step `pool` candidates are drawn by "
           "popularity and one is chosen with probability proportional to "
           "exp(affinity * z.v) - a sampled approximation of p(i) ~ w_i "
           "exp(affinity z.v_i) - never an item the user already has unless "
           "`repeats`. The interest then drifts towards the chosen item: z <- "
           "normalise((1 - drift) z + drift v_i), so the next item depends on "
           "the recent ones (the signal sequential models exploit; drift 0 "
           "gives a static matrix-factorisation world). Ratings are 1-5 stars "
           "from the affinity plus noise; timestamps start in the year after "
           "start_time with exponential gaps of mean_gap seconds.\n"
           "Reproducibility: seeded from the run seed and the node name; each "
           "user has its own generator, so the output is identical for any "
           "thread count.",
    .outputs = syn_outputs,
    .options = syn_options,
    .flags = ASSAY_F_DETERMINISTIC,
    .create = syn_create,
    .run = syn_run,
    .destroy = syn_destroy,
};

static const assay_plugin *const syn_list[] = {&syn_plugin, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi)
{
    (void)host_abi;
    return syn_list;
}
