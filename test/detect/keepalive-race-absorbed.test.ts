/**
 * keepalive-race absorbed by the proxy that raced: it sent the raced GET again on a new upstream
 * connection, that copy was answered, and so was its client (Caddy, blind round 15 S12: 4 races
 * behind 23 GETs all answered 200). The race is real but no client saw it: a warning, as nginx's
 * `proxy_next_upstream` and HAProxy's `retry-on` retries are; a race its client saw (a 502) stays an error.
 */
import { DETECTORS } from '../../src/detect/registry';
import { CLIENT, PROXY, BACKEND } from './proxy-scenes';
import { Capture, get, ofKind, ok } from './reuse-kit';

const RACED_POST = 'POST /items HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}';

/**
 * A client's keep-alive connection to the proxy, and per call an upstream connection that served a
 * warm-up 1 s before; the calls in `races` meet the backend's idle close. A raced GET is sent again
 * on a new connection and answered 200 (`retryAnswer`), passed on to the client; a raced POST is
 * answered 502.
 */
function scene(races: readonly number[], request = get('/a'), retryAnswer = '200 OK'): Capture {
  const cap = new Capture();
  const client = cap.connection({ client: CLIENT, server: PROXY, sport: 80 });
  client.handshake(0);
  for (let i = 0; i < 6; i++) {
    const t = 2 + i * 2;
    const up = cap.connection({ client: PROXY, server: BACKEND, sport: 8080 });
    up.handshake(t - 1.01).exchange(t - 1.0, get('/warm'), ok('warm'));
    client.request(t, request);
    if (!races.includes(i)) {
      up.exchange(t + 0.0005, request, ok('fine'));
      up.close(t + 0.5, 'c');
      client.response(t + 0.002, ok('fine'));
      continue;
    }
    up.fin(t + 0.0004, 's');
    up.request(t + 0.0005, request, { sawFin: false, noAck: true });
    up.rst(t + 0.0006, 's');
    if (request.startsWith('GET')) {
      const retry = cap.connection({ client: PROXY, server: BACKEND, sport: 8080 });
      retry.handshake(t + 0.0007).exchange(t + 0.0009, request, ok('fine', [], 'HTTP/1.1', retryAnswer));
      retry.close(t + 0.5, 'c');
      client.response(t + 0.0012, ok('fine', [], 'HTTP/1.1', retryAnswer));
    } else {
      client.response(t + 0.0008, ok('bad gateway', [], 'HTTP/1.1', '502 Bad Gateway'));
    }
  }
  return cap;
}

describe('keepalive-race absorbed by the proxy that raced', () => {
  test('a raced GET the proxy sent again, answered 200 to its client: a warning, and so is the diagnosis', () => {
    const r = scene([1, 4]).analyze(DETECTORS);
    const races = ofKind(r, 'keepalive-race');
    expect(races).toHaveLength(2);
    for (const f of races) {
      expect(f.severity).toBe('warning');
      expect(f.evidence).toMatchObject({ retried: true, absorbedByProxy: true, proxyClientStatus: 200 });
      expect(f.summary).toContain('the proxy answered its client');
    }
    const [d] = r.diagnoses.filter((x) => x.kind === 'keepalive-race');
    expect(d.severity).toBe('warning');
    expect(d.explanation).toContain('None of its clients saw a failure');
  });

  test('near miss: a raced POST the proxy answered 502: an error', () => {
    const r = scene([1, 4], RACED_POST).analyze(DETECTORS);
    const races = ofKind(r, 'keepalive-race');
    expect(races).toHaveLength(2);
    for (const f of races) {
      expect(f.severity).toBe('error');
      expect(f.evidence.absorbedByProxy).toBeUndefined();
    }
    expect(r.diagnoses.filter((x) => x.kind === 'keepalive-race')[0].severity).toBe('error');
  });

  test('near miss: the resent GET answered 503, passed on to the client: an error', () => {
    const r = scene([1, 4], get('/a'), '503 Service Unavailable').analyze(DETECTORS);
    const races = ofKind(r, 'keepalive-race');
    expect(races.length).toBeGreaterThan(0);
    for (const f of races) expect(f.severity).toBe('error');
  });
});
