/**
 * `--ignore KIND` hides what a kind found and changes nothing else: the detectors of ignored kinds
 * still run, because others ask what they found. (Not running them turned a keep-alive race's
 * reset into a "crashed worker" reset-before-response error once keepalive-race was ignored.)
 */
import * as path from 'node:path';
import { analyzeFiles, AnalysisResult } from '../../src/analyze';
import { listSamples, SAMPLES_DIR } from '../samples';

/** Samples whose findings are of several kinds that refer to one another. */
const SAMPLES = [
  'keepalive-race-python',
  'keepalive-race-crossing',
  'keepalive-race-arrival',
  'gateway-timeout-nginx',
  'reload-nginx',
  'port-scan-and-outage',
  'fastcgi-php-fpm',
  'load-with-keepalive-races',
].filter((name) => listSamples().some((s) => s.name === name));

function visible(r: AnalysisResult, hidden: string) {
  return {
    anomalies: r.anomalies.filter((a) => a.kind !== hidden),
    diagnoses: r.diagnoses.filter((d) => d.kind !== hidden),
  };
}

function counts(r: AnalysisResult, hidden: string): Record<string, number> {
  const bySeverity: Record<string, number> = { info: 0, warning: 0, error: 0 };
  for (const a of r.anomalies) if (a.kind !== hidden) bySeverity[a.severity]++;
  return bySeverity;
}

test('the samples are there', () => {
  expect(SAMPLES.length).toBeGreaterThanOrEqual(6);
});

describe.each(SAMPLES)('%s', (name) => {
  const file = listSamples().find((s) => s.name === name)?.file ?? path.join(SAMPLES_DIR, `${name}.pcap`);
  let all: AnalysisResult;
  beforeAll(async () => {
    all = await analyzeFiles([file]);
  });

  test('each kind found, ignored: gone, and every other finding and diagnosis as without --ignore', async () => {
    const kinds = [...new Set(all.anomalies.map((a) => a.kind))];
    expect(kinds.length).toBeGreaterThan(0);
    for (const kind of kinds) {
      const without = await analyzeFiles([file], { ignore: [kind] });
      expect({ kind, ...visible(without, kind) }).toEqual({ kind, ...visible(all, kind) });
      expect(without.anomalies.some((a) => a.kind === kind)).toBe(false);
      expect(without.diagnoses.some((d) => d.kind === kind)).toBe(false);
      expect(without.stats.findingsBySeverity).toEqual(counts(all, kind));
    }
  });
});
