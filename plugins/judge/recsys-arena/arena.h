/*
 * plugins/judge/recsys-arena/arena.h - verdicts, swap logic and
 * statistics of judge.recsys-arena (RecSys Arena, Wu et al., arXiv
 * 2412.11068): the multi-aspect verdict parser, the combination of the
 * two presentation orders, Q = (wins_A + ties) / (wins_B + ties) with a
 * bootstrap interval, and rank correlations between orderings.
 * Prefix: ar_.
 */
#ifndef ASSAY_ARENA_H
#define ASSAY_ARENA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The aspects, in the prompt's order. */
enum {
    AR_ACCURACY = 0,
    AR_SATISFACTION,
    AR_INSPIRING,
    AR_QUALITY,
    AR_EXPLAINABILITY,
    AR_IMPACT,
    AR_OVERALL,
    AR_NASPECTS
};

/* Verdicts. */
enum { AR_NONE = 0, AR_A = 1, AR_B = 2, AR_TIE = 3 };

/* Key of aspect `a` ("accuracy", ..., "overall"). */
const char *ar_aspect_key(int a);

/* Display name ("Accuracy", ..., "Explainability/Transparency",
 * "Overall Winner"). */
const char *ar_aspect_name(int a);

/* "A", "B", "tie" or NULL. */
const char *ar_verdict_name(int v);

/*
 * Parse a judge's answer: for every aspect, the verdict of the LAST
 * statement "<aspect>: <verdict>" in the text.  Statements are split at
 * line ends, ';', ',', '|' and ". "; a statement counts when it starts
 * (after list markers and markdown) with the aspect's name or an alias
 * (Inspiration, Quality, Explainability, Transparency, Impact on users,
 * Overall, Overall Winner, Final verdict, ...), optionally followed by a
 * parenthesis or "winner", then ':', '-', '=' or "is", then the verdict:
 * "A wins", "B wins", "A", "System B", "Recommendation System A wins",
 * "tie", "draw", in quotes, brackets or emphasis.  A statement that
 * names two different verdicts ("'A wins'|'B wins'|'tie'", as in an
 * echoed format line) is ambiguous and ignored.  v[a] gets AR_A, AR_B,
 * AR_TIE or AR_NONE; returns how many aspects have a verdict.
 */
int ar_parse(const char *text, int v[AR_NASPECTS]);

/* The verdict seen with A and B swapped. */
int ar_flip(int v);

/*
 * Combine the two orders of one aspect: `ab` judged with the systems in
 * their own order, `ba` judged swapped and already flipped back to the
 * original labels.  Agreement gives that verdict; disagreement a tie
 * (*consistent false); a missing verdict in either order gives AR_NONE.
 */
int ar_combine(int ab, int ba, bool *consistent);

/* Q = (wins_a + ties) / (wins_b + ties); NAN when the denominator is 0. */
double ar_q(double wins_a, double ties, double wins_b);

/*
 * Percentile bootstrap interval of Q over `n` users whose final verdicts
 * are v[0..n) (AR_NONE entries are resampled too and count nowhere, as
 * in the point estimate).  Resamples with an undefined Q are skipped;
 * *used gets the number kept.  lo/hi NAN when none is kept.
 */
void ar_q_ci(const int *v, size_t n, unsigned resamples, double level,
             uint64_t seed, double *lo, double *hi, unsigned *used);

/* Spearman's rho (average ranks) and Kendall's tau-b of x and y; NAN
 * when undefined (n < 2 or a constant vector). */
double ar_spearman(const double *x, const double *y, size_t n);
double ar_kendall(const double *x, const double *y, size_t n);

#endif
