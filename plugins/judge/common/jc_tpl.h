/*
 * jc_tpl.h - prompt templates of the judge and reviser plugins.
 *
 * A prompt file holds one or more messages, each introduced by a marker
 * line "@@ system @@", "@@ user @@" or "@@ repair @@" (a file without
 * markers is a single user message; {{! comments }} may precede the first
 * marker).  The repair message is what a judge
 * sends, as a follow-up turn, when an answer has no parseable verdict.
 *
 * Inside a message:
 *   {{name}}            the context's field `name` (dotted names reach
 *                       into objects); strings as they are, other values
 *                       as compact JSON; a missing or null field is an
 *                       error naming the record and the field
 *   {{#name}}..{{/name}}  the enclosed text only when `name` is present
 *                       and truthy (not null, false, "", [] or {})
 *   {{^name}}..{{/name}}  the enclosed text only when it is not
 *   {{! comment }}      dropped
 * A section or comment tag alone on its line removes the whole line, so
 * templates stay readable.  Leading and trailing blank lines of each
 * message are dropped.
 */
#ifndef JC_TPL_H
#define JC_TPL_H

#include <assay/plugin.h>
#include <stdbool.h>

typedef struct jc_tpl jc_tpl;

/* Compile `len` bytes of `text` (copied).  Errors carry the byte offset.
 * *out is freed with jc_tpl_free. */
int jc_tpl_compile(const char *text, size_t len, jc_tpl **out,
                   assay_error *err);

/*
 * Render with the fields of `ctx` (a JSON object, borrowed).  `idx` is
 * the record index used in messages.  *out is a new string the caller
 * frees with free().
 */
int jc_tpl_render(const jc_tpl *t, const json_t *ctx, size_t idx, char **out,
                  assay_error *err);

/* True when the template refers to field `name` (variable or section). */
bool jc_tpl_uses(const jc_tpl *t, const char *name);

void jc_tpl_free(jc_tpl *t);

/* A parsed prompt file: the messages it defines (NULL when absent). */
typedef struct jc_prompt {
    jc_tpl *system;
    jc_tpl *user;
    jc_tpl *repair;
} jc_prompt;

/*
 * Split `text` at its marker lines and compile each message.  A user
 * message is required; a marker other than system/user/repair, or one
 * given twice, is an error.  Free with jc_prompt_free (also after a
 * failure: what was compiled is released there).
 */
int jc_prompt_parse(const char *text, jc_prompt *out, assay_error *err);

/* Render the system (NULL when absent) and user messages. */
int jc_prompt_render(const jc_prompt *p, const json_t *ctx, size_t idx,
                     char **system, char **user, assay_error *err);

/* True when any message of `p` uses field `name`. */
bool jc_prompt_uses(const jc_prompt *p, const char *name);

void jc_prompt_free(jc_prompt *p);

#endif
