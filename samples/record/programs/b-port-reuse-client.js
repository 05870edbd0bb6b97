'use strict';
// Successive connections from one fixed local port (net.connect with localPort), each
// opened shortly after the previous one on the same 4-tuple closed, so the new SYN meets
// a TIME_WAIT: the server's (when the server closed first) or the client's own.
// Usage: node b-port-reuse-client.js --host H --port P --local-port L --log FILE
//        --plan "close:0,close:30,keep:50,keep:150"
//   each step is "<path kind>:<ms to wait before connecting>"; "close" requests /close/...
//   (the server answers Connection: close and closes first), "keep" requests /items/...
//   and the client closes first once the response is in.
// Each connection is logged as one JSON line (local port, outcome or bind/connect error).
const net = require('net');
const fs = require('fs');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const host = arg('--host', '127.0.0.1');
const port = Number(arg('--port', '8080'));
const localPort = Number(arg('--local-port', '40000'));
const logFile = arg('--log', '/dev/stdout');
const plan = arg('--plan', 'close:0,close:30,keep:50,keep:150').split(',');
const log = (o) => fs.appendFileSync(logFile, JSON.stringify(o) + '\n');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function once(kind, i, fixedPort) {
  return new Promise((resolve) => {
    const opts = { host, port };
    if (fixedPort) { opts.localPort = localPort; opts.localAddress = host; }
    const s = net.connect(opts);
    let got = '';
    let lp = null;
    s.on('connect', () => {
      lp = s.localPort;
      const path = kind === 'close' ? `/close/${i}` : `/items/${i}`;
      s.write(`GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\n\r\n`);
    });
    s.on('data', (d) => {
      got += d.toString('latin1');
      const h = got.indexOf('\r\n\r\n');
      const m = /content-length:\s*(\d+)/i.exec(got);
      if (kind === 'keep' && h >= 0 && m && got.length >= h + 4 + Number(m[1])) s.end(); // client closes first
    });
    s.on('error', (e) => { log({ step: i, kind, localPort: lp, error: e.code }); resolve(); });
    s.on('close', () => {
      if (lp !== null) log({ step: i, kind, localPort: lp, status: Number(got.split(' ')[1]) || null });
      resolve();
    });
  });
}

(async () => {
  const guard = setTimeout(() => process.exit(4), 20000);
  for (let i = 0; i < plan.length; i++) {
    const [kind, wait] = plan[i].split(':');
    await sleep(Number(wait));
    await once(kind, i + 1, true);
  }
  await sleep(100);
  await once('keep', 99, false); // one ordinary connection from an ephemeral port
  clearTimeout(guard);
})();
