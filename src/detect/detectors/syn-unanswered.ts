import type { AnalyzedConnection } from '../analyzed-connection';
import type { DetectContext, DetectorDefinition } from '../detector';
import { hostOf, ms } from '../facts';
import type { Finding, InferredValue } from '../finding';
import { ClientLoad, ConnectionLimit, HeldConnections, ServedMeanwhile } from '../held-connections';
import { inferTimeout } from '../infer-timeout';
import { ClientPauses } from '../client-pauses';
import { capturingHostRemedy, CopiedPath, CopiedPaths, sharedCopiedPaths } from '../copied-paths';
import { NewConnectionRate, RateLimitedSyns } from '../new-connection-rate';
import { sharedOverflowSingles } from './accept-queue-overflow';
import { rejectedByIcmp } from './connection-rejected-icmp';
import { PATH_LOSS_EVIDENCE, PATH_LOSS_NEAR, sharedPathLoss, SYN_ACK_RESEND_FLOOR } from '../path-loss';
import { PairedFailure, sharedProxyLegs } from '../proxy-legs';
import { sharedGatewayClaims } from '../gateway-claims';
import { PORT_SCANS, PortScans } from '../port-scans';
import { pausedListenerWords, ServerPauses, sharedServerPauses } from '../server-pauses';
import { firstAfter } from '../sorted-search';

/**
 * Copies of one SYN closer than this are the capture seeing the same packet twice (merged
 * interfaces, VLAN or tunnel copies, a mirrored port), not a retransmission: no stack retransmits
 * a SYN sooner than its minimum RTO (Linux TCP_RTO_MIN 200 ms; its SYN RTO starts at 1 s, as
 * RFC 6298 asks).
 */
export const DUPLICATE_COPY_WINDOW = 0.2;

/** Server endpoints whose connection attempts are counted (for "k of n attempts"); more are not tracked. */
const MAX_SERVERS_COUNTED = 65_536;

/**
 * A retried SYN answered within this long (seconds) after the retry was answered at once: the
 * listener took the retry as it came (a listener that drops SYNs while its queue is full drops
 * retries too, and answers late once it drains).
 */
const ANSWERED_AT_ONCE = 0.2;
/** How far the live clock must have settled past a late answer before it is reported (see onClock). */
const LIVE_DEFER_SECONDS = 10;
/** SYN-ACK times kept (all servers together) to tell whether failed attempts had answered ones between them. */
const MAX_ANSWERS_KEPT = 100_000;

/** Single-SYN attempts kept for unansweredRuns (all servers together). */
const MAX_SINGLES_KEPT = 10_000;
/** Unanswered attempts in a row, from one client host to one server endpoint, that make an outage rather than a loss. */
const MIN_RUN = 2;
/**
 * First SYNs closer than this are one moment: connects made at once (a pool dialling 60 connections
 * in a burst), whose unanswered ones are SYNs a full queue dropped while the listener answered the
 * rest, not attempts made one after another that found nobody.
 */
const SAME_MOMENT = 0.01;

/** How many moments (see SAME_MOMENT) a run's first SYNs, in time order, fall in. */
function momentsOf(run: readonly Attempt[]): number {
  let moments = 0;
  let last = -Infinity;
  for (const a of run) {
    if (a.synTimes[0] - last > SAME_MOMENT) moments++;
    last = a.synTimes[0];
  }
  return moments;
}
/**
 * How long (seconds) an attempt of a run must have gone unanswered before the capture ended to
 * count towards MIN_RUN: Linux's initial SYN RTO; a live listener on any path answers sooner.
 */
const MIN_UNANSWERED_WAIT = 1;
/**
 * How much later (seconds) than the moment its predecessor was given up at the latest an attempt
 * may begin and still be its replacement (back to back: one connect call's retry, or a client that
 * reconnects as soon as its connect timed out). A new socket is opened within milliseconds of
 * the old one's timeout; this leaves room for a busy client, not for a prober's period.
 */
const BACK_TO_BACK_SLACK = 0.1;
/** Attempts of one run the interval inference looks at (the first), and how many later attempts each is compared with. */
const MAX_RUN_INFERRED = 60;
const MAX_SUCCESSORS_TRIED = 20;
/** How far (a fraction of it, at least SERIES_TOLERANCE_MIN seconds) an attempt may lie from its place at the series' interval. */
const SERIES_TOLERANCE = 0.05;
const SERIES_TOLERANCE_MIN = 0.005;

/** SYNs Linux resends before it gives a connect up with ETIMEDOUT (net.ipv4.tcp_syn_retries, its default). */
const LINUX_SYN_RETRIES = 6;
/** Retries Linux sends at the initial interval before it doubles (net.ipv4.tcp_syn_linear_timeouts, 4 since 6.5). */
const LINEAR_RETRIES = 4;
/** Consecutive retry intervals that grow by this factor (± 25 %) are an exponential backoff. */
const DOUBLING = 2;

type Outcome = 'answered-late' | 'answered-unseen' | 'refused' | 'abandoned' | 'unanswered-at-capture-end' | 'answered-after-give-up';

const OUTCOME_WORDS: Record<Outcome, string> = {
  'answered-late': 'answered late',
  'answered-after-give-up': "given up before the server's resent SYN-ACK came, which the client then reset",
  'answered-unseen': 'answered (the SYN-ACK is not in the capture)',
  refused: 'then refused with RST',
  abandoned: 'abandoned: never answered',
  'unanswered-at-capture-end': 'still unanswered when the capture ended',
};

/** What is kept of a connection whose SYN went unanswered, until its outcome is known. */
interface Attempt {
  flowId: number;
  client: string;
  server: string;
  /** Distinct SYN transmissions before any answer (times, frames), oldest first. */
  synTimes: number[];
  synFrames: number[];
  /** Retransmissions beyond the kept SYN times (the flow stage keeps the first few only). */
  unkeptRetries: number;
  outcome: Outcome | null;
  answerTs: number;
  answerFrame: number;
  /** Seconds from the last SYN to the end of the capture, when the capture ended on the attempt. */
  silence: number | null;
  /**
   * The frame of the failure a proxy answered its own client with once it stopped waiting for this
   * connection (gateway-timeout, phase connect), when that is what ended the attempt; 0 otherwise.
   */
  proxyGaveUpFrame: number;
  exchanges: number;
  clientHost: string;
  serverHost: string;
  /**
   * Segments connections between the same hosts (itself included, once established) retransmitted around an attempt answered in
   * the end (PATH_LOSS_NEAR), when at least PATH_LOSS_EVIDENCE: its SYNs were most likely lost on
   * the path; 0 otherwise.
   */
  pathLoss: number;
  /**
   * Attempts in the run of unanswered ones from its client host to its server this one belongs to
   * (unansweredRuns), 0 when none: a single-SYN attempt is reported only as part of one.
   */
  run: number;
  /** Seconds from its first SYN to the next attempt of its client's series (the connect timeout that replaced it), -1 when none. */
  replacedAfter: number;
  /**
   * One of a run of single-SYN attempts none of which was replaced back to back (givenUpBy), to an
   * endpoint that never completed a handshake in the capture and for which no proxy failed: short
   * independent probes (a health check's `nc -z -w 1`), which nothing waited on.
   */
  probe: boolean;
  /**
   * Its unanswered SYNs, when the capture saw each of them once although it holds copies of other
   * packets (seenOnce): how many, the first's and last's times, and the first's IP TTL; onceCount 0 otherwise.
   */
  onceCount: number;
  onceFrom: number;
  onceTo: number;
  synTtl: number;
  /**
   * When its client host stopped its load toward the server while this connect was still in flight
   * (clientStop): the moment its last other connection there ended, inside the span in which this
   * one was given up; -1 when not so. nextAfterStop: the first SYN of its next connection there
   * after that moment, Infinity when none came (-1 while stoppedAt is).
   */
  stoppedAt: number;
  nextAfterStop: number;
  /** When stoppedAt is set: how many connects of its client host to the server waited out a lost SYN and were answered. */
  waitedElsewhere?: number;
}

/**
 * How the retry intervals grow: "exponential" when each is about double the previous, "linear"
 * when about equal, "linear-then-exponential" when a run of equal intervals is followed by
 * doubling ones. The last is Linux's default since 6.5 (net.ipv4.tcp_syn_linear_timeouts = 4:
 * the first retries at the initial RTO, 1 s, then doubling), so it is what most current clients
 * show once they retry more than a few times; calling it "irregular" would suggest a path problem.
 */
function backoffOf(intervals: readonly number[]): string | null {
  if (intervals.length < 2) return null;
  let constantRun = 0; // ratios ≈ 1 before the first doubling
  let doublingRun = 0; // ratios ≈ 2 after the constant run
  for (let i = 1; i < intervals.length; i++) {
    const ratio = intervals[i] / intervals[i - 1];
    const doubled = Math.abs(ratio - DOUBLING) <= 0.25 * DOUBLING;
    const constant = Math.abs(ratio - 1) <= 0.25;
    if (doublingRun === 0 && constant) constantRun++;
    else if (doubled) doublingRun++;
    else return 'irregular';
  }
  if (constantRun === 0) return 'exponential';
  return doublingRun === 0 ? 'linear' : 'linear-then-exponential';
}

/**
 * When a client that abandoned its connect gave up, as seconds from its first SYN: after its last
 * SYN, and no later than its next one was due, which never came (a socket closed in SYN-SENT sends
 * nothing). Linux repeats the initial interval for its first retries since 6.5 (a linear run seen
 * so far continues) and doubles it otherwise; with a single interval either may follow, so the
 * later bound is kept.
 */
function gaveUpWithin(synTimes: readonly number[], intervals: readonly number[]): [number, number] {
  const first = synTimes[0];
  const last = synTimes[synTimes.length - 1];
  return [ms(last - first), ms(last - first + nextSynDue(synTimes, intervals))];
}

/** How long after its last SYN a client still trying sends its next one, at the latest (see gaveUpWithin). */
function nextSynDue(synTimes: readonly number[], intervals: readonly number[]): number {
  const lastInterval = synTimes[synTimes.length - 1] - synTimes[synTimes.length - 2];
  const linearSoFar = backoffOf(intervals) === 'linear' && intervals.length < LINEAR_RETRIES;
  return linearSoFar ? lastInterval : DOUBLING * lastInterval;
}

/**
 * Whether the server's first SYN-ACK answered an earlier SYN than the client's last one before it:
 * its timestamp echo is that SYN's TSval. The SYN arrived and was answered at once; the SYN-ACK was
 * lost on the way back (handshake-synack-lost-server-side shows it from the server's side), so the
 * listener dropped nothing. Linux echoes the TSval of the SYN it keeps, the first, also when it
 * answers a retransmission of it.
 */
export function answeredEarlierSyn(conn: AnalyzedConnection): boolean {
  const c = conn.client;
  const echo = conn.server.synAckTsEcr;
  // The first SYN's value, and the last one's before the answer: answered the first, not the last.
  return echo >= 0 && c.synCount >= 2 && echo === c.firstSynTsVal && echo !== c.lastSynTsVal;
}

/**
 * An attempt's unanswered SYNs (`times`, before any answer; all but the last when `answered`: that
 * one got through), when the capture saw each of them once: none of the client's packets up to the
 * last of them has a copy (Endpoint.firstCopiedTs). Whether that says anything depends on the other
 * packets between the same hosts (CopiedPaths.droppedBetween, in the diagnosis).
 */
function seenOnce(conn: AnalyzedConnection, times: readonly number[], answered: boolean): Pick<Attempt, 'onceCount' | 'onceFrom' | 'onceTo' | 'synTtl'> {
  const c = conn.client;
  const dropped = answered ? times.length - 1 : times.length;
  const last = dropped > 0 ? times[dropped - 1] : -1;
  if (dropped < 1 || (c.firstCopiedTs >= 0 && c.firstCopiedTs <= last)) return { onceCount: 0, onceFrom: -1, onceTo: -1, synTtl: c.firstTtl };
  return { onceCount: dropped, onceFrom: times[0], onceTo: last, synTtl: c.firstTtl };
}

/** The SYNs a client sent, without capture duplicates (DUPLICATE_COPY_WINDOW), those past the kept ones included. */
function distinctSyns(conn: AnalyzedConnection): number {
  const times = conn.client.synTimes;
  let n = 0;
  let last = -Infinity;
  for (const t of times) {
    if (t - last >= DUPLICATE_COPY_WINDOW) n++;
    last = t;
  }
  return n + Math.max(0, conn.client.synCount - times.length);
}

/** First SYNs of `attempts` by client host and server, sorted. */
function startsByPair(attempts: readonly Attempt[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const o of attempts) {
    const key = `${o.clientHost}>${o.server}`;
    const list = out.get(key);
    if (list === undefined) out.set(key, [o.synTimes[0]]);
    else list.push(o.synTimes[0]);
  }
  for (const list of out.values()) list.sort((x, y) => x - y);
  return out;
}

/** The SYNs a client sent before any SYN-ACK, without capture duplicates. */
function attemptsBeforeAnswer(conn: AnalyzedConnection): { times: number[]; frames: number[]; unkept: number } {
  const c = conn.client;
  const answerTs = conn.server.synAckTimes.length > 0 ? conn.server.synAckTimes[0] : Infinity;
  const times: number[] = [];
  const frames: number[] = [];
  let allKeptBeforeAnswer = true;
  for (let i = 0; i < c.synTimes.length; i++) {
    const t = c.synTimes[i];
    if (t >= answerTs) {
      allKeptBeforeAnswer = false;
      break;
    }
    if (times.length > 0 && t - times[times.length - 1] < DUPLICATE_COPY_WINDOW) continue;
    times.push(t);
    frames.push(c.synFrames[i]);
  }
  // SYNs past the kept ones were sent before the answer only if every kept one was.
  const unkept = allKeptBeforeAnswer ? Math.max(0, c.synCount - c.synTimes.length) : 0;
  return { times, frames, unkept };
}

/**
 * syn-unanswered: a client retransmitted its SYN (same ISN) because no SYN-ACK came in time.
 * The retry is the proof: a lone SYN at the end of a capture may simply not have been answered
 * *yet*, and a lone SYN elsewhere may be a scan; a retransmitted one waited a whole RTO.
 */
export const synUnanswered: DetectorDefinition = {
  id: 'syn-unanswered',
  meta: {
    description:
      'A client had to retransmit its SYN (same ISN) because no SYN-ACK came: the listener dropped the handshake ' +
      '(full SYN or accept backlog, hung or firewalled server). Reports the retries, their spacing and the outcome.',
    severity: 'error',
    messages: {
      unanswered: 'SYN to {server} sent {attempts} times over {span} s without a SYN-ACK: {outcome}',
      unansweredInRun: 'SYN to {server} never answered ({outcome}): one of {run} attempts in a row from {clientHost}, none answered',
      probeInRun:
        'Single SYN to {server} never answered, the attempt given up before its first retransmission was due (1 s): one of {run} short probes from {clientHost}, none answered',
      unansweredLone:
        'Single SYN to {server} never answered and never retransmitted: the client gave up within 1 s, while the path between them was losing packets',
      answeredAfterGiveUp:
        'SYN to {server} answered only {span} s later, by the server\'s resent SYN-ACK (the first one lost on the way), after the client had given up: it reset the answer',
      loneAtStop:
        'Single SYN to {server} never answered and never retransmitted: still in flight when {clientHost} stopped, {after} s later (its other connections to it had all ended then{next}), not a connect timeout',
      unansweredAtStop:
        'SYN to {server} sent {attempts} times over {span} s without a SYN-ACK, then left in flight when {clientHost} stopped, {after} s after the last one (its other connections to it had all ended then{next}), as other connects of it were',
      answeredAfterStop:
        'SYN to {server} answered only {span} s later, by the server\'s resent SYN-ACK (the first one lost on the way), after {clientHost} had stopped, {after} s after the SYN (its other connections to it had all ended then{next}): it reset the answer; not a connect timeout',
    },
  },
  create(ctx: DetectContext) {
    const legs = sharedProxyLegs(ctx);
    /**
     * A paused server process (server-pauses): asked for here, the first of its detectors, so that
     * it follows every event and is judged before this detector's diagnosis, not after it.
     */
    const serverPauses = sharedServerPauses(ctx);
    /** Port scans, recognised by connection-refused (which runs first): their filtered ports' SYNs are the scan's probes. */
    const scans = ctx.shared(PORT_SCANS, () => new PortScans());
    /** Connection attempts (client SYN seen) per server endpoint, for the share that went unanswered. */
    const attemptsPerServer = new Map<string, number>();
    /** Attempts released at capture end wait for the capture's last timestamp to name their outcome. */
    const pending: Attempt[] = [];
    /** Attempts answered late, reported at the end (see onConnectionEnd). */
    const deferred: Attempt[] = [];
    /** The latest packet of any connection: the capture's end once every connection is released. */
    let captureEnd = -Infinity;
    const reported: Array<{ finding: Finding; attempt: Attempt }> = [];
    /**
     * The proxy connects whose 5xx gateway-timeout reports as the proxy's connect timeout
     * (GatewayClaims.ownsConnect), known at the end: each such attempt is that 504's upstream leg,
     * one failure, told (and counted) there: an info here, in no diagnosis of this detector's.
     */
    const gatewayClaims = sharedGatewayClaims(ctx);
    let toGateway: ReadonlySet<number> = new Set();
    /**
     * Attempts retried once and answered at once, kept until the end: a lone one on a path that lost
     * other segments too is the path's loss, not the listener's (see onFinish).
     */
    const lone: Array<{ attempt: Attempt }> = [];
    /** Attempts that sent one SYN and got nothing back, kept until the end: reported in a run (unansweredRuns), or alone on a lossy path. */
    const singles: Attempt[] = [];
    /** Single-SYN attempts whose only answer, a resent SYN-ACK, came after the client gave up: reported on a lossy path. */
    const givenUpBeforeAnswer: Attempt[] = [];
    /**
     * A connection whose server side the capture never holds although its client acknowledged it
     * (Connection.unseenSide): a capture of one direction, where a refusal's RST is unseen too and a
     * refused attempt is a single SYN with nothing back (IPv6 attempts refused before a fallback to
     * IPv4 included, whose other connections are the ones seen one way): no run is told then.
     */
    let oneWaySeen = false;
    /** Retransmitted segments of established connections, by client and server host, with when. */
    const pathLoss = sharedPathLoss(ctx);
    /** Where the capture holds packets twice (a capture on a forwarding host): a SYN seen once there was dropped on it. */
    const copied = sharedCopiedPaths(ctx);
    /** When each server answered a handshake (first SYN-ACK), for the span between failed attempts. */
    const answers = new Map<string, number[]>();
    let answersKept = 0;
    /** The connections open to each server, for whether unanswered SYNs met a connection limit. */
    const held = new HeldConnections();
    /** Each client's pause between an attempt's end and its next, for the connect timeout of single-SYN attempts. */
    const clientPauses = new ClientPauses();
    /** The handshakes each server answered and how it served them, for whether a rate limit dropped the rest. */
    const rates = new RateLimitedSyns();

    /**
     * Attempts while connections between the same hosts lost packets on the way: their SYNs or
     * SYN-ACKs were most likely lost the same way. One attempt (answered in the end, or given up),
     * or a run of them none of which was answered: one stretch of the path, whose losses around it
     * make every attempt of it the path's (a lossy path fails attempts in a row too: at 40 % loss
     * each way, two in three handshakes fail).
     */
    const notePathLoss = (run: readonly Attempt[]): void => {
      let from = Infinity;
      let to = -Infinity;
      for (const a of run) {
        from = Math.min(from, a.synTimes[0]);
        to = Math.max(to, settledAt(a));
      }
      const near = pathLoss.around(run[0].clientHost, run[0].serverHost, from - PATH_LOSS_NEAR, to + PATH_LOSS_NEAR);
      if (near >= PATH_LOSS_EVIDENCE) for (const a of run) a.pathLoss = Math.max(a.pathLoss, near);
    };

    /** Set once the capture has ended (onFinish): every connection is in `held` then, none still open unseen. */
    let finishing = false;
    /** Each client host's load toward each server (HeldConnections.loadOf), looked up once while finishing. */
    const loads = new Map<string, ClientLoad | null>();
    /** First SYNs of the unanswered attempts kept, by client host and server, sorted (nextAttemptAfter); set in onFinish. */
    let attemptStarts = new Map<string, number[]>();
    const nextAttemptAfter = (a: Attempt, t: number): number => {
      const list = attemptStarts.get(`${a.clientHost}>${a.server}`) ?? [];
      const i = firstAfter(list, t, (x) => x);
      return i < list.length ? list[i] : Infinity;
    };
    /**
     * Whether a connect given up without a packet (abandoned, or reset when the server's resent
     * SYN-ACK came) was left in flight by its client stopping, not by a connect timeout: a load
     * generator at the end of its run, a script or process exiting, closes every socket it holds,
     * and one still in SYN-SENT sends nothing, as one a connect timeout ends (blind round 14b,
     * falsepos S2: ab left 8 connects that lost their SYN or SYN-ACK when each run finished).
     * Three things together tell it, none a delay: the same client host's connects to the server
     * elsewhere waited out a lost SYN (one sent more SYNs than this one and was answered), so no
     * connect timeout of it gives up before the retransmission this one never sent; other
     * connections of it to the server were open when this one's last SYN went out; and all of them
     * had ended, none left open, at a moment before this one's next SYN was due (or the server's
     * resent SYN-ACK found it gone): its load there stopped with this connect in flight. Judged once
     * the capture has ended (live, at the end only): a connection still open then would be unseen.
     * Single-SYN connects only: given up within 1 s, against connects that waited past it. One
     * given up after retransmitting has a span of seconds before its next SYN was due, in which two
     * clients on one host (a 2 s and a 9 s socket timeout, samples/server-paused-backlog) both
     * stopping is no proof that the stop, not the 2 s timeout, ended it.
     */
    const loadOf = (a: Attempt): ClientLoad | null => {
      const key = `${a.clientHost}>${a.server}`;
      let load = loads.get(key);
      if (load === undefined) loads.set(key, (load = held.loadOf(a.server, a.clientHost)));
      return load === null || a.synTimes[0] <= load.forgottenUntil ? null : load;
    };
    /**
     * Where the load of an attempt's client host toward its server stopped while it was in flight:
     * other connections of that host there open at its last SYN, and all of them ended, none left
     * open, before its next SYN was due (and before an answer it reset). -1 when not so.
     */
    const stopDuring = (a: Attempt, load: ClientLoad): number => {
      const first = a.synTimes[0];
      const last = a.synTimes[a.synTimes.length - 1];
      const until = a.outcome === 'answered-after-give-up' ? Math.min(first + givenUpBy(a), a.answerTs) : first + givenUpBy(a);
      return load.openAt(last) === 0 ? -1 : load.stopWithin(last, until);
    };
    /**
     * Single-SYN connects given up (never answered, past their retransmission, or reset when the
     * server's resent SYN-ACK came) proven left at a stop: their client host's connects elsewhere
     * sent more SYNs than they did and were answered. Their stops, by client host and server
     * (`${clientHost}>${server} ${stop}`), set in onFinish before anything is reported.
     */
    const provenStops = new Set<string>();
    const proveStop = (a: Attempt, load: ClientLoad | null): number => {
      if (load === null || a.synTimes.length + a.unkeptRetries > 1 || load.mostSyns <= 1) return -1;
      return stopDuring(a, load);
    };
    const clientStop = (a: Attempt): void => {
      if (!finishing || a.run > 0 || a.probe || a.proxyGaveUpFrame > 0) return;
      const load = loadOf(a);
      if (load === null) return;
      let at = -1;
      if (a.synTimes.length + a.unkeptRetries === 1) {
        if (a.outcome === 'abandoned' || a.outcome === 'answered-after-give-up') at = proveStop(a, load);
      } else if (a.outcome === 'abandoned' || a.outcome === 'unanswered-at-capture-end') {
        // One that had retransmitted: its span before its next SYN was due is seconds long, in which
        // two clients on one host (a 2 s and a 9 s socket timeout, samples/server-paused-backlog) may
        // both stop, and a connect of the other outliving more SYNs proves nothing of its own. It is
        // left at a stop only at one the single-SYN connects of its host prove (ab exiting with
        // connects of both kinds in flight).
        const stop = stopDuring(a, load);
        if (stop >= 0 && provenStops.has(`${a.clientHost}>${a.server} ${stop}`)) at = stop;
      }
      if (at < 0) return;
      a.stoppedAt = at;
      a.waitedElsewhere = load.retried;
      a.nextAfterStop = Math.min(load.nextStartAfter(at), nextAttemptAfter(a, at));
    };

    const report = (a: Attempt): void => {
      clientStop(a);
      const stopped = a.stoppedAt >= 0;
      const outcome = a.outcome ?? 'abandoned';
      const first = a.synTimes[0];
      const last = a.synTimes[a.synTimes.length - 1];
      const intervals: number[] = [];
      for (let i = 1; i < a.synTimes.length; i++) intervals.push(ms(a.synTimes[i] - a.synTimes[i - 1]));
      const attempts = a.synTimes.length + a.unkeptRetries;
      const answered = outcome === 'answered-late' || outcome === 'refused' || outcome === 'answered-after-give-up';
      const span = answered ? a.answerTs - first : last - first;
      const finding = ctx.report({
        flowId: a.flowId,
        client: a.client,
        server: a.server,
        // The first retransmission proves the first SYN went unanswered for a whole RTO.
        ts: a.synTimes.length > 1 ? a.synTimes[1] : a.synTimes[0],
        message: stopped
          ? outcome === 'answered-after-give-up' ? 'answeredAfterStop' : a.synTimes.length >= 2 ? 'unansweredAtStop' : 'loneAtStop'
          : outcome === 'answered-after-give-up' ? 'answeredAfterGiveUp'
          : a.synTimes.length >= 2 ? 'unanswered' : a.probe ? 'probeInRun' : a.run === 0 ? 'unansweredLone' : 'unansweredInRun',
        data: {
          server: a.server, attempts, span: ms(span), outcome: OUTCOME_WORDS[outcome], run: a.run, clientHost: a.clientHost,
          after: stopped ? ms(a.stoppedAt - last) : 0,
          next: !stopped ? '' : a.nextAfterStop === Infinity ? ', and none followed' : `; its next came ${ms(a.nextAfterStop - a.stoppedAt)} s later`,
        },
        evidence: {
          retries: attempts - 1,
          synOffsets: a.synTimes.map((t) => ms(t - first)),
          retryIntervals: intervals,
          initialRto: intervals.length > 0 ? intervals[0] : null,
          backoff: backoffOf(intervals),
          outcome,
          waited: ms(span),
          answerFrame: answered ? a.answerFrame : null,
          silenceAfterLastSyn: a.silence,
          proxyGaveUpFrame: a.proxyGaveUpFrame > 0 ? a.proxyGaveUpFrame : null,
          exchangesAfter: a.exchanges,
          // Only on an attempt its client abandoned on its own: when it gave up, bounded (seconds from its first SYN).
          // One left when its client stopped bounds no connect timeout.
          ...(outcome === 'abandoned' && a.proxyGaveUpFrame === 0 && a.synTimes.length >= 2 && !stopped ? { gaveUpWithin: gaveUpWithin(a.synTimes, intervals) } : {}),
          ...(stopped
            ? {
                clientStoppedAfterLastSyn: ms(a.stoppedAt - last),
                nextConnectionAfterStop: a.nextAfterStop === Infinity ? null : ms(a.nextAfterStop - a.stoppedAt),
                connectsThatWaitedOutALostSyn: a.waitedElsewhere ?? 0,
              }
            : {}),
          ...(a.pathLoss > 0 ? { pathRetransmissionsNear: a.pathLoss } : {}),
          ...(a.run > 0 ? { unansweredInARow: a.run } : {}),
          // Only on a proxy's connect its client got a gateway timeout for: gateway-timeout's diagnosis tells it.
          ...(toGateway.has(a.flowId) ? { proxyConnectTimeout: true } : {}),
          ...(a.replacedAfter >= 0 ? { replacedByNextAttemptAfter: a.replacedAfter } : {}),
        },
        frames: [...a.synFrames, ...(answered ? [a.answerFrame] : [])],
        // Answered in the end on a path that was losing segments then: likely the path's loss, not the
        // listener's, and nothing failed. A probe nothing waited on is no outage of a service anyone used.
        // Left in flight by a client that stopped, on such a path: nothing failed either.
        // Answered late elsewhere (a listener that dropped SYNs, then took the retry): the connect
        // succeeded a retransmission timeout late, a delay and a warning, not a failed connect (blind
        // rounds 14b S10 and 15 tcpedge s03: every connect and request succeeded, reported as errors).
        ...((a.pathLoss > 0 && (outcome === 'answered-late' || stopped)) || a.probe || toGateway.has(a.flowId)
          ? { severity: 'info' as const }
          : outcome === 'answered-late' ? { severity: 'warning' as const } : {}),
      });
      reported.push({ finding, attempt: a });
    };

    return {
      onConnectionEnd(conn: AnalyzedConnection): void {
        if (conn.lastTs > captureEnd) captureEnd = conn.lastTs;
        const c = conn.client;
        const s = conn.server;
        // Every connection, as accept-queue-overflow notes them in the same shared log.
        pathLoss.note(conn);
        copied.note(conn);
        if (!oneWaySeen && conn.unseenSide() === 'server') oneWaySeen = true;
        if (c.synCount === 0) return;
        // The size first: every call then takes the same steps, and the first server seen after this
        // handler was compiled does not throw its compiled code away (has() runs only once the map is full).
        if (attemptsPerServer.size < MAX_SERVERS_COUNTED || attemptsPerServer.has(conn.serverName)) {
          attemptsPerServer.set(conn.serverName, (attemptsPerServer.get(conn.serverName) ?? 0) + 1);
        }
        held.note(conn, distinctSyns(conn));
        if (c.synTimes.length > 0) clientPauses.note(conn.clientHost, conn.serverName, c.synTimes[0], c.finTs);
        rates.note(conn);
        if (s.synAckTimes.length > 0 && answersKept < MAX_ANSWERS_KEPT) {
          const list = answers.get(conn.serverName);
          if (list === undefined) answers.set(conn.serverName, [s.synAckTimes[0]]);
          else list.push(s.synAckTimes[0]);
          answersKept++;
        }
        // A SYN an ICMP error quoting it rejected (a REJECT rule, a router, kube-proxy) and never
        // answered: refused on the way, not dropped (connection-rejected-icmp tells it).
        if (c.icmpError !== null && rejectedByIcmp(conn)) return;
        // The server answered the SYN with an ACK of another connection it still held on the
        // 4-tuple (its TIME_WAIT, or one the client had forgotten: RFC 793, RFC 5961's challenge
        // ACK), which the client resets before it sends its SYN again: answered, not dropped, and
        // no sign of an outage (a run of such SYNs met a server's TIME_WAITs after it closed many
        // connections first, blind round 13b S5a). port-reuse tells it, with the retry and its delay.
        if (conn.foreignAckFrame > 0) return;
        const { times, frames, unkept } = attemptsBeforeAnswer(conn);
        if (times.length < 2) {
          // Never answered at all, not even acknowledged: one of a run of such attempts, maybe (onFinish).
          if (times.length === 1 && s.synAckTimes.length === 0 && s.rstTs < 0 && !c.hasAck && c.payloadBytes === 0 && s.payloadBytes === 0 && singles.length < MAX_SINGLES_KEPT) {
            singles.push({
              flowId: conn.id, client: conn.clientName, server: conn.serverName,
              synTimes: times, synFrames: frames, unkeptRetries: 0,
              outcome: null, answerTs: -1, answerFrame: 0, silence: null, proxyGaveUpFrame: 0, exchanges: 0,
              clientHost: conn.clientHost, serverHost: conn.serverHost, pathLoss: 0, run: 0, replacedAfter: -1, probe: false, stoppedAt: -1, nextAfterStop: -1,
              ...seenOnce(conn, times, false),
            });
          }
          // One SYN, answered only by the server's SYN-ACK timer (its first SYN-ACK never arrived), and
          // that answer reset by a client that had given up meanwhile (a connect timeout under 1 s):
          // a failed connect the path's loss made, judged at the end against the path's losses then.
          if (
            times.length === 1 && unkept === 0 && s.synAckTimes.length > 0 && s.synAckTimes[0] - times[0] >= SYN_ACK_RESEND_FLOOR &&
            !c.hasAck && c.rstTs >= s.synAckTimes[0] && c.payloadBytes === 0 && givenUpBeforeAnswer.length < MAX_SINGLES_KEPT
          ) {
            givenUpBeforeAnswer.push({
              flowId: conn.id, client: conn.clientName, server: conn.serverName,
              synTimes: times, synFrames: frames, unkeptRetries: 0,
              outcome: 'answered-after-give-up', answerTs: s.synAckTimes[0], answerFrame: s.synAckFrames[0], silence: null, proxyGaveUpFrame: 0, exchanges: 0,
              clientHost: conn.clientHost, serverHost: conn.serverHost, pathLoss: 0, run: 0, replacedAfter: -1, probe: false, stoppedAt: -1, nextAfterStop: -1,
              ...seenOnce(conn, times, true),
            });
          }
          return;
        }
        if (answeredEarlierSyn(conn)) return; // the SYN-ACK was lost, not the SYN: synack-lost judges it

        const a: Attempt = {
          flowId: conn.id, client: conn.clientName, server: conn.serverName,
          synTimes: times, synFrames: frames, unkeptRetries: unkept,
          outcome: null, answerTs: -1, answerFrame: 0, silence: null, proxyGaveUpFrame: 0, exchanges: conn.app?.exchangeCount ?? 0,
          clientHost: conn.clientHost, serverHost: conn.serverHost, pathLoss: 0, run: 0, replacedAfter: -1, probe: false, stoppedAt: -1, nextAfterStop: -1,
          ...seenOnce(conn, times, s.synAckTimes.length > 0),
        };
        if (s.synAckTimes.length > 0) {
          a.outcome = 'answered-late';
          a.answerTs = s.synAckTimes[0];
          a.answerFrame = s.synAckFrames[0];
          if (times.length === 2 && unkept === 0 && a.answerTs - times[1] <= ANSWERED_AT_ONCE) {
            lone.push({ attempt: a });
            return;
          }

        } else if (s.rstTs >= 0) {
          a.outcome = 'refused';
          a.answerTs = s.rstTs;
          a.answerFrame = s.rstFrame;
        } else if (c.hasAck || c.payloadBytes > 0) {
          // The client acknowledged a SYN-ACK the capture did not see (asymmetric routing, capture loss).
          a.outcome = 'answered-unseen';
        } else if (conn.endReason !== 'capture-end') {
          a.outcome = 'abandoned';
        }
        // An answered attempt is reported at the end: whether the path was losing segments around it
        // is known once every connection open then has ended.
        if (a.outcome === null) pending.push(a);
        else if (a.outcome === 'answered-late' || a.outcome === 'abandoned') deferred.push(a);
        else report(a);
      },

      /**
       * Live capture: an attempt answered late is reported once the capture clock has settled well
       * past it (LIVE_DEFER_SECONDS), not only when the capture stops: a SYN-drop storm is what one
       * watches a live capture for. A lossy connection open then that ends later is missed.
       */
      onClock(_now: number, settled: number): void {
        let kept = 0;
        for (const a of deferred) {
          if (settledAt(a) + LIVE_DEFER_SECONDS < settled) {
            notePathLoss([a]);
            report(a);
          } else deferred[kept++] = a;
        }
        deferred.length = kept;
      },

      onFinish(): void {
        finishing = true;
        toGateway = gatewayClaims.ownedConnectFlows(legs, ctx.options.spreadAbsolute);
        attemptStarts = startsByPair([
          ...singles, ...givenUpBeforeAnswer, ...pending, ...deferred, ...lone.map((l) => l.attempt), ...reported.map((r) => r.attempt),
        ]);
        // The stops single-SYN connects prove (given up: past their retransmission, or their answer reset), before any is reported.
        for (const a of [...singles.filter((o) => captureEnd - o.synTimes[0] > MIN_UNANSWERED_WAIT), ...givenUpBeforeAnswer]) {
          const at = proveStop(a, loadOf(a));
          if (at >= 0) provenStops.add(`${a.clientHost}>${a.server} ${at}`);
        }
        // A lone retry on a lossy path: no other attempt to the server overlapped it, and established
        // connections between the same hosts retransmitted segments too. Anything else (a burst of
        // retried SYNs, a clean path) is the listener's, as before.
        for (const a of deferred) {
          notePathLoss([a]);
          report(a);
        }
        deferred.length = 0;
        const spans = [...reported.map((r) => r.attempt), ...pending, ...lone.map((l) => l.attempt)];
        for (const { attempt: a } of lone) {
          const end = a.answerTs;
          const overlapped = spans.some((o) => o !== a && o.server === a.server && o.synTimes[0] <= end && (o.answerTs >= 0 ? o.answerTs : o.synTimes[o.synTimes.length - 1]) >= a.synTimes[0]);
          if (!overlapped && pathLoss.total(a.clientHost, a.serverHost) >= PATH_LOSS_EVIDENCE) continue;
          notePathLoss([a]);
          report(a);
        }
        lone.length = 0;
        // A scan's SYNs to filtered ports are told in its diagnosis (connection-refused), not as outages here.
        const scanned = scans.silentProbeFlows();
        if (scanned.size > 0) {
          dropScanned(pending, scanned);
          dropScanned(singles, scanned);
        }
        const givenUp = pending.length > 0 ? proxyGaveUp(legs.pair()) : null;
        for (const a of pending) {
          // Had the client still been trying, its next retry would be in the capture: silence past the
          // moment it was due (nextSynDue: the last interval again in a linear run, else doubled) means it gave up.
          const n = a.synTimes.length;
          const intervals: number[] = [];
          for (let i = 1; i < n; i++) intervals.push(ms(a.synTimes[i] - a.synTimes[i - 1]));
          const due = nextSynDue(a.synTimes, intervals);
          const silence = captureEnd - a.synTimes[n - 1];
          a.silence = ms(silence);
          // A proxy's connect attempt ends without a packet when the proxy gives up on it (a socket
          // closed in SYN-SENT sends nothing): its error to its own client, after the last SYN, is the
          // proof, however soon the capture ended after it.
          const failure = givenUp?.get(a.flowId);
          if (failure !== undefined && failure.ts >= a.synTimes[n - 1]) a.proxyGaveUpFrame = failure.frame;
          a.outcome = silence > due || a.proxyGaveUpFrame > 0 ? 'abandoned' : 'unanswered-at-capture-end';
          notePathLoss([a]);
          report(a);
        }
        pending.length = 0;
        const runs = unansweredRuns(
          ctx, oneWaySeen ? [] : singles, reported.map((r) => r.attempt), answersKept < MAX_ANSWERS_KEPT ? answers : null, captureEnd,
          () => givenUp ?? proxyGaveUp(legs.pair()), notePathLoss,
        );
        for (const a of runs.report) report(a);
        // Failed connects outside any run, on a path losing packets around them: a lone SYN never
        // answered (and never retransmitted: given up within 1 s), or one whose only answer came
        // after the client had given up. Elsewhere such an attempt is left alone (a probe, a scan).
        if (!oneWaySeen) {
          const scannedLone = scans.silentProbeFlows();
          const lone = [
            ...singles.filter((a) => a.run === 0 && a.outcome === null && captureEnd - a.synTimes[0] > MIN_UNANSWERED_WAIT && !scannedLone.has(a.flowId)),
            ...givenUpBeforeAnswer,
          ].sort((x, y) => x.synTimes[0] - y.synTimes[0]);
          for (const a of lone) {
            notePathLoss([a]);
            if (a.pathLoss === 0) continue;
            if (a.outcome === null) {
              a.outcome = 'abandoned';
              a.silence = ms(captureEnd - a.synTimes[0]);
            }
            report(a);
          }
        }
        givenUpBeforeAnswer.length = 0;
        singles.length = 0;
        // accept-queue-overflow's once-resent requests, judged against these findings: reported now,
        // so that the overflows this diagnosis counts are the ones that detector's diagnosis gives.
        sharedOverflowSingles(ctx).settle();
        diagnose(ctx, toGateway.size === 0 ? reported : reported.filter((r) => !toGateway.has(r.attempt.flowId)), attemptsPerServer, answersKept < MAX_ANSWERS_KEPT ? answers : null, runs.byServer, held, serverPauses, clientPauses, rates, copied);
      },
    };
  },
};

/**
 * The proxies' connect attempts they gave up on, by flow id: each upstream connection that never
 * carried the request a proxy failed meanwhile (the first attempt and any retries), with the time
 * and frame of that failure.
 */
function proxyGaveUp(paired: readonly PairedFailure[]): Map<number, { ts: number; frame: number }> {
  const out = new Map<number, { ts: number; frame: number }>();
  for (const p of paired) {
    const failed = { ts: p.failure.failTs, frame: p.failure.failFrame };
    if (p.phase === 'connect' && p.leg !== null) out.set(p.leg.flowId, failed);
    for (const retry of p.retries) if (retry.request === null) out.set(retry.leg.flowId, failed);
  }
  return out;
}

/** When an attempt was settled: its answer, else its last SYN (a client giving up sends nothing). */
function settledAt(a: Attempt): number {
  return a.answerTs >= 0 ? a.answerTs : a.synTimes[a.synTimes.length - 1];
}

/** Removes the attempts whose flows are a port scan's probes (PortScans.silentProbeFlows), in place. */
function dropScanned(attempts: Attempt[], scanned: ReadonlySet<number>): void {
  let kept = 0;
  for (const a of attempts) if (!scanned.has(a.flowId)) attempts[kept++] = a;
  attempts.length = kept;
}

/** Series back to back at an interval of their own beside a run's first (seriesOf): another client's connect timeout. */
interface OtherSeries {
  /** Their replacement gap (one sample when a single attempt was replaced: a bound, not a cluster). */
  interval: InferredValue;
  lengths: number[];
}

/** Intervals looked for beyond a run's first. */
const MAX_OTHER_SERIES = 3;

/** A server's runs of unanswered attempts (unansweredRuns), summed. */
interface RunInfo {
  attempts: number;
  clientHosts: string[];
  /** The interval at which the clients gave attempts up and made new ones (their connect timeout), or null. */
  interval: InferredValue | null;
  /** Series of attempts (one per request or connect call) of the run with that interval, and their lengths. */
  seriesLengths: number[];
  /** Series of that run back to back at other intervals (seriesOf's others): other clients' connect timeouts. */
  otherSeries: OtherSeries[];
  /** Whether every attempt of the runs sent one SYN: none was seen alive past its first SYN. */
  singleSyn: boolean;
  /** Whether every run was short probes (Attempt.probe), with the median spacing of their attempts (seconds). */
  probes: boolean;
  probeSpacing: number;
}

/**
 * Seconds from an attempt's first SYN to the latest moment it can have been given up: before its
 * next SYN was due, which never came. One SYN: before the first retransmission, at the initial RTO
 * (Linux 1 s); k SYNs: before the (k+1)-th (nextSynDue: 1, 3, 7 … s with doubling). An attempt
 * that begins later than that (plus BACK_TO_BACK_SLACK) did not replace it back to back.
 */
function givenUpBy(a: Attempt): number {
  const n = a.synTimes.length;
  if (n < 2) return MIN_UNANSWERED_WAIT;
  const intervals: number[] = [];
  for (let i = 1; i < n; i++) intervals.push(a.synTimes[i] - a.synTimes[i - 1]);
  return a.synTimes[n - 1] - a.synTimes[0] + nextSynDue(a.synTimes, intervals);
}

/** Whether some attempt of a run (sorted by first SYN) began while the previous one could still have been trying. */
function anyBackToBack(run: readonly Attempt[]): boolean {
  for (let i = 1; i < run.length; i++) {
    if (run[i].synTimes[0] - run[i - 1].synTimes[0] <= givenUpBy(run[i - 1]) + BACK_TO_BACK_SLACK) return true;
  }
  return false;
}

/** The median gap between consecutive attempts of a run (sorted by first SYN). */
function medianSpacing(run: readonly Attempt[]): number {
  const gaps: number[] = [];
  for (let i = 1; i < run.length; i++) gaps.push(run[i].synTimes[0] - run[i - 1].synTimes[0]);
  gaps.sort((x, y) => x - y);
  return gaps.length === 0 ? 0 : gaps[gaps.length >> 1];
}

/**
 * Runs of connection attempts from one client host to one server endpoint that got no answer at
 * all, with no handshake of that server answered between them: attempts that sent one SYN join
 * the retried ones here (a client whose connect timeout is shorter than its SYN RTO never
 * retransmits; each attempt is replaced by a new one from a new port). A run of MIN_RUN attempts
 * that waited MIN_UNANSWERED_WAIT is an outage of the endpoint (or a filter), not a loss. Returns
 * the single-SYN attempts to report (outcome and run set) and what each server's runs tell.
 */
function unansweredRuns(
  ctx: DetectContext,
  singles: readonly Attempt[],
  retried: readonly Attempt[],
  answers: ReadonlyMap<string, readonly number[]> | null,
  captureEnd: number,
  givenUp: () => ReadonlyMap<number, { ts: number; frame: number }>,
  notePathLoss: (run: readonly Attempt[]) => void,
): { report: Attempt[]; byServer: Map<string, RunInfo> } {
  const report: Attempt[] = [];
  const byServer = new Map<string, RunInfo>();
  if (singles.length === 0 || answers === null) return { report, byServer };
  const groups = new Map<string, Attempt[]>();
  for (const a of [...singles, ...retried]) {
    if (a.outcome !== null && a.outcome !== 'abandoned' && a.outcome !== 'unanswered-at-capture-end') continue;
    const key = `${a.clientHost}>${a.server}`;
    const list = groups.get(key);
    if (list === undefined) groups.set(key, [a]);
    else list.push(a);
  }
  const sortedAnswers = new Map<string, number[]>();
  let proxyGaveUp: ReadonlyMap<number, { ts: number; frame: number }> | null = null;
  for (const group of groups.values()) {
    if (group.length < MIN_RUN || !group.some((a) => a.synTimes.length === 1)) continue;
    group.sort((x, y) => x.synTimes[0] - y.synTimes[0]);
    const server = group[0].server;
    let answered = sortedAnswers.get(server);
    if (answered === undefined) sortedAnswers.set(server, (answered = [...(answers.get(server) ?? [])].sort((x, y) => x - y)));
    // Split where a handshake of the server was answered between two attempts.
    let from = 0;
    for (let i = 1; i <= group.length; i++) {
      if (i < group.length && !answeredBetween(answered, group[i - 1].synTimes[0], group[i].synTimes[0])) continue;
      const run = group.slice(from, i);
      from = i;
      const waited = run.filter((a) => captureEnd - a.synTimes[a.synTimes.length - 1] >= MIN_UNANSWERED_WAIT).length;
      if (run.length < MIN_RUN || waited < MIN_RUN || momentsOf(run) < MIN_RUN) continue;
      proxyGaveUp ??= givenUp();
      for (const a of run) {
        const failure = proxyGaveUp.get(a.flowId);
        if (a.synTimes.length === 1 && failure !== undefined && failure.ts >= a.synTimes[0]) a.proxyGaveUpFrame = failure.frame;
      }
      const series = seriesOf(ctx, run);
      notePathLoss(run);
      // Single SYNs each given up before a retransmission was due, none replaced back to back, to an
      // endpoint nothing in the capture connected to and no proxy failed for: independent probes.
      const probes =
        (answers.get(server)?.length ?? 0) === 0 && run.every((a) => a.synTimes.length === 1 && a.proxyGaveUpFrame === 0) && !anyBackToBack(run);
      for (let k = 0; k < run.length; k++) {
        const a = run[k];
        a.run = run.length;
        a.probe = probes;
        if (a.synTimes.length > 1) continue; // reported already, with its own outcome
        a.silence = ms(captureEnd - a.synTimes[0]);
        // Given up: replaced by a later attempt of its client, its proxy answered, or its retry never came.
        const replaced = k + 1 < run.length;
        a.outcome = replaced || a.proxyGaveUpFrame > 0 || captureEnd - a.synTimes[0] > DOUBLING * MIN_UNANSWERED_WAIT ? 'abandoned' : 'unanswered-at-capture-end';
        report.push(a);
      }
      const info = byServer.get(server);
      if (info === undefined) {
        byServer.set(server, {
          attempts: run.length, clientHosts: [run[0].clientHost], interval: series.interval, seriesLengths: series.lengths, otherSeries: series.others,
          singleSyn: run.every((a) => a.synTimes.length === 1), probes, probeSpacing: probes ? ms(medianSpacing(run)) : 0,
        });
      } else {
        info.attempts += run.length;
        info.probes &&= probes;
        info.singleSyn &&= run.every((a) => a.synTimes.length === 1);
        if (!info.clientHosts.includes(run[0].clientHost)) info.clientHosts.push(run[0].clientHost);
        if (info.interval === null || (series.interval !== null && series.interval.samples > info.interval.samples)) {
          info.interval = series.interval;
          info.seriesLengths = series.lengths;
          info.otherSeries = series.others;
        }
      }
    }
  }
  report.sort((x, y) => x.synTimes[0] - y.synTimes[0]);
  return { report, byServer };
}

/** Whether a sorted list of answer times has one strictly between `from` and `to`. */
function answeredBetween(sorted: readonly number[], from: number, to: number): boolean {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] <= from) lo = mid + 1;
    else hi = mid;
  }
  return lo < sorted.length && sorted[lo] < to;
}

/**
 * The fixed interval at which a run's attempts were given up and replaced, and the series they form.
 * A client whose connect times out opens its next attempt (a new source port) when the previous
 * one is abandoned: attempts of one series lie one interval apart, and each was sending SYNs no
 * later than that (its last SYN retransmission bounds the interval from below). Several series may
 * interleave (a proxy retrying several requests at once), so the interval is the gap from an
 * attempt to a later one that the most attempts share, not the gap to the next attempt in time.
 * Sets each replaced attempt's replacedAfter. Null interval when fewer than two attempts agree.
 */
function seriesOf(ctx: DetectContext, run: Attempt[]): { interval: InferredValue | null; lengths: number[]; others: OtherSeries[] } {
  const attempts = run.slice(0, MAX_RUN_INFERRED);
  const starts = attempts.map((a) => a.synTimes[0]);
  const alive = attempts.map((a) => a.synTimes[a.synTimes.length - 1] - a.synTimes[0]);
  // How far after its first SYN an attempt's replacement can begin: only back to back attempts are one
  // series (a later one is another connect call, a prober's next round: its gap is no connect timeout).
  const reach = attempts.map((a) => givenUpBy(a) + BACK_TO_BACK_SLACK);
  /** Attempts already in a series of an earlier interval: another client's, or another timeout's. */
  const chained = new Set<number>();
  const successorsAt = (gap: number): number[] => {
    const tolerance = Math.max(SERIES_TOLERANCE * gap, SERIES_TOLERANCE_MIN);
    const next = new Array<number>(attempts.length).fill(-1);
    const taken = new Set<number>();
    for (let i = 0; i < attempts.length; i++) {
      if (chained.has(i) || alive[i] > gap + tolerance) continue; // still retransmitting when it would have been replaced
      let best = -1;
      for (let j = i + 1; j < attempts.length && j <= i + MAX_SUCCESSORS_TRIED; j++) {
        // Attempts a proxy gave up for two different failed requests belong to two series, however they are spaced.
        if (taken.has(j) || chained.has(j) || (attempts[i].proxyGaveUpFrame > 0 && attempts[j].proxyGaveUpFrame > 0 && attempts[i].proxyGaveUpFrame !== attempts[j].proxyGaveUpFrame)) continue;
        if (starts[j] - starts[i] > reach[i]) break;
        const off = Math.abs(starts[j] - starts[i] - gap);
        if (off <= tolerance && (best < 0 || off < Math.abs(starts[best] - starts[i] - gap))) best = j;
      }
      if (best >= 0) {
        next[i] = best;
        taken.add(best);
      }
    }
    return next;
  };
  /** The gap the most attempts share with a later one (at least `least` of them), or -1. */
  const bestGapOf = (least: number): number => {
    let bestGap = -1;
    let bestCount = least - 1;
    for (let i = 0; i < attempts.length; i++) {
      if (chained.has(i)) continue;
      for (let j = i + 1; j < attempts.length && j <= i + MAX_SUCCESSORS_TRIED; j++) {
        if (chained.has(j)) continue;
        const gap = starts[j] - starts[i];
        if (gap > reach[i]) break;
        if (gap < DUPLICATE_COPY_WINDOW) continue;
        const count = successorsAt(gap).filter((n) => n >= 0).length;
        if (count > bestCount || (count === bestCount && bestGap >= 0 && gap < bestGap)) {
          bestCount = count;
          bestGap = gap;
        }
      }
    }
    return bestGap;
  };
  /** The series at `gap`: its replacement gaps and the lengths of its series of 2 or more; marks their attempts chained. */
  const chainAt = (gap: number): { gaps: number[]; lengths: number[] } => {
    const next = successorsAt(gap);
    const gaps: number[] = [];
    const isSuccessor = new Set<number>();
    for (let i = 0; i < next.length; i++) {
      if (next[i] < 0) continue;
      isSuccessor.add(next[i]);
      attempts[i].replacedAfter = ms(starts[next[i]] - starts[i]);
      gaps.push(starts[next[i]] - starts[i]);
    }
    const lengths: number[] = [];
    for (let i = 0; i < attempts.length; i++) {
      if (next[i] < 0 || isSuccessor.has(i)) continue;
      let length = 1;
      for (let k = next[i]; k >= 0; k = next[k]) length++;
      lengths.push(length);
    }
    for (let i = 0; i < next.length; i++) {
      if (next[i] < 0) continue;
      chained.add(i);
      chained.add(next[i]);
    }
    return { gaps, lengths };
  };
  const bestGap = bestGapOf(2);
  if (bestGap < 0) return { interval: null, lengths: [], others: [] };
  const main = chainAt(bestGap);
  const options = { fraction: ctx.options.spreadFraction, absolute: ctx.options.spreadAbsolute, minSamples: 2 };
  const interval = inferTimeout(main.gaps, options);
  // Attempts left out of those series that were replaced back to back at a gap of their own, outside
  // the first interval's tolerance: another client's connect timeout on the same host (blind round
  // 13, S15b: Java's attempts given up at 1 s and PHP curl's at 0.7 s; the PHP pair was counted as
  // two series of 1 beside Java's and its 0.70 s was lost).
  const others: OtherSeries[] = [];
  for (let round = 0; round < MAX_OTHER_SERIES && interval !== null; round++) {
    const gap = bestGapOf(1);
    if (gap < 0 || Math.abs(gap - interval.value) <= Math.max(SERIES_TOLERANCE * interval.value, SERIES_TOLERANCE_MIN)) break;
    const other = chainAt(gap);
    const longest = Math.max(...other.gaps);
    others.push({
      interval: inferTimeout(other.gaps, options) ?? { value: ms(longest), samples: other.gaps.length, spread: ms(longest - Math.min(...other.gaps)) },
      lengths: other.lengths,
    });
  }
  // Attempts in no series: each a series of 1 of the first interval's client (as before).
  const lengths = [...main.lengths];
  for (let i = 0; i < attempts.length; i++) if (!chained.has(i)) lengths.push(1);
  return { interval, lengths, others };
}

/** The largest number of attempts to one server that were waiting for an answer at the same moment. */
function peakConcurrent(items: ReadonlyArray<{ attempt: Attempt }>): { peak: number; from: number; to: number } {
  const events: Array<[number, number]> = [];
  for (const { attempt: a } of items) {
    const start = a.synTimes[0];
    const end = a.answerTs >= 0 ? a.answerTs : a.synTimes[a.synTimes.length - 1];
    events.push([start, 1], [end, -1]);
  }
  events.sort((x, y) => x[0] - y[0] || y[1] - x[1]);
  let open = 0;
  let peak = 0;
  let at = 0;
  for (const [t, d] of events) {
    open += d;
    if (open > peak) {
      peak = open;
      at = t;
    }
  }
  // The attempts waiting at that moment: started by then and not yet answered or given up.
  let from = at;
  for (const { attempt: a } of items) {
    const end = a.answerTs >= 0 ? a.answerTs : a.synTimes[a.synTimes.length - 1];
    if (a.synTimes[0] <= at && end >= at && a.synTimes[0] < from) from = a.synTimes[0];
  }
  return { peak, from, to: at };
}

/**
 * When the clients that abandoned their connects gave up (gaveUpWithin), grouped by those bounds:
 * their connect timeouts, which send nothing on the wire, lie there.
 */
function gaveUpText(items: ReadonlyArray<{ finding: Finding }>): string {
  const groups = new Map<string, number>();
  for (const { finding } of items) {
    const within = finding.evidence.gaveUpWithin;
    if (!Array.isArray(within)) continue;
    // To a tenth of a second: clients of one timeout give up at bounds that differ by a few ms.
    const key = `${(Math.round(Number(within[0]) * 10) / 10).toFixed(1)} and ${(Math.round(Number(within[1]) * 10) / 10).toFixed(1)}`;
    groups.set(key, (groups.get(key) ?? 0) + 1);
  }
  if (groups.size === 0) return '';
  const parts = [...groups].map(([range, n]) => `${n} between ${range} s`);
  const given = [...groups.values()].reduce((a, b) => a + b, 0);
  // As many SYNs as Linux sends before it gives the connect up itself: the end of that span is its own limit.
  const atLimit = items.filter(({ finding }) => Array.isArray(finding.evidence.gaveUpWithin) && finding.evidence.retries === LINUX_SYN_RETRIES).length;
  const apps = "curl --connect-timeout, Go's net.Dialer Timeout, Python's socket timeout, Java's connectTimeout, Node's net.Socket timeout";
  const limit =
    `as many as Linux sends before it gives a connect up by itself (net.ipv4.tcp_syn_retries = ${LINUX_SYN_RETRIES}, the default): connect() then fails with ETIMEDOUT ` +
    `when the next SYN would be due, the end of that span (about 11 s after the first with the first retries at 1 s, net.ipv4.tcp_syn_linear_timeouts, 127 s with doubling only)`;
  return (
    ` The clients that gave up sent nothing when they did (a connect abandoned in SYN-SENT sends no packet), but their next SYN never came when due: ` +
    `${parts.join(', ')} after their first SYN. ` +
    (atLimit === given
      ? `${given === 1 ? 'It' : 'Each'} had sent ${LINUX_SYN_RETRIES + 1} SYNs, ${limit}: the kernel's limit fits, no connect timeout of the application's is needed to end ${given === 1 ? 'it' : 'them'} there, though one in that span would (${apps}).`
      : `Their connect timeouts lie there (${apps}).` +
        (atLimit > 0 ? ` ${atLimit} of them had sent ${LINUX_SYN_RETRIES + 1} SYNs, ${limit}: the kernel's limit fits those.` : ''))
  );
}

/**
 * The words for attempts answered in the end while other connections between the same hosts were
 * retransmitting segments (Attempt.pathLoss); `all`: they are every attempt of the server.
 */
function pathLossText(items: ReadonlyArray<{ attempt: Attempt }>, all: boolean): string {
  if (items.length === 0) return '';
  const n = items.length;
  const segments = Math.max(...items.map(({ attempt }) => attempt.pathLoss));
  const answered = items.filter(({ attempt }) => attempt.outcome === 'answered-late').length;
  // Answered in the end only: worded as before (the lossy-but-healthy samples' goldens).
  if (answered === n) {
    return (
      `${all ? (n === 1 ? 'It was' : `All ${n} were`) : `${n} of them ${n === 1 ? 'was' : 'were'}`} answered in the end while established connections between the same hosts ` +
      `retransmitted segments (up to ${segments} around one attempt): the path was losing packets then, and ${n === 1 ? 'its' : 'their'} SYNs or SYN-ACKs were most likely ` +
      'lost on it, not dropped by the listener (which answers a SYN it receives at once unless its backlog is full).'
    );
  }
  const stopped = items.filter(({ attempt }) => attempt.stoppedAt >= 0).map(({ attempt }) => attempt);
  const gaveUp = n - answered - stopped.length;
  const fates: Array<[string, number]> = [
    ['given up', gaveUp],
    ['answered late', answered],
    ['left in flight when their client stopped', stopped.length],
  ];
  const seen = fates.filter(([, k]) => k > 0);
  const fate = seen.length === 1 ? seen[0][0] : `${seen.map(([words]) => words).join(' or ')} (${seen.map(([, k]) => k).join(', ').replace(/, (\d+)$/, ' and $1')} respectively)`;
  return (
    `${all ? (n === 1 ? 'It was' : `All ${n} were`) : `${n} of them ${n === 1 ? 'was' : 'were'}`} ${stopped.length === 0 ? (answered === 0 ? 'given up' : `given up or answered late (${answered} answered)`) : fate} ` +
    `while connections between the same hosts lost packets on the way (up to ${segments} around one attempt: data resent, data arriving past holes ` +
    `the sender filled later, SYN-ACKs resent by the server's timer): the path was losing packets then, both ways, and ${n === 1 ? 'its' : 'their'} SYNs or SYN-ACKs ` +
    'were most likely lost on it, not dropped by the listener (which answers a SYN it receives at once unless its backlog is full, and served the connections it accepted meanwhile). ' +
    (gaveUp > 0 ? 'A client whose connect timeout is shorter than its SYN retransmission (Linux: 1 s) fails at every lost SYN or SYN-ACK instead of recovering.' : '') +
    (stopped.length > 0 ? `${gaveUp > 0 ? ' ' : ''}${stoppedText(stopped)}` : '')
  );
}

/** How attempts left in flight by a client that stopped are told (Attempt.stoppedAt). */
const STOPPED_WORDS = 'left in flight by a client that stopped, no connect timeout';

/** The words for attempts left in flight by a client that stopped (clientStop in the detector). */
function stoppedText(stopped: readonly Attempt[]): string {
  const n = stopped.length;
  const moments = new Set(stopped.map((a) => `${a.clientHost} ${a.stoppedAt}`)).size;
  const hosts = [...new Set(stopped.map((a) => a.clientHost))].join(', ');
  const none = stopped.every((a) => a.nextAfterStop === Infinity);
  const waited = Math.max(...stopped.map((a) => a.waitedElsewhere ?? 0));
  const single = stopped.filter((a) => a.synTimes.length + a.unkeptRetries === 1).length;
  const retried = n - single;
  return (
    `${n === 1 ? 'The one' : `The ${n}`} left in flight ${n === 1 ? 'was' : 'were'} not given up by a connect timeout: ${waited} other connect${waited === 1 ? '' : 's'} from ${hosts} ` +
    `that lost ${waited === 1 ? 'its' : 'their'} SYN or SYN-ACK waited for the retransmission and ${waited === 1 ? 'was' : 'were'} answered, ` +
    `whereas ${single === 1 ? (n === 1 ? 'this one' : 'the one that sent a single SYN') : `each of the ${single} that sent a single SYN`} was still in flight, its retransmission not yet due, ` +
    `when every other connection of ${hosts} to the server had ended, none left open${none ? ' and none following' : ''}${moments === 1 ? '' : ` (at ${moments} moments)`}` +
    `${retried === 0 ? '' : `; the ${retried === 1 ? 'one' : retried} that had retransmitted ${retried === 1 ? 'was' : 'were'} in flight at that same moment, ${retried === 1 ? 'its' : 'their'} next SYN not yet due`}: ` +
    `the client stopped with ${n === 1 ? 'it' : 'them'} in flight — a load generator finishing its run (ab, wrk, a benchmark), a script or process exiting — ` +
    'and nothing it still wanted failed.'
  );
}

/**
 * Failed attempts (never answered) with no handshake of the server answered between the first
 * and the last of them: the SYNs of that whole span were dropped. Null when fewer than two failed,
 * when a handshake was answered meanwhile (isolated losses), or when answers were not all kept.
 */
function outageOf(items: ReadonlyArray<{ attempt: Attempt }>, answers: readonly number[] | null): { count: number; span: number } | null {
  const failed = items.filter(({ attempt }) => attempt.outcome === 'abandoned' || attempt.outcome === 'unanswered-at-capture-end');
  if (failed.length < 2 || answers === null) return null;
  let from = Infinity;
  let to = -Infinity;
  for (const { attempt } of failed) {
    from = Math.min(from, attempt.synTimes[0]);
    to = Math.max(to, attempt.synTimes[attempt.synTimes.length - 1]);
  }
  if (answers.some((t) => t > from && t < to)) return null;
  return { count: failed.length, span: to - from };
}

/**
 * A connect given up sends nothing: the next attempt's SYN marks it, and a pause the client made
 * before trying again counts in (blind round 14, S4: Python's 1.2 s timeout and a 0.2 s sleep read
 * as 'the connect timeout is 1.406 s').
 */
const PAUSE_INCLUDED = " (the next attempt's SYN marks when it gave up; a pause before trying again counts in)";

/**
 * The words for a run's series (seriesOf): how its attempts were given up and replaced at a fixed
 * interval, which is the client's connect timeout, and how many attempts each series made.
 */
function seriesText(run: RunInfo, interval: InferredValue): string {
  const lengths = [...new Set(run.seriesLengths)].sort((a, b) => a - b);
  const series = run.seriesLengths.length;
  const settings =
    'A proxy sets these with HAProxy `timeout connect` and `retries`, nginx proxy_connect_timeout and proxy_next_upstream_tries, Envoy connect_timeout and its retry policy; ' +
    'a library with its connect timeout and retry count.';
  // Several series of one length are a retry count (HAProxy's `retries`: 3 series of 3). One series,
  // or series of different lengths, are not: a program that makes its next request as soon as the
  // last failed opens its next connection back to back as well (blind round 13, S15b: 3 Java
  // requests, each one attempt given up at 1 s, read as 'tried 3 times … 3.061 s of waiting').
  const retryCount = series >= 2 && lengths.length === 1 && lengths[0] >= 2;
  const main = retryCount
    ? `Each attempt was given up ${ms(interval.value)} s after its first SYN (${interval.samples} times) and replaced by a new one from a new source port, ` +
      `${series} series of ${lengths[0]} attempts: ` +
      `the client's connect timeout is ${ms(interval.value)} s at most${PAUSE_INCLUDED} and it tried ${lengths[0]} times before failing ` +
      `(${ms(interval.value)} s × ${lengths[0]} ≈ ${ms(interval.value * lengths[0])} s of waiting). ${settings}`
    : `Each attempt was given up ${ms(interval.value)} s after its first SYN (${interval.samples} times) and replaced by a new one from a new source port, ` +
      `${series} series of ${lengths.join(' or ')} attempt${lengths.length === 1 && lengths[0] === 1 ? '' : 's'} back to back: the client's connect timeout is ${ms(interval.value)} s at most${PAUSE_INCLUDED}, ` +
      `and it tried ${lengths.join(' or ')} time${lengths.length === 1 && lengths[0] === 1 ? '' : 's'} in a row: one call's retries, or calls made each as soon as the last failed ` +
      `(a new request after a failed connect looks the same on the wire; series of one length repeated would show a retry count). ${settings}`;
  return main + run.otherSeries.map((o) => ` ${otherSeriesText(o)}`).join('');
}

/** The words for series back to back at an interval of their own (OtherSeries): another client's, or another setting's, connect timeout. */
function otherSeriesText(o: OtherSeries): string {
  const n = o.lengths.reduce((sum, k) => sum + k, 0);
  return (
    `${n} other attempts from the same host were given up and replaced at another interval, ${ms(o.interval.value)} s after their first SYN ` +
    `(${o.interval.samples === 1 ? 'once' : `${o.interval.samples} times`}; ${o.lengths.length} series of ${[...new Set(o.lengths)].sort((a, b) => a - b).join(' or ')}): ` +
    `another client, or a connect timeout set apart, of ${ms(o.interval.value)} s${o.interval.samples === 1 ? ' or less (one attempt replaced: given up by then)' : ''}.`
  );
}

/**
 * The words for a run of single-SYN attempts whose client pauses between attempts (ClientPauses):
 * the gap between attempts is the connect timeout plus that pause, and the attempts are the
 * client's successive calls, not one call's retries (a retry loop that paused would read the same).
 */
function pausedSeriesText(run: RunInfo, interval: InferredValue, pause: InferredValue, timeout: InferredValue): string {
  return (
    `Each attempt sent one SYN and the next began ${ms(interval.value)} s after it (${interval.samples} times), from a new source port; ` +
    `the same client began its next connection ${ms(pause.value)} s after each close the capture shows (${pause.samples} times): ` +
    `it pauses that long between attempts, so it gave each up ${ms(timeout.value)} s after its first SYN, before its 1 s SYN retransmission was due: ` +
    `its connect timeout is about ${ms(timeout.value)} s. Whether successive attempts were retries of one call or separate calls the wire does not tell.`
  );
}

/**
 * The words for a server whose unanswered attempts were all short probes (RunInfo.probes): what is
 * known (one SYN each, given up before the first retransmission was due, their number and spacing),
 * and why no connect timeout or retry count is read from them.
 */
function probesText(run: RunInfo, server: string): string {
  return (
    `${run.attempts} attempts from ${run.clientHosts.join(', ')} sent one SYN each and got no answer (no SYN-ACK, no RST), and no handshake to ${server} ` +
    'completed anywhere in the capture: the port is filtered (a firewall dropping SYNs) or its host unreachable. ' +
    `Each attempt was given up in under 1 s (its SYN was never retransmitted, and Linux retransmits an unanswered SYN after 1 s), ` +
    `and the next came ${run.probeSpacing} s after the previous one began (median): not back to back, so they were independent short probes ` +
    '(a health check or port check such as `nc -z -w 1`), not one connect call\'s retries, and their spacing is the prober\'s period, not a connect timeout. ' +
    'Nothing in the capture waited on them (no proxy answered its client with a failure after one). ' +
    'Were the capture of a proxy\'s upstream leg only, each could be its connect for another request with a connect timeout under 1 s: its front\'s 5xx would tell.'
  );
}

/** Whether these attempts retried at a constant interval first (Linux ≥ 6.5), per their findings' backoff. */
/**
 * The SYN transmissions of `items` that got no answer: every SYN of an attempt never answered, and
 * those before the answered one of an attempt answered late (its last SYN is the one answered).
 */
function droppedSyns(items: ReadonlyArray<{ attempt: Attempt }>): number[] {
  const out: number[] = [];
  for (const { attempt: a } of items) {
    if (a.outcome === 'abandoned' || a.outcome === 'unanswered-at-capture-end' || a.outcome === null) out.push(...a.synTimes);
    else if (a.outcome === 'answered-late') out.push(...a.synTimes.slice(0, -1));
  }
  return out.sort((x, y) => x - y);
}

function limitText(limit: ConnectionLimit, server: string, served: ServedMeanwhile): string {
  const who = limit.clientHost !== null ? `${limit.clientHost} had` : 'the clients had';
  return (
    `At each of the ${limit.dropped} unanswered SYNs ${who} exactly ${limit.limit} connection${limit.limit === 1 ? '' : 's'} open to ${server}, ` +
    `and each of the ${limit.answered} handshake${limit.answered === 1 ? '' : 's'} it answered began with fewer open: ` +
    `the SYNs were dropped by a limit of ${limit.limit} concurrent connection${limit.limit === 1 ? '' : 's'}${limit.clientHost !== null ? ` from ${limit.clientHost}` : ''}, not by an outage ` +
    `(the server went on sending data on the connections it held after ${served.servedAfter} of those SYNs) ` +
    'nor by a full backlog (a listener whose accept queue is full still completes handshakes it then leaves unserved). ' +
    'Such a limit drops rather than refuses: the client waits its connect timeout instead of failing at once.'
  );
}

function rateText(rate: NewConnectionRate, server: string, dropped: number): string {
  const perSecond = 1 / rate.interval;
  return (
    `While ${dropped} SYNs went unanswered, ${server} answered ${rate.paced} new handshakes at a steady pace, one every ${ms(rate.interval)} s or a little more ` +
    `(${rate.gaps} gaps within 25 % of each other: a limit lets the next one in at the first SYN retransmission after it opens again)${rate.burst > 0 ? `, after ${rate.burst} let through at once just before the first drop` : ''}, ` +
    `and served every connection it answered at once (the slowest response came ${(rate.slowestService * 1000).toFixed(1)} ms after its request); none was waiting for the application at any dropped SYN. ` +
    'A listener whose accept queue is full drops SYNs only while accepted connections wait unserved in it (they are answered late, as the application takes them): ' +
    `here nothing waited. The SYNs were dropped before the listener by a rate limit on new connections of about ${perSecond >= 10 ? Math.round(perSecond) : ms(perSecond)} per second` +
    `${rate.burst > 0 ? ` with a burst of about ${rate.burst}` : ''} (a firewall's \`limit rate\` or hashlimit, a load balancer's or cloud firewall's new-connection rate): ` +
    'each client got in only when its SYN retransmission found the limit open again, and those whose connect timeout came first failed.'
  );
}

function rateRemedy(rate: NewConnectionRate, port: string): string {
  return (
    `Find the rate limit on new connections to port ${port} (about one every ${ms(rate.interval)} s): \`nft list ruleset\` (\`limit rate\`, a meter or set with a limit), ` +
    '`iptables-save` (`-m limit`, `-m hashlimit`, `-m recent`), a load balancer\'s or DDoS protection\'s connection rate limit. Raise it above the rate at which the clients open connections, ' +
    'or have them open fewer (keep-alive pools, connection reuse); a rate limit that rejects (`reject with tcp reset`) fails a connect at once where a drop costs the client its SYN retransmissions. ' +
    "The listener's counters (`nstat -az TcpExtListenDrops`) do not grow: the SYNs never reached it."
  );
}

function limitRemedy(limit: ConnectionLimit): string {
  const n = limit.limit;
  return (
    `Find the limit of ${n}: a firewall rule on the server or on the way (\`nft list ruleset\` for \`ct count over ${n}\`, \`iptables-save\` for \`connlimit --connlimit-above ${n}\`), ` +
    'a load balancer\'s or security policy\'s maximum connections per client or per target, or a full conntrack table (`conntrack -C` against net.netfilter.nf_conntrack_max). ' +
    `Raise it above what the clients hold at once, or make the clients hold fewer (a smaller pool, idle connections closed sooner); ` +
    'a limit that answers with a reset (`reject with tcp reset`) fails a connect at once where a drop costs the client its connect timeout.'
  );
}

function servingText(served: ServedMeanwhile | null, server: string, dropped: number): string {
  const open = served === null ? '' : served.fewestOpen === served.mostOpen ? `${served.fewestOpen}` : `${served.fewestOpen} to ${served.mostOpen}`;
  return (
    `No new connection to ${server} was answered meanwhile, but it was not down: ${open} connection${open === '1' ? ' was' : 's were'} open to it at each of the ${dropped} unanswered SYNs, ` +
    'and it went on sending data on them after every one. New connections failed while established ones were served: SYNs dropped before the listener answered them ' +
    '(a firewall or load balancer limiting new connections or their rate, a full conntrack table) or a listener that accepted no more (its accept queue full).'
  );
}

/** Unanswered SYNs the capturing host dropped (droppedHere): how many, from which hosts, and what the capture shows of the path. */
interface DroppedHere {
  attempts: number;
  syns: number;
  /** Of the attempts, those whose later SYN got through and was answered (seen twice). */
  answered: number;
  clientHosts: string[];
  path: CopiedPath;
}

/**
 * Whether every unanswered SYN of these attempts was dropped on the capturing host: each seen once
 * (Attempt.onceCount), between packets from its client host to its server host seen twice, before
 * and after it (CopiedPaths.droppedBetween). One attempt whose SYNs crossed the host and went
 * unanswered beyond it leaves the listener (or the path past the host) in question: null then.
 */
function droppedHere(items: ReadonlyArray<{ attempt: Attempt }>, copied: CopiedPaths): DroppedHere | null {
  let path: CopiedPath | null = null;
  let syns = 0;
  let answered = 0;
  const clientHosts: string[] = [];
  for (const { attempt: a } of items) {
    if (a.onceCount === 0) return null;
    const p = copied.droppedBetween(a.clientHost, a.serverHost, a.onceFrom, a.onceTo, a.synTtl);
    if (p === null) return null;
    path ??= p;
    syns += a.onceCount;
    if (a.outcome === 'answered-late') answered++;
    if (!clientHosts.includes(a.clientHost)) clientHosts.push(a.clientHost);
  }
  return path === null ? null : { attempts: items.length, syns, answered, clientHosts, path };
}

function droppedHereText(here: DroppedHere, server: string): string {
  const host = hostOf(server);
  const from = here.clientHosts.join(', ');
  const ttl = here.path.ttlIn >= 0 ? ` (with the TTL ${from}'s packets have on their way in, ${here.path.ttlIn}; ${here.path.ttlOut} on their way out: the host routes them)` : '';
  return (
    `The capture holds the packets from ${from} to ${host} twice, on their way into and out of the host it was taken on, ` +
    `and ${here.path.connections} connection${here.path.connections === 1 ? '' : 's'} between them before and after these attempts were seen so; ` +
    `but ${here.syns === 1 ? 'the unanswered SYN was' : `these ${here.syns} unanswered SYNs were each`} seen only once, on ${here.syns === 1 ? 'its' : 'their'} way in${ttl}, ` +
    `and never going out toward ${host}` +
    (here.answered > 0 ? ` (the retransmission that was answered in the end, for ${here.answered} of the attempts, was seen going out)` : '') +
    `: the SYNs were dropped on the capturing host, between its two interfaces — a forward or raw firewall rule, reverse-path filtering (rp_filter), ` +
    `a full conntrack table, a policy route — not by the listener on ${server}, which never received them.`
  );
}

function linearRetries(items: ReadonlyArray<{ finding: Finding }>): boolean {
  return items.some(({ finding }) => finding.evidence.backoff === 'linear' || finding.evidence.backoff === 'linear-then-exponential');
}

function diagnose(
  ctx: DetectContext,
  reported: ReadonlyArray<{ finding: Finding; attempt: Attempt }>,
  attemptsPerServer: ReadonlyMap<string, number>,
  answers: ReadonlyMap<string, readonly number[]> | null,
  runs: ReadonlyMap<string, RunInfo>,
  held: HeldConnections,
  serverPauses: ServerPauses,
  clientPauses: ClientPauses,
  rates: RateLimitedSyns,
  copied: CopiedPaths,
): void {
  const byServer = new Map<string, Array<{ finding: Finding; attempt: Attempt }>>();
  for (const r of reported) {
    const list = byServer.get(r.attempt.server) ?? [];
    list.push(r);
    byServer.set(r.attempt.server, list);
  }
  const overflowByServer = new Map<string, number>();
  /** Of those, the ones the listener reset after the handshake (tcp_abort_on_overflow = 1) rather than dropped its final ACK. */
  const overflowResetByServer = new Map<string, number>();
  for (const f of ctx.findings('accept-queue-overflow')) {
    // Connections a limit refused as it accepted them (closed-at-accept) were taken from the queue: no overflow.
    if (f.evidence.signal === 'closed-at-accept' || f.evidence.signal === 'failed-at-once') continue;
    overflowByServer.set(f.server, (overflowByServer.get(f.server) ?? 0) + 1);
    if (f.evidence.resetAfterHandshake !== undefined) overflowResetByServer.set(f.server, (overflowResetByServer.get(f.server) ?? 0) + 1);
  }

  for (const [server, items] of byServer) {
    const count = items.length;
    const total = attemptsPerServer.get(server);
    const outcomes = new Map<Outcome, number>();
    for (const { attempt } of items) outcomes.set(attempt.outcome ?? 'abandoned', (outcomes.get(attempt.outcome ?? 'abandoned') ?? 0) + 1);
    // Those left in flight by a client that stopped are told apart: no connect timeout gave them up.
    const shown = new Map<string, number>();
    for (const { attempt } of items) {
      const words = attempt.stoppedAt >= 0 ? STOPPED_WORDS : OUTCOME_WORDS[attempt.outcome ?? 'abandoned'];
      shown.set(words, (shown.get(words) ?? 0) + 1);
    }
    const outcomeText = [...shown].map(([words, n]) => `${n} ${words}`).join(', ');
    const run = runs.get(server);
    // Attempts that sent one SYN each show only that they were given up before the next began: a
    // client that pauses between attempts (ClientPauses) gave each up that pause sooner.
    const clientPause =
      run !== undefined && run.interval !== null && run.singleSyn && run.clientHosts.length === 1
        ? clientPauses.pauseBefore(run.clientHosts[0], server, run.interval.value, (gaps) =>
            inferTimeout(gaps, { fraction: ctx.options.spreadFraction, absolute: ctx.options.spreadAbsolute, minSamples: 2 }))
        : null;
    const connectTimeout: InferredValue | null =
      run === undefined || run.interval === null
        ? null
        : clientPause === null
          ? run.interval
          : { value: ms(run.interval.value - clientPause.value), samples: run.interval.samples, spread: ms(run.interval.spread + clientPause.spread) };
    const retriedCount = items.filter(({ attempt: a }) => a.synTimes.length >= 2).length;
    const rto = inferTimeout(
      items.filter(({ attempt: a }) => a.synTimes.length >= 2).map(({ attempt: a }) => a.synTimes[1] - a.synTimes[0]),
      { fraction: ctx.options.spreadFraction, absolute: ctx.options.spreadAbsolute, minSamples: 2 },
    );
    // Answered in the end on a path losing segments then: told apart, they say nothing of the listener.
    const onLossyPath = items.filter(({ attempt }) => attempt.pathLoss > 0);
    const listenerItems = items.filter(({ attempt }) => attempt.pathLoss === 0);
    const { peak, from, to } = peakConcurrent(listenerItems);
    const outage = peak < 2 ? outageOf(listenerItems, answers?.get(server) ?? null) : null;
    const share = total !== undefined ? `${count} of ${total} connection attempts` : `${count} connection attempt${count === 1 ? '' : 's'}`;
    const overflow = overflowByServer.get(server) ?? 0;
    const port = server.slice(server.lastIndexOf(':') + 1);
    // Every attempt a short probe of a run (Attempt.probe): nothing waited on them, no outage to raise.
    const probesOnly = run !== undefined && run.probes && items.every(({ attempt }) => attempt.probe);
    const dropped = droppedSyns(listenerItems);
    const clientHosts = new Set(listenerItems.map(({ attempt }) => attempt.clientHost));
    const served = dropped.length > 0 && !probesOnly ? held.servedMeanwhile(server, dropped) : null;
    // A limit only where the server was seen working past the drops: a hung one holds a constant count too.
    const limit =
      overflow === 0 && served !== null && served.servedAfter > 0
        ? held.limitOf(server, clientHosts.size === 1 ? listenerItems[0].attempt.clientHost : '', dropped)
        : null;
    // Handshakes let through at a steady pace while the SYNs between them were dropped, and an idle
    // server serving each at once: a rate limit on new connections, not a listener falling behind.
    const rate = overflow === 0 && limit === null && !probesOnly ? rates.of(server, dropped) : null;
    // Every dropped SYN followed by the server's data on a connection already open: it was up.
    const servingMeanwhile = served !== null && served.fewestOpen > 0 && served.servedAfter === dropped.length;

    // SYNs the capturing host let in and never sent on (a capture on a host that forwards them).
    const here = listenerItems.length > 0 && !probesOnly ? droppedHere(listenerItems, copied) : null;

    let cause: string;
    const lossyText = pathLossText(onLossyPath, listenerItems.length === 0);
    // No attempt to it in the capture was ever answered: down, unreachable, firewalled or hung,
    // whether the attempts came together or alone (a backlog that overflows in a burst still
    // answers the burst's first SYNs).
    const neverAnswered =
      overflow === 0 && total !== undefined && count === total && count >= 2 && !outcomes.has('answered-late') && !outcomes.has('answered-unseen') && !outcomes.has('refused');
    if (listenerItems.length === 0) {
      cause = lossyText;
    } else if (probesOnly) {
      cause = probesText(run, server);
    } else if (here !== null) {
      cause = droppedHereText(here, server);
    } else if (overflow > 0) {
      // tcp_abort_on_overflow = 1 resets the handshake instead of dropping its ACK (blind round 13b, S1c).
      const reset = overflowResetByServer.get(server) ?? 0;
      const them = `${overflow} connection${overflow === 1 ? '' : 's'}`;
      const fate =
        reset === 0
          ? `${them} had the final handshake ACK dropped`
          : reset === overflow
            ? `${them} ${overflow === 1 ? 'was' : 'were'} reset right after the handshake (tcp_abort_on_overflow = 1;`
            : `${them} had the final handshake ACK dropped, or (${reset} of them) were reset right after it`;
      cause = `On the same listener ${fate}${fate.endsWith(';') ? ' ' : ' ('}accept-queue-overflow): its accept queue was full, and a Linux listener with a full accept queue drops new SYNs too.`;
    } else if (limit !== null) {
      cause = limitText(limit, server, served ?? { fewestOpen: 0, mostOpen: 0, servedAfter: 0 });
    } else if (rate !== null) {
      cause = rateText(rate, server, dropped.length);
    } else if (neverAnswered) {
      cause =
        `No attempt to ${server} in the capture was answered${peak >= 2 ? `, up to ${peak} of them waiting at once` : ', though they came one at a time'}: ` +
        'nothing completes a handshake there — a host that is down or unreachable, a firewall dropping every SYN to the port, or a listener ' +
        'whose accept queue stays full because the server is hung. A client that is a proxy gives up at its connect timeout ' +
        '(see gateway-timeout, phase connect).';
    } else if ((run !== undefined || outage !== null) && servingMeanwhile) {
      cause = servingText(served, server, dropped.length);
    } else if (run !== undefined) {
      cause =
        `${run.attempts} attempts from ${run.clientHosts.join(', ')} in a row got no answer at all (no SYN-ACK, no RST), and no attempt to ${server} was answered meanwhile: ` +
        'an outage of that endpoint — a host down or unreachable, a firewall dropping its SYNs, a listener hung with its queue full — not isolated losses.';
    } else if (outage !== null) {
      cause =
        `${outage.count} consecutive attempts failed over ${ms(outage.span)} s and no attempt to ${server} was answered between the first and the last: ` +
        'every SYN was dropped for that span — an outage (a firewall rule, a host or listener down or hung, a route lost), not isolated losses.';
    } else if (peak >= 2) {
      cause =
        `${peak} attempts were waiting at the same moment (first SYNs within ${ms(to - from)} s): the listener dropped SYNs ` +
        'while many connections arrived at once — its SYN or accept backlog was full, or the server was hung or firewalled.';
    } else {
      cause = 'The attempts did not overlap: isolated SYN losses on the path, or a firewall or a listener that drops SYNs intermittently.';
    }
    if (listenerItems.length > 0 && onLossyPath.length > 0) cause += ` ${lossyText}`;
    if (run !== undefined && run.interval !== null && connectTimeout !== null) cause += ` ${clientPause === null ? seriesText(run, run.interval) : pausedSeriesText(run, run.interval, clientPause, connectTimeout)}`;
    // The listener's SYNs dropped while the whole process was paused (server-pauses): its backlog
    // filled because no accept() ran, which says what to look at first.
    const pause = listenerItems.length > 0 && !probesOnly && here === null && limit === null && rate === null ? serverPauses.pauseOf(server) : null;
    const inPause = pause === null ? 0 : listenerItems.filter(({ attempt: a }) => a.synTimes[0] >= pause.from && a.synTimes[0] <= pause.burstFirst).length;
    const paused = pause !== null && inPause > 0 ? pausedListenerWords(server, pause, inPause, count, 'the SYNs') : null;
    if (paused !== null) cause += paused.note;
    ctx.diagnose({
      server,
      count,
      inferred: {
        ...(rto ? { clientSynRetransmitTimeout: rto } : {}),
        ...(connectTimeout !== null ? { clientConnectTimeout: connectTimeout } : {}),
        ...(connectTimeout !== null && run !== undefined && clientPause === null && run.otherSeries.length > 0 ? { otherClientConnectTimeout: run.otherSeries[0].interval } : {}),
        ...(rate !== null ? { newConnectionInterval: { value: ms(rate.interval), samples: rate.gaps, spread: 0 } } : {}),
        ...(paused?.inferred ?? {}),
      },
      // Only SYNs a lossy path most likely lost and answered in the end (or left in flight by a client
      // that stopped), or probes nothing waited on: no failure to report at error.
      ...((listenerItems.length === 0 && onLossyPath.every(({ attempt }) => attempt.outcome === 'answered-late' || attempt.stoppedAt >= 0)) || probesOnly
        ? { severity: 'info' as const }
        : items.every(({ attempt }) => attempt.outcome === 'answered-late') ? { severity: 'warning' as const } : {}),
      explanation:
        (run !== undefined
          ? `${share} to ${server} got no SYN-ACK (${outcomeText})${retriedCount > 0 ? `; ${retriedCount} of them retransmitted their SYN first` : ''}. `
          : `${share} to ${server} had to retransmit their SYN because no SYN-ACK came (${outcomeText}). `) +
        (rto ? `The clients waited ${ms(rto.value)} s before the first retry (their initial SYN RTO; Linux: 1 s, ${linearRetries(items) ? 'repeated for the first retries since Linux 6.5 — net.ipv4.tcp_syn_linear_timeouts — then doubling' : 'doubling'}). ` : '') +
        cause +
        gaveUpText(items),
      remedy: probesOnly
        ? `Nothing to change if port ${port} of ${hostOf(server)} is meant to be closed to ${run.clientHosts.join(', ')} (a firewalled port a monitor checks). ` +
          `If a service should answer there, check that ${hostOf(server)} is up and reachable and that nothing drops SYNs to port ${port} on the way ` +
          '(iptables/nftables DROP rules, a security group, a full conntrack table).'
        : here !== null
        ? capturingHostRemedy(`these ${here.syns === 1 ? 'SYN' : `${here.syns} SYNs`} to port ${port}`, here.clientHosts.join(', '), hostOf(server)) +
          `${hostOf(server)}'s listener never received them: its backlog is not involved.` +
          (limit !== null ? ` ${limitRemedy(limit)}` : rate !== null ? ` ${rateRemedy(rate, port)}` : '')
        : limit !== null
        ? limitRemedy(limit)
        : rate !== null
        ? rateRemedy(rate, port)
        : (paused?.remedy ?? '') +
        (listenerItems.length === 0
          ? `Look at the path between the clients and ${hostOf(server)} first: it was losing packets (\`mtr\`, interface and qdisc drop ` +
            'counters, a rate limit or a statistic DROP rule on the way, a congested link); clients recover from such losses by retransmitting' +
            (onLossyPath.some(({ attempt }) => attempt.outcome !== 'answered-late' && attempt.stoppedAt < 0)
              ? ' if their timeouts leave room for it: a connect timeout under the 1 s SYN retransmission, or a read timeout under a few 200 ms RTOs, turns each lost packet into a failure. '
              : '. ') +
            'Only if the listener\'s counters below grow is its backlog involved. '
          : '') +
        (listenerItems.length > 0 && (neverAnswered || (run !== undefined && !servingMeanwhile))
          ? `Check first that ${hostOf(server)} is up and reachable from the clients and that nothing drops SYNs to port ${port} on the way ` +
            '(iptables/nftables DROP rules, a security group, a full conntrack table): with no answer at all, that is likelier than a full backlog. '
          : '') +
        `On ${hostOf(server)}: compare \`ss -ltn 'sport = :${port}'\` Recv-Q with the listener's backlog (Send-Q) and watch ` +
        '`nstat -az TcpExtListenOverflows TcpExtListenDrops`; if they grow, make the application accept faster (more ' +
        'workers/threads, nothing blocking the accept loop) and raise the listen() backlog together with ' +
        'net.core.somaxconn and net.ipv4.tcp_max_syn_backlog. ListenDrops growing without ListenOverflows is the SYN ' +
        'queue itself: keep net.ipv4.tcp_syncookies = 1 (with 0 the kernel drops SYNs once that queue nears ' +
        'tcp_max_syn_backlog). If they do not grow, look for a firewall (iptables/nftables, ' +
        'security group, full conntrack table) dropping SYNs to this port. Clients that connect in bursts can spread ' +
        'their connects or reuse connections (keep-alive pools) so fewer handshakes hit the listener at once.',
      anomalyIds: items.map((i) => i.finding.id),
    });
  }
}
