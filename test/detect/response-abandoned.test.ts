import { responseAbandoned } from '../../src/detect/detectors/response-abandoned';
import { responseTruncated } from '../../src/detect/detectors/response-truncated';
import { unansweredRequest } from '../../src/detect/detectors/unanswered-request';
import { Https } from './https-kit';
import { Capture, Conn, get, ofKind, ok } from './reuse-kit';
import { analyzeSample } from '../samples';
import { reachesFailOn } from '../../src/cli/fail-on';

const KIND = 'response-abandoned';
const only = [responseAbandoned];

const partial = (length: number, sent: number): string =>
  `HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${length}\r\n\r\n${'x'.repeat(sent)}`;
const CHUNKED_HEAD = 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n';
const chunk = (n: number): string => `${n.toString(16)}\r\n${'e'.repeat(n)}\r\n`;

interface Download {
  uri?: string;
  agent?: string;
  client?: string;
  server?: string;
  sport?: number;
  /** Seconds the body flows (a piece every `every` s from the head on). */
  flows: number;
  every?: number;
  /** Seconds from the request to the client's close. */
  closeAt: number;
  rst?: boolean;
}

/** A request at t + 0.001 whose Content-Length body flows for `flows` s, then nothing until the client closes at t + 0.001 + closeAt. */
function download(cap: Capture, t: number, d: Download): Conn {
  const c = cap.connection({ client: d.client, server: d.server, sport: d.sport });
  const every = d.every ?? 0.25;
  c.handshake(t).request(t + 0.001, get(d.uri ?? '/download', d.agent !== undefined ? [`User-Agent: ${d.agent}`] : [])).response(t + 0.011, partial(1_000_000, 500));
  for (let k = 1; 0.01 + k * every <= d.flows && 0.01 + k * every < d.closeAt; k++) c.response(t + 0.011 + k * every, 'y'.repeat(1000));
  if (d.rst === true) c.rstAck(t + 0.001 + d.closeAt, 'c');
  else c.close(t + 0.001 + d.closeAt, 'c');
  return c;
}

describe('response-abandoned on synthetic connections', () => {
  test('bodies still flowing, each closed by the client at the same time since its request: a total timeout, inferred', () => {
    const cap = new Capture();
    for (const [t, every] of [[0, 0.25], [5, 0.3], [10, 0.17], [15, 0.22]] as const) download(cap, t, { flows: 5, every, closeAt: 2.0, agent: 'Go-http-client/1.1' });
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(4);
    expect(found[0].severity).toBe('warning');
    expect(found[0].evidence).toMatchObject({ request: 'GET /download', status: 200, framing: 'content-length', bodyDeclared: 1_000_000, closedWith: 'FIN', sinceRequest: 2, timer: 'total', clientAgent: 'Go-http-client/1.1', clientResetAfter: null });
    expect(found[0].summary).toContain('the client closed the connection (FIN)');
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.inferred.clientTimeout.value).toBeCloseTo(2.0, 3);
    expect(d.inferred.clientReadTimeout).toBeUndefined();
    expect(d.explanation).toContain('total timeout');
    expect(d.explanation).toContain('Go-http-client/1.1');
    expect(d.explanation).toContain('http.Client `Timeout`');
  });

  test('bodies that stalled, each closed by the client the same silence after the last byte: a read timeout between bytes, inferred', () => {
    const cap = new Capture();
    for (const [t, flows] of [[0, 0.2], [5, 0.6], [10, 1.0], [15, 1.4]] as const) {
      const c = cap.connection();
      c.handshake(t).request(t + 0.001, get('/report', ['User-Agent: python-requests/2.28.1'])).response(t + 0.011, partial(50_000, 500));
      c.response(t + 0.011 + flows, 'y'.repeat(1000));
      c.rstAck(t + 0.011 + flows + 1.5, 'c');
    }
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(4);
    expect(found[0].evidence).toMatchObject({ closedWith: 'RST', silenceBeforeClose: 1.5, timer: 'read' });
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.inferred.clientReadTimeout.value).toBeCloseTo(1.5, 3);
    expect(d.inferred.clientTimeout).toBeUndefined();
    expect(d.explanation).toContain('read timeout between bytes');
    expect(d.explanation).toContain('Python requests');
    expect(d.explanation).not.toContain('OkHttp');
  });

  test('responses that stalled right after their first bytes: silence and age agree, either timer is named', () => {
    const cap = new Capture();
    for (const t of [0, 5, 10]) {
      const c = cap.connection();
      c.handshake(t).request(t + 0.001, get('/stream')).response(t + 0.002, CHUNKED_HEAD + chunk(100));
      c.close(t + 3.002, 'c');
    }
    const d = cap.analyze(only).diagnoses.find((x) => x.kind === KIND)!;
    expect(d.inferred.clientTimeout.value).toBeCloseTo(3.001, 3);
    expect(d.inferred.clientReadTimeout.value).toBeCloseTo(3.0, 3);
    expect(d.explanation).toContain('cannot tell which');
  });

  test("the server's next bytes after the client's FIN draw the client's RST: its frame is in the evidence", () => {
    const cap = new Capture();
    for (const t of [0, 5, 10]) {
      const c = cap.connection();
      c.handshake(t).request(t + 0.001, get('/download')).response(t + 0.011, partial(1_000_000, 500));
      for (let k = 1; k < 8; k++) c.response(t + 0.011 + 0.25 * k, 'y'.repeat(1000));
      c.fin(t + 2.001, 'c');
      c.send(t + 2.1, 's', 'y'.repeat(1000));
      c.rst(t + 2.1001, 'c');
    }
    const found = ofKind(cap.analyze(only), KIND);
    expect(found).toHaveLength(3);
    expect(found[0].evidence).toMatchObject({ closedWith: 'FIN', clientResetAfter: 0.099 });
    expect(found[0].frames).toHaveLength(5);
  });

  test("the rest of each body came only after the client's FIN and drew its RST: the response was not received, the cuts and the timer found", () => {
    const cap = new Capture();
    for (const t of [0, 5, 10]) {
      const c = cap.connection();
      c.handshake(t).request(t + 0.001, get('/drip', ['User-Agent: curl/7.88.1'])).response(t + 0.002, partial(4000, 2000));
      c.fin(t + 1.301, 'c');
      c.send(t + 3.3, 's', 'y'.repeat(2000)); // the body's end, into the closed socket
      c.rst(t + 3.3001, 'c');
    }
    const r = cap.analyze(only, { collect: true });
    expect(r.exchanges.map((e) => [e.state, e.responseBodyBytes, e.responseLength, e.responseAfterClientClose])).toEqual(Array(3).fill(['response-incomplete', 2000, 4000, true]));
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(3);
    expect(found[0].evidence).toMatchObject({ bodyDeclared: 4000, bodyReceived: 2000, closedWith: 'FIN', sinceRequest: 1.3, clientResetAfter: 1.999 });
    expect(r.diagnoses.find((x) => x.kind === KIND)!.inferred.clientTimeout.value).toBeCloseTo(1.3, 3);
  });

  test('a short total timeout (0.25 s) cutting flowing bodies at different points: inferred; the same closes at one byte count (a reader that wanted those bytes) stay silent', () => {
    for (const sameCount of [false, true]) {
      const cap = new Capture();
      for (const [k, t] of [0, 5, 10, 15].entries()) {
        const c = cap.connection();
        c.handshake(t).request(t + 0.001, get('/size/2000000', ['User-Agent: curl/7.88.1'])).response(t + 0.002, partial(2_000_000, sameCount ? 5000 : 5000 + 1000 * k));
        c.fin(t + 0.251, 'c');
        c.send(t + 0.26, 's', 'y'.repeat(1000));
        c.rst(t + 0.2601, 'c');
      }
      const d = cap.analyze(only).diagnoses.find((x) => x.kind === KIND);
      if (sameCount) expect(d).toBeUndefined();
      else expect(d!.inferred.clientTimeout.value).toBeCloseTo(0.25, 3);
    }
  });

  test('a client that half-closed after its request and acknowledged the whole response: complete, nothing found', () => {
    const cap = new Capture();
    for (const t of [0, 5, 10]) {
      const c = cap.connection();
      c.handshake(t).request(t + 0.001, get('/drip')).fin(t + 0.002, 'c');
      c.send(t + 0.01, 's', partial(4000, 2000));
      c.ack(t + 0.0101, 'c');
      c.send(t + 1.6, 's', 'y'.repeat(2000));
      c.ack(t + 1.6001, 'c');
      c.fin(t + 1.601, 's');
      c.ack(t + 1.6011, 'c');
    }
    const r = cap.analyze(only, { collect: true });
    expect(r.exchanges.map((e) => [e.state, e.responseBodyBytes, e.responseAfterClientClose])).toEqual(Array(3).fill(['complete', 4000, undefined]));
    expect(ofKind(r, KIND)).toHaveLength(0);
  });

  test("the same total timeout that cut bodies also ended requests whose response had not begun: the diagnosis names unanswered-request's findings", () => {
    const cap = new Capture();
    for (const t of [0, 5, 10]) download(cap, t, { flows: 6, closeAt: 2.0, agent: 'Go-http-client/1.1' });
    for (const t of [15, 20]) {
      const c = cap.connection();
      c.handshake(t).request(t + 0.001, get('/slow', ['User-Agent: Go-http-client/1.1']));
      c.close(t + 2.001, 'c');
    }
    const r = cap.analyze([unansweredRequest, responseAbandoned]);
    const waits = ofKind(r, 'unanswered-request').map((f) => f.id);
    expect(waits).toHaveLength(2);
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.explanation).toContain(`also ended 2 requests from this client to this server before any response byte came (${waits.join(', ')})`);
    // Without them, no such sentence.
    const alone = new Capture();
    for (const t of [0, 5, 10]) download(alone, t, { flows: 6, closeAt: 2.0, agent: 'Go-http-client/1.1' });
    expect(alone.analyze([unansweredRequest, responseAbandoned]).diagnoses.find((x) => x.kind === KIND)!.explanation).not.toContain('also ended');
  });

  test('two client programs on one host with different total timeouts: one diagnosis each, told apart by User-Agent', () => {
    const cap = new Capture();
    for (let k = 0; k < 3; k++) download(cap, 10 * k, { flows: 6, closeAt: 2.0, agent: 'Go-http-client/1.1' });
    for (let k = 0; k < 3; k++) download(cap, 10 * k + 3, { flows: 6, closeAt: 3.0, agent: 'curl/7.88.1' });
    const r = cap.analyze(only);
    expect(ofKind(r, KIND)).toHaveLength(6);
    const values = r.diagnoses.filter((x) => x.kind === KIND).map((x) => Math.round(x.inferred.clientTimeout.value * 1000) / 1000).sort();
    expect(values).toEqual([2.0, 3.0]);
  });

  test('one program with two clients and their own total timeouts (API calls, downloads): each timer found in turn', () => {
    const cap = new Capture();
    for (let k = 0; k < 4; k++) download(cap, 10 * k, { flows: 8, closeAt: 2.0, agent: 'Go-http-client/1.1', uri: '/api' });
    for (let k = 0; k < 4; k++) download(cap, 10 * k + 3, { flows: 8, closeAt: 5.0, agent: 'Go-http-client/1.1', uri: '/files' });
    download(cap, 50, { flows: 8, closeAt: 3.3, agent: 'Go-http-client/1.1' });
    const r = cap.analyze(only);
    expect(ofKind(r, KIND)).toHaveLength(8);
    const diagnoses = r.diagnoses.filter((x) => x.kind === KIND);
    expect(diagnoses.map((d) => Math.round(d.inferred.clientTimeout.value * 100) / 100).sort()).toEqual([2, 5]);
    expect(diagnoses[0].explanation).toContain('(4 of 9 agree');
    expect(diagnoses[0].explanation).toContain('1 other transfer to this server');
  });

  test('a timeout among other cancels: reported when it explains at least half of the cuts, the rest named as not counted', () => {
    const cap = new Capture();
    for (let k = 0; k < 4; k++) download(cap, 10 * k, { flows: 6, closeAt: 2.0 });
    for (const [k, at] of [[0, 0.7], [1, 1.3], [2, 3.4], [3, 4.6]] as const) download(cap, 10 * k + 5, { flows: 6, closeAt: at });
    const r = cap.analyze(only);
    expect(ofKind(r, KIND)).toHaveLength(4);
    expect(r.diagnoses.find((x) => x.kind === KIND)!.explanation).toContain('4 other transfers');
  });

  test('a proxy that closes its upstream leg right after its client gave up: one finding, on the client leg, naming the upstream leg; the URI the proxy rewrote still pairs', () => {
    const cap = new Capture();
    for (let k = 0; k < 3; k++) {
      const t = 10 * k;
      const down = cap.connection({ server: '10.0.0.2', sport: 8080 });
      const up = cap.connection({ client: '10.0.0.2', server: '10.0.0.3', sport: 9000 });
      down.handshake(t).request(t + 0.001, get(`/api/export?id=${k}`, ['User-Agent: curl/7.88.1']));
      up.handshake(t + 0.002).request(t + 0.003, get(`/export?id=${k}`, ['User-Agent: curl/7.88.1']));
      up.response(t + 0.01, partial(1_000_000, 500));
      down.response(t + 0.011, partial(1_000_000, 500));
      for (let j = 1; j < 12; j++) {
        up.response(t + 0.01 + 0.25 * j, 'y'.repeat(1000));
        down.response(t + 0.011 + 0.25 * j, 'y'.repeat(1000));
      }
      down.close(t + 3.001, 'c');
      up.close(t + 3.006, 'c');
    }
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(3);
    expect(found.every((f) => f.server === '10.0.0.2:8080')).toBe(true);
    expect(found[0].evidence).toMatchObject({ upstreamServer: '10.0.0.3:9000', upstreamClosedAfter: 0.005 });
    expect(r.diagnoses.filter((x) => x.kind === KIND)).toHaveLength(1);
    expect(r.diagnoses[0].explanation).toContain('cancelled the request it had forwarded');
  });

  test("a proxy's read timeout that cut the client's response and abandoned its backend: left to response-truncated", () => {
    const cap = new Capture();
    for (let k = 0; k < 3; k++) {
      const t = 10 * k;
      const down = cap.connection({ server: '10.0.0.2', sport: 8080 });
      const up = cap.connection({ client: '10.0.0.2', server: '10.0.0.3', sport: 9000 });
      down.handshake(t).request(t + 0.001, get(`/export?id=${k}`));
      up.handshake(t + 0.002).request(t + 0.003, get(`/export?id=${k}`));
      up.response(t + 0.01 + 0.1 * k, partial(1_000_000, 500));
      down.response(t + 0.011 + 0.1 * k, partial(1_000_000, 500));
      up.close(t + 2.01 + 0.1 * k, 'c');
      down.close(t + 2.011 + 0.1 * k, 's');
    }
    const r = cap.analyze([responseTruncated, responseAbandoned]);
    expect(ofKind(r, 'response-truncated')).toHaveLength(3);
    expect(ofKind(r, KIND)).toHaveLength(0);
  });

  describe('silent', () => {
    test('cancels at scattered moments: no timer', () => {
      const cap = new Capture();
      for (const [k, at] of [[0, 0.7], [1, 1.6], [2, 2.9], [3, 3.4], [4, 1.1], [5, 4.3]] as const) download(cap, 10 * k, { flows: 6, every: 0.2, closeAt: at, rst: k % 2 === 0 });
      const r = cap.analyze(only);
      expect(r.anomalies).toHaveLength(0);
      expect(r.diagnoses).toHaveLength(0);
    });

    test('only two cuts agree: too few to tell a timer from chance (each told as a cancel or a total timeout, info, no timer inferred)', () => {
      const cap = new Capture();
      download(cap, 0, { flows: 6, closeAt: 2.0 });
      download(cap, 10, { flows: 6, closeAt: 2.0 });
      const r = cap.analyze(only);
      expect(r.anomalies.map((f) => [f.severity, f.evidence.timer])).toEqual([['info', null], ['info', null]]);
      const d = r.diagnoses.find((x) => x.kind === KIND)!;
      expect(d.severity).toBe('info');
      expect(d.inferred).toEqual({});
      expect(d.explanation).toContain('Two closes are too few to infer a timer');
    });

    test('closes right behind the response head, at the same time since the request: the client reacting to what it read', () => {
      const cap = new Capture();
      for (const t of [0, 5, 10, 15]) {
        const c = cap.connection();
        c.handshake(t).request(t + 0.001, get('/health', ['User-Agent: curl/7.88.1'])).response(t + 1.2, partial(100_000, 1000));
        c.rstAck(t + 1.2005, 'c');
      }
      expect(cap.analyze(only).anomalies).toHaveLength(0);
    });

    test('a client that half-closed and went on reading until the capture ended', () => {
      const cap = new Capture();
      for (const t of [0, 5, 10]) {
        const c = cap.connection();
        c.handshake(t).request(t + 0.001, get('/download')).response(t + 0.011, partial(1_000_000, 500));
        for (let k = 1; k <= 10; k++) c.response(t + 0.011 + 0.2 * k, 'y'.repeat(1000));
        c.fin(t + 2.001, 'c');
        for (let k = 1; k <= 10; k++) c.response(t + 2.011 + 0.2 * k, 'y'.repeat(1000));
      }
      expect(cap.analyze(only).anomalies).toHaveLength(0);
    });

    test('silences while the client kept its own window closed are no read timeout', () => {
      const cap = new Capture();
      for (const [t, flows] of [[0, 0.2], [5, 0.6], [10, 1.0]] as const) {
        const c = cap.connection();
        c.handshake(t).request(t + 0.001, get('/download')).response(t + 0.011, partial(1_000_000, 500));
        c.send(t + 0.011 + flows, 's', 'y'.repeat(1000));
        c.ack(t + 0.012 + flows, 'c', { window: 0 });
        c.close(t + 0.011 + flows + 1.5, 'c');
      }
      expect(cap.analyze(only).anomalies).toHaveLength(0);
    });
  });
});

describe('response-abandoned counts what the client acknowledged', () => {
  test('body bytes the server had sent but the client had not acknowledged when it closed are not received (a server-side capture shows them leaving)', () => {
    const cap = new Capture();
    for (const t of [0, 5, 10]) {
      const c = cap.connection();
      c.handshake(t).request(t + 0.001, get('/download')).response(t + 0.011, partial(100_000, 500));
      c.response(t + 0.3, 'y'.repeat(1000));
      const had = c.sSeq;
      // 3000 more bytes leave the server; the client's close does not acknowledge them.
      c.send(t + 0.5, 's', 'z'.repeat(3000), { ack: c.cSeq });
      c.fin(t + 2.001, 'c', { ack: had });
      c.ack(t + 2.002, 's');
    }
    const found = ofKind(cap.analyze(only), KIND);
    expect(found).toHaveLength(3);
    // Before: 4500 (every byte the server sent); the client had 1500 of them.
    expect(found[0].evidence).toMatchObject({ bodyDeclared: 100_000, bodyReceived: 1500, bodyMissing: 98_500 });
    expect(found[0].summary).toContain('after 1500 of its 100000 body bytes');
  });
});

describe('response-abandoned: one or two cuts where the server had gone silent mid-body (blind round 13, S11: wget --read-timeout=1, curl -m 1, fetch AbortSignal.timeout)', () => {
  /**
   * The S11 server: Content-Length 200000, 50000 body bytes at once, then nothing for `stall` s,
   * then the rest; the client closes (FIN) `wait` s after the request. The server's bytes after the
   * FIN draw the client's RST when it resumes before `end`.
   */
  function stalled(cap: Capture, t: number, wait: number, agent: string, stall = 3): Conn {
    const c = cap.connection();
    c.handshake(t).request(t + 0.001, get('/file.bin', [`User-Agent: ${agent}`])).response(t + 0.002, partial(200_000, 50_000));
    c.fin(t + 0.001 + wait, 'c');
    if (stall > wait) {
      c.send(t + 0.002 + stall, 's', 'w'.repeat(30_000));
      c.rst(t + 0.0021 + stall, 'c');
    }
    return c;
  }

  test('one cut after a 1 s silence mid-body is a failure the client saw: reported, no timeout value named from one wait', () => {
    const cap = new Capture();
    stalled(cap, 0, 1.0, 'Wget/1.21.3');
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(1);
    expect(found[0].severity).toBe('warning');
    expect(found[0].evidence).toMatchObject({ bodyDeclared: 200_000, closedWith: 'FIN', silenceBeforeClose: 0.999, timer: null });
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.count).toBe(1);
    expect(d.inferred).toEqual({});
    expect(d.explanation).toContain('One wait names no timeout value');
    expect(d.explanation).toContain('at most 0.999 s');
    expect(d.explanation).toContain('the server had sent nothing for 0.999 s');
    // The server's next bytes came 2 s after the client's close: the stall lasted about 3 s.
    expect(d.explanation).toMatch(/stall lasted at least 3 s/);
    expect(d.explanation).toContain('GNU Wget `--read-timeout`');
    expect(d.remedy).toContain('10.0.0.2:80');
  });

  test('two cuts (wget -t 2, or curl -m 1 and fetch with AbortSignal.timeout(1500)): both reported, still no timeout value', () => {
    const cap = new Capture();
    stalled(cap, 0, 1.0, 'curl/7.88.1');
    stalled(cap, 10, 1.5, 'curl/7.88.1');
    const r = cap.analyze(only);
    expect(ofKind(r, KIND)).toHaveLength(2);
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.count).toBe(2);
    expect(d.inferred).toEqual({});
    expect(d.explanation).toContain('Two waits name no timeout value');
  });

  test('the capture ended before the server resumed (S11c): the stall is at least the silence', () => {
    const cap = new Capture();
    stalled(cap, 0, 1.0, 'Wget/1.21.3', 0);
    const d = cap.analyze(only).diagnoses.find((x) => x.kind === KIND)!;
    expect(d.explanation).not.toContain('stall lasted');
    expect(d.explanation).toContain('the server had sent nothing for 0.999 s');
  });

  describe('silent', () => {
    test('one event stream (chunked) closed during a pause between its events: a stream has no end the client was owed', () => {
      const cap = new Capture();
      const c = cap.connection();
      c.handshake(0).request(0.001, get('/events')).response(0.002, CHUNKED_HEAD + chunk(50));
      c.response(1.002, chunk(50));
      c.close(2.5, 'c');
      expect(cap.analyze(only).anomalies).toHaveLength(0);
    });

    test('one cut on a connection whose capture missed some of the body (the client acknowledged bytes never seen): the silence cannot be vouched for', () => {
      const cap = new Capture();
      const c = cap.connection();
      c.handshake(0).request(0.001, get('/file.bin', ['User-Agent: Wget/1.21.3'])).response(0.002, partial(200_000, 20_000));
      c.unseen('s', 'w'.repeat(1000));
      c.send(0.5, 's', 'w'.repeat(1000));
      c.fin(1.5, 'c');
      expect(cap.analyze(only).anomalies).toHaveLength(0);
    });

    test('one close right after a short pause (below half a second): a reader that had what it wanted', () => {
      const cap = new Capture();
      stalled(cap, 0, 0.3, 'curl/7.88.1');
      expect(cap.analyze(only).anomalies).toHaveLength(0);
    });
  });
});

describe('response-abandoned: one cut of a body the client was owed while its bytes still flowed (blind round 15, s12/s12b: curl -m 2, exit 28, nothing said)', () => {
  /**
   * The s12b scene: curl's keep-alive connection, a small answer first, then a Content-Length 50000
   * body dripping 1000 bytes every 0.1 s; curl's --max-time 2 (from its start, the SYN) closes it.
   * The server's next bytes meet the closed socket (a FIN close: the client's RST answers them).
   */
  function maxTime(cap: Capture, t: number, close: 'fin' | 'rst', agent = 'curl/7.88.1'): Conn {
    const c = cap.connection();
    c.handshake(t).exchange(t + 0.002, get('/', [`User-Agent: ${agent}`]), ok('hello'));
    c.request(t + 0.004, get('/?drip=50', [`User-Agent: ${agent}`])).response(t + 0.006, partial(50_000, 1000));
    for (let k = 1; 0.006 + 0.1 * k < 1.98; k++) c.response(t + 0.006 + 0.1 * k, 'd'.repeat(1000));
    if (close === 'rst') c.rstAck(t + 2.0, 'c');
    else {
      c.fin(t + 2.0, 'c');
      c.send(t + 2.006, 's', 'd'.repeat(1000));
      c.rst(t + 2.0061, 'c');
    }
    return c;
  }

  test('curl --max-time 2 closes (FIN) mid-body, 19000 of 50000 bytes, the server still sending: reported as info, a cancel or a total timeout of about 2 s', () => {
    const cap = new Capture();
    maxTime(cap, 0, 'fin');
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(1);
    expect(found[0].severity).toBe('info');
    expect(found[0].evidence).toMatchObject({ request: 'GET /?drip=50', bodyDeclared: 50_000, bodyReceived: 20_000, closedWith: 'FIN', timer: null, sinceConnect: null, cutWhileFlowing: true });
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.severity).toBe('info');
    expect(d.inferred).toEqual({});
    expect(d.explanation).toContain('(20000 of 50000 body bytes received), 1.996 s after the request (2 s after the connection\'s SYN');
    expect(d.explanation).toContain('while the server was still sending');
    expect(d.explanation).toContain('a deliberate cancel');
    expect(d.explanation).toContain('a total timeout on the whole request, body included, of about 1.996 s');
    expect(d.explanation).toContain('curl `--max-time`');
    expect(d.explanation).toContain('exit 28');
    expect(d.explanation).toContain("its next bytes drew the client's RST");
    expect(d.explanation).toMatch(/would have needed about 5 s/);
    // A nightly gate at --fail-on warning is not failed by one cut that may be a cancel.
    expect(reachesFailOn(r.anomalies, 'warning')).toBe(false);
    expect(reachesFailOn(r.anomalies, 'info')).toBe(true);
  });

  test('the same closed with a RST (unread data in its socket, s12): reported the same way; a Go client is named by its own settings', () => {
    const cap = new Capture();
    maxTime(cap, 0, 'rst', 'Go-http-client/1.1');
    const r = cap.analyze(only);
    expect(ofKind(r, KIND).map((f) => [f.severity, f.evidence.closedWith])).toEqual([['info', 'RST']]);
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.explanation).toContain('http.Client `Timeout`');
    expect(d.explanation).not.toContain('exit 28');
  });

  test('a client with a cut that a stall explains and one while the bytes flowed: the stall a warning, the other info, each named in the other\'s diagnosis', () => {
    const cap = new Capture();
    const c = cap.connection();
    c.handshake(0).request(0.001, get('/file.bin', ['User-Agent: curl/7.88.1'])).response(0.002, partial(200_000, 50_000));
    c.fin(1.001, 'c');
    download(cap, 10, { flows: 6, closeAt: 2.0, agent: 'curl/7.88.1' });
    const r = cap.analyze(only);
    expect(ofKind(r, KIND).map((f) => f.severity).sort()).toEqual(['info', 'warning']);
    const [info, warning] = ['info', 'warning'].map((sev) => r.diagnoses.find((x) => x.kind === KIND && x.severity === sev)!);
    expect(warning.explanation).toContain('One other cut of a declared body while its bytes still flowed is told on its own');
    expect(info.explanation).toContain('1 after the server stalled, told on its own');
  });

  describe('silent', () => {
    test('a reader that wanted the head only (a slow head, the close right behind it): its reaction to what it read', () => {
      const cap = new Capture();
      const c = cap.connection();
      c.handshake(0).request(0.001, get('/health', ['User-Agent: head-reader/1'])).response(1.5, partial(50_000, 1000));
      c.rstAck(1.52, 'c');
      expect(cap.analyze(only).anomalies).toHaveLength(0);
    });

    test('a reader that stopped 0.3 s into the body (the bytes it wanted), 2 s after the request: not long enough into the body to be told from a reaction', () => {
      const cap = new Capture();
      const c = cap.connection();
      c.handshake(0).request(0.001, get('/page', ['User-Agent: scraper/1'])).response(1.7, partial(50_000, 1000));
      c.response(1.8, 'y'.repeat(1000)).response(1.9, 'y'.repeat(1000));
      c.close(2.0, 'c');
      expect(cap.analyze(only).anomalies).toHaveLength(0);
    });

    test('three cuts of one program at scattered moments: cancels, not a timer (no single cut told either)', () => {
      const cap = new Capture();
      for (const [k, at] of [[0, 0.9], [1, 2.1], [2, 3.3]] as const) download(cap, 10 * k, { flows: 6, closeAt: at, agent: 'curl/7.88.1' });
      expect(cap.analyze(only).anomalies).toHaveLength(0);
    });

    test("a proxy's upstream leg (Via) closed while its backend's declared body still flowed, the client leg not captured: its own client went away, no client timer to name", () => {
      const cap = new Capture();
      download(cap, 0, { flows: 6, closeAt: 2.0, uri: '/download', agent: 'curl/7.88.1\r\nVia: 1.1 edge' });
      expect(cap.analyze(only).anomalies).toHaveLength(0);
      // The same without Via is a client's own cut (info).
      const direct = new Capture();
      download(direct, 0, { flows: 6, closeAt: 2.0, uri: '/download', agent: 'curl/7.88.1' });
      expect(direct.analyze(only).anomalies.map((f) => f.severity)).toEqual(['info']);
    });

    test('a program whose timer is found: its cut at another moment is not told on its own (the diagnosis names it as not counted)', () => {
      const cap = new Capture();
      for (let k = 0; k < 3; k++) download(cap, 10 * k, { flows: 6, closeAt: 2.0, agent: 'Go-http-client/1.1' });
      download(cap, 40, { flows: 6, closeAt: 3.3, agent: 'Go-http-client/1.1' });
      const r = cap.analyze(only);
      expect(ofKind(r, KIND).map((f) => f.severity)).toEqual(['warning', 'warning', 'warning']);
    });
  });
});

describe('response-abandoned counts what had come before the client\'s close (blind round 13, S11d)', () => {
  test('bytes that arrived after the client\'s FIN (and drew its RST) are not received: 50000, not 115160', () => {
    const cap = new Capture();
    for (const t of [0, 10, 20]) {
      const c = cap.connection();
      c.handshake(t).request(t + 0.001, get('/file.bin', ['User-Agent: Wget/1.21.3'])).response(t + 0.002, partial(200_000, 50_000));
      c.fin(t + 1.001, 'c');
      c.send(t + 3.002, 's', 'w'.repeat(65_160));
      c.rst(t + 3.0021, 'c');
    }
    const found = ofKind(cap.analyze(only), KIND);
    expect(found).toHaveLength(3);
    expect(found[0].evidence).toMatchObject({ bodyDeclared: 200_000, bodyReceived: 50_000, bodyMissing: 150_000 });
    expect(found[0].summary).toContain('after 50000 of its 200000 body bytes');
  });
});

describe('response-abandoned behind a proxy that terminates TLS', () => {
  /**
   * Clients on 10.0.0.1 download over HTTPS from a proxy on 10.0.0.2:443, which fetches each body
   * from 10.0.0.3:8080 in plaintext, the bytes flowing; each client gives up 3 s after its request
   * and the proxy closes its upstream leg `follow` s later (null: no HTTPS client closed at all,
   * the proxy's own cuts).
   */
  function scene(follow: number | null) {
    const cap = new Capture();
    [0.25, 0.3, 0.2].forEach((every, k) => {
      const t = k * 10;
      download(cap, t + 0.001, { client: '10.0.0.2', server: '10.0.0.3', sport: 8080, flows: 5, every, closeAt: 3 + (follow ?? 0) });
      if (follow === null) return;
      const h = new Https(cap, t - 0.01, { version: '1.2', offer: ['http/1.1'] }).request(t);
      for (let j = 1; j * every < 3; j++) h.answer(t + 0.012 + j * every);
      h.clientCloses(t + 3.002);
    });
    return cap.analyze([responseAbandoned]);
  }

  test('each upstream cut right behind its HTTPS client\'s close: reported with that client named, the timer relayed by the proxy', () => {
    const r = scene(0.001);
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(3);
    expect(found[0].evidence).toMatchObject({ followedClient: expect.stringMatching(/^10\.0\.0\.1:/) });
    expect(found[0].evidence.followedClientClosedBefore).toBeCloseTo(0, 2);
    expect(found[0].summary).toContain('this client is a proxy that followed its own client 10.0.0.1:');
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.explanation).toContain('Each was the upstream leg of a proxy that terminates TLS at 10.0.0.2');
    expect(d.inferred.clientTimeout.value).toBeCloseTo(3.001, 2);
  });

  test('no HTTPS client closed just before: the proxy\'s own cuts, nothing relayed', () => {
    const found = ofKind(scene(null), KIND);
    expect(found).toHaveLength(3);
    expect(found[0].evidence.followedClient).toBeUndefined();
  });
});

describe('response-abandoned on a recorded sample', () => {
  test('response-abandoned-rest-after-close: curl --max-time 1.3 cut three bodies whose rest came after its FIN (not received); the half-closed reader and the Connection: close fetch stay complete', async () => {
    const r = await analyzeSample('response-abandoned-rest-after-close');
    const byUri = (prefix: string): string[] => r.exchanges.filter((e) => e.uri?.startsWith(prefix)).map((e) => `${e.state} ${e.responseBodyBytes} ${e.responseAfterClientClose ?? '-'}`);
    expect(byUri('/drip?id=')).toEqual(Array(3).fill('response-incomplete 2000 true'));
    expect(byUri('/drip')).toContain('complete 4000 -');
    expect(byUri('/whole')).toEqual(['complete 4000 -']);
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(3);
    expect(r.anomalies).toHaveLength(3);
    expect(found.every((f) => f.evidence.bodyReceived === 2000 && f.evidence.closedWith === 'FIN' && typeof f.evidence.clientResetAfter === 'number')).toBe(true);
    expect(r.diagnoses.find((x) => x.kind === KIND)!.inferred.clientTimeout.value).toBeCloseTo(1.3, 1);
  });
});

describe('response-abandoned on a recorded lone stall', () => {
  test('response-abandoned-lone-stall: wget --read-timeout=1 and curl --max-time 1, one cut each after 1 s of silence at 10000 of 40000 bytes: both reported, no timeout value; the Ctrl-C of a flowing download told as info (a cancel or a total timeout: the wire cannot tell it from curl -m 0.7), the Ctrl-C of an event stream silent', async () => {
    const r = await analyzeSample('response-abandoned-lone-stall');
    const found = ofKind(r, KIND);
    expect(found.map((f) => [f.evidence.request, f.evidence.bodyReceived, f.evidence.timer, f.severity])).toEqual([
      ['GET /stall?c=wget', 10000, null, 'warning'],
      ['GET /stall?c=curl', 10000, null, 'warning'],
      ['GET /flow?c=ctrl-c', 7000, null, 'info'],
    ]);
    expect(r.anomalies).toHaveLength(3);
    const ds = r.diagnoses.filter((x) => x.kind === KIND && x.severity === 'warning');
    expect(ds.map((d) => [d.count, d.inferred])).toEqual([[1, {}], [1, {}]]);
    expect(ds.every((d) => d.explanation.includes('One wait names no timeout value'))).toBe(true);
  });
});

describe('response-abandoned: read timeouts on a path that loses the server\'s segments', () => {
  // Blind round 11, S4c40 (40 % loss both ways, requests timeout 0.5 s, an idle server): a body
  // segment lost on the way, the next ones arriving past the hole, the server's resend timer still
  // running when the client's 0.5 s read timeout closed the connection. It read "Find why the server
  // pauses 0.501 s or more in the middle of these bodies".
  function scene(lossy: boolean) {
    const cap = new Capture();
    for (const [t, flows] of [[0, 0.2], [5, 0.6], [10, 1.0]] as const) {
      const c = cap.connection();
      c.handshake(t).request(t + 0.001, get('/l', ['User-Agent: python-requests/2.34.2'])).response(t + 0.002, partial(50_000, 1000));
      c.response(t + 0.002 + flows, 'w'.repeat(1000));
      const hole = c.sSeq;
      if (lossy) c.unseen('s', 'z'.repeat(1000)); // lost on the way: never reaches the client's capture
      c.send(t + 0.0021 + flows, 's', 'y'.repeat(1000));
      c.ack(t + 0.0022 + flows, 'c', lossy ? { ack: hole } : {});
      c.rstAck(t + 0.0021 + flows + 0.5, 'c');
    }
    return cap.analyze(only);
  }

  test('the silence was the server\'s resend timer on a lossy path: the path first, not a pausing server', () => {
    const d = scene(true).diagnoses.find((x) => x.kind === KIND)!;
    expect(d.inferred.clientReadTimeout.value).toBeCloseTo(0.5, 2);
    expect(d.explanation).toContain('the path was losing the server\'s packets');
    expect(d.remedy).toMatch(/^Look at the path between/);
  });

  test('near miss: no hole in the body, the server paused (as before)', () => {
    const d = scene(false).diagnoses.find((x) => x.kind === KIND)!;
    expect(d.explanation).not.toContain('the path was losing');
    expect(d.remedy).toMatch(/^Find why .* pauses/);
  });
});

describe("response-abandoned: a proxy's upstream leg alone, cut mid-body by its read timeout on a stalled backend (blind round 14, S3c)", () => {
  const BACKEND_HEAD = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n';
  const request = (version: string, headers: readonly string[]): string =>
    `GET /stream ${version}\r\nHost: 10.0.0.9:9000\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n`;
  const NGINX_11 = request('HTTP/1.1', ['Connection: close', 'User-Agent: curl/7.88.1', 'Accept: */*']);
  const NGINX_10 = request('HTTP/1.0', ['Connection: close', 'User-Agent: curl/7.88.1', 'Accept: */*']);
  const CURL = request('HTTP/1.1', ['User-Agent: curl/7.88.1', 'Accept: */*']);

  /** Three chunks `gaps` apart, then `end`: the client's FIN `silence` s after the last, the server's, or the last chunk. */
  function leg(req: string, end: 'client' | 'server' | 'complete', silence = 1.404, gaps: readonly number[] = [0.303, 0.3003]): Capture {
    const cap = new Capture();
    const c = cap.connection({ client: '10.0.0.5', server: '10.0.0.9', sport: 9000 });
    c.handshake(0).request(0.001, req).response(0.0013, BACKEND_HEAD + chunk(400));
    let t = 0.0013;
    for (const gap of gaps) {
      t += gap;
      c.response(t, chunk(400));
    }
    if (end === 'complete') {
      c.response(t + 0.3, '0\r\n\r\n');
      c.close(t + 0.301, 's');
    } else {
      c.close(t + silence, end === 'client' ? 'c' : 's');
    }
    return cap;
  }

  test.each([
    ['HTTP/1.1 with Connection: close from curl (proxy_http_version 1.1)', NGINX_11],
    ["HTTP/1.0 with Connection: close (nginx's default upstream request)", NGINX_10],
  ])('a proxy by its requests (%s) closed mid-body after the backend went silent: reported as the proxy giving up on a stalled backend', (_what, req) => {
    const r = leg(req, 'client').analyze(only);
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(1);
    expect(found[0].evidence).toMatchObject({ framing: 'chunked', closedWith: 'FIN', silenceBeforeClose: 1.404, readTimerAtLeast: 1.404, readTimerAtMost: 1.704 });
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.explanation).toContain('a proxy by its requests');
    expect(d.explanation).toContain('backend stalled mid-body');
    expect(d.explanation).toContain('proxy_read_timeout');
    expect(d.explanation).toContain('between 1.404 s and 1.704 s');
    expect(d.explanation).toContain('its own client went away');
    expect(d.explanation).not.toContain('wget');
  });

  describe('silent', () => {
    test('a client that is no proxy by its request (curl direct) closing a chunked stream in a pause: as before, a stream has no end it was owed', () => {
      expect(ofKind(leg(CURL, 'client').analyze(only), KIND)).toHaveLength(0);
    });

    test('a healthy slow stream through the proxy, pauses shorter than its timer, ended by its last chunk: nothing', () => {
      const r = leg(NGINX_11, 'complete').analyze([responseAbandoned, responseTruncated]);
      expect(r.anomalies).toHaveLength(0);
    });

    test("a backend that closed its own response mid-body: response-truncated blames the backend; no proxy's timer", () => {
      const r = leg(NGINX_11, 'server').analyze([responseAbandoned, responseTruncated]);
      expect(ofKind(r, KIND)).toHaveLength(0);
      expect(ofKind(r, 'response-truncated')).toHaveLength(1);
      expect(r.diagnoses.find((x) => x.kind === 'response-truncated')!.explanation).not.toContain('proxy gave up');
    });

    test('a proxy that closed right behind a chunk (below half a second of silence): its client went away, no stall', () => {
      expect(ofKind(leg(NGINX_11, 'client', 0.2).analyze(only), KIND)).toHaveLength(0);
    });

    test('a proxy that closed within the pauses the stream had already gone on from (chunks 2 s apart, closed 1.404 s after the last; longlived s15, events 25 s apart, closed 19 s after): no read timer fires on a shorter silence than one it let pass, its client went away', () => {
      expect(ofKind(leg(NGINX_11, 'client', 1.404, [2.0, 2.0]).analyze(only), KIND)).toHaveLength(0);
      // A silence past the stream's pace is a stall again.
      expect(ofKind(leg(NGINX_11, 'client', 2.5, [2.0, 2.0]).analyze(only), KIND)).toHaveLength(1);
    });
  });
});

describe('response-abandoned: a stream its client closed while the server still sent it at its own pace (blind round 15 longlived s18: Go Client.Timeout 10 s on an SSE stream, nothing said)', () => {
  /** An SSE stream (chunked) from a server sending a 50-byte event every `every` s from its head on, closed by its client `closeAt` s after the request. */
  function sse(cap: Capture, t: number, o: { every?: number; closeAt: number; agent?: string; rst?: boolean; sport?: number }): Conn {
    const c = cap.connection({ sport: o.sport });
    const every = o.every ?? 1;
    c.handshake(t).request(t + 0.001, get('/events', [`User-Agent: ${o.agent ?? 'Go-http-client/1.1'}`])).response(t + 0.002, CHUNKED_HEAD + chunk(50));
    for (let k = 1; 0.002 + k * every < o.closeAt; k++) c.response(t + 0.002 + k * every, chunk(50));
    if (o.rst === true) c.rstAck(t + 0.001 + o.closeAt, 'c');
    else c.close(t + 0.001 + o.closeAt, 'c');
    return c;
  }

  test('an event every second, closed by a Go client exactly 10 s after its request: info, a deliberate close or a total timeout of about 10 s, with the pace it kept', () => {
    const cap = new Capture();
    sse(cap, 0, { closeAt: 10 });
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(1);
    expect(found[0].severity).toBe('info');
    expect(found[0].evidence).toMatchObject({ request: 'GET /events', framing: 'chunked', bodyDeclared: null, closedWith: 'FIN', sinceRequest: 10, timer: null, cutWhileFlowing: true, longestPauseBefore: 1 });
    expect(found[0].evidence.silenceBeforeClose).toBeCloseTo(0.999, 3);
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.severity).toBe('info');
    expect(d.inferred).toEqual({});
    expect(d.explanation).toContain('in the middle of a streamed response the server had not ended');
    expect(d.explanation).toContain('10 s after the request');
    expect(d.explanation).toContain('its data up to 1 s apart before that');
    expect(d.explanation).toContain('a deliberate close');
    expect(d.explanation).toContain('a total timeout on the whole request, body included, of about 10 s');
    expect(d.explanation).toContain('http.Client `Timeout`');
    expect(d.remedy).toContain('do not put a total timeout on streaming requests');
    // One close that may be a deliberate one fails no gate at warning.
    expect(reachesFailOn(r.anomalies, 'warning')).toBe(false);
  });

  test('a curl killed mid-stream (RST), events 25 s apart, 19 s after the last (longlived s15): still within its pace, told the same way', () => {
    const cap = new Capture();
    sse(cap, 0, { every: 25, closeAt: 94.2, agent: 'curl/7.88.1', rst: true });
    const found = ofKind(cap.analyze(only), KIND);
    expect(found.map((f) => [f.severity, f.evidence.closedWith, f.evidence.longestPauseBefore])).toEqual([['info', 'RST', 25]]);
  });

  test('a chunked download closed mid-way while flowing: without its content type not told from a stream, the same words', () => {
    const cap = new Capture();
    const c = cap.connection();
    c.handshake(0).request(0.001, get('/export.csv', ['User-Agent: curl/7.88.1'])).response(0.002, 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n' + chunk(1000));
    for (let k = 1; k < 19; k++) c.response(0.002 + 0.1 * k, chunk(1000));
    c.close(2.001, 'c');
    const r = cap.analyze(only);
    expect(ofKind(r, KIND).map((f) => f.severity)).toEqual(['info']);
    expect(r.diagnoses.find((x) => x.kind === KIND)!.explanation).toContain('curl `--max-time`');
  });

  test('three Go clients each closing an SSE stream 10 s after its request: the total timeout inferred (warning), as for declared bodies', () => {
    const cap = new Capture();
    for (const [k, every] of [[0, 1], [1, 0.7], [2, 1.3]] as const) sse(cap, 20 * k, { every, closeAt: 10 + 0.002 * k });
    const r = cap.analyze(only);
    expect(ofKind(r, KIND).map((f) => f.severity)).toEqual(['warning', 'warning', 'warning']);
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.inferred.clientTimeout.value).toBeCloseTo(10.002, 2);
    expect(d.explanation).toContain('a total timeout on the whole request');
  });

  test('a proxy that followed its client: one finding, on the client leg, naming the upstream leg', () => {
    const cap = new Capture();
    const front = cap.connection({ client: '10.0.0.1', server: '10.0.0.2', sport: 80 });
    const back = cap.connection({ client: '10.0.0.2', server: '10.0.0.3', sport: 9000 });
    front.handshake(0).request(0.001, get('/events', ['User-Agent: Go-http-client/1.1'])).response(0.004, CHUNKED_HEAD + chunk(50));
    back.handshake(0.002).request(0.0025, 'GET /events HTTP/1.0\r\nHost: backend\r\nConnection: close\r\nUser-Agent: Go-http-client/1.1\r\n\r\n').response(0.003, CHUNKED_HEAD + chunk(50));
    for (let k = 1; k < 10; k++) {
      back.response(0.003 + k, chunk(50));
      front.response(0.004 + k, chunk(50));
    }
    front.close(10.001, 'c');
    back.close(10.0012, 'c');
    const found = ofKind(cap.analyze(only), KIND);
    expect(found).toHaveLength(1);
    expect(found[0].client).toMatch(/^10\.0\.0\.1:/);
    expect(found[0].severity).toBe('info');
    expect(found[0].evidence).toMatchObject({ upstreamServer: '10.0.0.3:9000', cutWhileFlowing: true });
  });

  describe('silent', () => {
    test('a stream whose next event was overdue (closed 3 s after the last of events 1 s apart): maybe a read timer on a stalled stream, one cut cannot tell', () => {
      const cap = new Capture();
      const c = cap.connection();
      c.handshake(0).request(0.001, get('/events', ['User-Agent: Go-http-client/1.1'])).response(0.002, CHUNKED_HEAD + chunk(50));
      for (let k = 1; k < 5; k++) c.response(0.002 + k, chunk(50));
      c.close(7.002, 'c');
      expect(cap.analyze(only).anomalies).toHaveLength(0);
    });

    test('a stream that had sent one piece only (no pace to judge by), closed 10 s later', () => {
      const cap = new Capture();
      const c = cap.connection();
      c.handshake(0).request(0.001, get('/events', ['User-Agent: Go-http-client/1.1'])).response(0.002, CHUNKED_HEAD + chunk(50));
      c.close(10.001, 'c');
      expect(cap.analyze(only).anomalies).toHaveLength(0);
    });

    test('a stream that ended (its last chunk), then its client closed the idle keep-alive connection', () => {
      const cap = new Capture();
      const c = cap.connection();
      c.handshake(0).request(0.001, get('/events', ['User-Agent: Go-http-client/1.1'])).response(0.002, CHUNKED_HEAD + chunk(50));
      for (let k = 1; k < 5; k++) c.response(0.002 + k, chunk(50));
      c.response(5.002, '0\r\n\r\n');
      c.close(5.5, 'c');
      expect(cap.analyze([responseAbandoned, responseTruncated]).anomalies).toHaveLength(0);
    });

    test('a stream the server cut mid-way: response-truncated\'s, not counted here too', () => {
      const cap = new Capture();
      const c = cap.connection();
      c.handshake(0).request(0.001, get('/events', ['User-Agent: Go-http-client/1.1'])).response(0.002, CHUNKED_HEAD + chunk(50));
      for (let k = 1; k < 5; k++) c.response(0.002 + k, chunk(50));
      c.close(4.5, 's');
      const r = cap.analyze([responseAbandoned, responseTruncated]);
      expect(ofKind(r, KIND)).toHaveLength(0);
    });

    test('a WebSocket its client closed while frames flowed: a tunnel, no response body', () => {
      const cap = new Capture();
      const c = cap.connection();
      c.handshake(0).request(0.001, get('/ws', ['Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13']));
      c.response(0.002, 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n');
      for (let k = 1; k < 10; k++) c.response(0.002 + k, '\x81\x05hello');
      c.close(10.001, 'c');
      expect(cap.analyze(only).anomalies).toHaveLength(0);
    });

    test('three SSE clients of one program closing at scattered moments while flowing: cancels (pages closed), no timer, no single cut told', () => {
      const cap = new Capture();
      for (const [k, at] of [[0, 3.4], [1, 7.9], [2, 12.6]] as const) sse(cap, 20 * k, { closeAt: at, agent: 'Mozilla/5.0' });
      expect(cap.analyze(only).anomalies).toHaveLength(0);
    });
  });
});
