import * as path from 'node:path';
import { analyzeFiles } from '../../src/analyze';
import { resetBeforeResponse } from '../../src/detect/detectors/reset-before-response';
import { responseTruncated } from '../../src/detect/detectors/response-truncated';
import { SAMPLES_DIR } from '../samples';
import { Capture, Conn, get, ofKind } from './reuse-kit';

const KIND = 'response-truncated';
const only = [responseTruncated];

/** A response head declaring `length` body bytes, with the first `sent` of them. */
const partial = (length: number, sent: number): string =>
  `HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${length}\r\n\r\n${'x'.repeat(sent)}`;
const CHUNKED_HEAD = 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n';
const chunk = (n: number): string => `${n.toString(16)}\r\n${'e'.repeat(n)}\r\n`;

/**
 * A download that sends `sent` of `length` bytes at t + 0.01 and 100 more `busy` s later, then
 * nothing until the server's FIN `silence` s after that.
 */
function stalled(cap: Capture, t: number, silence: number, options: { busy?: number; uri?: string; length?: number; sent?: number } = {}): Conn {
  const c = cap.connection();
  const busy = options.busy ?? 0.5;
  c.handshake(t).request(t + 0.001, get(options.uri ?? '/export')).response(t + 0.01, partial(options.length ?? 5000, options.sent ?? 1100));
  c.response(t + 0.01 + busy, 'z'.repeat(100));
  c.close(t + 0.01 + busy + silence, 's');
  return c;
}

describe('response-truncated on synthetic connections', () => {
  test('bodies the server closed after the same silence mid-body: a read timeout between bytes, inferred', () => {
    const cap = new Capture();
    stalled(cap, 0, 2.0);
    stalled(cap, 3, 2.002, { sent: 200, busy: 1.4 });
    stalled(cap, 7, 2.001, { uri: '/report', busy: 0.1 });
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(3);
    expect(found[0].evidence).toMatchObject({
      request: 'GET /export',
      status: 200,
      framing: 'content-length',
      bodyDeclared: 5000,
      bodyReceived: 1200,
      bodyMissing: 3800,
      silenceBeforeClose: 2,
      closedWith: 'FIN',
    });
    expect(found[0].summary).toContain('1200 of its 5000 body bytes (3800 missing)');
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.inferred.responseStallTimeout.value).toBeCloseTo(2.001, 3);
    expect(d.inferred.responseTimeLimit).toBeUndefined();
    expect(d.explanation).toContain('silence between bytes');
  });

  test('bodies cut at the same time since the request, whatever their last silence: a limit on the whole exchange', () => {
    const cap = new Capture();
    for (const [t, pieces] of [
      [0, 3],
      [5, 6],
      [10, 9],
    ] as const) {
      const c = cap.connection();
      c.handshake(t).request(t + 0.001, get('/download')).response(t + 0.01, partial(100_000, 1000));
      // A piece every 0.2 s from a different start: the last one lands at a different distance from the cut.
      for (let k = 0; k < pieces; k++) c.response(t + 2.0 - 0.07 * (10 - pieces) - 0.2 * k, 'y'.repeat(500));
      c.close(t + 2.001, 's');
    }
    const r = cap.analyze(only);
    expect(ofKind(r, KIND)).toHaveLength(3);
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.inferred.responseTimeLimit.value).toBeCloseTo(2.0, 2);
    expect(d.inferred.responseStallTimeout).toBeUndefined();
    expect(d.explanation).toContain('WriteTimeout');
  });

  test('cuts spread over a periodic check past the request: the shortest is the limit (a worker timeout checked once a second)', () => {
    const cap = new Capture();
    for (const [t, wait] of [
      [0, 2.054],
      [4, 2.091],
      [8, 2.327],
      [12, 2.917],
    ] as const) {
      const c = cap.connection();
      c.handshake(t).request(t + 0.001, get('/stream')).response(t + 0.01, CHUNKED_HEAD + chunk(100));
      // A chunk every 0.1 s until the worker is killed, 20 ms after the last one.
      for (let k = 1; (k + 1) * 0.1 < wait; k++) c.response(t + 0.01 + k * 0.1, chunk(100));
      c.close(t + 0.001 + wait, 's');
    }
    const r = cap.analyze(only);
    expect(ofKind(r, KIND)).toHaveLength(4);
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.inferred.responseTimeLimit.value).toBeCloseTo(2.054, 3);
    expect(d.inferred.responseTimeLimit.spread).toBeCloseTo(0.863, 3);
    expect(d.explanation).toContain('periodic tick');
  });

  test('cuts no two of which agree, all within one tick long after their requests: a timer checked on a tick, the shortest its value', () => {
    const cap = new Capture();
    for (const [t, wait] of [
      [0, 2.006],
      [4, 2.091],
      [8, 2.365],
      [12, 2.899],
    ] as const) {
      const c = cap.connection();
      c.handshake(t).request(t + 0.001, get('/stream')).response(t + 0.01, CHUNKED_HEAD + chunk(100));
      c.response(t + 0.001 + wait - 0.05, chunk(100));
      c.close(t + 0.001 + wait, 's');
    }
    const d = cap.analyze(only).diagnoses.find((x) => x.kind === KIND)!;
    expect(d.inferred.responseTimeLimit.value).toBeCloseTo(2.006, 3);
    expect(d.inferred.responseTimeLimit.samples).toBe(4);
    expect(d.explanation).toContain('periodic tick');
  });

  test("a FIN right behind data a slow reader was taking (its window closed) is left out of the timing: the kernel drained the send buffer after the close", () => {
    const cap = new Capture();
    for (const t of [0, 5, 10]) {
      const c = cap.connection();
      c.handshake(t).request(t + 0.001, get('/stream')).response(t + 0.01, partial(400_000, 1000));
      c.response(t + 1.99, 'y'.repeat(1000));
      c.close(t + 2.011, 's');
    }
    for (const [t, drain] of [
      [15, 0.81],
      [20, 1.31],
    ] as const) {
      const c = cap.connection();
      c.handshake(t).request(t + 0.001, get('/file')).response(t + 0.01, partial(1_000_000, 1000));
      c.ack(t + 0.5, 'c', { window: 0 });
      c.ack(t + 0.9, 'c');
      c.response(t + 2.0 + drain, 'y'.repeat(1000));
      c.fin(t + 2.0 + drain + 0.00001, 's');
    }
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(5);
    expect(found.filter((f) => f.evidence.finBehindSlowReader === true)).toHaveLength(2);
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.inferred.responseTimeLimit.value).toBeCloseTo(2.01, 2);
    expect(d.inferred.responseTimeLimit.samples).toBe(3);
    expect(d.explanation).toContain('2 cuts whose FIN came right behind data');
  });

  test('a chunked body without its last chunk is cut; the close right after the last byte is the application ending it (no timer inferred)', () => {
    const cap = new Capture();
    for (const t of [0, 4]) {
      const c = cap.connection();
      c.handshake(t).request(t + 0.001, get('/events')).response(t + 0.01, CHUNKED_HEAD + chunk(20));
      c.response(t + 0.5 + t / 10, chunk(30));
      c.close(t + 0.5 + t / 10 + 0.002, 's');
    }
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(2);
    expect(found[0].evidence).toMatchObject({ framing: 'chunked', bodyDeclared: null, bodyMissing: null });
    expect(found[0].summary).toContain('without the last chunk');
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.inferred).toEqual({});
    expect(d.explanation).toContain('ended the response early');
  });

  test('bodies sent at once and then held until the close fit either timer: both are inferred, and the diagnosis says the timing cannot tell', () => {
    const cap = new Capture();
    for (const t of [0, 3, 6]) {
      const c = cap.connection();
      c.handshake(t).request(t + 0.001, get('/dl')).response(t + 0.002, partial(100_000, 30_000));
      c.close(t + 1.002 + t / 1000, 's');
    }
    const r = cap.analyze(only);
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.inferred.responseStallTimeout.value).toBeCloseTo(1.0, 2);
    expect(d.inferred.responseTimeLimit.value).toBeCloseTo(1.001, 2);
    expect(d.explanation).toContain('cannot tell which');
  });

  test('one truncation gets a diagnosis that infers no timer and names the likely ones', () => {
    const cap = new Capture();
    stalled(cap, 0, 1.5);
    const r = cap.analyze(only);
    expect(ofKind(r, KIND)).toHaveLength(1);
    const [d] = r.diagnoses.filter((x) => x.kind === KIND);
    expect(d.inferred).toEqual({});
    expect(d.count).toBe(1);
    expect(d.explanation).toContain('closed a response in the middle of its body');
    expect(d.explanation).toContain('One cut infers no timer');
    expect(d.explanation).toContain('proxy_read_timeout');
    expect(d.remedy).toContain('well inside 1.5 s');
  });

  test('one cut right after its last byte is the application ending it, told in the singular', () => {
    const cap = new Capture();
    stalled(cap, 0, 0.01);
    const r = cap.analyze(only);
    const [d] = r.diagnoses.filter((x) => x.kind === KIND);
    expect(d.inferred).toEqual({});
    expect(d.explanation).toContain('with a FIN, right after its last byte');
    expect(d.explanation).not.toContain('each');
  });

  test.each([
    ['the same target', '/slow', '/slow'],
    ['a path prefix the proxy strips (nginx location /api/ with proxy_pass http://backend/)', '/api/slow', '/slow'],
    ['a path prefix the proxy adds (HAProxy set-path /v1%[path])', '/slow', '/v1/slow'],
    ['the absolute form a forward proxy gets', 'http://10.0.0.9:9000/slow', '/slow'],
  ])("a proxy's cut names its upstream leg, which it abandoned at the same moment: %s", (_what, clientTarget, backendTarget) => {
    const cap = new Capture();
    for (const t of [0, 4, 8]) {
      const front = cap.connection({ client: '10.0.0.1', server: '10.0.0.5', sport: 8080 });
      const back = cap.connection({ client: '10.0.0.5', server: '10.0.0.9', sport: 9000 });
      front.handshake(t).request(t + 0.001, get(clientTarget));
      back.handshake(t + 0.002).request(t + 0.003, get(backendTarget)).response(t + 0.01, partial(5000, 700));
      front.response(t + 0.011, partial(5000, 700));
      // The backend sends more for a while (longer each time), then stalls; the proxy passes its
      // last bytes on 0.2 s late (HAProxy's kernel holds a partial segment it sent with MSG_MORE).
      const busy = 0.1 + t * 0.15;
      back.response(t + 0.01 + busy, 'z'.repeat(300));
      front.response(t + 0.211 + busy, 'z'.repeat(300));
      back.close(t + 2.01 + busy, 'c');
      front.close(t + 2.0101 + busy, 's');
    }
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    // The upstream legs were closed by the proxy (their client): no truncation by their server.
    expect(found.map((f) => f.server)).toEqual(['10.0.0.5:8080', '10.0.0.5:8080', '10.0.0.5:8080']);
    expect(found[0].evidence).toMatchObject({ upstreamServer: '10.0.0.9:9000', upstreamSilence: 2 });
    expect(found[0].summary).toContain('closed its upstream leg to 10.0.0.9:9000 at the same moment');
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    // Timed on the upstream legs, where the proxy's timer ran: 1.8 s on the client legs.
    expect(found[0].evidence.silenceBeforeClose).toBeCloseTo(1.8, 2);
    expect(d.inferred.responseStallTimeout.value).toBeCloseTo(2.0, 2);
    expect(d.explanation).toContain('backend stalled mid-body');
  });

  test("a backend that writes its next event after the proxy gave up (into the proxy's RST): the proxy's timer is timed to the data before its close", () => {
    // Blind round 10: an SSE stream behind nginx (proxy_read_timeout 3s) whose backend sends an event
    // every 0.2 s, stalls 4 s, then writes the next one into the closed upstream leg. That late write
    // made the upstream leg's silence the whole response's (4 s, "either timer"): it is 3 s.
    const cap = new Capture();
    for (const t of [0, 5, 10]) {
      const front = cap.connection({ client: '10.0.0.1', server: '10.0.0.5', sport: 8080 });
      const back = cap.connection({ client: '10.0.0.5', server: '10.0.0.9', sport: 9000 });
      front.handshake(t).request(t + 0.001, get('/events'));
      back.handshake(t + 0.002).request(t + 0.003, get('/events')).response(t + 0.01, CHUNKED_HEAD + chunk(10));
      front.response(t + 0.011, CHUNKED_HEAD + chunk(10));
      for (const k of [1, 2]) {
        back.response(t + 0.01 + 0.2 * k, chunk(10));
        front.response(t + 0.011 + 0.2 * k, chunk(10));
      }
      back.fin(t + 3.41, 'c');
      front.fin(t + 3.4101, 's');
      back.response(t + 4.41, chunk(10));
      back.rst(t + 4.4101, 'c');
    }
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found.map((f) => f.server)).toEqual(['10.0.0.5:8080', '10.0.0.5:8080', '10.0.0.5:8080']);
    expect(found[0].evidence.upstreamSilence).toBeCloseTo(3.0, 3);
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.inferred.responseStallTimeout.value).toBeCloseTo(3.0, 3);
    expect(d.inferred.responseTimeLimit).toBeUndefined();
    expect(d.explanation).toContain('backend stalled mid-body');
  });

  test("a backend's cut that a proxy passed on is the backend's: the proxy's finding says so and infers no timer of its own", () => {
    const cap = new Capture();
    for (const t of [0, 4, 8]) {
      const front = cap.connection({ client: '10.0.0.1', server: '10.0.0.5', sport: 8080 });
      const back = cap.connection({ client: '10.0.0.5', server: '10.0.0.9', sport: 9000 });
      front.handshake(t).request(t + 0.001, get('/dump'));
      back.handshake(t + 0.002).request(t + 0.003, get('/dump')).response(t + 0.01, partial(5000, 700));
      front.response(t + 0.011, partial(5000, 700));
      back.close(t + 1.51, 's');
      front.close(t + 1.5102, 's');
    }
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(6);
    const front = found.filter((f) => f.server === '10.0.0.5:8080');
    expect(front).toHaveLength(3);
    expect(front[0].evidence.relayedFromFlowId).not.toBeNull();
    expect(front[0].summary).toContain("passed on its backend's cut");
    const diagnosed = r.diagnoses.filter((x) => x.kind === KIND).map((x) => x.server);
    expect(diagnosed).toEqual(['10.0.0.9:9000']);
    // The proxy's findings that passed the cuts on are listed in the backend's diagnosis, whose cause they share.
    const backend = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(backend.anomalyIds).toEqual(expect.arrayContaining(front.map((f) => f.id)));
    expect(backend.explanation).toContain('A proxy in front (10.0.0.5:8080) passed 3 of the cuts on');
  });

  test('a server that paces its chunks and ends a response one pause after the last: its own pace, no timer on the silence between bytes (blind round 13, S18)', () => {
    const cap = new Capture();
    // A chunk every 0.2 s, three of them, then the process exits 0.2 s after the third: curl, Java, fetch.
    for (const [t, agent] of [
      [0, 'curl/7.88.1'],
      [2, 'Java-http-client/17.0.15'],
      [4, 'node'],
    ] as const) {
      const c = cap.connection();
      c.handshake(t).request(t + 0.001, get('/stream', [`User-Agent: ${agent}`])).response(t + 0.002, CHUNKED_HEAD + chunk(1000));
      c.response(t + 0.2025, chunk(1000));
      c.response(t + 0.4035, chunk(1000));
      c.close(t + 0.605 + t * 0.001, 's');
    }
    const r = cap.analyze(only);
    expect(ofKind(r, KIND)).toHaveLength(3);
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.inferred.responseStallTimeout).toBeUndefined();
    expect(d.explanation).not.toContain('A timer that measures silence between bytes gave up');
    expect(d.explanation).toContain('paused as long');
    expect(d.explanation).toContain('process exited or crashed');
    expect(d.remedy).not.toContain('raise that read timeout');
    // Each client's own report: Node's fetch is not the http module's 'aborted'.
    expect(d.explanation).toContain('TypeError "terminated" with cause SocketError "other side closed"');
    expect(d.explanation).not.toContain("'aborted'");
    expect(d.explanation).toContain('chunked transfer encoding, state: READING_LENGTH');
  });

  test('a near miss: paced pieces shorter than the silence before the cut are still a read timeout between bytes', () => {
    const cap = new Capture();
    for (const t of [0, 3, 6]) {
      const c = cap.connection();
      c.handshake(t).request(t + 0.001, get('/stream')).response(t + 0.002, CHUNKED_HEAD + chunk(1000));
      c.response(t + 0.152, chunk(1000));
      c.response(t + 0.302, chunk(1000));
      c.close(t + 0.502 + t * 0.0005, 's');
    }
    const d = cap.analyze(only).diagnoses.find((x) => x.kind === KIND)!;
    expect(d.inferred.responseStallTimeout.value).toBeCloseTo(0.2, 2);
    expect(d.explanation).toContain('A timer that measures silence between bytes gave up');
  });

  test('one cut after a silence no longer than a pause the response had made before: not read as a timer', () => {
    const cap = new Capture();
    stalled(cap, 0, 0.5, { busy: 0.6 });
    const d = cap.analyze(only).diagnoses.find((x) => x.kind === KIND)!;
    expect(d.explanation).toContain('paused as long');
    expect(d.explanation).not.toContain('most often one');
  });

  test('one cut a little after its pace (chunks 0.3 s apart, the close 0.365 s after the last: an exit\'s teardown) is not "most often a timer"; three times its pace is (blind round 14, S3a)', () => {
    const run = (silence: number): { explanation: string; remedy: string } => {
      const cap = new Capture();
      const c = cap.connection();
      c.handshake(0).request(0.001, get('/stream')).response(0.002, CHUNKED_HEAD + chunk(400));
      for (let k = 1; k <= 4; k++) c.response(0.002 + k * 0.305, chunk(400));
      c.close(0.002 + 4 * 0.305 + silence, 's');
      return cap.analyze(only).diagnoses.find((x) => x.kind === KIND)!;
    };
    const near = run(0.365);
    expect(near.explanation).toContain('this silence is little longer: the server may have ended it itself at its own pace');
    expect(near.explanation).not.toContain('most often one');
    expect(near.remedy).toContain('process manager');
    const far = run(0.95);
    expect(far.explanation).toContain('most often one');
  });

  describe('silent', () => {
    test('whole bodies, bodies the close delimits, HEAD and 304 heads with a Content-Length', () => {
      const cap = new Capture();
      const whole = cap.connection();
      whole.handshake(0).request(0.001, get('/a')).response(0.01, partial(300, 300));
      whole.close(0.02, 's');
      const closeDelimited = cap.connection();
      closeDelimited.handshake(1).request(1.001, get('/b')).response(1.01, 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nsome');
      closeDelimited.response(2.0, 'more');
      closeDelimited.close(3.5, 's');
      const head = cap.connection();
      head.handshake(4).request(4.001, 'HEAD /c HTTP/1.1\r\nHost: example\r\n\r\n').response(4.01, 'HTTP/1.1 200 OK\r\nContent-Length: 9000\r\n\r\n');
      head.close(6.5, 's');
      const notModified = cap.connection();
      notModified.handshake(7).request(7.001, get('/d', ['If-None-Match: "x"'])).response(7.01, 'HTTP/1.1 304 Not Modified\r\nContent-Length: 9000\r\n\r\n');
      notModified.close(9.5, 's');
      expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
    });

    test('a client that closed first mid-body gave up itself; a capture that ends mid-body is still open', () => {
      const cap = new Capture();
      for (const t of [0, 3]) {
        const c = cap.connection();
        c.handshake(t).request(t + 0.001, get('/big')).response(t + 0.01, partial(90_000, 2000));
        c.close(t + 1.0, 'c');
      }
      const open = cap.connection();
      open.handshake(6).request(6.001, get('/big')).response(6.01, partial(90_000, 2000));
      expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
    });

    test("a server reset mid-body is reset-before-response's", () => {
      const cap = new Capture();
      const c = cap.connection();
      c.handshake(0).request(0.001, get('/x')).response(0.01, partial(5000, 1000));
      c.rstAck(2.01, 's');
      const r = cap.analyze([responseTruncated, resetBeforeResponse]);
      expect(ofKind(r, KIND)).toEqual([]);
      expect(ofKind(r, 'reset-before-response')).toHaveLength(1);
    });

    test("a client whose window was closed while the server waited stopped reading: zero-window-stall's, not a cut", () => {
      const cap = new Capture();
      const c = cap.connection();
      c.handshake(0).request(0.001, get('/x')).response(0.01, partial(500_000, 3000));
      c.ack(0.02, 'c', { window: 0 });
      c.close(60.02, 's');
      expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
    });

    test('bytes of the response the capture lost: what was sent is unknown', () => {
      const cap = new Capture();
      const c = cap.connection();
      c.handshake(0).request(0.001, get('/x')).response(0.01, partial(5000, 1000));
      c.unseen('s', 'x'.repeat(4000));
      c.close(0.5, 's');
      expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
    });
  });
});

describe("response-truncated: a limit enforced at the handler's next write (Go's WriteTimeout) cuts at no fixed time (blind round 15 S12)", () => {
  /**
   * A chunked stream written every `every` s (a Go handler: no Server header unless `server`);
   * the server's FIN `cutAt` s after the request, after its last chunk at the last write before it.
   */
  function goStream(cap: Capture, t: number, every: number, cutAt: number, server: string | null = null): void {
    const c = cap.connection();
    const head = server === null ? CHUNKED_HEAD : CHUNKED_HEAD.replace('\r\n', `\r\nServer: ${server}\r\n`);
    c.handshake(t).request(t + 0.001, get('/stream/slow')).response(t + 0.002, head + chunk(32));
    for (let w = every; w <= 1; w += every) c.response(t + 0.001 + w, chunk(32));
    c.close(t + 0.001 + cutAt, 's');
  }

  test('WriteTimeout 1 s, writes every 0.2 and 0.3 s, cuts 1.236 and 1.544 s after the request: named, at or below the earliest cut', () => {
    const cap = new Capture();
    goStream(cap, 0, 0.2, 1.236);
    goStream(cap, 5, 0.3, 1.544);
    const d = cap.analyze(only).diagnoses.find((x) => x.kind === KIND)!;
    expect(d.explanation).not.toContain('no single timer');
    expect(d.explanation).toContain('Go `http.Server.WriteTimeout`');
    expect(d.explanation).toContain('at or below 1.236 s');
    expect(d.remedy).toContain('compare its WriteTimeout with 1.236 s');
  });

  test('near miss: the same cuts from a server that names other software (nginx): no Go limit offered', () => {
    const cap = new Capture();
    goStream(cap, 0, 0.2, 1.236, 'nginx/1.22.1');
    goStream(cap, 5, 0.3, 1.544, 'nginx/1.22.1');
    const d = cap.analyze(only).diagnoses.find((x) => x.kind === KIND)!;
    expect(d.explanation).toContain('no timer that fires at a fixed time');
    expect(d.explanation).not.toContain('WriteTimeout');
  });

  test('one cut 1.239 s after the request: the remedy bounds a limit on the whole exchange too, not only the silence', () => {
    const cap = new Capture();
    goStream(cap, 0, 0.2, 1.239);
    const d = cap.analyze(only).diagnoses.find((x) => x.kind === KIND)!;
    expect(d.remedy).toContain('If instead a limit on the whole exchange cut it, it is set at or below 1.239 s');
    expect(d.remedy).toContain('SetWriteDeadline');
  });
});

describe('response-truncated on the recorded SSE streams whose backend wrote after nginx gave up', () => {
  test("nginx's proxy_read_timeout of 3 s is timed to the backend's event before the close, not to its late write after it", async () => {
    const r = await analyzeFiles([path.join(SAMPLES_DIR, 'response-truncated-sse-late-write.pcap')]);
    const d = r.diagnoses.find((x) => x.kind === KIND && x.server === '127.0.0.2:8080')!;
    expect(d.count).toBe(3);
    expect(Math.abs(d.inferred.responseStallTimeout.value - 3.0)).toBeLessThan(0.05);
    expect(d.inferred.responseTimeLimit).toBeUndefined();
    expect(d.explanation).toContain('proxy_read_timeout');
  });
});

describe("response-truncated: nginx's read timer, re-armed lazily, on a backend stalled mid-body (blind round 14, S3c)", () => {
  const NGINX_HEAD = 'HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n';
  const BACKEND_HEAD = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n';

  /**
   * nginx (proxy_buffering off) relays a backend's chunks `gaps` s apart, then the backend stalls
   * and nginx closes both legs `silence` s after the last chunk. `legs` says which the capture has.
   */
  function proxied(legs: 'both' | 'client' | 'upstream', gaps: readonly number[], silence: number, frontHead = NGINX_HEAD): Capture {
    const cap = new Capture();
    const front = legs !== 'upstream' ? cap.connection({ client: '10.0.0.1', server: '10.0.0.5', sport: 8080 }) : null;
    const back = legs !== 'client' ? cap.connection({ client: '10.0.0.5', server: '10.0.0.9', sport: 9000 }) : null;
    front?.handshake(0).request(0.001, get('/stream'));
    back?.handshake(0.002).request(0.003, get('/stream', ['Connection: close', 'User-Agent: curl/7.88.1']));
    back?.response(0.0033, BACKEND_HEAD + chunk(400));
    front?.response(0.0035, frontHead + chunk(400));
    let t = 0.0033;
    for (const gap of gaps) {
      t += gap;
      back?.response(t, chunk(400));
      front?.response(t + 0.0002, chunk(400));
    }
    back?.fin(t + silence, 'c');
    front?.fin(t + silence + 0.0001, 's');
    return cap;
  }

  test('both legs: the timer lies between the silence after the last chunk (1.404 s) and the time since the chunk 0.300 s before it (1.704 s), measured on the upstream leg', () => {
    const r = proxied('both', [0.303, 0.3003], 1.404).analyze(only);
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(1);
    expect(found[0].evidence).toMatchObject({ upstreamSilence: 1.404, readTimerAtLeast: 1.404, readTimerAtMost: 1.704 });
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.explanation).toContain('proxy_read_timeout');
    expect(d.explanation).toContain('between 1.404 s and 1.704 s');
    expect(d.explanation).toContain('NGX_TIMER_LAZY_DELAY');
  });

  test('client leg alone: the same range from the relays, the silence said to be a lower bound', () => {
    const r = proxied('client', [0.303, 0.3003], 1.404).analyze(only);
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(1);
    expect(found[0].evidence).toMatchObject({ readTimerAtLeast: 1.404, readTimerAtMost: 1.704 });
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.explanation).toContain('between 1.404 s and 1.704 s');
    expect(d.explanation).toContain('lower bound');
  });

  test('near miss: chunks 0.5 s apart re-armed the timer at the last one: the silence is the timer, no range', () => {
    const r = proxied('both', [0.5, 0.5], 1.7).analyze(only);
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(1);
    expect(found[0].evidence.readTimerAtMost).toBeUndefined();
    expect(r.diagnoses.find((x) => x.kind === KIND)!.explanation).not.toContain('NGX_TIMER_LAZY_DELAY');
  });

  test('a body streamed in many small segments up to the stall: the range reaches back the whole 0.3 s (and the clock slack), no further', () => {
    const gaps = Array.from({ length: 40 }, () => 0.05);
    const r = proxied('both', gaps, 1.45).analyze(only);
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(1);
    expect(found[0].evidence).toMatchObject({ readTimerAtLeast: 1.45 });
    expect(found[0].evidence.readTimerAtMost).toBeGreaterThanOrEqual(1.7);
    expect(found[0].evidence.readTimerAtMost).toBeLessThanOrEqual(1.761);
  });

  test('near miss: a proxy that does not name itself nginx gets no lazy range', () => {
    const r = proxied('both', [0.303, 0.3003], 1.404, BACKEND_HEAD).analyze(only);
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(1);
    expect(found[0].evidence.readTimerAtMost).toBeUndefined();
  });
});

describe('response-truncated: the log that tells which timeout cut it, by the proxy (blind15 longlived s06)', () => {
  const FRONT_HEAD = 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n';
  /** An SSE stream through a proxy (upstream request `upstreamHead`), events 1 s apart, then the backend stalls and the proxy closes both legs 6 s later (RST upstream). */
  function sse(upstreamHead: string): Capture {
    const cap = new Capture();
    const front = cap.connection({ client: '10.0.0.1', server: '10.0.0.5', sport: 8102 });
    const back = cap.connection({ client: '10.0.0.5', server: '10.0.0.9', sport: 9102 });
    front.handshake(0).request(0.001, get('/sse', ['User-Agent: curl/7.88.1']));
    back.handshake(0.002).request(0.003, upstreamHead).response(0.004, CHUNKED_HEAD + chunk(17));
    front.response(0.0042, FRONT_HEAD + chunk(17));
    let t = 0.004;
    for (let k = 0; k < 2; k++) {
      t += 1;
      back.response(t, chunk(17));
      front.response(t + 0.0002, chunk(17));
    }
    back.rst(t + 6.003, 'c');
    front.fin(t + 6.0031, 's');
    return cap;
  }

  test('upstream requests with lower-case field names (HAProxy 2.x) and no Server header: HAProxy\'s termination flags, not nginx\'s error line', () => {
    const r = sse('GET /sse HTTP/1.1\r\nhost: 10.0.0.5:8102\r\nuser-agent: curl/7.88.1\r\naccept: */*\r\n\r\n').analyze(only);
    expect(ofKind(r, KIND)).toHaveLength(1);
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.remedy).toContain('termination flags `sD`');
    expect(d.remedy).toContain('`cD`');
    expect(d.remedy).not.toContain('upstream timed out');
  });

  test('near miss: the same cut whose upstream request keeps its client\'s field case keeps nginx\'s hint', () => {
    const r = sse(get('/sse', ['User-Agent: curl/7.88.1'])).analyze(only);
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.remedy).toContain('upstream timed out');
    expect(d.remedy).not.toContain('termination flags');
  });
});

describe('response-truncated: several cuts by one nginx read timer re-armed lazily', () => {
  const NGINX_HEAD = 'HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n';
  const BACKEND_HEAD = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n';

  /** One stream through nginx at `at`: chunks `gaps` apart, then both legs closed `silence` s after the last. */
  function stream(cap: Capture, at: number, gaps: readonly number[], silence: number, frontHead = NGINX_HEAD): void {
    const front = cap.connection({ client: '10.0.0.1', server: '10.0.0.5', sport: 8080 });
    const back = cap.connection({ client: '10.0.0.5', server: '10.0.0.9', sport: 9000 });
    front.handshake(at).request(at + 0.001, get('/stream'));
    back.handshake(at + 0.002).request(at + 0.003, get('/stream'));
    back.response(at + 0.0033, BACKEND_HEAD + chunk(400));
    front.response(at + 0.0035, frontHead + chunk(400));
    let t = at + 0.0033;
    for (const gap of gaps) {
      t += gap;
      back.response(t, chunk(400));
      front.response(t + 0.0002, chunk(400));
    }
    back.fin(t + silence, 'c');
    front.fin(t + silence + 0.0001, 's');
  }

  test('silences of 1.404, 1.45 and 1.5 s by one 1.7 s timer: one stall timer, between 1.5 and 1.7 s (before: no single timer)', () => {
    const cap = new Capture();
    stream(cap, 0, [0.303, 0.3003], 1.404);
    stream(cap, 5, [0.25, 0.25], 1.45);
    stream(cap, 10, [0.2, 0.2, 0.2], 1.5);
    const r = cap.analyze(only);
    expect(ofKind(r, KIND)).toHaveLength(3);
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.inferred.responseStallTimeout.value).toBeCloseTo(1.5, 3);
    expect(d.explanation).toContain('1.404-1.5 s mid-body');
    expect(d.explanation).toContain('between 1.5 s and 1.7 s');
    expect(d.explanation).not.toContain('no single timer');
  });

  test('near miss: the same silences from a proxy that is not nginx: no lazy timer (the silences alone, as before)', () => {
    const cap = new Capture();
    stream(cap, 0, [0.303, 0.3003], 1.404, BACKEND_HEAD);
    stream(cap, 5, [0.25, 0.25], 1.45, BACKEND_HEAD);
    stream(cap, 10, [0.2, 0.2, 0.2], 1.5, BACKEND_HEAD);
    const d = cap.analyze(only).diagnoses.find((x) => x.kind === KIND)!;
    expect(d.inferred.responseStallTimeout?.value ?? 0).toBeLessThan(1.49);
    expect(d.explanation).not.toContain('NGX_TIMER_LAZY_DELAY');
  });

  test('near miss: nginx cuts whose ranges share no value (1.0 s and 1.6 s of silence after chunks 0.5 s apart): not one timer', () => {
    const cap = new Capture();
    stream(cap, 0, [0.5, 0.5], 1.0);
    stream(cap, 5, [0.5, 0.5], 1.6);
    const d = cap.analyze(only).diagnoses.find((x) => x.kind === KIND)!;
    expect(d.explanation).not.toContain('NGX_TIMER_LAZY_DELAY');
  });
});
