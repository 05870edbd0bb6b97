import { i32, u16 } from './bytes';
import { DecodeCursor, Step, stop } from './decode-cursor';
import { IPPROTO_AH, skipAuthHeaders } from './ip-auth-header';
import { DecodeStatus, PacketView } from './packet-view';

const MIN_HEADER = 20;
/** Fragment offset (13 bits) and More Fragments flag; DF (0x4000) does not make a fragment. */
const FRAGMENT_MASK = 0x3fff;

/**
 * IPv4 header at cursor.offset. On success fills the view's addresses and sets cursor.offset
 * (transport header), cursor.protocol and cursor.ipEnd, and returns Step.Continue.
 *
 * Lengths: the datagram ends at offset + total length, clamped to the packet on the wire (as
 * Wireshark does: a length field never makes the packet longer than it was). Ethernet padding
 * after the datagram is thereby ignored. Total length 0 is what TSO / BIG TCP captures show for
 * super-packets: the datagram then runs to the end of the packet (lengthFromCapture).
 * Options are skipped after a well-formedness walk (see optionsWellFormed). Checksums are never
 * checked: offload makes them wrong on the capturing host.
 */
export function decodeIpv4(data: Uint8Array, cur: DecodeCursor, view: PacketView): DecodeStatus | Step {
  const o = cur.offset;
  if (o >= cur.limit) return stop(view, DecodeStatus.Truncated, 'ipv4-header-truncated');
  if (data[o] >> 4 !== 4) return stop(view, DecodeStatus.Malformed, 'ip-version-invalid');
  const headerLength = (data[o] & 0x0f) * 4;
  if (headerLength < MIN_HEADER || o + headerLength > cur.wireEnd) {
    return stop(view, DecodeStatus.Malformed, 'ipv4-header-length-invalid');
  }
  if (o + headerLength > cur.limit) return stop(view, DecodeStatus.Truncated, 'ipv4-header-truncated');
  if (headerLength > MIN_HEADER && !optionsWellFormed(data, o + MIN_HEADER, o + headerLength)) {
    return stop(view, DecodeStatus.Malformed, 'ipv4-options-invalid');
  }

  const totalLength = u16(data, o + 2);
  let ipEnd: number;
  if (totalLength === 0) {
    ipEnd = cur.wireEnd;
    view.lengthFromCapture = true;
  } else if (totalLength < headerLength) {
    return stop(view, DecodeStatus.Malformed, 'ipv4-total-length-invalid');
  } else {
    ipEnd = o + totalLength < cur.wireEnd ? o + totalLength : cur.wireEnd;
  }

  if ((u16(data, o + 6) & FRAGMENT_MASK) !== 0) return stop(view, DecodeStatus.Fragment, 'ipv4-fragment');

  view.ipVersion = 4;
  view.ipId = u16(data, o + 4);
  view.ttl = data[o + 8];
  view.src0 = i32(data, o + 12);
  view.src1 = 0;
  view.src2 = 0;
  view.src3 = 0;
  view.dst0 = i32(data, o + 16);
  view.dst1 = 0;
  view.dst2 = 0;
  view.dst3 = 0;

  cur.offset = o + headerLength; // options skipped
  cur.protocol = data[o + 9];
  cur.ipEnd = ipEnd;
  if (cur.protocol === IPPROTO_AH) return skipAuthHeaders(data, cur, view);
  return Step.Continue;
}

/**
 * The option list must parse as type-length-value items inside the header: a length below 2 or
 * past the header is what makes Linux drop the packet (ip_options_compile → parameter problem),
 * so the endpoint never saw the segment. Options are not interpreted, and per-option rules (e.g.
 * the Security option's fixed 11 bytes, which tshark enforces) are not checked: a receiving stack
 * skips options it does not process.
 */
function optionsWellFormed(data: Uint8Array, start: number, end: number): boolean {
  let p = start;
  while (p < end) {
    const kind = data[p];
    if (kind === 0) return true; // End of Option List: the rest is padding
    if (kind === 1) {
      p++; // No-Operation
      continue;
    }
    if (p + 1 >= end) return false;
    const length = data[p + 1];
    if (length < 2 || p + length > end) return false;
    p += length;
  }
  return true;
}
