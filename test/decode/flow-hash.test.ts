import { combineEndpointHashes, endpointHash, flowHash } from '../../src/decode/flow-hash';
import { PacketView } from '../../src/decode/packet-view';
import { buildTcpPacket, LINKTYPE_ETHERNET } from '../helpers/packet-builder';
import { decode } from './decode-helpers';

function view4(src: number, sport: number, dst: number, dport: number): PacketView {
  const v = new PacketView();
  v.ipVersion = 4;
  v.src0 = src >>> 0;
  v.dst0 = dst >>> 0;
  v.srcPort = sport;
  v.dstPort = dport;
  return v;
}

function reversed(v: PacketView): PacketView {
  const r = new PacketView();
  r.ipVersion = v.ipVersion;
  [r.src0, r.src1, r.src2, r.src3, r.dst0, r.dst1, r.dst2, r.dst3] = [v.dst0, v.dst1, v.dst2, v.dst3, v.src0, v.src1, v.src2, v.src3];
  [r.srcPort, r.dstPort] = [v.dstPort, v.srcPort];
  return r;
}

describe('flowHash', () => {
  test('is the same for both directions of a decoded connection (IPv4 and IPv6)', () => {
    for (const [a, b] of [['10.0.0.1', '10.0.0.2'], ['2001:db8::1', '2001:db8::2'], ['::1', '::1']]) {
      const forward = decode(LINKTYPE_ETHERNET, buildTcpPacket({ src: a, dst: b, sport: 40000, dport: 80 })).view;
      const backward = decode(LINKTYPE_ETHERNET, buildTcpPacket({ src: b, dst: a, sport: 80, dport: 40000 })).view;
      expect(flowHash(forward)).toBe(flowHash(backward));
    }
  });

  test('is an unsigned 32-bit integer, and symmetric on many random tuples', () => {
    let seed = 1;
    const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    for (let i = 0; i < 2000; i++) {
      const v = view4(next(), next() & 0xffff, next(), next() & 0xffff);
      const h = flowHash(v);
      expect(Number.isInteger(h) && h >= 0 && h <= 0xffffffff).toBe(true);
      expect(flowHash(reversed(v))).toBe(h);
    }
  });

  test('separates tuples that symmetric shortcuts (XOR, sum) would merge', () => {
    // Swapping only the ports is a different connection (XOR-ing the raw fields would merge them).
    const a = view4(0x0a000001, 1000, 0x0a000002, 2000);
    const b = view4(0x0a000001, 2000, 0x0a000002, 1000);
    expect(flowHash(a)).not.toBe(flowHash(b));
    // Sum of addresses and ports would merge these two.
    const c = view4(0x0a000001, 1001, 0x0a000003, 2000);
    const d = view4(0x0a000002, 1000, 0x0a000002, 2001);
    expect(flowHash(c)).not.toBe(flowHash(d));
    // IPv4 1.2.3.4 and IPv6 ::1.2.3.4 hash differently.
    const v6 = view4(0x01020304, 1, 0x05060708, 2);
    v6.ipVersion = 6;
    expect(flowHash(v6)).not.toBe(flowHash(view4(0x01020304, 1, 0x05060708, 2)));
  });

  test('spreads sequential client ports of one client/server pair evenly over buckets', () => {
    // The common case: one client, one server, ephemeral ports counting up.
    const buckets = new Array<number>(64).fill(0);
    const n = 64 * 1000;
    for (let port = 0; port < n; port++) {
      buckets[flowHash(view4(0xc0a80001, 1024 + (port % 64000), 0xc0a80002 + Math.floor(port / 64000), 443)) & 63]++;
    }
    // Chi-square with 63 degrees of freedom: p = 0.001 at about 103.4.
    const expected = n / 64;
    const chi2 = buckets.reduce((sum, count) => sum + ((count - expected) ** 2) / expected, 0);
    expect(chi2).toBeLessThan(103.4);
  });

  test('has no collisions worth mentioning on 100k distinct tuples, and every output bit varies', () => {
    const seen = new Set<number>();
    let orAll = 0;
    let andAll = 0xffffffff;
    for (let i = 0; i < 100000; i++) {
      const h = flowHash(view4(0x0a000000 + (i >> 8), 30000 + (i & 0xff), 0x0a640001, 8080));
      seen.add(h);
      orAll |= h;
      andAll &= h;
    }
    // The hash keeps 30 bits (a V8 small integer): about 4.7 collisions are expected among 100k
    // values of a random 30-bit function (the flow table chains them).
    expect(100000 - seen.size).toBeLessThan(20);
    expect(orAll >>> 0).toBe(0x3fffffff);
    expect(andAll >>> 0).toBe(0);
  });

  test('combineEndpointHashes matches flowHash for stored keys', () => {
    const v = view4(0x01020304, 5, 0x05060708, 6);
    const a = endpointHash(4, v.src0, 0, 0, 0, 5);
    const b = endpointHash(4, v.dst0, 0, 0, 0, 6);
    expect(combineEndpointHashes(a, b)).toBe(flowHash(v));
    expect(combineEndpointHashes(b, a)).toBe(flowHash(v));
  });
});
