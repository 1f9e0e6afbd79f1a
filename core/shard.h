/*
 * core/shard.h - sharded runs.  A graph is split into the part that runs
 * in every shard (sources, whose items are partitioned by a stable hash of
 * each item's key, and the per-item nodes fed only by them) and the part
 * that needs all items (everything else), which runs after `assay merge`
 * has stitched the shards' per-item outputs back together in the order an
 * unsharded run would have produced.
 */
#ifndef ASSAY_SHARD_H
#define ASSAY_SHARD_H

#include <stdbool.h>

#include "graph.h"
#include "value.h"

typedef struct shard_plan {
    size_t n;
    bool *in_shards;  /* node runs in the shard runs */
    bool *partition;  /* source whose records/table outputs are split */
    long *origin;     /* for in-shard nodes: the source whose order the
                         merge restores (-1: none) */
} shard_plan;

/* Classify every node of `g`.  Sources (kind "source", no inputs) whose
 * outputs are all records/tables are partitioned; a node runs in shards
 * when its plugin is per-item and every connected input comes from a node
 * that runs in shards (all through the same origin source).  After the
 * merge, the json outputs of such a node (summaries of its own work) are
 * {"shards": [value of shard 0, ...]}. */
int shard_plan_build(const graph *g, shard_plan *p, assay_error *err);
void shard_plan_free(shard_plan *p);

/* Parse "I/N" (0 <= I < N). */
bool shard_parse(const char *s, unsigned *index, unsigned *count);

/* The items of shard `index` of `count`: an item belongs to the shard
 * hash(key) mod count, where key is the value of field `key_field` (or,
 * when the item lacks it, the whole item), hashed with SHA-256 over its
 * canonical JSON, so the split does not depend on file order. */
int shard_partition(value *v, const char *key_field, unsigned index,
                    unsigned count, value **out, assay_error *err);

/* Concatenate per-shard values of one port and restore the unsharded
 * order: items are ordered by the position of their key in `order` (the
 * origin source's full output; NULL: shard order), items without a known
 * key keep shard order at the end. */
int shard_merge(value *const *parts, size_t n, const char *key_field,
                value *order, value **out, assay_error *err);

#endif
