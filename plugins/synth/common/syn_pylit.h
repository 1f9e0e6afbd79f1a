/*
 * syn_pylit.h - Python literals and call expressions as JSON.
 *
 * Tool-use datasets store structured values as Python reprs (StepTool's
 * "Step 1: {'name': ..., 'response': ...}") and function-calling
 * benchmarks accept answers in Python call syntax ("[f(a=1, b='x')]").
 * This module reads both without a Python interpreter:
 *
 *   literals  str ('..', "..", triple-quoted, r/u/b prefixes, adjacent
 *             literals concatenated, all escapes; lone surrogates become
 *             U+FFFD), int (underscores, 0x/0o/0b), float (inf/nan are
 *             not literals and are rejected), True/False/None, unary
 *             minus and plus, list, tuple and set (JSON arrays), dict
 *             (non-string keys are written as their JSON text); JSON's
 *             true/false/null are accepted too (models mix notations)
 *   calls     dotted.name(kw=literal, ...) alone, comma-separated, or in
 *             a list/tuple; positional arguments are reported as errors
 *             because the checkers match parameters by name
 *
 * No global state; every function is reentrant.
 */
#ifndef SYN_PYLIT_H
#define SYN_PYLIT_H

#include <assay/plugin.h>
#include <stddef.h>

/*
 * Parse one literal starting at s[*pos] (leading blanks skipped) of the
 * `len` bytes of `s`.  On success *out is a new reference and *pos is just
 * after the literal.  ASSAY_EDATA with a message "offset N: ..." in `err`
 * when the text is not a literal, ASSAY_ENOMEM on allocation failure.
 */
int syn_pylit_parse(const char *s, size_t len, size_t *pos, json_t **out,
                    assay_error *err);

/* The whole text must be one literal (trailing blanks allowed). */
int syn_pylit_parse_all(const char *s, size_t len, json_t **out,
                        assay_error *err);

/*
 * Parse call expressions: "f(a=1)", "f(a=1), g(b=2)", "[f(a=1), g()]".
 * *out is a new array of {"name": "f", "arguments": {...}} in source
 * order (an empty list "[]" gives an empty array).  Errors as above.
 */
int syn_pycalls_parse(const char *s, size_t len, json_t **out,
                      assay_error *err);

#endif
