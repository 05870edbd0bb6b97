import { u16, u32 } from './bytes';
import { DecodeCursor, ETHERTYPE_IPV4, ETHERTYPE_IPV6, Step, stop } from './decode-cursor';
import { decodeEthernet } from './ethernet';
import { followEtherType } from './ethertype';
import { DecodeStatus, PacketView } from './packet-view';

/**
 * Tunnels whose inner TCP conncheck analyzes. A capture on a Kubernetes node's or a hypervisor's
 * physical interface holds the pods' and VMs' traffic inside an overlay (flannel, Calico VXLAN
 * mode, Cilium, OVN: VXLAN or GENEVE); a cloud traffic mirror delivers copies inside VXLAN (AWS VPC
 * Traffic Mirroring, Azure vTAP); a switch's remote SPAN delivers them inside GRE (ERSPAN). Without
 * decapsulation every one of those packets would be "not TCP".
 *
 * As tshark does, the innermost IP header names the connection; the outer addresses and the
 * virtual network id are not kept, so two tenants' networks that reuse the same addresses inside
 * one capture would be taken for one (README "Limits").
 *
 * Recognised:
 * - VXLAN (RFC 7348) on UDP destination port 4789, and 8472 (the Linux kernel's own default, used
 *   by flannel), with the I flag set; VXLAN-GPE on 4790 carrying Ethernet, IPv4 or IPv6.
 * - GENEVE (RFC 8926) on UDP destination port 6081, version 0, carrying Ethernet, IPv4 or IPv6.
 * - GRE version 0 (RFC 2784/2890): IPv4, IPv6, MPLS, transparent Ethernet bridging (gretap,
 *   NVGRE), ERSPAN types I, II and III (frame type Ethernet or IP), and Cisco WCCP redirection.
 *   GRE version 1 (PPTP) carries PPP, in practice compressed or encrypted: not decoded.
 * Each of these is reached from the IP layer (decode-packet.ts decodeIpChain), which then decodes
 * the inner IP header.
 */

/** Which encapsulation a TCP packet was found in (the outermost one, when they nest). */
export const TUNNEL_NONE = 0;
export const TUNNEL_IP_IN_IP = 1;
export const TUNNEL_GRE = 2;
export const TUNNEL_ERSPAN = 3;
export const TUNNEL_VXLAN = 4;
export const TUNNEL_GENEVE = 5;

/** Names of the encapsulations, indexed by the constants above (the keys of stats.tunneled). */
export const TUNNEL_NAMES: readonly string[] = ['', 'ip-in-ip', 'gre', 'erspan', 'vxlan', 'geneve'];

export const IPPROTO_UDP = 17;
export const IPPROTO_GRE = 47;

const UDP_HEADER = 8;
const ETHERNET_HEADER = 14;
const PORT_VXLAN = 4789;
const PORT_VXLAN_LINUX = 8472;
const PORT_VXLAN_GPE = 4790;
const PORT_GENEVE = 6081;
const VXLAN_HEADER = 8;
const VXLAN_FLAG_I = 0x08;
const VXLAN_GPE_FLAG_P = 0x04;
const GENEVE_HEADER = 8;

const ETHERTYPE_TEB = 0x6558; // transparent Ethernet bridging: an Ethernet frame follows
const ETHERTYPE_MPLS = 0x8847;
const ETHERTYPE_ERSPAN_II = 0x88be; // also type I, which has no ERSPAN header and no GRE sequence number
const ETHERTYPE_ERSPAN_III = 0x22eb;
const ETHERTYPE_WCCP = 0x883e;

const GRE_CHECKSUM = 0x8000;
const GRE_ROUTING = 0x4000;
const GRE_KEY = 0x2000;
const GRE_SEQUENCE = 0x1000;
const GRE_VERSION = 0x0007;
const ERSPAN_II_HEADER = 8;
const ERSPAN_III_HEADER = 12;
const ERSPAN_III_SUBHEADER = 8;

/**
 * The UDP datagram at cursor.offset (inside [offset, cursor.ipEnd)): a VXLAN or GENEVE packet is
 * opened, anything else is not TCP.
 */
export function decodeUdpTunnel(data: Uint8Array, cur: DecodeCursor, view: PacketView): DecodeStatus | Step {
  const o = cur.offset;
  if (o + 4 > cur.limit) return stop(view, DecodeStatus.NotTcp, 'not-tcp'); // the ports are cut: UDP of some kind
  const port = u16(data, o + 2);
  if (port !== PORT_VXLAN && port !== PORT_VXLAN_LINUX && port !== PORT_GENEVE && port !== PORT_VXLAN_GPE) {
    return stop(view, DecodeStatus.NotTcp, 'not-tcp');
  }
  if (o + UDP_HEADER > cur.limit) return stop(view, DecodeStatus.Truncated, 'tunnel-header-truncated');
  // The UDP length bounds the inner packet. Segmentation offload can leave it 0 or short of a
  // super-packet captured whole (as IPv4's total length, see ipv4.ts): then the IP datagram does.
  const udpLength = u16(data, o + 4);
  const end = udpLength >= UDP_HEADER && o + udpLength <= cur.ipEnd ? o + udpLength : cur.ipEnd;
  const h = o + UDP_HEADER;
  if (port === PORT_GENEVE) return openGeneve(data, h, end, cur, view);
  if (h + VXLAN_HEADER > end) return stop(view, DecodeStatus.NotTcp, 'not-tcp');
  if (h + VXLAN_HEADER > cur.limit) return stop(view, DecodeStatus.Truncated, 'tunnel-header-truncated');
  const flags = data[h];
  if ((flags & VXLAN_FLAG_I) === 0) return stop(view, DecodeStatus.NotTcp, 'not-tcp'); // no valid VNI: not VXLAN
  if (port === PORT_VXLAN_GPE && (flags & VXLAN_GPE_FLAG_P) !== 0) {
    // Next protocol (RFC draft-ietf-nvo3-vxlan-gpe): 1 IPv4, 2 IPv6, 3 Ethernet; 4 (NSH) and others are not followed.
    const next = data[h + 3];
    if (next === 1) return enterNetwork(data, ETHERTYPE_IPV4, h + VXLAN_HEADER, end, TUNNEL_VXLAN, cur, view);
    if (next === 2) return enterNetwork(data, ETHERTYPE_IPV6, h + VXLAN_HEADER, end, TUNNEL_VXLAN, cur, view);
    if (next !== 3) return stop(view, DecodeStatus.NotTcp, 'not-tcp');
  }
  return enterEthernet(data, h + VXLAN_HEADER, end, TUNNEL_VXLAN, cur, view);
}

/** GENEVE: version 0, options of 4-byte words, then the protocol its type names. */
function openGeneve(data: Uint8Array, h: number, end: number, cur: DecodeCursor, view: PacketView): DecodeStatus | Step {
  if (h + GENEVE_HEADER > end) return stop(view, DecodeStatus.NotTcp, 'not-tcp');
  if (h + GENEVE_HEADER > cur.limit) return stop(view, DecodeStatus.Truncated, 'tunnel-header-truncated');
  if (data[h] >> 6 !== 0) return stop(view, DecodeStatus.NotTcp, 'not-tcp'); // a GENEVE version not defined
  const inner = h + GENEVE_HEADER + (data[h] & 0x3f) * 4;
  if (inner > end) return stop(view, DecodeStatus.Malformed, 'tunnel-header-invalid');
  if (inner > cur.limit) return stop(view, DecodeStatus.Truncated, 'tunnel-header-truncated');
  const protocol = u16(data, h + 2);
  if (protocol === ETHERTYPE_TEB) return enterEthernet(data, inner, end, TUNNEL_GENEVE, cur, view);
  if (protocol === ETHERTYPE_IPV4 || protocol === ETHERTYPE_IPV6) return enterNetwork(data, protocol, inner, end, TUNNEL_GENEVE, cur, view);
  return stop(view, DecodeStatus.NotTcp, 'not-tcp');
}

/** The GRE packet at cursor.offset (inside [offset, cursor.ipEnd)). */
export function decodeGre(data: Uint8Array, cur: DecodeCursor, view: PacketView): DecodeStatus | Step {
  const o = cur.offset;
  const end = cur.ipEnd;
  if (o + 4 > end) return stop(view, DecodeStatus.Malformed, 'tunnel-header-invalid');
  if (o + 4 > cur.limit) return stop(view, DecodeStatus.Truncated, 'tunnel-header-truncated');
  const flags = u16(data, o);
  // Version 1 is PPTP's enhanced GRE (PPP inside); source routing (R) is deprecated (RFC 2784) and unseen.
  if ((flags & GRE_VERSION) !== 0 || (flags & GRE_ROUTING) !== 0) return stop(view, DecodeStatus.NotTcp, 'not-tcp');
  const protocol = u16(data, o + 2);
  let h = o + 4;
  if ((flags & GRE_CHECKSUM) !== 0) h += 4; // checksum and a reserved half-word
  if ((flags & GRE_KEY) !== 0) h += 4;
  if ((flags & GRE_SEQUENCE) !== 0) h += 4;
  if (h > end) return stop(view, DecodeStatus.Malformed, 'tunnel-header-invalid');
  if (h > cur.limit) return stop(view, DecodeStatus.Truncated, 'tunnel-header-truncated');
  switch (protocol) {
    case ETHERTYPE_IPV4:
    case ETHERTYPE_IPV6:
    case ETHERTYPE_MPLS:
      return enterNetwork(data, protocol, h, end, TUNNEL_GRE, cur, view);
    case ETHERTYPE_TEB:
      return enterEthernet(data, h, end, TUNNEL_GRE, cur, view);
    case ETHERTYPE_ERSPAN_II:
      // Type II carries a sequence number and an 8-byte header (version 1); type I neither.
      if ((flags & GRE_SEQUENCE) === 0) return enterEthernet(data, h, end, TUNNEL_ERSPAN, cur, view);
      if (h + ERSPAN_II_HEADER > cur.limit) return headerCut(h + ERSPAN_II_HEADER, end, view);
      if (data[h] >> 4 !== 1) return stop(view, DecodeStatus.NotTcp, 'not-tcp');
      return enterEthernet(data, h + ERSPAN_II_HEADER, end, TUNNEL_ERSPAN, cur, view);
    case ETHERTYPE_ERSPAN_III: {
      if (h + ERSPAN_III_HEADER > cur.limit) return headerCut(h + ERSPAN_III_HEADER, end, view);
      if (data[h] >> 4 !== 2) return stop(view, DecodeStatus.NotTcp, 'not-tcp');
      // Last word: SGT (16 bits), P, frame type (5), hardware id (6), D, granularity (2), O.
      const word = u32(data, h + 8);
      const inner = h + ERSPAN_III_HEADER + ((word & 1) !== 0 ? ERSPAN_III_SUBHEADER : 0);
      const frameType = (word >>> 10) & 0x1f;
      if (frameType === 0) return enterEthernet(data, inner, end, TUNNEL_ERSPAN, cur, view);
      if (frameType === 2) return enterIpByVersion(data, inner, end, TUNNEL_ERSPAN, cur, view);
      return stop(view, DecodeStatus.NotTcp, 'not-tcp');
    }
    case ETHERTYPE_WCCP:
      // WCCPv2 puts a 4-byte redirect header before the IP packet; WCCPv1 does not (Wireshark tells them apart the same way).
      if (h >= cur.limit) return headerCut(h + 1, end, view);
      return enterIpByVersion(data, data[h] >> 4 === 4 ? h : h + 4, end, TUNNEL_GRE, cur, view);
    default:
      return stop(view, DecodeStatus.NotTcp, 'not-tcp');
  }
}

/** A tunnel header that runs past what was captured: cut by the capture, or longer than its packet. */
function headerCut(needed: number, end: number, view: PacketView): DecodeStatus {
  return needed > end ? stop(view, DecodeStatus.Malformed, 'tunnel-header-invalid') : stop(view, DecodeStatus.Truncated, 'tunnel-header-truncated');
}

function markTunnel(kind: number, view: PacketView): void {
  if (view.tunnel === TUNNEL_NONE) view.tunnel = kind; // the outermost names the capture's shape
}

/** An inner Ethernet frame at `start`, ending at `end` (VLAN tags, MPLS and PPPoE followed as outside). */
function enterEthernet(data: Uint8Array, start: number, end: number, kind: number, cur: DecodeCursor, view: PacketView): DecodeStatus | Step {
  markTunnel(kind, view);
  if (end - start < ETHERNET_HEADER) return stop(view, DecodeStatus.Malformed, 'tunnel-header-invalid');
  cur.base = start;
  cur.wireEnd = end;
  return decodeEthernet(data, cur, view);
}

/** An inner packet of the given EtherType (IPv4, IPv6, MPLS) at `start`. */
function enterNetwork(data: Uint8Array, etherType: number, start: number, end: number, kind: number, cur: DecodeCursor, view: PacketView): DecodeStatus | Step {
  markTunnel(kind, view);
  cur.wireEnd = end;
  return followEtherType(data, etherType, start, cur, view);
}

/** An inner IP packet whose header's version nibble says which. */
function enterIpByVersion(data: Uint8Array, start: number, end: number, kind: number, cur: DecodeCursor, view: PacketView): DecodeStatus | Step {
  if (start >= cur.limit) return headerCut(start + 1, end, view);
  const version = data[start] >> 4;
  if (version === 4) return enterNetwork(data, ETHERTYPE_IPV4, start, end, kind, cur, view);
  if (version === 6) return enterNetwork(data, ETHERTYPE_IPV6, start, end, kind, cur, view);
  return stop(view, DecodeStatus.NotTcp, 'not-ip');
}
