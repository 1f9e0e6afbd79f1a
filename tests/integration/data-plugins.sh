#!/usr/bin/env bash
# The data plugins end to end: source.csv (quotes, CRLF, BOM, empty cells,
# ragged rows), source.jsonl (bad lines named by file:line), the record
# transforms (filter, sample, join, select, concat) with their results
# checked, and the sinks refusing paths that leave the run directory.
. "$(dirname "$0")/lib.sh"

echo "# source.csv"
printf '\357\273\277id,score,name,note\r\n1,0.5,"Smith, J","said ""hi"""\r\n2,,plain,"two\r\nlines"\r\n\r\n3,1.25,"007",\r\n' >people.csv
printf 'id,a,b\n1,2,3\n4,5\n' >ragged.csv
printf 'x\ty\n1\tA\n2\tB\n' >tabs.tsv
cat >csv.yaml <<'Y'
experiment: csv
nodes:
  people: {plugin: source.csv, with: {path: people.csv}}
  rows: {plugin: transform.select, inputs: {items: people}}
  tsv: {plugin: source.csv, with: {path: tabs.tsv, delimiter: tab, types: {x: string}}}
  tsv_rows: {plugin: transform.select, inputs: {items: tsv}}
  back: {plugin: sink.csv, inputs: {table: people}, with: {path: people-copy.csv}}
Y
run_assay out.txt err.txt run csv.yaml
expect_eq "csv run exits 0" "$RC" 0
R=$RUN_DIR/nodes/rows/items.jsonl
mapfile -t V < <(jsonl "$R" 'len(rows)' 'list(rows[0])' '[r["id"] for r in rows]' \
  '[r["score"] for r in rows]' '[r["name"] for r in rows]' '[r["note"] for r in rows]')
expect_eq "three rows (blank line skipped)" "${V[0]}" 3
expect_eq "BOM stripped from the first column name" "${V[1]}" '["id", "score", "name", "note"]'
expect_eq "integer column" "${V[2]}" "[1, 2, 3]"
expect_eq "float column, empty cell missing" "${V[3]}" "[0.5, null, 1.25]"
expect_eq "quoted comma, quoted digits stay text" "${V[4]}" '["Smith, J", "plain", "007"]'
expect_eq "doubled quotes, quoted CRLF kept, empty string" "${V[5]}" \
  '["said \"hi\"", "two\r\nlines", ""]'
expect_eq "tsv with a forced string column" \
  "$(jsonl "$RUN_DIR/nodes/tsv_rows/items.jsonl" '[[r["x"], r["y"]] for r in rows]')" \
  '[["1", "A"], ["2", "B"]]'
expect_eq "sink.csv writes CRLF rows with quoting" \
  "$(python3 -c 'import sys; print(repr(open(sys.argv[1], "rb").read().split(b"\r\n")[:2]))' "$RUN_DIR/people-copy.csv")" \
  "[b'id,score,name,note', b'1,0.5,\"Smith, J\",\"said \"\"hi\"\"\"']"

cat >ragged.yaml <<'Y'
nodes:
  r: {plugin: source.csv, with: {path: ragged.csv}}
Y
run_assay out.txt err.txt run ragged.yaml
expect_eq "ragged csv exits 1" "$RC" 1
expect_grep "ragged: the row and the counts" \
  "FAILED +r \(source\.csv\): .*ragged\.csv: row 3 has 2 fields, the first row has 3" err.txt

echo "# source.jsonl"
printf '{"id": 1, "city": "Oslo"}\n{"id": 2, "city": "Lima"\n{"id": 3}\n' >bad.jsonl
printf '{"id": 1}\n[1, 2]\n\n{"id": 2}\n' >notobj.jsonl
cat >jsonl.yaml <<'Y'
nodes:
  bad: {plugin: source.jsonl, with: {path: bad.jsonl}}
  arr: {plugin: source.jsonl, with: {path: notobj.jsonl}}
  skip: {plugin: source.jsonl, with: {path: notobj.jsonl, skip_invalid: true}}
  none: {plugin: source.jsonl, with: {path: missing.jsonl}}
Y
run_assay out.txt err.txt run jsonl.yaml
expect_eq "bad jsonl exits 1" "$RC" 1
expect_grep "a broken line: file:line:column" "FAILED +bad \(source\.jsonl\): $WORK/bad\.jsonl:2:[0-9]+: " err.txt
expect_grep "not an object: file:line" "FAILED +arr \(source\.jsonl\): $WORK/notobj\.jsonl:2:1: expected a JSON object" err.txt
expect_grep "a missing file" "FAILED +none \(source\.jsonl\): $WORK/missing\.jsonl: cannot open" err.txt
expect_eq "skip_invalid keeps the good lines" \
  "$(jsonl "$RUN_DIR/nodes/skip/records.jsonl" '[r["id"] for r in rows]')" "[1, 2]"

echo "# transforms"
cat >items.jsonl <<'J'
{"id": 1, "score": 4.5, "city": "Oslo", "tags": ["a", "b"]}
{"id": 2, "score": 2, "city": "Lima"}

{"id": 3, "score": 3.5, "city": "Oslo", "tags": []}
{"id": 4, "score": 1, "city": "Pune", "tags": ["b"]}
{"id": 5, "score": 5, "city": "Lima"}
{"id": 6, "score": 2.5, "city": "Oslo"}
J
cat >cities.jsonl <<'J'
{"city": "Oslo", "country": "NO", "id": 100}
{"city": "Lima", "country": "PE"}
J
cat >tr.yaml <<'Y'
experiment: transforms
seed: 3
nodes:
  items: {plugin: source.jsonl, with: {path: items.jsonl}}
  cities: {plugin: source.jsonl, with: {path: cities.jsonl}}
  high:
    plugin: transform.filter
    inputs: {items: items.records}
    with: {where: [{field: score, op: ">=", value: 3}]}
  any:
    plugin: transform.filter
    inputs: {items: items.records}
    with:
      mode: any
      where:
        - {field: city, op: "==", value: Oslo}
        - {field: tags, op: contains, value: b}
  three: {plugin: transform.sample, inputs: {items: items.records}, with: {n: 3}}
  half:
    plugin: transform.sample
    inputs: {items: items.records}
    with: {fraction: 0.5, stratify: city}
  joined:
    plugin: transform.join
    inputs: {left: items.records, right: cities.records}
    with: {on: city}
  left_join:
    plugin: transform.join
    inputs: {left: items.records, right: cities.records}
    with: {on: city, how: left}
  slim:
    plugin: transform.select
    inputs: {items: items.records}
    with: {fields: [id, city], rename: {city: town}}
  dropped:
    plugin: transform.select
    inputs: {items: items.records}
    with: {drop: [tags, score]}
  strict:
    plugin: transform.select
    inputs: {items: items.records}
    with: {fields: [id, tags]}
  both:
    plugin: transform.concat
    inputs: {items: [high.items, cities.records]}
    with: {labels: [high, cities]}
Y
run_assay out.txt err.txt run tr.yaml
expect_eq "transforms: only 'strict' fails" "$RC" 1
N=$RUN_DIR/nodes
expect_eq "filter >= 3" "$(jsonl "$N/high/items.jsonl" '[r["id"] for r in rows]')" "[1, 3, 5]"
expect_eq "filter: the rest is 'rejected'" "$(jsonl "$N/high/rejected.jsonl" '[r["id"] for r in rows]')" "[2, 4, 6]"
expect_eq "filter mode any, contains" "$(jsonl "$N/any/items.jsonl" '[r["id"] for r in rows]')" "[1, 3, 4, 6]"
mapfile -t V < <(jsonl "$N/three/items.jsonl" 'len(rows)' \
  '[r["id"] for r in rows] == sorted(r["id"] for r in rows)' 'len(set(r["id"] for r in rows))')
expect_eq "sample n=3: three records" "${V[0]}" 3
expect_eq "sample keeps the input order" "${V[1]}" true
expect_eq "sample draws without replacement" "${V[2]}" 3
mapfile -t V < <(jsonl "$N/half/items.jsonl" 'len(rows)' \
  'sum(r["city"] == "Lima" for r in rows)' 'sum(r["city"] == "Oslo" for r in rows) >= 1')
expect_eq "stratified half: three records" "${V[0]}" 3
expect_eq "stratified: Lima keeps its share (1 of 2)" "${V[1]}" 1
expect_eq "stratified: Oslo is represented" "${V[2]}" true
expect_eq "inner join" "$(jsonl "$N/joined/items.jsonl" '[[r["id"], r["country"]] for r in rows]')" \
  '[[1, "NO"], [2, "PE"], [3, "NO"], [5, "PE"], [6, "NO"]]'
expect_eq "join prefixes clashing right fields" \
  "$(jsonl "$N/joined/items.jsonl" '[rows[0]["right_id"], "right_id" in rows[1]]')" "[100, false]"
expect_eq "left join keeps unmatched rows" \
  "$(jsonl "$N/left_join/items.jsonl" '[[r["id"], r.get("country")] for r in rows]')" \
  '[[1, "NO"], [2, "PE"], [3, "NO"], [4, null], [5, "PE"], [6, "NO"]]'
expect_eq "select fields + rename" "$(jsonl "$N/slim/items.jsonl" 'rows[:2]')" \
  '[{"id": 1, "town": "Oslo"}, {"id": 2, "town": "Lima"}]'
expect_eq "select drop" "$(jsonl "$N/dropped/items.jsonl" 'sorted(set(k for r in rows for k in r))')" \
  '["city", "id"]'
expect_grep "select strict names the record and field" \
  "FAILED +strict \(transform\.select\): .*record 1.*'tags'" err.txt
expect_eq "concat in list order with labels" \
  "$(jsonl "$N/both/items.jsonl" '[[r.get("id"), r["source"]] for r in rows]')" \
  '[[1, "high"], [3, "high"], [5, "high"], [100, "cities"], [null, "cities"]]'
expect_eq "the same seed draws the same sample" \
  "$(cat "$N/three/items.jsonl")" \
  "$("$ASSAY" run tr.yaml --fresh --only three -q >/dev/null 2>&1;
     cat "$(ls -dt runs/transforms/*/ | head -1)/nodes/three/items.jsonl")"

echo "# sinks stay inside the run directory"
cat >sinks.yaml <<'Y'
experiment: sinks
nodes:
  items: {plugin: source.jsonl, with: {path: items.jsonl}}
  t: {plugin: test.table, with: {n: 2}}
  up: {plugin: sink.jsonl, inputs: {items: items.records}, with: {path: ../escape.jsonl}}
  abs: {plugin: sink.jsonl, inputs: {items: items.records}, with: {path: /tmp/escape.jsonl}}
  upcsv: {plugin: sink.csv, inputs: {table: t}, with: {path: ../escape.csv}}
  kept: {plugin: sink.jsonl, inputs: {items: items.records}, with: {path: kept.jsonl}}
  keptcsv: {plugin: sink.csv, inputs: {table: t}, with: {path: kept.csv, delimiter: ";"}}
Y
run_assay out.txt err.txt run sinks.yaml
expect_eq "sinks run exits 1" "$RC" 1
for n in up upcsv; do
  expect_grep "$n refuses '..'" \
    "FAILED +$n \(sink\.(jsonl|csv)\): option 'path': '\.\./escape\.(jsonl|csv)' leaves the run directory; use a relative path, or set allow_outside: true" err.txt
done
expect_grep "abs refuses an absolute path" "FAILED +abs \(sink\.jsonl\): option 'path': '/tmp/escape\.jsonl' leaves the run directory" err.txt
[ ! -e "$WORK/runs/sinks/escape.jsonl" ] && [ ! -e "$WORK/runs/sinks/escape.csv" ] \
  && ok "nothing was written outside" || fail "a sink escaped the run directory"
cmp -s <(grep -v '^$' items.jsonl | python3 -c 'import json,sys
for l in sys.stdin: print(json.dumps(json.loads(l), separators=(",", ":")))') "$RUN_DIR/kept.jsonl" \
  && ok "sink.jsonl wrote the records" || fail "kept.jsonl differs"
expect_eq "sink.csv with ';'" "$(tr -d '\r' <"$RUN_DIR/kept.csv")" "$(printf 'id;value;group\n0;0;g0\n1;0.5;g0')"
finish
