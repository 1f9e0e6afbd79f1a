/*
 * fc_rules.h - the rule layer of ToolACE's dual-layer verification (Liu
 * et al., ICLR 2025, Table 4), as deterministic checks of one
 * function-calling dialog (fc_dialog.h).  Every failure names its rule:
 *
 *   dialog_required_fields  tools and messages lists present; every
 *                           message has a known role and the content
 *                           its role needs; every call has a name
 *   api_required_fields     (syn_schema.h) name, description, parameters
 *   api_schema_valid        (syn_schema.h) a valid JSON Schema
 *                           definition; tool names are unique
 *   call_function_exists    the call names a function of the tool list
 *   call_arguments_valid    the arguments are a JSON object
 *   call_required_params .. call_param_range   (syn_schema.h) required
 *                           parameters, no unknown ones, types, enums,
 *                           patterns and formats, bounds
 *   role_order              system first (once), then user; assistant
 *                           after user or tool; tool only after an
 *                           assistant's calls; the dialog ends with an
 *                           assistant message without pending calls
 *   call_has_response       every call gets a tool message (by
 *                           tool_call_id, else in order) and every tool
 *                           message answers a call
 *   response_name_matches   a tool response names the function called
 *   response_nonempty       no empty user, assistant or tool text
 *   response_complete       not cut off: finish_reason "length", a tool
 *                           response that starts as JSON but does not
 *                           parse, an unclosed ``` fence
 *   response_length         no message longer than max_chars characters
 *   invalid_characters      no control characters (but tab and line
 *                           breaks), C1 controls, U+FFFD or
 *                           non-characters
 *   mixed_language          a user or assistant text whose second
 *                           script (Latin, Greek, Cyrillic, Hebrew,
 *                           Arabic, Devanagari, Thai, CJK) has at least
 *                           mixed_ratio of its letters and mixed_min
 *                           letters
 */
#ifndef FC_RULES_H
#define FC_RULES_H

#include "fc_dialog.h"
#include "syn_schema.h"

/* Every rule name, in reporting order; NULL-terminated. */
extern const char *const fc_rule_names[];

typedef struct fc_rule_opts {
    syn_schema_opts schema;
    size_t max_chars;   /* response_length */
    double mixed_ratio; /* mixed_language */
    size_t mixed_min;
} fc_rule_opts;

/* Run every rule on `d`, appending failures to `f`. */
void fc_rules_check(const fc_dialog *d, const fc_rule_opts *o, syn_fails *f);

#endif
