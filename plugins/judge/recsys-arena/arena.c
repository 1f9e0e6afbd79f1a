/*
 * judge.recsys-arena - pairwise evaluation of recommenders by an LLM
 * role-playing each user (RecSys Arena, Wu et al., arXiv 2412.11068):
 * per user, a profile, the recent history and two systems' top-k lists;
 * a verdict per aspect in both presentation orders; counts, Q and its
 * bootstrap interval per pair and aspect; the arena's ordering of the
 * systems against an offline metric's.
 */
#include <assay/plugin.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "arena_tpl.h"
#include "lr.h"

#define AR_EST_COMPLETION 700
#define AR_MAX_SYSTEMS 32

enum { PROF_AUTO, PROF_GENERATED, PROF_FEATURES, PROF_NONE };

typedef struct ar_state {
    const assay_host *h;
    char *endpoint;
    const char *endpoint_opt;
    json_t *params, *opts;
    lr_prompts prompts;
    bool swap, pairs_first, require_all, on_error_record, with_genres;
    int profile;
    size_t k, hist_len;
    unsigned max_reasks, resamples;
    double level;
    char *platform;
} ar_state;

static void ar_destroy(void *state)
{
    ar_state *s = state;
    if (!s)
        return;
    free(s->endpoint);
    free(s->platform);
    json_decref(s->params);
    json_decref(s->opts);
    lr_prompts_free(&s->prompts);
    free(s);
}

static int ar_create(const assay_host *h, const json_t *o, void **state,
                     assay_error *err)
{
    ar_state *s = calloc(1, sizeof *s);
    int rc;
    if (!s)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    s->h = h;
    s->endpoint_opt = assay_opt_str(o, "llm");
    s->endpoint = jc_strdup(s->endpoint_opt);
    s->platform = jc_strdup(assay_opt_str(o, "platform"));
    s->opts = json_deep_copy(o);
    if (!s->endpoint || !s->platform || !s->opts)
        goto nomem;
    json_t *p = json_object_get(o, "params");
    if (json_is_object(p) && !(s->params = json_deep_copy(p)))
        goto nomem;
    s->swap = assay_opt_bool(o, "swap");
    s->pairs_first = !strcmp(assay_opt_str(o, "pairs"), "first");
    s->require_all = strcmp(assay_opt_str(o, "require"), "overall") != 0;
    s->on_error_record = strcmp(assay_opt_str(o, "on_error"), "fail") != 0;
    s->with_genres = assay_opt_bool(o, "genres");
    const char *pr = assay_opt_str(o, "profile");
    s->profile = !strcmp(pr, "generated")  ? PROF_GENERATED
                 : !strcmp(pr, "features") ? PROF_FEATURES
                 : !strcmp(pr, "none")     ? PROF_NONE
                                           : PROF_AUTO;
    s->k = (size_t)assay_opt_int(o, "top_k");
    s->hist_len = (size_t)assay_opt_int(o, "history_len");
    s->max_reasks = (unsigned)assay_opt_int(o, "max_reasks");
    s->resamples = (unsigned)assay_opt_int(o, "bootstrap");
    s->level = assay_opt_num(o, "ci_level");
    if ((rc = lr_prompts_option(h, o, "template", "template_file",
                                JUDGE_TPL_ARENA, &s->prompts, err)))
        goto fail;
    *state = s;
    return ASSAY_OK;
nomem:
    rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
fail:
    ar_destroy(s);
    return rc;
}

/* ---- systems --------------------------------------------------------- */

/* One system's lists: users sorted, each with its first record's items. */
typedef struct ar_ulist {
    int64_t user;
    const json_t *items; /* borrowed from the input */
} ar_ulist;

typedef struct ar_sys {
    const char *name; /* borrowed (options or records) */
    char fallback[32];
    ar_ulist *u;
    size_t n;
} ar_sys;

static int ulist_cmp(const void *a, const void *b)
{
    const ar_ulist *x = a, *y = b;
    return (x->user > y->user) - (x->user < y->user);
}

static const json_t *sys_items(const ar_sys *s, int64_t user)
{
    ar_ulist key = {user, NULL};
    const ar_ulist *p = bsearch(&key, s->u, s->n, sizeof *s->u, ulist_cmp);
    return p ? p->items : NULL;
}

static int read_sys(const json_t *recs, size_t idx, const json_t *names,
                    ar_sys *out, assay_error *err)
{
    size_t n = json_array_size(recs), m = 0;
    snprintf(out->fallback, sizeof out->fallback, "system%zu", idx + 1);
    out->name = json_string_value(json_array_get(names, idx));
    if (!out->name)
        out->name = json_string_value(
            json_object_get(json_array_get(recs, 0), "system"));
    if (!out->name)
        out->name = out->fallback;
    out->u = malloc((n ? n : 1) * sizeof *out->u);
    if (!out->u)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const json_t *rec = json_array_get(recs, i);
        double u;
        json_t *items;
        int rc;
        if ((rc = assay_rec_num(rec, i, "user", &u, err)) ||
            (rc = assay_rec_get(rec, i, "items", &items, err)))
            return rc;
        if (!json_is_array(items))
            return assay_error_set(err, ASSAY_EDATA,
                                   "record %zu: field 'items': expected an "
                                   "array",
                                   i);
        /* a failed LLM query has no list: leave the user out */
        const char *st = json_string_value(json_object_get(rec, "status"));
        if (st && !strcmp(st, "failed"))
            continue;
        out->u[m++] = (ar_ulist){(int64_t)u, items};
    }
    /* stable by user: the first record of a user wins */
    for (size_t i = 1; i < m; i++)
        for (size_t j = i; j > 0 && out->u[j - 1].user > out->u[j].user; j--) {
            ar_ulist t = out->u[j];
            out->u[j] = out->u[j - 1];
            out->u[j - 1] = t;
        }
    size_t w = 0;
    for (size_t i = 0; i < m; i++)
        if (!w || out->u[w - 1].user != out->u[i].user)
            out->u[w++] = out->u[i];
    out->n = w;
    return ASSAY_OK;
}

static int read_systems(ar_state *s, assay_io *io, ar_sys **out, size_t *nout,
                        assay_error *err)
{
    const assay_host *h = s->h;
    assay_type t = h->in_type(io, "systems");
    const json_t *v = t == ASSAY_T_RECORDS ? h->in_records(io, "systems")
                                           : h->in_json(io, "systems");
    *out = NULL;
    *nout = 0;
    if (!json_is_array(v))
        return assay_error_set(err, ASSAY_EDATA,
                               "input 'systems': expected a list of top-k "
                               "lists (connect two or more rec.* lists)");
    bool nested = json_array_size(v) && json_is_array(json_array_get(v, 0));
    size_t n = nested ? json_array_size(v) : 1;
    if (n < 2)
        return assay_error_set(err, ASSAY_EINVAL,
                               "input 'systems': the arena needs two "
                               "systems at least, got %zu",
                               n);
    if (n > AR_MAX_SYSTEMS)
        return assay_error_set(err, ASSAY_EINVAL,
                               "input 'systems': at most %d systems",
                               AR_MAX_SYSTEMS);
    ar_sys *sys = calloc(n, sizeof *sys);
    if (!sys)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    const json_t *names = json_object_get(s->opts, "names");
    for (size_t i = 0; i < n; i++) {
        int rc = read_sys(json_array_get(v, i), i, names, &sys[i], err);
        if (rc) {
            assay_error_prefix(err, "input 'systems' value %zu: ", i + 1);
            for (size_t j = 0; j <= i; j++)
                free(sys[j].u);
            free(sys);
            return rc;
        }
        for (size_t j = 0; j < i; j++)
            if (!strcmp(sys[i].name, sys[j].name)) {
                rc = assay_error_set(err, ASSAY_EINVAL,
                                     "two systems are named '%s': set "
                                     "option 'names'",
                                     sys[i].name);
                for (size_t k = 0; k <= i; k++)
                    free(sys[k].u);
                free(sys);
                return rc;
            }
    }
    *out = sys;
    *nout = n;
    return ASSAY_OK;
}

/* ---- prompt texts ---------------------------------------------------- */

/* "; genres: A, B" after an item. */
static int put_genres(jc_buf *b, const char *cat)
{
    char *g = lr_genres_text(cat);
    int rc = g ? jc_buf_printf(b, "; genres: %s", g) : ASSAY_ENOMEM;
    free(g);
    return rc;
}

/*
 * Item lines of ids[0 .. n): "<prefix>Title; genres: A, B", where the
 * prefix is "1. ", "2. ", ... (`numbered`) or "- ".  Titles come from
 * lr_item_texts over the whole list, so two items with one title show
 * their years.
 */
static char *item_lines(const ar_state *s, const lr_cat *cat,
                        const int64_t *ids, size_t n, bool numbered)
{
    char **t = lr_item_texts(cat, ids, n, false, NULL);
    jc_buf b = {0};
    char *out = NULL;
    if (!t)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        long pos = lr_cat_find(cat, ids[i]);
        int rc = numbered ? jc_buf_printf(&b, "%s%zu. %s", i ? "\n" : "", i + 1,
                                          t[i])
                          : jc_buf_printf(&b, "%s- %s", i ? "\n" : "", t[i]);
        if (!rc && s->with_genres && pos >= 0 && cat->cat[pos])
            rc = put_genres(&b, cat->cat[pos]);
        if (rc) {
            jc_buf_free(&b);
            lr_strv_free(t, n);
            return NULL;
        }
    }
    lr_strv_free(t, n);
    if (jc_buf_take(&b, &out))
        return NULL;
    return out;
}

/* The first k items of a system's list as numbered lines. */
static char *list_text(const ar_state *s, const lr_cat *cat,
                       const json_t *items, size_t k)
{
    size_t n = json_array_size(items);
    if (n > k)
        n = k;
    int64_t *ids = malloc((n ? n : 1) * sizeof *ids);
    if (!ids)
        return NULL;
    for (size_t i = 0; i < n; i++)
        ids[i] = json_integer_value(json_array_get(items, i));
    char *out = item_lines(s, cat, ids, n, true);
    free(ids);
    return out;
}

/* The last `hist_len` history items of `user`, one per line. */
static char *history_text(const ar_state *s, const lr_cat *cat,
                          const lr_hist *hist, int64_t user)
{
    const int64_t *items;
    size_t len = lr_hist_get(hist, user, &items, NULL);
    size_t take = len < s->hist_len ? len : s->hist_len;
    return item_lines(s, cat, items + len - take, take, false);
}

/* ---- the judging -------------------------------------------------------- */

/* One (pair, user) judgement and its questions. */
typedef struct ar_job {
    size_t pair;
    int64_t user;
    long q[2];             /* question of each order, -1: none */
    int v[2][AR_NASPECTS]; /* per order, in the original labels */
    int fin[AR_NASPECTS];
    bool cons[AR_NASPECTS];
    bool failed;
    const char *why; /* no question: the reason */
} ar_job;

typedef struct ar_run {
    ar_state *s;
    lr_q *qs;
} ar_run;

/* Merge the verdicts of every answer of q (later answers win). */
static int merged(const lr_q *q, int v[AR_NASPECTS])
{
    int n = 0;
    for (int a = 0; a < AR_NASPECTS; a++)
        v[a] = AR_NONE;
    for (unsigned i = 0; i < q->n; i++) {
        int w[AR_NASPECTS];
        ar_parse(q->answers[i], w);
        for (int a = 0; a < AR_NASPECTS; a++)
            if (w[a] != AR_NONE)
                v[a] = w[a];
    }
    for (int a = 0; a < AR_NASPECTS; a++)
        n += v[a] != AR_NONE;
    return n;
}

static int ar_check(void *ud, lr_q *q, const char *text, char **repair,
                    assay_error *err)
{
    ar_run *r = ud;
    int v[AR_NASPECTS];
    (void)text;
    merged(q, v);
    jc_buf miss = {0};
    for (int a = 0; a < AR_NASPECTS; a++) {
        bool need = r->s->require_all || a == AR_OVERALL;
        if (need && v[a] == AR_NONE &&
            jc_buf_printf(&miss, "%s%s", miss.len ? ", " : "",
                          ar_aspect_name(a))) {
            jc_buf_free(&miss);
            return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        }
    }
    if (!miss.len)
        return 0;
    const jc_prompt *p = &r->s->prompts.v[0];
    int rc = 0;
    if (p->repair && q->n <= q->max_reasks) {
        json_t *ctx = json_pack("{s:s}", "missing", miss.p);
        rc = ctx ? jc_tpl_render(p->repair, ctx, q->item, repair, err)
                 : assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        json_decref(ctx);
    }
    jc_buf_free(&miss);
    return rc ? rc : 1;
}

/* JSON number, or null for NAN. */
static json_t *num_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static bool put(json_t *o, const char *k, json_t *v)
{
    return json_object_set_new(o, k, v) == 0;
}

static json_t *aspects_json(const int v[AR_NASPECTS])
{
    json_t *o = json_object();
    for (int a = 0; o && a < AR_NASPECTS; a++) {
        const char *n = ar_verdict_name(v[a]);
        if (!put(o, ar_aspect_key(a), n ? json_string(n) : json_null())) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

/* The value at '/'-separated `path` in `v`, as a number (NAN if none). */
static double path_num(const json_t *v, const char *path)
{
    char part[128];
    const char *p = path;
    while (v && *p) {
        const char *sl = strchr(p, '/');
        size_t n = sl ? (size_t)(sl - p) : strlen(p);
        if (n >= sizeof part)
            return NAN;
        memcpy(part, p, n);
        part[n] = '\0';
        v = json_object_get(v, part);
        p += n + (sl ? 1 : 0);
    }
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* Profile text of `user`, or NULL (borrowed or in *owned). */
typedef struct prof_src {
    const json_t *recs; /* generated profiles */
    lr_rowidx recidx;   /* user -> record */
    const assay_table *users;
    lr_rowidx uidx;
    const json_t *fields;
} prof_src;

static const char *profile_of(const ar_state *s, prof_src *ps, int64_t user,
                              char **owned)
{
    *owned = NULL;
    if (s->profile == PROF_NONE)
        return NULL;
    if (ps->recs && s->profile != PROF_FEATURES) {
        long r = lr_rowidx_find(&ps->recidx, user);
        const char *t =
            r >= 0 ? json_string_value(json_object_get(
                         json_array_get(ps->recs, (size_t)r), "profile"))
                   : NULL;
        if (t && *t)
            return t;
        if (s->profile == PROF_GENERATED)
            return NULL;
    }
    if (ps->users && s->profile != PROF_GENERATED) {
        long r = lr_rowidx_find(&ps->uidx, user);
        if (r >= 0) {
            *owned = lr_feature_profile(ps->users, (size_t)r, ps->fields);
            return *owned;
        }
    }
    return NULL;
}

/* Index of the generated profiles' records by user. */
static int index_profiles(const json_t *recs, lr_rowidx *x, assay_error *err)
{
    size_t n = json_array_size(recs);
    int64_t *u = malloc((n ? n : 1) * sizeof *u);
    if (!u)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        double d;
        int rc = assay_rec_num(json_array_get(recs, i), i, "user", &d, err);
        if (rc) {
            free(u);
            assay_error_prefix(err, "input 'profiles': ");
            return rc;
        }
        u[i] = (int64_t)d;
    }
    assay_column col = {"user", ASSAY_COL_INT64, u};
    assay_table t = {n, 1, &col};
    int rc = lr_rowidx_build(x, &t, "user", "profiles", err);
    free(u);
    return rc;
}

typedef struct ar_pair {
    size_t a, b;
} ar_pair;

static int ar_run_node(void *state, assay_io *io, assay_error *err)
{
    ar_state *s = state;
    const assay_host *h = s->h;
    ar_sys *sys = NULL;
    size_t ns = 0, np = 0, nj = 0, nq = 0, capj = 0;
    ar_pair *pairs = NULL;
    ar_job *jobs = NULL;
    lr_q *qs = NULL;
    lr_cat cat = {0};
    lr_hist hist = {0};
    rc_inter parts[2];
    size_t nparts = 0;
    prof_src ps = {0};
    json_t *verdicts = NULL, *prows = NULL, *summary = NULL, *info = NULL;
    lr_ask_stats st = {0};
    int *vbuf = NULL;
    int rc;

    if ((rc = read_systems(s, io, &sys, &ns, err)) ||
        (rc = lr_hist_inputs(h, io, parts, &nparts, err)) ||
        (rc = lr_hist_build(&hist, parts, nparts, err)) ||
        (rc = lr_cat_build(&cat, h->in_table(io, "items"), "items",
                           assay_opt_str(s->opts, "id_field"),
                           assay_opt_str(s->opts, "title_field"),
                           assay_opt_str(s->opts, "category_field"),
                           assay_opt_str(s->opts, "year_field"), err)))
        goto done;
    ps.fields = json_object_get(s->opts, "profile_fields");
    ps.recs = h->in_type(io, "profiles") ? h->in_records(io, "profiles") : NULL;
    ps.users = h->in_table(io, "users");
    if (ps.recs && (rc = index_profiles(ps.recs, &ps.recidx, err)))
        goto done;
    if (ps.users &&
        (rc = lr_rowidx_build(&ps.uidx, ps.users, "user", "users", err)))
        goto done;
    if (s->profile == PROF_GENERATED && !ps.recs) {
        rc = assay_error_set(err, ASSAY_EINVAL,
                             "profile: generated needs the `profiles` "
                             "input (synth.user-profile)");
        goto done;
    }
    if (s->profile == PROF_FEATURES && !ps.users) {
        rc = assay_error_set(err, ASSAY_EINVAL,
                             "profile: features needs the `users` input");
        goto done;
    }
    /* pairs and their common users */
    pairs = calloc(ns * ns, sizeof *pairs);
    if (!pairs)
        goto nomem;
    for (size_t a = 0; a < ns; a++)
        for (size_t b = a + 1; b < ns; b++)
            if (!s->pairs_first || a == 0)
                pairs[np++] = (ar_pair){a, b};
    unsigned orders = s->swap ? 2 : 1;
    for (size_t p = 0; p < np; p++) {
        const ar_sys *A = &sys[pairs[p].a], *B = &sys[pairs[p].b];
        for (size_t i = 0; i < A->n; i++) {
            if (!sys_items(B, A->u[i].user))
                continue;
            if (nj == capj) {
                size_t nc = capj ? capj * 2 : 256;
                ar_job *j = realloc(jobs, nc * sizeof *j);
                if (!j)
                    goto nomem;
                jobs = j;
                capj = nc;
            }
            memset(&jobs[nj], 0, sizeof *jobs);
            jobs[nj].pair = p;
            jobs[nj].user = A->u[i].user;
            jobs[nj].q[0] = jobs[nj].q[1] = -1;
            nj++;
        }
    }
    qs = calloc(nj * orders + 1, sizeof *qs);
    if (!qs)
        goto nomem;
    for (size_t j = 0; j < nj; j++) {
        ar_job *x = &jobs[j];
        const ar_sys *A = &sys[pairs[x->pair].a], *B = &sys[pairs[x->pair].b];
        char *owned = NULL, *la = NULL, *lb = NULL, *hs = NULL;
        if (h->cancelled(h)) {
            rc = assay_error_set(err, ASSAY_ECANCELED, "cancelled");
            goto done;
        }
        const char *prof = profile_of(s, &ps, x->user, &owned);
        if (s->profile == PROF_GENERATED && !prof) {
            x->why = "no generated profile for this user";
            x->failed = true;
            continue;
        }
        la = list_text(s, &cat, sys_items(A, x->user), s->k);
        lb = list_text(s, &cat, sys_items(B, x->user), s->k);
        hs = history_text(s, &cat, &hist, x->user);
        if (!la || !lb || !hs) {
            free(owned);
            free(la);
            free(lb);
            free(hs);
            goto nomem;
        }
        for (unsigned o = 0; o < orders; o++) {
            json_t *ctx = json_pack(
                "{s:s, s:I, s:s, s:s}", "platform", s->platform, "k",
                (json_int_t)s->k, "list_a", o ? lb : la, "list_b", o ? la : lb);
            if (!ctx ||
                (prof && *prof && !put(ctx, "profile", json_string(prof))) ||
                (*hs && !put(ctx, "history", json_string(hs)))) {
                json_decref(ctx);
                rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            } else {
                lr_q *q = &qs[nq];
                rc = jc_prompt_render(&s->prompts.v[0], ctx, j, &q->system,
                                      &q->user, err);
                json_decref(ctx);
                q->max_reasks = s->max_reasks;
                q->item = j;
                q->tag = j;
                x->q[o] = (long)nq++;
            }
            if (rc)
                break;
        }
        free(owned);
        free(la);
        free(lb);
        free(hs);
        if (rc)
            goto done;
    }
    h->log(h, ASSAY_LOG_INFO,
           "%zu systems, %zu pairs, %zu judgements, %zu requests before "
           "re-asks",
           ns, np, nj, nq);
    ar_run run = {s, qs};
    if ((rc = lr_ask_run(h, s->endpoint, s->params, qs, nq, ar_check, &run,
                         "Please give the verdict line.", &st, err)))
        goto done;

    /* verdicts per judgement */
    verdicts = json_array();
    if (!verdicts)
        goto nomem;
    for (size_t j = 0; j < nj; j++) {
        ar_job *x = &jobs[j];
        const ar_sys *A = &sys[pairs[x->pair].a], *B = &sys[pairs[x->pair].b];
        json_t *rec = json_object(), *ords = json_array();
        char pname[160];
        snprintf(pname, sizeof pname, "%s vs %s", A->name, B->name);
        if (!rec || !ords || json_array_append_new(verdicts, rec) ||
            !put(rec, "pair", json_string(pname)) ||
            !put(rec, "a", json_string(A->name)) ||
            !put(rec, "b", json_string(B->name)) ||
            !put(rec, "user", json_integer(x->user)) ||
            !put(rec, "orders", ords))
            goto nomem;
        for (unsigned o = 0; o < orders && x->q[o] >= 0; o++) {
            lr_q *q = &qs[x->q[o]];
            int v[AR_NASPECTS];
            json_t *oj = json_object();
            if (!oj || json_array_append_new(ords, oj) ||
                !put(oj, "order", json_string(o ? "BA" : "AB")) ||
                !put(oj, "answers", lr_q_answers(q)) ||
                !put(oj, "reasks",
                     json_integer(q->n ? (json_int_t)q->n - 1 : 0)))
                goto nomem;
            if (q->status == LR_Q_FAILED) {
                x->failed = true;
                if (!s->on_error_record) {
                    rc = assay_error_set(
                        err,
                        q->error && strstr(q->error, "budget") ? ASSAY_EBUDGET
                                                               : ASSAY_ELLM,
                        "pair %s, user %lld: %s (set on_error: record to "
                        "keep going)",
                        pname, (long long)x->user, q->error);
                    goto done;
                }
                if (!put(oj, "status", json_string("failed")) ||
                    !put(oj, "error", json_string(q->error)))
                    goto nomem;
                continue;
            }
            merged(q, v);
            /* back to the original labels */
            for (int a = 0; a < AR_NASPECTS; a++)
                x->v[o][a] = o ? ar_flip(v[a]) : v[a];
            if (!put(oj, "status",
                     json_string(q->status == LR_Q_OK ? "ok" : "partial")) ||
                !put(oj, "aspects", aspects_json(x->v[o])))
                goto nomem;
        }
        json_t *cons = json_object();
        if (!put(rec, "consistent", cons))
            goto nomem;
        for (int a = 0; a < AR_NASPECTS; a++) {
            if (x->failed) {
                x->fin[a] = AR_NONE;
            } else if (s->swap) {
                x->fin[a] = ar_combine(x->v[0][a], x->v[1][a], &x->cons[a]);
                if (!put(cons, ar_aspect_key(a),
                         x->fin[a] == AR_NONE ? json_null()
                                              : json_boolean(x->cons[a])))
                    goto nomem;
            } else {
                x->fin[a] = x->v[0][a];
            }
        }
        bool any = false;
        for (int a = 0; a < AR_NASPECTS; a++)
            any |= x->fin[a] != AR_NONE;
        if (!put(rec, "aspects", aspects_json(x->fin)) ||
            !put(rec, "status",
                 json_string(x->failed ? "failed"
                             : any     ? "ok"
                                       : "invalid")))
            goto nomem;
        if (x->why && !put(rec, "error", json_string(x->why)))
            goto nomem;
    }

    /* counts, Q and its interval per pair and aspect */
    prows = json_array();
    summary = json_object();
    json_t *spairs = json_object();
    vbuf = malloc((nj + 1) * sizeof *vbuf);
    if (!prows || !summary || !spairs || !vbuf ||
        !put(summary, "pairs", spairs) ||
        !put(summary, "swap", json_boolean(s->swap)) ||
        !put(summary, "judgements", json_integer((json_int_t)nj)))
        goto nomem;
    double points[AR_MAX_SYSTEMS] = {0}, games[AR_MAX_SYSTEMS] = {0};
    size_t cons_n = 0, cons_ok = 0;
    uint64_t seed = h->seed(h, "bootstrap");
    for (size_t p = 0; p < np; p++) {
        const ar_sys *A = &sys[pairs[p].a], *B = &sys[pairs[p].b];
        char pname[160];
        snprintf(pname, sizeof pname, "%s vs %s", A->name, B->name);
        json_t *po = json_object();
        if (!put(spairs, pname, po) || !put(po, "a", json_string(A->name)) ||
            !put(po, "b", json_string(B->name)))
            goto nomem;
        size_t users = 0, failed = 0;
        for (size_t j = 0; j < nj; j++)
            if (jobs[j].pair == p) {
                users++;
                failed += jobs[j].failed;
            }
        if (!put(po, "users", json_integer((json_int_t)users)) ||
            !put(po, "failed", json_integer((json_int_t)failed)))
            goto nomem;
        for (int a = 0; a < AR_NASPECTS; a++) {
            double c[4] = {0, 0, 0, 0};
            size_t n = 0, cn = 0, cok = 0;
            for (size_t j = 0; j < nj; j++) {
                const ar_job *x = &jobs[j];
                if (x->pair != p || x->failed)
                    continue;
                vbuf[n++] = x->fin[a];
                c[x->fin[a]] += 1;
                if (s->swap && x->fin[a] != AR_NONE) {
                    cn++;
                    cok += x->cons[a];
                }
            }
            double q = ar_q(c[AR_A], c[AR_TIE], c[AR_B]), lo, hi;
            unsigned used;
            ar_q_ci(vbuf, n, s->resamples, s->level,
                    lr_mix(seed, p * AR_NASPECTS + (uint64_t)a), &lo, &hi,
                    &used);
            cons_n += cn;
            cons_ok += cok;
            json_t *row = json_pack(
                "{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:o, s:o, s:o}",
                "pair", pname, "a", A->name, "b", B->name, "aspect",
                ar_aspect_key(a), "wins_a", (json_int_t)c[AR_A], "ties",
                (json_int_t)c[AR_TIE], "wins_b", (json_int_t)c[AR_B], "invalid",
                (json_int_t)c[AR_NONE], "q", num_or_null(q), "q_ci_low",
                num_or_null(lo), "q_ci_high", num_or_null(hi));
            if (!row || json_array_append_new(prows, row) ||
                !put(row, "swap_consistency",
                     s->swap && cn ? json_real((double)cok / (double)cn)
                                   : json_null()) ||
                !put(po, ar_aspect_key(a), json_deep_copy(row)))
                goto nomem;
            if (a == AR_OVERALL) {
                points[pairs[p].a] += c[AR_A] + 0.5 * c[AR_TIE];
                points[pairs[p].b] += c[AR_B] + 0.5 * c[AR_TIE];
                games[pairs[p].a] += c[AR_A] + c[AR_B] + c[AR_TIE];
                games[pairs[p].b] += c[AR_A] + c[AR_B] + c[AR_TIE];
            }
        }
    }
    if (!put(summary, "swap_consistency",
             s->swap && cons_n ? json_real((double)cons_ok / (double)cons_n)
                               : json_null()))
        goto nomem;

    /* the arena's ordering against the offline metric's */
    const json_t *off =
        h->in_type(io, "offline") ? h->in_json(io, "offline") : NULL;
    const char *metric = assay_opt_str(s->opts, "offline_metric");
    double score[AR_MAX_SYSTEMS], offv[AR_MAX_SYSTEMS];
    json_t *sj = json_array();
    if (!put(summary, "systems", sj))
        goto nomem;
    size_t noff = 0;
    for (size_t i = 0; i < ns; i++) {
        score[i] = games[i] > 0 ? points[i] / games[i] : NAN;
        /* one offline value per system, in the systems' order */
        const json_t *ov =
            json_array_size(off) == ns ? json_array_get(off, i) : NULL;
        offv[i] = metric && ov ? path_num(ov, metric) : NAN;
        noff += isfinite(offv[i]);
        json_t *o =
            json_pack("{s:s, s:o, s:f, s:o}", "name", sys[i].name,
                      "arena_score", num_or_null(score[i]), "judgements",
                      games[i], "offline", num_or_null(offv[i]));
        if (!o || json_array_append_new(sj, o))
            goto nomem;
    }
    json_t *corr = json_object();
    if (!put(summary, "correlation", corr) ||
        !put(corr, "metric", metric ? json_string(metric) : json_null()))
        goto nomem;
    if (noff == ns && ns >= 2) {
        double sp = ar_spearman(score, offv, ns);
        double kt = ar_kendall(score, offv, ns);
        bool agree = true;
        for (size_t i = 0; i < ns; i++)
            for (size_t j = 0; j < ns; j++)
                if ((score[i] > score[j]) != (offv[i] > offv[j]))
                    agree = false;
        if (!put(corr, "spearman", num_or_null(sp)) ||
            !put(corr, "kendall", num_or_null(kt)) ||
            !put(corr, "same_order", json_boolean(agree)) ||
            !put(corr, "systems", json_integer((json_int_t)ns)))
            goto nomem;
    } else if (metric) {
        h->log(h, ASSAY_LOG_WARN,
               "offline metric '%s' found for %zu of %zu systems: no rank "
               "correlation",
               metric, noff, ns);
    }
    info = lr_info(h, s->endpoint, &st);
    if (!info || !put(info, "systems", json_integer((json_int_t)ns)) ||
        !put(info, "pairs", json_integer((json_int_t)np)) ||
        !put(info, "judgements", json_integer((json_int_t)nj)) ||
        !put(info, "orders", json_integer(orders)))
        goto nomem;
    rc = h->out_records(io, "verdicts", verdicts, err);
    verdicts = NULL;
    if (rc)
        goto done;
    rc = h->out_records(io, "pairs", prows, err);
    prows = NULL;
    if (rc)
        goto done;
    rc = h->out_json(io, "summary", summary, err);
    summary = NULL;
    if (rc)
        goto done;
    rc = h->out_json(io, "info", info, err);
    info = NULL;
    goto done;
nomem:
    rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
done:
    for (size_t i = 0; qs && i < nq; i++)
        lr_q_clear(&qs[i]);
    free(qs);
    free(jobs);
    free(pairs);
    free(vbuf);
    for (size_t i = 0; sys && i < ns; i++)
        free(sys[i].u);
    free(sys);
    json_decref(verdicts);
    json_decref(prows);
    json_decref(summary);
    json_decref(info);
    lr_rowidx_free(&ps.recidx);
    lr_rowidx_free(&ps.uidx);
    lr_cat_free(&cat);
    lr_hist_free(&hist);
    return rc;
}

static int ar_estimate(void *state, assay_io *io, assay_estimate *est,
                       assay_error *err)
{
    ar_state *s = state;
    const assay_host *h = s->h;
    (void)err;
    est->endpoint = s->endpoint_opt;
    uint64_t per = (s->swap ? 2u : 1u) * (1u + s->max_reasks);
    if (!h->in_type(io, "systems")) {
        h->log(h, ASSAY_LOG_INFO,
               "estimate: the lists are not known yet; each user of each "
               "pair costs up to %llu requests",
               (unsigned long long)per);
        return ASSAY_OK;
    }
    const json_t *v = h->in_type(io, "systems") == ASSAY_T_RECORDS
                          ? h->in_records(io, "systems")
                          : h->in_json(io, "systems");
    size_t ns = json_is_array(json_array_get(v, 0)) ? json_array_size(v) : 1;
    size_t users = json_array_size(json_array_get(v, 0));
    size_t np = s->pairs_first ? (ns ? ns - 1 : 0) : ns * (ns - 1) / 2;
    uint64_t req = (uint64_t)np * users * per;
    lr_estimate_fill(est, s->endpoint_opt, req,
                     req * (2200 + 60 * (2 * s->k + s->hist_len)), s->params,
                     AR_EST_COMPLETION);
    return ASSAY_OK;
}

static const assay_port ar_inputs[] = {
    {.name = "systems",
     .type = ASSAY_T_ANY,
     .required = true,
     .multi = true,
     .doc = "two or more recommenders' top-k lists {user, items} (rec.* or "
            "rec.llm lists), one value per system"},
    {.name = "train",
     .type = ASSAY_T_TABLE,
     .required = true,
     .doc = "interactions (user, item[, timestamp]): the recent history "
            "shown"},
    {.name = "valid",
     .type = ASSAY_T_TABLE,
     .doc = "more interactions appended to the history"},
    {.name = "items",
     .type = ASSAY_T_TABLE,
     .required = true,
     .doc = "the catalogue: item id, title[, genres]"},
    {.name = "users",
     .type = ASSAY_T_TABLE,
     .doc = "user features for templated profiles (age, gender, "
            "occupation, ...)"},
    {.name = "profiles",
     .type = ASSAY_T_RECORDS,
     .doc = "generated profiles {user, profile} (synth.user-profile)"},
    {.name = "offline",
     .type = ASSAY_T_JSON,
     .multi = true,
     .doc = "offline metrics of the same systems in the same order (e.g. "
            "their metrics outputs), for the rank correlation"},
    {0}};

static const assay_port ar_outputs[] = {
    {.name = "verdicts",
     .type = ASSAY_T_RECORDS,
     .doc = "per pair and user: the final verdict per aspect, each "
            "order's verdicts and answers, swap consistency",
     .chart = "table"},
    {.name = "pairs",
     .type = ASSAY_T_RECORDS,
     .doc = "per pair and aspect: wins A, ties, wins B, invalid, Q with "
            "its bootstrap CI, swap consistency",
     .chart = "stacked"},
    {.name = "summary",
     .type = ASSAY_T_JSON,
     .doc = "per pair and aspect counts and Q, the systems' arena scores "
            "and the rank correlation with the offline metric"},
    {.name = "info",
     .type = ASSAY_T_JSON,
     .doc = "requests, re-asks, tokens, endpoint"},
    {0}};

static const assay_option ar_options[] = {
    {.name = "llm",
     .type = ASSAY_OPT_STRING,
     .required = true,
     .doc = "endpoint (name in the experiment's llm: section) that judges"},
    {.name = "params",
     .type = ASSAY_OPT_OBJECT,
     .doc = "request parameters overriding the endpoint's defaults (the "
            "paper uses temperature 0)"},
    {.name = "names",
     .type = ASSAY_OPT_LIST,
     .def = "[]",
     .doc = "system names in input order (default: the records' system "
            "field, else system1, system2, ...)"},
    {.name = "pairs",
     .type = ASSAY_OPT_ENUM,
     .def = "\"all\"",
     .choices = "all|first",
     .doc = "judge every pair of systems, or each system against the "
            "first (as the paper's 'vs FM' runs)"},
    {.name = "top_k",
     .type = ASSAY_OPT_INT,
     .def = "5",
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 50,
     .doc = "items of each list shown (the paper: 5)"},
    {.name = "history_len",
     .type = ASSAY_OPT_INT,
     .def = "5",
     .has_min = true,
     .min = 0,
     .has_max = true,
     .max = 200,
     .doc = "the user's most recent items shown (the paper: 5)"},
    {.name = "genres",
     .type = ASSAY_OPT_BOOL,
     .def = "true",
     .doc = "show each item's genres next to its title"},
    {.name = "profile",
     .type = ASSAY_OPT_ENUM,
     .def = "\"auto\"",
     .choices = "auto|generated|features|none",
     .doc = "the user's description: LLM-generated (`profiles`), templated "
            "from `users` features, none; auto: generated when connected, "
            "else features"},
    {.name = "profile_fields",
     .type = ASSAY_OPT_LIST,
     .def = "[\"age\", \"gender\", \"occupation\"]",
     .doc = "user columns templated into the profile sentence"},
    {.name = "platform",
     .type = ASSAY_OPT_STRING,
     .def = "\"movie\"",
     .doc = "kind of platform the judge imagines using (movie, news, ...)"},
    {.name = "swap",
     .type = ASSAY_OPT_BOOL,
     .def = "true",
     .doc = "judge both orders (A,B) and (B,A); disagreement counts as a "
            "tie"},
    {.name = "require",
     .type = ASSAY_OPT_ENUM,
     .def = "\"all\"",
     .choices = "all|overall",
     .doc = "re-ask while any aspect (all) or the overall verdict has no "
            "verdict"},
    {.name = "max_reasks",
     .type = ASSAY_OPT_INT,
     .def = "2",
     .has_min = true,
     .min = 0,
     .has_max = true,
     .max = 10,
     .doc = "re-asks with the repair message naming the missing aspects"},
    {.name = "on_error",
     .type = ASSAY_OPT_ENUM,
     .def = "\"record\"",
     .choices = "record|fail",
     .doc = "a failed request marks the judgement failed (counted, never "
            "scored), or fails the node"},
    {.name = "bootstrap",
     .type = ASSAY_OPT_INT,
     .def = "1000",
     .has_min = true,
     .min = 0,
     .has_max = true,
     .max = 100000,
     .doc = "bootstrap resamples of users for the CI of Q (0: none)"},
    {.name = "ci_level",
     .type = ASSAY_OPT_FLOAT,
     .def = "0.95",
     .has_min = true,
     .min = 0.5,
     .has_max = true,
     .max = 0.999,
     .doc = "confidence level of the CI of Q"},
    {.name = "offline_metric",
     .type = ASSAY_OPT_STRING,
     .doc = "path in each `offline` value ('/'-separated, e.g. "
            "'sampled/ndcg@10') whose ordering is compared"},
    {.name = "template",
     .type = ASSAY_OPT_STRING,
     .doc = "prompt template text overriding the built-in one"},
    {.name = "template_file",
     .type = ASSAY_OPT_STRING,
     .doc = "file holding the prompt template (relative to the YAML)"},
    {.name = "id_field",
     .type = ASSAY_OPT_STRING,
     .def = "\"item\"",
     .doc = "items: the id column"},
    {.name = "title_field",
     .type = ASSAY_OPT_STRING,
     .doc = "items: the title column (default: title, movie_title, ...)"},
    {.name = "category_field",
     .type = ASSAY_OPT_STRING,
     .doc = "items: the genre column (default: genres, class, ...)"},
    {.name = "year_field",
     .type = ASSAY_OPT_STRING,
     .doc = "items: the year column (default: year or release_year)"},
    {0}};

static const assay_plugin ar_plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "judge.recsys-arena",
    .kind = "judge",
    .version = "1.0.0",
    .summary = "RecSys Arena: an LLM role-plays each user and compares two "
               "recommenders' lists on seven aspects, with swap, Q and CI",
    .doc =
        "Pairwise recommender evaluation after Wu et al., 'RecSys Arena: "
        "Pair-wise Recommender System Evaluation with Large Language "
        "Models' (arXiv 2412.11068). For every pair of systems (pairs: all, "
        "or each against the first) and every user both list, the endpoint "
        "`llm` imagines being that user on a {platform} platform: a "
        "profile (generated by synth.user-profile, or templated from user "
        "features such as 'age 24, gender M, occupation technician'), the "
        "history_len most recent items of train + valid, and the top_k "
        "items of Recommendation System A and B (titles with genres). It "
        "analyses Accuracy, Satisfaction, Inspiring Content, Content "
        "Quality, Explainability/Transparency and Positive Impact, and "
        "closes with the paper's verdict line 'Accuracy: A wins; ...; "
        "Overall Winner: tie'.\n"
        "Parsing: for every aspect the LAST statement '<aspect>: <verdict>' "
        "counts (lines, ';' and ',' separate statements; aliases such as "
        "Explainability, Transparency, Impact on users, Overall; verdicts "
        "'A wins', 'B wins', 'tie', 'System A', in quotes or emphasis); an "
        "echoed format line naming several verdicts is ignored. Missing "
        "aspects (require: all, or only the overall one) are re-asked with "
        "a repair message naming them, up to max_reasks times; answers are "
        "merged, later ones winning.\n"
        "swap: true (default) asks both orders; the second order's verdicts "
        "are flipped back and an aspect where the orders disagree is a tie "
        "(the paper has no swap; this follows the usual judge practice). "
        "swap_consistency = agreeing / judged. An aspect without a verdict "
        "in either order is invalid for that user; a failed request makes "
        "the judgement failed (counted, never scored).\n"
        "Per pair and aspect: wins_a, ties, wins_b, invalid and Q = "
        "(wins_A + ties) / (wins_B + ties) (null when the denominator is "
        "0) with a percentile bootstrap CI over users (bootstrap, "
        "ci_level). Each system's arena_score is its overall points "
        "(win 1, tie 1/2) over its judgements; with `offline` (one json per "
        "system, same order) and offline_metric, summary.correlation "
        "compares the arena's ordering with the offline one (Spearman, "
        "Kendall tau-b, same_order).\n"
        "Outputs: verdicts {pair, a, b, user, aspects, consistent, status, "
        "orders: [{order, aspects, status, answers, reasks}]}; pairs (one "
        "row per pair and aspect); summary {pairs, systems, correlation, "
        "swap_consistency}; info.\n"
        "Template: option template or template_file ('@@ user @@' and '@@ "
        "repair @@'); fields platform, profile, history, k, list_a, list_b; "
        "repair: missing.\n\nDefault template (arena.txt):\n" JUDGE_TPL_ARENA,
    .inputs = ar_inputs,
    .outputs = ar_outputs,
    .options = ar_options,
    .flags = ASSAY_F_ALL_ITEMS | ASSAY_F_NEEDS_LLM,
    .create = ar_create,
    .run = ar_run_node,
    .destroy = ar_destroy,
    .estimate = ar_estimate,
};

static const assay_plugin *const ar_list[] = {&ar_plugin, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi)
{
    (void)host_abi;
    return ar_list;
}
