/*
 * apencore.c - Approximate Entropy.  Every unordered template pair is
 * compared once: the distance over the first m elements decides the
 * length-m match, one more element the length-(m + 1) match, and both
 * templates of a matching pair get the count.
 */
#include "apencore.h"

#include <math.h>
#include <string.h>

/* numpy-style pairwise summation, so that means agree to the last bits
 * as far as possible */
static double psum(const double *v, size_t n)
{
    if (n <= 128) {
        double s = 0.0;
        for (size_t i = 0; i < n; i++)
            s += v[i];
        return s;
    }
    size_t h = n / 2;
    return psum(v, h) + psum(v + h, n - h);
}

double ap_std(const double *x, size_t n)
{
    if (n == 0)
        return NAN;
    double mean = psum(x, n) / (double)n, s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (x[i] - mean) * (x[i] - mean);
    return sqrt(s / (double)n);
}

/* phi from match counts: mean of ln(count / nt) over nt templates, the
 * logs summed in blocks through a small buffer */
static double phi_of(const size_t *cnt, size_t nt)
{
    double buf[256], total = 0.0;
    if (nt == 0)
        return 0.0;
    if (nt <= 256) {
        for (size_t i = 0; i < nt; i++)
            buf[i] = log((double)cnt[i] / (double)nt);
        return psum(buf, nt) / (double)nt;
    }
    /* long sequences: Kahan-compensated sum of the logs */
    double c = 0.0;
    for (size_t i = 0; i < nt; i++) {
        double y = log((double)cnt[i] / (double)nt) - c;
        double t = total + y;
        c = (t - total) - y;
        total = t;
    }
    return total / (double)nt;
}

bool ap_apen(const double *x, size_t n, size_t m, double r, size_t *counts,
             double *apen, double *phi_m, double *phi_m1)
{
    *apen = *phi_m = *phi_m1 = NAN;
    if (m < 1 || n < m + 1)
        return false;
    size_t nm = n - m + 1, nm1 = n - m;
    size_t *cm = counts, *cm1 = counts + nm;
    for (size_t i = 0; i < nm; i++)
        cm[i] = 1; /* self-match */
    for (size_t i = 0; i < nm1; i++)
        cm1[i] = 1;
    for (size_t i = 0; i < nm; i++) {
        for (size_t j = i + 1; j < nm; j++) {
            size_t l = 0;
            while (l < m && fabs(x[i + l] - x[j + l]) <= r)
                l++;
            if (l < m)
                continue;
            cm[i]++;
            cm[j]++;
            if (j < nm1 && fabs(x[i + m] - x[j + m]) <= r) {
                cm1[i]++;
                cm1[j]++;
            }
        }
    }
    *phi_m = phi_of(cm, nm);
    *phi_m1 = phi_of(cm1, nm1);
    *apen = *phi_m - *phi_m1;
    return true;
}
