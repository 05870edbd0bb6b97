/**
 * Packets a capture holds twice (tcpdump -i any on a bridging host, a SPAN of two ports) are
 * counted as copies, not as retransmissions or repeated SYNs, and change nothing else; segments
 * that really were sent again stay retransmissions. Real frames through the whole analysis.
 * samples/keepalive-race-bridge-any.pcap is the recorded case.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AnalysisResult, analyzeFiles } from '../../src/analyze';
import { decodePacket } from '../../src/decode/decode-packet';
import { DecodeStatus, PacketView } from '../../src/decode/packet-view';
import { COPY_WINDOW } from '../../src/flow/capture-copies';
import { FlowRecord } from '../../src/flow/flow-record';
import { buildPcapFile, buildTcpPacket, LINKTYPE_ETHERNET, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from '../helpers/packet-builder';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conncheck-copies-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let files = 0;

interface Frame {
  data: Uint8Array;
  ts: number;
  from: 'c' | 's';
  label: string;
}

const T = 1_700_000_000;

/**
 * One keep-alive connection with two exchanges (three, the last two pipelined), each side
 * numbering its IP identifications as Linux does (one more per packet sent).
 */
/** GET /a's request: a 28-byte head, or with a long header a segment offload would hand over whole (3 028 bytes). */
const GET_A = 'GET /a HTTP/1.1\r\nHost: x\r\n\r\n';
const LONG_GET_A = `GET /a HTTP/1.1\r\nHost: x\r\nX-Pad: ${'p'.repeat(2991)}\r\n\r\n`;

function conversation(pipelined = false, longGet = false): Frame[] {
  const frames: Frame[] = [];
  const seq = { c: 1000, s: 5000 };
  const ipId = { c: 0x100, s: 0x900 };
  const send = (from: 'c' | 's', ts: number, flags: number, label: string, payload = ''): void => {
    const c = from === 'c';
    const data = buildTcpPacket({
      src: c ? '10.0.0.1' : '10.0.0.2', dst: c ? '10.0.0.2' : '10.0.0.1', sport: c ? 40000 : 80, dport: c ? 80 : 40000,
      seq: seq[from], ack: (flags & TCP_SYN) !== 0 && c ? 0 : seq[c ? 's' : 'c'], flags, payload, ipId: ipId[from]++,
    });
    frames.push({ data, ts, from, label });
    seq[from] += payload.length + ((flags & (TCP_SYN | TCP_FIN)) !== 0 ? 1 : 0);
  };
  send('c', T, TCP_SYN, 'syn');
  send('s', T + 0.0001, TCP_SYN | TCP_ACK, 'syn-ack');
  send('c', T + 0.0002, TCP_ACK, 'ack');
  send('c', T + 0.01, TCP_ACK | TCP_PSH, 'GET /a', longGet ? LONG_GET_A : GET_A);
  send('s', T + 0.011, TCP_ACK, 'ack /a');
  send('s', T + 0.02, TCP_ACK | TCP_PSH, 'response /a', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  send('c', T + 0.021, TCP_ACK, 'ack response /a');
  send('c', T + 0.5, TCP_ACK | TCP_PSH, 'GET /b', 'GET /b HTTP/1.1\r\nHost: x\r\n\r\n');
  if (pipelined) send('c', T + 0.500001, TCP_ACK | TCP_PSH, 'GET /c', 'GET /c HTTP/1.1\r\nHost: x\r\n\r\n');
  send('s', T + 0.51, TCP_ACK | TCP_PSH, 'response /b', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  if (pipelined) send('s', T + 0.511, TCP_ACK | TCP_PSH, 'response /c', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  send('c', T + 0.6, TCP_ACK | TCP_FIN, 'fin c');
  send('s', T + 0.6001, TCP_ACK | TCP_FIN, 'fin s');
  send('c', T + 0.6002, TCP_ACK, 'last ack');
  return frames;
}

async function analyze(frames: Frame[], caplen?: number): Promise<AnalysisResult> {
  const bytes = buildPcapFile(
    LINKTYPE_ETHERNET,
    frames.map((f) => ({ data: caplen === undefined ? f.data : f.data.subarray(0, caplen), ts: f.ts, origLen: f.data.length })),
  );
  const file = path.join(dir, `case-${files++}.pcap`);
  fs.writeFileSync(file, bytes);
  return analyzeFiles([file]);
}

/** Each frame followed by `copies` copies of itself, `gap` seconds apart. */
function withCopies(frames: Frame[], copies = 1, gap = 20e-6): Frame[] {
  return frames.flatMap((f) => [f, ...Array.from({ length: copies }, (_, i) => ({ ...f, ts: f.ts + gap * (i + 1) }))]);
}

/** What must not depend on copies: everything but the packet counts and the copy counts. */
function withoutCounts(flow: FlowRecord): Omit<FlowRecord, 'packets' | 'duplicates' | 'end' | 'duration'> {
  const { packets: _p, duplicates: _d, end: _e, duration: _u, ...rest } = flow;
  return rest;
}

function only(r: AnalysisResult): FlowRecord {
  expect(r.flows).toHaveLength(1);
  return r.flows[0];
}

function label(frames: Frame[], name: string): Frame {
  const f = frames.find((x) => x.label === name);
  if (f === undefined) throw new Error(`no frame ${name}`);
  return f;
}

/** Where conversation()'s frames (Ethernet, IPv4 without options) hold the TCP header. */
const TCP_AT = 14 + 20;

function read16(b: Uint8Array, at: number): number {
  return (b[at] << 8) | b[at + 1];
}

function put16(b: Uint8Array, at: number, value: number): void {
  b[at] = value >> 8;
  b[at + 1] = value & 0xff;
}

/**
 * The frame as a sender using checksum offload leaves it for the device: the TCP checksum holds
 * the folded sum of the pseudo-header (addresses, protocol 6, TCP length), as Linux writes it.
 */
function withPseudoHeaderSum(frame: Uint8Array): Uint8Array {
  const out = frame.slice();
  let sum = 6 + (out.length - TCP_AT);
  for (let at = 14 + 12; at < 14 + 20; at += 2) sum += read16(out, at); // source and destination
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  put16(out, TCP_AT + 16, sum);
  return out;
}

/**
 * conversation() with a long 'GET /a' followed by the three pieces of it (1 448, 1 448 and 132
 * bytes) software segmentation cuts it into for a 1 500-byte MTU: the whole's identification plus
 * the piece's index, plus `idShift`.
 */
function withPiecesOfGetA(idShift: number): Frame[] {
  const frames = conversation(false, true);
  const get = label(frames, 'GET /a');
  const text = LONG_GET_A;
  expect(text.length).toBe(3028);
  const wholeId = read16(get.data, 14 + 4);
  const pieces = [0, 1448, 2896].map((offset, k) => ({
    ...get,
    ts: get.ts + 10e-6 * (k + 1),
    data: buildTcpPacket({
      src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 80, seq: 1001 + offset, ack: 5001,
      flags: k === 2 ? TCP_ACK | TCP_PSH : TCP_ACK, payload: text.slice(offset, offset + 1448), ipId: (wholeId + k + idShift) & 0xffff,
    }),
  }));
  const at = frames.indexOf(get);
  return [...frames.slice(0, at + 1), ...pieces, ...frames.slice(at + 1)];
}

describe('capture copies', () => {
  test('every packet twice: same connection, exchanges and state as once, copies counted apart', async () => {
    const once = await analyze(conversation());
    const twice = await analyze(withCopies(conversation()));
    const flow = only(twice);
    expect(withoutCounts(flow)).toEqual(withoutCounts(only(once)));
    expect(flow.retransmissions).toEqual({ client: 0, server: 0 });
    expect(flow.syns).toBe(1);
    expect(flow.history).toBe(only(once).history);
    expect(flow.duplicates).toEqual({ client: 7, server: 5 });
    expect(flow.packets).toEqual({ client: 14, server: 10 });
    expect(twice.stats.duplicates).toBe(12);
    expect(once.stats.duplicates).toBe(0);
  });

  test('evidence frames point at first copies, as numbered in the file', async () => {
    const twice = await analyze(withCopies(conversation()));
    // Frame n of the single capture is frame 2n − 1 here.
    const once = await analyze(conversation());
    expect(twice.exchanges.map((e) => e.requestFrame)).toEqual(once.exchanges.map((e) => 2 * (e.requestFrame ?? 0) - 1));
  });

  test('three copies of each (a packet crossing three interfaces)', async () => {
    const r = await analyze(withCopies(conversation(), 2));
    expect(only(r).duplicates).toEqual({ client: 14, server: 10 });
    expect(only(r).retransmissions).toEqual({ client: 0, server: 0 });
  });

  test('a copy stamped before its original (interfaces\' clocks read apart)', async () => {
    const frames = conversation().flatMap((f) => (f.label === 'GET /a' ? [f, { ...f, ts: f.ts - 5e-6 }] : [f]));
    const r = await analyze(frames);
    expect(only(r).duplicates).toEqual({ client: 1, server: 0 });
    expect(only(r).retransmissions).toEqual({ client: 0, server: 0 });
  });

  test('two segments of one side, then their copies in reverse order', async () => {
    const frames = conversation(true);
    const getB = label(frames, 'GET /b');
    const getC = label(frames, 'GET /c');
    const at = frames.indexOf(getC);
    expect(frames[at - 1]).toBe(getB);
    const reordered = [...frames.slice(0, at + 1), { ...getC, ts: getC.ts + 10e-6 }, { ...getB, ts: getC.ts + 12e-6 }, ...frames.slice(at + 1)];
    const r = await analyze(reordered);
    expect(only(r).duplicates).toEqual({ client: 2, server: 0 });
    expect(only(r).retransmissions).toEqual({ client: 0, server: 0 });
    expect(r.exchanges.map((e) => e.uri)).toEqual(['/a', '/b', '/c']);
  });

  test('one copy with the checksum offload left (its pseudo-header sum), the other with the full one', async () => {
    // A container's packet captured on its veth (checksum not yet computed) and again on its way
    // out of a device without transmit checksum offload (computed in software before it).
    const once = await analyze(conversation());
    const r = await analyze(conversation().flatMap((f) => [{ ...f, data: withPseudoHeaderSum(f.data) }, { ...f, ts: f.ts + 20e-6 }]));
    expect(only(r).duplicates).toEqual({ client: 7, server: 5 });
    expect(only(r).retransmissions).toEqual({ client: 0, server: 0 });
    expect(only(r).syns).toBe(1);
    expect(withoutCounts(only(r))).toEqual(withoutCounts(only(once)));
    // The full checksum first: the same.
    const reversed = await analyze(conversation().flatMap((f) => [f, { ...f, data: withPseudoHeaderSum(f.data), ts: f.ts + 20e-6 }]));
    expect(only(reversed).duplicates).toEqual({ client: 7, server: 5 });
  });

  test('a copy cut in pieces by segmentation offload (one identification more per piece)', async () => {
    // The whole segment from a container's veth, then the pieces the kernel cut it into before a
    // device without segmentation offload.
    const once = await analyze(conversation(false, true));
    const r = await analyze(withPiecesOfGetA(0));
    expect(only(r).duplicates).toEqual({ client: 3, server: 0 });
    expect(only(r).retransmissions).toEqual({ client: 0, server: 0 });
    expect(withoutCounts(only(r))).toEqual(withoutCounts(only(once)));
  });

  describe('what stays a retransmission', () => {
    test('the same segment with a new IP identification (sent again by the stack)', async () => {
      const frames = conversation();
      const get = label(frames, 'GET /a');
      const resent = buildTcpPacket({
        src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 80, seq: 1001, ack: 5001, flags: TCP_ACK | TCP_PSH,
        payload: 'GET /a HTTP/1.1\r\nHost: x\r\n\r\n', ipId: 0x1fe,
      });
      const at = frames.indexOf(get);
      const r = await analyze([...frames.slice(0, at + 1), { ...get, data: resent, ts: get.ts + 20e-6 }, ...frames.slice(at + 1)]);
      expect(only(r).retransmissions.client).toBe(1);
      expect(only(r).duplicates).toEqual({ client: 0, server: 0 });
    });

    test('identical bytes, but later than the copy window', async () => {
      const frames = conversation();
      const get = label(frames, 'GET /a');
      const at = frames.indexOf(get);
      const r = await analyze([...frames.slice(0, at + 1), { ...get, ts: get.ts + COPY_WINDOW + 0.0005 }, ...frames.slice(at + 1)]);
      expect(only(r).retransmissions.client).toBe(1);
      expect(only(r).duplicates.client).toBe(0);
    });

    test('identical bytes after the peer answered (a copy is captured before the peer has it)', async () => {
      const frames = conversation();
      const get = label(frames, 'GET /a');
      const at = frames.indexOf(label(frames, 'ack /a'));
      // 1.01 ms after the original: inside the copy window.
      const r = await analyze([...frames.slice(0, at + 1), { ...get, ts: label(frames, 'ack /a').ts + 10e-6 }, ...frames.slice(at + 1)]);
      expect(only(r).retransmissions.client).toBe(1);
      expect(only(r).duplicates.client).toBe(0);
    });

    test('a repeated SYN stays a repeated SYN', async () => {
      const frames = conversation();
      const syn = frames[0];
      const resent = buildTcpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 80, seq: 1000, ack: 0, flags: TCP_SYN, ipId: 0x200 });
      const r = await analyze([syn, { ...syn, data: resent, ts: syn.ts + 1e-6 }, ...frames.slice(1)]);
      expect(only(r).syns).toBe(2);
      const copied = await analyze([syn, { ...syn, ts: syn.ts + 1e-6 }, ...frames.slice(1)]);
      expect(only(copied).syns).toBe(1);
    });

    test('a second checksum that is neither the first nor the pseudo-header sum (another payload)', async () => {
      const frames = conversation();
      const get = label(frames, 'GET /a');
      const other = withPseudoHeaderSum(get.data);
      put16(other, TCP_AT + 16, (read16(other, TCP_AT + 16) + 1) & 0xffff);
      const at = frames.indexOf(get);
      const r = await analyze([...frames.slice(0, at + 1), { ...get, data: other, ts: get.ts + 20e-6 }, ...frames.slice(at + 1)]);
      expect(only(r).retransmissions.client).toBe(1);
      expect(only(r).duplicates.client).toBe(0);
    });

    test('pieces of a segment sent again with new identifications', async () => {
      const r = await analyze(withPiecesOfGetA(0x40));
      expect(only(r).retransmissions.client).toBe(3);
      expect(only(r).duplicates.client).toBe(0);
    });

    test('snaplen cut the checksum: nothing to tell a copy by', async () => {
      // 14 Ethernet + 20 IPv4 + 16 TCP bytes: ports to window, no checksum.
      const r = await analyze(withCopies(conversation()), 50);
      expect(only(r).duplicates).toEqual({ client: 0, server: 0 });
      expect(r.stats.duplicates).toBe(0);
    });
  });
});

/**
 * A client that closed, then the server's late answer in two segments: the client's kernel, which no
 * longer has the socket, answers each with a RST without ACK, IP identification 0 and no options,
 * the same in every field (recorded so in unanswered-request-client-timeouts, and in
 * keepalive-race-caddy's and keepalive-race-trafficserver's single-interface captures).
 */
function lateAnswerResetTwice(): Frame[] {
  const frames = conversation().filter((f) => !['fin s', 'last ack'].includes(f.label));
  const at = T + 0.61;
  const server = (ts: number, label: string, seq: number, payload: string, flags = TCP_ACK | TCP_PSH): Frame => ({
    ts, from: 's', label,
    data: buildTcpPacket({ src: '10.0.0.2', dst: '10.0.0.1', sport: 80, dport: 40000, seq, ack: 1057, flags, payload, ipId: 0x920 + Math.round((ts - T) * 1e5) }),
  });
  const reset = (ts: number, label: string): Frame => ({
    ts, from: 'c', label,
    data: buildTcpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 80, seq: 1057, ack: 0, flags: TCP_RST, ipId: 0 }),
  });
  return [
    ...frames,
    server(at, 'late head', 5080, 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n'),
    server(at + 0.00001, 'late body', 5118, 'ok'),
    reset(at + 0.01, 'rst 1'),
    reset(at + 0.010085, 'rst 2'),
  ];
}

describe('resets a kernel sends for a socket it no longer has', () => {
  test('two identical bare RSTs answering two segments are two resets, not a copy, on a capture without copies', async () => {
    const r = await analyze(lateAnswerResetTwice());
    expect(only(r).duplicates).toEqual({ client: 0, server: 0 });
    expect(r.stats.duplicates).toBe(0);
  });

  test('on a connection whose packets were captured twice, the copies of a bare RST are copies', async () => {
    const r = await analyze(withCopies(lateAnswerResetTwice()));
    const frames = lateAnswerResetTwice();
    const count = (from: 'c' | 's'): number => frames.filter((f) => f.from === from).length;
    // Every frame's copy; and the second reset with them, which nothing tells from a copy of the first there.
    expect(only(r).duplicates).toEqual({ client: count('c') + 1, server: count('s') });
  });
});

describe('decoding what tells copies apart', () => {
  test('IPv4 identification and TCP checksum, on the plain and the layered path', () => {
    const frame = buildTcpPacket({ ipId: 0xbeef, payload: 'x' });
    const tagged = buildTcpPacket({ ipId: 0xbeef, payload: 'x', vlan: [7] }); // a VLAN tag: the layered path
    for (const [bytes, tcpAt] of [[frame, 34], [tagged, 38]] as const) {
      const view = new PacketView();
      expect(decodePacket(LINKTYPE_ETHERNET, bytes, bytes.length, bytes.length, view)).toBe(DecodeStatus.Tcp);
      expect(view.ipId).toBe(0xbeef);
      expect(view.tcpChecksum).toBe((bytes[tcpAt + 16] << 8) | bytes[tcpAt + 17]);
    }
  });

  test('IPv6 has no identification; a cut checksum is -1', () => {
    const v6 = buildTcpPacket({ src: 'fd00::1', dst: 'fd00::2' });
    const view = new PacketView();
    expect(decodePacket(LINKTYPE_ETHERNET, v6, v6.length, v6.length, view)).toBe(DecodeStatus.Tcp);
    expect(view.ipId).toBe(-1);
    expect(view.tcpChecksum).toBeGreaterThanOrEqual(0);
    const v4 = buildTcpPacket({});
    expect(decodePacket(LINKTYPE_ETHERNET, v4, 50, v4.length, view)).toBe(DecodeStatus.Tcp);
    expect(view.headerTruncated).toBe(true);
    expect(view.tcpChecksum).toBe(-1);
  });
});
