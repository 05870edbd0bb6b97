'use strict';
// A Node http server with a request read timeout, the backend of slow-client-timeout-proxy-upload-cut.
// Usage: node fut-body-timeout-server.js --host H --port P --request-timeout MS [--check-interval MS]
// `requestTimeout` (from the request's first byte, for the whole request, body included) is checked
// every `connectionsCheckingInterval`; when it runs out Node answers `408 Request Timeout` with
// `Connection: close` and closes. Every request whose body came whole is answered 200 with its size.
// Logs one JSON line per event to stderr: {t, event: 'request'|'body'|'timeout'|'aborted', port, url, bodyBytes}.
const http = require('http');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const host = arg('--host', '127.0.0.1');
const port = Number(arg('--port', '9001'));
const requestTimeout = Number(arg('--request-timeout', '2000'));
const checkInterval = Number(arg('--check-interval', '100'));
const log = (o) => process.stderr.write(JSON.stringify({ t: Date.now() / 1000, ...o }) + '\n');

const server = http.createServer({ requestTimeout, headersTimeout: requestTimeout, connectionsCheckingInterval: checkInterval }, (req, res) => {
  let bytes = 0;
  const p = req.socket.remotePort;
  log({ event: 'request', port: p, method: req.method, url: req.url, length: req.headers['content-length'] ?? null });
  req.on('data', (c) => { bytes += c.length; });
  req.on('aborted', () => log({ event: 'aborted', port: p, url: req.url, bodyBytes: bytes }));
  req.on('end', () => {
    log({ event: 'body', port: p, url: req.url, bodyBytes: bytes });
    const text = JSON.stringify({ ok: true, got: bytes }) + '\n';
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  });
});
// Node writes its own 408 on the socket; 'clientError' is not raised for requestTimeout, so the
// timeout is logged from the socket's close while the request's body was unfinished ('aborted').
server.keepAliveTimeout = 5000;
server.listen(port, host, () => log({ event: 'listening', host, port, requestTimeout, checkInterval }));
const stop = () => process.exit(0);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
