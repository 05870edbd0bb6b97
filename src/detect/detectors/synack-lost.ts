import type { AnalyzedConnection } from '../analyzed-connection';
import type { DetectContext, DetectorDefinition } from '../detector';
import { at, hostOf, ms } from '../facts';
import { capturingHostRemedy, CopiedPath, CopiedPaths, sharedCopiedPaths } from '../copied-paths';
import { firstSynAckResent, PATH_LOSS_EVIDENCE, PATH_LOSS_NEAR, sharedPathLoss, SYN_ACK_RESEND_FLOOR } from '../path-loss';
import { firstAfter, firstAtOrAfter } from '../sorted-search';
import { answeredEarlierSyn, DUPLICATE_COPY_WINDOW } from './syn-unanswered';

/**
 * Delayed connects to one server it takes before any is reported: one lost SYN-ACK is the random
 * loss every path has now and then (handshake-synack-lost-server-side); a second says the loss
 * recurs.
 */
const MIN_DELAYED = 2;
/**
 * The share of a server's handshakes that must have been delayed: from 1 % on, the 99th percentile
 * of its connect times is a handshake retransmission timeout (1 s, some hundred round trips) instead
 * of one round trip, the tail latency services are judged by. Fewer is noise beside the connects
 * that went well.
 */
const MIN_SHARE = 0.01;
/** Delayed connects kept for the end (all servers together); later ones are not judged (their handshakes still count). */
const MAX_KEPT = 10_000;
/** Server endpoints whose handshakes are counted; more are not tracked. */
const MAX_SERVERS_COUNTED = 65_536;

/** Where the capture shows the lost SYN-ACK: sent (at the server, or before the loss), or missing (at the client). */
type SeenAt = 'server' | 'client';
/** Whose timer recovered the handshake: the client's SYN sent again, or the server's SYN-ACK. */
type RecoveredBy = 'client' | 'server';

/**
 * The client sent its first data within this long after its handshake ACK: it sends as soon as
 * connect() returns (an HTTP request, a TLS ClientHello), so that ACK is when it was connected.
 */
const SENT_AT_ONCE = 0.1;

/** A connect that paid a retransmission timeout because the server's SYN-ACK was lost on the way back. */
interface Delayed {
  flowId: number;
  client: string;
  server: string;
  clientHost: string;
  serverHost: string;
  seenAt: SeenAt;
  recoveredBy: RecoveredBy;
  firstSynTs: number;
  firstSynFrame: number;
  /** The first SYN's own SYN-ACK, which never arrived (seen at the server; -1 / 0 at the client, where it never shows). */
  lostSynAckTs: number;
  lostSynAckFrame: number;
  /** What the timer sent again: the client's SYN (same ISN), or the server's SYN-ACK. */
  repeatTs: number;
  repeatFrame: number;
  /** The SYN-ACK that answered the repeated SYN (-1 / 0 when none is in the capture, or the server's own repeat did). */
  answerTs: number;
  answerFrame: number;
  /** What the connect paid over a round trip: from the first SYN (or SYN-ACK) to the timer's repeat. */
  delay: number;
  /**
   * What the whole connect paid: from the first SYN to the handshake's last ACK, where more answers
   * were lost after the first (each repeat a timer's doubling later: 1 + 2 + 2 s in blind round 14's
   * 30 % loss, read as '1.021 s longer' for a connect of 5.1 s); `delay` otherwise.
   */
  connectDelay: number;
  /** The connection's span, and whether path-loss.ts's pathLosses counted its handshake as a loss (firstSynAckResent; see onFinish). */
  startTs: number;
  lastTs: number;
  countedAsPathLoss: boolean;
  /**
   * The lost SYN-ACK (seen at the server's side) was seen once although the capture holds copies of
   * the server's later packets (Endpoint.firstCopiedTs after it), with its IP TTL: on a host that
   * forwards them it came in and never went out (CopiedPaths.droppedBetween, in the diagnosis).
   */
  lostSeenOnce: boolean;
  lostTtl: number;
}

/**
 * The lost SYN-ACK a connection's handshake shows, or null. The server answered the client's first
 * SYN at once, the answer never reached the client, and a retransmission timer (1 s on Linux, each
 * side) recovered it, whichever fired first:
 * - the client's: it sent its SYN again (same ISN, later than any capture copy).
 *   - Seen at the server (or anywhere before the loss): the server's SYN-ACK for the first SYN is
 *     in the capture before the repeated SYN. A listener that cannot take a SYN (full SYN or
 *     accept queue, a firewall) sends nothing and answers only a retry: syn-unanswered's, not this.
 *   - Seen at the client: the answer came after the repeat, and its timestamp echo (TSecr) is the
 *     first SYN's TSval, not the repeat's: Linux keeps the first SYN's TSval and echoes it when it
 *     answers a repeat, so the first SYN arrived and was answered. Without TCP timestamps a
 *     capture next to the client cannot tell this from a SYN lost on the way or a listener's drop.
 * - the server's: its SYN-ACK timer sent the SYN-ACK again before the client's SYN timer fired (a
 *   short path, or a client with a longer initial RTO).
 *   - Seen at the client: its only SYN answered SYN_ACK_RESEND_FLOOR or more later (a listener
 *     answers at once or never; no path this side of a satellite link takes that long).
 *   - Seen at the server: the client's first ACK came only after the repeat, and its first data at
 *     once after that ACK (SENT_AT_ONCE). A lost ACK looks alike only for a client that stays
 *     silent after connecting: one that sends at once is read before the server's timer fires.
 * A client that reset something before the repeat (a stale SYN-ACK it refused: port-reuse), or had
 * acknowledged a SYN-ACK before it, did not miss the answer.
 */
function lostSynAckOf(conn: AnalyzedConnection): Delayed | null {
  const c = conn.client;
  const s = conn.server;
  if (c.synTimes.length === 0 || s.synAckTimes.length === 0) return null;
  const first = c.synTimes[0];
  const synAck = s.synAckTimes[0];
  if (synAck < first) return null;
  let r = -1;
  for (let i = 1; i < c.synTimes.length; i++) {
    if (c.synTimes[i] - first >= DUPLICATE_COPY_WINDOW) {
      r = i;
      break;
    }
  }
  let seenAt: SeenAt;
  let recoveredBy: RecoveredBy;
  /** The index of what the timer sent again: the client's SYN (synTimes) or the server's SYN-ACK (synAckTimes). */
  let repeat: number;
  if (r < 0) {
    // One SYN (its copies aside): only the server's timer can have recovered a lost answer.
    recoveredBy = 'server';
    if (c.synCount > c.synTimes.length || conn.handshakeAckTs < 0) return null;
    if (c.rstTs >= 0 && c.rstTs < conn.handshakeAckTs) return null;
    if (synAck - first >= SYN_ACK_RESEND_FLOOR) {
      seenAt = 'client';
      repeat = 0;
    } else {
      seenAt = 'server';
      repeat = -1;
      for (let i = 1; i < s.synAckTimes.length; i++) {
        if (s.synAckTimes[i] - synAck >= SYN_ACK_RESEND_FLOOR) {
          repeat = i;
          break;
        }
      }
      if (repeat < 0 || conn.handshakeAckTs < s.synAckTimes[repeat] || c.firstDataTs < 0 || c.firstDataTs - conn.handshakeAckTs > SENT_AT_ONCE) return null;
    }
  } else {
    recoveredBy = 'client';
    repeat = r;
    const synAgain = c.synTimes[r];
    if (c.rstTs >= 0 && c.rstTs < synAgain) return null;
    if (conn.handshakeAckTs >= 0 && conn.handshakeAckTs < synAgain) return null;
    if (synAck < synAgain) seenAt = 'server';
    else if (answeredEarlierSyn(conn)) seenAt = 'client';
    else return null;
  }
  const repeatTs = recoveredBy === 'client' ? c.synTimes[repeat] : s.synAckTimes[repeat];
  // The SYN-ACK that answered the client's repeated SYN.
  let answer = -1;
  if (recoveredBy === 'client') {
    for (let i = 0; i < s.synAckTimes.length; i++) {
      if (s.synAckTimes[i] >= repeatTs) {
        answer = i;
        break;
      }
    }
  }
  const lostShown = seenAt === 'server';
  const delay = recoveredBy === 'server' && seenAt === 'server' ? repeatTs - synAck : repeatTs - first;
  // The whole connect, to the handshake's last ACK: longer than the first repeat where later answers were lost too.
  const whole = conn.handshakeAckTs >= 0 ? conn.handshakeAckTs - first : -1;
  return {
    flowId: conn.id, client: conn.clientName, server: conn.serverName, clientHost: conn.clientHost, serverHost: conn.serverHost,
    seenAt, recoveredBy,
    firstSynTs: first, firstSynFrame: c.synFrames[0],
    lostSynAckTs: lostShown ? synAck : -1,
    lostSynAckFrame: lostShown ? s.synAckFrames[0] : 0,
    repeatTs,
    repeatFrame: recoveredBy === 'client' ? c.synFrames[repeat] : s.synAckFrames[repeat],
    answerTs: answer >= 0 ? s.synAckTimes[answer] : -1,
    answerFrame: answer >= 0 ? s.synAckFrames[answer] : 0,
    // From the first SYN at the client (its timer, or the server's answer coming that late), from the lost SYN-ACK at the server's.
    delay,
    connectDelay: whole > delay + LATER_LOSS_FLOOR ? whole : delay,
    startTs: conn.startTs, lastTs: conn.lastTs,
    countedAsPathLoss: firstSynAckResent(conn),
    lostSeenOnce: lostShown && (s.firstCopiedTs < 0 || s.firstCopiedTs > synAck),
    lostTtl: s.firstTtl,
  };
}

/** A connect this much longer (seconds) than its first repeat lost more answers after it (a timer's next repeat is a second or more later). */
const LATER_LOSS_FLOOR = 0.5;

const REMEDY =
  'Find where the SYN-ACKs are dropped on the way back from the server: a stateful firewall or NAT on the return path without state for the connection ' +
  "(asymmetric routing; rp_filter), a full connection-tracking table (`conntrack -S`: drop / insert_failed; dmesg \"nf_conntrack: table full, dropping packet\"; " +
  '`net.netfilter.nf_conntrack_max`), a rule or rate limit that matches SYN-ACKs or new connections, a NIC or driver dropping (`ethtool -S`, `ip -s link`). ' +
  "Measure it at the server: `nstat -az TcpExtTCPSynRetrans` (`netstat -s`: SYN-ACKs the server sent again because no ACK came) grows with every lost one; " +
  'compare the drop counters of each hop (nft / iptables counters). The server and its listener are not at fault (they answered every SYN at once), and a longer client ' +
  'timeout does not help: each lost SYN-ACK costs its connect a retransmission timeout, the client\'s SYN timer or the server\'s SYN-ACK timer, whichever fires first ' +
  '(1 s each on Linux; 3 s on stacks with the older initial RTO).';

/**
 * synack-lost: connects delayed by a SYN-ACK lost on its way to the client. The server answered
 * the client's SYN at once, the answer never arrived, and the client sent its SYN again after its
 * SYN RTO, or the server its SYN-ACK at its own timer (1 s each on Linux): that connect took a
 * second longer, and nothing failed, so no other detector says a word. Reported when it recurs (MIN_DELAYED, MIN_SHARE) on a path whose
 * established connections lost no data around it: a path losing packets in general loses SYN-ACKs
 * with the rest (healthy-lossy-path-*), where syn-unanswered and accept-queue-overflow call such
 * handshakes the path's too; a loss that strikes the handshakes only (a firewall or conntrack
 * table dropping new connections' packets, a rule matching SYN-ACKs) is a fault of its own.
 */
export const synackLost: DetectorDefinition = {
  id: 'synack-lost',
  meta: {
    description:
      'Connects delayed by a SYN-ACK lost on the way back to the client: the server answered the SYN at once (its listener took it), the answer never arrived, ' +
      "and the client's SYN timer (or the server's SYN-ACK timer) sent the handshake again after 1 s (Linux), while established connections between them lost no data. " +
      "Reported when it recurs (2 or more connects, at least 1 % of the server's handshakes).",
    severity: 'warning',
    messages: {
      synAgainAtServer:
        '{server} answered the SYN of {client} at once, but the client sent the same SYN again {delay} s later: the SYN-ACK never reached it (lost on the way back), and the connect took {longer} s longer',
      synAgainAtClient:
        "{client} sent its SYN to {server} again {delay} s after the first, and the SYN-ACK that came echoes the first SYN's timestamp: that SYN had arrived and been answered, the answer was lost on the way back, and the connect took {longer} s longer",
      synAckAgainAtServer:
        "{server} answered the SYN of {client} at once, but the client acknowledged only the SYN-ACK its timer sent again {delay} s later, and sent its request at once: the first SYN-ACK never reached it, and the connect took {longer} s longer",
      synAckAgainAtClient:
        "{client}'s SYN to {server} was answered only {delay} s later, by the SYN-ACK the server's timer sends again: the first answer was lost on the way back, and the connect took {longer} s longer",
    },
  },
  create(ctx: DetectContext) {
    const pathLoss = sharedPathLoss(ctx);
    /** Where the capture holds packets twice (a capture on a forwarding host): a SYN-ACK seen once there was dropped on it. */
    const copied = sharedCopiedPaths(ctx);
    /** Handshakes (a client SYN seen) per server endpoint: the share the delayed ones are of. */
    const handshakes = new Map<string, number>();
    const kept: Delayed[] = [];
    return {
      onConnectionEnd(conn: AnalyzedConnection): void {
        // Every connection, as syn-unanswered and accept-queue-overflow note them in the same shared log.
        pathLoss.note(conn);
        copied.note(conn);
        if (conn.client.synCount === 0) return;
        if (handshakes.size < MAX_SERVERS_COUNTED || handshakes.has(conn.serverName)) {
          handshakes.set(conn.serverName, (handshakes.get(conn.serverName) ?? 0) + 1);
        }
        const d = lostSynAckOf(conn);
        if (d !== null && kept.length < MAX_KEPT) kept.push(d);
      },

      onFinish(): void {
        // Judged once every connection has ended: a lossy connection open around a handshake may end
        // long after it. The path's losses then, less the late first answers of the handshakes judged
        // here (pathLosses counts those too): what established connections lost.
        const byServer = new Map<string, Delayed[]>();
        const counted = countedSpans(kept);
        for (const d of kept) {
          const from = d.firstSynTs - PATH_LOSS_NEAR;
          const to = Math.max(d.repeatTs, d.answerTs) + PATH_LOSS_NEAR;
          const lost = pathLoss.around(d.clientHost, d.serverHost, from, to) - (counted.get(`${d.clientHost} ${d.serverHost}`)?.overlapping(from, to) ?? 0);
          if (lost >= PATH_LOSS_EVIDENCE) continue;
          const list = byServer.get(d.server);
          if (list === undefined) byServer.set(d.server, [d]);
          else list.push(d);
        }
        for (const [server, list] of byServer) {
          const total = handshakes.get(server) ?? list.length;
          if (list.length < MIN_DELAYED || list.length < MIN_SHARE * total) continue;
          diagnose(ctx, server, list, total, copied);
        }
      },
    };
  },
};

/**
 * The spans of one host pair's connections whose late first SYN-ACK pathLosses counted as the path's
 * loss (Delayed.countedAsPathLoss), for how many of them overlap a window: those open at some moment
 * of [from, to] are the ones begun by `to` less those over before `from` (a span ends after it
 * begins), two binary searches over the starts and the ends, each sorted.
 */
class Spans {
  readonly starts: number[] = [];
  readonly ends: number[] = [];

  overlapping(from: number, to: number): number {
    return firstAfter(this.starts, to, (t) => t) - firstAtOrAfter(this.ends, from, (t) => t);
  }
}

/** Spans (see Spans) per "client-host server-host", sorted. */
function countedSpans(kept: readonly Delayed[]): Map<string, Spans> {
  const out = new Map<string, Spans>();
  for (const d of kept) {
    if (!d.countedAsPathLoss) continue;
    const key = `${d.clientHost} ${d.serverHost}`;
    let spans = out.get(key);
    if (spans === undefined) {
      spans = new Spans();
      out.set(key, spans);
    }
    spans.starts.push(d.startTs);
    spans.ends.push(d.lastTs);
  }
  for (const spans of out.values()) {
    spans.starts.sort((x, y) => x - y);
    spans.ends.sort((x, y) => x - y);
  }
  return out;
}

/** The middle value (the lower of the two middle ones for an even count). */
function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[(sorted.length - 1) >> 1];
}

const MESSAGE_OF: Record<SeenAt, Record<RecoveredBy, string>> = {
  server: { client: 'synAgainAtServer', server: 'synAckAgainAtServer' },
  client: { client: 'synAgainAtClient', server: 'synAckAgainAtClient' },
};

/** The findings of one server's delayed connects, and the diagnosis over them. */
/**
 * The path the lost SYN-ACKs were dropped on, when every one was dropped on the capturing host: seen
 * once, on its way in from the server, between packets from the server's host to the client's seen
 * twice before and after it (CopiedPaths.droppedBetween); null otherwise.
 */
function droppedHere(list: readonly Delayed[], copied: CopiedPaths): CopiedPath | null {
  let path: CopiedPath | null = null;
  for (const d of list) {
    if (!d.lostSeenOnce) return null;
    const p = copied.droppedBetween(d.serverHost, d.clientHost, d.lostSynAckTs, d.lostSynAckTs, d.lostTtl);
    if (p === null) return null;
    path ??= p;
  }
  return path;
}

function diagnose(ctx: DetectContext, server: string, list: readonly Delayed[], total: number, copied: CopiedPaths): void {
  const ids: string[] = [];
  for (const d of list) {
    const delay = ms(d.delay);
    const longer = ms(d.connectDelay);
    const f = ctx.report({
      flowId: d.flowId,
      client: d.client,
      server: d.server,
      ts: d.repeatTs,
      message: MESSAGE_OF[d.seenAt][d.recoveredBy],
      data: { server: d.server, client: d.client, delay, longer },
      evidence: {
        seenAt: d.seenAt,
        // Whose retransmission timer recovered the handshake: the client's SYN, or the server's SYN-ACK, sent again.
        resentBy: d.recoveredBy,
        firstSynAt: at(d.firstSynTs),
        lostSynAckAt: d.lostSynAckTs >= 0 ? at(d.lostSynAckTs) : null,
        resentAt: at(d.repeatTs),
        answeredAt: d.answerTs >= 0 ? at(d.answerTs) : null,
        delay,
        // The whole connect's cost where later answers were lost too (else the same as delay).
        connectDelay: longer,
        ...(d.seenAt === 'client' && d.recoveredBy === 'client' ? { answerEchoes: 'first-syn-tsval' } : {}),
      },
      frames: [d.firstSynFrame, d.lostSynAckFrame, d.repeatFrame, d.answerFrame].filter((x) => x > 0).sort((x, y) => x - y),
    });
    ids.push(f.id);
  }
  const delays = list.map((d) => ms(d.delay));
  const repeated = list.filter((d) => d.connectDelay > d.delay);
  const rangeText = (values: readonly number[]): string => {
    const a = Math.min(...values);
    const b = Math.max(...values);
    return a === b ? `${a} s` : `${a}-${b} s`;
  };
  const lo = Math.min(...delays);
  const hi = Math.max(...delays);
  const n = list.length;
  const share = Math.round((1000 * n) / total) / 10;
  const hosts = new Set(list.map((d) => d.clientHost)).size;
  const count = (seenAt: SeenAt, by: RecoveredBy): number => list.filter((d) => d.seenAt === seenAt && d.recoveredBy === by).length;
  const shown: string[] = [];
  const some = (k: number): string => (k === n ? (n === 1 ? 'it' : 'each') : `${k} of them`);
  const serverRepeat = count('server', 'client');
  const serverResent = count('server', 'server');
  const clientEcho = count('client', 'client');
  const clientLate = count('client', 'server');
  if (serverRepeat > 0) shown.push(`for ${some(serverRepeat)} the capture holds the server's SYN-ACK for the first SYN, sent at once, and then the same SYN again`);
  if (serverResent > 0) shown.push(`for ${some(serverResent)} the server's SYN-ACK sent at once and again at its timer, the client acknowledging only the second and sending its request at once`);
  if (clientEcho > 0) {
    shown.push(
      `for ${some(clientEcho)}, seen next to the client, the SYN sent again and an answer echoing the first SYN's timestamp (TSecr): the first SYN had arrived and been answered ` +
        "(without TCP timestamps a capture next to the client could not tell this from a SYN lost on the way or dropped by the listener)",
    );
  }
  if (clientLate > 0) shown.push(`for ${some(clientLate)}, seen next to the client, its only SYN answered ${SYN_ACK_RESEND_FLOOR} s or more later: the server's SYN-ACK timer sending its answer again`);
  const explanation =
    `${n} of ${total} connects to ${server} (${share} %${hosts > 1 ? `, from ${hosts} client hosts` : ''}) took ${lo === hi ? `${lo} s` : `${lo}-${hi} s`} longer ` +
    "because the server's SYN-ACK never reached the client, until a retransmission timer sent the handshake again (the client's SYN timer or the server's SYN-ACK timer, " +
    `1 s on Linux): ${shown.join('; ')}. The listener answered every SYN at once (a full SYN or accept queue drops the SYN and answers only a retry): the answer was lost between the server and the client. ` +
    'Established connections between the same hosts were not losing data around them: the path drops handshake packets, not packets at random. ' +
    // Connects that lost more answers after the first paid the timers' doublings too.
    (repeated.length === 0
      ? ''
      : `${repeated.length === n ? (n === 1 ? 'It' : 'Each') : `${repeated.length} of them`} lost more answers after the first, and took ${rangeText(repeated.map((d) => ms(d.connectDelay)))} longer in all (each further timer twice the last). `) +
    'Nothing failed, so the clients saw only slow connects: at this share the 99th percentile of connect time is the retransmission timeout, not a round trip.';
  const here = droppedHere(list, copied);
  const clientHosts = [...new Set(list.map((d) => d.clientHost))].join(', ');
  const hereText =
    here === null
      ? ''
      : ` The capture holds the packets from ${hostOf(server)} to ${clientHosts} twice, on their way into and out of the host it was taken on ` +
        `(${here.connections} connection${here.connections === 1 ? '' : 's'} before and after these), but each lost SYN-ACK only once, on its way in` +
        (here.ttlIn >= 0 ? ` (TTL ${here.ttlIn}; ${here.ttlOut} on the way out: the host routes them)` : '') +
        ': the SYN-ACKs were dropped on the capturing host, between its two interfaces (a forward or raw firewall rule, a conntrack table without or out of room for the connection, rp_filter, a policy route).';
  ctx.diagnose({
    server,
    count: n,
    inferred: { handshakeRetransmissionTimeout: { value: median(delays), samples: n, spread: ms(hi - lo) } },
    explanation: explanation + hereText,
    remedy: here === null ? REMEDY : capturingHostRemedy(`the SYN-ACKs from port ${server.slice(server.lastIndexOf(':') + 1)}`, hostOf(server), clientHosts) + REMEDY,
    anomalyIds: ids,
  });
}
