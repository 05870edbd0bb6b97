// x35-server: the slow HTTPS server of unanswered-request-tls-late-answers. Node's own https module, no proxy
// in front, keep-alive on (Node's default keepAliveTimeout 5 s). Two listeners with one throwaway certificate:
//   --port13 (default 8443): TLS 1.3 allowed (the default maxVersion; OpenSSL's default session tickets: two
//                            NewSessionTicket records right after the handshake)
//   --port12 (default 9443): maxVersion TLSv1.2
// GET /ok answers at once; GET /slow?ms=N answers after N ms (setTimeout, then a small JSON body).
// --half-open: keep a connection's sending side open when the client's close (close_notify, FIN) arrives
// while a request is pending (net allowHalfOpen + the http server's httpAllowHalfOpen), so the late answer is
// still written, after the client went away, and the server ends the connection after it. Without it Node
// aborts the pending request and ends the socket at once when the client's FIN arrives.
// One JSON line per event (--log, appended): 'request' (local/remote port, path, TLS version, ALPN, t),
// 'peer-end' (the client's close was read), 'aborted' / 'close', 'answer' (tAnswer, whether the socket was
// still writable / destroyed then, the write's error if any, tWriteCb), 'socket-error', 'socket-close'.
'use strict';
const https = require('https');
const fs = require('fs');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
if (process.argv.includes('--half-open')) args['half-open'] = true;
const host = args.host || '127.0.0.2';
const log = fs.openSync(args.log, 'a');
function out(m) { fs.writeSync(log, JSON.stringify(m) + '\n'); }
const maxSeconds = Number(args['max-seconds'] || 90);
const halfOpen = !!args['half-open'];

function t() { return Number(process.hrtime.bigint() - T0NS) / 1e9 + T0; }
const T0 = Date.now() / 1000;
const T0NS = process.hrtime.bigint();

function handler(req, res) {
  const s = req.socket;
  const info = { server: `${s.localAddress}:${s.localPort}`, client: `${s.remoteAddress}:${s.remotePort}`, path: req.url };
  out({ kind: 'request', ...info, method: req.method, tls: s.getProtocol(), alpn: s.alpnProtocol || null, t: t() });
  req.on('aborted', () => out({ kind: 'aborted', ...info, t: t() }));
  res.on('close', () => out({ kind: 'res-close', ...info, finished: res.writableFinished, t: t() }));
  const u = new URL(req.url, 'https://x');
  const ms = u.pathname === '/slow' ? Number(u.searchParams.get('ms') || 1000) : 0;
  const answer = () => {
    const body = JSON.stringify({ ok: true, path: req.url, delayMs: ms }) + '\n';
    const m = { kind: 'answer', ...info, delayMs: ms, tAnswer: t(), socketDestroyed: s.destroyed, socketWritable: s.writable,
                readableEnded: s.readableEnded, writableEnded: s.writableEnded, resDestroyed: res.destroyed };
    try {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body, (err) => {
        m.tWriteCb = t();
        if (err) m.writeError = String(err);
        out(m);
      });
      if (res.destroyed || s.destroyed) { m.note = 'socket already gone'; }
      setTimeout(() => { if (m.tWriteCb === undefined) { m.tWriteCb = null; m.writeError = m.writeError || 'no write callback within 1 s'; out(m); } }, 1000);
    } catch (e) {
      m.writeError = String(e);
      out(m);
    }
  };
  if (ms > 0) setTimeout(answer, ms); else answer();
}

function listen(port, maxVersion) {
  const opts = { key: fs.readFileSync(args.key), cert: fs.readFileSync(args.cert), allowHalfOpen: halfOpen };
  if (maxVersion) opts.maxVersion = maxVersion;
  const srv = https.createServer(opts, handler);
  if (halfOpen) srv.httpAllowHalfOpen = true;
  srv.on('secureConnection', (s) => {
    const c = `${s.remoteAddress}:${s.remotePort}`;
    s.on('end', () => out({ kind: 'peer-end', client: c, server: `${host}:${port}`, t: t() }));
    s.on('error', (e) => out({ kind: 'socket-error', client: c, server: `${host}:${port}`, error: String(e), t: t() }));
    s.on('close', (hadErr) => out({ kind: 'socket-close', client: c, server: `${host}:${port}`, hadError: hadErr, t: t() }));
  });
  srv.on('tlsClientError', (e, s) => out({ kind: 'tls-client-error', error: String(e), t: t() }));
  srv.listen(port, host);
  return srv;
}

listen(Number(args.port13 || 8443), null);
listen(Number(args.port12 || 9443), 'TLSv1.2');
out({ kind: 'start', node: process.version, openssl: process.versions.openssl, halfOpen, t: t() });
setTimeout(() => process.exit(0), maxSeconds * 1000).unref();
process.on('SIGTERM', () => { out({ kind: 'stop', t: t() }); process.exit(0); });
