import { i32, u16, u32 } from './bytes';
import { DecodeCursor, stop } from './decode-cursor';
import { DecodeStatus, PacketView } from './packet-view';

export const IPPROTO_ICMP = 1;
export const IPPROTO_ICMPV6 = 58;
const IPPROTO_TCP = 6;

/** ICMPv4 destination unreachable (RFC 792) and time exceeded. */
export const ICMP_UNREACHABLE = 3;
export const ICMP_TIME_EXCEEDED = 11;
/** ICMPv6 destination unreachable and time exceeded (RFC 4443). */
export const ICMPV6_UNREACHABLE = 1;
export const ICMPV6_TIME_EXCEEDED = 3;

/** ICMP header in front of the quote: type, code, checksum, 4 unused (or MTU) bytes. */
const ICMP_HEADER = 8;
const IPV4_HEADER = 20;
const IPV6_HEADER = 40;
/** What a quote must hold of the TCP header: ports and sequence number (RFC 792 asks for 8 bytes). */
const QUOTED_TCP = 8;
const FRAGMENT_OFFSET_MASK = 0x1fff;
/** IPv6 extension headers a quote may carry before TCP (hop-by-hop, routing, destination options). */
const HOP_BY_HOP = 0;
const ROUTING = 43;
const DESTINATION_OPTIONS = 60;
const MAX_QUOTED_EXTENSIONS = 4;

/**
 * An ICMP (ICMPv6) message at cursor.offset, bounded by the IP datagram (cursor.ipEnd) and the
 * capture (cursor.limit). Only the errors that end a TCP connect are read: destination
 * unreachable (every code: port unreachable from an nft/iptables REJECT or kube-proxy, host or net
 * unreachable from a router, administratively prohibited) and time exceeded. Their quoted datagram
 * must be an IP header of the same family followed by at least 8 bytes of TCP header; then the
 * view holds the quote's 4-tuple and sequence number (see PacketView.icmpType) and the status is
 * IcmpError. Anything else is NotTcp: echo, neighbour discovery and a quote of UDP as 'not-tcp',
 * as before; a quote cut short or malformed under its own issue. Allocates nothing.
 */
export function decodeIcmp(data: Uint8Array, cur: DecodeCursor, view: PacketView, v6: boolean): DecodeStatus {
  const o = cur.offset;
  const end = cur.limit < cur.ipEnd ? cur.limit : cur.ipEnd;
  if (o + 2 > end) return stop(view, DecodeStatus.NotTcp, 'not-tcp');
  const type = data[o];
  const error = v6 ? type === ICMPV6_UNREACHABLE || type === ICMPV6_TIME_EXCEEDED : type === ICMP_UNREACHABLE || type === ICMP_TIME_EXCEEDED;
  if (!error) return stop(view, DecodeStatus.NotTcp, 'not-tcp');
  const code = data[o + 1];
  // The sender of the error is the outer header's source, which the IP layer put in the view.
  const from0 = view.src0;
  const from1 = view.src1;
  const from2 = view.src2;
  const from3 = view.src3;
  const q = o + ICMP_HEADER;
  let t: number;
  if (!v6) {
    if (q + IPV4_HEADER > end) return stop(view, DecodeStatus.NotTcp, 'icmp-quote-truncated');
    if (data[q] >> 4 !== 4) return stop(view, DecodeStatus.NotTcp, 'icmp-quote-invalid');
    const headerLength = (data[q] & 0x0f) * 4;
    if (headerLength < IPV4_HEADER) return stop(view, DecodeStatus.NotTcp, 'icmp-quote-invalid');
    if (data[q + 9] !== IPPROTO_TCP) return stop(view, DecodeStatus.NotTcp, 'not-tcp');
    // A later fragment carries no TCP header to quote.
    if ((u16(data, q + 6) & FRAGMENT_OFFSET_MASK) !== 0) return stop(view, DecodeStatus.NotTcp, 'not-tcp');
    t = q + headerLength;
    if (t + QUOTED_TCP > end) return stop(view, DecodeStatus.NotTcp, 'icmp-quote-truncated');
    view.ipVersion = 4;
    view.src0 = i32(data, q + 12);
    view.src1 = 0;
    view.src2 = 0;
    view.src3 = 0;
    view.dst0 = i32(data, q + 16);
    view.dst1 = 0;
    view.dst2 = 0;
    view.dst3 = 0;
  } else {
    if (q + IPV6_HEADER > end) return stop(view, DecodeStatus.NotTcp, 'icmp-quote-truncated');
    if (data[q] >> 4 !== 6) return stop(view, DecodeStatus.NotTcp, 'icmp-quote-invalid');
    let next = data[q + 6];
    t = q + IPV6_HEADER;
    for (let i = 0; next !== IPPROTO_TCP; i++) {
      if (i === MAX_QUOTED_EXTENSIONS || (next !== HOP_BY_HOP && next !== ROUTING && next !== DESTINATION_OPTIONS)) {
        return stop(view, DecodeStatus.NotTcp, 'not-tcp');
      }
      if (t + 2 > end) return stop(view, DecodeStatus.NotTcp, 'icmp-quote-truncated');
      next = data[t];
      t += (data[t + 1] + 1) * 8;
    }
    if (t + QUOTED_TCP > end) return stop(view, DecodeStatus.NotTcp, 'icmp-quote-truncated');
    view.ipVersion = 6;
    view.src0 = i32(data, q + 8);
    view.src1 = i32(data, q + 12);
    view.src2 = i32(data, q + 16);
    view.src3 = i32(data, q + 20);
    view.dst0 = i32(data, q + 24);
    view.dst1 = i32(data, q + 28);
    view.dst2 = i32(data, q + 32);
    view.dst3 = i32(data, q + 36);
  }
  view.srcPort = u16(data, t);
  view.dstPort = u16(data, t + 2);
  view.seq = u32(data, t + 4);
  // The rest of the quoted header may be cut (8 bytes are all RFC 792 asks for): left out.
  view.ack = 0;
  view.flags = 0;
  view.window = 0;
  view.payloadLen = 0;
  view.capturedPayloadLen = 0;
  view.payloadOffset = t;
  view.icmpType = type;
  view.icmpCode = code;
  view.icmpFrom0 = from0;
  view.icmpFrom1 = from1;
  view.icmpFrom2 = from2;
  view.icmpFrom3 = from3;
  view.issue = 'icmp-error';
  return DecodeStatus.IcmpError;
}
