'use strict';
// A plain Node http server for the connection-reuse / timeout samples.
// Usage: node b-http-server.js --host H --port P [--keep-alive-timeout MS]
//          [--keep-alive-header "timeout=5"]   (a Keep-Alive header of our own: Node then
//                                              stops deriving it from keepAliveTimeout)
// Paths:  /hang...         never answered (the request is read, the server just never responds)
//         /close...        answered with "Connection: close" (Node then closes after the response)
//         /slow?ms=N       answered after N ms
//         anything else    answered at once (200; POST bodies are read first, 201)
// Every request is logged to stderr as one JSON line (time, client port, method, url).
const http = require('http');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const host = arg('--host', '127.0.0.1');
const port = Number(arg('--port', '8080'));
const keepAliveTimeout = Number(arg('--keep-alive-timeout', '5000'));
const keepAliveHeader = arg('--keep-alive-header', '');

const server = http.createServer((req, res) => {
  const t0 = Date.now();
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    process.stderr.write(JSON.stringify({ t: t0, port: req.socket.remotePort, method: req.method,
      url: req.url, bodyBytes: body.length }) + '\n');
    if (req.url.startsWith('/hang')) return; // a hung handler: never answers
    const reply = () => {
      const text = JSON.stringify({ ok: true, method: req.method, url: req.url, got: body.length }) + '\n';
      const headers = { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) };
      if (req.url.startsWith('/close')) headers.Connection = 'close';
      else if (keepAliveHeader) headers['Keep-Alive'] = keepAliveHeader;
      res.writeHead(req.method === 'POST' ? 201 : 200, headers);
      res.end(text);
    };
    const slow = /^\/slow\?ms=(\d+)/.exec(req.url);
    if (slow) setTimeout(reply, Number(slow[1]));
    else reply();
  });
});
server.keepAliveTimeout = keepAliveTimeout;
server.listen(port, host, () => process.stderr.write(`listening ${host}:${port} keepAliveTimeout=${keepAliveTimeout}\n`));
const stop = () => process.exit(0);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
