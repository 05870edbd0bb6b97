import { EndpointState } from './endpoint-state';
import { Reassembler } from './reassembly';
import { seqDiff } from './seq';

/** A stretch of time during which an endpoint advertised a zero receive window. */
export interface ZeroWindowEpisode {
  startTs: number;
  startFrame: number;
  /** -1 while still open. */
  endTs: number;
  endFrame: number;
  /** Zero-window probes the peer sent during the episode. */
  probes: number;
  /**
   * The peer's last data segment before the window closed (-1: none): about when a sender that
   * could not write any more last wrote (its buffer may have filled before the window closed).
   */
  peerDataTs: number;
}

/**
 * An ICMP error (destination unreachable, time exceeded) that quoted a segment this endpoint sent:
 * a router, firewall or the peer's host telling it the segment went no further. The first, with
 * the count and the last one's time.
 */
export interface IcmpErrorNote {
  ts: number;
  frame: number;
  /** ICMPv6 (type 1 unreachable, 3 time exceeded) rather than ICMP (3, 11). */
  v6: boolean;
  type: number;
  code: number;
  /** The address that sent the error (the outer IP source). */
  from: string;
  /** The quoted segment's sequence number, and whether it is this endpoint's ISN (the SYN was quoted). */
  quotedSeq: number;
  quotesIsn: boolean;
  /** Errors quoting this endpoint's segments in all, and the last one's time and frame. */
  count: number;
  lastTs: number;
  lastFrame: number;
}

/** Most SYN / SYN-ACK / zero-window events kept per endpoint (evidence, not statistics). */
export const MAX_EVENTS_KEPT = 8;

/**
 * The shared empty list every event list starts as: most connections see one SYN and no zero
 * window, so their lists are created at their first event (`appendEvent`), never empty.
 */
const NONE: never[] = [];
Object.freeze(NONE);

/** Appends to an event list that may still be the shared empty one; returns the list to keep. */
export function appendEvent<T>(list: T[], item: T): T[] {
  if (list.length === 0) return [item];
  list.push(item);
  return list;
}

/**
 * Slots of an endpoint's numbers that are not small integers: 32-bit sequence numbers (half of
 * them exceed V8's 31-bit small integers) and capture times. V8 keeps every such field of an
 * object in its own heap box; with thousands of live connections those boxes are scattered
 * through memory and each packet's update paid a cache miss per field. In one array of doubles
 * they sit together, next to the connection's own times (see Connection).
 *
 * A frozen object, not an enum: with `isolatedModules` TypeScript emits even a `const enum` as a
 * mutable object whose members are read at run time on every use (a load and a map check per
 * access, on every packet); V8 folds a frozen constant's members into the compiled code.
 */
const Slot = Object.freeze({
  Isn: 0,
  NextSeq: 1,
  MaxSeqEnd: 2,
  FinSeq: 3,
  FinAck: 4,
  HighestAck: 5,
  FirstTs: 6,
  LastTs: 7,
  FinTs: 8,
  RstTs: 9,
  FirstDataTs: 10,
  LastDataTs: 11,
  RstAck: 12,
  PeerDataBeforeCloseTs: 13,
  PrevDataTs: 14,
  PendingEndSeq: 15,
  PendingEndTs: 16,
  SynAckTsEcr: 17,
  // Small integers too, kept here all the same: every field added to the object itself cost the
  // packet path (measured: three such fields, never written on it, +1.5 % of the core's instructions).
  PendingEndFrame: 18,
  FirstSynTsVal: 19,
  LastSynTsVal: 20,
  SynOnlyDupAcks: 21,
  LastRetransmissionTs: 22,
  // Segment sizes and the one segment sent again and again (see noteSegmentSize, noteRetransmission,
  // noteAheadSeq): what tells a path that drops large segments (path-loss.ts's blackHoleOf).
  MaxSegment: 23,
  MaxSegmentSeq: 24,
  PrevMaxSegment: 25,
  PrevMaxSegmentEnd: 26,
  RunSeq: 27,
  RunLen: 28,
  RunCount: 29,
  RunFirstTs: 30,
  RunLastTs: 31,
  RunFirstFrame: 32,
  RunLastFrame: 33,
  AheadSeq: 34,
  AheadTs: 35,
  AheadFrame: 36,
  PeerSeqEndBeforeClose: 37,
  // The acknowledgement of this endpoint's first ACK: one seen mid-stream acknowledges bytes sent
  // before the capture began, so only one that moved on says its peer sent during it (unseen-side.ts).
  FirstAck: 38,
  // The largest hole of this endpoint's given up with bytes its peer never acknowledged, and the
  // packet past it that proved them sent (see noteLostHole): path-loss.ts's blackHoleOf.
  LostHoleBytes: 39,
  LostHoleFromTs: 40,
  LostHoleProofTs: 41,
  LostHoleProofFrame: 42,
  // The sequence number of this endpoint's first RST: 0 with ACK answers a SYN (unseen-side.ts).
  RstSeq: 43,
  // This endpoint's current run of TCP keep-alive probes, none of which its peer answered (see
  // noteKeepAliveProbe), and the run it reset the connection after (keepAliveGaveUp).
  KaCount: 44,
  KaFirstTs: 45,
  KaFirstFrame: 46,
  KaLastTs: 47,
  KaLastFrame: 48,
  KaOwnPackets: 49,
  KaPeerPackets: 50,
  KaIdle: 51,
  KaResetProbes: 52,
  KaResetFrame: 53,
  // When this endpoint's highestAck last moved forward: the first segment that carried it. An ACK
  // one past the peer's last byte proves the peer's FIN (finUnseen), and this is when it did.
  HighestAckTs: 54,
  HighestAckFrame: 55,
  // A FIN of this endpoint's the capture missed (finUnseen): when it was proven (see finUnseenTs),
  // and whether its peer's acknowledgement proved it (1) or only its own RST's number (0).
  FinUnseenTs: 56,
  FinUnseenFrame: 57,
  FinUnseenAcked: 58,
} as const);

/** Numbers per endpoint in the shared array. */
export const ENDPOINT_SLOTS = 59;

/** Retransmissions of one segment after which a run of them is kept (an RTO backoff), not replaced by another segment's. */
const RUN_KEPT = 3;

/** Packed doubles to slice slot arrays from (see doubleSlots); pushed one by one, so packed. */
const DOUBLES: number[] = [];
for (let i = 0; i < 128; i++) DOUBLES.push(0.5);

/**
 * An array of `length` doubles, V8's packed-double kind: its elements are stored unboxed and
 * contiguous on the heap, like a Float64Array's, but without a Float64Array's off-heap backing
 * store (malloc'd and freed by the GC for each connection past 64 bytes). Only numbers are ever
 * written to it, so it keeps that kind.
 */
export function doubleSlots(length: number): number[] {
  // A slice of a packed array of doubles: packed as well, and exactly `length` long. (An array
  // made by `new Array(length)` is holey, and each read of a holey double array tests the element
  // for the hole: two more instructions per time or sequence number read on every packet.)
  if (length > DOUBLES.length) return new Array<number>(length).fill(0.5).fill(0);
  return DOUBLES.slice(0, length).fill(0);
}

/** Writes an endpoint's initial numbers (times unseen: -1) at `base`. */
function initSlots(f: number[], base: number): void {
  f[base + Slot.FirstTs] = -1;
  f[base + Slot.LastTs] = -1;
  f[base + Slot.FinTs] = -1;
  f[base + Slot.RstTs] = -1;
  f[base + Slot.FirstDataTs] = -1;
  f[base + Slot.LastDataTs] = -1;
  f[base + Slot.PeerDataBeforeCloseTs] = -1;
  f[base + Slot.PrevDataTs] = -1;
  f[base + Slot.PendingEndSeq] = -1;
  f[base + Slot.PendingEndTs] = -1;
  f[base + Slot.SynAckTsEcr] = -1;
  f[base + Slot.FirstSynTsVal] = -1;
  f[base + Slot.LastSynTsVal] = -1;
  f[base + Slot.LastRetransmissionTs] = -1;
  f[base + Slot.RunFirstTs] = -1;
  f[base + Slot.RunLastTs] = -1;
  f[base + Slot.AheadTs] = -1;
  f[base + Slot.PeerSeqEndBeforeClose] = -1;
  f[base + Slot.LostHoleFromTs] = -1;
  f[base + Slot.LostHoleProofTs] = -1;
  f[base + Slot.KaFirstTs] = -1;
  f[base + Slot.KaLastTs] = -1;
  f[base + Slot.KaIdle] = -1;
  f[base + Slot.HighestAckTs] = -1;
  f[base + Slot.FinUnseenTs] = -1;
}

/**
 * A run of TCP keep-alive probes an endpoint sent on an idle connection that its peer never
 * answered, after which the endpoint reset the connection (Endpoint.keepAliveGaveUp).
 */
export interface KeepAliveGaveUp {
  probes: number;
  firstTs: number;
  firstFrame: number;
  lastTs: number;
  lastFrame: number;
  /** Seconds from the peer's last packet to the first probe (the peer was seen: see noteRstAfterProbes). */
  idle: number;
  resetTs: number;
  resetFrame: number;
}

/**
 * One side of a TCP connection: what it sent, its sequence space, and the moments
 * that diagnoses need (SYNs, FIN, RST, first/last data, zero windows).
 * Times are capture-clock epoch seconds, -1 when the event was not seen.
 */
export class Endpoint {
  /** The numbers of the Slot enum live in `f` from `base` on (shared with the connection). */
  private readonly f: number[];
  readonly base: number;

  constructor(f: number[] = doubleSlots(ENDPOINT_SLOTS), base = 0) {
    this.f = f;
    this.base = base;
    initSlots(f, base);
  }

  // Field order is memory order: what every packet touches comes first (first cache lines).
  state: EndpointState = EndpointState.Inactive;
  packets = 0;
  /** Bytes on the wire (original lengths). */
  wireBytes = 0;
  /** Distinct payload bytes delivered in order (retransmissions not counted twice). */
  payloadBytes = 0;
  /** Whether nextSeq is known (from the SYN, or the first segment seen mid-stream). */
  hasNextSeq = false;
  /** Whether highestAck is known: this endpoint sent an ACK. */
  hasAck = false;
  /** Shift in force (both SYNs carried the option), else 0. */
  windowShift = 0;
  /** Last advertised receive window in bytes (scaled). */
  window = 0;
  /** The open episode, if the last advertisement was a zero window. */
  openZeroWindow: ZeroWindowEpisode | null = null;
  /**
   * Out-of-order segments held for this direction, created at the first one: most connections
   * never need it, and checking a flag here costs no cache miss on every packet's ACK.
   */
  private heldSegments: Reassembler | null = null;
  firstDataFrame = 0;
  /** Payload bytes of the first data segment (the request a full accept queue drops until it accepts). */
  firstDataBytes = 0;
  lastDataFrame = 0;
  /** The frame of the data segment before the last one (see prevDataTs). */
  prevDataFrame = 0;

  /** Initial sequence number, from this endpoint's SYN. */
  hasIsn = false;
  get isn(): number { return this.f[this.base + Slot.Isn]; }
  set isn(v: number) { this.f[this.base + Slot.Isn] = v; }
  /** Next sequence number expected from this endpoint (one past the highest in-order byte). */
  get nextSeq(): number { return this.f[this.base + Slot.NextSeq]; }
  set nextSeq(v: number) { this.f[this.base + Slot.NextSeq] = v; }
  /** Highest sequence number this endpoint has sent (for out-of-order segments beyond nextSeq). */
  get maxSeqEnd(): number { return this.f[this.base + Slot.MaxSeqEnd]; }
  set maxSeqEnd(v: number) { this.f[this.base + Slot.MaxSeqEnd] = v; }

  retransmissions = 0;
  /** The first ICMP error quoting a segment of this endpoint (flow/tcp-tracker.ts icmpError), or null. */
  icmpError: IcmpErrorNote | null = null;
  /**
   * When this endpoint last resent data it had sent before (-1: never): a request the peer never
   * acknowledged was resent until then, and the sender's silence after it is its stack giving up
   * (unanswered-request's unreached requests). Written on the retransmission path only.
   */
  get lastRetransmissionTs(): number { return this.f[this.base + Slot.LastRetransmissionTs]; }
  set lastRetransmissionTs(v: number) { this.f[this.base + Slot.LastRetransmissionTs] = v; }
  /**
   * The largest payload this endpoint sent in one segment (retransmissions aside), the sequence
   * number of the first segment that large, and the largest before it with where that one ended.
   * Every segment before the first largest one was at most PrevMaxSegment long: a receiver that
   * never acknowledged the first largest segment had nothing larger than that from this side.
   */
  get maxSegment(): number { return this.f[this.base + Slot.MaxSegment]; }
  get maxSegmentSeq(): number { return this.f[this.base + Slot.MaxSegmentSeq]; }
  get prevMaxSegment(): number { return this.f[this.base + Slot.PrevMaxSegment]; }
  get prevMaxSegmentEnd(): number { return this.f[this.base + Slot.PrevMaxSegmentEnd]; }
  /**
   * The segment this endpoint sent again the most times in a row (RTO backoff resends the same
   * first unacknowledged segment, at doubling intervals): its sequence number, length, how many
   * times it was resent (0: never), the first and last resend. A run of RUN_KEPT resends is kept
   * even when other segments are resent later.
   */
  get runSeq(): number { return this.f[this.base + Slot.RunSeq]; }
  get runLen(): number { return this.f[this.base + Slot.RunLen]; }
  get runCount(): number { return this.f[this.base + Slot.RunCount]; }
  get runFirstTs(): number { return this.f[this.base + Slot.RunFirstTs]; }
  get runLastTs(): number { return this.f[this.base + Slot.RunLastTs]; }
  get runFirstFrame(): number { return this.f[this.base + Slot.RunFirstFrame]; }
  get runLastFrame(): number { return this.f[this.base + Slot.RunLastFrame]; }
  /**
   * The highest sequence number an empty segment of this endpoint carried beyond the bytes the
   * capture had from it (AheadTs -1: none), first seen at AheadTs in AheadFrame: bytes it had sent
   * that never came past the capture point (captured next to the receiver: never arrived).
   */
  get aheadSeq(): number { return this.f[this.base + Slot.AheadSeq]; }
  get aheadTs(): number { return this.f[this.base + Slot.AheadTs]; }
  get aheadFrame(): number { return this.f[this.base + Slot.AheadFrame]; }

  /** A new segment of `length` bytes at `seq` (not a retransmission): the largest sizes (see maxSegment). */
  noteSegmentSize(seq: number, length: number): void {
    const f = this.f;
    const b = this.base;
    if (length <= f[b + Slot.MaxSegment]) return;
    f[b + Slot.PrevMaxSegment] = f[b + Slot.MaxSegment];
    f[b + Slot.PrevMaxSegmentEnd] = (f[b + Slot.MaxSegmentSeq] + f[b + Slot.MaxSegment]) >>> 0;
    f[b + Slot.MaxSegment] = length;
    f[b + Slot.MaxSegmentSeq] = seq;
  }

  /** This endpoint resent `length` bytes at `seq` (retransmission path only): the run (see runSeq). */
  noteRetransmission(seq: number, length: number, ts: number, frame: number): void {
    const f = this.f;
    const b = this.base;
    const count = f[b + Slot.RunCount];
    if (count > 0 && f[b + Slot.RunSeq] === seq && f[b + Slot.RunLen] === length) {
      f[b + Slot.RunCount] = count + 1;
      f[b + Slot.RunLastTs] = ts;
      f[b + Slot.RunLastFrame] = frame;
      return;
    }
    if (count >= RUN_KEPT) return;
    f[b + Slot.RunSeq] = seq;
    f[b + Slot.RunLen] = length;
    f[b + Slot.RunCount] = 1;
    f[b + Slot.RunFirstTs] = ts;
    f[b + Slot.RunLastTs] = ts;
    f[b + Slot.RunFirstFrame] = frame;
    f[b + Slot.RunLastFrame] = frame;
  }

  /**
   * The largest hole in this endpoint's stream given up with bytes its peer never acknowledged
   * (LostHoleProofTs -1: none): `lostHoleBytes` of them, after its data last delivered at
   * `lostHoleFromTs` (-1: none before it), proved sent by the packet that arrived past them at
   * `lostHoleProofTs` in `lostHoleProofFrame` (a data segment held behind the hole, or the FIN).
   * Captured next to the receiver: bytes that never arrived and were never resent into the capture.
   * Unlike aheadSeq, it stays once the hole is given up and the stream moves past it.
   */
  get lostHoleBytes(): number { return this.f[this.base + Slot.LostHoleBytes]; }
  get lostHoleFromTs(): number { return this.f[this.base + Slot.LostHoleFromTs]; }
  get lostHoleProofTs(): number { return this.f[this.base + Slot.LostHoleProofTs]; }
  get lostHoleProofFrame(): number { return this.f[this.base + Slot.LostHoleProofFrame]; }

  /** A hole given up with `bytes` never acknowledged (gap path only, off the per-packet path): kept when the largest. */
  noteLostHole(bytes: number, fromTs: number, proofTs: number, proofFrame: number): void {
    const f = this.f;
    const b = this.base;
    if (f[b + Slot.LostHoleProofTs] >= 0 && bytes <= f[b + Slot.LostHoleBytes]) return;
    f[b + Slot.LostHoleBytes] = bytes;
    f[b + Slot.LostHoleFromTs] = fromTs;
    f[b + Slot.LostHoleProofTs] = proofTs;
    f[b + Slot.LostHoleProofFrame] = proofFrame;
  }

  /** An empty segment of this endpoint at `seq`, beyond the bytes the capture had from it (general path only). */
  noteAheadSeq(seq: number, ts: number, frame: number): void {
    const f = this.f;
    const b = this.base;
    if (f[b + Slot.AheadTs] < 0) {
      f[b + Slot.AheadTs] = ts;
      f[b + Slot.AheadFrame] = frame;
      f[b + Slot.AheadSeq] = seq;
    } else if (((seq - f[b + Slot.AheadSeq]) | 0) > 0) {
      f[b + Slot.AheadSeq] = seq;
    }
  }
  /**
   * Retransmitted data segments sent before the peer had acknowledged any of this side's data: a
   * listener whose accept queue is full drops a new connection's first data until it accepts it,
   * so the client resends its request until then (accept-queue-overflow reads it).
   */
  retransmissionsBeforePeerAck = 0;
  /** Packets the capture held twice (see capture-copies.ts): in `packets`, otherwise ignored. */
  captureCopies = 0;
  keepAliveProbes = 0;
  outOfOrder = 0;
  /**
   * Payload bytes given up as missing, whatever the cause: the capture lost them (the peer
   * acknowledged them), the path lost them (the peer never acknowledged them), the reassembly bound
   * refused the segment behind them, or the snaplen cut them (cutBytes).
   */
  gapBytes = 0;
  /**
   * Of gapBytes, the bytes of segments the capture did see but cut short (snaplen): their times,
   * sequence numbers and lengths are known, so no segment is missing — only its content. A capture
   * of load taken with a small snaplen cuts every response; that must not read as lost traffic.
   */
  cutBytes = 0;
  /**
   * Of gapBytes, bytes the peer (seen acknowledging) never acknowledged when they were given up at
   * the end of the stream: lost on the path, the receiver never had them either. Not capture loss,
   * and nothing the receiver did was missed by the analysis.
   */
  unackedBytes = 0;
  /**
   * Of gapBytes, holes given up because the reassembly bound refused a segment behind them, the
   * peer not having acknowledged them yet: the capture may well hold them (retransmitted later),
   * the analysis could not wait for them. Not capture loss, but unread.
   */
  refusedBytes = 0;

  /**
   * Payload bytes the receiver had (or may have had) that the analysis did not read: capture loss
   * and reassembly refusals; not what the snaplen only cut short, nor what the path lost.
   */
  get lostBytes(): number {
    return this.gapBytes - this.cutBytes - this.unackedBytes;
  }

  /** Of lostBytes, those the capture really lost: acknowledged by the receiver yet never seen. */
  get captureLostBytes(): number {
    return this.gapBytes - this.cutBytes - this.unackedBytes - this.refusedBytes;
  }

  /**
   * When bytes the capture lost were sent, at the most: from this endpoint's last data before the
   * first loss to the packet that showed the last one (-1, -1: none). The bytes counted in
   * lostBytes, and data a peer's RST answered that the capture never showed (TcpTracker.onRst). A
   * detector that says nothing happened meanwhile cannot say it across this span.
   */
  lossFromTs = -1;
  lossToTs = -1;
  /**
   * The first data of this endpoint's seen after the last bytes counted in lossToTs (-1: no loss;
   * Infinity: none seen since): every byte the capture lost lies before it in the stream, so what
   * the endpoint sent from it on is all in the capture (holesBefore). lossToTs may be later: a hole
   * shows only when the receiver's acknowledgement proves it, the segments after it held till then.
   */
  lossEndTs = -1;
  lossEndFrame = 0;

  /** Window scale shift this endpoint announced in its SYN, -1 when none. */
  windowShiftOffered = -1;
  mss = 0;

  zeroWindowEpisodes: ZeroWindowEpisode[] = NONE;
  zeroWindowCount = 0;

  synCount = 0;
  synTimes: number[] = NONE;
  /** The TCP timestamp values of this side's first SYN and of its last one before any SYN-ACK (-1: none). */
  get firstSynTsVal(): number { return this.f[this.base + Slot.FirstSynTsVal]; }
  set firstSynTsVal(v: number) { this.f[this.base + Slot.FirstSynTsVal] = v; }
  get lastSynTsVal(): number { return this.f[this.base + Slot.LastSynTsVal]; }
  set lastSynTsVal(v: number) { this.f[this.base + Slot.LastSynTsVal] = v; }
  /**
   * The timestamp echo of this side's first SYN-ACK (-1: none): the TSval of the SYN it answered. A
   * SYN-ACK answering an earlier SYN than the client's last proves that SYN arrived (the SYN-ACK was lost).
   */
  get synAckTsEcr(): number { return this.f[this.base + Slot.SynAckTsEcr]; }
  set synAckTsEcr(v: number) { this.f[this.base + Slot.SynAckTsEcr] = v; }
  synFrames: number[] = NONE;
  synAckCount = 0;
  synAckTimes: number[] = NONE;
  synAckFrames: number[] = NONE;

  get finTs(): number { return this.f[this.base + Slot.FinTs]; }
  set finTs(v: number) { this.f[this.base + Slot.FinTs] = v; }
  finFrame = 0;
  /**
   * When the peer last sent data before this endpoint's first close (its FIN, or its RST when no FIN
   * came first), and in which frame (-1, 0: it had sent none). The peer's last data overall may be a
   * request that crossed the close; the idle gap that ended in the close is measured from the data
   * before it (keepalive-race, on protocols it does not parse). A time, so in the slots (a double in
   * an object field is a boxed number).
   */
  get peerDataBeforeCloseTs(): number { return this.f[this.base + Slot.PeerDataBeforeCloseTs]; }
  set peerDataBeforeCloseTs(v: number) { this.f[this.base + Slot.PeerDataBeforeCloseTs] = v; }
  peerDataBeforeCloseFrame = 0;
  /**
   * One past the peer's highest byte sent before this endpoint's first close (-1: not closed, or
   * the peer's sequence unknown): with the close's acknowledgement number, how much of what the
   * peer had sent by then this endpoint had not received (bytes sent later are not counted).
   */
  get peerSeqEndBeforeClose(): number { return this.f[this.base + Slot.PeerSeqEndBeforeClose]; }
  set peerSeqEndBeforeClose(v: number) { this.f[this.base + Slot.PeerSeqEndBeforeClose] = v; }
  /** Sequence number the FIN occupies. */
  get finSeq(): number { return this.f[this.base + Slot.FinSeq]; }
  set finSeq(v: number) { this.f[this.base + Slot.FinSeq] = v; }
  /**
   * Acknowledgement number the FIN carried (when it had the ACK flag): how much of the peer's
   * data this endpoint had received when it closed. Peer bytes beyond it crossed the FIN.
   */
  finHasAck = false;
  get finAck(): number { return this.f[this.base + Slot.FinAck]; }
  set finAck(v: number) { this.f[this.base + Slot.FinAck] = v; }
  finCount = 0;

  get rstTs(): number { return this.f[this.base + Slot.RstTs]; }
  set rstTs(v: number) { this.f[this.base + Slot.RstTs] = v; }
  rstFrame = 0;
  rstCount = 0;
  /**
   * Acknowledgement number the first RST carried (when it had the ACK flag). It is not taken into
   * highestAck (a reset ends the stream, and a RST's ACK is no promise of delivery to the
   * application), but it tells how much of the peer's data this endpoint's socket had received
   * when it reset: Linux resets a socket closed with unread data (ACK = what it had received),
   * and answers a segment for a socket that is gone with a RST without the ACK flag.
   */
  rstHasAck = false;
  /**
   * The receive window (scaled) its first RST advertised, -1: none. Linux's close() with unread
   * data purges the receive queue before it sends the RST (tcp_close), so that RST advertises the
   * room the discarded bytes had taken: more than the endpoint's last segment before it offered
   * (`window`, which a RST does not update), when no read had freed it.
   */
  rstWindow = -1;
  /**
   * This endpoint sent a FIN the capture missed (dropped at the capture point, or lost before it):
   * none was seen, but a RST of its carried the sequence number one past its last byte, or its
   * peer acknowledged that number. Only a FIN takes it. Its RST then answered data that reached a
   * socket already closed, not a connection it was serving.
   */
  finUnseen = false;
  /**
   * When the FIN the capture missed (finUnseen) is known to have been sent, at the latest (-1:
   * none): the first peer segment that acknowledged it, else the RST that carried its number; never
   * before this endpoint's last data, which the FIN follows. Its frame is that segment's. Set when
   * the connection is released (TcpTracker.gapForUnseenAcked), or at the RST.
   */
  get finUnseenTs(): number { return this.f[this.base + Slot.FinUnseenTs]; }
  set finUnseenTs(v: number) { this.f[this.base + Slot.FinUnseenTs] = v; }
  get finUnseenFrame(): number { return this.f[this.base + Slot.FinUnseenFrame]; }
  set finUnseenFrame(v: number) { this.f[this.base + Slot.FinUnseenFrame] = v; }
  /**
   * The FIN the capture missed (finUnseen) was acknowledged by the peer: it crossed the capture
   * point, which did not keep it (capture loss, as acknowledged bytes never seen are). A FIN proven
   * only by the endpoint's own RST may have been lost on the path before the capture point.
   */
  get finLostByCapture(): boolean { return this.f[this.base + Slot.FinUnseenAcked] === 1; }
  set finLostByCapture(v: boolean) { this.f[this.base + Slot.FinUnseenAcked] = v ? 1 : 0; }
  /**
   * This endpoint's first RST carried a sequence number past its last byte seen and past a FIN
   * there (finUnseen): it had sent bytes the capture never showed, and nothing after them can
   * show that hole (Endpoint.lossEndTs is Infinity from then on). Not counted in gapBytes: how many
   * of them the peer had is unknown.
   */
  unseenBeforeRst = false;
  /**
   * A FIN that came before bytes it follows (-1: none): its sequence number, time and frame. On a
   * path that reorders, a FIN can overtake the last data sent before it (Node writes a
   * `Connection: close` response and its FIN 0.3 ms apart: healthy-lossy-path-client-side); the
   * stream ends once those bytes arrive, or when something says they will not (the peer's data,
   * a reset, the connection's end), and only then are the missing ones a gap.
   */
  get pendingEndSeq(): number { return this.f[this.base + Slot.PendingEndSeq]; }
  set pendingEndSeq(v: number) { this.f[this.base + Slot.PendingEndSeq] = v; }
  get pendingEndTs(): number { return this.f[this.base + Slot.PendingEndTs]; }
  set pendingEndTs(v: number) { this.f[this.base + Slot.PendingEndTs] = v; }
  get pendingEndFrame(): number { return this.f[this.base + Slot.PendingEndFrame]; }
  set pendingEndFrame(v: number) { this.f[this.base + Slot.PendingEndFrame] = v; }
  /**
   * ACKs this side sent that repeated its acknowledgement of the peer's SYN while the peer's first
   * data was out (duplicate ACKs: a data segment lost on the path, the rest arriving). A listener
   * whose accept queue is full drops a new connection's data without a word: none.
   */
  get synOnlyDupAcks(): number { return this.f[this.base + Slot.SynOnlyDupAcks]; }
  set synOnlyDupAcks(v: number) { this.f[this.base + Slot.SynOnlyDupAcks] = v; }
  /**
   * IP TTL (hop limit) of this endpoint's first packet in the capture and of its first RST, or -1.
   * A sender's packets all reach the capture point with one TTL; a RST with another was sent by
   * something else on the path, a NAT gateway, firewall or load balancer that forgot the connection
   * (PacketView.ttl). Kept at the handshake and the reset only: nothing per packet.
   */
  firstTtl = -1;
  rstTtl = -1;
  /** The TTL of its first data packet: a SYN proxy answers the handshake from another hop than the server's data (-1: no data). */
  firstDataTtl = -1;
  /**
   * The capture holds this endpoint's packets from two points on a routed path (client and server
   * captures merged, `tcpdump -i any` on a routing host): the IP TTL its packets have at the point
   * nearer it and at the farther one, each router between them taking one off (-1: no copy with
   * another TTL). The TTLs above are those of the first copy, the near point's; a packet seen at one
   * point only (a RST forged between the two points, seen at the far one) has to be compared with
   * the TTL of that point (path-reset.ts).
   */
  ttlNear = -1;
  ttlFar = -1;
  /** Its first RST was seen at a second point too (see ttlNear): it crossed the path between them. */
  rstCopied = false;
  /** When the latest of its packets that the capture holds twice was first seen (-1: none). */
  lastCopiedTs = -1;
  /**
   * When the earliest of them was first seen (-1: none): its packets before it were seen once. On a
   * host that forwards them (`tcpdump -i any` on a router) a packet seen once entered and never
   * left: the SYNs its firewall dropped (copied-paths.ts).
   */
  firstCopiedTs = -1;
  /**
   * When its first RST came, the peer's latest packet had no copy while others had: it never
   * reached the second capture point. A firewall that rejects a packet with a tcp reset drops it
   * and answers in the name of the host it was sent to; that host's own RST answers what reached it.
   */
  rstAnswersUncopied = false;

  /**
   * A copy of one of its packets (CaptureCopies.isCopy): `originalTtl` and `originalTs` are the
   * first copy's. Only copies come here, not every packet.
   */
  noteCopy(ttl: number, originalTtl: number, originalTs: number, rst: boolean): void {
    if (originalTs > this.lastCopiedTs) this.lastCopiedTs = originalTs;
    if (this.firstCopiedTs < 0 || originalTs < this.firstCopiedTs) this.firstCopiedTs = originalTs;
    if (ttl !== originalTtl && this.ttlFar < 0 && ttl >= 0 && originalTtl >= 0) {
      // Either order: copies from two capture clocks are not always in time order.
      this.ttlNear = ttl > originalTtl ? ttl : originalTtl;
      this.ttlFar = ttl > originalTtl ? originalTtl : ttl;
    }
    // Seen at the second point: its TTL there differs. A kernel's RSTs answering successive segments
    // are alike in every field, the TTL too, and pass for copies (CaptureCopies): one point saw them.
    if (rst && originalTs === this.rstTs && ttl !== originalTtl) this.rstCopied = true;
  }
  /**
   * A keep-alive probe this endpoint sent at `ts` (seq = next − 1, no new byte) while `peer` sent
   * `peerPackets` packets so far. A probe continues the run of unanswered ones only when neither
   * side sent anything else since the run's last probe: any packet of the peer answers the run (an
   * ACK of the probe, data, a FIN), and any other packet of this endpoint ends its idleness. The
   * idle time before the run is measured from the peer's last packet, as the kernel's keep-alive
   * timer does (tcp_keepalive_time runs from the last segment received). Once per probe: probes
   * are seconds apart, never the packet path's common case.
   */
  noteKeepAliveProbe(ts: number, frame: number, peerPackets: number, peerLastTs: number): void {
    const f = this.f;
    const b = this.base;
    const own = this.packets - this.captureCopies;
    if (f[b + Slot.KaCount] === 0 || own - 1 !== f[b + Slot.KaOwnPackets] || peerPackets !== f[b + Slot.KaPeerPackets]) {
      f[b + Slot.KaCount] = 0;
      f[b + Slot.KaFirstTs] = ts;
      f[b + Slot.KaFirstFrame] = frame;
      f[b + Slot.KaIdle] = peerLastTs >= 0 && peerLastTs <= ts ? ts - peerLastTs : -1;
    }
    f[b + Slot.KaCount]++;
    f[b + Slot.KaLastTs] = ts;
    f[b + Slot.KaLastFrame] = frame;
    f[b + Slot.KaOwnPackets] = own;
    f[b + Slot.KaPeerPackets] = peerPackets;
  }

  /**
   * This endpoint's first RST, in `frame`: when it came right after a run of its keep-alive probes
   * with nothing from either side in between, its kernel gave up on a peer that never answered them
   * (Linux resets when tcp_keepalive_probes go unanswered; the application gets ETIMEDOUT). Not
   * when the capture never showed the peer at all (one direction captured: its answers unseen).
   */
  noteRstAfterProbes(frame: number, peerPackets: number): void {
    const f = this.f;
    const b = this.base;
    const own = this.packets - this.captureCopies;
    if (f[b + Slot.KaCount] > 0 && f[b + Slot.KaIdle] >= 0 && own - 1 === f[b + Slot.KaOwnPackets] && peerPackets === f[b + Slot.KaPeerPackets]) {
      f[b + Slot.KaResetProbes] = f[b + Slot.KaCount];
      f[b + Slot.KaResetFrame] = frame;
    }
  }

  /** The unanswered keep-alive probes this endpoint reset the connection after, or null (see noteRstAfterProbes). */
  keepAliveGaveUp(): KeepAliveGaveUp | null {
    const f = this.f;
    const b = this.base;
    if (f[b + Slot.KaResetProbes] === 0) return null;
    return {
      probes: f[b + Slot.KaResetProbes],
      firstTs: f[b + Slot.KaFirstTs],
      firstFrame: f[b + Slot.KaFirstFrame],
      lastTs: f[b + Slot.KaLastTs],
      lastFrame: f[b + Slot.KaLastFrame],
      idle: f[b + Slot.KaIdle],
      resetTs: this.rstTs,
      resetFrame: f[b + Slot.KaResetFrame],
    };
  }

  /** Whether this endpoint reset the connection after unanswered keep-alive probes (see keepAliveGaveUp). */
  get keepAliveGaveUpReset(): boolean { return this.f[this.base + Slot.KaResetProbes] > 0; }

  get rstAck(): number { return this.f[this.base + Slot.RstAck]; }
  set rstAck(v: number) { this.f[this.base + Slot.RstAck] = v; }
  /**
   * Sequence number the first RST carried. A RST answering a segment without ACK (a SYN) has
   * sequence number 0 and the ACK flag (RFC 9293 3.5.2: a refusal); one of a synchronized
   * connection carries where its sender stood (the peer's acknowledgement, or its own next byte).
   */
  get rstSeq(): number { return this.f[this.base + Slot.RstSeq]; }
  set rstSeq(v: number) { this.f[this.base + Slot.RstSeq] = v; }

  get firstTs(): number { return this.f[this.base + Slot.FirstTs]; }
  set firstTs(v: number) { this.f[this.base + Slot.FirstTs] = v; }
  get lastTs(): number { return this.f[this.base + Slot.LastTs]; }
  set lastTs(v: number) { this.f[this.base + Slot.LastTs] = v; }
  get firstDataTs(): number { return this.f[this.base + Slot.FirstDataTs]; }
  set firstDataTs(v: number) { this.f[this.base + Slot.FirstDataTs] = v; }
  get lastDataTs(): number { return this.f[this.base + Slot.LastDataTs]; }
  set lastDataTs(v: number) { this.f[this.base + Slot.LastDataTs] = v; }
  /**
   * When this endpoint's data segment before its last one came (-1: none): on a protocol conncheck
   * does not parse, a notice a server sends as it closes (PostgreSQL's FATAL 57P05) and a request
   * that crossed it are each one segment, and the idle gap before them runs from the data before
   * (keepalive-race's plainArrivalClose).
   */
  get prevDataTs(): number { return this.f[this.base + Slot.PrevDataTs]; }

  /** A data segment was delivered at `ts` in `frame`: the last one becomes the previous one. */
  noteData(ts: number, frame: number): void {
    const f = this.f;
    const b = this.base;
    f[b + Slot.PrevDataTs] = f[b + Slot.LastDataTs];
    this.prevDataFrame = this.lastDataFrame;
    f[b + Slot.LastDataTs] = ts;
    this.lastDataFrame = frame;
    if (this.lossEndTs === Infinity) {
      this.lossEndTs = ts;
      this.lossEndFrame = frame;
    }
  }

  /** Highest acknowledgement number this endpoint sent (covers the peer's bytes up to it). */
  get highestAck(): number { return this.f[this.base + Slot.HighestAck]; }
  set highestAck(v: number) { this.f[this.base + Slot.HighestAck] = v; }
  /** The acknowledgement number of this endpoint's first ACK (meaningful once hasAck). */
  get firstAck(): number { return this.f[this.base + Slot.FirstAck]; }
  set firstAck(v: number) { this.f[this.base + Slot.FirstAck] = v; }
  /** When highestAck last moved forward, and the frame: the first segment that carried it (-1: no ACK yet). */
  get highestAckTs(): number { return this.f[this.base + Slot.HighestAckTs]; }
  get highestAckFrame(): number { return this.f[this.base + Slot.HighestAckFrame]; }
  /** A new highestAck, carried first by the segment at `ts` (frame `frame`). */
  advanceAck(ack: number, ts: number, frame: number): void {
    const f = this.f;
    const b = this.base;
    f[b + Slot.HighestAck] = ack;
    f[b + Slot.HighestAckTs] = ts;
    f[b + Slot.HighestAckFrame] = frame;
  }

  /**
   * Bytes of `peer` this endpoint has acknowledged beyond those the capture delivered so far (0:
   * none, or unknown). They were sent, since this endpoint had them: lost at the capture point, or
   * not captured yet (an ACK can be captured just before the data it covers).
   */
  peerBytesAckedUnseen(peer: Endpoint): number {
    if (this.hasAck !== true || peer.hasNextSeq !== true) return 0;
    const unseen = seqDiff(peer.nextSeq, this.highestAck);
    return unseen > 0 ? unseen : 0;
  }

  /**
   * What every segment changes on its sender first: count, bytes on the wire, first and last time.
   * One method over the array of numbers (see countPlainSegment), where the getters and setters
   * of the times were left as calls on the handshake path.
   */
  countSegment(ts: number, origLen: number): void {
    const f = this.f;
    const b = this.base;
    this.packets++;
    this.wireBytes += origLen;
    if (f[b + Slot.FirstTs] < 0) f[b + Slot.FirstTs] = ts;
    f[b + Slot.LastTs] = ts;
  }

  /**
   * What a plain segment (see TcpTracker.updateEstablished) changes on its sender: counts, time,
   * acknowledgement (kept when it moves forward) and window. One method reading the array of
   * numbers once, rather than a getter or setter call per field on every packet.
   */
  countPlainSegment(ack: number, window: number, ts: number, frame: number, origLen: number): void {
    const f = this.f;
    const b = this.base;
    this.packets++;
    this.wireBytes += origLen;
    f[b + Slot.LastTs] = ts;
    // Compared with true: a boolean field tested for truthiness costs a full test (about ten
    // instructions) when it is true, as it is on every packet but an endpoint's first ACK.
    if (this.hasAck !== true) {
      f[b + Slot.FirstAck] = ack;
      f[b + Slot.HighestAck] = ack;
      f[b + Slot.HighestAckTs] = ts;
      f[b + Slot.HighestAckFrame] = frame;
      this.hasAck = true;
    } else if (((ack - f[b + Slot.HighestAck]) | 0) > 0) {
      f[b + Slot.HighestAck] = ack;
      f[b + Slot.HighestAckTs] = ts;
      f[b + Slot.HighestAckFrame] = frame;
    }
    this.window = window;
  }

  /**
   * `length` bytes that start at nextSeq, all captured, delivered in order: the accounting that
   * precedes handing them on (TcpTracker.deliver does the same for the general case).
   */
  deliverInOrder(length: number, ts: number, frame: number): void {
    const f = this.f;
    const b = this.base;
    const end = (f[b + Slot.NextSeq] + length) >>> 0;
    if (((end - f[b + Slot.MaxSeqEnd]) | 0) > 0) f[b + Slot.MaxSeqEnd] = end;
    if (f[b + Slot.FirstDataTs] < 0) {
      f[b + Slot.FirstDataTs] = ts;
      this.firstDataFrame = frame;
      this.firstDataBytes = length;
    }
    f[b + Slot.PrevDataTs] = f[b + Slot.LastDataTs];
    this.prevDataFrame = this.lastDataFrame;
    f[b + Slot.LastDataTs] = ts;
    this.lastDataFrame = frame;
    this.payloadBytes += length;
    f[b + Slot.NextSeq] = end;
    if (length > f[b + Slot.MaxSegment]) this.noteSegmentSize((end - length) >>> 0, length);
  }

  get reassembly(): Reassembler {
    if (this.heldSegments === null) this.heldSegments = new Reassembler();
    return this.heldSegments;
  }

  /** Whether segments are held ahead of a hole. */
  get holding(): boolean {
    return this.heldSegments !== null && !this.heldSegments.isEmpty;
  }

  /**
   * Back to the state of a new endpoint (the connection is reused for another 4-tuple, see
   * TrackerOptions.reuseConnections). Every field set at construction is set here again;
   * test/flow/connection-reuse.test.ts compares a reset endpoint with a new one.
   */
  reset(): void {
    const f = this.f;
    for (let i = this.base; i < this.base + ENDPOINT_SLOTS; i++) f[i] = 0;
    initSlots(f, this.base);
    this.state = EndpointState.Inactive;
    this.packets = 0;
    this.wireBytes = 0;
    this.payloadBytes = 0;
    this.hasNextSeq = false;
    this.hasAck = false;
    this.windowShift = 0;
    this.window = 0;
    this.openZeroWindow = null;
    this.clearHeld();
    this.heldSegments = null;
    this.firstDataFrame = 0;
    this.firstDataBytes = 0;
    this.lastDataFrame = 0;
    this.prevDataFrame = 0;
    this.hasIsn = false;
    this.retransmissions = 0;
    this.icmpError = null;
    this.retransmissionsBeforePeerAck = 0;
    this.captureCopies = 0;
    this.keepAliveProbes = 0;
    this.outOfOrder = 0;
    this.gapBytes = 0;
    this.cutBytes = 0;
    this.unackedBytes = 0;
    this.refusedBytes = 0;
    this.lossFromTs = -1;
    this.lossToTs = -1;
    this.lossEndTs = -1;
    this.lossEndFrame = 0;
    this.windowShiftOffered = -1;
    this.mss = 0;
    // Event lists are replaced, never emptied in place: a finding may still hold the old one.
    this.zeroWindowEpisodes = NONE;
    this.zeroWindowCount = 0;
    this.synCount = 0;
    this.synTimes = NONE;
    this.synFrames = NONE;
    this.synAckCount = 0;
    this.synAckTimes = NONE;
    this.synAckFrames = NONE;
    this.finFrame = 0;
    this.peerDataBeforeCloseFrame = 0;
    this.finHasAck = false;
    this.finCount = 0;
    this.rstFrame = 0;
    this.rstCount = 0;
    this.rstHasAck = false;
    this.rstWindow = -1;
    this.finUnseen = false;
    this.unseenBeforeRst = false;
    this.firstTtl = -1;
    this.rstTtl = -1;
    this.firstDataTtl = -1;
    this.ttlNear = -1;
    this.ttlFar = -1;
    this.rstCopied = false;
    this.lastCopiedTs = -1;
    this.firstCopiedTs = -1;
    this.rstAnswersUncopied = false;
  }

  /** Drops whatever is held (released connection, abandoned analysis). */
  clearHeld(): void {
    if (this.heldSegments !== null) this.heldSegments.clear();
  }
}
