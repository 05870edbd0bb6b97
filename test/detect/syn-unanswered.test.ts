import * as fs from 'node:fs';
import * as path from 'node:path';
import { Analyzer, analyzeFiles, AnalysisResult } from '../../src/analyze';
import type { Finding } from '../../src/detect/finding';
import { acceptQueueOverflow } from '../../src/detect/detectors/accept-queue-overflow';
import { synUnanswered } from '../../src/detect/detectors/syn-unanswered';
import { buildTcpPacket, LINKTYPE_ETHERNET, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, tcpOption } from '../helpers/packet-builder';
import { SAMPLES_DIR, SampleMeta } from '../samples';
import { Capture, get, ofKind, ok, T0 } from './reuse-kit';

const KIND = 'syn-unanswered';
const only = [synUnanswered];
const CLIENT = '10.0.0.1';
const SERVER = '10.0.0.2';
const ISN = 1_000_000;
const SERVER_ISN = 5_000_000;

/** One raw segment between CLIENT:cport and SERVER:80. */
function seg(cap: Capture, ts: number, from: 'c' | 's', cport: number, flags: number, seq: number, ack = 0, payload = ''): void {
  const c = from === 'c';
  cap.add(ts, buildTcpPacket({
    src: c ? CLIENT : SERVER, dst: c ? SERVER : CLIENT, sport: c ? cport : 80, dport: c ? 80 : cport,
    seq, ack, flags, payload,
  }));
}

/** A client's SYN sent at each of `times` (same ISN). */
function syns(cap: Capture, cport: number, times: number[]): void {
  for (const t of times) seg(cap, t, 'c', cport, TCP_SYN, ISN);
}

/** The SYN-ACK, the client's ACK, a GET and its 200 from `at` on. */
function answer(cap: Capture, cport: number, at: number): void {
  seg(cap, at, 's', cport, TCP_SYN | TCP_ACK, SERVER_ISN, ISN + 1);
  seg(cap, at + 0.0001, 'c', cport, TCP_ACK, ISN + 1, SERVER_ISN + 1);
  const req = get('/');
  seg(cap, at + 0.0002, 'c', cport, TCP_ACK | TCP_PSH, ISN + 1, SERVER_ISN + 1, req);
  seg(cap, at + 0.001, 's', cport, TCP_ACK | TCP_PSH, SERVER_ISN + 1, ISN + 1 + req.length, ok());
}

/** Unrelated traffic that keeps the capture running until `until`. */
function keepCaptureRunning(cap: Capture, until: number): void {
  const other = cap.connection({ client: '10.0.0.9', server: '10.0.0.3' });
  other.handshake(until - 0.01).exchange(until - 0.005);
}

/** A SYN or SYN-ACK with TCP timestamps. */
function stamped(cap: Capture, ts: number, from: 'c' | 's', cport: number, tsVal: number, tsEcr: number): void {
  const c = from === 'c';
  cap.add(ts, buildTcpPacket({
    src: c ? CLIENT : SERVER, dst: c ? SERVER : CLIENT, sport: c ? cport : 80, dport: c ? 80 : cport,
    seq: c ? ISN : SERVER_ISN, ack: c ? 0 : ISN + 1, flags: c ? TCP_SYN : TCP_SYN | TCP_ACK,
    options: [tcpOption.timestamp(tsVal, tsEcr)],
  }));
}

describe('syn-unanswered: what was lost, the SYN or its answer, and where', () => {
  test('a SYN-ACK that echoes the first SYN answered it: the SYN-ACK was lost on the way back, the listener dropped nothing', () => {
    const cap = new Capture();
    // The client's SYN at 0 (TSval 1000) and its retry at 1 s (TSval 2000).
    stamped(cap, 0, 'c', 40001, 1000, 0);
    stamped(cap, 1.0, 'c', 40001, 2000, 0);
    stamped(cap, 1.01, 's', 40001, 7000, 1000); // answers the first SYN: its first answer was lost
    stamped(cap, 5, 'c', 40002, 5000, 0);
    stamped(cap, 6.0, 'c', 40002, 6000, 0);
    stamped(cap, 6.01, 's', 40002, 9000, 6000); // answers the retry: the first SYN went unanswered
    const r = cap.analyze(only);
    expect(ofKind(r, KIND).map((f) => f.client)).toEqual([`${CLIENT}:40002`]);
  });

  /** Connections between the two hosts whose established data was retransmitted (a lossy path). */
  function lossyPath(cap: Capture, from: number): void {
    for (const t of [from, from + 1]) {
      const c = cap.connection({ client: CLIENT, server: SERVER });
      c.handshake(t).request(t + 0.01, get('/a'));
      const body = ok('x'.repeat(500));
      c.send(t + 0.02, 's', body).resend(t + 0.25, 's', body).ack(t + 0.2501, 'c');
      c.close(t + 0.3, 'c');
    }
  }

  test('a lone SYN retried once and answered at once, on a path whose connections retransmit: lost on the path, not reported', () => {
    const cap = new Capture();
    lossyPath(cap, 10);
    syns(cap, 40001, [0, 1.0]);
    answer(cap, 40001, 1.02);
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  test('the same retry on a clean path, or beside other retried SYNs to the listener, is the listener\'s', () => {
    const clean = new Capture();
    syns(clean, 40001, [0, 1.0]);
    answer(clean, 40001, 1.02);
    keepCaptureRunning(clean, 12);
    expect(ofKind(clean.analyze(only), KIND)).toHaveLength(1);
    const burst = new Capture();
    lossyPath(burst, 10);
    syns(burst, 40001, [0, 1.0]);
    answer(burst, 40001, 1.02);
    syns(burst, 40002, [0.3, 1.3]);
    answer(burst, 40002, 1.31);
    expect(ofKind(burst.analyze(only), KIND)).toHaveLength(2);
  });
});

describe('syn-unanswered: a lossy path at the time, an outage', () => {
  /** Connections between the two hosts whose established data was retransmitted, open from `from` for 2 s. */
  function losingSegments(cap: Capture, from: number): void {
    for (const t of [from, from + 0.5]) {
      const c = cap.connection({ client: CLIENT, server: SERVER });
      c.handshake(t).request(t + 0.01, get('/a'));
      const body = ok('x'.repeat(500));
      c.send(t + 0.02, 's', body).resend(t + 0.25, 's', body).resend(t + 0.7, 's', body).ack(t + 0.7001, 'c');
      c.close(t + 2, 'c');
    }
  }

  /** Two attempts retried twice, overlapping, both answered (what a full backlog does, and a lossy path). */
  function overlappingRetries(cap: Capture): void {
    syns(cap, 45001, [10, 11, 13]);
    answer(cap, 45001, 13.001);
    syns(cap, 45002, [10.3, 11.3]);
    answer(cap, 45002, 11.301);
  }

  test('answered late while connections between the same hosts were retransmitting then: path loss, at info, not a full backlog', () => {
    const cap = new Capture();
    losingSegments(cap, 9.5);
    overlappingRetries(cap);
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(2);
    expect(found.map((f) => f.severity)).toEqual(['info', 'info']);
    expect(found[0].evidence.pathRetransmissionsNear).toBeGreaterThanOrEqual(2);
    const [d] = r.diagnoses.filter((x) => x.kind === KIND);
    expect(d.severity).toBe('info');
    expect(d.explanation).toContain('the path was losing packets then');
    expect(d.explanation).not.toContain('arrived at once');
  });

  test('near miss: the same retries with the path losing segments only long before are the listener\'s, at warning (answered late: a delay, no failed connect)', () => {
    const cap = new Capture();
    losingSegments(cap, 0);
    overlappingRetries(cap);
    const r = cap.analyze(only);
    expect(ofKind(r, KIND).map((f) => f.severity)).toEqual(['warning', 'warning']);
    const [d] = r.diagnoses.filter((x) => x.kind === KIND);
    expect(d.severity).toBe('warning');
    expect(d.explanation).toContain('2 attempts were waiting at the same moment');
  });

  test('a connect given up among those answered late keeps the diagnosis at error; each answered-late attempt is a warning', () => {
    const cap = new Capture();
    losingSegments(cap, 0);
    overlappingRetries(cap);
    syns(cap, 45003, [10.5, 11.5]); // never answered: the client gave up
    keepCaptureRunning(cap, 30);
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found.map((f) => [f.evidence.outcome, f.severity]).sort()).toEqual([
      ['abandoned', 'error'], ['answered-late', 'warning'], ['answered-late', 'warning'],
    ]);
    expect(r.diagnoses.filter((x) => x.kind === KIND).map((d) => d.severity)).toEqual(['error']);
  });

  /** Attempts one after the other, each given up after one retry, with answered ones before and after. */
  function attemptsInTurn(cap: Capture, answeredBetween: boolean): void {
    syns(cap, 40100, [0]);
    answer(cap, 40100, 0.001);
    for (let i = 0; i < 4; i++) syns(cap, 40101 + i, [2 + 3 * i, 3 + 3 * i]);
    if (answeredBetween) {
      syns(cap, 40120, [7.5]);
      answer(cap, 40120, 7.501);
    }
    syns(cap, 40130, [16]);
    answer(cap, 40130, 16.001);
    keepCaptureRunning(cap, 30);
  }

  test('consecutive failed attempts with none answered between them: an outage, not isolated losses', () => {
    const cap = new Capture();
    attemptsInTurn(cap, false);
    const [d] = cap.analyze(only).diagnoses.filter((x) => x.kind === KIND);
    expect(d.severity).toBe('error');
    expect(d.explanation).toContain('4 consecutive attempts failed over 10 s');
    expect(d.explanation).toContain('an outage');
    expect(d.explanation).not.toContain('isolated SYN losses');
  });

  test('near miss: an attempt answered between the failed ones: isolated losses', () => {
    const cap = new Capture();
    attemptsInTurn(cap, true);
    const [d] = cap.analyze(only).diagnoses.filter((x) => x.kind === KIND);
    expect(d.explanation).toContain('The attempts did not overlap');
    expect(d.explanation).not.toContain('an outage');
  });
});

describe('syn-unanswered: attempts that sent one SYN, none answered', () => {
  /** Two clients' series of 3 attempts each, one SYN per attempt, replaced every `interval` s; interleaved. */
  function twoSeries(cap: Capture, interval: number): void {
    let port = 41000;
    for (const start of [0, 0.3]) for (let k = 0; k < 3; k++) syns(cap, port++, [start + k * interval]);
  }

  test('a run of unanswered single-SYN attempts from one host: every attempt counted, an outage, the connect timeout and the attempts told', () => {
    const cap = new Capture();
    twoSeries(cap, 0.7);
    keepCaptureRunning(cap, 5);
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(6);
    expect(found.every((f) => f.summary.includes('one of 6 attempts in a row'))).toBe(true);
    const [d] = r.diagnoses.filter((x) => x.kind === KIND);
    expect(d.explanation).toContain('6 of 6 connection attempts');
    expect(d.explanation).not.toContain('isolated SYN losses');
    expect(d.inferred.clientConnectTimeout.value).toBeCloseTo(0.7, 3);
    expect(d.explanation).toContain('2 series of 3 attempts');
    expect(d.explanation).toContain('HAProxy `timeout connect` and `retries`');
  });

  test('the same run beside answered handshakes before and after: still the run, counted', () => {
    const cap = new Capture();
    syns(cap, 40990, [-2]);
    answer(cap, 40990, -1.999);
    twoSeries(cap, 0.7);
    keepCaptureRunning(cap, 5);
    const r = cap.analyze(only);
    expect(ofKind(r, KIND)).toHaveLength(6);
    const [d] = r.diagnoses.filter((x) => x.kind === KIND);
    expect(d.explanation).toContain('6 attempts from 10.0.0.1 in a row got no answer at all');
  });

  test('near miss: the same run in a capture of one direction (a connection whose client acknowledged a server the capture never shows): refused attempts look so, silent', () => {
    const cap = new Capture();
    // The client's half of an answered connection: its ACK of a SYN-ACK and its request, nothing of the server's.
    syns(cap, 40980, [-2]);
    seg(cap, -1.999, 'c', 40980, TCP_ACK, ISN + 1, SERVER_ISN + 1);
    seg(cap, -1.998, 'c', 40980, TCP_ACK | TCP_PSH, ISN + 1, SERVER_ISN + 1, get('/'));
    twoSeries(cap, 0.7);
    keepCaptureRunning(cap, 5);
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  test('near miss: a burst of connects at one moment, some SYNs dropped by a full queue and abandoned, the rest answered: no run, silent', () => {
    // A pool dialling at once (blind s5b: 60 Go workers, a backlog of 8): the listener answered the
    // other SYNs of the same burst, and the dials it dropped were cancelled before their retransmission.
    const cap = new Capture();
    for (let k = 0; k < 5; k++) syns(cap, 41400 + k, [k * 0.0001]);
    for (let k = 0; k < 3; k++) {
      syns(cap, 41410 + k, [0.002 + k * 0.0001]);
      answer(cap, 41410 + k, 0.0021 + k * 0.0001);
    }
    keepCaptureRunning(cap, 5);
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  test('near miss: one attempt abandoned after one SYN, the next answered: silent', () => {
    const cap = new Capture();
    syns(cap, 41100, [0]);
    syns(cap, 41101, [0.7]);
    answer(cap, 41101, 0.7001);
    keepCaptureRunning(cap, 5);
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  test('near miss: two unanswered single SYNs with an answered handshake between them: no run, silent', () => {
    const cap = new Capture();
    syns(cap, 41200, [0]);
    syns(cap, 41201, [0.5]);
    answer(cap, 41201, 0.5001);
    syns(cap, 41202, [1]);
    keepCaptureRunning(cap, 5);
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  test('near miss: a SYN lost once, retransmitted and answered, among answered attempts: no run, no outage', () => {
    const cap = new Capture();
    syns(cap, 41300, [0, 1]);
    answer(cap, 41300, 1.0001);
    syns(cap, 41301, [2]);
    answer(cap, 41301, 2.0001);
    keepCaptureRunning(cap, 5);
    const r = cap.analyze(only);
    expect(ofKind(r, KIND).map((f) => f.summary)).not.toContain(expect.stringContaining('in a row'));
    for (const d of r.diagnoses) expect(d.explanation).not.toContain('an outage');
  });
});

describe('syn-unanswered: independent short probes (one SYN each, not back to back)', () => {
  /** A prober's single-SYN attempts to one firewalled port, one every `period` s, each given up in under 1 s. */
  function probes(cap: Capture, period: number, rounds: number, firstPort = 42000): void {
    for (let k = 0; k < rounds; k++) syns(cap, firstPort + k, [k * period]);
  }

  test('health-check probes every 4 s to a port that never answered: info, no connect timeout, no "tried N times"', () => {
    const cap = new Capture();
    probes(cap, 4.06, 3);
    keepCaptureRunning(cap, 14);
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(3);
    expect(found.every((f) => f.severity === 'info' && f.summary.includes('short probes'))).toBe(true);
    const [d] = r.diagnoses.filter((x) => x.kind === KIND);
    expect(d.severity).toBe('info');
    expect(d.inferred.clientConnectTimeout).toBeUndefined();
    expect(d.explanation).not.toContain('connect timeout is');
    expect(d.explanation).not.toContain('tried 3 times');
    expect(d.explanation).toContain('given up in under 1 s');
    expect(d.explanation).toContain('independent short probes');
    expect(d.explanation).not.toContain('one came alone');
    expect(d.remedy).not.toContain('somaxconn');
  });

  test('near miss: the same probes to a port that answered earlier in the capture: a service in use went silent, still an error', () => {
    const cap = new Capture();
    syns(cap, 41990, [-3]);
    answer(cap, 41990, -2.999);
    probes(cap, 4.06, 3);
    keepCaptureRunning(cap, 14);
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(3);
    expect(found.every((f) => f.severity === 'error')).toBe(true);
    const [d] = r.diagnoses.filter((x) => x.kind === KIND);
    expect(d.severity).toBe('error');
    expect(d.inferred.clientConnectTimeout).toBeUndefined();
  });

  test('near miss: single SYNs replaced back to back at 0.9 s (a connect timeout under the SYN RTO): the connect timeout and the tries told, error', () => {
    const cap = new Capture();
    probes(cap, 0.9, 3);
    syns(cap, 42100, [6]);
    syns(cap, 42101, [6.9]);
    syns(cap, 42102, [7.8]);
    keepCaptureRunning(cap, 12);
    const r = cap.analyze(only);
    const [d] = r.diagnoses.filter((x) => x.kind === KIND);
    expect(d.severity).toBe('error');
    expect(d.inferred.clientConnectTimeout.value).toBeCloseTo(0.9, 3);
    expect(d.explanation).toContain('tried 3 times');
    expect(d.explanation).not.toContain('one came alone');
  });

  test('two clients on one host, each one series at its own connect timeout (Java 1 s, PHP curl 0.7 s; blind round 13, S15b): two values, no retry count made up', () => {
    const cap = new Capture();
    // Java: 3 requests, each one SYN given up at its 1 s connectTimeout, the next request at once.
    syns(cap, 53972, [0]);
    syns(cap, 53980, [1.038]);
    syns(cap, 53320, [2.041]);
    // PHP curl, CURLOPT_CONNECTTIMEOUT_MS 700: 2 requests, 0.7 s apart.
    syns(cap, 53336, [3.393]);
    syns(cap, 53340, [4.094]);
    keepCaptureRunning(cap, 6);
    const r = cap.analyze(only);
    expect(ofKind(r, KIND)).toHaveLength(5);
    const [d] = r.diagnoses.filter((x) => x.kind === KIND);
    expect(d.inferred.clientConnectTimeout.value).toBeCloseTo(1.02, 2);
    expect(d.inferred.otherClientConnectTimeout.value).toBeCloseTo(0.701, 3);
    expect(d.explanation).not.toContain('1 or 3');
    expect(d.explanation).not.toContain('of waiting');
    expect(d.explanation).toContain('calls made each as soon as the last failed');
    expect(d.explanation).toContain('0.701 s');
  });

  test('connect calls of two back to back attempts, 2 s apart: the connect timeout is the back to back gap, not the calls\' period', () => {
    const cap = new Capture();
    // Three calls of two attempts at 0.6 s each, every 2 s: more pairs lie 2 s apart (4) than 0.6 s (3).
    for (const start of [0, 2, 4]) for (let k = 0; k < 2; k++) syns(cap, 42400 + start * 10 + k, [start + k * 0.6]);
    keepCaptureRunning(cap, 10);
    const [d] = cap.analyze(only).diagnoses.filter((x) => x.kind === KIND);
    expect(d.inferred.clientConnectTimeout.value).toBeCloseTo(0.6, 3);
    expect(d.explanation).toContain('3 series of 2 attempts');
    // The next attempt's SYN bounds the timeout: a pause before trying again is in it (blind round 14, S4).
    expect(d.explanation).toContain("the client's connect timeout is 0.6 s at most (the next attempt's SYN marks when it gave up; a pause before trying again counts in)");
  });
});

describe('syn-unanswered on synthetic handshakes', () => {
  test('silent: a SYN answered by a challenge ACK (the old connection on the 4-tuple still open at the server), the client\'s RST, and its SYN again', () => {
    const cap = new Capture();
    const cport = 40404;
    // The old connection: a handshake and an exchange, left open.
    seg(cap, 0, 'c', cport, TCP_SYN, 100);
    seg(cap, 0.0001, 's', cport, TCP_SYN | TCP_ACK, 900, 101);
    seg(cap, 0.0002, 'c', cport, TCP_ACK, 101, 901);
    // 30 s later a new SYN on the same 4-tuple: the server's challenge ACK carries the old numbers, the client resets them.
    syns(cap, cport, [30]);
    seg(cap, 30.0001, 's', cport, TCP_ACK, 901, 101);
    seg(cap, 30.0002, 'c', cport, TCP_RST, 101);
    syns(cap, cport, [31]);
    answer(cap, cport, 31.0001);
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
    // Without the challenge ACK and the RST it is a SYN lost once.
    const lost = new Capture();
    syns(lost, cport, [30, 31]);
    answer(lost, cport, 31.0001);
    expect(ofKind(lost.analyze(only), KIND)).toHaveLength(1);
  });

  // Linux ≥ 6.5 (net.ipv4.tcp_syn_linear_timeouts = 4) retries at the initial RTO several times, then doubles.
  test.each([
    [[0, 1, 2, 3, 4, 5, 7, 11], 'linear-then-exponential'],
    [[0, 1, 2, 3], 'linear'],
    [[0, 1, 3, 7], 'exponential'],
    [[0, 1, 3, 4], 'irregular'],
    [[0, 1, 2, 4, 5], 'irregular'],
  ])('SYNs at %j: backoff %s', (times, backoff) => {
    const cap = new Capture();
    syns(cap, 41000, times);
    answer(cap, 41000, times[times.length - 1] + 0.2);
    const [f] = ofKind(cap.analyze(only), KIND);
    expect(f.evidence.backoff).toBe(backoff);
  });

  test('constant-then-doubling retries: the diagnosis names the linear SYN timeouts, not a plain doubling', () => {
    const cap = new Capture();
    syns(cap, 41000, [0, 1, 2, 3, 4, 5, 7]);
    answer(cap, 41000, 7.2);
    syns(cap, 41001, [0.01, 1.01, 2.01, 3.01, 4.01, 5.01, 7.01]);
    answer(cap, 41001, 7.3);
    const d = cap.analyze(only).diagnoses.filter((x) => x.kind === KIND);
    expect(d).toHaveLength(1);
    expect(d[0].explanation).toContain('tcp_syn_linear_timeouts');
    expect(d[0].explanation).not.toContain('1 s, doubling');
  });

  test('SYN retried at 1 s and 3 s, never answered, capture goes on: abandoned, exponential backoff', () => {
    const cap = new Capture();
    syns(cap, 41000, [0, 1, 3]);
    keepCaptureRunning(cap, 20);
    const [f, ...rest] = ofKind(cap.analyze(only), KIND);
    expect(rest).toEqual([]);
    expect(f.client).toBe(`${CLIENT}:41000`);
    expect(f.server).toBe(`${SERVER}:80`);
    expect(f.severity).toBe('error');
    expect(f.ts).toBeCloseTo(T0 + 1, 6);
    expect(f.evidence).toMatchObject({
      retries: 2, synOffsets: [0, 1, 3], retryIntervals: [1, 2], initialRto: 1, backoff: 'exponential',
      outcome: 'abandoned', waited: 3, answerFrame: null,
    });
    expect(f.frames).toEqual([1, 2, 3]);
    expect(f.summary).toContain('sent 3 times over 3 s without a SYN-ACK');
  });

  test('answered late: 4 SYNs, then SYN-ACK at 7 s and a working exchange', () => {
    const cap = new Capture();
    syns(cap, 41000, [0, 1, 3, 7]);
    answer(cap, 41000, 7.0001);
    const [f] = ofKind(cap.analyze(only), KIND);
    expect(f.evidence).toMatchObject({ retries: 3, retryIntervals: [1, 2, 4], outcome: 'answered-late', waited: 7, answerFrame: 5, exchangesAfter: 1 });
    expect(f.frames).toEqual([1, 2, 3, 4, 5]);
  });

  test('live capture: an attempt answered late is streamed once the clock has settled past it, not only when the capture stops', () => {
    const cap = new Capture();
    syns(cap, 41000, [0, 1, 3, 7]);
    answer(cap, 41000, 7.0001);
    // The client closes it (the detector hears of a connection when it is released, 5 s after its close).
    const req = get('/');
    const resp = ok();
    seg(cap, 7.1, 'c', 41000, TCP_FIN | TCP_ACK, ISN + 1 + req.length, SERVER_ISN + 1 + resp.length);
    seg(cap, 7.1001, 's', 41000, TCP_FIN | TCP_ACK, SERVER_ISN + 1 + resp.length, ISN + 2 + req.length);
    seg(cap, 7.1002, 'c', 41000, TCP_ACK, ISN + 2 + req.length, SERVER_ISN + 2 + resp.length);
    const streamed: Finding[] = [];
    const analyzer = new Analyzer({ detectors: only, onFinding: (f) => streamed.push(f) });
    const sorted = [...cap.packets].sort((x, y) => x.ts - y.ts || x.order - y.order);
    sorted.forEach((p, i) => analyzer.packet({ frame: i + 1, ts: p.ts, caplen: p.data.length, origLen: p.data.length, linkType: LINKTYPE_ETHERNET, data: p.data }));
    const quietUntil = (until: number): void => {
      for (let t = sorted[sorted.length - 1].ts; t <= T0 + until; t += 1) analyzer.tick(t);
    };
    quietUntil(12);
    expect(streamed.filter((f) => f.kind === KIND)).toEqual([]);
    quietUntil(40);
    expect(streamed.filter((f) => f.kind === KIND).map((f) => f.evidence.outcome)).toEqual(['answered-late']);
    expect(ofKind(analyzer.finish(), KIND)).toHaveLength(1);
  });

  test('refused after a retry: the RST names the outcome', () => {
    const cap = new Capture();
    syns(cap, 41000, [0, 1]);
    seg(cap, 1.0001, 's', 41000, TCP_RST | TCP_ACK, 0, ISN + 1);
    const [f] = ofKind(cap.analyze(only), KIND);
    expect(f.evidence).toMatchObject({ retries: 1, outcome: 'refused', answerFrame: 3, backoff: null });
  });

  test('a SYN-ACK the capture missed: the client ACKs and sends data, so it was answered', () => {
    const cap = new Capture();
    syns(cap, 41000, [0, 1]);
    seg(cap, 1.01, 'c', 41000, TCP_ACK, ISN + 1, SERVER_ISN + 1);
    seg(cap, 1.02, 'c', 41000, TCP_ACK | TCP_PSH, ISN + 1, SERVER_ISN + 1, get('/'));
    const [f] = ofKind(cap.analyze(only), KIND);
    expect(f.evidence.outcome).toBe('answered-unseen');
  });

  test('at capture end: gave up only when the next retry was overdue', () => {
    const stillTrying = new Capture();
    syns(stillTrying, 41000, [0, 1, 3]);
    keepCaptureRunning(stillTrying, 5); // the next retry would come at 7 s
    const [a] = ofKind(stillTrying.analyze(only), KIND);
    expect(a.evidence.outcome).toBe('unanswered-at-capture-end');
    expect(a.evidence.silenceAfterLastSyn).toBeCloseTo(2, 1);

    const gaveUp = new Capture();
    syns(gaveUp, 41000, [0, 1, 3]);
    keepCaptureRunning(gaveUp, 8); // 5 s of silence after an interval of 2 s
    const [b] = ofKind(gaveUp.analyze(only), KIND);
    expect(b.evidence.outcome).toBe('abandoned');
    expect(b.evidence.silenceAfterLastSyn).toBeCloseTo(5, 1);
  });

  test('silent: a lone unanswered SYN (maybe just not answered yet, maybe a scan)', () => {
    const cap = new Capture();
    syns(cap, 41000, [0]);
    keepCaptureRunning(cap, 30);
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  test('silent: a SYN answered at once', () => {
    const cap = new Capture();
    syns(cap, 41000, [0]);
    answer(cap, 41000, 0.0001);
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  test('silent: copies of one SYN a few ms apart (merged interfaces) are not retries', () => {
    const cap = new Capture();
    syns(cap, 41000, [0, 0.01, 0.05]);
    answer(cap, 41000, 0.06);
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  test('silent: a SYN retransmitted after the SYN-ACK (the SYN-ACK was lost beyond a server-side capture)', () => {
    const cap = new Capture();
    syns(cap, 41000, [0]);
    seg(cap, 0.0001, 's', 41000, TCP_SYN | TCP_ACK, SERVER_ISN, ISN + 1);
    syns(cap, 41000, [1]);
    answer(cap, 41000, 1.0001);
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  test('diagnosis: attempts waiting at the same time toward one listener point at its backlog', () => {
    const cap = new Capture();
    for (let i = 0; i < 3; i++) syns(cap, 41000 + i, [0.001 * i, 1 + 0.001 * i, 3 + 0.001 * i]);
    syns(cap, 41010, [0]);
    answer(cap, 41010, 0.0001); // one attempt got through at once
    keepCaptureRunning(cap, 20);
    const r = cap.analyze(only);
    expect(ofKind(r, KIND)).toHaveLength(3);
    const d = r.diagnoses.filter((x) => x.kind === KIND);
    expect(d).toHaveLength(1);
    expect(d[0]).toMatchObject({ server: `${SERVER}:80`, count: 3 });
    expect(d[0].inferred.clientSynRetransmitTimeout.value).toBeCloseTo(1, 2);
    expect(d[0].explanation).toContain('3 of 4 connection attempts');
    expect(d[0].explanation).toContain('3 attempts were waiting at the same moment');
    expect(d[0].remedy).toContain('somaxconn');
    expect(d[0].anomalyIds).toEqual(ofKind(r, KIND).map((f) => f.id).sort());
  });

  test('diagnosis: on a listener that also dropped handshake ACKs, the full accept queue is the cause', () => {
    const cap = new Capture();
    // A connection whose handshake ACK and request the server dropped: SYN-ACK repeated twice.
    const port = 42000;
    syns(cap, port, [0]);
    seg(cap, 0.0001, 's', port, TCP_SYN | TCP_ACK, SERVER_ISN, ISN + 1);
    seg(cap, 0.0002, 'c', port, TCP_ACK, ISN + 1, SERVER_ISN + 1);
    seg(cap, 0.0003, 'c', port, TCP_ACK | TCP_PSH, ISN + 1, SERVER_ISN + 1, get('/'));
    seg(cap, 1, 's', port, TCP_SYN | TCP_ACK, SERVER_ISN, ISN + 1);
    seg(cap, 3, 's', port, TCP_SYN | TCP_ACK, SERVER_ISN, ISN + 1);
    syns(cap, 41000, [0.5, 1.5, 3.5]);
    keepCaptureRunning(cap, 20);
    const r = cap.analyze([synUnanswered, acceptQueueOverflow]);
    const d = r.diagnoses.find((x) => x.kind === KIND);
    expect(d?.explanation).toContain('accept-queue-overflow');
  });
});

const SAMPLE = path.join(SAMPLES_DIR, 'syn-unanswered.pcap');
type RecordedMeta = SampleMeta & { measured?: Record<string, { synOffsets: number[]; outcome: string }> };
const sampleMeta = (name: string): RecordedMeta | null => {
  const file = path.join(SAMPLES_DIR, `${name}.meta.json`);
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as RecordedMeta) : null;
};

(fs.existsSync(SAMPLE) ? describe : describe.skip)('syn-unanswered on the recorded samples', () => {
  let result: AnalysisResult;
  beforeAll(async () => {
    result = await analyzeFiles([SAMPLE]);
  });

  test('every client whose SYNs were dropped: offsets and outcome as measured by the recorder', () => {
    const measured = sampleMeta('syn-unanswered')?.measured ?? {};
    const clients = Object.keys(measured);
    expect(clients.length).toBeGreaterThan(0);
    const findings = ofKind(result, KIND);
    expect(findings.map((f) => f.client).sort()).toEqual(clients.sort());
    for (const client of clients) {
      const f = findings.find((x) => x.client === client)!;
      const offsets = f.evidence.synOffsets as number[];
      expect(offsets).toHaveLength(measured[client].synOffsets.length);
      offsets.forEach((o, i) => expect(Math.abs(o - measured[client].synOffsets[i])).toBeLessThan(0.02));
      expect(f.evidence.backoff).toBe('exponential');
      expect(f.evidence.initialRto as number).toBeGreaterThanOrEqual(1);
      expect(f.evidence.initialRto as number).toBeLessThan(1.1);
      expect(f.evidence.outcome).toBe(measured[client].outcome === 'answered late' ? 'answered-late' : 'abandoned');
    }
  });

  test('one diagnosis: all attempts at once toward the listener, initial RTO ≈ 1 s', () => {
    const d = result.diagnoses.filter((x) => x.kind === KIND);
    expect(d).toHaveLength(1);
    expect(d[0].count).toBe(ofKind(result, KIND).length);
    expect(d[0].inferred.clientSynRetransmitTimeout.value).toBeGreaterThanOrEqual(1);
    expect(d[0].inferred.clientSynRetransmitTimeout.value).toBeLessThan(1.05);
    expect(d[0].explanation).toContain(`${d[0].count} attempts were waiting at the same moment`);
  });

  test('accept-queue-overflow sample: the late client whose SYNs met the full queue', async () => {
    const r = await analyzeFiles([path.join(SAMPLES_DIR, 'accept-queue-overflow.pcap')]);
    const expected = (sampleMeta('accept-queue-overflow')?.expect ?? []).filter((e) => e.kind === KIND);
    const findings = ofKind(r, KIND);
    expect(findings.map((f) => f.client)).toEqual(expected.map((e) => e.client));
    expect(findings[0].evidence).toMatchObject({ retries: 2, backoff: 'exponential' });
    // Its last SYN came 2 s after the one before; the capture ended sooner than the next retry was due.
    expect(findings[0].evidence.outcome).toBe('unanswered-at-capture-end');
    expect(r.diagnoses.find((d) => d.kind === KIND)?.explanation).toContain('accept-queue-overflow');
  });

  test('a proxy that gave up connecting (tinyproxy): abandoned, even when the capture ended right after its last SYN', async () => {
    const file = path.join(SAMPLES_DIR, 'connect-timeout-tinyproxy.pcap');
    if (!fs.existsSync(file)) return;
    const r = await analyzeFiles([file]);
    const attempts = ofKind(r, KIND);
    const gaveUp = ofKind(r, 'gateway-timeout');
    expect(attempts.length).toBeGreaterThan(0);
    expect(attempts.map((f) => f.evidence.outcome)).toEqual(attempts.map(() => 'abandoned'));
    // The one the capture ended on: too soon for the silence to tell, the proxy's 500 to its client does.
    const cut = attempts.filter((f) => (f.evidence.silenceAfterLastSyn as number) < 2 * (f.evidence.retryIntervals as number[]).at(-1)!);
    expect(cut).toHaveLength(1);
    const failure = gaveUp.find((g) => g.evidence.upstreamFlowId === cut[0].flowId)!;
    expect(cut[0].evidence.proxyGaveUpFrame).toBe(failure.frames.at(-1));
    expect(r.diagnoses.find((d) => d.kind === KIND)?.explanation).not.toContain('still unanswered');
  });

  test.each([
    'clean-keepalive-reuse', 'client-closes-idle-first', 'half-close', 'tcp-keepalive-probes', 'abortive-close-after-response',
    'retransmitted-fin', 'http10-keepalive-and-close', 'keepalive-node-agent', 'refused-connection', 'zero-window-stall', 'rst-on-close',
    'keepalive-race-apache-java', 'healthy-apache-lighttpd-java',
  ])('silent on %s', async (name) => {
    const file = path.join(SAMPLES_DIR, `${name}.pcap`);
    if (!fs.existsSync(file)) return;
    expect(ofKind(await analyzeFiles([file], { detectors: only }), KIND)).toEqual([]);
  });
});

const ECHO = path.resolve(__dirname, '../../../shared/corpus/public/zeek/echo-connections.pcap');
(fs.existsSync(ECHO) ? describe : describe.skip)('syn-unanswered on a public capture (zeek echo-connections)', () => {
  test('500 clients connect at once; the 158 whose SYNs were dropped retried after ~1 s and were answered', async () => {
    const r = await analyzeFiles([ECHO], { detectors: only });
    const findings = ofKind(r, KIND);
    // tshark: 241 SYN retransmissions on 158 distinct connections, every one answered in the end.
    expect(findings).toHaveLength(158);
    expect(new Set(findings.map((f) => f.evidence.outcome))).toEqual(new Set(['answered-late']));
    const [d] = r.diagnoses;
    expect(d.server).toBe('127.0.0.1:7000');
    expect(d.explanation).toContain('158 of 500 connection attempts');
    expect(d.inferred.clientSynRetransmitTimeout.value).toBeGreaterThanOrEqual(1);
    expect(d.inferred.clientSynRetransmitTimeout.value).toBeLessThan(1.1);
  });
});

describe('syn-unanswered: connects that sent as many SYNs as Linux does before it gives up (blind 16, S12)', () => {
  /** Three connects abandoned after `schedule`'s SYNs (seconds after each first SYN), 0.5 s apart; the capture runs on to 20 s. */
  const explanation = (schedule: number[]): string => {
    const cap = new Capture();
    for (let k = 0; k < 3; k++) syns(cap, 47000 + k, schedule.map((t) => k * 0.5 + t));
    cap.connection().handshake(19.9).exchange(19.91, get('/'), ok());
    const d = cap.analyze(only).diagnoses.find((x) => x.kind === KIND);
    return d?.explanation ?? '';
  };

  test('7 SYNs (Linux 6.5+ schedule, tcp_syn_retries 6) and no 8th when due: the kernel limit fits, named before application timeouts', () => {
    const text = explanation([0, 1, 2, 3, 4, 5, 7]);
    expect(text).toContain('3 between 7.0 and 11.0 s after their first SYN');
    expect(text).toContain('Each had sent 7 SYNs, as many as Linux sends before it gives a connect up by itself (net.ipv4.tcp_syn_retries = 6');
    expect(text).not.toContain('Their connect timeouts lie there');
  });

  test('near miss: connects abandoned after 3 SYNs, long before the kernel would give up: their connect timeouts, as before', () => {
    const text = explanation([0, 1, 2]);
    expect(text).toContain('Their connect timeouts lie there');
    expect(text).not.toContain('tcp_syn_retries');
  });
});
