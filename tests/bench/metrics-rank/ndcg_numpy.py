"""Vectorised numpy NDCG@10 / HR@10 for the metrics-rank benchmark.

Reads what bench_rank wrote and computes the means three ways:
  - long form: from the same inputs the C evaluator gets, the run as
    (user, item, score) columns and the qrels as (user, item) columns
    (the like-for-like peer);
  - argsort: from the score matrix (users x candidates) and the
    positive's column per user, ranking every row;
  - count: from the same matrix, counting the candidates above the
    positive (sort-free; it is handed the matrix layout and the
    positive's column, which the C evaluator has to find itself).
Prints one JSON line with the means, the best compute time of the
repeats for each (loading excluded) and the peak RSS.
"""
import json
import resource
import sys
import time

import numpy as np


def ndcg_hr(scores, pos, k):
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    rel = (np.arange(scores.shape[1])[None, :] == pos[:, None])
    rel_top = np.take_along_axis(rel, order, axis=1).astype(np.float64)
    disc = 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))
    ndcg = (rel_top * disc[None, :]).sum(axis=1)  # ideal DCG is 1
    hr = rel_top.any(axis=1).astype(np.float64)
    return float(ndcg.mean()), float(hr.mean())


def ndcg_hr_count(scores, pos, k):
    """Leave-one-out shortcut: rank = 1 + candidates scoring above the
    positive (no sort; only valid for a single relevant item)."""
    sp = np.take_along_axis(scores, pos[:, None], axis=1)
    rank = (scores > sp).sum(axis=1) + 1
    hit = rank <= k
    ndcg = np.where(hit, 1.0 / np.log2(rank + 1.0), 0.0)
    return float(ndcg.mean()), float(hit.mean())


def ndcg_hr_long(run, qrels, k):
    """The same inputs as the C evaluator: the run as (user, item, score)
    columns and the qrels as (user, item) columns.  Vectorised for the
    layout the benchmark has (rows grouped by user, every user with the
    same number of candidates, users in qrels order), checked first as
    the C fast path checks it; rank = 1 + candidates scoring above the
    positive."""
    users, items, scores = run
    qu, qi = qrels
    nq = len(qu)
    c = len(users) // nq
    if c * nq != len(users):
        raise ValueError("users do not all have the same number of rows")
    u2 = users.reshape(nq, c)
    if not (u2 == qu[:, None]).all():
        raise ValueError("run rows are not grouped in qrels order")
    is_pos = items.reshape(nq, c) == qi[:, None]
    found = is_pos.any(axis=1)
    col = is_pos.argmax(axis=1)  # first match, as the C code takes
    s2 = scores.reshape(nq, c)
    sp = np.take_along_axis(s2, col[:, None], axis=1)
    rank = (s2 > sp).sum(axis=1) + 1
    hit = found & (rank <= k)
    ndcg = np.where(hit, 1.0 / np.log2(rank + 1.0), 0.0)
    return float(ndcg.mean()), float(hit.mean())


def best_of(fn, scores, pos, repeats):
    best, out = None, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn(scores, pos, 10)
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
    return best, out


def main():
    folder, users, cands, repeats = (sys.argv[1], int(sys.argv[2]),
                                     int(sys.argv[3]), int(sys.argv[4]))
    scores = np.fromfile(folder + "/scores.f64", dtype=np.float64)
    scores = scores.reshape(users, cands)
    pos = np.fromfile(folder + "/pos.i64", dtype=np.int64)
    best, (ndcg, hr) = best_of(ndcg_hr, scores, pos, repeats)
    best_c, (ndcg_c, hr_c) = best_of(ndcg_hr_count, scores, pos, repeats)
    run = (np.fromfile(folder + "/users.i64", dtype=np.int64),
           np.fromfile(folder + "/items.i64", dtype=np.int64),
           scores.reshape(-1))
    qrels = (np.fromfile(folder + "/qusers.i64", dtype=np.int64),
             np.fromfile(folder + "/qitems.i64", dtype=np.int64))
    best_l, (ndcg_l, hr_l) = best_of(ndcg_hr_long, run, qrels, repeats)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"ndcg@10": ndcg, "hr@10": hr, "seconds": best,
                      "count_ndcg@10": ndcg_c, "count_seconds": best_c,
                      "long_ndcg@10": ndcg_l, "long_hr@10": hr_l,
                      "long_seconds": best_l,
                      "peak_rss_mb": rss_mb, "numpy": np.__version__}))


if __name__ == "__main__":
    main()
