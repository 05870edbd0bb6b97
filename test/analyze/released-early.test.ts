/**
 * A live connection the analysis let go early (released at the connection cap, or forgotten after
 * the idle timeout) whose packets come back: the rest of that connection, not a new one seen
 * mid-stream (Connection.resumedAfterRelease, flow/released-tuples.ts). Blind round 7: the
 * load-with-keepalive-races sample with --max-connections 5 read as 1 710 connections, its races
 * as a server restart, answered requests as unanswered, and blamed the capture as one-way.
 */
import * as path from 'node:path';
import { analyzeFiles, AnalysisResult } from '../../src/analyze';
import { coverageWarnings } from '../../src/report/capture-coverage';
import { renderJunit } from '../../src/report/junit';
import { Capture, get, ok } from '../detect/reuse-kit';

const SAMPLE = path.resolve(__dirname, '../../samples/load-with-keepalive-races.pcap');

/**
 * Connection A: an exchange, then idle; B opens at 0.5 and keeps the clock moving with exchanges;
 * at 2 s A's client sends its next request and A's server resets it (a keep-alive race).
 */
function raceAfterPause() {
  const cap = new Capture();
  const a = cap.connection({ cport: 41000 });
  const b = cap.connection({ cport: 41001 });
  a.handshake(0).exchange(0.01, get('/a'), ok('x'));
  b.handshake(0.5);
  for (let t = 0.6; t < 2; t += 0.2) b.exchange(t, get('/b'), ok('y'));
  a.request(2, get('/a')).rstAck(2.0001, 's');
  return cap;
}

function kinds(r: AnalysisResult): string[] {
  return r.anomalies.map((f) => f.kind);
}

describe('connections let go early whose packets come back', () => {
  test('at the connection cap: the resumed part is not judged, and the warning says why', () => {
    const r = raceAfterPause().analyze(undefined, { tracker: { maxConnections: 1 } });
    expect(r.stats.connectionsEvicted).toBeGreaterThan(0);
    expect(kinds(r)).not.toContain('reset-before-response');
    expect(kinds(r)).not.toContain('unanswered-request');
    expect(r.stats.oneWay).toEqual({ clientOnly: 0, serverOnly: 0 });
    expect(r.stats.releasedEarly?.resumed.atCap).toBeGreaterThan(0);
    expect(r.flows.some((f) => f.resumedAfterRelease === 'connection-cap')).toBe(true);
    const warning = coverageWarnings(r).find((w) => w.includes('--max-connections 1'));
    expect(warning).toMatch(/released early at the connection cap .* came back/);
    expect(r.stats.releasedEarly?.warning).toBe(warning);
    expect(renderJunit(r, 'error')).toContain('released early at the connection cap');
  });

  test('after --idle-timeout: the same, naming the idle timeout', () => {
    const r = raceAfterPause().analyze(undefined, { tracker: { idleTimeout: 0.5 } });
    expect(kinds(r)).not.toContain('reset-before-response');
    expect(r.stats.releasedEarly?.resumed).toEqual({ atCap: 0, idle: 1 });
    expect(r.flows.filter((f) => f.resumedAfterRelease === 'idle-timeout')).toHaveLength(1);
    expect(coverageWarnings(r).join('\n')).toMatch(/1 connection forgotten after --idle-timeout 0.5 s idle, and 1 of them came back/);
  });

  test('near miss: with the defaults nothing is let go, nothing resumes and no warning', () => {
    const r = raceAfterPause().analyze();
    expect(r.stats.releasedEarly).toBeUndefined();
    expect(r.flows).toHaveLength(2);
    expect(r.flows.some((f) => f.resumedAfterRelease !== undefined)).toBe(false);
    expect(coverageWarnings(r)).toEqual([]);
  });

  test('near miss: a new SYN on a tuple let go opens a new connection, judged as any', () => {
    const cap = new Capture();
    const a = cap.connection({ cport: 41000 });
    const b = cap.connection({ cport: 41001 });
    a.handshake(0).exchange(0.01, get('/a'), ok('x'));
    b.handshake(0.5).exchange(0.6, get('/b'), ok('y'));
    const again = cap.connection({ cport: 41000, isn: 3_000_000_000 });
    again.handshake(1).exchange(1.01, get('/c'), ok('z'));
    const r = cap.analyze(undefined, { tracker: { maxConnections: 1 } });
    expect(r.stats.releasedEarly).toBeUndefined();
    expect(r.flows.some((f) => f.resumedAfterRelease !== undefined)).toBe(false);
  });

  test('the recorded sample at --max-connections 5 and --idle-timeout 0.5: no made-up restarts or unanswered requests', async () => {
    for (const tracker of [{ maxConnections: 5 }, { idleTimeout: 0.5 }]) {
      const r = await analyzeFiles([SAMPLE], { tracker });
      expect(kinds(r).filter((k) => k === 'reset-before-response' || k === 'unanswered-request' || k === 'retried-request')).toEqual([]);
      expect(r.stats.oneWay).toEqual({ clientOnly: 0, serverOnly: 0 });
      expect(r.stats.releasedEarly).toBeDefined();
      expect(coverageWarnings(r).some((w) => w.includes('came back'))).toBe(true);
      expect(renderJunit(r, 'error')).toContain('came back');
    }
    const plain = await analyzeFiles([SAMPLE]);
    expect(plain.stats.releasedEarly).toBeUndefined();
    expect(kinds(plain).filter((k) => k === 'keepalive-race')).toHaveLength(5);
  });
});
