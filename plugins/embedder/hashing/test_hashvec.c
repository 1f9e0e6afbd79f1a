/*
 * Unit tests of the hashed TF-IDF vectors (values worked out by hand from
 * the formulas in hashvec.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hashvec.h"

#define BIG (1u << 20) /* no collisions among a handful of features */

static const hv_opts defaults = {.dim = BIG,
                                 .ngram = 1,
                                 .lowercase = true,
                                 .idf = true,
                                 .sublinear_tf = true,
                                 .l2 = true};

static size_t bucket(const char *tok, size_t dim)
{
    return hv_hash(tok, strlen(tok)) % dim;
}

static size_t nonzero(const double *row, size_t dim)
{
    size_t k = 0;
    for (size_t d = 0; d < dim; d++)
        k += row[d] != 0;
    return k;
}

static void test_tfidf_by_hand(void **state)
{
    (void)state;
    const char *t[2] = {"a b", "A"};
    double *v = calloc(2 * BIG, sizeof *v);
    assert_int_equal(hv_embed(t, 2, &defaults, v), 0);
    /* idf(a) = ln(3/3) + 1 = 1, idf(b) = ln(3/2) + 1 */
    double wb = log(1.5) + 1, norm = sqrt(1 + wb * wb);
    size_t ia = bucket("a", BIG), ib = bucket("b", BIG);
    assert_true(fabs(fabs(v[ia]) - 1 / norm) < 1e-12);
    assert_true(fabs(fabs(v[ib]) - wb / norm) < 1e-12);
    assert_int_equal(nonzero(v, BIG), 2);
    /* "A" is lowercased to the same feature, with the same sign */
    assert_true(fabs(fabs(v[BIG + ia]) - 1) < 1e-12);
    assert_true((v[ia] > 0) == (v[BIG + ia] > 0));
    assert_int_equal(nonzero(v + BIG, BIG), 1);
    free(v);
}

static void test_raw_counts(void **state)
{
    (void)state;
    hv_opts o = {.dim = BIG, .ngram = 1};
    const char *t[1] = {"x, x; y!!"};
    double *v = calloc(BIG, sizeof *v);
    assert_int_equal(hv_embed(t, 1, &o, v), 0);
    assert_true(fabs(fabs(v[bucket("x", BIG)]) - 2) < 1e-12);
    assert_true(fabs(fabs(v[bucket("y", BIG)]) - 1) < 1e-12);
    assert_int_equal(nonzero(v, BIG), 2);
    /* sublinear: 1 + ln 2 */
    memset(v, 0, BIG * sizeof *v);
    o.sublinear_tf = true;
    assert_int_equal(hv_embed(t, 1, &o, v), 0);
    assert_true(fabs(fabs(v[bucket("x", BIG)]) - (1 + log(2))) < 1e-12);
    free(v);
}

static void test_ngrams_utf8_empty(void **state)
{
    (void)state;
    hv_opts o = defaults;
    o.ngram = 2;
    o.idf = false;
    const char *t[3] = {"Caf\xc3\xa9 au lait", "", NULL};
    double *v = calloc(3 * BIG, sizeof *v);
    assert_int_equal(hv_embed(t, 3, &o, v), 0);
    /* 3 unigrams + 2 bigrams, all weight 1 before normalising */
    assert_int_equal(nonzero(v, BIG), 5);
    assert_true(v[bucket("caf\xc3\xa9", BIG)] != 0);
    assert_true(v[bucket("caf\xc3\xa9 au", BIG)] != 0);
    assert_true(v[bucket("au lait", BIG)] != 0);
    assert_true(fabs(fabs(v[bucket("lait", BIG)]) - 1 / sqrt(5)) < 1e-12);
    assert_int_equal(nonzero(v + BIG, BIG), 0);
    assert_int_equal(nonzero(v + 2 * BIG, BIG), 0);
    free(v);
}

static void test_deterministic_small_dim(void **state)
{
    (void)state;
    hv_opts o = defaults;
    o.dim = 16;
    const char *t[3] = {"the quick brown fox", "THE QUICK BROWN FOX",
                        "jumps over the lazy dog"};
    double v[48] = {0}, w[48] = {0};
    assert_int_equal(hv_embed(t, 3, &o, v), 0);
    assert_int_equal(hv_embed(t, 3, &o, w), 0);
    assert_memory_equal(v, w, sizeof v);
    assert_memory_equal(v, v + 16, 16 * sizeof *v);
    double n2 = 0;
    for (int d = 0; d < 16; d++)
        n2 += v[32 + d] * v[32 + d];
    assert_true(fabs(n2 - 1) < 1e-12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tfidf_by_hand),
        cmocka_unit_test(test_raw_counts),
        cmocka_unit_test(test_ngrams_utf8_empty),
        cmocka_unit_test(test_deterministic_small_dim),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
