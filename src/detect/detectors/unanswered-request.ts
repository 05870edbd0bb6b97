import { FASTCGI_READ_TIMEOUTS } from '../known-timeouts';
import { statusClassEvidence, statusText, type HttpExchange } from '../../http/exchange';
import type { AnalyzedConnection } from '../analyzed-connection';
import type { DetectContext, DetectorDefinition, DiagnosisInput, FindingInput } from '../detector';
import { sharedLazyArrivalFlows } from './keepalive-race';
import { resetFromOtherHost } from '../path-reset';
import { answeredAfterClientClosed, at, captureLossNote, closeMayBeAnnounced, fineDuration, HALF_CLOSE_GRACE, hostOf, isoTime, lostBeforeRequest, microsAsMs, ms, peerAckedAll, requestLine, RESET_ON_ARRIVAL_SLACK, resetOnArrivalWithoutClose, roundTripToServer, timeOfDay } from '../facts';
import { handshakeCapturePosition } from '../../flow/capture-point';
import { seqDiff, seqGt } from '../../flow/seq';
import type { Finding, InferredValue, Severity } from '../finding';
import { clusterByDelay, failureKey, LegRequest, LoopFront, relayedToClientsText, sharedProxyLegs } from '../proxy-legs';
import { BackendCloseRelay, backendCloseRelays, backendCloseRelayWords } from '../backend-close-relays';
import { SERVER_SOFTWARE, ServerSoftware } from '../server-software';
import { sharedGatewayAnswers } from '../gateway-answers';
import { sharedGatewayClaims } from '../gateway-claims';
import { KNOWN_REQUEST_TIMEOUTS, LIBRARY_PROXY_READ_TIMEOUTS, matchKnown, serverCloseTimers, SHUTDOWN_GRACE_SETTINGS } from '../known-timeouts';
import { agreedGrace, inferTimeout, inferTimeoutRange, MAX_TIMER_TICK, tickChecked } from '../infer-timeout';
import { ClientAgents } from '../client-agents';
import { NotAccepted, notAcceptedOf, Pause, Queue, queuesOf } from '../server-stalls';
import { sharedServerPauses } from '../server-pauses';
import { agesFitTickedLimit, KILLS_LINK_GAP, SERVED_AFTER_KILLS_WITHIN, wholeSecondLimit, workerKillsDiagnosis } from '../worker-limits';
import type { TlsRecords } from '../../http/tls-records';
import { EncryptedRequest, encryptedEvidence, encryptedExchange, encryptedRequestText, sharedEncryptedRequests } from '../encrypted-request';
import { blackHoleOf, PathSegmentSizes, SegmentSizes } from '../path-loss';
import { clientHostKey, hostKeyOfEndpoint, HostPairMap } from '../host-keys';
import { agentsVaryOn, hostWithoutPortOf, proxyTellsOf, proxyTellsText } from '../proxy-tells';

/**
 * unanswered-request: a complete request that got no response byte before its connection closed
 * (the client or a proxy gave up, an idle killer cut it), or that was still waiting when the
 * capture ended (then it is *open*, reported only past `openRequestAge`).
 *
 * Whether the server's TCP stack ACKed the request tells where it got stuck: ACKed means the
 * server's application had it and did not answer (a hang, a slow handler); not ACKed means it
 * never got in (path loss, a closed window, a full accept queue).
 *
 * A response that only began after the client had closed (FIN past the half-close grace, or RST)
 * and that the client's kernel reset on arrival (its socket was gone, nothing read it) counts too:
 * the client gave up at its timeout and the server answered too late (Go's http.Client Timeout,
 * any client that closes a request it stops waiting for). A client that only half-closed ACKs and
 * reads the response instead: that stays silent. The client's close need not be captured: a client
 * that answers the response's first bytes with a RST within a round trip, never having ACKed any of
 * it, had no socket any more (resetOnArrivalWithoutClose). Its FIN may have been queued behind a
 * request the path was still losing. Then only bounds are known: it gave up after its request and
 * before the answer; no timer value is inferred from it.
 *
 * A request the server never ACKed, resent by the client until the client fell silent (its next
 * retransmission, due by the backoff, never came), did not reach the server: the path or the
 * server's host was unreachable, and the client's stack gave up (TCP_USER_TIMEOUT, tcp_retries2) or
 * it closed behind a queue that never drained. The server's later close (its idle timer, which never
 * saw the request) does not make that a crossing.
 *
 * Left to other detectors: a request sent after the server's FIN or after a `Connection: close`
 * response (keepalive-race, request-after-close-notice), a request on a reused connection that the
 * server's idle close met on arrival (keepalive-race, form closed-on-arrival: claimed by flow), a
 * request that met a closed socket (the server's FIN, then its RST), and a server reset with no
 * FIN first (reset-before-response).
 *
 * Across connections, the waits until the close cluster at the closer's timeout: the client's own
 * request timeout, or a proxy's upstream read timeout when the closer is itself a server of other
 * flows (the proxy's address receives connections from other addresses).
 *
 * A timeout closes requests at a constant *age* (close − request ≈ T, whenever they were sent); an
 * event — a restart, reload, crash or kill of the closing process — closes them at a constant
 * *moment* (the closes fall together on the capture clock while the ages spread). Closes that fall
 * together while their ages differ by far more than the closes do are such an event
 * (closeBursts): reported as one, never as a timeout. So are server-side closes that fall together
 * when the server then refuses a new connection (SYN answered by RST) right after: its listener was
 * gone, its process died or was stopped — even if the requests were sent together, so that their
 * ages agree as a timeout's would.
 */

/** Closes less than this apart (seconds) are one moment: a process closing its sockets as it exits or reloads. */
const BURST_LINK_GAP = 0.05;
/**
 * Answers this quick (seconds) are no slow server: a client whose timeout is shorter than that
 * would fail every request. One that had already given up when such an answer came gave up
 * before its request reached the server (diagnoseGaveUpUnseen).
 */
const PROMPT_ANSWER = 0.1;
/** A burst's requests' ages must spread at least this many times more than its closes do. */
const BURST_AGE_RATIO = 10;
/**
 * A refused connection this soon (seconds) after server-side closes shows that nothing listened
 * on the port any more when it closed them: the process went away (a kill, a crash, a stop).
 */
const REFUSED_SOON_AFTER = 1;
/**
 * How many closes at one moment, of requests whose ages disagree, make the closer's ending (see
 * endedAtOnce): as many as make a server's idle closes a burst (infer-timeout's CLOSE_BURST_MIN).
 */
const ENDED_AT_ONCE_MIN = 3;
/** Client host and server pairs whose latest request or connection is kept (see lastSentBy). */
const MAX_SENT_KEPT = 100_000;
const MAX_REFUSALS_PER_SERVER = 1024;
/**
 * A proxy that closes its upstream connection this soon (seconds) after its own client closed the
 * connection that carried the same request followed its client: it cancelled the forwarded request
 * because the client gave up (Go's ReverseProxy cancels it with the client's context; nginx closes
 * the upstream connection when the client goes away). The wait is the client's timeout, not one of
 * the proxy's.
 */
const CLIENT_FOLLOW_GAP = 0.05;
/**
 * A server close this soon (seconds) after the end of its own last response, with a later request
 * already sent before that response ended (pipelined), ended the connection after that response: a
 * per-connection request limit, or a `Connection: close` it did or did not announce. No timer of the
 * pending request's ran out; the wait infers none.
 */
const AFTER_OWN_RESPONSE_GAP = 0.01;
/**
 * A server close this soon (seconds, the round trip to the server taken out) after the client's
 * FIN, the request unanswered and the client resetting nothing: the server took the FIN for a
 * disconnect and dropped the request. A client that had only half-closed (shutdown(SHUT_WR)) was
 * still reading; one that had given up is no timer's either. A timer of the server's that ran from
 * the request would not meet the client's FIN so closely.
 */
const ON_CLIENT_FIN_GAP = 0.01;
/**
 * An answer this close (seconds) before a queue's first answer is counted as with it: the same
 * worker's, just freed; given on another connection, it was the long request the queue waited for.
 */
const HIDDEN_HEAD_GAP = 0.005;
/**
 * Server-side closes that follow their requests within this long (seconds, the round trip to the
 * server taken out) are no timer's: an application that takes a request and hangs up on it closes
 * in the same turn it reads it (blind round 12, S8: 0.07-0.3 ms; keepalive-race leaves such a close
 * here unless the server's idle closes show an idle timer of that age).
 */
const INSTANT_SERVER_CLOSE = 0.01;
/** The key of encrypted client waits among those by request line (no request line has it). */
const ENCRYPTED = '\u0000encrypted';

/**
 * The distinct requests of a group, for its diagnosis: ` (GET /a, POST /b, … and N more)`; for
 * requests sent over TLS, that they were encrypted; nothing when none was readable.
 */
function requestsAbout(members: readonly { request: string | null; encrypted: EncryptedRequest | null }[]): string {
  const requests = [...new Set(members.map((w) => w.request).filter((r): r is string => r !== null))];
  if (requests.length === 0) {
    const encrypted = members.filter((w) => w.encrypted !== null).length;
    if (encrypted === 0) return '';
    return encrypted === members.length ? ' (encrypted: TLS application data)' : ` (${encrypted} of them encrypted: TLS application data)`;
  }
  const shown = requests.slice(0, MAX_REQUESTS_NAMED);
  return ` (${shown.join(', ')}${requests.length > shown.length ? ` and ${requests.length - shown.length} more` : ''})`;
}

/** The later unanswered requests of a connection, for a finding: ` (GET /4, GET /5, …)`. */
function namedLater(t: { moreUnanswered: number; moreLines: readonly string[] }): string {
  if (t.moreLines.length === 0) return '';
  return ` (${t.moreLines.join(', ')}${t.moreUnanswered > t.moreLines.length ? ', …' : ''})`;
}

/** Requests named in a diagnosis at most. */
const MAX_REQUESTS_NAMED = 5;

/**
 * Groups of at least two closes that happened together (each within BURST_LINK_GAP of the next)
 * while the requests they ended were of clearly different ages: spread of the ages ≥
 * BURST_AGE_RATIO × spread of the closes, and too wide to be one timeout (beyond
 * max(spreadFraction × age, spreadAbsolute), the agreement inferTimeout asks for). The rest are
 * returned as they came.
 */
export function closeBursts<T extends { closeTs: number; wait: number }>(
  items: readonly T[],
  options: { fraction: number; absolute: number },
  /** Other proof that a run of closes was an event (the server refused connections right after). */
  eventAfter?: (run: readonly T[]) => boolean,
): { bursts: T[][]; rest: T[] } {
  const sorted = [...items].sort((a, b) => a.closeTs - b.closeTs);
  const bursts: T[][] = [];
  let run: T[] = [];
  const flush = (): void => {
    if (run.length >= 2) {
      const closeSpread = run[run.length - 1].closeTs - run[0].closeTs;
      const ages = run.map((x) => x.wait);
      const lo = Math.min(...ages);
      const hi = Math.max(...ages);
      const ageSpread = hi - lo;
      const oneTimeout = ageSpread <= Math.max(options.fraction * hi, options.absolute);
      if ((!oneTimeout && ageSpread >= BURST_AGE_RATIO * closeSpread) || eventAfter?.(run) === true) {
        bursts.push(run);
      }
    }
    run = [];
  };
  for (const x of sorted) {
    if (run.length > 0 && x.closeTs - run[run.length - 1].closeTs > BURST_LINK_GAP) flush();
    run.push(x);
  }
  flush();
  // The rest in the order given (the timeout diagnoses list them as before).
  const inBurst = new Set<T>(bursts.flat());
  return { bursts, rest: items.filter((x) => !inBurst.has(x)) };
}

/**
 * Waits that only one starting point puts in its agreeing cluster: at least this many must be the
 * SYN's, and more than CONNECT_PROOF_RATIO times those that only the request's cluster takes.
 */
const CONNECT_PROOF_MIN = 2;
/**
 * A request sent on a reused connection this soon (seconds) after that connection's previous
 * answer was handed the connection by the client's pool as it came free: it had waited for one.
 */
const HANDED_OVER_WITHIN = 0.01;
const CONNECT_PROOF_RATIO = 2;

/**
 * Whether a client's timer demonstrably starts at the connect (curl --max-time, Go's
 * http.Client.Timeout, which covers the dial): counted from each connection's first SYN, most of
 * the waits on connections opened for their requests agree, and the connections whose handshake
 * took long (SYNs resent, a listener slow to answer) are what tells the two starting points apart:
 * they agree from the SYN and not from the request. Where the handshakes were all short both
 * points agree alike and nothing is proven (a timer armed at the request reads as well); where
 * they agree from the request and not from the SYN, the timer starts at the request (Python's
 * settimeout after its connect). Clusters are judged at the relative tolerance alone: the absolute
 * floor (spreadAbsolute, 50 ms) would put a 150 ms timer's waits in one cluster from either point,
 * the handshakes' 45 ms included (blind 16 S14b: Go's 150 ms read 0.126 s from the request).
 * A few outliers do not defeat it (a Go connection dialed for a request that had already given up
 * and taken by the next one: its wait from the SYN is that request's and the next one's together).
 */
export function timerStartsAtConnect(items: ReadonlyArray<{ wait: number; sinceConnect: number | null }>, options: { fraction: number }): boolean {
  const fresh: Array<{ wait: number; sinceConnect: number }> = [];
  for (const i of items) if (i.sinceConnect !== null) fresh.push({ wait: i.wait, sinceConnect: i.sinceConnect });
  if (fresh.length < CONNECT_PROOF_MIN) return false;
  const strict = { fraction: options.fraction, absolute: 0, minSamples: 2 };
  const syn = inferTimeoutRange(fresh.map((i) => i.sinceConnect), strict);
  if (syn === null || 2 * syn.inferred.samples <= fresh.length) return false;
  const req = inferTimeoutRange(fresh.map((i) => i.wait), strict);
  let onlySyn = 0;
  let onlyReq = 0;
  for (const i of fresh) {
    const bySyn = i.sinceConnect >= syn.lo && i.sinceConnect <= syn.hi;
    const byReq = req !== null && i.wait >= req.lo && i.wait <= req.hi;
    if (bySyn && !byReq) onlySyn++;
    else if (byReq && !bySyn) onlyReq++;
  }
  return onlySyn >= CONNECT_PROOF_MIN && onlySyn > CONNECT_PROOF_RATIO * onlyReq;
}

const MAX_OPEN_KEPT = 10_000;
/** Waits counted from the SYN must spread at most this share of those counted from the request to name a timer that covers the connect. */
const CONNECT_SPREAD_RATIO = 0.7;
/**
 * A request still waiting at capture end, younger than `openRequestAge`, is noted (info) once it
 * has waited at least this long and OPEN_SLOWEST_RATIO times the slowest answer its server gave in
 * the capture: a capture or a CI window that ends while a server hangs says so, while one cut in
 * the middle of ordinary exchanges says nothing.
 */
const OPEN_NOTED_AFTER = 1;
const OPEN_SLOWEST_RATIO = 10;
/** Slots for the longest answer each live connection's client took (see takenId): a power of two. */
const TAKEN_SLOTS = 1 << 15;
const MAX_WAITS_PER_SERVER = 10_000;
/**
 * A request resent at least this often, never ACKed, counts as unreached once the client fell
 * silent: two resends show the retransmission timer backing off, not one lost segment.
 */
const UNREACHED_MIN_RESENDS = 2;
/**
 * The client fell silent when nothing came from it for this many times the span from its request
 * to its last resend: the retransmission timer doubles, so the next resend was due about that span
 * after the last one.
 */
const UNREACHED_SILENCE_RATIO = 2;
/**
 * An answer the path delayed (noteDelayedByPath) is noted from this wait on (seconds): as long as
 * the 3 s retransmission timeout Linux starts from after a lost handshake segment, which one lost
 * request on an ordinary lossy path can reach; shorter recoveries are the path's everyday loss.
 */
const DELAYED_NOTED_AFTER = 3;
/**
 * The longest a receiver may delay its acknowledgement (seconds; RFC 1122 4.2.3.2: under 0.5 s): data
 * that arrived is acknowledged within it whether the application reads it or not.
 */
const ACK_DELAY_MAX = 0.5;
const MAX_SERVERS = 10_000;
const MAX_SERVER_IPS = 100_000;

interface Tracked {
  ex: HttpExchange;
  /** The previous response on the connection asked to close it. */
  afterCloseNotice: boolean;
  /** The exchange before it on the connection, if kept (its close notice may have been cut off by the snaplen). */
  previous: HttpExchange | undefined;
  /** Server bytes after this moment are not accounted for by earlier responses. */
  answeredUntil: number;
  /** The response began only after the client had closed: when, and with which status (null: it came in time, or never). */
  lateAnswer: { ts: number; frame: number; status: number | null; statusClass?: string } | null;
  /** The request was a turn of TLS application data (an HTTPS connection): what the record headers told. */
  encrypted: EncryptedRequest | null;
  /** Later requests on the connection that got no response either (pipelined behind it): how many, and the first few lines. */
  moreUnanswered: number;
  moreLines: string[];
  /** The server sent an answer the path lost before the client (see LostAnswer); null: none seen sent. */
  lostAnswer?: LostAnswer | null;
}

/**
 * An answer the server sent that never reached the client (blind round 17, middlebox s11: random
 * loss on the path, a 1 s client timeout). `hole`: seen from the client, the server's later packet
 * (its FIN) came past bytes the capture never showed and the client never acknowledged: a capture
 * that only missed them at the client would show the client acknowledging them, so the path lost
 * them. `unacked`: seen from the server, its answer (and its retransmission) went out and the
 * client's acknowledgement never moved past the request until it closed.
 */
interface LostAnswer {
  view: 'hole' | 'unacked';
  /** Bytes of the answer the client never acknowledged. */
  bytes: number;
  /** Segments the server resent on the connection (its retransmission timer): 0 where the capture cannot tell. */
  resends: number;
  /**
   * Seen from the server: data segments the client resent on the connection (pathResends). Copies
   * of the request lost on the way too: the client may have sent it before the first copy the
   * server saw, and waited longer than the wait measured here.
   */
  clientResends: number;
}

/** How a close with the request pending ended it when no timer did (null: a wait, which may be a timer's). */
type Ending = 'afterOwnResponse' | 'onClientFin' | null;

interface OpenRequest {
  ex: HttpExchange;
  /** Why the connection left the table without a close: the capture ended, or it went silent (idle expiry). */
  endReason: string | null;
  flowId: number;
  client: string;
  server: string;
  serverAcked: boolean;
  serverZeroWindow: boolean;
}

interface CloseEvent {
  ts: number;
  frame: number;
  by: 'client' | 'server';
  with: 'FIN' | 'RST';
}

type CloserRole = 'client' | 'proxy' | 'server';

/**
 * The client's data segments resent after the server had ACKed some of its data: the path's
 * losses, not a listener's (a full accept queue drops a new connection's first data until it
 * accepts it: accept-queue-overflow's).
 */
function pathResends(conn: AnalyzedConnection): number {
  const c = conn.client;
  return c.retransmissions - c.retransmissionsBeforePeerAck;
}

/**
 * Whether the client's FIN left right behind a resend of its request, still unanswered: a FIN
 * queued behind unacknowledged data goes out only once the data is acknowledged, within a round trip
 * of the resend that got through (RESET_ON_ARRIVAL_SLACK past two round trips), whenever the client
 * closed. blind round 11, S4c40: the request sent 4 times over 0.838 s, the client's 0.5 s timeout
 * long past, its FIN 0.13 ms after the 4th copy, which the server ACKed and answered at once.
 */
function finQueuedBehindResends(conn: AnalyzedConnection, requestEnd: number): boolean {
  const c = conn.client;
  const last = c.lastRetransmissionTs;
  if (c.finTs < 0 || c.retransmissions === 0 || last <= requestEnd || c.finTs < last) return false;
  const rtt = handshakeCapturePosition(conn);
  const within = 2 * (rtt === null ? 0 : rtt.serverRtt + rtt.clientRtt) + RESET_ON_ARRIVAL_SLACK;
  return c.finTs - last <= within;
}

/** A request whose answer the client reset on arrival, its close not captured (resetOnArrivalWithoutClose). */
interface GaveUpUnseen {
  findingId: string;
  request: string | null;
  /** Seconds from the request to the answer: the client gave up within them. */
  late: number;
  /** Times the client resent the request (the path lost it meanwhile), and over how long. */
  resends: number;
  resentFor: number;
}

/** A request the server never ACKed, resent until the client fell silent. */
interface Unreached {
  findingId: string;
  request: string | null;
  resends: number;
  /** Seconds from the request to its last resend: the client gave up no sooner. */
  resentFor: number;
}

/**
 * What the server did with the requests, for a diagnosis: it answered those whose answer the path
 * lost (Wait.lostAnswer); of the others, whether its stack had them (ackedText).
 */
function answeredText(members: ReadonlyArray<{ serverAcked: boolean; lostAnswer: LostAnswer | null }>, acked: number): string {
  const lost = members.filter((w) => w.lostAnswer !== null).length;
  if (lost === 0) return ackedText(acked, members.length);
  const n = members.length;
  if (lost === n) return n === 1 ? 'The server answered it, but the answer never reached the client' : 'The server answered every one of them, but the answers never reached the client';
  const rest = members.filter((w) => w.lostAnswer === null);
  return `The server answered ${lost} of them, the answers never reaching the client; of the others: ${ackedText(rest.filter((w) => w.serverAcked).length, rest.length).replace(/^The/, 'the')}`;
}

/** Whether the server's stack had the unanswered requests (it ACKed them), for a diagnosis: `acked` of `n`. */
function ackedText(acked: number, n: number): string {
  if (n === 1) {
    return acked === 1
      ? 'The server ACKed it: its TCP stack had the request, so its application hung or was too slow'
      : 'The server did not ACK it: the request never got in (path loss, a zero window, a full accept queue)';
  }
  return acked === n
    ? 'The server ACKed every one of them: its TCP stack had the requests, so its application hung or was too slow for them'
    : acked === 0
      ? 'The server ACKed none of them: they never got in (path loss, a zero window, a full accept queue)'
      : `The server ACKed ${acked} of them (its application did not answer those); the others never got in`;
}

interface Wait {
  finding: Finding;
  wait: number;
  closeTs: number;
  closeFrame: number;
  request: string | null;
  serverAcked: boolean;
  closedBy: 'client' | 'server';
  closerIp: string;
  /** The connection's endpoints and the request, to tell whether its client was forwarding it. */
  client: string;
  server: string;
  method: string | null;
  uri: string | null;
  requestStart: number;
  /**
   * close − the client's first SYN, when the request was its connection's first and the client
   * closed: a client whose timeout covers the connect (curl --max-time, fetch with
   * AbortSignal.timeout) started its timer there, a handshake (one round trip) before the request.
   */
  sinceConnect: number | null;
  /** Seconds from the request to a response that came after the client had closed, or null. */
  lateAfter: number | null;
  /** For the stall judgements (server-stalls): the connection, the request's end, the late response's start, and whether it was the connection's first. */
  flowId: number;
  requestEnd: number;
  lateTs: number | null;
  firstOnConnection: boolean;
  /**
   * The server's application had the connection: its FIN came right behind the client's
   * (serverCloseOnClientFin). The kernel sends no FIN for a connection nobody accepted, so these
   * were no connections left in the listen backlog (server-stalls' notAcceptedOf).
   */
  accepted: boolean;
  /**
   * The server is a proxy that had forwarded the request and closed without answering while that
   * upstream copy was still unanswered: its attempt failed upstream (null otherwise).
   */
  failedUpstream: LegRequest | null;
  /** The connection's client as its first request named it (HttpSession.clientSoftware, clientForwarded). */
  clientAgent: string | null;
  clientForwarded: boolean | null;
  /** What in the request says a proxy sent it (proxy-tells.ts: TELL_* bits, 0 for none). */
  proxyTells: number;
  /** The request's Host where it names no port though it went to another port than 80 (hostWithoutPortOf): its client may be a proxy. */
  hostWithoutPort: string | null;
  /** Its connection carried requests with different User-Agents (agentsVaryOn): its client may be a proxy's pool. */
  agentsVary: boolean;
  /** An encrypted request (TLS), or null. */
  encrypted: EncryptedRequest | null;
  /** A FastCGI request (HttpExchange.protocol): a web server's to PHP-FPM or another FastCGI application. */
  fastcgi: boolean;
  /** The longest the client waited for an answer to the same request line it took on the same connection (0: none). */
  takenBefore: number;
  /** The close was no timer's (see Ending): diagnosed on its own, no timeout inferred. */
  ending: Ending;
  /** Seconds from the server's last response end (afterOwnResponse) or the client's FIN (onClientFin) to the close. */
  endingGap: number;
  /** The client closed with a FIN and the server closed right after it (serverCloseOnClientFin): it may have been a half-close. */
  serverClosedOnFin: boolean;
  /** Requests left unanswered on the connection: this one and those pipelined behind it (names: the first few). */
  unansweredCount: number;
  unansweredLines: string[];
  /**
   * The client gave up and no packet of the server's came after (its sequence number would have
   * shown whether it had sent an answer the path lost): the hosts, for PathSegmentSizes; else null.
   */
  unprovenHosts: { serverHost: string; clientHost: string } | null;
  /** The server's answer was sent and the path lost it (Tracked.lostAnswer). */
  lostAnswer: LostAnswer | null;
}

/**
 * A response that began only after the client had closed the connection (see
 * answeredAfterClientClosed): its start, frame and status. Whether the client then refused it is
 * decided when the connection ends.
 */
function lateAnswerOf(ex: HttpExchange, conn: AnalyzedConnection): Tracked['lateAnswer'] {
  if (!answeredAfterClientClosed(ex, conn) || ex.responseStart === null) return null;
  return { ts: ex.responseStart, frame: ex.responseFrame ?? 0, status: ex.status, statusClass: ex.statusClass };
}

/**
 * How many of a client's waits were that client sending a request again by itself right after it
 * gave up on it: those retried-request judged the retry of another of these waits (Ruby's Net::HTTP
 * resends an idempotent request once after Net::ReadTimeout: unanswered-request-jvm-ruby-erlang-timeouts,
 * 11 ms after its close). Its judgement, not a gap of our own: a loop whose every call times out
 * (curl run again and again, a process per call) sends the same request soon after each close too,
 * and retried-request tells that from a resend by the client's pace, agent and what came between.
 * retried-request runs before this detector, so the resends it holds back to its end (one after a
 * give-up waits for the attempt after it, see its holdsBack) are reported by the time these waits
 * are diagnosed.
 */
function resentAfterGivingUp(waits: readonly Wait[], retries: readonly Finding[]): number {
  if (retries.length === 0) return 0;
  const flows = new Set<number>();
  for (const w of waits) if (w.finding.flowId !== null) flows.add(w.finding.flowId);
  let resent = 0;
  for (const f of retries) {
    const failedOn = f.evidence.failedFlowId;
    if (f.flowId !== null && flows.has(f.flowId) && typeof failedOn === 'number' && flows.has(failedOn)) resent++;
  }
  return resent;
}

/**
 * A proxy's upstream requests it gave up on at waits that agree with no other (a timer checked on
 * a coarse tick, as Squid's; a reload's grace; a single one): unanswered-request infers no value
 * from them and leaves them to the diagnosis of what the proxy's own clients got, which names those
 * upstream connections (gateway-timeout). Their findings by upstream connection, so that diagnosis
 * lists them too and no error is left without one.
 */
export interface ProxyWaitsLeft {
  note(finding: Finding): void;
  /** The findings left on these upstream connections. */
  on(flowIds: Iterable<number>): string[];
}

export function sharedProxyWaitsLeft(ctx: Pick<DetectContext, 'shared'>): ProxyWaitsLeft {
  return ctx.shared('unanswered-request.proxy-waits-left', (): ProxyWaitsLeft => {
    const byFlow = new Map<number, string[]>();
    return {
      note(finding: Finding): void {
        if (finding.flowId === null || byFlow.size >= MAX_PROXY_WAITS_LEFT) return;
        const ids = byFlow.get(finding.flowId);
        if (ids === undefined) byFlow.set(finding.flowId, [finding.id]);
        else ids.push(finding.id);
      },
      on(flowIds: Iterable<number>): string[] {
        const out: string[] = [];
        for (const id of flowIds) out.push(...(byFlow.get(id) ?? []));
        return out;
      },
    };
  });
}

/** Upstream connections ProxyWaitsLeft keeps. */
const MAX_PROXY_WAITS_LEFT = 4096;

/**
 * The fields every unanswered-request finding gives of its request, in this order. A request whose
 * start was not seen (its head began before the capture) is dated by its end.
 */
function requestEvidence(ex: HttpExchange, line: string | null, requestEnd: number): Record<string, string | number | null> {
  return {
    method: ex.method,
    uri: ex.uri,
    requestLine: line,
    exchangeIndex: ex.index,
    idleBefore: ex.idleBefore === null ? null : ms(ex.idleBefore),
    requestStart: at(ex.requestStart ?? requestEnd),
    requestEnd: at(requestEnd),
  };
}

/** Methods whose requests carry no body (RFC 9110 gives a body to none of them a meaning). */
const BODILESS_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/**
 * Whether a request whose head the snaplen cut (requestCut) was all sent all the same: a bodiless
 * method's, in one segment (its first is the client's last data), the client having sent nothing
 * after it. Clients write a request head in one write; a head sent in pieces (a slow client's, or
 * one longer than a segment) shows its later pieces, and a body to come (a PUT, a POST: a
 * Content-Length the cut hid) is a method's that has one. So the server's close after such a
 * request is no timeout of a request still arriving (blind test 12: a backend killed during
 * GET /hang, captured at -s 96, was not reported).
 */
function cutRequestSentWhole(ex: HttpExchange, conn: AnalyzedConnection): boolean {
  return ex.method !== null && BODILESS_METHODS.has(ex.method) && ex.requestFrame !== null && ex.requestBodyBytes === 0 && conn.client.lastDataFrame === ex.requestFrame;
}

export const unansweredRequest: DetectorDefinition = {
  id: 'unanswered-request',
  meta: {
    description:
      'A complete request got no response byte before its connection closed (by the client, a proxy or an idle kill), or was still waiting at capture end.',
    severity: 'error',
    messages: {
      closed: '{request} got no response: the {closedBy} closed the connection ({closedWith}) {wait} s after the request; {acked}',
      lostAnswer:
        '{request} got no response the client received: the server answered it ({bytes} bytes{resent}), but {how}; ' +
        'the client closed the connection ({closedWith}) {wait} s after the request, having acknowledged none of the answer: the path lost it, not the server',
      open: '{request} still had no response when {when}, {wait} s after it was sent; {acked}',
      openSlow: '{request} still had no response when {when}, {wait} s after it was sent, {slowest}; {acked}',
      late:
        '{request} got no response in time: the client closed the connection ({closedWith}) {wait} s after the request; ' +
        'the server answered {status} only {late} s after the request, and the client, which had closed its socket, reset it',
      lateUnseen:
        '{request} got no response in time: the server answered {status} only {late} s after the request, and the client reset it on arrival ' +
        'without acknowledging any of it: it had closed its socket before, within {late} s of the request (its close was not captured){resent}',
      unreached:
        '{request} never reached the server: the client sent it {sends} times over {resentFor} s and the server never ACKed it; then the client fell silent ' +
        '(it gave up no sooner than {resentFor} s after the request), and the server closed the connection ({closedWith}) {serverClose} s after the request without having had it',
      closedAfterResponse:
        '{request}{more} got no response: the server closed the connection (FIN) {gap} s after the end of its own response to the request before, with {them} already sent (pipelined): ' +
        'it ended the connection after that response (a per-connection request limit, or a Connection: close), no timer of the request\'s; {acked}',
      closedOnClientFin:
        '{request}{more} got no response: the client sent its FIN {finAfter} s after the request and reset nothing (a half-close, shutdown(SHUT_WR): it went on reading), ' +
        'and the server closed the connection ({closedWith}) {gap} s after that FIN without answering: it took the FIN for a disconnect; {acked}',
      cancelled:
        '{request} got no response: the proxy closed this upstream connection ({closedWith}) {wait} s after the request, {gap} ms after its own client had closed ' +
        'the connection carrying the same request (flow {downstreamFlow}, {downstream}): it cancelled the forwarded request when its client gave up, ' +
        'the same failure as {downstream}, not another; {acked}',
      cancelledLate:
        '{request} got no response: the proxy closed this upstream connection ({closedWith}) {wait} s after the request, {gap} ms after its own client had closed ' +
        'the connection carrying the same request (flow {downstreamFlow}, {downstream}): it cancelled the forwarded request when its client gave up, ' +
        'the same failure as {downstream}, not another; the backend answered {status} only {late} s after the request, into the closed connection',
      relayed:
        '{request} was answered {status} by the proxy {delay} s after the request: it had forwarded the request to {backend} ({leg}), ' +
        'which closed that connection without a response {wait} s after it; the proxy relayed that close, no timer of its own fired',
      relayedRetried:
        '{request} was answered {status} by the proxy {delay} s after the request: it had forwarded the request to {backend} {attempts} times ({legs}), ' +
        'the backend closed each attempt without a response ({waits} s after it) and the proxy sent it again after each close but the last: ' +
        'the client waited for every attempt, no timer of the proxy\'s fired',
      delayedByPath:
        '{request} was answered only {wait} s after it was sent: the client resent it {resends} times, until {resentFor} s after the request, and the server answered {after} s after that resend; ' +
        'the path lost the request for that long (retransmission timeouts), the server was not slow',
    },
  },
  create(ctx: DetectContext) {
    const tracked = new Map<number, Tracked>();
    /** The server segment sizes each client host got (a path capping them below the MSS: pathNote). */
    const segmentSizes = new PathSegmentSizes();
    /** Findings whose request a PMTU black hole may have met unseen (Wait.unprovenHosts), by finding id. */
    const unproven = new Map<string, { serverHost: string; clientHost: string }>();
    /** Findings whose answer the server sent and the path lost (Wait.lostAnswer), by finding id. */
    const lostAnswers = new Map<string, LostAnswer>();
    const open: OpenRequest[] = [];
    /** Addresses that are servers to clients on other addresses (a closer at one of them is a proxy). */
    const serverIps = new Set<string>();
    const waitsByServer = new Map<string, Wait[]>();
    const gaveUpUnseenByServer = new Map<string, GaveUpUnseen[]>();
    const unreachedByServer = new Map<string, Unreached[]>();
    /** When each server endpoint refused a connection (SYN answered by RST), in the order seen. */
    const refusalsByServer = new Map<string, number[]>();
    /**
     * The latest request or connection each client host began towards each server (key: host and
     * server endpoint): a client that closed requests at one moment and sent nothing after had
     * ended (endedAtOnce). Bounded: past MAX_SENT_KEPT pairs, new ones are not kept (unknown: no
     * such claim).
     */
    // By server endpoint, then client host key (no `${host} ${server}` string per pair: HostPairMap).
    const lastSentBy = new HostPairMap<number>();
    const noteSent = (conn: AnalyzedConnection, ts: number): void => {
      const client = clientHostKey(conn);
      const last = lastSentBy.get(conn.serverName, client);
      if (last === undefined ? lastSentBy.size < MAX_SENT_KEPT : ts > last) lastSentBy.set(conn.serverName, client, ts);
    };
    let captureEnd = -Infinity;
    /** The longest any answered request waited for its response's first byte, by server. */
    const slowestAnswer = new Map<string, number>();
    /**
     * A paused server process, judged once for every detector that asks (server-pauses), and every
     * answer (response start) by server it keeps, for telling a paused process, one that stopped
     * accepting and a queue from a slow application (server-stalls).
     */
    const serverPauses = sharedServerPauses(ctx);
    const answers = serverPauses.answers;
    /** By server: the pause its unanswered requests show (see diagnose). */
    const pauses = new Map<string, Pause>();
    /** Requests queued behind a long one at a concurrency limit, by server (server-stalls' queuesOf). */
    const queues = new Map<string, Queue[]>();
    /** The request line of each queue member's connection (for the words). */
    const queuedLines = new Map<number, string | null>();
    /** A proxy's client-leg request (its flow) whose forwarded copy was in a queue upstream: that server and flow. */
    const queuedUpstream = new Map<number, { server: string; flowId: number }>();
    /**
     * By live connection: the longest its client waited for an answer it took on it, and that
     * request's method and URI (one client, and one call site's timer: a client may give its report
     * endpoint longer than the rest). In slots by connection id, typed where they can be: a Map
     * looked up and set per exchange cost this detector a third more instructions. Two live
     * connections on one slot: the later one takes it, the other's evidence is lost (no timeout is
     * then refused on it, as before this evidence).
     */
    const takenId = new Float64Array(TAKEN_SLOTS).fill(-1);
    const takenWait = new Float64Array(TAKEN_SLOTS);
    const takenMethod: Array<string | null> = new Array<string | null>(TAKEN_SLOTS).fill(null);
    const takenUri: Array<string | null> = new Array<string | null>(TAKEN_SLOTS).fill(null);
    /** Per connection slot: its latest answered exchange (see unackedAnswerOf). */
    const answeredId = new Float64Array(TAKEN_SLOTS).fill(-1);
    const answeredEx: Array<HttpExchange | null> = new Array<HttpExchange | null>(TAKEN_SLOTS).fill(null);

    /**
     * Seen from the client: the request unanswered as far as the capture shows, with server bytes
     * missing after the earlier answers, all of them bytes the client never acknowledged
     * (Endpoint.unackedBytes: the path lost them, a capture that missed them would show them
     * acknowledged), the server sending nothing seen after, and the client closing after its request.
     * Null when anything else made the exchange uncertain (capture loss, a snaplen cut).
     */
    function holeAnswerOf(conn: AnalyzedConnection, t: Tracked): LostAnswer | null {
      const s = conn.server;
      const c = conn.client;
      const requestEnd = t.ex.requestEnd ?? 0;
      if (s.gapBytes === 0 || s.unackedBytes !== s.gapBytes || s.unseenBeforeRst || !c.hasAck) return null;
      if (s.lastDataTs > t.answeredUntil || s.lossToTs < requestEnd) return null;
      if (c.finTs < requestEnd && c.rstTs < requestEnd) return null;
      return { view: 'hole', bytes: s.unackedBytes, resends: 0, clientResends: 0 };
    }

    /**
     * Seen from the client, with no hole in the server's stream: an empty segment of the server's
     * (an ACK of the client's resent request or of its FIN) after the request carried a sequence
     * number past every byte that reached the client (Endpoint.aheadSeq), which the client never
     * acknowledged: the server had sent that many bytes after its earlier answers, and the path lost
     * them (its FIN, queued behind them, never came).
     */
    function aheadAnswerOf(conn: AnalyzedConnection, t: Tracked): LostAnswer | null {
      const s = conn.server;
      const c = conn.client;
      if (s.aheadTs < 0 || s.aheadTs < (t.ex.requestEnd ?? Infinity) || s.lastDataTs > t.answeredUntil || !c.hasAck || !s.hasNextSeq) return null;
      if (s.lostBytes > 0 || seqGt(c.highestAck, s.nextSeq)) return null;
      const bytes = seqDiff(s.nextSeq, s.aheadSeq);
      return bytes > 0 ? { view: 'hole', bytes, resends: 0, clientResends: 0 } : null;
    }

    /**
     * Seen from the server: its latest answer went out whole, the server resent data (its
     * retransmission timer: it was not acknowledged), and the client's acknowledgement never moved
     * after the answer began, its close (a FIN or RST that acknowledges) included, though the close
     * came more than the round trip to the client and the longest delayed ACK (ACK_DELAY_MAX) after
     * the answer's end: a client that had received any of it would have acknowledged it by then
     * (its kernel does, whether its application reads or not), so the path lost it. An answer still
     * in flight when the client closed (crossing its timeout) is not this. The path's black hole for
     * large segments is pmtu-blackhole's.
     */
    function unackedAnswerOf(conn: AnalyzedConnection, ex: HttpExchange): { t: Tracked; close: CloseEvent } | null {
      const s = conn.server;
      const c = conn.client;
      if (ex.responseStart === null || ex.requestEnd === null || ex.uncertain) return null;
      if (s.retransmissions === 0 || !c.hasAck || c.highestAckTs >= ex.responseStart || peerAckedAll(s, c)) return null;
      if (s.lostBytes > 0 || s.lastDataTs < ex.responseStart || conn.app?.tls != null || blackHoleOf(conn) !== null) return null;
      const { close } = closeAfter(conn, ex.requestEnd, ex.index, false);
      if (close === null || close.by !== 'client') return null;
      const clientRtt = handshakeCapturePosition(conn)?.clientRtt ?? 0;
      if (close.ts - (ex.responseEnd ?? ex.responseStart) <= clientRtt + ACK_DELAY_MAX) return null;
      // What the close acknowledged: where the client stood when it gave up.
      const closeAck = close.with === 'FIN' ? (c.finHasAck ? c.finAck : null) : c.rstHasAck ? c.rstAck : null;
      if (closeAck === null || c.peerSeqEndBeforeClose < 0) return null;
      const bytes = seqDiff(closeAck, c.peerSeqEndBeforeClose);
      if (bytes <= 0) return null;
      const previous = conn.app?.recent.find((e) => e.index === ex.index - 1);
      return {
        t: {
          ex, afterCloseNotice: false, previous, answeredUntil: ex.requestEnd, lateAnswer: null, encrypted: null, moreUnanswered: 0, moreLines: [],
          lostAnswer: { view: 'unacked', bytes, resends: s.retransmissions, clientResends: pathResends(conn) },
        },
        close,
      };
    }
    /**
     * By live connection (slots as takenId's): the client's retransmission count when its previous
     * exchange was decided, so that an exchange's own resends are the difference.
     */
    const resentId = new Float64Array(TAKEN_SLOTS).fill(-1);
    const resentBase = new Float64Array(TAKEN_SLOTS);
    /** Answers the path delayed (noteDelayedByPath), reported when their connection ends unless its client had given up on them. */
    const delayedByConn = new Map<number, { ex: HttpExchange; waited: number; resends: number }>();

    /** The first refusal by `server` at or after `ts` and within REFUSED_SOON_AFTER of it, or null. */
    const refusedSoonAfter = (server: string, ts: number): number | null => {
      let first: number | null = null;
      for (const r of refusalsByServer.get(server) ?? []) {
        if (r >= ts && r - ts <= REFUSED_SOON_AFTER && (first === null || r < first)) first = r;
      }
      return first;
    };

    /** The refusals by `server` in [from, to]. */
    const refusedBetween = (server: string, from: number, to: number): number => {
      let n = 0;
      for (const r of refusalsByServer.get(server) ?? []) if (r >= from && r <= to) n++;
      return n;
    };
    /**
     * After server-side closes that ended at `ts` (flows `except`): the new connections the server
     * answered within SERVED_AFTER_KILLS_WITHIN, when it refused none meanwhile; null when it refused
     * one, or the answers of that window are no longer kept.
     */
    const servedAfter = (server: string, ts: number, except: ReadonlySet<number>): number | null => {
      const to = ts + SERVED_AFTER_KILLS_WITHIN;
      if (refusedBetween(server, ts, to) > 0) return null;
      return answers.answeredDuring(server, ts, to, except)?.newConnections ?? null;
    };
    /**
     * Server-side closes at one moment that were workers killed at a per-request time limit's
     * check, not a restart (worker-limits.ts): each request cut at least MIN_WORKER_TIME_LIMIT after
     * it was sent, all within one tick of each other, and the listener kept accepting: a new
     * connection served soon after, none refused. How many new connections it served; null when not.
     * `cutAgain`: new connections taken after the burst whose requests were cut at the same limit in
     * turn (a worker booted by the master took them): they show a listener that kept accepting too.
     */
    const killedAtTimeLimit = (server: string, burst: readonly Wait[], cutAgain = 0): number | null => {
      if (!agesFitTickedLimit(burst.map((w) => w.wait))) return null;
      const last = Math.max(...burst.map((w) => w.closeTs));
      const first = Math.min(...burst.map((w) => w.closeTs));
      // Closes on another port of the same host in the same moment: one process held both listeners
      // and went away; a time limit kills a worker of one pool.
      const host = hostOf(server);
      for (const [other, waits] of waitsByServer) {
        if (other === server || hostOf(other) !== host) continue;
        if (waits.some((w) => w.closedBy === 'server' && w.closeTs >= first - BURST_LINK_GAP && w.closeTs <= last + BURST_LINK_GAP)) return null;
      }
      const served = servedAfter(server, last, new Set(burst.map((w) => w.flowId)));
      return served !== null && served + cutAgain > 0 ? served : null;
    };

    /**
     * Server cuts that are workers killed at a ticked time limit though closeBursts found no burst
     * among them (requests sent together and killed at one check have alike ages, within one
     * timer's agreement): every age within one tick of the others, yet too spread for one precise
     * timer (a cut at another check, at its own phase of the tick: blind round 11, gunicorn
     * --timeout 3 cut three requests sent at once at 3.505-3.572 s and a lone one at 3.408 s), one
     * whole second fitting every age, and at least two closed at one moment (KILLS_LINK_GAP) after
     * which the listener kept accepting (killedAtTimeLimit): it served a new connection, or took
     * one whose request was cut at the same limit in turn (that lone cut, 2 s after the kills). A
     * precise timeout closes each request its own delay after it was sent: its cuts are never
     * earlier than its others by a tick's share. The new connections served and cut again; null when not.
     */
    const killedAtOneCheck = (server: string, waits: readonly Wait[]): { served: number; cutAgain: number } | null => {
      if (waits.length < 3) return null;
      const ages = waits.map((w) => w.wait);
      const lo = Math.min(...ages);
      const hi = Math.max(...ages);
      if (!agesFitTickedLimit(ages) || hi - lo <= Math.max(ctx.options.spreadFraction * hi, ctx.options.spreadAbsolute) || wholeSecondLimit(ages) === null) return null;
      const sorted = [...waits].sort((a, b) => a.closeTs - b.closeTs);
      for (let i = 0; i < sorted.length; ) {
        let j = i + 1;
        while (j < sorted.length && sorted[j].closeTs - sorted[j - 1].closeTs <= KILLS_LINK_GAP) j++;
        if (j - i >= 2) {
          const last = sorted[j - 1].closeTs;
          const cutAgain = waits.filter((w) => w.requestStart > last && w.requestStart <= last + SERVED_AFTER_KILLS_WITHIN).length;
          const served = killedAtTimeLimit(server, sorted.slice(i, j), cutAgain);
          if (served !== null) return { served, cutAgain };
        }
        i = j;
      }
      return null;
    };

    /** Shared with the other detectors that ask about proxies: which address a proxy connects upstream from. */
    const legs = sharedProxyLegs(ctx);

    /** Who closed: the server side, the client, or a client that is itself a server of other flows (a proxy). */
    const roleOf = (closedBy: 'client' | 'server', clientIp: string): CloserRole =>
      closedBy === 'server' ? 'server' : serverIps.has(clientIp) ? 'proxy' : 'client';

    /**
     * The same, with what the whole capture showed (for the diagnoses, at its end): a client that
     * serves nothing itself may be the address a proxy connects to its backends from, and a client
     * that shares its address with servers may have been forwarding the very request it gave up on.
     */
    const finalRoleOf = (w: Omit<Wait, 'finding'>): CloserRole => {
      const role = roleOf(w.closedBy, w.closerIp);
      if (role !== 'client') return role;
      // An upstream address the proxy's clients use too tells nothing by itself, nor one that also
      // serves (127.0.0.1, the backend's and any local client's address): the request must be a
      // copy of one the proxy had received, not sent beside the proxy's own copy of it.
      const viaProxy = legs.proxyForwardingFrom(w.closerIp) !== null && !legs.upstreamAddressSharedWithClients(w.closerIp) && !legs.addressServes(w.closerIp);
      return viaProxy || legs.forwardedByItsSender({ ...w, start: w.requestStart, abandonedAt: w.closeTs }) || w.proxyTells !== 0 ? 'proxy' : role;
    };

    /**
     * A proxy by its request's tells alone (proxy-tells.ts: X-Forwarded-For, nginx's HTTP/1.0 with
     * Connection: close): the capture shows nothing of its client leg (the backend's port alone),
     * so its User-Agent is its client's, passed on, and the timer that gave up is the proxy's.
     */
    const proxyByTellsOnly = (w: Wait): boolean =>
      w.proxyTells !== 0 && roleOf(w.closedBy, w.closerIp) === 'client' && legs.proxyForwardingFrom(w.closerIp) === null && !legs.forwardedByItsSender({ ...w, start: w.requestStart });

    /**
     * A client that may be a proxy though nothing proves it (hostWithoutPortOf on every request; the
     * role stays the client's): what its close may have been instead of its own timer, so that
     * neither its value nor its User-Agent's remedy is told as fact ('' where no request says so).
     */
    const mayBeProxyNote = (members: readonly Wait[], server: string): string => {
      if (!members.every((w) => (w.hostWithoutPort !== null || w.agentsVary) && !w.fastcgi)) return '';
      const n = members.length;
      const hostless = members.filter((w) => w.hostWithoutPort !== null);
      const hosts = [...new Set(hostless.map((w) => w.hostWithoutPort))].slice(0, 2).map((h) => `\`${h}\``);
      const varied = members.filter((w) => w.agentsVary).length;
      const why = [
        ...(hostless.length > 0
          ? [
              `${n === 1 ? 'its request\'s' : hostless.length === n ? 'their' : `${hostless.length} of their`} Host (${hosts.join(', ')}) names no port though ${n === 1 ? 'it' : 'they'} went to ${server}, ` +
                `as a proxy's upstream requests do (nginx's to an \`upstream\` group name the group), where a client program writes the port it connects to ` +
                `(a port forward in front, Docker's or a Kubernetes Service's, does the same)`,
            ]
          : []),
        ...(varied > 0
          ? [
              `${n === 1 ? 'its connection' : varied === n ? 'their connections' : `${varied} of their connections`} carried requests with different User-Agents, ` +
                `as a proxy's pooled upstream connection carries its many clients' (a client program sends its own on each)`,
            ]
          : []),
      ];
      return (
        ` That client may be a proxy, though: ${why.join('; and ')}. A proxy passes its client's User-Agent on, and closes this leg at its upstream read timeout ` +
        `(nginx proxy_read_timeout, HAProxy timeout server) or when its own client gives up and it closes this leg with it (nginx logs 499 then, and sends no 504): ` +
        `this leg alone cannot tell which, its client leg or the proxy's access log can.`
      );
    };
    /** The remedy's words for a client that may be a proxy (mayBeProxyNote), after its own client timeouts. */
    const mayBeProxyRemedy =
      "; if it is a proxy, the timer is its upstream read timeout (nginx proxy_read_timeout, HAProxy timeout server) or its own client's timeout, passed on: raise that one, and keep its clients' timeouts longer than the proxy's";

    /** Who the closing proxies are, for an explanation: "a.b.c.d, itself a server of other connections". */
    const proxyCloserText = (closerIps: readonly string[], members: readonly Wait[]): string =>
      closerIps
        .map((ip) => {
          if (serverIps.has(ip)) return `${ip}, itself a server of other connections`;
          const proxy = legs.proxyForwardingFrom(ip);
          if (proxy !== null) return `${ip}, the address proxy ${proxy} connects to its backends from`;
          const byTells = members.filter((w) => w.closerIp === ip && proxyByTellsOnly(w));
          if (byTells.length === 0) return `${ip}, forwarding requests it had received itself`;
          return `${ip}, a proxy by its requests (${proxyTellsText(byTells.reduce((t, w) => t | w.proxyTells, 0))}; their User-Agent is its client's, passed on)`;
        })
        .join('; ');

    /**
     * A server that closed without answering after it had forwarded the request upstream is a proxy
     * whose upstream attempt failed (HAProxy closes the client connection when a request it cannot
     * retry fails on a reused backend connection): say where the request went, not that the
     * application sat on it.
     */

    const forwardNote = (r: LegRequest): string =>
      `the proxy had forwarded it to ${r.leg.server} (flow ${r.leg.flowId}), ` +
      (r.responseStart === null ? 'which did not answer it: that upstream connection tells why' : `which answered ${statusText(r) ?? '?'}`);

    /**
     * `openAtEnd`: the capture ended with the server's side still open after the client gave up (no
     * FIN, RST or answer from it since): the application had not answered while the client waited;
     * whether it answered after, the capture cannot tell (blind round 14: backends that answered
     * after the capture's end, a --until, a cut file, a ring's end were said not to answer).
     */
    const ackNote = (acked: boolean, zeroWindow: boolean, openAtEnd = false): string =>
      acked
        ? openAtEnd
          ? "the server ACKed it (its TCP stack had the request; the application had not answered when the client gave up, and the capture ends with the server's side still open: an answer after that is not in it)"
          : 'the server ACKed it (its TCP stack had the request; the application did not answer)'
        : zeroWindow
          ? 'the server never ACKed it and advertised a zero window (it was not reading)'
          : 'the server never ACKed it (it did not get in: path, window or accept queue)';

    function report(
      conn: AnalyzedConnection, t: Tracked, close: CloseEvent, halfClosed: boolean, takenBefore: number,
      ended: { ending: Ending; gap: number } | null,
    ): void {
      const ex = t.ex;
      const requestEnd = ex.requestEnd ?? 0;
      // A server's close is timed by the server: away from it, the round trip to it is taken out.
      const wait = close.ts - requestEnd - (close.by === 'server' ? Math.min(roundTripToServer(conn), close.ts - requestEnd) : 0);
      const serverAcked = t.encrypted !== null ? t.encrypted.serverAcked : peerAckedAll(conn.client, conn.server);
      const zeroWindow = conn.server.zeroWindowCount > 0;
      const line = requestLine(ex);
      const forwarded = close.by === 'server' ? legs.forwardedBefore(conn, ex, close.ts) : null;
      const frames = [ex.requestFrame ?? 0, close.frame];
      // The other side's close, when it followed: the user sees how the connection ended.
      const peer = close.by === 'client' ? conn.server : conn.client;
      if (peer.finTs >= close.ts) frames.push(peer.finFrame);
      if (peer.rstTs >= close.ts) frames.push(peer.rstFrame);
      const late = t.lateAnswer;
      const lost = t.lostAnswer ?? null;
      const lateAfter = late === null ? null : late.ts - requestEnd;
      const openAtEnd = close.by === 'client' && late === null && conn.endReason === 'capture-end' && conn.server.finTs < close.ts && conn.server.rstTs < close.ts;
      // The late response, and the client's reset of it.
      if (late !== null) frames.push(late.frame, conn.client.rstFrame);
      // The client's FIN the server closed on.
      if (ended?.ending === 'onClientFin' && !frames.includes(conn.client.finFrame)) frames.splice(1, 0, conn.client.finFrame);
      const encrypted = t.encrypted;
      // A client's TLS close_notify before its FIN is where it gave up.
      const clientAlert = encrypted !== null ? (conn.app?.tls?.client.firstAlertFrame ?? 0) : 0;
      if (clientAlert > 0 && close.by === 'client' && !frames.includes(clientAlert)) frames.splice(1, 0, clientAlert);
      const input: FindingInput = {
        flowId: conn.id,
        client: conn.clientName,
        server: conn.serverName,
        ts: close.ts,
        message: late !== null ? 'late' : lost !== null && ended === null && close.by === 'client' ? 'lostAnswer' : ended === null ? 'closed' : ended.ending === 'afterOwnResponse' ? 'closedAfterResponse' : 'closedOnClientFin',
        data: {
          request: line ?? (encrypted !== null ? encryptedRequestText(encrypted) : 'a request'),
          closedBy: close.by, closedWith: close.with, wait: ms(wait),
          acked: forwarded !== null ? forwardNote(forwarded) : ackNote(serverAcked, zeroWindow, openAtEnd),
          status: (late !== null ? statusText(late) : null) ?? (encrypted !== null ? 'with encrypted data' : 'a response'), late: lateAfter === null ? '' : ms(lateAfter),
          more: t.moreUnanswered === 0 ? '' : ` and ${t.moreUnanswered} more request(s) pipelined behind it${namedLater(t)}`,
          them: t.moreUnanswered === 0 ? 'it' : 'them',
          gap: ended === null ? '' : fineDuration(ended.gap),
          finAfter: fineDuration(conn.client.finTs - requestEnd),
          ...(lost !== null
            ? {
                bytes: lost.bytes,
                resent: lost.resends > 0 ? `, the server's retransmission timer resending ${lost.resends} segment(s) on the connection` : '',
                how:
                  lost.view === 'hole'
                    ? "no byte of it reached the client: the server's later packet came past those bytes, which the client never acknowledged (a capture that only missed them would show them acknowledged)"
                    : 'the client never acknowledged any of it, nor its retransmission',
              }
            : {}),
        },
        evidence: {
          ...requestEvidence(ex, line, requestEnd),
          closeTs: at(close.ts),
          waitSeconds: ms(wait),
          closedBy: close.by,
          closedWith: close.with,
          closerRole: roleOf(close.by, conn.clientHost),
          halfClosed,
          // Only when the close was no timer's (see Ending).
          ...(ended !== null ? { closeEnding: ended.ending, closeEndingGap: ms(ended.gap) } : {}),
          // Only when requests pipelined behind it went unanswered too.
          ...(t.moreUnanswered > 0 ? { unansweredOnConnection: 1 + t.moreUnanswered, laterUnanswered: t.moreLines } : {}),
          serverAcked,
          serverZeroWindow: zeroWindow,
          open: false,
          // Only when the server's answer was seen sent and lost on the path (LostAnswer).
          ...(lost !== null ? { answerLostOnPath: lost.view, answerLostBytes: lost.bytes, serverResends: lost.resends } : {}),
          forwardedOnFlow: forwarded?.leg.flowId ?? null,
          forwardedTo: forwarded?.leg.server ?? null,
          // Only on a response that came after the client had closed (absent otherwise).
          ...(late !== null && lateAfter !== null ? { lateResponseStatus: late.status, ...statusClassEvidence(late, 'lateResponseStatusClass'), lateResponseAfter: ms(lateAfter) } : {}),
          // Only on an encrypted request: what the TLS record headers and hellos told.
          ...(encrypted !== null
            ? {
                ...encryptedEvidence(encrypted),
                // The client's close_notify, where it gave up before its FIN (null: it closed without one).
                closeNotifyFrame: clientAlert > 0 && close.by === 'client' ? clientAlert : null,
              }
            : {}),
        },
        frames,
      };
      const server = conn.serverName;
      const wait0: Omit<Wait, 'finding'> = {
        wait, closeTs: close.ts, closeFrame: close.frame, request: line, serverAcked, closedBy: close.by,
        closerIp: close.by === 'client' ? conn.clientHost : conn.serverHost,
        client: conn.clientName, server, method: ex.method, uri: ex.uri, requestStart: ex.requestStart ?? requestEnd,
        lateAfter,
        flowId: conn.id, requestEnd, lateTs: late?.ts ?? null, firstOnConnection: ex.index === 1,
        // A FIN only: a RST right behind the client's FIN may be the kernel's (no socket for it any more).
        accepted: close.by === 'client' && close.with === 'FIN' && serverCloseOnClientFin(conn)?.close.with === 'FIN',
        failedUpstream: forwarded !== null && (forwarded.responseStart === null || forwarded.responseStart > close.ts) ? forwarded : null,
        sinceConnect: close.by === 'client' && ex.index === 1 && conn.client.synTimes.length > 0 ? close.ts - conn.client.synTimes[0] : null,
        clientAgent: conn.app?.session?.clientSoftware ?? null,
        clientForwarded: conn.app?.session?.clientForwarded ?? null,
        proxyTells: encrypted === null ? proxyTellsOf(ex, conn) : 0,
        hostWithoutPort: encrypted === null ? hostWithoutPortOf(ex, conn) : null,
        agentsVary: encrypted === null && agentsVaryOn(conn),
        encrypted,
        fastcgi: ex.protocol === 'fastcgi',
        takenBefore,
        ending: ended?.ending ?? null,
        endingGap: ended?.gap ?? 0,
        serverClosedOnFin: ended === null && close.by === 'client' && close.with === 'FIN' && late === null && serverCloseOnClientFin(conn) !== null,
        unansweredCount: 1 + t.moreUnanswered,
        unansweredLines: line !== null ? [line, ...t.moreLines] : t.moreLines,
        lostAnswer: lost,
        unprovenHosts:
          close.by === 'client' && serverAcked && late === null && lost === null && forwarded === null && conn.server.lastTs <= close.ts
            ? { serverHost: conn.serverHost, clientHost: conn.clientHost }
            : null,
      };
      // A copy sent to a server on a host that connects out itself may prove to be no copy: that
      // server forwarding it back here, a sibling of this request (ProxyLegs.loopsBack). What
      // tells it (the other copy, the ends of both) may come later: judged at the end.
      const recheck =
        forwarded !== null && legs.mayLoopBackLater(forwarded) && ex.method !== null
          ? {
              copy: forwarded, zeroWindow,
              front: { server: conn.serverName, client: conn.clientName, flowId: conn.id, method: ex.method, uri: ex.uri, requestStart: ex.requestStart ?? requestEnd, failTs: close.ts },
            }
          : undefined;
      // keepalive-race judges this connection's close on arrival only when the capture ends (a lazy
      // idle close): whether the request was unanswered or met the idle timer is decided then.
      // One give-up seen on a proxy's two legs (its client closed, and it cancelled the forward with
      // it): the forwarded copy, and which leg followed which, are known only once both legs'
      // exchanges are decided, often after this leg ended (the backend still holds the cancelled
      // request). Judged at the end (pairLegs): the client leg's finding names the copy it was
      // forwarded as, and the proxy's cancellation is told as that failure's consequence.
      const pairLater =
        ended === null && close.by === 'client' && ex.method !== null && (legs.forwardsFrom(conn.serverHost) || legs.forwardsFrom(conn.clientHost) || serverIps.has(conn.clientHost));
      // A proxy's close of its client's connection after its forwarded copy failed upstream: when a
      // finding on that upstream connection tells the failure (a keep-alive race), this is its other
      // leg, told with it (see upstreamCauseOf). The upstream leg ends first (the backend's RST, then
      // the proxy's close): judged now if it was, else at the end.
      // Held for it only where a race may come: a copy sent on a reused upstream connection (a
      // proxy's own read timeout on a connection of the request's own is none, and keeps its place).
      const upstreamCause = wait0.failedUpstream !== null && close.by === 'server';
      const folded = upstreamCause && !lazyFlows.has(conn.id) && recheck === undefined && !pairLater && foldIntoUpstream({ input, wait: wait0 });
      const raceLater = upstreamCause && !folded && wait0.failedUpstream !== null && wait0.failedUpstream.index > 1;
      // A close by the client while some server answered a gateway error at that moment: maybe a
      // proxy's upstream leg it gave up on (from an address that serves nothing, so not pairLater's),
      // whose 504 gateway-timeout may own (GatewayClaims): held, so that it is graded at the end as
      // that 504's other leg (onFinish), not counted as a second error.
      const gatewayLater = !pairLater && close.by === 'client' && gatewayAnswers.gatewayErrorNear(close.ts, ctx.options.spreadAbsolute);
      if ((lazyFlows.has(conn.id) || recheck !== undefined || pairLater || raceLater || gatewayLater) && deferred.length < MAX_WAITS_PER_SERVER) {
        deferred.push({ input, wait: wait0, recheck, pairLater, upstreamCause });
        return;
      }
      addWait(ctx.report(input), wait0);
    }

    /**
     * The deferred findings of a proxy's client legs and upstream legs closed by their client (see
     * report's pairLater), reported: a client leg's with the copy the proxy forwarded it as
     * (forwardedOnFlow, forwardedTo), and an upstream close that followed its client's close of the
     * same request (followedClient) as that give-up's consequence, at info, naming the client leg's
     * finding (cancelledWithFlow, cancelledWithFinding): one failure, counted once at its severity.
     */
    function pairLegs(pending: readonly DeferredWait[]): void {
      // The client closes to pair with: those reported, and the held ones' (reported here).
      type Close = Omit<Wait, 'finding'>;
      const byRequest = new Map<string, Close[]>(clientClosesByRequest());
      for (const d of pending) {
        const w = d.wait;
        if (w.closedBy !== 'client' || w.method === null) continue;
        const key = `${w.method} ${w.uri ?? ''}`;
        const list = byRequest.get(key);
        if (list === undefined) byRequest.set(key, [w]);
        else list.push(w);
      }
      // As diagnose() pairs them: a proxy's close (finalRoleOf) that followed its client's.
      const toGateway = gatewayClaims.ownedUpstreamFlows(legs, ctx.options.spreadAbsolute);
      const followedOf = new Map<DeferredWait, Close>();
      for (const d of pending) {
        if (finalRoleOf(d.wait) !== 'proxy' || toGateway.has(d.wait.flowId)) continue;
        const downstream = followedClient(d.wait, byRequest);
        if (downstream !== null) followedOf.set(d, downstream);
      }
      // Reported in the order they were held, but a cancellation only after the client leg's
      // finding it names (its connection may have ended first).
      const findingOf = new Map<Close, Finding>();
      for (const waits of waitsByServer.values()) for (const w of waits) findingOf.set(w, w.finding);
      const waitingFor = new Map<Close, DeferredWait[]>();
      const emitOne = (d: DeferredWait): void => {
        const downstream = followedOf.get(d);
        const anchor = downstream === undefined ? undefined : findingOf.get(downstream);
        if (downstream !== undefined && anchor === undefined) {
          const list = waitingFor.get(downstream);
          if (list === undefined) waitingFor.set(downstream, [d]);
          else list.push(d);
          return;
        }
        if (downstream !== undefined && anchor !== undefined) {
          d.input.severity = 'info';
          d.input.message = d.input.message === 'late' ? 'cancelledLate' : 'cancelled';
          if (d.input.data !== undefined) {
            d.input.data.downstream = anchor.id;
            d.input.data.downstreamFlow = downstream.flowId;
            d.input.data.gap = microsAsMs(d.wait.closeTs - downstream.closeTs);
          }
          d.input.evidence.cancelledWithFlow = downstream.flowId;
          d.input.evidence.cancelledWithFinding = anchor.id;
        }
        findingOf.set(d.wait, report2(d));
        const behind = waitingFor.get(d.wait);
        if (behind === undefined) return;
        waitingFor.delete(d.wait);
        for (const b of behind) emitOne(b);
      };
      for (const d of pending) emitOne(d);
      // Pairings that wait on a leg never reported (none is expected): reported as they are.
      for (const list of waitingFor.values()) for (const d of list) {
        followedOf.delete(d);
        emitOne(d);
      }
    }

    /** A deferred finding reported, naming the copy a proxy forwarded its request as (a client leg's). */
    function report2(d: DeferredWait): Finding {
      const w = d.wait;
      if (d.pairLater === true && w.method !== null && legs.forwardsFrom(hostOf(w.server))) {
        const copy = legs.forwardedDuring(w.server, w.method, w.uri, w.requestStart, w.closeTs, w.client);
        if (copy !== null) {
          d.input.evidence.forwardedOnFlow = copy.leg.flowId;
          d.input.evidence.forwardedTo = copy.leg.server;
          if (d.input.data !== undefined) d.input.data.acked = `${String(d.input.data.acked)}; the proxy had forwarded it to ${copy.leg.server} (flow ${copy.leg.flowId})`;
        }
      }
      const finding = ctx.report(d.input);
      addWait(finding, w);
      return finding;
    }


    /**
     * The finding on a proxy's upstream connection that tells why its forwarded copy failed, when a
     * detector that runs before this one reported it there: a keep-alive race (the backend's idle
     * close crossed the reused connection's request). Its diagnosis names the backend's timer and
     * what the proxy did to its clients (HAProxy closed their connections without an answer, blind
     * round 16 chains S2, pools S20): the client leg's unanswered request is that failure's other
     * leg, not another failure.
     */
    function upstreamCauseOf(flowId: number): Finding | null {
      if (!ctx.reportedOn('keepalive-race', flowId)) return null;
      // Races are few; the list is asked once per such close.
      return ctx.findings('keepalive-race').find((f) => f.flowId === flowId && f.severity === 'error') ?? null;
    }

    /**
     * A proxy's close of its client's connection after its forwarded copy failed upstream, where a
     * finding on that upstream connection tells the failure (upstreamCauseOf): reported at info as
     * part of it (FindingInput.partOf: listed in its diagnosis, counted there once), naming it.
     */
    function foldIntoUpstream(d: Pick<DeferredWait, 'input' | 'wait'>): boolean {
      const copy = d.wait.failedUpstream;
      if (copy === null) return false;
      const cause = upstreamCauseOf(copy.leg.flowId);
      if (cause === null) return false;
      d.input.severity = 'info';
      d.input.partOf = cause.id;
      d.input.evidence.upstreamFinding = cause.id;
      if (d.input.data !== undefined) d.input.data.acked = `${String(d.input.data.acked)} (${cause.id}: the same failure, counted there)`;
      return true;
    }

    /** What software answered on each server (for the proxy's name in a relay's words). */
    const software = ctx.shared(SERVER_SOFTWARE, () => new ServerSoftware());
    /**
     * The proxies' 5xx that relayed a backend's close of a forwarded request (backend-close-relays.ts),
     * reported on their client connections, by the upstream finding of their last attempt: the
     * diagnosis that lists that finding lists them too and says what the proxy's clients got (emit).
     */
    const relaysByAnchor = new Map<string, Array<{ relay: BackendCloseRelay; finding: Finding }>>();

    /**
     * A proxy's upstream close that followed its client's close of the same request (followedClient),
     * by the upstream finding: the proxy cancelled the forward because its client gave up.
     */
    const followedBy = new Map<string, { wait: Wait; downstream: Wait }>();
    /**
     * Those cancellations by the finding of the end client's give-up they came from (through a chain
     * of proxies, the first leg's): one failure seen on two legs (or more), which the diagnosis that
     * lists the client's finding owns and lists them in (emit), as gateway-timeout lists the upstream
     * leg of a 504. Only what no diagnosis took is diagnosed on its own (diagnoseFollowed).
     */
    const cancelledByAnchor = new Map<string, Array<{ wait: Wait; downstream: Wait }>>();

    /** Fills cancelledByAnchor from followedBy: each cancellation under its chain's first client leg. */
    function anchorCancellations(): void {
      for (const f of followedBy.values()) {
        let root = f.downstream;
        // A chain of proxies is short; the bound only guards against a loop of pairings.
        for (let hops = 0; hops < 8; hops++) {
          const up = followedBy.get(root.finding.id);
          if (up === undefined) break;
          root = up.downstream;
        }
        const list = cancelledByAnchor.get(root.finding.id);
        if (list === undefined) cancelledByAnchor.set(root.finding.id, [f]);
        else list.push(f);
      }
    }

    /** A diagnosis with the proxies' cancellations of the give-ups it lists (cancelledByAnchor) added to it, told as the same failure. */
    function withCancellations(d: DiagnosisInput): DiagnosisInput {
      if (cancelledByAnchor.size === 0) return d;
      const mine: Array<{ wait: Wait; downstream: Wait }> = [];
      for (const id of d.anomalyIds) {
        const list = cancelledByAnchor.get(id);
        if (list === undefined) continue;
        cancelledByAnchor.delete(id);
        mine.push(...list);
      }
      if (mine.length === 0) return d;
      const n = mine.length;
      const proxies = [...new Set(mine.map((x) => x.downstream.server))].slice(0, 3).join(', ');
      const backends = [...new Set(mine.map((x) => x.wait.server))].slice(0, 3).join(', ');
      const flows = [...new Set(mine.map((x) => x.wait.flowId))].slice(0, 10).join(', ');
      const gap = Math.max(...mine.map((x) => x.wait.closeTs - x.downstream.closeTs));
      const ids = mine.map((x) => x.wait.finding.id);
      const shownIds = `${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ', …' : ''}`;
      return {
        ...d,
        explanation:
          d.explanation +
          ` The proxy ${proxies} had forwarded ${n === d.count ? (n === 1 ? 'the request' : 'them') : `${n} of them`} to ${backends} (flow${n === 1 ? '' : 's'} ${flows}) and closed ` +
          `${n === 1 ? 'that upstream connection' : 'those upstream connections'} within ${ms(gap * 1000)} ms of its client's close, unanswered there: ` +
          `it cancelled the forwarded request when its client went away (nginx logs 499, "client prematurely closed connection, so upstream connection is closed too", ` +
          `unless proxy_ignore_client_abort is on; Go's httputil.ReverseProxy cancels it with the client's context). ` +
          `${n === 1 ? 'That is' : 'Those are'} the same failure seen on the upstream leg (${shownIds}, listed here), not another one, and no proxy timeout is at work.`,
        remedy: d.remedy + ` The proxy only passed the give-up on: ${n === 1 ? 'the request' : 'the requests'} waited on ${backends}, so look there for why ${n === 1 ? 'it' : 'they'} took that long.`,
        anomalyIds: [...d.anomalyIds, ...ids],
      };
    }

    /** ctx.diagnose, with the relayed 5xx of the upstream findings it lists (relaysByAnchor) added to it. */
    function emit(d0: DiagnosisInput): void {
      const d = withCancellations(withLostAnswers(withPathNote(d0)));
      if (relaysByAnchor.size === 0) return ctx.diagnose(d);
      const mine: Array<{ relay: BackendCloseRelay; finding: Finding }> = [];
      for (const id of d.anomalyIds) {
        const relays = relaysByAnchor.get(id);
        if (relays === undefined) continue;
        relaysByAnchor.delete(id);
        mine.push(...relays);
      }
      if (mine.length === 0) return ctx.diagnose(d);
      ctx.diagnose({ ...d, explanation: d.explanation + relayWords(mine.map((m) => m.relay)), anomalyIds: [...d.anomalyIds, ...mine.map((m) => m.finding.id)] });
    }

    /**
     * A diagnosis of requests the client gave up on with nothing to show what the server sent
     * (Wait.unprovenHosts), where every server segment that reached the client host stayed well
     * below the MSS it offered although responses spanned several (PathSegmentSizes.capped): the
     * path carries less than the MSS, and an answer sent in larger segments would have been lost
     * unseen in a PMTU black hole, which looks the same from the client. Named as a cause to rule
     * out (with the sizes and the remedies); the server stays the first suspect. Where the server
     * sent full-size segments to that client, or its later packets show it sent nothing (a hung
     * application) or an answer the path lost (pmtu-blackhole), nothing is added.
     */
    /**
     * A diagnosis whose requests the server did answer, the path losing the answer (Wait.lostAnswer):
     * the server's application is not to blame for those, the path and a client timeout too short to
     * outlast the retransmissions are. Said after the diagnosis's own words, which judge the wait.
     */
    function withLostAnswers(d: DiagnosisInput): DiagnosisInput {
      if (lostAnswers.size === 0) return d;
      const mine: LostAnswer[] = [];
      for (const id of d.anomalyIds) {
        const lost = lostAnswers.get(id);
        if (lost !== undefined) mine.push(lost);
      }
      if (mine.length === 0) return d;
      const all = mine.length === d.anomalyIds.length;
      const which = d.anomalyIds.length === 1 ? 'this request' : all ? 'these requests' : `${mine.length} of these requests`;
      // Every answer lost on the path: the server is not to be searched for a hang (the diagnosis's own remedy).
      const own = all ? '' : ` For the others: ${d.remedy}`;
      const seen = mine.some((m) => m.view === 'unacked')
        ? "the server sent its answer, resent it by its retransmission timer, and the client's acknowledgement never moved past the request until it closed"
        : "the server's next packet came past the bytes of its answer, which the client never acknowledged: sent, and lost before the client";
      const clientResends = mine.reduce((n, m) => n + m.clientResends, 0);
      const resentNote =
        clientResends > 0
          ? ` The client resent data on ${mine.length === 1 ? 'that connection' : 'those connections'} too (${clientResends} segment${clientResends === 1 ? '' : 's'}): ` +
            `the path lost packets of its or the server's acknowledgements of them; where a request's first copy was lost, the client sent it before the copy the server saw, and waited longer than the wait counted here.`
          : '';
      return {
        ...d,
        explanation:
          d.explanation +
          ` The path lost ${which === 'this request' ? 'the answer' : `the answers to ${which}`}, not the server: ${seen}; ` +
          `the client, having received no byte, gave up at its own timeout before a retransmission got through.${resentNote}`,
        remedy:
          `Look at the path between the client and the server first (${which === 'this request' ? 'its answer was lost on it' : 'their answers were lost on it'}): ` +
          `\`mtr\`, interface and qdisc drop counters, a rate limit or a statistic DROP rule on the way, a congested link; the server's logs show the request served. ` +
          `A client timeout shorter than a few retransmission timeouts (Linux: 200 ms at least, doubling) turns each lost answer into a failure: raise it, or retry idempotent requests.` +
          own,
      };
    }

    function withPathNote(d: DiagnosisInput): DiagnosisInput {
      if (unproven.size === 0) return d;
      let sizes: (SegmentSizes & { serverHost: string; clientHost: string }) | null = null;
      let n = 0;
      for (const id of d.anomalyIds) {
        const hosts = unproven.get(id);
        if (hosts === undefined) continue;
        const capped = segmentSizes.capped(hosts.serverHost, hosts.clientHost);
        if (capped === null) continue;
        n++;
        if (sizes === null) sizes = { ...capped, ...hosts };
      }
      if (sizes === null) return d;
      const them = d.anomalyIds.length === 1 ? 'this request' : n === d.anomalyIds.length ? 'these requests' : `${n} of these requests`;
      return {
        ...d,
        explanation:
          d.explanation +
          ` The path may be to blame instead: no segment ${sizes.serverHost} sent ${sizes.clientHost} in the capture carried more than ${sizes.largest} bytes, ` +
          `though its responses spanned several segments (${sizes.bulkBytes} bytes on one connection) and the client's SYN offered MSS ${sizes.mssOffered}: ` +
          `something on the path keeps segments below the MSS (a smaller MTU the server had learned, or an MSS clamp). Had the server answered ${them} in larger segments, ` +
          `a hop that drops them without sending ICMP "fragmentation needed" (a PMTU black hole) would look exactly like an application that never answered, ` +
          `and no packet of the server's after the client gave up shows which it was.`,
        remedy:
          d.remedy +
          ` Rule out the path before the server: if its logs show ${them === 'this request' ? 'the response' : 'the responses'} sent, the path dropped ${them === 'this request' ? 'it' : 'them'}: ` +
          `allow ICMP type 3 code 4 ("fragmentation needed") and ICMPv6 type 2 ("packet too big") on the path, clamp the MSS at the small-MTU hop ` +
          `(nftables: \`tcp flags syn tcp option maxseg size set rt mtu\`), or set \`net.ipv4.tcp_mtu_probing=1\` on the server; a capture at the server shows its resends.`,
      };
    }

    /** What the proxies answered their clients (backendCloseRelayWords), and what fronts further up passed on of it. */
    function relayWords(relays: readonly BackendCloseRelay[]): string {
      const words = backendCloseRelayWords(relays, (proxy) => {
        const identity = software.of(proxy);
        // A Server header the proxy passes on is its backend's.
        return identity === null || identity.passedOn === true ? null : identity.software;
      });
      const further = relayedToClientsText(legs, new Set(relays.map((r) => failureKey(r.paired.failure))));
      return further === '' ? words : `${words} Further up, ${further}.`;
    }

    /**
     * Each proxy's 5xx that relayed its backend's close of the forwarded request (and of every
     * attempt it made of it), reported on the client's connection: the client's side of the
     * failure its upstream leg's unanswered request is (frames: the client's request, the 5xx, the
     * backend's closes). Only where this detector reported the last attempt's unanswered request:
     * the diagnosis of that one holds it.
     */
    function reportRelays(): void {
      const upstream = new Map<number, Wait>();
      for (const waits of waitsByServer.values()) for (const w of waits) if (w.closedBy === 'server' && w.failedUpstream === null) upstream.set(w.flowId, w);
      if (upstream.size === 0) return;
      for (const relay of backendCloseRelays(legs)) {
        const f = relay.paired.failure;
        const attempts = relay.attempts;
        const last = upstream.get(attempts[attempts.length - 1].leg.flowId);
        if (last === undefined) continue;
        const upstreamFindings = attempts.map((a) => upstream.get(a.leg.flowId)?.finding.id ?? null).filter((id): id is string => id !== null);
        const backends = [...new Set(attempts.map((a) => a.leg.server))].join(', ');
        const request = f.method !== null ? `${f.method} ${f.uri ?? ''}`.trim() : 'a request';
        const delay = f.failTs - (f.requestEnd ?? f.requestStart);
        const finding = ctx.report({
          flowId: f.flowId,
          client: f.client,
          server: f.server,
          ts: f.failTs,
          message: attempts.length === 1 ? 'relayed' : 'relayedRetried',
          data: {
            request,
            status: f.status ?? '5xx',
            delay: ms(delay),
            backend: backends,
            leg: `flow ${attempts[0].leg.flowId}`,
            wait: ms(relay.waits[0]),
            attempts: attempts.length,
            legs: `flows ${attempts.map((a) => a.leg.flowId).join(', ')}`,
            waits: relay.waits.map((w) => ms(w)).join(', '),
          },
          evidence: {
            method: f.method,
            uri: f.uri,
            requestLine: f.method !== null ? request : null,
            exchangeIndex: f.index,
            requestStart: at(f.requestStart),
            requestEnd: f.requestEnd === null ? null : at(f.requestEnd),
            status: f.status,
            responseStart: at(f.failTs),
            delaySeconds: ms(delay),
            relayedBackendClose: true,
            upstreamFlowId: attempts[0].leg.flowId,
            upstreamServer: attempts[0].leg.server,
            upstreamClosedWith: attempts[attempts.length - 1].leg.closedWith,
            upstreamAttempts: attempts.length,
            upstreamAttemptWaits: relay.waits.map((w) => ms(w)),
            upstreamRetryFlowIds: attempts.slice(1).map((a) => a.leg.flowId),
            upstreamFindings,
            open: false,
          },
          frames: [f.requestFrame ?? 0, f.failFrame, ...attempts.map((a) => a.leg.closeFrame)],
        });
        const list = relaysByAnchor.get(last.finding.id);
        if (list === undefined) relaysByAnchor.set(last.finding.id, [{ relay, finding }]);
        else list.push({ relay, finding });
      }
    }

    /** Reports held for keepalive-race's judgement of a lazy close on arrival (see report). */
    /** A finding held until the capture's end, with its wait. */
    type DeferredWait = {
      input: FindingInput;
      wait: Omit<Wait, 'finding'>;
      /** A forwarded copy to judge again at the end (see report). */
      recheck?: { copy: LegRequest; front: LoopFront; zeroWindow: boolean };
      /** A proxy's client leg closed by the proxy after its forwarded copy failed upstream (upstreamCauseOf). */
      upstreamCause?: boolean;
      /** A proxy's client leg or upstream leg closed by its client, paired at the end (pairLegs). */
      pairLater?: boolean;
    };
    const deferred: DeferredWait[] = [];
    const lazyFlows = sharedLazyArrivalFlows(ctx);
    const leftToProxy = sharedProxyWaitsLeft(ctx);
    const gatewayClaims = sharedGatewayClaims(ctx);
    /** The 5xx answered lately: a gateway error at the moment of a client's close (report: gatewayLater). */
    const gatewayAnswers = sharedGatewayAnswers(ctx);

    function addWait(finding: Finding, w: Omit<Wait, 'finding'>): void {
      // Part of an upstream finding's failure (foldIntoUpstream): its diagnosis lists it, none here.
      if (typeof finding.evidence.upstreamFinding === 'string') return;
      if (w.unprovenHosts !== null && unproven.size < MAX_SERVER_IPS) unproven.set(finding.id, w.unprovenHosts);
      if (w.lostAnswer !== null && lostAnswers.size < MAX_SERVER_IPS) lostAnswers.set(finding.id, w.lostAnswer);
      let waits = waitsByServer.get(w.server);
      if (waits === undefined && waitsByServer.size < MAX_SERVERS) waitsByServer.set(w.server, (waits = []));
      if (waits !== undefined && waits.length < MAX_WAITS_PER_SERVER) waits.push({ finding, ...w });
    }

    /**
     * How the wait ended: the first FIN or RST after the request. A client FIN right behind the
     * first request of a connection is a half-close and does not end the wait (what follows does,
     * if anything). Not behind a later one: a client that kept the connection open between its
     * requests does not half-close it after one (ab closing every connection when it gave up on the
     * run: nginx logged 499s, and its close right after looked like a 4 ms server timeout).
     */
    function closeAfter(conn: AnalyzedConnection, requestEnd: number, index: number, encrypted: boolean): { close: CloseEvent | null; halfClosed: boolean } {
      const events: CloseEvent[] = [];
      const c = conn.client;
      const s = conn.server;
      const tls = encrypted ? (conn.app?.tls ?? null) : null;
      if (tls !== null) {
        const byAlert = alertClose(conn, tls, requestEnd);
        if (byAlert !== undefined) return { close: byAlert, halfClosed: false };
        // A later turn the client closed right behind (its FIN within HALF_CLOSE_GRACE, before any
        // close of the server's) was sent by a client that waited for nothing: no client timer is
        // that short, and the turn, unreadable, may be no request at all but the rest of one already
        // answered (nginx's `return` answers before the body, which the client writes after its
        // head, then closes: blind round 13b s16, five "clientTimeout ≈ 381 µs" findings).
        if (index > 1 && c.finTs >= requestEnd && c.finTs - requestEnd <= HALF_CLOSE_GRACE && !(s.finTs >= requestEnd && s.finTs < c.finTs) && !(s.rstTs >= requestEnd && s.rstTs < c.finTs)) {
          return { close: null, halfClosed: false };
        }
      }
      let halfClosed = false;
      if (c.finTs >= requestEnd) {
        if (c.finTs - requestEnd <= HALF_CLOSE_GRACE && index <= 1) halfClosed = true;
        else events.push({ ts: c.finTs, frame: c.finFrame, by: 'client', with: 'FIN' });
      }
      if (c.rstTs >= requestEnd) events.push({ ts: c.rstTs, frame: c.rstFrame, by: 'client', with: 'RST' });
      if (s.finTs >= requestEnd) events.push({ ts: s.finTs, frame: s.finFrame, by: 'server', with: 'FIN' });
      if (s.rstTs >= requestEnd) events.push({ ts: s.rstTs, frame: s.rstFrame, by: 'server', with: 'RST' });
      let first: CloseEvent | null = null;
      for (const e of events) if (first === null || e.ts < first.ts) first = e;
      return { close: first, halfClosed };
    }

    /**
     * On TLS a side begins to close with its close_notify (or a fatal alert), which goes before its
     * FIN and may be followed by it only after a while (Go's WriteTimeout sends the alert, then
     * resets), while the peer answers an alert at once with its own alert and FIN. Whose alert came
     * first closed first, whatever FIN hit the wire first: a client FIN right behind the server's
     * alert is the client's TLS stack reacting to it (blind round 13b s13: a Go server's
     * WriteTimeout close_notify, the client's close_notify and FIN 95 µs later, had been blamed on
     * a client timer). The alert's time is the close's.
     *
     * A client whose own alert came right behind its turn (within HALF_CLOSE_GRACE) and before any
     * close of the server's waited for nothing: a close_notify is no half-close (TLS 1.2 has the
     * peer discard what it had still to write), so nothing is judged (null: `openssl s_client`
     * sending "\n" then its close_notify and FIN, s6, had been a server that "did not answer").
     *
     * A client whose alert came first, later, closed first (not half-closed).
     *
     * Undefined when no alert after the turn decides it (the TCP closes are judged as on cleartext).
     */
    function alertClose(conn: AnalyzedConnection, tls: TlsRecords, requestEnd: number): CloseEvent | null | undefined {
      const c = conn.client;
      const s = conn.server;
      const after = (ts: number): number => (ts >= requestEnd ? ts : Infinity);
      const clientAlert = after(tls.client.firstAlertTs);
      const serverAlert = after(tls.server.firstAlertTs);
      const clientFirst = Math.min(clientAlert, after(c.finTs), after(c.rstTs));
      const serverFirst = Math.min(serverAlert, after(s.finTs), after(s.rstTs));
      if (serverAlert !== Infinity && serverAlert === serverFirst && serverAlert < clientFirst) {
        return { ts: serverAlert, frame: tls.server.firstAlertFrame, by: 'server', with: 'FIN' };
      }
      if (clientAlert === Infinity || clientAlert !== clientFirst || clientAlert >= serverFirst) return undefined;
      if (clientAlert - requestEnd <= HALF_CLOSE_GRACE) return null;
      // The client's close: its FIN or RST as on cleartext when that still came before the server's
      // close, else its alert (the server's FIN reacting to it may have beaten the client's).
      const tcp = Math.min(after(c.finTs), after(c.rstTs));
      if (tcp >= serverFirst) return { ts: clientAlert, frame: tls.client.firstAlertFrame, by: 'client', with: 'FIN' };
      return tcp === after(c.finTs) ? { ts: c.finTs, frame: c.finFrame, by: 'client', with: 'FIN' } : { ts: c.rstTs, frame: c.rstFrame, by: 'client', with: 'RST' };
    }

    /** The client began to close (alert, FIN or RST) in [from, to). */
    function clientClosedBetween(conn: AnalyzedConnection, from: number, to: number): boolean {
      const c = conn.client;
      const alert = conn.app?.tls?.client.firstAlertTs ?? -1;
      const inside = (ts: number): boolean => ts >= from && ts < to;
      return inside(alert) || inside(c.finTs) || inside(c.rstTs);
    }

    /**
     * A close no timer made (see Ending), with the close to report: the server's. Only for a
     * plain-text request answered by nothing at all.
     *
     * afterOwnResponse: the server closed (FIN) right after its own last response while this request,
     * sent before that response ended (pipelined), was pending.
     *
     * onClientFin: the client sent its FIN after its request(s), resetting nothing, and the server
     * closed right after that FIN. Only where the client had written all its requests before any
     * answer could end (the connection's first request, or one pipelined behind an unanswered
     * one): a client that sends a request and then shuts down writing. A keep-alive client that
     * closes right behind a later request gave up on it (ab ending its run).
     */
    function endingOf(conn: AnalyzedConnection, t: Tracked, requestEnd: number): { ending: Ending; gap: number; close: CloseEvent } | null {
      const c = conn.client;
      const s = conn.server;
      const previous = t.previous;
      const previousEnd = previous?.responseEnd ?? null;
      const pipelined = previousEnd !== null && requestEnd <= previousEnd;
      if (pipelined && s.finTs >= previousEnd && s.finTs - previousEnd <= AFTER_OWN_RESPONSE_GAP && (c.finTs < 0 || c.finTs > s.finTs) && (c.rstTs < 0 || c.rstTs > s.finTs)) {
        return { ending: 'afterOwnResponse', gap: s.finTs - previousEnd, close: { ts: s.finTs, frame: s.finFrame, by: 'server', with: 'FIN' } };
      }
      // Only a FIN right behind the request(s) is a half-close for sure (HALF_CLOSE_GRACE): later,
      // a client that gave up and closed looks the same on the wire (see diagnoseUnagreeing).
      if (c.finTs < requestEnd || c.finTs - requestEnd > HALF_CLOSE_GRACE) return null;
      if (t.ex.index > 1 && !pipelined) return null;
      const onFin = serverCloseOnClientFin(conn);
      return onFin === null ? null : { ending: 'onClientFin', gap: onFin.gap, close: onFin.close };
    }

    /**
     * The server's close (FIN or RST) within ON_CLIENT_FIN_GAP of the client's FIN, the round trip
     * taken out, when the client reset nothing: the server closed because the FIN came. Null otherwise.
     */
    function serverCloseOnClientFin(conn: AnalyzedConnection): { gap: number; close: CloseEvent } | null {
      const c = conn.client;
      const s = conn.server;
      if (c.finTs < 0 || c.rstTs >= 0) return null;
      const fin = s.finTs >= c.finTs ? s.finTs : Infinity;
      const rst = s.rstTs >= c.finTs ? s.rstTs : Infinity;
      const closeTs = Math.min(fin, rst);
      if (closeTs === Infinity) return null;
      const gap = Math.max(0, closeTs - c.finTs - roundTripToServer(conn));
      if (gap > ON_CLIENT_FIN_GAP) return null;
      const close: CloseEvent = fin <= rst ? { ts: fin, frame: s.finFrame, by: 'server', with: 'FIN' } : { ts: rst, frame: s.rstFrame, by: 'server', with: 'RST' };
      return { gap, close };
    }

    const encryptedRequests = sharedEncryptedRequests(ctx);

    /**
     * An HTTPS connection's last client turn that the server never answered (encrypted-request.ts),
     * as a request to judge; undefined when there is none. The server must not have begun to close
     * (its close_notify) before the turn: that is a keep-alive race's signature.
     */
    function encryptedTracked(conn: AnalyzedConnection): Tracked | undefined {
      const server = conn.app?.tls?.server;
      if (server === undefined) return undefined;
      const turn = encryptedRequests.unansweredOn(conn);
      if (typeof turn === 'string') return undefined;
      if (server.firstAlertTs >= 0 && server.firstAlertTs < turn.start) return undefined;
      // An answer that began only after the client had closed is judged like a late response (below).
      const lateAnswer = turn.lateAnswerTs >= 0 ? { ts: turn.lateAnswerTs, frame: turn.lateAnswerFrame, status: null } : null;
      return {
        ex: encryptedExchange(conn, turn), afterCloseNotice: false, previous: undefined, answeredUntil: turn.end, lateAnswer, encrypted: turn,
        moreUnanswered: 0, moreLines: [],
      };
    }

    function claimedElsewhere(flowId: number): boolean {
      return (
        ctx.reportedOn('keepalive-race', flowId) || ctx.reportedOn('request-after-close-notice', flowId) || ctx.reportedOn('middlebox-idle-timeout', flowId)
      );
    }

    /**
     * Client-closed waits by request (method and URI), to find the one a proxy's upstream close
     * followed; those of encrypted requests (HTTPS), which no request line names, under ENCRYPTED.
     */
    function clientClosesByRequest(): Map<string, Wait[]> {
      const byRequest = new Map<string, Wait[]>();
      for (const waits of waitsByServer.values()) {
        for (const w of waits) {
          if (w.closedBy !== 'client' || (w.method === null && w.encrypted === null)) continue;
          const key = w.method === null ? ENCRYPTED : `${w.method} ${w.uri ?? ''}`;
          const list = byRequest.get(key);
          if (list === undefined) byRequest.set(key, [w]);
          else list.push(w);
        }
      }
      return byRequest;
    }

    /**
     * The downstream wait whose client's close the proxy followed when it closed upstream wait `w`, or
     * null: the same request, closed by its client at most CLIENT_FOLLOW_GAP before. A client's request
     * to a proxy that terminates TLS cannot be read: then the client close nearest before, on a
     * request the proxy had before it sent this one. A wait at the same backend endpoint is no client
     * leg but another upstream one, on a backend that shares the proxy's host (HAProxy hard-stopped
     * closed 8 upstream legs to 10.13.2.2:9000 at once, and one was read as following another as
     * its client's close: blind 13b S14).
     */
    function followedClient<T extends Omit<Wait, 'finding'>>(w: Omit<Wait, 'finding'>, byRequest: ReadonlyMap<string, readonly T[]>): T | null {
      if (w.method === null) return null;
      const proxyHosts = [w.closerIp, legs.proxyForwardingFrom(w.closerIp)];
      const follows = (d: T): boolean =>
        d !== w && d.server !== w.server && d.requestStart <= w.requestStart && d.closeTs <= w.closeTs && w.closeTs - d.closeTs <= CLIENT_FOLLOW_GAP && proxyHosts.includes(hostOf(d.server));
      for (const d of byRequest.get(`${w.method} ${w.uri ?? ''}`) ?? []) if (follows(d)) return d;
      let nearest: T | null = null;
      for (const d of byRequest.get(ENCRYPTED) ?? []) if (follows(d) && (nearest === null || d.closeTs > nearest.closeTs)) nearest = d;
      return nearest;
    }

    /**
     * The connection's last answer, when its client reset it on arrival without a captured close
     * (resetOnArrivalWithoutClose): reported as a late answer whose give-up time is known only within
     * bounds, after the request and before the answer.
     */
    function judgeResetOnArrival(conn: AnalyzedConnection, finQueued = false): HttpExchange | null {
      const recent = conn.app?.recent;
      if (recent === undefined || recent.length === 0) return null;
      const ex = recent[recent.length - 1];
      if (ex.uncertain || ex.requestEnd === null || ex.responseStart === null || (ex.responseAfterClientClose === true && !finQueued)) return null;
      if (conn.server.lostBytes > 0 || !resetOnArrivalWithoutClose(ex, conn, finQueued)) return null;
      // A RST in the client's name from another hop (a firewall resetting both ends) is no client's give-up.
      if (resetFromOtherHost(conn.client)) return null;
      if (claimedElsewhere(conn.id)) return null;
      const c = conn.client;
      const requestEnd = ex.requestEnd;
      const late = ex.responseStart - requestEnd;
      // Resends of the request while it waited: the path was losing its packets. A connection's
      // first request resent before any ACK counts too once its FIN proved queued behind it (the
      // path's loss: accept-queue-overflow, which claims such resends, stays silent on a lossy path).
      const resent = c.lastRetransmissionTs > requestEnd && c.lastRetransmissionTs <= ex.responseStart;
      const resends = resent ? (finQueued ? c.retransmissions : pathResends(conn)) : 0;
      const resentFor = resent ? c.lastRetransmissionTs - requestEnd : 0;
      const line = requestLine(ex);
      const finding = ctx.report({
        flowId: conn.id,
        client: conn.clientName,
        server: conn.serverName,
        ts: c.rstTs,
        message: 'lateUnseen',
        data: {
          request: line ?? 'a request',
          status: statusText(ex) ?? 'a response',
          late: ms(late),
          resent: resent ? `; the client had resent the request ${resends} time${resends === 1 ? '' : 's'} over ${ms(resentFor)} s (the path was losing its packets)` : '',
        },
        evidence: {
          ...requestEvidence(ex, line, requestEnd),
          closeTs: null,
          // Only bounds: the client gave up after its request and before the answer.
          gaveUpAfter: at(requestEnd),
          gaveUpBefore: at(ex.responseStart),
          closedBy: 'client',
          closedWith: null,
          closeCaptured: false,
          serverAcked: true,
          open: false,
          lateResponseStatus: ex.status,
          ...statusClassEvidence(ex, 'lateResponseStatusClass'),
          lateResponseAfter: ms(late),
          clientResends: resends,
        },
        frames: [ex.requestFrame ?? 0, ex.responseFrame ?? 0, c.rstFrame],
      });
      let list = gaveUpUnseenByServer.get(conn.serverName);
      if (list === undefined && gaveUpUnseenByServer.size < MAX_SERVERS) gaveUpUnseenByServer.set(conn.serverName, (list = []));
      if (list !== undefined && list.length < MAX_WAITS_PER_SERVER) list.push({ findingId: finding.id, request: line, late, resends, resentFor });
      return ex;
    }

    /**
     * How often the client resent a request the server never ACKed before it fell silent, or 0: at
     * least UNREACHED_MIN_RESENDS resends after the request, and nothing more from the client (its
     * RST of the server's close aside) for UNREACHED_SILENCE_RATIO times the span of its resends,
     * until the server's close. With data outstanding, a live client resends on its backoff; it has
     * nothing else to send (the server sent nothing to acknowledge).
     */
    function unreachedResends(conn: AnalyzedConnection, requestEnd: number, close: CloseEvent): number {
      const c = conn.client;
      const last = c.lastRetransmissionTs;
      const resends = pathResends(conn);
      if (resends < UNREACHED_MIN_RESENDS || last <= requestEnd || last >= close.ts) return 0;
      if (peerAckedAll(c, conn.server) || c.lastDataTs > last) return 0;
      if (c.finTs >= 0 && c.finTs < close.ts) return 0;
      if (close.ts - last < UNREACHED_SILENCE_RATIO * (last - requestEnd)) return 0;
      return resends;
    }

    function reportUnreached(conn: AnalyzedConnection, ex: HttpExchange, close: CloseEvent, resends: number): void {
      const c = conn.client;
      const requestEnd = ex.requestEnd ?? 0;
      const resentFor = c.lastRetransmissionTs - requestEnd;
      const line = requestLine(ex);
      const frames = [ex.requestFrame ?? 0, close.frame];
      if (c.rstTs >= close.ts) frames.push(c.rstFrame);
      const finding = ctx.report({
        flowId: conn.id,
        client: conn.clientName,
        server: conn.serverName,
        ts: c.lastRetransmissionTs,
        message: 'unreached',
        data: {
          request: line ?? 'a request',
          sends: resends + 1,
          resentFor: ms(resentFor),
          closedWith: close.with,
          serverClose: ms(close.ts - requestEnd),
        },
        evidence: {
          ...requestEvidence(ex, line, requestEnd),
          closeTs: at(close.ts),
          // The client gave up no sooner than its last resend (its stack's abort sends nothing).
          lastResendTs: at(c.lastRetransmissionTs),
          clientResends: resends,
          closedBy: close.by,
          closedWith: close.with,
          serverAcked: false,
          reachedServer: false,
          open: false,
        },
        frames,
      });
      let list = unreachedByServer.get(conn.serverName);
      if (list === undefined && unreachedByServer.size < MAX_SERVERS) unreachedByServer.set(conn.serverName, (list = []));
      if (list !== undefined && list.length < MAX_WAITS_PER_SERVER) list.push({ findingId: finding.id, request: line, resends, resentFor });
    }

    /** "2.7 s" or "2.7–3.1 s". */
    const rangeText = (values: readonly number[]): string => {
      const lo = ms(Math.min(...values));
      const hi = ms(Math.max(...values));
      return lo === hi ? `${lo} s` : `${lo}–${hi} s`;
    };

    function diagnoseGaveUpUnseen(server: string, members: readonly GaveUpUnseen[]): void {
      const n = members.length;
      const range = rangeText(members.map((m) => m.late));
      const shortest = ms(Math.min(...members.map((m) => m.late)));
      const resent = members.filter((m) => m.resends > 0);
      const outage = resent.length === 0 ? 0 : ms(Math.max(...resent.map((m) => m.resentFor)));
      // Answered at once, and the client gone already: it gave up while the request was still on its
      // way, delayed by the path (its resends, lost before the capture point, are not in a capture
      // taken at the server: blind round 11, a route removed for 6 s), not by a slow server.
      const prompt = resent.length === 0 && Math.max(...members.map((m) => m.late)) < PROMPT_ANSWER;
      emit({
        server,
        count: n,
        inferred: {},
        explanation:
          `${n === 1 ? '1 request' : `${n} requests`} to ${server}${requestsAbout(members.map((m) => ({ request: m.request, encrypted: null })))} ` +
          `got ${n === 1 ? 'its answer' : 'their answers'} only ${range} after the request, and the client reset ${n === 1 ? 'it' : 'each'} on arrival without acknowledging any of it: ` +
          `it had already closed its socket, having given up before the answer came. Its close was not captured (a FIN queued behind a request the path had not delivered yet, ` +
          `or a close the capture missed), so when it gave up is known only within bounds` +
          (prompt ? '; no value is inferred.' : `: after the request and before the answer, a timeout shorter than ${shortest} s; no value is inferred.`) +
          (resent.length > 0
            ? ` The client resent ${resent.length === n ? (n === 1 ? 'the request' : 'each request') : `${resent.length} of them`} for up to ${outage} s before the server had it: the path between them was losing packets, which delayed the answer past the client's patience.`
            : prompt
              ? ` The server answered at once, so the client had given up before ${n === 1 ? 'the request' : 'the requests'} reached it: ${n === 1 ? 'it was' : 'they were'} delayed on the way ` +
                '(lost and resent, or held up by a path outage), and the resends, lost before reaching the server, are not in a capture taken next to it.'
              : ''),
        remedy:
          resent.length > 0
            ? `Find what cut the path between the client and ${server} for up to ${outage} s (a link or route change, a firewall or security-group rule, an overloaded middlebox); the client's timeout was shorter than that outage.`
            : prompt
            ? `Look at the path between the client and ${server} (loss, a link or route change, a firewall or overloaded middlebox at those moments; a capture at the client shows its resends), not at ${server}, which answered in ${range}.`
            : `Find why ${server} took ${range} to answer (its logs for ${n === 1 ? 'this request' : 'these requests'}, a hung worker, a slow dependency); the client's timeout is shorter than that, raise it only if the server is legitimately that slow.`,
        anomalyIds: members.map((m) => m.findingId),
      });
    }

    function diagnoseUnreached(server: string, members: readonly Unreached[]): void {
      const n = members.length;
      const sends = members.map((m) => m.resends + 1);
      const lo = Math.min(...sends);
      const hi = Math.max(...sends);
      const longest = ms(Math.max(...members.map((m) => m.resentFor)));
      emit({
        server,
        count: n,
        inferred: {},
        explanation:
          `${n === 1 ? '1 request' : `${n} requests`} to ${server}${requestsAbout(members.map((m) => ({ request: m.request, encrypted: null })))} never reached it: ` +
          `the server never ACKed ${n === 1 ? 'it' : 'them'}, the client sent ${n === 1 ? 'it' : 'each'} ${lo === hi ? lo : `${lo}–${hi}`} times (retransmission timeouts, up to ${longest} s after the request), ` +
          `and then fell silent: its stack gave up on the connection (TCP_USER_TIMEOUT, net.ipv4.tcp_retries2) or it closed it behind data that never left, no sooner than its last resend. ` +
          `The server, which never had the request, closed the connection later by a timer of its own. The path between them, or the server's host, was unreachable then: not a server that sat on a request.`,
        remedy:
          `Find what cut the path between the client and ${server} at that time (a link or route down, a firewall or security-group rule dropping packets, the server's host down or overloaded); ` +
          `the client's retransmission limit (TCP_USER_TIMEOUT, tcp_retries2) decides how long it waits for the path to come back.`,
        anomalyIds: members.map((m) => m.findingId),
      });
    }

    /**
     * A request resent at least UNREACHED_MIN_RESENDS times and answered at least DELAYED_NOTED_AFTER
     * late, within a round trip of the client's last resend of it (twice the handshake's, plus RESET_ON_ARRIVAL_SLACK): the resend that got through
     * was answered at once, so the wait was the path's retransmission timeouts, not the server's
     * handling. Noted (info) on the exchange: the client got its answer.
     */
    function noteDelayedByPath(ex: HttpExchange, conn: AnalyzedConnection, waited: number, resends: number): void {
      const last = conn.client.lastRetransmissionTs;
      const requestEnd = ex.requestEnd ?? 0;
      const responseStart = ex.responseStart ?? 0;
      if (last <= requestEnd || last > responseStart) return;
      const position = handshakeCapturePosition(conn);
      const roundTrip = position === null ? 0 : position.serverRtt + position.clientRtt;
      if (responseStart - last > 2 * roundTrip + RESET_ON_ARRIVAL_SLACK) return;
      if (delayedByConn.size < MAX_OPEN_KEPT && !delayedByConn.has(conn.id)) delayedByConn.set(conn.id, { ex, waited, resends });
    }

    function reportDelayedByPath(conn: AnalyzedConnection, ex: HttpExchange, waited: number, resends: number): void {
      const last = conn.client.lastRetransmissionTs;
      const requestEnd = ex.requestEnd ?? 0;
      const responseStart = ex.responseStart ?? 0;
      const line = requestLine(ex);
      ctx.report({
        flowId: conn.id,
        client: conn.clientName,
        server: conn.serverName,
        ts: responseStart,
        severity: 'info',
        message: 'delayedByPath',
        data: { request: line ?? 'a request', wait: ms(waited), resends, resentFor: ms(last - requestEnd), after: fineDuration(responseStart - last) },
        evidence: {
          method: ex.method,
          uri: ex.uri,
          requestLine: line,
          exchangeIndex: ex.index,
          requestEnd: at(requestEnd),
          responseStart: at(responseStart),
          waitSeconds: ms(waited),
          lastResendTs: at(last),
          clientResends: resends,
          answered: true,
          open: false,
        },
        frames: [ex.requestFrame ?? 0, ex.responseFrame ?? 0],
      });
    }

    function diagnose(): void {
      const groups: Array<{ server: string; role: CloserRole; waits: Wait[] }> = [];
      const byRequest = clientClosesByRequest();
      // Upstream legs of failures gateway-timeout diagnoses as the proxy's read timeout (the 504 its
      // client got): one failure, one diagnosis, there; their findings are listed in it (GatewayClaims).
      const toGateway = gatewayClaims.ownedUpstreamFlows(legs, ctx.options.spreadAbsolute);
      // Every proxy's upstream closes that followed its client's close are paired first, before any
      // diagnosis is made: the client leg's diagnosis, wherever it is made, lists them (emit).
      const perServer: Array<{ server: string; waits: Wait[]; roles: CloserRole[]; inFollowed: Set<Wait> }> = [];
      for (const [server, all] of waitsByServer) {
        for (const w of all) if (w.failedUpstream !== null) w.failedUpstream = legs.settled(w.failedUpstream);
        const waits = all.filter((w) => {
          if (w.failedUpstream !== null || w.ending !== null) return false;
          if (w.closedBy !== 'client' || !toGateway.has(w.flowId)) return true;
          leftToProxy.note(w.finding);
          return false;
        });
        // The process stopped whole: its late answers to every client at one instant.
        const pause = serverPauses.pauseOf(server);
        if (pause !== null) pauses.set(server, pause);
        // A queue only where the server answered nothing else while the queued requests waited for its
        // long ones: an answer on another connection meanwhile was a worker free for them.
        const queued = queuesOf(waits, { fraction: ctx.options.spreadFraction, absolute: ctx.options.spreadAbsolute }).filter((q) => {
          const to = Math.min(...q.queued.map((r) => r.lateTs ?? Infinity));
          // The answer that freed the worker comes right before them (HIDDEN_HEAD_GAP): a long request its client waited for (queueWords).
          return answers.answeredDuring(server, q.queued[0].requestEnd, to - HIDDEN_HEAD_GAP, q.members)?.answers === 0;
        });
        if (queued.length > 0) {
          queues.set(server, queued);
          for (const w of waits) if (queued.some((q) => q.members.has(w.flowId))) queuedLines.set(w.flowId, w.request);
        }
        const roles = waits.map(finalRoleOf);
        const followed: Array<{ wait: Wait; downstream: Wait }> = [];
        for (let i = 0; i < waits.length; i++) {
          if (roles[i] !== 'proxy') continue;
          const downstream = followedClient(waits[i], byRequest);
          if (downstream !== null) {
            followed.push({ wait: waits[i], downstream });
            roles[i] = 'client'; // taken out of the proxy's waits below; diagnosed as its client's doing
          }
        }
        for (const { wait, downstream } of followed) {
          if (queued.some((q) => q.members.has(wait.flowId))) queuedUpstream.set(downstream.flowId, { server, flowId: wait.flowId });
        }
        for (const f of followed) followedBy.set(f.wait.finding.id, f);
        perServer.push({ server, waits, roles, inFollowed: new Set(followed.map((x) => x.wait)) });
      }
      anchorCancellations();
      for (const { server, waits, roles, inFollowed } of perServer) {
        const all = waitsByServer.get(server) ?? [];
        // A proxy's close after its forwarded request failed upstream ends the attempt, whenever
        // that failure came: its delay is no timer of the proxy's, and infers none.
        // Unless the proxy itself gave up upstream first (it closed the backend connection, the
        // request unanswered): then its read timeout fired, and it answered its client nothing.
        let gaveUp = all.filter((w) => w.failedUpstream !== null && w.failedUpstream.leg.closedBy === 'proxy');
        // Unless it closed them all at one moment, whatever their ages: the proxy stopped (HAProxy
        // hard-stopped with `-st` closed both legs of 8 requests within 0.1 ms, blind 13b S14), an
        // event, as a server's closes at one moment are (diagnoseBurst), no read timeout.
        if (gaveUp.length >= ENDED_AT_ONCE_MIN) {
          const stopped = closeBursts(gaveUp, { fraction: ctx.options.spreadFraction, absolute: ctx.options.spreadAbsolute }).bursts.filter((run) => run.length >= ENDED_AT_ONCE_MIN);
          for (const run of stopped) diagnoseBurst(server, 'server', run);
          const inStopped = new Set(stopped.flat());
          gaveUp = gaveUp.filter((w) => !inStopped.has(w));
        }
        if (gaveUp.length > 0) diagnoseProxyGaveUp(server, gaveUp);
        const failedUpstream = all.filter((w) => w.failedUpstream !== null && w.failedUpstream.leg.closedBy !== 'proxy');
        if (failedUpstream.length > 0) diagnoseFailedUpstream(server, failedUpstream);
        // Closes no timer made: each kind its own diagnosis, no timeout inferred from them.
        const afterOwnResponse = all.filter((w) => w.failedUpstream === null && w.ending === 'afterOwnResponse');
        if (afterOwnResponse.length > 0) diagnoseClosedAfterResponse(server, afterOwnResponse);
        const onClientFin = all.filter((w) => w.failedUpstream === null && w.ending === 'onClientFin');
        if (onClientFin.length > 0) diagnoseClosedOnClientFin(server, onClientFin);
        for (const role of ['client', 'proxy', 'server'] as const) {
          const mine = waits.filter((w, i) => roles[i] === role && !inFollowed.has(w));
          if (mine.length > 0) groups.push({ server, role, waits: mine });
        }
      }
      const options = { fraction: ctx.options.spreadFraction, absolute: ctx.options.spreadAbsolute, minSamples: 2 };
      for (const group of groups) {
        if (group.role === 'server') {
          // Requests the server closed on after a restart or reload that came while they waited:
          // the old process's grace ran out, no timer of the request's (see diagnoseCutAtRestart).
          const cuts: Array<{ wait: Wait; restartTs: number }> = [];
          group.waits = group.waits.filter((w) => {
            const restart = legs.reloadDuring(group.server, w.requestStart, w.closeTs);
            if (restart !== null) cuts.push({ wait: w, restartTs: restart.ts });
            return restart === null;
          });
          if (cuts.length > 0) diagnoseCutAtRestart(group.server, cuts);
          if (group.waits.length === 0) continue;
        }
        // A client whose timer starts at its connect: its waits are grouped as it counts them.
        if (group.role === 'client' && timerStartsAtConnect(group.waits, { fraction: ctx.options.spreadFraction })) {
          diagnoseFromConnect(group.server, group.waits);
          continue;
        }
        // Closes at one moment are an event, not a timeout: they infer none.
        const eventAfter =
          group.role === 'server' ? (run: readonly Wait[]): boolean => refusedSoonAfter(group.server, run[run.length - 1].closeTs) !== null : undefined;
        const bursts = closeBursts(group.waits, options, eventAfter);
        const rest = bursts.rest;
        const killed: Wait[] = [];
        let servedNew = 0;
        for (const burst of bursts.bursts) {
          // Workers killed together at a time limit's check (worker-limits.ts): no restart.
          const served = group.role === 'server' ? killedAtTimeLimit(group.server, burst) : null;
          if (served !== null) {
            killed.push(...burst);
            servedNew = Math.max(servedNew, served);
            continue;
          }
          const ages = burst.map((w) => w.wait);
          // A proxy's or client's tick-checked timeout looks like this (MAX_TIMER_TICK): no event is
          // claimed, and the waits join the timeout of the others that ended at that moment, if any.
          if (group.role === 'server' || Math.max(...ages) - Math.min(...ages) > MAX_TIMER_TICK || endedAtOnce(group.role, burst)) {
            diagnoseBurst(group.server, group.role, burst);
          }
          else rest.push(...burst);
        }
        if (killed.length > 0) {
          // The server's other cuts at ages within the same tick are the same limit's, one worker at a time.
          const withRest = [...killed, ...rest];
          const together = agesFitTickedLimit(withRest.map((w) => w.wait));
          diagnoseWorkerKills(group.server, together ? withRest : killed, servedNew);
          if (together) continue;
        }
        if (group.role === 'server' && killed.length === 0) {
          const kills = killedAtOneCheck(group.server, rest);
          if (kills !== null) {
            diagnoseWorkerKills(group.server, rest, kills.served, kills.cutAgain);
            continue;
          }
        }
        if (group.role === 'server' && tickChecked(rest.map((w) => w.wait), options) !== null) {
          diagnoseTick(group.server, rest);
          continue;
        }
        const clustered = clusterByDelay(rest.map((w) => ({ ...w, delay: w.wait })), options, (w) => w.closeTs);
        const clusters = clustered.groups;
        // A proxy's timeout checked on a periodic tick (Traffic Server's, once a second) gives
        // several sets of agreeing waits within one tick of each other: the first attempts, started at
        // any moment, and the retries it starts right after a tick. One timer, no value. The same
        // request cut at two of those ages tells it from two timeouts for different URIs.
        if (group.role === 'proxy' && clusters.length >= 2) {
          const ages = rest.map((w) => w.wait);
          const lo = Math.min(...ages);
          const hi = Math.max(...ages);
          const clusterOf = new Map<string, number>();
          let sameRequestTwice = false;
          clusters.forEach((c, i) => {
            for (const w of c.members) {
              if (w.request === null) continue;
              const seen = clusterOf.get(w.request);
              if (seen !== undefined && seen !== i) sameRequestTwice = true;
              clusterOf.set(w.request, i);
            }
          });
          if (sameRequestTwice && hi - lo <= Math.min(MAX_TIMER_TICK, lo)) {
            diagnoseProxyTick(group.server, rest);
            continue;
          }
        }
        // Each set of waits that agree is one timeout at work (a client may have several), unless
        // its clients waited longer than that for answers they took: then it was no timeout.
        for (const cluster of clusters) {
          const longer = group.role === 'client' ? longestTaken(cluster.members) : 0;
          const hi = Math.max(...cluster.members.map((w) => w.wait));
          // Past the longest cut wait by more than a timer's tick could let an answer in.
          if (longer > hi + Math.min(MAX_TIMER_TICK, hi)) diagnoseStoppedWaiting(group.server, cluster.members, longer);
          else diagnoseCluster(group.server, group.role, cluster.value, cluster.members);
        }
        // Waits that agree with no other (a single one above all) infer no timeout, but each is a
        // request nobody answered all the same: it gets its diagnosis, without a value. A proxy's
        // are left to what its own clients got (gateway-timeout says why it gave up: a ticked
        // timer, its reload's grace), which this leg alone cannot tell.
        if (clustered.rest.length > 0 && group.role !== 'proxy') diagnoseUnagreeing(group.server, group.role, clustered.rest);
        else {
          // A proxy known by its requests' tells alone: its client leg is not in the capture, so
          // nothing else will say why these requests went unanswered.
          const byTells = clustered.rest.filter(proxyByTellsOnly);
          if (byTells.length > 0) diagnoseUnagreeing(group.server, 'client', byTells);
          for (const w of clustered.rest) if (!byTells.includes(w)) leftToProxy.note(w.finding);
        }
      }
      // Cancellations whose client's give-up no diagnosis here listed: told on their own, by backend.
      const unlisted = new Map<string, Array<{ wait: Wait; downstream: Wait }>>();
      for (const list of cancelledByAnchor.values()) {
        for (const f of list) {
          const mine = unlisted.get(f.wait.server);
          if (mine === undefined) unlisted.set(f.wait.server, [f]);
          else mine.push(f);
        }
      }
      cancelledByAnchor.clear();
      for (const [server, followed] of unlisted) diagnoseFollowed(server, followed, toGateway);
    }

    /**
     * A client's waits when its timer demonstrably starts at the connect (timerStartsAtConnect):
     * each counted from where its timer started, the SYN on a connection opened for the request,
     * the request on a reused one, so that one timer is one group with one value. Counted from the
     * request instead, waits of connections whose handshake took long are shorter than the timeout:
     * they form groups of their own, and a group's value, its shortest wait (a timer fires late,
     * never early), falls below the setting (blind 16 S14b: Go's Client.Timeout 150 ms read as
     * 100.9 and 126.1 ms). Closes at one moment whose ages from the SYN agree are that timer, not
     * an exit: curls started together with their connects delayed by resent SYNs give up together,
     * their --max-time after their start (S2, S15). Those whose ages from the SYN differ stay an event.
     */
    function diagnoseFromConnect(server: string, waits: readonly Wait[]): void {
      const options = { fraction: ctx.options.spreadFraction, absolute: ctx.options.spreadAbsolute, minSamples: 2 };
      const aged = waits.map((w) => ({ w, closeTs: w.closeTs, wait: w.sinceConnect ?? w.wait }));
      const bursts = closeBursts(aged, options);
      const rest = bursts.rest;
      for (const burst of bursts.bursts) {
        const ages = burst.map((x) => x.wait);
        const members = burst.map((x) => x.w);
        if (Math.max(...ages) - Math.min(...ages) > MAX_TIMER_TICK || endedAtOnce('client', members)) diagnoseBurst(server, 'client', members);
        else rest.push(...burst);
      }
      const clustered = clusterByDelay(rest.map((x) => ({ ...x, delay: x.wait })), options, (x) => x.closeTs);
      // A request on a reused connection sent as soon as that connection was free had waited for
      // one, its timer already running (Go's Client.Timeout and curl's --max-time cover the wait
      // for a connection too): its wait from the request falls short of the timer by that wait.
      // A group made only of such waits, below a group that holds connections opened for their
      // requests, is that timer's (S14b: 2 requests handed a pooled connection 1-4 ms after its
      // last answer gave up 0.101 s after sending, 0.15 s after their timers started).
      const handedOver = (w: Wait): boolean => {
        const idle = w.finding.evidence.idleBefore;
        return w.sinceConnect === null && typeof idle === 'number' && idle <= HANDED_OVER_WITHIN;
      };
      const groups = clustered.groups.slice().sort((a, b) => a.value.value - b.value.value);
      for (let i = 0; i < groups.length; i++) {
        if (!groups[i].members.every((x) => handedOver(x.w))) continue;
        const above = groups.slice(i + 1).find((g) => g.members.some((x) => x.w.sinceConnect !== null));
        if (above === undefined) continue;
        above.members.push(...groups[i].members);
        groups.splice(i--, 1);
      }
      for (const cluster of groups) {
        const members = cluster.members.map((x) => x.w);
        const longer = longestTaken(members);
        const hi = Math.max(...members.map((w) => w.wait));
        if (longer > hi + Math.min(MAX_TIMER_TICK, hi)) {
          diagnoseStoppedWaiting(server, members, longer);
          continue;
        }
        // Its value where most of them agree: the merged group's shortest wait is no bound here,
        // the SYN leaving a little after the timer started (a dial scheduled late under load).
        const core = inferTimeout(cluster.members.map((x) => x.wait), { ...options, minSamples: 1 }) ?? cluster.value;
        diagnoseCluster(server, 'client', cluster.value, members, core);
      }
      if (clustered.rest.length > 0) diagnoseUnagreeing(server, 'client', clustered.rest.map((x) => x.w));
    }

    /**
     * Requests a proxy forwarded and then gave up on: it closed the backend connection with the
     * request unanswered and closed its client's without an answer, no error status at all
     * (tinyproxy 1.11 at its `Timeout`: curl reports "Empty reply from server", gateway-timeout-tinyproxy).
     */
    function diagnoseProxyGaveUp(server: string, members: readonly Wait[]): void {
      const about = requestsAbout(members);
      const backends = [...new Set(members.map((w) => w.failedUpstream?.leg.server ?? '?'))].slice(0, 3).join(', ');
      const upstreamWaits = members.map((w) => (w.failedUpstream !== null ? w.failedUpstream.leg.closeTs - w.failedUpstream.start : w.wait));
      const waits = members.map((w) => w.wait);
      const lo = ms(Math.min(...waits));
      const hi = ms(Math.max(...waits));
      const upLo = ms(Math.min(...upstreamWaits));
      const upHi = ms(Math.max(...upstreamWaits));
      const clusters = clusterByDelay(upstreamWaits.map((delay) => ({ delay })), { fraction: ctx.options.spreadFraction, absolute: ctx.options.spreadAbsolute, minSamples: 2 }).groups;
      const largest = clusters.reduce<(typeof clusters)[number] | null>((best, g) => (best === null || g.members.length > best.members.length ? g : best), null);
      const value = largest !== null && 2 * largest.members.length >= upstreamWaits.length ? largest.value : null;
      const inferred: Record<string, InferredValue> = value !== null ? { proxyReadTimeout: { value: ms(value.value), samples: value.samples, spread: ms(value.spread) } } : {};
      emit({
        server,
        count: members.length,
        inferred,
        explanation:
          `${members.length} request(s) to ${server}${about} got no response at all: the proxy forwarded each to ${backends}, which acknowledged it and did not answer; ` +
          `the proxy closed that backend connection ${upLo === upHi ? `${upLo} s` : `${upLo}–${upHi} s`} after the request, and its client's without an error status ` +
          `${lo === hi ? `${lo} s` : `${lo}–${hi} s`} after it: its upstream read timeout fired (nginx proxy_read_timeout, HAProxy timeout server, Varnish first_byte_timeout, ` +
          `Squid read_timeout, tinyproxy Timeout${value !== null ? `: about ${ms(value.value)} s here` : ''}), and it answered nothing where most proxies answer 504 ` +
          `(tinyproxy 1.11 does so; curl then reports "Empty reply from server", 52; Node "socket hang up"; Python requests RemoteDisconnected).`,
        remedy:
          `Find why ${backends} does not answer within the proxy's read timeout (see the unanswered-request findings on those backend connections: a hung worker, a slow query); ` +
          `raise that timeout only if the backend is legitimately that slow. A client cannot tell this empty reply from a crash: retry only idempotent requests.`,
        anomalyIds: members.map((w) => w.finding.id),
      });
    }

    /** Requests a proxy closed the client's connection on, without an answer, when it had forwarded them and they failed upstream. */
    function diagnoseFailedUpstream(server: string, members: readonly Wait[]): void {
      const about = requestsAbout(members);
      const backends = [...new Set(members.map((w) => w.failedUpstream?.leg.server ?? '?'))].slice(0, 3).join(', ');
      const flows = [...new Set(members.map((w) => w.failedUpstream?.leg.flowId ?? 0))].slice(0, 10).join(', ');
      const waits = members.map((w) => w.wait);
      const lo = ms(Math.min(...waits));
      const hi = ms(Math.max(...waits));
      // Apache closes without an answer only on a client connection that had carried a request
      // before (mod_proxy_http checks the client connection's keepalives, not the backend's reuse).
      const laterOnly = members.every((w) => !w.firstOnConnection);
      emit({
        server,
        count: members.length,
        inferred: {},
        explanation:
          `${members.length} request(s) to ${server}${about} got no response: the proxy had forwarded each to ${backends} (flows ${flows}), ` +
          `the backend had not answered it, and the proxy closed its client's connection without an answer ${lo === hi ? `${lo} s` : `${lo}–${hi} s`} after the request. ` +
          `Its upstream attempt failed (see the findings on those upstream connections: e.g. a backend that closed without answering, a worker killed at its time limit, or a keep-alive race on a reused backend connection); ` +
          `no timeout of the proxy's is at work. Apache mod_proxy closes the client connection this way when reading the backend's answer fails other than by its own timeout ` +
          `(the backend closed or reset the connection) and the request was not the first on its client's keep-alive connection ` +
          `(its error log: AH01102 "error reading status line from remote server", then AH01104 "Closing connection to client because reading from backend server … failed. Number of keepalives N"), ` +
          `so that the client may retry on a new connection; on a client connection's first request it answers 502 instead` +
          `${laterOnly ? ` (${members.length === 1 ? 'this request was a later one on its client\'s connection' : 'each of these was a later request on its client\'s connection'})` : ''}; ` +
          `HAProxy 2.6 does the same, and logs nothing for it, when the request was not the first on its client's connection and it may not resend it (its default \`retry-on conn-failure\`).`,
        remedy:
          `Fix the upstream failure (see the findings on the proxy's backend connections). Clients of the proxy should retry idempotent requests on a new connection when it closes without answering ` +
          `(or let the proxy resend them: HAProxy \`retry-on empty-response\` with \`retries\`, for requests that are safe to replay).`,
        anomalyIds: members.map((w) => w.finding.id),
      });
    }

    /** Every request these closes left unanswered (pipelined ones included), for a diagnosis: `N requests (GET /a, …)`. */
    function unansweredText(members: readonly Wait[]): string {
      const count = members.reduce((n, w) => n + w.unansweredCount, 0);
      const lines = members.flatMap((w) => w.unansweredLines);
      const shown = lines.slice(0, MAX_REQUESTS_NAMED * 2);
      const named = shown.length === 0 ? '' : ` (${shown.join(', ')}${count > shown.length ? ` and ${count - shown.length} more` : ''})`;
      return `${count} request(s)${named}`;
    }

    const gapText = (members: readonly Wait[]): string => {
      const gaps = members.map((w) => w.endingGap);
      const lo = fineDuration(Math.min(...gaps));
      const hi = fineDuration(Math.max(...gaps));
      return lo === hi ? `${lo} s` : `${lo}–${hi} s`;
    };

    /**
     * Pipelined requests left pending when the server closed right after its own response: it ends
     * connections after a response (a request limit per connection, a Connection: close), which
     * no timer of the requests' made.
     */
    function diagnoseClosedAfterResponse(server: string, members: readonly Wait[]): void {
      emit({
        server,
        count: members.length,
        inferred: {},
        explanation:
          `${unansweredText(members)} to ${server} got no response: they were pipelined (sent before the server had finished its response to the one before), ` +
          `and the server closed the connection (FIN) ${gapText(members)} after the end of that response, on ${members.length} connection(s). ` +
          `A close right behind the server's own response ends the connection after it, whatever the requests waiting behind: a limit of requests per connection ` +
          `(nginx keepalive_requests, Apache MaxKeepAliveRequests, a keep-alive count), or a Connection: close the server did or did not announce. ` +
          `No timer running from the requests made it: their ages infer no timeout.`,
        remedy:
          `Clients that pipeline must resend, on a new connection, the requests a connection closed on after its last response (RFC 9112 9.3.2): they were not processed. ` +
          `Or stop pipelining to ${server} (one request at a time per connection), or raise its per-connection request limit if it has one.`,
        anomalyIds: members.map((w) => w.finding.id),
      });
    }

    /**
     * Requests the server dropped when the client's FIN came: it closed right behind that FIN
     * without answering. A half-closing client (shutdown(SHUT_WR) after its request) was still
     * reading; the server took the end of its input for a disconnect.
     */
    function diagnoseClosedOnClientFin(server: string, members: readonly Wait[]): void {
      emit({
        server,
        count: members.length,
        inferred: {},
        explanation:
          `${unansweredText(members)} to ${server} got no response: ${members.length === 1 ? '' : 'each time '}the client sent its FIN after its request(s) and reset nothing, and the server closed ` +
          `the connection ${gapText(members)} after that FIN without answering. The server took the FIN for a disconnect: a client that half-closes ` +
          `(shutdown(SHUT_WR) once its request is written, as some HTTP/1.0-style clients and scripts do) still reads the response, and got none. ` +
          `The close followed the client's FIN, not the request: no timeout of the server's or the client's is at work.`,
        remedy:
          `On the client: do not shut down writing before the response is read (close the connection after it instead). ` +
          `Or on the server: treat end of input as a half-close and still answer the request read (a server or handler that aborts when its client ` +
          `"disconnects": Go's net/http cancels the request's context when it reads the EOF, and a handler that gives up on it writes nothing; ` +
          `a proxy may end the request as a client abort, nginx with 499, unless proxy_ignore_client_abort is on).`,
        anomalyIds: members.map((w) => w.finding.id),
      });
    }

    /** Upstream requests a proxy abandoned because its own client gave up on them first. */
    function diagnoseFollowed(server: string, followed: ReadonlyArray<{ wait: Wait; downstream: Wait }>, gatewayFlows: ReadonlySet<number> = new Set()): void {
      const members = followed.map((x) => x.wait);
      // Every client leg left to gateway-timeout: that client is itself a proxy whose read timeout
      // gave up (its 504 is told there), and this one passed its close down the chain (blind 16
      // chains s05: HAProxy's 2 s timeout, nginx cancelling the app's request behind it).
      const upChain = followed.every((x) => gatewayFlows.has(x.downstream.flowId));
      const about = requestsAbout(members);
      const proxies = [...new Set(followed.map((x) => x.downstream.server))].slice(0, 3).join(', ');
      const clients = [...new Set(followed.map((x) => hostOf(x.downstream.client)))].slice(0, 3).join(', ');
      const gaps = followed.map((x) => x.wait.closeTs - x.downstream.closeTs);
      const waits = followed.map((x) => x.downstream.wait);
      const lo = ms(Math.min(...waits));
      const hi = ms(Math.max(...waits));
      const queued = queueWords(server, members);
      // Client programs that gave up after waits of their own (Go 1 s and aiohttp 1.5 s on one host,
      // blind 15, S17): each its own timeout, named apart, never one span of the proxy's.
      const byAgent = new Map<string, number[]>();
      for (const x of followed) {
        const agent = x.downstream.clientAgent ?? '';
        const list = byAgent.get(agent);
        if (list === undefined) byAgent.set(agent, [x.downstream.wait]);
        else list.push(x.downstream.wait);
      }
      const ownTimeouts = byAgent.size > 1
        ? [...byAgent].map(([agent, w]) => {
          const a = ms(Math.min(...w));
          const b = ms(Math.max(...w));
          return `${agent === '' ? 'no User-Agent' : `\`${agent}\``} after ${a === b ? `${a} s` : `${a}–${b} s`}`;
        }).join(', ')
        : null;
      emit({
        server,
        count: members.length,
        // Cancellations told as their give-up's consequence (info, see pairLegs) make no error of their own.
        ...(members.every((w) => w.finding.severity === 'info') ? { severity: 'info' as const } : {}),
        inferred: {},
        explanation:
          `${members.length} request(s) to ${server}${about} got no response, and the proxy that sent them (${proxies}) closed its upstream connection ` +
          `within ${ms(Math.max(...gaps) * 1000)} ms after its own client (${clients}) had closed the connection carrying the same request, ` +
          `${lo === hi ? `${lo} s` : `${lo}–${hi} s`} after sending it: ` +
          (upChain
            ? `that client is itself a proxy whose upstream read timeout gave up (its clients' gateway error is the gateway-timeout diagnosis, which lists that leg)`
            : ownTimeouts === null ? 'the client gave up (its timeout)' : `each client program gave up on its own timeout (${ownTimeouts})`) +
          `, and the proxy cancelled the forwarded request with it ` +
          `(Go's httputil.ReverseProxy cancels it with the client's context; nginx closes the upstream connection when the client goes away unless proxy_ignore_client_abort is on). ` +
          (upChain
            ? `No timeout of ${proxies}'s is at work here: the proxy in front of it timed out, and this leg is the same failure passed down the chain.`
            : ownTimeouts === null
            ? `No proxy timeout is at work here: the client's is (see the findings on the client's connections).`
            : `No proxy timeout is at work here: the clients' are (see the findings on the clients' connections).`) +
          (queued !== null ? ` ${server} answered them after all, once the proxy had closed, and not because it was slow for each: ${queued.note}` : ''),
        remedy:
          queued !== null
            ? `${queued.remedy} Raise the client's timeout only if the backend is legitimately that slow.`
            : upChain
            ? `Find why ${server} does not answer these requests within the read timeout of the proxy in front (see the gateway-timeout diagnosis); raise that timeout only if the backend is legitimately that slow.`
            : ownTimeouts === null
              ? `Find why ${server} is slower than the client's timeout for these requests; raise the client's timeout only if the backend is legitimately that slow.`
              : `Find why ${server} is slower than the clients' timeouts for these requests; raise a client's timeout only if the backend is legitimately that slow for it.`,
        anomalyIds: members.map((w) => w.finding.id),
      });
    }

    /**
     * Requests a server closed on without an answer some time after it was restarted or reloaded
     * while they waited (ProxyLegs.reloadDuring: its idle connections closed at one moment): the old
     * process let them run for its grace and then exited with them in hand (Go's
     * `http.Server.Shutdown` returning at its context's deadline, restart-go-shutdown).
     */
    function diagnoseCutAtRestart(server: string, cuts: ReadonlyArray<{ wait: Wait; restartTs: number }>): void {
      const members = cuts.map((c) => c.wait);
      const graces = cuts.map((c) => c.wait.closeTs - c.restartTs);
      const lo = ms(Math.min(...graces));
      const hi = ms(Math.max(...graces));
      const range = lo === hi ? `${lo} s` : `${lo}–${hi} s`;
      const grace = agreedGrace(graces, { fraction: ctx.options.spreadFraction, absolute: ctx.options.spreadAbsolute });
      const n = members.length;
      const settings = SHUTDOWN_GRACE_SETTINGS;
      emit({
        server,
        count: n,
        inferred: grace !== null ? { serverShutdownGrace: grace } : {},
        explanation:
          `${n} request${n === 1 ? '' : 's'} to ${server}${requestsAbout(members)} got no response: the server closed ${n === 1 ? 'its connection' : 'their connections'} ` +
          `${range} after it was restarted or reloaded while ${n === 1 ? 'it' : 'they'} waited (at that moment it closed every idle connection at once). ` +
          `The old process let requests in flight run for its grace and then went away with ${n === 1 ? 'this one' : 'these'} unanswered (${settings}).`,
        remedy:
          `Give requests in flight at a restart the time they need: a grace longer than the slowest request (${settings}), ` +
          `and stop sending the old process new requests before it stops (take it out of the load balancer's rotation first; Kubernetes: a preStop delay). ` +
          `Clients can retry idempotent requests that failed this way.`,
        anomalyIds: members.map((w) => w.finding.id),
      });
    }

    /**
     * Whether a client's or proxy's closes at one moment, of requests whose ages disagree (a burst,
     * closeBursts), were its ending rather than a timer checked on a tick, which also closes at one
     * moment every request older than its timeout: a client that sent nothing to that server after
     * them had stopped (ab's `-t` ends its run by closing every connection at once, its requests in
     * flight: blind 13b, S5a and S14, read as a 0.208 s and a 0.3 s client timeout); a proxy that
     * closed its own clients' connections, unanswered, at the same moment had stopped, or dropped
     * them all (HAProxy hard-stopped with `-st` closed 8 client and 8 backend connections within
     * 0.1 ms: S14, read as a 0.13 s read timeout whose clients got a 504 nobody sent). A ticked
     * timer goes on: its client sends again, its proxy answers its clients an error.
     */
    function endedAtOnce(role: CloserRole, burst: readonly Wait[]): boolean {
      if (burst.length < ENDED_AT_ONCE_MIN) return false;
      const first = Math.min(...burst.map((w) => w.closeTs));
      const last = Math.max(...burst.map((w) => w.closeTs));
      if (role === 'client') {
        return burst.every((w) => {
          const sent = lastSentBy.get(w.server, hostKeyOfEndpoint(w.client));
          return sent !== undefined && sent <= last;
        });
      }
      if (role !== 'proxy') return false;
      const closers = new Set(burst.map((w) => w.closerIp));
      let fronts = 0;
      for (const [server, waits] of waitsByServer) {
        if (!closers.has(hostOf(server))) continue;
        for (const w of waits) if (w.closedBy === 'server' && w.closeTs >= first - BURST_LINK_GAP && w.closeTs <= last + BURST_LINK_GAP) fronts++;
      }
      return 2 * fronts >= burst.length;
    }

    function diagnoseBurst(server: string, role: CloserRole, members: readonly Wait[]): void {
      const first = members[0].closeTs;
      const spread = members[members.length - 1].closeTs - first;
      const lo = ms(Math.min(...members.map((w) => w.wait)));
      const hi = ms(Math.max(...members.map((w) => w.wait)));
      const acked = members.filter((w) => w.serverAcked).length;
      const about = requestsAbout(members);
      const frames = members.map((w) => w.closeFrame).join(', ');
      const closers = [...new Set(members.map((w) => w.closerIp))].slice(0, 3).join(', ');
      const moment = `at ${isoTime(first)}, all within ${microsAsMs(spread)} ms (frames ${frames})`;
      const last = members[members.length - 1].closeTs;
      const refused = role === 'server' ? refusedSoonAfter(server, last) : null;
      const ages = members.map((w) => w.wait);
      const agesAgree = Math.max(...ages) - Math.min(...ages) <= Math.max(ctx.options.spreadFraction * Math.max(...ages), ctx.options.spreadAbsolute);
      const ageNote =
        refused !== null && agesAgree
          ? `the requests had all waited about as long (${lo === hi ? `${lo} s` : `${lo} to ${hi} s`}: they were sent together), which alone would look like a timeout, ` +
            `but ${server} refused a new connection ${ms(refused - last)} s later: nothing listened on it any more`
          : `although the requests had waited from ${lo} to ${hi} s: a timeout closes requests at a constant age after they were sent, ` +
            `an event closes them at one moment, whatever their age` +
            (refused !== null ? `; and ${server} refused a new connection ${ms(refused - last)} s later: nothing listened on it any more` : '');
      const ackNote =
        acked === members.length
          ? ' The server had ACKed every one of them: they were in progress, not lost on the way.'
          : acked === 0
            ? ' The server had ACKed none of them.'
            : ` The server had ACKed ${acked} of them.`;
      let explanation: string;
      let remedy: string;
      if (role === 'server') {
        explanation =
          `${members.length} requests to ${server}${about} got no response: the server closed all their connections at once, ${moment}, ${ageNote}. ` +
          `The server process dropped its in-flight requests: a restart, reload or crash (a deploy, a kill, an OOM kill).${ackNote}`;
        remedy =
          `Check ${server}'s logs and process history at that moment (restart, reload, exit status, \`dmesg\` for the OOM killer). ` +
          `Make restarts and reloads graceful: stop accepting, let in-flight requests finish, then exit (Apache \`apachectl -k graceful\` / \`graceful-stop\`, ` +
          `nginx \`nginx -s reload\` / \`quit\`, an application that handles SIGTERM by draining). Clients can retry idempotent requests that failed this way.`;
      } else if (role === 'proxy') {
        explanation =
          `${members.length} requests to ${server}${about} got no response: the proxy that sent them (${closers}) closed all those upstream connections at once, ${moment}, ${ageNote}. ` +
          `The proxy dropped its in-flight requests: it was restarted, reloaded or crashed, or its own clients went away together.${ackNote}`;
        remedy =
          `Check the proxy's logs at that moment. Make its reloads graceful (let in-flight requests finish before old workers exit), and let clients retry idempotent requests that failed this way.`;
      } else {
        explanation =
          `${members.length} requests to ${server}${about} got no response: their client (${closers}) closed all their connections at once, ${moment}, ${ageNote}. ` +
          `The client gave up on them together: its process exited or was killed, or it cancelled them in one go (a shutdown, a cancelled batch).${ackNote}`;
        remedy = `Look at what the client did at that moment (exit, restart, cancellation). If it was shutting down, let it wait for in-flight requests before exiting.`;
      }
      emit({ server, count: members.length, inferred: {}, explanation, remedy, anomalyIds: members.map((w) => w.finding.id) });
    }

    /**
     * Requests cut by workers killed at a per-request time limit, several at one check of its tick
     * (killedAtTimeLimit), with the server's other cuts at ages within the same tick.
     */
    function diagnoseWorkerKills(server: string, members: readonly Wait[], servedNew: number, cutAgain = 0): void {
      const killed = members.map((w) => ({ ts: w.closeTs, wait: w.wait, frame: w.closeFrame, acked: w.serverAcked }));
      const words = workerKillsDiagnosis(server, requestsAbout(members), killed, servedNew, 'closed', cutAgain);
      emit({ server, count: members.length, ...words, anomalyIds: members.map((w) => w.finding.id) });
    }

    function diagnoseTick(server: string, members: readonly Wait[]): void {
      const ages = members.map((w) => w.wait);
      const lo = Math.min(...ages);
      const hi = Math.max(...ages);
      const acked = members.filter((w) => w.serverAcked).length;
      const about = requestsAbout(members);
      // The timeout is at most the shortest age, and not much shorter than the longest (gunicorn cuts
      // within a second of it, uWSGI's harakiri within two): known defaults in that range are hints.
      const known = KNOWN_REQUEST_TIMEOUTS.filter((k) => k.side === 'server' && k.seconds >= hi - 2 * MAX_TIMER_TICK - 0.05 && k.seconds <= lo + 0.05).map((k) => k.name);
      const knownNote = known.length > 0 ? ` This fits ${known.join('; ')}.` : '';
      const where =
        acked === members.length
          ? 'The server ACKed every one of them: its TCP stack had the requests; the application was still working on them, or hung'
          : `The server ACKed ${acked} of them`;
      emit({
        server,
        count: members.length,
        inferred: {},
        explanation:
          `${members.length} requests to ${server}${about} got no response, and the server side closed each connection ${ms(lo)}–${ms(hi)} s after its request: ` +
          `not at one age, as a precise timer does, but within ${ms(hi - lo)} s of each other. That is a timeout checked on a periodic tick (about once a second): ` +
          `a request is cut some time after the timeout, at the next check, so the timeout is at most ${ms(lo)} s; no single value is inferred. ` +
          `gunicorn's worker timeout works this way: its arbiter checks the workers' heartbeats once a second and kills a sync worker whose request runs longer than \`--timeout\` ` +
          `(30 s by default), counted from the worker's last heartbeat (taken as it accepted the connection): "[CRITICAL] WORKER TIMEOUT (pid:N)" in its error log, ` +
          `0 to 1 s after the timeout; and so does uWSGI's \`harakiri\` (whole seconds, checked by the master once a second: "HARAKIRI ON WORKER" in its log, ` +
          `the worker SIGKILLed up to 2 s after the timeout). The worker's connection closes without a response (nginx in front logs "upstream prematurely closed connection" and answers 502). ${where}.${knownNote}`,
        remedy:
          `Find which component cuts requests after at most ${ms(lo)} s (the server's error log at those moments) and why they take longer: the handler's own timings, a slow dependency. ` +
          `For gunicorn: make the handler faster, or raise \`--timeout\` above the slowest legitimate request (sync workers; gthread workers keep their heartbeat while a handler runs and are not cut by it); for uWSGI, \`harakiri\`; ` +
          `clients (and proxies, e.g. nginx \`proxy_next_upstream\`) can retry idempotent requests that failed this way.`,
        anomalyIds: members.map((w) => w.finding.id),
      });
    }

    /** A proxy's upstream closes at ages in several tight sets within one tick: see diagnose(). */
    function diagnoseProxyTick(server: string, members: readonly Wait[]): void {
      const ages = members.map((w) => w.wait);
      const lo = ms(Math.min(...ages));
      const hi = ms(Math.max(...ages));
      const about = requestsAbout(members);
      const closerIps = [...new Set(members.map((w) => w.closerIp))].slice(0, 3);
      emit({
        server,
        count: members.length,
        inferred: {},
        explanation:
          `${members.length} requests to ${server}${about} got no response, and the proxy that sent them (${proxyCloserText(closerIps, members)}) ` +
          `closed its upstream connection ${lo}–${hi} s after each request: not at one age, but in groups that each agree, within ${ms(hi - lo)} s of each other. ` +
          `That is a proxy read timeout checked on a periodic tick (Traffic Server checks its inactivity timeouts once a second, ` +
          `proxy.config.http.transaction_no_activity_timeout_out; Squid's read_timeout too): a request is cut at the first check after the timeout, so the timeout ` +
          `is at most ${lo} s and more than ${ms(Math.max(0, hi - MAX_TIMER_TICK))} s; no single value is inferred. A proxy that tries the request again ` +
          `right after a check (Traffic Server retries it, proxy.config.http.connect_attempts_max_retries) gives retries that all wait the same.`,
        remedy:
          `Find why ${server} does not answer these requests within ${lo} s: its own request log and timings for these URIs, a hung worker, a slow dependency. ` +
          `Raise the proxy's read timeout only if the backend is legitimately that slow, and keep the clients' own timeouts longer than the proxy's (times its attempts, when it retries).`,
        anomalyIds: members.map((w) => w.finding.id),
      });
    }

    /** Requests still waiting when the capture ended: no close to tell who would have given up, or when. */
    function diagnoseStillWaiting(server: string, members: ReadonlyArray<{ id: string; request: string | null; age: number; acked: boolean; severity: Severity; uncertain: boolean }>): void {
      const n = members.length;
      const lo = Math.min(...members.map((m) => m.age));
      const hi = Math.max(...members.map((m) => m.age));
      const range = ms(lo) === ms(hi) ? `${ms(lo)} s` : `${ms(lo)}–${ms(hi)} s`;
      const about = requestsAbout(members.map((m) => ({ request: m.request, encrypted: null })));
      const acked = members.filter((m) => m.acked).length;
      emit({
        server,
        count: n,
        severity: members.some((m) => m.severity === 'warning') ? 'warning' : 'info',
        inferred: {},
        explanation:
          `${n === 1 ? '1 request' : `${n} requests`} to ${server}${about} had no response yet when the capture ended, ${range} after ${n === 1 ? 'it was' : 'they were'} sent. ` +
          `${ackedText(acked, n)}. The capture ends before anyone gave up, so it shows no timeout: a hung or slow handler, a lock or a slow dependency ` +
          `of the server, or a response that is legitimately long in coming (a long poll).` +
          (members.some((m) => m.uncertain)
            ? ' The capture lost packets, though: these connections went silent with no close on either side, as they do when the capture drops their responses and FINs, so they may have been answered (compare the server\'s access log).'
            : ''),
        remedy:
          `Look at what ${server} was doing with ${n === 1 ? 'this request' : 'these requests'} (its logs, a thread dump, its dependencies); ` +
          `a longer capture shows whether ${n === 1 ? 'it was' : 'they were'} answered late or given up, and by whose timeout.`,
        anomalyIds: members.map((m) => m.id),
      });
    }

    /** The longest the members' clients waited, on the same connections, for answers they took. */
    function longestTaken(members: readonly Wait[]): number {
      let longest = 0;
      for (const w of members) longest = Math.max(longest, w.takenBefore);
      return longest;
    }

    /**
     * Client closes that agree like a timeout's, from clients that had waited longer for other
     * answers of the server's and taken them: no timeout of theirs. They stopped for a reason of
     * their own (ab closes every connection when it gives up on a run; a caller's cancellation).
     */
    function diagnoseStoppedWaiting(server: string, members: readonly Wait[], longer: number): void {
      const n = members.length;
      const lo = Math.min(...members.map((w) => w.wait));
      const hi = Math.max(...members.map((w) => w.wait));
      const range = ms(lo) === ms(hi) ? `${ms(lo)} s` : `${ms(lo)}–${ms(hi)} s`;
      const closers = [...new Set(members.map((w) => w.closerIp))].slice(0, 3).join(', ');
      const acked = members.filter((w) => w.serverAcked).length;
      emit({
        server,
        count: n,
        inferred: {},
        explanation:
          `${n === 1 ? '1 request' : `${n} requests`} to ${server}${requestsAbout(members)} got no response, and ${n === 1 ? 'its' : 'their'} client (${closers}) closed the connection ${range} after ${n === 1 ? 'it' : 'each'}. ` +
          `That is no timeout of the client's: on the same connection${n === 1 ? '' : 's'} it had waited up to ${ms(longer)} s for answers to the same request${n === 1 ? '' : 's'}, and taken them. ` +
          `It stopped waiting for a reason of its own: it gave up on its whole run after an error elsewhere (ab closes every connection when one fails), its caller cancelled the requests, or it exited. ` +
          `The server had ACKed ${acked === n ? (n === 1 ? 'it' : 'all of them') : `${acked} of them`}.`,
        remedy:
          `Look at what the client did at that moment (its log: an error on another connection, a cancellation, its exit); these closes do not say that ${server} was slow.`,
        anomalyIds: members.map((w) => w.finding.id),
      });
    }

    /**
     * Requests nobody answered whose waits agree with no other's: one alone, or several of
     * different lengths. What closed them is said; no timeout is inferred from them. Not for a
     * proxy's waits (see the caller).
     */
    function diagnoseUnagreeing(server: string, role: Exclude<CloserRole, 'proxy'>, members: readonly Wait[]): void {
      const n = members.length;
      const lo = Math.min(...members.map((w) => w.wait));
      const hi = Math.max(...members.map((w) => w.wait));
      const range = ms(lo) === ms(hi) ? `${ms(lo)} s` : `${ms(lo)}–${ms(hi)} s`;
      const closers = [...new Set(members.map((w) => w.closerIp))].slice(0, 3);
      const acked = members.filter((w) => w.serverAcked).length;
      const where = answeredText(members, acked);
      const agents = new ClientAgents();
      for (const w of members) agents.noteIdentity(w.clientAgent, w.clientForwarded);
      const named = agents.describe();
      // Every close the client's FIN, and the server's close right behind it: a half-closing client
      // (shutdown(SHUT_WR), still reading) whose request the server dropped on the FIN looks the same.
      const closedOnFin = role === 'client' && members.every((w) => w.serverClosedOnFin);
      // Unless every client is an HTTP client program its User-Agent names (curl, Go, requests …):
      // those close their connection when they give up, and none shuts down writing while it waits
      // for the response, so the FIN was a close (blind round 15, longlived s07c: curl --max-time 20
      // through nginx, whose 499 closed right behind it, was told "if the client had only half-closed
      // … no timer of the client's was at work" and "do not shut down writing").
      const closesWhole = agents.named > 0 && agents.unnamed === 0;
      const maybeHalfClose = closedOnFin && !closesWhole;
      // Every FIN right behind its request (HALF_CLOSE_GRACE): no client timer is that short, so
      // no timeout of the client's ended the wait, whether it half-closed or closed (a later
      // request of a keep-alive connection, which closeAfter does not take for a half-close:
      // blind round 15 tcpedge s05b, a Node server dropping req2 on the FIN 0.1 ms behind it,
      // had been told to "raise the client's timeout" and why it "did not answer within 0 s").
      const finRightBehind = closedOnFin && members.every((w) => w.wait <= HALF_CLOSE_GRACE);
      const halfCloseNote = maybeHalfClose
        ? ` The server closed right behind the client's FIN ${n === 1 ? '' : 'each time '}without answering: if the client had only half-closed (shutdown(SHUT_WR) after its request, ` +
          `still reading), which the wire cannot tell from a close, the server dropped the request on the FIN, taking it for a disconnect, and no timer of the client's was at work.` +
          (finRightBehind ? ' If it closed, it did so on purpose right after writing, not waiting for the answer.' : '')
        : '';
      const halfCloseRemedy = maybeHalfClose
        ? `If the client half-closes: do not shut down writing before the response is read, or make the server treat end of input as a half-close and still answer. Otherwise: `
        : '';
      // The FIN's delay to the microsecond: `ms` says "0 s" for it.
      const finRange = finRightBehind
        ? `${microsAsMs(Math.min(...members.map((w) => w.wait)))}${members.length > 1 ? `–${microsAsMs(hi)}` : ''} ms`
        : range;
      const notAccepted = role === 'client' ? notAcceptedWords(server, members) : null;
      const paused = role === 'client' && notAccepted === null ? pauseWords(server, members) : null;
      // A proxy by its requests' tells: its timer, not the User-Agent's client's.
      const proxyTells = role === 'client' && members.every(proxyByTellsOnly) ? members.reduce((t, w) => t | w.proxyTells, 0) : 0;
      // A close right behind the request is no timer's, a proxy's no more than the client's.
      const smallHedge = role === 'client' && proxyTells === 0 && !finRightBehind ? mayBeProxyNote(members, server) : '';
      const closer =
        proxyTells !== 0
          ? `the proxy that sent ${n === 1 ? 'it' : 'them'} (${closers.join(', ')}, a proxy by its requests: ${proxyTellsText(proxyTells)}; the User-Agent is its client's, passed on) gave up and closed its upstream connection`
          : role === 'client'
          ? `${n === 1 ? 'its' : 'their'} client (${closers.join(', ')}${named !== '' ? `; ${named}` : ''}) ${maybeHalfClose ? 'sent its FIN (a close, or a half-close)' : 'gave up and closed the connection'}`
          : 'the server side closed the connection';
      emit({
        server,
        count: n,
        inferred: {},
        explanation:
          `${n === 1 ? '1 request' : `${n} requests`} to ${server}${requestsAbout(members)} got no response, and ${closer} ${finRange} after ${n === 1 ? 'it' : 'each'}. ` +
          (finRightBehind
            ? `That FIN came right behind the request, with no wait: no client timeout fires that fast, so none was at work. `
            : `${n === 1 ? 'One wait infers no timeout' : 'Their waits do not agree, so they infer no single timeout'}: ` +
              `${role === 'server' ? 'a server or middlebox timer' : 'a timer'} of about that length, or ${role === 'server' ? 'a server that gave up on the request' : 'a caller that stopped waiting'}, ended ${n === 1 ? 'it' : 'them'}. `) +
          `${where}.${smallHedge}${halfCloseNote}` +
          `${paused?.note ?? ''}${notAccepted?.note ?? ''}`,
        remedy:
          finRightBehind && notAccepted === null && paused === null && proxyTells === 0
            ? `${halfCloseRemedy}${maybeHalfClose ? 'make' : 'Make'} the client read the response before it closes; no timeout needs raising.`
            : (notAccepted?.remedy ?? paused?.remedy ?? `${halfCloseRemedy}${maybeHalfClose ? 'find' : 'Find'} why ${server} did not answer ${n === 1 ? 'this request' : 'these requests'} within ${range} (its logs for ${n === 1 ? 'it' : 'them'}, a hung worker, a slow dependency)`) +
              (proxyTells !== 0
                ? `${notAccepted !== null || paused !== null ? ' R' : '; r'}aise the proxy's upstream read timeout (nginx proxy_read_timeout, HAProxy timeout server, Varnish first_byte_timeout, Squid read_timeout) only if the server is legitimately that slow; its clients got its error status (nginx and HAProxy answer 504).`
                : role === 'client'
                ? `${notAccepted !== null || paused !== null ? ' R' : '; r'}aise the client's timeout only if the server is legitimately that slow (${agents.requestTimeouts()})${smallHedge !== '' ? mayBeProxyRemedy : ''}.`
                : `; find which component closed the connection (${serverCloseTimers(software.of(server), software.softwareOf(server))}), and raise that timeout only if such slow requests are expected.`),
        anomalyIds: members.map((w) => w.finding.id),
      });
    }

    /**
     * The paused process these waits met (server-stalls' pauseOf), worded, when every late answer
     * among them came in its burst; null otherwise (a server slow per request stays so).
     */
    function pauseWords(server: string, members: readonly Wait[]): { note: string; remedy: string; length: number } | null {
      const pause = pauses.get(server);
      if (pause === undefined) return null;
      const inPause = members.filter((w) => pause.members.has(w.flowId)).length;
      if (inPause === 0 || inPause < members.filter((w) => w.lateTs !== null).length) return null;
      const length = pause.burstFirst - pause.from;
      // The pause's other stalled requests: given up on too (in this server's other diagnoses), or
      // answered in the burst to clients that waited longer (still waiting, as the others in it).
      const given = new Set<number>();
      for (const w of waitsByServer.get(server) ?? []) if (pause.members.has(w.flowId)) given.add(w.flowId);
      for (const w of members) given.add(w.flowId);
      const late = Math.max(given.size, inPause);
      const elsewhere = late - inPause;
      const waiting = pause.othersInBurst + pause.members.size - late;
      const spread = fineDuration(pause.burstLast - pause.burstFirst);
      const note =
        ` ${inPause === members.length ? (inPause === 1 ? 'It' : 'Every one') : `${inPause} of them`} got ${inPause === members.length ? 'its' : 'their'} response only after the client had closed, ` +
        (late === 1
          ? `and at one instant with others: the server answered it within ${spread} s of ${waiting} more request${waiting === 1 ? '' : 's'} on other connections that were still waiting`
          : `and all at one instant: the server answered the stalled requests of ${late} connections within ${spread} s of each other` +
            (elsewhere > 0 ? ` (${elsewhere} of them in the server's other unanswered-request diagnoses)` : '') +
            (waiting > 0 ? `, with ${waiting} more request${waiting === 1 ? '' : 's'} on other connections that were still waiting` : '')) +
        `, after answering nothing on any connection from the earliest of them on. ` +
        `The server process was paused, not slow per request: stopped for at least ${ms(length)} s (from the earliest stalled request to that burst) ` +
        `by a SIGSTOP, a stop-the-world GC pause, a stalled VM or swapping, and it answered everything it owed when it resumed.`;
      const remedy =
        `Find what froze ${hostOf(server)}'s server process for ${ms(length)} s: a stop-the-world garbage collection (GC logs: JVM -Xlog:gc, Go GODEBUG=gctrace=1, Node --trace-gc), ` +
        `a SIGSTOP (a debugger or profiler attached, a container freeze: docker pause, the cgroup freezer), the VM stalled or stolen from (vmstat's st column, the hypervisor's logs) ` +
        `or swapping (vmstat si/so); slow dependencies do not answer every client at one instant. Clients whose timeout is shorter than such a pause fail for as long as it lasts.`;
      return { note, remedy, length };
    }

    /**
     * The queue behind a long request these waits were in (server-stalls' queuesOf), worded, when
     * every late answer among them belongs to one; null otherwise (a server slow per request stays so).
     */
    function queueWords(server: string, members: readonly Wait[]): { note: string; remedy: string; upstream: string | null } | null {
      // Each member's queue: its own, or (a proxy's client leg) its forwarded copy's upstream.
      const queueOf = (w: Wait): { queue: Queue; server: string } | null => {
        const own = queues.get(server)?.find((q) => q.members.has(w.flowId));
        if (own !== undefined) return { queue: own, server };
        const up = queuedUpstream.get(w.flowId);
        const q = up === undefined ? undefined : queues.get(up.server)?.find((x) => x.members.has(up.flowId));
        return up === undefined || q === undefined ? null : { queue: q, server: up.server };
      };
      const found = members.map(queueOf);
      const late = members.filter((w) => w.lateTs !== null);
      // Every late answer among them in a queue; with none (a proxy's client leg), every request.
      if (found.every((f) => f === null) || members.some((w, i) => found[i] === null && (w.lateTs !== null || late.length === 0))) return null;
      const mine = [...new Set(found.flatMap((f) => (f === null ? [] : [f.queue])))].sort((a, b) => a.head.requestEnd - b.head.requestEnd);
      const at = found.find((f) => f !== null)?.server ?? server;
      const waitOf = (r: { lateTs: number | null; requestEnd: number }): number => (r.lateTs ?? 0) - r.requestEnd;
      const span = (xs: readonly number[]): string => (ms(Math.min(...xs)) === ms(Math.max(...xs)) ? String(ms(xs[0])) : `${ms(Math.min(...xs))}–${ms(Math.max(...xs))}`);
      const longOnes = mine.flatMap((q) => q.heads);
      const heads = longOnes.map((r) => queuedLines.get(r.flowId) ?? null);
      const queued = mine.flatMap((q) => q.queued);
      // Each queued answer after the answer before it (a head's or a queued one's): its service time.
      const gaps = mine.flatMap((q) => {
        const run = [...q.heads, ...q.queued];
        return q.queued.map((r) => (r.lateTs ?? 0) - (run[run.indexOf(r) - 1].lateTs ?? 0));
      });
      const first = mine[0];
      const workers = Math.max(...mine.map((q) => q.heads.length));
      // A lone head answered right behind an answer on another connection, given after it was sent:
      // that request (its client waited for it, so it is no stalled one here) held the only worker,
      // and the head queued behind it too (blind round 11: gunicorn --workers 1, GET /slow/5).
      const firstAnswer = first.head.lateTs ?? 0;
      const behind =
        longOnes.length === 1 && at === server ? answers.latestDuring(at, first.head.requestEnd, firstAnswer, first.members) : null;
      // Right behind: within about one queued request's service time (twice the longest seen, at least HIDDEN_HEAD_GAP).
      const hiddenHead = behind !== null && firstAnswer - behind <= Math.max(2 * Math.max(...gaps), HIDDEN_HEAD_GAP);
      const headText = hiddenHead
        ? `a request on another connection, answered at ${timeOfDay(behind)} ${ms(firstAnswer - behind)} s before them, held the server: its client waited for it, and ` +
          `${heads[0] !== null ? `${heads[0]}, sent first of these,` : 'the first of these'} queued behind it too, answered ${ms(waitOf(first.head))} s after it was sent`
        : longOnes.length === 1
          ? `${heads[0] !== null ? `${heads[0]}, ` : 'the request '}sent first, held the server for ${ms(waitOf(first.head))} s`
          : `${longOnes.length} long requests (${heads.map((h) => h ?? 'unreadable').slice(0, 3).join(', ')}${heads.length > 3 ? ', …' : ''}), sent first, held the server for ${span(longOnes.map(waitOf))} s each`;
      const waits = first.queued.map(waitOf);
      const note =
        `${headText}; the ${queued.length} requests sent while ${longOnes.length === 1 ? 'it' : 'they'} ran were answered one after another right after, each ${span(gaps)} s ` +
        `after the answer before it (its own service time), in the order they were sent, so their waits shrank in that order (${waits.slice(0, 4).map(ms).join(', ')}${waits.length > 4 ? ', …' : ''} s). ` +
        `They queued: the server ran ${workers === 1 ? 'one request at a time, and the long one held its only worker' : `${workers} requests at once, and the long ones held all ${workers} workers`} ` +
        `(nothing else was answered meanwhile); the others waited, ACKed by the kernel, in the listen backlog or the server's own queue, until a worker was free. ` +
        `A concurrency limit of ${workers} reached: PHP-FPM \`pm.max_children = ${workers}\` (pm = static; "server reached pm.max_children setting" in its log with pm = dynamic or ondemand), ` +
        `gunicorn \`--workers ${workers}\` with sync workers, a thread pool of ${workers} (gunicorn \`--threads\`, Puma \`threads\`, Tomcat \`maxThreads\`).`;
      const remedy =
        (hiddenHead && behind !== null
          ? `Find the long request answered at ${timeOfDay(behind)} on another connection (the server's access log at that moment) and make it faster or take it off the request path (a background job), `
          : `Find the long request${longOnes.length > 1 ? 's' : ''} (${heads.map((h) => h ?? 'unreadable').slice(0, 3).join(', ')}) and make ${longOnes.length > 1 ? 'them' : 'it'} faster or take ${longOnes.length > 1 ? 'them' : 'it'} off the request path (a background job), `) +
        `or give ${at} more concurrency than its slow requests take at once (PHP-FPM \`pm.max_children\`, gunicorn \`--workers\` or \`--threads\` / a gthread or async worker class, a larger thread pool), ` +
        `or a separate pool for the slow endpoints so that they cannot hold up the fast ones. The fast requests were not slow: raising their timeouts only hides the queue.`;
      return { note, remedy, upstream: at === server ? null : at };
    }

    /**
     * The server not accepting new connections these waits met (server-stalls' notAcceptedOf), worded; null otherwise.
     */
    function notAcceptedWords(server: string, members: readonly Wait[]): { note: string; remedy: string; seen: NotAccepted } | null {
      // A proxy whose upstream leg shows the request forwarded had read it: it had accepted the connection.
      const forwarded = (w: Wait): boolean => w.method !== null && legs.forwardedDuring(w.server, w.method, w.uri, w.requestStart, w.closeTs, w.client) !== null;
      const seen = notAcceptedOf(server, members.map((w) => (w.accepted || !w.firstOnConnection || !forwarded(w) ? w : { ...w, accepted: true })), answers);
      if (seen === null) return null;
      const n = members.length;
      if (seen.busyWait !== null) {
        // Busy, not refusing (server-stalls' BUSY_WAIT_SHARE): its answers meanwhile had queued too.
        return {
          note:
            ` ${seen.firstRequests === n ? (n === 1 ? 'It was' : 'Every one was') : `${seen.firstRequests} of them were`} the first request on a new connection, ` +
            `while the server answered ${seen.answeredMeanwhile} requests on ${seen.connectionsMeanwhile} connection${seen.connectionsMeanwhile === 1 ? '' : 's'} it already had in the same window, and none on a connection opened in it; ` +
            `but those answers had waited up to ${ms(seen.busyWait)} s themselves: the server was busy, not refusing connections. One that takes a new connection only when a worker is free ` +
            `(gunicorn sync workers, a single-threaded server, a full thread pool) serves the connections it has one after another and leaves the newest in the listen backlog, ` +
            `their requests ACKed by the kernel and unread, until their turn: these waited there longer than their clients would.`,
          remedy:
            `Give ${server} more concurrency than its busiest moments need (gunicorn \`--workers\` or \`--threads\` / a gthread or async worker class, a larger thread pool, more instances) ` +
            `or make its requests faster; the clients gave up while queued.`,
          seen,
        };
      }
      const note =
        ` ${seen.firstRequests === n ? (n === 1 ? 'It was' : 'Every one was') : `${seen.firstRequests} of them were`} the first request on a new connection, ` +
        `while the server answered ${seen.answeredMeanwhile} requests on ${seen.connectionsMeanwhile} connection${seen.connectionsMeanwhile === 1 ? '' : 's'} it already had in the same window, and none on a connection opened in it: ` +
        `not a slow handler but an application that did not accept() these connections (the kernel completed their handshakes from the listen backlog and ACKed the requests, ` +
        `which nobody read): accept() failing at the file-descriptor limit (EMFILE, "too many open files" in its log) or its accept loop blocked.`;
      const remedy =
        `On ${hostOf(server)}: look for EMFILE / "too many open files" (accept4) in the server's log and compare its open descriptors (\`ls /proc/PID/fd | wc -l\`) with its limit ` +
        `(\`ulimit -n\`, systemd LimitNOFILE, a container's nofile ulimit); raise the limit, or find what holds descriptors (leaked connections or files). ` +
        `If the descriptors are not exhausted, find what blocks the accept loop (a thread dump of the acceptor). ` +
        `The clients' timeouts are not the cause.`;
      return { note, remedy, seen };
    }

    /**
     * Closes of a timer started at the connect that fell at one moment while their waits from the
     * request differed, which alone reads as the client exiting (closeBursts): told as the other
     * reading, behind the timer that the agreeing waits from the SYN name (clients started together).
     */
    function atOnceWords(members: readonly Wait[], timer: InferredValue): string {
      const bursts = closeBursts(members, { fraction: ctx.options.spreadFraction, absolute: ctx.options.spreadAbsolute }).bursts;
      if (bursts.length === 0) return '';
      const n = bursts.reduce((sum, b) => sum + b.length, 0);
      const biggest = bursts.reduce((a, b) => (b.length > a.length ? b : a));
      const lo = ms(Math.min(...biggest.map((w) => w.wait)));
      const hi = ms(Math.max(...biggest.map((w) => w.wait)));
      return (
        ` ${n === members.length ? (n === 2 ? 'Both' : `All ${n}`) : `${n} of them`} closed at one moment (${bursts.length === 1 ? `at ${isoTime(biggest[0].closeTs)}, ` : ''}` +
        `${lo} to ${hi} s after their requests), as a client that exited or cancelled them together would also do; but such an end would cut connections of any age, ` +
        `and these had all waited ${ms(timer.value)} s from their SYNs: clients started together, each giving up at its timeout.`
      );
    }

    /**
     * `timerFromConnect`: the client's timer starts at the connect, and `cluster` is its value
     * counted from the SYN (diagnoseFromConnect); null: `cluster` counts from the request.
     */
    function diagnoseCluster(server: string, role: CloserRole, cluster: InferredValue, members: readonly Wait[], timerFromConnect: InferredValue | null = null): void {
      const lo = Math.min(...members.map((w) => w.wait));
      const hi = Math.max(...members.map((w) => w.wait));
      const acked = members.filter((w) => w.serverAcked).length;
      const closerIps = [...new Set(members.map((w) => w.closerIp))].slice(0, 3);
      const closers = closerIps.join(', ');
      const value = ms(cluster.value);
      const range = ms(lo) === ms(hi) ? `${ms(lo)} s` : `${ms(lo)}–${ms(hi)} s`;
      // The connection was up and the request sent: no connect timeout ended this wait, and a
      // client's own timeout is no server's setting.
      const known = matchKnown(cluster.value, KNOWN_REQUEST_TIMEOUTS)
        .filter((k) => k.connectOnly !== true && (role !== 'client' || k.side !== 'server'))
        .map((k) => k.name);
      const knownNote = known.length > 0 ? ` This matches ${known.join('; ')}.` : '';
      const where = answeredText(members, acked);
      const about = requestsAbout(members);
      // What the server did on its other connections meanwhile may say why (server-stalls).
      const notAccepted = role === 'client' ? notAcceptedWords(server, members) : null;
      const paused = role === 'client' && notAccepted === null ? pauseWords(server, members) : null;
      // An answer right behind the client's close is the server reacting to it (a proxy's 502 as it
      // cancels upstream), which tells nothing of how slow it was.
      const lateAfters = members.flatMap((w) => (w.lateAfter !== null && w.lateAfter - w.wait > CLIENT_FOLLOW_GAP ? [w.lateAfter] : []));
      const queued = role !== 'server' && notAccepted === null && paused === null ? queueWords(server, members) : null;
      // A proxy's client leg: the queue was upstream, where the forwarded copies were answered after the proxy gave up.
      const upstreamQueueNote =
        queued !== null && queued.upstream !== null && !members.some((w) => w.lateAfter !== null)
          ? ` The proxy had forwarded them to ${queued.upstream}, which answered them only after the proxy had given up with its client, and not because it was slow for each: ${queued.note}`
          : '';
      const lateNote =
        lateAfters.length === 0
          ? ''
          : ` ${lateAfters.length === members.length ? (members.length === 1 ? 'It' : 'Every one') : `${lateAfters.length} of them`} ` +
            `${lateAfters.length === members.length ? 'got its' : `got ${lateAfters.length === 1 ? 'its' : 'their'}`} response later, ` +
            `${ms(Math.min(...lateAfters))}${ms(Math.min(...lateAfters)) !== ms(Math.max(...lateAfters)) ? `–${ms(Math.max(...lateAfters))}` : ''} s after the request, ` +
            `when the connection was already closed, and was reset: ` +
            (notAccepted !== null ? 'the server accepted the connection only then.' : queued !== null ? `the server was not hung, and not slow for each: ${queued.note}` : 'the server was slower than the timeout, not hung.');
      let name: string;
      let explanation: string;
      let remedy: string;
      const extra: Record<string, InferredValue> = {};
      /** Retries (retried-request) of these requests, told with them where they change what a resend means. */
      let resends: readonly Finding[] = [];
      /** The client's setting is the wait from the SYN (see fromConnect): that value leads. */
      let leadsFromConnect = false;
      /** Where the timer starts at the connect: the waits from the request, where most agree. */
      let fromRequest: InferredValue | null = null;
      if (role === 'proxy') {
        name = 'proxyReadTimeout';
        // FastCGI requests (a web server's to PHP-FPM): its FastCGI read timeout is the one at work.
        const fastcgi = members.every((w) => w.fastcgi);
        // The proxy known by its requests alone: the capture holds none of its client legs.
        const frontUnseen = members.every(proxyByTellsOnly);
        explanation =
          `${members.length} ${fastcgi ? 'FastCGI ' : ''}requests to ${server}${about} got no response, and the proxy that sent them (${proxyCloserText(closerIps, members)}) ` +
          `closed its upstream connection ${range} after each request: its upstream read timeout is ${value} s (${fastcgi ? FASTCGI_READ_TIMEOUTS : 'nginx proxy_read_timeout, HAProxy timeout server, Varnish first_byte_timeout, Squid read_timeout, Caddy response_header_timeout, Traffic Server transaction_no_activity_timeout_out, h2o proxy.timeout.io, nghttpx --backend-read-timeout, tinyproxy Timeout, lighttpd proxy.server "read-timeout", an ALB idle timeout'}). ` +
          // A proxy also closes its upstream leg when its own client gives up (nginx, proxy_ignore_client_abort off: 499 in its log):
          // a client timeout as fixed as the proxy's reads the same on this leg (blind round 11: curl -m 2 in front of fastcgi_read_timeout 60 s).
          (frontUnseen ? `Unless its own clients gave up at that moment and it closed this leg with them (nginx logs 499 then, and sends no 504): this leg alone cannot tell, its client leg or access log can. ` : '') +
          `${where}.${lateNote} ${frontUnseen ? 'If it was the proxy\'s timer, its' : 'The proxy\'s'} clients got an error at that moment (${fastcgi ? '504 from nginx' : '504 from nginx and HAProxy, 502 from Apache mod_proxy, Go\'s httputil.ReverseProxy and h2o, 503 from Varnish, 504 from Squid, Caddy, Traffic Server and lighttpd; tinyproxy answers nothing'}).${knownNote}`;
        remedy =
          (queued?.remedy ?? `Find why ${server} does not answer these requests within ${value} s: its own request log and timings for these URIs, a hung worker, a slow dependency.`) +
          ` Raise the proxy's read timeout (${fastcgi ? FASTCGI_READ_TIMEOUTS : 'nginx proxy_read_timeout, HAProxy timeout server, Apache ProxyTimeout or ProxyPass `timeout=`, Varnish first_byte_timeout, Squid read_timeout, ' + LIBRARY_PROXY_READ_TIMEOUTS}) only if the backend is legitimately that slow, and keep the clients' own timeouts longer than the proxy's.`;
      } else if (role === 'client') {
        name = 'clientTimeout';
        // Each its connection's first request: the timer may have started at the connect instead.
        // Counted from where it really started, the waits agree more closely: from the other point
        // they also carry the handshake's varying time (round trips, a repeated SYN).
        const sinceConnect = timerFromConnect ?? (members.every((w) => w.sinceConnect !== null)
          ? inferTimeout(members.map((w) => w.sinceConnect ?? 0), { fraction: ctx.options.spreadFraction, absolute: ctx.options.spreadAbsolute, minSamples: members.length })
          : null);
        // Counted from the request, where the timer starts at the connect: told where most agree,
        // inferred only where all do (3 of S15's 4 agreed at 0.192 s by their SYN backoff alone).
        fromRequest = timerFromConnect === null ? null : inferTimeout(members.map((w) => w.wait), { fraction: ctx.options.spreadFraction, absolute: ctx.options.spreadAbsolute, minSamples: Math.floor(members.length / 2) + 1 });
        const connectNote =
          // Markedly closer only (CONNECT_SPREAD_RATIO): on a short path both points agree about as
          // well, and a few microseconds less of spread tell nothing (Python's settimeout after its
          // connect read as curl's --max-time).
          sinceConnect !== null && sinceConnect.spread < cluster.spread && sinceConnect.spread <= CONNECT_SPREAD_RATIO * cluster.spread && ms(sinceConnect.value) !== value
            ? ` Each was the first request on a connection opened for it, and counted from its SYN the waits agree more closely: the client gave up ${ms(sinceConnect.value)} s after it began to connect, the value of a timeout that covers the connect too (curl --max-time, fetch with AbortSignal.timeout).`
            : '';
        // Who the client is, by its requests' User-Agent: its own setting, not every client's.
        const agents = new ClientAgents();
        for (const w of members) agents.noteIdentity(w.clientAgent, w.clientForwarded);
        const named = agents.describe();
        // A client known to start its total timeout before the connect (Go's http.Client.Timeout
        // covers the dial), on connections opened for these requests: its setting is the wait from
        // the SYN, which leads (blind round 15 stacks S11: Client.Timeout 1 s read 0.942 s from the
        // request, 1.005 s from the SYN). Only where the waits from the SYN agree better: where both
        // agree alike (a short path) the handshake tells nothing, and a timer armed at the request
        // (curl's --max-time is not the only setting such a client has) reads as well.
        const fastcgi = members.every((w) => w.fastcgi);
        // Its requests' Host says it may be a proxy (mayBeProxyNote): its wait is not told as its own timer.
        const proxyHedge = mayBeProxyNote(members, server);
        const fromConnect =
          timerFromConnect !== null
            ? ms(timerFromConnect.value)
            : sinceConnect !== null && sinceConnect.spread < cluster.spread && !fastcgi && ms(sinceConnect.value) !== value && agents.timeoutsCoverConnect()
              ? ms(sinceConnect.value)
              : null;
        leadsFromConnect = fromConnect !== null;
        if ((connectNote !== '' || fromConnect !== null) && sinceConnect !== null) extra.clientTimeoutFromConnect = { value: sinceConnect.value, samples: sinceConnect.samples, spread: sinceConnect.spread };
        // What the request's clock says, told with the SYN's: its own value where most agree on one.
        const fromRequestText =
          fromRequest === null
            ? 'while from the request they differ by as much as their connects took (SYNs resent, a listener slow to answer)'
            : fromRequest.samples === members.length
              ? `as from the request (${ms(fromRequest.value)} s), but those whose connect took long agree only from the SYN`
              : `while from the request only ${fromRequest.samples} of them agree (${ms(fromRequest.value)} s): those whose connect took long (SYNs resent, a listener slow to answer) agree only from the SYN`;
        const atOnce = timerFromConnect !== null ? atOnceWords(members, timerFromConnect) : '';
        const resent = resentAfterGivingUp(members, ctx.findings('retried-request'));
        const resentNote =
          resent > 0
            ? ` ${resent} of them ${resent === 1 ? 'was' : 'were'} the client sending a request again by itself, on a new connection, right after it gave up on it ` +
              `(as Ruby's Net::HTTP does once for an idempotent request, \`max_retries\`; see retried-request): its caller waited ${ms(2 * cluster.value)} s or more for one error.`
            : '';
        // A FastCGI client is the web server in front (its leg alone in the capture: the php-fpm
        // host's view): its own read timeout, or its client's abort it passed on, closed the leg;
        // no end client's library timeout is at work on it.
        const gaveUp = fastcgi
          ? `their FastCGI client (${closers}: the web server in front, e.g. nginx fastcgi_pass, Apache mod_proxy_fcgi) closed the connection ${range} after each request: ` +
            `its FastCGI read timeout, or its own client's timeout that it passed on (nginx closes the FastCGI connection when its client goes away, unless fastcgi_ignore_client_abort is on; its other leg tells which), is ${value} s.`
          : fromConnect !== null
          ? `their client (${closers}${named !== '' ? `; ${named}` : ''}) gave up and closed the connection ${fromConnect} s after it began to connect (${range} after each request): ` +
            (timerFromConnect !== null && !(fromRequest !== null && fromRequest.samples === members.length && members.every((w) => w.sinceConnect !== null))
              ? `counted from the SYN they had waited about as long, ${fromRequestText}. That client's timeout covers the connect: ` +
                `it is ${fromConnect} s${proxyHedge !== '' ? ' if it is the program that sent them' : ''}, counted from the SYN${members.some((w) => w.sinceConnect === null) ? ' (on a reused connection, from the request)' : ''}.${atOnce}`
              : `each was the first request on a connection opened for it, and that client's timeout covers the connect, so its request timeout${proxyHedge !== '' ? ', if it is the program that sent them,' : ''} is ${fromConnect} s, counted from the SYN ` +
                `(${timerFromConnect !== null && fromRequest !== null ? ms(fromRequest.value) : value} s from the request).${atOnce}`)
          : proxyHedge !== ''
          ? `their client (${closers}${named !== '' ? `; ${named}` : ''}) gave up and closed the connection ${range} after each request: it waited ${value} s, its request timeout if it is the program that sent them.`
          : `their client (${closers}${named !== '' ? `; ${named}` : ''}) gave up and closed the connection ${range} after each request: its request timeout is ${value} s.`;
        explanation =
          `${members.length} ${fastcgi ? 'FastCGI ' : ''}requests to ${server}${about} got no response, and ${gaveUp}${proxyHedge}` +
          `${fromConnect !== null ? '' : connectNote}${resentNote} ${where}.${paused?.note ?? lateNote}${notAccepted?.note ?? ''}${upstreamQueueNote}${knownNote}`;
        remedy =
          (notAccepted?.remedy ??
            paused?.remedy ??
            queued?.remedy ??
            `Find why ${server} does not answer these requests within ${fromConnect !== null ? `${fromConnect} s of the connect` : `${value} s`} (its logs, a thread dump, slow dependencies).`) +
          (fastcgi
            ? ` Raise the web server's FastCGI read timeout (${FASTCGI_READ_TIMEOUTS}), or its clients' timeouts, only if the backend is legitimately that slow.`
            : ` Raise the client's timeout only if the server is legitimately that slow (${agents.requestTimeouts()})${proxyHedge !== '' ? mayBeProxyRemedy : ''}; if the client retries, make sure the method is safe to repeat.`);
        if (paused !== null) extra.serverPause = { value: paused.length, samples: members.length, spread: 0 };
      } else if (hi <= INSTANT_SERVER_CLOSE) {
        // No timer fires this soon after a request it had not been waiting on: nothing to infer.
        name = '';
        const reused = members.filter((w) => !w.firstOnConnection).length;
        const msText = (seconds: number): string => `${microsAsMs(seconds)} ms`;
        const within = msText(lo) === msText(hi) ? msText(hi) : `${msText(lo).replace(' ms', '')}–${msText(hi)}`;
        explanation =
          `${members.length} requests to ${server}${about} got no response, and the server side closed the connection ${within} after each request, ` +
          `as soon as it had it: too soon for a timeout. Its application took the request and hung up without answering (a handler that closes the connection ` +
          `on an error or on a request it refuses, a worker that dies while its process lives on), or a proxy in front closed for its own reasons.` +
          (reused > 0
            ? ` ${reused === members.length ? (reused === 1 ? 'It was' : 'Each was') : `${reused} of them were`} sent on a reused connection, ` +
              `but the capture shows no idle timer of the server's that the request met (no idle close at that idle age: keepalive-race reports those). ` +
              // Blind round 16, pools S20: HAProxy's client leg alone, each close its backend race's; the remedy sent the reader to logs that hold nothing.
              `If ${server} is a proxy, this is also how HAProxy 2.x and Apache mod_proxy answer a request that was not the first on its client's keep-alive connection ` +
              `when the reused upstream connection they forwarded it on failed under it (a keep-alive race with their backend): they close the client's connection ` +
              `without an answer so that the client may retry, and HAProxy logs nothing for it.`
            : '') +
          ` ${acked === members.length ? `The server ACKed every one of them: its TCP stack had ${members.length === 1 ? 'it' : 'them'}` : where}.`;
        // The client's resends of these requests: the server had each first copy, so a resend of
        // one not idempotent may have applied it twice (curl resent a POST so, blind round 12, S8).
        const flows = new Set(members.map((w) => w.flowId));
        resends = ctx.findings('retried-request').filter((f) => typeof f.evidence.failedFlowId === 'number' && flows.has(f.evidence.failedFlowId));
        const twice = resends.filter((f) => f.evidence.idempotent === false).length;
        if (resends.length > 0) {
          explanation +=
            ` ${resends.length} of them ${resends.length === 1 ? 'was' : 'were'} sent again by the client on a new connection (retried-request)` +
            (twice > 0 ? `, ${twice} not idempotent: the server had had the first copy, so ${twice === 1 ? 'that resend' : 'those resends'} may have applied ${twice === 1 ? 'it' : 'them'} twice.` : '.');
        }
        remedy =
          `Find in ${server}'s own logs what it did with these requests at these moments (an error, a refusal, a crash of the handler) and why it closes instead of answering; ` +
          `a server that must refuse a request should answer it (a 4xx or 5xx with Connection: close). The server may have acted on the request: ` +
          `a client that sends it again by itself (libcurl does, a POST's body included) may apply it twice.` +
          (reused > 0
            ? ` If ${server} is a proxy (HAProxy, Apache mod_proxy), capture its upstream leg as well (on its host, \`-i any\`): a keep-alive race on its reused backend connections shows there, ` +
              `and HAProxy's log has no line for these; fix the backend's idle timeout against the proxy's pool, or let the proxy resend such requests (HAProxy \`retry-on empty-response\` with \`retries\`, for requests safe to replay).`
            : '');
      } else {
        name = 'serverTimeout';
        explanation =
          `${members.length} requests to ${server}${about} got no response, and the server side closed the connection ${range} after each request: ` +
          `a timeout of ${value} s on the server or a middlebox in front of it (request timeout, load-balancer idle timeout) cut them, ` +
          `or its handlers ran that long and their responses were dropped (Go's http.Server closes the connection without a response when a handler outlives its WriteTimeout, which is then shorter). ` +
          `${where}.${knownNote}`;
        remedy =
          `Find which component closes after ${value} s (the server's request/handler timeout, a load balancer's idle timeout) and why the answer takes longer; ` +
          `raise that timeout only if such slow requests are expected. For a Go server: keep http.Server WriteTimeout above the slowest handler, ` +
          `or bound handlers with http.TimeoutHandler, which answers 503 in time instead of closing. ` +
          `A gunicorn sync worker killed at its \`--timeout\` ("[CRITICAL] WORKER TIMEOUT" in its error log) closes this way too, between the timeout and a second later; ` +
          `so does a Node http server's socket timeout (\`server.setTimeout(ms)\` / \`server.timeout\`, or \`req.setTimeout\` in a handler, without a 'timeout' listener that answers), ` +
          `whose socket is destroyed when it has been inactive that long.`;
      }
      emit({
        server,
        count: members.length,
        // The wait from the SYN first where it is the client's setting (see fromConnect).
        inferred: name === '' ? extra : timerFromConnect !== null ? { ...extra, ...(fromRequest !== null && fromRequest.samples === members.length ? { [name]: fromRequest } : {}) } : leadsFromConnect ? { ...extra, [name]: cluster } : { [name]: cluster, ...extra },
        explanation,
        remedy,
        anomalyIds: [...members.map((w) => w.finding.id), ...resends.map((f) => f.id)],
      });
    }

    return {
      onOpen(conn) {
        const clientIp = conn.clientHost;
        const serverIp = conn.serverHost;
        if (clientIp !== serverIp && serverIps.size < MAX_SERVER_IPS) serverIps.add(serverIp);
      },

      onExchange(ex, conn) {
        if (ex.requestStart === null || ex.requestEnd === null) return;
        if (ex.uncertain) {
          // Unanswered as far as the capture shows, but with server bytes missing: an answer the path
          // lost shows so at the client (a hole its ACKs never covered). Judged at the end (holeAnswerOf).
          if (ex.state === 'no-response' && !tracked.has(conn.id)) {
            const previous = conn.app?.recent.find((e) => e.index === ex.index - 1);
            tracked.set(conn.id, {
              ex, afterCloseNotice: previous?.responseClose === true, previous,
              answeredUntil: Math.max(ex.requestEnd, previous?.responseEnd ?? -Infinity),
              lateAnswer: null, encrypted: null, moreUnanswered: 0, moreLines: [],
              lostAnswer: { view: 'hole', bytes: 0, resends: 0, clientResends: 0 },
            });
          }
          return;
        }
        if (ex.state === 'complete' && ex.responseStart !== null) {
          // The connection's latest answer: one the client never acknowledged may have been lost on the path (unackedAnswerOf).
          const slot = conn.id & (TAKEN_SLOTS - 1);
          answeredId[slot] = conn.id;
          answeredEx[slot] = ex;
        }
        const late = ex.state === 'no-response' ? null : lateAnswerOf(ex, conn);
        const waited = ex.responseStart !== null ? ex.responseStart - ex.requestEnd : -1;
        // Only answers slow enough to matter to an open request's note (a tenth of its least age).
        if (waited >= OPEN_NOTED_AFTER / OPEN_SLOWEST_RATIO) {
          const slowest = slowestAnswer.get(conn.serverName);
          if (slowest === undefined ? slowestAnswer.size < MAX_SERVERS : waited > slowest) slowestAnswer.set(conn.serverName, waited);
        }
        if (ex.state === 'complete' && late === null && waited >= 0) {
          const slot = conn.id & (TAKEN_SLOTS - 1);
          if (takenId[slot] !== conn.id) {
            takenId[slot] = conn.id;
            takenWait[slot] = 0;
          }
          if (waited > takenWait[slot]) {
            takenWait[slot] = waited;
            takenMethod[slot] = ex.method;
            takenUri[slot] = ex.uri;
          }
        }
        {
          const slot = conn.id & (TAKEN_SLOTS - 1);
          const count = pathResends(conn);
          const resends = resentId[slot] === conn.id ? count - resentBase[slot] : count;
          resentId[slot] = conn.id;
          resentBase[slot] = count;
          if (resends >= UNREACHED_MIN_RESENDS && ex.state === 'complete' && late === null && waited >= DELAYED_NOTED_AFTER) noteDelayedByPath(ex, conn, waited, resends);
        }
        if (ex.state !== 'no-response' && late === null) return;
        const first = tracked.get(conn.id);
        if (first !== undefined) {
          // The first unanswered request is the one that waited longest; the later ones are counted with it.
          first.moreUnanswered++;
          const line = first.moreLines.length < MAX_REQUESTS_NAMED ? requestLine(ex) : null;
          if (line !== null) first.moreLines.push(line);
          return;
        }
        const previous = conn.app?.recent.find((e) => e.index === ex.index - 1);
        tracked.set(conn.id, {
          ex,
          afterCloseNotice: previous?.responseClose === true,
          previous,
          answeredUntil: Math.max(ex.requestEnd, previous?.responseEnd ?? -Infinity),
          lateAnswer: late,
          encrypted: null,
          moreUnanswered: 0,
          moreLines: [],
        });
      },

      /** Live capture: its clock runs on past the last packet, to when the capture stopped. */
      onClock(now) {
        if (now > captureEnd) captureEnd = now;
      },

      onConnectionEnd(conn) {
        if (conn.lastTs > captureEnd) captureEnd = conn.lastTs;
        segmentSizes.note(conn);
        // Once per connection, at its end (every connection ends before onFinish judges the bursts):
        // its client's last data, or its opening when it sent none.
        noteSent(conn, Math.max(conn.startTs, conn.client.lastDataTs));
        software.note(conn);
        const slot = conn.id & (TAKEN_SLOTS - 1);
        let taken = 0;
        if (takenId[slot] === conn.id) {
          const pending = tracked.get(conn.id);
          if (pending !== undefined && pending.ex.method === takenMethod[slot] && pending.ex.uri === takenUri[slot]) taken = takenWait[slot];
          takenId[slot] = -1;
          takenMethod[slot] = null;
          takenUri[slot] = null;
        }
        {
          // A refused connection (as connection-refused tells it): the server's listener was gone then.
          const c = conn.client;
          const s = conn.server;
          if (c.synTimes.length > 0 && s.synAckCount === 0 && s.rstTs >= c.synTimes[0] && s.payloadBytes === 0) {
            let list = refusalsByServer.get(conn.serverName);
            if (list === undefined && refusalsByServer.size < MAX_SERVERS) refusalsByServer.set(conn.serverName, (list = []));
            if (list !== undefined) {
              // The most recent ones matter (each is judged against the closes just before it): drop the older half when full.
              if (list.length >= MAX_REFUSALS_PER_SERVER) list.splice(0, MAX_REFUSALS_PER_SERVER >> 1);
              list.push(s.rstTs);
            }
          }
        }
        resentId[slot] = -1;
        const delayed = delayedByConn.size > 0 ? delayedByConn.get(conn.id) : undefined;
        if (delayed !== undefined) delayedByConn.delete(conn.id);
        const t = tracked.get(conn.id) ?? (conn.app?.tls != null ? encryptedTracked(conn) : undefined);
        const answered = answeredId[slot] === conn.id ? answeredEx[slot] : null;
        answeredId[slot] = -1;
        answeredEx[slot] = null;
        if (t === undefined && answered !== null) {
          const lost = unackedAnswerOf(conn, answered);
          if (lost !== null) {
            if (!claimedElsewhere(conn.id)) report(conn, lost.t, lost.close, false, 0, null);
            return;
          }
        }
        if (t === undefined) {
          // Every exchange answered: the last answer may have met a client that had given up.
          const gaveUpOn = conn.client.rstTs >= 0 ? judgeResetOnArrival(conn) : null;
          if (delayed !== undefined && delayed.ex !== gaveUpOn) reportDelayedByPath(conn, delayed.ex, delayed.waited, delayed.resends);
          return;
        }
        if (delayed !== undefined) reportDelayedByPath(conn, delayed.ex, delayed.waited, delayed.resends);
        tracked.delete(conn.id);
        if (t.lostAnswer != null) {
          const lost = holeAnswerOf(conn, t);
          if (lost === null) return;
          t.lostAnswer = lost;
        } else if (t.lateAnswer === null && t.encrypted === null) {
          t.lostAnswer = aheadAnswerOf(conn, t);
        }
        if (t.afterCloseNotice) return;
        // The path dropped the large segments of this connection (pmtu-blackhole reports it): an
        // answer that left in them never arrived, or the request's own did not; no application hung.
        if (blackHoleOf(conn) !== null) return;
        const ex = t.ex;
        const requestEnd = ex.requestEnd ?? 0;
        const s = conn.server;
        // Answered late and reset, the client's FIN having left only behind its resent request: its
        // close is not when it gave up, which the capture does not show (blind round 11, S4c40).
        if (t.lateAnswer !== null && t.encrypted === null && finQueuedBehindResends(conn, requestEnd) && judgeResetOnArrival(conn, true) !== null) return;
        // What the capture cannot vouch for: a one-sided capture (nothing from the server at all),
        // server bytes it missed (the response may be in them), or server bytes after the request
        // that did not parse as a response (something did answer).
        // (A late answer is such bytes: it is judged by the client's reset of it below.)
        // Server bytes lost from the capture could hide an answer; bytes the snaplen cut from seen segments cannot.
        // (An encrypted request's answer was judged from the server's records: its tickets and alerts are no answer.)
        // Lost bytes that all lie before the request (inside an earlier download: holesBefore) hide no
        // answer to it; bytes unseen before the server's RST (Endpoint.unseenBeforeRst) may be it.
        if (s.packets === 0 || ((s.lostBytes > 0 || s.unseenBeforeRst) && !lostBeforeRequest(ex, conn)) || (t.lateAnswer === null && t.encrypted === null && s.lastDataTs > t.answeredUntil)) return;
        // The server had closed (FIN) before the request was complete: a keep-alive race.
        if (s.finTs >= 0 && s.finTs <= requestEnd) return;
        // A FIN the capture dropped, which sequence numbers prove (Endpoint.finUnseen): when the
        // server closed, against the request, cannot be told (before it: a race; after: unanswered).
        if (s.finTs < 0 && s.finUnseen) return;
        const { close, halfClosed } = closeAfter(conn, requestEnd, ex.index, t.encrypted !== null);
        // A request whose head the snaplen cut may not have been all sent (slow-clients-server-timeouts:
        // a PUT's body stalled, then the server's client_body_timeout; a slow client's head). A client
        // that gave up and closed had sent what it meant to (clients write a request whole): only a
        // wait the client ended is proven, or a bodiless request sent whole (cutRequestSentWhole).
        if (ex.requestCut === true && (close === null || close.by !== 'client') && !cutRequestSentWhole(ex, conn)) return;
        if (t.lateAnswer !== null) {
          // The client must have closed first, and then refused the response: a client that had
          // only half-closed ACKs it and reads it (silent), one whose socket is gone resets it.
          if (close === null || close.by !== 'client' || close.ts >= t.lateAnswer.ts) return;
          if (conn.client.rstTs < t.lateAnswer.ts) return;
        }
        if (close === null) {
          // Released at the connection cap: the analysis let it go, the connection did not go
          // silent (its answer may come after, on the same 4-tuple: Connection.resumedAfterRelease).
          if (conn.endReason === 'evicted') return;
          // An HTTPS connection still open with the client's last turn unanswered may be a stream or
          // a WebSocket as well as a request: not reported as open.
          if (t.encrypted !== null) return;
          if (open.length < MAX_OPEN_KEPT) {
            open.push({
              ex, endReason: conn.endReason, flowId: conn.id, client: conn.clientName, server: conn.serverName,
              serverAcked: peerAckedAll(conn.client, s), serverZeroWindow: s.zeroWindowCount > 0,
            });
          }
          return;
        }
        if (close.by === 'server') {
          // Resent, never ACKed, then the client fell silent: the request never reached the server.
          const resends = t.encrypted === null && t.lateAnswer === null ? unreachedResends(conn, requestEnd, close) : 0;
          if (resends > 0) {
            if (!claimedElsewhere(conn.id)) reportUnreached(conn, ex, close, resends);
            return;
          }
          // On HTTPS, a later turn may be a WebSocket message after its upgrade (browsers offer only
          // http/1.1 for one), which nobody answers until an idle timeout closes the connection:
          // only a connection's first turn, a request for sure, is judged when the server closed.
          if (t.encrypted !== null && t.encrypted.index > 1) return;
          // The server closed a reused connection whose previous response's Connection field the
          // snaplen cut off, without having forwarded the request (as a proxy): its idle timer
          // meeting the request (a keep-alive race, which keepalive-race cannot judge either) or an
          // announced close. Not an unanswered request.
          const previous = t.previous;
          const closeUnseen = previous !== undefined && previous.responseCloseUnknown === true && closeMayBeAnnounced(previous, conn);
          if (closeUnseen && legs.forwardedBefore(conn, ex, close.ts) === null) return;
          if (close.with === 'RST') return; // reset-before-response
          // FIN, then RST for the request: it met a closed socket. (After a close_notify, a RST
          // that follows the client's own close answers that close: Go resets what it had not read.)
          if (s.rstTs > close.ts && !(t.encrypted !== null && clientClosedBetween(conn, close.ts, s.rstTs))) return;
          // Closed without having the request: a crossing.
          if (!(t.encrypted !== null ? t.encrypted.serverAcked : peerAckedAll(conn.client, s))) return;
        }
        // A close no timer made: the server's right after its own response, or after the client's FIN.
        const ended = t.lateAnswer === null && t.encrypted === null ? endingOf(conn, t, requestEnd) : null;
        if (ended !== null) {
          if (!claimedElsewhere(conn.id)) report(conn, t, ended.close, halfClosed || ended.ending === 'onClientFin', taken, ended);
          return;
        }
        if (claimedElsewhere(conn.id)) return;
        report(conn, t, close, halfClosed, taken, null);
      },

      onFinish() {
        // keepalive-race has judged its held closes on arrival by now (it runs first).
        const pairing: DeferredWait[] = [];
        const toGateway = gatewayClaims.ownedUpstreamFlows(legs, ctx.options.spreadAbsolute);
        for (const d of deferred) {
          // The upstream leg of a read timeout gateway-timeout owns (the proxy gave up and answered its
          // client 504): the same failure as that 504, whose diagnosis lists this finding (diagnose:
          // ProxyWaitsLeft). Counted once, there: info here, as syn-unanswered does a connect timeout's
          // SYNs (blind round 17 nightly s03: 2 × 504 counted as 4 errors).
          if (d.wait.closedBy === 'client' && toGateway.has(d.wait.flowId)) {
            d.input.severity = 'info';
            d.input.evidence.proxyReadTimeout = true;
          }
          if (claimedElsewhere(d.input.flowId ?? -1)) continue;
          const r = d.recheck;
          if (r !== undefined && legs.loopsBack(legs.settled(r.copy), r.front)) {
            // No copy after all: the server's own close of a request nobody forwarded.
            if (d.input.data !== undefined) d.input.data.acked = ackNote(d.wait.serverAcked, r.zeroWindow);
            d.input.evidence.forwardedOnFlow = null;
            d.input.evidence.forwardedTo = null;
            d.wait.failedUpstream = null;
          }
          if (d.upstreamCause === true && d.input.partOf === undefined) foldIntoUpstream(d);
          if (d.pairLater === true) pairing.push(d);
          else addWait(ctx.report(d.input), d.wait);
        }
        deferred.length = 0;
        pairLegs(pairing);
        /** What was still waiting at the end, by server: one diagnosis each. */
        const waiting = new Map<string, Array<{ id: string; request: string | null; age: number; acked: boolean; severity: Severity; uncertain: boolean }>>();
        // A connection that went silent after its request, with no close on either side, in a
        // capture that dropped packets (anywhere: these connections show no gap, their response
        // and FINs may all have been dropped): the silence may be the capture's, so a note.
        const lossy = ctx.captureLossKnown();
        for (const o of open) {
          const ex = o.ex;
          const requestEnd = ex.requestEnd ?? 0;
          const age = captureEnd - requestEnd;
          if (claimedElsewhere(o.flowId)) continue;
          const slowest = slowestAnswer.get(o.server);
          const young = age < ctx.options.openRequestAge;
          // Young, only what the server's application had (ACKed) and sat on: a request the server
          // never took in is the accept queue's or the window's (their detectors say so).
          if (young && (!o.serverAcked || age < OPEN_NOTED_AFTER || (slowest !== undefined && age < OPEN_SLOWEST_RATIO * slowest))) continue;
          const line = requestLine(ex);
          const finding = ctx.report({
            flowId: o.flowId,
            client: o.client,
            server: o.server,
            ts: ex.requestStart ?? requestEnd,
            severity: young || lossy ? 'info' : 'warning',
            message: young ? 'openSlow' : 'open',
            data: {
              request: line ?? 'a request',
              when: o.endReason === 'capture-end' ? 'the capture ended' : 'its connection was given up as silent',
              wait: ms(age),
              slowest:
                slowest === undefined
                  ? `where no other request to ${o.server} in this capture waited ${OPEN_NOTED_AFTER / OPEN_SLOWEST_RATIO} s for its answer`
                  : `where ${o.server} answered every other request in this capture within ${ms(slowest)} s`,
              acked: ackNote(o.serverAcked, o.serverZeroWindow) + (lossy ? `; ${captureLossNote('capture')}` : ''),
            },
            evidence: {
              ...requestEvidence(ex, line, requestEnd),
              waitSeconds: ms(age),
              closedBy: null,
              closedWith: null,
              serverAcked: o.serverAcked,
              serverZeroWindow: o.serverZeroWindow,
              open: true,
              endReason: o.endReason,
              ...(lossy ? { uncertain: true, captureLoss: 'capture' } : {}),
            },
            frames: [ex.requestFrame ?? 0],
          });
          const mine = waiting.get(o.server) ?? [];
          if (mine.length === 0) waiting.set(o.server, mine);
          mine.push({ id: finding.id, request: line, age, acked: o.serverAcked, severity: finding.severity, uncertain: lossy });
        }
        open.length = 0;
        for (const [server, members] of waiting) diagnoseStillWaiting(server, members);
        for (const [server, members] of gaveUpUnseenByServer) diagnoseGaveUpUnseen(server, members);
        for (const [server, members] of unreachedByServer) diagnoseUnreached(server, members);
        reportRelays();
        diagnose();
        // Relays whose upstream finding no diagnosis listed (none is expected): one of their own per proxy, so none goes unexplained.
        const unlisted = [...relaysByAnchor.values()].flat();
        relaysByAnchor.clear();
        const byProxy = new Map<string, Array<{ relay: BackendCloseRelay; finding: Finding }>>();
        for (const r of unlisted) {
          const list = byProxy.get(r.finding.server);
          if (list === undefined) byProxy.set(r.finding.server, [r]);
          else list.push(r);
        }
        for (const [server, members] of byProxy) {
          ctx.diagnose({
            server,
            count: members.length,
            inferred: {},
            explanation: `${members.length} request(s) to the proxy ${server} failed because its backend closed the forwarded request without a response.${relayWords(members.map((m) => m.relay))}`,
            remedy: 'Find why the backend closed those connections without answering (see the findings on its connections): a worker killed at a time limit, a crash, a handler past its write timeout.',
            anomalyIds: members.map((m) => m.finding.id),
          });
        }
      },
    };
  },
};
