'use strict';
// A Node http server that also speaks WebSocket, written by hand on the http module's 'upgrade'
// event (programs/x28w-ws.js: handshake, frames). Usage:
//   node x28w-node-server.js --host H --port P --log FILE [--keep-alive-timeout MS]
// Plain requests: GET anything -> 200 JSON, POST -> 201 (body read first), Content-Length, keep-alive.
// A GET with "Upgrade: websocket" -> 101 Switching Protocols, then on that connection: text and
// binary messages are echoed, a ping is answered with a pong carrying its payload, a client's close
// frame is answered with a close frame (same code) and the server then ends the TCP connection
// (RFC 6455 7.1.1: the server closes first); a text message "close-please:CODE" makes the server
// start the closing handshake itself (close frame CODE, then it waits for the client's close
// frame and ends the connection). A connection that ends without a close frame (a proxy's
// timeout) is ended in turn. Every event is one JSON line in --log: {t (epoch s), event, port
// (the peer's port), ...}.
const http = require('http');
const fs = require('fs');
const ws = require('./x28w-ws');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const host = arg('--host', '127.0.0.1');
const port = Number(arg('--port', '9001'));
const logFile = arg('--log', '/dev/stderr');
const keepAliveTimeout = Number(arg('--keep-alive-timeout', '5000'));
const out = fs.openSync(logFile, 'a');
const log = (ev) => fs.writeSync(out, JSON.stringify({ t: Date.now() / 1000, ...ev }) + '\n');

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    log({ event: 'request', port: req.socket.remotePort, method: req.method, url: req.url, bodyBytes: body.length });
    const text = JSON.stringify({ ok: true, method: req.method, url: req.url, got: body.length }) + '\n';
    res.writeHead(req.method === 'POST' ? 201 : 200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  });
});
server.keepAliveTimeout = keepAliveTimeout;

server.on('upgrade', (req, socket, head) => {
  const rport = socket.remotePort;
  const key = req.headers['sec-websocket-key'];
  if ((req.headers.upgrade || '').toLowerCase() !== 'websocket' || !key) {
    socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    log({ event: 'bad-upgrade', port: rport, url: req.url });
    return;
  }
  socket.setNoDelay(true);
  socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    `Sec-WebSocket-Accept: ${ws.acceptFor(key)}\r\n\r\n`);
  log({ event: 'open', port: rport, url: req.url, via: req.headers['x-forwarded-for'] || null });
  let closeSent = false;
  let closeReceived = false;
  const send = (op, payload) => { if (!socket.destroyed) socket.write(ws.encode(op, payload, false)); };
  const parser = new ws.Parser((f) => {
    const ev = { event: 'frame-in', port: rport, op: f.name, bytes: f.payload.length, masked: f.masked };
    if (f.opcode === ws.OP.text) ev.text = f.payload.toString();
    log(ev);
    if (f.opcode === ws.OP.text || f.opcode === ws.OP.binary) {
      const m = f.opcode === ws.OP.text && /^close-please:(\d+)/.exec(f.payload.toString());
      if (m) {
        closeSent = true;
        send(ws.OP.close, ws.closePayload(Number(m[1]), 'server closes'));
        log({ event: 'close-sent', port: rport, code: Number(m[1]), initiator: 'server' });
        return;
      }
      send(f.opcode, f.payload);
    } else if (f.opcode === ws.OP.ping) {
      send(ws.OP.pong, f.payload);
    } else if (f.opcode === ws.OP.close) {
      closeReceived = true;
      const code = f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005;
      if (!closeSent) {
        closeSent = true;
        send(ws.OP.close, ws.closePayload(code, ''));
        log({ event: 'close-sent', port: rport, code, initiator: 'client' });
      }
      log({ event: 'closed', port: rport, code, clean: true });
      socket.end();
    }
  });
  if (head && head.length) parser.feed(head);
  socket.on('data', (c) => parser.feed(c));
  socket.on('end', () => {
    if (!closeReceived) {
      log({ event: 'closed', port: rport, code: 1006, clean: false, why: 'tcp end without close frame' });
      socket.end();
    }
  });
  socket.on('error', (e) => log({ event: 'error', port: rport, error: e.code || String(e) }));
  socket.on('close', () => log({ event: 'socket-closed', port: rport }));
});

server.listen(port, host, () => log({ event: 'listening', host, port, keepAliveTimeout }));
const stop = () => process.exit(0);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
