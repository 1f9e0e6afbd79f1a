/*
 * core/llm/llm.h - the host's LLM service: named endpoints, one libcurl
 * multi event loop shared by every node, per-endpoint concurrency and
 * rate limits, retries with backoff and adaptive concurrency, a run-wide
 * budget, an SQLite response cache, accounting, and embeddings.
 *
 * The host creates one service per run from the experiment's `llm:` and
 * `budget:` sections and backs the llm_* / embed members of each node's
 * assay_host with the functions below, passing the node's name.
 *
 * Cache: answers are stored as they arrive (a killed run loses nothing
 * answered); with the cache on, identical requests in flight at the same
 * time, from any node, are sent once and the others get a copy (counted
 * as cache hits).
 *
 * Transport: HTTP/1.1 keep-alive, or HTTP/2 multiplexing where a TLS
 * server offers it; the proxy variables (http_proxy, https_proxy,
 * no_proxy) and CA variables (CURL_CA_BUNDLE or SSL_CERT_FILE,
 * SSL_CERT_DIR) are honoured; TLS verification is always on, and a
 * certificate or URL error fails at once (another attempt cannot fix
 * it; another replica may).
 *
 * Threads: every function may be called from any thread, concurrently,
 * except llm_service_destroy (once, after every call has returned).
 * Results are delivered on the calling thread.
 *
 * Endpoint keys (llm.NAME.*), all optional but provider and model:
 *   provider         "openai", "anthropic" or a plugin name ("llm.x")
 *   base_url         including the version prefix; default per provider
 *                    (https://api.openai.com/v1, https://api.anthropic.com/v1).
 *                    A list of URLs (or `base_urls: [...]`) names replicas
 *                    of one deployment (vLLM, SGLang behind several
 *                    addresses): see Replicas below
 *   model            model name sent to the server
 *   api_key          secret (normally "${ENV}"); never logged or stored
 *   headers          {Name: value} extra HTTP headers
 *   max_concurrency  requests in flight at once, over all replicas
 *                    (default 8)
 *   requests_per_minute, tokens_per_minute   limits (default none)
 *   timeout          seconds per attempt (default 120); connect_timeout (10)
 *   retries          extra attempts after the first (default 5)
 *   backoff, backoff_max   first retry delay and its cap, seconds
 *                    (default 0.5 and 30); Retry-After wins when longer
 *   temperature, top_p, max_tokens, seed, stop, response_format
 *                    default parameters ("json" = {"type":"json_object"})
 *   params           other provider parameters, passed through
 *   price            {input: USD, output: USD} per 1M tokens
 *   cache            read-write (default) | off | replay
 * Budget keys (budget.*): max_cost (USD), max_tokens, max_requests.
 * Numbers may also be given as numeric strings (env expansion).
 *
 * Replicas: every request of an endpoint with several base URLs goes to
 * the replica with the fewest requests in flight (ties in turn).  A
 * replica that refuses a connection, or fails 3 attempts in a row
 * (connection reset, timeout, HTTP 5xx), is taken out: its requests in
 * flight are sent again to the others at once, and it gets nothing for
 * 1 s, doubling at each new failure up to 60 s; then one request probes
 * it and a success puts it back.  A request moved to another replica
 * that is up does not spend its `retries`.  When every replica is out,
 * all are used again under the usual retries and backoff, as with one
 * URL.  Limits, budget, adaptive concurrency and the cache are the
 * endpoint's: the cache key never depends on the replica, and an answer
 * cached through one is served whatever replicas are listed later.
 */
#ifndef ASSAY_CORE_LLM_H
#define ASSAY_CORE_LLM_H

#include <assay/plugin.h>
#include <assay/provider.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct llm_service llm_service;

/* Look up a provider plugin by name ("llm.openai"); supplied by the host's
 * plugin registry.  The descriptor must outlive the service. */
typedef const assay_plugin *(*llm_find_plugin_fn)(void *ud, const char *name);

/*
 * Create the service.
 *   endpoints   the `llm:` mapping as JSON (env already expanded); NULL or
 *               empty: no endpoints (every call then fails "unknown
 *               endpoint")
 *   budget      the `budget:` mapping or NULL
 *   cache_path  SQLite file (its directory exists); NULL: no cache (then
 *               an endpoint in replay mode is an error)
 *   cache_mode  "read-write" | "off" | "replay", or NULL to use each
 *               endpoint's `cache:` (default read-write)
 * Validates every endpoint (unknown keys, types, provider exists) with
 * messages like "llm.judge.max_concurrency: expected a positive integer".
 * Starts the event loop thread.  *out is destroyed with
 * llm_service_destroy.
 */
int llm_service_create(const json_t *endpoints, const json_t *budget,
                       const char *cache_path, const char *cache_mode,
                       llm_find_plugin_fn find, void *find_ud,
                       llm_service **out, assay_error *err);

/* Stop sending: queued and in-flight requests end SKIPPED ("cancelled");
 * later calls return at once with every result SKIPPED. */
void llm_service_cancel(llm_service *s);

/* Stop the loop thread and free everything (NULL-safe).  No call may be
 * running. */
void llm_service_destroy(llm_service *s);

/* Progress of one batch/stream: `done` of `total` results delivered, of
 * which `cached` came from the cache.  Called on the calling thread. */
typedef void (*llm_progress_fn)(void *ud, uint64_t done, uint64_t total,
                                uint64_t cached);

/*
 * host->llm_batch for node `node` (borrowed, for accounting and
 * messages).  res[i] answers reqs[i]; the caller releases each with
 * llm_result_clear.  0 when every request has a result (per-item FAILED,
 * SKIPPED or REPLAY_MISS are outcomes, not errors); negative with `err`
 * only when the batch could not run (unknown endpoint, bad request,
 * out of memory): then every res[i] is cleared.  Requests are handed to
 * the loop in chunks while the rest are still being built, so those
 * before a bad one may have been sent already (their answers are cached
 * as usual).
 */
int llm_service_batch(llm_service *s, const char *node, const char *endpoint,
                      const assay_llm_request *reqs, size_t n,
                      assay_llm_result *res, llm_progress_fn progress,
                      void *pud, assay_error *err);

/* host->llm_stream: as assay_host.llm_stream in assay/host.h.  Returns
 * the callback's non-zero value if it stopped the stream. */
int llm_service_stream(llm_service *s, const char *node, const char *endpoint,
                       const assay_llm_request *reqs, size_t n,
                       assay_llm_on_result cb, void *ud,
                       llm_progress_fn progress, void *pud, assay_error *err);

/* host->llm_stream_add (only from the stream's callback). */
int llm_stream_add(assay_llm_stream *st, const assay_llm_request *req,
                   size_t *index, assay_error *err);

/* host->llm_result_clear: free r->text and zero the result. */
void llm_result_clear(assay_llm_result *r);

/* host->llm_endpoint_info: {name, provider, model, base_url (the first
 * replica's), base_urls, defaults, max_concurrency, price, cache}; never
 * the key nor the headers' values.
 * New reference, or NULL for an unknown endpoint. */
json_t *llm_service_endpoint_info(llm_service *s, const char *endpoint);

/* host->embed: *vectors is an n x *dim row-major array the caller frees
 * with free().  Each text's vector is cached (key: provider, model, text)
 * unless the cache is off; the texts not cached are sent in chunks of up
 * to 128 under the endpoint's limits and retries.  ASSAY_ENOTSUP when the
 * provider has no embeddings, ASSAY_ELLM when a chunk failed or, in
 * replay mode, a text is not cached (naming node and text). */
int llm_service_embed(llm_service *s, const char *node, const char *endpoint,
                      const char *const *texts, size_t n, double **vectors,
                      size_t *dim, assay_error *err);

/*
 * Accounting so far, as a new JSON object:
 *   {"endpoints": {NAME: S}, "nodes": {NODE: S}, "budget": {...}}
 * where S = {requests, sent, ok, cached, retried, failed, skipped,
 * replay_miss, prompt_tokens, completion_tokens, cost,
 * latency_ms: {p50, p90, p99}} (endpoints also carry provider, model,
 * the current adaptive concurrency and `replicas`: one object per base
 * URL {base_url, state ("up"/"down"), sent (attempts), ok, failed
 * (attempts), moved (taken off it in flight when it was taken out),
 * downs (times taken out), prompt_tokens, completion_tokens}).  For the
 * manifest and the summary.
 */
json_t *llm_service_usage(llm_service *s);

/* True once the run-wide budget stopped a request. */
bool llm_service_budget_exhausted(const llm_service *s);

/*
 * Cache key of a request: SHA-256 (hex, 64 chars + NUL) of the canonical
 * request, i.e. the provider's name, the sample index and the request
 * body with sorted keys (model, messages and effective parameters; never
 * the key or the URL).  0, or negative with `err` (unknown endpoint).
 */
int llm_service_cache_key(llm_service *s, const char *endpoint,
                          const assay_llm_request *req, char key[65],
                          assay_error *err);

/*
 * For `assay run --dry-run`.
 *
 * llm_service_set_dry_run(s, true): from then on batch/stream calls send
 * nothing; each request is looked up in the cache (a hit is returned as
 * usual, marked cached) and every miss ends SKIPPED with "dry run".  The
 * usage JSON then reports, per node, `requests` (all), `cached` (hits)
 * and `skipped` (would be sent), plus estimated tokens and cost in
 * {"dry_run": {NODE: {requests, cached, prompt_tokens_est,
 * completion_tokens_est, cost_est}}} inside llm_service_usage().
 *
 * llm_service_cached_count: how many of reqs[0..n-1] are already in the
 * cache of `endpoint` (0 when the cache is off).
 *
 * llm_service_estimate: cost in USD of `prompt_tokens` + `completion_tokens`
 * on `endpoint` (from its price), for estimates a plugin reports through
 * assay_estimate; negative with `err` for an unknown endpoint.
 */
void llm_service_set_dry_run(llm_service *s, bool on);
int llm_service_cached_count(llm_service *s, const char *endpoint,
                             const assay_llm_request *reqs, size_t n,
                             uint64_t *cached, assay_error *err);
int llm_service_estimate(llm_service *s, const char *endpoint,
                         uint64_t prompt_tokens, uint64_t completion_tokens,
                         double *cost, assay_error *err);

/* Rough token count of a text (bytes / 4, at least 1 for non-empty). */
uint64_t llm_estimate_tokens(const char *text);

/*
 * `assay llm ...`: argv after "llm" (argv[0] is the subcommand):
 *   ping [EXP.yaml] NAME [--prompt TEXT]   one request, prints model,
 *                                          latency, tokens, first words
 *                                          (one per replica)
 *   list [EXP.yaml]                        the configured endpoints
 * `endpoints` is the loaded experiment's `llm:` JSON (the host loads
 * EXP.yaml; an argument ending in .yaml/.yml/.json is skipped here).
 * Output on stdout, errors on stderr.  Returns 0 ok, 1 the request
 * failed, 2 bad usage or configuration.
 */
int llm_cli_main(int argc, char **argv, const json_t *endpoints,
                 llm_find_plugin_fn find, void *find_ud);

#endif /* ASSAY_CORE_LLM_H */
