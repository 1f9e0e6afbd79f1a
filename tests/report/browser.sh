#!/usr/bin/env bash
# Headless Chromium loads the report.html of a real run (recommenders,
# ranking and beyond-accuracy metrics, classification with bootstrap
# intervals, judge agreement, a fitted law) with the network disabled:
# the page must render without console errors, hold its charts as SVG
# elements in the DOM, sort a table when a header is clicked, and a
# screenshot is saved.  Chromium is not installed by this script (CI
# installs the Debian package); without /usr/bin/chromium the test is
# skipped with the reason.
set -euo pipefail
: "${ASSAY:?}" "${ASSAY_SRC:?}"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
  echo "SKIP: $CHROMIUM not found (apt-get install chromium to run this test)"
  exit 77
fi
shots=${REPORT_SHOTS:-${ASSAY_BUILD:-$PWD}/report-screenshots}
mkdir -p "$shots"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
fail() { echo "FAIL: $*"; exit 1; }

# Chromium with the network off: no DNS, no background requests.
browse() {
  timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
    --disable-background-networking --disable-component-update \
    --disable-sync --no-first-run --user-data-dir="$(mktemp -d)" \
    --host-resolver-rules="MAP * ~NOTFOUND" --hide-scrollbars \
    --enable-logging=stderr --v=0 "$@"
}

python3 - <<'PY'
import json, random
random.seed(11)
with open("items.jsonl", "w") as f:
    for i in range(300):
        y = int(random.random() < 0.4)
        s = min(1, max(0, random.gauss(0.62 if y else 0.38, 0.18)))
        f.write(json.dumps({"id": i, "label": y, "pred": int(s > 0.5),
                            "score": s, "user": "u%d" % (i % 30)}) + "\n")
labels = ["A", "B", "tie"]
with open("judge.jsonl", "w") as f:
    for i in range(200):
        g = random.choice(labels)
        v = g if random.random() < 0.7 else random.choice(labels)
        s = v if random.random() < 0.8 else random.choice(labels)
        f.write(json.dumps({"id": i, "winner": g, "verdict": v,
                            "swapped": s}) + "\n")
with open("sweep.csv", "w") as f:
    f.write("N,loss\n")
    for k in range(12):
        n = 10 ** (7 + k * 0.3)
        f.write("%g,%.6f\n" % (n, 1.7 + 400 / n ** 0.34 *
                               (1 + random.gauss(0, 0.01))))
PY
cat > exp.yaml <<'EOF'
experiment: browser-check
seed: 5
nodes:
  data:   {plugin: source.synthetic-interactions,
           with: {n_users: 300, n_items: 200, mean_length: 20}}
  split:  {plugin: protocol.split, inputs: {interactions: data.interactions},
           with: {method: loo}}
  neg:    {plugin: protocol.negatives,
           inputs: {test: split.test, train: split.train}, with: {n: 50}}
  pop:    {plugin: rec.pop, inputs: {train: split.train, valid: split.valid,
           test: split.test, candidates: neg.candidates},
           with: {metric_ks: [5, 10, 20]}}
  knn:    {plugin: rec.itemknn, inputs: {train: split.train,
           valid: split.valid, test: split.test, candidates: neg.candidates},
           with: {metric_ks: [5, 10, 20]}}
  rank:   {plugin: metric.ranking, inputs: {run: knn.scores, qrels: neg.candidates},
           with: {query_field: query, relevance_field: label, protocol: sampled}}
  beyond: {plugin: metric.beyond, inputs: {recs: knn.topk, train: split.train}}
  items:  {plugin: source.jsonl, with: {path: items.jsonl}}
  cls:    {plugin: metric.classification, inputs: {items: items.records},
           with: {bootstrap: 100}}
  j:      {plugin: source.jsonl, with: {path: judge.jsonl}}
  agr:    {plugin: metric.agreement, inputs: {pred: j.records, gold: j.records},
           with: {pred_field: verdict, swapped_field: swapped}}
  sweep:  {plugin: source.csv, with: {path: sweep.csv}}
  law:    {plugin: fitter.law, inputs: {data: sweep.table},
           with: {law: "E + A / N^alpha", target: loss, vars: {N: N},
                  params: {E: {init: [1, 2], min: 0}, A: [100, 1000],
                           alpha: {init: [0.2, 0.5], min: 0, max: 2}},
                  space: log, bootstrap: 30, curve_extend: 1.5}}
report: [pop.metrics, knn.metrics, cls.summary, agr.summary, law.params]
EOF
"$ASSAY" run exp.yaml --runs-dir runs --cache-dir cache -q
run=$(ls -d runs/browser-check/*)
page="$run/report.html"
[ -f "$page" ] || fail "no report.html"
if grep -o 'https\?://[^"< ]*' "$page" |
   grep -v '^http://www.w3.org/2000/svg$' | grep -q .; then
  fail "the page references the network"
fi

echo "load the page, dump the DOM"
browse --dump-dom "file://$PWD/$page" > dom.html 2> console.txt || true
[ -s dom.html ] || { cat console.txt; fail "no DOM dumped"; }
if grep -E 'Uncaught|ERROR:CONSOLE|CONSOLE\([0-9]+\)\] "(Uncaught|Error)' \
     console.txt; then
  fail "console errors"
fi
charts=$(grep -o '<svg[^>]*class="chart"' dom.html | wc -l)
svgs=$(grep -o '<svg' dom.html | wc -l)
echo "DOM: $svgs svg elements ($charts charts)"
[ "$charts" -ge 12 ] || fail "expected at least 12 charts, found $charts"
grep -q 'class="graph"' dom.html || fail "no graph"
for t in 'metrics by node' 'law: loss vs N' 'cls.summary' 'agr.summary'; do
  grep -q "<title>$t" dom.html || fail "chart '$t' missing"
done

echo "the table sorter works: click 'seconds' in the node table"
cat > sort.html <<EOF
<!DOCTYPE html><html><body><pre id="out">waiting</pre>
<iframe id="f" src="file://$PWD/$page" style="width:1200px;height:800px"
 onload="var d=this.contentDocument,t=d.querySelector('#nodes table'),
 h=t.tHead.rows[0].cells,c=5;h[c].click();var a=[],r=t.tBodies[0].rows;
 for(var i=0;i<r.length;i++)a.push(parseFloat(r[i].cells[c].getAttribute('data-v')));
 var ok=true;for(var i=1;i<a.length;i++)if(a[i]<a[i-1])ok=false;
 h[c].click();var b=parseFloat(t.tBodies[0].rows[0].cells[c].getAttribute('data-v'));
 document.getElementById('out').textContent='SORTED='+ok+' DESC_FIRST_IS_MAX='+(b===Math.max.apply(null,a));"></iframe>
</body></html>
EOF
browse --allow-file-access-from-files --dump-dom "file://$PWD/sort.html" \
  > sort-dom.html 2> sort-console.txt || true
grep -o 'SORTED=[a-z]* DESC_FIRST_IS_MAX=[a-z]*' sort-dom.html ||
  { tail -5 sort-console.txt; fail "sorter did not run"; }
grep -q 'SORTED=true DESC_FIRST_IS_MAX=true' sort-dom.html ||
  fail "table not sorted"

echo "screenshots"
browse --window-size=1400,5000 --screenshot="$shots/report-browser.png" \
  "file://$PWD/$page" > /dev/null 2>&1 || true
[ -s "$shots/report-browser.png" ] || fail "no screenshot"
"$ASSAY" runs compare "$run" "$run" --html "$PWD/compare.html" > /dev/null
browse --dump-dom "file://$PWD/compare.html" > cdom.html 2> cconsole.txt || true
grep -E 'Uncaught|ERROR:CONSOLE' cconsole.txt && fail "compare page errors"
grep -q 'Run comparison' cdom.html || fail "compare page not rendered"
browse --window-size=1400,1800 --screenshot="$shots/compare-browser.png" \
  "file://$PWD/compare.html" > /dev/null 2>&1 || true
echo "screenshots: $shots/report-browser.png $shots/compare-browser.png"
echo "browser: all checks passed"
