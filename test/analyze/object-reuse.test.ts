import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { analyzeFiles, AnalysisResult } from '../../src/analyze';
import { makeCapture } from '../../src/bench/make-capture';

/**
 * An analysis reuses the objects of released connections (connection, endpoints, HTTP session,
 * parsers, attachment) for new ones. Whatever it reports must be exactly what it reports with a
 * new object for every connection. Recorded samples are short (most connections are released
 * together at the end), so the benchmark's generator makes a capture where thousands of
 * connections are released while others open.
 */

/** The first place two results differ, briefly (a whole-result diff would be megabytes), or null. */
function firstDifference(a: AnalysisResult, b: AnalysisResult): string | null {
  for (const key of ['flows', 'exchanges', 'anomalies', 'diagnoses'] as const) {
    const x: unknown[] = a[key];
    const y: unknown[] = b[key];
    if (x.length !== y.length) return `${key}: ${x.length} vs ${y.length}`;
    for (let i = 0; i < x.length; i++) {
      const [p, q] = [JSON.stringify(x[i]), JSON.stringify(y[i])];
      if (p !== q) return `${key}[${i}]: ${p} vs ${q}`;
    }
  }
  const [s, t] = [JSON.stringify({ ...a, flows: 0, exchanges: 0, anomalies: 0, diagnoses: 0 }), JSON.stringify({ ...b, flows: 0, exchanges: 0, anomalies: 0, diagnoses: 0 })];
  return s === t ? null : `input/stats: ${s} vs ${t}`;
}

function withoutReuse(file: string, closedLinger?: number): Promise<AnalysisResult> {
  return analyzeFiles([file], { tracker: { reuseConnections: false, ...(closedLinger !== undefined ? { closedLinger } : {}) } });
}

describe('reusing released connections', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'conncheck-reuse-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('reports the same flows, exchanges, findings and diagnoses on 60 000 packets of churning traffic', async () => {
    const file = path.join(dir, 'churn.pcap');
    const made = makeCapture(file, { packets: 60_000, seed: 7 });
    expect(made.connections).toBeGreaterThan(1000);
    // Closed connections released after 0.2 s rather than 5 s: the capture spans a few seconds only.
    const reused = await analyzeFiles([file], { tracker: { closedLinger: 0.2 } });
    const fresh = await withoutReuse(file, 0.2);
    expect(reused.stats.connections).toBe(made.connections);
    // Most connections were released while the capture went on: their objects served again.
    expect(reused.stats.peakLiveConnections).toBeLessThan(made.connections / 2);
    expect(firstDifference(reused, fresh)).toBeNull();
  });

  test.each(['keepalive-race-stale.pcap', 'connection-churn.pcap', 'gateway-timeout-nginx.pcap', 'midstream-start.pcap'])(
    'same result on the sample %s',
    async (name) => {
      const file = path.join(__dirname, '../../samples', name);
      expect(firstDifference(await analyzeFiles([file]), await withoutReuse(file))).toBeNull();
    },
  );
});
