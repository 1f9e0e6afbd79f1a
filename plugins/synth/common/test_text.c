/*
 * test_text.c - string helpers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "syn_text.h"

static void test_trim(void **st)
{
    (void)st;
    char *s = syn_trim_dup("  \tHello World \n");
    assert_string_equal(s, "Hello World");
    free(s);
    s = syn_key_dup(" Positive ");
    assert_string_equal(s, "positive");
    free(s);
    s = syn_trim_dup("   ");
    assert_string_equal(s, "");
    free(s);
    assert_null(syn_trim_dup(NULL));
}

static void test_utf8(void **st)
{
    (void)st;
    assert_true(syn_utf8_valid("caf\xc3\xa9 \xe2\x82\xac", 9));
    assert_true(syn_utf8_valid("\xef\xbf\xbd", 3)); /* U+FFFD itself */
    assert_false(syn_utf8_valid("\xc3", 1));
    assert_false(syn_utf8_valid("\xc0\xaf", 2));     /* overlong */
    assert_false(syn_utf8_valid("\xed\xa0\x80", 3)); /* surrogate */
    size_t i = 0;
    assert_int_equal(syn_utf8_next("\xe2\x82\xac", 3, &i), 0x20AC);
    assert_int_equal(i, 3);
    i = 0;
    assert_int_equal(syn_utf8_next("\xff", 1, &i), 0xFFFD);
    assert_int_equal(i, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trim),
        cmocka_unit_test(test_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
