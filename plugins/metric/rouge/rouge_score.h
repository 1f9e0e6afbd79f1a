/*
 * rouge_score.h - ROUGE-N, ROUGE-L and ROUGE-Lsum as Google's rouge-score
 * computes them: its tokenizer (Python lowercase, every run of characters
 * outside [a-z0-9] is a separator, optional Porter stemming of tokens
 * longer than 3 characters), clipped n-gram overlap, LCS, and the
 * summary-level union LCS over newline-separated sentences with the
 * no-double-counting rule of ROUGE-1.5.5.
 */
#ifndef ROUGE_SCORE_H
#define ROUGE_SCORE_H

#include "textcommon.h"

#define ROUGE_MAX_TYPES 16

typedef enum rouge_kind { ROUGE_N = 1, ROUGE_L, ROUGE_LSUM } rouge_kind;

typedef struct rouge_type {
    rouge_kind kind;
    int n; /* ROUGE_N only: 1..9 */
    char name[16];
} rouge_type;

typedef struct rouge_config {
    bool stem;
    int ntypes;
    rouge_type types[ROUGE_MAX_TYPES];
} rouge_config;

/* Parse "rouge1".."rouge9", "rougeL", "rougeLsum"; false if unknown. */
bool rouge_type_parse(const char *name, rouge_type *out);

typedef struct rouge_prf {
    double p, r, f;
} rouge_prf;

/* A tokenized text: tokens (pointing into `text`), integer ids, and the
 * token range of each non-empty line (for rougeLsum). */
typedef struct rouge_doc {
    tc_buf text;
    tc_words w;
    int32_t *id;
    size_t cap_id;
    size_t *line; /* nlines+1 token offsets */
    size_t nlines, cap_line;
} rouge_doc;

/* Per-thread work space (zero-initialise, then free). */
typedef struct rouge_worker {
    rouge_doc pred, tgt;
    tc_gtab ids, grams;
    int32_t *tab;
    size_t cap_tab;
    int32_t *cnt_r, *cnt_c;
    size_t cap_cnt;
    uint8_t *mark;
    size_t cap_mark;
} rouge_worker;

void rouge_worker_free(rouge_worker *w);

/* rouge-score's tokenize(): tokens of s[0..n) appended to doc->w, lines
 * recorded; stemming when `stem`. */
int rouge_tokenize(const char *s, size_t n, bool stem, rouge_doc *doc);

/* Scores of prediction against one target, for every configured type. */
int rouge_pair(rouge_worker *w, const rouge_config *cfg, const tc_str *target,
               const tc_str *pred, rouge_prf *out);

/* Against several targets: per type the target with the highest F
 * (first on ties), as RougeScorer.score_multi. */
int rouge_multi(rouge_worker *w, const rouge_config *cfg, const tc_str *pred,
                const tc_str *targets, size_t ntargets, rouge_prf *out);

#endif /* ROUGE_SCORE_H */
