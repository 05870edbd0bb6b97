import { SERVER_STOPS, ServerStops } from '../server-stops';
import { speaksHttp1, turnEndSeq } from '../encrypted-request';
import type { AnalyzedConnection } from '../analyzed-connection';
import type { DetectContext, DetectorDefinition, FindingInput } from '../detector';
import { at, capturedNear, clientIdleCloseOf, closeMayBeAnnounced, cutNoticeEvidence, endKnownDespiteLoss, fineDuration, firstCloseTs, hostOf, isIdempotent, microsAsMs, ms, peerAckedAll, peerResetAfterReceivingAll, readBefore, requestLine, reusedAfterCutHead, roundTripToServer } from '../facts';
import type { EvidenceValue, Finding, InferredValue } from '../finding';
import { resetFromOtherHost, resetFromPath } from '../path-reset';
import { atOneMoment, BurstSpan, burstSpans, CLOSE_BURST_AGE_RATIO, CLOSE_BURST_MOMENT, closeBurstRuns, heldBelowText, inferTimeout, inferTimeoutRange, settleIdleIntervals, spanAt, TickedSpread, tickedSpread, tickedTimeout } from '../infer-timeout';
import { ClientAgents, ownAgent } from '../client-agents';
import { forwardedByProxy } from '../proxy-tells';
import { PlainProtocol, plainProtocolOf } from '../plain-protocols';
import {
  CLIENT_IDLE_SETTINGS, type FirstClose, knownDefaultsText, matchKnown, KNOWN_IDLE_TIMEOUTS, NO_SERVER_HEADER, nodeServerPattern, nodeServerPatternText, nodeServerSetting, withoutNodeDefault, pumaServerPattern, pumaServerPatternText, pumaServerSetting, withoutPumaDefault, PROXY_POOL_IDLE_SETTING_TEXT, proxyPoolIdleSetting,
  identityLabel, RELAYING_PROXY_IDLE_SETTINGS, serverIdleSettings,
} from '../known-timeouts';
import { SERVER_SOFTWARE, ServerSoftware } from '../server-software';
import type { Endpoint } from '../../flow/endpoint';
import { seqGe, seqGt, seqLt } from '../../flow/seq';
import { statusText, type HttpExchange } from '../../http/exchange';
import type { DataAfterPeerFin } from '../../flow/connection';
import { TLS13_KEY_UPDATE_LENGTH, type TlsDirection } from '../../http/tls-records';
import { tlsFlightRejected } from '../tls-flight-rejected';
import { atItsPace, mayReactTo, REQUEST_INDEX, RememberedRequest, RequestIndex, senderMarksOf, signatureHash } from '../request-index';
import { failureOf, matchByChance, serverEnded, type RequestFailure } from './retried-request';
import { failureKey, PairedFailure, relayedToClientsText, sharedProxyLegs } from '../proxy-legs';
import { acceptCloseOf } from '../accept-closes';
import { addRelaySample, IdleCloseSample, idleCloseSample, relayedProxyOf, relayedProxyText } from '../relayed-closes';
import { handshakeCapturePosition } from '../../flow/capture-point';
import { ARRIVAL_WINDOW, type ConnectionSlots, sharedConnectionSlots, type SlotReclaims, slotReclaimsOf } from '../connection-slots';

/**
 * keepalive-race: the server closed an idle keep-alive connection (FIN with nothing outstanding)
 * and the client's pool used it for a new request anyway; the request gets no response (the
 * closed server socket answers RST, or the connection just ends).
 *
 * Two forms, told apart by the request's ACK number:
 *  - crossing: the request left the client before the FIN reached it (its ACK does not cover the
 *    FIN; on a client-side capture it may even appear just before the FIN, which then does not
 *    acknowledge it);
 *  - stale reuse: the client's kernel had the FIN (the request ACKs it) but the pool still handed
 *    the connection out.
 *  - closed on arrival: the request reached the server (its close ACKs the request) just as the
 *    server's idle timer fired, and the server closed without answering it: unread (the request
 *    sat in its socket buffer: an event loop that runs its timers before reading, or a timer tick
 *    that had already expired the connection; the kernel then resets), or read and dropped (a FIN
 *    after it: Hypercorn in keepalive-race-hypercorn). Seen alone this looks like an application that took a
 *    request and hung up; what makes it an idle close is its timing — see judgeArrivalClose.
 * Not a race: a request after a response that said Connection: close (request-after-close-notice),
 * a server that closes with a request outstanding after working on it, a client that closed first.
 */

/** How the request met the server's idle close (evidence `form`). */
export type RaceForm = 'crossing' | 'stale-reuse' | 'closed-on-arrival';

/** What the server's FIN closed: an idle connection, and when it had last been busy. */
export interface ServerIdleClose {
  finTs: number;
  finFrame: number;
  /** End of the last activity before the FIN: the last response's end, or the handshake. */
  lastActivityTs: number;
  lastActivityFrame: number;
  /** finTs − lastActivityTs: how long the connection had been idle when the server closed it. */
  idleGap: number;
  /**
   * finTs − the last response's first byte (idleGap when there was none): the server's idle timer
   * started when its application finished writing the response, which the send buffer let it do
   * anywhere between the response's first and last byte on the wire, so the timer ran between
   * idleGap and this (settleIdleIntervals).
   */
  idleGapLongest: number;
  /**
   * The close was a RST with no FIN before it (finTs and finFrame are then the RST's): an abort of
   * the idle connection (SO_LINGER 0, HAProxy `option nolinger`), whose client reads or writes
   * ECONNRESET, not EOF. Only where serverIdleClose was asked for such closes (`resetIdle`).
   */
  byReset: boolean;
  /** The last complete exchange before the FIN (null: the connection was never used). */
  lastExchange: HttpExchange | null;
  /** The first request the server had not received when it closed (the race), if any. */
  lateRequest: HttpExchange | null;
  /**
   * The capture began after the connection's last exchange (mid-stream, no exchange before the
   * FIN): how long it had been idle is unknown (lastActivityTs and idleGap are NaN). Only with a
   * late request, whose coming after the FIN is the race all the same.
   */
  idleUnknown: boolean;
  /**
   * The late request came before the FIN by more than the handshake's round trip allows, and
   * crossed it by the round trip the server's reset measured (resetRoundTrip): the path's queue
   * grew while the connection was idle, so the FIN reached the capture later than the server's
   * timer fired by an unknown part of that growth. The close tells the race, not the timeout: its
   * idle time is no sample of it.
   */
  queueSkewed: boolean;
}

/**
 * The server's FIN (it has one) was the connection's first close: no close or reset of either side
 * came before it, in the order read (readBefore).
 */
function serverFinFirst(conn: AnalyzedConnection): boolean {
  const s = conn.server;
  const c = conn.client;
  const finTs = s.finTs;
  const finFrame = s.finFrame;
  return !(
    (c.finTs >= 0 && readBefore(c.finTs, c.finFrame, finTs, finFrame)) ||
    (c.rstTs >= 0 && readBefore(c.rstTs, c.rstFrame, finTs, finFrame)) ||
    (s.rstTs >= 0 && readBefore(s.rstTs, s.rstFrame, finTs, finFrame))
  );
}

/**
 * The server's RST, with no FIN before it, may be its abort of an idle connection (a socket closed
 * with SO_LINGER 0: Go's SetLinger(0), HAProxy `option nolinger`): the connection's first close (the
 * client had neither closed nor reset), with an ACK number (an abort of a live socket carries one; a
 * RST without it answers a segment for a socket already gone), and from the server's host (a
 * middlebox's reset, at another TTL, is middlebox-idle-timeout's). serverIdleClose judges the rest.
 */
function serverResetIdleCandidate(conn: AnalyzedConnection): boolean {
  const s = conn.server;
  if (s.rstTs < 0 || !s.rstHasAck || resetFromOtherHost(s)) return false;
  const first = serverClosedFirst(conn);
  return first !== null && first.closedWith === 'RST';
}

/** Jitter allowed on the path between the capture point and the server (seconds), beyond the handshake's round trip. */
const PATH_JITTER = 0.001;

/**
 * The round trip between the capture point and the server when the server reset the connection
 * after its FIN (seconds; 0 when nothing measures it): a socket closed before data arrived answers
 * that data with a RST at once, so the time from the client's last data before that RST to the RST
 * is the path's round trip at that moment, with whatever its queues held then. A handshake seconds
 * earlier does not show a queue that grew since (a bufferbloated uplink: blind test 16, 45 ms of
 * queue behind a 25 µs handshake). Measured from the client's last data, not the request's first
 * byte: a request head trickling in for seconds has a last piece right before the RST, so it
 * measures the short round trip it is, never the head's age.
 */
function resetRoundTrip(conn: AnalyzedConnection): number {
  const s = conn.server;
  const c = conn.client;
  // A middlebox's RST (another TTL) answered nothing at the server: it measures no round trip to it.
  if (s.rstTs < 0 || s.finTs < 0 || c.lastDataTs < 0 || resetFromOtherHost(s)) return 0;
  // The RST that came after the FIN: the answer of a closed socket, not an abort instead of a close.
  if (!readBefore(s.finTs, s.finFrame, s.rstTs, s.rstFrame)) return 0;
  if (!readBefore(c.lastDataTs, c.lastDataFrame, s.rstTs, s.rstFrame)) return 0;
  // A resend after it (the request lost on the path) is what the RST answered: from the resend, not across the client's retransmission timeout.
  const resent = c.lastRetransmissionTs;
  return s.rstTs - (resent > c.lastDataTs && resent <= s.rstTs ? resent : c.lastDataTs);
}

/**
 * How long before the server's FIN (seconds, as the capture saw both) a request's first byte may
 * have passed the capture point and still have crossed the FIN: the request reaches the server
 * half a round trip after the capture saw it, the FIN comes back in the other half, so a request
 * that crossed precedes the FIN by less than the round trip to the server (twice the handshake's,
 * and a little jitter, for a path whose queues grew since the handshake; or the round trip the
 * server's RST for the request measured, when longer: resetRoundTrip). Unbounded without a
 * handshake to measure it.
 */
function crossingLead(conn: AnalyzedConnection): { handshake: number; reset: number } {
  const position = handshakeCapturePosition(conn);
  if (position === null) return { handshake: Infinity, reset: Infinity };
  const handshake = 2 * position.serverRtt + PATH_JITTER;
  return { handshake, reset: Math.max(handshake, resetRoundTrip(conn) + PATH_JITTER) };
}

/** When the server closed the connection idle (serverIdleClose, its idle age known), else NaN: what connection-slots.ts keeps. */
export function idleCloseTsOf(conn: AnalyzedConnection): number {
  const close = serverIdleClose(conn);
  return close !== null && !close.idleUnknown ? close.finTs : NaN;
}

/**
 * The server's FIN closed an idle HTTP connection: it closed first, every request it had received
 * was completely answered (the last without Connection: close, and not a close-delimited body), or
 * none had come since the handshake. Null otherwise (or when the connection is not HTTP).
 * `afterCutHead`: also when the last response's Connection field was cut by the snaplen and the
 * FIN came right behind it, provided a request followed it (facts.reusedAfterCutHead); whether that
 * response announced the close is then unseen, so only keepalive-race asks, for races it holds until
 * it knows whether the server closed other connections at that moment (heldCutHeads).
 */
export function serverIdleClose(conn: AnalyzedConnection, afterCutHead = false, resetIdle: number | null = null): ServerIdleClose | null {
  const s = conn.server;
  const c = conn.client;
  const app = conn.app;
  // A tunnel (a WebSocket, CONNECT) is no kept-alive connection: its close ends what it carried (tunnel-idle-timeout).
  if (app === null || app.session === null || !app.session.isHttp || app.session.isTunnel) return null;
  const byFin = s.finTs >= 0 && serverFinFirst(conn);
  const byReset = !byFin && resetIdle !== null && serverResetIdleCandidate(conn);
  if (!byFin && !byReset) return null;
  const finTs = byReset ? s.rstTs : s.finTs;
  const finFrame = byReset ? s.rstFrame : s.finFrame;

  // Client bytes the FIN (or the aborting RST, by its ACK number) does not acknowledge crossed it: the server had not received them.
  const finMissedClientBytes = byReset
    ? c.payloadBytes > 0 && seqLt(s.rstAck, c.maxSeqEnd)
    : s.finHasAck && c.payloadBytes > 0 && seqLt(s.finAck, c.maxSeqEnd);
  const crossLead = crossingLead(conn);
  let queueSkewed = false;
  const recent = app.recent;
  let known = -1; // index in recent of the last exchange the server had received before closing
  let late = -1;
  for (let i = 0; i < recent.length; i++) {
    const ex = recent[i];
    if (ex.requestStart === null) return null; // a response without a request: unknown history
    const after = ex.requestFrame !== null ? readBefore(finTs, finFrame, ex.requestStart, ex.requestFrame) : ex.requestStart >= finTs;
    // A request seen before the FIN crossed it only if it was still on its way to the server when
    // the FIN left: its first byte came less than a round trip to the server before the FIN. One
    // that began earlier was arriving there (a head or body trickled in) when the server closed.
    // The bytes the FIN missed are the last exchange's, unless the server had answered it before closing
    // (then they are a request of which no exchange was read: its head lost on the path).
    const answeredBeforeFin = ex.responseStart !== null && ex.responseStart <= finTs;
    const lead = finTs - ex.requestStart;
    const crossed = after || (finMissedClientBytes && i === recent.length - 1 && !answeredBeforeFin && lead <= crossLead.reset);
    if (crossed) {
      queueSkewed = !after && lead > crossLead.handshake;
      late = i;
      break;
    }
    known = i;
  }
  // If older exchanges scrolled out of `recent`, the first one kept must still be known to the server.
  if (known < 0 && app.exchangeCount > recent.length && late === 0) return null;

  let lastExchange: HttpExchange | null = null;
  let lastActivityTs: number;
  let lastActivityFrame: number;
  if (known >= 0) {
    const ex = recent[known];
    // A request outstanding. One whose response lost bytes inside it (a busy capture's drops during
    // a download) still ended where its framing says, every hole behind it: the idle time and the
    // close after it are as whole as on a connection that lost nothing (blind test 12).
    if (!endKnownDespiteLoss(ex, conn) || ex.responseEnd === null) return null;
    // A close right behind a response whose Connection field the snaplen cut: only when asked
    // (afterCutHead, keepalive-race's held races: heldCutHeads), and only with a request after it
    // that a client told to close would not have sent (reusedAfterCutHead).
    if (closeMayBeAnnounced(ex, conn) && (!afterCutHead || late < 0 || !reusedAfterCutHead(ex, recent[late], conn))) return null;
    if (ex.responseEnd > finTs || (ex.responseEndFrame !== null && readBefore(finTs, finFrame, ex.responseEnd, ex.responseEndFrame))) return null;
    lastExchange = ex;
    lastActivityTs = ex.responseEnd;
    lastActivityFrame = ex.responseEndFrame ?? ex.responseFrame ?? 0;
    // An abort is an idle close only after a quiet connection: nothing from the client after the
    // response but a request that crossed the RST. Client bytes still coming after the response (an
    // upload answered early) are what a close with unread data resets (rst-on-close).
    if (byReset) {
      if (ex.requestEnd === null || ex.requestEnd > ex.responseEnd) return null;
      const clientTs = s.peerDataBeforeCloseTs;
      if (late < 0 && clientTs >= 0 && readBefore(lastActivityTs, lastActivityFrame, clientTs, s.peerDataBeforeCloseFrame)) return null;
      if (finTs - lastActivityTs < (resetIdle ?? Infinity)) return null;
    }
  } else if (byReset) {
    // Never used, or a capture begun mid-stream: a RST then tells no idle close of a kept-alive connection.
    return null;
  } else if (s.synAckTimes.length > 0) {
    // Never used: idle since the handshake.
    lastActivityTs = s.synAckTimes[0];
    lastActivityFrame = s.synAckFrames[0];
  } else {
    // A capture that began after the connection's last exchange (a slice, a rotated file): the
    // server's FIN is its first packet with anything to say, and a request after it is a request
    // on a closed connection all the same. How long it had been idle is unknown. Only when the
    // server sent no byte in the capture (a response's tail would be an exchange without request).
    if (late < 0 || conn.client.synCount > 0 || s.payloadBytes > 0) return null;
    const lateRequest = recent[late];
    if (lateRequest.uncertain || lateRequest.responseStart !== null) return null;
    return { finTs, finFrame, byReset: false, lastActivityTs: NaN, lastActivityFrame: 0, idleGap: NaN, idleGapLongest: NaN, lastExchange: null, lateRequest, idleUnknown: true, queueSkewed };
  }
  const lateRequest = late >= 0 ? recent[late] : null;
  if (lateRequest !== null && (lateRequest.uncertain || lateRequest.responseStart !== null)) return null;
  const writtenFrom = lastExchange?.responseStart ?? lastActivityTs;
  return {
    finTs, finFrame, byReset, lastActivityTs, lastActivityFrame, idleGap: finTs - lastActivityTs, idleGapLongest: finTs - Math.min(writtenFrom, lastActivityTs), lastExchange, lateRequest, idleUnknown: false, queueSkewed,
  };
}

/** A request on a reused connection that the server closed, unanswered, while the request was in its buffer. */
export interface ArrivalClose {
  request: HttpExchange;
  closeTs: number;
  closeFrame: number;
  closedWith: 'FIN' | 'RST';
  /** End of the previous response: the start of the idle gap. */
  lastActivityTs: number;
  lastActivityFrame: number;
  /** requestStart − lastActivityTs: how long the connection had been idle when the request arrived. */
  idleBeforeRequest: number;
  /** closeTs − lastActivityTs: how long it had been idle (as far as the server's timer knew) when it closed. */
  idleAtClose: number;
  /** closeTs − requestStart. */
  closeAfterRequest: number;
  /**
   * Round trip between the capture point and the server (the handshake's SYN → SYN-ACK; 0 when
   * unknown). The two times above are as the capture saw them; judgeArrivalClose brings them to the
   * server with it.
   */
  serverRtt: number;
}

/** A close on arrival's timing, whatever the request was (an HTTP exchange, or opaque TLS records). */
export type ArrivalTiming = Omit<ArrivalClose, 'request'>;

/**
 * The server's first close (FIN, or RST when that came first), provided the client had neither
 * closed nor reset before it (a client that had is not waiting for anything); null otherwise.
 */
function serverClosedFirst(conn: AnalyzedConnection): { ts: number; frame: number; closedWith: 'FIN' | 'RST' } | null {
  const s = conn.server;
  const c = conn.client;
  // Every field is read and every test made on each call, and the branches only choose between
  // them: a server that reset with no FIN, or a client that reset, comes long after the end
  // handlers were compiled, and a step they had never taken threw their compiled code away.
  const finTs = s.finTs;
  const finFrame = s.finFrame;
  const rstTs = s.rstTs;
  const rstFrame = s.rstFrame;
  const hasRst = rstTs >= 0;
  const finBeforeRst = readBefore(finTs, finFrame, rstTs, rstFrame);
  const byFin = finTs >= 0 && (!hasRst || finBeforeRst);
  if (!byFin && !hasRst) return null;
  const frame = byFin ? finFrame : rstFrame;
  const ts = byFin ? finTs : rstTs;
  const clientFin = c.finTs >= 0;
  const clientFinBefore = readBefore(c.finTs, c.finFrame, ts, frame);
  const clientRst = c.rstTs >= 0;
  const clientRstBefore = readBefore(c.rstTs, c.rstFrame, ts, frame);
  if ((clientFin && clientFinBefore) || (clientRst && clientRstBefore)) return null;
  return { ts, frame, closedWith: byFin ? 'FIN' : 'RST' };
}

/**
 * Whether an exchange is a request the server's close met: unanswered, or a request whose body had
 * not all left when the server closed (httpx sends a POST's body after its head, held by Nagle until
 * the head's ACK: uvicorn reset it first, in a fresh recording of keepalive-race-uvicorn-httpx).
 */
function metTheClose(ex: HttpExchange): boolean {
  return ex.state === 'no-response' || (ex.state === 'request-incomplete' && ex.method !== null);
}

/**
 * The server's first close (FIN, or RST with no FIN before it) ended a reused connection whose
 * last request it had completely received (the FIN acknowledges it, or the request was ACKed
 * before the RST) and never answered — not one byte after the previous response, which was a
 * complete keep-alive response. Null otherwise. Whether it was an idle close is judgeArrivalClose's
 * call: this only says the signature is there.
 */
export function arrivalClose(conn: AnalyzedConnection): ArrivalClose | null {
  const s = conn.server;
  const c = conn.client;
  const app = conn.app;
  if (app === null || app.session === null || !app.session.isHttp) return null;
  const close = serverClosedFirst(conn);
  if (close === null) return null;
  const { ts: closeTs, frame: closeFrame, closedWith } = close;
  const recent = app.recent;
  const ex = recent[recent.length - 1];
  // A first request on a new connection was never idle on a reused connection: not this race.
  if (ex === undefined || ex.index < 2 || ex.uncertain) return null;
  // A request whose body had not all left when the server closed counts too (metTheClose): the
  // server had all there was.
  const bodyUnsent = ex.state === 'request-incomplete' && ex.method !== null;
  if (!metTheClose(ex)) return null;
  const requestEnd = ex.requestEnd ?? (bodyUnsent ? c.lastDataTs : null);
  if (ex.requestStart === null || requestEnd === null || ex.requestFrame === null) return null;
  if (!readBefore(ex.requestStart, ex.requestFrame, closeTs, closeFrame) || requestEnd > closeTs) return null; // sent after the close: crossing / stale reuse
  // The server had every byte of the request when it closed; a FIN that misses some is a crossing.
  // A RST proves it by an earlier ACK, or by its own ACK number (a socket closed with the request
  // unread in its buffer resets with ACK = what it had received, often before any delayed ACK).
  const had = closedWith === 'FIN' ? s.finHasAck && seqGe(s.finAck, c.maxSeqEnd) : peerAckedAll(c, s) || peerResetAfterReceivingAll(c, s);
  if (!had) return null;
  const prev = recent.find((e) => e.index === ex.index - 1);
  // Server bytes lost from the capture could hide an answer (bytes the snaplen cut from seen
  // segments cannot), unless every hole lies inside the previous response (endKnownDespiteLoss).
  if (prev === undefined || prev.responseEnd === null || (s.lostBytes > 0 || s.unseenBeforeRst ? !endKnownDespiteLoss(prev, conn) : prev.state !== 'complete' || prev.uncertain)) return null;
  if (closeMayBeAnnounced(prev, conn)) return null;
  if (prev.responseEnd > ex.requestStart) return null; // pipelined: the connection was not idle
  // Nothing from the server after the previous response: no answer, not even a partial one.
  const prevEndFrame = prev.responseEndFrame ?? prev.responseFrame;
  const prevEndTs = prev.responseEndFrame !== null ? prev.responseEnd : prev.responseStart ?? prev.responseEnd;
  if (prevEndFrame === null ? s.lastDataTs > prev.responseEnd : readBefore(prevEndTs, prevEndFrame, s.lastDataTs, s.lastDataFrame)) return null;
  const idleBeforeRequest = ex.requestStart - prev.responseEnd;
  if (idleBeforeRequest <= 0) return null;
  return {
    request: ex,
    closeTs,
    closeFrame,
    closedWith,
    lastActivityTs: prev.responseEnd,
    lastActivityFrame: prevEndFrame ?? 0,
    idleBeforeRequest,
    idleAtClose: closeTs - prev.responseEnd,
    closeAfterRequest: closeTs - ex.requestStart,
    serverRtt: roundTripToServer(conn),
  };
}

/**
 * When the server closed `conn` with a request in progress (seconds), or null: the server had the
 * request (it acknowledged every byte), had not answered it, and the connection was not idle before
 * it (the first request on a new connection, or one sent right after the previous response), so no
 * idle timer can have closed it. An idle timer closes idle connections only; closes of idle
 * connections at the same moment (CLOSE_BURST_MOMENT) are the server process ending or a reload
 * (a kill, a restart: it closes everything it held at once), and tell no idle timeout.
 */
export function busyClose(conn: AnalyzedConnection, minIdleTimeout: number): number | null {
  const app = conn.app;
  if (app === null || app.session === null || !app.session.isHttp) return null;
  const ex = app.recent[app.recent.length - 1];
  if (ex === undefined || ex.state !== 'no-response' || ex.uncertain || ex.requestStart === null || ex.requestEnd === null || ex.requestFrame === null) return null;
  if (ex.index > 1 && (ex.idleBefore === null || ex.idleBefore >= minIdleTimeout)) return null;
  const close = serverClosedFirst(conn);
  if (close === null || ex.requestEnd > close.ts || !readBefore(ex.requestStart, ex.requestFrame, close.ts, close.frame)) return null;
  return peerAckedAll(conn.client, conn.server) ? close.ts : null;
}

/**
 * Closes soon after their responses (below minIdleTimeout) that it takes to infer that the server
 * closes a fixed time after each response (serverCloseAfterResponse): a single one is as likely a
 * reload's old worker closing a connection as it finishes its last request in flight.
 */
const MIN_AFTER_RESPONSE_SAMPLES = 2;

/**
 * Fewer idle closes than this (not on a tick: a single one) bound a server's idle timeout rather than measure it:
 * a timer fires late, never early, so each close, and each close on arrival (the timer had expired
 * by the time the request came), says the setting is at most its idle age. Stated as "at most",
 * the lowest of them (blind test 8: Squid's 2 s client_idle_pconn_timeout gave one idle close at
 * 1.813 s and four closes on arrival at 1.915-2.268 s).
 */
const FEW_IDLE_CLOSES = 2;

/**
 * Words for the idle closes behind a timeout their cluster holds one of (`timeout`, the shortest:
 * inferTimeout takes the first of equally small clusters): "a single idle close" only where it is
 * the only one; else the shortest of them all, the others named, for none agreed with it (lighttpd
 * checked once a second: closes 2.497 and 3.101 s idle, told as "a single idle close at 2.497 s").
 */
export function fewClosesText(timeout: InferredValue, idleGaps: readonly number[]): string {
  const others = idleGaps.filter((g) => g > timeout.value).sort((a, b) => a - b);
  if (timeout.samples !== 1 || others.length === 0) {
    return timeout.samples === 1 ? `a single idle close at ${fmt(timeout.value)} s idle` : `${timeout.samples} idle closes around ${fmt(timeout.value)} s idle`;
  }
  const all = [timeout.value, ...others];
  const listed = all.length === 2 ? `${fmt(all[0])} and ${fmt(all[1])}` : `${fmt(all[0])} to ${fmt(all[all.length - 1])}`;
  return `the shortest of ${all.length} idle closes that agree on no value (${listed} s idle)`;
}

/** A timeout from few idle closes (all of `idleGaps`), bounded by the closes on arrival too; null when the samples are enough to measure it. */
function boundedTimeout(timeout: InferredValue, ticked: TickedSpread | null, arrivalIdle: readonly number[], idleGaps: readonly number[]): { value: InferredValue; text: string } | null {
  if (ticked !== null || timeout.samples >= FEW_IDLE_CLOSES) return null;
  const closes = fewClosesText(timeout, idleGaps);
  // Every idle close counts: the cluster's one is the shortest, the others above it.
  const longestIdle = Math.max(timeout.value, ...idleGaps);
  const idleCount = Math.max(timeout.samples, idleGaps.length);
  if (arrivalIdle.length === 0) {
    return {
      value: { value: timeout.value, samples: idleCount, spread: longestIdle - timeout.value },
      text: `${closes}: so few closes bound the timeout (a timer fires late, never early) rather than measure it`,
    };
  }
  const lo = Math.min(...arrivalIdle);
  const hi = Math.max(...arrivalIdle);
  const bound = Math.min(timeout.value, lo);
  const range = fmt(lo) === fmt(hi) ? `${fmt(lo)} s` : `${fmt(lo)}-${fmt(hi)} s`;
  return {
    value: { value: bound, samples: idleCount + arrivalIdle.length, spread: Math.max(longestIdle, hi) - bound },
    text:
      `${closes} and ${arrivalIdle.length} close${arrivalIdle.length === 1 ? '' : 's'} on arrival at ${range} idle (its timer had expired by then): ` +
      'so few closes bound the timeout (a timer fires late, never early) rather than measure it',
  };
}

/** Busy closes kept per server (the latest): enough for the closes at a restart of a busy server. */
const BUSY_CLOSES_KEPT = 256;

/** Whether a close of `busy` (a server's busy closes, busyClose) came at the same moment as `ts`. */
function atABusyClose(busy: readonly number[], ts: number): boolean {
  for (const b of busy) if (Math.abs(b - ts) <= CLOSE_BURST_MOMENT) return true;
  return false;
}

/** "at one moment" / "at 3 moments": every reload moment of the server (racesAtReload's allMoments). */
function reloadMomentsText(reload: { allMoments: number }): string {
  return reload.allMoments === 1 ? 'at one moment' : `at ${reload.allMoments} moments`;
}

/** What to do about races with a reload's closes (see racesAtReload). */
/** The share of a server's races at reclaiming closes above which those closes are the story (and no timer's remedy is given). */
const RECLAIMED_MAJORITY = 2 / 3;

/** What the capture shows of a server reclaiming idle connections for lack of slots (connection-slots.ts). */
function slotReclaimsText(r: SlotReclaims): string {
  return (
    `${r.reclaimed} of its ${r.idleCloses} idle closes came within ${fmt(ARRIVAL_WINDOW * 1000)} ms (plus the round trip to it) of another connection's arrival ` +
    `(its handshake, or the first answer on one that had waited to be accepted), while it was serving ${r.level} connection${r.level === 1 ? '' : 's'}, ${r.level === r.peak ? 'the most it served at once in this capture' : `near the most it served at once in this capture (${r.peak})`}` +
    (r.whileWaiting > 0 ? ` (${r.whileWaiting === r.reclaimed ? 'each' : `${r.whileWaiting} of them`} while other connections' requests waited unanswered)` : '') +
    `: it closed idle connections as new ones came, whatever their idle age, so the idle ages at those closes follow the clients' pauses between requests and tell no idle timeout`
  );
}

/** The remedy for races with closes that reclaimed slots: more slots, or fewer connections; not any idle timeout. */
function slotReclaimsRemedy(software: string | null): string {
  const nginx = software === null || /nginx|openresty/i.test(software);
  return (
    (nginx
      ? 'nginx closes idle keep-alive connections when its `worker_connections` run short (its error log says "N worker_connections are not enough, reusing connections"; since 1.19.2 already with fewer than 1/16 of them free): ' +
        'raise `worker_connections` (and `worker_rlimit_nofile` with it) above the connections its clients keep open (every client\'s pool size summed, plus proxied upstream connections, which count too), or add worker processes. '
      : 'Give the server more connection slots than its clients keep open (nginx: `worker_connections`, which it reclaims from idle connections when short, "worker_connections are not enough, reusing connections" in its error log). ') +
    'Or make the clients\' pools smaller than the server\'s slots (Python requests/urllib3 `pool_maxsize`; Go `MaxIdleConnsPerHost`/`MaxConnsPerHost`; Node http.Agent `maxSockets`/`maxFreeSockets`). ' +
    'No client idle timeout avoids these closes: they come whatever the idle age. Retrying an idempotent request on a new connection hides them.'
  );
}

const RELOAD_RACE_REMEDY =
  'A reload or restart closes every idle keep-alive connection at once (nginx\'s old workers, HAProxy\'s old process, Apache\'s children at a graceful restart, Go\'s `http.Server.Shutdown`, a server shutting down), ' +
  'and a request already on its way on one of them fails whatever the idle timeouts: retry idempotent requests on a new connection ' +
  '(urllib3 `Retry`; Go\'s Transport does so for GET, HEAD, OPTIONS, TRACE and requests with an `Idempotency-Key`; Node\'s http.Agent and fetch do not), ' +
  'reload less often, or take the server out of its load balancer\'s rotation before a reload so that no request is on its way (Kubernetes: a preStop delay before the SIGTERM). ' +
  'HAProxy\'s `option idle-close-on-response` keeps an idle connection through a soft stop until its next request, answered with `Connection: close`.';

/**
 * A round trip from the capture point to the server below which no FIN is taken for lost between
 * them: the capture is then on the server's host or its switch (loopback: tens of µs; a LAN hop:
 * a few hundred µs), where a RST without a FIN before it means something else.
 */
const MIN_PATH_RTT = 0.001;

/**
 * A request on a reused idle connection that the server had closed, where the capture holds no FIN
 * of the server's: the server answered with the reset of a socket it had already closed, or (the
 * FIN proven by sequence numbers) closed without answering.
 */
export interface UnseenFinClose {
  request: HttpExchange;
  /**
   * What shows the close: the server's RST without ACK, or the client's FIN acknowledging the
   * server's missing FIN (no RST came).
   */
  shownBy: 'reset' | 'client-ack';
  /** Capture time and frame of that packet. */
  shownTs: number;
  shownFrame: number;
  /**
   * A sequence number proves the FIN was sent (Endpoint.finUnseen): the capture dropped it, and
   * the client may well have had it. False: only the bare RST tells of it (lost on the path).
   */
  finProven: boolean;
  /** End of the previous response. */
  lastActivityTs: number;
  lastActivityFrame: number;
  /** requestStart − lastActivityTs, as the capture saw it. */
  idleBeforeRequest: number;
  /** Round trip from the capture point to the server (0 when unknown). */
  serverRtt: number;
}

/**
 * The server closed a reused connection, no FIN of its in the capture, without answering its last
 * request; the connection had carried complete keep-alive exchanges until then (the previous
 * response complete, no close announced, nothing from the server since). Null otherwise. Two ways
 * show such a close:
 *
 * - The server answered the request with a RST without the ACK flag. Linux answers data with such
 *   a RST when the socket it is for was closed to receiving, or is gone: the server had closed the
 *   connection before the request arrived. Its FIN, sent then, never reached the capture point:
 *   lost on the path (the client never saw it either, so it reused the connection), or dropped by
 *   the capture, which a sequence number then proves (Endpoint.finUnseen). An application that
 *   resets a connection it holds (SO_LINGER 0, a process dying with the request unread) sends RST
 *   with ACK.
 * - No RST, but the client's FIN acknowledged the server's FIN that the capture dropped (a server
 *   that drains a half-closed connection, as Apache's lingering close does, resets nothing). When
 *   the FIN came against the request is unknown, but no later than that client FIN: unseenFinRace
 *   judges it as a close on arrival with that bound.
 */
export function unseenFinClose(conn: AnalyzedConnection): UnseenFinClose | null {
  const s = conn.server;
  const c = conn.client;
  const app = conn.app;
  if (app === null || app.session === null || !app.session.isHttp) return null;
  // All three read on each call: a server that closed with neither FIN nor RST was a read this
  // (inlined in the end handler) had never made when compiled, and threw the compiled code away.
  const serverFin = s.finTs >= 0;
  const noServerRst = s.rstTs < 0;
  const rstHasAck = s.rstHasAck;
  if (serverFin || rstHasAck) return null;
  // The client's FIN acknowledged the server's FIN that the capture missed: it answered that close
  // (as a proxy does that reads the FIN of a backend connection it has just sent a request on).
  const clientAckedFin = s.finUnseen && c.finTs >= 0 && c.finHasAck && seqGt(c.finAck, s.nextSeq);
  if (noServerRst && !clientAckedFin) return null;
  const shownTs = noServerRst ? c.finTs : s.rstTs;
  const shownFrame = noServerRst ? c.finFrame : s.rstFrame;
  // A client that closed before the reset closed first (the reset answered its close).
  if ((c.finTs >= 0 && readBefore(c.finTs, c.finFrame, shownTs, shownFrame) && !clientAckedFin) || (c.rstTs >= 0 && readBefore(c.rstTs, c.rstFrame, shownTs, shownFrame))) return null;
  const recent = app.recent;
  const ex = recent[recent.length - 1];
  // A POST whose body had not followed its head counts here too (keepalive-race-haproxy-front-nginx:
  // HAProxy's RST 16 µs after the head, its FIN dropped).
  if (ex === undefined || ex.index < 2 || !metTheClose(ex) || ex.uncertain) return null;
  if (ex.requestStart === null || ex.requestFrame === null || !readBefore(ex.requestStart, ex.requestFrame, shownTs, shownFrame)) return null;
  const prev = recent.find((e) => e.index === ex.index - 1);
  // Server bytes lost from the capture could hide an answer (bytes the snaplen cut from seen
  // segments cannot), unless every hole lies inside the previous response (endKnownDespiteLoss).
  if (prev === undefined || prev.responseEnd === null || (s.lostBytes > 0 || s.unseenBeforeRst ? !endKnownDespiteLoss(prev, conn) : prev.state !== 'complete' || prev.uncertain)) return null;
  if (closeMayBeAnnounced(prev, conn)) return null;
  const prevEndFrame = prev.responseEndFrame ?? prev.responseFrame;
  const prevEndTs = prev.responseEndFrame !== null ? prev.responseEnd : prev.responseStart ?? prev.responseEnd;
  if (prevEndFrame === null ? s.lastDataTs > prev.responseEnd : readBefore(prevEndTs, prevEndFrame, s.lastDataTs, s.lastDataFrame)) return null;
  const idleBeforeRequest = ex.requestStart - prev.responseEnd;
  if (idleBeforeRequest <= 0) return null;
  // A reset: the server never had the request (it ACKed none of it), its socket was closed to it.
  // (Without one, a server draining its half-closed connection ACKs what it discards.)
  if (!noServerRst && peerAckedAll(c, s)) return null;
  // A FIN lost on its way needs a path to be lost on: away from the server, by more than a host's
  // turnaround. Unless a sequence number shows the FIN was sent (Endpoint.finUnseen): then the
  // capture itself missed it (a drop at the capture point), wherever it was taken.
  const position = handshakeCapturePosition(conn);
  if (!s.finUnseen && (position === null || position.near === 'server' || position.serverRtt < MIN_PATH_RTT)) return null;
  return {
    request: ex,
    shownBy: noServerRst ? 'client-ack' : 'reset',
    shownTs,
    shownFrame,
    finProven: s.finUnseen,
    lastActivityTs: prev.responseEnd,
    lastActivityFrame: prevEndFrame ?? 0,
    idleBeforeRequest,
    serverRtt: position?.serverRtt ?? 0,
  };
}

/** What the server's FIN closed on a TLS connection, as the record headers tell it. */
export interface TlsServerIdleClose {
  finTs: number;
  finFrame: number;
  /**
   * End of the server's last application data (not the records it sent with its close, see TlsDirection.lastActivityBefore),
   * or of the client's where its last turn was the tail of a request the server answered early (answerTail).
   */
  lastActivityTs: number;
  lastActivityFrame: number;
  /** From the last activity to the start of the server's close: its first alert, or its FIN when no alert came before it. */
  idleGap: number;
  /** The client had sent application data that the server answered (else: idle since the handshake). */
  used: boolean;
}

/**
 * The server's FIN closed an idle TLS connection: it closed first, and its last application data
 * came after the client's last application data before the FIN (every client turn answered, none
 * since). Null otherwise, or when the connection's records were not read whole as TLS.
 */
export function tlsServerIdleClose(conn: AnalyzedConnection): TlsServerIdleClose | null {
  const tls = conn.app?.tls;
  const s = conn.server;
  if (tls === null || tls === undefined || !tls.ok || s.finTs < 0 || s.lostBytes > 0) return null;
  // A handshake the server rejected (tls-flight-rejected.ts) was never idle.
  if (tlsFlightRejected(conn) !== null) return null;
  const finTs = s.finTs;
  const finFrame = s.finFrame;
  if (!serverFinFirst(conn)) return null;
  const server = tls.server;
  const client = tls.client;
  // The server began to close with its first alert (when it came before the FIN), else with the FIN.
  const closingTs = server.firstAlertTs >= 0 && readBefore(server.firstAlertTs, server.firstAlertFrame, finTs, finFrame) ? server.firstAlertTs : finTs;
  const lastActivityTs = server.lastActivityBefore(closingTs);
  const lastActivityFrame = server.activityFrame;
  if (lastActivityTs < 0 || readBefore(finTs, finFrame, lastActivityTs, lastActivityFrame)) return null;
  // A client turn that began after the FIN is the race itself; turns alternate, so the one before
  // it was answered by the server's latest turn.
  const turnAfterFin = client.turns > 0 && readBefore(finTs, finFrame, client.turnStartTs, client.turnStartFrame);
  const turnsBeforeFin = client.turns - (turnAfterFin ? 1 : 0);
  // The client's last data before the FIN was answered: the server's latest turn began after it
  // and the server's last activity lies in that turn (not only in the burst sent with its close).
  // The exception: a client turn that began right after the server's answer, before the close began,
  // is the rest of the request the server answered early (its body, written after its head: nginx's
  // `return` answers on the head alone, and Python's http.client writes the body as its own record;
  // blind round 13, tls S1: two idle closes at 1.001 s went uncounted so).
  const clientUnanswered = !turnAfterFin && client.turns > 0 && readBefore(server.turnStartTs, server.turnStartFrame, client.turnStartTs, client.turnStartFrame);
  const tailEnd = clientUnanswered ? answerTailEnd(client, server, closingTs) : -1;
  const tail = tailEnd >= 0;
  const tailFrame = client.activityFrame;
  if (clientUnanswered && !tail) return null;
  if (server.turns > 0 && readBefore(lastActivityTs, lastActivityFrame, server.turnStartTs, server.turnStartFrame)) return null;
  const used = turnsBeforeFin > 0 && server.turnAnswers;
  // Measured to the start of the close: the alert is the idle timer's act; the FIN may follow it by
  // a few milliseconds (nginx: 4 ms in samples/keepalive-race-tls-nginx). After a request's tail,
  // from the tail's end: the connection went idle only once both sides were silent.
  const idleFrom = tail ? tailEnd : lastActivityTs;
  const idleFromFrame = tail ? tailFrame : lastActivityFrame;
  return { finTs, finFrame, lastActivityTs: idleFrom, lastActivityFrame: idleFromFrame, idleGap: closingTs - idleFrom, used };
}

/**
 * How soon after the start of the server's answer a client turn must begin to be taken for the rest
 * of the request that answer came early for, rather than a request of its own: a client writes a
 * request's head and body back to back (Python's http.client: 0.2 ms apart in blind round 13, tls
 * S1; the answer began 0.15 ms after the head), while a new request follows the reading of a whole
 * answer and the program's own work. Well below any idle timeout, so such a close cannot be a
 * request's wait mistaken for idleness by more than this.
 */
const ANSWER_TAIL_MAX = 0.005;

/**
 * Where the client's latest turn, which no server data followed, is the tail of the request the
 * server's latest turn answered early (it began within ANSWER_TAIL_MAX of that answer's start, the
 * answer answered an earlier client turn, and the tail was sent before the server began to close):
 * the end of the tail's last data before the close, else -1. A request the client sends on the
 * closed connection continues that same turn (no server data came between), so the tail's end is
 * its last data before the close (lastActivityBefore), which leaves its frame in `activityFrame`.
 */
function answerTailEnd(client: TlsDirection, server: TlsDirection, closingTs: number): number {
  if (client.turns < 2 || server.turns === 0 || !server.turnAnswers || client.turnStartTs - server.turnStartTs > ANSWER_TAIL_MAX) return -1;
  const end = client.lastActivityBefore(closingTs);
  return end >= client.turnStartTs && end < closingTs ? end : -1;
}

/** TLS record content types: change_cipher_spec, alert, handshake, application_data. */
const TLS_FIRST_TYPE = 0x14;
const TLS_LAST_TYPE = 0x17;

/**
 * Whether a connection's client data after the server's FIN is TLS: its ClientHello was seen, or
 * (a capture that began mid-stream) that data starts as a TLS record does.
 */
function looksLikeTls(conn: AnalyzedConnection): boolean {
  if (conn.app !== null && conn.app.tls !== null) return true;
  const first = conn.clientDataAfterServerFin?.firstByte ?? -1;
  return first >= TLS_FIRST_TYPE && first <= TLS_LAST_TYPE;
}

/**
 * Whether the client's data after the server's FIN, on a TLS connection, is a request rather than
 * its way of closing. Where the client's records were read and the connection speaks HTTP/1.x, the
 * record layer says: the client's last application-data record (not its TLS 1.3 Finished, not an
 * alert, which TLS 1.3 sends as 19-byte application data) began with that data or after it, and is
 * longer than any post-handshake message (TLS13_KEY_UPDATE_LENGTH). A segment-size floor had
 * stood for this, and missed every short request: 57 to 59 bytes from Python and Node clients to
 * nginx, Caddy and Node over TLS 1.3 (blind round 14 variants, S8/S9), whose 52-54-byte records
 * no alert has. Elsewhere (HTTP/2, whose control frames are as short as a request's HEADERS; the
 * choice hidden by TLS 1.3; records not read whole) that floor stays: no length tells them apart.
 */
function tlsRequestAfterClose(conn: AnalyzedConnection, after: DataAfterPeerFin): boolean {
  if (after.firstByte === TLS_ALERT_RECORD) return false;
  const tls = conn.app?.tls ?? null;
  if (tls !== null && tls.client.ok && tls.client.hello.complete && speaksHttp1(tls, conn.sPort)) {
    const client = tls.client;
    if (client.lastAppStartTs >= 0 && !readBefore(client.lastAppStartTs, client.lastAppStartFrame, after.ts, after.frame)) return client.lastAppLength > TLS13_KEY_UPDATE_LENGTH;
    // No data record completed since: only one still being read (a request whose tail was never sent) may be one.
    if (!client.midRecord) return false;
  }
  return after.length >= MIN_OPAQUE_REQUEST_BYTES;
}

/** A race whose request was neither HTTP nor TLS (a database's, a cache's): its payload was read and given up. */
function isPlainRace(conn: AnalyzedConnection, ex: HttpExchange | null): boolean {
  return ex === null && conn.app !== null && conn.app.session !== null && !looksLikeTls(conn);
}

/** Whether the client's data after the server's close is its protocol's goodbye (plain-protocols.ts). */
export function isGoodbye(conn: AnalyzedConnection, after: DataAfterPeerFin): boolean {
  const bye = looksLikeTls(conn) ? null : plainProtocolOf(conn.sPort, after.firstByte)?.goodbye ?? null;
  return bye !== null && after.firstByte === bye.firstByte && bye.lengths.includes(after.length);
}

/**
 * What a race's request neither HTTP nor TLS was, in words. Where the snaplen cut the client's
 * segments, what it kept (10 bytes at `-s 96` over IPv6 with TCP timestamps) may be too little to
 * tell: the request is then called unidentified, not another protocol (the HTTP stage does take a
 * request line cut after a few bytes of a registered method: cutRequestLineMethod).
 */
function unidentifiedPayload(conn: AnalyzedConnection): string {
  return snaplenUnidentified(conn) ? SNAPLEN_UNIDENTIFIED : 'data neither HTTP nor TLS';
}
const SNAPLEN_UNIDENTIFIED = 'data the snaplen cut before it could be identified (neither an HTTP request line nor TLS in the bytes kept)';

/**
 * A connection of payload neither HTTP nor TLS whose client data the snaplen cut: what it kept may
 * be too little to tell the protocol, so it is called unidentified, not another protocol.
 */
export function snaplenUnidentified(conn: AnalyzedConnection): boolean {
  return conn.client.cutBytes > 0;
}
/** What idle-timeout-mismatch says of a server whose connections were all such (as SNAPLEN_UNIDENTIFIED). */
export const SNAPLEN_UNIDENTIFIED_PAYLOAD = 'payload the snaplen cut before it could be identified: neither an HTTP request line nor TLS in the bytes kept';

/** The plain protocol (plain-protocols.ts) of a race whose request is neither HTTP nor TLS, or null. */
function plainProtocolOfRace(conn: AnalyzedConnection, ex: HttpExchange | null): PlainProtocol | null {
  if (!isPlainRace(conn, ex)) return null;
  return plainProtocolOf(conn.sPort, conn.clientDataAfterServerFin?.firstByte ?? -1);
}

/** What the server's idle close ended on a connection whose payload is neither HTTP nor TLS (opaqueServerIdleClose). */
export interface OpaqueServerIdleClose {
  /** The close: the server's FIN, or its RST when it sent no FIN (MariaDB closes idle connections with SO_LINGER 0). */
  closeTs: number;
  closeFrame: number;
  closedWith: 'FIN' | 'RST';
  /** The start of the idle gap: the server's last data before its close, or the client's last request before a goodbye. */
  lastActivityTs: number;
  lastActivityFrame: number;
  idleGap: number;
  /** The server sent data of its own just before its close, long after the client's last: a close notice (PostgreSQL's FATAL 57P05). */
  goodbye: boolean;
}

/** A server's data this close before its close, unasked, is sent with the close (as a TLS close alert is). */
const GOODBYE_BEFORE_CLOSE = 0.05;

/**
 * The server's FIN had its kernel's RST right behind it (within GOODBYE_BEFORE_CLOSE): its socket
 * was closed with data unread (slapd in keepalive-race-ldap: 20-35 µs apart; Twisted under Daphne).
 */
function resetBehindFin(s: Endpoint): boolean {
  return s.finTs >= 0 && s.rstTs >= s.finTs && s.rstTs - s.finTs <= GOODBYE_BEFORE_CLOSE;
}

/**
 * The server's idle close of a connection of a protocol conncheck does not parse (a database's, a
 * cache's): it closed first (FIN, or RST without one), after the client's last data before the
 * close had been answered (the server sent data after it), and it had been used. The idle gap runs
 * from the server's last data to the close; when that data came just before the close, long after
 * the client's last request, it is the server's notice of its close (PostgreSQL sends FATAL 57P05
 * 2-4 ms before its FIN in keepalive-race-postgres) and the gap runs from the server's data before
 * the notice (that request's answer, Endpoint.prevDataTs) to the notice, or from the request when
 * the notice was the server's only data since. A RST counts only after at least `minIdle` of silence: a server
 * that resets in the middle of a conversation is no idle close. Null otherwise.
 */
export function opaqueServerIdleClose(conn: AnalyzedConnection, minIdle: number): OpaqueServerIdleClose | null {
  const s = conn.server;
  const c = conn.client;
  if (s.lostBytes > 0 || c.lostBytes > 0) return null;
  const first = serverClosedFirst(conn);
  if (first === null) return null;
  const { ts: closeTs, frame: closeFrame, closedWith } = first;
  const clientTs = s.peerDataBeforeCloseTs;
  const clientFrame = s.peerDataBeforeCloseFrame;
  const serverTs = s.lastDataTs;
  const serverFrame = s.lastDataFrame;
  // Used, and answered: the server's last data came after the client's last before the close.
  if (clientTs < 0 || serverTs < 0 || !readBefore(clientTs, clientFrame, serverTs, serverFrame)) return null;
  const goodbye = closeTs - serverTs <= GOODBYE_BEFORE_CLOSE && serverTs - clientTs >= minIdle;
  // Before a notice, the server's own data before it (the last answer) when that came after the request.
  const answered = goodbye && s.prevDataTs >= 0 && readBefore(clientTs, clientFrame, s.prevDataTs, s.prevDataFrame);
  const quietTs = answered ? s.prevDataTs : clientTs;
  const quietFrame = answered ? s.prevDataFrame : clientFrame;
  const close = goodbye
    ? { closeTs, closeFrame, closedWith, lastActivityTs: quietTs, lastActivityFrame: quietFrame, idleGap: serverTs - quietTs, goodbye }
    : { closeTs, closeFrame, closedWith, lastActivityTs: serverTs, lastActivityFrame: serverFrame, idleGap: closeTs - serverTs, goodbye };
  return closedWith === 'RST' && close.idleGap < minIdle ? null : close;
}

/** A plain protocol's request (neither HTTP nor TLS) that the server's close met on arrival. */
export interface PlainArrivalClose extends ArrivalTiming {
  requestTs: number;
  requestFrame: number;
  /** The server's notice of its close that the request crossed (its frame), 0 when none. */
  goodbyeFrame: number;
}

/**
 * arrivalClose on a connection of a protocol conncheck does not parse: the server's first close
 * was a RST (with no FIN) whose ACK covers the client's data, or a FIN that covers it with the
 * kernel's RST right behind it, the client's last data before it came
 * after the server's last data (nothing answered it), and the connection had been used. Whether the
 * close was the idle timer's is judgeArrivalClose's call. (With a FIN the client's data is not told
 * from a request the server answered by closing; MariaDB closes idle connections with a RST.)
 *
 * The server's last data may be the notice it sends as its idle timer fires (PostgreSQL's FATAL
 * 57P05), which the request crossed: the backend then exits with the request unread, and its
 * kernel resets instead of sending a FIN (keepalive-race-postgres). That data is a notice when the
 * server's data before it answered the client's data before the request, at least `minIdle` before
 * it (nothing asked for it), and the close came within GOODBYE_BEFORE_CLOSE of it, each a single
 * segment: the idle gap then runs from that answer to the notice, and the request came that long
 * after the connection fell silent.
 */
export function plainArrivalClose(conn: AnalyzedConnection, minIdle: number): PlainArrivalClose | null {
  const s = conn.server;
  const c = conn.client;
  if (s.lostBytes > 0 || c.lostBytes > 0) return null;
  const first = serverClosedFirst(conn);
  if (first === null) return null;
  const requestTs = s.peerDataBeforeCloseTs;
  const requestFrame = s.peerDataBeforeCloseFrame;
  const serverTs = s.lastDataTs;
  if (requestTs < 0 || serverTs < 0 || !readBefore(serverTs, s.lastDataFrame, requestTs, requestFrame)) return null;
  if (first.closedWith === 'FIN') {
    // A FIN that acknowledges the request, and the kernel's RST moments after it: the server closed
    // with the request unread (slapd at its idletimeout in keepalive-race-ldap: 20-35 µs apart). A
    // FIN alone may be the server's answer to a request it read (a QUIT).
    if (!s.finHasAck || !seqGe(s.finAck, c.maxSeqEnd) || !resetBehindFin(s)) return null;
  } else if (!peerResetAfterReceivingAll(c, s)) {
    return null;
  }
  // A notice: the server's data before it answered the client's data before the request (the
  // client's only when the request is its last data), and the notice came long after that answer,
  // unasked. (A slow answer to the previous request is no notice: no server data came between.)
  const clientBefore = c.lastDataTs === requestTs && c.lastDataFrame === requestFrame ? c.prevDataTs : -1;
  const answerTs = s.prevDataTs;
  const notice =
    clientBefore >= 0 && answerTs >= 0 && readBefore(clientBefore, c.prevDataFrame, answerTs, s.prevDataFrame) &&
    serverTs - answerTs >= minIdle && first.ts - serverTs <= GOODBYE_BEFORE_CLOSE;
  const lastActivityTs = notice ? answerTs : serverTs;
  const lastActivityFrame = notice ? s.prevDataFrame : s.lastDataFrame;
  return {
    closeTs: first.ts,
    closeFrame: first.frame,
    closedWith: first.closedWith,
    lastActivityTs,
    lastActivityFrame,
    idleBeforeRequest: requestTs - lastActivityTs,
    // The idle timer fired when the notice went out.
    idleAtClose: (notice ? serverTs : first.ts) - lastActivityTs,
    closeAfterRequest: first.ts - requestTs,
    serverRtt: roundTripToServer(conn),
    requestTs,
    requestFrame,
    goodbyeFrame: notice ? s.lastDataFrame : 0,
  };
}

/** A TLS request (the client's latest turn of application data) that the server's close met on arrival. */
export interface TlsArrivalClose extends ArrivalTiming {
  requestTs: number;
  requestFrame: number;
  /** Bytes of the client's turn (record headers included). */
  requestBytes: number;
}

/**
 * arrivalClose on a TLS connection: the server's first close (FIN, or RST with no FIN before it)
 * ended a reused connection (the client's latest turn of application data follows a turn the
 * server answered) after that turn had completely reached it (the close's ACK covers it), and
 * the server sent no application data after the turn began (its close alert is no answer).
 */
export function tlsArrivalClose(conn: AnalyzedConnection): TlsArrivalClose | null {
  const tls = conn.app?.tls;
  const s = conn.server;
  const c = conn.client;
  if (tls === null || tls === undefined || !tls.ok || s.lostBytes > 0 || c.lostBytes > 0 || !c.hasIsn) return null;
  const close = serverClosedFirst(conn);
  if (close === null) return null;
  const { ts: closeTs, frame: closeFrame, closedWith } = close;
  const server = tls.server;
  const client = tls.client;
  // Reused: an earlier client turn was answered by the server (turns alternate).
  if (client.turns < 2 || server.turns === 0 || !server.turnAnswers) return null;
  const requestTs = client.turnStartTs;
  const requestFrame = client.turnStartFrame;
  if (!readBefore(requestTs, requestFrame, closeTs, closeFrame) || readBefore(closeTs, closeFrame, client.lastAppEndTs, client.lastAppEndFrame)) return null; // sent after the close
  // Not one byte of application data from the server since the request, and no close begun before it.
  if (readBefore(requestTs, requestFrame, server.lastAppStartTs, server.lastAppStartFrame)) return null;
  if (server.firstAlertTs >= 0 && readBefore(server.firstAlertTs, server.firstAlertFrame, requestTs, requestFrame)) return null;
  // The client said goodbye first (its close_notify came before the server's close): the server
  // followed the client's close, no timer of its own.
  if (client.firstAlertTs >= 0 && readBefore(client.firstAlertTs, client.firstAlertFrame, closeTs, closeFrame)) return null;
  // Where the connection may speak HTTP/2 (the hellos said so, encrypted-request.ts), the client's
  // last turn may be its GOAWAY, which a server answers by closing at once: no request met a timer.
  if (client.hello.complete && !speaksHttp1(tls, conn.sPort)) return null;
  if (server.lastAppEndTs < 0) return null;
  // The server had the whole request when it closed: the close (or an ACK before a RST) covers its last byte.
  const requestEndSeq = turnEndSeq(conn);
  const had =
    closedWith === 'FIN'
      ? s.finHasAck && seqGe(s.finAck, requestEndSeq)
      : (s.hasAck && seqGe(s.highestAck, requestEndSeq)) || (s.rstHasAck && seqGe(s.rstAck, requestEndSeq));
  if (!had) return null;
  const lastActivityTs = server.lastAppEndTs;
  const idleBeforeRequest = requestTs - lastActivityTs;
  if (idleBeforeRequest <= 0) return null;
  return {
    closeTs,
    closeFrame,
    closedWith,
    lastActivityTs,
    lastActivityFrame: server.lastAppEndFrame,
    idleBeforeRequest,
    idleAtClose: closeTs - lastActivityTs,
    closeAfterRequest: closeTs - requestTs,
    serverRtt: roundTripToServer(conn),
    requestTs,
    requestFrame,
    requestBytes: client.lastAppEndOffset - client.turnStartOffset,
  };
}

/**
 * How late a server's idle close may come, and how early against the idle timeout inferred from
 * its other closes: timer wheels and ticks (lighttpd checks once a second; Apache's event MPM
 * sweeps its keep-alive queue periodically) make a close land anywhere within one granularity of
 * the configured value, and the inferred value itself may sit at either end of that range.
 */
const MAX_TIMER_GRANULARITY = 1;
const TIMER_GRANULARITY_FRACTION = 0.5;
/**
 * Without an inferred idle timeout, only a close this fast after the request counts as a timer
 * that fired as the request arrived: at most this many seconds, and at most this fraction of the
 * idle gap before the request. An application reads, parses and decides before closing; an idle
 * timer that was due closes in the same loop iteration that sees the request.
 */
const INSTANT_CLOSE_MAX = 0.01;
const INSTANT_CLOSE_FRACTION = 0.01;

export type ArrivalBasis = 'learned-idle-timeout' | 'instant-close';

/**
 * Whether a close on arrival is the server's idle close (a keep-alive race) rather than an
 * application that took the request and hung up. With the server's idle timeout T inferred from
 * its idle closes on other connections: the request came when the timer was due or nearly
 * (idle ≥ T − granularity) and the close came no later than one granularity past T. Without T:
 * the close followed the request far faster than an application decides, after a real idle gap
 * shorter than idle ages the server is known to have let connections outlive (`keptLonger`, from
 * the reuses it answered: an idle timer would have closed those; the request itself made it close,
 * as HAProxy closes its client's connection when the backend reset the forwarded request).
 */
export function judgeArrivalClose(
  a: Pick<ArrivalClose, 'idleBeforeRequest' | 'idleAtClose' | 'closeAfterRequest'> & { serverRtt?: number },
  serverIdleTimeout: number | null,
  minIdleTimeout: number,
  keptLonger = 0,
): ArrivalBasis | null {
  // As the server lived them. Away from the server (a client-side capture, a router), the request
  // reached it half the round trip after the capture saw it and the close took the other half
  // back, so the close trails the request by the round trip; and the idle gap before the request
  // (the response going out, the request coming in) looks that much shorter. idleAtClose runs
  // between two packets of the server's: the capture sees it as the server did.
  const rtt = a.serverRtt ?? 0;
  const idleBeforeRequest = a.idleBeforeRequest + rtt;
  const closeAfterRequest = Math.max(0, a.closeAfterRequest - rtt);
  if (idleBeforeRequest < minIdleTimeout) return null; // not idle: the previous response had just ended
  if (serverIdleTimeout !== null && serverIdleTimeout >= minIdleTimeout) {
    const granularity = Math.min(MAX_TIMER_GRANULARITY, TIMER_GRANULARITY_FRACTION * serverIdleTimeout);
    const due = idleBeforeRequest >= serverIdleTimeout - granularity && a.idleAtClose <= serverIdleTimeout + granularity;
    return due ? 'learned-idle-timeout' : null;
  }
  const instant = closeAfterRequest <= Math.min(INSTANT_CLOSE_MAX, INSTANT_CLOSE_FRACTION * idleBeforeRequest);
  return instant && !(keptLonger > a.idleAtClose) ? 'instant-close' : null;
}

/**
 * A close on arrival that instant-close found too slow may be a lazy idle close: the server's timer
 * fired before the request came and its close() followed some ms later (an event loop that checks
 * its timers between waits, a timer thread that wakes and closes), the request whole in its buffer,
 * unread; or the timer is checked on a tick before the socket is read, and the request that came
 * between two ticks is still unread when the tick finds the connection idle past its timeout. Held
 * for its time to be judged against the server's idle closes (releaseLazyArrivals): a real idle
 * gap, no reuse answered after a longer one, and a close no later than LAZY_CLOSE_MAX after the
 * request. How close to the idle gap's length the close may come is judged when it is released:
 * by the idle closes' timeout when the capture has them, as a close judged as it happened would be
 * (releaseLazyArrivals), else by lazyWithinGap.
 */
export function lazyCandidate(a: Pick<ArrivalClose, 'idleBeforeRequest' | 'idleAtClose' | 'closeAfterRequest' | 'serverRtt'>, minIdleTimeout: number, keptLonger: number): boolean {
  const idleBeforeRequest = a.idleBeforeRequest + a.serverRtt;
  const closeAfterRequest = Math.max(0, a.closeAfterRequest - a.serverRtt);
  return idleBeforeRequest >= minIdleTimeout && closeAfterRequest <= LAZY_CLOSE_MAX && !(keptLonger > a.idleAtClose);
}

/** A held lazy close came well within its idle gap (LAZY_CLOSE_FRACTION of it): the test when no idle close of the server's tells its timeout. */
function lazyWithinGap(a: Pick<ArrivalClose, 'idleBeforeRequest' | 'closeAfterRequest' | 'serverRtt'>): boolean {
  return Math.max(0, a.closeAfterRequest - a.serverRtt) <= LAZY_CLOSE_FRACTION * (a.idleBeforeRequest + a.serverRtt);
}

/**
 * The flows whose close on arrival keepalive-race holds until the capture ends (lazyCandidate), shared
 * under this name: a detector that would call the request unanswered when its connection ends
 * (unanswered-request) waits for the judgement too, and leaves it to a race found then.
 */
export const LAZY_ARRIVAL_FLOWS = 'keepalive-race-lazy-arrival-flows';

export function sharedLazyArrivalFlows(ctx: Pick<DetectContext, 'shared'>): Set<number> {
  return ctx.shared(LAZY_ARRIVAL_FLOWS, () => new Set<number>());
}

/** A timer inferred from a server's held lazy closes alone (no idle close of its own): how many agreed, how closely, and their delays after the request. */
interface OwnLazyTimer {
  samples: number;
  spread: number;
  afterLo: number;
  afterHi: number;
}

/**
 * Held lazy closes that must agree on their idle age for the timer they tell to judge each by that
 * age alone (not also by its delay after the request): two may agree by chance, three at one idle
 * age with scattered delays after their requests are a timer counted from the last response.
 */
const MIN_OWN_LAZY_CLOSES = 3;

/**
 * Whose idle timer closes on arrival are when the server closed no idle connection of its own: its
 * own, checked lazily, or, when it is a proxy, its backend's, relayed: HAProxy and Apache mod_proxy
 * close their client's connection without an answer when the request they forwarded on a reused
 * backend connection met the backend's idle close (its timer counts from the response both relayed).
 */
export function ownerUnshownText(server: string): string {
  return (
    `its own, checked lazily; or, if ${server} is a proxy, its backend's, relayed: HAProxy and Apache mod_proxy close their client's connection ` +
    `without an answer when the request they forwarded on a reused backend connection met the backend's idle close, so the backend's idle timer shows on this leg; ` +
    `a capture of the proxy's upstream leg tells: there the backend's idle closes at this age and a reset or FIN right after each forwarded request`
  );
}

/** The slowest lazy close after the request (seconds), and at most this fraction of the idle gap before it. */
const LAZY_CLOSE_MAX = 0.1;
const LAZY_CLOSE_FRACTION = 0.05;

/**
 * A lazy close fell at the idle timeout `timeout`: its idle age at the close agrees with it (within
 * `agree`, the agreement idle closes are inferred with), and the request came within that much
 * before it. A close measured from the request (an application's, a header timeout's) agrees with
 * no idle close but by chance, and one that came long after the request is no timer's close.
 */
export function lazyAtTimeout(a: Pick<ArrivalClose, 'idleAtClose' | 'closeAfterRequest' | 'serverRtt'>, timeout: number, agree: number): boolean {
  const closeAfterRequest = Math.max(0, a.closeAfterRequest - a.serverRtt);
  return Math.abs(a.idleAtClose - timeout) <= agree && closeAfterRequest <= agree;
}

/** max − min of some numbers (0 for none). */
function spreadOf(values: readonly number[]): number {
  return values.length === 0 ? 0 : Math.max(...values) - Math.min(...values);
}

/** A round trip to the server from which a close on arrival's summary says how much of its delay it is (seconds). */
const SHOWN_RTT = 0.001;


/**
 * Where the TLS records of the client's data after the server's close could not be read as the
 * record layer counts them (see tlsRequestAfterClose): a request is taken to be at least this many
 * bytes of segment. A TLS 1.3 close_notify is 24 (a 2-byte alert, the inner content type and a
 * 16-byte AEAD tag); HTTP/2 frames a client sends unasked (a PING, a WINDOW_UPDATE) are 30 to 50.
 */
const MIN_OPAQUE_REQUEST_BYTES = 64;
/**
 * TLS ≤ 1.2 says what a record is in its first byte: 21 is an alert. The client's close_notify,
 * answering the server's, is one whatever its size (a CBC suite with SHA-384 makes it 85 bytes).
 */
const TLS_ALERT_RECORD = 0x15;

/** Idle-close samples kept per server for the diagnosis. */
const MAX_SAMPLES_PER_SERVER = 4096;

/**
 * A stale reuse whose request left the client less than this long after the server's FIN reached
 * it (seconds) was already on its way out when the FIN came in: an event-driven client (Node's
 * fetch/undici, Node's http.Agent, Go's Transport) drops a pooled connection when it reads the FIN,
 * but the read comes on a later turn of its event loop than the write already under way (Node's
 * fetch took 3 ms from the call to the write of a small POST, keepalive-race-node-fetch). The ACK
 * number says stale; no check before reuse could have seen it, as in a crossing.
 */
const STALE_IN_FLIGHT = 0.01;

/** Servers followed for the diagnosis. */
const MAX_SERVERS = 10_000;
/** Client programs (host, User-Agent) and servers whose own idle closes are kept (noteClientIdleClose), and how many of each. */
const CLIENT_IDLE_PAIRS_KEPT = 10_000;
const CLIENT_IDLE_GAPS_KEPT = 16;
/** The share of a client's own idle closes that must agree to show an idle limit of its pool. */
const CLIENT_IDLE_AGREEING = 0.8;

/**
 * Closes on arrival of one server whose idle ages lie further apart than this factor are no one
 * timer's (the same factor by which answered reuses refute a run of closes, keptLongerThan): an
 * idle timer that fires as a request arrives fires at one age, give or take its granularity.
 */
const ARRIVAL_AGES_APART = 1.5;

/** What tally reads of a raced connection, read at its end (kept with a race held past it). */
interface RaceFacts {
  resetBehind: boolean;
  plain: boolean;
  protocol: PlainProtocol | null;
  cut: boolean;
  /** What the client received first of the server's close (firstCloseOf): what its error says. */
  first: 'FIN' | 'RST' | null;
  /** The server's TLS alert (its close_notify) came before its FIN or RST. */
  closeNotify: boolean;
}

/** The server began its close with a TLS alert (close_notify) before its FIN or RST. */
function closeNotifyFirst(conn: AnalyzedConnection): boolean {
  const alert = conn.app?.tls?.server.firstAlertTs ?? -1;
  const close = firstCloseTs(conn.server);
  return alert >= 0 && (close < 0 || alert <= close);
}

/**
 * What the client received first of the server's close: its FIN (a read then returns EOF, a RST
 * after it changes nothing), or a RST with no FIN before it (the read fails: ECONNRESET); null
 * when neither is in the capture.
 */
function firstCloseOf(s: Endpoint): 'FIN' | 'RST' | null {
  if (s.finTs >= 0 && (s.rstTs < 0 || readBefore(s.finTs, s.finFrame, s.rstTs, s.rstFrame))) return 'FIN';
  return s.rstTs >= 0 ? 'RST' : null;
}

/**
 * A plain protocol's close on arrival judged by its speed alone (basis instant-close), held until
 * the capture ends (heldArrivals): the server's other connections, still open when it ended, may
 * show that no idle timer made it.
 */
interface HeldArrival {
  input: FindingInput;
  ts: number;
  /** The connection's idle age when the request came, and how long the close took after it (as the capture saw them). */
  idleBeforeRequest: number;
  closeAfterRequest: number;
  idleAtClose: number;
  /** What record reads of the connection, read at its end. */
  facts: RaceFacts;
  agent: string | null;
  forwarded: boolean | null;
}

/**
 * A race on a never-used connection closed by FIN right after its handshake (acceptCloseOf), held
 * until the end: accept-queue-overflow judges such closes by their burst (a connection limit) only
 * at its own end, and those it does not take are races as before. What record reads of the
 * connection is read at its end.
 */
interface HeldAcceptClose {
  flowId: number;
  server: string;
  input: FindingInput;
  form: RaceForm;
  ex: Pick<HttpExchange, 'method' | 'idempotencyKey' | 'idleBefore'>;
  facts: RaceFacts;
  agent: string | null;
  forwarded: boolean | null;
  request: RacedRequest | null;
}

/**
 * A race on a connection whose previous response's Connection field the snaplen cut, the server's
 * FIN right behind that response (serverIdleClose with afterCutHead): that response may have
 * announced the close, and the client ignored it (request-after-close-notice's case, which a whole
 * capture tells). Held until the capture ends, and reported only if the server closed another
 * connection at the same moment (CLOSE_BURST_MOMENT): a reload or a process ending closes them all
 * at once, while an announced close is one connection's, at its own response.
 */
interface HeldCutHead {
  input: FindingInput;
  finTs: number;
  form: RaceForm;
  ex: Pick<HttpExchange, 'method' | 'idempotencyKey' | 'idleBefore' | 'uri' | 'requestStart'>;
  client: string;
  facts: RaceFacts;
  agent: string | null;
  forwarded: boolean | null;
  ownAgent: string | null;
  /** Another connection's close at that moment was seen already when the race was held. */
  atMoment: boolean;
  /** Its idle close, as addSample takes it: added when the race is reported. */
  idleGap: number;
  idleGapLongest: number;
  sample: IdleCloseSample;
}

/** Server closes remembered per server for heldCutHeads (the latest ones). */
const CLOSES_KEPT = 256;

/**
 * An HTTP close on arrival held until the capture ends (lazyCandidate): its finding as read from the
 * connection, its timing, and what the diagnosis counts of its request.
 */
interface LazyArrival {
  input: FindingInput;
  ts: number;
  /** When the server closed. */
  closeTs: number;
  idleBeforeRequest: number;
  closeAfterRequest: number;
  idleAtClose: number;
  serverRtt: number;
  facts: RaceFacts;
  agent: string | null;
  forwarded: boolean | null;
  request: Pick<HttpExchange, 'method' | 'uri' | 'idempotencyKey' | 'idleBefore'> & { start: number; client: string };
}

/**
 * The longest idle gap after which the server answered a reuse of a connection whose payload is
 * neither HTTP nor TLS (OpaqueTurns: each client turn after the first; the last one only when the
 * server's data came after it), or -1.
 */
function longestAnsweredPlainReuse(conn: AnalyzedConnection): number {
  const reuses = conn.app?.session?.opaqueTurns?.reuses;
  if (reuses === undefined || reuses.count === 0) return -1;
  if (conn.server.lastDataTs > reuses.lastTs) return reuses.longest;
  return reuses.longestBeforeLast()?.gap ?? -1;
}

/** Distinct Keep-Alive hints counted per server (a server sends one, or a few). */
const MAX_HINTS = 8;

function noteHint(entry: ServerRaces, hint: number | null): void {
  if (hint === null) return;
  const count = entry.hints.get(hint);
  if (count !== undefined) entry.hints.set(hint, count + 1);
  else if (entry.hints.size < MAX_HINTS) entry.hints.set(hint, 1);
}

/** The hint most idle closes followed, or null. */
function commonHint(hints: ReadonlyMap<number, number>): number | null {
  let best: number | null = null;
  let bestCount = 0;
  for (const [hint, count] of hints) {
    if (count > bestCount) {
      best = hint;
      bestCount = count;
    }
  }
  return best;
}


interface ServerRaces {
  /** Races a proxy absorbed (see absorbedByProxy): graded warning, as is the diagnosis when all were. */
  absorbed: number;
  /** Crossings of an idle close that was a RST with no FIN (serverIdleClose's byReset). */
  crossingReset: number;
  /** Each idle close's idle time from the last response's last byte (ServerIdleClose.idleGap), in a ring. */
  idleGaps: number[];
  /** The same from the response's first byte (idleGapLongest): the timer started in between (idleAges). */
  idleLongest: number[];
  /**
   * The same from the last request's last byte (idleLongest when unknown): the longest the timer can
   * have run, its application having answered after it (heldBelowCluster).
   */
  idleSinceRequest: number[];
  /** When each idle close of idleGaps came (the same ring): a burst of them at one moment is no timer's (inCloseBurst). */
  idleTs: number[];
  /** The last idle closes with the last request before each: whether a relaying proxy made them (relayed-closes.ts). */
  idleCloses: IdleCloseSample[];
  /**
   * When the server closed connections with a request in progress (busyClose; the latest
   * BUSY_CLOSES_KEPT): idle closes at the same moment were its process ending, not its idle timer.
   */
  busyCloses: number[];
  idleClosesAdded: number;
  nextSample: number;
  raceIds: string[];
  crossing: number;
  stale: number;
  /** Stale reuses whose request left within STALE_IN_FLIGHT of the FIN's arrival at the client. */
  staleInFlight: number;
  arrival: number;
  /** Of those, closed by a RST (the request unread), not a FIN (read and dropped). */
  arrivalReset: number;
  /** The idle ages at which requests were closed on arrival (up to MAX_SAMPLES_PER_SERVER): the timer had expired by then. */
  arrivalIdle: number[];
  nonIdempotent: number;
  /**
   * Of those, requests closed on arrival by a FIN alone that acknowledges them (readByServer): the
   * wire does not show that the server left them unread, so a resend is not shown to be safe.
   */
  nonIdempotentRead: number;
  /** Of those, requests with an Idempotency-Key header (their client may retry them on that contract). */
  keyed: number;
  retried: number;
  /** Of those, sent again as the first request of a connection of its own. */
  retriedNew: number;
  /** Races whose client received the server's FIN first, and those that got a RST with no FIN before it (firstCloseOf). */
  finFirst: number;
  resetFirst: number;
  /** Of those retried, how many copies got no response either. */
  retriedUnanswered: number;
  reset: number;
  reusedAfter: number[];
  neverUsed: number;
  /** Races whose request could not be read (TLS): its method, and so a retry of it, are unknown. */
  opaque: number;
  /** Races where the server's close began with a TLS close_notify (before its FIN). */
  closeNotify: number;
  /** The failed requests (up to MAX_SAMPLES_PER_SERVER), to find at the end whether a proxy sent them and what it answered its client. */
  requests: RacedRequest[];
  /**
   * The Keep-Alive hints (`timeout=N`) of the last responses before the idle closes, by value, with
   * how many closes followed each: with the timeout they tell a Node.js server (nodeServerPattern).
   */
  hints: Map<number, number>;
  /** The clients of the raced connections, by their User-Agent: whose pool setting to name. */
  agents: ClientAgents;
  /** Races whose requests were neither HTTP nor TLS (a database's, a cache's), and the protocol the first suggested. */
  plain: number;
  plainProtocol: PlainProtocol | null;
  /** Of those, races whose client segments the snaplen cut (unidentifiedPayload). */
  plainCut: number;
}

interface RacedRequest {
  client: string;
  server: string;
  method: string | null;
  uri: string | null;
  start: number;
  retried: boolean;
  /** The program its User-Agent names on its own behalf (ownAgent: '' for none, null for a proxy's forward or no HTTP). */
  agent: string | null;
}

/**
 * What the race errors' list adds about a proxy in front of the client, after a '; ': that it turns
 * them into a 502. Nothing when a proxy is already told of (`proxyTold`: the capture's proxy legs, a
 * relaying proxy), when the clients are proxies themselves (their forwarded requests: the list says
 * what their clients get), or when the client retried every one.
 */
function raceErrorsNote(entry: ServerRaces, count: number, proxyTold: boolean): string {
  if (proxyTold || entry.agents.forwarded > 0 || entry.retried === count) return '';
  return `; a proxy in front turns ${entry.retried > 0 ? 'those it does not retry' : 'them'} into a 502`;
}

/**
 * What a proxy that sent raced requests answered its own clients for them, in words, or '' when
 * none of them was a proxy's forward: "its client is a proxy (127.0.0.2:8080) that forwarded 7 of
 * them; to its own clients it answered 503 for 6, answered 200 for 1 (retried on a new connection)".
 * `relayedOf` tells what proxies further up did with the 5xx it answered (relayedToClientsText:
 * "10.0.0.1:80 relayed 6 of them to its clients"), given their keys (failureKey).
 */
function proxyOutcomeText(
  raced: readonly RacedRequest[],
  downstreamOf: (r: RacedRequest) => RememberedRequest | null,
  neverSent: readonly PairedFailure[] = [],
  relayedOf: (failed: ReadonlySet<string>) => string = () => '',
): { text: string; forwarded: number; proxies: ReadonlySet<string> } {
  const proxies = new Set<string>();
  /** The proxy's failed answers to its own clients (failureKey), whose relays further up the race explains too. */
  const failed = new Set<string>();
  const byOutcome = new Map<string, { count: number; retried: number; neverSent: number }>();
  let forwarded = 0;
  let failedDownstream = 0;
  for (const r of raced) {
    const down = downstreamOf(r);
    if (down === null) continue;
    forwarded++;
    if (down.status === null || down.status >= 500) {
      failedDownstream++;
      failed.add(failureKey(down));
    }
    proxies.add(down.server);
    const key = statusText(down) ?? (down.responseStart === null ? 'none' : '?');
    const o = byOutcome.get(key) ?? { count: 0, retried: 0, neverSent: 0 };
    o.count++;
    if (r.retried) o.retried++;
    byOutcome.set(key, o);
  }
  if (forwarded === 0) return { text: '', forwarded, proxies };
  // The same proxies' failures of requests their pool never sent: counted with the statuses they got.
  let neverSentCount = 0;
  for (const p of neverSent) {
    if (!proxies.has(p.failure.server)) continue;
    neverSentCount++;
    failed.add(failureKey(p.failure));
    const key = p.failure.status !== null ? String(p.failure.status) : '?';
    const o = byOutcome.get(key) ?? { count: 0, retried: 0, neverSent: 0 };
    o.count++;
    o.neverSent++;
    byOutcome.set(key, o);
  }
  const parts = [...byOutcome.entries()]
    .sort((a, b) => b[1].count - a[1].count)
    .map(([status, o]) => {
      const answered = status === 'none' ? `closed the client's connection without a response for ${o.count}` : `answered ${status} for ${o.count}`;
      const head = o.neverSent === 0 ? answered : `${answered} (${o.neverSent === o.count ? 'all' : o.neverSent} of them never sent upstream)`;
      return o.retried === 0 ? head : `${head} (${o.retried === o.count ? '' : `${o.retried} `}retried on a new connection)`;
    });
  const who = [...proxies].slice(0, 3).join(', ');
  const relayed = relayedOf(failed);
  return {
    // The raced requests include those the proxy sent again and its client never saw fail; those
    // never sent are others (a blind tester read "forwarded 7 … 1 of them never sent" as a contradiction).
    text:
      `The client here is a proxy (${who}${proxies.size > 3 ? ', …' : ''}) forwarding requests it had received: of the ${raced.length} requests that met the race upstream it forwarded ${forwarded} from its clients` +
      (neverSentCount > 0
        ? `, and ${neverSentCount} more it never sent upstream: the pool picked a connection the backend had just closed (its FIN arrived just before the request, or while the proxy held it)`
        : '') +
      `; to its own clients it ${parts.join(', ')}${relayed !== '' ? `; ${relayed}` : ''}.` +
      // unanswered-request tells those closes as part of the race (upstreamCauseOf there): one failure each.
      (byOutcome.has('none')
        ? ' Those closes are the races\' other leg, not more failures: ' +
          'Apache mod_proxy closes its client\'s connection so when reading the backend\'s answer failed on a request that was not the first on that connection ' +
          '(error log: AH01102, then AH01104 "Closing connection to client"), and HAProxy 2.6 when it may not resend the request, logging nothing.'
        : '') +
      (failedDownstream === 0 && forwarded === raced.length ? ' None of its clients saw a failure: each race cost a retry (a second backend connection and its latency).' : ''),
    forwarded,
    proxies,
  };
}

function fmt(seconds: number): string {
  return String(ms(seconds));
}

function reusedText(gaps: readonly number[]): string {
  if (gaps.length === 0) return '';
  const lo = fmt(Math.min(...gaps));
  const hi = fmt(Math.max(...gaps));
  return lo === hi ? ` (reused after ${lo} s idle)` : ` (reused after ${lo}-${hi} s idle)`;
}

/** A client idle timeout safely below the server's. */
/** What a diagnosis says of idle closes spread over a timer's tick: the support of tickedTimeout. */
export function tickedText(t: TickedSpread): string {
  if (t.period !== undefined) {
    const floor = settingFloor(t);
    return (
      `${t.count} idle closes between ${fmt(t.lo)} and ${fmt(t.hi)} s idle, all at one phase of a ${fmt(t.period)} s grid of the clock: the server checks its idle connections ` +
      `on a periodic tick (that long or a divisor of it) and closes those idle longer than its setting at the next check (lighttpd and Squid check once a second, ` +
      `memcached's idle checks come seconds apart, Redis and OpenLDAP's slapd count whole seconds, the JDK's com.sun.net.httpserver checks \`sun.net.httpserver.idleInterval\` every ` +
      `\`sun.net.httpserver.clockTick\`, 10 s by default), so each close came up to a tick after the setting, which lies between ${fmt(floor)} and ${fmt(t.lo)} s; a client must stay below ${fmt(floor)} s`
    );
  }
  return (
    `${t.count} idle closes between ${fmt(t.lo)} and ${fmt(t.hi)} s, the shortest taken for the timeout: an idle timer checked on a periodic tick ` +
    `closes a connection at its first check after the timeout, anywhere in such a range (lighttpd and Squid check once a second, waitress every ` +
    `\`cleanup_interval\`, 30 s by default, cheroot every 0.5 s, the JDK's com.sun.net.httpserver every \`sun.net.httpserver.clockTick\`, webfs on whole seconds when another connection wakes it, memcached's idle checks come seconds apart, Redis and OpenLDAP's slapd count whole seconds), as do several timeouts behind one address; the setting may lie up to that spread below the shortest, and a client must stay below that`
  );
}

/**
 * What the server did with requests its idle close met on arrival. A RST, or a FIN with the kernel's
 * RST right behind it, means it closed with the request unread. A FIN alone that acknowledges the
 * request means it dropped the request: it read it and closed (a socket closed with data unread
 * sends a RST instead), or shut its side down first.
 */
function arrivalText(entry: { arrival: number; arrivalReset: number }): string {
  const read = 'the server had the request, its FIN acknowledges it, and dropped it unanswered';
  const unread = 'the server closed with the request unread, and its kernel reset the connection';
  if (entry.arrivalReset === 0) return read;
  if (entry.arrivalReset === entry.arrival) return unread;
  return `${entry.arrival - entry.arrivalReset} by a FIN: ${read}; ${entry.arrivalReset} by a RST: ${unread}`;
}

/**
 * The lowest the setting behind closes spread over a tick can be: one tick below the longest close
 * where the tick is known (its grid), else one spread below the shortest (and half of it at least).
 */
function settingFloor(ticked: TickedSpread): number {
  if (ticked.period !== undefined) return Math.max(0.1 * ticked.lo, ticked.hi - ticked.period);
  return Math.max(ticked.lo / 2, ticked.lo - (ticked.hi - ticked.lo));
}

export function saferClientIdleTimeout(serverTimeout: number, ticked: TickedSpread | null = null): number {
  // Closes spread over a tick: the setting lies up to one tick below the shortest (settingFloor).
  const setting = ticked === null ? serverTimeout : settingFloor(ticked);
  const safer = Math.max(setting / 2, setting - Math.max(1, 0.1 * setting));
  // Tenths of a second, milliseconds below a tenth: a timeout of 0.11 s was offered "0 s".
  return safer >= 0.1 ? Math.round(safer * 10) / 10 : Math.max(0.001, Math.round(safer * 1000) / 1000);
}

/**
 * The diagnosis's words for races whose request was sent again soon after (`retried`, `onNew` of
 * them on a connection of their own): where, and what a client that retries by itself would show.
 * The capture shows the copy, not who sent it: a library's resend hides the error from its
 * application; a caller that resends after the error saw it.
 */
function retriedText(retried: number, onNew: number, unanswered = 0): string {
  const where = onNew === retried ? ' on a new connection' : onNew === 0 ? ' on a connection already open' : ` (${onNew} on a new connection)`;
  // A copy that failed too is no recovery: the request went through nowhere.
  const failedToo =
    unanswered === 0 ? '' : unanswered === retried ? `; ${retried === 1 ? 'that copy' : 'those copies'} got no response either` : `; ${unanswered} of those copies got no response either`;
  return (
    `${retried} ${retried === 1 ? 'was' : 'were'} sent again${where} soon after (retried-request; a client that retries by itself, as Go's Transport, urllib3's Retry, Ruby's Net::HTTP, Java's java.net.http HttpClient and Apache HttpClient 5 (for GET), ` +
    "OkHttp (any method with a body it can send again; `retryOnConnectionFailure(false)` stops it) and libcurl (any method, a POST's body sent again) do, would show its application no error for such a request; an application that resends after the error saw it)" +
    failedToo
  );
}

/**
 * Whether resending the failed non-idempotent requests was safe, as the wire shows it (before the
 * remedy's parenthesis on libcurl): only where it proves the server never read them: its FIN left
 * before they arrived (a crossing, a stale reuse), or it closed with them unread (a RST, or a FIN
 * with its kernel's RST behind). A FIN alone that acknowledges a request (`read` of `count`) shows
 * only that its TCP had it: an idle close that read and discarded it, a lingering close (shutdown,
 * then drain) that left it unread, or an application that took it and hung up (blind round 12, S8:
 * a POST "safe to resend" that the application had read), which the wire cannot tell apart.
 */
function nonIdempotentSafety(count: number, read: number): string {
  const them = (n: number): string => (n === 1 ? 'it' : 'them');
  const readText = (n: number): string =>
    `reached the server before it closed: its FIN acknowledges ${them(n)} with no reset behind, so its TCP had ${them(n)}, and whether its application read and acted on ${them(n)} ` +
    'the wire cannot show (an idle close that discarded the request, a lingering close that drained it unread, or an application that took it and hung up)';
  if (read === 0) {
    return (
      `${count === 1 ? 'It' : 'They'} met the server's idle close and never reached its application, so sending ${them(count)} again was safe here; ` +
      'but a client cannot tell such a failure from a server failing in the middle of a request, where a blind retry applies it twice '
    );
  }
  if (read === count) {
    return `${count === 1 ? 'It' : 'They'} ${readText(count)}: sending ${them(count)} again may apply ${them(count)} twice, and a client cannot tell such a failure from one where the request never arrived `;
  }
  const unread = count - read;
  return (
    `${unread} met the server's idle close before it read ${them(unread)}, so sending ${them(unread)} again was safe here; ` +
    `${read} ${readText(read)}: sending ${them(read)} again may apply ${them(read)} twice; a client cannot tell these failures apart `
  );
}

export const keepaliveRace: DetectorDefinition = {
  id: 'keepalive-race',
  meta: {
    description:
      'A request sent on a keep-alive connection the server had just closed for idleness (its FIN crossed the request, the pool reused a connection whose FIN had already arrived, or the request arrived just as the idle timer closed the connection); the request gets no response, usually a RST.',
    severity: 'error',
    messages: {
      poolPickedClosed:
        '{request} answered {status} by the proxy {proxy} {delay} ms after it, never sent upstream: {server} had closed the proxy\'s pooled connection {flow} idle (its FIN {finDelta} ms {when} the request arrived), and the pool picked that connection',
      race: '{request} sent on a connection {server} closed after {idle} s idle ({form}: the request came {delta} ms {when} the FIN); {outcome}',
      raceNeverUsed: '{request} was the first request on a connection {server} closed after {idle} s unused ({form}: the request came {delta} ms {when} the FIN); {outcome}',
      raceIdleUnknown:
        '{request} sent on a connection {server} had closed ({form}: the request came {delta} ms {when} the FIN; how long the connection had been idle is unknown, the capture beginning after its last exchange); {outcome}',
      raceOpaque: '{bytes} bytes ({payload}) sent on a connection {server} had closed ({form}: {delta} ms {when} the FIN); {outcome}',
      raceOpaqueIdle: '{bytes} bytes of {payload} sent on a connection {server} closed after {idle} s idle ({form}: {delta} ms {when} the FIN); {outcome}',
      raceUnseenFin:
        '{request} was sent after {idleBefore} s idle on a connection {server} had already closed: it answered with a RST without ACK {closeAfter} ms later, the reset of a socket closed before the request reached it (or of a middlebox in front that had dropped the connection), and its FIN never reached this capture point (lost on the way, so the client never saw it either); {outcome}',
      raceMissedFin:
        '{request} was sent after {idleBefore} s idle on a connection {server} had already closed: it answered with a RST without ACK {closeAfter} ms later, the reset of a socket closed before the request reached it; its FIN is missing from this capture, but the sequence numbers show it was sent (the capture dropped it); {outcome}',
      raceMissedFinNoReset:
        '{request} was sent after {idleBefore} s idle, and {server} closed the connection without answering it: its FIN is missing from this capture, but the client\'s FIN {closeAfter} ms after the request acknowledged it (the capture dropped it), so the server closed at most that long after the request came, its idle timer firing about then; {outcome}',
      raceArrival:
        '{request} reached {server} after {idleBefore} s idle on a reused connection, and the server closed it ({closedWith}) {closeAfter} ms later without answering ({form}: {why}); {outcome}',
      raceArrivalOpaque:
        '{bytes} bytes of {payload} reached {server} after {idleBefore} s idle on a reused connection, and the server closed it ({closedWith}) {closeAfter} ms later with no data in answer ({form}: {why}); {outcome}',
      raceArrivalPlain:
        'A request ({payload}) reached {server} after {idleBefore} s idle on a reused connection, and the server closed it ({closedWith}) {closeAfter} ms later with no data in answer ({form}: {why}); {outcome}',
      raceIdleReset:
        '{request} sent on a connection {server} had reset after {idle} s idle, with no FIN before it ({form}: the request came {delta} ms {when} the RST that closed it); {outcome}',
      raceAfterReset:
        '{bytes} bytes of {payload} sent on a connection {server} had reset after {idle} s idle, with no FIN (crossing: {delta} ms after the RST that closed it); {outcome}',
    },
  },
  create(ctx) {
    const servers = new Map<string, ServerRaces>();
    // The recent-request index retried-request keeps too: built once per analysis.
    const index = ctx.shared(REQUEST_INDEX, () => new RequestIndex());
    // What proxies sent upstream (shared with gateway-timeout and no-upstream-connect): a close on
    // arrival at a proxy that had forwarded the request is not an idle close.
    const legs = sharedProxyLegs(ctx);
    // Connections each server held and the idle ones it closed as others arrived (shared with idle-timeout-mismatch).
    const slots: ConnectionSlots = sharedConnectionSlots(ctx);

    /** A proxy's 5xx sent nowhere upstream while `server` idle-closed the pooled connection its pool picked (PairedFailure.staleLeg). */
    function pickedClosed(server: string): PairedFailure[] {
      return legs.pair().filter((p) => p.staleLeg !== null && p.staleLeg.server === server);
    }

    /** One finding for such a 5xx, on the client's connection to the proxy; its id. */
    function reportPickedClosed(p: PairedFailure): string {
      const f = p.failure;
      const leg = p.staleLeg as NonNullable<PairedFailure['staleLeg']>;
      const lead = f.requestStart - leg.closeTs;
      const request = f.method !== null ? `${f.method} ${f.uri ?? ''}`.trim() : 'a request';
      return ctx.report({
        flowId: f.flowId,
        client: f.client,
        server: f.server,
        ts: f.failTs,
        message: 'poolPickedClosed',
        data: {
          request, status: f.status ?? '5xx', proxy: f.server, delay: fmt(f.delay * 1000), server: leg.server, flow: `${leg.client} → ${leg.server}`,
          finDelta: fmt(Math.abs(lead) * 1000), when: lead >= 0 ? 'before' : 'after',
        },
        evidence: {
          form: 'pool-picked-closed',
          exchangeIndex: f.index,
          status: f.status,
          answeredAfterMs: ms(f.delay),
          upstreamFlowId: leg.flowId,
          upstreamFinFrame: leg.closeFrame,
          upstreamFinTs: at(leg.closeTs),
          finBeforeRequestMs: ms(lead),
          sentUpstream: false,
        },
        frames: [f.requestFrame ?? f.failFrame, leg.closeFrame, f.failFrame].filter((x, i, a) => a.indexOf(x) === i),
      }).id;
    }
    const software = ctx.shared(SERVER_SOFTWARE, () => new ServerSoftware());
    /** When each server port refused connections: an idle close right before is its stop (server-stops.ts). */
    const stops = ctx.shared(SERVER_STOPS, () => new ServerStops());
    const window = ctx.options.retryWindow;

    const serverEntry = (server: string): ServerRaces | null => {
      let entry = servers.get(server);
      if (entry === undefined) {
        if (servers.size >= MAX_SERVERS) return null;
        entry = { absorbed: 0, idleGaps: [], idleLongest: [], idleSinceRequest: [], idleTs: [], idleCloses: [], busyCloses: [], idleClosesAdded: 0, nextSample: 0, raceIds: [], crossing: 0, crossingReset: 0, stale: 0, staleInFlight: 0, arrival: 0, arrivalReset: 0, arrivalIdle: [], nonIdempotent: 0, nonIdempotentRead: 0, keyed: 0, retried: 0, finFirst: 0, resetFirst: 0, retriedNew: 0, retriedUnanswered: 0, reset: 0, reusedAfter: [], neverUsed: 0, opaque: 0, closeNotify: 0, requests: [], agents: new ClientAgents(), plain: 0, plainProtocol: null, plainCut: 0, hints: new Map() };
        servers.set(server, entry);
      }
      return entry;
    };

    /**
     * Each client program's own idle closes of its connections to each server (clientIdleCloseOf: its
     * FIN first, all answered, at least minIdleTimeout idle), by host, User-Agent and server: the
     * first CLIENT_IDLE_GAPS_KEPT idle ages and when each came. A client whose pool closes idle
     * connections at one limit below the server's timeout and still reused one past it enforces its
     * limit late (the JDK HttpClient's pool, blind round 13 S1d: closes at 0.65-0.70 s with
     * `jdk.httpclient.keepalive.timeout=1`, a reuse after 2.004 s): telling it to set that limit is
     * advice already taken. Only closes the client went on after count (a raced request of its came
     * later): a program's closes as it exits, its usual pause after its last request, are no limit
     * (blind round 13b, S16: a pool's threads closing 0.91-0.98 s after their last requests at the
     * end of the run); nor do closes of one host's several programs that spread with no limit in them.
     */
    const clientIdleCloses = new Map<string, Array<{ gap: number; ts: number }>>();
    const clientKey = (clientHost: string, agent: string | null, server: string): string => `${clientHost} ${agent ?? ''} ${server}`;
    const noteClientIdleClose = (key: string, gap: number, ts: number): void => {
      const closes = clientIdleCloses.get(key);
      if (closes !== undefined) {
        if (closes.length < CLIENT_IDLE_GAPS_KEPT) closes.push({ gap, ts });
      } else if (clientIdleCloses.size < CLIENT_IDLE_PAIRS_KEPT) {
        clientIdleCloses.set(key, [{ gap, ts }]);
      }
    };
    /**
     * The idle limit the raced clients' own idle closes of connections to `server` agree on, below
     * `serverTimeout`: nearly all of those before each client's last raced request (CLIENT_IDLE_AGREEING)
     * within the spread of one timer. Null when a raced client closed none itself before its last
     * race, or they spread or reach the server's timeout.
     */
    const clientsOwnIdleLimit = (entry: ServerRaces, server: string, serverTimeout: number): { count: number; lo: number; hi: number } | null => {
      const lastRace = new Map<string, number>();
      for (const r of entry.requests) {
        const key = clientKey(hostOf(r.client), r.agent, server);
        lastRace.set(key, Math.max(lastRace.get(key) ?? -Infinity, r.start));
      }
      const gaps: number[] = [];
      for (const [key, last] of lastRace) {
        const own = (clientIdleCloses.get(key) ?? []).filter((c) => c.ts < last);
        if (own.length === 0) return null; // a raced client with no idle close of its own before its race: the advice holds for it
        for (const c of own) gaps.push(c.gap);
      }
      const limit = inferTimeoutRange(gaps, { fraction: ctx.options.spreadFraction, absolute: ctx.options.spreadAbsolute, minSamples: 2 });
      if (limit === null || limit.inferred.samples < CLIENT_IDLE_AGREEING * gaps.length || limit.hi >= serverTimeout) return null;
      return { count: limit.inferred.samples, lo: limit.lo, hi: limit.hi };
    };

    /** An idle close, idle `gap` since the last response's end and `longest` since its start (the same when unknown). */
    const addSample = (entry: ServerRaces, gap: number, close: IdleCloseSample, longest = gap): void => {
      const sinceRequest = close.requestEnd !== null && close.requestEnd <= close.finTs ? Math.max(close.finTs - close.requestEnd, longest) : longest;
      if (entry.idleGaps.length < MAX_SAMPLES_PER_SERVER) {
        entry.idleGaps.push(gap);
        entry.idleLongest.push(longest);
        entry.idleSinceRequest.push(sinceRequest);
        entry.idleTs.push(close.finTs);
      } else {
        const slot = entry.nextSample++ % MAX_SAMPLES_PER_SERVER;
        entry.idleGaps[slot] = gap;
        entry.idleLongest[slot] = longest;
        entry.idleSinceRequest[slot] = sinceRequest;
        entry.idleTs[slot] = close.finTs;
      }
      entry.idleClosesAdded = addRelaySample(entry.idleCloses, entry.idleClosesAdded, close);
    };

    /** The same request sent again on another connection of the same client host soon after the failure. */
    const retryOf = (conn: AnalyzedConnection, ex: HttpExchange | null, failure: RequestFailure | null): RememberedRequest | null => {
      if (ex === null || ex.method === null || ex.requestStart === null) return null;
      const failedAt = failure?.at ?? conn.lastTs;
      const signature = { client: conn.clientName, server: conn.serverName, method: ex.method, uri: ex.uri ?? '', bodyBytes: ex.requestBodyBytes };
      const hash = signatureHash(conn, signature.method, signature.uri, signature.bodyBytes);
      const next = index.firstBetween(signature, hash, conn.id, failedAt, failedAt + window, false, senderMarksOf(ex, conn));
      // Like retried-request: a sequential client that sent other requests first had moved on, and
      // one that sent it again after its usual pause went on with its next iteration.
      // And a copy its host sends so often that one is expected that soon by chance is no retry (see matchByChance).
      // And one its client could not yet have known to resend, or sent later on a connection it
      // already held, was another caller's request (see mayReactTo).
      const moment = { at: failedAt, byServer: failure !== null && serverEnded(failure), clientRtt: handshakeCapturePosition(conn)?.clientRtt ?? 0 };
      return next !== null && mayReactTo(ex.requestStart, moment, next) && !index.movedOnBetween(signature, failedAt, next.ts) && !atItsPace(ex.idleBefore, failedAt, next.ts) &&
        !matchByChance(index, { ...signature, flowId: conn.id }, hash, failedAt, next)
        ? next
        : null;
    };

    /**
     * The answer its own client got, when the raced request was a proxy's forward of its client's
     * request and the proxy absorbed the race: it sent the same request again on another upstream
     * connection (the retry found), that copy was answered, and so was its client, below 500. The
     * race is real (a pool reusing connections past the backend's idle timeout) but no client saw
     * it: Caddy and Traffic Server resend a GET, Varnish and Squid an idempotent request once,
     * HAProxy with `retry-on`, nginx with `proxy_next_upstream`. A warning, like the idle-timeout
     * mismatch behind it, not an error: a request the proxy may not send again (a POST) fails the
     * same way, and is an error then. Null when any of it is unseen (a client leg not in the capture).
     */
    const absorbedByProxy = (conn: AnalyzedConnection, ex: HttpExchange | null, retry: RememberedRequest | null): { client: string; status: number } | null => {
      if (ex === null || ex.requestStart === null || retry === null || retry.unanswered || retry.status === null || retry.status >= 500) return null;
      const down = legs.downstreamOf({ client: conn.clientName, server: conn.serverName, method: ex.method, uri: ex.uri, start: ex.requestStart });
      if (down === null || !down.answered || down.status === null || down.status >= 500) return null;
      return { client: down.client, status: down.status };
    };

    /** What a race's finding says (raceFinding reports it; a held close on arrival is reported later, see heldArrivals). */
    const raceInput = (
      conn: AnalyzedConnection,
      t: { reqTs: number; reqFrame: number; idle: number | null; lastFrame: number; acksFin: boolean | null; form: RaceForm; neverUsed: boolean; bytes?: number; byReset?: boolean },
      ex: HttpExchange | null,
      arrival: { close: ArrivalTiming & { goodbyeFrame?: number }; basis: ArrivalBasis; serverIdleTimeout: number | null } | null = null,
      unseenFin: UnseenFinClose | null = null,
    ): FindingInput => {
      const s = conn.server;
      const c = conn.client;
      // Without a FIN in the capture, Δ is measured to the packet that showed the close.
      // An idle close by RST (serverIdleClose's byReset): Δ to that RST, which is also the reset the request met.
      const byReset = t.byReset === true;
      const closeTs = arrival !== null ? arrival.close.closeTs : unseenFin !== null ? unseenFin.shownTs : byReset ? s.rstTs : s.finTs;
      const delta = t.reqTs - closeTs;
      const reset = byReset || (s.rstTs >= 0 && readBefore(t.reqTs, t.reqFrame, s.rstTs, s.rstFrame));
      const failure = ex !== null ? failureOf(ex, conn) : null;
      const failedAt = failure?.at ?? conn.lastTs;
      const retry = retryOf(conn, ex, failure);
      const absorbed = absorbedByProxy(conn, ex, retry);
      const line = requestLine(ex);
      const method = ex?.method ?? null;
      const idempotent = method === null ? null : isIdempotent(method);
      const protocol = plainProtocolOfRace(conn, ex);
      const outcome =
        (arrival !== null && arrival.close.closedWith === 'RST') || (unseenFin !== null && unseenFin.shownBy === 'reset')
          ? 'the reset was its only answer' // the summary already says when the RST came
          : byReset
            ? 'the client\'s write or read failed with ECONNRESET ("connection reset by peer"), not EOF: no FIN came before the reset'
          : reset
            ? `the server answered RST ${fmt((s.rstTs - t.reqTs) * 1000)} ms later`
            : 'it got no response before the connection ended';
      const fin = !byReset && s.finTs >= 0 && (arrival === null || arrival.close.closedWith === 'FIN');
      // A stale reuse: how long the client had held the FIN when its request left. Seen from the
      // capture point, the FIN went on to the client and the request came back: the round trip to
      // the client (SYN-ACK to ACK of the handshake; about 0 on a capture next to the client) is not
      // the client's.
      const position = handshakeCapturePosition(conn);
      const finHeldEvidence: Record<string, EvidenceValue> =
        t.form === 'stale-reuse' && fin
          ? { finHeldByClient: position === null ? null : fineDuration(Math.max(0, delta - position.clientRtt)) }
          : {};
      const goodbyeFrame = arrival?.close.goodbyeFrame ?? 0;
      const arrivalEvidence: Record<string, EvidenceValue> =
        unseenFin !== null
          ? {
              finSeen: false,
              // The FIN's sequence number shows it was sent: the capture dropped it (else lost on the path).
              finProven: unseenFin.finProven,
              closeShownBy: unseenFin.shownBy,
              idleBeforeRequest: ms(unseenFin.idleBeforeRequest),
              serverRttMs: microsAsMs(unseenFin.serverRtt),
            }
          : arrival === null
          ? {}
          : {
              closedWith: arrival.close.closedWith,
              idleBeforeRequest: ms(arrival.close.idleBeforeRequest),
              closeAfterRequestMs: microsAsMs(arrival.close.closeAfterRequest),
              // The round trip from the capture point to the server, in both values above as seen
              // here (the judgment takes it out: see judgeArrivalClose).
              serverRttMs: microsAsMs(arrival.close.serverRtt),
              serverIdleTimeout: arrival.serverIdleTimeout === null ? null : ms(arrival.serverIdleTimeout),
              basis: arrival.basis,
              // The server's notice of its close, which the request crossed (plainArrivalClose).
              ...(goodbyeFrame > 0 ? { goodbyeFrame } : {}),
            };
      const closedWhen =
        goodbyeFrame > 0
          ? `when it sent its notice of the close (frame ${goodbyeFrame}, ${fmt(arrival !== null ? arrival.close.idleAtClose : 0)} s idle), which the request crossed: the server, on its way out, reset the connection with the request unread`
          : `when it closed (${fmt(arrival !== null ? arrival.close.idleAtClose : 0)} s idle): the idle timer closed it as the request arrived, not the application`;
      const why =
        arrival === null
          ? ''
          : arrival.basis === 'learned-idle-timeout' && arrival.serverIdleTimeout !== null
            ? `its idle timeout, ${learnedIdleText(conn.serverName, arrival.serverIdleTimeout)}, had run out ${closedWhen}`
            : goodbyeFrame > 0
              ? `a notice of the close (frame ${goodbyeFrame}) after ${fmt(arrival.close.idleAtClose)} s of silence, which the request crossed, and a reset this fast after the request are the idle timer's close, not the application's answer`
              : `a close this fast after ${fmt(arrival.close.idleBeforeRequest)} s of silence is the idle timer that fired as the request arrived, not the application` +
              (arrival.close.serverRtt >= SHOWN_RTT
                ? `; of the ${microsAsMs(arrival.close.closeAfterRequest)} ms seen here, ${microsAsMs(arrival.close.serverRtt)} ms are the round trip to the server`
                : '');
      return {
        flowId: conn.id,
        client: conn.clientName,
        server: conn.serverName,
        ts: t.reqTs,
        message:
          unseenFin !== null
            ? unseenFin.shownBy === 'client-ack'
              ? 'raceMissedFinNoReset'
              : unseenFin.finProven
                ? 'raceMissedFin'
                : 'raceUnseenFin'
            : ex === null
            ? arrival !== null
              ? t.bytes === undefined
                ? 'raceArrivalPlain'
                : 'raceArrivalOpaque'
              : t.idle !== null
                ? 'raceOpaqueIdle'
                : 'raceOpaque'
            : arrival !== null
              ? 'raceArrival'
              : byReset
                ? 'raceIdleReset'
              : t.neverUsed
                ? 'raceNeverUsed'
                : t.idle === null
                  ? 'raceIdleUnknown'
                  : 'race',
        data: {
          idleBefore: unseenFin !== null ? fmt(unseenFin.idleBeforeRequest) : arrival === null ? '?' : fmt(arrival.close.idleBeforeRequest),
          closedWith: arrival === null ? '' : arrival.close.closedWith,
          closeAfter: unseenFin !== null ? String(microsAsMs(unseenFin.shownTs - t.reqTs)) : arrival === null ? '' : String(microsAsMs(arrival.close.closeAfterRequest)),
          why,
          request: line ?? 'A request',
          bytes: t.bytes ?? 0,
          // No HTTP session: the analysis did not read payload at all (AnalyzeOptions.http false).
          payload:
            conn.app === null || conn.app.session === null
              ? 'payload not parsed'
              : conn.app.tls !== null
                ? 'TLS application data'
                : looksLikeTls(conn)
                  ? 'data that looks like TLS records'
                  : conn.app.session.isHttp
                    ? 'HTTP request data (its start lost on the path, unread)'
                    : protocol !== null
                      ? protocol.request
                      : unidentifiedPayload(conn),
          server: conn.serverName,
          idle: t.idle === null ? '?' : fmt(t.idle),
          form: t.form,
          delta: fmt(Math.abs(delta) * 1000),
          when: delta >= 0 ? 'after' : 'before',
          // A copy that got no answer either did not go through: the request was never answered.
          outcome:
            outcome + (retry !== null ? `; retried on ${retry.client}${retry.unanswered ? ', where it got no response either' : ''}` : '') +
            (absorbed !== null ? `; the proxy answered its client ${absorbed.client} ${absorbed.status}: no client saw this failure` : ''),
        },
        evidence: {
          form: t.form,
          idleGap: t.idle === null ? null : ms(t.idle),
          finTs: fin ? at(s.finTs) : null,
          // Only on an idle close by RST (no FIN): the abort that closed the connection.
          ...(byReset ? { closedWith: 'RST' } : {}),
          requestTs: at(t.reqTs),
          delta: fineDuration(delta),
          requestAcksFin: t.acksFin,
          rstTs: reset ? at(s.rstTs) : null,
          outcome: reset ? 'reset' : 'closed',
          request: line,
          // Neither HTTP nor TLS: the protocol the server's port and the request's first byte suggest.
          protocol: protocol?.name ?? null,
          method,
          uri: ex?.uri ?? null,
          requestBodyBytes: ex?.requestBodyBytes ?? null,
          idempotent,
          exchangeIndex: ex?.index ?? null,
          requestAcked: peerAckedAll(c, s),
          // An opaque (TLS) request has no method and URI to find again on a new connection: unknown, not "no".
          retried: ex === null ? null : retry !== null,
          retriedOnFlow: retry?.flowId ?? null,
          retryClient: retry?.client ?? null,
          retryDelay: retry === null ? null : ms(retry.ts - failedAt),
          // Only when retried: whether the copy opened its own connection (or went on one already open).
          ...(retry !== null ? { retryNewConnection: retry.index === 1 } : {}),
          // Only when the retry got no answer either (a failure of its own).
          ...(retry?.unanswered === true ? { retryAnswered: false } : {}),
          // Only when a proxy sent it and its client got the answer of the copy it sent again (absorbedByProxy).
          ...(absorbed !== null ? { absorbedByProxy: true, proxyClientStatus: absorbed.status } : {}),
          // Where Δ was measured: on a client-side capture a crossing request may precede the FIN.
          capturedNear: capturedNear(conn),
          // Only on the closed-on-arrival form: how the close and its timing were judged.
          ...arrivalEvidence,
          ...finHeldEvidence,
          // Only where the snaplen cut the previous response's Connection field (reusedAfterCutHead).
          ...cutNoticeEvidence(ex, conn),
        },
        frames: [t.lastFrame, fin ? s.finFrame : 0, goodbyeFrame, t.reqFrame, reset ? s.rstFrame : unseenFin !== null ? unseenFin.shownFrame : 0],
        ...(absorbed !== null ? { severity: 'warning' as const } : {}),
      };
    };

    const raceFinding = (...args: Parameters<typeof raceInput>): Finding => ctx.report(raceInput(...args));

    const record = (conn: AnalyzedConnection, finding: Finding, form: RaceForm, neverUsed: boolean, ex: HttpExchange | null): void => {
      const entry = serverEntry(conn.serverName);
      if (entry === null) return;
      entry.agents.note(conn);
      // A FIN the capture dropped (its sequence number shows it) reached the client before the RST.
      const first = finding.evidence.finProven === true ? 'FIN' : firstCloseOf(conn.server);
      tally(entry, finding, form, neverUsed, ex, { resetBehind: resetBehindFin(conn.server), plain: isPlainRace(conn, ex), protocol: plainProtocolOfRace(conn, ex), cut: conn.client.cutBytes > 0, first, closeNotify: closeNotifyFirst(conn) });
      if (ex !== null && ex.requestStart !== null && entry.requests.length < MAX_SAMPLES_PER_SERVER) {
        entry.requests.push({ client: conn.clientName, server: conn.serverName, method: ex.method, uri: ex.uri, start: ex.requestStart, retried: finding.evidence.retried === true, agent: ownAgent(conn) });
      }
    };

    /** Counts a race in its server's entry (what record reads of the connection is in `facts`, for races held past its end). */
    const tally = (
      entry: ServerRaces, finding: Finding, form: RaceForm, neverUsed: boolean, ex: Pick<HttpExchange, 'method' | 'idempotencyKey' | 'idleBefore'> | null,
      facts: RaceFacts,
    ): void => {
      entry.raceIds.push(finding.id);
      if (finding.evidence.absorbedByProxy === true) entry.absorbed++;
      if (form === 'crossing') {
        entry.crossing++;
        if (finding.evidence.closedWith === 'RST') entry.crossingReset++;
      } else if (form === 'stale-reuse') {
        entry.stale++;
        const held = finding.evidence.finHeldByClient;
        if (typeof held === 'number' && held < STALE_IN_FLIGHT) entry.staleInFlight++;
      } else {
        entry.arrival++;
        // A RST, or a FIN with the kernel's RST right behind it: closed with the request unread.
        if (finding.evidence.closedWith === 'RST' || facts.resetBehind) entry.arrivalReset++;
        if (ex !== null && ex.idleBefore !== null && entry.arrivalIdle.length < MAX_SAMPLES_PER_SERVER) entry.arrivalIdle.push(ex.idleBefore);
      }
      if (facts.first === 'FIN') entry.finFirst++;
      else if (facts.first === 'RST') entry.resetFirst++;
      if (neverUsed) entry.neverUsed++;
      if (ex === null) entry.opaque++;
      if (facts.closeNotify) entry.closeNotify++;
      if (facts.plain) {
        entry.plain++;
        entry.plainProtocol ??= facts.protocol;
        if (facts.cut) entry.plainCut++;
      }
      if (ex?.method && !isIdempotent(ex.method)) {
        entry.nonIdempotent++;
        // Closed on arrival by a FIN alone: the server's socket had the request and nothing unread.
        if (form === 'closed-on-arrival' && finding.evidence.closedWith === 'FIN' && !facts.resetBehind) entry.nonIdempotentRead++;
        if (ex.idempotencyKey === true) entry.keyed++;
      }
      if (finding.evidence.retried === true) entry.retried++;
      if (finding.evidence.retryNewConnection === true) entry.retriedNew++;
      if (finding.evidence.retryAnswered === false) entry.retriedUnanswered++;
      if (finding.evidence.outcome === 'reset') entry.reset++;
      if (ex !== null && ex.idleBefore !== null && entry.reusedAfter.length < MAX_SAMPLES_PER_SERVER) entry.reusedAfter.push(ex.idleBefore);
    };

    /**
     * How many of a server's races met a burst of idle closes at one moment (closeBurstRuns: a
     * reload or restart), at how many such moments, and how many idle closes those made; and every
     * such moment of the server's (reloadMoments), those no race met too, with their closes.
     */
    const racesAtReload = (entry: ServerRaces, server: string, spans: readonly BurstSpan[]): { races: number; moments: number; closes: number; allMoments: number; allCloses: number } => {
      if (spans.length === 0) return { races: 0, moments: 0, closes: 0, allMoments: 0, allCloses: 0 };
      const moments = reloadMoments(entry, spans);
      const ids = new Set(entry.raceIds);
      const met = new Set<number>();
      let races = 0;
      for (const f of ctx.findings('keepalive-race')) {
        if (!ids.has(f.id)) continue;
        const fin = f.evidence.finTs;
        if (typeof fin !== 'number') continue;
        // A close the server made to take a new connection is no reload's, however many came together.
        if (slots.reclaimedAt(server, fin)) continue;
        const k = spanAt(moments, fin);
        if (k < 0) continue;
        races++;
        met.add(k);
      }
      let closes = 0;
      for (const k of met) closes += moments[k].closes;
      let allCloses = 0;
      for (const m of moments) allCloses += m.closes;
      return { races, moments: met.size, closes, allMoments: moments.length, allCloses };
    };

    /** How many of a server's races met a close it made to take a new connection (connection-slots.ts). */
    const racesAtReclaims = (entry: ServerRaces, server: string): number => {
      const ids = new Set(entry.raceIds);
      let races = 0;
      for (const f of ctx.findings('keepalive-race')) {
        if (!ids.has(f.id)) continue;
        const fin = f.evidence.finTs;
        if (typeof fin === 'number' && slots.reclaimedAt(server, fin)) races++;
      }
      return races;
    };

    /**
     * The moments of a server's reload spans (several sources name the same moment: a burst run,
     * its closes followed by refusals, a busy close), merged, each with its idle closes: those kept
     * in it, or the most any one source counted (proxy legs keep closes not kept here). Moments
     * without an idle close (a busy close alone) are no "closed every idle connection" moment.
     */
    const reloadMoments = (entry: ServerRaces, spans: readonly BurstSpan[]): BurstSpan[] => {
      const sorted = [...spans].sort((a, b) => a.from - b.from);
      const merged: BurstSpan[] = [];
      for (const sp of sorted) {
        const last = merged[merged.length - 1];
        if (last !== undefined && sp.from <= last.to + CLOSE_BURST_MOMENT) {
          last.to = Math.max(last.to, sp.to);
          last.closes = Math.max(last.closes, sp.closes);
        } else merged.push({ ...sp });
      }
      for (const m of merged) {
        let kept = 0;
        for (const ts of entry.idleTs) if (ts >= m.from - CLOSE_BURST_MOMENT && ts <= m.to + CLOSE_BURST_MOMENT) kept++;
        m.closes = Math.max(m.closes, kept);
      }
      return merged.filter((m) => m.closes > 0);
    };

    /**
     * The server's reloads and restarts: the bursts among its idle closes kept here and among those
     * the shared proxy legs keep (every idle close, one after a snaplen-cut response too where it came
     * too long after it for a notice in it), told with the reuses it answered after idling longer
     * (ProxyLegs.keptLonger).
     */
    const reloadSpans = (server: string, entry: ServerRaces): BurstSpan[] => [
      ...burstSpans(closeBurstRuns(idleAges(entry), entry.idleTs, legs.keptLonger(server), ctx.options.minIdleTimeout), entry.idleTs),
      ...legs.reloadSpans(server),
      ...stopSpans(server, entry),
      ...busySpans(entry),
      ...pairSpans(server, entry),
    ];

    /**
     * Two idle closes of the server at one moment at ages more than twofold apart (fewer than a
     * burst, closeBurstRuns): no timer, even one checked on a tick, makes them; a reload closing
     * the only two idle connections it held does (nginx's old worker at a reload under light load).
     */
    const pairSpans = (server: string, entry: ServerRaces): BurstSpan[] =>
      atOneMoment(entry.idleGaps.map((_, i) => i), (i) => entry.idleTs[i], CLOSE_BURST_MOMENT)
        .filter((run) => run.length === 2 && (pairAgesApart(entry, run) || pairRefuted(server, entry, run)))
        .map((run) => ({ from: Math.min(entry.idleTs[run[0]], entry.idleTs[run[1]]), to: Math.max(entry.idleTs[run[0]], entry.idleTs[run[1]]), closes: 2 }));

    /** Whether a pair of idle closes at one moment were idle more than twofold apart. */
    const pairAgesApart = (entry: ServerRaces, run: readonly number[]): boolean =>
      Math.max(entry.idleGaps[run[0]], entry.idleGaps[run[1]]) > CLOSE_BURST_AGE_RATIO * Math.min(entry.idleGaps[run[0]], entry.idleGaps[run[1]]);

    /**
     * Whether a pair of idle closes at one moment is no timer's though their ages are less than
     * twofold apart: the ages disagree (beyond the inference's tolerance), the server answered
     * reuses of its other connections after idling well past the younger one (legs.keptLonger:
     * several, half as long again), and no other idle close of the server agrees with either age.
     * A backend process exiting behind a load-balanced address closed its two idle connections in
     * one millisecond, idle 0.51 and 0.73 s, while ~70 reuses after 1.0 s were answered (blind9
     * dnat); a timer checked on a tick may close two at one tick at ages that disagree, but then
     * answers no reuse idle half as long again as them.
     */
    const pairRefuted = (server: string, entry: ServerRaces, run: readonly number[]): boolean => {
      const a = entry.idleGaps[run[0]];
      const b = entry.idleGaps[run[1]];
      const longest = Math.max(a, b);
      const shortest = Math.min(a, b);
      if (longest - shortest <= Math.max(ctx.options.spreadFraction * longest, ctx.options.spreadAbsolute)) return false;
      if (!(legs.keptLonger(server) > shortest)) return false;
      const agrees = (x: number, y: number): boolean => Math.abs(x - y) <= Math.max(ctx.options.spreadFraction * Math.max(x, y), ctx.options.spreadAbsolute);
      return !entry.idleGaps.some((g, i) => i !== run[0] && i !== run[1] && (agrees(g, a) || agrees(g, b)));
    };

    /** What tells that `server`'s idle closes at `refuted` were no idle timer (its answered reuses), or ''. */
    const refutedText = (server: string, refuted: InferredValue | null): string =>
      refuted === null
        ? ''
        : ` Its idle closes (${refuted.samples === 1 ? 'one' : refuted.samples} at ~${fmt(refuted.value)} s idle) were no idle timer: it answered reuses of its other connections after up to ${fmt(legs.longestAnsweredReuse(server))} s idle ` +
          '(a backend behind this address that stopped or was removed, or several backends with different timeouts): no client idle timeout below them is the fix.';

    /** Notes that `server` closed a connection with a request in progress at `ts` (busyClose). */
    const noteBusyClose = (server: string, ts: number): void => {
      const entry = serverEntry(server);
      if (entry === null) return;
      if (entry.busyCloses.length >= BUSY_CLOSES_KEPT) entry.busyCloses.shift();
      entry.busyCloses.push(ts);
    };

    /**
     * Idle closes of `server` at the moment it closed a connection with a request in progress
     * (busyCloses: its process ending), then those moments themselves (a close on arrival
     * decided before the busy close was seen lies in one).
     */
    const busySpans = (entry: ServerRaces): BurstSpan[] => [
      ...entry.idleTs.filter((ts) => atABusyClose(entry.busyCloses, ts)).map((ts) => ({ from: ts, to: ts, closes: 1 })),
      ...entry.busyCloses.map((ts) => ({ from: ts, to: ts, closes: 0 })),
    ];

    /** Idle closes of `server` that its port refusing connections right after shows to be its stop (ServerStops). */
    const stopSpans = (server: string, entry: ServerRaces): BurstSpan[] => {
      const spans: BurstSpan[] = [];
      for (const ts of entry.idleTs) if (stops.stoppedAfter(server, ts)) spans.push({ from: ts, to: ts, closes: 1 });
      return spans;
    };

    /**
     * Each idle close's idle time as the server's timer saw it (settleIdleIntervals): a close after a
     * body the send buffer held while it drained is taken at the timer the other closes agree on when
     * its range, from the response's first byte to its last, holds it.
     */
    const idleAges = (entry: ServerRaces): number[] =>
      settleIdleIntervals(entry.idleGaps, entry.idleLongest, { fraction: ctx.options.spreadFraction, absolute: ctx.options.spreadAbsolute });

    /**
     * The server's idle closes seen so far that its idle timer may have made, as idle ages (idleAges)
     * and when each came: not those at the moment it closed a connection with a request in progress
     * (busyCloses), nor those its port refusing connections right after shows to be its stop
     * (ServerStops): its process ending closed them, whatever their idle age.
     */
    const timerCloses = (server: string, entry: ServerRaces): { gaps: number[]; ts: number[]; sinceRequest: number[] } => {
      const ages = idleAges(entry);
      const gaps: number[] = [];
      const ts: number[] = [];
      const sinceRequest: number[] = [];
      for (let i = 0; i < ages.length; i++) {
        const t = entry.idleTs[i];
        if (atABusyClose(entry.busyCloses, t) || stops.stoppedAfter(server, t)) continue;
        gaps.push(ages[i]);
        ts.push(t);
        sinceRequest.push(entry.idleSinceRequest[i]);
      }
      return { gaps, ts, sinceRequest };
    };

    /** The server's idle timeout as its idle closes seen so far tell it (timerCloses), or null. */
    const learnedIdleTimeout = (server: string): number | null => {
      const entry = servers.get(server);
      if (entry === undefined || entry.idleGaps.length === 0) return null;
      const gaps = timerCloses(server, entry).gaps;
      if (gaps.length === 0) return null;
      const inferred = inferTimeout(gaps, { fraction: ctx.options.spreadFraction, absolute: ctx.options.spreadAbsolute, minSamples: 1 });
      return inferred === null ? null : inferred.value;
    };

    /**
     * The learned idle timeout as a close on arrival's explanation gives it: its value, or, when the
     * closes so far spread over a timer's tick (tickedSpread), their range, which the diagnosis
     * reports too (its value is the shortest; the judgment's granularity spans the range).
     */
    const learnedIdleText = (server: string, value: number): string => {
      const entry = servers.get(server);
      const closes = entry !== undefined ? timerCloses(server, entry) : { gaps: [], ts: [], sinceRequest: [] };
      const gaps = closes.gaps;
      const inferred = inferTimeout(gaps, { fraction: ctx.options.spreadFraction, absolute: ctx.options.spreadAbsolute, minSamples: 1 });
      const ticked = inferred !== null ? tickedSpread(gaps, inferred, closes.ts, closes.sinceRequest, { fraction: ctx.options.spreadFraction, absolute: ctx.options.spreadAbsolute }) : null;
      return ticked !== null
        ? `checked on a tick (its idle closes before this one came ${fmt(ticked.lo)}-${fmt(ticked.hi)} s idle)`
        : `~${fmt(value)} s by its idle closes before this one`;
    };

    /** A request the server's idle close met on arrival (decided with the idle closes seen so far, so a stream and a file agree). */
    const arrivalRace = (conn: AnalyzedConnection): void => {
      const close = arrivalClose(conn);
      if (close === null) return;
      // Closed at the moment the server closed a connection with a request in progress (busyClose):
      // its process ending (a kill, a crash, a restart) closed both, no idle timer; the request is
      // the restart's (unanswered-request).
      const busy = servers.get(conn.serverName)?.busyCloses;
      if (busy !== undefined && atABusyClose(busy, close.closeTs)) return;
      // A proxy that forwarded the request to a backend before closing had read it and worked on
      // it: its close is the end of that attempt (HAProxy closes the client connection when a
      // request it cannot retry failed upstream), not an idle timer that met the request.
      if (legs.forwardedBefore(conn, close.request, close.closeTs) !== null) return;
      // A reset the server did not send (its TTL, or its timing): a middlebox's (middlebox-idle-timeout).
      if (close.closedWith === 'RST' && resetFromPath(conn, close.request.requestStart ?? close.closeTs) !== null) return;
      const serverIdleTimeout = learnedIdleTimeout(conn.serverName);
      const basis = judgeArrivalClose(close, serverIdleTimeout, ctx.options.minIdleTimeout, legs.keptLonger(conn.serverName));
      const ex = close.request;
      const reqTs = ex.requestStart ?? close.closeTs;
      if (basis === null) {
        // No idle timeout known yet, and too slow a close for the timer's own speed: a lazy idle
        // close (its timer fired, its close() came some ms later) tells itself by its time, which
        // the capture's idle closes may agree on only later (releaseLazyArrivals).
        if (serverIdleTimeout === null && lazyCandidate(close, ctx.options.minIdleTimeout, legs.keptLonger(conn.serverName))) {
          const input = raceInput(
            conn,
            { reqTs, reqFrame: ex.requestFrame ?? 0, idle: close.idleAtClose, lastFrame: close.lastActivityFrame, acksFin: false, form: 'closed-on-arrival', neverUsed: false },
            ex,
            { close, basis: 'learned-idle-timeout', serverIdleTimeout: null },
          );
          holdLazyArrival(conn, input, close);
        }
        return;
      }
      const race = { reqTs, reqFrame: ex.requestFrame ?? 0, idle: close.idleAtClose, lastFrame: close.lastActivityFrame, acksFin: false, form: 'closed-on-arrival' as const, neverUsed: false };
      const arrival = { close, basis, serverIdleTimeout: basis === 'learned-idle-timeout' ? serverIdleTimeout : null };
      if (basis === 'instant-close') {
        // Judged by its speed alone, with no idle close of the server's to say it has such a timer:
        // held until the capture ends, when its port refusing connections right after tells that
        // the process stopped (a kill closes every connection it held, one with a request unread by
        // RST, and its listener with them), not an idle timer (releaseInstantArrivals).
        holdLazyArrival(conn, raceInput(conn, race, ex, arrival), close, instantArrivals);
        return;
      }
      record(conn, raceFinding(conn, race, ex, arrival), 'closed-on-arrival', false, ex);
    };

    /**
     * A request the server met with the close of a connection, its FIN not in the capture (see
     * unseenFinClose). Judged as an idle close. After a bare RST: with the server's idle timeout
     * learned from its other closes, the request came when the timer was due (as judgeArrivalClose
     * asks); without it, any real idle gap, the RST being the proof of a close before the request.
     * Without a RST nothing orders the close and the request, but the client's FIN that
     * acknowledged the server's bounds when it came: judged as a close on arrival with that bound
     * (the timer due, or a close that fast after a real idle gap). Returns whether a race was
     * reported.
     */
    const unseenFinRace = (conn: AnalyzedConnection): boolean => {
      const r = unseenFinClose(conn);
      if (r === null) return false;
      // A proxy that forwarded the request upstream had read it: its close ended that attempt (as arrivalRace says).
      const ex = r.request;
      if (legs.forwardedBefore(conn, ex, r.shownTs) !== null) return false;
      const reqTs = ex.requestStart ?? r.shownTs;
      if (r.shownBy === 'reset' && !r.finProven && resetFromPath(conn, reqTs) !== null) return false;
      const learned = learnedIdleTimeout(conn.serverName);
      if (r.shownBy === 'client-ack') {
        const bound = { idleBeforeRequest: r.idleBeforeRequest, idleAtClose: r.shownTs - r.lastActivityTs, closeAfterRequest: r.shownTs - reqTs, serverRtt: r.serverRtt };
        if (judgeArrivalClose(bound, learned, ctx.options.minIdleTimeout, legs.keptLonger(conn.serverName)) === null) return false;
      } else {
        const atServer = r.idleBeforeRequest + r.serverRtt;
        if (atServer < ctx.options.minIdleTimeout) return false;
        if (learned !== null && learned >= ctx.options.minIdleTimeout) {
          const granularity = Math.min(MAX_TIMER_GRANULARITY, TIMER_GRANULARITY_FRACTION * learned);
          if (atServer < learned - granularity) return false;
        }
      }
      const finding = raceFinding(
        conn,
        { reqTs, reqFrame: ex.requestFrame ?? 0, idle: null, lastFrame: r.lastActivityFrame, acksFin: false, form: 'crossing', neverUsed: false },
        ex,
        null,
        r,
      );
      record(conn, finding, 'crossing', false, ex);
      return true;
    };

    /**
     * Non-HTTP (TLS, or a protocol conncheck does not parse: a database's, a cache's): the same TCP
     * signature, without request lines; the idle gap when the TLS record headers tell it, or when
     * each side's last data before the FIN does (opaqueServerIdleClose). Returns whether a race was
     * reported.
     */
    const opaqueRace = (conn: AnalyzedConnection, close: { idleGap: number; lastActivityFrame: number } | null): boolean => {
      const s = conn.server;
      const c = conn.client;
      const after = conn.clientDataAfterServerFin;
      if (s.finTs < 0 || after === null) return false;
      // TLS: a close_notify is no request (the client's alert answering the server's is how a TLS
      // client closes). Other protocols' requests are as short as they come (a 14-byte `SELECT 1`,
      // a 24-byte Redis INCR).
      if (looksLikeTls(conn) && !tlsRequestAfterClose(conn, after)) return false;
      // A TLS 1.3 server that rejected the client's second flight (its certificate) closed a
      // handshake, not an idle connection: the request after it is tls-handshake-failed's.
      if (tlsFlightRejected(conn) !== null) return false;
      // Its own goodbye after the server's close (PostgreSQL's Terminate, MySQL's COM_QUIT) is no request.
      if (isGoodbye(conn, after)) return false;
      if (
        (c.finTs >= 0 && readBefore(c.finTs, c.finFrame, after.ts, after.frame)) ||
        (c.rstTs >= 0 && readBefore(c.rstTs, c.rstFrame, after.ts, after.frame)) ||
        (s.rstTs >= 0 && readBefore(s.rstTs, s.rstFrame, s.finTs, s.finFrame))
      ) return false;
      // Without request framing, demand the proof that the server was gone: it reset the data.
      if (s.rstTs < 0 || readBefore(s.rstTs, s.rstFrame, after.ts, after.frame)) return false;
      const form = after.acksFin ? 'stale-reuse' : 'crossing';
      const finding = raceFinding(
        conn,
        {
          reqTs: after.ts,
          reqFrame: after.frame,
          idle: close !== null ? close.idleGap : null,
          lastFrame: close !== null ? close.lastActivityFrame : s.lastDataFrame,
          acksFin: after.acksFin,
          form,
          neverUsed: false,
          bytes: after.length,
        },
        null,
      );
      record(conn, finding, form, false, null);
      return true;
    };

    /**
     * A plain protocol's request sent on a connection the server had closed with a RST and no FIN
     * after an idle gap (MariaDB at `wait_timeout`): the data left before the reset arrived (its
     * socket was gone), a crossing; the server's kernel answers it with another RST.
     */
    const resetRace = (conn: AnalyzedConnection, close: OpaqueServerIdleClose): void => {
      const s = conn.server;
      const c = conn.client;
      const after = conn.clientDataAfterServerReset;
      if (after === null || !isPlainRace(conn, null)) return;
      // Its own goodbye (PostgreSQL's Terminate, MySQL's COM_QUIT) is no request.
      if (isGoodbye(conn, after)) return;
      if (c.finTs >= 0 && readBefore(c.finTs, c.finFrame, after.ts, after.frame)) return;
      const protocol = plainProtocolOfRace(conn, null);
      const delta = after.ts - close.closeTs;
      const answered = s.rstCount > 1;
      const finding = ctx.report({
        flowId: conn.id,
        client: conn.clientName,
        server: conn.serverName,
        ts: after.ts,
        message: 'raceAfterReset',
        data: {
          bytes: after.length,
          payload: protocol !== null ? protocol.request : unidentifiedPayload(conn),
          server: conn.serverName,
          idle: fmt(close.idleGap),
          delta: fmt(delta * 1000),
          outcome: answered ? 'the server\'s kernel answered it with another RST' : 'it got no answer',
        },
        evidence: {
          form: 'crossing',
          closedWith: 'RST',
          idleGap: ms(close.idleGap),
          closeTs: at(close.closeTs),
          requestTs: at(after.ts),
          delta: fineDuration(delta),
          outcome: answered ? 'reset' : 'closed',
          request: null,
          protocol: protocol?.name ?? null,
          method: null,
          idempotent: null,
          requestBytes: after.length,
          retried: null,
          capturedNear: capturedNear(conn),
        },
        frames: [close.lastActivityFrame, close.closeFrame, after.frame],
      });
      record(conn, finding, 'crossing', false, null);
    };

    /**
     * A request without HTTP framing (TLS records, or a plain protocol's data) that the server's idle
     * close met on arrival, judged as arrivalRace judges an HTTP one. `requestBytes` when known.
     */
    const opaqueArrivalRace = (conn: AnalyzedConnection, close: (ArrivalTiming & { requestTs: number; requestFrame: number; requestBytes?: number }) | null): void => {
      if (close === null) return;
      const serverIdleTimeout = learnedIdleTimeout(conn.serverName);
      const basis = judgeArrivalClose(close, serverIdleTimeout, ctx.options.minIdleTimeout, legs.keptLonger(conn.serverName));
      if (basis === null) return;
      const input = raceInput(
        conn,
        {
          reqTs: close.requestTs,
          reqFrame: close.requestFrame,
          idle: close.idleAtClose,
          lastFrame: close.lastActivityFrame,
          acksFin: false,
          form: 'closed-on-arrival',
          neverUsed: false,
          bytes: close.requestBytes,
        },
        null,
        { close, basis, serverIdleTimeout: basis === 'learned-idle-timeout' ? serverIdleTimeout : null },
      );
      // A plain protocol's close judged by its speed alone: an application that resets on a request
      // it read (SO_LINGER 0) is as fast. Held until the capture ends, when the server's other
      // connections have said whether it kept connections idle longer (releaseHeldArrivals).
      if (basis === 'instant-close' && isPlainRace(conn, null) && holdArrival(conn, input, close)) return;
      record(conn, ctx.report(input), 'closed-on-arrival', false, null);
    };

    /** Longest answered reuse per server of connections neither HTTP nor TLS (longestAnsweredPlainReuse), over the connections ended so far. */
    const plainKept = new Map<string, number>();
    /** Plain closes on arrival judged by speed alone, by server, until the capture ends (HeldArrival). */
    const heldArrivals = new Map<string, HeldArrival[]>();

    /** Races after a cut head, held per server (HeldCutHead). */
    const heldCutHeads = new Map<string, HeldCutHead[]>();
    /** Each server's latest closes (FIN or RST, the server closing first) of HTTP connections, for heldCutHeads. */
    const serverCloses = new Map<string, number[]>();

    const noteServerClose = (conn: AnalyzedConnection): void => {
      const close = serverClosedFirst(conn);
      if (close === null) return;
      let list = serverCloses.get(conn.serverName);
      if (list === undefined) {
        if (serverCloses.size >= MAX_SERVERS) return;
        serverCloses.set(conn.serverName, (list = []));
      }
      if (list.length >= CLOSES_KEPT) list.shift();
      list.push(close.ts);
    };

    /** How many of `server`'s closes kept (serverCloses) came at the moment `ts` (CLOSE_BURST_MOMENT). */
    const closesAt = (server: string, ts: number): number => {
      let n = 0;
      for (const t of serverCloses.get(server) ?? []) if (Math.abs(t - ts) <= CLOSE_BURST_MOMENT) n++;
      return n;
    };

    /**
     * Holds the race on `conn` if it is one only where the snaplen cut the previous response's
     * Connection field (serverIdleClose with afterCutHead); false when it is not such a race.
     */
    const holdCutHead = (conn: AnalyzedConnection): boolean => {
      const close = serverIdleClose(conn, true);
      if (close === null || close.idleUnknown || close.lastExchange === null || close.lateRequest === null || close.lateRequest.requestStart === null) return false;
      const ex = close.lateRequest;
      const c = conn.client;
      const reqTs = close.lateRequest.requestStart;
      const reqFrame = ex.requestFrame ?? 0;
      if ((c.finTs >= 0 && readBefore(c.finTs, c.finFrame, reqTs, reqFrame)) || (c.rstTs >= 0 && readBefore(c.rstTs, c.rstFrame, reqTs, reqFrame))) return false;
      let list = heldCutHeads.get(conn.serverName);
      if (list === undefined) {
        if (heldCutHeads.size >= MAX_SERVERS) return false;
        heldCutHeads.set(conn.serverName, (list = []));
      }
      if (list.length >= MAX_SAMPLES_PER_SERVER) return false;
      const after = conn.clientDataAfterServerFin;
      const acksFin = readBefore(reqTs, reqFrame, close.finTs, close.finFrame) ? false : after !== null ? after.acksFin : null;
      const form: RaceForm = acksFin === true ? 'stale-reuse' : 'crossing';
      const session = conn.app?.session ?? null;
      list.push({
        input: raceInput(conn, { reqTs, reqFrame, idle: close.idleGap, lastFrame: close.lastActivityFrame, acksFin, form, neverUsed: false }, ex),
        finTs: close.finTs,
        form,
        ex: { method: ex.method, idempotencyKey: ex.idempotencyKey, idleBefore: ex.idleBefore, uri: ex.uri, requestStart: ex.requestStart },
        client: conn.clientName,
        facts: { resetBehind: resetBehindFin(conn.server), plain: isPlainRace(conn, ex), protocol: plainProtocolOfRace(conn, ex), cut: c.cutBytes > 0, first: firstCloseOf(conn.server), closeNotify: closeNotifyFirst(conn) },
        agent: session?.clientSoftware ?? null,
        forwarded: forwardedByProxy(session),
        ownAgent: ownAgent(conn),
        // Its own close is kept too (noteServerClose ran first): another makes two.
        atMoment: closesAt(conn.serverName, close.finTs) >= 2,
        idleGap: close.idleGap,
        idleGapLongest: close.idleGapLongest,
        sample: idleCloseSample(close.finTs, close.finFrame, close.lastExchange),
      });
      return true;
    };

    /** Reports the held races after cut heads whose server closed another connection at that moment (HeldCutHead). */
    const releaseCutHeads = (): void => {
      for (const [server, list] of heldCutHeads) {
        for (const h of list) {
          if (!h.atMoment && closesAt(server, h.finTs) < 2) continue;
          const finding = ctx.report(h.input);
          const entry = serverEntry(server);
          if (entry === null) continue;
          addSample(entry, h.idleGap, h.sample, h.idleGapLongest);
          entry.agents.noteIdentity(h.agent, h.forwarded);
          tally(entry, finding, h.form, false, h.ex, h.facts);
          if (h.ex.requestStart !== null && entry.requests.length < MAX_SAMPLES_PER_SERVER) {
            entry.requests.push({ client: h.client, server, method: h.ex.method, uri: h.ex.uri, start: h.ex.requestStart, retried: finding.evidence.retried === true, agent: h.ownAgent });
          }
        }
      }
      heldCutHeads.clear();
    };

    /** HTTP closes on arrival too slow for instant-close, with no idle timeout known when judged, by server (LazyArrival). */
    const lazyArrivals = new Map<string, LazyArrival[]>();
    const lazyFlows = sharedLazyArrivalFlows(ctx);

    /** HTTP closes on arrival judged instant-close, with no idle timeout known when judged, by server (LazyArrival; see arrivalRace). */
    const instantArrivals = new Map<string, LazyArrival[]>();

    const holdLazyArrival = (conn: AnalyzedConnection, input: FindingInput, close: ArrivalClose, held = lazyArrivals): void => {
      let list = held.get(conn.serverName);
      if (list === undefined) {
        if (held.size >= MAX_SERVERS) {
          if (held === instantArrivals) record(conn, ctx.report(input), 'closed-on-arrival', false, close.request);
          return;
        }
        held.set(conn.serverName, (list = []));
      }
      if (list.length >= MAX_SAMPLES_PER_SERVER && held === instantArrivals) {
        record(conn, ctx.report(input), 'closed-on-arrival', false, close.request);
        return;
      }
      if (list.length >= MAX_SAMPLES_PER_SERVER) return;
      lazyFlows.add(conn.id);
      const ex = close.request;
      const session = conn.app?.session ?? null;
      list.push({
        input,
        ts: input.ts,
        closeTs: close.closeTs,
        idleBeforeRequest: close.idleBeforeRequest,
        closeAfterRequest: close.closeAfterRequest,
        idleAtClose: close.idleAtClose,
        serverRtt: close.serverRtt,
        facts: { resetBehind: resetBehindFin(conn.server), plain: false, protocol: null, cut: conn.client.cutBytes > 0, first: firstCloseOf(conn.server), closeNotify: closeNotifyFirst(conn) },
        agent: session?.clientSoftware ?? null,
        forwarded: forwardedByProxy(session),
        request: { method: ex.method, uri: ex.uri, idempotencyKey: ex.idempotencyKey, idleBefore: ex.idleBefore, start: ex.requestStart ?? input.ts, client: conn.clientName },
      });
    };

    /**
     * Reports the held lazy closes on arrival whose close fell at the server's idle timeout: the one
     * its idle closes over the whole capture agree on, else the one the held closes themselves agree
     * on (two or more) when they agree more tightly on their idle age at the close than on the
     * request's age at it: a timer counts from the previous response, an application that closes
     * after reading a request counts from the request.
     */
    const releaseLazyArrivals = (): void => {
      const fraction = ctx.options.spreadFraction;
      const absolute = ctx.options.spreadAbsolute;
      for (const [server, list] of lazyArrivals) {
        const learned = learnedIdleTimeout(server);
        const own = learned === null ? ownLazyTimer(list) : null;
        const timeout = learned ?? own?.value ?? null;
        if (timeout === null || timeout < ctx.options.minIdleTimeout) continue;
        const agree = Math.max(fraction * timeout, absolute);
        const keptLonger = legs.keptLonger(server);
        for (const h of [...list].sort((a, b) => a.ts - b.ts)) {
          // With the timeout the server's idle closes tell, the close is judged as arrivalRace judges
          // one that came after those closes (a stream and a file agree), its idle age at the close
          // on that timeout: a timer checked on a tick closes a request that came between two ticks
          // up to one tick after it came, whatever the tick (the held closes agree with no idle close
          // of the server's but by a timer that counts from the previous response). So too with the
          // timer its held closes agree on, when MIN_OWN_LAZY_CLOSES or more do: their idle ages
          // agreeing while their delays after the request do not is that timer's mark. With fewer,
          // the close must also have come well within its idle gap and within `agree` of the request.
          const atAge = Math.abs(h.idleAtClose - timeout) <= agree;
          const atTimeout = own === null || own.samples >= MIN_OWN_LAZY_CLOSES ? atAge : lazyWithinGap(h) && lazyAtTimeout(h, timeout, agree);
          if (!atTimeout || judgeArrivalClose(h, timeout, ctx.options.minIdleTimeout, keptLonger) === null) continue;
          reportHeld(server, h, lazyFindingInput(h, server, timeout, own));
        }
      }
      lazyArrivals.clear();
    };

    /**
     * Without idle closes of the server's: the timer its held lazy closes agree on, when they agree
     * more tightly on their idle age at the close than on their delay after the request.
     */
    const ownLazyTimer = (list: readonly LazyArrival[]): (OwnLazyTimer & { value: number }) | null => {
      if (list.length < 2) return null;
      const inferred = inferTimeout(list.map((h) => h.idleAtClose), { fraction: ctx.options.spreadFraction, absolute: ctx.options.spreadAbsolute, minSamples: 2 });
      const afterRequest = list.map((h) => h.closeAfterRequest);
      if (inferred === null || !(inferred.spread < spreadOf(afterRequest))) return null;
      return { value: inferred.value, samples: inferred.samples, spread: inferred.spread, afterLo: Math.min(...afterRequest), afterHi: Math.max(...afterRequest) };
    };

    /** Reports a held close on arrival and counts it in its server's races. */
    const reportHeld = (server: string, h: LazyArrival, input: FindingInput): void => {
      const entry = serverEntry(server);
      const finding = ctx.report(input);
      if (entry === null) return;
      entry.agents.noteIdentity(h.agent, h.forwarded);
      tally(entry, finding, 'closed-on-arrival', false, h.request, h.facts);
      if (entry.requests.length < MAX_SAMPLES_PER_SERVER) {
        const r = h.request;
        // The held close's agent, as ownAgent reads it: none for a forward.
        entry.requests.push({ client: r.client, server, method: r.method, uri: r.uri, start: r.start, retried: finding.evidence.retried === true, agent: h.forwarded === false ? h.agent ?? '' : null });
      }
    };

    /**
     * Reports the held instant closes on arrival (see arrivalRace), but not one its server's port
     * followed by refusing connections (ServerStops): the process stopped, closing the connection
     * with the request unread; reset-before-response, which waits for this judgement, tells it.
     */
    const releaseInstantArrivals = (): void => {
      for (const [server, list] of instantArrivals) {
        // What shows the server's idle timer, worked out once per server (not per close).
        const shown = idleTimerShown(server);
        for (const h of [...list].sort((a, b) => a.ts - b.ts)) {
          if (stops.stoppedAfter(server, h.closeTs)) continue;
          if (readByServer(h) && !shown(h)) continue;
          reportHeld(server, h, h.input);
        }
      }
      instantArrivals.clear();
    };

    /**
     * A close on arrival by a FIN alone (no RST behind it) that acknowledges the whole request: the
     * server's TCP had the request and its socket was closed with nothing unread (a socket closed
     * with data unread resets), or shut down for writing first (a lingering close, lighttpd's). The
     * wire cannot tell that from an application that read the request and hung up on it. (A RST, or
     * a FIN with the kernel's RST behind, is a socket closed with the request unread: no
     * application hangs up on a request it has not read.)
     */
    const readByServer = (h: Pick<LazyArrival, 'input' | 'facts'>): boolean => h.input.evidence?.closedWith === 'FIN' && !h.facts.resetBehind;

    /**
     * For one server, whether a held close on arrival came at an idle age its idle timer is shown to
     * fire at: its idle closes over the whole capture tell a timeout the close was due at
     * (judgeArrivalClose, as for a close judged after them); without them, the timer its held lazy
     * closes agree on, or the default idle timeout of the software its Server header names. Its
     * speed alone does not tell it when the server read the request: an application that drops a
     * request (sample unanswered-request-app-drops-reused, 0.4 s after the previous response, its
     * idle timeout 30 s) closes as fast, and only an idle timer of that age makes it a race.
     */
    const idleTimerShown = (server: string): ((h: LazyArrival) => boolean) => {
      const learned = learnedIdleTimeout(server);
      if (learned !== null && learned >= ctx.options.minIdleTimeout) {
        const keptLonger = legs.keptLonger(server);
        return (h) => judgeArrivalClose(h, learned, ctx.options.minIdleTimeout, keptLonger) !== null;
      }
      // The timer the server's held lazy closes agree on, when enough do to be judged by it alone (releaseLazyArrivals).
      const own = ownLazyTimer(lazyArrivals.get(server) ?? []);
      const ownValue = own !== null && own.samples >= MIN_OWN_LAZY_CLOSES && own.value >= ctx.options.minIdleTimeout ? own.value : null;
      const agree = ownValue === null ? 0 : Math.max(ctx.options.spreadFraction * ownValue, ctx.options.spreadAbsolute);
      const named = software.softwareOf(server);
      const product = named === null || named === NO_SERVER_HEADER ? null : named;
      return (h) =>
        (ownValue !== null && Math.abs(h.idleAtClose - ownValue) <= agree) ||
        (product !== null && matchKnown(h.idleAtClose, KNOWN_IDLE_TIMEOUTS, product).some((k) => k.side === 'server' && k.software !== undefined));
    };

    /** A held lazy close's finding, with the idle timeout that judged it (`own`: inferred from the held closes alone). */
    const lazyFindingInput = (h: LazyArrival, server: string, timeout: number, own: OwnLazyTimer | null): FindingInput => {
      const close = `${fmt(h.idleAtClose)} s idle, ${microsAsMs(h.closeAfterRequest)} ms after the request came`;
      const why =
        own === null
          ? `its idle timeout, ${learnedIdleText(server, timeout)}, had run out when it closed (${close}: a lazy close, the timer's close() some ms after it fired): ` +
            'the idle timer closed it as the request arrived, not the application'
          : `an idle timer of ~${fmt(timeout)} s counted from the last response closed it (${close}): ${own.samples} such closes agree on their idle age ` +
            `within ${microsAsMs(own.spread)} ms while they came ${microsAsMs(own.afterLo)}-${microsAsMs(own.afterHi)} ms after their requests; ` +
            `${server} closed no idle connection in this capture, so whose timer it was is not shown (${ownerUnshownText(server)})`;
      return {
        ...h.input,
        data: { ...h.input.data, why },
        evidence: { ...h.input.evidence, serverIdleTimeout: ms(timeout), lazyClose: true },
      };
    };

    const notePlainReuses = (conn: AnalyzedConnection): void => {
      const gap = longestAnsweredPlainReuse(conn);
      if (gap <= 0) return;
      const kept = plainKept.get(conn.serverName);
      if (kept !== undefined ? gap > kept : plainKept.size < MAX_SERVERS) plainKept.set(conn.serverName, gap);
    };

    /** Never-used connections closed as they were accepted, held until accept-queue-overflow has judged them (HeldAcceptClose). */
    const heldAcceptCloses: HeldAcceptClose[] = [];
    const holdAcceptClose = (conn: AnalyzedConnection, input: FindingInput, form: RaceForm, ex: HttpExchange): boolean => {
      if (heldAcceptCloses.length >= MAX_SAMPLES_PER_SERVER) return false;
      const session = conn.app?.session ?? null;
      heldAcceptCloses.push({
        flowId: conn.id,
        server: conn.serverName,
        input,
        form,
        ex: { method: ex.method, idempotencyKey: ex.idempotencyKey, idleBefore: ex.idleBefore },
        facts: { resetBehind: resetBehindFin(conn.server), plain: isPlainRace(conn, ex), protocol: plainProtocolOfRace(conn, ex), cut: conn.client.cutBytes > 0, first: firstCloseOf(conn.server), closeNotify: closeNotifyFirst(conn) },
        agent: session?.clientSoftware ?? null,
        forwarded: session === null ? null : session.clientForwarded,
        request: ex.requestStart === null ? null : { client: conn.clientName, server: conn.serverName, method: ex.method, uri: ex.uri, start: ex.requestStart, retried: input.evidence.retried === true, agent: ownAgent(conn) },
      });
      return true;
    };
    /** Reports the held ones accept-queue-overflow (whose end ran first) did not take as races, as record would have. */
    const releaseAcceptCloses = (): void => {
      for (const h of heldAcceptCloses) {
        if (ctx.reportedOn('accept-queue-overflow', h.flowId)) continue;
        const finding = ctx.report(h.input);
        const entry = serverEntry(h.server);
        if (entry === null) continue;
        entry.agents.noteIdentity(h.agent, h.forwarded);
        tally(entry, finding, h.form, true, h.ex, h.facts);
        if (h.request !== null && entry.requests.length < MAX_SAMPLES_PER_SERVER) entry.requests.push(h.request);
      }
      heldAcceptCloses.length = 0;
    };

    /** Holds a close on arrival's finding (what it says read now, from the connection); false when the bound is reached. */
    const holdArrival = (conn: AnalyzedConnection, input: FindingInput, close: ArrivalTiming): boolean => {
      let list = heldArrivals.get(conn.serverName);
      if (list === undefined) {
        if (heldArrivals.size >= MAX_SERVERS) return false;
        heldArrivals.set(conn.serverName, (list = []));
      }
      if (list.length >= MAX_SAMPLES_PER_SERVER) return false;
      const session = conn.app?.session ?? null;
      list.push({
        input,
        ts: input.ts,
        idleBeforeRequest: close.idleBeforeRequest,
        closeAfterRequest: close.closeAfterRequest,
        idleAtClose: close.idleAtClose,
        facts: { resetBehind: resetBehindFin(conn.server), plain: true, protocol: plainProtocolOfRace(conn, null), cut: conn.client.cutBytes > 0, first: firstCloseOf(conn.server), closeNotify: false },
        agent: session?.clientSoftware ?? null,
        forwarded: forwardedByProxy(session),
      });
      return true;
    };

    /**
     * Reports the held closes on arrival that an idle timer may have made. Not one: a server's that
     * came at idle ages further apart than ARRIVAL_AGES_APART (one timer fires at one age), or one
     * after an idle gap no longer than a reuse the server answered (its timer, had it one that short,
     * would have closed that connection: the request itself made it close, as an application
     * resetting on a command it read does).
     */
    const releaseHeldArrivals = (): void => {
      for (const [server, list] of heldArrivals) {
        const ages = list.map((h) => h.idleAtClose);
        if (Math.max(...ages) > ARRIVAL_AGES_APART * Math.min(...ages)) continue;
        const kept = plainKept.get(server) ?? -1;
        for (const h of [...list].sort((a, b) => a.ts - b.ts)) {
          // The latest the timer could have fired, as an idle age: when the close came.
          if (kept >= h.idleBeforeRequest + h.closeAfterRequest) continue;
          const entry = serverEntry(server);
          const finding = ctx.report(h.input);
          if (entry === null) continue;
          entry.agents.noteIdentity(h.agent, h.forwarded);
          tally(entry, finding, 'closed-on-arrival', false, null, h.facts);
        }
      }
      heldArrivals.clear();
    };

    /**
     * The diagnosis of a server whose raced requests were all neither HTTP nor TLS (a database's, a
     * cache's): what HTTP's words and settings would get wrong is left out, and the protocol the
     * server's port suggests (plain-protocols.ts) gives the settings and the clients' errors.
     */
    const diagnosePlain = (
      server: string, entry: ServerRaces, timeout: { value: number; samples: number; spread: number } | null, ticked: TickedSpread | null, forms: string, idleGaps: readonly number[],
    ): void => {
      const count = entry.raceIds.length;
      const p = entry.plainProtocol;
      const what =
        p !== null ? `${p.name} request${count === 1 ? '' : 's'} (as the server's port says)`
        : entry.plainCut === count ? `request${count === 1 ? '' : 's'} the snaplen cut before ${count === 1 ? 'it' : 'they'} could be identified (neither an HTTP request line nor TLS in the bytes kept)`
        : `request${count === 1 ? '' : 's'} neither HTTP nor TLS`;
      const inferred: Record<string, { value: number; samples: number; spread: number }> = {};
      const outcome =
        (entry.reset > 0 ? `The server answered ${entry.reset === count ? 'each' : `${entry.reset}`} with RST` : 'The connections ended without an answer') +
        `: the client saw the connection closed or reset${p !== null ? ` (${p.clientErrors})` : ''}.`;
      const support = timeout === null ? '' : ticked !== null ? tickedText(ticked) : timeout.samples === 1 ? (idleGaps.length > 1 ? fewClosesText(timeout, idleGaps) : 'a single idle close') : `${timeout.samples} idle closes within ${fmt(timeout.spread * 1000)} ms`;
      let explanation = `${count} ${what} ${count === 1 ? 'was' : 'were'} sent on connections ${server} had closed: ${forms}. ${outcome}`;
      let below = '';
      if (timeout !== null && timeout.value >= ctx.options.minIdleTimeout) {
        inferred.serverIdleTimeout = { value: ms(timeout.value), samples: timeout.samples, spread: ms(timeout.spread) };
        explanation =
          `${server} closes idle connections after ${ticked !== null ? 'at most ' : ''}~${fmt(timeout.value)} s (idle since either side's last data before its close, a FIN or a RST without one, or before a notice of the close it sent with it), ` +
          `inferred from ${support}. ${explanation}`;
        below = ` below ${fmt(timeout.value)} s, e.g. ${saferClientIdleTimeout(timeout.value, ticked)} s`;
      }
      const remedy =
        `Make the client's pool drop or check idle connections before the server closes them: an idle limit${below} (${p !== null ? p.clientSettings : 'the pool\'s idle limit or a check before reuse'}), ` +
        `or raise the server's idle timeout above the pool's longest idle (${p !== null ? p.idleSetting : 'the server\'s idle timeout for this protocol'}). ` +
        'Whether the failed requests were idempotent (safe to retry) cannot be read from a protocol conncheck does not parse: retry automatically only idempotent ones.';
      ctx.diagnose({ server, count, inferred, explanation, remedy, anomalyIds: entry.raceIds });
    };

    return {
      // The shared proxy legs tracker, made above, hears every event before these hooks and offers
      // every exchange to the request index.
      onConnectionEnd(conn) {
        software.note(conn);
        slots.note(conn, idleCloseTsOf);
        const app = conn.app;
        if (app === null || app.session === null || !app.session.isHttp) {
          if (app === null || app.exchangeCount !== 0) return;
          // HTTP/2 without TLS: its client's frames after the server's close (a GOAWAY answered
          // with one) are no request, and its requests cannot be told from them.
          if (app.session !== null && app.session.turnsUnreadable) return;
          if (app.tls === null && app.session !== null) notePlainReuses(conn);
          const tlsClose = app.tls !== null ? tlsServerIdleClose(conn) : null;
          // Payload neither HTTP nor TLS (the HTTP stage read it and gave up): each side's last data.
          const plainClose = app.tls === null && app.session !== null ? opaqueServerIdleClose(conn, ctx.options.minIdleTimeout) : null;
          // The server's idle closes of used TLS and plain connections tell its idle timeout, as HTTP ones do.
          const entry = tlsClose !== null && tlsClose.used ? serverEntry(conn.serverName) : plainClose !== null ? serverEntry(conn.serverName) : null;
          if (entry !== null && tlsClose !== null && tlsClose.used) addSample(entry, tlsClose.idleGap, idleCloseSample(tlsClose.finTs, tlsClose.finFrame, null));
          else if (entry !== null && plainClose !== null) addSample(entry, plainClose.idleGap, idleCloseSample(plainClose.closeTs, plainClose.closeFrame, null));
          if (plainClose !== null && plainClose.closedWith === 'RST') {
            resetRace(conn, plainClose);
            return;
          }
          if (opaqueRace(conn, tlsClose ?? plainClose)) return;
          // A TLS request (its last turn of records), or a plain protocol's met by a RST (plainArrivalClose).
          if (app.tls !== null && tlsClose === null) opaqueArrivalRace(conn, tlsArrivalClose(conn));
          else if (plainClose === null && isPlainRace(conn, null)) opaqueArrivalRace(conn, plainArrivalClose(conn, ctx.options.minIdleTimeout));
          return;
        }
        const busy = busyClose(conn, ctx.options.minIdleTimeout);
        if (busy !== null) noteBusyClose(conn.serverName, busy);
        const clientClose = clientIdleCloseOf(conn);
        if (clientClose !== null && clientClose.gap >= ctx.options.minIdleTimeout) noteClientIdleClose(clientKey(conn.clientHost, ownAgent(conn), conn.serverName), clientClose.gap, clientClose.ts);
        noteServerClose(conn);
        // A RST after at least minIdleTimeout of silence is an idle close too (an abort: SO_LINGER 0).
        const close = serverIdleClose(conn, false, ctx.options.minIdleTimeout);
        if (close === null) {
          if (holdCutHead(conn)) return;
          if (!unseenFinRace(conn)) arrivalRace(conn);
          return;
        }
        const neverUsed = close.lastExchange === null && !close.idleUnknown;
        // A close whose FIN the path's grown queue held (queueSkewed) tells the race, not the timeout.
        if (close.lastExchange !== null && !close.queueSkewed) {
          const entry = serverEntry(conn.serverName);
          if (entry !== null) {
            addSample(entry, close.idleGap, idleCloseSample(close.finTs, close.finFrame, close.lastExchange), close.idleGapLongest);
            noteHint(entry, close.lastExchange.keepAliveTimeout);
          }
        }
        const ex = close.lateRequest;
        // A request whose head the path lost (the server never acknowledged it): no exchange to
        // read, but its body crossed the close all the same; told as an unparsed protocol's is.
        if (ex === null && conn.client.unackedBytes > 0) {
          opaqueRace(conn, close.idleUnknown ? null : close);
          return;
        }
        if (ex === null || ex.requestStart === null) return;
        const c = conn.client;
        const reqTs = ex.requestStart;
        const reqFrame = ex.requestFrame ?? 0;
        if ((c.finTs >= 0 && readBefore(c.finTs, c.finFrame, reqTs, reqFrame)) || (c.rstTs >= 0 && readBefore(c.rstTs, c.rstFrame, reqTs, reqFrame))) return; // the client had closed
        const after = conn.clientDataAfterServerFin;
        const beforeFin = readBefore(reqTs, reqFrame, close.finTs, close.finFrame);
        // After a RST the client's kernel sends nothing more: a request on the wire had left before the
        // RST reached it (a crossing), and there is no FIN for it to acknowledge (null).
        const acksFin = close.byReset ? null : beforeFin ? false : after !== null ? after.acksFin : null;
        const form = acksFin === true ? 'stale-reuse' : 'crossing';
        const input = raceInput(
          conn,
          { reqTs, reqFrame, idle: close.idleUnknown ? null : close.idleGap, lastFrame: close.lastActivityFrame, acksFin, form, neverUsed, byReset: close.byReset },
          ex,
        );
        // A brand-new connection closed by FIN sooner than any idle timer after its handshake may be
        // a connection limit refusing it as it was accepted (accept-closes.ts): accept-queue-overflow
        // decides at the end, by its burst, and a race is reported then only if it did not take it.
        if (neverUsed && acceptCloseOf(conn, ctx.options.minIdleTimeout) === 'fin-before-request' && holdAcceptClose(conn, input, form, ex)) return;
        record(conn, ctx.report(input), form, neverUsed, ex);
      },

      onFinish() {
        releaseAcceptCloses();
        releaseHeldArrivals();
        releaseInstantArrivals();
        releaseLazyArrivals();
        releaseCutHeads();
        const fraction = ctx.options.spreadFraction;
        const absolute = ctx.options.spreadAbsolute;
        for (const [server, entry] of servers) {
          const count = entry.raceIds.length;
          if (count === 0) continue;
          // Closes on arrival only, and no idle close of the server's own: the timer may be a backend's, relayed by a proxy.
          const ownerUnshown = entry.arrival === count && entry.idleGaps.length === 0;
          // A reload's or a shutdown's closes of every idle connection at once tell no timeout.
          const spans = reloadSpans(server, entry);
          const ages = idleAges(entry);
          // Idle connections closed as others arrived while the server served all it could tell no timeout either (connection-slots.ts).
          const reclaims = slotReclaimsOf(slots, server, ctx.options);
          const kept = ages.map((_, i) => i).filter((i) => spanAt(spans, entry.idleTs[i]) < 0 && !slots.reclaimedAt(server, entry.idleTs[i]));
          // Races with closes the server made to take new connections, out of slots: most of them, and those closes are the story.
          const reclaimedRaces = reclaims !== null ? racesAtReclaims(entry, server) : 0;
          const reclaimStory = reclaims !== null && reclaimedRaces >= RECLAIMED_MAJORITY * count;
          const idleGaps = kept.map((i) => ages[i]);
          const cluster = inferTimeout(idleGaps, { fraction, absolute, minSamples: 1 });
          // Closes spread over a timer's tick: the timeout is the shortest of them (tickedSpread).
          const ticked = cluster !== null ? tickedSpread(idleGaps, cluster, kept.map((i) => entry.idleTs[i]), kept.map((i) => entry.idleSinceRequest[i]), { fraction, absolute }) : null;
          const timed = ticked !== null ? tickedTimeout(ticked) : cluster;
          // One close soon after its response tells no delay the server keeps after each (a reload's
          // old worker closes a connection as it finishes its last request in flight).
          const shortTimed = timed !== null && timed.value < ctx.options.minIdleTimeout && timed.samples < MIN_AFTER_RESPONSE_SAMPLES ? null : timed;
          // An idle timeout the server's own answered reuses contradict (several, idle half as long
          // again as it: legs.keptLonger) is no idle timeout: its closes were something else (a
          // backend behind the address stopping), and no client idle timeout below it is the fix.
          const refuted = shortTimed !== null && shortTimed.value >= ctx.options.minIdleTimeout && legs.keptLonger(server) > shortTimed.value ? shortTimed : null;
          const timeout = refuted !== null ? null : shortTimed;
          const inferred: Record<string, { value: number; samples: number; spread: number }> = {};
          let explanation: string;
          let remedy: string;
          const forms = [
            entry.crossing > 0
              ? `${entry.crossing} crossed the server's ${
                  entry.plain === count ? 'close (its FIN, or its RST when it sent none)'
                  : entry.crossingReset === entry.crossing ? 'idle close, a RST with no FIN before it (an abort: SO_LINGER 0)'
                  : entry.crossingReset > 0 ? 'idle close (its FIN, or a RST with no FIN before it)'
                  : 'FIN'} on the wire`
              : '',
            entry.stale > entry.staleInFlight
              ? `${entry.stale - entry.staleInFlight} ${entry.stale - entry.staleInFlight === 1 ? 'was' : 'were'} sent on connections whose FIN the client had already received (stale reuse: the pool did not notice the close)`
              : '',
            entry.staleInFlight > 0
              ? `${entry.staleInFlight} left the client less than ${fmt(STALE_IN_FLIGHT * 1000)} ms after the FIN reached it (stale by the ACK number: a pool that drops connections on their FIN` +
                (entry.plain === count
                  ? ' may read it a moment too late, the request already being written, in effect a crossing; one that does not look sends it on the dead connection however long after)'
                  : ', as Node\'s fetch, Node\'s http.Agent, Go, urllib3 (requests), Ruby\'s Net::HTTP and Java\'s HttpClient do, may read it a moment too late, the request already being written, in effect a crossing; ' +
                    'one that does not look, as OkHttp for a GET and Apache HttpClient 5 within `validateAfterInactivity` (2 s by default), sends it on the dead connection however long after)')
              : '',
            entry.arrival > 0
              ? `${entry.arrival} reached the server just as ${reclaimStory ? 'it' : ownerUnshown ? 'an idle timer' : 'its idle timer'} closed the connection (closed on arrival: ${arrivalText(entry)})`
              : '',
          ].filter((x) => x !== '').join(', ');
          const ownerNote = ownerUnshown
            ? ` ${server} closed no idle connection in this capture: every close came right after a request, so whose idle timer closed them is not shown (${ownerUnshownText(server)}).`
            : '';
          if (entry.plain === count) {
            diagnosePlain(server, entry, timeout, ticked, forms, idleGaps);
            continue;
          }
          const extra = [
            entry.neverUsed > 0 ? `${entry.neverUsed} of them on connections never used since their handshake` : '',
            entry.retried > 0 ? retriedText(entry.retried, entry.retriedNew, entry.retriedUnanswered) : '',
          ].filter((x) => x !== '').join('; ');
          // A proxy sent them (its upstream leg): what its own clients got decides whether the race
          // was visible at all (Varnish and Squid retry an idempotent request once on a new connection).
          const picked = pickedClosed(server);
          // Proxies further up passing its 5xx on (a chain of proxies): the race's too, counted here.
          const viaProxy = proxyOutcomeText(entry.requests, (r) => legs.downstreamOf(r), picked, (failed) => relayedToClientsText(legs, failed));
          const pickedIds = picked.filter((p) => viaProxy.proxies.has(p.failure.server)).map(reportPickedClosed);
          // Idle closes a relaying proxy made on both its legs at once: its timeout, not the backend's.
          const relay = timeout !== null && timeout.value >= ctx.options.minIdleTimeout ? relayedProxyOf(legs, server, entry.idleCloses, entry.idleClosesAdded) : null;
          // What the clients received first decides what they reported: Go returns EOF after the FIN,
          // "read: connection reset by peer" after a bare RST (blind round 12, S2: 6 of 7 RST-only).
          const first: FirstClose = entry.resetFirst === count ? 'reset' : entry.finFirst === count ? 'fin' : 'mixed';
          // Every race over TLS, the server's close_notify before its FIN: some clients' TLS layer
          // reports the end (blind round 13b).
          const overTls = entry.closeNotify === count;
          const outcome = (extra !== '' ? `${extra[0].toUpperCase()}${extra.slice(1)}. ` : '') + (entry.reset > 0
            ? (entry.crossingReset === count ? 'The server closed each idle connection with a RST' : `The server answered ${entry.reset === count ? 'each' : `${entry.reset}`} with RST`) +
              (first === 'fin'
                ? overTls
                  ? ' after its close_notify (a TLS alert record) and FIN, so the client read the close_notify and the FIN first and saw EOF'
                  : ' after its FIN, so the client read the FIN first and saw EOF'
                : first === 'reset'
                  ? ' and no FIN before it, so the client saw ECONNRESET ("connection reset by peer")'
                  : ', so the client saw EOF where it read the FIN first, ECONNRESET where the RST came first' +
                    (entry.resetFirst > 0 && entry.finFirst > 0 && entry.resetFirst + entry.finFirst === count ? ` (${entry.resetFirst} of the ${count} got the RST with no FIN before it)` : '')) +
              // A request with a body may still be being written when the RST comes: the write fails
              // (Go's proxy logged "write: broken pipe" for a POST, blind test round 40).
              (entry.nonIdempotent > 0 ? ', EPIPE ("broken pipe") where it came while the client was still writing the request' : '') +
              // Every failed request was a proxy's (its upstream leg): what its own clients got follows, not what client libraries report.
              (viaProxy.forwarded === count
                ? '.'
                : ` (${entry.agents.raceErrors(first, overTls)}${raceErrorsNote(entry, count, viaProxy.forwarded > 0 || relay !== null)}).`) +
              // Some late requests are ACKed and dropped instead (Tomcat 10 did so for 3 of 4 in
              // keepalive-race-tomcat): no RST, the connection just ends; say what those clients saw too.
              (entry.reset < count ? ` The other ${count - entry.reset} got neither a RST nor a response: the connection ended and the client saw EOF (Python requests: RemoteDisconnected; Java HttpClient: IOException "HTTP/1.1 header parser received no bytes"; Erlang httpc: {error, socket_closed_remotely}).` : '')
            : 'The requests got no response: the client saw the connection end (EOF; Node: ECONNRESET "socket hang up"; Python requests: ConnectionError with RemoteDisconnected; Java HttpClient: IOException "HTTP/1.1 header parser received no bytes"; Erlang httpc: {error, socket_closed_remotely}).') + (viaProxy.text !== '' ? ` ${viaProxy.text}` : '');
          if (timeout !== null && timeout.value < ctx.options.minIdleTimeout) {
            inferred.serverCloseAfterResponse = { value: ms(timeout.value), samples: timeout.samples, spread: ms(timeout.spread) };
            explanation =
              `${server} closes connections ${fmt(timeout.value * 1000)} ms after its responses without announcing it (no Connection: close), ` +
              `and ${count} request${count === 1 ? ' was' : 's were'} sent on such connections: ${forms}. ${outcome}`;
            remedy = 'Server: send Connection: close on a response after which it closes the connection (RFC 9112 §9.6), or keep the connection open. Client: treat a connection as dead once its FIN arrived.';
          } else if (timeout !== null) {
            const bounded = boundedTimeout(timeout, ticked, entry.arrivalIdle, idleGaps);
            const stated = bounded?.value ?? timeout;
            inferred.serverIdleTimeout = { value: ms(stated.value), samples: stated.samples, spread: ms(stated.spread) };
            const identity = software.of(server);
            // A relaying proxy's responses are its backend's: their Server header names the wrong software.
            const knownMatches = relay !== null
              ? matchKnown(timeout.value, KNOWN_IDLE_TIMEOUTS, null).filter((k) => k.side === 'proxy')
              : matchKnown(timeout.value, KNOWN_IDLE_TIMEOUTS, software.softwareOf(server)).filter((k) => k.side !== 'client');
            // Node advertises its keepAliveTimeout rounded down and closes 1 s after it (nodeServerPattern): as idle-timeout-mismatch says.
            const node = relay === null && ticked === null ? nodeServerPattern(timeout.value, commonHint(entry.hints), Math.max(0.02 * timeout.value, absolute)) : null;
            // Puma closes 0.2 s after its whole-second persistent_timeout, with neither Server header nor hint (pumaServerPattern).
            const puma = relay === null && ticked === null ? pumaServerPattern(timeout.value, commonHint(entry.hints), software.softwareOf(server), Math.max(0.02 * timeout.value, absolute)) : null;
            const known = withoutPumaDefault(withoutNodeDefault(knownMatches, node), puma);
            // "Matches" a product only where the responses named it; a relaying proxy's defaults are candidates all the same.
            const knownText =
              (relay !== null
                ? known.length > 0 ? ` (matches ${known.map((k) => k.name).join(' / ')})` : ''
                : knownDefaultsText(known, software.softwareOf(server))) + (node !== null ? nodeServerPatternText(node) : puma !== null ? pumaServerPatternText(puma) : '');
            const support =
              ticked !== null
                ? tickedText(ticked)
                : bounded !== null
                  ? bounded.text
                  : `${timeout.samples} idle closes within ${fmt(timeout.spread * 1000)} ms${cluster !== null && timeout === cluster ? heldBelowText(idleGaps, cluster, kept.map((i) => entry.idleSinceRequest[i]), { fraction, absolute }) : ''}`;
            // Closes spread over a tick bound the setting as few closes do: the shortest is its upper bound (tickedText).
            const after = bounded !== null || ticked !== null ? `at most ~${fmt(stated.value)} s` : `~${fmt(timeout.value)} s`;
            explanation =
              (relay !== null
                ? `${server} closes idle keep-alive connections after ${after}${knownText}, inferred from ${support}. ${relayedProxyText(server, relay, identity?.says ?? null)} `
                : `${server}${identity !== null ? ` (${identityLabel(identity)})` : ''} closes idle keep-alive connections after ${after}${knownText}, inferred from ${support}. `) +
              `${count} request${count === 1 ? ' was' : 's were'} sent on such connections at about that moment${reusedText(entry.reusedAfter)}: ${forms}. ${outcome}`;
            const safer = saferClientIdleTimeout(stated.value, ticked);
            // A proxy's upstream requests carry its client's User-Agent: its own pool is the one.
            // Where the proxy's own responses name it (Server: nginx/1.22.1), its setting alone.
            const proxySoftware = [...new Set([...viaProxy.proxies].map((p) => software.softwareOf(p)))];
            const named = proxySoftware.length === 1 && proxySoftware[0] !== null ? proxyPoolIdleSetting(proxySoftware[0]) : null;
            const clientSettings =
              viaProxy.forwarded === count
                ? named !== null
                  ? `a proxy forwarded every one of these requests, and its responses say \`${proxySoftware[0]}\` (unless it passes its backend's Server header on, as HAProxy does): the idle connections are its pool's, ${named}`
                  : `a proxy forwarded every one of these requests, so the idle connections are its pool's: ${PROXY_POOL_IDLE_SETTING_TEXT}`
                : viaProxy.forwarded > 0 ? CLIENT_IDLE_SETTINGS : entry.agents.settings({ safer, timeout: stated.value });
            // The server's own idle setting, named in both remedies below.
            const serverSetting =
              node !== null && identity === null ? nodeServerSetting(node) : puma !== null ? pumaServerSetting(puma) : serverIdleSettings(identity, software.softwareOf(server));
            // The raced clients close idle connections themselves, below the server's timeout, and still reused past it.
            const own = relay === null && viaProxy.forwarded === 0 && entry.requests.length === count ? clientsOwnIdleLimit(entry, server, stated.value) : null;
            const reusedPast = own !== null && entry.reusedAfter.length > 0 && Math.min(...entry.reusedAfter) > own.hi;
            if (own !== null && reusedPast) {
              explanation +=
                ` The client closes idle connections to ${server} itself: ${own.count} of its connections ended with its own FIN after ${fmt(own.lo)}${own.hi > own.lo ? `–${fmt(own.hi)}` : ''} s idle, ` +
                `below the server's ${fmt(stated.value)} s, yet it reused ${count === 1 ? 'this one' : 'these'} after ${fmt(Math.min(...entry.reusedAfter))}${Math.max(...entry.reusedAfter) > Math.min(...entry.reusedAfter) ? `–${fmt(Math.max(...entry.reusedAfter))}` : ''} s idle: its pool enforces its idle limit late on some connections ` +
                `(an eviction sweep on a coarse tick, as the JDK HttpClient's, or one that runs only when the pool is used).`;
            }
            remedy = own !== null && reusedPast
              ? `The client already has an idle limit below the server's (its own closes after ${fmt(own.lo)}${own.hi > own.lo ? `–${fmt(own.hi)}` : ''} s), but its pool let ${count === 1 ? 'a connection' : 'connections'} outlive it: ` +
                `lowering it further only narrows the race. Raise the server's idle timeout well above the client's limit plus its eviction's delay ` +
                serverSetting +
                ', or have the client retry on a new connection a request that failed on a reused one.'
              : relay !== null
              ? `Raise the proxy's idle timeout above the clients' (and keep the backend's above the proxy's) ${RELAYING_PROXY_IDLE_SETTINGS}, ` +
                `or make the client drop idle pooled connections before the proxy does: a client idle timeout below ${fmt(stated.value)} s, e.g. ${safer} s (${clientSettings}). ` +
                'A Keep-Alive hint in the responses is the backend\'s, not the proxy\'s: a client that honours it keeps connections longer than the proxy does.'
              : `Make the client drop idle pooled connections before the server does: a client idle timeout below ${fmt(stated.value)} s, e.g. ${safer} s ` +
                `(${clientSettings}), or raise the server's idle timeout above the client's ` +
                serverSetting + '.';
          } else {
            explanation = `${count} request${count === 1 ? ' was' : 's were'} sent on connections ${server} had closed: ${forms}. ${outcome}${ownerNote}${refutedText(server, refuted)}`;
            remedy =
              'Make the client drop idle pooled connections before the server closes them (client idle timeout shorter than the server\'s), or raise the server\'s idle timeout' +
              (ownerUnshown ? ` (if ${server} is a proxy, its backend's, and let the proxy resend such requests: HAProxy \`retry-on empty-response\` with \`retries\`; capture its upstream leg to tell).` : '.');
          }
          // Races with a reload's closes (every idle connection closed at one moment): no idle
          // timeout on either side avoids them.
          const reload = racesAtReload(entry, server, spans);
          if (reload.races === count) {
            explanation =
              `${count} request${count === 1 ? ' was' : 's were'} sent on connections ${server} closed at a reload or restart: ` +
              `${reloadMomentsText(reload)} it closed every idle connection at once (${reload.allCloses} in all, whatever their idle age: no idle timer)` +
              `${reload.allMoments > reload.moments ? `; the races met ${reload.moments === 1 ? 'one of them' : `${reload.moments} of them`} (${reload.closes} closes), no request crossed the other${reload.allMoments - reload.moments === 1 ? '' : 's'}` : ''}, ` +
              `and ${forms}. ${outcome}`;
            remedy = RELOAD_RACE_REMEDY;
          } else if (reload.races > 0) {
            explanation += ` ${reload.races} of them met a reload's or restart's closes (every idle connection closed at one moment), not an idle timeout.`;
            remedy += ` ${RELOAD_RACE_REMEDY}`;
          }
          // Most races met such closes: no idle timer closed them, and no idle timeout on either side avoids them.
          if (reclaims !== null && reclaimedRaces > 0) {
            const identity = software.of(server);
            if (reclaimStory) {
              // No timer closed them: whatever idle age they showed is no timeout (and inferred values are times, not counts).
              delete inferred.serverIdleTimeout;
              delete inferred.serverCloseAfterResponse;
              const others = count - reclaimedRaces;
              explanation =
                `${count} request${count === 1 ? ' was' : 's were'} sent on connections ${server}${identity !== null ? ` (${identityLabel(identity)})` : ''} closed to take new connections` +
                `${others > 0 ? ` (${reclaimedRaces} of them)` : ''}: it had run out of connection slots. ${slotReclaimsText(reclaims)}. Of the requests, ${forms}. ${outcome}`;
              remedy = slotReclaimsRemedy(software.softwareOf(server));
            } else {
              explanation += ` ${reclaimedRaces} of them met closes the server made to take new connections, out of connection slots, not an idle timeout: ${slotReclaimsText(reclaims)}.`;
              remedy += ` ${slotReclaimsRemedy(software.softwareOf(server))}`;
            }
          }
          if (viaProxy.forwarded > 0) {
            remedy +=
              ' The client is a proxy: its backend pool setting is the one to lower. A proxy retries a request that failed on a reused connection' +
              ' before any response byte only when it may send it again: Varnish once, but not a request whose body it streamed (a POST or PUT, unless' +
              ' vcl_recv calls std.cache_req_body()); Squid re-forwards (within forward_max_tries) only a request whose reused connection ended in an EOF' +
              ' before any response byte (the server\'s FIN: its "pconn race", ERR_ZERO_SIZE_OBJECT), not one reset (a RST on arrival: ERR_READ_ERROR 104,' +
              ' answered 502 unless another path to the backend remains), and opens a new connection for a request it could not retry (a POST, any' +
              ' request with a body) unless server_pconn_for_nonretriable allows reuse; Caddy (Go\'s transport) and Traffic Server send a GET again on a new' +
              ' connection and answer a POST 502; h2o 2.2 retries nothing (502); HAProxy 2.6 by default (\`retry-on conn-failure\`)' +
              ' does not send it again: it closes its client\'s connection without an answer when the request was not the first on it (so that the client' +
              ' may retry; it logs nothing for it), else answers 502; with \`retry-on empty-response\` (or \`all-retryable-errors\`) and \`retries\` it' +
              ' sends the request again on another connection, whatever its method.' +
              // What the capture shows of this proxy, not what it might do: none sent again means none was retried.
              (entry.retried === 0 ? ' In this capture the proxy sent none of these requests again.' : '');
          }
          if (entry.stale > entry.staleInFlight) remedy += ' A pool that reuses a connection after its FIN arrived must check the socket before reuse (Node: drop sockets on \'end\'/\'close\').';
          // A pool with no idle timeout of its own (Python requests/urllib3 only checks for a FIN
          // before reuse) cannot avoid a crossing: the request is on its way when the FIN arrives.
          // (Not for races with a reload's closes only: no idle timeout helps there, see RELOAD_RACE_REMEDY.)
          if (entry.crossing + entry.staleInFlight > 0 && reload.races < count && !reclaimStory) {
            remedy +=
              ` A pool without an idle timeout (Python requests/urllib3, Perl LWP, Apache mod_proxy without \`ttl=\`, HAProxy: they only check for an arrived FIN before reuse) cannot avoid a crossing: raise the ${relay !== null ? 'proxy' : 'server'}'s idle timeout, or retry on a new connection` +
              ' (urllib3 `Retry`; Go\'s Transport already sends a request that failed so on a reused connection again when it can replay it: GET, HEAD, OPTIONS, TRACE, or one with an `Idempotency-Key` header and a body it can get again; Node\'s fetch does not retry).';
          }
          remedy +=
            entry.nonIdempotent > 0
              ? ` Retry automatically only idempotent requests; ${entry.nonIdempotent} of the ${count} failed requests ${entry.nonIdempotent === 1 ? 'was' : 'were'} not idempotent. ` +
                nonIdempotentSafety(entry.nonIdempotent, entry.nonIdempotentRead) +
                `(libcurl sends any request again by itself when a reused connection fails so, a POST's body included)` +
                (entry.keyed > 0
                  ? ` (${entry.keyed === entry.nonIdempotent ? (entry.keyed === 1 ? 'it' : 'all') : entry.keyed} carried an Idempotency-Key header: a retry of ${entry.keyed === 1 ? 'it' : 'those'} is safe if the server applies each key only once).`
                  : '.')
              : entry.opaque > 0
                ? ` Whether the failed requests were idempotent (safe to retry) cannot be read from ${entry.opaque === count ? 'their' : `${entry.opaque} of the ${count}`} encrypted (TLS) requests: retry automatically only idempotent ones.`
                : ' Failed idempotent requests can be retried safely on a new connection.';
          // The named client's own resends, where the race list's "clients that retry by themselves" misses it (HttpURLConnection, POSTs included).
          const resends = entry.agents.resendNotes();
          if (resends !== '' && reload.races < count && !reclaimStory) remedy += ` ${resends}.`;
          // Every race absorbed by the proxy that sent it (absorbedByProxy), none a 5xx its pool picked: a warning.
          const absorbedAll = entry.absorbed === count && pickedIds.length === 0;
          ctx.diagnose({ server, count: count + pickedIds.length, inferred, explanation, remedy, anomalyIds: [...entry.raceIds, ...pickedIds], ...(absorbedAll ? { severity: 'warning' as const } : {}) });
        }
      },
    };
  },
};
