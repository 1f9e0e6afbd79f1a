/*
 * keymap.c - open-addressing hash map from integer or string keys to
 * dense ids (insertion order).
 */
#include "statcommon.h"

#include <stdlib.h>
#include <string.h>

uint64_t sc_hash_str(const char *s)
{
    /* FNV-1a, then a final mix so that the low bits are usable */
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    return sc_hash_i64((int64_t)h);
}

int sc_keymap_init(sc_keymap *m, bool is_str, size_t expected,
                   assay_error *err)
{
    memset(m, 0, sizeof *m);
    m->is_str = is_str;
    size_t cap = 16;
    while (cap < expected * 2 + 2)
        cap <<= 1;
    m->cap = cap;
    m->slot = calloc(cap, sizeof *m->slot);
    m->idcap = expected ? expected : 8;
    m->first = malloc(m->idcap * sizeof *m->first);
    if (is_str)
        m->sval = malloc(m->idcap * sizeof *m->sval);
    else
        m->ival = malloc(m->idcap * sizeof *m->ival);
    if (!m->slot || !m->first || (is_str ? !m->sval : !m->ival)) {
        sc_keymap_free(m);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    return ASSAY_OK;
}

void sc_keymap_free(sc_keymap *m)
{
    free(m->slot);
    free(m->ival);
    free(m->sval);
    free(m->first);
    memset(m, 0, sizeof *m);
}

static uint64_t key_hash(const sc_keys *k, size_t r)
{
    return k->is_str ? sc_hash_str(k->s[r]) : sc_hash_i64(k->i[r]);
}

static bool key_eq(const sc_keymap *m, uint32_t id, const sc_keys *k,
                   size_t r)
{
    return m->is_str ? strcmp(m->sval[id], k->s[r]) == 0
                     : m->ival[id] == k->i[r];
}

static int keymap_grow(sc_keymap *m, assay_error *err)
{
    size_t cap = m->cap * 2;
    uint32_t *slot = calloc(cap, sizeof *slot);
    if (!slot)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    for (size_t id = 0; id < m->n; id++) {
        uint64_t h = m->is_str ? sc_hash_str(m->sval[id])
                               : sc_hash_i64(m->ival[id]);
        size_t p = (size_t)h & (cap - 1);
        while (slot[p])
            p = (p + 1) & (cap - 1);
        slot[p] = (uint32_t)id + 1;
    }
    free(m->slot);
    m->slot = slot;
    m->cap = cap;
    return ASSAY_OK;
}

bool sc_keymap_find(const sc_keymap *m, const sc_keys *k, size_t r,
                    size_t *id)
{
    size_t p = (size_t)key_hash(k, r) & (m->cap - 1);
    while (m->slot[p]) {
        uint32_t cand = m->slot[p] - 1;
        if (key_eq(m, cand, k, r)) {
            *id = cand;
            return true;
        }
        p = (p + 1) & (m->cap - 1);
    }
    return false;
}

int sc_keymap_intern(sc_keymap *m, const sc_keys *k, size_t r, size_t *id,
                     bool *isnew, assay_error *err)
{
    if (sc_keymap_find(m, k, r, id)) {
        if (isnew)
            *isnew = false;
        return ASSAY_OK;
    }
    if (m->n >= UINT32_MAX - 1)
        return assay_error_set(err, ASSAY_EINVAL, "too many distinct ids");
    if ((m->n + 1) * 2 > m->cap) {
        int rc = keymap_grow(m, err);
        if (rc)
            return rc;
    }
    if (m->n == m->idcap) {
        size_t nc = m->idcap ? m->idcap * 2 : 8;
        size_t *f = realloc(m->first, nc * sizeof *f);
        if (!f)
            return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        m->first = f;
        if (m->is_str) {
            const char **s = realloc(m->sval, nc * sizeof *s);
            if (!s)
                return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            m->sval = s;
        } else {
            int64_t *iv = realloc(m->ival, nc * sizeof *iv);
            if (!iv)
                return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            m->ival = iv;
        }
        m->idcap = nc;
    }
    size_t nid = m->n++;
    if (m->is_str)
        m->sval[nid] = k->s[r];
    else
        m->ival[nid] = k->i[r];
    m->first[nid] = r;
    size_t p = (size_t)key_hash(k, r) & (m->cap - 1);
    while (m->slot[p])
        p = (p + 1) & (m->cap - 1);
    m->slot[p] = (uint32_t)nid + 1;
    *id = nid;
    if (isnew)
        *isnew = true;
    return ASSAY_OK;
}
