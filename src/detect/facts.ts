import { hostOfEndpoint } from '../decode/address';
import { handshakeCapturePosition } from '../flow/capture-point';
import type { Connection } from '../flow/connection';
import type { AnalyzedConnection } from './analyzed-connection';
import type { Endpoint } from '../flow/endpoint';
import { seqDiff, seqGe } from '../flow/seq';
import type { HttpExchange } from '../http/exchange';

/**
 * Whether the packet stamped `aTs` in frame `aFrame` was read before the one stamped `bTs` in frame
 * `bFrame`: by time, then by frame. The readers hand packets on in time order (a file's packets
 * stamped a little out of order are put back, source/jitter-window.ts) and keep the frame numbers
 * Wireshark shows, so frame numbers alone no longer give the order of two packets microseconds
 * apart: a request and the FIN it crossed can be written to the file the other way round.
 */
export function readBefore(aTs: number, aFrame: number, bTs: number, bFrame: number): boolean {
  return aTs < bTs || (aTs === bTs && aFrame < bFrame);
}

/** Methods that are safe to retry automatically (RFC 9110 §9.2.2). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'TRACE']);

export function isIdempotent(method: string | null): boolean {
  return method !== null && IDEMPOTENT.has(method);
}

/** "POST /api/orders" or null when the request line is unknown (TLS, mid-stream). */
export function requestLine(ex: HttpExchange | null | undefined): string | null {
  if (!ex || ex.method === null) return null;
  return `${ex.method} ${ex.uri ?? ''}`.trim();
}

/** True when `peer` acknowledged every payload byte `ep` sent (the data reached the peer's kernel). */
export function peerAckedAll(ep: Endpoint, peer: Endpoint): boolean {
  if (ep.payloadBytes === 0) return true;
  return peer.hasAck && seqGe(peer.highestAck, ep.maxSeqEnd);
}

/**
 * True when `peer`'s RST acknowledged every payload byte `ep` sent: the peer's socket had received
 * them when it reset. Linux resets a socket that is closed with unread data in its receive buffer
 * with ACK = everything it received (a request that met a server's idle close on arrival), and
 * answers a segment for a socket that is gone with a RST that has no ACK flag.
 */
export function peerResetAfterReceivingAll(ep: Endpoint, peer: Endpoint): boolean {
  if (ep.payloadBytes === 0 || peer.rstTs < 0 || !peer.rstHasAck) return false;
  return seqGe(peer.rstAck, ep.maxSeqEnd);
}

/**
 * When bytes of the connection that the capture lost were sent, either way (Endpoint.lossFromTs):
 * the earliest possible moment, -1 for none.
 */
export function lossFromOf<T>(conn: Connection<T>): number {
  const c = conn.client.lossFromTs;
  const s = conn.server.lossFromTs;
  return c < 0 ? s : s < 0 ? c : Math.min(c, s);
}

/** The latest moment those bytes can have been sent (Endpoint.lossToTs), -1 for none. */
export function lossToOf<T>(conn: Connection<T>): number {
  return Math.max(conn.client.lossToTs, conn.server.lossToTs);
}

/**
 * Whether every byte of `conn` the capture lost, either way, lies before the packet at (ts, frame)
 * in its stream: each direction's first data seen after its last hole (Endpoint.lossEndTs) came
 * at or before that packet. What either side sent from there on is all in the capture, as on a
 * connection that lost nothing. True when nothing was lost.
 */
export function holesBefore<T>(conn: Connection<T>, ts: number, frame: number): boolean {
  const c = conn.client;
  const s = conn.server;
  return !readBefore(ts, frame, c.lossEndTs, c.lossEndFrame) && !readBefore(ts, frame, s.lossEndTs, s.lossEndFrame);
}

/**
 * Whether a complete exchange marked uncertain (HttpExchange.uncertain) is known all the same up
 * to its response's last byte, the capture's holes all lying inside it: its request and its
 * response's head were read, its response was read to the end its framing gives (a Content-Length
 * or a chunk size counts across a hole, sequence numbers telling how many bytes it held), and every
 * hole of either direction lies before that last byte (holesBefore). A response whose tail the
 * capture lost ends at its last byte seen, before the hole, so it is not known. Such an
 * exchange is a keep-alive connection's last activity as surely as a whole one: what it cannot
 * vouch for is its content, not where it ended. A certain exchange passes as it is.
 */
export function endKnownDespiteLoss<T>(ex: HttpExchange, conn: Connection<T>): boolean {
  if (ex.state !== 'complete' || ex.responseEnd === null) return false;
  if (!ex.uncertain) return true;
  if (ex.method === null || ex.status === null || ex.responseEndFrame === null) return false;
  // A body that ends at close has no end of its own for a hole to leave known.
  if (ex.responseFraming !== 'length' && ex.responseFraming !== 'chunked' && ex.responseFraming !== 'none') return false;
  return holesBefore(conn, ex.responseEnd, ex.responseEndFrame);
}

/**
 * Whether every byte of `conn` the capture lost lies before `ex`'s request (holesBefore its first
 * packet): its answer, which can only come after it, is not among them, and a silence after it
 * is the peers'. False for a request not read (no frame).
 */
export function lostBeforeRequest<T>(ex: HttpExchange, conn: Connection<T>): boolean {
  return ex.requestStart !== null && ex.requestFrame !== null && holesBefore(conn, ex.requestStart, ex.requestFrame);
}

/** The IP part of "ip:port" / "[v6]:port". */
export function hostOf(endpoint: string): string {
  return hostOfEndpoint(endpoint);
}

/** Seconds rounded to the millisecond, for evidence. */
export function ms(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}

/**
 * A short interval for evidence where a fraction of a millisecond tells the story (how long after
 * a FIN a request came): to the microsecond, like capture times, where `ms` would round it to 0.
 */
export function fineDuration(seconds: number): number {
  return Math.round(seconds * 1e6) / 1e6;
}

/** Seconds as milliseconds to the microsecond (a close on arrival, a dying process's burst, a stale listener's fast 5xx: well under 1 ms). */
export function microsAsMs(seconds: number): number {
  return Math.round(seconds * 1e6) / 1000;
}

/** When `ep` first closed its side: its FIN, or its RST when that came first or alone; -1 for neither. */
export function firstCloseTs(ep: Pick<Endpoint, 'finTs' | 'rstTs'>): number {
  return ep.finTs >= 0 && (ep.rstTs < 0 || ep.finTs <= ep.rstTs) ? ep.finTs : ep.rstTs;
}

/**
 * The client closed an idle keep-alive connection first: every request answered, the last response
 * allowing reuse, then the client's FIN (or RST) before any close of the server's. Its idle time is
 * from that response's last byte to the close. Null otherwise (a tunnel's close is no idle close).
 */
export function clientIdleCloseOf(conn: AnalyzedConnection): { gap: number; ts: number; frame: number } | null {
  const c = conn.client;
  const s = conn.server;
  const app = conn.app;
  if (app === null || app.recent.length === 0 || app.session?.isTunnel === true) return null;
  const closeTs = firstCloseTs(c);
  if (closeTs < 0) return null;
  const closeFrame = closeTs === c.finTs ? c.finFrame : c.rstFrame;
  if ((s.finTs >= 0 && s.finTs <= closeTs) || (s.rstTs >= 0 && s.rstTs <= closeTs)) return null;
  const last: HttpExchange = app.recent[app.recent.length - 1];
  if (last.state !== 'complete' || last.uncertain || last.responseEnd === null || closeMayBeAnnounced(last, conn)) return null;
  if (last.responseEnd > closeTs) return null;
  return { gap: closeTs - last.responseEnd, ts: closeTs, frame: closeFrame };
}

/** A capture time as a UTC date and time, to the millisecond ("2026-11-22T11:45:24.458Z"), for naming a moment in text. */
export function isoTime(ts: number): string {
  return new Date(ts * 1000).toISOString();
}

/** A capture time as a UTC time of day, to the millisecond ("14:24:39.311"), for naming a moment in text. */
export function timeOfDay(ts: number): string {
  return new Date(Math.round(ts * 1000)).toISOString().slice(11, 23);
}

/** A capture time (epoch seconds) for evidence: to the microsecond, like every time in the JSON. */
export function at(ts: number): number {
  return Math.round(ts * 1e6) / 1e6;
}

/**
 * The round trip from the capture point to the server and back (the handshake's SYN → SYN-ACK), 0
 * without a handshake. A wait the server timed from a client packet to its own answer or close
 * (a request timeout, a proxy's upstream timeout, an idle timer that met a request) looks this
 * much longer on a capture away from the server: the request reached the server half of it after
 * the capture saw it, and the answer took the other half back.
 */
export function roundTripToServer<T>(conn: Connection<T>): number {
  return handshakeCapturePosition(conn)?.serverRtt ?? 0;
}

/**
 * A client FIN this soon after its request is a half-close (the client says it sends nothing more,
 * as some HTTP/1.0 clients do) rather than giving up: the wait is decided by what comes next.
 * A client's own timer never fires this fast; its kernel sends such a FIN right behind the request.
 */
export const HALF_CLOSE_GRACE = 0.005;

/**
 * Whether the client closed the connection (a FIN past the half-close grace, or a RST) after its
 * request and before the response's first byte: it gave up waiting, and whatever answered came
 * too late for it (its own timeout, which a proxy in between may have followed upstream).
 */
export function answeredAfterClientClosed<T>(ex: Pick<HttpExchange, 'requestEnd' | 'responseStart'>, conn: Connection<T>): boolean {
  if (ex.responseStart === null || ex.requestEnd === null) return false;
  const c = conn.client;
  const closedAt = Math.min(c.finTs > ex.requestEnd + HALF_CLOSE_GRACE ? c.finTs : Infinity, c.rstTs >= ex.requestEnd ? c.rstTs : Infinity);
  return closedAt < ex.responseStart;
}

/**
 * Slack (seconds) on top of twice the handshake's round trip for a client's reset to answer a
 * response's first segment: a kernel answers data for a socket that is gone at once, so at the
 * capture point its RST follows the data by the round trip between them.
 */
export const RESET_ON_ARRIVAL_SLACK = 0.02;

/**
 * Whether the client answered the exchange's response with a RST on its arrival, without any close
 * of its captured before (no FIN), and without having acknowledged the server's bytes: within a
 * round trip of the response's first byte (twice the handshake's, plus RESET_ON_ARRIVAL_SLACK), and
 * neither its ACKs nor its RST's cover the server's data. A live socket acknowledges what it
 * receives; one its application has closed answers data with a RST (Linux: no ACK flag). So the
 * client had given up on the request before the answer came, and its close did not reach the
 * capture (a FIN queued behind a request the path was still losing, or a capture that missed it):
 * the late answer of answeredAfterClientClosed, with the close unseen.
 */
export function resetOnArrivalWithoutClose<T>(
  ex: Pick<HttpExchange, 'requestEnd' | 'responseStart' | 'responseBodyBytes'>, conn: Connection<T>, finQueued = false,
): boolean {
  if (ex.responseStart === null || ex.requestEnd === null) return false;
  const c = conn.client;
  const s = conn.server;
  // finQueued: the client's FIN left only when its resent request was acknowledged, queued behind
  // it: not when it gave up (the caller proved it).
  if (c.rstTs < ex.responseStart || (!finQueued && c.finTs >= 0 && c.finTs < c.rstTs) || !s.hasNextSeq) return false;
  const rtt = handshakeCapturePosition(conn);
  const within = 2 * (rtt === null ? 0 : rtt.serverRtt + rtt.clientRtt) + RESET_ON_ARRIVAL_SLACK;
  if (c.rstTs - ex.responseStart > within) return false;
  // None of the response acknowledged: at least its body (and a head before it) lies past the
  // client's highest ACK, and past its RST's.
  const owed = ex.responseBodyBytes;
  if (c.hasAck && seqDiff(c.highestAck, s.maxSeqEnd) <= owed) return false;
  return !(c.rstHasAck && seqDiff(c.rstAck, s.maxSeqEnd) <= owed);
}

/** Which side of the path the capture was taken near ('client', 'server', 'between'), or null without a handshake. */
export function capturedNear<T>(conn: Connection<T>): string | null {
  return handshakeCapturePosition(conn)?.near ?? null;
}

/**
 * Within this long (seconds) after a response's end, a server that announced its close with the
 * response (`Connection: close`, an HTTP/1.0 response without keep-alive) sends its FIN: it follows
 * the response's last write. Over the samples' 461 announced closes, at most 1.5 ms. The wire keeps
 * the spacing of the two, so it holds wherever the capture was taken.
 */
export const ANNOUNCED_CLOSE_WITHIN = 0.05;

/**
 * Whether the exchange's response may have told the client that the server would close: it said
 * so, its body ran to the close, or the snaplen cut its head before any Connection field
 * (HttpExchange.responseCloseUnknown) and the server closed (FIN or RST) within
 * ANNOUNCED_CLOSE_WITHIN of its end. Where the cut hid the field, the server's timing tells what it
 * meant: a server that announced its close closes at once, not after an idle wait, and not never.
 * (`tcpdump -s 128` on Ethernet keeps 62 bytes of TCP payload: every response's Connection field is cut.)
 */
export function closeMayBeAnnounced<T>(ex: HttpExchange, conn: Connection<T>): boolean {
  if (ex.responseClose || ex.responseFraming === 'close') return true;
  if (ex.responseCloseUnknown !== true) return false;
  if (ex.responseEnd === null) return true;
  const closeTs = firstCloseTs(conn.server);
  // Never closed: not announced, once the capture went on long enough after the response to show it.
  const by = closeTs >= 0 ? closeTs : conn.lastTs;
  return by - ex.responseEnd < ANNOUNCED_CLOSE_WITHIN;
}

/**
 * Whether `next`, the request after `prev` on one connection, tells that `prev`'s response kept the
 * connection, where the snaplen cut that response's Connection field and the server closed right
 * behind it (closeMayBeAnnounced, for that reason alone). The response was HTTP/1.1, whose default
 * is to keep the connection (closing takes the field the cut took), and the client sent `next`
 * after that response had ended, not pipelined behind it: a client that honours `Connection:
 * close` sends nothing more on a connection that was told to close, so the close that met `next`
 * was the server's own (a reload's old worker, an idle timer), as a whole capture shows it (blind
 * test 13, nginx reloaded under `ab -k` at -s 200: 20 of 20 such failures went unreported).
 * What the cut hides is whether the client ignored such a notice instead: findings made on this
 * ground say so (closeNoticeUnseen). A pipelined request, or an HTTP/1.0 response, is not judged.
 */
export function reusedAfterCutHead<T>(prev: HttpExchange, next: HttpExchange, conn: Connection<T>): boolean {
  if (prev.responseClose || prev.responseFraming === 'close' || prev.responseCloseUnknown !== true) return false;
  if (prev.responseVersion !== 'HTTP/1.1' || prev.responseEnd === null || next.requestStart === null) return false;
  return next.index === prev.index + 1 && next.requestStart >= prev.responseEnd && closeMayBeAnnounced(prev, conn);
}

/**
 * Evidence for a finding on `ex`, a request reused after a response whose close notice the snaplen
 * may have cut off (reusedAfterCutHead): `{ closeNoticeUnseen: true }`, or nothing, so that
 * findings on whole heads keep their evidence as it was.
 */
export function cutNoticeEvidence(ex: HttpExchange | null | undefined, conn: AnalyzedConnection): { closeNoticeUnseen?: true } {
  if (ex === null || ex === undefined || conn.app === null) return {};
  const prev = conn.app.recent.find((e) => e.index === ex.index - 1);
  return prev !== undefined && reusedAfterCutHead(prev, ex, conn) ? { closeNoticeUnseen: true } : {};
}

/**
 * Why a finding whose evidence is an absence (no response, no window update, no close, no answer
 * before a resend) cannot vouch for it: the capture lost packets of that connection, it began
 * mid-stream (the handshake and what came before were not captured, so requests and responses may
 * pair one off), or it lost packets elsewhere, which a connection that merely went silent may be
 * part of. Such a finding is lowered to info and says so (evidence `uncertain`, `captureLoss`).
 */
export type CaptureLossScope = 'connection' | 'mid-stream' | 'capture';

/** Whether the capture lost data bytes of `conn` either way (acknowledged by the receiver, never seen). */
export function captureLostOn<T>(conn: Connection<T>): boolean {
  return conn.client.captureLostBytes + conn.server.captureLostBytes > 0;
}

/**
 * Whether `conn` began before the capture (its client's SYN not seen): what came first is unseen,
 * and a response the capture missed shifts every later pairing.
 */
export function startedMidStream<T>(conn: Connection<T>): boolean {
  return conn.client.synCount === 0 && conn.server.synAckCount === 0;
}

/** The words a lowered finding adds (see CaptureLossScope); `which`: the connection meant. */
export function captureLossNote(scope: CaptureLossScope, which = 'this connection'): string {
  return scope === 'connection'
    ? `uncertain: the capture lost packets of ${which}, so what it did not see there may be the capture's loss, not the peers'`
    : scope === 'mid-stream'
      ? `uncertain: the capture began in the middle of ${which} and lost packets, so a response may have been paired with the request before it`
      : "uncertain: the capture lost packets, so this silence may be the capture's, not the peers'";
}
