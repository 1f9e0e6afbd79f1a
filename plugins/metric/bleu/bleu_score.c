/*
 * bleu_score.c - sacreBLEU-compatible BLEU statistics and score.
 */
#include "bleu_score.h"

#include <math.h>
#include <stdlib.h>

void bleu_worker_free(bleu_worker *w)
{
    tc_scratch_free(&w->scratch);
    tc_buf_free(&w->low);
    tc_buf_free(&w->text_h);
    for (size_t i = 0; i < w->n_text_r; i++)
        tc_buf_free(&w->text_r[i]);
    free(w->text_r);
    tc_words_free(&w->wh);
    tc_words_free(&w->wr);
    free(w->roff);
    tc_gtab_free(&w->tab);
    free(w->itab);
    free(w->ids);
    free(w->vtab);
    memset(w, 0, sizeof *w);
}

/* Lowercase (when asked), strip trailing whitespace and tokenize one
 * segment the way BLEU._preprocess_segment does. */
static int prep(bleu_worker *w, const bleu_config *cfg, const tc_str *s,
                tc_buf *text, tc_words *out)
{
    const char *p = s->p;
    size_t n = s->len;
    if (cfg->lowercase) {
        w->low.len = 0;
        if (tc_lower(p, n, &w->low))
            return ASSAY_ENOMEM;
        p = w->low.p ? w->low.p : "";
        n = w->low.len;
    }
    n = tc_rstrip_len(p, n);
    return tc_tokenize(cfg->tokenizer, p, n, &w->scratch, text, out);
}

static int grow_refs(bleu_worker *w, size_t nrefs)
{
    if (nrefs <= w->n_text_r)
        return ASSAY_OK;
    tc_buf *t = realloc(w->text_r, nrefs * sizeof *t);
    if (!t)
        return ASSAY_ENOMEM;
    memset(t + w->n_text_r, 0, (nrefs - w->n_text_r) * sizeof *t);
    w->text_r = t;
    w->n_text_r = nrefs;
    size_t *o = realloc(w->roff, (nrefs + 1) * sizeof *o);
    if (!o)
        return ASSAY_ENOMEM;
    w->roff = o;
    w->n_roff = nrefs + 1;
    return ASSAY_OK;
}

/* ---- packed n-gram keys --------------------------------------------------
 * With at most 4 orders and fewer than 65536 distinct tokens in a segment
 * (always, in practice), an n-gram is four 16-bit token ids packed in a
 * 64-bit integer (ids start at 1, so orders never collide), and the
 * n-gram table is a flat open-addressing table of integers: no token
 * comparisons per lookup.  Results equal the general path's
 * (bleu_segment_ref), which tests check. */

static int itab_reset(bleu_worker *w, size_t expect)
{
    size_t cap = 64;
    unsigned bits = 6;
    while (cap < 2 * expect + 2) {
        cap *= 2;
        bits++;
    }
    w->ishift = 64 - bits;
    if (cap > w->ialloc) {
        bleu_ikey *v = realloc(w->itab, cap * sizeof *v);
        if (!v)
            return ASSAY_ENOMEM;
        memset(v, 0, cap * sizeof *v);
        w->itab = v;
        w->ialloc = cap;
        w->iepoch = 0;
    }
    if (++w->iepoch == 0) {
        memset(w->itab, 0, w->ialloc * sizeof *w->itab);
        w->iepoch = 1;
    }
    w->icap = cap;
    return ASSAY_OK;
}

static inline bleu_ikey *itab_find(bleu_worker *w, uint64_t key, bool add)
{
    size_t mask = w->icap - 1;
    /* Fibonacci hashing: the top bits of the product */
    size_t i = (size_t)((key * 0x9e3779b97f4a7c15ULL) >> w->ishift);
    for (;;) {
        bleu_ikey *e = &w->itab[i];
        if (e->epoch != w->iepoch) {
            if (!add)
                return NULL;
            e->key = key;
            e->epoch = w->iepoch;
            e->a = e->b = e->c = e->d = 0;
            return e;
        }
        if (e->key == key)
            return e;
        i = (i + 1) & mask;
    }
}

/* Token ids (1-based) of hypothesis and references through a small
 * open-addressing table of (hash, token) with exact comparison; false
 * when there are too many distinct tokens for 16-bit ids. */
static int token_ids(bleu_worker *w, bool *ok)
{
    size_t nt = w->wh.n + w->wr.n;
    *ok = false;
    if (nt + 1 > w->ncap_ids) {
        uint16_t *v = realloc(w->ids, (nt + 1) * sizeof *v);
        if (!v)
            return ASSAY_ENOMEM;
        w->ids = v;
        w->ncap_ids = nt + 1;
    }
    size_t cap = 64;
    unsigned bits = 6;
    while (cap < 2 * nt + 2) {
        cap *= 2;
        bits++;
    }
    if (cap > w->valloc) {
        bleu_vkey *v = realloc(w->vtab, cap * sizeof *v);
        if (!v)
            return ASSAY_ENOMEM;
        memset(v, 0, cap * sizeof *v);
        w->vtab = v;
        w->valloc = cap;
        w->vepoch = 0;
    }
    if (++w->vepoch == 0) {
        memset(w->vtab, 0, w->valloc * sizeof *w->vtab);
        w->vepoch = 1;
    }
    size_t mask = cap - 1;
    uint32_t next = 0, ep = w->vepoch;
    for (size_t i = 0; i < nt; i++) {
        const tc_word *t = i < w->wh.n ? &w->wh.v[i] : &w->wr.v[i - w->wh.n];
        size_t q = (size_t)(t->h >> (64 - bits));
        for (;;) {
            bleu_vkey *e = &w->vtab[q];
            if (e->epoch != ep) {
                if (next == 65535)
                    return ASSAY_OK;
                e->epoch = ep;
                e->h = t->h;
                e->w = t;
                e->id = (uint16_t)++next;
                w->ids[i] = e->id;
                break;
            }
            if (e->h == t->h && tc_word_eq(e->w, t)) {
                w->ids[i] = e->id;
                break;
            }
            q = (q + 1) & mask;
        }
    }
    *ok = true;
    return ASSAY_OK;
}

static int packed_counts(bleu_worker *w, int order, size_t nrefs,
                         bleu_stats *out)
{
    const uint16_t *hid = w->ids, *rid = w->ids + w->wh.n;
    if (itab_reset(w, w->wr.n * (size_t)order))
        return ASSAY_ENOMEM;
    for (size_t k = 0; k < nrefs; k++) {
        const uint16_t *r = rid + w->roff[k];
        size_t len = w->roff[k + 1] - w->roff[k];
        for (size_t i = 0; i < len; i++) {
            uint64_t key = 0;
            int top = len - i < (size_t)order ? (int)(len - i) : order;
            for (int n = 0; n < top; n++) {
                key |= (uint64_t)r[i + (size_t)n] << (16 * n);
                bleu_ikey *e = itab_find(w, key, true);
                if (nrefs == 1) { /* one reference: its count is the max */
                    e->a++;
                    continue;
                }
                if (e->c != (int32_t)k + 1) {
                    e->c = (int32_t)k + 1;
                    e->b = 0;
                }
                if (++e->b > e->a)
                    e->a = e->b;
            }
        }
    }
    size_t hl = w->wh.n;
    for (int n = 0; n < order; n++)
        out->total[n] = hl > (size_t)n ? (int64_t)(hl - (size_t)n) : 0;
    for (size_t i = 0; i < hl; i++) {
        uint64_t key = 0;
        int top = hl - i < (size_t)order ? (int)(hl - i) : order;
        for (int n = 0; n < top; n++) {
            key |= (uint64_t)hid[i + (size_t)n] << (16 * n);
            bleu_ikey *e = itab_find(w, key, false);
            if (!e) /* no reference has it, nor any longer n-gram */
                break;
            if (++e->d <= e->a)
                out->correct[n]++;
        }
    }
    return ASSAY_OK;
}

static int segment(bleu_worker *w, const bleu_config *cfg, const tc_str *hyp,
                   const tc_str *refs, size_t nrefs, bool packed,
                   bleu_stats *out);

int bleu_segment(bleu_worker *w, const bleu_config *cfg, const tc_str *hyp,
                 const tc_str *refs, size_t nrefs, bleu_stats *out)
{
    return segment(w, cfg, hyp, refs, nrefs, cfg->order <= 4, out);
}

int bleu_segment_ref(bleu_worker *w, const bleu_config *cfg,
                     const tc_str *hyp, const tc_str *refs, size_t nrefs,
                     bleu_stats *out)
{
    return segment(w, cfg, hyp, refs, nrefs, false, out);
}

static int segment(bleu_worker *w, const bleu_config *cfg, const tc_str *hyp,
                   const tc_str *refs, size_t nrefs, bool packed,
                   bleu_stats *out)
{
    int order = cfg->order, rc;
    memset(out, 0, sizeof *out);
    if ((rc = grow_refs(w, nrefs ? nrefs : 1)))
        return rc;
    w->wh.n = 0;
    w->wr.n = 0;
    if ((rc = prep(w, cfg, hyp, &w->text_h, &w->wh)))
        return rc;
    size_t expect = 0;
    for (size_t k = 0; k < nrefs; k++) {
        w->roff[k] = w->wr.n;
        if ((rc = prep(w, cfg, &refs[k], &w->text_r[k], &w->wr)))
            return rc;
        expect += (w->wr.n - w->roff[k]) * (size_t)order;
    }
    w->roff[nrefs] = w->wr.n;

    /* closest reference length, ties to the shorter */
    int64_t hyp_len = (int64_t)w->wh.n, best_len = -1, best_diff = -1;
    for (size_t k = 0; k < nrefs; k++) {
        size_t len = w->roff[k + 1] - w->roff[k];
        int64_t diff = llabs(hyp_len - (int64_t)len);
        if (best_diff < 0 || diff < best_diff) {
            best_diff = diff;
            best_len = (int64_t)len;
        } else if (diff == best_diff && (int64_t)len < best_len) {
            best_len = (int64_t)len;
        }
    }
    out->sys_len = hyp_len;
    out->ref_len = best_len < 0 ? 0 : best_len;
    if (packed) {
        bool ok;
        if ((rc = token_ids(w, &ok)))
            return rc;
        if (ok)
            return packed_counts(w, order, nrefs, out);
    }

    if ((rc = tc_gtab_reset(&w->tab, expect, true)))
        return rc;
    /* reference n-grams: the maximum count over the references (a), with
     * the count in the current reference (b) tagged by reference (c) */
    for (size_t k = 0; k < nrefs; k++) {
        const tc_word *r = w->wr.v + w->roff[k];
        size_t len = w->roff[k + 1] - w->roff[k];
        for (size_t i = 0; i < len; i++) {
            uint64_t h = 0;
            for (int n = 1; n <= order && i + (size_t)n <= len; n++) {
                h = tc_hash_next(h, r[i + n - 1].h);
                tc_gram *g = tc_gtab_find(&w->tab, h, &r[i], (uint32_t)n,
                                          true);
                if (!g)
                    return ASSAY_EINTERNAL;
                if (g->c != (int32_t)k + 1) {
                    g->c = (int32_t)k + 1;
                    g->b = 0;
                }
                if (++g->b > g->a)
                    g->a = g->b;
            }
        }
    }

    /* hypothesis n-grams: clipped matches, counted as they come (d) */
    const tc_word *hw = w->wh.v;
    size_t hl = w->wh.n;
    for (size_t i = 0; i < hl; i++) {
        uint64_t h = 0;
        for (int n = 1; n <= order && i + (size_t)n <= hl; n++) {
            h = tc_hash_next(h, hw[i + n - 1].h);
            out->total[n - 1]++;
            tc_gram *g = tc_gtab_find(&w->tab, h, &hw[i], (uint32_t)n,
                                      false);
            if (g && ++g->d <= g->a)
                out->correct[n - 1]++;
        }
    }
    return ASSAY_OK;
}

void bleu_stats_add(bleu_stats *a, const bleu_stats *b)
{
    a->sys_len += b->sys_len;
    a->ref_len += b->ref_len;
    for (int n = 0; n < BLEU_MAX_ORDER; n++) {
        a->correct[n] += b->correct[n];
        a->total[n] += b->total[n];
    }
}

void bleu_stats_pack(const bleu_stats *s, int order, int32_t *out)
{
    out[0] = (int32_t)s->sys_len;
    out[1] = (int32_t)s->ref_len;
    for (int n = 0; n < order; n++) {
        out[2 + n] = (int32_t)s->correct[n];
        out[2 + order + n] = (int32_t)s->total[n];
    }
}

void bleu_stats_unpack(const int32_t *in, int order, bleu_stats *s)
{
    memset(s, 0, sizeof *s);
    bleu_stats_add_packed(s, in, order);
}

void bleu_stats_add_packed(bleu_stats *sum, const int32_t *in, int order)
{
    sum->sys_len += in[0];
    sum->ref_len += in[1];
    for (int n = 0; n < order; n++) {
        sum->correct[n] += in[2 + n];
        sum->total[n] += in[2 + order + n];
    }
}

/* sacreBLEU's my_log: a huge negative number stands in for log(0). */
static double my_log(double x)
{
    return x == 0.0 ? -9999999999.0 : log(x);
}

void bleu_compute(const bleu_stats *st, int order, bleu_smooth smooth,
                  double smooth_value, bool effective_order,
                  bleu_result *out)
{
    memset(out, 0, sizeof *out);
    if (smooth_value < 0)
        smooth_value = smooth == BLEU_SMOOTH_FLOOR  ? 0.1
                       : smooth == BLEU_SMOOTH_ADDK ? 1.0
                                                    : 0.0;
    out->sys_len = st->sys_len;
    out->ref_len = st->ref_len;
    double sys = (double)st->sys_len, ref = (double)st->ref_len;
    out->ratio = st->ref_len > 0 ? sys / ref : 0.0;
    if (st->sys_len < st->ref_len)
        out->bp = st->sys_len > 0 ? exp(1.0 - ref / sys) : 0.0;
    else
        out->bp = 1.0;
    bool any = false;
    for (int n = 0; n < order; n++) {
        out->counts[n] = (double)st->correct[n];
        out->totals[n] = (double)st->total[n];
        any = any || st->correct[n] != 0;
    }
    if (!any) {
        out->score = 0.0;
        return;
    }
    double mteval = 1.0;
    int eff = order;
    for (int n = 1; n <= order; n++) {
        if (smooth == BLEU_SMOOTH_ADDK && n > 1) {
            out->counts[n - 1] += smooth_value;
            out->totals[n - 1] += smooth_value;
        }
        if (out->totals[n - 1] == 0.0)
            break;
        if (effective_order)
            eff = n;
        if (out->counts[n - 1] == 0.0) {
            if (smooth == BLEU_SMOOTH_EXP) {
                mteval *= 2.0;
                out->precisions[n - 1] = 100.0 / (mteval * out->totals[n - 1]);
            } else if (smooth == BLEU_SMOOTH_FLOOR) {
                out->precisions[n - 1] =
                    100.0 * smooth_value / out->totals[n - 1];
            }
        } else {
            out->precisions[n - 1] =
                100.0 * out->counts[n - 1] / out->totals[n - 1];
        }
    }
    double s = 0.0;
    for (int n = 0; n < eff; n++)
        s += my_log(out->precisions[n]);
    out->score = out->bp * exp(s / eff);
}

static const char *const smooth_names[] = {"none", "floor", "add-k", "exp"};

bool bleu_smooth_from_name(const char *name, bleu_smooth *out)
{
    for (int i = 0; i < 4; i++)
        if (name && strcmp(name, smooth_names[i]) == 0) {
            *out = (bleu_smooth)i;
            return true;
        }
    return false;
}

const char *bleu_smooth_name(bleu_smooth s)
{
    return (unsigned)s < 4 ? smooth_names[s] : "?";
}
