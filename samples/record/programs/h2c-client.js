// An HTTP/2 client without TLS (h2c, prior knowledge): one connection, several streams (GETs and
// small POSTs) with pauses between them, then a clean close (GOAWAY, FIN). With --idle-ms, it
// first stays idle that long holding the connection (a server's idle timeout may close it: its
// GOAWAY and close are logged), and closes it only if the server has not.
// Usage: node h2c-client.js --host 127.0.0.1 --port 8080 --requests 6 --pause-ms 100 [--idle-ms 2500]
'use strict';
const http2 = require('node:http2');

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const requests = Math.min(50, Number(arg('requests', '6')));
const pauseMs = Math.min(2000, Number(arg('pause-ms', '100')));
const idleMs = Math.min(5000, Number(arg('idle-ms', '0')));
const stamp = () => (Date.now() / 1000).toFixed(3);

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
  session.on('goaway', (code) => console.log(`${stamp()} goaway from the server, code ${code}`));
  session.on('close', () => console.log(`${stamp()} session closed`));
  for (let i = 0; i < requests; i++) {
    const body = await send(session, i);
    console.log(`${idleMs > 0 ? `${stamp()} ` : ''}stream ${i}: ${body}`);
    await new Promise((r) => setTimeout(r, pauseMs));
  }
  if (idleMs > 0) await new Promise((r) => setTimeout(r, idleMs));
  if (session.closed || session.destroyed) return;
  await new Promise((resolve) => session.close(resolve));
}

main().catch((err) => {
  console.error(`h2c-client: ${err.message}`);
  process.exit(1);
});
