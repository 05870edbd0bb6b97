import { requestAfterCloseNotice } from '../../src/detect/detectors/request-after-close-notice';
import { analyzeSample, listSamples } from '../samples';
import { Capture, get, ofKind, ok } from './reuse-kit';

const KIND = 'request-after-close-notice';
const only = [requestAfterCloseNotice];

describe('request-after-close-notice: synthetic connections', () => {
  test('a request after Connection: close, sent after the server FIN arrived; the server resets it', () => {
    const cap = new Capture();
    const c = cap.connection();
    c.handshake(0).exchange(0.01, get('/a'), ok('bye', ['Connection: close']));
    c.fin(0.0112, 's');
    c.request(0.03, get('/b'), { noAck: true });
    c.rst(0.0301, 's');
    const [f, ...rest] = ofKind(cap.analyze(only), KIND);
    expect(rest).toEqual([]);
    expect(f.severity).toBe('warning');
    expect(f.client).toBe(c.clientName);
    expect(f.evidence).toMatchObject({
      request: 'GET /b',
      noticeStatus: 200,
      noticeVersion: 'HTTP/1.1',
      afterNotice: 0.019,
      requestAfterServerFin: true,
      requestAcksFin: true,
      state: 'no-response',
    });
    expect(f.evidence.rstTs).not.toBeNull();
    expect(f.frames).toHaveLength(4); // notice response, FIN, request, RST
    expect(f.summary).toContain('Connection: close');
    expect(f.summary).toContain('answered RST');
  });

  test('a 408 that answered no request (a first-request timer on a connection opened ahead), then a request: diagnosed as such', () => {
    const cap = new Capture();
    const c = cap.connection();
    c.handshake(0).response(2.7, ok('', ['Connection: close'], 'HTTP/1.1', '408 Request Timeout'));
    c.fin(2.7001, 's');
    c.request(3.5, get('/late'), { noAck: true });
    const r = cap.analyze(only);
    const [f, ...rest] = ofKind(r, KIND);
    expect(rest).toEqual([]);
    expect(f.evidence).toMatchObject({ request: 'GET /late', noticeStatus: 408, noticeUnasked: true, unusedBeforeNotice: 2.7, requestAfterServerFin: true, state: 'no-response' });
    const [d] = r.diagnoses;
    expect(d).toMatchObject({ kind: KIND, count: 1, anomalyIds: [f.id] });
    expect(d.explanation).toMatch(/followed a 408 that answered no request, sent on a connection opened 2\.7 s earlier and left unused/);
    expect(d.explanation).toContain('None was answered');
    expect(d.remedy).toMatch(/^Do not keep connections opened ahead unused/);
  });

  test("408s with no Server header on connections opened ahead, where the endpoint's other responses name Apache: a proxy in front's first-request timer, not Node's", () => {
    const run = (notice: string): { explanation: string; remedy: string } => {
      const cap = new Capture();
      cap.connection().handshake(0).exchange(0.01, get('/a'), ok('ok', ['Server: Apache/2.4.62 (Debian)']));
      const c = cap.connection();
      c.handshake(0.5).response(3.5, notice);
      c.fin(3.5001, 's');
      c.request(3.52, get('/late'), { noAck: true });
      return cap.analyze(only).diagnoses.find((d) => d.kind === KIND)!;
    };
    const front = run('HTTP/1.1 408 Request Time-out\r\ncontent-length: 0\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n');
    expect(front.explanation).toContain('the server\'s timer for a first request fired (a proxy in front: HAProxy `timeout http-request`');
    expect(front.explanation).toContain('`Server: Apache/2.4.62 (Debian)`');
    expect(front.explanation).not.toContain('headersTimeout');
    expect(front.remedy).toContain('HAProxy `timeout http-request`');
    // Near miss: Node's own 408 (no Server header anywhere) is still Node's.
    const cap = new Capture();
    const c = cap.connection();
    c.handshake(0).response(2.7, ok('', ['Connection: close'], 'HTTP/1.1', '408 Request Timeout'));
    c.fin(2.7001, 's');
    c.request(3.5, get('/late'), { noAck: true });
    const [node] = cap.analyze(only).diagnoses;
    expect(node.explanation).toContain("Node's http server: `headersTimeout`");
    expect(node.explanation).not.toContain('proxy in front');
  });

  test('a status line the snaplen cut inside its code (`HTTP/1.1 40`) is no 408: no idle notice is read into it', () => {
    const cap = new Capture();
    const c = cap.connection();
    c.handshake(0).exchange(0.01, get('/a'), ok()).request(0.96, get('/c'));
    c.response(1.01, ok('', ['Connection: close'], 'HTTP/1.1', '408 Request Timeout'), { keptPayload: 11 }).rst(1.0101, 's');
    const r = cap.analyze(only);
    expect(r.exchanges.map((e) => e.statusClass)).toEqual([undefined, '40x']);
    expect(ofKind(r, KIND).filter((f) => f.evidence.noticeStatus === 408)).toEqual([]);
  });

  test('a 408 the server sent on its own after idling on a used keep-alive connection: a request after it and one it crossed are races (errors), the idle time from the last response', () => {
    const R408 = ok('', ['Connection: close'], 'HTTP/1.1', '408 Request Timeout');
    const cap = new Capture();
    // The 408 came 1.0 s after the last response; the request 2 ms after the 408 (the client had not read it).
    const after = cap.connection();
    after.handshake(0).exchange(0.01, get('/a'), ok()).response(1.01, R408).fin(1.0101, 's');
    after.request(1.012, get('/b'), { noAck: true }).rst(1.0121, 's');
    // The request came 0.95 s after the last response and sat unread until the idle timer's 408 50 ms later.
    const crossed = cap.connection();
    crossed.handshake(5).exchange(5.01, get('/a'), ok()).request(5.96, get('/c')).response(6.01, R408).rst(6.0101, 's');
    // Never reused: the idle 408 comes, the client closes; nothing failed.
    const idle = cap.connection();
    idle.handshake(10).exchange(10.01, get('/a'), ok()).response(11.01, R408).fin(11.0101, 's').fin(11.02, 'c');
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found.map((f) => f.client).sort()).toEqual([after.clientName, crossed.clientName].sort());
    const fa = found.find((f) => f.client === after.clientName)!;
    const fc = found.find((f) => f.client === crossed.clientName)!;
    expect(fa.severity).toBe('error');
    expect(fa.evidence).toMatchObject({ request: 'GET /b', noticeUnasked: true, noticeCrossed: false, idleNotice: true, noticeOnUsedConnection: true, unusedBeforeNotice: null });
    expect(fa.evidence.idleBeforeNotice).toBeCloseTo(1.0, 2);
    expect(fc.severity).toBe('error');
    expect(fc.evidence).toMatchObject({ request: 'GET /c', noticeStatus: 408, noticeCrossed: true, idleNotice: true, noticeOnUsedConnection: true });
    expect(fc.evidence.idleBeforeRequest).toBeCloseTo(0.95, 2);
    expect(fc.evidence.idleBeforeNotice).toBeCloseTo(1.0, 2);
    expect(fc.summary).toContain('crossed the server\'s idle-close notice');
    const [d] = r.diagnoses;
    expect(d.severity).toBe('error');
    expect(d.inferred.serverIdleTimeout.value).toBeCloseTo(1.0, 2);
    expect(d.explanation).toContain('idle keep-alive timeout fired');
    expect(d.explanation).not.toContain('left unused');
    expect(d.remedy).toMatch(/^Keep the client's pool idle timeout below the server's idle keep-alive timeout/);
  });

  test('an HTTP/1.0 response without keep-alive is a close notice too; reported once per connection', () => {
    const cap = new Capture();
    const c = cap.connection();
    c.handshake(0).exchange(0.01, 'GET /a HTTP/1.0\r\n\r\n', ok('x', [], 'HTTP/1.0'));
    c.exchange(0.02, get('/b'), ok('served anyway'));
    c.exchange(0.03, get('/c'), ok('served anyway'));
    c.close(0.04, 'c');
    const found = ofKind(cap.analyze(only), KIND);
    expect(found).toHaveLength(1);
    expect(found[0].evidence).toMatchObject({ request: 'GET /b', noticeVersion: 'HTTP/1.0', state: 'complete' });
    expect(found[0].summary).toContain('HTTP/1.0 response, which closes unless it says keep-alive');
    expect(found[0].summary).toContain('answered it anyway');
  });

  describe('stays silent', () => {
    test('HTTP/1.0 with Connection: keep-alive on both sides', () => {
      const cap = new Capture();
      const c = cap.connection();
      const req = (u: string): string => `GET ${u} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n`;
      c.handshake(0).exchange(0.01, req('/a'), ok('x', ['Connection: keep-alive'], 'HTTP/1.0'));
      c.exchange(0.02, req('/b'), ok('y', ['Connection: keep-alive'], 'HTTP/1.0'));
      c.close(0.03, 'c');
      expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
    });

    test('a client that honours Connection: close and opens a new connection', () => {
      const cap = new Capture();
      const a = cap.connection();
      a.handshake(0).exchange(0.01, get('/a'), ok('bye', ['Connection: close'])).close(0.0112, 's');
      const b = cap.connection();
      b.handshake(0.02).exchange(0.03, get('/b')).close(0.04, 'c');
      expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
    });

    test('ordinary keep-alive reuse', () => {
      const cap = new Capture();
      const c = cap.connection();
      c.handshake(0).exchange(0.01).exchange(0.02).exchange(0.03).close(0.04, 'c');
      expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
    });

    test('a request pipelined before the closing response arrived', () => {
      const cap = new Capture();
      const c = cap.connection();
      c.handshake(0).request(0.01, get('/a')).request(0.011, get('/b'));
      c.response(0.02, ok('bye', ['Connection: close'])).fin(0.021, 's');
      c.fin(0.03, 'c');
      expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
    });
  });
});

// ---------------------------------------------------------------------------------------------- samples

const samples = new Map(listSamples().map((s) => [s.name, s]));

const silent = [
  'keepalive-race-crossing', 'keepalive-race-stale', 'keepalive-race-python', 'keepalive-node-agent', 'clean-keepalive-reuse',
  'client-closes-idle-first', 'connection-close-curl', 'half-close', 'abortive-close-after-response', 'http10-keepalive-and-close',
  'tcp-keepalive-probes', 'pipelining', 'chunked-responses', 'port-reuse', 'keepalive-race-apache-java', 'healthy-apache-lighttpd-java',
].filter((n) => samples.has(n));

(samples.has('request-after-close-notice') ? test : test.skip)('sample request-after-close-notice: each late request, with when it came relative to the FIN', async () => {
  const meta = samples.get('request-after-close-notice')!.meta!;
  const expected = (meta.expect ?? []).filter((e) => e.kind === KIND);
  const found = ofKind(await analyzeSample('request-after-close-notice'), KIND);
  expect(found.map((f) => f.client).sort()).toEqual(expected.map((e) => e.client).sort());
  for (const e of expected) {
    const f = found.find((x) => x.client === e.client)!;
    const ev = e.evidence as Record<string, number | string | boolean>;
    expect(f.evidence.method).toBe(ev.method);
    expect(f.evidence.uri).toBe(ev.uri);
    expect(Math.abs((f.evidence.afterNotice as number) * 1000 - (ev.afterNoticeMs as number))).toBeLessThanOrEqual(1);
    expect(f.evidence.rstTs).not.toBeNull();
    // The server closed right after its notice (not after an idle time).
    expect(f.evidence.serverFinAfterResponse as number).toBeLessThan(0.01);
  }
});

test.each(silent)('request-after-close-notice stays silent on sample %s', async (name) => {
  expect(ofKind(await analyzeSample(name), KIND).map((f) => f.summary)).toEqual([]);
});
