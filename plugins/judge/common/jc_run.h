/*
 * jc_run.h - drive judge questions through the host's streaming LLM
 * call, with repair turns and follow-up stages.
 *
 * A question (jc_call) is a system + user prompt whose answer is parsed
 * as a pairwise verdict, a score, or kept as free text.  When an answer
 * has no usable verdict and repairs are left, the runner sends the same
 * conversation again with the answer and the repair message appended (a
 * short "reply with just the verdict" turn); after the last repair the
 * question is INVALID.  A request the LLM service could not answer
 * (FAILED, replay miss) makes the question FAILED; a SKIPPED one (the
 * run is being cancelled, or the budget is spent) stops the whole run
 * with ASSAY_ECANCELED / ASSAY_EBUDGET, since it says nothing about the
 * item and a resumed run must send it again.
 *
 * Every question ends in the owner's `done` callback, on the thread that
 * called jc_runner_run, one at a time; the callback may add further
 * questions (the next stage of a multi-stage method), which go into the
 * same stream so that stages pipeline across items.
 */
#ifndef JC_RUN_H
#define JC_RUN_H

#include <assay/plugin.h>
#include <stdbool.h>
#include <stdint.h>

#include "jc_reliab.h"

enum { JC_PARSE_TEXT = 0, JC_PARSE_PAIR = 1, JC_PARSE_SCORE = 2 };
enum { JC_S_PENDING = 0, JC_S_OK = 1, JC_S_INVALID = 2, JC_S_FAILED = 3 };

/* Number of counter classes (jc_call.cls). */
#define JC_CLASSES 4

typedef struct jc_call {
    /* the question (set by the owner before jc_runner_add) */
    char *system;       /* owned; NULL: no system message */
    char *user;         /* owned */
    const char *repair; /* repair turn (borrowed; must outlive the run);
                           NULL: no repairs */
    int parse;          /* JC_PARSE_* */
    bool ties;          /* PAIR: a tie is a valid verdict */
    long lo, hi;        /* SCORE: the integer scale */
    unsigned max_repairs;
    const json_t *params; /* request parameters overriding the runner's
                           (borrowed; NULL: the runner's) */
    uint32_t sample;      /* sample index (distinct cache entries) */
    size_t item;          /* item index, for the host's messages */
    int cls;              /* counter class, 0 .. JC_CLASSES-1 */
    int tag;              /* free for the owner (routing) */
    size_t a, b;          /* free for the owner (routing) */
    /* the answer (set by the runner) */
    int status;  /* JC_S_* */
    int verdict; /* PAIR: JC_V_A/B/TIE when OK */
    long score;  /* SCORE: when OK */
    int why;     /* JC_WHY_* of the last unusable answer */
    char **raws; /* answers in order of arrival (owned) */
    unsigned nraws;
    unsigned repairs; /* repair turns sent */
    char *error;      /* FAILED: why (owned) */
    uint32_t prompt_tokens, completion_tokens;
    unsigned cached; /* answers served from the cache */
} jc_call;

/* The last answer of a call, or NULL. */
const char *jc_call_text(const jc_call *c);
/* Free what the call owns (prompts, answers, error) and zero it. */
void jc_call_clear(jc_call *c);
/* Free only the prompts (after the call is resolved, to save memory). */
void jc_call_drop_prompts(jc_call *c);
/* The answers as a JSON array of strings (new reference; NULL: ENOMEM). */
json_t *jc_call_raws(const jc_call *c);

typedef struct jc_runner jc_runner;

/* Called once per resolved question; return 0, or a negative code with
 * `err` filled to stop the run. */
typedef int (*jc_done_fn)(void *ud, jc_runner *r, jc_call *c, assay_error *err);

struct jc_runner {
    const assay_host *h;
    const char *endpoint; /* borrowed */
    const json_t *params; /* borrowed; may be NULL */
    jc_done_fn done;
    void *ud;
    /* counters */
    jc_rel_counts counts[JC_CLASSES];
    uint64_t requests, failed_requests, cached;
    uint64_t prompt_tokens, completion_tokens;
    /* internal */
    assay_llm_stream *st;
    jc_call **map;
    size_t cap;
    jc_call **pending;
    size_t npending, cappending;
    assay_error *err;
};

void jc_runner_init(jc_runner *r, const assay_host *h, const char *endpoint,
                    const json_t *params, jc_done_fn done, void *ud);

/*
 * Submit question `c` (borrowed until resolved; its address must stay
 * valid).  Before jc_runner_run it is queued; from inside the done
 * callback it is sent at once.
 */
int jc_runner_add(jc_runner *r, jc_call *c, assay_error *err);

/* Run until every question, initial and added, is resolved. */
int jc_runner_run(jc_runner *r, assay_error *err);

void jc_runner_free(jc_runner *r);

/* "ok", "invalid", "failed", "pending". */
const char *jc_status_name(int status);

#endif
