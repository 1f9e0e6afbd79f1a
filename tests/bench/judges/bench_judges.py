#!/usr/bin/env python3
"""Judge benchmark: calls per item, host CPU per item and wall time of
vanilla, swap and CCE@16 judging on 1,000 pairs against the fake LLM
server (50 ms per answer, 64 requests in flight), each compared with its
ideal wall time = calls x latency / concurrency.  CCE's stages are
pipelined across items, so its wall time should stay within 1.3x of the
ideal; a second CCE run takes its crowd from another endpoint (generated
first, then judgments and finals pipelined).

    bench_judges.py [--items N] [--latency-ms MS] [--concurrency C]
                    [--methods vanilla,swap,cce16,cce16-crowd-ep]

Environment: ASSAY, FAKELLM (set by meson); the judge tests' helpers in
tests/judge are reused to start the fake server.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "judge"))
import judgetest as jt  # noqa: E402


def cpu_children():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def write_items(path, n):
    with open(path, "w") as f:
        for i in range(n):
            f.write(json.dumps({
                "id": "b%05d" % i, "subset": "s%d" % (i % 4),
                "input": "Question %d: explain item %d in one paragraph." % (
                    i, i),
                "output_1": "Answer one to question %d. " % i * 6,
                "output_2": "Answer two to question %d, longer. " % i * 8,
                "label": 1 + i % 2}) + "\n")


GRAPH = """experiment: bench-judges
seed: 3
llm:
  judge: {provider: openai, base_url: "%(url)s", model: judge-model,
          api_key: x, max_concurrency: %(conc)d, retries: 0}
  crowd: {provider: openai, base_url: "%(url)s", model: crowd-model,
          api_key: x, max_concurrency: %(conc)d, retries: 0}
nodes:
  pairs: {plugin: source.jsonl, with: {path: items.jsonl}}
  judge: {plugin: %(plugin)s, inputs: {items: pairs.records},
          with: %(opts)s}
"""

METHODS = [
    # name, plugin, options, calls per item
    ("vanilla", "judge.pairwise", "{llm: judge}", 1),
    ("swap", "judge.pairwise", "{llm: judge, swap: true}", 2),
    ("cce16", "judge.cce",
     "{llm: judge, crowd_llm: [judge], crowd_samples: 4, budget: 16}",
     4 + 16 + 1),
    ("cce16-crowd-ep", "judge.cce",
     "{llm: judge, crowd_llm: [crowd], crowd_samples: 4, budget: 16}",
     4 + 16 + 1),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=1000)
    ap.add_argument("--latency-ms", type=float, default=50)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--methods", default=",".join(m[0] for m in METHODS))
    a = ap.parse_args()
    chosen = a.methods.split(",")
    jt.need_env()
    fake_cfg = {
        "latency": {"dist": "fixed", "ms": a.latency_ms},
        "rules": [
            {"model": "crowd-model",
             "answer": "Crowd answer {{hash}}: a plain paragraph."},
            {"user_regex": "Related Judgments",
             "answer": "Weighing the related judgments, A is better.\n[[A]]"},
            {"user_regex": "Assistant A's Answer\\]\nCrowd answer",
             "answer": "Assistant A covers more ground than Assistant B.\n"
                       "Final verdict: [[A]]"},
        ],
        "default_answer": "Assistant B is more accurate than Assistant A "
                          "on the main point.\n[[B]]",
    }
    results = []
    with jt.Fake(fake_cfg) as fake, tempfile.TemporaryDirectory() as work:
        write_items(os.path.join(work, "items.jsonl"), a.items)
        for name, plugin, opts, per_item in METHODS:
            # cce16 takes its crowd from the judge's own endpoint: one
            # stream, every stage pipelined
            if name not in chosen:
                continue
            graph = os.path.join(work, name + ".yaml")
            with open(graph, "w") as f:
                f.write(GRAPH % {"url": fake.url, "conc": a.concurrency,
                                 "plugin": plugin, "opts": opts})
            fake.reset()
            cpu0, t0 = cpu_children(), time.monotonic()
            p = subprocess.run([jt.ASSAY, "run", graph, "--runs-dir",
                                os.path.join(work, "runs"), "--cache-dir",
                                os.path.join(work, "cache"), "--cache",
                                "off", "--fresh", "-q"],
                               stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
            wall, cpu = time.monotonic() - t0, cpu_children() - cpu0
            if p.returncode:
                print(p.stdout)
                sys.exit("%s: assay failed" % name)
            st = fake.stats()
            calls = st["requests"]
            ideal = calls * a.latency_ms / 1000.0 / a.concurrency
            results.append((name, calls, calls / a.items, cpu, wall, ideal,
                            st.get("inflight_max")))
            if calls != per_item * a.items:
                sys.exit("%s: %d calls, expected %d" % (name, calls,
                                                        per_item * a.items))
    print("judges benchmark: %d pairs, %g ms per answer, %d in flight; "
          "%d CPUs, load average %.1f"
          % (a.items, a.latency_ms, a.concurrency, os.cpu_count(),
             os.getloadavg()[0]))
    print("%-15s %8s %9s %12s %9s %9s %7s %9s" % (
        "method", "calls", "calls/it", "cpu ms/item", "wall s",
        "ideal s", "ratio", "inflight"))
    for name, calls, per, cpu, wall, ideal, inflight in results:
        print("%-15s %8d %9.1f %12.3f %9.2f %9.2f %7.3f %9s" % (
            name, calls, per, 1000 * cpu / a.items, wall, ideal,
            wall / ideal, inflight))
    base = results[0]
    for name, calls, per, cpu, wall, ideal, _ in results[1:]:
        if base[0] != "vanilla":
            break
        print("%s vs vanilla: %.1fx the calls, %.2fx the wall time, %.2fx "
              "the host CPU" % (name, calls / base[1], wall / base[4],
                                cpu / base[3] if base[3] else float("nan")))
    cce = [r for r in results if r[0] == "cce16"]
    if not cce:
        return
    cce = cce[0]
    verdict = "within" if cce[4] <= 1.3 * cce[5] else "OVER"
    print("CCE@16: %.2f s for an ideal of %.2f s (%.3fx): %s the 1.3x bound"
          % (cce[4], cce[5], cce[4] / cce[5], verdict))


if __name__ == "__main__":
    main()
