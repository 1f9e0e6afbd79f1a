#!/usr/bin/env bash
# Valgrind (memcheck) on a small integration run of the `assay` CLI:
# plugin loading, validation, a run of real and test plugins (a data file
# through transforms to a metric and a sink, group_by, a node in an
# isolated worker process, an LLM node against the fake server when it
# is built), the node cache on a second run, the report and the terminal
# summary, then `assay validate` of a broken file and `assay plugins`.
# Any invalid read or write, use of uninitialised memory, bad free or
# definite leak fails the test.
#
# Needs ASSAY (a build without sanitizers: valgrind cannot run those),
# ASSAY_PLUGIN_PATH (the test plugins) and optionally FAKELLM (meson test
# sets them).  Exit 77 (skipped) without valgrind or with a sanitizer
# build.
set -euo pipefail
: "${ASSAY:?set ASSAY to the assay binary (meson test sets it)}"
: "${ASSAY_PLUGIN_PATH:?set ASSAY_PLUGIN_PATH to the test plugins}"
command -v valgrind >/dev/null ||
    { echo "SKIP: valgrind is not installed"; exit 77; }
if grep -qa -e __asan_init -e __tsan_init -e __msan_init "$ASSAY" ||
    { command -v ldd >/dev/null && ldd "$ASSAY" | grep -q -e libasan -e libtsan; }
then
    echo "SKIP: $ASSAY is built with a sanitizer (valgrind needs a plain build)"
    exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/assay-vg.XXXXXX")
srv=
cleanup() {
    [ -n "$srv" ] && kill "$srv" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

vg() { # LOG ARGS...: run assay under memcheck; its own exit status
    local log=$1
    shift
    valgrind --tool=memcheck --error-exitcode=99 --leak-check=full \
        --errors-for-leak-kinds=definite --show-leak-kinds=definite \
        --track-origins=yes --child-silent-after-fork=yes --num-callers=30 \
        --log-file="$work/$log.vg" "$ASSAY" "$@" >"$work/$log.out" 2>&1
}
check() { # WHAT LOG WANT_STATUS STATUS
    if [ "$4" = 99 ]; then
        cat "$work/$2.vg"
        echo "FAIL: $1: memcheck found errors"
        exit 1
    fi
    if [ "$4" != "$3" ]; then
        cat "$work/$2.out"
        echo "FAIL: $1: exit status $4, expected $3"
        exit 1
    fi
    grep -E "ERROR SUMMARY|definitely lost" "$work/$2.vg" | sed "s/^==[0-9]*==/$1:/"
}

for i in 1 2 3 4 5 6 7 8; do
    printf '{"id": %d, "label": %d, "pred": %d, "score": 0.%d, "g": "g%d", "value": %d}\n' \
        "$i" $((i % 2)) $((i % 3 == 0 ? 0 : i % 2)) "$i" $((i % 2)) "$i"
done >items.jsonl

llm_section=
llm_nodes=
if [ -n "${FAKELLM:-}" ] && [ -x "$FAKELLM" ]; then
    "$FAKELLM" --port 0 >port 2>server.log &
    srv=$!
    for _ in $(seq 200); do [ -s port ] && break; sleep 0.05; done
    port=$(head -n1 port)
    llm_section="llm:
  fake: {provider: openai, base_url: \"http://127.0.0.1:$port/v1\",
         model: m, max_concurrency: 4, timeout: 30}"
    llm_nodes="  gen:
    plugin: llm.generate
    inputs: {items: data}
    with: {llm: fake, user: \"Q: {{id}}\"}"
fi

cat >exp.yaml <<EOF
experiment: valgrind
seed: 3
$llm_section
nodes:
  data: {plugin: source.jsonl, with: {path: items.jsonl}}
  keep:
    plugin: transform.filter
    inputs: {items: data}
    with: {where: [{field: id, op: '<=', value: 7}]}
  slim: {plugin: transform.select, inputs: {items: keep.items}, with: {drop: [g]}}
  acc:
    plugin: metric.classification
    inputs: {items: slim}
    with: {metrics: [accuracy, auc], bootstrap: 50}
  out: {plugin: sink.jsonl, inputs: {items: slim}, with: {path: out.jsonl}}
  src: {plugin: test.source, with: {n: 6, groups: 2}}
  add:
    plugin: test.add
    inputs: {items: src}
    with: {delta: 1}
    isolation: process
  sum: {plugin: test.sum, inputs: {items: add}, group_by: group}
$llm_nodes
report: [acc.summary, sum.summary]
EOF

set +e
vg run1 run exp.yaml --runs-dir runs --cache-dir cache -j 2
check "first run" run1 0 $?
vg run2 run exp.yaml --runs-dir runs --cache-dir cache -j 2
check "second run (node cache)" run2 0 $?
printf 'experiment: bad\nnodes:\n  a: {plugin: test.ad, with: {x: 1}}\n' >bad.yaml
vg validate validate bad.yaml
check "validate a broken file" validate 2 $?
vg plugins plugins
check "plugins" plugins 0 $?
set -e
rd=$(ls -d runs/valgrind/*/ | head -n1)
[ -f "$rd/report.html" ] || { echo "FAIL: no report written"; exit 1; }
[ -z "$llm_nodes" ] || [ "$(wc -l <"$rd/nodes/gen/items.jsonl")" = 8 ] ||
    { echo "FAIL: the LLM node did not answer every item"; exit 1; }
echo "memcheck: no errors${llm_nodes:+ (with the LLM service)}"
