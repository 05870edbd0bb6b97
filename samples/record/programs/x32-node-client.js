// The x32 recorders' Node 20 clients (unanswered-request-tls-client-timeouts, healthy-tls-idle-closes).
// Certificates are not checked (rejectUnauthorized: false: the recorders' throwaway self-signed ones).
// Node's https sends no ALPN extension unless asked (ALPNProtocols), and no User-Agent header.
//
// --mode https --plan JSON: a list of connections, run one after the other:
//   [{"requests": [{"url", "timeoutMs"?}...], "agentTimeoutMs"?: N, "watchMs"?: N}]
//   Each connection gets its own https.Agent({keepAlive: true, maxSockets: 1, timeout: agentTimeoutMs})
//   (so a fresh TCP+TLS connection, no TLS session resumed from another one); its requests go one after
//   the other and reuse the connection while it stays open. timeoutMs is https.request's timeout option
//   (socket inactivity); on 'timeout' the request is destroyed (req.destroy(), the usual idiom), which
//   closes the connection. agentTimeoutMs: the agent's own timeout for idle pooled sockets (it destroys
//   them). After the last request the client keeps watching the pooled socket for up to watchMs (it is
//   unref'd in the pool and would not keep the process alive) and logs when the server ended it (its
//   FIN) and when it closed; then the agent is destroyed.
// --mode h2 --plan JSON: a list of HTTP/2 sessions, one after the other:
//   [{"origin": "https://host:port", "paths": [...], "pings": N, "idleMs": N}]
//   http2.connect, the paths requested one after the other on the session, N session.ping() calls, then
//   idle idleMs and session.close().
// One JSON line per request / connection event (--log, appended).
'use strict';
const https = require('https');
const http2 = require('http2');
const fs = require('fs');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const plan = JSON.parse(args.plan);
const now = () => Date.now() / 1000;
const out = (m) => fs.appendFileSync(args.log, JSON.stringify(Object.assign({ tag: args.tag, client: `node ${process.version}` }, m)) + '\n');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function one(agent, step, conn) {
  return new Promise((resolve) => {
    const m = { kind: 'request', url: step.url, timeoutMs: step.timeoutMs || null, tStart: now(), bytes: 0, errors: [] };
    let done = false;
    const finish = (outcome) => {
      if (done) return;
      done = true;
      m.outcome = m.outcome || outcome;
      setTimeout(() => { m.tEnd = m.tEnd || now(); out(m); resolve(); }, 30);
    };
    const opts = { agent, rejectUnauthorized: false };
    if (step.timeoutMs) opts.timeout = step.timeoutMs;
    const req = https.request(step.url, opts, (res) => {
      m.tHead = now();
      m.status = res.statusCode;
      res.on('data', (d) => { m.bytes += d.length; });
      res.on('end', () => { m.tEnd = now(); finish(res.complete ? 'complete' : 'short'); });
      res.on('error', (e) => { m.errors.push(`response error: ${e.code || ''} ${e.message}`); finish('error'); });
      res.on('close', () => finish(res.complete ? 'complete' : 'error'));
    });
    req.on('socket', (s) => {
      m.reusedSocket = req.reusedSocket;
      const note = () => {
        m.localPort = s.localPort;
        m.tlsProtocol = s.getProtocol ? s.getProtocol() : null;
        m.alpn = s.alpnProtocol || false;
        m.sessionReused = s.isSessionReused ? s.isSessionReused() : null;
        conn.socket = s;
        if (!conn.watched) {
          conn.watched = true;
          conn.localPort = s.localPort;
          s.on('end', () => { conn.tPeerEnd = now(); });
          s.on('close', () => { conn.tClose = now(); });
        }
      };
      if (s.localPort && !s.connecting) note(); else s.once('secureConnect', note);
    });
    req.on('timeout', () => {
      m.outcome = 'timeout-destroyed';
      m.tDestroy = now();
      req.destroy();
    });
    req.on('error', (e) => { m.errors.push(`request error: ${e.code || ''} ${e.message}`); m.tEnd = m.tEnd || now(); finish('error'); });
    req.on('close', () => { if (!m.tHead) { m.tEnd = m.tEnd || now(); finish('error'); } });
    req.end();
  });
}

async function httpsConnection(c) {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, timeout: c.agentTimeoutMs || undefined });
  const conn = { tStart: now() };
  for (const step of c.requests) await one(agent, step, conn);
  if (c.watchMs) {
    const t0 = Date.now();
    while (conn.tClose === undefined && Date.now() - t0 < c.watchMs) await sleep(20);
  }
  out({ kind: 'connection', localPort: conn.localPort, agentTimeoutMs: c.agentTimeoutMs || null, watchMs: c.watchMs || null,
    tPeerEnd: conn.tPeerEnd || null, tClose: conn.tClose || null, tDone: now() });
  agent.destroy();
  await sleep(50);
}

async function h2Session(c) {
  const m = { kind: 'h2-session', origin: c.origin, streams: [], pings: [], tStart: now() };
  const session = http2.connect(c.origin, { rejectUnauthorized: false });
  session.on('error', (e) => { m.error = `${e.code || ''} ${e.message}`; });
  await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('connect timeout')), 3000);
    session.once('connect', () => { clearTimeout(t); resolve(); });
  });
  m.localPort = session.socket.localPort;
  m.alpn = session.alpnProtocol;
  m.tlsProtocol = session.socket.getProtocol();
  for (const p of c.paths) {
    const s = { path: p, tStart: now(), bytes: 0 };
    await new Promise((resolve) => {
      const req = session.request({ ':path': p });
      req.setTimeout(3000, () => { s.error = 'timeout'; req.close(); });
      req.on('response', (h) => { s.status = h[':status']; });
      req.on('data', (d) => { s.bytes += d.length; });
      req.on('end', () => { s.tEnd = now(); resolve(); });
      req.on('error', (e) => { s.error = e.message; resolve(); });
      req.end();
    });
    m.streams.push(s);
  }
  for (let i = 0; i < (c.pings || 0); i++) {
    await sleep(100);
    await new Promise((resolve) => session.ping((err, ms) => { m.pings.push(err ? String(err) : ms); resolve(); }));
  }
  m.tIdleFrom = now();
  await sleep(c.idleMs || 0);
  m.tCloseCalled = now();
  await new Promise((resolve) => {
    const t = setTimeout(() => { session.destroy(); resolve(); }, 2000);
    session.close(() => { clearTimeout(t); resolve(); });
  });
  m.tClosed = now();
  out(m);
}

(async () => {
  const guard = setTimeout(() => { out({ kind: 'guard', error: 'client ran out of time' }); process.exit(3); }, Number(args['max-ms'] || 60000));
  for (const c of plan) {
    if (args.mode === 'h2') await h2Session(c);
    else await httpsConnection(c);
  }
  clearTimeout(guard);
})();
