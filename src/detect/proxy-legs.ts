import { exactStatus, type HttpExchange } from '../http/exchange';
import type { AnalyzedConnection } from './analyzed-connection';
import type { DetectContext, EventFollower } from './detector';
import { closeMayBeAnnounced, hostOf, lossFromOf, lossToOf, roundTripToServer } from './facts';
import type { InferredValue } from './finding';
import { atOneMoment, BurstSpan, burstSpans, closeBurstRuns, inferTimeout, keepLongestReuse, keptLongerThan, median } from './infer-timeout';
import { OtherConnections } from './other-connections';
import { proxyTellsOf } from './proxy-tells';
import { type ForwardQuestion, RequestCopies } from './request-copies';
import { REQUEST_INDEX, RememberedRequest, RequestIndex } from './request-index';
import { proxyKey, rootMountPrefix, sameTarget } from './request-target';
import { firstAtOrAfter } from './sorted-search';

/**
 * The two legs of a proxy, as far as one capture shows them. A proxy is an address that is a
 * server in some flows (clients on other addresses connect to it: the downstream leg) and a client
 * in others (it connects to backends: the upstream leg). When both legs are in the capture, a
 * request the proxy failed (5xx, or a close without a response) can be paired with what the proxy
 * did upstream meanwhile:
 *
 * - `read`: it forwarded the request and the backend had not answered when the proxy gave up
 *   (an upstream read timeout: gateway-timeout);
 * - `connect`: it opened a backend connection that never carried the request (connect timeout);
 * - `opaque`: it had upstream traffic during the wait that is not readable HTTP (TLS to the
 *   backend): the request may have gone that way, what became of it cannot be told;
 * - `answered`: the backend answered first (the proxy relayed the backend's own failure);
 * - `none`: it sent no SYN and no request upstream at all (queued until a queue or connect-slot
 *   timeout: no-upstream-connect);
 * - `invisible`: the capture shows no upstream traffic from that address: the leg cannot be told.
 *
 * A proxy may connect to its backends from another address than the one it listens on (a host
 * with a client-facing and a backend-facing interface, two network namespaces joined by a
 * router). That address is learned from what it sends: its requests copy the requests the
 * proxy received — same method and URI, sent while the client's request was waiting, by a host
 * other than that client, to another server (see RequestCopies). For that, the connections
 * of addresses that serve nothing are remembered (OtherConnections), and the requests of all
 * connections are those of the shared RequestIndex.
 *
 * Every detector that asks about proxies (gateway-timeout, no-upstream-connect, unanswered-request,
 * keepalive-race, intermittent-5xx, connection-refused) shares one instance per analysis
 * (sharedProxyLegs), which the engine hands every event once (it follows events: see
 * EventFollower), so they agree on which failures belong to whom.
 * Everything kept is bounded: legs and requests per proxy address, proxy addresses, failures.
 */

/** A request the proxy sent upstream. */
export interface LegRequest {
  leg: UpstreamLeg;
  index: number;
  method: string | null;
  uri: string | null;
  start: number;
  end: number | null;
  frame: number | null;
  responseStart: number | null;
  status: number | null;
  /** HttpExchange.statusClass: the snaplen cut the status line. */
  statusClass?: string;
  /** The proxy sent its head but not all of its body (unfinishedBody); undefined otherwise. */
  bodyUnfinished?: true;
  /** What in the request says a proxy sent it (proxyTellsOf: TELL_* bits); undefined for none, or not known. */
  proxyTells?: number;
}

/** A connection from a proxy address to a backend. */
export interface UpstreamLeg {
  flowId: number;
  client: string;
  server: string;
  /** When the connection began (its SYN, or its first packet mid-stream), and that frame. */
  openTs: number;
  openFrame: number;
  /** The backend answered the handshake (or sent anything). Known once the connection ended. */
  established: boolean;
  /**
   * The capture holds no SYN of it: it began before the capture, or only its end is in it (a lone
   * RST, as `-i any` keeps of a connection now and then). Known once the connection ended;
   * undefined when its SYN was seen.
   */
  midStream?: true;
  /** First FIN or RST from either side, Infinity while open (and for connections open at capture end). */
  closeTs: number;
  closeFrame: number;
  closedBy: 'proxy' | 'backend' | null;
  closedWith: 'FIN' | 'RST' | null;
  requestCount: number;
  /**
   * A response on it had its Connection field cut off by the snaplen (HttpExchange.responseCloseUnknown):
   * whether the backend closed it idle or as announced cannot be judged.
   */
  closeTermsUnseen: boolean;
  /**
   * A response on it was still arriving when the connection ended (HttpExchange state
   * `response-incomplete`): closed by the proxy, it gave up on that response (its read timeout
   * while the backend stalled mid-body), which is no idle close of its own.
   */
  cutMidResponse: boolean;
  /** Its requests were FastCGI (HttpExchange.protocol): the proxy's FastCGI timeouts are the ones at work. */
  fastcgi: boolean;
  /** Payload bytes the proxy sent on it, and when (first/last), known once the connection ended. */
  proxyBytes: number;
  proxyDataFrom: number;
  proxyDataTo: number;
  /**
   * When bytes of it that the capture lost were sent, either way (Endpoint.lossFromTs/lossToTs of
   * both ends; -1, -1: none), known once the connection ended: what the proxy did on it then,
   * a request forwarded or answered, cannot be told.
   */
  lossFrom: number;
  lossTo: number;
  /** The connection's last packet, known once it ended (not kept for connections from another address). */
  lastTs?: number;
  /**
   * The backend's FIN closed it with its kernel's RST right behind (within RESET_BEHIND_FIN): it
   * closed with a request unread, as an idle timer that meets a request does. Known once the
   * connection ended (not kept for connections from another address).
   */
  resetBehindFin?: boolean;
}

/** A RST this soon after the backend's FIN is its kernel's, for bytes that reached a socket closed with them unread (seconds). */
const RESET_BEHIND_FIN = 0.05;

/** One more attempt upstream for the same client request, after the previous one gave up. */
export interface UpstreamAttempt {
  leg: UpstreamLeg;
  /** The copy of the request it carried (read phase), or null for a connection that never carried it (connect phase). */
  request: LegRequest | null;
}

/** How the proxy failed a client's request. */
export type FailureHow = 'status' | 'FIN' | 'RST';

/** A request a server answered 502/503/504, or closed (FIN/RST) without answering. */
export interface DownstreamFailure {
  flowId: number;
  index: number;
  client: string;
  server: string;
  serverIp: string;
  method: string | null;
  uri: string | null;
  requestStart: number;
  requestEnd: number | null;
  requestFrame: number | null;
  /** The 5xx response's first byte, or the server's close. */
  failTs: number;
  failFrame: number;
  how: FailureHow;
  status: number | null;
  /** failTs − end of the request (its start when it did not finish): how long the proxy tried. */
  delay: number;
  /** The 5xx's reason phrase (`connect failed`: Traffic Server's connect attempts), null without one or for a close. */
  reason: string | null;
  /** The client had sent the request's head but not all of its body when it failed (unfinishedBody), else null. */
  bodyShort: UnfinishedBody | null;
}

/** A request whose head was sent whole and whose body was not: the body bytes that came, and the Content-Length declared (null: chunked). */
export interface UnfinishedBody {
  sent: number;
  declared: number | null;
}

/**
 * The body a request's client (or a proxy forwarding it) began and never finished, or null: its
 * head complete, the exchange still request-incomplete when it ended (a response, a close or the
 * capture's end came first). A head the snaplen cut (requestCut) hides its length: no verdict.
 */
export function unfinishedBody(ex: HttpExchange): UnfinishedBody | null {
  if (ex.state !== 'request-incomplete' || ex.requestHeadUnfinished === true || ex.requestCut === true || ex.uncertain) return null;
  return { sent: ex.requestBodyBytes, declared: ex.requestLength ?? null };
}

/**
 * What the proxy was doing upstream for a failed request: waiting for an answer to the request it
 * forwarded (read), for a connection (connect), nothing after an answer (answered), traffic that
 * is not HTTP (opaque), nothing at all (none); its upstream side not in the capture (invisible),
 * or in it but with bytes the capture lost while the request waited (lost: a forwarded request or
 * its answer may be among them, so "nothing upstream" cannot be said).
 */
export type LegPhase = 'read' | 'connect' | 'answered' | 'opaque' | 'none' | 'invisible' | 'lost';

export interface PairedFailure {
  failure: DownstreamFailure;
  phase: LegPhase;
  /** The upstream connection that carried (or was opened for) the request. */
  leg: UpstreamLeg | null;
  legRequest: LegRequest | null;
  /** The upstream request has the same method and URI as the client's (not just the same time). */
  uriMatched: boolean;
  /** Established proxy→backend connections open when the client's request arrived, and at most during the wait. */
  concurrentAtRequest: number;
  concurrentMaxDuringWait: number;
  /**
   * The proxy's further attempts for this request after the paired one gave up, in order: each on a
   * new upstream connection opened after the previous attempt ended (Traffic Server retries a
   * request whose connect or read timed out, `connect_attempts_max_retries` times). Empty: one attempt.
   */
  retries: UpstreamAttempt[];
  /**
   * Phase none, answered at once: a pooled upstream connection the backend closed idle (its FIN,
   * nothing of the proxy's after its last data) just before the request arrived or while it waited
   * (stalePickOf). The proxy's pool picked it, found it closed before writing, and failed the
   * request: the backend's idle-close race, though no request of it went upstream. Null otherwise.
   */
  staleLeg: UpstreamLeg | null;
}

/**
 * How long before a request's arrival a backend's idle FIN may have reached the proxy and still
 * be unread when its pool picked that connection (seconds): the FIN is read in a later turn of
 * the proxy's event loop than the request that takes the connection. Node's agent failed requests
 * whose connection's FIN had arrived 0.6-0.8 ms before them (blind proxies, race-both).
 */
export const STALE_PICK_LEAD = 0.01;
/**
 * A failure answered later than this after its request (seconds) was no pick of a closed
 * connection, which fails at once (3-6 ms for Node's agent), but a wait for something: a long
 * wait would meet some idle close of a busy pool by chance.
 */
export const STALE_PICK_FAILS_WITHIN = 0.1;

/**
 * A 502 answered this soon after the request (seconds) was no upstream timeout and no backend's own
 * time: the proxy failed it at the pace of a local failure, its upstream connection reset or closed
 * under the request (a pooled connection the backend had just closed idle) or refused. Timeouts and
 * handlers killed at a time limit take whole seconds or hundreds of ms; a refused connect or a reset
 * pooled connection a few ms.
 */
export const FAST_GATEWAY_FAILURE = 0.1;

/** Statuses a proxy gives when it could not get an answer from upstream. */
export function isGatewayStatus(status: number | null): boolean {
  // null first: compiled on statuses, a comparison of null with a number threw the code away.
  return status !== null && (status === 502 || status === 503 || status === 504);
}

/**
 * tinyproxy 1.11 answers `500 Unable to connect` when its connect to the backend fails
 * (connect-timeout-tinyproxy). A 500 is an application's error as often as not, so it counts as a
 * proxy's failure only from an address seen connecting upstream, and only when pairing finds the
 * proxy's connect attempt during the wait (phase connect).
 */
const CONNECT_FAILURE_STATUS = 500;

/**
 * How soon after an upstream answer arrived (seconds) the proxy's answer to one of its own clients
 * counts as that answer relayed: a proxy passes a response head on as it reads it (HAProxy and
 * nginx within a millisecond, a busy one within some).
 */
const RELAY_LAG = 0.05;

const MAX_PROXIES = 1_000;
/** Unanswered connect attempts kept for unansweredConnectChain (the latest). */
const MAX_UNANSWERED_ATTEMPTS = 10_000;
/** Later unanswered attempts looked at for one failure's chain (a SYN flood during the wait must not make pairing quadratic). */
const MAX_UNANSWERED_SIBLINGS = 256;
/** Attempts one failed request may have made upstream, at most (HAProxy's `retries` is 3 by default). */
const MAX_CHAINED_ATTEMPTS = 10;
/** How far an attempt may lie from its place in a chain at a fixed interval (a fraction of the interval): timers fire a few ms late. */
const CHAIN_TOLERANCE = 0.05;
/**
 * How soon after a request arrived a proxy opens its upstream connection for it (seconds): at once,
 * once it has read the head (HAProxy, nginx); a chain of attempts must begin within this.
 */
const FIRST_CONNECT_LEAD = 0.1;
const MAX_SERVER_IPS = 100_000;
const MAX_LEGS_PER_PROXY = 10_000;
const MAX_REQUESTS_PER_PROXY = 20_000;
const MAX_FAILURES = 20_000;
/**
 * Requests loopsBack looks at over one analysis, at most (some tens of ms of work). A storm of failures
 * on one URI through a proxy on one host (every failure's candidates against every request of
 * that URI) would otherwise be quadratic; past it, copies are paired as before it existed.
 */
const LOOP_SCAN_BUDGET = 4_000_000;
/** A proxy's latest requests looked at per mount question (seenMount), and mount answers kept. */
const MOUNT_SCAN = 2_048;
const MAX_MOUNT_ANSWERS = 1_024;
/** Requests seenMount may look at in one analysis: asked as connections end, a storm must not make it quadratic. */
const MOUNT_SCAN_BUDGET = 200_000;
/** Servers whose idle closes are kept (reloadDuring), and closes kept per server (the latest). */
const MAX_IDLE_CLOSE_SERVERS = 1_000;
const MAX_IDLE_CLOSES_PER_SERVER = 512;

/** When a server closed idle connections (FIN after its last response, nothing from the client since), and how long each had been idle. */
interface IdleCloses {
  ts: number[];
  age: number[];
}

interface ProxyRecord {
  legs: UpstreamLeg[];
  requests: LegRequest[];
  /**
   * The same requests by method and URI, kept beside them once asked for (forwardedDuring is
   * asked as connections end: a scan of every request each time made a failure storm quadratic).
   */
  byKey?: Map<string, LegRequest[]>;
}

/** Appends a request to a proxy's record, bounded like pushBounded, keeping its byKey view. */
function addRecordRequest(record: ProxyRecord, r: LegRequest, cap: number): void {
  const dropping = record.requests.length >= cap;
  pushBounded(record.requests, r, cap);
  if (record.byKey === undefined) return;
  if (dropping) {
    record.byKey = undefined; // made again at the next question
    return;
  }
  const key = proxyKey(r.method, r.uri);
  const list = record.byKey.get(key);
  if (list === undefined) record.byKey.set(key, [r]);
  else list.push(r);
}

function requestsByKey(record: ProxyRecord): Map<string, LegRequest[]> {
  if (record.byKey === undefined) {
    const byKey = new Map<string, LegRequest[]>();
    for (const r of record.requests) {
      const key = proxyKey(r.method, r.uri);
      const list = byKey.get(key);
      if (list === undefined) byKey.set(key, [r]);
      else list.push(r);
    }
    record.byKey = byKey;
  }
  return record.byKey;
}

interface PendingNoResponse {
  ex: HttpExchange;
}

/** Appends, dropping the older half when full (amortised O(1), bounded). */
function pushBounded<T>(list: T[], item: T, cap: number): void {
  if (list.length >= cap) list.splice(0, cap >> 1);
  list.push(item);
}

/** The name under which detectors share one ProxyLegs per analysis (`ctx.shared`). */
export const PROXY_LEGS = 'proxy-legs';

/** The analysis's ProxyLegs, made at the first detector that asks (with the shared request index). */
export function sharedProxyLegs(ctx: Pick<DetectContext, 'shared'>): ProxyLegs {
  return ctx.shared(PROXY_LEGS, () => new ProxyLegs(ctx.shared(REQUEST_INDEX, () => new RequestIndex())));
}

export class ProxyLegs implements EventFollower {
  /** Addresses seen as a server to a client on another address. */
  private readonly serverIps = new Set<string>();
  private readonly proxies = new Map<string, ProxyRecord>();
  /** Upstream legs still in the flow table, by flow id. */
  private readonly live = new Map<number, UpstreamLeg>();
  /** First unanswered request per live connection, resolved when the connection ends. */
  private readonly pending = new Map<number, PendingNoResponse>();
  private readonly failures: DownstreamFailure[] = [];
  /** Ended connections from addresses that serve nothing: candidates for a proxy's other address. */
  private readonly others = new OtherConnections();
  /** Upstream legs learned for a proxy address that connects from another address (null: none), by proxy address. */
  private readonly viaOtherAddress = new Map<string, ProxyRecord | null>();
  /** What copies what among the requests of the index, and the index snapshot it was made from. */
  private requestCopies: RequestCopies | null = null;
  private copiesOf: readonly RememberedRequest[] | null = null;
  /** Idle closes by server endpoint ("ip:port"): a reload's burst of them (reloadDuring). */
  private readonly idleCloses = new Map<string, IdleCloses>();
  /** The longest idle gaps after which each server answered a reuse (keepLongestReuse): closes of younger connections at one moment were no timer's. */
  private readonly longestReuses = new Map<string, number[]>();
  /** reloadSpans' result per server, and the count of events followed when it was made. */
  private readonly spansMade = new Map<string, { atEvent: number; spans: BurstSpan[] }>();
  /**
   * Connect attempts never answered (no SYN-ACK, no RST, not a byte either way) from addresses that
   * serve nothing, as they ended (unansweredConnectChain): a proxy's upstream attempts to a dead or
   * filtered backend, from an address no forwarded request made known.
   */
  private readonly unanswered: UpstreamLeg[] = [];
  /** Attempts added to `unanswered` so far, and that count when it was last sorted by opening time. */
  private unansweredAdded = 0;
  private unansweredSorted = 0;
  /** Failures not kept because the bound was reached. */
  droppedFailures = 0;
  /** Requests loopsBack may still look at in this analysis (LOOP_SCAN_BUDGET). */
  private loopScanBudget = LOOP_SCAN_BUDGET;
  /**
   * seenMount's answers by proxy, backend and rewrite: a rewrite seen stays seen; one not seen yet
   * is asked again once more has been followed (mountsAtEvent). Requests it may still look at: mountScanBudget.
   */
  private readonly mounts = new Map<string, boolean>();
  private mountsAtEvent = -1;
  private mountScanBudget = MOUNT_SCAN_BUDGET;
  /** Events followed so far, and the pairing made at a count of them (pair() is asked for again and again at the end). */
  private events = 0;
  private pairedAtEvent = -1;
  private paired: PairedFailure[] | null = null;
  /** relays(), and the pairing it was made from. */
  private relayMap: Map<string, string> | null = null;
  private relaysOf: readonly PairedFailure[] | null = null;
  /** The engine hands this tracker each event itself (see EventFollower), once. */
  readonly followsEvents = true;

  /** `index`: every request of the analysis (offered here too; it keeps each once). */
  constructor(private readonly index: RequestIndex = new RequestIndex()) {}

  onOpen(conn: AnalyzedConnection): void {
    this.events++;
    const clientIp = conn.clientHost;
    const serverIp = conn.serverHost;
    // An address that serves connections, even from itself (a proxy tested on 127.0.0.1, a sidecar):
    // its own outgoing connections are its possible upstream legs. A connection from that address
    // to the very endpoint a failure came from is the proxy's own downstream leg, never an
    // upstream one: pairing sets those aside (see upstreamOf).
    if (this.serverIps.size < MAX_SERVER_IPS) this.serverIps.add(serverIp);
    if (this.serverIps.has(clientIp)) this.startLeg(conn, clientIp);
    this.forgetLearned(); // learned from less traffic than there now is
  }

  onExchange(ex: HttpExchange, conn: AnalyzedConnection): void {
    this.events++;
    this.index.offer(ex, conn);
    this.forgetLearned();
    const leg = this.live.get(conn.id);
    if (leg !== undefined) this.addLegRequest(leg, ex, conn);
    if (ex.uncertain || ex.requestStart === null) return;
    // Exact codes only: a status line the snaplen cut (`HTTP/1.1 5`, stored as 500) may be any 5xx.
    const status = exactStatus(ex);
    if ((isGatewayStatus(status) || (status === CONNECT_FAILURE_STATUS && this.proxies.has(conn.serverHost))) && ex.responseStart !== null) {
      this.addFailure(ex, conn, ex.responseStart, ex.responseFrame ?? 0, 'status');
    } else if (ex.state === 'no-response' && ex.requestEnd !== null && !this.pending.has(conn.id)) {
      this.pending.set(conn.id, { ex });
    }
  }

  onConnectionEnd(conn: AnalyzedConnection): void {
    this.events++;
    const c = conn.client;
    const s = conn.server;
    let leg = this.live.get(conn.id);
    if (leg === undefined && this.serverIps.has(conn.clientHost)) {
      // Known as a proxy only since this connection opened: take its requests from the recent ones.
      leg = this.startLeg(conn, conn.clientHost);
      if (leg !== undefined) for (const ex of conn.app?.recent ?? []) this.addLegRequest(leg, ex, conn);
    } else if (leg === undefined) {
      this.others.add(conn);
      if (c.synCount > 0 && s.synAckCount === 0 && s.rstTs < 0 && s.payloadBytes === 0 && c.payloadBytes === 0 && !c.hasAck) {
        const attempt = this.others.byFlow(conn.id);
        if (attempt !== null) {
          pushBounded(this.unanswered, attempt, MAX_UNANSWERED_ATTEMPTS);
          this.unansweredAdded++;
        }
      }
    }
    if (leg !== undefined) {
      this.live.delete(conn.id);
      leg.established = s.synAckCount > 0 || s.payloadBytes > 0;
      if (c.synCount === 0) leg.midStream = true;
      leg.proxyBytes = c.payloadBytes;
      leg.proxyDataFrom = c.firstDataTs;
      leg.proxyDataTo = c.lastDataTs;
      leg.lastTs = conn.lastTs;
      leg.lossFrom = lossFromOf(conn);
      leg.lossTo = lossToOf(conn);
      const close = firstCloseOf(conn);
      if (close !== null) {
        leg.closeTs = close.ts;
        leg.closeFrame = close.frame;
        leg.closedBy = close.byClient ? 'proxy' : 'backend';
        leg.closedWith = close.rst ? 'RST' : 'FIN';
        // From the close itself: a FIN the capture missed has no finTs (-1), but is timed (firstCloseOf).
        leg.resetBehindFin = !close.byClient && !close.rst && s.rstTs >= close.ts && s.rstTs - close.ts <= RESET_BEHIND_FIN;
      }
    }
    if (s.finTs >= 0) this.noteIdleClose(conn);
    this.noteAnsweredReuses(conn);
    const pending = this.pending.get(conn.id);
    if (pending === undefined) return;
    this.pending.delete(conn.id);
    const ex = pending.ex;
    const requestStart = ex.requestStart ?? 0;
    const requestEnd = ex.requestEnd ?? requestStart;
    // The server had closed before this request: a keep-alive race, not a failed request.
    if (s.finTs >= 0 && s.finTs <= requestStart) return;
    const close = firstCloseOf(conn, requestEnd);
    if (close === null || close.byClient) return; // still open, or the client gave up first
    if (!close.rst && s.rstTs > close.ts) return; // FIN, then RST for the request: it met a closed socket (a race)
    this.addFailure(ex, conn, close.ts, close.frame, close.rst ? 'RST' : 'FIN');
  }

  /**
   * A server that closed a connection idle after its last response (FIN first, unannounced, nothing
   * from the client after that response): remembered with its idle age, for reloadDuring. A close
   * right behind a response whose Connection field the snaplen cut is no proof of an idle close
   * (closeMayBeAnnounced): HTTP/1.0 clients' and keepalive_requests' closes look so at -s 96, and
   * taken for idle ones, each burst of them read as a reload (blind round 14b, scene 4: nginx reloaded
   * twice under ab and keep-alive clients, "10 moments (126 in all)" at -s 96 against 2 (8) whole).
   * One the cut response left longer idle is kept: an announced close follows its response at once.
   */
  private noteIdleClose(conn: AnalyzedConnection): void {
    const recent = conn.app?.recent;
    if (recent === undefined || recent.length === 0) return;
    const last = recent[recent.length - 1];
    const end = last.responseEnd;
    // A close the response announced (Connection: close) is no idle close, nor one that head may have announced.
    if (end === null || last.state !== 'complete' || closeMayBeAnnounced(last, conn)) return;
    const finTs = conn.server.finTs;
    const c = conn.client;
    if (finTs < end || c.lastDataTs > end || (c.finTs >= 0 && c.finTs <= finTs) || (c.rstTs >= 0 && c.rstTs <= finTs)) return;
    let closes = this.idleCloses.get(conn.serverName);
    if (closes === undefined) {
      if (this.idleCloses.size >= MAX_IDLE_CLOSE_SERVERS) return;
      this.idleCloses.set(conn.serverName, (closes = { ts: [], age: [] }));
    }
    if (closes.ts.length >= MAX_IDLE_CLOSES_PER_SERVER) {
      closes.ts.splice(0, MAX_IDLE_CLOSES_PER_SERVER >> 1);
      closes.age.splice(0, MAX_IDLE_CLOSES_PER_SERVER >> 1);
    }
    closes.ts.push(finTs);
    closes.age.push(finTs - end);
  }

  /** The idle gaps after which the server answered reuses among the connection's last exchanges (longestReuses). */
  private noteAnsweredReuses(conn: AnalyzedConnection): void {
    const recent = conn.app?.recent;
    if (recent === undefined) return;
    let top: number[] | undefined;
    for (const ex of recent) {
      if (ex.index < 2 || ex.state !== 'complete' || ex.uncertain || ex.idleBefore === null || ex.idleBefore <= 0) continue;
      if (top === undefined) {
        top = this.longestReuses.get(conn.serverName);
        if (top === undefined) {
          if (this.longestReuses.size >= MAX_IDLE_CLOSE_SERVERS) return;
          this.longestReuses.set(conn.serverName, (top = []));
        }
      }
      keepLongestReuse(top, ex.idleBefore);
    }
  }

  /** The longest idle gap after which `server` answered a reuse (0: none seen). */
  longestAnsweredReuse(server: string): number {
    return this.longestReuses.get(server)?.[0] ?? 0;
  }

  /** The idle age below which `server`'s closes at one moment were no timer's (keptLongerThan; 0: not known). */
  keptLonger(server: string): number {
    return keptLongerThan(this.longestReuses.get(server) ?? []);
  }

  /**
   * Every burst of idle closes `server` made (closeBurstRuns: three or more at one moment, idle for
   * ages more than twofold apart, or all younger than connections it kept), as spans of capture
   * time, in time order: a reload or restart each, its old process letting go of every idle
   * connection at once. Its idle closes include those after a response whose head the snaplen cut,
   * where the server closed too long after it for a notice in it (noteIdleClose), so the detectors
   * that keep fewer ask here too. Made once per server and state of what this followed (asked for
   * each failure at the end).
   */
  reloadSpans(server: string): readonly BurstSpan[] {
    const cached = this.spansMade.get(server);
    if (cached !== undefined && cached.atEvent === this.events) return cached.spans;
    const closes = this.idleCloses.get(server);
    const spans = closes === undefined ? [] : burstSpans(closeBurstRuns(closes.age, closes.ts, this.keptLonger(server)), closes.ts).sort((a, b) => a.from - b.from);
    this.spansMade.set(server, { atEvent: this.events, spans });
    return spans;
  }

  /**
   * How long each connection `server` closed idle had been idle (close − its last response's end),
   * the latest kept (noteIdleClose; empty when none): its keep-alive idle timer, which also closes a
   * connection whose response it took for finished, however its body ended (response-truncated).
   */
  idleCloseAges(server: string): readonly number[] {
    return this.idleCloses.get(server)?.age ?? [];
  }

  /** The latest reload of `server` (reloadSpans) that began within (from, to), with how many idle connections it closed; null when none. */
  reloadDuring(server: string, from: number, to: number): { ts: number; closes: number } | null {
    let found: { ts: number; closes: number } | null = null;
    for (const span of this.reloadSpans(server)) if (span.from > from && span.from < to) found = { ts: span.from, closes: span.closes };
    return found;
  }

  /** The moments, in time order, at which servers on `host` (an address) were reloaded or restarted (reloadSpans), whatever they listen on. */
  reloadsOfHost(host: string): number[] {
    const moments: number[] = [];
    for (const server of this.idleCloses.keys()) if (hostOf(server) === host) for (const span of this.reloadSpans(server)) moments.push(span.from);
    return moments.sort((a, b) => a - b);
  }

  /**
   * Whether the capture shows any upstream leg of the server listening at `proxy` ("ip:port"): a
   * connection from its address (or from the other address it was seen forwarding from) to
   * another server. False: whatever it answered, it connected to nothing in sight, so an error it
   * answered after a wait may be its own handler's, not a proxy's (gateway-timeout).
   */
  upstreamSeen(proxy: string): boolean {
    return this.upstreamRecord(hostOf(proxy), proxy) !== null;
  }

  /** Upstream connections opened and requests sent by the proxy listening at `proxy` ("ip:port") during [from, to]. */
  activityDuring(proxy: string, from: number, to: number): { connections: number; requests: number } {
    const record = this.upstreamRecord(hostOf(proxy), proxy);
    if (record === null) return { connections: 0, requests: 0 };
    let connections = 0;
    let requests = 0;
    for (const leg of record.legs) if (upstreamOf(leg, proxy) && leg.openTs >= from && leg.openTs <= to) connections++;
    for (const r of record.requests) if (upstreamOf(r.leg, proxy) && r.start >= from && r.start <= to) requests++;
    return { connections, requests };
  }

  /**
   * Upstream requests of the proxy listening at `proxy` that were in flight at `from` (sent before,
   * not yet answered) and that it sent during [from, to]: its backends were busy with other
   * requests while a client's waited. The first count is 0 where the capture began after them.
   */
  busyDuring(proxy: string, from: number, to: number): { inFlight: number; sent: number } {
    const record = this.upstreamRecord(hostOf(proxy), proxy);
    if (record === null) return { inFlight: 0, sent: 0 };
    let inFlight = 0;
    let sent = 0;
    for (const r of record.requests) {
      if (!upstreamOf(r.leg, proxy)) continue;
      if (r.start >= from && r.start <= to) sent++;
      // Unanswered, it is in flight only while its connection is open (not one closed unanswered before).
      else if (r.start < from && (r.responseStart !== null ? r.responseStart > from : r.leg.closeTs > from)) inFlight++;
    }
    return { inFlight, sent };
  }

  /**
   * The first request with this method and URI that the proxy listening at `proxy` ("ip:port")
   * sent to a backend during [from, to], or null: the client's request was forwarded upstream (the
   * proxy read it and worked on it). Only upstream legs whose exchanges were decided by now count.
   */
  forwardedDuring(proxy: string, method: string, uri: string | null, from: number, to: number, client: string | null = null): LegRequest | null {
    const record = this.proxies.get(hostOf(proxy));
    let first: LegRequest | null = null;
    const front = { server: proxy, client, method, uri, requestStart: from, failTs: to };
    for (const r of record === undefined ? [] : requestsByKey(record).get(proxyKey(method, uri)) ?? []) {
      if (r.start < from || r.start > to || !upstreamOf(r.leg, proxy) || record === undefined || !this.copiesTarget(record, proxy, r, uri) || this.loopsBack(r, front)) continue;
      if (first === null || r.start < first.start) first = r;
    }
    if (first !== null || client === null) return first;
    return this.failedCopyFromOtherAddress(proxy, client, method, uri, from, to);
  }

  /**
   * An upstream leg of the proxy listening at `proxy` ("ip:port") that the proxy itself closed
   * within `within` s of `ts` and that carried a copy of the given request (same method and URI,
   * sent during [from, to]): the proxy closed its client's connection and that one together
   * (relayed-closes.ts). Null when there is none, or the capture shows no upstream leg of it.
   */
  closedTogether(proxy: string, ts: number, within: number, copyOf: { method: string; uri: string | null; from: number; to: number }): UpstreamLeg | null {
    const record = this.upstreamRecord(hostOf(proxy), proxy);
    if (record === null) return null;
    for (const r of requestsByKey(record).get(proxyKey(copyOf.method, copyOf.uri)) ?? []) {
      if (r.start < copyOf.from || r.start > copyOf.to || !upstreamOf(r.leg, proxy) || !this.copiesTarget(record, proxy, r, copyOf.uri)) continue;
      if (this.loopsBack(r, { server: proxy, client: null, method: copyOf.method, uri: copyOf.uri, requestStart: copyOf.from, failTs: ts })) continue;
      if (r.leg.closedBy === 'proxy' && Math.abs(r.leg.closeTs - ts) <= within) return r.leg;
    }
    return null;
  }

  /**
   * The copy of `ex` that the proxy serving `conn` sent upstream before `closeTs` (see
   * forwardedDuring), or null: the proxy had read the request and worked on it before it closed.
   */
  forwardedBefore(conn: AnalyzedConnection, ex: HttpExchange, closeTs: number): LegRequest | null {
    if (ex.method === null || ex.requestStart === null) return null;
    return this.forwardedDuring(conn.serverName, ex.method, ex.uri, ex.requestStart, closeTs, conn.clientName);
  }

  /**
   * `request` with its upstream leg as the connection ended: one from another address (see
   * failedCopyFromOtherAddress) taken while its connection was still open is looked up again, so
   * that who closed it is known (the proxy closes both legs at once when it gives up, and the
   * client's may end first).
   */
  settled(request: LegRequest): LegRequest {
    if (request.leg.closeTs !== Infinity) return request;
    const leg = this.others.byFlow(request.leg.flowId);
    return leg === null ? request : { ...request, leg };
  }

  /**
   * A proxy that connects to its backends from another address than the one it listens on (a
   * backend-facing interface) forwards from an address that serves nothing, so its upstream legs
   * are not among its own; which address that is, is learned only from the whole capture
   * (RequestCopies). A request the proxy closed without answering is then told forwarded by a
   * copy of it that failed upstream meanwhile: same method and URI, sent during the wait from an
   * address that serves nothing (not another client's request to the proxy itself, nor its
   * client's to a second server) to neither the proxy's host nor its client's, and not answered
   * by the time the proxy closed (Apache mod_proxy closes the client connection when a request
   * fails on a reused backend connection).
   *
   * The client's own host is that address too when the capture shows the proxy forwarding from it
   * (RequestCopies.upstreamAddressOf: a proxy on 127.0.0.2 connecting from 127.0.0.1, its local
   * clients' address): a copy from there counts then, from another endpoint than the client's
   * (HAProxy closing its client's connection when the lazy backend reset the forwarded request,
   * race3-both, whose keep-alive races on the client leg were that proxy's relay of them).
   */
  private failedCopyFromOtherAddress(proxy: string, client: string, method: string, uri: string | null, from: number, to: number): LegRequest | null {
    const upstream = this.copies().upstreamAddressOf(hostOf(proxy));
    const fromClientHost = upstream === hostOf(client);
    // A sender that also serves is no proxy's other address unless the capture showed it to be
    // this proxy's (127.0.0.1, where nginx's backend listens too: blind 14 S1's layout).
    const copy = this.index.unansweredCopy(
      method, uri, from, to, fromClientHost ? [proxy] : [proxy, client],
      (sender) => sender !== client && (!this.serverIps.has(hostOf(sender)) || hostOf(sender) === upstream),
    );
    if (copy === null) return null;
    const leg: UpstreamLeg = this.others.byFlow(copy.flowId) ?? {
      // Still open: what the copy itself tells.
      flowId: copy.flowId, client: copy.client, server: copy.server, openTs: copy.connectionStart, openFrame: 0,
      established: true, closeTs: Infinity, closeFrame: 0, closedBy: null, closedWith: null, requestCount: copy.index,
      closeTermsUnseen: false, cutMidResponse: false, fastcgi: false, proxyBytes: 0, proxyDataFrom: -1, proxyDataTo: -1, lossFrom: -1, lossTo: -1,
    };
    return {
      leg, index: copy.index, method: copy.method, uri: copy.uri, start: copy.ts, end: copy.requestEnd, frame: copy.frame,
      responseStart: copy.responseStart, status: copy.status,
    };
  }

  /**
   * Pairs every failure with the proxy's upstream activity during it (see the class comment).
   * Failures are taken in request order; an upstream request or connection pairs with one failure.
   */
  pair(): readonly PairedFailure[] {
    // Asked by five detectors at the end of an analysis: paired once per state of what was seen.
    if (this.paired !== null && this.pairedAtEvent === this.events) return this.paired;
    this.paired = this.pairNow();
    this.pairedAtEvent = this.events;
    return this.paired;
  }

  /**
   * The 5xx a proxy relayed from its upstream: the key (`flowId#index`, failureKey) of the upstream
   * answer each carried on, by the key of the proxy's own answer. A relay is a failure paired in
   * phase `answered` whose upstream copy got the same status back within the proxy's wait (nginx
   * passes its upstream's 502 on as it came). The upstream answer may be another proxy's failure,
   * relayed in turn: relayClosure follows the chain.
   */
  relays(): ReadonlyMap<string, string> {
    const paired = this.pair();
    if (this.relayMap !== null && this.relaysOf === paired) return this.relayMap;
    const map = new Map<string, string>();
    for (const p of paired) {
      const r = p.legRequest;
      if (p.phase !== 'answered' || p.failure.how !== 'status' || r === null || r.status === null || r.status !== p.failure.status) continue;
      map.set(failureKey(p.failure), `${r.leg.flowId}#${r.index}`);
    }
    this.relayMap = map;
    this.relaysOf = paired;
    return map;
  }

  private pairNow(): PairedFailure[] {
    const byIp = new Map<string, DownstreamFailure[]>();
    for (const f of this.failures) {
      let list = byIp.get(f.serverIp);
      if (list === undefined) byIp.set(f.serverIp, (list = []));
      list.push(f);
    }
    const out: PairedFailure[] = [];
    for (const [ip, failures] of byIp) {
      failures.sort((a, b) => a.requestStart - b.requestStart || a.flowId - b.flowId);
      const used = new Set<LegRequest>();
      const usedLegs = new Set<UpstreamLeg>();
      const picked = new Set<UpstreamLeg>();
      const relayed = new RelayedAnswers(this.index.all(), ip);
      /** Failures paired with a chain of unanswered attempts: their retries are that chain. */
      const chained = new Set<PairedFailure>();
      for (const failure of failures) {
        const record = this.upstreamRecord(ip, failure.server);
        let paired = record !== null ? this.pairOne(failure, record, used, usedLegs, picked, relayed) : unpaired(failure, 'invisible');
        // "Nothing upstream meanwhile" is a claim about the proxy's upstream legs: its own outgoing
        // connections are those only if it was seen forwarding on them. An address that serves and
        // also connects out is otherwise an application calling its own dependencies, or sharing its
        // host with a test client: what it did upstream cannot be told.
        if (paired.phase === 'none' && record === this.proxies.get(ip) && !this.copies().forwardsFromItsOwnAddress(failure.server)) {
          paired = unpaired(failure, 'invisible');
        }
        if (paired.phase === 'invisible' || paired.phase === 'none') {
          const chain = this.unansweredConnectChain(failure, usedLegs);
          if (chain !== null) {
            paired = { ...paired, phase: 'connect', leg: chain[0], staleLeg: null, retries: chain.slice(1).map((leg) => ({ leg, request: null })) };
            chained.add(paired);
          }
        }
        if (failure.status === CONNECT_FAILURE_STATUS && paired.phase !== 'connect') continue;
        out.push(paired);
      }
      // Then the proxy's further attempts, from what no failure took as its first: a retry of one
      // request must not take the first attempt of another made meanwhile.
      for (const paired of out) {
        if (paired.failure.serverIp !== ip || paired.leg === null || chained.has(paired)) continue;
        const record = this.upstreamRecord(ip, paired.failure.server);
        if (record !== null) paired.retries = this.retriesOf(paired, record, used, usedLegs);
      }
    }
    return out;
  }

  /**
   * A failure the proxy's known upstream legs do not explain, explained by connect attempts that
   * were never answered: the first opened right after the request arrived (FIRST_CONNECT_LEAD), the
   * others from the same address to the same backend endpoint at a fixed interval, each replacing
   * the previous one (a new source port), and the proxy's answer one more interval after the last.
   * That is a proxy abandoning each attempt at its connect timeout and trying again (HAProxy
   * `retries`, nginx `proxy_next_upstream`), then giving up: the interval is the timeout, the
   * attempts how many it made. Holds whatever address the proxy connects from, its clients' own
   * included (no forwarded request needs to show it). The most attempts that fit are taken; null
   * when no attempt opened right after the request.
   */
  private unansweredConnectChain(f: DownstreamFailure, usedLegs: Set<UpstreamLeg>): UpstreamLeg[] | null {
    if (this.unanswered.length === 0) return null;
    // By opening time (they are kept as they ended): each failure then looks at its own wait only.
    if (this.unansweredSorted !== this.unansweredAdded) {
      this.unanswered.sort((a, b) => a.openTs - b.openTs);
      this.unansweredSorted = this.unansweredAdded;
    }
    const from = f.requestEnd ?? f.requestStart;
    const to = f.failTs;
    let first: UpstreamLeg | null = null;
    let i = firstAtOrAfter(this.unanswered, f.requestStart, (leg) => leg.openTs);
    for (; i < this.unanswered.length && this.unanswered[i].openTs <= Math.min(from + FIRST_CONNECT_LEAD, to); i++) {
      const leg = this.unanswered[i];
      if (usedLegs.has(leg) || leg.server === f.server || leg.openTs >= to) continue;
      first = leg;
      break;
    }
    if (first === null) return null;
    const start = first;
    const host = hostOf(start.client);
    const span = to - start.openTs;
    const siblings: UpstreamLeg[] = [];
    for (let k = i + 1; k < this.unanswered.length && this.unanswered[k].openTs < to && siblings.length < MAX_UNANSWERED_SIBLINGS; k++) {
      const leg = this.unanswered[k];
      if (!usedLegs.has(leg) && leg.server === start.server && hostOf(leg.client) === host && leg.openTs > start.openTs) siblings.push(leg);
    }
    for (let n = Math.min(MAX_CHAINED_ATTEMPTS, siblings.length + 1); n >= 1; n--) {
      const interval = span / n;
      const tolerance = CHAIN_TOLERANCE * interval;
      const chain: UpstreamLeg[] = [start];
      for (let k = 1; k < n; k++) {
        const due = start.openTs + k * interval;
        let next: UpstreamLeg | null = null;
        for (const leg of siblings) {
          if (Math.abs(leg.openTs - due) > tolerance || chain.includes(leg)) continue;
          if (next === null || Math.abs(leg.openTs - due) < Math.abs(next.openTs - due)) next = leg;
        }
        if (next === null) break;
        chain.push(next);
      }
      if (chain.length < n) continue;
      // Each attempt was still sending SYNs only until the next replaced it (a retransmission after
      // that is another attempt's, or no abandoned one's).
      const ends = chain.map((leg, k) => (k + 1 < chain.length ? chain[k + 1].openTs : to));
      if (chain.some((leg, k) => (leg.lastTs ?? leg.openTs) > ends[k] + tolerance)) continue;
      for (const leg of chain) usedLegs.add(leg);
      return chain;
    }
    return null;
  }

  private pairOne(
    f: DownstreamFailure, record: ProxyRecord, used: Set<LegRequest>, usedLegs: Set<UpstreamLeg>, picked: Set<UpstreamLeg>, relayed: RelayedAnswers,
  ): PairedFailure {
    const from = f.requestStart;
    const to = f.failTs;
    let strict: LegRequest | null = null;
    let strictScore = -1;
    let loose: LegRequest | null = null;
    /** An upstream request of another visible target sent meanwhile, not a copy of another front request. */
    let otherTarget = false;
    for (const r of record.requests) {
      if (used.has(r) || r.start < from || r.start > to || !upstreamOf(r.leg, f.server)) continue;
      if (r.method === f.method && f.method !== null && this.copiesTarget(record, f.server, r, f.uri)) {
        if (this.loopsBack(r, f)) continue;
        // A copy whose answer the proxy read and passed on to another of its clients was that
        // client's request, not this one's: the proxy would have relayed it here too. HAProxy's
        // `timeout queue` failed requests that never left it while every slot served others, each
        // answered 200 and relayed, and pairing took those as the failures' copies, read as a read
        // timeout of their service time (blind 13b, S8: 0.202 s, then 1.001 s in a re-run).
        if (relayed.explains(r, f)) continue;
        // Of several copies, the one that looks most like this proxy's (copyScore), then the first.
        const score = copyScore(f, r);
        if (strict === null || score > strictScore || (score === strictScore && r.start < strict.start)) {
          strict = r;
          strictScore = score;
        }
      } else if (!answeredBefore(r, to) && !this.copiesAnother(r, f) && !this.loopsBack(r, f)) {
        // Where both request lines are visible a copy carries the same target (modulo a prefix,
        // sameTarget): another target is another request, a plain client on the proxy's host
        // (blind 12: curl's direct GET /hang to 9001 sent 0.77 s into nginx's wait for GET /slow,
        // whose own upstream leg the filter had left out). Only a line the capture cut pairs by time.
        if (f.method === null || f.uri === null || r.method === null || r.uri === null) {
          if (loose === null || r.start < loose.start) loose = r;
        } else {
          otherTarget = true;
        }
      }
    }
    const chosen = strict ?? loose;
    const [atRequest, maxDuring] = concurrency(record.legs.filter((leg) => upstreamOf(leg, f.server)), from, to);
    if (chosen !== null) {
      used.add(chosen);
      usedLegs.add(chosen.leg);
      const phase = answeredBefore(chosen, to) ? 'answered' : 'read';
      return {
        failure: f, phase, leg: chosen.leg, legRequest: chosen,
        uriMatched: chosen === strict, concurrentAtRequest: atRequest, concurrentMaxDuringWait: maxDuring, retries: [], staleLeg: null,
      };
    }
    // Upstream traffic that is not readable HTTP (TLS to the backend, another protocol) during the
    // wait: the request may have gone that way; what happened to it cannot be told.
    let opaque: UpstreamLeg | null = null;
    // A backend connection opened during the wait that never carried a byte: a connect attempt.
    let connect: UpstreamLeg | null = null;
    for (const leg of record.legs) {
      if (usedLegs.has(leg) || leg.requestCount > 0 || !upstreamOf(leg, f.server)) continue;
      if (leg.proxyBytes > 0) {
        const active = (leg.openTs >= from && leg.openTs <= to) || (leg.proxyDataFrom <= to && leg.proxyDataTo >= from);
        if (active && (opaque === null || leg.openTs < opaque.openTs)) opaque = leg;
      } else if (leg.openTs >= from && leg.openTs <= to && leg.midStream !== true && (connect === null || leg.openTs < connect.openTs)) {
        // A connection whose SYN the capture lacks was no attempt opened during the wait: only its
        // end is seen then (blind 13b S8: a lone RST of HAProxy's to its backend mid-wait was read as
        // a connect attempt that timed out).
        connect = leg;
      }
    }
    const chosenLeg = opaque ?? connect;
    // A connect attempt serves one request; an opaque connection may carry many (keep-alive).
    if (opaque === null && connect !== null) usedLegs.add(connect);
    // Nothing seen upstream, but an upstream connection lost bytes from the capture meanwhile.
    let lost = false;
    if (chosenLeg === null) {
      for (const leg of record.legs) {
        if (leg.lossFrom >= 0 && leg.lossFrom <= to && leg.lossTo >= from && upstreamOf(leg, f.server)) {
          lost = true;
          break;
        }
      }
    }
    // Requests from the proxy's host to its backends meanwhile that are no copy of this one nor of
    // another front request: a client of its own host, while the proxy's leg is out of the capture
    // (a --port filter, --sample) as likely as absent; "nothing upstream" cannot be said.
    if (opaque === null && connect === null && !lost && otherTarget) return { ...unpaired(f, 'invisible'), concurrentAtRequest: atRequest, concurrentMaxDuringWait: maxDuring };
    const phase = opaque !== null ? 'opaque' : connect !== null ? 'connect' : lost ? 'lost' : 'none';
    const staleLeg = phase === 'none' ? stalePickOf(f, record.legs, picked) : null;
    if (staleLeg !== null) picked.add(staleLeg);
    return {
      failure: f, phase, leg: chosenLeg, legRequest: null, uriMatched: false,
      concurrentAtRequest: atRequest, concurrentMaxDuringWait: maxDuring, retries: [],
      staleLeg,
    };
  }

  /**
   * Whether upstream request `r`, sent by the proxy listening at `proxy`, carries target `uri` of a
   * request that proxy received: sameTarget, or the mount point of a prefix the proxy maps onto its
   * backend's root (`/b/` sent on as `/`, rootMountPrefix) when the proxy is seen making that
   * rewrite on another request to the same backend (seenMount). Apache's `ProxyPass /b/
   * http://gunicorn/ timeout=1` answered GET /b/ 502 after its timer, its upstream GET / unanswered
   * in the same capture, and the 502 was told as "its upstream connections not in the capture"
   * (blind round 15, S5).
   */
  private copiesTarget(record: ProxyRecord, proxy: string, r: LegRequest, uri: string | null): boolean {
    if (sameTarget(r.uri, uri)) return true;
    const prefix = rootMountPrefix(r.uri, uri);
    return prefix !== null && this.seenMount(record, proxy, r.leg.server, prefix, r.uri === '/');
  }

  /**
   * Whether the proxy listening at `proxy` is seen stripping `prefix` from a target it sends on to
   * `backend` (`strips`; else adding it): one of its requests there, other than a root, carries a
   * request it received whose target is that one with the prefix (RequestCopies.forwardedFrom:
   * same method, sent while that request waited). A bare `/` and a directory pair on that alone:
   * without it a `/` from the proxy's host (a health check, a local client) is no copy of a `/b/`.
   */
  private seenMount(record: ProxyRecord, proxy: string, backend: string, prefix: string, strips: boolean): boolean {
    if (this.mountsAtEvent !== this.events) {
      for (const [key, seen] of this.mounts) if (!seen) this.mounts.delete(key);
      this.mountsAtEvent = this.events;
    }
    const key = `${proxy} ${backend} ${strips ? '-' : '+'}${prefix}`;
    const known = this.mounts.get(key);
    if (known !== undefined) return known;
    let seen = false;
    let looked = 0;
    // Newest first: the rewrite in force nearest the end of the capture, and a bounded look.
    for (let i = record.requests.length - 1; i >= 0 && looked < MOUNT_SCAN && this.mountScanBudget > 0 && !seen; i--) {
      const r = record.requests[i];
      looked++;
      this.mountScanBudget--;
      if (r.leg.server !== backend || r.uri === null || r.uri === '/' || r.method === null || !upstreamOf(r.leg, proxy)) continue;
      if (!(strips || r.uri.startsWith(prefix + '/'))) continue;
      const down = this.downstreamOf({ client: r.leg.client, server: r.leg.server, method: r.method, uri: r.uri, start: r.start });
      if (down === null || down.server !== proxy || down.uri === null) continue;
      seen = strips ? down.uri === prefix + r.uri : down.uri !== '/' && r.uri === prefix + down.uri;
    }
    if (this.mounts.size < MAX_MOUNT_ANSWERS) this.mounts.set(key, seen);
    return seen;
  }

  /**
   * Whether upstream request `r` (sent from the front's host to another server S2) is better read
   * as a request S2 received and forwarded back to the front's server: a request `c` at the front's
   * server, from S2's host, other than the front's own, with the same method and target, sent
   * while `r` waited, and looking more like S2's copy of `r` than `r` looks like the front's copy
   * (copyScore). Then S2 is the proxy and `c` its upstream request, a sibling of the front at the
   * same server, and `r` no upstream copy of the front: pairing the front with `r` would turn the
   * topology round (blind round 11: curl's direct GET /gslow to a Go server and nginx's GET /g/gslow
   * to the same Go server at the same moment, on one host; the direct request was paired with
   * nginx's 502 from the other flow, and Go called a proxy whose read timeout fired on nginx).
   */
  loopsBack(r: LegRequest, front: LoopFront): boolean {
    if (r.method === null || this.loopScanBudget <= 0) return false;
    const record = this.proxies.get(hostOf(r.leg.server));
    if (record === undefined) return false;
    const until = r.responseStart ?? (Number.isFinite(r.leg.closeTs) ? r.leg.closeTs : Infinity);
    const frontScore = copyScore(front, r);
    const same = requestsByKey(record).get(proxyKey(r.method, r.uri)) ?? [];
    // Asked per candidate copy of each failure: in a storm of failures on one URI, each list is
    // long. A budget for the whole analysis bounds the work; past it, pairing goes on without.
    this.loopScanBudget -= same.length;
    for (const c of same) {
      if (c.leg.server !== front.server || c.start < r.start || c.start > until || c.method !== r.method || !sameTarget(c.uri, r.uri)) continue;
      // The front's own connection is no sibling (its client shares S2's host on a loopback).
      if (c.leg.client === front.client || (front.flowId !== undefined && c.leg.flowId === front.flowId)) continue;
      if (copyScore({ requestStart: r.start, uri: r.uri, failTs: outcomeOf(r) ?? undefined }, c) > frontScore) return true;
    }
    return false;
  }

  /**
   * Whether loopsBack's answer for `r` may change later: the server it went to is on a host that
   * connects out itself, so it may have forwarded `r` back, and what tells it (that copy, whose
   * exchange comes when its connection ends, and the ends of both) may not be known yet. A caller
   * asking as a connection ends asks loopsBack again at the end of the capture.
   */
  mayLoopBackLater(r: LegRequest): boolean {
    return this.proxies.has(hostOf(r.leg.server));
  }

  /**
   * Whether upstream request `r` is the copy of another client request than the failure's (same
   * method and target, received by a server on the proxy's host while it waited: RequestCopies).
   * Such a request is that one's, not a rewrite of the failure's: two proxies on one host (or one
   * with two listening ports) share the upstream source address, and nginx's `GET /stop` to its
   * backend is no copy of HAProxy's `GET /dead` failed meanwhile.
   */
  private copiesAnother(r: LegRequest, f: DownstreamFailure): boolean {
    const down = this.downstreamOf({ client: r.leg.client, server: r.leg.server, method: r.method, uri: r.uri, start: r.start });
    return down !== null && !(down.flowId === f.flowId && down.index === f.index);
  }

  /**
   * The proxy's further attempts for a paired failure (see PairedFailure.retries), among the
   * upstream requests and connections no failure has taken: each opened after the previous attempt
   * ended and before the proxy's answer.
   */
  private retriesOf(p: PairedFailure, record: ProxyRecord, used: Set<LegRequest>, usedLegs: Set<UpstreamLeg>): UpstreamAttempt[] {
    const f = p.failure;
    const from = f.requestStart;
    const to = f.failTs;
    const retries: UpstreamAttempt[] = [];
    if (p.phase === 'read' && p.uriMatched && p.legRequest !== null) {
      // Copies of the same request sent again, none answered meanwhile. A copy that another client's
      // identical request may explain (it reached the proxy since) ends the chain. The attempts'
      // own failures at the backend (its close of each copy, unanswered) are no other client's:
      // Caddy sent GET /slow/10 again after uWSGI's harakiri closed the first copy, and that
      // close, a failure at the backend, ended the chain at one attempt (blind 13, s14).
      let prev = p.legRequest;
      const attemptFlows = new Set<number>([prev.leg.flowId]);
      for (;;) {
        const since = attemptEnd(prev.leg);
        let next: LegRequest | null = null;
        for (const r of record.requests) {
          if (used.has(r) || r.start < since || r.start > to || r.method !== f.method || answeredBefore(r, to) || !upstreamOf(r.leg, f.server) || !this.copiesTarget(record, f.server, r, f.uri)) continue;
          if (next === null || r.start < next.start) next = r;
        }
        if (next === null) break;
        const candidate = next;
        attemptFlows.add(candidate.leg.flowId);
        const another = (o: DownstreamFailure): boolean =>
          o !== f && !attemptFlows.has(o.flowId) && o.method === f.method && o.uri === f.uri && o.requestStart >= from && o.requestStart <= candidate.start;
        if (this.failures.some(another)) break;
        used.add(candidate);
        usedLegs.add(candidate.leg);
        retries.push({ leg: candidate.leg, request: candidate });
        prev = candidate;
      }
    } else if (p.phase === 'connect' && p.leg !== null) {
      // More connection attempts that never carried a byte, each opened after the previous one's
      // last packet (its last SYN: a retry follows the attempt it replaces).
      let prev = p.leg;
      for (;;) {
        const since = attemptEnd(prev);
        let next: UpstreamLeg | null = null;
        for (const leg of record.legs) {
          if (usedLegs.has(leg) || leg.requestCount > 0 || leg.proxyBytes > 0 || leg.established || !upstreamOf(leg, f.server)) continue;
          if (leg.openTs <= since || leg.openTs > to) continue;
          if (next === null || leg.openTs < next.openTs) next = leg;
        }
        if (next === null) break;
        usedLegs.add(next);
        retries.push({ leg: next, request: null });
        prev = next;
      }
    }
    return retries;
  }

  /**
   * The upstream legs of the proxy at `ip` as seen from its endpoint `proxy`: its own connections to
   * other endpoints, else those of the address it connects upstream from when that is another
   * one (learned once per proxy address); null when the capture shows neither.
   */
  private upstreamRecord(ip: string, proxy: string): ProxyRecord | null {
    const own = this.proxies.get(ip);
    if (own !== undefined && own.legs.some((leg) => upstreamOf(leg, proxy))) return own;
    let record = this.viaOtherAddress.get(ip);
    if (record === undefined) {
      const address = this.copies().upstreamAddressOf(ip);
      record = address === null ? null : this.recordOf(address);
      this.viaOtherAddress.set(ip, record);
    }
    return record;
  }

  /**
   * The request that the proxy whose backend connections leave from `address` sent to another
   * backend than `refused` within `within` seconds after `ts`, when its connect there was refused
   * then: the proxy moving the request on (nginx `proxy_next_upstream`, HAProxy `redispatch`), so
   * that its client saw no error (dead-upstream-nginx). The request sent on must copy a front
   * request the proxy's host was holding at `ts`. Null when none, or `address` is no proxy's.
   */
  movedOnAfter(
    address: string, refused: string, ts: number, within: number,
    /** The request that failed there, when one did: the one sent on is its copy (same method and URI). */
    same: { method: string | null; uri: string | null } | null = null,
    /**
     * Whether `address` may be a proxy's other upstream address: learning that builds RequestCopies
     * over every request kept (+268 M instructions at the end of the first 500 000 benchmark packets,
     * asked for each pending failure): false looks at addresses that serve themselves only.
     */
    otherAddress = true,
  ): LegRequest | null {
    const record = this.proxies.get(address) ?? (otherAddress && this.proxyForwardingFrom(address) !== null ? this.recordOf(address) : undefined);
    if (record === undefined) return null;
    for (const r of record.requests) {
      if (r.leg.server === refused || r.start < ts || r.start > ts + within) continue;
      if (same !== null && (r.method !== same.method || !sameTarget(r.uri, same.uri))) continue;
      // A copy of a request the proxy had received, not its host's own client calling another server.
      const down = this.downstreamOf({ client: r.leg.client, server: r.leg.server, method: r.method, uri: r.uri, start: r.start });
      if (down === null) continue;
      // And one the proxy held when the connect failed: its front request came before the failure
      // and was not yet answered. One that came after is the proxy routing a new request as usual,
      // while the refused connect was another program's on its host (a plain client sharing the
      // proxy's address: loopback, a sidecar), which failed its user all the same.
      if (down.ts > ts || (down.responseStart !== null && down.responseStart < ts)) continue;
      return r;
    }
    return null;
  }

  /**
   * The proxy address whose other upstream address `address` is (see RequestCopies), when it is
   * not the proxy's own; null otherwise.
   */
  proxyForwardingFrom(address: string): string | null {
    return this.copies().proxyForwardingFrom(address);
  }

  /**
   * Whether `host` has opened connections as a client while it serves others (its own upstream legs,
   * as onOpen starts them): a client leg's request to it may have a forwarded copy whose exchange is
   * decided only later, so whatever pairs the two legs waits for the capture's end.
   */
  forwardsFrom(host: string): boolean {
    return this.proxies.has(host);
  }

  /** Whether the other upstream address `address` is also an address the proxy's clients use (see RequestCopies). */
  upstreamAddressSharedWithClients(address: string): boolean {
    return this.copies().sharedWithClients(address);
  }

  /**
   * The request a proxy had received and `r` forwards (its sender is that proxy, on the same host
   * or at its learned upstream address), or null: what the proxy's own client got for it.
   */
  downstreamOf(r: { client: string; server: string; method: string | null; uri: string | null; start: number }): RememberedRequest | null {
    return this.copies().forwardedFrom(r);
  }

  /** Whether a request was its sender forwarding a request a server on its own host had received (see RequestCopies). */
  forwardedByItsSender(r: ForwardQuestion): boolean {
    return this.copies().forwardedByItsSender(r);
  }

  /**
   * Whether `address` also serves connections from other addresses, or from itself (a backend on
   * 127.0.0.1): a proxy's upstream address that is also a server's is other programs' address too
   * (the backend's own, a local client's), so its requests are the proxy's only by what each copies.
   */
  addressServes(address: string): boolean {
    return this.serverIps.has(address);
  }

  /** What copies what among the remembered requests (made again when the index has changed). */
  private copies(): RequestCopies {
    const all = this.index.all();
    if (this.copiesOf !== all || this.requestCopies === null) {
      this.requestCopies = new RequestCopies(all);
      this.copiesOf = all;
    }
    return this.requestCopies;
  }

  /** Every connection (and its requests) from `address`: as a proxy's own, and as one of the others. */
  private recordOf(address: string): ProxyRecord {
    const own = this.proxies.get(address);
    const legs: UpstreamLeg[] = own !== undefined ? [...own.legs] : [];
    const requests: LegRequest[] = own !== undefined ? [...own.requests] : [];
    const taken = new Set(legs.map((leg) => leg.flowId));
    const added = new Map<number, UpstreamLeg>();
    for (const leg of this.others.from(address)) {
      if (taken.has(leg.flowId)) continue;
      legs.push(leg);
      added.set(leg.flowId, leg);
    }
    for (const r of this.index.all()) {
      const leg = added.get(r.flowId);
      if (leg === undefined) continue;
      requests.push({
        leg, index: r.index, method: r.method, uri: r.uri, start: r.ts, end: r.requestEnd,
        frame: r.frame, responseStart: r.responseStart, status: r.status, statusClass: r.statusClass,
      });
    }
    return { legs, requests };
  }

  private forgetLearned(): void {
    if (this.viaOtherAddress.size > 0) this.viaOtherAddress.clear();
  }

  private addLegRequest(leg: UpstreamLeg, ex: HttpExchange, conn: AnalyzedConnection): void {
    if (ex.responseCloseUnknown) leg.closeTermsUnseen = true;
    if (ex.state === 'response-incomplete') leg.cutMidResponse = true;
    if (ex.protocol === 'fastcgi') leg.fastcgi = true;
    if (ex.requestStart === null) return;
    leg.requestCount++;
    const record = this.proxies.get(hostOf(leg.client));
    if (record === undefined) return;
    addRecordRequest(record, {
      leg, index: ex.index, method: ex.method, uri: ex.uri, start: ex.requestStart, end: ex.requestEnd,
      frame: ex.requestFrame, responseStart: ex.responseStart, status: ex.status, statusClass: ex.statusClass,
      bodyUnfinished: ex.requestEnd === null && unfinishedBody(ex) !== null ? true : undefined,
      proxyTells: proxyTellsOf(ex, conn) || undefined,
    }, MAX_REQUESTS_PER_PROXY);
  }

  private startLeg(conn: AnalyzedConnection, proxyIp: string): UpstreamLeg | undefined {
    let record = this.proxies.get(proxyIp);
    if (record === undefined) {
      if (this.proxies.size >= MAX_PROXIES) return undefined;
      record = { legs: [], requests: [] };
      this.proxies.set(proxyIp, record);
    }
    const c = conn.client;
    const leg: UpstreamLeg = {
      flowId: conn.id, client: conn.clientName, server: conn.serverName,
      openTs: c.synTimes.length > 0 ? c.synTimes[0] : conn.startTs,
      openFrame: c.synFrames.length > 0 ? c.synFrames[0] : conn.firstFrame,
      established: false, closeTs: Infinity, closeFrame: 0, closedBy: null, closedWith: null, requestCount: 0,
      closeTermsUnseen: false, cutMidResponse: false, fastcgi: false, proxyBytes: 0, proxyDataFrom: -1, proxyDataTo: -1, lossFrom: -1, lossTo: -1,
    };
    pushBounded(record.legs, leg, MAX_LEGS_PER_PROXY);
    this.live.set(conn.id, leg);
    return leg;
  }

  private addFailure(ex: HttpExchange, conn: AnalyzedConnection, failTs: number, failFrame: number, how: FailureHow): void {
    if (this.failures.length >= MAX_FAILURES) {
      this.droppedFailures++;
      return;
    }
    const requestStart = ex.requestStart ?? failTs;
    // The proxy's wait, as it timed it: its answer (or close) trails the request by the round trip
    // from the capture point to the proxy as well (a client-side capture).
    const base = (ex.requestEnd ?? requestStart) + roundTripToServer(conn);
    this.failures.push({
      flowId: conn.id, index: ex.index, client: conn.clientName, server: conn.serverName, serverIp: conn.serverHost,
      method: ex.method, uri: ex.uri, requestStart, requestEnd: ex.requestEnd, requestFrame: ex.requestFrame,
      failTs, failFrame, how, status: how === 'status' ? ex.status : null, delay: Math.max(0, failTs - base),
      reason: how === 'status' ? ex.reason : null,
      bodyShort: unfinishedBody(ex),
    });
  }
}

/** A failure's key (`flowId#index`): the exchange that failed, as detectors name exchanges across findings. */
export function failureKey(f: { flowId: number; index: number }): string {
  return `${f.flowId}#${f.index}`;
}

/** How many proxies deep a relay chain is followed (a loop of relays is no chain). */
const MAX_RELAY_HOPS = 8;

/**
 * The fronts' relays (ProxyLegs.relays) whose chain of relays, followed hop by hop, ends at an
 * answer in `explained`: a proxy's 5xx passed on from an upstream 5xx that something explains (a
 * keep-alive race, a refused connect, a gateway timeout one hop further) is that explanation's.
 * Returns the relays' keys, each with the explained key its chain ends at.
 */
export function relayClosure(explained: ReadonlySet<string>, relays: ReadonlyMap<string, string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const front of relays.keys()) {
    let key: string | undefined = relays.get(front);
    for (let hop = 0; key !== undefined && hop < MAX_RELAY_HOPS; hop++) {
      if (explained.has(key)) {
        out.set(front, key);
        break;
      }
      key = relays.get(key);
    }
  }
  return out;
}

/**
 * The proxies further up that relayed a backend's failures to their own clients, in words:
 * "10.0.0.1:80 relayed 7 of them to its clients" (one part per front, comma-separated), or '' when
 * none did. `explained` are the failures' keys (failureKey: `flowId#index` of the exchange a proxy
 * failed): a refused connect's 502s, a keep-alive race's. Each front's relay is followed hop by hop
 * (relayClosure), so a front two proxies up is counted too. The detector that explains those
 * failures explains their relays as well (intermittent-5xx leaves them out): saying where they
 * went keeps them counted somewhere.
 */
export function relayedToClientsText(legs: ProxyLegs, explained: ReadonlySet<string>): string {
  if (explained.size === 0) return '';
  const relayed = relayClosure(explained, legs.relays());
  if (relayed.size === 0) return '';
  const byFront = new Map<string, number>();
  for (const p of legs.pair()) if (relayed.has(failureKey(p.failure))) byFront.set(p.failure.server, (byFront.get(p.failure.server) ?? 0) + 1);
  return [...byFront].map(([front, n]) => `${front} relayed ${n} of them to its clients`).join(', ');
}

/**
 * Whether a failure's upstream attempts during its wait were refused: paired in phase `connect`,
 * its connect attempt (or one of its retries) among `refused` (flows whose SYN the backend's port
 * answered with RST: connection-refused's findings).
 */
export function refusedConnect(p: PairedFailure, refused: ReadonlySet<number>): boolean {
  if (p.phase !== 'connect' || p.leg === null) return false;
  return refused.has(p.leg.flowId) || p.retries.some((a) => refused.has(a.leg.flowId));
}

function unpaired(failure: DownstreamFailure, phase: LegPhase): PairedFailure {
  return { failure, phase, leg: null, legRequest: null, uriMatched: false, concurrentAtRequest: 0, concurrentMaxDuringWait: 0, retries: [], staleLeg: null };
}

/**
 * The pooled upstream connection a proxy's pool most likely picked for a 5xx it answered at once
 * without sending anything upstream (PairedFailure.staleLeg): one that had carried requests, that
 * the backend closed with a FIN from STALE_PICK_LEAD before the request until the answer, the
 * proxy having sent nothing on it since before that FIN (an idle close, no request pending or
 * written after it). The nearest such close to the request that no earlier failure was given
 * (`picked`), else the nearest: a pool hands each closed connection to one request, but several
 * requests may fail on one close where the capture shows fewer. Null when none.
 */
function stalePickOf(f: DownstreamFailure, legs: readonly UpstreamLeg[], picked: ReadonlySet<UpstreamLeg>): UpstreamLeg | null {
  if (f.how !== 'status' || f.delay > STALE_PICK_FAILS_WITHIN) return null;
  let best: UpstreamLeg | null = null;
  let bestFree: UpstreamLeg | null = null;
  const apart = (leg: UpstreamLeg): number => Math.abs(leg.closeTs - f.requestStart);
  for (const leg of legs) {
    if (leg.closedBy !== 'backend' || leg.closedWith !== 'FIN' || leg.requestCount === 0 || !upstreamOf(leg, f.server)) continue;
    if (leg.closeTs < f.requestStart - STALE_PICK_LEAD || leg.closeTs > f.failTs || leg.proxyDataTo > leg.closeTs) continue;
    if (best === null || apart(leg) < apart(best)) best = leg;
    if (!picked.has(leg) && (bestFree === null || apart(leg) < apart(bestFree))) bestFree = leg;
  }
  return bestFree ?? best;
}

/** When an upstream attempt ended: its close, else its last packet (a SYN never answered), else its opening. */
function attemptEnd(leg: UpstreamLeg): number {
  if (Number.isFinite(leg.closeTs)) return leg.closeTs;
  return leg.lastTs !== undefined && Number.isFinite(leg.lastTs) ? leg.lastTs : leg.openTs;
}

/**
 * How long each attempt of a paired failure lasted before the proxy gave up on it: a read attempt
 * from the end of its request to the proxy's close of that connection, a connect attempt from its
 * opening to the next attempt's (the last one to the proxy's answer). Null for an attempt whose end
 * the capture does not show.
 */
export function attemptWaits(p: Omit<PairedFailure, 'phase'>): Array<number | null> {
  if (p.leg === null) return [];
  const attempts: UpstreamAttempt[] = [{ leg: p.leg, request: p.legRequest }, ...p.retries];
  return attempts.map((a, i) => {
    if (a.request !== null) {
      const leg = a.leg;
      return leg.closedBy === 'proxy' && Number.isFinite(leg.closeTs) ? leg.closeTs - (a.request.end ?? a.request.start) : null;
    }
    const end = i + 1 < attempts.length ? attempts[i + 1].leg.openTs : p.failure.failTs;
    return end - a.leg.openTs;
  });
}

/**
 * Whether the upstream copy `r` was answered by `ts`. Not by a response that began after the proxy
 * had closed the leg: the proxy had given up, and the backend's answer to its close came too late
 * (Go's handlers write what they have when the request's context is cancelled: nginx's 504 at
 * `proxy_read_timeout` left 0.1 ms after such a 200 reached it).
 */
/**
 * The answers a proxy gave its own clients at one proxy address (its endpoints on `ip`), to tell
 * an upstream request whose answer the proxy read and relayed to one of them: the same method and
 * target, answered by the proxy with that status within RELAY_LAG after the upstream answer, to a
 * request that reached the proxy before the upstream copy left it. Each of the proxy's answers
 * relays one upstream answer (the first asking takes it). Built once per pairing, from the
 * remembered requests (bounded: RequestIndex keeps a bounded ring).
 */
class RelayedAnswers {
  /** The proxy's answered requests by endpoint and method, by when its answer began. */
  private readonly byKey = new Map<string, RememberedRequest[]>();
  private readonly taken = new Set<RememberedRequest>();
  /** The verdict on each upstream request asked about (one failure after another asks again). */
  private readonly verdicts = new Map<LegRequest, boolean>();

  constructor(all: readonly RememberedRequest[], ip: string) {
    for (const r of all) {
      if (r.responseStart === null || r.status === null || isGatewayStatus(r.status) || hostOf(r.server) !== ip) continue;
      const key = `${r.server} ${r.method}`;
      const list = this.byKey.get(key);
      if (list === undefined) this.byKey.set(key, [r]);
      else list.push(r);
    }
    for (const list of this.byKey.values()) list.sort((a, b) => (a.responseStart ?? 0) - (b.responseStart ?? 0));
  }

  /**
   * Whether upstream request `r`, a copy by method and target of failure `f`'s request, got an
   * answer the proxy read (its head came while the proxy held the connection) and relayed to
   * another of its clients (see the class comment); that answer is then taken.
   */
  explains(r: LegRequest, f: DownstreamFailure): boolean {
    const known = this.verdicts.get(r);
    if (known !== undefined) return known;
    const verdict = this.relayOf(r, f);
    this.verdicts.set(r, verdict);
    return verdict;
  }

  private relayOf(r: LegRequest, f: DownstreamFailure): boolean {
    const at = r.responseStart;
    if (at === null || r.status === null || isGatewayStatus(r.status) || f.method === null) return false;
    if (r.leg.closedBy === 'proxy' && r.leg.closeTs < at) return false;
    const list = this.byKey.get(`${f.server} ${f.method}`);
    if (list === undefined) return false;
    for (let i = firstAtOrAfter(list, at, (d) => d.responseStart ?? 0); i < list.length && (list[i].responseStart ?? 0) <= at + RELAY_LAG; i++) {
      const d = list[i];
      if (this.taken.has(d) || d.flowId === f.flowId || d.status !== r.status || d.ts > r.start || !sameTarget(r.uri, d.uri)) continue;
      this.taken.add(d);
      return true;
    }
    return false;
  }
}

function answeredBefore(r: LegRequest, ts: number): boolean {
  if (r.responseStart === null || r.responseStart > ts) return false;
  return !(r.leg.closedBy === 'proxy' && r.leg.closeTs < r.responseStart);
}

/** Established backend connections open at `from`, and the most open at once during [from, to]. */
/**
 * Whether a connection from the proxy's address is one of its upstream legs as seen from the
 * endpoint `proxy` it listens on: not a connection to that endpoint itself (a client that shares
 * the proxy's address, e.g. everything on 127.0.0.1, is on the downstream side).
 */
function upstreamOf(leg: UpstreamLeg, proxy: string): boolean {
  return leg.server !== proxy;
}

/** A request a proxy received, as loopsBack compares it (a DownstreamFailure, or what forwardedDuring was asked). */
export interface LoopFront {
  server: string;
  client: string | null;
  flowId?: number;
  method: string | null;
  uri: string | null;
  requestStart: number;
  /** When the proxy failed it (its error status, or its close). */
  failTs?: number;
}

/** When upstream request `r` met its end on its own server's side: its answer, or that server's close; null for neither (the proxy closed first). */
function outcomeOf(r: LegRequest): number | null {
  if (r.responseStart !== null) return r.responseStart;
  return r.leg.closedBy === 'backend' && Number.isFinite(r.leg.closeTs) ? r.leg.closeTs : null;
}

/**
 * How much upstream request `r` looks like a proxy's copy of the request `front` it received,
 * 0 to 4, one point for each:
 * - it carries a proxy's tells (LegRequest.proxyTells: X-Forwarded-For, Via, nginx's HTTP/1.0 with
 *   Connection: close);
 * - its connection was not opened before the front request began: a proxy opens a new upstream
 *   connection for a request once it has it (or reuses a pooled one: a later request on it);
 * - its target is the front's as sent (a rewrite, a prefix stripped or added, still matches, but
 *   less surely);
 * - its own end (an answer, or its server's close) came before the proxy failed the front: nginx
 *   answers 502 after its backend closed, where a "proxy" whose "copy" was answered only after it
 *   had failed its client did not wait for it.
 * Used to choose among several copies, and to tell which of two servers is the proxy (loopsBack).
 */
function copyScore(front: { requestStart: number; uri: string | null; failTs?: number }, r: LegRequest): number {
  let score = r.proxyTells !== undefined && r.proxyTells !== 0 ? 1 : 0;
  if (r.index > 1 || r.leg.openTs >= front.requestStart) score++;
  if (r.uri === front.uri) score++;
  const end = outcomeOf(r);
  if (end !== null && front.failTs !== undefined && end <= front.failTs) score++;
  return score;
}

function concurrency(legs: readonly UpstreamLeg[], from: number, to: number): [number, number] {
  let atFrom = 0;
  const events: Array<[number, number]> = [];
  for (const leg of legs) {
    if (!leg.established || leg.openTs > to || leg.closeTs <= from) continue;
    if (leg.openTs <= from) atFrom++;
    else events.push([leg.openTs, 1]);
    if (leg.closeTs <= to) events.push([leg.closeTs, -1]);
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = atFrom;
  let max = atFrom;
  for (const [, delta] of events) {
    open += delta;
    if (open > max) max = open;
  }
  return [atFrom, max];
}

/**
 * The first FIN or RST of a connection (at or after `notBefore`), and who sent it. A FIN the
 * capture missed but a sequence number proves (Endpoint.finUnseen) counts, at the moment it was
 * proven (Endpoint.finUnseenTs: the latest it can have been sent), and `unseen` says so; it goes
 * before any other close at that same moment, which is the very segment that proved it or came
 * after it (the client's FIN that acknowledged the server's, a RST one past it).
 */
export function firstCloseOf(conn: AnalyzedConnection, notBefore = -Infinity): { ts: number; frame: number; byClient: boolean; rst: boolean; unseen: boolean } | null {
  // The earliest of the six closing events at or after notBefore (ties: in this order). Called
  // for every connection that ends: chosen by index, one result object at most.
  const c = conn.client;
  const s = conn.server;
  // A FIN missed: only when none was seen (a seen one is timed itself).
  const cUnseenTs = c.finTs < 0 && c.finUnseen ? c.finUnseenTs : -1;
  const sUnseenTs = s.finTs < 0 && s.finUnseen ? s.finUnseenTs : -1;
  let best = -1;
  let bestTs = Infinity;
  for (let k = 0; k < 6; k++) {
    const ts = k === 0 ? sUnseenTs : k === 1 ? cUnseenTs : k === 2 ? c.finTs : k === 3 ? c.rstTs : k === 4 ? s.finTs : s.rstTs;
    if (ts >= 0 && ts >= notBefore && ts < bestTs) {
      best = k;
      bestTs = ts;
    }
  }
  if (best < 0) return null;
  // The frames are read on every call, the choice only picks one: a first close by another side
  // than the earlier ones, coming after a caller was compiled, would be a read it had never made,
  // and threw its compiled code away.
  const sUnseenFrame = s.finUnseenFrame;
  const cUnseenFrame = c.finUnseenFrame;
  const cFinFrame = c.finFrame;
  const cRstFrame = c.rstFrame;
  const sFinFrame = s.finFrame;
  const sRstFrame = s.rstFrame;
  const frame = best === 0 ? sUnseenFrame : best === 1 ? cUnseenFrame : best === 2 ? cFinFrame : best === 3 ? cRstFrame : best === 4 ? sFinFrame : sRstFrame;
  return { ts: bestTs, frame, byClient: best === 1 || best === 2 || best === 3, rst: best === 3 || best === 5, unseen: best < 2 };
}

/**
 * Groups whose delays together span at most this fraction of the shortest (and at most LATE_SPAN_MAX
 * seconds) are one timer firing late by varying amounts: tinyproxy 1.11's `Timeout 3` ended waits
 * 3.01-3.24 s after the request, more when requests were concurrent (gateway-timeout-tinyproxy,
 * connect-timeout-tinyproxy), which the 2 % clusters cut in two.
 */
const LATE_SPAN_FRACTION = 0.1;
const LATE_SPAN_MAX = 1.05;
/**
 * A timer checked on a periodic tick ends, at one tick, every wait older than its setting: waits of
 * different ages ended at one moment (within ONE_MOMENT of each other), spread over up to a tick
 * (TICK_SPAN_MAX, lighttpd's and Squid's once-a-second checks). lighttpd 1.4.69's read timeout of
 * 3 s ended three requests sent 0.3 s apart at one tick, 5.006, 5.309 and 5.612 s after each
 * (gateway-timeout-lighttpd): beyond a late timer's 10 %, one timer all the same.
 */
const ONE_MOMENT = 0.05;
const TICK_SPAN_MAX = 1.05;

/**
 * Splits items into groups that share a delay (each found by inferTimeout — the tightest large
 * cluster first, then again among the rest): one group per timeout at work. Items in no group of
 * at least `minSamples` are returned as `rest`. A group then takes the groups and the waits that a
 * timer firing late explains (within LATE_SPAN_FRACTION after its shortest), and its value becomes
 * its shortest delay: a timer fires at its timeout or after it, never before.
 */
export function clusterByDelay<T extends { delay: number }>(
  items: readonly T[],
  options: { fraction: number; absolute: number; minSamples: number },
  /**
   * When each wait ended: given, a group also takes the waits (and the groups) that ended at one
   * moment with one of its members and are older by at most a tick (TICK_SPAN_MAX).
   */
  endOf?: (item: T) => number,
): { groups: Array<{ value: InferredValue; members: T[] }>; rest: T[] } {
  const { groups, rest } = tightClusters(items, options);
  if (groups.length === 0) return { groups, rest };
  const lowest = (g: { members: T[] }): number => Math.min(...g.members.map((m) => m.delay));
  groups.sort((a, b) => lowest(a) - lowest(b));
  const out: Array<{ value: InferredValue; members: T[] }> = [];
  let left = rest;
  for (let i = 0; i < groups.length; i++) {
    const group = groups[i];
    const lo = lowest(group);
    const reach = lo + Math.min(LATE_SPAN_FRACTION * lo, LATE_SPAN_MAX);
    let members = group.members;
    // The next groups, and the waits in no group, that lie within the late reach of this one.
    while (i + 1 < groups.length && Math.max(...groups[i + 1].members.map((m) => m.delay)) <= reach) members = [...members, ...groups[++i].members];
    const late = left.filter((r) => r.delay >= lo && r.delay <= reach);
    if (late.length > 0) {
      members = [...members, ...late];
      left = left.filter((r) => r.delay < lo || r.delay > reach);
    }
    if (endOf !== undefined) {
      const sharesMoment = (group: readonly T[], r: T): boolean => group.some((m) => Math.abs(endOf(m) - endOf(r)) <= ONE_MOMENT);
      // A tick ends the waits it finds expired together, whatever their age: at least half of the
      // next group's waits ended at one moment with this one's. One end that happens to fall near
      // another is no tick: two clients with their own timers, running at once, do that by chance
      // (requests' 1.5 s and curl's 2 s to one server, 49.6 ms apart once in unanswered-request-tls-client-timeouts).
      const sharedByHalf = (next: readonly T[]): boolean => 2 * next.filter((r) => sharesMoment(members, r)).length >= next.length;
      while (i + 1 < groups.length && groups[i + 1].members.every((m) => m.delay <= lo + TICK_SPAN_MAX) && sharedByHalf(groups[i + 1].members)) {
        members = [...members, ...groups[++i].members];
      }
      // The waits within a tick that ended at one moment with a member, or with one so taken:
      // chains of ends at most ONE_MOMENT apart, sorted once (a burst of thousands stays linear).
      const candidates = left.filter((r) => r.delay >= lo && r.delay <= lo + TICK_SPAN_MAX);
      if (candidates.length > 0) {
        const memberSet = new Set<T>(members);
        const taken = new Set<T>();
        for (const chain of atOneMoment([...members, ...candidates], endOf, ONE_MOMENT)) {
          if (chain.some((x) => memberSet.has(x))) for (const x of chain) if (!memberSet.has(x)) taken.add(x);
        }
        if (taken.size > 0) {
          members = [...members, ...candidates.filter((x) => taken.has(x))];
          left = left.filter((x) => !taken.has(x));
        }
      }
    }
    if (members === group.members) {
      out.push(group);
      continue;
    }
    const hi = Math.max(...members.map((m) => m.delay));
    out.push({ value: { value: lo, samples: members.length, spread: hi - lo }, members });
  }
  return { groups: out, rest: left };
}

function tightClusters<T extends { delay: number }>(
  items: readonly T[],
  options: { fraction: number; absolute: number; minSamples: number },
): { groups: Array<{ value: InferredValue; members: T[] }>; rest: T[] } {
  let rest = [...items];
  const groups: Array<{ value: InferredValue; members: T[] }> = [];
  while (rest.length > 0) {
    const value = inferTimeout(rest.map((i) => i.delay), options);
    if (value === null) break;
    // The cluster is the run of `samples` sorted delays that is `spread` wide around the median.
    const sorted = rest.map((i) => i.delay).sort((a, b) => a - b);
    let min = NaN;
    let max = NaN;
    for (let i = 0; i + value.samples <= sorted.length; i++) {
      const run = sorted.slice(i, i + value.samples);
      if (run[run.length - 1] - run[0] === value.spread && median(run) === value.value) {
        min = run[0];
        max = run[run.length - 1];
        break;
      }
    }
    if (Number.isNaN(min)) break;
    groups.push({ value, members: rest.filter((i) => i.delay >= min && i.delay <= max) });
    rest = rest.filter((i) => i.delay < min || i.delay > max);
  }
  return { groups, rest };
}
