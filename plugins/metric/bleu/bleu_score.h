/*
 * bleu_score.h - BLEU as sacreBLEU 2.x computes it: sufficient statistics
 * per segment (clipped n-gram matches against the maximum count over the
 * references, closest reference length with ties to the shorter one) and
 * the score from summed statistics with its smoothing methods.
 */
#ifndef BLEU_SCORE_H
#define BLEU_SCORE_H

#include "textcommon.h"

#define BLEU_MAX_ORDER 8

typedef enum bleu_smooth {
    BLEU_SMOOTH_NONE = 0,
    BLEU_SMOOTH_FLOOR,
    BLEU_SMOOTH_ADDK,
    BLEU_SMOOTH_EXP
} bleu_smooth;

/* Segment (or summed corpus) statistics. */
typedef struct bleu_stats {
    int64_t sys_len, ref_len;
    int64_t correct[BLEU_MAX_ORDER];
    int64_t total[BLEU_MAX_ORDER];
} bleu_stats;

/* What BLEU reports (sacreBLEU's BLEUScore fields). */
typedef struct bleu_result {
    double score;                       /* 0..100 */
    double counts[BLEU_MAX_ORDER];      /* after add-k smoothing */
    double totals[BLEU_MAX_ORDER];
    double precisions[BLEU_MAX_ORDER];  /* percent */
    double bp, ratio;
    int64_t sys_len, ref_len;
} bleu_result;

typedef struct bleu_config {
    tc_tokenizer tokenizer;
    bool lowercase;
    int order;                 /* max n-gram order, 1..BLEU_MAX_ORDER */
} bleu_config;

/* A packed n-gram key and its counters (see bleu_score.c). */
typedef struct bleu_ikey {
    uint64_t key;
    uint32_t epoch;
    int32_t a, b, c, d;
} bleu_ikey;

/* A token of the per-segment vocabulary (see bleu_score.c). */
typedef struct bleu_vkey {
    uint64_t h;
    const tc_word *w;
    uint32_t epoch;
    uint16_t id;
} bleu_vkey;

/* Per-thread work space of bleu_segment (zero-initialise, then free). */
typedef struct bleu_worker {
    tc_scratch scratch;
    tc_buf low, text_h;
    tc_buf *text_r;
    size_t n_text_r;
    tc_words wh, wr;
    size_t *roff;
    size_t n_roff;
    tc_gtab tab;
    bleu_ikey *itab;
    size_t icap, ialloc;
    uint32_t iepoch;
    unsigned ishift;
    uint16_t *ids;
    size_t ncap_ids;
    bleu_vkey *vtab;
    size_t valloc;
    uint32_t vepoch;
} bleu_worker;

void bleu_worker_free(bleu_worker *w);

/* Statistics of one hypothesis against `nrefs` references. */
int bleu_segment(bleu_worker *w, const bleu_config *cfg, const tc_str *hyp,
                 const tc_str *refs, size_t nrefs, bleu_stats *out);

/* The same through the general n-gram table (token comparisons), for
 * tests: bleu_segment uses packed integer keys when it can. */
int bleu_segment_ref(bleu_worker *w, const bleu_config *cfg,
                     const tc_str *hyp, const tc_str *refs, size_t nrefs,
                     bleu_stats *out);

/* Add b into a. */
void bleu_stats_add(bleu_stats *a, const bleu_stats *b);

/* Compact per-item storage: sys_len, ref_len, correct[order],
 * total[order] as 32-bit integers (bleu_packed_size(order) of them). */
static inline size_t bleu_packed_size(int order)
{
    return 2 + 2 * (size_t)order;
}
void bleu_stats_pack(const bleu_stats *s, int order, int32_t *out);
void bleu_stats_unpack(const int32_t *in, int order, bleu_stats *s);
/* sum += unpack(in) */
void bleu_stats_add_packed(bleu_stats *sum, const int32_t *in, int order);

/*
 * The score from statistics.  `smooth_value` < 0 picks the method's
 * default (floor 0.1, add-k 1).  `effective_order` scales the geometric
 * mean to the highest order with hypothesis n-grams (sentence BLEU).
 */
void bleu_compute(const bleu_stats *st, int order, bleu_smooth smooth,
                  double smooth_value, bool effective_order,
                  bleu_result *out);

/* Smoothing method by sacreBLEU name ("none", "floor", "add-k", "exp"). */
bool bleu_smooth_from_name(const char *name, bleu_smooth *out);
const char *bleu_smooth_name(bleu_smooth s);

#endif /* BLEU_SCORE_H */
