import { formatEndpoint } from '../../src/decode/address';
import { DecodeStatus } from '../../src/decode/packet-view';
import {
  buildIpPacket,
  buildTcpPacket,
  buildTcpSegment,
  LINKTYPE_ETHERNET,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_LOOP,
  LINKTYPE_NULL,
  LINKTYPE_RAW,
  TCP_ACK,
  TCP_PSH,
  TcpPacketSpec,
  wrapLink,
  concat,
} from '../helpers/packet-builder';
import { decode, STATUS_NAMES } from './decode-helpers';

const V4 = { src: '192.0.2.1', dst: '198.51.100.2' };
const V6 = { src: '2001:db8::1', dst: '2001:db8:0:1::2' };
const BASE: TcpPacketSpec = { sport: 51000, dport: 8080, seq: 0xfffffff0, ack: 0x80000001, flags: TCP_PSH | TCP_ACK, window: 513, payload: 'GET / HTTP/1.1\r\n\r\n' };

describe('link layers carrying IPv4 and IPv6 TCP', () => {
  const cases: Array<[string, number, TcpPacketSpec]> = [];
  for (const [ipName, addrs] of [['IPv4', V4], ['IPv6', V6]] as const) {
    cases.push(
      [`Ethernet ${ipName}`, LINKTYPE_ETHERNET, { ...addrs }],
      [`Linux SLL ${ipName}`, LINKTYPE_LINUX_SLL, { ...addrs }],
      [`Linux SLL2 ${ipName}`, LINKTYPE_LINUX_SLL2, { ...addrs }],
      [`NULL little-endian ${ipName}`, LINKTYPE_NULL, { ...addrs, nullByteOrder: 'le' }],
      [`NULL big-endian ${ipName}`, LINKTYPE_NULL, { ...addrs, nullByteOrder: 'be' }],
      [`LOOP network order ${ipName}`, LINKTYPE_LOOP, { ...addrs, nullByteOrder: 'be' }],
      [`LOOP written little-endian ${ipName}`, LINKTYPE_LOOP, { ...addrs, nullByteOrder: 'le' }],
      [`raw IP 101 ${ipName}`, LINKTYPE_RAW, { ...addrs }],
      [`DLT_RAW 12 ${ipName}`, 12, { ...addrs, linkType: LINKTYPE_RAW }],
      [`OpenBSD DLT_RAW 14 ${ipName}`, 14, { ...addrs, linkType: LINKTYPE_RAW }],
      [`Ethernet with FCS bits in the link-type field ${ipName}`, 0x04000001, { ...addrs, linkType: LINKTYPE_ETHERNET }],
    );
  }
  cases.push(['LINKTYPE_IPV4 (228)', LINKTYPE_IPV4, { ...V4 }], ['LINKTYPE_IPV6 (229)', LINKTYPE_IPV6, { ...V6 }]);
  for (const family of [24, 28, 30, 10, 23]) {
    cases.push([`NULL AF_INET6 = ${family}`, LINKTYPE_NULL, { ...V6, nullFamily: family }]);
    cases.push([`NULL AF_INET6 = ${family} big-endian`, LINKTYPE_NULL, { ...V6, nullFamily: family, nullByteOrder: 'be' }]);
  }
  cases.push(['OpenBSD DLT_LOOP as 12', 12, { ...V4, linkType: LINKTYPE_LOOP, nullByteOrder: 'be' }]);

  test.each(cases)('%s', (_name, linkType, spec) => {
    const frame = buildTcpPacket({ ...BASE, linkType, ...spec });
    const { status, view } = decode(linkType, frame);
    expect(STATUS_NAMES[status]).toBe('Tcp');
    expect(view.issue).toBe('none');
    const v6 = (spec.src ?? '').includes(':');
    expect(view.ipVersion).toBe(v6 ? 6 : 4);
    expect(formatEndpoint(view, 'src')).toBe(v6 ? '[2001:db8::1]:51000' : '192.0.2.1:51000');
    expect(formatEndpoint(view, 'dst')).toBe(v6 ? '[2001:db8:0:1::2]:8080' : '198.51.100.2:8080');
    expect(view.seq).toBe(0xfffffff0);
    expect(view.ack).toBe(0x80000001);
    expect(view.flags).toBe(TCP_PSH | TCP_ACK);
    expect(view.window).toBe(513);
    expect(view.payloadLen).toBe(18);
    expect(view.capturedPayloadLen).toBe(18);
    expect(new TextDecoder().decode(frame.subarray(view.payloadOffset, view.payloadOffset + view.payloadLen))).toBe('GET / HTTP/1.1\r\n\r\n');
  });
});

describe('frames that are not TCP, or not decodable', () => {
  const tcp4 = buildIpPacket(V4, 6, buildTcpSegment(BASE, V4.src, V4.dst));
  const udp4 = buildIpPacket(V4, 17, new Uint8Array([0x13, 0x88, 0x00, 0x35, 0, 12, 0, 0, 1, 2, 3, 4]));
  const cases: Array<[string, number, Uint8Array, DecodeStatus, string]> = [
    ['ARP over Ethernet', LINKTYPE_ETHERNET, wrapLink(tcp4, { etherType: 0x0806 }), DecodeStatus.NotTcp, 'not-ip'],
    ['LLDP over Ethernet', LINKTYPE_ETHERNET, wrapLink(tcp4, { etherType: 0x88cc }), DecodeStatus.NotTcp, 'not-ip'],
    ['ARP in a VLAN', LINKTYPE_ETHERNET, wrapLink(tcp4, { etherType: 0x0806, vlan: [5] }), DecodeStatus.NotTcp, 'not-ip'],
    ['UDP over IPv4', LINKTYPE_ETHERNET, wrapLink(udp4), DecodeStatus.NotTcp, 'not-tcp'],
    ['ICMP over IPv4', LINKTYPE_RAW, buildIpPacket(V4, 1, new Uint8Array(8)), DecodeStatus.NotTcp, 'not-tcp'],
    ['ESP over IPv6', LINKTYPE_RAW, buildIpPacket(V6, 50, new Uint8Array(16)), DecodeStatus.NotTcp, 'not-tcp'],
    ['SLL carrying ARP', LINKTYPE_LINUX_SLL, wrapLink(tcp4, { linkType: LINKTYPE_LINUX_SLL, etherType: 0x0806 }), DecodeStatus.NotTcp, 'not-ip'],
    ['SLL pseudo-protocol 802.2 (0x0004)', LINKTYPE_LINUX_SLL, wrapLink(tcp4, { linkType: LINKTYPE_LINUX_SLL, etherType: 0x0004 }), DecodeStatus.NotTcp, 'not-ip'],
    ['SLL2 carrying IPv6 EtherType over an IPv4 header', LINKTYPE_LINUX_SLL2, wrapLink(tcp4, { linkType: LINKTYPE_LINUX_SLL2, etherType: 0x86dd }), DecodeStatus.Malformed, 'ip-version-invalid'],
    ['NULL with an unknown family', LINKTYPE_NULL, wrapLink(tcp4, { linkType: LINKTYPE_NULL, nullFamily: 7 }), DecodeStatus.NotTcp, 'not-ip'],
    ['LINKTYPE_IPV4 carrying IPv6', LINKTYPE_IPV4, buildIpPacket(V6, 6, buildTcpSegment(BASE, V6.src, V6.dst)), DecodeStatus.Malformed, 'ip-version-invalid'],
    ['raw IP with version 5', LINKTYPE_RAW, concat([0x55], tcp4.subarray(1)), DecodeStatus.Malformed, 'ip-version-invalid'],
    ['IEEE 802.11 (105)', 105, tcp4, DecodeStatus.UnsupportedLink, 'unsupported-link-type'],
    ['NFLOG (239) without its header (an IPv4 header read as family 0x45)', 239, tcp4, DecodeStatus.NotTcp, 'not-ip'],
    ['PPP (9)', 9, tcp4, DecodeStatus.UnsupportedLink, 'unsupported-link-type'],
    ['link type 65535', 65535, tcp4, DecodeStatus.UnsupportedLink, 'unsupported-link-type'],
    ['empty Ethernet frame', LINKTYPE_ETHERNET, new Uint8Array(0), DecodeStatus.Truncated, 'link-header-truncated'],
    ['empty raw IP packet', LINKTYPE_RAW, new Uint8Array(0), DecodeStatus.Truncated, 'link-header-truncated'],
    ['runt Ethernet frame', LINKTYPE_ETHERNET, new Uint8Array(13), DecodeStatus.Truncated, 'link-header-truncated'],
  ];
  test.each(cases)('%s', (_name, linkType, frame, expected, issue) => {
    const { status, view } = decode(linkType, frame);
    expect(STATUS_NAMES[status]).toBe(STATUS_NAMES[expected]);
    expect(view.issue).toBe(issue);
  });
});

describe('VLAN tags', () => {
  const cases: Array<[string, TcpPacketSpec, number, number]> = [
    ['802.1Q', { vlan: [42] }, 42, -1],
    ['VLAN ID 0 (priority tag)', { vlan: [0] }, 0, -1],
    ['802.1ad + 802.1Q (QinQ)', { vlan: [10, 20] }, 10, 20],
    ['0x9100 + 0x8100', { vlan: [100, 200], vlanTpids: [0x9100, 0x8100] }, 100, 200],
    ['0x9200 outer tag', { vlan: [7], vlanTpids: [0x9200] }, 7, -1],
    ['three stacked tags keep the first two', { vlan: [200, 300, 400], vlanTpids: [0x88a8, 0x8100, 0x8100] }, 200, 300],
    ['two 802.1Q tags', { vlan: [1, 2], vlanTpids: [0x8100, 0x8100] }, 1, 2],
    ['IPv6 in QinQ', { ...V6, vlan: [4094, 1] }, 4094, 1],
  ];
  test.each(cases)('%s', (_name, spec, outer, inner) => {
    const frame = buildTcpPacket({ ...BASE, ...spec });
    const { status, view } = decode(LINKTYPE_ETHERNET, frame);
    expect(STATUS_NAMES[status]).toBe('Tcp');
    expect([view.outerVlan, view.innerVlan]).toEqual([outer, inner]);
    expect(view.payloadLen).toBe(18);
  });

  test('PCP and DEI bits are not part of the VLAN ID', () => {
    const frame = buildTcpPacket({ ...BASE, vlan: [10] });
    frame[14] |= 0xf0; // PCP 7, DEI 1
    const { status, view } = decode(LINKTYPE_ETHERNET, frame);
    expect(status).toBe(DecodeStatus.Tcp);
    expect(view.outerVlan).toBe(10);
  });

  test('a VLAN tag inside Linux SLL (libpcap re-inserts it) is followed', () => {
    const frame = buildTcpPacket({ ...BASE, linkType: LINKTYPE_LINUX_SLL, etherType: 0x8100 });
    // Insert the tag: SLL header (16) with protocol 0x8100, then TCI + real EtherType.
    const tagged = concat(frame.subarray(0, 16), [0x00, 0x21, 0x08, 0x00], frame.subarray(16));
    const { status, view } = decode(LINKTYPE_LINUX_SLL, tagged);
    expect(status).toBe(DecodeStatus.Tcp);
    expect(view.outerVlan).toBe(0x21);
  });

  test('more than 16 tags is malformed, not a long loop', () => {
    const { status, view } = decode(LINKTYPE_ETHERNET, buildTcpPacket({ ...BASE, vlan: new Array<number>(17).fill(3), vlanTpids: new Array<number>(17).fill(0x8100) }));
    expect(status).toBe(DecodeStatus.Malformed);
    expect(view.issue).toBe('link-header-invalid');
  });
});

describe('MPLS, PPPoE and 802.3 LLC/SNAP', () => {
  const ip4 = buildIpPacket(V4, 6, buildTcpSegment(BASE, V4.src, V4.dst));
  const ip6 = buildIpPacket(V6, 6, buildTcpSegment(BASE, V6.src, V6.dst));
  const mac = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
  const label = (bottom: boolean): number[] => [0x00, 0x01, 0x00 | (bottom ? 1 : 0), 64];

  test.each([
    ['one MPLS label, IPv4', concat(mac, [0x88, 0x47], label(true), ip4)],
    ['two MPLS labels, IPv6', concat(mac, [0x88, 0x47], label(false), label(true), ip6)],
    ['MPLS inside a VLAN', concat(mac, [0x81, 0x00, 0, 5, 0x88, 0x47], label(true), ip4)],
    ['PPPoE session, PPP IPv4', concat(mac, [0x88, 0x64, 0x11, 0x00, 0x00, 0x01, (ip4.length + 2) >> 8, (ip4.length + 2) & 0xff, 0x00, 0x21], ip4)],
    ['PPPoE in QinQ, PPP IPv6', concat(mac, [0x88, 0xa8, 0, 10, 0x81, 0x00, 0, 20, 0x88, 0x64, 0x11, 0x00, 0x00, 0x01, (ip6.length + 2) >> 8, (ip6.length + 2) & 0xff, 0x00, 0x57], ip6)],
    ['802.3 + LLC/SNAP (RFC 1042)', concat(mac, [(ip4.length + 8) >> 8, (ip4.length + 8) & 0xff, 0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00], ip4)],
  ])('%s', (_name, frame) => {
    const { status, view } = decode(LINKTYPE_ETHERNET, frame);
    expect(STATUS_NAMES[status]).toBe('Tcp');
    expect(view.payloadLen).toBe(18);
    expect(view.srcPort).toBe(51000);
  });

  test('MPLS without bottom-of-stack within 16 labels is malformed', () => {
    const labels = new Array<number[]>(17).fill(label(false)).flat();
    const { status, view } = decode(LINKTYPE_ETHERNET, concat(mac, [0x88, 0x47], labels, ip4));
    expect(status).toBe(DecodeStatus.Malformed);
    expect(view.issue).toBe('link-header-invalid');
  });

  test('MPLS carrying an Ethernet pseudowire (control word) is not decoded', () => {
    const { status } = decode(LINKTYPE_ETHERNET, concat(mac, [0x88, 0x47], label(true), [0, 0, 0, 0], mac, [0x08, 0x00], ip4));
    expect(status).toBe(DecodeStatus.NotTcp);
  });

  test('PPPoE carrying LCP is not IP', () => {
    const { status } = decode(LINKTYPE_ETHERNET, concat(mac, [0x88, 0x64, 0x11, 0, 0, 1, 0, 6, 0xc0, 0x21], [1, 1, 0, 4]));
    expect(status).toBe(DecodeStatus.NotTcp);
  });

  test('the PPPoE length bounds the IP datagram (IP total length larger than the PPPoE payload)', () => {
    const short = concat(mac, [0x88, 0x64, 0x11, 0, 0, 1, (ip4.length - 18 + 2) >> 8, (ip4.length - 18 + 2) & 0xff, 0x00, 0x21], ip4);
    const { status, view } = decode(LINKTYPE_ETHERNET, short);
    expect(status).toBe(DecodeStatus.Tcp);
    expect(view.payloadLen).toBe(0);
  });

  test('802.3 LLC that is not SNAP (spanning tree) is not IP', () => {
    const { status } = decode(LINKTYPE_ETHERNET, concat(mac, [0, 39, 0x42, 0x42, 0x03], new Array<number>(36).fill(0)));
    expect(status).toBe(DecodeStatus.NotTcp);
  });

  test('SNAP with a vendor OUI is not taken as an EtherType', () => {
    const { status } = decode(LINKTYPE_ETHERNET, concat(mac, [(ip4.length + 8) >> 8, (ip4.length + 8) & 0xff, 0xaa, 0xaa, 0x03, 0, 0, 0x0c, 0x08, 0x00], ip4));
    expect(status).toBe(DecodeStatus.NotTcp);
  });
});
