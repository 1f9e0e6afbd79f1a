#!/usr/bin/env python3
"""judge.cce options end to end: crowd responses given in the items (no
generation; repeated model names share a letter), positions: paper (two
judgments per crowd response), the praising / balanced / random
selections, a small budget split between the candidates, and outcome
removal switched off (relabelled verdict tokens reach the final prompt)."""
import json
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import judgetest as jt  # noqa: E402

jt.need_env()
DATA = os.path.join(jt.SRC, "examples", "data", "judge", "llmbar-mini.jsonl")
items = jt.read_jsonl(DATA)[:8]
n = len(items)
CROWD = [{"model": "m1", "response": "GIVEN-ONE"},
         {"model": "m2", "response": "GIVEN-TWO"},
         "GIVEN-THREE",
         {"model": "m1", "response": "GIVEN-FOUR"}]
for it in items:
    it["crowd"] = CROWD

rules = [
    {"user_regex": jt.RELATED,
     "answer": "Seen:\n$1\n=== end of seen ===\n[[A]]"},
    # the crowd wins when shown first, loses when shown second
    {"user_regex": "Assistant A's Answer\\]\nGIVEN-",
     "answer": "Assistant A is more thorough than Assistant B.\n"
               "Verdict: [[A]]"},
    {"user_regex": "Assistant B's Answer\\]\nGIVEN-",
     "answer": "Assistant A is more thorough than Assistant B.\n"
               "Verdict: [[A]]"},
]
GRAPH = """experiment: cce-options
seed: 5
llm:
  judge: {provider: openai, base_url: "${JUDGE_BASE_URL}", model: judge-model,
          api_key: x, max_concurrency: 16}
nodes:
  pairs: {plugin: source.jsonl, with: {path: pairs.jsonl}}
  cce: {plugin: judge.cce, inputs: {items: pairs.records}, with: %s}
"""


def run(fake, work, opts):
    with open(os.path.join(work, "g.yaml"), "w") as f:
        f.write(GRAPH % opts)
    fake.reset()
    r, _ = jt.run_assay(os.path.join(work, "g.yaml"), jt.endpoint_env(fake),
                        work, args=["--fresh"])
    return (jt.node_records(r, "cce", "verdicts"),
            jt.node_json(r, "cce", "info"), fake.stats()["requests"])


def seen(v):
    return v["answers"][0].split("\n=== end of seen ===")[0]


with jt.Fake({"rules": rules, "default_answer": "?"}) as fake, \
        tempfile.TemporaryDirectory() as work:
    with open(os.path.join(work, "pairs.jsonl"), "w") as f:
        for it in items:
            f.write(json.dumps(it) + "\n")

    # given crowd, both positions, criticizing: the candidate loses when
    # the crowd is shown first (2 per crowd response x 2 candidates)
    v, info, req = run(fake, work, "{llm: judge}")
    jt.check(info["stages"]["crowd_generations"] == 0 and
             req == n * (16 + 1), "given crowd: %s, %d" % (info, req))
    jt.check([c["letter"] for c in v[0]["crowd"]] == ["C", "D", "E", "C"],
             "letters %s" % v[0]["crowd"])
    for x in v:
        sel = [j for j in x["crowd_judgments"] if j["selected"]]
        jt.check(len(sel) == 8 and all(j["outcome"] == "lost" and
                                       j["candidate_position"] == "second"
                                       for j in sel), "criticizing")
        jt.check(not re.search(r"\[\[", seen(x)), "token in the prompt")
    print("given crowd ok")

    # positions: paper -> A first vs the crowd, the crowd first vs B
    v, info, req = run(fake, work, "{llm: judge, positions: paper}")
    jt.check(req == n * (8 + 1) and
             info["stages"]["crowd_judgments"] == n * 8, "paper counts")
    for x in v:
        js = x["crowd_judgments"]
        jt.check(all((j["candidate"] == "A") ==
                     (j["candidate_position"] == "first") for j in js),
                 "paper positions")
        sel = [j for j in js if j["selected"]]
        # only B (shown second) loses
        jt.check(len(sel) == 4 and all(j["candidate"] == "B" for j in sel),
                 "paper criticizing %s" % sel)
    print("positions paper ok")

    # praising keeps only won judgments; a budget of 2 splits 1 + 1
    v, _, _ = run(fake, work, "{llm: judge, selection: praising, budget: 2}")
    for x in v:
        sel = [j for j in x["crowd_judgments"] if j["selected"]]
        jt.check(len(sel) == 2 and
                 sorted(j["candidate"] for j in sel) == ["A", "B"] and
                 all(j["outcome"] == "won" for j in sel), "praising")
        jt.check(seen(x).count(". Comparison of") == 2, "two in the prompt")
    print("praising ok")

    # balanced, budget 4: per candidate one lost and one won
    v, _, _ = run(fake, work, "{llm: judge, selection: balanced, budget: 4}")
    for x in v:
        sel = [j for j in x["crowd_judgments"] if j["selected"]]
        for cand in "AB":
            mine = [j["outcome"] for j in sel if j["candidate"] == cand]
            jt.check(sorted(mine) == ["lost", "won"], "balanced %s" % mine)
    print("balanced ok")

    # random, budget 6: 3 per candidate, any outcome; seeded, so a second
    # run picks the same judgments
    v1, _, _ = run(fake, work, "{llm: judge, selection: random, budget: 6}")
    v2, _, _ = run(fake, work, "{llm: judge, selection: random, budget: 6}")
    picks = [[j["selected"] for j in x["crowd_judgments"]] for x in v1]
    jt.check(picks == [[j["selected"] for j in x["crowd_judgments"]]
                       for x in v2], "random selection is seeded")
    jt.check(all(sum(p) == 6 for p in picks), "random budget")
    jt.check(len(set(map(tuple, picks))) > 1, "items draw differently")
    print("random ok")

    # outcome removal off: relabelled tokens ([[C]] ...) reach the prompt
    v, _, _ = run(fake, work, "{llm: judge, outcome_removal: false}")
    for x in v:
        toks = set(re.findall(r"\[\[([A-Z])\]\]", seen(x)))
        jt.check(toks and toks <= set("CDE"),
                 "relabelled tokens %s" % toks)
        jt.check("Verdict: [[" in seen(x), "verdict line kept")
    print("outcome removal off ok")
print("judge.cce options: all checks passed")
