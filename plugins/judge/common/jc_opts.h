/*
 * jc_opts.h - option and record helpers shared by the judge and reviser
 * plugins: prompt templates from options, gold labels, optional fields,
 * per-item seeds, the `info` output, and the option declarations every
 * LLM judge has.
 */
#ifndef JC_OPTS_H
#define JC_OPTS_H

#include <assay/plugin.h>

#include "jc_reliab.h"
#include "jc_run.h"
#include "jc_tpl.h"

/* Options every LLM judge declares (use inside an assay_option array). */
#define JC_OPT_LLM                                                             \
    {                                                                          \
        .name = "llm", .type = ASSAY_OPT_STRING, .required = true,             \
        .doc = "endpoint (name in the experiment's llm: section) that judges"  \
    }
#define JC_OPT_PARAMS                                                          \
    {                                                                          \
        .name = "params", .type = ASSAY_OPT_OBJECT,                            \
        .doc = "request parameters overriding the endpoint's defaults "        \
               "(temperature, max_tokens, seed, ...)"                          \
    }
#define JC_OPT_ON_ERROR                                                        \
    {                                                                          \
        .name = "on_error", .type = ASSAY_OPT_ENUM, .def = "\"record\"",       \
        .choices = "record|fail",                                              \
        .doc = "a request that failed (retries exhausted, HTTP error, replay " \
               "miss) is recorded as a failed item, never a score; or fails "  \
               "the node"                                                      \
    }
#define JC_OPT_MAX_REPAIRS                                                     \
    {                                                                          \
        .name = "max_repairs", .type = ASSAY_OPT_INT, .def = "2",              \
        .has_min = true, .min = 0, .has_max = true, .max = 10,                 \
        .doc = "re-asks with the repair message when an answer has no "        \
               "parseable verdict, before it counts as invalid"                \
    }
#define JC_OPT_RELIABILITY                                                     \
    {.name = "bootstrap",                                                      \
     .type = ASSAY_OPT_INT,                                                    \
     .def = "1000",                                                            \
     .has_min = true,                                                          \
     .min = 0,                                                                 \
     .has_max = true,                                                          \
     .max = 100000,                                                            \
     .doc = "bootstrap resamples for the reliability CIs (0: none)"},          \
        {.name = "ci_level",                                                   \
         .type = ASSAY_OPT_FLOAT,                                              \
         .def = "0.95",                                                        \
         .has_min = true,                                                      \
         .min = 0.5,                                                           \
         .has_max = true,                                                      \
         .max = 0.999,                                                         \
         .doc = "confidence level of the reliability CIs"},                    \
    {                                                                          \
        .name = "subset_field", .type = ASSAY_OPT_STRING, .def = "\"subset\"", \
        .doc = "item field naming its subset, for per-subset accuracy"         \
    }
#define JC_OPT_PAIR_FIELDS                                                     \
    {.name = "input_field",                                                    \
     .type = ASSAY_OPT_STRING,                                                 \
     .def = "\"input\"",                                                       \
     .doc = "item field with the instruction"},                                \
        {.name = "output_1_field",                                             \
         .type = ASSAY_OPT_STRING,                                             \
         .def = "\"output_1\"",                                                \
         .doc = "item field with the first response"},                         \
        {.name = "output_2_field",                                             \
         .type = ASSAY_OPT_STRING,                                             \
         .def = "\"output_2\"",                                                \
         .doc = "item field with the second response"},                        \
        {.name = "label_field",                                                \
         .type = ASSAY_OPT_STRING,                                             \
         .def = "\"label\"",                                                   \
         .doc = "item field with the gold winner (1/2, A/B, tie); items "      \
                "without it have no gold"},                                    \
    {                                                                          \
        .name = "id_field", .type = ASSAY_OPT_STRING, .def = "\"id\"",         \
        .doc = "item field copied into the verdicts when present"              \
    }

/*
 * The prompt of option `inline_opt` (template text), else of `file_opt`
 * (a path, relative to the experiment file), else the built-in `def`.
 * Giving both options is an error.  *out is freed with jc_prompt_free.
 */
int jc_prompt_option(const assay_host *h, const json_t *opts,
                     const char *inline_opt, const char *file_opt,
                     const char *def, jc_prompt *out, assay_error *err);

/*
 * Gold label of record `idx`: JC_V_A for 1, "1", "A", "a", "output_1",
 * "model_a"; JC_V_B for 2 and the like; JC_V_TIE for 0, 3, "tie", "C",
 * "draw"; JC_V_NONE when the field is absent or null (no gold).  Other
 * values are an error naming the record and field.
 */
int jc_gold_label(const json_t *rec, size_t idx, const char *field, int *gold,
                  assay_error *err);

/* Optional string field: *out NULL when absent or null; another type is
 * an error naming the record and field. */
int jc_rec_opt_str(const json_t *rec, size_t idx, const char *field,
                   const char **out, assay_error *err);

/* A seed for item `idx` derived from `base` (independent of the order in
 * which items finish). */
uint64_t jc_item_seed(uint64_t base, size_t idx);

/* Reliability options from the JC_OPT_RELIABILITY options; the seed comes
 * from the host's "reliability" stream. */
void jc_rel_opts_get(const assay_host *h, const json_t *opts, jc_rel_opts *o);

/*
 * The `info` output: {endpoint, endpoint_info, items, requests, failed,
 * cached, prompt_tokens, completion_tokens} from the runner's counters.
 * New reference; NULL on ENOMEM.
 */
json_t *jc_info(const assay_host *h, const char *endpoint, const jc_runner *r,
                size_t items);

/* Copy the item's `id_field` (when present) and `subset_field` into `v`
 * and add "index" and "judge" (the node name). */
int jc_verdict_base(const assay_host *h, json_t *v, const json_t *rec,
                    size_t idx, const char *id_field, const char *subset_field);

/*
 * A template context: a shallow copy of the item `rec` plus the given
 * string fields (`kv` holds name/value pairs, NULL-terminated).  The
 * given names override item fields; a NULL value removes the item's
 * field of that name (a reference-free judge must not show an item's
 * `reference`).  New reference; NULL on ENOMEM.
 */
json_t *jc_context(const json_t *rec, const char *const *kv);

/*
 * Fill an estimate: `requests` LLM requests whose prompts total
 * `prompt_chars` characters (about 4 per token), each answering at most
 * params.max_tokens tokens (else `def_completion`).
 */
void jc_estimate_fill(assay_estimate *est, const char *endpoint,
                      uint64_t requests, uint64_t prompt_chars,
                      const json_t *params, uint64_t def_completion);

/* The items of input `port` for estimate(): NULL when not known yet
 * (then a line saying what one item costs is logged). */
const json_t *jc_estimate_items(const assay_host *h, assay_io *io,
                                const char *port, uint64_t per_item);

/* obj[key] = v, taking the reference (also on failure); false when `v`
 * is NULL (a failed constructor) or on ENOMEM.  Builders accumulate
 * `ok &= jc_put(...)` and fail once at the end. */
static inline bool jc_put(json_t *obj, const char *key, json_t *v)
{
    return json_object_set_new(obj, key, v) == 0;
}

/* Is this the ASSAY_EBUDGET kind of failure ("skipped: budget ...")? */
int jc_failure_code(const char *error);

#endif
