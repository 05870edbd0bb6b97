'use strict';
// Node http.Agent clients reusing pooled keep-alive connections after idle pauses around a proxy's
// idle timeout (round 17p, layer-4 proxies), with their ground truth.
// Usage: node x17p-node-lanes.js --base http://10.99.0.2:8080 --log FILE --lanes 4 --rounds 7
//          --gaps 1.95,1.985,... [--stagger 0.13] [--tag n] [--max-seconds 40]
// LANES lanes run at once, each with its own http.Agent({keepAlive: true, maxSockets: 1}), so each
// lane has exactly one pooled connection. A lane sends a "warm" GET (a new connection), then for
// each round sleeps GAP seconds (measured from the end of the previous response) and sends the
// round's request on its pooled connection: POST /orders?attempt=<tag>l<lane>-r<round> (JSON body)
// on alternate rounds, else GET /items/<tag>l<lane>-r<round>. Node does not retry a failed request
// (nor does this program): after a failure the lane sends a new warm GET before the next pause.
// The GAPS are dealt to the lanes round-robin in the order given.
// One JSON line per event in FILE (t: wall clock, epoch s): "response" (status, local port, reused:
// Node's req.reusedSocket) and "error" (code, message, the local port of the socket it was sent on,
// reused), with for reuse rounds the gap asked and the idle time measured.
const http = require('node:http');
const fs = require('node:fs');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const base = arg('--base', 'http://127.0.0.1:8080');
const logFile = arg('--log', '/dev/stdout');
const lanes = Number(arg('--lanes', '4'));
const rounds = Number(arg('--rounds', '7'));
const gaps = arg('--gaps', '').split(',').filter((x) => x !== '').map(Number);
const stagger = Number(arg('--stagger', '0.13'));
const tag = arg('--tag', 'n');
const maxSeconds = Number(arg('--max-seconds', '40'));

function log(ev) {
  fs.appendFileSync(logFile, JSON.stringify({ t: Date.now() / 1000, lib: `node ${process.version} http.Agent`, ...ev }) + '\n');
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function request(agent, ev, method, uri, body) {
  return new Promise((resolve) => {
    const t0 = Date.now() / 1000;
    const headers = body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {};
    const req = http.request(base + uri, { agent, method, headers });
    let port = null;
    req.on('socket', (s) => {
      if (s.localPort !== undefined) port = s.localPort;
      else s.once('connect', () => { port = s.localPort; });
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => {
        log({ ...ev, event: 'response', method, uri, status: res.statusCode, port, reused: req.reusedSocket,
              keepAlive: res.headers['keep-alive'] || null, elapsedMs: Math.round((Date.now() / 1000 - t0) * 1e6) / 1e3 });
        resolve({ port, at: process.hrtime.bigint() });
      });
    });
    req.on('error', (e) => {
      log({ ...ev, event: 'error', method, uri, error: e.code || null, message: e.message, port, reused: req.reusedSocket,
            sentAt: t0, elapsedMs: Math.round((Date.now() / 1000 - t0) * 1e6) / 1e3 });
      resolve({ port: null, at: process.hrtime.bigint() });
    });
    req.setTimeout(10000, () => req.destroy(new Error('client timeout')));
    if (body) req.write(body);
    req.end();
  });
}

async function lane(l, laneGaps) {
  await sleep(l * stagger * 1000);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let last = null;
  for (let r = 0; r < laneGaps.length; r++) {
    if (last === null || last.port === null) {
      last = await request(agent, { lane: l, round: r, kind: 'warm' }, 'GET', `/warm/${tag}l${l}-r${r}`, null);
      if (last.port === null) continue;
    }
    const wantMs = laneGaps[r] * 1000;
    const elapsed = Number(process.hrtime.bigint() - last.at) / 1e6;
    await sleep(Math.max(0, wantMs - elapsed));
    const idle = Number(process.hrtime.bigint() - last.at) / 1e9;
    const post = (l + r) % 2 === 0;
    const uri = post ? `/orders?attempt=${tag}l${l}-r${r}` : `/items/${tag}l${l}-r${r}`;
    const body = post ? JSON.stringify({ lane: l, round: r, item: 'x'.repeat(40) }) : null;
    last = await request(agent, { lane: l, round: r, kind: 'reuse', gapAsked: laneGaps[r], idleMeasured: Math.round(idle * 1e6) / 1e6, prevPort: last.port },
      post ? 'POST' : 'GET', uri, body);
  }
  agent.destroy();
  log({ event: 'lane-done', lane: l });
}

const timer = setTimeout(() => { log({ event: 'max-seconds' }); process.exit(4); }, maxSeconds * 1000);
log({ event: 'start', lanes, rounds });
const laneGaps = Array.from({ length: lanes }, (_, l) => gaps.filter((_, i) => i % lanes === l).slice(0, rounds));
Promise.all(laneGaps.map((g, l) => lane(l, g))).then(() => { log({ event: 'done' }); clearTimeout(timer); });
