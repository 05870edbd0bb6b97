// Node client: a keep-alive http.Agent (maxSockets MAX_SOCKETS) fires REQUESTS GETs at once, each
// with a 3 s timeout; logs one JSON line per request: its local port, status or error code, time.
// Usage: node connlimit-client.js ADDR PORT REQUESTS MAX_SOCKETS LOG
const http = require('http');
const fs = require('fs');
const [addr, port, requests, maxSockets, logFile] = process.argv.slice(2);
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(maxSockets) });
const n = Number(requests);
let done = 0;
const log = (o) => fs.appendFileSync(logFile, JSON.stringify(o) + '\n');
for (let i = 1; i <= n; i++) {
  const t0 = Date.now();
  let localPort = null;
  const req = http.get({ host: addr, port: Number(port), path: `/r${i}`, agent, timeout: 3000 }, (res) => {
    res.resume();
    res.on('end', () => { log({ request: `/r${i}`, port: localPort, status: res.statusCode, ms: Date.now() - t0 }); finish(); });
  });
  req.on('socket', (s) => {
    const note = () => { localPort = s.localPort; };
    if (s.localPort !== undefined) note(); else s.once('connect', note);
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', (e) => { log({ request: `/r${i}`, port: localPort, error: e.code || e.message, ms: Date.now() - t0 }); finish(); });
}
function finish() { if (++done === n) agent.destroy(); }
