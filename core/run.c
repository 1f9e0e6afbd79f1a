#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hostapi.h"
#include "report/report.h"
#include "sha256.h"
#include "shard.h"
#include "store.h"
#include "util.h"
#include "value.h"
#include "llm/llm.h"

#ifndef ASSAY_VERSION
#define ASSAY_VERSION "0.0.0"
#endif

enum nstatus {
    NS_PENDING = 0,
    NS_READY,
    NS_RUNNING,
    NS_DONE,
    NS_FAILED,
    NS_SKIPPED,
    NS_OMITTED /* not selected by --only */
};

static const char *status_name(enum nstatus s)
{
    switch (s) {
    case NS_PENDING: return "pending";
    case NS_READY: return "ready";
    case NS_RUNNING: return "running";
    case NS_DONE: return "done";
    case NS_FAILED: return "failed";
    case NS_SKIPPED: return "skipped";
    case NS_OMITTED: return "omitted";
    }
    return "?";
}

typedef struct nstate {
    enum nstatus status;
    size_t waiting;      /* unfinished dependencies */
    value **outs;        /* per output port */
    node_ctx nc;
    double t0, t1;
    char source[16];     /* "run", "cache", "resumed" */
    char key[65];
    char error[ASSAY_ERROR_TEXT + 256];
} nstate;

typedef struct runtime {
    graph *g;
    registry *reg;
    const run_opts *o;
    char run_dir[PATH_MAX];
    char cache_dir[PATH_MAX];
    nstate *ns;
    unsigned jobs;
    atomic_bool cancel;
    FILE *log;
    pthread_mutex_t log_lock;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    size_t *ready;       /* queue of ready node indices */
    size_t rhead, rtail;
    size_t finished, total;
    bool quit;
    struct llm_service *llm;
    shard_plan plan;     /* sharded or merge runs only */
    char started[32];
    double t0;
    bool tty;
    size_t last_line_len;
} runtime;

/* ---- log -------------------------------------------------------------- */

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void rlog(runtime *rt, const char *fmt, ...)
{
    char msg[2048], ts[32];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!rt->log)
        return;
    util_iso_time(ts);
    pthread_mutex_lock(&rt->log_lock);
    fprintf(rt->log, "%s %s\n", ts, msg);
    fflush(rt->log);
    pthread_mutex_unlock(&rt->log_lock);
}

/* Print a line to the terminal, clearing the live status line first;
 * -q keeps only the lines marked `always` (errors). */
static void term_print(runtime *rt, const char *line, bool always)
{
    if (rt->o->verbosity < 0 && !always)
        return;
    if (rt->tty && rt->last_line_len) {
        fputs("\r\033[K", stderr);
        rt->last_line_len = 0;
    }
    fprintf(stderr, "%s\n", line);
}

static void term_line(runtime *rt, const char *line)
{
    term_print(rt, line, false);
}

/* Plugin log lines at or above the node's echo level (errors only with
 * -q: the level is set accordingly). */
static void echo_cb(void *ud, const char *line)
{
    runtime *rt = ud;
    pthread_mutex_lock(&rt->lock);
    term_print(rt, line, true);
    pthread_mutex_unlock(&rt->lock);
}

/* ---- node keys, inputs ------------------------------------------------ */

static int gather_inputs(runtime *rt, size_t idx, assay_io *io,
                         assay_error *err)
{
    const gnode *gn = &rt->g->nodes[idx];
    for (size_t i = 0; i < gn->ninputs; i++) {
        const ginput *gi = &gn->inputs[i];
        if (gi->nrefs == 0)
            continue;
        /* a multi input takes any number of values: no fixed buffer */
        size_t n = gi->nrefs;
        value **vs = malloc(n * sizeof *vs);
        if (!vs)
            return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        for (size_t k = 0; k < n; k++) {
            const gref *r = &gi->refs[k];
            nstate *up = &rt->ns[r->node];
            size_t oi = (size_t)(r->port - rt->g->nodes[r->node]
                                               .plugin->desc.outputs);
            vs[k] = up->outs ? up->outs[oi] : NULL;
            if (!vs[k]) {
                free(vs);
                return assay_error_set(err, ASSAY_EINTERNAL,
                                       "input '%s': upstream value missing",
                                       gi->port->name);
            }
        }
        bool stackable = gi->port->type == ASSAY_T_RECORDS ||
                         gi->port->type == ASSAY_T_TABLE;
        int rc = 0;
        if (gi->port->multi && !(stackable && n == 1)) {
            rc = value_combine(vs, n, gi->port->type, &io->in[i], err);
            if (rc)
                assay_error_prefix(err, "input '%s': ", gi->port->name);
        } else
            io->in[i] = value_ref(vs[0]);
        free(vs);
        if (rc)
            return rc;
    }
    return 0;
}

static void node_key(runtime *rt, size_t idx, const assay_io *io,
                     char out[65])
{
    const gnode *gn = &rt->g->nodes[idx];
    const plugin_entry *pe = gn->plugin;
    sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, "assay-node-v1\n", 14);
    sha256_update(&c, pe->desc.name, strlen(pe->desc.name) + 1);
    sha256_update(&c, pe->desc.version, strlen(pe->desc.version) + 1);
    sha256_update(&c, pe->sha256, 64);
    char *opts = json_dumps(gn->options, JSON_COMPACT | JSON_SORT_KEYS |
                                             JSON_ENCODE_ANY);
    if (opts) {
        sha256_update(&c, opts, strlen(opts) + 1);
        free(opts);
    }
    uint64_t seed = hostapi_seed(rt->g->seed, gn->name, NULL);
    sha256_update(&c, &seed, sizeof seed);
    if (gn->group_by)
        sha256_update(&c, gn->group_by, strlen(gn->group_by) + 1);
    if (rt->o->shard_count && rt->plan.partition &&
        rt->plan.partition[idx]) {
        char sh[96];
        snprintf(sh, sizeof sh, "shard %u/%u key %s", rt->o->shard_index,
                 rt->o->shard_count, gn->shard_key);
        sha256_update(&c, sh, strlen(sh) + 1);
    }
    for (size_t i = 0; i < io->nin; i++) {
        const char *h = io->in[i] ? value_hash(io->in[i]) : "-";
        sha256_update(&c, io->p->inputs[i].name,
                      strlen(io->p->inputs[i].name) + 1);
        sha256_update(&c, h, strlen(h) + 1);
    }
    sha256_final_hex(&c, out);
}

/* ---- node execution --------------------------------------------------- */

static void node_dir_of(runtime *rt, size_t idx, char *out, size_t n)
{
    snprintf(out, n, "%s/nodes/%s", rt->run_dir, rt->g->nodes[idx].name);
}

static json_t *node_record(runtime *rt, size_t idx, const assay_io *io)
{
    const gnode *gn = &rt->g->nodes[idx];
    nstate *st = &rt->ns[idx];
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "node", json_string(gn->name));
    json_object_set_new(o, "plugin", json_string(gn->plugin->desc.name));
    json_object_set_new(o, "plugin_version",
                        json_string(gn->plugin->desc.version));
    json_object_set_new(o, "plugin_sha256", json_string(gn->plugin->sha256));
    json_object_set_new(o, "status", json_string(status_name(st->status)));
    json_object_set_new(o, "source", json_string(st->source));
    if (st->key[0])
        json_object_set_new(o, "key", json_string(st->key));
    json_object_set_new(o, "seconds", json_real(st->t1 - st->t0));
    json_object_set(o, "options", gn->options);
    if (gn->group_by)
        json_object_set_new(o, "group_by", json_string(gn->group_by));
    if (st->error[0])
        json_object_set_new(o, "error", json_string(st->error));
    json_t *ins = json_array();
    for (size_t i = 0; io && i < gn->ninputs; i++) {
        const ginput *gi = &gn->inputs[i];
        for (size_t k = 0; k < gi->nrefs; k++) {
            char ref[300];
            json_t *e = json_object();
            json_object_set_new(e, "port", json_string(gi->port->name));
            json_object_set_new(
                e, "from",
                json_string(graph_ref_name(rt->g, &gi->refs[k], ref,
                                           sizeof ref)));
            size_t oi = (size_t)(gi->refs[k].port -
                                 rt->g->nodes[gi->refs[k].node]
                                     .plugin->desc.outputs);
            value *uv = rt->ns[gi->refs[k].node].outs
                            ? rt->ns[gi->refs[k].node].outs[oi]
                            : NULL;
            if (uv)
                json_object_set_new(e, "sha256",
                                    json_string(value_hash(uv)));
            json_array_append_new(ins, e);
        }
    }
    json_object_set_new(o, "inputs", ins);
    json_t *outs = json_object();
    for (size_t i = 0; st->outs && i < gn->noutputs; i++) {
        value *v = st->outs[i];
        if (!v)
            continue;
        const char *pn = gn->plugin->desc.outputs[i].name;
        char file[300];
        snprintf(file, sizeof file, "%s.%s", pn, value_ext(value_type(v)));
        json_t *e = json_object();
        json_object_set_new(e, "file", json_string(file));
        json_object_set_new(
            e, "type", json_string(graph_type_name(value_type(v))));
        json_object_set_new(e, "count", json_integer((json_int_t)value_count(v)));
        json_object_set_new(e, "sha256", json_string(value_hash(v)));
        /* report: the port's chart hint (no member when it has none) */
        json_object_set_new(
            e, "chart", json_string(gn->plugin->desc.outputs[i].chart));
        json_object_set_new(outs, pn, e);
    }
    json_object_set_new(o, "outputs", outs);
    return o;
}

static int write_node_record(runtime *rt, size_t idx, const assay_io *io)
{
    char dir[PATH_MAX], path[PATH_MAX + 16];
    node_dir_of(rt, idx, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/node.json", dir);
    json_t *rec = node_record(rt, idx, io);
    char *s = rec ? json_dumps(rec, JSON_INDENT(2) | JSON_REAL_PRECISION(17))
                  : NULL;
    json_decref(rec);
    if (!s)
        return ASSAY_ENOMEM;
    assay_error err;
    int rc = store_write_file(path, s, strlen(s), false, &err);
    free(s);
    return rc;
}

/* The first records/table output of a node (the order reference). */
static value *item_output(runtime *rt, size_t idx)
{
    const gnode *gn = &rt->g->nodes[idx];
    for (size_t i = 0; rt->ns[idx].outs && i < gn->noutputs; i++) {
        assay_type t = gn->plugin->desc.outputs[i].type;
        if (t == ASSAY_T_RECORDS || t == ASSAY_T_TABLE)
            return rt->ns[idx].outs[i];
    }
    return NULL;
}

/* `assay merge`: stitch a per-item node's outputs from every shard. */
static int merge_from_shards(runtime *rt, size_t idx, assay_io *io,
                             assay_error *err)
{
    const gnode *gn = &rt->g->nodes[idx];
    long origin = rt->plan.origin[idx];
    const char *key = origin >= 0 ? rt->g->nodes[origin].shard_key : NULL;
    value *order = origin >= 0 ? item_output(rt, (size_t)origin) : NULL;
    size_t ns = rt->o->nmerge;
    assay_io **parts = calloc(ns, sizeof *parts);
    if (!parts)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    int rc = 0;
    for (size_t s = 0; s < ns && !rc; s++) {
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s/nodes/%s", rt->o->merge_dirs[s],
                 gn->name);
        parts[s] = io_new(io->nc, io->p);
        if (!parts[s])
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        else if (store_load_outputs(dir, "node.json", NULL, parts[s]))
            rc = assay_error_set(err, ASSAY_EDATA,
                                 "shard %s has no finished outputs for node "
                                 "'%s'",
                                 rt->o->merge_dirs[s], gn->name);
    }
    for (size_t o = 0; !rc && o < io->nout; o++) {
        if (value_type(parts[0]->out[o]) == ASSAY_T_JSON) {
            json_t *arr = json_array();
            for (size_t s = 0; arr && s < ns; s++)
                json_array_append(arr,
                                  (json_t *)value_json(parts[s]->out[o]));
            io->out[o] = arr ? value_new_json(ASSAY_T_JSON,
                                              json_pack("{so}", "shards",
                                                        arr))
                             : NULL;
            if (!io->out[o])
                rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            continue;
        }
        value **vs = malloc(ns * sizeof *vs);
        if (!vs) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            break;
        }
        for (size_t s = 0; s < ns; s++)
            vs[s] = parts[s]->out[o];
        rc = shard_merge(vs, ns, key, order, &io->out[o], err);
        free(vs);
    }
    for (size_t s = 0; s < ns; s++)
        io_free(parts[s]);
    free(parts);
    return rc;
}

/* Shard runs keep only this shard's items of a partitioned source. */
static int partition_outputs(runtime *rt, size_t idx, assay_io *io,
                             assay_error *err)
{
    const gnode *gn = &rt->g->nodes[idx];
    for (size_t o = 0; o < io->nout; o++) {
        value *part = NULL;
        int rc = shard_partition(io->out[o], gn->shard_key,
                                 rt->o->shard_index, rt->o->shard_count,
                                 &part, err);
        if (rc)
            return rc;
        value_unref(io->out[o]);
        io->out[o] = part;
    }
    return 0;
}

/*
 * Run the plugin in a forked worker: a crash (segfault, abort), an exit()
 * or a hang past the node's timeout costs this node only.  The child
 * inherits the inputs (copy-on-write, nothing is serialised), writes the
 * outputs into the node directory as usual and reports through a pipe;
 * the parent loads the files back.
 */
static int exec_isolated(runtime *rt, size_t idx, assay_io *io,
                         const char *ndir, assay_error *err)
{
    const gnode *gn = &rt->g->nodes[idx];
    nstate *st = &rt->ns[idx];
    const assay_plugin *p = &gn->plugin->desc;
    int fd[2];
    if (pipe(fd) != 0)
        return assay_error_set(err, ASSAY_EIO, "cannot create a pipe: %s",
                               strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        return assay_error_set(err, ASSAY_EIO, "cannot fork a worker: %s",
                               strerror(errno));
    }
    if (pid == 0) {
        /* the worker: Ctrl-C is the parent's business, and a crash must
         * end the process by its signal (a sanitizer's handler would turn
         * it into an exit status) so that the parent can name it */
        signal(SIGINT, SIG_IGN);
        signal(SIGSEGV, SIG_DFL);
        signal(SIGBUS, SIG_DFL);
        signal(SIGFPE, SIG_DFL);
        signal(SIGILL, SIG_DFL);
        close(fd[0]);
        assay_error cerr = {0};
        int rc = exec_plugin(&st->nc, gn->options, io, gn->group_by, &cerr);
        for (size_t i = 0; !rc && i < io->nout; i++)
            rc = value_save(io->out[i], ndir, p->outputs[i].name, &cerr);
        char msg[ASSAY_ERROR_TEXT + 64];
        int n;
        if (rc)
            n = snprintf(msg, sizeof msg, "E%d %s", rc, cerr.text);
        else {
            n = snprintf(msg, sizeof msg, "K");
            for (size_t i = 0; i < io->nout && n < 60; i++)
                n += snprintf(msg + n, sizeof msg - (size_t)n, "%d",
                              (int)value_type(io->out[i]));
        }
        ssize_t w = write(fd[1], msg, (size_t)n);
        (void)w;
        close(fd[1]);
        _exit(0);
    }
    close(fd[1]);
    char msg[ASSAY_ERROR_TEXT + 64];
    size_t got = 0;
    double t0 = util_now();
    bool timed_out = false, stopped = false, eof = false;
    int status = 0;
    for (;;) {
        struct pollfd pfd = {.fd = fd[0], .events = POLLIN};
        if (!eof && poll(&pfd, 1, 50) > 0) {
            ssize_t r = read(fd[0], msg + got, sizeof msg - 1 - got);
            if (r > 0)
                got += (size_t)r;
            else
                eof = true;
        } else if (eof) {
            struct timespec ts = {0, 20 * 1000000L};
            nanosleep(&ts, NULL);
        }
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (gn->timeout > 0 && !timed_out && util_now() - t0 > gn->timeout) {
            kill(pid, SIGKILL);
            timed_out = true;
        }
        if (!stopped && atomic_load(&rt->cancel)) {
            kill(pid, SIGTERM);
            stopped = true;
        }
    }
    /* drain what is left in the pipe */
    ssize_t r;
    while (got < sizeof msg - 1 &&
           (r = read(fd[0], msg + got, sizeof msg - 1 - got)) > 0)
        got += (size_t)r;
    close(fd[0]);
    msg[got] = '\0';
    if (timed_out)
        return assay_error_set(err, ASSAY_ETIMEOUT,
                               "timed out after %g s (the worker process was "
                               "killed)",
                               gn->timeout);
    if (WIFSIGNALED(status))
        return assay_error_set(err, stopped ? ASSAY_ECANCELED : ASSAY_EINTERNAL,
                               "%s crashed: the worker process was killed by "
                               "signal %d (%s)",
                               p->name, WTERMSIG(status),
                               strsignal(WTERMSIG(status)));
    if (got == 0)
        return assay_error_set(err, ASSAY_EINTERNAL,
                               "%s ended the worker process (exit status %d) "
                               "without finishing",
                               p->name,
                               WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    if (msg[0] == 'E') {
        char *sp = strchr(msg, ' ');
        int code = (int)strtol(msg + 1, NULL, 10);
        return assay_error_set(err, code < 0 ? code : ASSAY_EINTERNAL, "%s",
                               sp ? sp + 1 : "failed");
    }
    for (size_t i = 0; i < io->nout; i++) {
        assay_type t = (assay_type)(msg[1 + i] - '0');
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s.%s", ndir, p->outputs[i].name,
                 value_ext(t));
        int rc = value_load(path, t, &io->out[i], err);
        if (rc)
            return rc;
    }
    return 0;
}

/* Try --resume: outputs recorded as done with the same key. */
static bool try_resume(runtime *rt, size_t idx, const char *key,
                       assay_io *io)
{
    if (!rt->o->resume_dir)
        return false;
    char dir[PATH_MAX];
    node_dir_of(rt, idx, dir, sizeof dir);
    return store_load_outputs(dir, "node.json", key, io) == 0;
}

static void execute(runtime *rt, size_t idx)
{
    const gnode *gn = &rt->g->nodes[idx];
    nstate *st = &rt->ns[idx];
    const assay_plugin *p = &gn->plugin->desc;
    assay_error err = {0};
    char ndir[PATH_MAX];
    node_dir_of(rt, idx, ndir, sizeof ndir);
    st->t0 = util_now();
    node_ctx_init(&st->nc, gn->name, p, rt->g->seed, rt->jobs,
                  rt->g->config_dir, rt->run_dir, ndir, &rt->cancel);
    st->nc.log = rt->log;
    st->nc.log_lock = &rt->log_lock;
    st->nc.echo = echo_cb;
    st->nc.echo_ud = rt;
    st->nc.echo_level = rt->o->verbosity > 0   ? ASSAY_LOG_INFO
                        : rt->o->verbosity < 0 ? ASSAY_LOG_ERROR
                                               : ASSAY_LOG_WARN;
    st->nc.llm = rt->llm;
    assay_io *io = io_new(&st->nc, p);
    int rc = io ? 0 : assay_error_set(&err, ASSAY_ENOMEM, "out of memory");
    if (!rc)
        rc = gather_inputs(rt, idx, io, &err);
    if (!rc)
        rc = util_mkdirs(ndir, &err);
    if (!rc) {
        node_key(rt, idx, io, st->key);
        bool cacheable =
            !(p->flags & (ASSAY_F_SIDE_EFFECTS | ASSAY_F_NO_CACHE));
        bool merging = rt->o->nmerge && rt->plan.in_shards[idx] &&
                       !rt->plan.partition[idx];
        if (merging) {
            snprintf(st->source, sizeof st->source, "merged");
            rc = merge_from_shards(rt, idx, io, &err);
            for (size_t i = 0; !rc && i < io->nout; i++)
                rc = value_save(io->out[i], ndir, p->outputs[i].name, &err);
        } else if (try_resume(rt, idx, st->key, io)) {
            snprintf(st->source, sizeof st->source, "resumed");
        } else if (cacheable && !rt->o->fresh && rt->cache_dir[0] &&
                   store_cache_get(rt->cache_dir, st->key, ndir, io) == 0) {
            snprintf(st->source, sizeof st->source, "cache");
        } else {
            snprintf(st->source, sizeof st->source, "run");
            rlog(rt, "%s: started (%s %s)", gn->name, p->name, p->version);
            bool isolate = gn->isolate ||
                           (rt->o->isolate_all &&
                            !(p->flags & ASSAY_F_NEEDS_LLM));
            bool partition = rt->o->shard_count && rt->plan.partition[idx];
            if (isolate)
                rc = exec_isolated(rt, idx, io, ndir, &err);
            else
                rc = exec_plugin(&st->nc, gn->options, io, gn->group_by,
                                 &err);
            if (!rc && partition)
                rc = partition_outputs(rt, idx, io, &err);
            /* an isolated worker saved its outputs already */
            for (size_t i = 0; !rc && (!isolate || partition) && i < io->nout;
                 i++)
                rc = value_save(io->out[i], ndir, p->outputs[i].name, &err);
            if (!rc && cacheable && rt->cache_dir[0])
                store_cache_put(rt->cache_dir, st->key, ndir, io);
        }
    }
    st->t1 = util_now();
    if (io && !rc) {
        /* hand the outputs to the node state */
        st->outs = io->out;
        io->out = calloc(io->nout ? io->nout : 1, sizeof *io->out);
        if (!io->out) {
            io->out = st->outs;
            st->outs = NULL;
            rc = assay_error_set(&err, ASSAY_ENOMEM, "out of memory");
        }
    }
    if (rc) {
        snprintf(st->error, sizeof st->error, "%s",
                 err.text[0] ? err.text : assay_strerror(rc));
        /* say why a stopped node stopped: a spent LLM budget also
         * cancels the run, and the plugin may only have seen that */
        bool budget = rt->llm && llm_service_budget_exhausted(rt->llm);
        const char *why = budget ? "budget" : "cancel";
        if ((rc == ASSAY_ECANCELED || rc == ASSAY_EBUDGET ||
             atomic_load(&rt->cancel)) &&
            !strstr(st->error, why)) {
            char tmp[sizeof st->error];
            snprintf(tmp, sizeof tmp, "%s (%s)", st->error,
                     budget ? "LLM budget reached" : "run cancelled");
            snprintf(st->error, sizeof st->error, "%s", tmp);
        }
    }
    pthread_mutex_lock(&rt->lock);
    st->status = rc ? NS_FAILED : NS_DONE;
    pthread_mutex_unlock(&rt->lock);
    if (rt->run_dir[0] && util_is_dir(ndir))
        write_node_record(rt, idx, io);
    rlog(rt, "%s: %s (%s, %.3fs)%s%s", gn->name,
         rc ? "failed" : "done", st->source, st->t1 - st->t0,
         rc ? ": " : "", rc ? st->error : "");
    io_free(io);
}

/* ---- scheduling ------------------------------------------------------- */

static void push_ready(runtime *rt, size_t idx)
{
    rt->ns[idx].status = NS_READY;
    rt->ready[rt->rtail++] = idx;
}

/* Mark everything downstream of `idx` skipped (lock held). */
static void skip_users(runtime *rt, size_t idx, const char *why)
{
    const gnode *gn = &rt->g->nodes[idx];
    for (size_t k = 0; k < gn->nusers; k++) {
        size_t u = gn->users[k];
        nstate *us = &rt->ns[u];
        if (us->status != NS_PENDING)
            continue;
        us->status = NS_SKIPPED;
        snprintf(us->error, sizeof us->error, "%s", why);
        rt->finished++;
        char line[1400];
        snprintf(line, sizeof line, "[%zu/%zu] %-7s %s (%s): %s",
                 rt->finished, rt->total, "skipped", rt->g->nodes[u].name,
                 rt->g->nodes[u].plugin->desc.name,
                 strncmp(why, "skipped: ", 9) ? why : why + 9);
        term_line(rt, line);
        skip_users(rt, u, why);
    }
}

static void finish_node(runtime *rt, size_t idx)
{
    /* lock held */
    nstate *st = &rt->ns[idx];
    rt->finished++;
    const gnode *gn = &rt->g->nodes[idx];
    char line[1400];
    if (st->status == NS_DONE) {
        char tag[32] = "";
        if (strcmp(st->source, "run") != 0)
            snprintf(tag, sizeof tag, "  [%s]",
                     strcmp(st->source, "cache") == 0 ? "cached"
                                                      : st->source);
        snprintf(line, sizeof line, "[%zu/%zu] %-7s %s (%s) %.2fs%s",
                 rt->finished, rt->total, "done", gn->name,
                 gn->plugin->desc.name, st->t1 - st->t0, tag);
        term_line(rt, line);
        for (size_t k = 0; k < gn->nusers; k++) {
            size_t u = gn->users[k];
            if (rt->ns[u].status == NS_PENDING && --rt->ns[u].waiting == 0)
                push_ready(rt, u);
        }
    } else {
        snprintf(line, sizeof line, "[%zu/%zu] %-7s %s (%s): %s",
                 rt->finished, rt->total, "FAILED", gn->name,
                 gn->plugin->desc.name, st->error);
        term_print(rt, line, true); /* shown even with -q */
        char why[512];
        snprintf(why, sizeof why, "skipped: upstream node '%s' failed",
                 gn->name);
        skip_users(rt, idx, why);
    }
}

static void *worker(void *arg)
{
    runtime *rt = arg;
    pthread_mutex_lock(&rt->lock);
    for (;;) {
        while (!rt->quit && rt->rhead == rt->rtail)
            pthread_cond_wait(&rt->cond, &rt->lock);
        if (rt->quit)
            break;
        size_t idx = rt->ready[rt->rhead++];
        if (atomic_load(&rt->cancel)) {
            rt->ns[idx].status = NS_SKIPPED;
            snprintf(rt->ns[idx].error, sizeof rt->ns[idx].error,
                     "not started: run cancelled");
            rt->finished++;
            skip_users(rt, idx, "not started: run cancelled");
            pthread_cond_broadcast(&rt->cond);
            continue;
        }
        rt->ns[idx].status = NS_RUNNING;
        pthread_mutex_unlock(&rt->lock);
        execute(rt, idx);
        pthread_mutex_lock(&rt->lock);
        finish_node(rt, idx);
        pthread_cond_broadcast(&rt->cond);
    }
    pthread_mutex_unlock(&rt->lock);
    return NULL;
}

/* Live status line on a terminal (lock held). */
static void draw_status(runtime *rt)
{
    if (!rt->tty || rt->o->verbosity < 0)
        return;
    struct winsize ws;
    int width = 100;
    if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
        width = ws.ws_col;
    strbuf sb = {0};
    static const char spin[] = "|/-\\";
    int phase = (int)((util_now() - rt->t0) * 8) % 4;
    sb_printf(&sb, "%c [%zu/%zu] %.0fs", spin[phase], rt->finished,
              rt->total, util_now() - rt->t0);
    for (size_t i = 0; i < rt->g->n; i++) {
        nstate *st = &rt->ns[i];
        if (st->status != NS_RUNNING)
            continue;
        uint64_t d = atomic_load(&st->nc.prog_done),
                 t = atomic_load(&st->nc.prog_total);
        if (atomic_load(&st->nc.prog_seen) && t)
            sb_printf(&sb, " | %s %llu/%llu %s (%.0f%%)",
                      rt->g->nodes[i].name, (unsigned long long)d,
                      (unsigned long long)t, st->nc.prog_unit,
                      100.0 * (double)d / (double)t);
        else if (atomic_load(&st->nc.prog_seen))
            sb_printf(&sb, " | %s %llu %s", rt->g->nodes[i].name,
                      (unsigned long long)d, st->nc.prog_unit);
        else
            sb_printf(&sb, " | %s", rt->g->nodes[i].name);
    }
    if (sb.buf) {
        if (sb.len > (size_t)width - 1)
            sb.buf[width - 1] = '\0';
        fprintf(stderr, "\r\033[K%s", sb.buf);
        fflush(stderr);
        rt->last_line_len = strlen(sb.buf);
    }
    sb_free(&sb);
}

/* Plain progress lines for logs/CI: every 10 s for running nodes. */
static void plain_progress(runtime *rt, double *last)
{
    if (rt->tty || rt->o->verbosity < 0 || util_now() - *last < 10)
        return;
    *last = util_now();
    for (size_t i = 0; i < rt->g->n; i++) {
        nstate *st = &rt->ns[i];
        if (st->status != NS_RUNNING || !atomic_load(&st->nc.prog_seen))
            continue;
        char line[512];
        uint64_t d = atomic_load(&st->nc.prog_done),
                 t = atomic_load(&st->nc.prog_total);
        snprintf(line, sizeof line, "        progress %s: %llu/%llu %s",
                 rt->g->nodes[i].name, (unsigned long long)d,
                 (unsigned long long)t, st->nc.prog_unit);
        term_line(rt, line);
    }
}

/* ---- manifest & summary ----------------------------------------------- */

static json_t *manifest(runtime *rt, const char *status)
{
    const graph *g = rt->g;
    json_t *m = json_object();
    if (!m)
        return NULL;
    char abs[PATH_MAX], sha[65] = "";
    if (util_realpath(g->file, abs, sizeof abs) != 0)
        snprintf(abs, sizeof abs, "%s", g->file);
    sha256_file_hex(g->file, sha);
    json_object_set_new(m, "experiment", json_string(g->experiment));
    json_object_set_new(m, "status", json_string(status));
    json_object_set_new(m, "assay_version", json_string(ASSAY_VERSION));
    char abi[32];
    snprintf(abi, sizeof abi, "%d.%d", ASSAY_ABI_MAJOR, ASSAY_ABI_MINOR);
    json_object_set_new(m, "abi", json_string(abi));
    json_object_set_new(m, "config_file", json_string(abs));
    json_object_set_new(m, "config_sha256", json_string(sha));
    json_t *sets = json_array();
    for (size_t i = 0; i < rt->o->nsets; i++)
        json_array_append_new(sets, json_string(rt->o->sets[i]));
    json_object_set_new(m, "sets", sets);
    json_object_set_new(m, "config", store_redact(g->config));
    char *canon = json_dumps(g->config, JSON_COMPACT | JSON_SORT_KEYS);
    if (canon) {
        char ch[65];
        sha256_hex(canon, strlen(canon), ch);
        json_object_set_new(m, "config_hash", json_string(ch));
        free(canon);
    }
    if (rt->o->shard_count)
        json_object_set_new(m, "shard",
                            json_pack("{sI sI}", "index",
                                      (json_int_t)rt->o->shard_index, "count",
                                      (json_int_t)rt->o->shard_count));
    if (rt->o->nmerge) {
        json_t *from = json_array();
        for (size_t i = 0; i < rt->o->nmerge; i++)
            json_array_append_new(from, json_string(rt->o->merge_dirs[i]));
        json_object_set_new(m, "merged_from", from);
    }
    json_object_set_new(m, "seed", json_integer((json_int_t)g->seed));
    json_object_set_new(m, "started", json_string(rt->started));
    char now[32];
    util_iso_time(now);
    if (strcmp(status, "running") != 0) {
        json_object_set_new(m, "finished", json_string(now));
        json_object_set_new(m, "seconds", json_real(util_now() - rt->t0));
    }
    json_object_set_new(m, "jobs", json_integer(rt->jobs));
    char cabs[PATH_MAX];
    json_object_set_new(m, "cache_dir",
                        json_string(util_realpath(rt->cache_dir, cabs,
                                                  sizeof cabs) == 0
                                        ? cabs
                                        : rt->cache_dir));
    json_t *plugins = json_object();
    json_t *nodes = json_object();
    for (size_t i = 0; i < g->n; i++) {
        const plugin_entry *pe = g->nodes[i].plugin;
        json_t *pj = json_object();
        json_object_set_new(pj, "version", json_string(pe->desc.version));
        json_object_set_new(pj, "kind", json_string(pe->desc.kind));
        json_object_set_new(pj, "file", json_string(pe->path));
        json_object_set_new(pj, "sha256", json_string(pe->sha256));
        json_object_set_new(plugins, pe->desc.name, pj);
        nstate *st = &rt->ns[i];
        json_t *nj = json_object();
        json_object_set_new(nj, "plugin", json_string(pe->desc.name));
        json_object_set_new(nj, "status",
                            json_string(status_name(st->status)));
        if (st->source[0])
            json_object_set_new(nj, "source", json_string(st->source));
        if (st->status == NS_DONE || st->status == NS_FAILED)
            json_object_set_new(nj, "seconds", json_real(st->t1 - st->t0));
        if (st->key[0])
            json_object_set_new(nj, "key", json_string(st->key));
        if (st->error[0])
            json_object_set_new(nj, "error", json_string(st->error));
        json_object_set_new(nodes, g->nodes[i].name, nj);
    }
    json_object_set_new(m, "plugins", plugins);
    json_object_set_new(m, "nodes", nodes);
    if (rt->llm)
        json_object_set_new(m, "llm", llm_service_usage(rt->llm));
    return m;
}

/* Write manifest.json (atomically).  Non-zero, with a message, when it
 * could not be written. */
static int write_manifest(runtime *rt, const char *status)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/manifest.json", rt->run_dir);
    json_t *m = manifest(rt, status);
    char *s = m ? json_dumps(m, JSON_INDENT(2) | JSON_REAL_PRECISION(17))
                : NULL;
    json_decref(m);
    assay_error err = {0};
    int rc = s ? store_write_file(path, s, strlen(s), true, &err)
               : ASSAY_ENOMEM;
    if (rc)
        fprintf(stderr, "assay: cannot write %s: %s\n", path,
                s ? err.text : "out of memory");
    free(s);
    return rc;
}

/* ---- setup ------------------------------------------------------------ */

static const assay_plugin *find_plugin_cb(void *ud, const char *name)
{
    const plugin_entry *e = registry_find((registry *)ud, name);
    return e ? &e->desc : NULL;
}

static int make_run_dir(runtime *rt, assay_error *err)
{
    if (rt->o->resume_dir) {
        if (!util_is_dir(rt->o->resume_dir))
            return assay_error_set(err, ASSAY_EINVAL,
                                   "--resume: %s is not a run directory",
                                   rt->o->resume_dir);
        snprintf(rt->run_dir, sizeof rt->run_dir, "%s", rt->o->resume_dir);
        return 0;
    }
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    char seed[128], hex[65];
    snprintf(seed, sizeof seed, "%s-%ld-%.9f", rt->g->experiment,
             (long)getpid(), util_now());
    sha256_hex(seed, strlen(seed), hex);
    hex[8] = '\0';
    char suffix[48] = "";
    if (rt->o->shard_count)
        snprintf(suffix, sizeof suffix, "-shard%u-of-%u", rt->o->shard_index,
                 rt->o->shard_count);
    int n = snprintf(rt->run_dir, sizeof rt->run_dir, "%s/%s/%s-%s%s",
                     rt->o->runs_dir ? rt->o->runs_dir : "runs",
                     rt->g->experiment, stamp, hex, suffix);
    if (n < 0 || (size_t)n >= sizeof rt->run_dir)
        return assay_error_set(err, ASSAY_EINVAL, "run directory path too "
                                                  "long");
    return util_mkdirs(rt->run_dir, err);
}

/* Select the nodes needed for --only (the node and its ancestors). */
static int select_only(runtime *rt, assay_error *err)
{
    long t = graph_find(rt->g, rt->o->only);
    if (t < 0)
        return assay_error_set(err, ASSAY_EINVAL, "--only: no node named "
                                                  "'%s'", rt->o->only);
    for (size_t i = 0; i < rt->g->n; i++)
        rt->ns[i].status = NS_OMITTED;
    size_t *stack = malloc((rt->g->n ? rt->g->n : 1) * sizeof *stack), sp = 0;
    if (!stack)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    stack[sp++] = (size_t)t;
    rt->ns[t].status = NS_PENDING;
    while (sp) {
        size_t u = stack[--sp];
        for (size_t k = 0; k < rt->g->nodes[u].ndeps; k++) {
            size_t d = rt->g->nodes[u].deps[k];
            if (rt->ns[d].status == NS_OMITTED) {
                rt->ns[d].status = NS_PENDING;
                stack[sp++] = d;
            }
        }
    }
    free(stack);
    return 0;
}

int run_graph(graph *g, registry *reg, const run_opts *o, char *run_dir_out,
              size_t run_dir_sz)
{
    runtime rt;
    memset(&rt, 0, sizeof rt);
    rt.g = g;
    rt.reg = reg;
    rt.o = o;
    rt.jobs = o->jobs ? o->jobs : util_ncpus();
    rt.t0 = util_now();
    rt.tty = o->progress_tty;
    util_iso_time(rt.started);
    atomic_init(&rt.cancel, false);
    pthread_mutex_init(&rt.lock, NULL);
    pthread_mutex_init(&rt.log_lock, NULL);
    pthread_cond_init(&rt.cond, NULL);
    int exit_code = 2;
    assay_error err = {0};
    rt.ns = calloc(g->n, sizeof *rt.ns);
    rt.ready = malloc(g->n * sizeof *rt.ready);
    pthread_t *threads = calloc(rt.jobs, sizeof *threads);
    if (!rt.ns || !rt.ready || !threads) {
        fprintf(stderr, "assay: out of memory\n");
        goto out;
    }
    if (o->only && select_only(&rt, &err)) {
        fprintf(stderr, "assay: %s\n", err.text);
        goto out;
    }
    if (o->shard_count || o->nmerge) {
        if (shard_plan_build(g, &rt.plan, &err)) {
            fprintf(stderr, "assay: %s\n", err.text);
            goto out;
        }
        /* a shard runs only the per-item part of the graph */
        for (size_t i = 0; o->shard_count && i < g->n; i++)
            if (!rt.plan.in_shards[i])
                rt.ns[i].status = NS_OMITTED;
    }
    snprintf(rt.cache_dir, sizeof rt.cache_dir, "%s",
             o->cache_dir ? o->cache_dir : ".assay/cache");
    if (util_mkdirs(rt.cache_dir, &err)) {
        fprintf(stderr, "assay: node cache disabled: %s\n", err.text);
        rt.cache_dir[0] = '\0';
    }
    if (make_run_dir(&rt, &err)) {
        fprintf(stderr, "assay: %s\n", err.text);
        goto out;
    }
    if (run_dir_out)
        snprintf(run_dir_out, run_dir_sz, "%s", rt.run_dir);
    char logpath[PATH_MAX + 16];
    snprintf(logpath, sizeof logpath, "%s/log.txt", rt.run_dir);
    rt.log = fopen(logpath, "a");
    rlog(&rt, "run of %s (%s) started, %u worker threads", g->experiment,
         g->file, rt.jobs);
    if (g->llm && json_object_size(g->llm) > 0) {
        char cpath[PATH_MAX + 16];
        snprintf(cpath, sizeof cpath, "%s/llm.sqlite", rt.cache_dir);
        const char *mode = o->llm_cache_mode ? o->llm_cache_mode
                                             : g->cache_mode;
        if (llm_service_create(g->llm, g->budget,
                               rt.cache_dir[0] ? cpath : NULL, mode,
                               find_plugin_cb, reg, &rt.llm, &err)) {
            fprintf(stderr, "%s: error: %s\n", g->file, err.text);
            goto out;
        }
    }
    write_manifest(&rt, "running");
    /* initial ready set */
    for (size_t i = 0; i < g->n; i++) {
        if (rt.ns[i].status == NS_OMITTED)
            continue;
        rt.total++;
        rt.ns[i].waiting = g->nodes[i].ndeps;
        if (rt.ns[i].waiting == 0)
            push_ready(&rt, i);
    }
    for (unsigned t = 0; t < rt.jobs; t++)
        if (pthread_create(&threads[t], NULL, worker, &rt) != 0) {
            threads[t] = 0;
            if (t == 0) {
                fprintf(stderr, "assay: cannot start worker threads\n");
                goto out;
            }
        }
    double last_plain = util_now();
    pthread_mutex_lock(&rt.lock);
    while (rt.finished < rt.total) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 125 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&rt.cond, &rt.lock, &ts);
        if (o->interrupt && *o->interrupt && !atomic_load(&rt.cancel)) {
            atomic_store(&rt.cancel, true);
            term_line(&rt, "interrupted: stopping; finished nodes are kept "
                           "(Ctrl-C again to abort at once)");
            rlog(&rt, "interrupted by the user");
            if (rt.llm)
                llm_service_cancel(rt.llm);
        }
        if (rt.llm && llm_service_budget_exhausted(rt.llm) &&
            !atomic_load(&rt.cancel)) {
            atomic_store(&rt.cancel, true);
            term_line(&rt, "LLM budget reached: stopping gracefully; "
                           "finished nodes are kept");
            rlog(&rt, "budget exhausted");
        }
        draw_status(&rt);
        plain_progress(&rt, &last_plain);
    }
    rt.quit = true;
    pthread_cond_broadcast(&rt.cond);
    if (rt.tty && rt.last_line_len && o->verbosity >= 0) {
        fputs("\r\033[K", stderr);
        rt.last_line_len = 0;
    }
    pthread_mutex_unlock(&rt.lock);
    for (unsigned t = 0; t < rt.jobs; t++)
        if (threads[t])
            pthread_join(threads[t], NULL);
    bool ok = true;
    for (size_t i = 0; i < g->n; i++)
        if (rt.ns[i].status != NS_DONE && rt.ns[i].status != NS_OMITTED)
            ok = false;
    const char *status = ok ? "ok"
                         : atomic_load(&rt.cancel) ? "interrupted"
                                                   : "failed";
    /* a run whose manifest is missing or stale is not a finished run
     * (the report, `runs` and --resume read it) */
    if (write_manifest(&rt, status))
        ok = false;
    rlog(&rt, "run %s", status);
    /* report: report.html and the terminal summary (core/report) */
    report_finish_run(rt.run_dir, o->verbosity >= 0);
    exit_code = ok ? 0 : 1;
out:
    if (rt.ns)
        for (size_t i = 0; i < g->n; i++) {
            for (size_t k = 0; rt.ns[i].outs && k < g->nodes[i].noutputs;
                 k++)
                value_unref(rt.ns[i].outs[k]);
            free(rt.ns[i].outs);
        }
    llm_service_destroy(rt.llm);
    if (rt.log)
        fclose(rt.log);
    shard_plan_free(&rt.plan);
    free(rt.ns);
    free(rt.ready);
    free(threads);
    pthread_mutex_destroy(&rt.lock);
    pthread_mutex_destroy(&rt.log_lock);
    pthread_cond_destroy(&rt.cond);
    return exit_code;
}
