"""Helpers for the judge integration tests: start and stop the fake LLM
server, script its answers, run `assay`, read a run's outputs.

Environment: ASSAY (the CLI), FAKELLM (the fake server), ASSAY_SRC (the
source tree); ASSAY_SHARED or <src>/../shared for the shared data.
"""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "fakellm"))
import fakeclient  # noqa: E402

SRC = os.environ.get("ASSAY_SRC", os.path.join(os.path.dirname(__file__),
                                               "..", ".."))
ASSAY = os.environ.get("ASSAY")
FAKELLM = os.environ.get("FAKELLM")

# Fixed parts of the built-in prompts that the scripted rules key on.
A_START = "[The Start of Assistant A's Answer]\n"
A_END = "\n[The End of Assistant A's Answer]"
B_START = "[The Start of Assistant B's Answer]\n"
B_END = "\n[The End of Assistant B's Answer]"
RELATED = ("\\[Related Judgments - Internal Reference Only\\]\n(.*)\n"
           "\\[End of Related Judgments\\]")
REFERENCE = ("\\[The Start of Reference Answer\\]\n(.*)\n"
             "\\[The End of Reference Answer\\]")


def need_env():
    missing = [v for v in ("ASSAY", "FAKELLM") if not os.environ.get(v)]
    if missing:
        print("SKIP: %s not set (run through meson test)" % ", ".join(missing))
        sys.exit(77)


def shared_dir():
    d = os.environ.get("ASSAY_SHARED") or os.path.join(SRC, "..", "shared")
    return os.path.abspath(d)


def pair_block(a, b):
    """Text of a pairwise prompt from A's answer to B's answer."""
    return A_START + a + A_END + "\n\n" + B_START + b + B_END


def a_block(a):
    return A_START + a + A_END


def ere_escape(s):
    return re.sub(r"([.^$*+?()\[\]{}|\\])", r"\\\1", s)


# the fake LLM server, scripted by a config (tests/fakellm/fakeclient.py)
Fake = fakeclient.Fake


def endpoint_env(fake, **extra):
    env = dict(os.environ)
    env.update({
        "JUDGE_BASE_URL": fake.url, "CROWD_BASE_URL": fake.url,
        "REVISER_BASE_URL": fake.url, "JUDGE_MODEL": "judge-model",
        "CROWD_MODEL": "crowd-model", "REVISER_MODEL": "reviser-model",
        "OPENAI_API_KEY": "test-key", "JUDGE_CONCURRENCY": "16",
        "CROWD_CONCURRENCY": "16", "REVISER_CONCURRENCY": "16",
    })
    env.update({k: str(v) for k, v in extra.items()})
    return env


ANY_FAILURE = -1  # expect_rc: any non-zero exit


def run_assay(config, env, workdir, sets=(), cache="off", expect_rc=0,
              args=()):
    """Run `assay run CONFIG`; returns (run directory, stdout+stderr)."""
    runs = os.path.join(workdir, "runs")
    cmd = [ASSAY, "run", config, "--runs-dir", runs, "--cache-dir",
           os.path.join(workdir, "cache"), "--cache", cache, "-q"]
    for s in sets:
        cmd += ["--set", s]
    cmd += list(args)
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=600)
    if (p.returncode != expect_rc and
            not (expect_rc == ANY_FAILURE and p.returncode != 0)):
        print(p.stdout)
        raise AssertionError("assay run %s: exit %d, expected %d"
                             % (config, p.returncode, expect_rc))
    run = None
    if os.path.isdir(runs):
        found = []
        for exp in os.listdir(runs):
            for d in os.listdir(os.path.join(runs, exp)):
                found.append(os.path.join(runs, exp, d))
        found.sort(key=os.path.getmtime)
        run = found[-1] if found else None
    return run, p.stdout


def node_json(run, node, port):
    with open(os.path.join(run, "nodes", node, port + ".json")) as f:
        return json.load(f)


def node_records(run, node, port):
    with open(os.path.join(run, "nodes", node, port + ".jsonl")) as f:
        return [json.loads(l) for l in f if l.strip()]


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def close(a, b, tol=1e-9):
    return a is not None and b is not None and abs(a - b) <= tol


def winner_text(item):
    return item["output_1"] if item["label"] == 1 else item["output_2"]


def loser_text(item):
    return item["output_2"] if item["label"] == 1 else item["output_1"]


def pairwise_rules(items, behaviour):
    """Rules for the vanilla pairwise prompt.  behaviour(i) is 'correct'
    (the gold winner wins in both orders), 'wrong' (the loser wins) or
    'first' (whatever is shown first wins).  Items not covered answer B
    through the default answer."""
    rules = []
    for i, it in enumerate(items):
        b = behaviour(i)
        if b == "correct":
            rules.append({"user": pair_block(winner_text(it), loser_text(it)),
                          "answer": "Assistant A follows the instruction; "
                                    "Assistant B does not.\n[[A]]"})
        elif b == "wrong":
            rules.append({"user": pair_block(loser_text(it), winner_text(it)),
                          "answer": "I prefer Assistant A.\n\n"
                                    "**Final verdict:** [[A]]"})
        elif b == "first":
            for x, y in ((it["output_1"], it["output_2"]),
                         (it["output_2"], it["output_1"])):
                rules.append({"user": pair_block(x, y),
                              "answer": "The first answer reads better.\n"
                                        "[[A]]"})
    return rules


def expected_vanilla(items, behaviour):
    """Verdict of one (A = output_1) order under pairwise_rules."""
    out = []
    for i, it in enumerate(items):
        b = behaviour(i)
        gold = "A" if it["label"] == 1 else "B"
        other = "B" if gold == "A" else "A"
        out.append(gold if b == "correct" else other if b == "wrong" else "A")
    return out


def expected_swapped(items, behaviour):
    """Verdict (original labels) of the swapped order."""
    out = []
    for i, it in enumerate(items):
        b = behaviour(i)
        gold = "A" if it["label"] == 1 else "B"
        other = "B" if gold == "A" else "A"
        out.append(gold if b == "correct" else other if b == "wrong" else "B")
    return out


def accuracy(verdicts, items):
    gold = ["A" if it["label"] == 1 else "B" for it in items]
    return sum(v == g for v, g in zip(verdicts, gold)) / len(items)
