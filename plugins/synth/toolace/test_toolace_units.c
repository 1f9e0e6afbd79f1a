/*
 * test_toolace_units.c - the pieces of synth.toolace that need no LLM:
 * subtree adaptation (each API gets a node and some of its descendants,
 * distinct sets, bounded size) and the assistant-consistency filter
 * (call order and argument order do not matter; anything else does).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ta_consensus.h"
#include "ta_tree.h"

static void test_tree(void **st)
{
    (void)st;
    ta_node root = {0};
    root.name = strdup("weather");
    root.desc = strdup("");
    char name[32];
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "f%d", i);
        ta_node *a = ta_node_add(&root, name, "d");
        assert_non_null(a);
        for (int j = 0; j < 3; j++) {
            snprintf(name, sizeof name, "f%d.%d", i, j);
            ta_node *b = ta_node_add(a, name, "d");
            assert_non_null(b);
            if (j == 0)
                assert_non_null(ta_node_add(b, "leaf", NULL));
        }
    }
    ta_node **flat;
    size_t n;
    assert_int_equal(ta_tree_flatten(&root, &flat, &n), 0);
    assert_int_equal(n, 4 * (1 + 3 + 1));
    assert_string_equal(flat[0]->name, "f0");
    assert_string_equal(flat[1]->name, "f0.0");
    assert_string_equal(flat[2]->name, "leaf");
    char *path = ta_node_path(flat[2]);
    assert_string_equal(path, "f0 > f0.0 > leaf");
    free(path);
    enum { COUNT = 12, MAX = 3 };
    size_t sets[COUNT * MAX], sizes[COUNT];
    assert_int_equal(ta_sample_subtrees(flat, n, COUNT, MAX, 99, sets, sizes),
                     0);
    size_t multi = 0;
    for (size_t i = 0; i < COUNT; i++) {
        assert_true(sizes[i] >= 1 && sizes[i] <= MAX);
        multi += sizes[i] > 1;
        const ta_node *top = flat[sets[i * MAX]];
        for (size_t j = 1; j < sizes[i]; j++) {
            /* every other node lies below the first, in preorder */
            const ta_node *x = flat[sets[i * MAX + j]];
            bool below = false;
            for (const ta_node *p = x->parent; p; p = p->parent)
                below = below || p == top;
            assert_true(below);
            assert_true(sets[i * MAX + j] > sets[i * MAX + j - 1]);
        }
        for (size_t p = 0; p < i; p++)
            assert_false(sizes[p] == sizes[i] &&
                         !memcmp(sets + p * MAX, sets + i * MAX,
                                 sizes[i] * sizeof *sets));
    }
    assert_true(multi > 0); /* some APIs cover several functionalities */
    /* the same seed, the same plan */
    size_t sets2[COUNT * MAX], sizes2[COUNT];
    ta_sample_subtrees(flat, n, COUNT, MAX, 99, sets2, sizes2);
    assert_memory_equal(sizes, sizes2, sizeof sizes);
    free(flat);
    ta_node_clear(&root);
}

static char *key_of(const char *json)
{
    json_t *d = json_loads(json, 0, NULL), *n = NULL;
    char why[200];
    assert_non_null(d);
    int rc = ta_decision_norm(d, &n, why, sizeof why);
    json_decref(d);
    if (rc)
        return NULL;
    char *k = ta_decision_key(n);
    json_decref(n);
    return k;
}

static void test_consensus(void **st)
{
    (void)st;
    char *k[5];
    k[0] = key_of("{\"action\": \"call\", \"thought\": \"a\", \"calls\": "
                  "[{\"name\": \"f\", \"arguments\": {\"x\": 1, \"y\": "
                  "\"b\"}}, {\"name\": \"g\", \"arguments\": {}}]}");
    /* the same calls in another order, arguments as text, other words */
    k[1] = key_of("{\"action\": \"tool_call\", \"thought\": \"b\", "
                  "\"calls\": [{\"name\": \"g\"}, {\"function\": {\"name\": "
                  "\"f\", \"arguments\": \"{\\\"y\\\": \\\"b\\\", "
                  "\\\"x\\\": 1}\"}}]}");
    /* a different argument value */
    k[2] = key_of("{\"action\": \"call\", \"calls\": [{\"name\": \"f\", "
                  "\"arguments\": {\"x\": 2, \"y\": \"b\"}}, {\"name\": "
                  "\"g\", \"arguments\": {}}]}");
    /* respond: only the action counts */
    k[3] = key_of("{\"action\": \"answer\", \"content\": \"It is 20 C.\"}");
    k[4] = key_of("{\"action\": \"respond\", \"content\": \"20 degrees.\"}");
    for (int i = 0; i < 5; i++)
        assert_non_null(k[i]);
    assert_string_equal(k[0], k[1]);
    assert_string_not_equal(k[0], k[2]);
    assert_string_equal(k[3], k[4]);
    size_t count;
    char *three[3] = {k[0], k[1], k[2]};
    assert_int_equal(ta_majority(three, 3, &count), 0);
    assert_int_equal(count, 2);
    char *none[2] = {NULL, NULL};
    assert_int_equal(ta_majority(none, 2, &count), SIZE_MAX);
    assert_int_equal(count, 0);
    char *tie[3] = {k[2], NULL, k[0]};
    assert_int_equal(ta_majority(tie, 3, &count), 0); /* earliest wins */
    for (int i = 0; i < 5; i++)
        free(k[i]);
    /* unusable decisions */
    assert_null(key_of("{\"action\": \"dance\"}"));
    assert_null(key_of("{\"action\": \"call\", \"calls\": []}"));
    assert_null(key_of("{\"action\": \"call\", \"calls\": [{\"name\": "
                       "\"f\", \"arguments\": [1]}]}"));
    assert_null(key_of("{\"action\": \"respond\", \"content\": \" \"}"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tree),
        cmocka_unit_test(test_consensus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
