/*
 * rc_rank.c - top-K selection and the ranking metrics (RecBole's
 * full-ranking definitions and the sampled-candidate ones).
 */
#include "rc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *const rc_metric_names[RC_M_COUNT] = {"recall", "mrr", "ndcg", "hit",
                                                 "precision"};

double rc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* a ranks before b: higher score, then lower index; NaN counts as -inf */
static inline bool better(float sa, uint32_t ia, float sb, uint32_t ib)
{
    if (sa != sb)
        return sa > sb;
    return ia < ib;
}

static inline void sift_down(float *hs, uint32_t *hi, size_t n, size_t i)
{
    /* min-heap on "better": the root is the worst kept entry */
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < n && better(hs[w], hi[w], hs[l], hi[l]))
            w = l;
        if (r < n && better(hs[w], hi[w], hs[r], hi[r]))
            w = r;
        if (w == i)
            return;
        float ts = hs[i];
        uint32_t ti = hi[i];
        hs[i] = hs[w];
        hi[i] = hi[w];
        hs[w] = ts;
        hi[w] = ti;
        i = w;
    }
}

static inline void sift_up(float *hs, uint32_t *hi, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!better(hs[p], hi[p], hs[i], hi[i]))
            return;
        float ts = hs[i];
        uint32_t ti = hi[i];
        hs[i] = hs[p];
        hi[i] = hi[p];
        hs[p] = ts;
        hi[p] = ti;
        i = p;
    }
}

size_t rc_topk(const float *scores, size_t n, const unsigned char *skip,
               size_t k, uint32_t *out, float *out_scores)
{
    /* the heap lives in the caller's arrays */
    float *hs = out_scores;
    uint32_t *hi = out;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (skip && skip[i])
            continue;
        float s = scores[i];
        if (s != s)
            s = -INFINITY;
        if (m < k) {
            hs[m] = s;
            hi[m] = (uint32_t)i;
            sift_up(hs, hi, m);
            m++;
        } else if (better(s, (uint32_t)i, hs[0], hi[0])) {
            hs[0] = s;
            hi[0] = (uint32_t)i;
            sift_down(hs, hi, m, 0);
        }
    }
    /* heap sort: repeatedly move the worst to the end */
    for (size_t end = m; end > 1; end--) {
        float ts = hs[0];
        uint32_t ti = hi[0];
        hs[0] = hs[end - 1];
        hi[0] = hi[end - 1];
        hs[end - 1] = ts;
        hi[end - 1] = ti;
        sift_down(hs, hi, end - 1, 0);
    }
    return m;
}

void rc_metrics_user(const uint32_t *top, size_t ntop, const uint32_t *truth,
                     size_t ntruth, const size_t *ks, size_t nk, double *out)
{
    for (size_t j = 0; j < nk; j++) {
        size_t k = ks[j], hits = 0, first = 0;
        double dcg = 0.0, idcg = 0.0;
        for (size_t r = 0; r < k && r < ntop; r++) {
            if (rc_sorted_has(truth, ntruth, top[r])) {
                hits++;
                if (!first)
                    first = r + 1;
                dcg += 1.0 / log2((double)r + 2.0);
            }
        }
        for (size_t r = 0; r < k && r < ntruth; r++)
            idcg += 1.0 / log2((double)r + 2.0);
        out[RC_M_RECALL * nk + j] = ntruth ? (double)hits / ntruth : 0.0;
        out[RC_M_MRR * nk + j] = first ? 1.0 / first : 0.0;
        out[RC_M_NDCG * nk + j] = idcg > 0 ? dcg / idcg : 0.0;
        out[RC_M_HIT * nk + j] = hits ? 1.0 : 0.0;
        out[RC_M_PRECISION * nk + j] = (double)hits / k;
    }
}

void rc_metrics_sampled(size_t rank, const size_t *ks, size_t nk, double *out)
{
    for (size_t j = 0; j < nk; j++) {
        bool in = rank >= 1 && rank <= ks[j];
        double hit = in ? 1.0 : 0.0;
        out[RC_M_RECALL * nk + j] = hit;
        out[RC_M_MRR * nk + j] = in ? 1.0 / rank : 0.0;
        out[RC_M_NDCG * nk + j] = in ? 1.0 / log2((double)rank + 1.0) : 0.0;
        out[RC_M_HIT * nk + j] = hit;
        out[RC_M_PRECISION * nk + j] = hit / ks[j];
    }
}

int rc_parse_metric(const char *s, int *metric, size_t *k, assay_error *err)
{
    const char *at = s ? strchr(s, '@') : NULL;
    if (!at)
        return assay_error_set(
            err, ASSAY_EINVAL,
            "option 'valid_metric': '%s': expected NAME@K, e.g. mrr@10",
            s ? s : "(null)");
    size_t len = (size_t)(at - s);
    int m = -1;
    for (int i = 0; i < RC_M_COUNT; i++)
        if (strlen(rc_metric_names[i]) == len &&
            strncmp(rc_metric_names[i], s, len) == 0)
            m = i;
    char *end = NULL;
    long v = strtol(at + 1, &end, 10);
    if (m < 0 || !end || *end || end == at + 1 || v < 1 || v > 100000)
        return assay_error_set(
            err, ASSAY_EINVAL,
            "option 'valid_metric': '%s': expected one of recall, mrr, "
            "ndcg, hit, precision followed by @K",
            s);
    *metric = m;
    *k = (size_t)v;
    return ASSAY_OK;
}
