'use strict';
// One Node http.Agent process (keepAlive, maxSockets 1: one pooled connection; http.Agent never
// retries) for retried-request-concurrent-stale-pools: a warm GET at the common start moment,
// then, when the server (idle timeout IDLE ms) is about to close that connection, the event loop
// is blocked for BLOCK ms (a busy process): the server's FIN arrives during the block, and the
// POST sent right after it goes on the dead connection (a stale reuse). The error the
// application sees is logged. Several such processes of one host fail the same POST a few ms
// apart, each on its own connection: none is another's retry.
//
// Usage: node rlink-stale-agent-client.js --name N --url http://H:P --start-epoch-ms T --idle-ms IDLE
//          --block-from-ms B --block-ms BLOCK [--path /echo] [--retry] --log FILE
//   --retry: on the POST's error, send it again at once on a new connection (an application's own
//   retry: a fresh keep-alive Agent, the same request head), as a client that retries would.
const http = require('http');
const fs = require('fs');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const name = arg('--name', 'c');
const base = new URL(arg('--url', 'http://127.0.0.1:8080'));
const startAt = Number(arg('--start-epoch-ms', String(Date.now() + 200)));
const blockFrom = Number(arg('--block-from-ms', '1990'));
const blockMs = Number(arg('--block-ms', '40'));
const logFile = arg('--log', '/dev/stdout');
const postPath = arg('--path', '/echo');
const retry = process.argv.includes('--retry');
const log = (o) => fs.appendFileSync(logFile, JSON.stringify({ name, at: Date.now() / 1000, ...o }) + '\n');

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function send(method, path, body, via = agent) {
  return new Promise((resolve) => {
    const req = http.request({ host: base.hostname, port: Number(base.port), method, path, agent: via, headers: body ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } : {} });
    let lport = null;
    req.on('socket', (s) => {
      const note = () => { lport = s.localPort; };
      if (s.localPort) note(); else s.once('connect', note);
    });
    req.on('response', (res) => {
      let n = 0;
      res.on('data', (d) => { n += d.length; });
      res.on('end', () => resolve({ method, path, status: res.statusCode, bytes: n, lport, reused: req.reusedSocket }));
    });
    req.on('error', (e) => resolve({ method, path, error: e.message, code: e.code, lport, reused: req.reusedSocket }));
    req.end(body);
  });
}

async function main() {
  await new Promise((r) => setTimeout(r, Math.max(0, startAt - Date.now())));
  const warm = await send('GET', '/warm');
  const warmEnd = Date.now();
  log({ step: 'warm', ...warm });
  await new Promise((r) => setTimeout(r, Math.max(0, warmEnd + blockFrom - Date.now())));
  // A busy event loop: the server's FIN arrives now, but its 'end' is handled only after.
  const until = Date.now() + blockMs;
  while (Date.now() < until) { /* busy */ }
  const sentAt = Date.now();
  const r = await send('POST', postPath, '{"order":1}');
  log({ step: 'post', sentAfterWarmMs: sentAt - warmEnd, ...r });
  if (retry && r.error !== undefined) {
    // A new pool like the first (the same head: Connection: keep-alive), so the copy is a fresh connection.
    const fresh = new http.Agent({ keepAlive: true, maxSockets: 1 });
    log({ step: 'retry', ...(await send('POST', postPath, '{"order":1}', fresh)) });
    fresh.destroy();
  }
  agent.destroy();
}

main().catch((e) => { log({ step: 'crash', error: String(e) }); process.exit(1); });
