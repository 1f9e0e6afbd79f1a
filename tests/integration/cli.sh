#!/usr/bin/env bash
# The command line: --help everywhere, exit status 2 with a message for
# unknown commands and bad flags, `plugins` and `plugins info`, `graph` in
# both formats, `runs` listing the runs made, `validate`.
. "$(dirname "$0")/lib.sh"

echo "# --help"
"$ASSAY" --help >out.txt 2>err.txt && ok "assay --help exits 0" || fail "assay --help"
expect_grep "top-level usage lists run" '^  run EXP\.yaml' out.txt
cmds=$(sed -n 's/^  \([a-z][a-z]*\) .*/\1/p' out.txt | sort -u)
[ -n "$cmds" ] || fail "no commands in the usage text"
for c in $cmds; do
  rc=0
  "$ASSAY" "$c" --help >out.txt 2>err.txt || rc=$?
  expect_eq "assay $c --help exits 0" "$rc" 0
  expect_grep "assay $c --help prints a usage" '^usage: assay' out.txt
done
rc=0; "$ASSAY" >out.txt 2>err.txt || rc=$?
expect_eq "no command: exit 2" "$rc" 2
expect_grep "no command: the usage on stderr" '^usage: assay <command>' err.txt
"$ASSAY" --version >out.txt && ok "--version exits 0" || fail "--version"
expect_grep "--version names the ABI" '^assay [0-9.]+ \(plugin ABI [0-9]+\.[0-9]+\)$' out.txt

echo "# bad usage: exit status 2 and a message"
bad() { # WHAT PATTERN ARGS...
  local what=$1 pat=$2 rc=0
  shift 2
  "$ASSAY" "$@" >out.txt 2>err.txt || rc=$?
  expect_eq "$what: exit 2" "$rc" 2
  expect_grep "$what: message" "$pat" err.txt
}
cat >ok.yaml <<'Y'
experiment: clitest
nodes:
  src: {plugin: test.source, with: {n: 3}}
  plus: {plugin: test.add, inputs: {items: src.items}}
  total: {plugin: test.sum, inputs: {items: plus, extra: [src]}}
report: [total.summary]
Y
bad "unknown command" "^assay: unknown command 'rnu'; did you mean 'run'\?" rnu ok.yaml
bad "unknown command, nothing close" "^assay: unknown command 'frobnicate'$" frobnicate
bad "unknown flag" "^assay: unknown option '--bogus'" run --bogus ok.yaml
bad "unknown flag on validate" "^assay: unknown option '-x'" validate -x ok.yaml
bad "flag without its value" '^assay: --set needs a value' run ok.yaml --set
bad "--jobs 0" '^assay: -j expects a number of threads' run -j 0 ok.yaml
bad "--jobs not a number" '^assay: --jobs expects a number of threads' run --jobs many ok.yaml
bad "--cache mode" '^assay: --cache expects read-write, off or replay' run --cache sometimes ok.yaml
bad "graph --format" '^assay: --format expects dot or mermaid' graph --format png ok.yaml
bad "validate without a file" '^usage: assay validate' validate
bad "run without a file" '^usage: assay run' run
bad "missing file" 'cannot read the file' validate nothing.yaml
bad "plugins info without a name" '^usage: assay plugins info NAME' plugins info
bad "plugins info unknown" "^assay: unknown plugin 'test.ad'; did you mean 'test.add'\?" plugins info test.ad
bad "plugins subcommand" "^assay: unknown plugins subcommand 'list'" plugins list
bad "--resume without a run" '^assay: --resume: cannot read' run --resume "$WORK/nothing"

echo "# plugins"
"$ASSAY" plugins >out.txt 2>err.txt && ok "plugins exits 0" || fail "plugins"
n=$(sed -n 's/^\([0-9][0-9]*\) plugins$/\1/p' out.txt)
listed=$(grep -cE '^[a-z0-9_-]+\.[a-z0-9_.-]+ +[a-z-]+ ' out.txt)
expect_eq "the count matches the entries" "$listed" "$n"
for p in test.source test.add test.sum test.fail test.table test.noop; do
  expect_grep "lists $p" "^$p +" out.txt
done
expect_grep "ports of test.sum" '^  in:  items:records, extra:records\?$' out.txt
# every plugin the build produced is listed
if [ -n "${ASSAY_BUILD:-}" ] && [ -d "$ASSAY_BUILD/plugins" ]; then
  nso=$(find "$ASSAY_BUILD/plugins" -name '*.so' -path '*/plugins/*' | wc -l | tr -d ' ')
  [ "$n" -ge "$((nso + 6))" ] && ok "at least one plugin per built .so ($nso + 6 test plugins)" \
    || fail "$n plugins listed for $nso built files"
fi
"$ASSAY" plugins info test.add >out.txt 2>err.txt && ok "plugins info exits 0" || fail "info"
expect_grep "info: name, version, kind" '^test\.add 1\.0\.0 \(transform\)$' out.txt
expect_grep "info: the required input" '^  items +records +required +records with a numeric' out.txt
expect_grep "info: delta with its default" '^  delta +float +default 1$' out.txt
expect_grep "info: sleep_ms with default and range" '^  sleep_ms +int +default 0 in \[0, inf\]$' out.txt
expect_grep "info: an option without default" '^  marker +string +default \(none\)$' out.txt
expect_grep "info: option docs" '^ +append the node name to this file when run$' out.txt
expect_grep "info: flags" '^flags: per-item, deterministic$' out.txt
expect_grep "info: the file's hash" '^sha256: [0-9a-f]{64}$' out.txt
"$ASSAY" plugins info test.fail >out.txt
expect_grep "info: enum choices" '^  how +enum +default "error" one of error\|no-output\|segv\|abort\|exit$' out.txt

echo "# validate"
"$ASSAY" validate ok.yaml >out.txt 2>err.txt && ok "validate exits 0" || fail "validate"
expect_eq "validate says ok" "$(cat out.txt)" "ok.yaml: ok (3 nodes, 3 connections)"
expect_eq "validate is silent on stderr" "$(cat err.txt)" ""
rc=0; "$ASSAY" validate ok.yaml --set nodes.src.with.n=-1 >out.txt 2>err.txt || rc=$?
expect_eq "validate with a bad override: exit 2" "$rc" 2
expect_grep "the override's value is checked" "option 'n' is -1; it must be at least 0" err.txt
expect_grep "error count" '^1 error$' err.txt

echo "# graph"
"$ASSAY" graph ok.yaml >out.txt && ok "graph exits 0" || fail "graph"
expect_grep "dot: header" '^digraph "clitest" \{$' out.txt
expect_grep "dot: node with plugin" '^  "plus" \[label="plus\\ntest\.add"\];$' out.txt
expect_grep "dot: edge with ports" '^  "src" -> "total" \[label="items -> extra"\];$' out.txt
expect_eq "dot: three edges" "$(grep -c -- '->' out.txt)" 3
"$ASSAY" graph --format mermaid ok.yaml >out.txt && ok "mermaid exits 0" || fail "mermaid"
expect_grep "mermaid: header" '^flowchart LR$' out.txt
expect_grep "mermaid: node" '^  n1\["plus<br/><small>test\.add</small>"\]$' out.txt
expect_grep "mermaid: edge" '^  n2 -- "items → items" --> n1$|^  n0 -- "items → items" --> n1$' out.txt
"$ASSAY" graph --format dot ok.yaml >dot2.txt
"$ASSAY" graph ok.yaml >dot1.txt
cmp -s dot1.txt dot2.txt && ok "dot is the default" || fail "default format"

echo "# dry run"
"$ASSAY" run ok.yaml --dry-run >out.txt 2>err.txt && ok "dry run exits 0" || fail "dry run"
expect_grep "plan lists the nodes in order" '^   3\. total +test\.sum +items<-plus\.items, extra<-src\.items$' out.txt
[ ! -d runs ] && ok "dry run made no run directory" || fail "dry run wrote runs/"

echo "# runs"
run_assay out.txt err.txt run ok.yaml
expect_eq "a run" "$RC" 0
R1=$RUN_DIR
cat >broken.yaml <<'Y'
experiment: clifail
nodes:
  f: {plugin: test.fail}
Y
run_assay out.txt err.txt run broken.yaml
expect_eq "a failing run" "$RC" 1
R2=$RUN_DIR
"$ASSAY" runs >out.txt 2>err.txt && ok "runs exits 0" || fail "runs"
expect_grep "runs: header" '^experiment +started +status' out.txt
expect_grep "runs: the ok run" "^clitest +[0-9T:Z-]+ +ok .*${R1##*/}" out.txt
expect_grep "runs: the failed run" "^clifail +[0-9T:Z-]+ +failed .*${R2##*/}" out.txt
expect_eq "runs: two rows" "$(grep -cE '^(clitest|clifail) ' out.txt)" 2
"$ASSAY" runs --runs-dir "$WORK/none" >out.txt 2>&1 && ok "runs with no runs exits 0" || fail "empty runs"
expect_grep "runs: nothing there" 'no runs' out.txt
finish
