#!/usr/bin/env bash
# HTTP/2 where a TLS server offers it: a Node.js `http2` server (ALPN h2,
# HTTP/1.1 allowed) with a self-signed certificate for 127.0.0.1.
#   - with the certificate passed in CURL_CA_BUNDLE: every request goes
#     over HTTP/2, multiplexed on few connections (many streams in flight
#     on one), and every answer is right
#   - without it: verification fails at once (no retries), with the TLS
#     error in the message
# Skipped (exit 77) where node or openssl is missing.
set -euo pipefail
: "${ASSAY:?}"
here=$(cd "$(dirname "$0")" && pwd)
for t in node openssl curl python3; do
  command -v "$t" > /dev/null || { echo "SKIP: $t not found"; exit 77; }
done
node -e 'require("node:http2")' 2> /dev/null ||
  { echo "SKIP: node has no http2 module"; exit 77; }
tmp=$(mktemp -d)
srv_pid=
cleanup() {
  [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout "$tmp/key.pem" -out "$tmp/cert.pem" -days 2 -subj "/CN=127.0.0.1" \
  -addext "subjectAltName=IP:127.0.0.1" 2> "$tmp/openssl.log" ||
  { cat "$tmp/openssl.log"; fail "openssl could not make a certificate"; }
node "$here/h2server.mjs" "$tmp/key.pem" "$tmp/cert.pem" 40 \
  > "$tmp/port" 2> "$tmp/server.log" &
srv_pid=$!
for _ in $(seq 300); do [ -s "$tmp/port" ] && break; sleep 0.05; done
port=$(head -n1 "$tmp/port")
[ -n "$port" ] || { cat "$tmp/server.log"; fail "h2 server did not start"; }
stats() { curl -s --cacert "$tmp/cert.pem" "https://127.0.0.1:$port/stats"; }

work="$tmp/work"
mkdir -p "$work"
n=120
for i in $(seq 1 $n); do
  printf '{"id": %d, "q": "question number %d"}\n' "$i" "$i"
done > "$work/items.jsonl"
cat > "$work/exp.yaml" <<Y
experiment: llm-http2
llm:
  tls:
    provider: openai
    base_url: "https://127.0.0.1:$port/v1"
    model: fake-model
    max_concurrency: 32
    backoff: 0.01
nodes:
  items: {plugin: source.jsonl, with: {path: items.jsonl}}
  gen:
    plugin: llm.generate
    inputs: {items: items.records}
    with: {llm: tls, user: "Q: {{q}}"}
Y
cd "$work"
unset CURL_CA_BUNDLE SSL_CERT_FILE SSL_CERT_DIR

echo "== over TLS with the certificate trusted: HTTP/2, multiplexed"
CURL_CA_BUNDLE="$tmp/cert.pem" "$ASSAY" run exp.yaml --runs-dir runs \
  --cache-dir cache > run.out 2> run.err || { cat run.out run.err; fail "run failed"; }
rundir=$(ls -d runs/llm-http2/* | head -n1)
python3 - "$(stats)" "$rundir" "$n" <<'PY'
import json, sys
s, d, n = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3])
rows = [json.loads(l) for l in open(d + "/nodes/gen/items.jsonl")]
assert len(rows) == n
for i, r in enumerate(rows):
    assert r["answer"] == "echo: Q: question number %d" % (i + 1), r
assert s["requests"] == n and s["h2"] == n and s["h1"] == 0, s
# multiplexed: many streams in flight on one connection, few connections
assert s["max_streams"] >= 8, s
assert s["sessions"] <= 4, s
print("%d requests over HTTP/2 on %d connection(s), up to %d streams at "
      "once on one" % (s["h2"], s["sessions"], s["max_streams"]))
PY

echo "== without trusting the certificate: verification fails, no retries"
before=$(stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["sessions"])')
set +e
"$ASSAY" llm ping exp.yaml tls > ping.out 2> ping.err
rc=$?
set -e
[ "$rc" = 1 ] || { cat ping.out ping.err; fail "ping: exit $rc, expected 1"; }
grep -qi "certificate" ping.err || { cat ping.err; fail "no certificate error"; }
grep -q "failed after" ping.err && { cat ping.err; fail "a TLS failure was retried"; }
echo "http2: all checks passed"
