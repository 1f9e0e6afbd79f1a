#!/usr/bin/env python3
"""Write a clang-friendly copy of a meson build's compile_commands.json.

    compdb.py BUILD_DIR OUT_DIR [PREFIX...]

Keeps one entry per source file of the project under the given source
prefixes (default: core/ sdk/ plugins/), drops the files of test programs
(test_*.c, tests/), and turns each command into one clang understands
whatever compiler the build used: the compiler becomes clang, gcc-only
options go, and -Werror goes too (compiler warnings are not what the
static checks judge).  Prints the kept source paths, one per line.
"""
import json
import os
import shlex
import sys

GCC_ONLY_PREFIXES = ("-fvect-cost-model", "-Wno-format-truncation",
                     "-Wformat-truncation", "-fdiagnostics-color",
                     "-fno-semantic-interposition")
DROP = {"-Werror", "-pipe"}


def clang_args(args):
    out = ["clang"]
    for a in args[1:]:
        if a in DROP or a.startswith(GCC_ONLY_PREFIXES):
            continue
        if a.startswith("-fsanitize") or a == "-fno-omit-frame-pointer":
            continue
        out.append(a)
    return out


def main():
    build, out_dir = sys.argv[1], sys.argv[2]
    prefixes = tuple(sys.argv[3:]) or ("core/", "sdk/", "plugins/")
    src = os.path.realpath(os.path.join(os.path.dirname(__file__), "..",
                                        ".."))
    with open(os.path.join(build, "compile_commands.json")) as f:
        db = json.load(f)
    seen = {}
    for e in db:
        path = os.path.realpath(os.path.join(e["directory"], e["file"]))
        rel = os.path.relpath(path, src)
        base = os.path.basename(rel)
        if not rel.startswith(prefixes) or base.startswith("test_"):
            continue
        if "/tests/" in rel or rel in seen:
            continue
        args = e.get("arguments") or shlex.split(e["command"])
        # a command line rather than an argument list: cppcheck reads
        # quoted -D values (-DX="text") right only from the former
        seen[rel] = {"directory": e["directory"], "file": path,
                     "command": shlex.join(clang_args(args))}
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "compile_commands.json"), "w") as f:
        json.dump(list(seen.values()), f, indent=1)
    for rel in sorted(seen):
        print(rel)


if __name__ == "__main__":
    main()
