// x29g-node-server: a Node http server with server.setTimeout(2000) (response-truncated-server-time-
// limits). setTimeout is an inactivity timeout on the socket: it fires when nothing was read from or
// written to the socket for 2 s (every write or read restarts it), not 2 s after the request. No
// 'timeout' listener on the server, the request or the response, so Node destroys the socket when it
// fires (socket.destroy(): close(2), a FIN when nothing lies unread).
//   /ok                          2048 bytes with Content-Length
//   /stall?sizes=A,B,C&pauses=P1,P2&cl=1|0
//                                writes A bytes, waits P1 ms, writes B bytes, waits P2 ms, ...; with cl=1
//                                Content-Length is the sum, else chunked
// Log (--log, JSON lines): request (time, client port, path), write (time, port, bytes), end (the
// handler called res.end), close (socket closed: time, port, whether the response had finished, and
// the socket's bytesWritten).
'use strict';
const http = require('http');
const fs = require('fs');

const args = process.argv.slice(2);
const opt = (name, def) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : def; };
const host = opt('--host', '127.0.0.1');
const port = Number(opt('--port', '8082'));
const timeout = Number(opt('--timeout', '2000'));
const logFd = fs.openSync(opt('--log', '/dev/null'), 'a');
function log(o) { fs.writeSync(logFd, JSON.stringify(o) + '\n'); }
const t = () => { const [s, ns] = process.hrtime(); return base + s + ns / 1e9; };
const h0 = process.hrtime();
const base = Date.now() / 1000 - (h0[0] + h0[1] / 1e9);

const server = http.createServer((req, res) => {
  const p = req.socket.remotePort;
  const u = new URL(req.url, 'http://x');
  log({ event: 'request', t: t(), port: p, method: req.method, path: req.url });
  if (u.pathname === '/ok') {
    const body = Buffer.alloc(2048, 'k');
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
    res.end(body);
    log({ event: 'end', t: t(), port: p });
    return;
  }
  if (u.pathname === '/stall') {
    const sizes = (u.searchParams.get('sizes') || '4096,4096').split(',').map(Number);
    const pauses = (u.searchParams.get('pauses') || '3000').split(',').map(Number);
    const headers = { 'Content-Type': 'application/octet-stream' };
    if (u.searchParams.get('cl') === '1') headers['Content-Length'] = sizes.reduce((a, b) => a + b, 0);
    res.writeHead(200, headers);
    let i = 0;
    const step = () => {
      if (res.destroyed || req.socket.destroyed) return;
      res.write(Buffer.alloc(sizes[i], 's'));
      log({ event: 'write', t: t(), port: p, bytes: sizes[i] });
      i += 1;
      if (i === sizes.length) { res.end(); log({ event: 'end', t: t(), port: p }); return; }
      setTimeout(step, pauses[i - 1]);
    };
    step();
    return;
  }
  res.writeHead(404, { 'Content-Length': 0 });
  res.end();
});
server.on('connection', (sock) => {
  const p = sock.remotePort;
  log({ event: 'accept', t: t(), port: p });
  sock.on('close', () => {
    const res = sock._httpMessage;
    log({ event: 'close', t: t(), port: p, responseFinished: res ? res.writableFinished : null, bytesWritten: sock.bytesWritten });
  });
});
server.setTimeout(timeout);
server.listen(port, host, () => process.stderr.write(`x29g-node-server: ${host}:${port}, setTimeout ${timeout} ms\n`));
process.on('SIGTERM', () => process.exit(0));
