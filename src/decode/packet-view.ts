import type { DecodeIssue } from './decode-issue';

/**
 * The decoded view of one packet. A single instance is filled in place for every
 * packet (gopacket's DecodingLayer habit), so decoding allocates nothing.
 * Fields are valid only when `decodePacket` returned DecodeStatus.Tcp.
 */
export class PacketView {
  ipVersion: 4 | 6 = 4;
  /**
   * Source / destination address as four big-endian 32-bit words (IPv4 uses word 0, the rest 0),
   * each as a signed 32-bit integer (see bytes.ts i32): `w >>> 0` gives the unsigned value.
   */
  src0 = 0; src1 = 0; src2 = 0; src3 = 0;
  dst0 = 0; dst1 = 0; dst2 = 0; dst3 = 0;
  srcPort = 0;
  dstPort = 0;
  /** Raw 32-bit sequence and acknowledgement numbers (unsigned). */
  seq = 0;
  ack = 0;
  /** TCP flag bits as on the wire (FIN=0x01 SYN=0x02 RST=0x04 PSH=0x08 ACK=0x10 URG=0x20 ECE=0x40 CWR=0x80). */
  flags = 0;
  /** Window field as on the wire, before scaling. */
  window = 0;
  /**
   * IPv4 identification, or -1 (IPv6 has none), and the TCP checksum as captured, or -1 when
   * snaplen cut it. Never verified (checksum offload makes them wrong on the capturing host): with
   * the other header fields they tell a capture's second copy of a packet from a retransmission,
   * which a sender sends with a new identification and timestamp (flow/capture-copies.ts).
   */
  ipId = -1;
  tcpChecksum = -1;
  /**
   * IPv4 TTL or IPv6 hop limit of the IP header in front of TCP (the innermost), as captured. Each
   * router takes one off, so the packets of one sender reach a capture point with one TTL; a reset
   * with another TTL than its side's other packets was sent from somewhere else (a middlebox).
   */
  ttl = 0;
  /** Payload length by the IP header (what the sender put on the wire), for sequence accounting. */
  payloadLen = 0;
  /** Offset of the TCP payload within the packet data. */
  payloadOffset = 0;
  /** Payload bytes actually captured (<= payloadLen when snaplen cut the packet). */
  capturedPayloadLen = 0;
  /** TCP options (only meaningful when the corresponding has* flag is set). */
  hasMss = false; mss = 0;
  hasWindowScale = false; windowScale = 0;
  sackPermitted = false;
  hasTimestamp = false; tsVal = 0; tsEcr = 0;
  /** True when the TCP header or options were cut by snaplen (still usable: ports/seq/flags present). */
  headerTruncated = false;
  /** True when the IP checksum or lengths disagree with what was captured in a tolerated way (TSO: IP total length 0). */
  lengthFromCapture = false;
  /** True when the option walk met an impossible option length; options read before it are kept, the segment is usable. */
  optionsMalformed = false;
  /** 802.1Q/802.1ad VLAN IDs of the outermost and second tag (-1 = no such tag), as Zeek's vlan / inner_vlan. */
  outerVlan = -1;
  innerVlan = -1;
  /**
   * The encapsulation the TCP packet was found in (decode/tunnel.ts TUNNEL_*: IP-in-IP, GRE, ERSPAN,
   * VXLAN, GENEVE; the outermost when they nest), or 0 (TUNNEL_NONE). The addresses are the inner ones.
   */
  tunnel = 0;
  /** Why the packet was not Tcp, or the reservation on a Tcp packet; 'none' when clean. Valid for every status. */
  issue: DecodeIssue = 'none';
  /**
   * Valid only when `decodePacket` returned DecodeStatus.IcmpError: the ICMP (ICMPv6) type and code,
   * and the address of the error's sender (the outer IP source, four words as src0..src3). The
   * quoted segment's addresses, ports and sequence number are then in src*, dst*, srcPort, dstPort
   * and seq, as the quoted packet carried them (from the connection's sender). Written only on that
   * rare path: the TCP path never touches them.
   */
  icmpType = 0;
  icmpCode = 0;
  icmpFrom0 = 0; icmpFrom1 = 0; icmpFrom2 = 0; icmpFrom3 = 0;
}

export const enum TcpFlag {
  FIN = 0x01,
  SYN = 0x02,
  RST = 0x04,
  PSH = 0x08,
  ACK = 0x10,
  URG = 0x20,
  ECE = 0x40,
  CWR = 0x80,
}

/** Outcome of decoding one packet. Everything but Tcp is counted by the caller and skipped. */
export const enum DecodeStatus {
  /** A TCP segment; the PacketView is filled. */
  Tcp = 0,
  /** Valid IP but not TCP (UDP, ICMP, ...), or a non-IP frame (ARP, LLDP, ...). */
  NotTcp = 1,
  /** An IP fragment (first fragments included): counted, not reassembled. IPv6 atomic fragments are whole packets and decode as Tcp. */
  Fragment = 2,
  /** The packet ends before the headers needed (snaplen or a cut record). */
  Truncated = 3,
  /** Header fields that make no sense (bad version, header length beyond the packet, ...). */
  Malformed = 4,
  /** A link type conncheck does not decode. */
  UnsupportedLink = 5,
  /**
   * An ICMP destination unreachable or time exceeded (ICMPv6 likewise) quoting the header of a TCP
   * segment: not a segment, but news about one (a SYN rejected on the way). The view holds the
   * quote's 4-tuple and sequence number and the icmp* fields; nothing else in it is valid.
   */
  IcmpError = 6,
}
