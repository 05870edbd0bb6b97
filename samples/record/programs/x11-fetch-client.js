#!/usr/bin/env node
'use strict';
// Node 20's built-in fetch (undici, the global dispatcher with its defaults) for the round-11
// recorders, logging what undici itself did through its diagnostics channels: each connection
// it opened (undici:client:connected, with the local port), each time it sent a request's headers
// on a socket (undici:client:sendHeaders: a second send of one request would be a retry), the
// response headers, and the error fetch rejected with (TypeError "fetch failed" and its cause:
// SocketError "other side closed", ECONNRESET, an AbortSignal's TimeoutError). One JSON line per
// event to --log.
//
// Two modes:
//   --probes N --rounds METHOD:EPS,...   the keep-alive race: each probe sends a warm GET and
//       measures when the server's idle-close FIN reaches the pooled socket (its 'end'), counted
//       from the warm response's arrival; each round sends a warm GET, then METHOD EPS ms before
//       that moment (a negative EPS: that many ms after it).
//   --steps METHOD:PATH:GAPMS[:TIMEOUTMS],...  requests in sequence, each GAPMS after the previous
//       one finished; TIMEOUTMS adds signal: AbortSignal.timeout(TIMEOUTMS).
// Usage: x11-fetch-client.js --base http://H:P --log FILE (--probes N --rounds ... | --steps ...)
//        [--tag T] [--max-seconds S]
const dc = require('node:diagnostics_channel');
const fs = require('node:fs');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const BASE = args.base;
const TAG = args.tag || 'f';
const MAX_MS = Number(args['max-seconds'] || 40) * 1000;
const START = performance.now();
const logFd = fs.openSync(args.log, 'a');

function log(event, fields) {
  fs.writeSync(logFd, JSON.stringify({ t: Date.now() / 1000, lib: 'fetch', event, ...fields }) + '\n');
}

// The socket each request was last sent on, and the sockets' close moments.
const sentOn = new Map();   // uri -> socket
const sends = new Map();    // uri -> number of times undici sent its headers
dc.subscribe('undici:client:connected', (m) => {
  const s = m.socket;
  const port = s.localPort;
  log('connected', { port });
  s.once('end', () => { s.x11EndAt = performance.now(); log('socketEnd', { port }); });
  s.once('close', () => { s.x11CloseAt = performance.now(); log('socketClose', { port }); });
});
dc.subscribe('undici:client:sendHeaders', (m) => {
  const uri = m.request.path;
  sends.set(uri, (sends.get(uri) || 0) + 1);
  sentOn.set(uri, m.socket);
  log('sendHeaders', { method: m.request.method, uri, port: m.socket.localPort, attempt: sends.get(uri) });
});
dc.subscribe('undici:request:error', (m) => {
  log('undiciError', { uri: m.request.path, name: m.error && m.error.name, code: m.error && m.error.code, text: m.error && m.error.message });
});

async function one(method, uri, timeoutMs) {
  const body = method === 'POST' ? JSON.stringify({ order: uri, qty: 1 }) : undefined;
  log('send', { method, uri });
  const t0 = performance.now();
  try {
    const init = { method, body, headers: body ? { 'content-type': 'application/json' } : undefined };
    if (timeoutMs) init.signal = AbortSignal.timeout(timeoutMs);
    const res = await fetch(BASE + uri, init);
    const text = await res.text();
    const s = sentOn.get(uri);
    log('response', { method, uri, status: res.status, port: s && s.localPort, bytes: text.length,
      keepAlive: res.headers.get('keep-alive'), sends: sends.get(uri) || 0, elapsed: (performance.now() - t0) / 1000 });
    return true;
  } catch (e) {
    const c = e.cause || {};
    const s = sentOn.get(uri);
    log('error', { method, uri, error: e.name, text: e.message, causeName: c.name, causeCode: c.code, causeText: c.message,
      port: s && s.localPort, sends: sends.get(uri) || 0, elapsed: (performance.now() - t0) / 1000 });
    return false;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const overBudget = () => performance.now() - START > MAX_MS;

async function waitEnd(socket, maxMs) {
  const until = performance.now() + maxMs;
  while (socket && socket.x11EndAt === undefined && socket.x11CloseAt === undefined && performance.now() < until) await sleep(2);
  return socket ? (socket.x11EndAt ?? socket.x11CloseAt) : undefined;
}

async function race() {
  log('versions', { node: process.version, undici: process.versions.undici });
  const closes = [];
  for (let i = 0; i < Number(args.probes || 2) && !overBudget(); i++) {
    const uri = `/items/${TAG}-probe-${i}`;
    if (!(await one('GET', uri))) continue;
    const t0 = performance.now();   // the response is in: the server's idle timer runs from about now
    const s = sentOn.get(uri);
    const end = await waitEnd(s, 8000);
    if (end !== undefined) {
      closes.push(end - t0);
      log('probe', { port: s.localPort, closeAfter: (end - t0) / 1000 });
    }
    await sleep(50);
  }
  if (!closes.length) { log('abort', { why: 'no idle close seen in the probes' }); process.exit(2); }
  closes.sort((a, b) => a - b);
  const closeAfter = closes[Math.floor(closes.length / 2)];
  const rounds = (args.rounds || '').split(',').filter(Boolean);
  for (let n = 0; n < rounds.length; n++) {
    if (overBudget()) { log('abort', { why: 'time budget' }); break; }
    const [method, eps] = rounds[n].split(':');
    const warm = `/items/${TAG}-${n}-warm`;
    await one('GET', warm);
    const t0 = performance.now();
    const ws = sentOn.get(warm);
    const wport = ws && ws.localPort;   // read now: a destroyed socket no longer tells it
    await sleep(t0 + closeAfter - Number(eps) - performance.now());
    const uri = `/items/${TAG}-${n}-${method.toLowerCase()}-eps${eps}`;
    log('reuseCandidate', { uri, port: wport, serverFinSeen: ws ? ws.x11EndAt !== undefined : null });
    await one(method, uri);
    // Let the server's idle close (or the race's reset) finish before the next round.
    await waitEnd(sentOn.get(uri), 4000);
    await sleep(100);
  }
  log('done', {});
}

async function steps() {
  log('versions', { node: process.version, undici: process.versions.undici });
  for (const step of args.steps.split(',')) {
    if (overBudget()) { log('abort', { why: 'time budget' }); break; }
    const [method, path, gap, timeoutMs] = step.split(':');
    await sleep(Number(gap));
    await one(method, path, timeoutMs ? Number(timeoutMs) : undefined);
  }
  // Stay alive while the pool's idle sockets close on their own (undici's keep-alive timer).
  await sleep(Number(args['linger-ms'] || 0));
  log('done', {});
}

(args.steps ? steps() : race()).then(() => process.exit(0), (e) => { log('abort', { why: String(e) }); process.exit(1); });
