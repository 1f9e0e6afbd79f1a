/*
 * assay/rng.h - a small, fast, seedable random number generator for
 * plugins (xoshiro256** seeded through splitmix64).
 *
 * Reproducibility rule: a plugin never seeds from time or addresses.  It
 * asks the host for a seed (host->seed(host, "stream name")), which is
 * derived from the run's `seed:` and the node's name, and seeds one
 * assay_rng per thread or per task from it.  The generator state is a
 * plain struct, so instances never share state between threads.
 */
#ifndef ASSAY_RNG_H
#define ASSAY_RNG_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct assay_rng {
    uint64_t s[4];
} assay_rng;

/* splitmix64 step: also a good 64-bit mixing function for hashing. */
static inline uint64_t assay_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Seed a generator; any 64-bit value (0 included) gives a good state. */
static inline void assay_rng_init(assay_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = assay_splitmix64(&x);
}

static inline uint64_t assay__rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* Next 64 random bits. */
static inline uint64_t assay_rng_next(assay_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = assay__rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = assay__rotl(s[3], 45);
    return result;
}

/* Uniform double in [0, 1) with 53 random bits. */
static inline double assay_rng_uniform(assay_rng *r)
{
    return (double)(assay_rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform integer in [0, n) without modulo bias (n > 0). */
static inline uint64_t assay_rng_below(assay_rng *r, uint64_t n)
{
    uint64_t threshold = (0 - n) % n;
    for (;;) {
        uint64_t x = assay_rng_next(r);
        if (x >= threshold)
            return x % n;
    }
}

/* Standard normal deviate (Box-Muller; one value per call). */
static inline double assay_rng_normal(assay_rng *r)
{
    double u1 = assay_rng_uniform(r), u2 = assay_rng_uniform(r);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Fisher-Yates shuffle of `n` elements of `size` bytes each. */
static inline void assay_rng_shuffle(assay_rng *r, void *base, size_t n,
                                     size_t size)
{
    unsigned char *b = (unsigned char *)base;
    if (n < 2)
        return;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)assay_rng_below(r, (uint64_t)i + 1);
        if (j == i)
            continue;
        for (size_t k = 0; k < size; k++) {
            unsigned char t = b[i * size + k];
            b[i * size + k] = b[j * size + k];
            b[j * size + k] = t;
        }
    }
}

#ifdef __cplusplus
}
#endif
#endif /* ASSAY_RNG_H */
