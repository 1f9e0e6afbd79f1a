#!/usr/bin/env bash
# group_by on an all-items node: the node runs once on everything and once
# per group; the json output carries the overall values and a "groups"
# object with each group's values.
. "$(dirname "$0")/lib.sh"

cat >groups.yaml <<'Y'
experiment: grouped
nodes:
  src: {plugin: test.source, with: {n: 10, groups: 3}}
  by_group: {plugin: test.sum, inputs: {items: src}, group_by: group}
  plus: {plugin: test.add, inputs: {items: src}, with: {delta: 100}}
  both:
    plugin: test.sum
    inputs: {items: plus, extra: [src]}
    group_by: group
  tab: {plugin: test.table, with: {n: 6, groups: 2}}
  by_table: {plugin: test.sum, inputs: {items: tab}, group_by: group}
  by_id: {plugin: test.sum, inputs: {items: tab}, group_by: id}
report: [by_group.summary]
Y
run_assay out.txt err.txt run groups.yaml
expect_eq "grouped run exits 0" "$RC" 0
N=$RUN_DIR/nodes

# ids 0..9 in groups g0 = {0,3,6,9}, g1 = {1,4,7}, g2 = {2,5,8}
mapfile -t V < <(jget "$N/by_group/summary.json" '[d["sum"], d["count"]]' \
  'd["group_by"]' 'sorted(d["groups"])' \
  '[[d["groups"][g]["sum"], d["groups"][g]["count"]] for g in ["g0", "g1", "g2"]]' \
  'sum(g["sum"] for g in d["groups"].values()) == d["sum"]')
expect_eq "overall sum and count" "${V[0]}" "[45.0, 10]"
expect_eq "the field is recorded" "${V[1]}" group
expect_eq "one entry per group" "${V[2]}" '["g0", "g1", "g2"]'
expect_eq "per-group sums and counts" "${V[3]}" "[[18.0, 4], [12.0, 3], [15.0, 3]]"
expect_eq "groups add up to the overall value" "${V[4]}" true

# the extra input has the field too: it is split by group as well
mapfile -t V < <(jget "$N/both/summary.json" '[d["sum"], d["extra"]]' \
  '[[d["groups"][g]["sum"], d["groups"][g]["extra"]] for g in ["g0", "g1", "g2"]]')
expect_eq "overall with the extra input" "${V[0]}" "[1045.0, 10]"
expect_eq "each group gets its own part of both inputs" "${V[1]}" \
  "[[418.0, 4], [312.0, 3], [315.0, 3]]"

# a table input: values 0, .5, 1, 1.5, 2, 2.5 in groups g0/g1 alternating
expect_eq "table input, by a string column" \
  "$(jget "$N/by_table/summary.json" '[d["sum"], d["groups"]["g0"]["sum"], d["groups"]["g1"]["sum"]]')" \
  "[7.5, 3.0, 4.5]"
expect_eq "integer group keys become strings" \
  "$(jget "$N/by_id/summary.json" '[sorted(d["groups"]), d["groups"]["4"]["sum"]]' | tr -d '\n')" \
  '[["0", "1", "2", "3", "4", "5"], 2.0]'
expect_grep "node.json records the grouping" '"group_by": "group"' "$N/by_group/node.json"
expect_grep "the terminal summary shows per-group values" '^  groups\.g1\.sum +12' out.txt

echo "# a field no input has"
cat >missing.yaml <<'Y'
experiment: nogroup
nodes:
  src: {plugin: test.source}
  s: {plugin: test.sum, inputs: {items: src}, group_by: colour}
Y
run_assay out.txt err.txt run missing.yaml
expect_eq "exit 1" "$RC" 1
expect_grep "a clear error" "FAILED +s \(test\.sum\): group_by: no input has the field 'colour'" err.txt

echo "# validation refuses group_by on a per-item node"
cat >peritem.yaml <<'Y'
experiment: peritem
nodes:
  src: {plugin: test.source}
  p: {plugin: test.add, inputs: {items: src}, group_by: group}
Y
rc=0; "$ASSAY" validate peritem.yaml >out.txt 2>err.txt || rc=$?
expect_eq "exit 2" "$rc" 2
expect_grep "message" "test\.add computes per item; 'group_by' applies to all-items nodes only" err.txt

echo "# the grouping is part of the node's cache key"
run_assay out.txt err.txt run groups.yaml
expect_grep "same grouping: cached" 'done +by_group .*\[cached\]' err.txt
run_assay out.txt err.txt run groups.yaml --set nodes.by_group.group_by=id
expect_no_grep "another field: recomputed" 'done +by_group .*\[cached\]' err.txt
expect_eq "ten groups by id" "$(jget "$RUN_DIR/nodes/by_group/summary.json" 'len(d["groups"])')" 10
finish
