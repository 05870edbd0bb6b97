// A hand-written Node reverse proxy and its backend, for connection-churn-proxy-hint.sh.
//   node fr7-hint-proxy.js backend HOST PORT KEEPALIVE_MS
//   node fr7-hint-proxy.js proxy HOST PORT BACKEND_HOST BACKEND_PORT BIND copy|strip
//   node fr7-hint-proxy.js client URL COUNT INTERVAL_MS
// The proxy pools its backend connections (http.Agent keepAlive) and either copies the backend's
// response headers, Keep-Alive included (copy: what the blind test's proxy did), or drops the
// hop-by-hop ones (strip), so that its own server advertises its own hint.
'use strict';
const http = require('http');
const [mode, ...a] = process.argv.slice(2);
const HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade'];
if (mode === 'backend') {
  const srv = http.createServer((req, res) => { req.resume(); req.on('end', () => res.end('ok\n')); });
  srv.keepAliveTimeout = Number(a[2]);
  srv.listen(Number(a[1]), a[0]);
} else if (mode === 'proxy') {
  const [host, port, bhost, bport, bind, how] = a;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  http.createServer((req, res) => {
    const up = http.request({ host: bhost, port: Number(bport), localAddress: bind, method: req.method, path: req.url, headers: req.headers, agent }, (r) => {
      const headers = { ...r.headers };
      if (how === 'strip') for (const h of HOP) delete headers[h];
      res.writeHead(r.statusCode, headers);
      r.pipe(res);
    });
    up.on('error', (e) => {
      // On stderr, for the recorders' ground truth: whether the pool had handed it a reused socket.
      console.error(JSON.stringify({ t: Date.now() / 1000, method: req.method, url: req.url, error: e.code || e.message, reusedSocket: up.reusedSocket }));
      if (!res.headersSent) { res.writeHead(502); res.end(); }
    });
    req.pipe(up);
  }).listen(Number(port), host);
} else if (mode === 'client') {
  const [url, count, interval] = a;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let i = 0;
  const next = () => {
    if (i >= Number(count)) { agent.destroy(); return; }
    http.get(`${url}/item/${i++}`, { agent }, (r) => { r.resume(); r.on('end', () => setTimeout(next, Number(interval))); })
      .on('error', (e) => { console.log('error', e.message); setTimeout(next, Number(interval)); });
  };
  next();
}
