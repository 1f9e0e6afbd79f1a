/*
 * chrf_score.h - chrF and chrF++ as sacreBLEU 2.x computes them:
 * character n-grams (code points, whitespace removed unless asked) and
 * optional word n-grams (with sacreBLEU's simple punctuation split),
 * per-order [hyp, ref, match] statistics of the best reference (highest
 * F), and the F-beta score averaged over the effective orders.
 */
#ifndef CHRF_SCORE_H
#define CHRF_SCORE_H

#include "textcommon.h"

#define CHRF_MAX_CHAR 12
#define CHRF_MAX_WORD 6
#define CHRF_MAX_STATS (3 * (CHRF_MAX_CHAR + CHRF_MAX_WORD))

typedef struct chrf_config {
    int char_order;     /* 1..CHRF_MAX_CHAR (6) */
    int word_order;     /* 0..CHRF_MAX_WORD (0: chrF, 2: chrF++) */
    double beta;        /* 2 */
    bool lowercase;     /* case-insensitive */
    bool whitespace;    /* keep whitespace in character n-grams */
    bool eps_smoothing; /* chrF++.py-style averaging over all orders */
} chrf_config;

/* Number of statistics: 3 per order. */
static inline int chrf_nstats(const chrf_config *c)
{
    return 3 * (c->char_order + c->word_order);
}

/* Per-thread work space (zero-initialise, then free). */
typedef struct chrf_worker {
    tc_buf low, hyp_s, ref_s, hyp_w, ref_w;
    uint32_t *hcp, *rcp; /* code point byte offsets */
    size_t hcp_cap, rcp_cap;
    tc_words hw, rw;
    tc_gtab tab_c, tab_w;
} chrf_worker;

void chrf_worker_free(chrf_worker *w);

/* Statistics of the best reference (out: chrf_nstats values). */
int chrf_segment(chrf_worker *w, const chrf_config *cfg, const tc_str *hyp,
                 const tc_str *refs, size_t nrefs, int64_t *out);

/* Score 0..100 from (summed) statistics. */
double chrf_fscore(const chrf_config *cfg, const double *stats);

#endif /* CHRF_SCORE_H */
