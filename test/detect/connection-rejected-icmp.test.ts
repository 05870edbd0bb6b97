/**
 * connection-rejected-icmp: a SYN answered by an ICMP error quoting it (and no SYN-ACK) is a
 * rejection on the way, told with its sender and the client's errno; syn-unanswered stays silent
 * on it. A dropped SYN, an error quoting something else than the ISN, and an error on an
 * established connection are not rejections.
 */
import { DETECTORS } from '../../src/detect/registry';
import { buildIcmpError, buildIpPacket, buildTcpPacket, buildTcpSegment, TCP_SYN } from '../helpers/packet-builder';
import { analyzeSample, listSamples } from '../samples';
import { Capture, ofKind } from './reuse-kit';

const KIND = 'connection-rejected-icmp';
const CLIENT = '10.77.0.1';
const SERVER = '10.77.1.2';
const ISN = 1_000_000;

/** A client SYN at `ts` (its ISN), and the IP datagram an ICMP error would quote. */
function syn(cap: Capture, ts: number, cport: number, server = SERVER, client = CLIENT, seq = ISN): Uint8Array {
  const spec = { src: client, dst: server, sport: cport, dport: 8080, seq, flags: TCP_SYN };
  cap.add(ts, buildTcpPacket(spec));
  return buildIpPacket({ src: client, dst: server }, 6, buildTcpSegment(spec, client, server));
}

describe('connection-rejected-icmp: synthetic captures', () => {
  test('a SYN answered by port unreachable from a router: rejected, ECONNREFUSED, no syn-unanswered', () => {
    const cap = new Capture();
    const quoted = syn(cap, 0, 40000);
    cap.add(0.0001, buildIcmpError({ from: '10.77.0.254', to: CLIENT, quoted, quoteBytes: 28 }));
    const r = cap.analyze(DETECTORS);
    const [f, ...rest] = ofKind(r, KIND);
    expect(rest).toEqual([]);
    expect(f.server).toBe(`${SERVER}:8080`);
    expect(f.evidence).toMatchObject({ icmpFrom: '10.77.0.254', icmpSender: 'path', icmpType: 3, icmpCode: 3, icmp: 'port unreachable', clientError: 'ECONNREFUSED', synsSent: 1, icmpErrors: 1 });
    expect(f.frames).toEqual([1, 2]);
    expect(f.summary).toContain('ECONNREFUSED');
    expect(ofKind(r, 'syn-unanswered')).toEqual([]);
    expect(r.stats.icmpErrors).toEqual({ toConnections: 1, unmatched: 0 });
    expect(r.diagnoses.find((d) => d.kind === KIND)?.remedy).toContain('REJECT');
  });

  test('from the server host itself, and host unreachable: the sender and errno follow', () => {
    const cap = new Capture();
    cap.add(0.0001, buildIcmpError({ from: SERVER, to: CLIENT, quoted: syn(cap, 0, 40000) }));
    cap.add(1.0001, buildIcmpError({ from: '10.77.0.254', to: CLIENT, code: 1, quoted: syn(cap, 1, 40001) }));
    const found = ofKind(cap.analyze(DETECTORS), KIND);
    expect(found.map((f) => [f.evidence.icmpSender, f.evidence.clientError])).toEqual([['server-host', 'ECONNREFUSED'], ['path', 'EHOSTUNREACH']]);
  });

  test('host unreachable from the server\'s own address 3 s after the SYN: the address forwards to a host that did not answer ARP, not a rule on it', () => {
    // Blind round 17, s06: a DNAT on 10.17.1.1:8081 to an absent backend; the router's ARP fails for
    // 3 s, then it answers host unreachable in the DNAT'ed address's name.
    const cap = new Capture();
    const quoted = syn(cap, 0, 40000);
    syn(cap, 1.01, 40000);
    cap.add(3.05, buildIcmpError({ from: SERVER, to: CLIENT, code: 1, quoted }));
    const d = cap.analyze(DETECTORS).diagnoses.find((x) => x.kind === KIND);
    expect(d?.explanation).toContain(`no rule answers that late, and no host fails to reach itself, so ${SERVER} forwards these connections`);
    expect(d?.explanation).not.toContain('a rule on its host');
    expect(d?.remedy).toMatch(/^Find where 10\.77\.1\.2 forwards connections to port 8080/);
  });

  test('near miss: host unreachable from the server\'s own address at once is a rule on its host', () => {
    const cap = new Capture();
    cap.add(0.0002, buildIcmpError({ from: SERVER, to: CLIENT, code: 1, quoted: syn(cap, 0, 40000) }));
    const d = cap.analyze(DETECTORS).diagnoses.find((x) => x.kind === KIND);
    expect(d?.explanation).toContain('a rule on its host');
    expect(d?.remedy).not.toContain('forwards connections');
  });

  test('IPv6: a SYN resent after an error its connect did not act on, then failed on the second', () => {
    const cap = new Capture();
    const quoted = syn(cap, 0, 40000, 'fd77:1::2', 'fd77::1');
    cap.add(0.0001, buildIcmpError({ from: 'fd77::fe', to: 'fd77::1', type: 1, code: 1, quoted }));
    syn(cap, 1.03, 40000, 'fd77:1::2', 'fd77::1');
    cap.add(1.0301, buildIcmpError({ from: 'fd77::fe', to: 'fd77::1', type: 1, code: 1, quoted }));
    const r = cap.analyze(DETECTORS);
    const [f, ...rest] = ofKind(r, KIND);
    expect(rest).toEqual([]);
    expect(f.evidence).toMatchObject({ icmpVersion: 'ICMPv6', clientError: 'EACCES', synsSent: 2, icmpErrors: 2, rejectedAfter: 1.03 });
    expect(ofKind(r, 'syn-unanswered')).toEqual([]);
  });

  test('near miss: SYNs dropped (no ICMP) stay syn-unanswered', () => {
    const cap = new Capture();
    syn(cap, 0, 40000);
    syn(cap, 1, 40000);
    syn(cap, 3, 40000);
    const r = cap.analyze(DETECTORS);
    expect(ofKind(r, KIND)).toEqual([]);
    expect(ofKind(r, 'syn-unanswered')).toHaveLength(1);
  });

  test('an error quoting another sequence number than the ISN is not acted on: the SYN retries are syn-unanswered', () => {
    const cap = new Capture();
    syn(cap, 0, 40000);
    const stale = buildIpPacket({ src: CLIENT, dst: SERVER }, 6, buildTcpSegment({ sport: 40000, dport: 8080, seq: ISN + 5000, flags: TCP_SYN }, CLIENT, SERVER));
    cap.add(0.0001, buildIcmpError({ from: '10.77.0.254', to: CLIENT, quoted: stale }));
    syn(cap, 1, 40000);
    syn(cap, 3, 40000);
    const r = cap.analyze(DETECTORS);
    expect(ofKind(r, KIND)).toEqual([]);
    expect(ofKind(r, 'syn-unanswered')).toHaveLength(1);
  });

  test('an ICMP error on an established connection is not reported (a soft error to TCP)', () => {
    const cap = new Capture();
    const conn = cap.connection({ client: CLIENT, server: SERVER, sport: 8080, isn: ISN - 1 });
    conn.handshake(0).send(0.01, 'c', 'GET / HTTP/1.1\r\nHost: x\r\n\r\n').send(0.02, 's', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    const quoted = buildIpPacket({ src: CLIENT, dst: SERVER }, 6, buildTcpSegment({ sport: conn.cport, dport: 8080, seq: conn.cSeq, flags: 0x18 }, CLIENT, SERVER));
    cap.add(0.5, buildIcmpError({ from: '10.77.0.254', to: CLIENT, code: 1, quoted }));
    const r = cap.analyze(DETECTORS);
    expect(ofKind(r, KIND)).toEqual([]);
    expect(r.stats.icmpErrors).toEqual({ toConnections: 1, unmatched: 0 });
  });

  test('an error naming no tracked connection is counted only', () => {
    const cap = new Capture();
    const quoted = buildIpPacket({ src: CLIENT, dst: SERVER }, 6, buildTcpSegment({ sport: 1, dport: 2, seq: 3, flags: TCP_SYN }, CLIENT, SERVER));
    cap.add(0, buildIcmpError({ from: '10.77.0.254', to: CLIENT, quoted }));
    const r = cap.analyze(DETECTORS);
    expect(r.anomalies).toEqual([]);
    expect(r.stats.icmpErrors).toEqual({ toConnections: 0, unmatched: 1 });
    expect(r.stats.notTcp).toBe(1);
    expect(r.stats.decodeIssues).toEqual({ 'icmp-error': 1 });
  });
});

const sample = listSamples().find((s) => s.name === 'connection-rejected-icmp');
(sample ? describe : describe.skip)('connection-rejected-icmp: recorded sample', () => {
  test('16 rejected attempts (4 ports, 2 families, curl and python) at the router and the server host; the dropped port stays syn-unanswered', async () => {
    const r = await analyzeSample('connection-rejected-icmp');
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(16);
    expect(new Set(found.map((f) => f.server.replace(/.*:/, '')))).toEqual(new Set(['8080', '8081', '8082', '8085']));
    // Port 8085 is rejected by the server's own host, both families, curl and python each.
    expect(found.filter((f) => f.evidence.icmpSender === 'server-host').map((f) => f.server.replace(/.*:/, ''))).toEqual(['8085', '8085', '8085', '8085']);
    expect(ofKind(r, 'syn-unanswered').every((f) => f.server.endsWith(':8083'))).toBe(true);
  });
});
