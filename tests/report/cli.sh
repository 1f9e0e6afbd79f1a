#!/usr/bin/env bash
# The report commands on real runs: report.html and the terminal summary
# at the end of `assay run`, chart hints in node.json, `assay report`
# rebuilding the page, the key-metric column of `assay runs`, and
# `assay runs compare` (McNemar, paired bootstrap, regressions, config
# differences, HTML), plus their usage errors.
set -euo pipefail
: "${ASSAY:?}" "${ASSAY_SRC:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
fail() { echo "FAIL: $*"; exit 1; }

# items with a label, a prediction and a score; pairwise verdicts
python3 - <<'PY'
import json, random
random.seed(4)
with open("items.jsonl", "w") as f:
    for i in range(120):
        y = int(random.random() < 0.45)
        s = min(1, max(0, random.gauss(0.65 if y else 0.35, 0.2)))
        f.write(json.dumps({"id": "q%d" % i, "label": y,
                            "pred": int(s > 0.5), "score": s}) + "\n")
with open("items2.jsonl", "w") as f:
    for line in open("items.jsonl"):
        r = json.loads(line)
        if random.random() < 0.15:
            r["pred"] = 1 - r["pred"]
        f.write(json.dumps(r) + "\n")
labels = ["A", "B", "tie"]
rows = []
for i in range(150):
    g = random.choice(labels)
    v = g if random.random() < 0.7 else random.choice(labels)
    rows.append({"id": i, "winner": g, "verdict": v})
with open("judge.jsonl", "w") as f:
    for r in rows:
        f.write(json.dumps(r) + "\n")
with open("judge2.jsonl", "w") as f:
    for r in rows:
        if random.random() < 0.25:
            r["verdict"] = random.choice(labels)
        f.write(json.dumps(r) + "\n")
with open("sweep.csv", "w") as f:
    f.write("size,score\n")
    for s in [1, 2, 4, 8, 16, 32, 64]:
        f.write("%d,%.6f\n" % (s, 0.9 - 0.5 * s ** -0.4))
PY
cat > exp.yaml <<'EOF'
experiment: report-cli
seed: 3
nodes:
  items: {plugin: source.jsonl, with: {path: items.jsonl}}
  cls:   {plugin: metric.classification, inputs: {items: items.records},
          with: {metrics: [accuracy, auc], bootstrap: 50}}
  j:     {plugin: source.jsonl, with: {path: judge.jsonl}}
  agr:   {plugin: metric.agreement, inputs: {pred: j.records, gold: j.records},
          with: {pred_field: verdict}}
  sweep: {plugin: source.csv, with: {path: sweep.csv}}
  law:   {plugin: fitter.law, inputs: {data: sweep.table},
          with: {law: "E - A * size^(-alpha)", target: score,
                 vars: {size: size}, params: {E: 1, A: 0.5, alpha: 0.5},
                 bootstrap: 20}}
report: [cls.summary, agr.summary, law.params]
EOF

echo "assay run writes report.html and prints the key numbers"
"$ASSAY" run exp.yaml --runs-dir runs --cache-dir cache > out1.txt
cat out1.txt
grep -q '^report-cli: ok' out1.txt || fail "status line"
grep -q '^cls.summary$' out1.txt || fail "output heading"
grep -Eq '^  accuracy +[0-9.]+  \[[0-9.]+, [0-9.]+\]$' out1.txt ||
  fail "accuracy with its interval"
grep -q '^report: runs/report-cli/.*/report.html$' out1.txt ||
  fail "report path"
run1=$(sed -n 's/^run directory: //p' out1.txt)
[ -f "$run1/report.html" ] || fail "no report.html in $run1"
grep -q '"chart": "bar"' "$run1/nodes/cls/node.json" ||
  fail "chart hint not recorded in node.json"
n_svg=$(grep -o '<svg ' "$run1/report.html" | wc -l)
[ "$n_svg" -ge 4 ] || fail "only $n_svg charts"
grep -q '<title>law: score vs size</title>' "$run1/report.html" ||
  fail "fitted-law chart"

echo "-q prints nothing but still writes the report"
"$ASSAY" run exp.yaml --runs-dir runs --cache-dir cache -q \
  --set nodes.items.with.path=items2.jsonl \
  --set nodes.j.with.path=judge2.jsonl > out2.txt
[ ! -s out2.txt ] || fail "-q printed: $(cat out2.txt)"
run2=$(ls -d runs/report-cli/* | grep -v "^$run1$" | tail -n1)
[ -f "$run2/report.html" ] || fail "no report.html with -q"

echo "assay report rebuilds the page"
rm "$run1/report.html"
"$ASSAY" report "$run1" > rep.txt
grep -q "^report: $run1/report.html$" rep.txt || fail "report output"
[ "$(grep -o '<svg ' "$run1/report.html" | wc -l)" -eq "$n_svg" ] ||
  fail "rebuilt page differs in charts"
"$ASSAY" report "$run1" -o "$tmp/elsewhere.html" > /dev/null
[ -f "$tmp/elsewhere.html" ] || fail "-o"
"$ASSAY" report --help | grep -q 'usage: assay report' || fail "--help"
set +e
"$ASSAY" report > /dev/null 2>&1; rc1=$?
"$ASSAY" report "$tmp/nonexistent" > /dev/null 2>&1; rc2=$?
"$ASSAY" report "$tmp" 2> err.txt > /dev/null; rc3=$?
"$ASSAY" report "$run1" extra > /dev/null 2>&1; rc4=$?
set -e
[ "$rc1$rc2$rc3$rc4" = "2222" ] || fail "usage errors: $rc1 $rc2 $rc3 $rc4"
grep -q 'manifest.json' err.txt || fail "message for a non-run directory"

echo "assay runs shows the key metric"
"$ASSAY" runs --runs-dir runs > runs.txt
cat runs.txt
grep -q 'key metric' runs.txt || fail "runs header"
[ "$(grep -c 'accuracy=' runs.txt)" -eq 2 ] || fail "key metric column"

echo "assay runs compare"
"$ASSAY" runs compare "$run1" "$run2" --bootstrap 500 --seed 1 > cmp.txt
cat cmp.txt
grep -q '^metric differences (B - A)' cmp.txt || fail "metric section"
grep -Eq '^  cls.summary +accuracy ' cmp.txt || fail "accuracy difference"
grep -Eq '^  agr.items correct: n=150 paired by index' cmp.txt ||
  fail "agreement items paired"
grep -Eq '^    McNemar: [0-9]+ right->wrong, [0-9]+ wrong->right; exact p=0\.[0-9]{4}, chi2=' \
  cmp.txt || fail "McNemar"
grep -Eq '^  agr.items correct: [0-9]+ items?:' cmp.txt || fail "regressions"
grep -q 'config.nodes.items.with.path: "items.jsonl" -> "items2.jsonl"' \
  cmp.txt || fail "config difference"
grep -q 'McNemar exact p' "$run2/compare.html" || fail "compare.html tests"
[ -f "$run2/compare.html" ] || fail "compare.html"
"$ASSAY" runs compare "$run1" "$run2" --html "$tmp/c.html" > /dev/null
[ -f "$tmp/c.html" ] || fail "--html"
"$ASSAY" runs compare --help | grep -q McNemar || fail "compare --help"
set +e
"$ASSAY" runs compare "$run1" > /dev/null 2>&1; rc1=$?
"$ASSAY" runs compare "$run1" "$tmp" > /dev/null 2>&1; rc2=$?
"$ASSAY" runs compare "$run1" "$run2" --bootstrap -3 > /dev/null 2>&1; rc3=$?
set -e
[ "$rc1$rc2$rc3" = "222" ] || fail "compare usage errors: $rc1 $rc2 $rc3"
echo "report cli: all checks passed"
