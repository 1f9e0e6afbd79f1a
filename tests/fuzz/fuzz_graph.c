/*
 * Fuzz target: the experiment file, end to end up to the point where a
 * run would start.  The input is YAML text; it goes through
 * graph_load_string (libyaml parse into ydoc, ${VAR} expansion,
 * resolution against a registry of the test plugins, option validation,
 * type checks, cycle detection, topological order), then the graph
 * writers and the LLM endpoint and budget validation of its `llm:` and
 * `budget:` sections.  Comment lines "#!set PATH=VALUE" in the input are
 * applied as --set overrides to the parsed document as well.
 *
 * Invariants checked beyond "no crash, no leak": a failed load reports at
 * least one diagnostic; a loaded graph's order is a permutation of its
 * nodes in which every node comes after its dependencies, and every input
 * reference points at an existing node.
 *
 * Documents with a `plugin_dirs:` key are skipped: they would make the
 * loader dlopen whatever the fuzzer names.
 */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "llm/llm_internal.h"
#include "registry.h"
#include "ydoc.h"

#ifndef FUZZ_PLUGIN_DIR
#define FUZZ_PLUGIN_DIR "tests/plugins"
#endif

/* Built once by LLVMFuzzerInitialize and only read afterwards (the
 * harness runs inputs one at a time). */
static registry *REG;
static FILE *DEVNULL;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    json_object_seed(1);
    const char *dir = getenv("ASSAY_FUZZ_PLUGIN_DIR");
    assay_error err;
    REG = registry_new();
    DEVNULL = fopen("/dev/null", "w");
    if (!REG || !DEVNULL ||
        registry_add_dir(REG, dir && *dir ? dir : FUZZ_PLUGIN_DIR, &err) ||
        !registry_find(REG, "test.add")) {
        fprintf(stderr,
                "fuzz-graph: the test plugins were not found in %s (set "
                "ASSAY_FUZZ_PLUGIN_DIR)\n",
                dir && *dir ? dir : FUZZ_PLUGIN_DIR);
        exit(1);
    }
    size_t n;
    registry_names(REG, &n);
    return 0;
}

static const assay_plugin *find_provider(void *ud, const char *name)
{
    (void)ud;
    const assay_plugin *p =
        fuzz_find(fuzz_openai_entry(ASSAY_ABI_VERSION), name);
    return p ? p : fuzz_find(fuzz_anthropic_entry(ASSAY_ABI_VERSION), name);
}

/* The document as ydoc sees it: overrides from "#!set " lines, env
 * expansion, conversion to JSON.  Returns false when the document must
 * not go to the loader. */
static bool ydoc_steps(const char *text, size_t len)
{
    ynode *root = NULL;
    diag d = {0};
    bool go = true;
    if (yaml_load_string(text, len, "fuzz.yaml", &root, &d) == 0) {
        if (root->kind == Y_MAP && ynode_get(root, "plugin_dirs", NULL))
            go = false;
        ynode *c = ynode_clone(root);
        for (const char *p = text; c && p && p < text + len;) {
            const char *nl = memchr(p, '\n', (size_t)(text + len - p));
            size_t l = nl ? (size_t)(nl - p) : (size_t)(text + len - p);
            if (l > 6 && strncmp(p, "#!set ", 6) == 0) {
                char *a = strndup(p + 6, l - 6);
                if (a)
                    yaml_set_path(c, a, &d);
                free(a);
            }
            p = nl ? nl + 1 : NULL;
        }
        if (c) {
            yaml_expand_env(c, "fuzz.yaml", &d);
            json_decref(ynode_to_json(c));
        }
        ynode_free(c);
    }
    ynode_free(root);
    diag_print(&d, DEVNULL);
    diag_free(&d);
    return go;
}

static void check_graph(const graph *g)
{
    size_t *pos = calloc(g->n ? g->n : 1, sizeof *pos);
    if (!pos)
        return;
    for (size_t i = 0; i < g->n; i++)
        pos[i] = (size_t)-1;
    for (size_t i = 0; i < g->n; i++) {
        if (g->order[i] >= g->n || pos[g->order[i]] != (size_t)-1)
            fuzz_fail("order is not a permutation");
        pos[g->order[i]] = i;
    }
    for (size_t i = 0; i < g->n; i++) {
        const gnode *n = &g->nodes[i];
        for (size_t j = 0; j < n->ndeps; j++)
            if (n->deps[j] >= g->n || pos[n->deps[j]] >= pos[i])
                fuzz_fail("node '%s' runs before its input", n->name);
        for (size_t j = 0; j < n->ninputs; j++)
            for (size_t k = 0; k < n->inputs[j].nrefs; k++)
                if (n->inputs[j].refs[k].node >= g->n)
                    fuzz_fail("node '%s' reads a missing node", n->name);
    }
    for (size_t i = 0; i < g->nreport; i++)
        if (g->report[i].node >= g->n)
            fuzz_fail("report entry %zu points nowhere", i);
    free(pos);
}

static void llm_steps(const graph *g)
{
    const char *k;
    json_t *v;
    json_object_foreach(g->llm, k, v)
    {
        llm_endpoint ep;
        assay_error err;
        memset(&ep, 0, sizeof ep);
        llm_endpoint_parse(&ep, k, v, NULL, find_provider, NULL, &err);
        llm_endpoint_free(&ep);
    }
    llm_budget b;
    assay_error err;
    llm_budget_parse(g->budget, &b, &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    if (!ydoc_steps(text, size))
        return 0;
    graph *g = NULL;
    diag d = {0};
    int rc = graph_load_string(text, size, "fuzz.yaml", REG, &g, &d);
    if (rc == 0) {
        check_graph(g);
        graph_write_dot(g, DEVNULL);
        graph_write_mermaid(g, DEVNULL);
        llm_steps(g);
        graph_free(g);
    } else if (d.n == 0 && d.dropped == 0)
        fuzz_fail("load failed (%d) without a diagnostic", rc);
    diag_print(&d, DEVNULL);
    char first[256];
    diag_first(&d, first, sizeof first);
    diag_free(&d);
    return 0;
}
