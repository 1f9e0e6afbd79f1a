/*
 * jc_opts.c - see jc_opts.h.
 */
#include "jc_opts.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jc_text.h"
#include "jc_verdict.h"

int jc_prompt_option(const assay_host *h, const json_t *opts,
                     const char *inline_opt, const char *file_opt,
                     const char *def, jc_prompt *out, assay_error *err)
{
    const char *txt = assay_opt_str(opts, inline_opt);
    const char *file = assay_opt_str(opts, file_opt);
    char *loaded = NULL;
    int rc;
    memset(out, 0, sizeof *out);
    if (txt && file)
        return assay_error_set(err, ASSAY_EINVAL,
                               "give either %s or %s, not both", inline_opt,
                               file_opt);
    if (file) {
        char path[PATH_MAX];
        if ((rc = h->resolve_path(h, file, path, sizeof path, err)) != 0)
            return rc;
        if ((rc = jc_read_file(path, &loaded, err)) != 0) {
            assay_error_prefix(err, "%s: ", file_opt);
            return rc;
        }
        txt = loaded;
    }
    rc = jc_prompt_parse(txt ? txt : def, out, err);
    if (rc)
        assay_error_prefix(err, "%s: ",
                           file  ? file_opt
                           : txt ? inline_opt
                                 : "built-in template");
    free(loaded);
    return rc;
}

int jc_gold_label(const json_t *rec, size_t idx, const char *field, int *gold,
                  assay_error *err)
{
    static const char *const a[] = {"1",       "a",          "output_1",
                                    "model_a", "response_a", NULL};
    static const char *const b[] = {"2",       "b",          "output_2",
                                    "model_b", "response_b", NULL};
    static const char *const t[] = {"0", "3", "c", "tie", "draw", NULL};
    const json_t *v = json_is_object(rec) ? json_object_get(rec, field) : NULL;
    *gold = JC_V_NONE;
    if (!v || json_is_null(v))
        return ASSAY_OK;
    if (json_is_integer(v)) {
        json_int_t x = json_integer_value(v);
        if (x == 1 || x == 2 || x == 0 || x == 3) {
            *gold = x == 1 ? JC_V_A : x == 2 ? JC_V_B : JC_V_TIE;
            return ASSAY_OK;
        }
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        for (int i = 0; a[i]; i++)
            if (!strcasecmp(s, a[i])) {
                *gold = JC_V_A;
                return ASSAY_OK;
            }
        for (int i = 0; b[i]; i++)
            if (!strcasecmp(s, b[i])) {
                *gold = JC_V_B;
                return ASSAY_OK;
            }
        for (int i = 0; t[i]; i++)
            if (!strcasecmp(s, t[i])) {
                *gold = JC_V_TIE;
                return ASSAY_OK;
            }
    }
    char *d = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    int rc = assay_error_set(err, ASSAY_EDATA,
                             "record %zu: field '%s': expected a winner "
                             "(1, 2, A, B or tie), got %s",
                             idx, field, d ? d : "?");
    free(d);
    return rc;
}

int jc_rec_opt_str(const json_t *rec, size_t idx, const char *field,
                   const char **out, assay_error *err)
{
    const json_t *v = json_is_object(rec) ? json_object_get(rec, field) : NULL;
    *out = NULL;
    if (!v || json_is_null(v))
        return ASSAY_OK;
    if (!json_is_string(v))
        return assay_error_set(err, ASSAY_EDATA,
                               "record %zu: field '%s': expected a string, "
                               "got %s",
                               idx, field, assay__json_type_name(v));
    *out = json_string_value(v);
    return ASSAY_OK;
}

uint64_t jc_item_seed(uint64_t base, size_t idx)
{
    uint64_t x = base ^ ((uint64_t)idx * 0xd1342543de82ef95ULL);
    return assay_splitmix64(&x);
}

void jc_rel_opts_get(const assay_host *h, const json_t *opts, jc_rel_opts *o)
{
    o->resamples = (unsigned)assay_opt_int(opts, "bootstrap");
    o->level = assay_opt_num(opts, "ci_level");
    o->seed = h->seed(h, "reliability");
}

json_t *jc_info(const assay_host *h, const char *endpoint, const jc_runner *r,
                size_t items)
{
    json_t *info = json_pack(
        "{s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "endpoint", endpoint, "items",
        (json_int_t)items, "requests", (json_int_t)r->requests, "failed",
        (json_int_t)r->failed_requests, "cached", (json_int_t)r->cached,
        "prompt_tokens", (json_int_t)r->prompt_tokens, "completion_tokens",
        (json_int_t)r->completion_tokens);
    json_t *ep = h->llm_endpoint_info(h, endpoint);
    if (info && ep)
        json_object_set_new(info, "endpoint_info", ep);
    else
        json_decref(ep);
    return info;
}

int jc_verdict_base(const assay_host *h, json_t *v, const json_t *rec,
                    size_t idx, const char *id_field, const char *subset_field)
{
    json_t *id = id_field ? json_object_get(rec, id_field) : NULL;
    json_t *sub = subset_field ? json_object_get(rec, subset_field) : NULL;
    if (json_object_set_new(v, "index", json_integer((json_int_t)idx)) ||
        json_object_set_new(v, "judge", json_string(h->node_name(h))) ||
        (id && json_object_set(v, id_field, id)) ||
        (sub && json_is_string(sub) && json_object_set(v, subset_field, sub)))
        return ASSAY_ENOMEM;
    return ASSAY_OK;
}

int jc_failure_code(const char *error)
{
    return error && strstr(error, "budget") ? ASSAY_EBUDGET : ASSAY_ELLM;
}

json_t *jc_context(const json_t *rec, const char *const *kv)
{
    json_t *ctx =
        json_is_object(rec) ? json_copy((json_t *)rec) : json_object();
    if (!ctx)
        return NULL;
    for (size_t i = 0; kv && kv[i]; i += 2) {
        if (!kv[i + 1]) {
            /* unset: hide an item field of the same name, so that e.g. a
             * reference-free judge never shows the item's reference */
            json_object_del(ctx, kv[i]);
            continue;
        }
        if (json_object_set_new(ctx, kv[i], json_string(kv[i + 1]))) {
            json_decref(ctx);
            return NULL;
        }
    }
    return ctx;
}

void jc_estimate_fill(assay_estimate *est, const char *endpoint,
                      uint64_t requests, uint64_t prompt_chars,
                      const json_t *params, uint64_t def_completion)
{
    json_t *mt = json_object_get(params, "max_tokens");
    uint64_t comp = json_is_integer(mt) && json_integer_value(mt) > 0
                        ? (uint64_t)json_integer_value(mt)
                        : def_completion;
    est->endpoint = endpoint;
    est->llm_requests = requests;
    est->prompt_tokens = (prompt_chars + 3) / 4 + 8 * requests;
    est->completion_tokens = comp * requests;
}

const json_t *jc_estimate_items(const assay_host *h, assay_io *io,
                                const char *port, uint64_t per_item)
{
    if (h->in_type(io, port))
        return h->in_records(io, port);
    h->log(h, ASSAY_LOG_INFO,
           "input '%s' not computed yet: %llu LLM requests per item at most",
           port, (unsigned long long)per_item);
    return NULL;
}
