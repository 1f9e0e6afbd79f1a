/*
 * test_json.c - finding JSON in LLM answers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "syn_json.h"

static void found(const char *text, int want, const char *expect)
{
    json_t *v = NULL, *w = json_loads(expect, 0, NULL);
    assay_error err = {0};
    if (syn_json_find(text, want, &v, &err))
        fail_msg("%s: %s", text, err.text);
    if (!json_equal(v, w)) {
        char *got = json_dumps(v, 0);
        fail_msg("%s: got %s", text, got);
    }
    json_decref(v);
    json_decref(w);
}

static void test_find(void **st)
{
    (void)st;
    found("{\"a\": 1}", SYN_JSON_OBJECT, "{\"a\": 1}");
    found("Sure! Here it is:\n```json\n{\"a\": \"x}\"}\n```\nDone.",
          SYN_JSON_OBJECT, "{\"a\": \"x}\"}");
    found("{\"a\": [1, 2,], }", SYN_JSON_OBJECT, "{\"a\": [1, 2]}");
    found("{'a': True, 'b': None}", SYN_JSON_OBJECT,
          "{\"a\": true, \"b\": null}");
    found("[{\"x\": 1}, {\"x\": 2}]", SYN_JSON_OBJECT, "{\"x\": 1}");
    found("list: [1, 2] and {\"k\": [3]}", SYN_JSON_ARRAY, "[1, 2]");
    found("noise {not json} then {\"ok\": true}", SYN_JSON_OBJECT,
          "{\"ok\": true}");
    found("[\"a\", \"b\"]", SYN_JSON_ANY, "[\"a\", \"b\"]");
    json_t *v = NULL;
    assay_error err;
    assert_int_equal(syn_json_find("no json here", SYN_JSON_OBJECT, &v, &err),
                     ASSAY_EDATA);
    assert_non_null(strstr(err.text, "object"));
    /* a truncated answer holds no complete value */
    assert_int_equal(syn_json_find("{\"a\": [1, 2", SYN_JSON_ANY, &v, &err),
                     ASSAY_EDATA);
    assert_int_equal(syn_json_find(NULL, SYN_JSON_ANY, &v, &err), ASSAY_EDATA);
}

static void test_objects(void **st)
{
    (void)st;
    json_t *a = NULL;
    assert_int_equal(
        syn_json_objects("1. {\"label\": \"pos\", \"text\": \"great {fun}\"}"
                         "\n2. {\"label\": \"neg\", \"text\": \"bad\",}\n"
                         "3. {broken\n[{\"label\": \"pos\", \"text\": "
                         "\"x\"}, {\"text\": \"y\"}]",
                         &a),
        0);
    assert_int_equal(json_array_size(a), 4);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(a, 0), "text")),
        "great {fun}");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(a, 1), "label")),
        "neg");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(a, 3), "text")), "y");
    json_decref(a);
    assert_int_equal(syn_json_objects("nothing", &a), 0);
    assert_int_equal(json_array_size(a), 0);
    json_decref(a);
}

static void test_canon(void **st)
{
    (void)st;
    json_t *a =
        json_loads("{\"b\": 1, \"a\": [2, {\"d\": 3, \"c\": 4}]}", 0, NULL);
    char *t = syn_json_canon(a);
    assert_string_equal(t, "{\"a\":[2,{\"c\":4,\"d\":3}],\"b\":1}");
    free(t);
    json_decref(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_objects),
        cmocka_unit_test(test_canon),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
