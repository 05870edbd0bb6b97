import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyzeFiles, AnalysisResult } from '../../src/analyze';
import { acceptQueueOverflow } from '../../src/detect/detectors/accept-queue-overflow';
import { resetBeforeResponse } from '../../src/detect/detectors/reset-before-response';
import { synUnanswered } from '../../src/detect/detectors/syn-unanswered';
import { buildTcpPacket, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from '../helpers/packet-builder';
import { SAMPLES_DIR, SampleMeta } from '../samples';
import { Capture, get, ofKind, ok, T0 } from './reuse-kit';

const KIND = 'accept-queue-overflow';
const only = [acceptQueueOverflow];
const CLIENT = '10.0.0.1';
const SERVER = '10.0.0.2';
const C_ISN = 1_000_000;
const S_ISN = 5_000_000;
const REQUEST = get('/queued');

/** A scripted connection where the test says which handshake and data segments the server repeats or drops. */
class Script {
  constructor(private readonly cap: Capture, private readonly cport = 41000) {}

  private seg(ts: number, from: 'c' | 's', flags: number, seq: number, ack: number, payload = ''): this {
    const c = from === 'c';
    this.cap.add(ts, buildTcpPacket({
      src: c ? CLIENT : SERVER, dst: c ? SERVER : CLIENT, sport: c ? this.cport : 80, dport: c ? 80 : this.cport,
      seq, ack, flags, payload,
    }));
    return this;
  }

  /** SYN, SYN-ACK, and the client's ACK (at +0.2 s, as a delayed-ACK client one RTT away). */
  handshake(): this {
    return this.seg(0, 'c', TCP_SYN, C_ISN, 0)
      .seg(0.0001, 's', TCP_SYN | TCP_ACK, S_ISN, C_ISN + 1)
      .seg(0.2, 'c', TCP_ACK, C_ISN + 1, S_ISN + 1);
  }

  synAck(ts: number): this {
    return this.seg(ts, 's', TCP_SYN | TCP_ACK, S_ISN, C_ISN + 1);
  }

  /** The client's answer to a repeated SYN-ACK: a duplicate ACK (after its data when it sent some). */
  dupAck(ts: number, sent: number): this {
    return this.seg(ts, 'c', TCP_ACK, C_ISN + 1 + sent, S_ISN + 1);
  }

  /** The request (again, when retransmitted). */
  request(ts: number): this {
    return this.seg(ts, 'c', TCP_ACK | TCP_PSH, C_ISN + 1, S_ISN + 1, REQUEST);
  }

  serverAcks(ts: number): this {
    return this.seg(ts, 's', TCP_ACK, S_ISN + 1, C_ISN + 1 + REQUEST.length);
  }

  response(ts: number): this {
    return this.seg(ts, 's', TCP_ACK | TCP_PSH, S_ISN + 1, C_ISN + 1 + REQUEST.length, ok());
  }

  /** The kernel's RST answering a segment with no socket behind it: RST alone, seq = the segment's ACK number. */
  serverRst(ts: number): this {
    return this.seg(ts, 's', TCP_RST, S_ISN + 1, 0);
  }

  /** The kernel's RST for a segment that acknowledged the server's FIN too (seq one past the FIN). */
  serverRstAfterFin(ts: number): this {
    return this.seg(ts, 's', TCP_RST, S_ISN + 2, 0);
  }

  /** The request, acknowledging a server FIN the capture did not show. */
  requestAckingFin(ts: number): this {
    return this.seg(ts, 'c', TCP_ACK | TCP_PSH, C_ISN + 1, S_ISN + 2, REQUEST);
  }

  /** A RST with the ACK flag, acknowledging the client's request: an application's abort. */
  serverRstAck(ts: number): this {
    return this.seg(ts, 's', TCP_RST | TCP_ACK, S_ISN + 1, C_ISN + 1 + REQUEST.length);
  }

  /** A second data segment after the request (an upload's next bytes). */
  more(ts: number, text: string): this {
    return this.seg(ts, 'c', TCP_ACK, C_ISN + 1 + REQUEST.length, S_ISN + 1, text);
  }

  /** The server acknowledging only the handshake: a duplicate ACK for data it is missing. */
  serverDupAck(ts: number): this {
    return this.seg(ts, 's', TCP_ACK, S_ISN + 1, C_ISN + 1);
  }

  clientFin(ts: number): this {
    return this.seg(ts, 'c', TCP_FIN | TCP_ACK, C_ISN + 1 + REQUEST.length, S_ISN + 1);
  }
}

describe('accept-queue-overflow on synthetic handshakes', () => {
  test('SYN-ACK repeated twice after the ACK, request never ACKed: the listener dropped them', () => {
    const cap = new Capture();
    new Script(cap).handshake().request(0.3).request(0.5).request(0.9)
      .synAck(1).dupAck(1.0001, REQUEST.length).request(1.7).synAck(3).dupAck(3.0001, REQUEST.length).clientFin(4);
    const [f, ...rest] = ofKind(cap.analyze(only), KIND);
    expect(rest).toEqual([]);
    expect(f.client).toBe(`${CLIENT}:41000`);
    expect(f.severity).toBe('error');
    expect(f.ts).toBeCloseTo(T0 + 1, 6);
    expect(f.evidence).toMatchObject({
      signal: 'synack-repeated-after-ack', synAckRepeats: 2, synAckOffsets: [0, 1, 3], clientDataBytes: REQUEST.length,
      firstDataOffset: 0.3, dataRetransmissions: 3, dataAcked: false, outcome: 'client-gave-up',
    });
    // The first SYN-ACK, the two repeats and the request.
    expect(f.frames).toEqual([2, 4, 7, 10]);
    expect(f.summary).toContain('retransmitted its SYN-ACK 2×');
  });

  test('one repeat while the request is dropped too, accepted later: still an overflow, outcome accepted-later', () => {
    const cap = new Capture();
    new Script(cap).handshake().request(0.3).synAck(1).dupAck(1.0001, REQUEST.length).request(1.2).serverAcks(1.2001).response(1.3);
    const [f] = ofKind(cap.analyze(only), KIND);
    expect(f.evidence).toMatchObject({ synAckRepeats: 1, dataRetransmissions: 1, dataAcked: true, outcome: 'accepted-later' });
  });

  test('request never ACKed and retransmitted, no SYN-ACK repeat in the capture: the data-not-acked signal', () => {
    const cap = new Capture();
    new Script(cap).handshake().request(0.3).request(0.5).request(0.9);
    const [f] = ofKind(cap.analyze(only), KIND);
    expect(f.evidence).toMatchObject({ signal: 'data-not-acked', synAckRepeats: 0, dataRetransmissions: 2, outcome: 'unresolved-at-capture-end' });
    expect(f.summary).toContain('never ACKed');
    expect(f.ts).toBeCloseTo(T0 + 0.3, 6);
  });

  test('silent: one SYN-ACK repeat with no data (a single lost ACK)', () => {
    const cap = new Capture();
    new Script(cap).handshake().synAck(1).dupAck(1.0001, 0);
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  test('silent: one SYN-ACK repeat, but the request was ACKed without a retransmission (the server had it)', () => {
    const cap = new Capture();
    new Script(cap).handshake().request(0.3).synAck(1.5).dupAck(1.5001, REQUEST.length).serverAcks(1.6).response(1.7);
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  test('silent: copies of the SYN-ACK 50 ms apart (the same packet captured on several VLANs)', () => {
    const cap = new Capture();
    new Script(cap).handshake().synAck(0.25).synAck(0.3).request(0.31).serverAcks(0.32).response(0.33);
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  test('silent: a request retransmitted once before its ACK (ordinary loss)', () => {
    const cap = new Capture();
    new Script(cap).handshake().request(0.3).request(0.5).serverAcks(0.5001).response(0.6);
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  // A SYN-cookie handshake (no state to re-send a SYN-ACK from), or a request retransmitted before the
  // server's 1 s SYN-ACK timer: the only trace of the dropped ACK is the request ignored until later.
  test('request ignored twice, then ACKed and answered, no SYN-ACK repeat: the data-acked-late signal', () => {
    const cap = new Capture();
    new Script(cap).handshake().request(0.3).request(0.5).request(0.9).serverAcks(0.9001).response(1.3);
    const [f, ...rest] = ofKind(cap.analyze(only), KIND);
    expect(rest).toEqual([]);
    expect(f.evidence).toMatchObject({
      signal: 'data-acked-late', synAckRepeats: 0, dataRetransmissions: 2, dataRetransmissionsBeforeAck: 2, dataAcked: true, outcome: 'accepted-later',
    });
    expect(f.summary).toContain('only after 2 retransmissions');
    expect(f.ts).toBeCloseTo(T0 + 0.3, 6);
  });

  test('the late signal counts the bytes of the first data segment, not all the client sent', () => {
    const cap = new Capture();
    new Script(cap).handshake().request(0.3).request(0.5).request(0.9).serverAcks(0.9001).more(1.0, 'x'.repeat(445)).response(1.3);
    const [f] = ofKind(cap.analyze(only), KIND);
    expect(f.summary).toContain(`ACKed the first ${REQUEST.length} bytes`);
  });

  /** Established connections between the same hosts retransmitting data from `from` for 3 s: a path losing packets. */
  function losingSegments(cap: Capture, from: number): void {
    for (const t of [from, from + 0.5]) {
      const c = cap.connection({ client: CLIENT, server: SERVER, cport: 47000 + Math.round(t * 10) });
      c.handshake(t).request(t + 0.01, get('/a'));
      const body = ok('x'.repeat(500));
      c.send(t + 0.02, 's', body).resend(t + 0.25, 's', body).resend(t + 0.7, 's', body).ack(t + 0.7001, 'c');
      c.close(t + 3, 'c');
    }
  }

  /** A request ignored once, and another attempt to the listener whose SYN was retried twice meanwhile. */
  function ignoredOnceBesideSynRetries(cap: Capture): void {
    new Script(cap).handshake().request(0.3).request(0.5).serverAcks(0.5001).response(0.6);
    for (const t of [0.1, 1.1, 3.1]) cap.add(t, buildTcpPacket({ src: CLIENT, dst: SERVER, sport: 41500, dport: 80, seq: 7_000_000, ack: 0, flags: TCP_SYN }));
    cap.add(3.1001, buildTcpPacket({ src: SERVER, dst: CLIENT, sport: 80, dport: 41500, seq: 8_000_000, ack: 7_000_001, flags: TCP_SYN | TCP_ACK }));
    cap.add(3.1002, buildTcpPacket({ src: CLIENT, dst: SERVER, sport: 41500, dport: 80, seq: 7_000_001, ack: 8_000_001, flags: TCP_ACK }));
  }

  test('a request ignored once beside SYNs the listener left unanswered: the listener\'s (corroborated)', () => {
    const cap = new Capture();
    ignoredOnceBesideSynRetries(cap);
    const r = cap.analyze([synUnanswered, acceptQueueOverflow]);
    expect(ofKind(r, KIND)).toHaveLength(1);
  });

  test('silent: the same while other connections between the hosts were retransmitting data (path loss, not a full queue)', () => {
    const cap = new Capture();
    losingSegments(cap, -0.5);
    ignoredOnceBesideSynRetries(cap);
    const r = cap.analyze([synUnanswered, acceptQueueOverflow]);
    expect(ofKind(r, KIND)).toEqual([]);
    expect(ofKind(r, 'syn-unanswered').map((f) => f.severity)).toEqual(['info']);
  });

  test('silent: a request ignored twice on a path losing segments at the time', () => {
    const cap = new Capture();
    losingSegments(cap, -0.5);
    new Script(cap).handshake().request(0.3).request(0.5).request(0.9).serverAcks(0.9001).response(1.3);
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  test('silent: the first data lost on the path while the server acknowledged the rest with duplicate ACKs (its TCP had the connection)', () => {
    // healthy-lossy-path-client-side: an upload's first segment lost after the capture point; the
    // server answered the segments behind it with ACKs of the handshake alone until the loss was repaired.
    const cap = new Capture();
    new Script(cap).handshake().request(0.3).more(0.3001, 'x'.repeat(500)).serverDupAck(0.32).request(0.5).request(0.9).serverAcks(0.9001).response(1.3);
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
    // Without the duplicate ACK, the same retransmissions are the listener's.
    const dropped = new Capture();
    new Script(dropped).handshake().request(0.3).more(0.3001, 'x'.repeat(500)).request(0.5).request(0.9).serverAcks(0.9001).response(1.3);
    expect(ofKind(dropped.analyze(only), KIND).map((f) => f.evidence.signal)).toEqual(['data-acked-late']);
  });

  test('silent: the same retransmissions after the server had ACKed the request (spurious, not a dropped request)', () => {
    const cap = new Capture();
    new Script(cap).handshake().request(0.3).serverAcks(0.3001).request(0.5).request(0.9).response(1.3);
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  test('silent: a server that resets after ignoring the request is refusing, not queueing (left to other kinds)', () => {
    const cap = new Capture();
    new Script(cap).handshake().request(0.3).request(0.5).request(0.9).serverRstAck(1.0);
    expect(ofKind(cap.analyze(only), KIND).filter((f) => f.evidence.signal === 'data-acked-late')).toEqual([]);
  });

  // net.ipv4.tcp_abort_on_overflow = 1: the kernel answers the handshake's last ACK with a RST.
  test('RST answering the handshake ACK, nothing sent or ACKed: the reset-after-handshake signal', () => {
    const cap = new Capture();
    new Script(cap).handshake().serverRst(0.20002);
    const [f, ...rest] = ofKind(cap.analyze(only), KIND);
    expect(rest).toEqual([]);
    expect(f.evidence).toMatchObject({ signal: 'reset-after-handshake', synAckRepeats: 0, clientDataBytes: 0, outcome: 'reset-by-server' });
    expect(f.summary).toContain('tcp_abort_on_overflow = 1');
    expect(f.ts).toBeCloseTo(T0 + 0.20002, 6);
    const d = cap.analyze(only).diagnoses.filter((x) => x.kind === KIND);
    expect(d[0].explanation).toContain('answers the handshake');
  });

  // An application aborting right after reading the request sends RST+ACK (suricata-verify tcp-rst-unacked-stream-*).
  test('silent: a RST+ACK right after the client\'s first data (the application read and aborted it)', () => {
    const cap = new Capture();
    new Script(cap).handshake().request(0.2001).serverRstAck(0.2002);
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  // A client-side capture: the client's request leaves before the listener's reset (no ACK flag) arrives.
  test('a RST without ACK just after the client\'s first data is still the listener\'s reset', () => {
    const cap = new Capture();
    new Script(cap).handshake().request(0.2001).serverRst(0.2002);
    const [f, ...rest] = ofKind(cap.analyze(only), KIND);
    expect(rest).toEqual([]);
    expect(f.evidence).toMatchObject({ signal: 'reset-after-handshake', outcome: 'reset-by-server' });
  });

  // tcp_abort_on_overflow = 1 with the pure ACK lost: the client's first data, long after the
  // handshake, completes it and the listener answers it with a RST (blind s1d).
  test('a RST without ACK at once after first data sent long after the handshake: the listener refusing it', () => {
    const cap = new Capture();
    new Script(cap).handshake().request(0.8).serverRst(0.80002);
    const r = cap.analyze([acceptQueueOverflow, resetBeforeResponse]);
    const [f, ...rest] = ofKind(r, KIND);
    expect(rest).toEqual([]);
    expect(f.evidence).toMatchObject({ signal: 'reset-after-handshake', resetAnswers: 'data', outcome: 'reset-by-server' });
    expect(f.summary).toContain('at once after its first data');
    // Not a socket closed before the request came (a reload or a restart).
    expect(ofKind(r, 'reset-before-response')).toEqual([]);
  });

  // The ACK dropped, the SYN-ACK repeated, the client's second ACK reset (blind s1g).
  test('a RST without ACK answering the ACK of a repeated SYN-ACK: the listener refusing it', () => {
    const cap = new Capture();
    new Script(cap).handshake().synAck(1).dupAck(1.0001, 0).serverRst(1.00012);
    const [f, ...rest] = ofKind(cap.analyze(only), KIND);
    expect(rest).toEqual([]);
    expect(f.evidence).toMatchObject({ signal: 'reset-after-handshake', resetAnswers: 'repeat-ack', synAckRepeats: 1 });
    expect(f.summary).toContain('its ACK of the repeated SYN-ACK');
  });

  test('silent: a RST without ACK to data that acknowledged a FIN the capture missed (a socket closed before the request)', () => {
    const cap = new Capture();
    new Script(cap).handshake().requestAckingFin(0.8).serverRstAfterFin(0.80002);
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  test('silent: a RST long after the client\'s first data (not an answer to it)', () => {
    const cap = new Capture();
    new Script(cap).handshake().request(0.8).serverRst(5.8);
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  test('silent: a RST long after the handshake of an unused connection (a header or idle timeout)', () => {
    const cap = new Capture();
    new Script(cap).handshake().serverRst(10.2);
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  test('silent: a RST after the request was ACKed (the application had the connection)', () => {
    const cap = new Capture();
    new Script(cap).handshake().request(0.3).serverAcks(0.3001).serverRst(0.31);
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  test('silent: the server resets after the client closed (answering its FIN)', () => {
    const cap = new Capture();
    new Script(cap).handshake().clientFin(0.25).serverRst(0.2501);
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  test('a request resent once: "1 retransmission"; without RST or SYN-ACK repeat, SYN cookies are named beside the sysctl', () => {
    const cap = new Capture();
    new Script(cap, 41000).handshake().request(0.3).request(0.5).serverAcks(0.5001).response(0.6);
    for (const t of [0.1, 1.1]) cap.add(t, buildTcpPacket({ src: CLIENT, dst: SERVER, sport: 41002, dport: 80, seq: 7, flags: TCP_SYN }));
    const r = cap.analyze([synUnanswered, acceptQueueOverflow]);
    const [f] = ofKind(r, KIND);
    expect(f.summary).toContain('only after 1 retransmission,');
    const d = r.diagnoses.filter((x) => x.kind === KIND);
    expect(d[0].explanation).toContain('or a handshake answered with a SYN cookie');
    expect(d[0].explanation).not.toContain('(net.ipv4.tcp_abort_on_overflow = 0)');
    expect(d[0].remedy).toContain('TcpExtSyncookiesRecv');
  });

  // The once-resent requests are judged against syn-unanswered's findings: syn-unanswered's own
  // diagnosis, worded after them, must count them too (blind s1h: 5 against 2).
  test('syn-unanswered cites as many overflows as accept-queue-overflow diagnoses', () => {
    const cap = new Capture();
    new Script(cap, 41000).handshake().request(0.3).request(0.5).serverAcks(0.5001).response(0.6);
    new Script(cap, 41001).handshake().request(0.3).request(0.5).serverAcks(0.5001).response(0.6);
    new Script(cap, 41003).handshake().request(0.3).request(0.5).request(0.9).serverAcks(0.9001).response(1.0);
    for (const t of [0.1, 1.1]) cap.add(t, buildTcpPacket({ src: CLIENT, dst: SERVER, sport: 41002, dport: 80, seq: 7, flags: TCP_SYN }));
    const r = cap.analyze([synUnanswered, acceptQueueOverflow]);
    const d = r.diagnoses.filter((x) => x.kind === KIND);
    expect(d[0].count).toBe(3);
    const syn = r.diagnoses.filter((x) => x.kind === 'syn-unanswered');
    expect(syn[0].explanation).toContain('On the same listener 3 connections had the final handshake ACK dropped');
  });

  test('syn-unanswered says the overflows were reset when the listener reset them (tcp_abort_on_overflow = 1; blind round 13b S1c read "ACK dropped")', () => {
    const cap = new Capture();
    new Script(cap, 41000).handshake().serverRst(0.20002);
    new Script(cap, 41001).handshake().serverRst(0.20002);
    for (const t of [0.1, 1.1]) cap.add(t, buildTcpPacket({ src: CLIENT, dst: SERVER, sport: 41002, dport: 80, seq: 7, flags: TCP_SYN }));
    const r = cap.analyze([synUnanswered, acceptQueueOverflow]);
    const syn = r.diagnoses.filter((x) => x.kind === 'syn-unanswered');
    expect(syn[0].explanation).toContain('On the same listener 2 connections were reset right after the handshake (tcp_abort_on_overflow = 1; accept-queue-overflow)');
    expect(syn[0].explanation).not.toContain('ACK dropped');
  });

  test('diagnosis per listener, citing the SYNs it dropped once the queue was full', () => {
    const cap = new Capture();
    new Script(cap, 41000).handshake().request(0.3).synAck(1).dupAck(1.0001, REQUEST.length).synAck(3).dupAck(3.0001, REQUEST.length);
    new Script(cap, 41001).handshake().request(0.3).synAck(1).dupAck(1.0001, REQUEST.length).synAck(3).dupAck(3.0001, REQUEST.length);
    for (const t of [0.5, 1.5, 3.5]) cap.add(t, buildTcpPacket({ src: CLIENT, dst: SERVER, sport: 41002, dport: 80, seq: 7, flags: TCP_SYN }));
    const r = cap.analyze([synUnanswered, acceptQueueOverflow]);
    const d = r.diagnoses.filter((x) => x.kind === KIND);
    expect(d).toHaveLength(1);
    expect(d[0]).toMatchObject({ server: `${SERVER}:80`, count: 2, inferred: {} });
    expect(d[0].explanation).toContain('2 connections');
    expect(d[0].explanation).toContain('1 other attempt to it had SYNs go unanswered');
    expect(d[0].remedy).toContain('TcpExtListenOverflows');
    expect(d[0].remedy).toContain('somaxconn');
  });

  // Blind s1b: 3 of the 23 attempts cited as "other" were the diagnosis's own overflows, whose
  // first SYN had gone unanswered too.
  test('the SYN drops it cites as other attempts leave out its own overflowed connections', () => {
    const cap = new Capture();
    cap.add(-1, buildTcpPacket({ src: CLIENT, dst: SERVER, sport: 41000, dport: 80, seq: C_ISN, flags: TCP_SYN }));
    new Script(cap, 41000).handshake().request(0.3).synAck(1).dupAck(1.0001, REQUEST.length).synAck(3).dupAck(3.0001, REQUEST.length);
    new Script(cap, 41001).handshake().request(0.3).synAck(1).dupAck(1.0001, REQUEST.length).synAck(3).dupAck(3.0001, REQUEST.length);
    for (const t of [0.5, 1.5, 3.5]) cap.add(t, buildTcpPacket({ src: CLIENT, dst: SERVER, sport: 41002, dport: 80, seq: 7, flags: TCP_SYN }));
    const r = cap.analyze([synUnanswered, acceptQueueOverflow]);
    expect(ofKind(r, 'syn-unanswered')).toHaveLength(2);
    const d = r.diagnoses.filter((x) => x.kind === KIND);
    expect(d[0].count).toBe(2);
    expect(d[0].explanation).toContain('1 other attempt to it had SYNs go unanswered');
  });
});

const SAMPLE = path.join(SAMPLES_DIR, 'accept-queue-overflow.pcap');
(fs.existsSync(SAMPLE) ? describe : describe.skip)('accept-queue-overflow on the recorded samples', () => {
  let result: AnalysisResult;
  beforeAll(async () => {
    result = await analyzeFiles([SAMPLE]);
  });

  test('the connections whose handshake ACK was dropped, with their SYN-ACK repeats and unACKed requests', () => {
    const meta = JSON.parse(fs.readFileSync(path.join(SAMPLES_DIR, 'accept-queue-overflow.meta.json'), 'utf8')) as SampleMeta & {
      measured?: Record<string, { synAckOffsets?: number[]; requestRetransmissions?: number }>;
    };
    const expected = (meta.expect ?? []).filter((e) => e.kind === KIND).map((e) => e.client);
    const findings = ofKind(result, KIND);
    expect(findings.map((f) => f.client).sort()).toEqual([...expected].sort());
    for (const f of findings) {
      const m = meta.measured?.[f.client!] ?? {};
      expect(f.evidence).toMatchObject({ signal: 'synack-repeated-after-ack', dataAcked: false, clientDataBytes: 43 });
      expect(f.evidence.synAckRepeats).toBe((m.synAckOffsets ?? []).length - 1);
      (f.evidence.synAckOffsets as number[]).forEach((o, i) => expect(Math.abs(o - m.synAckOffsets![i])).toBeLessThan(0.02));
      expect(f.evidence.dataRetransmissions).toBe(m.requestRetransmissions);
    }
    // The queued connections (their kernel ACKed the request) are not overflows.
    const queued = (meta.expect ?? []).filter((e) => e.kind === 'unanswered-request').map((e) => e.client);
    expect(findings.filter((f) => queued.includes(f.client!))).toEqual([]);
  });

  test('one diagnosis for the listener', () => {
    const d = result.diagnoses.filter((x) => x.kind === KIND);
    expect(d).toHaveLength(1);
    expect(d[0].count).toBe(2);
    expect(d[0].explanation).toContain('syn-unanswered');
  });

  test.each([
    'clean-keepalive-reuse', 'client-closes-idle-first', 'half-close', 'tcp-keepalive-probes', 'abortive-close-after-response',
    'retransmitted-fin', 'http10-keepalive-and-close', 'keepalive-node-agent', 'syn-unanswered', 'reset-before-response',
    'unanswered-request-timeout', 'zero-window-stall', 'rst-on-close',
    'keepalive-race-apache-java', 'healthy-apache-lighttpd-java',
  ])('silent on %s', async (name) => {
    const file = path.join(SAMPLES_DIR, `${name}.pcap`);
    if (!fs.existsSync(file)) return;
    expect(ofKind(await analyzeFiles([file], { detectors: only }), KIND)).toEqual([]);
  });
});

const CORPUS = path.resolve(__dirname, '../../../shared/corpus/public');
(fs.existsSync(CORPUS) ? describe : describe.skip)('accept-queue-overflow on public captures', () => {
  test.each([
    // The same packets captured on several VLANs: "repeated" SYN-ACKs 50 ms apart with an unchanged TSval.
    'zeek/vlan-collisions.pcap',
    // One SYN-ACK repeat after 1.45 s, but the request was ACKed without being retransmitted.
    'suricata-verify/http-missing-protocol.pcap',
  ])('silent on %s', async (name) => {
    expect(ofKind(await analyzeFiles([path.join(CORPUS, name)], { detectors: only }), KIND)).toEqual([]);
  });
});

// tcp_abort_on_overflow = 1 behind a deferred-accept listener: the kernel resets the first data of one
// connection and the ACK of a repeated SYN-ACK of another, both found (was reset-before-response and nothing).
const ABORT_SAMPLE = path.join(SAMPLES_DIR, 'accept-queue-abort-on-overflow.pcap');
(fs.existsSync(ABORT_SAMPLE) ? describe : describe.skip)('accept-queue-overflow on accept-queue-abort-on-overflow', () => {
  test('both resets, each answering the segment that would have completed its connection, and nothing else', async () => {
    const meta = JSON.parse(fs.readFileSync(path.join(SAMPLES_DIR, 'accept-queue-abort-on-overflow.meta.json'), 'utf8')) as SampleMeta & {
      measured: Record<string, { rstFrame: number; synAcks: number }>;
    };
    const r = await analyzeFiles([ABORT_SAMPLE]);
    const findings = ofKind(r, KIND);
    expect(findings.map((f) => f.client).sort()).toEqual(Object.keys(meta.measured).sort());
    for (const f of findings) {
      const m = meta.measured[f.client!];
      expect(f.evidence).toMatchObject({ signal: 'reset-after-handshake', resetAnswers: m.synAcks === 2 ? 'repeat-ack' : 'data', outcome: 'reset-by-server' });
      expect(f.frames).toContain(m.rstFrame);
    }
    expect(r.anomalies.filter((f) => f.kind !== KIND)).toEqual([]);
  });
});
