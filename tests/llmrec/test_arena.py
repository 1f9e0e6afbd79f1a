#!/usr/bin/env python3
"""judge.recsys-arena through the CLI against the fake LLM server with
scripted verdicts, on the example catalogue.

Three recommenders (Pop, ItemKNN, BPR) are trained first; then every
(pair, user, order) prompt gets a scripted answer keyed on the exact
lists it shows, in one of several realistic layouts (the paper's
one-line format, a markdown verdict list after an analysis, numbered
lines with aliases), some missing an aspect (the re-ask's answer fills
it).  The test recomputes in Python what the arena must report - swap
combination (disagreement is a tie), counts per pair and aspect, Q,
swap consistency, arena scores and their rank correlation with the
offline NDCG@5 - and compares exactly; also the request count.
"""
import os
import random
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lrtest as lt  # noqa: E402

lt.need_env()
ITEMS = lt.read_items(os.path.join(lt.MINI, "mini.item"))
ASPECTS = ["accuracy", "satisfaction", "inspiring_content",
           "content_quality", "explainability", "positive_impact",
           "overall"]
NAMES = {"accuracy": "Accuracy", "satisfaction": "Satisfaction",
         "inspiring_content": "Inspiring Content",
         "content_quality": "Content Quality",
         "explainability": "Explainability/Transparency",
         "positive_impact": "Positive Impact", "overall": "Overall Winner"}
ALIASES = {"accuracy": "Accuracy", "satisfaction": "Satisfaction",
           "inspiring_content": "Inspiration",
           "content_quality": "Quality", "explainability": "Transparency",
           "positive_impact": "Impact on users", "overall": "Overall"}
SYSTEMS = ["pop", "knn", "bpr"]
K = 5

CONFIG = """experiment: arena-mini
seed: 5
llm:
{llm}nodes:
  data: {{plugin: source.interactions, with: {{path: {mini}/mini.inter}}}}
  split:
    plugin: protocol.split
    inputs: {{interactions: data.interactions}}
    with: {{method: loo}}
  pop:
    plugin: rec.pop
    inputs: {{train: split.train, valid: split.valid, test: split.test}}
    with: {{k: 5, metric_ks: [5]}}
  knn:
    plugin: rec.itemknn
    inputs: {{train: split.train, valid: split.valid, test: split.test}}
    with: {{k: 5, metric_ks: [5]}}
  bpr:
    plugin: rec.bpr
    inputs: {{train: split.train, valid: split.valid, test: split.test}}
    with: {{k: 5, metric_ks: [5], dim: 8, epochs: 5, patience: 0}}
  arena:
    plugin: judge.recsys-arena
    inputs:
      systems: [pop.lists, knn.lists, bpr.lists]
      offline: [pop.metrics, knn.metrics, bpr.metrics]
      train: split.train
      valid: split.valid
      items: data.items
      users: data.users
    with: {{llm: fake, names: [pop, knn, bpr], top_k: 5, history_len: 3,
           offline_metric: "ndcg@5", bootstrap: 500}}
"""


def blocks(list_a, list_b):
    """The part of the prompt that identifies a judgement."""
    return ("Recommendation System A's top %d:\n" % K +
            "\n".join(lt.item_lines(ITEMS, list_a[:K])) +
            "\nRecommendation System B's top %d:\n" % K +
            "\n".join(lt.item_lines(ITEMS, list_b[:K])) +
            "\nCompare the two lists")


def verdict_text(v):
    return {"A": "A wins", "B": "B wins", "tie": "tie"}[v]


def render(verdicts, style):
    """An answer stating `verdicts` ({aspect: 'A'|'B'|'tie'}, maybe
    missing some) in layout `style`."""
    if style == 0:  # the paper's line after a short analysis
        parts = ["%s: '%s'" % (NAMES[a], verdict_text(verdicts[a]))
                 for a in ASPECTS if a in verdicts]
        return ("Accuracy matters most to me; list A has more thrillers.\n"
                + "; ".join(parts))
    if style == 1:  # markdown analysis, then a verdict list
        lines = ["### Analysis",
                 "**Accuracy**: System A's list feels closer to my taste, "
                 "though B has a classic.",
                 "### Verdicts"]
        lines += ["- **%s:** %s" % (NAMES[a], verdict_text(verdicts[a]))
                  for a in ASPECTS if a in verdicts]
        return "\n".join(lines)
    # numbered lines with aliases and "System X"
    words = {"A": "System A", "B": "System B", "tie": "tie"}
    return "\n".join("%d. %s - %s" % (n, ALIASES[a], words[verdicts[a]])
                     for n, a in enumerate(ASPECTS, 1) if a in verdicts)


def flip(v):
    return {"A": "B", "B": "A"}.get(v, v)


def main():
    with tempfile.TemporaryDirectory() as work:
        check_arena(work)


def check_arena(work):
    with lt.Fake({"default_answer": "Positive Impact: B wins"}) as fake:
        path = os.path.join(work, "arena.yaml")
        with open(path, "w") as f:
            f.write(CONFIG.format(llm=lt.llm_block("fake", fake),
                                  mini=lt.MINI))
        # phase 1: the recommenders alone (cached for phase 2)
        lists, metrics = {}, {}
        for s in SYSTEMS:
            run, _ = lt.run_assay(path, work, args=["--only", s])
            lists[s] = {r["user"]: r["items"]
                        for r in lt.node_records(run, s, "lists")}
            metrics[s] = lt.node_json(run, s, "metrics")
        # script an answer for every (pair, user, order)
        rng = random.Random(20241215)
        rules, script = [], {}
        pairs = [(0, 1), (0, 2), (1, 2)]
        for a, b in pairs:
            sa, sb = SYSTEMS[a], SYSTEMS[b]
            for u in sorted(lists[sa]):
                if u not in lists[sb]:
                    continue
                for order in (0, 1):
                    la, lb = ((lists[sa][u], lists[sb][u]) if order == 0
                              else (lists[sb][u], lists[sa][u]))
                    key = blocks(la, lb)
                    v = {x: rng.choice(["A", "A", "B", "tie"])
                         for x in ASPECTS}
                    if rng.random() < 0.2:
                        del v["positive_impact"]  # re-asked
                    style = rng.randrange(3)
                    script[(a, b, u, order)] = key
                    if all(r["user"] != key for r in rules):
                        rules.append({"user": key, "answer":
                                      render(v, style), "v": v})
        answers = {r["user"]: r["v"] for r in rules}
        fake.configure({"rules": [{"user": r["user"], "answer": r["answer"]}
                                  for r in rules],
                        "default_answer": "Positive Impact: B wins"})
        fake.reset()
        # phase 2: the arena (recommenders reused from the node cache)
        run, _ = lt.run_assay(path, work)
        stats = fake.stats()

    # ---- what the arena must report --------------------------------
    requests = 0
    counts, consist = {}, {}
    final = {}
    for (a, b, u, order), key in script.items():
        v = dict(answers[key])
        requests += 1
        if "positive_impact" not in v:
            requests += 1
            v["positive_impact"] = "B"  # the repair answer
        if order == 1:
            v = {x: flip(y) for x, y in v.items()}
        final.setdefault((a, b, u), [None, None])[order] = v
    for (a, b, u), (ab, ba) in final.items():
        for x in ASPECTS:
            same = ab[x] == ba[x]
            fv = ab[x] if same else "tie"
            c = counts.setdefault((a, b, x), {"A": 0, "tie": 0, "B": 0})
            c[fv] += 1
            k = consist.setdefault((a, b, x), [0, 0])
            k[0] += same
            k[1] += 1
    lt.check(stats["requests"] == requests,
             "%d requests, expected %d" % (stats["requests"], requests))
    rows = lt.node_records(run, "arena", "pairs")
    lt.check(len(rows) == 3 * len(ASPECTS), "one row per pair and aspect")
    for r in rows:
        a, b = SYSTEMS.index(r["a"]), SYSTEMS.index(r["b"])
        c = counts[(a, b, r["aspect"])]
        got = (r["wins_a"], r["ties"], r["wins_b"], r["invalid"])
        lt.check(got == (c["A"], c["tie"], c["B"], 0),
                 "%s %s: counts %s, expected %s" % (r["pair"], r["aspect"],
                                                    got, c))
        q = ((c["A"] + c["tie"]) / (c["B"] + c["tie"])
             if c["B"] + c["tie"] else None)
        lt.check(q is None and r["q"] is None or lt.close(r["q"], q, 1e-12),
                 "%s %s: Q %s, expected %s" % (r["pair"], r["aspect"],
                                               r["q"], q))
        if q is not None and r["q_ci_low"] is not None:
            lt.check(r["q_ci_low"] <= q + 1e-12 <= r["q_ci_high"] + 2e-12,
                     "%s %s: Q inside its CI" % (r["pair"], r["aspect"]))
        k = consist[(a, b, r["aspect"])]
        lt.check(lt.close(r["swap_consistency"], k[0] / k[1]),
                 "%s %s: swap consistency" % (r["pair"], r["aspect"]))
    # per judgement: the swap logic as seen in the verdict records
    for rec in lt.node_records(run, "arena", "verdicts"):
        a, b = SYSTEMS.index(rec["a"]), SYSTEMS.index(rec["b"])
        ab, ba = final[(a, b, rec["user"])]
        for x in ASPECTS:
            want = ab[x] if ab[x] == ba[x] else "tie"
            lt.check(rec["aspects"][x] == want and
                     rec["consistent"][x] == (ab[x] == ba[x]),
                     "pair %s user %d %s" % (rec["pair"], rec["user"], x))
            lt.check(rec["orders"][1]["aspects"][x] == ba[x],
                     "second order flipped back")
    # arena scores and the rank correlation with NDCG@5
    summ = lt.node_json(run, "arena", "summary")
    pts = {s: [0.0, 0.0] for s in range(3)}
    for (a, b, x), c in counts.items():
        if x != "overall":
            continue
        pts[a][0] += c["A"] + 0.5 * c["tie"]
        pts[b][0] += c["B"] + 0.5 * c["tie"]
        for s in (a, b):
            pts[s][1] += c["A"] + c["B"] + c["tie"]
    score = [pts[s][0] / pts[s][1] for s in range(3)]
    off = [metrics[s]["ndcg@5"] for s in SYSTEMS]
    for s, row in enumerate(summ["systems"]):
        lt.check(row["name"] == SYSTEMS[s] and
                 lt.close(row["arena_score"], score[s], 1e-12) and
                 lt.close(row["offline"], off[s], 1e-12),
                 "system %s score" % SYSTEMS[s])

    def ranks(v):
        order = sorted(range(len(v)), key=lambda i: v[i])
        r = [0.0] * len(v)
        i = 0
        while i < len(v):
            j = i
            while j + 1 < len(v) and v[order[j + 1]] == v[order[i]]:
                j += 1
            for k in range(i, j + 1):
                r[order[k]] = (i + j) / 2 + 1
            i = j + 1
        return r

    rx, ry = ranks(score), ranks(off)
    mx, my = sum(rx) / 3, sum(ry) / 3
    sxy = sum((x - mx) * (y - my) for x, y in zip(rx, ry))
    sxx = sum((x - mx) ** 2 for x in rx)
    syy = sum((y - my) ** 2 for y in ry)
    corr = summ["correlation"]
    if sxx > 0 and syy > 0:
        lt.check(lt.close(corr["spearman"], sxy / (sxx * syy) ** 0.5,
                          1e-12), "Spearman of arena vs NDCG@5")
    else:
        lt.check(corr["spearman"] is None, "Spearman undefined")
    lt.check(corr["metric"] == "ndcg@5", "offline metric named")
    total = sum(k[0] for k in consist.values())
    lt.check(lt.close(summ["swap_consistency"],
                      total / sum(k[1] for k in consist.values())),
             "overall swap consistency")
    info = lt.node_json(run, "arena", "info")
    lt.check(info["reasks"] == requests - len(script), "re-asks counted")
    print("ok: %d judgements, %d requests" % (len(final), requests))


if __name__ == "__main__":
    main()
