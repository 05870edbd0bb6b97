/**
 * Packets are decoded in place inside the reader's buffer (`start` > 0): every field must be
 * what decoding the same bytes on their own gives, with offsets moved by `start`, and nothing
 * before `start` or after the packet may be read.
 */
import { decodePacket } from '../../src/decode/decode-packet';
import { DecodeStatus, PacketView } from '../../src/decode/packet-view';
import { buildTcpPacket } from '../helpers/packet-builder';

const LINKS = [1, 113, 276, 0, 108, 101, 228, 229, 12];

function fields(v: PacketView): Record<string, unknown> {
  const { payloadOffset: _skip, ...rest } = { ...v };
  return rest;
}

describe.each(LINKS)('link type %i decoded at an offset inside a larger buffer', (linkType) => {
  const ipv6 = linkType === 229;
  const packet = buildTcpPacket({
    linkType, src: ipv6 ? '2001:db8::1' : '10.0.0.1', dst: ipv6 ? '2001:db8::2' : '10.0.0.2',
    sport: 40000, dport: 80, seq: 123, ack: 456, flags: 0x18, payload: 'GET / HTTP/1.1\r\n\r\n',
  });

  test.each([1, 7, 13, 100])('start %i gives the same view, offsets moved', (start) => {
    const alone = new PacketView();
    expect(decodePacket(linkType, packet, packet.length, packet.length, alone)).toBe(DecodeStatus.Tcp);
    // Bytes around the packet that would break decoding if read: 0xff is neither a valid
    // Ethernet type nor an IP version.
    const buffer = new Uint8Array(start + packet.length + 50).fill(0xff);
    buffer.set(packet, start);
    const inPlace = new PacketView();
    expect(decodePacket(linkType, buffer, packet.length, packet.length, inPlace, start)).toBe(DecodeStatus.Tcp);
    expect(fields(inPlace)).toEqual(fields(alone));
    expect(inPlace.payloadOffset).toBe(alone.payloadOffset + start);
    const payload = Buffer.from(buffer.subarray(inPlace.payloadOffset, inPlace.payloadOffset + inPlace.capturedPayloadLen)).toString();
    expect(payload).toBe('GET / HTTP/1.1\r\n\r\n');
  });

  test('a packet cut by caplen at an offset is truncated the same way', () => {
    const start = 9;
    const buffer = new Uint8Array(start + packet.length).fill(0xff);
    buffer.set(packet, start);
    for (let caplen = 0; caplen < packet.length; caplen += 3) {
      const alone = new PacketView();
      const inPlace = new PacketView();
      const a = decodePacket(linkType, packet, caplen, packet.length, alone);
      const b = decodePacket(linkType, buffer, caplen, packet.length, inPlace, start);
      expect([caplen, b, inPlace.issue]).toEqual([caplen, a, alone.issue]);
    }
  });
});
