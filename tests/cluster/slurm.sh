#!/usr/bin/env bash
# A real one-node Slurm cluster on this machine (slurmctld + slurmd +
# munge, configured here, stopped afterwards): `assay slurm` submits a
# 4-shard job array and the dependent merge job; the merged result equals
# an unsharded run of the same experiment.  Skipped, with the reason, when
# Slurm cannot be started (not root, packages missing).
set -euo pipefail
: "${ASSAY:?}" "${FAKELLM:?}"
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d)
srv=
. "$(dirname "$0")/slurm-env.sh"
cleanup() {
  [ -n "$srv" ] && kill "$srv" 2>/dev/null || true
  slurm_down
  rm -rf "$tmp"
}
trap cleanup EXIT
slurm_up

# the experiment: an LLM node per item + metrics over all items
export FAKE_KEY="sk-slurm-test-key"
printf '{"api_key": "%s", "latency": {"dist": "fixed", "ms": 20}}\n' \
  "$FAKE_KEY" > "$tmp/fake.json"
"$FAKELLM" --port 0 --config "$tmp/fake.json" > "$tmp/port" 2>/dev/null &
srv=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
port=$(head -n1 "$tmp/port")
mkdir -p "$tmp/proj" && cd "$tmp/proj"
python3 -c '
import json
with open("qa.jsonl", "w") as f:
    for i in range(80):
        f.write(json.dumps({"id": i, "q": f"question {i}", "refs": [f"answer {i}"]}) + "\n")'
cat > exp.yaml <<YAML
experiment: slurm-eq
llm:
  fake: {provider: openai, base_url: "http://127.0.0.1:$port/v1",
         model: fake-model, api_key: "\${FAKE_KEY}", max_concurrency: 4}
nodes:
  qs:  {plugin: source.jsonl, with: {path: qa.jsonl}}
  gen: {plugin: llm.generate, inputs: {items: qs.records},
        with: {llm: fake, user: "{{q}}", field: hyp, usage: false}}
  qa:  {plugin: metric.qa, inputs: {items: gen.items}}
YAML
"$ASSAY" run exp.yaml -q --runs-dir ref --cache-dir ref-cache
ref=$(ls -d ref/slurm-eq/*)

"$ASSAY" slurm exp.yaml --shards 4 --cpus-per-task 1 > submit.txt
cat submit.txt
grep -q "submitted shard array" submit.txt || fail "nothing submitted"
dir=$(sed -n 's/^follow with: assay slurm status //p' submit.txt)
for _ in $(seq 240); do
  st=$("$ASSAY" slurm status "$dir")
  echo "$st" | grep -q "merge  job .*COMPLETED" && break
  echo "$st" | grep -qE "FAILED|CANCELLED|TIMEOUT|DEPENDENCY_NEVER" &&
    { echo "$st"; cat "$dir"/logs/* || true; fail "a job failed"; }
  sleep 0.5
done
"$ASSAY" slurm status "$dir"
"$ASSAY" slurm status "$dir" | grep -q "shards job .*COMPLETED x4" ||
  fail "the shard array did not complete"
merged=$(ls -d runs/slurm-eq/2* | head -n1)
[ -d "$merged" ] || { cat "$dir"/logs/*; fail "no merged run"; }
for f in gen/items.jsonl qa/items.jsonl qa/summary.json; do
  cmp -s "$ref/nodes/$f" "$merged/nodes/$f" ||
    fail "nodes/$f of the Slurm run differs from the unsharded run"
done
[ -f .assay/cache/llm.sqlite ] || fail "the shard caches were not folded into the project cache"
echo "slurm: 4-shard array + merge job equal the unsharded run"
