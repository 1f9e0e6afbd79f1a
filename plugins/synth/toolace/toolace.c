/*
 * synth.toolace - ToolACE-style function-calling data (Liu et al.,
 * "ToolACE: Winning the Points of LLM Function Calling", ICLR 2025):
 * tool self-evolution synthesis (API context tree, subtree adaptation,
 * evolution with an example buffer and mutations) and self-guided
 * dialog generation with user, assistant and tool agents.
 */
#include <assay/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_tpl.h"
#include "assistant_tpl.h"
#include "expansion_tpl.h"
#include "jc_opts.h"
#include "jc_text.h"
#include "seed_api_tpl.h"
#include "speciation_tpl.h"
#include "syn_llm.h"
#include "syn_schema.h"
#include "syn_text.h"
#include "ta_consensus.h"
#include "ta_tree.h"
#include "tool_tpl.h"
#include "user_tpl.h"

enum { P_SPEC = 0, P_EXPAND, P_API, P_USER, P_ASSIST, P_TOOL, P_N };
static const char *const ta_prompt_names[P_N] = {
    "speciation", "expansion", "api", "user", "assistant", "tool"};
static const char *const ta_prompt_defaults[P_N] = {
    SYNTH_TPL_SPECIATION, SYNTH_TPL_EXPANSION, SYNTH_TPL_API,
    SYNTH_TPL_USER,       SYNTH_TPL_ASSISTANT, SYNTH_TPL_TOOL};

enum { D_SINGLE = 0, D_PARALLEL, D_DEPENDENT, D_NONTOOL, D_N };
static const char *const ta_type_names[D_N] = {"single", "parallel",
                                               "dependent", "non_tool"};

/* Diversity mutations of the evolution step. */
static const struct {
    const char *name, *text;
} ta_mutations[] = {
    {"add_parameters",
     "Add one or two useful optional parameters beyond the obvious ones."},
    {"add_constraints",
     "Constrain parameters the way real APIs do: value ranges, patterns, "
     "formats or enumerations."},
    {"mutate_types",
     "Give at least one parameter a type other than string where a real "
     "API would (number, integer, boolean, array)."},
    {"nested_types",
     "Include a nested parameter: an array of objects or an object with its "
     "own properties (for example a list of dicts)."},
    {"update_returns", "Describe a richer return value, with nested fields."},
};
#define TA_NMUT (sizeof ta_mutations / sizeof ta_mutations[0])

#define TA_EST_COMPLETION 400

typedef struct ta_state {
    const assay_host *h;
    char *endpoint, *domain_field, *desc_field, *docs_field, *system;
    char *complexity;
    json_t *params;
    jc_prompt prompt[P_N];
    char *repair[P_N];
    json_t *mutations; /* array of instruction texts */
    size_t tree_depth, max_children, apis_per_domain, max_funcs;
    size_t buffer_size, muts_per_api, n_dialogs, candidates, samples;
    size_t turns, max_steps;
    double type_w[D_N];
    bool majority, on_error_record;
    unsigned max_repairs;
} ta_state;

static const assay_port ta_inputs[] = {
    {.name = "domains",
     .type = ASSAY_T_RECORDS,
     .required = true,
     .doc = "seed domains: {domain, description?, documents?}"},
    {.name = "examples",
     .type = ASSAY_T_RECORDS,
     .doc = "API definitions that seed the example buffer (else a built-in "
            "one)"},
    {0}};

static const assay_port ta_outputs[] = {
    {.name = "dialogs",
     .type = ASSAY_T_RECORDS,
     .doc = "function-calling dialogs {id, type, domain, tools, messages} "
            "(OpenAI chat format)"},
    {.name = "apis",
     .type = ASSAY_T_RECORDS,
     .doc = "the synthesised API pool: definition, domain, "
            "functionalities, mutations"},
    {.name = "tree",
     .type = ASSAY_T_RECORDS,
     .doc = "the API context trees, one record per functionality"},
    {.name = "failures",
     .type = ASSAY_T_RECORDS,
     .doc = "requests and dialogs that failed, with the stage and reason"},
    {.name = "summary",
     .type = ASSAY_T_JSON,
     .doc = "counts per stage and dialog type, consistency, LLM usage"},
    {0}};

static const assay_option ta_options[] = {
    JC_OPT_LLM,
    JC_OPT_PARAMS,
    {.name = "domain_field",
     .type = ASSAY_OPT_STRING,
     .def = "\"domain\"",
     .doc = "domain record field naming the domain"},
    {.name = "description_field",
     .type = ASSAY_OPT_STRING,
     .def = "\"description\"",
     .doc = "optional field describing it"},
    {.name = "documents_field",
     .type = ASSAY_OPT_STRING,
     .def = "\"documents\"",
     .doc = "optional field with API documents, manuals or specs"},
    {.name = "tree_depth",
     .type = ASSAY_OPT_INT,
     .def = "2",
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 4,
     .doc = "levels of functionalities below the domain"},
    {.name = "max_children",
     .type = ASSAY_OPT_INT,
     .def = "5",
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 20,
     .doc = "functionalities per expansion at most"},
    {.name = "apis_per_domain",
     .type = ASSAY_OPT_INT,
     .def = "4",
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 1000,
     .doc = "APIs to synthesise per domain (one per evolution round)"},
    {.name = "max_functionalities",
     .type = ASSAY_OPT_INT,
     .def = "3",
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 16,
     .doc = "tree nodes one API covers at most (its subtree)"},
    {.name = "buffer_size",
     .type = ASSAY_OPT_INT,
     .def = "16",
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 10000,
     .doc = "example buffer size (new APIs replace random entries)"},
    {.name = "mutations",
     .type = ASSAY_OPT_LIST,
     .def = "[\"add_parameters\", \"add_constraints\", \"mutate_types\", "
            "\"nested_types\", \"update_returns\"]",
     .doc = "evolution mutations to draw from (names above, or your own "
            "instruction texts)"},
    {.name = "mutations_per_api",
     .type = ASSAY_OPT_INT,
     .def = "1",
     .has_min = true,
     .min = 0,
     .has_max = true,
     .max = 5,
     .doc = "mutations applied to each new API"},
    {.name = "dialogs",
     .type = ASSAY_OPT_INT,
     .def = "20",
     .has_min = true,
     .min = 0,
     .has_max = true,
     .max = 1000000,
     .doc = "dialogs to generate"},
    {.name = "dialog_types",
     .type = ASSAY_OPT_OBJECT,
     .def = "{\"single\": 0.4, \"parallel\": 0.2, \"dependent\": 0.2, "
            "\"non_tool\": 0.2}",
     .doc = "weights of the dialog types (single, parallel, dependent, "
            "non_tool)"},
    {.name = "candidates",
     .type = ASSAY_OPT_INT,
     .def = "3",
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 32,
     .doc = "APIs offered to the assistant per dialog"},
    {.name = "samples",
     .type = ASSAY_OPT_INT,
     .def = "3",
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 16,
     .doc = "assistant decisions sampled per step (consistency filter)"},
    {.name = "consistency",
     .type = ASSAY_OPT_ENUM,
     .def = "\"all\"",
     .choices = "all|majority",
     .doc = "keep a step when all samples agree, or a strict majority"},
    {.name = "turns",
     .type = ASSAY_OPT_INT,
     .def = "1",
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 10,
     .doc = "user turns per dialog"},
    {.name = "max_steps",
     .type = ASSAY_OPT_INT,
     .def = "4",
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 20,
     .doc = "assistant tool-call steps per dialog at most"},
    {.name = "complexity",
     .type = ASSAY_OPT_ENUM,
     .def = "\"medium\"",
     .choices = "easy|medium|hard",
     .doc = "how complicated the user agent makes its requests"},
    {.name = "system_prompt",
     .type = ASSAY_OPT_STRING,
     .def = "\"You are a helpful assistant with access to the functions "
            "listed below. Call them when they help; otherwise answer "
            "directly.\"",
     .doc = "the assistant's system message in every dialog"},
    {.name = "templates",
     .type = ASSAY_OPT_OBJECT,
     .doc = "template texts overriding the built-in ones (speciation, "
            "expansion, api, user, assistant, tool)"},
    JC_OPT_MAX_REPAIRS,
    JC_OPT_ON_ERROR,
    {0}};

static void ta_destroy(void *state)
{
    ta_state *s = state;
    if (!s)
        return;
    free(s->endpoint);
    free(s->domain_field);
    free(s->desc_field);
    free(s->docs_field);
    free(s->system);
    free(s->complexity);
    json_decref(s->params);
    json_decref(s->mutations);
    for (int p = 0; p < P_N; p++) {
        jc_prompt_free(&s->prompt[p]);
        free(s->repair[p]);
    }
    free(s);
}

static bool dup_opt(const json_t *o, const char *k, char **out)
{
    const char *v = assay_opt_str(o, k);
    *out = v ? jc_strdup(v) : NULL;
    return !v || *out;
}

static int ta_create(const assay_host *h, const json_t *o, void **state,
                     assay_error *err)
{
    ta_state *s = calloc(1, sizeof *s);
    int rc = ASSAY_OK;
    if (!s)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    s->h = h;
    if (!dup_opt(o, "llm", &s->endpoint) ||
        !dup_opt(o, "domain_field", &s->domain_field) ||
        !dup_opt(o, "description_field", &s->desc_field) ||
        !dup_opt(o, "documents_field", &s->docs_field) ||
        !dup_opt(o, "system_prompt", &s->system) ||
        !dup_opt(o, "complexity", &s->complexity) ||
        !(s->mutations = json_array())) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto fail;
    }
    json_t *p = json_object_get(o, "params");
    if (json_is_object(p) && !(s->params = json_deep_copy(p))) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto fail;
    }
    s->tree_depth = (size_t)assay_opt_int(o, "tree_depth");
    s->max_children = (size_t)assay_opt_int(o, "max_children");
    s->apis_per_domain = (size_t)assay_opt_int(o, "apis_per_domain");
    s->max_funcs = (size_t)assay_opt_int(o, "max_functionalities");
    s->buffer_size = (size_t)assay_opt_int(o, "buffer_size");
    s->muts_per_api = (size_t)assay_opt_int(o, "mutations_per_api");
    s->n_dialogs = (size_t)assay_opt_int(o, "dialogs");
    s->candidates = (size_t)assay_opt_int(o, "candidates");
    s->samples = (size_t)assay_opt_int(o, "samples");
    s->turns = (size_t)assay_opt_int(o, "turns");
    s->max_steps = (size_t)assay_opt_int(o, "max_steps");
    s->majority = !strcmp(assay_opt_str(o, "consistency"), "majority");
    s->on_error_record = !strcmp(assay_opt_str(o, "on_error"), "record");
    s->max_repairs = (unsigned)assay_opt_int(o, "max_repairs");
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(o, "mutations"), i, v)
    {
        const char *t = json_string_value(v);
        if (!t || jc_blank(t)) {
            rc = assay_error_set(err, ASSAY_EINVAL,
                                 "mutations: item %zu: expected a mutation "
                                 "name or an instruction text",
                                 i);
            goto fail;
        }
        for (size_t k = 0; k < TA_NMUT; k++)
            if (!strcmp(t, ta_mutations[k].name))
                t = ta_mutations[k].text;
        if (json_array_append_new(s->mutations, json_string(t))) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto fail;
        }
    }
    const json_t *types = json_object_get(o, "dialog_types");
    double total = 0;
    const char *k;
    json_object_foreach((json_t *)types, k, v)
    {
        int t = -1;
        for (int d = 0; d < D_N; d++)
            if (!strcmp(k, ta_type_names[d]))
                t = d;
        if (t < 0 || !json_is_number(v) || json_number_value(v) < 0) {
            rc = assay_error_set(err, ASSAY_EINVAL,
                                 "dialog_types: '%s': expected single, "
                                 "parallel, dependent or non_tool with a "
                                 "weight >= 0",
                                 k);
            goto fail;
        }
        s->type_w[t] = json_number_value(v);
        total += s->type_w[t];
    }
    if (!(total > 0)) {
        rc = assay_error_set(err, ASSAY_EINVAL,
                             "dialog_types: the weights sum to zero");
        goto fail;
    }
    const json_t *tpls = json_object_get(o, "templates");
    json_object_foreach((json_t *)tpls, k, v)
    {
        int t = -1;
        for (int q = 0; q < P_N; q++)
            if (!strcmp(k, ta_prompt_names[q]))
                t = q;
        if (t < 0 || !json_is_string(v)) {
            rc = assay_error_set(err, ASSAY_EINVAL,
                                 "templates: '%s' is not one of speciation, "
                                 "expansion, api, user, assistant, tool "
                                 "with a template text",
                                 k);
            goto fail;
        }
    }
    for (int q = 0; q < P_N; q++) {
        const char *t =
            json_string_value(json_object_get(tpls, ta_prompt_names[q]));
        if ((rc = jc_prompt_parse(t ? t : ta_prompt_defaults[q], &s->prompt[q],
                                  err))) {
            assay_error_prefix(err, "template %s: ", ta_prompt_names[q]);
            goto fail;
        }
        if (s->prompt[q].repair) {
            json_t *empty = json_object();
            rc = empty ? jc_tpl_render(s->prompt[q].repair, empty, 0,
                                       &s->repair[q], err)
                       : ASSAY_ENOMEM;
            json_decref(empty);
            if (rc)
                goto fail;
        }
    }
    *state = s;
    return ASSAY_OK;
fail:
    ta_destroy(s);
    return rc;
}

/* ---- run context ------------------------------------------------------ */

typedef struct ta_domain {
    const json_t *rec;
    const char *name, *desc, *docs;
    ta_node root;
    ta_node **nodes; /* registry: b of the expansion requests */
    size_t nnodes;
    ta_node **flat; /* preorder, after the tree phase */
    size_t nflat;
    size_t *sets, *sizes; /* adaptation: one subtree per API slot */
    json_t **slot_api;    /* evolution: the definition per slot */
    json_t **slot_muts;
} ta_domain;

enum { DS_RUN = 0, DS_OK = 1, DS_FAILED = 2 };

typedef struct ta_dialog {
    size_t domain;
    int type;
    bool irrelevant, missing;
    json_t *tools, *targets, *messages, *consistency;
    size_t turn, steps, pending;
    json_t *decisions; /* per sample: normalised decision or null */
    json_t *raws;      /* per sample: answers */
    json_t *calls;     /* the chosen calls of the step */
    json_t *results;   /* per call: tool result text */
    int status;
    const char *stage;
    char *error;
} ta_dialog;

typedef struct ta_ctx {
    ta_state *s;
    ta_domain *doms;
    size_t ndom;
    json_t *pool;   /* array of {definition (bare), domain, ...} */
    json_t *buffer; /* example buffer: bare definitions */
    json_t *failures;
    ta_dialog *dlg;
    size_t ndlg, dialogs_done;
    jc_call **calls; /* every request, freed at the end */
    size_t ncalls, capcalls;
    jc_runner r;
    size_t inconsistent, steps_total, invalid_apis;
} ta_ctx;

enum { T_SPEC = 0, T_EXPAND, T_API, T_USER, T_ASSIST, T_TOOL };

static jc_call *new_call(ta_ctx *c)
{
    if (c->ncalls == c->capcalls) {
        size_t cap = c->capcalls ? c->capcalls * 2 : 64;
        jc_call **v = realloc(c->calls, cap * sizeof *v);
        if (!v)
            return NULL;
        c->calls = v;
        c->capcalls = cap;
    }
    jc_call *k = calloc(1, sizeof *k);
    if (k)
        c->calls[c->ncalls++] = k;
    return k;
}

/* Render prompt q with context ctx and submit it as a new question. */
static int ask(ta_ctx *c, int q, const json_t *ctx, int tag, size_t a, size_t b,
               size_t item, uint32_t sample, assay_error *err)
{
    ta_state *s = c->s;
    char *sys = NULL, *usr = NULL;
    int rc = jc_prompt_render(&s->prompt[q], ctx, item, &sys, &usr, err);
    if (rc)
        return rc;
    if (sys && jc_blank(sys)) {
        free(sys);
        sys = NULL;
    }
    jc_call *k = new_call(c);
    if (!k) {
        free(sys);
        free(usr);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    syn_call_init(k, sys, usr, s->repair[q], s->max_repairs, item, sample);
    k->tag = tag;
    k->a = a;
    k->b = b;
    return jc_runner_add(&c->r, k, err);
}

static int add_failure(ta_ctx *c, const char *stage, const jc_call *k,
                       json_t *about, const char *why)
{
    json_t *f = json_pack("{s:s, s:s, s:o}", "stage", stage, "error",
                          why             ? why
                          : k && k->error ? k->error
                                          : "no usable answer after the "
                                            "repairs",
                          "about", about ? about : json_object());
    if (!f)
        return ASSAY_ENOMEM;
    json_t *raws = k ? jc_call_raws(k) : NULL;
    if (raws)
        json_object_set_new(f, "raw", raws);
    return json_array_append_new(c->failures, f) ? ASSAY_ENOMEM : ASSAY_OK;
}

/* The request failed: fail the node (on_error: fail) or record it. */
static int request_failed(ta_ctx *c, jc_call *k, const char *stage,
                          json_t *about, assay_error *err)
{
    if (k->status == JC_S_FAILED && !c->s->on_error_record) {
        json_decref(about);
        return assay_error_set(err, jc_failure_code(k->error),
                               "%s request for item %zu: %s (set on_error: "
                               "record to keep going)",
                               stage, k->item, k->error);
    }
    if (add_failure(c, stage, k, about, NULL))
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    return ASSAY_OK;
}

/* ---- tree ------------------------------------------------------------------
 */

static int register_node(ta_domain *d, ta_node *n)
{
    ta_node **v = realloc(d->nodes, (d->nnodes + 1) * sizeof *v);
    if (!v)
        return ASSAY_ENOMEM;
    d->nodes = v;
    d->nodes[d->nnodes++] = n;
    return ASSAY_OK;
}

static int ask_expansion(ta_ctx *c, size_t di, size_t ni, assay_error *err)
{
    ta_domain *d = &c->doms[di];
    ta_node *n = d->nodes[ni];
    char *path = ta_node_path(n);
    json_t *ctx = jc_context(d->rec, NULL);
    int rc = ASSAY_ENOMEM;
    if (path && ctx &&
        !json_object_set_new(ctx, "domain", json_string(d->name)) &&
        !json_object_set_new(ctx, "path", json_string(path)) &&
        !json_object_set_new(ctx, "name", json_string(n->name)) &&
        !json_object_set_new(ctx, "description", json_string(n->desc)) &&
        !json_object_set_new(ctx, "max_children",
                             json_integer((json_int_t)c->s->max_children)))
        rc = ask(c, P_EXPAND, ctx, T_EXPAND, di, ni, di, 0, err);
    else
        assay_error_set(err, rc, "out of memory");
    free(path);
    json_decref(ctx);
    return rc;
}

static int on_tree(ta_ctx *c, jc_call *k, assay_error *err)
{
    ta_domain *d = &c->doms[k->a];
    ta_node *n = d->nodes[k->b];
    const char *stage = k->tag == T_SPEC ? "speciation" : "expansion";
    json_t *j = NULL;
    int rc = syn_call_json(&c->r, k, SYN_JSON_ANY, &j, err);
    if (rc == SYN_ANS_RETRY)
        return ASSAY_OK;
    if (rc < 0)
        return rc;
    const json_t *list =
        json_is_array(j) ? j : json_object_get(j, "functionalities");
    if (rc == SYN_ANS_OK && !json_is_array(list)) {
        json_decref(j);
        j = NULL;
        if (syn_call_retry(&c->r, k, &rc, err))
            return ASSAY_OK;
        if (rc)
            return rc;
    }
    if (!j) {
        json_t *about =
            json_pack("{s:s, s:s}", "domain", d->name, "functionality",
                      n->depth ? n->name : "(domain)");
        jc_call_drop_prompts(k);
        return request_failed(c, k, stage, about, err);
    }
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        if (n->nkids >= c->s->max_children)
            break;
        const char *name = json_string_value(json_object_get(e, "name"));
        const char *desc = json_string_value(json_object_get(e, "description"));
        if (json_is_string(e))
            name = json_string_value(e);
        if (!name || jc_blank(name))
            continue;
        ta_node *kid = ta_node_add(n, name, desc);
        if (!kid || register_node(d, kid)) {
            json_decref(j);
            return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        }
        if ((size_t)kid->depth < c->s->tree_depth &&
            (rc = ask_expansion(c, k->a, d->nnodes - 1, err))) {
            json_decref(j);
            return rc;
        }
    }
    json_decref(j);
    jc_call_drop_prompts(k);
    return ASSAY_OK;
}

/* ---- evolution
 * ---------------------------------------------------------------- */

/* The bare function body of a definition in either form. */
static json_t *bare_def(const json_t *v)
{
    const json_t *fn = json_object_get(v, "function");
    return json_deep_copy(json_is_object(fn) ? fn : v);
}

static int ask_api(ta_ctx *c, size_t di, size_t slot, size_t round,
                   assay_rng *rng, assay_error *err)
{
    ta_state *s = c->s;
    ta_domain *d = &c->doms[di];
    jc_buf fb = {0}, mb = {0};
    char *funcs = NULL, *muts = NULL, *example = NULL;
    json_t *ctx = NULL, *used = json_array();
    int rc = ASSAY_ENOMEM;
    for (size_t j = 0; j < d->sizes[slot]; j++) {
        const ta_node *n = d->flat[d->sets[slot * s->max_funcs + j]];
        char *path = ta_node_path(n);
        int bad = !path || jc_buf_printf(&fb, "- %s: %s\n", path, n->desc);
        free(path);
        if (bad)
            goto done;
    }
    /* mutations: distinct draws from the enabled list */
    size_t nm = json_array_size(s->mutations);
    size_t want = s->muts_per_api < nm ? s->muts_per_api : nm;
    unsigned char *taken = calloc(nm + 1, 1);
    if (!taken || !used) {
        free(taken);
        goto done;
    }
    for (size_t q = 0; q < want; q++) {
        size_t pick;
        do
            pick = (size_t)assay_rng_below(rng, nm);
        while (taken[pick]);
        taken[pick] = 1;
        const char *t = json_string_value(json_array_get(s->mutations, pick));
        if (jc_buf_printf(&mb, "- %s\n", t) ||
            json_array_append_new(used, json_string(t))) {
            free(taken);
            goto done;
        }
    }
    free(taken);
    if (!want && jc_buf_puts(&mb, "- Keep the API as it is.\n"))
        goto done;
    const json_t *ex = json_array_get(
        c->buffer, (size_t)assay_rng_below(rng, json_array_size(c->buffer)));
    example = json_dumps(ex, JSON_INDENT(1));
    if (jc_buf_take(&fb, &funcs) || jc_buf_take(&mb, &muts) || !example)
        goto done;
    ctx = jc_context(d->rec, NULL);
    if (!ctx || json_object_set_new(ctx, "domain", json_string(d->name)) ||
        json_object_set_new(ctx, "functionalities", json_string(funcs)) ||
        json_object_set_new(ctx, "mutations", json_string(muts)) ||
        json_object_set_new(ctx, "example", json_string(example)))
        goto done;
    d->slot_muts[slot] = used;
    used = NULL;
    rc = ask(c, P_API, ctx, T_API, di, slot, di, (uint32_t)round, err);
    goto out;
done:
    assay_error_set(err, ASSAY_ENOMEM, "out of memory");
out:
    jc_buf_free(&fb);
    jc_buf_free(&mb);
    free(funcs);
    free(muts);
    free(example);
    json_decref(ctx);
    json_decref(used);
    return rc;
}

static int on_api(ta_ctx *c, jc_call *k, assay_error *err)
{
    ta_domain *d = &c->doms[k->a];
    json_t *j = NULL, *def = NULL;
    syn_fails f = {0};
    int rc = syn_call_json(&c->r, k, SYN_JSON_OBJECT, &j, err);
    if (rc == SYN_ANS_RETRY)
        return ASSAY_OK;
    if (rc < 0)
        return rc;
    if (rc == SYN_ANS_OK) {
        def = bare_def(j);
        json_decref(j);
        syn_schema_opts so = {.strict_types = true};
        if (def)
            syn_fn_check(def, 0, &so, &f);
        if (!def || f.n || f.oom) {
            char why[400];
            snprintf(why, sizeof why, "%s: %s", f.n ? f.v[0].rule : "",
                     f.n ? f.v[0].msg : "no definition");
            json_decref(def);
            def = NULL;
            syn_fails_free(&f);
            if (syn_call_retry(&c->r, k, &rc, err))
                return ASSAY_OK;
            if (rc)
                return rc;
            c->invalid_apis++;
            json_t *about = json_pack("{s:s, s:I}", "domain", d->name, "slot",
                                      (json_int_t)k->b);
            int r2 = add_failure(c, "api", k, about, why);
            jc_call_drop_prompts(k);
            return r2 ? assay_error_set(err, ASSAY_ENOMEM, "out of memory")
                      : ASSAY_OK;
        }
        syn_fails_free(&f);
        d->slot_api[k->b] = def;
        jc_call_drop_prompts(k);
        return ASSAY_OK;
    }
    json_t *about =
        json_pack("{s:s, s:I}", "domain", d->name, "slot", (json_int_t)k->b);
    jc_call_drop_prompts(k);
    if (rc == SYN_ANS_INVALID)
        c->invalid_apis++;
    return request_failed(c, k, "api", about, err);
}

/* Add a round's APIs to the pool and the buffer, in domain order; names
 * already taken get a _2, _3 ... suffix. */
static int commit_round(ta_ctx *c, size_t round, assay_rng *rng)
{
    ta_state *s = c->s;
    for (size_t di = 0; di < c->ndom; di++) {
        ta_domain *d = &c->doms[di];
        if (round >= s->apis_per_domain || !d->slot_api || !d->slot_api[round])
            continue;
        json_t *def = d->slot_api[round];
        const char *name = json_string_value(json_object_get(def, "name"));
        char fresh[160];
        snprintf(fresh, sizeof fresh, "%s", name);
        for (int v = 2;; v++) {
            bool taken = false;
            size_t i;
            json_t *a;
            json_array_foreach(c->pool, i, a) taken =
                taken || !strcmp(json_string_value(json_object_get(
                                     json_object_get(a, "definition"), "name")),
                                 fresh);
            if (!taken)
                break;
            snprintf(fresh, sizeof fresh, "%.100s_%d", name, v);
        }
        json_object_set_new(def, "name", json_string(fresh));
        json_t *funcs = json_array();
        for (size_t j = 0; funcs && j < d->sizes[round]; j++) {
            char *p = ta_node_path(d->flat[d->sets[round * s->max_funcs + j]]);
            json_array_append_new(funcs, json_string(p ? p : "?"));
            free(p);
        }
        json_t *rec =
            json_pack("{s:s, s:O, s:o, s:O, s:I}", "domain", d->name,
                      "definition", def, "functionalities", funcs, "mutations",
                      d->slot_muts[round] ? d->slot_muts[round] : json_null(),
                      "round", (json_int_t)round);
        if (!rec || json_array_append_new(c->pool, rec))
            return ASSAY_ENOMEM;
        if (json_array_size(c->buffer) < s->buffer_size) {
            if (json_array_append(c->buffer, def))
                return ASSAY_ENOMEM;
        } else if (json_array_set(
                       c->buffer,
                       (size_t)assay_rng_below(rng, json_array_size(c->buffer)),
                       def)) {
            return ASSAY_ENOMEM;
        }
    }
    return ASSAY_OK;
}

/* ---- dialogs
 * ------------------------------------------------------------------ */

static json_t *tool_entry(const json_t *def)
{
    json_t *fn = json_object();
    const char *k;
    json_t *v;
    /* the function as offered to a model: name, description, parameters */
    json_object_foreach((json_t *)def, k, v)
    {
        if (!strcmp(k, "name") || !strcmp(k, "description") ||
            !strcmp(k, "parameters"))
            json_object_set(fn, k, v);
    }
    return json_pack("{s:s, s:o}", "type", "function", "function", fn);
}

/* The dialog so far, as the agents read it. */
static char *transcript(const ta_dialog *dl)
{
    jc_buf b = {0};
    char *out = NULL;
    size_t i;
    json_t *m;
    json_array_foreach(dl->messages, i, m)
    {
        const char *role = json_string_value(json_object_get(m, "role"));
        const char *content = json_string_value(json_object_get(m, "content"));
        if (!strcmp(role, "system"))
            continue;
        if (!strcmp(role, "tool")) {
            if (jc_buf_printf(&b, "[tool] (%s) %s\n",
                              json_string_value(json_object_get(m, "name")),
                              content ? content : ""))
                goto fail;
            continue;
        }
        const json_t *tc = json_object_get(m, "tool_calls");
        if (json_array_size(tc)) {
            size_t k;
            json_t *c;
            if (jc_buf_printf(&b, "[%s] calls", role))
                goto fail;
            json_array_foreach(tc, k, c)
            {
                const json_t *fn = json_object_get(c, "function");
                if (jc_buf_printf(
                        &b, "%s %s(%s)", k ? ";" : "",
                        json_string_value(json_object_get(fn, "name")),
                        json_string_value(json_object_get(fn, "arguments"))))
                    goto fail;
            }
            if (jc_buf_puts(&b, "\n"))
                goto fail;
            continue;
        }
        if (jc_buf_printf(&b, "[%s] %s\n", role, content ? content : ""))
            goto fail;
    }
    if (!b.len && jc_buf_puts(&b, "(nothing yet)"))
        goto fail;
    jc_buf_take(&b, &out);
fail:
    jc_buf_free(&b);
    return out;
}

static json_t *dialog_ctx(const ta_ctx *c, const ta_dialog *dl)
{
    char *tools = json_dumps(dl->tools, JSON_INDENT(1));
    char *tr = transcript(dl);
    json_t *ctx = json_object();
    if (!tools || !tr || !ctx ||
        json_object_set_new(ctx, "tools", json_string(tools)) ||
        json_object_set_new(ctx, "conversation", json_string(tr)) ||
        json_object_set_new(ctx, "domain",
                            json_string(c->doms[dl->domain].name)) ||
        json_object_set_new(ctx, "system", json_string(c->s->system))) {
        json_decref(ctx);
        ctx = NULL;
    }
    free(tools);
    free(tr);
    return ctx;
}

static int dialog_fail(ta_ctx *c, size_t di, const char *stage, const char *why,
                       const jc_call *k)
{
    ta_dialog *dl = &c->dlg[di];
    dl->status = DS_FAILED;
    dl->stage = stage;
    free(dl->error);
    dl->error = jc_strdup(why);
    c->dialogs_done++;
    json_t *about =
        json_pack("{s:I, s:s, s:O}", "dialog", (json_int_t)di, "type",
                  ta_type_names[dl->type], "messages", dl->messages);
    c->s->h->progress(c->s->h, c->dialogs_done, c->ndlg, "dialogs");
    return add_failure(c, stage, k, about, why);
}

static int ask_user(ta_ctx *c, size_t di, assay_error *err)
{
    ta_dialog *dl = &c->dlg[di];
    json_t *ctx = dialog_ctx(c, dl);
    char *targets = NULL;
    size_t i;
    json_t *t;
    jc_buf b = {0};
    json_array_foreach(dl->targets, i, t) jc_buf_printf(
        &b, "%s%s",
        i ? (i + 1 == json_array_size(dl->targets) ? " and " : ", ") : "",
        json_string_value(t));
    jc_buf_take(&b, &targets);
    int rc = ASSAY_ENOMEM;
    if (ctx && targets &&
        !json_object_set_new(ctx, "targets", json_string(targets)) &&
        !json_object_set_new(ctx, "single",
                             json_boolean(dl->type == D_SINGLE)) &&
        !json_object_set_new(ctx, "parallel",
                             json_boolean(dl->type == D_PARALLEL)) &&
        !json_object_set_new(ctx, "dependent",
                             json_boolean(dl->type == D_DEPENDENT)) &&
        !json_object_set_new(ctx, "irrelevant", json_boolean(dl->irrelevant)) &&
        !json_object_set_new(ctx, "missing_param", json_boolean(dl->missing)) &&
        !json_object_set_new(ctx, "follow_up", json_boolean(dl->turn > 0)) &&
        !json_object_set_new(ctx, "complexity", json_string(c->s->complexity)))
        rc = ask(c, P_USER, ctx, T_USER, di, 0, di, (uint32_t)dl->turn, err);
    else
        assay_error_set(err, rc, "out of memory");
    json_decref(ctx);
    free(targets);
    jc_buf_free(&b);
    return rc;
}

static int ask_assistant(ta_ctx *c, size_t di, assay_error *err)
{
    ta_dialog *dl = &c->dlg[di];
    json_t *ctx = dialog_ctx(c, dl);
    int rc = ASSAY_OK;
    if (!ctx)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    json_decref(dl->decisions);
    json_decref(dl->raws);
    dl->decisions = json_array();
    dl->raws = json_array();
    for (size_t k = 0; k < c->s->samples && dl->decisions && dl->raws; k++) {
        json_array_append_new(dl->decisions, json_null());
        json_array_append_new(dl->raws, json_null());
    }
    if (!dl->decisions || !dl->raws) {
        json_decref(ctx);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    dl->pending = c->s->samples;
    for (size_t k = 0; k < c->s->samples && rc == 0; k++)
        rc = ask(c, P_ASSIST, ctx, T_ASSIST, di, k, di, (uint32_t)k, err);
    json_decref(ctx);
    return rc;
}

static int ask_tools(ta_ctx *c, size_t di, assay_error *err)
{
    ta_dialog *dl = &c->dlg[di];
    size_t n = json_array_size(dl->calls);
    json_decref(dl->results);
    dl->results = json_array();
    if (!dl->results)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    for (size_t k = 0; k < n; k++)
        json_array_append_new(dl->results, json_null());
    dl->pending = n;
    for (size_t k = 0; k < n; k++) {
        const json_t *call = json_array_get(dl->calls, k);
        const char *name = json_string_value(json_object_get(call, "name"));
        /* the tool agent sees the whole definition, returns included */
        const json_t *def = NULL;
        size_t i;
        json_t *t;
        json_array_foreach(c->pool, i, t)
        {
            const json_t *fn = json_object_get(t, "definition");
            if (!strcmp(json_string_value(json_object_get(fn, "name")), name))
                def = fn;
        }
        char *api = json_dumps(def, JSON_INDENT(1));
        char *args =
            json_dumps(json_object_get(call, "arguments"), JSON_SORT_KEYS);
        json_t *ctx = json_object();
        int rc = ASSAY_ENOMEM;
        if (api && args && ctx &&
            !json_object_set_new(ctx, "api", json_string(api)) &&
            !json_object_set_new(ctx, "name", json_string(name)) &&
            !json_object_set_new(ctx, "arguments", json_string(args)))
            rc = ask(c, P_TOOL, ctx, T_TOOL, di, k, di, 0, err);
        else
            assay_error_set(err, rc, "out of memory");
        free(api);
        free(args);
        json_decref(ctx);
        if (rc)
            return rc;
    }
    return ASSAY_OK;
}

static int finish_turn(ta_ctx *c, size_t di, assay_error *err)
{
    ta_dialog *dl = &c->dlg[di];
    dl->turn++;
    if (dl->turn < c->s->turns)
        return ask_user(c, di, err);
    dl->status = DS_OK;
    c->dialogs_done++;
    c->s->h->progress(c->s->h, c->dialogs_done, c->ndlg, "dialogs");
    return ASSAY_OK;
}

static bool has_tool(const ta_dialog *dl, const char *name)
{
    size_t i;
    json_t *t;
    json_array_foreach(dl->tools, i, t)
    {
        if (!strcmp(json_string_value(json_object_get(
                        json_object_get(t, "function"), "name")),
                    name))
            return true;
    }
    return false;
}

/* Every sample is in: keep the step when the decisions agree. */
static int decide(ta_ctx *c, size_t di, assay_error *err)
{
    ta_state *s = c->s;
    ta_dialog *dl = &c->dlg[di];
    size_t n = json_array_size(dl->decisions), count = 0;
    char **keys = calloc(n + 1, sizeof *keys);
    int rc = ASSAY_OK;
    if (!keys)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    for (size_t k = 0; k < n; k++) {
        const json_t *d = json_array_get(dl->decisions, k);
        if (json_is_object(d) && !(keys[k] = ta_decision_key(d))) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto done;
        }
    }
    size_t best = ta_majority(keys, n, &count);
    json_t *entry =
        json_pack("{s:I, s:I, s:I}", "step",
                  (json_int_t)(json_array_size(dl->consistency) + 1),
                  "agreeing", (json_int_t)count, "samples", (json_int_t)n);
    if (!entry || json_array_append_new(dl->consistency, entry)) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    bool ok = best != SIZE_MAX && (s->majority ? 2 * count > n : count == n);
    char why[200];
    if (!ok) {
        c->inconsistent++;
        snprintf(why, sizeof why,
                 "assistant decisions disagree: %zu of %zu samples agree",
                 count, n);
        rc = dialog_fail(c, di, "assistant", why, NULL);
        if (rc)
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    const json_t *d = json_array_get(dl->decisions, best);
    const char *action = json_string_value(json_object_get(d, "action"));
    if (strcmp(action, "call") != 0) {
        json_t *m = json_pack("{s:s, s:O}", "role", "assistant", "content",
                              json_object_get(d, "content"));
        if (!m || json_array_append_new(dl->messages, m)) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto done;
        }
        rc = finish_turn(c, di, err);
        goto done;
    }
    const json_t *calls = json_object_get(d, "calls");
    size_t i;
    json_t *call;
    json_array_foreach(calls, i, call)
    {
        const char *name = json_string_value(json_object_get(call, "name"));
        if (!has_tool(dl, name)) {
            snprintf(why, sizeof why,
                     "the assistant called %.80s, which is not offered", name);
            rc = dialog_fail(c, di, "assistant", why, NULL) ? ASSAY_ENOMEM
                                                            : ASSAY_OK;
            if (rc)
                assay_error_set(err, rc, "out of memory");
            goto done;
        }
    }
    if (++dl->steps > s->max_steps) {
        rc = dialog_fail(c, di, "assistant",
                         "more tool-call steps than max_steps", NULL)
                 ? assay_error_set(err, ASSAY_ENOMEM, "out of memory")
                 : ASSAY_OK;
        goto done;
    }
    c->steps_total++;
    json_t *tc = json_array();
    json_array_foreach(calls, i, call)
    {
        char id[64], *args = json_dumps(json_object_get(call, "arguments"),
                                        JSON_COMPACT);
        snprintf(id, sizeof id, "call_%zu_%zu_%zu", dl->turn + 1, dl->steps,
                 i + 1);
        json_t *e =
            json_pack("{s:s, s:s, s:{s:O, s:s}}", "id", id, "type", "function",
                      "function", "name", json_object_get(call, "name"),
                      "arguments", args ? args : "{}");
        free(args);
        if (!tc || !e || json_array_append_new(tc, e)) {
            json_decref(tc);
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto done;
        }
    }
    json_t *m = json_pack("{s:s, s:n, s:o}", "role", "assistant", "content",
                          "tool_calls", tc);
    if (!m || json_array_append_new(dl->messages, m)) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    json_decref(dl->calls);
    dl->calls = json_incref((json_t *)calls);
    rc = ask_tools(c, di, err);
done:
    for (size_t k = 0; k < n; k++)
        free(keys[k]);
    free(keys);
    return rc;
}

static int on_dialog(ta_ctx *c, jc_call *k, assay_error *err)
{
    size_t di = k->a;
    ta_dialog *dl = &c->dlg[di];
    int rc;
    if (dl->status != DS_RUN)
        return ASSAY_OK; /* a sibling request already failed it */
    if (k->status == JC_S_FAILED) {
        if (!c->s->on_error_record)
            return assay_error_set(err, jc_failure_code(k->error),
                                   "dialog %zu: %s (set on_error: record to "
                                   "keep going)",
                                   di, k->error);
        return dialog_fail(c, di,
                           k->tag == T_USER     ? "user"
                           : k->tag == T_ASSIST ? "assistant"
                                                : "tool",
                           k->error, k)
                   ? assay_error_set(err, ASSAY_ENOMEM, "out of memory")
                   : ASSAY_OK;
    }
    if (k->tag == T_USER) {
        char *text = syn_trim_dup(jc_call_text(k));
        if (!text)
            return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        if (!text[0]) {
            free(text);
            if (syn_call_retry(&c->r, k, &rc, err))
                return ASSAY_OK;
            return rc ? rc
                   : dialog_fail(c, di, "user", "an empty user message", k)
                       ? assay_error_set(err, ASSAY_ENOMEM, "out of memory")
                       : ASSAY_OK;
        }
        json_t *m = json_pack("{s:s, s:s}", "role", "user", "content", text);
        free(text);
        if (!m || json_array_append_new(dl->messages, m))
            return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        jc_call_drop_prompts(k);
        return ask_assistant(c, di, err);
    }
    if (k->tag == T_ASSIST) {
        json_t *j = NULL, *norm = NULL;
        char why[200] = "";
        rc = syn_call_json(&c->r, k, SYN_JSON_OBJECT, &j, err);
        if (rc == SYN_ANS_RETRY)
            return ASSAY_OK;
        if (rc < 0)
            return rc;
        if (rc == SYN_ANS_OK) {
            rc = ta_decision_norm(j, &norm, why, sizeof why);
            json_decref(j);
            if (rc == ASSAY_ENOMEM)
                return assay_error_set(err, rc, "out of memory");
            if (rc) {
                if (syn_call_retry(&c->r, k, &rc, err))
                    return ASSAY_OK;
                if (rc)
                    return rc;
            }
        }
        if (norm)
            json_array_set_new(dl->decisions, k->b, norm);
        json_t *raws = jc_call_raws(k);
        if (raws)
            json_array_set_new(dl->raws, k->b, raws);
        jc_call_drop_prompts(k);
        if (--dl->pending)
            return ASSAY_OK;
        return decide(c, di, err);
    }
    /* tool */
    json_t *j = NULL;
    rc = syn_call_json(&c->r, k, SYN_JSON_ANY, &j, err);
    if (rc == SYN_ANS_RETRY)
        return ASSAY_OK;
    if (rc < 0)
        return rc;
    if (rc != SYN_ANS_OK)
        return dialog_fail(c, di, "tool", "no JSON tool result", k)
                   ? assay_error_set(err, ASSAY_ENOMEM, "out of memory")
                   : ASSAY_OK;
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!text || json_array_set_new(dl->results, k->b, json_string(text))) {
        free(text);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    free(text);
    jc_call_drop_prompts(k);
    if (--dl->pending)
        return ASSAY_OK;
    /* every result is in: tool messages in call order */
    const json_t *last =
        json_array_get(dl->messages, json_array_size(dl->messages) - 1);
    const json_t *tc = json_object_get(last, "tool_calls");
    size_t i;
    json_t *call;
    json_array_foreach(tc, i, call)
    {
        json_t *m = json_pack(
            "{s:s, s:O, s:O, s:O}", "role", "tool", "tool_call_id",
            json_object_get(call, "id"), "name",
            json_object_get(json_object_get(call, "function"), "name"),
            "content", json_array_get(dl->results, i));
        if (!m || json_array_append_new(dl->messages, m))
            return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    return ask_assistant(c, di, err);
}

static int ta_done(void *ud, jc_runner *r, jc_call *k, assay_error *err)
{
    ta_ctx *c = ud;
    (void)r;
    switch (k->tag) {
    case T_SPEC:
    case T_EXPAND:
        return on_tree(c, k, err);
    case T_API:
        return on_api(c, k, err);
    default:
        return on_dialog(c, k, err);
    }
}

/* Set up dialog `di`: type, targets and candidate APIs. */
static int plan_dialog(ta_ctx *c, size_t di, uint64_t seed, assay_error *err)
{
    ta_state *s = c->s;
    ta_dialog *dl = &c->dlg[di];
    assay_rng r;
    assay_rng_init(&r, jc_item_seed(seed, di));
    size_t np = json_array_size(c->pool);
    double total = 0, u;
    for (int t = 0; t < D_N; t++)
        total += s->type_w[t];
    u = assay_rng_uniform(&r) * total;
    dl->type = D_N - 1;
    for (int t = 0; t < D_N; t++) {
        if (u < s->type_w[t]) {
            dl->type = t;
            break;
        }
        u -= s->type_w[t];
    }
    /* a domain with APIs, round-robin over the pool's order */
    const json_t *first = json_array_get(c->pool, di % np);
    const char *dom = json_string_value(json_object_get(first, "domain"));
    for (size_t d = 0; d < c->ndom; d++)
        if (!strcmp(c->doms[d].name, dom))
            dl->domain = d;
    size_t *same = malloc(np * sizeof *same),
           *other = malloc(np * sizeof *other);
    size_t ns = 0, no = 0;
    if (!same || !other) {
        free(same);
        free(other);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < np; i++) {
        const char *d = json_string_value(
            json_object_get(json_array_get(c->pool, i), "domain"));
        if (!strcmp(d, dom))
            same[ns++] = i;
        else
            other[no++] = i;
    }
    assay_rng_shuffle(&r, same, ns, sizeof *same);
    assay_rng_shuffle(&r, other, no, sizeof *other);
    size_t ntarget = dl->type == D_DEPENDENT  ? 2
                     : dl->type == D_PARALLEL ? 1 + assay_rng_below(&r, 2)
                     : dl->type == D_NONTOOL  ? 0
                                              : 1;
    if (dl->type == D_NONTOOL) {
        dl->missing = assay_rng_below(&r, 2) == 0;
        dl->irrelevant = !dl->missing;
        if (dl->missing)
            ntarget = 1;
    }
    if (ntarget > ns)
        ntarget = ns;
    dl->tools = json_array();
    dl->targets = json_array();
    dl->messages = json_array();
    dl->consistency = json_array();
    if (!dl->tools || !dl->targets || !dl->messages || !dl->consistency)
        goto oom;
    /* candidates: the targets, then the same domain (except for an
     * irrelevant request, whose domain's APIs stay out), then others */
    size_t want = s->candidates;
    size_t *order = malloc((np + 1) * sizeof *order), no2 = 0;
    if (!order)
        goto oom;
    for (size_t i = 0; i < ntarget; i++)
        order[no2++] = same[i];
    if (!dl->irrelevant)
        for (size_t i = ntarget; i < ns; i++)
            order[no2++] = same[i];
    for (size_t i = 0; i < no; i++)
        order[no2++] = other[i];
    if (no2 == 0 && ns) /* one domain only: offer it anyway */
        for (size_t i = 0; i < ns; i++)
            order[no2++] = same[i];
    size_t take = no2 < want ? no2 : want;
    size_t *pick = malloc((take + 1) * sizeof *pick);
    if (!pick) {
        free(order);
        goto oom;
    }
    memcpy(pick, order, take * sizeof *pick);
    free(order);
    assay_rng_shuffle(&r, pick, take, sizeof *pick);
    for (size_t i = 0; i < take; i++) {
        const json_t *def =
            json_object_get(json_array_get(c->pool, pick[i]), "definition");
        if (json_array_append_new(dl->tools, tool_entry(def))) {
            free(pick);
            goto oom;
        }
    }
    free(pick);
    for (size_t i = 0; i < ntarget; i++)
        json_array_append(
            dl->targets,
            json_object_get(
                json_object_get(json_array_get(c->pool, same[i]), "definition"),
                "name"));
    if (json_array_append_new(
            dl->messages,
            json_pack("{s:s, s:s}", "role", "system", "content", s->system)))
        goto oom;
    free(same);
    free(other);
    return ASSAY_OK;
oom:
    free(same);
    free(other);
    return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
}

/* ---- run
 * --------------------------------------------------------------------- */

static void ctx_free(ta_ctx *c)
{
    for (size_t d = 0; d < c->ndom; d++) {
        ta_domain *x = &c->doms[d];
        ta_node_clear(&x->root);
        free(x->nodes);
        free(x->flat);
        free(x->sets);
        free(x->sizes);
        for (size_t i = 0; x->slot_api && i < c->s->apis_per_domain; i++) {
            json_decref(x->slot_api[i]);
            json_decref(x->slot_muts[i]);
        }
        free(x->slot_api);
        free(x->slot_muts);
    }
    free(c->doms);
    for (size_t i = 0; i < c->ndlg; i++) {
        ta_dialog *dl = &c->dlg[i];
        json_decref(dl->tools);
        json_decref(dl->targets);
        json_decref(dl->messages);
        json_decref(dl->consistency);
        json_decref(dl->decisions);
        json_decref(dl->raws);
        json_decref(dl->calls);
        json_decref(dl->results);
        free(dl->error);
    }
    free(c->dlg);
    for (size_t i = 0; i < c->ncalls; i++) {
        jc_call_clear(c->calls[i]);
        free(c->calls[i]);
    }
    free(c->calls);
    json_decref(c->pool);
    json_decref(c->buffer);
    json_decref(c->failures);
    jc_runner_free(&c->r);
}

static int tree_records(const ta_ctx *c, json_t *out)
{
    for (size_t d = 0; d < c->ndom; d++)
        for (size_t i = 0; i < c->doms[d].nflat; i++) {
            const ta_node *n = c->doms[d].flat[i];
            char *path = ta_node_path(n);
            json_t *r = json_pack("{s:s, s:I, s:s, s:s, s:s, s:i}", "domain",
                                  c->doms[d].name, "node", (json_int_t)i,
                                  "name", n->name, "description", n->desc,
                                  "path", path ? path : "", "depth", n->depth);
            free(path);
            if (!r || json_array_append_new(out, r))
                return ASSAY_ENOMEM;
        }
    return ASSAY_OK;
}

static int read_domains(ta_ctx *c, const json_t *recs, assay_error *err)
{
    ta_state *s = c->s;
    size_t n = json_array_size(recs);
    c->doms = calloc(n ? n : 1, sizeof *c->doms);
    if (!c->doms)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    c->ndom = n;
    for (size_t i = 0; i < n; i++) {
        ta_domain *d = &c->doms[i];
        const json_t *rec = json_array_get(recs, i);
        int rc = assay_rec_str(rec, i, s->domain_field, &d->name, err);
        if (rc)
            return rc;
        if ((rc = jc_rec_opt_str(rec, i, s->desc_field, &d->desc, err)) ||
            (rc = jc_rec_opt_str(rec, i, s->docs_field, &d->docs, err)))
            return rc;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(c->doms[j].name, d->name))
                return assay_error_set(err, ASSAY_EDATA,
                                       "record %zu: field '%s': domain '%s' "
                                       "appears twice",
                                       i, s->domain_field, d->name);
        d->rec = rec;
    }
    return ASSAY_OK;
}

static int seed_buffer(ta_ctx *c, const json_t *examples, assay_error *err)
{
    size_t i;
    json_t *e;
    json_array_foreach(examples, i, e)
    {
        json_t *def = bare_def(e);
        syn_fails f = {0};
        syn_fn_check(def, (int)i, NULL, &f);
        bool bad = !def || f.n;
        syn_fails_free(&f);
        if (bad) {
            json_decref(def);
            return assay_error_set(err, ASSAY_EDATA,
                                   "examples: record %zu is not a valid API "
                                   "definition (name, description, "
                                   "parameters)",
                                   i);
        }
        if (json_array_append_new(c->buffer, def))
            return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    if (json_array_size(c->buffer) == 0) {
        json_t *def = json_loads(SYNTH_TPL_SEED_API, 0, NULL);
        if (!def || json_array_append_new(c->buffer, def))
            return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    return ASSAY_OK;
}

static json_t *dialog_record(const ta_ctx *c, size_t di)
{
    const ta_dialog *dl = &c->dlg[di];
    char id[32];
    snprintf(id, sizeof id, "toolace-%04zu", di);
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:O, s:O, s:O, s:O, s:I}", "id", id, "type",
        ta_type_names[dl->type], "domain", c->doms[dl->domain].name, "tools",
        dl->tools, "messages", dl->messages, "targets", dl->targets,
        "consistency", dl->consistency, "steps", (json_int_t)dl->steps);
    if (o && dl->type == D_NONTOOL)
        json_object_set_new(
            o, "subtype",
            json_string(dl->missing ? "missing_parameter" : "irrelevant"));
    return o;
}

static int ta_run(void *state, assay_io *io, assay_error *err)
{
    ta_state *s = state;
    const assay_host *h = s->h;
    const json_t *recs = h->in_records(io, "domains");
    const json_t *examples = h->in_records(io, "examples");
    ta_ctx c = {.s = s};
    json_t *dialogs = json_array(), *apis = NULL, *tree = json_array();
    json_t *sum = NULL;
    int rc;
    jc_runner_init(&c.r, h, s->endpoint, s->params, ta_done, &c);
    c.pool = json_array();
    c.buffer = json_array();
    c.failures = json_array();
    if (!dialogs || !tree || !c.pool || !c.buffer || !c.failures) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = read_domains(&c, recs, err)) ||
        (rc = seed_buffer(&c, examples, err)))
        goto done;
    /* TSS 1: speciation and recursive expansion */
    for (size_t d = 0; d < c.ndom; d++) {
        ta_domain *x = &c.doms[d];
        x->root.name = jc_strdup(x->name);
        x->root.desc = jc_strdup(x->desc ? x->desc : "");
        if (!x->root.name || !x->root.desc || register_node(x, &x->root)) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto done;
        }
        json_t *ctx = jc_context(x->rec, NULL);
        if (!ctx || json_object_set_new(ctx, "domain", json_string(x->name)) ||
            json_object_set_new(ctx, "description",
                                json_string(x->desc ? x->desc : "")) ||
            json_object_set_new(ctx, "documents",
                                json_string(x->docs ? x->docs : "")) ||
            json_object_set_new(ctx, "max_children",
                                json_integer((json_int_t)s->max_children))) {
            json_decref(ctx);
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto done;
        }
        rc = ask(&c, P_SPEC, ctx, T_SPEC, d, 0, d, 0, err);
        json_decref(ctx);
        if (rc)
            goto done;
    }
    if ((rc = jc_runner_run(&c.r, err)))
        goto done;
    /* TSS 2: adaptation, a distinct subtree per API */
    uint64_t seed = h->seed(h, "adaptation");
    for (size_t d = 0; d < c.ndom; d++) {
        ta_domain *x = &c.doms[d];
        size_t A = s->apis_per_domain;
        if ((rc = ta_tree_flatten(&x->root, &x->flat, &x->nflat)) ||
            !(x->sets = malloc(A * s->max_funcs * sizeof *x->sets)) ||
            !(x->sizes = calloc(A, sizeof *x->sizes)) ||
            !(x->slot_api = calloc(A, sizeof *x->slot_api)) ||
            !(x->slot_muts = calloc(A, sizeof *x->slot_muts)) ||
            (rc = ta_sample_subtrees(x->flat, x->nflat, A, s->max_funcs,
                                     jc_item_seed(seed, d), x->sets,
                                     x->sizes))) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto done;
        }
        if (x->nflat == 0)
            h->log(h, ASSAY_LOG_WARN,
                   "domain %s: no functionalities, so no APIs", x->name);
    }
    /* TSS 3: evolution, one round per API slot; each round's examples
     * come from the buffer as the previous rounds left it */
    assay_rng brng;
    assay_rng_init(&brng, h->seed(h, "evolution"));
    for (size_t round = 0; round < s->apis_per_domain; round++) {
        for (size_t d = 0; d < c.ndom; d++)
            if (c.doms[d].nflat &&
                (rc = ask_api(&c, d, round, round, &brng, err)))
                goto done;
        if ((rc = jc_runner_run(&c.r, err)) ||
            (rc = commit_round(&c, round, &brng))) {
            if (rc == ASSAY_ENOMEM)
                assay_error_set(err, rc, "out of memory");
            goto done;
        }
        if (h->cancelled(h)) {
            rc = assay_error_set(err, ASSAY_ECANCELED, "cancelled");
            goto done;
        }
    }
    /* SDG: dialogs, all pipelined */
    if (json_array_size(c.pool) == 0 && s->n_dialogs)
        h->log(h, ASSAY_LOG_WARN, "the API pool is empty: no dialogs");
    else if (s->n_dialogs) {
        c.ndlg = s->n_dialogs;
        c.dlg = calloc(c.ndlg, sizeof *c.dlg);
        if (!c.dlg) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto done;
        }
        uint64_t dseed = h->seed(h, "dialogs");
        for (size_t i = 0; i < c.ndlg; i++)
            if ((rc = plan_dialog(&c, i, dseed, err)) ||
                (rc = ask_user(&c, i, err)))
                goto done;
        if ((rc = jc_runner_run(&c.r, err)))
            goto done;
    }
    if (h->cancelled(h)) {
        rc = assay_error_set(err, ASSAY_ECANCELED, "cancelled");
        goto done;
    }
    size_t by_type[D_N] = {0}, ok = 0;
    for (size_t i = 0; i < c.ndlg; i++) {
        if (c.dlg[i].status != DS_OK)
            continue;
        json_t *d = dialog_record(&c, i);
        if (!d || json_array_append_new(dialogs, d)) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto done;
        }
        by_type[c.dlg[i].type]++;
        ok++;
    }
    if (tree_records(&c, tree)) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    size_t nodes = json_array_size(tree);
    sum = json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I}, "
        "s:I, s:I}",
        "domains", (json_int_t)c.ndom, "functionalities", (json_int_t)nodes,
        "apis", (json_int_t)json_array_size(c.pool), "invalid_apis",
        (json_int_t)c.invalid_apis, "dialogs_asked", (json_int_t)c.ndlg,
        "dialogs", (json_int_t)ok, "inconsistent", (json_int_t)c.inconsistent,
        "failures", (json_int_t)json_array_size(c.failures), "by_type",
        "single", (json_int_t)by_type[D_SINGLE], "parallel",
        (json_int_t)by_type[D_PARALLEL], "dependent",
        (json_int_t)by_type[D_DEPENDENT], "non_tool",
        (json_int_t)by_type[D_NONTOOL], "tool_steps", (json_int_t)c.steps_total,
        "samples", (json_int_t)s->samples);
    if (!sum || json_object_set_new(sum, "llm",
                                    jc_info(h, s->endpoint, &c.r, c.ndlg))) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    if (json_array_size(c.failures))
        h->log(h, ASSAY_LOG_WARN,
               "%zu requests or dialogs failed (see the failures output)",
               json_array_size(c.failures));
    apis = json_incref(c.pool);
    rc = h->out_records(io, "dialogs", dialogs, err);
    dialogs = NULL;
    if (rc == 0)
        rc = h->out_records(io, "apis", apis, err);
    else
        json_decref(apis);
    apis = NULL;
    if (rc == 0)
        rc = h->out_records(io, "tree", tree, err);
    else
        json_decref(tree);
    tree = NULL;
    if (rc == 0)
        rc = h->out_records(io, "failures", json_incref(c.failures), err);
    if (rc == 0)
        rc = h->out_json(io, "summary", sum, err);
    else
        json_decref(sum);
    sum = NULL;
done:
    ctx_free(&c);
    json_decref(dialogs);
    json_decref(apis);
    json_decref(tree);
    json_decref(sum);
    return rc;
}

static int ta_estimate(void *state, assay_io *io, assay_estimate *est,
                       assay_error *err)
{
    ta_state *s = state;
    (void)err;
    const json_t *recs = jc_estimate_items(s->h, io, "domains", 0);
    size_t nd = recs ? json_array_size(recs) : 1;
    /* tree: 1 + max_children + ... per domain; APIs; dialogs: a user
     * turn, samples x (steps + 1) decisions, ~2 tool calls per step */
    uint64_t tree = 1, level = 1;
    for (size_t l = 1; l < s->tree_depth; l++) {
        level *= s->max_children;
        tree += level;
    }
    uint64_t per_dialog = s->turns * (1 + s->samples * 2) + 2;
    uint64_t req = nd * (tree + s->apis_per_domain) + s->n_dialogs * per_dialog;
    jc_estimate_fill(est, s->endpoint, req, req * 2500, s->params,
                     TA_EST_COMPLETION);
    return ASSAY_OK;
}

static const assay_plugin ta_plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "synth.toolace",
    .kind = "synthesizer",
    .version = "1.0.0",
    .summary = "ToolACE: API pool synthesis from seed domains and "
               "multi-agent function-calling dialog generation",
    .doc =
        "Implements the data synthesis of ToolACE (Liu et al., \"ToolACE: "
        "Winning the Points of LLM Function Calling\", ICLR 2025).\n"
        "Tool self-evolution synthesis: for every seed domain the endpoint "
        "`llm` lists functionalities (speciation, from the domain's "
        "description and any API documents), and every functionality is "
        "expanded into narrower ones down to tree_depth levels "
        "(max_children each): the API context tree.  Adaptation samples a "
        "distinct subtree per API (a node and up to max_functionalities - "
        "1 of its descendants).  Evolution writes one API definition per "
        "subtree in rounds: each request shows an example drawn from the "
        "example buffer (the `examples` input, or a built-in flight-search "
        "API) and mutations_per_api mutations drawn from `mutations` "
        "(add_parameters, add_constraints, mutate_types, nested_types, "
        "update_returns, or your own instructions); definitions must pass "
        "verify.function-calls' definition rules with JSON Schema types "
        "(else a repair turn, then a failure record); the round's new APIs "
        "join the pool (names kept unique) and the buffer (a full buffer "
        "replaces a random entry).\n"
        "Self-guided dialog generation: each of `dialogs` dialogs draws a "
        "type by dialog_types (single, parallel, dependent, non_tool: an "
        "irrelevant request or one missing a required parameter), target "
        "APIs from one domain and `candidates` APIs to offer.  The user "
        "agent writes the request (complexity easy/medium/hard); the "
        "assistant agent thinks and decides (call, ask, respond) as JSON, "
        "sampled `samples` times (sample indices), and the step is kept "
        "only when the decisions agree (consistency all, or a strict "
        "majority; calls compared by name and arguments, in any order), "
        "else the dialog is dropped and recorded; the tool agent "
        "simulates each call's result from the definition; the loop runs "
        "until the assistant answers, for `turns` user turns and at most "
        "max_steps call steps.  All dialogs stream through the LLM service "
        "at once.  The complexity evaluator of the paper needs the tuned "
        "model's token log-probabilities, which the LLM service does not "
        "return: complexity is steered by the user agent's instruction.\n"
        "Dialog format (OpenAI chat, as in common function-calling "
        "datasets): {id, type, subtype?, domain, tools: [{type: function, "
        "function: {name, description, parameters}}], messages: [{role: "
        "system|user|assistant|tool, content, tool_calls: [{id, type: "
        "function, function: {name, arguments: JSON text}}], "
        "tool_call_id, name}], targets, consistency: [{step, agreeing, "
        "samples}], steps}.  Check them with verify.function-calls.\n"
        "Other outputs: apis (definition with returns, domain, "
        "functionalities, mutations, round), tree, failures (stage, "
        "reason, raw answers), summary.\n"
        "Templates (option templates: {name: text}): speciation, "
        "expansion, api, user, assistant, tool.\n\nDefault templates:\n\n"
        "speciation.txt:\n" SYNTH_TPL_SPECIATION
        "\nexpansion.txt:\n" SYNTH_TPL_EXPANSION "\napi.txt:\n" SYNTH_TPL_API
        "\nuser.txt:\n" SYNTH_TPL_USER "\nassistant.txt:\n" SYNTH_TPL_ASSISTANT
        "\ntool.txt:\n" SYNTH_TPL_TOOL,
    .inputs = ta_inputs,
    .outputs = ta_outputs,
    .options = ta_options,
    .flags = ASSAY_F_ALL_ITEMS | ASSAY_F_NEEDS_LLM,
    .create = ta_create,
    .run = ta_run,
    .destroy = ta_destroy,
    .estimate = ta_estimate,
};

static const assay_plugin *const ta_list[] = {&ta_plugin, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi)
{
    (void)host_abi;
    return ta_list;
}
