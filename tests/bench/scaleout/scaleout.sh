#!/usr/bin/env bash
# Scale-out: wall time of a 4-shard run on a local one-node Slurm cluster
# against the unsharded run of the same experiment, when the LLM server's
# latency is the bottleneck (200 ms per answer, each process limited to 4
# requests in flight, as a rate-limited API key would be).  Prints the
# speed-up.  Needs root and slurm-wlm + munge (like tests/cluster/slurm.sh).
#   ASSAY=build/assay FAKELLM=build/tests/llm/fakellm tests/bench/scaleout/scaleout.sh [ITEMS]
set -euo pipefail
: "${ASSAY:?}" "${FAKELLM:?}"
items=${1:-200}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
srv=
. "$here/../../cluster/slurm-env.sh"
cleanup() { [ -n "$srv" ] && kill "$srv" 2>/dev/null || true; slurm_down; rm -rf "$tmp"; }
trap cleanup EXIT
# the shards wait on the LLM, not the CPU: let all four run at once
SLURM_CPUS=8 slurm_up
export FAKE_KEY="sk-bench"
printf '{"api_key": "%s", "latency": {"dist": "fixed", "ms": 200}}\n' \
  "$FAKE_KEY" > "$tmp/fake.json"
"$FAKELLM" --port 0 --config "$tmp/fake.json" > "$tmp/port" 2>/dev/null &
srv=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
port=$(head -n1 "$tmp/port")
mkdir -p "$tmp/proj" && cd "$tmp/proj"
python3 -c "
import json
with open('qa.jsonl', 'w') as f:
    for i in range($items):
        f.write(json.dumps({'id': i, 'q': f'question {i}', 'refs': [f'answer {i}']}) + '\n')"
cat > exp.yaml <<YAML
experiment: scaleout
llm:
  fake: {provider: openai, base_url: "http://127.0.0.1:$port/v1",
         model: fake-model, api_key: "\${FAKE_KEY}", max_concurrency: 4}
nodes:
  qs:  {plugin: source.jsonl, with: {path: qa.jsonl}}
  gen: {plugin: llm.generate, inputs: {items: qs.records},
        with: {llm: fake, user: "{{q}}", field: hyp, usage: false}}
  qa:  {plugin: metric.qa, inputs: {items: gen.items}}
YAML
t0=$(date +%s.%N)
"$ASSAY" run exp.yaml -q --runs-dir ref --cache-dir ref-cache
t1=$(date +%s.%N)
"$ASSAY" slurm exp.yaml --shards 4 --cpus-per-task 1 > submit.txt
dir=$(sed -n 's/^follow with: assay slurm status //p' submit.txt)
until "$ASSAY" slurm status "$dir" | grep -qE "merge  job .*(COMPLETED|FAILED|CANCELLED)"; do
  sleep 0.2
done
t2=$(date +%s.%N)
"$ASSAY" slurm status "$dir" | grep -q "merge  job .*COMPLETED" || { cat "$dir"/logs/*; exit 1; }
python3 - "$t0" "$t1" "$t2" "$items" <<'PY'
import sys
t0, t1, t2, n = map(float, sys.argv[1:])
a, b = t1 - t0, t2 - t1
ideal = n * 0.2 / 4
print(f"{int(n)} LLM items, 200 ms each, 4 in flight per process")
print(f"unsharded run           {a:7.2f} s  (ideal {ideal:.2f} s)")
print(f"slurm, 4 shards + merge {b:7.2f} s  (ideal {ideal / 4:.2f} s + scheduling)")
print(f"speed-up                {a / b:7.2f}x")
PY
