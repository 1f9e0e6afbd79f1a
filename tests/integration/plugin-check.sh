#!/usr/bin/env bash
# `assay plugin-check` on every in-tree plugin: descriptors, docs, exports,
# and robustness (empty and malformed inputs, cancellation, a sweep of
# failing allocations) in forked workers against a mock host.  It must
# also catch what is wrong with the deliberately broken files.
set -euo pipefail
: "${ASSAY:?}" "${ASSAY_BUILD:?}" "${BROKEN_DIR:?}"
fail() { echo "FAIL: $*"; exit 1; }
n=0
while IFS= read -r so; do
  if ! out=$("$ASSAY" plugin-check "$so" --sweep 32 2>&1); then
    printf '%s\n' "$out"
    fail "plugin-check failed for $so"
  fi
  n=$((n + 1))
done < <(find "$ASSAY_BUILD/plugins" -name '*.so' -not -path '*.p/*' | sort)
[ "$n" -ge 20 ] || fail "found only $n plugin files"
echo "plugin-check passed on $n in-tree plugin files"
"$ASSAY" plugin-check "$ASSAY_BUILD/tests/plugins/test-plugins.so" --sweep 32 \
  > /dev/null || fail "test plugins"
for b in abi null_run bad_default no_entry; do
  if "$ASSAY" plugin-check "$BROKEN_DIR/broken-$b.so" > out.txt 2>&1; then
    fail "plugin-check accepted broken-$b.so"
  fi
  grep -q FAIL out.txt || fail "no FAIL line for broken-$b.so"
done
rm -f out.txt
echo "plugin-check rejects the broken files"
