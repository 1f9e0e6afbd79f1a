/*
 * Unit tests of the LLM-recommendation library: list parsing and title
 * mapping on a table of tricky answers (near-duplicates, case,
 * punctuation, HTML entities, titles absent from the catalogue, broken
 * quoting, numbered lines, more titles than asked), normalisation,
 * Python list literals, prompt files with paraphrases, histories.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lr.h"

/*
 * Allocation failures: the test binary is linked with --wrap for malloc,
 * calloc and realloc, so every allocation of the library code fails once
 * `fail_after` more have succeeded (-1: never).
 */
static long fail_after = -1;
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);

static bool alloc_fails(void)
{
    if (fail_after == 0)
        return true;
    if (fail_after > 0)
        fail_after--;
    return false;
}

void *__wrap_malloc(size_t n);
void *__wrap_malloc(size_t n)
{
    return alloc_fails() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t m);
void *__wrap_calloc(size_t n, size_t m)
{
    return alloc_fails() ? NULL : __real_calloc(n, m);
}

void *__wrap_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n)
{
    return alloc_fails() ? NULL : __real_realloc(p, n);
}

/* A small catalogue with MovieLens-style titles. */
static const int64_t cat_ids[] = {1, 2,  3,  4,  5,  6,  7,  8,
                                  9, 10, 11, 12, 13, 14, 15, 16};
static const char *const cat_titles[] = {
    "Toy Story",
    "GoldenEye",
    "Usual Suspects, The",
    "Schindler's List",
    "Truth About Cats & Dogs, The",
    "Shanghai Triad (Yao a yao yao dao waipo qiao)",
    "Mis\xc3\xa9rables, Les",
    "Cape Fear",
    "Cape Fear",
    "Heat",
    "Star Wars",
    "Star Trek: First Contact",
    "Pink Floyd - The Wall",
    "Appartement, L'",
    "Seven (Se7en)",
    "Mr. Holland's Opus"};
static const char *const cat_cats[] = {"Animation Children's Comedy",
                                       "Action Adventure Thriller",
                                       "Crime Thriller",
                                       "Drama War",
                                       "Comedy Romance",
                                       "Drama",
                                       "Drama Musical",
                                       "Thriller",
                                       "Thriller",
                                       "Action Crime Thriller",
                                       "Action Sci-Fi",
                                       "Action Sci-Fi",
                                       "Drama Musical",
                                       "Drama Romance",
                                       "Crime Thriller",
                                       "Drama"};
static const int cat_years[] = {1995, 1995, 1995, 1993, 1996, 1995, 1995, 1962,
                                1991, 1995, 1977, 1996, 1982, 1996, 1995, 1995};

static int setup_cat(void **state)
{
    lr_cat *c = malloc(sizeof *c);
    assay_error err = {0};
    if (!c || lr_cat_from_arrays(c, cat_ids, cat_titles, cat_cats, cat_years,
                                 16, &err))
        return -1;
    *state = c;
    return 0;
}

static int teardown_cat(void **state)
{
    lr_cat_free(*state);
    free(*state);
    return 0;
}

/* One answer of the table: what the parser finds and what each title
 * maps to. */
typedef struct answer_case {
    const char *name;
    const char *text;
    int format;
    size_t ntitles;
    const char *titles[8];
    int64_t items[8]; /* 0: hallucination */
    int levels[8];
} answer_case;

#define E LR_M_EXACT
#define C LR_M_CASE
#define N LR_M_NORM
#define X LR_M_NONE

static const answer_case cases[] = {
    {"plain python list",
     "['Toy Story', 'Heat']",
     LR_FMT_LIST,
     2,
     {"Toy Story", "Heat"},
     {1, 10},
     {E, E}},
    {"case differs",
     "[\"toy story\", \"HEAT\"]",
     LR_FMT_LIST,
     2,
     {"toy story", "HEAT"},
     {1, 10},
     {C, C}},
    {"unescaped apostrophe, article in front",
     "['The Usual Suspects', 'Schindler's List']",
     LR_FMT_LIST,
     2,
     {"The Usual Suspects", "Schindler's List"},
     {3, 4},
     {N, E}},
    {"HTML entity",
     "['Truth About Cats &amp; Dogs, The']",
     LR_FMT_LIST,
     1,
     {"Truth About Cats &amp; Dogs, The"},
     {5},
     {N}},
    {"near-duplicates absent from the catalogue",
     "['Toy Story 2', 'Star Wars: Episode IV - A New Hope', 'Heat 2']",
     LR_FMT_LIST,
     3,
     {"Toy Story 2", "Star Wars: Episode IV - A New Hope", "Heat 2"},
     {0, 0, 0},
     {X, X, X}},
    {"numbered lines with markdown, years, alternate titles",
     "Here are my picks:\n1. Heat (1995)\n2. **Shanghai Triad**\n"
     "3) Les Mis\xc3\xa9rables\n4. \"Seven\"\n",
     LR_FMT_LINES,
     4,
     {"Heat (1995)", "Shanghai Triad", "Les Mis\xc3\xa9rables", "Seven"},
     {10, 6, 7, 15},
     {N, N, N, N}},
    {"typographic quotes",
     "[\xe2\x80\x98Heat\xe2\x80\x99, \xe2\x80\x9cToy Story\xe2\x80\x9d]",
     LR_FMT_LIST,
     2,
     {"Heat", "Toy Story"},
     {10, 1},
     {E, E}},
    {"code fence after prose",
     "Sure! Based on the history:\n```python\n['GoldenEye', 'Heat', "
     "'Seven (Se7en)']\n```\nEnjoy.",
     LR_FMT_LIST,
     3,
     {"GoldenEye", "Heat", "Seven (Se7en)"},
     {2, 10, 15},
     {E, E, E}},
    {"bare list with a moved article",
     "[Usual Suspects, The, Heat, Star Trek: First Contact]",
     LR_FMT_UNQUOTED,
     3,
     {"Usual Suspects, The", "Heat", "Star Trek: First Contact"},
     {3, 10, 12},
     {E, E, E}},
    {"apostrophe article, punctuation",
     "['L'Appartement', 'star trek first contact', 'Mr Hollands Opus']",
     LR_FMT_LIST,
     3,
     {"L'Appartement", "star trek first contact", "Mr Hollands Opus"},
     {14, 12, 16},
     {N, N, N}},
    {"JSON unicode escape",
     "[\"Schindler\\u2019s List\", \"Toy\\u0020Story\"]",
     LR_FMT_LIST,
     2,
     {"Schindler\xe2\x80\x99s List", "Toy Story"},
     {4, 1},
     {C, E}},
    {"dash inside a real title",
     "['Pink Floyd - The Wall']",
     LR_FMT_LIST,
     1,
     {"Pink Floyd - The Wall"},
     {13},
     {E}},
    {"explanation after the title",
     "1. Heat - a tense crime thriller the user will love\n"
     "2. GoldenEye \xe2\x80\x94 more Bond\n",
     LR_FMT_LINES,
     2,
     {"Heat - a tense crime thriller the user will love",
      "GoldenEye \xe2\x80\x94 more Bond"},
     {10, 2},
     {E, E}},
    {"comments and a trailing comma",
     "[\n  'Heat',  # crime\n  'GoldenEye',\n]",
     LR_FMT_LIST,
     2,
     {"Heat", "GoldenEye"},
     {10, 2},
     {E, E}},
    {"the longest of two lists",
     "You offered ['Heat', 'GoldenEye', 'Star Wars']; I rank: "
     "['Star Wars', 'Heat', 'Toy Story', 'GoldenEye']",
     LR_FMT_LIST,
     4,
     {"Star Wars", "Heat", "Toy Story", "GoldenEye"},
     {11, 10, 1, 2},
     {E, E, E, E}},
    {"bulleted lines",
     "- Heat\n- Star Wars\n",
     LR_FMT_LINES,
     2,
     {"Heat", "Star Wars"},
     {10, 11},
     {E, E}},
    {"no list at all",
     "I am sorry, I cannot recommend anything.",
     LR_FMT_NONE,
     0,
     {NULL},
     {0},
     {X}},
    {"empty answer", "", LR_FMT_NONE, 0, {NULL}, {0}, {X}},
};

static void test_answer_table(void **state)
{
    const lr_cat *c = *state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const answer_case *k = &cases[i];
        lr_titles t = {0};
        assert_int_equal(lr_parse_list(k->text, &t), 0);
        if (t.format != k->format || t.n != k->ntitles)
            fail_msg("%s: format %d with %zu titles, expected %d with %zu",
                     k->name, t.format, t.n, k->format, k->ntitles);
        for (size_t j = 0; j < t.n; j++) {
            lr_match m;
            if (strcmp(t.v[j], k->titles[j]))
                fail_msg("%s: title %zu is '%s', expected '%s'", k->name, j,
                         t.v[j], k->titles[j]);
            assert_int_equal(lr_cat_match(c, t.v[j], NULL, 0, false, &m), 0);
            if (m.item != k->items[j] || m.level != k->levels[j])
                fail_msg("%s: '%s' maps to %lld (%s), expected %lld (%s)",
                         k->name, t.v[j], (long long)m.item,
                         lr_level_name(m.level), (long long)k->items[j],
                         lr_level_name(k->levels[j]));
        }
        lr_titles_free(&t);
    }
}

static void test_duplicate_titles(void **state)
{
    const lr_cat *c = *state;
    lr_match m;
    /* two items named "Cape Fear": the lowest id, unless the year or the
     * candidates say otherwise */
    assert_int_equal(lr_cat_match(c, "Cape Fear", NULL, 0, false, &m), 0);
    assert_int_equal(m.item, 8);
    assert_false(m.in_cands);
    assert_int_equal(lr_cat_match(c, "Cape Fear (1991)", NULL, 0, false, &m),
                     0);
    assert_int_equal(m.item, 9);
    int64_t cands[] = {10, 9, 1};
    assert_int_equal(lr_cat_match(c, "cape fear", cands, 3, false, &m), 0);
    assert_int_equal(m.item, 9);
    assert_true(m.in_cands);
    assert_int_equal(m.level, LR_M_CASE);
    int64_t both[] = {8, 9};
    assert_int_equal(lr_cat_match(c, "Cape Fear (1962)", both, 2, false, &m),
                     0);
    assert_int_equal(m.item, 8);
    /* an item outside the candidates is found but flagged */
    assert_int_equal(lr_cat_match(c, "Heat", cands + 1, 2, false, &m), 0);
    assert_int_equal(m.item, 10);
    assert_false(m.in_cands);
}

static void test_category_suffix(void **state)
{
    const lr_cat *c = *state;
    lr_match m;
    const char *t = "Toy Story:Animation|Children's|Comedy";
    assert_int_equal(lr_cat_match(c, t, NULL, 0, false, &m), 0);
    assert_int_equal(m.item, 0);
    assert_int_equal(lr_cat_match(c, t, NULL, 0, true, &m), 0);
    assert_int_equal(m.item, 1);
    /* a colon inside the title still matches whole first */
    assert_int_equal(
        lr_cat_match(c, "Star Trek: First Contact", NULL, 0, true, &m), 0);
    assert_int_equal(m.item, 12);
    assert_int_equal(m.level, LR_M_EXACT);
}

static void test_norm(void **state)
{
    (void)state;
    static const char *const pairs[][2] = {
        {"Usual Suspects, The", "usual suspects"},
        {"The Usual Suspects (1995)", "usual suspects"},
        {"Truth About Cats &amp; Dogs, The", "truth about cats and dogs"},
        {"Mis\xc3\xa9rables, Les", "les miserables"},
        {"Appartement, L'", "lappartement"},
        {"Horseman on the Roof, The (Hussard sur le toit, Le)",
         "horseman on the roof hussard sur le toit le"},
        {"  Heat!!  ", "heat"},
        {"Schindler\xe2\x80\x99s List", "schindlers list"},
        {"A Clockwork Orange", "clockwork orange"},
        {"Clockwork Orange, A", "clockwork orange"},
        {"Caf&#233; &#x26; Bar", "cafe and bar"},
        {"Stra\xc3\x9f"
         "e",
         "strasse"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
        char *n = lr_norm(pairs[i][0]);
        assert_non_null(n);
        if (strcmp(n, pairs[i][1]))
            fail_msg("lr_norm('%s') = '%s', expected '%s'", pairs[i][0], n,
                     pairs[i][1]);
        free(n);
    }
    char *f = lr_fold("  \xc3\x89T\xc3\x89 Story ");
    assert_string_equal(f, "\xc3\xa9t\xc3\xa9 story");
    free(f);
    assert_int_equal(lr_title_year("Cape Fear (1991)"), 1991);
    assert_int_equal(lr_title_year("Seven (Se7en)"), 0);
}

static void test_pylist(void **state)
{
    (void)state;
    const char *v[] = {"Heat", "Schindler's List", "Say \"hi\" it's", "a\\b"};
    jc_buf b = {0};
    assert_int_equal(lr_pylist(&b, v, 4), 0);
    assert_string_equal(b.p, "['Heat', \"Schindler's List\", "
                             "'Say \"hi\" it\\'s', 'a\\\\b']");
    /* and it parses back */
    lr_titles t = {0};
    assert_int_equal(lr_parse_list(b.p, &t), 0);
    assert_int_equal(t.n, 4);
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(t.v[i], v[i]);
    lr_titles_free(&t);
    jc_buf_free(&b);
}

static void test_prompts(void **state)
{
    (void)state;
    const char *text =
        "{{! two paraphrases }}\n"
        "@@ system @@\nPick {{k}}.\n"
        "@@ user @@\nFirst: {{candidates}}\n"
        "@@ user @@\nSecond{{#history}} after {{history}}{{/history}}: "
        "{{candidates}}\n"
        "@@ repair @@\nAgain, {{k}} titles.\n";
    lr_prompts p;
    assay_error err = {0};
    assert_int_equal(lr_prompts_parse(text, &p, &err), 0);
    assert_int_equal(p.n, 2);
    assert_true(lr_prompts_uses(&p, "history"));
    assert_false(lr_prompts_uses(&p, "profile"));
    json_t *ctx = json_pack("{s:i, s:s}", "k", 3, "candidates", "['A']");
    char *sys, *usr, *rep;
    assert_int_equal(jc_prompt_render(&p.v[1], ctx, 0, &sys, &usr, &err), 0);
    assert_string_equal(sys, "Pick 3.");
    assert_string_equal(usr, "Second: ['A']");
    assert_int_equal(jc_tpl_render(p.v[0].repair, ctx, 0, &rep, &err), 0);
    assert_string_equal(rep, "Again, 3 titles.");
    free(sys);
    free(usr);
    free(rep);
    /* a fixed variant, or a seeded draw that depends only on the key */
    assert_int_equal(lr_variant(&p, 1, 7, 100), 1);
    assert_int_equal(lr_variant(&p, 3, 7, 100), 1);
    size_t v1 = lr_variant(&p, -1, 7, 100), seen[2] = {0, 0};
    assert_int_equal(lr_variant(&p, -1, 7, 100), v1);
    for (uint64_t key = 0; key < 200; key++)
        seen[lr_variant(&p, -1, 7, key)]++;
    assert_true(seen[0] > 60 && seen[1] > 60);
    json_decref(ctx);
    lr_prompts_free(&p);
    /* errors */
    assert_int_not_equal(lr_prompts_parse("@@ system @@\nx\n@@ system @@\n"
                                          "y\n@@ user @@\nz\n",
                                          &p, &err),
                         0);
    assert_non_null(strstr(err.text, "twice"));
    assert_int_not_equal(lr_prompts_parse("@@ sytem @@\nx\n", &p, &err), 0);
    assert_non_null(strstr(err.text, "unknown message"));
    assert_int_not_equal(lr_prompts_parse("@@ system @@\nonly\n", &p, &err), 0);
}

static void test_hist(void **state)
{
    (void)state;
    /* train rows out of time order; valid comes after */
    int64_t tu[] = {2, 1, 1, 2, 1}, ti[] = {20, 11, 10, 21, 12};
    double tt[] = {5, 3, 1, 4, 2};
    int64_t vu[] = {1}, vi[] = {13};
    double vt[] = {9};
    assay_column tc[] = {{"user", ASSAY_COL_INT64, tu},
                         {"item", ASSAY_COL_INT64, ti},
                         {"timestamp", ASSAY_COL_FLOAT64, tt}};
    assay_column vc[] = {{"user", ASSAY_COL_INT64, vu},
                         {"item", ASSAY_COL_INT64, vi},
                         {"timestamp", ASSAY_COL_FLOAT64, vt}};
    assay_table train = {5, 3, tc}, valid = {1, 3, vc};
    rc_inter parts[2];
    assay_error err = {0};
    assert_int_equal(rc_inter_view(&train, "train", false, &parts[0], &err), 0);
    assert_int_equal(rc_inter_view(&valid, "valid", false, &parts[1], &err), 0);
    lr_hist h;
    assert_int_equal(lr_hist_build(&h, parts, 2, &err), 0);
    const int64_t *items;
    const double *rat;
    assert_int_equal(lr_hist_get(&h, 1, &items, &rat), 4);
    assert_int_equal(items[0], 10);
    assert_int_equal(items[1], 12);
    assert_int_equal(items[2], 11);
    assert_int_equal(items[3], 13);
    assert_true(isnan(rat[0]));
    assert_int_equal(lr_hist_get(&h, 2, &items, NULL), 2);
    assert_int_equal(items[0], 21);
    assert_int_equal(lr_hist_get(&h, 99, &items, NULL), 0);
    lr_hist_free(&h);
}

static void test_item_texts(void **state)
{
    const lr_cat *c = *state;
    int64_t ids[] = {1, 10, 777};
    double r[] = {5, 3.5, NAN};
    char **t = lr_item_texts(c, ids, 3, true, r);
    assert_non_null(t);
    assert_string_equal(t[0], "Toy Story:Animation|Children's|Comedy:5");
    assert_string_equal(t[1], "Heat:Action|Crime|Thriller:3.5");
    assert_string_equal(t[2], "item 777");
    lr_strv_free(t, 3);
    /* two items called Cape Fear in one list: the years tell them apart
     * and map back */
    int64_t cf[] = {9, 10, 8};
    t = lr_item_texts(c, cf, 3, false, NULL);
    assert_string_equal(t[0], "Cape Fear (1991)");
    assert_string_equal(t[1], "Heat");
    assert_string_equal(t[2], "Cape Fear (1962)");
    lr_match m;
    assert_int_equal(lr_cat_match(c, t[2], cf, 3, false, &m), 0);
    assert_int_equal(m.item, 8);
    lr_strv_free(t, 3);
    t = lr_item_texts(c, cf, 1, false, NULL);
    assert_string_equal(t[0], "Cape Fear");
    lr_strv_free(t, 1);
    char *g = lr_genres_text("Action Crime  Thriller");
    assert_string_equal(g, "Action, Crime, Thriller");
    free(g);
    g = lr_genres_text("Sci-Fi|Children's");
    assert_string_equal(g, "Sci-Fi, Children's");
    free(g);
}

static void test_last_line(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"Likes thrillers.\n\n**Summary:** A thriller fan.\n",
         "A thriller fan."},
        {"one line only", "one line only"},
        {"A\nB\n  \n---\n", "B"},
        {"Profile: curious, loves sci-fi", "curious, loves sci-fi"},
        {"summary:   tidy  \r\n", "tidy"},
        {"", ""},
        {"\n\n", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *l = lr_last_line(cases[i][0]);
        assert_non_null(l);
        if (strcmp(l, cases[i][1]))
            fail_msg("last line of case %zu: '%s', expected '%s'", i, l,
                     cases[i][1]);
        free(l);
    }
}

/* Build the catalogue, parse every answer of the table and map every
 * title with allocations failing after `budget`: each step either works
 * or reports ENOMEM; nothing crashes or leaks (checked under ASan). */
static int oom_round(long budget, bool *completed)
{
    lr_cat c;
    assay_error err = {0};
    int rc;
    *completed = false;
    fail_after = budget;
    rc = lr_cat_from_arrays(&c, cat_ids, cat_titles, cat_cats, cat_years, 16,
                            &err);
    if (rc) {
        fail_after = -1;
        return rc == ASSAY_ENOMEM ? 0 : rc;
    }
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        lr_titles t = {0};
        rc = lr_parse_list(cases[i].text, &t);
        for (size_t j = 0; rc == 0 && j < t.n; j++) {
            lr_match m;
            rc = lr_cat_match(&c, t.v[j], cat_ids, 4, true, &m);
        }
        lr_titles_free(&t);
        if (rc)
            break;
    }
    if (rc == 0) {
        int64_t ids[] = {8, 9, 1};
        char **v = lr_item_texts(&c, ids, 3, true, NULL);
        jc_buf b = {0};
        if (v && lr_pylist(&b, (const char *const *)v, 3) == 0)
            *completed = true;
        jc_buf_free(&b);
        lr_strv_free(v, 3);
        char *n = lr_norm("Usual Suspects, The (1995)");
        free(n);
    }
    lr_cat_free(&c);
    fail_after = -1;
    return rc == ASSAY_ENOMEM ? 0 : rc;
}

static void test_out_of_memory(void **state)
{
    (void)state;
    bool completed = false;
    long budget = 0;
    /* every failure point up to the first run that completes */
    for (; budget < 100000 && !completed; budget++)
        assert_int_equal(oom_round(budget, &completed), 0);
    assert_true(completed);
    assert_true(budget > 50);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_answer_table, setup_cat,
                                        teardown_cat),
        cmocka_unit_test_setup_teardown(test_duplicate_titles, setup_cat,
                                        teardown_cat),
        cmocka_unit_test_setup_teardown(test_category_suffix, setup_cat,
                                        teardown_cat),
        cmocka_unit_test(test_norm),
        cmocka_unit_test(test_pylist),
        cmocka_unit_test(test_prompts),
        cmocka_unit_test(test_hist),
        cmocka_unit_test(test_last_line),
        cmocka_unit_test_setup_teardown(test_item_texts, setup_cat,
                                        teardown_cat),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
