/*
 * syn_llm.h - LLM questions whose answers must hold structured data, on
 * the judges' streaming runner (plugins/judge/common/jc_run.h).
 *
 * The generators submit TEXT questions to a jc_runner and parse the
 * answers themselves, in the runner's done callback.  When an answer is
 * unusable (no JSON, or JSON that fails the caller's checks) and repairs
 * are left, syn_call_retry sends the conversation again with the answer
 * and the question's repair message appended, exactly like the judges'
 * verdict repairs; the callback then returns and sees the question again
 * when the new answer arrives.
 */
#ifndef SYN_LLM_H
#define SYN_LLM_H

#include <assay/plugin.h>
#include <stdbool.h>

#include "jc_run.h"
#include "syn_json.h"

/* Outcome of syn_call_json. */
enum {
    SYN_ANS_OK = 0,      /* *out holds the value */
    SYN_ANS_RETRY = 1,   /* a repair turn was sent: wait for it */
    SYN_ANS_INVALID = 2, /* no usable value after every repair */
    SYN_ANS_FAILED = 3   /* the request failed (c->error says why) */
};

/*
 * Fill a zeroed question: TEXT parsing, prompts taken over (`system` may
 * be NULL; both freed by jc_call_clear), `repair` borrowed for the run.
 */
void syn_call_init(jc_call *c, char *system, char *user, const char *repair,
                   unsigned max_repairs, size_t item, uint32_t sample);

/*
 * Ask again with the repair turn if repairs are left: true when sent
 * (the caller's callback then returns 0).  On false with *rc negative the
 * submission itself failed (`err` filled); with *rc 0 no repair was left
 * and the question is marked JC_S_INVALID.
 */
bool syn_call_retry(jc_runner *r, jc_call *c, int *rc, assay_error *err);

/*
 * For a resolved question: the JSON value of kind `want` (SYN_JSON_*)
 * in its last answer.  Returns one of SYN_ANS_* (*out set only for OK),
 * or a negative code with `err` filled.
 */
int syn_call_json(jc_runner *r, jc_call *c, int want, json_t **out,
                  assay_error *err);

#endif
