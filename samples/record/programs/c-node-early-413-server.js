// A Node http server that refuses large uploads early: a request announcing a body over --max-body
// bytes is answered 413 (Connection: close) without reading the body, as an upload size check in a
// handler does. Node then closes the connection itself: end() sends its FIN (the receive window
// already full of the unread upload) and the socket is destroyed right behind it, whose close()
// finds the upload unread, so the kernel sends RST. Smaller bodies are read and answered 200. An
// upload that asks `Expect: 100-continue` is refused with 413 before its body is sent.
// Usage: node c-node-early-413-server.js --port 8080 --max-body 1024 --lifetime 20
'use strict';
const http = require('node:http');

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const maxBody = Number(arg('max-body', '1024'));
const stamp = () => (Date.now() / 1000).toFixed(6);
const tooBig = (req) => Number(req.headers['content-length'] ?? 0) > maxBody;

const server = http.createServer((req, res) => {
  if (tooBig(req)) {
    console.log(`${stamp()} ${req.socket.remotePort} ${req.method} ${req.url} 413 (announced ${req.headers['content-length']} bytes, not read)`);
    res.writeHead(413, { Connection: 'close', 'Content-Type': 'text/plain' });
    res.end('too big\n');
    return;
  }
  let n = 0;
  req.on('data', (d) => (n += d.length));
  req.on('end', () => {
    console.log(`${stamp()} ${req.socket.remotePort} ${req.method} ${req.url} 200 (read ${n} bytes)`);
    res.end(`got ${n}\n`);
  });
});
server.on('checkContinue', (req, res) => {
  if (tooBig(req)) {
    console.log(`${stamp()} ${req.socket.remotePort} ${req.method} ${req.url} 413 before 100-continue`);
    res.writeHead(413, { Connection: 'close', 'Content-Type': 'text/plain' });
    res.end('too big\n');
    return;
  }
  res.writeContinue();
  server.emit('request', req, res);
});
server.listen(Number(arg('port', '8080')), '127.0.0.1', () => console.log(`${stamp()} listening`));
setTimeout(() => process.exit(0), Number(arg('lifetime', '20')) * 1000).unref();
