/*
 * bench_rank.c - ranking and AUC throughput of the metric plugins' cores.
 *
 *   NDCG@10 and HR@10 (with every other ranking measure) over U users x
 *   100 candidates given as a long (user, item, score) table, the
 *   positive given as a qrels row per user (sampled-candidate protocol),
 *   means only and with the per-user values; ROC AUC over N scores.
 *   Each is timed on 1 thread and on every core, best of 3.  In the same
 *   run, vectorised numpy (ndcg_numpy.py, started with OPENBLAS_CORETYPE
 *   and OPENBLAS_L2_SIZE unset) computes NDCG@10 and HR@10 from the same
 *   run and qrels columns (the like-for-like ratio), and, for reference,
 *   from the bare score matrix with the positive's column handed to it,
 *   by argsort and by counting.  Prints throughput, peak RSS and the
 *   ratios.
 *
 * Usage: bench-metrics-rank [USERS [AUC_SCORES]]  (default 1e6 and 1e7)
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <assay/rng.h>

#include "clscore.h"
#include "rankcore.h"

#ifndef BENCH_SRC
#define BENCH_SRC "."
#endif

#define CANDS 100

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double peak_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

static int write_file(const char *dir, const char *name, const void *p,
                      size_t bytes)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return -1;
    size_t w = fwrite(p, 1, bytes, fp);
    int rc = fclose(fp);
    return w == bytes && rc == 0 ? 0 : -1;
}

static long parse_count(const char *s, long def)
{
    if (!s)
        return def;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || v < 1 || v > 1e9)
        return def;
    return (long)v;
}

int main(int argc, char **argv)
{
    size_t users = (size_t)parse_count(argc > 1 ? argv[1] : NULL, 1000000);
    size_t nauc = (size_t)parse_count(argc > 2 ? argv[2] : NULL, 10000000);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned cores = ncpu > 0 ? (unsigned)ncpu : 1;
    size_t n = users * CANDS;

    /* ---- data: user-grouped candidates, one positive each ------------ */
    int64_t *ru = malloc(n * sizeof *ru), *ri = malloc(n * sizeof *ri);
    double *sc = malloc(n * sizeof *sc);
    int64_t *qu = malloc(users * sizeof *qu), *qi = malloc(users * sizeof *qi);
    int64_t *pos = malloc(users * sizeof *pos);
    double *rel = malloc(users * sizeof *rel);
    if (!ru || !ri || !sc || !qu || !qi || !pos || !rel) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    assay_rng rng;
    assay_rng_init(&rng, 20261128);
    for (size_t u = 0; u < users; u++) {
        pos[u] = (int64_t)assay_rng_below(&rng, CANDS);
        for (size_t j = 0; j < CANDS; j++) {
            size_t r = u * CANDS + j;
            ru[r] = (int64_t)u * 7 + 3;
            ri[r] = (int64_t)((j * 7919 + u * 31) % 1000003);
            /* the positive tends to score higher: HR@10 around 0.35 */
            sc[r] = assay_rng_uniform(&rng) +
                    ((int64_t)j == pos[u] ? 0.35 : 0.0);
        }
        qu[u] = ru[u * CANDS];
        qi[u] = ri[u * CANDS + (size_t)pos[u]];
        rel[u] = 1;
    }
    printf("metrics-rank benchmark: %zu users x %d candidates (%zu rows), "
           "%u cores\n",
           users, CANDS, n, cores);

    /* ---- C: ranking measures ------------------------------------------ *
     * Twice: the means only (metric.ranking with items: false; what the
     * numpy code computes), and with the per-user values as well (the
     * per-query table, items: true). */
    const int64_t ks[] = {10};
    double best[2][2] = {{1e30, 1e30}, {1e30, 1e30}}, c_ndcg = 0, c_hr = 0;
    unsigned tcount[2] = {1, cores};
    for (int mode = 0; mode < 2; mode++)
        for (int t = 0; t < 2; t++)
            for (int rep = 0; rep < 3; rep++) {
                rk_config cfg = {.protocol = RK_SAMPLED,
                                 .ties = RK_TIES_OPTIMISTIC,
                                 .rel_threshold = 1, .ks = ks, .nk = 1,
                                 .summary_only = mode == 0};
                sc_keys k1 = {.n = n, .i = ru}, k2 = {.n = n, .i = ri};
                sc_keys k3 = {.n = users, .i = qu}, k4 = {.n = users, .i = qi};
                rk_result res;
                assay_error err = {0};
                double t0 = now();
                if (rk_evaluate(&cfg, NULL, tcount[t], &k1, &k2, sc, &k3,
                                &k4, rel, &res, &err)) {
                    fprintf(stderr, "rk_evaluate: %s\n", err.text);
                    return 1;
                }
                double dt = now() - t0;
                if (dt < best[mode][t])
                    best[mode][t] = dt;
                c_ndcg = res.mean[RK_NBASE + RK_K_NDCG];
                c_hr = res.mean[RK_NBASE + RK_K_HR];
                rk_result_free(&res);
            }
    for (int mode = 0; mode < 2; mode++)
        printf("C ranking, every measure (NDCG@10, HR@10, MRR, MAP, P, R), "
               "%s: 1 thread %.3f s, %u threads %.3f s = %.1f M rows/s\n",
               mode ? "with per-user values" : "means only",
               best[mode][0], cores, best[mode][1],
               (double)n / best[mode][1] / 1e6);
    printf("  ndcg@10 = %.12f  hr@10 = %.12f\n", c_ndcg, c_hr);

    /* ---- numpy on the same scores ----------------------------------------- */
    char dir[] = "/tmp/assay-bench-XXXXXX";
    double np_sec = -1;
    static const char *const files[] = {"scores.f64", "pos.i64",
                                        "users.i64",  "items.i64",
                                        "qusers.i64", "qitems.i64"};
    if (mkdtemp(dir) && write_file(dir, "scores.f64", sc, n * sizeof *sc) == 0 &&
        write_file(dir, "pos.i64", pos, users * sizeof *pos) == 0 &&
        write_file(dir, "users.i64", ru, n * sizeof *ru) == 0 &&
        write_file(dir, "items.i64", ri, n * sizeof *ri) == 0 &&
        write_file(dir, "qusers.i64", qu, users * sizeof *qu) == 0 &&
        write_file(dir, "qitems.i64", qi, users * sizeof *qi) == 0) {
        const char *py = access("/usr/bin/python3", X_OK) == 0
                             ? "/usr/bin/python3"
                             : "python3";
        char cmd[8192];
        snprintf(cmd, sizeof cmd,
                 "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE %s "
                 "%s/ndcg_numpy.py %s %zu %d 3",
                 py, BENCH_SRC, dir, users, CANDS);
        FILE *p = popen(cmd, "r");
        char line[4096] = "";
        if (p) {
            if (!fgets(line, sizeof line, p))
                line[0] = '\0';
            pclose(p);
        }
        double nd = NAN, hr = NAN, rss = NAN, cnd = NAN, csec = -1;
        double lnd = NAN, lhr = NAN, lsec = -1;
        const char *q;
        if ((q = strstr(line, "\"ndcg@10\": ")))
            nd = strtod(q + 11, NULL);
        if ((q = strstr(line, "\"hr@10\": ")))
            hr = strtod(q + 9, NULL);
        if ((q = strstr(line, "\"seconds\": ")))
            np_sec = strtod(q + 11, NULL);
        if ((q = strstr(line, "\"count_ndcg@10\": ")))
            cnd = strtod(q + 17, NULL);
        if ((q = strstr(line, "\"count_seconds\": ")))
            csec = strtod(q + 17, NULL);
        if ((q = strstr(line, "\"long_ndcg@10\": ")))
            lnd = strtod(q + 16, NULL);
        if ((q = strstr(line, "\"long_hr@10\": ")))
            lhr = strtod(q + 14, NULL);
        if ((q = strstr(line, "\"long_seconds\": ")))
            lsec = strtod(q + 16, NULL);
        if ((q = strstr(line, "\"peak_rss_mb\": ")))
            rss = strtod(q + 15, NULL);
        if (np_sec > 0 && lsec > 0) {
            printf("numpy on the same inputs (user, item, score run + "
                   "qrels; vectorised, reshaped): %.3f s (peak RSS %.0f MB "
                   "for all numpy variants)\n",
                   lsec, rss);
            printf("  ndcg@10 = %.12f  hr@10 = %.12f  (|diff| %.1e, %.1e)\n",
                   lnd, lhr, fabs(lnd - c_ndcg), fabs(lhr - c_hr));
            printf("speed ratio C/numpy, same inputs, means only: %.1fx on "
                   "%u threads, %.1fx on 1 thread (with per-user values: "
                   "%.1fx on %u threads)\n",
                   lsec / best[0][1], cores, lsec / best[0][0],
                   lsec / best[1][1], cores);
            printf("RESULT ratio_same_inputs=%.2f\n", lsec / best[0][1]);
            printf("numpy argsort/take_along_axis NDCG@10+HR@10 on the "
                   "score matrix: %.3f s\n",
                   np_sec);
            printf("  ndcg@10 = %.12f  hr@10 = %.12f  (|diff| %.1e, %.1e)\n",
                   nd, hr, fabs(nd - c_ndcg), fabs(hr - c_hr));
            printf("speed ratio C/numpy argsort: %.1fx on %u threads, "
                   "%.1fx on 1 thread\n",
                   np_sec / best[0][1], cores, np_sec / best[0][0]);
            printf("numpy sort-free on the score matrix, handed the "
                   "positive's column (less input than C reads): %.3f s, "
                   "ndcg@10 |diff| %.1e; ratio C/numpy %.1fx on %u "
                   "threads\n",
                   csec, fabs(cnd - c_ndcg), csec / best[0][1], cores);
        } else {
            printf("numpy run failed (is python3-numpy installed?): %s\n",
                   line);
        }
    } else {
        printf("numpy comparison skipped: cannot write the inputs\n");
    }
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, files[f]);
        unlink(path);
    }
    rmdir(dir);
    free(ru);
    free(ri);
    free(sc);
    free(qu);
    free(qi);
    free(pos);
    free(rel);

    /* ---- AUC ------------------------------------------------------------------ */
    double *as = malloc(nauc * sizeof *as);
    bool *ap = malloc(nauc * sizeof *ap);
    if (!as || !ap) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < nauc; i++) {
        ap[i] = assay_rng_uniform(&rng) < 0.3;
        as[i] = assay_rng_normal(&rng) + (ap[i] ? 0.8 : 0.0);
        if (i % 10 == 0) /* some ties */
            as[i] = floor(as[i] * 100) / 100;
    }
    double abest[2] = {1e30, 1e30}, auc = 0;
    for (int t = 0; t < 2; t++)
        for (int rep = 0; rep < 3; rep++) {
            double t0 = now();
            if (cl_auc(as, ap, nauc, tcount[t], &auc)) {
                fprintf(stderr, "cl_auc: out of memory\n");
                return 1;
            }
            double dt = now() - t0;
            if (dt < abest[t])
                abest[t] = dt;
        }
    printf("C ROC AUC on %zu scores: 1 thread %.3f s, %u threads %.3f s = "
           "%.1f M scores/s (auc %.6f)\n",
           nauc, abest[0], cores, abest[1], (double)nauc / abest[1] / 1e6,
           auc);
    free(as);
    free(ap);
    printf("peak RSS (C process): %.0f MB\n", peak_rss_mb());
    return 0;
}
