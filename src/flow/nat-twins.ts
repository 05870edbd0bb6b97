import { hostOfEndpoint } from '../decode/address';
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
 * A SYN lost before the NAT is seen on the near side only: the one the far side sees is a
 * retransmission, the same sequence number with a new identification and timestamp, and it is
 * that one (`again`) that the far view's SYN repeats (blind round 17, s10: 5 % loss, a
 * 60-request connection counted twice).
 * A proxy or a SYN proxy opens its own connection with its own sequence numbers: never a twin.
 *
 * A SYN with the timestamp option (Linux, macOS and the BSDs send it) is matched at once. A SYN
 * without it (Windows by default, some embedded stacks and load balancers) has only the sequence
 * number and the identification for 48 bits, and some stacks and test generators send fixed
 * ones: matching on them alone would hide a real second connection from analysis (a scanner
 * sending one SYN to many ports is two views to this). Such a view is only a candidate
 * (`NatTwin.pending`): it must also repeat the first view's window and MSS, window scale and
 * SACK-permitted options, and is the same connection only once the server confirms it: the two
 * views' SYN-ACKs carry the same initial sequence number (the server's own 32 random bits: two
 * servers, or one server's two ports, choose two), IPv4 identification, window and options,
 * within NAT_TWIN_WINDOW of each other. Until then the candidate is not analyzed; a SYN-ACK that
 * differs, or payload, a FIN or a RST before the confirmation, or the end of the candidate,
 * makes it a connection of its own, analyzed from its start (tcp-tracker.ts), as it would have
 * been without this. Only a view that starts with its SYN can be a candidate.
 */
export const NAT_TWIN_WINDOW = 0.1; // seconds: a NAT forwards within microseconds

const SLOT_BITS = 12;
const SLOTS = 1 << SLOT_BITS;

export interface NatTwin {
  connectionId: number;
  clientName: string;
  serverName: string;
  /** A view whose SYN had no timestamp option: the same connection once the server confirms it. */
  pending: boolean;
}

/** A candidate view the server's SYN-ACKs decided: `twin` true when they confirmed it. */
export interface NatTwinDecision<C> {
  view: C;
  twin: boolean;
}

/**
 * Recent client SYNs in a direct-mapped table by initial sequence number: a slot is taken by the
 * next SYN whose number maps there, which costs at worst a twin reported twice, as it would be
 * without this. Nothing is allocated per SYN.
 */
export class NatTwins<C extends { id: number } = { id: number }> {
  private readonly isn = new Float64Array(SLOTS).fill(-1);
  /** 1 when the slot's SYN had no timestamp option: what the candidate rule below compares instead. */
  private readonly plain = new Uint8Array(SLOTS);
  private readonly window = new Int32Array(SLOTS);
  private readonly synOptions = new Float64Array(SLOTS);
  /** The first SYN-ACK seen for the slot's SYN, in either view: -1 until then. */
  private readonly synAckIsn = new Float64Array(SLOTS).fill(-1);
  private readonly synAckIpId = new Int32Array(SLOTS);
  private readonly synAckWindow = new Int32Array(SLOTS);
  private readonly synAckOptions = new Float64Array(SLOTS);
  private readonly synAckTs = new Float64Array(SLOTS);
  private readonly synAckConnection = new Float64Array(SLOTS);
  /** The candidate view awaiting the server's confirmation (one per slot), and its id. */
  private readonly candidate: (C | null)[] = new Array<C | null>(SLOTS).fill(null);
  private readonly candidateId = new Float64Array(SLOTS).fill(-1);
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
    if (!v.hasTimestamp) return this.findCandidate(v, ts, clientName, serverName);
    const synAck = (v.flags & ACK) !== 0;
    const isn = synAck ? (v.ack - 1) >>> 0 : v.seq;
    const slot = slotOf(isn);
    if (
      this.isn[slot] === isn && (synAck ? this.tsVal[slot] === v.tsEcr : this.ipId[slot] === v.ipId && this.tsVal[slot] === v.tsVal) &&
      Math.abs(ts - this.ts[slot]) <= NAT_TWIN_WINDOW && (this.clientName[slot] !== clientName || this.serverName[slot] !== serverName)
    ) {
      return { connectionId: this.connectionId[slot], clientName: this.clientName[slot], serverName: this.serverName[slot], pending: false };
    }
    return null;
  }

  /**
   * A client SYN without the timestamp option repeating a remembered one (sequence number, IPv4
   * identification, window and options) on another 4-tuple within NAT_TWIN_WINDOW, while no other
   * candidate waits on it: a candidate (`pending`), which `hold` then keeps until the SYN-ACKs decide.
   */
  private findCandidate(v: PacketView, ts: number, clientName: string, serverName: string): NatTwin | null {
    if ((v.flags & ACK) !== 0) return null;
    const slot = slotOf(v.seq);
    if (
      this.plain[slot] === 1 && this.isn[slot] === v.seq && this.ipId[slot] === v.ipId && this.window[slot] === v.window &&
      this.synOptions[slot] === optionSignature(v) && this.candidateId[slot] === -1 && this.synAckIsn[slot] === -1 &&
      Math.abs(ts - this.ts[slot]) <= NAT_TWIN_WINDOW && natShaped(this.clientName[slot], this.serverName[slot], clientName, serverName)
    ) {
      return { connectionId: this.connectionId[slot], clientName: this.clientName[slot], serverName: this.serverName[slot], pending: true };
    }
    return null;
  }

  /** Keeps `view`, opened by the client SYN `v` that findCandidate made a candidate, for the SYN-ACKs to decide. */
  hold(v: PacketView, view: C): void {
    const slot = slotOf(v.seq);
    this.candidate[slot] = view;
    this.candidateId[slot] = view.id;
  }

  /**
   * A SYN-ACK `v` seen on `view`. The first one answering a remembered SYN without timestamp
   * (in either view) is noted; the next one on another view decides the candidate waiting on
   * that SYN: the same connection when both carry the same initial sequence number,
   * identification, window and options within NAT_TWIN_WINDOW. A SYN-ACK sent again on the
   * view that answered first decides nothing.
   */
  onSynAck(v: PacketView, ts: number, view: C): NatTwinDecision<C> | null {
    const isn = (v.ack - 1) >>> 0;
    const slot = slotOf(isn);
    if (this.plain[slot] !== 1 || this.isn[slot] !== isn || (view.id !== this.connectionId[slot] && view.id !== this.candidateId[slot])) return null;
    if (this.synAckIsn[slot] === -1) {
      this.synAckIsn[slot] = v.seq;
      this.synAckIpId[slot] = v.ipId;
      this.synAckWindow[slot] = v.window;
      this.synAckOptions[slot] = optionSignature(v);
      this.synAckTs[slot] = ts;
      this.synAckConnection[slot] = view.id;
      return null;
    }
    if (this.synAckConnection[slot] === view.id) return null;
    const twin =
      this.synAckIsn[slot] === v.seq && this.synAckIpId[slot] === v.ipId && this.synAckWindow[slot] === v.window &&
      this.synAckOptions[slot] === optionSignature(v) && Math.abs(ts - this.synAckTs[slot]) <= NAT_TWIN_WINDOW;
    return this.take(slot, twin);
  }

  /**
   * The candidate `view`, opened by a SYN with initial sequence number `isn`, ends its wait
   * undecided (payload, FIN or RST before a confirmation, or its release): a connection of its
   * own. Null when `view` is no longer held there (its slot was taken).
   */
  abandon(view: C, isn: number): NatTwinDecision<C> | null {
    const slot = slotOf(isn);
    return this.candidateId[slot] === view.id && this.candidate[slot] === view ? this.take(slot, false) : null;
  }

  private take(slot: number, twin: boolean): NatTwinDecision<C> | null {
    const view = this.candidate[slot];
    const held = view !== null && view.id === this.candidateId[slot];
    this.candidate[slot] = null;
    this.candidateId[slot] = -1;
    return held ? { view, twin } : null;
  }

  /**
   * The client SYN `v` sent again (same sequence number) on the connection `connectionId`: when the
   * first was lost before the NAT, the far side sees only this one, with its own identification and
   * timestamp, a second or more later. The slot still holding that SYN takes the new ones and keeps
   * what waits on it (a candidate, a SYN-ACK); a slot lost to another SYN is taken back.
   */
  again(v: PacketView, ts: number, connectionId: number, clientName: string, serverName: string): void {
    const slot = slotOf(v.seq);
    if (this.isn[slot] !== v.seq || this.connectionId[slot] !== connectionId) {
      this.remember(v, ts, connectionId, clientName, serverName);
      return;
    }
    this.ipId[slot] = v.ipId;
    this.tsVal[slot] = v.tsVal;
    this.ts[slot] = ts;
  }

  /**
   * Remembers the client SYN `v` as opening the connection `connectionId` (a twin's first view's:
   * a third view is a twin of the first too), named as that connection is.
   */
  remember(v: PacketView, ts: number, connectionId: number, clientName: string, serverName: string): void {
    const slot = slotOf(v.seq);
    this.plain[slot] = v.hasTimestamp ? 0 : 1;
    this.window[slot] = v.window;
    this.synOptions[slot] = optionSignature(v);
    this.synAckIsn[slot] = -1;
    // A candidate still waiting here loses its slot: undecided, it becomes a connection of its
    // own at its first payload (tcp-tracker.ts abandons it), as without this rule.
    this.candidate[slot] = null;
    this.candidateId[slot] = -1;
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

/**
 * Whether a view can be another's after one translation: a DNAT changes the server's address or
 * port and keeps the client's; a masquerade or SNAT changes the client's address (and maybe its
 * port) and keeps the server. Only the client's port differing is one client opening two
 * connections to one server, and both sides differing two unrelated connections (a proxy's
 * two legs): what a generator or test kit with fixed sequence numbers on both sides (both ISNs,
 * identifications and windows alike) opens at one moment. So a view translated twice (DNAT and
 * masquerade at once, as Docker's published ports) is matched only with the timestamp option.
 */
function natShaped(firstClient: string, firstServer: string, client: string, server: string): boolean {
  return firstClient === client ? firstServer !== server : firstServer === server && hostOfEndpoint(firstClient) !== hostOfEndpoint(client);
}

/** MSS, window scale and SACK-permitted of an opening segment, as one number (a NAT keeps them). */
function optionSignature(v: PacketView): number {
  return (v.hasMss ? v.mss + 1 : 0) * 1024 + (v.hasWindowScale ? v.windowScale + 1 : 0) * 2 + (v.sackPermitted ? 1 : 0);
}

function slotOf(isn: number): number {
  return Math.imul(isn | 0, 0x9e3779b1) >>> (32 - SLOT_BITS);
}
