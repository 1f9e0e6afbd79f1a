/*
 * synth.user-profile - user profiles for LLM-as-recommender prompts and
 * the RecSys Arena: written by an LLM from the user's history (the
 * EvaLLMasRecommender profile step, whose last line is kept), or
 * templated from user features (the RecSys Arena's profile sentence).
 */
#include <assay/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lr.h"
#include "profile_tpl.h"

#define UP_EST_COMPLETION 300

typedef struct up_state {
    const assay_host *h;
    char *endpoint;
    const char *endpoint_opt;
    json_t *params, *features;
    lr_prompts prompts;
    bool mode_llm, keep_last, hist_shuffle, on_error_record, with_feats;
    int annotate; /* 0 none, 1 category, 2 rating */
    size_t hist_len;
    long variant;
    unsigned max_reasks;
    char *dataset, *f_title, *f_cat, *f_year;
} up_state;

static void up_destroy(void *state)
{
    up_state *s = state;
    if (!s)
        return;
    free(s->endpoint);
    json_decref(s->params);
    json_decref(s->features);
    lr_prompts_free(&s->prompts);
    free(s->dataset);
    free(s->f_title);
    free(s->f_cat);
    free(s->f_year);
    free(s);
}

static int up_create(const assay_host *h, const json_t *o, void **state,
                     assay_error *err)
{
    up_state *s = calloc(1, sizeof *s);
    int rc;
    if (!s)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    s->h = h;
    s->endpoint_opt = assay_opt_str(o, "llm");
    s->mode_llm = strcmp(assay_opt_str(o, "mode"), "features") != 0;
    s->keep_last = strcmp(assay_opt_str(o, "keep"), "all") != 0;
    s->hist_shuffle = !strcmp(assay_opt_str(o, "history_order"), "shuffled");
    s->on_error_record = strcmp(assay_opt_str(o, "on_error"), "fail") != 0;
    s->with_feats = assay_opt_bool(o, "with_features");
    const char *an = assay_opt_str(o, "annotate");
    s->annotate = !strcmp(an, "category") ? 1 : !strcmp(an, "rating") ? 2 : 0;
    s->hist_len = (size_t)assay_opt_int(o, "history_len");
    s->variant = (long)assay_opt_int(o, "variant");
    s->max_reasks = (unsigned)assay_opt_int(o, "max_reasks");
    if (!jc_opt_strdup(o, "llm", &s->endpoint) ||
        !jc_opt_strdup(o, "dataset", &s->dataset) ||
        !jc_opt_strdup(o, "title_field", &s->f_title) ||
        !jc_opt_strdup(o, "category_field", &s->f_cat) ||
        !jc_opt_strdup(o, "year_field", &s->f_year) ||
        !(s->features = json_deep_copy(json_object_get(o, "features"))))
        goto nomem;
    json_t *p = json_object_get(o, "params");
    if (json_is_object(p) && !(s->params = json_deep_copy(p)))
        goto nomem;
    if (s->mode_llm && !s->endpoint) {
        rc = assay_error_set(err, ASSAY_EINVAL,
                             "option 'llm' is required with mode: llm "
                             "(or set mode: features)");
        goto fail;
    }
    if ((rc = lr_prompts_option(h, o, "template", "template_file",
                                SYNTH_TPL_PROFILE, &s->prompts, err)))
        goto fail;
    *state = s;
    return ASSAY_OK;
nomem:
    rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
fail:
    up_destroy(s);
    return rc;
}

/* Users to profile: those of input `for` (a `user` field or column, in
 * order of first appearance), else every user with a history. */
static int whom(const up_state *s, assay_io *io, const lr_hist *hist,
                int64_t **out, size_t *n, assay_error *err)
{
    const assay_host *h = s->h;
    const json_t *recs =
        h->in_type(io, "for") ? h->in_records(io, "for") : NULL;
    size_t m = recs ? json_array_size(recs) : hist->users.n, k = 0;
    int64_t *v = malloc((m ? m : 1) * sizeof *v);
    int64_t *seen = malloc((m ? m : 1) * sizeof *seen);
    size_t nseen = 0;
    if (!v || !seen) {
        free(v);
        free(seen);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    if (!recs) {
        memcpy(v, hist->users.raw, m * sizeof *v);
        k = m;
    }
    for (size_t i = 0; recs && i < m; i++) {
        double u;
        int rc = assay_rec_num(json_array_get(recs, i), i, "user", &u, err);
        if (rc) {
            free(v);
            free(seen);
            assay_error_prefix(err, "input 'for': ");
            return rc;
        }
        int64_t id = (int64_t)u;
        /* first appearance only: a sorted list of the ids seen */
        size_t lo = 0, hi = nseen;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (seen[mid] < id)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < nseen && seen[lo] == id)
            continue;
        memmove(seen + lo + 1, seen + lo, (nseen - lo) * sizeof *seen);
        seen[lo] = id;
        nseen++;
        v[k++] = id;
    }
    free(seen);
    *out = v;
    *n = k;
    return ASSAY_OK;
}

/* The history shown for `user` (last hist_len items, maybe shuffled):
 * *ids and *rat are new arrays of *n entries. */
static int user_history(const up_state *s, const lr_hist *hist, int64_t user,
                        int64_t **ids, double **rat, size_t *n)
{
    const int64_t *items;
    const double *r;
    size_t len = lr_hist_get(hist, user, &items, &r);
    size_t take = len < s->hist_len ? len : s->hist_len;
    *ids = malloc((take ? take : 1) * sizeof **ids);
    *rat = malloc((take ? take : 1) * sizeof **rat);
    if (!*ids || !*rat)
        return ASSAY_ENOMEM;
    if (take) {
        memcpy(*ids, items + len - take, take * sizeof **ids);
        memcpy(*rat, r + len - take, take * sizeof **rat);
    }
    *n = take;
    if (s->hist_shuffle && take > 1) {
        uint64_t seed = lr_mix(s->h->seed(s->h, "history"), (uint64_t)user);
        assay_rng g;
        assay_rng_init(&g, seed);
        assay_rng_shuffle(&g, *ids, take, sizeof **ids);
        assay_rng_init(&g, seed);
        assay_rng_shuffle(&g, *rat, take, sizeof **rat);
    }
    return ASSAY_OK;
}

static int up_check(void *ud, lr_q *q, const char *text, char **repair,
                    assay_error *err)
{
    (void)ud;
    (void)q;
    (void)repair;
    (void)err;
    return jc_blank(text) ? 1 : 0;
}

static bool put(json_t *o, const char *k, json_t *v)
{
    return json_object_set_new(o, k, v) == 0;
}

static json_t *id_array(const int64_t *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_integer(v[i]))) {
            json_decref(a);
            return NULL;
        }
    return a;
}

/* One user's work. */
typedef struct up_user {
    int64_t user;
    int64_t *hist;
    double *rat;
    size_t nhist;
    char *features; /* feature sentence, or NULL */
    size_t variant;
    long q;          /* index of its question, -1: none */
    const char *why; /* no question: the reason (static) */
} up_user;

static int up_run(void *state, assay_io *io, assay_error *err)
{
    up_state *s = state;
    const assay_host *h = s->h;
    rc_inter parts[2];
    size_t nparts = 0, nu = 0, nq = 0;
    lr_hist hist = {0};
    lr_cat cat = {0};
    lr_rowidx ux = {0};
    int64_t *users = NULL;
    up_user *uu = NULL;
    lr_q *qs = NULL;
    json_t *out = NULL, *info = NULL;
    lr_ask_stats st = {0};
    size_t ok = 0, failed = 0, empty = 0;
    int rc;
    const assay_table *ut = h->in_table(io, "users");

    if ((rc = lr_hist_inputs(h, io, parts, &nparts, err)) ||
        (rc = lr_hist_build(&hist, parts, nparts, err)) ||
        (rc = whom(s, io, &hist, &users, &nu, err)))
        goto done;
    if (s->mode_llm &&
        (rc = lr_cat_build(&cat, h->in_table(io, "items"), "items", NULL,
                           s->f_title, s->f_cat, s->f_year, err)))
        goto done;
    if (!s->mode_llm && !ut) {
        rc = assay_error_set(err, ASSAY_EINVAL,
                             "mode: features needs the `users` input "
                             "(user features, e.g. source.interactions "
                             "users)");
        goto done;
    }
    if (ut && (rc = lr_rowidx_build(&ux, ut, "user", "users", err)))
        goto done;
    if (s->annotate == 2 && s->mode_llm && !parts[0].rating) {
        rc = assay_error_set(err, ASSAY_EDATA,
                             "annotate: rating needs a `rating` column in "
                             "`train`");
        goto done;
    }
    uu = calloc(nu ? nu : 1, sizeof *uu);
    qs = calloc(nu ? nu : 1, sizeof *qs);
    if (!uu || !qs)
        goto nomem;
    uint64_t vseed = h->seed(h, "variant");
    for (size_t i = 0; i < nu; i++) {
        up_user *x = &uu[i];
        x->user = users[i];
        x->q = -1;
        if (h->cancelled(h)) {
            rc = assay_error_set(err, ASSAY_ECANCELED, "cancelled");
            goto done;
        }
        long row = ut ? lr_rowidx_find(&ux, x->user) : -1;
        if (row >= 0 && (!s->mode_llm || s->with_feats) &&
            !(x->features = lr_feature_profile(ut, (size_t)row, s->features)))
            goto nomem;
        if (!s->mode_llm) {
            if (!x->features || !*x->features)
                x->why = "no features for this user";
            continue;
        }
        if (user_history(s, &hist, x->user, &x->hist, &x->rat, &x->nhist))
            goto nomem;
        if (x->nhist == 0) {
            x->why = "no history for this user";
            continue;
        }
        char ub[32];
        snprintf(ub, sizeof ub, "%lld", (long long)x->user);
        json_t *hl = lr_pylist_json(&cat, x->hist, x->nhist, s->annotate == 1,
                                    s->annotate == 2 ? x->rat : NULL);
        json_t *ctx =
            json_pack("{s:s, s:s, s:o, s:I}", "dataset", s->dataset, "user", ub,
                      "history", hl, "n", (json_int_t)x->nhist);
        if (!ctx || (x->features && *x->features &&
                     !put(ctx, "features", json_string(x->features)))) {
            json_decref(ctx);
            goto nomem;
        }
        x->variant =
            lr_variant(&s->prompts, s->variant, vseed, (uint64_t)x->user);
        lr_q *q = &qs[nq];
        rc = jc_prompt_render(&s->prompts.v[x->variant], ctx, i, &q->system,
                              &q->user, err);
        json_decref(ctx);
        if (rc)
            goto done;
        q->max_reasks = s->max_reasks;
        q->item = i;
        x->q = (long)nq++;
    }
    const char *repair = NULL;
    char *rep_text = NULL;
    if (s->prompts.v[0].repair) {
        json_t *ctx = json_object();
        rc = ctx ? jc_tpl_render(s->prompts.v[0].repair, ctx, 0, &rep_text, err)
                 : assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        json_decref(ctx);
        if (rc)
            goto done;
        repair = rep_text;
    }
    if (nq) {
        h->log(h, ASSAY_LOG_INFO, "profiling %zu users with '%s'", nq,
               s->endpoint);
        rc = lr_ask_run(h, s->endpoint, s->params, qs, nq, up_check, s,
                        repair ? repair : "Please answer.", &st, err);
    }
    free(rep_text);
    if (rc)
        goto done;
    out = json_array();
    if (!out)
        goto nomem;
    for (size_t i = 0; i < nu; i++) {
        up_user *x = &uu[i];
        json_t *r = json_object();
        const char *status;
        char *profile = NULL;
        if (!r || json_array_append_new(out, r) ||
            !put(r, "user", json_integer(x->user)) ||
            !put(r, "source", json_string(s->mode_llm ? "llm" : "features")))
            goto nomem;
        if (!s->mode_llm) {
            status = x->why ? "failed" : "ok";
            if (!x->why && !(profile = jc_strdup(x->features)))
                goto nomem;
        } else if (x->q < 0) {
            status = "failed";
        } else {
            lr_q *q = &qs[x->q];
            if (!put(r, "variant", json_integer((json_int_t)x->variant)) ||
                !put(r, "history", id_array(x->hist, x->nhist)) ||
                !put(r, "answers", lr_q_answers(q)))
                goto nomem;
            if (q->status == LR_Q_FAILED) {
                status = "failed";
                if (!s->on_error_record) {
                    rc = assay_error_set(
                        err,
                        q->error && strstr(q->error, "budget") ? ASSAY_EBUDGET
                                                               : ASSAY_ELLM,
                        "user %lld: %s (set on_error: record to keep "
                        "going)",
                        (long long)x->user, q->error);
                    goto done;
                }
                if (!put(r, "error", json_string(q->error)))
                    goto nomem;
            } else {
                const char *t = lr_q_text(q);
                profile = s->keep_last ? lr_last_line(t) : jc_strdup(t);
                if (!profile)
                    goto nomem;
                status = jc_blank(profile) ? "empty" : "ok";
            }
        }
        if (x->why && !put(r, "error", json_string(x->why)))
            goto nomem;
        ok += !strcmp(status, "ok");
        failed += !strcmp(status, "failed");
        empty += !strcmp(status, "empty");
        bool usable = profile && !strcmp(status, "ok");
        if (!put(r, "status", json_string(status)) ||
            !put(r, "profile", usable ? json_string(profile) : json_null())) {
            free(profile);
            goto nomem;
        }
        free(profile);
    }
    info = s->mode_llm ? lr_info(h, s->endpoint, &st) : json_object();
    if (!info || !put(info, "users", json_integer((json_int_t)nu)) ||
        !put(info, "ok", json_integer((json_int_t)ok)) ||
        !put(info, "failed", json_integer((json_int_t)failed)) ||
        !put(info, "empty", json_integer((json_int_t)empty)) ||
        !put(info, "mode", json_string(s->mode_llm ? "llm" : "features")))
        goto nomem;
    rc = h->out_records(io, "profiles", out, err);
    out = NULL;
    if (rc == 0)
        rc = h->out_json(io, "info", info, err);
    else
        json_decref(info);
    info = NULL;
    goto done;
nomem:
    rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
done:
    for (size_t i = 0; uu && i < nu; i++) {
        free(uu[i].hist);
        free(uu[i].rat);
        free(uu[i].features);
    }
    for (size_t i = 0; qs && i < nq; i++)
        lr_q_clear(&qs[i]);
    free(uu);
    free(qs);
    free(users);
    json_decref(out);
    json_decref(info);
    lr_rowidx_free(&ux);
    lr_cat_free(&cat);
    lr_hist_free(&hist);
    return rc;
}

static int i64_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int up_estimate(void *state, assay_io *io, assay_estimate *est,
                       assay_error *err)
{
    up_state *s = state;
    const assay_host *h = s->h;
    (void)err;
    if (!s->mode_llm)
        return ASSAY_OK;
    est->endpoint = s->endpoint_opt;
    size_t n = 0;
    if (h->in_type(io, "for")) {
        const json_t *r = h->in_records(io, "for");
        n = json_array_size(r);
    } else if (h->in_type(io, "train")) {
        const assay_table *t = h->in_table(io, "train");
        const assay_column *u = t ? assay_table_col(t, "user") : NULL;
        const int64_t *v = assay_col_i64(u);
        /* distinct users of a sorted copy */
        int64_t *c = v ? malloc((t->nrows + 1) * sizeof *c) : NULL;
        if (c) {
            memcpy(c, v, t->nrows * sizeof *c);
            qsort(c, t->nrows, sizeof *c, i64_cmp);
            for (size_t i = 0; i < t->nrows; i++)
                n += i == 0 || c[i] != c[i - 1];
            free(c);
        }
    }
    if (!n) {
        h->log(h, ASSAY_LOG_INFO,
               "estimate: the users are not known yet; each costs up to "
               "%u requests",
               1 + s->max_reasks);
        return ASSAY_OK;
    }
    uint64_t per = 1 + s->max_reasks;
    lr_estimate_fill(est, s->endpoint_opt, n * per,
                     n * per * (600 + 40 * s->hist_len), s->params,
                     UP_EST_COMPLETION);
    return ASSAY_OK;
}

static const assay_port up_inputs[] = {
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
     .doc = "the catalogue: item id, title[, category, year] (mode: llm)"},
    {.name = "users",
     .type = ASSAY_T_TABLE,
     .doc = "user features (user + columns such as age, gender, "
            "occupation)"},
    {.name = "for",
     .type = ASSAY_T_RECORDS,
     .doc = "whom to profile: records or a table with a `user` field "
            "(default: every user of train/valid)"},
    {0}};

static const assay_port up_outputs[] = {
    {.name = "profiles",
     .type = ASSAY_T_RECORDS,
     .doc = "{user, profile (null unless ok), status, source, history, "
            "answers, error}",
     .chart = "table"},
    {.name = "info",
     .type = ASSAY_T_JSON,
     .doc = "users, ok/failed/empty counts, requests, tokens, endpoint"},
    {0}};

static const assay_option up_options[] = {
    {.name = "llm",
     .type = ASSAY_OPT_STRING,
     .doc = "endpoint that writes the profiles (required with mode: llm)"},
    {.name = "mode",
     .type = ASSAY_OPT_ENUM,
     .def = "\"llm\"",
     .choices = "llm|features",
     .doc = "llm: written from the history by the endpoint; features: a "
            "sentence templated from the `users` columns"},
    {.name = "params",
     .type = ASSAY_OPT_OBJECT,
     .doc = "request parameters overriding the endpoint's defaults"},
    {.name = "features",
     .type = ASSAY_OPT_LIST,
     .def = "[\"age\", \"gender\", \"occupation\"]",
     .doc = "user columns templated as 'age 24, gender M, occupation "
            "technician'"},
    {.name = "with_features",
     .type = ASSAY_OPT_BOOL,
     .def = "false",
     .doc = "mode llm: also show the features to the endpoint"},
    {.name = "history_len",
     .type = ASSAY_OPT_INT,
     .def = "20",
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 1000,
     .doc = "the last L history items shown"},
    {.name = "history_order",
     .type = ASSAY_OPT_ENUM,
     .def = "\"chronological\"",
     .choices = "chronological|shuffled",
     .doc = "history earliest first, or shuffled (seeded)"},
    {.name = "annotate",
     .type = ASSAY_OPT_ENUM,
     .def = "\"none\"",
     .choices = "none|category|rating",
     .doc = "history items as title:category or title:rating"},
    {.name = "keep",
     .type = ASSAY_OPT_ENUM,
     .def = "\"last_line\"",
     .choices = "last_line|all",
     .doc = "the profile is the answer's last line (the summary, without "
            "a 'Summary:' label), or the whole answer"},
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
     .doc = "which paraphrase to use; -1: one at random per user (seeded)"},
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
     .doc = "re-asks when an answer is empty"},
    {.name = "on_error",
     .type = ASSAY_OPT_ENUM,
     .def = "\"record\"",
     .choices = "record|fail",
     .doc = "a failed request marks the user's profile failed, or fails "
            "the node"},
    {.name = "title_field",
     .type = ASSAY_OPT_STRING,
     .doc = "items: the title column (default: title, movie_title, name "
            "or item_name)"},
    {.name = "category_field",
     .type = ASSAY_OPT_STRING,
     .doc = "items: the category column (default: genres, class, ...)"},
    {.name = "year_field",
     .type = ASSAY_OPT_STRING,
     .doc = "items: the year column (default: year or release_year)"},
    {0}};

static const assay_plugin up_plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "synth.user-profile",
    .kind = "synthesizer",
    .version = "1.0.0",
    .summary = "User profiles from histories (LLM-written) or from user "
               "features, for LLM recommenders and the RecSys Arena",
    .doc = "mode: llm asks the endpoint `llm`, per user, to infer the user's "
           "personality, preferences and habits from the last history_len "
           "items of train + valid (titles from `items`, optionally with "
           "categories or ratings, and with_features adds the `users` "
           "attributes), as in the profile step of Jiang et al., 'Beyond "
           "Utility: Evaluating LLM as Recommender' (WWW 2025). One of five "
           "paraphrased prompts is drawn per user; each asks for a closing "
           "'Summary:' line, and keep: last_line keeps only that line "
           "without its label (the paper injects only the last line of the "
           "reply). An empty answer is re-asked up to max_reasks times.\n"
           "mode: features writes the RecSys Arena's profile sentence from "
           "user columns instead (features: [age, gender, occupation] gives "
           "'age 24, gender M, occupation technician'); no LLM is called.\n"
           "Users: those of input `for` (e.g. the sampled test rows), else "
           "every user with a history. Output `profiles`: {user, profile, "
           "status (ok, empty, failed), source, variant, history, answers, "
           "error}; rec.llm (prompts profile, profile_history) and "
           "judge.recsys-arena read {user, profile}; a failed or empty "
           "profile is null.\n"
           "Template: '@@ user @@' paraphrases and '@@ repair @@'; fields "
           "dataset, user, history, n, features.\n\n"
           "Default template (profile.txt):\n" SYNTH_TPL_PROFILE,
    .inputs = up_inputs,
    .outputs = up_outputs,
    .options = up_options,
    .flags = ASSAY_F_ALL_ITEMS | ASSAY_F_NEEDS_LLM,
    .create = up_create,
    .run = up_run,
    .destroy = up_destroy,
    .estimate = up_estimate,
};

static const assay_plugin *const up_list[] = {&up_plugin, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi)
{
    (void)host_abi;
    return up_list;
}
