import * as path from 'node:path';
import { analyzeFiles } from '../../src/analyze';

const SAMPLE = path.resolve(__dirname, '../../samples/connection-churn.pcap');

describe('--sample N keeps whole connections chosen by a symmetric 4-tuple hash', () => {
  test('kept connections have both directions; the rest are counted as sampled out', async () => {
    const all = await analyzeFiles([SAMPLE]);
    const half = await analyzeFiles([SAMPLE], { sample: 2 });
    expect(half.flows.length).toBeGreaterThan(0);
    expect(half.flows.length).toBeLessThan(all.flows.length);
    expect(half.stats.sampledOut).toBeGreaterThan(0);
    const byClient = new Map(all.flows.map((f) => [f.client, f]));
    for (const f of half.flows) {
      // Same connection, same packets in both directions as the unsampled analysis.
      const full = byClient.get(f.client)!;
      expect({ packets: f.packets, state: f.state, requests: f.requests }).toEqual({ packets: full.packets, state: full.state, requests: full.requests });
    }
    const again = await analyzeFiles([SAMPLE], { sample: 2 });
    expect(again.flows.map((f) => f.client)).toEqual(half.flows.map((f) => f.client));
  });
});
