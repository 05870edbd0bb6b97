// Server for response-truncated-killed-mid-body: GET /small answers 200 with a short body;
// GET /big declares Content-Length 5 000 000 and writes 64 KiB every 50 ms (about 1.3 MB/s), so a
// download is still mid-body when the recorder kills this process with SIGKILL. Logs one JSON line
// per response start and end to argv[4] (ground truth for the meta).
'use strict';
const http = require('http');
const fs = require('fs');
const [host, port, logPath] = process.argv.slice(2);
const log = (o) => fs.appendFileSync(logPath, JSON.stringify({ t: Date.now() / 1000, ...o }) + '\n');
const BIG = 5_000_000;
const CHUNK = Buffer.alloc(65536, 0x61);
http
  .createServer((req, res) => {
    if (req.url === '/small') {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 3 });
      res.end('ok\n');
      log({ url: req.url, port: req.socket.remotePort, done: true });
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': BIG });
    log({ url: req.url, port: req.socket.remotePort, started: true });
    let sent = 0;
    const timer = setInterval(() => {
      const n = Math.min(CHUNK.length, BIG - sent);
      res.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n));
      sent += n;
      log({ url: req.url, port: req.socket.remotePort, sent });
      if (sent >= BIG) {
        clearInterval(timer);
        res.end();
      }
    }, 50);
  })
  .listen(Number(port), host);
