/**
 * Remedies that fit Apache httpd as a reverse proxy: its pooled backend connections have no idle
 * timeout unless ProxyPass sets `ttl=` (it only checks for an arrived FIN before reuse, so a
 * crossing still fails), and its backend read timeout is ProxyTimeout / ProxyPass `timeout=`.
 */
import { DETECTORS } from '../../src/detect/registry';
import { scene } from './proxy-scenes';
import { Capture, get, ok } from './reuse-kit';

describe('remedies name Apache mod_proxy settings', () => {
  test('keep-alive race and idle-timeout mismatch: ProxyPass ttl=', () => {
    const cap = new Capture();
    // Three idle closes after 1.3 s, then two requests that cross the server's FIN; the requests
    // carry the X-Forwarded-For mod_proxy adds by default: the connections are a proxy's pool.
    const forwarded = ['X-Forwarded-For: 10.0.0.9'];
    for (const t of [0, 3, 6]) {
      const c = cap.connection();
      c.handshake(t).exchange(t + 0.01, get('/a', forwarded), ok());
      c.fin(t + 0.011 + 1.3, 's').fin(t + 0.0115 + 1.3, 'c').ack(t + 0.012 + 1.3, 's');
    }
    for (const t of [10, 13]) {
      const c = cap.connection();
      c.handshake(t).exchange(t + 0.01, get('/a', forwarded), ok());
      c.fin(t + 0.011 + 1.3, 's');
      c.request(t + 0.011 + 1.2995, get('/b', forwarded), { sawFin: false, noAck: true });
      c.rst(t + 0.011 + 1.3003, 's');
    }
    const r = cap.analyze(DETECTORS);
    const race = r.diagnoses.find((d) => d.kind === 'keepalive-race');
    expect(race?.remedy).toContain('Apache mod_proxy: the ProxyPass `ttl=` parameter');
    expect(race?.remedy).toContain('Apache mod_proxy without `ttl=`');
    const mismatch = r.diagnoses.find((d) => d.kind === 'idle-timeout-mismatch');
    expect(mismatch?.remedy).toContain('Apache mod_proxy: the ProxyPass `ttl=`');
  });

  test('gateway timeout in the connect phase: Apache ProxyPass connectiontimeout=', () => {
    const cap = new Capture();
    scene(cap, 0, { delay: 1, upstream: 'connect', uri: '/x/1', answer: '503 Service Unavailable' });
    scene(cap, 3, { delay: 1.001, upstream: 'connect', uri: '/x/2', answer: '503 Service Unavailable' });
    const r = cap.analyze(DETECTORS);
    const d = r.diagnoses.find((x) => x.kind === 'gateway-timeout');
    expect(d?.inferred.proxyConnectTimeout).toBeDefined();
    expect(d?.explanation).toContain('Apache ProxyPass connectiontimeout=');
  });

  test('gateway timeout: Apache ProxyTimeout or ProxyPass timeout=', () => {
    const cap = new Capture();
    scene(cap, 0, { delay: 1, upstream: 'read', uri: '/hang/1', answer: '502 Proxy Error' });
    scene(cap, 3, { delay: 1.001, upstream: 'read', uri: '/hang/2', answer: '502 Proxy Error' });
    // unanswered-request's reading of the upstream legs, alone: beside gateway-timeout they are in its diagnosis.
    for (const [kind, detectors] of [['gateway-timeout', DETECTORS], ['unanswered-request', DETECTORS.filter((x) => x.id !== 'gateway-timeout')]] as const) {
      const d = cap.analyze(detectors).diagnoses.find((x) => x.kind === kind);
      expect(d?.remedy).toContain('Apache ProxyTimeout or ProxyPass `timeout=`');
    }
  });
});
