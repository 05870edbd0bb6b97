/**
 * The most common nginx layout: nginx listens on the host's address (10.0.0.2:80) and proxies to
 * a backend on 127.0.0.1:9002, so its upstream legs leave from 127.0.0.1, an address that also
 * serves (the backend itself), while the same host serves other sites on other ports that forward
 * nothing (blind 14, S1: 10.14.0.1:8002 proxying to 127.0.0.1:9002 beside three sites of its own;
 * the 7 upstream read timeouts were told apart from their 504s). The upstream address is learned
 * per listening endpoint, from what its requests copy.
 */
import { gatewayTimeout } from '../../src/detect/detectors/gateway-timeout';
import { unansweredRequest } from '../../src/detect/detectors/unanswered-request';
import { CLIENT, PROXY, PROXY_ENDPOINT } from './proxy-scenes';
import { Capture, get, ofKind, ok } from './reuse-kit';

/**
 * In the registry's order: unanswered-request finishes first, and holds a proxy's legs closed by
 * their client until then (it pairs a client's give-up with the proxy's cancellation upstream), so
 * gateway-timeout, which lists those findings, must finish after it, as it does in the registry.
 */
const DETECTORS_IN_ORDER = [unansweredRequest, gatewayTimeout];

const LOOPBACK = '127.0.0.1';
const LOCAL_BACKEND = `${LOOPBACK}:9002`;

/** nginx's forward of a client's request to the local backend: answered after `answerIn`, or never (closed by the proxy at `delay`). */
function proxied(cap: Capture, at: number, uri: string, o: { delay: number; answer: '200 OK' | '504 Gateway Time-out' }): void {
  const down = cap.connection({ client: CLIENT, server: PROXY, sport: 80 });
  down.handshake(at).request(at + 0.001, get(uri));
  const up = cap.connection({ client: LOOPBACK, server: LOOPBACK, sport: 9002 });
  up.handshake(at + 0.0015).request(at + 0.002, get(uri));
  const answerAt = at + 0.001 + o.delay;
  if (o.answer === '200 OK') up.response(answerAt - 0.0005, ok('fast'));
  up.close(answerAt - 0.0002, 'c');
  down.response(answerAt, ok(o.answer === '200 OK' ? 'fast' : 'upstream timed out', [], 'HTTP/1.1', o.answer));
  down.close(answerAt + 0.01, 'c');
}

/** Requests another site on the proxy's host (port 81) answers itself. */
function ownSite(cap: Capture, count: number): void {
  for (let i = 0; i < count; i++) {
    const at = 10 + i * 0.05;
    cap.connection({ client: CLIENT, server: PROXY, sport: 81 }).handshake(at).exchange(at + 0.001, get(`/own/${i}`), ok()).close(at + 0.01, 'c');
  }
}

describe('a proxy on the host address whose backend is on 127.0.0.1, beside sites that forward nothing', () => {
  function capture(): Capture {
    const cap = new Capture();
    proxied(cap, 0, '/fast/1', { delay: 0.002, answer: '200 OK' });
    proxied(cap, 0.1, '/fast/2', { delay: 0.002, answer: '200 OK' });
    proxied(cap, 1, '/hang/1', { delay: 3.001, answer: '504 Gateway Time-out' });
    proxied(cap, 5, '/hang/2', { delay: 3.0, answer: '504 Gateway Time-out' });
    // More answers of the host's own than twice the proxy's forwards: counted per host, they hid it.
    ownSite(cap, 12);
    return cap;
  }

  test('its 504s are paired with the upstream legs from 127.0.0.1: read timeouts, one failure on both legs', () => {
    const r = capture().analyze(DETECTORS_IN_ORDER);
    const found = ofKind(r, 'gateway-timeout').filter((f) => f.server === PROXY_ENDPOINT);
    expect(found.map((f) => f.evidence.upstreamPhase)).toEqual(['read', 'read']);
    expect(found.map((f) => String(f.evidence.upstreamLeg).split(':')[0])).toEqual([LOOPBACK, LOOPBACK]);
    const [d] = r.diagnoses.filter((x) => x.kind === 'gateway-timeout' && x.server === PROXY_ENDPOINT);
    expect(Object.keys(d.inferred)).toEqual(['proxyReadTimeout']);
    expect(d.explanation).toContain('Each is one failure seen on both legs');
    // The upstream legs' unanswered requests are told within it, not as a group of their own.
    expect(r.diagnoses.filter((x) => x.kind === 'unanswered-request' && x.server === LOCAL_BACKEND)).toEqual([]);
  });
});

describe('near miss: a local client on 127.0.0.1 asks the backend for the same URIs', () => {
  test('the proxy answered every one itself (nothing forwarded): its 504s are not paired with the local client', () => {
    const cap = new Capture();
    // The proxy answers 200 itself five times (its upstream is out of the capture: a Unix socket).
    for (let i = 0; i < 5; i++) {
      const at = i * 0.1;
      cap.connection({ client: CLIENT, server: PROXY, sport: 80 }).handshake(at).exchange(at + 0.001, get(`/fast/${i}`), ok()).close(at + 0.01, 'c');
    }
    // Two 504s, while a client on 127.0.0.1 sends the same URIs to the local backend and is answered at once.
    for (const [i, at] of [1, 5].entries()) {
      const down = cap.connection({ client: CLIENT, server: PROXY, sport: 80 });
      down.handshake(at).request(at + 0.001, get(`/hang/${i}`));
      cap.connection({ client: LOOPBACK, server: LOOPBACK, sport: 9002 }).handshake(at + 0.01).exchange(at + 0.011, get(`/hang/${i}`), ok()).close(at + 0.02, 'c');
      down.response(at + 3.001, ok('upstream timed out', [], 'HTTP/1.1', '504 Gateway Time-out')).close(at + 3.01, 'c');
    }
    ownSite(cap, 12);
    const found = ofKind(cap.analyze([gatewayTimeout]), 'gateway-timeout').filter((f) => f.server === PROXY_ENDPOINT);
    expect(found).toHaveLength(2);
    expect(found.map((f) => f.evidence.upstreamPhase)).toEqual(['invisible', 'invisible']);
  });
});

describe('near miss: a local client gives up on the same URI the proxy forwarded from 127.0.0.1 at the same moment', () => {
  test("its abandoned requests stay a client's timeout, not the proxy's read timeout", () => {
    const cap = new Capture();
    proxied(cap, 0, '/fast/1', { delay: 0.002, answer: '200 OK' });
    proxied(cap, 0.1, '/fast/2', { delay: 0.002, answer: '200 OK' });
    for (const [i, at] of [1, 2, 3].entries()) {
      // nginx's copy is answered after 0.3 s and passed on; the local curl's, sent beside it, is given up after 0.1 s.
      proxied(cap, at, `/slow/${i}`, { delay: 0.3, answer: '200 OK' });
      const local = cap.connection({ client: LOOPBACK, server: LOOPBACK, sport: 9002 });
      local.handshake(at + 0.01).request(at + 0.011, get(`/slow/${i}`)).close(at + 0.111, 'c');
    }
    ownSite(cap, 12);
    const r = capture(cap);
    const [d] = r.diagnoses.filter((x) => x.kind === 'unanswered-request' && x.server === LOCAL_BACKEND);
    expect(Object.keys(d.inferred)).toEqual(['clientTimeout']);
    expect(ofKind(r, 'gateway-timeout')).toEqual([]);
  });

  function capture(cap: Capture): ReturnType<Capture['analyze']> {
    return cap.analyze(DETECTORS_IN_ORDER);
  }
});

describe('a proxy that closes its client connection after its copy from 127.0.0.1 failed upstream', () => {
  test('the client leg says where the request went (the copy from the serving upstream address), not that the proxy sat on it', () => {
    const cap = new Capture();
    proxied(cap, 0, '/fast/1', { delay: 0.002, answer: '200 OK' });
    proxied(cap, 0.1, '/fast/2', { delay: 0.002, answer: '200 OK' });
    ownSite(cap, 12);
    // The backend closes the forwarded request unanswered after 0.5 s; the proxy closes its client's connection (Apache mod_proxy, HAProxy on a request it cannot retry).
    const down = cap.connection({ client: CLIENT, server: PROXY, sport: 80 });
    down.handshake(1).request(1.001, get('/fail'));
    const up = cap.connection({ client: LOOPBACK, server: LOOPBACK, sport: 9002 });
    up.handshake(1.0015).request(1.002, get('/fail'));
    up.close(1.5, 's');
    down.close(1.501, 's');
    const r = cap.analyze(DETECTORS_IN_ORDER);
    const [front] = ofKind(r, 'unanswered-request').filter((f) => f.server === PROXY_ENDPOINT);
    expect(front.summary).toContain(`the proxy had forwarded it to ${LOCAL_BACKEND}`);
  });

  test('near miss: a local client asks the backend the same beside a proxy never seen forwarding from 127.0.0.1: not the proxy\'s copy', () => {
    const cap = new Capture();
    ownSite(cap, 12);
    const down = cap.connection({ client: CLIENT, server: PROXY, sport: 80 });
    down.handshake(1).request(1.001, get('/fail'));
    const local = cap.connection({ client: LOOPBACK, server: LOOPBACK, sport: 9002 });
    local.handshake(1.0015).request(1.002, get('/fail'));
    local.close(1.5, 's');
    down.close(1.501, 's');
    const r = cap.analyze(DETECTORS_IN_ORDER);
    const [front] = ofKind(r, 'unanswered-request').filter((f) => f.server === PROXY_ENDPOINT);
    expect(front.summary).not.toContain('the proxy had forwarded it');
  });
});
