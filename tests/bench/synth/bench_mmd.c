/*
 * bench_mmd.c - MMD weight learning time (synth.synalign's alignment
 * step) for 10,000 synthetic x 2,000 real 256-d embeddings, against a
 * numpy peer in the same run.
 *
 *   bench-synth-mmd [--m 10000] [--n 2000] [--d 256] [--threads 2]
 *                   [--no-peer]      (PYTHON: the peer's interpreter)
 *
 * Data: the real sample comes from 16 Gaussian clusters in 256-d; the
 * synthetic sample over-represents four of them (70% of it, too wide)
 * and adds 30% from clusters the real data does not have.  The bandwidth
 * is the median pairwise distance (metric statcommon's median
 * heuristic).  Ours: pairwise Frank-Wolfe on the simplex (syn_mmd.h)
 * with BLAS kernel blocks, OPENBLAS_NUM_THREADS=1 as under `assay run`
 * (set it in the environment; meson's benchmark does) and --threads
 * worker threads.  Peer: numpy/BLAS accelerated projected
 * gradient (FISTA with sort-based simplex projection) on the dense
 * float64 Gram matrix, the usual way to write it in Python, run to the
 * same MMD^2 as ours (or 3000 steps).  Prints both times, the MMD^2
 * reached, and the ratio.
 */
#include <stddef.h> /* before assay/rng.h, which uses size_t */

#include <assay/rng.h>
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kernel.h"
#include "syn_mmd.h"

static double now(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void make_data(size_t n, size_t m, size_t d, double **X, double **Y,
                      size_t *off_start)
{
    enum { NC = 16, NOFF = 8 };
    assay_rng r;
    assay_rng_init(&r, 2025);
    double *cent = malloc((NC + NOFF) * d * sizeof *cent);
    for (size_t i = 0; i < (NC + NOFF) * d; i++)
        cent[i] = assay_rng_normal(&r) * 0.25;
    *X = malloc(n * d * sizeof **X);
    *Y = malloc(m * d * sizeof **Y);
    for (size_t i = 0; i < n; i++) {
        size_t c = i % NC;
        for (size_t k = 0; k < d; k++)
            (*X)[i * d + k] = cent[c * d + k] + 0.12 * assay_rng_normal(&r);
    }
    size_t in = m * 7 / 10;
    for (size_t a = 0; a < m; a++) {
        size_t c;
        double sd = 0.12;
        if (a < in) {
            /* 70% of these from four clusters, the rest spread evenly,
             * all a little too wide */
            c = assay_rng_uniform(&r) < 0.7 ? assay_rng_below(&r, 4)
                                            : assay_rng_below(&r, NC);
            sd = 0.14;
        } else {
            c = NC + assay_rng_below(&r, NOFF);
        }
        for (size_t k = 0; k < d; k++)
            (*Y)[a * d + k] = cent[c * d + k] + sd * assay_rng_normal(&r);
    }
    *off_start = in;
    free(cent);
}

static int write_bin(const char *path, const double *v, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(v, sizeof *v, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

int main(int argc, char **argv)
{
    size_t n = 2000, m = 10000, d = 256;
    unsigned threads = 2;
    int peer = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--no-peer"))
            peer = 0;
        else if (i + 1 < argc && !strcmp(argv[i], "--m"))
            m = strtoul(argv[++i], NULL, 10);
        else if (i + 1 < argc && !strcmp(argv[i], "--n"))
            n = strtoul(argv[++i], NULL, 10);
        else if (i + 1 < argc && !strcmp(argv[i], "--d"))
            d = strtoul(argv[++i], NULL, 10);
        else if (i + 1 < argc && !strcmp(argv[i], "--threads"))
            threads = (unsigned)strtoul(argv[++i], NULL, 10);
    }
    /* `assay run` sets OPENBLAS_NUM_THREADS=1 (plugins parallelise with
     * their own threads); OpenBLAS reads it when it loads, before main */
    const char *obt = getenv("OPENBLAS_NUM_THREADS");
    if (!obt || strcmp(obt, "1") != 0)
        printf("note: run with OPENBLAS_NUM_THREADS=1, as under assay run "
               "(now: %s)\n",
               obt ? obt : "unset");
    double *X, *Y;
    size_t off;
    make_data(n, m, d, &X, &Y, &off);
    double sigma;
    if (mk_median_distance(X, n, Y, m, d, 2000, &sigma) != 0)
        return 1;
    printf("MMD weight learning: %zu synthetic x %zu real, %zu-d, sigma "
           "%.4f (median heuristic), %u threads, OpenBLAS kernels: %s\n",
           m, n, d, sigma, threads, openblas_get_corename());

    double *w = malloc(m * sizeof *w);
    syn_mmd_opts o = {
        .sigma = sigma, .threads = threads, .max_iter = 20000, .tol = 1e-3};
    syn_mmd_result res;
    assay_error err;
    double t0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
    if (syn_mmd_learn(X, n, Y, m, d, &o, w, &res, &err) != 0) {
        fprintf(stderr, "%s\n", err.text);
        return 1;
    }
    double wall = now(CLOCK_MONOTONIC) - t0;
    double cpu = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
    double offmass = 0;
    for (size_t a = off; a < m; a++)
        offmass += w[a];
    printf("ours  (pairwise Frank-Wolfe, C/BLAS): %.2f s wall, %.2f s CPU; "
           "MMD^2 %.5f -> %.6f (%.1fx lower), %zu steps, gap %.2g, "
           "support %zu, off-distribution mass %.4f (uniform: %.2f)\n",
           wall, cpu, res.mmd2_before, res.mmd2_after,
           res.mmd2_before / res.mmd2_after, res.iterations, res.gap,
           res.support, offmass, (double)(m - off) / (double)m);
    printf("target: under 5 s on 2 cores: %s\n", wall < 5.0 ? "met" : "MISSED");

    if (peer) {
        char dir[] = "/tmp/bench-synth-XXXXXX", px[600], py[600], cmd[2048];
        if (!mkdtemp(dir))
            return 1;
        snprintf(px, sizeof px, "%s/x.bin", dir);
        snprintf(py, sizeof py, "%s/y.bin", dir);
        if (write_bin(px, X, n * d) || write_bin(py, Y, m * d))
            return 1;
        const char *python = getenv("PYTHON");
        if (!python)
            python = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3"
                                                           : "python3";
        snprintf(cmd, sizeof cmd,
                 "OPENBLAS_NUM_THREADS=%u OMP_NUM_THREADS=%u %s "
                 "%s/mmd_numpy.py %s %s %zu %zu %zu %.17g %.17g",
                 threads, threads, python, BENCH_SRC, px, py, n, m, d, sigma,
                 res.mmd2_after);
        FILE *p = popen(cmd, "r");
        double pw = -1, pm = -1;
        int steps = 0;
        char line[512];
        while (p && fgets(line, sizeof line, p)) {
            if (sscanf(line, "peer %lf %lf %d", &pw, &pm, &steps) == 3)
                continue;
            fputs(line, stdout);
        }
        if (p)
            pclose(p);
        unlink(px);
        unlink(py);
        rmdir(dir);
        if (pw < 0) {
            printf("numpy peer failed (is python3-numpy installed?)\n");
        } else {
            printf("peer  (numpy FISTA, dense Gram, %u BLAS threads): "
                   "%.2f s wall; MMD^2 %.6f after %d steps\n",
                   threads, pw, pm, steps);
            printf("ratio: peer / ours = %.1fx\n", pw / wall);
        }
    }
    free(X);
    free(Y);
    free(w);
    return 0;
}
