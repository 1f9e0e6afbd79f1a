/*
 * porter.c - Porter stemmer, NLTK_EXTENSIONS variant (see porter.h).
 *
 * Written from the algorithm's description (M.F. Porter, 1980) and the
 * documented NLTK departures; the word is edited in place in a small
 * buffer, `n` being its current length.
 */
#include "porter.h"

#include <string.h>

typedef struct word {
    char s[PORTER_MAX + 8];
    size_t n;
} word;

static int is_cons(const char *s, size_t i)
{
    switch (s[i]) {
    case 'a': case 'e': case 'i': case 'o': case 'u':
        return 0;
    case 'y':
        return i == 0 ? 1 : !is_cons(s, i - 1);
    default:
        return 1;
    }
}

/* m: the number of vowel-consonant sequences in s[0..n). */
static int measure(const char *s, size_t n)
{
    int m = 0;
    for (size_t i = 0; i + 1 < n; i++)
        if (!is_cons(s, i) && is_cons(s, i + 1))
            m++;
    return m;
}

static int has_vowel(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_cons(s, i))
            return 1;
    return 0;
}

static int ends_double_cons(const char *s, size_t n)
{
    return n >= 2 && s[n - 1] == s[n - 2] && is_cons(s, n - 1);
}

/* *o: consonant-vowel-consonant, the last not w, x or y; NLTK also
 * accepts a two-letter vowel-consonant word. */
static int ends_cvc(const char *s, size_t n)
{
    if (n >= 3 && is_cons(s, n - 3) && !is_cons(s, n - 2) &&
        is_cons(s, n - 1) && s[n - 1] != 'w' && s[n - 1] != 'x' &&
        s[n - 1] != 'y')
        return 1;
    return n == 2 && !is_cons(s, 0) && is_cons(s, 1);
}

static int ends(const word *w, const char *suf)
{
    size_t k = strlen(suf);
    return w->n >= k && memcmp(w->s + w->n - k, suf, k) == 0;
}

/* Replace the last `k` characters by `rep`. */
static void set_tail(word *w, size_t k, const char *rep)
{
    size_t r = strlen(rep);
    w->n -= k;
    memcpy(w->s + w->n, rep, r);
    w->n += r;
    w->s[w->n] = '\0';
}

/* Conditions on the stem s[0..n) (the word without the suffix). */
enum cond { C_NONE, C_M0, C_M1, C_ION, C_LOGI, C_CVC_E };

static int cond_ok(enum cond c, const word *w, size_t stem)
{
    switch (c) {
    case C_NONE:
        return 1;
    case C_M0:
        return measure(w->s, stem) > 0;
    case C_M1:
        return measure(w->s, stem) > 1;
    case C_ION:
        return measure(w->s, stem) > 1 && stem > 0 &&
               (w->s[stem - 1] == 's' || w->s[stem - 1] == 't');
    case C_LOGI: /* the 'l' stays with the stem: m(word[:-3]) > 0 */
        return measure(w->s, stem + 1) > 0;
    case C_CVC_E:
        return measure(w->s, stem) == 1 && ends_cvc(w->s, stem);
    }
    return 0;
}

typedef struct rule {
    const char *suf, *rep;
    enum cond c;
} rule;

/* NLTK _apply_rule_list: the first rule whose suffix matches decides;
 * when its condition fails the word is left as it is. */
static void apply_rules(word *w, const rule *rules, size_t nr)
{
    for (size_t i = 0; i < nr; i++) {
        if (!ends(w, rules[i].suf))
            continue;
        size_t k = strlen(rules[i].suf);
        if (cond_ok(rules[i].c, w, w->n - k))
            set_tail(w, k, rules[i].rep);
        return;
    }
}

static void step1a(word *w)
{
    static const rule r[] = {{"sses", "ss", C_NONE},
                             {"ies", "i", C_NONE},
                             {"ss", "ss", C_NONE},
                             {"s", "", C_NONE}};
    if (w->n == 4 && ends(w, "ies")) {
        set_tail(w, 3, "ie");
        return;
    }
    apply_rules(w, r, 4);
}

static void step1b(word *w)
{
    if (ends(w, "ied")) {
        set_tail(w, 3, w->n == 4 ? "ie" : "i");
        return;
    }
    if (ends(w, "eed")) {
        if (measure(w->s, w->n - 3) > 0)
            set_tail(w, 3, "ee");
        return;
    }
    size_t k = 0;
    if (ends(w, "ed") && has_vowel(w->s, w->n - 2))
        k = 2;
    else if (ends(w, "ing") && has_vowel(w->s, w->n - 3))
        k = 3;
    if (!k)
        return;
    set_tail(w, k, "");
    if (ends(w, "at")) {
        set_tail(w, 2, "ate");
    } else if (ends(w, "bl")) {
        set_tail(w, 2, "ble");
    } else if (ends(w, "iz")) {
        set_tail(w, 2, "ize");
    } else if (ends_double_cons(w->s, w->n)) {
        char last = w->s[w->n - 1];
        if (last != 'l' && last != 's' && last != 'z')
            set_tail(w, 1, "");
    } else if (cond_ok(C_CVC_E, w, w->n)) {
        set_tail(w, 0, "e");
    }
}

static void step1c(word *w)
{
    /* (*c and not c) Y -> I: a consonant before the y, stem longer
     * than one letter */
    if (ends(w, "y") && w->n - 1 > 1 && is_cons(w->s, w->n - 2))
        set_tail(w, 1, "i");
}

static void step2(word *w)
{
    static const rule r[] = {
        {"ational", "ate", C_M0}, {"tional", "tion", C_M0},
        {"enci", "ence", C_M0},   {"anci", "ance", C_M0},
        {"izer", "ize", C_M0},    {"bli", "ble", C_M0},
        {"alli", "al", C_M0},     {"entli", "ent", C_M0},
        {"eli", "e", C_M0},       {"ousli", "ous", C_M0},
        {"ization", "ize", C_M0}, {"ation", "ate", C_M0},
        {"ator", "ate", C_M0},    {"alism", "al", C_M0},
        {"iveness", "ive", C_M0}, {"fulness", "ful", C_M0},
        {"ousness", "ous", C_M0}, {"aliti", "al", C_M0},
        {"iviti", "ive", C_M0},   {"biliti", "ble", C_M0},
        {"fulli", "ful", C_M0},   {"logi", "log", C_LOGI}};
    while (ends(w, "alli") && measure(w->s, w->n - 4) > 0)
        set_tail(w, 4, "al"); /* then step 2 again on the result */
    apply_rules(w, r, sizeof r / sizeof r[0]);
}

static void step3(word *w)
{
    static const rule r[] = {{"icate", "ic", C_M0}, {"ative", "", C_M0},
                             {"alize", "al", C_M0}, {"iciti", "ic", C_M0},
                             {"ical", "ic", C_M0},  {"ful", "", C_M0},
                             {"ness", "", C_M0}};
    apply_rules(w, r, sizeof r / sizeof r[0]);
}

static void step4(word *w)
{
    static const rule r[] = {
        {"al", "", C_M1},   {"ance", "", C_M1}, {"ence", "", C_M1},
        {"er", "", C_M1},   {"ic", "", C_M1},   {"able", "", C_M1},
        {"ible", "", C_M1}, {"ant", "", C_M1},  {"ement", "", C_M1},
        {"ment", "", C_M1}, {"ent", "", C_M1},  {"ion", "", C_ION},
        {"ou", "", C_M1},   {"ism", "", C_M1},  {"ate", "", C_M1},
        {"iti", "", C_M1},  {"ous", "", C_M1},  {"ive", "", C_M1},
        {"ize", "", C_M1}};
    apply_rules(w, r, sizeof r / sizeof r[0]);
}

static void step5(word *w)
{
    if (ends(w, "e")) {
        int m = measure(w->s, w->n - 1);
        if (m > 1 || (m == 1 && !ends_cvc(w->s, w->n - 1)))
            set_tail(w, 1, "");
    }
    if (ends(w, "ll") && measure(w->s, w->n - 1) > 1)
        set_tail(w, 1, "");
}

/* NLTK's table of irregular forms. */
static const char *irregular(const char *s, size_t n)
{
    static const char *const t[][2] = {
        {"sky", "sky"},         {"skies", "sky"},      {"dying", "die"},
        {"lying", "lie"},       {"tying", "tie"},      {"news", "news"},
        {"innings", "inning"},  {"inning", "inning"},  {"outings", "outing"},
        {"outing", "outing"},   {"cannings", "canning"},
        {"canning", "canning"}, {"howe", "howe"},      {"proceed", "proceed"},
        {"exceed", "exceed"},   {"succeed", "succeed"}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strlen(t[i][0]) == n && memcmp(t[i][0], s, n) == 0)
            return t[i][1];
    return NULL;
}

size_t porter_stem(const char *in, size_t n, char *out)
{
    if (n > PORTER_MAX) {
        memcpy(out, in, PORTER_MAX);
        out[PORTER_MAX] = '\0';
        return PORTER_MAX;
    }
    const char *irr = irregular(in, n);
    if (irr) {
        size_t k = strlen(irr);
        memcpy(out, irr, k + 1);
        return k;
    }
    word w;
    memcpy(w.s, in, n);
    w.s[n] = '\0';
    w.n = n;
    if (n > 2) {
        step1a(&w);
        step1b(&w);
        step1c(&w);
        step2(&w);
        step3(&w);
        step4(&w);
        step5(&w);
    }
    memcpy(out, w.s, w.n + 1);
    return w.n;
}
