import { i32, u16 } from './bytes';
import { DecodeCursor, Step, stop } from './decode-cursor';
import { IPPROTO_AH } from './ip-auth-header';
import { DecodeStatus, PacketView } from './packet-view';

const FIXED_HEADER = 40;
const HOP_BY_HOP = 0;
const ROUTING = 43;
const FRAGMENT = 44;
const DESTINATION_OPTIONS = 60;
const NO_NEXT_HEADER = 59;
const FRAGMENT_HEADER_LENGTH = 8;
/** RFC 8200 allows each extension header at most once or twice; more than this is an attack or garbage. */
const MAX_EXTENSION_HEADERS = 16;

/**
 * IPv6 header and extension-header chain at cursor.offset. On success fills the view's
 * addresses and sets cursor.offset (upper-layer header), cursor.protocol and cursor.ipEnd.
 *
 * Payload length 0 is a jumbogram (RFC 2675) or a BIG TCP super-packet: the datagram runs to the
 * end of the packet on the wire (lengthFromCapture). A fragment header with offset 0 and M clear
 * is an atomic fragment (RFC 6946): the packet is whole and is decoded through; any other fragment
 * is reported as Fragment. Other next-header values (ESP, mobility, unknown) end at the caller,
 * which reports NotTcp.
 */
export function decodeIpv6(data: Uint8Array, cur: DecodeCursor, view: PacketView): DecodeStatus | Step {
  const o = cur.offset;
  if (o >= cur.limit) return stop(view, DecodeStatus.Truncated, 'ipv6-header-truncated');
  if (data[o] >> 4 !== 6) return stop(view, DecodeStatus.Malformed, 'ip-version-invalid');
  if (o + FIXED_HEADER > cur.wireEnd) return stop(view, DecodeStatus.Malformed, 'ipv6-header-invalid');
  if (o + FIXED_HEADER > cur.limit) return stop(view, DecodeStatus.Truncated, 'ipv6-header-truncated');

  const payloadLength = u16(data, o + 4);
  let ipEnd: number;
  if (payloadLength === 0) {
    ipEnd = cur.wireEnd;
    view.lengthFromCapture = true;
  } else {
    const end = o + FIXED_HEADER + payloadLength;
    ipEnd = end < cur.wireEnd ? end : cur.wireEnd;
  }

  view.ipVersion = 6;
  view.ipId = -1;
  view.ttl = data[o + 7];
  view.src0 = i32(data, o + 8);
  view.src1 = i32(data, o + 12);
  view.src2 = i32(data, o + 16);
  view.src3 = i32(data, o + 20);
  view.dst0 = i32(data, o + 24);
  view.dst1 = i32(data, o + 28);
  view.dst2 = i32(data, o + 32);
  view.dst3 = i32(data, o + 36);

  let next = data[o + 6];
  let p = o + FIXED_HEADER;
  for (let i = 0; i < MAX_EXTENSION_HEADERS; i++) {
    let length: number;
    switch (next) {
      case HOP_BY_HOP:
      case ROUTING:
      case DESTINATION_OPTIONS:
      case IPPROTO_AH:
        if (p + 2 > ipEnd) return stop(view, DecodeStatus.Malformed, 'ip-extension-header-invalid');
        if (p + 2 > cur.limit) return stop(view, DecodeStatus.Truncated, 'ipv6-header-truncated');
        // AH counts 32-bit words minus 2; the others count 8-byte units minus 1.
        length = next === IPPROTO_AH ? (data[p + 1] + 2) * 4 : (data[p + 1] + 1) * 8;
        break;
      case FRAGMENT: {
        if (p + FRAGMENT_HEADER_LENGTH > ipEnd) return stop(view, DecodeStatus.Malformed, 'ip-extension-header-invalid');
        if (p + FRAGMENT_HEADER_LENGTH > cur.limit) return stop(view, DecodeStatus.Truncated, 'ipv6-header-truncated');
        const offsetAndFlags = u16(data, p + 2);
        // offset (13 bits) << 3 | res(2) | M(1): anything but offset 0 with M clear is a real fragment.
        if ((offsetAndFlags & 0xfff9) !== 0) return stop(view, DecodeStatus.Fragment, 'ipv6-fragment');
        length = FRAGMENT_HEADER_LENGTH;
        break;
      }
      case NO_NEXT_HEADER:
        return stop(view, DecodeStatus.NotTcp, 'ipv6-no-next-header');
      default:
        cur.offset = p;
        cur.protocol = next;
        cur.ipEnd = ipEnd;
        return Step.Continue;
    }
    if (p + length > ipEnd) return stop(view, DecodeStatus.Malformed, 'ip-extension-header-invalid');
    next = data[p];
    p += length;
  }
  return stop(view, DecodeStatus.Malformed, 'ip-extension-header-invalid');
}
