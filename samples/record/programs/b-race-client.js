'use strict';
// A raw `net` HTTP/1.1 client that behaves like a connection pool with a bug, to provoke
// keep-alive races against a real server (node http, python http.server, nginx).
//
// Usage: node b-race-client.js --host H --port P --log FILE --mode crossing|stale|close-notice
//   crossing: round 0 opens two probe connections that just idle until the server's FIN to
//     measure T_c, the client-side idle time at which the FIN arrives; race connections
//     then send their next request at idle T_c - eps for eps in --eps (ms), i.e. just
//     before the FIN reaches the client: with latency on the path the request and the FIN
//     cross. Rounds repeat (at most --max-rounds) until a GET and a POST have crossed.
//   stale: like a pool that ignores 'end': after the server's FIN arrived the connection
//     is handed out --stale-delays ms later (one connection per delay, alternating GET and
//     POST); when it fails, the same request is retried at once on a new connection.
//   close-notice: the first response says "Connection: close"; the client sends another
//     request on the same connection anyway, --close-delays ms after the response (0 =
//     as soon as the response is read, -1 = after the FIN arrived, plus 30 ms).
// Each connection is logged to --log as one JSON line: local port, what was done and seen.
const net = require('net');
const fs = require('fs');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const host = arg('--host', '127.0.0.1');
const port = Number(arg('--port', '8080'));
const mode = arg('--mode', 'crossing');
const logFile = arg('--log', '/dev/stdout');
const nominalIdle = Number(arg('--nominal-idle-ms', '3000'));
const epsList = arg('--eps', '3,5,7,9').split(',').map(Number);
const maxRounds = Number(arg('--max-rounds', '4'));
const staleDelays = arg('--stale-delays', '25,50').split(',').map(Number);
const closeDelays = arg('--close-delays', '0,-1').split(',').map(Number);
const hostHeader = `${host}:${port}`;

const t0 = process.hrtime.bigint();
const now = () => Number(process.hrtime.bigint() - t0) / 1e6; // ms since start
const log = (o) => fs.appendFileSync(logFile, JSON.stringify(o) + '\n');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function requestBytes(method, path, body) {
  const head = `${method} ${path} HTTP/1.1\r\nHost: ${hostHeader}\r\nUser-Agent: cc-race-client\r\n`;
  if (method === 'POST') {
    return Buffer.from(head + `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  }
  return Buffer.from(head + '\r\n');
}

// One connection with a tiny response reader (Content-Length framing is all the servers use).
class Conn {
  constructor(name) {
    this.name = name;
    this.buf = Buffer.alloc(0);
    this.responses = [];
    this.waiter = null;
    this.endAt = null;
    this.closedAt = null;
    this.error = null;
    this.sock = net.connect({ host, port, allowHalfOpen: true });
    this.ready = new Promise((res, rej) => { this.sock.once('connect', res); this.sock.once('error', rej); });
    this.sock.on('data', (d) => this.onData(d));
    this.sock.on('end', () => { this.endAt = now(); this.wake(); });
    this.sock.on('error', (e) => { this.error = e.code; this.wake(); });
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
      const status = Number(head.split(' ')[1]);
      const close = /\r\nconnection:\s*close/i.test(head);
      this.responses.push({ status, close, at: now() });
      this.buf = this.buf.subarray(h + 4 + len);
      this.wake();
    }
  }
  // Resolves when n responses have arrived, or the connection ended/failed, or after maxMs.
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
  send(buf) { this.sentAt = now(); this.sock.write(buf); }
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
  c.destroy(); // after the server's FIN: our FIN completes the close
  log({ role: 'probe', port: localPort, idleToFinMs: idle === null ? null : +idle.toFixed(3) });
  return idle;
}

// A race attempt: one exchange, then the next request at idle (target) ms after the response.
async function raceOnce(name, method, target, eps, startDelay) {
  await sleep(startDelay);
  const c = new Conn(name);
  await c.ready;
  const localPort = c.localPort;
  // A distinct URI per attempt: the same request on a later connection would look like a
  // retry (retried-request), which these attempts are not.
  const path = method === 'POST' ? `/orders?attempt=${name}` : `/items/${name}`;
  c.send(requestBytes(method, path, BODY));
  await c.waitResponses(1, 2000);
  const idleFrom = c.responses[0].at;
  await sleep(Math.max(0, idleFrom + target - now()));
  const endBeforeSend = c.endAt !== null;
  c.send(requestBytes(method, path, BODY));
  const sentIdle = c.sentAt - idleFrom;
  const answered = await c.waitResponses(2, 1500);
  await sleep(60); // let the server's RST arrive (Node only notices it on its next syscall)
  let outcome;
  if (answered) outcome = 'response';
  else if (c.error) outcome = c.error;
  else if (c.endAt !== null) outcome = 'ECONNRESET (socket hang up: FIN, no response)';
  else outcome = 'no-response';
  const r = { role: 'race', port: localPort, method, path, epsMs: eps, targetIdleMs: target,
    sentAtIdleMs: +sentIdle.toFixed(3), finSeenBeforeSend: endBeforeSend,
    finSeenAtIdleMs: c.endAt !== null ? +(c.endAt - idleFrom).toFixed(3) : null, outcome };
  if (answered) { c.sock.end(); await sleep(20); }
  c.destroy();
  log(r);
  return r;
}

async function crossing() {
  // Round 0 only measures T_c, the idle time at which the FIN reaches the client (it is
  // not the server's timeout: latency, and servers that send the body in a second
  // segment held back by Nagle, shift it).
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
        jobs.push(raceOnce(`r${round}-${method.toLowerCase()}-${eps}`, method, target - eps, eps,
          (i * 2 + (method === 'POST' ? 1 : 0)) * 45));
      }
    });
    const results = await Promise.all(jobs);
    for (const r of results) {
      if (!r.finSeenBeforeSend && r.outcome !== 'response') {
        if (r.method === 'GET') gotGet = true; else gotPost = true;
      }
    }
    log({ role: 'round', round, gotGet, gotPost });
  }
  return gotGet && gotPost ? 0 : 3;
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
    const finAt = c.endAt;
    await sleep(delay); // the pool hands the dead connection out anyway
    c.send(requestBytes(method, path, BODY));
    await sleep(10); // a response (or the reset) would be here by now on this path
    const answered = await c.waitResponses(2, 300);
    const r = { role: 'stale', port: c.localPort, method, path, staleDelayMs: delay,
      finAtIdleMs: finAt === null ? null : +(finAt - idleFrom).toFixed(3),
      sentAfterFinMs: finAt === null ? null : +(c.sentAt - finAt).toFixed(3),
      outcome: answered ? 'response' : 'ECONNRESET (socket hang up: no response on a closed connection)' };
    c.destroy();
    if (!answered) {
      // The retry a client library does after ECONNRESET on a reused connection.
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
  return 0;
}

async function closeNotice() {
  for (const [i, delay] of closeDelays.entries()) {
    const c = new Conn(`close-${delay}`);
    await c.ready;
    const localPort = c.localPort;
    c.send(requestBytes('GET', `/close/report?n=${i + 1}`, ''));
    await c.waitResponses(1, 2000);
    const first = c.responses[0];
    let finBeforeSecond;
    if (delay < 0) { await c.waitEnd(2000); await sleep(30); } else if (delay > 0) await sleep(delay);
    finBeforeSecond = c.endAt !== null;
    c.send(requestBytes('GET', `/next?n=${i + 1}`, ''));
    const answered = await c.waitResponses(2, 500);
    log({ role: 'close-notice', port: localPort, firstStatus: first.status, firstSaidClose: first.close,
      secondSentAfterResponseMs: +(c.sentAt - first.at).toFixed(3), finSeenBeforeSecond: finBeforeSecond,
      outcome: answered ? 'response' : (c.error || 'no response (closed)') });
    c.destroy();
    await sleep(100);
  }
  // A well-behaved client honours "Connection: close": a new connection for the next request.
  const w = new Conn('honours-close');
  await w.ready;
  const wPort = w.localPort;
  w.send(requestBytes('GET', '/close/report?n=ok', ''));
  await w.waitResponses(1, 2000);
  await w.waitEnd(2000);
  w.sock.end();
  await sleep(20);
  const n = new Conn('next-after-close');
  await n.ready;
  const nPort = n.localPort;
  n.send(requestBytes('GET', '/next?n=ok', ''));
  await n.waitResponses(1, 2000);
  n.sock.end();
  await sleep(30);
  log({ role: 'honours-close', port: wPort, nextPort: nPort });
  w.destroy();
  n.destroy();
  return 0;
}

const run = { crossing, stale, 'close-notice': closeNotice }[mode];
if (!run) { console.error('unknown --mode ' + mode); process.exit(2); }
const guard = setTimeout(() => { console.error('race client: time bound reached'); process.exit(4); }, 50000);
run().then((code) => { clearTimeout(guard); process.exit(code); },
  (e) => { console.error(e); process.exit(1); });
