/*
 * YAML documents: positions of keys and values, typing of plain versus
 * quoted scalars, anchors and aliases (and the alias-bomb cap), duplicate
 * keys, syntax errors, ${VAR} expansion and --set overrides.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ydoc.h"

static ynode *load_ok(const char *text)
{
    ynode *r = NULL;
    diag d = {0};
    int rc = yaml_load_string(text, strlen(text), "t.yaml", &r, &d);
    if (rc) {
        diag_print(&d, stderr);
        fail_msg("unexpected YAML error");
    }
    assert_int_equal(d.n, 0);
    diag_free(&d);
    assert_non_null(r);
    return r;
}

/* Load text that must fail with one diagnostic at line:col containing
 * `frag`. */
static void load_bad(const char *text, int line, int col, const char *frag)
{
    ynode *r = NULL;
    diag d = {0};
    int rc = yaml_load_string(text, strlen(text), "t.yaml", &r, &d);
    assert_int_not_equal(rc, 0);
    assert_null(r);
    assert_int_equal(d.n, 1);
    if (!strstr(d.items[0].msg, frag))
        fail_msg("message '%s' lacks '%s'", d.items[0].msg, frag);
    assert_string_equal(d.items[0].file, "t.yaml");
    assert_int_equal(d.items[0].line, line);
    assert_int_equal(d.items[0].col, col);
    diag_free(&d);
}

static ynode *path(const ynode *n, const char *a, const char *b)
{
    const ynode *x = ynode_get(n, a, NULL);
    assert_non_null(x);
    if (b) {
        x = ynode_get(x, b, NULL);
        assert_non_null(x);
    }
    return (ynode *)x;
}

static void test_positions(void **state)
{
    (void)state;
    ynode *r = load_ok("# comment\n"
                       "top:\n"
                       "  a: 1\n"
                       "  \"quoted key\": 'x'\n"
                       "  list: [1, \"2\", three]\n"
                       "  seq:\n"
                       "    - 4.5\n"
                       "    - {k: v}\n");
    assert_int_equal(r->kind, Y_MAP);
    assert_int_equal(r->n, 1);
    assert_int_equal(r->key_line[0], 2);
    assert_int_equal(r->key_col[0], 1);
    const ynode *top = path(r, "top", NULL);
    assert_int_equal(top->kind, Y_MAP);
    assert_int_equal(top->line, 3);
    assert_int_equal(top->col, 3);
    size_t i;
    const ynode *a = ynode_get(top, "a", &i);
    assert_int_equal(i, 0);
    assert_int_equal(top->key_line[0], 3);
    assert_int_equal(top->key_col[0], 3);
    assert_int_equal(a->line, 3);
    assert_int_equal(a->col, 6);
    assert_string_equal(a->value, "1");
    assert_false(a->quoted);
    const ynode *q = ynode_get(top, "quoted key", &i);
    assert_non_null(q);
    assert_int_equal(i, 1);
    assert_int_equal(top->key_line[1], 4);
    assert_int_equal(top->key_col[1], 3);
    assert_int_equal(q->line, 4);
    assert_int_equal(q->col, 17);
    assert_true(q->quoted);
    const ynode *l = path(top, "list", NULL);
    assert_int_equal(l->kind, Y_SEQ);
    assert_int_equal(l->line, 5);
    assert_int_equal(l->col, 9);
    assert_int_equal(l->n, 3);
    assert_int_equal(l->items[1]->line, 5);
    assert_int_equal(l->items[1]->col, 13);
    assert_int_equal(l->items[2]->col, 18);
    const ynode *s = path(top, "seq", NULL);
    assert_int_equal(s->line, 7);
    assert_int_equal(s->col, 5);
    assert_int_equal(s->items[0]->line, 7);
    assert_int_equal(s->items[0]->col, 7);
    assert_int_equal(s->items[1]->kind, Y_MAP);
    assert_int_equal(s->items[1]->line, 8);
    assert_int_equal(s->items[1]->col, 7);
    assert_int_equal(s->items[1]->key_col[0], 8);
    assert_string_equal(ynode_kind_name(s), "sequence");
    assert_string_equal(ynode_kind_name(top), "mapping");
    assert_string_equal(ynode_kind_name(a), "scalar");
    assert_null(ynode_get(top, "missing", NULL));
    assert_null(ynode_get(a, "a", NULL)); /* not a mapping */
    ynode_free(r);
}

static void check_json(const char *yaml, const char *want)
{
    ynode *r = load_ok(yaml);
    json_t *j = ynode_to_json(r);
    assert_non_null(j);
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    if (strcmp(s, want) != 0)
        fail_msg("%s\n  became %s\n  expected %s", yaml, s, want);
    free(s);
    json_decref(j);
    ynode_free(r);
}

static void test_typing(void **state)
{
    (void)state;
    /* plain scalars are typed, quoted and block ones stay strings */
    check_json("a: 1", "{\"a\":1}");
    check_json("a: \"1\"", "{\"a\":\"1\"}");
    check_json("a: '1'", "{\"a\":\"1\"}");
    check_json("a: -42", "{\"a\":-42}");
    check_json("a: +7", "{\"a\":7}");
    check_json("a: 1.5", "{\"a\":1.5}");
    check_json("a: 1e3", "{\"a\":1000.0}");
    check_json("a: .5", "{\"a\":0.5}");
    check_json("a: \"1.5\"", "{\"a\":\"1.5\"}");
    check_json("a: true\nb: False\nc: TRUE", "{\"a\":true,\"b\":false,"
                                             "\"c\":true}");
    check_json("a: 'true'", "{\"a\":\"true\"}");
    check_json("a: yes\nb: no\nc: on", "{\"a\":\"yes\",\"b\":\"no\","
                                       "\"c\":\"on\"}");
    check_json("a: null\nb: ~\nc:\nd: Null", "{\"a\":null,\"b\":null,"
                                             "\"c\":null,\"d\":null}");
    check_json("a: 'null'\nb: ''", "{\"a\":\"null\",\"b\":\"\"}");
    check_json("a: 0x10\nb: 1_000\nc: 1.2.3\nd: '-'\ne: -x",
               "{\"a\":\"0x10\",\"b\":\"1_000\",\"c\":\"1.2.3\","
               "\"d\":\"-\",\"e\":\"-x\"}");
    check_json("a: .inf\nb: .nan", "{\"a\":\".inf\",\"b\":\".nan\"}");
    check_json("a: !!str 5", "{\"a\":\"5\"}");
    check_json("a: |\n  two\n  lines\n", "{\"a\":\"two\\nlines\\n\"}");
    check_json("a: >\n  folded\n  text\n", "{\"a\":\"folded text\\n\"}");
    check_json("[1, x, {k: [true]}]", "[1,\"x\",{\"k\":[true]}]");
    check_json("just text", "\"just text\"");
    check_json("a: 9223372036854775807", "{\"a\":9223372036854775807}");
}

static void test_anchors(void **state)
{
    (void)state;
    ynode *r = load_ok("base: &b {x: 1, y: [a, b]}\n"
                       "copy: *b\n"
                       "s: &s hello\n"
                       "t: *s\n"
                       "list: [*s, *b]\n");
    json_t *j = ynode_to_json(r);
    char *s = json_dumps(j, JSON_COMPACT);
    assert_string_equal(s, "{\"base\":{\"x\":1,\"y\":[\"a\",\"b\"]},"
                           "\"copy\":{\"x\":1,\"y\":[\"a\",\"b\"]},"
                           "\"s\":\"hello\",\"t\":\"hello\","
                           "\"list\":[\"hello\",{\"x\":1,\"y\":[\"a\","
                           "\"b\"]}]}");
    free(s);
    json_decref(j);
    /* an alias is a copy: changing it leaves the anchor alone */
    ynode *copy = path(r, "copy", NULL);
    assert_ptr_not_equal(copy, path(r, "base", NULL));
    ynode *nv = ynode_clone(path(r, "s", NULL));
    assert_int_equal(ynode_set(copy, "x", nv), 0);
    assert_string_equal(path(r, "copy", "x")->value, "hello");
    assert_string_equal(path(r, "base", "x")->value, "1");
    ynode_free(r);
    /* a redefined anchor: aliases see the latest definition */
    r = load_ok("a: &v 1\nb: &v 2\nc: *v\n");
    assert_string_equal(path(r, "c", NULL)->value, "2");
    ynode_free(r);
}

static void test_bad_documents(void **state)
{
    (void)state;
    load_bad("a: *nope\n", 1, 4, "unknown alias '*nope'");
    load_bad("a: 1\nb: 2\na: 3\n", 3, 1, "duplicate key 'a'");
    load_bad("n:\n  x: 1\n  y: {p: 1, p: 2}\n", 3, 13, "duplicate key 'p'");
    load_bad("", 1, 1, "the file is empty");
    load_bad("# only a comment\n", 1, 1, "the file is empty");
    load_bad("a: 1\n---\nb: 2\n", 2, 1, "only one YAML document");
    load_bad("a:\n\tb: 1\n", 2, 1, "invalid YAML");
    /* an unclosed quote is reported where the string starts */
    load_bad("a: \"open\nb: 1\n", 1, 4, "invalid YAML");
    load_bad("a: [1, 2\nb: 3\n", 2, 2, "invalid YAML");
    load_bad("a: 1\n b: 2\n", 2, 3, "invalid YAML");
    load_bad("? [1, 2]\n: x\n", 1, 3, "mapping keys must be plain scalars");
    /* the anchors of a failed document are released */
    load_bad("a: &x [1]\nb: &y {k: *x}\nb: 1\n", 3, 1, "duplicate key");
}

static void test_alias_bomb(void **state)
{
    (void)state;
    /* ten-fold growth per level: 10^7 leaves once fully expanded */
    const char *bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                       "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                       "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                       "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                       "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                       "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                       "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
                       "h: [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n";
    ynode *r = NULL;
    diag d = {0};
    assert_int_not_equal(yaml_load_string(bomb, strlen(bomb), "t.yaml", &r, &d),
                         0);
    assert_null(r);
    assert_int_equal(d.n, 1);
    assert_non_null(strstr(d.items[0].msg, "too large"));
    diag_free(&d);
    /* deep nesting is refused too, not a stack overflow */
    char deep[4000];
    size_t k = 0;
    for (int i = 0; i < 1000; i++)
        deep[k++] = '[';
    for (int i = 0; i < 1000; i++)
        deep[k++] = ']';
    deep[k] = '\0';
    assert_int_not_equal(yaml_load_string(deep, k, "t.yaml", &r, &d), 0);
    assert_int_equal(d.n, 1);
    assert_non_null(strstr(d.items[0].msg, "too deep"));
    diag_free(&d);
}

static void test_clone(void **state)
{
    (void)state;
    ynode *r = load_ok("a: {b: [1, 'two', {c: 3}]}\n");
    ynode *c = ynode_clone(r);
    assert_non_null(c);
    json_t *j1 = ynode_to_json(r), *j2 = ynode_to_json(c);
    assert_true(json_equal(j1, j2));
    json_decref(j1);
    json_decref(j2);
    assert_int_equal(path(c, "a", NULL)->line, 1);
    assert_int_equal(path(c, "a", NULL)->col, 4);
    assert_true(path(c, "a", "b")->items[1]->quoted);
    ynode_free(r);
    ynode_free(c);
}

/* ---- ${VAR} expansion ------------------------------------------------- */

static json_t *expanded(const char *yaml, diag *d, int *rc)
{
    ynode *r = load_ok(yaml);
    *rc = yaml_expand_env(r, "t.yaml", d);
    json_t *j = *rc ? NULL : ynode_to_json(r);
    ynode_free(r);
    return j;
}

static void test_env(void **state)
{
    (void)state;
    setenv("ASSAY_T_NAME", "world", 1);
    setenv("ASSAY_T_NUM", "12", 1);
    setenv("ASSAY_T_EMPTY", "", 1);
    unsetenv("ASSAY_T_UNSET");
    diag d = {0};
    int rc;
    json_t *j = expanded("a: hello ${ASSAY_T_NAME}\n"
                         "b: ${ASSAY_T_NUM}\n"
                         "c: \"${ASSAY_T_NUM}\"\n"
                         "d: ${ASSAY_T_UNSET:-fallback}\n"
                         "e: ${ASSAY_T_UNSET:-3}\n"
                         "f: ${ASSAY_T_EMPTY:-dflt}\n"
                         "g: x${ASSAY_T_EMPTY}y\n"
                         "h: $${ASSAY_T_NAME} costs $5\n"
                         "i:\n  - ${ASSAY_T_NAME}\n  - k: ${ASSAY_T_NUM}\n"
                         "j: ${ASSAY_T_UNSET:-}\n",
                         &d, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(d.n, 0);
    char *s = json_dumps(j, JSON_COMPACT);
    assert_string_equal(s, "{\"a\":\"hello world\",\"b\":12,\"c\":\"12\","
                           "\"d\":\"fallback\",\"e\":3,\"f\":\"dflt\","
                           "\"g\":\"xy\",\"h\":\"${ASSAY_T_NAME} costs $5\","
                           "\"i\":[\"world\",{\"k\":12}],\"j\":null}");
    free(s);
    json_decref(j);

    /* every unset variable is reported at its scalar's position */
    j = expanded("a: 1\n"
                 "b:\n"
                 "  c: \"pre-${ASSAY_T_UNSET}\"\n"
                 "  d:\n    - ok\n    - ${ASSAY_T_UNSET2}\n",
                 &d, &rc);
    assert_null(j);
    assert_int_not_equal(rc, 0);
    assert_int_equal(d.n, 2);
    assert_string_equal(d.items[0].msg,
                        "environment variable 'ASSAY_T_UNSET' is not set");
    assert_int_equal(d.items[0].line, 3);
    assert_int_equal(d.items[0].col, 6);
    assert_non_null(d.items[0].hint);
    assert_non_null(strstr(d.items[0].hint, "${ASSAY_T_UNSET:-value}"));
    assert_int_equal(d.items[1].line, 6);
    assert_int_equal(d.items[1].col, 7);
    diag_free(&d);

    j = expanded("a: ${ASSAY_T_NAME\n", &d, &rc);
    assert_null(j);
    assert_int_equal(d.n, 1);
    assert_non_null(strstr(d.items[0].msg, "unterminated"));
    diag_free(&d);
    j = expanded("a: ${BAD NAME}\n", &d, &rc);
    assert_null(j);
    assert_int_equal(d.n, 1);
    assert_non_null(strstr(d.items[0].msg, "bad variable name"));
    diag_free(&d);
    j = expanded("a: ${}\n", &d, &rc);
    assert_null(j);
    assert_int_equal(d.n, 1);
    diag_free(&d);
}

/* ---- --set -------------------------------------------------------------- */

static void set_ok(ynode *r, const char *a)
{
    diag d = {0};
    int rc = yaml_set_path(r, a, &d);
    if (rc) {
        diag_print(&d, stderr);
        fail_msg("--set %s failed", a);
    }
    diag_free(&d);
}

static void set_bad(ynode *r, const char *a, const char *frag)
{
    diag d = {0};
    assert_int_not_equal(yaml_set_path(r, a, &d), 0);
    assert_int_equal(d.n, 1);
    if (!strstr(d.items[0].msg, frag))
        fail_msg("--set %s: message '%s' lacks '%s'", a, d.items[0].msg, frag);
    assert_string_equal(d.items[0].file, "--set");
    diag_free(&d);
}

static void test_set(void **state)
{
    (void)state;
    ynode *r = load_ok("seed: 1\n"
                       "nodes:\n"
                       "  a: {plugin: x, with: {k: 1}}\n");
    set_ok(r, "seed=7");
    set_ok(r, "nodes.a.with.k=2.5");
    set_ok(r, "nodes.a.with.new=hello");
    set_ok(r, "nodes.a.with.list=[1, 'two']");
    set_ok(r, "nodes.b.plugin=y");     /* creates nodes.b */
    set_ok(r, "deep.er.path=true");    /* creates nested mappings */
    set_ok(r, "nodes.a.with.q='007'"); /* quoted: a string */
    set_ok(r, "nodes.a.with.empty=");  /* empty: an empty string */
    set_ok(r, "nodes.a.with.odd=[1");  /* not YAML: taken as text */
    set_ok(r, "nodes.a.with.eq=a=b");  /* the first '=' splits */
    json_t *j = ynode_to_json(r);
    char *s = json_dumps(j, JSON_COMPACT);
    assert_string_equal(
        s, "{\"seed\":7,\"nodes\":{\"a\":{\"plugin\":\"x\",\"with\":{\"k\":"
           "2.5,\"new\":\"hello\",\"list\":[1,\"two\"],\"q\":\"007\","
           "\"empty\":\"\",\"odd\":\"[1\",\"eq\":\"a=b\"}},\"b\":{\"plugin\":"
           "\"y\"}},\"deep\":{\"er\":{\"path\":true}}}");
    free(s);
    json_decref(j);
    /* replaced values keep the key's position */
    size_t i;
    assert_non_null(ynode_get(r, "seed", &i));
    assert_int_equal(r->key_line[i], 1);
    set_bad(r, "seed.x=1", "inside a scalar");
    set_bad(r, "nodes.a.with.list.x=1", "inside a sequence");
    set_bad(r, "no-equals-sign", "malformed override");
    set_bad(r, "=3", "malformed override");
    set_bad(r, "..=3", "malformed override");
    ynode_free(r);
    /* the root itself must be a mapping */
    r = load_ok("[1, 2]\n");
    set_bad(r, "a=1", "not a mapping");
    ynode_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_positions),  cmocka_unit_test(test_typing),
        cmocka_unit_test(test_anchors),    cmocka_unit_test(test_bad_documents),
        cmocka_unit_test(test_alias_bomb), cmocka_unit_test(test_clone),
        cmocka_unit_test(test_env),        cmocka_unit_test(test_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
