/**
 * Bounds that tell a damaged record header from a big packet.
 *
 * libpcap and Wireshark refuse records above 262144 bytes for ordinary link types; a
 * snaplen above that may allow more (D-Bus, USB captures), but never beyond 16 MiB here:
 * fuzzed headers that claim 4 MB-4 GB (corpus: bug-1450-04, bug-6875-01, smtp-to-comma)
 * must stop the reader, not make it buffer the rest of the file.
 */
export const STANDARD_MAX_RECORD = 262144;
export const ABSOLUTE_MAX_RECORD = 16 * 1024 * 1024;

/** Largest caplen a pcap record may claim given the file's snaplen. */
export function maxPcapCaplen(snaplen: number): number {
  return Math.max(STANDARD_MAX_RECORD, Math.min(snaplen, ABSOLUTE_MAX_RECORD));
}

/** Largest pcapng block accepted: a maximal packet plus room for block headers and options. */
export const MAX_PCAPNG_BLOCK = ABSOLUTE_MAX_RECORD + 64 * 1024;
