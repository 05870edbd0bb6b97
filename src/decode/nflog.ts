import { u16 } from './bytes';
import { DecodeCursor, ETHERTYPE_IPV4, ETHERTYPE_IPV6, Step, stop } from './decode-cursor';
import { DecodeStatus, PacketView } from './packet-view';

const NFLOG_HEADER = 4; // family, version, resource id (big-endian)
const TLV_HEADER = 4; // length (of the whole TLV, header included), type
const NFULA_PAYLOAD = 9; // the packet, from its network header on
const AF_INET = 2;
const AF_INET6 = 10;
/** Linux adds about ten attributes before the payload (prefix, uid, gid, timestamp, hardware address...). */
const MAX_TLVS = 64;

/**
 * LINKTYPE_NFLOG (239): packets an iptables / nftables `NFLOG` rule sends to a netlink group,
 * captured with `tcpdump -i nflog:GROUP` (a firewall host logging what it drops or passes).
 * A 4-byte header names the address family; attributes follow as type-length-value items, each
 * padded to 4 bytes, and the one of type NFULA_PAYLOAD holds the IP packet. The attributes'
 * length and type are in the capturing host's byte order, which the file does not record: as
 * Wireshark does, the order in which the first attribute's length makes sense is taken.
 */
export function decodeNflog(data: Uint8Array, cur: DecodeCursor, view: PacketView): DecodeStatus | Step {
  const b = cur.base;
  if (cur.limit - b < NFLOG_HEADER) return stop(view, DecodeStatus.Truncated, 'link-header-truncated');
  const family = data[b];
  let network: number;
  if (family === AF_INET) network = ETHERTYPE_IPV4;
  else if (family === AF_INET6) network = ETHERTYPE_IPV6;
  else return stop(view, DecodeStatus.NotTcp, 'not-ip');
  let p = b + NFLOG_HEADER;
  if (p + TLV_HEADER > cur.limit) return stop(view, DecodeStatus.Truncated, 'link-header-truncated');
  const littleEndian = plausibleLength(data[p] | (data[p + 1] << 8), p, cur.wireEnd) || !plausibleLength(u16(data, p), p, cur.wireEnd);
  for (let i = 0; i < MAX_TLVS; i++) {
    if (p + TLV_HEADER > cur.limit) {
      return p + TLV_HEADER > cur.wireEnd ? stop(view, DecodeStatus.NotTcp, 'not-ip') : stop(view, DecodeStatus.Truncated, 'link-header-truncated');
    }
    const length = littleEndian ? data[p] | (data[p + 1] << 8) : u16(data, p);
    const type = (littleEndian ? data[p + 2] | (data[p + 3] << 8) : u16(data, p + 2)) & 0x7fff; // top bit: nested attribute
    if (!plausibleLength(length, p, cur.wireEnd)) return stop(view, DecodeStatus.Malformed, 'link-header-invalid');
    if (type === NFULA_PAYLOAD) {
      cur.offset = p + TLV_HEADER;
      cur.network = network;
      if (p + length < cur.wireEnd) cur.wireEnd = p + length;
      return Step.Continue;
    }
    p += (length + 3) & ~3;
  }
  return stop(view, DecodeStatus.Malformed, 'link-header-invalid');
}

function plausibleLength(length: number, at: number, end: number): boolean {
  return length >= TLV_HEADER && at + length <= end;
}
