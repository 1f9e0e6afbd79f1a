#!/usr/bin/env python3
"""Both LLM-recommendation configs end to end on MovieLens-100K against
the fake LLM server, on a small user sample with short training:

configs/llmrec-dimensions.yaml - Pop/BPR/SASRec trained in the graph,
LLM recommendation (history sweep, target-first probe, profiles, category
annotation, re-ranking of the pooled lists), every metric of the paper's
section on beyond-utility evaluation for the LLM and the baselines on the
same users, the three dimension reports and report.html.  The scripted
model answers with the first ten candidates it is shown, so the probe
must find every target first and the shuffled run only those shown in
the first ten places.

configs/recsys-arena.yaml - four recommenders judged pairwise by a
scripted judge that always prefers the list shown first: with the swap
every A/B verdict becomes a tie, so every Q is exactly 1 and swap
consistency is 0 except on the aspects it calls a tie.

Skipped (exit 77, with the reason) when the shared data folder is absent.
"""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lrtest as lt  # noqa: E402

lt.need_env()
DATA = os.path.join(lt.shared_dir(), "data", "ml-100k", "ml-100k.inter")
if not os.path.exists(DATA):
    print("SKIP: %s not found (set ASSAY_SHARED to the shared data folder)"
          % DATA)
    sys.exit(77)

USERS = 25
FIRST10 = ("Candidates: \\[(('[^']*'|\"[^\"]*\"), ){9}"
           "('[^']*'|\"[^\"]*\")")
# short training: the baselines only need to produce lists
SMALL = ["nodes.sasrec.with.dim=16", "nodes.sasrec.with.layers=1",
         "nodes.sasrec.with.inner=32", "nodes.sasrec.with.max_len=10",
         "nodes.sasrec.with.windows=last", "nodes.sasrec.with.batch=256",
         "nodes.sasrec.with.epochs=2", "nodes.bpr.with.epochs=3",
         "nodes.bpr.with.dim=16", "nodes.data.with.path=" + DATA]
METRICS = ["hr", "ndcg", "mrr", "arp", "aclt", "popreo", "gini", "jain",
           "dpd", "coverage", "shannon", "jaccard", "serendipity",
           "self_info"]


def dimensions(work):
    rules = [{"user_regex": FIRST10, "answer": "Ranked: $0]"},
             {"user_regex": "Summary:",
              "answer": "Likes many genres.\nSummary: An eclectic viewer."}]
    with lt.Fake({"rules": rules, "default_answer": "Sorry."}) as fake:
        env = {"LLMREC_BASE_URL": fake.url, "OPENAI_API_KEY": "test-key"}
        cfg = os.path.join(lt.SRC, "configs", "llmrec-dimensions.yaml")
        run, _ = lt.run_assay(cfg, work, env=env,
                              sets=SMALL + ["nodes.sample.with.n=%d" % USERS])
        stats = fake.stats()
    lt.check(os.path.exists(os.path.join(run, "report.html")), "report")
    # 9 rec.llm nodes and the profiles, one request per user each (the
    # scripted answers all comply; re-ranking asks the users with pools)
    lt.check(stats["requests"] == 10 * USERS,
             "%d requests, expected %d" % (stats["requests"], 10 * USERS))
    for node in ("llm_h10", "llm_h1", "llm_h3", "llm_h20", "llm_first",
                 "llm_profile", "llm_profile_hist", "llm_category",
                 "llm_rerank"):
        info = lt.node_json(run, node, "info")
        lt.check(info["answered"] == USERS and info["failed"] == 0,
                 "%s: %d answered" % (node, info["answered"]))
        lt.check(lt.close(info["compliance_rate"], 1.0),
                 "%s: compliant" % node)
        lt.check(info["hallucinated"] == 0, "%s: no hallucination" % node)
    # every metric for every system, at both cut-offs
    util = lt.node_json(run, "utility", "summary")["systems"]
    lt.check(sorted(util) == ["bpr", "llm", "llm_category", "pop",
                              "sasrec"], "five systems")
    for name, sysm in util.items():
        lt.check(sysm["evaluated"] == USERS, "%s: all users" % name)
        for k in (5, 10):
            for m in METRICS:
                key = "%s@%d" % (m, k)
                lt.check(key in sysm, "%s: %s reported" % (name, key))
                if m not in ("popreo", "jain", "dpd"):
                    lt.check(sysm[key] is not None,
                             "%s: %s defined" % (name, key))
        llm = name.startswith("llm")
        lt.check((sysm["hallucination_rate"] is not None) == llm,
                 "%s: hallucination rate only for the LLM" % name)
    # the probe: targets shown first are recommended first
    first = lt.node_records(run, "llm_first", "lists")
    lt.check(all(r["rank"] == 1 for r in first), "probe: rank 1")
    shuf = lt.node_records(run, "llm_h10", "lists")
    for r in shuf:
        p = r["target_position"]
        lt.check(r["rank"] == (p if p <= 10 else None),
                 "shuffled: rank follows the shown position")
    pos = lt.node_json(run, "position", "summary")
    hit10 = sum(1 for r in shuf if r["rank"]) / USERS
    lt.check(lt.close(pos["shuffled"]["hr@10"], hit10), "shuffled HR@10")
    lt.check(lt.close(pos["gap"]["hr@10"]["value"], 1.0 - hit10),
             "position gap")
    curve = lt.node_records(run, "history", "curve")
    lt.check([c["history_len"] for c in curve] == [1, 3, 10, 20],
             "history curve over L")
    gen = lt.node_json(run, "generation", "summary")
    lt.check(sorted(gen["variants"]) == ["llm_profile", "llm_profile_hist"],
             "generation variants")
    rer = lt.node_records(run, "llm_rerank", "lists")
    lt.check(all(len(r["candidates"]) == 20 and r["task"] == "reranking"
                 for r in rer), "re-ranking pools 20 candidates")
    lt.check(lt.node_json(run, "rerank", "summary")["systems"]
             ["llm_rerank"]["evaluated"] == USERS, "re-ranking evaluated")


def arena(work):
    answer = ("Accuracy: A wins; Satisfaction: A wins; Inspiring Content: "
              "tie; Content Quality: B wins; Explainability/Transparency: "
              "A wins; Positive Impact: tie; Overall Winner: A wins")
    n = 10
    with lt.Fake({"default_answer": answer}) as fake:
        env = {"ARENA_BASE_URL": fake.url, "OPENAI_API_KEY": "test-key"}
        cfg = os.path.join(lt.SRC, "configs", "recsys-arena.yaml")
        run, _ = lt.run_assay(cfg, work, env=env,
                              sets=SMALL + ["nodes.sample.with.n=%d" % n])
        stats = fake.stats()
    lt.check(stats["requests"] == 6 * n * 2,
             "%d requests, expected %d" % (stats["requests"], 12 * n))
    rows = lt.node_records(run, "arena", "pairs")
    lt.check(len(rows) == 6 * 7, "6 pairs x 7 aspects")
    for r in rows:
        lt.check((r["wins_a"], r["ties"], r["wins_b"]) == (0, n, 0),
                 "%s %s: all ties" % (r["pair"], r["aspect"]))
        lt.check(r["q"] == 1.0, "Q = 1")
        want = 1.0 if r["aspect"] in ("inspiring_content",
                                      "positive_impact") else 0.0
        lt.check(r["swap_consistency"] == want, "swap consistency")
    summ = lt.node_json(run, "arena", "summary")
    lt.check([s["name"] for s in summ["systems"]] ==
             ["sasrec", "bpr", "itemknn", "pop"], "systems")
    lt.check(all(s["arena_score"] == 0.5 and s["offline"] is not None
                 for s in summ["systems"]), "equal arena scores")
    lt.check(summ["correlation"]["spearman"] is None,
             "no correlation with a constant arena score")


def main():
    with tempfile.TemporaryDirectory() as work:
        for name, fn in (("dimensions", dimensions), ("arena", arena)):
            os.makedirs(os.path.join(work, name))
            fn(os.path.join(work, name))
    print("ok")


if __name__ == "__main__":
    main()
