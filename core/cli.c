#include "cli.h"
#include "cluster.h"
#include "plugcheck.h"

#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "graph.h"
#include "hostapi.h"
#include "options.h"
#include "registry.h"
#include "report/cmd.h"
#include "report/summary.h"
#include "run.h"
#include "sha256.h"
#include "shard.h"
#include "store.h"
#include "util.h"
#include "llm/llm.h"

#ifndef ASSAY_VERSION
#define ASSAY_VERSION "0.0.0"
#endif

/* Set by the SIGINT/SIGTERM handler; polled by the scheduler.  The one
 * process-wide variable: a signal handler can reach nothing else. */
static volatile sig_atomic_t g_interrupt;

static void on_signal(int sig)
{
    if (g_interrupt) {
        /* second Ctrl-C: leave now; finished nodes are already on disk */
        signal(sig, SIG_DFL);
        raise(sig);
    }
    g_interrupt = 1;
}

static const char USAGE[] =
    "usage: assay <command> [options]\n"
    "\n"
    "commands:\n"
    "  run EXP.yaml        run an experiment graph\n"
    "  validate EXP.yaml   check an experiment without running it\n"
    "  plugins [info NAME] list plugins, or show one plugin's manual\n"
    "  graph EXP.yaml      print the graph (--format dot|mermaid)\n"
    "  runs [compare A B]  list past runs, or compare two runs\n"
    "  report RUN_DIR      rebuild a run's report.html\n"
    "  merge DIR...        merge the shard runs of one experiment\n"
    "  plugin-check FILE.so  check plugin files (descriptors, docs, exports,\n"
    "                      robustness against a mock host)\n"
    "  slurm EXP.yaml --shards N   submit a sharded run to Slurm\n"
    "  k8s EXP.yaml --shards N     write Kubernetes Jobs for a sharded run\n"
    "  llm ping EXP.yaml NAME   send one request to an endpoint\n"
    "\n"
    "`assay <command> --help` describes each command.\n";

static const char RUN_HELP[] =
    "usage: assay run EXP.yaml [options]\n"
    "\n"
    "Run every node of the experiment graph and write a run directory\n"
    "(runs/<experiment>/<time>-<hash>/: manifest.json, nodes/, log.txt).\n"
    "\n"
    "  --set PATH=VALUE   override a YAML value (e.g. nodes.j.with.k=3)\n"
    "  --resume DIR       continue an interrupted run in DIR\n"
    "  --fresh            recompute every node (ignore the node cache)\n"
    "  --isolate          run every node in its own worker process, so a\n"
    "                     crashing plugin costs only its node\n"
    "  --only NODE        run NODE and what it depends on\n"
    "  --dry-run          show the plan and what the LLM calls would cost:\n"
    "                     cheap nodes run in memory, LLM nodes against\n"
    "                     the cache only; nothing is sent or written\n"
    "  --shard I/N        run shard I of N: sources keep the items whose key\n"
    "                     hashes to I, per-item nodes run on them; the rest\n"
    "                     runs in `assay merge`\n"
    "  -j, --jobs N       worker threads (default: number of cores)\n"
    "  --runs-dir DIR     where run directories go (default: runs)\n"
    "  --cache-dir DIR    node and LLM cache (default: .assay/cache)\n"
    "  --cache MODE       LLM cache: read-write, off or replay\n"
    "  --plugin-dir DIR   also load plugins from DIR (repeatable)\n"
    "  -q, --quiet        print only errors\n"
    "  -v, --verbose      print plugin log lines\n";

static const char VALIDATE_HELP[] =
    "usage: assay validate EXP.yaml [--set PATH=VALUE]... "
    "[--plugin-dir DIR]\n"
    "\n"
    "Check the experiment (YAML, plugins, ports, options, types, cycles)\n"
    "and report every problem as file:line:col.  Exit 0 when valid, 2 "
    "when not.\n";

static const char PLUGINS_HELP[] =
    "usage: assay plugins [--plugin-dir DIR]\n"
    "       assay plugins info NAME\n"
    "\n"
    "List every plugin found (built-in directory, ASSAY_PLUGIN_PATH,\n"
    "--plugin-dir) with its ports, or print one plugin's full manual.\n";

static const char GRAPH_HELP[] =
    "usage: assay graph EXP.yaml [--format dot|mermaid]\n"
    "\n"
    "Print the experiment graph for Graphviz (dot) or Mermaid.\n";

static const char RUNS_HELP[] =
    "usage: assay runs [--runs-dir DIR]\n"
    "       assay runs compare A B   (see assay runs compare --help)\n"
    "\n"
    "List past runs: experiment, start time, status, duration, key "
    "metric,\npath.\n";

typedef struct args {
    const char *file;
    const char *sets[256];
    size_t nsets;
    const char *plugin_dirs[32];
    size_t ndirs;
    run_opts ro;
    const char *format;
    const char *rest[16];
    size_t nrest;
    bool help;
} args;

static bool need_value(int i, int argc, const char *flag)
{
    if (i + 1 >= argc) {
        fprintf(stderr, "assay: %s needs a value\n", flag);
        return false;
    }
    return true;
}

/* Parse the common flags; returns 0 or 2 (bad usage). */
static int parse_args(int argc, char **argv, args *a, const char *help)
{
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
            fputs(help, stdout);
            a->help = true;
            return 0;
        } else if (!strcmp(s, "--set")) {
            if (!need_value(i, argc, s))
                return 2;
            if (a->nsets < 256)
                a->sets[a->nsets++] = argv[++i];
        } else if (!strncmp(s, "--set=", 6)) {
            if (a->nsets < 256)
                a->sets[a->nsets++] = s + 6;
        } else if (!strcmp(s, "--plugin-dir")) {
            if (!need_value(i, argc, s))
                return 2;
            if (a->ndirs < 32)
                a->plugin_dirs[a->ndirs++] = argv[++i];
        } else if (!strcmp(s, "--resume")) {
            if (!need_value(i, argc, s))
                return 2;
            a->ro.resume_dir = argv[++i];
        } else if (!strcmp(s, "--fresh")) {
            a->ro.fresh = true;
        } else if (!strcmp(s, "--isolate")) {
            a->ro.isolate_all = true;
        } else if (!strcmp(s, "--only")) {
            if (!need_value(i, argc, s))
                return 2;
            a->ro.only = argv[++i];
        } else if (!strcmp(s, "--shard")) {
            if (!need_value(i, argc, s))
                return 2;
            if (!shard_parse(argv[++i], &a->ro.shard_index,
                             &a->ro.shard_count)) {
                fprintf(stderr, "assay: --shard expects I/N with 0 <= I < N, "
                                "got '%s'\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(s, "--dry-run")) {
            a->ro.dry_run = true;
        } else if (!strcmp(s, "-j") || !strcmp(s, "--jobs")) {
            int64_t v;
            if (!need_value(i, argc, s))
                return 2;
            if (!util_parse_i64(argv[++i], &v) || v < 1 || v > 1024) {
                fprintf(stderr, "assay: %s expects a number of threads "
                                "(1-1024)\n", s);
                return 2;
            }
            a->ro.jobs = (unsigned)v;
        } else if (!strcmp(s, "--runs-dir")) {
            if (!need_value(i, argc, s))
                return 2;
            a->ro.runs_dir = argv[++i];
        } else if (!strcmp(s, "--cache-dir")) {
            if (!need_value(i, argc, s))
                return 2;
            a->ro.cache_dir = argv[++i];
        } else if (!strcmp(s, "--cache")) {
            if (!need_value(i, argc, s))
                return 2;
            a->ro.llm_cache_mode = argv[++i];
            if (strcmp(a->ro.llm_cache_mode, "read-write") &&
                strcmp(a->ro.llm_cache_mode, "off") &&
                strcmp(a->ro.llm_cache_mode, "replay")) {
                fprintf(stderr, "assay: --cache expects read-write, off or "
                                "replay\n");
                return 2;
            }
        } else if (!strcmp(s, "--format")) {
            if (!need_value(i, argc, s))
                return 2;
            a->format = argv[++i];
        } else if (!strcmp(s, "-q") || !strcmp(s, "--quiet")) {
            a->ro.verbosity = -1;
        } else if (!strcmp(s, "-v") || !strcmp(s, "--verbose")) {
            a->ro.verbosity = 1;
        } else if (s[0] == '-' && s[1]) {
            fprintf(stderr, "assay: unknown option '%s'\n%s", s, help);
            return 2;
        } else if (!a->file) {
            a->file = s;
        } else if (a->nrest < 16) {
            a->rest[a->nrest++] = s;
        } else {
            fprintf(stderr, "assay: too many arguments\n");
            return 2;
        }
    }
    return 0;
}

static registry *load_registry(const args *a)
{
    registry *r = registry_new();
    if (!r) {
        fprintf(stderr, "assay: out of memory\n");
        return NULL;
    }
    assay_error err;
    registry_add_defaults(r, &err);
    for (size_t i = 0; i < a->ndirs; i++)
        if (registry_add_dir(r, a->plugin_dirs[i], &err))
            fprintf(stderr, "assay: warning: %s\n", err.text);
    return r;
}

static void print_problems(const registry *r)
{
    for (size_t i = 0; i < registry_nproblems(r); i++)
        fprintf(stderr, "assay: warning: skipped plugin file: %s\n",
                registry_problem(r, i));
}

/* ---- plugins ---------------------------------------------------------- */

static const char *type_name(assay_type t)
{
    return graph_type_name(t);
}

static void print_ports(const assay_port *ports, const char *title)
{
    printf("%s:\n", title);
    if (!ports || !ports->name) {
        printf("  (none)\n");
        return;
    }
    for (const assay_port *p = ports; p->name; p++)
        printf("  %-18s %-8s%s%s  %s\n", p->name, type_name(p->type),
               p->required ? " required" : "",
               p->multi ? " (list)" : "", p->doc ? p->doc : "");
}

static void print_flags(uint32_t f)
{
    static const struct {
        uint32_t bit;
        const char *name;
    } names[] = {{ASSAY_F_PER_ITEM, "per-item"},
                 {ASSAY_F_ALL_ITEMS, "all-items"},
                 {ASSAY_F_DETERMINISTIC, "deterministic"},
                 {ASSAY_F_NEEDS_LLM, "needs-llm"},
                 {ASSAY_F_SIDE_EFFECTS, "side-effects"},
                 {ASSAY_F_CHEAP, "cheap"},
                 {ASSAY_F_NO_CACHE, "no-cache"}};
    bool first = true;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (f & names[i].bit) {
            printf("%s%s", first ? "" : ", ", names[i].name);
            first = false;
        }
    printf("%s\n", first ? "(none)" : "");
}

static void plugin_info(const plugin_entry *e)
{
    const assay_plugin *p = &e->desc;
    printf("%s %s (%s)\n  %s\n\n", p->name, p->version, p->kind, p->summary);
    if (p->doc)
        printf("%s\n\n", p->doc);
    print_ports(p->inputs, "inputs");
    print_ports(p->outputs, "outputs");
    printf("options:\n");
    if (!p->options || !p->options->name)
        printf("  (none)\n");
    for (const assay_option *o = p->options; o && o->name; o++) {
        char range[160] = "";
        if (o->type == ASSAY_OPT_ENUM)
            snprintf(range, sizeof range, " one of %s", o->choices);
        else if (o->has_min || o->has_max) {
            char lo[40] = "-inf", hi[40] = "inf";
            if (o->has_min)
                snprintf(lo, sizeof lo, "%g", o->min);
            if (o->has_max)
                snprintf(hi, sizeof hi, "%g", o->max);
            snprintf(range, sizeof range, " in [%s, %s]", lo, hi);
        }
        printf("  %-18s %-7s %s%s%s%s\n", o->name, options_type_name(o->type),
               o->required ? "required" : "default ",
               o->required ? "" : (o->def ? o->def : "(none)"), range,
               "");
        if (o->doc)
            printf("  %-18s   %s\n", "", o->doc);
    }
    printf("flags: ");
    print_flags(p->flags);
    printf("file: %s\nsha256: %s\n", e->path, e->sha256);
}

static int cmd_plugins(int argc, char **argv)
{
    args a = {0};
    int rc = parse_args(argc, argv, &a, PLUGINS_HELP);
    if (rc || a.help)
        return rc;
    registry *r = load_registry(&a);
    if (!r)
        return 1;
    if (a.file && strcmp(a.file, "info") == 0) {
        if (a.nrest != 1) {
            fprintf(stderr, "usage: assay plugins info NAME\n");
            registry_free(r);
            return 2;
        }
        const plugin_entry *e = registry_find(r, a.rest[0]);
        if (!e) {
            size_t n;
            const char *const *names = registry_names(r, &n);
            const char *best = util_did_you_mean(a.rest[0], names, n);
            fprintf(stderr, "assay: unknown plugin '%s'%s%s%s\n", a.rest[0],
                    best ? "; did you mean '" : "", best ? best : "",
                    best ? "'?" : "");
            registry_free(r);
            return 2;
        }
        registry_hash(r, e);
        plugin_info(e);
        registry_free(r);
        return 0;
    }
    if (a.file) {
        fprintf(stderr, "assay: unknown plugins subcommand '%s'\n%s", a.file,
                PLUGINS_HELP);
        registry_free(r);
        return 2;
    }
    print_problems(r);
    size_t n;
    const char *const *names = registry_names(r, &n);
    printf("%zu plugins\n", n);
    for (size_t i = 0; i < n; i++) {
        const plugin_entry *e = registry_find(r, names[i]);
        const assay_plugin *p = &e->desc;
        printf("\n%-28s %-12s %s\n", p->name, p->kind, p->summary);
        strbuf sb = {0};
        for (const assay_port *q = p->inputs; q && q->name; q++)
            sb_printf(&sb, "%s%s:%s%s", sb.len ? ", " : "", q->name,
                      type_name(q->type), q->required ? "" : "?");
        printf("  in:  %s\n", sb.buf ? sb.buf : "-");
        sb_free(&sb);
        for (const assay_port *q = p->outputs; q && q->name; q++)
            sb_printf(&sb, "%s%s:%s", sb.len ? ", " : "", q->name,
                      type_name(q->type));
        printf("  out: %s\n", sb.buf ? sb.buf : "-");
        sb_free(&sb);
    }
    registry_free(r);
    return 0;
}

/* ---- validate / graph / run --------------------------------------------- */

static int load_graph(const args *a, registry *r, graph **g)
{
    diag d = {0};
    int rc = graph_load(a->file, a->sets, a->nsets, r, g, &d);
    if (rc) {
        diag_print(&d, stderr);
        size_t n = d.n + d.dropped;
        fprintf(stderr, "%zu error%s\n", n, n == 1 ? "" : "s");
    }
    diag_free(&d);
    return rc;
}

static int cmd_validate(int argc, char **argv)
{
    args a = {0};
    int rc = parse_args(argc, argv, &a, VALIDATE_HELP);
    if (rc || a.help)
        return rc;
    if (!a.file) {
        fputs(VALIDATE_HELP, stderr);
        return 2;
    }
    registry *r = load_registry(&a);
    if (!r)
        return 1;
    graph *g = NULL;
    if (load_graph(&a, r, &g)) {
        registry_free(r);
        return 2;
    }
    size_t edges = 0;
    for (size_t i = 0; i < g->n; i++)
        for (size_t j = 0; j < g->nodes[i].ninputs; j++)
            edges += g->nodes[i].inputs[j].nrefs;
    printf("%s: ok (%zu node%s, %zu connection%s)\n", a.file, g->n,
           g->n == 1 ? "" : "s", edges, edges == 1 ? "" : "s");
    graph_free(g);
    registry_free(r);
    return 0;
}

static int cmd_graph(int argc, char **argv)
{
    args a = {0};
    int rc = parse_args(argc, argv, &a, GRAPH_HELP);
    if (rc || a.help)
        return rc;
    if (!a.file) {
        fputs(GRAPH_HELP, stderr);
        return 2;
    }
    const char *fmt = a.format ? a.format : "dot";
    if (strcmp(fmt, "dot") && strcmp(fmt, "mermaid")) {
        fprintf(stderr, "assay: --format expects dot or mermaid\n");
        return 2;
    }
    registry *r = load_registry(&a);
    graph *g = NULL;
    if (!r || load_graph(&a, r, &g)) {
        registry_free(r);
        return 2;
    }
    rc = strcmp(fmt, "dot") == 0 ? graph_write_dot(g, stdout)
                                 : graph_write_mermaid(g, stdout);
    graph_free(g);
    registry_free(r);
    return rc ? 1 : 0;
}

/* ---- --dry-run ---------------------------------------------------------
 * Nothing is written (no run directory) and nothing is sent.  Cheap,
 * side-effect-free nodes (ASSAY_F_CHEAP: sources, transforms) run in
 * memory in topological order, so that the nodes after them see real
 * inputs.  An LLM node whose inputs are known runs against the LLM
 * service in dry-run mode: cached answers are served, every other request
 * is counted, estimated and skipped; when every answer was cached its
 * outputs are real and feed the nodes below.  Otherwise, or when the
 * plugin expects more requests than the dry run saw (later ones depend on
 * answers), its estimate() fills in.  Per LLM node and in total: requests,
 * how many are cached, estimated tokens and cost of the rest. */

static const assay_plugin *find_cb(void *ud, const char *name);

typedef struct dry_total {
    uint64_t requests, cached, send, prompt, completion, replay_miss;
    double cost;
    /* upper bounds the dry run cannot see (re-asks, later rounds) */
    uint64_t more, more_prompt, more_completion;
    double more_cost;
    bool estimated; /* some figures come from plugins' estimate() */
    bool unpriced;  /* tokens on an endpoint without a price */
    size_t nodes;   /* LLM nodes seen */
    size_t unknown; /* LLM nodes whose inputs a dry run cannot compute */
} dry_total;

/* The inputs of node `idx` from the outputs computed so far; *ready is
 * false (and io untouched) when some upstream value is not known. */
static int dry_inputs(const graph *g, size_t idx, value **const *outs,
                      assay_io *io, bool *ready, assay_error *err)
{
    const gnode *gn = &g->nodes[idx];
    *ready = true;
    for (size_t i = 0; i < gn->ninputs; i++)
        for (size_t k = 0; k < gn->inputs[i].nrefs; k++)
            if (!outs[gn->inputs[i].refs[k].node])
                *ready = false;
    for (size_t i = 0; *ready && i < gn->ninputs; i++) {
        const ginput *gi = &gn->inputs[i];
        if (gi->nrefs == 0)
            continue;
        value **vs = malloc(gi->nrefs * sizeof *vs);
        if (!vs)
            return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        for (size_t k = 0; k < gi->nrefs; k++) {
            const gref *r = &gi->refs[k];
            size_t oi =
                (size_t)(r->port - g->nodes[r->node].plugin->desc.outputs);
            vs[k] = outs[r->node][oi];
        }
        bool stackable = gi->port->type == ASSAY_T_RECORDS ||
                         gi->port->type == ASSAY_T_TABLE;
        int rc = 0;
        if (gi->port->multi && !(stackable && gi->nrefs == 1)) {
            rc = value_combine(vs, gi->nrefs, gi->port->type, &io->in[i], err);
            if (rc)
                assay_error_prefix(err, "input '%s': ", gi->port->name);
        } else {
            io->in[i] = value_ref(vs[0]);
        }
        free(vs);
        if (rc)
            return rc;
    }
    return 0;
}

/* Hand io's outputs over to *keep (io keeps empty slots). */
static int dry_keep_outputs(assay_io *io, value ***keep)
{
    value **fresh = calloc(io->nout ? io->nout : 1, sizeof *fresh);
    if (!fresh)
        return ASSAY_ENOMEM;
    *keep = io->out;
    io->out = fresh;
    return 0;
}

static void dry_print_sizes(const assay_plugin *p, value **outs)
{
    printf("      ran in memory:");
    for (size_t i = 0; p->outputs && p->outputs[i].name; i++) {
        value *v = outs[i];
        if (v && value_type(v) == ASSAY_T_JSON)
            printf("%s %s (json)", i ? "," : "", p->outputs[i].name);
        else
            printf("%s %s %zu item%s", i ? "," : "", p->outputs[i].name,
                   v ? value_count(v) : 0, v && value_count(v) == 1 ? "" : "s");
    }
    printf("\n");
}

static void dry_print_cost(double cost, uint64_t tokens)
{
    if (cost > 0 || tokens == 0)
        printf("~%.4f USD", cost);
    else
        printf("cost unknown (no price set for the endpoint)");
}

/* The endpoints a node used ("'a', 'b'"): those whose request count
 * changed between two usage snapshots, `first` (may be NULL) first. */
static void dry_endpoints(const json_t *before, const json_t *after,
                          const char *first, char *buf, size_t n)
{
    const json_t *b = json_object_get(before, "endpoints");
    const json_t *a = json_object_get(after, "endpoints");
    size_t at = 0;
    const char *k;
    json_t *v;
    buf[0] = '\0';
    for (int pass = 0; pass < 2; pass++)
        json_object_foreach((json_t *)a, k, v)
        {
            bool is_first = first && strcmp(k, first) == 0;
            json_int_t was = json_integer_value(
                json_object_get(json_object_get(b, k), "requests"));
            json_int_t now = json_integer_value(json_object_get(v, "requests"));
            if ((pass == 0) != is_first || (now == was && !is_first))
                continue;
            int w = snprintf(buf + at, n - at, "%s'%s'", at ? ", " : "", k);
            if (w < 0 || (size_t)w >= n - at)
                return;
            at += (size_t)w;
        }
    if (!at)
        snprintf(buf, n, "'%s'", first ? first : "?");
}

/* An LLM node: ask its estimate(), then run it against the service in
 * dry-run mode when its inputs are known; the estimate covers what the
 * run cannot show (requests that depend on answers), or the whole node
 * when it cannot run. */
static void dry_llm_node(const graph *g, size_t idx, const run_opts *ro,
                         llm_service *svc, value ***outs, dry_total *tot)
{
    const gnode *gn = &g->nodes[idx];
    const assay_plugin *p = &gn->plugin->desc;
    assay_error err = {0}, eerr = {0};
    assay_estimate est;
    char epname[128];
    node_ctx nc;
    bool ready = false, ran = false;
    uint64_t seen = 0;
    node_ctx_init(&nc, gn->name, p, g->seed, ro->jobs ? ro->jobs : util_ncpus(),
                  g->config_dir, NULL, NULL, NULL);
    nc.llm = svc;
    /* skipped requests make plugins complain: quiet unless -v */
    nc.echo_level = ro->verbosity > 0 ? ASSAY_LOG_INFO : -1;
    assay_io *io = io_new(&nc, p);
    int rc = io ? dry_inputs(g, idx, outs, io, &ready, &err) : ASSAY_ENOMEM;
    if (rc) {
        printf("      llm: inputs: %s\n", err.text[0] ? err.text : "?");
        goto out;
    }
    int erc =
        exec_estimate(&nc, gn->options, io, &est, epname, sizeof epname, &eerr);

    if (ready && svc && !(p->flags & ASSAY_F_SIDE_EFFECTS)) {
        json_t *before = llm_service_usage(svc);
        rc = exec_plugin(&nc, gn->options, io, NULL, &err);
        json_t *u = llm_service_usage(svc);
        const json_t *d =
            json_object_get(json_object_get(u, "dry_run"), gn->name);
        const json_t *ns =
            json_object_get(json_object_get(u, "nodes"), gn->name);
        uint64_t req = (uint64_t)json_integer_value(
                     json_object_get(d, "requests")),
                 cached =
                     (uint64_t)json_integer_value(json_object_get(d, "cached")),
                 miss = (uint64_t)json_integer_value(
                     json_object_get(ns, "replay_miss")),
                 pt = (uint64_t)json_integer_value(
                     json_object_get(d, "prompt_tokens_est")),
                 ct = (uint64_t)json_integer_value(
                     json_object_get(d, "completion_tokens_est"));
        double cost = json_number_value(json_object_get(d, "cost_est"));
        char eps[256];
        dry_endpoints(before, u, erc == 0 ? est.endpoint : NULL, eps,
                      sizeof eps);
        json_decref(before);
        json_decref(u);
        if (req > 0 || rc == 0) {
            uint64_t send = req - cached - miss;
            ran = true;
            seen = req;
            printf("      llm: %llu request%s to %s, %llu cached, %llu to "
                   "send: ~%llu prompt + ~%llu completion tokens, ",
                   (unsigned long long)req, req == 1 ? "" : "s", eps,
                   (unsigned long long)cached, (unsigned long long)send,
                   (unsigned long long)pt, (unsigned long long)ct);
            dry_print_cost(cost, pt + ct);
            printf("\n");
            if (miss)
                printf("      llm: %llu request%s not in the replay cache: "
                       "the run would fail\n",
                       (unsigned long long)miss, miss == 1 ? "" : "s");
            tot->requests += req;
            tot->cached += cached;
            tot->send += send;
            tot->replay_miss += miss;
            tot->prompt += pt;
            tot->completion += ct;
            tot->cost += cost;
            tot->unpriced = tot->unpriced || (cost == 0 && pt + ct > 0);
            if (rc == 0 && send == 0 && miss == 0 &&
                dry_keep_outputs(io, &outs[idx]) == 0)
                printf("      every answer is cached: its outputs feed the "
                       "nodes below\n");
        } else {
            printf("      llm: the dry run stopped before any request: %s\n",
                   err.text[0] ? err.text : assay_strerror(rc));
        }
    }

    if (erc == ASSAY_ENOTSUP) {
        if (!ran)
            printf("      llm: (the plugin gives no estimate)\n");
        goto out;
    }
    if (erc) {
        if (!ran)
            printf("      llm: estimate failed: %s\n", eerr.text);
        goto out;
    }
    if (ran && est.llm_requests <= seen)
        goto out;
    if (!ready && est.llm_requests == 0) {
        printf("      llm: requests to '%s': not known, its inputs are not "
               "known in a dry run\n",
               est.endpoint ? est.endpoint : "?");
        tot->unknown++;
        goto out;
    }
    uint64_t more = est.llm_requests - seen, pt = est.prompt_tokens,
             ct = est.completion_tokens;
    if (seen > 0) {
        /* the share of the estimate the dry run did not see */
        pt = (uint64_t)((double)pt * (double)more / (double)est.llm_requests);
        ct = (uint64_t)((double)ct * (double)more / (double)est.llm_requests);
    }
    double cost = 0;
    assay_error cerr = {0};
    if (svc && est.endpoint &&
        llm_service_estimate(svc, est.endpoint, pt, ct, &cost, &cerr) != 0)
        printf("      llm: %s\n", cerr.text);
    if (ran)
        printf("      llm: up to %llu more depending on answers (re-asks, "
               "later rounds; the plugin expects up to %llu in all): ~%llu "
               "prompt + ~%llu completion tokens, ",
               (unsigned long long)more, (unsigned long long)est.llm_requests,
               (unsigned long long)pt, (unsigned long long)ct);
    else
        printf("      llm: ~%llu request%s to '%s' (the plugin's estimate), "
               "cached unknown: ~%llu prompt + ~%llu completion tokens, ",
               (unsigned long long)more, more == 1 ? "" : "s",
               est.endpoint ? est.endpoint : "?", (unsigned long long)pt,
               (unsigned long long)ct);
    dry_print_cost(cost, pt + ct);
    printf("\n");
    tot->unpriced = tot->unpriced || (cost == 0 && pt + ct > 0);
    if (ran) {
        tot->more += more;
        tot->more_prompt += pt;
        tot->more_completion += ct;
        tot->more_cost += cost;
    } else {
        tot->requests += more;
        tot->send += more;
        tot->prompt += pt;
        tot->completion += ct;
        tot->cost += cost;
        tot->estimated = true;
    }
out:
    io_free(io);
    node_ctx_cleanup(&nc);
}

/* A cheap node: run it in memory when its inputs are known. */
static void dry_cheap_node(const graph *g, size_t idx, const run_opts *ro,
                           llm_service *svc, value ***outs)
{
    const gnode *gn = &g->nodes[idx];
    const assay_plugin *p = &gn->plugin->desc;
    assay_error err = {0};
    node_ctx nc;
    bool ready = false;
    node_ctx_init(&nc, gn->name, p, g->seed, ro->jobs ? ro->jobs : util_ncpus(),
                  g->config_dir, NULL, NULL, NULL);
    nc.llm = svc;
    if (ro->verbosity < 0)
        nc.echo_level = ASSAY_LOG_ERROR;
    else if (ro->verbosity > 0)
        nc.echo_level = ASSAY_LOG_INFO;
    assay_io *io = io_new(&nc, p);
    int rc = io ? dry_inputs(g, idx, outs, io, &ready, &err) : ASSAY_ENOMEM;
    if (rc == 0 && !ready) {
        printf("      not run: its inputs are not known in a dry run\n");
        goto out;
    }
    if (rc == 0)
        rc = exec_plugin(&nc, gn->options, io, gn->group_by, &err);
    if (rc == 0)
        rc = dry_keep_outputs(io, &outs[idx]);
    if (rc) {
        printf("      could not run in memory: %s\n",
               err.text[0] ? err.text : assay_strerror(rc));
        goto out;
    }
    dry_print_sizes(p, outs[idx]);
out:
    io_free(io);
    node_ctx_cleanup(&nc);
}

/* --only: the node and its ancestors (NULL: every node). */
static bool *dry_selection(const graph *g, const char *only)
{
    bool *sel = calloc(g->n ? g->n : 1, sizeof *sel);
    size_t *stack = malloc((g->n ? g->n : 1) * sizeof *stack), sp = 0;
    long t = only ? graph_find(g, only) : -1;
    if (!sel || !stack) {
        free(sel);
        free(stack);
        return NULL;
    }
    for (size_t i = 0; i < g->n; i++)
        sel[i] = !only;
    if (t >= 0) {
        sel[t] = true;
        stack[sp++] = (size_t)t;
    }
    while (sp) {
        size_t u = stack[--sp];
        for (size_t k = 0; k < g->nodes[u].ndeps; k++) {
            size_t d = g->nodes[u].deps[k];
            if (!sel[d]) {
                sel[d] = true;
                stack[sp++] = d;
            }
        }
    }
    free(stack);
    return sel;
}

static int dry_run(graph *g, registry *reg, const run_opts *ro)
{
    llm_service *svc = NULL;
    value ***outs = calloc(g->n ? g->n : 1, sizeof *outs);
    bool *sel = dry_selection(g, ro->only);
    dry_total tot = {0};
    int rc = 0;
    if (!outs || !sel) {
        fprintf(stderr, "assay: out of memory\n");
        rc = 1;
        goto out;
    }
    if (ro->only && graph_find(g, ro->only) < 0) {
        fprintf(stderr, "assay: --only: no node named '%s'\n", ro->only);
        rc = 2;
        goto out;
    }
    if (g->llm && json_object_size(g->llm) > 0) {
        char cpath[PATH_MAX];
        const char *dir = ro->cache_dir ? ro->cache_dir
                          : getenv("ASSAY_CACHE_DIR")
                              ? getenv("ASSAY_CACHE_DIR")
                              : ".assay/cache";
        const char *mode =
            ro->llm_cache_mode ? ro->llm_cache_mode : g->cache_mode;
        assay_error err = {0};
        snprintf(cpath, sizeof cpath, "%s/llm.sqlite", dir);
        bool have = util_is_file(cpath);
        if (!have)
            printf("no LLM cache at %s: nothing is cached yet\n", cpath);
        if (llm_service_create(g->llm, g->budget, have ? cpath : NULL,
                               have ? mode : "off", find_cb, reg, &svc, &err)) {
            fprintf(stderr, "%s: error: %s\n", g->file, err.text);
            rc = 2;
            goto out;
        }
        llm_service_set_dry_run(svc, true);
    }
    printf("plan for %s (%zu nodes):\n", g->experiment, g->n);
    for (size_t k = 0, shown = 0; k < g->n; k++) {
        size_t idx = g->order[k];
        const gnode *n = &g->nodes[idx];
        const assay_plugin *p = &n->plugin->desc;
        if (!sel[idx])
            continue;
        strbuf sb = {0};
        for (size_t i = 0; i < n->ninputs; i++)
            for (size_t j = 0; j < n->inputs[i].nrefs; j++) {
                char ref[300];
                sb_printf(
                    &sb, "%s%s<-%s", sb.len ? ", " : "",
                    n->inputs[i].port->name,
                    graph_ref_name(g, &n->inputs[i].refs[j], ref, sizeof ref));
            }
        printf("  %2zu. %-20s %-24s %s\n", ++shown, n->name, p->name,
               sb.buf ? sb.buf : "");
        sb_free(&sb);
        fflush(stdout);
        if (p->flags & ASSAY_F_NEEDS_LLM) {
            dry_llm_node(g, idx, ro, svc, outs, &tot);
            tot.nodes++;
        } else if ((p->flags & ASSAY_F_CHEAP) &&
                   !(p->flags & ASSAY_F_SIDE_EFFECTS))
            dry_cheap_node(g, idx, ro, svc, outs);
        fflush(stdout);
    }
    if (tot.nodes == 0) {
        printf("no LLM nodes\n");
        goto out;
    }
    printf("total: %llu LLM request%s, %llu cached, %llu to send: ~%llu "
           "prompt + ~%llu completion tokens, ~%.4f USD%s\n",
           (unsigned long long)tot.requests, tot.requests == 1 ? "" : "s",
           (unsigned long long)tot.cached, (unsigned long long)tot.send,
           (unsigned long long)tot.prompt, (unsigned long long)tot.completion,
           tot.cost, tot.estimated ? " (partly plugins' estimates)" : "");
    if (tot.more)
        printf("       + up to %llu more depending on answers: ~%llu prompt "
               "+ ~%llu completion tokens, ~%.4f USD\n",
               (unsigned long long)tot.more,
               (unsigned long long)tot.more_prompt,
               (unsigned long long)tot.more_completion, tot.more_cost);
    if (tot.unpriced)
        printf("some endpoints have no price: their cost is not counted\n");
    if (tot.unknown)
        printf("not counted: %zu LLM node%s whose inputs a dry run cannot "
               "compute\n",
               tot.unknown, tot.unknown == 1 ? "" : "s");
    if (tot.replay_miss)
        printf("%llu request%s not in the replay cache: the run would "
               "fail\n",
               (unsigned long long)tot.replay_miss,
               tot.replay_miss == 1 ? " is" : "s are");
out:
    for (size_t i = 0; outs && i < g->n; i++) {
        for (size_t k = 0; outs[i] && k < g->nodes[i].noutputs; k++)
            value_unref(outs[i][k]);
        free(outs[i]);
    }
    free(outs);
    free(sel);
    llm_service_destroy(svc);
    return rc;
}

static int cmd_run(int argc, char **argv)
{
    args a = {0};
    int rc = parse_args(argc, argv, &a, RUN_HELP);
    if (rc || a.help)
        return rc;
    json_t *resumed = NULL;
    if (a.ro.resume_dir) {
        char mp[PATH_MAX];
        snprintf(mp, sizeof mp, "%s/manifest.json", a.ro.resume_dir);
        json_error_t je;
        resumed = json_load_file(mp, 0, &je);
        if (!resumed) {
            fprintf(stderr, "assay: --resume: cannot read %s: %s\n", mp,
                    je.text);
            return 2;
        }
        if (!a.file)
            a.file = json_string_value(json_object_get(resumed,
                                                       "config_file"));
        json_t *sets = json_object_get(resumed, "sets");
        if (a.nsets == 0)
            for (size_t i = 0; i < json_array_size(sets) && a.nsets < 256;
                 i++)
                a.sets[a.nsets++] =
                    json_string_value(json_array_get(sets, i));
    }
    if (!a.file) {
        fputs(RUN_HELP, stderr);
        json_decref(resumed);
        return 2;
    }
    registry *r = load_registry(&a);
    graph *g = NULL;
    if (!r || load_graph(&a, r, &g)) {
        registry_free(r);
        json_decref(resumed);
        return 2;
    }
    if (a.ro.dry_run) {
        rc = dry_run(g, r, &a.ro);
    } else {
        a.ro.sets = a.sets;
        a.ro.nsets = a.nsets;
        a.ro.interrupt = &g_interrupt;
        a.ro.progress_tty = isatty(2) && getenv("CI") == NULL;
        if (!a.ro.runs_dir)
            a.ro.runs_dir = getenv("ASSAY_RUNS_DIR");
        if (!a.ro.cache_dir)
            a.ro.cache_dir = getenv("ASSAY_CACHE_DIR");
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        rc = run_graph(g, r, &a.ro, NULL, 0);
    }
    graph_free(g);
    registry_free(r);
    json_decref(resumed);
    return rc;
}

/* ---- runs --------------------------------------------------------------- */

typedef struct run_row {
    char started[32];
    char line[1024];
} run_row;

static int cmp_rows(const void *a, const void *b)
{
    return strcmp(((const run_row *)a)->started,
                  ((const run_row *)b)->started);
}

static int cmd_runs(int argc, char **argv)
{
    if (argc > 0 && !strcmp(argv[0], "compare")) /* report */
        return report_cmd_compare(argc - 1, argv + 1);
    args a = {0};
    int rc = parse_args(argc, argv, &a, RUNS_HELP);
    if (rc || a.help)
        return rc;
    const char *root = a.ro.runs_dir ? a.ro.runs_dir
                       : getenv("ASSAY_RUNS_DIR") ? getenv("ASSAY_RUNS_DIR")
                                                  : "runs";
    DIR *d = opendir(root);
    if (!d) {
        printf("no runs in %s\n", root);
        return 0;
    }
    run_row *rows = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char ed[PATH_MAX];
        snprintf(ed, sizeof ed, "%s/%s", root, e->d_name);
        DIR *d2 = opendir(ed);
        if (!d2)
            continue;
        struct dirent *e2;
        while ((e2 = readdir(d2))) {
            if (e2->d_name[0] == '.')
                continue;
            char mp[PATH_MAX + 300];
            snprintf(mp, sizeof mp, "%s/%s/manifest.json", ed, e2->d_name);
            json_t *m = json_load_file(mp, 0, NULL);
            if (!m)
                continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                run_row *nr = realloc(rows, cap * sizeof *nr);
                if (!nr) {
                    json_decref(m);
                    break;
                }
                rows = nr;
            }
            const char *st = json_string_value(json_object_get(m, "started"));
            char key[200], rdir[PATH_MAX + 300]; /* report: key metric */
            snprintf(rdir, sizeof rdir, "%s/%s", ed, e2->d_name);
            summary_key_metric(rdir, key, sizeof key);
            snprintf(rows[n].started, sizeof rows[n].started, "%s",
                     st ? st : "");
            snprintf(rows[n].line, sizeof rows[n].line,
                     "%-24s %-20s %-11s %8.1fs  %-30s %s/%s",
                     json_string_value(json_object_get(m, "experiment"))
                         ? json_string_value(json_object_get(m, "experiment"))
                         : "?",
                     st ? st : "?",
                     json_string_value(json_object_get(m, "status"))
                         ? json_string_value(json_object_get(m, "status"))
                         : "?",
                     json_number_value(json_object_get(m, "seconds")),
                     key, ed, e2->d_name);
            n++;
            json_decref(m);
        }
        closedir(d2);
    }
    closedir(d);
    qsort(rows, n, sizeof *rows, cmp_rows);
    printf("%-24s %-20s %-11s %9s  %-30s %s\n", "experiment", "started",
           "status", "time", "key metric", "directory");
    for (size_t i = 0; i < n; i++)
        printf("%s\n", rows[i].line);
    free(rows);
    return 0;
}

static const assay_plugin *find_cb(void *ud, const char *name)
{
    const plugin_entry *e = registry_find((registry *)ud, name);
    return e ? &e->desc : NULL;
}

static int cmd_llm(int argc, char **argv)
{
    /* assay llm <sub> EXP.yaml ...: load the experiment's endpoints */
    if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))
        return llm_cli_main(argc, argv, NULL, NULL, NULL);
    args a = {0};
    registry *r = load_registry(&a);
    if (!r)
        return 1;
    json_t *endpoints = NULL;
    if (argc >= 2 && util_is_file(argv[1])) {
        ynode *root = NULL;
        diag d = {0};
        if (yaml_load_file(argv[1], &root, &d) ||
            yaml_expand_env(root, argv[1], &d)) {
            diag_print(&d, stderr);
            diag_free(&d);
            ynode_free(root);
            registry_free(r);
            return 2;
        }
        diag_free(&d);
        ynode *llm = ynode_get(root, "llm", NULL);
        endpoints = llm ? ynode_to_json(llm) : NULL;
        ynode_free(root);
    }
    int rc = llm_cli_main(argc, argv, endpoints, find_cb, r);
    json_decref(endpoints);
    registry_free(r);
    return rc;
}

static const char MERGE_HELP[] =
    "usage: assay merge SHARD_RUN_DIR... [--runs-dir DIR] [--cache-dir DIR]\n"
    "\n"
    "Merge the shard runs of one experiment (made with `assay run --shard\n"
    "I/N`): check that they belong together (same configuration and plugin\n"
    "files, shard count N, every shard present once), concatenate the\n"
    "per-item outputs in the order an unsharded run produces, run the\n"
    "nodes that need all items, and write one run directory.\n";

typedef struct shard_in {
    const char *dir;
    json_t *m;
    unsigned index;
} shard_in;

static int cmp_shard(const void *a, const void *b)
{
    const shard_in *x = a, *y = b;
    return (x->index > y->index) - (x->index < y->index);
}

static int cmd_merge(int argc, char **argv)
{
    args a = {0};
    int rc = parse_args(argc, argv, &a, MERGE_HELP);
    if (rc || a.help)
        return rc;
    size_t n = a.file ? 1 + a.nrest : 0;
    if (n == 0) {
        fputs(MERGE_HELP, stderr);
        return 2;
    }
    shard_in *sh = calloc(n, sizeof *sh);
    const char **dirs = calloc(n, sizeof *dirs);
    if (!sh || !dirs) {
        free(sh);
        free(dirs);
        return 1;
    }
    rc = 2;
    unsigned count = 0;
    const char *hash0 = NULL, *exp0 = NULL;
    for (size_t i = 0; i < n; i++) {
        sh[i].dir = i == 0 ? a.file : a.rest[i - 1];
        char mp[PATH_MAX];
        snprintf(mp, sizeof mp, "%s/manifest.json", sh[i].dir);
        json_error_t je;
        sh[i].m = json_load_file(mp, 0, &je);
        if (!sh[i].m) {
            fprintf(stderr, "assay merge: %s: %s\n", mp, je.text);
            goto out;
        }
        json_t *m = sh[i].m, *shard = json_object_get(m, "shard");
        const char *st = json_string_value(json_object_get(m, "status"));
        const char *h = json_string_value(json_object_get(m, "config_hash"));
        const char *ex = json_string_value(json_object_get(m, "experiment"));
        if (!shard) {
            fprintf(stderr, "assay merge: %s is not a shard run (no --shard)\n",
                    sh[i].dir);
            goto out;
        }
        if (!st || strcmp(st, "ok") != 0) {
            fprintf(stderr, "assay merge: shard %s did not finish (status %s)"
                    "; re-run it with --resume\n", sh[i].dir, st ? st : "?");
            goto out;
        }
        sh[i].index = (unsigned)json_integer_value(json_object_get(shard,
                                                                   "index"));
        unsigned c = (unsigned)json_integer_value(json_object_get(shard,
                                                                  "count"));
        if (i == 0) {
            count = c;
            hash0 = h;
            exp0 = ex;
        } else if (c != count || !h || !hash0 || strcmp(h, hash0) ||
                   !ex || !exp0 || strcmp(ex, exp0)) {
            fprintf(stderr, "assay merge: %s belongs to another run than %s "
                    "(experiment, configuration or shard count differ)\n",
                    sh[i].dir, sh[0].dir);
            goto out;
        } else if (!json_equal(json_object_get(m, "plugins"),
                               json_object_get(sh[0].m, "plugins"))) {
            fprintf(stderr, "assay merge: %s used other plugin files than %s "
                    "(versions or hashes differ)\n", sh[i].dir, sh[0].dir);
            goto out;
        }
    }
    if (count != n) {
        fprintf(stderr, "assay merge: the runs are shards of %u, %zu given\n",
                count, n);
        goto out;
    }
    qsort(sh, n, sizeof *sh, cmp_shard);
    for (size_t i = 1; i < n; i++)
        if (sh[i].index == sh[i - 1].index) {
            fprintf(stderr, "assay merge: shard %u/%u is given twice (%s and "
                    "%s)\n", sh[i].index, count, sh[i - 1].dir, sh[i].dir);
            goto out;
        }
    for (size_t i = 0; i < n; i++) {
        if (sh[i].index != i) {
            fprintf(stderr, "assay merge: shard %zu/%u is missing\n", i,
                    count);
            goto out;
        }
        dirs[i] = sh[i].dir;
    }
    /* the configuration: from shard 0's manifest, checked against its hash */
    a.file = json_string_value(json_object_get(sh[0].m, "config_file"));
    json_t *sets = json_object_get(sh[0].m, "sets");
    a.nsets = 0;
    for (size_t i = 0; i < json_array_size(sets) && a.nsets < 256; i++)
        a.sets[a.nsets++] = json_string_value(json_array_get(sets, i));
    registry *r = load_registry(&a);
    graph *g = NULL;
    if (!r || !a.file || load_graph(&a, r, &g)) {
        registry_free(r);
        goto out;
    }
    char *canon = json_dumps(g->config, JSON_COMPACT | JSON_SORT_KEYS);
    char ch[65] = "";
    if (canon)
        sha256_hex(canon, strlen(canon), ch);
    free(canon);
    if (strcmp(ch, hash0 ? hash0 : "")) {
        fprintf(stderr, "assay merge: %s changed since the shards ran; "
                "the merge would not match them\n", a.file);
        graph_free(g);
        registry_free(r);
        goto out;
    }
    /* fold the shards' caches (LLM answers, finished nodes) into ours, so
     * that a re-run anywhere pays for nothing twice */
    const char *cdir = a.ro.cache_dir ? a.ro.cache_dir
                       : getenv("ASSAY_CACHE_DIR") ? getenv("ASSAY_CACHE_DIR")
                                                   : ".assay/cache";
    char cabs[PATH_MAX] = "";
    assay_error cerr;
    if (util_mkdirs(cdir, &cerr) == 0)
        util_realpath(cdir, cabs, sizeof cabs);
    for (size_t i = 0; i < n; i++) {
        const char *sc = json_string_value(json_object_get(sh[i].m,
                                                           "cache_dir"));
        if (!sc || !cabs[0] || strcmp(sc, cabs) == 0 || !util_is_dir(sc))
            continue;
        if (store_merge_caches(cabs, sc, &cerr))
            fprintf(stderr, "assay merge: warning: could not merge the cache "
                    "of %s: %s\n", sh[i].dir, cerr.text);
    }
    a.ro.merge_dirs = dirs;
    a.ro.nmerge = n;
    a.ro.interrupt = &g_interrupt;
    a.ro.progress_tty = isatty(2) && getenv("CI") == NULL;
    if (!a.ro.runs_dir)
        a.ro.runs_dir = getenv("ASSAY_RUNS_DIR");
    if (!a.ro.cache_dir)
        a.ro.cache_dir = getenv("ASSAY_CACHE_DIR");
    rc = run_graph(g, r, &a.ro, NULL, 0);
    graph_free(g);
    registry_free(r);
out:
    for (size_t i = 0; i < n; i++)
        json_decref(sh[i].m);
    free(sh);
    free(dirs);
    return rc;
}

int cli_main(int argc, char **argv)
{
    /* Plugins that use OpenBLAS parallelise through host->threads(); its
     * own thread pool would start at dlopen, spin, and oversubscribe the
     * cores that concurrent nodes share.  The user's setting wins. */
    setenv("OPENBLAS_NUM_THREADS", "1", 0);
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        fputs(USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("assay %s (plugin ABI %d.%d)\n", ASSAY_VERSION,
               ASSAY_ABI_MAJOR, ASSAY_ABI_MINOR);
        return 0;
    }
    const char *cmd = argv[1];
    int sub_argc = argc - 2;
    char **sub_argv = argv + 2;
    if (!strcmp(cmd, "run"))
        return cmd_run(sub_argc, sub_argv);
    if (!strcmp(cmd, "validate"))
        return cmd_validate(sub_argc, sub_argv);
    if (!strcmp(cmd, "plugins"))
        return cmd_plugins(sub_argc, sub_argv);
    if (!strcmp(cmd, "graph"))
        return cmd_graph(sub_argc, sub_argv);
    if (!strcmp(cmd, "runs"))
        return cmd_runs(sub_argc, sub_argv);
    if (!strcmp(cmd, "report")) /* report */
        return report_cmd_report(sub_argc, sub_argv);
    if (!strcmp(cmd, "merge"))
        return cmd_merge(sub_argc, sub_argv);
    if (!strcmp(cmd, "plugin-check"))
        return plugcheck_main(sub_argc, sub_argv);
    if (!strcmp(cmd, "slurm"))
        return cluster_slurm_main(sub_argc, sub_argv);
    if (!strcmp(cmd, "k8s"))
        return cluster_k8s_main(sub_argc, sub_argv);
    if (!strcmp(cmd, "llm"))
        return cmd_llm(sub_argc, sub_argv);
    static const char *const cmds[] = {"run",  "validate", "plugins",
                                       "graph", "runs",    "llm",
                                       "merge", "slurm",   "k8s",
                                       "report"};
    const char *best = util_did_you_mean(cmd, cmds, 10);
    fprintf(stderr, "assay: unknown command '%s'%s%s%s\n\n%s", cmd,
            best ? "; did you mean '" : "", best ? best : "",
            best ? "'?" : "", USAGE);
    return 2;
}
