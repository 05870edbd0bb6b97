import type { PacketView } from '../decode/packet-view';

/**
 * Why the analysis let a live connection go before it ended (see ReleasedTuples): not at all (0),
 * released early at the connection cap (--max-connections, 1), or forgotten after the idle timeout
 * (--idle-timeout) with no close seen (2). Plain numbers: enum members are read at run time.
 */
export type ReleaseCause = 0 | 1 | 2;
export const NOT_RELEASED = 0;
export const RELEASED_AT_CAP = 1;
export const RELEASED_IDLE = 2;

/**
 * Slots of the table: a power of two. 16 384 slots of three typed words take 144 KiB, whatever the
 * capture: the connection cap exists to bound memory, so this memory of what it released is
 * bounded too. A connection that comes back after more releases than that have overwritten its
 * slot is judged as before (a connection seen mid-stream).
 */
const SLOTS = 1 << 14;

/**
 * The 4-tuples of connections the analysis let go while they were live (released at the cap or
 * expired as idle), so that their packets coming back are told apart from a new connection seen
 * mid-stream: without it, a request answered after the release read as unanswered, the answer as
 * one-way traffic, and a close or reset as a restart of the server.
 *
 * Direct-mapped by the flow table's symmetric 4-tuple hash: a slot keeps the latest tuple of its
 * hash, and a later release with the same low bits overwrites it (forgetting is the bounded
 * structure's only error; a false match needs the same 30-bit hash, the same port pair and the
 * same first address words). Typed arrays: remembering and looking up allocate nothing.
 */
export class ReleasedTuples {
  /** bucketHash + 1 (0: an empty slot). */
  private readonly hashes = new Int32Array(SLOTS);
  /** The two ports, lower first, in one word. */
  private readonly ports = new Int32Array(SLOTS);
  /** The first words of the two addresses, added (order-free, as the hash is). */
  private readonly addresses = new Int32Array(SLOTS);
  private readonly causes = new Uint8Array(SLOTS);

  /** Remembers a connection's tuple (its endpoints as stored, in either order). */
  remember(hash: number, port1: number, port2: number, address1: number, address2: number, cause: ReleaseCause): void {
    const i = hash & (SLOTS - 1);
    this.hashes[i] = hash + 1;
    this.ports[i] = portKey(port1, port2);
    this.addresses[i] = (address1 + address2) | 0;
    this.causes[i] = cause;
  }

  /**
   * Why the packet's 4-tuple was let go, or NOT_RELEASED when it was not (or was forgotten).
   * A match is forgotten: the connection that resumes on the tuple is the one to mark, once.
   */
  take(hash: number, v: PacketView): ReleaseCause {
    const i = hash & (SLOTS - 1);
    if (this.hashes[i] !== hash + 1) return NOT_RELEASED;
    if (this.ports[i] !== portKey(v.srcPort, v.dstPort) || this.addresses[i] !== ((v.src0 + v.dst0) | 0)) return NOT_RELEASED;
    this.hashes[i] = 0;
    return this.causes[i] as ReleaseCause;
  }
}

function portKey(a: number, b: number): number {
  return a < b ? (a << 16) | b : (b << 16) | a;
}
