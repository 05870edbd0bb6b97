import type { PacketView } from '../decode/packet-view';
import { Connection, ConnectionList } from './connection';

/** Enum members as module constants (see tcp-tracker.ts: enum members are read at run time). */
const NO_LIST = ConnectionList.None;
const LIST_ACTIVE = ConnectionList.Active;
const LIST_CLOSING = ConnectionList.Closing;

/** An intrusive doubly linked list of connections ordered by last activity (oldest first). */
class ActivityList<T> {
  head: Connection<T> | null = null;
  tail: Connection<T> | null = null;
  size = 0;

  constructor(readonly kind: ConnectionList) {}

  // Links are compared with null, not tested for truthiness: V8 tests an object's truthiness in
  // about ten instructions, and a relink (half of all packets) made three such tests.
  append(conn: Connection<T>): void {
    conn.list = this.kind;
    conn.listPrev = this.tail;
    conn.listNext = null;
    if (this.tail !== null) this.tail.listNext = conn;
    else this.head = conn;
    this.tail = conn;
    this.size++;
  }

  remove(conn: Connection<T>): void {
    if (conn.listPrev !== null) conn.listPrev.listNext = conn.listNext;
    else this.head = conn.listNext;
    if (conn.listNext !== null) conn.listNext.listPrev = conn.listPrev;
    else this.tail = conn.listPrev;
    conn.listPrev = conn.listNext = null;
    conn.list = NO_LIST;
    this.size--;
  }
}

/**
 * The table's own symmetric hash of a packet's 4-tuple: both directions give the same value.
 * Each endpoint is folded to one word (address words XORed, port spread by a multiply), the two
 * are added (order-free), and the sum is mixed once so that the low bits the buckets use depend
 * on every input bit. It is not decode/flow-hash.ts's flowHash, which `--sample` and sharding
 * need stable and well spread and which costs ten multiply-and-rotate rounds: that was a tenth
 * of the flow stage's instructions, spent on every packet for a value that only picks a bucket.
 * A collision costs a longer chain (connections are told apart by their endpoints), never a
 * wrong answer. The result keeps 30 bits: a small integer in V8, never a boxed number.
 * An IPv4 view's words 1-3 are zero (the decoder writes them so), so only word 0 is read for it.
 */
export function bucketHash(v: PacketView): number {
  const v4 = v.ipVersion === 4;
  const src = ((v4 ? v.src0 : v.src0 ^ v.src1 ^ v.src2 ^ v.src3) + Math.imul(v.srcPort, 0x9e3779b1)) | 0;
  const dst = ((v4 ? v.dst0 : v.dst0 ^ v.dst1 ^ v.dst2 ^ v.dst3) + Math.imul(v.dstPort, 0x9e3779b1)) | 0;
  let h = (src + dst) | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h ^= h >>> 13;
  return h & 0x3fffffff;
}

/**
 * Buckets of the hash table at first; doubled whenever connections outnumber them. 8 192 (64 KB)
 * holds the live connections of most captures without growing: the first growth, a rare path run
 * late, threw away the compiled code of `insert` and its callers, which V8 then compiled again.
 */
export const INITIAL_BUCKETS = 8192;

/**
 * Live connections keyed by a symmetric hash of the 4-tuple (bucketHash), with collisions chained through
 * the connections themselves, so a lookup allocates nothing. The buckets are a plain array
 * indexed by the hash's low bits (a Map lookup cost as much as the rest of a packet's update).
 * Each connection also sits in one of three activity lists, which make expiry on the capture
 * clock a walk from the oldest end.
 */
export class FlowTable<T> {
  /**
   * Bucket heads. One array for the table's life, grown in place, and the mask derived from its
   * length: V8 treats a field written once as a constant and compiles the lookup around its value,
   * so replacing the array (or a mask field) at the first growth threw away the compiled packet
   * path, which was then compiled again.
   */
  private readonly buckets: Array<Connection<T> | null>;
  private readonly opening = new ActivityList<T>(ConnectionList.Opening);
  private readonly active = new ActivityList<T>(ConnectionList.Active);
  private readonly closing = new ActivityList<T>(ConnectionList.Closing);
  size = 0;
  /** Direction of the packet of the last successful `find`: true when it came from the client. */
  lastFromClient = false;

  /** `initialBuckets`: a power of two (tests pass a small one to exercise growth). */
  constructor(initialBuckets: number = INITIAL_BUCKETS) {
    this.buckets = new Array<Connection<T> | null>(initialBuckets).fill(null);
  }

  /**
   * The connection a packet belongs to (either direction), or null. Sets `lastFromClient`.
   * Words 1-3 of IPv4 addresses are zero in views and connections alike (the decoder writes them
   * so, and a connection copies its first packet's): they are compared for IPv6 only.
   */
  find(hash: number, v: PacketView): Connection<T> | null {
    const buckets = this.buckets;
    const v4 = v.ipVersion === 4;
    for (let c = buckets[hash & (buckets.length - 1)]; c !== null; c = c.bucketNext) {
      if (c.hash !== hash || c.ipVersion !== v.ipVersion) continue;
      if (
        c.cPort === v.srcPort && c.sPort === v.dstPort && c.c0 === v.src0 && c.s0 === v.dst0 &&
        (v4 || (c.c1 === v.src1 && c.s1 === v.dst1 && c.c2 === v.src2 && c.s2 === v.dst2 && c.c3 === v.src3 && c.s3 === v.dst3))
      ) {
        this.lastFromClient = true;
        return c;
      }
      if (
        c.cPort === v.dstPort && c.sPort === v.srcPort && c.c0 === v.dst0 && c.s0 === v.src0 &&
        (v4 || (c.c1 === v.dst1 && c.s1 === v.src1 && c.c2 === v.dst2 && c.s2 === v.src2 && c.c3 === v.dst3 && c.s3 === v.src3))
      ) {
        this.lastFromClient = false;
        return c;
      }
    }
    return null;
  }

  insert(conn: Connection<T>, list: ConnectionList.Opening | ConnectionList.Active | ConnectionList.Closing): void {
    const buckets = this.buckets;
    if (this.size >= buckets.length) this.grow();
    const i = conn.hash & (buckets.length - 1);
    conn.bucketNext = buckets[i];
    buckets[i] = conn;
    this.lists(list).append(conn);
    this.size++;
  }

  remove(conn: Connection<T>): void {
    const buckets = this.buckets;
    const i = conn.hash & (buckets.length - 1);
    let c = buckets[i];
    let prev: Connection<T> | null = null;
    while (c !== null && c !== conn) {
      prev = c;
      c = c.bucketNext;
    }
    if (c === null) return;
    if (prev) prev.bucketNext = conn.bucketNext;
    else buckets[i] = conn.bucketNext;
    conn.bucketNext = null;
    if (conn.list !== NO_LIST) this.lists(conn.list).remove(conn);
    this.size--;
  }

  /**
   * The activity list of a kind. Three fields and a test rather than an object keyed by kind:
   * called with a constant kind, V8 folds this to the one field, where a keyed lookup was paid on
   * every packet.
   */
  private lists(kind: ConnectionList): ActivityList<T> {
    return kind === LIST_ACTIVE ? this.active : kind === LIST_CLOSING ? this.closing : this.opening;
  }

  /** Doubles the buckets and rechains every connection (amortised: rare, and only as the table grows). */
  private grow(): void {
    const buckets = this.buckets;
    const chains = buckets.slice();
    buckets.length = chains.length * 2;
    buckets.fill(null);
    const mask = buckets.length - 1;
    for (let head of chains) {
      while (head !== null) {
        const next: Connection<T> | null = head.bucketNext;
        const i = head.hash & mask;
        head.bucketNext = buckets[i];
        buckets[i] = head;
        head = next;
      }
    }
  }

  /** Marks activity: moves the connection to the newest end of `list` (which may be a new list). */
  touch(conn: Connection<T>, list: ConnectionList.Opening | ConnectionList.Active | ConnectionList.Closing): void {
    const to = list === LIST_ACTIVE ? this.active : list === LIST_CLOSING ? this.closing : this.opening;
    if (to.tail === conn) return; // already the newest of that list
    // ActivityList.remove and append, written out: half of all packets move their connection, and
    // in the packet path's functions, their inlining budget spent, V8 left lists(), remove() and
    // append() as three calls.
    const from = conn.list;
    if (from !== NO_LIST) {
      const old = from === LIST_ACTIVE ? this.active : from === LIST_CLOSING ? this.closing : this.opening;
      const prev = conn.listPrev;
      const next = conn.listNext;
      if (prev !== null) prev.listNext = next;
      else old.head = next;
      if (next !== null) next.listPrev = prev;
      else old.tail = prev;
      old.size--;
    }
    conn.list = to.kind;
    conn.listPrev = to.tail;
    conn.listNext = null;
    if (to.tail !== null) to.tail.listNext = conn;
    else to.head = conn;
    to.tail = conn;
    to.size++;
  }

  /** The least recently active connection of a list, or null. */
  oldest(list: ConnectionList.Opening | ConnectionList.Active | ConnectionList.Closing): Connection<T> | null {
    return this.lists(list).head;
  }

  listSize(list: ConnectionList.Opening | ConnectionList.Active | ConnectionList.Closing): number {
    return this.lists(list).size;
  }

  /**
   * Empties the activity lists at once, leaving every connection in the buckets (the end of a
   * capture, before each connection is removed in creation order). Removed one by one from the
   * lists, connections from their middle and end took steps that the expiry of the oldest never
   * takes, and V8 threw away the compiled code of the tracker's `release` and of `remove`.
   */
  detachLists(): void {
    for (const list of [this.opening, this.active, this.closing]) {
      for (let c = list.head; c !== null; ) {
        const next: Connection<T> | null = c.listNext;
        c.listPrev = null;
        c.listNext = null;
        c.list = NO_LIST;
        c = next;
      }
      list.head = null;
      list.tail = null;
      list.size = 0;
    }
  }

  /** Every connection still in the table, in creation order. */
  all(): Connection<T>[] {
    const out: Connection<T>[] = [];
    for (const head of this.buckets) {
      for (let c: Connection<T> | null = head; c !== null; c = c.bucketNext) out.push(c);
    }
    return out.sort((a, b) => a.id - b.id);
  }
}
