/*
 * ter_score.c - sacreBLEU-compatible TER (Tercom algorithm).
 *
 * The shift search follows sacreBLEU's lib_ter step by step, because its
 * heuristics (which candidate shifts are tried, how they are ranked, the
 * limit of 1000 candidates per sentence, the beam of the edit distance)
 * decide the result: candidate (start_h, start_r, length) triples come
 * from matching word runs (length <= 10, start distance <= 50); a shift
 * is tried only where both sides are misaligned; candidates are ranked by
 * gain, then length, then earliest start, then earliest target.
 */
#include "ter_score.h"

#include <math.h>
#include <stdlib.h>

enum {
    MAX_SHIFT_SIZE = 10,
    MAX_SHIFT_DIST = 50,
    BEAM_WIDTH = 25,
    MAX_SHIFT_CANDIDATES = 1000
};
#define TER_INF 1000000000

void ter_worker_free(ter_worker *w)
{
    tc_buf_free(&w->b0);
    tc_buf_free(&w->b1);
    tc_buf_free(&w->b2);
    for (size_t i = 0; i < w->n_rtext; i++)
        tc_buf_free(&w->rtext[i]);
    free(w->rtext);
    tc_words_free(&w->hw);
    tc_words_free(&w->rw);
    free(w->roff);
    tc_gtab_free(&w->ids);
    free(w->h);
    free(w->r);
    free(w->cur);
    free(w->cand);
    free(w->best);
    free(w->prev);
    free(w->cost);
    free(w->op);
    free(w->align);
    free(w->trace);
    free(w->herr);
    free(w->rerr);
    memset(w, 0, sizeof *w);
}

/* ---- tokenizer --------------------------------------------------------- */

static bool in_asian_split(uint32_t c)
{
    return (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) ||
           (c >= 0x31c0 && c <= 0x31ef) || (c >= 0x2e80 && c <= 0x2eff) ||
           (c >= 0x3300 && c <= 0x33ff) || (c >= 0xf900 && c <= 0xfaff) ||
           (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0x3200 && c <= 0x3f22);
}

static bool in_asian_punct(uint32_t c)
{
    return c == 0x3001 || c == 0x3002 || (c >= 0x3008 && c <= 0x3011) ||
           (c >= 0x3014 && c <= 0x301f) || (c >= 0xff61 && c <= 0xff65) ||
           c == 0x30fb;
}

static bool in_fullwidth_punct(uint32_t c)
{
    switch (c) {
    case 0xff0e: case 0xff0c: case 0xff1f: case 0xff1a: case 0xff1b:
    case 0xff01: case 0xff02: case 0xff08: case 0xff09:
        return true;
    default:
        return false;
    }
}

/* Tercom's general and western normalization (sacreBLEU
 * _normalize_general_and_western), then the Asian character split. */
static int normalize(ter_worker *w, const ter_config *cfg, tc_buf *cur,
                     tc_buf *out)
{
    static const char *const reps[][2] = {
        {"\n-", ""},     {"\n", " "},   {"&quot;", "\""},
        {"&amp;", "&"},  {"&lt;", "<"}, {"&gt;", ">"}};
    tc_buf *a = cur, *b = &w->b2;
    for (size_t r = 0; r < sizeof reps / sizeof reps[0]; r++) {
        if (!memchr(a->p, reps[r][0][0], a->len))
            continue;
        if (tc_replace_all(a->p, a->len, reps[r][0], reps[r][1], b))
            return ASSAY_ENOMEM;
        tc_buf *t = a;
        a = b;
        b = t;
    }
    /* pad, then the 13a rules with the possessive step */
    b->len = 0;
    if (tc_buf_put(b, " ", 1) || tc_buf_put(b, a->p, a->len) ||
        tc_buf_put(b, " ", 1))
        return ASSAY_ENOMEM;
    if (tc_regexp_rules(b->p, b->len, true, a, out))
        return ASSAY_ENOMEM;
    if (!cfg->asian_support)
        return ASSAY_OK;
    a->len = 0;
    for (size_t i = 0; i < out->len;) {
        size_t adv;
        uint32_t c = tc_utf8_decode((const unsigned char *)out->p + i,
                                    out->len - i, &adv);
        bool pad = adv > 1 && (in_asian_split(c) || in_asian_punct(c) ||
                               in_fullwidth_punct(c));
        if ((pad && tc_buf_put(a, " ", 1)) || tc_buf_put(a, out->p + i, adv) ||
            (pad && tc_buf_put(a, " ", 1)))
            return ASSAY_ENOMEM;
        i += adv;
    }
    out->len = 0;
    return tc_buf_put(out, a->p, a->len);
}

int ter_tokenize(ter_worker *w, const ter_config *cfg, const tc_str *s,
                 tc_buf *text, tc_words *out)
{
    size_t n = tc_rstrip_len(s->p, s->len);
    tc_buf *cur = &w->b0;
    cur->len = 0;
    text->len = 0;
    if (tc_buf_reserve(text, 0) || tc_buf_reserve(cur, n))
        return ASSAY_ENOMEM;
    if (n == 0)
        return ASSAY_OK;
    if (!cfg->case_sensitive) {
        if (tc_lower(s->p, n, cur))
            return ASSAY_ENOMEM;
    } else if (tc_buf_put(cur, s->p, n)) {
        return ASSAY_ENOMEM;
    }
    if (cfg->normalized) {
        if (normalize(w, cfg, cur, &w->b1))
            return ASSAY_ENOMEM;
        cur->len = 0;
        if (tc_buf_put(cur, w->b1.p, w->b1.len))
            return ASSAY_ENOMEM;
    }
    if (!cfg->no_punct) {
        if (tc_buf_put(text, cur->p, cur->len))
            return ASSAY_ENOMEM;
    } else {
        for (size_t i = 0; i < cur->len;) {
            size_t adv;
            uint32_t c = tc_utf8_decode((const unsigned char *)cur->p + i,
                                        cur->len - i, &adv);
            bool drop = (c < 0x80 && c && strchr(".,?:;!\"()", (int)c)) ||
                        (cfg->asian_support &&
                         (in_asian_punct(c) || in_fullwidth_punct(c)));
            if (!drop && tc_buf_put(text, cur->p + i, adv))
                return ASSAY_ENOMEM;
            i += adv;
        }
    }
    return tc_split(text->p, text->len, out);
}

/* ---- edit distance ------------------------------------------------------ */

/*
 * Beam edit distance of hypothesis h[nh] against the reference w->r[nr]
 * (sacreBLEU BeamEditDistance): rows are hypothesis positions, columns
 * reference positions; ops ' ' (match), 's', 'd' (skip a hypothesis
 * word), 'i' (skip a reference word); preference on equal cost: match or
 * substitution, then 'd', then 'i'.  Rows of the common prefix with the
 * previous call are reused (they depend only on the prefix, and every
 * call of one sentence has the same length).  Fills w->trace (ops from
 * the start) and returns the distance in *dist, the trace length in *ntr.
 */
static void edit_distance(ter_worker *w, const int32_t *h, size_t nh,
                          size_t nr, int32_t *dist, size_t *ntr)
{
    size_t cols = nr + 1, start = 0;
    int32_t *cost = w->cost;
    char *op = w->op;
    if (w->prev_rows > 0) {
        start = 0;
        while (start < nh && start + 1 < w->prev_rows &&
               w->prev[start] == h[start])
            start++;
    } else {
        for (size_t j = 0; j < cols; j++) {
            cost[j] = (int32_t)j;
            op[j] = 'i';
        }
    }
    double ratio = nh ? (double)nr / (double)nh : 1.0;
    long beam = BEAM_WIDTH;
    if (BEAM_WIDTH < ratio / 2)
        beam = (long)ceil(ratio / 2 + BEAM_WIDTH);
    for (size_t i = start + 1; i <= nh; i++) {
        int32_t *c = cost + i * cols, *p = c - cols;
        char *o = op + i * cols;
        long diag = (long)floor((double)i * ratio);
        long min_j = diag - beam > 0 ? diag - beam : 0;
        long max_j = diag + beam < (long)cols ? diag + beam : (long)cols;
        if (i == nh)
            max_j = (long)cols;
        for (size_t j = 0; j < cols; j++) {
            c[j] = TER_INF;
            o[j] = 'x';
        }
        int32_t hw = h[i - 1];
        for (long jj = min_j; jj < max_j; jj++) {
            size_t j = (size_t)jj;
            if (j == 0) {
                c[0] = p[0] + 1;
                o[0] = 'd';
                continue;
            }
            int32_t sub = hw == w->r[j - 1] ? 0 : 1, v;
            char so = sub ? 's' : ' ';
            if (c[j] > (v = p[j - 1] + sub)) {
                c[j] = v;
                o[j] = so;
            }
            if (c[j] > (v = p[j] + 1)) {
                c[j] = v;
                o[j] = 'd';
            }
            if (c[j] > (v = c[j - 1] + 1)) {
                c[j] = v;
                o[j] = 'i';
            }
        }
    }
    memcpy(w->prev, h, nh * sizeof *h);
    w->prev_rows = nh + 1;
    *dist = cost[nh * cols + nr];
    /* trace, written backwards then reversed */
    size_t i = nh, j = nr, k = 0;
    while (i > 0 || j > 0) {
        char c = op[i * cols + j];
        w->trace[k++] = c;
        if (c == 's' || c == ' ') {
            i--;
            j--;
        } else if (c == 'i') {
            j--;
        } else if (c == 'd') {
            i--;
        } else {
            break; /* unreachable: the last row spans every column */
        }
    }
    for (size_t a = 0, b = k; a + 1 < b; a++, b--) {
        char t = w->trace[a];
        w->trace[a] = w->trace[b - 1];
        w->trace[b - 1] = t;
    }
    *ntr = k;
}

/* Move h[start..start+len) to position `target` (sacreBLEU
 * _perform_shift) into out. */
static void perform_shift(const int32_t *h, size_t n, size_t start,
                          size_t len, size_t target, int32_t *out)
{
    size_t k = 0;
#define PUT(a, b)                                                            \
    for (size_t q = (a); q < (b) && q < n; q++)                              \
    out[k++] = h[q]
    if (target < start) {
        PUT(0, target);
        PUT(start, start + len);
        PUT(target, start);
        PUT(start + len, n);
    } else if (target > start + len) {
        PUT(0, start);
        PUT(start + len, target);
        PUT(start, start + len);
        PUT(target, n);
    } else {
        PUT(0, start);
        PUT(start + len, len + target);
        PUT(start, start + len);
        PUT(len + target, n);
    }
#undef PUT
}

/* One round of shift search (sacreBLEU _shift).  On return *gain is the
 * best candidate's reduction (0 with no candidate) and w->best holds its
 * words. */
static void best_shift(ter_worker *w, const int32_t *h, size_t nh, size_t nr,
                       int *checked, int32_t *gain, bool *found)
{
    int32_t pre;
    size_t ntr;
    edit_distance(w, h, nh, nr, &pre, &ntr);
    /* alignment from the flipped trace: 'd' of the hypothesis side
     * becomes an insertion and vice versa */
    long ph = -1, pr = -1;
    size_t nherr = 0, nrerr = 0;
    for (size_t t = 0; t < ntr; t++) {
        char c = w->trace[t];
        if (c == ' ' || c == 's') {
            ph++;
            pr++;
            w->align[pr] = (int32_t)ph;
            w->herr[nherr++] = c == 's';
            w->rerr[nrerr++] = c == 's';
        } else if (c == 'd') { /* flipped: insertion, hypothesis word */
            ph++;
            w->herr[nherr++] = 1;
        } else { /* 'i' flipped: deletion, reference word */
            pr++;
            w->align[pr] = (int32_t)ph;
            w->rerr[nrerr++] = 1;
        }
    }
    const int32_t *r = w->r;
    bool have = false;
    int32_t b_gain = 0;
    long b_len = 0, b_start = 0, b_idx = 0;
    for (size_t sh = 0; sh < nh; sh++) {
        for (size_t sr = 0; sr < nr; sr++) {
            long d = (long)sr - (long)sh;
            if (d > MAX_SHIFT_DIST || d < -MAX_SHIFT_DIST)
                continue;
            size_t len = 0;
            while (h[sh + len] == r[sr + len] && len < MAX_SHIFT_SIZE) {
                len++;
                /* candidate (sh, sr, len) */
                bool ok = false;
                for (size_t q = sh; q < sh + len && q < nherr; q++)
                    ok = ok || w->herr[q];
                if (ok) {
                    ok = false;
                    for (size_t q = sr; q < sr + len && q < nrerr; q++)
                        ok = ok || w->rerr[q];
                }
                if (ok && (long)sh <= w->align[sr] &&
                    w->align[sr] < (long)(sh + len))
                    ok = false;
                if (ok) {
                    long prev_idx = -1;
                    for (long off = -1; off < (long)len; off++) {
                        long idx;
                        if ((long)sr + off == -1)
                            idx = 0;
                        else if ((size_t)((long)sr + off) < nr)
                            idx = w->align[(long)sr + off] + 1;
                        else
                            break;
                        if (idx == prev_idx)
                            continue;
                        prev_idx = idx;
                        perform_shift(h, nh, sh, len, (size_t)idx, w->cand);
                        int32_t dist;
                        size_t nt;
                        edit_distance(w, w->cand, nh, nr, &dist, &nt);
                        int32_t g = pre - dist;
                        ++*checked;
                        bool better =
                            !have || g > b_gain ||
                            (g == b_gain &&
                             ((long)len > b_len ||
                              ((long)len == b_len &&
                               (-(long)sh > -b_start ||
                                (-(long)sh == -b_start && -idx > -b_idx)))));
                        if (better) {
                            have = true;
                            b_gain = g;
                            b_len = (long)len;
                            b_start = (long)sh;
                            b_idx = idx;
                            memcpy(w->best, w->cand, nh * sizeof *w->cand);
                        }
                    }
                }
                if (*checked >= MAX_SHIFT_CANDIDATES)
                    goto out;
                if (nh == sh + len || nr == sr + len)
                    break;
            }
        }
    }
out:
    *found = have;
    *gain = have ? b_gain : 0;
}

static int grow_i32(int32_t **p, size_t n)
{
    int32_t *v = realloc(*p, (n ? n : 1) * sizeof *v);
    if (!v)
        return ASSAY_ENOMEM;
    *p = v;
    return ASSAY_OK;
}

static int ensure(ter_worker *w, size_t nh, size_t nr)
{
    if (nh + 1 > w->cap_h) {
        size_t c = nh + 1;
        if (grow_i32(&w->cur, c) || grow_i32(&w->cand, c) ||
            grow_i32(&w->best, c) || grow_i32(&w->prev, c) ||
            grow_i32(&w->h, c))
            return ASSAY_ENOMEM;
        w->cap_h = c;
    }
    if (nr + 1 > w->cap_r) {
        size_t c = nr + 1;
        if (grow_i32(&w->r, c) || grow_i32(&w->align, c))
            return ASSAY_ENOMEM;
        w->cap_r = c;
    }
    size_t mat = (nh + 1) * (nr + 1);
    if (mat > w->cap_mat) {
        int32_t *c = realloc(w->cost, mat * sizeof *c);
        if (!c)
            return ASSAY_ENOMEM;
        w->cost = c;
        char *o = realloc(w->op, mat);
        if (!o)
            return ASSAY_ENOMEM;
        w->op = o;
        w->cap_mat = mat;
    }
    size_t tr = nh + nr + 2;
    if (tr > w->cap_tr) {
        char *t = realloc(w->trace, tr), *a, *b;
        if (!t)
            return ASSAY_ENOMEM;
        w->trace = t;
        if (!(a = realloc(w->herr, tr)))
            return ASSAY_ENOMEM;
        w->herr = a;
        if (!(b = realloc(w->rerr, tr)))
            return ASSAY_ENOMEM;
        w->rerr = b;
        w->cap_tr = tr;
    }
    return ASSAY_OK;
}

int ter_edits(ter_worker *w, const int32_t *h, size_t nh, const int32_t *r,
              size_t nr, int64_t *edits)
{
    if (nr == 0) {
        *edits = (int64_t)nh;
        return ASSAY_OK;
    }
    if (ensure(w, nh, nr))
        return ASSAY_ENOMEM;
    memcpy(w->r, r, nr * sizeof *r);
    memcpy(w->cur, h, nh * sizeof *h);
    w->prev_rows = 0; /* new reference: drop the cached rows */
    int checked = 0;
    int64_t shifts = 0;
    for (;;) {
        int32_t gain;
        bool found;
        best_shift(w, w->cur, nh, nr, &checked, &gain, &found);
        if (checked >= MAX_SHIFT_CANDIDATES)
            break;
        if (!found || gain <= 0)
            break;
        shifts++;
        memcpy(w->cur, w->best, nh * sizeof *w->cur);
    }
    int32_t dist;
    size_t ntr;
    edit_distance(w, w->cur, nh, nr, &dist, &ntr);
    *edits = shifts + dist;
    return ASSAY_OK;
}

/* Integer ids for words (equal words, equal ids). */
static int word_ids(ter_worker *w, const tc_word *v, size_t n, int32_t *out,
                    int32_t *next)
{
    for (size_t i = 0; i < n; i++) {
        tc_gram *g = tc_gtab_find(&w->ids, v[i].h, &v[i], 1, true);
        if (!g)
            return ASSAY_EINTERNAL;
        if (g->a == 0)
            g->a = ++*next;
        out[i] = g->a;
    }
    return ASSAY_OK;
}

int ter_segment(ter_worker *w, const ter_config *cfg, const tc_str *hyp,
                const tc_str *refs, size_t nrefs, int64_t *num_edits,
                double *ref_len)
{
    int rc;
    if (nrefs > w->n_rtext) {
        tc_buf *t = realloc(w->rtext, nrefs * sizeof *t);
        if (!t)
            return ASSAY_ENOMEM;
        memset(t + w->n_rtext, 0, (nrefs - w->n_rtext) * sizeof *t);
        w->rtext = t;
        w->n_rtext = nrefs;
        size_t *o = realloc(w->roff, (nrefs + 1) * sizeof *o);
        if (!o)
            return ASSAY_ENOMEM;
        w->roff = o;
    }
    tc_buf htext = {0};
    w->hw.n = w->rw.n = 0;
    if ((rc = ter_tokenize(w, cfg, hyp, &htext, &w->hw)))
        goto cleanup;
    for (size_t k = 0; k < nrefs; k++) {
        w->roff[k] = w->rw.n;
        if ((rc = ter_tokenize(w, cfg, &refs[k], &w->rtext[k], &w->rw)))
            goto cleanup;
    }
    w->roff[nrefs] = w->rw.n;
    size_t nh = w->hw.n, maxr = 0;
    for (size_t k = 0; k < nrefs; k++)
        if (w->roff[k + 1] - w->roff[k] > maxr)
            maxr = w->roff[k + 1] - w->roff[k];
    if ((rc = ensure(w, nh, maxr)) ||
        (rc = tc_gtab_reset(&w->ids, nh + w->rw.n, true)))
        goto cleanup;
    int32_t next = 0, *hid = malloc((nh + 1) * sizeof *hid);
    int32_t *rid = malloc((w->rw.n + 1) * sizeof *rid);
    if (!hid || !rid) {
        free(hid);
        free(rid);
        rc = ASSAY_ENOMEM;
        goto cleanup;
    }
    word_ids(w, w->hw.v, nh, hid, &next);
    word_ids(w, w->rw.v, w->rw.n, rid, &next);
    int64_t best = -1, total_len = 0;
    for (size_t k = 0; k < nrefs && rc == 0; k++) {
        size_t nr = w->roff[k + 1] - w->roff[k];
        int64_t e;
        rc = ter_edits(w, hid, nh, rid + w->roff[k], nr, &e);
        total_len += (int64_t)nr;
        if (rc == 0 && (best < 0 || e < best))
            best = e;
    }
    free(hid);
    free(rid);
    *num_edits = best < 0 ? 0 : best;
    *ref_len = nrefs ? (double)total_len / (double)nrefs : 0.0;
cleanup:
    tc_buf_free(&htext);
    return rc;
}

double ter_score(double num_edits, double ref_len)
{
    if (ref_len > 0)
        return 100.0 * (num_edits / ref_len);
    return num_edits > 0 ? 100.0 : 0.0;
}
