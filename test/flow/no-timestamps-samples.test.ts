/**
 * The -any captures whose client sends no TCP timestamp option (net.ipv4.tcp_timestamps=0 in its
 * namespace, as Windows clients by default): conncheck must say on the whole capture what it says
 * on the client's interface alone. Expectations come from each sample's meta.json, which the
 * recorder wrote from the client side alone (nat-meta.py, dup-meta.py).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AnalysisResult, analyzeFiles } from '../../src/analyze';

const SAMPLES = path.join(__dirname, '../../samples');

interface Meta {
  expect: { kind: string | null; client: string; server?: string }[];
  silent: boolean;
  facts: {
    connections: number;
    clientTimestamps?: boolean;
    connectionsSeenTwice?: number;
    translation?: { seenAs: string; translatedTo: string };
    packetsCapturedTwice?: number;
  };
}

function meta(name: string): Meta {
  return JSON.parse(fs.readFileSync(path.join(SAMPLES, `${name}.meta.json`), 'utf8')) as Meta;
}

function findingsOf(r: AnalysisResult): string[] {
  return r.anomalies.map((a) => `${a.kind} ${a.client} ${a.server}`).sort();
}

function expected(m: Meta): string[] {
  return m.expect.filter((e) => e.kind !== null).map((e) => `${e.kind} ${e.client} ${e.server ?? '?'}`).sort();
}

describe('samples without TCP timestamps, captured with -i any', () => {
  test('keepalive-race-nat-any-no-timestamps: each connection analyzed once, under the client\'s addresses', async () => {
    const name = 'keepalive-race-nat-any-no-timestamps';
    const m = meta(name);
    expect(m.facts.clientTimestamps).toBe(false);
    const r = await analyzeFiles([path.join(SAMPLES, `${name}.pcap`)]);
    const seenTwice = m.facts.connectionsSeenTwice ?? -1;
    expect(r.stats.natTwins).toBe(seenTwice);
    expect(r.flows.filter((f) => f.sameConnectionAs === null)).toHaveLength(m.facts.connections);
    expect(r.stats.natTranslations).toEqual([
      { seenAs: `10.98.0.1 → ${m.facts.translation?.seenAs}`, translatedTo: `10.98.0.1 → ${m.facts.translation?.translatedTo}`, connections: seenTwice },
    ]);
    // Findings with the server as the client addressed it, as on the client's interface alone.
    expect(findingsOf(r)).toEqual(expected(m));
    for (const a of r.anomalies) expect(a.server).toBe(m.facts.translation?.seenAs);
    expect(new Set(r.diagnoses.map((d) => d.server))).toEqual(new Set([m.facts.translation?.seenAs]));
    expect(r.anomalies.length > 0).toBe(!m.silent);
  });

  // IPv4 copies still differ from retransmissions by their identification; IPv6 has none, and
  // without timestamps a copy is told by sequence, acknowledgement, window, checksum and timing.
  test.each(['keepalive-race-bridge-any-no-timestamps', 'keepalive-race-bridge-any-ipv6-no-timestamps'])('%s: every packet captured twice, each copy recognised without a timestamp', async (name) => {
    const m = meta(name);
    expect(m.facts.clientTimestamps).toBe(false);
    const r = await analyzeFiles([path.join(SAMPLES, `${name}.pcap`)]);
    expect(r.stats.connections).toBe(m.facts.connections);
    expect(r.stats.duplicates).toBe(m.facts.packetsCapturedTwice);
    for (const f of r.flows) {
      expect(f.retransmissions).toEqual({ client: 0, server: 0 });
      expect(f.syns).toBe(1);
    }
    expect(findingsOf(r)).toEqual(expected(m));
    expect(r.anomalies.length > 0).toBe(!m.silent);
  });
});
