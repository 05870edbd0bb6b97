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

/** Extra words for a file that looks like a capture format we do not read, or ''. */
export function unsupportedVariantHint(head: Uint8Array): string {
  if (head.length < MAGIC_BYTES) return '';
  const first4 = ((head[0] << 24) | (head[1] << 16) | (head[2] << 8) | head[3]) >>> 0;
  if (MODIFIED_PCAP_MAGICS.includes(first4)) return '; modified-libpcap format, convert it with "editcap -F pcap"';
  return '';
}
