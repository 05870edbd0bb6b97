import { DecodeCursor, ETHERTYPE_IPV4, ETHERTYPE_IPV6, Step, stop } from './decode-cursor';
import { decodeEthernet } from './ethernet';
import { decodeIcmp, IPPROTO_ICMP, IPPROTO_ICMPV6 } from './icmp';
import { decodeIpv4 } from './ipv4';
import { decodeIpv6 } from './ipv6';
import { LinkType } from './link-type';
import { decodeLinuxSll, decodeLinuxSll2 } from './linux-cooked';
import { decodeNflog } from './nflog';
import { decodeNullLoop } from './null-loop';
import { decodePktap } from './pktap';
import { DecodeStatus, PacketView } from './packet-view';
import { decodeRawIp, looksLikeRawIp, rawAs } from './raw-ip';
import { decodeTcp } from './tcp';
import { decodeTcpOptions } from './tcp-options';
import { decodeGre, decodeUdpTunnel, IPPROTO_GRE, IPPROTO_UDP, TUNNEL_IP_IN_IP, TUNNEL_NONE } from './tunnel';

const IPPROTO_IPIP = 4;
const IPPROTO_TCP = 6;
const IPPROTO_IPV6 = 41;
/** Outer IP plus up to five nested ones (IP-in-IP, 6in4, GRE, VXLAN, GENEVE: see tunnel.ts). */
const MAX_IP_HEADERS = 6;

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
 * @param dataView a DataView over exactly `data` (same buffer, offset and length), when the caller has one
 */
export function decodePacket(
  linkType: number,
  data: Uint8Array,
  caplen: number,
  origLen: number,
  view: PacketView,
  start = 0,
  dataView?: DataView,
): DecodeStatus {
  const captured = capturedLength(data, caplen, start);
  const wire = wireLength(origLen, captured);
  // Offsets (and view.payloadOffset) are positions in `data`: the packet is decoded where it lies.
  if ((linkType & 0xffff) === ETHERNET) {
    try {
      // Compared with true: a call's result tested for truthiness costs a full test (about ten
      // instructions) when it is true, as it is for nearly every packet.
      if (decodePlainEthernetIpv4Tcp(data, start, start + captured, start + wire, view, dataView) === true) return TCP;
    } catch {
      // Only a DataView left stale by a resizable buffer that changed size could throw here
      // (readers never hand over one): forget the one kept here, and decode the packet the layered way.
      viewedBytes = null;
    }
  }
  return decodeLayers(linkType, data, start, captured, wire, view);
}

/**
 * decodePacket without its plain path (decodePlainEthernetIpv4Tcp): every packet layer by layer.
 * For the test that compares the two paths (test/decode/plain-path.test.ts).
 */
export function decodePacketLayered(
  linkType: number,
  data: Uint8Array,
  caplen: number,
  origLen: number,
  view: PacketView,
  start = 0,
): DecodeStatus {
  const captured = capturedLength(data, caplen, start);
  return decodeLayers(linkType, data, start, captured, wireLength(origLen, captured), view);
}

/** Bytes of the packet present: a reader may hand over a caplen larger than the buffer, or nonsense (NaN, negative, fractional). */
function capturedLength(data: Uint8Array, caplen: number, start: number): number {
  const available = data.length - start > 0 ? data.length - start : 0;
  return caplen >= 0 ? (caplen < available ? Math.floor(caplen) : available) : 0;
}

/** Length on the wire: a record claiming fewer bytes on the wire than captured (6 robustness files) trusts the capture. */
function wireLength(origLen: number, captured: number): number {
  return origLen > captured ? Math.floor(origLen) : captured;
}

function decodeLayers(linkType: number, data: Uint8Array, start: number, captured: number, wire: number, view: PacketView): DecodeStatus {
  resetView(view);
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
    case LinkType.NFLOG:
      return decodeNflog(data, cursor, view);
    case LinkType.PKTAP:
      return decodePktap(data, cursor, view, decodeLinkLayer);
    default:
      return stop(view, DecodeStatus.UnsupportedLink, 'unsupported-link-type');
  }
}

/**
 * IP header(s) then TCP. IP-in-IP (protocol 4), 6in4 / IPv6-in-IPv6 (41), GRE (47) and VXLAN or
 * GENEVE over UDP (17) are followed to the innermost IP header, whose addresses the view keeps (as
 * tshark does: the header right in front of TCP names the connection). An inner packet is bounded
 * by the outer one.
 */
function decodeIpChain(data: Uint8Array, view: PacketView): DecodeStatus {
  for (let depth = 0; depth < MAX_IP_HEADERS; depth++) {
    const step = cursor.network === ETHERTYPE_IPV6 ? decodeIpv6(data, cursor, view) : decodeIpv4(data, cursor, view);
    if (step !== Step.Continue) return step;
    let inner: DecodeStatus | Step;
    switch (cursor.protocol) {
      case IPPROTO_TCP:
        return decodeTcp(data, cursor.offset, cursor.ipEnd, cursor.limit, view);
      case IPPROTO_IPIP:
        if (view.tunnel === TUNNEL_NONE) view.tunnel = TUNNEL_IP_IN_IP;
        cursor.network = ETHERTYPE_IPV4;
        cursor.wireEnd = cursor.ipEnd;
        break;
      case IPPROTO_IPV6:
        if (view.tunnel === TUNNEL_NONE) view.tunnel = TUNNEL_IP_IN_IP;
        cursor.network = ETHERTYPE_IPV6;
        cursor.wireEnd = cursor.ipEnd;
        break;
      case IPPROTO_UDP:
        inner = decodeUdpTunnel(data, cursor, view);
        if (inner !== Step.Continue) return inner;
        break;
      case IPPROTO_GRE:
        inner = decodeGre(data, cursor, view);
        if (inner !== Step.Continue) return inner;
        break;
      case IPPROTO_ICMP:
      case IPPROTO_ICMPV6:
        // Off the TCP path: an error quoting a TCP segment is news about a connection (icmp.ts).
        // ICMPv6 belongs in IPv6 and ICMP in IPv4; a mix names no sender in the quote's family.
        if ((cursor.protocol === IPPROTO_ICMPV6) !== (cursor.network === ETHERTYPE_IPV6)) return stop(view, DecodeStatus.NotTcp, 'not-tcp');
        return decodeIcmp(data, cursor, view, cursor.protocol === IPPROTO_ICMPV6);
      default:
        return stop(view, DecodeStatus.NotTcp, 'not-tcp');
    }
  }
  return stop(view, DecodeStatus.NotTcp, 'ip-tunnel-too-deep');
}

/**
 * The link type, status and EtherType the plain path tests, as module constants: TypeScript compiles
 * an imported constant or enum member (with `isolatedModules`, even a `const enum`'s) to a property
 * read at run time; V8 folds a module constant into the compiled code.
 */
const ETHERNET = LinkType.ETHERNET;
const TCP = DecodeStatus.Tcp;
const ETHERTYPE_IPV4_VALUE = ETHERTYPE_IPV4;
const NOT_TUNNELED = TUNNEL_NONE;

const ETHERNET_HEADER = 14;
/** Version 4, header length 5 words: an IPv4 header without options. */
const IPV4_NO_OPTIONS = 0x45;
const IPV4_HEADER = 20;
/** Fragment offset and More Fragments (DF does not make a fragment). */
const IPV4_FRAGMENT_MASK = 0x3fff;
const TCP_HEADER = 20;
/** TCP option bytes of the layout NOP, NOP, Timestamps (kind 8, length 10), and its first four bytes. */
const TIMESTAMP_LAYOUT = 12;
const TIMESTAMP_LAYOUT_START = 0x0101080a;

/**
 * Most packets are Ethernet II, IPv4 without options, not a fragment, TCP with its header fully
 * captured, in a buffer shared with other packets (see dataViewOf). This decodes exactly that case
 * in one function, with the checks the layer-by-layer path makes for it (ethernet.ts, ipv4.ts,
 * tcp.ts) and the same result; anything else (VLAN tags,
 * IP options, fragments, tunnels, IPv6, cut or inconsistent headers) returns false before the view
 * is touched, and decodeGeneral handles the packet. The layers cost a call each and V8 inlined
 * none of them: about half of the decode stage's instructions.
 * test/decode/plain-path.test.ts compares the two paths on generated and mutated packets.
 */
function decodePlainEthernetIpv4Tcp(data: Uint8Array, b: number, limit: number, wireEnd: number, view: PacketView, given: DataView | undefined): boolean {
  const ip = b + ETHERNET_HEADER;
  const tcp = ip + IPV4_HEADER;
  // Ethernet and IPv4 headers captured, with the TCP header's fixed 20 bytes (a packet with fewer
  // fails the header length test below anyway). Every read below stays under `limit` (or, past the
  // TCP check, under the captured header's end).
  if (tcp + TCP_HEADER > limit) return false;
  // The readers hand over their chunk's DataView with every record (and the carry buffer's with a
  // record a chunk boundary cut). Kept here instead (dataViewOf), it was made again at every
  // change of buffer, a path no packet had taken since the first when V8 compiled this function:
  // the first record cut by a chunk boundary threw the compiled code away.
  let bytes = given;
  if (bytes === undefined) {
    // A short buffer is one packet's own copy: no DataView for it (see dataViewOf), the layered way.
    if (data !== viewedBytes && data.length < SHARED_BUFFER_BYTES) return false;
    bytes = dataViewOf(data);
  }
  // Neighbouring fields are read as one 32-bit word (each read costs a bounds check): the EtherType
  // with IPv4's version and header length; IPv4's total length and identification; its flags and
  // fragment offset with the protocol; TCP's ports; its data offset, flags and window.
  const linkWord = bytes.getInt32(b + 12);
  const lengthWord = bytes.getInt32(ip + 2);
  const fragmentWord = bytes.getInt32(ip + 6);
  if (linkWord >>> 16 !== ETHERTYPE_IPV4_VALUE || ((linkWord >>> 8) & 0xff) !== IPV4_NO_OPTIONS) return false;
  const totalLength = lengthWord >>> 16;
  if (totalLength < IPV4_HEADER || ((fragmentWord >>> 16) & IPV4_FRAGMENT_MASK) !== 0 || (fragmentWord & 0xff) !== IPPROTO_TCP) return false;
  const ipEnd = ip + totalLength < wireEnd ? ip + totalLength : wireEnd;
  const segmentLength = ipEnd - tcp;
  const tcpWord3 = bytes.getInt32(tcp + 12);
  const headerLength = (tcpWord3 >>> 28) * 4;
  const capturedEnd = limit < ipEnd ? limit : ipEnd;
  if (headerLength < TCP_HEADER || headerLength > segmentLength || capturedEnd - tcp < headerLength) return false;

  resetView(view);
  view.ipVersion = 4;
  view.ipId = lengthWord & 0xffff;
  view.ttl = (fragmentWord >>> 8) & 0xff;
  view.src0 = bytes.getInt32(ip + 12);
  view.src1 = 0;
  view.src2 = 0;
  view.src3 = 0;
  view.dst0 = bytes.getInt32(ip + 16);
  view.dst1 = 0;
  view.dst2 = 0;
  view.dst3 = 0;
  const ports = bytes.getInt32(tcp);
  view.srcPort = ports >>> 16;
  view.dstPort = ports & 0xffff;
  view.seq = bytes.getUint32(tcp + 4);
  view.ack = bytes.getUint32(tcp + 8);
  view.flags = (tcpWord3 >>> 16) & 0xff;
  view.window = tcpWord3 & 0xffff;
  view.tcpChecksum = bytes.getUint16(tcp + 16);
  const payloadOffset = tcp + headerLength;
  view.payloadOffset = payloadOffset;
  view.payloadLen = segmentLength - headerLength;
  view.capturedPayloadLen = capturedEnd > payloadOffset ? capturedEnd - payloadOffset : 0;
  const options = tcp + TCP_HEADER;
  if (headerLength === TCP_HEADER + TIMESTAMP_LAYOUT && bytes.getInt32(options) === TIMESTAMP_LAYOUT_START) {
    // Past the handshake Linux sends exactly this layout: read without walking the options.
    view.hasTimestamp = true;
    view.tsVal = bytes.getUint32(options + 4);
    view.tsEcr = bytes.getUint32(options + 8);
  } else if (headerLength > TCP_HEADER) {
    decodeTcpOptions(data, options, payloadOffset, capturedEnd, view);
  }
  return true;
}

/** The buffer the last packet lay in, and a DataView over it (see dataViewOf). */
let viewedBytes: Uint8Array | null = null;
let viewOfBytes: DataView = new DataView(new ArrayBuffer(0));

/**
 * Buffers at least this long hold many packets (a reader's chunk: 1 MiB from files, 64 KiB pipe
 * reads, 256 KiB from gzip); shorter ones are most likely one packet's own copy (the reorder
 * window's slots, a live capture's packet).
 */
const SHARED_BUFFER_BYTES = 32 * 1024;

/**
 * A DataView over `data`, made again only when the buffer changes: readers hand over every packet
 * of a chunk in the same buffer. A DataView reads a big-endian 16- or 32-bit field with one bounds
 * check, where composing it from a Uint8Array paid a check per byte. Making one costs about a
 * thousand instructions, so it is not made for a short buffer (SHARED_BUFFER_BYTES).
 */
function dataViewOf(data: Uint8Array): DataView {
  if (data !== viewedBytes) {
    viewOfBytes = new DataView(data.buffer, data.byteOffset, data.byteLength);
    viewedBytes = data;
  }
  return viewOfBytes;
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
  view.tunnel = NOT_TUNNELED;
  view.issue = 'none';
}
