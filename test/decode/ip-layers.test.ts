import { formatEndpoint } from '../../src/decode/address';
import { decodePacket } from '../../src/decode/decode-packet';
import { DecodeStatus } from '../../src/decode/packet-view';
import { TUNNEL_NAMES } from '../../src/decode/tunnel';
import {
  buildIpPacket,
  buildTcpPacket,
  buildTcpSegment,
  Ipv6ExtensionHeader,
  LINKTYPE_ETHERNET,
  LINKTYPE_RAW,
  TCP_ACK,
  TcpPacketSpec,
  wrapLink,
} from '../helpers/packet-builder';
import { decode, STATUS_NAMES } from './decode-helpers';

const V4 = { src: '10.1.2.3', dst: '10.4.5.6' };
const V6 = { src: 'fe80::1', dst: 'fe80::2' };
const PAYLOAD = 'x'.repeat(100);
const BASE: TcpPacketSpec = { sport: 1234, dport: 80, seq: 1, ack: 2, flags: TCP_ACK, payload: PAYLOAD };

describe('IPv4', () => {
  test.each([
    ['no options', [] as number[], 34],
    ['NOP + Record Route (IHL 6+)', [1, 7, 7, 4, 0, 0, 0, 0], 42],
    ['Router Alert', [148, 4, 0, 0], 38],
    ['40 bytes of options (IHL 15)', [1, 1, 1, 1, 68, 36, 5, 0, ...new Array<number>(32).fill(0)], 74],
    ['EOL then anything (padding is not parsed)', [0, 99, 1, 200], 38],
  ])('%s', (_name, options, tcpOffset) => {
    const frame = buildTcpPacket({ ...BASE, ...V4, ipOptions: options });
    const { status, view } = decode(LINKTYPE_ETHERNET, frame);
    expect(STATUS_NAMES[status]).toBe('Tcp');
    expect(view.payloadOffset).toBe(tcpOffset + 20);
    expect(view.payloadLen).toBe(100);
    expect(formatEndpoint(view, 'src')).toBe('10.1.2.3:1234');
  });

  test.each([
    ['option length 1', [130, 1, 0, 0]],
    ['option length 0', [7, 0, 0, 0]],
    ['option running past the header', [7, 12, 4, 0]],
    ['option kind without its length byte', [1, 1, 1, 7]],
  ])('malformed option list: %s', (_name, options) => {
    const { status, view } = decode(LINKTYPE_ETHERNET, buildTcpPacket({ ...BASE, ...V4, ipOptions: options }));
    expect(status).toBe(DecodeStatus.Malformed);
    expect(view.issue).toBe('ipv4-options-invalid');
  });

  test.each([
    ['header length 4 words', (ip: Uint8Array) => void (ip[0] = 0x44), 'ipv4-header-length-invalid'],
    ['header length 0', (ip: Uint8Array) => void (ip[0] = 0x40), 'ipv4-header-length-invalid'],
    ['total length below the header length', (ip: Uint8Array) => void ((ip[2] = 0), (ip[3] = 19)), 'ipv4-total-length-invalid'],
    ['version 6 under EtherType IPv4', (ip: Uint8Array) => void (ip[0] = 0x65), 'ip-version-invalid'],
  ])('malformed header: %s', (_name, damage, issue) => {
    const frame = buildTcpPacket({ ...BASE, ...V4 });
    damage(frame.subarray(14));
    const { status, view } = decode(LINKTYPE_ETHERNET, frame);
    expect(status).toBe(DecodeStatus.Malformed);
    expect(view.issue).toBe(issue);
  });

  test('header length beyond the packet on the wire is malformed, beyond the capture is truncated', () => {
    const frame = buildTcpPacket({ ...V4, sport: 1, dport: 2 }).subarray(0, 14 + 40); // 20 IP + 20 TCP
    frame[14] = 0x4f; // IHL 15 = 60 bytes, but the packet has only 40 after Ethernet
    expect(decode(LINKTYPE_ETHERNET, frame).view.issue).toBe('ipv4-header-length-invalid');
    // Same bytes, but the packet was longer on the wire: the options were cut by snaplen.
    const { status, view } = decode(LINKTYPE_ETHERNET, frame, frame.length, 200);
    expect(status).toBe(DecodeStatus.Truncated);
    expect(view.issue).toBe('ipv4-header-truncated');
  });

  test.each([
    ['More Fragments set, offset 0 (first fragment)', { offset: 0, more: true }],
    ['offset 185 (last fragment)', { offset: 185, more: false }],
    ['middle fragment', { offset: 8, more: true }],
  ])('fragment: %s', (_name, fragment) => {
    const { status, view } = decode(LINKTYPE_ETHERNET, buildTcpPacket({ ...BASE, ...V4, fragment }));
    expect(status).toBe(DecodeStatus.Fragment);
    expect(view.issue).toBe('ipv4-fragment');
  });

  test('Don\'t Fragment alone is not a fragment', () => {
    const frame = buildTcpPacket({ ...BASE, ...V4 });
    expect(frame[14 + 6] & 0x40).toBe(0x40);
    expect(decode(LINKTYPE_ETHERNET, frame).status).toBe(DecodeStatus.Tcp);
  });

  test('Ethernet padding after the datagram is not payload', () => {
    const frame = buildTcpPacket({ ...V4, sport: 1, dport: 2, flags: TCP_ACK, trailer: 6 }); // 54-byte frame padded to 60
    const { status, view } = decode(LINKTYPE_ETHERNET, frame);
    expect(status).toBe(DecodeStatus.Tcp);
    expect(view.payloadLen).toBe(0);
    expect(view.capturedPayloadLen).toBe(0);
    expect(view.lengthFromCapture).toBe(false);
  });

  test('snaplen cut: payloadLen from the IP header, capturedPayloadLen from the capture', () => {
    const frame = buildTcpPacket({ ...BASE, ...V4 });
    const { status, view } = decode(LINKTYPE_ETHERNET, frame.subarray(0, 64), 64, frame.length);
    expect(status).toBe(DecodeStatus.Tcp);
    expect(view.payloadLen).toBe(100);
    expect(view.capturedPayloadLen).toBe(10);
    expect(view.headerTruncated).toBe(false);
  });

  test('total length 0 (TSO / BIG TCP): lengths come from the packet length', () => {
    const frame = buildTcpPacket({ ...BASE, ...V4, ipLengthField: 0 });
    const whole = decode(LINKTYPE_ETHERNET, frame);
    expect(whole.status).toBe(DecodeStatus.Tcp);
    expect(whole.view.lengthFromCapture).toBe(true);
    expect(whole.view.payloadLen).toBe(100);
    expect(whole.view.capturedPayloadLen).toBe(100);
    // Also cut by snaplen: the wire length still gives the sequence space.
    const cut = decode(LINKTYPE_ETHERNET, frame, 80, frame.length);
    expect(cut.view.payloadLen).toBe(100);
    expect(cut.view.capturedPayloadLen).toBe(26);
  });

  test('a total length larger than the packet on the wire is clamped to the wire length (as Wireshark does)', () => {
    const frame = buildTcpPacket({ ...BASE, ...V4, ipLengthField: 1500 });
    const { status, view } = decode(LINKTYPE_ETHERNET, frame);
    expect(status).toBe(DecodeStatus.Tcp);
    expect(view.payloadLen).toBe(100);
  });

  test('checksums are not checked (offload makes them wrong on the sender)', () => {
    const frame = buildTcpPacket({ ...BASE, ...V4 });
    frame[14 + 10] ^= 0xff; // IP header checksum
    frame[34 + 16] ^= 0xff; // TCP checksum
    expect(decode(LINKTYPE_ETHERNET, frame).status).toBe(DecodeStatus.Tcp);
  });

  test('an Authentication Header in front of TCP is skipped', () => {
    const { status, view } = decode(LINKTYPE_RAW, buildTcpPacket({ ...BASE, ...V4, linkType: LINKTYPE_RAW, ipv4AuthHeaderIcv: 12 }));
    expect(status).toBe(DecodeStatus.Tcp);
    expect(view.payloadOffset).toBe(20 + 24 + 20);
    expect(view.payloadLen).toBe(100);
  });

  test('an Authentication Header longer than the datagram is malformed', () => {
    const frame = buildTcpPacket({ ...BASE, ...V4, linkType: LINKTYPE_RAW, ipv4AuthHeaderIcv: 12 });
    frame[21] = 200;
    expect(decode(LINKTYPE_RAW, frame).view.issue).toBe('ip-extension-header-invalid');
  });
});

describe('IPv6', () => {
  const hbh: Ipv6ExtensionHeader = { type: 0, body: [1, 4, 0, 0, 0, 0] }; // PadN
  const routing: Ipv6ExtensionHeader = { type: 43, body: [0, 1, 0, 0, 0, 0, ...new Array<number>(16).fill(0x20)] };
  const destOpts: Ipv6ExtensionHeader = { type: 60, body: [0xc9, 16, ...new Array<number>(16).fill(0xaa)] }; // Home Address
  const ah: Ipv6ExtensionHeader = { type: 51 };
  const atomicFragment: Ipv6ExtensionHeader = { type: 44, fragmentOffset: 0, moreFragments: false };

  test.each([
    ['no extension headers', [], 0],
    ['hop-by-hop', [hbh], 8],
    ['routing (type 0)', [routing], 24],
    ['destination options', [destOpts], 24],
    ['authentication header', [ah], 16],
    ['atomic fragment (offset 0, M clear)', [atomicFragment], 8],
    ['hop-by-hop, destination, routing, AH, destination', [hbh, destOpts, routing, ah, destOpts], 96],
  ])('%s', (_name, exts, extLength) => {
    const frame = buildTcpPacket({ ...BASE, ...V6, ipv6ExtensionHeaders: exts });
    const { status, view } = decode(LINKTYPE_ETHERNET, frame);
    expect(STATUS_NAMES[status]).toBe('Tcp');
    expect(view.payloadOffset).toBe(14 + 40 + extLength + 20);
    expect(view.payloadLen).toBe(100);
    expect(formatEndpoint(view, 'dst')).toBe('[fe80::2]:80');
  });

  test.each([
    ['first fragment (M set)', { type: 44, fragmentOffset: 0, moreFragments: true }],
    ['later fragment', { type: 44, fragmentOffset: 100, moreFragments: false }],
  ])('fragment: %s', (_name, ext) => {
    const { status, view } = decode(LINKTYPE_ETHERNET, buildTcpPacket({ ...BASE, ...V6, ipv6ExtensionHeaders: [ext] }));
    expect(status).toBe(DecodeStatus.Fragment);
    expect(view.issue).toBe('ipv6-fragment');
  });

  test('no next header (59)', () => {
    const ip = buildIpPacket(V6, 59, new Uint8Array(0));
    const { status, view } = decode(LINKTYPE_RAW, ip);
    expect(status).toBe(DecodeStatus.NotTcp);
    expect(view.issue).toBe('ipv6-no-next-header');
  });

  test('an extension header longer than the datagram is malformed', () => {
    const frame = buildTcpPacket({ ...BASE, ...V6, linkType: LINKTYPE_RAW, ipv6ExtensionHeaders: [hbh] });
    frame[41] = 100; // hop-by-hop length: 808 bytes
    const { status, view } = decode(LINKTYPE_RAW, frame);
    expect(status).toBe(DecodeStatus.Malformed);
    expect(view.issue).toBe('ip-extension-header-invalid');
  });

  test('an endless chain of extension headers is cut off as malformed', () => {
    const chain = new Array<Ipv6ExtensionHeader>(20).fill({ type: 60 });
    const { status, view } = decode(LINKTYPE_RAW, buildTcpPacket({ ...BASE, ...V6, linkType: LINKTYPE_RAW, ipv6ExtensionHeaders: chain }));
    expect(status).toBe(DecodeStatus.Malformed);
    expect(view.issue).toBe('ip-extension-header-invalid');
  });

  test('payload length 0 with a Jumbo Payload option (BIG TCP): lengths from the packet length', () => {
    const jumbo: Ipv6ExtensionHeader = { type: 0, body: [0xc2, 4, 0, 0, 0, 128] };
    const frame = buildTcpPacket({ ...BASE, ...V6, ipv6ExtensionHeaders: [jumbo], ipLengthField: 0 });
    const { status, view } = decode(LINKTYPE_ETHERNET, frame);
    expect(status).toBe(DecodeStatus.Tcp);
    expect(view.lengthFromCapture).toBe(true);
    expect(view.payloadLen).toBe(100);
  });

  test('snaplen cut: payloadLen from the payload length field', () => {
    const frame = buildTcpPacket({ ...BASE, ...V6 });
    const { status, view } = decode(LINKTYPE_ETHERNET, frame, 100, frame.length);
    expect(status).toBe(DecodeStatus.Tcp);
    expect(view.payloadLen).toBe(100);
    expect(view.capturedPayloadLen).toBe(100 - 74);
  });

  test('a packet shorter on the wire than an IPv6 header is malformed', () => {
    const frame = buildTcpPacket({ ...BASE, ...V6, linkType: LINKTYPE_RAW }).subarray(0, 30);
    expect(decode(LINKTYPE_RAW, frame).view.issue).toBe('ipv6-header-invalid');
    expect(decode(LINKTYPE_RAW, frame, 30, 500).view.issue).toBe('ipv6-header-truncated');
  });
});

describe('IP-in-IP tunnels: the innermost header names the connection', () => {
  test.each([
    ['IPv4 in IPv4 (protocol 4)', V4, { src: '203.0.113.1', dst: '203.0.113.2' }, '10.1.2.3:1234'],
    ['IPv6 in IPv4 (6in4, protocol 41)', V6, { src: '203.0.113.1', dst: '203.0.113.2' }, '[fe80::1]:1234'],
    ['IPv4 in IPv6 (next header 4)', V4, { src: '2001:db8::a', dst: '2001:db8::b' }, '10.1.2.3:1234'],
    ['IPv6 in IPv6 (next header 41)', V6, { src: '2001:db8::a', dst: '2001:db8::b' }, '[fe80::1]:1234'],
  ])('%s', (_name, inner, tunnel, srcText) => {
    const { status, view } = decode(LINKTYPE_ETHERNET, buildTcpPacket({ ...BASE, ...inner, tunnel }));
    expect(STATUS_NAMES[status]).toBe('Tcp');
    expect(formatEndpoint(view, 'src')).toBe(srcText);
    expect(view.payloadLen).toBe(100);
  });

  test('nesting deeper than six IP headers stops', () => {
    let ip = buildIpPacket(V4, 6, buildTcpSegment(BASE, V4.src, V4.dst));
    for (let i = 0; i < 5; i++) ip = buildIpPacket(V4, 4, ip);
    const six = decode(LINKTYPE_RAW, ip);
    expect(six.status).toBe(DecodeStatus.Tcp); // six headers: fine
    expect(TUNNEL_NAMES[six.view.tunnel]).toBe('ip-in-ip');
    ip = buildIpPacket(V4, 4, ip);
    const seven = decode(LINKTYPE_RAW, ip);
    expect(seven.status).toBe(DecodeStatus.NotTcp);
    expect(seven.view.issue).toBe('ip-tunnel-too-deep');
  });

  test('the inner datagram is bounded by the outer one', () => {
    const inner = buildIpPacket(V4, 6, buildTcpSegment(BASE, V4.src, V4.dst));
    const outer = buildIpPacket({ src: '203.0.113.1', dst: '203.0.113.2', ipLengthField: 20 + inner.length - 50 }, 4, inner);
    const { status, view } = decode(LINKTYPE_RAW, outer);
    expect(status).toBe(DecodeStatus.Tcp);
    expect(view.payloadLen).toBe(50);
  });
});

describe('view state does not leak from one packet to the next', () => {
  test('options, VLANs and flags are reset', () => {
    const first = buildTcpPacket({ ...BASE, ...V4, vlan: [5, 6], ipLengthField: 0, options: [[2, 4, 5, 0xb4], [3, 3, 7], [4, 2], [8, 10, 0, 0, 0, 1, 0, 0, 0, 2]] });
    const second = wrapLink(buildIpPacket(V6, 6, buildTcpSegment({ ...BASE }, V6.src, V6.dst)));
    const view = decode(LINKTYPE_ETHERNET, first).view;
    expect([view.hasMss, view.hasWindowScale, view.sackPermitted, view.hasTimestamp, view.outerVlan, view.lengthFromCapture]).toEqual([true, true, true, true, 5, true]);
    // Reuse the same view, as the pipeline does.
    expect(decodePacket(LINKTYPE_ETHERNET, second, second.length, second.length, view)).toBe(DecodeStatus.Tcp);
    expect([view.hasMss, view.hasWindowScale, view.sackPermitted, view.hasTimestamp, view.outerVlan, view.innerVlan, view.lengthFromCapture]).toEqual([false, false, false, false, -1, -1, false]);
    expect(view.ipVersion).toBe(6);
    expect(decodePacket(LINKTYPE_ETHERNET, first.subarray(0, 30), 30, first.length, view)).toBe(DecodeStatus.Truncated);
    expect(view.issue).toBe('ipv4-header-truncated');
    expect(decodePacket(LINKTYPE_ETHERNET, second, second.length, second.length, view)).toBe(DecodeStatus.Tcp);
    expect(view.issue).toBe('none');
  });
});
