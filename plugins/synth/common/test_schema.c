/*
 * test_schema.c - function-definition and argument checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "syn_schema.h"

/* Append ",rule" (or "rule" first) to the 1 KiB+ buffer `out`. */
static void add_rule(char *out, size_t sz, const char *rule)
{
    size_t n = strlen(out);
    snprintf(out + n, sz - n, "%s%s", n ? "," : "", rule);
}

static const char *weather =
    "{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", "
    "\"description\": \"Current weather of a city\", \"parameters\": "
    "{\"type\": \"object\", \"properties\": {"
    "\"city\": {\"type\": \"string\", \"minLength\": 2},"
    "\"unit\": {\"type\": \"string\", \"enum\": [\"C\", \"F\"]},"
    "\"date\": {\"type\": \"string\", \"format\": \"date\"},"
    "\"zip\": {\"type\": \"string\", \"pattern\": \"^\\\\d{5}$\"},"
    "\"days\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 7},"
    "\"tags\": {\"type\": \"array\", \"items\": {\"type\": \"string\"}, "
    "\"maxItems\": 2, \"uniqueItems\": true},"
    "\"where\": {\"type\": \"object\", \"properties\": {\"lat\": "
    "{\"type\": \"number\"}, \"lon\": {\"type\": \"number\"}}, "
    "\"required\": [\"lat\", \"lon\"], \"additionalProperties\": false}"
    "}, \"required\": [\"city\"]}}}";

/* Failures of checking `args_json` against `tool_json`, as "rule,rule". */
static char *args_rules(const char *tool_json, const char *args_json)
{
    json_t *t = json_loads(tool_json, 0, NULL), *a;
    assert_non_null(t);
    a = json_loads(args_json, JSON_DECODE_ANY, NULL);
    assert_non_null(a);
    syn_fails f = {0};
    syn_args_check(t, a, 3, NULL, &f);
    char *out = calloc(1, 1024);
    for (size_t i = 0; i < f.n; i++) {
        add_rule(out, 1024, f.v[i].rule);
        assert_int_equal(f.v[i].at, 3);
    }
    syn_fails_free(&f);
    json_decref(t);
    json_decref(a);
    return out;
}

static void args_expect(const char *args, const char *rules)
{
    char *got = args_rules(weather, args);
    if (strcmp(got, rules))
        fail_msg("%s: got '%s', want '%s'", args, got, rules);
    free(got);
}

static void test_args(void **st)
{
    (void)st;
    args_expect("{\"city\": \"Paris\"}", "");
    args_expect("{\"city\": \"Paris\", \"unit\": \"C\", \"date\": "
                "\"2024-02-29\", \"zip\": \"75001\", \"days\": 3, "
                "\"tags\": [\"a\", \"b\"], \"where\": {\"lat\": 48.8, "
                "\"lon\": 2}}",
                "");
    args_expect("{}", "call_required_params");
    args_expect("{\"city\": \"Paris\", \"country\": \"FR\"}",
                "call_unknown_params");
    args_expect("{\"city\": 75}", "call_param_types");
    args_expect("{\"city\": \"Paris\", \"days\": 2.0}", "");
    args_expect("{\"city\": \"Paris\", \"days\": 2.5}", "call_param_types");
    args_expect("{\"city\": \"Paris\", \"unit\": \"K\"}", "call_param_enum");
    args_expect("{\"city\": \"Paris\", \"date\": \"2023-02-29\"}",
                "call_param_format");
    args_expect("{\"city\": \"Paris\", \"zip\": \"7500\"}",
                "call_param_format");
    args_expect("{\"city\": \"P\"}", "call_param_range");
    args_expect("{\"city\": \"Paris\", \"days\": 9}", "call_param_range");
    args_expect("{\"city\": \"Paris\", \"tags\": [\"a\", \"a\"]}",
                "call_param_range");
    args_expect("{\"city\": \"Paris\", \"tags\": [\"a\", 1]}",
                "call_param_types");
    args_expect("{\"city\": \"Paris\", \"where\": {\"lat\": 1}}",
                "call_required_params");
    args_expect("{\"city\": \"Paris\", \"where\": {\"lat\": 1, \"lon\": 2, "
                "\"alt\": 3}}",
                "call_unknown_params");
    args_expect("[1]", "call_param_types");
}

static char *fn_rules(const char *tool_json, bool strict)
{
    json_t *t = json_loads(tool_json, JSON_DECODE_ANY, NULL);
    assert_non_null(t);
    syn_fails f = {0};
    syn_schema_opts o = {.strict_types = strict};
    syn_fn_check(t, 0, &o, &f);
    char *out = calloc(1, 2048);
    for (size_t i = 0; i < f.n; i++)
        add_rule(out, 2048, f.v[i].rule);
    syn_fails_free(&f);
    json_decref(t);
    return out;
}

static void fn_expect(const char *tool, bool strict, const char *rules)
{
    char *got = fn_rules(tool, strict);
    if (strcmp(got, rules))
        fail_msg("%s: got '%s', want '%s'", tool, got, rules);
    free(got);
}

static void test_definitions(void **st)
{
    (void)st;
    fn_expect(weather, true, "");
    /* BFCL style: dict/float types, bare form */
    const char *bfcl =
        "{\"name\": \"calc.area\", \"description\": \"Area\", "
        "\"parameters\": {\"type\": \"dict\", \"properties\": {\"r\": "
        "{\"type\": \"float\"}}, \"required\": [\"r\"]}}";
    fn_expect(bfcl, false, "");
    fn_expect(bfcl, true, "api_schema_valid,api_schema_valid");
    fn_expect("{\"name\": \"f\", \"parameters\": {\"type\": \"object\"}}",
              false, "api_required_fields");
    fn_expect("{\"name\": \"\", \"description\": \"d\", \"parameters\": "
              "{\"type\": \"object\"}}",
              false, "api_required_fields");
    fn_expect("{\"name\": \"f\", \"description\": \"d\"}", false,
              "api_required_fields");
    fn_expect("{\"name\": \"has space\", \"description\": \"d\", "
              "\"parameters\": {\"type\": \"object\"}}",
              false, "api_schema_valid");
    fn_expect("{\"name\": \"f\", \"description\": \"d\", \"parameters\": "
              "{\"type\": \"object\", \"properties\": {\"a\": {\"type\": "
              "\"strng\"}}}}",
              false, "api_schema_valid");
    fn_expect("{\"name\": \"f\", \"description\": \"d\", \"parameters\": "
              "{\"type\": \"object\", \"properties\": {\"a\": {\"type\": "
              "\"string\"}}, \"required\": [\"\", \"a\"]}}",
              false, "api_schema_valid");
    fn_expect("{\"name\": \"f\", \"description\": \"d\", \"parameters\": "
              "{\"type\": \"object\", \"properties\": {\"a\": {\"type\": "
              "\"integer\", \"enum\": [1, \"x\"], \"minimum\": 5, "
              "\"maximum\": 1}}}}",
              false, "api_schema_valid,api_schema_valid");
    fn_expect("{\"name\": \"f\", \"description\": \"d\", \"parameters\": "
              "{\"type\": \"object\", \"properties\": {\"a\": {\"type\": "
              "\"string\", \"pattern\": \"(?<=x)y\"}}}}",
              false, "api_schema_valid");
    fn_expect("{\"name\": \"f\", \"description\": \"d\", \"parameters\": "
              "{\"type\": \"object\", \"properties\": {\"a\": {\"type\": "
              "\"array\", \"items\": {\"type\": \"object\", \"properties\": "
              "{\"b\": {\"type\": \"array\", \"items\": {\"type\": "
              "\"integer\"}}}, \"required\": [\"b\"]}}}}}",
              true, "");
    fn_expect("[1]", false, "api_required_fields");
}

static void test_formats(void **st)
{
    (void)st;
    assert_true(syn_format_ok("date", "2024-02-29"));
    assert_false(syn_format_ok("date", "2023-02-29"));
    assert_false(syn_format_ok("date", "2023-13-01"));
    assert_false(syn_format_ok("date", "2023-1-01"));
    assert_true(syn_format_ok("date-time", "2024-05-01T12:30:00Z"));
    assert_true(syn_format_ok("date-time", "2024-05-01 12:30:00+02:00"));
    assert_false(syn_format_ok("date-time", "2024-05-01T25:30:00Z"));
    assert_true(syn_format_ok("time", "09:15"));
    assert_true(syn_format_ok("time", "09:15:30.25Z"));
    assert_false(syn_format_ok("time", "9:15"));
    assert_true(syn_format_ok("email", "a.b@example.org"));
    assert_false(syn_format_ok("email", "a@b"));
    assert_false(syn_format_ok("email", "a b@example.org"));
    assert_true(syn_format_ok("uri", "https://example.org/x?y=1"));
    assert_false(syn_format_ok("uri", "example.org"));
    assert_true(syn_format_ok("uuid", "123e4567-e89b-12d3-a456-426614174000"));
    assert_false(syn_format_ok("uuid", "123e4567-e89b-12d3-a456-42661417400"));
    assert_true(syn_format_ok("ipv4", "192.168.0.1"));
    assert_false(syn_format_ok("ipv4", "256.1.1.1"));
    assert_true(syn_format_ok("ipv6", "::1"));
    assert_true(syn_format_ok("hostname", "api.example.com"));
    assert_false(syn_format_ok("hostname", "-bad.example.com"));
    assert_true(syn_format_ok("made-up-format", "anything"));
}

static void test_patterns(void **st)
{
    (void)st;
    bool bad;
    assert_true(syn_pattern_match("^\\d{3}-\\d{4}$", "555-1234", &bad));
    assert_false(bad);
    assert_false(syn_pattern_match("^\\d{3}-\\d{4}$", "555-12345", &bad));
    assert_true(syn_pattern_match("^[A-Z]{2}\\s\\w+$", "AB word_1", &bad));
    assert_true(syn_pattern_match("^[\\w.-]+@[\\w-]+\\.[a-z]{2,}$",
                                  "x.y-z@host.org", &bad));
    assert_true(syn_pattern_match("^[^\\d]+$", "abc", &bad));
    assert_false(syn_pattern_match("^[^\\d]+$", "a1c", &bad));
    assert_false(bad);
    assert_true(syn_pattern_match("a.*?b", "axxb", &bad));
    assert_true(syn_pattern_match("^(?:ab)+$", "abab", &bad));
    assert_true(syn_pattern_match("[]a]", "]", &bad));
    assert_false(syn_pattern_match("(?=x)", "x", &bad));
    assert_true(bad);
    assert_false(syn_pattern_match("(a)\\1", "aa", &bad));
    assert_true(bad);
    assert_true(syn_pattern_match("^\\$\\d+\\.\\d{2}$", "$10.50", &bad));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_args),
        cmocka_unit_test(test_definitions),
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_patterns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
