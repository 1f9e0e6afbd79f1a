#!/usr/bin/env bash
# Whole graphs through `assay run`: a diamond, a wide fan-out/fan-in of 60
# nodes and a 150-node chain, checking the values the nodes computed.
. "$(dirname "$0")/lib.sh"

echo "# diamond: src -> left, right -> join (records) and a json diamond"
cat >diamond.yaml <<'Y'
experiment: diamond
nodes:
  src: {plugin: test.source, with: {n: 5}}
  left: {plugin: test.add, inputs: {items: src.items}, with: {delta: 1}}
  right: {plugin: test.add, inputs: {items: src.items}, with: {delta: 10}}
  join:
    plugin: test.sum
    inputs: {items: left.items, extra: [right.items, src.items]}
  top: {plugin: test.noop}
  l: {plugin: test.noop, inputs: {x: top}}
  r: {plugin: test.noop, inputs: {x: top}}
  bottom: {plugin: test.noop, inputs: {x: [l, r]}}
report: [join.summary, bottom.y]
Y
run_assay out.txt err.txt run diamond.yaml
expect_eq "diamond exits 0" "$RC" 0
N=$RUN_DIR/nodes
expect_eq "left adds 1" "$(jsonl "$N/left/items.jsonl" '[r["value"] for r in rows]')" \
  "[1.0, 2.0, 3.0, 4.0, 5.0]"
expect_eq "right adds 10" "$(jsonl "$N/right/items.jsonl" '[r["value"] for r in rows]')" \
  "[10.0, 11.0, 12.0, 13.0, 14.0]"
expect_eq "join sums left" "$(jget "$N/join/summary.json" 'd["sum"]')" 15.0
expect_eq "join counts the combined extra input" \
  "$(jget "$N/join/summary.json" 'd["extra"]')" 10
expect_eq "json diamond: 1 + 2 + 2" "$(jget "$N/bottom/y.json" 'd["n"]')" 5
expect_eq "manifest: 8 nodes done" \
  "$(jget "$RUN_DIR/manifest.json" 'sorted(set(v["status"] for v in d["nodes"].values())) + [len(d["nodes"])]')" \
  '["done", 8]'
expect_grep "summary shows the report values" '^  sum +15' out.txt
expect_grep "summary names the run directory" '^run directory: ' out.txt

echo "# wide: one root, 60 parallel nodes, one node reading all 60"
{
  echo "experiment: wide"
  echo "nodes:"
  echo "  root: {plugin: test.source, with: {n: 4}}"
  echo "  seed: {plugin: test.noop}"
  for i in $(seq 1 60); do
    echo "  a$i: {plugin: test.add, inputs: {items: root}, with: {delta: $i}}"
    echo "  j$i: {plugin: test.noop, inputs: {x: seed}}"
  done
  echo "  all:"
  echo "    plugin: test.sum"
  echo "    inputs:"
  echo "      items: a60"
  echo "      extra:"
  for i in $(seq 1 60); do echo "        - a$i"; done
  echo "  count:"
  echo "    plugin: test.noop"
  echo "    inputs:"
  echo "      x:"
  for i in $(seq 1 60); do echo "        - j$i"; done
} >wide.yaml
run_assay out.txt err.txt run wide.yaml -j 8
expect_eq "wide exits 0" "$RC" 0
N=$RUN_DIR/nodes
expect_eq "a37 adds 37" "$(jsonl "$N/a37/items.jsonl" '[r["value"] for r in rows]')" \
  "[37.0, 38.0, 39.0, 40.0]"
expect_eq "all 60 branches reach the sink (4 records each)" \
  "$(jget "$N/all/summary.json" 'd["extra"]')" 240
expect_eq "a60 summed: 60+61+62+63" "$(jget "$N/all/summary.json" 'd["sum"]')" 246.0
expect_eq "fan-in counts every branch: 1 + 60 * 2" \
  "$(jget "$N/count/y.json" 'd["n"]')" 121
expect_eq "124 nodes done" \
  "$(jget "$RUN_DIR/manifest.json" 'sum(v["status"] == "done" for v in d["nodes"].values())')" 124
expect_eq "the run used 8 workers" "$(jget "$RUN_DIR/manifest.json" 'd["jobs"]')" 8

echo "# deep: a chain of 150 test.add nodes and a chain of 150 test.noop nodes"
{
  echo "experiment: deep"
  echo "nodes:"
  echo "  src: {plugin: test.source, with: {n: 3}}"
  echo "  c1: {plugin: test.add, inputs: {items: src}}"
  for i in $(seq 2 150); do
    echo "  c$i: {plugin: test.add, inputs: {items: c$((i - 1))}}"
  done
  echo "  n1: {plugin: test.noop}"
  for i in $(seq 2 150); do
    echo "  n$i: {plugin: test.noop, inputs: {x: n$((i - 1)).y}}"
  done
} >deep.yaml
run_assay out.txt err.txt run deep.yaml -j 4
expect_eq "deep exits 0" "$RC" 0
N=$RUN_DIR/nodes
expect_eq "c150 = value + 150" "$(jsonl "$N/c150/items.jsonl" '[r["value"] for r in rows]')" \
  "[150.0, 151.0, 152.0]"
expect_eq "c75 = value + 75" "$(jsonl "$N/c75/items.jsonl" '[r["value"] for r in rows]')" \
  "[75.0, 76.0, 77.0]"
expect_eq "other fields pass through the chain" \
  "$(jsonl "$N/c150/items.jsonl" '[(r["id"], r["group"]) for r in rows]')" \
  '[[0, "g0"], [1, "g0"], [2, "g0"]]'
expect_eq "n150 counts its 149 ancestors" "$(jget "$N/n150/y.json" 'd["n"]')" 150
expect_eq "301 nodes done" \
  "$(jget "$RUN_DIR/manifest.json" 'sum(v["status"] == "done" for v in d["nodes"].values())')" 301
expect_eq "every node left a node.json" "$(ls "$N"/*/node.json | wc -l | tr -d ' ')" 301
expect_eq "progress lines: one per node" "$(grep -c '^\[[0-9]*/301\] done' err.txt)" 301
finish
