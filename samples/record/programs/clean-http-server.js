'use strict';
// A small Node http server for the clean-traffic samples (keep-alive, pipelining,
// chunked bodies, bodiless responses). It never closes a connection on its own
// within a recording: keepAliveTimeout stays at the Node default (5 s) unless
// --keep-alive-timeout says otherwise, and every recording is shorter than that idle.
//
// Usage: node clean-http-server.js --host 127.0.0.1 --port 8080 [--keep-alive-timeout 5000]
//
// Routes (all bodies are tiny so the captures stay small):
//   GET  /items/<n>          200, JSON with Content-Length
//   POST /items              201, echoes the JSON body's size back
//   GET  /stream/<n>         200, chunked: <n> small res.write()s 40 ms apart
//   GET  /stream-trailers    200, chunked with a Trailer header and a trailer field
//   HEAD <any>               200 with the headers a GET would get, no body
//   GET  /cached             304 when If-None-Match matches the ETag, else 200
//   DELETE /items/<n>        204, no body
const http = require('node:http');

function parseArgs(argv) {
  const opts = { host: '127.0.0.1', port: 8080, keepAliveTimeout: 5000 };
  for (let i = 2; i < argv.length; i += 2) {
    const key = argv[i];
    const value = argv[i + 1];
    if (key === '--host') opts.host = value;
    else if (key === '--port') opts.port = Number(value);
    else if (key === '--keep-alive-timeout') opts.keepAliveTimeout = Number(value);
    else throw new Error(`unknown option ${key}`);
  }
  return opts;
}

const ETAG = '"v1-cafe"';

function sendJson(res, status, value) {
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': body.length });
  res.end(body);
}

// Writes `parts` chunks with a delay between them, so each chunk leaves in its own
// segment and the body really is streamed (not one buffered write).
function streamChunks(res, parts, trailers) {
  const headers = { 'Content-Type': 'text/plain' };
  if (trailers) headers.Trailer = Object.keys(trailers).join(', ');
  res.writeHead(200, headers);
  let sent = 0;
  const next = () => {
    if (sent === parts) {
      if (trailers) res.addTrailers(trailers);
      res.end();
      return;
    }
    sent += 1;
    res.write(`chunk ${sent} of ${parts}\n`);
    setTimeout(next, 40);
  };
  next();
}

function handle(req, res) {
  const url = req.url || '/';
  const itemMatch = /^\/items\/(\d+)$/.exec(url);
  const streamMatch = /^\/stream\/(\d+)$/.exec(url);

  if (req.method === 'HEAD') {
    // Same headers as the GET (Content-Length included); Node sends no body for HEAD.
    const body = Buffer.from(JSON.stringify({ path: url, head: true }));
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length });
    res.end();
    return;
  }
  if (req.method === 'GET' && itemMatch) {
    sendJson(res, 200, { id: Number(itemMatch[1]), name: `item-${itemMatch[1]}` });
    return;
  }
  if (req.method === 'POST' && url === '/items') {
    let size = 0;
    req.on('data', (chunk) => { size += chunk.length; });
    req.on('end', () => sendJson(res, 201, { created: true, receivedBytes: size }));
    return;
  }
  if (req.method === 'DELETE' && itemMatch) {
    res.writeHead(204);
    res.end();
    return;
  }
  if (req.method === 'GET' && streamMatch) {
    streamChunks(res, Math.min(Number(streamMatch[1]), 8), null);
    return;
  }
  if (req.method === 'GET' && url === '/stream-trailers') {
    streamChunks(res, 3, { 'X-Checksum': 'c0ffee' });
    return;
  }
  if (req.method === 'GET' && url === '/cached') {
    if (req.headers['if-none-match'] === ETAG) {
      res.writeHead(304, { ETag: ETAG });
      res.end();
    } else {
      sendJson(res, 200, { cached: false });
    }
    return;
  }
  // Drain any body so an unexpected request never leaves unread bytes (which would
  // turn the eventual close into a RST).
  req.resume();
  sendJson(res, 404, { error: 'not found' });
}

const opts = parseArgs(process.argv);
const server = http.createServer(handle);
server.keepAliveTimeout = opts.keepAliveTimeout;
server.listen(opts.port, opts.host, () => {
  process.stdout.write(`listening on ${opts.host}:${opts.port}\n`);
});
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
});
