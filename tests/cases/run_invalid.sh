#!/usr/bin/env bash
# Table of broken experiment files: for every NAME.yaml in the folder given
# as $1, `assay validate NAME.yaml` must exit with status 2 and print
# exactly NAME.err (stderr).  Set UPDATE=1 to rewrite the .err files.
set -u
dir=$1
: "${ASSAY:?set ASSAY to the assay binary}"
cd "$dir" || exit 1
pass=0 fail=0
for y in *.yaml; do
  name=${y%.yaml}
  env_file="$name.env"
  out=$( ( [ -f "$env_file" ] && set -a && . "./$env_file"; "$ASSAY" validate "$y" ) 2>&1 >/dev/null)
  rc=$?
  if [ "${UPDATE:-0}" = 1 ]; then
    printf '%s\n' "$out" > "$name.err"
  fi
  if [ $rc -ne 2 ]; then
    echo "FAIL $name: exit status $rc, expected 2"
    fail=$((fail + 1))
    continue
  fi
  if [ ! -f "$name.err" ] || [ "$out" != "$(cat "$name.err")" ]; then
    echo "FAIL $name: message differs"
    diff <(printf '%s\n' "$out") "$name.err" | sed 's/^/    /'
    fail=$((fail + 1))
    continue
  fi
  echo "ok   $name"
  pass=$((pass + 1))
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ] && [ $pass -gt 0 ]
