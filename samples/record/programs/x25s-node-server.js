'use strict';
// The Node http server of slow-clients-server-timeouts.sh: headersTimeout and requestTimeout set low
// and checked every connectionsCheckingInterval ms (Node checks them only on that timer, 30 s by
// default). Node's own reaction is kept: server.emit is wrapped only to log each 'clientError' (and
// 'timeout') with the socket's remotePort, no listener is added, so Node itself writes
// "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n" and destroys the socket
// (lib/_http_server.js socketOnError). Requests that arrive whole are answered 200 once their body
// has been read. Every event is one JSON line in the log (epoch seconds):
//   {"ev":"connection","port":P} {"ev":"request","port":P,"method":M,"path":U} {"ev":"response","port":P,"status":200,"bodyBytes":N}
//   {"ev":"clientError","port":P,"code":C} {"ev":"close","port":P}
// Usage: node x25s-node-server.js PORT HOST HEADERS_MS REQUEST_MS CHECK_MS LOGFILE   (exits 0 on SIGTERM)
const http = require('node:http');
const fs = require('node:fs');
const { performance } = require('node:perf_hooks');

const [port, host, headersMs, requestMs, checkMs, logFile] = process.argv.slice(2);
const fd = fs.openSync(logFile, 'w');
const now = () => (performance.timeOrigin + performance.now()) / 1000;
const log = (ev, extra) => fs.writeSync(fd, JSON.stringify({ t: Number(now().toFixed(6)), ev, ...extra }) + '\n');

const server = http.createServer({
  headersTimeout: Number(headersMs),
  requestTimeout: Number(requestMs),
  connectionsCheckingInterval: Number(checkMs),
}, (req, res) => {
  const p = req.socket.remotePort;
  log('request', { port: p, method: req.method, path: req.url });
  let n = 0;
  req.on('data', (d) => { n += d.length; });
  req.on('end', () => {
    const body = `served ${req.method} ${req.url} (${n} body bytes)\n`;
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
    log('response', { port: p, status: 200, bodyBytes: n });
  });
});
const emit = server.emit;
server.emit = function (name, ...args) {
  if (name === 'clientError') log('clientError', { port: args[1].remotePort, code: args[0].code, message: args[0].message });
  if (name === 'timeout') log('timeout', { port: args[0].remotePort });
  return emit.call(this, name, ...args);
};
server.on('connection', (s) => {
  const p = s.remotePort;
  log('connection', { port: p });
  s.on('close', (hadError) => log('close', { port: p, hadError }));
});
server.listen({ port: Number(port), host }, () => log('listening', {
  headersTimeout: server.headersTimeout, requestTimeout: server.requestTimeout,
  keepAliveTimeout: server.keepAliveTimeout, connectionsCheckingInterval: Number(checkMs),
}));
process.on('SIGTERM', () => { fs.closeSync(fd); process.exit(0); });
