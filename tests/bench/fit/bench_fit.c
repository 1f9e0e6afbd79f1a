/*
 * bench_fit.c - the 4,500-start Chinchilla fit on 250 points: our
 * multi-start (all cores) against scipy's L-BFGS-B with analytic gradients
 * on the same loss, grid and data, in the same run.  Prints wall times,
 * the ratio and both objectives.  Not a test: nothing is asserted.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <assay/rng.h>

#include "ffit.h"

#ifndef BENCH_FIT_SCIPY
#define BENCH_FIT_SCIPY "bench_fit_scipy.py"
#endif

#define NPTS 250

static double clock_s(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double now(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

int main(void)
{
    static double N[NPTS], D[NPTS], L[NPTS], lL[NPTS];
    assay_rng rng;
    assay_rng_init(&rng, 2024);
    /* Chinchilla-like: Hoffmann's parameters, 1% log-normal noise */
    for (size_t i = 0; i < NPTS; i++) {
        N[i] = round(
            exp(log(7e7) + assay_rng_uniform(&rng) * (log(1.6e10) - log(7e7))));
        D[i] = round(
            exp(log(5e9) + assay_rng_uniform(&rng) * (log(5e11) - log(5e9))));
        L[i] = (1.69 + 406.4 / pow(N[i], 0.34) + 410.7 / pow(D[i], 0.28)) *
               exp(0.01 * assay_rng_normal(&rng));
        lL[i] = log(L[i]);
    }
    static const char *const vars[] = {"N", "D"};
    static const char *const params[] = {"a", "b", "e", "alpha", "beta"};
    fexpr *e;
    fexpr_data *d;
    assay_error err = {0};
    if (fexpr_compile("log(exp(a - alpha*log(N)) + exp(b - beta*log(D)) + "
                      "exp(e))",
                      "law", vars, 2, params, 5, 0, &e, &err) ||
        fexpr_bind(e, (const double *const[]){N, D}, NPTS, &d, &err)) {
        fprintf(stderr, "bench-fit: %s\n", err.text);
        return 1;
    }
    static const double gab[] = {0, 5, 10, 15, 20, 25};
    static const double ge[] = {-1, -0.5, 0, 0.5, 1};
    static const double gx[] = {0, 0.5, 1, 1.5, 2};
    const double *vals[] = {gab, gab, ge, gx, gx};
    size_t len[] = {6, 6, 5, 5, 5};
    ffit_grid g = {.k = 5, .vals = vals, .len = len};
    ffit_problem pb = {.law = e,
                       .data = d,
                       .y = lL,
                       .loss = FEXPR_LOSS_HUBER,
                       .delta = 1e-3,
                       .k = 5};
    ffit_options o;
    ffit_options_default(&o, FFIT_LBFGS);
    o.screen.ftol_rel = 1e-4; /* the plugins' default */
    long nc = sysconf(_SC_NPROCESSORS_ONLN);
    o.threads = nc > 0 ? (unsigned)nc : 1;
    ffit_result r = {0};
    double best_t = INFINITY, cpu = 0;
    for (int rep = 0; rep < 3; rep++) { /* best of 3 */
        free(r.p);
        double t0 = now(), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        if (ffit_multistart(&pb, &g, &o, &r, &err)) {
            fprintf(stderr, "bench-fit: %s\n", err.text);
            return 1;
        }
        double t = now() - t0;
        if (t < best_t) {
            best_t = t;
            cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
        }
    }
    printf("assay: %zu starts x %d points on %u threads: %.3f s wall (best "
           "of 3; %.3f s CPU), objective %.17g, %.1f evaluations per start\n",
           r.n_starts, NPTS, o.threads, best_t, cpu, r.f,
           (double)r.evals / (double)r.n_starts);
    printf("assay: a b e alpha beta = %.6g %.6g %.6g %.6g %.6g\n", r.p[0],
           r.p[1], r.p[2], r.p[3], r.p[4]);

    char path[] = "/tmp/assay-bench-fit-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        printf("scipy: skipped (cannot write a temporary file)\n");
        return 0;
    }
    for (size_t i = 0; i < NPTS; i++)
        fprintf(f, "%.17g %.17g %.17g\n", N[i], D[i], L[i]);
    fclose(f);
    const char *py =
        access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
    char cmd[2048], line[4096];
    snprintf(cmd, sizeof cmd, "%s '%s' '%s' 2>&1", py, BENCH_FIT_SCIPY, path);
    FILE *p = popen(cmd, "r");
    double ss = NAN, sf = NAN, scpu = NAN;
    while (p && fgets(line, sizeof line, p)) {
        if (sscanf(line, "scipy_seconds %lf cpu %lf objective %lf", &ss, &scpu,
                   &sf) == 3)
            printf("scipy: %s", line);
        else
            printf("scipy says: %s", line);
    }
    if (p)
        pclose(p);
    unlink(path);
    if (!isfinite(ss)) {
        printf("scipy: skipped (python3 with numpy and scipy not "
               "available)\n");
    } else {
        printf("scipy L-BFGS-B (analytic gradients, 1 thread): %.3f s wall "
               "(%.3f s CPU), objective %.17g\n",
               ss, scpu, sf);
        printf("ratio: assay is %.1fx faster in wall time (%.1fx in CPU "
               "time); objective %s scipy's (relative difference %.3g)\n",
               ss / best_t, scpu / cpu, r.f <= sf * (1 + 1e-12) ? "<=" : ">",
               (r.f - sf) / sf);
    }
    free(r.p);
    fexpr_data_free(d);
    fexpr_free(e);
    return 0;
}
