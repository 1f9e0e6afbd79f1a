#!/usr/bin/env bash
# Process isolation: a node with `isolation: process` (or under --isolate)
# that segfaults, aborts, calls exit() or hangs past its `timeout:` fails
# alone, with the signal or the time limit named; the other branches
# finish and their results are kept; isolated nodes that succeed give the
# same outputs as in-process ones.
set -euo pipefail
: "${ASSAY:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cd "$tmp"
cat > iso.yaml <<'YAML'
experiment: iso
nodes:
  src:   {plugin: test.source, with: {n: 5}}
  segv:  {plugin: test.fail, inputs: {items: src.items}, with: {how: segv},
          isolation: process}
  abrt:  {plugin: test.fail, inputs: {items: src.items}, with: {how: abort},
          isolation: process}
  quit:  {plugin: test.fail, inputs: {items: src.items}, with: {how: exit},
          isolation: process}
  hang:  {plugin: test.add, inputs: {items: src.items},
          with: {sleep_ms: 600000}, timeout: 1}
  ok:    {plugin: test.add, inputs: {items: src.items}, isolation: process}
  after: {plugin: test.sum, inputs: {items: ok.items}}
  dep:   {plugin: test.sum, inputs: {items: segv.items}}
report: [after.summary]
YAML
start=$(date +%s)
if "$ASSAY" run iso.yaml --runs-dir runs --cache-dir cache > out.txt 2> err.txt; then
  fail "the run succeeded despite four failing nodes"
fi
[ $(( $(date +%s) - start )) -lt 60 ] || fail "the hanging node was not stopped"
grep -q "segv.*signal 11 (Segmentation fault)" err.txt || fail "segfault not named: $(cat err.txt)"
grep -q "abrt.*signal 6 (Aborted)" err.txt || fail "abort not named"
# (a leak checker may turn the worker's exit() into its own status or
# an abort; either way the node must fail on its own)
grep -qE "quit.*(ended the worker process \(exit status|signal 6)" err.txt ||
  fail "exit() not reported"
grep -q "hang.*timed out after 1 s" err.txt || fail "timeout not reported"
run=$(ls -d runs/iso/*)
python3 - "$run" <<'PY'
import json, sys
m = json.load(open(sys.argv[1] + "/manifest.json"))
st = {k: v["status"] for k, v in m["nodes"].items()}
assert st == {"src": "done", "segv": "failed", "abrt": "failed", "quit": "failed",
              "hang": "failed", "ok": "done", "after": "done", "dep": "skipped"}, st
s = json.load(open(sys.argv[1] + "/nodes/after/summary.json"))
assert s == {"sum": 15.0, "count": 5}, s
print("statuses and surviving results ok")
PY
echo "--isolate gives the same outputs as in-process"
cat > same.yaml <<'YAML'
experiment: same
nodes:
  src: {plugin: test.table, with: {n: 50, groups: 3}}
  add: {plugin: test.add, inputs: {items: src.table}, with: {delta: 0.25}}
  sum: {plugin: test.sum, inputs: {items: add.items}}
YAML
"$ASSAY" run same.yaml -q --runs-dir a --cache-dir c1
"$ASSAY" run same.yaml -q --isolate --runs-dir b --cache-dir c2
for f in src/table.atb add/items.jsonl sum/summary.json; do
  cmp "$(ls -d a/same/*)/nodes/$f" "$(ls -d b/same/*)/nodes/$f" ||
    fail "$f differs under --isolate"
done
echo "isolation: all checks passed"
