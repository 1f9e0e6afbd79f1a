#!/usr/bin/env bash
# clang-tidy over the host, the SDK headers and every plugin with the
# rule set in tests/static/clang-tidy.yaml (see there for what and why),
# using the compile flags of a meson build (tests/static/compdb.py).
#
#   tests/static/clang-tidy.sh [BUILD_DIR] [FILE...]
#
# BUILD_DIR defaults to $ASSAY_BUILD, else build; FILEs (paths from the
# repository root) restrict the check to those files.  The build must
# have run once: generated headers (prompt templates) are read.  Any
# warning fails.  Exit 77 (skipped) when clang-tidy is not installed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${1:-${ASSAY_BUILD:-$src/build}}
shift || true
tidy=$(command -v clang-tidy || command -v clang-tidy-14 || true)
[ -n "$tidy" ] ||
    { echo "SKIP: clang-tidy is not installed (Debian package clang-tidy)"; exit 77; }
[ -f "$build/compile_commands.json" ] ||
    { echo "no compile_commands.json in $build (run meson setup)"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/assay-tidy.XXXXXX")
trap 'rm -rf "$work"' EXIT
python3 "$here/compdb.py" "$build" "$work" >"$work/files"
if [ $# -gt 0 ]; then
    printf '%s\n' "$@" | grep -Fxf - "$work/files" >"$work/some" || true
    mv "$work/some" "$work/files"
fi
n=$(wc -l <"$work/files")
echo "$("$tidy" --version | grep -o 'version [0-9.]*') on $n files"
jobs=$(nproc 2>/dev/null || echo 2)
(cd "$src" && xargs -a "$work/files" -P "$jobs" -n 4 \
    "$tidy" -p "$work" --config-file="$here/clang-tidy.yaml" --quiet \
    >"$work/out" 2>"$work/err") || true
# one line per finding (a header's finding shows once), with its context
if grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error):' "$work/out" |
    sort -u >"$work/findings" && [ -s "$work/findings" ]; then
    cat "$work/out"
    echo "clang-tidy: $(wc -l <"$work/findings") finding(s):"
    cat "$work/findings"
    exit 1
fi
if grep -q 'error' "$work/err"; then
    cat "$work/err"
    exit 1
fi
echo "clang-tidy: clean"
