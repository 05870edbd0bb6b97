import type { DetectorDefinition } from '../detector';
import { at, captureLossNote, captureLostOn, ms } from '../facts';
import type { CaptureLossScope } from '../facts';
import { firstClose } from '../../flow/conn-state';

/**
 * port-reuse: a SYN with a new ISN on a 4-tuple whose previous connection is still in the flow
 * table (closed moments ago, or still open). The tracker links the two (`conn.previous`); a SYN
 * with the same ISN is a retransmission and never gets here. A reuse while the previous connection
 * was still open is a warning: one side may still hold it, and the SYN can be answered with an
 * ACK for the old connection (then RST) instead of a SYN-ACK. A reuse shortly after a close hits
 * the TIME_WAIT of the side that closed first, which Linux accepts for a higher ISN or timestamp.
 * "Still open" means no close was seen: in a capture that dropped packets (on that connection, or
 * anywhere: a connection that simply went silent shows no gap), its FIN may have been dropped, so
 * such a reuse is only a note, marked uncertain.
 *
 * A reuse after a close is routine on a busy client (tcp_tw_reuse, a small port range): a capture
 * of 60 000 short connections held 46 000 of them. Each client host and server get their first
 * CLOSED_REPORTED_PER_PAIR such reuses one by one, the frames that show the mechanism; the rest
 * are counted and told in one note at the end, with their count and gaps. A reuse of a connection
 * still open is a warning and is always reported.
 */

/** Reuses after a close reported one by one, per client host and server. */
const CLOSED_REPORTED_PER_PAIR = 10;
/** Client host and server pairs whose reuses after a close are counted. */
const PAIRS_KEPT = 4096;

/** The reuses after a close, between one client host and one server, past the ones reported. */
interface ClosedReuses {
  client: string;
  server: string;
  reported: number;
  /** Past the reported ones: how many, their gaps' range (seconds), the first and last. */
  more: number;
  minGap: number;
  maxGap: number;
  heldByClient: number;
  heldByServer: number;
  firstFlowId: number;
  firstTs: number;
  firstFrame: number;
  lastFrame: number;
}

interface Superseded {
  id: number;
  isn: number | null;
  closedBy: 'client' | 'server' | null;
  how: string;
  frame: number;
  /** Whether the capture lost data bytes of it. */
  lossy: boolean;
}

export const portReuse: DetectorDefinition = {
  id: 'port-reuse',
  meta: {
    description:
      'A SYN with a new initial sequence number reuses the 4-tuple of a connection that closed moments ago (its TIME_WAIT) or is still open.',
    severity: 'info',
    messages: {
      closed: 'New connection from {client} reuses the 4-tuple of connection #{previous} that closed {gap} ms earlier; {timeWait}',
      closedMore:
        '{count} more new connections from {host} to {server} reused the 4-tuple of a connection that had closed {minGap} to {maxGap} ms earlier (TIME_WAIT held by the client in {heldByClient}, by the server in {heldByServer}), past the first {reported} reported one by one: routine for a busy client reusing ports, a risk only if SYNs to a TIME_WAIT are answered with an ACK instead of a SYN-ACK (then RST, and a retry a second later)',
      open: 'New connection from {client} reuses the 4-tuple of connection #{previous} that was still open ({gap} ms since its last packet)',
    },
  },
  create(ctx) {
    // The tracker releases the old connection ('superseded') right before opening the new one.
    let last: Superseded | null = null;
    const closedReuses = new Map<string, ClosedReuses>();
    /** Whether a reuse after a close is reported on its own (the first ones of its pair), else counted. */
    const reportsOnItsOwn = (hostKey: string, client: string, server: string, conn: { id: number; startTs: number; firstFrame: number }, gap: number, heldBy: 'client' | 'server' | null): boolean => {
      let pair = closedReuses.get(hostKey);
      if (pair === undefined) {
        // Past the cap (thousands of client hosts each reusing ports), each is reported on its own.
        if (closedReuses.size >= PAIRS_KEPT) return true;
        pair = { client, server, reported: 0, more: 0, minGap: Infinity, maxGap: -Infinity, heldByClient: 0, heldByServer: 0, firstFlowId: 0, firstTs: 0, firstFrame: 0, lastFrame: 0 };
        closedReuses.set(hostKey, pair);
      }
      if (pair.reported < CLOSED_REPORTED_PER_PAIR) {
        pair.reported++;
        return true;
      }
      if (pair.more === 0) {
        pair.firstFlowId = conn.id;
        pair.firstTs = conn.startTs;
        pair.firstFrame = conn.firstFrame;
      }
      pair.more++;
      pair.lastFrame = conn.firstFrame;
      pair.minGap = Math.min(pair.minGap, gap);
      pair.maxGap = Math.max(pair.maxGap, gap);
      if (heldBy === 'client') pair.heldByClient++;
      else if (heldBy === 'server') pair.heldByServer++;
      return false;
    };
    return {
      onConnectionEnd(conn) {
        if (conn.endReason !== 'superseded') return;
        const closed = firstClose(conn.client, conn.server);
        last = {
          id: conn.id,
          isn: conn.client.hasIsn ? conn.client.isn : null,
          closedBy: closed.by,
          how: closed.how,
          frame: conn.lastFrame,
          lossy: captureLostOn(conn),
        };
      },
      onOpen(conn) {
        const previous = conn.previous;
        if (previous === null) return;
        const old = last !== null && last.id === previous.id ? last : null;
        last = null;
        const gap = conn.startTs - previous.lastTs;
        const timeWait =
          old === null || old.closedBy === null
            ? 'unknown who closed first'
            : old.how === 'rst'
              ? `it was reset by the ${old.closedBy} (no TIME_WAIT)`
              : `the ${old.closedBy} closed it first and still holds it in TIME_WAIT`;
        // Only "still open" rests on an absence (no close seen).
        const uncertain: CaptureLossScope | null = previous.closed ? null : old?.lossy === true ? 'connection' : ctx.captureLossKnown() ? 'capture' : null;
        const heldBy = old !== null && old.how === 'fin' ? old.closedBy : null;
        if (previous.closed && !reportsOnItsOwn(`${conn.clientHost}|${conn.serverName}`, conn.clientHost, conn.serverName, conn, gap, heldBy)) return;
        ctx.report({
          flowId: conn.id,
          client: conn.clientName,
          server: conn.serverName,
          ts: conn.startTs,
          message: previous.closed ? 'closed' : uncertain !== null ? `${portReuse.meta.messages.open}; ${captureLossNote(uncertain)}` : 'open',
          data: { client: conn.clientName, previous: previous.id, gap: ms(gap * 1000), timeWait },
          severity: previous.closed || uncertain !== null ? 'info' : 'warning',
          evidence: {
            previousFlowId: previous.id,
            previousClosed: previous.closed,
            previousLastTs: at(previous.lastTs),
            gap: ms(gap),
            synTs: at(conn.startTs),
            previousClosedBy: old?.closedBy ?? null,
            previousClose: old?.how ?? null,
            timeWaitHeldBy: heldBy,
            previousIsn: old?.isn ?? null,
            ...(uncertain !== null ? { uncertain: true, captureLoss: uncertain } : {}),
          },
          frames: [old?.frame ?? 0, conn.firstFrame],
        });
      },
      onFinish() {
        for (const pair of closedReuses.values()) {
          if (pair.more === 0) continue;
          ctx.report({
            flowId: pair.firstFlowId,
            client: pair.client,
            server: pair.server,
            ts: pair.firstTs,
            message: 'closedMore',
            data: {
              count: pair.more,
              host: pair.client,
              server: pair.server,
              minGap: ms(pair.minGap * 1000),
              maxGap: ms(pair.maxGap * 1000),
              heldByClient: pair.heldByClient,
              heldByServer: pair.heldByServer,
              reported: pair.reported,
            },
            evidence: {
              reusesNotListed: pair.more,
              reusesListed: pair.reported,
              minGap: ms(pair.minGap),
              maxGap: ms(pair.maxGap),
              timeWaitHeldByClient: pair.heldByClient,
              timeWaitHeldByServer: pair.heldByServer,
            },
            frames: [pair.firstFrame, pair.lastFrame],
          });
        }
      },
    };
  },
};
