import { responseTruncated } from '../../src/detect/detectors/response-truncated';
import { at } from '../../src/detect/facts';
import { coverageWarnings, uncoveredReasons } from '../../src/report/capture-coverage';
import { Capture, get, ofKind, T0 } from './reuse-kit';

/**
 * A FIN the capture dropped (tcpdump's "packets dropped by kernel") still shows: it takes a
 * sequence number, which the peer's acknowledgement covers (Endpoint.finUnseen). Blind round 16,
 * S12: an app cut a body (Content-Length 200000, 50000 sent, FIN), nginx and HAProxy passed the
 * cut on; for the second request nginx's FIN to HAProxy was one of the 3 packets tcpdump dropped.
 * That leg's cut was not found, HAProxy's cut was linked to the app past nginx, and neither
 * stats.captureLoss, the coverage warning nor --require-coverage said the capture had lost anything.
 */

const KIND = 'response-truncated';
const only = [responseTruncated];

/** A response head declaring `length` body bytes, with the first `sent` of them. */
const partial = (length: number, sent: number): string =>
  `HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${length}\r\n\r\n${'x'.repeat(sent)}`;

const CLIENT = '10.16.0.10';
const HAPROXY = '10.16.0.11';
const NGINX = '10.16.0.12';
const APP = '10.16.0.20';

/**
 * client → HAProxy → nginx → app, one request whose body the app cuts; nginx's FIN to HAProxy is
 * dropped by the capture (`nginxFinSeen` false) or not. HAProxy closes its client's leg first, then
 * its leg to nginx with a FIN that acknowledges nginx's (as in S12: 0.044 ms apart).
 */
function chain(nginxFinSeen: boolean): Capture {
  const cap = new Capture();
  const request = get('/trunc?i=1');
  const a = cap.connection({ client: CLIENT, server: HAPROXY, sport: 80 });
  const b = cap.connection({ client: HAPROXY, server: NGINX, sport: 80 });
  const c = cap.connection({ client: NGINX, server: APP, sport: 8000 });
  a.handshake(0).request(0.0002, request);
  b.handshake(0.0003).request(0.0006, request);
  c.handshake(0.003).request(0.0033, request);
  c.response(0.0038, partial(200_000, 5000));
  c.fin(0.0040, 's').ack(0.0041, 'c').fin(0.0042, 'c').ack(0.0043, 's');
  b.response(0.0041, partial(200_000, 5000));
  if (nginxFinSeen) b.fin(0.0044, 's');
  else b.finUnseen('s');
  a.response(0.0043, partial(200_000, 5000));
  a.fin(0.0045, 's').ack(0.0046, 'c').fin(0.0047, 'c').ack(0.0048, 's');
  // HAProxy's FIN to nginx: its acknowledgement covers nginx's FIN, seen or not.
  b.fin(0.00494, 'c').ack(0.00496, 's');
  return cap;
}

describe('response-truncated: a server FIN the capture missed', () => {
  test('a proxy leg whose FIN was dropped: its cut is found at the acknowledgement that proves it, and the chain goes through it', () => {
    const r = chain(false).analyze(only);
    const found = ofKind(r, KIND);
    const byServer = new Map(found.map((f) => [f.server, f]));
    expect([...byServer.keys()].sort()).toEqual([`${HAPROXY}:80`, `${NGINX}:80`, `${APP}:8000`]);
    const app = byServer.get(`${APP}:8000`)!;
    const nginx = byServer.get(`${NGINX}:80`)!;
    const haproxy = byServer.get(`${HAPROXY}:80`)!;
    // nginx's leg: timed at HAProxy's FIN, whose acknowledgement proves nginx's.
    expect(nginx.evidence).toMatchObject({ closedWith: 'FIN', finUnseen: true, bodyReceived: 5000, bodyMissing: 195_000, relayedFromFlowId: app.flowId });
    expect(nginx.evidence.closedAt).toBe(at(T0 + 0.00494));
    expect(nginx.summary).toContain('the capture missed its FIN');
    // HAProxy passed nginx's cut on (it closed 0.044 ms before its FIN acknowledged nginx's), not the app's past nginx.
    expect(haproxy.evidence.relayedFromFlowId).toBe(nginx.flowId);
    expect(haproxy.summary).toContain(`passed on its backend's cut: ${NGINX}:80 had closed the upstream leg before (a FIN the capture missed)`);
    expect(app.evidence.finUnseen).toBeUndefined();
    // One diagnosis at the app holding every finding of the chain: the header counts what is listed.
    expect(r.diagnoses).toHaveLength(1);
    expect([...r.diagnoses[0].anomalyIds].sort()).toEqual(found.map((f) => f.id).sort());
    expect(r.diagnoses[0].explanation).toContain(`Proxies in front (nearest first: ${NGINX}:80, ${HAPROXY}:80) passed the cut on, hop by hop`);
  });

  test('the dropped FIN is capture loss: counted, warned of, and --require-coverage fails', () => {
    const r = chain(false).analyze(only);
    expect(r.stats.captureLoss).toEqual({ connections: 0, bytes: 0, fins: 1 });
    const warnings = coverageWarnings(r);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('the capture misses 1 FIN');
    expect(uncoveredReasons(r)).toHaveLength(1);
  });

  test('near miss: the same chain with every FIN seen is no capture loss, and the same chain of cuts', () => {
    const r = chain(true).analyze(only);
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(3);
    expect(found.every((f) => f.evidence.finUnseen === undefined)).toBe(true);
    expect(r.stats.captureLoss).toEqual({ connections: 0, bytes: 0 });
    expect(coverageWarnings(r)).toEqual([]);
    expect(r.diagnoses[0].anomalyIds).toHaveLength(3);
  });

  test('a single leg: the client acknowledged the dropped FIN at once and closed seconds later: the cut is at the acknowledgement, not the client\'s close', () => {
    const cap = new Capture();
    const c = cap.connection();
    c.handshake(0).request(0.001, get('/big')).response(0.01, partial(5000, 1000));
    c.finUnseen('s').ack(0.0111, 'c');
    c.fin(3, 'c').ack(3.0001, 's');
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(1);
    expect(found[0].evidence).toMatchObject({ finUnseen: true, silenceBeforeClose: 0.001, bodyReceived: 1000 });
    expect(found[0].summary).toContain("10.0.0.1:40000's acknowledgement proves");
    expect(r.stats.captureLoss.fins).toBe(1);
  });

  test('a body its close delimits, the close dropped: the HTTP session hears the end at the acknowledgement, and the response is whole', () => {
    const cap = new Capture();
    const c = cap.connection();
    c.handshake(0).request(0.001, get('/page')).response(0.01, 'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n' + 'p'.repeat(500));
    c.finUnseen('s').ack(0.0121, 'c');
    c.fin(2, 'c').ack(2.0001, 's');
    const r = cap.analyze([]);
    expect(r.exchanges.map((e) => [e.status, e.state, e.responseBodyBytes, e.responseFraming])).toEqual([[200, 'complete', 500, 'close']]);
    expect(r.exchanges[0].responseEnd).toBeCloseTo(T0 + 0.0121, 6);
  });

  test('near miss: a FIN never sent (the connection still open at the capture\'s end) stays open: no cut, no loss', () => {
    const cap = new Capture();
    const c = cap.connection();
    c.handshake(0).request(0.001, get('/big')).response(0.01, partial(5000, 1000));
    c.ack(0.5, 'c');
    const r = cap.analyze(only);
    expect(ofKind(r, KIND)).toEqual([]);
    expect(r.flows[0].state).toBe('S1');
    expect(r.stats.captureLoss).toEqual({ connections: 0, bytes: 0 });
    expect(coverageWarnings(r)).toEqual([]);
  });

  test('near miss: a snaplen that cut the body is no capture loss (the FIN seen)', () => {
    const cap = new Capture();
    const c = cap.connection();
    c.handshake(0).request(0.001, get('/big'));
    c.send(0.01, 's', partial(5000, 1000), { keptPayload: 60 }).ack(0.0101, 'c');
    c.fin(0.02, 's').ack(0.0201, 'c');
    c.fin(0.03, 'c').ack(0.0301, 's');
    const r = cap.analyze(only);
    expect(r.stats.snaplenCut).toBeGreaterThan(0);
    expect(r.stats.captureLoss).toEqual({ connections: 0, bytes: 0 });
  });

  test('a FIN proven only by the server\'s RST one past it (the client never acknowledged it): a FIN cut all the same, but no capture loss (it may have been lost on the path)', () => {
    const cap = new Capture();
    const c = cap.connection();
    c.handshake(0).request(0.001, get('/big')).response(0.01, partial(5000, 1000));
    c.finUnseen('s');
    c.rst(0.2, 's');
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(1);
    expect(found[0].evidence).toMatchObject({ finUnseen: true, closedWith: 'FIN' });
    expect(found[0].summary).toContain("the sequence number of 10.0.0.2:80's RST proves");
    expect(r.stats.captureLoss).toEqual({ connections: 0, bytes: 0 });
  });
});
