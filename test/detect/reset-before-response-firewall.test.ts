import { analyzeFiles, AnalysisResult } from '../../src/analyze';
import { resetBeforeResponse } from '../../src/detect/detectors/reset-before-response';
import { DETECTORS } from '../../src/detect/registry';
import { resetsWithTtl, Scratch } from '../robustness/robustness-kit';
import { analyzeSample, listSamples } from '../samples';
import { Capture, get } from './reuse-kit';

/**
 * Resets forged by a firewall in the server's name (samples/record/reset-before-response-firewall.sh:
 * a router namespace whose nftables rule rejects `GET /adm...` with a tcp reset; IP TTL 64 where
 * the server's packets arrive with 63) are the path's, not a server that died; the server's own
 * reset in the same capture (GET /crash/1, TTL 63) keeps its diagnosis. With every TTL equal (a
 * capture on the server's host, loopback) nothing tells them apart and the old diagnoses stand.
 */

const scratch = new Scratch();
afterAll(() => scratch.cleanup());

const SERVER = '10.131.2.2:8080';

const resets = (r: AnalysisResult) => r.anomalies.filter((f) => f.kind === 'reset-before-response');
const uriOf = (f: { evidence: Record<string, unknown> }): unknown => f.evidence.uri;

describe('reset-before-response: a firewall\'s reset in the server\'s name', () => {
  test('the firewall\'s resets are told as the path\'s, with the TTLs; the server\'s own keeps the worker diagnosis', async () => {
    const r = await analyzeSample('reset-before-response-firewall');
    const path = resets(r).filter((f) => f.evidence.resetFrom === 'path');
    expect(path.map(uriOf).sort()).toEqual(['/admin/1', '/admin/2']);
    expect(path.every((f) => f.evidence.rstTtl === 64 && f.evidence.serverTtl === 63)).toBe(true);
    expect(path[0].summary).toMatch(/by a RST in the server's name from another hop \(IP TTL 64, where the server's own packets have 63\): a firewall, NAT gateway or load balancer/);
    const own = resets(r).filter((f) => f.evidence.resetFrom === undefined);
    expect(own.map(uriOf)).toEqual(['/crash/1']);
    expect(own[0].summary).toMatch(/was reset by the server/);
    const [fromPath] = r.diagnoses.filter((d) => d.kind === 'reset-before-response' && d.anomalyIds.includes(path[0].id));
    expect(fromPath.anomalyIds).toHaveLength(2);
    expect(fromPath.explanation).toMatch(/did not come from its host: .*IP TTL \(64\) .*\(63\).*1 hop nearer the capture point.*A firewall/);
    expect(fromPath.explanation).not.toMatch(/process or worker that had it died|OOM kill/);
    expect(fromPath.remedy).toMatch(/firewall, NAT gateway or load balancer/);
    const worker = r.diagnoses.find((d) => d.kind === 'reset-before-response' && d.anomalyIds.includes(own[0].id));
    expect(worker?.explanation).toMatch(/the process or worker that had it died/);
    // A new connection's first request reset by the firewall is not the listener's full accept queue.
    expect(r.anomalies.filter((f) => f.kind === 'accept-queue-overflow')).toEqual([]);
  });

  test('with the server\'s own TTL on every RST nothing says they came from elsewhere: the old diagnoses stand', async () => {
    const sample = listSamples().find((s) => s.name === 'reset-before-response-firewall');
    if (sample === undefined) throw new Error('no sample reset-before-response-firewall');
    const r = await analyzeFiles([scratch.file(resetsWithTtl(sample.file, 63))], { detectors: DETECTORS });
    expect(resets(r).filter((f) => f.evidence.resetFrom !== undefined)).toEqual([]);
    expect(resets(r).map(uriOf)).toContain('/admin/1');
    expect(resets(r).map(uriOf)).toContain('/crash/1');
    // /admin/2, a first request met at once by a RST without ACK: the listener's refusal, as before.
    expect(r.anomalies.filter((f) => f.kind === 'accept-queue-overflow').map((f) => f.client)).toEqual(['10.131.1.2:42001']);
    expect(r.diagnoses.some((d) => /did not come from its host/.test(d.explanation))).toBe(false);
  });

  test('at the server: the SYN-ACK reset in the client\'s name and answered again with a new ISN is a new connection, no bytes missing', async () => {
    const r = await analyzeSample('reset-before-response-firewall-server-side');
    const flows = r.flows.filter((f) => f.client === '10.131.1.2:42999' && f.server === SERVER);
    expect(flows.map((f) => [f.state, f.history])).toEqual([['RSTO', 'ShR'], ['SF', 'ShADadFf']]);
    expect(r.flows.every((f) => f.gapBytes.client === 0 && f.gapBytes.server === 0)).toBe(true);
    expect(resets(r).map(uriOf)).toEqual(['/crash/1']);
  });
});

describe("reset-before-response: a firewall's reset after the server had begun to answer", () => {
  test("the remedy does not say the server's log lacks the requests: it had them (a firewall cutting a download mid-body)", () => {
    // Blind round 11: `ct reply bytes > 1000000 reject with tcp reset` cut a download the server
    // had logged as 200; the diagnosis said its log would not show the request.
    const cap = new Capture();
    for (const t of [0, 5]) {
      const c = cap.connection({ client: '10.0.0.1', server: '10.0.0.2' });
      c.handshake(t).request(t + 0.01, get('/dl'));
      c.response(t + 0.02, 'HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n' + 'x'.repeat(1000));
      c.rst(t + 0.03, 's', 60);
    }
    const r = cap.analyze([resetBeforeResponse]);
    const found = resets(r);
    expect(found.map((f) => f.evidence.resetFrom)).toEqual(['path', 'path']);
    const d = r.diagnoses.find((x) => x.kind === 'reset-before-response')!;
    expect(d.remedy).toContain("The server's log shows these requests");
    expect(d.remedy).not.toContain('will not show');
  });
});
