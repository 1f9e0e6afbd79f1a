#!/usr/bin/env python3
"""configs/judge-crowd-rejection.yaml end to end against the fake server:
the three stages' call counts, the ranking (win rates, crowd = the two
lowest), the CCE stage deciding the choice, and the reliability report's
accuracy of the choice."""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import judgetest as jt  # noqa: E402

jt.need_env()
CONFIG = os.path.join(jt.SRC, "configs", "judge-crowd-rejection.yaml")
DATA = os.path.join(jt.SRC, "examples", "data", "judge",
                    "rejection-mini.jsonl")
items = jt.read_jsonl(DATA)
n = len(items)
QUALITY = ["model-alpha", "model-beta", "model-gamma", "model-delta",
           "model-epsilon"]  # best first


def quality(r):
    return QUALITY.index(r["model"])


rules = []
for i, it in enumerate(items):
    rs = it["responses"]
    for a in rs:
        for b in rs:
            if a is b:
                continue
            better = "A" if quality(a) < quality(b) else "B"
            # item 0: the CCE stage prefers the worse response
            cce = better if i else ("B" if better == "A" else "A")
            rules.append({"user": jt.pair_block(a["response"],
                                                b["response"]),
                          "user_regex": jt.RELATED,
                          "answer": "With context.\n[[%s]]" % cce})
for it in items:
    rs = it["responses"]
    for a in rs:
        for b in rs:
            if a is not b:
                better = "A" if quality(a) < quality(b) else "B"
                rules.append({"user": jt.pair_block(a["response"],
                                                    b["response"]),
                              "answer": "Plain.\n[[%s]]" % better})

with jt.Fake({"rules": rules, "default_answer": "?"}) as fake, \
        tempfile.TemporaryDirectory() as work:
    run, _ = jt.run_assay(CONFIG, jt.endpoint_env(fake), work)
    m, c = 5, 2
    per = m * (m - 1) + 2 * (m - c) * c + (m - c) * (m - c - 1)
    info = jt.node_json(run, "select", "info")
    jt.check(info["requests"] == n * per and
             fake.stats()["requests"] == n * per,
             "requests %d, want %d" % (info["requests"], n * per))
    jt.check(info["stages"] == {"rank": n * 20, "crowd_judgments": n * 12,
                                "finals": n * 6, "repairs": 0},
             "stages %s" % info["stages"])
    out = jt.node_records(run, "select", "items")
    correct = 0
    for i, (it, o) in enumerate(zip(items, out)):
        q = [quality(r) for r in it["responses"]]
        want_rates = [(4 - qq) * 2 / 8 for qq in q]
        jt.check(o["win_rates"] == want_rates, "item %d: win rates %s vs %s"
                 % (i, o["win_rates"], want_rates))
        crowd = sorted(o["crowd"], key=lambda k: -q[k])
        jt.check(sorted(q[k] for k in o["crowd"]) == [3, 4],
                 "item %d: crowd %s" % (i, crowd))
        want = q.index(0) if i else q.index(2)
        jt.check(o["chosen_index"] == want and
                 o["chosen"] == it["responses"][want]["response"] and
                 o["chosen_model"] == it["responses"][want]["model"],
                 "item %d: chose %s, want %d" % (i, o["chosen_index"], want))
        rates = [r for r in o["cce_win_rates"] if r is not None]
        jt.check(sorted(rates) == [0.0, 0.5, 1.0], "cce rates %s" % rates)
        correct += want == it["best"]
        finals = [j for j in o["judgments"] if j["stage"] == "cce"]
        jt.check(len(finals) == 6 and
                 all(j["n_selected"] == 0 for j in finals),
                 "candidates never lose to the crowd: nothing selected")
    rel = jt.node_json(run, "select", "reliability")
    jt.check(jt.close(rel["accuracy"]["value"], correct / n),
             "accuracy %s vs %s" % (rel["accuracy"], correct / n))
    jt.check(jt.close(rel["position_consistency"]["rate"], 1.0),
             "ranking consistency")
    sft = jt.node_records(run, "sft", "items")
    jt.check([s["chosen"] for s in sft] == [o["chosen"] for o in out],
             "sft records")
    print("crowd rejection ok: %d requests, accuracy %.4f"
          % (n * per, correct / n))
print("judge-crowd-rejection: all checks passed")
