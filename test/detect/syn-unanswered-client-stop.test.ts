/**
 * Connects a client left in flight when it stopped (blind round 14b, falsepos S2): ab over a path
 * losing 2 % of packets both ways exits at the end of each run with the connects whose SYN or
 * SYN-ACK was lost still waiting for their 1 s retransmission. A socket closed in SYN-SENT sends
 * nothing, as one a connect timeout ends, so they read as connects given up within 1 s (error,
 * remedy: a connect timeout shorter than the SYN retransmission). What tells them apart is the
 * client's load: its other connects that lost a SYN waited for the retransmission, and its other
 * connections to the server had all ended, none left open, before these were due to retransmit.
 * Near misses: the same connects given up while the load went on, and at the end of a load whose
 * connects never outlived a lost SYN (parallel curls with --connect-timeout 0.5 as a script ends).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyzeFiles } from '../../src/analyze';
import { synUnanswered } from '../../src/detect/detectors/syn-unanswered';
import { buildTcpPacket, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../helpers/packet-builder';
import { Capture, get, ofKind, ok } from './reuse-kit';

const KIND = 'syn-unanswered';
const only = [synUnanswered];
const CLIENT = '10.0.0.1';
const SERVER = '10.0.0.2';
const ISN = 1_000_000;
const SERVER_ISN = 5_000_000;

/** A raw segment between CLIENT:cport and SERVER:80 (the attempts the kit's connections do not script). */
function seg(cap: Capture, ts: number, from: 'c' | 's', cport: number, flags: number, seq: number, ack = 0, payload = ''): void {
  const c = from === 'c';
  cap.add(ts, buildTcpPacket({ src: c ? CLIENT : SERVER, dst: c ? SERVER : CLIENT, sport: c ? cport : 80, dport: c ? 80 : cport, seq, ack, flags, payload }));
}

/**
 * A load of short requests (one connection every 10 ms, each open 15 ms: two at a time) from
 * `from` to `until`, every 25th losing its response once (resent 0.2 s later): a lossy path.
 */
function load(cap: Capture, from: number, until: number): void {
  let k = 0;
  for (let t = from; t <= until + 1e-9; t += 0.01, k++) {
    const c = cap.connection({ client: CLIENT, server: SERVER }).handshake(t).request(t + 0.001, get('/small'));
    const body = ok('x'.repeat(100));
    if (k % 25 === 5) c.send(t + 0.002, 's', body).resend(t + 0.202, 's', body).ack(t + 0.2021, 'c').close(t + 0.203, 's');
    else c.response(t + 0.002, body).close(t + 0.015, 's');
  }
}

/** A connect that lost its first SYN and waited for the retransmission, answered then (port 46000). */
function retriedConnect(cap: Capture, at: number): void {
  seg(cap, at, 'c', 46000, TCP_SYN, ISN);
  seg(cap, at + 1.0, 'c', 46000, TCP_SYN, ISN);
  seg(cap, at + 1.0002, 's', 46000, TCP_SYN | TCP_ACK, SERVER_ISN, ISN + 1);
  seg(cap, at + 1.0003, 'c', 46000, TCP_ACK, ISN + 1, SERVER_ISN + 1);
  const req = get('/small');
  seg(cap, at + 1.0004, 'c', 46000, TCP_ACK, ISN + 1, SERVER_ISN + 1, req);
  const res = ok('x'.repeat(100));
  seg(cap, at + 1.0006, 's', 46000, TCP_ACK, SERVER_ISN + 1, ISN + 1 + req.length, res);
  seg(cap, at + 1.0007, 's', 46000, TCP_ACK | TCP_FIN, SERVER_ISN + 1 + res.length, ISN + 1 + req.length);
  seg(cap, at + 1.0008, 'c', 46000, TCP_ACK | TCP_FIN, ISN + 1 + req.length, SERVER_ISN + 2 + res.length);
  seg(cap, at + 1.0009, 's', 46000, TCP_ACK, SERVER_ISN + 2 + res.length, ISN + 2 + req.length);
}

/** Two connects in flight at `at` (SYN lost), and at `at` + 0.05 (SYN-ACK lost: the server's resent one comes 1 s later and is reset). */
function connectsInFlight(cap: Capture, at: number): void {
  seg(cap, at, 'c', 45001, TCP_SYN, ISN);
  seg(cap, at + 0.05, 'c', 45002, TCP_SYN, ISN);
  seg(cap, at + 1.05, 's', 45002, TCP_SYN | TCP_ACK, SERVER_ISN, ISN + 1);
  seg(cap, at + 1.0501, 'c', 45002, TCP_RST, ISN + 1);
}

/** A connect that lost its SYN at `at` and its retransmission 1 s later, never answered (port 45003). */
function retriedInFlight(cap: Capture, at: number): void {
  seg(cap, at, 'c', 45003, TCP_SYN, ISN);
  seg(cap, at + 1.0, 'c', 45003, TCP_SYN, ISN);
}

/** Unrelated traffic that keeps the capture running until `until`. */
function keepCaptureRunning(cap: Capture, until: number): void {
  cap.connection({ client: '10.0.0.9', server: '10.0.0.3' }).handshake(until - 0.01).exchange(until - 0.005);
}

function scene(options: { loadUntil: number; retried: boolean; nextLoadAt?: number; single?: boolean; retriedInFlightAt?: number }) {
  const cap = new Capture();
  load(cap, 0, options.loadUntil);
  if (options.nextLoadAt !== undefined) load(cap, options.nextLoadAt, options.nextLoadAt + 0.5);
  if (options.retried) retriedConnect(cap, 0.5);
  if (options.single !== false) connectsInFlight(cap, 2.7);
  if (options.retriedInFlightAt !== undefined) retriedInFlight(cap, options.retriedInFlightAt);
  keepCaptureRunning(cap, 8);
  const r = cap.analyze(only);
  return { found: ofKind(r, KIND), diagnosis: r.diagnoses.find((d) => d.kind === KIND) };
}

describe('syn-unanswered: connects left in flight when the client stopped', () => {
  test('the load ends (nothing follows) while two connects wait for their retransmission: info, no connect timeout blamed', () => {
    const { found, diagnosis } = scene({ loadUntil: 3, retried: true });
    expect(found.map((f) => f.evidence.outcome)).toEqual(['abandoned', 'answered-after-give-up']);
    expect(found.map((f) => f.severity)).toEqual(['info', 'info']);
    expect(found.every((f) => f.summary.includes('stopped') && f.summary.includes('not a connect timeout'))).toBe(true);
    expect(found[0].evidence.clientStoppedAfterLastSyn).toBeCloseTo(0.3 + 0.015, 2);
    expect(found[0].evidence.nextConnectionAfterStop).toBeNull();
    expect(found[0].evidence.gaveUpWithin).toBeUndefined();
    expect(diagnosis?.severity).toBe('info');
    expect(diagnosis?.explanation).toContain('the path was losing packets then');
    expect(diagnosis?.explanation).toContain('the client stopped with them in flight');
    expect(diagnosis?.explanation).not.toContain('connect timeout is shorter than its SYN retransmission');
    expect(diagnosis?.remedy).not.toContain('a connect timeout under the 1 s SYN retransmission');
    expect(diagnosis?.inferred.clientConnectTimeout).toBeUndefined();
  });

  test('the next run of the load begins 30 ms after the stop (ab run after ab run): still left in flight, the gap told', () => {
    const { found } = scene({ loadUntil: 3, retried: true, nextLoadAt: 3.045 });
    expect(found.map((f) => f.severity)).toEqual(['info', 'info']);
    expect(found[0].evidence.nextConnectionAfterStop).toBeCloseTo(0.03, 2);
  });

  test('near miss: the same connects given up while the load went on are connect timeouts, at error', () => {
    const { found, diagnosis } = scene({ loadUntil: 6, retried: true });
    expect(found.map((f) => f.severity)).toEqual(['error', 'error']);
    expect(found.some((f) => f.summary.includes('stopped'))).toBe(false);
    expect(found[0].evidence.clientStoppedAfterLastSyn).toBeUndefined();
    expect(diagnosis?.severity).toBe('error');
    expect(diagnosis?.explanation).toContain('connect timeout is shorter than its SYN retransmission');
  });

  test('a connect that had retransmitted, in flight at the stop those single-SYN connects prove: left there too, no connect timeout bounded', () => {
    const { found, diagnosis } = scene({ loadUntil: 3, retried: true, retriedInFlightAt: 1.99 });
    const retried = found.find((f) => f.client === `${CLIENT}:45003`);
    expect(retried?.severity).toBe('info');
    expect(retried?.summary).toContain('left in flight when 10.0.0.1 stopped');
    expect(retried?.evidence.gaveUpWithin).toBeUndefined();
    expect(diagnosis?.severity).toBe('info');
    expect(diagnosis?.explanation).toContain('the one that had retransmitted was in flight at that same moment');
    expect(diagnosis?.explanation).not.toContain('Their connect timeouts lie there');
  });

  test('near miss: a connect that had retransmitted, in flight when the load stopped, with no single-SYN connect to prove the stop: as before', () => {
    const { found, diagnosis } = scene({ loadUntil: 3, retried: true, single: false, retriedInFlightAt: 1.99 });
    expect(found.map((f) => f.severity)).toEqual(['error']);
    expect(found[0].summary).not.toContain('stopped');
    expect(found[0].evidence.gaveUpWithin).toBeDefined();
    expect(diagnosis?.explanation).toContain('Their connect timeouts lie there');
  });

  test('near miss: the load ends with them in flight, but none of its connects ever waited out a lost SYN: connect timeouts, at error', () => {
    const { found, diagnosis } = scene({ loadUntil: 3, retried: false });
    expect(found.map((f) => f.severity)).toEqual(['error', 'error']);
    expect(found.some((f) => f.summary.includes('stopped'))).toBe(false);
    expect(diagnosis?.severity).toBe('error');
  });
});

describe('syn-unanswered: ab over a lossy path, recorded (samples/syn-unanswered-client-stop-ab)', () => {
  const SAMPLE = path.join(__dirname, '..', '..', 'samples', 'syn-unanswered-client-stop-ab.pcap');

  test('every connect ab left in flight at its exit is told so, at info, and no connect timeout is blamed or inferred', async () => {
    // The meta's facts come from ab's report and the capture (record/programs/ab-stop-meta.py).
    const meta = JSON.parse(fs.readFileSync(SAMPLE.replace(/\.pcap$/, '.meta.json'), 'utf8')) as { facts: { failedRequests: number; connectsInFlightAtExit: number } };
    expect(meta.facts.failedRequests).toBe(0);
    const r = await analyzeFiles([SAMPLE]);
    const found = ofKind(r, KIND);
    expect(found.filter((f) => f.evidence.clientStoppedAfterLastSyn !== undefined)).toHaveLength(meta.facts.connectsInFlightAtExit);
    expect(found.every((f) => f.severity === 'info')).toBe(true);
    const d = r.diagnoses.find((x) => x.kind === KIND);
    expect(d?.severity).toBe('info');
    expect(d?.inferred.clientConnectTimeout).toBeUndefined();
    expect(d?.explanation).not.toContain('connect timeout is shorter than its SYN retransmission');
    expect(d?.explanation).not.toContain('Their connect timeouts lie there');
  });
});
