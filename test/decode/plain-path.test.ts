import { decodePacket, decodePacketLayered } from '../../src/decode/decode-packet';
import { DecodeStatus, PacketView } from '../../src/decode/packet-view';
import { buildTcpPacket, LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, TCP_ACK, TCP_SYN, tcpOption, TcpPacketSpec } from '../helpers/packet-builder';

/**
 * decodePacket takes a plain path for Ethernet / IPv4 without options / TCP with its header
 * captured, and the layer-by-layer path for everything else. Both must give the same status and
 * the same view for every input: this decodes good packets, their mutations and their cuts both
 * ways and compares every field.
 */

/** Every field of a view, as a record (the view is reused, so it is copied). */
function snapshot(status: DecodeStatus, view: PacketView): Record<string, unknown> {
  return { status, ...view };
}

/** A view whose fields all hold values no decode would leave, so that a field one path forgets to set shows. */
function dirtyView(): PacketView {
  const v = new PacketView();
  for (const key of Object.keys(v) as Array<keyof PacketView>) {
    const value = v[key];
    if (typeof value === 'number') (v as unknown as Record<string, unknown>)[key] = 77;
    else if (typeof value === 'boolean') (v as unknown as Record<string, unknown>)[key] = !value;
  }
  v.issue = 'not-tcp';
  return v;
}

/**
 * The plain path takes packets that lie in a buffer shared with others (a reader's chunk, at least
 * 32 KiB); a packet in a short buffer of its own goes the layered way. Each comparison is made
 * with the packet inside such a chunk, and in its own short buffer.
 */
const chunk = new Uint8Array(64 * 1024);
const AT = 1000;

function bothWays(linkType: number, frame: Uint8Array, caplen: number, origLen: number): [Record<string, unknown>, Record<string, unknown>] {
  chunk.fill(0x5a, AT - 64, AT + frame.length + 64);
  chunk.set(frame, AT);
  const a = dirtyView();
  const b = dirtyView();
  const plain = snapshot(decodePacket(linkType, chunk, caplen, origLen, a, AT), a);
  // Past the packet the chunk holds other bytes: caplen must bound every read, as in a real chunk.
  const layered = snapshot(decodePacketLayered(linkType, chunk, caplen, origLen, b, AT), b);
  if (!(caplen > frame.length)) {
    // The same packet in a short buffer of its own (a larger caplen would reach other bytes in the chunk).
    const own = dirtyView();
    const alone = snapshot(decodePacket(linkType, frame, caplen, origLen, own), own);
    expect(shiftedBack(alone)).toEqual(shiftedBack(layered, AT));
  }
  return [plain, layered];
}

/** A snapshot with its payload offset as a position in the packet rather than in the buffer. */
function shiftedBack(s: Record<string, unknown>, at = 0): Record<string, unknown> {
  return s.status === DecodeStatus.Tcp ? { ...s, payloadOffset: (s.payloadOffset as number) - at } : s;
}

const SHAPES: Array<[string, TcpPacketSpec]> = [
  ['no options, no payload', { flags: TCP_ACK }],
  ['NOP NOP timestamps and payload', { flags: TCP_ACK, options: [tcpOption.nop(), tcpOption.nop(), tcpOption.timestamp(0xfedcba98, 7)], payload: 'GET / HTTP/1.1\r\n\r\n' }],
  ['SYN options', { flags: TCP_SYN, options: [tcpOption.mss(1460), tcpOption.sackPermitted(), tcpOption.timestamp(1, 0), tcpOption.nop(), tcpOption.windowScale(7)] }],
  ['SACK blocks', { flags: TCP_ACK, options: [tcpOption.nop(), tcpOption.nop(), tcpOption.sack([1000, 2000], [3000, 4000])], payload: 'x' }],
  ['timestamps then EOL padding', { flags: TCP_ACK, options: [tcpOption.timestamp(5, 6), tcpOption.eol(), tcpOption.eol()] }],
  ['addresses above 128.0.0.0', { src: '200.1.2.3', dst: '172.16.0.9', sport: 65535, dport: 443, seq: 0xffffffff, ack: 0x80000000, flags: TCP_ACK, payload: 'abc' }],
  ['IP options (layered only)', { ipOptions: [1, 1, 1, 0], flags: TCP_ACK, payload: 'y' }],
  ['VLAN tag (layered only)', { vlan: [42], flags: TCP_ACK, payload: 'z' }],
  ['TSO total length 0 (layered only)', { ipLengthField: 0, flags: TCP_ACK, payload: 'w'.repeat(30) }],
  ['fragment (layered only)', { fragment: { offset: 0, more: true }, flags: TCP_ACK, payload: 'f' }],
  ['IPv6 (layered only)', { src: '2001:db8::1', dst: '2001:db8::2', flags: TCP_ACK, payload: 'v6' }],
];

describe('the plain path and the layered path decode alike', () => {
  test.each(SHAPES)('%s, whole and cut at every byte (snaplen)', (_name, spec) => {
    const frame = buildTcpPacket(spec);
    for (let caplen = 0; caplen <= frame.length; caplen++) {
      const [plain, layered] = bothWays(LINKTYPE_ETHERNET, frame, caplen, frame.length);
      expect({ caplen, ...plain }).toEqual({ caplen, ...layered });
    }
  });

  test.each(SHAPES)('%s, with origLen below, at and beyond the capture, and odd caplens', (_name, spec) => {
    const frame = buildTcpPacket(spec);
    for (const origLen of [0, 20, frame.length - 1, frame.length, frame.length + 100, NaN]) {
      const [plain, layered] = bothWays(LINKTYPE_ETHERNET, frame, frame.length, origLen);
      expect({ origLen, ...plain }).toEqual({ origLen, ...layered });
    }
    for (const caplen of [NaN, -1, frame.length + 0.5, frame.length + 1000]) {
      const [plain, layered] = bothWays(LINKTYPE_ETHERNET, frame, caplen, frame.length);
      expect({ caplen, ...plain }).toEqual({ caplen, ...layered });
    }
  });

  test('every header byte set to values that matter for the checks (seeded mutations)', () => {
    const frames = SHAPES.map(([, spec]) => buildTcpPacket(spec));
    // Values at the edges of the checks: data offsets, IHL/version, lengths, EtherTypes, protocols.
    const interesting = [0x00, 0x01, 0x04, 0x05, 0x06, 0x08, 0x0a, 0x10, 0x14, 0x20, 0x33, 0x3f, 0x40, 0x45, 0x46, 0x4f, 0x50, 0x60, 0x80, 0x81, 0x86, 0xdd, 0xf0, 0xff];
    let seed = 12345;
    const random = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    let plainTaken = 0;
    for (let round = 0; round < 20000; round++) {
      const source = frames[random(frames.length)];
      const frame = source.slice();
      const mutations = 1 + random(3);
      // Mostly inside the Ethernet, IPv4 and TCP headers (with options), where the checks are.
      for (let m = 0; m < mutations; m++) frame[random(Math.min(frame.length, 14 + 20 + 40))] = interesting[random(interesting.length)];
      const caplen = random(4) === 0 ? random(frame.length + 1) : frame.length;
      const origLen = random(4) === 0 ? random(frame.length + 40) : frame.length;
      const linkType = random(10) === 0 ? LINKTYPE_LINUX_SLL : LINKTYPE_ETHERNET | (random(2) === 0 ? 0 : 0x10000000);
      const [plain, layered] = bothWays(linkType, frame, caplen, origLen);
      if (plain.status === DecodeStatus.Tcp) plainTaken++;
      expect({ round, ...plain }).toEqual({ round, ...layered });
    }
    // The mutations must leave enough good packets for the comparison to mean something.
    expect(plainTaken).toBeGreaterThan(2000);
  });

  test('a length-tracking view of a resizable buffer that shrank after a packet is still decoded, not thrown on', () => {
    const Resizable = ArrayBuffer as unknown as new (length: number, options: { maxByteLength: number }) => ArrayBuffer & { resize(length: number): void };
    const buffer = new Resizable(64 * 1024, { maxByteLength: 128 * 1024 });
    const data = new Uint8Array(buffer);
    const frame = buildTcpPacket(SHAPES[1][1]);
    data.set(frame, 100);
    const first = dirtyView();
    expect(decodePacket(LINKTYPE_ETHERNET, data, frame.length, frame.length, first, 100)).toBe(DecodeStatus.Tcp);
    // The same Uint8Array now covers fewer bytes: a DataView made over the old length would throw.
    buffer.resize(40 * 1024);
    const again = dirtyView();
    const layered = dirtyView();
    const status = decodePacket(LINKTYPE_ETHERNET, data, frame.length, frame.length, again, 100);
    const expected = decodePacketLayered(LINKTYPE_ETHERNET, data, frame.length, frame.length, layered, 100);
    expect(snapshot(status, again)).toEqual(snapshot(expected, layered));
    expect(snapshot(status, again)).toEqual(snapshot(DecodeStatus.Tcp, first));
  });
});
