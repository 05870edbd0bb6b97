'use strict';
// The server of the middlebox-idle-* recordings (round 18m): a Node http server (https with
// --tls-cert/--tls-key: middlebox-idle-reset-nat-tls) whose
// keepAliveTimeout (60 s by default here) is far longer than the middlebox's idle timeout, so it
// never closes a connection during a recording. Answers every request 200 with a small JSON body
// (after reading the request body) and writes one line per request to its log:
// "<epoch s> <client port> <method> <url> <request number on this connection>"
// so the meta checker can tell which requests reached it.
// Usage: node x18m-node-server.js --host 10.77.2.2 --port 8080 --keep-alive-timeout 60000 --log FILE
//          [--tls-cert cert.pem --tls-key key.pem]
const { serverOptions, okServer, listen } = require('./node-server-setup.js');

const opts = serverOptions({ host: '127.0.0.1', port: 8080, keepAliveTimeout: 60000 });
const body = JSON.stringify({ item: 18, ok: true }) + '\n';
const server = okServer(opts, body, (req, n) => `${(Date.now() / 1000).toFixed(6)} ${req.socket.remotePort} ${req.method} ${req.url} ${n}\n`);
listen(server, opts);
