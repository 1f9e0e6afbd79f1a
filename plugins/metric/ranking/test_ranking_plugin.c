/*
 * test_ranking_plugin.c - metric.ranking through the real host (testkit):
 * the leave-one-out golden set as records, a trec_eval run as tables,
 * option handling and malformed-input errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testkit.h"

static const assay_plugin *plug;

static const char *golden_path(const char *name)
{
    static char buf[4096];
    const char *src = getenv("ASSAY_SRC");
    snprintf(buf, sizeof buf, "%s/tests/golden/ranking/%s", src ? src : ".",
             name);
    return buf;
}

static int setup(void **st)
{
    (void)st;
    assay_error err = {0};
    plug = assay_testkit_load(getenv("PLUGIN"), "metric.ranking", &err);
    if (!plug)
        fail_msg("load: %s", err.text);
    return 0;
}

static void near(double got, double want, double tol, const char *what)
{
    if (!(fabs(got - want) <= tol))
        fail_msg("%s: got %.17g want %.17g", what, got, want);
}

/* LOO users as run/qrels records. */
static void loo_records(json_t **run, json_t **qrels)
{
    FILE *fp = fopen(golden_path("loo_users.jsonl"), "rb");
    assert_non_null(fp);
    *run = json_array();
    *qrels = json_array();
    char line[65536];
    while (fgets(line, sizeof line, fp)) {
        json_error_t je;
        json_t *j = json_loads(line, 0, &je);
        assert_non_null(j);
        json_t *u = json_object_get(j, "user");
        json_t *sc = json_object_get(j, "scores");
        for (size_t c = 0; c < json_array_size(sc); c++)
            json_array_append_new(
                *run, json_pack("{sOsIsO}", "user", u, "item", (json_int_t)c,
                                "score", json_array_get(sc, c)));
        json_array_append_new(*qrels,
                              json_pack("{sOsOsi}", "user", u, "item",
                                        json_object_get(j, "pos"),
                                        "relevance", 1));
        json_decref(j);
    }
    fclose(fp);
}

static void test_loo_records(void **st)
{
    (void)st;
    json_t *run, *qrels;
    loo_records(&run, &qrels);
    json_t *in = json_pack("{sOsO}", "run", run, "qrels", qrels);
    json_t *out = NULL;
    assay_error err = {0};
    int rc = assay_testkit_run(plug,
                               "{\"ks\": [1, 5, 10], \"protocol\": "
                               "\"sampled\"}",
                               in, &out, &err);
    if (rc)
        fail_msg("run: %s", err.text);
    json_error_t je;
    json_t *want = json_load_file(golden_path("loo_summary.json"), 0, &je);
    assert_non_null(want);
    json_t *mean = json_object_get(want, "mean");
    json_t *sum = json_object_get(out, "summary");
    assert_string_equal(json_string_value(json_object_get(sum, "ties")),
                        "optimistic");
    assert_int_equal(json_integer_value(json_object_get(sum, "queries")),
                     500);
    const char *keys[] = {"hr@1", "hr@5", "hr@10", "ndcg@5", "ndcg@10", "mrr"};
    for (int k = 0; k < 6; k++)
        near(json_number_value(json_object_get(sum, keys[k])),
             json_number_value(json_object_get(mean, keys[k])), 1e-12,
             keys[k]);
    /* per-user rows, in qrels order, with the optimistic rank */
    json_t *items = json_object_get(out, "items");
    assert_int_equal(json_array_size(items), 500);
    json_t *row0 = json_array_get(items, 0);
    assert_int_equal(json_integer_value(json_object_get(row0, "user")), 0);
    near(json_number_value(json_object_get(row0, "rank")), 2, 0, "rank0");
    json_decref(out);

    /* pessimistic ties */
    rc = assay_testkit_run(plug,
                           "{\"ks\": [1, 5, 10], \"protocol\": \"sampled\", "
                           "\"ties\": \"pessimistic\", \"items\": false}",
                           in, &out, &err);
    if (rc)
        fail_msg("run: %s", err.text);
    mean = json_object_get(want, "mean_pessimistic_ties");
    sum = json_object_get(out, "summary");
    for (int k = 0; k < 6; k++)
        near(json_number_value(json_object_get(sum, keys[k])),
             json_number_value(json_object_get(mean, keys[k])), 1e-12,
             keys[k]);
    assert_int_equal(json_array_size(json_object_get(out, "items")), 0);
    json_decref(out);
    json_decref(want);
    json_decref(in);
    json_decref(run);
    json_decref(qrels);
}

/* A trec run delivered as tables with string columns. */
static assay_table *trec_table(const char *file, int score_col,
                               const char *score_name)
{
    FILE *fp = fopen(golden_path(file), "rb");
    assert_non_null(fp);
    char line[512];
    size_t n = 0;
    while (fgets(line, sizeof line, fp))
        n++;
    rewind(fp);
    assay_table *t = assay_testkit_table_new(n);
    assert_non_null(assay_testkit_table_add_col(t, "query",
                                                ASSAY_COL_STRING));
    assert_non_null(assay_testkit_table_add_col(t, "doc", ASSAY_COL_STRING));
    assert_non_null(
        assay_testkit_table_add_col(t, score_name, ASSAY_COL_FLOAT64));
    double *v = t->cols[2].data;
    for (size_t r = 0; r < n && fgets(line, sizeof line, fp); r++) {
        char f[6][64];
        int k = sscanf(line, "%63s %63s %63s %63s %63s %63s", f[0], f[1],
                       f[2], f[3], f[4], f[5]);
        assert_true(k >= 4);
        assay_testkit_table_set_str(t, 0, r, f[0], strlen(f[0]));
        assay_testkit_table_set_str(t, 1, r, f[2], strlen(f[2]));
        v[r] = strtod(f[score_col], NULL);
    }
    fclose(fp);
    return t;
}

static void test_trec_tables(void **st)
{
    (void)st;
    assay_table *run = trec_table("runB_ties.txt", 4, "sim");
    assay_table *qrels = trec_table("qrels.txt", 3, "rel");
    assay_testkit_tables tin = {.n = 2,
                                .ports = {"run", "qrels"},
                                .tables = {run, qrels}};
    assay_testkit_tables tout = {0};
    json_t *out = NULL;
    assay_error err = {0};
    int rc = assay_testkit_run_tables(
        plug,
        "{\"query_field\": \"query\", \"item_field\": \"doc\", "
        "\"score_field\": \"sim\", \"relevance_field\": \"rel\", "
        "\"ks\": [5, 10]}",
        NULL, &tin, &out, &tout, &err);
    if (rc)
        fail_msg("run: %s", err.text);
    json_error_t je;
    json_t *g = json_load_file(golden_path("trec_eval.json"), 0, &je);
    json_t *all = json_object_get(
        json_object_get(json_object_get(g, "runs"), "runB_ties"), "all");
    json_t *sum = json_object_get(out, "summary");
    near(json_number_value(json_object_get(sum, "map")),
         json_number_value(json_object_get(all, "map")), 1e-9, "map");
    near(json_number_value(json_object_get(sum, "mrr")),
         json_number_value(json_object_get(all, "recip_rank")), 1e-9, "mrr");
    near(json_number_value(json_object_get(sum, "ndcg@10")),
         json_number_value(json_object_get(all, "ndcg_cut_10")), 1e-9,
         "ndcg@10");
    near(json_number_value(json_object_get(sum, "precision@5")),
         json_number_value(json_object_get(all, "P_5")), 1e-9, "P_5");
    near(json_number_value(json_object_get(sum, "recall@10")),
         json_number_value(json_object_get(all, "recall_10")), 1e-9,
         "recall_10");
    assert_int_equal(json_integer_value(json_object_get(sum, "num_rel_ret")),
                     (json_int_t)json_number_value(
                         json_object_get(all, "num_rel_ret")));
    assert_int_equal(
        json_integer_value(json_object_get(sum, "queries_not_judged")), 1);
    /* the items table: one row per query, string ids */
    assert_int_equal(tout.n, 1);
    assert_string_equal(tout.ports[0], "items");
    assay_table *it = tout.tables[0];
    assert_int_equal(it->nrows, 50);
    assert_string_equal(it->cols[0].name, "query");
    assert_int_equal(it->cols[0].type, ASSAY_COL_STRING);
    assay_testkit_table_free(it);
    json_decref(g);
    json_decref(out);
    assay_testkit_table_free(run);
    assay_testkit_table_free(qrels);
}

static void expect_error(const char *opts, json_t *in, const char *needle1,
                         const char *needle2)
{
    json_t *out = NULL;
    assay_error err = {0};
    int rc = assay_testkit_run(plug, opts, in, &out, &err);
    assert_int_not_equal(rc, 0);
    if (!strstr(err.text, needle1) || (needle2 && !strstr(err.text, needle2)))
        fail_msg("error text '%s' lacks '%s'/'%s'", err.text, needle1,
                 needle2 ? needle2 : "");
    json_decref(out);
}

static void test_malformed(void **st)
{
    (void)st;
    json_t *qrels = json_loads("[{\"user\": 1, \"item\": 2, \"relevance\": 1}]",
                               0, NULL);
    /* missing score in record 1 */
    json_t *run = json_loads("[{\"user\": 1, \"item\": 2, \"score\": 0.5},"
                             " {\"user\": 1, \"item\": 3}]",
                             0, NULL);
    json_t *in = json_pack("{sOsO}", "run", run, "qrels", qrels);
    expect_error(NULL, in, "record 1", "'score'");
    json_decref(in);
    json_decref(run);
    /* non-numeric score */
    run = json_loads("[{\"user\": 1, \"item\": 2, \"score\": \"high\"}]", 0,
                     NULL);
    in = json_pack("{sOsO}", "run", run, "qrels", qrels);
    expect_error(NULL, in, "record 0", "expected a number");
    json_decref(in);
    json_decref(run);
    /* an id that is neither integer nor string */
    run = json_loads("[{\"user\": 1.5, \"item\": 2, \"score\": 1}]", 0, NULL);
    in = json_pack("{sOsO}", "run", run, "qrels", qrels);
    expect_error(NULL, in, "record 0", "'user'");
    json_decref(in);
    json_decref(run);
    /* a bad relevance in the qrels */
    run = json_loads("[{\"user\": 1, \"item\": 2, \"score\": 1}]", 0, NULL);
    json_t *bad = json_loads("[{\"user\": 1, \"item\": 2, \"relevance\": null}]",
                             0, NULL);
    in = json_pack("{sOsO}", "run", run, "qrels", bad);
    expect_error(NULL, in, "qrels", "'relevance'");
    json_decref(in);
    /* bad option value: the host rejects it */
    in = json_pack("{sOsO}", "run", run, "qrels", qrels);
    expect_error("{\"ks\": [0]}", in, "ks", NULL);
    expect_error("{\"protocol\": \"half\"}", in, "protocol", NULL);
    json_decref(in);
    json_decref(bad);
    json_decref(run);

    /* NaN score in a table names the row and column */
    assay_table *t = assay_testkit_table_new(3);
    int64_t *u = assay_testkit_table_add_col(t, "user", ASSAY_COL_INT64);
    int64_t *it = assay_testkit_table_add_col(t, "item", ASSAY_COL_INT64);
    double *sc = assay_testkit_table_add_col(t, "score", ASSAY_COL_FLOAT64);
    u = t->cols[0].data;
    it = t->cols[1].data;
    sc = t->cols[2].data;
    for (int r = 0; r < 3; r++) {
        u[r] = 1;
        it[r] = r;
        sc[r] = r == 2 ? NAN : 1.0;
    }
    assay_testkit_tables tin = {.n = 1, .ports = {"run"}, .tables = {t}};
    json_t *qin = json_pack("{sO}", "qrels", qrels);
    json_t *out = NULL;
    assay_error err = {0};
    assert_int_not_equal(
        assay_testkit_run_tables(plug, NULL, qin, &tin, &out, NULL, &err), 0);
    assert_non_null(strstr(err.text, "row 2"));
    assert_non_null(strstr(err.text, "'score'"));
    json_decref(qin);
    assay_testkit_table_free(t);
    json_decref(qrels);
}

/* Judged queries missing from the run: skipped or zero (trec_eval -c). */
static void test_missing_queries(void **st)
{
    (void)st;
    json_t *run = json_loads("[{\"user\": \"a\", \"item\": \"x\", \"score\": 2},"
                             " {\"user\": \"a\", \"item\": \"y\", \"score\": 1}]",
                             0, NULL);
    json_t *qrels = json_loads("[{\"user\": \"a\", \"item\": \"x\", "
                               "\"relevance\": 1},"
                               " {\"user\": \"b\", \"item\": \"x\", "
                               "\"relevance\": 1}]",
                               0, NULL);
    json_t *in = json_pack("{sOsO}", "run", run, "qrels", qrels);
    json_t *out = NULL;
    assay_error err = {0};
    assert_int_equal(assay_testkit_run(plug, "{\"ks\": [1]}", in, &out, &err),
                     0);
    json_t *sum = json_object_get(out, "summary");
    near(json_number_value(json_object_get(sum, "hr@1")), 1, 0, "skip");
    assert_int_equal(
        json_integer_value(json_object_get(sum, "queries_not_in_run")), 1);
    json_decref(out);
    assert_int_equal(assay_testkit_run(plug,
                                       "{\"ks\": [1], \"missing_queries\": "
                                       "\"zero\"}",
                                       in, &out, &err),
                     0);
    sum = json_object_get(out, "summary");
    near(json_number_value(json_object_get(sum, "hr@1")), 0.5, 0, "zero");
    assert_int_equal(json_array_size(json_object_get(out, "items")), 2);
    json_decref(out);
    json_decref(in);
    json_decref(run);
    json_decref(qrels);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loo_records),
        cmocka_unit_test(test_trec_tables),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_missing_queries),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
