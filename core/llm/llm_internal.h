/*
 * core/llm/llm_internal.h - what the files of the LLM service share:
 * endpoint configuration (llm_config.c), the response cache
 * (llm_cache.c) and accounting records (llm_service.c).
 */
#ifndef ASSAY_CORE_LLM_INTERNAL_H
#define ASSAY_CORE_LLM_INTERNAL_H

#include "llm.h"

#include <curl/curl.h>
#include <stdatomic.h>
#include <sqlite3.h>

enum { LLM_CACHE_RW = 0, LLM_CACHE_OFF = 1, LLM_CACHE_REPLAY = 2 };

/* Counters of one endpoint or one node (guarded by the service's stats
 * lock). */
typedef struct llm_stats {
    uint64_t requests; /* results delivered (every outcome) */
    uint64_t sent;     /* HTTP attempts */
    uint64_t ok, cached, retried, failed, skipped, replay_miss;
    uint64_t prompt_tokens, completion_tokens;
    double cost;
    double *lat; /* latency of each successful attempt, ms */
    size_t nlat, caplat;
    /* dry run: estimates of what would be sent */
    uint64_t est_prompt, est_completion;
    double est_cost;
} llm_stats;

typedef struct llm_job llm_job;

/*
 * One replica of an endpoint: the same deployment (vLLM, SGLang, ...)
 * served at another base URL.  Requests go to the replica with the
 * fewest in flight; a failing one is taken out for a while (see
 * llm_service.c).  An endpoint with one base URL has one replica.
 */
typedef struct llm_replica {
    char *base_url;
    char chat_url[1024];
    char embed_url[1024];
    bool https;
    /* loop thread only */
    int in_flight;
    unsigned streak;    /* replica faults since its last success */
    bool down;          /* taken out */
    double down_until;  /* a down replica is probed again from then */
    double down_period; /* current length of its time out, seconds */
    /* counters and published state (stats lock) */
    uint64_t sent, ok, failed, moved, downs;
    uint64_t prompt_tokens, completion_tokens;
    bool shown_down;
} llm_replica;

/* One endpoint: configuration (immutable after create) and the loop
 * thread's scheduling state. */
typedef struct llm_endpoint {
    char *name;
    char *provider; /* plugin name, "llm.openai" */
    const assay_llm_provider *prov;
    char *base_url, *model, *api_key; /* base_url: the first replica's */
    assay_provider_endpoint pe;
    llm_replica *reps; /* at least one */
    size_t nreps;
    struct curl_slist *headers;
    json_t *defaults;           /* default parameters (object) */
    json_t *extra_header_names; /* for endpoint_info (values hidden) */
    int max_concurrency;
    double rpm, tpm; /* 0: unlimited */
    long timeout_ms, connect_timeout_ms;
    int retries;
    double backoff_s, backoff_max_s;
    double price_in, price_out; /* USD per 1M tokens */
    int cache_mode;

    /* loop thread only */
    llm_job *q_head, *q_tail; /* waiting to be sent, FIFO */
    int in_flight;
    double cwnd;             /* adaptive concurrency limit */
    atomic_uint cwnd_milli;  /* cwnd * 1000, for reports from any thread */
    uint64_t since_decrease; /* completions since the last decrease */
    double rpm_tokens, tpm_tokens, bucket_t;
    CURL **idle; /* reusable easy handles */
    size_t n_idle, cap_idle;
    size_t rr; /* where the next replica choice starts (ties) */

    llm_stats stats;
} llm_endpoint;

/* ---- llm_config.c ---------------------------------------------------- */

/* Parse and validate endpoint `name` from its JSON mapping into `ep`
 * (zeroed by the caller); cache_mode_override may be NULL.  Looks the
 * provider up with `find`.  Errors name "llm.NAME.KEY". */
int llm_endpoint_parse(llm_endpoint *ep, const char *name, const json_t *cfg,
                       const char *cache_mode_override, llm_find_plugin_fn find,
                       void *find_ud, assay_error *err);
void llm_endpoint_free(llm_endpoint *ep);

/* Run-wide budget limits (0: none). */
typedef struct llm_budget {
    double max_cost;
    uint64_t max_tokens, max_requests;
} llm_budget;

int llm_budget_parse(const json_t *cfg, llm_budget *b, assay_error *err);

/* Parse a cache mode name; -1 when unknown. */
int llm_cache_mode_parse(const char *s);

/* ---- llm_cache.c ----------------------------------------------------- */

typedef struct llm_cache llm_cache;

/* A cached answer (text owned by the caller after a get). */
typedef struct llm_cached {
    char *text;
    char finish[32];
    uint32_t prompt_tokens, completion_tokens;
    double latency_ms;
} llm_cached;

/* Open (creating) the cache database at `path`: WAL, one writer
 * connection (the loop thread's) plus a pool of readers. */
int llm_cache_open(const char *path, llm_cache **out, assay_error *err);
void llm_cache_close(llm_cache *c);

/* Look `key` up: 1 found (out filled, caller frees out->text), 0 not
 * found, negative on error.  Any thread. */
int llm_cache_get(llm_cache *c, const char *key, llm_cached *out,
                  assay_error *err);

/* Store an answer (writer; loop thread only).  Rows are grouped into one
 * transaction until llm_cache_flush. */
int llm_cache_put(llm_cache *c, const char *key, const char *model,
                  const llm_cached *v, assay_error *err);
int llm_cache_flush(llm_cache *c, assay_error *err);

/* Embedding vectors (own table): get is 1 found (*vec malloc'd, caller
 * frees), 0 not found, negative on error; put is the writer's. */
int llm_cache_get_vec(llm_cache *c, const char *key, double **vec, size_t *dim,
                      assay_error *err);
int llm_cache_put_vec(llm_cache *c, const char *key, const double *vec,
                      size_t dim, assay_error *err);

/* Prefix err->text with a printf-style head, truncating safely (the
 * SDK's assay_error_prefix trips -Wformat-truncation at -O2). */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void llm_error_prefix(assay_error *err, const char *fmt, ...);

/* ---- secrets ---------------------------------------------------------- */

/* Replace every occurrence of `secret` (if non-empty and at least 4
 * bytes) in the NUL-terminated `text` with "[redacted]", in place
 * (bounded by `size`). */
void llm_redact(char *text, size_t size, const char *secret);

#endif /* ASSAY_CORE_LLM_INTERNAL_H */
