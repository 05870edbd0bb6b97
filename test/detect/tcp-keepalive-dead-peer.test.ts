import { tcpKeepaliveDeadPeer } from '../../src/detect/detectors/tcp-keepalive-dead-peer';
import { EndpointSummary } from '../../src/report/endpoint-summary';
import type { AnalysisResult } from '../../src/analyze';
import { Capture, Conn, ofKind, T0 } from './reuse-kit';

const KIND = 'tcp-keepalive-dead-peer';
const only = [tcpKeepaliveDeadPeer];

/** One answered exchange at 0, then the connection idle (as a pooled one is). */
function idleConnection(cap: Capture): Conn {
  return cap.connection().handshake(0).exchange(0.001);
}

/** `n` probes from `from`, the first `idle` s after the exchange's last packet, `interval` s apart, none answered. */
function unansweredProbes(conn: Conn, from: 'c' | 's', n: number, idle = 2, interval = 1, withByte = false): number {
  // The exchange's last packet (the client's ACK of the response) is at 0.0021.
  const first = 0.0021 + idle;
  for (let i = 0; i < n; i++) conn.keepAliveProbe(first + i * interval, from, withByte);
  return first + (n - 1) * interval;
}

function serverResets(r: AnalysisResult): number {
  const summary = new EndpointSummary();
  for (const f of r.flows) summary.addFlow(f);
  return summary.top(10).reduce((n, e) => n + e.resets, 0);
}

describe('tcp-keepalive-dead-peer on synthetic connections', () => {
  test("the client's probes go unanswered and it resets: the server or the path is gone, the client noticed (blind round 15, s04b)", () => {
    const cap = new Capture();
    const conn = idleConnection(cap);
    const last = unansweredProbes(conn, 'c', 3);
    conn.rstAck(last + 1, 'c');
    const r = cap.analyze(only);
    const [f, ...rest] = ofKind(r, KIND);
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ client: conn.clientName, server: conn.serverName, severity: 'warning' });
    expect(f.ts).toBeCloseTo(T0 + last + 1, 6);
    expect(f.evidence).toMatchObject({
      detectedBy: 'client', blame: 'server or path', keepAliveProbes: 3, probeInterval: 1, idleBeforeFirstProbe: 2, resetAfterLastProbe: 1,
    });
    // Handshake 1-3, exchange 4-7, probes 8-10, RST 11.
    expect(f.frames).toEqual([8, 10, 11]);
    expect(f.summary).toContain("the client's TCP keep-alive gave up on the connection: after 2 s idle it sent 3 keep-alive probes 1 s apart that the server never answered");
    expect(f.summary).toContain('TCP_KEEPIDLE ≈ 2 s');
    expect(f.summary).toContain('not a fault of the client');
    expect(r.flows[0].keepAliveGaveUp).toBe('client');
    const [d] = r.diagnoses.filter((x) => x.kind === KIND);
    expect(d.inferred).toMatchObject({ clientTcpKeepAliveIdle: { value: 2 }, clientTcpKeepAliveInterval: { value: 1 } });
  });

  test("the server's probes go unanswered and it resets: not a server reset in the endpoint table (blind round 15, s14)", () => {
    const cap = new Capture();
    const conn = idleConnection(cap);
    const last = unansweredProbes(conn, 's', 3);
    conn.rstAck(last + 1, 's');
    const r = cap.analyze(only);
    const [f] = ofKind(r, KIND);
    expect(f.evidence).toMatchObject({ detectedBy: 'server', blame: 'client or path', keepAliveProbes: 3 });
    expect(f.summary).toContain('not a fault of the server');
    expect(r.flows[0]).toMatchObject({ state: 'RSTR', keepAliveGaveUp: 'server' });
    expect(serverResets(r)).toBe(0);
  });

  test('probes carrying one garbage byte (older Windows), and a single probe before the RST', () => {
    const cap = new Capture();
    const a = idleConnection(cap);
    a.rstAck(unansweredProbes(a, 'c', 2, 10, 1, true) + 1, 'c');
    const b = cap.connection({ cport: 40002 }).handshake(0).exchange(0.001);
    b.rstAck(unansweredProbes(b, 'c', 1, 7) + 0.5, 'c');
    // In the order of their resets (b's at 9.5 s, a's at 13 s).
    const found = ofKind(cap.analyze(only), KIND);
    expect(found.map((f) => [f.client, f.evidence.keepAliveProbes, f.evidence.probeInterval, f.evidence.idleBeforeFirstProbe])).toEqual([
      [b.clientName, 1, 0.5, 7],
      [a.clientName, 2, 1, 10],
    ]);
  });

  test('silent: every probe answered, the connection reused and closed (blind round 15, s04a)', () => {
    const cap = new Capture();
    const conn = idleConnection(cap);
    for (let i = 0; i < 3; i++) conn.keepAliveProbe(2 + i, 'c').ack(2.0001 + i, 's');
    conn.exchange(5.5).close(6, 'c');
    const r = cap.analyze(only);
    expect(ofKind(r, KIND)).toEqual([]);
    expect(r.flows[0].keepAliveGaveUp).toBeUndefined();
  });

  test('silent: probes answered, then an ordinary reset by the server', () => {
    const cap = new Capture();
    const conn = idleConnection(cap);
    for (let i = 0; i < 3; i++) conn.keepAliveProbe(2 + i, 's').ack(2.0001 + i, 'c');
    conn.rstAck(6, 's');
    const r = cap.analyze(only);
    expect(ofKind(r, KIND)).toEqual([]);
    expect(serverResets(r)).toBe(1);
  });

  test('silent: an ordinary reset without probes, and one after the prober sent data again', () => {
    const cap = new Capture();
    idleConnection(cap).rstAck(5, 's');
    const b = cap.connection({ cport: 40002 }).handshake(0).exchange(0.001);
    unansweredProbes(b, 'c', 2);
    b.send(4.5, 'c', 'GET /again HTTP/1.1\r\nHost: x\r\n\r\n').rstAck(5.5, 'c');
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  test('silent: an empty ACK one behind, 5 ms after the last packet, then a RST 30 ms later: no keep-alive timer is that quick', () => {
    const cap = new Capture();
    const conn = idleConnection(cap);
    conn.keepAliveProbe(0.007, 'c').rstAck(0.037, 'c');
    const b = cap.connection({ cport: 40002 }).handshake(0).exchange(0.001);
    b.rstAck(unansweredProbes(b, 'c', 3, 2, 0.2) + 1, 'c');
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  test("silent: the peer answers a probe with its own RST (a rebooted host, a NAT that says so): the peer's reset", () => {
    const cap = new Capture();
    const conn = idleConnection(cap);
    unansweredProbes(conn, 'c', 1);
    conn.rst(2.01, 's');
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });
});
