/*
 * embedder.hashing through the real host (core/testkit.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testkit.h"

static const assay_plugin *load(void)
{
    assay_error err;
    const assay_plugin *p =
        assay_testkit_load(getenv("PLUGIN"), "embedder.hashing", &err);
    if (!p)
        fprintf(stderr, "%s\n", err.text);
    assert_non_null(p);
    return p;
}

static void test_outputs(void **state)
{
    (void)state;
    const assay_plugin *p = load();
    json_t *in = json_loads("{\"items\": [{\"id\": 5, \"text\": \"red "
                            "apple\"}, {\"id\": 9, \"text\": \"green "
                            "apple\"}, {\"id\": 11, \"text\": \"Red "
                            "Apple\"}]}",
                            0, NULL);
    json_t *out = NULL;
    assay_error err;
    int rc = assay_testkit_run(p, "{\"dim\": 8, \"id_field\": \"id\"}", in,
                               &out, &err);
    if (rc)
        fprintf(stderr, "%s\n", err.text);
    assert_int_equal(rc, 0);
    json_t *rows = json_object_get(out, "table");
    assert_int_equal(json_array_size(rows), 3);
    json_t *r0 = json_array_get(rows, 0);
    assert_int_equal(json_object_size(r0), 9); /* id + v0..v7 */
    assert_int_equal(json_integer_value(json_object_get(r0, "id")), 5);
    json_t *items = json_object_get(out, "items");
    json_t *v0 = json_object_get(json_array_get(items, 0), "vector");
    json_t *v2 = json_object_get(json_array_get(items, 2), "vector");
    assert_int_equal(json_array_size(v0), 8);
    double n2 = 0;
    for (size_t d = 0; d < 8; d++) {
        double a = json_number_value(json_array_get(v0, d));
        n2 += a * a;
        /* same words up to case: same vector; table matches records */
        assert_true(a == json_number_value(json_array_get(v2, d)));
        char col[8];
        snprintf(col, sizeof col, "v%zu", d);
        assert_true(fabs(json_number_value(json_object_get(r0, col)) - a) <
                    1e-15);
    }
    assert_true(fabs(n2 - 1) < 1e-12);
    json_decref(out);
    json_decref(in);
}

static void test_missing_field(void **state)
{
    (void)state;
    const assay_plugin *p = load();
    json_t *in = json_loads("{\"items\": [{\"text\": \"a\"}, {\"body\": "
                            "\"b\"}]}",
                            0, NULL);
    json_t *out = NULL;
    assay_error err;
    assert_int_equal(assay_testkit_run(p, NULL, in, &out, &err), ASSAY_EDATA);
    assert_non_null(strstr(err.text, "record 1: missing field 'text'"));
    assert_int_not_equal(assay_testkit_run(p, "{\"dim\": 0}", in, &out, &err),
                         0);
    json_decref(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outputs),
        cmocka_unit_test(test_missing_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
