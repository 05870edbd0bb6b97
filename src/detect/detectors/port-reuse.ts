import type { AnalyzedConnection } from '../analyzed-connection';
import type { DetectContext, DetectorDefinition } from '../detector';
import { at, captureLossNote, captureLostOn, fineDuration, hostOf, ms } from '../facts';
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
 *
 * A reuse whose SYN met what the server still held of the 4-tuple (its TIME_WAIT, or a connection
 * it held open) is a warning of its own, told once the client's retry was answered: the server
 * answered the SYN with an ACK of the old connection instead of a SYN-ACK (RFC 793; RFC 5961's
 * challenge ACK; Linux does so in TIME_WAIT when no listener takes the SYN or its ISN and
 * timestamp are not higher), the client reset that and sent its SYN again, and the connect paid
 * the wait. Such a SYN is no unanswered one (syn-unanswered leaves it here).
 */

/** Reuses after a close reported one by one, per client host and server. */
const CLOSED_REPORTED_PER_PAIR = 10;
/** Client host and server pairs whose reuses after a close are counted. */
const PAIRS_KEPT = 4096;

/** Reuse notes and collisions waiting for their connection's end or their retry's answer, at most (past it, reported without). */
const PENDING_KEPT = 65_536;

/** What a reuse's connection keeps until its end: whether the old connection was closed, and by whom. */
interface ReuseNote {
  previous: number;
  closed: boolean;
  gap: number;
  heldBy: 'client' | 'server' | null;
}

/**
 * A SYN the server answered with an ACK of another connection on its 4-tuple (Connection.foreignAckFrame),
 * which the client reset: what its finding needs, kept until the retry's answer is known.
 */
interface Collision {
  flowId: number;
  client: string;
  server: string;
  synTs: number;
  synFrame: number;
  ackTs: number;
  ackFrame: number;
  ack: number;
  rstTs: number;
  rstFrame: number;
  note: ReuseNote | null;
  retryTs: number;
  retryFrame: number;
}

/** The collisions reported for one server, for its diagnosis. */
interface ServerCollisions {
  ids: string[];
  /** By what the server still held: TIME_WAIT (it closed first), another closed state, open, a connection the capture lacks. */
  timeWait: number;
  closed: number;
  open: number;
  unseen: number;
  /** How the retries ended. */
  served: number;
  refused: number;
  noRetry: number;
  unanswered: number;
  /** Ranges (seconds): the connects' waits from the first SYN to a SYN-ACK, and when the retries came. */
  servedDelay: [number, number];
  retryAfter: [number, number];
}

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
  /** Of all this pair's reuses, SYNs that met the server's TIME_WAIT (reported one by one). */
  collisions: number;
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
      closedMoreCollided:
        '{count} more new connections from {host} to {server} reused the 4-tuple of a connection that had closed {minGap} to {maxGap} ms earlier (TIME_WAIT held by the client in {heldByClient}, by the server in {heldByServer}), past the first {reported} reported one by one; {collisions} of this client\'s SYNs were answered with an ACK of the old connection instead of a SYN-ACK (reported one by one)',
      metTimeWait:
        'SYN from {client} met the server\'s TIME_WAIT of connection #{previous} (closed by the server first, {gap} ms earlier): the server answered with an ACK for that connection instead of a SYN-ACK, and the client reset it; {then}',
      metClosed:
        'SYN from {client} met what the server still held of connection #{previous} (closed {gap} ms earlier): the server answered with an ACK for that connection instead of a SYN-ACK, and the client reset it; {then}',
      metOpen:
        'SYN from {client} met connection #{previous}, still held open by the server ({gap} ms since its last packet): the server answered with an ACK for that connection instead of a SYN-ACK, and the client reset it; {then}',
      metUnseen:
        'SYN from {client} was answered with an ACK for another connection the server still held on this 4-tuple (its TIME_WAIT, or a connection the client had forgotten) instead of a SYN-ACK, and the client reset it; {then}',
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
        pair = { client, server, reported: 0, more: 0, minGap: Infinity, maxGap: -Infinity, heldByClient: 0, heldByServer: 0, firstFlowId: 0, firstTs: 0, firstFrame: 0, lastFrame: 0, collisions: 0 };
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
    /** Reuses still open, by flow id: what their end needs should their SYN have met the old connection. */
    const reuseNotes = new Map<number, ReuseNote>();
    /** A collision whose connection a new one on its 4-tuple replaced just now: the retry, opened next. */
    let retried: Collision | null = null;
    /** Collisions by their retry's flow id, until the retry ends (its answer known). */
    const awaitingAnswer = new Map<number, Collision>();
    /** The collisions reported, by server (one entry per server that had any). */
    const byServer = new Map<string, ServerCollisions>();

    const reportCollision = (col: Collision, retry: AnalyzedConnection | null): void => {
      const s = retry?.server ?? null;
      const answer: 'syn-ack' | 'refused' | null =
        s === null ? null : s.synAckTimes.length > 0 ? 'syn-ack' : s.rstTs >= 0 ? 'refused' : null;
      const answerTs = s === null || answer === null ? -1 : answer === 'syn-ack' ? s.synAckTimes[0] : s.rstTs;
      const answerFrame = s === null || answer === null ? 0 : answer === 'syn-ack' ? s.synAckFrames[0] : s.rstFrame;
      const hasRetry = col.retryFrame > 0;
      const then = !hasRetry
        ? 'no retry of it is in the capture (the client gave up, or the capture ended first)'
        : `it sent its SYN again ${ms((col.retryTs - col.synTs) * 1000)} ms later, ` +
          (answer === null
            ? 'with no answer in the capture'
            : answer === 'syn-ack'
              ? `answered by a SYN-ACK ${ms((answerTs - col.synTs) * 1000)} ms after the first SYN: the connect paid that wait`
              : `refused with RST ${ms((answerTs - col.synTs) * 1000)} ms after the first SYN (nothing listened any more, or a firewall's reset: see connection-refused)`);
      const note = col.note;
      const message = note === null ? 'metUnseen' : !note.closed ? 'metOpen' : note.heldBy === 'server' ? 'metTimeWait' : 'metClosed';
      const pair = closedReuses.get(`${hostOf(col.client)}|${col.server}`);
      if (pair !== undefined) pair.collisions++;
      let tally = byServer.get(col.server);
      if (tally === undefined) {
        tally = { ids: [], timeWait: 0, closed: 0, open: 0, unseen: 0, served: 0, refused: 0, noRetry: 0, unanswered: 0, servedDelay: [Infinity, -Infinity], retryAfter: [Infinity, -Infinity] };
        byServer.set(col.server, tally);
      }
      if (message === 'metTimeWait') tally.timeWait++;
      else if (message === 'metClosed') tally.closed++;
      else if (message === 'metOpen') tally.open++;
      else tally.unseen++;
      if (!hasRetry) tally.noRetry++;
      else if (answer === 'syn-ack') {
        tally.served++;
        widen(tally.servedDelay, answerTs - col.synTs);
      } else if (answer === 'refused') tally.refused++;
      else tally.unanswered++;
      if (hasRetry) widen(tally.retryAfter, col.retryTs - col.synTs);
      const finding = ctx.report({
        flowId: col.flowId,
        client: col.client,
        server: col.server,
        ts: col.synTs,
        message,
        data: { client: col.client, previous: note?.previous ?? 0, gap: note === null ? 0 : ms(note.gap * 1000), then },
        severity: 'warning',
        evidence: {
          previousFlowId: note?.previous ?? null,
          previousClosed: note?.closed ?? null,
          gap: note === null ? null : ms(note.gap),
          timeWaitHeldBy: note?.heldBy ?? null,
          synTs: at(col.synTs),
          answeredByAck: true,
          ackNumber: col.ack,
          ackAfter: fineDuration(col.ackTs - col.synTs),
          clientResetAfter: fineDuration(col.rstTs - col.synTs),
          retryAfter: hasRetry ? ms(col.retryTs - col.synTs) : null,
          retryAnswer: answer,
          connectDelay: answer === null ? null : ms(answerTs - col.synTs),
        },
        frames: [col.synFrame, col.ackFrame, col.rstFrame, ...(hasRetry ? [col.retryFrame] : []), ...(answerFrame > 0 ? [answerFrame] : [])],
      });
      tally.ids.push(finding.id);
    };

    return {
      onConnectionEnd(conn) {
        const note = reuseNotes.get(conn.id) ?? null;
        if (note !== null) reuseNotes.delete(conn.id);
        const collided = awaitingAnswer.get(conn.id);
        if (collided !== undefined) {
          awaitingAnswer.delete(conn.id);
          reportCollision(collided, conn);
        }
        const c = conn.client;
        const s = conn.server;
        // Its SYN answered by an ACK of the old connection, which the client reset.
        if (conn.foreignAckFrame > 0 && c.synFrames.length > 0 && c.rstTs >= s.firstTs) {
          const col: Collision = {
            flowId: conn.id, client: conn.clientName, server: conn.serverName,
            synTs: c.synTimes[0], synFrame: c.synFrames[0],
            ackTs: s.firstTs, ackFrame: conn.foreignAckFrame, ack: s.firstAck,
            rstTs: c.rstTs, rstFrame: c.rstFrame,
            note, retryTs: -1, retryFrame: 0,
          };
          // Replaced by a new connection on the 4-tuple (the SYN again, or a new one): that is the retry, opened next.
          if (conn.endReason === 'superseded') {
            if (retried !== null) reportCollision(retried, null);
            retried = col;
          } else reportCollision(col, null);
        }
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
        if (retried !== null) {
          const col = retried;
          retried = null;
          // Opened by its SYN (not mid-stream: a reuse whose handshake the capture lost is no retry seen).
          if (conn.clientName === col.client && conn.serverName === col.server && !conn.directionInferred) {
            col.retryTs = conn.startTs;
            col.retryFrame = conn.firstFrame;
            if (awaitingAnswer.size < PENDING_KEPT) awaitingAnswer.set(conn.id, col);
            else reportCollision(col, null);
          } else reportCollision(col, null);
        }
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
        if (reuseNotes.size < PENDING_KEPT) reuseNotes.set(conn.id, { previous: previous.id, closed: previous.closed, gap, heldBy });
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
        // Every connection has ended by now; what is left had no retry to wait for.
        if (retried !== null) reportCollision(retried, null);
        retried = null;
        for (const col of awaitingAnswer.values()) reportCollision(col, null);
        awaitingAnswer.clear();
        for (const [server, tally] of byServer) diagnoseCollisions(ctx, server, tally);
        for (const pair of closedReuses.values()) {
          if (pair.more === 0) continue;
          ctx.report({
            flowId: pair.firstFlowId,
            client: pair.client,
            server: pair.server,
            ts: pair.firstTs,
            message: pair.collisions > 0 ? 'closedMoreCollided' : 'closedMore',
            data: {
              count: pair.more,
              host: pair.client,
              server: pair.server,
              minGap: ms(pair.minGap * 1000),
              maxGap: ms(pair.maxGap * 1000),
              heldByClient: pair.heldByClient,
              heldByServer: pair.heldByServer,
              reported: pair.reported,
              collisions: pair.collisions,
            },
            evidence: {
              reusesNotListed: pair.more,
              reusesListed: pair.reported,
              minGap: ms(pair.minGap),
              maxGap: ms(pair.maxGap),
              timeWaitHeldByClient: pair.heldByClient,
              timeWaitHeldByServer: pair.heldByServer,
              ...(pair.collisions > 0 ? { synsMetTimeWait: pair.collisions } : {}),
            },
            frames: [pair.firstFrame, pair.lastFrame],
          });
        }
      },
    };
  },
};

/** Widens a [min, max] range to take `v`. */
function widen(range: [number, number], v: number): void {
  if (v < range[0]) range[0] = v;
  if (v > range[1]) range[1] = v;
}

/** A range of seconds as milliseconds: "8.4" or "8.4 to 11.8". */
function msRange(range: readonly [number, number]): string {
  const lo = ms(range[0] * 1000);
  const hi = ms(range[1] * 1000);
  return lo === hi ? `${lo}` : `${lo} to ${hi}`;
}

/**
 * One server's SYNs answered with an ACK of an older connection on their 4-tuple: what the server
 * still held, how the clients' retries ended, and what to change. Nothing dropped those SYNs, so
 * they say nothing of an outage (syn-unanswered leaves them out).
 */
function diagnoseCollisions(ctx: DetectContext, server: string, t: ServerCollisions): void {
  const n = t.ids.length;
  const held = [
    t.timeWait > 0 ? `${t.timeWait} in TIME_WAIT, the server having closed ${t.timeWait === 1 ? 'it' : 'them'} first` : '',
    t.closed > 0 ? `${t.closed} closed otherwise` : '',
    t.open > 0 ? `${t.open} still open on the server's side (the client had forgotten it)` : '',
    t.unseen > 0 ? `${t.unseen} not in the capture` : '',
  ].filter((x) => x !== '').join(', ');
  const fates = [
    t.served > 0 ? `${t.served} answered by a SYN-ACK ${msRange(t.servedDelay)} ms after the first SYN` : '',
    t.refused > 0 ? `${t.refused} refused (RST: see connection-refused)` : '',
    t.unanswered > 0 ? `${t.unanswered} not answered in the capture` : '',
    t.noRetry > 0 ? `${t.noRetry} with no retry in the capture` : '',
  ].filter((x) => x !== '').join(', ');
  const retried = t.retryAfter[1] >= 0 ? ` The retries came ${msRange(t.retryAfter)} ms after the first SYN (the client's SYN timer; a stack that waits for its initial RTO retries after 1 s).` : '';
  const listenerGone = t.refused > 0 && t.served === 0;
  ctx.diagnose({
    server,
    count: n,
    severity: 'warning',
    inferred: {},
    explanation:
      `${n} SYN${n === 1 ? ' was' : 's were'} answered by ${server} with an ACK of an older connection on the same 4-tuple instead of a SYN-ACK ` +
      `(the older connection: ${held}); the client reset that ACK and sent its SYN again: ${fates}.${retried} ` +
      'A Linux TIME_WAIT takes a new SYN on its 4-tuple only when a listener is there and the SYN\'s sequence number is past the old ' +
      'connection\'s last byte or its TCP timestamp is newer; otherwise it answers with an ACK of the old connection (RFC 793), as a ' +
      'connection still open does (RFC 5961\'s challenge ACK). These SYNs were answered, not dropped: no outage.' +
      (listenerGone ? ` Every retry was refused: nothing listened on ${server} any more, and a TIME_WAIT with no listener behind it answers every SYN so.` : ''),
    remedy: listenerGone
      ? `Find why the listener on ${server} went away (see connection-refused): the ACKs only followed from it, and the clients' retries did what they should.`
      : 'Keep TCP timestamps on at both ends (net.ipv4.tcp_timestamps = 1, the default): with them a TIME_WAIT accepts a newer SYN whatever its sequence number. ' +
      'Let clients pick ephemeral ports rather than bind fixed ones, and give them enough (net.ipv4.ip_local_port_range) that a port does not come back ' +
      'within the server\'s TIME_WAIT (60 s on Linux); better, keep connections alive and reuse them, so that the server closes fewer of them first.',
    anomalyIds: t.ids,
  });
}
