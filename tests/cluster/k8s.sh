#!/usr/bin/env bash
# `assay k8s` writes an Indexed Job (completion index -> shard) and a merge
# Job; both validate against the Kubernetes API schema (the npm package
# kubernetes-models, installed into the build tree on first use; skipped
# with the reason when npm or the registry is unavailable).
set -euo pipefail
: "${ASSAY:?}" "${ASSAY_SRC:?}"
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
printf '{"id": 1}\n{"id": 2}\n' > items.jsonl
cat > exp.yaml <<'YAML'
experiment: k8s-demo
nodes:
  items: {plugin: source.jsonl, with: {path: items.jsonl}}
  pick:  {plugin: transform.select, inputs: {items: items.records},
          with: {fields: [id]}}
YAML
"$ASSAY" k8s exp.yaml --shards 5 --image registry.example/assay:1 \
  --pvc assay-project --namespace evals --set nodes.pick.with.strict=false \
  --out out > log.txt
m=out/assay-jobs.yaml
[ -f "$m" ] || fail "no manifest written"
grep -q 'completionMode: Indexed' "$m" || fail "not an Indexed Job"
grep -q 'completions: 5' "$m" || fail "wrong completions"
grep -q 'JOB_COMPLETION_INDEX}/5' "$m" || fail "shard not taken from the index"
grep -q 'assay merge' "$m" || fail "no merge job"
grep -q "ge 5 ]" "$m" || fail "the merge does not wait for 5 shards"
grep -q 'namespace: evals' "$m" || fail "namespace missing"
if "$ASSAY" k8s exp.yaml --shards 2 --out out2 2> err.txt; then
  fail "accepted a missing --image/--pvc"; fi
grep -q -- "--image" err.txt || fail "unclear usage error"

command -v node >/dev/null && command -v npm >/dev/null ||
  skip "node/npm not installed: manifests written but not schema-validated"
cache="${ASSAY_BUILD:-$tmp}/k8s-validate"
if [ ! -d "$cache/node_modules/kubernetes-models" ]; then
  mkdir -p "$cache"
  (cd "$cache" && timeout 120 npm install --silent --no-audit --no-fund \
     --fetch-retries=1 --fetch-timeout=30000 \
     kubernetes-models@5.1.0 yaml@2.9.1 >/dev/null 2>&1) ||
    skip "npm could not install kubernetes-models (no registry?)"
fi
cp "$ASSAY_SRC/tests/cluster/k8s-validate.mjs" "$cache/"
node "$cache/k8s-validate.mjs" "$tmp/$m"
echo "k8s: manifests written and valid"
