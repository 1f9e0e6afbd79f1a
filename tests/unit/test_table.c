/*
 * Tables: construction, strings, resizing, the binary form (round trip,
 * hash, corrupt and truncated files), records <-> table conversion and
 * concatenation.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "table.h"

/* A 3-row table {id int64, score float64, name string}. */
static assay_table *sample(void)
{
    assay_table *t = table_new(3);
    assert_non_null(t);
    int64_t *id = table_add_col(t, "id", ASSAY_COL_INT64);
    double *sc = table_add_col(t, "score", ASSAY_COL_FLOAT64);
    assert_non_null(id);
    assert_non_null(sc);
    assert_non_null(table_add_col(t, "name", ASSAY_COL_STRING));
    for (int i = 0; i < 3; i++) {
        id[i] = (i + 1) * 1000000000000LL;
        sc[i] = i * 0.25;
    }
    sc[1] = NAN;
    assert_int_equal(table_set_str(t, 2, 0, "alpha", 5), 0);
    assert_int_equal(table_set_str(t, 2, 1, "b\0c", 3), 0); /* cut at NUL */
    assert_int_equal(table_set_str(t, 2, 2, NULL, 0), 0);
    return t;
}

static void test_build(void **state)
{
    (void)state;
    assay_table *t = sample();
    assert_int_equal(t->nrows, 3);
    assert_int_equal(t->ncols, 3);
    /* duplicate names and unknown types are refused */
    assert_null(table_add_col(t, "id", ASSAY_COL_FLOAT64));
    assert_null(table_add_col(t, "x", (assay_col_type)9));
    assert_null(table_add_col(t, NULL, ASSAY_COL_INT64));
    assert_int_equal(t->ncols, 3);
    /* set_str checks column, row and type */
    assert_int_equal(table_set_str(t, 0, 0, "x", 1), ASSAY_EINVAL);
    assert_int_equal(table_set_str(t, 2, 3, "x", 1), ASSAY_EINVAL);
    assert_int_equal(table_set_str(t, 7, 0, "x", 1), ASSAY_EINVAL);
    const char *const *s = assay_col_str(assay_table_col(t, "name"));
    assert_string_equal(s[0], "alpha");
    assert_string_equal(s[1], "b");
    assert_null(s[2]);
    /* overwriting a cell keeps the others */
    assert_int_equal(table_set_str(t, 2, 0, "beta-longer", 4), 0);
    assert_string_equal(s[0], "beta");
    /* many strings spill into several arena chunks */
    assay_table *big = table_new(20000);
    assert_non_null(table_add_col(big, "s", ASSAY_COL_STRING));
    char buf[64];
    for (size_t r = 0; r < 20000; r++) {
        int n = snprintf(buf, sizeof buf, "row-%zu-%s", r,
                         "padding-padding-padding");
        assert_int_equal(table_set_str(big, 0, r, buf, (size_t)n), 0);
    }
    const char *const *bs = assay_col_str(&big->cols[0]);
    assert_string_equal(bs[0], "row-0-padding-padding-padding");
    assert_string_equal(bs[19999], "row-19999-padding-padding-padding");
    table_free(big);
    table_free(t);
    table_free(NULL);
}

static void test_resize(void **state)
{
    (void)state;
    assay_table *t = sample();
    assert_int_equal(table_resize(t, 5), 0);
    assert_int_equal(t->nrows, 5);
    const int64_t *id = assay_col_i64(&t->cols[0]);
    const double *sc = assay_col_f64(&t->cols[1]);
    const char *const *s = assay_col_str(&t->cols[2]);
    assert_int_equal(id[2], 3000000000000LL);
    assert_int_equal(id[3], 0);
    assert_int_equal(id[4], 0);
    assert_true(sc[3] == 0.0);
    assert_null(s[4]);
    assert_string_equal(s[0], "alpha");
    assert_int_equal(table_set_str(t, 2, 4, "tail", 4), 0);
    assert_int_equal(table_resize(t, 1), 0);
    assert_int_equal(t->nrows, 1);
    assert_string_equal(assay_col_str(&t->cols[2])[0], "alpha");
    assert_int_equal(table_set_str(t, 2, 1, "x", 1), ASSAY_EINVAL);
    assert_int_equal(table_resize(t, 0), 0);
    assert_int_equal(t->nrows, 0);
    assert_int_equal(table_resize(NULL, 3), ASSAY_EINVAL);
    table_free(t);
}

static void assert_same(const assay_table *a, const assay_table *b)
{
    assert_int_equal(a->nrows, b->nrows);
    assert_int_equal(a->ncols, b->ncols);
    for (size_t c = 0; c < a->ncols; c++) {
        assert_string_equal(a->cols[c].name, b->cols[c].name);
        assert_int_equal(a->cols[c].type, b->cols[c].type);
        for (size_t r = 0; r < a->nrows; r++) {
            if (a->cols[c].type == ASSAY_COL_INT64)
                assert_int_equal(((int64_t *)a->cols[c].data)[r],
                                 ((int64_t *)b->cols[c].data)[r]);
            else if (a->cols[c].type == ASSAY_COL_FLOAT64) {
                double x = ((double *)a->cols[c].data)[r],
                       y = ((double *)b->cols[c].data)[r];
                assert_true((isnan(x) && isnan(y)) || x == y);
            } else {
                const char *x = ((const char **)a->cols[c].data)[r],
                           *y = ((const char **)b->cols[c].data)[r];
                if (!x || !y)
                    assert_true(x == y);
                else
                    assert_string_equal(x, y);
            }
        }
    }
}

static void test_binary_roundtrip(void **state)
{
    (void)state;
    assay_table *t = sample();
    FILE *f = tmpfile();
    assert_non_null(f);
    sha256_ctx h;
    sha256_init(&h);
    assert_int_equal(table_write(t, f, &h), 0);
    char hex[65];
    sha256_final_hex(&h, hex);
    /* the hash covers exactly the bytes written */
    long size = ftell(f);
    assert_true(size > 8);
    rewind(f);
    char *bytes = malloc((size_t)size);
    assert_int_equal(fread(bytes, 1, (size_t)size, f), (size_t)size);
    char hex2[65];
    sha256_hex(bytes, (size_t)size, hex2);
    assert_string_equal(hex, hex2);
    assert_memory_equal(bytes, "ASSAYTB1", 8);
    rewind(f);
    assay_table *back = NULL;
    assay_error err;
    assert_int_equal(table_read(f, &back, &err), 0);
    assert_same(t, back);
    table_free(back);

    /* every truncation is an error, never a crash or a short table */
    for (long cut = 0; cut < size; cut++) {
        FILE *g = tmpfile();
        assert_int_equal(fwrite(bytes, 1, (size_t)cut, g), (size_t)cut);
        rewind(g);
        back = NULL;
        err.text[0] = '\0';
        assert_int_not_equal(table_read(g, &back, &err), 0);
        assert_null(back);
        assert_true(err.text[0] != '\0');
        fclose(g);
    }
    /* a wrong magic and absurd sizes */
    FILE *g = tmpfile();
    bytes[0] = 'X';
    fwrite(bytes, 1, (size_t)size, g);
    rewind(g);
    assert_int_equal(table_read(g, &back, &err), ASSAY_EDATA);
    assert_string_equal(err.text, "not an assay table file");
    fclose(g);
    bytes[0] = 'A';
    uint64_t huge = (uint64_t)1 << 50;
    memcpy(bytes + 8, &huge, 8);
    g = tmpfile();
    fwrite(bytes, 1, (size_t)size, g);
    rewind(g);
    assert_int_equal(table_read(g, &back, &err), ASSAY_EDATA);
    fclose(g);
    /* a row count far beyond the file's size is refused up front */
    huge = (uint64_t)1 << 36;
    memcpy(bytes + 8, &huge, 8);
    g = tmpfile();
    fwrite(bytes, 1, (size_t)size, g);
    rewind(g);
    assert_int_equal(table_read(g, &back, &err), ASSAY_EDATA);
    assert_string_equal(err.text, "truncated table");
    fclose(g);
    /* an unknown column type */
    uint64_t nr = 3;
    memcpy(bytes + 8, &nr, 8);
    uint32_t badty = 7;
    memcpy(bytes + 24, &badty, 4);
    g = tmpfile();
    fwrite(bytes, 1, (size_t)size, g);
    rewind(g);
    assert_int_equal(table_read(g, &back, &err), ASSAY_EDATA);
    assert_string_equal(err.text, "corrupt table header");
    fclose(g);
    free(bytes);
    fclose(f);

    /* empty tables round-trip too */
    assay_table *e = table_new(0);
    assert_non_null(table_add_col(e, "s", ASSAY_COL_STRING));
    assert_non_null(table_add_col(e, "i", ASSAY_COL_INT64));
    f = tmpfile();
    assert_int_equal(table_write(e, f, NULL), 0);
    rewind(f);
    assert_int_equal(table_read(f, &back, &err), 0);
    assert_same(e, back);
    table_free(back);
    table_free(e);
    fclose(f);
    table_free(t);
}

static json_t *parse(const char *s)
{
    json_error_t je;
    json_t *j = json_loads(s, 0, &je);
    if (!j)
        fail_msg("bad JSON in test: %s", je.text);
    return j;
}

static void test_from_records(void **state)
{
    (void)state;
    json_t *recs = parse("[{\"i\": 1, \"f\": 1.5, \"s\": \"a\", \"b\": true,"
                         "  \"mix\": 1, \"n\": null, \"hole\": 5},"
                         " {\"i\": 2, \"f\": 2, \"s\": null, \"b\": false,"
                         "  \"mix\": 2.5, \"n\": null},"
                         " {\"i\": -3, \"f\": null, \"b\": 1, \"mix\": 3,"
                         "  \"n\": null, \"hole\": 7, \"late\": \"z\"}]");
    assay_table *t = NULL;
    assay_error err;
    assert_int_equal(table_from_records(recs, &t, &err), 0);
    assert_int_equal(t->nrows, 3);
    /* columns in first-seen order */
    const char *names[] = {"i", "f", "s", "b", "mix", "n", "hole", "late"};
    assert_int_equal(t->ncols, 8);
    for (size_t c = 0; c < 8; c++)
        assert_string_equal(t->cols[c].name, names[c]);
    const int64_t *i = assay_col_i64(assay_table_col(t, "i"));
    assert_non_null(i);
    assert_int_equal(i[2], -3);
    const double *f = assay_col_f64(assay_table_col(t, "f"));
    assert_non_null(f);
    assert_true(f[0] == 1.5 && f[1] == 2.0 && isnan(f[2]));
    const char *const *s = assay_col_str(assay_table_col(t, "s"));
    assert_string_equal(s[0], "a");
    assert_null(s[1]);
    assert_null(s[2]); /* missing */
    const int64_t *b = assay_col_i64(assay_table_col(t, "b"));
    assert_non_null(b); /* booleans count as integers */
    assert_true(b[0] == 1 && b[1] == 0 && b[2] == 1);
    const double *mix = assay_col_f64(assay_table_col(t, "mix"));
    assert_non_null(mix); /* ints and reals -> float64 */
    assert_true(mix[0] == 1.0 && mix[1] == 2.5 && mix[2] == 3.0);
    const double *n = assay_col_f64(assay_table_col(t, "n"));
    assert_non_null(n); /* all null -> float64 NaN */
    assert_true(isnan(n[0]) && isnan(n[1]) && isnan(n[2]));
    const double *hole = assay_col_f64(assay_table_col(t, "hole"));
    assert_non_null(hole); /* an int column with a gap becomes float */
    assert_true(hole[0] == 5.0 && isnan(hole[1]) && hole[2] == 7.0);
    const char *const *late = assay_col_str(assay_table_col(t, "late"));
    assert_true(!late[0] && !late[1]);
    assert_string_equal(late[2], "z");

    /* back to records: NaN and NULL become null */
    json_t *back = table_to_records(t);
    assert_int_equal(json_array_size(back), 3);
    json_t *r1 = json_array_get(back, 1);
    assert_true(json_is_null(json_object_get(r1, "s")));
    assert_true(json_is_null(json_object_get(r1, "hole")));
    assert_int_equal(json_integer_value(json_object_get(r1, "i")), 2);
    json_t *r0 = json_array_get(back, 0);
    assert_true(json_is_real(json_object_get(r0, "f")));
    assert_true(json_real_value(json_object_get(r0, "f")) == 1.5);
    assert_string_equal(json_string_value(json_object_get(r0, "s")), "a");
    assert_int_equal(json_object_size(r0), 8);
    json_decref(back);
    table_free(t);
    json_decref(recs);

    /* an empty array is an empty table */
    recs = parse("[]");
    assert_int_equal(table_from_records(recs, &t, &err), 0);
    assert_int_equal(t->nrows, 0);
    assert_int_equal(t->ncols, 0);
    back = table_to_records(t);
    assert_int_equal(json_array_size(back), 0);
    json_decref(back);
    table_free(t);
    json_decref(recs);
}

static void from_records_bad(const char *text, const char *msg)
{
    json_t *recs = parse(text);
    assay_table *t = NULL;
    assay_error err = {0};
    assert_int_equal(table_from_records(recs, &t, &err), ASSAY_EDATA);
    assert_null(t);
    assert_int_equal(err.code, ASSAY_EDATA);
    assert_string_equal(err.text, msg);
    json_decref(recs);
}

static void test_from_records_errors(void **state)
{
    (void)state;
    from_records_bad("[{\"a\": 1}, {\"a\": \"x\"}]",
                     "record 1: field 'a': mixes strings and numbers across "
                     "records");
    from_records_bad("[{\"a\": \"x\"}, {\"a\": null}, {\"a\": 2.5}]",
                     "record 2: field 'a': mixes strings and numbers across "
                     "records");
    from_records_bad("[{\"a\": 1}, {\"b\": [1, 2]}]",
                     "record 1: field 'b': array values cannot be stored in "
                     "a table column");
    from_records_bad("[{\"a\": {\"x\": 1}}]",
                     "record 0: field 'a': object values cannot be stored "
                     "in a table column");
    from_records_bad("[{\"a\": 1}, 3]", "record 1: expected an object");
    from_records_bad("{\"a\": 1}", "expected an array of records");
}

static void test_concat(void **state)
{
    (void)state;
    assay_table *a = sample(), *b = sample();
    const assay_table *two[] = {a, b};
    assay_table *c = NULL;
    assay_error err;
    assert_int_equal(table_concat(two, 2, &c, &err), 0);
    assert_int_equal(c->nrows, 6);
    assert_int_equal(assay_col_i64(&c->cols[0])[4], 2000000000000LL);
    assert_string_equal(assay_col_str(&c->cols[2])[3], "alpha");
    assert_null(assay_col_str(&c->cols[2])[5]);
    assert_true(isnan(assay_col_f64(&c->cols[1])[4]));
    table_free(c);

    /* a copy is deep: freeing the source keeps it valid */
    assay_table *cp = table_copy(a);
    assert_same(a, cp);
    table_free(a);
    assert_string_equal(assay_col_str(&cp->cols[2])[0], "alpha");

    /* mismatches */
    assay_table *d = table_new(1);
    table_add_col(d, "id", ASSAY_COL_INT64);
    const assay_table *bad1[] = {cp, d};
    assert_int_equal(table_concat(bad1, 2, &c, &err), ASSAY_EDATA);
    assert_string_equal(err.text, "cannot concatenate tables: input 1 has 1 "
                                  "columns, input 0 has 3");
    table_add_col(d, "score", ASSAY_COL_INT64); /* wrong type */
    table_add_col(d, "name", ASSAY_COL_STRING);
    assert_int_equal(table_concat(bad1, 2, &c, &err), ASSAY_EDATA);
    assert_non_null(strstr(err.text, "input 1 column 1 is 'score'"));
    assay_table *e = table_new(1);
    table_add_col(e, "id", ASSAY_COL_INT64);
    table_add_col(e, "name", ASSAY_COL_STRING); /* order differs */
    table_add_col(e, "score", ASSAY_COL_FLOAT64);
    const assay_table *bad2[] = {b, cp, e};
    assert_int_equal(table_concat(bad2, 3, &c, &err), ASSAY_EDATA);
    assert_non_null(strstr(err.text, "input 2 column 1 is 'name'"));
    assert_int_equal(table_concat(bad2, 0, &c, &err), ASSAY_EINVAL);

    /* tables without columns keep their row counts */
    assay_table *z1 = table_new(2), *z2 = table_new(5);
    const assay_table *zz[] = {z1, z2};
    assert_int_equal(table_concat(zz, 2, &c, &err), 0);
    assert_int_equal(c->nrows, 7);
    assert_int_equal(c->ncols, 0);
    table_free(c);
    assay_table *zc = table_copy(z2);
    assert_int_equal(zc->nrows, 5);
    table_free(zc);
    table_free(z1);
    table_free(z2);
    table_free(b);
    table_free(cp);
    table_free(d);
    table_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build),
        cmocka_unit_test(test_resize),
        cmocka_unit_test(test_binary_roundtrip),
        cmocka_unit_test(test_from_records),
        cmocka_unit_test(test_from_records_errors),
        cmocka_unit_test(test_concat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
