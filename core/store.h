/*
 * core/store.h - what the host keeps on disk: atomic file writes, the
 * content-addressed node cache (<cache>/nodes/<k[0:2]>/<key>/ holding the
 * output files and meta.json), loading a finished node's outputs back
 * (cache hits and --resume), and redaction of secrets in configs.
 */
#ifndef ASSAY_STORE_H
#define ASSAY_STORE_H

#include <stdbool.h>

#include "hostapi.h"

/* Atomic write (temp + rename); `durable` adds fsync. */
int store_write_file(const char *path, const void *data, size_t len,
                     bool durable, assay_error *err);

/* Load the outputs recorded in <dir>/<record> (a node.json or meta.json)
 * into io->out when its key equals `key` (NULL: any key) and its status is
 * done.  0 on
 * success; on any mismatch or missing file io->out is left empty. */
int store_load_outputs(const char *dir, const char *record, const char *key,
                       assay_io *io);

/* Cache lookup: on a hit, load the values into io->out and link the files
 * into `node_dir`. */
int store_cache_get(const char *cache_dir, const char *key,
                    const char *node_dir, assay_io *io);

/* Cache fill from the files just written to `node_dir` (best effort). */
int store_cache_put(const char *cache_dir, const char *key,
                    const char *node_dir, const assay_io *io);

/* A copy of `config` with secret-looking values replaced by "<redacted>"
 * (keys like api_key, token, secret, password, authorization). */
json_t *store_redact(const json_t *config);



/* Cluster runs keep a cache per shard; these fold them together.
 * store_merge_caches copies into `dst_dir` every LLM answer
 * (llm.sqlite) and every node-cache entry of `src_dir` it lacks.
 * store_seed_llm_cache gives a new shard cache a consistent copy of the
 * project's LLM answers (VACUUM INTO), so a re-run pays nothing twice. */
int store_merge_caches(const char *dst_dir, const char *src_dir,
                       assay_error *err);
int store_seed_llm_cache(const char *dst_dir, const char *src_dir,
                         assay_error *err);
#endif
