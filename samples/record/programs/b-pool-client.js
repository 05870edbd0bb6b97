'use strict';
// Node http clients with connection pools (http.Agent), for the timeout samples.
// Usage: node b-pool-client.js --host H --port P --mode M --log FILE [options]
//   --mode reuse-gaps: --pools N independent Agents {keepAlive, maxSockets 1, timeout 5000
//       (like Node's global agent)} in parallel; each sends GET requests with pauses of
//       --gaps (ms, comma list) between them, then lets its connection idle (--final-idle ms)
//       so the server's idle timeout closes it.
//   --mode churn: one Agent {keepAlive: false, maxSockets: 4}: --count sequential GETs,
//       --interval ms apart. A finite maxSockets makes Node send "Connection: keep-alive",
//       yet the agent destroys every socket after its response: one connection per request.
//   --mode timeouts: requests with the http.request timeout option (--timeout ms); on
//       'timeout' the request is destroyed. --plan is a comma list of paths, each prefixed
//       "n:" (new connection: agent keepAlive false) or "r:" (reuse the keep-alive agent's
//       connection), e.g. "n:/hang/1,r:/fast,r:/hang/2".
// Every request is logged to --log as one JSON line (local port, reused, status or error).
const http = require('http');
const fs = require('fs');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const host = arg('--host', '127.0.0.1');
const port = Number(arg('--port', '8080'));
const mode = arg('--mode', 'reuse-gaps');
const logFile = arg('--log', '/dev/stdout');
const t0 = process.hrtime.bigint();
const now = () => Number(process.hrtime.bigint() - t0) / 1e6;
const log = (o) => fs.appendFileSync(logFile, JSON.stringify(o) + '\n');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// One GET; resolves with what the application saw.
function get(agent, path, timeoutMs) {
  return new Promise((resolve) => {
    const started = now();
    const opts = { host, port, path, agent };
    if (timeoutMs) opts.timeout = timeoutMs;
    const req = http.request(opts, (res) => {
      const localPort = res.socket.localPort;
      res.resume();
      res.on('end', () => resolve({ path, localPort, reused: req.reusedSocket, status: res.statusCode,
        keepAlive: res.headers['keep-alive'] || null, ms: +(now() - started).toFixed(1) }));
    });
    let localPort = null;
    req.on('socket', (s) => { if (s.localPort) localPort = s.localPort; else s.once('connect', () => { localPort = s.localPort; }); });
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('error', (e) => resolve({ path, localPort, reused: req.reusedSocket, error: e.message,
      ms: +(now() - started).toFixed(1) }));
    req.end();
  });
}

async function reuseGaps() {
  const pools = Number(arg('--pools', '4'));
  const gaps = arg('--gaps', '300,1200,1600,1900').split(',').map(Number);
  const finalIdle = Number(arg('--final-idle', '3000'));
  await Promise.all(Array.from({ length: pools }, async (_, p) => {
    await sleep(p * 70); // stagger the pools a little
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1, timeout: 5000 });
    let closedAt = null;
    let sock = null;
    for (let i = 0; i <= gaps.length; i++) {
      const r = await get(agent, `/pool${p}/item/${i}`);
      log({ pool: p, ...r, gapBeforeMs: i ? gaps[i - 1] : null });
      if (!sock) {
        const free = agent.freeSockets[Object.keys(agent.freeSockets)[0]];
        sock = free && free[0];
        if (sock) sock.once('close', () => { closedAt = now(); });
      }
      if (i < gaps.length) await sleep(gaps[i]);
    }
    const idleFrom = now();
    const deadline = idleFrom + finalIdle;
    while (closedAt === null && now() < deadline) await sleep(20);
    log({ pool: p, closedBy: closedAt === null ? 'nobody (bound reached)' : 'server idle timeout',
      closedAfterIdleMs: closedAt === null ? null : +(closedAt - idleFrom).toFixed(1) });
    agent.destroy();
  }));
}

async function churn() {
  const count = Number(arg('--count', '30'));
  const interval = Number(arg('--interval', '20'));
  const agent = new http.Agent({ keepAlive: false, maxSockets: 4 });
  for (let i = 0; i < count; i++) {
    log(await get(agent, `/churn/${i}`));
    await sleep(interval);
  }
}

async function timeouts() {
  const timeoutMs = Number(arg('--timeout', '1500'));
  const plan = arg('--plan', 'n:/hang/1').split(',');
  const fresh = new http.Agent({ keepAlive: false });
  const pooled = new http.Agent({ keepAlive: true, maxSockets: 1 });
  for (const step of plan) {
    const [kind, path] = step.split(':');
    const r = await get(kind === 'r' ? pooled : fresh, path, timeoutMs);
    log({ step, ...r });
    await sleep(100);
  }
  pooled.destroy();
}

const run = { 'reuse-gaps': reuseGaps, churn, timeouts }[mode];
if (!run) { console.error('unknown --mode ' + mode); process.exit(2); }
const guard = setTimeout(() => { console.error('pool client: time bound reached'); process.exit(4); }, 50000);
run().then(() => { clearTimeout(guard); process.exit(0); }, (e) => { console.error(e); process.exit(1); });
