/**
 * The capture clock under hostile timestamps (issue 6): packets out of time order (merged
 * multi-interface captures, skewed hosts), clocks that jump backward or years forward, and
 * identical timestamps. Never a negative duration or idle time, never a spurious timeout, and
 * frames stay 1-based positions in file order (what Wireshark shows), whatever order the
 * analysis sees them in.
 *
 * The rule these tests pin down (README "Limits"): the capture clock is the latest timestamp
 * seen and never runs backward. Packets stamped earlier than it do not move it, so a backward
 * jump expires nothing. A packet stamped far ahead moves it at once, and connections idle for
 * longer than their timeout on that clock are released, as if that much time had passed.
 */
import { AnalysisResult, AnalyzeOptions } from '../../src/analyze';
import type { FlowRecord } from '../../src/flow/flow-record';
import { buildPcapFile, LINKTYPE_ETHERNET } from '../helpers/packet-builder';
import { PcapngBlock, writePcapng } from '../helpers/pcap-writer';
import { analyzeOutcome, Scratch, violations } from './robustness-kit';
import { Conversation, Packet } from './traffic';

const scratch = new Scratch();
afterAll(() => scratch.cleanup());

const T = 1_700_000_000;
const YEAR = 365 * 24 * 3600;

async function analyze(files: Uint8Array[], options: AnalyzeOptions = {}, ext = '.pcap'): Promise<AnalysisResult> {
  const outcome = await analyzeOutcome(files.map((f) => scratch.file(f, ext)), options);
  expect(violations(outcome)).toEqual([]);
  if (outcome.kind !== 'result') throw new Error(`expected a result, got ${outcome.kind}`);
  return outcome.result;
}

function pcap(packets: Packet[]): Uint8Array {
  return buildPcapFile(LINKTYPE_ETHERNET, packets.map((p) => ({ data: p.data, ts: p.ts })));
}

function flowOn(result: AnalysisResult, sport: number): FlowRecord[] {
  return result.flows.filter((f) => f.client.endsWith(`:${sport}`));
}

/** Packet labels by 1-based file position, to check that reported frames point at the right packet. */
function labelsByFrame(packets: Packet[]): Map<number, string> {
  return new Map(packets.map((p, i) => [i + 1, p.label]));
}

describe('out of time order', () => {
  test('two interfaces written in per-interface batches (pcapng): analysed in time order, frames are file positions', async () => {
    const conv = Conversation.keepAlive(T, [T + 0.1, T + 0.5, T + 0.9], T + 1.2);
    // dumpcap style: all client-side packets (interface 0) first, then all server-side ones (interface 1).
    const fileOrder = [...conv.packets.filter((p) => p.from === 'c'), ...conv.packets.filter((p) => p.from === 's')];
    const blocks: PcapngBlock[] = [
      { type: 'shb' },
      { type: 'idb', linkType: LINKTYPE_ETHERNET, tsresol: 6 },
      { type: 'idb', linkType: LINKTYPE_ETHERNET, tsresol: 6 },
      ...fileOrder.map((p): PcapngBlock => ({ type: 'epb', interfaceId: p.from === 'c' ? 0 : 1, timestamp: BigInt(Math.round(p.ts * 1e6)), data: p.data })),
    ];
    const merged = await analyze([writePcapng(blocks)], {}, '.pcapng');
    const ordered = await analyze([pcap(conv.packets)]);

    expect(merged.flows).toHaveLength(1);
    expect(merged.exchanges.map((x) => [x.state, x.uri, x.idleBefore])).toEqual(ordered.exchanges.map((x) => [x.state, x.uri, x.idleBefore]));
    expect(merged.exchanges.map((x) => x.state)).toEqual(['complete', 'complete', 'complete']);
    expect(merged.flows[0].state).toBe(ordered.flows[0].state);
    expect(merged.stats.timestampsBackwards).toBe(0); // the reorder window put them back in order
    const labels = labelsByFrame(fileOrder);
    for (const x of merged.exchanges) {
      expect(labels.get(x.requestFrame as number)).toBe(x.uri === null ? undefined : `GET ${x.uri}`);
      expect(labels.get(x.responseFrame as number)).toBe('response');
    }
  });

  test('two pcap files given the later one first: read in capture order, both connections whole, frames continue', async () => {
    const late = Conversation.keepAlive(T + 3600, [T + 3601, T + 3700], T + 3800, 40001);
    const early = Conversation.keepAlive(T, [T + 1, T + 800], T + 850, 40002);
    const r = await analyze([pcap(late.packets), pcap(early.packets)]);
    expect(r.input.filesReordered).toBe(true); // source/capture-order.ts
    expect(r.stats.timestampsBackwards).toBe(0);
    expect(r.input.firstTs).toBe(T);
    expect(r.input.duration).toBeCloseTo(3800, 3);
    const [a] = flowOn(r, 40001);
    const b = flowOn(r, 40002);
    // Read first, the early connection is whole (its 799 s of idleness are within --idle-timeout);
    // read after the late file, the capture clock would have stood 3600 s past it.
    expect(b).toHaveLength(1);
    expect(b[0].duration).toBeCloseTo(850, 3);
    expect([a.state, b[0].state]).toEqual(['SF', 'SF']);
    const second = r.exchanges.filter((x) => x.flowId === b[0].id);
    expect(second.map((x) => x.state)).toEqual(['complete', 'complete']);
    expect(second[1].idleBefore).toBeCloseTo(798.99, 3);
    const labels = labelsByFrame([...early.packets, ...late.packets]);
    for (const x of r.exchanges) expect(labels.get(x.requestFrame as number)).toBe(`GET ${x.uri}`);
  });

  test('two hosts with clocks years apart, interleaved in one pcap: neither connection is timed out by the other clock', async () => {
    const a = Conversation.keepAlive(T, [T + 1, T + 2, T + 3, T + 4], T + 5, 40001);
    const b = Conversation.keepAlive(T - 5 * YEAR, [T - 5 * YEAR + 1, T - 5 * YEAR + 2, T - 5 * YEAR + 3, T - 5 * YEAR + 4], T - 5 * YEAR + 5, 40002);
    // Bursts of three packets of one host for one of the other, so that expiry sweeps (which run as
    // the clock advances) find the other host's connection at the old end of the activity list.
    const interleaved: Packet[] = [];
    for (let i = 0, j = 0; i < a.packets.length || j < b.packets.length; ) {
      interleaved.push(...a.packets.slice(i, i + 3));
      i += 3;
      interleaved.push(...b.packets.slice(j, j + 1));
      j += 1;
    }
    const r = await analyze([pcap(interleaved)]);
    expect(r.stats.timestampsBackwards).toBeGreaterThan(5);
    expect(r.flows).toHaveLength(2);
    for (const sport of [40001, 40002]) {
      const [f] = flowOn(r, sport);
      expect({ sport, state: f.state, endReason: f.endReason, duration: Math.round(f.duration) }).toEqual({ sport, state: 'SF', endReason: 'capture-end', duration: 5 });
      expect(r.exchanges.filter((x) => x.flowId === f.id).map((x) => x.state)).toEqual(['complete', 'complete', 'complete', 'complete']);
    }
    expect(r.anomalies.filter((x) => x.kind === 'unanswered-request')).toEqual([]);
  });

  test('a response stamped before its request (skew beyond any reorder window): no negative time anywhere', async () => {
    const c = new Conversation().handshake(T);
    c.request(T + 10).response(T + 9.5).ack('c', T + 10.1).request(T + 20).response(T + 19.9).fin('c', T + 30).fin('s', T + 30);
    const r = await analyze([pcap(c.packets)]);
    expect(r.exchanges.map((x) => x.state)).toEqual(['complete', 'complete']);
    for (const x of r.exchanges) expect(x.idleBefore === null || x.idleBefore >= 0).toBe(true);
    expect(r.flows[0].duration).toBeCloseTo(30, 3);
  });
});

describe('clock jumps', () => {
  test('a backward jump of years expires nothing: a connection that goes on after it stays one flow', async () => {
    const a = new Conversation('10.0.0.1', '10.0.0.2', 40001).handshake(T).request(T + 1).response(T + 1.1);
    const b = new Conversation('10.0.0.3', '10.0.0.2', 40002).handshake(T - 10 * YEAR).request(T - 10 * YEAR + 1).response(T - 10 * YEAR + 1.1);
    // The capture host's clock is set back 10 years: connection a goes on under the new clock too.
    a.request(T - 10 * YEAR + 2, '/after').response(T - 10 * YEAR + 2.1).fin('c', T - 10 * YEAR + 3).fin('s', T - 10 * YEAR + 3);
    const aBefore = a.packets.slice(0, 5);
    const aAfter = a.packets.slice(5);
    const r = await analyze([pcap([...aBefore, ...b.packets, ...aAfter])]);
    expect(r.stats.timestampsBackwards).toBe(1);
    const flowsA = flowOn(r, 40001);
    expect(flowsA).toHaveLength(1);
    expect(flowsA[0].endReason).not.toBe('idle');
    expect(flowsA[0].state).toBe('SF');
    // Its start is its first packet; its end the latest time it saw (the clock never ran backward for it).
    expect(flowsA[0].start).toBe(T);
    expect(flowsA[0].duration).toBeGreaterThanOrEqual(0);
    const exA = r.exchanges.filter((x) => x.flowId === flowsA[0].id);
    expect(exA.map((x) => [x.uri, x.state])).toEqual([['/', 'complete'], ['/after', 'complete']]);
    expect(exA[1].idleBefore).toBe(0); // its previous response ended "later": idle clamps at zero, never negative
    expect(flowOn(r, 40002)).toHaveLength(1);
    expect(r.input.firstTs).toBe(T - 10 * YEAR);
  });

  test('a forward jump of years releases idle connections as the capture clock says (documented)', async () => {
    const idle = new Conversation('10.0.0.1', '10.0.0.2', 40001).handshake(T).request(T + 1).response(T + 1.1).ack('c', T + 1.2);
    const busy = new Conversation('10.0.0.3', '10.0.0.2', 40002).handshake(T + 2);
    const jump = new Conversation('10.0.0.4', '10.0.0.2', 40003).handshake(T + 3 * YEAR);
    const r = await analyze([pcap([...idle.packets, ...busy.packets, ...jump.packets])]);
    // Both earlier connections were idle past their timeouts on the capture clock when it jumped.
    expect(flowOn(r, 40001)[0].endReason).toBe('idle');
    expect(flowOn(r, 40002)[0].endReason).toBe('idle');
    expect(flowOn(r, 40003)[0].endReason).toBe('capture-end');
    // Their times are their own, not the jump's.
    expect(flowOn(r, 40001)[0].end).toBeCloseTo(T + 1.2, 3);
    expect(r.input.duration).toBeCloseTo(3 * YEAR, 0);
  });

  test('after one packet stamped years ahead, expiry waits for the clock to catch up; the connection cap still bounds the table', async () => {
    const glitch = new Conversation('10.0.0.9', '10.0.0.2', 39999).syn(T + 3 * YEAR).packets;
    const later = Array.from({ length: 100 }, (_, k) => Conversation.keepAlive(T + 10 * k, [T + 10 * k + 1], T + 10 * k + 2, 41000 + k).packets);
    const r = await analyze([pcap([...glitch, ...later.flat()])], { tracker: { maxConnections: 20 } });
    expect(r.stats.peakLiveConnections).toBe(20);
    expect(r.stats.connectionsEvicted).toBe(81);
    // Closed connections made room first: none was cut while still open.
    expect(r.flows.filter((f) => f.endReason === 'evicted')).toEqual([]);
    expect(r.exchanges.filter((x) => x.state !== 'complete')).toEqual([]);
  });

  test('a forward jump shorter than the idle timeout releases nothing', async () => {
    const idle = new Conversation('10.0.0.1', '10.0.0.2', 40001).handshake(T).request(T + 1).response(T + 1.1).ack('c', T + 1.2);
    const later = new Conversation('10.0.0.4', '10.0.0.2', 40003).handshake(T + 800);
    idle.request(T + 850, '/again').response(T + 850.1);
    const r = await analyze([pcap([...idle.packets.slice(0, 7), ...later.packets, ...idle.packets.slice(7)])]);
    const flows = flowOn(r, 40001);
    expect(flows).toHaveLength(1);
    expect(r.exchanges.filter((x) => x.flowId === flows[0].id).map((x) => x.state)).toEqual(['complete', 'complete']);
  });

  test('--idle-timeout is measured on the capture clock', async () => {
    const idle = new Conversation('10.0.0.1', '10.0.0.2', 40001).handshake(T).request(T + 1).response(T + 1.1).ack('c', T + 1.2);
    const later = new Conversation('10.0.0.4', '10.0.0.2', 40003).handshake(T + 100);
    const r = await analyze([pcap([...idle.packets, ...later.packets])], { tracker: { idleTimeout: 60 } });
    expect(flowOn(r, 40001)[0].endReason).toBe('idle');
  });
});

describe('identical timestamps', () => {
  test('a whole keep-alive conversation in one instant: zero durations, complete exchanges, frames in file order', async () => {
    const conv = Conversation.keepAlive(T, [T, T, T], T, 40000, 0);
    const r = await analyze([pcap(conv.packets)]);
    expect(r.input.duration).toBe(0);
    expect(r.flows).toHaveLength(1);
    expect(r.flows[0].duration).toBe(0);
    expect(r.flows[0].state).toBe('SF');
    expect(r.exchanges.map((x) => [x.state, x.idleBefore])).toEqual([['complete', 0], ['complete', 0], ['complete', 0]]);
    const frames = r.exchanges.map((x) => x.requestFrame as number);
    expect(frames).toEqual([...frames].sort((x, y) => x - y));
    const labels = labelsByFrame(conv.packets);
    for (const x of r.exchanges) expect(labels.get(x.requestFrame as number)).toBe(`GET ${x.uri}`);
  });

  test('identical timestamps across two interfaces keep file order (the reorder window is stable)', async () => {
    const conv = Conversation.keepAlive(T, [T, T], T, 40000, 0);
    const blocks: PcapngBlock[] = [
      { type: 'shb' },
      { type: 'idb', linkType: LINKTYPE_ETHERNET },
      { type: 'idb', linkType: LINKTYPE_ETHERNET },
      ...conv.packets.map((p, i): PcapngBlock => ({ type: 'epb', interfaceId: i % 2, timestamp: BigInt(T) * 1_000_000n, data: p.data })),
    ];
    const r = await analyze([writePcapng(blocks)], {}, '.pcapng');
    expect(r.exchanges.map((x) => x.state)).toEqual(['complete', 'complete']);
    expect(r.flows[0].state).toBe('SF');
  });
});
