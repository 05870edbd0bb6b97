import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyzeFiles } from '../../src/analyze';
import { rstOnClose } from '../../src/detect/detectors/rst-on-close';
import { slowClientTimeout } from '../../src/detect/detectors/slow-client-timeout';
import { SAMPLES_DIR, SampleMeta } from '../samples';
import { Capture, get, ofKind, ok } from './reuse-kit';

// An early answer to an upload still arriving: a server's read timer on the request (Go's
// ReadTimeout: the handler's read fails with `i/o timeout` and it answers 400), told apart from a
// refusal of what the server was sent (rst-on-close's early 413) by when it came (blind round 15, S16).
const both = [rstOnClose, slowClientTimeout];
const chunkedHead = 'POST /upload HTTP/1.1\r\nHost: example\r\nTransfer-Encoding: chunked\r\n\r\n';
const piece = `400\r\n${'x'.repeat(1024)}\r\n`;
const badRequest = ok('read error', ['Connection: close'], 'HTTP/1.1', '400 Bad Request');
const tooLarge = ok('too large', ['Connection: close'], 'HTTP/1.1', '413 Payload Too Large');

type Conn = ReturnType<Capture['connection']>;

/** A chunked upload of 1 KB every `pace` s from `t`, `pieces` of them before `answerAt` (capture time); then the answer, the FIN, the next piece reset. */
function slowUpload(c: Conn, t: number, pace: number, answerAt: number, answer: string): void {
  c.request(t, chunkedHead);
  let k = 0;
  for (; t + 0.001 + pace * k < answerAt; k++) c.request(t + 0.001 + pace * k, piece);
  c.response(answerAt, answer).fin(answerAt + 0.0001, 's');
  c.request(t + 0.001 + pace * k, piece, { noAck: true }).rst(t + 0.001 + pace * k + 0.0001, 's');
}

describe('an answer to an upload still flowing: a read timer or an early refusal', () => {
  test('a 400 exactly 1 s after a reused connection\'s chunked upload began, at a quiet moment, the client sending on (Go ReadTimeout): slow-client-timeout, an error, not rst-on-close', () => {
    const cap = new Capture();
    const c = cap.connection();
    c.handshake(0).exchange(0.01, get('/a'), ok());
    slowUpload(c, 0.7, 0.3, 1.7, badRequest);
    const r = cap.analyze(both);
    expect(ofKind(r, 'rst-on-close')).toEqual([]);
    const [f, ...rest] = ofKind(r, 'slow-client-timeout');
    expect(rest).toEqual([]);
    expect(f.severity).toBe('error');
    expect(f.evidence).toMatchObject({ status: 400, headComplete: true, clientStillSending: true, restReset: true, closedWith: 'FIN' });
    expect(f.evidence.sinceRequestStart).toBeCloseTo(1.0, 3);
    expect(f.evidence.sinceClientData).toBeCloseTo(0.099, 3);
    expect(f.summary).toContain('answered 400 Bad Request by the server 1 s after it began while its body was still arriving');
    const d = r.diagnoses.find((x) => x.kind === 'slow-client-timeout')!;
    expect(d.severity).toBe('error');
    // One sample: a bound (at most the time since the request began, on a reused connection).
    expect(d.inferred.serverClientTimeout).toMatchObject({ samples: 1 });
    expect(d.inferred.serverClientTimeout.value).toBeCloseTo(1.0, 3);
    expect(d.explanation).toContain('one sample: a timer of at most 1 s');
    expect(d.explanation).toContain('a lingering close or `Expect: 100-continue` would not have saved it');
    expect(d.explanation).toContain('Go net/http `Server.ReadTimeout`');
    expect(d.remedy).toContain('raise that timer');
    expect(r.diagnoses.find((x) => x.kind === 'rst-on-close')).toBeUndefined();
  });

  test('several such answers agree on the time since each request began: the timer\'s value', () => {
    const cap = new Capture();
    // Different paces, so the answers fall at different distances from the last piece.
    for (const [t, pace] of [[0, 0.3], [10, 0.35], [20, 0.45]]) {
      const c = cap.connection();
      c.handshake(t).exchange(t + 0.01, get('/a'), ok());
      slowUpload(c, t + 0.5, pace, t + 1.5, badRequest);
    }
    const r = cap.analyze(both);
    expect(ofKind(r, 'slow-client-timeout')).toHaveLength(3);
    expect(ofKind(r, 'rst-on-close')).toEqual([]);
    const d = r.diagnoses.find((x) => x.kind === 'slow-client-timeout')!;
    expect(d.inferred.serverClientTimeout).toMatchObject({ samples: 3 });
    expect(d.inferred.serverClientTimeout.value).toBeCloseTo(1.0, 3);
  });

  test('near miss: a 413 right after the upload\'s head, the body still coming: rst-on-close\'s early answer, as before', () => {
    const cap = new Capture();
    const c = cap.connection();
    c.handshake(0).exchange(0.01, get('/a'), ok());
    c.request(0.7, chunkedHead).request(0.701, piece).response(0.7015, tooLarge).fin(0.7016, 's');
    c.request(1.001, piece, { noAck: true }).rst(1.0011, 's');
    const r = cap.analyze(both);
    expect(ofKind(r, 'slow-client-timeout')).toEqual([]);
    const [f] = ofKind(r, 'rst-on-close');
    expect(f.evidence.status).toBe(413);
  });

  test('near misses: a 400 a byte just read prompted (a body its handler rejects on what it read, 1 s in), and a 400 soon after the head, stay rst-on-close', () => {
    const cap = new Capture();
    const prompted = cap.connection();
    prompted.handshake(0).request(0.001, chunkedHead);
    for (let k = 0; k < 4; k++) prompted.request(0.002 + 0.3 * k, piece);
    prompted.request(1.002, piece).response(1.003, badRequest).fin(1.0031, 's');
    prompted.request(1.302, piece, { noAck: true }).rst(1.3021, 's');
    const soon = cap.connection();
    soon.handshake(10).request(10.001, chunkedHead).request(10.002, piece).response(10.2, badRequest).fin(10.2001, 's');
    soon.request(10.302, piece, { noAck: true }).rst(10.3021, 's');
    const r = cap.analyze(both);
    expect(ofKind(r, 'slow-client-timeout')).toEqual([]);
    expect(ofKind(r, 'rst-on-close').map((f) => f.client)).toEqual([prompted.clientName, soon.clientName]);
  });

  test('near miss: a client holding its body back for a 100 Continue (nothing after its head) answered 400 later, its body sent after: not a slow upload', () => {
    const cap = new Capture();
    const c = cap.connection();
    c.handshake(0).request(0.001, 'POST /upload HTTP/1.1\r\nHost: example\r\nContent-Length: 4096\r\nExpect: 100-continue\r\n\r\n');
    c.response(0.9, badRequest).fin(0.9001, 's');
    c.request(1.001, 'x'.repeat(4096), { noAck: true }).rst(1.0011, 's');
    expect(ofKind(cap.analyze(both), 'slow-client-timeout')).toEqual([]);
  });

  test('near misses at a quiet moment 1 s in: a proxy\'s 503 (its backend died mid-upload) and a 400 after which the server kept the connection, reading on: no read timer', () => {
    const cap = new Capture();
    const proxy = cap.connection();
    proxy.handshake(0);
    slowUpload(proxy, 0.001, 0.3, 1.0, ok('no backend', ['Connection: close'], 'HTTP/1.1', '503 Service Unavailable'));
    const kept = cap.connection();
    kept.handshake(10).request(10.001, chunkedHead);
    for (let k = 0; k < 5; k++) kept.request(10.002 + 0.3 * k, piece);
    kept.response(11.0, ok('bad', [], 'HTTP/1.1', '400 Bad Request')).request(11.302, '0\r\n\r\n');
    expect(ofKind(cap.analyze(both), 'slow-client-timeout')).toEqual([]);
  });

  test('near miss: a slow upload that completes before the timer, answered 200: silent', () => {
    const cap = new Capture();
    const c = cap.connection();
    c.handshake(0).exchange(0.01, get('/a'), ok());
    c.request(0.7, chunkedHead);
    for (let k = 0; k < 3; k++) c.request(0.701 + 0.25 * k, piece);
    c.request(1.3, '0\r\n\r\n').response(1.3002, ok('got 3072')).fin(3.0, 's').fin(3.001, 'c');
    const r = cap.analyze(both);
    expect(r.anomalies).toEqual([]);
  });
});

const SAMPLE = path.join(SAMPLES_DIR, 'upload-read-timeout-go.pcap');
(fs.existsSync(SAMPLE) ? describe : describe.skip)('Go ReadTimeout answering 400 to slow python-requests uploads (upload-read-timeout-go)', () => {
  test('both slow uploads are the timer\'s (1 s after each request began), errors; the 413 on its head stays rst-on-close; the upload that ended in time is clean', async () => {
    const meta = JSON.parse(fs.readFileSync(SAMPLE.replace(/\.pcap$/, '.meta.json'), 'utf8')) as SampleMeta;
    const expected = (kind: string): string[] => (meta.expect ?? []).filter((e) => e.kind === kind).map((e) => e.client ?? '');
    const r = await analyzeFiles([SAMPLE]);
    const timer = ofKind(r, 'slow-client-timeout');
    expect(timer.map((f) => f.client)).toEqual(expected('slow-client-timeout'));
    for (const f of timer) {
      expect(f.severity).toBe('error');
      expect(f.evidence).toMatchObject({ status: 400, clientStillSending: true, restReset: true });
    }
    expect(ofKind(r, 'rst-on-close').map((f) => [f.client, f.evidence.status])).toEqual(expected('rst-on-close').map((c) => [c, 413]));
    const d = r.diagnoses.find((x) => x.kind === 'slow-client-timeout')!;
    expect(d.severity).toBe('error');
    expect(d.inferred.serverClientTimeout.value).toBeCloseTo(1.0, 1);
  });
});
