import { formatAddress, formatEndpoint, formatEndpointWords, formatIpv4, formatIpv6, hostOfEndpoint } from '../../src/decode/address';
import { DecodeStatus } from '../../src/decode/packet-view';
import { buildTcpPacket, LINKTYPE_ETHERNET, parseIpv6 } from '../helpers/packet-builder';
import { decode } from './decode-helpers';

function words(text: string): [number, number, number, number] {
  const b = parseIpv6(text);
  const w = (i: number): number => ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
  return [w(0), w(4), w(8), w(12)];
}

describe('IPv6 text (RFC 5952, as glibc inet_ntop and therefore tshark print it)', () => {
  // Expected values are glibc inet_ntop's output (python3 socket.inet_ntop) for the spelled-out input.
  test.each([
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero group is not compressed
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // equal runs: the first is compressed
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // the longest run wins
    ['fe80:0:0:0:2e0:81ff:fe52:9a6b', 'fe80::2e0:81ff:fe52:9a6b'],
    ['ABCD:EF01:2345:6789:ABCD:EF01:2345:6789', 'abcd:ef01:2345:6789:abcd:ef01:2345:6789'],
    ['0:0:0:0:0:ffff:102:304', '::ffff:1.2.3.4'], // IPv4-mapped
    ['0:0:0:0:0:ffff:0:0', '::ffff:0.0.0.0'],
    ['0:0:0:0:0:0:102:304', '::1.2.3.4'], // IPv4-compatible
    ['0:0:0:0:0:0:0:102', '::102'], // not dotted: the run is 7 groups
    ['0:0:0:0:1:ffff:102:304', '::1:ffff:102:304'],
    ['0:0:0:0:0:fffe:102:304', '::fffe:102:304'],
    ['64:ff9b:0:0:0:0:c000:221', '64:ff9b::c000:221'], // NAT64 is not written dotted by glibc
    ['2001:db8:0:0:0:0:0:0', '2001:db8::'],
    ['0:1:0:0:0:0:0:0', '0:1::'],
    ['1:2:3:4:5:6:7:0', '1:2:3:4:5:6:7:0'],
    ['0:0:1:2:3:4:5:6', '::1:2:3:4:5:6'],
  ])('%s → %s', (input, expected) => {
    expect(formatIpv6(...words(input))).toBe(expected);
  });
});

describe('IPv4 text', () => {
  test.each([
    [0x00000000, '0.0.0.0'],
    [0xffffffff, '255.255.255.255'],
    [0xc0000201, '192.0.2.1'],
    [0x7f000001, '127.0.0.1'],
    [0x80000000, '128.0.0.0'],
  ])('%d → %s', (word, expected) => {
    expect(formatIpv4(word)).toBe(expected);
  });
});

describe('formatEndpoint from a decoded packet', () => {
  test('IPv4 "addr:port"', () => {
    const { status, view } = decode(LINKTYPE_ETHERNET, buildTcpPacket({ src: '203.0.113.250', dst: '10.0.0.1', sport: 443, dport: 65535 }));
    expect(status).toBe(DecodeStatus.Tcp);
    expect(formatEndpoint(view, 'src')).toBe('203.0.113.250:443');
    expect(formatEndpoint(view, 'dst')).toBe('10.0.0.1:65535');
    expect(formatAddress(view, 'src')).toBe('203.0.113.250');
  });

  test('IPv6 "[addr]:port"', () => {
    const { view } = decode(LINKTYPE_ETHERNET, buildTcpPacket({ src: '2001:db8::1', dst: '::ffff:5.6.7.8', sport: 1, dport: 6666 }));
    expect(formatEndpoint(view, 'src')).toBe('[2001:db8::1]:1');
    expect(formatEndpoint(view, 'dst')).toBe('[::ffff:5.6.7.8]:6666');
    expect(formatAddress(view, 'dst')).toBe('::ffff:5.6.7.8');
  });

  test('from stored words', () => {
    expect(formatEndpointWords(4, 0x01020304, 0, 0, 0, 80)).toBe('1.2.3.4:80');
    expect(formatEndpointWords(6, ...words('2001:db8::1'), 443)).toBe('[2001:db8::1]:443');
  });
});

describe('hostOfEndpoint', () => {
  test.each([
    ['10.0.0.1:80', '10.0.0.1'],
    ['[2001:db8::1]:443', '2001:db8::1'],
    ['[::1]:8080', '::1'],
    ['10.0.0.1', '10.0.0.1'],
  ])('%s → %s', (endpoint, host) => {
    expect(hostOfEndpoint(endpoint)).toBe(host);
  });
});
