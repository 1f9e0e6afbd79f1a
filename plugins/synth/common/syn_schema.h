/*
 * syn_schema.h - deterministic checks of function (tool) definitions and
 * of call arguments against them, with every failure named by the rule
 * it breaks.  Used by synth.toolace to keep only well-formed generated
 * APIs and by verify.function-calls' rule layer.
 *
 * A tool definition is either OpenAI-style {"type": "function",
 * "function": {...}} or the bare {"name", "description", "parameters"}.
 * `parameters` is a JSON Schema object.  Besides the JSON Schema type
 * names (string, integer, number, boolean, array, object, null) the
 * Python-style names of function-calling benchmarks are accepted unless
 * `strict_types` is set: dict, float, int, str, bool, list, tuple, any.
 *
 * Rules (names as reported):
 *   api_required_fields  name, description and parameters are present,
 *                        non-empty and of the right JSON type
 *   api_schema_valid     the name is an identifier (letters, digits,
 *                        _ . -, at most 64 bytes); parameters is an
 *                        object schema; every property schema has a
 *                        known type, a non-empty enum of that type, a
 *                        pattern that compiles, min <= max bounds, items
 *                        for arrays; `required` lists distinct existing
 *                        properties; defaults and enum values match the
 *                        declared type
 *   call_required_params a required parameter (or nested property) is
 *                        missing
 *   call_unknown_params  a parameter the definition does not declare
 *                        (nested: only when additionalProperties is
 *                        false)
 *   call_param_types     a value of the wrong JSON type
 *   call_param_enum      a value outside the declared enum
 *   call_param_format    a string that misses its pattern or format
 *                        (date, date-time, time, email, uri, uuid, ipv4,
 *                        ipv6, hostname)
 *   call_param_range     minimum/maximum (exclusive too), multipleOf,
 *                        min/maxLength, min/maxItems, uniqueItems
 *
 * Patterns are ECMA-262 in JSON Schema; they are translated to POSIX
 * extended regular expressions (\d \w \s and their negations, lazy
 * quantifiers read as greedy, which does not change whether a string
 * matches).  A pattern with look-around or back-references does not
 * compile and is reported under api_schema_valid.
 */
#ifndef SYN_SCHEMA_H
#define SYN_SCHEMA_H

#include <assay/plugin.h>
#include <stdbool.h>

/* One named rule failure.  `at` is the index of the message (or tool)
 * it concerns, -1 for the sample as a whole. */
typedef struct syn_fail {
    char rule[40];
    char msg[320];
    int at;
} syn_fail;

/* A growing list of failures.  Zero-initialise; `oom` records an
 * allocation failure (the list is then incomplete). */
typedef struct syn_fails {
    syn_fail *v;
    size_t n, cap;
    bool oom;
} syn_fails;

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
void syn_fails_add(syn_fails *f, const char *rule, int at, const char *fmt,
                   ...);
bool syn_fails_has(const syn_fails *f, const char *rule);
void syn_fails_free(syn_fails *f);

/* Options of the checks. */
typedef struct syn_schema_opts {
    bool strict_types; /* only JSON Schema type names */
} syn_schema_opts;

/* The function body of a tool definition (the inner "function" object
 * of the OpenAI form, else the object itself); NULL when `tool` is not an
 * object.  Borrowed from `tool`. */
const json_t *syn_fn_body(const json_t *tool);

/* The function's name, or NULL. */
const char *syn_fn_name(const json_t *tool);

/* api_required_fields and api_schema_valid for one definition. */
void syn_fn_check(const json_t *tool, int at, const syn_schema_opts *o,
                  syn_fails *f);

/*
 * The call_* rules for arguments `args` of a call to function `tool`
 * (definition as above).  `args` must be an object (anything else is a
 * call_param_types failure).  `at` is the message index.
 */
void syn_args_check(const json_t *tool, const json_t *args, int at,
                    const syn_schema_opts *o, syn_fails *f);

/* Does string `s` satisfy JSON Schema format `fmt`?  Unknown formats
 * pass (as JSON Schema prescribes). */
bool syn_format_ok(const char *fmt, const char *s);

/* Does `s` contain a match of `pattern`?  *bad is set when the pattern
 * does not compile (then false is returned). */
bool syn_pattern_match(const char *pattern, const char *s, bool *bad);

#endif
