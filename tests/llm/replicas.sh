#!/usr/bin/env bash
# A whole run through the `assay` CLI on an endpoint with two replicas
# (base_url: [A, B]), A killed with -9 in the middle of the run: the run
# succeeds, every item is answered exactly once (A's answers before the
# kill + B's == items, no request answered by both), and the manifest
# accounts for each replica.  `assay llm ping` then shows the dead one.
set -euo pipefail
: "${ASSAY:?}" "${FAKELLM:?}"
tmp=$(mktemp -d)
pids=()
run_pid=
cleanup() {
  [ -n "$run_pid" ] && kill -9 "$run_pid" 2>/dev/null || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

mkdir -p "$tmp/a" "$tmp/b" "$tmp/work"
work="$tmp/work"
start() { # dir config
  printf '%s\n' "$2" > "$1/fake.json"
  "$FAKELLM" --port 0 --config "$1/fake.json" > "$1/port" 2> "$1/log" &
  pids+=($!)
  echo $! > "$1/pid"
  for _ in $(seq 300); do [ -s "$1/port" ] && break; sleep 0.05; done
  [ -s "$1/port" ] || fail "fake server did not start"
}
# A stops answering after 40 answers and holds what it gets after that,
# so that its counters are final when it is killed.
start "$tmp/a" '{"latency": {"ms": 5}, "pause_after": 40}'
start "$tmp/b" '{"latency": {"ms": 5}}'
pa=$(head -n1 "$tmp/a/port")
pb=$(head -n1 "$tmp/b/port")
stats() { curl -s "http://127.0.0.1:$1/stats"; }

n=300
for i in $(seq 1 $n); do
  printf '{"id": %d, "q": "question number %d"}\n' "$i" "$i"
done > "$work/items.jsonl"
cat > "$work/exp.yaml" <<EOF
experiment: llm-replicas
llm:
  fake:
    provider: openai
    base_url: ["http://127.0.0.1:$pa/v1", "http://127.0.0.1:$pb/v1"]
    model: fake-model
    max_concurrency: 12
    retries: 1
    backoff: 0.01
    timeout: 20
nodes:
  items: {plugin: source.jsonl, with: {path: items.jsonl}}
  gen:
    plugin: llm.generate
    inputs: {items: items.records}
    with: {llm: fake, user: "Q: {{q}}"}
EOF
cd "$work"

echo "== replica A killed with -9 in the middle of the run"
"$ASSAY" run exp.yaml --runs-dir "$work/runs" --cache-dir "$work/cache" \
  > run.out 2> run.err &
run_pid=$!
final=
for _ in $(seq 400); do
  s=$(stats "$pa" || true)
  if python3 - "$s" <<'PY'
import json, sys
s = json.loads(sys.argv[1] or "{}")
sent = sum(v[1] for v in s.get("keys", {}).values())
# 40 answered and sent, and more requests held
sys.exit(0 if s.get("answered") == 40 and sent == 40 and
         s.get("requests", 0) > 40 else 1)
PY
  then final=$s; break; fi
  sleep 0.05
done
[ -n "$final" ] || { cat run.out run.err; fail "A never reached its pause"; }
kill -9 "$(cat "$tmp/a/pid")"
wait "$(cat "$tmp/a/pid")" 2>/dev/null || true
wait "$run_pid" || { cat run.out run.err; fail "the run failed"; }
run_pid=
rundir=$(ls -d "$work"/runs/llm-replicas/* | head -n1)
python3 - "$final" "$(stats "$pb")" "$rundir" "$n" <<'PY'
import json, sys
a, b, d, n = (json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3],
              int(sys.argv[4]))
assert a["answered"] + b["answered"] == n, (a["answered"], b["answered"])
keys = {}
for s in (a, b):
    for k, v in s["keys"].items():
        keys[k] = keys.get(k, 0) + v[1]
assert max(keys.values()) == 1, "a request was answered twice"
assert sum(1 for v in keys.values() if v == 1) == n
rows = [json.loads(l) for l in open(d + "/nodes/gen/items.jsonl")]
assert len(rows) == n
for i, r in enumerate(rows):
    assert r["answer"] == "echo: Q: question number %d" % (i + 1), r
m = json.load(open(d + "/manifest.json"))
e = m["llm"]["endpoints"]["fake"]
assert e["ok"] == n and e["failed"] == 0, e
ra, rb = e["replicas"]
assert ra["ok"] == 40 and ra["state"] == "down" and ra["downs"] >= 1, ra
assert rb["ok"] == n - 40 and rb["state"] == "up", rb
print("A answered %d before the kill, B %d; A taken out %d time(s), "
      "%d request(s) moved off it, %d failed attempt(s)" %
      (a["answered"], b["answered"], ra["downs"], ra["moved"], ra["failed"]))
PY

echo "== assay llm ping names the dead replica"
set +e
"$ASSAY" llm ping exp.yaml fake > ping.out 2> ping.err
rc=$?
set -e
[ "$rc" = 1 ] || { cat ping.out ping.err; fail "ping: exit $rc, expected 1"; }
grep -q "and 1 more replica" ping.out || fail "ping: no replica count"
grep -q "^http://127.0.0.1:$pb/v1: ok:" ping.out || fail "ping: B not ok"
grep -q "http://127.0.0.1:$pa/v1: .*connection" ping.err ||
  { cat ping.err; fail "ping: A's failure not shown"; }
echo "replicas: all checks passed"
