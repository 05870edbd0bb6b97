'use strict';
// A Node http server for the handshake/reset recorders and their silent traps.
//
// Usage: node c-node-server.js [--port 8080] [--keep-alive-timeout MS] [--body BYTES]
//                              [--lifetime S]
// Every request is answered 200 with a body of --body bytes (default: a short text);
// GET /size/N answers N bytes. keepAliveTimeout is Node's idle timeout for
// kept-alive connections (its default is 5000 ms).
const http = require('node:http');

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? Number(process.argv[i + 1]) : fallback;
}

const port = option('port', 8080);
const defaultBody = option('body', 0);
const lifetime = option('lifetime', 30);

const server = http.createServer((req, res) => {
  req.resume(); // read (and drop) any request body
  req.on('end', () => {
    const m = /^\/size\/(\d+)/.exec(req.url || '');
    const size = m ? Number(m[1]) : defaultBody;
    const body = size > 0 ? Buffer.alloc(size, 0x2e) : Buffer.from(`ok ${req.method} ${req.url}\n`);
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
    res.end(body);
  });
});
server.keepAliveTimeout = option('keep-alive-timeout', 5000);
server.listen(port, '127.0.0.1');
// A bound on a forgotten process; unref'd so it never keeps the process alive itself.
setTimeout(() => process.exit(0), lifetime * 1000).unref();
setTimeout(() => server.close(), lifetime * 1000);
