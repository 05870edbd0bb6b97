// expect-continue-rejected: a Node http server refusing every `Expect: 100-continue` upload at its
// head ('checkContinue') with 417 without reading the body. Node adds Connection: close itself (no
// 100 Continue was sent, so the body may still come) and closes: end() sends its FIN, the socket is
// destroyed behind it. Other requests are read whole and answered 200.
// Logs one JSON line per answer. Usage: node xec-server.js PORT LIFETIME_SECONDS
'use strict';
const http = require('node:http');
const [port, lifetime] = process.argv.slice(2).map(Number);
const log = (o) => console.log(JSON.stringify({ t: Number((Date.now() / 1000).toFixed(6)), ...o }));
const server = http.createServer((req, res) => {
  let n = 0;
  req.on('data', (d) => (n += d.length));
  req.on('end', () => {
    log({ port: req.socket.remotePort, method: req.method, path: req.url, status: 200, bodyRead: n });
    res.end(`stored ${n}\n`);
  });
});
server.on('checkContinue', (req, res) => {
  res.writeHead(417, { 'Content-Type': 'text/plain' });
  res.end('expectation failed\n');
  log({ port: req.socket.remotePort, method: req.method, path: req.url, status: 417, bodyRead: 0, connectionHeader: res.getHeader('connection') ?? null });
});
server.listen(port, '127.0.0.1');
setTimeout(() => { server.close(); server.closeAllConnections(); }, lifetime * 1000).unref();
