import { EndpointState } from './endpoint-state';
import { Reassembler } from './reassembly';

/** A stretch of time during which an endpoint advertised a zero receive window. */
export interface ZeroWindowEpisode {
  startTs: number;
  startFrame: number;
  /** -1 while still open. */
  endTs: number;
  endFrame: number;
  /** Zero-window probes the peer sent during the episode. */
  probes: number;
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
 * One side of a TCP connection: what it sent, its sequence space, and the moments
 * that diagnoses need (SYNs, FIN, RST, first/last data, zero windows).
 * Times are capture-clock epoch seconds, -1 when the event was not seen.
 */
export class Endpoint {
  state: EndpointState = EndpointState.Inactive;

  /** Initial sequence number, from this endpoint's SYN. */
  hasIsn = false;
  isn = 0;
  /** Whether nextSeq is known (from the SYN, or the first segment seen mid-stream). */
  hasNextSeq = false;
  /** Next sequence number expected from this endpoint (one past the highest in-order byte). */
  nextSeq = 0;
  /** Highest sequence number this endpoint has sent (for out-of-order segments beyond nextSeq). */
  maxSeqEnd = 0;

  packets = 0;
  /** Bytes on the wire (original lengths). */
  wireBytes = 0;
  /** Distinct payload bytes delivered in order (retransmissions not counted twice). */
  payloadBytes = 0;
  retransmissions = 0;
  keepAliveProbes = 0;
  outOfOrder = 0;
  /** Payload bytes never seen although the peer acknowledged them (loss at the capture point). */
  gapBytes = 0;

  /** Window scale shift this endpoint announced in its SYN, -1 when none. */
  windowShiftOffered = -1;
  /** Shift in force (both SYNs carried the option), else 0. */
  windowShift = 0;
  /** Last advertised receive window in bytes (scaled). */
  window = 0;
  mss = 0;

  zeroWindowEpisodes: ZeroWindowEpisode[] = NONE;
  zeroWindowCount = 0;
  /** The open episode, if the last advertisement was a zero window. */
  openZeroWindow: ZeroWindowEpisode | null = null;

  synCount = 0;
  synTimes: number[] = NONE;
  synFrames: number[] = NONE;
  synAckCount = 0;
  synAckTimes: number[] = NONE;
  synAckFrames: number[] = NONE;

  finTs = -1;
  finFrame = 0;
  /** Sequence number the FIN occupies. */
  finSeq = 0;
  /**
   * Acknowledgement number the FIN carried (when it had the ACK flag): how much of the peer's
   * data this endpoint had received when it closed. Peer bytes beyond it crossed the FIN.
   */
  finHasAck = false;
  finAck = 0;
  finCount = 0;

  rstTs = -1;
  rstFrame = 0;
  rstCount = 0;

  firstTs = -1;
  lastTs = -1;
  firstDataTs = -1;
  firstDataFrame = 0;
  lastDataTs = -1;
  lastDataFrame = 0;

  /** Highest acknowledgement number this endpoint sent (covers the peer's bytes up to it). */
  hasAck = false;
  highestAck = 0;

  readonly reassembly = new Reassembler();
}
