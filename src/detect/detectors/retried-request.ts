import type { AnalyzedConnection } from '../analyzed-connection';
import { handshakeCapturePosition } from '../../flow/capture-point';
import type { DetectorDefinition } from '../detector';
import { at, captureLossNote, captureLostOn, hostOf, isIdempotent, ms, startedMidStream } from '../facts';
import { resetFromOtherHost } from '../path-reset';
import type { CaptureLossScope } from '../facts';
import type { Finding } from '../finding';
import { statusClassEvidence, type HttpExchange } from '../../http/exchange';
import { sharedProxyLegs } from '../proxy-legs';
import { sharedRecentOpens } from '../recent-opens';
import { AT_ONCE, atItsPace, EndpointWords, FailureMoment, mayReactTo, PACE_MIN, REQUEST_INDEX, RememberedRequest, RequestIndex, RequestSignature, sameSender } from '../request-index';
import { sharedLazyArrivalFlows } from './keepalive-race';

/**
 * retried-request: the same request (method, URI, body length) from the same client host to the
 * same server, sent again on another connection shortly after it failed on one (no response:
 * reset, closed, keep-alive race). A retry is how clients hide the failures above; for a
 * non-idempotent method it is also a risk of doing the thing twice.
 *
 * Exchanges that failed are only emitted when their connection is released (a reset connection
 * lingers in the flow table), usually after the retry has completed; a retry that itself fails
 * is emitted late too. So both sides are remembered, in bounded indexes: recent requests by
 * signature, and failures still waiting for their retry.
 */

/** How a request failed: the moment its client could tell, and what it saw. */
export interface RequestFailure {
  /** First close (RST or FIN, either side) at or after the request; the last packet when there was none. */
  at: number;
  frame: number;
  how: 'server-reset' | 'server-closed' | 'server-closed-before' | 'client-reset' | 'client-closed' | 'connection-died';
  /** The response's head had reached the client before the close: its body was cut (see failureOf's `cutToo`). */
  cut: boolean;
  /** The client's own close (FIN or RST) at or after `at`, when its program had the error (-1: none). */
  clientClosedAt: number;
  /**
   * A reset in the server's name whose IP TTL is not that of the server's packets on the
   * connection (reset-origin.ts): the path's (a NAT gateway or firewall), told so, not "the server
   * reset" (blind round 17, s04: next to middlebox-idle-timeout's "reset by the path").
   */
  resetByPath?: true;
}

/**
 * Whether `ex` is a request that failed on its connection (no complete response, and the connection
 * ended or was closed after it), and how. Null for a request still open at capture end. A response
 * whose head came before the close (its body cut) counts only with `cutToo` (see resentAfterCut).
 */
export function failureOf(ex: HttpExchange, conn: AnalyzedConnection, cutToo = false): RequestFailure | null {
  if (ex.requestStart === null || ex.uncertain) return null;
  // A request whose declared body did not all leave its client (the server closed or reset first:
  // EPIPE) failed too, when the server ended it; a client that stopped sending gave up itself.
  const bodyUnsent = ex.state === 'request-incomplete' && ex.requestLength !== undefined && ex.responseStart === null;
  if (ex.state !== 'no-response' && ex.state !== 'response-incomplete' && !bodyUnsent) return null;
  const t = ex.requestStart;
  const s = conn.server;
  const c = conn.client;
  // The first close (RST or FIN, either side) at or after the request. A server that closed
  // before the request (keep-alive race) and then reset it: the RST decides.
  const clientClosed = (after: number): number => {
    const fin = c.finTs >= after ? c.finTs : -1;
    const rst = c.rstTs >= after ? c.rstTs : -1;
    return fin < 0 ? rst : rst < 0 ? fin : Math.min(fin, rst);
  };
  const closes: Array<[number, number, RequestFailure['how']]> = [
    [s.rstTs, s.rstFrame, 'server-reset'],
    [s.finTs, s.finFrame, 'server-closed'],
    [c.rstTs, c.rstFrame, 'client-reset'],
    [c.finTs, c.finFrame, 'client-closed'],
  ];
  let best: RequestFailure | null = null;
  for (const [ts, frame, how] of closes) {
    if (ts >= t && (best === null || ts < best.at)) best = { at: ts, frame, how, cut: false, clientClosedAt: -1 };
  }
  if (best !== null && best.how === 'server-reset' && resetFromOtherHost(s)) best.resetByPath = true;
  // A client that had the response's head (a status) before the close had its answer: what it does
  // next is its answer to that, not a retry of a request that got none. So for a client that closed
  // after the head (tinyproxy's close-delimited 500, which curl resets after reading the head:
  // connect-tunnel-failures), and for a response the server cut short: retry logic resends only a
  // request that got no answer (Go's Transport, libcurl, OkHttp); curl reports "transfer closed with
  // outstanding read data remaining" (18), Go "unexpected EOF", and the same request next is its
  // caller's next call (a loop of downloads whose every response is cut at a send timeout).
  // Only retry logic that reads the body inside its retry loop resends after that, and only at once
  // (Ruby's Net::HTTP: see resentAfterCut); `cutToo` asks for such failures too.
  const cut = ex.status !== null && ex.responseStart !== null && (best === null || ex.responseStart <= best.at);
  if (cut && (!cutToo || best === null || ex.state !== 'response-incomplete')) return null;
  if (best === null) {
    // Still open (or let go by the analysis at its connection cap, not by the connection): not (yet) a failure.
    if (!conn.ended || conn.endReason === 'capture-end' || conn.endReason === 'evicted' || bodyUnsent) return null;
    return { at: conn.lastTs, frame: conn.lastFrame, how: 'connection-died', cut: false, clientClosedAt: -1 };
  }
  best.cut = cut;
  best.clientClosedAt = clientClosed(best.at);
  if (bodyUnsent && best.how !== 'server-reset' && best.how !== 'server-closed') return null;
  // A server that closed before the request and then read and dropped it (a lingering close, no
  // RST) left the client only its own close to find: the failure is still the server's close.
  if ((best.how === 'client-closed' || best.how === 'client-reset') && s.finTs >= 0 && s.finTs < t) {
    return { at: best.at, frame: best.frame, how: 'server-closed-before', cut: false, clientClosedAt: best.clientClosedAt };
  }
  return best;
}

interface PendingFailure {
  /** Signature hash of the failed request (see request-index.ts). */
  hash: number;
  flowId: number;
  client: string;
  request: RememberedRequest;
  failure: RequestFailure;
  /** The keep-alive race finding on the failed connection, if any. */
  raceId: string | null;
  /** How long its client had paused before it (see pauseBefore; null: unknown). */
  pause: number | null;
  /**
   * A failure whose retry this failed request seemed to be, held back (see holdsBack): reported
   * once this request's own next attempt shows it was no loop iteration.
   */
  heldBack: PendingFailure | null;
  /**
   * The failure of the attempt before this one when this request was its next attempt: held back
   * (heldBack) or already known as a step of its client's loop (see continuesLoop).
   */
  previous: PendingFailure | null;
  /**
   * Why its failure (no response before the close) may be the capture's: packets of its connection
   * lost, or a start mid-stream in a capture that lost packets (pairing may be one off). Null: seen whole.
   */
  captureLoss: CaptureLossScope | null;
  /** Round trip from the capture point to the failed connection's client (FailureMoment.clientRtt). */
  clientRtt: number;
}

/** The failure of `failed` as mayReactTo judges a next attempt by it. */
function failureMoment(failed: PendingFailure): FailureMoment {
  return { at: failed.failure.at, byServer: serverEnded(failed.failure), clientRtt: failed.clientRtt };
}

/** Whether the server's close after the request ended it (its client learnt of it when that arrived). */
export function serverEnded(failure: RequestFailure): boolean {
  return failure.how === 'server-reset' || failure.how === 'server-closed';
}

/**
 * Whether the client itself ended the wait (it closed or reset first, with no answer): its own
 * timeout, not a failure the server made.
 */
function gaveUp(failure: RequestFailure): boolean {
  return failure.how === 'client-closed' || failure.how === 'client-reset';
}

/** How long after `gaveUpAt` the next attempt's first packet left: its new connection's SYN, or the request on one opened before. */
function firstPacketAfter(gaveUpAt: number, next: Pick<RememberedRequest, 'connectionStart' | 'ts'>): number {
  return (next.connectionStart >= gaveUpAt ? next.connectionStart : next.ts) - gaveUpAt;
}

/** Whether `next` went out at once after its client's give-up at `gaveUpAt` (see AT_ONCE). */
function sentAtOnce(gaveUpAt: number, next: Pick<RememberedRequest, 'connectionStart' | 'ts'>): boolean {
  return firstPacketAfter(gaveUpAt, next) < AT_ONCE;
}

/**
 * Whether `next` came a think time after its client's own give-up on `failed` (its timeout closed
 * the connection): the give-up handed its caller the error, and the caller called again after a
 * pause of its own (a loop: close, sleep, next call). Retry logic that resends after its own
 * timeout does so at once (Net::HTTP, Traffic Server, urllib3's first retry) or after a first
 * backoff of milliseconds (Envoy's 25 ms base); what comes under PACE_MIN is held back instead (see holdsBack).
 */
function afterThinkTime(failed: PendingFailure, next: Pick<RememberedRequest, 'connectionStart' | 'ts'>): boolean {
  return gaveUp(failed.failure) && firstPacketAfter(failed.failure.at, next) >= PACE_MIN;
}

/**
 * Expected coincidental matches at or above this: a match that chance would give as often tells
 * nothing of a retry.
 */
const CHANCE_MAX = 0.05;

/** Whether `next` opened a brand-new connection at once after the failure and sent on it as soon as it was up: a library's immediate resend. */
function freshAtOnce(failedAt: number, next: RememberedRequest): boolean {
  return (
    next.index === 1 && next.connectionStart >= failedAt && next.connectionStart - failedAt < AT_ONCE &&
    next.ts - next.connectionReadyAt < AT_ONCE
  );
}

/**
 * Whether the match of `failed` (failed at `failedAt`) with `next` is what chance gives: its client
 * host sends that same request to that server so often (its rate over the time it is active around
 * the failure, see RequestIndex.sameRequestRate) that a copy is expected within the delay: many
 * threads or clients behind one address fetching the same page on connections of their own, whose
 * next calls fall right after another's failure. Or its copies come in company so often (see
 * RequestIndex.sameRequestTogether): clients that wake on one schedule send theirs together, so one
 * copy right after another's failure is as likely as one right after another's success (four
 * Python clients behind one address, each sleeping 0.3, 1.5 or 4.5 s from one start: one's
 * scheduled GET on its open connection 2 ms after another's keep-alive race was no retry, blind
 * round 14 scene 9). The delay counts as at least AT_ONCE: on a
 * connection already open, a copy within the window a library's immediate resend lands in says no
 * more than one at its end. A busy host's match is kept only as a brand-new connection opened at
 * once after the failure (freshAtOnce: its SYN shows the reaction itself) when that host opens
 * fresh connections for that request rarely enough that one so soon is not expected by chance.
 */
export function matchByChance(
  index: RequestIndex, failed: RequestSignature & { flowId: number }, hash: number, failedAt: number, next: RememberedRequest,
): boolean {
  const rate = index.sameRequestRate(failed, hash, failedAt, failed.flowId, next.flowId);
  const delay = next.ts - failedAt;
  const within = Math.max(delay, AT_ONCE);
  // Clients on a common schedule send their copies together, which no rate tells: how often a copy
  // followed another that was answered, as soon as this one followed the failure.
  if (rate.all * within < CHANCE_MAX && index.sameRequestTogether(failed, hash, failedAt, within, next.entry) < CHANCE_MAX) return false;
  // A brand-new connection at once is judged by the rate alone: a fleet that starts together opens
  // its first connections together once, which says nothing of when it opens the next ones.
  return !freshAtOnce(failedAt, next) || rate.fresh * delay >= CHANCE_MAX;
}

/**
 * Whether `next` retries a request whose response was cut after its head (`failed.failure.cut`).
 * Most retry logic resends only a request that got no answer (Go's Transport, libcurl, OkHttp,
 * urllib3: the body is read by their caller, outside it); the same request next is then the caller's
 * next call (a loop of downloads whose every response is cut at a send timeout). Ruby's Net::HTTP
 * reads the body inside its retry loop and resends an idempotent request once on an EOF or a reset
 * mid-body, in the same breath as it closes the broken socket (its SYN 0.1 ms after its FIN, blind
 * round 15 S15: Varnish's between_bytes_timeout cut both copies). So only a resend on a brand-new
 * connection opened at once after its client's own close (AT_ONCE; without a close of its own, once
 * the server's close could reach it), and sent as soon as that connection was up, counts; and only
 * from a client known to pause between its calls (PACE_MIN): a loop without a pause calls again as
 * soon, and one whose pace is unknown may be one.
 */
function resentAfterCut(failed: PendingFailure, next: RememberedRequest): boolean {
  const { failure } = failed;
  if (failed.pause === null || failed.pause < PACE_MIN || next.index !== 1) return false;
  const since = failure.clientClosedAt >= 0 ? next.connectionStart - failure.clientClosedAt : next.connectionStart - failure.at - failed.clientRtt;
  return since >= -AT_ONCE && since < AT_ONCE && next.ts - next.connectionReadyAt < AT_ONCE;
}

/** How long the client waited for the request before it failed. */
function waited(f: PendingFailure): number {
  return f.failure.at - f.request.ts;
}

/**
 * Whether two waits ended at the same timeout: client timers fire within milliseconds of their
 * setting (curl's `--max-time` 1.3 s ended 1.293–1.302 s after each request).
 */
function sameTimeout(a: number, b: number): boolean {
  return Math.abs(a - b) <= Math.max(0.01, 0.1 * Math.max(a, b));
}

/** Whether two pauses between a give-up and the next attempt are one cadence (a factor of two, or a few ms apart). */
function sameSpacing(a: number, b: number): boolean {
  return Math.abs(a - b) <= 0.005 || (b >= 0.5 * a && b <= 2 * a);
}

/**
 * Whether the attempt `next` after `failed` makes three attempts in a run, each ended by its
 * client's own give-up at the same timeout and each sent, not at once (see AT_ONCE), as long after
 * the give-up before it: a loop (curl --max-time in a shell loop, 15 ms apart), whatever its pace.
 * Retry logic that resends after its own timeout does so at once (Traffic Server's connect
 * attempts, Net::HTTP's max_retries) or after a backoff that grows.
 */
function sameGiveUpStep(previous: PendingFailure, failed: PendingFailure, next: Pick<RememberedRequest, 'connectionStart' | 'ts'>): boolean {
  return (
    gaveUp(previous.failure) && gaveUp(failed.failure) && sameTimeout(waited(previous), waited(failed)) &&
    !sentAtOnce(previous.failure.at, failed.request) && !sentAtOnce(failed.failure.at, next) &&
    sameSpacing(failed.request.ts - previous.failure.at, next.ts - failed.failure.at)
  );
}

/**
 * Whether the next attempt after `failed` is its client's next loop iteration: it came at the
 * pause that led to `failed` (atItsPace), or it completes a run of give-ups (sameGiveUpStep).
 */
function continuesLoop(failed: PendingFailure, next: RememberedRequest): boolean {
  const previous = failed.previous;
  if (previous === null) return false;
  return atItsPace(failed.pause, failed.failure.at, next.ts) || sameGiveUpStep(previous, failed, next);
}

/** Failures waiting for their retry to be emitted; the oldest are dropped past this many. */
const MAX_PENDING_FAILURES = 1024;
/** Retries held back, and pauses carried along retry chains, kept at most. */
const MAX_HELD = 1024;
/** Unanswered requests of one connection considered (pipelined ones behind the first add little). */
const MAX_UNANSWERED_PER_CONNECTION = 8;

/** A 'server-reset' whose RST came from another hop (RequestFailure.resetByPath). */
const RESET_BY_PATH_TEXT = 'a RST in the server\'s name from the path reset the connection: its IP TTL is not that of the server\'s packets';

const FAILURE_TEXT: Record<RequestFailure['how'], string> = {
  'server-reset': 'the server reset the connection',
  'server-closed': 'the server closed the connection',
  'server-closed-before': 'the server had closed the connection before the request reached it',
  'client-reset': 'the client reset the connection',
  'client-closed': 'the client closed the connection',
  'connection-died': 'the connection went silent',
};

export const retriedRequest: DetectorDefinition = {
  id: 'retried-request',
  meta: {
    description:
      'The same request (method, URI, body length) is sent again on another connection from the same client host (and the same program, where its User-Agent, HTTP version and Connection header tell) shortly after it failed on one (no response: reset, closed, keep-alive race).',
    severity: 'info',
    messages: {
      retry: '{request} sent again on another connection {after} s after it failed on {failedOn} ({failure}){risk}',
    },
  },
  create(ctx) {
    const window = ctx.options.retryWindow;
    const index = ctx.shared(REQUEST_INDEX, () => new RequestIndex());
    const legs = sharedProxyLegs(ctx);
    /**
     * A sequential client that sent other requests between the failure and the next attempt had
     * moved on: no retry. Nor is a copy another program sent (another `User-Agent`, HTTP version
     * or `Connection` header, see sameSender): two programs on one host fetch the same URLs.
     */
    const movedOn = (failed: RememberedRequest, failedAt: number, next: RememberedRequest, pair: EndpointWords): boolean =>
      !sameSender(failed, next) ||
      index.movedOnBetween(failed, failedAt, next.ts, opens.openedBetween(pair, failedAt, next.connectionStart >= failedAt ? next.connectionStart : next.ts));
    /**
     * Connections each client host opened to each server: one opened between a failure and its
     * next attempt carried a call in between even when its exchange comes later (a connection that
     * lingers is released long after it was used: an upload the server timed out).
     */
    const opens = sharedRecentOpens(ctx);
    const pending = new Map<number, PendingFailure[]>();
    let pendingCount = 0;
    /**
     * Retries reported whose own outcome was not known yet, by entry: the pause their client made
     * before the first attempt. A retry that fails in turn is no step of its client's pace: the
     * client's next call after it comes at the pause it made before the first attempt (Go's
     * Transport resends once at once; its caller's loop goes on 0.3 s later).
     */
    const chainPause = new Map<number, number | null>();
    /** Next attempts held back (see holdsBack), by entry: the failure each would retry. */
    const heldBack = new Map<number, PendingFailure>();
    /**
     * Next attempts known as loop iterations (see continuesLoop), by entry: the failure of the
     * iteration before, so that the loop's next step is told by the same spacing.
     */
    const loopSteps = new Map<number, PendingFailure>();
    /**
     * Unanswered requests by connection, judged when the connection ends: an exchange may be decided
     * (the server had already closed) before the close that tells the client it failed (the RST), and
     * by then the race detector has spoken for the connection. Bounded by live connections.
     */
    const unanswered = new Map<number, Array<{ request: RememberedRequest; ex: HttpExchange }>>();

    /**
     * Retries whose failed attempt's connection keepalive-race still holds for the capture's end (a
     * close on arrival judged then, see sharedLazyArrivalFlows): what the retry means rests on
     * whether that was a race, so they are reported once keepalive-race (run first) has finished.
     */
    const awaitingRace: Array<{ failed: PendingFailure; retry: RememberedRequest }> = [];
    const lazyFlows = sharedLazyArrivalFlows(ctx);

    /**
     * A proxy's forwards of its client's resends (see clientResendOf), held to the end: each is that
     * client's retry, reported on the leg where the client made it, unless no retry was reported there.
     */
    const forwardsOfResends: Array<{ failed: PendingFailure; retry: RememberedRequest; downFlow: number }> = [];

    /**
     * The connection a proxy's client resent a request on, when `retry` (upstream) is the proxy's
     * forward of that resend: both attempts upstream are copies of requests the proxy had received,
     * on two client connections of one client host (HAProxy closed its client's connection after a
     * race upstream, and urllib3 sent the GET again on a new one: blind round 16, pools S20). The
     * client's retry is the one retry; a proxy that retried by itself sends one received request twice.
     */
    const clientResendOf = (failed: PendingFailure, retry: RememberedRequest): number | null => {
      const down = legs.downstreamOf({ client: retry.client, server: retry.server, method: retry.method, uri: retry.uri, start: retry.ts });
      if (down === null) return null;
      const first = failed.request;
      const downFirst = legs.downstreamOf({ client: first.client, server: first.server, method: first.method, uri: first.uri, start: first.ts });
      if (downFirst === null || downFirst.flowId === down.flowId || hostOf(downFirst.client) !== hostOf(down.client)) return null;
      return down.flowId;
    };

    const report = (failed: PendingFailure, retry: RememberedRequest): void => {
      const downFlow = forwardsOfResends.length < MAX_HELD ? clientResendOf(failed, retry) : null;
      if (downFlow !== null) {
        index.claim(retry);
        forwardsOfResends.push({ failed, retry, downFlow });
        return;
      }
      if (failed.raceId === null && lazyFlows.has(failed.flowId) && awaitingRace.length < MAX_HELD) {
        index.claim(retry);
        awaitingRace.push({ failed, retry });
        return;
      }
      reportNow(failed, retry);
    };

    /** The proxy's forward of a retry its client sent it (the upstream copy's connection and server), or nothing. */
    const forwardEvidence = (retry: RememberedRequest): Record<string, string | number> => {
      // The proxy's forward, already judged a retry upstream (held: see clientResendOf), with the race its first copy met there.
      const held = forwardsOfResends.find((h) => h.downFlow === retry.flowId);
      const copy = held !== undefined ? { flowId: held.retry.flowId, server: held.retry.server } : (() => {
        const r = legs.forwardedDuring(retry.server, retry.method, retry.uri, retry.ts, retry.responseStart ?? retry.ts + window, retry.client);
        return r === null ? null : { flowId: r.leg.flowId, server: r.leg.server };
      })();
      // (A race upstream that this forward sent again names it: keepalive-race's retriedOnFlow.)
      return copy === null ? {} : { retryForwardedOnFlow: copy.flowId, retryForwardedTo: copy.server };
    };

    const reportNow = (failed: PendingFailure, retry: RememberedRequest): Finding => {
      index.claim(retry);
      const idempotent = isIdempotent(retry.method);
      // A request with an Idempotency-Key header asks the server to apply it once however often it
      // comes: its client retries it on that contract (Go's Transport does, transparently), which
      // is no blind retry, but holds only if the server honours the key.
      const keyed = !idempotent && retry.idempotencyKey;
      // A first attempt that met the server's idle close (keepalive-race: it came after the server's
      // FIN, or as its idle timer closed the connection without reading it) never reached the
      // server's application: the retry was the only one to reach it (libcurl replays a POST so by itself).
      const racedAny = !idempotent && !keyed && failed.raceId !== null;
      // Unless the race shows the server had it: closed on arrival by a FIN alone that acknowledged
      // it (no RST: nothing unread), which an application that read the request and hung up sends
      // too; then whether the first copy was acted on is unknown (blind round 12, S8).
      const race = racedAny ? ctx.findings('keepalive-race').find((f) => f.id === failed.raceId) : undefined;
      const readFirst = race !== undefined && race.evidence.form === 'closed-on-arrival' && race.evidence.closedWith === 'FIN' && race.evidence.outcome === 'closed';
      const raced = racedAny && !readFirst;
      const uncertain = failed.captureLoss;
      const after = retry.ts - failed.failure.at;
      // Its exchange ended without an answer (one still in flight at the capture's end is not known to have failed).
      const failedToo = retry.unanswered;
      return ctx.report({
        flowId: retry.flowId,
        client: retry.client,
        server: retry.server,
        ts: retry.ts,
        message: 'retry',
        data: {
          request: `${retry.method} ${retry.uri}`,
          after: ms(after),
          failedOn: failed.client,
          failure: (failed.failure.resetByPath === true ? RESET_BY_PATH_TEXT : FAILURE_TEXT[failed.failure.how]) + (failed.failure.cut ? ' in the middle of the response, after its head' : '') + (retry.server !== failed.request.server ? `; a proxy sent it on to another backend, ${retry.server}` : ''),
          risk: (idempotent
            ? ''
            : keyed
              ? `; ${retry.method} is not idempotent, but it carried an Idempotency-Key header: the client retried it counting on the server to apply a key only once (Go's Transport retries such requests by itself); that holds only if the server honours the key`
              : raced
                ? `; ${retry.method} is not idempotent, but its first attempt met the server's idle close (${failed.raceId}): the server's application never read it, ` +
                  (failedToo ? 'and this retry got no response either: no attempt was answered' : 'so this retry was the only one to reach it')
                : readFirst
                  ? `; ${retry.method} is not idempotent, and its first attempt was closed on arrival (${failed.raceId}) by a FIN that acknowledged it: the server had it, and whether its application acted on it the capture cannot show, so this retry may have applied it twice`
                  : `; ${retry.method} is not idempotent: a blind retry can apply it twice`) +
            (uncertain !== null ? `; ${captureLossNote(uncertain, 'the failed connection')}: the first attempt may have been answered, and this a new call` : ''),
        },
        // A retry after a race is told with the race (an error; a warning when a proxy absorbed it): info, whatever the first copy became.
        severity: idempotent || keyed || racedAny || uncertain !== null ? 'info' : 'warning',
        evidence: {
          request: `${retry.method} ${retry.uri}`,
          method: retry.method,
          uri: retry.uri,
          requestBodyBytes: retry.bodyBytes,
          idempotent,
          idempotencyKey: retry.idempotencyKey,
          failedFlowId: failed.flowId,
          failedOn: failed.client,
          failure: failed.failure.how,
          ...(failed.failure.cut ? { responseCut: true } : {}),
          ...(failed.failure.resetByPath === true ? { resetByPath: true } : {}),
          failedAt: at(failed.failure.at),
          afterFailure: ms(after),
          afterFirstAttempt: ms(retry.ts - failed.request.ts),
          newConnection: retry.index === 1,
          retryStatus: retry.status,
          ...statusClassEvidence(retry, 'retryStatusClass'),
          keepaliveRace: failed.raceId,
          // Only when the retry went to another server than the attempt: a proxy moving the request on.
          ...(retry.server !== failed.request.server ? { movedToServer: retry.server } : {}),
          // Only where the server is a proxy that forwarded this retry: the copy upstream (not another retry).
          ...forwardEvidence(retry),
          ...(uncertain !== null ? { uncertain: true, captureLoss: uncertain } : {}),
        },
        frames: [failed.request.frame, failed.failure.frame, retry.frame],
      });
    };

    /**
     * Whether a next attempt must wait before it is called a retry: it got no answer either, and
     * its client's pace before the failed request is unknown (its first call here, on a connection
     * of its own) and it came after a pause (not at once, see atItsPace), or the failure was its
     * client's own give-up (a timeout) and it was not sent at once (see AT_ONCE) but within a
     * backoff's milliseconds (later, afterThinkTime rules it out): the next call of a loop that
     * gives up each time comes as soon. A loop whose calls all fail (curl run in a
     * shell loop) shows its pace only by its next call: when the attempt after this one comes as
     * this one came (continuesLoop), both were iterations of the loop. A response that came only
     * after its client had closed (a server slower than the client's timeout) answered nobody.
     */
    const holdsBack = (failed: PendingFailure, next: RememberedRequest): boolean =>
      !next.answered && heldBack.size < MAX_HELD &&
      ((failed.pause === null && next.ts - failed.failure.at >= PACE_MIN) || (gaveUp(failed.failure) && !sentAtOnce(failed.failure.at, next)));

    /**
     * Whether the next attempt went on a connection opened after the failure that its client then
     * held ready and idle before sending: retry logic sends as soon as its new connection is up
     * (Go's Transport, Java's, libcurl: within milliseconds of the handshake); a client that connects
     * and sends later (a pre-connected call, a worker that dials ahead) was making its next call.
     */
    const heldReady = (failed: PendingFailure, next: RememberedRequest): boolean =>
      next.connectionStart >= failed.failure.at && next.ts - next.connectionReadyAt >= PACE_MIN;

    /** Reports a retry, or holds it back (see holdsBack). */
    const judged = (failed: PendingFailure, next: RememberedRequest, pair: EndpointWords): void => {
      // A proxy forwards its client's request upstream before it answers that client, so the
      // client's request may have reached the index only after the failure was noted: ask again.
      if (failed.pause === null) failed.pause = index.pauseOfForwardedClient(failed.request);
      if (failed.failure.cut && !resentAfterCut(failed, next)) return;
      if (
        movedOn(failed.request, failed.failure.at, next, pair) || atItsPace(failed.pause, failed.failure.at, next.ts) ||
        heldReady(failed, next) || afterThinkTime(failed, next) || !mayReactTo(failed.request.ts, failureMoment(failed), next) ||
        matchByChance(index, failed.request, failed.hash, failed.failure.at, next)
      ) return;
      if (holdsBack(failed, next)) {
        index.claim(next);
        heldBack.set(next.entry, failed);
        return;
      }
      report(failed, next);
      if (next.responseStart === null && chainPause.size < MAX_HELD) chainPause.set(next.entry, failed.pause);
    };

    /** Reports a retry held back: its own next attempt (if any) was no iteration of a loop. */
    const release = (failed: PendingFailure | null, next: RememberedRequest): void => {
      if (failed !== null) report(failed, next);
    };

    /**
     * Remembers a next attempt as its loop's next iteration after `failed`: no retry, and the step
     * its own next attempt is judged by.
     */
    const loopStep = (failed: PendingFailure, next: RememberedRequest): void => {
      if (next.answered || loopSteps.size >= MAX_HELD) return;
      loopSteps.set(next.entry, failed);
    };

    /**
     * How long the client paused before a failed request: on a reused connection, its idle time
     * there; for a retry reported, the pause before the first attempt (chainPause); for a next
     * attempt held back, the pause after the failure it followed; else its host's pause between
     * connections (RequestIndex.pauseOnHostBefore).
     */
    const pauseBefore = (request: RememberedRequest, ex: HttpExchange): number | null => {
      const held = heldBack.get(request.entry) ?? loopSteps.get(request.entry);
      if (held !== undefined) return request.ts - held.failure.at;
      if (chainPause.has(request.entry)) {
        const pause = chainPause.get(request.entry) ?? null;
        chainPause.delete(request.entry);
        return pause;
      }
      if (ex.index > 1) return ex.idleBefore;
      const own = index.pauseOnHostBefore(request);
      // A proxy's request on a connection of its own: the pace is its client's, whose call it forwarded.
      return own !== null ? own : index.pauseOfForwardedClient(request);
    };

    /** A failure whose retry may already be known; else it waits (bounded) for one. */
    const handleFailure = (
      request: RememberedRequest, failure: RequestFailure, raceId: string | null, pause: number | null, pair: EndpointWords, captureLoss: CaptureLossScope | null,
      clientRtt: number,
    ): void => {
      const hash = request.hash;
      const held = heldBack.get(request.entry) ?? null;
      const previous = held ?? loopSteps.get(request.entry) ?? null;
      heldBack.delete(request.entry);
      loopSteps.delete(request.entry);
      const failed: PendingFailure = { hash, flowId: request.flowId, client: request.client, request, failure, raceId, pause, heldBack: held, previous, captureLoss, clientRtt };
      const retry = index.firstBetween(request, hash, request.flowId, failure.at, failure.at + window, true, request);
      if (retry !== null) {
        // This request's next attempt as it came itself: both were a loop's iterations.
        if (continuesLoop(failed, retry)) {
          loopStep(failed, retry);
          return;
        }
        release(held, request);
        judged(failed, retry, pair);
        return;
      }
      const list = pending.get(hash);
      if (list === undefined) pending.set(hash, [failed]);
      else list.push(failed);
      pendingCount++;
      if (pendingCount > MAX_PENDING_FAILURES) dropOldestPending();
    };

    const dropOldestPending = (): void => {
      const first = pending.entries().next();
      if (first.done) return;
      const [key, list] = first.value;
      const dropped = list.shift();
      if (dropped !== undefined) release(dropped.heldBack, dropped.request);
      pendingCount--;
      if (list.length === 0) pending.delete(key);
    };

    /** Whether the request of index entry `entry` retries a failure seen earlier (emitted before it). */
    const matchPending = (entry: number, pair: EndpointWords & { id: number }, ts: number): void => {
      const flowId = pair.id;
      const hash = index.hashOf(entry);
      const list = pending.get(hash);
      if (list === undefined) return;
      for (let i = 0; i < list.length; i++) {
        const failed = list[i];
        if (failed.flowId === flowId) continue;
        if (ts < failed.failure.at || ts > failed.failure.at + window) continue;
        if (!index.matches(entry, failed.request)) continue;
        const request = index.request(entry);
        if (request === null) return;
        list.splice(i, 1);
        pendingCount--;
        if (list.length === 0) pending.delete(hash);
        if (continuesLoop(failed, request)) {
          loopStep(failed, request);
          return;
        }
        release(failed.heldBack, failed.request);
        // The next attempt at the request: a retry only if it was its connection's first request since the failure.
        if (index.firstOnItsConnectionSince(entry, failed.failure.at)) judged(failed, request, pair);
        return;
      }
    };

    const raceOn = (flowId: number): string | null => {
      if (!ctx.reportedOn('keepalive-race', flowId)) return null;
      // Races of the connection being released were reported just now, at the end of their list
      // (which holds them when --ignore hides them too: the retry's severity rests on the race).
      const races = ctx.findings('keepalive-race');
      const last = races[races.length - 1];
      return last !== undefined && last.flowId === flowId ? last.id : null;
    };

    /**
     * Failures no retry to the same server answered, at a proxy that sent the request on to another
     * backend right after (nginx `proxy_next_upstream`: a GET whose backend died mid-request went to
     * the next upstream server, dead-upstream-nginx). Their retry is a request to another server, which
     * the signature (it includes the server) does not pair.
     */
    const movedToAnotherServer = (): void => {
      let byConnection: Map<number, RememberedRequest[]> | null = null;
      for (const list of pending.values()) {
        for (const failed of list) {
          release(failed.heldBack, failed.request);
          // A proxy on its own address only: one connecting from another is learned from every request kept, too dear for each failure.
          const r = legs.movedOnAfter(hostOf(failed.client), failed.request.server, failed.failure.at, window, failed.request, false);
          if (r === null) continue;
          if (byConnection === null) {
            byConnection = new Map();
            for (const q of index.all()) {
              const on = byConnection.get(q.flowId);
              if (on === undefined) byConnection.set(q.flowId, [q]);
              else on.push(q);
            }
          }
          const retry = byConnection.get(r.leg.flowId)?.find((q) => q.index === r.index) ?? null;
          if (retry !== null && retry.bodyBytes === failed.request.bodyBytes) report(failed, retry);
        }
      }
      pending.clear();
      pendingCount = 0;
    };

    return {
      onOpen(conn) {
        // Called at the connection's first packet (its SYN), before the flow stage records it.
        opens.add(conn, conn.startTs);
      },
      onFinish() {
        if (pendingCount > 0) movedToAnotherServer();
        // Held back and never failed in turn (still open at capture end): retries after all.
        for (const [entry, failed] of heldBack) {
          const next = index.request(entry);
          if (next !== null) report(failed, next);
        }
        heldBack.clear();
        loopSteps.clear();
        for (const { failed, retry } of awaitingRace) {
          failed.raceId = ctx.findings('keepalive-race').find((f) => f.flowId === failed.flowId)?.id ?? null;
          reportNow(failed, retry);
        }
        awaitingRace.length = 0;
        // A proxy's forward of a resend its client's retry was reported for: that one counts it.
        for (const { failed, retry, downFlow } of forwardsOfResends) {
          if (!ctx.reportedOn('retried-request', downFlow)) reportNow(failed, retry);
        }
        forwardsOfResends.length = 0;
      },
      onExchange(ex, conn) {
        const entry = index.offer(ex, conn);
        if (entry < 0) return;
        if (pendingCount > 0 && ex.requestStart !== null) matchPending(entry, conn, ex.requestStart);
        if (ex.state !== 'no-response' && ex.state !== 'response-incomplete' && !(ex.state === 'request-incomplete' && ex.requestLength !== undefined && ex.responseStart === null)) return;
        const request = index.request(entry);
        if (request === null) return;
        const list = unanswered.get(conn.id);
        if (list === undefined) unanswered.set(conn.id, [{ request, ex }]);
        else if (list.length < MAX_UNANSWERED_PER_CONNECTION) list.push({ request, ex });
      },
      onConnectionEnd(conn) {
        const list = unanswered.get(conn.id);
        if (list === undefined) return;
        unanswered.delete(conn.id);
        const raceId = raceOn(conn.id);
        // A failure is an absence (no response before the close) unless the server reset the
        // request: what the capture may have lost on this connection can hide the response.
        const lossScope: CaptureLossScope | null = captureLostOn(conn) ? 'connection' : startedMidStream(conn) && ctx.captureLossKnown() ? 'mid-stream' : null;
        const clientRtt = handshakeCapturePosition(conn)?.clientRtt ?? 0;
        for (const u of list) {
          // Its client waited until here (a proxy's copy of it upstream must leave before: see RequestCopies).
          index.settleEnd(u.request.entry, conn.lastTs);
          const failure = failureOf(u.ex, conn, true);
          if (failure !== null) handleFailure(u.request, failure, raceId, pauseBefore(u.request, u.ex), conn, failure.how === 'server-reset' ? null : lossScope, clientRtt);
          else {
            // Held back, but it did not fail: no loop iteration shows, so it was a retry.
            const held = heldBack.get(u.request.entry);
            heldBack.delete(u.request.entry);
            loopSteps.delete(u.request.entry);
            chainPause.delete(u.request.entry);
            if (held !== undefined) report(held, u.request);
          }
        }
      },
    };
  },
};
