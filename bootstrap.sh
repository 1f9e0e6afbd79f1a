#!/usr/bin/env bash
# Install what assay needs on Debian 12, build it, and run it.
#
#   ./bootstrap.sh quickstart   install packages, build, run configs/quickstart.yaml
#   ./bootstrap.sh test         install packages, build, run the whole test suite
#   ./bootstrap.sh test-asan    the same under AddressSanitizer + UBSan (build-asan/)
#   ./bootstrap.sh deps | build only one step
set -euo pipefail
cd "$(dirname "$0")"

PACKAGES=(
  build-essential meson ninja-build pkg-config
  libyaml-dev libjansson-dev libcurl4-openssl-dev libsqlite3-dev
  libopenblas-dev liblapacke-dev libnlopt-dev libutf8proc-dev
  libcmocka-dev python3 curl
)

# Only the test suite needs these: a real one-node Slurm cluster, a
# headless browser for the report test, node/npm for the Kubernetes
# manifest schema check, and the checkers of the 'static' suite
# (clang-tidy, cppcheck, a clang ThreadSanitizer build, valgrind).
TEST_PACKAGES=(slurm-wlm munge chromium
               clang clang-tidy libclang-rt-14-dev cppcheck valgrind)

deps() {
  local missing=()
  local want=("${PACKAGES[@]}")
  if [ "${1:-}" = test ]; then
    want+=("${TEST_PACKAGES[@]}")
    # node/npm may come from elsewhere than Debian: only add them if absent
    command -v npm >/dev/null || want+=(nodejs npm)
  fi
  for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
      missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

build() {
  local dir=${1:-build}; shift || true
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$@" >/dev/null
  fi
  ninja -C "$dir"
}

summary() {
  # meson's testlog.json holds one JSON object per test of this run (the
  # text log also holds the tests' own output, which may quote another
  # meson summary): count their results
  local log=$1/meson-logs/testlog.json
  python3 - "$log" <<'PY'
import json, sys
ok = fail = skip = 0
try:
    lines = open(sys.argv[1], encoding="utf-8", errors="replace")
except OSError as e:
    sys.exit(f"no test log: {e}")
for line in lines:
    try:
        result = json.loads(line).get("result", "")
    except ValueError:
        continue
    if result in ("OK", "EXPECTEDFAIL"):
        ok += 1
    elif result == "SKIP":
        skip += 1
    else:  # FAIL, UNEXPECTEDPASS, TIMEOUT, ERROR
        fail += 1
print(f"{ok} passed, {fail} failed, {skip} skipped")
PY
}

run_tests() {
  local dir=$1; shift
  local rc=0
  meson test -C "$dir" --no-rebuild --print-errorlogs "$@" || rc=$?
  summary "$dir"
  return $rc
}

case "${1:-quickstart}" in
  deps) deps ;;
  build) deps; build build ;;
  quickstart)
    deps; build build
    ./build/assay run configs/quickstart.yaml ;;
  test)
    deps test; build build
    run_tests build ;;
  test-asan)
    deps test
    build build-asan -Db_sanitize=address,undefined -Db_lundef=false
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      run_tests build-asan --timeout-multiplier 3 ;;
  *) echo "usage: $0 [quickstart|test|test-asan|deps|build]" >&2; exit 2 ;;
esac
