/*
 * Fuzz target: the data-file readers (plugins/source/jsonl, csv and
 * interactions), run through the real host in-process (core/testkit.h)
 * exactly as a graph node would run them.  The input is written to a
 * temporary file which each source then reads with several option sets:
 * JSONL strict and skipping bad lines; CSV with a header, without one,
 * other delimiters and forced column types; interactions as every
 * MovieLens layout (u.data, ratings.dat, ratings.csv, RecBole atomic
 * files, csv, tsv), with the same file as item side information.
 *
 * Invariants: a run either fails with a message or returns every
 * output port; JSONL gives an array of objects, no more records than the
 * file has lines, and exactly `limit` records at most.
 */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testkit.h"
#include "util.h"

static const assay_plugin *JSONL, *CSV, *INTER;
static char DIR_[64];
static char PATH_[128];

static void cleanup(void)
{
    if (DIR_[0])
        util_rmtree(DIR_);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    json_object_seed(1);
    JSONL = fuzz_find(fuzz_jsonl_entry(ASSAY_ABI_VERSION), "source.jsonl");
    CSV = fuzz_find(fuzz_csv_entry(ASSAY_ABI_VERSION), "source.csv");
    INTER = fuzz_find(fuzz_interactions_entry(ASSAY_ABI_VERSION),
                      "source.interactions");
    snprintf(DIR_, sizeof DIR_, "/dev/shm/assay-fuzz-XXXXXX");
    if (!mkdtemp(DIR_)) {
        snprintf(DIR_, sizeof DIR_, "/tmp/assay-fuzz-XXXXXX");
        if (!mkdtemp(DIR_))
            DIR_[0] = '\0';
    }
    if (!JSONL || !CSV || !INTER || !DIR_[0]) {
        fprintf(stderr, "fuzz-sources: setup failed\n");
        exit(1);
    }
    atexit(cleanup);
    snprintf(PATH_, sizeof PATH_, "%s/input", DIR_);
    /* the sources' worker threads, as in the plugins' own tests */
    setenv("ASSAY_THREADS", "2", 1);
    return 0;
}

static size_t count_lines(const uint8_t *data, size_t size)
{
    size_t n = size && data[size - 1] != '\n';
    for (size_t i = 0; i < size; i++)
        n += data[i] == '\n';
    return n;
}

/* Run `p` with the options `opts` (JSON text) and check the outputs'
 * shape; returns them (caller decrefs) or NULL when the run failed. */
static json_t *run(const assay_plugin *p, const char *opts)
{
    json_t *out = NULL;
    assay_error err;
    err.text[0] = '\0';
    if (assay_testkit_run(p, opts, NULL, &out, &err) != 0) {
        if (!err.text[0])
            fuzz_fail("%s failed without a message", p->name);
        return NULL;
    }
    for (const assay_port *o = p->outputs; o && o->name; o++)
        if (!json_object_get(out, o->name))
            fuzz_fail("%s: output '%s' missing", p->name, o->name);
    return out;
}

static void jsonl(size_t lines)
{
    char o[512];
    snprintf(o, sizeof o, "{\"path\": \"%s\"}", PATH_);
    json_t *out = run(JSONL, o);
    const json_t *recs = json_object_get(out, "records");
    if (out && json_array_size(recs) > lines)
        fuzz_fail("jsonl: %zu records from %zu lines", json_array_size(recs),
                  lines);
    size_t i;
    json_t *r;
    json_array_foreach(recs, i, r)
    {
        if (!json_is_object(r))
            fuzz_fail("jsonl: record %zu is not an object", i);
    }
    json_decref(out);
    snprintf(o, sizeof o,
             "{\"path\": \"%s\", \"skip_invalid\": true, \"limit\": 3}", PATH_);
    out = run(JSONL, o);
    if (out && json_array_size(json_object_get(out, "records")) > 3)
        fuzz_fail("jsonl: limit 3 exceeded");
    json_decref(out);
}

static void csv(void)
{
    static const char *const extra[] = {
        "", ", \"header\": false, \"delimiter\": \";\"",
        (", \"delimiter\": \"tab\", \"limit\": 2, \"types\": {\"a\": "
         "\"int64\", \"b\": \"float64\", \"c\": \"string\", \"col1\": "
         "\"int64\"}"),
        (", \"delimiter\": \"|\", \"header\": false, \"types\": "
         "{\"col2\": \"float64\"}")};
    for (size_t k = 0; k < sizeof extra / sizeof extra[0]; k++) {
        char o[512];
        snprintf(o, sizeof o, "{\"path\": \"%s\"%s}", PATH_, extra[k]);
        json_decref(run(CSV, o));
    }
}

static void interactions(void)
{
    static const char *const extra[] = {
        ("\"format\": \"ml-100k\", \"item_file\": \"%s\", \"user_file\": "
         "\"%s\""),
        ("\"format\": \"ml-1m\", \"ids\": \"dense\", \"item_file\": "
         "\"%s\", \"user_file\": \"%s\""),
        ("\"format\": \"ml-latest\", \"item_file\": \"%s\", \"ids\": "
         "\"keep\""),
        ("\"format\": \"atomic\", \"item_file\": \"%s\", \"user_file\": "
         "\"%s\""),
        ("\"format\": \"csv\", \"ids\": \"keep\", \"user_col\": \"u\", "
         "\"item_col\": \"i\", \"rating_col\": \"r\", \"time_col\": \"t\""),
        "\"format\": \"tsv\", \"side_info\": false"};
    for (size_t k = 0; k < sizeof extra / sizeof extra[0]; k++) {
        char tail[512], o[1024];
        snprintf(tail, sizeof tail, extra[k], PATH_, PATH_);
        snprintf(o, sizeof o, "{\"path\": \"%s\", %s}", PATH_, tail);
        json_decref(run(INTER, o));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fopen(PATH_, "wb");
    if (!f)
        return 0;
    size_t w = fwrite(data, 1, size, f);
    if (fclose(f) != 0 || w != size)
        return 0;
    jsonl(count_lines(data, size));
    csv();
    interactions();
    return 0;
}
