#!/usr/bin/env bash
# The node cache: a second run takes every node from the cache (marker
# files do not grow), --fresh recomputes, a changed option reruns only that
# node and what depends on it, and another experiment file with the same
# node reuses it from the shared cache.
. "$(dirname "$0")/lib.sh"

cat >exp.yaml <<'Y'
experiment: cached
nodes:
  src: {plugin: test.source, with: {n: 6, marker: marks.txt}}
  a: {plugin: test.add, inputs: {items: src}, with: {delta: 1, marker: marks.txt}}
  b: {plugin: test.add, inputs: {items: a}, with: {delta: 1, marker: marks.txt}}
  side: {plugin: test.add, inputs: {items: src}, with: {marker: marks.txt}}
  total: {plugin: test.sum, inputs: {items: b}}
Y

echo "# first run computes everything"
run_assay out.txt err.txt run exp.yaml
expect_eq "first run exits 0" "$RC" 0
expect_eq "four marked nodes ran" "$(count_lines marks.txt)" 4
expect_no_grep "nothing was cached yet" '\[cached\]' err.txt
FIRST=$RUN_DIR
expect_eq "total" "$(jget "$FIRST/nodes/total/summary.json" 'd["sum"]')" 27.0

echo "# second run: every node from the cache"
run_assay out.txt err.txt run exp.yaml
expect_eq "second run exits 0" "$RC" 0
expect_eq "no marked node ran again" "$(count_lines marks.txt)" 4
expect_eq "all five lines say [cached]" "$(grep -c 'done .*\[cached\]$' err.txt)" 5
expect_grep "summary counts the reused nodes" '5 done \(5 reused\)' out.txt
[ "$RUN_DIR" != "$FIRST" ] && ok "a new run directory" || fail "run directory reused"
for f in src/items.jsonl b/items.jsonl total/summary.json; do
  cmp -s "$FIRST/nodes/$f" "$RUN_DIR/nodes/$f" \
    && ok "cached $f equals the computed one" || fail "$f differs"
done
expect_eq "manifest records the source" \
  "$(jget "$RUN_DIR/manifest.json" 'sorted(set(v["source"] for v in d["nodes"].values()))')" \
  '["cache"]'
expect_eq "node keys are stable across runs" \
  "$(jget "$RUN_DIR/manifest.json" 'd["nodes"]["b"]["key"]')" \
  "$(jget "$FIRST/manifest.json" 'd["nodes"]["b"]["key"]')"

echo "# --fresh recomputes every node"
run_assay out.txt err.txt run exp.yaml --fresh
expect_eq "fresh run exits 0" "$RC" 0
expect_eq "four more marks" "$(count_lines marks.txt)" 8
expect_no_grep "nothing came from the cache" '\[cached\]' err.txt

echo "# a changed option reruns the node and its dependents only"
run_assay out.txt err.txt run exp.yaml --set nodes.a.with.delta=5
expect_eq "changed run exits 0" "$RC" 0
expect_eq "a and b ran again (two marks)" "$(count_lines marks.txt)" 10
expect_eq "the two new marks are a and b" "$(tail -2 marks.txt | sort | tr '\n' ' ')" "a b "
expect_grep "src from the cache" 'done +src .*\[cached\]' err.txt
expect_grep "side from the cache" 'done +side .*\[cached\]' err.txt
expect_grep "total reran (its input changed)" 'done +total \(test\.sum\) [0-9.]+s$' err.txt
expect_eq "the new total" "$(jget "$RUN_DIR/nodes/total/summary.json" 'd["sum"]')" 51.0
expect_eq "the manifest keeps the override" \
  "$(jget "$RUN_DIR/manifest.json" 'd["sets"]')" '["nodes.a.with.delta=5"]'

echo "# back to the first options: everything cached again"
run_assay out.txt err.txt run exp.yaml
expect_eq "no new marks" "$(count_lines marks.txt)" 10
expect_eq "all cached" "$(grep -c '\[cached\]$' err.txt)" 5

echo "# another experiment file with the same node reuses it"
cat >second.yaml <<'Y'
experiment: second
description: a different experiment sharing one node with exp.yaml
nodes:
  src: {plugin: test.source, with: {n: 6, marker: marks.txt}}
  mine: {plugin: test.add, inputs: {items: src}, with: {delta: 100}}
Y
run_assay out.txt err.txt run second.yaml
expect_eq "second experiment exits 0" "$RC" 0
expect_grep "src reused from the shared cache" 'done +src .*\[cached\]' err.txt
expect_no_grep "mine was computed" 'done +mine .*\[cached\]' err.txt
expect_eq "src did not run" "$(count_lines marks.txt)" 10
expect_eq "mine adds 100" "$(jsonl "$RUN_DIR/nodes/mine/items.jsonl" 'rows[0]["value"]')" 100.0

echo "# a separate cache directory starts empty"
run_assay out.txt err.txt run exp.yaml --cache-dir "$WORK/other-cache"
expect_eq "four marks more" "$(count_lines marks.txt)" 14
[ -d "$WORK/other-cache/nodes" ] && ok "the other cache was filled" || fail "no other cache"

echo "# a changed input file: no-cache sources rerun, unchanged data is reused"
printf '{"value": 1}\n{"value": 2}\n' >data.jsonl
cat >data.yaml <<'Y'
experiment: data
nodes:
  data: {plugin: source.jsonl, with: {path: data.jsonl}}
  plus: {plugin: test.add, inputs: {items: data}, with: {marker: data-marks.txt}}
Y
run_assay out.txt err.txt run data.yaml
expect_eq "data run exits 0" "$RC" 0
run_assay out.txt err.txt run data.yaml
expect_grep "same data: plus from the cache" 'done +plus .*\[cached\]' err.txt
expect_no_grep "the source itself always reads the file" 'done +data .*\[cached\]' err.txt
printf '{"value": 1}\n{"value": 5}\n' >data.jsonl
run_assay out.txt err.txt run data.yaml
expect_no_grep "changed data: plus recomputed" 'done +plus .*\[cached\]' err.txt
expect_eq "plus ran twice in all" "$(count_lines data-marks.txt)" 2
expect_eq "new values" "$(jsonl "$RUN_DIR/nodes/plus/items.jsonl" '[r["value"] for r in rows]')" \
  "[2.0, 6.0]"
finish
