/*
 * clscore.c - classification statistics (see clscore.h).
 *
 * AUC: the positives' and the negatives' scores are sorted separately
 * (radix sort on the IEEE bits, in chunks on several threads) and every
 * (positive chunk, negative chunk) pair is merged once, counting for each
 * positive the negatives below it (2 per lower, 1 per tie, in integers,
 * so that the sum is exact).
 */
#include "clscore.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- sorting doubles ------------------------------------------------------- */

/* Order-preserving map of a double to an unsigned integer. */
static inline uint64_t dkey(double d)
{
    uint64_t u;
    if (d == 0)
        d = 0.0; /* -0 and +0 tie, as they compare equal */
    memcpy(&u, &d, sizeof u);
    return (u & 0x8000000000000000ULL) ? ~u : u | 0x8000000000000000ULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Sort n keys ascending: LSD radix sort with 11-bit digits (6 passes,
 * 2048 buckets: the scatter stays cache-friendly); histograms of every
 * digit in one read, passes whose digit is constant skipped.  tmp holds n
 * keys. */
#define RADIX_BITS 11
#define RADIX_B (1u << RADIX_BITS)
#define RADIX_PASSES 6

static void radix_u64(uint64_t *k, uint64_t *tmp, size_t n)
{
    if (n < 4096) {
        qsort(k, n, sizeof *k, cmp_u64);
        return;
    }
    size_t *cnt = calloc((size_t)RADIX_PASSES * RADIX_B, sizeof *cnt);
    if (!cnt) {
        qsort(k, n, sizeof *k, cmp_u64);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t v = k[i];
        for (int p = 0; p < RADIX_PASSES; p++)
            cnt[(size_t)p * RADIX_B + ((v >> (p * RADIX_BITS)) &
                                        (RADIX_B - 1))]++;
    }
    uint64_t *src = k, *dst = tmp;
    for (int p = 0; p < RADIX_PASSES; p++) {
        size_t *c = cnt + (size_t)p * RADIX_B;
        int shift = p * RADIX_BITS;
        if (c[(src[0] >> shift) & (RADIX_B - 1)] == n)
            continue; /* every key has this digit: nothing moves */
        size_t sum = 0;
        for (size_t d = 0; d < RADIX_B; d++) {
            size_t t = c[d];
            c[d] = sum;
            sum += t;
        }
        for (size_t i = 0; i < n; i++) {
            uint64_t v = src[i];
            dst[c[(v >> shift) & (RADIX_B - 1)]++] = v;
        }
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != k)
        memcpy(k, src, n * sizeof *k);
    free(cnt);
}

/* 2 * (#b < a) + (#b == a), summed over every a in sorted a[], b[]. */
static uint64_t merge_count(const uint64_t *a, size_t na, const uint64_t *b,
                            size_t nb)
{
    uint64_t total = 0;
    size_t lo = 0, hi = 0; /* b[0..lo) < a[i], b[0..hi) <= a[i] */
    for (size_t i = 0; i < na; i++) {
        uint64_t v = a[i];
        while (lo < nb && b[lo] < v)
            lo++;
        if (hi < lo)
            hi = lo;
        while (hi < nb && b[hi] <= v)
            hi++;
        total += 2 * (uint64_t)lo + (uint64_t)(hi - lo);
    }
    return total;
}

double cl_auc_small(const double *score, const bool *pos, size_t n,
                    double *scratch)
{
    size_t np = 0, nn = 0;
    uint64_t *p = (uint64_t *)scratch, *q = p + n;
    for (size_t i = 0; i < n; i++) {
        if (pos[i])
            p[np++] = dkey(score[i]);
        else
            q[nn++] = dkey(score[i]);
    }
    if (np == 0 || nn == 0)
        return NAN;
    qsort(p, np, sizeof *p, cmp_u64);
    qsort(q, nn, sizeof *q, cmp_u64);
    uint64_t t = merge_count(p, np, q, nn);
    return (double)t / (2.0 * (double)np * (double)nn);
}

/* ---- parallel AUC ------------------------------------------------------------ */

#define AUC_MAXCH 16

typedef struct auc_job {
    uint64_t *keys, *tmp;
    size_t off[2 * AUC_MAXCH + 1]; /* chunk c = [off[c], off[c + 1]) */
    size_t nch;                    /* chunks per class */
    size_t task;                   /* next task */
    uint64_t partial[AUC_MAXCH * AUC_MAXCH];
    pthread_mutex_t lock;
    int phase;
} auc_job;

static void *auc_worker(void *arg)
{
    auc_job *j = arg;
    for (;;) {
        pthread_mutex_lock(&j->lock);
        size_t t = j->task++;
        pthread_mutex_unlock(&j->lock);
        if (j->phase == 0) {
            if (t >= 2 * j->nch)
                break;
            radix_u64(j->keys + j->off[t], j->tmp + j->off[t],
                      j->off[t + 1] - j->off[t]);
        } else {
            if (t >= j->nch * j->nch)
                break;
            size_t a = t / j->nch, b = j->nch + t % j->nch;
            j->partial[t] = merge_count(j->keys + j->off[a],
                                        j->off[a + 1] - j->off[a],
                                        j->keys + j->off[b],
                                        j->off[b + 1] - j->off[b]);
        }
    }
    return NULL;
}

static void auc_phase(auc_job *j, unsigned nthreads, int phase)
{
    pthread_t tid[AUC_MAXCH];
    unsigned started = 0;
    j->phase = phase;
    j->task = 0;
    for (unsigned t = 1; t < nthreads && t < AUC_MAXCH; t++) {
        if (pthread_create(&tid[t], NULL, auc_worker, j) != 0)
            break;
        started = t;
    }
    auc_worker(j);
    for (unsigned t = 1; t <= started; t++)
        pthread_join(tid[t], NULL);
}

int cl_auc(const double *score, const bool *pos, size_t n, unsigned nthreads,
           double *auc)
{
    if (nthreads < 1)
        nthreads = 1;
    if (nthreads > AUC_MAXCH)
        nthreads = AUC_MAXCH;
    size_t np = 0;
    for (size_t i = 0; i < n; i++)
        np += pos[i];
    size_t nn = n - np;
    if (np == 0 || nn == 0) {
        *auc = NAN;
        return 0;
    }
    auc_job j;
    memset(&j, 0, sizeof j);
    j.keys = malloc(n * sizeof *j.keys);
    j.tmp = malloc(n * sizeof *j.tmp);
    if (!j.keys || !j.tmp) {
        free(j.keys);
        free(j.tmp);
        return -2;
    }
    size_t wp = 0, wn = np;
    for (size_t i = 0; i < n; i++) {
        if (pos[i])
            j.keys[wp++] = dkey(score[i]);
        else
            j.keys[wn++] = dkey(score[i]);
    }
    /* small inputs: one chunk per class */
    j.nch = n < 200000 ? 1 : nthreads;
    for (size_t c = 0; c <= j.nch; c++) {
        j.off[c] = np * c / j.nch;
        j.off[j.nch + c] = np + nn * c / j.nch;
    }
    pthread_mutex_init(&j.lock, NULL);
    auc_phase(&j, nthreads, 0);
    auc_phase(&j, nthreads, 1);
    pthread_mutex_destroy(&j.lock);
    uint64_t total = 0;
    for (size_t t = 0; t < j.nch * j.nch; t++)
        total += j.partial[t];
    *auc = (double)total / (2.0 * (double)np * (double)nn);
    free(j.keys);
    free(j.tmp);
    return 0;
}

/* ---- correlations ---------------------------------------------------------- */

static bool all_equal(const double *v, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (v[i] != v[0])
            return false;
    return true;
}

/* Sum by pairwise blocks (numpy's summation, for closeness). */
static double pairwise_sum(const double *v, size_t n)
{
    if (n <= 128) {
        double s = 0.0;
        for (size_t i = 0; i < n; i++)
            s += v[i];
        return s;
    }
    size_t h = n / 2;
    return pairwise_sum(v, h) + pairwise_sum(v + h, n - h);
}

double cl_pearson(const double *x, const double *y, size_t n)
{
    if (n < 2 || all_equal(x, n) || all_equal(y, n))
        return NAN;
    double mx = pairwise_sum(x, n) / (double)n;
    double my = pairwise_sum(y, n) / (double)n;
    double sxx = 0, syy = 0;
    for (size_t i = 0; i < n; i++) {
        sxx += (x[i] - mx) * (x[i] - mx);
        syy += (y[i] - my) * (y[i] - my);
    }
    double nx = sqrt(sxx), ny = sqrt(syy);
    if (nx == 0 || ny == 0)
        return NAN;
    double r = 0;
    for (size_t i = 0; i < n; i++)
        r += ((x[i] - mx) / nx) * ((y[i] - my) / ny);
    if (r > 1)
        r = 1;
    if (r < -1)
        r = -1;
    return r;
}

typedef struct idx_sort {
    const double *v;
} idx_sort;

static int cmp_idx(const void *a, const void *b, void *arg)
{
    const double *v = ((const idx_sort *)arg)->v;
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    if (v[i] < v[j])
        return -1;
    if (v[i] > v[j])
        return 1;
    return (i > j) - (i < j);
}

void cl_rank_average(const double *v, size_t n, double *r, size_t *iscr)
{
    idx_sort ctx = {v};
    for (size_t i = 0; i < n; i++)
        iscr[i] = i;
    qsort_r(iscr, n, sizeof *iscr, cmp_idx, &ctx);
    size_t i = 0;
    while (i < n) {
        size_t j = i + 1;
        while (j < n && v[iscr[j]] == v[iscr[i]])
            j++;
        /* ranks i+1 .. j share their mean */
        double avg = 0.5 * ((double)(i + 1) + (double)j);
        for (size_t k = i; k < j; k++)
            r[iscr[k]] = avg;
        i = j;
    }
}

double cl_spearman(const double *x, const double *y, size_t n, double *dscr,
                   size_t *iscr)
{
    if (n < 2 || all_equal(x, n) || all_equal(y, n))
        return NAN;
    double *rx = dscr, *ry = dscr + n;
    cl_rank_average(x, n, rx, iscr);
    cl_rank_average(y, n, ry, iscr);
    return cl_pearson(rx, ry, n);
}

/* Count inversions (i < j, v[i] > v[j]) of v by merge sort; tmp: n. */
static uint64_t inversions(size_t *v, size_t *tmp, size_t n)
{
    uint64_t inv = 0;
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n;
            size_t hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t a = lo, b = mid, o = lo;
            while (a < mid && b < hi) {
                if (v[b] < v[a]) {
                    inv += mid - a;
                    tmp[o++] = v[b++];
                } else {
                    tmp[o++] = v[a++];
                }
            }
            while (a < mid)
                tmp[o++] = v[a++];
            while (b < hi)
                tmp[o++] = v[b++];
        }
        memcpy(v, tmp, n * sizeof *v);
    }
    return inv;
}

typedef struct pair_sort {
    const double *x, *y;
} pair_sort;

static int cmp_pair(const void *a, const void *b, void *arg)
{
    const pair_sort *p = arg;
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    if (p->x[i] != p->x[j])
        return p->x[i] < p->x[j] ? -1 : 1;
    if (p->y[i] != p->y[j])
        return p->y[i] < p->y[j] ? -1 : 1;
    return (i > j) - (i < j);
}

/* Sum over runs of equal values (sorted by index order ord) of
 * len * (len - 1) / 2. */
static uint64_t tie_pairs(const double *v, const size_t *ord, size_t n)
{
    uint64_t t = 0;
    size_t i = 0;
    while (i < n) {
        size_t j = i + 1;
        while (j < n && v[ord[j]] == v[ord[i]])
            j++;
        uint64_t len = j - i;
        t += len * (len - 1) / 2;
        i = j;
    }
    return t;
}

double cl_kendall_b(const double *x, const double *y, size_t n, double *dscr,
                    size_t *iscr)
{
    (void)dscr;
    if (n < 2)
        return NAN;
    size_t *ord = iscr, *yr = iscr + n, *tmp = iscr + 2 * n;
    /* dense ranks of y */
    idx_sort cy = {y};
    for (size_t i = 0; i < n; i++)
        ord[i] = i;
    qsort_r(ord, n, sizeof *ord, cmp_idx, &cy);
    uint64_t ytie = tie_pairs(y, ord, n);
    size_t rank = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && y[ord[i]] != y[ord[i - 1]])
            rank++;
        yr[ord[i]] = rank;
    }
    /* order by (x, y): joint ties and x ties, then y's inversions */
    pair_sort ps = {x, y};
    for (size_t i = 0; i < n; i++)
        ord[i] = i;
    qsort_r(ord, n, sizeof *ord, cmp_pair, &ps);
    uint64_t xtie = tie_pairs(x, ord, n);
    uint64_t ntie = 0;
    size_t i = 0;
    while (i < n) {
        size_t j = i + 1;
        while (j < n && x[ord[j]] == x[ord[i]] && y[ord[j]] == y[ord[i]])
            j++;
        uint64_t len = j - i;
        ntie += len * (len - 1) / 2;
        i = j;
    }
    for (size_t k = 0; k < n; k++)
        tmp[k] = yr[ord[k]];
    /* reuse yr as the sequence and ord as merge scratch */
    memcpy(yr, tmp, n * sizeof *yr);
    uint64_t dis = inversions(yr, ord, n);
    uint64_t tot = (uint64_t)n * (n - 1) / 2;
    if (xtie == tot || ytie == tot)
        return NAN;
    double cmd = (double)tot - (double)xtie - (double)ytie + (double)ntie -
                 2.0 * (double)dis;
    double tau = cmd / sqrt((double)(tot - xtie)) / sqrt((double)(tot - ytie));
    if (tau > 1)
        tau = 1;
    if (tau < -1)
        tau = -1;
    return tau;
}

/* ---- kappa ------------------------------------------------------------------- */

double cl_kappa_conf(const double *conf, size_t L, cl_weights w)
{
    if (L == 0)
        return NAN;
    double total = 0;
    double *s0 = calloc(L, sizeof *s0), *s1 = calloc(L, sizeof *s1);
    if (!s0 || !s1) {
        free(s0);
        free(s1);
        return NAN;
    }
    for (size_t i = 0; i < L; i++)
        for (size_t j = 0; j < L; j++) {
            s0[j] += conf[i * L + j]; /* column sums */
            s1[i] += conf[i * L + j]; /* row sums */
        }
    for (size_t j = 0; j < L; j++)
        total += s0[j];
    double num = 0, den = 0;
    for (size_t i = 0; i < L; i++)
        for (size_t j = 0; j < L; j++) {
            double d = (double)i - (double)j, wij;
            if (w == CL_W_LINEAR)
                wij = fabs(d);
            else if (w == CL_W_QUADRATIC)
                wij = d * d;
            else
                wij = i == j ? 0.0 : 1.0;
            num += wij * conf[i * L + j];
            den += wij * (s0[i] * s1[j] / total);
        }
    free(s0);
    free(s1);
    if (!(den != 0) || total == 0)
        return NAN;
    return 1.0 - num / den;
}

/* ---- group AUC --------------------------------------------------------------- */

int cl_gauc(const size_t *g, size_t ng, const double *score, const bool *pos,
            size_t n, double *auc_g, size_t *n_g, double *gauc,
            size_t *n_included)
{
    size_t *off = calloc(ng + 1, sizeof *off);
    size_t *ord = malloc((n ? n : 1) * sizeof *ord);
    double *sc = malloc((n ? n : 1) * sizeof *sc);
    bool *ps = malloc((n ? n : 1) * sizeof *ps);
    double *scr = malloc((2 * n + 1) * sizeof *scr);
    if (!off || !ord || !sc || !ps || !scr) {
        free(off);
        free(ord);
        free(sc);
        free(ps);
        free(scr);
        return -2;
    }
    for (size_t i = 0; i < n; i++)
        off[g[i] + 1]++;
    for (size_t k = 0; k < ng; k++)
        off[k + 1] += off[k];
    for (size_t i = 0; i < n; i++)
        ord[off[g[i]]++] = i;
    for (size_t k = ng; k > 0; k--)
        off[k] = off[k - 1];
    off[0] = 0;
    double num = 0, den = 0;
    size_t inc = 0;
    for (size_t k = 0; k < ng; k++) {
        size_t m = off[k + 1] - off[k];
        for (size_t t = 0; t < m; t++) {
            sc[t] = score[ord[off[k] + t]];
            ps[t] = pos[ord[off[k] + t]];
        }
        double a = cl_auc_small(sc, ps, m, scr);
        auc_g[k] = a;
        n_g[k] = m;
        if (!isnan(a)) {
            num += (double)m * a;
            den += (double)m;
            inc++;
        }
    }
    *gauc = inc ? num / den : NAN;
    *n_included = inc;
    free(off);
    free(ord);
    free(sc);
    free(ps);
    free(scr);
    return 0;
}
