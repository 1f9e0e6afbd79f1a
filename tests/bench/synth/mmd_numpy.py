"""Peer of bench_mmd.c: weights on the simplex minimising the weighted
MMD^2 to the real sample, by accelerated projected gradient (FISTA) on the
dense Gram matrix with numpy/BLAS.  Stops at the MMD^2 the C solver
reached (argv[7]) or after 3000 steps; prints "peer WALL MMD2 STEPS"."""
import sys
import time

import numpy as np


def simplex_projection(v):
    u = np.sort(v)[::-1]
    css = np.cumsum(u)
    k = np.arange(1, len(v) + 1)
    rho = np.nonzero(u * k > css - 1.0)[0][-1]
    theta = (css[rho] - 1.0) / (rho + 1.0)
    return np.maximum(v - theta, 0.0)


def main():
    px, py = sys.argv[1], sys.argv[2]
    n, m, d = (int(a) for a in sys.argv[3:6])
    sigma, target = float(sys.argv[6]), float(sys.argv[7])
    X = np.fromfile(px).reshape(n, d)
    Y = np.fromfile(py).reshape(m, d)
    t0 = time.perf_counter()
    g = 1.0 / (2.0 * sigma * sigma)
    nx = (X * X).sum(1)
    ny = (Y * Y).sum(1)
    Kyy = np.exp(-np.maximum(ny[:, None] + ny[None, :] - 2.0 * Y @ Y.T, 0)
                 * g)
    b = np.exp(-np.maximum(ny[:, None] + nx[None, :] - 2.0 * Y @ X.T, 0)
               * g).mean(1)
    c = np.exp(-np.maximum(nx[:, None] + nx[None, :] - 2.0 * X @ X.T, 0)
               * g).mean()
    # Lipschitz constant of the gradient 2 (K w - b): twice the spectral
    # norm of K, bounded by its largest row sum (K >= 0)
    L = 2.0 * float(Kyy.sum(1).max())
    w = np.full(m, 1.0 / m)
    z, tk = w.copy(), 1.0
    f = c + w @ Kyy @ w - 2.0 * w @ b
    steps = 0
    for steps in range(1, 3001):
        grad = 2.0 * (Kyy @ z - b)
        wn = simplex_projection(z - grad / L)
        tn = (1.0 + np.sqrt(1.0 + 4.0 * tk * tk)) / 2.0
        z = wn + ((tk - 1.0) / tn) * (wn - w)
        w, tk = wn, tn
        f = c + w @ (Kyy @ w) - 2.0 * w @ b
        if f <= target:
            break
    print("peer %.3f %.8f %d" % (time.perf_counter() - t0, f, steps))


if __name__ == "__main__":
    main()
