import { hostOfEndpoint } from '../decode/address';
import type { ReleaseCause } from './released-tuples';
import type { PacketView } from '../decode/packet-view';
import { doubleSlots, Endpoint, ENDPOINT_SLOTS } from './endpoint';
import type { NatTwin } from './nat-twins';
import { unseenSide } from './unseen-side';
import { seqGe } from './seq';

/** A connection's identity fields, writable by reset() only. */
type Mutable<C> = { -readonly [K in keyof C]: C[K] };

/** The shared empty frame list every connection starts with (see appendEvent). */
const NO_FRAMES: number[] = [];
Object.freeze(NO_FRAMES);

/** Why a connection was released from the table. */
export type ConnectionEndReason =
  /** Both sides closed (FIN/RST) and the linger time passed. */
  | 'closed'
  /** No packet for the idle timeout (capture clock). */
  | 'idle'
  /** A SYN with a new ISN reused its 4-tuple. */
  | 'superseded'
  /** The connection cap was reached and this was the oldest. */
  | 'evicted'
  /** The capture ended with the connection still in the table. */
  | 'capture-end';

/** First payload an endpoint sent after its peer's FIN was seen — the keep-alive race's key packet. */
export interface DataAfterPeerFin {
  ts: number;
  frame: number;
  /** The segment's ACK covers the peer's FIN: the sender's kernel had already received it (stale reuse). */
  acksFin: boolean;
  length: number;
  /**
   * The segment's first payload byte, -1 when the capture cut it off. On TLS it is the record's
   * content type (21: an alert such as close_notify, which answers a close and is no request).
   */
  firstByte: number;
}

/** Which list of the flow table a connection sits in (each ordered by last activity). */
export const enum ConnectionList {
  None = 0,
  /** Only handshake packets so far (SYN without answer, or SYN/SYN-ACK). */
  Opening = 1,
  /** Carrying traffic or idle. */
  Active = 2,
  /** Both sides closed or one reset: kept a while for late packets and port reuse. */
  Closing = 3,
}

/**
 * A TCP connection: two endpoints, the client being the side that sent the SYN
 * (or, mid-stream, the side inferred to be the client). `T` is what the analysis
 * attaches to it (the HTTP session); the flow stage never looks inside.
 */
/**
 * Slots of the connection's own times in its array of doubles; the two endpoints' numbers follow.
 * A frozen object rather than an enum, for the reason endpoint.ts gives for its own slots.
 */
const Slot = Object.freeze({
  StartTs: 0,
  LastTs: 1,
  LastClock: 2,
  HandshakeAckTs: 3,
} as const);
const CONNECTION_SLOTS = 4;

export class Connection<T> {
  // Field order is memory order: what every packet touches (the flow table's lookup, the
  // endpoints, the activity list) comes first, in the object's first cache lines.
  readonly hash: number = 0;
  readonly ipVersion: 4 | 6 = 4;
  /** Client address words and port (used to tell directions apart). */
  c0 = 0; c1 = 0; c2 = 0; c3 = 0; cPort = 0;
  s0 = 0; s1 = 0; s2 = 0; s3 = 0; sPort = 0;
  // Intrusive links: hash bucket chain and the table's activity list.
  bucketNext: Connection<T> | null = null;
  /**
   * The connection's and both endpoints' times and sequence numbers, together in one block
   * (see Endpoint: V8 would box each such field separately, scattered through memory).
   */
  private readonly f = doubleSlots(CONNECTION_SLOTS + 2 * ENDPOINT_SLOTS);
  client = new Endpoint(this.f, CONNECTION_SLOTS);
  server = new Endpoint(this.f, CONNECTION_SLOTS + ENDPOINT_SLOTS);
  listPrev: Connection<T> | null = null;
  listNext: Connection<T> | null = null;
  list: ConnectionList = ConnectionList.None;
  lastFrame = 0;
  /** Zeek-style history string (upper case: client, lower case: server). */
  history = '';
  /** Letters already recorded, as bits (client bits 0-15, server bits 16-31). */
  historySeen = 0;
  app: T | null = null;

  readonly id: number = 0;
  clientName = '';
  serverName = '';
  /** Host parts of the names, made at first use (many detectors ask for them). */
  private clientHostText: string | null = null;
  private serverHostText: string | null = null;
  directionInferred = false;
  /**
   * Seen mid-stream on the 4-tuple of a live connection the analysis had let go (released at the
   * connection cap, or expired as idle: see ReleasedTuples): 1 or 2, the ReleaseCause; 0 for any
   * other connection. Its packets continue that connection, whose beginning this one does not
   * hold: the analysis does not judge it (its requests would read as unanswered, its close or
   * reset as a server's restart, its one direction as the capture's fault).
   */
  resumedAfterRelease: ReleaseCause = 0;

  /** The client's address without port ("10.0.0.1", "::1"). */
  get clientHost(): string {
    if (this.clientHostText === null) this.clientHostText = hostOfEndpoint(this.clientName);
    return this.clientHostText;
  }
  /** The server's address without port. */
  get serverHost(): string {
    if (this.serverHostText === null) this.serverHostText = hostOfEndpoint(this.serverName);
    return this.serverHostText;
  }

  get startTs(): number { return this.f[Slot.StartTs]; }
  set startTs(v: number) { this.f[Slot.StartTs] = v; }
  get lastTs(): number { return this.f[Slot.LastTs]; }
  set lastTs(v: number) { this.f[Slot.LastTs] = v; }
  /**
   * The capture clock (latest timestamp seen on any connection) at this connection's last packet.
   * Expiry measures idleness with it rather than `lastTs`, so a connection whose packets are
   * stamped far behind the clock (a host with a skewed clock, merged into one capture) is not
   * timed out by another host's clock while it is still sending.
   */
  get lastClock(): number { return this.f[Slot.LastClock]; }
  set lastClock(v: number) { this.f[Slot.LastClock] = v; }
  firstFrame = 0;

  /** A packet at `ts`, when the capture clock read `clock`: what every packet updates on its connection. */
  noteActivity(ts: number, clock: number, frame: number): void {
    const f = this.f;
    if (ts > f[Slot.LastTs]) f[Slot.LastTs] = ts;
    f[Slot.LastClock] = clock;
    this.lastFrame = frame;
  }

  /** Counters for the letters Zeek repeats at 1, 10, 100... occurrences (retransmission, zero window, gap). */
  historyRepeats: number[] | null = null;

  clientDataAfterServerFin: DataAfterPeerFin | null = null;
  serverDataAfterClientFin: DataAfterPeerFin | null = null;
  /** The first data after the peer's RST when the peer sent no FIN (`acksFin` false). */
  clientDataAfterServerReset: DataAfterPeerFin | null = null;
  serverDataAfterClientReset: DataAfterPeerFin | null = null;
  /** SYN-ACKs the server repeated after the client had acknowledged one (accept queue full). */
  synAckRepeatsAfterAck = 0;
  synAckRepeatFrames: number[] = NO_FRAMES;
  /** When the client's ACK completed the handshake (capture time), -1 if not seen. */
  get handshakeAckTs(): number { return this.f[Slot.HandshakeAckTs]; }
  set handshakeAckTs(v: number) { this.f[Slot.HandshakeAckTs] = v; }
  /** The connection that had this 4-tuple before, when a SYN reused it while still in the table. */
  previous: { id: number; lastTs: number; closed: boolean } | null = null;
  /**
   * The connection this one is, seen again after address translation (nat-twins.ts): set before
   * the observers hear of it, which analyze only the first view. Null for most connections.
   */
  natTwinOf: NatTwin | null = null;
  /**
   * A view whose SYN had no timestamp option, waiting for the server's SYN-ACKs to say whether
   * it is `natTwinOf`'s connection (nat-twins.ts): not analyzed meanwhile; the tracker decides
   * before its first payload, FIN or RST, and at its release at the latest.
   */
  natTwinPending = false;
  /**
   * The protocol on it announced that the server closes after its last message (HTTP: a response
   * with Connection: close, or HTTP/1.0 without keep-alive). Set by analyze.ts as the exchange is
   * decided: the server sends nothing after that but its FIN, so the tracker can tell a 4-tuple's
   * next connection whose handshake the capture lost even when that FIN is lost too (reusedUnseen).
   */
  serverCloseAnnounced = false;
  /**
   * The frame of the server's first packet when it answered the client's SYN with a bare ACK that
   * does not acknowledge it (not ISN + 1), before any SYN-ACK; 0 otherwise. The server still held
   * another connection on the 4-tuple (its TIME_WAIT, or one the client had forgotten) and answered
   * with that connection's numbers (RFC 793; RFC 5961's challenge ACK): the SYN was answered, not
   * dropped. Its acknowledgement number is `server.firstAck`, its time `server.firstTs`.
   */
  foreignAckFrame = 0;

  ended = false;
  endReason: ConnectionEndReason | null = null;

  /** A connection from its first packet `v`; `srcIsClient` says which side of it is the client. */
  constructor(
    id: number,
    hash: number,
    v: PacketView,
    srcIsClient: boolean,
    clientName: string,
    serverName: string,
    directionInferred: boolean,
    ts: number,
    frame: number,
  ) {
    // One place sets what a connection starts with, for a new object and a reused one alike.
    this.reset(id, hash, v, srcIsClient, clientName, serverName, directionInferred, ts, frame);
  }

  /**
   * Makes this object a new connection, as the constructor with the same arguments would (the
   * flow stage reuses released connections: a connection's objects outlived many young-generation
   * collections, and allocating them anew for every connection made the garbage collector copy
   * them twice each). The constructor runs it too. Every field is set again;
   * test/flow/connection-reuse.test.ts compares a reused connection with a new one field by field.
   */
  reset(
    id: number,
    hash: number,
    v: PacketView,
    srcIsClient: boolean,
    clientName: string,
    serverName: string,
    directionInferred: boolean,
    ts: number,
    frame: number,
  ): this {
    const self = this as Mutable<Connection<T>>;
    self.hash = hash;
    self.ipVersion = v.ipVersion;
    this.placeEndpoints(v, srcIsClient);
    this.bucketNext = null;
    // Endpoints swapped by swapRoles go back to their own slots, as a new connection has them.
    if (this.client.base !== CONNECTION_SLOTS) [this.client, this.server] = [this.server, this.client];
    this.client.reset();
    this.server.reset();
    this.listPrev = null;
    this.listNext = null;
    this.list = ConnectionList.None;
    this.lastFrame = frame;
    this.history = '';
    this.historySeen = 0;
    this.app = null;
    self.id = id;
    this.clientName = clientName;
    this.serverName = serverName;
    this.clientHostText = null;
    this.serverHostText = null;
    this.directionInferred = directionInferred;
    this.resumedAfterRelease = 0;
    this.startTs = ts;
    this.lastTs = ts;
    this.lastClock = ts;
    this.firstFrame = frame;
    this.historyRepeats = null;
    this.clientDataAfterServerFin = null;
    this.serverDataAfterClientFin = null;
    this.clientDataAfterServerReset = null;
    this.serverDataAfterClientReset = null;
    this.synAckRepeatsAfterAck = 0;
    this.synAckRepeatFrames = NO_FRAMES;
    this.handshakeAckTs = -1;
    this.previous = null;
    this.natTwinOf = null;
    this.natTwinPending = false;
    this.serverCloseAnnounced = false;
    this.foreignAckFrame = 0;
    this.ended = false;
    this.endReason = null;
    return this;
  }

  private placeEndpoints(v: PacketView, srcIsClient: boolean): void {
    if (srcIsClient) {
      this.c0 = v.src0; this.c1 = v.src1; this.c2 = v.src2; this.c3 = v.src3; this.cPort = v.srcPort;
      this.s0 = v.dst0; this.s1 = v.dst1; this.s2 = v.dst2; this.s3 = v.dst3; this.sPort = v.dstPort;
    } else {
      this.c0 = v.dst0; this.c1 = v.dst1; this.c2 = v.dst2; this.c3 = v.dst3; this.cPort = v.dstPort;
      this.s0 = v.src0; this.s1 = v.src1; this.s2 = v.src2; this.s3 = v.src3; this.sPort = v.srcPort;
    }
  }

  /**
   * Exchanges the client and server roles (a mid-stream guess turned out wrong, e.g. the
   * "server" sent an HTTP request line). History letters are re-cased to match.
   */
  /**
   * Client bytes the server has acknowledged beyond those the capture delivered so far (see
   * Endpoint.peerBytesAckedUnseen; HttpSession's AcknowledgementSource). After swapRoles too.
   */
  clientBytesAckedUnseen(): number {
    return this.server.peerBytesAckedUnseen(this.client);
  }

  /**
   * Which side the capture holds no packet of though the other acknowledged it (a capture of one
   * direction: see unseen-side.ts), or null. Final only once the connection is released.
   */
  unseenSide(): 'client' | 'server' | null {
    return unseenSide(this.client, this.server);
  }

  /** The server side is unseen (HttpSession's AcknowledgementSource: its requests' answers cannot show). */
  serverUnseen(): boolean {
    return unseenSide(this.client, this.server) === 'server';
  }

  /**
   * The client, having closed, did not take the server's later bytes (HttpSession's
   * AcknowledgementSource): it closed with a RST (no FIN seen), or reset after its FIN without
   * having acknowledged all of the server's data (a socket closed to receiving answers data with a
   * RST; a half-closed client that still reads acknowledges it). A RST's own acknowledgement is no
   * delivery to the application (a socket closed with unread data sends one), so it is not counted.
   */
  clientRefusedDataAfterClose(): boolean {
    const c = this.client;
    const s = this.server;
    if (c.rstTs < 0) return false;
    if (c.finTs < 0) return true;
    return !(c.hasAck && s.hasNextSeq && seqGe(c.highestAck, s.maxSeqEnd));
  }

  swapRoles(): void {
    [this.c0, this.s0] = [this.s0, this.c0];
    [this.c1, this.s1] = [this.s1, this.c1];
    [this.c2, this.s2] = [this.s2, this.c2];
    [this.c3, this.s3] = [this.s3, this.c3];
    [this.cPort, this.sPort] = [this.sPort, this.cPort];
    [this.client, this.server] = [this.server, this.client];
    [this.clientName, this.serverName] = [this.serverName, this.clientName];
    [this.clientHostText, this.serverHostText] = [this.serverHostText, this.clientHostText];
    [this.clientDataAfterServerFin, this.serverDataAfterClientFin] = [this.serverDataAfterClientFin, this.clientDataAfterServerFin];
    [this.clientDataAfterServerReset, this.serverDataAfterClientReset] = [this.serverDataAfterClientReset, this.clientDataAfterServerReset];
    this.historySeen = ((this.historySeen & 0xffff) << 16) | (this.historySeen >>> 16);
    let swapped = '';
    for (const ch of this.history) swapped += ch === ch.toUpperCase() ? ch.toLowerCase() : ch.toUpperCase();
    this.history = swapped;
    this.directionInferred = true;
  }
}
