'use strict';
// The backend of the layer-4 proxy samples (round 17p): a Node http server answering every request
// (GET 200, POST 201) with a small JSON body, with a keepAliveTimeout (ms) longer than the proxy's
// idle timeout, so it never closes an idle connection itself within the recording. Node then sends
// `Connection: keep-alive` and `Keep-Alive: timeout=<keepAliveTimeout in s>` with every response.
// Ground truth, one JSON line per event in --log (wall-clock t, epoch s): "connection" (a new
// connection: its remote port), "request" (remote port, method, URI, its number on the connection),
// "end" (the peer's FIN reached the server), "close" (the socket closed; hadError).
// Usage: node x17p-node-server.js --host 127.0.0.3 --port 9001 --keep-alive-timeout 10000 --log FILE
const http = require('node:http');
const fs = require('node:fs');
const { serverOptions, listen } = require('./node-server-setup.js');

const opts = serverOptions({ host: '127.0.0.3', port: 9001, keepAliveTimeout: 10000 });
// Synchronous on purpose: the log must be complete when the recorder stops the server.
const log = (ev) => fs.writeSync(opts.logFd, JSON.stringify({ t: Date.now() / 1000, ...ev }) + '\n');
const perSocket = new WeakMap();
const server = http.createServer((req, res) => {
  const n = (perSocket.get(req.socket) || 0) + 1;
  perSocket.set(req.socket, n);
  const port = req.socket.remotePort;
  log({ event: 'request', port, method: req.method, uri: req.url, n });
  req.resume();
  req.on('end', () => {
    const body = JSON.stringify({ uri: req.url, n, ok: true }) + '\n';
    res.writeHead(req.method === 'POST' ? 201 : 200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.on('connection', (socket) => {
  const port = socket.remotePort;
  log({ event: 'connection', port });
  socket.on('end', () => log({ event: 'end', port }));
  socket.on('close', (hadError) => log({ event: 'close', port, hadError }));
});
listen(server, opts);
