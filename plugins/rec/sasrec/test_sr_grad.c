/*
 * Gradient check of the rec.sasrec network: the hand-written backward
 * pass (sr_net.c, compiled here in double precision) must agree with
 * central finite differences of the loss for every parameter, with and
 * without dropout, on a packed batch of sequences of different lengths.
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

#include "sr_net.h"

typedef struct fixture {
    sr_config cfg;
    sr_params p, g, scratch;
    sr_work *w;
    rc_pool *pool;
    size_t off[4];
    uint32_t items[16], targets[16];
    sr_batch b;
} fixture;

static void setup_fixture(fixture *f, double dropout, unsigned threads)
{
    memset(f, 0, sizeof *f);
    f->cfg = (sr_config){.n_items = 11,
                         .d = 8,
                         .heads = 2,
                         .layers = 2,
                         .inner = 12,
                         .max_len = 6,
                         .dropout = dropout};
    assert_int_equal(sr_params_alloc(&f->p, &f->cfg), 0);
    assert_int_equal(sr_params_alloc(&f->g, &f->cfg), 0);
    assert_int_equal(sr_params_alloc(&f->scratch, &f->cfg), 0);
    assay_rng r;
    assay_rng_init(&r, 12345);
    sr_params_init(&f->p, &f->cfg, 0.4, &r);
    /* non-trivial LayerNorm gains and biases, so their gradients and
     * their effect on the others are exercised */
    for (size_t i = 0; i < f->p.count; i++)
        if (f->p.data[i] == 1.0)
            f->p.data[i] = 1.0 + 0.3 * assay_rng_normal(&r);
        else if (f->p.data[i] == 0.0)
            f->p.data[i] = 0.2 * assay_rng_normal(&r);
    /* three sequences of lengths 6, 3 and 1 */
    f->off[0] = 0;
    f->off[1] = 6;
    f->off[2] = 9;
    f->off[3] = 10;
    for (size_t t = 0; t < 10; t++) {
        f->items[t] = (uint32_t)assay_rng_below(&r, f->cfg.n_items);
        f->targets[t] = (uint32_t)assay_rng_below(&r, f->cfg.n_items);
    }
    f->b = (sr_batch){3, f->off, f->items, f->targets};
    assert_int_equal(sr_work_new(&f->cfg, 16, 4, threads, &f->w), 0);
    assay_error err;
    assert_int_equal(rc_pool_new(threads, &f->pool, &err), 0);
}

static void teardown_fixture(fixture *f)
{
    sr_params_free(&f->p);
    sr_params_free(&f->g);
    sr_params_free(&f->scratch);
    sr_work_free(f->w);
    rc_pool_free(f->pool);
}

static double loss_at(fixture *f, uint64_t seed)
{
    double loss = 0.0;
    assert_int_equal(
        sr_forward(&f->cfg, &f->p, f->w, &f->b, true, seed, f->pool), 0);
    memset(f->scratch.data, 0, f->scratch.count * sizeof(double));
    assert_int_equal(
        sr_backward(&f->cfg, &f->p, f->w, &f->b, &f->scratch, &loss, f->pool),
        0);
    return loss;
}

static void check_gradients(double dropout, unsigned threads)
{
    fixture f;
    setup_fixture(&f, dropout, threads);
    const uint64_t seed = 777;
    double loss = 0.0;
    assert_int_equal(sr_forward(&f.cfg, &f.p, f.w, &f.b, true, seed, f.pool),
                     0);
    assert_int_equal(sr_backward(&f.cfg, &f.p, f.w, &f.b, &f.g, &loss, f.pool),
                     0);
    assert_true(isfinite(loss) && loss > 0);
    const double h = 1e-6;
    size_t bad = 0, nonzero = 0;
    double worst = 0.0;
    for (size_t i = 0; i < f.p.count; i++) {
        double keep = f.p.data[i];
        f.p.data[i] = keep + h;
        double lp = loss_at(&f, seed);
        f.p.data[i] = keep - h;
        double lm = loss_at(&f, seed);
        f.p.data[i] = keep;
        double num = (lp - lm) / (2 * h), ana = f.g.data[i];
        double tol = 1e-7 + 1e-5 * fmax(fabs(num), fabs(ana));
        double e = fabs(num - ana);
        if (fabs(num) > 1e-9)
            nonzero++;
        if (e > tol) {
            if (bad < 5)
                fprintf(stderr, "param %zu: numeric %.10g analytic %.10g\n", i,
                        num, ana);
            bad++;
        }
        double scale = fmax(fabs(num), fabs(ana));
        if (scale > 1e-6 && e / scale > worst)
            worst = e / scale;
    }
    fprintf(stderr,
            "dropout %.1f, %u thread(s): %zu parameters, %zu with a "
            "gradient, %zu mismatches, worst relative error %.2e\n",
            dropout, threads, f.p.count, nonzero, bad, worst);
    assert_int_equal(bad, 0);
    /* the check must be meaningful: most parameters carry gradient */
    assert_true(nonzero > f.p.count / 2);
    teardown_fixture(&f);
}

static void test_gradients_no_dropout(void **state)
{
    (void)state;
    check_gradients(0.0, 1);
}

static void test_gradients_dropout_threads(void **state)
{
    (void)state;
    check_gradients(0.3, 2);
}

/* A deliberately wrong gradient must be caught by the same comparison:
 * perturbing one analytic entry makes the check fail. */
static void test_check_detects_errors(void **state)
{
    (void)state;
    fixture f;
    setup_fixture(&f, 0.0, 1);
    double loss;
    assert_int_equal(sr_forward(&f.cfg, &f.p, f.w, &f.b, true, 1, NULL), 0);
    assert_int_equal(sr_backward(&f.cfg, &f.p, f.w, &f.b, &f.g, &loss, NULL),
                     0);
    size_t i = f.p.count / 2;
    double keep = f.p.data[i];
    f.p.data[i] = keep + 1e-6;
    double lp = loss_at(&f, 1);
    f.p.data[i] = keep - 1e-6;
    double lm = loss_at(&f, 1);
    f.p.data[i] = keep;
    double num = (lp - lm) / 2e-6;
    assert_true(fabs(num - f.g.data[i]) < 1e-6);
    assert_false(fabs(num - (f.g.data[i] * 1.01 + 1e-4)) < 1e-6);
    teardown_fixture(&f);
}

/* Thread count and evaluation mode: identical losses and scores with one
 * and two workers; no dropout when not training. */
static void test_deterministic_and_eval(void **state)
{
    (void)state;
    fixture a, b;
    setup_fixture(&a, 0.5, 1);
    setup_fixture(&b, 0.5, 2);
    assert_true(fabs(loss_at(&a, 99) - loss_at(&b, 99)) < 1e-12);
    assert_true(fabs(loss_at(&a, 99) - loss_at(&a, 100)) > 1e-9);
    float sa[3 * 11], sb[3 * 11];
    sr_batch eval = a.b;
    assert_int_equal(sr_forward(&a.cfg, &a.p, a.w, &eval, false, 1, NULL), 0);
    sr_score_last(&a.cfg, &a.p, a.w, &eval, sa);
    assert_int_equal(sr_forward(&a.cfg, &a.p, a.w, &eval, false, 2, NULL), 0);
    sr_score_last(&a.cfg, &a.p, a.w, &eval, sb);
    assert_memory_equal(sa, sb, sizeof sa);
    /* last-position inference gives the same scores */
    assert_int_equal(
        sr_forward(&a.cfg, &a.p, a.w, &eval, SR_EVAL_LAST, 1, a.pool), 0);
    sr_score_last(&a.cfg, &a.p, a.w, &eval, sb);
    for (size_t i = 0; i < 3 * 11; i++)
        assert_true(fabs(sa[i] - sb[i]) < 1e-5 * (1 + fabs(sa[i])));
    /* and it refuses a backward pass */
    double loss;
    assert_int_not_equal(
        sr_backward(&a.cfg, &a.p, a.w, &eval, &a.g, &loss, a.pool), 0);
    teardown_fixture(&a);
    teardown_fixture(&b);
}

/* Adam moves a parameter against its gradient by about lr at step 1. */
static void test_adam_step(void **state)
{
    (void)state;
    fixture f;
    setup_fixture(&f, 0.0, 1);
    sr_params m, v;
    assert_int_equal(sr_params_alloc(&m, &f.cfg), 0);
    assert_int_equal(sr_params_alloc(&v, &f.cfg), 0);
    memset(f.g.data, 0, f.g.count * sizeof(double));
    f.g.data[0] = 3.0;
    f.g.data[1] = -0.5;
    double p0 = f.p.data[0], p1 = f.p.data[1], p2 = f.p.data[2];
    sr_adam(&f.p, &f.g, &m, &v, 0.01, 0.9, 0.999, 1e-8, 0.0, 1);
    assert_true(fabs((p0 - f.p.data[0]) - 0.01) < 1e-6);
    assert_true(fabs((f.p.data[1] - p1) - 0.01) < 1e-6);
    assert_true(fabs(f.p.data[2] - p2) < 1e-12);
    sr_params_free(&m);
    sr_params_free(&v);
    teardown_fixture(&f);
}

/* The vectorisable exponential of the float build against libm. */
static void test_softmax_exp(void **state)
{
    (void)state;
    double worst = 0;
    for (double x = -87.0; x <= 0.0; x += 0.00123) {
        double want = exp((double)(float)x);
        double got = sr_softmax_exp((float)x);
        double rel = fabs(got - want) / want;
        if (rel > worst)
            worst = rel;
    }
    fprintf(stderr, "softmax exp: worst relative error %.2e\n", worst);
    assert_true(worst < 5e-7);
    assert_true(sr_softmax_exp(-200.0f) >= 0.0f);
    assert_true(sr_softmax_exp(-200.0f) < 1e-37f);
    assert_true(sr_softmax_exp(0.0f) == 1.0f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradients_no_dropout),
        cmocka_unit_test(test_gradients_dropout_threads),
        cmocka_unit_test(test_check_detects_errors),
        cmocka_unit_test(test_deterministic_and_eval),
        cmocka_unit_test(test_adam_step),
        cmocka_unit_test(test_softmax_exp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
