/**
 * Small-scale versions of the adversarial cases (src/bench/adversarial.ts measures the full ones):
 * every bound the README "Limits" section lists holds, and what it drops is counted where the
 * README says — stats.connectionsEvicted, stats.reassemblyRefused, stats.http.giveUps, gap bytes,
 * file warnings. Counters and states are asserted, not timing or memory.
 */
import { AnalysisResult, AnalyzeOptions } from '../../src/analyze';
import { HELD_SEGMENT_OVERHEAD_BYTES, reassemblyLimits, reassemblyUsage } from '../../src/flow/reassembly';
import { DEFAULT_TRACKER_OPTIONS } from '../../src/flow/tcp-tracker';
import { HttpCounters } from '../../src/http/http-counters';
import { httpLimits } from '../../src/http/message-parser';
import { FREE_PENDING_PER_SESSION, HttpSession, MAX_INTERIM_KEPT, MAX_PENDING_EXCHANGES, PendingBudget } from '../../src/http/session';
import type { HttpExchange } from '../../src/http/exchange';
import { EndpointSummary } from '../../src/report/endpoint-summary';
import { buildPcapFile, LINKTYPE_ETHERNET } from '../helpers/packet-builder';
import { PcapngBlock, writePcap, writePcapng } from '../helpers/pcap-writer';
import { analyzeOutcome, Scratch, violations } from './robustness-kit';
import { Conversation, Packet } from './traffic';

const scratch = new Scratch();
afterAll(() => scratch.cleanup());

const T = 1_700_000_000;

function pcap(packets: Packet[]): Uint8Array {
  return buildPcapFile(LINKTYPE_ETHERNET, packets.map((p) => ({ data: p.data, ts: p.ts })));
}

async function analyze(packets: Packet[], options: AnalyzeOptions = {}): Promise<AnalysisResult> {
  const outcome = await analyzeOutcome([scratch.file(pcap(packets))], options);
  expect(violations(outcome)).toEqual([]);
  if (outcome.kind !== 'result') throw new Error(`expected a result, got ${outcome.kind}`);
  return outcome.result;
}

const endReasons = (r: AnalysisResult, ports: number[]): Array<string | null> =>
  ports.map((port) => r.flows.find((f) => f.client.endsWith(`:${port}`))?.endReason ?? 'missing');

describe('connection cap (--max-connections) and eviction order', () => {
  test('a SYN flood never holds more than the cap; every connection is still reported, evictions counted', async () => {
    const packets: Packet[] = [];
    for (let i = 0; i < 300; i++) packets.push(...new Conversation(`10.9.${i >> 8}.${i & 0xff}`, '10.0.0.2', 1024 + i).syn(T + i * 0.001).packets);
    const r = await analyze(packets, { tracker: { maxConnections: 50 } });
    expect(r.stats.connections).toBe(300);
    expect(r.stats.peakLiveConnections).toBe(50);
    expect(r.stats.connectionsEvicted).toBe(250);
    expect(r.flows).toHaveLength(300);
    expect(r.flows.filter((f) => f.endReason === 'evicted')).toHaveLength(250);
  });

  test('closed connections go first, then half-open ones, then the least recently active', async () => {
    const closed = [1, 2].map((k) => Conversation.keepAlive(T, [T + 0.1], T + 0.2, 41000 + k).packets);
    const opening = [1, 2].map((k) => new Conversation('10.0.0.1', '10.0.0.2', 42000 + k).syn(T + 0.3).packets);
    const active = [1, 2].map((k) => new Conversation('10.0.0.1', '10.0.0.2', 43000 + k).handshake(T + 0.4).request(T + 0.5).packets);
    const newcomers = [1, 2, 3, 4].map((k) => new Conversation('10.0.0.1', '10.0.0.2', 44000 + k).syn(T + 1 + k * 0.01).packets);
    const r = await analyze([...closed.flat(), ...opening.flat(), ...active.flat(), ...newcomers.flat()], { tracker: { maxConnections: 6 } });
    expect(r.stats.connectionsEvicted).toBe(4);
    expect(endReasons(r, [41001, 41002])).toEqual(['closed', 'closed']);
    expect(endReasons(r, [42001, 42002])).toEqual(['evicted', 'evicted']);
    expect(endReasons(r, [43001, 43002])).toEqual(['capture-end', 'capture-end']);
  });
});

describe('timeouts on the capture clock', () => {
  /** A SYN on another connection that only moves the capture clock to `ts`. */
  const tick = (ts: number, port: number): Packet[] => new Conversation('10.7.7.7', '10.0.0.9', port).syn(ts).packets;

  const { openingTimeout, idleTimeout, closedLinger } = DEFAULT_TRACKER_OPTIONS;
  test.each([
    [`half-open after the opening timeout (${openingTimeout} s)`, (c: Conversation) => c.syn(T), openingTimeout, 'idle'],
    [`established and idle after the idle timeout (${idleTimeout} s)`, (c: Conversation) => c.handshake(T).request(T).response(T), idleTimeout, 'idle'],
    [`closed after the linger time (${closedLinger} s)`, (c: Conversation) => c.handshake(T).fin('c', T).fin('s', T).ack('c', T), closedLinger, 'closed'],
  ])('%s', async (_name, script, timeout, reason) => {
    const before = timeout - 1;
    const after = timeout + 1;
    const early = await analyze([...script(new Conversation()).packets, ...tick(T + before, 50001), ...tick(T + before + 0.5, 50002)]);
    expect(endReasons(early, [40000])).toEqual(['capture-end']);
    const late = await analyze([...script(new Conversation()).packets, ...tick(T + after, 50001)]);
    expect(endReasons(late, [40000])).toEqual([reason]);
  });
});

describe('reassembly bounds', () => {
  const saved = { ...reassemblyLimits };
  afterEach(() => Object.assign(reassemblyLimits, saved));

  /** A connection whose client sends `segments` segments of `size` bytes behind a `hole`-byte hole. */
  function behindHole(port: number, segments: number, size: number, hole = 100, t = T): Packet[] {
    const c = new Conversation('10.0.0.1', '10.0.0.2', port).handshake(t);
    for (let i = 0; i < segments; i++) c.sendAt('c', t + 0.01 + i * 0.001, hole + i * size, 'x'.repeat(size));
    return c.packets;
  }

  test(`per direction: at most ${reassemblyLimits.segmentsPerDirection} segments held; the next is refused and the hole given up`, async () => {
    const segments = reassemblyLimits.segmentsPerDirection + 36;
    const r = await analyze(behindHole(40000, segments, 10));
    // The one past the bound is refused: the hole in front of the held ones is declared lost, and the stream goes on in order.
    expect(r.stats.reassemblyRefused).toBe(1);
    // Only the 100-byte hole is missing from the capture: the held segments are delivered, not skipped.
    expect(r.flows[0].gapBytes.client).toBe(100);
    expect(r.flows[0].bytes.client).toBe(segments * 10);
  });

  test('the hole a refusal gives up, not yet acknowledged by the receiver, is no capture loss (the capture may hold it, retransmitted)', async () => {
    const r = await analyze(behindHole(40000, reassemblyLimits.segmentsPerDirection + 36, 10));
    expect(r.stats.reassemblyRefused).toBe(1);
    expect(r.flows[0].gapBytes.client).toBe(100);
    expect(r.stats.captureLoss).toEqual({ connections: 0, bytes: 0 });
  });

  test('a hole the receiver never acknowledged (lost on the path) is no capture loss; acknowledged and never seen, it is', async () => {
    const total = 100 + 3 * 10;
    const unacked = await analyze(behindHole(40000, 3, 10));
    expect(unacked.flows[0].gapBytes.client).toBe(100);
    expect(unacked.stats.captureLoss).toEqual({ connections: 0, bytes: 0 });
    // The server acknowledging everything: it had the 100 bytes the capture never showed.
    const ackAll = new Conversation('10.0.0.1', '10.0.0.2', 40000, 80, 1001 + total, 5001).ack('s', T + 0.5).packets;
    const acked = await analyze([...behindHole(40000, 3, 10), ...ackAll]);
    expect(acked.flows[0].gapBytes.client).toBe(100);
    expect(acked.stats.captureLoss).toEqual({ connections: 1, bytes: 100 });
  });

  test('two holes: a refused segment gives up only the holes before it', async () => {
    reassemblyLimits.segmentsPerDirection = 4;
    const c = new Conversation().handshake(T);
    // Hole of 10 bytes, 3 segments, a second hole of 10 bytes, 2 segments: the 5th segment goes over the bound.
    for (const [offset, text] of [[10, 'aaaa'], [14, 'bbbb'], [18, 'cccc'], [32, 'dddd'], [36, 'eeee']] as const) c.sendAt('c', T + 0.1, offset, text);
    c.sendAt('c', T + 0.2, 40, 'ffff');
    const r = await analyze(c.packets);
    expect(r.stats.reassemblyRefused).toBe(1);
    expect(r.flows[0].gapBytes.client).toBe(20);
    expect(r.flows[0].bytes.client).toBe(24);
  });

  test('per direction bytes bound', async () => {
    reassemblyLimits.bytesPerDirection = 2000;
    const r = await analyze(behindHole(40000, 30, 100));
    expect(r.stats.reassemblyRefused).toBe(1);
    expect(r.flows[0].gapBytes.client).toBe(100);
    expect(r.flows[0].bytes.client).toBe(30 * 100);
  });

  test('total bound across connections; counted per analysis, and nothing stays held after it', async () => {
    reassemblyLimits.totalBytes = 5000;
    const packets = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].flatMap((k) => behindHole(41000 + k, 10, 100, 100, T + k));
    const first = await analyze(packets);
    expect(first.stats.reassemblyRefused).toBeGreaterThan(0);
    expect(reassemblyUsage.bytes).toBe(0);
    const second = await analyze(packets);
    expect(second.stats.reassemblyRefused).toBe(first.stats.reassemblyRefused);
    for (const f of second.flows) expect(f.gapBytes.client).toBe(100);
  });

  test('one-byte segments are charged their overhead: the total bound counts segments, not only payload', async () => {
    reassemblyLimits.totalBytes = 10 * (HELD_SEGMENT_OVERHEAD_BYTES + 1);
    const packets = [1, 2, 3, 4, 5].flatMap((k) => behindHole(41000 + k, 4, 1, 100, T + k));
    const r = await analyze(packets);
    // 20 one-byte segments, room for 10: the rest refused although only 10 payload bytes are held.
    expect(r.stats.reassemblyRefused).toBeGreaterThan(0);
    expect(reassemblyUsage.bytes).toBe(0);
  });

  test('random sequence numbers on one connection: bounded, counted, sound', async () => {
    const c = new Conversation().handshake(T).request(T + 0.001);
    let x = 12345;
    // Enough that the segments ahead of the stream (about half) overflow the per-direction bound.
    for (let i = 0; i < 3 * reassemblyLimits.segmentsPerDirection; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      c.sendAt('c', T + 0.01 + i * 1e-4, x, 'GET /r HTTP/1.1\r\n\r\n');
    }
    const r = await analyze(c.packets);
    expect(r.stats.reassemblyRefused).toBeGreaterThan(0);
    expect(reassemblyUsage.bytes).toBe(0);
  });
});

describe('HTTP bounds', () => {
  test(`a header block over ${httpLimits.maxHeadBytes} bytes gives up that direction (header-too-large)`, async () => {
    const c = new Conversation().handshake(T).send('c', T + 0.1, 'GET / HTTP/1.1\r\n');
    const field = `X-Filler: ${'f'.repeat(88)}\r\n`;
    for (let sent = 0; sent < 2 * httpLimits.maxHeadBytes; sent += 1400) c.send('c', T + 0.2, field.repeat(14));
    const r = await analyze(c.packets);
    expect(r.stats.http.giveUps['header-too-large']).toBe(1);
    expect(r.exchanges.map((x) => x.state)).toEqual(['request-incomplete']);
  });

  test(`a line without end over ${httpLimits.maxLineBytes} bytes: a start line gives up (line-too-long), a field line is cut`, async () => {
    const startLine = new Conversation().handshake(T).send('c', T + 0.1, `GET /${'a'.repeat(1400)}`);
    for (let i = 0; i < 20; i++) startLine.send('c', T + 0.2, 'a'.repeat(1400));
    const r1 = await analyze(startLine.packets);
    expect(r1.stats.http.giveUps['line-too-long']).toBe(1);

    const field = new Conversation().handshake(T).send('c', T + 0.1, `GET / HTTP/1.1\r\nX-Long: `);
    for (let i = 0; i < 20; i++) field.send('c', T + 0.2, 'b'.repeat(1400));
    field.send('c', T + 0.3, '\r\n\r\n').response(T + 0.4);
    const r2 = await analyze(field.packets);
    expect(r2.exchanges.map((x) => x.state)).toEqual(['complete']);
  });

  test('a chunked body that never ends is counted, never kept; the exchange stays response-incomplete', async () => {
    const c = new Conversation().handshake(T).request(T + 0.1).send('s', T + 0.2, 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n');
    const chunk = `100\r\n${'c'.repeat(256)}\r\n`;
    for (let i = 0; i < 2000; i++) c.send('s', T + 0.3 + i * 0.001, chunk.repeat(5));
    const r = await analyze(c.packets);
    expect(r.exchanges).toHaveLength(1);
    expect(r.exchanges[0].state).toBe('response-incomplete');
    expect(r.exchanges[0].responseBodyBytes).toBe(2000 * 5 * 256);
  });

  test(`${MAX_PENDING_EXCHANGES} pending exchanges per connection: more pipelined requests stop the request side (too-many-pending)`, async () => {
    const c = new Conversation().handshake(T);
    const burst = 'GET /p HTTP/1.1\r\nHost: h\r\n\r\n'.repeat(50);
    for (let i = 0; i < Math.ceil((MAX_PENDING_EXCHANGES + 100) / 50); i++) c.send('c', T + 1 + i, burst);
    const r = await analyze(c.packets);
    expect(r.stats.http.giveUps['too-many-pending']).toBe(1);
    expect(r.exchanges).toHaveLength(MAX_PENDING_EXCHANGES);
    expect(new Set(r.exchanges.map((x) => x.state))).toEqual(new Set(['no-response']));
  });

  test('pending exchanges of all connections share one budget; each connection keeps a few whatever happens', () => {
    const budget = new PendingBudget(64 * 1024);
    const counters = new HttpCounters();
    const exchanges: HttpExchange[] = [];
    const sessions = [1, 2, 3].map((id) => new HttpSession(id, T, (x) => exchanges.push(x), { counters, budget }));
    const requests = Buffer.from('GET /some/path HTTP/1.1\r\nHost: h\r\n\r\n'.repeat(100), 'latin1');
    for (let k = 0; k < 3; k++) for (const s of sessions) s.clientData(requests, 0, requests.length, T + k, k + 1);
    const pending = sessions.map((s) => s.outstandingRequests());
    // The first session filled the budget; the others got their free allowance and stopped there.
    expect(pending[0]).toBeGreaterThan(FREE_PENDING_PER_SESSION);
    expect(pending[0]).toBeLessThan(100);
    expect(pending.slice(1)).toEqual([FREE_PENDING_PER_SESSION, FREE_PENDING_PER_SESSION]);
    expect(budget.held).toBeGreaterThanOrEqual(budget.limitBytes);
    // Over it by at most what the other sessions' free allowances hold.
    expect(budget.held - budget.limitBytes).toBeLessThan(sessions.length * FREE_PENDING_PER_SESSION * 2048);
    for (const s of sessions) s.finish(T + 10);
    expect(budget.held).toBe(0);
    expect(counters.giveUps['too-many-pending']).toBe(3);
    expect(exchanges).toHaveLength(pending.reduce((a, b) => a + b, 0));
  });

  test(`endless interim responses: at most ${MAX_INTERIM_KEPT} status codes kept per exchange`, async () => {
    const c = new Conversation().handshake(T).request(T + 0.1);
    for (let i = 0; i < 100; i++) c.send('s', T + 0.2, 'HTTP/1.1 100 Continue\r\n\r\n'.repeat(10));
    c.response(T + 0.3);
    const r = await analyze(c.packets);
    expect(r.exchanges.map((x) => x.state)).toEqual(['complete']);
    expect(r.exchanges[0].interim).toHaveLength(MAX_INTERIM_KEPT);
  });
});

describe('report bounds', () => {
  test('the endpoint summary folds servers past its bound into one row (a port scan touches thousands)', async () => {
    const r = await analyze(new Conversation().syn(T).packets);
    const summary = new EndpointSummary();
    for (let i = 0; i < 10_050; i++) summary.addFlow({ ...r.flows[0], server: `192.0.2.1:${i + 1}` });
    expect(summary.size).toBe(10_001);
    const other = summary.top(20_000).find((t) => t.server === '(other endpoints)');
    expect(other?.connections).toBe(50);
  });
});

describe('source bounds', () => {
  test('a pcap record above 16 MiB is damage even when the snaplen allows more', async () => {
    const good = new Conversation().syn(T).packets[0].data;
    const file = writePcap({ linkType: LINKTYPE_ETHERNET, snaplen: 64 << 20 }, [
      { sec: T, data: good },
      { sec: T, data: good, caplenField: (16 << 20) + 1 },
    ]);
    const outcome = await analyzeOutcome([scratch.file(file)]);
    expect(violations(outcome)).toEqual([]);
    if (outcome.kind !== 'result') throw new Error('expected a result');
    expect(outcome.result.stats.packets).toBe(1);
    expect(outcome.result.input.files[0].warnings.join(' ')).toMatch(/claims 16777217 captured bytes/);
  });

  test('a multi-interface pcapng whose interfaces are further apart than the reorder window says so', async () => {
    const conv = Conversation.keepAlive(T, [T + 1, T + 2], T + 3);
    // Server-side packets written 10 s late (beyond the 2 s window), each after the client packets that follow them.
    const blocks: PcapngBlock[] = [{ type: 'shb' }, { type: 'idb', linkType: LINKTYPE_ETHERNET }, { type: 'idb', linkType: LINKTYPE_ETHERNET }];
    const client = conv.packets.filter((p) => p.from === 'c');
    const server = conv.packets.filter((p) => p.from === 's');
    for (const p of client) blocks.push({ type: 'epb', interfaceId: 0, timestamp: BigInt(Math.round(p.ts * 1e6)), data: p.data });
    blocks.push({ type: 'epb', interfaceId: 0, timestamp: BigInt(T + 20) * 1_000_000n, data: client[0].data });
    for (const p of server) blocks.push({ type: 'epb', interfaceId: 1, timestamp: BigInt(Math.round(p.ts * 1e6)), data: p.data });
    const outcome = await analyzeOutcome([scratch.file(writePcapng(blocks), '.pcapng')]);
    expect(violations(outcome)).toEqual([]);
    if (outcome.kind !== 'result') throw new Error('expected a result');
    expect(outcome.result.input.files[0].warnings.join(' ')).toMatch(/still out of time order after the reorder window/);
    expect(outcome.result.stats.timestampsBackwards).toBeGreaterThan(0);
  });
});
