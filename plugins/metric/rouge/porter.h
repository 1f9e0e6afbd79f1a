/*
 * porter.h - the Porter stemmer in the variant that NLTK's PorterStemmer
 * uses by default (mode NLTK_EXTENSIONS), which Google's rouge-score
 * applies: the published algorithm plus NLTK's irregular-form table,
 * no stemming of words of one or two letters, "ies"/"ied" on four-letter
 * words, y -> i only after a consonant, the early "alli" rule, "bli" ->
 * "ble", "fulli" -> "ful" and "logi" -> "log".
 */
#ifndef PORTER_H
#define PORTER_H

#include <stddef.h>

/* Longest word porter_stem handles; longer words are returned as-is. */
#define PORTER_MAX 256

/*
 * Stem lowercase ASCII word w[0..n) into out (PORTER_MAX + 8 bytes room,
 * NUL-terminated); returns the stem's length.  Never fails.
 */
size_t porter_stem(const char *w, size_t n, char *out);

#endif /* PORTER_H */
