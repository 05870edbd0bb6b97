'use strict';
// The parts shared by the recorders' Node http.Agent clients (x17p-node-lanes.js, x18m-node-client.js):
//   arg(name, fallback)        the value after NAME on the command line, else FALLBACK
//   jsonLog(file, fields)      a log(ev) appending one JSON line to FILE: { t (wall clock, epoch s),
//                              ...FIELDS, ...ev }, synchronously (complete when the process ends)
//   send(req, done)            one request (https for an https: URL, with an https.Agent): req = { agent, url, method, body (a string or null: a JSON
//                              body), timeoutMs, timeoutError() (the error the request is destroyed
//                              with after TIMEOUT_MS of socket inactivity) }; once the response has
//                              been read, or the request failed, calls done({ res or error, port (the
//                              local port of its socket, null before it connected), reused
//                              (req.reusedSocket), t0 (epoch s when it was sent), elapsedMs }) and
//                              resolves with what done returned.
const http = require('node:http');
const https = require('node:https');
const fs = require('node:fs');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

function jsonLog(file, fields) {
  return (ev) => fs.appendFileSync(file, JSON.stringify({ t: Date.now() / 1000, ...fields, ...ev }) + '\n');
}

function send({ agent, url, method, body, timeoutMs, timeoutError }, done) {
  return new Promise((resolve) => {
    const t0 = Date.now() / 1000;
    const headers = body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {};
    const req = (url.startsWith('https:') ? https : http).request(url, { agent, method, headers });
    let port = null;
    req.on('socket', (s) => {
      if (s.localPort !== undefined) port = s.localPort;
      else s.once('connect', () => { port = s.localPort; });
    });
    const elapsedMs = () => Math.round((Date.now() / 1000 - t0) * 1e6) / 1e3;
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(done({ res, port, reused: req.reusedSocket, t0, elapsedMs: elapsedMs() })));
    });
    req.on('error', (error) => resolve(done({ error, port, reused: req.reusedSocket, t0, elapsedMs: elapsedMs() })));
    req.setTimeout(timeoutMs, () => req.destroy(timeoutError()));
    if (body) req.write(body);
    req.end();
  });
}

module.exports = { arg, jsonLog, send };
