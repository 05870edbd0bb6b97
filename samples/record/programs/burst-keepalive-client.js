'use strict';
// Bursts of concurrent requests on one keep-alive pool, so that a proxy behind reuses several
// pooled upstream connections at each idle gap; the gap after burst k is base + (k - rounds/2) *
// step ms, sweeping across a backend's idle timeout.
// Usage: node burst-keepalive-client.js HOST PORT ROUNDS CONCURRENCY BASE_MS STEP_MS [post]
// Request i is GET /r/c-<i> for odd i and POST /r/c-<i> (body x=<i>) for even i, or a POST
// every time with `post`. One line per request on stdout: "<i> <method> <status>" or
// "<i> <method> ERR <code>". (keepalive-race-node-proxy-pool, keepalive-race-behind-nginx-chain.)
const http = require('http');
const [host, port, rounds, conc, base, step] = [process.argv[2], +process.argv[3], +process.argv[4], +process.argv[5], +process.argv[6], +process.argv[7]];
const postsOnly = process.argv[8] === 'post';
const agent = new http.Agent({ keepAlive: true, maxSockets: conc });
let id = 0;
function one() {
  const i = ++id; const m = postsOnly || i % 2 === 0 ? 'POST' : 'GET'; const body = m === 'POST' ? 'x=' + i : '';
  return new Promise((done) => {
    const r = http.request({ host, port, method: m, path: `/r/c-${i}`, agent, headers: m === 'POST' ? { 'content-type': 'text/plain', 'content-length': body.length } : {} }, (rs) => {
      rs.resume(); rs.on('end', () => { console.log(i, m, rs.statusCode); done(); });
    });
    r.setTimeout(15000, () => r.destroy(new Error('client timeout')));
    r.on('error', (e) => { console.log(i, m, 'ERR', e.code || e.message); done(); });
    r.end(body);
  });
}
(async () => {
  for (let k = 0; k < rounds; k++) {
    await Promise.all(Array.from({ length: conc }, one));
    if (k < rounds - 1) await new Promise((r) => setTimeout(r, base + (k - Math.floor(rounds / 2)) * step));
  }
  agent.destroy();
})();
