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
export const NAT_TWIN_WINDOW = 0.1; // seconds: a NAT forwards within microseconds

const SLOT_BITS = 12;
const SLOTS = 1 << SLOT_BITS;

export interface NatTwin {
  connectionId: number;
  clientName: string;
  serverName: string;
}

/**
 * Recent client SYNs in a direct-mapped table by initial sequence number: a slot is taken by the
 * next SYN whose number maps there, which costs at worst a twin reported twice, as it would be
 * without this. Nothing is allocated per SYN.
 */
export class NatTwins {
  private readonly isn = new Float64Array(SLOTS).fill(-1);
  private readonly ipId = new Int32Array(SLOTS);
  private readonly tsVal = new Float64Array(SLOTS);
  private readonly ts = new Float64Array(SLOTS);
  private readonly connectionId = new Float64Array(SLOTS);
  private readonly clientName: string[] = new Array<string>(SLOTS).fill('');
  private readonly serverName: string[] = new Array<string>(SLOTS).fill('');

  /**
   * The connection that `v`, the segment opening another 4-tuple than `clientName` →
   * `serverName`, belongs to through a NAT, or null:
   * - a client SYN repeating a remembered SYN (sequence number, IPv4 identification and timestamp);
   * - a SYN-ACK answering a remembered SYN (acknowledging its sequence number, echoing its
   *   timestamp): a view that starts with the server's answer, such as a bridge's, where the server's
   *   packets are seen with one translation undone and not yet the other.
   * Within NAT_TWIN_WINDOW; null for a segment without the timestamp option.
   */
  find(v: PacketView, ts: number, clientName: string, serverName: string): NatTwin | null {
    if (!v.hasTimestamp) return null;
    const synAck = (v.flags & ACK) !== 0;
    const isn = synAck ? (v.ack - 1) >>> 0 : v.seq;
    const slot = slotOf(isn);
    if (
      this.isn[slot] === isn && (synAck ? this.tsVal[slot] === v.tsEcr : this.ipId[slot] === v.ipId && this.tsVal[slot] === v.tsVal) &&
      Math.abs(ts - this.ts[slot]) <= NAT_TWIN_WINDOW && (this.clientName[slot] !== clientName || this.serverName[slot] !== serverName)
    ) {
      return { connectionId: this.connectionId[slot], clientName: this.clientName[slot], serverName: this.serverName[slot] };
    }
    return null;
  }

  /**
   * Remembers the client SYN `v` as opening the connection `connectionId` (a twin's first view's:
   * a third view is a twin of the first too), named as that connection is.
   */
  remember(v: PacketView, ts: number, connectionId: number, clientName: string, serverName: string): void {
    if (!v.hasTimestamp) return;
    const slot = slotOf(v.seq);
    this.isn[slot] = v.seq;
    this.ipId[slot] = v.ipId;
    this.tsVal[slot] = v.tsVal;
    this.ts[slot] = ts;
    this.connectionId[slot] = connectionId;
    this.clientName[slot] = clientName;
    this.serverName[slot] = serverName;
  }
}

/** The ACK flag (a SYN-ACK, among opening segments). */
const ACK = 0x10;

function slotOf(isn: number): number {
  return Math.imul(isn | 0, 0x9e3779b1) >>> (32 - SLOT_BITS);
}
