'use strict';
// Node http.Agent clients of the middlebox-idle-* recordings (round 18m), with their ground truth.
// Usage: node x18m-node-client.js --base http://10.77.2.2:8080 --log FILE [--pause 5] [--timeout-ms 4000]
//          [--keepalive-msecs 30000] [--tag n]
// Four lanes at once, each with its own http.Agent({keepAlive: true, maxSockets: 1}), so each lane
// has exactly one pooled connection; no agent-level timeout. With an https: base each lane has an
// https.Agent instead (same options, rejectUnauthorized false: the server's certificate is a
// self-signed one made for the recording), and its pooled connection is a TLS session. Each lane sends three warm GETs
// (/warm/<tag>-<lane>-<i>, 0.2 s apart: the first opens the connection), then:
//   stale-get   sleeps PAUSE s (longer than the middlebox's idle timeout), GET /items/<tag>-stale-get on
//               the pooled connection, then GET /after/<tag>-stale-get (a new connection when it failed);
//   stale-post  the same with POST /orders?attempt=<tag>-stale-post (a small JSON body);
//   control     sleeps 1 s, GET /items/<tag>-control-1, sleeps 2 s, GET /items/<tag>-control-2 (both
//               shorter than the middlebox's idle timeout: must work);
//   tcpka       like stale-get, but its Agent keeps Node's default keepAliveMsecs (1000): the Agent
//               turns on TCP keep-alive (SO_KEEPALIVE, first probe after 1 s idle) on a pooled socket,
//               and the probes refresh the middlebox's state. The other lanes' Agents use
//               KEEPALIVE_MSECS (default 30000, longer than the pause), so no probe is sent.
// Every request has a client-side timeout of TIMEOUT_MS of socket inactivity (req.setTimeout, then
// destroy). Node does not retry a failed request, nor does this program.
// One JSON line per request in FILE (t: wall clock epoch s when it ended): event "response" (status,
// local port, reused = req.reusedSocket) or "error" (code, message, local port, reused), sentAt, elapsedMs.
const http = require('node:http');
const https = require('node:https');
const { arg, jsonLog, send } = require('./node-lanes-common.js');

const base = arg('--base', 'http://127.0.0.1:8080');
const logFile = arg('--log', '/dev/stdout');
const pause = Number(arg('--pause', '5'));
const timeoutMs = Number(arg('--timeout-ms', '4000'));
const kaMsecs = Number(arg('--keepalive-msecs', '30000'));
const tag = arg('--tag', 'n');

const tls = base.startsWith('https:');
const log = jsonLog(logFile, { client: 'node', lib: `node ${process.version} ${tls ? 'https' : 'http'}.Agent` });
const sleep = (s) => new Promise((r) => setTimeout(r, s * 1000));
const timeoutError = () => Object.assign(new Error(`client timeout ${timeoutMs} ms`), { code: 'CLIENT_TIMEOUT' });

function request(agent, lane, method, uri, body) {
  return send({ agent, url: base + uri, method, body, timeoutMs, timeoutError }, ({ res, error, port, reused, t0, elapsedMs }) => {
    if (res) log({ lane, event: 'response', method, uri, status: res.statusCode, port, reused, sentAt: t0, elapsedMs });
    else log({ lane, event: 'error', method, uri, error: error.code || error.name || null, message: error.message, port, reused, sentAt: t0, elapsedMs });
    return !!res;
  });
}

async function lane(name) {
  const agent = new (tls ? https : http).Agent({ keepAlive: true, maxSockets: 1, ...(name === 'tcpka' ? {} : { keepAliveMsecs: kaMsecs }),
    ...(tls ? { rejectUnauthorized: false } : {}) });
  for (let i = 1; i <= 3; i++) {
    if (i > 1) await sleep(0.2);
    await request(agent, name, 'GET', `/warm/${tag}-${name}-${i}`, null);
  }
  if (name === 'control') {
    await sleep(1);
    await request(agent, name, 'GET', `/items/${tag}-control-1`, null);
    await sleep(2);
    await request(agent, name, 'GET', `/items/${tag}-control-2`, null);
  } else {
    await sleep(pause);
    if (name === 'stale-post') await request(agent, name, 'POST', `/orders?attempt=${tag}-stale-post`, JSON.stringify({ sku: 'x18m', qty: 1 }));
    else await request(agent, name, 'GET', `/items/${tag}-${name}`, null);
    await request(agent, name, 'GET', `/after/${tag}-${name}`, null);
  }
  agent.destroy();
}

Promise.all(['stale-get', 'stale-post', 'control', 'tcpka'].map(lane)).then(() => process.exit(0));
setTimeout(() => { log({ event: 'gave-up' }); process.exit(3); }, 30000).unref();
