/**
 * A path losing 40 % of packets both ways, an idle server, a client whose timeouts (0.5 s) are
 * shorter than one retransmission (blind round 11, S4c40; recorded: samples/path-loss-short-timeouts).
 * Its connect failures are the path's loss, not a full accept queue: the server's losses show as
 * data arriving past holes and SYN-ACKs resent by its timer at a client-side capture, which count
 * as the path's (path-loss.ts pathLosses). And its single-SYN attempts 0.8 s apart, from a client
 * that pauses 0.3 s after each close, give a connect timeout of 0.5 s, not 0.8 s (client-pauses.ts).
 */
import * as fs from 'fs';
import * as path from 'path';
import { analyzeFiles, AnalysisResult } from '../../src/analyze';

const SAMPLE = path.join(__dirname, '..', '..', 'samples', 'path-loss-short-timeouts.pcap');

describe('syn-unanswered on a lossy path with short client timeouts', () => {
  let result: AnalysisResult;
  beforeAll(async () => {
    result = await analyzeFiles([SAMPLE]);
  });

  test('no accept-queue-overflow: the server served every connection it accepted', () => {
    expect(result.anomalies.filter((f) => f.kind === 'accept-queue-overflow').map((f) => f.summary)).toEqual([]);
  });

  test('the connect failures are told as the path losing packets, at error', () => {
    const d = result.diagnoses.find((x) => x.kind === 'syn-unanswered');
    expect(d).toBeDefined();
    expect(d!.severity).toBe('error');
    expect(d!.explanation).toContain('the path was losing packets then, both ways');
    expect(d!.explanation).not.toContain('accept queue was full');
    expect(d!.remedy.startsWith('Look at the path')).toBe(true);
  });

  test('every connect timeout the client logged is reported: runs, lone SYNs, and SYN-ACKs that came after it gave up', () => {
    // The meta's facts come from the client's log (record/programs/pl-meta.py).
    const meta = JSON.parse(fs.readFileSync(SAMPLE.replace(/\.pcap$/, '.meta.json'), 'utf8')) as { facts: { connectTimeouts: number } };
    const found = result.anomalies.filter((f) => f.kind === 'syn-unanswered');
    expect(found.length).toBe(meta.facts.connectTimeouts);
    expect(found.filter((f) => f.evidence.outcome === 'answered-after-give-up').length).toBeGreaterThan(0);
    expect(found.every((f) => f.severity === 'error')).toBe(true);
  });

  test('the connect timeout is the gap between attempts less the client\'s pause (0.5 s, not 0.8 s)', () => {
    const d = result.diagnoses.find((x) => x.kind === 'syn-unanswered');
    const t = d!.inferred.clientConnectTimeout;
    expect(t).toBeDefined();
    expect(Math.abs(t.value - 0.5)).toBeLessThan(0.02);
    expect(d!.explanation).not.toContain('before failing');
  });

  test('the bodies the client gave up on mid-way were the path\'s losses, not the server pausing (response-abandoned)', () => {
    const d = result.diagnoses.find((x) => x.kind === 'response-abandoned');
    expect(d).toBeDefined();
    expect(d!.explanation).toContain('the path was losing the server\'s packets');
    expect(d!.remedy).toMatch(/^Look at the path between/);
  });
});
