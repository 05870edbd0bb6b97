'use strict';
// A Node http server whose event loop can be blocked: GET /block?ms=N spins synchronously for N ms
// before answering, so nothing else runs meanwhile - no accept(), no reads. Any other path answers
// 200 with a short text body. listen() is given a small backlog (the kernel's accept queue).
// Every event is one JSON line in the log, written synchronously, with the epoch time in seconds:
//   {"ev":"listening","backlog":4}  {"ev":"connection","port":P}  {"ev":"request","port":P,"path":...}
//   {"ev":"blockStart","ms":N}  {"ev":"blockEnd"}  {"ev":"response","port":P,"status":200}
// Usage: node x24n-server.js PORT HOST BACKLOG LOGFILE   (exits 0 on SIGTERM)
const http = require('node:http');
const fs = require('node:fs');
const { performance } = require('node:perf_hooks');

const [port, host, backlog, logFile] = process.argv.slice(2);
const fd = fs.openSync(logFile, 'w');
const now = () => (performance.timeOrigin + performance.now()) / 1000;
const log = (ev, extra) => fs.writeSync(fd, JSON.stringify({ t: Number(now().toFixed(6)), ev, ...extra }) + '\n');

const server = http.createServer((req, res) => {
  const clientPort = req.socket.remotePort;
  log('request', { port: clientPort, path: req.url });
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/block') {
    const ms = Math.min(Number(url.searchParams.get('ms')) || 0, 10000);
    log('blockStart', { port: clientPort, ms });
    const until = performance.now() + ms;
    while (performance.now() < until) { /* the event loop is blocked: nothing is accepted */ }
    log('blockEnd', { port: clientPort });
  }
  const body = `served ${req.url}\n`;
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
  log('response', { port: clientPort, status: 200 });
});
server.keepAliveTimeout = 5000;
server.on('connection', (s) => log('connection', { port: s.remotePort }));
server.listen({ port: Number(port), host, backlog: Number(backlog) }, () => log('listening', { backlog: Number(backlog) }));
process.on('SIGTERM', () => { fs.closeSync(fd); process.exit(0); });
