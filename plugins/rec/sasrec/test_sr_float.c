/*
 * The float build of the rec.sasrec network (the one the plugin runs,
 * with the vectorised softmax) against a plain double computation: with
 * no transformer block the network is LayerNorm(E[item] + P[pos]) scored
 * against E, so loss, scores and the item-embedding gradient can be
 * recomputed here independently.
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

enum { NI = 37, D = 12, ML = 5 };

/* h = LN(E[it] + P[pos]) with gain g and bias b, in double */
static void ref_hidden(const sr_params *p, uint32_t it, size_t pos, double *h)
{
    double x[D], mu = 0, var = 0;
    for (int k = 0; k < D; k++) {
        x[k] = (double)p->E[it * D + k] + p->P[pos * D + k];
        mu += x[k];
    }
    mu /= D;
    for (int k = 0; k < D; k++)
        var += (x[k] - mu) * (x[k] - mu);
    double rs = 1.0 / sqrt(var / D + 1e-5);
    for (int k = 0; k < D; k++)
        h[k] = (x[k] - mu) * rs * p->lnf_g[k] + p->lnf_b[k];
}

static void test_float_network(void **state)
{
    (void)state;
    sr_config c = {.n_items = NI,
                   .d = D,
                   .heads = 1,
                   .layers = 0,
                   .inner = 4,
                   .max_len = ML,
                   .dropout = 0.0};
    sr_params p, g;
    sr_work *w;
    assert_int_equal(sr_params_alloc(&p, &c), 0);
    assert_int_equal(sr_params_alloc(&g, &c), 0);
    assay_rng r;
    assay_rng_init(&r, 8);
    sr_params_init(&p, &c, 1.0, &r);
    for (int k = 0; k < D; k++) {
        p.lnf_g[k] = (float)(1 + 0.5 * assay_rng_normal(&r));
        p.lnf_b[k] = (float)(0.3 * assay_rng_normal(&r));
    }
    assert_int_equal(sr_work_new(&c, 16, 4, 2, &w), 0);
    rc_pool *pool;
    assay_error err;
    assert_int_equal(rc_pool_new(2, &pool, &err), 0);
    size_t off[] = {0, 5, 7, 8};
    uint32_t items[8], tg[8];
    for (int t = 0; t < 8; t++) {
        items[t] = (uint32_t)assay_rng_below(&r, NI);
        tg[t] = (uint32_t)assay_rng_below(&r, NI);
    }
    sr_batch b = {3, off, items, tg};
    double loss;
    assert_int_equal(sr_forward(&c, &p, w, &b, true, 1, pool), 0);
    assert_int_equal(sr_backward(&c, &p, w, &b, &g, &loss, pool), 0);
    /* reference loss and dE contribution of the softmax */
    double ref = 0, dE[NI * D];
    memset(dE, 0, sizeof dE);
    for (int s = 0; s < 3; s++)
        for (size_t t = off[s]; t < off[s + 1]; t++) {
            double h[D], z[NI], mx = -1e300, sum = 0;
            ref_hidden(&p, items[t], t - off[s], h);
            for (int i = 0; i < NI; i++) {
                z[i] = 0;
                for (int k = 0; k < D; k++)
                    z[i] += h[k] * p.E[i * D + k];
                mx = z[i] > mx ? z[i] : mx;
            }
            for (int i = 0; i < NI; i++)
                sum += exp(z[i] - mx);
            ref += -(z[tg[t]] - mx - log(sum)) / 8.0;
            for (int i = 0; i < NI; i++) {
                double gi = (exp(z[i] - mx) / sum - (i == (int)tg[t])) / 8;
                for (int k = 0; k < D; k++)
                    dE[i * D + k] += gi * h[k];
            }
        }
    fprintf(stderr, "loss %.7f reference %.7f\n", loss, ref);
    assert_true(fabs(loss - ref) < 1e-5 * fabs(ref));
    /* items never used as input get only the output-side gradient */
    unsigned char used[NI] = {0};
    for (int t = 0; t < 8; t++)
        used[items[t]] = 1;
    size_t compared = 0;
    for (int i = 0; i < NI; i++) {
        if (used[i])
            continue;
        for (int k = 0; k < D; k++)
            assert_true(fabs(g.E[i * D + k] - dE[i * D + k]) <
                        1e-4 * (1 + fabs(dE[i * D + k])));
        compared++;
    }
    assert_true(compared > 20);
    /* scores of the last token of each sequence */
    float out[3 * NI];
    assert_int_equal(sr_forward(&c, &p, w, &b, false, 0, pool), 0);
    sr_score_last(&c, &p, w, &b, out);
    for (int s = 0; s < 3; s++) {
        double h[D];
        ref_hidden(&p, items[off[s + 1] - 1], off[s + 1] - 1 - off[s], h);
        for (int i = 0; i < NI; i++) {
            double z = 0;
            for (int k = 0; k < D; k++)
                z += h[k] * p.E[i * D + k];
            assert_true(fabs(out[s * NI + i] - z) < 1e-4 * (1 + fabs(z)));
        }
    }
    sr_work_free(w);
    rc_pool_free(pool);
    sr_params_free(&p);
    sr_params_free(&g);
}

/* Two blocks: last-position inference equals the full forward. */
static void test_last_position_inference(void **state)
{
    (void)state;
    sr_config c = {.n_items = 53,
                   .d = 16,
                   .heads = 2,
                   .layers = 2,
                   .inner = 24,
                   .max_len = 9,
                   .dropout = 0.2};
    sr_params p;
    sr_work *w;
    rc_pool *pool;
    assay_error err;
    assert_int_equal(sr_params_alloc(&p, &c), 0);
    assay_rng r;
    assay_rng_init(&r, 3);
    sr_params_init(&p, &c, 0.3, &r);
    assert_int_equal(sr_work_new(&c, 64, 8, 2, &w), 0);
    assert_int_equal(rc_pool_new(2, &pool, &err), 0);
    size_t off[] = {0, 9, 10, 14, 23, 25};
    uint32_t items[25];
    for (int t = 0; t < 25; t++)
        items[t] = (uint32_t)assay_rng_below(&r, 53);
    sr_batch b = {5, off, items, NULL};
    float all[5 * 53], last[5 * 53];
    assert_int_equal(sr_forward(&c, &p, w, &b, SR_EVAL_ALL, 0, pool), 0);
    sr_score_last(&c, &p, w, &b, all);
    assert_int_equal(sr_forward(&c, &p, w, &b, SR_EVAL_LAST, 0, pool), 0);
    sr_score_last(&c, &p, w, &b, last);
    for (int i = 0; i < 5 * 53; i++)
        assert_true(fabsf(all[i] - last[i]) < 1e-4f * (1 + fabsf(all[i])));
    sr_work_free(w);
    rc_pool_free(pool);
    sr_params_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_float_network),
        cmocka_unit_test(test_last_position_inference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
