/*
 * ta_consensus.h - ToolACE's consistency filter on the assistant agent:
 * the decision is sampled several times and kept only when the samples
 * agree.  A decision {"action", "calls", "content", "thought"} is reduced
 * to a key: the action, and for calls the multiset of (name, arguments)
 * pairs with object keys sorted, so the order of calls and of arguments
 * does not matter while any other difference does.  Free-text content
 * and thoughts are not compared.
 */
#ifndef TA_CONSENSUS_H
#define TA_CONSENSUS_H

#include <assay/plugin.h>

/*
 * Normalise a parsed decision: action "call" (also "tool_call",
 * "function_call", "calls"), "respond" ("answer", "final", "reply") or
 * "ask" ("clarify", "ask_user"); calls [{"name", "arguments": object}]
 * (arguments given as JSON text are parsed; "function": {...} wrappers
 * unwrapped).  *out is a new object {"action", "calls", "content",
 * "thought"}.  ASSAY_EDATA with `why` filled when the decision is not
 * usable (unknown action, a call without name or with non-object
 * arguments, call without calls, respond/ask without content).
 */
int ta_decision_norm(const json_t *d, json_t **out, char *why, size_t whysz);

/* The comparison key of a normalised decision (caller frees); NULL on
 * ENOMEM. */
char *ta_decision_key(const json_t *norm);

/*
 * The most frequent key among keys[0..n) (NULL entries are unusable
 * samples and never win): its first index, with *count its frequency;
 * SIZE_MAX when every key is NULL.  Ties go to the earliest key.
 */
size_t ta_majority(char *const *keys, size_t n, size_t *count);

#endif
