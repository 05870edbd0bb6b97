// The x30 recorders' Node 20 http client. No User-Agent header (Node's http sends none by default).
// --plan JSON: [{url, tag?, timeoutMs?, destroyAfterMs?, startAfterMs?}]; --parallel 1 runs every step
// at once (each on its own connection, after its startAfterMs), otherwise one after the other through one
// http.Agent({keepAlive: true, maxSockets: 1}) (a URL after a complete response reuses the connection).
//   timeoutMs:      http.get(url, {timeout}) = a socket inactivity timeout; on 'timeout' the request is
//                   destroyed (req.destroy()), the usual Node idiom (response-abandoned-client-timeouts)
//   destroyAfterMs: the request destroyed that long after it was sent, whatever the body is doing (a
//                   user's cancel: healthy-client-cancels)
// One JSON line per request (--log, appended): tag, url, local port, status, declared length, body bytes,
// tStart, tHead, tLastBytes, tEnd, outcome ("complete", "timeout-destroyed", "cancel-destroyed", "error"),
// the errors Node reported on the request and the response.
'use strict';
const http = require('http');
const fs = require('fs');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const plan = JSON.parse(args.plan);
const parallel = args.parallel === '1';
const shared = new http.Agent({ keepAlive: true, maxSockets: 1 });
const now = () => Date.now() / 1000;

function one(step) {
  return new Promise((resolve) => {
    const m = { tag: step.tag || args.tag, client: `node ${process.version} http`, url: step.url, tStart: now(), bytes: 0, errors: [],
      timeoutMs: step.timeoutMs, destroyAfterMs: step.destroyAfterMs };
    let done = false;
    let timer = null;
    const agent = parallel ? new http.Agent({ keepAlive: true, maxSockets: 1 }) : shared;
    const finish = (outcome) => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      m.outcome = m.outcome || outcome;
      // give Node a moment to report its errors for the destroyed request
      setTimeout(() => {
        m.tEnd = m.tEnd || now();
        fs.appendFileSync(args.log, JSON.stringify(m) + '\n');
        if (parallel) agent.destroy();
        resolve();
      }, 50);
    };
    const opts = { agent };
    if (step.timeoutMs) opts.timeout = step.timeoutMs;
    const req = http.get(step.url, opts, (res) => {
      m.tHead = now();
      m.status = res.statusCode;
      m.contentLength = res.headers['content-length'] !== undefined ? Number(res.headers['content-length']) : null;
      m.chunked = (res.headers['transfer-encoding'] || '') === 'chunked';
      res.on('data', (d) => { m.bytes += d.length; m.tLastBytes = now(); });
      res.on('end', () => { m.tEnd = now(); finish(res.complete ? 'complete' : 'short'); });
      res.on('aborted', () => m.errors.push('response aborted'));
      res.on('error', (e) => { m.errors.push(`response error: ${e.code || ''} ${e.message}`); m.tEnd = m.tEnd || now(); finish('error'); });
      res.on('close', () => { m.tEnd = m.tEnd || now(); finish(res.complete ? 'complete' : 'error'); });
    });
    req.on('socket', (s) => {
      const note = () => { m.localPort = s.localPort; };
      if (s.localPort) note(); else s.once('connect', note);
    });
    req.on('timeout', () => {
      m.outcome = 'timeout-destroyed';
      m.tDestroy = now();
      req.destroy();
    });
    if (step.destroyAfterMs !== undefined) {
      timer = setTimeout(() => { m.outcome = 'cancel-destroyed'; m.tDestroy = now(); req.destroy(); }, step.destroyAfterMs);
    }
    req.on('error', (e) => { m.errors.push(`request error: ${e.code || ''} ${e.message}`); m.tEnd = m.tEnd || now(); finish('error'); });
    req.on('close', () => { if (!m.tHead) { m.tEnd = m.tEnd || now(); finish('error'); } });
  });
}

(async () => {
  if (parallel) {
    await Promise.all(plan.map((step) => new Promise((r) => setTimeout(r, step.startAfterMs || 0)).then(() => one(step))));
  } else {
    for (const step of plan) await one(step);
  }
  shared.destroy();
})();
