# Shared by the integration scripts: strict mode, a private work directory
# removed on exit, and small assertion helpers.  Source it first:
#   . "$(dirname "$0")/lib.sh"
set -euo pipefail
: "${ASSAY:?set ASSAY to the assay binary (meson test sets it)}"
: "${ASSAY_PLUGIN_PATH:?set ASSAY_PLUGIN_PATH to the test plugins}"
command -v python3 >/dev/null || { echo "SKIP: python3 is needed"; exit 77; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/assay-it.XXXXXX")
cleanup() {
  # children started in the background by a script must not outlive it
  local p
  for p in $(jobs -p); do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK"
export ASSAY_RUNS_DIR=$WORK/runs ASSAY_CACHE_DIR=$WORK/cache
unset ASSAY_SHARD 2>/dev/null || true

CHECKS=0
ok() { CHECKS=$((CHECKS + 1)); echo "ok   $*"; }
fail() { echo "FAIL $*" >&2; exit 1; }

# expect_eq WHAT ACTUAL EXPECTED
expect_eq() {
  if [ "$2" = "$3" ]; then ok "$1"; else
    fail "$1: got '$2', expected '$3'"; fi
}

# expect_grep WHAT PATTERN FILE (extended regex)
expect_grep() {
  if grep -Eq -- "$2" "$3"; then ok "$1"; else
    echo "--- $3:" >&2; cat "$3" >&2; fail "$1: no line matches /$2/"; fi
}

expect_no_grep() {
  if ! grep -Eq -- "$2" "$3"; then ok "$1"; else
    echo "--- $3:" >&2; cat "$3" >&2; fail "$1: a line matches /$2/"; fi
}

# jget FILE EXPR...: evaluate Python expressions over the JSON in FILE
# (bound to d); print one line per expression (strings bare, others as
# JSON).  One interpreter for several expressions: python3 starts slowly.
jget() {
  python3 - "$@" <<'PY'
import json, sys
with open(sys.argv[1]) as f:
    d = json.load(f)
for e in sys.argv[2:]:
    v = eval(e, {"d": d, "len": len, "sorted": sorted, "sum": sum})
    print(v if isinstance(v, str) else json.dumps(v, sort_keys=True))
PY
}

# jsonl FILE EXPR...: the same over a JSON Lines file (bound to rows).
jsonl() {
  python3 - "$@" <<'PY'
import json, sys
with open(sys.argv[1]) as f:
    rows = [json.loads(l) for l in f if l.strip()]
for e in sys.argv[2:]:
    v = eval(e, {"rows": rows, "len": len, "sorted": sorted, "sum": sum,
                 "round": round})
    print(v if isinstance(v, str) else json.dumps(v, sort_keys=True))
PY
}

# run_assay OUT ERR ARGS...: run the CLI, keep stdout/stderr, return its
# exit status in RC and the run directory it printed in RUN_DIR.
run_assay() {
  local out=$1 err=$2
  shift 2
  RC=0
  "$ASSAY" "$@" >"$out" 2>"$err" || RC=$?
  RUN_DIR=$(sed -n 's/^run directory: //p' "$out" | tail -1)
}

# count_lines FILE: lines in FILE (0 when missing)
count_lines() { if [ -f "$1" ]; then wc -l <"$1" | tr -d ' '; else echo 0; fi; }

finish() { echo "$CHECKS checks passed"; }
