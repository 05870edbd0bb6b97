'use strict';
// A Node http server with a keep-alive timeout off round numbers, for the idle-timeout-drained-bodies
// samples: GET /small answers 200 bytes, GET /big a 256 KB body written at once (the socket's send
// buffer takes what the client's window does not, so the response keeps leaving the host long after
// res.end() returned, and the keep-alive timer runs from then).
// Usage: node idlestart-server.js --host H --port P --keep-alive-timeout MS
const http = require('http');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const small = Buffer.alloc(200, 's');
const big = Buffer.alloc(256 * 1024, 'b');
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const body = req.url === '/big' ? big : small;
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length });
    res.end(body, () => process.stderr.write(`${Date.now() / 1000} written ${req.url} ${req.socket.remotePort}\n`));
  });
});
server.keepAliveTimeout = Number(arg('--keep-alive-timeout', '2300'));
server.listen(Number(arg('--port', '8080')), arg('--host', '127.0.0.1'));
process.on('SIGTERM', () => process.exit(0));
