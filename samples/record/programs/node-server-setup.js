'use strict';
// The command line and the lifetime shared by the recorders' small Node http servers
// (x13-node-server.js, x17p-node-server.js, x18m-node-server.js):
//   serverOptions(defaults)  --host, --port, --keep-alive-timeout (ms), --log FILE over the defaults
//                            (log: /dev/null unless given); opens the log (truncated) as opts.logFd;
//                            --tls-cert PEM --tls-key PEM (both or neither): serve HTTPS
//   okServer(opts, body, line)  an http server (https with --tls-cert/--tls-key) answering every
//                            request 200 with the JSON BODY (after reading the request body), then
//                            writing line(req, n) to the log (n: the request's number on its connection)
//   listen(server, opts)     the server's keepAliveTimeout, listen on host:port; on SIGTERM the log is
//                            closed and the process exits 0 (the recorder ends the server by its PID)
// The servers write their log synchronously, so that it is complete when the recorder stops them.
const http = require('node:http');
const https = require('node:https');
const fs = require('node:fs');

function serverOptions(defaults) {
  const opts = { log: '/dev/null', ...defaults };
  for (let i = 2; i < process.argv.length; i += 2) {
    const key = process.argv[i];
    const value = process.argv[i + 1];
    if (key === '--host') opts.host = value;
    else if (key === '--port') opts.port = Number(value);
    else if (key === '--keep-alive-timeout') opts.keepAliveTimeout = Number(value);
    else if (key === '--log') opts.log = value;
    else if (key === '--tls-cert') opts.tlsCert = value;
    else if (key === '--tls-key') opts.tlsKey = value;
    else throw new Error(`unknown option ${key}`);
  }
  if (!opts.tlsCert !== !opts.tlsKey) throw new Error('--tls-cert and --tls-key go together');
  opts.logFd = fs.openSync(opts.log, 'w');
  return opts;
}

function okServer(opts, body, line) {
  const perSocket = new WeakMap();
  const handler = (req, res) => {
    const n = (perSocket.get(req.socket) || 0) + 1;
    perSocket.set(req.socket, n);
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
      // Synchronous on purpose: the log must be complete when the recorder stops the server.
      fs.writeSync(opts.logFd, line(req, n));
    });
  };
  if (!opts.tlsCert) return http.createServer(handler);
  return https.createServer({ cert: fs.readFileSync(opts.tlsCert), key: fs.readFileSync(opts.tlsKey) }, handler);
}

function listen(server, opts) {
  server.keepAliveTimeout = opts.keepAliveTimeout;
  server.listen(opts.port, opts.host);
  process.on('SIGTERM', () => { fs.closeSync(opts.logFd); process.exit(0); });
}

module.exports = { serverOptions, okServer, listen };
