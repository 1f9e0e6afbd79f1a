#!/usr/bin/env bash
# `assay run --dry-run` against the fake server:
#   - half of the answers cached by an earlier run: the dry run reports N
#     requests, N/2 cached, N/2 to send, a cost > 0, and the server
#     receives nothing; no run directory is written
#   - a node fed by an LLM node whose answers are not all cached falls
#     back to its plugin's estimate, naming its endpoint
#   - once every answer is cached, the LLM node's outputs feed the next
#     LLM node, whose requests are then counted from real inputs
#   - without a cache: everything is to send
set -euo pipefail
: "${ASSAY:?}" "${FAKELLM:?}"
tmp=$(mktemp -d)
srv_pid=
cleanup() {
  [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

mkdir -p "$tmp/server" "$tmp/work"
work="$tmp/work"
"$FAKELLM" --port 0 > "$tmp/server/port" 2> "$tmp/server/log" &
srv_pid=$!
for _ in $(seq 300); do [ -s "$tmp/server/port" ] && break; sleep 0.05; done
port=$(head -n1 "$tmp/server/port")
[ -n "$port" ] || fail "fake server did not start"
requests() {
  curl -s "http://127.0.0.1:$port/stats" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])'
}

n=40
for i in $(seq 1 $n); do
  printf '{"id": %d, "q": "question number %d"}\n' "$i" "$i"
done > "$work/items.jsonl"
head -n $((n / 2)) "$work/items.jsonl" > "$work/half.jsonl"

cat > "$work/exp.yaml" <<EOF
experiment: llm-dry
llm:
  fake:
    provider: openai
    base_url: "http://127.0.0.1:$port/v1"
    model: fake-model
    max_tokens: 64
    backoff: 0.01
    price: {input: 0.5, output: 1.5}
nodes:
  items: {plugin: source.jsonl, with: {path: items.jsonl}}
  gen:
    plugin: llm.generate
    inputs: {items: items.records}
    with: {llm: fake, user: "Q: {{q}}"}
  again:
    plugin: llm.generate
    inputs: {items: gen.items}
    with: {llm: fake, user: "Again: {{answer}}"}
EOF
cd "$work"
run() { "$ASSAY" run exp.yaml --runs-dir "$work/runs" --cache-dir "$work/cache" "$@"; }

echo "== an earlier run answers half of the items"
run --only gen --set nodes.items.with.path=half.jsonl > run1.out 2>&1 ||
  { cat run1.out; fail "first run failed"; }
[ "$(requests)" = $((n / 2)) ] || fail "expected $((n / 2)) requests"
nruns=$(ls runs/llm-dry | wc -l)

echo "== dry run: N requests, N/2 cached, nothing sent, nothing written"
before=$(requests)
run --dry-run > dry1.out 2> dry1.err || { cat dry1.out dry1.err; fail "dry run failed"; }
cat dry1.out
[ "$(requests)" = "$before" ] || fail "the dry run sent requests"
[ "$(ls runs/llm-dry | wc -l)" = "$nruns" ] || fail "the dry run wrote a run directory"
grep -q "ran in memory: records $n items" dry1.out || fail "the source did not run in memory"
python3 - "$n" dry1.out <<'PY'
import re, sys
n, text = int(sys.argv[1]), open(sys.argv[2]).read()
m = re.search(r"llm: (\d+) requests to 'fake', (\d+) cached, (\d+) to send: ~(\d+) prompt "
              r"\+ ~(\d+) completion tokens, ~([0-9.]+) USD", text)
assert m, "no llm line for gen"
req, cached, send, pt, ct, cost = m.groups()
assert (int(req), int(cached), int(send)) == (n, n // 2, n // 2), m.group(0)
assert int(ct) == 64 * (n // 2), ct          # max_tokens per request to send
assert int(pt) > 0 and float(cost) > 0, m.group(0)
# again: gen is not all cached, so its inputs are unknown: estimate()
assert re.search(r"llm: requests to 'fake': not known, its inputs are not "
                 r"known in a dry run", text), "no estimate for again"
assert "not counted: 1 LLM node whose inputs a dry run cannot compute" in text
t = re.search(r"total: (\d+) LLM requests, (\d+) cached, (\d+) to send: .*~([0-9.]+) USD",
              text)
assert t and (int(t.group(1)), int(t.group(2)), int(t.group(3))) == \
    (n, n // 2, n // 2), "bad total"
assert abs(float(t.group(4)) - float(cost)) < 1e-4, "total cost"
print("dry run: %s requests, %s cached, cost %s" % (req, cached, cost))
PY

echo "== every answer of gen cached: its outputs feed 'again'"
run --only gen > run2.out 2>&1 || { cat run2.out; fail "second run failed"; }
[ "$(requests)" = $n ] || fail "expected $n requests in all"
before=$(requests)
run --dry-run > dry2.out 2> dry2.err || { cat dry2.out dry2.err; fail "dry run 2 failed"; }
cat dry2.out
[ "$(requests)" = "$before" ] || fail "dry run 2 sent requests"
grep -q "llm: $n requests to 'fake', $n cached, 0 to send" dry2.out || fail "gen not all cached"
grep -q "every answer is cached: its outputs feed the nodes below" dry2.out ||
  fail "gen's outputs were not kept"
grep -q "llm: $n requests to 'fake', 0 cached, $n to send" dry2.out ||
  fail "'again' did not see gen's answers"
grep -q "total: $((2 * n)) LLM requests, $n cached, $n to send" dry2.out ||
  fail "bad total"

echo "== no cache: everything is to send"
"$ASSAY" run exp.yaml --dry-run --cache-dir "$work/nocache" > dry3.out 2>&1 ||
  { cat dry3.out; fail "dry run 3 failed"; }
grep -q "no LLM cache at" dry3.out || fail "no note about the missing cache"
grep -q "llm: $n requests to 'fake', 0 cached, $n to send" dry3.out || fail "dry run 3"
[ ! -e "$work/nocache/llm.sqlite" ] || fail "the dry run created a cache"
[ "$(requests)" = "$before" ] || fail "dry run 3 sent requests"
echo "dry run: all checks passed"
