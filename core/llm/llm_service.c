/*
 * core/llm/llm_service.c - the LLM service: jobs, the event loop thread,
 * scheduling under limits, retries, adaptive concurrency, budget,
 * delivery to the calling threads, accounting.
 *
 * Flow of one request:
 *   calling thread  build the body through the provider, hash it into the
 *                   cache key, look the key up (hit: result at once);
 *                   a miss becomes a job on the service's submit list
 *   loop thread     moves submitted jobs to their endpoint's queue,
 *                   starts them when the endpoint's concurrency window,
 *                   rate buckets and the budget allow, runs libcurl's
 *                   multi interface, classifies each answer (retry later,
 *                   fail, or done), writes answers to the cache and
 *                   pushes finished jobs to their stream's done list
 *   calling thread  waits on its stream, hands each finished job to the
 *                   caller (batch: into its slot; stream: the callback,
 *                   which may add follow-up requests)
 * The loop thread is the only one that touches libcurl and the
 * scheduling state; streams are the only shared meeting points.
 */
#include "llm_internal.h"
#include "../sha256.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { JOB_CHAT = 0, JOB_EMBED = 1 };

/* Texts per embedding request. */
#define EMBED_CHUNK 128
/* Largest response body accepted. */
#define RESP_MAX (64u << 20)
/* Completion tokens assumed by estimates when max_tokens is unknown. */
#define EST_COMPLETION_DEFAULT 256
/* Buckets of the identical-request table (power of two). */
#define LLM_DEDUP_BUCKETS 4096
/* Longest Retry-After honoured, seconds. */
#define RETRY_AFTER_MAX 600.0
/* Replicas: faults in a row (5xx, timeouts, resets) that take one out
 * (a refused connection takes it out at once), and the first and the
 * longest time out before it is probed again (doubling in between). */
#define REPLICA_FAULTS 3
#define REPLICA_DOWN_FIRST 1.0
#define REPLICA_DOWN_MAX 60.0

typedef struct llm_nodestat {
    struct llm_nodestat *next;
    char *name;
    llm_stats stats;
} llm_nodestat;

struct llm_job {
    llm_job *next;              /* queue, delayed, submit or done list */
    llm_job *fl_prev, *fl_next; /* in-flight list */
    llm_job *hnext;             /* dedup bucket chain (leaders) */
    llm_job *followers, *fnext; /* identical requests waiting on it */
    bool leader;
    assay_llm_stream *st;
    llm_endpoint *ep;
    llm_replica *rep; /* where the attempt in flight went */
    size_t index, item;
    int kind;
    bool in_flight;
    bool counted; /* first attempt counted against budget */
    /* attempts that do not count against `retries`: failed over from a
     * replica that failed to another one that is up, or taken off a
     * replica that was taken out */
    uint32_t free_attempts;
    char *body;
    size_t body_len;
    char key[65];
    uint64_t est_tokens; /* for tokens_per_minute */
    uint32_t attempts;
    double ready_at;
    double t_start;
    CURL *easy;
    char *buf;
    size_t len, cap;
    char errbuf[CURL_ERROR_SIZE];
    assay_llm_result res;
    json_t *emb_doc;       /* JOB_EMBED: the parsed answer */
    const size_t *emb_idx; /* its texts' positions (borrowed) */
    char (*emb_keys)[65];  /* cache keys of all texts, or NULL */
    size_t emb_n;
};

struct assay_llm_stream {
    llm_service *s;
    llm_endpoint *ep;
    llm_nodestat *ns;
    const char *node;
    assay_llm_on_result cb;
    void *ud;
    llm_progress_fn progress;
    void *pud;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    llm_job *done_head, *done_tail;
    size_t total, delivered;
    uint64_t cached;
    atomic_bool cancelled;
    bool in_cb;
    /* wake-ups: a stream with a user callback is woken for every
     * delivery (its follow-ups should go out at once); a batch only at
     * the end and every 100 ms for progress (under mu) */
    bool eager;
    size_t submitted, finished;
    double last_signal;
};

struct llm_service {
    llm_endpoint *eps;
    size_t neps;
    llm_budget budget;
    llm_cache *cache;
    char *cache_path;
    char *ca_file, *ca_path; /* from CURL_CA_BUNDLE/SSL_CERT_FILE/DIR */
    CURLM *multi;
    int epfd, evfd; /* the loop's epoll set and wake-up fd */
    pthread_t thread;
    bool thread_started;

    pthread_mutex_t mu; /* submit list */
    llm_job *sub_head, *sub_tail;
    atomic_bool stop, cancelled, budget_hit, dry_run;
    atomic_uint cancel_gen;

    pthread_mutex_t stats_mu; /* stats, nodes, budget counters */
    llm_nodestat *nodes;
    uint64_t b_requests, b_tokens;
    double b_cost;

    /* loop thread only */
    llm_job **dedup;  /* LLM_DEDUP_BUCKETS chains of leaders */
    llm_job *delayed; /* sorted by ready_at */
    llm_job *inflight;
    unsigned seen_gen;
    uint64_t rng;
    bool kick; /* a job went back to a queue: dispatch before sleeping */
    char budget_msg[160];
};

/* ---- small helpers ---------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

static char *xstrndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* Uniform double in [0, 1) from the loop thread's generator. */
static double rng_unit(llm_service *s)
{
    return (double)(assay_splitmix64(&s->rng) >> 11) * 0x1.0p-53;
}

uint64_t llm_estimate_tokens(const char *text)
{
    size_t n = text ? strlen(text) : 0;
    return n ? (n + 3) / 4 : 0;
}

void llm_result_clear(assay_llm_result *r)
{
    if (!r)
        return;
    free(r->text);
    memset(r, 0, sizeof *r);
}

static llm_endpoint *find_ep(llm_service *s, const char *name)
{
    for (size_t i = 0; name && i < s->neps; i++)
        if (strcmp(s->eps[i].name, name) == 0)
            return &s->eps[i];
    return NULL;
}

static int unknown_ep(llm_service *s, const char *name, assay_error *err)
{
    char list[512];
    size_t at = 0;
    list[0] = '\0';
    for (size_t i = 0; i < s->neps && at < sizeof list; i++) {
        int n = snprintf(list + at, sizeof list - at, "%s%s", i ? ", " : "",
                         s->eps[i].name);
        if (n < 0)
            break;
        at += (size_t)n;
    }
    return assay_error_set(err, ASSAY_EINVAL,
                           "unknown LLM endpoint '%s' (%s%s)",
                           name ? name : "(null)",
                           s->neps ? "defined: "
                                   : "the experiment has no "
                                     "llm: section",
                           list);
}

static void stats_lat(llm_stats *st, double ms)
{
    if (st->nlat == st->caplat) {
        size_t cap = st->caplat ? st->caplat * 2 : 256;
        double *p = realloc(st->lat, cap * sizeof *p);
        if (!p)
            return; /* a lost latency sample is not worth failing for */
        st->lat = p;
        st->caplat = cap;
    }
    st->lat[st->nlat++] = ms;
}

/* Node record by name (stats_mu held). */
static llm_nodestat *node_get(llm_service *s, const char *name)
{
    llm_nodestat *n;
    if (!name)
        name = "(none)";
    for (n = s->nodes; n; n = n->next)
        if (strcmp(n->name, name) == 0)
            return n;
    n = calloc(1, sizeof *n);
    if (!n || !(n->name = xstrdup(name))) {
        free(n);
        return NULL;
    }
    n->next = s->nodes;
    s->nodes = n;
    return n;
}

static double ep_cost(const llm_endpoint *ep, uint64_t in, uint64_t out)
{
    return ((double)in * ep->price_in + (double)out * ep->price_out) / 1e6;
}

/* ---- the loop thread ----------------------------------------------------- */

static size_t on_write(char *data, size_t size, size_t nmemb, void *ud)
{
    llm_job *j = ud;
    size_t n = size * nmemb;
    if (j->len + n + 1 > j->cap) {
        size_t cap = j->cap ? j->cap : 1024;
        while (cap < j->len + n + 1)
            cap *= 2;
        if (cap > RESP_MAX)
            return 0; /* curl fails the transfer: CURLE_WRITE_ERROR */
        char *p = realloc(j->buf, cap);
        if (!p)
            return 0;
        j->buf = p;
        j->cap = cap;
    }
    memcpy(j->buf + j->len, data, n);
    j->len += n;
    j->buf[j->len] = '\0';
    return n;
}

static CURL *easy_get(llm_service *s, llm_endpoint *ep)
{
    if (ep->n_idle)
        return ep->idle[--ep->n_idle];
    CURL *e = curl_easy_init();
    if (!e)
        return NULL;
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, ep->headers);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, ep->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, ep->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    /* libcurl reads the proxy variables itself; the CA variables only
     * the curl tool and OpenSSL do, and libcurl's built-in bundle path
     * would hide them: pass them on.  Verification stays on. */
    if (s->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, s->ca_file);
    if (s->ca_path)
        curl_easy_setopt(e, CURLOPT_CAPATH, s->ca_path);
    return e;
}

static void easy_put(llm_endpoint *ep, CURL *e)
{
    if (ep->n_idle == ep->cap_idle) {
        size_t cap = ep->cap_idle ? ep->cap_idle * 2 : 16;
        CURL **p = realloc(ep->idle, cap * sizeof *p);
        if (!p) {
            curl_easy_cleanup(e);
            return;
        }
        ep->idle = p;
        ep->cap_idle = cap;
    }
    ep->idle[ep->n_idle++] = e;
}

/* Set a job's outcome message, never showing the endpoint's key. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void
job_error(llm_job *j, assay_llm_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->res.error, sizeof j->res.error, fmt, ap);
    va_end(ap);
    llm_redact(j->res.error, sizeof j->res.error, j->ep->api_key);
    j->res.status = status;
    free(j->res.text);
    j->res.text = NULL;
}

/* Hand finished jobs to their streams (grouped per stream). */
static void deliver(llm_job *list)
{
    double t = now_s();
    while (list) {
        llm_job *j = list, *last = j;
        assay_llm_stream *st = j->st;
        size_t k = 1;
        /* take the run of consecutive jobs of the same stream */
        while (last->next && last->next->st == st) {
            last = last->next;
            k++;
        }
        list = last->next;
        last->next = NULL;
        pthread_mutex_lock(&st->mu);
        if (st->done_tail)
            st->done_tail->next = j;
        else
            st->done_head = j;
        st->done_tail = last;
        st->finished += k;
        if (st->eager || st->finished >= st->submitted ||
            t - st->last_signal >= 0.1) {
            st->last_signal = t;
            pthread_cond_signal(&st->cv);
        }
        pthread_mutex_unlock(&st->mu);
    }
}

typedef struct loop_out {
    llm_job *head, *tail; /* finished, to deliver */
} loop_out;

static void out_append(loop_out *o, llm_job *j)
{
    j->next = NULL;
    if (o->tail)
        o->tail->next = j;
    else
        o->head = j;
    o->tail = j;
}

/* ---- identical requests in flight ----------------------------------------
 * With the cache on, a request whose key is already queued, waiting for a
 * retry or in flight (from any node) is not sent again: it follows that
 * leader and gets a copy of its answer, counted as a cache hit. */

static size_t dedup_slot(const char *key)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const char *p = key; *p; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
    return (size_t)(h & (LLM_DEDUP_BUCKETS - 1));
}

static bool dedup_on(const llm_service *s, const llm_job *j)
{
    return j->kind == JOB_CHAT && s->cache && s->dedup &&
           j->ep->cache_mode == LLM_CACHE_RW;
}

/* Attach `j` to a leader with the same key, or make it one.  True when
 * it became a follower (and must not be queued). */
static bool dedup_attach(llm_service *s, llm_job *j)
{
    if (!dedup_on(s, j))
        return false;
    size_t b = dedup_slot(j->key);
    for (llm_job *l = s->dedup[b]; l; l = l->hnext)
        if (l->ep == j->ep && strcmp(l->key, j->key) == 0) {
            j->fnext = l->followers;
            l->followers = j;
            return true;
        }
    j->hnext = s->dedup[b];
    s->dedup[b] = j;
    j->leader = true;
    return false;
}

static void dedup_remove(llm_service *s, llm_job *j)
{
    if (!j->leader)
        return;
    llm_job **pp = &s->dedup[dedup_slot(j->key)];
    while (*pp && *pp != j)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = j->hnext;
    j->hnext = NULL;
    j->leader = false;
}

static void queue_front(llm_job *j)
{
    j->next = j->ep->q_head;
    j->ep->q_head = j;
    if (!j->ep->q_tail)
        j->ep->q_tail = j;
}

/* A job has its final outcome: hand it, and its followers, to delivery.
 * A follower whose leader was dropped only because the leader's own
 * stream was cancelled is sent on its own instead. */
static void out_push(llm_service *s, loop_out *o, llm_job *j)
{
    llm_job *f = j->followers;
    bool requeue = j->res.status == ASSAY_LLM_SKIPPED &&
                   atomic_load(&j->st->cancelled) &&
                   !atomic_load(&s->cancelled);
    dedup_remove(s, j);
    j->followers = NULL;
    while (f) {
        llm_job *nf = f->fnext;
        f->fnext = NULL;
        if (requeue && !atomic_load(&f->st->cancelled)) {
            if (!dedup_attach(s, f))
                queue_front(f);
        } else {
            free(f->res.text);
            f->res = j->res;
            f->res.text = NULL;
            if (j->res.text && !(f->res.text = xstrdup(j->res.text))) {
                f->res.status = ASSAY_LLM_FAILED;
                snprintf(f->res.error, sizeof f->res.error,
                         "out of memory copying an answer");
            }
            if (f->res.status == ASSAY_LLM_OK) {
                f->res.cached = true;
                f->res.attempts = 0;
            }
            out_append(o, f);
        }
        f = nf;
    }
    out_append(o, j);
}

static void inflight_remove(llm_service *s, llm_job *j)
{
    if (j->fl_prev)
        j->fl_prev->fl_next = j->fl_next;
    else
        s->inflight = j->fl_next;
    if (j->fl_next)
        j->fl_next->fl_prev = j->fl_prev;
    j->fl_prev = j->fl_next = NULL;
    j->in_flight = false;
}

/* Stop an in-flight transfer and give its handle back. */
static void job_abort(llm_service *s, llm_job *j)
{
    curl_multi_remove_handle(s->multi, j->easy);
    easy_put(j->ep, j->easy);
    j->easy = NULL;
    j->ep->in_flight--;
    if (j->rep)
        j->rep->in_flight--;
    j->rep = NULL;
    inflight_remove(s, j);
}

/* ---- replicas ------------------------------------------------------------
 * A request goes to the replica with the fewest requests in flight (ties
 * taken in turn).  A replica that fails (REPLICA_FAULTS faults in a row,
 * or a refused connection) is taken out: its requests in flight go back
 * to the front of the queue for the others, and it gets nothing until its
 * time out (REPLICA_DOWN_FIRST, doubling up to REPLICA_DOWN_MAX) has
 * passed; then one request at a time probes it, and the first success
 * puts it back.  When every replica is out they are all used anyway, so
 * that an endpoint that is down as a whole fails under the usual
 * retries, as a single URL would. */

static bool replica_usable(const llm_replica *r, double t)
{
    return !r->down || (t >= r->down_until && r->in_flight == 0);
}

static llm_replica *replica_pick(llm_endpoint *ep, double t)
{
    llm_replica *best = NULL;
    if (ep->nreps == 1)
        return &ep->reps[0];
    for (int pass = 0; pass < 2 && !best; pass++)
        for (size_t k = 0; k < ep->nreps; k++) {
            llm_replica *r = &ep->reps[(ep->rr + k) % ep->nreps];
            if (pass == 0 && !replica_usable(r, t))
                continue;
            if (!best || r->in_flight < best->in_flight)
                best = r;
        }
    ep->rr++;
    return best;
}

/* True when a replica other than `r` is up. */
static bool replica_other_up(const llm_endpoint *ep, const llm_replica *r)
{
    for (size_t k = 0; k < ep->nreps; k++)
        if (&ep->reps[k] != r && !ep->reps[k].down)
            return true;
    return false;
}

/* True when a failed attempt says something about the replica rather
 * than the request: no connection, a reset, a timeout, a 5xx. */
static bool replica_fault(CURLcode cc, long status)
{
    if (cc != CURLE_OK)
        return cc != CURLE_WRITE_ERROR && cc != CURLE_OUT_OF_MEMORY &&
               cc != CURLE_ABORTED_BY_CALLBACK;
    return status >= 500 && status <= 599;
}

/* Transfer errors another attempt cannot fix: the URL, the server's
 * certificate, the local TLS setup (still worth another replica). */
static bool curl_retryable(CURLcode cc)
{
    switch (cc) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        return false;
    default:
        return true;
    }
}

static bool connect_refused(CURLcode cc)
{
    return cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST;
}

/* Take replica `r` out until its time out has passed; its requests in
 * flight go back to the queue when another replica can take them. */
static void replica_down(llm_service *s, llm_endpoint *ep, llm_replica *r,
                         double t)
{
    r->down_period = r->down_period > 0
                         ? fmin(2 * r->down_period, REPLICA_DOWN_MAX)
                         : REPLICA_DOWN_FIRST;
    r->down_until = t + r->down_period * (0.75 + 0.5 * rng_unit(s));
    bool was_down = r->down;
    r->down = true;
    uint64_t moved = 0;
    if (replica_other_up(ep, r))
        for (llm_job *j = s->inflight, *nx; j; j = nx) {
            nx = j->fl_next;
            if (j->rep != r)
                continue;
            job_abort(s, j);
            j->free_attempts++;
            queue_front(j);
            moved++;
            s->kick = true;
        }
    pthread_mutex_lock(&s->stats_mu);
    if (!was_down)
        r->downs++;
    r->moved += moved;
    r->shown_down = true;
    pthread_mutex_unlock(&s->stats_mu);
}

/* An attempt on `r` succeeded: it is up again. */
static void replica_ok(llm_service *s, llm_replica *r)
{
    r->streak = 0;
    if (!r->down)
        return;
    r->down = false;
    r->down_period = 0;
    pthread_mutex_lock(&s->stats_mu);
    r->shown_down = false;
    pthread_mutex_unlock(&s->stats_mu);
}

static bool budget_reached(llm_service *s)
{
    const llm_budget *b = &s->budget;
    bool hit = false;
    pthread_mutex_lock(&s->stats_mu);
    if (b->max_requests && s->b_requests >= b->max_requests) {
        snprintf(s->budget_msg, sizeof s->budget_msg,
                 "LLM budget reached: max_requests %llu",
                 (unsigned long long)b->max_requests);
        hit = true;
    } else if (b->max_tokens && s->b_tokens >= b->max_tokens) {
        snprintf(s->budget_msg, sizeof s->budget_msg,
                 "LLM budget reached: max_tokens %llu (used %llu)",
                 (unsigned long long)b->max_tokens,
                 (unsigned long long)s->b_tokens);
        hit = true;
    } else if (b->max_cost > 0 && s->b_cost >= b->max_cost) {
        snprintf(s->budget_msg, sizeof s->budget_msg,
                 "LLM budget reached: max_cost %.4f USD (spent %.4f)",
                 b->max_cost, s->b_cost);
        hit = true;
    }
    pthread_mutex_unlock(&s->stats_mu);
    if (hit)
        atomic_store(&s->budget_hit, true);
    return hit;
}

static void job_start(llm_service *s, llm_job *j, loop_out *o)
{
    llm_endpoint *ep = j->ep;
    CURL *e = easy_get(s, ep);
    if (!e) {
        job_error(j, ASSAY_LLM_FAILED, "out of memory starting a request");
        out_push(s, o, j);
        return;
    }
    llm_replica *r = replica_pick(ep, now_s());
    curl_easy_setopt(e, CURLOPT_URL,
                     j->kind == JOB_EMBED ? r->embed_url : r->chat_url);
    /* Over TLS, ALPN tells at the handshake whether HTTP/2 multiplexing
     * is on: wait for it rather than opening a connection per request.
     * Plain http:// learns it only from the first response, so waiting
     * there would queue every request behind the first one. */
    curl_easy_setopt(e, CURLOPT_PIPEWAIT, r->https ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)j->body_len);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
    curl_easy_setopt(e, CURLOPT_PRIVATE, j);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->errbuf);
    j->errbuf[0] = '\0';
    j->len = 0;
    j->easy = e;
    j->attempts++;
    j->t_start = now_s();
    if (curl_multi_add_handle(s->multi, e) != CURLM_OK) {
        easy_put(ep, e);
        j->easy = NULL;
        job_error(j, ASSAY_LLM_FAILED, "could not start a request");
        out_push(s, o, j);
        return;
    }
    ep->in_flight++;
    r->in_flight++;
    j->rep = r;
    j->in_flight = true;
    j->fl_prev = NULL;
    j->fl_next = s->inflight;
    if (s->inflight)
        s->inflight->fl_prev = j;
    s->inflight = j;
    pthread_mutex_lock(&s->stats_mu);
    ep->stats.sent++;
    r->sent++;
    if (!j->counted) {
        s->b_requests++;
        j->counted = true;
    } else {
        ep->stats.retried++;
    }
    pthread_mutex_unlock(&s->stats_mu);
}

/* Refill the endpoint's rate buckets up to one second's worth. */
static void buckets_refill(llm_endpoint *ep, double t)
{
    double dt = t - ep->bucket_t;
    ep->bucket_t = t;
    if (dt <= 0)
        return;
    if (ep->rpm > 0) {
        double cap = fmax(1.0, ep->rpm / 60.0);
        ep->rpm_tokens = fmin(cap, ep->rpm_tokens + dt * ep->rpm / 60.0);
    }
    if (ep->tpm > 0) {
        double cap = fmax(1.0, ep->tpm / 60.0);
        ep->tpm_tokens = fmin(cap, ep->tpm_tokens + dt * ep->tpm / 60.0);
    }
}

/*
 * Start queued jobs of `ep` while its window, buckets and the budget
 * allow.  Returns the delay (s) after which a bucket allows the next one,
 * or a large value.
 */
static double dispatch(llm_service *s, llm_endpoint *ep, double t, loop_out *o)
{
    double wait = 3600;
    buckets_refill(ep, t);
    while (ep->q_head) {
        llm_job *j = ep->q_head;
        int window = ep->cwnd < 1 ? 1 : (int)ep->cwnd;
        bool drop =
            atomic_load(&s->cancelled) || atomic_load(&j->st->cancelled);
        if (!drop && ep->in_flight >= window)
            break;
        if (!drop && !j->counted && budget_reached(s)) {
            ep->q_head = j->next;
            if (!ep->q_head)
                ep->q_tail = NULL;
            job_error(j, ASSAY_LLM_SKIPPED, "%s", s->budget_msg);
            out_push(s, o, j);
            continue;
        }
        if (drop) {
            ep->q_head = j->next;
            if (!ep->q_head)
                ep->q_tail = NULL;
            job_error(j, ASSAY_LLM_SKIPPED, "cancelled before it was sent");
            out_push(s, o, j);
            continue;
        }
        if (ep->rpm > 0 && ep->rpm_tokens < 1.0) {
            wait = fmin(wait, (1.0 - ep->rpm_tokens) * 60.0 / ep->rpm);
            break;
        }
        if (ep->tpm > 0) {
            double need =
                fmin((double)j->est_tokens, fmax(1.0, ep->tpm / 60.0));
            if (ep->tpm_tokens < need) {
                wait = fmin(wait, (need - ep->tpm_tokens) * 60.0 / ep->tpm);
                break;
            }
            ep->tpm_tokens -= (double)j->est_tokens;
        }
        if (ep->rpm > 0)
            ep->rpm_tokens -= 1.0;
        ep->q_head = j->next;
        if (!ep->q_head)
            ep->q_tail = NULL;
        j->next = NULL;
        job_start(s, j, o);
    }
    return wait;
}

/* Put a job back for another attempt after `delay` seconds. */
static void job_retry_later(llm_service *s, llm_job *j, double delay)
{
    j->ready_at = now_s() + delay;
    llm_job **pp = &s->delayed;
    while (*pp && (*pp)->ready_at <= j->ready_at)
        pp = &(*pp)->next;
    j->next = *pp;
    *pp = j;
}

/* The server's message of an error body, redacted and one line. */
static void server_message(llm_job *j, char *msg, size_t msgsz)
{
    json_t *doc = j->len ? json_loadb(j->buf, j->len, 0, NULL) : NULL;
    size_t n = j->ep->prov->error_message(doc, msg, msgsz);
    json_decref(doc);
    if (n == 0) {
        /* not JSON or no message: the start of the body */
        size_t k = j->len < 200 ? j->len : 200;
        if (msgsz == 0)
            return;
        if (k >= msgsz)
            k = msgsz - 1;
        if (j->buf)
            memcpy(msg, j->buf, k);
        msg[k] = '\0';
    }
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
}

/* Parse a 2xx answer into the result; false (with res.error) when it is
 * malformed, which is retried. */
static bool parse_answer(llm_job *j)
{
    json_error_t jerr;
    json_t *doc = json_loadb(j->buf ? j->buf : "", j->len, 0, &jerr);
    if (!doc) {
        job_error(j, ASSAY_LLM_FAILED, "invalid JSON in the response: %s",
                  jerr.text);
        return false;
    }
    if (j->kind == JOB_EMBED) {
        assay_error e;
        if (!j->ep->prov->embed_vector(doc, 0, &e)) {
            job_error(j, ASSAY_LLM_FAILED, "malformed response: %s", e.text);
            json_decref(doc);
            return false;
        }
        json_decref(j->emb_doc);
        j->emb_doc = doc;
        j->res.status = ASSAY_LLM_OK;
        j->res.prompt_tokens = (uint32_t)json_integer_value(
            json_object_get(json_object_get(doc, "usage"), "prompt_tokens"));
        return true;
    }
    assay_provider_reply rep = {0};
    assay_error e;
    if (j->ep->prov->chat_parse(doc, &rep, &e) != 0) {
        job_error(j, ASSAY_LLM_FAILED, "malformed response: %s", e.text);
        json_decref(doc);
        return false;
    }
    char *text = xstrndup(rep.text ? rep.text : "", rep.text_len);
    if (!text) {
        json_decref(doc);
        job_error(j, ASSAY_LLM_FAILED, "out of memory reading the answer");
        return false;
    }
    free(j->res.text);
    j->res.text = text;
    j->res.status = ASSAY_LLM_OK;
    j->res.error[0] = '\0';
    snprintf(j->res.finish_reason, sizeof j->res.finish_reason, "%s",
             rep.finish_reason ? rep.finish_reason : "");
    j->res.prompt_tokens = rep.prompt_tokens;
    j->res.completion_tokens = rep.completion_tokens;
    json_decref(doc);
    return true;
}

/* Store the vectors of an answered embedding job in the cache (loop
 * thread; a vector that cannot be read is simply not stored). */
static void embed_store(llm_service *s, llm_job *j)
{
    double *row = NULL;
    size_t cap = 0;
    for (size_t i = 0; i < j->emb_n; i++) {
        const json_t *vec = j->ep->prov->embed_vector(j->emb_doc, i, NULL);
        size_t d = json_array_size(vec);
        if (!d)
            continue;
        if (d > cap) {
            double *p = realloc(row, d * sizeof *p);
            if (!p)
                break;
            row = p;
            cap = d;
        }
        size_t c;
        for (c = 0; c < d && json_is_number(json_array_get(vec, c)); c++)
            row[c] = json_number_value(json_array_get(vec, c));
        if (c == d)
            llm_cache_put_vec(s->cache, j->emb_keys[j->emb_idx[i]], row, d,
                              NULL);
    }
    free(row);
}

/* Handle one finished transfer. */
static void job_done(llm_service *s, llm_job *j, CURLcode cc, loop_out *o)
{
    llm_endpoint *ep = j->ep;
    llm_replica *r = j->rep;
    long status = 0;
    curl_off_t retry_after = -1;
    double t = now_s();
    bool retry = false;
    char msg[400];

    curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &status);
    if (curl_easy_getinfo(j->easy, CURLINFO_RETRY_AFTER, &retry_after) !=
        CURLE_OK)
        retry_after = -1;
    job_abort(s, j);
    j->res.http_status = (int)status;
    j->res.attempts = j->attempts;
    ep->since_decrease++;

    if (cc != CURLE_OK) {
        if (cc == CURLE_OPERATION_TIMEDOUT)
            job_error(j, ASSAY_LLM_FAILED,
                      "timed out after %ld ms (attempt %u)", ep->timeout_ms,
                      j->attempts);
        else
            job_error(j, ASSAY_LLM_FAILED, "connection error: %s",
                      j->errbuf[0] ? j->errbuf : curl_easy_strerror(cc));
        retry = curl_retryable(cc);
    } else if (status >= 200 && status < 300) {
        if (parse_answer(j)) {
            j->res.latency_ms = (t - j->t_start) * 1e3;
            /* additive increase: one more slot per window of successes */
            if (ep->cwnd < ep->max_concurrency) {
                ep->cwnd = fmin(ep->max_concurrency,
                                ep->cwnd + 1.0 / fmax(1.0, ep->cwnd));
                atomic_store_explicit(&ep->cwnd_milli,
                                      (unsigned)(ep->cwnd * 1000),
                                      memory_order_relaxed);
            }
            /* correct the token bucket by what was really used */
            if (ep->tpm > 0)
                ep->tpm_tokens -=
                    (double)(j->res.prompt_tokens + j->res.completion_tokens) -
                    (double)j->est_tokens;
            replica_ok(s, r);
            pthread_mutex_lock(&s->stats_mu);
            s->b_tokens += j->res.prompt_tokens + j->res.completion_tokens;
            s->b_cost +=
                ep_cost(ep, j->res.prompt_tokens, j->res.completion_tokens);
            r->ok++;
            r->prompt_tokens += j->res.prompt_tokens;
            r->completion_tokens += j->res.completion_tokens;
            pthread_mutex_unlock(&s->stats_mu);
            if (j->kind == JOB_EMBED && s->cache &&
                ep->cache_mode == LLM_CACHE_RW && j->emb_keys)
                embed_store(s, j);
            if (j->kind == JOB_CHAT && s->cache &&
                ep->cache_mode == LLM_CACHE_RW) {
                llm_cached v = {.text = j->res.text,
                                .prompt_tokens = j->res.prompt_tokens,
                                .completion_tokens = j->res.completion_tokens,
                                .latency_ms = j->res.latency_ms};
                snprintf(v.finish, sizeof v.finish, "%s", j->res.finish_reason);
                llm_cache_put(s->cache, j->key, ep->model, &v, NULL);
            }
            out_push(s, o, j);
            return;
        }
        retry = true; /* malformed answer: ask again */
    } else {
        server_message(j, msg, sizeof msg);
        job_error(j, ASSAY_LLM_FAILED, "HTTP %ld: %s", status,
                  msg[0] ? msg : "(no message)");
        retry = status == 429 || status == 408 || status >= 500;
        if (status == 429) {
            /* multiplicative decrease, at most once per window */
            if (ep->since_decrease >= (uint64_t)fmax(1.0, ep->cwnd) ||
                ep->cwnd >= ep->max_concurrency) {
                ep->cwnd = fmax(1.0, ep->cwnd / 2);
                atomic_store_explicit(&ep->cwnd_milli,
                                      (unsigned)(ep->cwnd * 1000),
                                      memory_order_relaxed);
                ep->since_decrease = 0;
            }
        }
    }
    pthread_mutex_lock(&s->stats_mu);
    r->failed++;
    pthread_mutex_unlock(&s->stats_mu);
    bool cancelled =
        atomic_load(&s->cancelled) || atomic_load(&j->st->cancelled);
    if (ep->nreps > 1 && replica_fault(cc, status)) {
        r->streak++;
        if (r->down || connect_refused(cc) || r->streak >= REPLICA_FAULTS)
            replica_down(s, ep, r, t);
        /* another replica is up: ask it at once, at no cost to the
         * request's retries (bounded, for a request that fails
         * everywhere) */
        if (!cancelled && replica_other_up(ep, r) &&
            j->free_attempts < 2 * ep->nreps) {
            j->free_attempts++;
            queue_front(j);
            s->kick = true;
            return;
        }
    }
    uint32_t counted = j->attempts - j->free_attempts; /* >= 1: this one */
    if (retry && counted <= (uint32_t)ep->retries && !cancelled) {
        double d = ep->backoff_s * pow(2.0, (double)counted - 1);
        d = fmin(d, ep->backoff_max_s) * (0.5 + 0.5 * rng_unit(s));
        if (retry_after > 0)
            d = fmax(d, fmin((double)retry_after, RETRY_AFTER_MAX));
        job_retry_later(s, j, d);
        return;
    }
    if (retry) {
        char last[sizeof j->res.error];
        memcpy(last, j->res.error, sizeof last);
        job_error(j, ASSAY_LLM_FAILED, "failed after %u attempts: %s",
                  j->attempts, last);
    }
    out_push(s, o, j);
}

/* Sweep every job of cancelled streams (or all, when the service is
 * cancelled) out of the queues, the delayed list and the transfers. */
static void sweep_cancelled(llm_service *s, loop_out *o)
{
    bool all = atomic_load(&s->cancelled);
    llm_job **pp = &s->delayed;
    while (*pp) {
        llm_job *j = *pp;
        if (all || atomic_load(&j->st->cancelled)) {
            *pp = j->next;
            job_error(j, ASSAY_LLM_SKIPPED, "cancelled before it was sent");
            out_push(s, o, j);
        } else {
            pp = &j->next;
        }
    }
    for (llm_job *j = s->inflight, *nx; j; j = nx) {
        nx = j->fl_next;
        if (all || atomic_load(&j->st->cancelled)) {
            job_abort(s, j);
            job_error(j, ASSAY_LLM_SKIPPED, "cancelled while in flight");
            out_push(s, o, j);
        }
    }
    /* queued jobs are dropped by dispatch() */
}

/* ---- event loop: libcurl's socket interface over epoll -----------------
 * curl tells which sockets to watch (on_socket) and when its next timeout
 * is due (curl_multi_timeout); the loop waits on epoll and reports each ready
 * socket with curl_multi_socket_action, so the work per wake-up is
 * proportional to the sockets that are ready, not to the transfers in
 * flight.  An eventfd in the same epoll set wakes the loop when a
 * calling thread submits or cancels. */

static int on_socket(CURL *e, curl_socket_t fd, int what, void *ud, void *sockp)
{
    llm_service *s = ud;
    (void)e;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(s->epfd, EPOLL_CTL_DEL, fd, NULL);
        return 0;
    }
    struct epoll_event ev = {.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0u) |
                                       ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u),
                             .data.fd = fd};
    if (!sockp) {
        if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) != 0 && errno == EEXIST)
            epoll_ctl(s->epfd, EPOLL_CTL_MOD, fd, &ev);
        curl_multi_assign(s->multi, fd, s);
    } else if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, fd, &ev) != 0 &&
               errno == ENOENT) {
        epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev);
    }
    return 0;
}

static void loop_wake(llm_service *s)
{
    uint64_t one = 1;
    ssize_t w = write(s->evfd, &one, sizeof one);
    (void)w; /* a full counter still wakes the loop */
}

/* Run curl's timeouts that are due; returns the seconds until the next
 * one (-1: none).  Asked with curl_multi_timeout rather than kept from a
 * timer callback, which is only called when the earliest deadline
 * changes and so can leave a deadline that was already reported
 * unseen. */
static double curl_timeouts(llm_service *s)
{
    for (int rounds = 0; rounds < 8; rounds++) {
        long ms = -1;
        int running;
        curl_multi_timeout(s->multi, &ms);
        if (ms != 0)
            return ms < 0 ? -1 : (double)ms / 1e3;
        curl_multi_socket_action(s->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    return 0;
}

/* Classify every transfer curl has finished. */
static void read_done(llm_service *s, loop_out *o)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(s->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        llm_job *j = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&j);
        job_done(s, j, m->data.result, o);
    }
}

static void *loop_main(void *arg)
{
    llm_service *s = arg;
    struct epoll_event evs[128];
    while (!atomic_load(&s->stop)) {
        loop_out o = {0};
        llm_job *sub;
        double t = now_s(), wait = 1.0;

        pthread_mutex_lock(&s->mu);
        sub = s->sub_head;
        s->sub_head = s->sub_tail = NULL;
        pthread_mutex_unlock(&s->mu);
        while (sub) {
            llm_job *j = sub;
            sub = j->next;
            j->next = NULL;
            if (dedup_attach(s, j))
                continue;
            if (j->ep->q_tail)
                j->ep->q_tail->next = j;
            else
                j->ep->q_head = j;
            j->ep->q_tail = j;
        }
        unsigned gen = atomic_load(&s->cancel_gen);
        if (gen != s->seen_gen) {
            s->seen_gen = gen;
            sweep_cancelled(s, &o);
        }
        /* retries that are due go first in their endpoint's queue */
        while (s->delayed && s->delayed->ready_at <= t) {
            llm_job *j = s->delayed;
            s->delayed = j->next;
            j->next = j->ep->q_head;
            j->ep->q_head = j;
            if (!j->ep->q_tail)
                j->ep->q_tail = j;
        }
        if (s->delayed)
            wait = fmin(wait, s->delayed->ready_at - t);
        for (size_t i = 0; i < s->neps; i++)
            wait = fmin(wait, dispatch(s, &s->eps[i], t, &o));
        double due = curl_timeouts(s); /* starts what was just added */
        /* a fast server may have answered already: never sleep on a
         * finished transfer */
        read_done(s, &o);
        if (o.head || s->kick)
            wait = 0;
        s->kick = false;
        if (s->delayed)
            wait = fmin(wait, s->delayed->ready_at - now_s());
        if (due >= 0)
            wait = fmin(wait, due);

        int ms = wait <= 0 ? 0 : (int)ceil(wait * 1000);
        int n = epoll_wait(s->epfd, evs, 128, ms);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd, running;
            if (fd == s->evfd) {
                uint64_t v;
                ssize_t r = read(s->evfd, &v, sizeof v);
                (void)r;
                continue;
            }
            int flags =
                ((evs[i].events & EPOLLIN) ? CURL_CSELECT_IN : 0) |
                ((evs[i].events & EPOLLOUT) ? CURL_CSELECT_OUT : 0) |
                ((evs[i].events & (EPOLLERR | EPOLLHUP)) ? CURL_CSELECT_ERR
                                                         : 0);
            curl_multi_socket_action(s->multi, fd, flags, &running);
        }
        curl_timeouts(s);

        read_done(s, &o);
        if (s->cache)
            llm_cache_flush(s->cache, NULL);
        if (o.head)
            deliver(o.head);
    }
    /* stopping: nothing may be left pending (destroy runs after every
     * call returned), but free transfers defensively */
    while (s->inflight) {
        llm_job *j = s->inflight;
        job_abort(s, j);
    }
    return NULL;
}

/* ---- create / destroy -------------------------------------------------- */

int llm_service_create(const json_t *endpoints, const json_t *budget,
                       const char *cache_path, const char *cache_mode,
                       llm_find_plugin_fn find, void *find_ud,
                       llm_service **out, assay_error *err)
{
    llm_service *s;
    int rc;
    *out = NULL;
    if (cache_mode && llm_cache_mode_parse(cache_mode) < 0)
        return assay_error_set(err, ASSAY_EINVAL,
                               "LLM cache mode '%s': expected read-write, "
                               "off or replay",
                               cache_mode);
    if (endpoints && !json_is_object(endpoints) && !json_is_null(endpoints))
        return assay_error_set(err, ASSAY_EINVAL,
                               "llm: expected a mapping of named endpoints");
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return assay_error_set(err, ASSAY_EINTERNAL,
                               "libcurl could not be initialised");
    s = calloc(1, sizeof *s);
    if (!s)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->stats_mu, NULL);
    s->rng = 0x6c6c6d2d6a697474ULL;
    s->epfd = s->evfd = -1;
    /* without the table (no memory) identical requests are just sent */
    s->dedup = calloc(LLM_DEDUP_BUCKETS, sizeof *s->dedup);
    rc = llm_budget_parse(budget, &s->budget, err);
    if (rc)
        goto fail;
    size_t n = json_is_object(endpoints) ? json_object_size(endpoints) : 0;
    if (n && !(s->eps = calloc(n, sizeof *s->eps))) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto fail;
    }
    const char *k;
    json_t *v;
    long total_conc = 0;
    bool need_cache = false;
    if (n) {
        json_object_foreach((json_t *)endpoints, k, v)
        {
            llm_endpoint *ep = &s->eps[s->neps++];
            rc = llm_endpoint_parse(ep, k, v, cache_mode, find, find_ud, err);
            if (rc)
                goto fail;
            total_conc += ep->max_concurrency;
            if (ep->cache_mode == LLM_CACHE_REPLAY && !cache_path) {
                rc = assay_error_set(err, ASSAY_EINVAL,
                                     "llm.%s.cache: replay needs a cache "
                                     "file and this run has none",
                                     k);
                goto fail;
            }
            need_cache = need_cache || ep->cache_mode != LLM_CACHE_OFF;
        }
    }
    if (cache_path && need_cache) {
        rc = llm_cache_open(cache_path, &s->cache, err);
        if (rc)
            goto fail;
        if (!(s->cache_path = xstrdup(cache_path))) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto fail;
        }
    }
    const char *ca = getenv("CURL_CA_BUNDLE");
    if (!ca || !*ca)
        ca = getenv("SSL_CERT_FILE");
    const char *cap = getenv("SSL_CERT_DIR");
    if ((ca && *ca && !(s->ca_file = xstrdup(ca))) ||
        (cap && *cap && !(s->ca_path = xstrdup(cap)))) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto fail;
    }
    if (!(s->multi = curl_multi_init())) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto fail;
    }
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    s->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct epoll_event wev = {.events = EPOLLIN, .data.fd = s->evfd};
    if (s->epfd < 0 || s->evfd < 0 ||
        epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->evfd, &wev) != 0) {
        rc = assay_error_set(err, ASSAY_EINTERNAL,
                             "LLM event loop: epoll/eventfd failed");
        goto fail;
    }
    curl_multi_setopt(s->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(s->multi, CURLMOPT_SOCKETDATA, s);
    curl_multi_setopt(s->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    curl_multi_setopt(s->multi, CURLMOPT_MAXCONNECTS, total_conc + 16);
    if (pthread_create(&s->thread, NULL, loop_main, s) != 0) {
        rc = assay_error_set(err, ASSAY_EINTERNAL,
                             "could not start the LLM event loop thread");
        goto fail;
    }
    s->thread_started = true;
    *out = s;
    return ASSAY_OK;
fail:
    llm_service_destroy(s);
    return rc;
}

void llm_service_cancel(llm_service *s)
{
    if (!s)
        return;
    atomic_store(&s->cancelled, true);
    atomic_fetch_add(&s->cancel_gen, 1);
    if (s->evfd >= 0)
        loop_wake(s);
}

void llm_service_destroy(llm_service *s)
{
    if (!s)
        return;
    if (s->thread_started) {
        atomic_store(&s->stop, true);
        loop_wake(s);
        pthread_join(s->thread, NULL);
    }
    for (size_t i = 0; i < s->neps; i++)
        llm_endpoint_free(&s->eps[i]);
    free(s->eps);
    if (s->multi)
        curl_multi_cleanup(s->multi);
    if (s->epfd >= 0)
        close(s->epfd);
    if (s->evfd >= 0)
        close(s->evfd);
    llm_cache_close(s->cache);
    free(s->dedup);
    free(s->cache_path);
    free(s->ca_file);
    free(s->ca_path);
    while (s->nodes) {
        llm_nodestat *n = s->nodes;
        s->nodes = n->next;
        free(n->stats.lat);
        free(n->name);
        free(n);
    }
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->stats_mu);
    free(s);
    curl_global_cleanup();
}

bool llm_service_budget_exhausted(const llm_service *s)
{
    return s && atomic_load(&((llm_service *)s)->budget_hit);
}

void llm_service_set_dry_run(llm_service *s, bool on)
{
    atomic_store(&s->dry_run, on);
}

/* ---- building jobs (calling threads) ------------------------------------ */

static void job_free(llm_job *j)
{
    if (!j)
        return;
    free(j->body);
    free(j->buf);
    free(j->res.text);
    json_decref(j->emb_doc);
    free(j);
}

/*
 * Build the body of `req` for `ep` and its cache key.  *body_out is the
 * serialised body (caller frees); est_* are token estimates.
 */
static int build_chat(llm_endpoint *ep, const assay_llm_request *req,
                      char **body_out, size_t *len_out, char key[65],
                      uint64_t *est_prompt, uint64_t *est_completion,
                      assay_error *err)
{
    json_t *params = ep->defaults, *merged = NULL, *body = NULL;
    char *txt = NULL, *keybuf = NULL;
    int rc;
    if (!req->messages || req->n_messages == 0)
        return assay_error_set(err, ASSAY_EINVAL,
                               "item %zu: request has no messages", req->item);
    if (req->params) {
        if (!json_is_object(req->params))
            return assay_error_set(err, ASSAY_EINVAL,
                                   "item %zu: request params must be a JSON "
                                   "object",
                                   req->item);
        merged = json_copy(ep->defaults);
        if (!merged || json_object_update(merged, (json_t *)req->params))
            goto oom;
        params = merged;
    }
    rc = ep->prov->chat_body(&ep->pe, req->messages, req->n_messages, params,
                             &body, err);
    if (rc) {
        llm_error_prefix(err, "item %zu: ", req->item);
        json_decref(merged);
        return rc;
    }
    txt = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    if (!txt)
        goto oom;
    size_t tl = strlen(txt), pl = strlen(ep->provider);
    /* canonical request: provider, sample index, body (model, messages,
     * effective parameters) */
    keybuf = malloc(tl + pl + 48);
    if (!keybuf)
        goto oom;
    int hl = snprintf(keybuf, pl + 48, "assay-llm-1\n%s\n%u\n", ep->provider,
                      (unsigned)req->sample);
    memcpy(keybuf + hl, txt, tl);
    sha256_hex(keybuf, (size_t)hl + tl, key);
    free(keybuf);
    uint64_t p = 0;
    for (size_t i = 0; i < req->n_messages; i++)
        p += llm_estimate_tokens(req->messages[i].content) + 4;
    *est_prompt = p;
    json_t *mt = json_object_get(params, "max_tokens");
    *est_completion = json_is_integer(mt) ? (uint64_t)json_integer_value(mt)
                                          : EST_COMPLETION_DEFAULT;
    json_decref(body);
    json_decref(merged);
    *body_out = txt;
    *len_out = tl;
    return ASSAY_OK;
oom:
    free(txt);
    json_decref(body);
    json_decref(merged);
    return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
}

int llm_service_cache_key(llm_service *s, const char *endpoint,
                          const assay_llm_request *req, char key[65],
                          assay_error *err)
{
    llm_endpoint *ep = find_ep(s, endpoint);
    char *body;
    size_t len;
    uint64_t a, b;
    if (!ep)
        return unknown_ep(s, endpoint, err);
    int rc = build_chat(ep, req, &body, &len, key, &a, &b, err);
    if (rc == 0)
        free(body);
    return rc;
}

/* Append a finished job to the stream's own done list (calling thread). */
static void stream_done_local(assay_llm_stream *st, llm_job *j)
{
    j->next = NULL;
    pthread_mutex_lock(&st->mu);
    if (st->done_tail)
        st->done_tail->next = j;
    else
        st->done_head = j;
    st->done_tail = j;
    pthread_mutex_unlock(&st->mu);
}

/* Hand jobs of stream `st` to the loop. */
static void submit(llm_service *s, assay_llm_stream *st, llm_job *head,
                   llm_job *tail)
{
    size_t n = 0;
    if (!head)
        return;
    for (llm_job *j = head; j; j = j->next)
        n++;
    pthread_mutex_lock(&st->mu);
    st->submitted += n;
    pthread_mutex_unlock(&st->mu);
    pthread_mutex_lock(&s->mu);
    if (s->sub_tail)
        s->sub_tail->next = head;
    else
        s->sub_head = head;
    s->sub_tail = tail;
    pthread_mutex_unlock(&s->mu);
    loop_wake(s);
}

/*
 * Turn one request into a job: answered at once from the cache, by
 * replay/dry-run/cancel rules, or appended to (*head, *tail) for the
 * loop.  Index is the delivery index.
 */
static int stream_prepare(assay_llm_stream *st, const assay_llm_request *req,
                          size_t index, llm_job **head, llm_job **tail,
                          assay_error *err)
{
    llm_service *s = st->s;
    llm_endpoint *ep = st->ep;
    llm_job *j = calloc(1, sizeof *j);
    uint64_t est_p = 0, est_c = 0;
    int rc;
    if (!j)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    j->st = st;
    j->ep = ep;
    j->index = index;
    j->item = req->item;
    j->kind = JOB_CHAT;
    rc = build_chat(ep, req, &j->body, &j->body_len, j->key, &est_p, &est_c,
                    err);
    if (rc) {
        job_free(j);
        return rc;
    }
    j->est_tokens = est_p + est_c;
    bool dry = atomic_load(&s->dry_run);
    if (s->cache && ep->cache_mode != LLM_CACHE_OFF) {
        llm_cached c;
        int found = llm_cache_get(s->cache, j->key, &c, err);
        if (found < 0) {
            job_free(j);
            return found;
        }
        if (found) {
            j->res.status = ASSAY_LLM_OK;
            j->res.text = c.text;
            snprintf(j->res.finish_reason, sizeof j->res.finish_reason, "%s",
                     c.finish);
            j->res.prompt_tokens = c.prompt_tokens;
            j->res.completion_tokens = c.completion_tokens;
            j->res.latency_ms = c.latency_ms;
            j->res.cached = true;
            stream_done_local(st, j);
            return ASSAY_OK;
        }
        if (ep->cache_mode == LLM_CACHE_REPLAY) {
            job_error(j, ASSAY_LLM_REPLAY_MISS,
                      "replay: no cached answer for node '%s' item %zu "
                      "(endpoint '%s'); run once with cache: read-write "
                      "to record it",
                      st->node ? st->node : "?", req->item, ep->name);
            stream_done_local(st, j);
            return ASSAY_OK;
        }
    }
    if (dry) {
        pthread_mutex_lock(&s->stats_mu);
        if (st->ns) {
            st->ns->stats.est_prompt += est_p;
            st->ns->stats.est_completion += est_c;
            st->ns->stats.est_cost += ep_cost(ep, est_p, est_c);
        }
        ep->stats.est_prompt += est_p;
        ep->stats.est_completion += est_c;
        ep->stats.est_cost += ep_cost(ep, est_p, est_c);
        pthread_mutex_unlock(&s->stats_mu);
        job_error(j, ASSAY_LLM_SKIPPED, "dry run: not sent");
        stream_done_local(st, j);
        return ASSAY_OK;
    }
    if (atomic_load(&s->cancelled) || atomic_load(&st->cancelled)) {
        job_error(j, ASSAY_LLM_SKIPPED, "cancelled before it was sent");
        stream_done_local(st, j);
        return ASSAY_OK;
    }
    if (*tail)
        (*tail)->next = j;
    else
        *head = j;
    *tail = j;
    return ASSAY_OK;
}

int llm_stream_add(assay_llm_stream *st, const assay_llm_request *req,
                   size_t *index, assay_error *err)
{
    llm_job *head = NULL, *tail = NULL;
    if (!st || !req)
        return assay_error_set(err, ASSAY_EINVAL,
                               "llm_stream_add: no stream or request");
    if (!st->in_cb)
        return assay_error_set(err, ASSAY_EINVAL,
                               "llm_stream_add may only be called from the "
                               "stream's callback");
    int rc = stream_prepare(st, req, st->total, &head, &tail, err);
    if (rc)
        return rc;
    if (index)
        *index = st->total;
    st->total++;
    submit(st->s, st, head, tail);
    return ASSAY_OK;
}

/* Count delivered results into the endpoint's and the node's stats. */
static void account(llm_service *s, assay_llm_stream *st, llm_job *list)
{
    llm_endpoint *ep = st->ep;
    pthread_mutex_lock(&s->stats_mu);
    for (llm_job *j = list; j; j = j->next) {
        llm_stats *ss[2] = {&ep->stats, st->ns ? &st->ns->stats : NULL};
        for (int k = 0; k < 2; k++) {
            llm_stats *x = ss[k];
            if (!x)
                continue;
            x->requests++;
            if (k == 1) {
                x->sent += j->attempts;
                x->retried += j->attempts > 1 ? j->attempts - 1 : 0;
            }
            switch (j->res.status) {
            case ASSAY_LLM_OK:
                if (j->res.cached) {
                    x->cached++;
                    break;
                }
                x->ok++;
                x->prompt_tokens += j->res.prompt_tokens;
                x->completion_tokens += j->res.completion_tokens;
                x->cost +=
                    ep_cost(ep, j->res.prompt_tokens, j->res.completion_tokens);
                stats_lat(x, j->res.latency_ms);
                break;
            case ASSAY_LLM_FAILED:
                x->failed++;
                break;
            case ASSAY_LLM_SKIPPED:
                x->skipped++;
                break;
            case ASSAY_LLM_REPLAY_MISS:
                x->replay_miss++;
                break;
            }
        }
    }
    pthread_mutex_unlock(&s->stats_mu);
}

static int stream_setup(llm_service *s, assay_llm_stream *st, const char *node,
                        const char *endpoint, assay_error *err)
{
    memset(st, 0, sizeof *st);
    st->s = s;
    st->node = node;
    st->ep = find_ep(s, endpoint);
    if (!st->ep)
        return unknown_ep(s, endpoint, err);
    pthread_mutex_lock(&s->stats_mu);
    st->ns = node_get(s, node);
    pthread_mutex_unlock(&s->stats_mu);
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->cv, NULL);
    atomic_init(&st->cancelled, false);
    return ASSAY_OK;
}

static void stream_teardown(assay_llm_stream *st)
{
    pthread_mutex_destroy(&st->mu);
    pthread_cond_destroy(&st->cv);
}

/* Cancel what is left of a stream and wait until the loop returned every
 * job (they point at the stream), discarding them. */
static void stream_drain(assay_llm_stream *st)
{
    atomic_store(&st->cancelled, true);
    atomic_fetch_add(&st->s->cancel_gen, 1);
    loop_wake(st->s);
    while (st->delivered < st->total) {
        pthread_mutex_lock(&st->mu);
        while (!st->done_head)
            pthread_cond_wait(&st->cv, &st->mu);
        llm_job *list = st->done_head;
        st->done_head = st->done_tail = NULL;
        pthread_mutex_unlock(&st->mu);
        account(st->s, st, list);
        while (list) {
            llm_job *j = list;
            list = j->next;
            st->delivered++;
            job_free(j);
        }
    }
}

/*
 * The waiting loop of a stream: deliver finished jobs to the callback
 * until every request, initial and added, has been delivered.
 */
static int stream_run(assay_llm_stream *st)
{
    int rc = 0;
    while (st->delivered < st->total) {
        pthread_mutex_lock(&st->mu);
        while (!st->done_head)
            pthread_cond_wait(&st->cv, &st->mu);
        llm_job *list = st->done_head;
        st->done_head = st->done_tail = NULL;
        pthread_mutex_unlock(&st->mu);
        account(st->s, st, list);
        while (list) {
            llm_job *j = list;
            list = j->next;
            st->delivered++;
            if (j->res.cached)
                st->cached++;
            if (rc == 0) {
                st->in_cb = true;
                rc = st->cb(st->ud, st, j->index, &j->res);
                st->in_cb = false;
            }
            job_free(j);
        }
        if (st->progress)
            st->progress(st->pud, st->delivered, st->total, st->cached);
        if (rc) {
            stream_drain(st);
            break;
        }
    }
    return rc;
}

static int stream_impl(llm_service *s, const char *node, const char *endpoint,
                       const assay_llm_request *reqs, size_t n,
                       assay_llm_on_result cb, void *ud,
                       llm_progress_fn progress, void *pud, bool eager,
                       assay_error *err)
{
    assay_llm_stream st;
    llm_job *head = NULL, *tail = NULL;
    int rc;
    if (!cb || (n && !reqs))
        return assay_error_set(err, ASSAY_EINVAL,
                               "llm_stream: no callback or requests");
    rc = stream_setup(s, &st, node, endpoint, err);
    if (rc)
        return rc;
    st.cb = cb;
    st.ud = ud;
    st.progress = progress;
    st.pud = pud;
    st.eager = eager;
    /* Requests go to the loop in chunks as they are built (the first
     * ones at once), so that sending overlaps building: building 10,000
     * bodies and keys takes about 0.1 s, two waves of a 50 ms server. */
    size_t chunk = 16, pending = 0;
    for (size_t i = 0; i < n; i++) {
        llm_job *was = tail;
        rc = stream_prepare(&st, &reqs[i], i, &head, &tail, err);
        if (rc) {
            /* free what was not submitted; the rest comes back through
             * the loop (cancelled) and is discarded */
            size_t unsent = 0;
            while (head) {
                llm_job *j = head;
                head = j->next;
                job_free(j);
                unsent++;
            }
            st.total = i - unsent;
            stream_drain(&st);
            stream_teardown(&st);
            return rc;
        }
        if (tail != was && ++pending >= chunk) {
            submit(s, &st, head, tail);
            head = tail = NULL;
            pending = 0;
            chunk = chunk < 512 ? chunk * 2 : chunk;
        }
    }
    st.total = n;
    submit(s, &st, head, tail);
    rc = stream_run(&st);
    stream_teardown(&st);
    return rc;
}

int llm_service_stream(llm_service *s, const char *node, const char *endpoint,
                       const assay_llm_request *reqs, size_t n,
                       assay_llm_on_result cb, void *ud,
                       llm_progress_fn progress, void *pud, assay_error *err)
{
    return stream_impl(s, node, endpoint, reqs, n, cb, ud, progress, pud, true,
                       err);
}

typedef struct batch_ctx {
    assay_llm_result *res;
    size_t n;
} batch_ctx;

static int batch_cb(void *ud, assay_llm_stream *st, size_t index,
                    assay_llm_result *r)
{
    batch_ctx *b = ud;
    (void)st;
    if (index < b->n) {
        b->res[index] = *r;
        r->text = NULL; /* moved */
    }
    return 0;
}

int llm_service_batch(llm_service *s, const char *node, const char *endpoint,
                      const assay_llm_request *reqs, size_t n,
                      assay_llm_result *res, llm_progress_fn progress,
                      void *pud, assay_error *err)
{
    batch_ctx b = {res, n};
    if (n && !res)
        return assay_error_set(err, ASSAY_EINVAL, "llm_batch: no results");
    for (size_t i = 0; i < n; i++)
        memset(&res[i], 0, sizeof res[i]);
    return stream_impl(s, node, endpoint, reqs, n, batch_cb, &b, progress, pud,
                       false, err);
}

/* ---- embeddings ---------------------------------------------------------- */

/* Cache key of one embedding: provider, model and text. */
static void embed_key(const llm_endpoint *ep, const char *text, char key[65])
{
    sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, "assay-emb-1\n", 12);
    sha256_update(&c, ep->provider, strlen(ep->provider) + 1);
    sha256_update(&c, ep->model, strlen(ep->model) + 1);
    sha256_update(&c, text ? text : "", text ? strlen(text) : 0);
    sha256_final_hex(&c, key);
}

/* Copy JSON vector `vec` into row `row` (d numbers). */
static int embed_row(const json_t *vec, size_t d, double *row, size_t text,
                     assay_error *err)
{
    if (json_array_size(vec) != d)
        return assay_error_set(err, ASSAY_ELLM,
                               "embedding text %zu: dimension %zu, "
                               "expected %zu",
                               text, json_array_size(vec), d);
    for (size_t c = 0; c < d; c++) {
        json_t *x = json_array_get(vec, c);
        if (!json_is_number(x))
            return assay_error_set(err, ASSAY_ELLM,
                                   "embedding text %zu: component %zu is "
                                   "not a number",
                                   text, c);
        row[c] = json_number_value(x);
    }
    return ASSAY_OK;
}

/* Make sure `*out` has room for n x d once d is known. */
static int embed_alloc(double **out, size_t *d, size_t n, size_t want,
                       size_t text, assay_error *err)
{
    if (*out)
        return want == *d ? ASSAY_OK
                          : assay_error_set(err, ASSAY_ELLM,
                                            "embedding text %zu: dimension "
                                            "%zu, expected %zu",
                                            text, want, *d);
    if (want == 0 || n > SIZE_MAX / sizeof(double) / want)
        return assay_error_set(err, ASSAY_ELLM,
                               "embedding text %zu: empty vector", text);
    *out = malloc(n * want * sizeof **out);
    if (!*out)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    *d = want;
    return ASSAY_OK;
}

/*
 * Embeddings: each text is looked up in the cache (key: provider, model,
 * text); the misses go out in chunks of EMBED_CHUNK under the endpoint's
 * limits and retries, and the loop thread stores each new vector as it
 * arrives.
 */
int llm_service_embed(llm_service *s, const char *node, const char *endpoint,
                      const char *const *texts, size_t n, double **vectors,
                      size_t *dim, assay_error *err)
{
    assay_llm_stream st;
    llm_job *head = NULL, *tail = NULL, *done = NULL;
    double *out = NULL;
    size_t d = 0, nmiss = 0, *miss = NULL;
    char(*keys)[65] = NULL;
    int rc;
    *vectors = NULL;
    *dim = 0;
    rc = stream_setup(s, &st, node, endpoint, err);
    if (rc)
        return rc;
    llm_endpoint *ep = st.ep;
    if (!ep->prov->embed_body || !ep->reps[0].embed_url[0]) {
        stream_teardown(&st);
        return assay_error_set(err, ASSAY_ENOTSUP,
                               "endpoint '%s': provider %s has no "
                               "embeddings",
                               ep->name, ep->provider);
    }
    if (n == 0) {
        stream_teardown(&st);
        return ASSAY_OK;
    }
    bool cached = s->cache && ep->cache_mode != LLM_CACHE_OFF;
    miss = malloc(n * sizeof *miss);
    keys = cached ? malloc(n * sizeof *keys) : NULL;
    if (!miss || (cached && !keys)) {
        rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        double *vec = NULL;
        size_t vd = 0;
        int found = 0;
        if (cached) {
            embed_key(ep, texts[i], keys[i]);
            found = llm_cache_get_vec(s->cache, keys[i], &vec, &vd, err);
            if (found < 0) {
                rc = found;
                goto out;
            }
        }
        if (!found) {
            miss[nmiss++] = i;
            continue;
        }
        rc = embed_alloc(&out, &d, n, vd, i, err);
        if (rc == 0)
            memcpy(out + i * d, vec, d * sizeof *vec);
        free(vec);
        if (rc)
            goto out;
    }
    pthread_mutex_lock(&s->stats_mu);
    ep->stats.cached += n - nmiss;
    if (st.ns)
        st.ns->stats.cached += n - nmiss;
    pthread_mutex_unlock(&s->stats_mu);
    if (nmiss && ep->cache_mode == LLM_CACHE_REPLAY) {
        rc = assay_error_set(err, ASSAY_ELLM,
                             "replay: no cached embedding for node '%s' "
                             "text %zu (endpoint '%s')",
                             node ? node : "?", miss[0], ep->name);
        goto out;
    }
    if (nmiss && atomic_load(&s->dry_run)) {
        rc = assay_error_set(err, ASSAY_ECANCELED,
                             "dry run: embeddings are not computed");
        goto out;
    }
    for (size_t at = 0; at < nmiss; at += EMBED_CHUNK) {
        size_t cnt = nmiss - at < EMBED_CHUNK ? nmiss - at : EMBED_CHUNK;
        llm_job *j = calloc(1, sizeof *j);
        const char **sub = malloc(cnt * sizeof *sub);
        json_t *body = NULL;
        if (!j || !sub) {
            free(j);
            free(sub);
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto out;
        }
        j->st = &st;
        j->ep = ep;
        j->kind = JOB_EMBED;
        j->index = st.total++;
        j->item = miss[at];
        j->emb_idx = miss + at;
        j->emb_keys = cached ? keys : NULL;
        j->emb_n = cnt;
        if (tail)
            tail->next = j;
        else
            head = j;
        tail = j;
        for (size_t i = 0; i < cnt; i++) {
            sub[i] = texts[miss[at + i]];
            j->est_tokens += llm_estimate_tokens(sub[i]);
        }
        rc = ep->prov->embed_body(&ep->pe, sub, cnt, &body, err);
        free(sub);
        if (rc)
            goto out;
        j->body = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        if (!j->body) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto out;
        }
        j->body_len = strlen(j->body);
    }
    submit(s, &st, head, tail);
    head = NULL;

    /* collect every chunk, then fill the matrix */
    while (st.delivered < st.total) {
        pthread_mutex_lock(&st.mu);
        while (!st.done_head)
            pthread_cond_wait(&st.cv, &st.mu);
        llm_job *list = st.done_head;
        st.done_head = st.done_tail = NULL;
        pthread_mutex_unlock(&st.mu);
        account(s, &st, list);
        while (list) {
            llm_job *j = list;
            list = j->next;
            j->next = done;
            done = j;
            st.delivered++;
        }
    }
    for (llm_job *j = done; j && rc == 0; j = j->next) {
        if (j->res.status != ASSAY_LLM_OK) {
            rc = assay_error_set(err, ASSAY_ELLM,
                                 "embedding %zu texts from text %zu on "
                                 "endpoint '%s': %s",
                                 j->emb_n, j->emb_idx[0], ep->name,
                                 j->res.error);
            break;
        }
        for (size_t i = 0; i < j->emb_n && rc == 0; i++) {
            assay_error e;
            size_t t = j->emb_idx[i];
            const json_t *vec = ep->prov->embed_vector(j->emb_doc, i, &e);
            if (!vec) {
                rc = assay_error_set(err, ASSAY_ELLM, "embedding text %zu: %s",
                                     t, e.text);
                break;
            }
            rc = embed_alloc(&out, &d, n, json_array_size(vec), t, err);
            if (rc == 0)
                rc = embed_row(vec, d, out + t * d, t, err);
        }
    }
out:
    while (head) {
        llm_job *j = head;
        head = j->next;
        j->emb_idx = NULL;
        job_free(j);
    }
    while (done) {
        llm_job *j = done;
        done = j->next;
        job_free(j);
    }
    stream_teardown(&st);
    free(miss);
    free(keys);
    if (rc) {
        free(out);
        return rc;
    }
    *vectors = out;
    *dim = d;
    return ASSAY_OK;
}

/* ---- info, usage, dry-run helpers -------------------------------------- */

json_t *llm_service_endpoint_info(llm_service *s, const char *endpoint)
{
    llm_endpoint *ep = find_ep(s, endpoint);
    static const char *const modes[] = {"read-write", "off", "replay"};
    json_t *urls;
    if (!ep || !(urls = json_array()))
        return NULL;
    for (size_t r = 0; r < ep->nreps; r++)
        if (json_array_append_new(urls, json_string(ep->reps[r].base_url))) {
            json_decref(urls);
            return NULL;
        }
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:o, s:O, s:O, s:i, s:f, s:f, s:{s:f, "
        "s:f}, s:s, s:b}",
        "name", ep->name, "provider", ep->provider, "model", ep->model,
        "base_url", ep->base_url, "base_urls", urls, "defaults", ep->defaults,
        "extra_headers", ep->extra_header_names, "max_concurrency",
        ep->max_concurrency, "requests_per_minute", ep->rpm,
        "tokens_per_minute", ep->tpm, "price", "input", ep->price_in, "output",
        ep->price_out, "cache", modes[ep->cache_mode], "has_api_key",
        ep->api_key[0] != '\0');
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array. */
static double pct(const double *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t k = (size_t)ceil(p / 100.0 * (double)n);
    return v[k ? k - 1 : 0];
}

/* Per-replica counters (stats lock held). */
static json_t *replicas_json(const llm_endpoint *ep)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < ep->nreps; i++) {
        const llm_replica *r = &ep->reps[i];
        json_t *o = json_pack(
            "{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "base_url",
            r->base_url, "state", r->shown_down ? "down" : "up", "sent",
            (json_int_t)r->sent, "ok", (json_int_t)r->ok, "failed",
            (json_int_t)r->failed, "moved", (json_int_t)r->moved, "downs",
            (json_int_t)r->downs, "prompt_tokens", (json_int_t)r->prompt_tokens,
            "completion_tokens", (json_int_t)r->completion_tokens);
        if (json_array_append_new(a, o)) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *stats_json(const llm_stats *x)
{
    double *v = NULL, p50 = 0, p90 = 0, p99 = 0;
    if (x->nlat && (v = malloc(x->nlat * sizeof *v))) {
        memcpy(v, x->lat, x->nlat * sizeof *v);
        qsort(v, x->nlat, sizeof *v, cmp_double);
        p50 = pct(v, x->nlat, 50);
        p90 = pct(v, x->nlat, 90);
        p99 = pct(v, x->nlat, 99);
        free(v);
    }
    return json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
        "s:f, s:{s:f, s:f, s:f}}",
        "requests", (json_int_t)x->requests, "sent", (json_int_t)x->sent, "ok",
        (json_int_t)x->ok, "cached", (json_int_t)x->cached, "retried",
        (json_int_t)x->retried, "failed", (json_int_t)x->failed, "skipped",
        (json_int_t)x->skipped, "replay_miss", (json_int_t)x->replay_miss,
        "prompt_tokens", (json_int_t)x->prompt_tokens, "completion_tokens",
        (json_int_t)x->completion_tokens, "cost", x->cost, "latency_ms", "p50",
        p50, "p90", p90, "p99", p99);
}

json_t *llm_service_usage(llm_service *s)
{
    json_t *root = json_object(), *eps = json_object(), *nodes = json_object();
    json_t *dry = atomic_load(&s->dry_run) ? json_object() : NULL;
    if (!root || !eps || !nodes) {
        json_decref(root);
        json_decref(eps);
        json_decref(nodes);
        json_decref(dry);
        return NULL;
    }
    pthread_mutex_lock(&s->stats_mu);
    for (size_t i = 0; i < s->neps; i++) {
        llm_endpoint *ep = &s->eps[i];
        json_t *o = stats_json(&ep->stats);
        if (o) {
            json_object_set_new(o, "provider", json_string(ep->provider));
            json_object_set_new(o, "model", json_string(ep->model));
            json_object_set_new(
                o, "concurrency",
                json_real(atomic_load_explicit(&ep->cwnd_milli,
                                               memory_order_relaxed) /
                          1000.0));
            json_object_set_new(o, "replicas", replicas_json(ep));
        }
        json_object_set_new(eps, ep->name, o);
    }
    for (llm_nodestat *n = s->nodes; n; n = n->next) {
        json_object_set_new(nodes, n->name, stats_json(&n->stats));
        if (dry)
            json_object_set_new(
                dry, n->name,
                json_pack("{s:I, s:I, s:I, s:I, s:f}", "requests",
                          (json_int_t)n->stats.requests, "cached",
                          (json_int_t)n->stats.cached, "prompt_tokens_est",
                          (json_int_t)n->stats.est_prompt,
                          "completion_tokens_est",
                          (json_int_t)n->stats.est_completion, "cost_est",
                          n->stats.est_cost));
    }
    json_t *b =
        json_pack("{s:I, s:I, s:f, s:b}", "requests", (json_int_t)s->b_requests,
                  "tokens", (json_int_t)s->b_tokens, "cost", s->b_cost,
                  "exhausted", atomic_load(&s->budget_hit));
    pthread_mutex_unlock(&s->stats_mu);
    if (b) {
        if (s->budget.max_cost > 0)
            json_object_set_new(b, "max_cost", json_real(s->budget.max_cost));
        if (s->budget.max_tokens)
            json_object_set_new(b, "max_tokens",
                                json_integer((json_int_t)s->budget.max_tokens));
        if (s->budget.max_requests)
            json_object_set_new(
                b, "max_requests",
                json_integer((json_int_t)s->budget.max_requests));
    }
    json_object_set_new(root, "endpoints", eps);
    json_object_set_new(root, "nodes", nodes);
    json_object_set_new(root, "budget", b);
    if (dry)
        json_object_set_new(root, "dry_run", dry);
    return root;
}

int llm_service_cached_count(llm_service *s, const char *endpoint,
                             const assay_llm_request *reqs, size_t n,
                             uint64_t *cached, assay_error *err)
{
    llm_endpoint *ep = find_ep(s, endpoint);
    *cached = 0;
    if (!ep)
        return unknown_ep(s, endpoint, err);
    if (!s->cache || ep->cache_mode == LLM_CACHE_OFF)
        return ASSAY_OK;
    for (size_t i = 0; i < n; i++) {
        char key[65];
        llm_cached c;
        int rc = llm_service_cache_key(s, endpoint, &reqs[i], key, err);
        if (rc)
            return rc;
        rc = llm_cache_get(s->cache, key, &c, err);
        if (rc < 0)
            return rc;
        if (rc == 1) {
            free(c.text);
            (*cached)++;
        }
    }
    return ASSAY_OK;
}

int llm_service_estimate(llm_service *s, const char *endpoint,
                         uint64_t prompt_tokens, uint64_t completion_tokens,
                         double *cost, assay_error *err)
{
    llm_endpoint *ep = find_ep(s, endpoint);
    if (!ep)
        return unknown_ep(s, endpoint, err);
    *cost = ep_cost(ep, prompt_tokens, completion_tokens);
    return ASSAY_OK;
}
