/*
 * perflaw_sr.c - fitter.perflaw-sr: the performance law of sequential
 * recommendation (Shen et al., arXiv 2412.00430), HR@K or NDCG@K of a
 * transformer recommender from model size and data, in the form of the
 * authors' released fitting script:
 *
 *   y = w1 (-1/(2 N^w3) - w3 ln N) + w2 (-1/(2 h^w4) - w4 ln h)
 *       + (-1/(2 D^w5) - w5 ln D) + b
 *
 * where the data term D is either fitted (one data setting, D >= 0 as in
 * the script) or measured as D' = #tokens x ApEn (data quality by
 * Approximate Entropy) when those columns are given.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <assay/plugin.h>

#include "flaw.h"

typedef struct sr_state {
    const assay_host *host;
    flaw_spec spec;
} sr_state;

static const assay_option sr_options[] = {
    {.name = "target",
     .type = ASSAY_OPT_STRING,
     .def = "\"hr\"",
     .doc = "column with the measured metric (HR@10 or NDCG@10)"},
    {.name = "n_col",
     .type = ASSAY_OPT_STRING,
     .def = "\"layers\"",
     .doc = "column with the model size N (layers)"},
    {.name = "h_col",
     .type = ASSAY_OPT_STRING,
     .def = "\"h\"",
     .doc = "column with the second size variable h (embedding size or "
            "data fraction, as in the released script)"},
    {.name = "tokens_col",
     .type = ASSAY_OPT_STRING,
     .doc = "column with the number of training tokens (interactions); "
            "with apen_col, the data term is D' = tokens x ApEn"},
    {.name = "apen_col",
     .type = ASSAY_OPT_STRING,
     .doc = "column with the data set's Approximate Entropy (e.g. from "
            "metric.apen)"},
    FLAW_COMMON_OPTIONS("\"lsq\""),
    {0}};

static int sr_create(const assay_host *host, const json_t *options,
                     void **state, assay_error *err)
{
    sr_state *st = calloc(1, sizeof *st);
    int rc;
    static const double one[] = {1.0};
    static const double expo[] = {0.5, 1.0, 2.0};
    static const double dinit[] = {1.0, 100.0};
    if (!st)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    st->host = host;
    flaw_spec *s = &st->spec;
    if ((rc = flaw_spec_common(s, options, err)))
        goto fail;
    const char *tok = assay_opt_str(options, "tokens_col");
    const char *apen = assay_opt_str(options, "apen_col");
    if (!tok != !apen) {
        rc = assay_error_set(err, ASSAY_EINVAL,
                             "options 'tokens_col' and 'apen_col' go "
                             "together (D' = tokens x ApEn)");
        goto fail;
    }
    const char *dterm = tok ? "(Tk*Ap)" : "D";
    char law[512];
    snprintf(law, sizeof law,
             "w1*(-1/(2*N^w3) - w3*log(N)) + w2*(-1/(2*h^w4) - w4*log(h))"
             " + (-1/(2*%s^w5) - w5*log(%s)) + b",
             dterm, dterm);
    s->law = strdup(law);
    s->target = strdup(assay_opt_str(options, "target"));
    if (!s->law || !s->target ||
        flaw_spec_add_var(s, "N", assay_opt_str(options, "n_col")) ||
        flaw_spec_add_var(s, "h", assay_opt_str(options, "h_col")) ||
        (tok && (flaw_spec_add_var(s, "Tk", tok) ||
                 flaw_spec_add_var(s, "Ap", apen))) ||
        flaw_spec_add_param(s, "w1", one, 1, -INFINITY, INFINITY) ||
        flaw_spec_add_param(s, "w2", one, 1, -INFINITY, INFINITY) ||
        flaw_spec_add_param(s, "b", one, 1, -INFINITY, INFINITY) ||
        flaw_spec_add_param(s, "w3", expo, 3, -INFINITY, INFINITY) ||
        flaw_spec_add_param(s, "w4", expo, 3, -INFINITY, INFINITY) ||
        flaw_spec_add_param(s, "w5", expo, 3, -INFINITY, INFINITY) ||
        (!tok && flaw_spec_add_param(s, "D", dinit, 2, 1e-12, INFINITY))) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto fail;
    }
    *state = st;
    return 0;
fail:
    flaw_spec_free(s);
    free(st);
    return rc;
}

/* Compact fitted law for the run summary (parameter order: w1 w2 b w3 w4
 * w5 [D]). */
static int sr_extra(const flaw_fit *fit, json_t *out, void *ud,
                    assay_error *err)
{
    (void)ud;
    (void)err;
    const double *w = fit->p;
    char txt[160];
    for (int prec = 4; prec >= 2; prec--) {
        snprintf(txt, sizeof txt,
                 "y=%.*g g(N,%.*g)%+.*g g(h,%.*g)+g(D,%.*g)%+.*g", prec, w[0],
                 prec, w[3], prec, w[1], prec, w[4], prec, w[5], prec, w[2]);
        if (strlen(txt) <= 60)
            break;
    }
    json_object_set_new(out, "fitted_law", json_string(txt));
    json_object_set_new(
        out, "law_form",
        json_string(fit->spec->nparams > 6
                        ? "g(x,w) = -1/(2 x^w) - w ln x; D fitted"
                        : "g(x,w) = -1/(2 x^w) - w ln x; D = tokens x ApEn"));
    return 0;
}

static int sr_run(void *state, assay_io *io, assay_error *err)
{
    sr_state *st = state;
    return flaw_run(st->host, &st->spec, io, sr_extra, NULL, err);
}

static void sr_destroy(void *state)
{
    sr_state *st = state;
    if (!st)
        return;
    flaw_spec_free(&st->spec);
    free(st);
}

static const assay_plugin sr_plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "fitter.perflaw-sr",
    .kind = "fitter",
    .version = "1.0.0",
    .summary = "Performance law of sequential recommenders: HR/NDCG from "
               "model size, data size and data quality (ApEn)",
    .doc = "Fits the law of the released fitting script of Shen et al. "
           "(arXiv 2412.00430, USTC-StarTeam/Performance-Law "
           "performance_law_fitting.py):\n"
           "  y = w1 (-1/(2 N^w3) - w3 ln N) + w2 (-1/(2 h^w4) - w4 ln h)\n"
           "      + (-1/(2 D^w5) - w5 ln D) + b\n"
           "y is HR@10 or NDCG@10, N the model size (layers), h the second "
           "size variable of the script.  The data term D is a parameter "
           "(bounded D >= 1e-12, as the script fits it per data setting; with "
           "one data setting it trades off against b and the params output "
           "warns that J'J is near-singular), or, given tokens_col and "
           "apen_col, the measured D' = #tokens x ApEn, which lets one law "
           "cover several data sets.  Least squares with "
           "Levenberg-Marquardt from p0 = 1 (as the script) with exponents "
           "w3, w4, w5 started at {0.5, 1, 2}.\n\n"
           "Input `data`: one row per trained model (records from a graph of "
           "recommender + metric nodes work too).  Outputs as fitter.law.",
    .inputs = flaw_inputs,
    .outputs = flaw_outputs,
    .options = sr_options,
    .flags = ASSAY_F_ALL_ITEMS | ASSAY_F_DETERMINISTIC,
    .create = sr_create,
    .run = sr_run,
    .destroy = sr_destroy,
};

static const assay_plugin *const sr_list[] = {&sr_plugin, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi)
{
    (void)host_abi;
    return sr_list;
}
