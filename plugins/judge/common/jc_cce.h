/*
 * jc_cce.h - the pure parts of Crowd-based Comparative Evaluation (CCE):
 * which crowd judgments to keep, how to relabel them, how to strip their
 * outcome, and how to assemble the related-judgments context of the final
 * judgment.  Also the vote helpers shared by the pairwise judges (Maj@k,
 * swap agreement).  No I/O, no LLM: everything here is unit-tested.
 *
 * Vocabulary.  A pair has two candidates, A (output_1) and B (output_2).
 * A crowd judgment compares one candidate with one crowd response; the
 * candidate sits in the first or the second position and the judge's
 * verdict names a position (JC_V_A = first, JC_V_B = second).
 */
#ifndef JC_CCE_H
#define JC_CCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One crowd judgment. */
typedef struct jc_cjudg {
    int cand;         /* 0: candidate A, 1: candidate B */
    int cand_pos;     /* 0: the candidate was shown first, 1: second */
    size_t crowd;     /* index of the crowd response */
    char letter;      /* label of the crowd response ('C', 'D', ...) */
    int verdict;      /* JC_V_A / JC_V_B (positions), JC_V_NONE: invalid */
    const char *text; /* the judge's answer (borrowed) */
} jc_cjudg;

/* Selection strategies. */
enum {
    JC_SEL_CRITICIZING = 0, /* keep judgments the candidate lost */
    JC_SEL_PRAISING = 1,    /* keep judgments the candidate won */
    JC_SEL_RANDOM = 2,      /* any judgment with a verdict */
    JC_SEL_BALANCED = 3     /* half lost, half won */
};

/* Strategy from its name; -1 when unknown. */
int jc_cce_strategy(const char *name);

/* True when the candidate lost (won) judgment `j`. */
bool jc_cce_lost(const jc_cjudg *j);
bool jc_cce_won(const jc_cjudg *j);

/*
 * Choose up to `budget` judgments.  The budget is split between the
 * candidates: floor(K/2) judgments involving candidate B and the rest
 * involving candidate A.  Within each candidate's pool the strategy's
 * judgments are shuffled with an RNG seeded by `seed` (so the choice does
 * not depend on the order answers arrived in: pass judgments in a fixed
 * order) and the first ones taken; a pool with fewer than its share gives
 * what it has (no refill from the other pool).  Balanced takes
 * share - floor(share/2) lost and floor(share/2) won judgments.
 * Invalid judgments (no verdict) are never chosen.  `out` (room for `n`)
 * receives indices into `j`, candidate B's first; *nout their count.
 * Returns 0 or ASSAY_ENOMEM.
 */
int jc_cce_select(const jc_cjudg *j, size_t n, int strategy, size_t budget,
                  uint64_t seed, size_t *out, size_t *nout);

/*
 * Relabel a judgment so that its position letters name who sat there:
 * "Assistant A"/"Response A"/... (keyword any case, letter upper case,
 * whole word) and tokens [[A]] become `first`, those of B `second`, in
 * one pass.  With `strip_outcome` the verdict segment is then removed
 * (jc_cce_strip_outcome).  *out is a new string (caller frees).
 */
int jc_cce_rewrite(const char *text, char first, char second,
                   bool strip_outcome, char **out);

/*
 * Outcome removal: delete the final verdict and every verdict token.
 * The line holding the last verdict token goes when it is a verdict
 * statement (it mentions a verdict or "final", or has at most 12 words
 * besides the token); otherwise only the sentence ending in the token
 * goes.  A trailing heading left behind ("Final verdict:") goes too, and
 * any other [[X]] token is deleted.  *out is a new string.
 */
int jc_cce_strip_outcome(const char *text, char **out);

/*
 * The related-judgments block of the final prompt: the chosen judgments
 * in order, each as "N. Comparison of Assistant X and Assistant Y:"
 * followed by the rewritten text, separated by blank lines.  Candidate
 * A's label is 'A', candidate B's 'B', a crowd response's its letter.
 * *out is a new string ("" for no judgments).
 */
int jc_cce_context(const jc_cjudg *j, const size_t *sel, size_t nsel,
                   bool strip_outcome, char **out);

/* True when `text` still holds a pairwise verdict token ([[A]], [[X]],
 * [[tie]], ...). */
bool jc_cce_has_token(const char *text);

/* ---- votes ------------------------------------------------------------ */

/*
 * Maj@k: the most frequent verdict among `n` (JC_V_NONE entries are
 * invalid samples and do not vote); a split between the top verdicts is
 * a tie; JC_V_NONE when no sample has a verdict.
 */
int jc_majority(const int *v, size_t n);

/* What a swapped pair reports when its two orders disagree. */
enum { JC_SWAP_TIE = 0, JC_SWAP_FIRST = 1, JC_SWAP_INVALID = 2 };

/*
 * Combine the verdict of the original order `v1` with the verdict of the
 * swapped order `v2` already mapped back to the original labels.  Equal
 * verdicts are reported; disagreeing ones per `policy`; JC_V_NONE when
 * either order has no verdict.  *consistent (may be NULL) is set when
 * both orders have a verdict.
 */
int jc_swap_combine(int v1, int v2, int policy, bool *consistent);

#endif
