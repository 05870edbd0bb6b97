'use strict';
// A keep-alive HTTP client built on http.Agent({ keepAlive: true, maxSockets }).
// It sends its requests in batches of `maxSockets` concurrent requests, so every
// pooled connection is used and reused, with short pauses between batches (far
// below the server's 5 s keepAliveTimeout, so the server never closes an idle
// connection the client could still reuse). At the end it destroys the agent: the
// client closes every pooled connection with a FIN (a clean, client-initiated close).
//
// Usage: node keepalive-agent-client.js --host 127.0.0.1 --port 8080
//          [--requests 12] [--max-sockets 2] [--pauses 50,300,100,400,200]
//          [--ready-file F --go-file G]   (midstream recordings: after the first batch,
//                                          create F, then wait for G before going on)
const http = require('node:http');
const fs = require('node:fs');

function parseArgs(argv) {
  const opts = {
    host: '127.0.0.1', port: 8080, requests: 12, maxSockets: 2,
    pauses: [50, 300, 100, 400, 200], readyFile: '', goFile: '',
  };
  for (let i = 2; i < argv.length; i += 2) {
    const key = argv[i];
    const value = argv[i + 1];
    if (key === '--host') opts.host = value;
    else if (key === '--port') opts.port = Number(value);
    else if (key === '--requests') opts.requests = Number(value);
    else if (key === '--max-sockets') opts.maxSockets = Number(value);
    else if (key === '--pauses') opts.pauses = value.split(',').map(Number);
    else if (key === '--ready-file') opts.readyFile = value;
    else if (key === '--go-file') opts.goFile = value;
    else throw new Error(`unknown option ${key}`);
  }
  return opts;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Every third request is a POST with a small JSON body; the others are GETs.
function send(agent, opts, n) {
  const isPost = n % 3 === 2;
  const body = isPost ? Buffer.from(JSON.stringify({ n, note: 'small json body' })) : null;
  return new Promise((resolve, reject) => {
    const req = http.request({
      agent, host: opts.host, port: opts.port,
      method: isPost ? 'POST' : 'GET',
      path: isPost ? '/items' : `/items/${n}`,
      headers: body ? { 'Content-Type': 'application/json', 'Content-Length': body.length } : {},
    }, (res) => {
      let size = 0;
      res.on('data', (chunk) => { size += chunk.length; });
      res.on('end', () => resolve({ n, status: res.statusCode, size, port: req.socket.localPort }));
    });
    req.setTimeout(3000, () => req.destroy(new Error(`request ${n} timed out`)));
    req.on('error', reject);
    req.end(body || undefined);
  });
}

async function waitForFile(path, limitMs) {
  const deadline = Date.now() + limitMs;
  while (!fs.existsSync(path)) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${path}`);
    await sleep(20);
  }
}

async function main() {
  const opts = parseArgs(process.argv);
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.maxSockets });
  let n = 0;
  let batch = 0;
  while (n < opts.requests) {
    const size = Math.min(opts.maxSockets, opts.requests - n);
    const pending = [];
    for (let k = 0; k < size; k += 1) pending.push(send(agent, opts, (n += 1)));
    for (const r of await Promise.all(pending)) {
      process.stdout.write(`request ${r.n}: ${r.status} (${r.size} bytes) from port ${r.port}\n`);
    }
    if (batch === 0 && opts.readyFile) {
      fs.writeFileSync(opts.readyFile, 'ready\n');
      await waitForFile(opts.goFile, 10000);
    }
    if (n < opts.requests) await sleep(opts.pauses[batch % opts.pauses.length]);
    batch += 1;
  }
  agent.destroy();
}

main().catch((err) => {
  process.stderr.write(`keepalive-agent-client: ${err.message}\n`);
  process.exit(1);
});
