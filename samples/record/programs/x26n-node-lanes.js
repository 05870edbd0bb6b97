'use strict';
// reload-nginx's Node client: LANES lanes, each with its own http.Agent({ keepAlive: true,
// maxSockets: 1 }) (one pooled connection per lane), sending requests back to back for SECONDS
// with a pause of 50-200 ms (seeded) after each response: GET /items/..., POST /orders?o=...
// (JSON body) and now and then GET /slow?ms=SLOW_MS&r=... (nginx proxies it to a backend that
// answers after SLOW_MS ms, so requests are in flight when nginx reloads). Node's http client never
// sends a failed request again, nor does this program: the lane goes on with its next request
// (the agent opens a new connection).
// Usage: node x26n-node-lanes.js --base URL --log FILE [--lanes 4] [--seconds 10] [--seed 1]
//          [--tag n] [--slow-ms 500] [--max-seconds 30]
// Ground truth, one JSON line per request in FILE: lane, i, method, uri, port (local port of the
// socket it went on), reused (req.reusedSocket), start/end (epoch s), status or error (code,
// message), retried (always false: no retry).
const http = require('node:http');
const fs = require('node:fs');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const base = arg('--base', 'http://127.0.0.1:8080');
const logFile = arg('--log', '/dev/stdout');
const lanes = Number(arg('--lanes', '4'));
const seconds = Number(arg('--seconds', '10'));
const seed = Number(arg('--seed', '1'));
const tag = arg('--tag', 'n');
const slowMs = Number(arg('--slow-ms', '500'));
const maxSeconds = Number(arg('--max-seconds', '30'));

const lib = `node ${process.version} http.Agent keepAlive`;
const log = (ev) => fs.appendFileSync(logFile, JSON.stringify({ t: Date.now() / 1000, lib, ...ev }) + '\n');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function rng(s) { // mulberry32: the same pauses and mix for the same seed
  let a = s >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function request(agent, method, uri, body) {
  return new Promise((resolve) => {
    const start = Date.now() / 1000;
    const headers = body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {};
    const req = http.request(base + uri, { agent, method, headers });
    let port = null;
    let done = false;
    const finish = (ev) => { if (!done) { done = true; resolve({ ...ev, port, reused: req.reusedSocket, start, end: Date.now() / 1000 }); } };
    req.on('socket', (s) => {
      if (s.localPort !== undefined) port = s.localPort;
      else s.once('connect', () => { port = s.localPort; });
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => finish({ status: res.statusCode, connection: res.headers.connection || null }));
      res.on('error', (e) => finish({ status: null, error: e.code || null, message: e.message }));
    });
    req.on('error', (e) => finish({ status: null, error: e.code || null, message: e.message }));
    req.setTimeout(10000, () => req.destroy(new Error('client timeout')));
    if (body) req.write(body);
    req.end();
  });
}

async function lane(l) {
  const r = rng(seed * 1000 + l + 1);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  await sleep(l * 37);
  const until = Date.now() + seconds * 1000;
  for (let i = 0; Date.now() < until; i++) {
    const x = r();
    let method = 'GET', uri, body = null;
    if (x < 0.15) uri = `/slow?ms=${slowMs}&r=${tag}l${l}-${i}`;
    else if (x < 0.5) {
      method = 'POST';
      uri = `/orders?o=${tag}l${l}-${i}`;
      body = JSON.stringify({ lane: l, i, item: 'x'.repeat(40) });
    } else uri = `/items/${tag}l${l}-${i}`;
    const res = await request(agent, method, uri, body);
    log({ lane: l, i, method, uri, ...res, retried: false });
    await sleep(50 + Math.round(r() * 150));
  }
  agent.destroy(); // closes the pooled connection (the client's FIN)
}

const timer = setTimeout(() => { log({ event: 'max-seconds' }); process.exit(4); }, maxSeconds * 1000);
Promise.all(Array.from({ length: lanes }, (_, l) => lane(l))).then(() => { clearTimeout(timer); });
