/*
 * test_fc_ast.c - BFCL-style AST matching.  On the shared BFCL data
 * (../shared/data/bfcl; skipped with a message when absent): answers
 * built from the ground truth are all accepted, in every answer
 * encoding and call order; mutated answers (wrong name, a required
 * parameter dropped, an unknown parameter, a wrong value, a wrong type,
 * a call dropped) are all rejected.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fc_ast.h"

static const fc_ast_opts opts = {.underscore_names = true};

static void test_basics(void **st)
{
    (void)st;
    char *s = fc_ast_standardize("New York, NY's  A-B_c.d/e*f^g");
    assert_string_equal(s, "newyorkny\"sabcdefg");
    free(s);
    char cat[64];
    fc_ast_category("parallel_multiple_12", cat, sizeof cat);
    assert_string_equal(cat, "parallel_multiple");
    fc_ast_category("live_simple_27-7-0", cat, sizeof cat);
    assert_string_equal(cat, "live_simple");
    fc_ast_category("simple_java_3", cat, sizeof cat);
    assert_string_equal(cat, "simple_java");
    fc_ast_category("irrelevance", cat, sizeof cat);
    assert_string_equal(cat, "irrelevance");
}

static json_t *decode(const char *answer_json)
{
    json_t *a = json_loads(answer_json, JSON_DECODE_ANY, NULL), *calls;
    char why[256];
    assert_non_null(a);
    int rc = fc_ast_decode(a, &calls, why, sizeof why);
    json_decref(a);
    return rc ? NULL : calls;
}

static void test_decode(void **st)
{
    (void)st;
    const char *forms[] = {
        "[{\"f.g\": {\"a\": 1}}]",
        "[{\"name\": \"f.g\", \"arguments\": \"{\\\"a\\\": 1}\"}]",
        "[{\"type\": \"function\", \"function\": {\"name\": \"f.g\", "
        "\"arguments\": {\"a\": 1}}}]",
        "\"[f.g(a=1)]\"",
        "\"```python\\nf.g(a=1)\\n```\"",
        "\"[{\\\"f.g\\\": {\\\"a\\\": 1}}]\"",
        "{\"name\": \"f.g\", \"arguments\": {\"a\": 1}}",
    };
    json_t *want = json_loads("[{\"name\": \"f.g\", \"arguments\": "
                              "{\"a\": 1}}]",
                              0, NULL);
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        json_t *c = decode(forms[i]);
        if (!c || !json_equal(c, want))
            fail_msg("form %zu not decoded", i);
        json_decref(c);
    }
    json_decref(want);
    json_t *c = decode("\"I cannot answer that.\"");
    assert_null(c);
    c = decode("\"\"");
    assert_int_equal(json_array_size(c), 0);
    json_decref(c);
    c = decode("[]");
    assert_int_equal(json_array_size(c), 0);
    json_decref(c);
    assert_null(decode("[{\"f\": 3}]"));
}

/* ---- the shared data ---------------------------------------------------- */

static json_t *read_jsonl(const char *path)
{
    FILE *f = fopen(path, "r");
    json_t *a = json_array();
    char *line = NULL;
    size_t cap = 0;
    assert_non_null(f);
    while (getline(&line, &cap, f) > 0) {
        json_t *v = json_loads(line, 0, NULL);
        assert_non_null(v);
        json_array_append_new(a, v);
    }
    free(line);
    fclose(f);
    return a;
}

static bool shared(char *dir, size_t sz)
{
    const char *env = getenv("ASSAY_SHARED"), *src = getenv("ASSAY_SRC");
    if (env)
        snprintf(dir, sz, "%s/data/bfcl", env);
    else
        snprintf(dir, sz, "%s/../shared/data/bfcl", src ? src : ".");
    if (access(dir, R_OK) != 0) {
        printf("# skipped: %s not found (set ASSAY_SHARED)\n", dir);
        return false;
    }
    return true;
}

/* A plain value out of a candidate: dicts (also inside lists) hold
 * lists of acceptable values, of which the first non-"" is taken. */
static json_t *plain(const json_t *v)
{
    if (json_is_object(v)) {
        json_t *o = json_object();
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x)
        {
            json_t *pick = x;
            if (json_is_array(x)) {
                pick = NULL;
                size_t i;
                json_t *e;
                json_array_foreach(x, i, e) if (!pick &&
                                                !(json_is_string(e) &&
                                                  json_string_length(e) == 0))
                    pick = e;
            }
            if (pick)
                json_object_set_new(o, k, plain(pick));
        }
        return o;
    }
    if (json_is_array(v)) {
        json_t *a = json_array();
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) json_array_append_new(a, plain(e));
        return a;
    }
    return json_deep_copy(v);
}

/* Is `p` among the required parameters of `fname` in question q? */
static bool is_required(const json_t *q, const char *fname, const char *p)
{
    size_t i, k;
    json_t *f, *r;
    json_array_foreach(json_object_get(q, "function"), i, f)
    {
        if (strcmp(json_string_value(json_object_get(f, "name")), fname))
            continue;
        json_array_foreach(
            json_object_get(json_object_get(f, "parameters"), "required"), k,
            r) if (!strcmp(json_string_value(r), p)) return true;
    }
    return false;
}

/* Does the definition of `fname` declare parameter `p`? (A few BFCL
 * ground truths list a parameter of another function as optional.) */
static bool declared(const json_t *q, const char *fname, const char *p)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(q, "function"), i, f)
    {
        if (!strcmp(json_string_value(json_object_get(f, "name")), fname))
            return json_object_get(
                       json_object_get(json_object_get(f, "parameters"),
                                       "properties"),
                       p) != NULL;
    }
    return false;
}

/* A correct call for ground-truth entry {"fname": {param: [values]}}:
 * the first acceptable value of each parameter; a parameter that may be
 * left out (and that the definition does not require, which BFCL's
 * checker enforces) is left out every other time. */
static json_t *truth_call(const json_t *q, const json_t *gt, size_t salt)
{
    const char *fname, *p;
    json_t *params, *vals, *args = json_object();
    json_object_foreach((json_t *)gt, fname, params)
    {
        size_t k = 0;
        json_object_foreach(params, p, vals)
        {
            bool optional = false;
            json_t *first = NULL;
            size_t i;
            json_t *v;
            json_array_foreach(vals, i, v)
            {
                if (json_is_string(v) && json_string_length(v) == 0)
                    optional = true;
                else if (!first)
                    first = v;
            }
            if (json_array_size(vals) == 0) { /* an empty list */
                json_object_set_new(args, p, json_array());
                continue;
            }
            if (!first ||
                (optional && !is_required(q, fname, p) && (salt + k++) % 2) ||
                (optional && !declared(q, fname, p)))
                continue;
            json_t *val = plain(first);
            json_object_set_new(args, p, val);
        }
        return json_pack("{s:s, s:o}", "name", fname, "arguments", args);
    }
    return NULL;
}

/* Encode {name, arguments} calls in one of three answer forms. */
static json_t *encode(const json_t *calls, int form)
{
    size_t i;
    json_t *c;
    if (form == 0) {
        json_t *a = json_array();
        json_array_foreach(calls, i, c) json_array_append_new(
            a, json_pack("{s:O}", json_string_value(json_object_get(c, "name")),
                         json_object_get(c, "arguments")));
        return a;
    }
    if (form == 1) {
        json_t *a = json_array();
        json_array_foreach(calls, i, c)
        {
            char *t = json_dumps(json_object_get(c, "arguments"), 0);
            json_array_append_new(a, json_pack("{s:O, s:s}", "name",
                                               json_object_get(c, "name"),
                                               "arguments", t));
            free(t);
        }
        return a;
    }
    /* Python call text; JSON true/false/null are read as Python's */
    char buf[65536];
    size_t n = 0;
    n += (size_t)snprintf(buf + n, sizeof buf - n, "[");
    json_array_foreach(calls, i, c)
    {
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s(", i ? ", " : "",
                              json_string_value(json_object_get(c, "name")));
        const char *k;
        json_t *v;
        int first = 1;
        json_object_foreach(json_object_get(c, "arguments"), k, v)
        {
            char *t = json_dumps(v, JSON_ENCODE_ANY);
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s=%s",
                                  first ? "" : ", ", k, t);
            free(t);
            first = 0;
        }
        n += (size_t)snprintf(buf + n, sizeof buf - n, ")");
    }
    snprintf(buf + n, sizeof buf - n, "]");
    return json_string(buf);
}

static bool judge(const json_t *q, const json_t *gt, const char *cat,
                  const json_t *answer, char *error)
{
    char detail[320];
    bool ok;
    assert_int_equal(fc_ast_judge(q, gt, cat, answer, &opts, &ok, NULL, error,
                                  64, detail, sizeof detail),
                     0);
    return ok;
}

/* Required parameter of `fname` present in `args`, or NULL. */
static const char *a_required(const json_t *q, const char *fname,
                              const json_t *args)
{
    size_t i;
    json_t *f, *r;
    json_array_foreach(json_object_get(q, "function"), i, f)
    {
        if (strcmp(json_string_value(json_object_get(f, "name")), fname))
            continue;
        size_t k;
        json_array_foreach(
            json_object_get(json_object_get(f, "parameters"), "required"), k,
            r) if (json_object_get(args,
                                   json_string_value(
                                       r))) return json_string_value(r);
    }
    return NULL;
}

/* Does some ground-truth entry of `fname` list `v` as acceptable for
 * parameter `p`? */
static bool gt_accepts(const json_t *gt, const char *fname, const char *p,
                       const json_t *v)
{
    size_t i, k;
    json_t *g, *e;
    json_array_foreach(gt, i, g)
    {
        json_t *acc = json_object_get(json_object_get(g, fname), p);
        json_array_foreach(acc, k,
                           e) if (json_equal(e, (json_t *)v)) return true;
    }
    return false;
}

/* Mutate a correct call list; false when this mutation does not apply. */
static bool mutate(const json_t *q, const json_t *gt, json_t *calls, int kind,
                   bool literal)
{
    json_t *c = json_array_get(calls, 0);
    json_t *args = json_object_get(c, "arguments");
    const char *name = json_string_value(json_object_get(c, "name"));
    const char *k;
    json_t *v;
    switch (kind) {
    case 0: { /* wrong function name */
        char nm[512];
        snprintf(nm, sizeof nm, "%s_v2", name);
        json_object_set_new(c, "name", json_string(nm));
        return true;
    }
    case 1: { /* a required parameter dropped */
        const char *r = a_required(q, name, args);
        if (!r)
            return false;
        json_object_del(args, r);
        return true;
    }
    case 2: /* an unknown parameter */
        json_object_set_new(args, "zz_not_a_param", json_integer(1));
        return true;
    case 3: /* a wrong value of the right type */
        json_object_foreach(args, k, v)
        {
            if (json_is_string(v)) {
                json_object_set_new(args, k,
                                    json_string("qqq no such value qqq"));
                return true;
            }
            if (json_is_integer(v)) {
                json_object_set_new(
                    args, k, json_integer(json_integer_value(v) + 1000003));
                return true;
            }
            if (json_is_real(v)) {
                json_object_set_new(args, k,
                                    json_real(json_real_value(v) + 1000.25));
                return true;
            }
            if (json_is_boolean(v)) {
                json_t *flip = json_boolean(!json_is_true(v));
                if (gt_accepts(gt, name, k, flip)) {
                    json_decref(flip); /* both values are right */
                    continue;
                }
                json_object_set_new(args, k, flip);
                return true;
            }
        }
        return false;
    case 4: /* a wrong type (Java/JavaScript read strings as literals) */
        if (literal)
            return false;
        json_object_foreach(args, k, v)
        {
            if (json_is_number(v) || json_is_boolean(v)) {
                json_object_set_new(args, k, json_string("x"));
                return true;
            }
            if (json_is_string(v)) {
                json_object_set_new(args, k, json_integer(7));
                return true;
            }
        }
        return false;
    case 5: /* a call dropped */
        if (json_array_size(calls) < 2)
            return false;
        json_array_remove(calls, json_array_size(calls) - 1);
        return true;
    }
    return false;
}

static void test_shared_truth(void **st)
{
    (void)st;
    static const char *const cats[] = {
        "simple_python", "multiple",    "parallel",         "parallel_multiple",
        "live_simple",   "simple_java", "simple_javascript"};
    char dir[4096], qp[4300], ap[4300];
    if (!shared(dir, sizeof dir))
        return;
    size_t total = 0, mutated[6] = {0};
    for (size_t c = 0; c < sizeof cats / sizeof cats[0]; c++) {
        snprintf(qp, sizeof qp, "%s/BFCL_v4_%s.json", dir, cats[c]);
        snprintf(ap, sizeof ap, "%s/possible_answer/BFCL_v4_%s.json", dir,
                 cats[c]);
        json_t *qs = read_jsonl(qp), *as = read_jsonl(ap);
        assert_int_equal(json_array_size(qs), json_array_size(as));
        bool literal = strstr(cats[c], "java") != NULL;
        for (size_t i = 0; i < json_array_size(qs); i++) {
            json_t *q = json_array_get(qs, i);
            json_t *gt = json_object_get(json_array_get(as, i), "ground_truth");
            char cat[64], error[64];
            fc_ast_category(json_string_value(json_object_get(q, "id")), cat,
                            sizeof cat);
            json_t *calls = json_array();
            size_t k;
            json_t *g;
            json_array_foreach(gt, k, g)
                json_array_append_new(calls, truth_call(q, g, i + k));
            /* parallel answers in reverse order */
            if (json_array_size(calls) > 1) {
                json_t *rev = json_array();
                for (size_t j = json_array_size(calls); j-- > 0;)
                    json_array_append(rev, json_array_get(calls, j));
                json_decref(calls);
                calls = rev;
            }
            json_t *ans = encode(calls, (int)(i % 3));
            if (!judge(q, gt, cat, ans, error)) {
                char *t = json_dumps(ans, JSON_ENCODE_ANY);
                fail_msg("%s: correct answer rejected (%s): %.300s",
                         json_string_value(json_object_get(q, "id")), error, t);
            }
            json_decref(ans);
            total++;
            for (int kind = 0; kind < 6; kind++) {
                json_t *m = json_deep_copy(calls);
                if (mutate(q, gt, m, kind, literal)) {
                    ans = encode(m, (int)((i + (size_t)kind) % 3));
                    if (judge(q, gt, cat, ans, error)) {
                        char *t = json_dumps(ans, JSON_ENCODE_ANY);
                        fail_msg("%s: mutation %d accepted: %.300s",
                                 json_string_value(json_object_get(q, "id")),
                                 kind, t);
                    }
                    json_decref(ans);
                    mutated[kind]++;
                }
                json_decref(m);
            }
            json_decref(calls);
        }
        json_decref(qs);
        json_decref(as);
    }
    printf("# %zu correct answers accepted; rejected mutations: name %zu, "
           "required %zu, unknown %zu, value %zu, type %zu, count %zu\n",
           total, mutated[0], mutated[1], mutated[2], mutated[3], mutated[4],
           mutated[5]);
    assert_int_equal(total, 1408);
    for (int kind = 0; kind < 6; kind++)
        assert_true(mutated[kind] > 100);
}

static void test_shared_relevance(void **st)
{
    (void)st;
    char dir[4096], qp[4300];
    if (!shared(dir, sizeof dir))
        return;
    snprintf(qp, sizeof qp, "%s/BFCL_v4_irrelevance.json", dir);
    json_t *qs = read_jsonl(qp);
    char error[64];
    json_t *none = json_string("I cannot help with that.");
    json_t *empty = json_array();
    for (size_t i = 0; i < json_array_size(qs); i++) {
        json_t *q = json_array_get(qs, i);
        assert_true(judge(q, NULL, "irrelevance", none, error));
        assert_true(judge(q, NULL, "irrelevance", empty, error));
        const char *fn = json_string_value(json_object_get(
            json_array_get(json_object_get(q, "function"), 0), "name"));
        json_t *call = json_pack("[{s:{}}]", fn);
        assert_false(judge(q, NULL, "irrelevance", call, error));
        assert_string_equal(error, "called_irrelevant");
        json_decref(call);
    }
    json_decref(qs);
    snprintf(qp, sizeof qp, "%s/BFCL_v4_live_relevance.json", dir);
    qs = read_jsonl(qp);
    for (size_t i = 0; i < json_array_size(qs); i++) {
        json_t *q = json_array_get(qs, i);
        const char *fn = json_string_value(json_object_get(
            json_array_get(json_object_get(q, "function"), 0), "name"));
        json_t *call = json_pack("[{s:{}}]", fn);
        assert_true(judge(q, NULL, "live_relevance", call, error));
        assert_false(judge(q, NULL, "live_relevance", empty, error));
        json_decref(call);
    }
    json_decref(qs);
    json_decref(none);
    json_decref(empty);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basics),
        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_shared_truth),
        cmocka_unit_test(test_shared_relevance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
