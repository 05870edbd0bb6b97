/**
 * The packets behind a ladder (bounded per-connection collection) and the rows drawn from them:
 * head / focus / tail bounds with the left-out packets counted, runs of alike packets, bulk
 * transfers with their ACKs folded in, retransmissions, gaps.
 */
import * as path from 'node:path';
import { analyzeFiles, collectFlowPackets } from '../../src/analyze';
import { FlowPacket, FlowPacketCollector, FlowPackets, parseEndpoint } from '../../src/decode/flow-packets';
import { PacketView } from '../../src/decode/packet-view';
import type { Finding } from '../../src/detect/finding';
import type { FlowRecord } from '../../src/flow/flow-record';
import { renderLadderText } from '../../src/report/ladder';
import { buildLadder, LadderArrow } from '../../src/report/ladder-model';
import { renderLadderSvg } from '../../src/report/ladder-svg';

const CLIENT = '10.0.0.1:5000';
const SERVER = '10.0.0.2:80';
const SYN = 0x02;
const ACK = 0x10;
const PSH = 0x08;
const FIN = 0x01;
const RST = 0x04;

function view(from: string, to: string, flags: number, len = 0, seq = 0): PacketView {
  const v = new PacketView();
  const a = parseEndpoint(from);
  const b = parseEndpoint(to);
  if (!a || !b) throw new Error('bad endpoint');
  v.ipVersion = a.version;
  [v.src0, v.src1, v.src2, v.src3] = a.w;
  [v.dst0, v.dst1, v.dst2, v.dst3] = b.w;
  v.srcPort = a.port;
  v.dstPort = b.port;
  v.flags = flags;
  v.payloadLen = len;
  v.seq = seq;
  v.window = 512;
  return v;
}

describe('FlowPacketCollector', () => {
  test('keeps head, focus ± around and tail, and counts what it leaves out', () => {
    const collector = new FlowPacketCollector([{ id: 7, client: CLIENT, server: SERVER, start: 1, end: 2000, focusFrames: [500] }], { head: 5, around: 2, tail: 3 });
    let frame = 0;
    for (let i = 1; i <= 1000; i++) {
      frame++;
      collector.offer(i % 2 ? view(CLIENT, SERVER, ACK) : view(SERVER, CLIENT, ACK), frame, i);
      // Another connection's packet between each (same hosts, other port), and a noise host.
      frame++;
      collector.offer(view('10.0.0.1:5001', SERVER, ACK), frame, i);
    }
    // The same 4-tuple after the connection's end is a later connection: not taken.
    collector.offer(view(CLIENT, SERVER, SYN), ++frame, 3000);
    const got = collector.finish().get(7) as FlowPackets;
    expect(got.total).toBe(1000);
    const frames = got.packets.map((p) => p.frame);
    // Connection packets are the odd frames: 1, 3, 5 ...; focus 500 is not one, so use its index.
    expect(frames).toEqual([1, 3, 5, 7, 9, 1995, 1997, 1999]);
    expect(got.packets.map((p) => p.skippedBefore)).toEqual([0, 0, 0, 0, 0, 992, 0, 0]);
    expect(got.packets[0].fromClient).toBe(true);
    expect(got.packets[1].fromClient).toBe(false);
    expect(got.packets[5].prevTs).toBe(997);
  });

  test('a focus frame brings its neighbours, and the counts add up', () => {
    const collector = new FlowPacketCollector([{ id: 1, client: CLIENT, server: SERVER, start: 0, end: 1e9, focusFrames: [500, 502] }], { head: 2, around: 3, tail: 2 });
    for (let f = 1; f <= 1000; f++) collector.offer(f % 2 ? view(CLIENT, SERVER, ACK) : view(SERVER, CLIENT, ACK), f, f);
    const got = collector.finish().get(1) as FlowPackets;
    expect(got.packets.map((p) => p.frame)).toEqual([1, 2, 497, 498, 499, 500, 501, 502, 503, 504, 505, 999, 1000]);
    const drawnOrSkipped = got.packets.length + got.packets.reduce((s, p) => s + p.skippedBefore, 0);
    expect(drawnOrSkipped).toBe(got.total);
  });

  test('IPv6 endpoints, and unparseable ones are ignored', () => {
    const c6 = '[2001:db8::1]:40000';
    const s6 = '[2001:db8::2]:443';
    const collector = new FlowPacketCollector([
      { id: 1, client: c6, server: s6, start: 0, end: 10 },
      { id: 2, client: 'nonsense', server: SERVER, start: 0, end: 10 },
    ]);
    collector.offer(view(c6, s6, SYN), 1, 1);
    collector.offer(view(s6, c6, SYN | ACK), 2, 2);
    const got = collector.finish();
    expect(got.get(1)?.packets.map((p) => [p.frame, p.fromClient])).toEqual([[1, true], [2, false]]);
    expect(got.has(2)).toBe(false);
  });
});

const FLOW: FlowRecord = {
  id: 1, client: CLIENT, server: SERVER, directionInferred: false, start: 0, end: 10, duration: 10, state: 'SF', history: 'ShADadFf',
  closedBy: 'server', close: 'fin', packets: { client: 0, server: 0 }, bytes: { client: 0, server: 0 }, requests: 0,
  retransmissions: { client: 0, server: 0 }, zeroWindows: { client: 0, server: 0 }, gapBytes: { client: 0, server: 0 }, syns: 1, endReason: null,
} as FlowRecord;

function packets(list: Array<[boolean, number, number, number?, number?]>): FlowPackets {
  // [fromClient, flags, len, seq, skippedBefore]
  let ts = 0;
  const out: FlowPacket[] = list.map(([fromClient, flags, len, seq = 0, skipped = 0], i) => {
    const prev = i === 0 ? null : ts;
    ts += 0.001;
    return { frame: i + 1, ts, prevTs: prev, fromClient, flags, seq, ack: 0, window: 512, payloadLen: len, copy: false, skippedBefore: skipped };
  });
  return { flowId: 1, packets: out, total: out.length + out.reduce((s, p) => s + p.skippedBefore, 0) };
}

describe('buildLadder', () => {
  test('a capture\'s copies of packets are counted, not drawn as retransmissions', () => {
    // Each packet twice, 20 µs apart (tcpdump -i any on a bridge), the second marked a copy.
    const once = packets([[true, SYN, 0, 1], [false, SYN | ACK, 0, 9], [true, PSH | ACK, 10, 2], [false, PSH | ACK, 20, 10], [true, FIN | ACK, 0, 12]]);
    const doubled: FlowPacket[] = [];
    once.packets.forEach((p, i) => {
      const original = { ...p, frame: 2 * i + 1 };
      doubled.push(original, { ...original, frame: 2 * i + 2, ts: p.ts + 20e-6, prevTs: p.ts, copy: true });
    });
    const ladder = buildLadder({ flow: FLOW, packets: { flowId: 1, packets: doubled, total: doubled.length }, exchanges: [], findings: [] });
    const arrows = ladder.rows.filter((r): r is LadderArrow => r.type === 'packet');
    expect(arrows.map((a) => a.frame)).toEqual([1, 3, 5, 7, 9]);
    expect(arrows.some((a) => a.label.includes('retx'))).toBe(false);
    expect([ladder.copies, ladder.drawnPackets, ladder.totalPackets]).toEqual([5, 5, 10]);
  });

  test('a bulk transfer folds into one row with its ACKs; handshake and close stay single', () => {
    const list: Array<[boolean, number, number, number?]> = [[true, SYN, 0], [false, SYN | ACK, 0], [true, ACK, 0]];
    for (let i = 0; i < 10; i++) list.push([false, PSH | ACK, 1000, 1 + i * 1000], [true, ACK, 0]);
    list.push([false, FIN | ACK, 0], [true, RST, 0]);
    const ladder = buildLadder({ flow: FLOW, packets: packets(list), exchanges: [], findings: [] });
    const arrows = ladder.rows.filter((r): r is LadderArrow => r.type === 'packet');
    expect(arrows.map((a) => a.label)).toEqual(['SYN', 'SYN,ACK', 'ACK', '×10 PSH,ACK 9.8 KiB', 'FIN,ACK', 'RST']);
    expect(arrows[3].count).toBe(20);
    expect(arrows[3].notes[0].text).toMatch(/^frames 4–23 over .*, 10 ACKs back$/);
    expect(arrows.map((a) => a.tone)).toEqual(['syn', 'syn', 'ack', 'data', 'fin', 'rst']);
  });

  test('two alike packets are drawn one by one; a retransmission says so', () => {
    const ladder = buildLadder({
      flow: FLOW,
      packets: packets([[true, PSH | ACK, 100, 1], [true, PSH | ACK, 100, 1], [false, ACK, 0]]),
      exchanges: [],
      findings: [],
    });
    const labels = ladder.rows.map((r) => (r.type === 'packet' ? r.label : 'gap'));
    expect(labels).toEqual(['PSH,ACK len=100', 'PSH,ACK len=100 retx', 'ACK']);
  });

  test('left-out packets become a gap row; findings and HTTP lines sit on their frames', () => {
    const finding: Finding = {
      id: 'keepalive-race#1', kind: 'keepalive-race', severity: 'error', flowId: 1, client: CLIENT, server: SERVER, ts: 0,
      summary: '', evidence: { idleGap: 5, form: 'crossing' }, frames: [2, 3, 4],
    };
    const ladder = buildLadder({
      flow: FLOW,
      packets: packets([[true, ACK, 0], [false, FIN | ACK, 0, 0, 40], [true, PSH | ACK, 80], [false, RST, 0]]),
      exchanges: [{ flowId: 1, index: 2, method: 'GET', uri: '/x\u001b[31m', requestFrame: 3, status: null } as never],
      findings: [finding],
    });
    expect(ladder.rows[1]).toEqual({ type: 'gap', skipped: 40 });
    const text = renderLadderText(ladder, { colour: false }).join('\n');
    expect(text).toMatch(/FIN,ACK ─│ ◆ server idle 5 s → FIN/);
    expect(text).toMatch(/GET \/x·\[31m/); // control characters never reach the terminal
    expect(text).toMatch(/not(\s|│)+ACKing it: crossing/); // wherever the note wraps
    expect(text).toMatch(/RST: the request is lost/);
    expect(text).toContain('… 40 packets not shown …');
    const svg = renderLadderSvg(ladder, 'test');
    expect(svg.match(/<polygon /g)).toHaveLength(4);
    expect(svg).toContain('class="decisive"');
    expect(svg).not.toContain('\u001b');
  });
});

describe('copies in the packets collected for drawing', () => {
  // The analysis's own rule marks them: per flow, as many as flows[].duplicates counts, whether
  // the copies are identical (a bridge) or differ in their checksum (checksum offload off on one
  // device), and none where the capture holds none.
  test.each(['keepalive-race-bridge-any', 'keepalive-race-txcsum-any', 'keepalive-race-stale'])('%s', async (name) => {
    const file = path.resolve(__dirname, `../../samples/${name}.pcap`);
    const result = await analyzeFiles([file]);
    const collected = await collectFlowPackets([file], result.flows);
    for (const flow of result.flows) {
      const got = collected.get(flow.id) as FlowPackets;
      expect(got.total).toBe(flow.packets.client + flow.packets.server);
      const marked = got.packets.filter((p) => p.copy).length;
      expect({ flow: flow.id, marked }).toEqual({ flow: flow.id, marked: flow.duplicates.client + flow.duplicates.server });
    }
  });
});
