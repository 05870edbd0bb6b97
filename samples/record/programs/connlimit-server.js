// Node http server with server.maxConnections: Node accepts each connection over the limit and
// destroys it at once (a 'drop' event). Handler takes HANDLER_MS. Logs JSON lines: listening,
// drop (the client's port), served (port, url). Exits by itself after LIFETIME_MS.
// Usage: node connlimit-server.js PORT ADDR MAX_CONNECTIONS HANDLER_MS LOG
const http = require('http');
const fs = require('fs');
const [port, addr, max, handlerMs, logFile] = process.argv.slice(2);
const LIFETIME_MS = 20000;
const t0 = Date.now();
const log = (o) => fs.appendFileSync(logFile, JSON.stringify({ t: (Date.now() - t0) / 1000, ...o }) + '\n');
const srv = http.createServer((req, res) => {
  setTimeout(() => {
    res.end('ok\n');
    log({ event: 'served', port: req.socket.remotePort, url: req.url });
  }, Number(handlerMs));
});
srv.maxConnections = Number(max);
srv.on('drop', (d) => log({ event: 'drop', port: d.remotePort }));
srv.listen(Number(port), addr, () => log({ event: 'listening', maxConnections: srv.maxConnections }));
setTimeout(() => process.exit(0), LIFETIME_MS);
