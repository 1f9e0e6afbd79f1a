/*
 * bench_text.c - throughput and peak memory of corpus BLEU and ROUGE-L on
 * synthetic sentence pairs, through the C functions of the plugins and
 * through the real plugins (host testkit, table input).
 *
 *   bench-metrics-text [--pairs N] [--threads T] [--write FILE]
 *                      [--bleu-plugin SO] [--rouge-plugin SO]
 *                      [--no-bleu] [--no-rouge]
 *
 * Pairs are generated deterministically (fixed seed): hypotheses of 10-30
 * words drawn from a Zipf-like vocabulary with some punctuation, and
 * references made from them by replacing, dropping and inserting words.
 * --write stores them as "hyp<TAB>ref" lines for the peer benchmark
 * (bench_text.py runs NLTK's corpus_bleu on them).  Lines "RESULT k=v"
 * are for the driver script.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bleu_score.h"
#include "rouge_score.h"
#include "testkit.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double peak_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

enum { VOCAB = 20000 };

typedef struct corpus {
    char **vocab;
    double *cdf;
} corpus;

static int make_vocab(corpus *c, assay_rng *r)
{
    c->vocab = calloc(VOCAB, sizeof *c->vocab);
    c->cdf = calloc(VOCAB, sizeof *c->cdf);
    if (!c->vocab || !c->cdf)
        return -1;
    double z = 0;
    for (int i = 0; i < VOCAB; i++) {
        int len = 2 + (int)assay_rng_below(r, 9);
        c->vocab[i] = malloc((size_t)len + 1);
        if (!c->vocab[i])
            return -1;
        for (int k = 0; k < len; k++)
            c->vocab[i][k] = (char)('a' + assay_rng_below(r, 26));
        if (i % 7 == 0)
            c->vocab[i][0] = (char)(c->vocab[i][0] - 32); /* capitals */
        c->vocab[i][len] = '\0';
        z += 1.0 / (i + 1.0);
        c->cdf[i] = z;
    }
    for (int i = 0; i < VOCAB; i++)
        c->cdf[i] /= z;
    return 0;
}

static int draw(const corpus *c, assay_rng *r)
{
    double u = assay_rng_uniform(r);
    int lo = 0, hi = VOCAB - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (c->cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Append word w (and maybe punctuation) to buf. */
static size_t put_word(char *buf, size_t o, const char *w, assay_rng *r,
                       bool first)
{
    if (!first)
        buf[o++] = ' ';
    size_t n = strlen(w);
    memcpy(buf + o, w, n);
    o += n;
    uint64_t p = assay_rng_below(r, 40);
    if (p == 0)
        buf[o++] = ',';
    else if (p == 1)
        buf[o++] = '.';
    return o;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench-metrics-text [--pairs N] [--threads T] "
                    "[--write FILE] [--bleu-plugin SO] [--rouge-plugin "
                    "SO] [--no-bleu] [--no-rouge]\n");
}

typedef struct job {
    tc_items *it;
    int32_t *bst; /* packed per-item statistics */
    rouge_prf *rst;
    bleu_worker *bw;
    rouge_worker *rw;
    rouge_config rcfg;
} job;

static int bleu_range(void *vctx, unsigned tid, size_t b, size_t e,
                      assay_error *err)
{
    job *j = vctx;
    static const bleu_config cfg = {TC_TOK_13A, false, 4};
    for (size_t i = b; i < e; i++) {
        bleu_stats st;
        if (bleu_segment(&j->bw[tid], &cfg, &j->it->hyp[i],
                         &j->it->refs[i], 1, &st))
            return assay_error_set(err, ASSAY_ENOMEM, "item %zu", i);
        bleu_stats_pack(&st, 4, j->bst + i * bleu_packed_size(4));
    }
    return 0;
}

static int rouge_range(void *vctx, unsigned tid, size_t b, size_t e,
                       assay_error *err)
{
    job *j = vctx;
    for (size_t i = b; i < e; i++)
        if (rouge_pair(&j->rw[tid], &j->rcfg, &j->it->refs[i],
                       &j->it->hyp[i], &j->rst[i]))
            return assay_error_set(err, ASSAY_ENOMEM, "item %zu", i);
    return 0;
}

static int run_plugin(const char *so, const char *name, const char *opts,
                      assay_table *t, size_t n, const char *key,
                      const char *field)
{
    assay_error err = {0};
    const assay_plugin *p = assay_testkit_load(so, name, &err);
    if (!p) {
        fprintf(stderr, "load %s: %s\n", so, err.text);
        return -1;
    }
    assay_testkit_tables in = {.n = 1, .ports = {"items"}, .tables = {t}};
    json_t *out = NULL;
    double t0 = now();
    int rc = assay_testkit_run_tables(p, opts, NULL, &in, &out, NULL, &err);
    double dt = now() - t0;
    if (rc) {
        fprintf(stderr, "%s: %s\n", name, err.text);
        return -1;
    }
    json_t *s = json_object_get(out, "summary");
    if (field)
        s = json_object_get(s, field);
    printf("%-30s %8.3f s  %10.0f pairs/s  score %.4f  peak RSS %.0f MB\n",
           name, dt, (double)n / dt,
           json_number_value(json_object_get(s, key)), peak_rss_mb());
    printf("RESULT %s_plugin_seconds=%.6f\n",
           strcmp(name, "metric.bleu") == 0 ? "bleu" : "rougeL", dt);
    json_decref(out);
    return 0;
}

int main(int argc, char **argv)
{
    size_t n = 1000000;
    unsigned threads = (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
    const char *write = NULL, *bleu_so = NULL, *rouge_so = NULL;
    bool do_bleu = true, do_rouge = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (strcmp(a, "--no-bleu") == 0 || strcmp(a, "--no-rouge") == 0) {
            *(a[5] == 'b' ? &do_bleu : &do_rouge) = false;
            continue;
        }
        if (!v) {
            usage();
            return 2;
        }
        if (strcmp(a, "--pairs") == 0) {
            n = strtoull(v, &end, 10);
        } else if (strcmp(a, "--threads") == 0) {
            threads = (unsigned)strtoul(v, &end, 10);
        } else if (strcmp(a, "--write") == 0) {
            write = v;
        } else if (strcmp(a, "--bleu-plugin") == 0) {
            bleu_so = v;
        } else if (strcmp(a, "--rouge-plugin") == 0) {
            rouge_so = v;
        } else {
            usage();
            return 2;
        }
        if (end && *end) {
            usage();
            return 2;
        }
        i++;
    }
    if (threads < 1)
        threads = 1;

    /* ---- generate ---- */
    double t0 = now();
    assay_rng r;
    assay_rng_init(&r, 20240611);
    corpus c;
    if (make_vocab(&c, &r))
        return 1;
    assay_table *t = assay_testkit_table_new(n);
    if (!t || !assay_testkit_table_add_col(t, "hyp", ASSAY_COL_STRING) ||
        !assay_testkit_table_add_col(t, "refs", ASSAY_COL_STRING))
        return 1;
    FILE *wf = write ? fopen(write, "w") : NULL;
    if (write && !wf) {
        perror(write);
        return 1;
    }
    static char hb[4096], rb[4096];
    int words[64];
    for (size_t i = 0; i < n; i++) {
        int len = 10 + (int)assay_rng_below(&r, 21);
        for (int k = 0; k < len; k++)
            words[k] = draw(&c, &r);
        size_t ho = 0, ro = 0;
        bool rfirst = true;
        for (int k = 0; k < len; k++) {
            ho = put_word(hb, ho, c.vocab[words[k]], &r, k == 0);
            uint64_t e = assay_rng_below(&r, 100);
            if (e < 8) /* drop */
                continue;
            if (e < 20) { /* replace */
                ro = put_word(rb, ro, c.vocab[draw(&c, &r)], &r, rfirst);
            } else {
                ro = put_word(rb, ro, c.vocab[words[k]], &r, rfirst);
                if (e >= 95) /* insert */
                    ro = put_word(rb, ro, c.vocab[draw(&c, &r)], &r, false);
            }
            rfirst = false;
        }
        if (assay_testkit_table_set_str(t, 0, i, hb, ho) ||
            assay_testkit_table_set_str(t, 1, i, rb, ro))
            return 1;
        if (wf)
            fprintf(wf, "%.*s\t%.*s\n", (int)ho, hb, (int)ro, rb);
    }
    if (wf && fclose(wf)) {
        perror(write);
        return 1;
    }
    for (int i = 0; i < VOCAB; i++)
        free(c.vocab[i]);
    free(c.vocab);
    free(c.cdf);
    printf("generated %zu pairs (10-30 words) in %.2f s; peak RSS %.0f MB;"
           " %u threads\n",
           n, now() - t0, peak_rss_mb(), threads);

    /* ---- items over the table's strings ---- */
    tc_items it = {0};
    it.n = n;
    it.hyp = calloc(n ? n : 1, sizeof *it.hyp);
    it.refs = calloc(n ? n : 1, sizeof *it.refs);
    it.ref_off = calloc(n + 1, sizeof *it.ref_off);
    job j = {0};
    j.it = &it;
    j.bst = calloc((n ? n : 1) * bleu_packed_size(4), sizeof *j.bst);
    j.rst = calloc(n ? n : 1, sizeof *j.rst);
    j.bw = calloc(threads, sizeof *j.bw);
    j.rw = calloc(threads, sizeof *j.rw);
    if (!it.hyp || !it.refs || !it.ref_off || !j.bst || !j.rst || !j.bw ||
        !j.rw)
        return 1;
    const char *const *hs = assay_col_str(&t->cols[0]);
    const char *const *rs = assay_col_str(&t->cols[1]);
    for (size_t i = 0; i < n; i++) {
        it.hyp[i].p = hs[i];
        it.hyp[i].len = strlen(hs[i]);
        it.refs[i].p = rs[i];
        it.refs[i].len = strlen(rs[i]);
        it.ref_off[i + 1] = i + 1;
    }
    assay_error err = {0};

    /* ---- corpus BLEU through the C functions ---- */
    double c0 = cpu_now(), dt, dc;
    t0 = now();
    if (!do_bleu)
        goto rouge;
    if (tc_map_items(NULL, n, threads, bleu_range, &j, &err)) {
        fprintf(stderr, "bleu: %s\n", err.text);
        return 1;
    }
    bleu_stats sum = {0};
    for (size_t i = 0; i < n; i++)
        bleu_stats_add_packed(&sum, j.bst + i * bleu_packed_size(4), 4);
    bleu_result br;
    bleu_compute(&sum, 4, BLEU_SMOOTH_EXP, -1, false, &br);
    dt = now() - t0;
    dc = cpu_now() - c0;
    printf("%-30s %8.3f s  %10.0f pairs/s  BLEU %.4f  peak RSS %.0f MB"
           "  (CPU %.3f s)\n",
           "corpus BLEU (13a, C)", dt, (double)n / dt, br.score,
           peak_rss_mb(), dc);
    printf("RESULT bleu_seconds=%.6f\nRESULT bleu_score=%.6f\n"
           "RESULT bleu_rss_mb=%.1f\nRESULT bleu_cpu_seconds=%.6f\n",
           dt, br.score, peak_rss_mb(), dc);

rouge:
    if (!do_rouge)
        goto plugins;
    /* ---- ROUGE-L through the C functions ---- */
    j.rcfg.ntypes = 1;
    rouge_type_parse("rougeL", &j.rcfg.types[0]);
    c0 = cpu_now();
    t0 = now();
    if (tc_map_items(NULL, n, threads, rouge_range, &j, &err)) {
        fprintf(stderr, "rouge: %s\n", err.text);
        return 1;
    }
    double f = 0;
    for (size_t i = 0; i < n; i++)
        f += j.rst[i].f;
    dt = now() - t0;
    dc = cpu_now() - c0;
    printf("%-30s %8.3f s  %10.0f pairs/s  F1 %.4f  peak RSS %.0f MB"
           "  (CPU %.3f s)\n",
           "ROUGE-L (C)", dt, (double)n / dt, n ? f / (double)n : 0.0,
           peak_rss_mb(), dc);
    printf("RESULT rougeL_seconds=%.6f\n", dt);
plugins:
    for (unsigned k = 0; k < threads; k++) {
        bleu_worker_free(&j.bw[k]);
        rouge_worker_free(&j.rw[k]);
    }
    free(j.bw);
    free(j.rw);
    free(j.bst);
    free(j.rst);
    free(it.hyp);
    free(it.refs);
    free(it.ref_off);

    /* ---- through the plugins (the host copies the table in) ---- */
    char th[32];
    snprintf(th, sizeof th, "%u", threads);
    setenv("ASSAY_THREADS", th, 1);
    if (do_bleu && bleu_so && run_plugin(bleu_so, "metric.bleu",
                              "{\"item_scores\": false}", t, n, "score",
                              NULL))
        return 1;
    if (do_rouge && rouge_so &&
        run_plugin(rouge_so, "metric.rouge",
                   "{\"item_scores\": false, \"rouge_types\": [\"rougeL\"]}",
                   t, n, "fmeasure", "rougeL"))
        return 1;
    printf("RESULT peak_rss_mb=%.1f\n", peak_rss_mb());
    assay_testkit_table_free(t);
    return 0;
}
