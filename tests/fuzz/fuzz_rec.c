/*
 * Fuzz target: the LLM-recommender answer parsing of plugins/rec/llm
 * (shared with synth.user-profile and judge.recsys-arena).  The input is
 * a model answer: its list of titles is parsed (lr_parse_list) and every
 * title mapped to a fixed catalogue of tricky MovieLens titles
 * (lr_cat_match, with and without candidates and suffix stripping); the
 * title helpers (normalisation, case folding, year, last line, genres)
 * run on the whole text.  The input's lines also form a second
 * catalogue (as an item file of unusual titles would), against which
 * the same titles and the lines themselves are matched.
 *
 * Invariants: a parsed list has a known format and non-NULL titles;
 * a match names a catalogue item exactly when its level is not "none",
 * and in_cands only for a candidate; every non-blank line of the input
 * is found in the catalogue built from those lines.
 */
#include "fuzz.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lr.h"

static const int64_t IDS[] = {1, 3, 5, 7, 8, 9, 10, 12, 13, 14, 15, 42, 99};
static const char *const TITLES[] = {"Toy Story (1995)",
                                     "Usual Suspects, The (1995)",
                                     "Truth About Cats & Dogs, The (1996)",
                                     "Mis\xc3\xa9rables, Les (1995)",
                                     "Cape Fear (1962)",
                                     "Cape Fear (1991)",
                                     "Heat (1995)",
                                     "Star Trek: First Contact (1996)",
                                     "Pink Floyd - The Wall (1982)",
                                     "Appartement, L' (1996)",
                                     "Seven (Se7en) (1995)",
                                     NULL,
                                     "\"Rock\", The"};
static const char *const CATS[] = {"Animation|Children's|Comedy",
                                   "Crime Thriller",
                                   NULL,
                                   "Drama Musical",
                                   "Film-Noir",
                                   "Thriller",
                                   "Action",
                                   "Sci-Fi",
                                   "Musical",
                                   "Drama",
                                   "Crime",
                                   NULL,
                                   ""};

static lr_cat CAT;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    json_object_seed(1);
    assay_error err;
    if (lr_cat_from_arrays(&CAT, IDS, TITLES, CATS, NULL,
                           sizeof IDS / sizeof IDS[0], &err)) {
        fprintf(stderr, "fuzz-rec: catalogue: %s\n", err.text);
        exit(1);
    }
    return 0;
}

static void check_match(const lr_cat *c, const lr_match *m,
                        const int64_t *cands, size_t ncand)
{
    if (m->level < LR_M_NONE || m->level > LR_M_NORM)
        fuzz_fail("match level %d", m->level);
    if ((m->level == LR_M_NONE) != (m->item == 0))
        fuzz_fail("match level %d with item %lld", m->level,
                  (long long)m->item);
    if (m->item && lr_cat_find(c, m->item) < 0)
        fuzz_fail("matched item %lld is not in the catalogue",
                  (long long)m->item);
    bool cand = false;
    for (size_t i = 0; i < ncand; i++)
        cand |= cands[i] == m->item;
    if (m->in_cands && !cand)
        fuzz_fail("in_cands set for item %lld", (long long)m->item);
}

static void match_all(const lr_cat *c, const char *title)
{
    static const int64_t cands[] = {8, 9, 10, 3, 77};
    for (int strip = 0; strip < 2; strip++) {
        lr_match m;
        if (lr_cat_match(c, title, NULL, 0, strip, &m) == 0)
            check_match(c, &m, NULL, 0);
        if (lr_cat_match(c, title, cands, 5, strip, &m) == 0)
            check_match(c, &m, cands, 5);
    }
}

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isspace((unsigned char)s[i]))
            return false;
    return true;
}

/* The input's lines as a catalogue: ids 1.., each line its own title
 * and category. */
static void line_catalogue(const char *text, const lr_titles *t)
{
    enum { MAXL = 256 };
    char *lines[MAXL] = {0};
    int64_t ids[MAXL] = {0};
    size_t n = 0;
    for (const char *p = text; p && *p && n < MAXL;) {
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        if (!(lines[n] = strndup(p, l)))
            break;
        ids[n] = (int64_t)n + 1;
        n++;
        p = nl ? nl + 1 : NULL;
    }
    lr_cat c;
    assay_error err;
    if (lr_cat_from_arrays(&c, ids, (const char *const *)lines,
                           (const char *const *)lines, NULL, n, &err) == 0) {
        for (size_t i = 0; i < n; i++) {
            lr_match m;
            if (lr_cat_match(&c, lines[i], NULL, 0, false, &m) != 0)
                continue;
            check_match(&c, &m, NULL, 0);
            if (!blank(lines[i], strlen(lines[i])) && m.item == 0)
                fuzz_fail("line %zu is not found in its own catalogue", i);
        }
        for (size_t i = 0; i < t->n && i < 64; i++)
            match_all(&c, t->v[i]);
        int64_t some[] = {1, 2, 3};
        char **texts = lr_item_texts(&c, some, 3, true, NULL);
        lr_strv_free(texts, texts ? 3 : 0);
        lr_cat_free(&c);
    }
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstr(data, size);
    if (!text)
        return 0;
    lr_titles t;
    memset(&t, 0, sizeof t);
    if (lr_parse_list(text, &t) == 0) {
        if (t.format < LR_FMT_NONE || t.format > LR_FMT_UNQUOTED)
            fuzz_fail("list format %d", t.format);
        if (t.format == LR_FMT_NONE && t.n)
            fuzz_fail("%zu titles without a list", t.n);
        for (size_t i = 0; i < t.n; i++) {
            if (!t.v[i])
                fuzz_fail("title %zu is NULL", i);
            if (i < 64)
                match_all(&CAT, t.v[i]);
        }
        jc_buf b;
        memset(&b, 0, sizeof b);
        lr_pylist(&b, (const char *const *)t.v, t.n < 64 ? t.n : 64);
        jc_buf_free(&b);
    }
    match_all(&CAT, text);
    free(lr_norm(text));
    free(lr_fold(text));
    (void)lr_title_year(text);
    free(lr_last_line(text));
    free(lr_genres_text(text));
    line_catalogue(text, &t);
    lr_titles_free(&t);
    free(text);
    return 0;
}
