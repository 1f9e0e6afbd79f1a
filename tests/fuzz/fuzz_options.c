/*
 * Fuzz target: option validation (core/options.c).  The input is a `with:`
 * mapping, read twice: as YAML (so that values carry YAML typing and
 * positions, as in an experiment file) and as JSON (as --set and the
 * testkit pass them).  Each reading is validated against several schemas:
 * one declaring every option type with bounds, enums and a required
 * option, the test plugins' and the linked in-tree plugins'.  The input
 * text is also checked as the default value of options of every type
 * (the loader's check of plugin descriptors).
 *
 * Invariants: a failed validation reports a diagnostic; a successful one
 * returns an object holding every declared option, with values of the
 * declared type (null only where an option has no default) and integers
 * and floats inside their bounds.
 */
#include "fuzz.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "registry.h"
#include "ydoc.h"

#ifndef FUZZ_PLUGIN_DIR
#define FUZZ_PLUGIN_DIR "tests/plugins"
#endif

static const assay_option ALL_TYPES[] = {
    {.name = "count",
     .type = ASSAY_OPT_INT,
     .def = "3",
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 1000},
    {.name = "rate",
     .type = ASSAY_OPT_FLOAT,
     .def = "0.5",
     .has_min = true,
     .min = 0,
     .has_max = true,
     .max = 1},
    {.name = "big", .type = ASSAY_OPT_INT, .def = "-5"},
    {.name = "scale", .type = ASSAY_OPT_FLOAT, .has_max = true, .max = -1e-3},
    {.name = "swap", .type = ASSAY_OPT_BOOL, .def = "true"},
    {.name = "label", .type = ASSAY_OPT_STRING, .def = "\"winner\""},
    {.name = "mode",
     .type = ASSAY_OPT_ENUM,
     .def = "\"fast\"",
     .choices = "fast|slow|exact|exp|floor|13a|intl|none"},
    {.name = "empty_enum", .type = ASSAY_OPT_ENUM, .choices = ""},
    {.name = "fields", .type = ASSAY_OPT_LIST, .def = "[\"a\", 1]"},
    {.name = "types", .type = ASSAY_OPT_OBJECT, .def = "{}"},
    {.name = "extra", .type = ASSAY_OPT_ANY},
    {.name = "path", .type = ASSAY_OPT_STRING, .required = true},
    {0}};

static const assay_plugin SYNTH = {
    .abi_version = ASSAY_ABI_VERSION,
    .struct_size = sizeof(assay_plugin),
    .name = "fuzz.options",
    .kind = "transform",
    .options = ALL_TYPES,
};

/* Templates for checking the input as a default value: one per type. */
static const assay_option DEFAULTS[] = {
    {.name = "i",
     .type = ASSAY_OPT_INT,
     .has_min = true,
     .min = -10,
     .has_max = true,
     .max = 10},
    {.name = "f", .type = ASSAY_OPT_FLOAT, .has_min = true, .min = 0},
    {.name = "b", .type = ASSAY_OPT_BOOL},
    {.name = "s", .type = ASSAY_OPT_STRING},
    {.name = "e", .type = ASSAY_OPT_ENUM, .choices = "a|bb|a b|"},
    {.name = "l", .type = ASSAY_OPT_LIST},
    {.name = "o", .type = ASSAY_OPT_OBJECT},
    {.name = "x", .type = ASSAY_OPT_ANY},
    {.name = "r", .type = ASSAY_OPT_INT, .required = true},
    {.name = "u", .type = (assay_opt_type)42},
};

static const assay_plugin *SCHEMAS[128];
static size_t NSCHEMAS;
static FILE *DEVNULL;
/* The test plugins; alive for the whole process (descriptors point into
 * it). */
static registry *REG;

static void free_registry(void)
{
    registry_free(REG);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    json_object_seed(1);
    DEVNULL = fopen("/dev/null", "w");
    SCHEMAS[NSCHEMAS++] = &SYNTH;
    const assay_plugin *const *lists[] = {
        fuzz_openai_entry(ASSAY_ABI_VERSION),
        fuzz_anthropic_entry(ASSAY_ABI_VERSION),
        fuzz_jsonl_entry(ASSAY_ABI_VERSION), fuzz_csv_entry(ASSAY_ABI_VERSION)};
    for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++)
        for (size_t i = 0; lists[l] && lists[l][i] && NSCHEMAS < 128; i++)
            SCHEMAS[NSCHEMAS++] = lists[l][i];
    registry *reg = REG = registry_new();
    const char *dir = getenv("ASSAY_FUZZ_PLUGIN_DIR");
    assay_error err;
    if (!reg || !DEVNULL ||
        registry_add_dir(reg, dir && *dir ? dir : FUZZ_PLUGIN_DIR, &err) ||
        registry_count(reg) == 0) {
        fprintf(stderr, "fuzz-options: no test plugins in %s\n",
                dir && *dir ? dir : FUZZ_PLUGIN_DIR);
        exit(1);
    }
    for (size_t i = 0; i < registry_count(reg) && NSCHEMAS < 128; i++)
        SCHEMAS[NSCHEMAS++] = &registry_at(reg, i)->desc;
    atexit(free_registry);
    return 0;
}

static bool type_ok(const assay_option *o, const json_t *v)
{
    switch (o->type) {
    case ASSAY_OPT_INT:
        return json_is_integer(v);
    case ASSAY_OPT_FLOAT:
        return json_is_real(v);
    case ASSAY_OPT_BOOL:
        return json_is_boolean(v);
    case ASSAY_OPT_STRING:
        return json_is_string(v);
    case ASSAY_OPT_ENUM:
        return json_is_string(v);
    case ASSAY_OPT_LIST:
        return json_is_array(v);
    case ASSAY_OPT_OBJECT:
        return json_is_object(v);
    case ASSAY_OPT_ANY:
        return v != NULL;
    }
    return false;
}

static void check_result(const assay_plugin *p, const json_t *res)
{
    for (const assay_option *o = p->options; o && o->name; o++) {
        const json_t *v = json_object_get(res, o->name);
        if (!v)
            fuzz_fail("%s: option '%s' missing from the result", p->name,
                      o->name);
        if (json_is_null(v)) {
            if (o->def && strcmp(o->def, "null") != 0)
                fuzz_fail("%s: option '%s' is null but has a default", p->name,
                          o->name);
            continue;
        }
        if (!type_ok(o, v))
            fuzz_fail("%s: option '%s' has the wrong type", p->name, o->name);
        if (o->type == ASSAY_OPT_INT || o->type == ASSAY_OPT_FLOAT) {
            double d = json_number_value(v);
            if (!isfinite(d) || (o->has_min && d < o->min) ||
                (o->has_max && d > o->max))
                fuzz_fail("%s: option '%s' out of bounds", p->name, o->name);
        }
    }
}

static void validate(const json_t *given, const ynode *ypos)
{
    for (size_t i = 0; i < NSCHEMAS; i++) {
        diag d = {0};
        json_t *out = NULL;
        int rc = options_resolve(SCHEMAS[i], given, ypos, "fuzz.yaml", 1, 1,
                                 "node 'x'", &d, &out);
        if (rc == 0) {
            check_result(SCHEMAS[i], out);
            json_decref(out);
        } else if (d.n == 0)
            fuzz_fail("%s: validation failed without a diagnostic",
                      SCHEMAS[i]->name);
        diag_print(&d, DEVNULL);
        diag_free(&d);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstr(data, size);
    if (!text)
        return 0;
    ynode *root = NULL;
    diag d = {0};
    if (yaml_load_string(text, size, "fuzz.yaml", &root, &d) == 0) {
        json_t *given = ynode_to_json(root);
        if (given)
            validate(given, root->kind == Y_MAP ? root : NULL);
        json_decref(given);
    }
    ynode_free(root);
    diag_free(&d);

    json_t *j = json_loadb(text, size, JSON_DECODE_ANY, NULL);
    if (j)
        validate(j, NULL);
    json_decref(j);

    for (size_t i = 0; i < sizeof DEFAULTS / sizeof DEFAULTS[0]; i++) {
        assay_option o = DEFAULTS[i];
        char msg[512] = "";
        o.def = text;
        options_check_default(&o, msg, sizeof msg);
        fputs(msg, DEVNULL);
    }
    free(text);
    return 0;
}
