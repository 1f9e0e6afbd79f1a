/*
 * qa_score.h - exact match and token F1 with the SQuAD evaluation
 * script's answer normalisation: Python lowercase, ASCII punctuation
 * removed, the articles a/an/the removed as whole (Unicode) words,
 * whitespace collapsed.
 */
#ifndef QA_SCORE_H
#define QA_SCORE_H

#include "textcommon.h"

/* Per-thread work space (zero-initialise, then free). */
typedef struct qa_worker {
    tc_buf low, a, b;
    tc_buf tp, tg;
    tc_words wp, wg;
    tc_gtab tab;
} qa_worker;

void qa_worker_free(qa_worker *w);

/* Normalized tokens of s (normalize_answer(s).split()); they point into
 * `text`. */
int qa_tokens(qa_worker *w, const char *s, size_t n, tc_buf *text,
              tc_words *out);

/*
 * Exact match (0/1) and token F1 (0..1) of a prediction against gold
 * answers, each the maximum over the answers.  No answer counts as one
 * empty answer (SQuAD 2.0).  `v1` follows SQuAD 1.1, where an empty
 * prediction or answer scores F1 0; otherwise (2.0) F1 is 1 when both are
 * empty.
 */
int qa_score(qa_worker *w, const tc_str *pred, const tc_str *gold,
             size_t ngold, bool v1, double *em, double *f1);

#endif /* QA_SCORE_H */
