#!/usr/bin/env bash
# cppcheck over the host, the SDK headers and every plugin, with the
# compile flags of a meson build (tests/static/compdb.py picks the files
# and makes the commands tool-friendly).
#
#   tests/static/cppcheck.sh [BUILD_DIR]      (default $ASSAY_BUILD, build)
#
# Rule set: the `warning` (undefined behaviour, leaks, uninitialised or
# out-of-bounds use, wrong printf arguments, ...), `performance` and
# `portability` groups; `style` is left to review and clang-format.
# Known false positives are listed, with reasons, in cppcheck.supp.
# Exit 77 (skipped) when cppcheck is not installed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${1:-${ASSAY_BUILD:-$src/build}}
command -v cppcheck >/dev/null ||
    { echo "SKIP: cppcheck is not installed (Debian package cppcheck)"; exit 77; }
[ -f "$build/compile_commands.json" ] ||
    { echo "no compile_commands.json in $build (run meson setup)"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/assay-cppcheck.XXXXXX")
trap 'rm -rf "$work"' EXIT
n=$(python3 "$here/compdb.py" "$build" "$work" | wc -l)
echo "cppcheck $(cppcheck --version | cut -d' ' -f2) on $n files"
jobs=$(nproc 2>/dev/null || echo 2)
cppcheck --project="$work/compile_commands.json" \
    --include="$here/cppcheck-macros.h" \
    --enable=warning,performance,portability --std=c11 \
    --suppressions-list="$here/cppcheck.supp" --suppress=missingIncludeSystem \
    --inline-suppr --error-exitcode=1 -q -j "$jobs" \
    --template='{file}:{line}:{column}: {severity}: {message} [{id}]'
echo "cppcheck: clean"
