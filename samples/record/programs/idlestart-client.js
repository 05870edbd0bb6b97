'use strict';
// The client of the idle-timeout-drained-bodies samples: six lanes, each on its own keep-alive http.Agent,
// each a fixed script of small and 256 KB GETs; it reads a large body slowly (a 100 ms pause after
// each chunk), so the server's send buffer drains at its pace. Some pauses outlast the server's idle
// timeout (the server closes: after a small response and after a drained large one), the longest
// reuse is 2.4 s. At the end each lane sends one last request so that its connection has been idle
// 1.4-2.7 s when the process calls destroy() on every agent and exits (the pool closed at once).
// --stale N: also N raw connections that each read a large body slowly, then, ignoring the server's
// FIN, send another request 0.2 s after the server's timeout (a stale reuse: the server resets it).
// Usage: node idlestart-client.js --host H --port P --log FILE [--server-idle-ms MS] [--stale N]
const http = require('http');
const net = require('net');
const fs = require('fs');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const host = arg('--host', '127.0.0.1');
const port = Number(arg('--port', '8080'));
const logFile = arg('--log', '/dev/stdout');
const serverIdleMs = Number(arg('--server-idle-ms', '3300'));
const stale = Number(arg('--stale', '0'));
const log = (o) => fs.appendFileSync(logFile, JSON.stringify({ t: Date.now() / 1000, ...o }) + '\n');
/** The server's large body (256 KB) and the head before it, at least. */
const BIG = 256 * 1024;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// One pool per lane (one socket each), so that each connection's idle times are its lane's pauses.
const agents = Array.from({ length: 6 }, () => new http.Agent({ keepAlive: true, maxSockets: 1, maxFreeSockets: 1 }));

function get(path, lane) {
  return new Promise((resolve) => {
    const req = http.request({ host, port, path, agent: agents[lane] }, (res) => {
      let n = 0;
      res.on('data', (chunk) => {
        n += chunk.length;
        if (path === '/big') {
          res.pause();
          setTimeout(() => res.resume(), 100);
        }
      });
      res.on('end', () => {
        log({ lane, path, status: res.statusCode, bytes: n, lport: req.socket.localPort, reused: req.reusedSocket });
        resolve();
      });
    });
    req.on('error', (e) => {
      log({ lane, path, error: e.code ?? e.message });
      resolve();
    });
    req.end();
  });
}

// [path, pause after it (ms)]: the pauses over the server's timeout end with its close.
const idle = serverIdleMs + 300;
const SCRIPT = [
  ['/small', 50], ['/small', 200], ['/small', 2400], ['/small', 100], ['/big', idle], ['/small', 100],
  ['/small', idle], ['/small', 150], ['/small', 1200], ['/small', 60], ['/big', idle], ['/small', 80],
];
const FINAL_IDLE_MS = [1400, 1420, 1440, 1800, 2600, 2700];

async function lane(k) {
  await sleep(k * 170);
  for (const [path, pause] of SCRIPT) {
    await get(path, k);
    await sleep(pause);
  }
}

/** A raw connection that reads a large body slowly, then reuses the connection after the server closed it. */
function staleReuse(k) {
  return new Promise((resolve) => {
    const sock = net.connect(port, host);
    const request = `GET /big HTTP/1.1\r\nHost: ${host}:${port}\r\n\r\n`;
    let got = 0;
    let done = false;
    sock.on('connect', () => sock.write(request));
    sock.on('data', (chunk) => {
      got += chunk.length;
      if (!done && got >= BIG) {
        done = true;
        log({ stale: k, responseBytes: got, lport: sock.localPort });
        setTimeout(() => {
          sock.write(`GET /after-idle-${k} HTTP/1.1\r\nHost: ${host}:${port}\r\n\r\n`, () => log({ stale: k, reusedAfterMs: serverIdleMs + 200 }));
        }, serverIdleMs + 200);
        return;
      }
      sock.pause();
      setTimeout(() => sock.resume(), 100);
    });
    sock.on('end', () => log({ stale: k, event: 'server FIN' }));
    sock.on('error', (e) => {
      log({ stale: k, error: e.code });
      resolve();
    });
    sock.on('close', () => resolve());
    sock.allowHalfOpen = true;
  });
}

(async () => {
  const staleRuns = Array.from({ length: stale }, (_, k) => sleep(2000 + k * 900).then(() => staleReuse(k)));
  await Promise.all(Array.from({ length: 6 }, (_, k) => lane(k)));
  await Promise.all(staleRuns);
  // Each lane's last request so that its connection is FINAL_IDLE_MS[k] idle at the destroy.
  const end = Date.now() + 3000;
  await Promise.all(FINAL_IDLE_MS.map(async (age, k) => {
    await sleep(end - age - Date.now());
    await get('/small', k);
  }));
  await sleep(end - Date.now());
  log({ event: 'agent.destroy()' });
  for (const agent of agents) agent.destroy();
})();
