/*
 * textcommon.h - shared machinery of the text metric plugins (metric.bleu,
 * metric.chrf, metric.ter, metric.rouge, metric.qa): UTF-8 helpers that
 * behave like Python's str methods, sacreBLEU's tokenizers, an n-gram hash
 * table, item input (records or table), a small thread helper and a
 * bootstrap for corpus statistics.
 *
 * Linked statically into each plugin (never exported).  No global state:
 * every function works on caller-owned buffers, so plugin instances and
 * worker threads run in parallel freely.
 */
#ifndef TEXTCOMMON_H
#define TEXTCOMMON_H

#include <assay/plugin.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- growable byte buffer ------------------------------------------- */

typedef struct tc_buf {
    char *p;
    size_t len, cap;
} tc_buf;

/* Make room for `extra` more bytes (plus a NUL).  ASSAY_ENOMEM on
 * failure, the buffer unchanged. */
int tc_buf_reserve(tc_buf *b, size_t extra);
/* Append `n` bytes of `s`. */
int tc_buf_put(tc_buf *b, const char *s, size_t n);
/* Release the memory (the struct may be reused afterwards). */
void tc_buf_free(tc_buf *b);

/* ---- UTF-8 and Python-compatible string predicates -------------------- */

/* Decode the code point at s[0] (n bytes available, n > 0); *adv gets
 * its byte length.  A malformed byte decodes as itself (U+0080..U+00FF
 * range is never produced by valid UTF-8, so it stays distinguishable). */
uint32_t tc_utf8_decode(const unsigned char *s, size_t n, size_t *adv);
/* Encode `cp` into out (4 bytes room); returns the byte count. */
size_t tc_utf8_encode(uint32_t cp, char *out);

/* Python's str.isspace() for one code point (the separators that
 * str.split() and str.strip() use). */
bool tc_is_space(uint32_t cp);

/* Byte length of s[0..n) without trailing Python whitespace (rstrip). */
size_t tc_rstrip_len(const char *s, size_t n);
/* Strip leading and trailing Python whitespace: adjusts *s and *n. */
void tc_strip(const char **s, size_t *n);

/* Python's str.lower() (full Unicode lowercase mapping, including
 * U+0130 -> "i\u0307" and the final-sigma rule), appended to `out`. */
int tc_lower(const char *s, size_t n, tc_buf *out);

/* ---- tokens ----------------------------------------------------------- */

/* A token: `len` bytes at `p` and a 64-bit hash of them. */
typedef struct tc_word {
    const char *p;
    uint32_t len;
    uint64_t h;
} tc_word;

typedef struct tc_words {
    tc_word *v;
    size_t n, cap;
} tc_words;

/* Hash of a byte string (not cryptographic; fast, well mixed). */
uint64_t tc_hash(const char *p, size_t n);
/* Combine an n-gram hash with the next token hash. */
static inline uint64_t tc_hash_next(uint64_t h, uint64_t t)
{
    h = (h ^ t) * 0x9e3779b97f4a7c15ULL;
    return h ^ (h >> 31);
}

/* Grow a token list (slow path of tc_words_push). */
int tc_words_grow(tc_words *w);

/* Append a token (hash computed here). */
static inline int tc_words_push(tc_words *w, const char *p, size_t len)
{
    if (w->n == w->cap && tc_words_grow(w))
        return ASSAY_ENOMEM;
    tc_word *t = &w->v[w->n++];
    t->p = p;
    t->len = (uint32_t)len;
    t->h = tc_hash(p, len);
    return ASSAY_OK;
}
void tc_words_free(tc_words *w);

/* Python's str.split() with no argument: the non-whitespace runs of
 * s[0..n), appended to `out` (tokens point into `s`). */
int tc_split(const char *s, size_t n, tc_words *out);

/* Byte equality of two strings of n bytes (inline: tokens are short). */
static inline bool tc_bytes_eq(const char *p, const char *q, size_t n)
{
    if (n >= 8) {
        uint64_t a, b;
        for (size_t i = 0; i + 8 <= n; i += 8) {
            memcpy(&a, p + i, 8);
            memcpy(&b, q + i, 8);
            if (a != b)
                return false;
        }
        memcpy(&a, p + n - 8, 8);
        memcpy(&b, q + n - 8, 8);
        return a == b;
    }
    if (n >= 4) {
        uint32_t a, b, c, d;
        memcpy(&a, p, 4);
        memcpy(&b, q, 4);
        memcpy(&c, p + n - 4, 4);
        memcpy(&d, q + n - 4, 4);
        return a == b && c == d;
    }
    for (size_t i = 0; i < n; i++)
        if (p[i] != q[i])
            return false;
    return true;
}

/* True when two tokens hold the same bytes. */
static inline bool tc_word_eq(const tc_word *a, const tc_word *b)
{
    return a->h == b->h && a->len == b->len &&
           tc_bytes_eq(a->p, b->p, a->len);
}

/* ---- sacreBLEU tokenizers --------------------------------------------- */

typedef enum tc_tokenizer {
    TC_TOK_NONE = 0, /* whitespace split only */
    TC_TOK_13A,      /* mteval-v13a (sacreBLEU default) */
    TC_TOK_INTL,     /* mteval-v14 international (Unicode P/S classes) */
    TC_TOK_CHAR,     /* every non-space character is a token */
    TC_TOK_ZH        /* CJK characters split, then 13a rules */
} tc_tokenizer;

/* Tokenizer by sacreBLEU name ("none", "13a", "intl", "char", "zh");
 * false for an unknown name. */
bool tc_tokenizer_from_name(const char *name, tc_tokenizer *out);
const char *tc_tokenizer_name(tc_tokenizer t);

/* Work space for tokenizing; reuse it across calls, free at the end. */
typedef struct tc_scratch {
    tc_buf a, b, c;
} tc_scratch;
void tc_scratch_free(tc_scratch *w);

/*
 * Tokenize s[0..n) exactly as sacreBLEU's tokenizer `t` does and split the
 * result like str.split(): tokens are appended to `out` and point into
 * `text`, which receives the tokenized string (cleared first; keep it
 * alive while the tokens are used).  `w` is scratch space.
 */
int tc_tokenize(tc_tokenizer t, const char *s, size_t n, tc_scratch *w,
                tc_buf *text, tc_words *out);

/* Python's str.replace(pat, rep) on src[0..n) into `dst` (cleared). */
int tc_replace_all(const char *src, size_t n, const char *pat,
                   const char *rep, tc_buf *dst);

/*
 * The four mteval-v13a regular-expression rules (punctuation, period and
 * comma unless next to digits, dash after a digit) on bytes src[0..n),
 * each applied left to right without overlapping matches as Python's
 * re.sub does, into `out` (`tmp` is scratch).  `possessive` inserts
 * Tercom's "'s " -> " 's " step after the first rule.  The caller pads
 * with spaces as its tokenizer does.
 */
int tc_regexp_rules(const char *src, size_t n, bool possessive, tc_buf *tmp,
                    tc_buf *out);

/* The same through a literal transcription of sacreBLEU's substitution
 * passes (slower; tests check tc_tokenize against it). */
int tc_tokenize_ref(tc_tokenizer t, const char *s, size_t n, tc_scratch *w,
                    tc_buf *text, tc_words *out);

/* ---- n-gram hash table ------------------------------------------------- */

/* One distinct n-gram: a run of `len` tokens starting at `w` (word mode)
 * or `len` bytes at `p` (byte mode), with four counters the caller
 * uses as it likes. */
typedef struct tc_gram {
    uint64_t h;
    const void *key;
    uint32_t len;
    uint32_t epoch; /* the table's epoch when filled (else: empty) */
    int32_t a, b, c, d;
} tc_gram;

typedef struct tc_gtab {
    tc_gram *v;
    size_t cap, alloc, n;
    uint32_t epoch;
    bool words; /* key is const tc_word * (else const char *) */
} tc_gtab;

/* Empty the table and size it for about `expect` distinct keys. */
int tc_gtab_reset(tc_gtab *t, size_t expect, bool words);
/* Find the entry for a key, or insert it (counters zero) when `add`;
 * NULL when absent and !add.  Never fails once reset() sized it for the
 * number of keys inserted. */
tc_gram *tc_gtab_find(tc_gtab *t, uint64_t h, const void *key, uint32_t len,
                      bool add);
void tc_gtab_free(tc_gtab *t);

/* ---- items: hypothesis + references from records or a table ---------- */

typedef struct tc_str {
    const char *p;
    size_t len;
} tc_str;

typedef struct tc_items {
    size_t n;          /* items */
    tc_str *hyp;       /* n hypotheses */
    size_t *ref_off;   /* n+1 offsets into refs */
    tc_str *refs;      /* references, item i: refs[ref_off[i]..ref_off[i+1]) */
    const json_t *records; /* the records input (borrowed) or NULL */
    const assay_column *id_col; /* table input: the id column or NULL */
    const assay_table *table;
} tc_items;

/*
 * Read the `port` input of a run as items.  Records: field `hyp_field`
 * (string) and `refs_field` (string, or array of strings where null
 * entries are skipped; at least one reference).  Table: string column
 * `hyp_field` and the string columns named `refs_field`,
 * `refs_field`_1, `refs_field`_2, ... (missing cells are skipped).
 * `need_refs` false lets items have zero references.  Strings are
 * borrowed from the input.  Errors name the record/row and the field.
 */
int tc_items_read(const assay_host *host, assay_io *io, const char *port,
                  const char *hyp_field, const char *refs_field,
                  bool need_refs, tc_items *out, assay_error *err);
void tc_items_free(tc_items *it);

/* The `id` of item i as a new JSON reference, or NULL when it has none. */
json_t *tc_items_id(const tc_items *it, size_t i);

/* ---- threads ------------------------------------------------------------- */

/* Work on items [begin, end) by worker `tid`; return 0 or an ASSAY_E*
 * code with `err` filled. */
typedef int (*tc_range_fn)(void *ctx, unsigned tid, size_t begin, size_t end,
                           assay_error *err);

/*
 * Split [0, n) into `nthreads` contiguous ranges and run `fn` on each, in
 * parallel (the calling thread takes range 0).  Returns the first failing
 * worker's code and message.  With nthreads <= 1 or small n it runs
 * inline.
 */
int tc_parallel(unsigned nthreads, size_t n, tc_range_fn fn, void *ctx,
                assay_error *err);

/* Threads to use for `n` items given the host's allowance. */
unsigned tc_threads_for(const assay_host *host, size_t n);

/*
 * Run `fn` over items [0, n) on `nthreads` threads (contiguous ranges, in
 * chunks of a few thousand items), checking host->cancelled between
 * chunks (ASSAY_ECANCELED) and reporting progress in "items".  `host`
 * may be NULL (tests, benchmarks).
 */
int tc_map_items(const assay_host *host, size_t n, unsigned nthreads,
                 tc_range_fn fn, void *ctx, assay_error *err);

/* ---- option and port declarations shared by the text plugins --------- */

#define TC_OPT_FIELDS                                                        \
    {.name = "hyp_field", .type = ASSAY_OPT_STRING, .def = "\"hyp\"",        \
     .doc = "record field (or table column) holding the hypothesis"},       \
    {.name = "refs_field", .type = ASSAY_OPT_STRING, .def = "\"refs\"",      \
     .doc = "field holding the reference: a string or a list of strings "  \
            "(table: column NAME plus NAME_1, NAME_2, ...)"}

#define TC_OPT_ITEMS_BOOT                                                    \
    {.name = "item_scores", .type = ASSAY_OPT_BOOL, .def = "true",          \
     .doc = "also output per-item scores on port 'items' (false: an "      \
            "empty list, for very large corpora)"},                         \
    {.name = "bootstrap", .type = ASSAY_OPT_INT, .def = "0",                \
     .has_min = true, .min = 0, .has_max = true, .max = 1000000,            \
     .doc = "bootstrap resamples of the items for a confidence interval "  \
            "of the corpus score (0: none)"},                               \
    {.name = "ci", .type = ASSAY_OPT_FLOAT, .def = "0.95", .has_min = true, \
     .min = 0.5, .has_max = true, .max = 0.9999,                            \
     .doc = "confidence level of the bootstrap interval"}

#define TC_PORTS_IN                                                          \
    {.name = "items", .type = ASSAY_T_ANY, .required = true,                \
     .doc = "records (or a table) with a hypothesis and its references"}, \
    {0}

#define TC_PORTS_OUT                                                         \
    {.name = "summary", .type = ASSAY_T_JSON,                               \
     .doc = "corpus score with its components (and 'ci' when "             \
            "bootstrapped)", .chart = "table"},                             \
    {.name = "items", .type = ASSAY_T_RECORDS,                              \
     .doc = "per-item scores, with the item's 'id' when it has one"},      \
    {0}

/* Copy the common options into a state: strdup'ed field names (free
 * them), item_scores, bootstrap and ci. */
typedef struct tc_common_opts {
    char *hyp_field, *refs_field;
    bool item_scores;
    unsigned bootstrap;
    double ci;
} tc_common_opts;
int tc_common_opts_read(const json_t *opts, tc_common_opts *out,
                        assay_error *err);
void tc_common_opts_free(tc_common_opts *o);

/* ---- bootstrap ----------------------------------------------------------- */

/* Corpus statistic from summed per-item statistics `sum` (k values). */
typedef double (*tc_stat_fn)(const double *sum, const void *ctx);

/*
 * Percentile bootstrap of a corpus statistic: `resamples` times draw n
 * items with replacement (paired: all statistics of an item travel
 * together), sum their k statistics (row-major n x k in `stats`) and
 * evaluate `fn`.  Returns the `level` interval in *lo, *hi and the
 * standard deviation of the replicates in *sd.  Deterministic for a seed
 * whatever the thread count.
 */
int tc_bootstrap(const double *stats, size_t n, size_t k, tc_stat_fn fn,
                 const void *ctx, unsigned resamples, double level,
                 uint64_t seed, unsigned nthreads, double *lo, double *hi,
                 double *sd, assay_error *err);

/* Add {"ci": {"level","low","high","sd","resamples"}} to `summary`. */
int tc_bootstrap_put(json_t *summary, double level, unsigned resamples,
                     double lo, double hi, double sd);

/* ---- small JSON helpers (return ASSAY_ENOMEM on allocation failure) --- */

int tc_json_setnum(json_t *obj, const char *key, double v);
int tc_json_setint(json_t *obj, const char *key, json_int_t v);
int tc_json_setstr(json_t *obj, const char *key, const char *v);
/* Set key to `v` (takes the reference, also on failure). */
int tc_json_setnew(json_t *obj, const char *key, json_t *v);

#endif /* TEXTCOMMON_H */
