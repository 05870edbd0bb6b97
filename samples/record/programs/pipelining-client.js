'use strict';
// A raw TCP client that pipelines HTTP/1.1 requests: it writes all of them in ONE
// socket.write (so they leave in one segment), reads the responses the server sends
// back in order (each has a Content-Length), then closes with a FIN.
//
// Usage: node pipelining-client.js --host 127.0.0.1 --port 8080 [--requests 5]
const net = require('node:net');

function parseArgs(argv) {
  const opts = { host: '127.0.0.1', port: 8080, requests: 5 };
  for (let i = 2; i < argv.length; i += 2) {
    const key = argv[i];
    const value = argv[i + 1];
    if (key === '--host') opts.host = value;
    else if (key === '--port') opts.port = Number(value);
    else if (key === '--requests') opts.requests = Number(value);
    else throw new Error(`unknown option ${key}`);
  }
  return opts;
}

const opts = parseArgs(process.argv);
let requests = '';
for (let n = 1; n <= opts.requests; n += 1) {
  requests += `GET /items/${n} HTTP/1.1\r\nHost: ${opts.host}:${opts.port}\r\nAccept: application/json\r\n\r\n`;
}

let buffered = Buffer.alloc(0);
let responses = 0;
const socket = net.connect({ host: opts.host, port: opts.port }, () => {
  socket.write(requests);
});
const timer = setTimeout(() => {
  process.stderr.write(`pipelining-client: only ${responses} responses after 3 s\n`);
  socket.destroy();
  process.exitCode = 1;
}, 3000);

// Consume every complete response (status line + headers + Content-Length body).
socket.on('data', (chunk) => {
  buffered = Buffer.concat([buffered, chunk]);
  for (;;) {
    const headEnd = buffered.indexOf('\r\n\r\n');
    if (headEnd < 0) break;
    const head = buffered.subarray(0, headEnd).toString('latin1');
    const match = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    const bodyLength = match ? Number(match[1]) : 0;
    if (buffered.length < headEnd + 4 + bodyLength) break;
    responses += 1;
    process.stdout.write(`response ${responses}: ${head.split('\r\n')[0]}\n`);
    buffered = buffered.subarray(headEnd + 4 + bodyLength);
  }
  if (responses === opts.requests) {
    clearTimeout(timer);
    socket.end();
  }
});
socket.on('error', (err) => {
  process.stderr.write(`pipelining-client: ${err.message}\n`);
  process.exitCode = 1;
});
