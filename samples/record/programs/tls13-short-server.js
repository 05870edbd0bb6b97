'use strict';
// A Node https server (TLS 1.3 only) whose keep-alive timer closes idle connections: it logs each
// connection's open and close (local time, the client's port) as JSON lines, for the meta.
// Usage: node tls13-short-server.js --port P --cert C --key K --keepalive-ms N --log FILE
const https = require('https');
const fs = require('fs');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const port = Number(arg('--port', '8443'));
const logFile = arg('--log', '/dev/stdout');
const log = (o) => fs.appendFileSync(logFile, JSON.stringify({ t: Date.now() / 1000, ...o }) + '\n');

const server = https.createServer(
  { cert: fs.readFileSync(arg('--cert')), key: fs.readFileSync(arg('--key')), minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' },
  (req, res) => {
    log({ event: 'request', port: req.socket.remotePort, method: req.method, url: req.url });
    res.setHeader('Content-Type', 'text/plain');
    res.end('ok\n');
  },
);
server.keepAliveTimeout = Number(arg('--keepalive-ms', '1000'));
server.on('secureConnection', (sock) => {
  const p = sock.remotePort;
  log({ event: 'open', port: p, protocol: sock.getProtocol() });
  sock.on('close', () => log({ event: 'close', port: p }));
});
server.listen(port, '127.0.0.1', () => log({ event: 'listening', port, keepAliveTimeout: server.keepAliveTimeout, node: process.version }));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
