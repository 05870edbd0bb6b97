import { u32, u32le } from './bytes';
import { DecodeCursor, ETHERTYPE_IPV4, ETHERTYPE_IPV6, Step, stop } from './decode-cursor';
import { DecodeStatus, PacketView } from './packet-view';

const NULL_HEADER = 4;
const AF_INET = 2;

/**
 * AF_INET6 differs per OS: 10 Linux, 23 Windows (Npcap loopback), 24 NetBSD/OpenBSD/BSD/OS,
 * 28 FreeBSD/DragonFly, 30 macOS/iOS. None of them is another OS's AF_INET, so all are accepted.
 */
function isInet6Family(family: number): boolean {
  return family === 24 || family === 28 || family === 30 || family === 10 || family === 23;
}

function networkOf(family: number): number {
  if (family === AF_INET) return ETHERTYPE_IPV4;
  if (isInet6Family(family)) return ETHERTYPE_IPV6;
  return 0;
}

/**
 * BSD loopback (LINKTYPE_NULL: family in the capturing host's byte order) and OpenBSD loop
 * (LINKTYPE_LOOP: network byte order, though writers have got that wrong). The capturing host's
 * byte order is unknown, so both orders are tried: families are small numbers, so a value that
 * fits in the low byte in one order cannot also be a family in the other.
 */
export function decodeNullLoop(data: Uint8Array, cur: DecodeCursor, view: PacketView): DecodeStatus | Step {
  const b = cur.base;
  if (cur.limit - b < NULL_HEADER) return stop(view, DecodeStatus.Truncated, 'link-header-truncated');
  let network = networkOf(u32le(data, b));
  if (network === 0) network = networkOf(u32(data, b));
  if (network === 0) return stop(view, DecodeStatus.NotTcp, 'not-ip');
  cur.offset = b + NULL_HEADER;
  cur.network = network;
  return Step.Continue;
}
