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
 */

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
      open: 'New connection from {client} reuses the 4-tuple of connection #{previous} that was still open ({gap} ms since its last packet)',
    },
  },
  create(ctx) {
    // The tracker releases the old connection ('superseded') right before opening the new one.
    let last: Superseded | null = null;
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
            timeWaitHeldBy: old !== null && old.how === 'fin' ? old.closedBy : null,
            previousIsn: old?.isn ?? null,
            ...(uncertain !== null ? { uncertain: true, captureLoss: uncertain } : {}),
          },
          frames: [old?.frame ?? 0, conn.firstFrame],
        });
      },
    };
  },
};
