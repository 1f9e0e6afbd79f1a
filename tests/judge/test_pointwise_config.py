#!/usr/bin/env python3
"""configs/judge-pointwise.yaml end to end against the fake server:
rubric ratings without reference, with the human reference and with a
RevisEval reference; a repair turn rescuing an answer without a rating;
the reliability report's correlations against the human ratings."""
import math
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import judgetest as jt  # noqa: E402

jt.need_env()
CONFIG = os.path.join(jt.SRC, "configs", "judge-pointwise.yaml")
DATA = os.path.join(jt.SRC, "examples", "data", "judge",
                    "pointwise-mini.jsonl")
items = jt.read_jsonl(DATA)
n = len(items)
NOTOKEN = 3  # this item's first answer has no rating


def block(text):
    return ("[The Start of Assistant's Answer]\n" + text +
            "\n[The End of Assistant's Answer]")


def free_score(i):
    hs = items[i]["human_score"]
    if i == NOTOKEN:
        return 5  # from the repair turn
    return hs if i % 3 == 0 else min(10, max(1, hs + i % 5 - 2))


def ranks(x):
    order = sorted(range(len(x)), key=lambda k: x[k])
    r = [0.0] * len(x)
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and x[order[j + 1]] == x[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return r


def pearson(x, y):
    mx, my = sum(x) / len(x), sum(y) / len(y)
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    return sxy / math.sqrt(sxx * syy)


def kendall_b(x, y):
    c = d = tx = ty = 0
    for i in range(len(x)):
        for j in range(i + 1, len(x)):
            dx, dy = x[i] - x[j], y[i] - y[j]
            if dx == 0 and dy == 0:
                continue
            if dx == 0:
                tx += 1
            elif dy == 0:
                ty += 1
            elif (dx > 0) == (dy > 0):
                c += 1
            else:
                d += 1
    return (c - d) / math.sqrt((c + d + tx) * (c + d + ty))


rules = [
    {"user_regex": "Response to Revise\\]\n(.*)\n\\[The End of the "
                   "Response to Revise", "answer": "$1 Indeed."},
    {"user": "did not end with a rating", "answer": "Rating: [[5]]"},
]
for it in items:
    rules.append({"user": block(it["output"]),
                  "user_regex": "Reference Answer\\]",
                  "answer": "Close to the reference.\nRating: [[%d]]"
                            % it["human_score"]})
for i, it in enumerate(items):
    ans = ("Looks fine overall." if i == NOTOKEN else
           "Some issues.\nRating: [[%d]]" % free_score(i))
    rules.append({"user": block(it["output"]), "answer": ans})

with jt.Fake({"rules": rules, "default_answer": "?"}) as fake, \
        tempfile.TemporaryDirectory() as work:
    run, _ = jt.run_assay(CONFIG, jt.endpoint_env(fake), work)
    want = {"ref_free": n + 1, "human_ref": n, "revise": n, "reviseval": n}
    for node, count in want.items():
        got = jt.node_json(run, node, "info")["requests"]
        jt.check(got == count, "%s: %d requests, want %d" % (node, got,
                                                             count))
    jt.check(fake.stats()["requests"] == sum(want.values()), "fake count")
    print("call counts ok:", want)

    hs = [it["human_score"] for it in items]
    free = [free_score(i) for i in range(n)]
    v = jt.node_records(run, "ref_free", "verdicts")
    jt.check([x["score"] for x in v] == free, "ref-free scores")
    s3 = v[NOTOKEN]["samples"][0]
    jt.check(s3["repairs"] == 1 and len(s3["answers"]) == 2 and
             s3["answers"][0] == "Looks fine overall.", "repair turn")
    rel = jt.node_json(run, "ref_free", "reliability")
    jt.check(jt.close(rel["pearson"], pearson(free, hs)), "pearson")
    jt.check(jt.close(rel["spearman"]["value"],
                      pearson(ranks(free), ranks(hs))), "spearman")
    jt.check(jt.close(rel["kendall_tau_b"], kendall_b(free, hs)), "kendall")
    jt.check(rel["spearman"]["ci_low"] <= rel["spearman"]["value"] <=
             rel["spearman"]["ci_high"], "spearman CI")
    jt.check(jt.close(rel["exact_agreement"],
                      sum(a == b for a, b in zip(free, hs)) / n),
             "exact agreement")
    inv = rel["invalid"]
    jt.check(inv["outputs"] == n + 1 and inv["invalid_outputs"] == 1 and
             inv["repairs"] == 1 and inv["repaired"] == 1 and
             inv["items"] == 0, "invalid counts %s" % inv)
    for node in ("human_ref", "reviseval"):
        rel = jt.node_json(run, node, "reliability")
        jt.check(jt.close(rel["pearson"], 1.0) and
                 jt.close(rel["exact_agreement"], 1.0),
                 "%s: %s" % (node, rel))
    rv = jt.node_records(run, "revise", "items")
    jt.check(all(r["revised"] == it["output"] + " Indeed."
                 for r, it in zip(rv, items)), "revised references")
    print("pointwise ok: spearman %.4f without reference, 1.0 with"
          % pearson(ranks(free), ranks(hs)))
print("judge-pointwise: all checks passed")
