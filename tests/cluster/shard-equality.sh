#!/usr/bin/env bash
# Sharded runs equal the unsharded run: an experiment with an LLM node
# (llm.generate against the fake server, per item), an LLM-answer metric
# (metric.qa) and a recommender metric (metric.ranking), run unsharded and
# as N = 1, 2, 3, 7 shards merged with `assay merge`, gives byte-identical
# per-item outputs and identical metrics; every item is answered exactly
# once per configuration; merge refuses shards that do not belong together.
set -euo pipefail
: "${ASSAY:?}" "${FAKELLM:?}"
tmp=$(mktemp -d)
srv=
cleanup() { [ -n "$srv" ] && kill "$srv" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

export FAKE_KEY="sk-shard-test-key"
printf '{"api_key": "%s", "latency": {"dist": "fixed", "ms": 2}}\n' \
  "$FAKE_KEY" > "$tmp/fake.json"
"$FAKELLM" --port 0 --config "$tmp/fake.json" > "$tmp/port" 2>/dev/null &
srv=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
port=$(head -n1 "$tmp/port")
[ -n "$port" ] || fail "fake server did not start"

cd "$tmp"
python3 - <<'PY'
import json, random
r = random.Random(5)
with open("qa.jsonl", "w") as f:
    for i in range(60):
        f.write(json.dumps({"id": 1000 + i * 7, "q": f"what is item {i}?",
                            "refs": [f"item {i}", "unknown"]}) + "\n")
with open("run.jsonl", "w") as f, open("qrels.jsonl", "w") as g:
    for u in range(40):
        for it in range(12):
            f.write(json.dumps({"id": f"{u}-{it}", "user": u, "item": it,
                                "score": round(r.random(), 3)}) + "\n")
            if r.random() < 0.3:
                g.write(json.dumps({"id": f"{u}-{it}", "user": u, "item": it,
                                    "relevance": r.randint(1, 3)}) + "\n")
PY
cat > exp.yaml <<YAML
experiment: shard-eq
seed: 11
llm:
  fake: {provider: openai, base_url: "http://127.0.0.1:$port/v1",
         model: fake-model, api_key: "\${FAKE_KEY}", max_concurrency: 8}
nodes:
  qs:    {plugin: source.jsonl, with: {path: qa.jsonl}}
  gen:   {plugin: llm.generate, inputs: {items: qs.records},
          with: {llm: fake, user: "Answer briefly. {{q}}", field: hyp,
                 usage: false}}
  keep:  {plugin: transform.select, inputs: {items: gen.items},
          with: {fields: [id, hyp, refs]}}
  qa:    {plugin: metric.qa, inputs: {items: keep.items}}
  run:   {plugin: source.jsonl, with: {path: run.jsonl}}
  qrels: {plugin: source.jsonl, with: {path: qrels.jsonl}}
  rank:  {plugin: metric.ranking, inputs: {run: run.records, qrels: qrels.records},
          with: {ks: [5, 10]}}
YAML

requests() { curl -s "http://127.0.0.1:$port/stats" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])'; }

"$ASSAY" run exp.yaml -q --runs-dir full --cache-dir cache-full
ref=$(ls -d full/shard-eq/*)
base=$(requests)
[ "$base" -eq 60 ] || fail "expected 60 requests, saw $base"

for n in 1 2 3 7; do
  before=$(requests)
  for ((i = 0; i < n; i++)); do
    "$ASSAY" run exp.yaml -q --shard "$i/$n" --runs-dir "s$n" \
      --cache-dir "cache-$n-$i"
  done
  "$ASSAY" merge s$n/shard-eq/* -q --runs-dir "m$n" --cache-dir "cache-m$n"
  got=$(ls -d m$n/shard-eq/*)
  for f in gen/items.jsonl keep/items.jsonl qa/items.jsonl qa/summary.json \
           rank/summary.json rank/items.atb; do
    cmp -s "$ref/nodes/$f" "$got/nodes/$f" ||
      fail "N=$n: nodes/$f differs from the unsharded run"
  done
  sent=$(( $(requests) - before ))
  [ "$sent" -eq 60 ] || fail "N=$n: $sent requests for 60 items"
  echo "N=$n: per-item outputs and metrics identical, $sent requests"
done

echo "merge refuses a missing shard, a repeated shard and a foreign run"
one=$(ls -d s3/shard-eq/* | head -n1)
if "$ASSAY" merge $(ls -d s3/shard-eq/* | head -n2) -q 2> err.txt; then
  fail "merged 2 of 3 shards"; fi
grep -q "shards of 3, 2 given" err.txt || fail "unclear message: $(cat err.txt)"
if "$ASSAY" merge "$one" "$one" $(ls -d s3/shard-eq/* | tail -n1) -q \
    2> err.txt; then
  fail "merged a repeated shard"; fi
grep -q "given twice" err.txt || fail "unclear message: $(cat err.txt)"
if "$ASSAY" merge $(ls -d s2/shard-eq/*) "$one" -q 2> err.txt; then
  fail "merged shards of different runs"; fi
grep -q "another run\|shards of" err.txt || fail "unclear message: $(cat err.txt)"
echo "shard-equality: all checks passed"
