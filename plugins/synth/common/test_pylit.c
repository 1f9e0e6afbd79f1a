/*
 * test_pylit.c - Python literals and call expressions as JSON.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "syn_pylit.h"

/* Parse `src` and compare with the JSON text `want`. */
static void same(const char *src, const char *want)
{
    json_t *v = NULL, *w = json_loads(want, JSON_DECODE_ANY, NULL);
    assay_error err = {0};
    int rc = syn_pylit_parse_all(src, strlen(src), &v, &err);
    if (rc)
        fail_msg("%s: %s", src, err.text);
    assert_non_null(w);
    if (!json_equal(v, w)) {
        char *got = json_dumps(v, JSON_ENCODE_ANY);
        fail_msg("%s: got %s, want %s", src, got, want);
    }
    json_decref(v);
    json_decref(w);
}

static void bad(const char *src, const char *msg_part)
{
    json_t *v = NULL;
    assay_error err = {0};
    assert_int_equal(syn_pylit_parse_all(src, strlen(src), &v, &err),
                     ASSAY_EDATA);
    assert_null(v);
    if (!strstr(err.text, msg_part))
        fail_msg("%s: message '%s' lacks '%s'", src, err.text, msg_part);
}

static void test_scalars(void **st)
{
    (void)st;
    same("42", "42");
    same("-7", "-7");
    same("1_000", "1000");
    same("0x1F", "31");
    same("0o17", "15");
    same("0b101", "5");
    same("3.5", "3.5");
    same("-2.5e-3", "-0.0025");
    same(".5", "0.5");
    same("True", "true");
    same("False", "false");
    same("None", "null");
    same("null", "null");
    same("99999999999999999999", "1e20");
}

static void test_strings(void **st)
{
    (void)st;
    same("'it\\'s'", "\"it's\"");
    same("\"say \\\"hi\\\"\"", "\"say \\\"hi\\\"\"");
    same("'a\\nb\\tc\\\\'", "\"a\\nb\\tc\\\\\"");
    same("'\\x41\\u00e8\\U0001F600'", "\"A\\u00e8\\ud83d\\ude00\"");
    same("'\\ud83d\\ude00'", "\"\\ud83d\\ude00\"");
    same("'\\ud83d x'", "\"\\ufffd x\"");
    same("r'a\\nb'", "\"a\\\\nb\"");
    same("'''multi\nline'''", "\"multi\\nline\"");
    same("'a' \"b\" 'c'", "\"abc\"");
    same("u'caf\\xe9'", "\"caf\\u00e9\"");
    same("'\\101'", "\"A\"");
    same("'\\q'", "\"\\\\q\"");
}

static void test_containers(void **st)
{
    (void)st;
    same("[1, 'a', [True, None]]", "[1, \"a\", [true, null]]");
    same("(1, 2)", "[1, 2]");
    same("(1,)", "[1]");
    same("(1)", "1");
    same("{'a': 1, 'b': {'c': [1, 2,]}}", "{\"a\": 1, \"b\": {\"c\": [1, 2]}}");
    same("{1: 'x', None: 2}", "{\"1\": \"x\", \"null\": 2}");
    same("{}", "{}");
    same("{1, 2}", "[1, 2]");
    same("[]", "[]");
}

static void test_errors(void **st)
{
    (void)st;
    bad("'open", "unterminated string");
    bad("[1, 2", "unterminated");
    bad("foo", "not a literal");
    bad("1j", "complex");
    bad("[1 2]", "expected ','");
    bad("{'a' 1}", "expected ','");
    bad("1 2", "text after");
    bad("-'x'", "unary sign");
    char deep[1000];
    memset(deep, '[', sizeof deep - 1);
    deep[sizeof deep - 1] = '\0';
    bad(deep, "nesting too deep");
}

/* The StepTool reward files keep each step as a Python repr whose
 * values hold JSON text (and are cut with "..."). */
static void test_steptool_step(void **st)
{
    (void)st;
    const char *src =
        "{'name': 'get_album', 'arguments': '{\"url\":\"https://x/s-t\"}', "
        "'response': '{\"error\": \"\", \"response\": \"Quando l\\'amore "
        "\\\\u00e8 sensualit\\\\u00e0...'}";
    json_t *v = NULL;
    assay_error err;
    assert_int_equal(syn_pylit_parse_all(src, strlen(src), &v, &err), 0);
    assert_string_equal(json_string_value(json_object_get(v, "name")),
                        "get_album");
    assert_string_equal(json_string_value(json_object_get(v, "arguments")),
                        "{\"url\":\"https://x/s-t\"}");
    assert_string_equal(
        json_string_value(json_object_get(v, "response")),
        "{\"error\": \"\", \"response\": \"Quando l'amore \\u00e8 "
        "sensualit\\u00e0...");
    json_decref(v);
}

static void calls_same(const char *src, const char *want)
{
    json_t *v = NULL, *w = json_loads(want, 0, NULL);
    assay_error err = {0};
    if (syn_pycalls_parse(src, strlen(src), &v, &err))
        fail_msg("%s: %s", src, err.text);
    if (!json_equal(v, w)) {
        char *got = json_dumps(v, 0);
        fail_msg("%s: got %s", src, got);
    }
    json_decref(v);
    json_decref(w);
}

static void test_calls(void **st)
{
    (void)st;
    calls_same("spotify.play(artist='Taylor Swift', duration=20)",
               "[{\"name\": \"spotify.play\", \"arguments\": "
               "{\"artist\": \"Taylor Swift\", \"duration\": 20}}]");
    calls_same("[f(a=1), g(b=[1, 2], c={'k': None})]",
               "[{\"name\": \"f\", \"arguments\": {\"a\": 1}}, "
               "{\"name\": \"g\", \"arguments\": {\"b\": [1, 2], "
               "\"c\": {\"k\": null}}}]");
    calls_same("f()", "[{\"name\": \"f\", \"arguments\": {}}]");
    calls_same("[]", "[]");
    calls_same("  ", "[]");
    calls_same("f(a=1); g(b=2)",
               "[{\"name\": \"f\", \"arguments\": {\"a\": 1}}, "
               "{\"name\": \"g\", \"arguments\": {\"b\": 2}}]");
    json_t *v = NULL;
    assay_error err;
    assert_int_equal(syn_pycalls_parse("f(1)", 4, &v, &err), ASSAY_EDATA);
    assert_non_null(strstr(err.text, "positional"));
    assert_int_equal(syn_pycalls_parse("f(a=1, a=2)", 11, &v, &err),
                     ASSAY_EDATA);
    assert_non_null(strstr(err.text, "twice"));
    assert_int_equal(syn_pycalls_parse("[f(a=1)", 7, &v, &err), ASSAY_EDATA);
    assert_int_equal(syn_pycalls_parse("I cannot help", 13, &v, &err),
                     ASSAY_EDATA);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars),       cmocka_unit_test(test_strings),
        cmocka_unit_test(test_containers),    cmocka_unit_test(test_errors),
        cmocka_unit_test(test_steptool_step), cmocka_unit_test(test_calls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
