/*
 * arena_parse.c - multi-aspect verdicts, swap combination, Q and its
 * bootstrap interval, rank correlations (see arena.h).
 */
#include "arena.h"

#include <assay/rng.h>

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const keys[AR_NASPECTS] = {
    "accuracy",        "satisfaction",   "inspiring_content",
    "content_quality", "explainability", "positive_impact",
    "overall"};

static const char *const names[AR_NASPECTS] = {"Accuracy",
                                               "Satisfaction",
                                               "Inspiring Content",
                                               "Content Quality",
                                               "Explainability/Transparency",
                                               "Positive Impact",
                                               "Overall Winner"};

/* Aliases, longest first within each aspect (matched case-insensitively
 * at the start of a statement). */
static const struct {
    int aspect;
    const char *text;
} aliases[] = {
    {AR_EXPLAINABILITY, "explainability and transparency"},
    {AR_EXPLAINABILITY, "explainability / transparency"},
    {AR_EXPLAINABILITY, "explainability/transparency"},
    {AR_EXPLAINABILITY, "explainability"},
    {AR_EXPLAINABILITY, "transparency"},
    {AR_INSPIRING, "inspiring content"},
    {AR_INSPIRING, "inspiring"},
    {AR_INSPIRING, "inspiration"},
    {AR_QUALITY, "content quality"},
    {AR_QUALITY, "quality"},
    {AR_IMPACT, "positive impact"},
    {AR_IMPACT, "impact on users"},
    {AR_IMPACT, "impact on user"},
    {AR_IMPACT, "impact on the user"},
    {AR_IMPACT, "impact"},
    {AR_ACCURACY, "accuracy"},
    {AR_SATISFACTION, "satisfaction"},
    {AR_OVERALL, "overall winner"},
    {AR_OVERALL, "overall verdict"},
    {AR_OVERALL, "overall"},
    {AR_OVERALL, "final verdict"},
    {AR_OVERALL, "winner"},
};

const char *ar_aspect_key(int a)
{
    return a >= 0 && a < AR_NASPECTS ? keys[a] : "?";
}

const char *ar_aspect_name(int a)
{
    return a >= 0 && a < AR_NASPECTS ? names[a] : "?";
}

const char *ar_verdict_name(int v)
{
    switch (v) {
    case AR_A:
        return "A";
    case AR_B:
        return "B";
    case AR_TIE:
        return "tie";
    }
    return NULL;
}

int ar_flip(int v)
{
    return v == AR_A ? AR_B : v == AR_B ? AR_A : v;
}

int ar_combine(int ab, int ba, bool *consistent)
{
    *consistent = false;
    if (ab == AR_NONE || ba == AR_NONE)
        return AR_NONE;
    *consistent = ab == ba;
    return ab == ba ? ab : AR_TIE;
}

double ar_q(double wins_a, double ties, double wins_b)
{
    double den = wins_b + ties;
    return den > 0 ? (wins_a + ties) / den : NAN;
}

/* ---- verdict phrases ------------------------------------------------- */

/* Is `p` past the end of a word?  An apostrophe ends a word only when
 * no letter follows: "'A wins'" ends at the quote, "A's" does not. */
static bool word_end(const char *p)
{
    if (*p == '\'')
        return !isalpha((unsigned char)p[1]);
    return !isalnum((unsigned char)*p) && *p != '_';
}

/* Does `p` start with word `w` (case-insensitive, whole word)? */
static bool starts_word(const char *p, const char *e, const char *w)
{
    size_t n = strlen(w);
    return (size_t)(e - p) >= n && strncasecmp(p, w, n) == 0 &&
           (p + n == e || word_end(p + n));
}

/* Skip spaces, quotes, brackets and emphasis. */
static const char *skip_decor(const char *p, const char *e)
{
    while (p < e) {
        unsigned char c = (unsigned char)*p;
        if (c == ' ' || c == '\t' || c == '\'' || c == '"' || c == '*' ||
            c == '_' || c == '`' || c == '[' || c == '(' || c == '<') {
            p++;
        } else if (c == 0xe2 && e - p >= 3 && (unsigned char)p[1] == 0x80 &&
                   ((unsigned char)p[2] == 0x98 ||
                    (unsigned char)p[2] == 0x9c)) {
            p += 3; /* opening typographic quotes */
        } else {
            break;
        }
    }
    return p;
}

/* The verdict phrase at p (AR_NONE if none); *end gets where it ends. */
static int phrase(const char *p, const char *e, const char **end)
{
    static const char *const ties[] = {
        "tie",     "tied",  "draw",   "equal",      "both",
        "neither", "a tie", "a draw", "it's a tie", NULL};
    static const char *const pre[] = {"recommendation system ",
                                      "recommender system ",
                                      "recommender ",
                                      "system ",
                                      "list ",
                                      "model ",
                                      NULL};
    p = skip_decor(p, e);
    for (size_t i = 0; ties[i]; i++)
        if (starts_word(p, e, ties[i])) {
            *end = p + strlen(ties[i]);
            return AR_TIE;
        }
    for (size_t i = 0; pre[i]; i++) {
        size_t n = strlen(pre[i]);
        if ((size_t)(e - p) > n && strncasecmp(p, pre[i], n) == 0) {
            p += n;
            break;
        }
    }
    if (p < e && (*p == 'A' || *p == 'B' || *p == 'a' || *p == 'b') &&
        (p + 1 == e || word_end(p + 1))) {
        int v = (*p == 'A' || *p == 'a') ? AR_A : AR_B;
        const char *q = p + 1;
        /* a lower-case 'a' alone is an article unless 'wins' follows */
        const char *w = q;
        while (w < e && (*w == ' ' || *w == '\'' || *w == '"' || *w == '*'))
            w++;
        bool wins = starts_word(w, e, "wins") || starts_word(w, e, "win") ||
                    starts_word(w, e, "is better");
        if ((*p == 'a' || *p == 'b') && !wins &&
            !(q == e || *q == '\'' || *q == '"' || *q == '*' || *q == '.' ||
              *q == ']' || *q == ')'))
            return AR_NONE;
        *end = wins ? w + (starts_word(w, e, "is better") ? 9
                           : starts_word(w, e, "wins")    ? 4
                                                          : 3)
                    : q;
        return v;
    }
    return AR_NONE;
}

/* Does [p, e) name a verdict other than `v` ("A wins", "B wins", "tie")? */
static bool names_other(const char *p, const char *e, int v)
{
    for (const char *s = p; s < e; s++) {
        if (s > p && !word_end(s - 1))
            continue;
        int o = AR_NONE;
        if (starts_word(s, e, "tie") || starts_word(s, e, "draw"))
            o = AR_TIE;
        else if ((*s == 'A' || *s == 'B') && s + 1 < e &&
                 (starts_word(s + 1 + strspn(s + 1, " '\"*"), e, "wins") ||
                  s[1] == '\'' || s[1] == '"' || s[1] == '|'))
            o = *s == 'A' ? AR_A : AR_B;
        if (o != AR_NONE && o != v)
            return true;
    }
    return false;
}

/* Parse one statement [p, e); sets v[aspect] when it holds a verdict.
 * A statement that does not start with an aspect may carry a label
 * ("Final verdicts: Accuracy: A wins"): it is tried again after its
 * first colon. */
static bool statement_at(const char *p, const char *e, int v[AR_NASPECTS]);

static void statement(const char *p, const char *e, int v[AR_NASPECTS])
{
    if (statement_at(p, e, v))
        return;
    const char *c = memchr(p, ':', (size_t)(e - p));
    if (c)
        statement_at(c + 1, e, v);
}

static bool statement_at(const char *p, const char *e, int v[AR_NASPECTS])
{
    /* list markers, markdown, numbering */
    while (p < e &&
           (isspace((unsigned char)*p) || *p == '-' || *p == '*' || *p == '#' ||
            *p == '>' || *p == '_' || *p == '`' || *p == ':' || *p == '|' ||
            isdigit((unsigned char)*p) ||
            ((unsigned char)*p == 0xe2 && e - p >= 3 &&
             (unsigned char)p[1] == 0x80 && (unsigned char)p[2] == 0xa2))) {
        if ((unsigned char)*p == 0xe2)
            p += 3;
        else if (isdigit((unsigned char)*p)) {
            const char *d = p;
            while (d < e && isdigit((unsigned char)*d))
                d++;
            if (d < e && (*d == '.' || *d == ')'))
                p = d + 1;
            else
                break;
        } else
            p++;
    }
    int aspect = -1;
    for (size_t i = 0; i < sizeof aliases / sizeof *aliases; i++) {
        size_t n = strlen(aliases[i].text);
        if ((size_t)(e - p) >= n && strncasecmp(p, aliases[i].text, n) == 0 &&
            (p + n == e || word_end(p + n))) {
            aspect = aliases[i].aspect;
            p += n;
            break;
        }
    }
    if (aspect < 0)
        return false;
    /* emphasis, a parenthesis, "winner"/"verdict", then the separator */
    p = p < e ? p : e;
    while (p < e && (*p == '*' || *p == '_' || *p == ' ' || *p == '`'))
        p++;
    if (p < e && *p == '(') {
        const char *c = memchr(p, ')', (size_t)(e - p));
        if (c)
            p = c + 1;
    }
    while (p < e && (*p == '*' || *p == '_' || *p == ' '))
        p++;
    static const char *const extra[] = {"winner", "verdict", "result", NULL};
    for (size_t i = 0; extra[i]; i++)
        if (starts_word(p, e, extra[i])) {
            p += strlen(extra[i]);
            break;
        }
    while (p < e && (*p == '*' || *p == '_' || *p == ' '))
        p++;
    bool sep = false;
    while (p < e) {
        unsigned char c = (unsigned char)*p;
        if (c == ':' || c == '=' || c == '-' || c == '|') {
            p++;
            sep = true;
        } else if (c == 0xe2 && e - p >= 3 && (unsigned char)p[1] == 0x80 &&
                   ((unsigned char)p[2] == 0x93 ||
                    (unsigned char)p[2] == 0x94)) {
            p += 3;
            sep = true;
        } else if (c == ' ' || c == '*' || c == '_') {
            p++;
        } else {
            break;
        }
    }
    if (!sep && starts_word(p, e, "is")) {
        p += 2;
        sep = true;
    }
    if (!sep)
        return true;
    const char *end = p;
    int verdict = phrase(p, e, &end);
    if (verdict != AR_NONE && !names_other(end, e, verdict))
        v[aspect] = verdict;
    return true;
}

int ar_parse(const char *text, int v[AR_NASPECTS])
{
    for (int a = 0; a < AR_NASPECTS; a++)
        v[a] = AR_NONE;
    if (!text)
        return 0;
    const char *p = text;
    while (*p) {
        /* a statement ends at a line end, ';', ',', or ". " */
        const char *e = p;
        while (*e && *e != '\n' && *e != ';' && *e != ',' &&
               !(*e == '.' && (e[1] == ' ' || e[1] == '\0')))
            e++;
        statement(p, e, v);
        p = *e ? e + 1 : e;
    }
    int n = 0;
    for (int a = 0; a < AR_NASPECTS; a++)
        n += v[a] != AR_NONE;
    return n;
}

/* ---- statistics ------------------------------------------------------- */

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile(const double *v, size_t n, double q)
{
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)floor(pos);
    if (lo + 1 >= n)
        return v[n - 1];
    return v[lo] + (pos - (double)lo) * (v[lo + 1] - v[lo]);
}

void ar_q_ci(const int *v, size_t n, unsigned resamples, double level,
             uint64_t seed, double *lo, double *hi, unsigned *used)
{
    *lo = *hi = NAN;
    *used = 0;
    if (!n || !resamples)
        return;
    double *qs = malloc(resamples * sizeof *qs);
    if (!qs)
        return;
    assay_rng rng;
    assay_rng_init(&rng, seed);
    unsigned k = 0;
    for (unsigned r = 0; r < resamples; r++) {
        double c[4] = {0, 0, 0, 0};
        for (size_t i = 0; i < n; i++)
            c[v[assay_rng_below(&rng, n)] & 3] += 1;
        double q = ar_q(c[AR_A], c[AR_TIE], c[AR_B]);
        if (isfinite(q))
            qs[k++] = q;
    }
    if (k) {
        qsort(qs, k, sizeof *qs, dbl_cmp);
        *lo = percentile(qs, k, (1.0 - level) / 2.0);
        *hi = percentile(qs, k, 1.0 - (1.0 - level) / 2.0);
    }
    *used = k;
    free(qs);
}

/* Average ranks (1-based) of v[0..n) into r. */
static bool ranks(const double *v, size_t n, double *r)
{
    size_t *o = malloc(n * sizeof *o);
    if (!o)
        return false;
    for (size_t i = 0; i < n; i++)
        o[i] = i;
    /* insertion sort: system counts are small */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && v[o[j - 1]] > v[o[j]]; j--) {
            size_t t = o[j];
            o[j] = o[j - 1];
            o[j - 1] = t;
        }
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && v[o[j + 1]] == v[o[i]])
            j++;
        double avg = ((double)i + (double)j) / 2.0 + 1.0;
        for (size_t k = i; k <= j; k++)
            r[o[k]] = avg;
        i = j + 1;
    }
    free(o);
    return true;
}

double ar_spearman(const double *x, const double *y, size_t n)
{
    if (n < 2)
        return NAN;
    double *rx = malloc(n * sizeof *rx), *ry = malloc(n * sizeof *ry);
    double rho = NAN;
    if (rx && ry && ranks(x, n, rx) && ranks(y, n, ry)) {
        double mx = 0, my = 0, sxy = 0, sxx = 0, syy = 0;
        for (size_t i = 0; i < n; i++) {
            mx += rx[i];
            my += ry[i];
        }
        mx /= (double)n;
        my /= (double)n;
        for (size_t i = 0; i < n; i++) {
            sxy += (rx[i] - mx) * (ry[i] - my);
            sxx += (rx[i] - mx) * (rx[i] - mx);
            syy += (ry[i] - my) * (ry[i] - my);
        }
        if (sxx > 0 && syy > 0)
            rho = sxy / sqrt(sxx * syy);
    }
    free(rx);
    free(ry);
    return rho;
}

double ar_kendall(const double *x, const double *y, size_t n)
{
    double conc = 0, disc = 0, tx = 0, ty = 0;
    if (n < 2)
        return NAN;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            double dx = x[i] - x[j], dy = y[i] - y[j];
            if (dx == 0 && dy == 0)
                continue;
            if (dx == 0)
                tx++;
            else if (dy == 0)
                ty++;
            else if ((dx > 0) == (dy > 0))
                conc++;
            else
                disc++;
        }
    double den = sqrt((conc + disc + tx) * (conc + disc + ty));
    return den > 0 ? (conc - disc) / den : NAN;
}
