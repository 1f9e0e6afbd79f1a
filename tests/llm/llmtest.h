/*
 * tests/llm/llmtest.h - helpers shared by the LLM service tests: start
 * and stop the fake server, talk to its control endpoints, find the
 * provider plugins.
 */
#ifndef ASSAY_TESTS_LLMTEST_H
#define ASSAY_TESTS_LLMTEST_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "llm/llm.h"

typedef struct fake_server {
    pid_t pid;
    int port;
    char base_url[64]; /* http://127.0.0.1:PORT/v1 */
} fake_server;

/* Start $FAKELLM with configuration `config_json` (JSON text, may be
 * NULL); 0 on success. */
int fake_start(fake_server *f, const char *config_json);
/* The same on a given port (0: an ephemeral one). */
int fake_start_on(fake_server *f, int port, const char *config_json);
void fake_stop(fake_server *f);
/* kill -9: the server dies with its connections open. */
void fake_kill(fake_server *f);

/* GET /stats (new reference) or NULL. */
json_t *fake_stats(const fake_server *f);
/* POST /config with JSON text; 0 on success. */
int fake_config(const fake_server *f, const char *config_json);

/* Provider lookup over $OPENAI_PLUGIN and $ANTHROPIC_PLUGIN. */
const assay_plugin *test_find_plugin(void *ud, const char *name);

/* Endpoints JSON {"NAME": {provider, base_url, model, ...extra}}; `extra`
 * is JSON object text merged into the endpoint (may be NULL). */
json_t *test_endpoints(const char *name, const char *provider,
                       const fake_server *f, const char *extra);

/* A fresh temporary directory (caller frees the string). */
char *test_tmpdir(void);

/* Seconds on the monotonic clock. */
double test_now(void);

/* True when the file at `path` contains `needle` (binary-safe). */
bool file_contains(const char *path, const char *needle);

#endif
