/**
 * unanswered-request seen from the client, where the path may have dropped the answer unseen (blind
 * round 13, S12): when no packet of the server's after the client gave up shows its sequence number,
 * and every server segment that reached that client host stayed well below the MSS it offered
 * though responses spanned several, the diagnosis names a PMTU black hole as a cause to rule out.
 */
import { pmtuBlackhole } from '../../src/detect/detectors/pmtu-blackhole';
import { unansweredRequest } from '../../src/detect/detectors/unanswered-request';
import { buildTcpPacket, TCP_ACK, TCP_SYN, tcpOption } from '../helpers/packet-builder';
import { Capture, Conn, get, ofKind } from './reuse-kit';

const MSS = 1460;

function handshake(cap: Capture, c: Conn, ts: number): void {
  const opt = [tcpOption.mss(MSS)];
  cap.add(ts, buildTcpPacket({ src: c.client, dst: c.server, sport: c.cport, dport: c.sport, seq: (c.cSeq - 1) >>> 0, ack: 0, flags: TCP_SYN, options: opt }));
  cap.add(ts + 0.005, buildTcpPacket({ src: c.server, dst: c.client, sport: c.sport, dport: c.cport, seq: (c.sSeq - 1) >>> 0, ack: c.cSeq >>> 0, flags: TCP_SYN | TCP_ACK, options: opt }));
  c.ack(ts + 0.01, 'c');
}

/**
 * A download of 6 segments of `segment` payload bytes on one connection, then, on another, GET /big
 * that the server ACKs and never answers as far as the client sees; the client gives up 6 s later
 * with `close`: 'rst' (nothing of the server's after it), 'fin-hung' (the server's ACK of the FIN
 * at the sequence number of its SYN-ACK: it sent nothing).
 */
function scene(segment: number, close: 'rst' | 'fin-hung'): Capture {
  const cap = new Capture();
  const a = cap.connection({ cport: 40001, sport: 8080 });
  handshake(cap, a, 0);
  a.request(0.02, get('/page'));
  // Six full segments: the head and the body's start, then five of body (a 4-digit length either way).
  const headFor = (n: number): string => `HTTP/1.1 200 OK\r\nContent-Length: ${n}\r\n\r\n`;
  const head = headFor(6 * segment - headFor(6 * segment).length);
  a.send(0.03, 's', `${head}${'p'.repeat(segment - head.length)}`);
  for (let k = 1; k < 6; k++) a.send(0.03 + k * 0.0001, 's', 'p'.repeat(segment));
  a.ack(0.031, 'c');
  a.close(0.5, 'c');
  const b = cap.connection({ cport: 40002, sport: 8080 });
  handshake(cap, b, 1);
  b.request(1.02, get('/big'));
  if (close === 'rst') b.rstAck(7.02, 'c');
  else {
    b.fin(7.02, 'c');
    b.ack(7.025, 's');
  }
  return cap;
}

describe('unanswered-request: a path that capped the server\'s segments below the MSS, the answer unseen', () => {
  test('948-byte segments only (MSS 1460 offered) and the client reset: the diagnosis names a PMTU black hole to rule out, with the sizes and the remedies', () => {
    const r = scene(948, 'rst').analyze([unansweredRequest, pmtuBlackhole]);
    expect(ofKind(r, 'pmtu-blackhole')).toEqual([]);
    const [f] = ofKind(r, 'unanswered-request');
    expect(f.evidence).toMatchObject({ uri: '/big', serverAcked: true, closedBy: 'client' });
    const d = r.diagnoses.find((x) => x.kind === 'unanswered-request')!;
    expect(d.explanation).toContain('The path may be to blame instead: no segment 10.0.0.2 sent 10.0.0.1 in the capture carried more than 948 bytes');
    expect(d.explanation).toContain("the client's SYN offered MSS 1460");
    expect(d.remedy).toContain('ICMP type 3 code 4');
    expect(d.remedy).toContain('net.ipv4.tcp_mtu_probing=1');
    expect(d.remedy).toMatch(/^Find why/);
  });

  test('near misses: full-size segments reached the client, or the server\'s ACK of the FIN shows it sent nothing (hung): the server alone is blamed', () => {
    for (const cap of [scene(1448, 'rst'), scene(948, 'fin-hung')]) {
      const r = cap.analyze([unansweredRequest, pmtuBlackhole]);
      expect(ofKind(r, 'unanswered-request')).toHaveLength(1);
      const d = r.diagnoses.find((x) => x.kind === 'unanswered-request')!;
      expect(d.explanation).not.toContain('The path may be to blame');
      expect(d.explanation).toContain('its application hung or was too slow');
    }
  });
});
