#!/usr/bin/env python3
"""The 419 LLMBar pairs (../shared/data/llmbar) end to end with the fake
server: vanilla, swap and CCE judges with scripted verdicts; each
reliability report's accuracy (overall and per subset) must equal the
scripted verdicts' accuracy.  Skips when the data is absent."""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import judgetest as jt  # noqa: E402

jt.need_env()
SUBSETS = ["Natural", "Adversarial_Neighbor", "Adversarial_GPTInst",
           "Adversarial_GPTOut", "Adversarial_Manual"]
data_dir = os.path.join(jt.shared_dir(), "data", "llmbar")
if not all(os.path.exists(os.path.join(data_dir, s + ".json"))
           for s in SUBSETS):
    print("SKIP: LLMBar data not found in %s (set ASSAY_SHARED)" % data_dir)
    sys.exit(77)

items = []
for s in SUBSETS:
    with open(os.path.join(data_dir, s + ".json")) as f:
        for k, it in enumerate(json.load(f)):
            items.append({"id": "%s-%d" % (s, k), "subset": s,
                          "input": it["input"], "output_1": it["output_1"],
                          "output_2": it["output_2"], "label": it["label"]})
n = len(items)
jt.check(n == 419, "expected 419 LLMBar pairs, found %d" % n)


def behaviour(i):
    return ("wrong" if i % 5 == 0 else "first" if i % 7 == 0
            else "correct")


def cce_verdict(i):
    g = "A" if items[i]["label"] == 1 else "B"
    return g if i % 6 else ("B" if g == "A" else "A")


# Pairwise rules are keyed on exact pair texts; when two pairs share a key
# the first rule wins, so the expected verdicts follow the same lookup.
table = {}


def add(key, verdict):
    table.setdefault(key, verdict)


# The CCE node's prompt (cce.txt plus one line naming the scripted verdict,
# from the item's script_cce field) lets one rule answer all 419 finals,
# which keeps the fake server fast under sanitizers.
rules = [{"model": "crowd-model", "answer": "CROWD-RESPONSE {{hash}}"},
         {"model": "cce-model", "user_regex": "\\(scripted verdict: ([AB])\\)",
          "answer": "With context.\n[[$1]]"}]
for i, it in enumerate(items):
    it["script_cce"] = cce_verdict(i)
for i, it in enumerate(items):
    b = behaviour(i)
    w, l = jt.winner_text(it), jt.loser_text(it)
    if b == "correct":
        pairs = [(w, l, "A")]
    elif b == "wrong":
        pairs = [(l, w, "A")]
    else:
        pairs = [(it["output_1"], it["output_2"], "A"),
                 (it["output_2"], it["output_1"], "A")]
    for x, y, v in pairs:
        rules.append({"user": jt.pair_block(x, y),
                      "answer": "Scripted.\n[[%s]]" % v})
        add(("pair", jt.pair_block(x, y)), v)


def judged(x, y):
    return table.get(("pair", jt.pair_block(x, y)), "B")


def flip(v):
    return {"A": "B", "B": "A"}.get(v, v)


v1 = [judged(it["output_1"], it["output_2"]) for it in items]
v2 = [flip(judged(it["output_2"], it["output_1"])) for it in items]
sw = [a if a == b else "tie" for a, b in zip(v1, v2)]
cc = [cce_verdict(i) for i in range(n)]
gold = ["A" if it["label"] == 1 else "B" for it in items]

with tempfile.TemporaryDirectory() as work, jt.Fake(
        {"rules": rules, "default_answer": "Default.\n[[B]]"}) as fake:
    path = os.path.join(work, "llmbar.jsonl")
    with open(path, "w") as f:
        for it in items:
            f.write(json.dumps(it) + "\n")
    with open(os.path.join(jt.SRC, "plugins", "judge", "cce",
                           "cce.txt")) as f:
        cce_txt = f.read()
    at = cce_txt.index("@@ repair @@")
    with open(os.path.join(work, "cce_scripted.txt"), "w") as f:
        f.write(cce_txt[:at] + "(scripted verdict: {{script_cce}})\n" +
                cce_txt[at:])
    graph = os.path.join(work, "llmbar.yaml")
    with open(graph, "w") as f:
        f.write("""experiment: llmbar-fake
seed: 11
llm:
  judge: {provider: openai, base_url: "${JUDGE_BASE_URL}", model: judge-model,
          api_key: x, max_concurrency: 64}
  crowd: {provider: openai, base_url: "${CROWD_BASE_URL}", model: crowd-model,
          api_key: x, max_concurrency: 64}
  cce_judge: {provider: openai, base_url: "${JUDGE_BASE_URL}",
              model: cce-model, api_key: x, max_concurrency: 64}
nodes:
  pairs: {plugin: source.jsonl, with: {path: llmbar.jsonl}}
  vanilla: {plugin: judge.pairwise, inputs: {items: pairs.records},
            with: {llm: judge}}
  swap: {plugin: judge.pairwise, inputs: {items: pairs.records},
         with: {llm: judge, swap: true}}
  cce: {plugin: judge.cce, inputs: {items: pairs.records},
        with: {llm: cce_judge, crowd_llm: [crowd], crowd_samples: 1,
               budget: 4, template_file: cce_scripted.txt}}
  compare: {plugin: judge.compare,
            inputs: {verdicts: [vanilla.verdicts, swap.verdicts,
                                cce.verdicts]}}
""")
    run, _ = jt.run_assay(graph, jt.endpoint_env(fake), work)
    want_requests = n + 2 * n + n * (1 + 4 + 1)
    jt.check(fake.stats()["requests"] == want_requests,
             "requests %d, want %d" % (fake.stats()["requests"],
                                       want_requests))
    for node, verdicts in (("vanilla", v1), ("swap", sw), ("cce", cc)):
        got = [v["verdict"] for v in jt.node_records(run, node, "verdicts")]
        jt.check(got == verdicts, "%s verdicts differ from the script" % node)
        rel = jt.node_json(run, node, "reliability")
        acc = sum(a == g for a, g in zip(verdicts, gold)) / n
        jt.check(rel["n_gold"] == n and
                 jt.close(rel["accuracy"]["value"], acc),
                 "%s: report %s, scripted %s" % (node, rel["accuracy"], acc))
        for s in SUBSETS:
            idx = [i for i in range(n) if items[i]["subset"] == s]
            sacc = sum(verdicts[i] == gold[i] for i in idx) / len(idx)
            got_s = rel["subsets"][s]
            jt.check(got_s["n"] == len(idx) and
                     jt.close(got_s["accuracy"], sacc),
                     "%s/%s: %s vs %s" % (node, s, got_s, sacc))
        print("%-8s accuracy %.4f  CI [%.4f, %.4f]" % (
            node, acc, rel["accuracy"]["ci_low"], rel["accuracy"]["ci_high"]))
    pc = jt.node_json(run, "swap", "reliability")["position_consistency"]
    jt.check(jt.close(pc["rate"], sum(a == b for a, b in zip(v1, v2)) / n),
             "position consistency")
print("llmbar (419 pairs): all checks passed")
