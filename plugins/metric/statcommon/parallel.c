/*
 * parallel.c - a chunked parallel-for over pthreads.  Chunks are claimed
 * from an atomic counter, so uneven work balances itself; the first error
 * (or a cancellation) stops every worker at its next chunk.
 */
#include "statcommon.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct par_job {
    const assay_host *host;
    size_t n, grain;
    sc_task_fn fn;
    void *ctx;
    atomic_size_t next;
    atomic_int failed;
    pthread_mutex_t lock;
    int code;
    assay_error err;
} par_job;

typedef struct par_worker {
    par_job *job;
    unsigned id;
} par_worker;

static void *par_loop(void *arg)
{
    par_worker *w = arg;
    par_job *j = w->job;
    assay_error local = {0};
    for (;;) {
        if (atomic_load(&j->failed))
            break;
        size_t b = atomic_fetch_add(&j->next, j->grain);
        if (b >= j->n)
            break;
        size_t e = b + j->grain < j->n ? b + j->grain : j->n;
        int rc;
        if (j->host && j->host->cancelled(j->host))
            rc = assay_error_set(&local, ASSAY_ECANCELED, "cancelled");
        else
            rc = j->fn(j->ctx, b, e, w->id, &local);
        if (rc) {
            pthread_mutex_lock(&j->lock);
            if (!atomic_load(&j->failed)) {
                j->code = rc;
                j->err = local;
                atomic_store(&j->failed, 1);
            }
            pthread_mutex_unlock(&j->lock);
            break;
        }
    }
    return NULL;
}

int sc_parallel(const assay_host *h, unsigned nthreads, size_t n,
                size_t grain, sc_task_fn fn, void *ctx, assay_error *err)
{
    if (n == 0)
        return ASSAY_OK;
    if (grain == 0)
        grain = 1;
    if (nthreads < 1)
        nthreads = 1;
    size_t chunks = (n + grain - 1) / grain;
    if (nthreads > chunks)
        nthreads = (unsigned)chunks;
    if (nthreads > 256)
        nthreads = 256;

    par_job job;
    memset(&job, 0, sizeof job);
    job.host = h;
    job.n = n;
    job.grain = grain;
    job.fn = fn;
    job.ctx = ctx;
    atomic_init(&job.next, 0);
    atomic_init(&job.failed, 0);
    pthread_mutex_init(&job.lock, NULL);

    par_worker workers[256];
    pthread_t tids[256];
    unsigned started = 0;
    for (unsigned t = 1; t < nthreads; t++) {
        workers[t].job = &job;
        workers[t].id = t;
        if (pthread_create(&tids[t], NULL, par_loop, &workers[t]) != 0)
            break; /* fewer threads: the others take the work */
        started = t;
    }
    workers[0].job = &job;
    workers[0].id = 0;
    par_loop(&workers[0]);
    for (unsigned t = 1; t <= started; t++)
        pthread_join(tids[t], NULL);
    pthread_mutex_destroy(&job.lock);
    if (atomic_load(&job.failed)) {
        if (err)
            *err = job.err;
        return job.code;
    }
    return ASSAY_OK;
}
