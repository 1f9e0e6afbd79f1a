#include "registry.h"

#include <dirent.h>
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "options.h"
#include "sha256.h"
#include "util.h"

#ifndef ASSAY_PLUGIN_DIR
#define ASSAY_PLUGIN_DIR "/usr/local/lib/assay/plugins"
#endif

typedef struct loaded_file {
    char *path;
    char sha[65]; /* "" until registry_hash() */
    void *handle;
} loaded_file;

struct registry {
    plugin_entry *items;
    size_t n, cap;
    loaded_file **files; /* individually allocated: entries point in */
    size_t nfiles, capfiles;
    char **problems;
    size_t nproblems, capproblems;
    size_t lost;        /* problems that could not be stored (out of
                           memory): listed as one more problem */
    const char **names; /* sorted names, rebuilt on demand */
    size_t nnames;
};

registry *registry_new(void)
{
    return calloc(1, sizeof(registry));
}

void registry_free(registry *r)
{
    if (!r)
        return;
    /* handles are deliberately not dlclose()d: values produced by plugins
     * (and their static strings) may outlive the registry in this process */
    for (size_t i = 0; i < r->nfiles; i++) {
        free(r->files[i]->path);
        free(r->files[i]);
    }
    for (size_t i = 0; i < r->nproblems; i++)
        free(r->problems[i]);
    free(r->files);
    free(r->problems);
    free(r->items);
    free(r->names);
    free(r);
}

static void add_problem(registry *r, const char *text)
{
    if (r->nproblems == r->capproblems) {
        size_t cap = r->capproblems ? r->capproblems * 2 : 8;
        char **np = realloc(r->problems, cap * sizeof *np);
        if (!np) {
            r->lost++;
            return;
        }
        r->problems = np;
        r->capproblems = cap;
    }
    char *s = strdup(text);
    if (s)
        r->problems[r->nproblems++] = s;
    else
        r->lost++;
}

static bool valid_ident(const char *s, const char *extra)
{
    if (!s || !*s)
        return false;
    for (const char *c = s; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
              *c == '_' || strchr(extra, *c)))
            return false;
    return true;
}

static int check_ports(const assay_port *ports, const char *what,
                       const char *pname, const char *where, assay_error *err)
{
    for (const assay_port *a = ports; a && a->name; a++) {
        if (!valid_ident(a->name, ""))
            return assay_error_set(err, ASSAY_EINVAL,
                                   "%s: plugin '%s': %s port name '%s' is "
                                   "not [a-z0-9_]+",
                                   where, pname, what, a->name);
        if (a->type < ASSAY_T_RECORDS || a->type > ASSAY_T_ANY)
            return assay_error_set(err, ASSAY_EINVAL,
                                   "%s: plugin '%s': %s port '%s' has an "
                                   "unknown type %d",
                                   where, pname, what, a->name, (int)a->type);
        for (const assay_port *b = ports; b < a; b++)
            if (strcmp(a->name, b->name) == 0)
                return assay_error_set(err, ASSAY_EINVAL,
                                       "%s: plugin '%s': duplicate %s port "
                                       "'%s'",
                                       where, pname, what, a->name);
    }
    return 0;
}

int registry_check_descriptor(const assay_plugin *p, const char *where,
                              assay_error *err)
{
    if (ASSAY_ABI_MAJOR_OF(p->abi_version) != ASSAY_ABI_MAJOR)
        return assay_error_set(
            err, ASSAY_EABI,
            "%s: plugin ABI %u.%u does not match the host's ABI %u.%u; "
            "rebuild it against assay-sdk %u.x",
            where, ASSAY_ABI_MAJOR_OF(p->abi_version),
            p->abi_version & 0xffff, ASSAY_ABI_MAJOR, ASSAY_ABI_MINOR,
            ASSAY_ABI_MAJOR);
    size_t need = offsetof(assay_plugin, destroy) + sizeof p->destroy;
    if (p->struct_size < need)
        return assay_error_set(err, ASSAY_EABI,
                               "%s: descriptor struct_size %u is smaller "
                               "than the minimum %zu",
                               where, p->struct_size, need);
    if (!valid_ident(p->name, ".-"))
        return assay_error_set(err, ASSAY_EINVAL,
                               "%s: plugin name '%s' is not [a-z0-9_.-]+",
                               where, p->name ? p->name : "(null)");
    const char *pn = p->name;
    if (!p->kind || !*p->kind)
        return assay_error_set(err, ASSAY_EINVAL, "%s: plugin '%s' has no "
                                                  "kind", where, pn);
    if (!p->version || !*p->version)
        return assay_error_set(err, ASSAY_EINVAL, "%s: plugin '%s' has no "
                                                  "version", where, pn);
    if (!p->summary || !*p->summary)
        return assay_error_set(err, ASSAY_EINVAL, "%s: plugin '%s' has no "
                                                  "summary", where, pn);
    if (!p->create || !p->run || !p->destroy)
        return assay_error_set(err, ASSAY_EINVAL,
                               "%s: plugin '%s' has a NULL %s callback",
                               where, pn,
                               !p->create ? "create"
                               : !p->run  ? "run"
                                          : "destroy");
    int rc = check_ports(p->inputs, "input", pn, where, err);
    if (!rc)
        rc = check_ports(p->outputs, "output", pn, where, err);
    if (rc)
        return rc;
    for (const assay_option *o = p->options; o && o->name; o++) {
        if (!valid_ident(o->name, ""))
            return assay_error_set(err, ASSAY_EINVAL,
                                   "%s: plugin '%s': option name '%s' is not "
                                   "[a-z0-9_]+",
                                   where, pn, o->name);
        if (o->type < ASSAY_OPT_INT || o->type > ASSAY_OPT_ANY)
            return assay_error_set(err, ASSAY_EINVAL,
                                   "%s: plugin '%s': option '%s' has an "
                                   "unknown type",
                                   where, pn, o->name);
        if (o->type == ASSAY_OPT_ENUM && (!o->choices || !*o->choices))
            return assay_error_set(err, ASSAY_EINVAL,
                                   "%s: plugin '%s': enum option '%s' has no "
                                   "choices",
                                   where, pn, o->name);
        for (const assay_option *q = p->options; q < o; q++)
            if (strcmp(q->name, o->name) == 0)
                return assay_error_set(err, ASSAY_EINVAL,
                                       "%s: plugin '%s': duplicate option "
                                       "'%s'",
                                       where, pn, o->name);
        char msg[600];
        if (options_check_default(o, msg, sizeof msg))
            return assay_error_set(err, ASSAY_EINVAL, "%s: plugin '%s': %s",
                                   where, pn, msg);
    }
    return 0;
}

static int push_entry(registry *r, const plugin_entry *e)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 32;
        plugin_entry *ni = realloc(r->items, cap * sizeof *ni);
        if (!ni)
            return ASSAY_ENOMEM;
        r->items = ni;
        r->cap = cap;
    }
    r->items[r->n++] = *e;
    free(r->names);
    r->names = NULL;
    return 0;
}

int registry_load_file(registry *r, const char *path, assay_error *err)
{
    char abs[PATH_MAX];
    if (util_realpath(path, abs, sizeof abs) != 0)
        return assay_error_set(err, ASSAY_EIO, "%s: no such plugin file",
                               path);
    for (size_t i = 0; i < r->nfiles; i++)
        if (strcmp(r->files[i]->path, abs) == 0)
            return 0; /* already loaded (same file through two paths) */
    struct stat st;
    if (stat(abs, &st) == 0 && (st.st_mode & S_IWOTH))
        return assay_error_set(err, ASSAY_EINVAL,
                               "%s: refusing a world-writable plugin file",
                               abs);
    dlerror();
    void *h = dlopen(abs, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        return assay_error_set(err, ASSAY_EINVAL,
                               "%s: not a loadable shared object: %s", abs,
                               e ? e : "unknown dlopen error");
    }
    dlerror();
    void *sym = dlsym(h, ASSAY_PLUGIN_ENTRY_SYMBOL);
    if (!sym) {
        dlclose(h);
        return assay_error_set(err, ASSAY_EINVAL,
                               "%s: not an assay plugin (no '%s' symbol)",
                               abs, ASSAY_PLUGIN_ENTRY_SYMBOL);
    }
    assay_plugin_entry_fn entry;
    memcpy(&entry, &sym, sizeof entry);
    const assay_plugin *const *list = entry(ASSAY_ABI_VERSION);
    if (!list || !list[0]) {
        dlclose(h);
        return assay_error_set(err, ASSAY_EINVAL,
                               "%s: '%s' returned no plugins", abs,
                               ASSAY_PLUGIN_ENTRY_SYMBOL);
    }
    /* check everything before registering anything from this file */
    size_t count = 0;
    for (; count < 4096 && list[count]; count++) {
        const assay_plugin *p = list[count];
        int rc = registry_check_descriptor(p, abs, err);
        if (rc) {
            dlclose(h);
            return rc;
        }
        /* format messages before dlclose: p->name lives in the file */
        for (size_t j = 0; j < count; j++)
            if (strcmp(list[j]->name, p->name) == 0) {
                rc = assay_error_set(err, ASSAY_EINVAL,
                                     "%s: plugin '%s' is declared twice in "
                                     "the file",
                                     abs, p->name);
                dlclose(h);
                return rc;
            }
        const plugin_entry *dup = registry_find(r, p->name);
        if (dup) {
            rc = assay_error_set(err, ASSAY_EINVAL,
                                 "%s: plugin '%s' is already provided by "
                                 "%s; the second file is ignored",
                                 abs, p->name, dup->path);
            dlclose(h);
            return rc;
        }
    }
    if (r->nfiles == r->capfiles) {
        size_t cap = r->capfiles ? r->capfiles * 2 : 32;
        loaded_file **nf = realloc(r->files, cap * sizeof *nf);
        if (!nf) {
            dlclose(h);
            return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        }
        r->files = nf;
        r->capfiles = cap;
    }
    loaded_file *lf = calloc(1, sizeof *lf);
    if (!lf || !(lf->path = strdup(abs))) {
        free(lf);
        dlclose(h);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    lf->handle = h;
    r->files[r->nfiles++] = lf;
    for (size_t i = 0; i < count; i++) {
        plugin_entry e;
        memset(&e, 0, sizeof e);
        size_t sz = list[i]->struct_size < sizeof e.desc
                        ? list[i]->struct_size
                        : sizeof e.desc;
        memcpy(&e.desc, list[i], sz);
        e.path = lf->path;
        e.sha256 = lf->sha;
        if (push_entry(r, &e))
            return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    return 0;
}

/* Load every plugin file under `dir`.  Running out of memory while
 * listing it is a problem of its own (a plugin silently missing would
 * read as "unknown plugin" later) and returns ASSAY_ENOMEM. */
static int scan(registry *r, const char *dir, int depth)
{
    DIR *d = opendir(dir);
    if (!d)
        return ASSAY_EIO;
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    while (!rc && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                rc = ASSAY_ENOMEM;
                break;
            }
            names = nn;
        }
        names[n] = strdup(de->d_name);
        if (names[n])
            n++;
        else
            rc = ASSAY_ENOMEM;
    }
    closedir(d);
    if (rc) {
        char msg[PATH_MAX + 64];
        snprintf(msg, sizeof msg, "%s: out of memory while listing plugins",
                 dir);
        add_problem(r, msg);
    }
    /* deterministic order: sorted names */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX];
        if (util_path_join(path, sizeof path, dir, names[i]) == 0) {
            size_t l = strlen(names[i]);
            if (util_is_dir(path)) {
                /* meson's object folders end in .p */
                if (depth < 4 &&
                    !(l > 2 && !strcmp(names[i] + l - 2, ".p")) &&
                    scan(r, path, depth + 1) == ASSAY_ENOMEM)
                    rc = ASSAY_ENOMEM;
            } else if (l > 3 && strcmp(names[i] + l - 3, ".so") == 0) {
                assay_error err;
                if (registry_load_file(r, path, &err))
                    add_problem(r, err.text);
            }
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int registry_add_dir(registry *r, const char *dir, assay_error *err)
{
    if (!util_is_dir(dir))
        return assay_error_set(err, ASSAY_EIO,
                               "plugin directory %s does not exist", dir);
    struct stat st;
    if (stat(dir, &st) == 0 && (st.st_mode & S_IWOTH) &&
        !(st.st_mode & S_ISVTX))
        return assay_error_set(err, ASSAY_EINVAL,
                               "refusing world-writable plugin directory %s",
                               dir);
    if (scan(r, dir, 0) == ASSAY_ENOMEM)
        return assay_error_set(err, ASSAY_ENOMEM,
                               "out of memory while loading plugins from %s",
                               dir);
    return 0;
}

int registry_add_defaults(registry *r, assay_error *err)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    bool found = false;
    if (n > 0) {
        exe[n] = '\0';
        char dir[PATH_MAX], probe[PATH_MAX + 32];
        util_dirname(exe, dir, sizeof dir);
        /* uninstalled build tree: build/assay beside build/plugins */
        snprintf(probe, sizeof probe, "%s/build.ninja", dir);
        if (util_is_file(probe)) {
            snprintf(probe, sizeof probe, "%s/plugins", dir);
            if (util_is_dir(probe)) {
                registry_add_dir(r, probe, NULL);
                found = true;
            }
        }
    }
    if (!found && util_is_dir(ASSAY_PLUGIN_DIR))
        registry_add_dir(r, ASSAY_PLUGIN_DIR, NULL);
    const char *env = getenv("ASSAY_PLUGIN_PATH");
    if (env && *env) {
        char *copy = strdup(env);
        if (!copy)
            return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
        char *save = NULL;
        for (char *t = strtok_r(copy, ":", &save); t;
             t = strtok_r(NULL, ":", &save)) {
            assay_error e;
            if (registry_add_dir(r, t, &e)) {
                char msg[1200];
                snprintf(msg, sizeof msg, "ASSAY_PLUGIN_PATH: %s", e.text);
                add_problem(r, msg);
            }
        }
        free(copy);
    }
    return 0;
}

const plugin_entry *registry_find(const registry *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->items[i].desc.name, name) == 0)
            return &r->items[i];
    return NULL;
}

size_t registry_count(const registry *r)
{
    return r->n;
}

const plugin_entry *registry_at(const registry *r, size_t i)
{
    return i < r->n ? &r->items[i] : NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char *const *registry_names(registry *r, size_t *n)
{
    if (!r->names) {
        r->names = malloc((r->n ? r->n : 1) * sizeof *r->names);
        if (!r->names) {
            *n = 0;
            return NULL;
        }
        for (size_t i = 0; i < r->n; i++)
            r->names[i] = r->items[i].desc.name;
        qsort(r->names, r->n, sizeof *r->names, cmp_str);
        r->nnames = r->n;
    }
    *n = r->nnames;
    return r->names;
}

size_t registry_nproblems(const registry *r)
{
    return r->nproblems + (r->lost ? 1 : 0);
}

const char *registry_problem(const registry *r, size_t i)
{
    if (i < r->nproblems)
        return r->problems[i];
    return i == r->nproblems && r->lost
               ? "out of memory: problems with plugin files were not "
                 "recorded"
               : NULL;
}


int registry_hash(registry *r, const plugin_entry *e)
{
    for (size_t i = 0; i < r->nfiles; i++) {
        loaded_file *lf = r->files[i];
        if (lf->path != e->path)
            continue;
        if (lf->sha[0])
            return 0;
        return sha256_file_hex(lf->path, lf->sha);
    }
    return ASSAY_EINVAL;
}
