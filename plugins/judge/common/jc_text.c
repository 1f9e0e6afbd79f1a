/*
 * jc_text.c - see jc_text.h.
 */
#include "jc_text.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int jc_buf_put(jc_buf *b, const char *s, size_t n)
{
    if (n > (size_t)-1 / 2 - b->len - 1)
        return ASSAY_ENOMEM;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return ASSAY_ENOMEM;
        b->p = p;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return ASSAY_OK;
}

int jc_buf_puts(jc_buf *b, const char *s)
{
    return jc_buf_put(b, s, strlen(s));
}

int jc_buf_printf(jc_buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return ASSAY_EINVAL;
    if ((size_t)n < sizeof small)
        return jc_buf_put(b, small, (size_t)n);
    char *big = malloc((size_t)n + 1);
    if (!big)
        return ASSAY_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    int rc = jc_buf_put(b, big, (size_t)n);
    free(big);
    return rc;
}

int jc_buf_take(jc_buf *b, char **out)
{
    if (!b->p && jc_buf_put(b, "", 0))
        return ASSAY_ENOMEM;
    *out = b->p;
    b->p = NULL;
    b->len = b->cap = 0;
    return ASSAY_OK;
}

void jc_buf_free(jc_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

char *jc_strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

bool jc_opt_strdup(const json_t *opts, const char *name, char **out)
{
    const char *v = assay_opt_str(opts, name);
    *out = v ? jc_strdup(v) : NULL;
    return !v || *out;
}

size_t jc_utf8_len(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xC0) != 0x80)
            n++;
    return n;
}

int jc_read_file(const char *path, char **out, assay_error *err)
{
    jc_buf b = {0};
    char chunk[4096];
    size_t r;
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return assay_error_set(err, ASSAY_EIO, "%s: cannot open: %s", path,
                               strerror(errno));
    while ((r = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (jc_buf_put(&b, chunk, r)) {
            fclose(f);
            jc_buf_free(&b);
            return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        jc_buf_free(&b);
        return assay_error_set(err, ASSAY_EIO, "%s: read error", path);
    }
    if (jc_buf_take(&b, out))
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    return ASSAY_OK;
}

bool jc_blank(const char *s)
{
    if (!s)
        return true;
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r' && *s != '\f' &&
            *s != '\v')
            return false;
    return true;
}
