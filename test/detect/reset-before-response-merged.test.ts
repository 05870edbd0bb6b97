/**
 * Client and server captures merged into one file (mergecap): each packet that crossed the path is
 * there twice, first at the point near its sender (TTL 64) and then at the far one (TTL 63, one
 * router between), and the analysis keeps the first copy. A firewall on the router that forges a
 * RST in the server's name (`reject with tcp reset`, TTL 64) is seen at the client's point only:
 * compared with the kept copies (64) it passed for the server's own (blind round 11, S2a/S2b/S2e
 * merged: "the server's socket was already closed" / "the server aborted mid-response"). It is
 * compared with the TTL the server's packets have where it was seen; the server's own RST, seen at
 * both points or lost after its own, stays the server's.
 */
import { AnalysisResult } from '../../src/analyze';
import { TCP_ACK, TCP_PSH, TCP_RST } from '../helpers/packet-builder';
import { MergedCapture, T } from '../helpers/merged-capture';
import { analyzeSample } from '../samples';

const resets = (r: AnalysisResult) => r.anomalies.filter((f) => f.kind === 'reset-before-response');
const BODY = 'HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n' + 'x'.repeat(1200);

describe('reset-before-response: client and server captures merged', () => {
  test("a request dropped by the firewall and answered with its RST is the path's, with the TTL the server's packets have at the client", async () => {
    const cap = new MergedCapture().opened()
      .send('c', T + 0.5, TCP_ACK | TCP_PSH, 'GET /blocked HTTP/1.1\r\nHost: x\r\n\r\n', 'client')
      .forgedRst(T + 0.50005);
    const r = await cap.analyze();
    expect(r.stats.duplicates).toBeGreaterThan(0);
    const [f] = resets(r);
    expect(f.evidence.uri).toBe('/blocked');
    expect(f.evidence.resetFrom).toBe('path');
    expect([f.evidence.rstTtl, f.evidence.serverTtl]).toEqual([64, 63]);
    expect(r.diagnoses.find((d) => d.kind === 'reset-before-response')?.explanation).not.toMatch(/socket was already closed/);
  });

  test("a download cut by the firewall while the server went on sending is the path's, not an abort mid-response", async () => {
    const cap = new MergedCapture().opened()
      .send('c', T + 0.5, TCP_ACK | TCP_PSH, 'GET /dl HTTP/1.1\r\nHost: x\r\n\r\n')
      .send('s', T + 0.501, TCP_ACK | TCP_PSH, BODY)
      // The client's ACK that crossed the byte limit: rejected (dropped, a RST sent back in the server's name).
      .send('c', T + 0.5012, TCP_ACK, '', 'client')
      .forgedRst(T + 0.50125)
      // The server never knew: its next segment, seen at its own point, not acknowledged.
      .send('s', T + 0.5014, TCP_ACK | TCP_PSH, 'y'.repeat(1200), 'server');
    const r = await cap.analyze();
    const [f] = resets(r);
    expect(f.evidence.uri).toBe('/dl');
    expect(f.evidence.resetFrom).toBe('path');
    expect(r.diagnoses.find((d) => d.kind === 'reset-before-response')?.explanation).not.toMatch(/aborted the connection mid-response/);
  });

  test("the server's own RST seen at both points (64 there, 63 at the client) stays the server's", async () => {
    const cap = new MergedCapture().opened()
      .send('c', T + 0.5, TCP_ACK | TCP_PSH, 'GET /dl HTTP/1.1\r\nHost: x\r\n\r\n')
      .send('s', T + 0.501, TCP_ACK | TCP_PSH, BODY)
      .send('c', T + 0.5012, TCP_ACK)
      .send('s', T + 0.8, TCP_RST | TCP_ACK);
    const r = await cap.analyze();
    const [f] = resets(r);
    expect(f.evidence.uri).toBe('/dl');
    expect(f.evidence.resetFrom).toBeUndefined();
    expect(f.summary).toMatch(/was reset by the server/);
  });

  test("the server's own RST lost after its capture point, the client unaware and sending again, stays the server's", async () => {
    const cap = new MergedCapture().opened()
      .send('c', T + 0.5, TCP_ACK | TCP_PSH, 'GET /dl HTTP/1.1\r\nHost: x\r\n\r\n')
      .send('s', T + 0.501, TCP_ACK | TCP_PSH, BODY)
      .send('c', T + 0.5012, TCP_ACK)
      .send('s', T + 0.8, TCP_RST | TCP_ACK, '', 'server')
      .send('c', T + 1.5, TCP_ACK, '', 'client');
    const r = await cap.analyze();
    const [f] = resets(r);
    expect(f.evidence.uri).toBe('/dl');
    expect(f.evidence.resetFrom).toBeUndefined();
  });
});

describe('reset-before-response: the recorded merge (samples/record/reset-before-response-firewall-merged.sh)', () => {
  test("the firewall's two resets are the path's, 64 against 63 at the client; the server's SO_LINGER 0 reset, at both points, stays its own", async () => {
    const r = await analyzeSample('reset-before-response-firewall-merged');
    expect(r.stats.duplicates).toBeGreaterThan(0);
    const byUri = new Map(resets(r).map((f) => [f.evidence.uri, f]));
    expect([...byUri.keys()].sort()).toEqual(['/admin/1', '/crash/1', '/dl/300000']);
    for (const uri of ['/admin/1', '/dl/300000']) {
      const f = byUri.get(uri)!;
      expect([f.evidence.resetFrom, f.evidence.rstTtl, f.evidence.serverTtl]).toEqual(['path', 64, 63]);
    }
    expect(byUri.get('/crash/1')!.evidence.resetFrom).toBeUndefined();
    expect(r.diagnoses.map((d) => d.explanation).join('\n')).not.toMatch(/aborted the connection mid-response|socket was already closed/);
  });
});
