// healthy-streaming-responses' Node client: the requests of --plan (JSON: [{method, url, headers,
// abortAfterBytes}]) one after the other through one http.Agent (keepAlive, maxSockets 1, so they share
// a connection where the server keeps it open). Each is logged (--log, appended) as one JSON line: tag,
// local port, server, method, path, status, body bytes, framing, outcome ("complete": the body as framed,
// res.complete; "client-abort": this client destroyed the request after abortAfterBytes body bytes, on
// purpose). At the end the agent is destroyed (the client closes its idle connections).
'use strict';
const http = require('http');
const fs = require('fs');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const plan = JSON.parse(args.plan);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function log(o) {
  fs.appendFileSync(args.log, JSON.stringify({ ...o, t: Date.now() / 1000 }) + '\n');
}

function framing(method, res) {
  if (method === 'HEAD' || res.statusCode === 204 || res.statusCode === 304) return 'none';
  if ((res.headers['transfer-encoding'] || '').toLowerCase() === 'chunked') return 'chunked';
  if (res.headers['content-length'] !== undefined) return 'content-length';
  return 'close';
}

function one(step) {
  return new Promise((resolve) => {
    const u = new URL(step.url);
    const t0 = Date.now();
    let port = null;
    let done = false;
    const base = { tag: args.tag, client: `node ${process.version} http.Agent`, server: u.host, method: step.method, path: u.pathname + u.search };
    const finish = (o) => {
      if (done) return;
      done = true;
      log({ ...base, localPort: port, ...o, seconds: (Date.now() - t0) / 1000 });
      resolve();
    };
    const req = http.request(step.url, { method: step.method, agent, headers: step.headers || {} }, (res) => {
      let bytes = 0;
      const fr = framing(step.method, res);
      const cl = res.headers['content-length'] !== undefined ? Number(res.headers['content-length']) : null;
      const info = () => ({ status: res.statusCode, contentLength: cl, framing: fr, bodyBytes: bytes, version: res.httpVersion });
      res.on('data', (d) => {
        bytes += d.length;
        if (step.abortAfterBytes !== undefined && bytes >= step.abortAfterBytes && !done) {
          finish({ ...info(), outcome: 'client-abort' });
          req.destroy();
        }
      });
      res.on('end', () => finish({ ...info(), outcome: res.complete ? 'complete' : 'short' }));
      res.on('error', (e) => finish({ ...info(), outcome: 'error', error: e.message }));
    });
    req.on('socket', (s) => {
      const note = () => { port = s.localPort; };
      if (s.localPort) note(); else s.once('connect', note);
    });
    req.setTimeout(15000, () => req.destroy(new Error('timeout')));
    req.on('error', (e) => finish({ outcome: 'error', error: e.message }));
    req.end();
  });
}

(async () => {
  for (const step of plan) {
    await one(step);
    if (step.pauseMs) await new Promise((r) => setTimeout(r, step.pauseMs));
  }
  agent.destroy();
})();
