#!/usr/bin/env python3
"""Host overhead: load 50 plugin files, validate and run a 500-node graph of
trivial nodes, and print the host's overhead per node and in total, and the
peak RSS of the assay process.

usage: host_overhead.py ASSAY_BINARY PLUGIN_DIR [--nodes 500] [--repeat 5]
(meson: `meson test -C build --benchmark host-overhead -v`)
"""
import argparse, os, random, resource, statistics, subprocess, sys, tempfile, time

ap = argparse.ArgumentParser()
ap.add_argument("assay")
ap.add_argument("plugin_dir")
ap.add_argument("--nodes", type=int, default=500)
ap.add_argument("--repeat", type=int, default=5)
a = ap.parse_args()

rng = random.Random(7)
tmp = tempfile.mkdtemp(prefix="assay-bench-")
yaml = os.path.join(tmp, "g.yaml")
with open(yaml, "w") as f:
    f.write("experiment: overhead\nnodes:\n")
    for i in range(a.nodes):
        deps = sorted(set(rng.sample(range(i), min(i, 2)))) if i else []
        ins = ", ".join(f"n{d}.y" for d in deps)
        inputs = f", inputs: {{x: [{ins}]}}" if deps else ""
        f.write(f"  n{i}: {{plugin: bench.noop{i % 50}{inputs}}}\n")

env = dict(os.environ, ASSAY_PLUGIN_PATH=a.plugin_dir, CI="true")


def timed(args):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(args, env=env, cwd=tmp, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(args)}\n{p.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, after.ru_maxrss


def best(args):
    runs = [timed(args) for _ in range(a.repeat)]
    return min(r[0] for r in runs), statistics.median(r[1] for r in runs), max(r[2] for r in runs)


noop_wall, _, _ = best([a.assay, "--version"])
val_wall, _, _ = best([a.assay, "validate", "g.yaml"])
fresh = best([a.assay, "run", "g.yaml", "-q", "--fresh", "--runs-dir", "runs",
              "--cache-dir", "cache"])
cached = best([a.assay, "run", "g.yaml", "-q", "--runs-dir", "runs",
               "--cache-dir", "cache"])

n = a.nodes
print(f"graph: {n} trivial nodes over 50 plugin files, {a.repeat} repeats (best wall)")
print(f"process start + exit        {noop_wall * 1e3:8.1f} ms")
print(f"load 50 plugins + validate  {val_wall * 1e3:8.1f} ms")
for name, (wall, cpu, rss) in (("run (every node computed)", fresh),
                               ("run (every node cached)", cached)):
    over = wall - noop_wall
    print(f"{name:27s} {wall * 1e3:8.1f} ms wall, {cpu * 1e3:7.1f} ms cpu, "
          f"{over / n * 1e3:6.3f} ms/node host overhead, peak RSS {rss / 1024:6.1f} MiB")
print(f"target: < 0.2 ms per node and < 100 ms for the whole {n}-node graph")
