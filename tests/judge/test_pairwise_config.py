#!/usr/bin/env python3
"""configs/judge-pairwise-llmbar.yaml end to end against the fake server
with scripted judge answers: exact call counts of vanilla, swap, Maj@5 and
CCE@16; swap logic; CCE selection (criticizing keeps only judgments the
candidate lost), relabelling and outcome removal as seen by the server;
the reliability reports' numbers; agreement between the judges."""
import math
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import judgetest as jt  # noqa: E402

jt.need_env()
CONFIG = os.path.join(jt.SRC, "configs", "judge-pairwise-llmbar.yaml")
DATA = os.path.join(jt.SRC, "examples", "data", "judge", "llmbar-mini.jsonl")
items = jt.read_jsonl(DATA)
n = len(items)
texts = [t for it in items for t in (it["output_1"], it["output_2"])]
jt.check(len(set(texts)) == len(texts), "example responses must be unique")


def behaviour(i):
    return "wrong" if i % 4 == 0 else "first" if i % 4 == 1 else "correct"


def cce_verdict(i):
    gold = "A" if items[i]["label"] == 1 else "B"
    return gold if i % 8 else ("B" if gold == "A" else "A")


CROWD_FIRST = ("Assistant A (first) is more complete; Assistant B misses "
               "details.\nFinal verdict: [[A]]")
CAND_B_FIRST = ("Assistant A makes an error in its second sentence.\n"
                "Assistant B is more accurate.\n[[B]]")
CAND_A_FIRST = ("Assistant A answers directly while Assistant B rambles "
                "about unrelated topics for a while.\n[[A]]")

rules = [{"model": "crowd-model", "answer": "CROWD-RESPONSE {{hash}}"},
         # the items carry a `reference`; no judge here may show it
         {"user_regex": jt.REFERENCE, "answer": "LEAKED REFERENCE [[A]]"}]
for i, it in enumerate(items):
    rules.append({"user": jt.pair_block(it["output_1"], it["output_2"]),
                  "user_regex": jt.RELATED,
                  "answer": "Seen:\n$1\n=== end of seen ===\n[[%s]]"
                            % cce_verdict(i)})
# crowd judgments: the crowd wins when shown first; shown second it beats
# candidate B but loses to candidate A
rules.append({"user_regex": "Assistant A's Answer\\]\nCROWD-RESPONSE",
              "answer": CROWD_FIRST})
for it in items:
    rules.append({"user": jt.a_block(it["output_2"]),
                  "user_regex": "Assistant B's Answer\\]\nCROWD-RESPONSE",
                  "answer": CAND_B_FIRST})
rules.append({"user_regex": "Assistant B's Answer\\]\nCROWD-RESPONSE",
              "answer": CAND_A_FIRST})
rules += jt.pairwise_rules(items, behaviour)
# rubric scoring: the gold winner gets 8 and the loser 4, except every
# fifth pair, where both get 6 (a tie)
for i, it in enumerate(items):
    for text, score in ((jt.winner_text(it), 6 if i % 5 == 0 else 8),
                        (jt.loser_text(it), 6 if i % 5 == 0 else 4)):
        rules.append({"user": "[The Start of Assistant's Answer]\n" + text +
                              "\n[The End of Assistant's Answer]",
                      "answer": "Rating: [[%d]]" % score})
fake_config = {"rules": rules,
               "default_answer": "Assistant B is better.\n[[B]]"}

with jt.Fake(fake_config) as fake, tempfile.TemporaryDirectory() as work:
    env = jt.endpoint_env(fake)
    run, out = jt.run_assay(CONFIG, env, work)
    stats = fake.stats()

    # ---- call counts --------------------------------------------------
    crowd, K = 4, 16
    want = {"vanilla": n, "swap": 2 * n, "majk": 5 * n,
            "cce": n * (crowd + 2 * 2 * crowd + 1), "rubric": 2 * n}
    for node, count in want.items():
        info = jt.node_json(run, node, "info")
        jt.check(info["requests"] == count,
                 "%s: %d requests, want %d" % (node, info["requests"], count))
    stages = jt.node_json(run, "cce", "info")["stages"]
    jt.check(stages == {"crowd_generations": n * crowd,
                        "crowd_judgments": n * 4 * crowd, "finals": n,
                        "repairs": 0}, "cce stages: %s" % stages)
    jt.check(stats["requests"] == sum(want.values()),
             "fake server saw %d requests, want %d"
             % (stats["requests"], sum(want.values())))
    print("call counts ok:", want)
    for node in ("vanilla", "swap", "majk", "cce", "rubric"):
        with open(os.path.join(run, "nodes", node, "verdicts.jsonl")) as f:
            jt.check("LEAKED" not in f.read(),
                     "%s showed the item's reference" % node)

    # ---- vanilla, Maj@5 -------------------------------------------------
    v1 = jt.expected_vanilla(items, behaviour)
    v2 = jt.expected_swapped(items, behaviour)
    van = jt.node_records(run, "vanilla", "verdicts")
    jt.check([v["verdict"] for v in van] == v1, "vanilla verdicts")
    rel = jt.node_json(run, "vanilla", "reliability")
    acc = jt.accuracy(v1, items)
    jt.check(jt.close(rel["accuracy"]["value"], acc), "vanilla accuracy")
    jt.check(rel["accuracy"]["ci_low"] <= acc <= rel["accuracy"]["ci_high"],
             "vanilla CI")
    for sub in ("natural", "adversarial"):
        idx = [i for i, it in enumerate(items) if it["subset"] == sub]
        sacc = sum(v1[i] == ("A" if items[i]["label"] == 1 else "B")
                   for i in idx) / len(idx)
        jt.check(jt.close(rel["subsets"][sub]["accuracy"], sacc),
                 "subset %s accuracy" % sub)
    # length bias: accuracy when the longer response is the gold winner
    longer = [i for i, it in enumerate(items)
              if len(it["output_1"]) != len(it["output_2"]) and
              (len(it["output_1"]) > len(it["output_2"])) ==
              (it["label"] == 1)]
    lacc = sum(v1[i] == ("A" if items[i]["label"] == 1 else "B")
               for i in longer) / len(longer)
    lb = rel["length_bias"]["longer_won"]
    jt.check(lb["n"] == len(longer) and jt.close(lb["accuracy"], lacc),
             "length bias: %s vs n=%d acc=%s" % (lb, len(longer), lacc))
    majk = jt.node_records(run, "majk", "verdicts")
    jt.check([v["verdict"] for v in majk] == v1, "Maj@5 verdicts")
    jt.check(all(v["orders"][0]["votes"][v["verdict"]] == 5 for v in majk),
             "Maj@5: five votes each")
    print("vanilla ok: accuracy %.4f" % acc)

    # ---- swap -----------------------------------------------------------
    sw = jt.node_records(run, "swap", "verdicts")
    combined = [a if a == b else "tie" for a, b in zip(v1, v2)]
    jt.check([v["verdict"] for v in sw] == combined, "swap verdicts")
    jt.check([v["consistent"] for v in sw] == [a == b for a, b in
                                                zip(v1, v2)],
             "swap consistency flags")
    rel = jt.node_json(run, "swap", "reliability")
    pc = rel["position_consistency"]
    cons = sum(a == b for a, b in zip(v1, v2)) / n
    firsts = sum(v == "A" for v in v1) + sum(v == "B" for v in v2)
    jt.check(jt.close(pc["rate"], cons), "position consistency")
    jt.check(jt.close(pc["first_position_rate"], firsts / (2 * n)),
             "first-position rate")
    jt.check(jt.close(rel["accuracy"]["value"],
                      jt.accuracy(combined, items)), "swap accuracy")
    jt.check(jt.close(rel["per_order"]["first"], jt.accuracy(v1, items)) and
             jt.close(rel["per_order"]["second"], jt.accuracy(v2, items)),
             "per-order accuracy")
    jt.check(rel["verdicts"]["tie"] == sum(c == "tie" for c in combined),
             "tie count")
    print("swap ok: consistency %.4f, accuracy %.4f"
          % (cons, jt.accuracy(combined, items)))

    # ---- CCE --------------------------------------------------------------
    cce = jt.node_records(run, "cce", "verdicts")
    jt.check([v["verdict"] for v in cce] == [cce_verdict(i)
                                             for i in range(n)],
             "cce verdicts")
    token = re.compile(r"\[\[[^\]\n]{0,48}\]\]")
    for i, v in enumerate(cce):
        js = v["crowd_judgments"]
        jt.check(len(js) == 4 * crowd, "item %d: %d judgments" % (i, len(js)))
        sel = [j for j in js if j["selected"]]
        # B's pool: all 8 lost; A's pool: the 4 with the crowd first lost
        jt.check(len(sel) == 12 and v["n_selected"] == 12,
                 "item %d: %d selected" % (i, len(sel)))
        jt.check(all(j["outcome"] == "lost" for j in sel),
                 "item %d: criticizing kept a judgment not lost" % i)
        jt.check(all(j["candidate_position"] == "second" for j in sel
                     if j["candidate"] == "A"), "item %d: A's pool" % i)
        jt.check(sum(j["outcome"] == "lost" for j in js) == 12,
                 "item %d: lost count" % i)
        letters = sorted(c["letter"] for c in v["crowd"])
        jt.check(letters == ["C", "D", "E", "F"], "letters %s" % letters)
        # what the server received as related judgments
        seen = v["answers"][0].split("\n=== end of seen ===")[0]
        jt.check(seen.startswith("Seen:\n1. Comparison of Assistant"),
                 "item %d: context missing: %r" % (i, seen[:80]))
        jt.check(not token.search(seen),
                 "item %d: a verdict token reached the final prompt" % i)
        jt.check("Final verdict" not in seen, "verdict line survived")
        jt.check(seen.count(". Comparison of Assistant") == 12,
                 "item %d: judgments in the prompt" % i)
        jt.check(v["context"] == seen[len("Seen:\n"):],
                 "item %d: recorded context differs from the prompt" % i)
        # relabelling: crowd first vs B -> "Assistant C (first) ...
        # Assistant B misses"; B first vs crowd -> "Assistant B makes an
        # error ... Assistant C is more accurate"
        jt.check(re.search(r"Comparison of Assistant [C-F] and Assistant "
                           r"B:\nAssistant [C-F] \(first\) is more "
                           r"complete; Assistant B misses details\.", seen),
                 "item %d: crowd-first relabel" % i)
        jt.check(re.search(r"Comparison of Assistant B and Assistant [C-F]:"
                           r"\nAssistant B makes an error in its second "
                           r"sentence\.\nAssistant [C-F] is more "
                           r"accurate\.", seen),
                 "item %d: candidate-first relabel" % i)
        jt.check("Assistant A (first)" not in seen, "unrelabelled text")
    rel = jt.node_json(run, "cce", "reliability")
    cacc = sum(cce_verdict(i) == ("A" if items[i]["label"] == 1 else "B")
               for i in range(n)) / n
    jt.check(jt.close(rel["accuracy"]["value"], cacc), "cce accuracy")
    jt.check(jt.close(rel["crowd"]["selected_per_item"], 12.0),
             "selected per item")
    jt.check(jt.close(rel["crowd"]["candidate_lost_rate"], 12 / 16),
             "candidate lost rate")
    print("cce ok: accuracy %.4f, 12 of 16 judgments kept, none with a "
          "verdict token" % cacc)

    # ---- rubric scoring in pair mode --------------------------------------
    rb = jt.node_records(run, "rubric", "verdicts")
    want_rb = ["tie" if i % 5 == 0 else
               ("A" if items[i]["label"] == 1 else "B") for i in range(n)]
    jt.check([v["verdict"] for v in rb] == want_rb, "rubric verdicts")
    jt.check(all(v["score_1"] in (4.0, 6.0, 8.0) for v in rb), "scores")
    rel = jt.node_json(run, "rubric", "reliability")
    racc = sum(w != "tie" for w in want_rb) / n
    jt.check(jt.close(rel["accuracy"]["value"], racc), "rubric accuracy")
    jt.check(rel["verdicts"]["tie"] == sum(w == "tie" for w in want_rb),
             "rubric ties")
    print("rubric ok: accuracy %.4f" % racc)

    # ---- agreement between judges ----------------------------------------
    comp = jt.node_json(run, "compare", "summary")
    jt.check(comp["judges"] == ["vanilla", "swap", "majk", "cce", "rubric"],
             "judges %s" % comp["judges"])
    pairs = {(p["a"], p["b"]): p for p in comp["pairs"]}
    agree = sum(a == b for a, b in zip(v1, combined)) / n
    jt.check(jt.close(pairs[("vanilla", "swap")]["agreement"], agree),
             "vanilla/swap agreement")
    jt.check(jt.close(pairs[("vanilla", "majk")]["kappa"], 1.0),
             "vanilla/majk kappa")
    cats = ["A", "B", "tie"]
    po = agree
    pe = sum((v1.count(c) / n) * (combined.count(c) / n) for c in cats)
    jt.check(jt.close(pairs[("vanilla", "swap")]["kappa"],
                      (po - pe) / (1 - pe)), "vanilla/swap kappa")
    jt.check(jt.close(comp["per_judge"]["cce"]["accuracy"], cacc),
             "compare: cce accuracy")
    # Fleiss' kappa over the five judges (every verdict here is valid)
    table = [v1, combined, v1, [cce_verdict(i) for i in range(n)], want_rb]
    pj = {c: 0 for c in cats}
    pbar = 0
    for i in range(n):
        cnt = {c: sum(t[i] == c for t in table) for c in cats}
        pbar += sum(x * (x - 1) for x in cnt.values()) / (5 * 4)
        for c in cats:
            pj[c] += cnt[c]
    pbar /= n
    pe = sum((pj[c] / (5 * n)) ** 2 for c in cats)
    fk = comp["fleiss_kappa"]
    jt.check(fk["n"] == n and jt.close(fk["value"], (pbar - pe) / (1 - pe)),
             "fleiss kappa %s" % fk)
    agr = jt.node_json(run, "agreement", "summary")
    jt.check(jt.close(agr["accuracy"], acc), "metric.agreement accuracy")
    print("agreement ok: vanilla/swap %.4f" % agree)

    # ---- the LLM cache: a fresh re-run of vanilla costs no request -------
    fake.reset()
    run2, _ = jt.run_assay(CONFIG, env, work, cache="read-write",
                           args=["--only", "vanilla", "--fresh"])
    first = fake.stats()["requests"]
    fake.reset()
    run3, _ = jt.run_assay(CONFIG, env, work, cache="read-write",
                           args=["--only", "vanilla", "--fresh"])
    again = fake.stats()["requests"]
    info = jt.node_json(run3, "vanilla", "info")
    jt.check(first == n and again == 0 and info["cached"] == n,
             "cache: %d then %d requests, %d cached" % (first, again,
                                                        info["cached"]))
    rel3 = jt.node_json(run3, "vanilla", "reliability")
    jt.check(jt.close(rel3["accuracy"]["value"], acc), "cached accuracy")
    print("cache ok: re-run served %d answers from the cache" % n)
print("judge-pairwise-llmbar: all checks passed")
