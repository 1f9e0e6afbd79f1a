/*
 * syn_text.h - small string helpers of the synthesizers, verifiers and
 * scorers: trimmed and lower-cased copies, UTF-8 validation and decoding.
 */
#ifndef SYN_TEXT_H
#define SYN_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Copy of `s` without leading and trailing ASCII blank space; caller
 * frees.  NULL on ENOMEM (or for NULL input). */
char *syn_trim_dup(const char *s);

/* Trimmed copy with ASCII letters lower-cased (label keys). */
char *syn_key_dup(const char *s);

/* Is `s` (`n` bytes) well-formed UTF-8 (no overlongs, no surrogates)? */
bool syn_utf8_valid(const char *s, size_t n);

/* Decode the code point at s[*i] (advancing *i); malformed bytes give
 * U+FFFD and advance by one. */
uint32_t syn_utf8_next(const char *s, size_t n, size_t *i);

#endif
