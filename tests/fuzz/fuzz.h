/*
 * tests/fuzz/fuzz.h - what the fuzz harnesses share: the libFuzzer entry
 * points, the in-tree plugins compiled into the harnesses under renamed
 * entry symbols (so that their code is instrumented with the harness and
 * two plugins can live in one program), and small helpers.
 */
#ifndef ASSAY_FUZZ_H
#define ASSAY_FUZZ_H

#include <assay/plugin.h>

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* plugins/llm/openai/openai.c and plugins/llm/anthropic/anthropic.c,
 * built with -Dassay_plugin_entry=fuzz_<name>_entry. */
const assay_plugin *const *fuzz_openai_entry(uint32_t host_abi);
const assay_plugin *const *fuzz_anthropic_entry(uint32_t host_abi);
/* plugins/source/jsonl, csv and interactions, the same way. */
const assay_plugin *const *fuzz_jsonl_entry(uint32_t host_abi);
const assay_plugin *const *fuzz_csv_entry(uint32_t host_abi);
const assay_plugin *const *fuzz_interactions_entry(uint32_t host_abi);

/* The descriptor called `name` in an entry's list, or NULL. */
const assay_plugin *fuzz_find(const assay_plugin *const *list,
                              const char *name);

/* A NUL-terminated heap copy of data[0..size) (NULL on ENOMEM); the
 * harnesses whose code under test reads C strings use it. */
char *fuzz_cstr(const uint8_t *data, size_t size);

/* Stop with a message when an invariant of the code under test does not
 * hold (a finding, like a crash). */
#if defined(__GNUC__)
__attribute__((noreturn, format(printf, 1, 2)))
#endif
void fuzz_fail(const char *fmt, ...);

#endif
