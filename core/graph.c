#include "graph.h"

#include <limits.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "util.h"

static const char *const TOP_KEYS[] = {
    "experiment", "description", "seed",  "llm",    "budget", "plugin_dirs",
    "nodes",      "report",      "cache", "assay_version"};
static const char *const NODE_KEYS[] = {
    "plugin",    "inputs",    "with",    "group_by",
    "shard_key", "isolation", "timeout", "description"};

const char *graph_type_name(assay_type t)
{
    switch (t) {
    case ASSAY_T_RECORDS: return "records";
    case ASSAY_T_TABLE: return "table";
    case ASSAY_T_JSON: return "json";
    case ASSAY_T_ANY: return "any";
    }
    return "?";
}

void graph_free(graph *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n; i++) {
        gnode *n = &g->nodes[i];
        free(n->name);
        json_decref(n->options);
        for (size_t j = 0; j < n->ninputs; j++)
            free(n->inputs[j].refs);
        free(n->inputs);
        free(n->group_by);
        free(n->shard_key);
        free(n->deps);
        free(n->users);
    }
    free(g->nodes);
    free(g->order);
    free(g->report);
    free(g->file);
    free(g->config_dir);
    free(g->experiment);
    free(g->cache_mode);
    ynode_free(g->root);
    json_decref(g->config);
    json_decref(g->llm);
    json_decref(g->budget);
    free(g);
}

long graph_find(const graph *g, const char *name)
{
    for (size_t i = 0; i < g->n; i++)
        if (strcmp(g->nodes[i].name, name) == 0)
            return (long)i;
    return -1;
}

const char *graph_ref_name(const graph *g, const gref *r, char *buf,
                           size_t n)
{
    snprintf(buf, n, "%s.%s", g->nodes[r->node].name, r->port->name);
    return buf;
}

static bool valid_node_name(const char *s)
{
    if (!*s)
        return false;
    for (const char *c = s; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
              (*c >= '0' && *c <= '9') || *c == '_' || *c == '-'))
            return false;
    return true;
}

static void unknown_key(diag *d, const char *file, const ynode *map, size_t i,
                        const char *const *known, size_t nk, const char *what)
{
    const char *best = util_did_you_mean(map->keys[i], known, nk);
    char hint[300];
    if (best)
        snprintf(hint, sizeof hint, "did you mean '%s'?", best);
    else {
        strbuf sb = {0};
        sb_puts(&sb, "allowed keys: ");
        for (size_t k = 0; k < nk; k++)
            sb_printf(&sb, "%s%s", k ? ", " : "", known[k]);
        snprintf(hint, sizeof hint, "%s", sb.buf ? sb.buf : "");
        sb_free(&sb);
    }
    diag_add(d, file, map->key_line[i], map->key_col[i], hint,
             "unknown key '%s' in %s", map->keys[i], what);
}

static bool types_compatible(assay_type src, assay_type dst)
{
    if (src == dst || src == ASSAY_T_ANY || dst == ASSAY_T_ANY)
        return true;
    return (src == ASSAY_T_RECORDS && dst == ASSAY_T_TABLE) ||
           (src == ASSAY_T_TABLE && dst == ASSAY_T_RECORDS);
}

static size_t count_ports(const assay_port *p)
{
    size_t n = 0;
    while (p && p[n].name)
        n++;
    return n;
}

static const assay_port *find_port(const assay_port *ports, const char *name)
{
    for (const assay_port *p = ports; p && p->name; p++)
        if (strcmp(p->name, name) == 0)
            return p;
    return NULL;
}

static void port_hint(const assay_port *ports, const char *name, char *hint,
                      size_t n, const char *plugin, const char *what)
{
    const char *names[128] = {0};
    size_t k = 0;
    for (const assay_port *p = ports; p && p->name && k < 128; p++)
        names[k++] = p->name;
    const char *best = util_did_you_mean(name, names, k);
    if (best) {
        snprintf(hint, n, "did you mean '%s'?", best);
        return;
    }
    strbuf sb = {0};
    if (k == 0)
        sb_printf(&sb, "%s has no %s ports", plugin, what);
    else {
        sb_printf(&sb, "%s %s ports: ", plugin, what);
        for (size_t i = 0; i < k; i++)
            sb_printf(&sb, "%s%s", i ? ", " : "", names[i]);
    }
    snprintf(hint, n, "%s", sb.buf ? sb.buf : "");
    sb_free(&sb);
}

/*
 * Resolve one reference scalar ("node.port" or "node") against the graph.
 * `what` says where it was written ("input", "report entry").  Returns 0
 * and fills `out`, or adds a diagnostic.
 */
static int resolve_ref(graph *g, const ynode *s, const char *what, diag *d,
                       gref *out)
{
    const char *file = g->file;
    if (s->kind != Y_SCALAR || !s->value[0]) {
        diag_add(d, file, s->line, s->col,
                 "write <node>.<port>, e.g. 'data.records'",
                 "%s %s must name an output as <node>.<port>, not a %s",
                 what[0] == 'i' ? "an" : "a", what,
                 s->kind == Y_SCALAR ? "empty value" : ynode_kind_name(s));
        return ASSAY_EINVAL;
    }
    char nodename[256];
    const char *dot = strchr(s->value, '.');
    size_t nl = dot ? (size_t)(dot - s->value) : strlen(s->value);
    if (nl >= sizeof nodename)
        nl = sizeof nodename - 1;
    memcpy(nodename, s->value, nl);
    nodename[nl] = '\0';
    long ni = graph_find(g, nodename);
    if (ni < 0) {
        const char **names = malloc((g->n ? g->n : 1) * sizeof *names);
        const char *best = NULL;
        if (names) {
            for (size_t i = 0; i < g->n; i++)
                names[i] = g->nodes[i].name;
            best = util_did_you_mean(nodename, names, g->n);
        }
        char hint[300];
        if (best)
            snprintf(hint, sizeof hint, "did you mean '%s'?", best);
        else {
            /* nothing close: list the nodes (a few of them) */
            strbuf sb = {0};
            sb_puts(&sb, "the nodes are: ");
            for (size_t i = 0; i < g->n && i < 8; i++)
                sb_printf(&sb, "%s%s", i ? ", " : "", g->nodes[i].name);
            if (g->n > 8)
                sb_printf(&sb, ", ... (%zu in all)", g->n);
            snprintf(hint, sizeof hint, "%s", sb.buf ? sb.buf : "");
            sb_free(&sb);
        }
        diag_add(d, file, s->line, s->col, hint,
                 "unknown node '%s' in %s '%s'", nodename, what, s->value);
        free(names);
        return ASSAY_EINVAL;
    }
    const gnode *src = &g->nodes[ni];
    if (!src->plugin)
        return ASSAY_EINVAL; /* already reported */
    const assay_port *outs = src->plugin->desc.outputs;
    const assay_port *port = NULL;
    if (dot) {
        port = find_port(outs, dot + 1);
        if (!port) {
            char hint[600];
            port_hint(outs, dot + 1, hint, sizeof hint,
                      src->plugin->desc.name, "output");
            diag_add(d, file, s->line, s->col, hint,
                     "node '%s' (%s) has no output port '%s'", nodename,
                     src->plugin->desc.name, dot + 1);
            return ASSAY_EINVAL;
        }
    } else {
        size_t k = count_ports(outs);
        if (k != 1) {
            char hint[600];
            port_hint(outs, "", hint, sizeof hint, src->plugin->desc.name,
                      "output");
            diag_add(d, file, s->line, s->col, hint,
                     "node '%s' has %zu outputs; name one as %s.<port>",
                     nodename, k, nodename);
            return ASSAY_EINVAL;
        }
        port = &outs[0];
    }
    out->node = (size_t)ni;
    out->port = port;
    out->line = s->line;
    out->col = s->col;
    return 0;
}

static int add_unique(size_t **arr, size_t *n, size_t v)
{
    for (size_t i = 0; i < *n; i++)
        if ((*arr)[i] == v)
            return 0;
    size_t *na = realloc(*arr, (*n + 1) * sizeof *na);
    if (!na)
        return ASSAY_ENOMEM;
    na[(*n)++] = v;
    *arr = na;
    return 0;
}

static int wire_inputs(graph *g, size_t idx, const ynode *ydef, diag *d)
{
    gnode *n = &g->nodes[idx];
    const assay_plugin *p = &n->plugin->desc;
    const ynode *yin = ynode_get(ydef, "inputs", NULL);
    int rc = 0;
    size_t nin = count_ports(p->inputs);
    n->inputs = calloc(nin ? nin : 1, sizeof *n->inputs);
    if (!n->inputs)
        return ASSAY_ENOMEM;
    n->ninputs = nin; /* only now: graph_free walks n->inputs */
    for (size_t i = 0; i < n->ninputs; i++)
        n->inputs[i].port = &p->inputs[i];
    if (yin && yin->kind != Y_MAP) {
        diag_add(d, g->file, yin->line, yin->col,
                 "write inputs: {port: node.port}",
                 "node '%s': 'inputs' must be a mapping", n->name);
        return ASSAY_EINVAL;
    }
    for (size_t k = 0; yin && k < yin->n; k++) {
        const char *pname = yin->keys[k];
        const assay_port *ip = find_port(p->inputs, pname);
        if (!ip) {
            char hint[600];
            port_hint(p->inputs, pname, hint, sizeof hint, p->name, "input");
            diag_add(d, g->file, yin->key_line[k], yin->key_col[k], hint,
                     "node '%s': %s has no input port '%s'", n->name,
                     p->name, pname);
            rc = ASSAY_EINVAL;
            continue;
        }
        ginput *gi = &n->inputs[ip - p->inputs];
        const ynode *v = yin->items[k];
        size_t cnt = v->kind == Y_SEQ ? v->n : 1;
        if (v->kind == Y_MAP) {
            diag_add(d, g->file, v->line, v->col, "write <node>.<port>",
                     "node '%s': input '%s' must name an output, not a "
                     "mapping",
                     n->name, pname);
            rc = ASSAY_EINVAL;
            continue;
        }
        if (v->kind == Y_SEQ && !ip->multi) {
            diag_add(d, g->file, v->line, v->col,
                     "connect one value, or combine them upstream",
                     "node '%s': input '%s' of %s takes one value, not a "
                     "list",
                     n->name, pname, p->name);
            rc = ASSAY_EINVAL;
            continue;
        }
        if (cnt == 0) {
            diag_add(d, g->file, v->line, v->col,
                     "connect at least one output, or remove the input",
                     "node '%s': input '%s' is an empty list", n->name,
                     pname);
            rc = ASSAY_EINVAL;
            continue;
        }
        gi->refs = calloc(cnt, sizeof *gi->refs);
        if (!gi->refs)
            return ASSAY_ENOMEM;
        for (size_t j = 0; j < cnt; j++) {
            const ynode *s = v->kind == Y_SEQ ? v->items[j] : v;
            gref r;
            if (resolve_ref(g, s, "input", d, &r)) {
                rc = ASSAY_EINVAL;
                continue;
            }
            if (r.node == idx) {
                diag_add(d, g->file, s->line, s->col,
                         "connect an output of another node",
                         "node '%s' cannot take its own output as input "
                         "(cycle: %s -> %s)",
                         n->name, n->name, n->name);
                rc = ASSAY_EINVAL;
                continue;
            }
            if (!types_compatible(r.port->type, ip->type)) {
                char hint[300];
                snprintf(hint, sizeof hint, "connect an output of type %s%s",
                         graph_type_name(ip->type),
                         ip->type == ASSAY_T_JSON
                             ? ""
                             : " (records and table convert into each "
                               "other)");
                diag_add(d, g->file, s->line, s->col, hint,
                         "type mismatch: %s.%s is %s, but input '%s' of "
                         "node '%s' expects %s",
                         g->nodes[r.node].name, r.port->name,
                         graph_type_name(r.port->type), pname, n->name,
                         graph_type_name(ip->type));
                rc = ASSAY_EINVAL;
                continue;
            }
            gi->refs[gi->nrefs++] = r;
            if (add_unique(&n->deps, &n->ndeps, r.node) ||
                add_unique(&g->nodes[r.node].users, &g->nodes[r.node].nusers,
                           idx))
                return ASSAY_ENOMEM;
        }
    }
    for (size_t i = 0; i < n->ninputs; i++)
        if (n->inputs[i].port->required && n->inputs[i].nrefs == 0 &&
            !(yin && ynode_get(yin, n->inputs[i].port->name, NULL))) {
            char hint[300];
            snprintf(hint, sizeof hint, "add inputs: {%s: <node>.<port>} (%s)",
                     n->inputs[i].port->name,
                     graph_type_name(n->inputs[i].port->type));
            diag_add(d, g->file, n->line, n->col, hint,
                     "node '%s': required input '%s' is not connected",
                     n->name, n->inputs[i].port->name);
            rc = ASSAY_EINVAL;
        }
    return rc;
}

/* Kahn's algorithm; on a cycle, report one cycle path. */
static int order_nodes(graph *g, diag *d)
{
    size_t *indeg = calloc(g->n ? g->n : 1, sizeof *indeg);
    g->order = malloc((g->n ? g->n : 1) * sizeof *g->order);
    if (!indeg || !g->order) {
        free(indeg);
        return ASSAY_ENOMEM;
    }
    for (size_t i = 0; i < g->n; i++)
        indeg[i] = g->nodes[i].ndeps;
    size_t head = 0, tail = 0;
    for (size_t i = 0; i < g->n; i++)
        if (indeg[i] == 0)
            g->order[tail++] = i;
    while (head < tail) {
        size_t u = g->order[head++];
        for (size_t k = 0; k < g->nodes[u].nusers; k++) {
            size_t v = g->nodes[u].users[k];
            if (--indeg[v] == 0)
                g->order[tail++] = v;
        }
    }
    int rc = 0;
    if (tail < g->n) {
        /* walk backwards along deps from a node left over: every leftover
         * node has a leftover dependency, so this finds a cycle */
        size_t start = 0;
        while (indeg[start] == 0)
            start++;
        size_t *path = malloc(g->n * sizeof *path);
        char *seen = calloc(g->n, 1);
        if (!path || !seen) {
            free(path);
            free(seen);
            free(indeg);
            return ASSAY_ENOMEM;
        }
        size_t len = 0, cur = start;
        while (!seen[cur]) {
            seen[cur] = 1;
            path[len++] = cur;
            const gnode *gn = &g->nodes[cur];
            for (size_t k = 0; k < gn->ndeps; k++)
                if (indeg[gn->deps[k]] > 0) {
                    cur = gn->deps[k];
                    break;
                }
        }
        size_t from = 0;
        while (path[from] != cur)
            from++;
        strbuf sb = {0};
        /* path follows dependencies backwards; print data-flow order */
        for (size_t i = len; i-- > from;)
            sb_printf(&sb, "%s -> ", g->nodes[path[i]].name);
        sb_printf(&sb, "%s", g->nodes[path[len - 1]].name);
        const gnode *gc = &g->nodes[cur];
        diag_add(d, g->file, gc->line, gc->col,
                 "a node cannot depend on its own output, directly or "
                 "through others",
                 "the graph has a cycle: %s", sb.buf ? sb.buf : "?");
        sb_free(&sb);
        free(path);
        free(seen);
        rc = ASSAY_EINVAL;
    }
    free(indeg);
    return rc;
}

static int load_plugin_dirs(graph *g, registry *reg, diag *d)
{
    const ynode *pd = ynode_get(g->root, "plugin_dirs", NULL);
    if (!pd)
        return 0;
    int rc = 0;
    size_t cnt = pd->kind == Y_SEQ ? pd->n : 1;
    for (size_t i = 0; i < cnt; i++) {
        const ynode *s = pd->kind == Y_SEQ ? pd->items[i] : pd;
        if (s->kind != Y_SCALAR) {
            diag_add(d, g->file, s->line, s->col,
                     "write plugin_dirs: [path, ...]",
                     "plugin_dirs entries must be paths, not a %s",
                     ynode_kind_name(s));
            rc = ASSAY_EINVAL;
            continue;
        }
        char path[PATH_MAX];
        assay_error err;
        if (util_path_join(path, sizeof path, g->config_dir, s->value)) {
            diag_add(d, g->file, s->line, s->col, NULL,
                     "plugin directory path '%s' is too long", s->value);
            rc = ASSAY_EINVAL;
        } else if (!util_is_dir(path)) {
            diag_add(d, g->file, s->line, s->col,
                     "relative paths start at the experiment file's "
                     "directory",
                     "plugin directory '%s' does not exist", s->value);
            rc = ASSAY_EINVAL;
        } else if (registry_add_dir(reg, path, &err)) {
            diag_add(d, g->file, s->line, s->col, NULL, "%s", err.text);
            rc = ASSAY_EINVAL;
        }
    }
    return rc;
}

static int build(graph *g, registry *reg, diag *d)
{
    const ynode *root = g->root;
    int rc = 0;
    if (root->kind != Y_MAP) {
        diag_add(d, g->file, root->line, root->col,
                 "an experiment is a mapping with 'experiment:' and "
                 "'nodes:'",
                 "expected a mapping at the top level, got a %s",
                 ynode_kind_name(root));
        return ASSAY_EINVAL;
    }
    size_t ntop = sizeof TOP_KEYS / sizeof *TOP_KEYS;
    for (size_t i = 0; i < root->n; i++) {
        bool ok = false;
        for (size_t k = 0; k < ntop; k++)
            ok |= strcmp(root->keys[i], TOP_KEYS[k]) == 0;
        if (!ok) {
            unknown_key(d, g->file, root, i, TOP_KEYS, ntop,
                        "the experiment");
            rc = ASSAY_EINVAL;
        }
    }
    g->config = ynode_to_json(root);
    if (!g->config)
        return ASSAY_ENOMEM;
    const ynode *ex = ynode_get(root, "experiment", NULL);
    if (ex && (ex->kind != Y_SCALAR || !valid_node_name(ex->value))) {
        diag_add(d, g->file, ex->line, ex->col,
                 "use letters, digits, '_' and '-'",
                 "'experiment' must be a simple name");
        rc = ASSAY_EINVAL;
    } else {
        char base[256];
        const char *slash = strrchr(g->file, '/');
        snprintf(base, sizeof base, "%s", slash ? slash + 1 : g->file);
        char *dot = strrchr(base, '.');
        if (dot)
            *dot = '\0';
        g->experiment = strdup(ex ? ex->value : base);
        if (!g->experiment)
            return ASSAY_ENOMEM;
    }
    const ynode *sd = ynode_get(root, "seed", NULL);
    if (sd) {
        int64_t v;
        if (sd->kind != Y_SCALAR || !util_parse_i64(sd->value, &v) || v < 0) {
            diag_add(d, g->file, sd->line, sd->col, "for example 'seed: 42'",
                     "'seed' must be a non-negative integer");
            rc = ASSAY_EINVAL;
        } else
            g->seed = (uint64_t)v;
    }
    const ynode *llm = ynode_get(root, "llm", NULL);
    if (llm) {
        if (llm->kind != Y_MAP) {
            diag_add(d, g->file, llm->line, llm->col,
                     "write llm: {name: {provider: openai, model: ...}}",
                     "'llm' must be a mapping of named endpoints");
            rc = ASSAY_EINVAL;
        } else
            g->llm = ynode_to_json(llm);
    }
    const ynode *bud = ynode_get(root, "budget", NULL);
    if (bud) {
        if (bud->kind != Y_MAP) {
            diag_add(d, g->file, bud->line, bud->col, NULL,
                     "'budget' must be a mapping (max_cost, max_tokens, "
                     "max_requests)");
            rc = ASSAY_EINVAL;
        } else
            g->budget = ynode_to_json(bud);
    }
    const ynode *cm = ynode_get(root, "cache", NULL);
    if (cm) {
        if (cm->kind != Y_SCALAR ||
            (strcmp(cm->value, "read-write") && strcmp(cm->value, "off") &&
             strcmp(cm->value, "replay"))) {
            diag_add(d, g->file, cm->line, cm->col,
                     "one of read-write, off, replay",
                     "bad value for 'cache'");
            rc = ASSAY_EINVAL;
        } else if (!(g->cache_mode = strdup(cm->value)))
            return ASSAY_ENOMEM;
    }
    if (load_plugin_dirs(g, reg, d))
        rc = ASSAY_EINVAL;

    const ynode *nodes = ynode_get(root, "nodes", NULL);
    if (!nodes) {
        diag_add(d, g->file, root->line, root->col,
                 "add nodes: {name: {plugin: ..., inputs: ..., with: ...}}",
                 "the experiment has no 'nodes'");
        return ASSAY_EINVAL;
    }
    if (nodes->kind != Y_MAP || nodes->n == 0) {
        if (nodes->kind == Y_MAP || (nodes->kind == Y_SCALAR &&
                                     !nodes->quoted && !nodes->value[0]))
            diag_add(d, g->file, nodes->line, nodes->col,
                     "add nodes: {name: {plugin: ...}}",
                     "'nodes' is empty");
        else
            diag_add(d, g->file, nodes->line, nodes->col,
                     "write nodes: {name: {plugin: ...}}, one key per node",
                     "'nodes' must be a mapping of node names, not a %s",
                     ynode_kind_name(nodes));
        return ASSAY_EINVAL;
    }
    g->nodes = calloc(nodes->n, sizeof *g->nodes);
    if (!g->nodes)
        return ASSAY_ENOMEM;
    g->n = nodes->n;
    size_t nplug;
    const char *const *pnames = registry_names(reg, &nplug);
    /* pass 1: names, plugins, options */
    for (size_t i = 0; i < nodes->n; i++) {
        gnode *n = &g->nodes[i];
        const ynode *def = nodes->items[i];
        n->line = nodes->key_line[i];
        n->col = nodes->key_col[i];
        if (!(n->name = strdup(nodes->keys[i])))
            return ASSAY_ENOMEM;
        if (!valid_node_name(n->name)) {
            diag_add(d, g->file, n->line, n->col,
                     "use letters, digits, '_' and '-' (no dots)",
                     "bad node name '%s'", n->name);
            rc = ASSAY_EINVAL;
        }
        if (def->kind != Y_MAP) {
            diag_add(d, g->file, def->line, def->col,
                     "write name: {plugin: <plugin>, with: {...}}",
                     "node '%s' must be a mapping, got a %s", n->name,
                     ynode_kind_name(def));
            rc = ASSAY_EINVAL;
            continue;
        }
        size_t nk = sizeof NODE_KEYS / sizeof *NODE_KEYS;
        for (size_t k = 0; k < def->n; k++) {
            bool ok = false;
            for (size_t j = 0; j < nk; j++)
                ok |= strcmp(def->keys[k], NODE_KEYS[j]) == 0;
            if (!ok) {
                char what[300];
                snprintf(what, sizeof what, "node '%s'", n->name);
                unknown_key(d, g->file, def, k, NODE_KEYS, nk, what);
                rc = ASSAY_EINVAL;
            }
        }
        const ynode *pl = ynode_get(def, "plugin", NULL);
        if (!pl || pl->kind != Y_SCALAR) {
            diag_add(d, g->file, pl ? pl->line : n->line,
                     pl ? pl->col : n->col,
                     "`assay plugins` lists the plugins",
                     "node '%s' needs 'plugin: <name>'", n->name);
            rc = ASSAY_EINVAL;
            continue;
        }
        n->plugin = registry_find(reg, pl->value);
        if (n->plugin && registry_hash(reg, n->plugin)) {
            diag_add(d, g->file, pl->line, pl->col, NULL,
                     "cannot read plugin file %s", n->plugin->path);
            rc = ASSAY_EINVAL;
            continue;
        }
        if (!n->plugin) {
            const char *best = util_did_you_mean(pl->value, pnames, nplug);
            char hint[300];
            if (best)
                snprintf(hint, sizeof hint, "did you mean '%s'?", best);
            else
                snprintf(hint, sizeof hint,
                         "`assay plugins` lists the %zu plugins found", nplug);
            diag_add(d, g->file, pl->line, pl->col, hint,
                     "unknown plugin '%s'", pl->value);
            rc = ASSAY_EINVAL;
            continue;
        }
        const ynode *with = ynode_get(def, "with", NULL);
        json_t *given = with ? ynode_to_json(with) : NULL;
        char who[300];
        snprintf(who, sizeof who, "node '%s'", n->name);
        int wl = with ? with->line : n->line, wc = with ? with->col : n->col;
        if (with && with->kind != Y_MAP) {
            diag_add(d, g->file, wl, wc, "write with: {option: value}",
                     "node '%s': 'with' must be a mapping", n->name);
            rc = ASSAY_EINVAL;
        } else if (options_resolve(&n->plugin->desc, given, with, g->file, wl,
                                   wc, who, d, &n->options))
            rc = ASSAY_EINVAL;
        json_decref(given);
        const ynode *gb = ynode_get(def, "group_by", NULL);
        if (gb) {
            if (gb->kind != Y_SCALAR || !gb->value[0]) {
                diag_add(d, g->file, gb->line, gb->col,
                         "write group_by: FIELD, one field of the input "
                         "records",
                         "node '%s': 'group_by' must be a field name",
                         n->name);
                rc = ASSAY_EINVAL;
            } else if (!(n->plugin->desc.flags & ASSAY_F_ALL_ITEMS)) {
                diag_add(d, g->file, gb->line, gb->col,
                         "group metrics, fitters and other all-items nodes",
                         "node '%s': %s computes per item; 'group_by' "
                         "applies to all-items nodes only",
                         n->name, n->plugin->desc.name);
                rc = ASSAY_EINVAL;
            } else if (!(n->group_by = strdup(gb->value)))
                return ASSAY_ENOMEM;
        }
        const ynode *sk = ynode_get(def, "shard_key", NULL);
        if (sk && (sk->kind != Y_SCALAR || !sk->value[0])) {
            diag_add(d, g->file, sk->line, sk->col, NULL,
                     "node '%s': 'shard_key' must be a field name", n->name);
            rc = ASSAY_EINVAL;
        } else if (!(n->shard_key = strdup(sk ? sk->value : "id")))
            return ASSAY_ENOMEM;
        const ynode *iso = ynode_get(def, "isolation", NULL);
        if (iso && (iso->kind != Y_SCALAR || (strcmp(iso->value, "process") &&
                                              strcmp(iso->value, "none")))) {
            diag_add(d, g->file, iso->line, iso->col,
                     "process: run the node in a separate worker process; "
                     "none: in the host",
                     "node '%s': 'isolation' must be process or none",
                     n->name);
            rc = ASSAY_EINVAL;
        }
        n->isolate = iso && iso->kind == Y_SCALAR &&
                     strcmp(iso->value, "process") == 0;
        const ynode *to = ynode_get(def, "timeout", NULL);
        if (to) {
            double t;
            if (to->kind != Y_SCALAR || !util_parse_double(to->value, &t) ||
                !(t > 0) || t > 1e7) {
                diag_add(d, g->file, to->line, to->col,
                         "seconds, e.g. timeout: 600",
                         "node '%s': 'timeout' must be a positive number of "
                         "seconds",
                         n->name);
                rc = ASSAY_EINVAL;
            } else {
                n->timeout = t;
                /* only a separate process can be stopped when it hangs */
                if (!(iso && strcmp(iso->value, "none") == 0))
                    n->isolate = true;
            }
        }
        if (n->isolate && (n->plugin->desc.flags & ASSAY_F_NEEDS_LLM)) {
            const ynode *at = iso ? iso : to;
            diag_add(d, g->file, at->line, at->col,
                     "drop 'isolation'/'timeout' for this node",
                     "node '%s': %s uses the LLM service, which cannot be "
                     "reached from an isolated worker process",
                     n->name, n->plugin->desc.name);
            rc = ASSAY_EINVAL;
        }
        size_t no = count_ports(n->plugin->desc.outputs);
        n->noutputs = no;
    }
    /* pass 2: wiring (needs every node's plugin) */
    for (size_t i = 0; i < nodes->n; i++) {
        if (!g->nodes[i].plugin || nodes->items[i]->kind != Y_MAP)
            continue;
        int w = wire_inputs(g, i, nodes->items[i], d);
        if (w == ASSAY_ENOMEM)
            return w;
        if (w)
            rc = ASSAY_EINVAL;
    }
    /* cycles and report entries are checked even when other problems
     * were found, so that one validation reports them all */
    int orc = order_nodes(g, d);
    if (orc == ASSAY_ENOMEM)
        return orc;
    if (orc)
        rc = orc;
    const ynode *rep = ynode_get(root, "report", NULL);
    if (rep) {
        size_t cnt = rep->kind == Y_SEQ ? rep->n : 1;
        g->report = calloc(cnt ? cnt : 1, sizeof *g->report);
        if (!g->report)
            return ASSAY_ENOMEM;
        for (size_t i = 0; i < cnt; i++) {
            const ynode *s = rep->kind == Y_SEQ ? rep->items[i] : rep;
            if (resolve_ref(g, s, "report entry", d,
                            &g->report[g->nreport]) == 0)
                g->nreport++;
            else
                rc = ASSAY_EINVAL;
        }
    }
    return rc;
}

static int finish_load(graph *g, ynode *root, const char *const *sets,
                       size_t nsets, registry *reg, graph **out, diag *d)
{
    g->root = root;
    int rc = yaml_expand_env(root, g->file, d);
    for (size_t i = 0; i < nsets; i++)
        if (yaml_set_path(root, sets[i], d))
            rc = ASSAY_EINVAL;
    if (!rc)
        rc = build(g, reg, d);
    if (rc) {
        graph_free(g);
        return rc ? rc : ASSAY_EINVAL;
    }
    *out = g;
    return 0;
}

static int load_path(const char *path, const char *const *sets, size_t nsets,
                     registry *reg, graph **out, diag *d)
{
    graph *g = calloc(1, sizeof *g);
    if (!g)
        return ASSAY_ENOMEM;
    char abs[PATH_MAX], dir[PATH_MAX];
    g->file = strdup(path);
    if (util_realpath(path, abs, sizeof abs) == 0)
        util_dirname(abs, dir, sizeof dir);
    else
        snprintf(dir, sizeof dir, ".");
    g->config_dir = strdup(dir);
    if (!g->file || !g->config_dir) {
        graph_free(g);
        return ASSAY_ENOMEM;
    }
    ynode *root = NULL;
    if (yaml_load_file(path, &root, d)) {
        graph_free(g);
        return ASSAY_EINVAL;
    }
    return finish_load(g, root, sets, nsets, reg, out, d);
}

static int load_text(const char *text, size_t len, const char *name,
                     registry *reg, graph **out, diag *d)
{
    graph *g = calloc(1, sizeof *g);
    char cwd[PATH_MAX];
    if (!g || !getcwd(cwd, sizeof cwd)) {
        free(g);
        return ASSAY_ENOMEM;
    }
    g->file = strdup(name);
    g->config_dir = strdup(cwd);
    if (!g->file || !g->config_dir) {
        graph_free(g);
        return ASSAY_ENOMEM;
    }
    ynode *root = NULL;
    if (yaml_load_string(text, len, name, &root, d)) {
        graph_free(g);
        return ASSAY_EINVAL;
    }
    return finish_load(g, root, NULL, 0, reg, out, d);
}

/* A load that ran out of memory says so, even where the failing step had
 * no room left to record a diagnostic (diag_add then counts it as
 * dropped, which prints as "out of memory"). */
static int noted(int rc, const char *file, diag *d)
{
    if (rc == ASSAY_ENOMEM)
        diag_add(d, file, 0, 0, NULL, "out of memory");
    return rc;
}

int graph_load(const char *path, const char *const *sets, size_t nsets,
               registry *reg, graph **out, diag *d)
{
    return noted(load_path(path, sets, nsets, reg, out, d), path, d);
}

int graph_load_string(const char *text, size_t len, const char *name,
                      registry *reg, graph **out, diag *d)
{
    return noted(load_text(text, len, name, reg, out, d), name, d);
}

int graph_write_dot(const graph *g, FILE *f)
{
    fprintf(f, "digraph \"%s\" {\n  rankdir=LR;\n  node [shape=box, "
               "style=rounded];\n",
            g->experiment);
    for (size_t i = 0; i < g->n; i++)
        fprintf(f, "  \"%s\" [label=\"%s\\n%s\"];\n", g->nodes[i].name,
                g->nodes[i].name, g->nodes[i].plugin->desc.name);
    for (size_t i = 0; i < g->n; i++)
        for (size_t j = 0; j < g->nodes[i].ninputs; j++) {
            const ginput *in = &g->nodes[i].inputs[j];
            for (size_t k = 0; k < in->nrefs; k++)
                fprintf(f, "  \"%s\" -> \"%s\" [label=\"%s -> %s\"];\n",
                        g->nodes[in->refs[k].node].name, g->nodes[i].name,
                        in->refs[k].port->name, in->port->name);
        }
    fprintf(f, "}\n");
    return ferror(f) ? ASSAY_EIO : 0;
}

int graph_write_mermaid(const graph *g, FILE *f)
{
    fprintf(f, "flowchart LR\n");
    for (size_t i = 0; i < g->n; i++)
        fprintf(f, "  n%zu[\"%s<br/><small>%s</small>\"]\n", i,
                g->nodes[i].name, g->nodes[i].plugin->desc.name);
    for (size_t i = 0; i < g->n; i++)
        for (size_t j = 0; j < g->nodes[i].ninputs; j++) {
            const ginput *in = &g->nodes[i].inputs[j];
            for (size_t k = 0; k < in->nrefs; k++)
                fprintf(f, "  n%zu -- \"%s → %s\" --> n%zu\n",
                        in->refs[k].node, in->refs[k].port->name,
                        in->port->name, i);
        }
    return ferror(f) ? ASSAY_EIO : 0;
}
