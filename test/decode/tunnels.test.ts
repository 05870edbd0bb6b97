import * as fs from 'fs';
import * as path from 'path';
import { formatEndpoint } from '../../src/decode/address';
import { DecodeStatus } from '../../src/decode/packet-view';
import { TUNNEL_NAMES } from '../../src/decode/tunnel';
import { buildIpPacket, buildTcpPacket, buildTcpSegment, concat, LINKTYPE_ETHERNET, LINKTYPE_RAW, TCP_ACK, TcpPacketSpec, wrapLink } from '../helpers/packet-builder';
import { readCaptureSync } from '../helpers/mini-reader';
import { decode, STATUS_NAMES, tcpInvariantViolations } from './decode-helpers';

/**
 * Tunnels (src/decode/tunnel.ts): VXLAN, GENEVE, GRE and ERSPAN are opened and the inner TCP
 * segment decoded under its inner addresses. The encapsulations are built here byte by byte after
 * their RFCs around a TCP packet, and checked against captures from the public corpus that tshark
 * decodes (the inner endpoints below are tshark's). Real traffic through a kernel VXLAN device is
 * samples/keepalive-race-vxlan.pcap (test/analyze/tunnels.test.ts).
 */

const INNER = { src: '192.168.7.1', dst: '192.168.7.2' };
const OUTER = { src: '10.77.0.1', dst: '10.77.0.2' };
const OUTER6 = { src: '2001:db8::1', dst: '2001:db8::2' };
const BASE: TcpPacketSpec = { sport: 40000, dport: 8080, seq: 1000, ack: 2000, flags: TCP_ACK, payload: 'GET / HTTP/1.1\r\n\r\n'.padEnd(100, 'x') };
const UDP = 17;
const GRE = 47;

const innerFrame = (): Uint8Array => buildTcpPacket({ ...BASE, ...INNER }); // Ethernet + IPv4 + TCP
const innerIp = (): Uint8Array => buildIpPacket(INNER, 6, buildTcpSegment(BASE, INNER.src, INNER.dst));

const bytes = concat;
const be16 = (n: number): number[] => [(n >> 8) & 0xff, n & 0xff];

function udp(dport: number, body: Uint8Array, lengthField?: number): Uint8Array {
  return bytes([...be16(51000), ...be16(dport), ...be16(lengthField ?? body.length + 8), 0, 0], body);
}
/** A VXLAN header (VXLAN-GPE puts its next protocol in the fourth byte) and the frame it carries. */
const vxlan = (inner: Uint8Array, flags = 0x08, next = 0, vni = 42): Uint8Array =>
  bytes([flags, 0, 0, next, (vni >> 16) & 0xff, (vni >> 8) & 0xff, vni & 0xff, 0], inner);
function geneve(protocol: number, inner: Uint8Array, optionWords = 0, version = 0): Uint8Array {
  return bytes([(version << 6) | optionWords, 0, ...be16(protocol), 0, 0, 42, 0], new Array<number>(optionWords * 4).fill(0xab), inner);
}
/** GRE version 0 with the optional fields its flags ask for (their values do not matter). */
function gre(protocol: number, inner: Uint8Array, opts: { checksum?: boolean; key?: boolean; sequence?: boolean; version?: number } = {}): Uint8Array {
  const flags = (opts.checksum ? 0x8000 : 0) | (opts.key ? 0x2000 : 0) | (opts.sequence ? 0x1000 : 0) | (opts.version ?? 0);
  const extra: number[] = [];
  if (opts.checksum) extra.push(0x12, 0x34, 0, 0);
  if (opts.key) extra.push(0, 0, 0, 7);
  if (opts.sequence) extra.push(0, 0, 1, 0);
  return bytes([...be16(flags), ...be16(protocol)], extra, inner);
}
const overIpv4 = (protocol: number, body: Uint8Array): Uint8Array => wrapLink(buildIpPacket(OUTER, protocol, body));
const overIpv6 = (protocol: number, body: Uint8Array): Uint8Array => wrapLink(buildIpPacket(OUTER6, protocol, body));

/** ERSPAN type III header: version 2, frame type, and the O flag (an 8-byte platform subheader follows). */
function erspan3(frameType: number, withSubheader: boolean): number[] {
  const word = (frameType << 10) | (withSubheader ? 1 : 0);
  const header = [0x20, 0x05, 0x00, 0x07, 0, 0, 0, 1, 0, 0, (word >> 8) & 0xff, word & 0xff];
  return withSubheader ? [...header, 0, 0, 0, 0, 0, 0, 0, 0] : header;
}

const CASES: [string, Uint8Array, string][] = [
  ['VXLAN on 4789', overIpv4(UDP, udp(4789, vxlan(innerFrame()))), 'vxlan'],
  ['VXLAN on 8472 (Linux default, flannel)', overIpv4(UDP, udp(8472, vxlan(innerFrame()))), 'vxlan'],
  ['VXLAN with the group-policy flag as well', overIpv4(UDP, udp(4789, vxlan(innerFrame(), 0x88))), 'vxlan'],
  ['VXLAN over IPv6', overIpv6(UDP, udp(4789, vxlan(innerFrame()))), 'vxlan'],
  ['VXLAN-GPE carrying IPv4', overIpv4(UDP, udp(4790, vxlan(innerIp(), 0x0c, 1))), 'vxlan'],
  ['VXLAN-GPE carrying Ethernet', overIpv4(UDP, udp(4790, vxlan(innerFrame(), 0x0c, 3))), 'vxlan'],
  ['GENEVE carrying Ethernet', overIpv4(UDP, udp(6081, geneve(0x6558, innerFrame()))), 'geneve'],
  ['GENEVE with 12 bytes of options', overIpv4(UDP, udp(6081, geneve(0x6558, innerFrame(), 3))), 'geneve'],
  ['GENEVE carrying IPv4', overIpv6(UDP, udp(6081, geneve(0x0800, innerIp()))), 'geneve'],
  ['GRE carrying IPv4', overIpv4(GRE, gre(0x0800, innerIp())), 'gre'],
  ['GRE with checksum, key and sequence number', overIpv4(GRE, gre(0x0800, innerIp(), { checksum: true, key: true, sequence: true })), 'gre'],
  ['GRE transparent Ethernet bridging (gretap, NVGRE)', overIpv4(GRE, gre(0x6558, innerFrame(), { key: true })), 'gre'],
  ['GRE over IPv6 (ip6gre)', overIpv6(GRE, gre(0x0800, innerIp())), 'gre'],
  ['GRE carrying MPLS', overIpv4(GRE, gre(0x8847, bytes([0, 0x01, 0x01, 0x40], innerIp()))), 'gre'],
  ['ERSPAN type I (no header, no sequence number)', overIpv4(GRE, gre(0x88be, innerFrame())), 'erspan'],
  ['ERSPAN type II', overIpv4(GRE, gre(0x88be, bytes([0x10, 0x05, 0x00, 0x07, 0, 0, 0, 1], innerFrame()), { sequence: true })), 'erspan'],
  ['ERSPAN type III', overIpv4(GRE, gre(0x22eb, bytes(erspan3(0, false), innerFrame()), { sequence: true })), 'erspan'],
  ['ERSPAN type III with a platform subheader', overIpv4(GRE, gre(0x22eb, bytes(erspan3(0, true), innerFrame()), { sequence: true })), 'erspan'],
  ['ERSPAN type III carrying IP (frame type 2)', overIpv4(GRE, gre(0x22eb, bytes(erspan3(2, false), innerIp()), { sequence: true })), 'erspan'],
  ['WCCPv2 redirection (4-byte redirect header)', overIpv4(GRE, gre(0x883e, bytes([0, 0, 0, 0], innerIp()))), 'gre'],
  ['WCCPv1 redirection (no redirect header)', overIpv4(GRE, gre(0x883e, innerIp())), 'gre'],
  ['VXLAN inside GRE: the outermost names it', overIpv4(GRE, gre(0x0800, buildIpPacket(OUTER, UDP, udp(4789, vxlan(innerFrame()))))), 'gre'],
];

describe('tunnels are opened and the inner connection decoded', () => {
  test.each(CASES)('%s', (_name, frame, kind) => {
    const { status, view } = decode(LINKTYPE_ETHERNET, frame);
    expect(STATUS_NAMES[status]).toBe('Tcp');
    expect(formatEndpoint(view, 'src')).toBe('192.168.7.1:40000');
    expect(formatEndpoint(view, 'dst')).toBe('192.168.7.2:8080');
    expect(view.payloadLen).toBe(100);
    expect(view.capturedPayloadLen).toBe(100);
    expect(Buffer.from(frame.subarray(view.payloadOffset, view.payloadOffset + 14)).toString('latin1')).toBe('GET / HTTP/1.1');
    expect(TUNNEL_NAMES[view.tunnel]).toBe(kind);
  });

  test('a plain packet after a tunnelled one is not marked', () => {
    const view = decode(LINKTYPE_ETHERNET, CASES[0][1]).view;
    expect(view.tunnel).not.toBe(0);
    const plain = decode(LINKTYPE_ETHERNET, innerFrame());
    expect(plain.view.tunnel).toBe(0);
  });

  test('the inner packet is bounded by the UDP length, and by the outer datagram when that length is 0 (GSO)', () => {
    const inner = innerFrame();
    const short = decode(LINKTYPE_ETHERNET, overIpv4(UDP, udp(4789, vxlan(inner), 8 + 8 + inner.length - 40)));
    expect(short.status).toBe(DecodeStatus.Tcp);
    expect(short.view.payloadLen).toBe(60);
    const zero = decode(LINKTYPE_ETHERNET, overIpv4(UDP, udp(4789, vxlan(inner), 0)));
    expect(zero.status).toBe(DecodeStatus.Tcp);
    expect(zero.view.payloadLen).toBe(100);
  });
});

describe('what is not a tunnel, or not one conncheck opens, stays "not TCP"', () => {
  test.each([
    ['UDP to another port', overIpv4(UDP, udp(53, vxlan(innerFrame()))), 'not-tcp'],
    ['VXLAN without the I flag (no valid VNI)', overIpv4(UDP, udp(4789, vxlan(innerFrame(), 0x00))), 'not-tcp'],
    ['a GENEVE version other than 0', overIpv4(UDP, udp(6081, geneve(0x6558, innerFrame(), 0, 1))), 'not-tcp'],
    ['GENEVE carrying an unknown protocol', overIpv4(UDP, udp(6081, geneve(0x88cc, innerFrame()))), 'not-tcp'],
    ['GRE version 1 (PPTP: PPP inside)', overIpv4(GRE, gre(0x880b, innerIp(), { version: 1 })), 'not-tcp'],
    ['GRE carrying an unknown protocol', overIpv4(GRE, gre(0x8909, innerIp())), 'not-tcp'],
    ['ERSPAN type III with a frame type conncheck does not read', overIpv4(GRE, gre(0x22eb, bytes(erspan3(7, false), innerFrame()), { sequence: true })), 'not-tcp'],
    ['VXLAN-GPE carrying NSH', overIpv4(UDP, udp(4790, vxlan(innerFrame(), 0x0c, 4))), 'not-tcp'],
    ['an inner frame carrying ARP', overIpv4(UDP, udp(4789, vxlan(bytes(innerFrame().subarray(0, 12), [0x08, 0x06], new Array<number>(28).fill(0))))), 'not-ip'],
  ])('%s', (_name, frame, issue) => {
    const { status, view } = decode(LINKTYPE_ETHERNET, frame);
    expect(STATUS_NAMES[status]).toBe('NotTcp');
    expect(view.issue).toBe(issue);
  });

  test('GENEVE options that run past the datagram are malformed', () => {
    const body = geneve(0x6558, new Uint8Array(0), 0x3f); // 252 bytes of options announced, none there
    const { status, view } = decode(LINKTYPE_ETHERNET, overIpv4(UDP, udp(6081, body.subarray(0, 8))));
    expect(STATUS_NAMES[status]).toBe('Malformed');
    expect(view.issue).toBe('tunnel-header-invalid');
  });
});

describe('cut and mutated tunnels never throw and never give a wrong connection', () => {
  test.each(CASES)('%s, cut at every length', (_name, frame) => {
    for (let caplen = 0; caplen < frame.length; caplen++) {
      const { status, view } = decode(LINKTYPE_ETHERNET, frame, caplen, frame.length);
      if (status === DecodeStatus.Tcp) {
        expect(formatEndpoint(view, 'src')).toBe('192.168.7.1:40000');
        expect(tcpInvariantViolations(view, caplen)).toEqual([]);
      } else {
        // A cut inside a UDP header's ports cannot say it was a tunnel: plain UDP, not TCP.
        expect(['Truncated', 'NotTcp']).toContain(STATUS_NAMES[status]);
        if (status === DecodeStatus.NotTcp) expect(view.issue).toBe('not-tcp');
      }
    }
  });

  test('20 000 seeded byte mutations: no throw, every TCP result sound', () => {
    let seed = 0x2545f491;
    const random = (): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 0x100000000;
    };
    let tcp = 0;
    for (let i = 0; i < 20000; i++) {
      const frame = CASES[i % CASES.length][1].slice();
      for (let m = 1 + Math.floor(random() * 3); m > 0; m--) frame[Math.floor(random() * frame.length)] = Math.floor(random() * 256);
      const caplen = random() < 0.2 ? Math.floor(random() * frame.length) : frame.length;
      const { status, view } = decode(LINKTYPE_ETHERNET, frame, caplen, frame.length);
      expect(view.issue).not.toBe('decoder-error');
      if (status === DecodeStatus.Tcp) {
        tcp++;
        expect(tcpInvariantViolations(view, caplen)).toEqual([]);
      }
    }
    expect(tcp).toBeGreaterThan(10000); // most mutations hit payload bytes
  });

  test('tunnels nested past six IP headers stop', () => {
    let packet = buildIpPacket(OUTER, UDP, udp(4789, vxlan(innerFrame())));
    for (let i = 0; i < 4; i++) packet = buildIpPacket(OUTER, GRE, gre(0x0800, packet));
    expect(decode(LINKTYPE_RAW, packet).status).toBe(DecodeStatus.Tcp); // six IP headers
    packet = buildIpPacket(OUTER, GRE, gre(0x0800, packet));
    const seven = decode(LINKTYPE_RAW, packet);
    expect(seven.status).toBe(DecodeStatus.NotTcp);
    expect(seven.view.issue).toBe('ip-tunnel-too-deep');
  });
});

const CORPUS = path.resolve(__dirname, '../../../shared/corpus/public');
const corpusPresent = fs.existsSync(CORPUS);
if (!corpusPresent) console.warn(`tunnels.test: ${CORPUS} not found, corpus checks skipped`);

/**
 * Inner TCP endpoints tshark 4.0 gives for the corpus's tunnel captures
 * (`tshark -r FILE -T fields -e ip.src -e ipv6.src -e tcp.srcport -e ip.dst -e ipv6.dst -e tcp.dstport`,
 * innermost values), and which packets are something else inside the tunnel (tshark's protocol
 * hierarchy: ARP, STP, CDP give "not-ip", ICMP and OSPF "not-tcp").
 */
const CORPUS_TUNNELS: [string, string, { tcp: number; first?: [string, string]; issues?: Record<string, number> }][] = [
  ['tcpdump/gso-ipv4-vxlan-ipv4.pcap', 'vxlan', { tcp: 1, first: ['192.168.1.2:37099', '192.168.1.1:41547'] }],
  ['tcpdump/gso-ipv6-vxlan-ipv6.pcap', 'vxlan', { tcp: 1 }],
  ['tcpdump/gso-ipv4-geneve-ipv4.pcap', 'geneve', { tcp: 1 }],
  ['tcpdump/geneve-gcp.pcap', 'geneve', { tcp: 1 }],
  ['tcpdump/geneve.pcap', 'geneve', { tcp: 33, issues: { 'not-tcp': 6 } }],
  ['tcpdump/wccp_redirect_gre.pcap', 'gre', { tcp: 1 }],
  ['zeek/tunnels/vxlan-encapsulated-http.pcap', 'vxlan', { tcp: 12, first: ['172.16.11.201:40354', '54.86.237.188:80'] }],
  ['tcpdump/vxlan_port_8472.pcap', '', { tcp: 0, issues: { 'not-ip': 2, 'not-tcp': 8 } }],
  ['tcpdump/erspan-type-i-4.pcap', '', { tcp: 0, issues: { 'not-ip': 7, 'not-tcp': 112 } }],
  ['tcpdump/erspan-type-ii-3.pcap', '', { tcp: 0, issues: { 'not-ip': 108 } }],
  ['tcpdump/erspan-type-iii-ft-0.pcap', '', { tcp: 0, issues: { 'not-tcp': 9 } }],
];

(corpusPresent ? describe : describe.skip)('the corpus tunnel captures decode as tshark decodes them', () => {
  test.each(CORPUS_TUNNELS)('%s', (file, kind, expected) => {
    let tcp = 0;
    let first: [string, string] | null = null;
    const kinds = new Set<string>();
    const issues: Record<string, number> = {};
    readCaptureSync(path.join(CORPUS, file), (linkType, data, caplen, origLen) => {
      const { status, view } = decode(linkType, data, caplen, origLen);
      if (status === DecodeStatus.Tcp) {
        tcp++;
        kinds.add(TUNNEL_NAMES[view.tunnel]);
        first ??= [formatEndpoint(view, 'src'), formatEndpoint(view, 'dst')];
      } else {
        issues[view.issue] = (issues[view.issue] ?? 0) + 1;
      }
    });
    expect([...kinds]).toEqual(tcp > 0 ? [kind] : []);
    expect(tcp).toBe(expected.tcp);
    if (expected.first) expect(first).toEqual(expected.first);
    expect(issues).toEqual(expected.issues ?? {});
  });
});
