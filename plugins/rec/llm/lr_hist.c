/*
 * lr_hist.c - per-user histories (raw item ids and ratings in time
 * order) read from several interaction tables as one (see lr.h).
 */
#include "lr.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct hrow {
    uint32_t user; /* dense */
    uint32_t part;
    uint32_t row;
    double time;
} hrow;

static int hrow_cmp(const void *a, const void *b)
{
    const hrow *x = a, *y = b;
    if (x->user != y->user)
        return x->user < y->user ? -1 : 1;
    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    if (x->part != y->part)
        return x->part < y->part ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

void lr_hist_free(lr_hist *h)
{
    rc_ids_free(&h->users);
    free(h->ptr);
    free(h->item);
    free(h->rating);
    h->ptr = NULL;
    h->item = NULL;
    h->rating = NULL;
}

int lr_hist_build(lr_hist *h, const rc_inter *parts, size_t nparts,
                  assay_error *err)
{
    const int64_t *cols[8] = {0};
    size_t lens[8] = {0}, total = 0;
    bool timed = true;
    int rc;
    memset(h, 0, sizeof *h);
    if (nparts > 8)
        return assay_error_set(err, ASSAY_EINTERNAL, "too many parts");
    for (size_t p = 0; p < nparts; p++) {
        cols[p] = parts[p].user;
        lens[p] = parts[p].n;
        total += parts[p].n;
        timed &= parts[p].time != NULL;
    }
    if ((rc = rc_ids_build(&h->users, cols, lens, nparts, err)))
        return rc;
    hrow *rows = malloc((total ? total : 1) * sizeof *rows);
    h->ptr = calloc(h->users.n + 1, sizeof *h->ptr);
    h->item = malloc((total ? total : 1) * sizeof *h->item);
    h->rating = malloc((total ? total : 1) * sizeof *h->rating);
    if (!rows || !h->ptr || !h->item || !h->rating) {
        free(rows);
        lr_hist_free(h);
        return assay_error_set(err, ASSAY_ENOMEM, "out of memory");
    }
    size_t at = 0;
    for (size_t p = 0; p < nparts; p++)
        for (size_t r = 0; r < parts[p].n; r++) {
            double t = timed ? assay_col_num(parts[p].time, r) : 0.0;
            rows[at++] =
                (hrow){(uint32_t)rc_ids_find(&h->users, parts[p].user[r]),
                       (uint32_t)p, (uint32_t)r, isnan(t) ? 0.0 : t};
        }
    qsort(rows, total, sizeof *rows, hrow_cmp);
    for (size_t i = 0; i < total; i++) {
        const rc_inter *pt = &parts[rows[i].part];
        h->ptr[rows[i].user + 1]++;
        h->item[i] = pt->item[rows[i].row];
        h->rating[i] =
            pt->rating ? assay_col_num(pt->rating, rows[i].row) : NAN;
    }
    for (size_t u = 0; u < h->users.n; u++)
        h->ptr[u + 1] += h->ptr[u];
    free(rows);
    return ASSAY_OK;
}

size_t lr_hist_get(const lr_hist *h, int64_t user, const int64_t **items,
                   const double **ratings)
{
    int64_t u = rc_ids_find(&h->users, user);
    *items = NULL;
    if (ratings)
        *ratings = NULL;
    if (u < 0)
        return 0;
    *items = h->item + h->ptr[u];
    if (ratings)
        *ratings = h->rating + h->ptr[u];
    return h->ptr[u + 1] - h->ptr[u];
}

int lr_hist_inputs(const assay_host *h, assay_io *io, rc_inter *parts,
                   size_t *n, assay_error *err)
{
    int rc;
    *n = 0;
    if ((rc = rc_inter_view(h->in_table(io, "train"), "train", false, &parts[0],
                            err)))
        return rc;
    *n = 1;
    const assay_table *v = h->in_table(io, "valid");
    if (v) {
        if ((rc = rc_inter_view(v, "valid", false, &parts[1], err)))
            return rc;
        *n = 2;
    }
    return ASSAY_OK;
}
