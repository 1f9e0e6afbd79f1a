/*
 * test_apen_plugin.c - metric.apen through the real host: the golden
 * sequences as records (absolute r and r as a multiple of the std), per
 * user over an interactions table in scrambled order, malformed input.
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

#include "testkit.h"

static const assay_plugin *plug;
static json_t *gold;

static int setup(void **st)
{
    (void)st;
    assay_error err = {0};
    plug = assay_testkit_load(getenv("PLUGIN"), "metric.apen", &err);
    if (!plug)
        fail_msg("load: %s", err.text);
    char path[4096];
    const char *src = getenv("ASSAY_SRC");
    snprintf(path, sizeof path, "%s/tests/golden/apen/apen.json",
             src ? src : ".");
    json_error_t je;
    gold = json_load_file(path, 0, &je);
    if (!gold)
        fail_msg("%s: %s", path, je.text);
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    json_decref(gold);
    return 0;
}

static void close_to(const json_t *got, const json_t *want, const char *what,
                     const char *name)
{
    if (json_is_null(want)) {
        if (!json_is_null(got))
            fail_msg("%s %s: want null", name, what);
        return;
    }
    double g = json_number_value(got), w = json_number_value(want);
    double tol = 1e-9 * fabs(w);
    if (tol < 1e-13)
        tol = 1e-13;
    if (!json_is_number(got) || !(fabs(g - w) <= tol))
        fail_msg("%s %s: got %.17g want %.17g", name, what, g, w);
}

static json_t *run_ok(const char *opts, json_t *in)
{
    json_t *out = NULL;
    assay_error err = {0};
    if (assay_testkit_run(plug, opts, in, &out, &err))
        fail_msg("run: %s", err.text);
    return out;
}

/* Each golden setting over all sequences at once, as records. */
static void test_golden_records(void **st)
{
    (void)st;
    json_t *seqs = json_object_get(gold, "sequences");
    const char *settings[] = {"m2_r0.2std", "m3_r0.15std", "m2_r1_absolute"};
    for (int k = 0; k < 3; k++) {
        json_t *recs = json_array();
        json_t *want = json_array();
        size_t i;
        json_t *s;
        int m = 0;
        double r = 0;
        json_array_foreach(seqs, i, s)
        {
            size_t j;
            json_t *res;
            json_array_foreach(json_object_get(s, "results"), j, res)
            {
                if (strcmp(json_string_value(json_object_get(res, "setting")),
                           settings[k]) != 0)
                    continue;
                m = (int)json_integer_value(json_object_get(res, "m"));
                r = k == 0 ? 0.2 : k == 1 ? 0.15 : 1.0;
                json_array_append_new(recs,
                                      json_pack("{sO}", "sequence",
                                                json_object_get(s, "x")));
                json_array_append(want, res);
            }
        }
        char opts[160];
        snprintf(opts, sizeof opts,
                 "{\"m\": %d, \"r\": %g, \"r_mode\": \"%s\"}", m, r,
                 k == 2 ? "absolute" : "std");
        json_t *in = json_pack("{sO}", "items", recs);
        json_t *out = run_ok(opts, in);
        json_t *items = json_object_get(out, "items");
        assert_int_equal(json_array_size(items), json_array_size(want));
        double total = 0;
        size_t defined = 0;
        for (size_t q = 0; q < json_array_size(items); q++) {
            json_t *got = json_array_get(items, q);
            json_t *w = json_array_get(want, q);
            close_to(json_object_get(got, "apen"), json_object_get(w, "apen"),
                     "apen", settings[k]);
            close_to(json_object_get(got, "phi_m"),
                     json_object_get(w, "phi_m"), "phi_m", settings[k]);
            if (!json_is_null(json_object_get(w, "apen"))) {
                total += json_number_value(json_object_get(w, "apen"));
                defined++;
                /* the tolerance used agrees with the reference's */
                double rr = json_number_value(json_object_get(w, "r"));
                assert_true(fabs(json_number_value(json_object_get(got, "r")) -
                                 rr) <= 1e-12 * (rr > 1 ? rr : 1));
            }
        }
        json_t *sum = json_object_get(out, "summary");
        assert_int_equal(json_integer_value(json_object_get(sum, "defined")),
                         defined);
        assert_true(fabs(json_number_value(json_object_get(sum, "apen")) -
                         total / (double)defined) < 1e-12);
        json_decref(out);
        json_decref(in);
        json_decref(recs);
        json_decref(want);
    }
}

/* Two integer sequences as one user each, rows scrambled, ordered back by
 * timestamp; string user ids; seq_len keeps the tail. */
static void test_interactions(void **st)
{
    (void)st;
    json_t *seqs = json_object_get(gold, "sequences");
    json_t *a = NULL, *b = NULL;
    size_t i;
    json_t *s;
    json_array_foreach(seqs, i, s)
    {
        const char *name = json_string_value(json_object_get(s, "name"));
        if (strcmp(name, "pi_digits_n100") == 0)
            a = s;
        if (strcmp(name, "dice_n80") == 0)
            b = s;
    }
    assert_non_null(a);
    assert_non_null(b);
    json_t *xa = json_object_get(a, "x"), *xb = json_object_get(b, "x");
    size_t na = json_array_size(xa), nb = json_array_size(xb), n = na + nb;
    assay_table *t = assay_testkit_table_new(n);
    assay_testkit_table_add_col(t, "user", ASSAY_COL_STRING);
    assay_testkit_table_add_col(t, "item", ASSAY_COL_INT64);
    assay_testkit_table_add_col(t, "timestamp", ASSAY_COL_FLOAT64);
    int64_t *item = t->cols[1].data;
    double *ts = t->cols[2].data;
    /* row r holds element perm(r); 37 is coprime with n = 180 */
    for (size_t r = 0; r < n; r++) {
        size_t e = (r * 37 + 11) % n;
        bool isa = e < na;
        size_t k = isa ? e : e - na;
        const char *u = isa ? "pi" : "dice";
        assay_testkit_table_set_str(t, 0, r, u, strlen(u));
        item[r] = json_integer_value(json_array_get(isa ? xa : xb, k));
        ts[r] = 1000.0 + (double)k;
    }
    assay_testkit_tables tin = {.n = 1, .ports = {"interactions"},
                                .tables = {t}};
    json_t *out = NULL;
    assay_error err = {0};
    if (assay_testkit_run_tables(plug, "{\"r\": 1, \"r_mode\": \"absolute\"}",
                                 NULL, &tin, &out, NULL, &err))
        fail_msg("run: %s", err.text);
    json_t *items = json_object_get(out, "items");
    assert_int_equal(json_array_size(items), 2);
    for (size_t q = 0; q < 2; q++) {
        json_t *got = json_array_get(items, q);
        const char *u = json_string_value(json_object_get(got, "user"));
        json_t *src = strcmp(u, "pi") == 0 ? a : b;
        json_t *res = json_array_get(json_object_get(src, "results"), 2);
        assert_string_equal(
            json_string_value(json_object_get(res, "setting")),
            "m2_r1_absolute");
        close_to(json_object_get(got, "apen"), json_object_get(res, "apen"),
                 "apen", u);
    }
    json_decref(out);

    /* seq_len: the last 20 items only */
    if (assay_testkit_run_tables(plug,
                                 "{\"r\": 1, \"r_mode\": \"absolute\", "
                                 "\"seq_len\": 20}",
                                 NULL, &tin, &out, NULL, &err))
        fail_msg("run: %s", err.text);
    items = json_object_get(out, "items");
    assert_int_equal(
        json_integer_value(json_object_get(json_array_get(items, 0), "n")),
        20);
    json_decref(out);
    assay_testkit_table_free(t);
}

static void expect_error(const char *opts, const char *port, const char *txt,
                         const char *n1, const char *n2)
{
    json_t *v = json_loads(txt, 0, NULL);
    assert_non_null(v);
    json_t *in = json_pack("{sO}", port, v);
    json_t *out = NULL;
    assay_error err = {0};
    assert_int_not_equal(assay_testkit_run(plug, opts, in, &out, &err), 0);
    if (!strstr(err.text, n1) || (n2 && !strstr(err.text, n2)))
        fail_msg("error '%s' lacks '%s'/'%s'", err.text, n1, n2 ? n2 : "");
    json_decref(in);
    json_decref(v);
}

static void test_malformed(void **st)
{
    (void)st;
    expect_error(NULL, "items",
                 "[{\"sequence\": [1, 2, 3]}, {\"sequence\": [1, \"a\"]}]",
                 "record 1", "element 1");
    expect_error(NULL, "items", "[{\"seq\": [1, 2, 3]}]", "record 0",
                 "'sequence'");
    expect_error(NULL, "items", "[{\"sequence\": 3}]", "record 0",
                 "expected an array");
    expect_error(NULL, "interactions",
                 "[{\"user\": 1, \"item\": 2, \"timestamp\": \"x\"}]",
                 "record 0", "'timestamp'");
    expect_error("{\"m\": 0}", "items", "[]", "m", NULL);
    /* neither input */
    json_t *in = json_object(), *out = NULL;
    assay_error err = {0};
    assert_int_not_equal(assay_testkit_run(plug, NULL, in, &out, &err), 0);
    assert_non_null(strstr(err.text, "exactly one"));
    json_decref(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_records),
        cmocka_unit_test(test_interactions),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
