"""Vectorised numpy NDCG@10 / HR@10 for the metrics-rank benchmark.

Reads the score matrix (users x candidates, float64) and the positive's
column per user (int64) written by bench_rank, ranks every row with
argsort / take_along_axis (and, as a second, sort-free variant, counts
the candidates above the positive), and prints one JSON line with the
means, the best compute time of the repeats (loading excluded) and the
peak RSS.
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
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"ndcg@10": ndcg, "hr@10": hr, "seconds": best,
                      "count_ndcg@10": ndcg_c, "count_seconds": best_c,
                      "peak_rss_mb": rss_mb, "numpy": np.__version__}))


if __name__ == "__main__":
    main()
