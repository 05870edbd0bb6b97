import { u16 } from './bytes';
import { DecodeCursor, Step, stop } from './decode-cursor';
import { boundWireEnd, followEtherType } from './ethertype';
import { DecodeStatus, PacketView } from './packet-view';

const ETHERNET_HEADER = 14;
/** Type/length values up to 1500 are an 802.3 length, not an EtherType. */
const MAX_8023_LENGTH = 1500;
const LLC_SNAP_HEADER = 8;

/**
 * Ethernet II (and 802.3 with an LLC/SNAP header carrying an EtherType, RFC 1042).
 * Padding after the IP datagram is left to the IP layer, which trusts its own length.
 */
export function decodeEthernet(data: Uint8Array, cur: DecodeCursor, view: PacketView): DecodeStatus | Step {
  const b = cur.base;
  if (cur.limit - b < ETHERNET_HEADER) return stop(view, DecodeStatus.Truncated, 'link-header-truncated');
  const typeOrLength = u16(data, b + 12);
  if (typeOrLength > MAX_8023_LENGTH) return followEtherType(data, typeOrLength, b + ETHERNET_HEADER, cur, view);
  // 802.3: the length field counts the LLC header and payload, so it also bounds the IP datagram.
  boundWireEnd(cur, b + ETHERNET_HEADER + typeOrLength);
  return decodeLlcSnap(data, b + ETHERNET_HEADER, cur, view);
}

function decodeLlcSnap(data: Uint8Array, offset: number, cur: DecodeCursor, view: PacketView): DecodeStatus | Step {
  if (offset + 3 > cur.limit) return stop(view, DecodeStatus.Truncated, 'link-header-truncated');
  // DSAP 0xAA, SSAP 0xAA, control 0x03 (UI) = SNAP; any other LLC payload (STP, NetBIOS, ...) is not IP.
  if (data[offset] !== 0xaa || data[offset + 1] !== 0xaa || data[offset + 2] !== 0x03) {
    return stop(view, DecodeStatus.NotTcp, 'not-ip');
  }
  if (offset + LLC_SNAP_HEADER > cur.limit) return stop(view, DecodeStatus.Truncated, 'link-header-truncated');
  // OUI 00-00-00 (RFC 1042) and 00-00-F8 (802.1H) mean "the PID is an EtherType"; other OUIs are vendor protocols.
  const ouiHigh = u16(data, offset + 3);
  const ouiLow = data[offset + 5];
  if (ouiHigh !== 0 || (ouiLow !== 0x00 && ouiLow !== 0xf8)) return stop(view, DecodeStatus.NotTcp, 'not-ip');
  return followEtherType(data, u16(data, offset + 6), offset + LLC_SNAP_HEADER, cur, view);
}
