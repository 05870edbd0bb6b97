import { u16 } from './bytes';
import { DecodeCursor, Step, stop } from './decode-cursor';
import { followEtherType } from './ethertype';
import { DecodeStatus, PacketView } from './packet-view';

const SLL_HEADER = 16;
const SLL2_HEADER = 20;
/** ARPHRD_NETLINK: the protocol field holds a netlink family, not an EtherType. */
const ARPHRD_NETLINK = 824;
/** Protocol values below this are Linux's LINUX_SLL_P_* pseudo-types (802.2 frames, CAN, ...), not EtherTypes. */
const MIN_ETHERTYPE = 0x0600;

/**
 * Linux cooked capture v1 (LINKTYPE_LINUX_SLL, what `tcpdump -i any` wrote before libpcap 1.10):
 * packet type(2) ARPHRD type(2) address length(2) address(8) protocol(2).
 */
export function decodeLinuxSll(data: Uint8Array, cur: DecodeCursor, view: PacketView): DecodeStatus | Step {
  const b = cur.base;
  if (cur.limit - b < SLL_HEADER) return stop(view, DecodeStatus.Truncated, 'link-header-truncated');
  return followCookedProtocol(data, u16(data, b + 2), u16(data, b + 14), b + SLL_HEADER, cur, view);
}

/**
 * Linux cooked capture v2 (LINKTYPE_LINUX_SLL2): protocol(2) reserved(2) interface index(4)
 * ARPHRD type(2) packet type(1) address length(1) address(8).
 */
export function decodeLinuxSll2(data: Uint8Array, cur: DecodeCursor, view: PacketView): DecodeStatus | Step {
  const b = cur.base;
  if (cur.limit - b < SLL2_HEADER) return stop(view, DecodeStatus.Truncated, 'link-header-truncated');
  return followCookedProtocol(data, u16(data, b + 8), u16(data, b), b + SLL2_HEADER, cur, view);
}

function followCookedProtocol(
  data: Uint8Array,
  arphrd: number,
  protocol: number,
  offset: number,
  cur: DecodeCursor,
  view: PacketView,
): DecodeStatus | Step {
  if (arphrd === ARPHRD_NETLINK || protocol < MIN_ETHERTYPE) return stop(view, DecodeStatus.NotTcp, 'not-ip');
  return followEtherType(data, protocol, offset, cur, view);
}
