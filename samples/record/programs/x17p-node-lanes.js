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
const { arg, jsonLog, send } = require('./node-lanes-common.js');

const base = arg('--base', 'http://127.0.0.1:8080');
const logFile = arg('--log', '/dev/stdout');
const lanes = Number(arg('--lanes', '4'));
const rounds = Number(arg('--rounds', '7'));
const gaps = arg('--gaps', '').split(',').filter((x) => x !== '').map(Number);
const stagger = Number(arg('--stagger', '0.13'));
const tag = arg('--tag', 'n');
const maxSeconds = Number(arg('--max-seconds', '40'));

const log = jsonLog(logFile, { lib: `node ${process.version} http.Agent` });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function request(agent, ev, method, uri, body) {
  return send({ agent, url: base + uri, method, body, timeoutMs: 10000, timeoutError: () => new Error('client timeout') },
    ({ res, error, port, reused, t0, elapsedMs }) => {
      if (res) log({ ...ev, event: 'response', method, uri, status: res.statusCode, port, reused, keepAlive: res.headers['keep-alive'] || null, elapsedMs });
      else log({ ...ev, event: 'error', method, uri, error: error.code || null, message: error.message, port, reused, sentAt: t0, elapsedMs });
      return { port: res ? port : null, at: process.hrtime.bigint() };
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
