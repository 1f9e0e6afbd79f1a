#!/usr/bin/env bash
# ThreadSanitizer: the scheduler (tests/unit/test_run.c: worker pool,
# cancellation, cache, isolation) and the LLM service tests (tests/llm:
# the event loop thread, streams, dedup of identical requests, rate
# limits, against the fake server) built with -fsanitize=thread and run;
# any data race or lock-order problem fails the test.
#
#   tests/static/tsan.sh [BUILD_DIR]
#
# BUILD_DIR (default $ASSAY_BUILD/static-tsan, else build-tsan) is
# configured once with clang (gcc when clang is missing) and only the
# programs needed are built.  Exit 77 (skipped) when no compiler here
# can link a ThreadSanitizer program.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-${ASSAY_BUILD:+$ASSAY_BUILD/static-tsan}}
build=${build:-$src/build-tsan}

cc=
for c in clang gcc; do
    if command -v "$c" >/dev/null &&
        echo 'int main(void){return 0;}' |
        "$c" -fsanitize=thread -x c - -o /tmp/assay-tsan-probe.$$ 2>/dev/null
    then
        cc=$c
        break
    fi
done
rm -f /tmp/assay-tsan-probe.$$
if [ -z "$cc" ]; then
    echo "SKIP: no compiler here links -fsanitize=thread (install clang)"
    exit 77
fi

if [ ! -f "$build/build.ninja" ]; then
    # benchmarks off; the sanitizer build needs b_lundef off (plugins
    # leave the runtime's symbols to the executable)
    mkdir -p "$build"
    CC=$cc meson setup "$build" "$src" -Db_sanitize=thread -Db_lundef=false \
        -Dbenchmarks=false >"$build/static-setup.log" 2>&1 ||
        { cat "$build/static-setup.log"; exit 1; }
fi
tests=(run llm-service llm-providers llm-generate llm-oom)
targets=(tests/test-run tests/plugins/test-plugins.so
         tests/llm/test-llm-service tests/llm/test-llm-providers
         tests/llm/test-llm-generate tests/llm/test-llm-oom tests/llm/fakellm
         plugins/llm/openai/llm-openai.so
         plugins/llm/anthropic/llm-anthropic.so
         plugins/llm/generate/llm-generate.so)
# the broken plugins test_run's registry may scan
mapfile -t broken < <(ninja -C "$build" -t targets all 2>/dev/null |
    sed -n 's|^\(tests/broken/[^:]*\.so\):.*|\1|p')
ninja -C "$build" "${targets[@]}" "${broken[@]}" >"$build/static-ninja.log" \
    2>&1 || { tail -50 "$build/static-ninja.log"; exit 1; }

# halt at the first report; the tests' own exit status says the rest
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 exitcode=66 \
suppressions=$src/tests/static/tsan.supp ${TSAN_OPTIONS:-}"
# TSan runs programs several times slower: give the tests room
meson test -C "$build" --no-rebuild --timeout-multiplier 5 --print-errorlogs \
    "${tests[@]}"
