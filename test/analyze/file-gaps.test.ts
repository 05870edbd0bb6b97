import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AnalysisResult, analyzeFiles } from '../../src/analyze';
import { captureLossWarning, fileGapWarnings } from '../../src/report/capture-coverage';
import { candidateFileGaps, FileSpan } from '../../src/source/file-gaps';
import { splitPcap } from '../helpers/pcap-writer';
import { SAMPLES_DIR } from '../samples';

/**
 * A rotated capture (tcpdump -G, -C) analyzed with one file left out: the hole in time it leaves
 * read as packets the capturing tool dropped (and "capture with tcpdump -B"), and connections that
 * closed in it as still open. The hole is named instead (source/file-gaps.ts).
 */

describe('candidateFileGaps', () => {
  const span = (first: number, last: number, widestGap: number): FileSpan => ({ first, last, widestGap });

  test('a gap between files wider than any pause inside them is a candidate, named by the files around it', () => {
    expect(candidateFileGaps(['a', 'b', 'c'], [span(0, 1.8, 0.4), span(4, 5.8, 0.4), span(6, 7, 0.3)])).toEqual([{ from: 1.8, to: 4, before: 'a', after: 'b' }]);
  });

  test('traffic on a timer pauses alike inside and between files: a hair longer is no hole', () => {
    expect(candidateFileGaps(['a', 'b'], [span(0, 2, 1.0), span(3.002, 5, 1.0)])).toEqual([]);
  });

  test('a file without packets leaves no gap of its own; files that overlap leave none', () => {
    expect(candidateFileGaps(['empty', 'a', 'b'], [null, span(0, 2, 0.5), span(2.2, 4, 0.5)])).toEqual([]);
    expect(candidateFileGaps(['a', 'b', 'c'], [span(0, 10, 0.5), span(2, 4, 0.5), span(10.3, 12, 0.5)])).toEqual([]);
  });
});

describe('a rotated capture with one file left out', () => {
  const SAMPLE = path.join(SAMPLES_DIR, 'dead-upstream-nginx.pcap');
  let dir: string;
  let parts: string[];
  let missing: AnalysisResult;


  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conncheck-gaps-'));
    parts = splitPcap(fs.readFileSync(SAMPLE), 5).map((bytes, i) => {
      const file = path.join(dir, `rot-${i}.pcap`);
      fs.writeFileSync(file, bytes);
      return file;
    });
    missing = await analyzeFiles([parts[0], parts[1], parts[3], parts[4]], { collect: true });
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('the hole is named, with the files around it, and the loss put down to it, not to kernel drops', () => {
    const gaps = missing.input.fileGaps ?? [];
    expect(gaps).toHaveLength(1);
    expect(gaps[0]).toMatchObject({ before: 'rot-1.pcap', after: 'rot-3.pcap' });
    expect(gaps[0].to - gaps[0].from).toBeGreaterThan(1);
    expect(gaps[0].lostConnections).toBeGreaterThan(0);
    expect(missing.stats.captureLoss.inFileGaps).toEqual({ connections: missing.stats.captureLoss.connections, bytes: missing.stats.captureLoss.bytes });
    const loss = captureLossWarning(missing.stats, missing.input) ?? '';
    expect(loss).toMatch(/live across the gap the files leave \(from .* to .*, between rot-1\.pcap and rot-3\.pcap: a missing file\?\)/);
    expect(loss).not.toMatch(/dropped by kernel|tcpdump -B/);
    const [warning] = fileGapWarnings(missing.input);
    expect(warning).toMatch(/^warning: the files leave a gap from .* between rot-1\.pcap and rot-3\.pcap: a missing file\?/);
  });

  test('connections whose packets stop before the hole are not taken for still open', () => {
    const gap = (missing.input.fileGaps ?? [])[0];
    expect(gap.openBefore).toBeGreaterThan(0);
    expect(fileGapWarnings(missing.input)[0]).toMatch(/whose last packet came before it read as not closed: whether (it|they) closed in the gap is unknown/);
  });

  test('near miss: every file given, no hole and no loss', async () => {
    const all = await analyzeFiles(parts);
    expect(all.input.fileGaps).toBeUndefined();
    expect(all.stats.captureLoss.inFileGaps).toBeUndefined();
  });

  test('near miss: a single file keeps the drops wording', () => {
    const stats = { ...missing.stats, captureLoss: { connections: 2, bytes: 1000 } };
    const input = { ...missing.input, fileGaps: undefined };
    expect(captureLossWarning(stats, input)).toMatch(/dropped by kernel.*tcpdump -B 16384/);
  });
});

describe('a capture filtered to opens and closes on some connections (tcp[tcpflags] … or ip6)', () => {
  const SAMPLE = path.join(SAMPLES_DIR, 'dead-upstream-nginx.pcap');
  let dir: string;

  /** The sample without the packets of client port `port` that `drop` picks (Ethernet, IPv4, TCP). */
  function without(port: number, drop: (flags: number, payload: number, nth: number) => boolean): string {
    const data = fs.readFileSync(SAMPLE);
    const kept: Buffer[] = [data.subarray(0, 24)];
    let nth = 0;
    for (let o = 24; o + 16 <= data.length; ) {
      const caplen = data.readUInt32LE(o + 8);
      const rec = data.subarray(o, o + 16 + caplen);
      o += 16 + caplen;
      const ip = 16 + 14;
      const tcp = ip + (rec[ip] & 0x0f) * 4;
      if (rec.readUInt16BE(16 + 12) === 0x0800 && rec[ip + 9] === 6 && (rec.readUInt16BE(tcp) === port || rec.readUInt16BE(tcp + 2) === port)) {
        const payload = rec.readUInt16BE(ip + 2) - (tcp - ip) - (rec[tcp + 12] >> 4) * 4;
        if (drop(rec[tcp + 13], payload, nth++)) continue;
      }
      kept.push(rec);
    }
    const file = path.join(dir, `without-${port}-${kept.length}.pcap`);
    fs.writeFileSync(file, Buffer.concat(kept));
    return file;
  }

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conncheck-flags-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const SYN_FIN_RST = 0x07;

  test('a connection of which only SYNs, FINs and RSTs were kept: its loss is the filter, not drops', async () => {
    const result = await analyzeFiles([without(36750, (flags) => (flags & SYN_FIN_RST) === 0)]);
    expect(result.stats.captureLoss.noPayloadSeen).toEqual({ connections: 1, bytes: result.stats.captureLoss.bytes });
    const text = captureLossWarning(result.stats, result.input) ?? '';
    expect(text).toMatch(/no payload packet of any of them, only their opens and closes: a capture filter/);
    expect(text).not.toMatch(/dropped by kernel|tcpdump -B/);
  });

  test('near miss: a few data packets of a connection dropped are drops', async () => {
    const result = await analyzeFiles([without(36750, (flags, payload, nth) => payload > 0 && nth % 10 === 5)]);
    expect(result.stats.captureLoss.connections).toBeGreaterThan(0);
    expect(result.stats.captureLoss.noPayloadSeen).toBeUndefined();
    expect(captureLossWarning(result.stats, result.input)).toMatch(/dropped by kernel.*tcpdump -B 16384/);
  });
});
