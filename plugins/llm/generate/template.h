/*
 * plugins/llm/generate/template.h - prompt templates with {{field}}
 * placeholders filled from a record.
 */
#ifndef ASSAY_GEN_TEMPLATE_H
#define ASSAY_GEN_TEMPLATE_H

#include <assay/plugin.h>

typedef struct gen_tpl gen_tpl;

/*
 * Compile `text`: literal text and {{name}} placeholders (spaces inside
 * the braces ignored; a dotted name reaches into nested objects).  An
 * unclosed "{{" or an empty name is an error with its byte offset.
 * *out is freed with gen_tpl_free.
 */
int gen_tpl_compile(const char *text, gen_tpl **out, assay_error *err);

/*
 * Fill the template from record `rec` (number `idx`, for messages):
 * strings are inserted as they are, other values as compact JSON.  A
 * missing field is ASSAY_EDATA "record IDX: missing field 'NAME'".
 * *out is a new string the caller frees with free().
 */
int gen_tpl_render(const gen_tpl *t, const json_t *rec, size_t idx, char **out,
                   assay_error *err);

void gen_tpl_free(gen_tpl *t);

/* Prefix err->text (truncating safely). */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void gen_error_prefix(assay_error *err, const char *fmt, ...);

#endif
