import type { AnalyzedConnection } from './analyzed-connection';
import type { DetectContext } from './detector';

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
 * Where the path between two hosts visibly lost segments: established connections between them
 * that retransmitted data (midstreamRetransmissions), with when they were open. A handshake or a
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
    const lost = midstreamRetransmissions(conn);
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
