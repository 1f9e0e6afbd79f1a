#!/usr/bin/env python3
"""configs/reviseval-llmbar.yaml end to end against the fake server:
reference-free vs human-reference vs RevisEval judging (call counts, the
revised reference reaching the judge's prompt, scripted accuracies), and
the metric route (each response against its own revision, majority vote
over BLEU, ROUGE-L and chrF recomputed from the metric nodes' outputs)."""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import judgetest as jt  # noqa: E402

jt.need_env()
CONFIG = os.path.join(jt.SRC, "configs", "reviseval-llmbar.yaml")
DATA = os.path.join(jt.SRC, "examples", "data", "judge", "llmbar-mini.jsonl")
items = jt.read_jsonl(DATA)
n = len(items)
SUFFIX = " Revised for clarity."


def behaviour(i):
    return "wrong" if i % 3 == 0 else "correct"


rules = [
    # the reviser appends a sentence to the response it revises
    {"model": "reviser-model",
     "user_regex": "Response to Revise\\]\n(.*)\n\\[The End of the "
                   "Response to Revise",
     "answer": "\n$1" + SUFFIX + "\n"},
]
# with a reference the judge is always right, and quotes the reference
for it in items:
    rules.append({"user": jt.a_block(jt.winner_text(it)),
                  "user_regex": jt.REFERENCE,
                  "answer": "Reference: <<$1>>\nA matches it.\n[[A]]"})
rules.append({"user_regex": jt.REFERENCE,
              "answer": "Reference: <<$1>>\nB matches it.\n[[B]]"})
rules += jt.pairwise_rules(items, behaviour)
fake_config = {"rules": rules, "default_answer": "B is better.\n[[B]]"}

with jt.Fake(fake_config) as fake, tempfile.TemporaryDirectory() as work:
    run, _ = jt.run_assay(CONFIG, jt.endpoint_env(fake), work)
    want = {"ref_free": n, "human_ref": n, "revise": n, "reviseval": n,
            "revise_both": 2 * n}
    for node, count in want.items():
        got = jt.node_json(run, node, "info")["requests"]
        jt.check(got == count, "%s: %d requests, want %d" % (node, got,
                                                             count))
    jt.check(fake.stats()["requests"] == sum(want.values()),
             "fake server request count")
    print("call counts ok:", want)

    gold = ["A" if it["label"] == 1 else "B" for it in items]
    free = jt.expected_vanilla(items, behaviour)
    rel = jt.node_json(run, "ref_free", "reliability")
    jt.check(jt.close(rel["accuracy"]["value"], jt.accuracy(free, items)),
             "reference-free accuracy")
    for node in ("human_ref", "reviseval"):
        rel = jt.node_json(run, node, "reliability")
        jt.check(jt.close(rel["accuracy"]["value"], 1.0),
                 "%s accuracy %s" % (node, rel["accuracy"]))
    # the revised reference (output_2 revised) is what the judge saw
    rv = jt.node_records(run, "reviseval", "verdicts")
    for it, v in zip(items, rv):
        seen = v["orders"][0]["samples"][0]["answers"][0]
        want_ref = it["output_2"] + SUFFIX
        jt.check(seen.startswith("Reference: <<%s>>" % want_ref),
                 "reviseval judge saw %r" % seen[:120])
    hr = jt.node_records(run, "human_ref", "verdicts")
    for it, v in zip(items, hr):
        seen = v["orders"][0]["samples"][0]["answers"][0]
        jt.check(seen.startswith("Reference: <<%s>>" % it["reference"]),
                 "human reference not in the prompt")
    revised = jt.node_records(run, "revise", "items")
    jt.check(all(r["revised"] == it["output_2"] + SUFFIX
                 for r, it in zip(revised, items)), "revise: revised field")
    both = jt.node_records(run, "revise_both", "items")
    jt.check(all(r["revised_1"] == it["output_1"] + SUFFIX and
                 r["revised_2"] == it["output_2"] + SUFFIX
                 for r, it in zip(both, items)), "revise both")
    print("judges ok: reference-free %.4f, human reference 1.0, RevisEval "
          "1.0" % jt.accuracy(free, items))

    # metric route: recompute each metric's vote and the majority
    metrics = [("bleu", "score"), ("rouge", "rougeL.fmeasure"),
               ("chrf", "score")]
    names = ["bleu", "rougeL", "chrf"]  # metric_names in the config

    def get(rec, path):
        for p in path.split("."):
            rec = rec[p]
        return rec

    scores = {}
    for name, path in metrics:
        s1 = [get(r, path) for r in jt.node_records(run, name + "_1",
                                                     "items")]
        s2 = [get(r, path) for r in jt.node_records(run, name + "_2",
                                                     "items")]
        jt.check(len(s1) == n and len(s2) == n, "%s items" % name)
        scores[name] = (s1, s2)
    mv = jt.node_records(run, "metric_vote", "verdicts")
    expect = []
    for i in range(n):
        votes = []
        for name, _ in metrics:
            a, b = scores[name][0][i], scores[name][1][i]
            votes.append("A" if a > b else "B" if b > a else "tie")
        jt.check(mv[i]["votes"] == dict(zip(names, votes)),
                 "item %d: votes %s vs %s" % (i, mv[i]["votes"], votes))
        c = {k: votes.count(k) for k in ("A", "B", "tie")}
        top = max(c.values())
        win = [k for k in c if c[k] == top]
        expect.append(win[0] if len(win) == 1 else "tie")
    jt.check([v["verdict"] for v in mv] == expect, "majority verdicts")
    rel = jt.node_json(run, "metric_vote", "reliability")
    macc = sum(e == g for e, g in zip(expect, gold)) / n
    jt.check(jt.close(rel["accuracy"]["value"], macc), "metric-vote accuracy")
    per = {m["name"]: m["accuracy"] for m in rel["metrics"]}
    for k, (name, _) in enumerate(metrics):
        s1, s2 = scores[name]
        acc = sum(("A" if s1[i] > s2[i] else "B" if s2[i] > s1[i] else "tie")
                  == gold[i] for i in range(n)) / n
        jt.check(jt.close(per[names[k]], acc), "%s alone" % name)
    comp = jt.node_json(run, "compare", "summary")
    jt.check(jt.close(comp["per_judge"]["metric_vote"]["accuracy"], macc),
             "compare: metric_vote accuracy")
    print("metric vote ok: accuracy %.4f (%s)" % (macc, per))
print("reviseval-llmbar: all checks passed")
