/**
 * Client and server captures merged (mergecap): SYNs that a firewall on the router refused with a
 * tcp reset never reach the server's capture point, and the RST (TTL 64) is at the client's only,
 * where the server's SYN-ACKs have 63; compared with the SYN-ACKs' first copies (the server's, 64)
 * they passed for the listener's own refusals (blind round 11, S1b merged: "closed its listener").
 * Refusals the server sent, seen at both points, stay the listener's.
 */
import { AnalysisResult } from '../../src/analyze';
import { TCP_ACK, TCP_PSH, TCP_RST, TCP_SYN } from '../helpers/packet-builder';
import { analyzeAll, MergedCapture, T } from '../helpers/merged-capture';

describe('connection-refused: client and server captures merged', () => {
  /** Three connections accepted and kept open (SYN-ACKs at both points), then `refused` more from ports 41000 on. */
  function scene(refusal: (cap: MergedCapture, t: number) => void): MergedCapture[] {
    const caps: MergedCapture[] = [];
    for (let i = 0; i < 3; i++) {
      const t = T + i * 0.01;
      caps.push(new MergedCapture(40000 + i).send('c', t, TCP_SYN).send('s', t + 0.0002, TCP_SYN | TCP_ACK).send('c', t + 0.0004, TCP_ACK)
        .send('c', t + 1, TCP_ACK | TCP_PSH, 'GET /ok HTTP/1.1\r\nHost: x\r\n\r\n').send('s', t + 1.002, TCP_ACK | TCP_PSH, 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')
        .send('c', t + 1.0022, TCP_ACK));
    }
    for (let i = 0; i < 3; i++) {
      const cap = new MergedCapture(41000 + i);
      refusal(cap, T + 0.1 + i * 0.05);
      caps.push(cap);
    }
    return caps;
  }
  const refusedStory = (r: AnalysisResult): string => {
    expect(r.anomalies.filter((f) => f.kind === 'connection-refused')).toHaveLength(3);
    return r.diagnoses.find((d) => d.kind === 'connection-refused')?.explanation ?? '';
  };

  test("SYNs that never reached the server's point, refused at the client's with TTL 64 where the SYN-ACKs have 63 there: a firewall", async () => {
    const r = await analyzeAll(scene((cap, t) => {
      cap.send('c', t, TCP_SYN, '', 'client');
      cap.forgedRst(t + 0.00005, cap.clientNext);
    }));
    expect(refusedStory(r)).toMatch(/did not come from its host.*IP TTL \(64\).*capture point that saw them \(63 there, 64 at its own/);
  });

  test("the server's own refusals, seen at both points, stay the listener's", async () => {
    const r = await analyzeAll(scene((cap, t) => {
      cap.send('c', t, TCP_SYN);
      cap.send('s', t + 0.0001, TCP_RST | TCP_ACK);
    }));
    expect(refusedStory(r)).not.toMatch(/did not come from its host/);
  });
});
