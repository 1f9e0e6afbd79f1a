/*
 * test_fc_rules.c - the rule layer: every rule has a failing sample in
 * rule_cases.json that it catches, and the passing samples (OpenAI and
 * ShareGPT layouts, optional parameters, parallel calls, a dialog
 * without tools, a Chinese dialog) raise no rule at all.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fc_rules.h"

static json_t *cases(void)
{
    const char *src = getenv("ASSAY_SRC");
    char path[4096];
    snprintf(path, sizeof path,
             "%s/plugins/verify/function-calls/rule_cases.json",
             src ? src : ".");
    json_error_t je;
    json_t *doc = json_load_file(path, 0, &je);
    if (!doc)
        fail_msg("%s: %s", path, je.text);
    return doc;
}

static const fc_rule_opts opts = {
    .max_chars = 8000, .mixed_ratio = 0.2, .mixed_min = 5};

static void check(const json_t *sample, syn_fails *f)
{
    fc_dialog d;
    assay_error err;
    memset(f, 0, sizeof *f);
    assert_int_equal(fc_dialog_read(sample, &d, &err), 0);
    fc_rules_check(&d, &opts, f);
    assert_false(f->oom);
    fc_dialog_free(&d);
}

static void test_passing(void **st)
{
    (void)st;
    json_t *doc = cases();
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(doc, "passing"), i, s)
    {
        syn_fails f;
        check(s, &f);
        if (f.n)
            fail_msg("%s: %s: %s", json_string_value(json_object_get(s, "id")),
                     f.v[0].rule, f.v[0].msg);
        syn_fails_free(&f);
    }
    assert_true(i >= 6);
    json_decref(doc);
}

static void test_failing(void **st)
{
    (void)st;
    json_t *doc = cases();
    size_t i;
    json_t *c;
    bool covered[64] = {false};
    json_array_foreach(json_object_get(doc, "cases"), i, c)
    {
        const char *rule = json_string_value(json_object_get(c, "rule"));
        syn_fails f;
        check(json_object_get(c, "fail"), &f);
        if (!syn_fails_has(&f, rule))
            fail_msg("case %zu (%s): rule %s not raised", i,
                     json_string_value(json_object_get(c, "note")), rule);
        for (size_t k = 0; k < f.n; k++)
            printf("# %-24s %s: %s\n", rule, f.v[k].rule, f.v[k].msg);
        for (int r = 0; fc_rule_names[r]; r++)
            if (!strcmp(fc_rule_names[r], rule))
                covered[r] = true;
        syn_fails_free(&f);
    }
    for (int r = 0; fc_rule_names[r]; r++)
        if (!covered[r])
            fail_msg("rule %s has no failing case", fc_rule_names[r]);
    json_decref(doc);
}

/* A few behaviours not covered by the case file. */
static void test_details(void **st)
{
    (void)st;
    json_t *s = json_loads(
        "{\"tools\": [], \"messages\": [{\"role\": \"assistant\", "
        "\"content\": \"hi\"}, {\"role\": \"user\", \"content\": \"x\"}, "
        "{\"role\": \"tool\", \"content\": \"{}\"}, {\"role\": \"bot\", "
        "\"content\": \"?\"}]}",
        0, NULL);
    syn_fails f;
    check(s, &f);
    assert_true(syn_fails_has(&f, "role_order"));
    assert_true(syn_fails_has(&f, "dialog_required_fields")); /* bot */
    size_t orders = 0;
    for (size_t k = 0; k < f.n; k++)
        orders += !strcmp(f.v[k].rule, "role_order");
    assert_int_equal(orders, 3); /* starts with assistant, orphan tool,
                                    does not end with the assistant */
    syn_fails_free(&f);
    json_decref(s);
    /* tool_call_id matching in any order */
    s = json_loads(
        "{\"tools\": [{\"name\": \"a\", \"description\": \"A\", "
        "\"parameters\": {\"type\": \"object\", \"properties\": {}}}], "
        "\"messages\": [{\"role\": \"user\", \"content\": \"go\"}, "
        "{\"role\": \"assistant\", \"tool_calls\": [{\"id\": \"x\", "
        "\"function\": {\"name\": \"a\", \"arguments\": \"{}\"}}, {\"id\": "
        "\"y\", \"function\": {\"name\": \"a\", \"arguments\": {}}}]}, "
        "{\"role\": \"tool\", \"tool_call_id\": \"y\", \"content\": \"1\"}, "
        "{\"role\": \"tool\", \"tool_call_id\": \"x\", \"content\": \"2\"}, "
        "{\"role\": \"assistant\", \"content\": \"done\"}]}",
        0, NULL);
    check(s, &f);
    if (f.n)
        fail_msg("%s: %s", f.v[0].rule, f.v[0].msg);
    json_decref(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_passing),
        cmocka_unit_test(test_failing),
        cmocka_unit_test(test_details),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
