import { u16 } from './bytes';
import { DecodeCursor, ETHERTYPE_IPV4, ETHERTYPE_IPV6, Step, stop } from './decode-cursor';
import { DecodeStatus, PacketView } from './packet-view';

const ETHERTYPE_VLAN = 0x8100; // 802.1Q C-tag
const ETHERTYPE_QINQ = 0x88a8; // 802.1ad S-tag
const ETHERTYPE_QINQ_OLD1 = 0x9100; // pre-standard QinQ tags still seen on switches
const ETHERTYPE_QINQ_OLD2 = 0x9200;
const ETHERTYPE_MPLS = 0x8847;
const ETHERTYPE_MPLS_MULTICAST = 0x8848;
const ETHERTYPE_PPPOE_SESSION = 0x8864;
const PPP_IPV4 = 0x0021;
const PPP_IPV6 = 0x0057;

/** Bounds the walk through stacked tags/labels so a crafted frame cannot keep us busy. */
const MAX_LINK_HOPS = 16;
const MAX_MPLS_LABELS = 16;

/**
 * Follows an EtherType (from Ethernet, LLC/SNAP or a Linux cooked header) through VLAN tags,
 * MPLS labels and a PPPoE session header to the IP header. On success sets cursor.offset and
 * cursor.network and returns Step.Continue. Records the first two VLAN IDs on the view.
 */
export function followEtherType(
  data: Uint8Array,
  etherType: number,
  offset: number,
  cur: DecodeCursor,
  view: PacketView,
): DecodeStatus | Step {
  let type = etherType;
  let o = offset;
  const limit = cur.limit;
  for (let hop = 0; hop < MAX_LINK_HOPS; hop++) {
    switch (type) {
      case ETHERTYPE_IPV4:
      case ETHERTYPE_IPV6:
        cur.offset = o;
        cur.network = type;
        return Step.Continue;
      case ETHERTYPE_VLAN:
      case ETHERTYPE_QINQ:
      case ETHERTYPE_QINQ_OLD1:
      case ETHERTYPE_QINQ_OLD2: {
        if (o + 4 > limit) return stop(view, DecodeStatus.Truncated, 'link-header-truncated');
        const vlanId = u16(data, o) & 0x0fff; // low 12 bits of the TCI; PCP and DEI are not identity
        if (view.outerVlan < 0) view.outerVlan = vlanId;
        else if (view.innerVlan < 0) view.innerVlan = vlanId;
        type = u16(data, o + 2);
        o += 4;
        break;
      }
      case ETHERTYPE_MPLS:
      case ETHERTYPE_MPLS_MULTICAST: {
        let bottom = false;
        for (let label = 0; label < MAX_MPLS_LABELS && !bottom; label++) {
          if (o + 4 > limit) return stop(view, DecodeStatus.Truncated, 'link-header-truncated');
          bottom = (data[o + 2] & 0x01) !== 0;
          o += 4;
        }
        if (!bottom) return stop(view, DecodeStatus.Malformed, 'link-header-invalid');
        if (o >= limit) return stop(view, DecodeStatus.Truncated, 'link-header-truncated');
        // MPLS does not say what it carries; like Wireshark, guess IP from the version nibble.
        // Anything else (pseudowire control word, Ethernet PW) is not decoded.
        const version = data[o] >> 4;
        if (version === 4) type = ETHERTYPE_IPV4;
        else if (version === 6) type = ETHERTYPE_IPV6;
        else return stop(view, DecodeStatus.NotTcp, 'not-ip');
        break;
      }
      case ETHERTYPE_PPPOE_SESSION: {
        // 6-byte PPPoE header, then the 2-byte PPP protocol field.
        if (o + 8 > limit) return stop(view, DecodeStatus.Truncated, 'link-header-truncated');
        // The PPPoE length (PPP protocol field + payload) bounds the IP datagram, as tshark honours it.
        boundWireEnd(cur, o + 6 + u16(data, o + 4));
        const ppp = u16(data, o + 6);
        o += 8;
        if (ppp === PPP_IPV4) type = ETHERTYPE_IPV4;
        else if (ppp === PPP_IPV6) type = ETHERTYPE_IPV6;
        else return stop(view, DecodeStatus.NotTcp, 'not-ip');
        break;
      }
      default:
        return stop(view, DecodeStatus.NotTcp, 'not-ip');
    }
  }
  return stop(view, DecodeStatus.Malformed, 'link-header-invalid');
}

/** A link-layer length field ends the packet there (padding after it is not payload). */
export function boundWireEnd(cur: DecodeCursor, end: number): void {
  if (end < cur.wireEnd) cur.wireEnd = end;
}
