import { readFileSync } from 'fs';

/**
 * A minimal, synchronous pcap / pcapng walker for tests that need real captures (the corpus
 * check) without depending on src/source. Reads the whole file; stops at the first record or
 * block that does not fit, as Wireshark's readers do, and says why in `error`.
 * Not a product reader: no gzip, no streaming, timestamps are not interpreted.
 */

export type MiniPacketHandler = (linkType: number, data: Uint8Array, caplen: number, origLen: number) => void;

export interface MiniReadResult {
  format: 'pcap' | 'pcapng' | 'unknown';
  frames: number;
  /** Why reading stopped early (null when the file was read to its end). */
  error: string | null;
}

/** Wireshark refuses records above this for Ethernet-like link types (WTAP_MAX_PACKET_SIZE_STANDARD). */
const MAX_RECORD = 262144;

export function readCaptureSync(path: string, onPacket: MiniPacketHandler): MiniReadResult {
  const file = readFileSync(path);
  const bytes = new Uint8Array(file.buffer, file.byteOffset, file.byteLength);
  if (bytes.length < 4) return { format: 'unknown', frames: 0, error: 'file too short' };
  const magicLe = u32(bytes, 0, true);
  if (magicLe === 0x0a0d0d0a) return readPcapng(bytes, onPacket);
  if (magicLe === 0xa1b2c3d4 || magicLe === 0xa1b23c4d) return readPcap(bytes, true, onPacket);
  if (magicLe === 0xd4c3b2a1 || magicLe === 0x4d3cb2a1) return readPcap(bytes, false, onPacket);
  return { format: 'unknown', frames: 0, error: 'not a pcap or pcapng file' };
}

function readPcap(bytes: Uint8Array, le: boolean, onPacket: MiniPacketHandler): MiniReadResult {
  if (bytes.length < 24) return { format: 'pcap', frames: 0, error: 'short file header' };
  const major = u16(bytes, 4, le);
  if (major !== 2) return { format: 'pcap', frames: 0, error: `unsupported pcap version ${major}` };
  const linkType = u32(bytes, 20, le) & 0xffff;
  let o = 24;
  let frames = 0;
  while (o < bytes.length) {
    if (o + 16 > bytes.length) return { format: 'pcap', frames, error: 'cut record header' };
    const caplen = u32(bytes, o + 8, le);
    const origLen = u32(bytes, o + 12, le);
    if (caplen > MAX_RECORD) return { format: 'pcap', frames, error: `record of ${caplen} bytes` };
    if (o + 16 + caplen > bytes.length) return { format: 'pcap', frames, error: 'cut record' };
    onPacket(linkType, bytes.subarray(o + 16, o + 16 + caplen), caplen, origLen);
    frames++;
    o += 16 + caplen;
  }
  return { format: 'pcap', frames, error: null };
}

interface Interface {
  linkType: number;
  snaplen: number;
}

function readPcapng(bytes: Uint8Array, onPacket: MiniPacketHandler): MiniReadResult {
  let o = 0;
  let frames = 0;
  let le = true;
  let interfaces: Interface[] = [];
  const fail = (error: string): MiniReadResult => ({ format: 'pcapng', frames, error });
  while (o < bytes.length) {
    if (o + 12 > bytes.length) return fail('cut block header');
    const type = u32(bytes, o, le);
    if (u32(bytes, o, true) === 0x0a0d0d0a) {
      // Section header: its byte-order magic decides how this section is read.
      const magic = u32(bytes, o + 8, true);
      if (magic === 0x1a2b3c4d) le = true;
      else if (magic === 0x4d3c2b1a) le = false;
      else return fail('bad byte-order magic');
      const major = u16(bytes, o + 12, le);
      if (major !== 1) return fail(`unsupported pcapng version ${major}`);
      interfaces = [];
    }
    const length = u32(bytes, o + 4, le);
    if (length < 12 || length % 4 !== 0) return fail(`bad block length ${length}`);
    if (o + length > bytes.length) return fail('cut block');
    const body = o + 8;
    switch (type) {
      case 1: // IDB
        interfaces.push({ linkType: u16(bytes, body, le), snaplen: u32(bytes, body + 4, le) });
        break;
      case 6: // EPB
      case 2: {
        // OPB (obsolete): 16-bit interface id + 16-bit drops, same layout otherwise
        const id = type === 6 ? u32(bytes, body, le) : u16(bytes, body, le);
        const caplen = u32(bytes, body + 12, le);
        const origLen = u32(bytes, body + 16, le);
        if (id >= interfaces.length) return fail(`undefined interface ${id}`);
        if (body + 20 + caplen > o + length - 4) return fail('packet overruns its block');
        onPacket(interfaces[id].linkType, bytes.subarray(body + 20, body + 20 + caplen), caplen, origLen);
        frames++;
        break;
      }
      case 3: {
        // SPB: caplen is what the block holds, at most the first interface's snaplen
        if (interfaces.length === 0) return fail('SPB without interface');
        const origLen = u32(bytes, body, le);
        let caplen = Math.min(origLen, length - 16);
        if (interfaces[0].snaplen > 0) caplen = Math.min(caplen, interfaces[0].snaplen);
        onPacket(interfaces[0].linkType, bytes.subarray(body + 4, body + 4 + caplen), caplen, origLen);
        frames++;
        break;
      }
      default:
        break; // SHB handled above; NRB, ISB, custom, ... carry no packets
    }
    o += length;
  }
  return { format: 'pcapng', frames, error: null };
}

function u16(b: Uint8Array, o: number, le: boolean): number {
  return le ? b[o] | (b[o + 1] << 8) : (b[o] << 8) | b[o + 1];
}

function u32(b: Uint8Array, o: number, le: boolean): number {
  return (le ? b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24) : (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}
