import type { PacketView } from '../decode/packet-view';

/**
 * One connection seen twice, before and after address translation. `tcpdump -i any` on a
 * Kubernetes node or any host that NATs (kube-proxy's DNAT of a Service address to a pod, a
 * masquerade, a Docker port mapping) captures each packet on its way in, with the addresses the
 * client used, and on its way out, translated. Those are two 4-tuples, so two connections: every
 * exchange and every failure would be reported twice, once per address, and a translated copy
 * whose source is the node's own address looks like a proxy forwarding upstream.
 *
 * A NAT rewrites addresses and ports, and the checksums with them; it keeps the rest. The second
 * view's SYN carries the same initial sequence number (32 random bits), the same IPv4
 * identification and the same TCP timestamp as the first's, moments later. Only the first view
 * seen is analyzed; the second is listed with `sameConnectionAs` naming the first (flow-record.ts).
 * A proxy or a SYN proxy opens its own connection with its own sequence numbers: never a twin.
 *
 * Only SYNs with the timestamp option are matched (Linux, macOS and the BSDs send it; Windows
 * by default does not): sequence number and identification alone are 48 bits, and some stacks
 * and test generators send fixed ones, which would hide a real second connection from analysis.
 * Without it the two views stay two connections, reported each under its own addresses.
 */
export const NAT_TWIN_WINDOW = 0.1; // seconds: a NAT forwards within microseconds; a SYN flood stays cheap

/** A client's SYN, remembered for NAT_TWIN_WINDOW seconds. */
interface OpeningSyn {
  connectionId: number;
  /** With serverName, its 4-tuple: a SYN repeated on the same 4-tuple is that connection's, not a twin. */
  clientName: string;
  serverName: string;
  ts: number;
  ipId: number;
  tsVal: number;
}

export interface NatTwin {
  connectionId: number;
  clientName: string;
  serverName: string;
}

export class NatTwins {
  /** By initial sequence number, oldest first (insertion order). */
  private readonly syns = new Map<number, OpeningSyn>();

  /**
   * The connection whose opening SYN `v` repeats through a NAT (another 4-tuple, same ISN, IPv4
   * identification and timestamp, within NAT_TWIN_WINDOW), or null; then remembers `v` as the
   * opening SYN of connection `connectionId`. Null for a SYN without the timestamp option.
   */
  twinOf(v: PacketView, ts: number, connectionId: number, clientName: string, serverName: string): NatTwin | null {
    if (!v.hasTimestamp) return null;
    this.forgetBefore(ts - NAT_TWIN_WINDOW);
    const tsVal = v.tsVal;
    const seen = this.syns.get(v.seq);
    if (seen !== undefined && (seen.clientName !== clientName || seen.serverName !== serverName) && seen.ipId === v.ipId && seen.tsVal === tsVal && Math.abs(ts - seen.ts) <= NAT_TWIN_WINDOW) {
      // The first view stays the one remembered: a third view is a twin of it too.
      return { connectionId: seen.connectionId, clientName: seen.clientName, serverName: seen.serverName };
    }
    this.syns.delete(v.seq);
    this.syns.set(v.seq, { connectionId, clientName, serverName, ts, ipId: v.ipId, tsVal });
    return null;
  }

  private forgetBefore(oldest: number): void {
    for (const [isn, syn] of this.syns) {
      if (syn.ts >= oldest) return;
      this.syns.delete(isn);
    }
  }
}
