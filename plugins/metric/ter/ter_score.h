/*
 * ter_score.h - Translation Edit Rate as sacreBLEU 2.x computes it (its
 * Tercom re-implementation): the Tercom tokenizer options, greedy block
 * shifts ranked as Tercom ranks them, and a beam-limited word edit
 * distance around the length-scaled diagonal.
 */
#ifndef TER_SCORE_H
#define TER_SCORE_H

#include "textcommon.h"

typedef struct ter_config {
    bool normalized;     /* Tercom's western (and Asian) normalization */
    bool no_punct;       /* remove punctuation */
    bool asian_support;  /* split CJK characters (with normalized/punct) */
    bool case_sensitive; /* default false: lowercase everything */
} ter_config;

/* Per-thread work space (zero-initialise, then free). */
typedef struct ter_worker {
    tc_buf b0, b1, b2;
    tc_buf *rtext;
    size_t n_rtext;
    tc_words hw, rw;
    size_t *roff;
    tc_gtab ids;
    int32_t *h, *r, *cur, *cand, *best, *prev;
    size_t cap_h, cap_r;
    int32_t *cost;
    char *op;
    size_t cap_mat;
    size_t prev_rows; /* valid rows cached for `prev` (0: none) */
    int32_t *align;
    char *trace, *herr, *rerr;
    size_t cap_tr;
} ter_worker;

void ter_worker_free(ter_worker *w);

/* Tokenize like sacreBLEU's TercomTokenizer (after rstrip) into words. */
int ter_tokenize(ter_worker *w, const ter_config *cfg, const tc_str *s,
                 tc_buf *text, tc_words *out);

/*
 * Edits (shifts + edit distance) turning hypothesis ids h[nh] into
 * reference ids r[nr] (translation_edit_rate); nr == 0 gives nh.
 */
int ter_edits(ter_worker *w, const int32_t *h, size_t nh, const int32_t *r,
              size_t nr, int64_t *edits);

/* Fewest edits over the references and the average reference length. */
int ter_segment(ter_worker *w, const ter_config *cfg, const tc_str *hyp,
                const tc_str *refs, size_t nrefs, int64_t *num_edits,
                double *ref_len);

/* 100 * edits / ref_len; 100 when ref_len is 0 and edits > 0, else 0. */
double ter_score(double num_edits, double ref_len);

#endif /* TER_SCORE_H */
