/*
 * test_perflaw_llm.c - fitter.perflaw-llm through the real host: on rows
 * generated from the published law the fit returns the published
 * constants, and the reported predictions match the test vectors of the
 * methods notes (Llama-3-8B 65.45, Llama-3-70B 81.09, Llama-2-70B 70.21,
 * Llama-2-7B 58.03, Qwen2-7B 62.73).
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

static double law(double N, double h, double d, double T, double S)
{
    double u = exp(-pow((10 / d + 20 / h) * N, 2));
    return 13.95018192 * log(u * N) + 0.23072027 * log(u * h) -
           0.48523402 * log(u * d) + 5.39801689 * log(u * fmin(T, S)) +
           9.195410648934768;
}

static const double models[][6] = {
    /* N, h, d, T, S, expected MMLU (2 decimals) */
    {32, 4096, 14336, 15, 8.03, 65.45}, {80, 8192, 28672, 15, 70.6, 81.09},
    {80, 8192, 28672, 2, 68.98, 70.21}, {32, 4096, 11008, 2, 6.74, 58.03},
    {28, 3584, 18944, 7, 7.6, 62.73},   {24, 2048, 5632, 3, 1.1, 0},
    {40, 5120, 13824, 2, 13.0, 0},      {60, 6656, 17920, 1.4, 32.5, 0},
    {28, 3072, 8192, 9, 3.2, 0},        {48, 6144, 16384, 4, 20.0, 0},
};

static void test_published(void **state)
{
    (void)state;
    assay_error err = {0};
    const assay_plugin *p =
        assay_testkit_load(getenv("PLUGIN"), "fitter.perflaw-llm", &err);
    if (!p)
        fail_msg("%s", err.text);
    json_t *rows = json_array();
    size_t nm = sizeof models / sizeof models[0];
    for (size_t i = 0; i < nm; i++) {
        const double *m = models[i];
        json_t *r =
            json_pack("{s:f,s:f,s:f,s:f,s:f,s:f}", "layers", m[0], "hidden",
                      m[1], "ffn", m[2], "tokens_t", m[3], "params_b", m[4],
                      "mmlu", law(m[0], m[1], m[2], m[3], m[4]));
        json_array_append_new(rows, r);
    }
    json_t *in = json_pack("{s:o}", "data", rows), *out = NULL;
    int rc = assay_testkit_run(p, "{\"bootstrap\": 0}", in, &out, &err);
    if (rc)
        fail_msg("%s", err.text);
    json_t *vs =
        json_object_get(json_object_get(out, "params"), "vs_published");
    const char *k;
    json_t *o;
    json_object_foreach(vs, k, o)
    {
        double pub = json_number_value(json_object_get(o, "published"));
        double fit = json_number_value(json_object_get(o, "fitted"));
        if (!(fabs(fit - pub) < 1e-6 * fmax(1, fabs(pub))))
            fail_msg("%s: fitted %.10g, published %.10g", k, fit, pub);
    }
    json_t *pts = json_object_get(out, "points");
    for (size_t i = 0; i < 5; i++) {
        double pred =
            json_number_value(json_object_get(json_array_get(pts, i), "pred"));
        assert_true(fabs(pred - models[i][5]) < 0.006);
    }
    json_decref(out);
    json_decref(in);
}

static void test_bound(void **state)
{
    (void)state;
    /* the planner's post-processing, through a tiny model (-> 25) */
    assay_error err = {0};
    const assay_plugin *p =
        assay_testkit_load(getenv("PLUGIN"), "fitter.perflaw-llm", &err);
    json_t *rows = json_array();
    for (size_t i = 0; i < 6; i++) {
        const double *m = models[i + 3];
        json_array_append_new(
            rows,
            json_pack("{s:f,s:f,s:f,s:f,s:f,s:f}", "layers", m[0], "hidden",
                      m[1], "ffn", m[2], "tokens_t", m[3], "params_b", m[4],
                      "mmlu", law(m[0], m[1], m[2], m[3], m[4])));
    }
    json_array_append_new(rows,
                          json_pack("{s:f,s:f,s:f,s:f,s:f,s:f}", "layers", 2.0,
                                    "hidden", 128.0, "ffn", 512.0, "tokens_t",
                                    0.001, "params_b", 0.001, "mmlu", 25.0));
    json_t *in = json_pack("{s:o}", "data", rows), *out = NULL;
    int rc = assay_testkit_run(p, "{\"bootstrap\": 0}", in, &out, &err);
    if (rc)
        fail_msg("%s", err.text);
    double pred = json_number_value(json_object_get(
        json_array_get(json_object_get(out, "points"), 6), "pred"));
    assert_true(pred == 25.0);
    json_decref(out);
    json_decref(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_published),
        cmocka_unit_test(test_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
