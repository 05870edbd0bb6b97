'use strict';
// A keep-alive client (http.Agent, keepAlive, maxSockets 1) that fetches, one after
// the other on the same connection: three chunked responses (the third with a
// trailer), a HEAD, a conditional GET answered 304 and a DELETE answered 204.
// Then it destroys the agent (client FIN).
//
// Usage: node chunked-client.js --host 127.0.0.1 --port 8080
const http = require('node:http');

function parseArgs(argv) {
  const opts = { host: '127.0.0.1', port: 8080 };
  for (let i = 2; i < argv.length; i += 2) {
    const key = argv[i];
    const value = argv[i + 1];
    if (key === '--host') opts.host = value;
    else if (key === '--port') opts.port = Number(value);
    else throw new Error(`unknown option ${key}`);
  }
  return opts;
}

const STEPS = [
  { method: 'GET', path: '/stream/3' },
  { method: 'GET', path: '/stream/4' },
  { method: 'GET', path: '/stream-trailers' },
  { method: 'HEAD', path: '/items/1' },
  { method: 'GET', path: '/cached', headers: { 'If-None-Match': '"v1-cafe"' } },
  { method: 'DELETE', path: '/items/7' },
];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function send(agent, opts, step) {
  return new Promise((resolve, reject) => {
    const req = http.request({
      agent, host: opts.host, port: opts.port, method: step.method, path: step.path,
      headers: step.headers || {},
    }, (res) => {
      let size = 0;
      res.on('data', (chunk) => { size += chunk.length; });
      res.on('end', () => resolve({ status: res.statusCode, size, trailers: res.trailers }));
    });
    req.setTimeout(3000, () => req.destroy(new Error(`${step.method} ${step.path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

async function main() {
  const opts = parseArgs(process.argv);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  for (const step of STEPS) {
    const r = await send(agent, opts, step);
    process.stdout.write(`${step.method} ${step.path}: ${r.status}, ${r.size} body bytes, trailers ${JSON.stringify(r.trailers)}\n`);
    await sleep(100);
  }
  agent.destroy();
}

main().catch((err) => {
  process.stderr.write(`chunked-client: ${err.message}\n`);
  process.exit(1);
});
