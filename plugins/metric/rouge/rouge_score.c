/*
 * rouge_score.c - rouge-score compatible ROUGE-N / L / Lsum.
 */
#include "rouge_score.h"

#include <stdio.h>
#include <stdlib.h>

#include "porter.h"

bool rouge_type_parse(const char *name, rouge_type *out)
{
    memset(out, 0, sizeof *out);
    if (!name)
        return false;
    if (strcmp(name, "rougeL") == 0) {
        out->kind = ROUGE_L;
    } else if (strcmp(name, "rougeLsum") == 0) {
        out->kind = ROUGE_LSUM;
    } else if (strncmp(name, "rouge", 5) == 0 && name[5] >= '1' &&
               name[5] <= '9' && name[6] == '\0') {
        out->kind = ROUGE_N;
        out->n = name[5] - '0';
    } else {
        return false;
    }
    snprintf(out->name, sizeof out->name, "%s", name);
    return true;
}

static void doc_free(rouge_doc *d)
{
    tc_buf_free(&d->text);
    tc_words_free(&d->w);
    free(d->id);
    free(d->line);
    memset(d, 0, sizeof *d);
}

void rouge_worker_free(rouge_worker *w)
{
    doc_free(&w->pred);
    doc_free(&w->tgt);
    tc_gtab_free(&w->ids);
    tc_gtab_free(&w->grams);
    free(w->tab);
    free(w->cnt_r);
    free(w->cnt_c);
    free(w->mark);
    memset(w, 0, sizeof *w);
}

static int push_line(rouge_doc *d)
{
    if (d->nlines + 2 > d->cap_line) {
        size_t c = d->cap_line ? 2 * d->cap_line : 16;
        size_t *v = realloc(d->line, c * sizeof *v);
        if (!v)
            return ASSAY_ENOMEM;
        d->line = v;
        d->cap_line = c;
    }
    d->line[++d->nlines] = d->w.n;
    return ASSAY_OK;
}

/* [A-Za-z0-9] -> lowercase; 0 for every other byte. */
static const unsigned char lowmap[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 0, 0, 0, 0, 0, 0,
    0, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111,
    112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 0, 0, 0, 0, 0,
    0, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111,
    112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

/*
 * Lowercase as Python does, keep [a-z0-9] runs as tokens.  Only two
 * non-ASCII characters lowercase to ASCII letters: U+0130 ("i" plus a
 * combining dot, which separates) and U+212A KELVIN SIGN ("k").  One
 * pass: the buffer is sized up front (tokens with NULs, then stems, never
 * longer than their words), so token pointers stay valid.
 */
int rouge_tokenize(const char *s, size_t n, bool stem, rouge_doc *d)
{
    const unsigned char *u = (const unsigned char *)s;
    tc_buf *t = &d->text;
    t->len = 0;
    d->w.n = 0;
    d->nlines = 0;
    if (tc_buf_reserve(t, 3 * n + PORTER_MAX + 16))
        return ASSAY_ENOMEM;
    if (!d->line && push_line(d))
        return ASSAY_ENOMEM;
    d->line[0] = 0;
    d->nlines = 0;
    char *o = t->p;
    size_t stem_at = n + 1; /* stems go after the token text */
    size_t start = 0, line_chars = 0;
    bool in_tok = false;
    for (size_t i = 0; i <= n;) {
        size_t adv = 1;
        char out = 0;
        bool sep_after = false, newline = false;
        if (i < n) {
            unsigned c = u[i];
            out = (char)lowmap[c];
            if (out) {
                /* the common case: extend the token */
                if (in_tok) {
                    *o++ = out;
                    line_chars++;
                    i++;
                    continue;
                }
            } else if (c == '\n') {
                newline = true;
            } else if (c >= 0x80) {
                uint32_t cp = tc_utf8_decode(u + i, n - i, &adv);
                if (cp == 0x130) {
                    out = 'i';
                    sep_after = true;
                } else if (cp == 0x212a) {
                    out = 'k';
                }
            }
        }
        if (out) {
            if (!in_tok) {
                start = (size_t)(o - t->p);
                in_tok = true;
            }
            *o++ = out;
        }
        if (in_tok && (!out || sep_after)) {
            /* end of a token */
            size_t len = (size_t)(o - t->p) - start;
            const char *w = t->p + start;
            *o++ = '\0';
            in_tok = false;
            if (stem && len > 3) {
                size_t sl = porter_stem(w, len, t->p + stem_at);
                w = t->p + stem_at;
                stem_at += sl + 1;
                len = sl;
            }
            if (tc_words_push(&d->w, w, len))
                return ASSAY_ENOMEM;
        }
        if (i == n || newline) {
            if (line_chars && push_line(d))
                return ASSAY_ENOMEM;
            line_chars = 0;
            if (i == n)
                break;
        } else {
            line_chars++;
        }
        i += adv;
    }
    t->len = stem_at;
    return ASSAY_OK;
}

static int ensure_i32(int32_t **p, size_t *cap, size_t n)
{
    if (n <= *cap)
        return ASSAY_OK;
    int32_t *v = realloc(*p, n * sizeof *v);
    if (!v)
        return ASSAY_ENOMEM;
    *p = v;
    *cap = n;
    return ASSAY_OK;
}

/* Integer ids for the tokens of both documents. */
static int assign_ids(rouge_worker *w, int32_t *nid)
{
    rouge_doc *docs[2] = {&w->tgt, &w->pred};
    if (tc_gtab_reset(&w->ids, w->tgt.w.n + w->pred.w.n, true))
        return ASSAY_ENOMEM;
    *nid = 0;
    for (int d = 0; d < 2; d++) {
        rouge_doc *x = docs[d];
        if (ensure_i32(&x->id, &x->cap_id, x->w.n + 1))
            return ASSAY_ENOMEM;
        for (size_t i = 0; i < x->w.n; i++) {
            tc_gram *g = tc_gtab_find(&w->ids, x->w.v[i].h, &x->w.v[i], 1,
                                      true);
            if (!g)
                return ASSAY_EINTERNAL;
            if (g->a == 0)
                g->a = ++*nid;
            x->id[i] = g->a - 1;
        }
    }
    return ASSAY_OK;
}

/* scoring.fmeasure */
static double fmeasure(double p, double r)
{
    return p + r > 0 ? 2 * p * r / (p + r) : 0.0;
}

static int score_ngrams(rouge_worker *w, int n, rouge_prf *out)
{
    const tc_words *t = &w->tgt.w, *p = &w->pred.w;
    size_t tn = t->n >= (size_t)n ? t->n - (size_t)n + 1 : 0;
    size_t pn = p->n >= (size_t)n ? p->n - (size_t)n + 1 : 0;
    if (tc_gtab_reset(&w->grams, tn, true))
        return ASSAY_ENOMEM;
    for (size_t i = 0; i < tn; i++) {
        uint64_t h = 0;
        for (int k = 0; k < n; k++)
            h = tc_hash_next(h, t->v[i + (size_t)k].h);
        tc_gram *g = tc_gtab_find(&w->grams, h, &t->v[i], (uint32_t)n, true);
        if (!g)
            return ASSAY_EINTERNAL;
        g->a++;
    }
    int64_t inter = 0;
    for (size_t i = 0; i < pn; i++) {
        uint64_t h = 0;
        for (int k = 0; k < n; k++)
            h = tc_hash_next(h, p->v[i + (size_t)k].h);
        tc_gram *g = tc_gtab_find(&w->grams, h, &p->v[i], (uint32_t)n,
                                  false);
        if (g && ++g->d <= g->a)
            inter++;
    }
    out->p = (double)inter / (double)(pn > 1 ? pn : 1);
    out->r = (double)inter / (double)(tn > 1 ? tn : 1);
    out->f = fmeasure(out->p, out->r);
    return ASSAY_OK;
}

/* Full LCS table of a[na] x b[nb] into w->tab ((na+1) x (nb+1)). */
static int lcs_table(rouge_worker *w, const int32_t *a, size_t na,
                     const int32_t *b, size_t nb)
{
    size_t cols = nb + 1;
    if (ensure_i32(&w->tab, &w->cap_tab, (na + 1) * cols))
        return ASSAY_ENOMEM;
    int32_t *t = w->tab;
    for (size_t j = 0; j < cols; j++)
        t[j] = 0;
    for (size_t i = 1; i <= na; i++) {
        int32_t *row = t + i * cols, *up = row - cols;
        row[0] = 0;
        for (size_t j = 1; j <= nb; j++) {
            if (a[i - 1] == b[j - 1])
                row[j] = up[j - 1] + 1;
            else
                row[j] = up[j] > row[j - 1] ? up[j] : row[j - 1];
        }
    }
    return ASSAY_OK;
}

/* LCS length with two rows (rougeL). */
static int lcs_len(rouge_worker *w, const int32_t *a, size_t na,
                   const int32_t *b, size_t nb, int32_t *out)
{
    if (ensure_i32(&w->tab, &w->cap_tab, 2 * (nb + 1)))
        return ASSAY_ENOMEM;
    int32_t *prev = w->tab, *cur = w->tab + nb + 1;
    memset(prev, 0, (nb + 1) * sizeof *prev);
    for (size_t i = 1; i <= na; i++) {
        cur[0] = 0;
        int32_t ai = a[i - 1];
        for (size_t j = 1; j <= nb; j++) {
            if (ai == b[j - 1])
                cur[j] = prev[j - 1] + 1;
            else
                cur[j] = prev[j] > cur[j - 1] ? prev[j] : cur[j - 1];
        }
        int32_t *tmp = prev;
        prev = cur;
        cur = tmp;
    }
    *out = prev[nb];
    return ASSAY_OK;
}

static int score_lcs(rouge_worker *w, rouge_prf *out)
{
    size_t nt = w->tgt.w.n, np = w->pred.w.n;
    memset(out, 0, sizeof *out);
    if (!nt || !np)
        return ASSAY_OK;
    int32_t l;
    if (lcs_len(w, w->tgt.id, nt, w->pred.id, np, &l))
        return ASSAY_ENOMEM;
    out->p = (double)l / (double)np;
    out->r = (double)l / (double)nt;
    out->f = fmeasure(out->p, out->r);
    return ASSAY_OK;
}

/* Summary-level LCS (rouge-score _summary_level_lcs). */
static int score_lsum(rouge_worker *w, int32_t nid, rouge_prf *out)
{
    rouge_doc *r = &w->tgt, *c = &w->pred;
    memset(out, 0, sizeof *out);
    if (!r->nlines || !c->nlines || !r->w.n || !c->w.n)
        return ASSAY_OK;
    size_t nids = (size_t)nid + 1;
    if (nids > w->cap_cnt) {
        int32_t *a = realloc(w->cnt_r, nids * sizeof *a);
        if (!a)
            return ASSAY_ENOMEM;
        w->cnt_r = a;
        int32_t *b = realloc(w->cnt_c, nids * sizeof *b);
        if (!b)
            return ASSAY_ENOMEM;
        w->cnt_c = b;
        w->cap_cnt = nids;
    }
    memset(w->cnt_r, 0, nids * sizeof *w->cnt_r);
    memset(w->cnt_c, 0, nids * sizeof *w->cnt_c);
    for (size_t i = 0; i < r->w.n; i++)
        w->cnt_r[r->id[i]]++;
    for (size_t i = 0; i < c->w.n; i++)
        w->cnt_c[c->id[i]]++;
    int64_t hits = 0;
    for (size_t s = 0; s < r->nlines; s++) {
        const int32_t *ref = r->id + r->line[s];
        size_t nr = r->line[s + 1] - r->line[s];
        if (!nr)
            continue;
        if (nr > w->cap_mark) {
            uint8_t *m = realloc(w->mark, nr);
            if (!m)
                return ASSAY_ENOMEM;
            w->mark = m;
            w->cap_mark = nr;
        }
        memset(w->mark, 0, nr);
        for (size_t q = 0; q < c->nlines; q++) {
            const int32_t *can = c->id + c->line[q];
            size_t nc = c->line[q + 1] - c->line[q];
            if (!nc)
                continue;
            if (lcs_table(w, ref, nr, can, nc))
                return ASSAY_ENOMEM;
            /* backtrack (_backtrack_norec), marking reference indices */
            size_t i = nr, j = nc, cols = nc + 1;
            const int32_t *t = w->tab;
            while (i > 0 && j > 0) {
                if (ref[i - 1] == can[j - 1]) {
                    w->mark[i - 1] = 1;
                    i--;
                    j--;
                } else if (t[i * cols + j - 1] > t[(i - 1) * cols + j]) {
                    j--;
                } else {
                    i--;
                }
            }
        }
        for (size_t i = 0; i < nr; i++) {
            if (!w->mark[i])
                continue;
            int32_t tok = ref[i];
            if (w->cnt_c[tok] > 0 && w->cnt_r[tok] > 0) {
                hits++;
                w->cnt_c[tok]--;
                w->cnt_r[tok]--;
            }
        }
    }
    out->r = (double)hits / (double)r->w.n;
    out->p = (double)hits / (double)c->w.n;
    out->f = fmeasure(out->p, out->r);
    return ASSAY_OK;
}

int rouge_pair(rouge_worker *w, const rouge_config *cfg, const tc_str *target,
               const tc_str *pred, rouge_prf *out)
{
    int rc;
    int32_t nid;
    if ((rc = rouge_tokenize(target->p, target->len, cfg->stem, &w->tgt)) ||
        (rc = rouge_tokenize(pred->p, pred->len, cfg->stem, &w->pred)) ||
        (rc = assign_ids(w, &nid)))
        return rc;
    for (int k = 0; k < cfg->ntypes; k++) {
        const rouge_type *ty = &cfg->types[k];
        if (ty->kind == ROUGE_N)
            rc = score_ngrams(w, ty->n, &out[k]);
        else if (ty->kind == ROUGE_L)
            rc = score_lcs(w, &out[k]);
        else
            rc = score_lsum(w, nid, &out[k]);
        if (rc)
            return rc;
    }
    return ASSAY_OK;
}

int rouge_multi(rouge_worker *w, const rouge_config *cfg, const tc_str *pred,
                const tc_str *targets, size_t ntargets, rouge_prf *out)
{
    rouge_prf cur[ROUGE_MAX_TYPES];
    memset(out, 0, (size_t)cfg->ntypes * sizeof *out);
    for (size_t t = 0; t < ntargets; t++) {
        int rc = rouge_pair(w, cfg, &targets[t], pred, cur);
        if (rc)
            return rc;
        for (int k = 0; k < cfg->ntypes; k++)
            if (t == 0 || cur[k].f > out[k].f)
                out[k] = cur[k];
    }
    return ASSAY_OK;
}
