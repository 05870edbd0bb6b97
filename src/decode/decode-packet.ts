import { DecodeCursor, ETHERTYPE_IPV4, ETHERTYPE_IPV6, Step, stop } from './decode-cursor';
import { decodeEthernet } from './ethernet';
import { decodeIpv4 } from './ipv4';
import { decodeIpv6 } from './ipv6';
import { LinkType } from './link-type';
import { decodeLinuxSll, decodeLinuxSll2 } from './linux-cooked';
import { decodeNullLoop } from './null-loop';
import { DecodeStatus, PacketView } from './packet-view';
import { decodeRawIp, looksLikeRawIp, rawAs } from './raw-ip';
import { decodeTcp } from './tcp';

const IPPROTO_IPIP = 4;
const IPPROTO_TCP = 6;
const IPPROTO_IPV6 = 41;
/** Outer IP plus up to three nested IP-in-IP / 6in4 headers. */
const MAX_IP_HEADERS = 4;

/** The decoder's only state: reset per packet, so decoding allocates nothing. */
const cursor = new DecodeCursor();

/**
 * Decodes one captured packet into `view` (filled in place). Never throws and allocates nothing:
 * every problem becomes a DecodeStatus plus `view.issue`, for the caller to count and skip.
 *
 * @param linkType libpcap LINKTYPE_* value (upper FCS bits are ignored)
 * @param data     the captured bytes (only the first `caplen` are read)
 * @param caplen   bytes captured
 * @param origLen  length of the packet on the wire (>= caplen when snaplen cut it)
 */
export function decodePacket(
  linkType: number,
  data: Uint8Array,
  caplen: number,
  origLen: number,
  view: PacketView,
  start = 0,
): DecodeStatus {
  resetView(view);
  // Defensive: a reader may hand over a caplen larger than the buffer, or nonsense (NaN, negative, fractional).
  const available = data.length - start > 0 ? data.length - start : 0;
  const captured = caplen >= 0 ? (caplen < available ? Math.floor(caplen) : available) : 0;
  // A record claiming fewer bytes on the wire than captured (6 robustness files) trusts the capture.
  const wire = origLen > captured ? Math.floor(origLen) : captured;
  // Offsets (and view.payloadOffset) are positions in `data`: the packet is decoded where it lies.
  cursor.reset(start, start + captured, start + wire);
  try {
    const step = decodeLinkLayer(linkType & 0xffff, data, view);
    if (step !== Step.Continue) return step;
    return decodeIpChain(data, view);
  } catch {
    // Unreachable by design (all reads are bounds-checked); kept so that a decoder bug costs
    // one packet, counted under its own issue, instead of the whole analysis.
    return stop(view, DecodeStatus.Malformed, 'decoder-error');
  }
}

function decodeLinkLayer(linkType: number, data: Uint8Array, view: PacketView): DecodeStatus | Step {
  switch (linkType) {
    case LinkType.ETHERNET:
      return decodeEthernet(data, cursor, view);
    case LinkType.LINUX_SLL:
      return decodeLinuxSll(data, cursor, view);
    case LinkType.LINUX_SLL2:
      return decodeLinuxSll2(data, cursor, view);
    case LinkType.NULL:
    case LinkType.LOOP:
      return decodeNullLoop(data, cursor, view);
    case LinkType.RAW:
    case LinkType.RAW_14:
      return decodeRawIp(data, cursor, view);
    case LinkType.RAW_12:
      // DLT_RAW everywhere but OpenBSD, where 12 is DLT_LOOP: a first byte that is not an IP
      // version nibble can only be the loop header's family field.
      return looksLikeRawIp(data, cursor) ? decodeRawIp(data, cursor, view) : decodeNullLoop(data, cursor, view);
    case LinkType.IPV4:
      return rawAs(ETHERTYPE_IPV4, cursor);
    case LinkType.IPV6:
      return rawAs(ETHERTYPE_IPV6, cursor);
    default:
      return stop(view, DecodeStatus.UnsupportedLink, 'unsupported-link-type');
  }
}

/**
 * IP header(s) then TCP. IP-in-IP (protocol 4) and 6in4 / IPv6-in-IPv6 (41) are followed to the
 * innermost header, whose addresses the view keeps (as tshark does: the header right in front of
 * TCP names the connection). The inner datagram is bounded by the outer one.
 */
function decodeIpChain(data: Uint8Array, view: PacketView): DecodeStatus {
  for (let depth = 0; depth < MAX_IP_HEADERS; depth++) {
    const step = cursor.network === ETHERTYPE_IPV6 ? decodeIpv6(data, cursor, view) : decodeIpv4(data, cursor, view);
    if (step !== Step.Continue) return step;
    switch (cursor.protocol) {
      case IPPROTO_TCP:
        return decodeTcp(data, cursor.offset, cursor.ipEnd, cursor.limit, view);
      case IPPROTO_IPIP:
        cursor.network = ETHERTYPE_IPV4;
        cursor.wireEnd = cursor.ipEnd;
        break;
      case IPPROTO_IPV6:
        cursor.network = ETHERTYPE_IPV6;
        cursor.wireEnd = cursor.ipEnd;
        break;
      default:
        return stop(view, DecodeStatus.NotTcp, 'not-tcp');
    }
  }
  return stop(view, DecodeStatus.NotTcp, 'ip-tunnel-too-deep');
}

/** Clears what a previous packet may have left; addresses and ports are always rewritten on Tcp. */
function resetView(view: PacketView): void {
  view.hasMss = false;
  view.mss = 0;
  view.hasWindowScale = false;
  view.windowScale = 0;
  view.sackPermitted = false;
  view.hasTimestamp = false;
  view.tsVal = 0;
  view.tsEcr = 0;
  view.headerTruncated = false;
  view.lengthFromCapture = false;
  view.optionsMalformed = false;
  view.outerVlan = -1;
  view.innerVlan = -1;
  view.issue = 'none';
}
