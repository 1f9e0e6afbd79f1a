/*
 * tests/report/xmlcheck.h - a small XML well-formedness checker for the
 * report tests: one root element, properly nested and closed tags,
 * quoted attributes without '<', only the predefined and numeric
 * entities, valid UTF-8 and no C0 control characters outside tab/LF/CR.
 * Comments and a leading <?xml ...?> are accepted; DTDs, CDATA and
 * processing instructions elsewhere are refused (the charts never emit
 * them).  Header-only: include it in one test file.
 */
#ifndef ASSAY_TEST_XMLCHECK_H
#define ASSAY_TEST_XMLCHECK_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef struct xmlcheck {
    char why[200];
    size_t at; /* byte offset of the problem */
    size_t elements;
} xmlcheck;

static bool xc_fail(xmlcheck *x, size_t at, const char *why)
{
    x->at = at;
    snprintf(x->why, sizeof x->why, "%s", why);
    return false;
}

static bool xc_name_start(unsigned char c)
{
    return c == '_' || c == ':' || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z') || c >= 0x80;
}

static bool xc_name_char(unsigned char c)
{
    return xc_name_start(c) || c == '-' || c == '.' || (c >= '0' && c <= '9');
}

/* Length of a valid UTF-8 sequence, 0 when invalid. */
static size_t xc_utf8(const unsigned char *s, size_t n)
{
    if (s[0] < 0x80)
        return 1;
    size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
    if (!len || len > n || s[0] > 0xf4)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return len;
}

/* Check the entity at s[i] ('&'); returns its length or 0. */
static size_t xc_entity(const char *s, size_t i, size_t n)
{
    static const char *const ents[] = {"&amp;", "&lt;", "&gt;", "&quot;",
                                       "&apos;"};
    for (size_t k = 0; k < 5; k++)
        if (!strncmp(s + i, ents[k], strlen(ents[k])))
            return strlen(ents[k]);
    if (i + 3 < n && s[i + 1] == '#') {
        size_t j = i + 2;
        bool hex = s[j] == 'x';
        if (hex)
            j++;
        size_t d = j;
        while (j < n && ((s[j] >= '0' && s[j] <= '9') ||
                         (hex && ((s[j] >= 'a' && s[j] <= 'f') ||
                                  (s[j] >= 'A' && s[j] <= 'F')))))
            j++;
        if (j > d && j < n && s[j] == ';')
            return j - i + 1;
    }
    return 0;
}

/* Check characters and entities of text or an attribute value
 * s[i..end); `attr`: '<' is an error there as in text. */
static bool xc_chars(xmlcheck *x, const char *s, size_t i, size_t end)
{
    while (i < end) {
        unsigned char c = (unsigned char)s[i];
        if (c == '<')
            return xc_fail(x, i, "'<' in text or attribute");
        if (c == '&') {
            size_t l = xc_entity(s, i, end);
            if (!l)
                return xc_fail(x, i, "bad entity");
            i += l;
            continue;
        }
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
            return xc_fail(x, i, "control character");
        size_t l = xc_utf8((const unsigned char *)s + i, end - i);
        if (!l)
            return xc_fail(x, i, "invalid UTF-8");
        i += l;
    }
    return true;
}

static bool xml_wellformed(const char *s, size_t n, xmlcheck *x)
{
    const char *stack[256];
    size_t lens[256], depth = 0, i = 0;
    bool root_done = false;
    memset(x, 0, sizeof *x);
    if (n >= 5 && !strncmp(s, "<?xml", 5)) {
        const char *e = strstr(s, "?>");
        if (!e)
            return xc_fail(x, 0, "unterminated declaration");
        i = (size_t)(e - s) + 2;
    }
    while (i < n) {
        if (s[i] != '<') {
            size_t j = i;
            while (j < n && s[j] != '<')
                j++;
            if (depth == 0) {
                for (size_t k = i; k < j; k++)
                    if (s[k] != ' ' && s[k] != '\n' && s[k] != '\t' &&
                        s[k] != '\r')
                        return xc_fail(x, k, "text outside the root");
            } else if (!xc_chars(x, s, i, j))
                return false;
            i = j;
            continue;
        }
        if (!strncmp(s + i, "<!--", 4)) {
            const char *e = strstr(s + i + 4, "-->");
            if (!e || (size_t)(e - s) > n)
                return xc_fail(x, i, "unterminated comment");
            i = (size_t)(e - s) + 3;
            continue;
        }
        bool close = s[i + 1] == '/';
        size_t j = i + 1 + close;
        if (j >= n || !xc_name_start((unsigned char)s[j]))
            return xc_fail(x, i, "bad tag name");
        size_t ns = j;
        while (j < n && xc_name_char((unsigned char)s[j]))
            j++;
        size_t nl = j - ns;
        if (close) {
            while (j < n && (s[j] == ' ' || s[j] == '\n'))
                j++;
            if (j >= n || s[j] != '>')
                return xc_fail(x, j, "bad end tag");
            if (!depth || lens[depth - 1] != nl ||
                strncmp(stack[depth - 1], s + ns, nl))
                return xc_fail(x, i, "mismatched end tag");
            depth--;
            if (!depth)
                root_done = true;
            i = j + 1;
            continue;
        }
        if (root_done && depth == 0)
            return xc_fail(x, i, "second root element");
        /* attributes */
        char seen[64][64];
        size_t nseen = 0;
        for (;;) {
            size_t ws = j;
            while (j < n && (s[j] == ' ' || s[j] == '\n' || s[j] == '\t' ||
                             s[j] == '\r'))
                j++;
            if (j >= n)
                return xc_fail(x, i, "unterminated tag");
            if (s[j] == '>' || (s[j] == '/' && j + 1 < n && s[j + 1] == '>'))
                break;
            if (j == ws || !xc_name_start((unsigned char)s[j]))
                return xc_fail(x, j, "bad attribute");
            size_t an = j;
            while (j < n && xc_name_char((unsigned char)s[j]))
                j++;
            size_t al = j - an;
            for (size_t k = 0; k < nseen; k++)
                if (strlen(seen[k]) == al && !strncmp(seen[k], s + an, al))
                    return xc_fail(x, an, "repeated attribute");
            if (nseen < 64 && al < 64) {
                memcpy(seen[nseen], s + an, al);
                seen[nseen++][al] = '\0';
            }
            if (j >= n || s[j] != '=')
                return xc_fail(x, j, "attribute without value");
            j++;
            char q = j < n ? s[j] : 0;
            if (q != '"' && q != '\'')
                return xc_fail(x, j, "unquoted attribute");
            size_t vs = ++j;
            while (j < n && s[j] != q)
                j++;
            if (j >= n)
                return xc_fail(x, vs, "unterminated attribute");
            if (!xc_chars(x, s, vs, j))
                return false;
            j++;
        }
        x->elements++;
        if (s[j] == '/') {
            if (depth == 0)
                root_done = true;
            i = j + 2;
            continue;
        }
        if (depth == 256)
            return xc_fail(x, i, "nesting too deep");
        stack[depth] = s + ns;
        lens[depth++] = nl;
        i = j + 1;
    }
    if (depth)
        return xc_fail(x, n, "unclosed element");
    if (!root_done)
        return xc_fail(x, 0, "no root element");
    return true;
}

#endif
