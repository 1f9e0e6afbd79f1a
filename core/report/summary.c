/*
 * core/report/summary.c - key numbers and the end-of-run terminal
 * summary (see summary.h).
 */
#include "report/summary.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void summary_keys_free(summary_keys *k)
{
    free(k->v);
    memset(k, 0, sizeof *k);
}

void summary_fmt(double v, bool integer, char *buf, size_t n)
{
    if (isnan(v))
        snprintf(buf, n, "-");
    else if (integer && fabs(v) < 1e15)
        snprintf(buf, n, "%.0f", v);
    else if (v != 0 && (fabs(v) >= 1e6 || fabs(v) < 1e-3))
        snprintf(buf, n, "%.3e", v);
    else
        snprintf(buf, n, "%.4g", v);
}

/* Last path component ("sampled.ndcg@10" -> "ndcg@10"). */
static const char *leaf(const char *path)
{
    const char *d = strrchr(path, '.');
    return d ? d + 1 : path;
}

/* Settings and bookkeeping rather than results. */
static bool is_setting(const char *path)
{
    static const char *const names[] = {"bootstrap",
                                        "ci",
                                        "level",
                                        "resamples",
                                        "seed",
                                        "threads",
                                        "failed",
                                        "k",
                                        "m",
                                        "r",
                                        "delta",
                                        "n_starts",
                                        "n_finite_starts",
                                        "best_start",
                                        "epochs"};
    const char *l = leaf(path);
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!strcmp(l, names[i]))
            return true;
    size_t n = strlen(l);
    return (n >= 7 && !strcmp(l + n - 7, "seconds")) ||
           (n >= 3 && !strcmp(l + n - 3, "_ms")) || strchr(path, '[');
}

static int add_key(summary_keys *k, const char *output, const rd_num *num)
{
    if (k->n == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 32;
        summary_key *nv = realloc(k->v, cap * sizeof *nv);
        if (!nv)
            return ASSAY_ENOMEM;
        k->v = nv;
        k->cap = cap;
    }
    summary_key *e = &k->v[k->n++];
    snprintf(e->output, sizeof e->output, "%s", output);
    e->num = *num;
    return 0;
}

static int collect_output(const rundir *rd, const rd_node *n, const rd_port *p,
                          size_t per_output, summary_keys *out,
                          assay_error *err)
{
    json_t *j = NULL;
    if (rundir_json(rd, n, p, &j, err))
        return 0; /* unreadable: the report says so */
    rd_nums ns = {0};
    int rc = rd_flatten(j, 8, &ns);
    json_decref(j);
    if (rc)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    char name[300];
    snprintf(name, sizeof name, "%s.%s", n->name, p->name);
    size_t used = 0;
    for (size_t i = 0; i < ns.n && !rc; i++) {
        if (is_setting(ns.v[i].path) || !isfinite(ns.v[i].v))
            continue;
        if (used >= per_output) {
            out->omitted++;
            continue;
        }
        rc = add_key(out, name, &ns.v[i]);
        used++;
    }
    rd_nums_free(&ns);
    return rc ? assay_error_set(err, ASSAY_ENOMEM, "out of memory") : 0;
}

int summary_collect(const rundir *rd, size_t per_output, summary_keys *out,
                    assay_error *err)
{
    memset(out, 0, sizeof *out);
    json_t *list =
        json_object_get(json_object_get(rd->manifest, "config"), "report");
    int rc = 0;
    if (json_array_size(list) > 0) {
        for (size_t i = 0; !rc && i < json_array_size(list); i++) {
            const char *ref = json_string_value(json_array_get(list, i));
            const char *dot = ref ? strrchr(ref, '.') : NULL;
            char node[256];
            if (!dot || (size_t)(dot - ref) >= sizeof node)
                continue;
            memcpy(node, ref, (size_t)(dot - ref));
            node[dot - ref] = '\0';
            long ix = rundir_find(rd, node);
            const rd_port *p =
                ix >= 0 ? rundir_port(&rd->nodes[ix], dot + 1) : NULL;
            if (!p || p->type != ASSAY_T_JSON) {
                out->missing += p == NULL;
                continue;
            }
            rc = collect_output(rd, &rd->nodes[ix], p, per_output, out, err);
        }
        return rc;
    }
    /* no report list: the json outputs of result-producing nodes */
    size_t outputs = 0;
    for (size_t i = 0; !rc && i < rd->n && outputs < 8; i++) {
        const rd_node *n = &rd->nodes[i];
        if (strcmp(n->kind, "metric") && strcmp(n->kind, "fitter") &&
            strcmp(n->kind, "judge") && strcmp(n->kind, "scorer"))
            continue;
        for (size_t k = 0; !rc && k < n->nouts && outputs < 8; k++)
            if (n->outs[k].type == ASSAY_T_JSON) {
                rc = collect_output(rd, n, &n->outs[k], per_output, out, err);
                outputs++;
            }
    }
    return rc;
}

/* ---- terminal
 * ---------------------------------------------------------------- */

/* Visible width of UTF-8 text (code points). */
static size_t width(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

static void pad(FILE *out, const char *s, size_t w, bool right)
{
    size_t l = width(s);
    if (right)
        fprintf(out, "%*s%s", (int)(w > l ? w - l : 0), "", s);
    else
        fprintf(out, "%s%*s", s, (int)(w > l ? w - l : 0), "");
}

static void print_llm(FILE *out, const json_t *llm)
{
    const json_t *eps = json_object_get(llm, "endpoints");
    json_int_t req = 0, cached = 0, pt = 0, ct = 0, failed = 0;
    double cost = 0;
    const char *k;
    json_t *e;
    json_object_foreach((json_t *)eps, k, e)
    {
        req += json_integer_value(json_object_get(e, "requests"));
        cached += json_integer_value(json_object_get(e, "cached"));
        failed += json_integer_value(json_object_get(e, "failed"));
        pt += json_integer_value(json_object_get(e, "prompt_tokens"));
        ct += json_integer_value(json_object_get(e, "completion_tokens"));
        cost += json_number_value(json_object_get(e, "cost"));
    }
    if (!req)
        return;
    fprintf(out,
            "LLM: %lld requests (%lld from cache, %lld failed), %lld prompt "
            "+ %lld completion tokens, cost %.4f\n",
            (long long)req, (long long)cached, (long long)failed, (long long)pt,
            (long long)ct, cost);
}

/* A small per-item output listed under `report:` (a leaderboard) as an
 * aligned table; nonzero when it cannot be shown that way. */
static int print_rows(FILE *out, const rundir *rd, const rd_node *n,
                      const rd_port *p)
{
    rd_items *it = NULL;
    assay_error err = {0};
    if (rundir_items(rd, n, p, 20, &it, &err))
        return -1;
    size_t nc = it->ncols < 8 ? it->ncols : 8;
    size_t w[8] = {0};
    char cell[64];
    for (size_t c = 0; c < nc; c++) {
        w[c] = width(it->cols[c].name);
        for (size_t r = 0; r < it->nrows; r++) {
            const rd_col *col = &it->cols[c];
            char tmp[64];
            if (col->kind == RD_NUM)
                summary_fmt(col->num[r], col->integer, cell, sizeof cell);
            else
                snprintf(cell, 21, "%s", rd_cell_text(col, r, tmp, sizeof tmp));
            size_t l = width(cell);
            w[c] = l > w[c] ? l : w[c];
        }
        if (w[c] > 20)
            w[c] = 20;
    }
    fprintf(out, "%s.%s\n", n->name, p->name);
    for (size_t r = 0; r <= it->nrows; r++) {
        fputs(" ", out);
        for (size_t c = 0; c < nc; c++) {
            const rd_col *col = &it->cols[c];
            const char *t = col->name;
            if (r > 0 && col->kind == RD_NUM) {
                summary_fmt(col->num[r - 1], col->integer, cell, sizeof cell);
                t = cell;
            } else if (r > 0) {
                char tmp[64];
                snprintf(cell, 21, "%s",
                         rd_cell_text(col, r - 1, tmp, sizeof tmp));
                t = cell;
            }
            fputc(' ', out);
            pad(out, t, w[c], col->kind == RD_NUM);
        }
        fputc('\n', out);
    }
    rd_items_free(it);
    return 0;
}

void summary_print(FILE *out, const rundir *rd, const char *report_path)
{
    const json_t *m = rd->manifest;
    size_t done = 0, failed = 0, skipped = 0, reused = 0;
    for (size_t i = 0; i < rd->n; i++) {
        const rd_node *n = &rd->nodes[i];
        bool d = !strcmp(n->status, "done");
        done += d;
        failed += !strcmp(n->status, "failed");
        skipped += !strcmp(n->status, "skipped");
        reused += d && n->source[0] && strcmp(n->source, "run") != 0;
    }
    const char *exp = json_string_value(json_object_get(m, "experiment"));
    const char *status = json_string_value(json_object_get(m, "status"));
    fprintf(out,
            "\n%s: %s \xe2\x80\x94 %zu done (%zu reused), %zu failed, %zu "
            "skipped in %.2fs\n",
            exp ? exp : "?", status ? status : "?", done, reused, failed,
            skipped, json_number_value(json_object_get(m, "seconds")));
    print_llm(out, json_object_get(m, "llm"));
    summary_keys k;
    assay_error err = {0};
    if (summary_collect(rd, 12, &k, &err) == 0 && k.n) {
        /* columns: name (output header lines, then indented numbers),
         * value, interval */
        size_t wn = 10, wv = 5;
        char v[64], lo[64], hi[64];
        for (size_t i = 0; i < k.n; i++) {
            size_t l = 2 + width(k.v[i].num.path);
            if (l > wn)
                wn = l;
            summary_fmt(k.v[i].num.v, k.v[i].num.integer, v, sizeof v);
            if (strlen(v) > wv)
                wv = strlen(v);
        }
        if (wn > 44)
            wn = 44;
        fputc('\n', out);
        for (size_t i = 0; i < k.n; i++) {
            const summary_key *e = &k.v[i];
            if (i == 0 || strcmp(e->output, k.v[i - 1].output))
                fprintf(out, "%s\n", e->output);
            fputs("  ", out);
            pad(out, e->num.path, wn - 2, false);
            summary_fmt(e->num.v, e->num.integer, v, sizeof v);
            fputs("  ", out);
            pad(out, v, wv, true);
            if (isfinite(e->num.lo) && isfinite(e->num.hi)) {
                summary_fmt(e->num.lo, false, lo, sizeof lo);
                summary_fmt(e->num.hi, false, hi, sizeof hi);
                fprintf(out, "  [%s, %s]", lo, hi);
            }
            fputc('\n', out);
        }
        if (k.omitted)
            fprintf(out, "  (%zu more numbers in the report)\n", k.omitted);
    }
    summary_keys_free(&k);
    /* listed per-item outputs: their size; listed but missing: say so */
    json_t *list = json_object_get(json_object_get(m, "config"), "report");
    for (size_t i = 0; i < json_array_size(list); i++) {
        const char *ref = json_string_value(json_array_get(list, i));
        const char *dot = ref ? strrchr(ref, '.') : NULL;
        char node[256];
        if (!dot || (size_t)(dot - ref) >= sizeof node)
            continue;
        memcpy(node, ref, (size_t)(dot - ref));
        node[dot - ref] = '\0';
        long ix = rundir_find(rd, node);
        const rd_port *p =
            ix >= 0 ? rundir_port(&rd->nodes[ix], dot + 1) : NULL;
        if (!p)
            fprintf(out, "%s: (not produced)\n", ref);
        else if (p->type != ASSAY_T_JSON &&
                 (p->count > 20 || print_rows(out, rd, &rd->nodes[ix], p)))
            fprintf(out, "%s: %zu %s\n", ref, p->count,
                    p->type == ASSAY_T_TABLE ? "rows" : "records");
    }
    for (size_t i = 0; i < rd->n; i++)
        if (!strcmp(rd->nodes[i].status, "failed"))
            fprintf(out, "failed: %s: %s\n", rd->nodes[i].name,
                    rd->nodes[i].error ? rd->nodes[i].error : "?");
    if (report_path)
        fprintf(out, "report: %s\n", report_path);
    fprintf(out, "run directory: %s\n", rd->path);
    fflush(out);
}

void summary_key_metric(const char *run_dir, char *buf, size_t n)
{
    buf[0] = '\0';
    rundir *rd = NULL;
    assay_error err = {0};
    if (rundir_load(run_dir, &rd, &err))
        return;
    summary_keys k;
    if (summary_collect(rd, 64, &k, &err) == 0) {
        /* a result metric by name first, else the first real number */
        static const char *const metrics[] = {
            "accuracy", "auc",     "gauc",  "score", "r2",       "pearson",
            "spearman", "kendall", "kappa", "ndcg",  "hit",      "hr@",
            "recall",   "mrr",     "map",   "f1",    "exact",    "em",
            "bleu",     "chrf",    "rouge", "win",   "agreement"};
        const summary_key *pick = NULL;
        for (size_t i = 0; i < k.n && !pick; i++) {
            const char *l = leaf(k.v[i].num.path);
            for (size_t m = 0;
                 !k.v[i].num.integer && m < sizeof metrics / sizeof *metrics;
                 m++)
                if (!strncmp(l, metrics[m], strlen(metrics[m])))
                    pick = &k.v[i];
        }
        for (size_t i = 0; i < k.n && !pick; i++)
            if (!k.v[i].num.integer)
                pick = &k.v[i];
        if (!pick && k.n)
            pick = &k.v[0];
        if (pick) {
            char v[64];
            summary_fmt(pick->num.v, pick->num.integer, v, sizeof v);
            snprintf(buf, n, "%s=%s", pick->num.path, v);
        }
    }
    summary_keys_free(&k);
    rundir_free(rd);
}
