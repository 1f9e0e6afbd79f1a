/*
 * statcommon.h - helpers shared by the ranking, classification, agreement,
 * data-quality and beyond-accuracy metric plugins: uniform access to an
 * input that arrives as records or as a table, id columns ("keys") that
 * may be integers or strings, a hash map from keys to dense indices, a
 * small parallel-for over pthreads, and JSON number helpers.
 *
 * Everything here is reentrant: no globals, state lives in the structs.
 */
#ifndef METRIC_STATCOMMON_H
#define METRIC_STATCOMMON_H

#include <assay/plugin.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- inputs: records or table ------------------------------------------ */

/*
 * One input value, records or table.  Borrowed from the host for the
 * duration of run(): never modified.  `n` is the number of records/rows.
 */
typedef struct sc_input {
    const char *port;       /* port name, for messages */
    const json_t *recs;     /* records array, or NULL */
    const assay_table *tab; /* table, or NULL */
    size_t n;
} sc_input;

/*
 * Fetch input `port`.  When it is not connected, *in is all-empty (recs
 * and tab NULL) and the call succeeds unless `required`.
 */
int sc_input_get(const assay_host *h, assay_io *io, const char *port,
                 bool required, sc_input *in, assay_error *err);

/* Build an input view over a records array (borrowed). */
void sc_input_from_records(sc_input *in, const char *port,
                           const json_t *recs);

/* Build an input view over a table (borrowed). */
void sc_input_from_table(sc_input *in, const char *port,
                         const assay_table *t);

/* True when the input has field/column `field` (records: the first
 * record has it). */
bool sc_input_has(const sc_input *in, const char *field);

/*
 * Read numeric field `field` of every row into out[0..n-1] (caller's
 * array).  Records: integers and reals (booleans read as 0/1 when
 * `allow_bool`); tables: int64 or float64 columns.  A missing field, a
 * non-number or a non-finite value fails with the record/row index and
 * the field name.
 */
int sc_input_nums(const sc_input *in, const char *field, bool allow_bool,
                  double *out, assay_error *err);

/*
 * Like sc_input_nums, but borrows a float64 table column instead of
 * copying it: *out points at the values, *owned is what the caller must
 * free (NULL when borrowed).
 */
int sc_input_nums_view(const sc_input *in, const char *field,
                       const double **out, double **owned,
                       assay_error *err);

/*
 * A column of ids: integers or strings.  Integer ids stay integers (fast
 * hashing and comparison); a column mixing both is read as strings (the
 * integers formatted in decimal).  Storage is either borrowed from the
 * input (table columns, record strings) or owned; free with sc_keys_free.
 */
typedef struct sc_keys {
    size_t n;
    bool is_str;
    const int64_t *i;      /* when !is_str */
    const char *const *s;  /* when is_str */
    int64_t *own_i;        /* owned storage, or NULL */
    const char **own_s;
    char *arena;
} sc_keys;

/* Read id field `field` of every row.  Missing values, nulls, reals that
 * are not integral and other types fail naming the row and field. */
int sc_input_keys(const sc_input *in, const char *field, sc_keys *k,
                  assay_error *err);

/* Turn integer keys into their decimal strings (no-op for strings), so
 * that two key columns of different kinds can be compared. */
int sc_keys_to_str(sc_keys *k, assay_error *err);

/* Free what `k` owns and zero it. */
void sc_keys_free(sc_keys *k);

/* Compare keys a (row ra of ka) and b (row rb of kb) of the same kind:
 * <0, 0, >0 (numeric order for integers, strcmp order for strings). */
static inline int sc_keys_cmp(const sc_keys *ka, size_t ra, const sc_keys *kb,
                              size_t rb)
{
    if (!ka->is_str) {
        int64_t a = ka->i[ra], b = kb->i[rb];
        return (a > b) - (a < b);
    }
    return strcmp(ka->s[ra], kb->s[rb]);
}

/* The key of row `r` as a new JSON value (integer or string), or NULL on
 * ENOMEM. */
json_t *sc_keys_json(const sc_keys *k, size_t r);

/* ---- hash map: key -> dense index --------------------------------------- */

/*
 * Open-addressing map from keys to dense ids 0..n-1 in insertion order.
 * Keys are referenced, not copied: the sc_keys they come from must outlive
 * the map.  All keys of one map are of one kind (integers or strings).
 */
typedef struct sc_keymap {
    size_t cap;      /* slots, a power of two */
    size_t n;        /* distinct keys */
    bool is_str;
    uint32_t *slot;  /* 0 = empty, else id + 1 */
    int64_t *ival;   /* per id: integer key */
    const char **sval; /* per id: string key */
    size_t *first;   /* per id: first row it was seen at */
    size_t idcap;
} sc_keymap;

int sc_keymap_init(sc_keymap *m, bool is_str, size_t expected,
                   assay_error *err);
void sc_keymap_free(sc_keymap *m);

/* Id of row `r` of `k`, inserting it when new (*isnew set when given). */
int sc_keymap_intern(sc_keymap *m, const sc_keys *k, size_t r, size_t *id,
                     bool *isnew, assay_error *err);

/* Id of row `r` of `k` if present. */
bool sc_keymap_find(const sc_keymap *m, const sc_keys *k, size_t r,
                    size_t *id);

static inline uint64_t sc_hash_i64(int64_t v)
{
    uint64_t z = (uint64_t)v + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t sc_hash_str(const char *s);

/* ---- parallel for ---------------------------------------------------------
 * Run fn(ctx, begin, end, worker, err) over [0, n) in chunks of `grain`
 * on `nthreads` threads (the caller's thread is one of them).  The first
 * failing chunk stops the others; its code and message are returned.
 * `h` (may be NULL) is polled for cancellation between chunks.
 */
typedef int (*sc_task_fn)(void *ctx, size_t begin, size_t end,
                          unsigned worker, assay_error *err);

int sc_parallel(const assay_host *h, unsigned nthreads, size_t n,
                size_t grain, sc_task_fn fn, void *ctx, assay_error *err);

/* ---- table outputs --------------------------------------------------------
 * A new table (through the host) of `nrows` rows: first the id column
 * `key_name` (the key of row krow[i] of `k`, integer or string, i <
 * nrows), then `ncols` float64 columns names[j] with the values
 * vals[i * stride + j] (NaN: missing).  On success the caller owns *out
 * (hand it to out_table or free it with h->table_free).
 */
int sc_table_keyed(const assay_host *h, const char *key_name,
                   const sc_keys *k, const size_t *krow, size_t nrows,
                   const char *const *names, size_t ncols,
                   const double *vals, size_t stride, assay_table **out,
                   assay_error *err);

/* Put "input 'PORT': " in front of err's message (a truncation-safe
 * variant of assay_error_prefix). */
void sc_error_port(assay_error *err, const char *port);

/* ---- JSON helpers -------------------------------------------------------- */

/* A JSON real, or null when `v` is not finite.  NULL only on ENOMEM. */
json_t *sc_json_num(double v);

/* json_object_set_new that reports ENOMEM (also when `v` is NULL). */
int sc_json_set(json_t *obj, const char *key, json_t *v, assay_error *err);

/* Read a list option of positive integers (e.g. ks: [5, 10]) into a new
 * array (caller frees).  Fails naming the option on a bad element. */
int sc_opt_int_list(const json_t *opts, const char *name, int64_t min,
                    int64_t **out, size_t *n, assay_error *err);

/* Percentile (linear interpolation between order statistics, numpy's
 * default) of a sorted array; `q` in [0, 1]. */
double sc_quantile_sorted(const double *sorted, size_t n, double q);

/* Sort doubles ascending (NaN-free input). */
void sc_sort_doubles(double *v, size_t n);

#endif /* METRIC_STATCOMMON_H */
