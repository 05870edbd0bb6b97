import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyzeFiles } from '../../src/analyze';
import { slowClientTimeout } from '../../src/detect/detectors/slow-client-timeout';
import { SAMPLES_DIR } from '../samples';
import { Capture, get, ofKind, ok } from './reuse-kit';
import { BACKEND_ENDPOINT, PROXY_ENDPOINT, streamedUpload } from './proxy-scenes';

const KIND = 'slow-client-timeout';
const only = [slowClientTimeout];
const putHead = 'PUT /upload HTTP/1.1\r\nHost: example\r\nContent-Length: 100000\r\n\r\n';
const REQUEST_TIMEOUT_408 = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n';

describe('slow-client-timeout on synthetic connections', () => {
  test('a 408 to an upload that stalled (Node.js requestTimeout): the client was too slow', () => {
    const cap = new Capture();
    const c = cap.connection();
    c.handshake(0).request(0.01, putHead).request(0.02, 'x'.repeat(4000));
    c.response(3.01, REQUEST_TIMEOUT_408).fin(3.011, 's');
    const r = cap.analyze(only);
    const [f] = ofKind(r, KIND);
    expect(f.evidence).toMatchObject({ status: 408, requestComplete: false, requestBodyBytes: 4000, closedWith: 'FIN' });
    expect(f.evidence.sinceRequestStart).toBeCloseTo(3, 2);
    expect(f.evidence.sinceClientData).toBeCloseTo(2.99, 2);
    expect(r.diagnoses.find((d) => d.kind === KIND)!.explanation).toContain('the client was too slow');
  });

  test('a status line the snaplen cut inside its code (`HTTP/1.1 40`, stored as 400) is no 408 nor 400', () => {
    const stalled = (kept?: number): Capture => {
      const cap = new Capture();
      for (const t of [0, 10]) {
        const c = cap.connection();
        c.handshake(t).request(t + 0.01, putHead).request(t + 0.02, 'x'.repeat(4000));
        c.response(t + 3.01, REQUEST_TIMEOUT_408, { keptPayload: kept }).fin(t + 3.011, 's');
      }
      return cap;
    };
    expect(ofKind(stalled().analyze(only), KIND)).toHaveLength(2);
    for (const kept of [10, 11]) {
      const r = stalled(kept).analyze(only);
      expect(r.exchanges.map((e) => e.statusClass)).toEqual(kept === 10 ? ['4xx', '4xx'] : ['40x', '40x']);
      expect(ofKind(r, KIND)).toEqual([]);
    }
  });

  test('a FIN without a response after the client went silent mid-body (nginx client_body_timeout)', () => {
    const cap = new Capture();
    // Bodies stalled at different moments, each closed 2 s after its last byte.
    for (const [t, stall] of [[0, 1.2], [10, 0.5]]) {
      const c = cap.connection();
      c.handshake(t).request(t + 0.01, putHead).request(t + stall, 'x'.repeat(4000));
      c.fin(t + stall + 2, 's');
    }
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(2);
    expect(found.map((f) => f.evidence.closedWith)).toEqual(['FIN', 'FIN']);
    // The server's clock: from the client's last byte (2.0 s), which agrees, not from the request's start.
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.inferred.serverClientTimeout.value).toBeCloseTo(2, 2);
    expect(d.explanation).toContain('after the client last sent a byte of it');
    // The heads were whole: the body's timer is named, not the header's (blind round 15, longlived s09).
    expect(d.explanation).toContain('request body read timeout (nginx `client_body_timeout`');
    expect(d.explanation).not.toContain('client_header_timeout');
    expect(d.explanation).not.toContain('headersTimeout');
  });

  test('a request line trickled until the server closed without a byte (nginx client_header_timeout, from the accept)', () => {
    const cap = new Capture();
    // Two slowloris heads, 4 bytes every 0.3 s, each closed 2 s after its accept while still arriving.
    for (const t of [0, 10]) {
      const c = cap.connection();
      c.handshake(t);
      const line = 'GET /slow-head HTTP/1.1';
      for (let k = 0; k * 4 < line.length && 0.05 + 0.3 * k < 2; k++) c.request(t + 0.05 + 0.3 * k, line.slice(4 * k, 4 * k + 4));
      c.fin(t + 2, 's');
    }
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(2);
    expect(found[0].evidence).toMatchObject({ method: 'GET', status: null, requestComplete: false, headComplete: false, closedWith: 'FIN' });
    expect(found[0].summary).toContain('its head unfinished');
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.inferred.serverHeaderTimeout.value).toBeCloseTo(2, 1);
    expect(d.explanation).toContain('after the connection was accepted');
    expect(d.inferred.serverClientTimeout).toBeUndefined();
    // The heads unfinished: the header's timer is named, not the body's.
    expect(d.explanation).toContain('request header read timeout (nginx `client_header_timeout`');
    expect(d.explanation).not.toContain('client_body_timeout');
  });

  test('a 408 while the header lines still trickle (Node.js headersTimeout), the client sending on after it', () => {
    const cap = new Capture();
    const c = cap.connection();
    c.handshake(0).request(0.01, 'GET /slow-headers HTTP/1.1\r\nHost: example\r\nX-Slow: ');
    for (let k = 1; k <= 6; k++) c.request(0.01 + 0.3 * k, 'aaaa');
    c.response(2.07, REQUEST_TIMEOUT_408).request(2.1, 'aaaa').fin(2.2, 's');
    const [f] = ofKind(cap.analyze(only), KIND);
    expect(f.evidence).toMatchObject({ uri: '/slow-headers', status: 408, headComplete: false });
    expect(f.evidence.sinceRequestStart).toBeCloseTo(2.06, 2);
  });

  test('a 400 to a request line still trickling in (Go net/http at ReadHeaderTimeout) is a timeout; a 400 to a whole or quick request is not', () => {
    const BAD_REQUEST = 'HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request';
    const cap = new Capture();
    const slow = cap.connection();
    slow.handshake(0);
    const line = 'GET /slow-head HTTP/1.1';
    for (let k = 0; k < 6; k++) slow.request(0.01 + 0.3 * k, line.slice(4 * k, 4 * k + 4));
    slow.response(2.0, BAD_REQUEST).fin(2.001, 's');
    // A malformed request, whole: rejected at once.
    const whole = cap.connection();
    whole.handshake(10).request(10.01, 'GET /x HTTP/1.1\r\nBad header\r\n\r\n').response(10.012, BAD_REQUEST).fin(10.013, 's');
    // An unfinished line answered 400 at once (a server that rejects its first bytes).
    const quick = cap.connection();
    quick.handshake(20).request(20.01, 'GET /a b c').response(20.05, BAD_REQUEST).fin(20.051, 's');
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found.map((f) => f.client)).toEqual([slow.clientName]);
    expect(found[0].evidence).toMatchObject({ status: 400, headComplete: false });
    expect(r.diagnoses.find((d) => d.kind === KIND)!.explanation).toContain('Go net/http `Server.ReadHeaderTimeout`');
  });

  test('a 400 to a head trickled byte by byte that had shown only its method (`GET `: Go at ReadHeaderTimeout, blind round 17 appservers s03) is a request and a timeout', () => {
    const BAD_REQUEST = 'HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request';
    const cap = new Capture();
    const c = cap.connection();
    c.handshake(0);
    for (const [k, b] of ['G', 'E', 'T', ' '].entries()) c.request(0.0002 + 0.306 * k, b);
    c.response(1.0778, BAD_REQUEST).fin(1.0779, 's').fin(1.0797, 'c');
    const r = cap.analyze(only);
    // The head the server answered is counted as a request, though it never showed a target.
    expect(r.exchanges).toHaveLength(1);
    expect(r.exchanges[0]).toMatchObject({ method: 'GET', status: 400, requestHeadUnfinished: true });
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(1);
    expect(found[0].evidence).toMatchObject({ method: 'GET', status: 400, headComplete: false, closedWith: 'FIN' });
    expect(found[0].evidence.sinceRequestStart).toBeCloseTo(1.0776, 3);
    expect(r.diagnoses.find((d) => d.kind === KIND)!.explanation).toContain('a head stopped inside a line is parsed as it stands and answered 400');
    // Near miss: the same bytes and a close, no answer (the client closing its own), stay no request at all.
    const own = new Capture();
    const o = own.connection();
    o.handshake(0);
    for (const [k, b] of ['G', 'E', 'T', ' '].entries()) o.request(0.0002 + 0.306 * k, b);
    o.fin(1.5, 'c').fin(1.5001, 's');
    const ro = own.analyze(only);
    expect(ro.exchanges).toHaveLength(0);
    expect(ofKind(ro, KIND)).toEqual([]);
  });

  test("a 408 to a half-sent head whose client closed first on reading it (WEBrick :RequestTimeout, blind round 17 appservers s11) is the server's timer; a 400 after the client's own close is not", () => {
    const WEBRICK_408 = 'HTTP/1.1 408 Request Timeout\r\nServer: WEBrick/1.8.1 (Ruby/3.1.2/2022-04-12)\r\nContent-Length: 2\r\nConnection: close\r\n\r\n';
    const cap = new Capture();
    const c = cap.connection();
    c.handshake(0).request(0.0296, 'GET /x HTTP/1.1\r\nHost: x\r\n');
    // The 408's head, then its body; the client's FIN comes before the server's.
    c.response(2.0306, WEBRICK_408).response(2.0308, 'ok').fin(2.0318, 'c').fin(2.0324, 's');
    // Node's 400 to the EOF inside a head: the client gave up first (15 s), the server answered its close (s18).
    const gaveUp = cap.connection();
    gaveUp.handshake(10).request(10.0005, 'GET /slow-head HTTP/1.1\r\nHost: x\r\n').fin(25.017, 'c');
    gaveUp.response(25.018, 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n').rst(25.0181, 'c');
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    // The 400 after the client's close is no timeout of the server's: only the client's give-up is told of it.
    expect(found.map((f) => f.client)).toEqual([c.clientName, gaveUp.clientName]);
    expect(found[0].evidence).toMatchObject({ status: 408, headComplete: false, closedBy: 'client' });
    expect(found[0].evidence.sinceRequestStart).toBeCloseTo(2.001, 3);
    expect(found[1].evidence.timedOutAt).toBeUndefined();
    expect(found[1].evidence).toMatchObject({ answeredClose: true, closedBy: 'client' });
    // The Server header names the setting.
    expect(r.diagnoses.find((d) => d.kind === KIND && d.server === c.serverName)!.explanation).toContain('WEBrick `:RequestTimeout`');
  });

  test("a client that gave up on its own unfinished head after a long silence, the server answering only its close (Node's headersTimeout unchecked for 30 s, blind round 17 appservers s18); a quick abandon stays silent", () => {
    const cap = new Capture();
    const c = cap.connection();
    c.handshake(0).request(0.0005, 'GET /slow-head HTTP/1.1\r\nHost: x\r\n').fin(15.0172, 'c');
    c.response(15.0184, 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n').rst(15.0185, 'c');
    // Near misses: heads abandoned 0.5 s and 1 s after they were sent (the client gave up on them itself, no wait for an answer).
    for (const [t, wait] of [[30, 0.5], [40, 1]]) {
      const q = cap.connection();
      q.handshake(t).request(t + 0.001, 'GET /a HTTP/1.1\r\nHost: x\r\n').fin(t + 0.001 + wait, 'c');
      q.response(t + 0.0012 + wait, 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n').rst(t + 0.0013 + wait, 'c');
    }
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found.map((f) => f.client)).toEqual([c.clientName]);
    expect(found[0].evidence).toMatchObject({ uri: '/slow-head', headComplete: false, closedBy: 'client', closedWith: 'FIN', status: 400, answeredClose: true });
    expect(found[0].evidence.clientWaited).toBeCloseTo(15.0167, 3);
    expect(found[0].summary).toContain('the client gave up on it');
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.explanation).toContain("the failure is the client's own timeout");
    expect(d.explanation).toContain('its header timer is longer than 15.017 s, or checked less often');
    expect(d.explanation).toContain('`connectionsCheckingInterval`');
    expect(d.inferred).toEqual({});
  });

  test('a silent close of a half-sent head names the servers that close so: Go where it stopped at a line\'s end, Puma either way, never Go inside a line (blind round 17 appservers s15)', () => {
    const explanationOf = (head: string): string => {
      const cap = new Capture();
      // Its other answers name no software (Go and Puma send no Server header).
      cap.connection().handshake(-5).exchange(-4.9, get('/'), ok()).close(-4.8, 'c');
      const c = cap.connection();
      c.handshake(0).request(0.009, head).fin(2.01, 's').fin(2.0102, 'c');
      const r = cap.analyze(only);
      expect(ofKind(r, KIND)).toHaveLength(1);
      return r.diagnoses.find((d) => d.kind === KIND)!.explanation;
    };
    const atLineEnd = explanationOf('GET /x HTTP/1.1\r\nHost: x\r\n');
    expect(atLineEnd).toContain('Go net/http `Server.ReadHeaderTimeout`');
    expect(atLineEnd).toContain('Puma `first_data_timeout`');
    const insideLine = explanationOf('GET /x HT');
    expect(insideLine).toContain('Puma `first_data_timeout`');
    expect(insideLine).toContain("not Go's `ReadHeaderTimeout`, which answers 400 to a head stopped inside a line");
    expect(insideLine).not.toContain('Go net/http `Server.ReadHeaderTimeout`');
  });

  test("one body timed out beside one head bounds the body's timer too (Node requestTimeout 408, blind round 17 appservers s02)", () => {
    const cap = new Capture();
    const h = cap.connection();
    h.handshake(0).request(0.001, 'GET / HTTP/1.1\r\n');
    for (let k = 1; k <= 6; k++) h.request(0.001 + 0.3 * k, 'X: y\r\n');
    h.response(2.154, REQUEST_TIMEOUT_408).fin(2.1541, 's');
    const b = cap.connection();
    b.handshake(10).request(10.001, 'POST /slowbody HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\n').request(10.1, '123456789');
    b.response(14.165, REQUEST_TIMEOUT_408).fin(14.1651, 's');
    const d = cap.analyze(only).diagnoses.find((x) => x.kind === KIND)!;
    expect(d.inferred.serverHeaderTimeout.samples).toBe(1);
    expect(d.inferred.serverClientTimeout).toMatchObject({ samples: 1 });
    expect(d.inferred.serverClientTimeout.value).toBeCloseTo(4.164, 2);
    expect(d.explanation).toContain("one timeout bounds the server's body timer to at most");
  });

  test('a 408 Request Time-out without a Server header names HAProxy, a 408 Request Timeout Node.js', () => {
    const settingOf = (reason: string): string => {
      const cap = new Capture();
      const c = cap.connection();
      c.handshake(0).request(0.01, putHead).request(0.02, 'x'.repeat(4000));
      c.response(2.01, `HTTP/1.1 408 ${reason}\r\nConnection: close\r\n\r\n`).fin(2.011, 's');
      return cap.analyze(only).diagnoses.find((d) => d.kind === KIND)!.explanation;
    };
    expect(settingOf('Request Time-out')).toContain('HAProxy `timeout http-request`');
    expect(settingOf('Request Timeout')).toContain('Node.js http.Server `requestTimeout`');
  });

  test("408s without a Server header where the endpoint's other responses name Apache: a proxy in front's timer (HAProxy passes Apache's header on), not Apache's", () => {
    const explanationWith = (answer408: string): string => {
      const cap = new Capture();
      cap.connection().handshake(0).exchange(0.01, get('/a'), ok('ok', ['Server: Apache/2.4.62 (Debian)']));
      for (const at of [1, 5]) {
        const c = cap.connection();
        c.handshake(at).request(at + 0.01, 'GET /slow HTTP/1.1\r\nHost: example\r\nX-A: ');
        c.response(at + 3.01, answer408).fin(at + 3.011, 's');
      }
      return cap.analyze(only).diagnoses.find((d) => d.kind === KIND)!.explanation;
    };
    const front = explanationWith('HTTP/1.1 408 Request Time-out\r\ncontent-length: 0\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n');
    expect(front).toContain('The setting at work is the timer of a proxy in front, HAProxy `timeout http-request`');
    expect(front).toContain('carry no Server header while its other responses say `Server: Apache/2.4.62 (Debian)`');
    // Near miss: Apache's own 408 names itself.
    const own = explanationWith('HTTP/1.1 408 Request Timeout\r\nServer: Apache/2.4.62 (Debian)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    expect(own).toContain('The setting at work is Apache mod_reqtimeout');
    expect(own).not.toContain('proxy in front');
  });

  test('a client that sends on after the server gave up (it has not seen the close yet): the silence is measured to its last byte before the close', () => {
    const cap = new Capture();
    // A head trickled 8 bytes every 0.4 s, the FIN at 2.3 s (0.3 s after the last piece), one more piece after it.
    const head = cap.connection();
    head.handshake(0).request(0.001, 'GET /tric');
    for (let k = 1; k <= 5; k++) head.request(0.001 + 0.4 * k, 'aaaaaaaa');
    head.fin(2.301, 's').request(2.401, 'aaaaaaaa', { noAck: true }).rst(2.4011, 's');
    // A body silent 1.4 s, then the FIN (nginx client_body_timeout), then the client's next piece 0.3 s after it.
    const body = cap.connection();
    body.handshake(10).request(10.001, putHead).request(10.002, 'xxxx');
    body.fin(11.402, 's').request(11.7, 'xxxx', { noAck: true }).rst(11.7001, 's');
    // A body still flowing up to the close (its last piece 0.1 s before the FIN), sent on after it: no
    // silence timed, a timer on the whole request cut it (see the upload-cut test).
    const flowing = cap.connection();
    flowing.handshake(20).request(20.001, putHead);
    for (let k = 1; k <= 14; k++) flowing.request(20.001 + 0.1 * k, 'xxxx');
    flowing.fin(21.5, 's').request(21.6, 'xxxx', { noAck: true }).rst(21.6001, 's');
    const found = ofKind(cap.analyze(only), KIND);
    expect(found.map((f) => f.client)).toEqual([head.clientName, body.clientName, flowing.clientName]);
    expect(found[1].evidence.clientStillSending).toBeUndefined();
    expect(found[2].evidence.clientStillSending).toBe(true);
    expect(found[0].evidence.sinceRequestStart).toBeCloseTo(2.3, 3);
    expect(found[0].evidence.sinceClientData).toBeCloseTo(0.3, 3);
    expect(found[0].summary).toContain('2.3 s after it began, 0.3 s after the client last sent a byte of it');
    expect(found[1].evidence.sinceClientData).toBeCloseTo(1.4, 3);
  });

  test('an upload cut while it still flowed (Go ReadTimeout): the client sent on after the FIN and was reset; the timer is the time since the request began', () => {
    const cap = new Capture();
    // Two uploads, 10 KB every 0.4 s, each cut 2 s after its accept with 50 KB of 100 KB sent.
    const cuts = [0, 10].map((t) => {
      const c = cap.connection();
      c.handshake(t).request(t + 0.001, putHead);
      for (let k = 0; k < 5; k++) c.request(t + 0.002 + 0.4 * k, 'x'.repeat(10_000));
      c.fin(t + 2.0, 's').request(t + 2.002, 'x'.repeat(10_000), { noAck: true }).rst(t + 2.0021, 's');
      return c;
    });
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found.map((f) => f.client)).toEqual(cuts.map((c) => c.clientName));
    expect(found[0].evidence).toMatchObject({ clientStillSending: true, requestLength: 100_000, closedWith: 'FIN', headComplete: true });
    expect(found[0].evidence.sinceRequestStart).toBeCloseTo(1.999, 3);
    expect(found[0].evidence.sinceClientData).toBeCloseTo(0.398, 3);
    expect(found[0].summary).toContain('cut by the server (a FIN without a response) 1.999 s after it began while its body was still arriving (60000 of 100000 body bytes sent');
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    // The clock is the request's: the client's last byte before the close timed no silence.
    expect(d.inferred.serverClientTimeout.value).toBeCloseTo(1.999, 3);
    expect(d.explanation).toContain('after each request began');
    expect(d.explanation).not.toContain('after the client last sent a byte');
    expect(d.explanation).toContain('Go net/http `Server.ReadTimeout`');
    expect(d.remedy).toContain('whole request');
  });

  test('silent: uploads cut by the client, answered early (413) then closed, read to their end and answered, or met by a close at once', () => {
    const cap = new Capture();
    const steady = (c: ReturnType<Capture['connection']>, t: number, n: number): void => {
      c.handshake(t).request(t + 0.001, putHead);
      for (let k = 0; k < n; k++) c.request(t + 0.002 + 0.4 * k, 'x'.repeat(10_000));
    };
    // The client aborts its own upload (its deadline): its FIN comes first.
    const aborted = cap.connection();
    steady(aborted, 0, 5);
    aborted.fin(2.0, 'c').fin(2.0001, 's');
    // The server answers 413 early and closes; the body still flowing draws its RST (rst-on-close's).
    const early = cap.connection();
    steady(early, 10, 3);
    early.response(11.0, 'HTTP/1.1 413 Request Entity Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n').fin(11.001, 's');
    early.request(11.2, 'x'.repeat(10_000), { noAck: true }).rst(11.2001, 's');
    // A 20 KB upload read to its end and answered.
    const whole = cap.connection();
    whole.handshake(20).request(20.001, 'PUT /upload HTTP/1.1\r\nHost: example\r\nContent-Length: 20000\r\n\r\n');
    whole.request(20.002, 'x'.repeat(10_000)).request(20.402, 'x'.repeat(10_000)).response(20.41, ok()).fin(21.5, 's');
    // A close 0.1 s after the upload began, the client sending on (a crossing, no timer on the request).
    const soon = cap.connection();
    steady(soon, 30, 1);
    soon.request(30.05, 'x'.repeat(10_000)).fin(30.1, 's').request(30.15, 'x'.repeat(10_000), { noAck: true }).rst(30.1501, 's');
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  test("a head the server closed on before it completed, its client sending the rest after the FIN (Go's ReadHeaderTimeout, blind round 15 S6)", () => {
    // Go net/http 1.19, ReadHeaderTimeout 1 s, no Server header: half a head, a FIN 1 s later without a
    // byte; the client wrote the rest 2 s after its first byte, not having read the close, and drew RSTs.
    const cap = new Capture();
    // Its other answers name no software (Go sends no Server header).
    cap.connection().handshake(-5).exchange(-4.9, get('/'), ok()).close(-4.8, 'c');
    const c = cap.connection();
    c.handshake(0, 0.0001, 0.061).request(0.0612, 'GET /slowhdr HTTP/1.1\r\nHost: x\r\n');
    c.fin(1.0618, 's').ack(1.124, 'c').request(2.0685, 'User-Agent: slowhdr-ruby\r\n\r\n', { noAck: true }).rst(2.0686, 's');
    c.fin(2.0687, 'c').rst(2.0688, 's');
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(1);
    expect(found[0].evidence).toMatchObject({ uri: '/slowhdr', status: null, headComplete: false, closedWith: 'FIN' });
    expect(found[0].evidence.sinceRequestStart).toBeCloseTo(1.0006, 3);
    expect(found[0].evidence.headRestAfterClose).toBe(true);
    expect(found[0].summary).toContain('its head unfinished: the client sent the rest after the close and was reset');
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.explanation).toContain('the client was too slow');
    // A head stopped at a line's end, closed on without a byte: Go's timer, or Puma's (neither names itself).
    expect(d.explanation).toContain("The setting at work is a header timer that closes without a byte on a head stopped at a line's end (neither sends a Server header): Go net/http `Server.ReadHeaderTimeout`");
    expect(d.explanation).toContain('Puma `first_data_timeout`');
    expect(d.explanation).toContain('one close bounds the server\'s header timer to at most 1.001 s');
    // One close bounds the header timer: at most the time since the accept.
    expect(d.inferred.serverHeaderTimeout.value).toBeCloseTo(1.0006, 2);
    expect(d.inferred.serverHeaderTimeout.samples).toBe(1);
  });

  test('a head stalled on a kept-alive connection, its rest sent after the FIN (ReadHeaderTimeout from its first byte): slow-client-timeout alone, no keepalive-race', () => {
    const cap = new Capture();
    const c = cap.connection();
    c.handshake(0).exchange(0.01, get('/a'), ok()).request(0.3, 'GET /slowhdr HTTP/1.1\r\nHost: x\r\n');
    c.fin(1.3, 's').ack(1.3001, 'c').request(2.3, 'User-Agent: x\r\n\r\n', { noAck: true }).rst(2.3001, 's');
    const r = cap.analyze();
    expect(r.anomalies.map((a) => a.kind)).toEqual([KIND]);
    expect(r.anomalies[0].evidence).toMatchObject({ uri: '/slowhdr', headComplete: false, headRestAfterClose: true });
    expect(r.anomalies[0].evidence.sinceRequestStart).toBeCloseTo(1, 3);
    // Not its first request: the accept is no clock, the bound is the time since the head began.
    expect(r.diagnoses.find((x) => x.kind === KIND)!.inferred.serverHeaderTimeout.value).toBeCloseTo(1, 3);
  });

  test('silent near misses of a head closed on: the client closing its own half-sent head, an idle kept-alive connection closed with no byte of a next request, a head finished before the close', () => {
    const cap = new Capture();
    // The client gives up on its own head (its FIN first); the server closes after it.
    const own = cap.connection();
    own.handshake(0).request(0.001, 'GET /a HTTP/1.1\r\nHost: x\r\n').fin(1.001, 'c').fin(1.0012, 's');
    // A kept-alive connection idle 1 s after its response, closed by the server; the client's next request crossed the FIN.
    const idle = cap.connection();
    idle.handshake(10).exchange(10.001, get('/a'), ok()).fin(11.002, 's').request(11.05, get('/b'), { noAck: true }).rst(11.0501, 's');
    // A whole head sent before the server closed without a byte (a complete request unanswered: not a head timer).
    const whole = cap.connection();
    whole.handshake(20).request(20.001, 'GET /w HTTP/1.1\r\nHost: x\r\n').request(20.3, '\r\n').fin(21.3, 's');
    // The rest of a head sent after a FIN that came at once (0.1 s): a crossing, no timer on the head.
    const soon = cap.connection();
    soon.handshake(30).request(30.001, 'GET /s HTTP/1.1\r\nHost: x\r\n').fin(30.1, 's').request(30.2, '\r\n', { noAck: true }).rst(30.2001, 's');
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  test('silent: a head cut short by a close that came at once (a race with an idle close, not a slow client)', () => {
    const cap = new Capture();
    const c = cap.connection();
    c.handshake(0).exchange(0.01, get('/'), ok()).request(5, 'POST /a HTTP/1.1\r\nHost: exa').fin(5.1, 's');
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  test('silent: a 408 that was an idle keep-alive close crossing a complete request on a reused connection; a 408 to a stalled upload on one still counts', () => {
    const cap = new Capture();
    // Idle 0.98 s after its response, a GET crossed the server's idle 408 (sent 20 ms after it, the request unread).
    const idle = cap.connection();
    idle.handshake(0).exchange(0.01, get('/a'), ok()).request(0.99, get('/b')).response(1.01, REQUEST_TIMEOUT_408).rst(1.0101, 's');
    // Reused at once, an upload that stalled and was timed out 3 s later: a slow client.
    const slow = cap.connection();
    slow.handshake(10).exchange(10.01, get('/a'), ok()).request(10.02, putHead).request(10.03, 'x'.repeat(4000));
    slow.response(13.02, REQUEST_TIMEOUT_408).fin(13.021, 's');
    const found = ofKind(cap.analyze(only), KIND);
    expect(found.map((f) => f.client)).toEqual([slow.clientName]);
  });

  test('silent: a server that closes while the upload still flows, one that resets it, and a complete request left unanswered', () => {
    const cap = new Capture();
    const flowing = cap.connection();
    flowing.handshake(0).request(0.01, putHead).request(1.0, 'x'.repeat(4000)).fin(1.1, 's');
    const reset = cap.connection();
    reset.handshake(5).request(5.01, putHead).request(5.2, 'x'.repeat(4000)).rst(8, 's');
    const complete = cap.connection();
    complete.handshake(10).request(10.01, get('/slow')).fin(13, 's');
    const answered = cap.connection();
    answered.handshake(20).exchange(20.01, get('/'), ok()).fin(25, 's');
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });
});

describe('slow-client-timeout behind a proxy that streams the body (slow-client-timeout-proxy-upload-cut)', () => {
  // The client trickles 10 writes 0.18 s apart, then stalls; the backend's whole-request timer (Go's
  // ReadTimeout, 2 s) closes 0.38 s after the last forwarded byte: before, too short a silence to count.
  const trickle = { declared: 50000, sent: 10000, writes: 10, pace: 0.18, backendAt: 2.0, backend: 'FIN' };

  test("a body stopped short on the upstream leg: the backend's timer, and the proxy's 502 on the client leg related to it", () => {
    const cap = new Capture();
    streamedUpload(cap, 0, '/upload?a', trickle);
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    const up = found.find((f) => f.server === BACKEND_ENDPOINT)!;
    expect(up.evidence).toMatchObject({ bodyStoppedShort: true, status: null, requestBodyBytes: 10000, requestLength: 50000, proxy: PROXY_ENDPOINT });
    expect(up.evidence.sinceClientData).toBeCloseTo(0.378, 2);
    expect(up.evidence.sinceRequestStart).toBeCloseTo(2.0, 2);
    const down = found.find((f) => f.server === PROXY_ENDPOINT)!;
    expect(down.evidence).toMatchObject({ status: 502, timedOutBy: 'backend', backend: BACKEND_ENDPOINT, upstreamFinding: up.id });
    expect(found).toHaveLength(2);
    const proxy = r.diagnoses.find((d) => d.kind === KIND && d.server === PROXY_ENDPOINT)!;
    expect(proxy.explanation).toContain('the timer was not its own');
    expect(proxy.inferred).toEqual({});
    const backend = r.diagnoses.find((d) => d.kind === KIND && d.server === BACKEND_ENDPOINT)!;
    expect(backend.explanation).toContain('stopped short');
    expect(backend.explanation).toContain('came through the proxy 10.0.0.2:80');
    expect(backend.remedy).toContain('proxy_request_buffering on');
  });

  test("a backend's 408 passed on by the proxy is the backend's timer, not the proxy's client_body_timeout", () => {
    const cap = new Capture();
    streamedUpload(cap, 0, '/upload?b', { declared: 50000, sent: 10000, writes: 2, pace: 0.1, backendAt: 2.0, backend: '408 Request Timeout' });
    const r = cap.analyze(only);
    expect(ofKind(r, KIND).map((f) => f.server).sort()).toEqual([PROXY_ENDPOINT, BACKEND_ENDPOINT].sort());
    const proxy = r.diagnoses.find((d) => d.kind === KIND && d.server === PROXY_ENDPOINT)!;
    expect(proxy.explanation).toContain('the timer was not its own');
    expect(proxy.explanation).toContain('the backend 10.0.0.3:8080');
  });

  test('the upstream leg alone: stopped-short bodies whose closes agree on the time since each request began (a whole-request timer)', () => {
    const cap = new Capture();
    streamedUpload(cap, 0, '/upload?a', { ...trickle, upstreamOnly: true });
    streamedUpload(cap, 10, '/upload?b', { ...trickle, pace: 0.17, upstreamOnly: true });
    const r = cap.analyze(only);
    expect(ofKind(r, KIND).map((f) => f.evidence.bodyStoppedShort)).toEqual([true, true]);
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.inferred.serverClientTimeout.value).toBeCloseTo(2.0, 2);
    expect(d.explanation).toContain('after each request began');
    // One alone agrees with nothing: a server that died a moment after the body stopped looks the same.
    const lone = new Capture();
    streamedUpload(lone, 0, '/upload?a', { ...trickle, upstreamOnly: true });
    expect(ofKind(lone.analyze(only), KIND)).toEqual([]);
  });

  test("the client leg alone: a 408 nginx sent is its backend's passed on (at its own client_body_timeout nginx closes without a byte)", () => {
    const cap = new Capture();
    const c = cap.connection();
    c.handshake(0).request(0.01, putHead).request(0.02, 'x'.repeat(4000));
    c.response(2.02, 'HTTP/1.1 408 Request Timeout\r\nServer: nginx/1.22.1\r\nContent-Length: 5\r\nConnection: close\r\n\r\nslow\n').fin(2.021, 's');
    const d = cap.analyze(only).diagnoses.find((x) => x.kind === KIND)!;
    expect(d.explanation).toContain("not nginx's own");
    expect(d.explanation).not.toContain('The setting at work is nginx `client_body_timeout`');
  });

  test("a server that named itself Python http.server on the connection: its handler's `timeout` is named (blind round 13, S12)", () => {
    const settingFor = (server: string): string => {
      const cap = new Capture();
      const c = cap.connection();
      c.handshake(0).exchange(0.01, get('/first'), ok('hi', [`Server: ${server}`]));
      c.request(0.5, putHead).request(0.51, 'x'.repeat(4000));
      c.fin(2.51, 's');
      return cap.analyze(only).diagnoses.find((x) => x.kind === KIND)?.explanation ?? '';
    };
    expect(settingFor('BaseHTTP/0.6 Python/3.11.2')).toContain('Python http.server: the request handler\'s `timeout`');
    expect(settingFor('nginx/1.22.1')).not.toContain('Python http.server');
  });

  test('silent near miss: a slow but complete upload through the proxy, answered 200', () => {
    const cap = new Capture();
    streamedUpload(cap, 0, '/upload?whole', { declared: 10000, sent: 10000, writes: 10, pace: 0.15, backendAt: 0, backend: 'FIN' });
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  test('silent: a lone close a moment after a direct client stopped (no proxy with nothing to forward, no timer the closes agree on)', () => {
    const cap = new Capture();
    const c = cap.connection();
    c.handshake(0).request(0.01, putHead);
    for (let i = 0; i < 5; i++) c.request(0.1 + i * 0.2, 'x'.repeat(1000));
    c.fin(1.2, 's');
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });
});

describe('slow-client-timeout on the recorded sample (slow-clients-server-timeouts)', () => {
  const file = path.join(SAMPLES_DIR, 'slow-clients-server-timeouts.pcap');
  (fs.existsSync(file) ? test : test.skip)('Node\'s 408s and nginx\'s silent closes of a stalled PUT and of a trickled head, each server\'s setting named', async () => {
    const r = await analyzeFiles([file]);
    const found = ofKind(r, KIND);
    expect(found.map((f) => f.evidence.uri).sort()).toEqual(['/slow-head/nginx', '/slow-head/node', '/upload/slow-body-nginx', '/upload/slow-body-node']);
    expect(found.filter((f) => f.evidence.headComplete === false).map((f) => f.evidence.uri).sort()).toEqual(['/slow-head/nginx', '/slow-head/node']);
    const byServer = new Map(r.diagnoses.filter((d) => d.kind === KIND).map((d) => [d.server, d.explanation]));
    expect([...byServer.values()].some((e) => e.includes('Node.js http.Server `requestTimeout`'))).toBe(true);
    expect([...byServer.values()].some((e) => e.includes('nginx `client_body_timeout`'))).toBe(true);
  });

  const cutFile = path.join(SAMPLES_DIR, 'slow-client-timeout-upload-cut.pcap');
  (fs.existsSync(cutFile) ? test : test.skip)('Go\'s ReadTimeout cutting two steady uploads (slow-client-timeout-upload-cut): both found, the timer 2 s after each request began; the upload read whole within it stays clean', async () => {
    const r = await analyzeFiles([cutFile]);
    const found = ofKind(r, KIND);
    expect(found.map((f) => f.evidence.uri)).toEqual(['/upload?cut1', '/upload?cut2']);
    expect(found.every((f) => f.evidence.clientStillSending === true && f.evidence.closedWith === 'FIN')).toBe(true);
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.inferred.serverClientTimeout.value).toBeCloseTo(2, 1);
    expect(d.explanation).toContain('Go net/http `Server.ReadTimeout`');
  });

  test.each(['clean-keepalive-reuse', 'reset-before-response-upload', 'rst-on-close', 'uploads-expect-continue-nginx', 'unanswered-request-timeout', 'zero-window-stall'])(
    'silent on %s',
    async (name) => {
      const file = path.join(SAMPLES_DIR, `${name}.pcap`);
      if (!fs.existsSync(file)) return;
      expect(ofKind(await analyzeFiles([file], { detectors: only }), KIND)).toEqual([]);
    },
  );
});
