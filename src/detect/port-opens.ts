/** Connection opens remembered: the seconds a held refusal looks back over (SCAN_WINDOW and more) at 20 000 new connections a second. */
const CAPACITY = 1 << 17;
/** Set in a kept port word for a server over IPv6. */
const V6 = 1 << 16;

/**
 * The latest connection opens of an analysis, in the order they came (the order of their first
 * packets, so of their times): when, to which server endpoint, over which address family. A ring of
 * typed arrays: nothing is allocated per connection, every one of which is offered. Asked, at a
 * refusal, whether a client opened a connection to the same port over the other family right after
 * (connection-refused: happy eyeballs' fallback). Bounded: an open that CAPACITY later ones pushed
 * out is forgotten, which costs at worst a fallback taken for a refusal, as before this existed.
 */
export class PortOpens {
  private readonly ts = new Float64Array(CAPACITY);
  private readonly port = new Int32Array(CAPACITY);
  private readonly flow = new Int32Array(CAPACITY);
  private readonly server: string[] = new Array<string>(CAPACITY).fill('');
  /** The client's host of each open (a string the connection holds already: nothing is allocated). */
  private readonly clientHost: string[] = new Array<string>(CAPACITY).fill('');
  private written = 0;

  /** Records connection `flowId`'s open at `ts` to `serverName` ("ip:port", IPv6 in brackets) on `port`. */
  add(ts: number, serverName: string, port: number, flowId: number, clientHost = ''): void {
    const slot = this.written++ & (CAPACITY - 1);
    this.clientHost[slot] = clientHost;
    this.ts[slot] = ts;
    this.flow[slot] = flowId;
    this.port[slot] = serverName.charCodeAt(0) === 91 ? port | V6 : port;
    this.server[slot] = serverName;
  }

  /**
   * The first open to `port` over the family other than `v6`'s within [from, to], as its server
   * endpoint and time, or null. Opens of the connections in `failed` are passed over: a client
   * refused on both families did not get through on either.
   */
  otherFamilyBetween(port: number, v6: boolean, from: number, to: number, failed: ReadonlySet<number>): { server: string; ts: number } | null {
    const want = v6 ? port : port | V6;
    for (let n = this.firstAtOrAfter(from); n < this.written; n++) {
      const slot = n & (CAPACITY - 1);
      if (this.ts[slot] > to) break;
      if (this.port[slot] === want && !failed.has(this.flow[slot])) return { server: this.server[slot], ts: this.ts[slot] };
    }
    return null;
  }

  /**
   * The time of the first open from `clientHost` to `serverName` itself within [from, to], or -1
   * when none or when that open is one of `failed`: the client's next connect to the server after a
   * refusal got through (connection-refused: a refusal its client recovered from at once).
   */
  nextToSameServerGotThrough(serverName: string, clientHost: string, from: number, to: number, failed: ReadonlySet<number>): number {
    for (let n = this.firstAtOrAfter(from); n < this.written; n++) {
      const slot = n & (CAPACITY - 1);
      if (this.ts[slot] > to) break;
      if (this.server[slot] === serverName && this.clientHost[slot] === clientHost) return failed.has(this.flow[slot]) ? -1 : this.ts[slot];
    }
    return -1;
  }

  /** The position of the first open kept at or after `from`. */
  private firstAtOrAfter(from: number): number {
    const oldest = Math.max(0, this.written - CAPACITY);
    // The first open at or after `from` (times only grow along the ring, but for packets a few
    // microseconds out of order, which the scan below tolerates).
    let lo = oldest;
    let hi = this.written;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ts[mid & (CAPACITY - 1)] < from) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
