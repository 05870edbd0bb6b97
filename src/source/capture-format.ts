import { isPcapMagic } from './pcap-reader';
import { SHB_TYPE } from './pcapng-reader';

export type ContainerKind = 'pcap' | 'pcapng' | 'gzip';

/** Bytes needed to tell the containers apart. */
export const MAGIC_BYTES = 4;

/** Modified-libpcap ("Kuznetsov") magic: pcap-like but with longer record headers. */
const MODIFIED_PCAP_MAGICS = [0xa1b2cd34, 0x34cdb2a1];

/** The container a file is, judged by its first bytes (never by its name). */
export function detectContainer(head: Uint8Array): ContainerKind | null {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length < MAGIC_BYTES) return null;
  const first4 = ((head[0] << 24) | (head[1] << 16) | (head[2] << 8) | head[3]) >>> 0;
  if (isPcapMagic(first4)) return 'pcap';
  if (first4 === SHB_TYPE) return 'pcapng';
  return null;
}

/**
 * What files handed over as captures turn out to be, by their first bytes, and what to do about
 * it: captures compressed by a tool other than gzip (Node's zlib reads only gzip here), other
 * capture formats that editcap converts, and things that are not captures at all.
 */
const KNOWN_OTHER_FILES: ReadonlyArray<{ test: (head: Uint8Array, text: string) => boolean; hint: string }> = [
  { test: (h) => startsWith(h, [0x28, 0xb5, 0x2f, 0xfd]), hint: 'zstd-compressed: decompress it first (zstd -d FILE, or zstdcat FILE | conncheck analyze -)' },
  { test: (h) => startsWith(h, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), hint: 'xz-compressed: decompress it first (xz -d FILE, or xzcat FILE | conncheck analyze -)' },
  { test: (h) => startsWith(h, [0x42, 0x5a, 0x68]), hint: 'bzip2-compressed: decompress it first (bunzip2 FILE, or bzcat FILE | conncheck analyze -)' },
  { test: (h) => startsWith(h, [0x04, 0x22, 0x4d, 0x18]), hint: 'lz4-compressed: decompress it first (lz4 -d FILE, or lz4cat FILE | conncheck analyze -)' },
  { test: (h) => startsWith(h, [0x50, 0x4b, 0x03, 0x04]), hint: 'a zip archive: unzip it and analyze the capture inside' },
  { test: (_h, t) => t.startsWith('snoop\0\0\0'), hint: 'Solaris snoop format: convert it with "editcap -F pcap FILE out.pcap"' },
  { test: (_h, t) => t.startsWith('RTSS') || t.startsWith('GMBU'), hint: 'Microsoft Network Monitor format: convert it with "editcap -F pcapng FILE out.pcapng"' },
  {
    // tcpdump's text (a timestamp, or its "reading from file" / "listening on" lines) or tshark's (frame number, time).
    test: (_h, t) => /^(\d{1,2}:\d{2}:\d{2}\.\d|\d{4}-\d{2}-\d{2} \d{2}:\d|reading from file|listening on |tcpdump: |\s*\d+\s+\d+\.\d)/.test(t),
    hint: 'the text tcpdump or tshark prints, not a capture: capture with "tcpdump -w FILE" (or tshark -w FILE) and analyze that file',
  },
  { test: (_h, t) => /^\s*<(!doctype html|html|\?xml)/i.test(t), hint: 'a web page or XML document, not a capture: did a download save an error or login page instead of the file?' },
];

function startsWith(head: Uint8Array, magic: number[]): boolean {
  return head.length >= magic.length && magic.every((b, i) => head[i] === b);
}

/** Extra words for a file that looks like a capture format we do not read, or like something else we can name; '' otherwise. */
export function unsupportedVariantHint(head: Uint8Array): string {
  if (head.length >= MAGIC_BYTES) {
    const first4 = ((head[0] << 24) | (head[1] << 16) | (head[2] << 8) | head[3]) >>> 0;
    if (MODIFIED_PCAP_MAGICS.includes(first4)) return '; modified-libpcap format, convert it with "editcap -F pcap"';
  }
  const text = Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString('latin1');
  const known = KNOWN_OTHER_FILES.find((k) => k.test(head, text));
  return known === undefined ? '' : `; ${known.hint}`;
}
