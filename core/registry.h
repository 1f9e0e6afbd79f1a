/*
 * core/registry.h - the plugin loader.  Finds shared objects in plugin
 * directories, dlopens them (RTLD_NOW | RTLD_LOCAL), calls the single
 * entry symbol and checks every descriptor it returns (ABI major, struct
 * size, names, callbacks, ports, option schema and defaults).  A bad file
 * is skipped with a problem naming the file; it never crashes the host.
 */
#ifndef ASSAY_REGISTRY_H
#define ASSAY_REGISTRY_H

#include <assay/plugin.h>

typedef struct plugin_entry {
    assay_plugin desc;  /* the descriptor, copied (missing tail zeroed) */
    const char *path;   /* the .so it came from (owned by the registry) */
    const char *sha256; /* hash of that file (owned by the registry); ""
                           until registry_hash() ran for it */
} plugin_entry;

typedef struct registry registry;

registry *registry_new(void);
void registry_free(registry *r);

/* Scan a directory (recursively, a few levels) for *.so files and load
 * them.  Problems with individual files are recorded (registry_problems),
 * not returned; returns non-zero only when `dir` cannot be read. */
int registry_add_dir(registry *r, const char *dir, assay_error *err);

/* Load one file; every problem is returned in `err`. */
int registry_load_file(registry *r, const char *path, assay_error *err);

/* Scan the default locations: the directory beside the executable when
 * running from a build tree (or the installed plugin dir), then every
 * entry of ASSAY_PLUGIN_PATH. */
int registry_add_defaults(registry *r, assay_error *err);

const plugin_entry *registry_find(const registry *r, const char *name);
size_t registry_count(const registry *r);
const plugin_entry *registry_at(const registry *r, size_t i);
/* Sorted names of all plugins (borrowed; for did-you-mean). */
const char *const *registry_names(registry *r, size_t *n);

/* Hash the file of `e` (once; files are hashed only when a graph uses
 * them, so scanning many plugin directories stays cheap). */
int registry_hash(registry *r, const plugin_entry *e);

/* Problems met while scanning ("FILE: reason"), one string each. */
size_t registry_nproblems(const registry *r);
const char *registry_problem(const registry *r, size_t i);

/* Check a descriptor on its own (used by the loader and plugin-check);
 * `where` names the file in messages. */
int registry_check_descriptor(const assay_plugin *p, const char *where,
                              assay_error *err);

#endif
