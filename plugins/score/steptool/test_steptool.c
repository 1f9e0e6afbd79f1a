/*
 * score.steptool and source.steptool through the real host
 * (core/testkit.h): the shared StepTool files (skipped with a message
 * when ../shared is absent) and small inline trajectories.
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
#include <unistd.h>

#include "testkit.h"

static const assay_plugin *load(const char *name)
{
    assay_error err;
    const assay_plugin *p = assay_testkit_load(getenv("PLUGIN"), name, &err);
    if (!p)
        fprintf(stderr, "%s\n", err.text);
    assert_non_null(p);
    return p;
}

static const char *shared_file(char *buf, size_t sz, const char *rel)
{
    const char *env = getenv("ASSAY_SHARED"), *src = getenv("ASSAY_SRC");
    if (env)
        snprintf(buf, sz, "%s/data/steptool/%s", env, rel);
    else
        snprintf(buf, sz, "%s/../shared/data/steptool/%s", src ? src : ".",
                 rel);
    if (access(buf, R_OK) != 0) {
        printf("# skipped: %s not found (set ASSAY_SHARED)\n", buf);
        return NULL;
    }
    return buf;
}

/* source.steptool on `path`, then score.steptool with `opts`. */
static json_t *score_file(const char *path, const char *opts)
{
    char o[4400];
    json_t *src_out = NULL, *out = NULL;
    assay_error err;
    snprintf(o, sizeof o, "{\"path\": \"%s\"}", path);
    if (assay_testkit_run(load("source.steptool"), o, NULL, &src_out, &err))
        fail_msg("source.steptool: %s", err.text);
    json_t *in =
        json_pack("{s:O}", "items", json_object_get(src_out, "records"));
    if (assay_testkit_run(load("score.steptool"), opts, in, &out, &err))
        fail_msg("score.steptool: %s", err.text);
    json_decref(in);
    json_decref(src_out);
    return out;
}

static double num(const json_t *o, const char *k)
{
    return json_number_value(json_object_get(o, k));
}

static void test_annotated_rule(void **st)
{
    (void)st;
    char path[4200];
    if (!shared_file(path, sizeof path,
                     "reward_annotation_qwen2_G123_example_5.json"))
        return;
    json_t *out = score_file(path, "{}");
    json_t *items = json_object_get(out, "items");
    json_t *sum = json_object_get(out, "summary");
    assert_int_equal(json_array_size(items), 5);
    assert_int_equal(json_integer_value(json_object_get(sum, "scored")), 5);
    /* mean IsSolved: (1 + 1 + 5/6 + 1 + 1/3) / 5 */
    assert_true(fabs(num(sum, "pass_rate") - 100.0 * (25.0 / 6) / 5) < 1e-9);
    json_t *runs = json_object_get(sum, "pass_rate_runs");
    assert_int_equal(json_object_size(runs), 3);
    /* run 0: S S U S U -> (1+1+.5+1+.5)/5; run 1: S S S S Unsolved */
    assert_true(fabs(num(runs, "0") - 80.0) < 1e-9);
    assert_true(fabs(num(runs, "1") - 80.0) < 1e-9);
    json_t *last = json_array_get(items, 4);
    assert_string_equal(json_string_value(json_object_get(last, "id")),
                        "56543");
    json_t *r = json_object_get(last, "rewards");
    assert_int_equal(json_array_size(r), 3);
    assert_true(json_number_value(json_array_get(r, 0)) == 0.0);
    assert_true(json_number_value(json_array_get(r, 1)) == 1.0);
    assert_true(fabs(json_number_value(json_array_get(r, 2)) - 1.0 / 3) <
                1e-12);
    json_t *g = json_object_get(last, "returns");
    assert_true(fabs(json_number_value(json_array_get(g, 0)) -
                     (0.0 + 0.99 * (1.0 + 0.99 / 3))) < 1e-12);
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(last, "succ_why"), 0)),
        "empty");
    /* one step record per step, final included: 4+2+1+2+2 + 5 */
    assert_int_equal(json_array_size(json_object_get(out, "steps")), 16);
    json_decref(out);
}

/* The GPT-4 labels the file carries: intermediate rewards from the three
 * runs, e.g. 56543 step 1: succ (0+0+0)/3, contributions (1+1+2)/3/5. */
static void test_annotated_given(void **st)
{
    (void)st;
    char path[4200];
    if (!shared_file(path, sizeof path,
                     "reward_annotation_qwen2_G123_example_5.json"))
        return;
    json_t *out = score_file(path, "{\"annotator\": \"given\"}");
    json_t *last = json_array_get(json_object_get(out, "items"), 4);
    json_t *r = json_object_get(last, "rewards");
    assert_true(fabs(json_number_value(json_array_get(r, 0)) -
                     (0.0 + 4.0 / 15) / 2) < 1e-12);
    /* step 2: succ (0+1+0)/3, contributions (2+3+3)/3/5 */
    assert_true(fabs(json_number_value(json_array_get(r, 1)) -
                     (1.0 / 3 + 8.0 / 15) / 2) < 1e-12);
    json_decref(out);
}

/* StableToolBench pass-rate labels: the README's per-run pass rates of
 * StepTool (CoT) on G3_instruction, 43.4 / 41.8 / 42.6. */
static void test_pass_rate_runs(void **st)
{
    (void)st;
    char path[4200];
    if (!shared_file(path, sizeof path,
                     "pass_rate_results_G3/steptool_cot_G3_instruction.json"))
        return;
    json_t *out = score_file(path, "{}");
    json_t *sum = json_object_get(out, "summary");
    assert_int_equal(json_integer_value(json_object_get(sum, "scored")), 61);
    json_t *runs = json_object_get(sum, "pass_rate_runs");
    assert_true(fabs(num(runs, "0") - 43.4) < 0.05);
    assert_true(fabs(num(runs, "1") - 41.8) < 0.05);
    assert_true(fabs(num(runs, "2") - 42.6) < 0.05);
    json_decref(out);
}

static void test_inline(void **st)
{
    (void)st;
    json_t *in = json_loads(
        "{\"items\": [{\"id\": \"a\", \"query\": \"weather in Rome?\", "
        "\"steps\": [{\"name\": \"geo\", \"arguments\": {\"q\": \"Rome\"}, "
        "\"response\": {\"error\": \"\", \"response\": {\"lat\": 41.9}}}, "
        "{\"name\": \"wx\", \"arguments\": {}, \"response\": {\"error\": "
        "\"bad key\", \"response\": \"\"}}], \"final_answer\": \"It is "
        "sunny, lat 41.9\"}, {\"query\": \"x\", \"steps\": []}]}",
        0, NULL);
    json_t *out = NULL;
    assay_error err;
    assert_int_equal(assay_testkit_run(load("score.steptool"),
                                       "{\"gamma\": 0.5}", in, &out, &err),
                     0);
    json_t *a = json_array_get(json_object_get(out, "items"), 0);
    json_t *r = json_object_get(a, "rewards");
    /* step 1: ok, "{"lat":41.9}" vs the answer: LCS 8 of 12 -> 1 */
    assert_true(json_number_value(json_array_get(r, 0)) == 1.0);
    assert_true(json_number_value(json_array_get(r, 1)) == 0.0);
    assert_true(json_number_value(json_array_get(r, 2)) == 1.0);
    assert_string_equal(json_string_value(json_object_get(a, "is_solved_from")),
                        "rule");
    json_t *b = json_array_get(json_object_get(out, "items"), 1);
    assert_true(num(b, "is_solved") == 0.0); /* no answer */
    json_decref(out);
    /* annotator given without labels names the record and field */
    assert_int_equal(assay_testkit_run(load("score.steptool"),
                                       "{\"annotator\": \"given\"}", in, &out,
                                       &err),
                     ASSAY_EDATA);
    assert_non_null(strstr(err.text, "record 0: missing field "
                                     "'process_reward'"));
    /* annotator llm needs an endpoint */
    assert_int_equal(assay_testkit_run(load("score.steptool"),
                                       "{\"annotator\": \"llm\"}", in, &out,
                                       &err),
                     ASSAY_EINVAL);
    json_decref(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_annotated_rule),
        cmocka_unit_test(test_annotated_given),
        cmocka_unit_test(test_pass_rate_runs),
        cmocka_unit_test(test_inline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
