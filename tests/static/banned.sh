#!/usr/bin/env bash
# The functions STYLE.md bans (strcpy, strcat, sprintf, vsprintf, strtok,
# atoi, atol, atoll, atof, gets) must not appear in our C code: use
# snprintf, explicit lengths, strtok_r and strtol/strtod with end checks.
# (clang-tidy's cert-err34-c and the analyzer's insecureAPI checks cover
# some of them too; this also covers files no build compiles.)
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
cd "$src"
pattern='\b(strcpy|strcat|sprintf|vsprintf|strtok|atoi|atol|atoll|atof|gets)[[:space:]]*\('
if grep -rnE --include='*.c' --include='*.h' "$pattern" \
    core sdk plugins tests examples; then
    echo "FAIL: banned functions above (see STYLE.md)"
    exit 1
fi
echo "banned functions: none"
