/*
 * agreement.c - the metric.agreement plugin: agreement of pairwise-judge
 * verdicts (A, B or tie) with gold labels, and position consistency of
 * verdicts given in both presentation orders.
 */
#include <assay/plugin.h>

#include <ctype.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>

#include "clscore.h"
#include "statcommon.h"

enum { V_A = 0, V_B = 1, V_TIE = 2, V_N = 3 };
static const char *const v_names[V_N] = {"A", "B", "tie"};

typedef struct agr_state {
    const assay_host *host;
    char *label_field, *pred_field, *swapped_field, *id_field;
    bool swapped_mapped, combine_consistent;
    json_t *labels[V_N]; /* accepted spellings (arrays of strings) */
} agr_state;

static const assay_port agr_inputs[] = {
    {.name = "pred", .type = ASSAY_T_RECORDS, .required = true,
     .doc = "judge verdicts, one record per pair (optionally also the "
            "verdict with the two responses swapped)"},
    {.name = "gold", .type = ASSAY_T_RECORDS,
     .doc = "gold labels (joined on id_field when both inputs have it, "
            "else by position)"},
    {0}};

static const assay_port agr_outputs[] = {
    {.name = "summary", .type = ASSAY_T_JSON,
     .doc = "accuracy, kappa and confusion matrix against gold; position "
            "consistency and first-position preference", .chart = "bar"},
    {.name = "items", .type = ASSAY_T_RECORDS,
     .doc = "per pair: gold, verdicts, the verdict used, consistent, "
            "correct", .chart = "table"},
    {0}};

static const assay_option agr_options[] = {
    {.name = "label_field", .type = ASSAY_OPT_STRING, .def = "\"winner\"",
     .doc = "gold field with the winner (A, B or tie)"},
    {.name = "pred_field", .type = ASSAY_OPT_STRING,
     .doc = "pred field with the verdict (default: label_field)"},
    {.name = "swapped_field", .type = ASSAY_OPT_STRING,
     .doc = "pred field with the verdict after swapping the two responses; "
            "enables position consistency"},
    {.name = "swapped_mapped", .type = ASSAY_OPT_BOOL, .def = "false",
     .doc = "true when the swapped verdict already names the original "
            "positions (else its A means the original B)"},
    {.name = "combine", .type = ASSAY_OPT_ENUM, .def = "\"consistent\"",
     .choices = "consistent|first",
     .doc = "verdict scored against gold when both orders exist: the "
            "common verdict, or tie when they disagree; or the first "
            "order's"},
    {.name = "id_field", .type = ASSAY_OPT_STRING, .def = "\"id\"",
     .doc = "pair id used to join pred and gold"},
    {.name = "a_labels", .type = ASSAY_OPT_LIST,
     .def = "[\"A\", \"model_a\", \"1\", \"[[A]]\"]",
     .doc = "spellings of 'first response wins' (case-insensitive)"},
    {.name = "b_labels", .type = ASSAY_OPT_LIST,
     .def = "[\"B\", \"model_b\", \"2\", \"[[B]]\"]",
     .doc = "spellings of 'second response wins' (case-insensitive)"},
    {.name = "tie_labels", .type = ASSAY_OPT_LIST,
     .def = "[\"tie\", \"C\", \"draw\", \"0\", \"tie (bothbad)\", "
            "\"[[C]]\"]",
     .doc = "spellings of a tie (case-insensitive)"},
    {0}};

static void agr_destroy(void *state)
{
    agr_state *s = state;
    if (!s)
        return;
    free(s->label_field);
    free(s->pred_field);
    free(s->swapped_field);
    free(s->id_field);
    for (int v = 0; v < V_N; v++)
        json_decref(s->labels[v]);
    free(s);
}

static int agr_create(const assay_host *host, const json_t *opts,
                      void **state, assay_error *err)
{
    static const char *const lab_opts[V_N] = {"a_labels", "b_labels",
                                              "tie_labels"};
    agr_state *s = calloc(1, sizeof *s);
    if (!s)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    s->host = host;
    const char *pf = assay_opt_str(opts, "pred_field");
    const char *sf = assay_opt_str(opts, "swapped_field");
    s->label_field = strdup(assay_opt_str(opts, "label_field"));
    s->pred_field = strdup(pf ? pf : assay_opt_str(opts, "label_field"));
    s->swapped_field = sf ? strdup(sf) : NULL;
    s->id_field = strdup(assay_opt_str(opts, "id_field"));
    s->swapped_mapped = assay_opt_bool(opts, "swapped_mapped");
    s->combine_consistent =
        strcmp(assay_opt_str(opts, "combine"), "consistent") == 0;
    bool oom = !s->label_field || !s->pred_field || (sf && !s->swapped_field) ||
               !s->id_field;
    for (int v = 0; v < V_N; v++) {
        s->labels[v] = json_deep_copy(json_object_get(opts, lab_opts[v]));
        oom |= !s->labels[v];
        for (size_t i = 0; s->labels[v] && i < json_array_size(s->labels[v]);
             i++)
            if (!json_is_string(json_array_get(s->labels[v], i))) {
                agr_destroy(s);
                return assay_error_set(err, ASSAY_EINVAL,
                                       "option '%s': element %zu is not a "
                                       "string",
                                       lab_opts[v], i);
            }
    }
    if (oom) {
        agr_destroy(s);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    *state = s;
    return ASSAY_OK;
}

/* Trimmed, case-insensitive equality. */
static bool same_label(const char *a, const char *b)
{
    while (isspace((unsigned char)*a))
        a++;
    size_t la = strlen(a);
    while (la > 0 && isspace((unsigned char)a[la - 1]))
        la--;
    return strlen(b) == la && strncasecmp(a, b, la) == 0;
}

/* Verdict of field `field` of record `idx` of input `port`. */
static int read_verdict(const agr_state *s, const json_t *rec, size_t idx,
                        const char *port, const char *field, int *out,
                        assay_error *err)
{
    json_t *v = NULL;
    char num[32];
    const char *txt;
    int rc = assay_rec_get(rec, idx, field, &v, err);
    if (rc) {
        sc_error_port(err, port);
        return rc;
    }
    if (json_is_string(v)) {
        txt = json_string_value(v);
    } else if (json_is_integer(v)) {
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        txt = num;
    } else {
        return assay_error_set(err, ASSAY_EDATA,
                               "input '%s': record %zu: field '%s': "
                               "expected a verdict label, got %s",
                               port, idx, field, assay__json_type_name(v));
    }
    for (int k = 0; k < V_N; k++)
        for (size_t i = 0; i < json_array_size(s->labels[k]); i++)
            if (same_label(txt,
                           json_string_value(json_array_get(s->labels[k], i)))) {
                *out = k;
                return ASSAY_OK;
            }
    return assay_error_set(err, ASSAY_EDATA,
                           "input '%s': record %zu: field '%s': unknown "
                           "verdict '%.64s' (not in a_labels, b_labels or "
                           "tie_labels)",
                           port, idx, field, txt);
}

/* Gold record index for each pred record: by id when both have it. */
static int join_gold(const agr_state *s, const json_t *pred,
                     const json_t *gold, size_t *gi, assay_error *err)
{
    size_t np = json_array_size(pred), ng = json_array_size(gold);
    sc_input ip, ig;
    sc_input_from_records(&ip, "pred", pred);
    sc_input_from_records(&ig, "gold", gold);
    if (!sc_input_has(&ip, s->id_field) || !sc_input_has(&ig, s->id_field)) {
        if (np != ng)
            return assay_error_set(err, ASSAY_EDATA,
                                   "pred has %zu records and gold %zu; give "
                                   "both an '%s' field to join them",
                                   np, ng, s->id_field);
        for (size_t i = 0; i < np; i++)
            gi[i] = i;
        return ASSAY_OK;
    }
    sc_keys kp = {0}, kg = {0};
    sc_keymap m;
    memset(&m, 0, sizeof m);
    int rc;
    if ((rc = sc_input_keys(&ip, s->id_field, &kp, err)) ||
        (rc = sc_input_keys(&ig, s->id_field, &kg, err)))
        goto done;
    if (kp.is_str != kg.is_str &&
        ((rc = sc_keys_to_str(&kp, err)) || (rc = sc_keys_to_str(&kg, err))))
        goto done;
    if ((rc = sc_keymap_init(&m, kg.is_str, ng, err)))
        goto done;
    for (size_t r = 0; r < ng && !rc; r++) {
        size_t id;
        bool isnew;
        rc = sc_keymap_intern(&m, &kg, r, &id, &isnew, err);
        if (!rc && !isnew)
            rc = assay_error_set(err, ASSAY_EDATA,
                                 "input 'gold': record %zu: field '%s': "
                                 "duplicate id",
                                 r, s->id_field);
    }
    for (size_t r = 0; r < np && !rc; r++) {
        size_t id;
        if (!sc_keymap_find(&m, &kp, r, &id))
            rc = assay_error_set(err, ASSAY_EDATA,
                                 "input 'pred': record %zu: field '%s': id "
                                 "not found in gold",
                                 r, s->id_field);
        else
            gi[r] = m.first[id];
    }
done:
    sc_keymap_free(&m);
    sc_keys_free(&kp);
    sc_keys_free(&kg);
    return rc;
}

static int agr_run(void *state, assay_io *io, assay_error *err)
{
    agr_state *s = state;
    const assay_host *h = s->host;
    const json_t *pred = h->in_records(io, "pred");
    const json_t *gold = h->in_records(io, "gold");
    size_t n = json_array_size(pred);
    size_t *gi = malloc((n + 1) * sizeof *gi);
    json_t *items = json_array(), *sum = json_object();
    double conf[V_N * V_N] = {0};
    size_t correct = 0, nontie = 0, nontie_ok = 0;
    size_t nswap = 0, consistent = 0, first_pos = 0, decided = 0;
    size_t used_tie = 0;
    int rc = ASSAY_OK;

    if (!gi || !items || !sum) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto done;
    }
    if (gold && (rc = join_gold(s, pred, gold, gi, err)))
        goto done;
    for (size_t r = 0; r < n; r++) {
        const json_t *rec = json_array_get(pred, r);
        int v1, v2 = -1, g = -1;
        if ((rc = read_verdict(s, rec, r, "pred", s->pred_field, &v1, err)))
            goto done;
        int used = v1;
        json_t *item = json_object();
        if (!item || json_array_append_new(items, item)) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto done;
        }
        if (s->swapped_field) {
            int raw;
            if ((rc = read_verdict(s, rec, r, "pred", s->swapped_field, &raw,
                                   err)))
                goto done;
            /* the swapped run's first slot held the original B */
            v2 = s->swapped_mapped || raw == V_TIE ? raw
                 : raw == V_A                      ? V_B
                                                   : V_A;
            nswap++;
            bool same = v1 == v2;
            consistent += same;
            if (s->combine_consistent)
                used = same ? v1 : V_TIE;
            /* first shown slot: A in the first order, the raw A of the
             * swapped order */
            first_pos += (v1 == V_A) + (raw == V_A);
            decided += (v1 != V_TIE) + (raw != V_TIE);
            if (sc_json_set(item, "verdict_swapped",
                            json_string(v_names[v2]), err) ||
                sc_json_set(item, "consistent", json_boolean(same), err)) {
                rc = ASSAY_ENOMEM;
                goto done;
            }
        }
        used_tie += used == V_TIE;
        if (sc_json_set(item, "index", json_integer((json_int_t)r), err) ||
            sc_json_set(item, "verdict", json_string(v_names[v1]), err) ||
            sc_json_set(item, "used", json_string(v_names[used]), err)) {
            rc = ASSAY_ENOMEM;
            goto done;
        }
        if (gold) {
            if ((rc = read_verdict(s, json_array_get(gold, gi[r]), gi[r],
                                   "gold", s->label_field, &g, err)))
                goto done;
            conf[g * V_N + used] += 1;
            correct += g == used;
            if (g != V_TIE) {
                nontie++;
                nontie_ok += g == used;
            }
            if (sc_json_set(item, "gold", json_string(v_names[g]), err) ||
                sc_json_set(item, "correct", json_boolean(g == used), err)) {
                rc = ASSAY_ENOMEM;
                goto done;
            }
        }
    }
    rc = sc_json_set(sum, "n", json_integer((json_int_t)n), err);
    if (!rc)
        rc = sc_json_set(sum, "tie_rate",
                         sc_json_num(n ? (double)used_tie / (double)n : NAN),
                         err);
    if (!rc && gold) {
        json_t *cm = json_object();
        for (int g = 0; cm && g < V_N; g++) {
            json_t *row = json_object();
            for (int p = 0; row && p < V_N; p++)
                json_object_set_new(row, v_names[p],
                                    json_integer((json_int_t)conf[g * V_N +
                                                                  p]));
            json_object_set_new(cm, v_names[g], row);
        }
        rc = sc_json_set(sum, "accuracy",
                         sc_json_num(n ? (double)correct / (double)n : NAN),
                         err);
        if (!rc)
            rc = sc_json_set(sum, "accuracy_without_gold_ties",
                             sc_json_num(nontie ? (double)nontie_ok /
                                                      (double)nontie
                                                : NAN),
                             err);
        if (!rc)
            rc = sc_json_set(sum, "kappa",
                             sc_json_num(cl_kappa_conf(conf, V_N, CL_W_NONE)),
                             err);
        if (!rc)
            rc = sc_json_set(sum, "confusion", cm, err);
        else
            json_decref(cm);
    }
    if (!rc && s->swapped_field) {
        rc = sc_json_set(sum, "position_consistency",
                         sc_json_num(nswap ? (double)consistent / (double)nswap
                                           : NAN),
                         err);
        if (!rc)
            rc = sc_json_set(sum, "first_position_rate",
                             sc_json_num(decided ? (double)first_pos /
                                                       (double)decided
                                                 : NAN),
                             err);
        if (!rc)
            rc = sc_json_set(sum, "pairs_swapped",
                             json_integer((json_int_t)nswap), err);
    }
    if (rc)
        goto done;
    rc = h->out_json(io, "summary", sum, err);
    sum = NULL;
    if (!rc)
        rc = h->out_records(io, "items", items, err);
    items = NULL;
done:
    if (rc == ASSAY_ENOMEM)
        assay_error_set(err, rc, "out of memory");
    free(gi);
    json_decref(items);
    json_decref(sum);
    return rc;
}

static const assay_plugin agr_plugin = {
    ASSAY_PLUGIN_HEADER,
    .name = "metric.agreement",
    .kind = "metric",
    .version = "1.0.0",
    .summary = "Pairwise-judge agreement with gold labels (ties included) "
               "and position consistency",
    .doc =
        "Scores pairwise verdicts (A wins, B wins, tie) of an LLM judge.\n"
        "\n"
        "Labels are read from strings or integers and matched "
        "case-insensitively against a_labels, b_labels and tie_labels; "
        "anything else fails naming the record and field.\n"
        "\n"
        "Against `gold` (joined on id_field, or by position): accuracy "
        "(ties are a third class: a tie must be predicted as a tie), "
        "accuracy_without_gold_ties (pairs whose gold is not a tie), "
        "Cohen's kappa over the three classes (sklearn's unweighted "
        "cohen_kappa_score; null when undefined) and the confusion matrix "
        "confusion[gold][verdict].\n"
        "\n"
        "With swapped_field, each record also carries the verdict given "
        "with the responses in the other order (its A is the original B "
        "unless swapped_mapped).  position_consistency is the share of "
        "pairs whose verdict survives the swap; first_position_rate the "
        "share of non-tie verdicts, over both orders, that pick the "
        "response shown first (0.5 = no position bias).  With combine: "
        "consistent (default), a pair whose two verdicts disagree counts "
        "as a tie against gold (the usual swap protocol); combine: first "
        "scores the first order's verdict.\n"
        "\n"
        "items: one record per pair with index, verdict, verdict_swapped, "
        "consistent, used (the verdict scored), gold and correct.",
    .inputs = agr_inputs,
    .outputs = agr_outputs,
    .options = agr_options,
    .flags = ASSAY_F_ALL_ITEMS | ASSAY_F_DETERMINISTIC,
    .create = agr_create,
    .run = agr_run,
    .destroy = agr_destroy,
};

static const assay_plugin *const agr_list[] = {&agr_plugin, NULL};

ASSAY_PLUGIN_EXPORT const assay_plugin *const *
assay_plugin_entry(uint32_t host_abi)
{
    (void)host_abi;
    return agr_list;
}
