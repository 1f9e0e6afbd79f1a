/*
 * plugins/embedder/hashing/hashvec.h - feature-hashed TF-IDF vectors.
 *
 * Tokens: maximal runs of ASCII letters and digits and of non-ASCII bytes
 * (so UTF-8 letters stay inside words); ASCII is lowercased when asked.
 * Features: word n-grams of 1..ngram tokens (joined by one space), each
 * hashed with 64-bit FNV-1a; bucket = hash mod dim, sign = top bit of a
 * second mix of the hash (+1 or -1, so collisions cancel in expectation).
 * Weights: tf = 1 + ln(count) (sublinear) or count; idf = ln((1 + N) /
 * (1 + df)) + 1 over the N input texts (df counted per feature, before
 * hashing); each vector is L2-normalised (an empty text stays all zero).
 */
#ifndef ASSAY_HASHVEC_H
#define ASSAY_HASHVEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hv_opts {
    size_t dim;
    int ngram; /* 1..3 */
    bool lowercase;
    bool idf;
    bool sublinear_tf;
    bool l2;
} hv_opts;

/*
 * Embed texts[0..n-1] (NULL counts as empty) into out (n x dim, row-major,
 * zeroed by the caller).  0, or -1 when out of memory.
 */
int hv_embed(const char *const *texts, size_t n, const hv_opts *o, double *out);

/* The 64-bit FNV-1a hash used for features. */
uint64_t hv_hash(const char *s, size_t len);

#endif
