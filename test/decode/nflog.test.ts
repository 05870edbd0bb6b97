import { formatEndpoint } from '../../src/decode/address';
import { DecodeStatus } from '../../src/decode/packet-view';
import { buildIpPacket, buildTcpSegment, TCP_ACK, TcpPacketSpec } from '../helpers/packet-builder';
import { decode, STATUS_NAMES, tcpInvariantViolations } from './decode-helpers';

/**
 * LINKTYPE_NFLOG (239), built after libpcap's pcap/nflog.h: family, version, resource id, then
 * type-length-value attributes (length includes the 4-byte header, each padded to 4 bytes) in the
 * capturing host's byte order; NFULA_PAYLOAD (9) holds the IP packet. The corpus's real capture
 * (zeek/nflog-http.pcap) is compared with tshark in test/corpus.
 */
const NFLOG = 239;
const V4 = { src: '10.0.2.15', dst: '93.184.216.34' };
const V6 = { src: '2001:db8::1', dst: '2001:db8::2' };
const BASE: TcpPacketSpec = { sport: 49762, dport: 80, seq: 1, ack: 2, flags: TCP_ACK, payload: 'x'.repeat(30) };

function tlv(type: number, value: Uint8Array | number[], littleEndian: boolean): number[] {
  const length = 4 + value.length;
  const header = littleEndian ? [length & 0xff, length >> 8, type & 0xff, type >> 8] : [length >> 8, length & 0xff, type >> 8, type & 0xff];
  const padded = [...header, ...value];
  while (padded.length % 4 !== 0) padded.push(0);
  return padded;
}

function nflog(ip: Uint8Array, opts: { family?: number; littleEndian?: boolean; before?: number } = {}): Uint8Array {
  const le = opts.littleEndian ?? true;
  const attributes: number[] = [];
  // What Linux sends first: packet header (hw protocol, hook), a prefix with odd length, timestamps, uid...
  const before = [tlv(1, [0x08, 0x00, 3, 0], le), tlv(10, [...Buffer.from('drop-in\0')].slice(0, 7), le), tlv(3, [0, 0, 0, 2], le), tlv(11, [0, 0, 3, 232], le)];
  for (let i = 0; i < (opts.before ?? before.length); i++) attributes.push(...before[i % before.length]);
  return new Uint8Array([opts.family ?? 2, 0, 0, 5, ...attributes, ...tlv(9, ip, le)]);
}

const ipv4 = (): Uint8Array => buildIpPacket(V4, 6, buildTcpSegment(BASE, V4.src, V4.dst));

describe('NFLOG (tcpdump -i nflog:N)', () => {
  test.each([
    ['little-endian attributes (x86, arm64)', true],
    ['big-endian attributes', false],
  ])('%s: the payload attribute holds the IP packet', (_name, littleEndian) => {
    const { status, view } = decode(NFLOG, nflog(ipv4(), { littleEndian }));
    expect(STATUS_NAMES[status]).toBe('Tcp');
    expect(formatEndpoint(view, 'src')).toBe('10.0.2.15:49762');
    expect(view.payloadLen).toBe(30);
  });

  test('IPv6', () => {
    const { status, view } = decode(NFLOG, nflog(buildIpPacket(V6, 6, buildTcpSegment(BASE, V6.src, V6.dst)), { family: 10 }));
    expect(STATUS_NAMES[status]).toBe('Tcp');
    expect(formatEndpoint(view, 'dst')).toBe('[2001:db8::2]:80');
  });

  test('the payload attribute bounds the packet (padding after it is not payload)', () => {
    const frame = nflog(ipv4());
    const padded = new Uint8Array(frame.length + 8);
    padded.set(frame);
    const { status, view } = decode(NFLOG, padded);
    expect(status).toBe(DecodeStatus.Tcp);
    expect(view.payloadLen).toBe(30);
  });

  test.each([
    ['an unknown family', nflog(ipv4(), { family: 7 }), 'NotTcp', 'not-ip'],
    ['no payload attribute', new Uint8Array([2, 0, 0, 5, ...tlv(1, [8, 0, 3, 0], true)]), 'NotTcp', 'not-ip'],
    ['an attribute longer than the packet', new Uint8Array([2, 0, 0, 5, 200, 0, 9, 0, 0x45]), 'Malformed', 'link-header-invalid'],
    ['more attributes than Linux ever sends', nflog(ipv4(), { before: 70 }), 'Malformed', 'link-header-invalid'],
  ])('%s', (_name, frame, status, issue) => {
    const decoded = decode(NFLOG, frame);
    expect(STATUS_NAMES[decoded.status]).toBe(status);
    expect(decoded.view.issue).toBe(issue);
  });

  test('cut at every length: truncated, never a wrong connection', () => {
    const frame = nflog(ipv4());
    for (let caplen = 0; caplen < frame.length; caplen++) {
      const { status, view } = decode(NFLOG, frame, caplen, frame.length);
      if (status === DecodeStatus.Tcp) {
        expect(formatEndpoint(view, 'src')).toBe('10.0.2.15:49762');
        expect(tcpInvariantViolations(view, caplen)).toEqual([]);
      } else {
        expect(STATUS_NAMES[status]).toBe('Truncated');
      }
    }
  });
});
