/*
 * chrf_score.c - sacreBLEU-compatible chrF / chrF++ statistics and score.
 */
#include "chrf_score.h"

#include <stdlib.h>

void chrf_worker_free(chrf_worker *w)
{
    tc_buf_free(&w->low);
    tc_buf_free(&w->hyp_s);
    tc_buf_free(&w->ref_s);
    tc_buf_free(&w->hyp_w);
    tc_buf_free(&w->ref_w);
    free(w->hcp);
    free(w->rcp);
    tc_words_free(&w->hw);
    tc_words_free(&w->rw);
    tc_gtab_free(&w->tab_c);
    tc_gtab_free(&w->tab_w);
    memset(w, 0, sizeof *w);
}

/* The text that character n-grams are taken from (lowercased when asked;
 * whitespace removed unless cfg->whitespace, as ''.join(s.split())) into
 * `out`, and the byte offset of each code point into *cps (n+1 entries,
 * count in *ncp). */
static int char_text(chrf_worker *w, const chrf_config *cfg, const tc_str *s,
                     tc_buf *out, uint32_t **cps, size_t *cap, size_t *ncp)
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
    out->len = 0;
    if (tc_buf_reserve(out, n))
        return ASSAY_ENOMEM;
    if (*cap < n + 1) {
        uint32_t *v = realloc(*cps, (n + 1) * sizeof *v);
        if (!v)
            return ASSAY_ENOMEM;
        *cps = v;
        *cap = n + 1;
    }
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        size_t adv;
        uint32_t cp = tc_utf8_decode((const unsigned char *)p + i, n - i,
                                     &adv);
        if (cfg->whitespace || !tc_is_space(cp)) {
            (*cps)[k++] = (uint32_t)out->len;
            memcpy(out->p + out->len, p + i, adv);
            out->len += adv;
        }
        i += adv;
    }
    (*cps)[k] = (uint32_t)out->len;
    *ncp = k;
    return ASSAY_OK;
}

static bool is_punct(unsigned char c)
{
    return c < 0x80 && strchr("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", c) &&
           c != 0;
}

/* sacreBLEU CHRF._remove_punctuation: split on whitespace, then peel one
 * ASCII punctuation character off the end (or else the start) of each
 * word longer than one character.  Words point into `s` (the possibly
 * lowercased text, kept in `keep`). */
static int chrf_words(const chrf_config *cfg, const tc_str *s,
                      tc_buf *keep, tc_words *out)
{
    const char *p = s->p;
    size_t n = s->len;
    out->n = 0;
    keep->len = 0;
    if (cfg->lowercase) {
        if (tc_lower(p, n, keep))
            return ASSAY_ENOMEM;
    } else if (tc_buf_put(keep, p, n)) {
        return ASSAY_ENOMEM;
    }
    p = keep->p;
    n = keep->len;
    tc_words raw = {0};
    int rc = tc_split(p, n, &raw);
    for (size_t i = 0; rc == 0 && i < raw.n; i++) {
        const char *t = raw.v[i].p;
        size_t len = raw.v[i].len, adv;
        tc_utf8_decode((const unsigned char *)t, len, &adv);
        if (adv == len) { /* one character */
            rc = tc_words_push(out, t, len);
        } else if (is_punct((unsigned char)t[len - 1])) {
            rc = tc_words_push(out, t, len - 1);
            if (rc == 0)
                rc = tc_words_push(out, t + len - 1, 1);
        } else if (is_punct((unsigned char)t[0])) {
            rc = tc_words_push(out, t, 1);
            if (rc == 0)
                rc = tc_words_push(out, t + 1, len - 1);
        } else {
            rc = tc_words_push(out, t, len);
        }
    }
    tc_words_free(&raw);
    return rc;
}

static inline uint64_t byte_hash(const char *p, size_t len, int n)
{
    return tc_hash(p, len) ^ ((uint64_t)n * 0x9e3779b97f4a7c15ULL);
}

int chrf_segment(chrf_worker *w, const chrf_config *cfg, const tc_str *hyp,
                 const tc_str *refs, size_t nrefs, int64_t *out)
{
    int nc = cfg->char_order, nw = cfg->word_order, ns = chrf_nstats(cfg);
    int64_t cur[CHRF_MAX_STATS];
    double curd[CHRF_MAX_STATS];
    double best_f = -1.0;
    size_t hn, rn;
    int rc;
    memset(out, 0, (size_t)ns * sizeof *out);

    /* hypothesis n-gram counts (a) */
    if ((rc = char_text(w, cfg, hyp, &w->hyp_s, &w->hcp, &w->hcp_cap, &hn)))
        return rc;
    if ((rc = tc_gtab_reset(&w->tab_c, hn * (size_t)nc, false)))
        return rc;
    for (int n = 1; n <= nc; n++)
        for (size_t i = 0; i + (size_t)n <= hn; i++) {
            const char *p = w->hyp_s.p + w->hcp[i];
            size_t len = w->hcp[i + n] - w->hcp[i];
            tc_gram *g = tc_gtab_find(&w->tab_c, byte_hash(p, len, n), p,
                                      (uint32_t)len, true);
            if (!g)
                return ASSAY_EINTERNAL;
            g->a++;
        }
    if (nw > 0) {
        if ((rc = chrf_words(cfg, hyp, &w->hyp_w, &w->hw)))
            return rc;
        if ((rc = tc_gtab_reset(&w->tab_w, w->hw.n * (size_t)nw, true)))
            return rc;
        for (size_t i = 0; i < w->hw.n; i++) {
            uint64_t h = 0;
            for (int n = 1; n <= nw && i + (size_t)n <= w->hw.n; n++) {
                h = tc_hash_next(h, w->hw.v[i + n - 1].h);
                tc_gram *g = tc_gtab_find(&w->tab_w, h, &w->hw.v[i],
                                          (uint32_t)n, true);
                if (!g)
                    return ASSAY_EINTERNAL;
                g->a++;
            }
        }
    }

    tc_buf *rtext = &w->ref_s, *rwords = &w->ref_w;
    for (size_t k = 0; k < nrefs; k++) {
        int32_t stamp = (int32_t)k + 1;
        memset(cur, 0, sizeof cur);
        if ((rc = char_text(w, cfg, &refs[k], rtext, &w->rcp, &w->rcp_cap,
                            &rn)))
            return rc;
        for (int n = 1; n <= nc; n++) {
            int64_t hc = hn >= (size_t)n ? (int64_t)(hn - (size_t)n + 1) : 0;
            int64_t rcnt = rn >= (size_t)n ? (int64_t)(rn - (size_t)n + 1)
                                           : 0;
            int64_t match = 0;
            for (size_t i = 0; i + (size_t)n <= rn; i++) {
                const char *p = rtext->p + w->rcp[i];
                size_t len = w->rcp[i + n] - w->rcp[i];
                tc_gram *g = tc_gtab_find(&w->tab_c, byte_hash(p, len, n), p,
                                          (uint32_t)len, false);
                if (!g)
                    continue;
                if (g->c != stamp) {
                    g->c = stamp;
                    g->b = 0;
                }
                if (++g->b <= g->a)
                    match++;
            }
            cur[3 * (n - 1)] = rcnt > 0 ? hc : 0;
            cur[3 * (n - 1) + 1] = rcnt;
            cur[3 * (n - 1) + 2] = match;
        }
        if (nw > 0) {
            if ((rc = chrf_words(cfg, &refs[k], rwords, &w->rw)))
                return rc;
            for (int n = 1; n <= nw; n++) {
                size_t hw = w->hw.n, rw = w->rw.n;
                int64_t hc = hw >= (size_t)n ? (int64_t)(hw - (size_t)n + 1)
                                             : 0;
                int64_t rcnt = rw >= (size_t)n
                                   ? (int64_t)(rw - (size_t)n + 1)
                                   : 0;
                int64_t match = 0;
                for (size_t i = 0; i + (size_t)n <= rw; i++) {
                    uint64_t h = 0;
                    for (int m = 0; m < n; m++)
                        h = tc_hash_next(h, w->rw.v[i + (size_t)m].h);
                    tc_gram *g = tc_gtab_find(&w->tab_w, h, &w->rw.v[i],
                                              (uint32_t)n, false);
                    if (!g)
                        continue;
                    if (g->c != stamp) {
                        g->c = stamp;
                        g->b = 0;
                    }
                    if (++g->b <= g->a)
                        match++;
                }
                int o = 3 * (nc + n - 1);
                cur[o] = rcnt > 0 ? hc : 0;
                cur[o + 1] = rcnt;
                cur[o + 2] = match;
            }
        }
        for (int i = 0; i < ns; i++)
            curd[i] = (double)cur[i];
        double f = chrf_fscore(cfg, curd);
        if (f > best_f) {
            best_f = f;
            memcpy(out, cur, (size_t)ns * sizeof *out);
        }
    }
    return ASSAY_OK;
}

double chrf_fscore(const chrf_config *cfg, const double *st)
{
    const double eps = 1e-16;
    int order = cfg->char_order + cfg->word_order, eff = 0;
    double factor = cfg->beta * cfg->beta, score = 0.0;
    double avg_p = 0.0, avg_r = 0.0;
    for (int i = 0; i < order; i++) {
        double nh = st[3 * i], nr = st[3 * i + 1], nm = st[3 * i + 2];
        double p = nh > 0 ? nm / nh : eps;
        double r = nr > 0 ? nm / nr : eps;
        double denom = factor * p + r;
        score += denom > 0 ? (1 + factor) * p * r / denom : eps;
        if (nh > 0 && nr > 0) {
            avg_p += p;
            avg_r += r;
            eff++;
        }
    }
    if (cfg->eps_smoothing)
        return 100 * score / order;
    if (eff == 0) {
        avg_p = avg_r = 0.0;
    } else {
        avg_p /= eff;
        avg_r /= eff;
    }
    if (avg_p + avg_r != 0.0) {
        score = (1 + factor) * avg_p * avg_r;
        score /= factor * avg_p + avg_r;
        return 100 * score;
    }
    return 0.0;
}
