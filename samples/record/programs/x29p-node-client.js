// x29p Node client: GETs a list of paths one after the other on one keep-alive connection
// (http.Agent keepAlive, maxSockets 1) and logs, per request, one JSON line: its local port, whether
// the socket was reused, status, framing (Content-Length or chunked), body bytes received, whether
// the response completed, and the 'aborted' / 'error' events Node raised (code, message). Stops after
// the first request that did not complete. Used by response-truncated-proxy-stall.sh.
//   node x29p-node-client.js --base http://127.0.0.2:8080 --tag n1 --paths /ok,/stall-len --gaps-ms 300 --log FILE
'use strict';
const http = require('http');
const fs = require('fs');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const paths = args.paths.split(',');
const gaps = (args['gaps-ms'] || '').split(',').filter(Boolean).map(Number);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const log = (o) => fs.appendFileSync(args.log, JSON.stringify(o) + '\n');
setTimeout(() => { log({ tag: args.tag, client: 'node', event: 'gave-up' }); process.exit(3); }, Number(args['max-seconds'] || 25) * 1000).unref();

function one(i) {
  return new Promise((resolve) => {
    const path = paths[i];
    const id = `${args.tag}-${i + 1}`;
    const rec = { tag: args.tag, client: 'node', i: i + 1, path, id, tStart: Date.now() / 1000, events: [] };
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      rec.tEnd = Date.now() / 1000;
      log(rec);
      resolve(rec);
    };
    const req = http.get(`${args.base}${path}?id=${id}`, { agent }, (res) => {
      rec.localPort = req.socket.localPort;
      rec.reusedSocket = req.reusedSocket;
      rec.status = res.statusCode;
      rec.declared = res.headers['content-length'] !== undefined ? Number(res.headers['content-length']) : null;
      rec.chunked = /chunked/i.test(res.headers['transfer-encoding'] || '');
      rec.received = 0;
      res.on('data', (d) => { rec.received += d.length; });
      res.on('aborted', () => { rec.events.push({ event: 'aborted', t: Date.now() / 1000 }); });
      res.on('error', (e) => { rec.events.push({ event: 'res-error', code: e.code, message: e.message, t: Date.now() / 1000 }); });
      res.on('end', () => { rec.events.push({ event: 'end', t: Date.now() / 1000 }); });
      res.on('close', () => { rec.complete = res.complete; setImmediate(finish); });
    });
    req.on('socket', (s) => { s.on('connect', () => { rec.localPort = s.localPort; }); });
    req.on('error', (e) => { rec.events.push({ event: 'req-error', code: e.code, message: e.message, t: Date.now() / 1000 }); rec.complete = false; setImmediate(finish); });
  });
}

(async () => {
  for (let i = 0; i < paths.length; i++) {
    const rec = await one(i);
    if (!rec.complete) break;
    if (i + 1 < paths.length) await new Promise((r) => setTimeout(r, gaps[i] ?? 200));
  }
  agent.destroy();
})();
