// An HTTP/2 client without TLS (h2c, prior knowledge): one connection, several streams (GETs and
// small POSTs) with pauses between them, then a clean close (GOAWAY, FIN).
// Usage: node h2c-client.js --host 127.0.0.1 --port 8080 --requests 6 --pause-ms 100
'use strict';
const http2 = require('node:http2');

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const requests = Math.min(50, Number(arg('requests', '6')));
const pauseMs = Math.min(2000, Number(arg('pause-ms', '100')));

function send(session, i) {
  return new Promise((resolve, reject) => {
    const post = i % 3 === 2;
    const stream = session.request({ ':path': `/api/items/${i}`, ':method': post ? 'POST' : 'GET', 'content-type': 'application/json' });
    stream.setEncoding('utf8');
    let body = '';
    stream.on('data', (d) => (body += d));
    stream.on('end', () => resolve(body));
    stream.on('error', reject);
    stream.end(post ? JSON.stringify({ n: i }) : undefined);
  });
}

async function main() {
  const session = http2.connect(`http://${arg('host', '127.0.0.1')}:${arg('port', '8080')}`);
  session.on('error', (err) => {
    console.error(`h2c-client: ${err.message}`);
    process.exitCode = 1;
  });
  for (let i = 0; i < requests; i++) {
    const body = await send(session, i);
    console.log(`stream ${i}: ${body}`);
    await new Promise((r) => setTimeout(r, pauseMs));
  }
  await new Promise((resolve) => session.close(resolve));
}

main().catch((err) => {
  console.error(`h2c-client: ${err.message}`);
  process.exit(1);
});
