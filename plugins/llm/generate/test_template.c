/*
 * Unit tests of the llm.generate prompt templates.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "template.h"

static char *fill(const char *tpl, const char *rec_json, int *rc,
                  assay_error *err)
{
    gen_tpl *t = NULL;
    char *out = NULL;
    json_t *rec = json_loads(rec_json, 0, NULL);
    *rc = gen_tpl_compile(tpl, &t, err);
    if (*rc == 0)
        *rc = gen_tpl_render(t, rec, 7, &out, err);
    gen_tpl_free(t);
    json_decref(rec);
    return out;
}

static void test_fill(void **state)
{
    (void)state;
    int rc;
    assay_error err;
    char *s = fill("Q: {{question}}\nA{{ n }}: {{meta.lang}} {{tags}}!",
                   "{\"question\": \"why?\", \"n\": 3, \"meta\": {\"lang\": "
                   "\"en\"}, \"tags\": [1, \"x\"]}",
                   &rc, &err);
    assert_int_equal(rc, 0);
    assert_string_equal(s, "Q: why?\nA3: en [1,\"x\"]!");
    free(s);
    s = fill("no placeholders", "{}", &rc, &err);
    assert_string_equal(s, "no placeholders");
    free(s);
    s = fill("{{a}}{{b}}", "{\"a\": \"x\", \"b\": null}", &rc, &err);
    assert_string_equal(s, "xnull");
    free(s);
    /* a key that itself contains a dot wins over the path */
    s = fill("{{a.b}}", "{\"a.b\": \"flat\", \"a\": {\"b\": \"deep\"}}", &rc,
             &err);
    assert_string_equal(s, "flat");
    free(s);
}

static void test_errors(void **state)
{
    (void)state;
    int rc;
    assay_error err;
    char *s = fill("Q: {{question}}", "{\"q\": 1}", &rc, &err);
    assert_null(s);
    assert_int_equal(rc, ASSAY_EDATA);
    assert_string_equal(err.text,
                        "record 7: missing field 'question' (used in a "
                        "prompt template)");
    s = fill("Q: {{question", "{}", &rc, &err);
    assert_int_equal(rc, ASSAY_EINVAL);
    assert_non_null(strstr(err.text, "unclosed '{{' at byte 3"));
    s = fill("Q: {{ }}", "{}", &rc, &err);
    assert_int_equal(rc, ASSAY_EINVAL);
    s = fill("{{x}}", "[1]", &rc, &err);
    assert_int_equal(rc, ASSAY_EDATA);
    assert_non_null(strstr(err.text, "record 7: expected an object"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fill),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
