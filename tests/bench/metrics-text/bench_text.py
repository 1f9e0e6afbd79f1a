#!/usr/bin/env python3
"""Text metric benchmark: corpus BLEU and ROUGE-L on N synthetic sentence
pairs (10-30 words, deterministic), ours against NLTK's corpus_bleu on the
same pairs in the same run.

One command (after building with meson into ./build):

    python3 tests/bench/metrics-text/bench_text.py --build build --pairs 1000000

or `meson test -C build --benchmark --suite metrics-text`.  It runs the C
benchmark (bench-metrics-text: our BLEU and ROUGE-L through the C
functions and through the real plugins, printing throughput and peak
RSS), then NLTK's nltk.translate.bleu_score.corpus_bleu (Debian
python3-nltk) on the pairs the C program wrote, and prints the speed
ratio.  NLTK scores whitespace-split tokens and we score 13a-tokenized
ones, so the two BLEU values differ slightly; the work is the same kind.
Our time includes tokenization; NLTK's time covers corpus_bleu only.
"""
import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time


def ensure_nltk():
    """Re-run under the system Python when this one has no NLTK."""
    try:
        import nltk  # noqa: F401
        return
    except ImportError:
        pass
    system = "/usr/bin/python3"
    if os.path.exists(system) and os.path.realpath(sys.executable) != \
            os.path.realpath(system) and not os.environ.get("BENCH_REEXEC"):
        os.environ["BENCH_REEXEC"] = "1"
        os.execv(system, [system] + sys.argv)
    sys.exit("bench_text.py: NLTK is not installed "
             "(apt-get install python3-nltk)")


def find(build, rel):
    path = os.path.join(build, rel)
    if not os.path.exists(path):
        sys.exit(f"bench_text.py: {path} not found; build first "
                 f"(meson setup {build} && ninja -C {build})")
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pairs", type=int, default=1000000)
    ap.add_argument("--build", default="build",
                    help="meson build directory")
    ap.add_argument("--bench", help="bench-metrics-text executable")
    ap.add_argument("--bleu-plugin", help="metric-bleu.so")
    ap.add_argument("--rouge-plugin", help="metric-rouge.so")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--skip-peer", action="store_true",
                    help="do not run NLTK")
    a = ap.parse_args()
    if not a.skip_peer:
        ensure_nltk()
    bench = a.bench or find(a.build,
                            "tests/bench/metrics-text/bench-metrics-text")
    bleu_so = a.bleu_plugin or find(a.build,
                                    "plugins/metric/bleu/metric-bleu.so")
    rouge_so = a.rouge_plugin or find(a.build,
                                      "plugins/metric/rouge/metric-rouge.so")

    load0 = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        pairs = os.path.join(tmp, "pairs.tsv")
        cmd = [bench, "--pairs", str(a.pairs), "--threads", str(a.threads),
               "--write", pairs, "--bleu-plugin", bleu_so,
               "--rouge-plugin", rouge_so]
        out = subprocess.run(cmd, check=True, capture_output=True,
                             text=True).stdout
        res = {}
        for line in out.splitlines():
            if line.startswith("RESULT "):
                k, v = line[7:].split("=", 1)
                res[k] = float(v)
            else:
                print(line)
        sys.stdout.flush()
        if a.skip_peer:
            return

        from nltk.translate.bleu_score import corpus_bleu
        hyps, refs = [], []
        with open(pairs, encoding="utf-8") as f:
            for line in f:
                h, r = line.rstrip("\n").split("\t")
                hyps.append(h.split())
                refs.append([r.split()])
        t0 = time.perf_counter()
        c0 = time.process_time()
        score = corpus_bleu(refs, hyps)
        dt = time.perf_counter() - t0
        dc = time.process_time() - c0
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        n = a.pairs
        print(f"{'NLTK corpus_bleu (peer)':30s} {dt:8.3f} s  "
              f"{n / dt:10.0f} pairs/s  BLEU {100 * score:.4f}  "
              f"peak RSS {rss:.0f} MB  (CPU {dc:.3f} s)")
        ours = res.get("bleu_seconds")
        if ours:
            print(f"speed ratio, corpus BLEU (C functions): "
                  f"{dt / ours:.1f}x faster than NLTK "
                  f"(peak RSS {res.get('bleu_rss_mb', 0):.0f} MB vs "
                  f"{rss:.0f} MB)")
        cpu = res.get("bleu_cpu_seconds")
        if cpu:
            print(f"CPU-time ratio, corpus BLEU: {dc / cpu:.1f}x less CPU "
                  f"than NLTK (ours summed over {a.threads} threads)")
        print(f"load average: {load0:.1f} at start, "
              f"{os.getloadavg()[0]:.1f} at end, on {os.cpu_count()} "
              f"cores (wall-clock ratios shrink on a busy machine)")
        plug = res.get("bleu_plugin_seconds")
        if plug:
            print(f"speed ratio, corpus BLEU (plugin via host): "
                  f"{dt / plug:.1f}x faster than NLTK "
                  f"(whole process peak RSS {res.get('peak_rss_mb', 0):.0f}"
                  f" MB)")


if __name__ == "__main__":
    main()
