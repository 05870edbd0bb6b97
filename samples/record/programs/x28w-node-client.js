'use strict';
// A WebSocket client written by hand on net (programs/x28w-ws.js: masked frames), running one
// scripted session per --plan. Usage:
//   node x28w-node-client.js --url ws://H:P/path --log FILE --tag T --plan STEPS [--max-seconds S]
// STEPS, comma separated, run in order:
//   text:N        send a text message of N bytes, wait for its echo
//   bin:N         send a binary message of N bytes, wait for its echo
//   ping          send a ping, wait for the pong
//   sleep:MS      stay silent MS ms (no ping)
//   pingevery:MS:N  send a ping every MS ms, N times (each waits for its pong)
//   close:CODE    start the closing handshake (close frame CODE), wait for the server's close frame
//                 and for its FIN, then end the connection
//   srvclose:CODE ask the server to close ("close-please:CODE"), answer its close frame, wait for its FIN
//   wait:MS       wait up to MS ms for the connection to end by itself (a proxy's timeout)
// Every event is one JSON line in --log: {t, tag, event, localPort, ...}; at the end one line
// {event: 'end', code (1000..., or 1006 when the TCP connection ended without a close frame), ...}.
const net = require('net');
const crypto = require('crypto');
const fs = require('fs');
const ws = require('./x28w-ws');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const url = new URL(arg('--url', 'ws://127.0.0.1:9001/ws'));
const tag = arg('--tag', 'n');
const plan = arg('--plan', 'text:20,close:1000').split(',');
const maxSeconds = Number(arg('--max-seconds', '60'));
const out = fs.openSync(arg('--log', '/dev/stderr'), 'a');
let localPort = null;
const log = (ev) => fs.writeSync(out, JSON.stringify({ t: Date.now() / 1000, tag, localPort, ...ev }) + '\n');

const sock = net.connect({ host: url.hostname, port: Number(url.port) });
sock.setNoDelay(true);
let upgraded = false;
let headBuf = Buffer.alloc(0);
let waiter = null; // {want: op name, resolve}
let closeCode = null;
let closeFrameIn = false;
let ended = false;
let endedResolve = null;
const endedP = new Promise((r) => { endedResolve = r; });
const key = crypto.randomBytes(16).toString('base64');

const parser = new ws.Parser((f) => {
  const ev = { event: 'frame-in', op: f.name, bytes: f.payload.length, masked: f.masked };
  if (f.opcode === ws.OP.close) {
    closeFrameIn = true;
    ev.code = f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005;
  }
  log(ev);
  if (f.opcode === ws.OP.ping) sock.write(ws.encode(ws.OP.pong, f.payload, true));
  if (waiter && (waiter.want === f.name)) { const w = waiter; waiter = null; w.resolve(f); }
});

sock.on('connect', () => {
  localPort = sock.localPort;
  log({ event: 'connected', remote: `${url.hostname}:${url.port}` });
  sock.write(`GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nUser-Agent: x28w-node-client\r\n\r\n`);
});
sock.on('data', (c) => {
  if (upgraded) return parser.feed(c);
  headBuf = Buffer.concat([headBuf, c]);
  const i = headBuf.indexOf('\r\n\r\n');
  if (i < 0) return;
  const head = headBuf.subarray(0, i).toString();
  const status = Number(head.split(' ')[1]);
  const accept = /sec-websocket-accept:\s*(\S+)/i.exec(head);
  const ok = status === 101 && accept && accept[1] === ws.acceptFor(key);
  log({ event: 'handshake', status, acceptOk: !!ok });
  if (!ok) { sock.destroy(); return; }
  upgraded = true;
  if (waiter && waiter.want === 'open') { const w = waiter; waiter = null; w.resolve(); }
  const rest = headBuf.subarray(i + 4);
  if (rest.length) parser.feed(rest);
});
sock.on('end', () => {
  log({ event: 'tcp-end', closeFrameIn });
  sock.end();
});
sock.on('close', () => {
  ended = true;
  const code = closeCode !== null ? closeCode : (closeFrameIn ? 1005 : 1006);
  log({ event: 'end', code, clean: closeFrameIn });
  endedResolve();
  if (waiter) { const w = waiter; waiter = null; w.resolve(null); }
});
sock.on('error', (e) => log({ event: 'error', error: e.code || String(e) }));

const expect = (want, ms) => new Promise((resolve) => {
  waiter = { want, resolve };
  setTimeout(() => { if (waiter && waiter.resolve === resolve) { waiter = null; resolve(null); } }, ms);
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const send = (op, payload) => {
  if (ended) return false;
  sock.write(ws.encode(op, payload, true));
  const ev = { event: 'frame-out', op: ws.OPNAME[op], bytes: payload.length };
  if (op === ws.OP.close) ev.code = payload.readUInt16BE(0);
  log(ev);
  return true;
};
const msg = (n, seq) => {
  const s = `${tag}#${seq} `;
  return (s + 'x'.repeat(Math.max(0, n - s.length))).slice(0, Math.max(n, s.length));
};

async function run() {
  const opened = upgraded ? Promise.resolve() : new Promise((resolve) => { waiter = { want: 'open', resolve }; });
  await opened;
  if (!upgraded) return;
  let seq = 0;
  for (const step of plan) {
    if (ended) break;
    const [what, a, b] = step.split(':');
    seq++;
    if (what === 'text') {
      send(ws.OP.text, Buffer.from(msg(Number(a), seq)));
      const f = await expect('text', 5000);
      log({ event: 'echo', ok: !!f });
    } else if (what === 'bin') {
      const payload = crypto.randomBytes(Number(a));
      send(ws.OP.binary, payload);
      const f = await expect('binary', 5000);
      log({ event: 'echo', ok: !!f && f.payload.equals(payload) });
    } else if (what === 'ping') {
      send(ws.OP.ping, Buffer.from(`p${seq}`));
      const f = await expect('pong', 5000);
      log({ event: 'pong', ok: !!f });
    } else if (what === 'pingevery') {
      for (let i = 0; i < Number(b) && !ended; i++) {
        await sleep(Number(a));
        send(ws.OP.ping, Buffer.from(`k${i}`));
        const f = await expect('pong', 5000);
        log({ event: 'pong', ok: !!f });
      }
    } else if (what === 'sleep') {
      log({ event: 'idle', ms: Number(a) });
      await sleep(Number(a));
    } else if (what === 'close') {
      closeCode = Number(a);
      send(ws.OP.close, ws.closePayload(closeCode, 'bye'));
      await expect('close', 5000);
      await Promise.race([endedP, sleep(5000)]);
    } else if (what === 'srvclose') {
      send(ws.OP.text, Buffer.from(`close-please:${a}`));
      const f = await expect('close', 5000);
      if (f) {
        closeCode = f.payload.readUInt16BE(0);
        send(ws.OP.close, ws.closePayload(closeCode, ''));
      }
      await Promise.race([endedP, sleep(5000)]);
    } else if (what === 'wait') {
      log({ event: 'idle', ms: Number(a) });
      await Promise.race([endedP, sleep(Number(a))]);
    }
  }
  if (!ended) { log({ event: 'give-up' }); sock.end(); await Promise.race([endedP, sleep(3000)]); }
}

setTimeout(() => { log({ event: 'max-seconds' }); process.exit(3); }, maxSeconds * 1000).unref();
run().then(() => setTimeout(() => process.exit(0), 50));
