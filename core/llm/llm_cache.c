/*
 * core/llm/llm_cache.c - the response cache: one SQLite file in WAL mode,
 * shared by every node of a run (and by concurrent runs on the same
 * file).  One writer connection, used by the loop thread only, groups
 * the answers of one loop iteration into a transaction and commits it
 * before they are delivered, so a killed run loses nothing answered;
 * readers come from a small pool and run in the calling threads.
 *
 * Rows hold the answer and its usage, keyed by the request's hash; never
 * the prompt's secrets (no key, no headers, no URL).
 */
#include "llm_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CACHE_POOL_MAX 16

/* A reader connection with its prepared lookup. */
typedef struct cache_rd {
    sqlite3 *db;
    sqlite3_stmt *get, *getv;
} cache_rd;

struct llm_cache {
    char *path;
    sqlite3 *wdb;
    sqlite3_stmt *put, *putv;
    bool in_tx;
    pthread_mutex_t mu; /* guards the reader pool */
    cache_rd pool[CACHE_POOL_MAX];
    size_t npool;
};

static const char cache_schema[] = "CREATE TABLE IF NOT EXISTS llm_cache ("
                                   " key TEXT PRIMARY KEY,"
                                   " text TEXT NOT NULL,"
                                   " finish TEXT,"
                                   " prompt_tokens INTEGER,"
                                   " completion_tokens INTEGER,"
                                   " latency_ms REAL,"
                                   " model TEXT,"
                                   " created REAL) WITHOUT ROWID;"
                                   "CREATE TABLE IF NOT EXISTS llm_embed ("
                                   " key TEXT PRIMARY KEY,"
                                   " dim INTEGER NOT NULL,"
                                   " vec BLOB NOT NULL) WITHOUT ROWID;";

static int cache_conn(const char *path, sqlite3 **out, assay_error *err)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(
        path, &db,
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        assay_error_set(err, ASSAY_EIO, "LLM cache %s: %s", path,
                        db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return ASSAY_EIO;
    }
    sqlite3_busy_timeout(db, 10000);
    *out = db;
    return ASSAY_OK;
}

int llm_cache_open(const char *path, llm_cache **out, assay_error *err)
{
    llm_cache *c = calloc(1, sizeof *c);
    char *msg = NULL;
    int rc;
    if (!c || !(c->path = malloc(strlen(path) + 1))) {
        free(c);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    memcpy(c->path, path, strlen(path) + 1);
    pthread_mutex_init(&c->mu, NULL);
    rc = cache_conn(path, &c->wdb, err);
    if (rc)
        goto fail;
    if (sqlite3_exec(c->wdb,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                     NULL, NULL, &msg) != SQLITE_OK ||
        sqlite3_exec(c->wdb, cache_schema, NULL, NULL, &msg) != SQLITE_OK) {
        rc = assay_error_set(err, ASSAY_EIO, "LLM cache %s: %s", path,
                             msg ? msg : sqlite3_errmsg(c->wdb));
        sqlite3_free(msg);
        goto fail;
    }
    if (sqlite3_prepare_v2(c->wdb,
                           "INSERT OR REPLACE INTO llm_cache VALUES "
                           "(?,?,?,?,?,?,?,?)",
                           -1, &c->put, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(c->wdb,
                           "INSERT OR REPLACE INTO llm_embed VALUES (?,?,?)",
                           -1, &c->putv, NULL) != SQLITE_OK) {
        rc = assay_error_set(err, ASSAY_EIO, "LLM cache %s: %s", path,
                             sqlite3_errmsg(c->wdb));
        goto fail;
    }
    *out = c;
    return ASSAY_OK;
fail:
    llm_cache_close(c);
    return rc;
}

void llm_cache_close(llm_cache *c)
{
    if (!c)
        return;
    if (c->in_tx)
        llm_cache_flush(c, NULL);
    sqlite3_finalize(c->put);
    sqlite3_finalize(c->putv);
    sqlite3_close(c->wdb);
    for (size_t i = 0; i < c->npool; i++) {
        sqlite3_finalize(c->pool[i].get);
        sqlite3_finalize(c->pool[i].getv);
        sqlite3_close(c->pool[i].db);
    }
    pthread_mutex_destroy(&c->mu);
    free(c->path);
    free(c);
}

/* A reader connection from the pool, or a new one. */
static int cache_reader(llm_cache *c, cache_rd *rd, assay_error *err)
{
    pthread_mutex_lock(&c->mu);
    bool have = c->npool > 0;
    if (have)
        *rd = c->pool[--c->npool];
    pthread_mutex_unlock(&c->mu);
    if (have)
        return ASSAY_OK;
    memset(rd, 0, sizeof *rd);
    int rc = cache_conn(c->path, &rd->db, err);
    if (rc)
        return rc;
    if (sqlite3_prepare_v3(rd->db,
                           "SELECT text, finish, prompt_tokens, "
                           "completion_tokens, latency_ms FROM llm_cache "
                           "WHERE key = ?",
                           -1, SQLITE_PREPARE_PERSISTENT, &rd->get,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v3(
            rd->db, "SELECT dim, vec FROM llm_embed WHERE key = ?", -1,
            SQLITE_PREPARE_PERSISTENT, &rd->getv, NULL) != SQLITE_OK) {
        rc = assay_error_set(err, ASSAY_EIO, "LLM cache %s: %s", c->path,
                             sqlite3_errmsg(rd->db));
        sqlite3_finalize(rd->get);
        sqlite3_close(rd->db);
        return rc;
    }
    return ASSAY_OK;
}

static void cache_release(llm_cache *c, cache_rd *rd)
{
    sqlite3_reset(rd->get);
    sqlite3_clear_bindings(rd->get);
    sqlite3_reset(rd->getv);
    sqlite3_clear_bindings(rd->getv);
    pthread_mutex_lock(&c->mu);
    bool kept = c->npool < CACHE_POOL_MAX;
    if (kept)
        c->pool[c->npool++] = *rd;
    pthread_mutex_unlock(&c->mu);
    if (!kept) {
        sqlite3_finalize(rd->get);
        sqlite3_finalize(rd->getv);
        sqlite3_close(rd->db);
    }
}

int llm_cache_get(llm_cache *c, const char *key, llm_cached *out,
                  assay_error *err)
{
    cache_rd rd;
    int rc = cache_reader(c, &rd, err), found = 0;
    if (rc)
        return rc;
    sqlite3_stmt *st = rd.get;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        int tl = sqlite3_column_bytes(st, 0);
        const unsigned char *f = sqlite3_column_text(st, 1);
        memset(out, 0, sizeof *out);
        out->text = malloc((size_t)tl + 1);
        if (!out->text) {
            rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            goto out;
        }
        if (tl)
            memcpy(out->text, t, (size_t)tl);
        out->text[tl] = '\0';
        snprintf(out->finish, sizeof out->finish, "%s",
                 f ? (const char *)f : "");
        out->prompt_tokens = (uint32_t)sqlite3_column_int64(st, 2);
        out->completion_tokens = (uint32_t)sqlite3_column_int64(st, 3);
        out->latency_ms = sqlite3_column_double(st, 4);
        found = 1;
    } else if (s != SQLITE_DONE) {
        rc = assay_error_set(err, ASSAY_EIO, "LLM cache %s: %s", c->path,
                             sqlite3_errmsg(rd.db));
    }
out:
    cache_release(c, &rd);
    return rc ? rc : found;
}

/* Open the writer's transaction of this loop iteration. */
static int cache_begin(llm_cache *c, assay_error *err)
{
    if (c->in_tx)
        return ASSAY_OK;
    if (sqlite3_exec(c->wdb, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return assay_error_set(err, ASSAY_EIO, "LLM cache %s: %s", c->path,
                               sqlite3_errmsg(c->wdb));
    c->in_tx = true;
    return ASSAY_OK;
}

int llm_cache_get_vec(llm_cache *c, const char *key, double **vec, size_t *dim,
                      assay_error *err)
{
    cache_rd rd;
    int rc = cache_reader(c, &rd, err), found = 0;
    if (rc)
        return rc;
    sqlite3_bind_text(rd.getv, 1, key, -1, SQLITE_STATIC);
    int s = sqlite3_step(rd.getv);
    if (s == SQLITE_ROW) {
        sqlite3_int64 d = sqlite3_column_int64(rd.getv, 0);
        const void *b = sqlite3_column_blob(rd.getv, 1);
        int bl = sqlite3_column_bytes(rd.getv, 1);
        if (d > 0 && b && (size_t)bl == (size_t)d * sizeof(double)) {
            *vec = malloc((size_t)bl);
            if (!*vec) {
                rc = assay_error_set(err, ASSAY_ENOMEM, "out of memory");
            } else {
                memcpy(*vec, b, (size_t)bl);
                *dim = (size_t)d;
                found = 1;
            }
        }
    } else if (s != SQLITE_DONE) {
        rc = assay_error_set(err, ASSAY_EIO, "LLM cache %s: %s", c->path,
                             sqlite3_errmsg(rd.db));
    }
    cache_release(c, &rd);
    return rc ? rc : found;
}

int llm_cache_put_vec(llm_cache *c, const char *key, const double *vec,
                      size_t dim, assay_error *err)
{
    int rc = cache_begin(c, err);
    if (rc)
        return rc;
    sqlite3_stmt *st = c->putv;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)dim);
    sqlite3_bind_blob(st, 3, vec, (int)(dim * sizeof *vec), SQLITE_STATIC);
    int s = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (s != SQLITE_DONE)
        return assay_error_set(err, ASSAY_EIO, "LLM cache %s: %s", c->path,
                               sqlite3_errmsg(c->wdb));
    return ASSAY_OK;
}

int llm_cache_put(llm_cache *c, const char *key, const char *model,
                  const llm_cached *v, assay_error *err)
{
    struct timespec ts;
    int rc = cache_begin(c, err);
    if (rc)
        return rc;
    clock_gettime(CLOCK_REALTIME, &ts);
    sqlite3_stmt *st = c->put;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, v->text, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, v->finish, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, v->prompt_tokens);
    sqlite3_bind_int64(st, 5, v->completion_tokens);
    sqlite3_bind_double(st, 6, v->latency_ms);
    sqlite3_bind_text(st, 7, model, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 8, (double)ts.tv_sec + ts.tv_nsec * 1e-9);
    int s = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (s != SQLITE_DONE)
        return assay_error_set(err, ASSAY_EIO, "LLM cache %s: %s", c->path,
                               sqlite3_errmsg(c->wdb));
    return ASSAY_OK;
}

int llm_cache_flush(llm_cache *c, assay_error *err)
{
    if (!c->in_tx)
        return ASSAY_OK;
    c->in_tx = false;
    if (sqlite3_exec(c->wdb, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        int rc = assay_error_set(err, ASSAY_EIO, "LLM cache %s: %s", c->path,
                                 sqlite3_errmsg(c->wdb));
        sqlite3_exec(c->wdb, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    return ASSAY_OK;
}
