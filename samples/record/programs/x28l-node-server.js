'use strict';
// healthy-lossy-path-*'s Node http server (and, on the server's loopback, nginx's upload sink).
// Usage: node x28l-node-server.js --host H --port P [--keep-alive-timeout MS] --log FILE
// Paths: GET /big/<N>.bin...  N bytes of body (Content-Length)
//        POST anything         the body is read whole, then 201 with its length
//        anything else         200, a small JSON body
// A request with Connection: close is answered with Connection: close (Node then closes).
// Ground truth, one JSON line per request in FILE: t (epoch s, response finished), client port,
// method, url, request body bytes, status, response body bytes, connection header sent.
const http = require('node:http');
const fs = require('node:fs');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const host = arg('--host', '127.0.0.1');
const port = Number(arg('--port', '8081'));
const logFile = arg('--log', '/dev/stderr');
const BIG = Buffer.alloc(2 * 1024 * 1024, 'abcdefghijklmnopqrstuvwxyz0123456789\n');

const server = http.createServer((req, res) => {
  let got = 0;
  req.on('data', (c) => { got += c.length; });
  req.on('end', () => {
    let status = 200;
    let body;
    const big = /^\/big\/(\d+)\.bin/.exec(req.url);
    if (req.method === 'POST') { status = 201; body = Buffer.from(JSON.stringify({ created: true, got }) + '\n'); }
    else if (big) body = BIG.subarray(0, Math.min(Number(big[1]), BIG.length));
    else body = Buffer.from(JSON.stringify({ ok: true, url: req.url }) + '\n');
    res.writeHead(status, { 'Content-Type': big ? 'application/octet-stream' : 'application/json', 'Content-Length': body.length });
    res.end(body, () => {
      fs.appendFileSync(logFile, JSON.stringify({ t: Date.now() / 1000, port: req.socket.remotePort, method: req.method,
        url: req.url, bodyBytes: got, status, sent: body.length, connection: res.getHeader('connection') || null }) + '\n');
    });
  });
});
server.keepAliveTimeout = Number(arg('--keep-alive-timeout', '30000'));
server.listen(port, host);
