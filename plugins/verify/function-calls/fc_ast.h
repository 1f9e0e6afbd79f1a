/*
 * fc_ast.h - BFCL-style AST matching of a model's function calls against
 * ground truth (the Berkeley Function Calling Leaderboard's checker, as
 * its data README describes it), on data in BFCL's format:
 *
 *   question  {"id", "question", "function": [definitions]}
 *   truth     {"id", "ground_truth": [{"fname": {"param": [acceptable
 *             values]}}]}; "" among the values: the parameter may be
 *             left out; no values at all ([]): the value is an empty list
 *             (two live_simple items write it so)
 *
 * A model answer is decoded from any of: a list of {"fname": {args}};
 * a list of {"name", "arguments"} or OpenAI tool calls (arguments as an
 * object or JSON text); Python call syntax ("[f(a=1), g(b='x')]", also
 * inside ``` fences); or JSON text of those.  Text that holds no call
 * decodes to "no call".
 *
 * Categories (from the id, or given): simple*, live_simple, multiple:
 * exactly one call; parallel*: as many calls as the ground truth, matched
 * in any order; irrelevance: correct when there is no call;
 * live_relevance: correct when there is at least one.  A call matches a
 * ground-truth entry when the function name is equal (with "." read as
 * "_" on both sides when underscore_names is set, since OpenAI-style
 * names cannot hold dots), every required parameter is present, no
 * parameter is unknown to the definition or absent from the ground
 * truth, every value has the declared type or the kind of an acceptable
 * value (BFCL's ground truth writes variables as strings, e.g.
 * "data['sales']" for an array, and lists None for optional floats;
 * integer: not boolean; float:
 * integers accepted; array/tuple, dict, string, boolean; Java and
 * JavaScript type names mapped to these; any: anything) and equals an
 * acceptable value, and every ground-truth parameter without "" is
 * present.  Strings compare after BFCL's standardisation (the characters
 * ` ,./-_*^` removed, lower case, ' read as "); lists element by
 * element; dicts key by key against their candidate dicts.  For Java and
 * JavaScript a string value is also read as a literal of the declared
 * type ("true", "42", "3.5f", "[1, 2]").
 */
#ifndef FC_AST_H
#define FC_AST_H

#include <assay/plugin.h>
#include <stdbool.h>

typedef struct fc_ast_opts {
    bool underscore_names;
} fc_ast_opts;

/*
 * Decode a model answer into a new array of {"name", "arguments"}.
 * ASSAY_EDATA when the answer is neither calls nor plain text that
 * clearly holds none (then `why` says what failed); ASSAY_ENOMEM.
 */
int fc_ast_decode(const json_t *answer, json_t **calls, char *why,
                  size_t whysz);

/* The category of a BFCL id ("parallel_multiple_12" -> "parallel_multiple",
 * "live_simple_3-1-0" -> "live_simple"); writes into out. */
void fc_ast_category(const char *id, char *out, size_t outsz);

/*
 * Check decoded `calls` for question `q` (its "function" list) against
 * ground truth `gt` (the "ground_truth" list; NULL for irrelevance and
 * live_relevance) in `category`.  Returns true when correct; otherwise
 * `error` gets BFCL-like error type ("wrong_count", "wrong_name",
 * "missing_required", "unexpected_param", "type_error", "value_error",
 * "missing_param", "no_match", "called_irrelevant", "no_call") and
 * `detail` a sentence.
 */
bool fc_ast_check(const json_t *q, const json_t *gt, const char *category,
                  const json_t *calls, const fc_ast_opts *o, char *error,
                  size_t errsz, char *detail, size_t detsz);

/*
 * Decode `answer` and check it: text that holds no call counts as "no
 * call" (correct for irrelevance, "decode_error" elsewhere).  *correct,
 * error and detail as for fc_ast_check; *calls (may be NULL) gets the
 * decoded calls (new reference) or NULL.  0 or ASSAY_ENOMEM.
 */
int fc_ast_judge(const json_t *q, const json_t *gt, const char *category,
                 const json_t *answer, const fc_ast_opts *o, bool *correct,
                 json_t **calls, char *error, size_t errsz, char *detail,
                 size_t detsz);

/* BFCL's string standardisation (caller frees). */
char *fc_ast_standardize(const char *s);

#endif
