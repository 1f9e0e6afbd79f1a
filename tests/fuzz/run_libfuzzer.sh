#!/bin/bash
# Coverage-guided fuzzing of the harnesses in tests/fuzz with libFuzzer.
#
#   tests/fuzz/run_libfuzzer.sh [-t SECONDS] [-j JOBS] [-b BUILD_DIR] [NAME...]
#
# Configures (once) a clang build with AddressSanitizer and UBSan in
# BUILD_DIR (default build-fuzz), builds the fuzz-NAME-libfuzzer programs,
# and runs each harness for SECONDS (default 600), JOBS at a time
# (default 2), each with its own growing corpus in
# BUILD_DIR/fuzz-work/NAME/corpus, seeded from the same seed files and
# directories as the fuzz-smoke tests.  Prints executions per second,
# corpus size and coverage per harness.  Crashing, leaking or hanging
# inputs land in BUILD_DIR/fuzz-work/NAME/artifacts; once the bug is
# fixed, copy the input to tests/fuzz/regress/NAME/ so that every smoke
# run replays it.  Needs clang and libclang-rt-14-dev (Debian).
set -eu

secs=600
jobs=2
build=build-fuzz
while getopts t:j:b: opt; do
    case $opt in
    t) secs=$OPTARG ;;
    j) jobs=$OPTARG ;;
    b) build=$OPTARG ;;
    *) sed -n '2,16p' "$0" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))

src=$(cd "$(dirname "$0")/../.." && pwd)
cd "$src"
command -v clang >/dev/null || { echo "clang not found" >&2; exit 77; }

if [ ! -f "$build/build.ninja" ]; then
    CC=clang meson setup "$build" -Db_sanitize=address,undefined \
        -Db_lundef=false -Dbenchmarks=false >/dev/null
fi
names=${*:-graph options provider judge rec fexpr sources}
targets=tests/plugins/test-plugins.so
for n in $names; do
    targets="$targets tests/fuzz/fuzz-$n-libfuzzer"
done
# shellcheck disable=SC2086
ninja -C "$build" $targets >/dev/null

# The smoke tests' arguments name the seeds and the dictionary.
meson introspect "$build" --tests > "$build/fuzz-tests.json"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

run_one() {
    n=$1
    work=$build/fuzz-work/$n
    mkdir -p "$work/corpus" "$work/seeds" "$work/artifacts"
    args=$(python3 - "$build/fuzz-tests.json" "fuzz-$n" <<'EOF'
import json, shlex, sys
for t in json.load(open(sys.argv[1])):
    if t["name"] == sys.argv[2]:
        print(" ".join(shlex.quote(a) for a in t["cmd"][1:]
                       if not a.startswith("-runs=")))
EOF
)
    dict=
    eval "set -- $args"
    for a in "$@"; do
        case $a in
        -dict=*) dict=$a ;;
        -*) ;;
        *) if [ -d "$a" ]; then
               find "$a" -type f | while read -r f; do
                   cp "$f" "$work/seeds/$(echo "$f" | tr / _)"
               done
           elif [ -f "$a" ]; then
               cp "$a" "$work/seeds/$(echo "$a" | tr / _)"
           fi ;;
        esac
    done
    "$build/tests/fuzz/fuzz-$n-libfuzzer" -max_total_time="$secs" \
        -timeout=20 -rss_limit_mb=4096 -max_len=16384 -print_final_stats=1 \
        -artifact_prefix="$work/artifacts/" $dict \
        "$work/corpus" "$work/seeds" > "$work/log.txt" 2>&1 || true
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log.txt")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log.txt")
    cov=$(grep -o 'cov: [0-9]*' "$work/log.txt" | tail -1 | cut -d' ' -f2)
    size=$(find "$work/corpus" -type f | wc -l)
    found=$(find "$work/artifacts" -type f | wc -l)
    printf '%-9s %6ss %12s execs %8s/s corpus %6s cov %6s findings %s\n' \
        "$n" "$secs" "${execs:-?}" "${rate:-?}" "$size" "${cov:-?}" "$found"
}

running=0
for n in $names; do
    run_one "$n" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n
        running=$((running - 1))
    fi
done
wait
found=$(find "$build/fuzz-work" -path '*/artifacts/*' -type f | wc -l)
if [ "$found" -gt 0 ]; then
    echo "findings:"
    find "$build/fuzz-work" -path '*/artifacts/*' -type f
    exit 1
fi
