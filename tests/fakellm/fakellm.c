/*
 * tests/fakellm/fakellm.c - a fake OpenAI-compatible (and Anthropic
 * Messages) HTTP server for tests and benchmarks only.
 *
 *   fakellm [--port N] [--host 127.0.0.1] [--config FILE.json]
 *
 * Listens on 127.0.0.1 (port 0: an ephemeral port, printed on stdout as
 * one line as soon as it listens).  One thread, epoll, non-blocking
 * sockets, HTTP/1.1 keep-alive, thousands of concurrent connections.
 *
 * Endpoints
 *   POST /v1/chat/completions   OpenAI Chat Completions
 *   POST /v1/messages           Anthropic Messages
 *   POST /v1/embeddings         OpenAI embeddings (deterministic vectors)
 *   GET  /stats                 counters (JSON), see below
 *   POST /reset                 zero the counters
 *   POST /config                replace the configuration (JSON body)
 *
 * Configuration (JSON; every key optional)
 *   latency     {"dist": "fixed", "ms": 50} | {"dist": "uniform", "min":
 *               10, "max": 90} | {"dist": "normal", "mean": 50, "sd": 10}
 *   faults      {"429": p, "500": p, "503": p, "stall": p, "truncated": p,
 *               "invalid_json": p, "reset": p}: probability of each fault
 *               per request, drawn from a hash of (request, attempt), so a
 *               run is reproducible
 *   max_faults_per_key   at most this many faulted answers per distinct
 *               request (so retries are sure to succeed); default none
 *   retry_after seconds sent in Retry-After with 429 (default 1; 0 omits
 *               the header)
 *   max_inflight  answer 429 when more requests than this are pending
 *   api_key     require this key (Bearer or x-api-key); a wrong key gets a
 *               401 whose message quotes the key it got, like some real
 *               servers do
 *   pause_after stop answering after this many answers (requests are
 *               held until the configuration changes)
 *   rules       [{"model": s, "system": substr, "user": substr,
 *               "user_regex": ERE, "answer": template, "status": code,
 *               "error": message}]: the first rule whose conditions all
 *               hold answers; with "status" it answers that error
 *   default_answer  template (default "echo: {{user}}")
 *   embedding_dim   (default 8)
 *   seed        fault/latency generator seed (default 1)
 * Templates: {{user}} (last user message), {{system}}, {{model}},
 * {{hash}} (16 hex digits of the request's messages), $0..$9 (regex
 * captures of user_regex; $0 the matched text).
 *
 * Stats: {"requests", "answered", "status": {code: n}, "faults": {kind:
 * n}, "inflight_max", "max_answered_per_key", "max_received_per_key",
 * "nkeys", "connections" (accepted), "span_s" (first request received
 * to last answer sent: the evaluation time of a client), "keys": {hash:
 * [received, answered]}}.  The key of a request is a hash of its path and
 * body, so one request retried is one key.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <regex.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { F_429, F_500, F_503, F_STALL, F_TRUNC, F_BADJSON, F_RESET, F_N };
static const char *const fault_names[F_N] = {
    "429", "500", "503", "stall", "truncated", "invalid_json", "reset"};

typedef struct rule {
    char *model, *system, *user, *answer, *error;
    bool has_re;
    regex_t re;
    int status;
} rule;

typedef struct config {
    int dist; /* 0 fixed, 1 uniform, 2 normal */
    double lat_a, lat_b;
    double fault[F_N];
    long max_faults_per_key;
    int retry_after;
    long max_inflight;
    char *api_key;
    long pause_after;
    rule *rules;
    size_t nrules;
    char *default_answer;
    int emb_dim;
    uint64_t seed;
} config;

/* Per-request-key counters: open addressing on a 64-bit hash. */
typedef struct keystat {
    uint64_t key;
    uint32_t received, answered, faulted;
} keystat;

typedef struct conn {
    int fd;
    uint32_t gen;
    char *in;
    size_t in_len, in_cap;
    char *out;
    size_t out_len, out_off, out_cap;
    bool busy; /* a request is being answered */
    bool stalled;
    bool close_after; /* close once `out` is flushed */
    double stall_until;
} conn;

typedef struct timer {
    double due;
    int fd;
    uint32_t gen;
    char *resp; /* full response bytes */
    size_t len;
    bool truncate, reset, held;
    uint64_t key;
    bool answered; /* counts as answered when sent */
} timer;

typedef struct server {
    int lfd, ep;
    config cfg;
    conn **conns;
    size_t nconns;
    timer *timers; /* min-heap by due */
    size_t ntimers, captimers;
    timer *held; /* pause_after: held answers */
    size_t nheld, capheld;
    keystat *keys;
    size_t keycap, nkeys;
    uint64_t requests, answered, status[600], faults[F_N];
    long inflight, inflight_max;
    double t_first, t_last; /* first request, last answer (since reset) */
    uint64_t accepted;      /* connections accepted (since reset) */
    uint64_t rng;
    uint32_t next_gen;
} server;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t fnv1a(const void *p, size_t n, uint64_t h)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double rng_unit(server *s)
{
    s->rng = mix64(s->rng);
    return (double)(s->rng >> 11) * 0x1.0p-53;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fputs("fakellm: out of memory\n", stderr);
        exit(1);
    }
    return q;
}

static char *xstrdup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* ---- configuration ----------------------------------------------------- */

static void config_free(config *c)
{
    for (size_t i = 0; i < c->nrules; i++) {
        rule *r = &c->rules[i];
        free(r->model);
        free(r->system);
        free(r->user);
        free(r->answer);
        free(r->error);
        if (r->has_re)
            regfree(&r->re);
    }
    free(c->rules);
    free(c->api_key);
    free(c->default_answer);
    memset(c, 0, sizeof *c);
}

static int config_parse(const json_t *j, config *c, char *msg, size_t msgsz)
{
    memset(c, 0, sizeof *c);
    c->retry_after = 1;
    c->max_faults_per_key = -1;
    c->max_inflight = -1;
    c->pause_after = -1;
    c->emb_dim = 8;
    c->seed = 1;
    if (!json_is_object(j)) {
        snprintf(msg, msgsz, "config: expected an object");
        return -1;
    }
    json_t *lat = json_object_get(j, "latency");
    if (lat) {
        const char *d = json_string_value(json_object_get(lat, "dist"));
        if (!d || strcmp(d, "fixed") == 0) {
            c->dist = 0;
            c->lat_a = json_number_value(json_object_get(lat, "ms"));
        } else if (strcmp(d, "uniform") == 0) {
            c->dist = 1;
            c->lat_a = json_number_value(json_object_get(lat, "min"));
            c->lat_b = json_number_value(json_object_get(lat, "max"));
        } else if (strcmp(d, "normal") == 0) {
            c->dist = 2;
            c->lat_a = json_number_value(json_object_get(lat, "mean"));
            c->lat_b = json_number_value(json_object_get(lat, "sd"));
        } else {
            snprintf(msg, msgsz, "latency.dist: fixed, uniform or normal");
            return -1;
        }
    }
    json_t *f = json_object_get(j, "faults");
    for (int i = 0; i < F_N; i++)
        c->fault[i] = json_number_value(json_object_get(f, fault_names[i]));
    json_t *v;
    if ((v = json_object_get(j, "max_faults_per_key")))
        c->max_faults_per_key = (long)json_integer_value(v);
    if ((v = json_object_get(j, "retry_after")))
        c->retry_after = (int)json_integer_value(v);
    if ((v = json_object_get(j, "max_inflight")))
        c->max_inflight = (long)json_integer_value(v);
    if ((v = json_object_get(j, "pause_after")))
        c->pause_after = (long)json_integer_value(v);
    if ((v = json_object_get(j, "embedding_dim")))
        c->emb_dim = (int)json_integer_value(v);
    if (c->emb_dim <= 0 || c->emb_dim > 4096)
        c->emb_dim = 8;
    if ((v = json_object_get(j, "seed")))
        c->seed = (uint64_t)json_integer_value(v);
    c->api_key =
        xstrdup_or_null(json_string_value(json_object_get(j, "api_key")));
    c->default_answer =
        strdup(json_string_value(json_object_get(j, "default_answer"))
                   ? json_string_value(json_object_get(j, "default_answer"))
                   : "echo: {{user}}");
    json_t *rules = json_object_get(j, "rules");
    c->nrules = json_array_size(rules);
    c->rules = calloc(c->nrules ? c->nrules : 1, sizeof *c->rules);
    for (size_t i = 0; i < c->nrules; i++) {
        json_t *r = json_array_get(rules, i);
        rule *ru = &c->rules[i];
        ru->model =
            xstrdup_or_null(json_string_value(json_object_get(r, "model")));
        ru->system =
            xstrdup_or_null(json_string_value(json_object_get(r, "system")));
        ru->user =
            xstrdup_or_null(json_string_value(json_object_get(r, "user")));
        ru->answer =
            xstrdup_or_null(json_string_value(json_object_get(r, "answer")));
        ru->error =
            xstrdup_or_null(json_string_value(json_object_get(r, "error")));
        ru->status = (int)json_integer_value(json_object_get(r, "status"));
        const char *re = json_string_value(json_object_get(r, "user_regex"));
        if (re) {
            if (regcomp(&ru->re, re, REG_EXTENDED) != 0) {
                snprintf(msg, msgsz, "rules[%zu].user_regex: bad regex", i);
                return -1;
            }
            ru->has_re = true;
        }
    }
    return 0;
}

/* ---- key counters ------------------------------------------------------ */

static keystat *key_get(server *s, uint64_t key)
{
    if (key == 0)
        key = 1;
    if ((s->nkeys + 1) * 2 > s->keycap) {
        size_t cap = s->keycap ? s->keycap * 2 : 1024;
        keystat *nk = calloc(cap, sizeof *nk);
        if (!nk)
            die("calloc");
        for (size_t i = 0; i < s->keycap; i++) {
            if (!s->keys[i].key)
                continue;
            size_t h = s->keys[i].key & (cap - 1);
            while (nk[h].key)
                h = (h + 1) & (cap - 1);
            nk[h] = s->keys[i];
        }
        free(s->keys);
        s->keys = nk;
        s->keycap = cap;
    }
    size_t h = key & (s->keycap - 1);
    while (s->keys[h].key && s->keys[h].key != key)
        h = (h + 1) & (s->keycap - 1);
    if (!s->keys[h].key) {
        s->keys[h].key = key;
        s->nkeys++;
    }
    return &s->keys[h];
}

/* ---- timers (min-heap) ------------------------------------------------- */

static void heap_push(server *s, timer t)
{
    if (s->ntimers == s->captimers) {
        s->captimers = s->captimers ? s->captimers * 2 : 256;
        s->timers = xrealloc(s->timers, s->captimers * sizeof *s->timers);
    }
    size_t i = s->ntimers++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (s->timers[p].due <= t.due)
            break;
        s->timers[i] = s->timers[p];
        i = p;
    }
    s->timers[i] = t;
}

static timer heap_pop(server *s)
{
    timer top = s->timers[0], last = s->timers[--s->ntimers];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        double md = last.due;
        if (l < s->ntimers && s->timers[l].due < md) {
            m = l;
            md = s->timers[l].due;
        }
        if (r < s->ntimers && s->timers[r].due < md)
            m = r;
        if (m == i)
            break;
        s->timers[i] = s->timers[m];
        i = m;
    }
    if (s->ntimers)
        s->timers[i] = last;
    return top;
}

/* ---- connections ------------------------------------------------------- */

static conn *conn_of(server *s, int fd)
{
    return fd >= 0 && (size_t)fd < s->nconns ? s->conns[fd] : NULL;
}

static void conn_close(server *s, conn *c, bool reset)
{
    if (reset) {
        struct linger lg = {1, 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    if (c->busy && s->inflight > 0)
        s->inflight--;
    s->conns[c->fd] = NULL;
    free(c->in);
    free(c->out);
    free(c);
}

static void out_append(conn *c, const char *p, size_t n)
{
    if (c->out_len + n > c->out_cap) {
        c->out_cap = (c->out_len + n) * 2;
        c->out = xrealloc(c->out, c->out_cap);
    }
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
}

static void conn_want_write(server *s, conn *c, bool on)
{
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0u),
                             .data.fd = c->fd};
    epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void process_input(server *s, conn *c);

/* Write what is pending; false when the connection was closed. */
static bool conn_flush(server *s, conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                         MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                conn_want_write(s, c, true);
                return true;
            }
            conn_close(s, c, false);
            return false;
        }
        c->out_off += (size_t)w;
    }
    c->out_off = c->out_len = 0;
    if (c->close_after) {
        conn_close(s, c, false);
        return false;
    }
    conn_want_write(s, c, false);
    return true;
}

/* ---- HTTP ---------------------------------------------------------------- */

static char *http_response(int status, const char *extra_headers,
                           const char *body, size_t blen, size_t *len)
{
    const char *reason = status == 200   ? "OK"
                         : status == 400 ? "Bad Request"
                         : status == 401 ? "Unauthorized"
                         : status == 404 ? "Not Found"
                         : status == 429 ? "Too Many Requests"
                         : status == 500 ? "Internal Server Error"
                         : status == 503 ? "Service Unavailable"
                                         : "Status";
    char head[512];
    int hl = snprintf(head, sizeof head,
                      "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\n%s\r\n",
                      status, reason, blen, extra_headers ? extra_headers : "");
    char *r = xrealloc(NULL, (size_t)hl + blen);
    memcpy(r, head, (size_t)hl);
    memcpy(r + hl, body, blen);
    *len = (size_t)hl + blen;
    return r;
}

static char *error_body(int status, const char *message, bool anthropic)
{
    json_t *j =
        anthropic
            ? json_pack("{s:s, s:{s:s, s:s}}", "type", "error", "error", "type",
                        status == 429 ? "rate_limit_error" : "api_error",
                        "message", message)
            : json_pack("{s:{s:s, s:s, s:i}}", "error", "message", message,
                        "type",
                        status == 429 ? "rate_limit_exceeded" : "server_error",
                        "code", status);
    char *b = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return b;
}

/* Append `s` (n bytes) to a growing buffer. */
typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->p = xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static char *render(const char *tpl, const char *user, const char *system,
                    const char *model, uint64_t hash, const char *subject,
                    const regmatch_t *m, size_t nm)
{
    sbuf b = {0};
    sb_put(&b, "", 0);
    for (const char *p = tpl; *p;) {
        if (strncmp(p, "{{user}}", 8) == 0) {
            sb_put(&b, user, strlen(user));
            p += 8;
        } else if (strncmp(p, "{{system}}", 10) == 0) {
            sb_put(&b, system, strlen(system));
            p += 10;
        } else if (strncmp(p, "{{model}}", 9) == 0) {
            sb_put(&b, model, strlen(model));
            p += 9;
        } else if (strncmp(p, "{{hash}}", 8) == 0) {
            char h[17];
            snprintf(h, sizeof h, "%016llx", (unsigned long long)hash);
            sb_put(&b, h, 16);
            p += 8;
        } else if (p[0] == '$' && p[1] >= '0' && p[1] <= '9') {
            size_t k = (size_t)(p[1] - '0');
            if (m && k < nm && m[k].rm_so >= 0)
                sb_put(&b, subject + m[k].rm_so,
                       (size_t)(m[k].rm_eo - m[k].rm_so));
            p += 2;
        } else {
            sb_put(&b, p, 1);
            p++;
        }
    }
    return b.p;
}

static uint32_t tokens_of(const char *s)
{
    size_t n = strlen(s);
    return (uint32_t)((n + 3) / 4);
}

static void send_now(server *s, conn *c, char *resp, size_t len)
{
    out_append(c, resp, len);
    free(resp);
    c->busy = false;
    if (s->inflight > 0)
        s->inflight--;
    if (conn_flush(s, c))
        process_input(s, c);
}

static void stats_json(server *s, sbuf *b)
{
    json_t *st = json_object(), *codes = json_object(), *faults = json_object();
    json_t *keys = json_object();
    uint32_t max_a = 0, max_r = 0;
    for (int i = 0; i < 600; i++)
        if (s->status[i]) {
            char k[8];
            snprintf(k, sizeof k, "%d", i);
            json_object_set_new(codes, k,
                                json_integer((json_int_t)s->status[i]));
        }
    for (int i = 0; i < F_N; i++)
        json_object_set_new(faults, fault_names[i],
                            json_integer((json_int_t)s->faults[i]));
    for (size_t i = 0; i < s->keycap; i++) {
        keystat *k = &s->keys[i];
        if (!k->key)
            continue;
        char h[17];
        snprintf(h, sizeof h, "%016llx", (unsigned long long)k->key);
        json_object_set_new(keys, h,
                            json_pack("[i,i]", k->received, k->answered));
        if (k->answered > max_a)
            max_a = k->answered;
        if (k->received > max_r)
            max_r = k->received;
    }
    json_object_set_new(st, "requests", json_integer((json_int_t)s->requests));
    json_object_set_new(st, "answered", json_integer((json_int_t)s->answered));
    json_object_set_new(st, "status", codes);
    json_object_set_new(st, "faults", faults);
    json_object_set_new(st, "inflight_max", json_integer(s->inflight_max));
    json_object_set_new(st, "max_answered_per_key", json_integer(max_a));
    json_object_set_new(st, "max_received_per_key", json_integer(max_r));
    json_object_set_new(st, "nkeys", json_integer((json_int_t)s->nkeys));
    json_object_set_new(st, "connections",
                        json_integer((json_int_t)s->accepted));
    json_object_set_new(
        st, "span_s",
        json_real(s->t_last > s->t_first ? s->t_last - s->t_first : 0));
    json_object_set_new(st, "keys", keys);
    char *txt = json_dumps(st, JSON_COMPACT);
    json_decref(st);
    sb_put(b, txt, strlen(txt));
    free(txt);
}

static double latency_ms(server *s)
{
    config *c = &s->cfg;
    double ms = c->lat_a;
    if (c->dist == 1)
        ms = c->lat_a + (c->lat_b - c->lat_a) * rng_unit(s);
    else if (c->dist == 2) {
        double u1 = rng_unit(s), u2 = rng_unit(s);
        if (u1 < 1e-300)
            u1 = 1e-300;
        ms = c->lat_a + c->lat_b * sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
    }
    return ms < 0 ? 0 : ms;
}

/* Last message with role `role` (content string) or "". */
static const char *last_role(json_t *msgs, const char *role)
{
    const char *out = "";
    size_t i;
    json_t *m;
    json_array_foreach(msgs, i, m)
    {
        const char *r = json_string_value(json_object_get(m, "role"));
        const char *t = json_string_value(json_object_get(m, "content"));
        if (r && t && strcmp(r, role) == 0)
            out = t;
    }
    return out;
}

/* Answer a complete request (method, path, headers, body). */
static void handle(server *s, conn *c, const char *method, const char *path,
                   const char *auth, const char *xkey, const char *body,
                   size_t blen)
{
    size_t rlen;
    char *resp, *eb;
    sbuf b = {0};
    bool is_chat = strcmp(path, "/v1/chat/completions") == 0;
    bool is_msg = strcmp(path, "/v1/messages") == 0;
    bool is_emb = strcmp(path, "/v1/embeddings") == 0;

    c->busy = true;
    s->inflight++;
    if (s->inflight > s->inflight_max)
        s->inflight_max = s->inflight;

    if (strcmp(path, "/stats") == 0) {
        stats_json(s, &b);
        resp = http_response(200, NULL, b.p, b.n, &rlen);
        free(b.p);
        send_now(s, c, resp, rlen);
        return;
    }
    if (strcmp(path, "/reset") == 0) {
        free(s->keys);
        s->keys = NULL;
        s->keycap = s->nkeys = 0;
        s->requests = s->answered = 0;
        memset(s->status, 0, sizeof s->status);
        memset(s->faults, 0, sizeof s->faults);
        s->inflight_max = 0;
        s->t_first = s->t_last = 0;
        s->accepted = 0;
        resp = http_response(200, NULL, "{}", 2, &rlen);
        send_now(s, c, resp, rlen);
        return;
    }
    if (strcmp(path, "/config") == 0) {
        json_error_t je;
        json_t *j = json_loadb(body, blen, 0, &je);
        config nc;
        char msg[200] = "";
        if (!j || config_parse(j, &nc, msg, sizeof msg) != 0) {
            if (!j)
                snprintf(msg, sizeof msg, "config: %s", je.text);
            eb = error_body(400, msg, false);
            resp = http_response(400, NULL, eb, strlen(eb), &rlen);
            free(eb);
            json_decref(j);
            send_now(s, c, resp, rlen);
            return;
        }
        json_decref(j);
        config_free(&s->cfg);
        s->cfg = nc;
        s->rng = mix64(nc.seed);
        /* release held answers: their clients are gone or waiting */
        for (size_t i = 0; i < s->nheld; i++) {
            s->held[i].held = false;
            s->held[i].due = now_s();
            s->answered++;
            heap_push(s, s->held[i]);
        }
        s->nheld = 0;
        resp = http_response(200, NULL, "{}", 2, &rlen);
        send_now(s, c, resp, rlen);
        return;
    }
    if (!is_chat && !is_msg && !is_emb) {
        eb = error_body(404, "no such endpoint", false);
        resp = http_response(404, NULL, eb, strlen(eb), &rlen);
        free(eb);
        s->status[404]++;
        send_now(s, c, resp, rlen);
        return;
    }
    if (strcmp(method, "POST") != 0) {
        eb = error_body(400, "expected POST", false);
        resp = http_response(400, NULL, eb, strlen(eb), &rlen);
        free(eb);
        s->status[400]++;
        send_now(s, c, resp, rlen);
        return;
    }

    s->requests++;
    if (s->t_first == 0)
        s->t_first = now_s();
    uint64_t key =
        fnv1a(body, blen, fnv1a(path, strlen(path), 0xcbf29ce484222325ULL));
    keystat *ks = key_get(s, key);
    key = ks->key;
    uint32_t attempt = ks->received++;
    config *cfg = &s->cfg;
    timer t = {.fd = c->fd, .gen = c->gen, .key = key};
    char retry_hdr[64] = "";
    if (cfg->retry_after > 0)
        snprintf(retry_hdr, sizeof retry_hdr, "Retry-After: %d\r\n",
                 cfg->retry_after);

    /* authentication */
    if (cfg->api_key) {
        const char *given = xkey;
        if (!given && auth && strncmp(auth, "Bearer ", 7) == 0)
            given = auth + 7;
        if (!given || strcmp(given, cfg->api_key) != 0) {
            char msg[600];
            snprintf(msg, sizeof msg, "Incorrect API key provided: %.500s",
                     given ? given : "(none)");
            eb = error_body(401, msg, is_msg);
            resp = http_response(401, NULL, eb, strlen(eb), &rlen);
            free(eb);
            s->status[401]++;
            send_now(s, c, resp, rlen);
            return;
        }
    }
    if (cfg->max_inflight >= 0 && s->inflight > cfg->max_inflight) {
        eb = error_body(429, "too many concurrent requests", is_msg);
        resp = http_response(429, retry_hdr, eb, strlen(eb), &rlen);
        free(eb);
        s->status[429]++;
        s->faults[F_429]++;
        send_now(s, c, resp, rlen);
        return;
    }

    json_error_t je;
    json_t *req = json_loadb(body, blen, 0, &je);
    if (!req) {
        char msg[300];
        snprintf(msg, sizeof msg, "invalid JSON body: %s", je.text);
        eb = error_body(400, msg, is_msg);
        resp = http_response(400, NULL, eb, strlen(eb), &rlen);
        free(eb);
        s->status[400]++;
        send_now(s, c, resp, rlen);
        return;
    }
    const char *model = json_string_value(json_object_get(req, "model"));
    if (!model)
        model = "";

    /* fault injection, reproducible per (request, attempt) */
    int fault = -1;
    if (cfg->max_faults_per_key < 0 ||
        ks->faulted < (uint32_t)cfg->max_faults_per_key) {
        double u = (double)(mix64(key ^ mix64(attempt + cfg->seed)) >> 11) *
                   0x1.0p-53,
               acc = 0;
        for (int i = 0; i < F_N; i++) {
            acc += cfg->fault[i];
            if (u < acc) {
                fault = i;
                break;
            }
        }
    }
    if (fault >= 0) {
        ks->faulted++;
        s->faults[fault]++;
    }

    char *answer = NULL, *out = NULL;
    int status = 200;
    if (is_emb) {
        json_t *in = json_object_get(req, "input"), *data = json_array();
        if (json_is_string(in))
            in = json_pack("[O]", in);
        else
            json_incref(in);
        size_t i;
        json_t *tx;
        uint32_t ptok = 0;
        json_array_foreach(in, i, tx)
        {
            const char *t = json_string_value(tx);
            json_t *vec = json_array();
            uint64_t h =
                fnv1a(t ? t : "", t ? strlen(t) : 0, 0xcbf29ce484222325ULL);
            double norm = 0, v[4096];
            for (int d = 0; d < cfg->emb_dim; d++) {
                h = mix64(h);
                v[d] = (double)(h >> 11) * 0x1.0p-53 * 2 - 1;
                norm += v[d] * v[d];
            }
            norm = sqrt(norm);
            for (int d = 0; d < cfg->emb_dim; d++)
                json_array_append_new(vec, json_real(v[d] / norm));
            json_array_append_new(
                data, json_pack("{s:s, s:I, s:o}", "object", "embedding",
                                "index", (json_int_t)i, "embedding", vec));
            ptok += tokens_of(t ? t : "");
        }
        json_decref(in);
        json_t *o = json_pack("{s:s, s:o, s:s, s:{s:i, s:i}}", "object", "list",
                              "data", data, "model", model, "usage",
                              "prompt_tokens", ptok, "total_tokens", ptok);
        out = json_dumps(o, JSON_COMPACT);
        json_decref(o);
    } else {
        json_t *msgs = json_object_get(req, "messages");
        const char *user = last_role(msgs, "user");
        const char *system =
            is_msg ? json_string_value(json_object_get(req, "system"))
                   : last_role(msgs, "system");
        if (!system)
            system = "";
        char *mtxt = json_dumps(msgs, JSON_COMPACT);
        uint64_t h =
            fnv1a(mtxt, mtxt ? strlen(mtxt) : 0, 0xcbf29ce484222325ULL);
        free(mtxt);
        const rule *hit = NULL;
        regmatch_t m[10];
        size_t nm = 0;
        for (size_t i = 0; i < cfg->nrules && !hit; i++) {
            const rule *r = &cfg->rules[i];
            if (r->model && strcmp(r->model, model) != 0)
                continue;
            if (r->system && !strstr(system, r->system))
                continue;
            if (r->user && !strstr(user, r->user))
                continue;
            if (r->has_re) {
                if (regexec(&r->re, user, 10, m, 0) != 0)
                    continue;
                nm = 10;
            }
            hit = r;
        }
        if (hit && hit->status && hit->status != 200) {
            status = hit->status;
            eb = error_body(status, hit->error ? hit->error : "rule error",
                            is_msg);
            resp = http_response(status, NULL, eb, strlen(eb), &rlen);
            free(eb);
            json_decref(req);
            s->status[status < 600 ? status : 599]++;
            send_now(s, c, resp, rlen);
            return;
        }
        answer = render(hit && hit->answer ? hit->answer : cfg->default_answer,
                        user, system, model, h, user, nm ? m : NULL, nm);
        uint32_t ptok = 0;
        size_t i;
        json_t *mm;
        json_array_foreach(msgs, i, mm) ptok +=
            tokens_of(json_string_value(json_object_get(mm, "content"))
                          ? json_string_value(json_object_get(mm, "content"))
                          : "");
        ptok += tokens_of(is_msg ? system : "");
        uint32_t ctok = tokens_of(answer);
        json_t *o;
        char id[32];
        snprintf(id, sizeof id, "fake-%llu", (unsigned long long)s->requests);
        if (is_msg)
            o = json_pack("{s:s, s:s, s:s, s:s, s:[{s:s, s:s}], s:s, s:{s:i, "
                          "s:i}}",
                          "id", id, "type", "message", "role", "assistant",
                          "model", model, "content", "type", "text", "text",
                          answer, "stop_reason", "end_turn", "usage",
                          "input_tokens", ptok, "output_tokens", ctok);
        else
            o = json_pack("{s:s, s:s, s:s, s:[{s:i, s:{s:s, s:s}, s:s}], "
                          "s:{s:i, s:i, s:i}}",
                          "id", id, "object", "chat.completion", "model", model,
                          "choices", "index", 0, "message", "role", "assistant",
                          "content", answer, "finish_reason", "stop", "usage",
                          "prompt_tokens", ptok, "completion_tokens", ctok,
                          "total_tokens", ptok + ctok);
        out = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        free(answer);
    }
    json_decref(req);
    if (!out)
        out = strdup("{}");

    switch (fault) {
    case F_429:
        free(out);
        out = error_body(429, "rate limit reached (injected)", is_msg);
        t.resp = http_response(429, retry_hdr, out, strlen(out), &t.len);
        status = 429;
        break;
    case F_500:
    case F_503:
        status = fault == F_500 ? 500 : 503;
        free(out);
        out = error_body(status, "server error (injected)", is_msg);
        t.resp = http_response(status, NULL, out, strlen(out), &t.len);
        break;
    case F_STALL:
        free(out);
        c->stalled = true;
        c->stall_until = now_s() + 600;
        return; /* never answered; the client times out */
    case F_TRUNC:
        t.resp = http_response(200, NULL, out, strlen(out), &t.len);
        t.len -= strlen(out) / 2 + 1;
        t.truncate = true;
        break;
    case F_BADJSON: {
        size_t l = strlen(out);
        out[l / 2] = '\0'; /* valid HTTP, a body that is not JSON */
        t.resp = http_response(200, NULL, out, strlen(out), &t.len);
        break;
    }
    case F_RESET:
        t.reset = true;
        break;
    default:
        t.resp = http_response(200, NULL, out, strlen(out), &t.len);
        t.answered = true;
        break;
    }
    free(out);
    s->status[fault == F_RESET ? 0 : status]++;
    t.due = now_s() + latency_ms(s) / 1000.0;
    if (t.answered && cfg->pause_after >= 0 &&
        s->answered >= (uint64_t)cfg->pause_after) {
        t.held = true;
        if (s->nheld == s->capheld) {
            s->capheld = s->capheld ? s->capheld * 2 : 64;
            s->held = xrealloc(s->held, s->capheld * sizeof *s->held);
        }
        s->held[s->nheld++] = t;
        return;
    }
    if (t.answered)
        s->answered++; /* reserved now so pause_after is exact */
    heap_push(s, t);
}

/* Parse and answer complete requests in the input buffer. */
static void process_input(server *s, conn *c)
{
    while (!c->busy && !c->stalled && c->in_len) {
        char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
        if (!end)
            return;
        size_t hlen = (size_t)(end - c->in) + 4;
        char method[16] = "", path[256] = "";
        char auth[1024] = "", xkey[1024] = "";
        size_t clen = 0;
        bool have_x = false;
        bool keep = true;
        /* request line */
        char *line = c->in, *eol = memchr(line, '\r', hlen);
        if (!eol || sscanf(line, "%15s %255s", method, path) != 2) {
            conn_close(s, c, false);
            return;
        }
        char *q = strchr(path, '?');
        if (q)
            *q = '\0';
        for (char *p = eol + 2; p < c->in + hlen - 2;) {
            char *e = memmem(p, (size_t)(c->in + hlen - p), "\r\n", 2);
            if (!e)
                break;
            size_t l = (size_t)(e - p);
            if (l > 15 && strncasecmp(p, "content-length:", 15) == 0)
                clen = strtoul(p + 15, NULL, 10);
            else if (l > 14 && strncasecmp(p, "authorization:", 14) == 0) {
                const char *v = p + 14;
                while (*v == ' ')
                    v++;
                snprintf(auth, sizeof auth, "%.*s", (int)(e - v), v);
            } else if (l > 10 && strncasecmp(p, "x-api-key:", 10) == 0) {
                const char *v = p + 10;
                while (*v == ' ')
                    v++;
                snprintf(xkey, sizeof xkey, "%.*s", (int)(e - v), v);
                have_x = true;
            } else if (l > 11 && strncasecmp(p, "connection:", 11) == 0 &&
                       strstr(p + 11, "close") &&
                       (size_t)(strstr(p + 11, "close") - p) < l)
                keep = false;
            p = e + 2;
        }
        if (c->in_len < hlen + clen)
            return; /* body not complete yet */
        char *body = xrealloc(NULL, clen + 1);
        memcpy(body, c->in + hlen, clen);
        body[clen] = '\0';
        memmove(c->in, c->in + hlen + clen, c->in_len - hlen - clen);
        c->in_len -= hlen + clen;
        if (!keep)
            c->close_after = true;
        int fd = c->fd;
        handle(s, c, method, path, auth[0] ? auth : NULL, have_x ? xkey : NULL,
               body, clen);
        free(body);
        c = conn_of(s, fd);
        if (!c)
            return;
    }
}

static void on_readable(server *s, conn *c)
{
    for (;;) {
        if (c->in_cap - c->in_len < 4096) {
            c->in_cap = c->in_cap ? c->in_cap * 2 : 8192;
            c->in = xrealloc(c->in, c->in_cap);
        }
        ssize_t r = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
        if (r > 0) {
            c->in_len += (size_t)r;
            continue;
        }
        if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
            conn_close(s, c, false);
            return;
        }
        break;
    }
    process_input(s, c);
}

static void on_accept(server *s)
{
    for (;;) {
        int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if ((size_t)fd >= s->nconns) {
            size_t n = (size_t)fd * 2 + 16;
            s->conns = xrealloc(s->conns, n * sizeof *s->conns);
            memset(s->conns + s->nconns, 0, (n - s->nconns) * sizeof *s->conns);
            s->nconns = n;
        }
        conn *c = calloc(1, sizeof *c);
        if (!c)
            die("calloc");
        c->fd = fd;
        c->gen = ++s->next_gen;
        s->accepted++;
        s->conns[fd] = c;
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
        epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev);
    }
}

static void fire_timers(server *s)
{
    double t = now_s();
    while (s->ntimers && s->timers[0].due <= t) {
        timer tm = heap_pop(s);
        conn *c = conn_of(s, tm.fd);
        if (!c || c->gen != tm.gen) {
            /* the client went away before the answer was due */
            if (tm.answered && s->answered > 0)
                s->answered--;
            free(tm.resp);
            continue;
        }
        if (tm.reset) {
            free(tm.resp);
            conn_close(s, c, true);
            continue;
        }
        if (tm.answered) {
            key_get(s, tm.key)->answered++;
            s->t_last = now_s();
        }
        if (tm.truncate) {
            c->close_after = true;
        }
        send_now(s, c, tm.resp, tm.len);
    }
}

int main(int argc, char **argv)
{
    server s;
    const char *host = "127.0.0.1", *cfg_path = NULL;
    int port = 0;
    memset(&s, 0, sizeof s);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
            port = (int)strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--host") == 0 && i + 1 < argc)
            host = argv[++i];
        else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            cfg_path = argv[++i];
        else {
            fprintf(stderr, "usage: fakellm [--port N] [--host ADDR] "
                            "[--config FILE.json]\n");
            return 2;
        }
    }
    json_t *cj = json_object();
    if (cfg_path) {
        json_error_t je;
        json_decref(cj);
        cj = json_load_file(cfg_path, 0, &je);
        if (!cj) {
            fprintf(stderr, "fakellm: %s:%d: %s\n", cfg_path, je.line, je.text);
            return 2;
        }
    }
    char msg[200];
    if (config_parse(cj, &s.cfg, msg, sizeof msg) != 0) {
        fprintf(stderr, "fakellm: %s\n", msg);
        return 2;
    }
    json_decref(cj);
    s.rng = mix64(s.cfg.seed);
    signal(SIGPIPE, SIG_IGN);

    s.lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s.lfd < 0)
        die("socket");
    int one = 1;
    setsockopt(s.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
        fprintf(stderr, "fakellm: bad --host %s\n", host);
        return 2;
    }
    if (bind(s.lfd, (struct sockaddr *)&a, sizeof a) < 0)
        die("bind");
    if (listen(s.lfd, 4096) < 0)
        die("listen");
    socklen_t al = sizeof a;
    getsockname(s.lfd, (struct sockaddr *)&a, &al);
    printf("%d\n", ntohs(a.sin_port));
    fflush(stdout);

    s.ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = s.lfd};
    epoll_ctl(s.ep, EPOLL_CTL_ADD, s.lfd, &ev);
    struct epoll_event evs[256];
    for (;;) {
        /* wake exactly when the next answer is due (latency is what
         * benchmarks measure against), with ns resolution where the
         * kernel has epoll_pwait2 */
        struct timespec ts, *tsp = NULL;
        int timeout = -1;
        if (s.ntimers) {
            double d = s.timers[0].due - now_s();
            if (d < 0)
                d = 0;
            ts.tv_sec = (time_t)d;
            ts.tv_nsec = (long)((d - (double)ts.tv_sec) * 1e9);
            tsp = &ts;
            timeout = (int)ceil(d * 1000);
        }
        int n = epoll_pwait2(s.ep, evs, 256, tsp, NULL);
        if (n < 0 && errno == ENOSYS)
            n = epoll_wait(s.ep, evs, 256, timeout);
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == s.lfd) {
                on_accept(&s);
                continue;
            }
            conn *c = conn_of(&s, fd);
            if (!c)
                continue;
            if (evs[i].events & (EPOLLERR | EPOLLHUP)) {
                conn_close(&s, c, false);
                continue;
            }
            if (evs[i].events & EPOLLOUT) {
                if (!conn_flush(&s, c))
                    continue;
                process_input(&s, c);
                c = conn_of(&s, fd);
                if (!c)
                    continue;
            }
            if (evs[i].events & EPOLLIN)
                on_readable(&s, c);
        }
        fire_timers(&s);
    }
}
