#!/usr/bin/env python3
"""rec.llm, synth.user-profile and metric.llmrec through the CLI against
the fake LLM server, on the example catalogue:

- a table of tricky answers, one scripted per user (near-duplicates,
  case, punctuation, HTML entities, titles absent from the catalogue,
  duplicates, fewer and more than k titles, no list at all): every title's
  item id and match level, hallucination and duplicate counts, re-asks
  with repair turns (exact request count), compliance rates;
- the position-bias probe: with candidate_order: target_first every
  target is shown first, and a model that answers the first candidates
  puts it first (HR@1 = 1) while the shuffled run does not;
- a request the server rejects makes a failed query without scores;
- profiles written by the endpoint feed the profile prompts.
"""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lrtest as lt  # noqa: E402

lt.need_env()
ITEMS = lt.read_items(os.path.join(lt.MINI, "mini.item"))

# user -> (first answer, [expected item ids], [match levels],
#          hallucinated, duplicates, first answer problem, final status)
TABLE = {
    1: ("['Toy Story', 'Heat', 'GoldenEye']",
        [1, 10, 2], ["exact"] * 3, 0, 0, None, "ok"),
    2: ('["toy story", "HEAT", "goldeneye"]',
        [1, 10, 2], ["case"] * 3, 0, 0, None, "ok"),
    3: ("Here you go:\n['The Usual Suspects', 'Schindler's List', "
        "'Les Mis\u00e9rables']",
        [3, 4, 7], ["normalised", "exact", "normalised"], 0, 0, None, "ok"),
    4: ("['Truth About Cats &amp; Dogs, The', 'Fargo', 'Babe']",
        [5, 17, 29], ["normalised", "exact", "exact"], 0, 0, None, "ok"),
    5: ("['Toy Story 2', 'Star Wars: Episode IV - A New Hope', 'Heat']",
        [10], ["none", "none", "exact"], 2, 0, None, "ok"),
    6: ("1. Heat (1995)\n2. **Shanghai Triad**\n3. Seven",
        [10, 6, 15], ["normalised"] * 3, 0, 0, None, "ok"),
    7: ("['Heat', 'GoldenEye']",
        [10, 2, 17], ["exact"] * 3, 0, 0, "length_error", "ok"),
    8: ("['Heat', 'GoldenEye', 'Fargo', 'Babe', 'Aladdin']",
        [20, 29, 30], ["exact"] * 3, 0, 0, "length_error", "ok"),
    9: ("I'm sorry, I can't help with that.",
        [], [], 0, 0, "format_error", "noncompliant"),
    10: ("['Heat', 'heat', 'The Fugitive']",
         [10, 24], ["exact", "case", "normalised"], 0, 1, None, "ok"),
    11: ("['Cape Fear (1991)', 'Pink Floyd - The Wall', 'L\\'Appartement']",
         [9, 13, 14], ["normalised", "exact", "normalised"], 0, 0, None,
         "ok"),
    12: ("['Casablanca', 'Babe - a charming story about a pig', "
         "'Mr Hollands Opus']",
         [30, 29, 16], ["exact", "exact", "normalised"], 0, 0, None, "ok"),
}
# the repair turns (the last user message) and their answers
REPAIRS = [
    {"user": "Your list has 2 titles, but I asked for 3",
     "answer": "['Heat', 'GoldenEye', 'Fargo']"},
    {"user": "Your list has 5 titles, but I asked for 3",
     "answer": "Sorry: ['Aladdin', 'Babe', 'Casablanca']"},
    {"user": "I could not find a list of titles",
     "answer": "Still no."},
]


def user_rule(u, answer):
    # every paraphrase writes "User 7 of", "user 7 chose", "User 7's"
    return {"user_regex": "[Uu]ser %d( |')" % u, "answer": answer}


FIRST3 = ("Candidates: \\[(('[^']*'|\"[^\"]*\"), ){2}"
          "('[^']*'|\"[^\"]*\")")

EXP = """experiment: llmrec-mini
seed: 11
llm:
{llm}nodes:
  data: {{plugin: source.interactions, with: {{path: {mini}/mini.inter}}}}
  split:
    plugin: protocol.split
    inputs: {{interactions: data.interactions}}
    with: {{method: loo}}
  negs:
    plugin: protocol.negatives
    inputs: {{test: split.test, train: split.train, exclude: [split.valid]}}
    with: {{n: 9, shuffle: false}}
  tricky:
    plugin: rec.llm
    inputs: {{train: split.train, valid: split.valid, items: data.items,
             candidates: negs.candidates}}
    with: {{llm: fake, k: 3, n_candidates: 10, dataset: MovieLens}}
  metrics:
    plugin: metric.llmrec
    inputs: {{systems: [tricky.lists], train: split.train,
             items: data.items}}
    with: {{ks: [3]}}
"""

PROBE = """experiment: llmrec-probe
seed: 11
llm:
{llm}nodes:
  data: {{plugin: source.interactions, with: {{path: {mini}/mini.inter}}}}
  split:
    plugin: protocol.split
    inputs: {{interactions: data.interactions}}
    with: {{method: loo}}
  negs:
    plugin: protocol.negatives
    inputs: {{test: split.test, train: split.train, exclude: [split.valid]}}
    with: {{n: 9, shuffle: true}}
  profiles:
    plugin: synth.user-profile
    inputs: {{train: split.train, valid: split.valid, items: data.items,
             users: data.users, for: split.test}}
    with: {{llm: fake, dataset: MovieLens, with_features: true}}
  shuffled:
    plugin: rec.llm
    inputs: {{train: split.train, valid: split.valid, items: data.items,
             candidates: negs.candidates}}
    with: {{llm: fake, k: 3, n_candidates: 10, shuffle_seed: 3}}
  first:
    plugin: rec.llm
    inputs: {{train: split.train, valid: split.valid, items: data.items,
             candidates: negs.candidates}}
    with: {{llm: fake, k: 3, n_candidates: 10, shuffle_seed: 3,
           candidate_order: target_first}}
  profiled:
    plugin: rec.llm
    inputs: {{train: split.train, valid: split.valid, items: data.items,
             candidates: negs.candidates, profiles: profiles.profiles}}
    with: {{llm: fake, k: 3, n_candidates: 10, shuffle_seed: 3,
           prompt: profile}}
  position:
    plugin: metric.llmrec-position
    inputs: {{shuffled: shuffled.lists, first: first.lists}}
    with: {{ks: [1, 3], bootstrap: 200}}
  generation:
    plugin: metric.llmrec-profile
    inputs: {{history: shuffled.lists, variants: [profiled.lists]}}
    with: {{ks: [3], bootstrap: 0}}
  utility:
    plugin: metric.llmrec
    inputs: {{systems: [shuffled.lists, first.lists], train: split.train}}
    with: {{ks: [3], common: false}}
"""


def test_tricky(work):
    rules = REPAIRS + [user_rule(u, t[0]) for u, t in TABLE.items()]
    with lt.Fake({"rules": rules, "default_answer": "no idea"}) as fake:
        path = os.path.join(work, "tricky.yaml")
        with open(path, "w") as f:
            f.write(EXP.format(llm=lt.llm_block("fake", fake), mini=lt.MINI))
        run, _ = lt.run_assay(path, work)
        stats = fake.stats()
    recs = {r["user"]: r for r in lt.node_records(run, "tricky", "lists")}
    lt.check(sorted(recs) == sorted(TABLE), "one record per user")
    titles_kept = hallucinated = 0
    for u, (ans, items, levels, hal, dup, first, status) in TABLE.items():
        r = recs[u]
        lt.check(r["items"] == items,
                 "user %d: items %s, expected %s" % (u, r["items"], items))
        lt.check(r["match"] == levels,
                 "user %d: match %s, expected %s" % (u, r["match"], levels))
        lt.check(r["hallucinated"] == hal and r["duplicates"] == dup,
                 "user %d: hallucinated %d duplicates %d" %
                 (u, r["hallucinated"], r["duplicates"]))
        lt.check(r["status"] == status, "user %d: status %s" % (u, r["status"]))
        lt.check(r["first_answer"] == (first or "ok"),
                 "user %d: first answer %s" % (u, r["first_answer"]))
        lt.check(r["answers"][0] == ans, "user %d: first answer text" % u)
        want_attempts = {7: 2, 8: 2, 9: 3}.get(u, 1)
        lt.check(r["attempts"] == want_attempts,
                 "user %d: %d attempts" % (u, r["attempts"]))
        # the shown candidates, the target and where it sat
        cands = r["candidates"]
        lt.check(len(cands) == 10 and r["target"] in cands,
                 "user %d: 10 candidates with the target" % u)
        lt.check(cands[r["target_position"] - 1] == r["target"],
                 "user %d: target position" % u)
        outside = sum(1 for i in r["items"] if i not in cands)
        lt.check(r["out_of_candidates"] == outside,
                 "user %d: out_of_candidates %d, expected %d"
                 % (u, r["out_of_candidates"], outside))
        rank = r["items"].index(r["target"]) + 1 if r["target"] in \
            r["items"] else None
        lt.check(r["rank"] == rank, "user %d: rank" % u)
        lt.check(r["positions"] == [cands.index(i) + 1 if i in cands else 0
                                    for i in r["items"]],
                 "user %d: positions" % u)
        titles_kept += r["n_titles"]
        hallucinated += r["hallucinated"]
    # extra titles were cut at k: user 8's first answer had 5
    lt.check(recs[9]["n_titles"] == 0 and recs[9]["items"] == [],
             "no list, no titles")
    # requests: 12 first answers + 1 repair (user 7) + 1 (user 8) + 2 (9)
    lt.check(stats["requests"] == 16,
             "%d requests, expected 16" % stats["requests"])
    info = lt.node_json(run, "tricky", "info")
    lt.check(info["requests"] == 16 and info["reasks"] == 4,
             "info counts requests and re-asks")
    lt.check(lt.close(info["compliance_rate"], 9 / 12), "compliance 9/12")
    lt.check(lt.close(info["final_compliance_rate"], 11 / 12),
             "final compliance 11/12")
    lt.check(info["format_errors"] == 1 and info["length_errors"] == 2,
             "format and length errors")
    lt.check(titles_kept == 33 and hallucinated == 2, "33 titles, 2 fake")
    lt.check(lt.close(info["hallucination_rate"], 2 / 33),
             "hallucination rate 2/33")
    lt.check(info["match_levels"] == {"exact": 17, "case": 4,
                                      "normalised": 10, "none": 2},
             "match levels %s" % info["match_levels"])
    # the scores table: k+1-rank for recommended candidates, else 0
    # (read back through metric.llmrec's view of the same lists)
    m = lt.node_json(run, "metrics", "summary")["systems"]["tricky"]
    hits = sum(1 for r in recs.values() if r["rank"] and r["rank"] <= 3)
    lt.check(lt.close(m["hr@3"], hits / 12), "metric.llmrec HR@3")
    lt.check(lt.close(m["hallucination_rate"], 2 / 33),
             "metric.llmrec hallucination rate")
    lt.check(lt.close(m["compliance_rate"], 9 / 12),
             "metric.llmrec compliance")


def test_probe(work):
    # user 3 is rejected everywhere (the rule comes first)
    rules = [{"user_regex": "[Uu]ser 3( |')", "status": 400,
              "error": "scripted rejection"},
             {"user_regex": FIRST3, "answer": "My picks: $0]"},
             {"user_regex": "Summary:",
              "answer": "They like classics.\nSummary: A fan of classics."}]
    with lt.Fake({"rules": rules, "default_answer": "no idea"}) as fake:
        path = os.path.join(work, "probe.yaml")
        with open(path, "w") as f:
            f.write(PROBE.format(llm=lt.llm_block("fake", fake),
                                 mini=lt.MINI))
        run, _ = lt.run_assay(path, work)
    first = {r["user"]: r for r in lt.node_records(run, "first", "lists")}
    shuf = {r["user"]: r for r in lt.node_records(run, "shuffled", "lists")}
    # the rejected user fails in every node; no scores, the rest answered
    for recs in (first, shuf):
        lt.check(recs[3]["status"] == "failed" and recs[3]["items"] == [],
                 "user 3 failed")
        lt.check("scripted rejection" in recs[3]["error"], "error kept")
    for u, r in first.items():
        if u == 3:
            continue
        lt.check(r["target_position"] == 1 and r["candidates"][0] ==
                 r["target"], "user %d: target shown first" % u)
        lt.check(r["rank"] == 1, "user %d: target recommended first" % u)
    # same candidates, other order: the shuffled run ranks the target
    # where it was shown when that is among the first three
    moved = 0
    for u, r in shuf.items():
        if u == 3:
            continue
        lt.check(sorted(r["candidates"]) == sorted(first[u]["candidates"]),
                 "user %d: same candidates in both runs" % u)
        p = r["target_position"]
        lt.check(r["rank"] == (p if p <= 3 else None),
                 "user %d: rank %s at position %d" % (u, r["rank"], p))
        moved += p != 1
    lt.check(moved > 0, "the shuffle moves some targets")
    scores_first = lt.node_json(run, "first", "info")
    lt.check(scores_first["failed"] == 1, "one failed query")
    pos = lt.node_json(run, "position", "summary")
    lt.check(pos["queries"] == 11, "position: 11 common queries")
    lt.check(lt.close(pos["target_first"]["hr@1"], 1.0), "probe HR@1 = 1")
    hr1 = sum(1 for u, r in shuf.items() if r.get("rank") == 1) / 11
    lt.check(lt.close(pos["shuffled"]["hr@1"], hr1), "shuffled HR@1")
    lt.check(lt.close(pos["gap"]["hr@3"]["value"],
                      1.0 - sum(1 for u, r in shuf.items()
                                if r.get("rank")) / 11), "gap HR@3")
    sp = pos["shuffled"]["positions"]
    lt.check(lt.close(sp["first_position_top1_share"], 1.0),
             "top-1 picks sit at position 1")
    lt.check(lt.close(sum(sp["share_by_position"][:3]), 1.0),
             "all picks in the first three positions")
    util = lt.node_json(run, "utility", "summary")["systems"]
    lt.check(util["first"]["failed"] == 1 and util["first"]["evaluated"] ==
             11, "metric.llmrec counts the failed query apart")
    # profiles: the summary line is kept; the profile prompt shows it
    profs = {r["user"]: r for r in lt.node_records(run, "profiles",
                                                   "profiles")}
    lt.check(profs[1]["profile"] == "A fan of classics.", "summary kept")
    lt.check(profs[3]["status"] == "failed" and profs[3]["profile"] is None,
             "user 3's profile failed")
    prof = lt.node_records(run, "profiled", "lists")
    lt.check(all(r["prompt"] == "profile" for r in prof), "profile prompt")
    gen = lt.node_json(run, "generation", "summary")
    lt.check("profiled" in gen["variants"], "generation-involved variant")


def main():
    with tempfile.TemporaryDirectory() as work:
        for name, fn in (("tricky", test_tricky), ("probe", test_probe)):
            os.makedirs(os.path.join(work, name))
            fn(os.path.join(work, name))
    print("ok")


if __name__ == "__main__":
    main()
