'use strict';
// A Node http server for the round-13 load recordings: answers every request 200 with a
// small JSON body and writes an access log line per request ("client_port status
// request_number_on_this_connection") so the meta checker can compare the capture with
// what the server saw.
// Usage: node x13-node-server.js --host 127.0.0.1 --port 8080 --keep-alive-timeout 5000 --log FILE
const { serverOptions, okServer, listen } = require('./node-server-setup.js');

const opts = serverOptions({ host: '127.0.0.1', port: 8080, keepAliveTimeout: 5000 });
const body = JSON.stringify({ item: 7, ok: true }) + '\n';
const server = okServer(opts, body, (req, n) => `${req.socket.remotePort} 200 ${n}\n`);
listen(server, opts);
