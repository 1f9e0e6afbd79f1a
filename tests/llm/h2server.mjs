// tests/llm/h2server.mjs - a small OpenAI-compatible server over TLS that
// offers HTTP/2 by ALPN (and HTTP/1.1 for clients that do not ask for h2),
// for tests/llm/http2.sh only.
//
//   node h2server.mjs KEY.pem CERT.pem LATENCY_MS
//
// Prints its port on stdout.  POST /v1/chat/completions answers
// "echo: <last user message>" after LATENCY_MS; GET /stats returns
// {requests, h2, h1, sessions, max_streams} where sessions counts TLS
// connections and max_streams the most requests in flight at once on
// one connection (above 1 only when requests are multiplexed).
import http2 from "node:http2";
import fs from "node:fs";

const [key, cert, latency] = process.argv.slice(2);
const stats = { requests: 0, h2: 0, h1: 0, sessions: 0, max_streams: 0 };
const inflight = new Map(); // connection -> requests in flight on it

function answer(req, res, body) {
  let msgs = [];
  try {
    msgs = JSON.parse(body).messages || [];
  } catch (e) {
    res.writeHead(400, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: { message: "bad JSON" } }));
    return;
  }
  const user = msgs.filter((m) => m.role === "user").pop();
  const text = "echo: " + (user ? user.content : "");
  const out = {
    id: "h2-" + stats.requests,
    object: "chat.completion",
    model: "fake-model",
    choices: [{ index: 0, message: { role: "assistant", content: text },
                finish_reason: "stop" }],
    usage: { prompt_tokens: 4, completion_tokens: 4, total_tokens: 8 },
  };
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify(out));
}

const server = http2.createSecureServer(
  { key: fs.readFileSync(key), cert: fs.readFileSync(cert), allowHTTP1: true },
  (req, res) => {
    if (req.url === "/stats") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(stats));
      return;
    }
    stats.requests++;
    if (req.httpVersionMajor === 2) stats.h2++;
    else stats.h1++;
    // one HTTP/2 session or one HTTP/1.1 socket: a connection
    const sock = req.stream ? req.stream.session : req.socket;
    const n = (inflight.get(sock) || 0) + 1;
    inflight.set(sock, n);
    stats.max_streams = Math.max(stats.max_streams, n);
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      setTimeout(() => {
        inflight.set(sock, inflight.get(sock) - 1);
        answer(req, res, body);
      }, Number(latency));
    });
  }
);
server.on("secureConnection", () => stats.sessions++);
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(server.address().port + "\n");
});
