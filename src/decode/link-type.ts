/**
 * libpcap LINKTYPE_* values conncheck decodes (https://www.tcpdump.org/linktypes.html).
 * Only the low 16 bits of a pcap link-type field are the link type; the upper bits carry FCS
 * information (78 corpus files set them).
 */
export const LinkType = {
  /** BSD loopback: 4-byte address family in the capturing host's byte order. */
  NULL: 0,
  ETHERNET: 1,
  /**
   * DLT_RAW on most platforms (but DLT_LOOP on OpenBSD). Wireshark and libpcap read 12 in a
   * savefile as raw IP, so we do too, falling back to LOOP when the first byte is not an IP version.
   */
  RAW_12: 12,
  /** DLT_RAW on OpenBSD and BSD/OS. */
  RAW_14: 14,
  /** LINKTYPE_RAW: raw IPv4 or IPv6, version from the first nibble. */
  RAW: 101,
  /** OpenBSD loopback: like NULL, family in network byte order (we accept both orders). */
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  /** Linux netfilter NFLOG (`tcpdump -i nflog:GROUP`): a family header and type-length-value attributes. */
  NFLOG: 239,
  /** Apple PKTAP (macOS `tcpdump` without `-i`, or `-i pktap`): a header naming interface and process, then the interface's own link type. */
  PKTAP: 258,
  LINUX_SLL2: 276,
} as const;
