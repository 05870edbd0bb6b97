import { PacketView } from './packet-view';

/**
 * Symmetric 30-bit hash of a TCP connection's 4-tuple: both directions give the same value, so
 * the flow table and `--sample N` / worker sharding keep a connection's packets together.
 *
 * Each endpoint (address words + port) is hashed on its own with MurmurHash3's 32-bit mixing;
 * the two endpoint hashes are then combined in sorted order. Sorting (rather than XOR or sum)
 * keeps the combination from cancelling, e.g. A:1→A:2 and A:2→A:1 of different hosts stay apart.
 * No allocation; Math.imul keeps all arithmetic in 32-bit integers.
 */
export function flowHash(view: PacketView): number {
  const a = endpointHash(view.ipVersion, view.src0, view.src1, view.src2, view.src3, view.srcPort);
  const b = endpointHash(view.ipVersion, view.dst0, view.dst1, view.dst2, view.dst3, view.dstPort);
  return combineEndpointHashes(a, b);
}

/** Hash of one endpoint; combine two with combineEndpointHashes (for keys stored outside a PacketView). */
export function endpointHash(version: number, w0: number, w1: number, w2: number, w3: number, port: number): number {
  if (version === 4) return finalize(mix(mix(0x1b873593, w0), port) ^ 8); // words 1-3 are always 0 for IPv4
  let h = mix(0x9747b28c, w0);
  h = mix(h, w1);
  h = mix(h, w2);
  h = mix(h, w3);
  h = mix(h, port);
  return finalize(h ^ 20);
}

/** Order-independent combination of two endpoint hashes (30 bits). */
export function combineEndpointHashes(a: number, b: number): number {
  const low = a < b ? a : b;
  const high = a < b ? b : a;
  return finalize(mix(mix(0x3c6ef372, low), high) ^ 8);
}

function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/**
 * MurmurHash3 fmix32: spreads every input bit over the output. The result keeps 30 bits so that
 * it is a small integer (Smi) in V8: a full unsigned 32-bit value would be boxed as a heap number
 * on every packet, for the flow table's Map key and every call boundary.
 */
function finalize(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h & 0x3fffffff;
}
