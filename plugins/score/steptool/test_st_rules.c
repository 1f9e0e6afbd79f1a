/*
 * test_st_rules.c - StepTool's rule annotator, rewards and returns, and
 * the trajectory formats; the rule rewards of the five annotated
 * trajectories in ../shared/data/steptool, checked by hand (skipped with
 * a message when the shared data is absent).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "st_rules.h"
#include "st_traj.h"

static void succ_is(const char *resp, int want, const char *why_part)
{
    const char *why;
    int got = st_succ_rule(resp, true, &why);
    if (got != want || !strstr(why, why_part))
        fail_msg("%s: got %d (%s), want %d (%s)", resp, got, why, want,
                 why_part);
}

static void test_succ(void **st)
{
    (void)st;
    succ_is("{\"error\": \"\", \"response\": [1, 2]}", 1, "ok");
    succ_is("{\"error\": \"\", \"response\": 7}", 1, "ok");
    succ_is("{\"error\": \"\", \"response\": true}", 1, "ok");
    succ_is("{\"error\": \"\", \"response\": {\"a\": 1}}", 1, "ok: dict");
    succ_is("{\"error\": \"Timeout\", \"response\": \"\"}", 0, "error");
    succ_is("{\"error\": \"\", \"response\": {\"status\": 400}}", 0, "400");
    succ_is("{\"error\": \"\", \"response\": {\"status\": \"400\"}}", 0, "400");
    succ_is("{\"error\": \"\", \"response\": \"Something went WRONG\"}", 0,
            "error");
    succ_is("{\"error\": \"\", \"response\": \"An Error occurred\"}", 0,
            "error");
    succ_is("{\"error\": \"\", \"response\": \"the list is empty\"}", 0,
            "error");
    succ_is("{\"error\": \"\", \"response\": \"Please give a key\"}", 0,
            "Please");
    succ_is("{\"error\": \"\", \"response\": \"Sunny, 21 C\"}", 1, "ok");
    succ_is("{\"error\": \"\", \"response\": \"\"}", 0, "empty");
    succ_is("{\"error\": \"\"}", 0, "empty");
    succ_is("", 0, "empty");
    const char *why;
    assert_int_equal(
        st_succ_rule("{\"error\": \"\", \"response\": \"\"}", false, &why), 1);
    /* cut-off messages (ToolBench keeps the first 1024 characters) */
    succ_is("{\"error\": \"\", \"response\": [{\"name\": \"Ennio\", \"id\": "
            "\"4M9M5...",
            1, "ok");
    succ_is("{\"error\": \"\", \"response\": {\"status\": 400, \"msg\": "
            "\"bad...",
            0, "400");
    succ_is("{\"error\": \"\", \"response\": \"{\\\"status\\\":"
            "\\\"success\\\",\\\"data\\\":[{\\\"q...",
            1, "ok: string");
    succ_is("{\"error\": \"\", \"response\": \"request error: qu...", 0,
            "error");
    succ_is("{\"error\": \"Rate limit exceeded...", 0, "error");
    succ_is("plain text answer", 1, "ok: string");
}

static void test_response_text(void **st)
{
    (void)st;
    char *t = st_response_text("{\"error\": \"\", \"response\": \"a\\nb\"}");
    assert_string_equal(t, "a\nb");
    free(t);
    t = st_response_text("{\"error\": \"\", \"response\": [1,2]}");
    assert_string_equal(t, "[1,2]");
    free(t);
    t = st_response_text("{\"error\": \"\", \"response\": \"caf\\u00e9 "
                         "\\ud83d\\ude00 cut...");
    assert_string_equal(t, "caf\xc3\xa9 \xf0\x9f\x98\x80 cut...");
    free(t);
    t = st_response_text("{\"error\": \"\", \"response\": [{\"x\": 1...");
    assert_string_equal(t, "[{\"x\": 1...");
    free(t);
    t = st_response_text("not json");
    assert_string_equal(t, "not json");
    free(t);
}

static void test_lcs(void **st)
{
    (void)st;
    size_t la;
    assert_int_equal(st_lcs("ABCBDAB", "BDCABA", false, 1000, &la), 4);
    assert_int_equal(la, 7);
    assert_int_equal(st_lcs("", "abc", false, 1000, &la), 0);
    assert_int_equal(la, 0);
    /* characters are code points, not bytes */
    assert_int_equal(
        st_lcs("caf\xc3\xa9", "\xc3\xa9t\xc3\xa9", false, 1000, &la), 1);
    assert_int_equal(la, 4);
    /* words: "the ... mat" (or "the ... the") */
    assert_int_equal(
        st_lcs("The cat sat on the mat", "the mat, the cat", true, 1000, &la),
        2);
    assert_int_equal(la, 6);
    assert_int_equal(st_lcs("abcdef", "abcdef", false, 3, &la), 3);
    double ratio;
    assert_int_equal(st_contribution_rule("abcd", "xxabyy", false, 0.5, &ratio),
                     1);
    assert_true(fabs(ratio - 0.5) < 1e-12);
    assert_int_equal(st_contribution_rule("abcd", "xxayy", false, 0.5, &ratio),
                     0);
    assert_int_equal(st_contribution_rule("", "x", false, 0.0, &ratio), 0);
}

static void test_rewards(void **st)
{
    (void)st;
    double succ[] = {1, 0, 1}, con[] = {1, 0, 0}, r[4], G[4];
    st_rewards(succ, con, 3, 0.5, 1.0, true, 0.5, r, G);
    assert_true(r[0] == 1.0 && r[1] == 0.0 && r[2] == 0.5 && r[3] == 0.5);
    /* G3 = .5; G2 = .5 + .25; G1 = 0 + .375; G0 = 1 + .1875 */
    assert_true(fabs(G[3] - 0.5) < 1e-15 && fabs(G[2] - 0.75) < 1e-15 &&
                fabs(G[1] - 0.375) < 1e-15 && fabs(G[0] - 1.1875) < 1e-15);
    st_rewards(succ, con, 3, 1.0, 2.0, false, 1.0, r, G);
    assert_true(r[0] == 3.0 && r[1] == 0.0 && r[2] == 2.0 && r[3] == 1.0);
    assert_true(G[0] == 6.0);
    st_rewards(NULL, NULL, 0, 0.5, 1.0, true, 0.9, r, G);
    assert_true(r[0] == 0.5 && G[0] == 0.5);
}

static void test_status(void **st)
{
    (void)st;
    assert_true(st_status_value("AnswerStatus.Solved") == 1.0);
    assert_true(st_status_value("unsure") == 0.5);
    assert_true(st_status_value("Unsolved") == 0.0);
    assert_true(st_status_value("maybe") < 0);
    assert_true(st_status_value(NULL) < 0);
    char *a;
    bool up;
    assert_int_equal(st_finish_args("{\"return_type\": \"give_answer\", "
                                    "\"final_answer\": \"42\"}",
                                    &a, &up),
                     0);
    assert_string_equal(a, "42");
    assert_false(up);
    free(a);
    assert_int_equal(st_finish_args("{\"return_type\": "
                                    "\"give_up_and_restart\"}",
                                    &a, &up),
                     0);
    assert_string_equal(a, "");
    assert_true(up);
    free(a);
    assert_int_equal(st_finish_args("{\"return_type\":\"give_answer\","
                                    "\"final_answer\":\"Roster:\\n1. A...",
                                    &a, &up),
                     0);
    assert_string_equal(a, "Roster:\n1. A...");
    free(a);
}

static void read_ok(const char *json, st_traj *t)
{
    json_error_t je;
    json_t *rec = json_loads(json, 0, &je);
    assay_error err;
    if (!rec)
        fail_msg("bad test JSON: %s", je.text);
    if (st_traj_read(rec, 4, t, &err))
        fail_msg("%s", err.text);
    json_decref(rec);
}

static void test_formats(void **st)
{
    (void)st;
    st_traj t;
    read_ok("{\"query\": \"q\", \"steps\": [{\"name\": \"a\", \"arguments\": "
            "{\"x\": 1}, \"response\": {\"error\": \"\", \"response\": 1}}],"
            " \"final_answer\": \"done\"}",
            &t);
    assert_string_equal(t.format, "steps");
    assert_int_equal(t.nsteps, 1);
    assert_string_equal(t.steps[0].arguments, "{\"x\":1}");
    assert_string_equal(t.steps[0].response, "{\"error\":\"\",\"response\":1}");
    assert_true(t.has_finish);
    assert_string_equal(t.final_answer, "done");
    st_traj_free(&t);
    /* one string holding every step; a final step that is not Finish */
    read_ok("{\"query\": \"q\", \"answer_steps\": \"Step 1: {'name': 'a', "
            "'arguments': '{}', 'response': 'r1'}\\nStep 2: {'name': 'b', "
            "'arguments': '{\\\"k\\\": 2}', 'response': 'r2'}\", "
            "\"final_step\": \"Final step: {'name': 'c', 'arguments': "
            "'{}', 'response': 'r3'}\", \"is_solved\": \"{'0': "
            "'AnswerStatus.Unsolved', '1': 'AnswerStatus.Solved'}\"}",
            &t);
    assert_string_equal(t.format, "annotated");
    assert_int_equal(t.nsteps, 3);
    assert_string_equal(t.steps[1].arguments, "{\"k\": 2}");
    assert_string_equal(t.steps[2].name, "c");
    assert_false(t.has_finish);
    assert_int_equal(json_object_size(t.is_solved), 2);
    st_traj_free(&t);
    read_ok("{\"query\": \"q\", \"answer\": {\"final_answer\": \"\", "
            "\"answer_details\": [{\"role\": \"system\", \"message\": \"\", "
            "\"next\": [{\"role\": \"user\", \"message\": \"\", \"next\": "
            "[{\"role\": \"tool\", \"message\": {\"name\": \"a\", "
            "\"arguments\": \"{}\", \"response\": \"x\"}, \"next\": "
            "[{\"role\": \"tool\", \"message\": {\"name\": \"Finish\", "
            "\"arguments\": \"{\\\"return_type\\\": \\\"give_answer\\\", "
            "\\\"final_answer\\\": \\\"ok\\\"}\", \"response\": \"\"}, "
            "\"next\": []}]}]}]}]}}",
            &t);
    assert_string_equal(t.format, "predicted");
    assert_int_equal(t.nsteps, 1);
    assert_string_equal(t.final_answer, "ok");
    st_traj_free(&t);
    json_t *rec = json_loads("{\"steps\": []}", 0, NULL);
    assay_error err;
    assert_int_equal(st_traj_read(rec, 7, &t, &err), ASSAY_EDATA);
    assert_non_null(strstr(err.text, "record 7: missing field 'query'"));
    json_decref(rec);
    rec = json_loads("{\"query\": \"q\", \"answer_steps\": [\"Step 1: "
                     "{'name': \"]}",
                     0, NULL);
    assert_non_null(rec);
    assert_int_equal(st_traj_read(rec, 2, &t, &err), ASSAY_EDATA);
    assert_non_null(strstr(err.text, "record 2: field 'answer_steps'"));
    json_decref(rec);
}

/* ../shared/data/steptool, or NULL (with a message) when absent. */
static const char *shared_dir(char *buf, size_t sz)
{
    const char *env = getenv("ASSAY_SHARED"), *src = getenv("ASSAY_SRC");
    if (env)
        snprintf(buf, sz, "%s/data/steptool", env);
    else
        snprintf(buf, sz, "%s/../shared/data/steptool", src ? src : ".");
    if (access(buf, R_OK) != 0) {
        printf("# skipped: %s not found (set ASSAY_SHARED)\n", buf);
        return NULL;
    }
    return buf;
}

/*
 * Rule rewards on the five annotated trajectories (alpha 1, normalised,
 * IsSolved from the file's three judge runs).  Checked by hand:
 *  56543 step 1: {"error": "", "response": ""}: empty -> SuccCalling 0,
 *        empty text -> Contribution 0 -> r = 0.
 *  56543 step 2: a string about the 'rojmusic' station, no "wrong",
 *        "error", "is empty", not "Please..." -> 1; LCS with the final
 *        answer 221 of 515 characters = 0.429 >= 0.3 -> 1 -> r = 1.
 *  56543 final: Unsure, Unsolved, Unsure -> (0.5 + 0 + 0.5) / 3.
 *  34459 step 1: {"ts": ..., "rates": {"usd": 11103.09}}: a dict without
 *        status 400 -> 1; the answer repeats the rate -> 1 -> r = 1.
 *  44426 final: Unsure, Solved, Solved -> 2.5 / 3.
 *  32980 steps 1-3: cut-off lists ([{"name": ...) -> 1.
 *  70195 step 1: a string holding JSON with "success", no error words.
 */
static void test_shared_rule_rewards(void **st)
{
    (void)st;
    char dir[4096], path[4200];
    if (!shared_dir(dir, sizeof dir))
        return;
    snprintf(path, sizeof path,
             "%s/reward_annotation_qwen2_G123_example_5"
             ".json",
             dir);
    json_t *doc = json_load_file(path, 0, NULL);
    assert_non_null(doc);
    static const struct {
        const char *id;
        size_t n;
        double succ[4], contrib[4], solved;
    } want[] = {
        {"32980", 4, {1, 1, 1, 1}, {1, 1, 1, 1}, 1.0},
        {"70195", 2, {1, 1}, {1, 1}, 1.0},
        {"44426", 1, {1}, {1}, 2.5 / 3},
        {"34459", 2, {1, 1}, {1, 1}, 1.0},
        {"56543", 2, {0, 1}, {0, 1}, 1.0 / 3},
    };
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        st_traj t;
        assay_error err;
        if (st_traj_read(json_object_get(doc, want[k].id), k, &t, &err))
            fail_msg("%s", err.text);
        assert_int_equal(t.nsteps, want[k].n);
        assert_true(t.has_finish);
        for (size_t i = 0; i < t.nsteps; i++) {
            const char *why;
            int s = st_succ_rule(t.steps[i].response, true, &why);
            char *txt = st_response_text(t.steps[i].response);
            double ratio;
            int c =
                st_contribution_rule(txt, t.final_answer, false, 0.3, &ratio);
            if (s != want[k].succ[i] || c != want[k].contrib[i])
                fail_msg("%s step %zu: succ %d (%s), contribution %d "
                         "(ratio %.3f)",
                         want[k].id, i + 1, s, why, c, ratio);
            if (!strcmp(want[k].id, "56543") && i == 1) {
                /* a plain string: the same text as by hand */
                assert_true(fabs(ratio - 221.0 / 515.0) < 1e-12);
            }
            free(txt);
        }
        double sum = 0, n = 0;
        const char *key;
        json_t *v;
        json_object_foreach(t.is_solved, key, v)
        {
            sum += st_status_value(json_string_value(v));
            n++;
        }
        assert_true(fabs(sum / n - want[k].solved) < 1e-12);
        double r[5], G[5];
        st_rewards(want[k].succ, want[k].contrib, t.nsteps, sum / n, 1.0, true,
                   0.99, r, G);
        if (!strcmp(want[k].id, "56543"))
            assert_true(r[0] == 0.0 && r[1] == 1.0 &&
                        fabs(r[2] - 1.0 / 3) < 1e-15);
        st_traj_free(&t);
    }
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_succ),
        cmocka_unit_test(test_response_text),
        cmocka_unit_test(test_lcs),
        cmocka_unit_test(test_rewards),
        cmocka_unit_test(test_status),
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_shared_rule_rewards),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
