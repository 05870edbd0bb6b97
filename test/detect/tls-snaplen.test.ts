import { AnalysisResult, Analyzer } from '../../src/analyze';
import { DETECTORS } from '../../src/detect/registry';
import { snaplenFramingWarning } from '../../src/report/unread-traffic';
import { readCapture } from '../../src/source/open-capture';
import { analyzeSample, listSamples } from '../samples';

/**
 * HTTPS captured with a snaplen (tls12-snaplen-400: `tcpdump -s 400`, recorded; blind round 14
 * variants 5c). The cut took the record headers behind the server's Certificate; before reading
 * resumed at the next segment starting with a record (TlsDirection.resumesAt), the server's side
 * stopped there, and of the 2 unanswered requests and 2 keep-alive races only the races were found,
 * with no idle timeout.
 */
async function cutTo(name: string, snaplen: number): Promise<AnalysisResult> {
  const sample = listSamples().find((s) => s.name === name);
  if (sample === undefined) throw new Error(`no sample ${name}`);
  const analyzer = new Analyzer({ detectors: DETECTORS });
  const info = await readCapture(sample.file, (p) => {
    const caplen = Math.min(p.caplen, snaplen);
    analyzer.packet({ frame: p.frame, ts: p.ts, caplen, origLen: p.origLen, linkType: p.linkType, data: p.data.subarray(0, caplen) });
  });
  analyzer.addFile(info);
  return analyzer.finish();
}

describe('TLS at a snaplen of 400 bytes', () => {
  test('the unanswered requests and the keep-alive races are found, with the server idle timeout', async () => {
    const r = await analyzeSample('tls12-snaplen-400');
    const kinds = r.anomalies.map((a) => a.kind).sort();
    expect(kinds).toEqual(['keepalive-race', 'keepalive-race', 'unanswered-request', 'unanswered-request']);
    const race = r.diagnoses.find((d) => d.kind === 'keepalive-race');
    expect(race?.inferred.serverIdleTimeout?.value).toBeGreaterThan(1.99);
    expect(race?.inferred.serverIdleTimeout?.value).toBeLessThan(2.05);
    for (const a of r.anomalies.filter((x) => x.kind === 'unanswered-request')) {
      expect(a.evidence).toMatchObject({ encrypted: true, closedBy: 'server', tlsVersion: '1.2' });
      expect(a.evidence.waitSeconds).toBeGreaterThan(2.15);
      expect(a.evidence.waitSeconds).toBeLessThan(2.4);
    }
  });

  test('the warning speaks of TLS records, not of HTTP request lines', async () => {
    const r = await analyzeSample('tls12-snaplen-400');
    const warning = snaplenFramingWarning(r.stats);
    expect(warning).toMatch(/the traffic is TLS \(6 connections\), read by its record headers/);
    expect(warning).not.toMatch(/request and status lines/);
  });

  test('cut further (96 bytes: the ServerHello too), nothing is found that the 400-byte capture does not show', async () => {
    const r = await cutTo('tls12-snaplen-400', 96);
    for (const a of r.anomalies) expect(['keepalive-race', 'unanswered-request']).toContain(a.kind);
    expect(r.anomalies.filter((a) => a.kind === 'keepalive-race').length).toBeLessThanOrEqual(2);
    expect(r.anomalies.filter((a) => a.kind === 'unanswered-request').length).toBeLessThanOrEqual(2);
  });
});
