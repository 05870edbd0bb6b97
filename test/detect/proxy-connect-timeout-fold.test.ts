/**
 * A proxy's connect timeout seen on both legs (blind round 16, chains S17: nginx's
 * proxy_connect_timeout 2 s against a backend whose SYNs were dropped, its 504s relayed by
 * HAProxy): the 504 on the client's leg (gateway-timeout) and the unanswered SYNs of the proxy's
 * connect (syn-unanswered) are one failure. Before: two ERROR diagnoses and 4 errors for 2
 * failures; now the 504's diagnosis lists the SYNs, which are an info naming no diagnosis of their own.
 */
import { DETECTORS } from '../../src/detect/registry';
import { buildTcpPacket, TCP_SYN } from '../helpers/packet-builder';
import { BACKEND, downstream, PROXY } from './proxy-scenes';
import { Capture, get, ofKind, ok } from './reuse-kit';

/** At `at`: the client's request; the proxy's SYN to the backend and its resend 1 s later, both dropped; its 504 at +2 s. */
function connectTimedOut(cap: Capture, at: number, i: number): void {
  const down = downstream(cap);
  down.handshake(at).request(at + 0.001, get(`/b?i=${i}`));
  const port = 50000 + i;
  for (const t of [at + 0.0015, at + 1.0015]) cap.add(t, buildTcpPacket({ src: PROXY, dst: BACKEND, sport: port, dport: 8080, seq: 7000, flags: TCP_SYN }));
  down.response(at + 2.003, ok('upstream timed out', [], 'HTTP/1.1', '504 Gateway Time-out'));
  down.close(at + 2.013, 'c');
}

describe("a proxy's connect timeout: the 504 and its connect's unanswered SYNs are one failure", () => {
  test('one gateway-timeout diagnosis lists both legs; the SYNs are infos naming no diagnosis of their own; 2 errors for 2 failures', () => {
    const cap = new Capture();
    [0, 5].forEach((at, i) => connectTimedOut(cap, at, i));
    const r = cap.analyze(DETECTORS);
    const gateway = ofKind(r, 'gateway-timeout');
    const syns = ofKind(r, 'syn-unanswered');
    expect(gateway.map((f) => f.evidence.upstreamPhase)).toEqual(['connect', 'connect']);
    expect(syns).toHaveLength(2);
    expect(syns.map((f) => f.severity)).toEqual(['info', 'info']);
    expect(syns.map((f) => f.evidence.proxyConnectTimeout)).toEqual([true, true]);
    expect(gateway.map((f) => f.evidence.upstreamFinding)).toEqual(syns.map((f) => f.id));
    expect(r.diagnoses.map((d) => d.kind)).toEqual(['gateway-timeout']);
    const [d] = r.diagnoses;
    expect(d.count).toBe(2);
    expect(d.anomalyIds).toEqual([...gateway.map((f) => f.id), ...syns.map((f) => f.id)]);
    expect(d.explanation).toContain('(syn-unanswered, listed here)');
    expect(r.stats.findingsBySeverity.error).toBe(2);
  });

  test('near miss: the same unanswered SYNs from a client nobody waits on (no 504) stay errors in their own diagnosis', () => {
    const cap = new Capture();
    [0, 5].forEach((at, i) => {
      for (const t of [at + 0.0015, at + 1.0015]) cap.add(t, buildTcpPacket({ src: PROXY, dst: BACKEND, sport: 50000 + i, dport: 8080, seq: 7000, flags: TCP_SYN }));
    });
    cap.add(12, buildTcpPacket({ src: PROXY, dst: BACKEND, sport: 50010, dport: 8081, seq: 1, flags: TCP_SYN }));
    const r = cap.analyze(DETECTORS);
    const syns = ofKind(r, 'syn-unanswered');
    expect(syns.length).toBeGreaterThan(0);
    expect(syns.every((f) => f.severity === 'error' && f.evidence.proxyConnectTimeout === undefined)).toBe(true);
    expect(r.diagnoses.find((d) => d.kind === 'syn-unanswered')?.anomalyIds).toEqual(syns.map((f) => f.id));
  });
});
