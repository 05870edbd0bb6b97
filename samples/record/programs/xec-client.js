// expect-continue-rejected: Node's http client sending uploads with `Expect: 100-continue` on one
// keep-alive agent (maxSockets 1), one request after another. It sends the body on 'continue'; on
// a final response first it withholds the body (req.end() with nothing: the announced Content-Length
// never comes) and the agent goes on with the next request on the same connection unless the
// response said close; with --anyway it sends the body after the refusal instead (RFC 9110 §10.1.1
// allows both). `GET /x` entries are plain GETs.
// Logs one JSON line per request. Usage: node xec-client.js PORT LANE [--anyway] PATH...
'use strict';
const http = require('node:http');
const args = process.argv.slice(2);
const port = Number(args[0]);
const lane = args[1];
const anyway = args.includes('--anyway');
const paths = args.slice(2).filter((a) => a !== '--anyway');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const body = Buffer.alloc(3000, 'u');
const log = (o) => console.log(JSON.stringify({ t: Number((Date.now() / 1000).toFixed(6)), lane, ...o }));

function one(spec) {
  return new Promise((resolve) => {
    const get = spec.startsWith('GET ');
    const path = get ? spec.slice(4) : spec;
    const req = http.request({
      host: '127.0.0.1', port, path, method: get ? 'GET' : 'POST', agent,
      headers: get ? {} : { 'Content-Length': body.length, Expect: '100-continue' },
    });
    let bodySent = 0;
    let continued = false;
    const timer = setTimeout(() => req.destroy(new Error('timeout')), 5000);
    req.on('continue', () => { continued = true; bodySent = body.length; req.end(body); });
    req.on('response', (res) => {
      if (!get && !continued) {
        if (anyway) { bodySent = body.length; req.end(body); } else req.end();
      }
      let n = 0;
      res.on('data', (d) => (n += d.length));
      res.on('end', () => {
        clearTimeout(timer);
        log({ method: get ? 'GET' : 'POST', path, status: res.statusCode, port: req.socket.localPort, continued, bodySent, connection: res.headers.connection ?? null, responseBytes: n });
        resolve();
      });
    });
    req.on('error', (e) => { clearTimeout(timer); log({ method: get ? 'GET' : 'POST', path, error: e.code ?? e.message, bodySent }); resolve(); });
    if (get) req.end();
  });
}

(async () => {
  for (const p of paths) await one(p);
  agent.destroy();
})();
