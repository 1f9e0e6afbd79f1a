/*
 * test_oom.c - out of memory is an error, never a crash: every text
 * metric kernel runs against an allocator that fails after N calls, for
 * every N until it succeeds, and must return ASSAY_ENOMEM (or succeed)
 * and leave its work space freeable.  The kernels are compiled into this
 * test with malloc/calloc/realloc renamed to the counting versions below
 * (see meson.build); run it under AddressSanitizer to check for leaks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "bleu_score.h"
#include "chrf_score.h"
#include "qa_score.h"
#include "rouge_score.h"
#include "ter_score.h"

/* The counting allocator the kernels call (they are compiled with
 * -Dmalloc=tct_malloc and so on; this file is not). */
void *tct_malloc(size_t n);
void *tct_calloc(size_t n, size_t m);
void *tct_realloc(void *p, size_t n);

static long budget = -1; /* allocations left; -1: unlimited */
static long calls;

static bool take(void)
{
    calls++;
    if (budget < 0)
        return true;
    if (budget == 0)
        return false;
    budget--;
    return true;
}

void *tct_malloc(size_t n)
{
    return take() ? malloc(n) : NULL;
}

void *tct_calloc(size_t n, size_t m)
{
    return take() ? calloc(n, m) : NULL;
}

void *tct_realloc(void *p, size_t n)
{
    return take() ? realloc(p, n) : NULL;
}

static const tc_str hyp = {"The café on Rue de l'Église serves crème "
                           "brûlée for 4.50 tourists, naïve \"pay\" 7.",
                           84};
static const tc_str refs[2] = {
    {"The café on Rue de l'Église serves crème brûlée for 4.50, naïve "
     "tourists pay 7.", 83},
    {"A café serves 4.50 crème brûlée.\nTourists pay.", 50}};

typedef int (*kernel)(void);

static int k_bleu(void)
{
    bleu_worker w = {0};
    bleu_config cfg = {TC_TOK_13A, true, 4};
    bleu_stats st;
    int rc = bleu_segment(&w, &cfg, &hyp, refs, 2, &st);
    if (rc == 0) {
        bleu_config intl = {TC_TOK_INTL, false, 6};
        rc = bleu_segment(&w, &intl, &hyp, refs, 2, &st);
    }
    bleu_worker_free(&w);
    return rc;
}

static int k_chrf(void)
{
    chrf_worker w = {0};
    chrf_config cfg = {6, 2, 2.0, true, false, false};
    int64_t st[CHRF_MAX_STATS];
    int rc = chrf_segment(&w, &cfg, &hyp, refs, 2, st);
    chrf_worker_free(&w);
    return rc;
}

static int k_ter(void)
{
    ter_worker w = {0};
    ter_config cfg = {true, true, true, false};
    int64_t e;
    double len;
    int rc = ter_segment(&w, &cfg, &hyp, refs, 2, &e, &len);
    ter_worker_free(&w);
    return rc;
}

static int k_rouge(void)
{
    rouge_worker w = {0};
    rouge_config cfg = {0};
    cfg.stem = true;
    const char *types[] = {"rouge1", "rouge2", "rougeL", "rougeLsum"};
    for (int k = 0; k < 4; k++)
        rouge_type_parse(types[k], &cfg.types[cfg.ntypes++]);
    rouge_prf out[4];
    int rc = rouge_multi(&w, &cfg, &hyp, refs, 2, out);
    rouge_worker_free(&w);
    return rc;
}

static int k_qa(void)
{
    qa_worker w = {0};
    double em, f1;
    int rc = qa_score(&w, &hyp, refs, 2, false, &em, &f1);
    qa_worker_free(&w);
    return rc;
}

static void run_kernel(kernel k, const char *name)
{
    budget = -1;
    calls = 0;
    assert_int_equal(k(), 0);
    long total = calls;
    assert_true(total > 0);
    for (long n = 0; n < total; n++) {
        budget = n;
        int rc = k();
        if (rc != 0 && rc != ASSAY_ENOMEM)
            fail_msg("%s with %ld allocations: rc %d", name, n, rc);
    }
    budget = total;
    assert_int_equal(k(), 0);
    budget = -1;
}

static void test_oom(void **state)
{
    (void)state;
    run_kernel(k_bleu, "bleu");
    run_kernel(k_chrf, "chrf");
    run_kernel(k_ter, "ter");
    run_kernel(k_rouge, "rouge");
    run_kernel(k_qa, "qa");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_oom)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
