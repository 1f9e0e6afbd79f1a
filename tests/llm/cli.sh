#!/usr/bin/env bash
# Whole runs through the `assay` CLI against the fake server:
#   - llm.generate with injected faults and a required key: every answer
#     right, usage in the manifest
#   - `assay llm ping`: ok, and a wrong key (quoted back by the server)
#     never printed
#   - replay with an empty cache fails naming node and item
#   - budget: the run stops with a clear message
#   - kill -9 in the middle, resume: no request answered twice
#   - the key appears in no file a run writes, nor in any output
set -euo pipefail
: "${ASSAY:?}" "${FAKELLM:?}"
tmp=$(mktemp -d)
srv_pid=
run_pid=
cleanup() {
  [ -n "$run_pid" ] && kill -9 "$run_pid" 2>/dev/null || true
  [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

SECRET="sk-cli-SECRET-5f3a9c2e7b1d40aa"
WRONG="sk-cli-WRONGKEY-99d0c1e2f3a4b5c6"
export FAKE_KEY="$SECRET" WRONG_KEY="$WRONG"
mkdir -p "$tmp/server" "$tmp/work" "$tmp/out"
work="$tmp/work"
out="$tmp/out"

# The server's files hold the key: they live apart from what is scanned.
start_server() {
  printf '%s\n' "$1" > "$tmp/server/fake.json"
  "$FAKELLM" --port 0 --config "$tmp/server/fake.json" \
    > "$tmp/server/port" 2> "$tmp/server/log" &
  srv_pid=$!
  for _ in $(seq 300); do [ -s "$tmp/server/port" ] && break; sleep 0.05; done
  port=$(head -n1 "$tmp/server/port")
  [ -n "$port" ] || fail "fake server did not start"
}
stats() { curl -s "http://127.0.0.1:$port/stats"; }
jget() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

start_server "{\"api_key\": \"$SECRET\", \"latency\": {\"dist\": \"uniform\",
  \"min\": 1, \"max\": 15}, \"retry_after\": 0, \"max_faults_per_key\": 2,
  \"faults\": {\"429\": 0.05, \"500\": 0.05, \"truncated\": 0.05,
  \"reset\": 0.05}}"

n=200
for i in $(seq 1 $n); do
  printf '{"id": %d, "q": "question number %d"}\n' "$i" "$i"
done > "$work/items.jsonl"

write_exp() { # name key-var extra-top-level
  cat > "$work/$1.yaml" <<EOF
experiment: llm-cli-$1
llm:
  fake:
    provider: openai
    base_url: "http://127.0.0.1:$port/v1"
    model: fake-model
    api_key: "\${$2}"
    max_concurrency: 8
    backoff: 0.01
    timeout: 5
    price: {input: 0.5, output: 1.5}
$3
nodes:
  items: {plugin: source.jsonl, with: {path: items.jsonl}}
  gen:
    plugin: llm.generate
    inputs: {items: items.records}
    with: {llm: fake, system: "Be brief.", user: "Q: {{q}}"}
EOF
}
write_exp main FAKE_KEY ""
write_exp wrong WRONG_KEY ""
write_exp budget FAKE_KEY "budget: {max_requests: 20}"
cd "$work"

echo "== a run with faults: every answer right, usage in the manifest"
"$ASSAY" run main.yaml --runs-dir "$work/runs" --cache-dir "$work/cache" \
  > "$out/run1.out" 2> "$out/run1.err" || {
  cat "$out/run1.out" "$out/run1.err"; fail "run failed"; }
rundir=$(ls -d "$work"/runs/llm-cli-main/* | head -n1)
python3 - "$rundir" "$n" <<'PY'
import json, sys
d, n = sys.argv[1], int(sys.argv[2])
rows = [json.loads(l) for l in open(d + "/nodes/gen/items.jsonl")]
assert len(rows) == n, len(rows)
for i, r in enumerate(rows):
    assert r["answer"] == "echo: Q: question number %d" % (i + 1), r
m = json.load(open(d + "/manifest.json"))
u = m["llm"]["nodes"]["gen"]
assert u["ok"] == n and u["failed"] == 0, u
assert u["retried"] > 0, u
assert m["llm"]["endpoints"]["fake"]["cost"] > 0
print("answers ok; retried %d; cost %.6f" % (u["retried"], u["cost"]))
PY
[ "$(stats | jget 'd["max_answered_per_key"]')" = 1 ] ||
  fail "a request was answered twice"

echo "== a repeated run sends nothing"
before=$(stats | jget 'd["requests"]')
"$ASSAY" run main.yaml --fresh --runs-dir "$work/runs" \
  --cache-dir "$work/cache" > "$out/run2.out" 2> "$out/run2.err" ||
  fail "second run failed"
[ "$(stats | jget 'd["requests"]')" = "$before" ] ||
  fail "the second run sent requests"

echo "== assay llm ping"
"$ASSAY" llm ping main.yaml fake > "$out/ping.out" 2> "$out/ping.err" ||
  { cat "$out/ping.out" "$out/ping.err"; fail "ping failed"; }
grep -q "model fake-model" "$out/ping.out" || fail "ping: no model line"
grep -q "answer: echo:" "$out/ping.out" || fail "ping: no answer line"
set +e
"$ASSAY" llm ping wrong.yaml fake > "$out/ping2.out" 2> "$out/ping2.err"
rc=$?
set -e
[ "$rc" = 1 ] || fail "ping with a wrong key: exit $rc, expected 1"
grep -q "HTTP 401" "$out/ping2.err" || fail "ping: no HTTP 401 message"
grep -q "redacted" "$out/ping2.err" || fail "ping: key not redacted"

echo "== a wrong key fails the run with the server's message"
# (a fresh cache: the key is not part of a request's identity, so the
# answers cached above would be served without asking the server)
set +e
"$ASSAY" run wrong.yaml --runs-dir "$work/runs" --cache-dir "$work/wcache" \
  > "$out/wrong.out" 2> "$out/wrong.err"
rc=$?
set -e
[ "$rc" = 1 ] || fail "wrong key: exit $rc, expected 1"
grep -q "Incorrect API key" "$out/wrong.out" "$out/wrong.err" ||
  fail "wrong key: no server message"

echo "== replay with an empty cache fails clearly"
set +e
"$ASSAY" run main.yaml --cache replay --runs-dir "$work/runs" \
  --cache-dir "$work/empty-cache" > "$out/replay.out" 2> "$out/replay.err"
rc=$?
set -e
[ "$rc" != 0 ] || fail "replay with an empty cache succeeded"
grep -q "no cached answer for node 'gen' item 0" "$out/replay.out" \
  "$out/replay.err" || { cat "$out/replay.out" "$out/replay.err";
  fail "replay: no clear message"; }

echo "== budget stops the run with a clear message"
set +e
"$ASSAY" run budget.yaml --runs-dir "$work/runs" \
  --cache-dir "$work/budget-cache" > "$out/budget.out" 2> "$out/budget.err"
rc=$?
set -e
[ "$rc" != 0 ] || fail "budget: the run did not stop"
grep -q "budget" "$out/budget.out" "$out/budget.err" ||
  fail "budget: no message"

echo "== kill -9 in the middle, then resume"
kill "$srv_pid"; wait "$srv_pid" 2>/dev/null || true
# answers stop after 60; the others are held until the config changes
start_server "{\"api_key\": \"$SECRET\", \"latency\": {\"ms\": 10},
  \"pause_after\": 60}"
write_exp main FAKE_KEY ""   # the new server has a new port
"$ASSAY" run main.yaml --runs-dir "$work/runs" --cache-dir "$work/kcache" \
  > "$out/kill.out" 2> "$out/kill.err" &
run_pid=$!
count_cached() {
  python3 - "$work/kcache/llm.sqlite" <<'PY'
import sqlite3, sys, os
if not os.path.exists(sys.argv[1]):
    print(0)
else:
    try:
        db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
        print(db.execute("select count(*) from llm_cache").fetchone()[0])
    except sqlite3.Error:
        print(0)
PY
}
for _ in $(seq 300); do
  [ "$(count_cached)" -ge 60 ] && break
  sleep 0.05
done
c=$(count_cached); [ "$c" = 60 ] || { stats; cat "$out/kill.out" "$out/kill.err"; ls -la "$work/kcache"; fail "expected 60 cached answers before the kill, got $c"; }
[ "$(stats | jget 'd["answered"]')" = 60 ] || fail "server answered != 60"
kill -9 "$run_pid"
wait "$run_pid" 2>/dev/null || true
run_pid=
sleep 0.3
curl -s -X POST "http://127.0.0.1:$port/config" \
  -d "{\"api_key\": \"$SECRET\", \"latency\": {\"ms\": 10}}" > /dev/null
killed=$(ls -d "$work"/runs/llm-cli-main/* | sort | tail -n1)
"$ASSAY" run main.yaml --resume "$killed" --runs-dir "$work/runs" \
  --cache-dir "$work/kcache" > "$out/resume.out" 2> "$out/resume.err" || {
  cat "$out/resume.out" "$out/resume.err"; fail "resume failed"; }
python3 - "$(stats)" "$n" <<'PY'
import json, sys
s, n = json.loads(sys.argv[1]), int(sys.argv[2])
assert s["answered"] == n, s["answered"]
assert s["max_answered_per_key"] == 1, "a request was answered twice"
print("server answered %d requests, none twice (%d received)" %
      (s["answered"], s["requests"]))
PY
[ "$(count_cached)" = "$n" ] || fail "cache does not hold every answer"

echo "== no file a run wrote and no output holds a key"
for k in "$SECRET" "$WRONG" "SECRET-5f3a" "WRONGKEY-99d0"; do
  if grep -rl -- "$k" "$work" "$out"; then
    fail "a key was written (files above)"
  fi
done
nfiles=$(find "$work" "$out" -type f | wc -l)
echo "scanned $nfiles files"
echo "llm cli: all checks passed"
