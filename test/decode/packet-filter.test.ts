import { PacketFilter, parseAddress } from '../../src/decode/packet-filter';
import { PacketView } from '../../src/decode/packet-view';
import { parseCaptureTime } from '../../src/cli/filters';
import { analyzeFiles } from '../../src/analyze';
import * as path from 'node:path';

function view(src: [number, number, number, number], dst: [number, number, number, number], sport: number, dport: number, v: 4 | 6 = 4): PacketView {
  const p = new PacketView();
  p.ipVersion = v;
  [p.src0, p.src1, p.src2, p.src3] = src;
  [p.dst0, p.dst1, p.dst2, p.dst3] = dst;
  p.srcPort = sport;
  p.dstPort = dport;
  return p;
}

describe('parseAddress', () => {
  test.each([
    ['127.0.0.1', { version: 4, words: [0x7f000001, 0, 0, 0] }],
    ['::1', { version: 6, words: [0, 0, 0, 1] }],
    ['[2001:db8::8:800:200c:417a]', { version: 6, words: [0x20010db8, 0, 0x00080800, 0x200c417a] }],
    ['::ffff:10.1.2.3', { version: 6, words: [0, 0, 0xffff, 0x0a010203] }],
    ['fe80::', { version: 6, words: [0xfe800000 | 0, 0, 0, 0] }],
    // Words are signed 32-bit integers, as the decoders store them (see bytes.ts i32).
    ['192.168.10.10', { version: 4, words: [0xc0a80a0a | 0, 0, 0, 0] }],
  ])('%s', (text, expected) => {
    expect(parseAddress(text)).toEqual(expected);
  });
  test.each(['localhost', '1.2.3', '300.1.1.1', '::g', ''])('%s is not an address', (text) => {
    expect(parseAddress(text)).toBeNull();
  });
});

describe('PacketFilter', () => {
  const a = parseAddress('10.0.0.1')!;
  test('host matches either endpoint; port matches either port', () => {
    const f = new PacketFilter([a], [80]);
    expect(f.matches(view([0x0a000001, 0, 0, 0], [0x0a000002, 0, 0, 0], 40000, 80))).toBe(true);
    expect(f.matches(view([0x0a000002, 0, 0, 0], [0x0a000001, 0, 0, 0], 80, 40000))).toBe(true);
    expect(f.matches(view([0x0a000002, 0, 0, 0], [0x0a000003, 0, 0, 0], 40000, 80))).toBe(false);
    expect(f.matches(view([0x0a000001, 0, 0, 0], [0x0a000002, 0, 0, 0], 40000, 443))).toBe(false);
  });
  test('an IPv4 host never matches an IPv6 packet with the same first word', () => {
    const f = new PacketFilter([a]);
    expect(f.matches(view([0x0a000001, 0, 0, 0], [0, 0, 0, 1], 1, 2, 6))).toBe(false);
  });
  test('time bounds are inclusive; an empty filter is empty', () => {
    const f = new PacketFilter([], [], 10, 20);
    expect([f.inTime(9.99), f.inTime(10), f.inTime(20), f.inTime(20.01)]).toEqual([false, true, true, false]);
    expect(new PacketFilter().isEmpty).toBe(true);
  });
});

describe('parseCaptureTime', () => {
  test('epoch seconds and ISO 8601', () => {
    expect(parseCaptureTime('1795299660.5', '--since')).toBe(1795299660.5);
    expect(parseCaptureTime('2026-11-21T22:13:33Z', '--since')).toBe(Date.parse('2026-11-21T22:13:33Z') / 1000);
    expect(() => parseCaptureTime('yesterday', '--since')).toThrow(/--since takes/);
  });
});

describe('filters on a real capture', () => {
  const sample = path.resolve(__dirname, '../../samples/refused-connection.pcap');
  test('--port keeps only that port\'s connections; --flow reports one connection', async () => {
    const all = await analyzeFiles([sample]);
    const ports = new Set(all.flows.map((f) => Number(f.server.split(':').pop())));
    expect(ports.size).toBeGreaterThan(1);
    const port = [...ports][0];
    const byPort = await analyzeFiles([sample], { filter: new PacketFilter([], [port]) });
    expect(byPort.flows.length).toBeGreaterThan(0);
    expect(byPort.flows.every((f) => f.server.endsWith(`:${port}`))).toBe(true);
    expect(byPort.stats.filteredOut).toBeGreaterThan(0);
    const one = await analyzeFiles([sample], { flowIds: [all.flows[1].id] });
    expect(one.flows.map((f) => f.id)).toEqual([all.flows[1].id]);
    expect(one.exchanges.every((e) => e.flowId === all.flows[1].id)).toBe(true);
  });
  test('--since/--until keep packets in the time range', async () => {
    const all = await analyzeFiles([sample]);
    const mid = (all.input.firstTs! + all.input.lastTs!) / 2;
    const early = await analyzeFiles([sample], { filter: new PacketFilter([], [], -Infinity, mid) });
    const late = await analyzeFiles([sample], { filter: new PacketFilter([], [], mid, Infinity) });
    expect(early.input.packets).toBe(all.input.packets);
    expect(early.stats.tcpPackets + late.stats.tcpPackets).toBeGreaterThanOrEqual(all.stats.tcpPackets);
    expect(early.stats.filteredOut).toBeGreaterThan(0);
    expect(late.stats.filteredOut).toBeGreaterThan(0);
  });
});
