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
# manifest schema check.
TEST_PACKAGES=(slurm-wlm munge chromium)

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
  # meson's testlog holds one line per test: print the plain count line
  local log=$1/meson-logs/testlog.txt
  python3 - "$log" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
def grab(name):
    m = re.search(r"^" + name + r":\s+(\d+)", text, re.M)
    return int(m.group(1)) if m else 0
ok, fail = grab("Ok") + grab("Expected Fail"), grab("Fail") + grab("Unexpected Pass") + grab("Timeout")
print(f"{ok} passed, {fail} failed, {grab('Skipped')} skipped")
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
