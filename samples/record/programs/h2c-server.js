// An HTTP/2 server without TLS (h2c, prior knowledge), as gRPC services often run inside a
// cluster: answers every stream with 200 and a short body. Runs until its recorder stops it.
// Usage: node h2c-server.js --host 127.0.0.1 --port 8080
'use strict';
const http2 = require('node:http2');

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};

const server = http2.createServer();
server.on('stream', (stream, headers) => {
  let received = 0;
  stream.on('data', (chunk) => (received += chunk.length));
  stream.on('end', () => {
    stream.respond({ ':status': 200, 'content-type': 'application/json' });
    stream.end(JSON.stringify({ path: headers[':path'], received }));
  });
});
server.listen(Number(arg('port', '8080')), arg('host', '127.0.0.1'));
