/*
 * bench-recsys: training time per epoch and full-ranking evaluation time
 * of rec.bpr and rec.sasrec on MovieLens-100K, through the real host
 * (testkit), with a fixed number of epochs (no early stopping).  Prints
 * one JSON object per model on stdout; run.sh runs the PyTorch peer on
 * the same data in the same run and prints the ratios.
 *
 *   bench-recsys ML100K_INTER [BPR_EPOCHS] [SASREC_EPOCHS]
 * Plugins come from $PLUGIN_SOURCE, $PLUGIN_SPLIT, $PLUGIN_BPR and
 * $PLUGIN_SASREC; threads from $ASSAY_THREADS (testkit default 2).
 */
#include <assay/plugin.h>

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testkit.h"

static const assay_plugin *load(const char *env, const char *name)
{
    assay_error err = {0};
    const assay_plugin *p = assay_testkit_load(getenv(env), name, &err);
    if (!p) {
        fprintf(stderr, "bench-recsys: %s: %s\n", name, err.text);
        exit(2);
    }
    return p;
}

static const assay_table *out_table(const assay_testkit_tables *o,
                                    const char *port)
{
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->ports[i], port) == 0)
            return o->tables[i];
    return NULL;
}

static void run(const assay_plugin *p, const char *opts,
                const assay_testkit_tables *in, json_t **res,
                assay_testkit_tables *out)
{
    assay_error err = {0};
    memset(out, 0, sizeof *out);
    if (assay_testkit_run_tables(p, opts, NULL, in, res, out, &err)) {
        fprintf(stderr, "bench-recsys: %s: %s\n", p->name, err.text);
        exit(1);
    }
}

static void free_tables(assay_testkit_tables *t)
{
    for (size_t i = 0; i < t->n; i++)
        assay_testkit_table_free(t->tables[i]);
    t->n = 0;
}

/* Train `p` on the split in `s` and print its timing line. */
static void bench_model(const char *label, const assay_plugin *p,
                        const char *opts, const assay_testkit_tables *s)
{
    assay_testkit_tables in = {3, {"train", "valid", "test"}, {NULL}}, out;
    json_t *res = NULL;
    in.tables[0] = (assay_table *)out_table(s, "train");
    in.tables[1] = (assay_table *)out_table(s, "valid");
    in.tables[2] = (assay_table *)out_table(s, "test");
    run(p, opts, &in, &res, &out);
    json_t *m = json_object_get(res, "model");
    json_t *mt = json_object_get(res, "metrics");
    printf(
        "{\"model\": \"%s\", \"impl\": \"assay\", \"epochs\": %lld, "
        "\"epoch_seconds\": %.6f, \"eval_seconds\": %.6f, "
        "\"eval_users\": %lld, \"params\": %lld, \"threads\": %lld, "
        "\"ndcg@10\": %.4f, \"tokens_per_epoch\": %lld}\n",
        label, (long long)json_integer_value(json_object_get(m, "epochs")),
        json_number_value(json_object_get(m, "epoch_seconds")),
        json_number_value(json_object_get(m, "rank_seconds")),
        (long long)json_integer_value(json_object_get(m, "ranked_users")),
        (long long)json_integer_value(json_object_get(m, "params")),
        (long long)json_integer_value(json_object_get(m, "threads")),
        json_number_value(json_object_get(mt, "ndcg@10")),
        (long long)json_integer_value(json_object_get(m, "tokens_per_epoch")));
    fflush(stdout);
    json_decref(res);
    free_tables(&out);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench-recsys ML100K_INTER [BPR_EPOCHS] "
                        "[SASREC_EPOCHS]\n");
        return 2;
    }
    int bpr_epochs = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 20;
    int sas_epochs = argc > 3 ? (int)strtol(argv[3], NULL, 10) : 3;
    const assay_plugin *src = load("PLUGIN_SOURCE", "source.interactions");
    const assay_plugin *split = load("PLUGIN_SPLIT", "protocol.split");
    const assay_plugin *bpr = load("PLUGIN_BPR", "rec.bpr");
    const assay_plugin *sas = load("PLUGIN_SASREC", "rec.sasrec");
    fprintf(stderr, "bench-recsys: OpenBLAS core %s\n",
            openblas_get_corename());

    char opts[4300];
    snprintf(opts, sizeof opts, "{\"path\": \"%s\"}", argv[1]);
    assay_testkit_tables data, general, loo;
    json_t *res = NULL;
    run(src, opts, NULL, &res, &data);
    json_decref(res);
    assay_testkit_tables in = {1, {"interactions"}, {NULL}};
    in.tables[0] = (assay_table *)out_table(&data, "interactions");
    run(split, "{\"method\": \"random\", \"ratios\": [0.8, 0.1, 0.1]}", &in,
        &res, &general);
    json_decref(res);
    run(split, "{\"method\": \"loo\"}", &in, &res, &loo);
    json_decref(res);

    /* BPR: RecBole's size (64), one pass over train per epoch */
    snprintf(opts, sizeof opts,
             "{\"dim\": 64, \"epochs\": %d, \"patience\": 0}", bpr_epochs);
    bench_model("bpr", bpr, opts, &general);
    /* SASRec: the plugin defaults (64 dims, 2 layers, 2 heads, inner 256,
     * max_len 50, batch 128, every transition each epoch) */
    snprintf(opts, sizeof opts, "{\"epochs\": %d, \"patience\": 0}",
             sas_epochs);
    bench_model("sasrec", sas, opts, &loo);
    free_tables(&loo);
    free_tables(&general);
    free_tables(&data);
    return 0;
}
