import type { AnalyzedConnection } from './analyzed-connection';
import { seqAdd, seqDiff, seqGt, seqLt } from '../flow/seq';
import type { DetectContext } from './detector';
import { float64Column, grownColumn, int32Column } from './grown-column';
import { clientHostKey, hostKeyOfText, HostPairMap, serverHostKey } from './host-keys';

/**
 * Segments of established connections between the same two hosts retransmitted this many times or
 * more show a path that loses packets: a lone SYN retried once there, or a first request resent
 * once, was most likely lost on the way (healthy-lossy-path-client-side: 2 % loss per wire, SYNs not
 * spared), not dropped by a listener.
 */
export const PATH_LOSS_EVIDENCE = 2;
/** Seconds around an attempt in which other connections between the same hosts losing segments show the path losing them then. */
export const PATH_LOSS_NEAR = 2;

/** Host pairs whose lossy connections are remembered; past it, new pairs are not. */
const MAX_HOST_PAIRS = 65_536;
/** Lossy connections remembered per host pair (their spans); past it, the last span absorbs the rest. */
const MAX_SPANS_PER_PAIR = 1024;
/** Spans remembered in all (24 bytes each: 1.5 MiB); past it, each pair's last span absorbs its new ones. */
const MAX_SPANS = 65_536;

/**
 * Data a connection's ends sent again that no listener dropped: the server's (a listener drops only
 * what comes to it), and the client's once the server had acknowledged some of its data (a full
 * accept queue drops a new connection's first data: accept-queue-overflow).
 */
export function midstreamRetransmissions(conn: AnalyzedConnection): number {
  const c = conn.client;
  return c.retransmissions - c.retransmissionsBeforePeerAck + conn.server.retransmissions;
}

/**
 * A server answers a SYN it receives at once (a listener that cannot take it drops it instead): a
 * SYN-ACK that reaches the capture this long or more after the client's last SYN is the server's
 * SYN-ACK timer (Linux 1 s) resending one whose first copy was lost on the way. A round trip this
 * long is rare (satellite paths stay under 0.7 s).
 */
export const SYN_ACK_RESEND_FLOOR = 0.9;

/**
 * Packets a connection shows the path lost that no listener dropped: the data its ends resent
 * (midstreamRetransmissions); the data that arrived past a hole the sender filled later, which a
 * capture next to the receiver shows instead of the resends (the first copies never reached it;
 * not when the capture itself dropped packets: its holes are its own); and a SYN-ACK whose first
 * copy never arrived (SYN_ACK_RESEND_FLOOR). blind round 11 (40 % loss both ways, client capture):
 * the server's resends filled SACK holes and came as out-of-order data, SYN-ACKs arrived 1 s and
 * 3 s after single SYNs, and none of it counted as the path's.
 */
export function pathLosses(conn: AnalyzedConnection): number {
  const c = conn.client;
  const s = conn.server;
  let lost = midstreamRetransmissions(conn);
  if (s.captureLostBytes === 0) lost += s.outOfOrder;
  if (c.captureLostBytes === 0 && c.payloadBytes > 0 && c.retransmissionsBeforePeerAck === 0) lost += c.outOfOrder;
  if (firstSynAckResent(conn)) lost++;
  return lost;
}

/**
 * Whether the first SYN-ACK in the capture came SYN_ACK_RESEND_FLOOR or more after the client's last
 * SYN before it: the server's timer resending an answer whose first copy never arrived (pathLosses
 * counts it as one packet the path lost).
 */
export function firstSynAckResent(conn: AnalyzedConnection): boolean {
  const c = conn.client;
  const s = conn.server;
  if (s.synAckTimes.length === 0 || c.synTimes.length === 0 || c.synCount !== c.synTimes.length) return false;
  const answer = s.synAckTimes[0];
  let lastSyn = -1;
  for (const t of c.synTimes) if (t <= answer) lastSyn = t;
  return lastSyn >= 0 && answer - lastSyn >= SYN_ACK_RESEND_FLOOR;
}

/**
 * Where the path between two hosts visibly lost segments: established connections between them
 * that retransmitted data or lost it on the way (pathLosses), with when they were open. A handshake or a
 * first request that had to be repeated meanwhile on another connection between the same hosts
 * was most likely lost the same way, not dropped by a listener. Fed at connection end (any order).
 */
export class PathLossLog {
  /** Per "client-host server-host": flat [from, to, retransmissions] per lossy connection. */
  private readonly spans = new Map<string, number[]>();
  private spanCount = 0;
  /** The connection noted last: each detector sharing the log notes every connection as it ends. */
  private lastNoted = -1;

  note(conn: AnalyzedConnection): void {
    if (conn.id === this.lastNoted) return;
    this.lastNoted = conn.id;
    const lost = pathLosses(conn);
    if (lost <= 0) return;
    const key = `${conn.clientHost} ${conn.serverHost}`;
    let list = this.spans.get(key);
    if (list === undefined) {
      if (this.spans.size >= MAX_HOST_PAIRS || this.spanCount >= MAX_SPANS) return;
      list = [];
      this.spans.set(key, list);
    }
    if (list.length < MAX_SPANS_PER_PAIR * 3 && this.spanCount < MAX_SPANS) {
      list.push(conn.startTs, conn.lastTs, lost);
      this.spanCount++;
      return;
    }
    // Full: the last span widens to cover this one (it still says loss was seen then).
    const last = list.length - 3;
    list[last] = Math.min(list[last], conn.startTs);
    list[last + 1] = Math.max(list[last + 1], conn.lastTs);
    list[last + 2] += lost;
  }

  /**
   * Segments retransmitted by connections between these hosts that were open at some moment of
   * [from, to] (a connection's retransmissions are not timed one by one: an open connection that
   * lost segments is taken to have lost them then). The connection judged counts too: what its
   * own established data lost after its handshake no listener dropped.
   */
  around(clientHost: string, serverHost: string, from: number, to: number): number {
    const list = this.spans.get(`${clientHost} ${serverHost}`);
    if (list === undefined) return 0;
    let lost = 0;
    for (let i = 0; i < list.length; i += 3) {
      if (list[i] > to || list[i + 1] < from) continue;
      lost += list[i + 2];
    }
    return lost;
  }

  /** Segments retransmitted by connections between these hosts, over the whole capture. */
  total(clientHost: string, serverHost: string): number {
    const list = this.spans.get(`${clientHost} ${serverHost}`);
    if (list === undefined) return 0;
    let lost = 0;
    for (let i = 2; i < list.length; i += 3) lost += list[i];
    return lost;
  }
}

/** The name under which detectors share one PathLossLog per analysis (`ctx.shared`). */
export const PATH_LOSS = 'path-loss';

/** The analysis's PathLossLog (syn-unanswered and accept-queue-overflow each note every connection's end in it). */
export function sharedPathLoss(ctx: Pick<DetectContext, 'shared'>): PathLossLog {
  return ctx.shared(PATH_LOSS, () => new PathLossLog());
}

/**
 * A segment resent at least this many times in a row (the RTO backing off: 0.2, 0.4, 0.8 s …)
 * without its receiver ever acknowledging it: no random loss repeats on one segment that often
 * while the path carries the sender's smaller segments and the receiver's packets.
 */
export const BLACK_HOLE_RESENDS = 3;
/**
 * Captured next to the receiver, where the resends never show: the receiver went this long
 * (seconds) without the bytes a later small segment of the sender proved sent, with no byte of
 * them arriving: several RTO resends' worth (0.2 + 0.4 + 0.8 s), none came through.
 */
export const BLACK_HOLE_SILENCE = 1;
/**
 * A segment this much under the MSS the receiver offered (TCP options of the sender: 12 bytes of
 * timestamps, SACK blocks) is still full-size; one smaller than that never came close to it.
 */
const OPTION_ROOM = 40;

/**
 * Segments of one direction that a path dropped because they were large: a PMTU black hole. A hop
 * with a smaller MTU than the ends' drops full-size segments sent with DF, and its ICMP
 * "fragmentation needed" (ICMPv6 "packet too big") that would have told the sender to shrink them
 * is filtered, so the sender resends the same full-size segment at RTO backoff until its peer
 * gives up, while small segments (a response head, ACKs, FINs) pass.
 */
export interface BlackHole {
  /** The server's segments were lost (a response); else the client's (an upload). */
  fromServer: boolean;
  /** How the capture shows it: the sender's resends (captured on its side), or bytes that never arrived (captured on the receiver's). */
  seen: 'resent' | 'never-arrived';
  /** Payload bytes of the segment lost (resent); never-arrived: the MSS offered less room for options, a floor of what the sender's full-size segments carried. */
  lostSegment: number;
  /** The largest segment of the sender that got through (acknowledged, or arrived), in payload bytes. */
  passedSegment: number;
  /** The MSS the receiver offered in its SYN (0: no SYN seen): the sender may send that much, the path carries less. */
  mssOffered: number;
  /** Bytes the sender had sent that the receiver never acknowledged. */
  bytesLost: number;
  /** Resends of the lost segment (0 when never-arrived), the first and last, by time and frame. */
  resends: number;
  firstResendTs: number;
  lastResendTs: number;
  firstResendFrame: number;
  lastResendFrame: number;
  /** The sender's last segment that got through before the loss, and (never-arrived) its later segment that proved the bytes sent. */
  lastPassedTs: number;
  provenSentTs: number;
  provenSentFrame: number;
  /** The receiver's last packet (it was alive, and its packets got through, after the loss began). */
  receiverLastTs: number;
}

/** The black hole of one direction of a connection (`fromServer`), or null (see BlackHole). */
function blackHoleOfDirection(conn: AnalyzedConnection, fromServer: boolean): BlackHole | null {
  const s = fromServer ? conn.server : conn.client;
  const r = fromServer ? conn.client : conn.server;
  if (!r.hasAck || !s.hasNextSeq) return null;
  const base = { fromServer, mssOffered: r.mss, receiverLastTs: r.lastTs };
  if (s.runCount >= BLACK_HOLE_RESENDS) {
    if (s.maxSegment === 0) return null;
    // The receiver never acknowledged the resent segment, nor any segment as large as the largest
    // one sent, while it did acknowledge smaller ones; and it still sent after the resends began.
    if (seqGt(r.highestAck, s.runSeq) || seqGt(r.highestAck, s.maxSegmentSeq)) return null;
    // Or the sender's very first data segment, full-size, on a new connection: only the handshake's
    // small packets ever passed (blind round 11: a response whose head left in one full-size
    // segment with its body, on a new connection, went unreported at the server).
    const firstSegment =
      s.prevMaxSegment === 0 && s.hasIsn && s.runSeq === seqAdd(s.isn, 1) && r.highestAck === s.runSeq && r.mss > 0 && s.runLen >= r.mss - OPTION_ROOM;
    if (!firstSegment && (s.prevMaxSegment === 0 || seqLt(r.highestAck, s.prevMaxSegmentEnd) || s.runLen <= s.prevMaxSegment)) return null;
    if (!(r.lastTs > s.runFirstTs)) return null;
    return {
      ...base,
      seen: 'resent',
      lostSegment: s.runLen,
      passedSegment: s.prevMaxSegment,
      bytesLost: Math.max(0, seqDiff(r.highestAck, s.maxSeqEnd)),
      resends: s.runCount,
      firstResendTs: s.runFirstTs,
      lastResendTs: s.runLastTs,
      firstResendFrame: s.runFirstFrame,
      lastResendFrame: s.runLastFrame,
      // A first segment lost: what last got through was the handshake.
      lastPassedTs: firstSegment ? Math.max(conn.handshakeAckTs, s.firstTs) : s.lastDataTs,
      provenSentTs: -1,
      provenSentFrame: 0,
    };
  }
  // Captured on the receiver's side: a later small segment of the sender carried a sequence number
  // past every byte that arrived, the receiver acknowledged none of them, nothing full-size ever
  // arrived though the receiver offered it, and the bytes missing were more than a full-size
  // segment's worth (so the sender did send full-size ones), missing for BLACK_HOLE_SILENCE or more.
  // No data of the sender's may have arrived at all (blind round 13, S12: nginx's response head
  // left with its body in full-size segments on a new connection, and only the server's ACK of the
  // client's FIN, 15928 bytes past the handshake, showed them sent): the handshake is then the last
  // moment nothing was missing, and its own small packets are what passed.
  if (r.mss === 0) return null;
  const fullSize = r.mss - OPTION_ROOM;
  if (s.maxSegment >= fullSize || seqGt(r.highestAck, s.nextSeq)) return null;
  const noneArrived = s.maxSegment === 0;
  const beyond = s.aheadTs >= 0 ? seqDiff(s.nextSeq, s.aheadSeq) : 0;
  let missing: number;
  let lastPassedTs: number;
  let provenSentTs: number;
  let provenSentFrame: number;
  if (beyond >= fullSize && (!noneArrived || (s.hasIsn && s.nextSeq === seqAdd(s.isn, 1)))) {
    missing = beyond;
    lastPassedTs = noneArrived ? Math.max(conn.handshakeAckTs, s.firstTs) : s.lastDataTs;
    provenSentTs = s.aheadTs;
    provenSentFrame = s.aheadFrame;
  } else if (s.lostHoleProofTs >= 0 && s.lostHoleBytes >= fullSize && (!noneArrived || s.hasIsn)) {
    // Or the packet that proved the bytes sent was data or a FIN past them (blind round 14, scene
    // 6: a 1537-byte body's full-size segment dropped, its small tail segment and the FIN arrived):
    // the stream was given up past the hole at its end, so no later packet stays beyond it, but the
    // hole stays, never acknowledged (Endpoint.lostHoleBytes). With no data delivered before it,
    // it began at the first byte only where the handshake was seen.
    missing = s.unackedBytes + Math.max(0, beyond);
    lastPassedTs = s.lostHoleFromTs < 0 ? Math.max(conn.handshakeAckTs, s.firstTs) : s.lostHoleFromTs;
    provenSentTs = s.lostHoleProofTs;
    provenSentFrame = s.lostHoleProofFrame;
  } else return null;
  const lastSeen = Math.max(r.lastTs, s.lastTs);
  if (lastPassedTs < 0 || lastSeen - lastPassedTs < BLACK_HOLE_SILENCE) return null;
  return {
    ...base,
    seen: 'never-arrived',
    lostSegment: fullSize,
    passedSegment: s.maxSegment,
    bytesLost: missing,
    resends: 0,
    firstResendTs: -1,
    lastResendTs: -1,
    firstResendFrame: 0,
    lastResendFrame: 0,
    lastPassedTs,
    provenSentTs,
    provenSentFrame,
  };
}

/**
 * The PMTU black hole a connection shows (see BlackHole): the server's segments first (a
 * response), else the client's (an upload); null when neither direction shows one.
 */
export function blackHoleOf(conn: AnalyzedConnection): BlackHole | null {
  return blackHoleOfDirection(conn, true) ?? blackHoleOfDirection(conn, false);
}

/** The MSS of a 9000-byte MTU (jumbo frames) less IPv4 and TCP headers: the largest a real path carries. */
const JUMBO_MSS = 8960;
/** Host pairs whose server segment sizes are remembered (PathSegmentSizes); past it, new pairs are not. */
const MAX_SIZE_PAIRS = 65_536;
/** Rows of PathSegmentSizes' columns at first (doubled as pairs come, up to MAX_SIZE_PAIRS). */
const INITIAL_SIZE_ROWS = 64;

/** What the capture shows of the segments one server host sent one client host (PathSegmentSizes). */
export interface SegmentSizes {
  /** The largest data segment of the server's in the capture, in payload bytes, on any connection. */
  largest: number;
  /** The smallest MSS the client offered in its SYNs (the server may send that much). */
  mssOffered: number;
  /** The most in-order bytes one connection carried from the server while no segment of it came near the MSS. */
  bulkBytes: number;
}

/**
 * The server's segment sizes per server host and client host, over the capture (every connection
 * with the client's SYN seen is noted as it ends). Captured next to the client, the largest is the
 * largest the path carried: on a healthy path a response longer than two full-size segments comes
 * in full-size ones, so a server that sent that much on a connection, none of it within
 * OPTION_ROOM of the MSS the client offered, had its segments capped below the MSS on the way (an
 * MSS clamp, or a smaller path MTU it had learned). A request unanswered there with nothing to show
 * what the server sent (no packet of its after the client gave up: its sequence number would tell)
 * may have met a PMTU black hole instead of a hung application (unanswered-request says so).
 * Captured next to the server, the segments are what it sent: full-size ones there show nothing.
 */
export class PathSegmentSizes {
  /** Each pair's row in the columns below (HostPairMap: no key string per pair). */
  private readonly rows = new HostPairMap<number>();
  private largest: Int32Array = new Int32Array(INITIAL_SIZE_ROWS);
  private mssOffered: Int32Array = new Int32Array(INITIAL_SIZE_ROWS);
  private bulkBytes: Float64Array = new Float64Array(INITIAL_SIZE_ROWS);

  note(conn: AnalyzedConnection): void {
    const s = conn.server;
    const mss = conn.client.mss;
    // An MSS past jumbo frames' (9000-byte MTU) is a loopback's or a virtual device's: no hop
    // drops segments by size there, and the sizes are the application's writes.
    if (mss === 0 || mss > JUMBO_MSS || s.maxSegment === 0) return;
    const server = serverHostKey(conn);
    const client = clientHostKey(conn);
    let row = this.rows.get(server, client);
    if (row === undefined) {
      if (this.rows.size >= MAX_SIZE_PAIRS) return;
      row = this.rows.size;
      if (row === this.largest.length) this.grow();
      this.rows.set(server, client, row);
      this.largest[row] = 0;
      this.mssOffered[row] = mss;
      this.bulkBytes[row] = 0;
    }
    if (s.maxSegment > this.largest[row]) this.largest[row] = s.maxSegment;
    if (mss < this.mssOffered[row]) this.mssOffered[row] = mss;
    if (s.maxSegment < mss - OPTION_ROOM && s.payloadBytes >= 2 * (mss - OPTION_ROOM) && s.payloadBytes > this.bulkBytes[row]) this.bulkBytes[row] = s.payloadBytes;
  }

  private grow(): void {
    const n = Math.min(2 * this.largest.length, MAX_SIZE_PAIRS);
    this.largest = grownColumn(this.largest, n, int32Column);
    this.mssOffered = grownColumn(this.mssOffered, n, int32Column);
    this.bulkBytes = grownColumn(this.bulkBytes, n, float64Column);
  }

  /**
   * The pair's sizes when they show segments capped well below the MSS (see the class), else null:
   * a connection carried two full-size segments' worth or more, and no segment on any connection
   * came within OPTION_ROOM of the MSS offered.
   */
  capped(serverHost: string, clientHost: string): SegmentSizes | null {
    const row = this.rows.get(hostKeyOfText(serverHost), hostKeyOfText(clientHost));
    if (row === undefined) return null;
    const p = { largest: this.largest[row], mssOffered: this.mssOffered[row], bulkBytes: this.bulkBytes[row] };
    if (p.bulkBytes === 0 || p.largest >= p.mssOffered - OPTION_ROOM) return null;
    return p;
  }
}
