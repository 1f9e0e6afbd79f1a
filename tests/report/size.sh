#!/usr/bin/env bash
# Size and speed of the report for a large run: a synthetic run directory
# with 1,000 nodes (sources, metrics, a judge-like layer) and 100,000
# per-item values.  The page must stay under 10 MB; the time to build it
# and, when Chromium is installed, the time the browser takes to load it
# are printed (no assertion on time: CI machines vary).
set -euo pipefail
: "${ASSAY:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
run="$tmp/runs/big/20260101-000000-00000000"
python3 - "$run" <<'PY'
import json, math, os, random, sys
run = sys.argv[1]
random.seed(1)
N = 1000
ITEM_NODES, ITEMS = 10, 10000          # 10 x 10,000 = 100,000 values
names = ["src%d" % i for i in range(10)] + \
        ["m%03d" % i for i in range(N - 10)]
cfg, status, plugins = {}, {}, {
    "source.jsonl": {"version": "1.0.0", "kind": "source"},
    "metric.classification": {"version": "1.0.0", "kind": "metric"},
    "judge.pairwise": {"version": "1.0.0", "kind": "judge"}}
for i, n in enumerate(names):
    node_dir = os.path.join(run, "nodes", n)
    os.makedirs(node_dir)
    if n.startswith("src"):
        cfg[n] = {"plugin": "source.jsonl", "with": {"path": n + ".jsonl"}}
        outs = {"records": {"file": "records.jsonl", "type": "records",
                            "count": 3}}
        with open(os.path.join(node_dir, "records.jsonl"), "w") as f:
            for k in range(3):
                f.write(json.dumps({"id": k, "text": "row %d" % k}) + "\n")
        plugin = "source.jsonl"
    else:
        j = i - 10
        plugin = "judge.pairwise" if j < ITEM_NODES else \
                 "metric.classification"
        up = "src%d.records" % (j % 10) if j < 100 else \
             "m%03d.summary" % (j % 100)
        cfg[n] = {"plugin": plugin, "inputs": {"items": up},
                  "with": {"bootstrap": 100}}
        acc = 0.6 + 0.3 * random.random()
        summary = {"n": 500, "accuracy": acc,
                   "accuracy_ci": [acc - 0.04, acc + 0.04],
                   "auc": 0.7 + 0.2 * random.random(),
                   "kappa": 0.5 * random.random(), "bootstrap": 100}
        outs = {"summary": {"file": "summary.json", "type": "json",
                            "count": 1, "chart": "bar"}}
        with open(os.path.join(node_dir, "summary.json"), "w") as f:
            json.dump(summary, f)
        if j < ITEM_NODES:
            outs["items"] = {"file": "items.jsonl", "type": "records",
                             "count": ITEMS, "chart": "hist"}
            with open(os.path.join(node_dir, "items.jsonl"), "w") as f:
                for k in range(ITEMS):
                    f.write(json.dumps({"id": "p%d" % k,
                                        "score": random.random(),
                                        "position": 1 + k % 10}) + "\n")
    status[n] = {"plugin": plugin, "status": "done",
                 "source": "run" if i % 3 else "cache",
                 "seconds": random.random()}
    with open(os.path.join(node_dir, "node.json"), "w") as f:
        json.dump({"node": n, "plugin": plugin, "status": "done",
                   "options": cfg[n].get("with", {}), "outputs": outs}, f)
manifest = {"experiment": "big", "status": "ok", "assay_version": "0.1.0",
            "config_file": "/synthetic/big.yaml", "sets": [], "seed": 1,
            "started": "2026-01-01T00:00:00Z",
            "finished": "2026-01-01T00:10:00Z", "seconds": 600.0,
            "jobs": 2, "config": {"experiment": "big", "nodes": cfg,
                                  "report": ["m000.summary", "m500.summary"]},
            "plugins": plugins, "nodes": status}
with open(os.path.join(run, "manifest.json"), "w") as f:
    json.dump(manifest, f)
PY
echo "synthetic run: 1000 nodes, 100000 per-item values, $(du -sh "$run" | cut -f1) on disk"
t0=$(date +%s.%N)
"$ASSAY" report "$run" > /dev/null
t1=$(date +%s.%N)
size=$(stat -c %s "$run/report.html")
awk -v s="$size" -v a="$t0" -v b="$t1" 'BEGIN {
  printf "report.html: %d bytes (%.2f MB), built in %.2f s\n", s, s / 1e6, b - a }'
[ "$size" -lt 10000000 ] || fail "report is $size bytes (limit 10 MB)"
grep -q 'summary of 990 nodes' "$run/report.html" || fail "leaderboard"
charts=$(grep -o '<svg[^>]*class="chart"' "$run/report.html" | wc -l)
echo "charts: $charts"
[ "$charts" -ge 10 ] || fail "too few charts"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ -x "$CHROMIUM" ]; then
  chromium_run() {
    timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
      --disable-background-networking --disable-component-update \
      --disable-sync --no-first-run --user-data-dir="$(mktemp -d)" \
      --allow-file-access-from-files "$@" 2> /dev/null || true
  }
  # CPU seconds (user + sys, browser and renderer processes) of loading a
  # page, laying it out and painting the first screen: less sensitive to
  # a busy machine than wall time
  cpu_of() {
    local TIMEFORMAT='%U %S'
    { time chromium_run --window-size=1400,900 \
        --screenshot="$tmp/shot.png" "$1" > /dev/null; } 2> "$tmp/t"
    awk '{ printf "%.2f", $1 + $2 }' "$tmp/t"
  }
  echo '<!DOCTYPE html><html><body>empty</body></html>' > "$tmp/empty.html"
  # load time inside the browser: from before the iframe starts loading
  # to its load event plus one layout of the whole page
  cat > "$tmp/load.html" <<HTML
<!DOCTYPE html><html><body><pre id="out">not loaded</pre>
<script>var t0 = performance.now();</script>
<iframe src="file://$run/report.html" style="width:1400px;height:900px"
 onload="this.contentDocument.body.offsetHeight;
 document.getElementById('out').textContent =
 'LOAD_MS=' + Math.round(performance.now() - t0)"></iframe></body></html>
HTML
  for i in 1 2 3; do
    ms=$(chromium_run --dump-dom "file://$tmp/load.html" |
         grep -o 'LOAD_MS=[0-9]*' | cut -d= -f2 || true)
    base=$(cpu_of "file://$tmp/empty.html")
    page=$(cpu_of "file://$run/report.html")
    awk -v i="$i" -v ms="${ms:-?}" -v b="$base" -v p="$page" 'BEGIN {
      printf "chromium %d: load event + layout %s ms (wall, in the page); " \
             "CPU %.2f s for the report vs %.2f s for an empty page " \
             "(+%.2f s)\n", i, ms, p, b, p - b }'
  done
  echo "(load $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores while measuring)"
else
  echo "chromium not installed: load time not measured"
fi
echo "size: all checks passed"
