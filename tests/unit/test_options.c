/*
 * Option validation against a plugin's schema: every option type, bounds,
 * enum choices with did-you-mean, unknown keys with did-you-mean, required
 * options, defaults, LIST wrapping of scalars, YAML positions in messages
 * and the checks of declared defaults.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <assay/plugin.h>

#include "options.h"

static const assay_option OPTS[] = {
    {.name = "count",
     .type = ASSAY_OPT_INT,
     .def = "3",
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 10,
     .doc = "an int in [1, 10]"},
    {.name = "ratio",
     .type = ASSAY_OPT_FLOAT,
     .def = "0.5",
     .has_min = true,
     .min = 0,
     .has_max = true,
     .max = 1,
     .doc = "a float in [0, 1]"},
    {.name = "flag", .type = ASSAY_OPT_BOOL, .def = "true", .doc = "a bool"},
    {.name = "label",
     .type = ASSAY_OPT_STRING,
     .def = "\"x\"",
     .doc = "a string"},
    {.name = "smooth",
     .type = ASSAY_OPT_ENUM,
     .def = "\"exp\"",
     .choices = "exp|floor|add-k|none",
     .doc = "an enum"},
    {.name = "ks", .type = ASSAY_OPT_LIST, .def = "[1, 5]", .doc = "a list"},
    {.name = "extra", .type = ASSAY_OPT_OBJECT, .doc = "a mapping"},
    {.name = "anything", .type = ASSAY_OPT_ANY, .doc = "any value"},
    {.name = "path",
     .type = ASSAY_OPT_STRING,
     .required = true,
     .doc = "file to read"},
    {.name = "low",
     .type = ASSAY_OPT_INT,
     .has_min = true,
     .min = 0,
     .doc = "at least 0"},
    {.name = "high",
     .type = ASSAY_OPT_FLOAT,
     .has_max = true,
     .max = 100,
     .doc = "at most 100"},
    {0}};

static int dummy_create(const assay_host *h, const json_t *o, void **s,
                        assay_error *e)
{
    (void)h, (void)o, (void)e;
    *s = NULL;
    return 0;
}
static int dummy_run(void *s, assay_io *io, assay_error *e)
{
    (void)s, (void)io, (void)e;
    return 0;
}
static void dummy_destroy(void *s)
{
    (void)s;
}

static const assay_plugin P = {
    ASSAY_PLUGIN_HEADER,    .name = "test.opts",  .kind = "transform",
    .version = "1.0.0",     .summary = "options", .options = OPTS,
    .create = dummy_create, .run = dummy_run,     .destroy = dummy_destroy};
static const assay_plugin NOOPTS = {
    ASSAY_PLUGIN_HEADER, .name = "test.none",     .kind = "transform",
    .version = "1.0.0",  .summary = "no options", .create = dummy_create,
    .run = dummy_run,    .destroy = dummy_destroy};

/* Resolve `given` (JSON text) expecting success; returns the result. */
static json_t *resolve_ok(const assay_plugin *p, const char *given)
{
    json_t *g = given ? json_loads(given, 0, NULL) : NULL;
    if (given)
        assert_non_null(g);
    diag d = {0};
    json_t *out = NULL;
    int rc = options_resolve(p, g, NULL, "t.yaml", 4, 5, "node 'n'", &d, &out);
    if (rc) {
        diag_print(&d, stderr);
        fail_msg("options %s refused", given);
    }
    assert_int_equal(d.n, 0);
    json_decref(g);
    return out;
}

/* Resolve expecting exactly the given messages (and hints, NULL = none). */
static void resolve_bad(const assay_plugin *p, const char *given, size_t nmsg,
                        const char *const *msgs, const char *const *hints)
{
    json_t *g = json_loads(given, 0, NULL);
    assert_non_null(g);
    diag d = {0};
    json_t *out = NULL;
    assert_int_equal(
        options_resolve(p, g, NULL, "t.yaml", 4, 5, "node 'n'", &d, &out),
        ASSAY_EINVAL);
    assert_null(out);
    if (d.n != nmsg) {
        diag_print(&d, stderr);
        fail_msg("%s: %zu diagnostics, expected %zu", given, d.n, nmsg);
    }
    for (size_t i = 0; i < nmsg; i++) {
        assert_string_equal(d.items[i].msg, msgs[i]);
        if (hints && hints[i])
            assert_string_equal(d.items[i].hint ? d.items[i].hint : "(none)",
                                hints[i]);
        else if (hints)
            assert_null(d.items[i].hint);
        /* no YAML mapping given: the fallback position */
        assert_int_equal(d.items[i].line, 4);
        assert_int_equal(d.items[i].col, 5);
    }
    diag_free(&d);
    json_decref(g);
}

static void bad1(const char *given, const char *msg, const char *hint)
{
    resolve_bad(&P, given, 1, &msg, &hint);
}

static void test_defaults(void **state)
{
    (void)state;
    json_t *o = resolve_ok(&P, "{\"path\": \"in.jsonl\"}");
    char *s = json_dumps(o, JSON_COMPACT);
    assert_string_equal(s, "{\"count\":3,\"ratio\":0.5,\"flag\":true,"
                           "\"label\":\"x\",\"smooth\":\"exp\",\"ks\":[1,5],"
                           "\"extra\":null,\"anything\":null,\"path\":"
                           "\"in.jsonl\",\"low\":null,\"high\":null}");
    free(s);
    assert_int_equal(assay_opt_int(o, "count"), 3);
    assert_true(json_is_real(json_object_get(o, "ratio")));
    json_decref(o);
    /* explicit nulls take the default */
    o = resolve_ok(&P, "{\"path\": \"p\", \"count\": null, \"ks\": null}");
    assert_int_equal(json_integer_value(json_object_get(o, "count")), 3);
    assert_int_equal(json_array_size(json_object_get(o, "ks")), 2);
    json_decref(o);
    /* a plugin without options accepts no options and an empty mapping */
    o = resolve_ok(&NOOPTS, NULL);
    assert_int_equal(json_object_size(o), 0);
    json_decref(o);
    o = resolve_ok(&NOOPTS, "{}");
    assert_int_equal(json_object_size(o), 0);
    json_decref(o);
}

static void test_every_type_accepted(void **state)
{
    (void)state;
    json_t *o = resolve_ok(&P, "{\"path\": \"p\", \"count\": 10,"
                               " \"ratio\": 1, \"flag\": false,"
                               " \"label\": \"\", \"smooth\": \"add-k\","
                               " \"ks\": [10, 20, 30],"
                               " \"extra\": {\"a\": [1]},"
                               " \"anything\": [true, null],"
                               " \"low\": 0, \"high\": -1e300}");
    assert_int_equal(assay_opt_int(o, "count"), 10);
    /* a float option given an integer is passed as a real */
    assert_true(json_is_real(json_object_get(o, "ratio")));
    assert_true(assay_opt_num(o, "ratio") == 1.0);
    assert_false(assay_opt_bool(o, "flag"));
    assert_string_equal(assay_opt_str(o, "label"), "");
    assert_string_equal(assay_opt_str(o, "smooth"), "add-k");
    assert_int_equal(json_array_size(json_object_get(o, "ks")), 3);
    assert_true(json_is_object(json_object_get(o, "extra")));
    assert_true(json_is_array(json_object_get(o, "anything")));
    json_decref(o);
    /* an integral real is an integer; a scalar is wrapped into a list */
    o = resolve_ok(&P, "{\"path\": \"p\", \"count\": 4.0, \"ks\": 7,"
                       " \"anything\": \"text\"}");
    assert_true(json_is_integer(json_object_get(o, "count")));
    assert_int_equal(assay_opt_int(o, "count"), 4);
    json_t *ks = json_object_get(o, "ks");
    assert_true(json_is_array(ks));
    assert_int_equal(json_array_size(ks), 1);
    assert_int_equal(json_integer_value(json_array_get(ks, 0)), 7);
    json_decref(o);
    o = resolve_ok(&P, "{\"path\": \"p\", \"ks\": \"one\"}");
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(o, "ks"), 0)), "one");
    json_decref(o);
}

static void test_wrong_types(void **state)
{
    (void)state;
    bad1("{\"path\": \"p\", \"count\": \"5\"}",
         "node 'n': option 'count' expects an integer, got string '5'",
         "remove the quotes: a quoted value is a string");
    bad1("{\"path\": \"p\", \"count\": 2.5}",
         "node 'n': option 'count' expects an integer, got number 2.5", NULL);
    bad1("{\"path\": \"p\", \"count\": true}",
         "node 'n': option 'count' expects an integer, got true", NULL);
    bad1("{\"path\": \"p\", \"ratio\": \"half\"}",
         "node 'n': option 'ratio' expects a number, got string 'half'", NULL);
    bad1("{\"path\": \"p\", \"flag\": \"yes\"}",
         "node 'n': option 'flag' expects true or false, got string 'yes'",
         "write true or false (YAML 1.2 reads 'yes' as a string)");
    bad1("{\"path\": \"p\", \"flag\": \"false\"}",
         "node 'n': option 'flag' expects true or false, got string "
         "'false'",
         "remove the quotes: a quoted value is a string");
    bad1("{\"path\": \"p\", \"flag\": 1}",
         "node 'n': option 'flag' expects true or false, got integer 1", NULL);
    bad1("{\"path\": \"p\", \"label\": 5}",
         "node 'n': option 'label' expects a string, got integer 5",
         "quote the value to make it a string");
    bad1("{\"path\": [\"a\"]}",
         "node 'n': option 'path' expects a string, got a list",
         "quote the value to make it a string");
    bad1("{\"path\": \"p\", \"smooth\": 3}",
         "node 'n': option 'smooth' expects one of exp|floor|add-k|none, "
         "got integer 3",
         NULL);
    bad1("{\"path\": \"p\", \"ks\": {\"a\": 1}}",
         "node 'n': option 'ks' expects a list, got a mapping",
         "for a list of mappings write [{...}] or '- key: value' lines");
    bad1("{\"path\": \"p\", \"extra\": [1]}",
         "node 'n': option 'extra' expects a mapping, got a list", NULL);
    bad1("{\"path\": \"p\", \"extra\": \"k=v\"}",
         "node 'n': option 'extra' expects a mapping, got string 'k=v'", NULL);
}

static void test_bounds(void **state)
{
    (void)state;
    bad1("{\"path\": \"p\", \"count\": 0}",
         "node 'n': option 'count' is 0; it must be between 1 and 10", NULL);
    bad1("{\"path\": \"p\", \"count\": 11}",
         "node 'n': option 'count' is 11; it must be between 1 and 10", NULL);
    bad1("{\"path\": \"p\", \"ratio\": 1.25}",
         "node 'n': option 'ratio' is 1.25; it must be between 0 and 1", NULL);
    bad1("{\"path\": \"p\", \"ratio\": -0.1}",
         "node 'n': option 'ratio' is -0.1; it must be between 0 and 1", NULL);
    bad1("{\"path\": \"p\", \"low\": -1}",
         "node 'n': option 'low' is -1; it must be at least 0", NULL);
    bad1("{\"path\": \"p\", \"high\": 100.5}",
         "node 'n': option 'high' is 100.5; it must be at most 100", NULL);
    /* the limits themselves are inside */
    json_t *o = resolve_ok(&P, "{\"path\": \"p\", \"count\": 1,"
                               " \"ratio\": 0, \"high\": 100}");
    json_decref(o);
    /* an integral real is range-checked as an integer */
    bad1("{\"path\": \"p\", \"count\": 20.0}",
         "node 'n': option 'count' is 20; it must be between 1 and 10", NULL);
}

static void test_enum(void **state)
{
    (void)state;
    bad1("{\"path\": \"p\", \"smooth\": \"flor\"}",
         "node 'n': option 'smooth': 'flor' is not one of "
         "exp|floor|add-k|none",
         "did you mean 'floor'?");
    bad1("{\"path\": \"p\", \"smooth\": \"add_k\"}",
         "node 'n': option 'smooth': 'add_k' is not one of "
         "exp|floor|add-k|none",
         "did you mean 'add-k'?");
    /* nothing close: no hint beyond the list in the message */
    bad1("{\"path\": \"p\", \"smooth\": \"laplace\"}",
         "node 'n': option 'smooth': 'laplace' is not one of "
         "exp|floor|add-k|none",
         NULL);
    /* a prefix of a choice is not accepted */
    bad1("{\"path\": \"p\", \"smooth\": \"ex\"}",
         "node 'n': option 'smooth': 'ex' is not one of "
         "exp|floor|add-k|none",
         "did you mean 'exp'?");
}

static void test_unknown_and_required(void **state)
{
    (void)state;
    bad1("{\"path\": \"p\", \"cuont\": 3}",
         "node 'n': unknown option 'cuont' for test.opts",
         "did you mean 'count'?");
    bad1("{\"path\": \"p\", \"ratios\": 3}",
         "node 'n': unknown option 'ratios' for test.opts",
         "did you mean 'ratio'?");
    bad1("{\"path\": \"p\", \"zzzzzzzz\": 3}",
         "node 'n': unknown option 'zzzzzzzz' for test.opts",
         "see `assay plugins info test.opts` for its options");
    resolve_bad(&NOOPTS, "{\"k\": 1}", 1,
                (const char *[]){"node 'n': unknown option 'k' for "
                                 "test.none"},
                (const char *[]){"test.none takes no options"});
    bad1("{}", "node 'n': missing required option 'path'",
         "add 'path: <string>' under 'with:'; file to read");
    bad1("{\"path\": null}",
         "node 'n': option 'path' expects a string, got null (no value)",
         "quote the value to make it a string");
    /* every problem is reported, in schema order after unknown keys */
    resolve_bad(
        &P,
        "{\"bogus\": 1, \"count\": 99, \"flag\": \"no\","
        " \"smooth\": \"x\"}",
        5,
        (const char *[]){"node 'n': unknown option 'bogus' for test.opts",
                         "node 'n': option 'count' is 99; it must be between 1 "
                         "and 10",
                         "node 'n': option 'flag' expects true or false, got "
                         "string 'no'",
                         "node 'n': option 'smooth': 'x' is not one of "
                         "exp|floor|add-k|none",
                         "node 'n': missing required option 'path'"},
        NULL);
    /* options that are not a mapping */
    json_t *g = json_loads("[1]", 0, NULL);
    diag d = {0};
    json_t *out = NULL;
    assert_int_equal(
        options_resolve(&P, g, NULL, "t.yaml", 2, 3, "node 'n'", &d, &out),
        ASSAY_EINVAL);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.items[0].msg,
                        "node 'n': 'with' must be a mapping of options");
    diag_free(&d);
    json_decref(g);
}

static void test_positions(void **state)
{
    (void)state;
    const char *yaml = "with:\n"
                       "  path: in.jsonl\n"
                       "  count: 0\n"
                       "  smooth: flor\n"
                       "  colour: red\n";
    ynode *root = NULL;
    diag d = {0};
    assert_int_equal(yaml_load_string(yaml, strlen(yaml), "e.yaml", &root, &d),
                     0);
    const ynode *with = ynode_get(root, "with", NULL);
    json_t *given = ynode_to_json(with);
    json_t *out = NULL;
    assert_int_equal(options_resolve(&P, given, with, "e.yaml", with->line,
                                     with->col, "node 'x'", &d, &out),
                     ASSAY_EINVAL);
    assert_int_equal(d.n, 3);
    /* unknown key: at the key */
    assert_string_equal(d.items[0].msg,
                        "node 'x': unknown option 'colour' for test.opts");
    assert_int_equal(d.items[0].line, 5);
    assert_int_equal(d.items[0].col, 3);
    /* bad values: at the value */
    assert_int_equal(d.items[1].line, 3);
    assert_int_equal(d.items[1].col, 10);
    assert_int_equal(d.items[2].line, 4);
    assert_int_equal(d.items[2].col, 11);
    assert_string_equal(d.items[2].file, "e.yaml");
    diag_free(&d);
    json_decref(given);
    ynode_free(root);
}

static void check_default(const assay_option *o, const char *want)
{
    char msg[600] = "";
    int rc = options_check_default(o, msg, sizeof msg);
    if (!want) {
        assert_int_equal(rc, 0);
        return;
    }
    assert_int_equal(rc, ASSAY_EINVAL);
    /* "PREFIX*": the tail is jansson's wording, which varies */
    size_t n = strlen(want);
    if (want[n - 1] == '*')
        assert_int_equal(strncmp(msg, want, n - 1), 0);
    else
        assert_string_equal(msg, want);
}

static void test_check_default(void **state)
{
    (void)state;
    for (const assay_option *o = OPTS; o->name; o++)
        check_default(o, NULL);
    check_default(
        &(assay_option){.name = "k", .type = ASSAY_OPT_INT, .def = "ten"},
        "option 'k': default 'ten' is not JSON: *");
    check_default(
        &(assay_option){.name = "k", .type = ASSAY_OPT_INT, .def = "\"ten\""},
        "default of option 'k' expects an integer, got string "
        "'ten'");
    check_default(&(assay_option){.name = "k",
                                  .type = ASSAY_OPT_INT,
                                  .def = "0",
                                  .has_min = true,
                                  .min = 1},
                  "default of option 'k' is 0; it must be at least 1");
    check_default(&(assay_option){.name = "k",
                                  .type = ASSAY_OPT_ENUM,
                                  .def = "\"c\"",
                                  .choices = "a|b"},
                  "default of option 'k': 'c' is not one of a|b");
    check_default(&(assay_option){.name = "k",
                                  .type = ASSAY_OPT_STRING,
                                  .def = "\"x\"",
                                  .required = true},
                  "option 'k' is required and has a default");
    check_default(
        &(assay_option){.name = "k", .type = ASSAY_OPT_LIST, .def = "3"}, NULL);
    check_default(
        &(assay_option){.name = "k", .type = ASSAY_OPT_BOOL, .def = "null"},
        NULL);
    assert_string_equal(options_type_name(ASSAY_OPT_INT), "int");
    assert_string_equal(options_type_name(ASSAY_OPT_FLOAT), "float");
    assert_string_equal(options_type_name(ASSAY_OPT_BOOL), "bool");
    assert_string_equal(options_type_name(ASSAY_OPT_STRING), "string");
    assert_string_equal(options_type_name(ASSAY_OPT_ENUM), "enum");
    assert_string_equal(options_type_name(ASSAY_OPT_LIST), "list");
    assert_string_equal(options_type_name(ASSAY_OPT_OBJECT), "object");
    assert_string_equal(options_type_name(ASSAY_OPT_ANY), "any");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_every_type_accepted),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_enum),
        cmocka_unit_test(test_unknown_and_required),
        cmocka_unit_test(test_positions),
        cmocka_unit_test(test_check_default),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
