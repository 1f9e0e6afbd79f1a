/*
 * test_reliab.c - the reliability report on hand-computed cases.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jc_reliab.h"
#include "jc_verdict.h"

enum { A = JC_V_A, B = JC_V_B, T = JC_V_TIE, N = JC_V_NONE };

/* gold, verdict, failed, swapped, {order}, len1, len2, subset */
static const jc_rel_item items[] = {
    {A, A, false, true, {A, A}, 10, 5, "s1"},
    {A, B, false, true, {B, B}, 5, 10, "s1"},
    {B, B, false, true, {B, B}, 5, 10, "s2"},
    {B, T, false, true, {B, A}, 10, 5, "s2"},
    {A, N, false, true, {N, A}, 8, 8, "s1"},
    {B, N, true, false, {N, N}, 3, 9, "s2"},
    {N, A, false, false, {A, N}, 4, 2, NULL},
    {A, A, false, true, {A, A}, 9, 3, "s2"},
    {B, B, false, true, {B, B}, 2, 2, "s1"},
    {A, A, false, true, {A, A}, 1, 5, NULL},
};

/* Walk a dotted path. */
static const json_t *at(const json_t *r, const char *path)
{
    char part[64];
    const json_t *v = r;
    while (v && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        memcpy(part, path, n);
        part[n] = '\0';
        v = json_object_get(v, part);
        path += n + (dot ? 1 : 0);
    }
    return v;
}

static double num(const json_t *r, const char *path)
{
    const json_t *v = at(r, path);
    if (!json_is_number(v))
        fail_msg("%s is not a number", path);
    return json_number_value(v);
}

static void test_pairwise_report(void **state)
{
    (void)state;
    jc_rel_counts c = {
        .outputs = 25, .invalid_outputs = 5, .repairs = 4, .repaired = 2};
    jc_rel_opts o = {.resamples = 500, .level = 0.9, .seed = 42};
    json_t *r = jc_reliability(items, 10, &c, &o);
    assert_non_null(r);
    assert_int_equal(num(r, "n_items"), 10);
    assert_int_equal(num(r, "n_gold"), 9);
    assert_float_equal(num(r, "accuracy.value"), 5.0 / 9, 1e-12);
    assert_int_equal(num(r, "accuracy.n"), 9);
    assert_float_equal(num(r, "accuracy_valid.value"), 5.0 / 7, 1e-12);
    assert_int_equal(num(r, "accuracy_valid.n"), 7);
    double lo = num(r, "accuracy.ci_low"), hi = num(r, "accuracy.ci_high");
    assert_true(lo <= 5.0 / 9 && 5.0 / 9 <= hi && lo < hi);
    assert_true(lo >= 0 && hi <= 1);
    assert_float_equal(num(r, "per_order.first"), 0.75, 1e-12);
    assert_float_equal(num(r, "per_order.second"), 0.75, 1e-12);
    assert_float_equal(num(r, "per_order.average"), 0.75, 1e-12);
    assert_int_equal(num(r, "per_order.n"), 8);
    assert_int_equal(num(r, "subsets.s1.n"), 4);
    assert_float_equal(num(r, "subsets.s1.accuracy"), 0.5, 1e-12);
    assert_float_equal(num(r, "subsets.s1.accuracy_valid"), 2.0 / 3, 1e-12);
    assert_float_equal(num(r, "subsets.s2.accuracy"), 0.5, 1e-12);
    assert_null(at(r, "subsets.null"));
    assert_int_equal(json_object_size(at(r, "subsets")), 2);
    assert_float_equal(num(r, "position_consistency.rate"), 6.0 / 7, 1e-12);
    assert_int_equal(num(r, "position_consistency.n"), 7);
    assert_float_equal(num(r, "position_consistency.first_position_rate"), 0.4,
                       1e-12);
    assert_int_equal(num(r, "invalid.items"), 1);
    assert_float_equal(num(r, "invalid.item_rate"), 0.1, 1e-12);
    assert_float_equal(num(r, "invalid.output_rate"), 0.2, 1e-12);
    assert_int_equal(num(r, "invalid.repairs"), 4);
    assert_int_equal(num(r, "invalid.repaired"), 2);
    assert_int_equal(num(r, "failed.items"), 1);
    assert_int_equal(num(r, "verdicts.A"), 4);
    assert_int_equal(num(r, "verdicts.B"), 3);
    assert_int_equal(num(r, "verdicts.tie"), 1);
    assert_int_equal(num(r, "length_bias.longer_won.n"), 4);
    assert_float_equal(num(r, "length_bias.longer_won.accuracy"), 0.75, 1e-12);
    assert_int_equal(num(r, "length_bias.shorter_won.n"), 3);
    assert_float_equal(num(r, "length_bias.shorter_won.accuracy"), 1.0 / 3,
                       1e-12);
    assert_int_equal(num(r, "length_bias.equal_length.n"), 2);
    assert_float_equal(num(r, "length_bias.longer_gold_rate"), 4.0 / 7, 1e-12);
    assert_float_equal(num(r, "length_bias.prefers_longer_rate"), 5.0 / 6,
                       1e-12);
    assert_int_equal(num(r, "bootstrap.resamples"), 500);

    /* same seed, same CI; the subset CI exists too */
    json_t *r2 = jc_reliability(items, 10, &c, &o);
    assert_float_equal(num(r2, "accuracy.ci_low"), lo, 0);
    assert_float_equal(num(r2, "accuracy.ci_high"), hi, 0);
    assert_true(json_is_number(at(r2, "subsets.s1.ci_low")));
    json_decref(r2);
    json_decref(r);

    /* no resamples: null CIs; no swap: null consistency */
    jc_rel_item one[2] = {{A, A, false, false, {A, N}, 1, 2, NULL},
                          {B, A, false, false, {A, N}, 1, 2, NULL}};
    o.resamples = 0;
    r = jc_reliability(one, 2, &c, &o);
    assert_true(json_is_null(at(r, "accuracy.ci_low")));
    assert_true(json_is_null(at(r, "position_consistency")));
    assert_true(json_is_null(at(r, "per_order")));
    assert_float_equal(num(r, "accuracy.value"), 0.5, 1e-12);
    json_decref(r);

    /* no gold at all: accuracy null, never NaN */
    jc_rel_item nog[1] = {{N, A, false, false, {A, N}, 1, 2, NULL}};
    r = jc_reliability(nog, 1, &c, &o);
    assert_true(json_is_null(at(r, "accuracy.value")));
    char *s = json_dumps(r, 0);
    assert_null(strstr(s, "nan"));
    free(s);
    json_decref(r);
}

static void test_correlations(void **state)
{
    (void)state;
    double x[] = {1, 2, 3, 4, 5}, y[] = {5, 6, 7, 8, 7};
    assert_float_equal(jc_pearson(x, y, 5), 6 / sqrt(52), 1e-12);
    assert_float_equal(jc_spearman(x, y, 5), 8 / sqrt(95), 1e-12);
    assert_float_equal(jc_kendall_b(x, y, 5), 0.7378647873726218, 1e-12);
    double c[] = {3, 3, 3};
    assert_true(isnan(jc_pearson(x, c, 3)));
    assert_true(isnan(jc_spearman(x, y, 1)));
    double v[] = {1, 2, 3, 4};
    assert_float_equal(jc_percentile(v, 4, 0.5), 2.5, 1e-12);
    assert_float_equal(jc_percentile(v, 4, 0.0), 1, 1e-12);
    assert_float_equal(jc_percentile(v, 4, 1.0), 4, 1e-12);
}

static void test_score_report(void **state)
{
    (void)state;
    double score[] = {1, 2, 3, 4, 5, 0, 9};
    bool valid[] = {true, true, true, true, true, false, false};
    bool failed[] = {false, false, false, false, false, false, true};
    double gold[] = {5, 6, 7, 8, 7, 3, NAN};
    const char *subset[] = {"x", "x", "y", "y", "y", "x", "y"};
    jc_rel_counts c = {.outputs = 8, .invalid_outputs = 2};
    jc_rel_opts o = {.resamples = 200, .level = 0.95, .seed = 1};
    json_t *r =
        jc_reliability_scores(score, valid, failed, gold, subset, 7, &c, &o);
    assert_non_null(r);
    assert_int_equal(num(r, "n_gold"), 6);
    assert_int_equal(num(r, "n_valid"), 5);
    assert_float_equal(num(r, "pearson"), 6 / sqrt(52), 1e-12);
    assert_float_equal(num(r, "spearman.value"), 8 / sqrt(95), 1e-12);
    assert_float_equal(num(r, "kendall_tau_b"), 0.7378647873726218, 1e-12);
    assert_float_equal(num(r, "exact_agreement"), 0, 1e-12);
    assert_float_equal(num(r, "mean_abs_error"), (4 + 4 + 4 + 4 + 2) / 5.0,
                       1e-12);
    assert_int_equal(num(r, "invalid.items"), 1);
    assert_int_equal(num(r, "failed.items"), 1);
    assert_int_equal(num(r, "subsets.x.n"), 3);
    assert_int_equal(num(r, "subsets.x.n_valid"), 2);
    assert_true(num(r, "spearman.ci_low") <= num(r, "spearman.ci_high"));
    json_decref(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pairwise_report),
        cmocka_unit_test(test_correlations),
        cmocka_unit_test(test_score_report),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
