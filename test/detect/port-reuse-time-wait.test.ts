import type { AnalysisResult } from '../../src/analyze';
import { portReuse } from '../../src/detect/detectors/port-reuse';
import { synUnanswered } from '../../src/detect/detectors/syn-unanswered';
import { connectionRefused } from '../../src/detect/detectors/connection-refused';
import { buildTcpPacket, TCP_ACK, TCP_RST, TCP_SYN } from '../helpers/packet-builder';
import { Capture, Conn, ofKind } from './reuse-kit';

/**
 * A SYN that meets the server's TIME_WAIT (or a connection the server still holds open) on its
 * 4-tuple: the server answers with a bare ACK carrying the old connection's numbers (RFC 793;
 * RFC 5961's challenge ACK), the client resets that and sends its SYN again (Linux ≥ 6.x within
 * ~10 ms, older stacks after their 1 s RTO). Blind round 13b, S5a: gunicorn killed under
 * `ab -k -r`, its connections closed by the server first, their ports reused by ab at once.
 */

const only = [portReuse, synUnanswered, connectionRefused];
const CLIENT = '10.0.0.1';
const SERVER = '10.0.0.2';
const NEW_ISN = 900_000;

function raw(cap: Capture, ts: number, from: 'c' | 's', cport: number, flags: number, seq: number, ack = 0): void {
  const c = from === 'c';
  cap.add(ts, buildTcpPacket({ src: c ? CLIENT : SERVER, dst: c ? SERVER : CLIENT, sport: c ? cport : 80, dport: c ? 80 : cport, seq, ack, flags }));
}

/** A connection on `cport` served and closed by the server first at `closeAt` (the server then holds TIME_WAIT). */
function servedAndClosedByServer(cap: Capture, cport: number, closeAt: number): Conn {
  return cap.connection({ client: CLIENT, cport, server: SERVER, isn: 1000 }).handshake(closeAt - 0.5).exchange(closeAt - 0.4).close(closeAt, 's');
}

/**
 * The new SYN at `at` meets the old connection: the server's ACK of the old numbers, the client's RST
 * (seq = that ACK's acknowledgement, no ACK flag, as Linux sends it in SYN-SENT).
 */
function collide(cap: Capture, old: Conn, at: number): void {
  raw(cap, at, 'c', old.cport, TCP_SYN, NEW_ISN);
  old.ack(at + 0.000007, 's');
  old.rst(at + 0.000011, 'c');
}

/** Unrelated traffic that keeps the capture running until `until`. */
function keepCaptureRunning(cap: Capture, until: number): void {
  cap.connection({ client: '10.0.0.9', server: '10.0.0.3' }).handshake(until - 0.01).exchange(until - 0.005);
}

const collisions = (r: AnalysisResult) => ofKind(r, 'port-reuse').filter((f) => f.evidence.answeredByAck !== undefined);

describe('port-reuse: a SYN that met the server\'s TIME_WAIT', () => {
  test('s5a: the listener gone, three reused ports meet the server\'s TIME_WAIT, retried at once and refused: no SYN went unanswered', () => {
    const cap = new Capture();
    const olds = [40001, 40002, 40003].map((p) => servedAndClosedByServer(cap, p, 1.0));
    olds.forEach((old, k) => {
      const at = 1.08 + k * 0.07;
      collide(cap, old, at);
      // Linux's quick SYN retransmission after the unacceptable ACK, refused: nothing listens any more.
      raw(cap, at + 0.0118, 'c', old.cport, TCP_SYN, NEW_ISN);
      raw(cap, at + 0.0119, 's', old.cport, TCP_RST | TCP_ACK, 0, NEW_ISN + 1);
    });
    keepCaptureRunning(cap, 5);
    const r = cap.analyze(only);
    expect(ofKind(r, 'syn-unanswered')).toEqual([]);
    expect(r.diagnoses.filter((d) => d.kind === 'syn-unanswered')).toEqual([]);
    const found = collisions(r);
    expect(found).toHaveLength(3);
    const [f] = found;
    expect(f.severity).toBe('warning');
    expect(f.client).toBe(`${CLIENT}:40001`);
    expect(f.evidence).toMatchObject({
      previousFlowId: 1,
      timeWaitHeldBy: 'server',
      answeredByAck: true,
      retryAfter: 0.012,
      retryAnswer: 'refused',
      connectDelay: 0.012,
    });
    // The SYN, the server's ACK, the client's RST, the retried SYN, its answer.
    expect(f.frames).toHaveLength(5);
    expect(f.summary).toContain('TIME_WAIT');
    expect(f.summary).toContain('refused');
    // The retries' refusals stay connection-refused's.
    expect(ofKind(r, 'connection-refused').length).toBeGreaterThan(0);
  });

  test('an older client retrying after its 1 s RTO, then served: the connect paid a second', () => {
    const cap = new Capture();
    const old = servedAndClosedByServer(cap, 40011, 1.0);
    collide(cap, old, 1.05);
    cap.connection({ client: CLIENT, cport: 40011, server: SERVER, isn: NEW_ISN }).handshake(2.05).exchange(2.06).close(2.1, 'c');
    keepCaptureRunning(cap, 5);
    const r = cap.analyze(only);
    expect(ofKind(r, 'syn-unanswered')).toEqual([]);
    const [f, ...rest] = collisions(r);
    expect(rest).toEqual([]);
    expect(f.evidence).toMatchObject({ retryAfter: 1, retryAnswer: 'syn-ack', connectDelay: 1 });
    expect(f.summary).toContain('answered by a SYN-ACK');
  });

  test('no retry in the capture: reported as such, still not unanswered', () => {
    const cap = new Capture();
    for (const p of [40021, 40022]) collide(cap, servedAndClosedByServer(cap, p, 1.0), 1.05 + (p - 40021) * 0.1);
    keepCaptureRunning(cap, 8);
    const r = cap.analyze(only);
    expect(ofKind(r, 'syn-unanswered')).toEqual([]);
    const found = collisions(r);
    expect(found).toHaveLength(2);
    expect(found[0].evidence).toMatchObject({ retryAfter: null, retryAnswer: null, connectDelay: null });
    expect(found[0].frames).toHaveLength(3);
    expect(found[0].summary).toContain('no retry');
  });

  test('the server still holding the old connection open (a challenge ACK), the client retrying after its RTO', () => {
    const cap = new Capture();
    const old = cap.connection({ client: CLIENT, cport: 40031, server: SERVER, isn: 1000 }).handshake(0).exchange(0.01);
    collide(cap, old, 30);
    cap.connection({ client: CLIENT, cport: 40031, server: SERVER, isn: NEW_ISN }).handshake(31).exchange(31.01).close(31.1, 'c');
    const r = cap.analyze(only);
    expect(ofKind(r, 'syn-unanswered')).toEqual([]);
    const [f] = collisions(r);
    expect(f.evidence).toMatchObject({ previousClosed: false, retryAnswer: 'syn-ack' });
    expect(f.summary).toContain('still held open');
  });

  test('near miss: the same reused ports with SYNs nothing answered stay syn-unanswered, and no collision is told', () => {
    const cap = new Capture();
    for (const p of [40041, 40042, 40043]) {
      servedAndClosedByServer(cap, p, 1.0);
      raw(cap, 1.08 + (p - 40041) * 0.07, 'c', p, TCP_SYN, NEW_ISN);
    }
    keepCaptureRunning(cap, 5);
    const r = cap.analyze(only);
    expect(ofKind(r, 'syn-unanswered')).toHaveLength(3);
    expect(collisions(r)).toEqual([]);
  });

  test('near miss: a bare ACK that acknowledges the SYN (its SYN-ACK lost at the capture point) is no collision', () => {
    const cap = new Capture();
    const old = servedAndClosedByServer(cap, 40051, 1.0);
    raw(cap, 1.05, 'c', old.cport, TCP_SYN, NEW_ISN);
    raw(cap, 1.0501, 's', old.cport, TCP_ACK, 7_000_001, NEW_ISN + 1);
    raw(cap, 1.0502, 'c', old.cport, TCP_ACK, NEW_ISN + 1, 7_000_001);
    keepCaptureRunning(cap, 5);
    expect(collisions(cap.analyze(only))).toEqual([]);
  });
});
