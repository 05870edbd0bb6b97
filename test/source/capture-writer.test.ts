import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PcapngWriter } from '../../src/source/capture-writer';
import { readCapture } from '../../src/source/open-capture';

describe('PcapngWriter (capture -w FILE.pcapng)', () => {
  test('packets read back with the very same timestamps, lengths, link types and bytes', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'conncheck-writer-')), 'out.pcapng');
    const writer = new PcapngWriter(file, 65535);
    const written: Array<{ ts: number; linkType: number; bytes: number[]; origLen: number }> = [];
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    // Increasing times: with two interfaces the reader puts packets back in time order.
    let second = 1795299660;
    for (let i = 0; i < 2000; i++) {
      second += 1 + Math.floor(random() * 3);
      const ts = second + Math.floor(random() * 1e9) / 1e9;
      const linkType = i % 3 === 0 ? 276 : 1;
      const bytes = Array.from({ length: 1 + (i % 70) }, (_, k) => (i + k) & 0xff);
      const origLen = bytes.length + (i % 5);
      written.push({ ts, linkType, bytes, origLen });
      writer.write({ frame: i + 1, ts, caplen: bytes.length, origLen, linkType, data: Uint8Array.from(bytes) });
    }
    writer.close();
    const read: typeof written = [];
    const info = await readCapture(file, (p) => read.push({ ts: p.ts, linkType: p.linkType, bytes: [...p.data], origLen: p.origLen }));
    expect(info.format).toBe('pcapng');
    expect(info.linkTypes.sort()).toEqual([1, 276]);
    expect(read).toEqual(written);
  });
});
