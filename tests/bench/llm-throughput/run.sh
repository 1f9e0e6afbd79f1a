#!/usr/bin/env bash
# LLM service throughput: N short requests against the fake server with
# 50 ms latency at concurrency 1, 16, 64 and 256, then promptfoo on the
# same prompts, same server, same concurrency, with wall and CPU ratios.
#
# Environment (meson sets the first three):
#   BENCH_LLM, FAKELLM, OPENAI_PLUGIN   the built programs
#   BENCH_DIR      cache dir for the peer install (default build/bench-cache)
#   N (10000)      requests per level; N_C1 (200) at concurrency 1, where
#                  10,000 requests would take 500 s of pure latency
#   N_PEER (1000)  requests per level in the promptfoo comparison (the
#                  peer needs ~17 ms CPU per request); assay is rerun on
#                  exactly the same requests for the ratios
#   LEVELS ("1 16 64 256"), LATENCY_MS (50), SKIP_PEER=1 to skip promptfoo
set -euo pipefail
: "${BENCH_LLM:?}" "${FAKELLM:?}" "${OPENAI_PLUGIN:?}"
here=$(cd "$(dirname "$0")" && pwd)
BENCH_LLM=$(realpath "$BENCH_LLM")
FAKELLM=$(realpath "$FAKELLM")
OPENAI_PLUGIN=$(realpath "$OPENAI_PLUGIN")
BENCH_DIR=${BENCH_DIR:-$here/../../../build/bench-cache}
N=${N:-10000}
N_C1=${N_C1:-200}
N_PEER=${N_PEER:-1000}
LEVELS=${LEVELS:-"1 16 64 256"}
LATENCY_MS=${LATENCY_MS:-50}
PEER_VERSION=0.120.0
mkdir -p "$BENCH_DIR"
tmp=$(mktemp -d)
srv_pid=
cleanup() {
  [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

printf '{"latency": {"dist": "fixed", "ms": %s}}\n' "$LATENCY_MS" \
  > "$tmp/fake.json"
"$FAKELLM" --port 0 --config "$tmp/fake.json" > "$tmp/port" &
srv_pid=$!
for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
port=$(head -n1 "$tmp/port")
base="http://127.0.0.1:$port/v1"
echo "fake server on $base, ${LATENCY_MS} ms per answer; $(nproc) cores"

field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

echo
echo "== assay (one process: the LLM service over libcurl multi) =="
printf '%6s %7s %9s %9s %8s %10s %9s\n' conc requests req/s ideal "%ideal" \
  "cpu us/req" "rss MB"
for c in $LEVELS; do
  n=$N; [ "$c" = 1 ] && n=$N_C1
  out=$("$BENCH_LLM" run --base-url "$base" --plugin "$OPENAI_PLUGIN" \
        --requests "$n" --concurrency "$c" --latency-ms "$LATENCY_MS" \
        --tag "c$c")
  echo "$out" >> "$tmp/assay.jsonl"
  python3 - "$out" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
print("%6d %7d %9.1f %9.1f %7.1f%% %10.1f %9.1f" % (
    r["concurrency"], r["requests"], r["req_per_s"], r["ideal_req_per_s"],
    100 * r["of_ideal"], r["cpu_us_per_req"], r["peak_rss_mb"]))
PY
done

if [ "${SKIP_PEER:-0}" = 1 ]; then
  echo "SKIP_PEER=1: promptfoo comparison skipped"
  exit 0
fi

pf="$BENCH_DIR/promptfoo"
if [ ! -x "$pf/node_modules/.bin/promptfoo" ]; then
  echo
  echo "installing promptfoo@$PEER_VERSION into $pf (npm)"
  mkdir -p "$pf"
  (cd "$pf" && npm install --no-audit --no-fund --loglevel=error \
     "promptfoo@$PEER_VERSION" > npm.log 2>&1) ||
    { echo "npm install failed (see $pf/npm.log)"; exit 1; }
fi
[ -e "$pf/node_modules/promptfoo/drizzle" ] ||
  ln -s dist/drizzle "$pf/node_modules/promptfoo/drizzle"
export PROMPTFOO_DISABLE_TELEMETRY=1 PROMPTFOO_DISABLE_UPDATE=1 \
  PROMPTFOO_DISABLE_SHARING=1 PROMPTFOO_CONFIG_DIR="$tmp/pfhome" \
  OPENAI_API_KEY=fake-key
echo
echo "== assay vs promptfoo@$PEER_VERSION, same prompts, server, concurrency =="
printf '%6s %7s %8s %8s %8s %8s %9s %9s %8s %8s %8s\n' conc requests \
  "a wall" "a eval" "pf wall" "pf eval" "a cpu s" "pf cpu s" "wall x" \
  "eval x" "cpu x"
for c in $LEVELS; do
  n=$N_PEER; [ "$c" = 1 ] && n=$N_C1
  # the same questions for both tools
  python3 - "$n" "p$c" > "$tmp/tests.csv" <<'PY'
import sys
n, tag = int(sys.argv[1]), sys.argv[2]
print("q")
for i in range(n):
    print("Question %s-%d: what is %d plus %d?" % (tag, i, i, i + 1))
PY
  cat > "$tmp/pf.yaml" <<YAML
description: llm-throughput
prompts:
  - "{{q}}"
providers:
  - id: openai:chat:fake-model
    config:
      apiBaseUrl: $base
      apiKey: fake-key
tests: file://$tmp/tests.csv
YAML
  curl -s -X POST "http://127.0.0.1:$port/reset" > /dev/null
  # whole processes on both sides (start-up, loading, the run)
  a=$("$BENCH_LLM" exec -- "$BENCH_LLM" run --base-url "$base" \
      --plugin "$OPENAI_PLUGIN" --requests "$n" --concurrency "$c" \
      --latency-ms "$LATENCY_MS" --tag "p$c" 2> /dev/null)
  sa=$(curl -s "http://127.0.0.1:$port/stats")
  curl -s -X POST "http://127.0.0.1:$port/reset" > /dev/null
  p=$(cd "$tmp" && "$BENCH_LLM" exec -- "$pf/node_modules/.bin/promptfoo" \
      eval -c "$tmp/pf.yaml" --no-cache -j "$c" --no-progress-bar \
      --no-table -o "$tmp/out-$c.json" 2> "$tmp/pf-$c.log") || {
    echo "promptfoo failed at concurrency $c:"; tail -n 20 "$tmp/pf-$c.log"
    exit 1; }
  sp=$(curl -s "http://127.0.0.1:$port/stats")
  python3 - "$a" "$p" "$sa" "$sp" "$n" "$c" <<'PY'
import json, sys
a, p, sa, sp = (json.loads(x) for x in sys.argv[1:5])
n, c = int(sys.argv[5]), int(sys.argv[6])
for name, st in (("assay", sa), ("promptfoo", sp)):
    if st["answered"] != n or st["max_answered_per_key"] != 1:
        print("  (%s: server answered %d of %d)" % (name, st["answered"], n))
print("%6d %7d %8.2f %8.2f %8.2f %8.2f %9.3f %9.3f %7.2fx %7.2fx %7.1fx" % (
    c, n, a["wall_s"], sa["span_s"], p["wall_s"],
    sp["span_s"], a["cpu_s"], p["cpu_s"], p["wall_s"] / a["wall_s"],
    sp["span_s"] / max(sa["span_s"], 1e-9),
    p["cpu_s"] / max(a["cpu_s"], 1e-9)))
PY
done
echo
echo "wall: whole process (promptfoo includes Node start-up); eval: first"
echo "request to last answer as the server saw it; cpu: user+system of the"
echo "process tree; x: promptfoo / assay (higher is better for assay)"
