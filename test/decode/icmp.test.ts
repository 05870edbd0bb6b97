/**
 * ICMP errors quoting a TCP segment (decode/icmp.ts): destination unreachable and time exceeded,
 * both families, read into the view as the quote's 4-tuple and sequence number with the error's
 * sender, type and code. A quote cut short or malformed, a quote of UDP and any other ICMP message
 * stay NotTcp (counted, skipped), never a crash.
 */
import { formatAddress, formatEndpoint, formatIpv4, formatIpv6 } from '../../src/decode/address';
import { decodePacket } from '../../src/decode/decode-packet';
import { DecodeStatus, PacketView } from '../../src/decode/packet-view';
import { buildIcmpError, buildIpPacket, buildTcpPacket, buildTcpSegment, TCP_ACK, TCP_SYN } from '../helpers/packet-builder';
import { decode, STATUS_NAMES } from './decode-helpers';

const SYN = { sport: 46456, dport: 8080, seq: 0xdeadbeef, flags: TCP_SYN };
const v4Syn = buildIpPacket({ src: '10.77.0.1', dst: '10.77.1.2' }, 6, buildTcpSegment(SYN, '10.77.0.1', '10.77.1.2'));
const v6Syn = buildIpPacket({ src: 'fd77::1', dst: 'fd77:1::2' }, 6, buildTcpSegment(SYN, 'fd77::1', 'fd77:1::2'));

describe('ICMP errors quoting TCP', () => {
  test('ICMPv4 port unreachable quoting a SYN (IP header + 8 bytes, as RFC 792 asks)', () => {
    const { status, view } = decode(1, buildIcmpError({ from: '10.77.0.254', to: '10.77.0.1', quoted: v4Syn, quoteBytes: 28 }));
    expect(STATUS_NAMES[status]).toBe('IcmpError');
    expect(view.issue).toBe('icmp-error');
    expect([view.icmpType, view.icmpCode]).toEqual([3, 3]);
    expect(formatIpv4(view.icmpFrom0)).toBe('10.77.0.254');
    // The quoted packet's own direction: from the connection's client.
    expect(formatEndpoint(view, 'src')).toBe('10.77.0.1:46456');
    expect(formatEndpoint(view, 'dst')).toBe('10.77.1.2:8080');
    expect(view.seq).toBe(0xdeadbeef);
  });

  test('ICMPv6 administratively prohibited quoting a whole SYN', () => {
    const { status, view } = decode(1, buildIcmpError({ from: 'fd77::fe', to: 'fd77::1', type: 1, code: 1, quoted: v6Syn }));
    expect(STATUS_NAMES[status]).toBe('IcmpError');
    expect(view.ipVersion).toBe(6);
    expect([view.icmpType, view.icmpCode]).toEqual([1, 1]);
    expect(formatIpv6(view.icmpFrom0, view.icmpFrom1, view.icmpFrom2, view.icmpFrom3)).toBe('fd77::fe');
    expect(formatEndpoint(view, 'src')).toBe('[fd77::1]:46456');
    expect(formatAddress(view, 'dst')).toBe('fd77:1::2');
    expect(view.seq).toBe(0xdeadbeef);
  });

  test('ICMP time exceeded and ICMPv6 time exceeded are read too', () => {
    expect(decode(1, buildIcmpError({ from: '10.9.9.9', to: '10.77.0.1', type: 11, code: 0, quoted: v4Syn })).status).toBe(DecodeStatus.IcmpError);
    expect(decode(1, buildIcmpError({ from: 'fd77::fe', to: 'fd77::1', type: 3, code: 0, quoted: v6Syn })).status).toBe(DecodeStatus.IcmpError);
  });

  test.each([
    ['v4: 4 bytes of TCP quoted', { from: '10.77.0.254', to: '10.77.0.1', quoted: v4Syn, quoteBytes: 24 }],
    ['v4: half an IP header quoted', { from: '10.77.0.254', to: '10.77.0.1', quoted: v4Syn, quoteBytes: 10 }],
    ['v4: nothing quoted', { from: '10.77.0.254', to: '10.77.0.1', quoted: v4Syn, quoteBytes: 0 }],
    ['v6: IPv6 header and 7 bytes of TCP', { from: 'fd77::fe', to: 'fd77::1', quoted: v6Syn, quoteBytes: 47 }],
  ])('a quote cut short (%s) is counted and skipped', (_name, spec) => {
    const { status, view } = decode(1, buildIcmpError(spec));
    expect(STATUS_NAMES[status]).toBe('NotTcp');
    expect(view.issue).toBe('icmp-quote-truncated');
  });

  test('the capture cut inside the quote (snaplen) is a cut quote too', () => {
    const frame = buildIcmpError({ from: '10.77.0.254', to: '10.77.0.1', quoted: v4Syn });
    const { status, view } = decode(1, frame, 14 + 20 + 8 + 24, frame.length);
    expect(STATUS_NAMES[status]).toBe('NotTcp');
    expect(view.issue).toBe('icmp-quote-truncated');
  });

  test('a quote that is no IP header of its family is malformed', () => {
    const bad = v4Syn.slice();
    bad[0] = 0x65; // version 6 inside ICMPv4
    expect(decode(1, buildIcmpError({ from: '10.77.0.254', to: '10.77.0.1', quoted: bad })).view.issue).toBe('icmp-quote-invalid');
    const short = v4Syn.slice();
    short[0] = 0x44; // header length 16
    expect(decode(1, buildIcmpError({ from: '10.77.0.254', to: '10.77.0.1', quoted: short })).view.issue).toBe('icmp-quote-invalid');
  });

  test('a quote of UDP, an echo request and neighbour discovery stay not-tcp', () => {
    const udp = buildIpPacket({ src: '10.77.0.1', dst: '10.77.1.2' }, 17, new Uint8Array(16));
    const quoteOfUdp = decode(1, buildIcmpError({ from: '10.77.1.2', to: '10.77.0.1', quoted: udp }));
    expect([STATUS_NAMES[quoteOfUdp.status], quoteOfUdp.view.issue]).toEqual(['NotTcp', 'not-tcp']);
    const echo = decode(1, buildIcmpError({ from: '10.77.1.2', to: '10.77.0.1', type: 8, code: 0, quoted: new Uint8Array(0) }));
    expect([STATUS_NAMES[echo.status], echo.view.issue]).toEqual(['NotTcp', 'not-tcp']);
    const ns = decode(1, buildIcmpError({ from: 'fd77::1', to: 'ff02::1:ff00:2', type: 135, code: 0, quoted: new Uint8Array(16) }));
    expect([STATUS_NAMES[ns.status], ns.view.issue]).toEqual(['NotTcp', 'not-tcp']);
  });

  test('a TCP packet decoded into the same view after an ICMP error is decoded as before', () => {
    const view = new PacketView();
    const icmp = buildIcmpError({ from: '10.77.0.254', to: '10.77.0.1', quoted: v4Syn });
    expect(decodePacket(1, icmp, icmp.length, icmp.length, view)).toBe(DecodeStatus.IcmpError);
    const tcp = buildTcpPacket({ src: '10.1.1.1', dst: '10.2.2.2', sport: 80, dport: 5000, seq: 7, ack: 9, flags: TCP_ACK, payload: 'hello' });
    expect(decodePacket(1, tcp, tcp.length, tcp.length, view)).toBe(DecodeStatus.Tcp);
    expect([formatEndpoint(view, 'src'), formatEndpoint(view, 'dst'), view.seq, view.ack, view.flags, view.payloadLen, view.issue]).toEqual(['10.1.1.1:80', '10.2.2.2:5000', 7, 9, TCP_ACK, 5, 'none']);
  });
});
