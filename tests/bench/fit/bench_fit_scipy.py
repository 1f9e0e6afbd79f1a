"""The scipy side of tests/bench/fit: the Chinchilla Approach-3 objective
(Huber, delta 1e-3, on log loss) minimised with scipy.optimize.minimize
(L-BFGS-B, default tolerances, analytic gradients) from every point of the
4,500-point grid; prints wall time and the best objective.

usage: bench_fit_scipy.py DATA.csv   (rows: N D L)
"""
import itertools
import sys
import time

import numpy as np
from scipy.optimize import minimize


def main():
    x = np.loadtxt(sys.argv[1])
    ln_n, ln_d, ln_l = np.log(x[:, 0]), np.log(x[:, 1]), np.log(x[:, 2])
    delta = 1e-3

    def objective(p):
        a, b, e, alpha, beta = p
        t1 = np.exp(a - alpha * ln_n)
        t2 = np.exp(b - beta * ln_d)
        t3 = np.exp(e)
        s = t1 + t2 + t3
        r = np.log(s) - ln_l
        ar = np.abs(r)
        inside = ar <= delta
        f = np.where(inside, 0.5 * r * r, delta * (ar - 0.5 * delta)).sum()
        w = np.where(inside, r, delta * np.sign(r)) / s
        g = np.array([np.sum(w * t1), np.sum(w * t2), np.sum(w * t3),
                      -np.sum(w * t1 * ln_n), -np.sum(w * t2 * ln_d)])
        return f, g

    ab = [0, 5, 10, 15, 20, 25]
    e = [-1, -0.5, 0, 0.5, 1]
    ex = [0, 0.5, 1, 1.5, 2]
    grid = list(itertools.product(ab, ab, e, ex, ex))
    best = None
    t0, c0 = time.perf_counter(), time.process_time()
    with np.errstate(all="ignore"):
        for x0 in grid:
            r = minimize(objective, np.array(x0, float), jac=True,
                         method="L-BFGS-B")
            if r.success and (best is None or r.fun < best.fun):
                best = r
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    print("scipy_seconds %.6f cpu %.6f objective %.17g starts %d params %s"
          % (secs, cpu, best.fun, len(grid),
             " ".join("%.10g" % v for v in best.x)))


if __name__ == "__main__":
    main()
