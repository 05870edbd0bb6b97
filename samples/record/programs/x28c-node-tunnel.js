'use strict';
// Node's https client through a forward proxy, for the CONNECT-tunnel samples: an https.Agent
// (keepAlive, maxSockets 1) whose createConnection sends `CONNECT host:port` to the proxy with
// http.request and, on the proxy's 2xx, runs TLS over the tunnel's socket (tls.connect({ socket })),
// as the https-proxy-agent package does. The agent keeps the tunnel for the next request; when the
// proxy or the target closes it, the agent drops it and the next request opens a new tunnel.
// Usage: node x28c-node-tunnel.js --proxy 127.0.0.2:3128 --target target.test:443 --log FILE
//          --name N --plan "get:/get,sleep:1.5,post:/post,get:/big,..."
// Steps: get:PATH, post:PATH, sleep:SECONDS; at the end agent.destroy() closes the tunnel.
// One JSON line per event to FILE: connect (proxy status, local port of the tunnel), response
// (status, bytes, port), error.
const fs = require('fs');
const http = require('http');
const https = require('https');
const tls = require('tls');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const [proxyHost, proxyPort] = arg('--proxy', '127.0.0.2:3128').split(':');
const [targetHost, targetPort] = arg('--target', 'target.test:443').split(':');
const logFile = arg('--log', '/dev/stderr');
const name = arg('--name', 'node');
const plan = arg('--plan', 'get:/get').split(',');
const lib = `node ${process.version} https.Agent over CONNECT`;

function log(ev) {
  fs.appendFileSync(logFile, JSON.stringify({ t: Date.now() / 1000, client: name, lib, ...ev }) + '\n');
}

class TunnelAgent extends https.Agent {
  createConnection(options, cb) {
    const authority = `${options.host}:${options.port}`;
    const t0 = Date.now();
    const req = http.request({ host: proxyHost, port: Number(proxyPort), method: 'CONNECT', path: authority,
      headers: { Host: authority }, agent: false });
    req.on('connect', (res, socket) => {
      log({ event: 'connect', target: authority, status: res.statusCode, port: socket.localPort,
        elapsed: (Date.now() - t0) / 1000 });
      if (res.statusCode !== 200) {
        socket.destroy();
        cb(new Error(`proxy answered CONNECT with ${res.statusCode}`));
        return;
      }
      const tlsSocket = tls.connect({ socket, servername: options.host, rejectUnauthorized: false });
      tlsSocket.tunnelPort = socket.localPort;
      cb(null, tlsSocket);
    });
    req.on('error', (e) => cb(e));
    req.end();
  }
}

const agent = new TunnelAgent({ keepAlive: true, maxSockets: 1 });

function request(method, path) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const body = method === 'POST' ? JSON.stringify({ path }) : null;
    const req = https.request({ host: targetHost, port: Number(targetPort), method, path, agent,
      headers: body ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } : {} }, (res) => {
      let bytes = 0;
      res.on('data', (c) => { bytes += c.length; });
      res.on('end', () => {
        log({ event: 'response', method, url: `https://${targetHost}:${targetPort}${path}`, status: res.statusCode, bytes,
          port: req.socket ? req.socket.tunnelPort : null, elapsed: (Date.now() - t0) / 1000 });
        resolve();
      });
    });
    req.on('error', (e) => {
      log({ event: 'error', method, url: `https://${targetHost}:${targetPort}${path}`, error: e.code || e.name,
        message: e.message, elapsed: (Date.now() - t0) / 1000 });
      resolve();
    });
    req.setTimeout(15000, () => req.destroy(new Error('timeout')));
    if (body) req.write(body);
    req.end();
  });
}

(async () => {
  for (const step of plan) {
    const [kind, value] = [step.slice(0, step.indexOf(':')), step.slice(step.indexOf(':') + 1)];
    if (kind === 'sleep') await new Promise((r) => setTimeout(r, Number(value) * 1000));
    else await request(kind === 'post' ? 'POST' : 'GET', value);
  }
  agent.destroy();
  log({ event: 'close' });
})();
