'use strict';
// A Node 20 http.Agent client (keepAlive, one socket, no idle timeout of its own) that sends
// POSTs, each after a chosen idle gap since the previous response ended: gaps around the
// server's idle timeout make the pool reuse connections the server is closing.
// Usage: node x5-agent-client.js --host H --port P --gaps 1500,1900,2000 [--path /x] [--body-bytes 64]
//          [--timeout-ms N]   give up on a request after N ms (AbortSignal-like: req.destroy)
//          [--new-conn]       a new connection per request (agent without keepAlive)
// Each request is logged to stdout as one JSON line: local port, idle gap, outcome (status or error code).
const http = require('http');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const host = arg('--host', '127.0.0.1');
const port = Number(arg('--port', '8080'));
const gaps = arg('--gaps', '1000').split(',').map(Number);
const path = arg('--path', '/item');
const bodyBytes = Number(arg('--body-bytes', '64'));
const timeoutMs = Number(arg('--timeout-ms', '0'));
const newConn = process.argv.includes('--new-conn');
const method = arg('--method', 'POST');
const agent = new http.Agent({ keepAlive: !newConn, maxSockets: 1 });

function once(i) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const body = Buffer.alloc(method === 'POST' ? bodyBytes : 0, 'a');
    const headers = method === 'POST' ? { 'Content-Type': 'text/plain', 'Content-Length': body.length } : {};
    const req = http.request({ host, port, path: `${path}/${i}`, method, agent, headers });
    let localPort = null;
    let timer = null;
    const done = (outcome) => {
      if (timer !== null) clearTimeout(timer);
      process.stdout.write(JSON.stringify({ i, t: t0, localPort, gap: gaps[i - 1] ?? 0, outcome, ms: Date.now() - t0 }) + '\n');
      resolve();
    };
    req.on('socket', (s) => {
      const note = () => { localPort = s.localPort; };
      if (s.localPort) note(); else s.once('connect', note);
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => done({ status: res.statusCode }));
    });
    req.on('error', (e) => done({ error: e.code || e.message }));
    if (timeoutMs > 0) timer = setTimeout(() => req.destroy(Object.assign(new Error('timeout'), { code: 'CLIENT_TIMEOUT' })), timeoutMs);
    req.end(body);
  });
}

(async () => {
  const deadline = Date.now() + 120_000;
  await once(0);
  for (let i = 0; i < gaps.length && Date.now() < deadline; i++) {
    await new Promise((r) => setTimeout(r, gaps[i]));
    await once(i + 1);
  }
  agent.destroy();
})();
