// x34-node-client: the Node 20 HTTP/2 client of healthy-h2-server-idle-closes (run with node --tls-keylog=FILE).
// --origins URL,URL --sessions N --requests K --idle-ms MS --tag T --log FILE
// For each origin, N sessions at once (staggered by 150 ms): http2.connect (rejectUnauthorized: false: the
// recorder's throwaway certificate), K GET requests one after the other on the session, then nothing for
// idle-ms while the server's idle close arrives. The session's events are logged with their times:
// 'goaway' (errorCode, lastStreamID), 'close', 'error', the socket's 'end' (the server's FIN) and 'close'.
// After idle-ms (or the session's close) one more request goes on a NEW session (http2.connect again: a
// session that got a GOAWAY is never reused), which the client then closes itself (session.close()).
// One JSON line per request / session (--log, appended).
'use strict';
const http2 = require('http2');
const fs = require('fs');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const now = () => Date.now() / 1000;
const out = (m) => fs.appendFileSync(args.log, JSON.stringify(Object.assign({ tag: args.tag, client: `node ${process.version}` }, m)) + '\n');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function request(session, origin, path, s) {
  return new Promise((resolve) => {
    const m = { kind: 'request', url: origin + path, session: s.name, localPort: s.localPort, tStart: now(), bytes: 0 };
    const req = session.request({ ':path': path });
    const t = setTimeout(() => { m.error = 'timeout'; req.close(); }, 5000);
    req.on('response', (h) => { m.status = h[':status']; m.tHead = now(); });
    req.on('data', (d) => { m.bytes += d.length; });
    req.on('error', (e) => { m.error = `${e.code || ''} ${e.message}`; });
    req.on('close', () => { clearTimeout(t); m.tEnd = now(); m.streamId = req.id; out(m); resolve(m); });
    req.end();
  });
}

function connect(origin, name) {
  return new Promise((resolve) => {
    const s = { kind: 'session', name, origin, tStart: now(), events: [] };
    const session = http2.connect(origin, { rejectUnauthorized: false });
    s.session = session;
    s.closed = new Promise((r) => { s.closedResolve = r; });
    const ev = (e, extra) => s.events.push(Object.assign({ event: e, t: now() }, extra || {}));
    session.on('connect', (sess, socket) => {
      s.localPort = socket.localPort;
      s.tlsProtocol = socket.getProtocol();
      s.alpn = socket.alpnProtocol;
      ev('connect');
      socket.on('end', () => ev('socket-end'));
      socket.on('close', (hadError) => ev('socket-close', { hadError }));
      resolve(s);
    });
    session.on('goaway', (errorCode, lastStreamID) => ev('goaway', { errorCode, lastStreamID }));
    session.on('error', (e) => ev('error', { error: `${e.code || ''} ${e.message}` }));
    session.on('close', () => { ev('close'); s.closedResolve(); });
    setTimeout(() => resolve(s), 5000);
  });
}

function logSession(s) {
  const m = Object.assign({}, s);
  delete m.session; delete m.closed; delete m.closedResolve;
  m.tLog = now();
  out(m);
}

async function sequence(origin, i, delay) {
  await sleep(delay);
  const port = origin.split(':').pop();
  const K = Number(args.requests || 2);
  const s = await connect(origin, `${args.tag}-${port}-${i}-a`);
  for (let k = 1; k <= K; k++) await request(s.session, origin, `/ok?c=${args.tag}&id=${args.tag}-${port}-${i}-${k}`, s);
  s.idleStart = now();
  await Promise.race([sleep(Number(args['idle-ms'] || 3500)), s.closed.then(() => sleep(Number(args['idle-ms'] || 3500) - (now() - s.idleStart) * 1000))]);
  s.closedBeforeNext = s.session.closed || s.session.destroyed;
  s.goawayBeforeNext = s.events.some((e) => e.event === 'goaway');
  if (!s.session.closed && !s.session.destroyed) s.session.close();
  await Promise.race([s.closed, sleep(2000)]);
  logSession(s);
  // the next request: a new session
  const s2 = await connect(origin, `${args.tag}-${port}-${i}-b`);
  await request(s2.session, origin, `/ok?c=${args.tag}&id=${args.tag}-${port}-${i}-${K + 1}`, s2);
  s2.clientClose = now();
  s2.session.close();
  await Promise.race([s2.closed, sleep(2000)]);
  logSession(s2);
}

(async () => {
  const origins = args.origins.split(',');
  const N = Number(args.sessions || 3);
  const all = [];
  origins.forEach((o, oi) => { for (let i = 1; i <= N; i++) all.push(sequence(o, i, (oi * N + i - 1) * 150)); });
  await Promise.all(all);
})();
