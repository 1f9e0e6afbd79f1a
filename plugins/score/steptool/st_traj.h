/*
 * st_traj.h - tool-use trajectories in the formats of the StepTool and
 * StableToolBench data, read into one shape.
 *
 * Accepted records (fields by name; the first that fits wins):
 *   steps      {query, steps: [{name, arguments, response}],
 *               final_answer?, gave_up?}: the plain form (arguments an
 *               object or JSON text; response any JSON or text)
 *   annotated  {query, answer_steps, final_step, ...}: StepTool's reward
 *               annotation files and StableToolBench's pass-rate files.
 *               answer_steps is a list of "Step i: {python dict}" strings
 *               or one string holding them all; final_step is "Final
 *               step: {python dict}" (a step that is not Finish is an
 *               intermediate step of a trajectory cut off without
 *               Finish).  process_reward and is_solved (dicts, or their
 *               Python reprs) are kept as the given labels.
 *   predicted  {query, answer: {final_answer, answer_details: [tree]}}:
 *               StepTool's converted model predictions; the tool calls
 *               are the `tool` messages along the first branch of the
 *               tree, the last Finish call gives the answer.
 */
#ifndef ST_TRAJ_H
#define ST_TRAJ_H

#include <assay/plugin.h>
#include <stdbool.h>

typedef struct st_step {
    char *name;
    char *arguments; /* JSON text as called */
    char *response;  /* the tool message as text */
} st_step;

typedef struct st_traj {
    char *query;
    st_step *steps; /* intermediate steps (tool calls before Finish) */
    size_t nsteps;
    bool has_finish;    /* ended with a Finish call */
    bool gave_up;       /* Finish with return_type give_up_and_restart */
    char *final_answer; /* Finish's final_answer ("" when absent) */
    /* given labels (borrowed from the record; NULL when absent) */
    json_t *process_reward; /* {run: {succeed_tool_calling, contributions}} */
    json_t *is_solved;      /* {run: "AnswerStatus.X"} */
    const char *format;     /* "steps", "annotated" or "predicted" */
} st_traj;

/*
 * Read record `rec` (index `idx` for messages).  The trajectory owns
 * its strings and holds new references to the label objects; free with
 * st_traj_free.  ASSAY_EDATA naming the record and field when the record
 * fits no format.
 */
int st_traj_read(const json_t *rec, size_t idx, st_traj *t, assay_error *err);

void st_traj_free(st_traj *t);

/*
 * Final answer and give-up flag out of Finish's arguments text (JSON
 * {"return_type", "final_answer"}; truncated text is read leniently).
 * *answer is a new string.
 */
int st_finish_args(const char *args, char **answer, bool *gave_up);

/* IsSolved of a label "AnswerStatus.Solved" / "Solved" / "Unsure" /
 * "Unsolved" (case-insensitive): 1, 0.5, 0; -1 when unknown. */
double st_status_value(const char *label);

#endif
