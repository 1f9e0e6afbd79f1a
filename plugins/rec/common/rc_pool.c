/*
 * rc_pool.c - a minimal fork-join thread pool: rc_pool_run hands out task
 * numbers to the workers and the calling thread until all are done.
 */
#include "rc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

struct rc_pool {
    unsigned size; /* workers including the caller */
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t start, done;
    uint64_t generation; /* bumped per rc_pool_run */
    unsigned running;    /* workers still inside the current job */
    bool quit;
    /* current job */
    rc_task_fn fn;
    void *ctx;
    size_t ntasks;
    atomic_size_t next;
    atomic_int rc;
};

typedef struct worker_arg {
    rc_pool *pool;
    unsigned id;
} worker_arg;

/* Claim and run tasks of the current job until none is left. */
static void pool_drain(rc_pool *p, unsigned worker)
{
    for (;;) {
        size_t t = atomic_fetch_add(&p->next, 1);
        if (t >= p->ntasks)
            break;
        int rc = p->fn(p->ctx, t, worker);
        if (rc != 0) {
            int zero = 0;
            atomic_compare_exchange_strong(&p->rc, &zero, rc);
        }
    }
}

static void *pool_main(void *arg)
{
    worker_arg *wa = arg;
    rc_pool *p = wa->pool;
    unsigned id = wa->id;
    uint64_t seen = 0;
    free(wa);
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (!p->quit && p->generation == seen)
            pthread_cond_wait(&p->start, &p->mu);
        if (p->quit) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        seen = p->generation;
        pthread_mutex_unlock(&p->mu);
        pool_drain(p, id);
        pthread_mutex_lock(&p->mu);
        if (--p->running == 0)
            pthread_cond_signal(&p->done);
        pthread_mutex_unlock(&p->mu);
    }
}

int rc_pool_new(unsigned nthreads, rc_pool **out, assay_error *err)
{
    rc_pool *p = calloc(1, sizeof *p);
    if (!p)
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    p->size = nthreads ? nthreads : 1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->start, NULL);
    pthread_cond_init(&p->done, NULL);
    atomic_init(&p->next, 0);
    atomic_init(&p->rc, 0);
    if (p->size > 1) {
        p->threads = calloc(p->size - 1, sizeof *p->threads);
        if (!p->threads)
            goto fail_nomem;
    }
    for (unsigned i = 1; i < p->size; i++) {
        worker_arg *wa = malloc(sizeof *wa);
        if (wa) {
            wa->pool = p;
            wa->id = i;
            if (pthread_create(&p->threads[i - 1], NULL, pool_main, wa) == 0)
                continue;
            free(wa);
        }
        /* run with the workers started so far */
        p->size = i;
        break;
    }
    *out = p;
    return ASSAY_OK;

fail_nomem:
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->start);
    pthread_mutex_destroy(&p->mu);
    free(p);
    return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
}

int rc_pool_run(rc_pool *p, size_t ntasks, rc_task_fn fn, void *ctx)
{
    if (ntasks == 0)
        return 0;
    p->fn = fn;
    p->ctx = ctx;
    p->ntasks = ntasks;
    atomic_store(&p->next, 0);
    atomic_store(&p->rc, 0);
    if (p->size > 1 && ntasks > 1) {
        pthread_mutex_lock(&p->mu);
        p->running = p->size - 1;
        p->generation++;
        pthread_cond_broadcast(&p->start);
        pthread_mutex_unlock(&p->mu);
        pool_drain(p, 0);
        pthread_mutex_lock(&p->mu);
        while (p->running > 0)
            pthread_cond_wait(&p->done, &p->mu);
        pthread_mutex_unlock(&p->mu);
    } else {
        pool_drain(p, 0);
    }
    return atomic_load(&p->rc);
}

bool rc_pool_failed(rc_pool *p)
{
    return atomic_load(&p->rc) != 0;
}

unsigned rc_pool_size(const rc_pool *p)
{
    return p->size;
}

void rc_pool_free(rc_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->quit = true;
    pthread_cond_broadcast(&p->start);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 1; i < p->size; i++)
        pthread_join(p->threads[i - 1], NULL);
    free(p->threads);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->start);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
