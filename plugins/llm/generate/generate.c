/*
 * llm.generate - fill a prompt template per record, ask an LLM endpoint
 * for n samples, add the answers (and usage) to the records.
 */
#include <assay/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"

/* Completion tokens assumed per request by estimate() when the params
 * give no max_tokens. */
#define GEN_EST_COMPLETION 256

typedef struct gen_state {
    const assay_host *host;
    char *endpoint;
    gen_tpl *system, *user;
    json_t *params; /* per-request parameter overrides or NULL */
    int64_t n;
    bool on_error_record;
    bool usage;
    char *field;
    char usage_field[160];
    char error_field[160];
} gen_state;

static const assay_port gen_inputs[] = {
    {.name = "items",
     .type = ASSAY_T_RECORDS,
     .required = true,
     .doc = "records whose fields fill the prompt templates"},
    {0}};

static const assay_port gen_outputs[] = {
    {.name = "items",
     .type = ASSAY_T_RECORDS,
     .doc = "the input records with the answers (and usage) added"},
    {.name = "info",
     .type = ASSAY_T_JSON,
     .doc = "endpoint description (no key) and totals of this node"},
    {0}};

static const assay_option gen_options[] = {
    {.name = "llm",
     .type = ASSAY_OPT_STRING,
     .required = true,
     .doc = "name of the endpoint in the experiment's llm: section"},
    {.name = "user",
     .type = ASSAY_OPT_STRING,
     .doc = "user message template with {{field}} placeholders"},
    {.name = "user_file",
     .type = ASSAY_OPT_STRING,
     .doc = "file holding the user template (instead of `user`)"},
    {.name = "system",
     .type = ASSAY_OPT_STRING,
     .doc = "system message template (optional)"},
    {.name = "system_file",
     .type = ASSAY_OPT_STRING,
     .doc = "file holding the system template (instead of `system`)"},
    {.name = "n",
     .type = ASSAY_OPT_INT,
     .def = "1",
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 10000,
     .doc = "samples per record (distinct cache entries)"},
    {.name = "params",
     .type = ASSAY_OPT_OBJECT,
     .doc = "parameters overriding the endpoint's defaults (temperature, "
            "top_p, max_tokens, seed, stop, response_format)"},
    {.name = "field",
     .type = ASSAY_OPT_STRING,
     .def = "\"answer\"",
     .doc = "output field: a string (n = 1) or a list of strings (n > 1)"},
    {.name = "usage",
     .type = ASSAY_OPT_BOOL,
     .def = "true",
     .doc = "add <field>_usage {prompt_tokens, completion_tokens, cached}"},
    {.name = "on_error",
     .type = ASSAY_OPT_ENUM,
     .def = "\"fail\"",
     .choices = "fail|record",
     .doc = "a failed request fails the node, or is recorded as null with "
            "<field>_error"},
    {0}};

static void gen_destroy(void *state)
{
    gen_state *g = state;
    if (!g)
        return;
    free(g->endpoint);
    free(g->field);
    gen_tpl_free(g->system);
    gen_tpl_free(g->user);
    json_decref(g->params);
    free(g);
}

static char *gen_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* Read a whole template file (resolved against the config dir). */
static int gen_read_file(const assay_host *h, const char *opt, const char *path,
                         char **out, assay_error *err)
{
    char full[4096];
    int rc = h->resolve_path(h, path, full, sizeof full, err);
    if (rc)
        return rc;
    FILE *f = fopen(full, "rb");
    if (!f)
        return assay_error_set(err, ASSAY_EIO, "%s: cannot open %s", opt, full);
    char *buf = NULL;
    size_t len = 0, cap = 0, r;
    char chunk[4096];
    while ((r = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + r + 1 > cap) {
            cap = (len + r + 1) * 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            }
            buf = nb;
        }
        memcpy(buf + len, chunk, r);
        len += r;
    }
    fclose(f);
    if (!buf && !(buf = calloc(1, 1)))
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    buf[len] = '\0';
    *out = buf;
    return ASSAY_OK;
}

/* One of `inline_opt` / `file_opt` -> compiled template (NULL if neither
 * is given and it is optional). */
static int gen_template(const assay_host *h, const json_t *o,
                        const char *inline_opt, const char *file_opt,
                        bool required, gen_tpl **out, assay_error *err)
{
    const char *txt = assay_opt_str(o, inline_opt);
    const char *file = assay_opt_str(o, file_opt);
    char *loaded = NULL;
    int rc;
    *out = NULL;
    if (txt && file)
        return assay_error_set(err, ASSAY_EINVAL,
                               "give either %s or %s, not both", inline_opt,
                               file_opt);
    if (!txt && !file) {
        if (required)
            return assay_error_set(err, ASSAY_EINVAL,
                                   "option %s (or %s) is required", inline_opt,
                                   file_opt);
        return ASSAY_OK;
    }
    if (file) {
        rc = gen_read_file(h, file_opt, file, &loaded, err);
        if (rc)
            return rc;
        txt = loaded;
    }
    rc = gen_tpl_compile(txt, out, err);
    if (rc)
        gen_error_prefix(err, "%s: ", file ? file_opt : inline_opt);
    free(loaded);
    return rc;
}

static int gen_create(const assay_host *host, const json_t *o, void **state,
                      assay_error *err)
{
    gen_state *g = calloc(1, sizeof *g);
    int rc;
    if (!g)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    g->host = host;
    g->endpoint = gen_strdup(assay_opt_str(o, "llm"));
    g->field = gen_strdup(assay_opt_str(o, "field"));
    if (!g->endpoint || !g->field) {
        gen_destroy(g);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    if (!g->field[0] || strlen(g->field) > 100) {
        gen_destroy(g);
        return assay_error_set(err, ASSAY_EINVAL,
                               "field: expected a name of 1 to 100 bytes");
    }
    snprintf(g->usage_field, sizeof g->usage_field, "%s_usage", g->field);
    snprintf(g->error_field, sizeof g->error_field, "%s_error", g->field);
    g->n = assay_opt_int(o, "n");
    g->usage = assay_opt_bool(o, "usage");
    g->on_error_record = strcmp(assay_opt_str(o, "on_error"), "record") == 0;
    json_t *p = json_object_get(o, "params");
    if (json_is_object(p))
        g->params = json_deep_copy(p);
    rc = gen_template(host, o, "user", "user_file", true, &g->user, err);
    if (rc == 0)
        rc = gen_template(host, o, "system", "system_file", false, &g->system,
                          err);
    if (rc) {
        gen_destroy(g);
        return rc;
    }
    *state = g;
    return ASSAY_OK;
}

/* The prompts of record `i`: *sys (may stay NULL) and *usr, new strings. */
static int gen_render(const gen_state *g, const json_t *rec, size_t i,
                      char **sys, char **usr, assay_error *err)
{
    *sys = *usr = NULL;
    int rc = g->system ? gen_tpl_render(g->system, rec, i, sys, err) : 0;
    if (rc == 0)
        rc = gen_tpl_render(g->user, rec, i, usr, err);
    if (rc) {
        free(*sys);
        *sys = NULL;
    }
    return rc;
}

static int gen_estimate(void *state, assay_io *io, assay_estimate *est,
                        assay_error *err)
{
    gen_state *g = state;
    const assay_host *h = g->host;
    est->endpoint = g->endpoint;
    const json_t *recs =
        h->in_type(io, "items") ? h->in_records(io, "items") : NULL;
    if (!recs)
        return ASSAY_OK; /* input size unknown yet */
    size_t n = json_array_size(recs);
    uint64_t prompt = 0;
    for (size_t i = 0; i < n; i++) {
        char *sys, *usr;
        int rc = gen_render(g, json_array_get(recs, i), i, &sys, &usr, err);
        if (rc)
            return rc;
        prompt += (strlen(usr) + (sys ? strlen(sys) : 0) + 3) / 4 + 8;
        free(sys);
        free(usr);
    }
    json_t *mt = json_object_get(g->params, "max_tokens");
    uint64_t comp = json_is_integer(mt) ? (uint64_t)json_integer_value(mt)
                                        : GEN_EST_COMPLETION;
    est->llm_requests = (uint64_t)n * (uint64_t)g->n;
    est->prompt_tokens = prompt * (uint64_t)g->n;
    est->completion_tokens = comp * est->llm_requests;
    return ASSAY_OK;
}

/* Per-record prompts kept alive for the batch call. */
typedef struct gen_prompt {
    char *sys, *usr;
    assay_llm_message msgs[2];
} gen_prompt;

static const char *gen_status_name(assay_llm_status s)
{
    switch (s) {
    case ASSAY_LLM_OK:
        return "ok";
    case ASSAY_LLM_FAILED:
        return "failed";
    case ASSAY_LLM_SKIPPED:
        return "skipped";
    case ASSAY_LLM_REPLAY_MISS:
        return "replay miss";
    }
    return "?";
}

static int gen_run(void *state, assay_io *io, assay_error *err)
{
    gen_state *g = state;
    const assay_host *h = g->host;
    const json_t *recs = h->in_records(io, "items");
    size_t nrec = json_array_size(recs), nreq, i;
    gen_prompt *pr = NULL;
    assay_llm_request *reqs = NULL;
    assay_llm_result *res = NULL;
    json_t *out = NULL;
    int rc = ASSAY_OK;
    uint64_t tot_p = 0, tot_c = 0, tot_cached = 0, tot_failed = 0;

    if ((size_t)g->n > SIZE_MAX / (nrec ? nrec : 1))
        return assay_error_set(err, ASSAY_EINVAL, "too many requests");
    nreq = nrec * (size_t)g->n;
    pr = calloc(nrec ? nrec : 1, sizeof *pr);
    reqs = calloc(nreq ? nreq : 1, sizeof *reqs);
    res = calloc(nreq ? nreq : 1, sizeof *res);
    out = json_array();
    if (!pr || !reqs || !res || !out) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    for (i = 0; i < nrec; i++) {
        rc = gen_render(g, json_array_get(recs, i), i, &pr[i].sys, &pr[i].usr,
                        err);
        if (rc)
            goto done;
        size_t k = 0;
        if (pr[i].sys)
            pr[i].msgs[k++] = (assay_llm_message){"system", pr[i].sys};
        pr[i].msgs[k++] = (assay_llm_message){"user", pr[i].usr};
        for (int64_t s = 0; s < g->n; s++) {
            assay_llm_request *q = &reqs[i * (size_t)g->n + (size_t)s];
            q->messages = pr[i].msgs;
            q->n_messages = k;
            q->sample = (uint32_t)s;
            q->params = g->params;
            q->item = i;
        }
    }
    rc = h->llm_batch(h, g->endpoint, reqs, nreq, res, err);
    if (rc)
        goto done;
    if (h->cancelled(h)) {
        rc = assay_error_set(err, ASSAY_ECANCELED, "cancelled");
        goto done;
    }
    for (i = 0; i < nrec; i++) {
        json_t *rec = json_copy(json_array_get(recs, i));
        json_t *answers = g->n > 1 ? json_array() : NULL;
        json_t *errors = NULL;
        uint64_t p = 0, c = 0, cached = 0;
        if (!rec || (g->n > 1 && !answers)) {
            json_decref(rec);
            json_decref(answers);
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto done;
        }
        for (int64_t s = 0; s < g->n; s++) {
            assay_llm_result *r = &res[i * (size_t)g->n + (size_t)s];
            json_t *ans = json_null();
            if (r->status == ASSAY_LLM_OK) {
                ans = json_string(r->text);
                if (!ans) {
                    json_decref(rec);
                    json_decref(answers);
                    json_decref(errors);
                    rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
                    goto done;
                }
                p += r->prompt_tokens;
                c += r->completion_tokens;
                cached += r->cached;
            } else {
                tot_failed++;
                if (!g->on_error_record) {
                    json_decref(rec);
                    json_decref(answers);
                    json_decref(errors);
                    rc = assay_error_set(
                        err,
                        r->status == ASSAY_LLM_SKIPPED &&
                                strstr(r->error, "budget")
                            ? ASSAY_EBUDGET
                            : ASSAY_ELLM,
                        "record %zu sample %lld: %s: %s (set on_error: "
                        "record to keep going)",
                        i, (long long)s, gen_status_name(r->status), r->error);
                    goto done;
                }
                char msg[600];
                snprintf(msg, sizeof msg, "%s: %s", gen_status_name(r->status),
                         r->error);
                if (!errors)
                    errors = g->n > 1 ? json_array() : NULL;
                if (g->n > 1) {
                    while (errors && json_array_size(errors) < (size_t)s)
                        json_array_append_new(errors, json_null());
                    json_array_append_new(errors, json_string(msg));
                } else {
                    errors = json_string(msg);
                }
            }
            if (answers)
                json_array_append_new(answers, ans);
            else
                json_object_set_new(rec, g->field, ans);
        }
        if (answers)
            json_object_set_new(rec, g->field, answers);
        if (errors) {
            if (json_is_array(errors))
                while (json_array_size(errors) < (size_t)g->n)
                    json_array_append_new(errors, json_null());
            json_object_set_new(rec, g->error_field, errors);
        }
        if (g->usage)
            json_object_set_new(rec, g->usage_field,
                                json_pack("{s:I, s:I, s:I}", "prompt_tokens",
                                          (json_int_t)p, "completion_tokens",
                                          (json_int_t)c, "cached",
                                          (json_int_t)cached));
        tot_p += p;
        tot_c += c;
        tot_cached += cached;
        if (json_array_append_new(out, rec) != 0) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto done;
        }
    }
    if (tot_failed)
        h->log(h, ASSAY_LOG_WARN,
               "%llu of %zu requests failed (recorded in "
               "%s)",
               (unsigned long long)tot_failed, nreq, g->error_field);
    json_t *info =
        json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "endpoint",
                  g->endpoint, "records", (json_int_t)nrec, "requests",
                  (json_int_t)nreq, "cached", (json_int_t)tot_cached, "failed",
                  (json_int_t)tot_failed, "prompt_tokens", (json_int_t)tot_p,
                  "completion_tokens", (json_int_t)tot_c);
    json_t *ep = h->llm_endpoint_info(h, g->endpoint);
    if (info && ep)
        json_object_set_new(info, "endpoint_info", ep);
    else
        json_decref(ep);
    rc = h->out_records(io, "items", out, err);
    out = NULL;
    if (rc == 0)
        rc = h->out_json(io, "info", info ? info : json_object(), err);
    else
        json_decref(info);
done:
    json_decref(out);
    for (i = 0; res && i < nreq; i++)
        h->llm_result_clear(&res[i]);
    for (i = 0; pr && i < nrec; i++) {
        free(pr[i].sys);
        free(pr[i].usr);
    }
    free(res);
    free(reqs);
    free(pr);
    return rc;
}

static const assay_plugin gen_plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "llm.generate",
    .kind = "generator",
    .version = "1.0.0",
    .summary = "Fill a prompt template per record and add n LLM answers",
    .doc = "For every input record, fills the `system` (optional) and `user` "
           "templates and sends n chat requests (samples 0..n-1, distinct "
           "cache entries) to the endpoint named by `llm`, all as one batch "
           "so the host runs them concurrently under the endpoint's limits, "
           "retries and cache.\n"
           "Templates: {{name}} is replaced by the record's field `name` "
           "(strings as they are, other values as compact JSON); dotted names "
           "reach into objects ({{meta.lang}}); spaces inside the braces are "
           "ignored.  A missing field is an error naming the record and the "
           "field.  Templates may come from files (user_file, system_file; "
           "relative to the experiment file).\n"
           "Output: each input record plus `<field>` (the answer string for "
           "n = 1, a list of n answers otherwise) and, with usage: true, "
           "`<field>_usage` {prompt_tokens, completion_tokens, cached}.  A "
           "request that failed (retries exhausted, non-retryable HTTP error, "
           "budget reached, replay miss) fails the node with on_error: fail "
           "(the default); with on_error: record its answer is null and "
           "`<field>_error` says why (a list for n > 1).  The `info` output "
           "describes the endpoint (never the key) and totals.",
    .inputs = gen_inputs,
    .outputs = gen_outputs,
    .options = gen_options,
    .flags = ASSAY_F_PER_ITEM | ASSAY_F_NEEDS_LLM,
    .create = gen_create,
    .run = gen_run,
    .destroy = gen_destroy,
    .estimate = gen_estimate,
};

static const assay_plugin *const gen_list[] = {&gen_plugin, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi_version)
{
    (void)host_abi_version;
    return gen_list;
}
