/*
 * test_rankcore.c - golden tests of the ranking core: trec_eval 10.0 on
 * the trec-style runs (with and without -c) and the leave-one-out
 * recommender vectors (optimistic and pessimistic ties).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rankcore.h"

/* ---- small loaders --------------------------------------------------------- */

static char *golden_path(const char *name)
{
    static char buf[4096];
    const char *src = getenv("ASSAY_SRC");
    snprintf(buf, sizeof buf, "%s/tests/golden/ranking/%s", src ? src : ".",
             name);
    return buf;
}

/* Whitespace-separated text table: up to 6 fields per line. */
typedef struct text_tab {
    size_t n;
    char **f[10];
    char *arena;
} text_tab;

static void text_load(text_tab *t, const char *name)
{
    FILE *fp = fopen(golden_path(name), "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    long sz = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    t->arena = malloc((size_t)sz + 1);
    assert_int_equal(fread(t->arena, 1, (size_t)sz, fp), (size_t)sz);
    t->arena[sz] = '\0';
    fclose(fp);
    size_t lines = 0;
    for (long i = 0; i < sz; i++)
        lines += t->arena[i] == '\n';
    for (int k = 0; k < 10; k++)
        t->f[k] = calloc(lines + 1, sizeof(char *));
    t->n = 0;
    /* split in place: lines on '\n', fields on blanks */
    char *p = t->arena, *end = t->arena + sz;
    while (p < end) {
        char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        *eol = '\0';
        int k = 0;
        char *c = p;
        while (c < eol && k < 10) {
            while (c < eol && (*c == ' ' || *c == '\t'))
                c++;
            if (c >= eol)
                break;
            t->f[k++][t->n] = c;
            while (c < eol && *c != ' ' && *c != '\t')
                c++;
            *c++ = '\0';
        }
        if (k > 0)
            t->n++;
        p = eol + 1;
    }
}

static void text_free(text_tab *t)
{
    for (int k = 0; k < 10; k++)
        free(t->f[k]);
    free(t->arena);
}

static sc_keys str_keys(char **s, size_t n)
{
    sc_keys k = {0};
    k.n = n;
    k.is_str = true;
    k.s = (const char *const *)s;
    return k;
}

static double *parse_col(char **s, size_t n)
{
    double *v = malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        char *end;
        v[i] = strtod(s[i], &end);
        assert_true(end != s[i]);
    }
    return v;
}

static json_t *load_json(const char *name)
{
    json_error_t je;
    json_t *j = json_load_file(golden_path(name), 0, &je);
    if (!j)
        fail_msg("%s: %s", name, je.text);
    return j;
}

static void near(double got, double want, double tol, const char *what,
                 const char *q)
{
    if (!(fabs(got - want) <= tol * (fabs(want) > 1 ? fabs(want) : 1)))
        fail_msg("%s %s: got %.17g want %.17g", q, what, got, want);
}

/* trec_eval measure name -> our column */
static const struct {
    const char *trec;
    int col;  /* base column or -1 */
    int k;    /* index into ks, with measure m */
    int m;
} measures[] = {
    {"num_ret", RK_C_NUM_RET, -1, 0},
    {"num_rel", RK_C_NUM_REL, -1, 0},
    {"num_rel_ret", RK_C_NUM_REL_RET, -1, 0},
    {"map", RK_C_MAP, -1, 0},
    {"recip_rank", RK_C_MRR, -1, 0},
    {"ndcg", RK_C_NDCG, -1, 0},
    {"P_5", -1, 0, RK_K_PRECISION},
    {"P_10", -1, 1, RK_K_PRECISION},
    {"recall_10", -1, 1, RK_K_RECALL},
    {"ndcg_cut_5", -1, 0, RK_K_NDCG},
    {"ndcg_cut_10", -1, 1, RK_K_NDCG},
};

static size_t col_of(int i)
{
    if (measures[i].col >= 0)
        return (size_t)measures[i].col;
    return RK_NBASE + (size_t)measures[i].k * RK_PER_K + (size_t)measures[i].m;
}

static const int64_t trec_ks[] = {5, 10};

static void run_trec(const char *runfile, const char *qrelsfile,
                     bool missing_zero, unsigned threads, bool shuffle,
                     rk_result *res, text_tab *qr)
{
    text_tab run;
    text_load(&run, runfile);
    text_load(qr, qrelsfile);
    if (shuffle) {
        /* reverse the run: queries stay grouped, in another order */
        for (int k = 0; k < 10; k++)
            for (size_t i = 0; i < run.n / 2; i++) {
                char *t = run.f[k][i];
                run.f[k][i] = run.f[k][run.n - 1 - i];
                run.f[k][run.n - 1 - i] = t;
            }
        /* and interleave: move every third row to the end */
        for (int k = 0; k < 10; k++) {
            char **tmp = malloc(run.n * sizeof *tmp);
            size_t w = 0;
            for (size_t i = 0; i < run.n; i++)
                if (i % 3)
                    tmp[w++] = run.f[k][i];
            for (size_t i = 0; i < run.n; i++)
                if (!(i % 3))
                    tmp[w++] = run.f[k][i];
            memcpy(run.f[k], tmp, run.n * sizeof *tmp);
            free(tmp);
        }
    }
    sc_keys rq = str_keys(run.f[0], run.n), ri = str_keys(run.f[2], run.n);
    sc_keys qq = str_keys(qr->f[0], qr->n), qi = str_keys(qr->f[2], qr->n);
    double *score = parse_col(run.f[4], run.n);
    double *rel = parse_col(qr->f[3], qr->n);
    rk_config cfg = {.protocol = RK_FULL,
                     .ties = RK_TIES_TREC,
                     .rel_threshold = 1,
                     .ks = trec_ks,
                     .nk = 2,
                     .missing_zero = missing_zero};
    assay_error err = {0};
    int rc = rk_evaluate(&cfg, NULL, threads, &rq, &ri, score, &qq, &qi, rel,
                         res, &err);
    if (rc)
        fail_msg("rk_evaluate: %s", err.text);
    free(score);
    free(rel);
    text_free(&run);
}

static void check_trec(const char *runname, unsigned threads, bool shuffle)
{
    char runfile[64];
    snprintf(runfile, sizeof runfile, "%s.txt", runname);
    json_t *g = load_json("trec_eval.json");
    json_t *gr = json_object_get(json_object_get(g, "runs"), runname);
    json_t *perq = json_object_get(gr, "per_query");
    assert_non_null(perq);

    rk_result res;
    text_tab qr;
    run_trec(runfile, "qrels.txt", false, threads, shuffle, &res, &qr);
    assert_int_equal(res.nq, json_object_size(perq));
    assert_int_equal(res.n_unjudged, 1); /* topic 352 */
    for (size_t q = 0; q < res.nq; q++) {
        const char *qid = qr.f[0][res.qrow[q]];
        json_t *want = json_object_get(perq, qid);
        assert_non_null(want);
        assert_true(res.evaluated[q]);
        for (int m = 0; m < (int)(sizeof measures / sizeof *measures); m++) {
            double w = json_number_value(json_object_get(want,
                                                         measures[m].trec));
            near(res.vals[q * res.ncols + col_of(m)], w, 1e-9,
                 measures[m].trec, qid);
        }
    }
    json_t *all = json_object_get(gr, "all");
    for (int m = 0; m < (int)(sizeof measures / sizeof *measures); m++)
        near(res.mean[col_of(m)],
             json_number_value(json_object_get(all, measures[m].trec)), 1e-9,
             measures[m].trec, "all");
    rk_result_free(&res);
    text_free(&qr);

    /* -c with a judged topic that no run retrieves */
    json_t *wc = json_object_get(gr, "with_-c_and_qrels_plus_unretrieved_topic");
    run_trec(runfile, "qrels_plus_unretrieved_topic.txt", true, threads,
             shuffle, &res, &qr);
    json_t *call = json_object_get(wc, "all");
    json_t *unret = json_object_get(wc, "per_query_unretrieved_topic");
    assert_int_equal(res.n_averaged, res.nq);
    for (int m = 0; m < (int)(sizeof measures / sizeof *measures); m++)
        near(res.mean[col_of(m)],
             json_number_value(json_object_get(call, measures[m].trec)),
             1e-9, measures[m].trec, "all -c");
    bool seen = false;
    for (size_t q = 0; q < res.nq; q++) {
        if (strcmp(qr.f[0][res.qrow[q]], "351") != 0)
            continue;
        seen = true;
        assert_false(res.evaluated[q]);
        for (int m = 0; m < (int)(sizeof measures / sizeof *measures); m++)
            near(res.vals[q * res.ncols + col_of(m)],
                 json_number_value(json_object_get(unret, measures[m].trec)),
                 1e-9, measures[m].trec, "351");
    }
    assert_true(seen);
    rk_result_free(&res);
    text_free(&qr);
    json_decref(g);
}

static void test_trec_runA(void **st)
{
    (void)st;
    check_trec("runA", 1, false);
    check_trec("runA", 2, true);
}

static void test_trec_runB_ties(void **st)
{
    (void)st;
    check_trec("runB_ties", 1, false);
    check_trec("runB_ties", 3, true);
}

/* The 4-decimal verbatim outputs agree too (1e-4). */
static void test_trec_out_files(void **st)
{
    (void)st;
    const char *runs[] = {"runA", "runB_ties"};
    for (int r = 0; r < 2; r++) {
        char runfile[64], outfile[64];
        snprintf(runfile, sizeof runfile, "%s.txt", runs[r]);
        snprintf(outfile, sizeof outfile, "trec_eval_%s.out", runs[r]);
        rk_result res;
        text_tab qr, out;
        run_trec(runfile, "qrels.txt", false, 2, false, &res, &qr);
        text_load(&out, outfile);
        size_t checked = 0;
        for (size_t l = 0; l < out.n; l++) {
            int m = -1;
            for (int i = 0; i < (int)(sizeof measures / sizeof *measures);
                 i++)
                if (strcmp(out.f[0][l], measures[i].trec) == 0)
                    m = i;
            assert_true(m >= 0);
            double want = strtod(out.f[2][l], NULL), got = NAN;
            if (strcmp(out.f[1][l], "all") == 0) {
                got = res.mean[col_of(m)];
            } else {
                for (size_t q = 0; q < res.nq; q++)
                    if (strcmp(qr.f[0][res.qrow[q]], out.f[1][l]) == 0)
                        got = res.vals[q * res.ncols + col_of(m)];
            }
            assert_true(fabs(got - want) <= 0.5e-4 + 1e-12);
            checked++;
        }
        assert_true(checked > 500);
        rk_result_free(&res);
        text_free(&qr);
        text_free(&out);
    }
}

/* ---- leave-one-out --------------------------------------------------------- */

typedef struct loo {
    size_t nusers, nrows;
    int64_t *ru, *ri, *qu, *qi;
    double *score, *rel;
} loo;

static void loo_load(loo *l, size_t max_users)
{
    FILE *fp = fopen(golden_path("loo_users.jsonl"), "rb");
    assert_non_null(fp);
    size_t cap = 600 * 100;
    l->ru = malloc(cap * sizeof *l->ru);
    l->ri = malloc(cap * sizeof *l->ri);
    l->score = malloc(cap * sizeof *l->score);
    l->qu = malloc(600 * sizeof *l->qu);
    l->qi = malloc(600 * sizeof *l->qi);
    l->rel = malloc(600 * sizeof *l->rel);
    l->nusers = l->nrows = 0;
    char line[65536];
    while (l->nusers < max_users && fgets(line, sizeof line, fp)) {
        json_error_t je;
        json_t *j = json_loads(line, 0, &je);
        assert_non_null(j);
        int64_t u = json_integer_value(json_object_get(j, "user"));
        json_t *sc = json_object_get(j, "scores");
        for (size_t c = 0; c < json_array_size(sc); c++) {
            assert_true(l->nrows < cap);
            l->ru[l->nrows] = u;
            l->ri[l->nrows] = (int64_t)c;
            l->score[l->nrows] = json_number_value(json_array_get(sc, c));
            l->nrows++;
        }
        l->qu[l->nusers] = u;
        l->qi[l->nusers] = json_integer_value(json_object_get(j, "pos"));
        l->rel[l->nusers] = 1;
        l->nusers++;
        json_decref(j);
    }
    fclose(fp);
}

static void loo_free(loo *l)
{
    free(l->ru);
    free(l->ri);
    free(l->qu);
    free(l->qi);
    free(l->score);
    free(l->rel);
}

static sc_keys int_keys(const int64_t *v, size_t n)
{
    sc_keys k = {0};
    k.n = n;
    k.i = v;
    return k;
}

static const int64_t loo_ks[] = {1, 5, 10};

static void loo_eval(loo *l, rk_ties ties, unsigned threads, rk_result *res)
{
    sc_keys rq = int_keys(l->ru, l->nrows), ri = int_keys(l->ri, l->nrows);
    sc_keys qq = int_keys(l->qu, l->nusers), qi = int_keys(l->qi, l->nusers);
    rk_config cfg = {.protocol = RK_SAMPLED,
                     .ties = ties,
                     .rel_threshold = 1,
                     .ks = loo_ks,
                     .nk = 3};
    assay_error err = {0};
    if (rk_evaluate(&cfg, NULL, threads, &rq, &ri, l->score, &qq, &qi,
                    l->rel, res, &err))
        fail_msg("%s", err.text);
}

#define KCOL(k, m) (RK_NBASE + (k) * RK_PER_K + (m))

static void check_loo_mean(const rk_result *res, json_t *want)
{
    near(res->mean[KCOL(0, RK_K_HR)],
         json_number_value(json_object_get(want, "hr@1")), 1e-12, "hr@1", "");
    near(res->mean[KCOL(1, RK_K_HR)],
         json_number_value(json_object_get(want, "hr@5")), 1e-12, "hr@5", "");
    near(res->mean[KCOL(2, RK_K_HR)],
         json_number_value(json_object_get(want, "hr@10")), 1e-12, "hr@10",
         "");
    near(res->mean[KCOL(1, RK_K_NDCG)],
         json_number_value(json_object_get(want, "ndcg@5")), 1e-12, "ndcg@5",
         "");
    near(res->mean[KCOL(2, RK_K_NDCG)],
         json_number_value(json_object_get(want, "ndcg@10")), 1e-12,
         "ndcg@10", "");
    near(res->mean[RK_C_MRR], json_number_value(json_object_get(want, "mrr")),
         1e-12, "mrr", "");
}

static void test_loo(void **st)
{
    (void)st;
    loo l;
    loo_load(&l, 100000);
    assert_int_equal(l.nusers, 500);
    json_t *sum = load_json("loo_summary.json");
    rk_result res;
    loo_eval(&l, RK_TIES_OPTIMISTIC, 2, &res);
    check_loo_mean(&res, json_object_get(sum, "mean"));

    /* per user, against the tsv */
    text_tab tsv;
    text_load(&tsv, "loo_per_user.tsv");
    assert_int_equal(tsv.n, 501);
    for (size_t q = 0; q < res.nq; q++) {
        size_t line = q + 1;
        assert_int_equal(l.qu[res.qrow[q]], strtoll(tsv.f[0][line], NULL, 10));
        const double *v = res.vals + q * res.ncols;
        near(v[RK_C_RANK], strtod(tsv.f[1][line], NULL), 0, "rank",
             tsv.f[0][line]);
        near(v[KCOL(0, RK_K_HR)], strtod(tsv.f[3][line], NULL), 1e-12, "hr1",
             tsv.f[0][line]);
        near(v[KCOL(1, RK_K_HR)], strtod(tsv.f[4][line], NULL), 1e-12, "hr5",
             tsv.f[0][line]);
        near(v[KCOL(2, RK_K_HR)], strtod(tsv.f[5][line], NULL), 1e-12, "hr10",
             tsv.f[0][line]);
        near(v[KCOL(1, RK_K_NDCG)], strtod(tsv.f[6][line], NULL), 1e-15,
             "ndcg5", tsv.f[0][line]);
        near(v[KCOL(2, RK_K_NDCG)], strtod(tsv.f[7][line], NULL), 1e-15,
             "ndcg10", tsv.f[0][line]);
        near(v[RK_C_MRR], strtod(tsv.f[8][line], NULL), 1e-15, "mrr",
             tsv.f[0][line]);
    }
    rk_result_free(&res);

    /* pessimistic ties: rank = number of scores >= the positive's */
    loo_eval(&l, RK_TIES_PESSIMISTIC, 1, &res);
    check_loo_mean(&res, json_object_get(sum, "mean_pessimistic_ties"));
    for (size_t q = 0; q < res.nq; q++)
        near(res.vals[q * res.ncols + RK_C_RANK],
             strtod(tsv.f[2][q + 1], NULL), 0, "rank_pessimistic",
             tsv.f[0][q + 1]);
    rk_result_free(&res);
    text_free(&tsv);
    loo_free(&l);

    loo_load(&l, 10);
    loo_eval(&l, RK_TIES_OPTIMISTIC, 1, &res);
    check_loo_mean(&res, json_object_get(sum, "mean_first_10_users"));
    rk_result_free(&res);
    loo_free(&l);
    loo_load(&l, 100);
    loo_eval(&l, RK_TIES_OPTIMISTIC, 2, &res);
    check_loo_mean(&res, json_object_get(sum, "mean_first_100_users"));
    rk_result_free(&res);
    loo_free(&l);
    json_decref(sum);
}

/* The LOO set with its rows shuffled (users interleaved) and ids as
 * strings gives the same per-user values. */
static void test_loo_shuffled_strings(void **st)
{
    (void)st;
    loo l;
    loo_load(&l, 100000);
    rk_result a, b;
    loo_eval(&l, RK_TIES_OPTIMISTIC, 1, &a);
    /* deterministic shuffle of the run rows */
    uint64_t x = 12345;
    for (size_t i = l.nrows - 1; i > 0; i--) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        size_t j = (size_t)((x >> 33) % (i + 1));
        int64_t t = l.ru[i];
        l.ru[i] = l.ru[j];
        l.ru[j] = t;
        t = l.ri[i];
        l.ri[i] = l.ri[j];
        l.ri[j] = t;
        double d = l.score[i];
        l.score[i] = l.score[j];
        l.score[j] = d;
    }
    /* users as strings in the run only: the core converts the qrels */
    char (*ustr)[24] = malloc(l.nrows * sizeof *ustr);
    const char **up = malloc(l.nrows * sizeof *up);
    for (size_t i = 0; i < l.nrows; i++) {
        snprintf(ustr[i], sizeof ustr[i], "%lld", (long long)l.ru[i]);
        up[i] = ustr[i];
    }
    sc_keys rq = {.n = l.nrows, .is_str = true, .s = up};
    sc_keys ri = int_keys(l.ri, l.nrows);
    sc_keys qq = int_keys(l.qu, l.nusers), qi = int_keys(l.qi, l.nusers);
    rk_config cfg = {.protocol = RK_SAMPLED,
                     .ties = RK_TIES_OPTIMISTIC,
                     .rel_threshold = 1,
                     .ks = loo_ks,
                     .nk = 3};
    assay_error err = {0};
    assert_int_equal(rk_evaluate(&cfg, NULL, 2, &rq, &ri, l.score, &qq, &qi,
                                 l.rel, &b, &err),
                     0);
    assert_int_equal(a.nq, b.nq);
    for (size_t i = 0; i < a.nq * a.ncols; i++)
        assert_true(a.vals[i] == b.vals[i]);
    sc_keys_free(&qq);
    rk_result_free(&a);
    rk_result_free(&b);
    free(ustr);
    free(up);
    loo_free(&l);
}

/* The leave-one-out fast path (sorted integer ids, one judgment per
 * query, run grouped in qrels order) against the general path on the
 * same data with the run's query ids as strings (which the fast path
 * does not take): every tie rule and protocol, heavy ties, graded and
 * exponential gains, positives missing from some candidate lists,
 * uneven list lengths; per-query values equal, means equal to 1e-12,
 * summary-only means equal to the full ones, and the same means bit
 * for bit on 1 and 3 threads. */
static void test_loo_fast_path(void **st)
{
    (void)st;
    enum { NU = 3000 };
    int64_t *ru = malloc(NU * 40 * sizeof *ru), *ri = malloc(NU * 40 * sizeof *ri);
    double *sc = malloc(NU * 40 * sizeof *sc);
    int64_t qu[NU], qi[NU];
    double rel[NU];
    char (*ustr)[24] = malloc(NU * 40 * sizeof *ustr);
    const char **up = malloc(NU * 40 * sizeof *up);
    assert_non_null(ru);
    assert_non_null(ri);
    assert_non_null(sc);
    assert_non_null(ustr);
    assert_non_null(up);
    uint64_t x = 99;
#define NEXT() (x = x * 6364136223846793005ULL + 1442695040888963407ULL, x >> 33)
    size_t n = 0;
    for (size_t u = 0; u < NU; u++) {
        size_t len = 1 + NEXT() % 39;
        qu[u] = (int64_t)(u * 3 + 1);
        qi[u] = (int64_t)(NEXT() % (len + 3)); /* sometimes not a candidate */
        rel[u] = 1 + (double)(NEXT() % 3);
        for (size_t j = 0; j < len; j++, n++) {
            ru[n] = qu[u];
            ri[n] = (int64_t)j;
            sc[n] = (double)(NEXT() % 5) * 0.25; /* many ties */
            snprintf(ustr[n], sizeof ustr[n], "%lld", (long long)ru[n]);
            up[n] = ustr[n];
        }
    }
#undef NEXT
    static const int64_t ks[] = {1, 3, 10};
    const rk_ties ties[] = {RK_TIES_OPTIMISTIC, RK_TIES_PESSIMISTIC,
                            RK_TIES_TREC};
    for (int t = 0; t < 3; t++)
        for (int proto = 0; proto < 2; proto++)
            for (int gain = 0; gain < 2; gain++) {
                rk_config cfg = {.protocol = proto ? RK_FULL : RK_SAMPLED,
                                 .ties = ties[t],
                                 .rel_threshold = 1,
                                 .exp_gain = gain,
                                 .ks = ks,
                                 .nk = 3};
                sc_keys rq = int_keys(ru, n), rik = int_keys(ri, n);
                sc_keys qq = int_keys(qu, NU), qik = int_keys(qi, NU);
                sc_keys rqs = {.n = n, .is_str = true, .s = up};
                rk_result fast, gen, sum1, sum3;
                assay_error err = {0};
                assert_int_equal(rk_evaluate(&cfg, NULL, 2, &rq, &rik, sc,
                                             &qq, &qik, rel, &fast, &err),
                                 0);
                assert_int_equal(rk_evaluate(&cfg, NULL, 2, &rqs, &rik, sc,
                                             &qq, &qik, rel, &gen, &err),
                                 0);
                sc_keys_free(&qq);
                qq = int_keys(qu, NU);
                assert_int_equal(fast.nq, NU);
                assert_int_equal(gen.nq, NU);
                assert_int_equal(fast.n_averaged, gen.n_averaged);
                for (size_t q = 0; q < NU; q++)
                    for (size_t j = 0; j < fast.ncols; j++)
                        if (fast.vals[q * fast.ncols + j] !=
                            gen.vals[q * gen.ncols + j])
                            fail_msg("ties %d protocol %d gain %d: query "
                                     "%zu column %zu: %.17g vs %.17g",
                                     t, proto, gain, q, j,
                                     fast.vals[q * fast.ncols + j],
                                     gen.vals[q * gen.ncols + j]);
                for (size_t j = 0; j < fast.ncols; j++)
                    near(fast.mean[j], gen.mean[j], 1e-12, "mean", "fast");
                cfg.summary_only = true;
                assert_int_equal(rk_evaluate(&cfg, NULL, 1, &rq, &rik, sc,
                                             &qq, &qik, rel, &sum1, &err),
                                 0);
                assert_int_equal(rk_evaluate(&cfg, NULL, 3, &rq, &rik, sc,
                                             &qq, &qik, rel, &sum3, &err),
                                 0);
                assert_null(sum1.vals);
                for (size_t j = 0; j < fast.ncols; j++) {
                    assert_true(sum1.mean[j] == fast.mean[j]);
                    assert_true(sum3.mean[j] == fast.mean[j]);
                }
                rk_result_free(&fast);
                rk_result_free(&gen);
                rk_result_free(&sum1);
                rk_result_free(&sum3);
            }
    /* a query listed twice in the run, or out of qrels order: the
     * general path takes it and still gathers the query's rows */
    int64_t ru2[] = {1, 1, 4, 4, 1}, ri2[] = {0, 1, 0, 1, 2};
    double sc2[] = {0.5, 0.7, 0.2, 0.1, 0.9};
    int64_t qu2[] = {1, 4}, qi2[] = {0, 1};
    double rel2[] = {1, 1};
    sc_keys rq = int_keys(ru2, 5), rik = int_keys(ri2, 5);
    sc_keys qq = int_keys(qu2, 2), qik = int_keys(qi2, 2);
    rk_config cfg = {.protocol = RK_SAMPLED, .ties = RK_TIES_OPTIMISTIC,
                     .rel_threshold = 1, .ks = ks, .nk = 1};
    rk_result r2;
    assay_error err = {0};
    assert_int_equal(rk_evaluate(&cfg, NULL, 2, &rq, &rik, sc2, &qq, &qik,
                                 rel2, &r2, &err),
                     0);
    assert_int_equal(r2.nq, 2);
    near(r2.vals[RK_C_RANK], 3, 0, "rank", "1"); /* 0.9 and 0.7 above */
    near(r2.vals[RK_C_NUM_RET], 3, 0, "num_ret", "1");
    near(r2.vals[r2.ncols + RK_C_RANK], 2, 0, "rank", "4");
    rk_result_free(&r2);
    free(ru);
    free(ri);
    free(sc);
    free(ustr);
    free(up);
}

/* Hand-made graded case: sampled vs full protocol, exponential gain,
 * and ties with several relevant items. */
static void test_graded_small(void **st)
{
    (void)st;
    /* query 1: items 1..6 scored; item 7 judged but not retrieved */
    int64_t ru[] = {1, 1, 1, 1, 1, 1};
    int64_t ri[] = {1, 2, 3, 4, 5, 6};
    double sc[] = {0.9, 0.8, 0.8, 0.5, 0.4, 0.1};
    int64_t qu[] = {1, 1, 1, 1};
    int64_t qi[] = {2, 3, 6, 7};
    double rel[] = {1, 2, 0, 3};
    sc_keys rq = int_keys(ru, 6), rik = int_keys(ri, 6);
    sc_keys qq = int_keys(qu, 4), qik = int_keys(qi, 4);
    const int64_t ks[] = {2, 3};
    rk_config cfg = {.protocol = RK_FULL, .ties = RK_TIES_TREC,
                     .rel_threshold = 1, .ks = ks, .nk = 2};
    rk_result res;
    assay_error err = {0};
    assert_int_equal(rk_evaluate(&cfg, NULL, 1, &rq, &rik, sc, &qq, &qik,
                                 rel, &res, &err),
                     0);
    /* trec ties: item 3 (id larger) before item 2: ranks 2 (rel 2), 3
     * (rel 1).  num_rel = 3 (item 7 unretrieved). */
    const double *v = res.vals;
    assert_true(v[RK_C_NUM_REL] == 3 && v[RK_C_NUM_REL_RET] == 2);
    near(v[RK_C_MAP], (1.0 / 2 + 2.0 / 3) / 3, 1e-15, "map", "full");
    near(v[RK_C_MRR], 0.5, 0, "mrr", "full");
    double dcg = 2 / log2(3.0) + 1 / log2(4.0);
    double idcg = 3 + 2 / log2(3.0) + 1 / log2(4.0);
    near(v[RK_C_NDCG], dcg / idcg, 1e-15, "ndcg", "full");
    near(v[KCOL(0, RK_K_NDCG)], (2 / log2(3.0)) / (3 + 2 / log2(3.0)), 1e-15,
         "ndcg@2", "full");
    near(v[KCOL(1, RK_K_RECALL)], 2.0 / 3, 1e-15, "recall@3", "full");
    near(v[KCOL(0, RK_K_PRECISION)], 0.5, 0, "P@2", "full");
    rk_result_free(&res);

    /* sampled + optimistic + exponential gain: item 7 does not count */
    cfg.protocol = RK_SAMPLED;
    cfg.ties = RK_TIES_OPTIMISTIC;
    cfg.exp_gain = true;
    assert_int_equal(rk_evaluate(&cfg, NULL, 1, &rq, &rik, sc, &qq, &qik,
                                 rel, &res, &err),
                     0);
    v = res.vals;
    assert_true(v[RK_C_NUM_REL] == 2);
    /* optimistic: rel 2 before rel 1 among the tied pair */
    dcg = 3 / log2(3.0) + 1 / log2(4.0);
    idcg = 3 + 1 / log2(3.0);
    near(v[RK_C_NDCG], dcg / idcg, 1e-15, "ndcg", "sampled");
    near(v[RK_C_MAP], (1.0 / 2 + 2.0 / 3) / 2, 1e-15, "map", "sampled");
    rk_result_free(&res);

    /* pessimistic: rel 1 before rel 2 */
    cfg.ties = RK_TIES_PESSIMISTIC;
    assert_int_equal(rk_evaluate(&cfg, NULL, 1, &rq, &rik, sc, &qq, &qik,
                                 rel, &res, &err),
                     0);
    dcg = 1 / log2(3.0) + 3 / log2(4.0);
    near(res.vals[RK_C_NDCG], dcg / idcg, 1e-15, "ndcg", "pessimistic");
    rk_result_free(&res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trec_runA),
        cmocka_unit_test(test_trec_runB_ties),
        cmocka_unit_test(test_trec_out_files),
        cmocka_unit_test(test_loo),
        cmocka_unit_test(test_loo_shuffled_strings),
        cmocka_unit_test(test_loo_fast_path),
        cmocka_unit_test(test_graded_small),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
