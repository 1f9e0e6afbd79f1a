"""Helpers of the LLM-recommendation integration tests: the fake LLM
server with scripted rules, `assay run`, run-directory readers, the
shared data folder, and the example catalogue.

Environment: ASSAY (the CLI), FAKELLM (the fake server), ASSAY_SRC (the
source tree); ASSAY_SHARED or <src>/../shared for the shared data.
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "fakellm"))
import fakeclient  # noqa: E402

SRC = os.path.abspath(os.environ.get(
    "ASSAY_SRC", os.path.join(os.path.dirname(__file__), "..", "..")))
ASSAY = os.environ.get("ASSAY")
FAKELLM = os.environ.get("FAKELLM")
MINI = os.path.join(SRC, "examples", "data", "llmrec")


def need_env():
    missing = [v for v in ("ASSAY", "FAKELLM") if not os.environ.get(v)]
    if missing:
        print("SKIP: %s not set (run through meson test)" % ", ".join(missing))
        sys.exit(77)


def shared_dir():
    return os.path.abspath(os.environ.get("ASSAY_SHARED") or
                           os.path.join(SRC, "..", "shared"))


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def close(a, b, tol=1e-9):
    return a is not None and b is not None and abs(a - b) <= tol


# the fake LLM server, scripted by a config (tests/fakellm/fakeclient.py)
Fake = fakeclient.Fake


def llm_block(name, fake):
    """An `llm:` entry for the fake server (no retries worth waiting for)."""
    return ("  %s: {provider: openai, base_url: \"%s\", model: fake-model, "
            "api_key: test-key, max_concurrency: 16, backoff: 0.01, "
            "timeout: 10}\n" % (name, fake.url))


_RUNS = [0]


def run_assay(config, workdir, env=None, sets=(), args=(), expect_rc=0):
    """`assay run CONFIG` with its own runs directory (the node and LLM
    caches are shared within `workdir`); returns (run directory,
    output)."""
    _RUNS[0] += 1
    runs = os.path.join(workdir, "runs%d" % _RUNS[0])
    cmd = [ASSAY, "run", config, "--runs-dir", runs, "--cache-dir",
           os.path.join(workdir, "cache"), "-q"]
    for s in sets:
        cmd += ["--set", s]
    cmd += list(args)
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run(cmd, env=e, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=900)
    if p.returncode != expect_rc:
        print(p.stdout)
        raise AssertionError("assay run %s: exit %d, expected %d"
                             % (config, p.returncode, expect_rc))
    found = []
    if os.path.isdir(runs):
        for exp in os.listdir(runs):
            for d in os.listdir(os.path.join(runs, exp)):
                found.append(os.path.join(runs, exp, d))
    if len(found) > 1:
        raise AssertionError("several run directories in %s" % runs)
    return (found[0] if found else None), p.stdout


def node_json(run, node, port):
    with open(os.path.join(run, "nodes", node, port + ".json")) as f:
        return json.load(f)


def node_records(run, node, port):
    with open(os.path.join(run, "nodes", node, port + ".jsonl")) as f:
        return [json.loads(line) for line in f if line.strip()]


def read_items(path):
    """id -> (title, genres list, year) from a RecBole .item file."""
    out = {}
    with open(path, encoding="utf-8") as f:
        head = f.readline().rstrip("\n").split("\t")
        names = [h.split(":")[0] for h in head]
        for line in f:
            cells = line.rstrip("\n").split("\t")
            row = dict(zip(names, cells))
            year = row.get("release_year", "")
            out[int(row["item_id"])] = (row.get("movie_title", "").strip(),
                                        row.get("class", "").split(),
                                        int(year) if year.isdigit() else 0)
    return out


def item_lines(items, ids, prefix_numbers=True):
    """Lines as the LLM plugins show items: "1. Title; genres: A, B", the
    year added to titles that repeat within the list."""
    out = []
    for n, i in enumerate(ids, 1):
        title, genres, year = items[i]
        if year and sum(1 for j in ids if j != i and
                        items[j][0] == title) > 0:
            title = "%s (%d)" % (title, year)
        text = title + ("; genres: " + ", ".join(genres) if genres else "")
        out.append(("%d. " % n if prefix_numbers else "- ") + text)
    return out


def ere_escape(s):
    out = []
    for ch in s:
        out.append("\\" + ch if ch in ".^$*+?()[]{}|\\" else ch)
    return "".join(out)
