#!/usr/bin/env bash
# The synthesizers and scorers end to end through the `assay` CLI against
# the fake LLM server (scripted answers in fake.json):
#   - configs/synalign.yaml: demonstrations, attribute summaries (one
#     answer in a ```json fence with a trailing comma, one label's
#     summaries only after a repair turn), generation (an unknown label
#     and an empty text rejected), MMD weights, resampling, and the
#     metric.mmd checks; a second run sends no request (same prompts);
#     the same with the embedding service instead of the hashing embedder
#   - configs/toolace.yaml: trees, APIs (one domain's only after a repair),
#     dialogs with the consistency filter, dual-layer verification: every
#     dialog passes the rule layer; requests the server refuses end as
#     recorded failures (on_error: record), never as dialogs
#   - score.steptool with the LLM annotator (3 runs, a repair) on the
#     shared StepTool trajectories, and configs/steptool.yaml
#   - configs/bfcl-ast.yaml: answers from the fake model, AST evaluation
# The parts that read ../shared skip with a message when it is absent.
set -euo pipefail
: "${ASSAY:?}" "${FAKELLM:?}" "${ASSAY_SRC:?}"
tmp=$(mktemp -d)
srv_pid=
cleanup() {
  [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

shared="${ASSAY_SHARED:-$ASSAY_SRC/../shared}"
have_shared=1
[ -d "$shared/data" ] || { have_shared=0;
  echo "skipping the parts that need $shared/data (set ASSAY_SHARED)"; }
export ASSAY_SHARED="$shared"

"$FAKELLM" --port 0 --config "$ASSAY_SRC/tests/synth/fake.json" \
  > "$tmp/port" 2> "$tmp/server.log" &
srv_pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
port=$(head -n1 "$tmp/port")
[ -n "$port" ] || fail "fake server did not start"
url="http://127.0.0.1:$port/v1"
export SYNTH_BASE_URL="$url" JUDGE_BASE_URL="$url" MODEL_BASE_URL="$url"
export OPENAI_API_KEY="sk-fake" SYNTH_CONCURRENCY=8 JUDGE_CONCURRENCY=8
stats() { curl -s "http://127.0.0.1:$port/stats"; }
requests() {
  stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])'
}
run() { # name config [args...]: prints the run directory
  local name=$1 cfg=$2
  shift 2
  "$ASSAY" run "$cfg" --runs-dir "$tmp/runs/$name" --cache-dir "$tmp/cache" \
    "$@" > "$tmp/$name.out" 2> "$tmp/$name.err" || {
    cat "$tmp/$name.out" "$tmp/$name.err" >&2; fail "$name: run failed"; }
  ls -d "$tmp/runs/$name"/*/*
}

echo "== synth.synalign (configs/synalign.yaml)"
rd=$(run synalign "$ASSAY_SRC/configs/synalign.yaml")
python3 - "$rd" <<'PY'
import json, sys
d = sys.argv[1] + "/nodes/"
rows = lambda p: [json.loads(l) for l in open(d + p)]
s = json.load(open(d + "synalign/summary.json"))
items, res = rows("synalign/items.jsonl"), rows("synalign/resampled.jsonl")
demos, fails = rows("synalign/demos.jsonl"), rows("synalign/failures.jsonl")
assert s["demos"] == 12 and len(demos) == 12, s
assert not fails, fails
# 3 usable samples per demonstration; 'spam' and the blank text rejected
assert s["synthetic"] == 36 and len(items) == 36, s["synthetic"]
assert s["rejected_unknown_label"] == 12 and s["rejected_empty"] == 12, s
assert len(res) == 60, len(res)
labels = {"positive", "negative", "neutral"}
assert all(r["label"] in labels for r in items)
assert abs(sum(r["weight"] for r in items) - 1) < 1e-9
assert all(r["demo"]["text"] and "attributes" in r for r in items)
# four demonstrations per label, each a cluster of two distinct texts
per = {}
for m in demos:
    per[m["label"]] = per.get(m["label"], 0) + 1
    assert len(m["cluster"]) == 2 and m["index"] == m["cluster"][0], m
assert per == {"positive": 4, "negative": 4, "neutral": 4}, per
idx = [i for m in demos for i in m["cluster"]]
assert len(idx) == len(set(idx)), "a real text in two clusters"
# labels are imbalanced, so the weights are learned per label and mixed
# by the real shares
assert s["aligned_by_label"] is True
mass = {k: v["weight_mass"] for k, v in s["labels"].items()}
assert abs(mass["positive"] - 20 / 48) < 1e-9, mass
assert s["mmd2_after"] <= s["mmd2_before"] + 1e-12, s
mu = json.load(open(d + "mmd_uniform/summary.json"))
mw = json.load(open(d + "mmd_weighted/summary.json"))
print("synalign: %d synthetic, MMD^2 %.4f -> %.4f; metric.mmd uniform %.4f "
      "weighted %.4f" % (len(items), s["mmd2_before"], s["mmd2_after"],
                         mu["mmd2_biased"], mw["mmd2_weighted_biased"]))
PY
before=$(requests)
run synalign2 "$ASSAY_SRC/configs/synalign.yaml" --fresh > /dev/null
[ "$(requests)" = "$before" ] || fail "synalign: a second run sent requests"
echo "== synth.synalign with the host's embedding service"
rd=$(run synalign-embed "$ASSAY_SRC/configs/synalign.yaml" \
  --set nodes.synalign.with.embed=gen)
python3 - "$rd" <<'PY'
import json, sys
s = json.load(open(sys.argv[1] + "/nodes/synalign/summary.json"))
# the fake server's embeddings are 8-d
assert s["embedder"] == "gen" and s["embedding_dim"] == 8, s
assert s["synthetic"] == 36 and s["mmd2_after"] <= s["mmd2_before"], s
print("synalign (embedding endpoint): MMD^2 %.4f -> %.4f" %
      (s["mmd2_before"], s["mmd2_after"]))
PY

echo "== synth.toolace + verify.function-calls (configs/toolace.yaml)"
rd=$(run toolace "$ASSAY_SRC/configs/toolace.yaml")
python3 - "$rd" <<'PY'
import json, sys
d = sys.argv[1] + "/nodes/"
rows = lambda p: [json.loads(l) for l in open(d + p)]
s = json.load(open(d + "toolace/summary.json"))
apis, dialogs = rows("toolace/apis.jsonl"), rows("toolace/dialogs.jsonl")
tree, fails = rows("toolace/tree.jsonl"), rows("toolace/failures.jsonl")
assert not fails, fails
assert len(tree) == 4 * (2 + 4), len(tree)    # 2 + 2 x 2 per domain
assert len(apis) == 12 and s["apis"] == 12, s
names = [a["definition"]["name"] for a in apis]
assert len(set(names)) == 12
assert sum(a["domain"] == "weather" for a in apis) == 3
assert len(dialogs) == 12 and s["dialogs"] == 12, s
for g in dialogs:
    roles = [m["role"] for m in g["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "assistant"], roles
    call = g["messages"][2]["tool_calls"][0]
    assert g["messages"][3]["tool_call_id"] == call["id"]
    assert json.loads(call["function"]["arguments"]) == {"query": "Berlin",
                                                         "limit": 5}
    assert g["consistency"] == [{"step": 1, "agreeing": 3, "samples": 3},
                                {"step": 2, "agreeing": 3, "samples": 3}]
    assert len(g["tools"]) == 3
v = json.load(open(d + "verify/summary.json"))
assert v["items"] == 12 and v["rules_passed"] == 12, v["rule_failures"]
assert v["passed"] == 12, v
assert v["model"]["hallucination"]["pass"] == 12, v["model"]
assert v["model"]["tool_response"]["pass"] == 12, v["model"]
print("toolace: %d APIs, %d dialogs, by type %s; verified: %d of %d pass" %
      (len(apis), len(dialogs), s["by_type"], v["passed"], v["items"]))
PY
before=$(requests)
run toolace2 "$ASSAY_SRC/configs/toolace.yaml" --fresh > /dev/null
[ "$(requests)" = "$before" ] || fail "toolace: a second run sent requests"

echo "== a request the server refuses is a recorded failure, not a dialog"
python3 - "$ASSAY_SRC/tests/synth/fake.json" > "$tmp/fake-refuse.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["rules"].insert(0, {"user": "It must ask for something none of these APIs",
                      "status": 400, "error": "refused by the test"})
print(json.dumps(c))
PY
curl -s -X POST "http://127.0.0.1:$port/config" \
  --data-binary @"$tmp/fake-refuse.json" > /dev/null
printf '%s\n' \
  "experiment: toolace-refuse" \
  "seed: 3" \
  "llm:" \
  "  gen: {provider: openai, base_url: \"$url\", model: fake, api_key: x}" \
  "nodes:" \
  "  domains:" \
  "    plugin: source.jsonl" \
  "    with: {path: \"$ASSAY_SRC/examples/data/synth/toolace-domains.jsonl\"}" \
  "  toolace:" \
  "    plugin: synth.toolace" \
  "    inputs: {domains: domains.records}" \
  "    with: {llm: gen, apis_per_domain: 1, tree_depth: 1, dialogs: 8," \
  "           dialog_types: {non_tool: 1}, on_error: record}" \
  > "$tmp/toolace-refuse.yaml"
rd=$(run toolace-refuse "$tmp/toolace-refuse.yaml")
python3 - "$rd" <<'PY'
import json, sys
d = sys.argv[1] + "/nodes/toolace/"
rows = lambda p: [json.loads(l) for l in open(d + p)]
dialogs, fails = rows("dialogs.jsonl"), rows("failures.jsonl")
s = json.load(open(d + "summary.json"))
refused = [f for f in fails if f["stage"] == "user"]
assert refused and all("refused by the test" in f["error"] for f in refused)
assert all(g["subtype"] == "missing_parameter" for g in dialogs), dialogs
assert len(dialogs) + len(refused) == 8, (len(dialogs), len(refused))
assert s["dialogs"] == len(dialogs) and s["failures"] == len(fails), s
print("toolace: %d irrelevant-request dialogs refused and recorded, %d kept"
      % (len(refused), len(dialogs)))
PY
curl -s -X POST "http://127.0.0.1:$port/config" \
  --data-binary @"$ASSAY_SRC/tests/synth/fake.json" > /dev/null

if [ "$have_shared" = 1 ]; then
  echo "== score.steptool, LLM annotator (3 runs, a repair)"
  printf '%s\n' \
    "experiment: steptool-llm" \
    "seed: 1" \
    "llm:" \
    "  judge: {provider: openai, base_url: \"$url\", model: fake, api_key: x}" \
    "nodes:" \
    "  traj:" \
    "    plugin: source.steptool" \
    "    with: {path: \"$shared/data/steptool/reward_annotation_qwen2_G123_example_5.json\"}" \
    "  llm:" \
    "    plugin: score.steptool" \
    "    inputs: {items: traj.records}" \
    "    with: {annotator: llm, llm: judge, runs: 3, structured: json_schema}" \
    > "$tmp/steptool-llm.yaml"
  rd=$(run steptool-llm "$tmp/steptool-llm.yaml")
  python3 - "$rd" <<'PY'
import json, sys
d = sys.argv[1] + "/nodes/llm/"
items = {r["id"]: r for r in map(json.loads, open(d + "items.jsonl"))}
s = json.load(open(d + "summary.json"))
assert s["scored"] == 5, s
# two steps: succ [1, 0], contributions [4, 2] / 5, Unsure
r = items["34459"]["rewards"]
assert [round(x, 12) for x in r] == [0.9, 0.2, 0.5], r
# four steps: the first answer had three numbers; after the repair
r = items["32980"]["rewards"]
assert [round(x, 12) for x in r] == [1.0, 1.0, 0.8, 0.0, 1.0], r
assert len(items["32980"]["raw"][0]) == 2          # answer + repaired
# Solved, Unsure, Solved, Unsure, Unsure
assert s["pass_rate_runs"] == {"0": 70.0, "1": 70.0, "2": 70.0}, s
print("steptool llm: pass rate %.1f, rewards %s" % (s["pass_rate"], r))
PY
  echo "== configs/steptool.yaml"
  rd=$(run steptool "$ASSAY_SRC/configs/steptool.yaml")
  python3 - "$rd" <<'PY'
import json, sys
d = sys.argv[1] + "/nodes/"
g3 = json.load(open(d + "g3_pass_rate/summary.json"))
runs = g3["pass_rate_runs"]
assert [round(runs[k], 1) for k in "012"] == [43.4, 41.8, 42.6], runs
r = json.load(open(d + "rule/summary.json"))
assert r["scored"] == 5 and abs(r["pass_rate"] - 250 / 3) < 1e-9, r
print("steptool: G3 pass rates per run %s" %
      [round(runs[k], 1) for k in "012"])
PY
  echo "== configs/bfcl-ast.yaml"
  rd=$(run bfcl "$ASSAY_SRC/configs/bfcl-ast.yaml")
  python3 - "$rd" <<'PY'
import json, sys
d = sys.argv[1] + "/nodes/evaluate/"
s = json.load(open(d + "summary.json"))
items = [json.loads(l) for l in open(d + "items.jsonl")]
assert s["items"] == 100 and len(items) == 100, s
assert set(s["categories"]) == {"simple_python", "multiple", "parallel",
                                 "irrelevance"}, s["categories"]
# the fake model calls the first function without arguments: wrong on
# irrelevance, and wherever an argument is required
assert s["categories"]["irrelevance"]["correct"] == 0
assert all(i["calls"] for i in items)
assert s["errors"].get("called_irrelevant") == 25, s["errors"]
print("bfcl: %d items, accuracy %.2f, errors %s" %
      (s["items"], s["accuracy"], s["errors"]))
PY
fi
echo "synth end to end: all checks passed"
