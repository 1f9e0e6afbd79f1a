/*
 * judge.compare - agreement between the judges of one graph: verdict sets
 * of several judge nodes in, pairwise agreement and Cohen's kappa, Fleiss'
 * kappa over all judges, each judge's accuracy and the accuracy of their
 * majority vote out.
 */
#include <assay/plugin.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jc_cce.h"
#include "jc_opts.h"
#include "jc_text.h"
#include "jc_verdict.h"

#define CMP_MAX_JUDGES 64

typedef struct cmp_state {
    const assay_host *h;
    char *f_judge, *f_key, *f_verdict, *f_gold;
} cmp_state;

static const assay_port cmp_inputs[] = {
    {.name = "verdicts",
     .type = ASSAY_T_RECORDS,
     .required = true,
     .multi = true,
     .doc = "verdict records of several judge nodes (a YAML list), each "
            "with judge, index and verdict"},
    {0}};

static const assay_port cmp_outputs[] = {
    {.name = "summary",
     .type = ASSAY_T_JSON,
     .doc = "per judge accuracy; per pair agreement and Cohen's kappa; "
            "Fleiss' kappa; majority-vote accuracy",
     .chart = "table"},
    {.name = "items",
     .type = ASSAY_T_RECORDS,
     .doc = "per item: each judge's verdict, gold, unanimous",
     .chart = "table"},
    {0}};

static const assay_option cmp_options[] = {
    {.name = "judge_field",
     .type = ASSAY_OPT_STRING,
     .def = "\"judge\"",
     .doc = "field naming the judge of a verdict record"},
    {.name = "key_field",
     .type = ASSAY_OPT_STRING,
     .def = "\"index\"",
     .doc = "field identifying the item across judges"},
    {.name = "verdict_field",
     .type = ASSAY_OPT_STRING,
     .def = "\"verdict\"",
     .doc = "field with the verdict (A, B, tie, null)"},
    {.name = "gold_field",
     .type = ASSAY_OPT_STRING,
     .def = "\"gold\"",
     .doc = "field with the gold winner (A, B, tie, null)"},
    {0}};

static void cmp_destroy(void *state)
{
    cmp_state *s = state;
    if (!s)
        return;
    free(s->f_judge);
    free(s->f_key);
    free(s->f_verdict);
    free(s->f_gold);
    free(s);
}

static int cmp_create(const assay_host *h, const json_t *o, void **state,
                      assay_error *err)
{
    cmp_state *s = calloc(1, sizeof *s);
    if (!s || !(s->f_judge = jc_strdup(assay_opt_str(o, "judge_field"))) ||
        !(s->f_key = jc_strdup(assay_opt_str(o, "key_field"))) ||
        !(s->f_verdict = jc_strdup(assay_opt_str(o, "verdict_field"))) ||
        !(s->f_gold = jc_strdup(assay_opt_str(o, "gold_field")))) {
        cmp_destroy(s);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    s->h = h;
    *state = s;
    return ASSAY_OK;
}

/* A verdict value: "A", "B", "tie" (any case) or null/absent. */
static int cmp_verdict(const json_t *rec, size_t idx, const char *field, int *v,
                       assay_error *err)
{
    const json_t *x = json_object_get(rec, field);
    *v = JC_V_NONE;
    if (!x || json_is_null(x))
        return ASSAY_OK;
    const char *s = json_string_value(x);
    if (s && !strcasecmp(s, "A"))
        *v = JC_V_A;
    else if (s && !strcasecmp(s, "B"))
        *v = JC_V_B;
    else if (s && !strcasecmp(s, "tie"))
        *v = JC_V_TIE;
    else
        return assay_error_set(err, ASSAY_EDATA,
                               "record %zu: field '%s': expected A, B, tie "
                               "or null",
                               idx, field);
    return ASSAY_OK;
}

/* Cohen's kappa of two verdict vectors over the items both judged. */
static double cmp_kappa(const int *a, const int *b, size_t n, size_t *both,
                        double *agree)
{
    double pa[4] = {0}, pb[4] = {0}, po = 0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (a[i] == JC_V_NONE || b[i] == JC_V_NONE)
            continue;
        m++;
        po += a[i] == b[i];
        pa[a[i]]++;
        pb[b[i]]++;
    }
    *both = m;
    if (m == 0) {
        *agree = NAN;
        return NAN;
    }
    po /= (double)m;
    double pe = 0;
    for (int k = 1; k <= 3; k++)
        pe += pa[k] / (double)m * pb[k] / (double)m;
    *agree = po;
    return pe < 1 ? (po - pe) / (1 - pe) : NAN;
}

/* Fleiss' kappa over the items every judge gave a verdict. */
static double cmp_fleiss(int *const *v, size_t nj, size_t n, size_t *used)
{
    double pbar = 0, pj[4] = {0};
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        double c[4] = {0};
        bool all = true;
        for (size_t j = 0; j < nj; j++) {
            if (v[j][i] == JC_V_NONE) {
                all = false;
                break;
            }
            c[v[j][i]]++;
        }
        if (!all)
            continue;
        m++;
        double s = 0;
        for (int k = 1; k <= 3; k++) {
            s += c[k] * (c[k] - 1);
            pj[k] += c[k];
        }
        pbar += s / ((double)nj * ((double)nj - 1));
    }
    *used = m;
    if (m == 0 || nj < 2)
        return NAN;
    pbar /= (double)m;
    double pe = 0;
    for (int k = 1; k <= 3; k++) {
        double p = pj[k] / ((double)m * (double)nj);
        pe += p * p;
    }
    return pe < 1 ? (pbar - pe) / (1 - pe) : NAN;
}

static json_t *num(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

static int cmp_run(void *state, assay_io *io, assay_error *err)
{
    cmp_state *s = state;
    const assay_host *h = s->h;
    const json_t *recs = h->in_records(io, "verdicts");
    size_t nrec = json_array_size(recs), nj = 0, nk = 0, i, j;
    const char *judges[CMP_MAX_JUDGES];
    json_t *keys = json_object(); /* key text -> item number */
    json_t *keylist = json_array();
    int *v[CMP_MAX_JUDGES] = {0};
    int *gold = NULL;
    json_t *summary = NULL, *items = NULL;
    bool put_ok = true;
    int rc = ASSAY_OK;
    if (!keys || !keylist) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    /* judges and item keys, in order of appearance */
    for (i = 0; i < nrec; i++) {
        const json_t *rec = json_array_get(recs, i);
        const char *jn;
        json_t *key;
        if ((rc = assay_rec_str(rec, i, s->f_judge, &jn, err)) ||
            (rc = assay_rec_get(rec, i, s->f_key, &key, err)))
            goto done;
        for (j = 0; j < nj && strcmp(judges[j], jn); j++)
            ;
        if (j == nj) {
            if (nj == CMP_MAX_JUDGES) {
                rc = assay_error_set(err, ASSAY_EINVAL, "more than %d judges",
                                     CMP_MAX_JUDGES);
                goto done;
            }
            judges[nj++] = jn;
        }
        char *kt = json_dumps(key, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!kt) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto done;
        }
        if (!json_object_get(keys, kt) &&
            (!jc_put(keys, kt, json_integer((json_int_t)nk++)) ||
             json_array_append(keylist, key))) {
            free(kt);
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto done;
        }
        free(kt);
    }
    if (nj < 2)
        h->log(h, ASSAY_LOG_WARN,
               "only %zu judge(s) in the input: nothing to compare", nj);
    gold = malloc((nk ? nk : 1) * sizeof *gold);
    for (j = 0; j < nj; j++)
        if (!(v[j] = calloc(nk ? nk : 1, sizeof *v[j]))) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto done;
        }
    if (!gold) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    for (i = 0; i < nk; i++)
        gold[i] = JC_V_NONE;
    for (i = 0; i < nrec; i++) {
        const json_t *rec = json_array_get(recs, i);
        const char *jn = json_string_value(json_object_get(rec, s->f_judge));
        char *kt = json_dumps(json_object_get(rec, s->f_key),
                              JSON_COMPACT | JSON_ENCODE_ANY);
        int g;
        if (!kt) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto done;
        }
        size_t k = (size_t)json_integer_value(json_object_get(keys, kt));
        free(kt);
        for (j = 0; strcmp(judges[j], jn); j++)
            ;
        if ((rc = cmp_verdict(rec, i, s->f_verdict, &v[j][k], err)) ||
            (rc = cmp_verdict(rec, i, s->f_gold, &g, err)))
            goto done;
        if (g != JC_V_NONE)
            gold[k] = g;
    }
    summary = json_object();
    json_t *jl = json_array(), *per = json_object(), *pairs = json_array();
    items = json_array();
    if (!summary || !jl || !per || !pairs || !items) {
        json_decref(jl);
        json_decref(per);
        json_decref(pairs);
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    put_ok &= jc_put(summary, "judges", jl);
    put_ok &= jc_put(summary, "n_items", json_integer((json_int_t)nk));
    put_ok &= jc_put(summary, "per_judge", per);
    put_ok &= jc_put(summary, "pairs", pairs);
    for (j = 0; j < nj; j++) {
        size_t g = 0, ok = 0, valid = 0;
        for (i = 0; i < nk; i++) {
            valid += v[j][i] != JC_V_NONE;
            if (gold[i] == JC_V_NONE)
                continue;
            g++;
            ok += v[j][i] == gold[i];
        }
        put_ok &= !json_array_append_new(jl, json_string(judges[j]));
        put_ok &= jc_put(
            per, judges[j],
            json_pack("{s:I, s:I, s:o}", "n", (json_int_t)nk, "valid",
                      (json_int_t)valid, "accuracy",
                      g ? json_real((double)ok / (double)g) : json_null()));
    }
    for (j = 0; j < nj; j++)
        for (size_t k = j + 1; k < nj; k++) {
            size_t both;
            double agree, kappa = cmp_kappa(v[j], v[k], nk, &both, &agree);
            put_ok &= !json_array_append_new(
                pairs, json_pack("{s:s, s:s, s:I, s:o, s:o}", "a", judges[j],
                                 "b", judges[k], "n", (json_int_t)both,
                                 "agreement", num(agree), "kappa", num(kappa)));
        }
    size_t used;
    double fk = cmp_fleiss(v, nj, nk, &used);
    put_ok &= jc_put(
        summary, "fleiss_kappa",
        json_pack("{s:o, s:I}", "value", num(fk), "n", (json_int_t)used));
    size_t mg = 0, mok = 0, unanimous = 0;
    int votes[CMP_MAX_JUDGES];
    for (i = 0; i < nk; i++) {
        json_t *row = json_pack("{s:O}", s->f_key, json_array_get(keylist, i));
        bool all = nj > 0;
        for (j = 0; j < nj; j++) {
            votes[j] = v[j][i];
            all &= v[j][i] != JC_V_NONE && v[j][i] == v[0][i];
            const char *vn = jc_verdict_name(v[j][i]);
            put_ok &=
                jc_put(row, judges[j], vn ? json_string(vn) : json_null());
        }
        int maj = jc_majority(votes, nj);
        const char *gn = jc_verdict_name(gold[i]), *mn = jc_verdict_name(maj);
        put_ok &= jc_put(row, "gold", gn ? json_string(gn) : json_null());
        put_ok &= jc_put(row, "majority", mn ? json_string(mn) : json_null());
        put_ok &= jc_put(row, "unanimous", json_boolean(all));
        unanimous += all;
        if (gold[i] != JC_V_NONE) {
            mg++;
            mok += maj == gold[i];
        }
        if (!row || json_array_append_new(items, row)) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto done;
        }
    }
    put_ok &= jc_put(summary, "majority_accuracy",
                     mg ? json_real((double)mok / (double)mg) : json_null());
    put_ok &=
        jc_put(summary, "unanimous_rate",
               nk ? json_real((double)unanimous / (double)nk) : json_null());
    if (!put_ok) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    rc = h->out_json(io, "summary", summary, err);
    summary = NULL;
    if (rc == 0)
        rc = h->out_records(io, "items", items, err);
    else
        json_decref(items);
    items = NULL;
done:
    for (j = 0; j < CMP_MAX_JUDGES; j++)
        free(v[j]);
    free(gold);
    json_decref(keys);
    json_decref(keylist);
    json_decref(summary);
    json_decref(items);
    return rc;
}

static const assay_plugin cmp_plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "judge.compare",
    .kind = "judge",
    .version = "1.0.0",
    .summary = "Agreement between several judges' verdicts (Cohen's and "
               "Fleiss' kappa, majority vote)",
    .doc = "Takes the verdict records of several judge nodes on the same items "
           "(verdicts: [vanilla.verdicts, swap.verdicts, cce.verdicts]), "
           "groups them by judge_field (the judges write their node name "
           "there) and matches items on key_field (default index).  Verdicts "
           "are A, B, tie or null (invalid or failed: left out of the "
           "agreement of that pair).\n"
           "Output summary: judges; per_judge {n, valid, accuracy against "
           "gold_field when present}; pairs [{a, b, n, agreement, kappa}] "
           "with Cohen's kappa over the classes A, B, tie on the items both "
           "judged; fleiss_kappa {value, n} over the items every judge "
           "judged; majority_accuracy (plurality of the judges, a split is a "
           "tie) and unanimous_rate.  Output items: per item the key, each "
           "judge's verdict, gold, majority and unanimous.  Undefined values "
           "are null.",
    .inputs = cmp_inputs,
    .outputs = cmp_outputs,
    .options = cmp_options,
    .flags = ASSAY_F_ALL_ITEMS | ASSAY_F_DETERMINISTIC,
    .create = cmp_create,
    .run = cmp_run,
    .destroy = cmp_destroy,
};

static const assay_plugin *const cmp_list[] = {&cmp_plugin, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi)
{
    (void)host_abi;
    return cmp_list;
}
