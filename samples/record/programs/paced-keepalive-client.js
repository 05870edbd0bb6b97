'use strict';
// One keep-alive connection's worth of sequential requests, paced by given think times, so that a
// proxy in front reuses its pooled upstream connections right when the backend closes them.
// Usage: node paced-keepalive-client.js --base http://H:P --gaps-ms 1297,1301,... [--post-every N]
//          [--tag T] [--new-connections] --log FILE
// Request i is POST /items?i=<i>&c=<T> when i % N === N - 1 (JSON body), else GET /get?i=<i>&c=<T>
// (the tag tells several clients' requests apart in the logs). An http.Agent
// with keepAlive and maxSockets 1 carries them (Node does not retry on its own). One JSON line per
// request: {i, method, uri, status} or {i, method, uri, error}. --new-connections: a new connection
// for every request instead (no keep-alive), so that each is the first on its connection.
const http = require('http');
const fs = require('fs');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const base = arg('--base', 'http://127.0.0.1:8080');
const gaps = arg('--gaps-ms', '').split(',').filter((x) => x !== '').map(Number);
const postEvery = Number(arg('--post-every', '0'));
const logFile = arg('--log', '/dev/stdout');
const tag = arg('--tag', 'a');
const agent = new http.Agent({ keepAlive: !process.argv.includes('--new-connections'), maxSockets: 1 });

function log(entry) {
  fs.appendFileSync(logFile, JSON.stringify({ t: Date.now() / 1000, ...entry }) + '\n');
}

function once(i) {
  return new Promise((resolve) => {
    const post = postEvery > 0 && i % postEvery === postEvery - 1;
    const uri = post ? `/items?i=${i}&c=${tag}` : `/get?i=${i}&c=${tag}`;
    const body = post ? JSON.stringify({ i }) : null;
    const headers = body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {};
    const req = http.request(base + uri, { agent, method: post ? 'POST' : 'GET', headers }, (res) => {
      res.resume();
      res.on('end', () => {
        log({ i, method: req.method, uri, status: res.statusCode });
        resolve();
      });
    });
    req.on('error', (e) => {
      log({ i, method: req.method, uri, error: e.code || e.message });
      resolve();
    });
    req.setTimeout(10000, () => req.destroy(new Error('client timeout')));
    if (body) req.write(body);
    req.end();
  });
}

(async () => {
  for (let i = 0; i <= gaps.length; i++) {
    await once(i);
    if (i < gaps.length) await new Promise((r) => setTimeout(r, gaps[i]));
  }
  agent.destroy();
})();
