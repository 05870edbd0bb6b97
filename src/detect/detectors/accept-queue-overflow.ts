import type { AnalyzedConnection } from '../analyzed-connection';
import type { DetectContext, DetectorDefinition } from '../detector';
import type { Finding } from '../finding';
import type { HttpExchange } from '../../http/exchange';
import { hostOf, ms } from '../facts';
import { seqAdd, seqGe, seqGt } from '../../flow/seq';
import { resetFromOtherHost } from '../path-reset';
import { pausedListenerWords, sharedServerPauses } from '../server-pauses';
import { PATH_LOSS_EVIDENCE, PATH_LOSS_NEAR, sharedPathLoss } from '../path-loss';
import { type AcceptCloseForm, acceptCloseOf } from '../accept-closes';
import { firstCloseOf } from '../proxy-legs';

/**
 * A client's data segments retransmitted at least this often without any ACK from a server that
 * had answered the handshake: more than one loss in a row, the server is dropping them.
 */
const MIN_UNACKED_RETRANSMISSIONS = 2;

/**
 * A request ignored for one retransmission only (a SYN-cookie handshake leaves no SYN-ACK to repeat,
 * and the client's next copy may find room) counts when the listener was dropping handshakes at the
 * time: another overflow, or SYNs retransmitted to it (syn-unanswered), within this many seconds.
 * accept-queue-overflow-node-blocked: 7 of 9 dropped handshake ACKs were retransmitted once, beside
 * 25 connections whose SYNs the full queue dropped.
 */
const CORROBORATION_WINDOW = 5;
/** Candidates kept at most, of each kind (a lossy path could make many). */
const MAX_SINGLES = 4096;

/**
 * Connections closed as they were accepted (accept-closes.ts) belong to one burst of refusals when
 * each came within this many seconds of the previous one (single linkage on the capture clock).
 */
const ACCEPT_BURST_WINDOW = 1;
/**
 * A connection the server closed first, having used it, within this many seconds of such a burst:
 * the server was closing what it held (a reload, a shutdown, idle connections reclaimed), and a fresh
 * connection caught in it is that event's (keepalive-race, reset-before-response), not a limit's refusal.
 */
const OTHER_CLOSE_MARGIN = 0.05;
/**
 * Ended connections remembered (when they were open, when the server last sent on them) to count
 * what the server held at each refusal: a ring, the oldest forgotten first.
 */
const OPEN_RING = 8192;
/** Refusals of one burst whose open-connection count is measured (bounded work per burst). */
const MEASURED_PER_BURST = 64;
/**
 * Passes over the ring at the end, at most (each a burst's check, or one refusal's count): bounded
 * work however many bursts a failure storm makes. A burst past it is not judged here and stays with
 * keepalive-race and reset-before-response, as before this check existed.
 */
const MAX_RING_SCANS = 1024;
/** Server names numbered for the ring, at most (past it, connections of new servers are not remembered). */
const MAX_RING_SERVERS = 65_536;

/**
 * A 5xx answered within this many seconds of its request's end: no backend's or handler's work, the
 * server's own error at once. Beside a burst of connections it refused for lack of them, it is the
 * same lack (nginx out of `worker_connections` answers 500 "worker_connections are not enough while
 * connecting to upstream" in well under a millisecond: blind round 16, load S7).
 */
const AT_ONCE_5XX = 0.01;

/** A 5xx the server answered at once (AT_ONCE_5XX), kept to be matched with a burst of refusals. */
interface FastError {
  flowId: number;
  client: string;
  server: string;
  index: number;
  status: number;
  request: string;
  requestEnd: number;
  responseStart: number;
  frames: number[];
  /** Counted with a burst already. */
  claimed: boolean;
}

/** A brand-new connection the server closed as it accepted it (accept-closes.ts), judged at the end. */
interface AcceptClose {
  flowId: number;
  client: string;
  server: string;
  form: AcceptCloseForm;
  handshakeTs: number;
  closeTs: number;
  /** The client's first data (its request), or -1. */
  requestTs: number;
  frames: number[];
}

/**
 * A SYN-ACK "repeat" sooner than this after the previous one is a copy of the same packet in the
 * capture (merged interfaces, VLAN copies), not the server's retransmission timer: no stack
 * retransmits sooner than its minimum RTO (Linux TCP_RTO_MIN 200 ms; SYN-ACKs start at 1 s).
 */
const DUPLICATE_COPY_WINDOW = 0.2;

/**
 * A server RST "answers" a client segment when it comes within this many handshake round trips
 * of it (at least MIN_ANSWER_WINDOW: scheduling on the capturing host): the kernel replies at once,
 * wherever the capture was taken, whereas a timer-driven reset (an idle or header timeout) comes
 * seconds later.
 */
const ANSWER_ROUND_TRIPS = 2;
const MIN_ANSWER_WINDOW = 0.2;

/**
 * How syn-unanswered has accept-queue-overflow report its once-resent requests before it words its
 * own diagnosis: those are judged against syn-unanswered's findings (CORROBORATION_WINDOW), and the
 * count syn-unanswered cites must be the one accept-queue-overflow's diagnosis gives. Settling
 * twice reports nothing twice.
 */
export interface OverflowSingles {
  settle: () => void;
}

/** The one OverflowSingles of an analysis (`ctx.shared`); settle does nothing unless accept-queue-overflow runs. */
export function sharedOverflowSingles(ctx: Pick<DetectContext, 'shared'>): OverflowSingles {
  return ctx.shared('accept-queue-overflow.singles', (): OverflowSingles => ({ settle: () => undefined }));
}

/** A request the server ignored at first, kept until the path's losses around it are all known. */
interface Candidate {
  finding: Parameters<DetectContext['report']>[0];
  from: number;
  to: number;
  clientHost: string;
  serverHost: string;
}

type Outcome = 'accepted-later' | 'reset-by-server' | 'client-gave-up' | 'unresolved-at-capture-end' | 'released-unresolved';

const OUTCOME_WORDS: Record<Outcome, string> = {
  'accepted-later': 'accepted by the server later',
  'reset-by-server': 'reset by the server',
  'client-gave-up': 'given up by the client',
  'unresolved-at-capture-end': 'still pending when the capture ended',
  'released-unresolved': 'never accepted',
};

/**
 * accept-queue-overflow: the client completed the handshake but the server's kernel dropped the
 * final ACK because the listener's accept queue was full (Linux, tcp_abort_on_overflow = 0). The
 * connection stays half-open on the server: it retransmits its SYN-ACK although the client ACKed
 * it, and drops the client's data too (so the request is never ACKed). A single SYN-ACK repeat
 * with no data sent before it may be one lost ACK, so it needs a second repeat or dropped data.
 *
 * With SYN cookies (net.ipv4.tcp_syncookies = 1 sends them once the SYN queue holds `backlog`
 * requests: a small listen backlog does that under any burst) the listener keeps no state for the
 * handshake, so nothing re-sends the SYN-ACK: the only trace is the client's first data being
 * retransmitted, unacknowledged, until a copy of it (which also carries the handshake ACK) finds
 * room in the queue and is ACKed - the `data-acked-late` signal. The same happens without cookies
 * when the client's retransmission comes before the server's SYN-ACK timer (1 s).
 *
 * With net.ipv4.tcp_abort_on_overflow = 1 the kernel answers that final ACK (or the first data,
 * or the ACK of a repeated SYN-ACK, whichever would have completed the connection) with a RST
 * instead: the server resets, at once, a connection it never sent a byte on (see resetAnswer). An
 * idle or header timeout resets seconds later, not in answer to a client segment. A SYN-cookie
 * handshake is never reset that way: the cookie path drops the ACK silently.
 */
export const acceptQueueOverflow: DetectorDefinition = {
  id: 'accept-queue-overflow',
  meta: {
    description:
      "The server retransmitted its SYN-ACK although the client had ACKed it, or never ACKed the client's first data " +
      "after the handshake: its kernel dropped the handshake's last ACK because the listener's accept queue was full " +
      '(the application is not calling accept() fast enough); or the application closed brand-new connections as it accepted ' +
      'them, past a connection limit (closed-at-accept).',
    severity: 'error',
    messages: {
      repeated: '{server} retransmitted its SYN-ACK {repeats}× after {client} ACKed it{data}: its accept queue was full',
      unacked: '{server} never ACKed the {bytes} bytes {client} sent after the handshake ({retransmissions} retransmissions): its accept queue was likely full',
      late: "{server} ACKed the first {bytes} bytes {client} sent after the handshake only after {retransmissions}, having sent nothing: its accept queue was likely full (the listener drops a new connection's data until it accepts it)",
      reset: '{server} reset the connection from {client} {after} after the handshake completed, before any data: its accept queue was likely full (tcp_abort_on_overflow = 1)',
      resetAnswer: "{server} reset the connection from {client} {after} after {answered}, having sent nothing but its SYN-ACK: its kernel refused a connection its full accept queue could not take (tcp_abort_on_overflow = 1)",
      closedAtAccept:
        '{server} closed the new connection from {client} {after} ms after its handshake, {how}: it refused the connection as it accepted it (a connection limit){held}',
      failedAtOnce:
        '{request} was answered {status} by {server} {after} ms after it arrived, while {server} was refusing new connections as it accepted them: its own error for lack of connections',
    },
  },
  create(ctx: DetectContext) {
    /** Requests ignored for one retransmission only, waiting for corroboration (CORROBORATION_WINDOW). */
    const singles: Candidate[] = [];
    /** Requests ignored for two retransmissions or more, judged at the end against the path's losses then. */
    const lates: Candidate[] = [];
    const pathLoss = sharedPathLoss(ctx);
    /** A paused server process (server-pauses), judged before this diagnosis: why no accept() ran. */
    const serverPauses = sharedServerPauses(ctx);
    // Ignored first data on a path that was losing segments then: a data segment lost on the way and
    // resent at the retransmission timer looks the same, and is the likelier.
    const lossy = (d: { from: number; to: number; clientHost: string; serverHost: string }): boolean =>
      pathLoss.around(d.clientHost, d.serverHost, d.from - PATH_LOSS_NEAR, d.to + PATH_LOSS_NEAR) >= PATH_LOSS_EVIDENCE;
    /**
     * A single ignored retransmission is the listener's doing only beside its other drops then: SYNs
     * answered late on a lossy path (syn-unanswered at info) are the path's, and vouch for nothing.
     * Run once syn-unanswered has reported (from its onFinish, see OverflowSingles, or from this one's).
     */
    const settleSingles = (): void => {
      // Resent twice or more: the listener's unless the path was losing segments around it, which
      // only every connection's end tells (a lossy connection open then may end long after it).
      for (const late of lates) if (!lossy(late)) ctx.report(late.finding);
      lates.length = 0;
      const dropsNear = (server: string, from: number, to: number): boolean =>
        ctx.findings('accept-queue-overflow').some((f) => f.server === server && f.evidence.signal !== 'closed-at-accept' && f.evidence.signal !== 'failed-at-once' && f.ts >= from - CORROBORATION_WINDOW && f.ts <= to + CORROBORATION_WINDOW) ||
        ctx.findings('syn-unanswered').some((f) => f.server === server && f.severity !== 'info' && f.ts >= from - CORROBORATION_WINDOW && f.ts <= to + CORROBORATION_WINDOW);
      // Judged against the drops found so far, before any single is reported: singles do not vouch for each other.
      const corroborated = singles.filter((single) => !lossy(single) && dropsNear(single.finding.server, single.from, single.to));
      for (const single of corroborated) ctx.report(single.finding);
      singles.length = 0;
    };
    sharedOverflowSingles(ctx).settle = settleSingles;

    /** Fresh connections closed as they were accepted (accept-closes.ts), reported at the end by burst. */
    const acceptCloses: AcceptClose[] = [];
    const acceptCloseFlows = new Set<number>();
    /** 5xx answered at once, matched at the end with the bursts of refusals they came in. */
    const fastErrors: FastError[] = [];
    // What every ended connection held open, for the count at each refusal: a ring of columns.
    const ringServer = new Int32Array(OPEN_RING);
    const ringFlow = new Float64Array(OPEN_RING);
    const ringFrom = new Float64Array(OPEN_RING);
    const ringTo = new Float64Array(OPEN_RING);
    /** The server's first close of it (it closed first, unannounced), or -1. */
    const ringServerClose = new Float64Array(OPEN_RING);
    const ringServerData = new Float64Array(OPEN_RING);
    let ringNext = 0;
    let ringCount = 0;
    const serverIds = new Map<string, number>();
    const remember = (conn: AnalyzedConnection): void => {
      if (conn.handshakeAckTs < 0) return;
      let id = serverIds.get(conn.serverName);
      if (id === undefined) {
        if (serverIds.size >= MAX_RING_SERVERS) return;
        serverIds.set(conn.serverName, (id = serverIds.size));
      }
      const first = firstCloseOf(conn);
      const i = ringNext;
      ringServer[i] = id;
      ringFlow[i] = conn.id;
      ringFrom[i] = conn.handshakeAckTs;
      ringTo[i] = first !== null ? first.ts : Math.max(conn.client.lastTs, conn.server.lastTs);
      // Not a close the last response announced (Connection: close, an error's ordinary end).
      ringServerClose[i] = first !== null && !first.byClient && !conn.serverCloseAnnounced ? first.ts : -1;
      ringServerData[i] = conn.server.payloadBytes > 0 ? conn.server.lastDataTs : -1;
      ringNext = (i + 1) % OPEN_RING;
      if (ringCount < OPEN_RING) ringCount++;
    };

    /**
     * Reports the bursts of connections refused at accept that a limit explains: a burst with at
     * least one closed by FIN before its request (an application's close; a restart's kernel resets
     * what its listener held, it sends no FIN), and no connection the server had used closed by it
     * around the burst (a reload or shutdown closing what it held, idle connections reclaimed: those
     * detectors' own). The rest are left to keepalive-race and reset-before-response, which ask.
     */
    const reportAcceptCloses = (): void => {
      const byServer = new Map<string, AcceptClose[]>();
      for (const a of acceptCloses) {
        const list = byServer.get(a.server);
        if (list === undefined) byServer.set(a.server, [a]);
        else list.push(a);
      }
      let scans = 0;
      for (const [server, all] of byServer) {
        all.sort((a, b) => a.closeTs - b.closeTs || a.flowId - b.flowId);
        const bursts: AcceptClose[][] = [];
        for (const a of all) {
          const last = bursts[bursts.length - 1];
          if (last !== undefined && a.closeTs - last[last.length - 1].closeTs <= ACCEPT_BURST_WINDOW) last.push(a);
          else bursts.push([a]);
        }
        const id = serverIds.get(server) ?? -1;
        const claimed: Array<{ finding: Finding; a: AcceptClose }> = [];
        const errors: Array<{ finding: Finding; status: number }> = [];
        const openCounts: number[] = [];
        let servedAfter = 0;
        for (const burst of bursts) {
          if (!burst.some((a) => a.form === 'fin-before-request') || scans >= MAX_RING_SCANS) continue;
          scans++;
          const from = burst[0].closeTs;
          const to = burst[burst.length - 1].closeTs;
          let otherClose = false;
          let served = 0;
          for (let k = 0; k < ringCount; k++) {
            if (ringServer[k] !== id || acceptCloseFlows.has(ringFlow[k])) continue;
            const closed = ringServerClose[k];
            if (closed >= from - OTHER_CLOSE_MARGIN && closed <= to + OTHER_CLOSE_MARGIN) otherClose = true;
            // Open at the burst's first refusal, and sent on by the server after its last: it served on.
            if (ringFrom[k] <= from && ringTo[k] > from && ringServerData[k] > to) served++;
          }
          if (otherClose) continue;
          servedAfter += served;
          // The server's own 5xx answered at once around the burst: the same lack of connections.
          for (const e of fastErrors) {
            if (e.server !== server || e.claimed || e.responseStart < from - ACCEPT_BURST_WINDOW || e.responseStart > to + ACCEPT_BURST_WINDOW) continue;
            e.claimed = true; // one burst's (bursts lie more than the window apart, their margins may touch)
            const finding = ctx.report({
              flowId: e.flowId, client: e.client, server,
              ts: e.responseStart,
              message: 'failedAtOnce',
              data: { server, request: e.request, status: e.status, after: ms((e.responseStart - e.requestEnd) * 1000) },
              evidence: {
                signal: 'failed-at-once',
                status: e.status,
                exchangeIndex: e.index,
                answeredAfter: Math.round((e.responseStart - e.requestEnd) * 1e6) / 1e6,
                burstSize: burst.length,
                outcome: 'answered-5xx',
              },
              frames: e.frames,
            });
            errors.push({ finding, status: e.status });
          }
          burst.forEach((a, n) => {
            let open = -1;
            if (n < MEASURED_PER_BURST && scans < MAX_RING_SCANS) {
              scans++;
              open = 0;
              for (let k = 0; k < ringCount; k++) {
                if (ringServer[k] === id && !acceptCloseFlows.has(ringFlow[k]) && ringFrom[k] <= a.closeTs && ringTo[k] > a.closeTs) open++;
              }
              openCounts.push(open);
            }
            const after = a.closeTs - a.handshakeTs;
            const finding = ctx.report({
              flowId: a.flowId, client: a.client, server,
              ts: a.closeTs,
              message: 'closedAtAccept',
              data: {
                server, client: a.client,
                after: ms(after * 1000),
                how: a.form === 'fin-before-request'
                  ? `by FIN before any request reached it${a.requestTs >= 0 ? ' (the request that followed was reset)' : ''}`
                  : 'by RST with its request unread',
                held: open >= 0 ? ` while it held ${open} other connection${open === 1 ? '' : 's'}` : '',
              },
              evidence: {
                signal: 'closed-at-accept',
                form: a.form,
                closeAfterHandshake: Math.round(after * 1e6) / 1e6,
                requestAfterClose: a.requestTs >= 0 ? Math.round((a.requestTs - a.closeTs) * 1e6) / 1e6 : null,
                openConnections: open >= 0 ? open : null,
                burstSize: burst.length,
                outcome: a.form === 'fin-before-request' ? 'closed-by-server' : 'reset-by-server',
              },
              frames: a.frames,
            });
            claimed.push({ finding, a });
          });
        }
        if (claimed.length > 0) diagnoseAcceptCloses(server, claimed, openCounts, servedAfter, errors);
      }
    };

    const diagnoseAcceptCloses = (
      server: string, claimed: ReadonlyArray<{ finding: Finding; a: AcceptClose }>, openCounts: readonly number[], servedAfter: number,
      errors: ReadonlyArray<{ finding: Finding; status: number }>,
    ): void => {
      const n = claimed.length;
      const fins = claimed.filter(({ a }) => a.form === 'fin-before-request').length;
      const resets = n - fins;
      const first = claimed[0].a.closeTs;
      const last = claimed[n - 1].a.closeTs;
      let lo = Infinity;
      let hi = -Infinity;
      let slowest = 0;
      for (const { a } of claimed) slowest = Math.max(slowest, a.closeTs - a.handshakeTs);
      for (const k of openCounts) {
        lo = Math.min(lo, k);
        hi = Math.max(hi, k);
      }
      const clients = new Set(claimed.map(({ a }) => hostOf(a.client))).size;
      const held =
        openCounts.length === 0 ? ''
        : lo === hi
          ? ` At ${openCounts.length === 1 ? 'the refusal' : 'every refusal'} it held ${lo} other connection${lo === 1 ? '' : 's'} of this port open` +
            (lo === 0 ? ': the limit was taken by connections the capture does not show.' : `: a limit of about ${lo} (a proxy's limit counts its upstream connections and listeners too, as nginx's \`worker_connections\` does).`)
          : ` At the refusals it held between ${lo} and ${hi} other connections of this port open.`;
      const shapes = [
        fins > 0 ? `${n === 1 ? 'it was' : `${fins}`} closed by FIN before the request reached the application (the request that followed met a RST: curl 52 "Empty reply from server", Node ECONNRESET "socket hang up", Go EOF)` : '',
        resets > 0 ? `${n === 1 ? 'it was' : `${resets}`} reset with the request unread (the request had arrived before the application got to the connection: ECONNRESET)` : '',
      ].filter((t) => t !== '').join('; ');
      ctx.diagnose({
        server,
        count: n,
        inferred: {},
        explanation:
          `${server} closed ${n === 1 ? 'a brand-new connection' : `${n} brand-new connections (from ${clients} client host${clients === 1 ? '' : 's'})`} ` +
          `${n === 1 ? `${ms(slowest * 1000)} ms after its` : `within ${ms(slowest * 1000)} ms of their`} handshake, having sent nothing` +
          (n > 1 ? `, ${ms((last - first) * 1000)} ms from the first to the last` : '') +
          `: ${shapes}.` +
          ` The application accepted ${n === 1 ? 'it' : 'them'} and closed ${n === 1 ? 'it' : 'them'} at once: a connection limit refusing connections past it ` +
          '(Node `server.maxConnections`, nginx out of `worker_connections` ("worker_connections are not enough" in its error log), a server shedding load, a per-address limit), ' +
          `not a keep-alive race (no connection was reused after an idle period: ${n === 1 ? 'it was' : 'these were'} never used) and not a restart` +
          (servedAfter > 0 ? ` (it went on serving ${servedAfter} connection${servedAfter === 1 ? '' : 's'} it held at the time)` : '') +
          '.' + held +
          (errors.length > 0
            ? ` Meanwhile it answered ${errors.length} request${errors.length === 1 ? '' : 's'} with ${[...new Set(errors.map((e) => e.status))].join('/')} at once (within ${AT_ONCE_5XX * 1000} ms): ` +
              'its own error for the same lack, not a backend\'s (nginx: "worker_connections are not enough while connecting to upstream", a proxy with no connection left to open one upstream).'
            : ''),
        remedy:
          `Raise ${server}'s connection limit (Node \`server.maxConnections\`, nginx \`worker_connections\` with \`worker_rlimit_nofile\`, HAProxy \`maxconn\`, ` +
          "Apache `MaxRequestWorkers`, a per-IP limit) to the concurrency its clients bring, or keep the clients under it: cap their pools so that requests queue " +
          'in the client instead of opening more connections (Node http.Agent `maxSockets`, Go Transport `MaxConnsPerHost`, urllib3 `maxsize` with `block=True`, ' +
          'nginx upstream `max_conns`). Retry requests refused so (idempotent ones) after a short back-off: the server never read them.',
        anomalyIds: [...claimed.map(({ finding }) => finding.id), ...errors.map(({ finding }) => finding.id)],
      });
    };

    return {
      onExchange(ex: HttpExchange, conn: AnalyzedConnection): void {
        // Cheap tests first: most exchanges are no 5xx.
        const status = ex.status;
        if (status === null || status < 500 || status > 599 || ex.responseStart === null || ex.requestEnd === null || ex.uncertain) return;
        if (ex.responseStart - ex.requestEnd > AT_ONCE_5XX || fastErrors.length >= MAX_SINGLES) return;
        fastErrors.push({
          flowId: conn.id, client: conn.clientName, server: conn.serverName, index: ex.index, status,
          request: ex.method !== null ? `${ex.method} ${ex.uri ?? ''}`.trim() : 'a request',
          requestEnd: ex.requestEnd, responseStart: ex.responseStart,
          frames: [ex.requestFrame ?? 0, ex.responseFrame ?? 0].filter((f) => f > 0),
          claimed: false,
        });
      },
      onConnectionEnd(conn: AnalyzedConnection): void {
        pathLoss.note(conn);
        remember(conn);
        const acceptClose = acceptCloseOf(conn, ctx.options.minIdleTimeout);
        if (acceptClose !== null && acceptCloses.length < MAX_SINGLES) {
          const c = conn.client;
          const s = conn.server;
          const byFin = acceptClose === 'fin-before-request';
          const frames = [s.synAckFrames[0] ?? 0, byFin ? s.finFrame : s.rstFrame];
          if (c.firstDataTs >= 0) frames.push(c.firstDataFrame);
          if (byFin && s.rstTs >= 0) frames.push(s.rstFrame);
          acceptCloses.push({
            flowId: conn.id, client: conn.clientName, server: conn.serverName, form: acceptClose,
            handshakeTs: conn.handshakeAckTs, closeTs: byFin ? s.finTs : s.rstTs, requestTs: c.firstDataTs,
            frames: frames.filter((f) => f > 0).sort((a, b) => a - b),
          });
          acceptCloseFlows.add(conn.id);
        }
        const c = conn.client;
        const s = conn.server;
        if (s.synAckCount === 0 || !c.hasIsn || !s.hasIsn || c.synCount === 0) return;
        // The client completed the handshake: it acknowledged the server's SYN.
        if (!c.hasAck || !seqGe(c.highestAck, seqAdd(s.isn, 1))) return;

        const dataAcked = s.hasAck && seqGt(s.highestAck, seqAdd(c.isn, 1));
        const clientSentData = c.payloadBytes > 0;
        // Neither signal is possible (no repeated SYN-ACK, no unacknowledged data): the common case,
        // decided before anything is allocated for it.
        const answered = resetAnswer(conn, dataAcked);
        const resetAtHandshake = answered !== null;
        // Retransmissions of the client's data before the server acknowledged any of it: the listener
        // dropping it (the request is acked later, or never).
        const earlyRetransmissions = c.retransmissionsBeforePeerAck;
        if (conn.synAckRepeatsAfterAck === 0 && !resetAtHandshake && !(clientSentData && earlyRetransmissions >= 1)) return;
        const firstSynAck = s.synAckTimes[0];
        const repeatTimes: number[] = [];
        const repeatFrames: number[] = [];
        for (const frame of conn.synAckRepeatFrames) {
          const i = s.synAckFrames.indexOf(frame);
          if (i <= 0 || s.synAckTimes[i] - s.synAckTimes[i - 1] < DUPLICATE_COPY_WINDOW) continue;
          repeatTimes.push(s.synAckTimes[i]);
          repeatFrames.push(frame);
        }
        // Past the kept frames, repeats are counted only (they come at growing RTOs, never as copies).
        const repeats = repeatFrames.length + Math.max(0, conn.synAckRepeatsAfterAck - conn.synAckRepeatFrames.length);
        // One repeat may be one lost ACK; the client's data, which also acknowledges the SYN-ACK, being
        // dropped too (retransmitted, or never ACKed) makes it the listener refusing the connection.
        const dataDropped = clientSentData && (c.retransmissions > 0 || !dataAcked);
        const repeated = repeats >= 2 || (repeats >= 1 && dataDropped);
        const unacked =
          !repeated && clientSentData && !dataAcked && c.retransmissions >= MIN_UNACKED_RETRANSMISSIONS &&
          s.payloadBytes === 0 && s.finTs < 0 && s.rstTs < 0;
        // Acknowledged in the end, after the server had ignored MIN_UNACKED_RETRANSMISSIONS copies. A
        // server that FINs or resets before acknowledging anything is refusing, not queueing.
        // A server that kept acknowledging only the handshake while the data was out (duplicate ACKs)
        // had the connection: a data segment was lost on the path (healthy-lossy-path-client-side).
        const lateOnce =
          !repeated && !unacked && clientSentData && dataAcked && earlyRetransmissions >= 1 && s.synOnlyDupAcks === 0 &&
          !(s.rstTs >= 0 && s.payloadBytes === 0) && !(s.finTs >= 0 && s.payloadBytes === 0);
        const late = lateOnce && earlyRetransmissions >= MIN_UNACKED_RETRANSMISSIONS;
        // Once only: kept until the end, when what else the listener dropped meanwhile is known.
        const single = lateOnce && !late;
        if (!repeated && !unacked && !late && !resetAtHandshake && !single) return;

        let outcome: Outcome;
        if (dataAcked || s.payloadBytes > 0) outcome = 'accepted-later';
        else if (s.rstTs >= 0) outcome = 'reset-by-server';
        else if (c.finTs >= 0 || c.rstTs >= 0) outcome = 'client-gave-up';
        else if (conn.endReason === 'capture-end') outcome = 'unresolved-at-capture-end';
        else outcome = 'released-unresolved';

        const evidence = {
          signal: repeated ? 'synack-repeated-after-ack' : unacked ? 'data-not-acked' : late || single ? 'data-acked-late' : 'reset-after-handshake',
          synAckRepeats: repeats,
          synAckOffsets: s.synAckTimes.map((t) => ms(t - firstSynAck)),
          clientDataBytes: c.payloadBytes,
          firstDataOffset: clientSentData ? ms(c.firstDataTs - firstSynAck) : null,
          dataRetransmissions: c.retransmissions,
          dataRetransmissionsBeforeAck: earlyRetransmissions,
          dataAcked,
          outcome,
        };
        const frames = [s.synAckFrames[0], ...repeatFrames, ...(clientSentData ? [c.firstDataFrame] : [])];
        if (repeated) {
          ctx.report({
            flowId: conn.id, client: conn.clientName, server: conn.serverName,
            ts: repeatTimes.length > 0 ? repeatTimes[0] : s.synAckTimes[s.synAckTimes.length - 1],
            message: 'repeated',
            data: {
              server: conn.serverName, client: conn.clientName, repeats,
              data: clientSentData ? (dataAcked ? '; its data was ACKed only later' : `; its ${c.payloadBytes} bytes of data were never ACKed`) : '',
            },
            evidence,
            frames,
          });
        } else if (late || single) {
          const finding = {
            flowId: conn.id, client: conn.clientName, server: conn.serverName,
            ts: c.firstDataTs,
            message: 'late',
            data: { server: conn.serverName, client: conn.clientName, bytes: c.firstDataBytes, retransmissions: retransmissionsText(earlyRetransmissions) },
            evidence,
            frames,
          };
          const candidate = { finding, from: firstSynAck, to: c.firstDataTs, clientHost: conn.clientHost, serverHost: conn.serverHost };
          // Judged at the end (settleSingles): against the losses of every connection open around it.
          // Past the bound, judged now against the losses of the connections ended so far.
          if (late) {
            if (lates.length < MAX_SINGLES) lates.push(candidate);
            else if (!lossy(candidate)) ctx.report(finding);
          }
          else if (singles.length < MAX_SINGLES) singles.push(candidate);
        } else if (!unacked) {
          // Answering the handshake ACK: worded as before; answering a later segment: named.
          const sinceAnswered = s.rstTs - (answered === 'data' ? s.peerDataBeforeCloseTs : answered === 'repeat-ack' ? c.lastTs : conn.handshakeAckTs);
          ctx.report({
            flowId: conn.id, client: conn.clientName, server: conn.serverName,
            ts: s.rstTs,
            message: answered === 'handshake-ack' ? 'reset' : 'resetAnswer',
            data: {
              server: conn.serverName, client: conn.clientName,
              after: sinceAnswered < 0.001 ? 'at once' : `${ms(sinceAnswered)} s`,
              answered: answered === 'data' ? 'its first data' : 'its ACK of the repeated SYN-ACK',
            },
            evidence: { ...evidence, resetAfterHandshake: ms(s.rstTs - conn.handshakeAckTs), resetAnswers: answered },
            frames: [...frames, s.rstFrame],
          });
        } else {
          ctx.report({
            flowId: conn.id, client: conn.clientName, server: conn.serverName,
            ts: c.firstDataTs,
            message: 'unacked',
            data: { server: conn.serverName, client: conn.clientName, bytes: c.payloadBytes, retransmissions: c.retransmissions },
            evidence,
            frames,
          });
        }
      },

      onFinish(): void {
        settleSingles();
        const byServer = new Map<string, Array<{ id: string; ts: number; outcome: string; signal: string }>>();
        for (const f of ctx.findings('accept-queue-overflow')) {
          if (f.evidence.signal === 'closed-at-accept' || f.evidence.signal === 'failed-at-once') continue; // diagnosed on their own (reportAcceptCloses)
          const list = byServer.get(f.server) ?? [];
          list.push({ id: f.id, ts: f.ts, outcome: String(f.evidence.outcome), signal: String(f.evidence.signal) });
          byServer.set(f.server, list);
        }
        // A connection whose SYN went unanswered before its handshake overflowed the queue is one of
        // this diagnosis's own: the "other attempts" are the rest (blind s1b: 3 of 23 were its own).
        const overflowFlows = new Set<number>();
        for (const f of ctx.findings('accept-queue-overflow')) if (f.flowId !== null) overflowFlows.add(f.flowId);
        const synDrops = new Map<string, number>();
        for (const f of ctx.findings('syn-unanswered')) {
          if (f.flowId !== null && overflowFlows.has(f.flowId)) continue;
          synDrops.set(f.server, (synDrops.get(f.server) ?? 0) + 1);
        }

        for (const [server, items] of byServer) {
          const n = items.length;
          const outcomes = new Map<string, number>();
          for (const i of items) outcomes.set(i.outcome, (outcomes.get(i.outcome) ?? 0) + 1);
          const outcomeText = [...outcomes].map(([o, k]) => `${k} ${OUTCOME_WORDS[o as Outcome] ?? o}`).join(', ');
          const onlyUnacked = items.every((i) => i.signal === 'data-not-acked' || i.signal === 'data-acked-late');
          const onlyReset = items.every((i) => i.signal === 'reset-after-handshake');
          const resets = items.filter((i) => i.signal === 'reset-after-handshake').length;
          const drops = synDrops.get(server) ?? 0;
          const port = server.slice(server.lastIndexOf(':') + 1);
          // Overflows while the whole process was paused: the queue filled because no accept() ran.
          const pause = serverPauses.pauseOf(server);
          const inPause = pause === null ? 0 : items.filter((i) => i.ts >= pause.from && i.ts <= pause.burstFirst).length;
          const paused = pause !== null && inPause > 0 ? pausedListenerWords(server, pause, inPause, n, "the handshakes' last ACKs and the data") : null;
          ctx.diagnose({
            server,
            count: n,
            inferred: { ...(paused?.inferred ?? {}) },
            explanation:
              `${n} connection${n === 1 ? '' : 's'} to ${server} completed the handshake on the client's side, but ` +
              signalText(items) +
              ` (${outcomeText}). ` +
              (onlyReset
                ? "A Linux listener whose accept queue is full answers the handshake's last ACK (or the first data that carries it) with a RST when " +
                  'net.ipv4.tcp_abort_on_overflow = 1 (and drops it, leaving the connection half-open, when it is 0)'
                : "A Linux listener whose accept queue is full drops the handshake's last ACK and then the data, leaving the connection half-open " +
                  // A repeated SYN-ACK proves a queued handshake (a cookie keeps nothing to repeat); ignored data alone does not.
                  (items.every((i) => i.signal === 'synack-repeated-after-ack' || i.signal === 'reset-after-handshake')
                    ? '(net.ipv4.tcp_abort_on_overflow = 0)'
                    : '(no RST: net.ipv4.tcp_abort_on_overflow = 0, or a handshake answered with a SYN cookie, which the kernel never resets)') +
                  (resets > 0 ? `; with net.ipv4.tcp_abort_on_overflow = 1 it resets a queued handshake at once instead (${resets} here)` : '')) +
              ': the application is not calling accept() fast enough (blocked event loop, too few workers, a backlog too small for bursts).' +
              (drops > 0 ? ` ${drops} other attempt${drops === 1 ? '' : 's'} to it had SYNs go unanswered (syn-unanswered): a full accept queue drops new SYNs too.` : '') +
              (onlyUnacked ? ' Without SYN-ACK repeats, a path dropping data after the handshake (MTU black hole, stateful firewall) would look the same.' : '') +
              (onlyReset ? ' An application that accepts and aborts connections at once (SO_LINGER 0, a connection limit) would look the same when the client sent no data.' : '') +
              (paused?.note ?? ''),
            remedy:
              (paused?.remedy ?? '') +
              `On ${hostOf(server)}: confirm with \`nstat -az TcpExtListenOverflows\` (growing) and \`ss -ltn 'sport = :${port}'\` ` +
              '(Recv-Q at the Send-Q backlog). Make the application accept faster — unblock its event loop or accept thread, ' +
              'add workers — and raise its listen() backlog together with net.core.somaxconn (the kernel caps the backlog ' +
              'at it). ' +
              (onlyReset
                ? 'net.ipv4.tcp_abort_on_overflow = 1 (set here) makes clients fail at once during short bursts that would otherwise ' +
                  'recover; 0 lets them wait for room instead: fix the accept rate first.'
                : 'net.ipv4.tcp_abort_on_overflow = 1 makes clients fail fast with a RST instead of hanging, but only for handshakes ' +
                  'the listener queued (a SYN-cookie handshake is dropped the same: `nstat -az TcpExtSyncookiesRecv` counts them), and ' +
                  'it also resets connections during short bursts that would otherwise recover: fix the accept rate first.'),
            anomalyIds: items.map((i) => i.id),
          });
        }
        // After the queue's own diagnoses (they count only its findings so far); before keepalive-race's
        // and reset-before-response's ends, which leave these connections to it.
        reportAcceptCloses();
      },
    };
  },
};

/**
 * The client segment the server's RST answers when it is the listener refusing a connection its
 * full accept queue could not take (net.ipv4.tcp_abort_on_overflow = 1), or null. The kernel
 * resets the segment that would have completed the connection - the handshake's ACK, the ACK of
 * a repeated SYN-ACK (the first ACK having been dropped), or the client's first data, which
 * carries the ACK too - at once, before any socket exists for it: so the server had sent nothing
 * but SYN-ACKs, acknowledged none of the client's bytes, did not FIN, and the RST comes within
 * ANSWER_ROUND_TRIPS handshake round trips of the client's latest segment before it. A timer-driven
 * reset (an idle or header timeout) comes seconds after the client's last segment instead.
 *
 * A RST after client data must also lack the ACK flag (it answers a segment for which no socket
 * was created: RST alone, seq = the segment's ACK number): an application that read the request
 * and aborted (SO_LINGER 0) sends RST+ACK. And the client must have acknowledged nothing past the
 * SYN-ACK, the RST not being one past the server's data (Endpoint.finUnseen): a socket that was
 * accepted and closed (a restart, its FIN not in the capture) resets late data the same way, but
 * its FIN took a sequence number the client acknowledges or the RST shows.
 */
function resetAnswer(conn: AnalyzedConnection, dataAcked: boolean): 'handshake-ack' | 'repeat-ack' | 'data' | null {
  const c = conn.client;
  const s = conn.server;
  const rst = s.rstTs;
  if (rst < 0 || conn.handshakeAckTs < 0 || rst < conn.handshakeAckTs) return null;
  if (dataAcked || s.payloadBytes > 0 || s.finTs >= 0 || s.finUnseen) return null;
  if ((c.finTs >= 0 && c.finTs <= rst) || (c.rstTs >= 0 && c.rstTs <= rst)) return null;
  const dataBefore = c.firstDataTs >= 0 && c.firstDataTs <= rst;
  if (dataBefore && (s.rstHasAck || !c.hasAck || c.highestAck !== seqAdd(s.isn, 1))) return null;
  // Not the listener's kernel: a RST from another hop than its SYN-ACK (a firewall rejecting the
  // client's first data with a tcp reset answers it the same way, at once and without ACK).
  if (resetFromOtherHost(s)) return null;
  // The client's latest segment before the RST: its last one, unless it sent more after the RST
  // crossed it (then its last data before the RST, or the handshake ACK).
  let answered = conn.handshakeAckTs;
  let what: 'handshake-ack' | 'repeat-ack' | 'data' = 'handshake-ack';
  if (dataBefore && s.peerDataBeforeCloseTs > answered) {
    answered = s.peerDataBeforeCloseTs;
    what = 'data';
  }
  if (c.lastTs <= rst && c.lastTs > answered) {
    answered = c.lastTs;
    if (!dataBefore && conn.synAckRepeatsAfterAck > 0) what = 'repeat-ack';
  }
  const roundTrip = c.synTimes.length > 0 ? Math.max(0, conn.handshakeAckTs - c.synTimes[c.synTimes.length - 1]) : 0;
  return rst - answered <= Math.max(ANSWER_ROUND_TRIPS * roundTrip, MIN_ANSWER_WINDOW) ? what : null;
}

const SIGNAL_WORDS: Record<string, string> = {
  'synack-repeated-after-ack': 'the server kept retransmitting its SYN-ACK although the client had ACKed it',
  'data-acked-late':
    "the server ignored the client's first data (retransmitted without an ACK) and ACKed it only later, without re-sending its SYN-ACK " +
    "(a SYN-cookie handshake keeps no state to re-send, and a client retransmitting before the server's 1 s SYN-ACK timer shows none either)",
  'data-not-acked': "the server never acknowledged the client's data (retransmitted without an ACK)",
  'reset-after-handshake': "the server reset the connection at once in answer to the client's handshake ACK (or first data), having sent nothing but its SYN-ACK",
};

/** "1 retransmission", "2 retransmissions". */
function retransmissionsText(n: number): string {
  return `${n} retransmission${n === 1 ? '' : 's'}`;
}

/** What the server did, per signal seen, with counts when the signals are mixed. */
function signalText(items: ReadonlyArray<{ signal: string }>): string {
  const counts = new Map<string, number>();
  for (const i of items) counts.set(i.signal, (counts.get(i.signal) ?? 0) + 1);
  if (counts.size === 1) return SIGNAL_WORDS[items[0].signal] ?? items[0].signal;
  return [...counts].map(([signal, k]) => `${SIGNAL_WORDS[signal] ?? signal} (${k})`).join('; ');
}
