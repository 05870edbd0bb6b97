'use strict';
// A Node http.Agent client that follows a plan of request steps, for the
// handshake/reset recorders and their silent traps.
//
// Usage: node c-node-pool-client.js '<plan JSON>'
//   { "port": 8080, "host": "127.0.0.1",
//     "agent": { ...http.Agent options: keepAlive, maxSockets, timeout, keepAliveMsecs },
//     "requestTimeoutMs": 5000,            // a request still unanswered then is aborted
//     "steps": [ { "parallel": 2, "path": "/a", "method": "GET", "body": 0 },
//                { "sleep": 500 } ],
//     "end": "destroy" | "reset" | "destroy-first" | "none",
//     "endWaitMs": 0 }
//   end: destroy = agent.destroy() (FIN on every pooled connection);
//        reset = socket.resetAndDestroy() on every pooled connection (RST, Node >= 20);
//        destroy-first = destroy one pooled connection, wait endWaitMs (the server may
//        close the others on its idle timeout), then agent.destroy().
// Prints one line per request: elapsed ms, local port, path, status or error.
const http = require('node:http');

const plan = JSON.parse(process.argv[2] || '{}');
const host = plan.host || '127.0.0.1';
const port = plan.port || 8080;
const agent = new http.Agent(plan.agent || { keepAlive: true });
const started = Date.now();
const log = (msg) => console.log(`${String(Date.now() - started).padStart(6)} ms ${msg}`);

function request(step, index) {
  return new Promise((resolve) => {
    const bodyBytes = step.body || 0;
    const headers = bodyBytes ? { 'content-type': 'application/octet-stream', 'content-length': bodyBytes } : {};
    const path = step.parallel > 1 ? `${step.path || '/'}-${index}` : step.path || '/';
    const req = http.request({ host, port, agent, path, method: step.method || 'GET', headers });
    let localPort = '?';
    req.on('socket', (s) => {
      if (s.localPort) localPort = s.localPort;
      else s.once('connect', () => { localPort = s.localPort; });
    });
    req.setTimeout(plan.requestTimeoutMs || 5000, () => req.destroy(new Error('client timeout')));
    req.on('response', (res) => {
      let bytes = 0;
      res.on('data', (chunk) => { bytes += chunk.length; });
      res.on('end', () => { log(`:${localPort} ${path} -> ${res.statusCode} (${bytes} bytes)`); resolve(); });
      res.on('error', (err) => { log(`:${localPort} ${path} -> response error ${err.code || err.message}`); resolve(); });
    });
    req.on('error', (err) => { log(`:${localPort} ${path} -> error ${err.code || err.message}`); resolve(); });
    req.end(bodyBytes ? Buffer.alloc(bodyBytes, 0x61) : undefined);
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function pooledSockets() {
  return Object.values(agent.freeSockets).flat();
}

async function main() {
  for (const step of plan.steps || []) {
    if (step.sleep) { await sleep(step.sleep); continue; }
    const n = step.parallel || 1;
    await Promise.all(Array.from({ length: n }, (_, i) => request(step, i + 1)));
  }
  if (plan.end === 'destroy-first') {
    const first = pooledSockets()[0];
    if (first) { log(`destroy pooled :${first.localPort}`); first.destroy(); }
    await sleep(plan.endWaitMs || 0);
    agent.destroy();
    log('agent destroyed');
  } else if (plan.end === 'reset') {
    for (const s of pooledSockets()) s.resetAndDestroy();
    log('reset pooled sockets');
  } else if (plan.end !== 'none') {
    agent.destroy();
    log('agent destroyed');
  }
}

main().catch((err) => { console.error(err); process.exitCode = 1; });
