'use strict';
// Two client lanes against one port, for connection-refused-two-outages: a keep-alive lane
// (http.Agent keepAlive, maxSockets 1: one pooled connection reused until it fails, then a new
// one) and a connection-per-request lane (agent: false: a new connection, Connection: close, for
// every request). Each sends a GET every --interval ms for --seconds seconds whatever the last
// outcome (a refused connect is ECONNREFUSED at once), and logs one JSON line per request.
//
// Usage: node fxo-clients.js --host 127.0.0.1 --port 8080 --seconds 12 --interval 100 --log FILE
const http = require('node:http');
const fs = require('node:fs');

const opts = { host: '127.0.0.1', port: 8080, seconds: 12, interval: 100, log: '' };
for (let i = 2; i < process.argv.length; i += 2) {
  const key = process.argv[i].replace(/^--/, '');
  if (!(key in opts)) throw new Error(`unknown option --${key}`);
  opts[key] = typeof opts[key] === 'number' ? Number(process.argv[i + 1]) : process.argv[i + 1];
}
const log = fs.openSync(opts.log, 'a');
const note = (o) => fs.writeSync(log, `${JSON.stringify({ t: Date.now() / 1000, port: opts.port, ...o })}\n`);

function lane(name, agent) {
  const end = Date.now() + opts.seconds * 1000;
  let n = 0;
  const once = () => {
    if (Date.now() >= end) { if (agent) agent.destroy(); return; }
    const uri = `/items/${name}-${opts.port}-${n++}`;
    const req = http.get({ host: opts.host, port: opts.port, path: uri, agent, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => { note({ lane: name, uri, status: res.statusCode, localPort: res.socket && res.socket.localPort }); setTimeout(once, opts.interval); });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => { note({ lane: name, uri, error: e.code || e.message }); setTimeout(once, opts.interval); });
  };
  once();
}

lane('ka', new http.Agent({ keepAlive: true, maxSockets: 1 }));
lane('pr', false);
