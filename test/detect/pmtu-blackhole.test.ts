import { pmtuBlackhole } from '../../src/detect/detectors/pmtu-blackhole';
import { responseAbandoned } from '../../src/detect/detectors/response-abandoned';
import { unansweredRequest } from '../../src/detect/detectors/unanswered-request';
import { buildTcpPacket, TCP_ACK, TCP_SYN, tcpOption } from '../helpers/packet-builder';
import { analyzeSample } from '../samples';
import { Capture, Conn, get, ofKind } from './reuse-kit';

const KIND = 'pmtu-blackhole';
const both = [pmtuBlackhole, responseAbandoned];
const MSS = 1460;
/** A full-size segment's payload with TCP timestamps (1460 − 12). */
const FULL = 1448;

const head = (length: number): string => `HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${length}\r\n\r\n`;
const small = (): string => `${head(200)}${'s'.repeat(200)}`;

/** SYN and SYN-ACK offering MSS 1460, then the handshake's ACK (the kit's handshake carries no options). */
function handshake(cap: Capture, c: Conn, ts: number): void {
  const opt = [tcpOption.mss(MSS)];
  cap.add(ts, buildTcpPacket({ src: c.client, dst: c.server, sport: c.cport, dport: c.sport, seq: (c.cSeq - 1) >>> 0, ack: 0, flags: TCP_SYN, options: opt }));
  cap.add(ts + 0.005, buildTcpPacket({ src: c.server, dst: c.client, sport: c.sport, dport: c.cport, seq: (c.sSeq - 1) >>> 0, ack: c.cSeq >>> 0, flags: TCP_SYN | TCP_ACK, options: opt }));
  c.ack(ts + 0.01, 'c');
}

interface Scene {
  /** How often the server resends the first body segment, and whether the client then acknowledges it (recovery). */
  resends: number;
  recovers?: boolean;
  /** A large response went through whole on this connection before (large segments pass). */
  largeBefore?: boolean;
  /** The client sends nothing after the server's resends began (a dead path or client, not one that drops large segments only). */
  clientSilent?: boolean;
  sport?: number;
}

/**
 * Captured at the server: a small exchange, then GET /big whose head (one small segment) the client
 * acknowledges while none of the 10 full-size body segments behind it ever is; the server resends the
 * first one at RTO backoff (0.2, 0.6, 1.4, 3.0, 6.2 s) and curl gives up 8 s after its request (FIN).
 */
function serverSide(cap: Capture, t: number, s: Scene): Conn {
  const c = cap.connection({ sport: s.sport ?? 8080 });
  handshake(cap, c, t);
  c.request(t + 0.02, get('/small')).response(t + 0.025, small());
  if (s.largeBefore === true) {
    c.request(t + 0.03, get('/medium'));
    c.send(t + 0.035, 's', head(2 * FULL));
    c.send(t + 0.0351, 's', 'm'.repeat(FULL)).send(t + 0.0352, 's', 'm'.repeat(FULL));
    c.ack(t + 0.04, 'c');
  }
  const req = t + 0.05;
  c.request(req, get('/big'));
  c.send(req + 0.001, 's', head(10 * FULL));
  const acked = c.sSeq;
  const firstSeg = 'b'.repeat(FULL);
  c.send(req + 0.0011, 's', firstSeg, { ack: c.cSeq });
  const afterFirst = c.sSeq;
  for (let k = 1; k < 10; k++) c.send(req + 0.0011 + k * 0.00001, 's', 'b'.repeat(FULL));
  c.ack(req + 0.006, 'c', { ack: acked });
  const backoff = [0.2, 0.6, 1.4, 3.0, 6.2];
  for (let k = 0; k < s.resends; k++) {
    const at = req + 0.0011 + backoff[k];
    c.sSeq -= 10 * FULL - FULL; // resend the first body segment (the kit resends the last one sent)
    c.resend(at, 's', firstSeg);
    c.sSeq += 10 * FULL - FULL;
    if (s.recovers === true && k === s.resends - 1) c.ack(at + 0.005, 'c');
  }
  if (s.recovers === true) {
    c.close(req + 7, 'c');
    return c;
  }
  if (s.clientSilent === true) return c;
  c.fin(req + 8, 'c', { ack: acked });
  expect(afterFirst).toBeGreaterThan(acked);
  return c;
}

describe('pmtu-blackhole on synthetic connections', () => {
  test('captured at the server: the same full-size segment resent at RTO backoff, never acknowledged, smaller ones were: a PMTU black hole, and no response-abandoned', () => {
    const cap = new Capture();
    for (const t of [0, 10, 20]) serverSide(cap, t, { resends: 5 });
    const r = cap.analyze(both);
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(3);
    expect(found[0].severity).toBe('error');
    expect(found[0].evidence).toMatchObject({
      request: 'GET /big', lostDirection: 'server-to-client', seenAs: 'resent', lostSegmentBytes: FULL, largestPassedSegmentBytes: head(200).length + 200,
      mssOffered: MSS, bytesNeverAcknowledged: 10 * FULL, resends: 5, closedBy: 'client', closedWith: 'FIN', clientWaited: 8,
    });
    expect(found[0].summary).toContain('resent its 1448-byte segment 5 times');
    // The client's timer ended waits for data the path dropped: no abandoned response is blamed on the server.
    expect(ofKind(r, 'response-abandoned')).toEqual([]);
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.count).toBe(3);
    expect(d.explanation).toContain('PMTU black hole');
    expect(d.explanation).toContain('8 s after the request');
    expect(d.remedy).toContain('maxseg size set rt mtu');
    expect(d.remedy).toContain('tcp_mtu_probing=1');
    expect(d.remedy).toContain('ICMP type 3 code 4');
  });

  test('random loss: a segment resent once or three times and then acknowledged stays silent', () => {
    for (const resends of [1, 3]) {
      const cap = new Capture();
      serverSide(cap, 0, { resends, recovers: true });
      expect(ofKind(cap.analyze(both), KIND)).toEqual([]);
    }
  });

  test('two resends only (a short timeout or ordinary loss) are no black hole', () => {
    const cap = new Capture();
    serverSide(cap, 0, { resends: 2 });
    expect(ofKind(cap.analyze([pmtuBlackhole]), KIND)).toEqual([]);
  });

  test('full-size segments had got through on this connection before: the path is not dropping large segments', () => {
    const cap = new Capture();
    serverSide(cap, 0, { resends: 5, largeBefore: true });
    expect(ofKind(cap.analyze([pmtuBlackhole]), KIND)).toEqual([]);
  });

  test('the client sent nothing once the resends began (a dead path or host): no black hole is claimed', () => {
    const cap = new Capture();
    serverSide(cap, 0, { resends: 5, clientSilent: true });
    expect(ofKind(cap.analyze([pmtuBlackhole]), KIND)).toEqual([]);
  });
});

/**
 * Captured at the client: the response head arrives, the body's full-size segments never do; the
 * client gives up 8 s after its request (FIN) and the server's ACK of that FIN carries a sequence
 * number past the 10 segments. `arrives`: the body comes after all (retransmitted), 2 s late.
 */
function clientSide(cap: Capture, t: number, arrives = false, largest = 200): Conn {
  const c = cap.connection({ sport: 8080 });
  handshake(cap, c, t);
  c.request(t + 0.02, get('/small')).response(t + 0.025, `${head(largest)}${'s'.repeat(largest)}`);
  const req = t + 0.05;
  c.request(req, get('/big'));
  c.response(req + 0.006, head(10 * FULL));
  if (arrives) {
    for (let k = 0; k < 10; k++) c.send(req + 2 + k * 0.0001, 's', 'b'.repeat(FULL));
    c.ack(req + 2.01, 'c');
    c.close(req + 3, 'c');
    return c;
  }
  const got = c.sSeq;
  c.unseen('s', 'b'.repeat(10 * FULL));
  c.fin(req + 8, 'c', { ack: got });
  c.ack(req + 8.006, 's');
  return c;
}

describe('pmtu-blackhole captured at the client', () => {
  test('a later small segment of the server proves bytes sent that never arrived, nothing full-size ever did: a black hole seen from the client', () => {
    const cap = new Capture();
    clientSide(cap, 0);
    const r = cap.analyze(both);
    const [f] = ofKind(r, KIND);
    expect(f.evidence).toMatchObject({ seenAs: 'never-arrived', lostSegmentBytes: null, mssOffered: MSS, bytesNeverAcknowledged: 10 * FULL, resends: 0, clientWaited: 8 });
    expect(f.summary).toContain(`${10 * FULL} bytes the server sent never arrived`);
  });

  test('the head went in the dropped segments too (nginx writes head and body together): a black hole, not an unanswered request whose server "hung"', () => {
    const cap = new Capture();
    const c = cap.connection({ sport: 8080 });
    handshake(cap, c, 0);
    c.request(0.02, get('/small')).response(0.025, small());
    c.request(0.05, get('/big'), { noAck: true });
    const got = c.sSeq;
    c.unseen('s', `${head(10 * FULL)}${'b'.repeat(10 * FULL)}`);
    // The server's ACK of the request carries its sequence number past the response that never came.
    c.ack(0.055, 's');
    c.fin(8.05, 'c', { ack: got });
    c.ack(8.056, 's');
    const r = cap.analyze([unansweredRequest, pmtuBlackhole]);
    expect(ofKind(r, 'unanswered-request')).toEqual([]);
    expect(ofKind(r, KIND)).toHaveLength(1);
    expect(ofKind(r, KIND)[0].evidence).toMatchObject({ seenAs: 'never-arrived', largestPassedSegmentBytes: small().length, clientWaited: 8 });
  });

  test('the body arrived late (recovered loss), or full-size segments had arrived: silent', () => {
    const late = new Capture();
    clientSide(late, 0, true);
    expect(ofKind(late.analyze([pmtuBlackhole]), KIND)).toEqual([]);
    const large = new Capture();
    clientSide(large, 0, false, 1600);
    expect(ofKind(large.analyze([pmtuBlackhole]), KIND)).toEqual([]);
  });
});

/**
 * Captured at the client, a new connection's first request (blind round 13, S12: curl fetching
 * nginx's 200 kB file through a router with MTU 1000 that drops ICMP "fragmentation needed"): the
 * server ACKs the request, its response (head and body together) leaves in full-size segments that
 * never arrive, and the client gives up `waited` s after its request (FIN). `answered`: what the
 * server's ACK of that FIN shows: 'lost' (its sequence number past the 11 segments it sent), 'hung'
 * (nothing sent: the application never answered), or 'late' (the response arrives 2 s late, resent).
 */
function firstResponseUnseen(answered: 'lost' | 'hung' | 'late', waited = 6): Capture {
  const cap = new Capture();
  const c = cap.connection({ sport: 8080 });
  handshake(cap, c, 0);
  const req = 0.02;
  c.request(req, get('/mid.bin'));
  const got = c.sSeq;
  if (answered === 'late') {
    c.send(req + 2, 's', `${head(2 * FULL)}${'b'.repeat(FULL - head(2 * FULL).length)}`);
    c.send(req + 2.0001, 's', 'b'.repeat(FULL));
    c.ack(req + 2.001, 'c');
    c.close(req + 3, 'c');
    return cap;
  }
  if (answered === 'lost') c.unseen('s', `${head(200_000)}${'b'.repeat(11 * FULL - head(200_000).length)}`);
  c.fin(req + waited, 'c', { ack: got });
  c.ack(req + waited + 0.0001, 's');
  return cap;
}

describe('pmtu-blackhole captured at the client, no data of the server ever arrived', () => {
  test('the server\'s ACK of the client\'s FIN carries a sequence number 15928 bytes past the handshake: a black hole, not unanswered-request blaming the server (blind round 13, S12)', () => {
    const r = firstResponseUnseen('lost').analyze([unansweredRequest, pmtuBlackhole]);
    expect(ofKind(r, 'unanswered-request')).toEqual([]);
    const [f, ...rest] = ofKind(r, KIND);
    expect(rest).toEqual([]);
    expect(f.evidence).toMatchObject({ seenAs: 'never-arrived', largestPassedSegmentBytes: 0, mssOffered: MSS, bytesNeverAcknowledged: 11 * FULL, closedBy: 'client', clientWaited: 6 });
    expect(f.summary).toContain(`GET /mid.bin: ${11 * FULL} bytes the server sent never arrived`);
    expect(f.summary).toContain('no data segment of its came through');
    expect(r.diagnoses.find((d) => d.kind === KIND)!.explanation).toContain('no data segment of its came through');
  });

  test('near misses: a hung server (its ACK of the FIN at the handshake\'s sequence), a response that arrived late, a proof within 1 s of the handshake: no black hole, the hung server blamed', () => {
    const hung = firstResponseUnseen('hung').analyze([unansweredRequest, pmtuBlackhole]);
    expect(ofKind(hung, KIND)).toEqual([]);
    const [u] = ofKind(hung, 'unanswered-request');
    expect(u.summary).toContain('the server ACKed it');
    expect(ofKind(firstResponseUnseen('late').analyze([unansweredRequest, pmtuBlackhole]), KIND)).toEqual([]);
    expect(ofKind(firstResponseUnseen('lost', 0.5).analyze([pmtuBlackhole]), KIND)).toEqual([]);
  });
});

describe('recorded', () => {
  // Before: response-abandoned blamed the Python server ("stops sending right after the start of
  // these responses"), counting 18824 body bytes received on the server side, and on the client side
  // unanswered-request said nginx's application hung (its head went in the dropped segments).
  test.each([
    ['pmtu-blackhole-server-side', 'resent'],
    ['pmtu-blackhole-client-side', 'never-arrived'],
  ])('%s: five black holes (3 Python, 2 nginx), curl gave up at 8 s; no server blamed', async (name, seen) => {
    const r = await analyzeSample(name);
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(5);
    for (const f of found) {
      expect(f.evidence).toMatchObject({ seenAs: seen, mssOffered: 1460, closedBy: 'client' });
      expect(f.evidence.clientWaited).toBeCloseTo(8, 1);
      if (seen === 'resent') expect(f.evidence.lostSegmentBytes).toBe(1448);
    }
    expect(found.map((f) => f.evidence.largestPassedSegmentBytes).sort()).toEqual([200, 200, 200, 438, 438]);
    expect(r.anomalies.filter((f) => f.kind !== KIND)).toEqual([]);
  });
});

describe('recorded, new connections (blind round 13, S12)', () => {
  // Before: unanswered-request said nginx's application hung ("the server ACKed it") on /big,
  // whose response never showed a byte at the client; the hung server on :8080 was told the same.
  test('pmtu-blackhole-new-connection-client-side: /big is the path\'s (15928 bytes proven sent), /hang the hung server\'s', async () => {
    const r = await analyzeSample('pmtu-blackhole-new-connection-client-side');
    const [f, ...rest] = ofKind(r, KIND);
    expect(rest).toEqual([]);
    expect(f.server).toBe('10.55.2.2:8081');
    expect(f.evidence).toMatchObject({ request: 'GET /big', seenAs: 'never-arrived', largestPassedSegmentBytes: 0, mssOffered: 1460, bytesNeverAcknowledged: 15928, closedBy: 'client' });
    const hung = ofKind(r, 'unanswered-request');
    expect(hung.map((u) => [u.server, u.evidence.uri, u.evidence.serverAcked])).toEqual([['10.55.2.2:8080', '/hang', true]]);
  });

  test('pmtu-icmp-allowed-client-side: the ICMP let through, the body arrives in 948-byte segments: silent', async () => {
    const r = await analyzeSample('pmtu-icmp-allowed-client-side');
    expect(r.anomalies).toEqual([]);
  });
});

describe('pmtu-blackhole: the very first data segment of a new connection, full-size', () => {
  /**
   * Captured at the server: GET /big as a new connection's first request, answered at once in
   * full-size segments (its head in the first); the first is resent at RTO backoff `resends` times.
   */
  function firstSegmentLost(resends: number, recovers: boolean): Capture {
    const cap = new Capture();
    const c = cap.connection({ sport: 8080 });
    handshake(cap, c, 0);
    const req = 0.02;
    c.request(req, get('/big'));
    const acked = c.sSeq;
    const firstSeg = `${head(10 * FULL)}${'b'.repeat(FULL - head(10 * FULL).length)}`;
    c.send(req + 0.001, 's', firstSeg, { ack: c.cSeq });
    for (let k = 1; k < 10; k++) c.send(req + 0.001 + k * 0.00001, 's', 'b'.repeat(FULL));
    const backoff = [0.2, 0.6, 1.4, 3.0, 6.2];
    for (let k = 0; k < resends; k++) {
      c.sSeq -= 9 * FULL; // resend the first segment
      c.resend(req + 0.001 + backoff[k], 's', firstSeg);
      c.sSeq += 9 * FULL;
      if (recovers && k === resends - 1) c.ack(req + 0.005 + backoff[k], 'c');
    }
    if (recovers) c.close(req + 7, 'c');
    else c.fin(req + 8, 'c', { ack: acked });
    return cap;
  }

  test('resent at RTO backoff, never acknowledged, only the handshake passed: a PMTU black hole (blind round 11: nginx downloads on new connections went unreported at the server)', () => {
    const r = firstSegmentLost(5, false).analyze(both);
    const [f, ...rest] = ofKind(r, KIND);
    expect(rest).toEqual([]);
    expect(f.summary).toContain('the server resent its first 1448-byte segment 5 times');
    expect(f.summary).toContain("while the handshake's small packets passed");
    expect(f.evidence).toMatchObject({ largestPassedSegmentBytes: 0, resends: 5 });
    expect(r.diagnoses.find((d) => d.kind === KIND)!.explanation).toContain('the first segment of each connection was full-size');
  });

  test('near misses: the first segment recovered after resends, or resent only twice: silent', () => {
    expect(ofKind(firstSegmentLost(3, true).analyze(both), KIND)).toEqual([]);
    expect(ofKind(firstSegmentLost(2, false).analyze(both), KIND)).toEqual([]);
  });
});

/**
 * Captured at the client, python's http.server (HTTP/1.0) answering GET /run.sh through the black
 * hole (blind round 14, scene 6): its head arrives in a small segment of its own, the body leaves in
 * one full-size segment (`lost` bytes) that never arrives and a small tail (`tail` bytes) that does,
 * the server's FIN right behind; the client acknowledges only the head, gives up `waited` s after its
 * request (FIN), and the server ACKs that FIN. `tail` 0: the body was that one segment, only the FIN
 * arrived past it. `headInHole`: the head left in the dropped segment too, no data arrived at all.
 * `recovered`: the server's resend arrives 0.3 s later (random loss; the client reads it and closes).
 */
function oneSegmentBody(o: { lost?: number; tail?: number; waited?: number; recovered?: boolean; headInHole?: boolean } = {}): Capture {
  const lost = o.lost ?? FULL;
  const tail = o.tail ?? 89;
  const waited = o.waited ?? 5;
  const cap = new Capture();
  const c = cap.connection({ sport: 8000 });
  handshake(cap, c, 0);
  const req = 0.02;
  c.request(req, get('/run.sh'));
  const top = `HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6 Python/3.11.2\r\nContent-Length: ${(o.headInHole === true ? lost - 60 : lost) + tail}\r\n\r\n`;
  if (o.headInHole !== true) c.send(req + 0.001, 's', top).ack(req + 0.0011, 'c');
  const got = c.sSeq;
  const dropped = o.headInHole === true ? `${top}${'b'.repeat(lost - top.length)}` : 'b'.repeat(lost);
  c.unseen('s', dropped);
  if (tail > 0) c.send(req + 0.0012, 's', 't'.repeat(tail));
  c.fin(req + 0.0013, 's');
  c.ack(req + 0.0014, 'c', { ack: got });
  if (o.recovered === true) {
    const end = c.sSeq;
    c.sSeq = got;
    c.send(req + 0.3, 's', dropped);
    c.sSeq = end;
    c.ack(req + 0.3001, 'c');
    c.fin(req + 0.31, 'c');
    c.ack(req + 0.3101, 's');
    return cap;
  }
  c.fin(req + waited, 'c', { ack: got });
  c.ack(req + waited + 0.0001, 's');
  return cap;
}

describe('pmtu-blackhole captured at the client, the bytes proven sent by data or a FIN that arrived past them', () => {
  // Before: nothing at all (blind round 14, scene 6, cli_blackhole.pcap :34756): the stream was
  // given up past the 1448-byte hole when the connection ended, so the server's later ACK no longer
  // lay beyond the bytes that arrived, and the hole itself was not looked at.
  test('a one-segment body dropped, its small tail and the server\'s FIN arrived, the client gave up 5 s later: a black hole, the client\'s close the one that ended the wait', () => {
    const r = oneSegmentBody().analyze([unansweredRequest, responseAbandoned, pmtuBlackhole]);
    const [f, ...rest] = ofKind(r, KIND);
    expect(rest).toEqual([]);
    expect(f.evidence).toMatchObject({ request: 'GET /run.sh', seenAs: 'never-arrived', mssOffered: MSS, bytesNeverAcknowledged: FULL, closedBy: 'client', clientWaited: 5 });
    expect(f.evidence.largestPassedSegmentBytes).toBeGreaterThanOrEqual(89);
    expect(f.evidence.largestPassedSegmentBytes).toBeLessThan(200);
    expect(f.summary).toContain(`GET /run.sh: ${FULL} bytes the server sent never arrived`);
    expect(r.diagnoses.find((d) => d.kind === KIND)!.explanation).toContain('The client gave up on it 5 s after the request');
    expect(r.anomalies.filter((a) => a.kind !== KIND)).toEqual([]);
  });

  test('the body exactly one full-size segment, the FIN the only packet past it; or the head in it too, nothing but the FIN arrived: a black hole', () => {
    const fin = oneSegmentBody({ tail: 0 }).analyze([unansweredRequest, responseAbandoned, pmtuBlackhole]);
    expect(ofKind(fin, KIND).map((f) => [f.evidence.bytesNeverAcknowledged, f.evidence.clientWaited])).toEqual([[FULL, 5]]);
    expect(fin.anomalies.filter((a) => a.kind !== KIND)).toEqual([]);
    const none = oneSegmentBody({ tail: 0, headInHole: true }).analyze([unansweredRequest, responseAbandoned, pmtuBlackhole]);
    const [f, ...rest] = ofKind(none, KIND);
    expect(rest).toEqual([]);
    expect(f.evidence).toMatchObject({ largestPassedSegmentBytes: 0, bytesNeverAcknowledged: FULL, clientWaited: 5 });
    expect(f.summary).toContain('no data segment of its came through');
    expect(none.anomalies.filter((a) => a.kind !== KIND)).toEqual([]);
  });

  test('near misses: the segment resent and arrived 0.3 s later, a hole smaller than a full-size segment, the client gone within 1 s: no black hole', () => {
    expect(ofKind(oneSegmentBody({ recovered: true }).analyze([pmtuBlackhole]), KIND)).toEqual([]);
    expect(ofKind(oneSegmentBody({ lost: 600 }).analyze([pmtuBlackhole]), KIND)).toEqual([]);
    expect(ofKind(oneSegmentBody({ waited: 0.5 }).analyze([pmtuBlackhole]), KIND)).toEqual([]);
  });
});
