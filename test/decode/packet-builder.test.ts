import { formatIpv6 } from '../../src/decode/address';
import { buildPcapFile, buildTcpPacket, LINKTYPE_LINUX_SLL2, parseIpv4, parseIpv6 } from '../helpers/packet-builder';
import { readCaptureSync } from '../helpers/mini-reader';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** One's-complement sum of 16-bit words: 0xffff when the embedded checksum is right. */
function onesSum(bytes: number[] | Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i] << 8) | (i + 1 < bytes.length ? bytes[i + 1] : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

describe('packet builder (test helper shared with the flow and HTTP tests)', () => {
  test('IPv4 header and TCP checksums are valid', () => {
    const frame = buildTcpPacket({ src: '192.0.2.1', dst: '198.51.100.7', ipOptions: [1, 1, 1, 1], payload: 'odd length' });
    const ip = frame.subarray(14, 14 + 24);
    expect(onesSum(ip)).toBe(0xffff);
    const tcp = frame.subarray(14 + 24);
    const pseudo = [...parseIpv4('192.0.2.1'), ...parseIpv4('198.51.100.7'), 0, 6, tcp.length >> 8, tcp.length & 0xff];
    expect(onesSum([...pseudo, ...tcp])).toBe(0xffff);
  });

  test('TCP checksum over IPv6 is valid', () => {
    const frame = buildTcpPacket({ src: '2001:db8::1', dst: 'fe80::2', payload: 'abc' });
    const tcp = frame.subarray(14 + 40);
    const pseudo = [...parseIpv6('2001:db8::1'), ...parseIpv6('fe80::2'), 0, 0, 0, tcp.length, 0, 0, 0, 6];
    expect(onesSum([...pseudo, ...tcp])).toBe(0xffff);
  });

  test.each(['::', '::1', '2001:db8::1', 'fe80::1:2', '1:2:3:4:5:6:7:8', '::ffff:10.1.2.3', '64:ff9b::c000:221'])('parseIpv6 round-trips %s', (text) => {
    const b = parseIpv6(text);
    const w = (i: number): number => ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
    expect(formatIpv6(w(0), w(4), w(8), w(12))).toBe(text);
  });

  test('rejects malformed addresses instead of building nonsense', () => {
    expect(() => parseIpv4('1.2.3')).toThrow();
    expect(() => parseIpv4('1.2.3.256')).toThrow();
    expect(() => parseIpv6('1:2:3')).toThrow();
    expect(() => parseIpv6('12345::')).toThrow();
  });

  test('buildPcapFile writes records the reader gets back unchanged', () => {
    const packets = [buildTcpPacket({ linkType: LINKTYPE_LINUX_SLL2, payload: 'one' }), buildTcpPacket({ linkType: LINKTYPE_LINUX_SLL2, payload: 'two!' })];
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'conncheck-builder-')), 'two.pcap');
    try {
      fs.writeFileSync(file, buildPcapFile(LINKTYPE_LINUX_SLL2, [{ data: packets[0] }, { data: packets[1], origLen: 500 }]));
      const got: Array<[number, string, number, number]> = [];
      const result = readCaptureSync(file, (linkType, data, caplen, origLen) => got.push([linkType, Buffer.from(data).toString('hex'), caplen, origLen]));
      expect(result).toEqual({ format: 'pcap', frames: 2, error: null });
      expect(got).toEqual([
        [LINKTYPE_LINUX_SLL2, Buffer.from(packets[0]).toString('hex'), packets[0].length, packets[0].length],
        [LINKTYPE_LINUX_SLL2, Buffer.from(packets[1]).toString('hex'), packets[1].length, 500],
      ]);
    } finally {
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    }
  });
});
