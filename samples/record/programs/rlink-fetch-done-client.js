'use strict';
// One Node fetch (undici) process for idle-timeout-mismatch-fetch-closes-when-done: a warm GET at
// the start moment; with --busy-ms, a GET answered after 50 ms (/slow?ms=50) while the process
// does synchronous work from 10 ms after sending it until BUSY ms after (a busy event loop); then
// ROUNDS requests SPACE ms apart (GET and POST alternating). The server's `Keep-Alive: timeout=2` less
// undici's keepAliveTimeoutThreshold (2 s by default) leaves nothing: undici closes each
// connection once its response is read, when its event loop gets to it (for the busy one, after
// the busy work: about BUSY - 50 ms after the response arrived). Each request is logged to --log as one
// JSON line.
//
// Usage: node rlink-fetch-done-client.js --name N --url http://H:P --start-epoch-ms T --busy-ms BUSY
//          --rounds R --space-ms S --log FILE
const fs = require('fs');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const name = arg('--name', 'f');
const base = arg('--url', 'http://127.0.0.1:8080');
const startAt = Number(arg('--start-epoch-ms', String(Date.now() + 200)));
const busyMs = Number(arg('--busy-ms', '0'));
const rounds = Math.min(Number(arg('--rounds', '3')), 10);
const spaceMs = Number(arg('--space-ms', '500'));
const logFile = arg('--log', '/dev/stdout');
const log = (o) => fs.appendFileSync(logFile, JSON.stringify({ name, at: Date.now() / 1000, ...o }) + '\n');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function call(method, path) {
  const init = method === 'POST' ? { method, body: '{"n":1}', headers: { 'Content-Type': 'application/json' } } : { method };
  try {
    const res = await fetch(base + path, init);
    const text = await res.text();
    return { method, path, status: res.status, keepAlive: res.headers.get('keep-alive'), bytes: text.length };
  } catch (e) {
    return { method, path, error: e.message, code: e.cause?.code ?? null };
  }
}

async function main() {
  await sleep(Math.max(0, startAt - Date.now()));
  log({ step: 'warm', ...(await call('GET', '/warm')) });
  if (busyMs > 0) {
    const sentAt = Date.now();
    const slow = call('GET', '/slow?ms=50');
    await sleep(10); // the request goes out
    const until = sentAt + busyMs;
    while (Date.now() < until) { /* busy: the response arrives meanwhile */ }
    log({ step: 'busy', busyMs, ...(await slow) });
  }
  for (let i = 0; i < rounds; i++) {
    await sleep(spaceMs);
    log({ step: `round ${i}`, ...(await call(i % 2 === 0 ? 'GET' : 'POST', `/r${i}`)) });
  }
}

main().catch((e) => { log({ step: 'crash', error: String(e) }); process.exit(1); });
