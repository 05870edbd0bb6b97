/**
 * A proxy that listens on one address (10.0.0.2) and connects to its backends from another
 * (10.0.1.2: a backend-facing interface). Its upstream address is learned from the requests that
 * copy the ones it received; the failures are then paired with that address's connections as if
 * they came from the proxy's own address.
 */
import { gatewayTimeout } from '../../src/detect/detectors/gateway-timeout';
import { noUpstreamConnect } from '../../src/detect/detectors/no-upstream-connect';
import { unansweredRequest } from '../../src/detect/detectors/unanswered-request';
import { BACKEND, CLIENT, PROXY, PROXY_ENDPOINT, scene } from './proxy-scenes';
import { Capture, get, ofKind, ok } from './reuse-kit';

const only = [gatewayTimeout, noUpstreamConnect];
const VIA = '10.0.1.2';

/** Two requests the proxy forwarded from VIA and answered 200; the backend connection of the first stays busy until 5 s. */
function proxyVia(cap: Capture, forwarded = ['/first', '/second']): void {
  forwarded.forEach((uri, i) => scene(cap, i * 0.1, { delay: i === 0 ? 4.9 : 0.05, upstream: 'read', answer: '200 OK', uri, via: VIA }));
}

describe('a proxy that connects upstream from another address', () => {
  test('queued requests failed without any SYN from that address: no-upstream-connect, with its busy connection counted', () => {
    const cap = new Capture();
    proxyVia(cap);
    scene(cap, 1, { delay: 1, upstream: 'none', answer: '503 Service Unavailable' });
    scene(cap, 1.2, { delay: 1.001, upstream: 'none', answer: '503 Service Unavailable' });
    const r = cap.analyze(only);
    const found = ofKind(r, 'no-upstream-connect');
    expect(found).toHaveLength(2);
    expect(found[0].server).toBe(PROXY_ENDPOINT);
    expect(found[0].evidence).toMatchObject({ concurrentBackendConnections: 1, backendConnectionsOpenedDuringWait: 0, backendRequestsDuringWait: 0 });
    expect(ofKind(r, 'gateway-timeout')).toEqual([]);
  });

  test('a SYN from that address during each wait is a connect attempt, not a queue', () => {
    const cap = new Capture();
    proxyVia(cap);
    scene(cap, 1, { delay: 1, upstream: 'connect', answer: '503 Service Unavailable', via: VIA });
    scene(cap, 1.2, { delay: 1, upstream: 'connect', answer: '503 Service Unavailable', via: VIA });
    const r = cap.analyze(only);
    expect(ofKind(r, 'no-upstream-connect')).toEqual([]);
    expect(ofKind(r, 'gateway-timeout').map((f) => f.evidence.upstreamPhase)).toEqual(['connect', 'connect']);
  });

  test('504s whose forwarded copies the backend never answered: read timeouts, timed on the upstream leg', () => {
    const cap = new Capture();
    scene(cap, 0, { delay: 1, upstream: 'read', uri: '/hang/1', via: VIA });
    scene(cap, 3, { delay: 1.002, upstream: 'read', uri: '/hang/2', via: VIA });
    const r = cap.analyze(only);
    const found = ofKind(r, 'gateway-timeout');
    expect(found.map((f) => f.evidence.upstreamPhase)).toEqual(['read', 'read']);
    expect(found[0].evidence.upstreamLeg).toMatch(/^10\.0\.1\.2:\d+$/);
    const [d] = r.diagnoses.filter((x) => x.kind === 'gateway-timeout');
    expect(d.inferred.proxyReadTimeout.value).toBeCloseTo(0.9998, 4);
  });

  test("unanswered-request names the upstream connections' timeout the proxy's read timeout, not a client's", () => {
    const cap = new Capture();
    scene(cap, 0, { delay: 1, upstream: 'read', uri: '/hang/1', via: VIA });
    scene(cap, 3, { delay: 1.002, upstream: 'read', uri: '/hang/2', via: VIA });
    const r = cap.analyze([unansweredRequest]);
    expect(ofKind(r, 'unanswered-request').map((f) => (f.client ?? '').split(':')[0])).toEqual([VIA, VIA]);
    const [d] = r.diagnoses.filter((x) => x.kind === 'unanswered-request');
    expect(Object.keys(d.inferred)).toEqual(['proxyReadTimeout']);
    expect(d.explanation).toContain(`${VIA}, the address proxy ${PROXY} connects to its backends from`);
  });

  test('unanswered-request: a proxy that shares its address with its clients (everything on 127.0.0.1) is told by the request it forwarded', () => {
    const cap = new Capture();
    for (const [i, at] of [0, 3].entries()) {
      const down = cap.connection({ client: '127.0.0.1', server: '127.0.0.1', sport: 8080 });
      down.handshake(at).request(at + 0.001, get(`/hang/${i}`));
      const up = cap.connection({ client: '127.0.0.1', server: '127.0.0.1', sport: 9001 });
      up.handshake(at + 0.0015).request(at + 0.002, get(`/hang/${i}`));
      up.close(at + 1.0008, 'c');
      down.response(at + 1.001, ok('', [], 'HTTP/1.1', '504 Gateway Time-out')).close(at + 1.002, 's');
    }
    const r = cap.analyze([unansweredRequest]);
    expect(ofKind(r, 'unanswered-request').map((f) => f.server)).toEqual(['127.0.0.1:9001', '127.0.0.1:9001']);
    const [d] = r.diagnoses.filter((x) => x.kind === 'unanswered-request');
    expect(Object.keys(d.inferred)).toEqual(['proxyReadTimeout']);
    expect(d.explanation).toContain('127.0.0.1, forwarding requests it had received itself');
  });

  test('unanswered-request: a client on a server\'s host that gives up on its own requests is still a client', () => {
    const cap = new Capture();
    for (const [i, at] of [0, 3].entries()) {
      // The local server at :8080 had already answered the same request when the one to :9001 left: not a forward.
      const down = cap.connection({ client: '127.0.0.1', server: '127.0.0.1', sport: 8080 });
      down.handshake(at).request(at + 0.001, get(`/hang/${i}`)).response(at + 0.0015, ok()).close(at + 0.02, 'c');
      const c = cap.connection({ client: '127.0.0.1', server: '127.0.0.1', sport: 9001 });
      c.handshake(at + 0.0015).request(at + 0.002, get(`/hang/${i}`)).close(at + 1.0008, 'c');
    }
    const [d] = cap.analyze([unansweredRequest]).diagnoses.filter((x) => x.kind === 'unanswered-request');
    expect(Object.keys(d.inferred)).toEqual(['clientTimeout']);
  });

  test('unanswered-request still calls a plain client a client', () => {
    const cap = new Capture();
    for (const at of [0, 3]) {
      const c = cap.connection({ client: VIA, server: BACKEND, sport: 8080 });
      c.handshake(at).request(at + 0.001, get('/hang')).close(at + 1.001, 'c');
    }
    const [d] = cap.analyze([unansweredRequest]).diagnoses.filter((x) => x.kind === 'unanswered-request');
    expect(Object.keys(d.inferred)).toEqual(['clientTimeout']);
  });

  test("unanswered-request does not take a client that copies some of a proxy's requests for the proxy's other address", () => {
    const cap = new Capture();
    const uris = ['/a', '/b', '/c', '/d', '/e', '/f'];
    uris.forEach((uri, i) => scene(cap, i * 2, { delay: 1.5, upstream: 'answered', backendStatus: '200 OK', answer: '200 OK', uri, via: VIA }));
    // Another host asks the backend for two of the same URIs during the proxy's waits, and gives up after 1 s.
    for (const i of [0, 1]) {
      const c = cap.connection({ client: '10.0.9.9', server: BACKEND, sport: 8080 });
      c.handshake(i * 2 + 0.01).request(i * 2 + 0.011, get(uris[i])).close(i * 2 + 1.011, 'c');
    }
    const [d] = cap.analyze([unansweredRequest]).diagnoses.filter((x) => x.kind === 'unanswered-request');
    expect(Object.keys(d.inferred)).toEqual(['clientTimeout']);
  });

  describe('is not learned (the upstream stays invisible, no-upstream-connect silent)', () => {
    test('from a single copied request', () => {
      const cap = new Capture();
      proxyVia(cap, ['/first']);
      scene(cap, 1, { delay: 1, upstream: 'none', answer: '503 Service Unavailable' });
      scene(cap, 1.2, { delay: 1, upstream: 'none', answer: '503 Service Unavailable' });
      const r = cap.analyze(only);
      expect(ofKind(r, 'no-upstream-connect')).toEqual([]);
      expect(ofKind(r, 'gateway-timeout').map((f) => f.evidence.upstreamPhase)).toEqual(['invisible', 'invisible']);
    });

    test('from copies sent by the client itself (a client that asks two servers the same)', () => {
      const cap = new Capture();
      for (const [i, uri] of ['/a', '/b', '/c'].entries()) {
        const at = i * 0.1;
        const down = cap.connection({ client: CLIENT, server: PROXY, sport: 80 });
        down.handshake(at).request(at + 0.001, get(uri));
        const other = cap.connection({ client: CLIENT, server: BACKEND, sport: 8080 });
        other.handshake(at + 0.002).request(at + 0.003, get(uri)).response(at + 0.004, ok());
        down.response(at + 0.01, ok()).close(at + 0.02, 'c');
      }
      scene(cap, 1, { delay: 1, upstream: 'none', answer: '503 Service Unavailable' });
      scene(cap, 1.2, { delay: 1, upstream: 'none', answer: '503 Service Unavailable' });
      expect(ofKind(cap.analyze(only), 'no-upstream-connect')).toEqual([]);
    });

    test('from another host that asks another server for some of the same URIs at the same moments (a minority)', () => {
      const cap = new Capture();
      const uris = ['/a', '/b', '/c', '/d', '/e', '/f'];
      for (const [i, uri] of uris.entries()) {
        const at = i * 0.1;
        const down = cap.connection({ client: CLIENT, server: PROXY, sport: 80 });
        down.handshake(at).request(at + 0.001, get(uri));
        if (i < 2) {
          const other = cap.connection({ client: '10.0.9.9', server: BACKEND, sport: 8080 });
          other.handshake(at + 0.002).request(at + 0.003, get(uri)).response(at + 0.004, ok());
        }
        down.response(at + 0.01, ok()).close(at + 0.02, 'c');
      }
      scene(cap, 1, { delay: 1, upstream: 'none', answer: '503 Service Unavailable' });
      scene(cap, 1.2, { delay: 1, upstream: 'none', answer: '503 Service Unavailable' });
      expect(ofKind(cap.analyze(only), 'no-upstream-connect')).toEqual([]);
    });

    test('from copies sent after the proxy had answered', () => {
      const cap = new Capture();
      for (const [i, uri] of ['/a', '/b', '/c'].entries()) {
        const at = i * 0.1;
        const down = cap.connection({ client: CLIENT, server: PROXY, sport: 80 });
        down.handshake(at).request(at + 0.001, get(uri));
        down.response(at + 0.01, ok()).close(at + 0.02, 'c');
        const later = cap.connection({ client: VIA, server: BACKEND, sport: 8080 });
        later.handshake(at + 0.03).request(at + 0.031, get(uri)).response(at + 0.032, ok());
      }
      scene(cap, 1, { delay: 1, upstream: 'none', answer: '503 Service Unavailable' });
      scene(cap, 1.2, { delay: 1, upstream: 'none', answer: '503 Service Unavailable' });
      expect(ofKind(cap.analyze(only), 'no-upstream-connect')).toEqual([]);
    });
  });

  test("the proxy's own address still wins when it connects upstream itself", () => {
    const cap = new Capture();
    proxyVia(cap);
    // One more forwarded request from the listening address: its legs are the ones that count.
    scene(cap, 0.5, { delay: 0.05, upstream: 'read', answer: '200 OK', uri: '/own' });
    scene(cap, 1, { delay: 1, upstream: 'none', answer: '503 Service Unavailable' });
    scene(cap, 1.2, { delay: 1, upstream: 'none', answer: '503 Service Unavailable' });
    const found = ofKind(cap.analyze(only), 'no-upstream-connect');
    expect(found).toHaveLength(2);
    // Own legs only: the busy connection from VIA is not counted.
    expect(found[0].evidence.concurrentBackendConnections).toBe(0);
  });
});
