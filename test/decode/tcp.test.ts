import { DecodeStatus } from '../../src/decode/packet-view';
import {
  buildTcpPacket,
  LINKTYPE_ETHERNET,
  LINKTYPE_RAW,
  TCP_ACK,
  TCP_CWR,
  TCP_ECE,
  TCP_FIN,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
  TCP_URG,
  tcpOption,
  TcpOptionBytes,
} from '../helpers/packet-builder';
import { decode, STATUS_NAMES } from './decode-helpers';

describe('TCP fixed header', () => {
  test('ports, unsigned 32-bit sequence numbers, flags and window', () => {
    const frame = buildTcpPacket({ sport: 65535, dport: 1, seq: 0xffffffff, ack: 0x80000000, flags: 0xff, window: 0xfffe });
    const { status, view } = decode(LINKTYPE_ETHERNET, frame);
    expect(status).toBe(DecodeStatus.Tcp);
    expect([view.srcPort, view.dstPort, view.seq, view.ack, view.window]).toEqual([65535, 1, 4294967295, 2147483648, 0xfffe]);
    expect(view.flags).toBe(TCP_FIN | TCP_SYN | TCP_RST | TCP_PSH | TCP_ACK | TCP_URG | TCP_ECE | TCP_CWR);
  });

  test('the AccECN AE bit (reserved bit next to the data offset) does not disturb the data offset', () => {
    const frame = buildTcpPacket({ flags: TCP_ACK, payload: 'abc' });
    frame[34 + 12] |= 0x01; // AE
    const { status, view } = decode(LINKTYPE_ETHERNET, frame);
    expect(status).toBe(DecodeStatus.Tcp);
    expect(view.payloadLen).toBe(3);
    expect(view.flags).toBe(TCP_ACK);
  });

  test.each([
    ['data offset 0', 0, 'tcp-data-offset-invalid'],
    ['data offset 4 (16 bytes)', 4, 'tcp-data-offset-invalid'],
    ['data offset 15 with a 24-byte segment', 15, 'tcp-header-beyond-segment'],
    ['data offset 7 with a 24-byte segment', 7, 'tcp-header-beyond-segment'],
    ['data offset 6 with a 24-byte segment: 4 payload bytes become options', 6, null],
  ])('%s', (_name, dataOffset, issue) => {
    const { status, view } = decode(LINKTYPE_ETHERNET, buildTcpPacket({ payload: 'abcd', dataOffsetField: dataOffset }));
    if (issue === null) {
      expect(status).toBe(DecodeStatus.Tcp);
      expect(view.payloadLen).toBe(0);
      expect(view.payloadOffset).toBe(14 + 20 + 24);
    } else {
      expect(status).toBe(DecodeStatus.Malformed);
      expect(view.issue).toBe(issue);
    }
  });

  test('IP lengths leaving fewer than 20 bytes for TCP are malformed', () => {
    const frame = buildTcpPacket({ linkType: LINKTYPE_RAW, ipLengthField: 20 + 12 });
    const { status, view } = decode(LINKTYPE_RAW, frame);
    expect(status).toBe(DecodeStatus.Malformed);
    expect(view.issue).toBe('tcp-segment-too-short');
  });

  test('payload offset and lengths', () => {
    const frame = buildTcpPacket({ options: [tcpOption.timestamp(1, 2)], payload: 'hello' });
    const { view } = decode(LINKTYPE_ETHERNET, frame);
    expect(view.payloadOffset).toBe(14 + 20 + 32);
    expect(view.payloadLen).toBe(5);
    expect(view.capturedPayloadLen).toBe(5);
    expect(new TextDecoder().decode(frame.subarray(view.payloadOffset, view.payloadOffset + 5))).toBe('hello');
  });
});

describe('TCP options', () => {
  interface Expected {
    mss?: number;
    windowScale?: number;
    sackPermitted?: boolean;
    timestamp?: [number, number];
    optionsMalformed?: boolean;
  }
  const cases: Array<[string, TcpOptionBytes[], Expected]> = [
    ['none', [], {}],
    ['MSS', [tcpOption.mss(1460)], { mss: 1460 }],
    ['typical Linux SYN', [tcpOption.mss(65495), tcpOption.sackPermitted(), tcpOption.timestamp(0xdeadbeef, 0), tcpOption.nop(), tcpOption.windowScale(7)], { mss: 65495, sackPermitted: true, timestamp: [0xdeadbeef, 0], windowScale: 7 }],
    ['typical Windows SYN', [tcpOption.mss(1460), tcpOption.nop(), tcpOption.windowScale(8), tcpOption.nop(), tcpOption.nop(), tcpOption.sackPermitted()], { mss: 1460, windowScale: 8, sackPermitted: true }],
    ['timestamps with the top bit set stay unsigned', [tcpOption.nop(), tcpOption.nop(), tcpOption.timestamp(0xffffffff, 0x80000000)], { timestamp: [0xffffffff, 0x80000000] }],
    ['SACK blocks', [tcpOption.nop(), tcpOption.nop(), tcpOption.sack([1, 2], [3, 4])], {}],
    ['window scale 255 is kept raw (clamping to 14 is for the flow stage)', [tcpOption.windowScale(255)], { windowScale: 255 }],
    ['unknown and experimental options are skipped by length', [tcpOption.raw(30, 12, [0, 0, 1, 2, 3, 4, 5, 6, 7, 8]), tcpOption.raw(34, 2), tcpOption.mss(536)], { mss: 536 }],
    ['End of Option List stops the walk', [tcpOption.mss(1000), tcpOption.eol(), tcpOption.windowScale(3)], { mss: 1000 }],
    ['length 0: walk stops, earlier options kept', [tcpOption.mss(1400), tcpOption.raw(99, 0), tcpOption.windowScale(3)], { mss: 1400, optionsMalformed: true }],
    ['length 1: walk stops', [tcpOption.sackPermitted(), tcpOption.raw(99, 1), tcpOption.mss(1)], { sackPermitted: true, optionsMalformed: true }],
    ['length running past the header', [tcpOption.nop(), tcpOption.raw(8, 40, [0, 0])], { optionsMalformed: true }],
    ['MSS with a wrong length is ignored, later options still read', [tcpOption.raw(2, 3, [5]), tcpOption.windowScale(2)], { windowScale: 2, optionsMalformed: true }],
    ['timestamp with a wrong length', [tcpOption.raw(8, 6, [0, 0, 0, 1]), tcpOption.mss(900)], { mss: 900, optionsMalformed: true }],
    ['empty SACK option (length 2)', [tcpOption.raw(5, 2), tcpOption.mss(900)], { mss: 900, optionsMalformed: true }],
    ['SACK-permitted with a wrong length', [tcpOption.raw(4, 3, [0])], { optionsMalformed: true }],
  ];
  test.each(cases)('%s', (_name, options, expected) => {
    const { status, view } = decode(LINKTYPE_ETHERNET, buildTcpPacket({ flags: TCP_SYN, options, payload: 'zz' }));
    expect(STATUS_NAMES[status]).toBe('Tcp');
    expect(view.payloadLen).toBe(2);
    expect({
      mss: view.hasMss ? view.mss : undefined,
      windowScale: view.hasWindowScale ? view.windowScale : undefined,
      sackPermitted: view.sackPermitted || undefined,
      timestamp: view.hasTimestamp ? [view.tsVal, view.tsEcr] : undefined,
      optionsMalformed: view.optionsMalformed || undefined,
    }).toEqual(expected);
    expect(view.issue).toBe(expected.optionsMalformed ? 'tcp-options-malformed' : 'none');
  });

  test('options cut by snaplen: those captured are read, the segment is Tcp with headerTruncated', () => {
    const options = [tcpOption.mss(1460), tcpOption.sackPermitted(), tcpOption.timestamp(7, 8), tcpOption.nop(), tcpOption.windowScale(7)];
    const frame = buildTcpPacket({ flags: TCP_SYN, options });
    const cutAt = 34 + 20 + 4 + 2 + 5; // MSS, SACK-permitted, then 5 of the 10 timestamp bytes
    const { status, view } = decode(LINKTYPE_ETHERNET, frame.subarray(0, cutAt), cutAt, frame.length);
    expect(status).toBe(DecodeStatus.Tcp);
    expect(view.headerTruncated).toBe(true);
    expect(view.issue).toBe('tcp-options-truncated');
    expect(view.optionsMalformed).toBe(false);
    expect([view.hasMss, view.sackPermitted, view.hasTimestamp, view.hasWindowScale]).toEqual([true, true, false, false]);
    expect(view.payloadLen).toBe(0);
    expect(view.capturedPayloadLen).toBe(0);
  });
});
