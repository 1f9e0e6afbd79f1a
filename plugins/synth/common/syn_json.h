/*
 * syn_json.h - structured values out of LLM answers.
 *
 * Generators ask models for JSON and get it wrapped in prose, in
 * ```json fences, with trailing commas, or in Python notation.  These
 * helpers find what was meant without trusting the wrapping:
 *
 *   1. the whole answer (after trimming) as strict JSON;
 *   2. else each balanced {...} or [...] span, left to right (brackets
 *      inside strings do not count), parsed strictly, then with trailing
 *      commas removed, then as a Python literal (syn_pylit.h).
 *
 * A span that never closes (a truncated answer) yields nothing.
 */
#ifndef SYN_JSON_H
#define SYN_JSON_H

#include <assay/plugin.h>

enum { SYN_JSON_ANY = 0, SYN_JSON_OBJECT = 1, SYN_JSON_ARRAY = 2 };

/*
 * The first value of kind `want` (SYN_JSON_*) in `text`.  *out is a new
 * reference.  ASSAY_EDATA with `err` saying what was missing when there
 * is none; ASSAY_ENOMEM.
 */
int syn_json_find(const char *text, int want, json_t **out, assay_error *err);

/*
 * Every object in `text`: each top-level balanced {...} span that parses
 * as an object, in order; spans inside an array count one by one, so
 * "[{..}, {..}]" yields both.  *out is a new array (possibly empty).
 * ASSAY_ENOMEM only.
 */
int syn_json_objects(const char *text, json_t **out);

/*
 * Canonical compact text of `v` with object keys sorted (for comparing
 * values and for hashing); caller frees.  NULL on ENOMEM.
 */
char *syn_json_canon(const json_t *v);

#endif
