/*
 * textio.c - delimited text helpers of source.interactions (see textio.h).
 */
#include "textio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tio_file_read(const char *path, tio_file *f, assay_error *err)
{
    memset(f, 0, sizeof *f);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return assay_error_set(err, ASSAY_EIO, "cannot open '%s': %s", path,
                               strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    if (!buf) {
        fclose(fp);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    for (;;) {
        if (len == cap) {
            size_t ncap = cap * 2;
            char *nb = realloc(buf, ncap + 1);
            if (!nb) {
                free(buf);
                fclose(fp);
                return assay_error_set(err, ASSAY_ENOMEM,
                                       "out of memory reading '%s'", path);
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + len, 1, cap - len, fp);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(fp)) {
        free(buf);
        fclose(fp);
        return assay_error_set(err, ASSAY_EIO, "cannot read '%s'", path);
    }
    fclose(fp);
    buf[len] = '\0';
    f->data = buf;
    f->len = len;
    /* skip a UTF-8 byte order mark */
    if (len >= 3 && (unsigned char)buf[0] == 0xEF &&
        (unsigned char)buf[1] == 0xBB && (unsigned char)buf[2] == 0xBF)
        f->pos = 3;
    return ASSAY_OK;
}

void tio_file_free(tio_file *f)
{
    free(f->data);
    memset(f, 0, sizeof *f);
}

bool tio_next_line(tio_file *f, const char **line, size_t *len)
{
    if (f->pos >= f->len)
        return false;
    const char *s = f->data + f->pos;
    const char *nl = memchr(s, '\n', f->len - f->pos);
    size_t n = nl ? (size_t)(nl - s) : f->len - f->pos;
    f->pos += n + (nl ? 1 : 0);
    if (n > 0 && s[n - 1] == '\r')
        n--;
    *line = s;
    *len = n;
    f->line_no++;
    return true;
}

size_t tio_split(const char *line, size_t len, tio_sep sep, tio_field *out,
                 size_t max, char *scratch)
{
    size_t nf = 0, i = 0;
    if (sep == TIO_SPACE) {
        while (i < len) {
            while (i < len && (line[i] == ' ' || line[i] == '\t'))
                i++;
            if (i >= len)
                break;
            size_t b = i;
            while (i < len && line[i] != ' ' && line[i] != '\t')
                i++;
            if (nf < max)
                out[nf] = (tio_field){line + b, i - b};
            nf++;
        }
        return nf;
    }
    char c = sep == TIO_TAB     ? '\t'
             : sep == TIO_PIPE  ? '|'
             : sep == TIO_COMMA ? ','
                                : ':';
    size_t sc = 0;
    for (;;) {
        tio_field fl;
        if (sep == TIO_COMMA && i < len && line[i] == '"') {
            /* quoted: "" is a literal quote, the field ends at the
             * closing quote */
            size_t b = sc;
            i++;
            while (i < len) {
                if (line[i] == '"') {
                    if (i + 1 < len && line[i + 1] == '"') {
                        scratch[sc++] = '"';
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                scratch[sc++] = line[i++];
            }
            /* anything after the closing quote up to the separator */
            while (i < len && line[i] != ',')
                scratch[sc++] = line[i++];
            fl = (tio_field){scratch + b, sc - b};
        } else {
            size_t b = i;
            if (sep == TIO_DCOLON) {
                while (i < len &&
                       !(line[i] == ':' && i + 1 < len && line[i + 1] == ':'))
                    i++;
            } else {
                while (i < len && line[i] != c)
                    i++;
            }
            fl = (tio_field){line + b, i - b};
        }
        if (nf < max)
            out[nf] = fl;
        nf++;
        if (i >= len)
            break;
        i += sep == TIO_DCOLON ? 2 : 1; /* the separator */
        if (i > len)
            break;
    }
    return nf;
}

static tio_field trim(tio_field f)
{
    while (f.len && (f.s[0] == ' ' || f.s[0] == '\t')) {
        f.s++;
        f.len--;
    }
    while (f.len && (f.s[f.len - 1] == ' ' || f.s[f.len - 1] == '\t'))
        f.len--;
    return f;
}

bool tio_parse_i64(tio_field f, int64_t *out)
{
    char buf[32];
    f = trim(f);
    if (f.len == 0 || f.len >= sizeof buf)
        return false;
    memcpy(buf, f.s, f.len);
    buf[f.len] = '\0';
    char *end = NULL;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (errno || end != buf + f.len)
        return false;
    *out = (int64_t)v;
    return true;
}

bool tio_parse_f64(tio_field f, double *out)
{
    char buf[64];
    f = trim(f);
    if (f.len == 0 || f.len >= sizeof buf)
        return false;
    memcpy(buf, f.s, f.len);
    buf[f.len] = '\0';
    char *end = NULL;
    errno = 0;
    double v = strtod(buf, &end);
    if (end != buf + f.len || !isfinite(v))
        return false;
    *out = v;
    return true;
}

bool tio_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned char c = p[i];
        size_t n;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        for (size_t k = 1; k <= n; k++) {
            if (i + k >= len || (p[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
            (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += n + 1;
    }
    return true;
}

int tio_to_utf8(const char *s, size_t len, char **out, size_t *olen)
{
    bool ok = tio_utf8_valid(s, len);
    char *d = malloc(ok ? len + 1 : 2 * len + 1);
    if (!d)
        return ASSAY_ENOMEM;
    size_t n = 0;
    if (ok) {
        memcpy(d, s, len);
        n = len;
    } else {
        for (size_t i = 0; i < len; i++) {
            unsigned char c = (unsigned char)s[i];
            if (c < 0x80) {
                d[n++] = (char)c;
            } else {
                d[n++] = (char)(0xC0 | (c >> 6));
                d[n++] = (char)(0x80 | (c & 0x3F));
            }
        }
    }
    d[n] = '\0';
    *out = d;
    *olen = n;
    return ASSAY_OK;
}

/* ---- string map (open addressing, FNV-1a) ------------------------------- */

struct tio_map {
    int64_t *slots; /* dense id + 1; 0 empty */
    size_t cap;     /* power of two */
    char **keys;    /* by dense id */
    size_t *lens;
    size_t n, keycap;
};

static uint64_t fnv1a(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

tio_map *tio_map_new(void)
{
    tio_map *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->cap = 1024;
    m->slots = calloc(m->cap, sizeof *m->slots);
    if (!m->slots) {
        free(m);
        return NULL;
    }
    return m;
}

void tio_map_free(tio_map *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++)
        free(m->keys[i]);
    free(m->keys);
    free(m->lens);
    free(m->slots);
    free(m);
}

static size_t map_probe(const tio_map *m, const char *s, size_t len)
{
    size_t mask = m->cap - 1, i = (size_t)fnv1a(s, len) & mask;
    for (;;) {
        int64_t v = m->slots[i];
        if (v == 0)
            return i;
        size_t id = (size_t)(v - 1);
        if (m->lens[id] == len && memcmp(m->keys[id], s, len) == 0)
            return i;
        i = (i + 1) & mask;
    }
}

static int map_grow(tio_map *m)
{
    size_t ncap = m->cap * 2;
    int64_t *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return ASSAY_ENOMEM;
    int64_t *old = m->slots;
    m->slots = ns;
    m->cap = ncap;
    for (size_t id = 0; id < m->n; id++)
        m->slots[map_probe(m, m->keys[id], m->lens[id])] = (int64_t)id + 1;
    free(old);
    return ASSAY_OK;
}

int tio_map_get(tio_map *m, const char *s, size_t len, int64_t *id)
{
    size_t at = map_probe(m, s, len);
    if (m->slots[at]) {
        *id = m->slots[at] - 1;
        return ASSAY_OK;
    }
    if (m->n == m->keycap) {
        size_t nk = m->keycap ? m->keycap * 2 : 256;
        char **k = realloc(m->keys, nk * sizeof *k);
        if (!k)
            return ASSAY_ENOMEM;
        m->keys = k;
        size_t *l = realloc(m->lens, nk * sizeof *l);
        if (!l)
            return ASSAY_ENOMEM;
        m->lens = l;
        m->keycap = nk;
    }
    char *key = malloc(len + 1);
    if (!key)
        return ASSAY_ENOMEM;
    memcpy(key, s, len);
    key[len] = '\0';
    m->keys[m->n] = key;
    m->lens[m->n] = len;
    m->slots[at] = (int64_t)m->n + 1;
    *id = (int64_t)m->n;
    m->n++;
    if (2 * m->n > m->cap && map_grow(m) != ASSAY_OK)
        return ASSAY_ENOMEM;
    return ASSAY_OK;
}

int64_t tio_map_find(const tio_map *m, const char *s, size_t len)
{
    size_t at = map_probe(m, s, len);
    return m->slots[at] ? m->slots[at] - 1 : -1;
}

size_t tio_map_size(const tio_map *m)
{
    return m->n;
}

const char *tio_map_key(const tio_map *m, int64_t id)
{
    return id >= 0 && (size_t)id < m->n ? m->keys[id] : NULL;
}
