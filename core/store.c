#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <limits.h>
#include <sqlite3.h>

#include "graph.h"
#include "util.h"

int store_write_file(const char *path, const void *data, size_t len,
                     bool durable, assay_error *err)
{
    if (durable)
        return util_write_atomic(path, data, len, err);
    char tmp[PATH_MAX];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof tmp)
        return assay_error_set(err, ASSAY_EINVAL, "path too long");
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return assay_error_set(err, ASSAY_EIO, "%s: %s", tmp,
                               strerror(errno));
    bool bad = fwrite(data, 1, len, f) != len;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        unlink(tmp);
        return assay_error_set(err, ASSAY_EIO, "%s: cannot write", path);
    }
    return 0;
}

static assay_type type_from_name(const char *s)
{
    if (!s)
        return 0;
    if (!strcmp(s, "records"))
        return ASSAY_T_RECORDS;
    if (!strcmp(s, "table"))
        return ASSAY_T_TABLE;
    if (!strcmp(s, "json"))
        return ASSAY_T_JSON;
    return 0;
}

int store_load_outputs(const char *dir, const char *record, const char *key,
                       assay_io *io)
{
    char path[PATH_MAX];
    if (util_path_join(path, sizeof path, dir, record))
        return ASSAY_EINVAL;
    json_t *rec = json_load_file(path, 0, NULL);
    if (!rec)
        return ASSAY_EIO;
    int rc = 0;
    const char *st = json_string_value(json_object_get(rec, "status"));
    const char *k = json_string_value(json_object_get(rec, "key"));
    json_t *outs = json_object_get(rec, "outputs");
    if ((st && strcmp(st, "done") != 0) || !json_is_object(outs) ||
        (key && (!k || strcmp(k, key) != 0)))
        rc = ASSAY_EINVAL;
    for (size_t i = 0; !rc && i < io->nout; i++) {
        json_t *e = json_object_get(outs, io->p->outputs[i].name);
        const char *file = json_string_value(json_object_get(e, "file"));
        assay_type t = type_from_name(
            json_string_value(json_object_get(e, "type")));
        const char *sha = json_string_value(json_object_get(e, "sha256"));
        char fp[PATH_MAX];
        if (!file || !t || strchr(file, '/') ||
            util_path_join(fp, sizeof fp, dir, file)) {
            rc = ASSAY_EINVAL;
            break;
        }
        assay_error err;
        if ((rc = value_load(fp, t, &io->out[i], &err)))
            break;
        if (sha && strcmp(value_hash(io->out[i]), sha) != 0)
            rc = ASSAY_EDATA; /* the file changed since: recompute */
    }
    if (rc)
        for (size_t i = 0; i < io->nout; i++) {
            value_unref(io->out[i]);
            io->out[i] = NULL;
        }
    json_decref(rec);
    return rc;
}

static int cache_path(const char *cache_dir, const char *key, char *out,
                      size_t n)
{
    int w = snprintf(out, n, "%s/nodes/%.2s/%s", cache_dir, key, key);
    return (w < 0 || (size_t)w >= n) ? ASSAY_EINVAL : 0;
}

/* Hard link, or copy when linking is impossible (other filesystem). */
static int link_or_copy(const char *from, const char *to)
{
    unlink(to);
    if (link(from, to) == 0)
        return 0;
    char *data;
    size_t len;
    assay_error err;
    if (util_read_file(from, &data, &len, &err))
        return ASSAY_EIO;
    int rc = store_write_file(to, data, len, false, &err);
    free(data);
    return rc;
}

static int link_outputs(const char *from_dir, const char *to_dir,
                        const assay_io *io)
{
    for (size_t i = 0; i < io->nout; i++) {
        char name[300], a[PATH_MAX], b[PATH_MAX];
        snprintf(name, sizeof name, "%s.%s", io->p->outputs[i].name,
                 value_ext(value_type(io->out[i])));
        if (util_path_join(a, sizeof a, from_dir, name) ||
            util_path_join(b, sizeof b, to_dir, name) || link_or_copy(a, b))
            return ASSAY_EIO;
    }
    return 0;
}

int store_cache_get(const char *cache_dir, const char *key,
                    const char *node_dir, assay_io *io)
{
    char dir[PATH_MAX];
    if (cache_path(cache_dir, key, dir, sizeof dir) || !util_is_dir(dir))
        return ASSAY_EINVAL;
    int rc = store_load_outputs(dir, "meta.json", key, io);
    if (rc)
        return rc;
    if (link_outputs(dir, node_dir, io)) {
        for (size_t i = 0; i < io->nout; i++) {
            value_unref(io->out[i]);
            io->out[i] = NULL;
        }
        return ASSAY_EIO;
    }
    return 0;
}

int store_cache_put(const char *cache_dir, const char *key,
                    const char *node_dir, const assay_io *io)
{
    char dir[PATH_MAX], tmp[PATH_MAX + 64], parent[PATH_MAX];
    assay_error err;
    if (cache_path(cache_dir, key, dir, sizeof dir))
        return ASSAY_EINVAL;
    if (util_is_dir(dir))
        return 0;
    util_dirname(dir, parent, sizeof parent);
    if (util_mkdirs(parent, &err))
        return ASSAY_EIO;
    snprintf(tmp, sizeof tmp, "%s/.tmp-%s-%ld-%lx", parent, key,
             (long)getpid(), (unsigned long)(uintptr_t)io);
    if (mkdir(tmp, 0755) != 0)
        return ASSAY_EIO;
    int rc = link_outputs(node_dir, tmp, io);
    json_t *meta = json_object(), *outs = json_object();
    json_object_set_new(meta, "key", json_string(key));
    json_object_set_new(meta, "status", json_string("done"));
    json_object_set_new(meta, "plugin", json_string(io->p->name));
    json_object_set_new(meta, "plugin_version", json_string(io->p->version));
    for (size_t i = 0; i < io->nout; i++) {
        json_t *e = json_object();
        char name[300];
        snprintf(name, sizeof name, "%s.%s", io->p->outputs[i].name,
                 value_ext(value_type(io->out[i])));
        json_object_set_new(e, "file", json_string(name));
        json_object_set_new(
            e, "type",
            json_string(graph_type_name(value_type(io->out[i]))));
        json_object_set_new(e, "sha256",
                            json_string(value_hash(io->out[i])));
        json_object_set_new(outs, io->p->outputs[i].name, e);
    }
    json_object_set_new(meta, "outputs", outs);
    char *s = json_dumps(meta, JSON_INDENT(2));
    json_decref(meta);
    char mp[PATH_MAX + 80];
    snprintf(mp, sizeof mp, "%s/meta.json", tmp);
    if (!rc && (!s || store_write_file(mp, s, strlen(s), false, &err)))
        rc = ASSAY_EIO;
    free(s);
    if (!rc && rename(tmp, dir) != 0)
        rc = ASSAY_EIO; /* another run stored it first: fine */
    if (rc)
        util_rmtree(tmp);
    return rc;
}

static bool secret_key(const char *k)
{
    static const char *const names[] = {
        "api_key", "apikey",   "access_key", "secret",        "secret_key",
        "password", "passwd",  "token",      "access_token",  "auth_token",
        "authorization", "cookie", "private_key"};
    char low[128];
    size_t n = strlen(k);
    if (n >= sizeof low)
        n = sizeof low - 1;
    for (size_t i = 0; i < n; i++)
        low[i] = (char)((k[i] >= 'A' && k[i] <= 'Z') ? k[i] + 32 : k[i]);
    low[n] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        size_t l = strlen(names[i]);
        /* the whole key, or its last '_'/'-' separated part(s) */
        if (n >= l && strcmp(low + n - l, names[i]) == 0 &&
            (n == l || low[n - l - 1] == '_' || low[n - l - 1] == '-'))
            return true;
    }
    return false;
}

json_t *store_redact(const json_t *config)
{
    if (json_is_object(config)) {
        json_t *o = json_object();
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)config, k, v)
        {
            if (secret_key(k) && (json_is_string(v) || json_is_number(v)))
                json_object_set_new(o, k, json_string("<redacted>"));
            else if (!strcmp(k, "headers") && json_is_object(v)) {
                json_t *h = json_object();
                const char *hk;
                json_t *hv;
                json_object_foreach(v, hk, hv)
                    json_object_set_new(h, hk, json_string("<redacted>"));
                json_object_set_new(o, k, h);
            } else
                json_object_set_new(o, k, store_redact(v));
        }
        return o;
    }
    if (json_is_array(config)) {
        json_t *a = json_array();
        for (size_t i = 0; i < json_array_size(config); i++)
            json_array_append_new(a,
                                  store_redact(json_array_get(config, i)));
        return a;
    }
    return json_deep_copy(config);
}

/* ---- cache folding for cluster runs ------------------------------------ */

static int sql_exec(sqlite3 *db, const char *sql, assay_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        assay_error_set(err, ASSAY_EIO, "LLM cache: %s",
                        msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return ASSAY_EIO;
    }
    return 0;
}

static int merge_llm(const char *dst_dir, const char *src_dir,
                     assay_error *err)
{
    char src[PATH_MAX], dst[PATH_MAX];
    if (util_path_join(src, sizeof src, src_dir, "llm.sqlite") ||
        util_path_join(dst, sizeof dst, dst_dir, "llm.sqlite"))
        return assay_error_set(err, ASSAY_EINVAL, "cache path too long");
    if (!util_is_file(src))
        return 0;
    sqlite3 *db = NULL;
    if (sqlite3_open(dst, &db) != SQLITE_OK) {
        assay_error_set(err, ASSAY_EIO, "%s: %s", dst,
                        db ? sqlite3_errmsg(db) : "cannot open");
        sqlite3_close(db);
        return ASSAY_EIO;
    }
    sqlite3_busy_timeout(db, 30000);
    int rc = 0;
    sqlite3_stmt *st = NULL;
    char *sql = sqlite3_mprintf("ATTACH DATABASE %Q AS shard", src);
    rc = sql ? sql_exec(db, sql, err) : ASSAY_ENOMEM;
    sqlite3_free(sql);
    /* create the table from the shard's own definition when missing */
    if (!rc && sqlite3_prepare_v2(db,
                                  "SELECT sql FROM shard.sqlite_master WHERE "
                                  "type='table' AND name='llm_cache'",
                                  -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        const char *create = (const char *)sqlite3_column_text(st, 0);
        char *q = sqlite3_mprintf("%s", create);
        sqlite3_finalize(st);
        st = NULL;
        /* "CREATE TABLE llm_cache" -> "CREATE TABLE IF NOT EXISTS ..." */
        char *fixed = q ? sqlite3_mprintf("CREATE TABLE IF NOT EXISTS %s",
                                          q + strlen("CREATE TABLE "))
                        : NULL;
        rc = fixed ? sql_exec(db, fixed, err) : ASSAY_ENOMEM;
        sqlite3_free(fixed);
        sqlite3_free(q);
        if (!rc)
            rc = sql_exec(db,
                          "INSERT OR IGNORE INTO main.llm_cache SELECT * "
                          "FROM shard.llm_cache",
                          err);
    }
    sqlite3_finalize(st);
    sqlite3_exec(db, "DETACH DATABASE shard", NULL, NULL, NULL);
    sqlite3_close(db);
    return rc;
}

static int copy_tree(const char *src, const char *dst)
{
    DIR *d = opendir(src);
    if (!d)
        return ASSAY_EIO;
    assay_error err;
    if (util_mkdirs(dst, &err)) {
        closedir(d);
        return ASSAY_EIO;
    }
    int rc = 0;
    struct dirent *e;
    while (!rc && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char a[PATH_MAX], b[PATH_MAX];
        if (util_path_join(a, sizeof a, src, e->d_name) ||
            util_path_join(b, sizeof b, dst, e->d_name))
            rc = ASSAY_EINVAL;
        else if (util_is_dir(a))
            rc = copy_tree(a, b);
        else
            rc = link_or_copy(a, b);
    }
    closedir(d);
    return rc;
}

int store_merge_caches(const char *dst_dir, const char *src_dir,
                       assay_error *err)
{
    int rc = util_mkdirs(dst_dir, err);
    if (rc)
        return rc;
    if ((rc = merge_llm(dst_dir, src_dir, err)))
        return rc;
    char sn[PATH_MAX], dn[PATH_MAX];
    if (util_path_join(sn, sizeof sn, src_dir, "nodes") ||
        util_path_join(dn, sizeof dn, dst_dir, "nodes"))
        return assay_error_set(err, ASSAY_EINVAL, "cache path too long");
    DIR *d = opendir(sn);
    if (!d)
        return 0;
    struct dirent *e;
    while (!rc && (e = readdir(d))) { /* nodes/<xx>/<key> */
        if (e->d_name[0] == '.')
            continue;
        char s2[PATH_MAX], d2[PATH_MAX];
        if (util_path_join(s2, sizeof s2, sn, e->d_name) ||
            util_path_join(d2, sizeof d2, dn, e->d_name))
            continue;
        DIR *d3 = opendir(s2);
        if (!d3)
            continue;
        struct dirent *k;
        while (!rc && (k = readdir(d3))) {
            if (k->d_name[0] == '.')
                continue;
            char a[PATH_MAX], b[PATH_MAX], tmp[PATH_MAX + 64];
            if (util_path_join(a, sizeof a, s2, k->d_name) ||
                util_path_join(b, sizeof b, d2, k->d_name) || util_is_dir(b))
                continue;
            snprintf(tmp, sizeof tmp, "%s.tmp-%ld", b, (long)getpid());
            if (copy_tree(a, tmp) == 0 && rename(tmp, b) == 0)
                continue;
            util_rmtree(tmp);
        }
        closedir(d3);
    }
    closedir(d);
    return rc;
}

int store_seed_llm_cache(const char *dst_dir, const char *src_dir,
                         assay_error *err)
{
    char src[PATH_MAX], dst[PATH_MAX];
    if (util_path_join(src, sizeof src, src_dir, "llm.sqlite") ||
        util_path_join(dst, sizeof dst, dst_dir, "llm.sqlite"))
        return assay_error_set(err, ASSAY_EINVAL, "cache path too long");
    if (!util_is_file(src) || util_is_file(dst))
        return 0;
    int rc = util_mkdirs(dst_dir, err);
    if (rc)
        return rc;
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(src, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return assay_error_set(err, ASSAY_EIO, "%s: cannot open", src);
    }
    char *sql = sqlite3_mprintf("VACUUM INTO %Q", dst);
    rc = sql ? sql_exec(db, sql, err) : ASSAY_ENOMEM;
    sqlite3_free(sql);
    sqlite3_close(db);
    return rc;
}
