/*
 * plugins/rec/llm/lr.h - code shared by the LLM-as-recommender plugins
 * (rec.llm, synth.user-profile, judge.recsys-arena): the item catalogue
 * and the mapping of generated titles back to item ids, parsing of list
 * answers, per-user histories, prompt files with several paraphrased
 * user messages, and a streaming LLM runner that re-asks when an answer
 * breaks the required format.
 *
 * Linked statically into each plugin (a static library beside rec.llm);
 * the templates come from the judge library's jc_tpl, the growable
 * buffer from jc_text.  No global state.  Prefix: lr_.
 */
#ifndef ASSAY_LR_H
#define ASSAY_LR_H

#include <assay/plugin.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jc_text.h"
#include "jc_tpl.h"
#include "rc.h"

/* ---- catalogue and title mapping -------------------------------------- */

/* How a generated title was matched to the catalogue. */
enum {
    LR_M_NONE = 0,  /* no item: a hallucination */
    LR_M_EXACT = 1, /* byte-equal to a catalogue title (spaces trimmed) */
    LR_M_CASE = 2,  /* equal ignoring case */
    LR_M_NORM = 3   /* equal after normalisation (lr_norm) */
};

/* One key of a title index: a form of a title and the item it names. */
typedef struct lr_key {
    char *key;
    uint32_t pos; /* position in the catalogue */
} lr_key;

/*
 * The catalogue: items sorted by id with their display title, category
 * text and year, and three title indexes (exact, case-folded,
 * normalised).  Items without a title show as "item <id>".
 */
typedef struct lr_cat {
    size_t n;
    int64_t *id;
    char **title; /* never NULL after building */
    char **cat;   /* NULL entries when unknown */
    int *year;    /* 0 when unknown */
    lr_key *keys[3];
    size_t nkeys[3];
} lr_cat;

/*
 * Build from parallel arrays of `n` items (borrowed; copied).  titles[i],
 * cats[i] may be NULL; cats and years may be NULL altogether.  Duplicate
 * ids are an error.  On failure everything built so far is freed.
 */
int lr_cat_from_arrays(lr_cat *c, const int64_t *ids, const char *const *titles,
                       const char *const *cats, const int *years, size_t n,
                       assay_error *err);

/*
 * Build from a table (input `port`, named in messages): int64 column
 * `id_col`; string columns `title_col` and `cat_col`, numeric or string
 * `year_col`.  A NULL column name is guessed (title: title, movie_title,
 * name, item_name; category: genres, class, category, categories, genre;
 * year: year, release_year); the title column is required.
 */
int lr_cat_build(lr_cat *c, const assay_table *t, const char *port,
                 const char *id_col, const char *title_col, const char *cat_col,
                 const char *year_col, assay_error *err);

void lr_cat_free(lr_cat *c);

/* Position of item `id`, or -1. */
long lr_cat_find(const lr_cat *c, int64_t id);

/* The result of mapping one generated title. */
typedef struct lr_match {
    int64_t item;  /* 0: no catalogue item (hallucination) */
    int level;     /* LR_M_* */
    bool in_cands; /* the item is one of the candidates */
} lr_match;

/*
 * Map `title` to an item: exact, then case-insensitive, then normalised
 * equality, each level trying the candidates (cands[0 .. ncand)) before
 * the rest of the catalogue; among several catalogue items with one key
 * the one whose year appears in the title, else the lowest id.  When the
 * whole title does not match, the text before " - " (an explanation
 * added after the title) and, with `strip_suffix`, before the last ':'
 * (an echoed "title:category" annotation) are tried the same way.
 * Returns ASSAY_ENOMEM or 0.
 */
int lr_cat_match(const lr_cat *c, const char *title, const int64_t *cands,
                 size_t ncand, bool strip_suffix, lr_match *m);

/*
 * Normalised form of a title, for matching: HTML entities decoded,
 * typographic quotes and dashes folded, Latin-1 accents dropped, lower
 * case, a trailing "(1995)" year removed, a trailing article moved to
 * the front ("Usual Suspects, The") and leading articles dropped, '&'
 * read as "and", punctuation removed and spaces collapsed.  Caller frees.
 * NULL on ENOMEM.
 */
char *lr_norm(const char *s);

/* Case-folded copy (ASCII and Latin-1 letters), spaces trimmed. */
char *lr_fold(const char *s);

/* The first 4-digit year in parentheses "(1995)" in `s`, or 0. */
int lr_title_year(const char *s);

/* Name of a match level: "none", "exact", "case", "normalised". */
const char *lr_level_name(int level);

/* ---- list answers ------------------------------------------------------ */

/* How a list was found in an answer. */
enum {
    LR_FMT_NONE = 0,    /* no list: a format violation */
    LR_FMT_LIST = 1,    /* a bracketed list of quoted titles */
    LR_FMT_LINES = 2,   /* numbered (or bulleted) lines */
    LR_FMT_UNQUOTED = 3 /* a bracketed list of bare titles */
};

/* Titles parsed from an answer, in order. */
typedef struct lr_titles {
    char **v;
    size_t n, cap;
    int format; /* LR_FMT_* */
} lr_titles;

/*
 * Parse an answer that should hold a list of titles.  Tried in order:
 * the bracketed list of quoted strings with the most elements (the last
 * of equals), in Python or JSON syntax, tolerant of unescaped inner
 * quotes, smart quotes, '# comments' and a trailing comma; numbered
 * lines "1. Title" (or bulleted lines, two at least); a bracketed list of
 * bare titles split at commas (", The"-style suffixes rejoined).
 * Markdown emphasis and surrounding quotes are removed from each title.
 * `out` is zero-initialised by the caller and freed with lr_titles_free.
 * Returns 0 or ASSAY_ENOMEM.
 */
int lr_parse_list(const char *text, lr_titles *out);

void lr_titles_free(lr_titles *t);

/* Append a copy of `n` bytes of `s` (trimmed). */
int lr_titles_push(lr_titles *t, const char *s, size_t n);

/*
 * Render `n` strings as a Python list literal: ['Heat', "Schindler's
 * List"] (double quotes when the text holds a single quote and no double
 * quote; backslash escapes otherwise), appended to `b`.
 */
int lr_pylist(jc_buf *b, const char *const *v, size_t n);

/* ---- histories --------------------------------------------------------- */

/*
 * Per-user interaction histories read from several interaction tables at
 * once (train, then valid, ...): each user's entries ordered by timestamp
 * when every part has one, then by part, then by row.
 */
typedef struct lr_hist {
    rc_ids users;
    size_t *ptr;    /* users.n + 1 */
    int64_t *item;  /* raw item ids */
    double *rating; /* NaN when the part has no rating */
} lr_hist;

int lr_hist_build(lr_hist *h, const rc_inter *parts, size_t nparts,
                  assay_error *err);

/* The history of raw user `user`: its length, *items and *ratings set
 * (borrowed; NULL/0 for an unknown user). */
size_t lr_hist_get(const lr_hist *h, int64_t user, const int64_t **items,
                   const double **ratings);

void lr_hist_free(lr_hist *h);

/* Views of the `train` input and, when connected, `valid` (parts[0..*n)). */
int lr_hist_inputs(const assay_host *h, assay_io *io, rc_inter *parts,
                   size_t *n, assay_error *err);

/* ---- prompt files ------------------------------------------------------ */

#define LR_MAX_VARIANTS 16

/*
 * A prompt file with paraphrased user messages: the jc_tpl format ("@@
 * system @@", "@@ user @@", "@@ repair @@" marker lines) where "@@ user
 * @@" may appear several times, once per paraphrase.  v[i] is a complete
 * prompt (system, user variant i, repair).
 */
typedef struct lr_prompts {
    jc_prompt v[LR_MAX_VARIANTS];
    size_t n;
} lr_prompts;

int lr_prompts_parse(const char *text, lr_prompts *out, assay_error *err);

/* The option `inline_opt` (text), else `file_opt` (a path relative to the
 * experiment file), else the built-in `def`. */
int lr_prompts_option(const assay_host *h, const json_t *opts,
                      const char *inline_opt, const char *file_opt,
                      const char *def, lr_prompts *out, assay_error *err);

/* True when any message of any variant uses field `name`. */
bool lr_prompts_uses(const lr_prompts *p, const char *name);

void lr_prompts_free(lr_prompts *p);

/*
 * Which variant item `key` uses: `fixed` >= 0 picks that one (modulo
 * the count); -1 picks one at random from a seed mixed from `seed` and
 * `key` (the same for an item whatever the order of work).
 */
size_t lr_variant(const lr_prompts *p, long fixed, uint64_t seed, uint64_t key);

/* ---- streaming questions with re-asks ---------------------------------- */

enum { LR_Q_PENDING = 0, LR_Q_OK = 1, LR_Q_INVALID = 2, LR_Q_FAILED = 3 };

/*
 * One question: a system + user prompt whose answers are checked by the
 * owner; an unusable answer is followed, while re-asks are left, by a
 * repair turn (the conversation so far plus the answer and the repair
 * message the checker wrote).
 */
typedef struct lr_q {
    char *system; /* owned; NULL: none */
    char *user;   /* owned */
    unsigned max_reasks;
    uint32_t sample;
    size_t item; /* for the host's messages */
    void *owner; /* free for the owner */
    size_t tag;  /* free for the owner */
    /* set by the runner */
    int status;         /* LR_Q_* */
    char **answers;     /* every answer, in order (owned) */
    char **repairs;     /* repair message after each unusable answer */
    unsigned n;         /* answers received */
    unsigned first_why; /* checker's code for the first answer */
    char *error;        /* FAILED: why (owned) */
    uint32_t prompt_tokens, completion_tokens;
    unsigned cached;
} lr_q;

/*
 * Checker: look at answer `text` of question `q` (its n-th answer, n
 * counted from 1).  Return 0 when usable, a positive code (owner's
 * meaning) when not, with *repair set to a new string (or NULL to use
 * `default_repair`), or a negative ASSAY_E* code to stop the run.
 */
typedef int (*lr_check_fn)(void *ud, lr_q *q, const char *text, char **repair,
                           assay_error *err);

/* Counters of a run. */
typedef struct lr_ask_stats {
    uint64_t requests, failed, cached, reasks, invalid;
    uint64_t prompt_tokens, completion_tokens;
} lr_ask_stats;

/*
 * Ask qs[0 .. n) on endpoint `endpoint` with request parameters `params`
 * (borrowed, may be NULL) through the host's stream, re-asking as the
 * checker decides.  Progress is reported per resolved question.
 * Returns 0 when every question is resolved (OK, INVALID or FAILED), or
 * a negative code (cancelled, the batch could not run, the checker
 * failed) with `err` filled.
 */
int lr_ask_run(const assay_host *h, const char *endpoint, const json_t *params,
               lr_q *qs, size_t n, lr_check_fn check, void *ud,
               const char *default_repair, lr_ask_stats *st, assay_error *err);

/* The last answer, or NULL. */
const char *lr_q_text(const lr_q *q);

/* The answers as a JSON array of strings (new reference). */
json_t *lr_q_answers(const lr_q *q);

void lr_q_clear(lr_q *q);

/* ---- small helpers ----------------------------------------------------- */

/* A seed for item `key` mixed from `base`. */
uint64_t lr_mix(uint64_t base, uint64_t key);

/* Fill an estimate: requests, prompt characters (about 4 per token) and
 * max_tokens from params (else def_completion) per request. */
void lr_estimate_fill(assay_estimate *est, const char *endpoint,
                      uint64_t requests, uint64_t prompt_chars,
                      const json_t *params, uint64_t def_completion);

/* The {endpoint, endpoint_info, requests, ...} object of a run.  New
 * reference; NULL on ENOMEM. */
json_t *lr_info(const assay_host *h, const char *endpoint,
                const lr_ask_stats *st);

/*
 * A profile sentence from user features: "age 24, gender M, occupation
 * technician" from the named columns of row `row` of `users` (missing
 * values left out).  Caller frees; NULL on ENOMEM.
 */
char *lr_feature_profile(const assay_table *users, size_t row,
                         const json_t *fields);

/* Row of raw user `user` in a table with an int64 `user` column, built
 * as a sorted index by lr_rowidx_build. */
typedef struct lr_rowidx {
    int64_t *key;
    uint32_t *row;
    size_t n;
} lr_rowidx;

int lr_rowidx_build(lr_rowidx *x, const assay_table *t, const char *col,
                    const char *port, assay_error *err);
long lr_rowidx_find(const lr_rowidx *x, int64_t key);
void lr_rowidx_free(lr_rowidx *x);

/* Texts of items for prompts: the display titles of ids[0 .. n) with
 * their categories (`with_cat`) or ratings (`ratings`, may be NULL) as
 * "title:annotation", in a new array of new strings (free with
 * lr_strv_free).  Unknown ids show as "item <id>"; different items with
 * the same title in the list get their year, "Cape Fear (1991)". */
char **lr_item_texts(const lr_cat *c, const int64_t *ids, size_t n,
                     bool with_cat, const double *ratings);
void lr_strv_free(char **v, size_t n);

/* Category text for people: "Action, Crime, Thriller" from "Action Crime
 * Thriller" or "Action|Crime|Thriller".  Caller frees; NULL on ENOMEM or
 * for NULL input. */
char *lr_genres_text(const char *cat);

/* The item texts of ids[0 .. n) (as lr_item_texts) as a Python list
 * literal in a new JSON string; NULL on ENOMEM. */
json_t *lr_pylist_json(const lr_cat *cat, const int64_t *ids, size_t n,
                       bool with_cat, const double *ratings);

/* The last non-blank line of `text` without a leading "Summary:" (or
 * "Profile:") label and markdown emphasis, in a new string; "" when the
 * text is blank.  NULL on ENOMEM. */
char *lr_last_line(const char *text);

#endif
