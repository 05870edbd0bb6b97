/**
 * Builds captured packets by hand for tests: Ethernet (optionally VLAN/QinQ tagged), Linux SLL /
 * SLL2, BSD NULL/LOOP and raw-IP link layers around IPv4 or IPv6 (options, extension headers,
 * fragments, IP-in-IP tunnels) around a TCP segment with options and payload. Checksums are
 * computed, so the bytes also open cleanly in tshark when written with buildPcapFile.
 *
 *   const frame = buildTcpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 80,
 *     seq: 1000, ack: 0, flags: TCP_SYN, options: [tcpOption.mss(1460), tcpOption.sackPermitted()] });
 *
 * Everything has a default, so tests spell out only what they are about.
 */

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
export const TCP_ECE = 0x40;
export const TCP_CWR = 0x80;

export const LINKTYPE_NULL = 0;
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_LOOP = 108;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;
export const LINKTYPE_LINUX_SLL2 = 276;

/** Encoded TCP option bytes (kind, length, value); see tcpOption for the common ones. */
export type TcpOptionBytes = number[];

export const tcpOption = {
  eol: (): TcpOptionBytes => [0],
  nop: (): TcpOptionBytes => [1],
  mss: (mss: number): TcpOptionBytes => [2, 4, mss >> 8, mss & 0xff],
  windowScale: (shift: number): TcpOptionBytes => [3, 3, shift],
  sackPermitted: (): TcpOptionBytes => [4, 2],
  sack: (...blocks: Array<[number, number]>): TcpOptionBytes => [
    5,
    2 + 8 * blocks.length,
    ...blocks.flatMap(([left, right]) => [...be32(left), ...be32(right)]),
  ],
  timestamp: (tsVal: number, tsEcr: number): TcpOptionBytes => [8, 10, ...be32(tsVal), ...be32(tsEcr)],
  /** Any option, raw: kind, then the declared length byte (may lie), then the value bytes. */
  raw: (kind: number, declaredLength: number, value: number[] = []): TcpOptionBytes => [kind, declaredLength, ...value],
};

export interface Ipv6ExtensionHeader {
  /** 0 hop-by-hop, 43 routing, 44 fragment, 60 destination options, 51 AH. */
  type: number;
  /** Body after the next-header byte (and length byte); padded to the header's unit. Ignored for 44. */
  body?: number[];
  /** For type 44: fragment offset in 8-byte units and the M flag. */
  fragmentOffset?: number;
  moreFragments?: boolean;
}

export interface IpSpec {
  src?: string;
  dst?: string;
  /** IPv4 only: raw option bytes, padded with EOL to a multiple of 4. */
  ipOptions?: number[];
  /** IPv6 only. */
  ipv6ExtensionHeaders?: Ipv6ExtensionHeader[];
  ttl?: number;
  ipId?: number;
  /** IPv4: sets MF / fragment offset (in 8-byte units). */
  fragment?: { offset: number; more: boolean };
  /** Overrides the IPv4 total length / IPv6 payload length field (e.g. 0 for TSO / BIG TCP captures). */
  ipLengthField?: number;
  /** IPv4 AH (protocol 51) in front of the transport header, with this many bytes of ICV. */
  ipv4AuthHeaderIcv?: number;
  /** Outer IP header (IP-in-IP, 6in4, 4in6, 6in6); its version follows its addresses. */
  tunnel?: { src: string; dst: string };
}

export interface LinkSpec {
  /** LINKTYPE_* value; default Ethernet. */
  linkType?: number;
  /** VLAN IDs, outermost first. */
  vlan?: number[];
  /** TPIDs for the tags; default 0x8100 for one tag, 0x88a8 outer + 0x8100 inner for stacks. */
  vlanTpids?: number[];
  /** Bytes of zero padding after the IP datagram (Ethernet minimum frame, FCS, ...). */
  trailer?: number;
  /** NULL/LOOP address family value; default 2 / 30 (macOS AF_INET6) by IP version. */
  nullFamily?: number;
  /** Byte order of the NULL/LOOP family field; default 'le' for NULL and 'be' for LOOP. */
  nullByteOrder?: 'le' | 'be';
  /** Overrides the EtherType / SLL protocol in front of the IP header. */
  etherType?: number;
}

export interface TcpSpec {
  sport?: number;
  dport?: number;
  seq?: number;
  ack?: number;
  flags?: number;
  window?: number;
  urgentPointer?: number;
  options?: TcpOptionBytes[];
  payload?: Uint8Array | string;
  /** Overrides the data offset field (32-bit words); the header bytes written stay as built. */
  dataOffsetField?: number;
}

export type TcpPacketSpec = IpSpec & LinkSpec & TcpSpec;

export const DEFAULT_SRC = '10.0.0.1';
export const DEFAULT_DST = '10.0.0.2';

/** A complete captured frame: link header + IP (+ tunnel) + TCP + payload. */
export function buildTcpPacket(spec: TcpPacketSpec = {}): Uint8Array {
  const src = spec.src ?? DEFAULT_SRC;
  const dst = spec.dst ?? DEFAULT_DST;
  const segment = buildTcpSegment(spec, src, dst);
  return wrapLink(buildIpPacket({ ...spec, src, dst }, 6, segment), spec);
}

/** A TCP header + options + payload with a correct checksum for the given addresses. */
export function buildTcpSegment(spec: TcpSpec, src: string, dst: string): Uint8Array {
  const optionBytes = padOptions((spec.options ?? []).flat());
  const payload = typeof spec.payload === 'string' ? new TextEncoder().encode(spec.payload) : spec.payload ?? new Uint8Array(0);
  const headerLength = 20 + optionBytes.length;
  const seg = new Uint8Array(headerLength + payload.length);
  put16(seg, 0, spec.sport ?? 40000);
  put16(seg, 2, spec.dport ?? 80);
  put32(seg, 4, spec.seq ?? 1000);
  put32(seg, 8, spec.ack ?? 0);
  seg[12] = (spec.dataOffsetField ?? headerLength / 4) << 4;
  seg[13] = spec.flags ?? TCP_ACK;
  put16(seg, 14, spec.window ?? 65535);
  put16(seg, 18, spec.urgentPointer ?? 0);
  seg.set(optionBytes, 20);
  seg.set(payload, headerLength);
  put16(seg, 16, transportChecksum(src, dst, 6, seg));
  return seg;
}

/** An IP datagram (IPv4 or IPv6 by the address text) carrying `body` as `protocol`, tunnelled if asked. */
export function buildIpPacket(spec: IpSpec, protocol: number, body: Uint8Array): Uint8Array {
  const src = spec.src ?? DEFAULT_SRC;
  const dst = spec.dst ?? DEFAULT_DST;
  let inner = isIpv6(src) ? buildIpv6(spec, src, dst, protocol, body) : buildIpv4(spec, src, dst, protocol, body);
  if (spec.tunnel) {
    const innerProtocol = isIpv6(src) ? 41 : 4;
    const outerSpec: IpSpec = { ttl: spec.ttl };
    inner = isIpv6(spec.tunnel.src)
      ? buildIpv6(outerSpec, spec.tunnel.src, spec.tunnel.dst, innerProtocol, inner)
      : buildIpv4(outerSpec, spec.tunnel.src, spec.tunnel.dst, innerProtocol, inner);
  }
  return inner;
}

function buildIpv4(spec: IpSpec, src: string, dst: string, protocol: number, body: Uint8Array): Uint8Array {
  const options = padTo(spec.ipOptions ?? [], 4, 0);
  const headerLength = 20 + options.length;
  const ah = spec.ipv4AuthHeaderIcv !== undefined ? authHeader(protocol, spec.ipv4AuthHeaderIcv) : [];
  const total = headerLength + ah.length + body.length;
  const ip = new Uint8Array(total);
  ip[0] = 0x40 | (headerLength / 4);
  put16(ip, 2, spec.ipLengthField ?? total);
  put16(ip, 4, spec.ipId ?? 1);
  const fragment = spec.fragment ? (spec.fragment.more ? 0x2000 : 0) | (spec.fragment.offset & 0x1fff) : 0x4000; // DF
  put16(ip, 6, fragment);
  ip[8] = spec.ttl ?? 64;
  ip[9] = ah.length > 0 ? 51 : protocol;
  ip.set(parseIpv4(src), 12);
  ip.set(parseIpv4(dst), 16);
  ip.set(options, 20);
  put16(ip, 10, checksum(ip.subarray(0, headerLength)));
  ip.set(ah, headerLength);
  ip.set(body, headerLength + ah.length);
  return ip;
}

function authHeader(next: number, icvBytes: number): number[] {
  const length = 12 + icvBytes; // next, len, reserved(2), SPI(4), seq(4), ICV
  const words = Math.ceil(length / 4);
  const bytes = new Array<number>(words * 4).fill(0);
  bytes[0] = next;
  bytes[1] = words - 2;
  bytes[7] = 1; // SPI
  bytes[11] = 1; // sequence
  return bytes;
}

function buildIpv6(spec: IpSpec, src: string, dst: string, protocol: number, body: Uint8Array): Uint8Array {
  const exts = spec.ipv6ExtensionHeaders ?? [];
  const extBytes: number[] = [];
  for (let i = 0; i < exts.length; i++) {
    const next = i + 1 < exts.length ? exts[i + 1].type : protocol;
    extBytes.push(...encodeExtension(exts[i], next));
  }
  const payloadLength = extBytes.length + body.length;
  const ip = new Uint8Array(40 + payloadLength);
  ip[0] = 0x60;
  put16(ip, 4, spec.ipLengthField ?? payloadLength);
  ip[6] = exts.length > 0 ? exts[0].type : protocol;
  ip[7] = spec.ttl ?? 64;
  ip.set(parseIpv6(src), 8);
  ip.set(parseIpv6(dst), 24);
  ip.set(extBytes, 40);
  ip.set(body, 40 + extBytes.length);
  return ip;
}

function encodeExtension(ext: Ipv6ExtensionHeader, next: number): number[] {
  if (ext.type === 44) {
    const offsetField = ((ext.fragmentOffset ?? 0) << 3) | (ext.moreFragments ? 1 : 0);
    return [next, 0, offsetField >> 8, offsetField & 0xff, 0, 0, 0, 7];
  }
  if (ext.type === 51) {
    const bytes = padTo([next, 0, ...(ext.body ?? [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1])], 4, 0);
    bytes[1] = bytes.length / 4 - 2;
    return bytes;
  }
  // Options headers: pad with PadN-style zero bytes (Pad1 = 0) to a multiple of 8.
  const bytes = padTo([next, 0, ...(ext.body ?? [])], 8, 0);
  bytes[1] = bytes.length / 8 - 1;
  return bytes;
}

/** Puts the link-layer header (and trailer) around an IP datagram. */
export function wrapLink(ip: Uint8Array, spec: LinkSpec = {}): Uint8Array {
  const linkType = spec.linkType ?? LINKTYPE_ETHERNET;
  const version = ip[0] >> 4;
  const etherType = spec.etherType ?? (version === 6 ? 0x86dd : 0x0800);
  let header: number[];
  switch (linkType) {
    case LINKTYPE_ETHERNET: {
      header = [0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01];
      const vlans = spec.vlan ?? [];
      const tpids = spec.vlanTpids ?? vlans.map((_, i) => (vlans.length > 1 && i === 0 ? 0x88a8 : 0x8100));
      vlans.forEach((id, i) => header.push(tpids[i] >> 8, tpids[i] & 0xff, (id >> 8) & 0x0f, id & 0xff));
      header.push(etherType >> 8, etherType & 0xff);
      break;
    }
    case LINKTYPE_LINUX_SLL:
      // packet type 0 (to us), ARPHRD_ETHER, address length 6, address padded to 8, protocol
      header = [0, 0, 0, 1, 0, 6, 0x02, 0, 0, 0, 0, 0x01, 0, 0, etherType >> 8, etherType & 0xff];
      break;
    case LINKTYPE_LINUX_SLL2:
      // protocol, reserved, ifindex 2, ARPHRD_ETHER, packet type 0, address length 6, address padded to 8
      header = [etherType >> 8, etherType & 0xff, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 0x02, 0, 0, 0, 0, 0x01, 0, 0];
      break;
    case LINKTYPE_NULL:
    case LINKTYPE_LOOP: {
      const family = spec.nullFamily ?? (version === 6 ? 30 : 2);
      const order = spec.nullByteOrder ?? (linkType === LINKTYPE_LOOP ? 'be' : 'le');
      header = order === 'be' ? be32(family) : be32(family).reverse();
      break;
    }
    default:
      header = []; // raw IP link types (12, 14, 101, 228, 229)
  }
  const frame = new Uint8Array(header.length + ip.length + (spec.trailer ?? 0));
  frame.set(header, 0);
  frame.set(ip, header.length);
  return frame;
}

export interface PcapRecord {
  data: Uint8Array;
  /** Capture time in seconds (fractional); default: 1 ms per record from 1700000000. */
  ts?: number;
  /** Length on the wire; default data.length. */
  origLen?: number;
}

/** A little-endian microsecond pcap file holding the records. */
export function buildPcapFile(linkType: number, records: PcapRecord[], snaplen = 262144): Uint8Array {
  const size = 24 + records.reduce((n, r) => n + 16 + r.data.length, 0);
  const file = new Uint8Array(size);
  const view = new DataView(file.buffer);
  view.setUint32(0, 0xa1b2c3d4, true);
  view.setUint16(4, 2, true);
  view.setUint16(6, 4, true);
  view.setUint32(16, snaplen, true);
  view.setUint32(20, linkType, true);
  let o = 24;
  records.forEach((r, i) => {
    const ts = r.ts ?? 1700000000 + i / 1000;
    const seconds = Math.floor(ts);
    view.setUint32(o, seconds, true);
    view.setUint32(o + 4, Math.round((ts - seconds) * 1e6), true);
    view.setUint32(o + 8, r.data.length, true);
    view.setUint32(o + 12, r.origLen ?? r.data.length, true);
    file.set(r.data, o + 16);
    o += 16 + r.data.length;
  });
  return file;
}

export function isIpv6(address: string): boolean {
  return address.includes(':');
}

export function parseIpv4(text: string): number[] {
  const parts = text.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`bad IPv4 address ${text}`);
  }
  return parts;
}

/** 16 bytes of an IPv6 address in text form ("::" and a dotted IPv4 tail accepted). */
export function parseIpv6(text: string): number[] {
  let hex = text;
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    const v4 = parseIpv4(text.slice(lastColon + 1));
    hex = `${text.slice(0, lastColon + 1)}${((v4[0] << 8) | v4[1]).toString(16)}:${((v4[2] << 8) | v4[3]).toString(16)}`;
  }
  const groupsOf = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  let groups: number[];
  if (hex.includes('::')) {
    const [left, right] = hex.split('::');
    const l = groupsOf(left);
    const r = groupsOf(right);
    groups = [...l, ...new Array<number>(Math.max(0, 8 - l.length - r.length)).fill(0), ...r];
  } else {
    groups = groupsOf(hex);
  }
  if (groups.length !== 8 || groups.some((g) => !(g >= 0 && g <= 0xffff))) throw new Error(`bad IPv6 address ${text}`);
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
}

function transportChecksum(src: string, dst: string, protocol: number, segment: Uint8Array): number {
  const pseudo = isIpv6(src)
    ? [...parseIpv6(src), ...parseIpv6(dst), ...be32(segment.length), 0, 0, 0, protocol]
    : [...parseIpv4(src), ...parseIpv4(dst), 0, protocol, segment.length >> 8, segment.length & 0xff];
  const all = new Uint8Array(pseudo.length + segment.length);
  all.set(pseudo, 0);
  all.set(segment, pseudo.length);
  return checksum(all);
}

/** Internet checksum (RFC 1071) over bytes whose checksum field is zero. */
function checksum(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i] << 8) | (i + 1 < bytes.length ? bytes[i + 1] : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function padOptions(bytes: number[]): number[] {
  return padTo(bytes, 4, 0); // EOL (0) pads the option list
}

function padTo(bytes: number[], unit: number, fill: number): number[] {
  const out = bytes.slice();
  while (out.length % unit !== 0) out.push(fill);
  return out;
}

function be32(value: number): number[] {
  return [(value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
}

function put16(buf: Uint8Array, offset: number, value: number): void {
  buf[offset] = (value >> 8) & 0xff;
  buf[offset + 1] = value & 0xff;
}

function put32(buf: Uint8Array, offset: number, value: number): void {
  buf[offset] = (value >>> 24) & 0xff;
  buf[offset + 1] = (value >>> 16) & 0xff;
  buf[offset + 2] = (value >>> 8) & 0xff;
  buf[offset + 3] = value & 0xff;
}

/** The bytes of several parts one after the other. */
export function concat(...parts: Array<Uint8Array | number[]>): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export interface PktapSpec {
  /** The inner link type (a DLT value); default Ethernet. */
  dlt?: number;
  /** Record type: 1 a packet follows (default), 0 nothing does. */
  recordType?: number;
  /** The header's length field; default 108, the fixed part. The header is padded to it when larger. */
  headerLength?: number;
  ifname?: string;
  command?: string;
}

/**
 * A frame behind Apple's PKTAP header (LINKTYPE_PKTAP, 258), laid out as macOS writes it (see
 * src/decode/pktap.ts): little-endian length, record type, DLT, interface name, flags, protocol
 * family, link header and trailer lengths, pid, command name, service class, interface type and
 * unit, effective pid and command name.
 */
export function wrapPktap(frame: Uint8Array, spec: PktapSpec = {}): Uint8Array {
  const length = spec.headerLength ?? 108;
  const header = new Uint8Array(Math.max(length, 108));
  const view = new DataView(header.buffer);
  view.setUint32(0, length, true);
  view.setUint32(4, spec.recordType ?? 1, true);
  view.setUint32(8, spec.dlt ?? LINKTYPE_ETHERNET, true);
  header.set(Buffer.from(spec.ifname ?? 'en0', 'latin1').subarray(0, 23), 12);
  view.setUint32(40, 2, true); // protocol family AF_INET
  view.setUint32(44, 14, true); // link-layer header length
  view.setUint32(52, 4242, true); // pid
  header.set(Buffer.from(spec.command ?? 'curl', 'latin1').subarray(0, 19), 56);
  view.setInt32(84, -1, true); // effective pid unknown, as in tcpdump's LINKTYPE_PKTAP.pcap
  return concat(header, frame);
}

export interface IcmpErrorSpec extends LinkSpec {
  /** The error's sender (outer source) and receiver (outer destination; the quoted packet's source). */
  from: string;
  to: string;
  /** ICMP type and code (ICMPv6 when the addresses are IPv6): default 3/3 (v4 port unreachable), 1/4 (v6). */
  type?: number;
  code?: number;
  /** The quoted datagram (an IP packet as its sender sent it), and how many of its bytes the error carries (all by default). */
  quoted: Uint8Array;
  quoteBytes?: number;
}

/** An ICMP / ICMPv6 error (type, code, checksum 0, 4 unused bytes, then the quote) in a frame. */
export function buildIcmpError(spec: IcmpErrorSpec): Uint8Array {
  const v6 = isIpv6(spec.from);
  const quote = spec.quoted.subarray(0, spec.quoteBytes ?? spec.quoted.length);
  const body = new Uint8Array(8 + quote.length);
  body[0] = spec.type ?? (v6 ? 1 : 3);
  body[1] = spec.code ?? (v6 ? 4 : 3);
  body.set(quote, 8);
  return wrapLink(buildIpPacket({ src: spec.from, dst: spec.to }, v6 ? 58 : 1, body), spec);
}
