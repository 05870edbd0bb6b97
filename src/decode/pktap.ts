import { u32le } from './bytes';
import { DecodeCursor, Step, stop } from './decode-cursor';
import { LinkType } from './link-type';
import { DecodeStatus, PacketView } from './packet-view';

/**
 * The fixed part of Apple's PKTAP header: length, record type, DLT, interface name (24 bytes),
 * flags, protocol family, link-layer header and trailer lengths, process id and name, service
 * class, interface type and unit, effective process id and name. The length field may say more
 * (a later macOS extending it); the packet starts where it says.
 */
const PKTAP_MIN_HEADER = 108;
/** Well past any header macOS writes, and small enough that a length field of another format fails. */
const PKTAP_MAX_HEADER = 4096;
/** Record types: PKT_REC_NONE carries no packet, PKT_REC_PACKET one of link type `dlt`. */
const PKT_REC_PACKET = 1;

/** Decodes the link layer of the given type at `cur.base` (decode-packet.ts's dispatch). */
export type LinkDecoder = (linkType: number, data: Uint8Array, view: PacketView) => DecodeStatus | Step;

/**
 * LINKTYPE_PKTAP (258): what macOS's tcpdump writes when no interface is named, or with
 * `-i pktap` / `-i any`: each packet behind a header naming the interface and the process that
 * sent or received it, then the packet as that interface's own link type (Ethernet for en0, BSD
 * loopback for lo0, raw IP or loopback for a utun VPN interface). The header's fields are
 * little-endian (libpcap and tcpdump read them so: Apple's machines are). The inner type is a DLT
 * value, which for every link macOS has is also its LINKTYPE value. Link type 149 (DLT_USER2,
 * PKTAP's number inside macOS, found in a few old files) is left undecoded, as tshark does.
 */
export function decodePktap(data: Uint8Array, cur: DecodeCursor, view: PacketView, decodeInner: LinkDecoder): DecodeStatus | Step {
  const b = cur.base;
  if (cur.limit - b < PKTAP_MIN_HEADER) return stop(view, DecodeStatus.Truncated, 'link-header-truncated');
  const length = u32le(data, b);
  if (length < PKTAP_MIN_HEADER || length > PKTAP_MAX_HEADER || b + length > cur.wireEnd) {
    return stop(view, DecodeStatus.Malformed, 'link-header-invalid');
  }
  if (b + length > cur.limit) return stop(view, DecodeStatus.Truncated, 'link-header-truncated');
  if (u32le(data, b + 4) !== PKT_REC_PACKET) return stop(view, DecodeStatus.NotTcp, 'not-ip');
  const inner = u32le(data, b + 8);
  // Never written by macOS; following it would let a crafted file nest headers without end.
  if (inner === LinkType.PKTAP) return stop(view, DecodeStatus.Malformed, 'link-header-invalid');
  cur.base = b + length;
  cur.offset = cur.base;
  return decodeInner(inner, data, view);
}
