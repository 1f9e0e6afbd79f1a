#!/usr/bin/env bash
# Interrupted runs: kill -9 in the middle, then `assay run --resume DIR`
# keeps the finished nodes ([resumed], their marker lines do not repeat),
# runs the rest, and ends with the same outputs as a clean run.  Ctrl-C
# (SIGINT) stops cleanly with status "interrupted" and exit status 1.
# Each run gets an empty cache directory so that the node cache cannot
# stand in for resuming.
. "$(dirname "$0")/lib.sh"

{
  echo "experiment: slow"
  echo "nodes:"
  echo "  src: {plugin: test.source, with: {n: 5}}"
  prev=src
  for i in 1 2 3 4 5 6; do
    echo "  s$i: {plugin: test.add, inputs: {items: $prev},"
    echo "       with: {delta: $i, sleep_ms: 800, marker: marks.txt}}"
    prev=s$i
  done
  echo "  total: {plugin: test.sum, inputs: {items: s6, extra: [src]}}"
} >slow.yaml

# wait_marks N PID: wait until marks.txt has N lines (or the run ended)
wait_marks() {
  local i
  for i in $(seq 1 600); do
    [ "$(count_lines marks.txt)" -ge "$1" ] && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

echo "# kill -9 while s3 is running"
"$ASSAY" run slow.yaml --cache-dir "$WORK/cache1" >run1.out 2>run1.err &
pid=$!
wait_marks 3 "$pid" || fail "the run did not reach s3"
kill -9 "$pid"
wait "$pid" 2>/dev/null && fail "the killed run exited normally" || ok "run killed"
RD=$(ls -d runs/slow/*/)
RD=${RD%/}
expect_eq "one run directory" "$(echo "$RD" | wc -l | tr -d ' ')" 1
expect_eq "manifest still says running" "$(jget "$RD/manifest.json" 'd["status"]')" running
before=$(count_lines marks.txt)
done_before=$(for n in src s1 s2 s3 s4 s5 s6 total; do
  f=$RD/nodes/$n/node.json
  if [ -f "$f" ] && [ "$(jget "$f" 'd["status"]')" = done ]; then echo "$n"; fi
done | tr '\n' ' ')
echo "   finished before the kill: $done_before"
case "$done_before" in
  "src s1 s2 "*) ok "src, s1 and s2 had finished" ;;
  *) fail "expected src s1 s2 to be done, got '$done_before'" ;;
esac
[ ! -f "$RD/nodes/total/node.json" ] && ok "total had not run" || fail "total ran"

echo "# resume with an empty cache"
run_assay out.txt err.txt run --resume "$RD" --cache-dir "$WORK/cache2"
expect_eq "resume exits 0" "$RC" 0
expect_eq "the same run directory" "$RUN_DIR" "$RD"
for n in $done_before; do
  expect_grep "$n is [resumed]" "done +$n .*\[resumed\]$" err.txt
done
expect_no_grep "nothing from the node cache" '\[cached\]' err.txt
expect_grep "total was computed" 'done +total \(test\.sum\) [0-9.]+s$' err.txt
for n in $done_before; do
  [ "$n" = src ] && continue
  expect_eq "$n ran once in all" "$(grep -cx "$n" marks.txt)" 1
done
nres=$(grep -c '\[resumed\]$' err.txt)
expect_eq "marker lines: one more for each slow node not resumed" \
  "$(count_lines marks.txt)" "$((before + 6 - (nres - 1)))"
expect_eq "manifest: ok, every node done" \
  "$(jget "$RD/manifest.json" '[d["status"], sorted(set(v["status"] for v in d["nodes"].values()))]' | tr -d '\n')" \
  '["ok", ["done"]]'
expect_eq "log.txt holds both runs" "$(grep -c 'started, [0-9]* worker threads' "$RD/log.txt")" 2

echo "# a clean run gives the same outputs"
run_assay out.txt err.txt run slow.yaml --runs-dir "$WORK/clean" --cache-dir "$WORK/cache3"
expect_eq "clean run exits 0" "$RC" 0
for n in src s1 s2 s3 s4 s5 s6; do
  cmp -s "$RD/nodes/$n/items.jsonl" "$RUN_DIR/nodes/$n/items.jsonl" \
    && ok "$n output equals the clean run's" || fail "$n output differs"
done
cmp -s "$RD/nodes/total/summary.json" "$RUN_DIR/nodes/total/summary.json" \
  && ok "total equals the clean run's" || fail "total differs"
expect_eq "total: (0..4) + 21 * 5" "$(jget "$RD/nodes/total/summary.json" 'd["sum"]')" 115.0

echo "# Ctrl-C (SIGINT) stops cleanly"
: >marks.txt
"$ASSAY" run slow.yaml --runs-dir "$WORK/int" --cache-dir "$WORK/cache4" \
  >int.out 2>int.err &
pid=$!
wait_marks 2 "$pid" || fail "the run did not start s2"
kill -INT "$pid"
rc=0
wait "$pid" || rc=$?
expect_eq "interrupted run exits 1" "$rc" 1
expect_grep "it says it is stopping" '^interrupted: stopping' int.err
expect_grep "summary: interrupted" '^slow: interrupted' int.out
IRD=$(sed -n 's/^run directory: //p' int.out)
mapfile -t V < <(jget "$IRD/manifest.json" 'd["status"]' 'd["nodes"]["s1"]["status"]' \
  'd["nodes"]["s2"]["status"]' 'd["nodes"]["s6"]["status"]' 'd["nodes"]["total"]["status"]' \
  'd["nodes"]["s2"]["error"]')
expect_eq "manifest: interrupted" "${V[0]}" interrupted
expect_eq "s1 finished before the signal" "${V[1]}" done
expect_eq "s2 was cancelled" "${V[2]}" failed
expect_eq "later nodes were skipped" "${V[3]} ${V[4]}" "skipped skipped"
expect_eq "s2's error says why" "${V[5]}" cancelled
expect_eq "no node started after the signal" "$(count_lines marks.txt)" 2
run_assay out.txt err.txt run --resume "$IRD" --cache-dir "$WORK/cache5"
expect_eq "the interrupted run resumes to the end" "$RC" 0
expect_grep "s1 kept" 'done +s1 .*\[resumed\]$' err.txt
cmp -s "$IRD/nodes/total/summary.json" "$RD/nodes/total/summary.json" \
  && ok "resumed-after-Ctrl-C total equals the others" || fail "total differs"
finish
