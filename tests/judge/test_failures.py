#!/usr/bin/env python3
"""Failure paths of the judges through the CLI: failed requests recorded
as failed items (on_error: record) or failing the node (on_error: fail),
answers without a verdict re-asked and then counted invalid, a repair
turn that rescues them, a CCE pair whose crowd generation fails, prompt
templates overridden from the YAML, bad templates, `plugins info` and
`run --dry-run`."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import judgetest as jt  # noqa: E402

jt.need_env()
CONFIG = os.path.join(jt.SRC, "configs", "judge-pairwise-llmbar.yaml")
DATA = os.path.join(jt.SRC, "examples", "data", "judge", "llmbar-mini.jsonl")
items = jt.read_jsonl(DATA)
n = len(items)
gold = ["A" if it["label"] == 1 else "B" for it in items]
BAD = (0, 1, 2)  # items whose requests get an HTTP 400

rules = []
for i in BAD:
    rules.append({"user": items[i]["input"], "status": 400,
                  "error": "this request is scripted to fail"})
rules.append({"user": "did not end with a verdict",
              "answer": "Sorry: [[A]]"})

with jt.Fake({"rules": rules, "default_answer": "B.\n[[B]]"}) as fake, \
        tempfile.TemporaryDirectory() as work:
    env = jt.endpoint_env(fake)

    # ---- on_error: record (the default) --------------------------------
    run, _ = jt.run_assay(CONFIG, env, work,
                          args=["--only", "vanilla", "--fresh"])
    v = jt.node_records(run, "vanilla", "verdicts")
    for i in range(n):
        if i in BAD:
            jt.check(v[i]["status"] == "failed" and v[i]["verdict"] is None,
                     "item %d should have failed: %s" % (i, v[i]))
            err = v[i]["orders"][0]["samples"][0]["error"]
            jt.check("400" in err or "scripted" in err, "error: %s" % err)
        else:
            jt.check(v[i]["status"] == "ok" and v[i]["verdict"] == "B",
                     "item %d: %s" % (i, v[i]))
    rel = jt.node_json(run, "vanilla", "reliability")
    right = sum(gold[i] == "B" for i in range(n) if i not in BAD)
    jt.check(rel["failed"]["items"] == len(BAD), "failed count")
    jt.check(jt.close(rel["accuracy"]["value"], right / n),
             "accuracy counts failed items as wrong")
    jt.check(jt.close(rel["accuracy_valid"]["value"], right / (n - 3)),
             "accuracy_valid leaves failed items out")
    jt.check(jt.node_json(run, "vanilla", "info")["failed"] == len(BAD),
             "info.failed")
    print("on_error record ok")

    # ---- on_error: fail ----------------------------------------------------
    _, out = jt.run_assay(CONFIG, env, work, expect_rc=1, args=[
        "--only", "vanilla", "--fresh",
        "--set", "nodes.vanilla.with.on_error=fail"])
    jt.check("on_error: record" in out and "record " in out,
             "failure message: %s" % out[-600:])
    print("on_error fail ok")

    # ---- a spent budget stops the node, it is never a failed item ---------
    fake.reset()
    _, out = jt.run_assay(CONFIG, env, work, expect_rc=jt.ANY_FAILURE, args=[
        "--only", "vanilla", "--fresh", "--set", "budget.max_requests=10"])
    jt.check("budget" in out, "budget message: %s" % out[-600:])
    jt.check(fake.stats()["requests"] <= 10, "requests past the budget")
    print("budget ok")

    # ---- CCE: a failed crowd generation stops that pair only ----------------
    fake.reset()
    run, _ = jt.run_assay(CONFIG, env, work, args=[
        "--only", "cce", "--fresh", "--set", "nodes.cce.with.crowd_samples=2"])
    v = jt.node_records(run, "cce", "verdicts")
    stages = jt.node_json(run, "cce", "info")["stages"]
    good = n - len(BAD)
    jt.check(stages["crowd_generations"] == 2 * n and
             stages["crowd_judgments"] == good * 8 and
             stages["finals"] == good, "cce stages %s" % stages)
    jt.check(fake.stats()["requests"] == 2 * n + 9 * good, "cce requests")
    jt.check(all(v[i]["status"] == "failed" and "crowd generation" in
                 v[i]["error"] for i in BAD), "cce failed items")
    print("cce failure ok: %s" % stages)

    # ---- answers without a verdict -------------------------------------------
    fake.configure({"rules": [], "default_answer": "Both have merit."})
    fake.reset()
    run, _ = jt.run_assay(CONFIG, env, work,
                          args=["--only", "vanilla", "--fresh"])
    jt.check(fake.stats()["requests"] == 3 * n, "two repairs per item")
    rel = jt.node_json(run, "vanilla", "reliability")
    inv = rel["invalid"]
    jt.check(inv["items"] == n and inv["outputs"] == 3 * n and
             inv["invalid_outputs"] == 3 * n and inv["repairs"] == 2 * n and
             jt.close(inv["output_rate"], 1.0), "invalid %s" % inv)
    jt.check(rel["accuracy"]["value"] == 0 and
             rel["accuracy_valid"]["value"] is None, "no verdict, no score")
    v = jt.node_records(run, "vanilla", "verdicts")
    s0 = v[0]["orders"][0]["samples"][0]
    jt.check(v[0]["status"] == "invalid" and s0["why"] == "no verdict token"
             and len(s0["answers"]) == 3, "invalid record %s" % s0)
    fake.reset()
    jt.run_assay(CONFIG, env, work, args=[
        "--only", "vanilla", "--fresh",
        "--set", "nodes.vanilla.with.max_repairs=0"])
    jt.check(fake.stats()["requests"] == n, "max_repairs 0")
    print("invalid outputs ok")

    # ---- a repair turn rescues the answer ------------------------------------
    fake.configure({"rules": [{"user": "did not end with a verdict",
                               "answer": "Sorry: [[A]]"}],
                    "default_answer": "Both have merit."})
    fake.reset()
    run, _ = jt.run_assay(CONFIG, env, work,
                          args=["--only", "vanilla", "--fresh"])
    jt.check(fake.stats()["requests"] == 2 * n, "one repair per item")
    rel = jt.node_json(run, "vanilla", "reliability")
    jt.check(rel["invalid"]["repaired"] == n and rel["invalid"]["items"] == 0
             and rel["verdicts"]["A"] == n, "repaired %s" % rel["invalid"])
    print("repairs ok")

    # ---- templates from the YAML ---------------------------------------------
    fake.configure({"rules": [
        {"user_regex": "^Q=.*\\| first=.*\\| second=", "answer": "[[A]]"},
        {"system": "CUSTOM SYSTEM", "answer": "[[B]]"}],
        "default_answer": "no"})
    run, _ = jt.run_assay(CONFIG, env, work, args=[
        "--only", "vanilla", "--fresh", "--set",
        "nodes.vanilla.with.template=Q={{question}} | first={{answer_a}} | "
        "second={{answer_b}}"])
    v = jt.node_records(run, "vanilla", "verdicts")
    jt.check(all(x["verdict"] == "A" for x in v), "inline template")
    tpl = os.path.join(work, "judge.txt")
    with open(tpl, "w") as f:
        f.write("{{! a custom prompt }}\n@@ system @@\nCUSTOM SYSTEM\n"
                "@@ user @@\n{{question}}\n{{answer_a}}\n{{answer_b}}\n")
    run, _ = jt.run_assay(CONFIG, env, work, args=[
        "--only", "vanilla", "--fresh", "--set",
        "nodes.vanilla.with.template_file=" + tpl])
    v = jt.node_records(run, "vanilla", "verdicts")
    jt.check(all(x["verdict"] == "B" for x in v), "template file")
    _, out = jt.run_assay(CONFIG, env, work, expect_rc=jt.ANY_FAILURE, args=[
        "--only", "vanilla", "--fresh", "--set",
        "nodes.vanilla.with.template={{#x}} never closed"])
    jt.check("never closed" in out, "bad template message: %s" % out[-400:])
    _, out = jt.run_assay(CONFIG, env, work, expect_rc=jt.ANY_FAILURE, args=[
        "--only", "vanilla", "--fresh", "--set",
        "nodes.vanilla.with.template={{question}} {{nope}}"])
    jt.check("missing field 'nope'" in out, "missing field: %s" % out[-400:])
    print("templates ok")

# ---- plugins info and dry run --------------------------------------------
for name, marker in (("judge.pairwise", "[User Question]"),
                     ("judge.pointwise", "Rating: [[n]]"),
                     ("judge.cce", "[Related Judgments - Internal Reference "
                                   "Only]"),
                     ("reviser.reviseval", "[The Start of the Response to "
                                           "Revise]")):
    p = subprocess.run([jt.ASSAY, "plugins", "info", name],
                       stdout=subprocess.PIPE, text=True)
    jt.check(p.returncode == 0 and "Default" in p.stdout and
             marker in p.stdout, "%s: no default template shown" % name)
p = subprocess.run([jt.ASSAY, "run", "--dry-run", CONFIG],
                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                   text=True)
jt.check(p.returncode == 0 and p.stdout.count("to 'judge'") == 5,
         "dry run: %s" % p.stdout)
print("plugins info and dry run ok")
print("judge failures: all checks passed")
