/*
 * st_rules.h - StepTool's step-grained rewards (Yu et al., arXiv
 * 2410.07745) and its rule annotator.
 *
 *   intermediate step t < T:  r_t = alpha * SuccCalling_t + Contribution_t
 *   final step T:             r_T = IsSolved (Solved 1, Unsure 0.5,
 *                                             Unsolved 0)
 *
 * Contribution is in [0, 1] (the rule annotator's 0/1, or an LLM's 0-5
 * score divided by 5).  Normalised rewards divide the intermediate sum by
 * alpha + 1, so every reward lies in [0, 1]; with alpha = 1 and three
 * judge runs this lands on the 1/30 grid of the rewards in StepTool's
 * PPO example data.  Returns: G_t = sum_{i >= t} gamma^(i - t) r_i.
 *
 * Rule annotator (after StepTool's annotation notebook):
 *   SuccCalling  the tool message is JSON {"error", "response"}: an
 *                error that is not "" fails; a dict response fails when
 *                its status is 400; list, number and boolean responses
 *                succeed; a string response fails when it contains
 *                "wrong", "error" or "is empty" or starts with "Please"
 *                (case-insensitive here); an empty or missing response
 *                fails when empty_fails is set.  Tool messages cut off
 *                mid-JSON (ToolBench truncates them) are read
 *                leniently: the error string, then the response's first
 *                character decides its kind.
 *   Contribution LCS(response, final answer) / len(response) >= the
 *                threshold (0.3) gives 1, else 0; LCS over Unicode
 *                characters (or words), len in the same units, response
 *                = the tool's inner response text.
 */
#ifndef ST_RULES_H
#define ST_RULES_H

#include <stdbool.h>
#include <stddef.h>

/* 1 or 0 for a tool message; *why is a static reason ("error",
 * "status 400", "string", "empty", "ok: list", ...). */
int st_succ_rule(const char *response, bool empty_fails, const char **why);

/* The inner response of a tool message as text (the "response" value of
 * {"error", "response"}, leniently for cut-off text).  Caller frees;
 * NULL on ENOMEM. */
char *st_response_text(const char *response);

/* Decode a JSON string body starting just after its opening quote,
 * stopping at the closing quote or the end of the text (cut-off
 * strings).  *end (may be NULL) is set after the closing quote, or at
 * the end.  Caller frees; NULL on ENOMEM. */
char *st_json_string_lenient(const char *p, const char **end);

/* Length of the longest common subsequence of `a` and `b`, in Unicode
 * characters or (words) in ASCII-lowercased alphanumeric words; *len_a
 * gets the length of `a` in the same units.  Texts longer than `cap`
 * units are cut to `cap`.  Returns (size_t)-1 on ENOMEM. */
size_t st_lcs(const char *a, const char *b, bool words, size_t cap,
              size_t *len_a);

/* Rule contribution: 1 when LCS / len(response) >= threshold (0 for an
 * empty response).  *ratio gets the ratio.  -1 on ENOMEM. */
int st_contribution_rule(const char *response_text, const char *answer,
                         bool words, double threshold, double *ratio);

/*
 * Rewards r[0..n] for n intermediate steps with succ[] in {0,1} (or run
 * means) and contrib[] in [0,1], and the final IsSolved value; returns
 * G[0..n] with discount gamma.
 */
void st_rewards(const double *succ, const double *contrib, size_t n,
                double solved, double alpha, bool normalize, double gamma,
                double *r, double *G);

#endif
