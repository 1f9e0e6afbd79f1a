/*
 * rec.llm - an LLM as recommender (EvaLLMasRecommender, Jiang et al.,
 * WWW 2025): per-user prompts from history titles and a candidate list,
 * the answer parsed as a ranked list of titles, mapped back to item ids
 * (non-matches are hallucinations), with re-asks on format violations
 * and the compliance rate.
 */
#include <assay/plugin.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lr.h"
#include "rank_cands_first_tpl.h"
#include "rank_in_context_tpl.h"
#include "rank_tpl.h"

/* Completion tokens assumed per request when params give no max_tokens. */
#define RL_EST_COMPLETION 400

enum {
    P_HISTORY,
    P_NO_HISTORY,
    P_PROFILE,
    P_PROFILE_HISTORY,
    P_CANDS_FIRST,
    P_IN_CONTEXT
};
static const char *const prompt_names[] = {
    "history",         "no_history", "profile", "profile_history",
    "candidate_first", "in_context", NULL};

enum { O_SHUFFLED, O_TARGET_FIRST, O_GIVEN };
static const char *const order_names[] = {"shuffled", "target_first", "given",
                                          NULL};

enum { A_NONE, A_CATEGORY, A_RATING };

/* Checker codes (lr_check_fn): why an answer is unusable. */
enum { W_OK = 0, W_FORMAT = 1, W_LENGTH = 2 };

typedef struct rl_state {
    const assay_host *h;
    char *endpoint;
    const char *endpoint_opt;
    json_t *params;
    lr_prompts prompts;
    int task; /* 0 auto, 1 ranking, 2 reranking */
    int prompt, order, annotate;
    bool hist_shuffle, on_error_record;
    size_t k, ncand, hist_len;
    long variant;
    unsigned max_reasks;
    bool has_shuffle_seed;
    uint64_t shuffle_seed;
    char *dataset;
    char *f_id, *f_title, *f_cat, *f_year, *f_profile;
} rl_state;

static int index_of(const char *const *names, const char *s)
{
    for (int i = 0; names[i]; i++)
        if (s && !strcmp(names[i], s))
            return i;
    return 0;
}

static void rl_destroy(void *state)
{
    rl_state *s = state;
    if (!s)
        return;
    free(s->endpoint);
    json_decref(s->params);
    lr_prompts_free(&s->prompts);
    free(s->dataset);
    free(s->f_id);
    free(s->f_title);
    free(s->f_cat);
    free(s->f_year);
    free(s->f_profile);
    free(s);
}

static int rl_create(const assay_host *h, const json_t *o, void **state,
                     assay_error *err)
{
    rl_state *s = calloc(1, sizeof *s);
    int rc;
    if (!s)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    s->h = h;
    s->endpoint_opt = assay_opt_str(o, "llm");
    if (!jc_opt_strdup(o, "llm", &s->endpoint) ||
        !jc_opt_strdup(o, "dataset", &s->dataset) ||
        !jc_opt_strdup(o, "id_field", &s->f_id) ||
        !jc_opt_strdup(o, "title_field", &s->f_title) ||
        !jc_opt_strdup(o, "category_field", &s->f_cat) ||
        !jc_opt_strdup(o, "year_field", &s->f_year) ||
        !jc_opt_strdup(o, "profile_field", &s->f_profile))
        goto nomem;
    const char *task = assay_opt_str(o, "task");
    s->task = task && !strcmp(task, "ranking")     ? 1
              : task && !strcmp(task, "reranking") ? 2
                                                   : 0;
    s->prompt = index_of(prompt_names, assay_opt_str(o, "prompt"));
    s->order = index_of(order_names, assay_opt_str(o, "candidate_order"));
    const char *an = assay_opt_str(o, "annotate");
    s->annotate = an && !strcmp(an, "category") ? A_CATEGORY
                  : an && !strcmp(an, "rating") ? A_RATING
                                                : A_NONE;
    const char *ho = assay_opt_str(o, "history_order");
    s->hist_shuffle = ho && !strcmp(ho, "shuffled");
    s->k = (size_t)assay_opt_int(o, "k");
    s->ncand = (size_t)assay_opt_int(o, "n_candidates");
    s->hist_len = (size_t)assay_opt_int(o, "history_len");
    s->variant = (long)assay_opt_int(o, "variant");
    s->max_reasks = (unsigned)assay_opt_int(o, "max_reasks");
    const char *oe = assay_opt_str(o, "on_error");
    s->on_error_record = !oe || strcmp(oe, "fail") != 0;
    json_t *ss = json_object_get(o, "shuffle_seed");
    s->has_shuffle_seed = json_is_integer(ss);
    s->shuffle_seed = (uint64_t)json_integer_value(ss);
    json_t *p = json_object_get(o, "params");
    if (json_is_object(p) && !(s->params = json_deep_copy(p)))
        goto nomem;
    const char *def = s->prompt == P_CANDS_FIRST  ? REC_LLM_TPL_CANDS_FIRST
                      : s->prompt == P_IN_CONTEXT ? REC_LLM_TPL_IN_CONTEXT
                                                  : REC_LLM_TPL_RANK;
    if ((rc = lr_prompts_option(h, o, "template", "template_file", def,
                                &s->prompts, err)))
        goto fail;
    if ((s->prompt == P_PROFILE || s->prompt == P_PROFILE_HISTORY) &&
        !lr_prompts_uses(&s->prompts, "profile"))
        h->log(h, ASSAY_LOG_WARN,
               "prompt '%s' but the template never uses {{profile}}",
               prompt_names[s->prompt]);
    *state = s;
    return ASSAY_OK;
nomem:
    rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
fail:
    rl_destroy(s);
    return rc;
}

/* ---- queries ------------------------------------------------------------ */

/* One user to recommend for: a target and the candidates shown. */
typedef struct rl_query {
    int64_t query, user, target;
    int64_t *cands; /* presented order */
    size_t ncand;
    int64_t *hist; /* items shown as history (oldest first) */
    double *hrat;
    size_t nhist;
    size_t variant;
    const char *profile; /* borrowed from the profiles input */
    char *skip;          /* why no request is made (owned), or NULL */
} rl_query;

static void queries_free(rl_query *q, size_t n)
{
    for (size_t i = 0; q && i < n; i++) {
        free(q[i].cands);
        free(q[i].hist);
        free(q[i].hrat);
        free(q[i].skip);
    }
    free(q);
}

typedef struct row_ord {
    int64_t key;
    uint32_t row;
} row_ord;

static int row_ord_cmp(const void *a, const void *b)
{
    const row_ord *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

/* Seed of the candidate/history shuffles of query `key`. */
static uint64_t shuffle_seed(const rl_state *s, const char *stream, int64_t key)
{
    uint64_t base = s->has_shuffle_seed
                        ? lr_mix(s->shuffle_seed, (uint64_t)stream[0])
                        : s->h->seed(s->h, stream);
    return lr_mix(base, (uint64_t)key);
}

/* Put the candidates of `q` in the presented order. */
static void order_cands(const rl_state *s, rl_query *q)
{
    if (s->order == O_SHUFFLED) {
        assay_rng rng;
        assay_rng_init(&rng, shuffle_seed(s, "candidates", q->query));
        assay_rng_shuffle(&rng, q->cands, q->ncand, sizeof *q->cands);
    } else if (s->order == O_TARGET_FIRST) {
        for (size_t i = 1; i < q->ncand; i++)
            if (q->cands[i] == q->target) {
                memmove(q->cands + 1, q->cands, i * sizeof *q->cands);
                q->cands[0] = q->target;
                break;
            }
    }
}

/*
 * Ranking queries from the candidates table: one per query id (else per
 * user): the first positive (label > 0) is the target, the negatives
 * follow in table order, n_candidates in all.
 */
static int build_ranking(const rl_state *s, const assay_table *t,
                         rl_query **out, size_t *nout, assay_error *err)
{
    const assay_column *cu = NULL, *ci = NULL, *cl = NULL;
    const assay_column *cq = assay_table_col(t, "query");
    int rc;
    if ((rc = assay_table_need(t, "user", ASSAY_COL_INT64, &cu, err)) ||
        (rc = assay_table_need(t, "item", ASSAY_COL_INT64, &ci, err)) ||
        (rc = assay_table_need(t, "label", ASSAY_COL_FLOAT64, &cl, err))) {
        assay_error_prefix(err, "input 'candidates': ");
        return rc;
    }
    if (cq && cq->type != ASSAY_COL_INT64)
        return assay_error_set(err, ASSAY_EDATA,
                               "input 'candidates': column 'query' must be "
                               "int64");
    const int64_t *user = assay_col_i64(cu), *item = assay_col_i64(ci);
    const int64_t *qid = cq ? assay_col_i64(cq) : user;
    size_t n = t->nrows, nq = 0, extra_pos = 0, no_pos = 0;
    row_ord *ord = malloc((n ? n : 1) * sizeof *ord);
    rl_query *q = calloc(n ? n : 1, sizeof *q);
    if (!ord || !q) {
        free(ord);
        free(q);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    for (size_t r = 0; r < n; r++)
        ord[r] = (row_ord){qid[r], (uint32_t)r};
    qsort(ord, n, sizeof *ord, row_ord_cmp);
    for (size_t a = 0; a < n;) {
        size_t b = a;
        while (b < n && ord[b].key == ord[a].key)
            b++;
        rl_query *x = &q[nq];
        x->query = ord[a].key;
        x->user = user[ord[a].row];
        x->cands = malloc(s->ncand * sizeof *x->cands);
        if (!x->cands) {
            queries_free(q, nq + 1);
            free(ord);
            return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        }
        bool has_target = false;
        for (size_t i = a; i < b; i++) {
            size_t r = ord[i].row;
            double lab = assay_col_num(cl, r);
            if (user[r] != x->user) {
                queries_free(q, nq + 1);
                free(ord);
                return assay_error_set(err, ASSAY_EDATA,
                                       "input 'candidates': row %zu: query "
                                       "%lld holds two users",
                                       r, (long long)x->query);
            }
            if (lab > 0) {
                if (has_target) {
                    extra_pos++;
                    continue;
                }
                has_target = true;
                x->target = item[r];
            }
        }
        if (!has_target) {
            no_pos++;
            free(x->cands);
            x->cands = NULL;
            a = b;
            continue;
        }
        /* target first, then the negatives in table order; the order
         * option rearranges them */
        x->cands[x->ncand++] = x->target;
        for (size_t i = a; i < b && x->ncand < s->ncand; i++) {
            size_t r = ord[i].row;
            if (!(assay_col_num(cl, r) > 0))
                x->cands[x->ncand++] = item[r];
        }
        if (s->order == O_GIVEN) {
            /* the table's own order, keeping the target */
            size_t m = 0;
            bool seen_target = false;
            for (size_t i = a; i < b && m < x->ncand; i++) {
                size_t r = ord[i].row;
                bool pos = assay_col_num(cl, r) > 0;
                if (pos && (seen_target || item[r] != x->target))
                    continue;
                if (pos)
                    seen_target = true;
                else if (m + (seen_target ? 0 : 1) >= x->ncand)
                    continue;
                x->cands[m++] = item[r];
            }
        }
        nq++;
        a = b;
    }
    free(ord);
    if (extra_pos)
        s->h->log(s->h, ASSAY_LOG_WARN,
                  "%zu extra positive candidates ignored (one target per "
                  "query)",
                  extra_pos);
    if (no_pos)
        s->h->log(s->h, ASSAY_LOG_WARN,
                  "%zu queries without a positive candidate skipped", no_pos);
    *out = q;
    *nout = nq;
    return ASSAY_OK;
}

/* Pool lists by user: the records of input `pools` grouped by user in
 * order of appearance. */
typedef struct pool_ref {
    int64_t user;
    uint32_t rec;
} pool_ref;

/*
 * Re-ranking queries: one per row of `test`; the candidates are pooled
 * round-robin from the users' lists on `pools` (each list's next item in
 * turn, duplicates skipped) until n_candidates are collected.
 */
static int build_reranking(const rl_state *s, const assay_table *test,
                           const json_t *pools, rl_query **out, size_t *nout,
                           assay_error *err)
{
    const assay_column *cu = NULL, *ci = NULL;
    int rc;
    if ((rc = assay_table_need(test, "user", ASSAY_COL_INT64, &cu, err)) ||
        (rc = assay_table_need(test, "item", ASSAY_COL_INT64, &ci, err))) {
        assay_error_prefix(err, "input 'test': ");
        return rc;
    }
    size_t np = json_array_size(pools), n = test->nrows, nq = 0, nopool = 0;
    row_ord *refs = malloc((np ? np : 1) * sizeof *refs);
    rl_query *q = calloc(n ? n : 1, sizeof *q);
    const json_t **lists = calloc(np ? np : 1, sizeof *lists);
    if (!refs || !q || !lists) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < np; i++) {
        const json_t *rec = json_array_get(pools, i);
        json_t *items;
        double u;
        if ((rc = assay_rec_num(rec, i, "user", &u, err)) ||
            (rc = assay_rec_get(rec, i, "items", &items, err)))
            goto fail_pool;
        if (!json_is_array(items)) {
            rc = assay_error_set(err, ASSAY_EDATA,
                                 "record %zu: field 'items': expected an "
                                 "array",
                                 i);
            goto fail_pool;
        }
        refs[i] = (row_ord){(int64_t)u, (uint32_t)i};
    }
    qsort(refs, np, sizeof *refs, row_ord_cmp);
    for (size_t r = 0; r < n; r++) {
        rl_query *x = &q[nq];
        x->query = (int64_t)r;
        x->user = assay_col_i64(cu)[r];
        x->target = assay_col_i64(ci)[r];
        /* the user's lists */
        size_t lo = 0, hi = np, m = 0;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (refs[mid].key < x->user)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (size_t i = lo; i < np && refs[i].key == x->user; i++)
            lists[m++] =
                json_object_get(json_array_get(pools, refs[i].row), "items");
        if (m == 0) {
            nopool++;
            continue;
        }
        if (!(x->cands = malloc(s->ncand * sizeof *x->cands))) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            nq++;
            goto fail;
        }
        for (size_t depth = 0; x->ncand < s->ncand; depth++) {
            bool any = false;
            for (size_t l = 0; l < m && x->ncand < s->ncand; l++) {
                const json_t *it = json_array_get(lists[l], depth);
                if (!it)
                    continue;
                any = true;
                if (!json_is_integer(it)) {
                    rc = assay_error_set(err, ASSAY_EDATA,
                                         "input 'pools': a list of user "
                                         "%lld holds a non-integer item",
                                         (long long)x->user);
                    nq++;
                    goto fail;
                }
                int64_t v = json_integer_value(it);
                bool dup = false;
                for (size_t c = 0; c < x->ncand && !dup; c++)
                    dup = x->cands[c] == v;
                if (!dup)
                    x->cands[x->ncand++] = v;
            }
            if (!any)
                break;
        }
        nq++;
    }
    if (nopool)
        s->h->log(s->h, ASSAY_LOG_WARN,
                  "%zu test rows whose user has no pooled list skipped",
                  nopool);
    free(refs);
    free(lists);
    *out = q;
    *nout = nq;
    return ASSAY_OK;
fail_pool:
    assay_error_prefix(err, "input 'pools': ");
fail:
    free(refs);
    free(lists);
    queries_free(q, nq);
    return rc;
}

/* Profiles by user from the `profiles` records. */
typedef struct prof_ref {
    int64_t user;
    const char *text;
} prof_ref;

static int prof_cmp(const void *a, const void *b)
{
    const prof_ref *x = a, *y = b;
    return (x->user > y->user) - (x->user < y->user);
}

static int read_profiles(const rl_state *s, const json_t *recs, prof_ref **out,
                         size_t *n, assay_error *err)
{
    size_t m = json_array_size(recs), k = 0;
    prof_ref *v = malloc((m ? m : 1) * sizeof *v);
    if (!v)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    for (size_t i = 0; i < m; i++) {
        const json_t *rec = json_array_get(recs, i);
        double u;
        int rc = assay_rec_num(rec, i, "user", &u, err);
        if (rc) {
            free(v);
            assay_error_prefix(err, "input 'profiles': ");
            return rc;
        }
        /* a failed profile (null or missing text) is simply absent */
        const char *t = json_string_value(json_object_get(rec, s->f_profile));
        if (t && *t)
            v[k++] = (prof_ref){(int64_t)u, t};
    }
    qsort(v, k, sizeof *v, prof_cmp);
    *out = v;
    *n = k;
    return ASSAY_OK;
}

static const char *find_profile(const prof_ref *v, size_t n, int64_t user)
{
    prof_ref key = {user, NULL};
    const prof_ref *p = bsearch(&key, v, n, sizeof *v, prof_cmp);
    return p ? p->text : NULL;
}

/* History of q: the user's last hist_len items (shuffled on request). */
static int fill_history(const rl_state *s, const lr_hist *hist, rl_query *q)
{
    const int64_t *items;
    const double *rat;
    size_t len = lr_hist_get(hist, q->user, &items, &rat);
    size_t take = len < s->hist_len ? len : s->hist_len;
    q->hist = malloc((take ? take : 1) * sizeof *q->hist);
    q->hrat = malloc((take ? take : 1) * sizeof *q->hrat);
    if (!q->hist || !q->hrat)
        return ASSAY_ENOMEM;
    if (take) {
        memcpy(q->hist, items + len - take, take * sizeof *q->hist);
        memcpy(q->hrat, rat + len - take, take * sizeof *q->hrat);
    }
    q->nhist = take;
    if (s->hist_shuffle && take > 1) {
        /* the same permutation for items and ratings */
        uint64_t seed = shuffle_seed(s, "history", q->query);
        assay_rng rng;
        assay_rng_init(&rng, seed);
        assay_rng_shuffle(&rng, q->hist, take, sizeof *q->hist);
        assay_rng_init(&rng, seed);
        assay_rng_shuffle(&rng, q->hrat, take, sizeof *q->hrat);
    }
    return ASSAY_OK;
}

/* ---- prompts ------------------------------------------------------------ */

static bool uses_history(const rl_state *s)
{
    return s->prompt != P_NO_HISTORY && s->prompt != P_PROFILE;
}

static bool uses_profile(const rl_state *s)
{
    return s->prompt == P_PROFILE || s->prompt == P_PROFILE_HISTORY;
}

/* The template context of query q. */
static json_t *query_context(const rl_state *s, const lr_cat *cat,
                             const rl_query *q)
{
    char user[32];
    snprintf(user, sizeof user, "%lld", (long long)q->user);
    json_t *ctx =
        json_pack("{s:s, s:s, s:I, s:I}", "dataset",
                  s->dataset ? s->dataset : "an online platform", "user", user,
                  "k", (json_int_t)s->k, "n", (json_int_t)q->ncand);
    if (!ctx)
        return NULL;
    bool cat_ann = s->annotate == A_CATEGORY;
    const double *rat = s->annotate == A_RATING ? q->hrat : NULL;
    json_t *cands = lr_pylist_json(cat, q->cands, q->ncand, cat_ann, NULL);
    if (json_object_set_new(ctx, "candidates", cands))
        goto fail;
    if (cat_ann && json_object_set_new(ctx, "by_category", json_true()))
        goto fail;
    if (rat && json_object_set_new(ctx, "by_rating", json_true()))
        goto fail;
    if (uses_history(s) && q->nhist) {
        json_t *h = lr_pylist_json(cat, q->hist, q->nhist, cat_ann, rat);
        if (json_object_set_new(ctx, "history", h))
            goto fail;
        if (q->nhist > 1) {
            json_t *e =
                lr_pylist_json(cat, q->hist, q->nhist - 1, cat_ann, rat);
            if (json_object_set_new(ctx, "earlier", e))
                goto fail;
        }
        char **last =
            lr_item_texts(cat, q->hist + q->nhist - 1, 1, false, NULL);
        json_t *lj = last ? json_string(last[0]) : NULL;
        lr_strv_free(last, 1);
        if (json_object_set_new(ctx, "last_item", lj))
            goto fail;
    }
    if (uses_profile(s) && q->profile &&
        json_object_set_new(ctx, "profile", json_string(q->profile)))
        goto fail;
    return ctx;
fail:
    json_decref(ctx);
    return NULL;
}

/* ---- answers ------------------------------------------------------------ */

typedef struct rl_run {
    rl_state *s;
    const lr_cat *cat;
    rl_query *q;
    size_t nq;
    lr_q *qs;          /* one per asked query */
    size_t *qof;       /* qs index -> query */
    lr_titles *parsed; /* latest parse of each question */
    int *first_format; /* LR_FMT of the first answer */
} rl_run;

/* Titles wanted: k, or the number of candidates when fewer. */
static size_t wanted(const rl_state *s, const rl_query *q)
{
    return q->ncand < s->k ? q->ncand : s->k;
}

static int rl_check(void *ud, lr_q *q, const char *text, char **repair,
                    assay_error *err)
{
    rl_run *r = ud;
    size_t qi = q->tag;
    lr_titles *t = &r->parsed[qi];
    const rl_query *x = &r->q[r->qof[qi]];
    size_t want = wanted(r->s, x);
    if (lr_parse_list(text, t))
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    if (q->n == 1)
        r->first_format[qi] = t->format;
    int why = t->format == LR_FMT_NONE ? W_FORMAT
              : t->n != want           ? W_LENGTH
                                       : W_OK;
    if (why == W_OK || q->n > q->max_reasks)
        return why;
    const jc_prompt *p = &r->s->prompts.v[0];
    if (!p->repair)
        return why;
    json_t *ctx = json_pack("{s:I}", "k", (json_int_t)want);
    char got[32];
    snprintf(got, sizeof got, "%zu", t->n);
    if (!ctx ||
        (why == W_FORMAT && json_object_set_new(ctx, "no_list", json_true())) ||
        (why == W_LENGTH &&
         json_object_set_new(ctx, "got", json_string(got)))) {
        json_decref(ctx);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    int rc = jc_tpl_render(p->repair, ctx, q->item, repair, err);
    json_decref(ctx);
    if (rc) {
        assay_error_prefix(err, "repair message: ");
        return rc;
    }
    return why;
}

static const char *format_name(int f)
{
    switch (f) {
    case LR_FMT_LIST:
        return "list";
    case LR_FMT_LINES:
        return "lines";
    case LR_FMT_UNQUOTED:
        return "unquoted";
    }
    return "none";
}

/* Aggregate counters over the queries. */
typedef struct rl_totals {
    size_t asked, failed, ok_first, format_err, length_err, final_ok;
    size_t titles, halluc, outside, from_hist, dups, hits;
    size_t level[4];
} rl_totals;

static bool in_ids(const int64_t *v, size_t n, int64_t x)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == x)
            return true;
    return false;
}

/* JSON array of integers. */
static json_t *int_array(const int64_t *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_integer(v[i]))) {
            json_decref(a);
            return NULL;
        }
    return a;
}

/* Append a string to an array; false on failure. */
static bool put_str(json_t *a, const char *v)
{
    return json_array_append_new(a, json_string(v)) == 0;
}

/* Failure code of a failed request: a budget stop or an LLM failure. */
static int failure_code(const char *error)
{
    return error && strstr(error, "budget") ? ASSAY_EBUDGET : ASSAY_ELLM;
}

/* Set key/value on `o`; false (and `v` released) on failure. */
static bool put(json_t *o, const char *k, json_t *v)
{
    return json_object_set_new(o, k, v) == 0;
}

/*
 * The record of query x and, for answered queries, its candidates' rows
 * in the scores table columns (appended at *row).
 */
static int query_record(rl_run *r, size_t xi, lr_q *q, lr_titles *t,
                        int first_format, const lr_hist *hist, json_t **out,
                        rl_totals *tot, int64_t *sq, int64_t *su, int64_t *si,
                        double *sl, double *ss, size_t *row, assay_error *err)
{
    const rl_state *s = r->s;
    const assay_host *h = s->h;
    rl_query *x = &r->q[xi];
    size_t want = wanted(s, x);
    json_t *rec = json_object();
    json_t *items = json_array(), *scores = json_array(),
           *titles = json_array();
    json_t *match = json_array(), *positions = json_array();
    int64_t *ids = malloc((want ? want : 1) * sizeof *ids);
    size_t nids = 0, halluc = 0, outside = 0, fromh = 0, dups = 0;
    const char *status;
    int rc = ASSAY_OK;
    *out = NULL;
    if (!rec || !items || !scores || !titles || !match || !positions || !ids)
        goto nomem;
    /* what was asked */
    long tpos = -1;
    for (size_t c = 0; c < x->ncand; c++)
        if (x->cands[c] == x->target)
            tpos = (long)c;
    if (!put(rec, "system", json_string(h->node_name(h))) ||
        !put(rec, "query", json_integer(x->query)) ||
        !put(rec, "user", json_integer(x->user)) ||
        !put(rec, "target", json_integer(x->target)) ||
        !put(rec, "targets", int_array(&x->target, 1)) ||
        !put(rec, "candidates", int_array(x->cands, x->ncand)) ||
        !put(rec, "target_position",
             tpos >= 0 ? json_integer(tpos + 1) : json_null()) ||
        !put(rec, "history", int_array(x->hist, x->nhist)) ||
        !put(rec, "history_len", json_integer((json_int_t)s->hist_len)) ||
        !put(rec, "prompt", json_string(prompt_names[s->prompt])) ||
        !put(rec, "order", json_string(order_names[s->order])) ||
        !put(rec, "task",
             json_string(s->task == 2 ? "reranking" : "ranking")) ||
        !put(rec, "k", json_integer((json_int_t)s->k)))
        goto nomem;
    if (!q) {
        /* never asked (no profile): a failed item */
        status = "failed";
        tot->failed++;
        if (!put(rec, "error", json_string(x->skip)))
            goto nomem;
        goto finish;
    }
    tot->asked++;
    if (!put(rec, "variant", json_integer((json_int_t)x->variant)) ||
        !put(rec, "attempts", json_integer(q->n)) ||
        !put(rec, "answers", lr_q_answers(q)))
        goto nomem;
    if (q->status == LR_Q_FAILED) {
        status = "failed";
        tot->failed++;
        if (!s->on_error_record) {
            rc = assay_error_set(err, failure_code(q->error),
                                 "query %zu (user %lld): %s (set on_error: "
                                 "record to keep going)",
                                 xi, (long long)x->user, q->error);
            goto fail;
        }
        if (!put(rec, "error", json_string(q->error)))
            goto nomem;
        goto finish;
    }
    /* compliance of the first answer and after the re-asks */
    bool first_ok = q->first_why == W_OK;
    tot->ok_first += first_ok;
    tot->format_err += q->first_why == W_FORMAT;
    tot->length_err += q->first_why == W_LENGTH;
    tot->final_ok += q->status == LR_Q_OK;
    status = q->status == LR_Q_OK ? "ok" : "noncompliant";
    if (!put(rec, "first_answer",
             json_string(first_ok                   ? "ok"
                         : q->first_why == W_FORMAT ? "format_error"
                                                    : "length_error")) ||
        !put(rec, "format", json_string(format_name(t->format))) ||
        !put(rec, "first_format", json_string(format_name(first_format))))
        goto nomem;
    /* map the first `want` titles */
    const int64_t *hitems;
    size_t hlen = lr_hist_get(hist, x->user, &hitems, NULL);
    size_t keep = t->n < want ? t->n : want;
    for (size_t i = 0; i < keep; i++) {
        lr_match m;
        if (lr_cat_match(r->cat, t->v[i], x->cands, x->ncand,
                         s->annotate != A_NONE, &m))
            goto nomem;
        tot->level[m.level]++;
        if (!put_str(titles, t->v[i]) ||
            json_array_append_new(match, json_string(lr_level_name(m.level))))
            goto nomem;
        if (m.item == 0) {
            halluc++;
            continue;
        }
        if (in_ids(ids, nids, m.item)) {
            dups++;
            continue;
        }
        if (!m.in_cands)
            outside++;
        if (in_ids(hitems, hlen, m.item))
            fromh++;
        ids[nids++] = m.item;
    }
    long rank = -1;
    for (size_t i = 0; i < nids; i++) {
        long p = -1;
        for (size_t c = 0; c < x->ncand; c++)
            if (x->cands[c] == ids[i])
                p = (long)c;
        if (json_array_append_new(items, json_integer(ids[i])) ||
            json_array_append_new(scores, json_real((double)(want - i))) ||
            json_array_append_new(positions, json_integer(p + 1)))
            goto nomem;
        if (ids[i] == x->target && rank < 0)
            rank = (long)i + 1;
    }
    tot->titles += keep;
    tot->halluc += halluc;
    tot->outside += outside;
    tot->from_hist += fromh;
    tot->dups += dups;
    tot->hits += rank > 0 && (size_t)rank <= s->k;
    if (!put(rec, "n_titles", json_integer((json_int_t)keep)) ||
        !put(rec, "extra_titles",
             json_integer((json_int_t)(t->n > want ? t->n - want : 0))) ||
        !put(rec, "hallucinated", json_integer((json_int_t)halluc)) ||
        !put(rec, "out_of_candidates", json_integer((json_int_t)outside)) ||
        !put(rec, "from_history", json_integer((json_int_t)fromh)) ||
        !put(rec, "duplicates", json_integer((json_int_t)dups)) ||
        !put(rec, "rank", rank > 0 ? json_integer(rank) : json_null()) ||
        !put(rec, "titles", json_incref(titles)) ||
        !put(rec, "match", json_incref(match)) ||
        !put(rec, "positions", json_incref(positions)))
        goto nomem;
    /* the candidates' scores: want - rank + 1 when recommended, else 0 */
    for (size_t c = 0; c < x->ncand; c++) {
        double sc = 0.0;
        for (size_t i = 0; i < nids; i++)
            if (ids[i] == x->cands[c]) {
                sc = (double)(want - i);
                break;
            }
        sq[*row] = x->query;
        su[*row] = x->user;
        si[*row] = x->cands[c];
        sl[*row] = x->cands[c] == x->target ? 1.0 : 0.0;
        ss[*row] = sc;
        (*row)++;
    }
finish:
    if (!put(rec, "status", json_string(status)) ||
        !put(rec, "items", json_incref(items)) ||
        !put(rec, "scores", json_incref(scores)))
        goto nomem;
    *out = rec;
    rec = NULL;
    goto done;
nomem:
    rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
fail:
done:
    json_decref(rec);
    json_decref(items);
    json_decref(scores);
    json_decref(titles);
    json_decref(match);
    json_decref(positions);
    free(ids);
    return rc;
}

/* ---- the node ----------------------------------------------------------- */

static int rl_task(const rl_state *s, assay_io *io, assay_error *err)
{
    const assay_host *h = s->h;
    bool pools = h->in_type(io, "pools") != 0;
    bool cands = h->in_type(io, "candidates") != 0;
    int task = s->task ? s->task : pools ? 2 : 1;
    if (task == 1 && !cands)
        return assay_error_set(err, ASSAY_EINVAL,
                               "the ranking task needs the `candidates` "
                               "input (e.g. protocol.negatives)");
    if (task == 2 && (!pools || h->in_type(io, "test") == 0))
        return assay_error_set(err, ASSAY_EINVAL,
                               "the re-ranking task needs the `pools` "
                               "(top-K lists of other recommenders) and "
                               "`test` inputs");
    return task;
}

static int rl_run_node(void *state, assay_io *io, assay_error *err)
{
    rl_state *s = state;
    const assay_host *h = s->h;
    lr_cat cat = {0};
    lr_hist hist = {0};
    rc_inter parts[2];
    size_t nparts = 0, nq = 0, nasked = 0, nprof = 0, row = 0;
    rl_query *q = NULL;
    prof_ref *prof = NULL;
    lr_q *qs = NULL;
    size_t *qof = NULL;
    lr_titles *parsed = NULL;
    int *ffmt = NULL;
    json_t *lists = NULL, *info = NULL;
    assay_table *scores = NULL;
    lr_ask_stats st = {0};
    rl_totals tot = {0};
    int rc, task;

    if ((task = rl_task(s, io, err)) < 0)
        return task;
    s->task = task;
    if ((rc = lr_hist_inputs(h, io, parts, &nparts, err)) ||
        (rc = lr_hist_build(&hist, parts, nparts, err)) ||
        (rc = lr_cat_build(&cat, h->in_table(io, "items"), "items", s->f_id,
                           s->f_title, s->f_cat, s->f_year, err)))
        goto done;
    if (s->annotate == A_CATEGORY) {
        bool any = false;
        for (size_t i = 0; i < cat.n && !any; i++)
            any = cat.cat[i] != NULL;
        if (!any) {
            rc = assay_error_set(err, ASSAY_EDATA,
                                 "annotate: category needs a category "
                                 "column in `items` (category_field)");
            goto done;
        }
    }
    if (s->annotate == A_RATING && !parts[0].rating) {
        rc = assay_error_set(err, ASSAY_EDATA,
                             "annotate: rating needs a `rating` column in "
                             "`train`");
        goto done;
    }
    if (task == 1)
        rc = build_ranking(s, h->in_table(io, "candidates"), &q, &nq, err);
    else
        rc = build_reranking(s, h->in_table(io, "test"),
                             h->in_records(io, "pools"), &q, &nq, err);
    if (rc)
        goto done;
    if (uses_profile(s)) {
        const json_t *pr = h->in_records(io, "profiles");
        if (!pr) {
            rc = assay_error_set(err, ASSAY_EINVAL,
                                 "prompt '%s' needs the `profiles` input "
                                 "(e.g. synth.user-profile)",
                                 prompt_names[s->prompt]);
            goto done;
        }
        if ((rc = read_profiles(s, pr, &prof, &nprof, err)))
            goto done;
    }
    if (s->prompt == P_IN_CONTEXT && s->hist_len < 1) {
        rc = assay_error_set(err, ASSAY_EINVAL,
                             "prompt 'in_context' needs history_len >= 1");
        goto done;
    }
    /* prompts */
    qs = calloc(nq ? nq : 1, sizeof *qs);
    qof = calloc(nq ? nq : 1, sizeof *qof);
    parsed = calloc(nq ? nq : 1, sizeof *parsed);
    ffmt = calloc(nq ? nq : 1, sizeof *ffmt);
    if (!qs || !qof || !parsed || !ffmt)
        goto nomem;
    uint64_t vseed = h->seed(h, "variant");
    for (size_t i = 0; i < nq; i++) {
        rl_query *x = &q[i];
        if (h->cancelled(h)) {
            rc = assay_error_set(err, ASSAY_ECANCELED, "cancelled");
            goto done;
        }
        order_cands(s, x);
        if (fill_history(s, &hist, x))
            goto nomem;
        if (uses_profile(s) &&
            !(x->profile = find_profile(prof, nprof, x->user))) {
            char msg[96];
            snprintf(msg, sizeof msg, "no profile for user %lld",
                     (long long)x->user);
            if (!(x->skip = jc_strdup(msg)))
                goto nomem;
            continue;
        }
        if (s->prompt == P_IN_CONTEXT && x->nhist == 0) {
            if (!(x->skip = jc_strdup("no history for the in-context "
                                      "prompt")))
                goto nomem;
            continue;
        }
        x->variant =
            lr_variant(&s->prompts, s->variant, vseed, (uint64_t)x->query);
        json_t *ctx = query_context(s, &cat, x);
        if (!ctx)
            goto nomem;
        lr_q *qq = &qs[nasked];
        rc = jc_prompt_render(&s->prompts.v[x->variant], ctx, i, &qq->system,
                              &qq->user, err);
        json_decref(ctx);
        if (rc)
            goto done;
        qq->max_reasks = s->max_reasks;
        qq->item = i;
        qq->tag = nasked;
        qof[nasked++] = i;
    }
    h->log(h, ASSAY_LOG_INFO,
           "%s: %zu queries, %zu asked, %zu candidates each at most, "
           "history of %zu, k = %zu",
           task == 2 ? "re-ranking" : "ranking", nq, nasked, s->ncand,
           s->hist_len, s->k);
    rl_run run = {.s = s,
                  .cat = &cat,
                  .q = q,
                  .nq = nq,
                  .qs = qs,
                  .qof = qof,
                  .parsed = parsed,
                  .first_format = ffmt};
    if ((rc = lr_ask_run(h, s->endpoint, s->params, qs, nasked, rl_check, &run,
                         NULL, &st, err)))
        goto done;
    /* outputs */
    size_t cap = 0;
    for (size_t i = 0; i < nq; i++)
        cap += q[i].ncand;
    scores = h->table_new(cap);
    lists = json_array();
    if (!scores || !lists ||
        !h->table_add_col(scores, "query", ASSAY_COL_INT64) ||
        !h->table_add_col(scores, "user", ASSAY_COL_INT64) ||
        !h->table_add_col(scores, "item", ASSAY_COL_INT64) ||
        !h->table_add_col(scores, "label", ASSAY_COL_FLOAT64) ||
        !h->table_add_col(scores, "score", ASSAY_COL_FLOAT64))
        goto nomem;
    int64_t *sq = scores->cols[0].data, *su = scores->cols[1].data,
            *si = scores->cols[2].data;
    double *sl = scores->cols[3].data, *ss = scores->cols[4].data;
    size_t asked_at = 0;
    for (size_t i = 0; i < nq; i++) {
        lr_q *qq = NULL;
        lr_titles *t = NULL;
        int ff = LR_FMT_NONE;
        if (!q[i].skip) {
            qq = &qs[asked_at];
            t = &parsed[asked_at];
            ff = ffmt[asked_at];
            asked_at++;
        }
        json_t *rec;
        if ((rc = query_record(&run, i, qq, t, ff, &hist, &rec, &tot, sq, su,
                               si, sl, ss, &row, err)))
            goto done;
        if (json_array_append_new(lists, rec))
            goto nomem;
    }
    if ((rc = h->table_resize(scores, row)))
        goto nomem;
    /* the summary */
    info = lr_info(h, s->endpoint, &st);
    if (!info)
        goto nomem;
    /* failed counts the never-asked queries too */
    size_t answered_n = nq - tot.failed;
    json_t *lv = json_pack("{s:I, s:I, s:I, s:I}", "exact",
                           (json_int_t)tot.level[LR_M_EXACT], "case",
                           (json_int_t)tot.level[LR_M_CASE], "normalised",
                           (json_int_t)tot.level[LR_M_NORM], "none",
                           (json_int_t)tot.level[LR_M_NONE]);
    if (!put(info, "task", json_string(task == 2 ? "reranking" : "ranking")) ||
        !put(info, "prompt", json_string(prompt_names[s->prompt])) ||
        !put(info, "order", json_string(order_names[s->order])) ||
        !put(info, "history_len", json_integer((json_int_t)s->hist_len)) ||
        !put(info, "k", json_integer((json_int_t)s->k)) ||
        !put(info, "queries", json_integer((json_int_t)nq)) ||
        !put(info, "asked", json_integer((json_int_t)tot.asked)) ||
        !put(info, "failed", json_integer((json_int_t)(tot.failed))) ||
        !put(info, "answered", json_integer((json_int_t)answered_n)) ||
        !put(info, "compliance_rate",
             answered_n ? json_real((double)tot.ok_first / answered_n)
                        : json_null()) ||
        !put(info, "final_compliance_rate",
             answered_n ? json_real((double)tot.final_ok / answered_n)
                        : json_null()) ||
        !put(info, "format_errors", json_integer((json_int_t)tot.format_err)) ||
        !put(info, "length_errors", json_integer((json_int_t)tot.length_err)) ||
        !put(info, "titles", json_integer((json_int_t)tot.titles)) ||
        !put(info, "hallucinated", json_integer((json_int_t)tot.halluc)) ||
        !put(info, "hallucination_rate",
             tot.titles ? json_real((double)tot.halluc / tot.titles)
                        : json_null()) ||
        !put(info, "out_of_candidates",
             json_integer((json_int_t)tot.outside)) ||
        !put(info, "from_history", json_integer((json_int_t)tot.from_hist)) ||
        !put(info, "duplicates", json_integer((json_int_t)tot.dups)) ||
        !put(info, "match_levels", lv) ||
        !put(info, "hit_rate",
             answered_n ? json_real((double)tot.hits / answered_n)
                        : json_null()))
        goto nomem;
    rc = h->out_records(io, "lists", lists, err);
    lists = NULL;
    if (rc)
        goto done;
    rc = h->out_table(io, "scores", scores, err);
    scores = NULL;
    if (rc)
        goto done;
    rc = h->out_json(io, "info", info, err);
    info = NULL;
    goto done;
nomem:
    rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
done:
    for (size_t i = 0; qs && i < nasked; i++)
        lr_q_clear(&qs[i]);
    for (size_t i = 0; parsed && i < nq; i++)
        lr_titles_free(&parsed[i]);
    free(qs);
    free(qof);
    free(parsed);
    free(ffmt);
    free(prof);
    queries_free(q, nq);
    json_decref(lists);
    json_decref(info);
    if (scores)
        h->table_free(scores);
    lr_cat_free(&cat);
    lr_hist_free(&hist);
    return rc;
}

static int rl_estimate(void *state, assay_io *io, assay_estimate *est,
                       assay_error *err)
{
    rl_state *s = state;
    const assay_host *h = s->h;
    uint64_t per = 1 + s->max_reasks, queries = 0;
    (void)err;
    est->endpoint = s->endpoint_opt;
    if (h->in_type(io, "pools") && h->in_type(io, "test")) {
        const assay_table *t = h->in_table(io, "test");
        queries = t ? t->nrows : 0;
    } else if (h->in_type(io, "candidates")) {
        const assay_table *t = h->in_table(io, "candidates");
        const assay_column *l = t ? assay_table_col(t, "label") : NULL;
        for (size_t r = 0; l && l->type != ASSAY_COL_STRING && r < t->nrows;
             r++)
            queries += assay_col_num(l, r) > 0;
    }
    if (!queries) {
        h->log(h, ASSAY_LOG_INFO,
               "estimate: the queries are not known yet; each costs up to "
               "%llu requests",
               (unsigned long long)per);
        return ASSAY_OK;
    }
    /* about 40 characters per title shown, plus the fixed text */
    uint64_t chars = 900 + 40 * (s->ncand + s->hist_len);
    lr_estimate_fill(est, s->endpoint_opt, queries * per, queries * per * chars,
                     s->params, RL_EST_COMPLETION);
    return ASSAY_OK;
}

/* ---- descriptor ---------------------------------------------------------- */

static const assay_port rl_inputs[] = {
    {.name = "train",
     .type = ASSAY_T_TABLE,
     .required = true,
     .doc = "training interactions (user, item[, timestamp, rating]): the "
            "histories"},
    {.name = "valid",
     .type = ASSAY_T_TABLE,
     .doc = "validation interactions, appended to the histories"},
    {.name = "items",
     .type = ASSAY_T_TABLE,
     .required = true,
     .doc = "the catalogue: item id, title[, category, year] "
            "(source.interactions items)"},
    {.name = "candidates",
     .type = ASSAY_T_TABLE,
     .doc = "ranking task: (query, user, item, label) rows, 1 positive + "
            "negatives per query (protocol.negatives)"},
    {.name = "test",
     .type = ASSAY_T_TABLE,
     .doc = "re-ranking task: the targets (user, item), one query per row"},
    {.name = "pools",
     .type = ASSAY_T_RECORDS,
     .multi = true,
     .doc = "re-ranking task: top-K lists {user, items} of other "
            "recommenders, pooled round-robin in list order"},
    {.name = "profiles",
     .type = ASSAY_T_RECORDS,
     .doc = "user profiles {user, profile} (synth.user-profile) for the "
            "profile prompts"},
    {0}};

static const assay_port rl_outputs[] = {
    {.name = "lists",
     .type = ASSAY_T_RECORDS,
     .doc = "per query: the recommended ids, titles, matches, candidates, "
            "target, hallucination counts, status and answers",
     .chart = "table"},
    {.name = "scores",
     .type = ASSAY_T_TABLE,
     .doc = "the candidates (query, user, item, label) with score k+1-rank "
            "when recommended, else 0; failed queries left out"},
    {.name = "info",
     .type = ASSAY_T_JSON,
     .doc = "compliance and hallucination rates, match levels, requests, "
            "tokens, endpoint",
     .chart = "table"},
    {0}};

static const assay_option rl_options[] = {
    {.name = "llm",
     .type = ASSAY_OPT_STRING,
     .required = true,
     .doc = "endpoint (name in the experiment's llm: section) that "
            "recommends"},
    {.name = "params",
     .type = ASSAY_OPT_OBJECT,
     .doc = "request parameters overriding the endpoint's defaults "
            "(temperature, max_tokens, seed, ...)"},
    {.name = "task",
     .type = ASSAY_OPT_ENUM,
     .def = "\"auto\"",
     .choices = "auto|ranking|reranking",
     .doc = "ranking (target + sampled negatives) or re-ranking (pooled "
            "from other recommenders); auto: re-ranking when pools is "
            "connected"},
    {.name = "k",
     .type = ASSAY_OPT_INT,
     .def = "10",
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 100,
     .doc = "titles asked for (the top-K)"},
    {.name = "n_candidates",
     .type = ASSAY_OPT_INT,
     .def = "20",
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 500,
     .doc = "candidates shown per query (target + n-1 negatives, or the "
            "pool size)"},
    {.name = "history_len",
     .type = ASSAY_OPT_INT,
     .def = "10",
     .has_min = true,
     .min = 0,
     .has_max = true,
     .max = 1000,
     .doc = "the last L history items shown (the sensitivity sweep varies "
            "it)"},
    {.name = "history_order",
     .type = ASSAY_OPT_ENUM,
     .def = "\"chronological\"",
     .choices = "chronological|shuffled",
     .doc = "history items earliest first, or shuffled (seeded)"},
    {.name = "candidate_order",
     .type = ASSAY_OPT_ENUM,
     .def = "\"shuffled\"",
     .choices = "shuffled|target_first|given",
     .doc = "candidates shuffled (seeded), with the target first (the "
            "position-bias probe), or in input order"},
    {.name = "shuffle_seed",
     .type = ASSAY_OPT_INT,
     .doc = "seed of the shuffles (the same for every node that sets it, "
            "so variants see the same candidate order); default: the "
            "node's seed"},
    {.name = "prompt",
     .type = ASSAY_OPT_ENUM,
     .def = "\"history\"",
     .choices = "history|no_history|profile|profile_history|"
                "candidate_first|in_context",
     .doc = "what the prompt shows: history, nothing, a profile, both, "
            "candidates before history, or the last item as an in-context "
            "answer"},
    {.name = "annotate",
     .type = ASSAY_OPT_ENUM,
     .def = "\"none\"",
     .choices = "none|category|rating",
     .doc = "write items as title:category, or history items as "
            "title:rating"},
    {.name = "dataset",
     .type = ASSAY_OPT_STRING,
     .def = "\"an online platform\"",
     .doc = "name of the platform in the prompt (e.g. MovieLens)"},
    {.name = "variant",
     .type = ASSAY_OPT_INT,
     .def = "-1",
     .has_min = true,
     .min = -1,
     .has_max = true,
     .max = 15,
     .doc = "which paraphrased user message to use; -1: one at random per "
            "query (seeded)"},
    {.name = "template",
     .type = ASSAY_OPT_STRING,
     .doc = "prompt template text overriding the built-in one"},
    {.name = "template_file",
     .type = ASSAY_OPT_STRING,
     .doc = "file holding the prompt template (relative to the YAML)"},
    {.name = "max_reasks",
     .type = ASSAY_OPT_INT,
     .def = "2",
     .has_min = true,
     .min = 0,
     .has_max = true,
     .max = 10,
     .doc = "re-asks (with a repair turn) when an answer holds no list or "
            "not exactly k titles"},
    {.name = "on_error",
     .type = ASSAY_OPT_ENUM,
     .def = "\"record\"",
     .choices = "record|fail",
     .doc = "a failed LLM request marks the query failed (no scores), or "
            "fails the node"},
    {.name = "id_field",
     .type = ASSAY_OPT_STRING,
     .def = "\"item\"",
     .doc = "items: the id column"},
    {.name = "title_field",
     .type = ASSAY_OPT_STRING,
     .doc = "items: the title column (default: title, movie_title, name "
            "or item_name)"},
    {.name = "category_field",
     .type = ASSAY_OPT_STRING,
     .doc = "items: the category column (default: genres, class, "
            "category, categories or genre)"},
    {.name = "year_field",
     .type = ASSAY_OPT_STRING,
     .doc = "items: the year column that separates equal titles (default: "
            "year or release_year)"},
    {.name = "profile_field",
     .type = ASSAY_OPT_STRING,
     .def = "\"profile\"",
     .doc = "profiles: the field holding the text"},
    {0}};

static const assay_plugin rl_plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "rec.llm",
    .kind = "recommender",
    .version = "1.0.0",
    .summary = "An LLM as recommender: ranks candidate titles from a "
               "user's history (EvaLLMasRecommender protocol)",
    .doc = "Asks the endpoint `llm` to pick and rank the top k of a candidate "
           "list for each user, following the LLM-as-recommender protocol of "
           "Jiang et al., 'Beyond Utility: Evaluating LLM as Recommender' (WWW "
           "2025).\n"
           "Ranking task: each query of `candidates` (protocol.negatives with "
           "n: 19 gives the paper's 1 target + 19 negatives) shows its target "
           "and the first n_candidates - 1 negatives; candidate_order "
           "shuffles them (seeded per query; shuffle_seed makes several nodes "
           "share one order), puts the target first (the position-bias "
           "probe) or keeps the input order. Re-ranking task: for each row of "
           "`test`, the candidates are pooled round-robin from the lists on "
           "`pools` (each list's next item in turn, duplicates skipped) until "
           "n_candidates are collected; the target may be missing, as in the "
           "paper.\n"
           "The prompt shows the user's last history_len items of train + "
           "valid (earliest first, or shuffled), optionally a profile "
           "(`profiles` input, prompts profile and profile_history), "
           "categories or ratings (annotate), and the candidates as a Python "
           "list of titles. A system message states the rules: pick only from "
           "the candidates, rank, answer with a Python list of exactly k "
           "titles and nothing else. One of five paraphrased user messages is "
           "drawn per query (variant).\n"
           "Parsing: the bracketed list of quoted titles with the most "
           "elements (Python or JSON quoting, smart quotes, unescaped "
           "apostrophes, comments), else numbered or bulleted lines, else a "
           "bare [a, b] list. No list, or not exactly k titles, is a format "
           "violation: the model is re-asked with a repair turn up to "
           "max_reasks times; the compliance rate counts first answers "
           "(1 - (format errors + length errors) / answered), "
           "final_compliance_rate the last ones. Extra titles are cut at k.\n"
           "Mapping each title to an item: exact title, then case-insensitive, "
           "then normalised (HTML entities, typographic quotes, accents, a "
           "trailing year, 'Title, The' article order, punctuation and "
           "spaces); candidates win over other items with the same title, then "
           "the item whose year the title names, then the lowest id; an "
           "explanation after ' - ' and an echoed ':category' or ':rating' are "
           "ignored. "
           "Unlike the paper's substring search, 'Toy Story 2' never matches "
           "'Toy Story'. Different items sharing a title in one list are "
           "shown with their years ('Cape Fear (1991)'), which map back. A "
           "title that matches no item is a hallucination (id 0 "
           "in the paper); hallucination_rate = hallucinated titles / titles "
           "kept (the paper pads short lists with ids 0 and counts them over k "
           "slots: compare n_titles).\n"
           "Outputs: `lists` records {system, query, user, target, targets, "
           "items (recommended ids in rank order, hallucinations and "
           "duplicates removed), scores, titles, match (exact/case/normalised/"
           "none per title), candidates (shown order), target_position, "
           "positions (shown position of each recommended item, 0 outside "
           "the candidates), rank, hallucinated, out_of_candidates, "
           "from_history, duplicates, n_titles, history, history_len, prompt, "
           "order, task, variant, status (ok, noncompliant, failed), "
           "first_answer, attempts, answers} for metric.llmrec and "
           "judge.recsys-arena; `scores` in the candidates layout for "
           "metric.ranking (use ties: pessimistic so that an unrecommended "
           "target ranks last, as the paper's rank 20); `info`. A failed "
           "request (or a missing profile) makes a failed record without "
           "scores (on_error: record).\n"
           "Template: option template or template_file; '@@ system @@', one "
           "or more '@@ user @@' paraphrases and '@@ repair @@'; fields "
           "dataset, user, k, n, history, profile, candidates, by_category, "
           "by_rating, earlier, last_item; repair: k, no_list, got.\n\n"
           "Default template (rank.txt):\n" REC_LLM_TPL_RANK,
    .inputs = rl_inputs,
    .outputs = rl_outputs,
    .options = rl_options,
    .flags = ASSAY_F_ALL_ITEMS | ASSAY_F_NEEDS_LLM,
    .create = rl_create,
    .run = rl_run_node,
    .destroy = rl_destroy,
    .estimate = rl_estimate,
};

static const assay_plugin *const rl_list[] = {&rl_plugin, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi)
{
    (void)host_abi;
    return rl_list;
}
