/*
 * plugins/embedder/hashing/hashvec.c - see hashvec.h.
 */
#include "hashvec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

uint64_t hv_hash(const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint64_t hv_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static bool hv_word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c >= 0x80;
}

typedef struct hv_vec {
    uint64_t *v;
    size_t n, cap;
} hv_vec;

static int hv_push(hv_vec *a, uint64_t x)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        uint64_t *p = realloc(a->v, cap * sizeof *p);
        if (!p)
            return -1;
        a->v = p;
        a->cap = cap;
    }
    a->v[a->n++] = x;
    return 0;
}

static int hv_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/*
 * Feature hashes of one text, sorted (duplicates kept: their run length
 * is the term count).  The hash of an n-gram is the FNV-1a of its tokens
 * joined by single spaces, computed incrementally.
 */
static int hv_features(const char *text, const hv_opts *o, hv_vec *out)
{
    /* token spans of the last ngram-1 tokens */
    const char *tok[3];
    size_t tl[3];
    int have = 0;
    out->n = 0;
    if (!text)
        return 0;
    for (const char *p = text; *p;) {
        while (*p && !hv_word_byte((unsigned char)*p))
            p++;
        if (!*p)
            break;
        const char *s = p;
        while (*p && hv_word_byte((unsigned char)*p))
            p++;
        /* shift the window */
        if (have == o->ngram) {
            for (int k = 1; k < have; k++) {
                tok[k - 1] = tok[k];
                tl[k - 1] = tl[k];
            }
            have--;
        }
        tok[have] = s;
        tl[have] = (size_t)(p - s);
        have++;
        /* every n-gram ending at this token */
        for (int len = 1; len <= have; len++) {
            uint64_t h = 0xcbf29ce484222325ULL;
            for (int k = have - len; k < have; k++) {
                if (k > have - len) {
                    h ^= (unsigned char)' ';
                    h *= 0x100000001b3ULL;
                }
                for (size_t b = 0; b < tl[k]; b++) {
                    unsigned char c = (unsigned char)tok[k][b];
                    if (o->lowercase && c >= 'A' && c <= 'Z')
                        c = (unsigned char)(c - 'A' + 'a');
                    h ^= c;
                    h *= 0x100000001b3ULL;
                }
            }
            if (hv_push(out, h))
                return -1;
        }
    }
    qsort(out->v, out->n, sizeof *out->v, hv_cmp);
    return 0;
}

/* Open-addressing map feature hash -> document frequency. */
typedef struct hv_df {
    uint64_t *keys;
    uint32_t *df;
    size_t cap, n;
} hv_df;

static uint32_t *hv_df_slot(hv_df *m, uint64_t key, bool insert)
{
    if (key == 0)
        key = 1; /* 0 marks an empty slot */
    if (insert && (m->n + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 1024;
        uint64_t *nk = calloc(cap, sizeof *nk);
        uint32_t *nd = calloc(cap, sizeof *nd);
        if (!nk || !nd) {
            free(nk);
            free(nd);
            return NULL;
        }
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->keys[i])
                continue;
            size_t h = hv_mix(m->keys[i]) & (cap - 1);
            while (nk[h])
                h = (h + 1) & (cap - 1);
            nk[h] = m->keys[i];
            nd[h] = m->df[i];
        }
        free(m->keys);
        free(m->df);
        m->keys = nk;
        m->df = nd;
        m->cap = cap;
    }
    if (!m->cap)
        return NULL;
    size_t h = hv_mix(key) & (m->cap - 1);
    while (m->keys[h] && m->keys[h] != key)
        h = (h + 1) & (m->cap - 1);
    if (!m->keys[h]) {
        if (!insert)
            return NULL;
        m->keys[h] = key;
        m->n++;
    }
    return &m->df[h];
}

int hv_embed(const char *const *texts, size_t n, const hv_opts *o, double *out)
{
    hv_vec f = {0};
    hv_df df = {0};
    int rc = -1;
    /* pass 1: document frequencies */
    if (o->idf) {
        for (size_t i = 0; i < n; i++) {
            if (hv_features(texts[i], o, &f))
                goto done;
            for (size_t k = 0; k < f.n; k++) {
                if (k && f.v[k] == f.v[k - 1])
                    continue;
                uint32_t *d = hv_df_slot(&df, f.v[k], true);
                if (!d)
                    goto done;
                (*d)++;
            }
        }
    }
    /* pass 2: weighted, hashed, normalised */
    for (size_t i = 0; i < n; i++) {
        double *row = out + i * o->dim;
        if (hv_features(texts[i], o, &f))
            goto done;
        for (size_t k = 0; k < f.n;) {
            size_t e = k;
            while (e < f.n && f.v[e] == f.v[k])
                e++;
            double cnt = (double)(e - k);
            double w = o->sublinear_tf ? 1.0 + log(cnt) : cnt;
            if (o->idf) {
                uint32_t *d = hv_df_slot(&df, f.v[k], false);
                double dfv = d ? *d : 0;
                w *= log((1.0 + (double)n) / (1.0 + dfv)) + 1.0;
            }
            uint64_t h = f.v[k];
            double sign = (hv_mix(h) >> 63) ? -1.0 : 1.0;
            row[h % o->dim] += sign * w;
            k = e;
        }
        if (o->l2) {
            double s = 0;
            for (size_t d = 0; d < o->dim; d++)
                s += row[d] * row[d];
            if (s > 0) {
                s = 1.0 / sqrt(s);
                for (size_t d = 0; d < o->dim; d++)
                    row[d] *= s;
            }
        }
    }
    rc = 0;
done:
    free(f.v);
    free(df.keys);
    free(df.df);
    return rc;
}
