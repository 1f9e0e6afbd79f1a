/*
 * jc_verdict.h - verdict tokens in judge answers.
 *
 * Judges end their reasoning with a bracketed token: [[A]], [[B]] or
 * [[C]] (a tie) for pairwise prompts, [[7]] (or [[7/10]]) for rubric
 * scores.  The parsers take the LAST recognised token of the answer, so
 * a token quoted earlier ("I was asked to output [[A]] or [[B]]") never
 * decides; a final line holding two different verdicts ("[[A]] or [[B]]")
 * is ambiguous and therefore invalid.  A verdict word elsewhere in the
 * prose ("Assistant A is better") is never used.
 *
 * Accepted spellings inside the brackets: spaces, markdown emphasis
 * (*, _, `) and quotes around the value; a leading "Assistant",
 * "Response", "Answer", "Output" or "Model" (pairwise) or "Rating" /
 * "Score" with an optional colon (scores); the letter in either case;
 * "tie" for a tie.
 */
#ifndef JC_VERDICT_H
#define JC_VERDICT_H

#include <stdbool.h>
#include <stddef.h>

/* Pairwise verdicts (also used for gold labels). */
enum {
    JC_V_NONE = 0, /* no verdict: invalid answer or no gold */
    JC_V_A = 1,    /* the response shown first wins */
    JC_V_B = 2,    /* the response shown second wins */
    JC_V_TIE = 3
};

/* Why an answer has no verdict. */
enum {
    JC_WHY_OK = 0,
    JC_WHY_EMPTY = 1,   /* empty answer */
    JC_WHY_NOTOKEN = 2, /* no verdict token */
    JC_WHY_AMBIG = 3,   /* two different verdicts on the final line */
    JC_WHY_TIE = 4,     /* a tie where ties are not allowed */
    JC_WHY_RANGE = 5,   /* score outside the scale or not an integer */
};

/* Byte span [start, end) of a token in the answer. */
typedef struct jc_span {
    size_t start, end;
} jc_span;

/*
 * Find the next bracketed token "[[...]]" at or after byte `from`: its
 * content has at most 48 bytes and no newline.  On success fills *tok and
 * the trimmed content span *inner.  Used by the parsers and by outcome
 * removal.
 */
bool jc_token_next(const char *text, size_t from, jc_span *tok, jc_span *inner);

/*
 * Classify a token's content as a pairwise verdict: JC_V_A, JC_V_B,
 * JC_V_TIE ("C" or "tie") or JC_V_NONE; *letter gets the upper-case
 * letter for single-letter tokens (any A-Z, e.g. a relabelled "X"), or 0.
 */
int jc_token_pair(const char *s, size_t n, char *letter);

/*
 * Parse a pairwise answer.  Returns JC_V_A, JC_V_B, JC_V_TIE (only when
 * `ties`), or JC_V_NONE with *why set.  *where (may be NULL) gets the
 * deciding token's span.
 */
int jc_parse_pair(const char *text, bool ties, int *why, jc_span *where);

/*
 * Parse a score answer on the integer scale [lo, hi].  Returns true with
 * *score set, or false with *why set.  "[[n/hi]]" is accepted; any other
 * denominator, a fraction or a value outside the scale is JC_WHY_RANGE.
 */
bool jc_parse_score(const char *text, long lo, long hi, long *score, int *why,
                    jc_span *where);

/* "ok", "empty", "no verdict token", "ambiguous", "tie not allowed",
 * "out of range". */
const char *jc_why_name(int why);

/* "A", "B", "tie", or NULL for JC_V_NONE. */
const char *jc_verdict_name(int v);

/* The verdict as seen with the two responses swapped (A<->B). */
int jc_verdict_flip(int v);

#endif
