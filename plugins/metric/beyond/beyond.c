/*
 * beyond.c - the metric.beyond plugin: beyond-accuracy measures of
 * recommendation lists: item coverage, novelty (mean self-information),
 * intra-list diversity (cosine distance of item vectors), popularity bias
 * (average recommendation popularity) and the Gini index of exposure.
 */
#include <assay/plugin.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "statcommon.h"

typedef struct beyond_state {
    const assay_host *host;
    char *user_field, *item_field, *rank_field, *score_field, *vector_field;
    int64_t k, catalog_size;
} beyond_state;

static const assay_port beyond_inputs[] = {
    {.name = "recs", .type = ASSAY_T_ANY, .required = true,
     .doc = "recommendations: (user, item[, rank | score]) rows; each "
            "user's top k are used"},
    {.name = "train", .type = ASSAY_T_ANY, .required = true,
     .doc = "training interactions (user, item): popularity and catalogue"},
    {.name = "features", .type = ASSAY_T_ANY,
     .doc = "item vectors: records (item, vector_field array) or a table "
            "(item column + numeric columns); enables diversity"},
    {0}};

static const assay_port beyond_outputs[] = {
    {.name = "summary", .type = ASSAY_T_JSON,
     .doc = "coverage, novelty, diversity, popularity bias and exposure "
            "Gini", .chart = "bar"},
    {.name = "items", .type = ASSAY_T_RECORDS,
     .doc = "per user: list length, novelty, popularity (arp), diversity "
            "(ild)", .chart = "hist"},
    {0}};

static const assay_option beyond_options[] = {
    {.name = "k", .type = ASSAY_OPT_INT, .def = "10", .has_min = true,
     .min = 1, .doc = "list length: each user's first k recommendations"},
    {.name = "user_field", .type = ASSAY_OPT_STRING, .def = "\"user\"",
     .doc = "user id field (recs and train)"},
    {.name = "item_field", .type = ASSAY_OPT_STRING, .def = "\"item\"",
     .doc = "item id field (recs, train and features)"},
    {.name = "rank_field", .type = ASSAY_OPT_STRING, .def = "\"rank\"",
     .doc = "recs: position (ascending) when present"},
    {.name = "score_field", .type = ASSAY_OPT_STRING, .def = "\"score\"",
     .doc = "recs: score (descending) when present and rank is absent; "
            "else input order"},
    {.name = "vector_field", .type = ASSAY_OPT_STRING,
     .def = "\"embedding\"",
     .doc = "features records: field holding the item vector"},
    {.name = "catalog_size", .type = ASSAY_OPT_INT, .def = "0",
     .has_min = true, .min = 0,
     .doc = "items in the catalogue (0: distinct items of train and recs)"},
    {0}};

static void beyond_destroy(void *state)
{
    beyond_state *s = state;
    if (!s)
        return;
    free(s->user_field);
    free(s->item_field);
    free(s->rank_field);
    free(s->score_field);
    free(s->vector_field);
    free(s);
}

static int beyond_create(const assay_host *host, const json_t *opts,
                         void **state, assay_error *err)
{
    beyond_state *s = calloc(1, sizeof *s);
    if (!s)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    s->host = host;
    s->user_field = strdup(assay_opt_str(opts, "user_field"));
    s->item_field = strdup(assay_opt_str(opts, "item_field"));
    s->rank_field = strdup(assay_opt_str(opts, "rank_field"));
    s->score_field = strdup(assay_opt_str(opts, "score_field"));
    s->vector_field = strdup(assay_opt_str(opts, "vector_field"));
    s->k = assay_opt_int(opts, "k");
    s->catalog_size = assay_opt_int(opts, "catalog_size");
    if (!s->user_field || !s->item_field || !s->rank_field ||
        !s->score_field || !s->vector_field) {
        beyond_destroy(s);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    *state = s;
    return ASSAY_OK;
}

typedef struct ord_sort {
    const double *key;
    bool desc;
} ord_sort;

static int cmp_ord(const void *a, const void *b, void *arg)
{
    const ord_sort *o = arg;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    if (o->key && o->key[x] != o->key[y]) {
        bool lt = o->key[x] < o->key[y];
        return (lt != o->desc) ? -1 : 1;
    }
    return (x > y) - (x < y);
}

/* Item vectors by item id (dense ids of `imap`): vec[id * d ..], has[id]. */
static int read_features(const beyond_state *s, const sc_input *in,
                         sc_keymap *imap, sc_keys *fk, double **vec,
                         bool **has, size_t *dim, assay_error *err)
{
    int rc = sc_input_keys(in, s->item_field, fk, err);
    if (rc)
        return rc;
    if (fk->is_str != imap->is_str) {
        if (!imap->is_str)
            return assay_error_set(err, ASSAY_EDATA,
                                   "input 'features': item ids are strings "
                                   "but recs/train use integers");
        if ((rc = sc_keys_to_str(fk, err)))
            return rc;
    }
    size_t n = in->n, d = 0;
    const assay_column *cols[1024];
    if (in->tab) {
        for (size_t c = 0; c < in->tab->ncols && d < 1024; c++) {
            const assay_column *col = &in->tab->cols[c];
            if (col->type != ASSAY_COL_STRING &&
                strcmp(col->name, s->item_field) != 0)
                cols[d++] = col;
        }
    } else if (n > 0) {
        json_t *a = json_object_get(json_array_get(in->recs, 0),
                                    s->vector_field);
        d = json_array_size(a);
    }
    if (n > 0 && d == 0)
        return assay_error_set(err, ASSAY_EDATA,
                               "input 'features': no vector (field '%s' or "
                               "numeric columns)",
                               s->vector_field);
    *dim = d;
    size_t ni = imap->n;
    *vec = calloc((ni ? ni : 1) * (d ? d : 1), sizeof **vec);
    *has = calloc(ni ? ni : 1, sizeof **has);
    if (!*vec || !*has)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    for (size_t r = 0; r < n; r++) {
        size_t id;
        if (!sc_keymap_find(imap, fk, r, &id))
            continue; /* an item never recommended nor trained on */
        double *v = *vec + id * d;
        if (in->tab) {
            for (size_t k = 0; k < d; k++) {
                v[k] = assay_col_num(cols[k], r);
                if (!isfinite(v[k]))
                    return assay_error_set(err, ASSAY_EDATA,
                                           "input 'features': row %zu: "
                                           "column '%s': not a finite "
                                           "number",
                                           r, cols[k]->name);
            }
        } else {
            json_t *a = json_object_get(json_array_get(in->recs, r),
                                        s->vector_field);
            if (!json_is_array(a) || json_array_size(a) != d)
                return assay_error_set(err, ASSAY_EDATA,
                                       "input 'features': record %zu: field "
                                       "'%s': expected an array of %zu "
                                       "numbers",
                                       r, s->vector_field, d);
            for (size_t k = 0; k < d; k++) {
                json_t *e = json_array_get(a, k);
                v[k] = json_number_value(e);
                if (!json_is_number(e) || !isfinite(v[k]))
                    return assay_error_set(err, ASSAY_EDATA,
                                           "input 'features': record %zu: "
                                           "field '%s': element %zu is not a "
                                           "finite number",
                                           r, s->vector_field, k);
            }
        }
        (*has)[id] = true;
    }
    return ASSAY_OK;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

static int beyond_run(void *state, assay_io *io, assay_error *err)
{
    beyond_state *s = state;
    const assay_host *h = s->host;
    sc_input recs, train, feat;
    sc_keys ru = {0}, ri = {0}, tu = {0}, ti = {0}, fk = {0};
    sc_keymap imap, umap, tumap;
    double *ord_key = NULL, *vec = NULL;
    bool *has = NULL;
    size_t *iid = NULL, *uid = NULL, *off = NULL, *ord = NULL;
    size_t *pop_int = NULL, *pop_users = NULL, *expo = NULL;
    json_t *items = NULL, *sum = NULL;
    size_t dim = 0;
    int rc;

    memset(&imap, 0, sizeof imap);
    memset(&umap, 0, sizeof umap);
    memset(&tumap, 0, sizeof tumap);
    if ((rc = sc_input_get(h, io, "recs", true, &recs, err)) ||
        (rc = sc_input_get(h, io, "train", true, &train, err)) ||
        (rc = sc_input_get(h, io, "features", false, &feat, err)))
        return rc;
    if ((rc = sc_input_keys(&recs, s->user_field, &ru, err)) ||
        (rc = sc_input_keys(&recs, s->item_field, &ri, err)) ||
        (rc = sc_input_keys(&train, s->user_field, &tu, err)) ||
        (rc = sc_input_keys(&train, s->item_field, &ti, err)))
        goto done;
    if (ri.is_str != ti.is_str &&
        ((rc = sc_keys_to_str(&ri, err)) || (rc = sc_keys_to_str(&ti, err))))
        goto done;
    size_t nr = recs.n, nt = train.n;
    /* items: train first, then recommended-only items */
    if ((rc = sc_keymap_init(&imap, ti.is_str, 1024, err)) ||
        (rc = sc_keymap_init(&tumap, tu.is_str, 1024, err)) ||
        (rc = sc_keymap_init(&umap, ru.is_str, 1024, err)))
        goto done;
    size_t *tid = malloc((nt + 1) * sizeof *tid);
    size_t *tuid = malloc((nt + 1) * sizeof *tuid);
    if (!tid || !tuid) {
        free(tid);
        free(tuid);
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t r = 0; r < nt && !rc; r++) {
        rc = sc_keymap_intern(&imap, &ti, r, &tid[r], NULL, err);
        if (!rc)
            rc = sc_keymap_intern(&tumap, &tu, r, &tuid[r], NULL, err);
    }
    size_t n_train_items = imap.n, n_train_users = tumap.n;
    iid = malloc((nr + 1) * sizeof *iid);
    uid = malloc((nr + 1) * sizeof *uid);
    if (!rc && (!iid || !uid))
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    for (size_t r = 0; r < nr && !rc; r++) {
        rc = sc_keymap_intern(&imap, &ri, r, &iid[r], NULL, err);
        if (!rc)
            rc = sc_keymap_intern(&umap, &ru, r, &uid[r], NULL, err);
    }
    size_t ni = imap.n, nu = umap.n;
    /* popularity: interactions and distinct users per item */
    pop_int = calloc(ni + 1, sizeof *pop_int);
    pop_users = calloc(ni + 1, sizeof *pop_users);
    expo = calloc(ni + 1, sizeof *expo);
    size_t *pairs = malloc((nt + 1) * sizeof *pairs);
    if (!rc && (!pop_int || !pop_users || !expo || !pairs))
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    if (!rc) {
        for (size_t r = 0; r < nt; r++) {
            pop_int[tid[r]]++;
            pairs[r] = tid[r] * (n_train_users + 1) + tuid[r];
        }
        /* distinct (item, user) pairs: sort the packed codes */
        qsort(pairs, nt, sizeof *pairs, cmp_size);
        for (size_t r = 0; r < nt; r++)
            if (r == 0 || pairs[r] != pairs[r - 1])
                pop_users[pairs[r] / (n_train_users + 1)]++;
    }
    free(pairs);
    free(tid);
    free(tuid);
    if (rc)
        goto done;

    /* each user's list in order */
    bool by_rank = sc_input_has(&recs, s->rank_field);
    bool by_score = !by_rank && sc_input_has(&recs, s->score_field);
    if (by_rank || by_score) {
        ord_key = malloc((nr + 1) * sizeof *ord_key);
        if (!ord_key) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto done;
        }
        if ((rc = sc_input_nums(&recs, by_rank ? s->rank_field
                                               : s->score_field,
                                false, ord_key, err)))
            goto done;
    }
    off = calloc(nu + 2, sizeof *off);
    ord = malloc((nr + 1) * sizeof *ord);
    if (!off || !ord) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t r = 0; r < nr; r++)
        off[uid[r] + 1]++;
    for (size_t u = 0; u < nu; u++)
        off[u + 1] += off[u];
    for (size_t r = 0; r < nr; r++)
        ord[off[uid[r]]++] = r;
    for (size_t u = nu; u > 0; u--)
        off[u] = off[u - 1];
    off[0] = 0;
    ord_sort os = {ord_key, by_score};
    for (size_t u = 0; u < nu; u++)
        qsort_r(ord + off[u], off[u + 1] - off[u], sizeof *ord, cmp_ord, &os);

    if (feat.recs || feat.tab) {
        if ((rc = read_features(s, &feat, &imap, &fk, &vec, &has, &dim, err)))
            goto done;
    }

    items = json_array();
    sum = json_object();
    if (!items || !sum) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    double nov_sum = 0, arp_sum = 0, ild_sum = 0;
    size_t nov_n = 0, ild_n = 0, distinct = 0, slots = 0;
    double U = (double)(n_train_users ? n_train_users : 1);
    for (size_t u = 0; u < nu; u++) {
        size_t len = off[u + 1] - off[u];
        if (len > (size_t)s->k)
            len = (size_t)s->k;
        const size_t *L = ord + off[u];
        double nov = 0, arp = 0, ild = NAN;
        for (size_t a = 0; a < len; a++) {
            size_t it = iid[L[a]];
            if (expo[it]++ == 0)
                distinct++;
            double f = pop_users[it] ? (double)pop_users[it] : 1.0;
            nov += log2(U / f);
            arp += (double)pop_int[it];
        }
        slots += len;
        if (vec && len >= 2) {
            double dsum = 0;
            size_t npair = 0;
            for (size_t a = 0; a < len; a++) {
                size_t x = iid[L[a]];
                if (!has[x])
                    continue;
                for (size_t b = a + 1; b < len; b++) {
                    size_t y = iid[L[b]];
                    if (!has[y])
                        continue;
                    const double *p = vec + x * dim, *q = vec + y * dim;
                    double dot = 0, np = 0, nq = 0;
                    for (size_t k = 0; k < dim; k++) {
                        dot += p[k] * q[k];
                        np += p[k] * p[k];
                        nq += q[k] * q[k];
                    }
                    double cs = np > 0 && nq > 0 ? dot / sqrt(np * nq) : 0;
                    dsum += 1.0 - cs;
                    npair++;
                }
            }
            if (npair) {
                ild = dsum / (double)npair;
                ild_sum += ild;
                ild_n++;
            }
        }
        if (len) {
            nov /= (double)len;
            arp /= (double)len;
            nov_sum += nov;
            arp_sum += arp;
            nov_n++;
        }
        json_t *rec = json_object();
        if (!rec || json_array_append_new(items, rec) ||
            sc_json_set(rec, s->user_field, sc_keys_json(&ru, umap.first[u]),
                        err) ||
            sc_json_set(rec, "n", json_integer((json_int_t)len), err) ||
            sc_json_set(rec, "novelty", sc_json_num(len ? nov : NAN), err) ||
            sc_json_set(rec, "arp", sc_json_num(len ? arp : NAN), err) ||
            sc_json_set(rec, "ild", sc_json_num(ild), err)) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto done;
        }
    }
    size_t catalog = s->catalog_size > 0 ? (size_t)s->catalog_size : ni;
    (void)n_train_items;
    /* Gini of exposure over the catalogue (unrecommended items count 0) */
    double gini = NAN;
    if (catalog > 0 && slots > 0) {
        size_t *e = calloc(catalog, sizeof *e);
        if (!e) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto done;
        }
        size_t w = 0;
        for (size_t it = 0; it < ni && w < catalog; it++)
            if (expo[it])
                e[w++] = expo[it];
        qsort(e, catalog, sizeof *e, cmp_size);
        double num = 0, tot = 0;
        for (size_t i = 0; i < catalog; i++) {
            num += (2.0 * (double)(i + 1) - (double)catalog - 1.0) *
                   (double)e[i];
            tot += (double)e[i];
        }
        gini = num / ((double)catalog * tot);
        free(e);
    }
    if (sc_json_set(sum, "users", json_integer((json_int_t)nu), err) ||
        sc_json_set(sum, "k", json_integer(s->k), err) ||
        sc_json_set(sum, "coverage",
                    sc_json_num(catalog ? (double)distinct / (double)catalog
                                        : NAN),
                    err) ||
        sc_json_set(sum, "distinct_items", json_integer((json_int_t)distinct),
                    err) ||
        sc_json_set(sum, "catalog_size", json_integer((json_int_t)catalog),
                    err) ||
        sc_json_set(sum, "novelty",
                    sc_json_num(nov_n ? nov_sum / (double)nov_n : NAN), err) ||
        sc_json_set(sum, "arp",
                    sc_json_num(nov_n ? arp_sum / (double)nov_n : NAN), err) ||
        sc_json_set(sum, "ild",
                    sc_json_num(ild_n ? ild_sum / (double)ild_n : NAN), err) ||
        sc_json_set(sum, "ild_users", json_integer((json_int_t)ild_n), err) ||
        sc_json_set(sum, "gini", sc_json_num(gini), err)) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    rc = h->out_json(io, "summary", sum, err);
    sum = NULL;
    if (!rc)
        rc = h->out_records(io, "items", items, err);
    items = NULL;
done:
    json_decref(items);
    json_decref(sum);
    free(ord_key);
    free(vec);
    free(has);
    free(iid);
    free(uid);
    free(off);
    free(ord);
    free(pop_int);
    free(pop_users);
    free(expo);
    sc_keymap_free(&imap);
    sc_keymap_free(&umap);
    sc_keymap_free(&tumap);
    sc_keys_free(&ru);
    sc_keys_free(&ri);
    sc_keys_free(&tu);
    sc_keys_free(&ti);
    sc_keys_free(&fk);
    return rc;
}

static const assay_plugin beyond_plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "metric.beyond",
    .kind = "metric",
    .version = "1.0.0",
    .summary = "Beyond-accuracy measures of recommendation lists: "
               "coverage, novelty, diversity, popularity bias",
    .doc =
        "Measures of top-k recommendation lists beyond accuracy, as in the "
        "beyond-utility evaluation of recommenders (Jiang et al. 2025).\n"
        "\n"
        "Inputs: `recs` (user, item and a rank or score field; each user's "
        "first k items in rank order, score order or input order), `train` "
        "(user, item interactions) and optionally `features` (item vectors "
        "as records with vector_field or a table of numeric columns).\n"
        "- coverage: distinct recommended items / catalog_size (default: "
        "distinct items of train and recs);\n"
        "- novelty: mean over users of the mean self-information "
        "log2(U / f(i)) of their items, U = training users, f(i) = "
        "training users who interacted with i (1 for unseen items);\n"
        "- arp (popularity bias): mean over users of the mean number of "
        "training interactions of their items;\n"
        "- ild (intra-list diversity): mean over users of the mean cosine "
        "distance 1 - cos(v_i, v_j) over pairs of their items that have "
        "vectors (users with fewer than 2 such items are left out);\n"
        "- gini: Gini index of how often each catalogue item is "
        "recommended (0 = even exposure).\n"
        "items: per user n, novelty, arp and ild.  Missing fields and "
        "non-finite numbers fail naming the record and field.",
    .inputs = beyond_inputs,
    .outputs = beyond_outputs,
    .options = beyond_options,
    .flags = ASSAY_F_ALL_ITEMS | ASSAY_F_DETERMINISTIC,
    .create = beyond_create,
    .run = beyond_run,
    .destroy = beyond_destroy,
};

static const assay_plugin *const beyond_list[] = {&beyond_plugin, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi)
{
    (void)host_abi;
    return beyond_list;
}
