import { decodePacket } from '../../src/decode/decode-packet';
import { DECODE_ISSUES } from '../../src/decode/decode-issue';
import { DecodeStatus, PacketView } from '../../src/decode/packet-view';
import {
  buildTcpPacket,
  LINKTYPE_ETHERNET,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_LOOP,
  LINKTYPE_NULL,
  LINKTYPE_RAW,
  TCP_SYN,
  tcpOption,
  TcpPacketSpec,
} from '../helpers/packet-builder';
import { decode, STATUS_NAMES, tcpInvariantViolations } from './decode-helpers';

const OPTIONS = [tcpOption.mss(1460), tcpOption.sackPermitted(), tcpOption.timestamp(1, 2), tcpOption.nop(), tcpOption.windowScale(7)];

/** Good packets of every shape the decoder walks through, to be cut at every byte (all with 20 bytes of TCP options). */
const SHAPES: Array<[string, TcpPacketSpec]> = [
  ['Ethernet IPv4 + IP options + TCP options', { ipOptions: [1, 7, 7, 4, 0, 0, 0, 0], options: OPTIONS, payload: 'abcdefgh' }],
  ['QinQ Ethernet IPv6 + extension headers', { src: '2001:db8::1', dst: '2001:db8::2', vlan: [10, 20], ipv6ExtensionHeaders: [{ type: 0, body: [1, 4, 0, 0, 0, 0] }, { type: 44 }, { type: 51 }, { type: 60 }], options: OPTIONS, payload: 'xyz' }],
  ['Linux SLL IPv4', { linkType: LINKTYPE_LINUX_SLL, options: OPTIONS, payload: 'p' }],
  ['Linux SLL2 IPv6', { linkType: LINKTYPE_LINUX_SLL2, src: '::1', dst: '::1', options: OPTIONS, payload: 'q' }],
  ['NULL IPv6', { linkType: LINKTYPE_NULL, src: 'fe80::1', dst: 'fe80::2', options: OPTIONS, payload: 'r' }],
  ['LOOP IPv4', { linkType: LINKTYPE_LOOP, options: OPTIONS, payload: 's' }],
  ['raw IPv6 in IPv4 tunnel', { linkType: LINKTYPE_RAW, src: '2001:db8::1', dst: '2001:db8::2', tunnel: { src: '192.0.2.1', dst: '192.0.2.2' }, options: OPTIONS, payload: 'tt' }],
  ['LINKTYPE_IPV6 with AH', { linkType: LINKTYPE_IPV6, src: '2001:db8::1', dst: '2001:db8::2', ipv6ExtensionHeaders: [{ type: 51 }], options: OPTIONS, payload: 'u' }],
  ['raw IPv4 with AH', { linkType: LINKTYPE_RAW, ipv4AuthHeaderIcv: 12, options: OPTIONS, payload: 'v' }],
  ['Ethernet IPv4 TSO (total length 0)', { ipLengthField: 0, options: OPTIONS, payload: 'w'.repeat(40) }],
];

describe('a good packet cut at every byte offset (snaplen) is Truncated or Tcp, never Malformed', () => {
  test.each(SHAPES)('%s', (_name, spec) => {
    const linkType = spec.linkType ?? LINKTYPE_ETHERNET;
    const frame = buildTcpPacket({ flags: TCP_SYN, ...spec });
    const whole = decode(linkType, frame);
    expect(STATUS_NAMES[whole.status]).toBe('Tcp');
    const tcpOffset = whole.view.payloadOffset - (20 + 20); // every shape carries 20 bytes of TCP options
    const full = { ...whole.view };
    const seen = new Set<string>();
    for (let cut = 0; cut <= frame.length; cut++) {
      // Both ways a reader can hand over a cut packet: a short buffer, or a caplen inside a longer buffer.
      for (const data of [frame.slice(0, cut), frame]) {
        const { status, view } = decode(linkType, data, cut, frame.length);
        seen.add(STATUS_NAMES[status]);
        if (cut < tcpOffset + 16) {
          expect({ cut, status: STATUS_NAMES[status] }).toEqual({ cut, status: 'Truncated' });
          expect(view.issue).not.toBe('none');
          continue;
        }
        expect({ cut, status: STATUS_NAMES[status] }).toEqual({ cut, status: 'Tcp' });
        expect(tcpInvariantViolations(view, cut)).toEqual([]);
        expect([view.srcPort, view.dstPort, view.seq, view.ack, view.flags, view.window]).toEqual([full.srcPort, full.dstPort, full.seq, full.ack, full.flags, full.window]);
        expect(view.payloadLen).toBe(full.payloadLen);
        expect(view.payloadOffset).toBe(full.payloadOffset);
        expect(view.capturedPayloadLen).toBe(Math.max(0, Math.min(cut, full.payloadOffset + full.payloadLen) - full.payloadOffset));
        expect(view.headerTruncated).toBe(cut < full.payloadOffset);
        expect(view.optionsMalformed).toBe(false);
      }
    }
    expect([...seen].sort()).toEqual(['Tcp', 'Truncated']);
  });
});

/** Small deterministic PRNG (mulberry32) so a failure reproduces. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LINK_TYPES = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 105, 239, 0x30000001];
const KNOWN_ISSUES = new Set(Object.keys(DECODE_ISSUES));

function checkOutcome(status: DecodeStatus, view: PacketView, caplen: number): string[] {
  const problems: string[] = [];
  if (!(status >= DecodeStatus.Tcp && status <= DecodeStatus.IcmpError)) problems.push(`status ${status}`);
  if (!KNOWN_ISSUES.has(view.issue)) problems.push(`unknown issue ${view.issue}`);
  if (view.issue === 'decoder-error') problems.push('decoder-error');
  if (status === DecodeStatus.Tcp) {
    problems.push(...tcpInvariantViolations(view, caplen));
    if (!['none', 'tcp-options-truncated', 'tcp-options-malformed'].includes(view.issue)) problems.push(`Tcp with issue ${view.issue}`);
  } else if (view.issue === 'none') {
    problems.push('non-Tcp status without an issue');
  }
  return problems;
}

describe('fuzz: never throws, always a valid status and a named issue', () => {
  test('random bytes on every link type', () => {
    const random = prng(12345);
    const view = new PacketView();
    const counts = new Array<number>(6).fill(0);
    for (let i = 0; i < 30000; i++) {
      const length = Math.floor(random() * 160);
      const data = new Uint8Array(length);
      for (let j = 0; j < length; j++) data[j] = Math.floor(random() * 256);
      // Bias the first bytes toward IP so the deeper layers get exercised too.
      if (length > 0 && random() < 0.5) data[0] = random() < 0.5 ? 0x45 : 0x60;
      const linkType = LINK_TYPES[i % LINK_TYPES.length];
      const caplen = random() < 0.1 ? length + 10 : length; // a reader bug: caplen beyond the buffer
      const origLen = random() < 0.2 ? Math.floor(random() * 200) : length;
      const status = decodePacket(linkType, data, caplen, origLen, view);
      counts[status]++;
      const problems = checkOutcome(status, view, Math.min(caplen, length));
      if (problems.length > 0) throw new Error(`packet ${i} (link ${linkType}, ${Buffer.from(data).toString('hex')}): ${problems.join(', ')}`);
    }
    expect(counts.reduce((a, b) => a + b, 0)).toBe(30000);
  });

  test('good packets with random bytes damaged', () => {
    const random = prng(777);
    const view = new PacketView();
    const frames = SHAPES.map(([, spec]) => ({ linkType: spec.linkType ?? LINKTYPE_ETHERNET, frame: buildTcpPacket({ flags: TCP_SYN, ...spec }) }));
    const counts = new Array<number>(6).fill(0);
    for (let i = 0; i < 40000; i++) {
      const { linkType, frame } = frames[i % frames.length];
      const data = frame.slice();
      const damage = 1 + Math.floor(random() * 4);
      for (let d = 0; d < damage; d++) data[Math.floor(random() * data.length)] = Math.floor(random() * 256);
      const caplen = random() < 0.3 ? Math.floor(random() * data.length) : data.length;
      const origLen = random() < 0.2 ? Math.floor(random() * 2 * data.length) : data.length;
      const status = decodePacket(linkType, data, caplen, origLen, view);
      counts[status]++;
      const problems = checkOutcome(status, view, caplen);
      if (problems.length > 0) throw new Error(`packet ${i} (link ${linkType}, caplen ${caplen}, origLen ${origLen}, ${Buffer.from(data).toString('hex')}): ${problems.join(', ')}`);
    }
    // Damage at random places leaves most packets decodable and hits every kind of outcome but UnsupportedLink.
    expect(counts[DecodeStatus.Tcp]).toBeGreaterThan(20000);
    expect(counts[DecodeStatus.Truncated]).toBeGreaterThan(0);
    expect(counts[DecodeStatus.Malformed]).toBeGreaterThan(0);
    expect(counts[DecodeStatus.NotTcp]).toBeGreaterThan(0);
    expect(counts[DecodeStatus.Fragment]).toBeGreaterThan(0);
  });

  test('nonsense lengths from a reader do not throw', () => {
    const frame = buildTcpPacket({ payload: 'abc' });
    const view = new PacketView();
    for (const [caplen, origLen] of [[-1, 10], [NaN, NaN], [1e12, 1e12], [frame.length, 0], [frame.length, -5], [0, 0], [3.5, 7.25]]) {
      const status = decodePacket(LINKTYPE_ETHERNET, frame, caplen, origLen, view);
      expect(checkOutcome(status, view, caplen >= 0 ? Math.min(frame.length, Math.floor(caplen)) : 0)).toEqual([]);
    }
  });
});
