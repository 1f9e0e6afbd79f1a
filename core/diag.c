#include "diag.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

void diag_add(diag *d, const char *file, int line, int col, const char *hint,
              const char *fmt, ...)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        diag_item *ni = realloc(d->items, cap * sizeof *ni);
        if (!ni) {
            d->dropped++; /* out of memory: counted, printed as such */
            return;
        }
        d->items = ni;
        d->cap = cap;
    }
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    diag_item *it = &d->items[d->n];
    it->file = strdup(file ? file : "<input>");
    it->line = line;
    it->col = col;
    it->msg = strdup(msg);
    it->hint = hint ? strdup(hint) : NULL;
    if (!it->file || !it->msg) {
        free(it->file);
        free(it->msg);
        free(it->hint);
        d->dropped++;
        return;
    }
    d->n++;
}

static void fmt_item(const diag_item *it, char *buf, size_t n)
{
    if (it->line > 0)
        snprintf(buf, n, "%s:%d:%d: error: %s", it->file, it->line, it->col,
                 it->msg);
    else
        snprintf(buf, n, "%s: error: %s", it->file, it->msg);
}

/* Does item a come before item b in the file?  Files keep the order in
 * which they first appear; within a file, by line and column. */
static bool before(const diag *d, size_t a, size_t b)
{
    const diag_item *x = &d->items[a], *y = &d->items[b];
    if (strcmp(x->file, y->file) != 0) {
        for (size_t i = 0; i < d->n; i++) {
            if (strcmp(d->items[i].file, x->file) == 0)
                return true;
            if (strcmp(d->items[i].file, y->file) == 0)
                return false;
        }
    }
    return x->line < y->line || (x->line == y->line && x->col < y->col);
}

void diag_print(const diag *d, FILE *out)
{
    /* in reading order, so that a file's problems can be fixed top down
     * (validation finds them in passes); stable for equal positions */
    size_t *ord = malloc((d->n ? d->n : 1) * sizeof *ord);
    for (size_t i = 0; ord && i < d->n; i++) {
        size_t j = i;
        for (; j > 0 && before(d, i, ord[j - 1]); j--)
            ord[j] = ord[j - 1];
        ord[j] = i;
    }
    for (size_t k = 0; k < d->n; k++) {
        const diag_item *it = &d->items[ord ? ord[k] : k];
        char buf[2048];
        fmt_item(it, buf, sizeof buf);
        fprintf(out, "%s\n", buf);
        if (it->hint)
            fprintf(out, "  hint: %s\n", it->hint);
    }
    free(ord);
    if (d->dropped)
        fprintf(out, "error: out of memory (%zu message%s lost)\n",
                d->dropped, d->dropped == 1 ? "" : "s");
}

void diag_first(const diag *d, char *buf, size_t n)
{
    if (d->n == 0) {
        snprintf(buf, n, "%s", d->dropped ? "out of memory" : "unknown error");
        return;
    }
    fmt_item(&d->items[0], buf, n);
}

void diag_free(diag *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->items[i].file);
        free(d->items[i].msg);
        free(d->items[i].hint);
    }
    free(d->items);
    d->items = NULL;
    d->n = d->cap = d->dropped = 0;
}
