import { DecodeCursor, Step, stop } from './decode-cursor';
import { DecodeStatus, PacketView } from './packet-view';

export const IPPROTO_AH = 51;
/** A real packet has one AH; the bound only stops crafted chains. */
const MAX_AH_HEADERS = 4;

/**
 * Skips IP Authentication Headers (RFC 4302) in front of the transport header: AH only
 * authenticates, the payload stays readable (unlike ESP). Length field = 32-bit words - 2.
 * Expects cursor.offset/protocol/ipEnd set by the IP layer; moves them past the AH chain.
 */
export function skipAuthHeaders(data: Uint8Array, cur: DecodeCursor, view: PacketView): DecodeStatus | Step {
  let o = cur.offset;
  let protocol = cur.protocol;
  for (let i = 0; i < MAX_AH_HEADERS && protocol === IPPROTO_AH; i++) {
    if (o + 2 > cur.ipEnd) return stop(view, DecodeStatus.Malformed, 'ip-extension-header-invalid');
    if (o + 2 > cur.limit) return stop(view, DecodeStatus.Truncated, 'ip-ah-header-truncated');
    const length = (data[o + 1] + 2) * 4;
    if (o + length > cur.ipEnd) return stop(view, DecodeStatus.Malformed, 'ip-extension-header-invalid');
    protocol = data[o];
    o += length;
  }
  if (protocol === IPPROTO_AH) return stop(view, DecodeStatus.Malformed, 'ip-extension-header-invalid');
  cur.offset = o;
  cur.protocol = protocol;
  return Step.Continue;
}
