import * as fs from 'node:fs';
import * as path from 'node:path';
import { gatewayTimeout } from '../../src/detect/detectors/gateway-timeout';
import { noUpstreamConnect } from '../../src/detect/detectors/no-upstream-connect';
import { SAMPLES_DIR, SampleMeta, analyzeSample, listSamples } from '../samples';
import { BACKEND, busySlot, PROXY, PROXY_ENDPOINT, scene, tlsLeg } from './proxy-scenes';
import { Capture, get, ofKind, ok } from './reuse-kit';

const only = [gatewayTimeout, noUpstreamConnect];
const KIND = 'no-upstream-connect';

/** A proxy holding one backend connection busy from t = 0.01 to 5, with one earlier proxied request making its upstream visible. */
function queuedProxy(): Capture {
  const cap = new Capture();
  scene(cap, 0, { delay: 4.9, upstream: 'read', answer: '200 OK', uri: '/first' });
  return cap;
}

describe('no-upstream-connect on synthetic proxies', () => {
  test('requests failed with 503 after the same delay, no SYN and no request upstream meanwhile: queue timeout', () => {
    const cap = queuedProxy();
    const a = scene(cap, 1, { delay: 1, upstream: 'none', answer: '503 Service Unavailable' });
    const b = scene(cap, 1.2, { delay: 1.001, upstream: 'none', answer: '503 Service Unavailable' });
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found.map((f) => f.client)).toEqual([a.clientName, b.clientName]);
    expect(found[0].server).toBe(PROXY_ENDPOINT);
    expect(found[0].evidence).toMatchObject({
      status: 503, failedWith: '503', delaySeconds: 1, delayClustered: true,
      concurrentBackendConnections: 1, maxBackendConnectionsDuringWait: 1,
      backendConnectionsOpenedDuringWait: 0, backendRequestsDuringWait: 0,
    });
    expect(found[0].frames).toHaveLength(2);
    expect(ofKind(r, 'gateway-timeout')).toEqual([]);
    const [d] = r.diagnoses.filter((x) => x.kind === KIND);
    // The median delay, 1.0005 s as captured, less the kit's 0.1 ms handshake round trip to the proxy (the proxy's own timer).
    expect(d.inferred.proxyQueueTimeout.value).toBeCloseTo(1.0004, 4);
    expect(d.explanation).toContain('exactly 1 connection');
    expect(d.remedy).toContain('maxconn');
  });

  test('a proxy that closes the client connection (FIN) instead of answering', () => {
    const cap = queuedProxy();
    scene(cap, 1, { delay: 2, upstream: 'none', answer: 'FIN' });
    scene(cap, 1.5, { delay: 2, upstream: 'none', answer: 'FIN' });
    const found = ofKind(cap.analyze(only), KIND);
    expect(found.map((f) => f.evidence.failedWith)).toEqual(['FIN', 'FIN']);
    expect(found[0].evidence.status).toBeNull();
  });

  test('a lone 504 without upstream attempt is reported; the busy slot count is still evidence', () => {
    const cap = queuedProxy();
    scene(cap, 1, { delay: 3, upstream: 'none' });
    const [f] = ofKind(cap.analyze(only), KIND);
    expect(f.evidence).toMatchObject({ status: 504, delayClustered: false, concurrentBackendConnections: 1 });
  });

  test('a lone 503 after a wait while the backend served another request (blind 14 S6b: HAProxy maxconn 1, one sQ-- 503): a queue, one sample', () => {
    const cap = queuedProxy();
    scene(cap, 1, { delay: 1.5, upstream: 'none', answer: '503 Service Unavailable' });
    const r = cap.analyze(only);
    const [f] = ofKind(r, KIND);
    expect(f.evidence).toMatchObject({ status: 503, delaySeconds: 1.5, delayClustered: false, concurrentBackendConnections: 1 });
    const [d] = r.diagnoses.filter((x) => x.kind === KIND);
    expect(d.inferred).toEqual({});
    expect(d.explanation).toContain('one wait names no exact value');
    expect(d.explanation).toContain('1 in flight when it came, 0 sent upstream while it waited');
    expect(d.explanation).toContain('HAProxy timeout queue');
    expect(ofKind(r, 'gateway-timeout')).toEqual([]);
  });

  describe('stays silent', () => {
    test('when each request was forwarded upstream (gateway-timeout instead)', () => {
      const cap = queuedProxy();
      scene(cap, 1, { delay: 1, upstream: 'read' });
      scene(cap, 1.2, { delay: 1, upstream: 'read' });
      const r = cap.analyze(only);
      expect(ofKind(r, KIND)).toEqual([]);
      expect(ofKind(r, 'gateway-timeout')).toHaveLength(2);
    });

    test('when the proxy tried to connect (a SYN during the wait)', () => {
      const cap = queuedProxy();
      scene(cap, 1, { delay: 1, upstream: 'connect', answer: '503 Service Unavailable' });
      scene(cap, 1.2, { delay: 1, upstream: 'connect', answer: '503 Service Unavailable' });
      expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
    });

    test('when the proxy sent TLS bytes upstream during the wait (on a new or an existing connection)', () => {
      const cap = queuedProxy();
      scene(cap, 1, { delay: 1, upstream: 'tls', answer: '503 Service Unavailable' });
      scene(cap, 1.2, { delay: 1, upstream: 'tls', answer: '503 Service Unavailable' });
      // An existing TLS connection with bytes from the proxy during each of the next two waits.
      tlsLeg(cap, 0.5, 4, [2.6, 3.2]);
      scene(cap, 2.5, { delay: 1, upstream: 'none', answer: '503 Service Unavailable' });
      scene(cap, 3.0, { delay: 1, upstream: 'none', answer: '503 Service Unavailable' });
      expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
    });

    test("when the proxy's upstream is not in the capture at all", () => {
      const cap = new Capture();
      scene(cap, 1, { delay: 1, upstream: 'none', answer: '503 Service Unavailable' });
      scene(cap, 1.2, { delay: 1, upstream: 'none', answer: '503 Service Unavailable' });
      expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
    });

    test('on a lone 503 while the backend was idle (nothing in flight, nothing sent: no queue shown), and on immediate 503s (no timer)', () => {
      const cap = new Capture();
      // One earlier proxied request, answered at 0.2 s, makes the upstream visible; then the backend idles.
      scene(cap, 0, { delay: 0.2, upstream: 'answered', backendStatus: '200 OK', answer: '200 OK', uri: '/first' });
      scene(cap, 1, { delay: 1, upstream: 'none', answer: '503 Service Unavailable' });
      expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
      const fast = queuedProxy();
      scene(fast, 2, { delay: 0.001, upstream: 'none', answer: '503 Service Unavailable' });
      scene(fast, 2.5, { delay: 0.001, upstream: 'none', answer: '503 Service Unavailable' });
      expect(ofKind(fast.analyze(only), KIND)).toEqual([]);
    });

    test('on a server that also connects out but was never seen forwarding (an application calling its own dependencies)', () => {
      const cap = new Capture();
      // The server's own calls to another service: requests that copy none it received.
      for (const at of [0, 0.3]) {
        const call = cap.connection({ client: PROXY, server: BACKEND, sport: 5000 });
        call.handshake(at).exchange(at + 0.001, get('/config'), ok('{}'));
      }
      busySlot(cap, 0.5, 4);
      scene(cap, 1, { delay: 1, upstream: 'none', answer: '503 Service Unavailable' });
      scene(cap, 1.2, { delay: 1.001, upstream: 'none', answer: '503 Service Unavailable' });
      const r = cap.analyze(only);
      expect(ofKind(r, KIND)).toEqual([]);
      expect(ofKind(r, 'gateway-timeout').map((f) => f.evidence.upstreamPhase)).toEqual(['invisible', 'invisible']);
    });

    test('on answers the proxy gives itself (2xx) without going upstream', () => {
      const cap = queuedProxy();
      busySlot(cap, 0.5, 4);
      scene(cap, 1, { delay: 1, upstream: 'none', answer: '200 OK' });
      scene(cap, 1.5, { delay: 1, upstream: 'none', answer: '200 OK' });
      expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
    });
  });
});

// ---------------------------------------------------------------- real samples

const samples = new Map(listSamples().filter((s) => s.meta !== null).map((s) => [s.name, s]));
const has = (name: string): boolean => samples.has(name);
function meta(name: string): SampleMeta {
  return JSON.parse(fs.readFileSync(path.join(SAMPLES_DIR, `${name}.meta.json`), 'utf8')) as SampleMeta;
}
const tolerance = (value: number): number => Math.max(0.02 * value, 0.02);

/**
 * HAProxy on its own addresses; with clients, proxy and backend all on 127.0.0.1 (the upstream leg
 * told by its endpoint); and connecting to the backend from another address than it listens on
 * (that address learned from the requests it forwards).
 */
const firing = ['no-upstream-connect-haproxy', 'no-upstream-connect-haproxy-loopback', 'no-upstream-connect-haproxy-other-address'].filter(has);

test.each(firing)('%s: the queued requests, the single busy slot, timeout queue inferred', async (name) => {
  const m = meta(name);
  const configured = (m.configured?.proxyQueueTimeout ?? m.configured?.queueTimeout) as number;
  const maxconn = m.configured?.serverMaxconn as number;
  const r = await analyzeSample(name);
  const found = ofKind(r, KIND);
  const expected = (m.expect ?? []).filter((e) => e.kind === KIND);
  expect(found.map((f) => f.client).sort()).toEqual(expected.map((e) => e.client).sort());
  for (const f of found) {
    expect(f.evidence).toMatchObject({
      status: 503, concurrentBackendConnections: maxconn, maxBackendConnectionsDuringWait: maxconn,
      backendConnectionsOpenedDuringWait: 0, backendRequestsDuringWait: 0,
    });
    expect(Math.abs((f.evidence.delaySeconds as number) - configured)).toBeLessThanOrEqual(tolerance(configured));
  }
  expect(ofKind(r, 'gateway-timeout')).toEqual([]);
  const [d] = r.diagnoses.filter((x) => x.kind === KIND);
  expect(Math.abs(d.inferred.proxyQueueTimeout.value - configured)).toBeLessThanOrEqual(tolerance(configured));
  expect(d.explanation).toContain(`exactly ${maxconn} connection`);
});

const silent = [
  'gateway-timeout-nginx', 'gateway-timeout-nginx-other-address', 'intermittent-5xx-reuseport', 'unanswered-request-timeout', 'reset-before-response',
  'keepalive-node-agent', 'clean-keepalive-reuse', 'client-closes-idle-first', 'half-close', 'abortive-close-after-response',
  'http10-keepalive-and-close', 'connection-close-curl', 'pipelining', 'chunked-responses', 'keepalive-race-apache-java', 'healthy-apache-lighttpd-java',
].filter(has);

test.each(silent)('silent on %s', async (name) => {
  expect(ofKind(await analyzeSample(name), KIND).map((f) => f.summary)).toEqual([]);
});

describe('no-upstream-connect names the settings of the proxy whose answers name it', () => {
  test('Apache mod_proxy (its 503 says Server: Apache): ProxyPass acquire= and max=, AH00941; no HAProxy', async () => {
    const r = await analyzeSample('no-upstream-connect-apache-acquire');
    const d = r.diagnoses.find((x) => x.kind === 'no-upstream-connect')!;
    expect(d.inferred.proxyQueueTimeout.value).toBeCloseTo(1, 1);
    expect(d.explanation).toContain('Apache mod_proxy ProxyPass `acquire=`, in milliseconds');
    expect(d.explanation).toContain('Apache ProxyPass `max=`, per child process');
    expect(d.remedy).toContain('AH00941');
    expect(`${d.explanation} ${d.remedy}`).not.toContain('HAProxy');
  });

  test('HAProxy (its 503 names no software): HAProxy settings first, Apache beside them', async () => {
    const r = await analyzeSample('no-upstream-connect-haproxy');
    const d = r.diagnoses.find((x) => x.kind === 'no-upstream-connect')!;
    expect(d.explanation).toMatch(/HAProxy timeout queue, or timeout connect when unset; Apache mod_proxy ProxyPass `acquire=`/);
    expect(d.remedy).toContain('<NOSRV>');
  });
});
