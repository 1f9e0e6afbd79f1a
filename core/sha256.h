/*
 * core/sha256.h - SHA-256 (FIPS 180-4) for content hashes: value hashes,
 * node cache keys, plugin file hashes and LLM cache keys.
 */
#ifndef ASSAY_SHA256_H
#define ASSAY_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct sha256_ctx {
    uint32_t h[8];
    uint64_t total;
    uint8_t block[64];
    size_t fill;
} sha256_ctx;

void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t len);
void sha256_final(sha256_ctx *c, uint8_t out[32]);
/* Final digest as 64 lowercase hex digits + NUL. */
void sha256_final_hex(sha256_ctx *c, char out[65]);

void sha256(const void *data, size_t len, uint8_t out[32]);
void sha256_hex(const void *data, size_t len, char out[65]);

/* Hash a file's contents; 0 or a negative ASSAY_E* code. */
int sha256_file_hex(const char *path, char out[65]);

#endif
