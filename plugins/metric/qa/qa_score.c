/*
 * qa_score.c - SQuAD-style exact match and token F1.
 */
#include "qa_score.h"

#include <stdlib.h>
#include <utf8proc.h>

void qa_worker_free(qa_worker *w)
{
    tc_buf_free(&w->low);
    tc_buf_free(&w->a);
    tc_buf_free(&w->b);
    tc_buf_free(&w->tp);
    tc_buf_free(&w->tg);
    tc_words_free(&w->wp);
    tc_words_free(&w->wg);
    tc_gtab_free(&w->tab);
    memset(w, 0, sizeof *w);
}

/* string.punctuation */
static bool is_ascii_punct(uint32_t c)
{
    return c < 0x80 && c && strchr("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
                                   (int)c) != NULL;
}

/* Python's \w for str patterns: alphanumerics and the underscore. */
static bool is_word_char(uint32_t c)
{
    if (c < 0x80)
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               (c >= '0' && c <= '9') || c == '_';
    switch (utf8proc_category((utf8proc_int32_t)c)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT: case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
        return true;
    default:
        return false;
    }
}

static bool is_article(const char *p, size_t n)
{
    return (n == 1 && p[0] == 'a') || (n == 2 && memcmp(p, "an", 2) == 0) ||
           (n == 3 && memcmp(p, "the", 3) == 0);
}

int qa_tokens(qa_worker *w, const char *s, size_t n, tc_buf *text,
              tc_words *out)
{
    /* lower, then drop ASCII punctuation */
    w->low.len = 0;
    w->a.len = 0;
    text->len = 0;
    out->n = 0;
    if (tc_lower(s, n, &w->low) || tc_buf_reserve(&w->a, w->low.len) ||
        tc_buf_reserve(text, w->low.len + 1))
        return ASSAY_ENOMEM;
    const unsigned char *u = (const unsigned char *)w->low.p;
    for (size_t i = 0; i < w->low.len;) {
        size_t adv;
        uint32_t c = tc_utf8_decode(u + i, w->low.len - i, &adv);
        if (!is_ascii_punct(c)) {
            memcpy(w->a.p + w->a.len, u + i, adv);
            w->a.len += adv;
        }
        i += adv;
    }
    /* \b(a|an|the)\b -> " ": a maximal run of word characters that is
     * one of the articles */
    u = (const unsigned char *)w->a.p;
    size_t m = w->a.len;
    for (size_t i = 0; i < m;) {
        size_t adv;
        uint32_t c = tc_utf8_decode(u + i, m - i, &adv);
        if (!is_word_char(c)) {
            memcpy(text->p + text->len, u + i, adv);
            text->len += adv;
            i += adv;
            continue;
        }
        size_t j = i;
        while (j < m) {
            uint32_t d = tc_utf8_decode(u + j, m - j, &adv);
            if (!is_word_char(d))
                break;
            j += adv;
        }
        if (is_article((const char *)u + i, j - i)) {
            text->p[text->len++] = ' ';
        } else {
            memcpy(text->p + text->len, u + i, j - i);
            text->len += j - i;
        }
        i = j;
    }
    text->p[text->len] = '\0';
    return tc_split(text->p, text->len, out);
}

static bool same_tokens(const tc_words *a, const tc_words *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (!tc_word_eq(&a->v[i], &b->v[i]))
            return false;
    return true;
}

/* compute_f1 of the SQuAD script for one answer. */
static int f1_one(qa_worker *w, bool v1, double *out)
{
    const tc_words *g = &w->wg, *p = &w->wp;
    if (g->n == 0 || p->n == 0) {
        *out = v1 ? 0.0 : (g->n == p->n ? 1.0 : 0.0);
        return ASSAY_OK;
    }
    if (tc_gtab_reset(&w->tab, g->n, true))
        return ASSAY_ENOMEM;
    for (size_t i = 0; i < g->n; i++) {
        tc_gram *e = tc_gtab_find(&w->tab, g->v[i].h, &g->v[i], 1, true);
        if (!e)
            return ASSAY_EINTERNAL;
        e->a++;
    }
    int64_t same = 0;
    for (size_t i = 0; i < p->n; i++) {
        tc_gram *e = tc_gtab_find(&w->tab, p->v[i].h, &p->v[i], 1, false);
        if (e && ++e->d <= e->a)
            same++;
    }
    if (same == 0) {
        *out = 0.0;
        return ASSAY_OK;
    }
    double prec = 1.0 * (double)same / (double)p->n;
    double rec = 1.0 * (double)same / (double)g->n;
    *out = (2 * prec * rec) / (prec + rec);
    return ASSAY_OK;
}

int qa_score(qa_worker *w, const tc_str *pred, const tc_str *gold,
             size_t ngold, bool v1, double *em, double *f1)
{
    static const tc_str empty = {"", 0};
    int rc = qa_tokens(w, pred->p, pred->len, &w->tp, &w->wp);
    if (rc)
        return rc;
    if (ngold == 0) {
        gold = &empty;
        ngold = 1;
    }
    *em = 0.0;
    *f1 = 0.0;
    for (size_t k = 0; k < ngold; k++) {
        double f;
        if ((rc = qa_tokens(w, gold[k].p, gold[k].len, &w->tg, &w->wg)) ||
            (rc = f1_one(w, v1, &f)))
            return rc;
        if (same_tokens(&w->wp, &w->wg))
            *em = 1.0;
        if (f > *f1)
            *f1 = f;
    }
    return ASSAY_OK;
}
