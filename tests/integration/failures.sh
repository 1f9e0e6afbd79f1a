#!/usr/bin/env bash
# A failing node: the run exits 1, the nodes that depend on it are skipped,
# independent branches still finish, and the error text reaches stderr,
# the summary and the manifest.  A plugin that returns success without
# setting its output is a failure with a clear message.
. "$(dirname "$0")/lib.sh"

cat >fail.yaml <<'Y'
experiment: failing
nodes:
  src: {plugin: test.source, with: {n: 4}}
  bad:
    plugin: test.fail
    inputs: {items: src}
    with: {message: "record 3: field 'label' is missing"}
  after: {plugin: test.add, inputs: {items: bad}}
  after2: {plugin: test.sum, inputs: {items: after}}
  fine: {plugin: test.add, inputs: {items: src}, with: {delta: 2}}
  fine2: {plugin: test.sum, inputs: {items: fine}}
  silent: {plugin: test.fail, with: {how: no-output}}
  below_silent: {plugin: test.add, inputs: {items: silent}}
report: [fine2.summary]
Y

echo "# run with two failing nodes"
run_assay out.txt err.txt run fail.yaml -j 2
expect_eq "exit status 1" "$RC" 1
expect_grep "stderr: the failing node and its error" \
  "FAILED +bad \(test\.fail\): record 3: field 'label' is missing" err.txt
expect_grep "stderr: the output that was never set" \
  "FAILED +silent \(test\.fail\): test\.fail finished without setting output 'items'" err.txt
expect_grep "stderr: independent branches finished" 'done +fine2 \(test\.sum\)' err.txt
expect_no_grep "stderr: skipped nodes did not run" 'done +(after|after2|below_silent) ' err.txt
expect_grep "stderr: a line for each skipped node" \
  "skipped after2 \(test\.sum\): upstream node 'bad' failed" err.txt
expect_eq "stderr: one line per node" "$(grep -c '^\[[0-9]/8\] ' err.txt)" 8
expect_grep "summary: status and counts" \
  '^failing: failed .* 3 done \(0 reused\), 2 failed, 3 skipped' out.txt
expect_grep "summary: the error again" "^failed: bad: record 3: field 'label' is missing" out.txt
expect_grep "summary: report of the branch that finished" '^  sum +14' out.txt

M=$RUN_DIR/manifest.json
mapfile -t V < <(jget "$M" 'd["status"]' \
  '[d["nodes"][n]["status"] for n in ["src", "bad", "after", "after2", "fine", "fine2", "silent", "below_silent"]]' \
  'd["nodes"]["bad"]["error"]' 'd["nodes"]["after"]["error"]' \
  'd["nodes"]["after2"]["error"]' 'd["nodes"]["silent"]["error"]' \
  'd["nodes"]["below_silent"]["error"]' '"key" in d["nodes"]["after"]')
expect_eq "manifest: run status" "${V[0]}" failed
expect_eq "manifest: node statuses" "${V[1]}" \
  '["done", "failed", "skipped", "skipped", "done", "done", "failed", "skipped"]'
expect_eq "manifest: error of the failed node" "${V[2]}" "record 3: field 'label' is missing"
expect_eq "manifest: why a node was skipped" "${V[3]}" "skipped: upstream node 'bad' failed"
expect_eq "manifest: skipping is transitive" "${V[4]}" "skipped: upstream node 'bad' failed"
expect_eq "manifest: missing output" "${V[5]}" \
  "test.fail finished without setting output 'items'"
expect_eq "manifest: below the silent node" "${V[6]}" "skipped: upstream node 'silent' failed"
expect_eq "manifest: skipped nodes have no key" "${V[7]}" false
N=$RUN_DIR/nodes
expect_eq "node.json of the failed node" \
  "$(jget "$N/bad/node.json" '[d["status"], d["error"], d["outputs"]]' | tr -d '\n')" \
  "[\"failed\", \"record 3: field 'label' is missing\", {}]"
[ ! -e "$N/after" ] && ok "no directory for a skipped node" || fail "skipped node has a directory"
[ -f "$N/fine2/summary.json" ] && ok "the independent branch wrote its output" \
  || fail "fine2/summary.json missing"
expect_grep "log.txt records the failure" "bad: failed \(run, .*\): record 3" "$RUN_DIR/log.txt"

echo "# a failure stops nothing else: the same run again reuses what finished"
run_assay out.txt err.txt run fail.yaml -j 2
expect_eq "still exit status 1" "$RC" 1
expect_grep "finished branch comes from the cache" 'done +fine2 .*\[cached\]' err.txt
expect_grep "the failing node ran again" 'FAILED +bad ' err.txt

echo "# the first failure in a chain of one"
cat >one.yaml <<'Y'
nodes:
  only: {plugin: test.fail, with: {message: "nothing to do"}}
Y
run_assay out.txt err.txt run one.yaml -q
expect_eq "quiet failing run exits 1" "$RC" 1
expect_eq "quiet run prints only the error" "$(cat err.txt)" \
  "[1/1] FAILED  only (test.fail): nothing to do"
finish
