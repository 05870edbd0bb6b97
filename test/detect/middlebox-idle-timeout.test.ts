import * as fs from 'node:fs';
import { analyzeFiles, AnalysisResult } from '../../src/analyze';
import { DETECTORS } from '../../src/detect/registry';
import { pcapLayout, Scratch } from '../robustness/robustness-kit';
import { analyzeSample, listSamples } from '../samples';

/**
 * middlebox-idle-timeout on the recorded NAT (client, router with a 3 s conntrack timeout and
 * masquerade, server: samples/record/middlebox-idle-*.sh). The router forgot connections idle 5 s;
 * the client's reuses then met its reset (`reject with tcp reset`: a RST in the server's name, IP
 * TTL 64 where the server's forwarded packets have 63) or its drop. Reuses after 1 and 2 s, and
 * one whose TCP keep-alive probes kept the state, went through.
 */

const scratch = new Scratch();
afterAll(() => scratch.cleanup());

const ofKind = (r: AnalysisResult, kind: string): string[] => r.anomalies.filter((f) => f.kind === kind).map((f) => f.client ?? '').sort();

/** The capture with every RST's IP TTL set to `ttl` (Ethernet, IPv4: the TTL is byte 22 of the frame). */
function resetsWithTtl(file: string, ttl: number): Uint8Array {
  const bytes = new Uint8Array(fs.readFileSync(file));
  const view = new DataView(bytes.buffer);
  const { littleEndian, records } = pcapLayout(bytes);
  expect(view.getUint32(20, littleEndian) & 0xffff).toBe(1);
  let changed = 0;
  for (const o of records) {
    const frame = o + 16;
    if (view.getUint16(frame + 12) !== 0x0800 || bytes[frame + 23] !== 6) continue;
    const tcp = frame + 14 + (bytes[frame + 14] & 0x0f) * 4;
    if ((bytes[tcp + 13] & 0x04) === 0) continue;
    bytes[frame + 22] = ttl;
    changed++;
  }
  expect(changed).toBeGreaterThan(0);
  return bytes;
}

describe('middlebox-idle-timeout', () => {
  test('reset form: each stale reuse, the POST whose body never left included, with the TTLs and the bounds of the timeout', async () => {
    const r = await analyzeSample('middlebox-idle-reset-nat');
    const found = r.anomalies.filter((f) => f.kind === 'middlebox-idle-timeout');
    expect(found.map((f) => f.evidence.form)).toEqual(['reset', 'reset', 'reset', 'reset']);
    expect(found.every((f) => f.evidence.rstTtl === 64 && f.evidence.serverTtl === 63)).toBe(true);
    expect(found.some((f) => f.evidence.requestComplete === false)).toBe(true);
    expect(ofKind(r, 'reset-before-response')).toEqual([]);
    const d = r.diagnoses.find((x) => x.kind === 'middlebox-idle-timeout');
    // The router's conntrack timeout was 3 s: reuses after 2 s went through, after 5 s did not.
    expect(d?.inferred.middleboxIdleTimeoutAtLeast.value).toBeLessThan(3);
    expect(d?.inferred.middleboxIdleTimeoutAtMost.value).toBeGreaterThan(3);
    expect(d?.explanation).toMatch(/the server had closed none of those connections .*reset in the server's name from elsewhere on the path \(IP TTL 64, where the server's packets have 63\)/);
  });

  test('drop form: each stale reuse retransmitted with nothing back; not an unanswered request', async () => {
    const r = await analyzeSample('middlebox-idle-drop-nat');
    const found = r.anomalies.filter((f) => f.kind === 'middlebox-idle-timeout');
    expect(found.map((f) => f.evidence.form)).toEqual(['dropped', 'dropped', 'dropped', 'dropped']);
    expect(found.every((f) => typeof f.evidence.retransmissions === 'number' && f.evidence.retransmissions >= 2)).toBe(true);
    expect(ofKind(r, 'unanswered-request')).toEqual([]);
    expect(r.diagnoses.find((x) => x.kind === 'middlebox-idle-timeout')?.explanation).toMatch(/dropped: retransmitted with nothing back, while the server went on answering/);
  });

  test("a reset with the server's own TTL is the server's: no middlebox, reset-before-response as before", async () => {
    const sample = listSamples().find((s) => s.name === 'middlebox-idle-reset-nat');
    if (sample === undefined) throw new Error('no sample middlebox-idle-reset-nat');
    const r = await analyzeFiles([scratch.file(resetsWithTtl(sample.file, 63))], { detectors: DETECTORS });
    expect(ofKind(r, 'middlebox-idle-timeout')).toEqual([]);
    expect(ofKind(r, 'reset-before-response').length).toBeGreaterThan(0);
  });

  test('the server-side captures show nothing to judge: silent', async () => {
    for (const name of ['middlebox-idle-reset-nat-server-side', 'middlebox-idle-drop-nat-server-side']) {
      expect((await analyzeSample(name)).anomalies).toEqual([]);
    }
  });

  const others = listSamples().filter((s) => !s.name.startsWith('middlebox-idle-'));
  test.each(others.map((s) => s.name))('%s: no middlebox claimed', async (name) => {
    expect(ofKind(await analyzeSample(name), 'middlebox-idle-timeout')).toEqual([]);
  });
});
