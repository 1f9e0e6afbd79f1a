/*
 * perflaw_llm.c - fitter.perflaw-llm: the "Performance Law" of large
 * language models (Wu & Tang, arXiv 2408.09895), MMLU predicted from the
 * number of layers N, hidden size h, FFN size d, training tokens T
 * (trillions) and model size S (billions):
 *
 *   u    = exp(-((10/d + 20/h) gamma N)^2)
 *   MMLU = c_N ln(uN) + c_h ln(uh) + c_d ln(ud) + c_T ln(u min(T, S)) + c_0
 *
 * started from the authors' published constants (their planner,
 * wuch15/performance-law-planner plan.py @ 3ffa946) and refitted by least
 * squares on the given models; predictions are reported with the
 * planner's bounding (25 floor, tanh squash above 90).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <assay/plugin.h>

#include "flaw.h"

/* The planner's constants, in the order of pl_names. */
static const char *const pl_names[] = {"c_N", "c_h", "c_d", "c_T", "c_0"};
static const double pl_published[] = {13.95018192, 0.23072027, -0.48523402,
                                      5.39801689, 9.195410648934768};

typedef struct pl_state {
    const assay_host *host;
    flaw_spec spec;
} pl_state;

static const assay_option pl_options[] = {
    {.name = "layers_col",
     .type = ASSAY_OPT_STRING,
     .def = "\"layers\"",
     .doc = "column with the number of layers N"},
    {.name = "hidden_col",
     .type = ASSAY_OPT_STRING,
     .def = "\"hidden\"",
     .doc = "column with the hidden size h"},
    {.name = "ffn_col",
     .type = ASSAY_OPT_STRING,
     .def = "\"ffn\"",
     .doc = "column with the FFN (intermediate) size d"},
    {.name = "tokens_col",
     .type = ASSAY_OPT_STRING,
     .def = "\"tokens_t\"",
     .doc = "column with the training tokens T, in trillions"},
    {.name = "size_col",
     .type = ASSAY_OPT_STRING,
     .def = "\"params_b\"",
     .doc = "column with the model size S, in billions of parameters"},
    {.name = "target",
     .type = ASSAY_OPT_STRING,
     .def = "\"mmlu\"",
     .doc = "column with the measured MMLU, in percent (0-100)"},
    {.name = "gamma",
     .type = ASSAY_OPT_FLOAT,
     .def = "1",
     .has_min = true,
     .min = 1,
     .doc = "precision-instability factor gamma >= 1 (1: the planner's "
            "default)"},
    {.name = "gamma_col",
     .type = ASSAY_OPT_STRING,
     .doc = "column with a per-model gamma (overrides `gamma`)"},
    FLAW_COMMON_OPTIONS("\"lsq\""),
    {0}};

static int pl_create(const assay_host *host, const json_t *options,
                     void **state, assay_error *err)
{
    pl_state *st = calloc(1, sizeof *st);
    int rc;
    char law[512], g[64];
    if (!st)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    st->host = host;
    flaw_spec *s = &st->spec;
    if ((rc = flaw_spec_common(s, options, err)))
        goto fail;
    const char *gcol = assay_opt_str(options, "gamma_col");
    if (gcol)
        snprintf(g, sizeof g, "G");
    else
        snprintf(g, sizeof g, "%.17g", assay_opt_num(options, "gamma"));
    snprintf(law, sizeof law,
             "c_N*log(exp(-((10/d + 20/h)*%s*N)^2)*N)"
             " + c_h*log(exp(-((10/d + 20/h)*%s*N)^2)*h)"
             " + c_d*log(exp(-((10/d + 20/h)*%s*N)^2)*d)"
             " + c_T*log(exp(-((10/d + 20/h)*%s*N)^2)*min(T, S)) + c_0",
             g, g, g, g);
    s->law = strdup(law);
    s->target = strdup(assay_opt_str(options, "target"));
    if (!s->law || !s->target ||
        flaw_spec_add_var(s, "N", assay_opt_str(options, "layers_col")) ||
        flaw_spec_add_var(s, "h", assay_opt_str(options, "hidden_col")) ||
        flaw_spec_add_var(s, "d", assay_opt_str(options, "ffn_col")) ||
        flaw_spec_add_var(s, "T", assay_opt_str(options, "tokens_col")) ||
        flaw_spec_add_var(s, "S", assay_opt_str(options, "size_col")) ||
        (gcol && flaw_spec_add_var(s, "G", gcol))) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto fail;
    }
    for (size_t j = 0; j < 5; j++)
        if (flaw_spec_add_param(s, pl_names[j], &pl_published[j], 1, -INFINITY,
                                INFINITY)) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto fail;
        }
    s->post = FLAW_POST_MMLU;
    *state = st;
    return 0;
fail:
    flaw_spec_free(s);
    free(st);
    return rc;
}

static int pl_extra(const flaw_fit *fit, json_t *out, void *ud,
                    assay_error *err)
{
    (void)ud;
    (void)err;
    json_t *pub = json_object();
    for (size_t j = 0; j < 5; j++) {
        json_t *o = json_object();
        json_object_set_new(o, "published", json_real(pl_published[j]));
        json_object_set_new(o, "fitted", json_real(fit->p[j]));
        json_object_set_new(o, "change",
                            json_real(fit->p[j] - pl_published[j]));
        json_object_set_new(pub, pl_names[j], o);
    }
    json_object_set_new(out, "vs_published", pub);
    /* compact form for the run summary (the substituted formula is in
     * fitted_formula) */
    char txt[160];
    const double *c = fit->p;
    for (int prec = 4; prec >= 2; prec--) {
        snprintf(txt, sizeof txt,
                 "MMLU=%.*g ln uN%+.*g ln uh%+.*g ln ud%+.*g ln uT'%+.*g", prec,
                 c[0], prec, c[1], prec, c[2], prec, c[3], prec, c[4]);
        if (strlen(txt) <= 60)
            break;
    }
    json_object_set_new(out, "fitted_law", json_string(txt));
    json_object_set_new(out, "law_form",
                        json_string("u = exp(-((10/d + 20/h) gamma N)^2), "
                                    "T' = min(T, S)"));
    json_object_set_new(out, "published_source",
                        json_string("wuch15/performance-law-planner plan.py "
                                    "@ 3ffa946"));
    json_object_set_new(out, "postprocess",
                        json_string("predictions < 25 -> 25; > 90 -> 90 + "
                                    "10 tanh(0.1 x - 9)"));
    return 0;
}

static int pl_run(void *state, assay_io *io, assay_error *err)
{
    pl_state *st = state;
    return flaw_run(st->host, &st->spec, io, pl_extra, st, err);
}

static void pl_destroy(void *state)
{
    pl_state *st = state;
    if (!st)
        return;
    flaw_spec_free(&st->spec);
    free(st);
}

static const assay_plugin pl_plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "fitter.perflaw-llm",
    .kind = "fitter",
    .version = "1.0.0",
    .summary = "Performance Law of LLMs: MMLU from layers, hidden and FFN "
               "size, tokens and model size (Wu & Tang 2024)",
    .doc = "Fits the dense-model Performance Law (Wu & Tang, arXiv "
           "2408.09895):\n"
           "  u = exp(-((10/d + 20/h) gamma N)^2)\n"
           "  MMLU = c_N ln(uN) + c_h ln(uh) + c_d ln(ud) + c_T ln(u min(T, "
           "S)) + c_0\n"
           "with N layers, h hidden size, d FFN size, T training tokens "
           "(trillions; saturating at the model size S in billions), gamma "
           ">= 1 the precision-instability factor.  The fit starts from the "
           "authors' published constants (c_N 13.95018192, c_h 0.23072027, "
           "c_d -0.48523402, c_T 5.39801689, c_0 9.195410648934768, from "
           "their planner wuch15/performance-law-planner @ 3ffa946) and "
           "refits them by least squares (Levenberg-Marquardt) on the given "
           "models; `vs_published` in the params output compares them.  "
           "Predictions in `points` and `curve` are post-processed as in the "
           "planner: below 25 -> 25 (chance), above 90 -> 90 + 10 tanh(0.1 x "
           "- 9); R2/RMSE/MAPE are computed on these.  MoE models are not "
           "covered (the paper's MoE substitution is not public).\n\n"
           "Input `data`: one row per model with the columns named by the "
           "*_col options and `target` (MMLU in percent).  Public tables "
           "without architecture columns (e.g. ObsScaling) need N, h and d "
           "added from each model's config.",
    .inputs = flaw_inputs,
    .outputs = flaw_outputs,
    .options = pl_options,
    .flags = ASSAY_F_ALL_ITEMS | ASSAY_F_DETERMINISTIC,
    .create = pl_create,
    .run = pl_run,
    .destroy = pl_destroy,
};

static const assay_plugin *const pl_list[] = {&pl_plugin, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi)
{
    (void)host_abi;
    return pl_list;
}
