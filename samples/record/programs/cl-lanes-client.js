'use strict';
// Keep-alive lanes for syn-dropped-connection-limit: LANES lanes share one http.Agent (keepAlive,
// maxSockets LANES), each sending a GET every INTERVAL ms for SECONDS seconds, so the client holds
// LANES connections open the whole time. Logs one JSON line per outcome to --log.
//
// Usage: node cl-lanes-client.js --port 8080 --lanes 4 --seconds 7 --interval 200 --log FILE
const http = require('node:http');
const fs = require('node:fs');

const opts = { host: '127.0.0.1', port: 8080, lanes: 4, seconds: 7, interval: 200, log: '/dev/null' };
for (let i = 2; i < process.argv.length; i += 2) {
  const key = process.argv[i].replace(/^--/, '');
  if (!(key in opts)) throw new Error(`unknown option --${key}`);
  opts[key] = typeof opts[key] === 'number' ? Number(process.argv[i + 1]) : process.argv[i + 1];
}
const agent = new http.Agent({ keepAlive: true, maxSockets: opts.lanes });
const end = Date.now() + opts.seconds * 1000;
const log = (o) => fs.appendFileSync(opts.log, JSON.stringify({ t: Date.now() / 1000, port: opts.port, ...o }) + '\n');

function one(lane) {
  if (Date.now() > end) return;
  const req = http.request({ host: opts.host, port: opts.port, path: `/items/${lane}`, agent, timeout: 3000 }, (res) => {
    res.resume();
    res.on('end', () => {
      log({ lane, status: res.statusCode, reused: req.reusedSocket });
      setTimeout(() => one(lane), opts.interval);
    });
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', (e) => {
    log({ lane, error: e.message });
    setTimeout(() => one(lane), opts.interval);
  });
  req.end();
}
for (let lane = 0; lane < opts.lanes; lane++) one(lane);
// Bounded: the agent's idle sockets would keep the process alive past the load.
setTimeout(() => { agent.destroy(); process.exit(0); }, opts.seconds * 1000 + 3500);
