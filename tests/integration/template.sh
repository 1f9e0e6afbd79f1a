#!/usr/bin/env bash
# The plugin template builds out of tree against the *installed* SDK with
# pkg-config only, exports only its entry symbol, needs no host symbol,
# and runs in a graph.
set -euo pipefail
: "${ASSAY:?}" "${ASSAY_SRC:?}" "${ASSAY_BUILD:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "install into a staging root"
DESTDIR="$tmp/root" meson install -C "$ASSAY_BUILD" --no-rebuild --quiet \
  >/dev/null
pc=$(dirname "$(find "$tmp/root" -name assay-sdk.pc | head -n1)")
[ -n "$pc" ] || { echo "FAIL: assay-sdk.pc not installed"; exit 1; }
find "$tmp/root" -path '*/include/assay/plugin.h' | grep -q . ||
  { echo "FAIL: SDK headers not installed"; exit 1; }
find "$tmp/root" -name 'source-jsonl.so' | grep -q . ||
  { echo "FAIL: plugins not installed"; exit 1; }
find "$tmp/root" -path '*/bin/assay' | grep -q . ||
  { echo "FAIL: assay not installed"; exit 1; }

echo "build the template with make + pkg-config"
cp -r "$ASSAY_SRC/examples/plugin-template" "$tmp/tpl"
export PKG_CONFIG_PATH="$pc" PKG_CONFIG_SYSROOT_DIR="$tmp/root"
make -s -C "$tmp/tpl" >/dev/null
so="$tmp/tpl/example-wordcount.so"
[ -f "$so" ] || { echo "FAIL: no .so built"; exit 1; }

echo "exports only the entry symbol, needs no host symbol"
exports=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDBR]$/ {print $3}')
[ "$exports" = "assay_plugin_entry" ] ||
  { echo "FAIL: exports: $exports"; exit 1; }
if nm -D --undefined-only "$so" | grep -q ' assay_'; then
  echo "FAIL: needs host symbols"; exit 1
fi

echo "listed and documented"
ASSAY_PLUGIN_PATH="$tmp/tpl" "$ASSAY" plugins info example.wordcount \
  > "$tmp/info.txt"
grep -q 'min_length' "$tmp/info.txt"

echo "runs in a graph"
cd "$tmp/tpl"
ASSAY_PLUGIN_PATH="$tmp/tpl" "$ASSAY" run example.yaml --runs-dir "$tmp/runs" \
  --cache-dir "$tmp/cache" > "$tmp/out.txt"
grep -q 'mean_words' "$tmp/out.txt"
run=$(ls -d "$tmp"/runs/wordcount-example/*)
python3 - "$run" <<'PY'
import json, sys
s = json.load(open(sys.argv[1] + "/nodes/count/summary.json"))
assert s == {"records": 3, "words": 13, "mean_words": 13 / 3}, s
print("summary ok:", s)
PY
echo "template: all checks passed"
