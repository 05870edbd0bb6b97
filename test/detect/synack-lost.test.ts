import { acceptQueueOverflow } from '../../src/detect/detectors/accept-queue-overflow';
import { synUnanswered } from '../../src/detect/detectors/syn-unanswered';
import { synackLost } from '../../src/detect/detectors/synack-lost';
import { buildTcpPacket, TCP_ACK, TCP_PSH, TCP_SYN, tcpOption } from '../helpers/packet-builder';
import { analyzeSample } from '../samples';
import { Capture, get, ofKind, ok } from './reuse-kit';

const KIND = 'synack-lost';
const only = [synackLost];
const CLIENT = '10.0.0.1';
const SERVER = '10.0.0.2';
const ISN = 1_000_000;
const SERVER_ISN = 5_000_000;

/** One raw segment between CLIENT:cport and SERVER:80, with TCP timestamps when `stamp` is given ([TSval, TSecr]). */
function seg(cap: Capture, ts: number, from: 'c' | 's', cport: number, flags: number, seq: number, ack = 0, payload = '', stamp?: [number, number]): void {
  const c = from === 'c';
  cap.add(ts, buildTcpPacket({
    src: c ? CLIENT : SERVER, dst: c ? SERVER : CLIENT, sport: c ? cport : 80, dport: c ? 80 : cport,
    seq, ack, flags, payload, options: stamp === undefined ? [] : [tcpOption.timestamp(stamp[0], stamp[1])],
  }));
}

const syn = (cap: Capture, ts: number, cport: number, stamp?: [number, number]): void => seg(cap, ts, 'c', cport, TCP_SYN, ISN, 0, '', stamp);
const synAck = (cap: Capture, ts: number, cport: number, stamp?: [number, number]): void => seg(cap, ts, 's', cport, TCP_SYN | TCP_ACK, SERVER_ISN, ISN + 1, '', stamp);

/** The client's handshake ACK at `at`, its GET `sendAfter` later, and the 200. */
function connected(cap: Capture, cport: number, at: number, sendAfter = 0.0001): void {
  seg(cap, at, 'c', cport, TCP_ACK, ISN + 1, SERVER_ISN + 1);
  const req = get('/');
  seg(cap, at + sendAfter, 'c', cport, TCP_ACK | TCP_PSH, ISN + 1, SERVER_ISN + 1, req);
  seg(cap, at + sendAfter + 0.001, 's', cport, TCP_ACK | TCP_PSH, SERVER_ISN + 1, ISN + 1 + req.length, ok());
}

/** A connect answered at once (one round trip of 2 ms). */
function clean(cap: Capture, cport: number, t: number): void {
  syn(cap, t, cport);
  synAck(cap, t + 0.001, cport);
  connected(cap, cport, t + 0.002);
}

/** Captured at the server: its SYN-ACK for the first SYN at once, the same SYN again 1 s later, answered. */
function synAgainAtServer(cap: Capture, cport: number, t: number): void {
  syn(cap, t, cport);
  synAck(cap, t + 0.0001, cport);
  syn(cap, t + 1.0, cport);
  synAck(cap, t + 1.0001, cport);
  connected(cap, cport, t + 1.002);
}

/** Captured at the client: the SYN again 1 s later, answered by a SYN-ACK echoing `echo` (the first SYN's TSval 1000, the repeat's 2000). */
function synAgainAtClient(cap: Capture, cport: number, t: number, echo: number | null): void {
  syn(cap, t, cport, echo === null ? undefined : [1000, 0]);
  syn(cap, t + 1.0, cport, echo === null ? undefined : [2000, 0]);
  synAck(cap, t + 1.002, cport, echo === null ? undefined : [7000, echo]);
  connected(cap, cport, t + 1.0021);
}

/** Captured at the server: its SYN-ACK at once and again at its 1 s timer; the client's ACK only after that, its request `sendAfter` later. */
function synAckAgainAtServer(cap: Capture, cport: number, t: number, sendAfter = 0.0001): void {
  syn(cap, t, cport);
  synAck(cap, t + 0.0001, cport);
  synAck(cap, t + 1.0001, cport);
  connected(cap, cport, t + 1.002, sendAfter);
}

/** Captured at the client: its only SYN answered `after` s later (the server's SYN-ACK timer, when 1 s). */
function answeredLate(cap: Capture, cport: number, t: number, after: number): void {
  syn(cap, t, cport);
  synAck(cap, t + after, cport);
  connected(cap, cport, t + after + 0.0001);
}

/** `n` clean connects, 0.1 s apart from `from` on, on ports from 41000 on. */
function cleanConnects(cap: Capture, n: number, from: number): void {
  for (let i = 0; i < n; i++) clean(cap, 41000 + i, from + 0.1 * i);
}

describe('synack-lost: connects delayed by a SYN-ACK lost on the way back', () => {
  test('at the server: its SYN-ACK sent at once, the same SYN again 1 s later, on 2 of 20 connects: reported with the frames, the delay and the share', () => {
    const cap = new Capture();
    cleanConnects(cap, 18, 0);
    synAgainAtServer(cap, 40001, 3);
    synAgainAtServer(cap, 40002, 6);
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found.map((f) => f.client)).toEqual([`${CLIENT}:40001`, `${CLIENT}:40002`]);
    expect(found[0].severity).toBe('warning');
    expect(found[0].summary).toContain('sent the same SYN again 1 s later');
    expect(found[0].evidence).toMatchObject({ seenAt: 'server', resentBy: 'client', delay: 1 });
    // First SYN, its SYN-ACK, the repeated SYN, the answer to it.
    expect(found[0].frames).toHaveLength(4);
    const d = r.diagnoses.filter((x) => x.kind === KIND);
    expect(d).toHaveLength(1);
    expect(d[0].count).toBe(2);
    expect(d[0].explanation).toContain('2 of 20 connects');
    expect(d[0].inferred.handshakeRetransmissionTimeout.value).toBe(1);
    expect(d[0].remedy).toContain('TcpExtTCPSynRetrans');
  });

  test('a connect that lost more answers after the first (its SYN again at 1 s and 3 s): the whole connect\'s cost told, not only the first repeat (blind round 14: "1.021 s longer" for a 5.1 s connect)', () => {
    const cap = new Capture();
    cleanConnects(cap, 18, 0);
    synAgainAtServer(cap, 40001, 3);
    // Answered at once each time, the answers lost twice: the third SYN's answer got through.
    syn(cap, 10, 40003);
    synAck(cap, 10.0001, 40003);
    syn(cap, 11, 40003);
    synAck(cap, 11.0001, 40003);
    syn(cap, 13, 40003);
    synAck(cap, 13.0001, 40003);
    connected(cap, 40003, 13.002);
    const found = ofKind(cap.analyze(only), KIND);
    const twice = found.find((f) => f.client === `${CLIENT}:40003`)!;
    expect(twice.evidence).toMatchObject({ delay: 1, connectDelay: 3.002 });
    expect(twice.summary).toContain('and the connect took 3.002 s longer');
    expect(found.find((f) => f.client === `${CLIENT}:40001`)!.evidence).toMatchObject({ delay: 1, connectDelay: 1 });
    const [d] = cap.analyze(only).diagnoses.filter((x) => x.kind === KIND);
    expect(d.explanation).toContain('1 of them lost more answers after the first, and took 3.002 s longer in all');
  });

  test("at the server: its SYN-ACK again at its own timer, the client's ACK and request only after it: reported", () => {
    const cap = new Capture();
    cleanConnects(cap, 10, 0);
    synAckAgainAtServer(cap, 40001, 3);
    synAckAgainAtServer(cap, 40002, 6);
    const found = ofKind(cap.analyze(only), KIND);
    expect(found.map((f) => f.evidence.resentBy)).toEqual(['server', 'server']);
    expect(found[0].summary).toContain('acknowledged only the SYN-ACK its timer sent again 1 s later');
  });

  test("near miss at the server: the client acknowledged only the repeated SYN-ACK but sent nothing for seconds (a lost ACK of a client that waits looks alike): silent", () => {
    const cap = new Capture();
    cleanConnects(cap, 10, 0);
    synAckAgainAtServer(cap, 40001, 3, 2);
    synAckAgainAtServer(cap, 40002, 6, 2);
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  test("at the client: the SYN again, the answer echoing the first SYN's TSval (the first SYN arrived): reported", () => {
    const cap = new Capture();
    cleanConnects(cap, 10, 0);
    synAgainAtClient(cap, 40001, 3, 1000);
    synAgainAtClient(cap, 40002, 6, 1000);
    const found = ofKind(cap.analyze(only), KIND);
    expect(found.map((f) => f.evidence.seenAt)).toEqual(['client', 'client']);
    expect(found[0].evidence.answerEchoes).toBe('first-syn-tsval');
    expect(found[0].summary).toContain("echoes the first SYN's timestamp");
  });

  test("near misses at the client: an answer echoing the repeated SYN (the first never arrived, or the listener dropped it), or no timestamps to tell: silent", () => {
    for (const echo of [2000, null]) {
      const cap = new Capture();
      cleanConnects(cap, 10, 0);
      synAgainAtClient(cap, 40001, 3, echo);
      synAgainAtClient(cap, 40002, 6, echo);
      expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
    }
  });

  test("at the client: its only SYN answered 1 s later, by the server's SYN-ACK timer: reported; answered after 0.3 s (a slow path, no timer): silent", () => {
    const late = new Capture();
    cleanConnects(late, 10, 0);
    answeredLate(late, 40001, 3, 1.003);
    answeredLate(late, 40002, 6, 1.003);
    const found = ofKind(late.analyze(only), KIND);
    expect(found.map((f) => [f.evidence.seenAt, f.evidence.resentBy])).toEqual([['client', 'server'], ['client', 'server']]);
    const slow = new Capture();
    cleanConnects(slow, 10, 0);
    answeredLate(slow, 40001, 3, 0.3);
    answeredLate(slow, 40002, 6, 0.3);
    expect(ofKind(slow.analyze(only), KIND)).toEqual([]);
  });

  test('a one-off lost SYN-ACK is the random loss any path has: silent; so are 2 among 300 connects (under 1 %)', () => {
    const one = new Capture();
    cleanConnects(one, 20, 0);
    synAgainAtServer(one, 40001, 3);
    expect(ofKind(one.analyze(only), KIND)).toEqual([]);
    const many = new Capture();
    cleanConnects(many, 298, 0);
    synAgainAtServer(many, 40001, 3);
    synAgainAtServer(many, 40002, 6);
    expect(ofKind(many.analyze(only), KIND)).toEqual([]);
  });

  test('a healthy capture: every connect answered at once: silent', () => {
    const cap = new Capture();
    cleanConnects(cap, 50, 0);
    expect(ofKind(cap.analyze(), KIND)).toEqual([]);
  });

  test('on a path whose established connections retransmit data around them (a lossy path, not a handshake drop): silent', () => {
    const cap = new Capture();
    cleanConnects(cap, 10, 0);
    for (const t of [2.5, 5.5]) {
      const c = cap.connection({ client: CLIENT, server: SERVER });
      c.handshake(t).request(t + 0.01, get('/a'));
      const body = ok('x'.repeat(500));
      c.send(t + 0.02, 's', body).resend(t + 0.25, 's', body).resend(t + 0.5, 's', body).ack(t + 0.5001, 'c');
      c.close(t + 0.6, 'c');
    }
    synAgainAtServer(cap, 40001, 3);
    synAgainAtServer(cap, 40002, 6);
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  test('a listener that dropped the first SYN (full queue) and answered only the retry is not this: syn-unanswered reports it', () => {
    const cap = new Capture();
    cleanConnects(cap, 10, 0);
    for (const [cport, t] of [[40001, 3], [40002, 6]]) {
      syn(cap, t, cport);
      syn(cap, t + 1.0, cport);
      synAck(cap, t + 1.0001, cport);
      connected(cap, cport, t + 1.002);
    }
    const r = cap.analyze([synUnanswered, acceptQueueOverflow, synackLost]);
    expect(ofKind(r, KIND)).toEqual([]);
    expect(ofKind(r, 'syn-unanswered').length).toBeGreaterThan(0);
  });

  test("copies of one SYN in the capture (merged interfaces, 1 ms apart) are no repeat: silent", () => {
    const cap = new Capture();
    cleanConnects(cap, 10, 0);
    for (const [cport, t] of [[40001, 3], [40002, 6]]) {
      syn(cap, t, cport);
      synAck(cap, t + 0.0005, cport);
      syn(cap, t + 0.001, cport);
      connected(cap, cport, t + 0.002);
    }
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });
});

describe('synack-lost on the recorded samples', () => {
  test.each(['synack-lost-server-side', 'synack-lost-client-side'])('%s: the 3 delayed connects of 24, nothing else', async (name) => {
    const r = await analyzeSample(name);
    expect(ofKind(r, KIND)).toHaveLength(3);
    // Beside them only the info that its Python client sends Connection: close on each of its 24 GETs (connection-churn, asked).
    expect(r.anomalies.filter((f) => f.kind !== KIND && !(f.kind === 'connection-churn' && f.evidence.requestsSaidClose === 24))).toEqual([]);
    expect(r.anomalies.filter((f) => f.kind === 'connection-churn').map((f) => f.severity)).toEqual(['info']);
    expect(r.diagnoses.find((d) => d.kind === KIND)?.explanation).toContain('3 of 24 connects');
  });

  test.each(['handshake-synack-lost-server-side', 'healthy-lossy-path-server-side', 'healthy-lossy-path-client-side', 'healthy-lossy-path-heavy'])(
    '%s: a one-off lost SYN-ACK, or SYN-ACKs lost with the rest on a lossy path: silent',
    async (name) => {
      expect(ofKind(await analyzeSample(name), KIND)).toEqual([]);
    },
  );
});
