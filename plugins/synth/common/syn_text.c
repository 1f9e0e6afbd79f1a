/*
 * syn_text.c - see syn_text.h.
 */
#include "syn_text.h"

#include <stdlib.h>
#include <string.h>

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
}

char *syn_trim_dup(const char *s)
{
    if (!s)
        return NULL;
    size_t a = 0, b = strlen(s);
    while (a < b && is_blank(s[a]))
        a++;
    while (b > a && is_blank(s[b - 1]))
        b--;
    char *o = malloc(b - a + 1);
    if (!o)
        return NULL;
    memcpy(o, s + a, b - a);
    o[b - a] = '\0';
    return o;
}

char *syn_key_dup(const char *s)
{
    char *o = syn_trim_dup(s);
    for (char *p = o; p && *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return o;
}

uint32_t syn_utf8_next(const char *s, size_t n, size_t *i)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t k = *i;
    unsigned char c = u[k];
    uint32_t cp;
    size_t len;
    if (c < 0x80) {
        *i = k + 1;
        return c;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        cp = c & 0x1F;
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        cp = c & 0x0F;
        len = 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
        cp = c & 0x07;
        len = 4;
    } else {
        *i = k + 1;
        return 0xFFFD;
    }
    if (k + len > n) {
        *i = k + 1;
        return 0xFFFD;
    }
    for (size_t j = 1; j < len; j++) {
        if ((u[k + j] & 0xC0) != 0x80) {
            *i = k + 1;
            return 0xFFFD;
        }
        cp = (cp << 6) | (u[k + j] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        *i = k + 1;
        return 0xFFFD;
    }
    *i = k + len;
    return cp;
}

bool syn_utf8_valid(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t a = i;
        uint32_t cp = syn_utf8_next(s, n, &i);
        if (cp == 0xFFFD && !(i - a == 3 && !memcmp(s + a, "\xEF\xBF\xBD", 3)))
            return false;
    }
    return true;
}
