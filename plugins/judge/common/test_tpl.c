/*
 * test_tpl.c - prompt templates: placeholders, sections, standalone
 * lines, prompt files with several messages, errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "jc_tpl.h"

static char *render(const char *tpl, const char *ctx_json, int *rc,
                    assay_error *err)
{
    jc_tpl *t = NULL;
    char *out = NULL;
    json_t *ctx = json_loads(ctx_json, 0, NULL);
    assert_non_null(ctx);
    *rc = jc_tpl_compile(tpl, strlen(tpl), &t, err);
    if (*rc == 0)
        *rc = jc_tpl_render(t, ctx, 4, &out, err);
    jc_tpl_free(t);
    json_decref(ctx);
    return out;
}

static void expect(const char *tpl, const char *ctx, const char *want)
{
    assay_error err = {0};
    int rc;
    char *out = render(tpl, ctx, &rc, &err);
    if (rc)
        fail_msg("template failed: %s", err.text);
    if (strcmp(out, want) != 0)
        fail_msg("got [%s]\nwant [%s]", out, want);
    free(out);
}

static void test_vars(void **state)
{
    (void)state;
    expect("Q: {{input}} / {{ n }} / {{meta.lang}}",
           "{\"input\": \"hi\", \"n\": 3, \"meta\": {\"lang\": \"en\"}}",
           "Q: hi / 3 / en");
    expect("{{flag}} {{list}}", "{\"flag\": true, \"list\": [1,2]}",
           "true [1,2]");
    expect("no placeholders", "{}", "no placeholders");
    expect("{single} braces stay", "{}", "{single} braces stay");
}

static void test_sections(void **state)
{
    (void)state;
    const char *t = "Start\n"
                    "{{#reference}}\n"
                    "[Reference]\n{{reference}}\n"
                    "{{/reference}}\n"
                    "{{^reference}}\n"
                    "(no reference)\n"
                    "{{/reference}}\n"
                    "End";
    expect(t, "{\"reference\": \"R\"}", "Start\n[Reference]\nR\nEnd");
    expect(t, "{}", "Start\n(no reference)\nEnd");
    expect(t, "{\"reference\": \"\"}", "Start\n(no reference)\nEnd");
    expect(t, "{\"reference\": null}", "Start\n(no reference)\nEnd");
    /* inline sections keep the surrounding text */
    expect("a {{#ties}}or C {{/ties}}b", "{\"ties\": true}", "a or C b");
    expect("a {{#ties}}or C {{/ties}}b", "{\"ties\": false}", "a b");
    /* nested */
    expect("{{#x}}X{{#y}}Y{{/y}}{{/x}}.", "{\"x\": 1, \"y\": []}", "X.");
    expect("{{! a comment }}kept", "{}", "kept");
    expect("line1\n  {{! standalone }}  \nline2", "{}", "line1\nline2");
}

static void test_errors(void **state)
{
    (void)state;
    assay_error err = {0};
    int rc;
    char *out = render("Q: {{missing}}", "{}", &rc, &err);
    assert_null(out);
    assert_int_equal(rc, ASSAY_EDATA);
    assert_string_equal(err.text, "record 4: missing field 'missing'");
    out = render("Q: {{x}}", "{\"x\": null}", &rc, &err);
    assert_int_equal(rc, ASSAY_EDATA);
    assert_string_equal(err.text, "record 4: null field 'x'");
    out = render("Q: {{x", "{}", &rc, &err);
    assert_int_equal(rc, ASSAY_EINVAL);
    assert_non_null(strstr(err.text, "unclosed '{{' at byte 3"));
    out = render("{{#a}}x", "{}", &rc, &err);
    assert_int_equal(rc, ASSAY_EINVAL);
    assert_non_null(strstr(err.text, "never closed"));
    out = render("{{#a}}x{{/b}}", "{}", &rc, &err);
    assert_int_equal(rc, ASSAY_EINVAL);
    assert_non_null(strstr(err.text, "{{/b}}"));
    out = render("{{a b}}", "{}", &rc, &err);
    assert_int_equal(rc, ASSAY_EINVAL);
    assert_non_null(strstr(err.text, "bad placeholder"));
    out = render("{{/a}}", "{}", &rc, &err);
    assert_int_equal(rc, ASSAY_EINVAL);
}

static void test_prompt_file(void **state)
{
    (void)state;
    const char *text = "{{! a header comment\n over two lines }}\n"
                       "@@ system @@\nYou judge {{what}}.\n\n"
                       "@@ user @@\n\n[Q]\n{{input}}\n\n"
                       "@@ repair @@\nOnly the verdict, please.\n";
    jc_prompt p;
    assay_error err = {0};
    assert_int_equal(jc_prompt_parse(text, &p, &err), 0);
    assert_non_null(p.system);
    assert_non_null(p.repair);
    json_t *ctx = json_pack("{s:s, s:s}", "what", "answers", "input", "Hi");
    char *sys, *usr, *rep;
    assert_int_equal(jc_prompt_render(&p, ctx, 0, &sys, &usr, &err), 0);
    assert_string_equal(sys, "You judge answers.");
    assert_string_equal(usr, "[Q]\nHi");
    assert_int_equal(jc_tpl_render(p.repair, ctx, 0, &rep, &err), 0);
    assert_string_equal(rep, "Only the verdict, please.");
    assert_true(jc_prompt_uses(&p, "input"));
    assert_false(jc_prompt_uses(&p, "reference"));
    free(sys);
    free(usr);
    free(rep);
    jc_prompt_free(&p);

    /* no markers: one user message */
    assert_int_equal(jc_prompt_parse("Just {{input}}\n", &p, &err), 0);
    assert_null(p.system);
    assert_null(p.repair);
    assert_int_equal(jc_prompt_render(&p, ctx, 0, &sys, &usr, &err), 0);
    assert_null(sys);
    assert_string_equal(usr, "Just Hi");
    free(usr);
    jc_prompt_free(&p);

    /* errors */
    assert_int_equal(jc_prompt_parse("@@ system @@\nS\n", &p, &err),
                     ASSAY_EINVAL);
    assert_non_null(strstr(err.text, "no '@@ user @@'"));
    assert_int_equal(jc_prompt_parse("@@ user @@\na\n@@ user @@\nb", &p, &err),
                     ASSAY_EINVAL);
    assert_non_null(strstr(err.text, "twice"));
    assert_int_equal(jc_prompt_parse("@@ banana @@\na", &p, &err),
                     ASSAY_EINVAL);
    assert_non_null(strstr(err.text, "unknown message"));
    assert_int_equal(jc_prompt_parse("hello\n@@ user @@\na", &p, &err),
                     ASSAY_EINVAL);
    assert_int_equal(jc_prompt_parse("@@ user @@\n{{#x}}", &p, &err),
                     ASSAY_EINVAL);
    assert_non_null(strstr(err.text, "message 'user'"));
    json_decref(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vars),
        cmocka_unit_test(test_sections),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_prompt_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
