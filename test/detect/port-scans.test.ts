import * as path from 'node:path';
import { analyzeFiles } from '../../src/analyze';
import { connectionRefused } from '../../src/detect/detectors/connection-refused';
import { synUnanswered } from '../../src/detect/detectors/syn-unanswered';
import { buildTcpPacket, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../helpers/packet-builder';
import { SAMPLES_DIR } from '../samples';
import { Capture, ofKind } from './reuse-kit';

/** Both detectors, in the registry's order: connection-refused recognises the scan, syn-unanswered hands it its silent probes. */
const both = [connectionRefused, synUnanswered];
const CLIENT = '10.0.0.1';
const SERVER = '10.0.0.2';

type PortState = 'closed' | 'open' | 'filtered';

/** One connect probe (nc -z) to `port` from `sport` at `t`: refused, accepted and closed at once, or never answered. */
function probe(cap: Capture, t: number, sport: number, port: number, state: PortState): void {
  const c = (dt: number, flags: number, seq: number, ack = 0): void =>
    cap.add(t + dt, buildTcpPacket({ src: CLIENT, dst: SERVER, sport, dport: port, seq, ack, flags }));
  const s = (dt: number, flags: number, seq: number, ack = 0): void =>
    cap.add(t + dt, buildTcpPacket({ src: SERVER, dst: CLIENT, sport: port, dport: sport, seq, ack, flags }));
  c(0, TCP_SYN, 100);
  if (state === 'closed') s(0.00002, TCP_RST | TCP_ACK, 0, 101);
  if (state === 'open') {
    s(0.00002, TCP_SYN | TCP_ACK, 500, 101);
    c(0.00004, TCP_ACK, 101, 501);
    c(0.00006, TCP_FIN | TCP_ACK, 101, 501);
    s(0.00008, TCP_FIN | TCP_ACK, 501, 102);
    c(0.0001, TCP_ACK, 102, 502);
  }
}

/** A sweep (one pass per start) over `ports`, `spacing` apart; a filtered port holds the sweep 1 s (nc -w 1). */
function sweep(cap: Capture, ports: ReadonlyArray<[number, PortState]>, starts: readonly number[], spacing: number): void {
  let sport = 50000;
  for (const start of starts) {
    let t = start;
    for (const [port, state] of ports) {
      probe(cap, t, sport++, port, state);
      t += state === 'filtered' ? 1 : spacing;
    }
  }
}

/** Traffic elsewhere that keeps the capture running until `until`. */
function keepCaptureRunning(cap: Capture, until: number): void {
  cap.connection({ client: '10.0.0.9', server: '10.0.0.3' }).handshake(until - 0.01).exchange(until - 0.005);
}

const range = (from: number, n: number, state: PortState): Array<[number, PortState]> => Array.from({ length: n }, (_, i) => [from + i, state]);
/** 6 open, 7 closed and one filtered port, as a service-discovery sweep finds them. */
const PORTS: Array<[number, PortState]> = [...range(8001, 6, 'open'), ...range(9001, 1, 'closed'), [9002, 'filtered'], ...range(9003, 6, 'closed')];

describe('port scans: their filtered ports, and their counts', () => {
  test('a sweep over 14 ports twice (6 open, 7 closed, 1 filtered): ports counted as ports, refusals as refusals, the filtered port in the scan', () => {
    const cap = new Capture();
    sweep(cap, PORTS, [0, 1.6], 0.01);
    keepCaptureRunning(cap, 6);
    const r = cap.analyze(both);
    const [scan, ...more] = r.diagnoses.filter((d) => d.kind === 'connection-refused');
    expect(more).toEqual([]);
    expect(scan.severity).toBe('info');
    expect(scan.explanation).toContain(`${CLIENT} tried 14 ports of ${SERVER}`);
    expect(scan.explanation).toContain('7 of those ports refused the connection (nothing listens there; 14 refusals)');
    expect(scan.explanation).toContain('6 answered (open: 8001, 8002, 8003, 8004, 8005, 8006)');
    expect(scan.explanation).toContain('1 never answered at all (filtered: 9002)');
    // Its unanswered SYNs are the scan's, not an outage.
    expect(ofKind(r, 'syn-unanswered')).toEqual([]);
    expect(r.diagnoses.filter((d) => d.kind === 'syn-unanswered')).toEqual([]);
  });

  test('near miss: the firewalled port tried again and again beside the sweep (a client that needs it) stays syn-unanswered', () => {
    const cap = new Capture();
    sweep(cap, PORTS.filter(([p]) => p !== 9002), [0, 1.6], 0.01);
    // A client trying 9002 every 0.7 s (its connect timeout), none answered: not a probe, whatever the sweep does.
    for (let k = 0; k < 6; k++) probe(cap, 0.1 + k * 0.7, 51000 + k, 9002, 'filtered');
    keepCaptureRunning(cap, 8);
    const r = cap.analyze(both);
    const [scan] = r.diagnoses.filter((d) => d.kind === 'connection-refused');
    expect(scan.explanation).toContain('tried 13 ports');
    expect(scan.explanation).not.toContain('filtered');
    expect(ofKind(r, 'syn-unanswered')).toHaveLength(6);
    const [d] = r.diagnoses.filter((x) => x.kind === 'syn-unanswered');
    expect(d.severity).toBe('error');
  });

  test('near miss: unanswered SYNs to one port with no scan around them are syn-unanswered\'s as before', () => {
    const cap = new Capture();
    for (let k = 0; k < 3; k++) probe(cap, k * 0.7, 52000 + k, 9002, 'filtered');
    keepCaptureRunning(cap, 5);
    const r = cap.analyze(both);
    expect(ofKind(r, 'syn-unanswered')).toHaveLength(3);
    expect(r.diagnoses.filter((d) => d.kind === 'connection-refused')).toEqual([]);
  });
});

describe('probes-and-sweep-filtered (recorded: iptables DROP on 9002 and 9012)', () => {
  test('health-check probes of 9002 at info with no connect timeout; the sweep one scan with 9012 filtered in it', async () => {
    const r = await analyzeFiles([path.join(SAMPLES_DIR, 'probes-and-sweep-filtered.pcap')], {});
    const syn = r.diagnoses.filter((d) => d.kind === 'syn-unanswered');
    expect(syn.map((d) => [d.server, d.severity])).toEqual([['127.0.0.2:9002', 'info']]);
    expect(syn[0].inferred.clientConnectTimeout).toBeUndefined();
    expect(syn[0].explanation).toContain('independent short probes');
    expect(r.anomalies.filter((a) => a.kind === 'syn-unanswered' && a.server.endsWith(':9012'))).toEqual([]);
    const [scan] = r.diagnoses.filter((d) => d.kind === 'connection-refused');
    expect(scan.severity).toBe('info');
    expect(scan.explanation).toContain('127.0.0.5 tried 14 ports of 127.0.0.2');
    expect(scan.explanation).toContain('7 of those ports refused the connection (nothing listens there; 14 refusals)');
    expect(scan.explanation).toContain('1 never answered at all (filtered: 9012)');
  });
});
