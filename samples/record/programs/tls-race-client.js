'use strict';
// A raw `tls` HTTP/1.1 client acting like a connection pool with a bug (the TLS version of
// b-race-client.js), to provoke keep-alive races against a real TLS server.
//
// Usage: node tls-race-client.js --host H --port P --log FILE --mode crossing|stale
//     [--tls-max TLSv1.2|TLSv1.3] [--ciphers LIST]
//   crossing: probe connections measure T_c, the idle time at which the server's close
//     (close_notify, then FIN) reaches the client; race connections then send their next
//     request at idle T_c - eps for eps in --eps (ms).
//   stale: like a pool that ignores 'end': after the server's close arrived the connection is
//     handed out --stale-delays ms later (one connection per delay, alternating GET and POST);
//     when it fails, the same request is retried at once on a new connection. Then
//     --answer-close connections behave well: when the server's close arrives they close too
//     (their own close_notify, then FIN), which the server's kernel answers with RST.
// Each connection is logged to --log as one JSON line: local port, what was done and seen.
const tls = require('tls');
const fs = require('fs');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const host = arg('--host', '127.0.0.1');
const port = Number(arg('--port', '8443'));
const mode = arg('--mode', 'crossing');
const logFile = arg('--log', '/dev/stdout');
const nominalIdle = Number(arg('--nominal-idle-ms', '2000'));
const epsList = arg('--eps', '2,4,6,8').split(',').map(Number);
const maxRounds = Number(arg('--max-rounds', '3'));
const staleDelays = arg('--stale-delays', '25,60').split(',').map(Number);
const tlsMax = arg('--tls-max', 'TLSv1.3');
const answerClose = Number(arg('--answer-close', '0'));
const ciphers = arg('--ciphers', undefined);
const hostHeader = `${host}:${port}`;

const t0 = process.hrtime.bigint();
const now = () => Number(process.hrtime.bigint() - t0) / 1e6;
const log = (o) => fs.appendFileSync(logFile, JSON.stringify(o) + '\n');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function requestBytes(method, path, body) {
  const head = `${method} ${path} HTTP/1.1\r\nHost: ${hostHeader}\r\nUser-Agent: xtls-race-client\r\n`;
  if (method === 'POST') return Buffer.from(head + `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  return Buffer.from(head + '\r\n');
}

class Conn {
  constructor(name) {
    this.name = name;
    this.buf = Buffer.alloc(0);
    this.responses = [];
    this.waiter = null;
    this.endAt = null;
    this.closedAt = null;
    this.error = null;
    this.sock = tls.connect({ host, port, rejectUnauthorized: false, allowHalfOpen: true, maxVersion: tlsMax, servername: 'localhost', ...(ciphers ? { ciphers } : {}) });
    this.ready = new Promise((res, rej) => { this.sock.once('secureConnect', res); this.sock.once('error', rej); });
    this.sock.on('data', (d) => this.onData(d));
    this.sock.on('end', () => { this.endAt = now(); this.wake(); });
    this.sock.on('error', (e) => { this.error = e.code || e.message; this.wake(); });
    this.sock.on('close', () => { this.closedAt = now(); this.wake(); });
  }
  get localPort() { return this.sock.localPort; }
  wake() { if (this.waiter) { const w = this.waiter; this.waiter = null; w(); } }
  onData(d) {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      const h = this.buf.indexOf('\r\n\r\n');
      if (h < 0) return;
      const head = this.buf.subarray(0, h).toString('latin1');
      const m = /content-length:\s*(\d+)/i.exec(head);
      const len = m ? Number(m[1]) : 0;
      if (this.buf.length < h + 4 + len) return;
      this.responses.push({ status: Number(head.split(' ')[1]), at: now() });
      this.buf = this.buf.subarray(h + 4 + len);
      this.wake();
    }
  }
  async waitResponses(n, maxMs) {
    const deadline = now() + maxMs;
    while (this.responses.length < n && this.endAt === null && this.error === null && now() < deadline) {
      await new Promise((r) => { this.waiter = r; setTimeout(r, Math.max(1, deadline - now())); });
    }
    return this.responses.length >= n;
  }
  async waitEnd(maxMs) {
    const deadline = now() + maxMs;
    while (this.endAt === null && this.error === null && now() < deadline) {
      await new Promise((r) => { this.waiter = r; setTimeout(r, Math.max(1, deadline - now())); });
    }
    return this.endAt !== null;
  }
  send(buf) { this.sentAt = now(); try { this.sock.write(buf); } catch (e) { this.error = 'write:' + e.code; } }
  destroy() { this.sock.destroy(); }
}

const BODY = JSON.stringify({ order: 42, item: 'widget', qty: 1 });

async function probeIdle(name) {
  const c = new Conn(name);
  await c.ready;
  const localPort = c.localPort;
  c.send(requestBytes('GET', '/probe', ''));
  await c.waitResponses(1, 2000);
  const idleFrom = c.responses[0].at;
  await c.waitEnd(nominalIdle * 2 + 2000);
  const idle = c.endAt !== null ? c.endAt - idleFrom : null;
  await sleep(20);
  c.sock.end();
  await sleep(20);
  c.destroy();
  log({ role: 'probe', port: localPort, idleToEndMs: idle === null ? null : +idle.toFixed(3) });
  return idle;
}

async function raceOnce(name, method, target, eps, startDelay) {
  await sleep(startDelay);
  const c = new Conn(name);
  await c.ready;
  const localPort = c.localPort;
  const path = method === 'POST' ? `/orders?attempt=${name}` : `/items/${name}`;
  c.send(requestBytes(method, path, BODY));
  await c.waitResponses(1, 2000);
  const idleFrom = c.responses[0].at;
  await sleep(Math.max(0, idleFrom + target - now()));
  const endBeforeSend = c.endAt !== null;
  c.send(requestBytes(method, path, BODY));
  const sentIdle = c.sentAt - idleFrom;
  const answered = await c.waitResponses(2, 1500);
  await sleep(60);
  let outcome;
  if (answered) outcome = 'response';
  else if (c.error) outcome = c.error;
  else if (c.endAt !== null) outcome = 'EOF (no response)';
  else outcome = 'no-response';
  const r = { role: 'race', port: localPort, method, path, epsMs: eps, targetIdleMs: +target.toFixed(3),
    sentAtIdleMs: +sentIdle.toFixed(3), endSeenBeforeSend: endBeforeSend,
    endSeenAtIdleMs: c.endAt !== null ? +(c.endAt - idleFrom).toFixed(3) : null, outcome };
  if (answered) { c.sock.end(); await sleep(20); }
  c.destroy();
  log(r);
  return r;
}

async function crossing() {
  let target = nominalIdle;
  const probes = (await Promise.all([probeIdle('probe-a'), probeIdle('probe-b')])).filter((x) => x !== null);
  if (probes.length) target = probes.reduce((a, b) => a + b, 0) / probes.length;
  log({ role: 'round', round: 0, measuredTargetMs: +target.toFixed(3) });
  let gotGet = false;
  let gotPost = false;
  for (let round = 1; round <= maxRounds && !(gotGet && gotPost); round++) {
    const jobs = [];
    epsList.forEach((eps, i) => {
      for (const method of ['GET', 'POST']) {
        if ((method === 'GET' && gotGet) || (method === 'POST' && gotPost)) continue;
        jobs.push(raceOnce(`r${round}-${method.toLowerCase()}-${eps}`, method, target - eps, eps, (i * 2 + (method === 'POST' ? 1 : 0)) * 45));
      }
    });
    const results = await Promise.all(jobs);
    for (const r of results) if (!r.endSeenBeforeSend && r.outcome !== 'response') { if (r.method === 'GET') gotGet = true; else gotPost = true; }
    log({ role: 'round', round, gotGet, gotPost });
  }
  return 0;
}

async function stale() {
  const jobs = staleDelays.map(async (delay, i) => {
    await sleep(i * 150);
    const method = i % 2 === 0 ? 'GET' : 'POST';
    const path = method === 'POST' ? '/cart/7/items' : '/cart/7';
    const c = new Conn(`stale-${delay}`);
    await c.ready;
    c.send(requestBytes(method, path, BODY));
    await c.waitResponses(1, 2000);
    const idleFrom = c.responses[0].at;
    await c.waitEnd(nominalIdle * 2 + 2000);
    const endAt = c.endAt;
    await sleep(delay);
    c.send(requestBytes(method, path, BODY));
    await sleep(10);
    const answered = await c.waitResponses(2, 300);
    const r = { role: 'stale', port: c.localPort, method, path, staleDelayMs: delay,
      endAtIdleMs: endAt === null ? null : +(endAt - idleFrom).toFixed(3),
      sentAfterEndMs: endAt === null ? null : +(c.sentAt - endAt).toFixed(3),
      error: c.error, outcome: answered ? 'response' : 'no response' };
    c.destroy();
    if (!answered) {
      const n = new Conn(`retry-${delay}`);
      await n.ready;
      n.send(requestBytes(method, path, BODY));
      const ok = await n.waitResponses(1, 2000);
      r.retryPort = n.localPort;
      r.retryStatus = ok ? n.responses[0].status : null;
      r.retryAfterFailureMs = +(n.sentAt - c.sentAt).toFixed(3);
      n.sock.end();
      await sleep(20);
      n.destroy();
    }
    log(r);
  });
  await Promise.all(jobs);
  for (let i = 0; i < answerClose; i++) {
    const c = new Conn(`answers-close-${i}`);
    await c.ready;
    const localPort = c.localPort;
    c.send(requestBytes('GET', '/cart/7', ''));
    await c.waitResponses(1, 2000);
    const idleFrom = c.responses[0].at;
    await c.waitEnd(nominalIdle * 2 + 2000);
    const endAt = c.endAt;
    await sleep(20);
    c.sock.end(); // our close_notify and FIN: a well-behaved client closing a connection the server closed
    await sleep(50);
    log({ role: 'answers-close', port: localPort, endAtIdleMs: endAt === null ? null : +(endAt - idleFrom).toFixed(3),
      closedAfterEndMs: endAt === null ? null : 20, error: c.error });
    c.destroy();
  }
  return 0;
}

const run = { crossing, stale }[mode];
if (!run) { console.error('unknown --mode ' + mode); process.exit(2); }
const guard = setTimeout(() => { console.error('race client: time bound reached'); process.exit(4); }, 50000);
run().then((code) => { clearTimeout(guard); process.exit(code); }, (e) => { console.error(e); process.exit(1); });
