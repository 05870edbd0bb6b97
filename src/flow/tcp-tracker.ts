import { EndpointSide, formatEndpoint, formatIpv4, formatIpv6 } from '../decode/address';
import { PacketView, TcpFlag } from '../decode/packet-view';
import { CaptureCopies } from './capture-copies';
import { Connection, ConnectionEndReason, ConnectionList, DataAfterPeerFin } from './connection';
import { appendEvent, Endpoint, MAX_EVENTS_KEPT, type ZeroWindowEpisode } from './endpoint';
import { EndpointState } from './endpoint-state';
import { bucketHash, FlowTable } from './flow-table';
import { hasHistory, HistoryLetter, recordHistory } from './history';
import { NatTwins } from './nat-twins';
import { NOT_RELEASED, ReleaseCause, ReleasedTuples, RELEASED_AT_CAP, RELEASED_IDLE } from './released-tuples';
import { seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt } from './seq';

/**
 * The enum members this file tests, as frozen module constants. With `isolatedModules`
 * TypeScript emits every enum, `const enum` included, as an object read at run time: each
 * `TcpFlag.ACK` in the per-packet path was a load of the exporting module's property and of
 * the member, with map checks. V8 folds a frozen module constant's members into compiled code.
 */
const Flag = Object.freeze({ FIN: TcpFlag.FIN, SYN: TcpFlag.SYN, RST: TcpFlag.RST, ACK: TcpFlag.ACK } as const);
const State = Object.freeze({
  Inactive: EndpointState.Inactive,
  SynSent: EndpointState.SynSent,
  SynAckSent: EndpointState.SynAckSent,
  Partial: EndpointState.Partial,
  Established: EndpointState.Established,
  Closed: EndpointState.Closed,
  Reset: EndpointState.Reset,
} as const);
const List = Object.freeze({
  Opening: ConnectionList.Opening,
  Active: ConnectionList.Active,
  Closing: ConnectionList.Closing,
} as const);
const Letter = Object.freeze({
  Syn: HistoryLetter.Syn,
  SynAck: HistoryLetter.SynAck,
  Ack: HistoryLetter.Ack,
  Data: HistoryLetter.Data,
  Fin: HistoryLetter.Fin,
  Rst: HistoryLetter.Rst,
  Retransmission: HistoryLetter.Retransmission,
  ZeroWindow: HistoryLetter.ZeroWindow,
  Gap: HistoryLetter.Gap,
} as const);

/** What the rest of the pipeline hears from the flow stage. */
export interface ConnectionObserver<T> {
  /** A new connection entered the table. */
  onOpen(conn: Connection<T>): void;
  /** In-order payload of one direction. `data` is only valid during the call. */
  onPayload(conn: Connection<T>, fromClient: boolean, data: Uint8Array, offset: number, length: number, ts: number, frame: number): void;
  /**
   * `length` bytes of one direction will never be seen (capture loss, buffer bound). `cut`: they
   * belong to a segment the capture did see, cut short by the snaplen — its place and length are
   * known, so a message whose framing counts them (a Content-Length body) still ends for certain.
   */
  onGap(conn: Connection<T>, fromClient: boolean, length: number, cut: boolean): void;
  /** One direction ended (its first FIN or RST, after all its earlier payload was delivered). */
  onEndOfStream(conn: Connection<T>, fromClient: boolean, ts: number, frame: number): void;
  /** The connection leaves the table; its state is final. */
  onClose(conn: Connection<T>): void;
  /**
   * A view opened as a candidate NAT twin (`natTwinPending`, onOpen already told) is decided:
   * `twin` true, it is `natTwinOf`'s connection; false, a connection of its own (`natTwinOf` now
   * null), to analyze from its start. Before any of its payload, FIN or RST was delivered.
   */
  onNatTwinDecided?(conn: Connection<T>, twin: boolean): void;
}

export interface TrackerOptions {
  /** Seconds (capture clock) an idle open connection is kept: long enough to see reuse after minutes of idleness. */
  idleTimeout: number;
  /** Seconds a connection with only handshake packets is kept. */
  openingTimeout: number;
  /** Seconds a closed or reset connection is kept for late packets (retransmitted FIN, last ACK) and port reuse; then its findings are decided (live capture streams them). */
  closedLinger: number;
  /** Most connections held at once; past it the least recently active are released early. */
  maxConnections: number;
  /**
   * Reuse the objects of released connections for new ones. Only for an observer that keeps no
   * reference to a connection after its onClose returns (the analysis does not: what outlives a
   * connection is copied out as a flow record or a finding); otherwise a kept connection would
   * change under its holder.
   */
  reuseConnections: boolean;
}

export const DEFAULT_TRACKER_OPTIONS: TrackerOptions = {
  idleTimeout: 900,
  openingTimeout: 120,
  closedLinger: 5,
  maxConnections: 250_000,
  reuseConnections: false,
};

export interface TrackerStats {
  connections: number;
  evicted: number;
  peakConnections: number;
  /** Out-of-order segments this tracker could not hold (a reassembly bound was reached): each became a gap. */
  reassemblyRefused: number;
  /** Packets the capture held twice (capture-copies.ts): counted in their connection's packets, not tracked again. */
  captureCopies: number;
  /** Connections seen a second time after address translation (nat-twins.ts). */
  natTwins: number;
  /**
   * 4-tuples reused by a new connection whose handshake the capture lost: a segment outside both
   * sequence spaces of a closed or idle connection started a new one, seen mid-stream (reusedUnseen).
   */
  unseenPortReuses: number;
  /** Open connections (not seen closing) expired after idleTimeout with no packet: the --idle-timeout clock. */
  idleExpired: number;
  /**
   * Connections seen mid-stream on the 4-tuple of one this tracker had let go while it was live
   * (Connection.resumedAfterRelease): after a release at the cap (`atCap`), after an idle expiry (`idle`).
   */
  resumed: { atCap: number; idle: number };
}

/** Past the handshake (or seen mid-stream) and not closed (no FIN or RST sent): where a plain ACK changes no state. */
function carriesData(state: EndpointState): boolean {
  return state === State.Established || state === State.Partial;
}

/**
 * The states of a side whose plain ACKs change nothing but counts, times, acknowledgement and
 * window (not in the handshake, not reset), one bit each: both sides are tested in one expression.
 * (As a function called per side, V8 left the two calls out of line in updateOpenClose, whose
 * inlining budget the rest of it had used up.)
 */
const ACKS_AROUND_CLOSE = (1 << State.Established) | (1 << State.Partial) | (1 << State.Closed);

/** An empty array V8 already knows to hold objects (an elements kind that pushing a connection keeps). */
function objectList<T extends object>(): T[] {
  const list: object[] = [{}];
  list.pop();
  return list as T[];
}

/** Released connections kept for reuse (see TrackerOptions.reuseConnections); more are left to the GC. */
const SPARE_CONNECTIONS_KEPT = 1024;

/** Server endpoint texts remembered (see serverName). */
const SERVER_NAMES_KEPT = 4096;

const SWEEP_INTERVAL = 1; // seconds of capture time between expiry sweeps

/**
 * How far beyond the furthest byte seen, or behind the next expected one, a number may lie and
 * still belong to a connection: this many of the receiver's last advertised windows (it can take
 * no more in flight; generous, as the capture may have missed window growth), and at least
 * UNSEEN_REUSE_FLOOR. A new connection's numbers lie anywhere in the 2^32 space.
 */
const UNSEEN_REUSE_WINDOWS = 16;
const UNSEEN_REUSE_FLOOR = 1 << 20;
/** Seconds without a packet after which a connection not seen closing may have ended unseen. */
const UNSEEN_REUSE_IDLE = 1;

/**
 * Whether `n` lies outside what `side` could have sent (its receiver being `receiver`).
 * `closeAnnounced`: the side said it would send nothing but its FIN after what it sent
 * (Connection.serverCloseAnnounced), so its FIN, seen or not, comes at its next sequence number.
 */
function outsideSent(side: Endpoint, receiver: Endpoint, n: number, closeAnnounced: boolean): boolean {
  const reach = Math.max(UNSEEN_REUSE_WINDOWS * receiver.window, UNSEEN_REUSE_FLOOR);
  // Nothing follows a FIN: past it, even by one, is another connection's.
  if (side.finTs >= 0) {
    if (seqDiff(seqAdd(side.finSeq, 1), n) > 0) return true;
  } else if (closeAnnounced ? seqDiff(seqAdd(side.maxSeqEnd, 1), n) > 0 : seqDiff(side.maxSeqEnd, n) > reach) {
    return true;
  }
  return seqDiff(n, side.nextSeq) > reach;
}

/** Clock advances after the first sweep that call `sweep` to do nothing (see sweep). */
const SWEEP_WARMUPS = 64;

/**
 * Rebuilds TCP connections from decoded segments: who is client and server, each endpoint's
 * state and sequence space, in-order payload delivery, and release on the capture clock.
 */
export class TcpTracker<T> {
  private readonly table = new FlowTable<T>();
  private nextId = 1;
  /** The capture clock: the latest timestamp seen (never goes backwards). */
  private now = -Infinity;
  /** When the clock reaching it calls `sweep` (a warm-up or a due sweep: see sweep). */
  private nextSweep = -Infinity;
  /** When the next expiry sweep is due (one SWEEP_INTERVAL after the last). */
  private sweepDue = -Infinity;
  /** Calls of `sweep` left that only warm its call site up (see sweep). */
  private sweepWarmups = SWEEP_WARMUPS;
  private readonly serverNames = new Map<number, string>();
  /**
   * Released connections waiting to be reused, when the options allow it. Made as a list of
   * objects (see objectList): a `[]` starts as a list of small integers, and the first release
   * that pushed a connection into it changed its map under `open`'s compiled `pop()`, which V8
   * threw away and compiled again.
   */
  private readonly spare: Connection<T>[] = objectList();
  private readonly copies = new CaptureCopies();
  private readonly natTwins = new NatTwins<Connection<T>>();
  /** 4-tuples of live connections let go early (at the cap, or idle), to know them when they come back. */
  private readonly released = new ReleasedTuples();
  readonly stats: TrackerStats = { connections: 0, evicted: 0, peakConnections: 0, reassemblyRefused: 0, captureCopies: 0, natTwins: 0, unseenPortReuses: 0, idleExpired: 0, resumed: { atCap: 0, idle: 0 } };

  constructor(
    private readonly observer: ConnectionObserver<T>,
    private readonly options: TrackerOptions = DEFAULT_TRACKER_OPTIONS,
  ) {}

  get liveConnections(): number {
    return this.table.size;
  }

  /** Feeds one decoded TCP segment. */
  segment(v: PacketView, data: Uint8Array, ts: number, frame: number, origLen: number): void {
    if (ts > this.now) {
      this.now = ts;
      if (ts >= this.nextSweep) this.sweep();
    }
    const hash = bucketHash(v);
    let conn = this.table.find(hash, v);
    let fromClient = this.table.lastFromClient;
    const flags = v.flags;
    const syn = (flags & Flag.SYN) !== 0;
    const ack = (flags & Flag.ACK) !== 0;

    if (conn !== null && syn && !ack) {
      const sender = fromClient ? conn.client : conn.server;
      const retransmittedSyn = sender.hasIsn && sender.isn === v.seq && sender.synCount > 0;
      // Only a sender whose sequence space is already known can reuse the port: a first SYN from
      // a server that has sent nothing yet is a simultaneous open or split handshake (like tshark).
      if (!retransmittedSyn && sender.hasNextSeq) {
        // A SYN with a new ISN on a 4-tuple in use: the port was reused for a new connection.
        const previous = { id: conn.id, lastTs: conn.lastTs, closed: conn.list === List.Closing };
        this.release(conn, 'superseded');
        conn = this.open(hash, v, ts, frame, true, false, previous);
        fromClient = true;
      } else if (retransmittedSyn && fromClient === true && this.answerWasReset(conn)) {
        // The same SYN again after its SYN-ACK was reset: the server's half-open connection is gone
        // and it answers this one with a new ISN, a new connection on its side. Not a port reuse
        // (the client's attempt is the same): no `previous`.
        this.release(conn, 'superseded');
        conn = this.open(hash, v, ts, frame, true, false);
      } else if (retransmittedSyn && fromClient === true && !conn.natTwinPending) {
        // The client's SYN again (same ISN): when the first was lost before a NAT, this is the one
        // the far side sees translated, with its own identification and timestamp, a second or more
        // after the first (nat-twins.ts). Rare: only opening retransmissions come here.
        const twin = conn.natTwinOf;
        this.natTwins.again(v, ts, twin?.connectionId ?? conn.id, twin?.clientName ?? conn.clientName, twin?.serverName ?? conn.serverName);
      }
    }
    if (conn === null) {
      if (syn) {
        // A SYN's sender is the client; a SYN-ACK's receiver is.
        conn = this.open(hash, v, ts, frame, !ack, false);
        fromClient = !ack;
      } else {
        // Mid-stream: guess the server is the lower (usually well-known) port; HTTP may correct it.
        const srcIsServer = v.srcPort < v.dstPort;
        conn = this.open(hash, v, ts, frame, !srcIsServer, true);
        fromClient = !srcIsServer;
      }
    }
    // A SYN-ACK may decide a candidate NAT twin (its own view's or the first view's); anything a
    // candidate carries that must be analyzed decides it first: a connection of its own.
    if ((flags & (Flag.SYN | Flag.ACK)) === (Flag.SYN | Flag.ACK)) {
      if (fromClient !== true) {
        const reused = this.reusedBySynAck(conn, hash, v, ts, frame);
        if (reused !== null) conn = reused;
      }
      const decision = this.natTwins.onSynAck(v, ts, conn);
      if (decision !== null && decision.view.natTwinPending) this.decideNatTwin(decision.view, decision.twin);
    } else if (conn.natTwinPending && (v.payloadLen > 0 || (flags & (Flag.FIN | Flag.RST)) !== 0)) {
      this.abandonNatTwin(conn);
    }
    const client = fromClient === true; // see updateEstablished
    const peer = client ? conn.server : conn.client;
    const copies = this.copies;
    if (copies.isCopy(conn.id, client, v, ts, peer.packets - peer.captureCopies)) {
      const sender = client ? conn.client : conn.server;
      sender.noteCopy(v.ttl, copies.originalTtl, copies.originalTs, (flags & Flag.RST) !== 0);
      sender.packets++;
      sender.wireBytes += origLen;
      sender.captureCopies++;
      this.stats.captureCopies++;
      // The connection's span covers its copies, as its packet count does (a drawing collects its
      // packets by it); its last frame stays the original's, which evidence names.
      if (ts > conn.lastTs) conn.lastTs = ts;
      return;
    }
    // Their results compared with true (see updateEstablished): true on most packets.
    if (this.updateEstablished(conn, client, v, data, ts, frame, origLen) !== true && this.updateOpenClose(conn, client, v, ts, frame, origLen) !== true) {
      // Not in order: it may not belong to this connection at all (only here, off the fast paths).
      if (!syn && this.reusedUnseen(conn, client, v, ts)) conn = this.openUnseenReuse(conn, hash, v, ts, frame, client);
      this.update(conn, client, v, data, ts, frame, origLen);
    }
  }

  /**
   * An ICMP error quoting a segment (a DecodeStatus.IcmpError view: the quote's 4-tuple and
   * sequence number, icmp* fields): noted on the live connection the quote names, on the side that
   * sent the quoted segment (its first such error, with the count and the last one's time). False when no live connection has that
   * 4-tuple. Rare (its own path), so it may allocate.
   */
  icmpError(v: PacketView, ts: number, frame: number): boolean {
    const conn = this.table.find(bucketHash(v), v);
    if (conn === null) return false;
    const sender = this.table.lastFromClient ? conn.client : conn.server;
    const note = sender.icmpError;
    if (note === null) {
      const v6 = v.ipVersion === 6;
      sender.icmpError = {
        ts, frame, v6, type: v.icmpType, code: v.icmpCode,
        from: v6 ? formatIpv6(v.icmpFrom0, v.icmpFrom1, v.icmpFrom2, v.icmpFrom3) : formatIpv4(v.icmpFrom0),
        quotedSeq: v.seq, quotesIsn: sender.hasIsn && sender.isn === v.seq,
        count: 1, lastTs: ts, lastFrame: frame,
      };
    } else {
      // A SYN resent after an error its connect did not act on (see connection-rejected-icmp) is answered again.
      note.count++;
      note.lastTs = ts;
      note.lastFrame = frame;
    }
    return true;
  }

  /**
   * A SYN-ACK with a new ISN on a closed connection's 4-tuple, acknowledging a SYN that
   * connection never had: the port was reused and the capture missed the new SYN (left to the old
   * connection, its request would look like one sent on a closed connection). The old connection
   * is released and the new one returned; null when the SYN-ACK belongs to it. Out of `segment`,
   * which every packet runs.
   */
  private reusedBySynAck(conn: Connection<T>, hash: number, v: PacketView, ts: number, frame: number): Connection<T> | null {
    const server = conn.server;
    // A connection's own SYN-ACK (its server has no ISN yet), or a retransmission of it: most come here.
    if (server.hasIsn !== true || server.isn === v.seq) return null;
    const client = conn.client;
    if (!client.hasIsn) return null;
    const closed = server.finTs >= 0 || server.rstTs >= 0 || client.finTs >= 0 || client.rstTs >= 0;
    const sameSyn = v.ack === seqAdd(client.isn, 1);
    if (!closed) {
      // The same SYN answered again with a new ISN, the first answer never used (no byte, no FIN):
      // the server dropped its half-open connection (reset by a middlebox whose RST the capture
      // did not hold, or expired) and made a new one. Its sequence space starts again here;
      // continued from the old ISN, the distance between the two would read as bytes missed.
      if (sameSyn && server.payloadBytes === 0 && server.finCount === 0 && server.gapBytes === 0) this.rebaseIsn(server, v);
      return null;
    }
    // A closed (or reset) connection goes on with nothing: another ISN starts a new one. For the
    // same SYN, the server answers a SYN retransmitted after its first answer was reset, and the
    // capture did not hold that SYN (else it opened the new connection: see segment).
    const previous = sameSyn ? null : { id: conn.id, lastTs: conn.lastTs, closed: true };
    this.release(conn, 'superseded');
    return this.open(hash, v, ts, frame, false, false, previous);
  }

  /**
   * Nothing carried yet, and the client's SYN was followed by a RST: after a SYN-ACK (either
   * side's RST, or one in either's name from a middlebox: a firewall's `reject with tcp reset` of
   * the SYN-ACK resets the server's half-open connection in the client's name), or the client's
   * own (its answer to the ACK of an older connection the server still held on the 4-tuple: a
   * port reused after a firewall reset the client's side only). A retransmission of the SYN now
   * is a new attempt on the server's side, answered with a new ISN. A SYN refused (server RST, no
   * SYN-ACK) and tried again stays one connection: its refusals are counted on it.
   */
  private answerWasReset(conn: Connection<T>): boolean {
    const c = conn.client;
    const s = conn.server;
    const reset = c.rstTs >= 0 || (s.rstTs >= 0 && s.synAckCount > 0);
    return reset && c.payloadBytes === 0 && s.payloadBytes === 0 && c.finTs < 0 && s.finTs < 0;
  }

  /** The endpoint's sequence space starts again at the SYN(-ACK) `v` (see reusedBySynAck). */
  private rebaseIsn(ep: Endpoint, v: PacketView): void {
    ep.isn = v.seq;
    ep.nextSeq = seqAdd(v.seq, 1);
    ep.maxSeqEnd = ep.nextSeq;
    ep.hasNextSeq = true;
  }

  /**
   * A segment no receiver of this connection would accept: its sequence number outside all its
   * sender could have sent, and its acknowledgement outside all the peer could have sent (or behind
   * the sender's own acknowledgements), on a connection seen closing or idle for a while. The
   * 4-tuple was reused by a new connection whose SYN and SYN-ACK the capture lost; merged, the
   * jump between the two sequence spaces would read as bytes the capture missed. A genuine capture
   * gap keeps the numbers within what the connection carried (a bulk transfer moves one side's
   * only), and retransmissions and probes stay within a window. Allocates nothing.
   */
  private reusedUnseen(conn: Connection<T>, fromClient: boolean, v: PacketView, ts: number): boolean {
    if ((v.flags & Flag.ACK) === 0) return false; // a bare RST: nothing to test its acknowledgement against
    const ep = fromClient ? conn.client : conn.server;
    const peer = fromClient ? conn.server : conn.client;
    if (ep.hasNextSeq !== true || peer.hasNextSeq !== true) return false;
    const announced = conn.serverCloseAnnounced;
    const closed = ep.finTs >= 0 || peer.finTs >= 0 || ep.rstTs >= 0 || peer.rstTs >= 0 || announced;
    if (!closed && ts - conn.lastTs < UNSEEN_REUSE_IDLE) return false;
    if (!outsideSent(ep, peer, v.seq, announced && !fromClient)) return false;
    if (outsideSent(peer, ep, v.ack, announced && fromClient)) return true;
    return ep.hasAck && seqDiff(v.ack, ep.highestAck) > Math.max(UNSEEN_REUSE_WINDOWS * ep.window, UNSEEN_REUSE_FLOOR);
  }

  /** Releases the old connection and opens the new one on its 4-tuple, mid-stream, with the same roles. */
  private openUnseenReuse(conn: Connection<T>, hash: number, v: PacketView, ts: number, frame: number, fromClient: boolean): Connection<T> {
    this.release(conn, 'superseded');
    this.stats.unseenPortReuses++;
    return this.open(hash, v, ts, frame, fromClient, true);
  }

  /**
   * Moves the capture clock forward without a packet (live capture on a quiet link: the clock
   * keeps running, so idle and closed connections are still released and their findings decided).
   */
  advanceClock(ts: number): void {
    if (ts > this.now) {
      this.now = ts;
      if (ts >= this.nextSweep) this.sweep();
    }
  }

  /**
   * Drops every held out-of-order byte without telling anyone (an analysis abandoned on an error):
   * the reassembly budget is shared by the process and must not shrink with each failed analysis.
   */
  discardHeld(): void {
    for (const conn of this.table.all()) {
      conn.client.clearHeld();
      conn.server.clearHeld();
    }
  }

  /**
   * Capture time before which every closed connection has left the table: a closed one lingers
   * `closedLinger`, and the sweeps that release it come SWEEP_INTERVAL apart.
   */
  get closedSettledBefore(): number {
    return this.now - this.options.closedLinger - SWEEP_INTERVAL;
  }

  /** Releases every connection still in the table (end of capture). */
  finish(): void {
    const conns = this.table.all();
    this.table.detachLists(); // see detachLists
    // Second views of translated connections first (nat-twins.ts): not analyzed themselves, they
    // tell the analyzed view's end what crossed the NAT (DetectorHooks.onTranslatedViewEnd).
    const isView = (conn: Connection<T>): boolean => conn.natTwinOf !== null && !conn.natTwinPending;
    const views = conns.filter(isView);
    const rest = views.length === 0 ? conns : conns.filter((conn) => !isView(conn));
    for (const conn of views) this.release(conn, 'capture-end');
    for (const conn of rest) this.release(conn, 'capture-end');
  }

  private open(
    hash: number, v: PacketView, ts: number, frame: number, srcIsClient: boolean, inferred: boolean,
    previous: Connection<T>['previous'] = null,
  ): Connection<T> {
    const clientName = formatEndpoint(v, srcIsClient ? 'src' : 'dst');
    const serverName = this.serverName(v, srcIsClient ? 'dst' : 'src');
    const id = this.nextId++;
    // Every connection goes through the one reset() call below, a new one too (its constructor ran
    // reset already; a second run sets the same fields to the same values). A call made only for
    // reused connections had no type feedback while none had been released yet, and the first
    // reuse threw away the compiled code of `open`.
    const conn = this.spare.pop() ?? new Connection<T>(id, hash, v, srcIsClient, clientName, serverName, inferred, ts, frame);
    conn.reset(id, hash, v, srcIsClient, clientName, serverName, inferred, ts, frame);
    conn.previous = previous; // before onOpen: observers see the port reuse
    // On a tuple let go while live: off the per-packet path (only opens come here).
    if (previous === null) this.noteResumed(conn, hash, v);
    // A connection opened by a SYN, or by a SYN-ACK whose SYN the capture does not hold, may already
    // be open under the addresses before a NAT (nat-twins.ts).
    if (!inferred && (v.flags & Flag.SYN) !== 0) {
      const twin = this.natTwins.find(v, ts, clientName, serverName);
      conn.natTwinOf = twin;
      if (twin !== null && twin.pending) {
        conn.natTwinPending = true; // counted once the server confirms it
        this.natTwins.hold(v, conn);
      } else {
        if (twin !== null) this.stats.natTwins++;
        if (srcIsClient) this.natTwins.remember(v, ts, twin?.connectionId ?? conn.id, twin?.clientName ?? clientName, twin?.serverName ?? serverName);
      }
    }
    if (this.table.size >= this.options.maxConnections) this.evictOne();
    this.table.insert(conn, inferred ? List.Active : List.Opening);
    this.stats.connections++;
    if (this.table.size > this.stats.peakConnections) this.stats.peakConnections = this.table.size;
    this.observer.onOpen(conn);
    return conn;
  }

  /**
   * Marks a connection that continues one let go early (Connection.resumedAfterRelease): opened by
   * anything but a bare SYN (a packet mid-stream, or the SYN-ACK of a SYN released at the cap). A
   * bare SYN opens a new connection on the tuple: what was remembered of it is forgotten.
   */
  private noteResumed(conn: Connection<T>, hash: number, v: PacketView): void {
    const cause = this.released.take(hash, v);
    if (cause === NOT_RELEASED || (v.flags & (Flag.SYN | Flag.ACK)) === Flag.SYN) return;
    conn.resumedAfterRelease = cause;
    if (cause === RELEASED_AT_CAP) this.stats.resumed.atCap++;
    else this.stats.resumed.idle++;
  }

  /**
   * The text of a server endpoint: servers recur across thousands of connections, so their
   * IPv4 text is kept (bounded) rather than formatted again for each.
   */
  private serverName(v: PacketView, side: EndpointSide): string {
    if (v.ipVersion !== 4) return formatEndpoint(v, side);
    const key = side === 'src' ? v.src0 * 65536 + v.srcPort : v.dst0 * 65536 + v.dstPort;
    let name = this.serverNames.get(key);
    if (name === undefined) {
      if (this.serverNames.size >= SERVER_NAMES_KEPT) this.serverNames.clear();
      name = formatEndpoint(v, side);
      this.serverNames.set(key, name);
    }
    return name;
  }

  /**
   * Most packets of a capture are the plain case: an ACK, alone or with the next in-order bytes,
   * on a connection whose two sides are established (or seen mid-stream), with no zero window,
   * no probe and nothing held out of order. This handles exactly that case in a few steps,
   * leaving the state `update` would leave; for anything else it changes nothing and returns
   * false, and `update` handles the packet. (One small function that V8 compiles whole: the
   * general path's size kept it from inlining its helpers, and the plain case paid for every
   * branch of it.)
   * test/flow/established-path.test.ts runs captures through both paths and compares every field.
   */
  protected updateEstablished(conn: Connection<T>, fromClient: boolean, v: PacketView, data: Uint8Array, ts: number, frame: number, origLen: number): boolean {
    if ((v.flags & (Flag.SYN | Flag.FIN | Flag.RST | Flag.ACK)) !== Flag.ACK) return false;
    // A parameter V8 cannot know to be a boolean: tested as such, it costs a full truthiness test
    // (ten instructions) at each use; compared with `true`, one.
    const client = fromClient === true;
    const ep = client ? conn.client : conn.server;
    const peer = client ? conn.server : conn.client;
    if (!carriesData(ep.state) || !carriesData(peer.state)) return false;
    // (A side that sent a FIN or RST is no longer in such a state: data after a FIN takes the general path.)
    if (ep.openZeroWindow !== null || peer.openZeroWindow !== null || ep.holding || peer.holding) return false;
    const window = v.window << ep.windowShift;
    if (window === 0) return false;
    const payloadLen = v.payloadLen;
    const nextSeq = ep.nextSeq;
    // In order and whole; with no payload, at the next sequence number (not a keep-alive probe at
    // next − 1, nor a number from elsewhere: see reusedUnseen).
    if (v.seq !== nextSeq || (payloadLen > 0 && v.capturedPayloadLen !== payloadLen)) return false;

    if (payloadLen === 0 && v.ack === ep.highestAck) this.noteDupAck(ep, peer, v.ack);
    ep.countPlainSegment(v.ack, window, ts, frame, origLen);
    conn.noteActivity(ts, this.now, frame);
    // One test of the history for both kinds of segment: with two call sites, V8 (its inlining
    // budget spent) left one as a call.
    const letter = payloadLen > 0 ? Letter.Data : Letter.Ack;
    if (hasHistory(conn, letter, client) !== true) {
      recordHistory(conn, letter, client);
      // This side's first data (its history letter is new): its TTL, once (Endpoint.firstDataTtl).
      if (payloadLen > 0 && ep.firstDataTtl < 0) ep.firstDataTtl = v.ttl;
    }
    if (payloadLen > 0) {
      ep.deliverInOrder(payloadLen, ts, frame);
      this.observer.onPayload(conn, client, data, v.payloadOffset, payloadLen, ts, frame);
    }
    this.table.touch(conn, List.Active);
    return true;
  }

  /**
   * The other packets every ordinary connection has, none carrying payload: a SYN, a SYN-ACK, the
   * handshake's ACK, a first FIN in sequence, and the ACKs around the close (a side that sent a
   * FIN, or whose peer did, acknowledging). A quarter of a capture of short connections. Like
   * `updateEstablished`, it takes only the cases where the general path's many branches are known
   * to be idle (nothing held out of order, no zero window, no probe, no gap before the FIN),
   * leaves the state `update` would leave, and returns false for anything else.
   * test/flow/established-path.test.ts compares it with the general path.
   */
  protected updateOpenClose(conn: Connection<T>, fromClient: boolean, v: PacketView, ts: number, frame: number, origLen: number): boolean {
    // Data on a SYN (TCP Fast Open), after a FIN or with it goes the general way.
    if (v.payloadLen !== 0) return false;
    const flags = v.flags & (Flag.SYN | Flag.FIN | Flag.RST | Flag.ACK);
    const client = fromClient === true; // see updateEstablished
    const ep = client ? conn.client : conn.server;
    const peer = client ? conn.server : conn.client;
    if (flags === Flag.SYN || flags === (Flag.SYN | Flag.ACK)) {
      const ackFlag = flags !== Flag.SYN;
      // An ACK covering bytes held behind a hole gives the hole up: the general path does that.
      if (ackFlag && peer.holding) return false;
      ep.countSegment(ts, origLen);
      conn.noteActivity(ts, this.now, frame);
      this.onSyn(conn, ep, peer, client, v, ts, frame, ackFlag);
      if (ackFlag && (!ep.hasAck || seqGt(v.ack, ep.highestAck))) {
        if (!ep.hasAck) ep.firstAck = v.ack;
        ep.advanceAck(v.ack, ts, frame);
        ep.hasAck = true;
      }
    } else {
      const fin = flags === (Flag.FIN | Flag.ACK);
      if (!fin && flags !== Flag.ACK) return false;
      const handshakeAck = !fin && ep.state === State.SynSent && peer.state === State.SynAckSent;
      // (A plain ACK on an established connection that updateEstablished declined is a probe,
      // a zero window or the like: it fails the checks below too.)
      if (fin ? !carriesData(ep.state) : !handshakeAck && ((ACKS_AROUND_CLOSE >> ep.state) & (ACKS_AROUND_CLOSE >> peer.state) & 1) === 0) return false;
      if (ep.holding || peer.holding || ep.openZeroWindow !== null || peer.openZeroWindow !== null || ep.hasNextSeq !== true) return false;
      const window = v.window << ep.windowShift;
      if (window === 0) return false;
      // A FIN exactly at the next byte (else a gap or a retransmission); an ACK at it too (not a
      // keep-alive probe at next − 1, nor a number from elsewhere: see reusedUnseen).
      if (v.seq !== ep.nextSeq || (fin && ep.finTs >= 0)) return false;
      // The sender has sent before (its SYN, or a first segment mid-stream): its first time is set.
      // (No duplicate ACKs of the handshake are counted here: data came between, or the peer closes.)
      ep.countPlainSegment(v.ack, window, ts, frame, origLen);
      conn.noteActivity(ts, this.now, frame);
      if (handshakeAck) {
        ep.state = State.Established;
        peer.state = State.Established;
        if (client) conn.handshakeAckTs = ts;
      }
      if (fin) this.onFin(conn, ep, client, v, ts, frame);
      else recordHistory(conn, Letter.Ack, client);
    }
    this.table.touch(conn, this.listFor(conn));
    return true;
  }

  private update(conn: Connection<T>, fromClient: boolean, v: PacketView, data: Uint8Array, ts: number, frame: number, origLen: number): void {
    const ep = fromClient ? conn.client : conn.server;
    const peer = fromClient ? conn.server : conn.client;
    const flags = v.flags;
    const syn = (flags & Flag.SYN) !== 0;
    const ackFlag = (flags & Flag.ACK) !== 0;
    const fin = (flags & Flag.FIN) !== 0;
    const rst = (flags & Flag.RST) !== 0;

    ep.packets++;
    ep.wireBytes += origLen;
    if (ep.firstTs < 0) {
      ep.firstTs = ts;
      ep.firstTtl = v.ttl;
    }
    if (v.payloadLen > 0 && ep.firstDataTtl < 0) ep.firstDataTtl = v.ttl;
    ep.lastTs = ts;
    conn.noteActivity(ts, this.now, frame);

    if (syn) this.onSyn(conn, ep, peer, fromClient, v, ts, frame, ackFlag);
    else if (ep.state === State.Inactive) {
      ep.state = State.Partial;
      // The server's first packet, answering the client's SYN with an ACK of something else: once per connection.
      if (!fromClient && ackFlag && !rst && peer.state === State.SynSent && peer.hasIsn && v.ack !== seqAdd(peer.isn, 1)) conn.foreignAckFrame = frame;
    }

    if (ackFlag && !rst) {
      if (!syn && !fin && ep.hasAck && v.ack === ep.highestAck && v.payloadLen === 0) this.noteDupAck(ep, peer, v.ack);
      if (!ep.hasAck || seqGt(v.ack, ep.highestAck)) {
        if (!ep.hasAck) ep.firstAck = v.ack;
        ep.advanceAck(v.ack, ts, frame);
        ep.hasAck = true;
      }
      // The final ACK of the handshake establishes both sides.
      if (!syn && ep.state === State.SynSent && peer.state === State.SynAckSent) {
        ep.state = State.Established;
        peer.state = State.Established;
        if (fromClient) conn.handshakeAckTs = ts;
      }
      // The peer acknowledged bytes the capture never showed: give up waiting for them.
      if (peer.holding && seqGe(v.ack, peer.reassembly.firstSeq)) this.fillHole(conn, !fromClient, peer);
    }

    if (!syn && !rst) this.trackWindow(ep, peer, v, ts, frame, fromClient, conn);

    const payloadLen = v.payloadLen;
    if (!ep.hasNextSeq && !syn) {
      ep.nextSeq = v.seq;
      ep.maxSeqEnd = v.seq;
      ep.hasNextSeq = true;
    }
    if (payloadLen > 0 && !syn) {
      this.onPayloadSegment(conn, ep, peer, fromClient, v, v.seq, data, ts, frame, fin, rst);
    } else if (payloadLen > 0 && syn && ep.hasIsn && ep.isn === v.seq) {
      // Data on the SYN itself (TCP Fast Open): it starts after the ISN, which takes one sequence number.
      this.onPayloadSegment(conn, ep, peer, fromClient, v, seqAdd(v.seq, 1), data, ts, frame, fin, rst);
    } else if (!syn && !fin && !rst && payloadLen === 0 && ep.hasNextSeq && v.seq === seqAdd(ep.nextSeq, -1) && ep.state >= State.Established) {
      // seq = next − 1 with no byte: a keep-alive probe, unless the peer's window is zero (a window probe).
      if (peer.openZeroWindow === null) {
        ep.keepAliveProbes++;
        // Not after its own FIN: an ACK sent before it and reordered behind it has the same number.
        if (ep.finTs < 0) ep.noteKeepAliveProbe(ts, frame, peer.packets - peer.captureCopies, peer.lastTs);
      }
    } else if (!syn && !fin && !rst) {
      recordHistory(conn, Letter.Ack, fromClient);
      // Beyond the bytes seen from this side: it had sent bytes that never came past the capture point.
      if (ep.hasNextSeq && seqGt(v.seq, ep.nextSeq)) ep.noteAheadSeq(v.seq, ts, frame);
    }

    if (fin && !syn) this.onFin(conn, ep, fromClient, v, ts, frame);
    if (rst) this.onRst(conn, ep, fromClient, v, ts, frame);

    const list = this.listFor(conn);
    this.table.touch(conn, list);
  }

  private onSyn(conn: Connection<T>, ep: Endpoint, peer: Endpoint, fromClient: boolean, v: PacketView, ts: number, frame: number, ackFlag: boolean): void {
    // The handshake path counted the segment without the general path's first-packet step.
    if (ep.firstTtl < 0) ep.firstTtl = v.ttl;
    if (ackFlag) {
      ep.synAckCount++;
      if (ep.synAckCount === 1 && v.hasTimestamp === true) ep.synAckTsEcr = v.tsEcr;
      if (ep.synAckTimes.length < MAX_EVENTS_KEPT) {
        ep.synAckTimes = appendEvent(ep.synAckTimes, ts);
        ep.synAckFrames = appendEvent(ep.synAckFrames, frame);
      }
      // A SYN-ACK repeated after the client acknowledged one: the server never accepted.
      if (ep.synAckCount > 1 && peer.hasAck && peer.state !== State.SynSent && ep.hasIsn && peer.highestAck === seqAdd(ep.isn, 1)) {
        conn.synAckRepeatsAfterAck++;
        if (conn.synAckRepeatFrames.length < MAX_EVENTS_KEPT) conn.synAckRepeatFrames = appendEvent(conn.synAckRepeatFrames, frame);
      }
      recordHistory(conn, Letter.SynAck, fromClient);
      if (ep.state === State.Inactive || ep.state === State.SynSent) ep.state = State.SynAckSent;
    } else {
      ep.synCount++;
      if (v.hasTimestamp === true && peer.synAckCount === 0) {
        if (ep.synCount === 1) ep.firstSynTsVal = v.tsVal;
        ep.lastSynTsVal = v.tsVal;
      }
      if (ep.synTimes.length < MAX_EVENTS_KEPT) {
        ep.synTimes = appendEvent(ep.synTimes, ts);
        ep.synFrames = appendEvent(ep.synFrames, frame);
      }
      recordHistory(conn, Letter.Syn, fromClient);
      if (ep.state === State.Inactive) ep.state = State.SynSent;
    }
    if (!ep.hasIsn) {
      ep.hasIsn = true;
      ep.isn = v.seq;
      ep.nextSeq = seqAdd(v.seq, 1);
      ep.maxSeqEnd = ep.nextSeq;
      ep.hasNextSeq = true;
      if (v.hasWindowScale) ep.windowShiftOffered = Math.min(v.windowScale, 14);
      if (v.hasMss) ep.mss = v.mss;
      ep.window = v.window;
      // Window scaling is in force only when both SYNs offered it (RFC 7323 §2.2).
      if (ackFlag && ep.windowShiftOffered >= 0 && peer.windowShiftOffered >= 0) {
        ep.windowShift = ep.windowShiftOffered;
        peer.windowShift = peer.windowShiftOffered;
      }
    }
  }

  private trackWindow(ep: Endpoint, peer: Endpoint, v: PacketView, ts: number, frame: number, fromClient: boolean, conn: Connection<T>): void {
    // A shift: `2 **` calls Math.pow per packet. The shift is at most 14, so this stays below 2^30.
    const window = v.window << ep.windowShift;
    ep.window = window;
    if (window === 0) {
      if (ep.openZeroWindow === null) {
        ep.zeroWindowCount++;
        recordHistory(conn, Letter.ZeroWindow, fromClient);
        const episode = { startTs: ts, startFrame: frame, endTs: -1, endFrame: 0, probes: 0, peerDataTs: peer.lastDataTs };
        ep.openZeroWindow = episode;
        if (ep.zeroWindowEpisodes.length < MAX_EVENTS_KEPT) ep.zeroWindowEpisodes = appendEvent(ep.zeroWindowEpisodes, episode);
        else this.keepLongestEpisodes(ep, episode);
      }
    } else if (ep.openZeroWindow !== null) {
      ep.openZeroWindow.endTs = ts;
      ep.openZeroWindow.endFrame = frame;
      ep.openZeroWindow = null;
    }
    // While the peer's window is zero, the sender's persist timer probes it: with one byte of new
    // data, or (Linux) with an empty segment at seq = next − 1 that looks like a keep-alive probe.
    if (peer.openZeroWindow !== null && (v.payloadLen > 0 || (ep.hasNextSeq && v.seq === seqAdd(ep.nextSeq, -1)))) {
      peer.openZeroWindow.probes++;
    }
  }

  /** Past the evidence bound, an open episode replaces the shortest kept one only if it may outlast it. */
  private keepLongestEpisodes(ep: Endpoint, episode: ZeroWindowEpisode): void {
    let shortest = 0;
    for (let i = 1; i < ep.zeroWindowEpisodes.length; i++) {
      const a = ep.zeroWindowEpisodes[i];
      const b = ep.zeroWindowEpisodes[shortest];
      if (a.endTs >= 0 && (b.endTs < 0 || a.endTs - a.startTs < b.endTs - b.startTs)) shortest = i;
    }
    const s = ep.zeroWindowEpisodes[shortest];
    if (s.endTs >= 0) ep.zeroWindowEpisodes[shortest] = episode;
  }

  private onPayloadSegment(
    conn: Connection<T>, ep: Endpoint, peer: Endpoint, fromClient: boolean, v: PacketView, seq: number,
    data: Uint8Array, ts: number, frame: number, fin: boolean, rst: boolean,
  ): void {
    // The peer's data after its FIN came ahead of bytes it follows: those will not come now.
    if (peer.pendingEndSeq >= 0) this.endPendingStream(conn, peer, !fromClient);
    const payloadLen = v.payloadLen;
    const end = seqAdd(seq, payloadLen);
    // A keep-alive probe carrying one garbage byte (seq = next − 1) is not data.
    if (payloadLen === 1 && !fin && !rst && seq === seqAdd(ep.nextSeq, -1) && ep.payloadBytes > 0) {
      ep.keepAliveProbes++;
      if (ep.finTs < 0) ep.noteKeepAliveProbe(ts, frame, peer.packets - peer.captureCopies, peer.lastTs);
      return;
    }
    if (seqLe(end, ep.nextSeq)) {
      ep.retransmissions++;
      ep.lastRetransmissionTs = ts;
      ep.noteRetransmission(seq, payloadLen, ts, frame);
      if (!peer.hasAck || !seqGt(peer.highestAck, seqAdd(ep.isn, 1))) ep.retransmissionsBeforePeerAck++;
      recordHistory(conn, Letter.Retransmission, fromClient);
      return;
    }
    recordHistory(conn, Letter.Data, fromClient);
    if (seqGt(end, ep.maxSeqEnd)) ep.maxSeqEnd = end;
    ep.noteSegmentSize(seq, payloadLen);
    const ahead = seqDiff(ep.nextSeq, seq);
    if (ahead > 0) {
      ep.outOfOrder++;
      const peerAckedHole = peer.hasAck && seqGe(peer.highestAck, seq);
      const held = !peerAckedHole && ep.reassembly.hold(seq, data, v.payloadOffset, v.capturedPayloadLen, payloadLen, ts, frame);
      // Counted here, per analysis (the reassembly module's own count is process-wide).
      if (!peerAckedHole && !held) this.stats.reassemblyRefused++;
      if (!held) {
        // Bytes before this segment are gone for good (lost at the capture point, or over the buffer bound).
        // Segments held before it were captured: give up only the holes in front of them and deliver them,
        // rather than declaring their bytes missing and dropping them as duplicates.
        // Refused by the bound (not acknowledged past it): holes the peer has not acknowledged are unread, not lost.
        const refused = !peerAckedHole;
        while (ep.holding && seqLt(ep.reassembly.firstSeq, seq)) this.fillHole(conn, fromClient, ep, refused);
        const missing = seqDiff(ep.nextSeq, seq);
        if (missing > 0) this.gap(conn, fromClient, ep, missing, true, false, refused, ts, frame);
        const skip = missing < 0 ? -missing : 0;
        if (skip < payloadLen) this.deliver(conn, ep, fromClient, data, v.payloadOffset, v.capturedPayloadLen, payloadLen, skip, ts, frame);
        this.drainHeld(conn, ep, fromClient);
      }
    } else {
      const skip = 0 - ahead; // not -ahead: for an in-order segment that is -0, which V8 must keep as a double
      this.deliver(conn, ep, fromClient, data, v.payloadOffset, v.capturedPayloadLen, payloadLen, skip, ts, frame);
      if (ep.holding) this.drainHeld(conn, ep, fromClient);
    }
    // The bytes a FIN had overtaken are in: the direction ends.
    if (ep.pendingEndSeq >= 0 && seqGe(ep.nextSeq, ep.pendingEndSeq)) this.endPendingStream(conn, ep, fromClient);
    // Data after the peer closed (rare): a request that crossed a FIN, or met a socket that reset.
    if (peer.finTs >= 0 || peer.rstTs >= 0) this.noteDataAfterPeerClose(conn, peer, fromClient, v, data, payloadLen, ts, frame);
  }

  /**
   * The first data segment after the peer's FIN (clientDataAfterServerFin), or after its RST when it
   * sent no FIN (clientDataAfterServerReset: a server that closes idle connections with SO_LINGER 0;
   * its socket was gone, so the data had left before the reset arrived). Kept off the packet path.
   */
  private noteDataAfterPeerClose(conn: Connection<T>, peer: Endpoint, fromClient: boolean, v: PacketView, data: Uint8Array, payloadLen: number, ts: number, frame: number): void {
    const firstByte = v.capturedPayloadLen > 0 ? data[v.payloadOffset] : -1;
    if (peer.finTs >= 0) {
      if (fromClient ? conn.clientDataAfterServerFin : conn.serverDataAfterClientFin) return;
      const after: DataAfterPeerFin = { ts, frame, acksFin: (v.flags & Flag.ACK) !== 0 && seqGt(v.ack, peer.finSeq), length: payloadLen, firstByte };
      if (fromClient) conn.clientDataAfterServerFin = after;
      else conn.serverDataAfterClientFin = after;
      return;
    }
    if (fromClient ? conn.clientDataAfterServerReset : conn.serverDataAfterClientReset) return;
    const after: DataAfterPeerFin = { ts, frame, acksFin: false, length: payloadLen, firstByte };
    if (fromClient) conn.clientDataAfterServerReset = after;
    else conn.serverDataAfterClientReset = after;
  }

  /** Delivers a segment's new bytes (from `skip` on), then accounts any part cut off by snaplen as a gap. */
  private deliver(
    conn: Connection<T>, ep: Endpoint, fromClient: boolean, data: Uint8Array, offset: number,
    captured: number, payloadLen: number, skip: number, ts: number, frame: number,
  ): void {
    const newBytes = payloadLen - skip;
    if (ep.firstDataTs < 0) {
      ep.firstDataTs = ts;
      ep.firstDataFrame = frame;
      ep.firstDataBytes = newBytes;
    }
    ep.noteData(ts, frame);
    ep.payloadBytes += newBytes;
    ep.nextSeq = seqAdd(ep.nextSeq, newBytes);
    const available = captured - skip;
    if (available > 0) this.observer.onPayload(conn, fromClient, data, offset + skip, available, ts, frame);
    if (available < newBytes) this.gap(conn, fromClient, ep, newBytes - Math.max(available, 0), false, true);
  }

  private drainHeld(conn: Connection<T>, ep: Endpoint, fromClient: boolean): void {
    if (!ep.holding) return;
    const before = ep.nextSeq;
    ep.nextSeq = ep.reassembly.drain(
      ep.nextSeq,
      (d, off, len, ts, frame) => {
        this.observer.onPayload(conn, fromClient, d, off, len, ts, frame);
        ep.noteData(ts, frame);
      },
      // A held segment's tail the snaplen cut: in its place, after its captured bytes (see deliver).
      (len) => this.gap(conn, fromClient, ep, len, false, true),
    );
    ep.payloadBytes += seqDiff(before, ep.nextSeq);
  }

  /** Declares the hole before the first held segment lost and delivers what follows it. */
  private fillHole(conn: Connection<T>, fromClient: boolean, ep: Endpoint, refused = false): void {
    const missing = ep.reassembly.holeBefore(ep.nextSeq);
    // The segment held behind the hole proves its bytes sent (Endpoint.lostHoleProofTs).
    if (missing > 0) this.gap(conn, fromClient, ep, missing, true, false, refused, ep.reassembly.firstTs, ep.reassembly.firstFrame);
    this.drainHeld(conn, ep, fromClient);
    // A FIN held back for bytes before it (Endpoint.pendingEndSeq) that are now delivered or given up.
    if (ep.pendingEndSeq >= 0 && seqGe(ep.nextSeq, ep.pendingEndSeq)) this.endPendingStream(conn, ep, fromClient);
  }

  /**
   * `advance`: the missing bytes also move the expected sequence number (false when `deliver` already did).
   * `cut`: they are the part of a captured segment the snaplen cut off (see Endpoint.cutBytes).
   * `refused`: given up because the reassembly bound refused the segment behind them.
   * Otherwise the bytes start at ep.nextSeq, and only those the peer acknowledged are capture loss:
   * the rest the path lost (Endpoint.unackedBytes), or the bound did not wait for (refusedBytes).
   * `proofTs`, `proofFrame`: the packet that arrived past the bytes (a segment held behind them, the
   * FIN), which proves them sent: a hole the path lost is kept (Endpoint.noteLostHole). -1: none.
   */
  private gap(
    conn: Connection<T>, fromClient: boolean, ep: Endpoint, length: number, advance = true, cut = false, refused = false, proofTs = -1, proofFrame = 0,
  ): void {
    ep.gapBytes += length;
    if (cut) ep.cutBytes += length;
    else {
      const acked = this.ackedOf(ep, fromClient ? conn.server : conn.client, length);
      if (refused) ep.refusedBytes += length - acked;
      else ep.unackedBytes += length - acked;
      // Before lossFromTs moves: the data last delivered is the last before this hole.
      if (!refused && length > acked && proofTs >= 0) ep.noteLostHole(length - acked, ep.lastDataTs, proofTs, proofFrame);
      // Whoever lost them (a receiver that closed acknowledges nothing the capture dropped either),
      // the analysis did not see what was sent in that span.
      // Sent after the last data delivered before it (or the endpoint's first packet), seen missing by now.
      if (ep.lossFromTs < 0) ep.lossFromTs = ep.lastDataTs >= 0 ? ep.lastDataTs : ep.firstTs;
      ep.lossToTs = conn.lastTs;
      ep.lossEndTs = Infinity; // till the next data seen (Endpoint.noteData)
    }
    if (advance) ep.nextSeq = seqAdd(ep.nextSeq, length);
    recordHistory(conn, Letter.Gap, fromClient);
    this.observer.onGap(conn, fromClient, length, cut);
  }

  /**
   * Of `length` missing bytes from ep.nextSeq on, how many the peer acknowledged. A peer never seen
   * acknowledging (a one-way capture) cannot tell: all count, as the data after them shows them missing.
   */
  private ackedOf(ep: Endpoint, peer: Endpoint, length: number): number {
    if (!peer.hasAck || !ep.hasNextSeq) return length;
    const acked = seqDiff(ep.nextSeq, peer.highestAck);
    return acked <= 0 ? 0 : acked >= length ? length : acked;
  }

  /**
   * Bytes of `ep` its peer acknowledged but the capture never showed, at the end of a connection:
   * lost at the capture point (a kernel or tap drop), not on the network, since the peer had them.
   * They become a gap, so that the HTTP stage does not read a response lost from the capture as no
   * response at all (Zeek counts the same bytes as missed). Judged only at the end, when every
   * segment the capture holds has arrived (an ACK may be captured before the data it covers).
   * The acknowledgement may also cover a FIN the capture missed, so one sequence number is left
   * for it: the gap is a lower bound, and an ACK one past the last byte seen is no gap at all.
   */
  private gapForUnseenAcked(conn: Connection<T>, fromClient: boolean, ep: Endpoint, peer: Endpoint): void {
    // Every field is read and compared on every call, not behind a test that short-circuits: the
    // first connections released all ended with a FIN, so the reads behind it had no type feedback
    // when V8 compiled `release`, and the first connection released without one threw the code away.
    const unseen = seqDiff(ep.nextSeq, peer.highestAck) - 1;
    const finished = ep.finTs >= 0;
    const reset = ep.rstTs >= 0;
    const missing = unseen > 0;
    const finAcked = unseen === 0; // one past the last byte: the number a FIN takes
    if (ep.hasNextSeq && peer.hasAck && !finished && finAcked) this.finAckedUnseen(conn, fromClient, ep, peer, reset);
    if (ep.hasNextSeq && peer.hasAck && !finished && !reset && missing) this.gap(conn, fromClient, ep, unseen);
  }

  /**
   * The peer acknowledged the sequence number one past `ep`'s last byte, and no FIN of `ep`'s was
   * seen: the capture missed it (Endpoint.finUnseen). It was sent by the first segment of the peer's
   * that acknowledged it, and after `ep`'s last data: timed there (Endpoint.finUnseenTs). Without a
   * reset, nothing ended the direction: the consumers hear of its end at that moment, so that a
   * response its close delimits completes, and one cut short ends at the close that cut it, as
   * when the FIN is seen (the HTTP session otherwise held them open to the connection's end).
   */
  private finAckedUnseen(conn: Connection<T>, fromClient: boolean, ep: Endpoint, peer: Endpoint, reset: boolean): void {
    ep.finUnseen = true;
    ep.finLostByCapture = true;
    let ts = peer.highestAckTs;
    let frame = peer.highestAckFrame;
    // An ACK stamped before the data it follows (merged interfaces reorder): the FIN came after that data.
    if (ep.lastDataTs > ts) {
      ts = ep.lastDataTs;
      frame = ep.lastDataFrame;
    }
    if (ep.finUnseenTs < 0 || ts < ep.finUnseenTs) {
      ep.finUnseenTs = ts;
      ep.finUnseenFrame = frame;
    }
    if (!reset) this.observer.onEndOfStream(conn, fromClient, ts, frame);
  }

  private onFin(conn: Connection<T>, ep: Endpoint, fromClient: boolean, v: PacketView, ts: number, frame: number): void {
    const finSeq = seqAdd(v.seq, v.payloadLen);
    ep.finCount++;
    if (ep.finTs >= 0) return; // a retransmitted FIN is not a second close
    ep.finTs = ts;
    ep.finFrame = frame;
    if (ep.rstTs < 0) {
      const peer = fromClient ? conn.server : conn.client;
      ep.peerDataBeforeCloseTs = peer.lastDataTs;
      ep.peerDataBeforeCloseFrame = peer.lastDataFrame;
      if (peer.hasNextSeq) ep.peerSeqEndBeforeClose = peer.maxSeqEnd;
    }
    ep.finSeq = finSeq;
    ep.finHasAck = (v.flags & Flag.ACK) !== 0;
    ep.finAck = v.ack;
    recordHistory(conn, Letter.Fin, fromClient);
    if (ep.state !== State.Reset) ep.state = State.Closed;
    if (ep.rstTs < 0 && ep.hasNextSeq && seqGt(finSeq, ep.nextSeq)) {
      // Bytes before the FIN have not arrived: it may have overtaken them (Endpoint.pendingEndSeq).
      ep.pendingEndSeq = finSeq;
      ep.pendingEndTs = ts;
      ep.pendingEndFrame = frame;
      return;
    }
    this.endStream(conn, ep, fromClient, finSeq, ts, frame);
    if (seqGe(ep.nextSeq, finSeq)) ep.nextSeq = seqAdd(finSeq, 1);
  }

  /** A repeated acknowledgement of only the peer's SYN while the peer's data is out (Endpoint.synOnlyDupAcks). */
  private noteDupAck(ep: Endpoint, peer: Endpoint, ack: number): void {
    if (peer.payloadBytes > 0 && peer.hasIsn && ack === seqAdd(peer.isn, 1)) ep.synOnlyDupAcks++;
  }

  /** Ends a direction whose FIN came before bytes it follows (see Endpoint.pendingEndSeq): whatever is still missing is a gap. */
  private endPendingStream(conn: Connection<T>, ep: Endpoint, fromClient: boolean): void {
    const finSeq = ep.pendingEndSeq;
    ep.pendingEndSeq = -1;
    this.endStream(conn, ep, fromClient, finSeq, ep.pendingEndTs, ep.pendingEndFrame);
    if (seqGe(ep.nextSeq, finSeq)) ep.nextSeq = seqAdd(finSeq, 1);
  }

  private onRst(conn: Connection<T>, ep: Endpoint, fromClient: boolean, v: PacketView, ts: number, frame: number): void {
    ep.rstCount++;
    if (ep.pendingEndSeq >= 0) this.endPendingStream(conn, ep, fromClient);
    // Any RST one past the data sent, and no FIN seen: the FIN took that sequence number (a socket
    // resets first at its FIN's number while the FIN is unacknowledged, then one past it).
    if (ep.finTs < 0 && ep.hasNextSeq && v.seq === seqAdd(ep.nextSeq, 1) && !ep.finUnseen) {
      ep.finUnseen = true;
      // Sent before this RST at the latest (an acknowledgement of it may time it earlier: finAckedUnseen).
      ep.finUnseenTs = ts;
      ep.finUnseenFrame = frame;
    }
    if (ep.rstTs >= 0) return;
    // Past the data seen and a FIN after it: bytes sent before this RST that the capture missed
    // (its peer acknowledged them, and a closed socket resets at the acknowledgement number).
    if (ep.hasNextSeq && !ep.holding && seqGt(v.seq, seqAdd(ep.nextSeq, 1))) {
      ep.unseenBeforeRst = true;
      ep.lossEndTs = Infinity;
    }
    ep.rstTs = ts;
    ep.rstFrame = frame;
    ep.rstTtl = v.ttl;
    const answered = fromClient ? conn.server : conn.client;
    ep.noteRstAfterProbes(frame, answered.packets - answered.captureCopies);
    ep.rstAnswersUncopied = answered.captureCopies > 0 && answered.lastTs > answered.lastCopiedTs;
    ep.rstHasAck = (v.flags & Flag.ACK) !== 0;
    ep.rstAck = v.ack;
    ep.rstSeq = v.seq;
    ep.rstWindow = v.window << ep.windowShift;
    recordHistory(conn, Letter.Rst, fromClient);
    const hadFin = ep.finTs >= 0;
    if (!hadFin) {
      // Its first close: what the peer last sent before it (see Endpoint.peerDataBeforeCloseTs).
      const peer = fromClient ? conn.server : conn.client;
      ep.peerDataBeforeCloseTs = peer.lastDataTs;
      ep.peerDataBeforeCloseFrame = peer.lastDataFrame;
      if (peer.hasNextSeq) ep.peerSeqEndBeforeClose = peer.maxSeqEnd;
    }
    ep.state = State.Reset;
    if (!hadFin) this.endStream(conn, ep, fromClient, ep.maxSeqEnd, ts, frame);
    // A RST without ACK after this side's FIN answers data of the peer's it never acknowledged (a
    // socket closed to receiving resets data, and answers a bare acknowledgement or a FIN with an
    // ACK). None seen (no data after the FIN, all before it acknowledged): the capture lost it,
    // sent between the FIN and this RST.
    const peer = fromClient ? conn.server : conn.client;
    const dataAfterFin = fromClient ? conn.serverDataAfterClientFin : conn.clientDataAfterServerFin;
    const peerDataAcked = peer.payloadBytes === 0 || (ep.hasAck && seqGe(ep.highestAck, peer.maxSeqEnd));
    if (hadFin && !ep.rstHasAck && dataAfterFin === null && peerDataAcked && peer.lossToTs < ts) {
      if (peer.lossFromTs < 0) peer.lossFromTs = ep.finTs;
      peer.lossToTs = ts;
      peer.lossEndTs = Infinity; // lost after the peer's last data: nothing of it seen after
    }
  }

  /** A direction ends: whatever is still held before its end is given up as a gap, then consumers hear of the end. */
  private endStream(conn: Connection<T>, ep: Endpoint, fromClient: boolean, endSeq: number, ts: number, frame: number): void {
    while (ep.holding) this.fillHole(conn, fromClient, ep);
    // Bytes before the FIN (or RST) that never came: it proves them sent.
    if (ep.hasNextSeq && seqGt(endSeq, ep.nextSeq)) this.gap(conn, fromClient, ep, seqDiff(ep.nextSeq, endSeq), true, false, false, ts, frame);
    this.observer.onEndOfStream(conn, fromClient, ts, frame);
  }

  private listFor(conn: Connection<T>): ConnectionList.Opening | ConnectionList.Active | ConnectionList.Closing {
    const c = conn.client;
    const s = conn.server;
    if (c.state === State.Reset || s.state === State.Reset) return List.Closing;
    if (c.finTs >= 0 && s.finTs >= 0) return List.Closing;
    if (c.payloadBytes === 0 && s.payloadBytes === 0 && c.finTs < 0 && s.finTs < 0 &&
        (c.state === State.SynSent || s.state === State.SynAckSent)) {
      return List.Opening;
    }
    return List.Active;
  }

  /**
   * Releases connections whose time is up on the capture clock. The first SWEEP_WARMUPS clock
   * advances after the first sweep call it too, and it returns at once: the first sweep runs at
   * the first packet, before V8 keeps type feedback for `segment` (it does from about the eighth
   * call), and the next one a second of capture time later, after `segment` was compiled. Compiled
   * with no feedback for the call, `segment` was thrown away at that second sweep and compiled
   * again. The warm-up calls give the call feedback; a sweep runs exactly when it would without them.
   */
  private sweep(): void {
    if (this.now < this.sweepDue) {
      if (--this.sweepWarmups <= 0) this.nextSweep = this.sweepDue;
      return;
    }
    this.sweepDue = this.now + SWEEP_INTERVAL;
    this.nextSweep = this.sweepWarmups > 0 ? -Infinity : this.sweepDue;
    this.expire(List.Closing, this.options.closedLinger, 'closed');
    this.expire(List.Opening, this.options.openingTimeout, 'idle');
    this.expire(List.Active, this.options.idleTimeout, 'idle', RELEASED_IDLE);
  }

  /** `cause`: the connections expired were live (not seen closing), remembered as let go (ReleasedTuples). */
  private expire(
    list: ConnectionList.Opening | ConnectionList.Active | ConnectionList.Closing, timeout: number, reason: ConnectionEndReason, cause: ReleaseCause = NOT_RELEASED,
  ): void {
    const limit = this.now - timeout;
    // Lists are in activity order, and lastClock never decreases along them: the walk stops at the first live one.
    for (let c = this.table.oldest(list); c !== null && c.lastClock < limit; c = this.table.oldest(list)) {
      if (cause !== NOT_RELEASED) {
        this.stats.idleExpired++;
        this.rememberReleased(c, cause);
      }
      this.release(c, reason);
    }
  }

  /** Remembers a connection let go while live, so that its packets coming back are known (ReleasedTuples). */
  private rememberReleased(conn: Connection<T>, cause: ReleaseCause): void {
    this.released.remember(conn.hash, conn.cPort, conn.sPort, conn.c0, conn.s0, cause);
  }

  private evictOne(): void {
    const victim =
      this.table.oldest(List.Closing) ??
      this.table.oldest(List.Opening) ??
      this.table.oldest(List.Active);
    if (victim) {
      this.stats.evicted++;
      // A closing one too: its last ACKs, a retransmitted FIN or a late RST may still come.
      this.rememberReleased(victim, RELEASED_AT_CAP);
      this.release(victim, victim.list === List.Closing ? 'closed' : 'evicted');
    }
  }

  /** A candidate NAT twin the server never confirmed: a connection of its own, as without the rule. */
  private abandonNatTwin(conn: Connection<T>): void {
    this.natTwins.abandon(conn, conn.client.isn);
    this.decideNatTwin(conn, false);
  }

  private decideNatTwin(conn: Connection<T>, twin: boolean): void {
    conn.natTwinPending = false;
    if (twin) this.stats.natTwins++;
    else conn.natTwinOf = null;
    this.observer.onNatTwinDecided?.(conn, twin);
  }

  private release(conn: Connection<T>, reason: ConnectionEndReason): void {
    if (conn.natTwinPending) this.abandonNatTwin(conn);
    this.table.remove(conn);
    // Deliver what was held behind a hole: the consumer should see every byte the capture had.
    while (conn.client.holding) this.fillHole(conn, true, conn.client);
    while (conn.server.holding) this.fillHole(conn, false, conn.server);
    if (conn.client.pendingEndSeq >= 0) this.endPendingStream(conn, conn.client, true);
    if (conn.server.pendingEndSeq >= 0) this.endPendingStream(conn, conn.server, false);
    this.gapForUnseenAcked(conn, true, conn.client, conn.server);
    this.gapForUnseenAcked(conn, false, conn.server, conn.client);
    conn.client.clearHeld();
    conn.server.clearHeld();
    for (const ep of [conn.client, conn.server]) {
      if (ep.openZeroWindow !== null) ep.openZeroWindow = null; // still zero at the end: endTs stays -1
    }
    conn.ended = true;
    conn.endReason = reason;
    this.observer.onClose(conn);
    if (this.options.reuseConnections && this.spare.length < SPARE_CONNECTIONS_KEPT) this.spare.push(conn);
  }
}
