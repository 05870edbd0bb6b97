'use strict';
// healthy-lossy-path-*'s Node client: one lane per target URL, each with its own
// http.Agent({ keepAlive: true, maxSockets: 1 }) (one pooled connection per lane), sending REQUESTS
// requests one after the other with a seeded think time of 0.05-2 s after each response. Each
// request is GET /s/TAG or POST /o/TAG (small JSON body), unless the plan says otherwise for that
// lane and index: big:N (GET /big/N.bin?r=TAG), up (POST /up/TAG with a 100 KB body), close
// (GET /s/TAG with Connection: close). A request is given 20 s of socket inactivity before the
// client gives up (loss must never make it give up). Node's http client never sends a request again.
// At the end each lane destroys its agent (the client's FIN on the pooled connection).
// Usage: node x28l-node-lanes.js --targets URL,URL,... --log FILE [--requests 30] [--seed 1]
//          [--tag n] [--plan "L:I:big:200000,L:I:up,L:I:close"] [--max-seconds 90]
// Ground truth, one JSON line per request in FILE: client, lane, i, method, uri, port (local port),
// reused, start/end (epoch s), status, bytes (response body), error.
const http = require('node:http');
const fs = require('node:fs');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const targets = arg('--targets', '').split(',').filter(Boolean);
const logFile = arg('--log', '/dev/stdout');
const requests = Number(arg('--requests', '30'));
const seed = Number(arg('--seed', '1'));
const tag = arg('--tag', 'n');
const maxSeconds = Number(arg('--max-seconds', '90'));
const plan = new Map();
for (const p of arg('--plan', '').split(',').filter(Boolean)) {
  const [l, i, kind, n] = p.split(':');
  plan.set(`${l}:${i}`, { kind, n: Number(n) });
}
const lib = `node ${process.version} http.Agent keepAlive`;
const log = (ev) => fs.appendFileSync(logFile, JSON.stringify({ client: 'node', lib, ...ev }) + '\n');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const UPLOAD = Buffer.alloc(100 * 1024, 'upload-data-0123456789\n');

function rng(s) { // mulberry32
  let a = s >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function think(r) { // seconds: mostly short, now and then up to 2 s
  const x = r();
  if (x < 0.7) return 0.05 + r() * 0.45;
  if (x < 0.95) return 0.5 + r() * 1.0;
  return 1.5 + r() * 0.5;
}

function request(base, agent, method, uri, body, headers) {
  return new Promise((resolve) => {
    const start = Date.now() / 1000;
    const h = { ...headers };
    if (body) { h['content-type'] = 'application/octet-stream'; h['content-length'] = body.length; }
    const req = http.request(base + uri, { agent, method, headers: h });
    let port = null;
    let done = false;
    const finish = (ev) => { if (!done) { done = true; resolve({ ...ev, port, reused: req.reusedSocket, start, end: Date.now() / 1000 }); } };
    req.on('socket', (s) => {
      if (s.localPort !== undefined) port = s.localPort;
      else s.once('connect', () => { port = s.localPort; });
    });
    req.on('response', (res) => {
      let bytes = 0;
      res.on('data', (c) => { bytes += c.length; });
      res.on('end', () => finish({ status: res.statusCode, bytes, connection: res.headers.connection || null }));
      res.on('error', (e) => finish({ status: null, error: e.code || null, message: e.message }));
    });
    req.on('error', (e) => finish({ status: null, error: e.code || null, message: e.message }));
    req.setTimeout(20000, () => req.destroy(new Error('client timeout')));
    if (body) req.write(body);
    req.end();
  });
}

async function lane(l) {
  const base = targets[l];
  const r = rng(seed * 1000 + l + 1);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  await sleep(l * 53);
  for (let i = 0; i < requests; i++) {
    const t = `${tag}${l}-${i}`;
    const p = plan.get(`${l}:${i}`);
    let method = 'GET', uri = `/s/${t}`, body = null, headers = {};
    const x = r();
    if (p && p.kind === 'big') uri = `/big/${p.n}.bin?r=${t}`;
    else if (p && p.kind === 'up') { method = 'POST'; uri = `/up/${t}`; body = UPLOAD; }
    else if (p && p.kind === 'close') headers = { connection: 'close' };
    else if (x < 0.35) { method = 'POST'; uri = `/o/${t}`; body = Buffer.from(JSON.stringify({ lane: l, i, item: 'x'.repeat(40) })); }
    const res = await request(base, agent, method, uri, body, headers);
    log({ lane: l, i, method, uri, target: base, ...res });
    if (i < requests - 1) await sleep(think(r) * 1000);
  }
  agent.destroy();
}

const timer = setTimeout(() => { log({ event: 'max-seconds' }); process.exit(4); }, maxSeconds * 1000);
Promise.all(targets.map((_, l) => lane(l))).then(() => { clearTimeout(timer); });
