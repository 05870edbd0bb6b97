import { statusClassEvidence, statusText } from '../../http/exchange';
import type { AnalyzedConnection } from '../analyzed-connection';
import { ClientAgents } from '../client-agents';
import type { DetectContext, DetectOptions, DetectorDefinition } from '../detector';
import { at, captureLostOn, hostOf, ms, startedMidStream, timeOfDay } from '../facts';
import { seqDiff } from '../../flow/seq';
import type { InferredValue, Severity } from '../finding';
import { inferTimeout, inferTimeoutRange } from '../infer-timeout';
import { LegsByRequest, LEGS_TOGETHER } from '../legs-by-request';
import { blackHoleOf, pathLosses } from '../path-loss';
import { firstCloseOf } from '../proxy-legs';
import { sharedHostTtls } from '../host-ttls';
import { resetFromOtherHost } from '../path-reset';
import { proxyTellsOf, proxyTellsText, TELL_NGINX_CLOSE, TELL_NGINX_HTTP10 } from '../proxy-tells';
import { LazyRange, lazyRange, lazyRangeText, lazyTimerStart } from '../read-timer';
import { closedWindows, cutResponse, CutResponse, startedResponse } from '../unfinished-response';
import { truncationOf, Truncation } from './response-truncated';

/**
 * A timer shows as the same delay on at least this many cuts of one client program, which make at
 * least TIMER_SHARE of them and of the program's cuts to the server that no timer explains: fewer
 * agreeing cuts are as likely chance (people cancelling downloads, readers that stop after what
 * they wanted).
 */
const MIN_CUTS = 3;
const TIMER_SHARE = 0.5;
/**
 * No client timer shorter than this (seconds) is inferred: a client's close a fraction of a second
 * into a response is its reaction to what it read (a status it rejects, the bytes it wanted), and
 * the silences before closes mid-stream cluster at the stream's own cadence, below this.
 */
const MIN_CLIENT_TIMER = 0.5;
/**
 * A cut no timer explains is still a failure the client saw when the server had gone silent in the
 * middle of a body it declared (Content-Length) for at least this long (seconds) before the client's
 * close: the client waited for bytes it was owed and gave up (wget --read-timeout, curl --max-time,
 * fetch's AbortSignal.timeout). One such cut is evidence of the stall, not of a timer's value: it
 * names none (blind round 13, S11: 1 and 2 such cuts went unreported under MIN_CUTS). Shorter
 * silences are a body's own cadence, no stall (a cut while the bytes still flowed is a cancel or a
 * total timeout: MIN_BODY_BEFORE_CUT), as are silences in chunked and close-delimited bodies, which are how
 * streams (server-sent events, long polls) are sent and have no end the client was owed. Same
 * floor as MIN_CLIENT_TIMER, for the same reason.
 */
const MIN_STALL = MIN_CLIENT_TIMER;
/**
 * A cut of a body the client was owed (Content-Length, short of it) while the server still sent
 * (silence below MIN_STALL), that no timer or stall explains, is still reported, as info, where
 * its program made fewer than MIN_CUTS such unexplained cuts to the server: one close T s after the
 * request, the body still arriving, is either a deliberate cancel or a total timeout of about T on
 * the whole request (curl --max-time: exit 28 "Operation timed out after 2000 milliseconds with
 * 19000 out of 50000 bytes received"; Go http.Client.Timeout: "context deadline exceeded") shorter
 * than the transfer; the wire cannot tell which (blind round 15, s12/s12b: nothing was said). At
 * MIN_CUTS unexplained cuts or more the program's closes disagree on any timer: cancels, silent.
 * Only after the body had been arriving this long (seconds), and as long since the request: a
 * close sooner is a reader's reaction to the head or the first bytes (it had what it wanted).
 */
const MIN_BODY_BEFORE_CUT = MIN_CLIENT_TIMER;
/** Timers looked for among one program's cuts to one server. */
const MAX_TIMERS_PER_PROGRAM = 4;
/**
 * A proxy closes its upstream leg of a request this soon (seconds) after its client closed the
 * client leg: it followed its client (nginx notices at its next read or write on either leg; with
 * `proxy_buffering off` that is the backend's next bytes).
 */
const PROXY_FOLLOWS_WITHIN = 1;
/** A proxy's upstream close this much before its client's still counts as following it (the two legs' packets can be stamped out of order). */
const FOLLOW_ORDER_SLACK = 0.005;
const MAX_KEPT = 10_000;

/** A response its client ended by closing the connection while the body was still to come. */
interface Abandon extends CutResponse {
  /** The client's program as its connection's first request named it (null: none, or a proxy forwarded it). */
  agent: string | null;
  forwarded: boolean | null;
  framing: 'length' | 'chunked' | 'close';
  rst: boolean;
  /** From the client's SYN, for the first request of a connection opened for it (a timer that covers the connect). */
  sinceConnect: number | null;
  /** From the connection's first SYN to the close, whichever request was cut (null: no SYN seen). */
  sinceOpen: number | null;
  /** The client's window was closed after the server's last byte: the server could not send, so the silence is not the server's. */
  windowClosed: boolean;
  /** The server's RST after the close, -1 for none. */
  serverResetTs: number;
  serverResetFrame: number;
  /** The client's RST after its FIN (the server's next bytes met its closed socket), -1 for none. */
  clientResetTs: number;
  clientResetFrame: number;
  /**
   * Packets this connection shows the path lost (pathLosses: data resent, data arriving past holes
   * filled later): a silence mid-body there is the server's resend timer, not the server pausing.
   */
  pathLost: number;
  /**
   * Bytes the server had sent before the close that the client had not acknowledged when it closed
   * (unacknowledgedAtClose). Sent before a silence of MIN_STALL or more, they would have been
   * acknowledged had they arrived (a receiver's kernel acknowledges within its delayed-ACK time, at
   * most 500 ms, whether its application reads or not, unless its window is closed): the path lost
   * them, and the silence was the client waiting for their retransmission, not the server pausing.
   */
  unackedAtClose: number;
  /**
   * The capture missed data of this connection (acknowledged, never seen) or began mid-stream: the
   * server's last byte before the close may be among what it missed, the silence shorter than measured.
   */
  captureLost: boolean;
  /** What in the request says a proxy sent it (proxy-tells.ts: TELL_* bits, 0 for none): the cut is the proxy's, on its backend. */
  proxyTells: number;
  /** The earliest server data a read timer re-armed lazily (nginx's) may have run from (read-timer.ts: lazyTimerStart). */
  timerFromTs: number;
  /**
   * The longest pause between the server's data segments of this response from its head to its
   * last byte while the client listened (HttpSession.responseLongestGap; 0: one segment only, -1:
   * the session followed another response): the body's own pace.
   */
  longestGap: number;
}

/**
 * An HTTPS connection its client closed while the server was answering its last turn (encrypted:
 * whether the response was whole cannot be told): the client leg a proxy that terminates TLS may
 * have followed when it closed its plaintext upstream leg mid-body.
 */
interface TlsClientClose {
  flowId: number;
  client: string;
  /** The proxy's address: the server's host of this connection, the client's host of its upstream leg. */
  proxyHost: string;
  closeTs: number;
  /** When the client's last turn (its request) began. */
  turnStart: number;
}

/**
 * The client's close of an HTTPS connection whose last turn the server had begun to answer, or
 * null: a client that gave up on a response, or one done with it (the proxy's upstream close
 * right behind it tells).
 */
function tlsClientCloseOf(conn: AnalyzedConnection): TlsClientClose | null {
  const tls = conn.app?.tls ?? null;
  if (tls === null || tls.client.turns === 0 || tls.server.lastAppEndTs < tls.client.turnStartTs) return null;
  const close = firstCloseOf(conn);
  if (close === null || !close.byClient) return null;
  return { flowId: conn.id, client: conn.clientName, proxyHost: conn.serverHost, closeTs: close.ts, turnStart: tls.client.turnStartTs };
}

/**
 * For each cut made by a proxy's address, the HTTPS client close it followed: a client of that
 * address that closed at most FOLLOW_ORDER_SLACK after it and at most PROXY_FOLLOWS_WITHIN before
 * it, whose request came before this one's; the nearest, each used once.
 */
function followedTlsClients(abandons: readonly Abandon[], closes: readonly TlsClientClose[], skip: ReadonlySet<number>): Map<number, TlsClientClose> {
  const byProxy = new Map<string, TlsClientClose[]>();
  for (const t of closes) {
    const list = byProxy.get(t.proxyHost);
    if (list === undefined) byProxy.set(t.proxyHost, [t]);
    else list.push(t);
  }
  const used = new Set<TlsClientClose>();
  const followed = new Map<number, TlsClientClose>();
  for (const a of abandons) {
    if (skip.has(a.flowId)) continue;
    let best: TlsClientClose | null = null;
    for (const t of byProxy.get(hostOf(a.client)) ?? []) {
      const after = a.closeTs - t.closeTs;
      if (used.has(t) || after < -FOLLOW_ORDER_SLACK || after > PROXY_FOLLOWS_WITHIN || t.turnStart > a.requestStart) continue;
      if (best === null || Math.abs(after) < Math.abs(a.closeTs - best.closeTs)) best = t;
    }
    if (best === null) continue;
    used.add(best);
    followed.set(a.flowId, best);
  }
  return followed;
}

/** A proxy's upstream leg that followed its client's close, kept with the client leg it followed. */
interface FollowedLeg {
  flowId: number;
  server: string;
  closeTs: number;
  closeFrame: number;
  rst: boolean;
}

type Timer = 'total' | 'read' | 'either';

/** The client had sent its FIN or RST before `ts`. */
function clientClosedBefore(conn: AnalyzedConnection, ts: number): boolean {
  const c = conn.client;
  return (c.finTs >= 0 && c.finTs < ts) || (c.rstTs >= 0 && c.rstTs < ts);
}

/**
 * Of the server's bytes sent before the client's close, those the client had not acknowledged
 * when it closed (its FIN's or RST's acknowledgement number): sent is not received. A path that
 * lost them leaves the client short of what a server-side capture shows leaving. Bytes the server
 * sent after the close are not counted here (0 when the close carried no acknowledgement).
 */
function unacknowledgedAtClose(conn: AnalyzedConnection, rst: boolean): number {
  const c = conn.client;
  const end = c.peerSeqEndBeforeClose;
  if (end < 0) return 0;
  const hasAck = rst ? c.rstHasAck : c.finHasAck;
  if (!hasAck) return 0;
  return Math.max(0, seqDiff(rst ? c.rstAck : c.finAck, end));
}

/**
 * The server's bytes that arrived after the client's close (its sequence past where it stood at
 * the close): the parser counts them into the body, the client never read them (its socket was
 * closed; they drew its RST). Blind round 13, S11d: wget's FIN after 50000 body bytes, 65160 more
 * into the closed socket, counted 115160.
 */
function sentAfterClose(conn: AnalyzedConnection): number {
  const end = conn.client.peerSeqEndBeforeClose;
  if (end < 0 || !conn.server.hasNextSeq) return 0;
  return Math.max(0, seqDiff(end, conn.server.maxSeqEnd));
}

/** The abandon a connection ended with, or null (see the detector's comment for each condition). */
function abandonOf(conn: AnalyzedConnection, options: DetectOptions): Abandon | null {
  const ex = startedResponse(conn);
  if (ex === null) return null;
  // A path that dropped the body's large segments (pmtu-blackhole reports it): the client waited
  // for bytes that never came, its close no verdict on the server's pace.
  if (blackHoleOf(conn) !== null) return null;
  const framing = ex.responseFraming;
  if (framing !== 'length' && framing !== 'chunked' && framing !== 'close') return null;
  // A response that began only after the client had closed (responseAfterClientClose) was never
  // being read: the client gave up waiting for it (unanswered-request's matter), not on its body.
  if (ex.responseAfterClientClose === true && clientClosedBefore(conn, ex.responseStart)) return null;
  const close = firstCloseOf(conn, ex.responseStart);
  if (close === null || !close.byClient) return null;
  // A close right behind the response's head is the client's reaction to it (curl -f on an error
  // status, a probe that wanted the status only), not a timer running out.
  if (close.ts - ex.responseStart < options.minIdleTimeout) return null;
  const c = conn.client;
  const s = conn.server;
  // A client that only half-closed and went on taking what the server sent (no reset for it) was
  // still reading: the capture, not the client, ended the body.
  if (!close.rst && conn.serverDataAfterClientFin !== null && !(c.rstTs >= close.ts)) return null;
  const before = c.peerDataBeforeCloseTs;
  const lastByteTs = before >= ex.responseStart && before <= close.ts ? before : ex.responseStart;
  const lastByteFrame = lastByteTs === before ? c.peerDataBeforeCloseFrame : (ex.responseFrame ?? 0);
  const windows = closedWindows(conn, ex.responseStart, close.ts);
  const session = conn.app?.session ?? null;
  const cut = cutResponse(conn, ex, close, lastByteTs, lastByteFrame);
  // What the client had, not what the server sent: bytes it never acknowledged were not received,
  // nor bytes that came only after its close. Those are counted on the wire, which is the body only
  // where no chunk framing is in it: a chunked body's are left in (the parser's count at the close
  // is the session's, not the exchange's), at most the chunks in flight when the client gave up. A
  // response the session settled as ended after the close (responseAfterClientClose) already counts
  // only what had come before it.
  const afterClose = framing === 'chunked' || ex.responseAfterClientClose === true ? 0 : sentAfterClose(conn);
  const unackedAtClose = unacknowledgedAtClose(conn, close.rst);
  const notReceived = unackedAtClose + afterClose;
  if (notReceived > 0) cut.received = Math.max(0, cut.received - notReceived);
  return {
    ...cut,
    agent: session?.clientSoftware ?? null,
    forwarded: session === null ? null : session.clientForwarded,
    framing,
    rst: close.rst,
    sinceConnect: ex.index === 1 && c.synTimes.length > 0 ? close.ts - c.synTimes[0] : null,
    sinceOpen: c.synTimes.length > 0 ? close.ts - c.synTimes[0] : null,
    windowClosed: windows === null || windows.some((ep) => ep.endTs >= lastByteTs),
    serverResetTs: s.rstTs > close.ts ? s.rstTs : -1,
    serverResetFrame: s.rstTs > close.ts ? s.rstFrame : 0,
    clientResetTs: !close.rst && c.rstTs > close.ts ? c.rstTs : -1,
    clientResetFrame: !close.rst && c.rstTs > close.ts ? c.rstFrame : 0,
    pathLost: pathLosses(conn),
    unackedAtClose,
    captureLost: captureLostOn(conn) || startedMidStream(conn),
    proxyTells: proxyTellsOf(ex, conn),
    timerFromTs: lazyTimerStart(conn, ex.responseStart, lastByteTs),
    longestGap: session !== null && session.responseGapFrom === ex.responseStart ? session.responseLongestGap : -1,
  };
}

/** How far the body had come, for text. */
function progress(a: Abandon): string {
  if (a.declared >= 0) return `${a.received} of its ${a.declared} body bytes`;
  return a.framing === 'chunked' ? `${a.received} body bytes of a chunked body` : `${a.received} body bytes of a body only the server's close would end`;
}

/** Which timer the cuts show: the tight cluster, else the larger; as tight and as large, either (a response that stalled from its first bytes). */
function pickTimer(total: InferredValue | null, read: InferredValue | null, options: DetectOptions): Timer | null {
  if (total === null) return read === null ? null : 'read';
  if (read === null) return 'total';
  if (read.samples === total.samples && Math.abs(read.value - total.value) <= Math.max(options.spreadFraction * total.value, options.spreadAbsolute)) return 'either';
  const tight = (c: InferredValue): boolean => c.spread <= options.spreadFraction * c.value;
  if (tight(total) !== tight(read)) return tight(total) ? 'total' : 'read';
  return read.samples >= total.samples ? 'read' : 'total';
}

/**
 * A cut where the server had been silent mid-body, on a body it declared, long enough to be no
 * cadence (see MIN_STALL), measured on a whole connection: one cut has no others to corroborate it,
 * so a silence the capture may have cut into (suricata-verify's tcp-rst-unacked-stream-09/10/11: the
 * client acknowledged bytes the capture never saw) is no evidence. A proxy's cut of a stream
 * within the pauses that stream had already gone on from (withinPace) is no stall either: a read
 * timer that let a longer pause pass cannot have fired on a shorter one, so the proxy followed its
 * own client (blind round 15 longlived s15, the upstream leg alone: curl killed 19 s after the last
 * of events 25 s apart, nginx's FIN upstream told as "the backend stalled").
 */
function isStall(a: Abandon, options: DetectOptions): boolean {
  if (isProxyCut(a) && withinPace(a, options)) return false;
  return (a.framing === 'length' || isProxyCut(a)) && !a.windowClosed && !a.captureLost && a.silence >= MIN_STALL;
}

/**
 * The silence before the close was no longer than the longest pause the body had already shown
 * and gone on from, within the tolerance timers are clustered with (max(spreadFraction of it,
 * spreadAbsolute)): the body's next piece was not yet overdue.
 */
function withinPace(a: Abandon, options: DetectOptions): boolean {
  return a.longestGap > 0 && a.silence <= a.longestGap + Math.max(options.spreadFraction * a.longestGap, options.spreadAbsolute);
}

/**
 * A chunked body cut by a client that is a proxy by its request (proxyTellsOf): no stream's reader
 * closing between events but a proxy that gave up on its backend, whose own client is owed the
 * rest (blind round 14, S3c: nginx's upstream leg alone, `proxy_read_timeout 1700ms`, its FIN
 * 1.404 s after the backend's last chunk). Its client leg, when captured, is response-truncated's.
 */
function isProxyCut(a: Abandon): boolean {
  return a.framing === 'chunked' && a.proxyTells !== 0;
}

/** Where nginx's lazily re-armed read timer lies for a cut by a proxy that is nginx by its requests (read-timer.ts), else null. */
function proxyTimerRange(a: Abandon): LazyRange | null {
  if ((a.proxyTells & (TELL_NGINX_HTTP10 | TELL_NGINX_CLOSE)) === 0) return null;
  return lazyRange(a.closeTs, a.lastByteTs, a.timerFromTs, true);
}

/**
 * A cut of a body the client was owed while the server was still sending it (see
 * MIN_BODY_BEFORE_CUT): a declared length not reached, the server's last byte less than MIN_STALL
 * before the close, on a connection the capture has whole, with the client's window open (a
 * client that had stopped reading closed on its own account), by a client that is no proxy by its
 * request (a proxy's close upstream while its backend still sent is its own client going away, told
 * on the client leg when the capture has it). Chunked and close-delimited bodies are isStreamCut's:
 * without their content type a chunked download cannot be told from a stream (server-sent events,
 * long polls, NDJSON), which has no end the client was owed, so their pace is judged instead.
 */
function isOwedCut(a: Abandon): boolean {
  return (
    a.framing === 'length' && a.proxyTells === 0 && a.declared > a.received && !a.windowClosed && !a.captureLost && a.silence < MIN_STALL &&
    a.sinceRequest >= MIN_BODY_BEFORE_CUT && a.closeTs - a.responseStart >= MIN_BODY_BEFORE_CUT
  );
}

/**
 * A stream (a chunked or close-delimited body: server-sent events, NDJSON, a long download sent
 * chunked) has no end the client was owed, but one its client closed while the server still sent
 * it at its own pace is as much the client's abort as an owed cut (isOwedCut): a deliberate cancel
 * or a total timeout on the whole request, which every stream that lasts longer outlives (blind
 * round 15 longlived, s18: Go `http.Client{Timeout: 10s}` ended an SSE stream sending an event
 * every second 10.000 s after its request, "context deadline exceeded (Client.Timeout or context
 * cancellation while reading body)", and nothing was said). "At its own pace": the server's last
 * byte came less than MIN_STALL before the close, or no longer before it than the longest pause
 * the body had already shown and gone on from, within the tolerance timers are clustered with
 * (max(spreadFraction of it, spreadAbsolute)): the next piece was not yet overdue. A close after a
 * longer silence may be a read timer ending a stalled stream, which one cut cannot tell from a
 * stream that simply had nothing to send (no stall where no end is owed): silent, as before; so is
 * a stream that had sent one piece only (no pace to judge by). Also as for an owed cut: by a
 * client that is no proxy by its request (a proxy's close is its own client going away, told on
 * the client leg), on a connection the capture has whole, with the client's window open, as long
 * into the body and since the request as MIN_BODY_BEFORE_CUT. A stream that ended (its last
 * chunk, the server's close) is no cut; a tunnel (WebSocket, CONNECT) no response body.
 */
function isStreamCut(a: Abandon, options: DetectOptions): boolean {
  if (a.framing === 'length' || a.proxyTells !== 0 || a.windowClosed || a.captureLost) return false;
  if (a.sinceRequest < MIN_BODY_BEFORE_CUT || a.closeTs - a.responseStart < MIN_BODY_BEFORE_CUT) return false;
  return a.silence < MIN_STALL || withinPace(a, options);
}

const TOTAL_TIMEOUT_SETTINGS =
  'Go `http.Client.Timeout` (it covers reading the body: "context deadline exceeded (Client.Timeout or context cancellation while reading body)"), curl `--max-time` (exit 28 "Operation timed out"; it covers the connect), ' +
  'fetch with `AbortSignal.timeout(ms)`, axios `timeout`, aiohttp `ClientTimeout(total=…)`, OkHttp `callTimeout`, .NET `HttpClient.Timeout` (100 s by default)';

const READ_TIMEOUT_SETTINGS =
  'wget `--read-timeout` (900 s by default; "Read error at byte N/M (Connection timed out)"), Python requests `timeout=(connect, read)` (mid-body a ConnectionError "Read timed out."), Node `req.setTimeout(ms)` or http.request\'s `timeout` option (socket inactivity), ' +
  'Java `setReadTimeout`, OkHttp `readTimeout` (10 s by default), Apache HttpClient `setSocketTimeout`/`setResponseTimeout`, Ruby Net::HTTP `read_timeout` (60 s by default), ' +
  'aiohttp `ClientTimeout(sock_read=…)`, undici `bodyTimeout` (300 s by default); or, when the client is itself a proxy, its read timeout from its backend (nginx `proxy_read_timeout`, HAProxy `timeout server`)';

const SERVER_VIEW =
  'The server sees its client go away mid-response: its writes fail ("broken pipe", "connection reset by peer", EPIPE), nginx logs "client prematurely closed connection" ' +
  '(with status 499 when the head had not been sent yet), and a proxy in front cancels its upstream request.';

/**
 * response-abandoned: clients that closed their connection (FIN or RST) while a response body was
 * still arriving, at a delay that repeats across one client program's cuts: the same time since
 * the request is a total timeout that also covers reading the body (Go's http.Client.Timeout:
 * "Client.Timeout or context cancellation while reading body"; curl --max-time), the same silence since the
 * server's last byte is a read timeout between bytes (Python requests' read timeout, Node's
 * socket timeout). Slow downloads and stalled streams then fail for the client however healthy
 * the server; the server logs broken pipes, nginx "client prematurely closed connection".
 *
 * Cuts whose delays agree by no timer are the clients' own choices (someone cancelled, a reader
 * stopped after the bytes it wanted) and stay silent, except a program's few cuts of a declared body
 * while it still flowed (isOwedCut) or of a stream while the server still sent it at its pace
 * (isStreamCut), each told as info: a cancel or a total timeout, which one close cannot tell
 * apart. Silent too is a close right behind the response
 * head (a reaction to the status), a half-closed client that went on reading, and a proxy's
 * upstream leg it closed because its own client had gone (reported on the client's leg) or
 * because its read timeout cut the response (response-truncated). A server that closed first is
 * response-truncated's; a response that never began, unanswered-request's.
 */
export const responseAbandoned: DetectorDefinition = {
  id: 'response-abandoned',
  meta: {
    description:
      'Clients closed their connections while response bodies were still arriving, after a delay that repeats across one client\'s cuts: the same time since the request is a total timeout that covers reading the body ' +
      '(Go http.Client.Timeout, curl --max-time), the same silence since the server\'s last byte a read timeout between bytes (Python requests, Node socket timeouts). Slow downloads and stalled streams fail for the client; the server logs broken pipes.',
    severity: 'warning',
    messages: {
      abandoned: '{request} ({status}): the client closed the connection ({closedWith}) after {progress}, {sinceRequest} s after the request and {silence} s after the server\'s last byte{upstream}',
    },
  },
  create(ctx: DetectContext) {
    const abandons: Abandon[] = [];
    const truncations: Truncation[] = [];
    /** Abandons by request, to find a proxy's upstream leg of a request its client gave up on. */
    const abandonsByRequest = new LegsByRequest<Abandon>((a) => a.closeTs);
    const tlsCloses: TlsClientClose[] = [];
    /**
     * Where the path reset the server's side in the client's name (a firewall's reject on a byte
     * count): reset-before-response tells those cuts as the path's; the client's stall or close
     * after it is no pause of the server's (blind round 17, s08: "the server stalled mid-body").
     */
    const hostTtls = sharedHostTtls(ctx);
    const cutByPath = (a: Abandon): boolean => {
      const twin = hostTtls.twinPathReset(a.flowId);
      return twin !== undefined && twin.rstTs > a.requestStart && twin.rstTs <= a.closeTs;
    };

    return {
      onConnectionEnd(conn: AnalyzedConnection): void {
        // The client's first close a RST in its name from another hop: the path's (reset-before-response).
        const c = conn.client;
        if (c.rstTs >= 0 && (c.finTs < 0 || c.rstTs <= c.finTs) && resetFromOtherHost(c)) return;
        if (conn.app?.tls != null) {
          const t = tlsClientCloseOf(conn);
          if (t !== null && tlsCloses.length < MAX_KEPT) tlsCloses.push(t);
          return;
        }
        if (conn.app?.session?.isTunnel === true) return;
        if ((conn.app?.recent.length ?? 0) === 0) return;
        const a = abandonOf(conn, ctx.options);
        if (a !== null) {
          if (abandons.length < MAX_KEPT) abandons.push(a);
          abandonsByRequest.add(a.request, a);
          return;
        }
        const t = truncationOf(conn, ctx.options);
        if (t !== null && truncations.length < MAX_KEPT) truncations.push(t);
      },

      onFinish(): void {
        const kept = abandons.filter((a) => !cutByPath(a));
        abandons.length = 0;
        abandons.push(...kept);
        // A proxy's upstream legs: closed with its client's (it followed), or cut by its read timeout
        // (response-truncated names them). Their client is the proxy, not a program with a timer.
        const upstreamOf = new Map<number, FollowedLeg>();
        const proxyLegs = new Set<number>();
        for (const d of abandons) {
          if (proxyLegs.has(d.flowId)) continue;
          const of = { flowId: d.flowId, server: d.server, requestStart: d.requestStart, answeredAt: d.responseStart, closeTs: d.closeTs };
          // The proxy's leg (to another server: nearest's rule), closed after its client's (it follows), not before.
          const up = abandonsByRequest.nearest(d.request, of, PROXY_FOLLOWS_WITHIN, (u) => u.closeTs >= d.closeTs - FOLLOW_ORDER_SLACK);
          if (up === null) continue;
          proxyLegs.add(up.flowId);
          upstreamOf.set(d.flowId, { flowId: up.flowId, server: up.server, closeTs: up.closeTs, closeFrame: up.closeFrame, rst: up.rst });
        }
        for (const t of truncations) {
          const of = { flowId: t.flowId, server: t.server, requestStart: t.requestStart, answeredAt: t.responseStart, closeTs: t.closeTs };
          const up = abandonsByRequest.nearest(t.request, of, LEGS_TOGETHER);
          if (up !== null) proxyLegs.add(up.flowId);
        }

        // A proxy that terminates TLS: its upstream cuts right behind its own clients' closes are
        // theirs, relayed (reported, with the client named: the timer is that client's).
        const tlsClientOf = followedTlsClients(abandons, tlsCloses, proxyLegs);

        // One client program (host and User-Agent) and the server it talked to.
        const groups = new Map<string, Abandon[]>();
        for (const a of abandons) {
          if (proxyLegs.has(a.flowId)) continue;
          const key = `${a.server} ${hostOf(a.client)} ${a.forwarded === true ? '' : (a.agent ?? '')}`;
          let list = groups.get(key);
          if (list === undefined) groups.set(key, (list = []));
          list.push(a);
        }

        for (const all of groups.values()) {
          // A program may run several clients with their own timers (a short one for API calls, a
          // long one for downloads): each timer's cuts are taken in turn. A timer is reported when its
          // cuts are at least TIMER_SHARE of them and of the cuts no timer explains, so that chance
          // agreements among many cancels stay silent.
          let rest = all;
          const found: { members: Abandon[]; timer: Timer; total: InferredValue | null; read: InferredValue | null }[] = [];
          for (let round = 0; round < MAX_TIMERS_PER_PROGRAM && rest.length >= MIN_CUTS; round++) {
            const timed = timerOf(rest, MIN_CUTS, ctx.options);
            if (timed === null) break;
            found.push(timed);
            const taken = new Set(timed.members);
            rest = rest.filter((a) => !taken.has(a));
          }
          const reported = found.filter((f) => f.members.length >= TIMER_SHARE * (f.members.length + rest.length));
          // The cuts no reported timer explains where the server had stalled mid-body: reported on
          // the stall (too few, or too scattered, to name a timer), the others left as cancels.
          const explained = new Set(reported.flatMap((f) => f.members));
          const stalls = all.filter((a) => !explained.has(a) && isStall(a, ctx.options));
          const unexplained = all.length - explained.size - stalls.length;
          // With no timer of the program found, its few other cuts of owed bodies (isOwedCut): each
          // a cancel or a total timeout that one close cannot tell apart, told as such (info).
          // So are its few cuts of streams while they flowed (isStreamCut), told apart from them:
          // a stream has no end, so its close has other words and another remedy.
          const stalled = new Set(stalls);
          const open = reported.length === 0 && unexplained < MIN_CUTS ? all.filter((a) => !explained.has(a) && !stalled.has(a)) : [];
          const owed = open.filter(isOwedCut);
          const streams = open.filter((a) => isStreamCut(a, ctx.options));
          for (const f of reported) {
            diagnoseGroup(ctx, f.members, all.length, unexplained, f.timer, f.total, f.read, upstreamOf, tlsClientOf);
          }
          // A proxy's cuts on its backend are its timer's (or its client's going away), not a download failing.
          const proxyStalls = stalls.filter((a) => a.proxyTells !== 0);
          const clientStalls = stalls.filter((a) => a.proxyTells === 0);
          const others = unexplained - owed.length - streams.length;
          if (clientStalls.length > 0) diagnoseStalls(ctx, clientStalls, others, owed.length, streams.length, upstreamOf, tlsClientOf);
          if (proxyStalls.length > 0) diagnoseProxyStalls(ctx, proxyStalls, upstreamOf, tlsClientOf);
          if (owed.length > 0) diagnoseOwedCuts(ctx, owed, others, stalls.length, streams.length, upstreamOf, tlsClientOf);
          if (streams.length > 0) diagnoseStreamCuts(ctx, streams, others, stalls.length, owed.length, upstreamOf, tlsClientOf);
        }
      },
    };
  },
};

/**
 * A total timeout shorter than MIN_CLIENT_TIMER (curl --max-time 0.25, a Go Client.Timeout of
 * 300 ms on an API call), told from reactions to what was read: its cuts agree within
 * spreadFraction of it, not just within spreadAbsolute (a band as wide as the timer itself, which
 * reactions fill by chance), and they had come different distances into their bodies: a reader
 * that stops after the bytes it wanted stops at the same count, a clock wherever each transfer was
 * (no count is shared by more than half of them: two transfers stalled at one loss can share one).
 */
function isShortTotalTimer(cuts: readonly Abandon[], range: { inferred: InferredValue; lo: number; hi: number }, options: DetectOptions): boolean {
  if (range.inferred.value < options.minIdleTimeout || range.inferred.spread > options.spreadFraction * range.inferred.value) return false;
  const counts = new Map<number, number>();
  let members = 0;
  let mostShared = 0;
  for (const a of cuts) {
    if (a.sinceRequest < range.lo || a.sinceRequest > range.hi) continue;
    members++;
    const n = (counts.get(a.received) ?? 0) + 1;
    counts.set(a.received, n);
    if (n > mostShared) mostShared = n;
  }
  return mostShared <= members / 2;
}

/** The timer that the most of `cuts` agree on (at least `minSamples` of them), with those cuts; null when none. */
function timerOf(
  cuts: readonly Abandon[], minSamples: number, options: DetectOptions,
): { members: Abandon[]; timer: Timer; total: InferredValue | null; read: InferredValue | null } | null {
  const cluster = { fraction: options.spreadFraction, absolute: options.spreadAbsolute, minSamples };
  // A silence while the client's own window was closed was the client's doing: no read timer's.
  const readable = cuts.filter((a) => !a.windowClosed);
  const usable = <R extends { inferred: InferredValue }>(c: R | null): R | null => (c !== null && c.inferred.value >= MIN_CLIENT_TIMER ? c : null);
  const totalCluster = inferTimeoutRange(cuts.map((a) => a.sinceRequest), cluster);
  const totalRange = usable(totalCluster) ?? (totalCluster !== null && isShortTotalTimer(cuts, totalCluster, options) ? totalCluster : null);
  const readRange = usable(inferTimeoutRange(readable.map((a) => a.silence), cluster));
  const total = totalRange?.inferred ?? null;
  const read = readRange?.inferred ?? null;
  const timer = pickTimer(total, read, options);
  if (timer === null) return null;
  const members =
    timer === 'read' && readRange !== null
      ? readable.filter((a) => a.silence >= readRange.lo && a.silence <= readRange.hi)
      : totalRange !== null
        ? cuts.filter((a) => a.sinceRequest >= totalRange.lo && a.sinceRequest <= totalRange.hi)
        : [];
  if (members.length === 0) return null;
  members.sort((x, y) => x.closeTs - y.closeTs);
  return { members, timer, total: timer === 'read' ? null : total, read: timer === 'total' ? null : read };
}

/**
 * unanswered-request's findings (it runs before) of requests from `cut`'s client host to its server
 * that the client closed, before any response byte, after about `seconds`: the same client timer
 * ending requests whose response had not begun.
 */
function unansweredAtTimer(ctx: DetectContext, cut: Abandon, seconds: number): string[] {
  const tolerance = Math.max(ctx.options.spreadFraction * seconds, ctx.options.spreadAbsolute);
  const host = hostOf(cut.client);
  return ctx
    .findings('unanswered-request')
    .filter((f) => f.server === cut.server && f.client !== null && hostOf(f.client) === host && f.evidence.closedBy === 'client')
    .filter((f) => typeof f.evidence.waitSeconds === 'number' && Math.abs(f.evidence.waitSeconds - seconds) <= tolerance)
    .map((f) => f.id);
}

/** Reports each cut as a finding (timer null: a stall no timer explains, or an owed cut); returns their ids. */
function reportCuts(
  ctx: DetectContext, members: readonly Abandon[], timer: Timer | null, upstreamOf: ReadonlyMap<number, FollowedLeg>, tlsClientOf: ReadonlyMap<number, TlsClientClose>,
  severity?: Severity,
): string[] {
  const ids: string[] = [];
  for (const a of members) {
    const up = upstreamOf.get(a.flowId) ?? null;
    const tlsClient = tlsClientOf.get(a.flowId) ?? null;
    const lazy = timer === null ? proxyTimerRange(a) : null;
    const finding = ctx.report({
      flowId: a.flowId,
      client: a.client,
      server: a.server,
      ts: a.closeTs,
      ...(severity !== undefined ? { severity } : {}),
      message: 'abandoned',
      data: {
        request: a.request,
        status: statusText(a) ?? '?',
        closedWith: a.rst ? 'RST' : 'FIN',
        progress: progress(a),
        sinceRequest: ms(a.sinceRequest),
        silence: ms(a.silence),
        upstream:
          up !== null
            ? `; the proxy closed its upstream leg to ${up.server} ${ms(up.closeTs - a.closeTs)} s later (${up.rst ? 'RST' : 'FIN'}): it followed its client`
            : tlsClient !== null
              ? `; this client is a proxy that followed its own client ${tlsClient.client} (HTTPS, flow ${tlsClient.flowId}), which had closed ${ms(a.closeTs - tlsClient.closeTs)} s before`
              : '',
      },
      evidence: {
        request: a.request,
        status: a.status,
        ...statusClassEvidence(a),
        framing: a.framing === 'length' ? 'content-length' : a.framing,
        bodyDeclared: a.declared >= 0 ? a.declared : null,
        bodyReceived: a.received,
        bodyMissing: a.declared >= 0 ? a.declared - a.received : null,
        requestAt: at(a.requestStart),
        responseAt: at(a.responseStart),
        lastByteAt: at(a.lastByteTs),
        closedAt: at(a.closeTs),
        closedWith: a.rst ? 'RST' : 'FIN',
        sinceRequest: ms(a.sinceRequest),
        silenceBeforeClose: ms(a.silence),
        sinceConnect: a.sinceConnect !== null ? ms(a.sinceConnect) : null,
        clientWindowClosed: a.windowClosed,
        clientAgent: a.agent,
        timer,
        serverResetAfter: a.serverResetTs >= 0 ? ms(a.serverResetTs - a.closeTs) : null,
        clientResetAfter: a.clientResetTs >= 0 ? ms(a.clientResetTs - a.closeTs) : null,
        upstreamFlowId: up?.flowId ?? null,
        upstreamServer: up?.server ?? null,
        upstreamClosedAfter: up !== null ? ms(up.closeTs - a.closeTs) : null,
        // Only where this client is a proxy that followed its own HTTPS client (absent otherwise).
        // Only on a cut told as a cancel or a total timeout (diagnoseOwedCuts; absent otherwise).
        ...(severity === 'info' ? { cutWhileFlowing: true } : {}),
        // Only on a stream cut while it flowed (diagnoseStreamCuts; absent otherwise): the pace it had kept.
        ...(severity === 'info' && a.framing !== 'length' ? { longestPauseBefore: a.longestGap >= 0 ? ms(a.longestGap) : null } : {}),
        ...(tlsClient !== null ? { followedClient: tlsClient.client, followedFlowId: tlsClient.flowId, followedClientClosedBefore: ms(a.closeTs - tlsClient.closeTs) } : {}),
        // Only for a stall cut by a proxy by its requests (absent otherwise): its tells, and where nginx's lazily re-armed timer lies.
        ...(timer === null && a.proxyTells !== 0 ? { proxyByRequest: proxyTellsText(a.proxyTells) } : {}),
        ...(lazy !== null ? { readTimerAtLeast: ms(lazy.lo), readTimerAtMost: ms(lazy.hi), readTimerFromAt: at(lazy.fromTs) } : {}),
      },
      frames: [
        ...new Set([
          a.requestFrame,
          a.responseFrame,
          a.lastByteFrame,
          a.closeFrame,
          ...(a.serverResetTs >= 0 ? [a.serverResetFrame] : []),
          ...(a.clientResetTs >= 0 ? [a.clientResetFrame] : []),
          ...(up !== null ? [up.closeFrame] : []),
        ]),
      ]
        .filter((f) => f > 0)
        .sort((x, y) => x - y),
    });
    ids.push(finding.id);
  }
  return ids;
}

/** Who closed these cuts, the proxy legs around them, and the timeout settings to name for them. */
function describeCuts(
  members: readonly Abandon[], upstreamOf: ReadonlyMap<number, FollowedLeg>, tlsClientOf: ReadonlyMap<number, TlsClientClose>,
): { who: string; followedNote: string; totalSettings: string; readSettings: string } {
  const first = members[0];
  const n = members.length;
  const agents = new ClientAgents();
  for (const a of members) agents.noteIdentity(a.agent, a.forwarded);
  const named = agents.describe();
  const who = `${hostOf(first.client)}${named !== '' ? ` (${named})` : ''}`;
  const followed = members.filter((a) => upstreamOf.has(a.flowId)).length;
  const relayed = members.filter((a) => tlsClientOf.has(a.flowId));
  const followedNote =
    (followed > 0
      ? ` A proxy between them closed its upstream leg right after ${followed === n ? 'each' : `${followed} of them`}: it cancelled the request it had forwarded when its client went away.`
      : '') +
    (relayed.length > 0
      ? ` ${relayed.length === n ? (n === 1 ? 'It was' : 'Each was') : `${relayed.length} of them were`} the upstream leg of a proxy that terminates TLS at ${hostOf(first.client)}, closed right after ` +
        `its own client (${[...new Set(relayed.map((a) => hostOf(tlsClientOf.get(a.flowId)?.client ?? '')))].slice(0, 3).join(', ')}) closed its HTTPS connection: ` +
        `the timer is that client's, relayed by the proxy (nginx closes the upstream connection when its client goes away unless proxy_ignore_client_abort is on).`
      : '');
  // A client that named itself (or that sent no User-Agent, as few clients do) has its own settings
  // to name; one that cannot be told, every common client's.
  const identified = agents.named + agents.noAgent > 0 && agents.unnamed === agents.noAgent;
  const totalSettings = identified ? agents.requestTimeouts() : TOTAL_TIMEOUT_SETTINGS;
  const readSettings = identified ? agents.requestTimeouts() : READ_TIMEOUT_SETTINGS;
  return { who, followedNote, totalSettings, readSettings };
}

/** Reports one client program's cuts that its timer explains, and the timer. */
function diagnoseGroup(
  ctx: DetectContext, members: readonly Abandon[], cuts: number, unexplained: number, timer: Timer,
  total: InferredValue | null, read: InferredValue | null, upstreamOf: ReadonlyMap<number, FollowedLeg>,
  tlsClientOf: ReadonlyMap<number, TlsClientClose>,
): void {
  const ids = reportCuts(ctx, members, timer, upstreamOf, tlsClientOf);

  const first = members[0];
  const n = members.length;
  const { who, followedNote, totalSettings, readSettings } = describeCuts(members, upstreamOf, tlsClientOf);
  const othersNote =
    unexplained > 0
      ? ` It ended ${unexplained} other transfer${unexplained === 1 ? '' : 's'} to this server at other moments, which no timer explains (cancelled, or read as far as it wanted): not counted.`
      : '';
  const timerValue = (timer === 'read' ? read : (total ?? read))?.value ?? null;
  const beforeHead = timerValue === null ? [] : unansweredAtTimer(ctx, first, timerValue);
  const beforeHeadNote =
    beforeHead.length > 0
      ? ` The same timer also ended ${beforeHead.length} request${beforeHead.length === 1 ? '' : 's'} from this client to this server before any response byte came (${beforeHead.slice(0, 5).join(', ')}${beforeHead.length > 5 ? ', …' : ''}).`
      : '';
  const inferred: Record<string, InferredValue> = {};
  let explanation: string;
  let remedy: string;
  const head = `${who} closed ${n} connection${n === 1 ? '' : 's'} to ${first.server} while the response body was still arriving`;
  if (timer === 'total' && total !== null) {
    inferred.clientTimeout = total;
    // Timers that cover the connect agree more closely counted from the SYN.
    const sinceConnect = members.every((a) => a.sinceConnect !== null)
      ? inferTimeout(members.map((a) => a.sinceConnect ?? 0), { fraction: ctx.options.spreadFraction, absolute: ctx.options.spreadAbsolute, minSamples: n })
      : null;
    const connectNote =
      sinceConnect !== null && sinceConnect.spread < total.spread && ms(sinceConnect.value) !== ms(total.value)
        ? ` Counted from each connection's SYN they agree more closely, ${ms(sinceConnect.value)} s: a timeout that covers the connect too (curl --max-time, fetch with AbortSignal.timeout).`
        : '';
    if (connectNote !== '' && sinceConnect !== null) inferred.clientTimeoutFromConnect = sinceConnect;
    explanation =
      `${head}, each ${ms(total.value)} s after its request (${total.samples} of ${cuts} agree, spread ${ms(total.spread)} s), whether bytes were still flowing or not: ` +
      `a total timeout on the whole request, reading the body included, ran out: ${totalSettings}.${connectNote} ` +
      `Any response that takes longer to arrive (a large download, a slow stream) fails for this client however healthy the server.${followedNote}${beforeHeadNote}${othersNote} ${SERVER_VIEW}`;
    remedy =
      `Find why these responses take ${ms(total.value)} s or more to arrive in full. If they legitimately do (large or streamed bodies), raise this client's total timeout for these requests, ` +
      `or bound the wait for the response head and the silence between reads instead of the whole transfer (Go: Transport.ResponseHeaderTimeout and a per-read deadline, not Client.Timeout; ` +
      `curl: --speed-limit/--speed-time instead of --max-time).`;
  } else if (timer !== 'total' && (read ?? total) !== null && members.every((a) => a.pathLost > 0)) {
    // Every body cut where the path was losing its segments: the silence was the server's resend
    // timer (RTO, 200 ms and doubling) waiting out a lost segment, not the server pausing (blind
    // round 11, S4c40: 40 % loss, requests timeout 0.5 s, an idle server).
    const value = (read ?? total) as InferredValue;
    if (read !== null) inferred.clientReadTimeout = read;
    else if (total !== null) inferred.clientTimeout = total;
    explanation =
      `${head}, each after ${ms(value.value)} s without a new byte mid-body (${value.samples} of ${cuts} agree, spread ${ms(value.spread)} s): ` +
      `${read !== null && timer === 'read' ? `a read timeout between bytes ran out (${readSettings})` : `a read timeout between bytes or a total timeout ran out (${readSettings})`}. ` +
      `On ${n === 1 ? 'that connection' : 'every one of those connections'} the path was losing the server's packets (up to ${Math.max(...members.map((a) => a.pathLost))} segments resent or arriving past a hole the server filled later): ` +
      `the silence was the server's retransmission timer (200 ms and doubling) waiting out a lost segment, not the server pausing.${followedNote}${beforeHeadNote}${othersNote} ${SERVER_VIEW}`;
    remedy =
      `Look at the path between ${hostOf(first.client)} and ${hostOf(first.server)} first: it was losing packets (\`mtr\`, interface and qdisc drop counters, a rate limit or a statistic DROP rule on the way, a congested link). ` +
      `A client timeout of ${ms(value.value)} s leaves room for one or two retransmissions at most: raise it well above a few RTOs where the path cannot be fixed at once.`;
  } else if (timer === 'read' && read !== null) {
    inferred.clientReadTimeout = read;
    explanation =
      `${head}, each after the server had sent nothing for ${ms(read.value)} s mid-body (${read.samples} of ${cuts} agree, spread ${ms(read.spread)} s), at various times since the request: ` +
      `a read timeout between bytes ran out while the server (or its backend) paused: ${readSettings}.${followedNote}${beforeHeadNote}${othersNote} ${SERVER_VIEW}`;
    remedy =
      `Find why ${first.server} pauses ${ms(read.value)} s or more in the middle of these bodies (a slow query between chunks, a stalled backend, a lock), ` +
      'or whether it declares more than it sends (a Content-Length larger than the body leaves the client waiting for bytes that never come). ' +
      `If such pauses are expected (reports, exports, streams), raise this client's read timeout for these requests, or have the server send data (or SSE comments) well inside it.`;
  } else {
    const value = total ?? read;
    if (total !== null) inferred.clientTimeout = total;
    if (read !== null) inferred.clientReadTimeout = read;
    explanation =
      `${head}, each ${value !== null ? ms(value.value) : '?'} s after its request, the server having sent nothing since its first bytes: either a total timeout on the request ` +
      `(${totalSettings}) or a read timeout between bytes (${readSettings}); these responses cannot tell which.${followedNote}${beforeHeadNote}${othersNote} ${SERVER_VIEW}`;
    remedy =
      `Find why ${first.server} stops sending right after the start of these responses, and which of the client's timers is set to ${value !== null ? ms(value.value) : 'that'} s; ` +
      'raise it for these requests only if such responses are legitimate.';
  }
  ctx.diagnose({ server: first.server, count: n, inferred, explanation, remedy, anomalyIds: ids });
}

/** `lo` s, or `lo–hi` s when the cuts differ. */
function spanOf(values: readonly number[]): string {
  const lo = ms(Math.min(...values));
  const hi = ms(Math.max(...values));
  return lo === hi ? `${lo}` : `${lo}–${hi}`;
}

/**
 * Reports one client program's cuts that no timer explains where the server had stalled mid-body
 * (isStall): each a failure the client saw. One or two waits name no timeout value, only bounds:
 * a read timeout between bytes is at most the silence it ended (it counts from the client's last
 * read, at or after the last byte came); a total timeout counts from before the request.
 */
function diagnoseStalls(
  ctx: DetectContext, stalls: readonly Abandon[], unexplained: number, owed: number, streams: number,
  upstreamOf: ReadonlyMap<number, FollowedLeg>, tlsClientOf: ReadonlyMap<number, TlsClientClose>,
): void {
  const ids = reportCuts(ctx, stalls, null, upstreamOf, tlsClientOf);
  const first = stalls[0];
  const n = stalls.length;
  const { who, followedNote, totalSettings, readSettings } = describeCuts(stalls, upstreamOf, tlsClientOf);
  const silences = stalls.map((a) => a.silence);
  const silence = spanOf(silences);
  const readBound = ms(Math.min(...silences));
  const since = spanOf(stalls.map((a) => a.sinceRequest));
  const syn = stalls.every((a) => a.sinceConnect !== null) ? spanOf(stalls.map((a) => a.sinceConnect ?? 0)) : since;
  const fromSyn = syn !== since ? ` (${syn} s from the SYN, for a timeout that covers the connect)` : '';
  // A client that named itself has one list for both timers (its own settings): named once.
  const settings = (list: string): string => (totalSettings === readSettings ? '' : ` (${list})`);
  const sameSettings = totalSettings === readSettings ? ` (${totalSettings})` : '';
  // The server's next bytes after the close drew the client's RST: the stall lasted at least until then.
  const resumed = stalls.filter((a) => a.clientResetTs >= 0);
  const stallNote =
    resumed.length > 0
      ? ` The server's next bytes came only ${spanOf(resumed.map((a) => a.clientResetTs - a.closeTs))} s after the client's close, into its closed socket (its RST answered them): ` +
        `the stall lasted at least ${spanOf(resumed.map((a) => a.clientResetTs - a.lastByteTs))} s.`
      : '';
  const lost = stalls.filter((a) => a.pathLost > 0).length;
  // Every stall with bytes sent before the silence and never acknowledged (Abandon.unackedAtClose):
  // the server had not paused, the client waited out a loss on the path.
  const starved = stalls.every((a) => a.unackedAtClose > 0);
  const unacked = spanOf(stalls.map((a) => a.unackedAtClose));
  const lossNote = starved
    ? ''
    : lost > 0
      ? ` On ${lost === n ? (n === 1 ? 'that connection' : 'those connections') : `${lost} of those connections`} the path was losing the server's packets: part of the silence may be the server's retransmission timer, not the server pausing.`
      : '';
  const othersNote =
    unexplained > 0
      ? ` It ended ${unexplained} other transfer${unexplained === 1 ? '' : 's'} to this server that show${unexplained === 1 ? 's' : ''} no such stall (the bytes still flowing, or a stream between its messages): not counted.`
      : '';
  const owedNote =
    (owed > 0 ? ` ${owed === 1 ? 'One other cut' : `${owed} other cuts`} of a declared body while its bytes still flowed ${owed === 1 ? 'is' : 'are'} told on ${owed === 1 ? 'its' : 'their'} own (a cancel or a total timeout).` : '') +
    (streams > 0 ? ` ${streams === 1 ? 'One other cut' : `${streams} other cuts`} of a stream while the server still sent it ${streams === 1 ? 'is' : 'are'} told on ${streams === 1 ? 'its' : 'their'} own (a cancel or a total timeout).` : '');
  const bodies = stalls.map((a) => `${a.received} of ${a.declared}`);
  const explanation =
    `${who} closed ${n === 1 ? 'its connection' : `${n} connections`} to ${first.server} in the middle of ${n === 1 ? 'a response body' : 'response bodies'} the server had declared ` +
    `(${[...new Set(bodies)].slice(0, 3).join(', ')} body bytes received), ${since} s after the request, after the server had sent nothing${starved ? ' new' : ''} for ${silence} s: ` +
    (starved
      ? `the server had not stalled: it had sent ${unacked} bytes more before that silence, which the client had not acknowledged when it closed ` +
        `(a receiver acknowledges what arrives within its delayed-ACK time, at most 500 ms, whether its application reads it or not): the path lost them, ` +
        `and the silence was the server's retransmission timer (200 ms and doubling) waiting out the loss while the client's timer ran; a failed download on the client's side ` +
        `(wget "Read error at byte N/M (Connection timed out)", curl (28) "Operation timed out", fetch's TimeoutError). `
      : `the server stalled mid-body and the client gave up, a failed download on its side (wget "Read error at byte N/M (Connection timed out)", curl (28) "Operation timed out", ` +
        `fetch's TimeoutError).${stallNote}${lossNote} `) +
    `${n === 1 ? 'One wait names' : `${n === 2 ? 'Two' : `${n} scattered`} waits name`} no timeout value, only bounds: if a read timeout between bytes ended ${n === 1 ? 'it' : 'them'}, it is at most ${readBound} s${settings(readSettings)}; ` +
    `if a total timeout did, about ${since} s counted from the request${fromSyn}${settings(totalSettings)}${sameSettings}; a person cancelling during the ${starved ? 'silence' : 'stall'} looks the same.${followedNote}${othersNote}${owedNote} ${SERVER_VIEW}`;
  const remedy = starved
    ? `Look at the path between ${hostOf(first.client)} and ${hostOf(first.server)} first: it was losing the server's packets (\`mtr\`, interface and qdisc drop counters, ` +
      `a rate limit or a statistic DROP rule on the way, a congested link). A client read timeout of ${readBound} s or less leaves room for a few retransmissions at most: ` +
      `raise it well above a few RTOs where the path cannot be fixed at once; the server was not slow.`
    : `Find why ${first.server} stops sending for ${readBound} s or more in the middle of ${n === 1 ? 'this body' : 'these bodies'} (a slow backend, disk or upstream between writes, a lock, ` +
      'a Content-Length larger than the body it sends). If such pauses are legitimate, raise the client\'s read timeout above them and its total timeout above the whole transfer, ' +
      'or have the server keep bytes flowing.';
  ctx.diagnose({ server: first.server, count: n, inferred: {}, explanation, remedy, anomalyIds: ids });
}

/**
 * Reports a proxy's upstream cuts (isProxyCut, or a declared body its proxy cut) where the backend
 * had stalled mid-body: the proxy gave up on its backend, as unanswered-request says of a proxy that
 * gave up on a backend that never answered. On this leg alone the proxy's read timeout and its own
 * client going away during the stall look the same; its client leg or its logs tell.
 */
function diagnoseProxyStalls(
  ctx: DetectContext, stalls: readonly Abandon[], upstreamOf: ReadonlyMap<number, FollowedLeg>, tlsClientOf: ReadonlyMap<number, TlsClientClose>,
): void {
  const ids = reportCuts(ctx, stalls, null, upstreamOf, tlsClientOf);
  const first = stalls[0];
  const n = stalls.length;
  const tells = stalls.reduce((t, a) => t | a.proxyTells, 0);
  const proxies = [...new Set(stalls.map((a) => hostOf(a.client)))].slice(0, 3).join(', ');
  const silences = stalls.map((a) => a.silence);
  const readBound = ms(Math.min(...silences));
  const since = spanOf(stalls.map((a) => a.sinceRequest));
  const bodies = [...new Set(stalls.map((a) => (a.declared >= 0 ? `${a.received} of ${a.declared} body bytes` : `${a.received} body bytes of a chunked body`)))].slice(0, 3).join(', ');
  const ranges = stalls.map(proxyTimerRange);
  const lazy = n === 1 ? ranges[0] : null;
  const rst = stalls.filter((a) => a.rst).length;
  const explanation =
    `${proxies}, a proxy by its requests (${proxyTellsText(tells)}; the User-Agent is its client's, passed on), closed its upstream connection${n === 1 ? '' : 's'} to ${first.server} ` +
    `(${rst === 0 ? 'FIN' : rst === n ? 'RST' : 'FIN or RST'}) in the middle of ${n === 1 ? 'a response body' : `${n} response bodies`} (${bodies} received), ${since} s after the request, ` +
    `after the backend had sent nothing for ${spanOf(silences)} s: the backend stalled mid-body and the proxy gave up on it. ` +
    `Either the proxy's read timeout from its backend ran out, at least ${readBound} s (nginx \`proxy_read_timeout\`, 60 s by default: the longest silence between two reads from the backend; ` +
    `HAProxy \`timeout server\`; Apache \`ProxyTimeout\`; Varnish \`between_bytes_timeout\`)${lazy !== null ? `.${lazyRangeText(lazy).replace(/^ nginx moves/, ' If it was nginx\'s: nginx moves')}` : '; '}` +
    `${lazy !== null ? ' Or' : 'or'} its own client went away during the stall and the proxy cancelled the request upstream (nginx logs 499 and "client prematurely closed connection" then): ` +
    `this leg alone cannot tell which; the proxy's client leg or its error log ("upstream timed out (110) … while reading upstream") can. ` +
    `${n === 1 ? 'One cut names' : 'These cuts name'} no timeout value by agreement. If it was the timer, the proxy's client got the body cut short ` +
    `(curl's "(18) transfer closed with N bytes remaining", "unexpected EOF", ChunkedEncodingError).`;
  const remedy =
    `Find why ${first.server} stops sending for ${readBound} s or more in the middle of ${n === 1 ? 'this body' : 'these bodies'} (a slow query between chunks, a lock, a blocked stream or upstream of its own); ` +
    `look in the proxy's error log ${n === 1 ? `at ${timeOfDay(first.closeTs)} UTC` : 'at these times'} for its read timeout. If such pauses are legitimate, raise that timeout for this route only, ` +
    'or have the backend send data (or SSE comments) well inside it.';
  ctx.diagnose({ server: first.server, count: n, inferred: {}, explanation, remedy, anomalyIds: ids });
}

/**
 * Reports a client's cuts at info (owed bodies and streams alike) and what both their diagnoses
 * open with: who cut, the settings that may have, and when (from the request, from the SYN for a
 * timeout that covers the connect, and since the server's last byte).
 */
function reportCutsAtInfo(
  ctx: DetectContext, cuts: readonly Abandon[], upstreamOf: ReadonlyMap<number, FollowedLeg>, tlsClientOf: ReadonlyMap<number, TlsClientClose>,
): { ids: string[]; who: string; followedNote: string; totalSettings: string; since: string; openNote: string; silence: string } {
  const ids = reportCuts(ctx, cuts, null, upstreamOf, tlsClientOf, 'info');
  const { who, followedNote, totalSettings } = describeCuts(cuts, upstreamOf, tlsClientOf);
  const since = spanOf(cuts.map((a) => a.sinceRequest));
  const open = cuts.every((a) => a.sinceOpen !== null) ? spanOf(cuts.map((a) => a.sinceOpen ?? 0)) : null;
  const openNote = open !== null && open !== since ? ` (${open} s after the connection's SYN, for a timeout that covers the connect)` : '';
  return { ids, who, followedNote, totalSettings, since, openNote, silence: spanOf(cuts.map((a) => a.silence)) };
}

/**
 * Reports one client program's few cuts of owed bodies while the server still sent them
 * (isOwedCut), as info: each close is a deliberate cancel or a total timeout on the whole request
 * shorter than the transfer, and one close cannot tell which. A read timeout between bytes it is
 * not (the server had just sent). Told with the times a total timeout would have (from the request,
 * and from the connection's SYN for one that covers the connect, curl --max-time) and how long the
 * whole body would have taken at the pace it came, so that a client's "Operation timed out" finds
 * its transfer; not a warning, so that a person's cancel fails no gate.
 */
function diagnoseOwedCuts(
  ctx: DetectContext, cuts: readonly Abandon[], unexplained: number, stalls: number, streams: number,
  upstreamOf: ReadonlyMap<number, FollowedLeg>, tlsClientOf: ReadonlyMap<number, TlsClientClose>,
): void {
  const first = cuts[0];
  const n = cuts.length;
  const { ids, who, followedNote, totalSettings, since, openNote, silence } = reportCutsAtInfo(ctx, cuts, upstreamOf, tlsClientOf);
  const bodies = [...new Set(cuts.map((a) => `${a.received} of ${a.declared}`))].slice(0, 3).join(', ');
  // At the pace the body came (what the client had by its close, over the time since the head), how
  // long all of it needed; counted to the close, not to the last byte, which would leave out the
  // period in which the first bytes came with the head.
  const needs = cuts.flatMap((a) => (a.received > 0 ? [(a.declared / a.received) * (a.closeTs - a.responseStart)] : []));
  const paceNote =
    needs.length === n ? ` At the pace ${n === 1 ? 'it' : 'they'} came, the whole body would have needed about ${spanOf(needs.map((x) => Math.round(x * 10) / 10))} s from its head.` : '';
  const resumed = cuts.filter((a) => a.clientResetTs >= 0).length;
  const resumedNote = resumed > 0 ? ` The server went on sending after the close${resumed === n ? '' : ` on ${resumed} of them`}; its next bytes drew the client's RST.` : '';
  const othersNote =
    unexplained + stalls > 0
      ? ` It ended ${unexplained + stalls} other transfer${unexplained + stalls === 1 ? '' : 's'} to this server${stalls > 0 ? ` (${stalls} after the server stalled, told on ${stalls === 1 ? 'its' : 'their'} own)` : ''}` +
        `${unexplained > 0 ? `; ${stalls > 0 ? `the other${unexplained === 1 ? '' : 's'}` : unexplained === 1 ? 'it' : 'they'} left no declared body short while its bytes flowed (a stream, a chunked or close-delimited body, a close soon after the head): not counted` : ''}.`
      : '';
  const streamsNote = streams > 0 ? ` ${streams === 1 ? 'Its cut' : `Its ${streams} cuts`} of a stream while the server still sent it ${streams === 1 ? 'is' : 'are'} told on ${streams === 1 ? 'its' : 'their'} own.` : '';
  // curl's own words for it, where the client is curl (the list of every client's settings quotes them already).
  const curlNote = totalSettings !== TOTAL_TIMEOUT_SETTINGS && totalSettings.includes('curl `--max-time`') ? ' (exit 28, "Operation timed out after N milliseconds with X out of Y bytes received")' : '';
  const explanation =
    `${who} closed ${n === 1 ? 'its connection' : `${n} connections`} to ${first.server} (${first.rst ? 'RST' : 'FIN'}${cuts.some((a) => a.rst !== first.rst) ? ' or RST' : ''}) in the middle of ` +
    `${n === 1 ? 'a response body' : 'response bodies'} the server had declared (${bodies} body bytes received), ${since} s after the request${openNote}, ` +
    `while the server was still sending (its last byte ${silence} s before the close).${paceNote}${resumedNote} ` +
    `${n === 1 ? 'One such close does' : 'Such closes do'} not tell which of two things ${n === 1 ? 'it was' : 'they were'}: a deliberate cancel (a person's Ctrl-C, a program that had read what it wanted), ` +
    `or a total timeout on the whole request, body included, of about ${since} s, shorter than this transfer: ${totalSettings}${curlNote}. ` +
    `A read timeout between bytes it was not: the bytes were still coming.${n === 2 ? ' Two closes are too few to infer a timer from their agreement.' : ''}${followedNote}${othersNote}${streamsNote} ${SERVER_VIEW}`;
  const remedy =
    `If the client reported a timeout for ${n === 1 ? 'this transfer' : 'these transfers'}, its total timeout (about ${since} s) is shorter than the transfer: raise it for these requests, ` +
    `or bound the wait for the response head and the silence between reads instead of the whole transfer (curl: --speed-limit/--speed-time instead of --max-time; ` +
    `Go: Transport.ResponseHeaderTimeout and a per-read deadline instead of Client.Timeout), or find why ${first.server} sends ${n === 1 ? 'this body' : 'these bodies'} this slowly. ` +
    'If it was a deliberate cancel, nothing is wrong.';
  ctx.diagnose({ server: first.server, count: n, inferred: {}, explanation, remedy, anomalyIds: ids, severity: 'info' });
}

/**
 * Reports one client program's few cuts of streams while the server still sent them at their own
 * pace (isStreamCut), as info, as diagnoseOwedCuts does owed bodies: each close is a deliberate one
 * (the reader was done, a person's Ctrl-C, a process stopped or killed) or a total timeout on the
 * whole request, which a stream outlives however healthy the server; one close cannot tell which.
 * A stream has no end to measure the cut against: told with the time from the request (and from
 * the SYN, for a timeout that covers the connect) and the pace the stream had kept, so that a
 * client's "context deadline exceeded … while reading body" finds its stream. Three or more cuts
 * of one program at one age are diagnoseGroup's inferred total timeout (a warning), as for owed bodies.
 */
function diagnoseStreamCuts(
  ctx: DetectContext, cuts: readonly Abandon[], unexplained: number, stalls: number, owed: number,
  upstreamOf: ReadonlyMap<number, FollowedLeg>, tlsClientOf: ReadonlyMap<number, TlsClientClose>,
): void {
  const first = cuts[0];
  const n = cuts.length;
  const { ids, who, followedNote, totalSettings, since, openNote, silence } = reportCutsAtInfo(ctx, cuts, upstreamOf, tlsClientOf);
  const gaps = cuts.filter((a) => a.longestGap > 0).map((a) => a.longestGap);
  const paceNote = gaps.length > 0 ? `, its data up to ${spanOf(gaps)} s apart before that` : '';
  const bodies = [...new Set(cuts.map((a) => `${a.received}`))].slice(0, 3).join(', ');
  const framings = new Set(cuts.map((a) => a.framing));
  const framingText =
    framings.size === 1 && framings.has('close')
      ? 'a body only the server\'s close would end'
      : framings.has('close')
        ? 'chunked or close-delimited bodies, which declare no end'
        : `${n === 1 ? 'a chunked body, which declares' : 'chunked bodies, which declare'} no end`;
  const resumed = cuts.filter((a) => a.clientResetTs >= 0).length;
  const resumedNote = resumed > 0 ? ` The server went on sending after the close${resumed === n ? '' : ` on ${resumed} of them`}; its next bytes drew the client's RST.` : '';
  const told = stalls + owed;
  const othersNote =
    told + unexplained > 0
      ? ` It ended ${told + unexplained} other transfer${told + unexplained === 1 ? '' : 's'} to this server` +
        `${told > 0 ? ` (${[stalls > 0 ? `${stalls} after the server stalled` : '', owed > 0 ? `${owed} of a declared body while it flowed` : ''].filter((x) => x !== '').join(', ')}, told on ${told === 1 ? 'its' : 'their'} own)` : ''}` +
        `${unexplained > 0 ? `; ${told > 0 ? `the other${unexplained === 1 ? '' : 's'}` : unexplained === 1 ? 'it' : 'they'} showed no such flow when closed (a close soon after the head, or after a silence longer than the body's pace): not counted` : ''}.`
      : '';
  const curlNote = totalSettings !== TOTAL_TIMEOUT_SETTINGS && totalSettings.includes('curl `--max-time`') ? ' (exit 28, "Operation timed out after N milliseconds with X bytes received")' : '';
  const explanation =
    `${who} closed ${n === 1 ? 'its connection' : `${n} connections`} to ${first.server} (${first.rst ? 'RST' : 'FIN'}${cuts.some((a) => a.rst !== first.rst) ? ' or RST' : ''}) in the middle of ` +
    `${n === 1 ? 'a streamed response' : 'streamed responses'} the server had not ended (${bodies} body bytes received of ${framingText}: server-sent events, a long poll, NDJSON, or a download sent so), ` +
    `${since} s after the request${openNote}, while the server was still sending at its own pace (its last byte ${silence} s before the close${paceNote}).${resumedNote} ` +
    `${n === 1 ? 'One such close does' : 'Such closes do'} not tell which of two things ${n === 1 ? 'it was' : 'they were'}: a deliberate close (the reader was done, a person's Ctrl-C or a closed page, a process stopped or killed), ` +
    `or a total timeout on the whole request, body included, of about ${since} s: ${totalSettings}${curlNote}. A stream outlives any such timeout: it is cut at that age however healthy the server and the network are. ` +
    `A read timeout between bytes it was not: the next piece was not yet overdue.${n === 2 ? ' Two closes are too few to infer a timer from their agreement.' : ''}${followedNote}${othersNote} ${SERVER_VIEW}`;
  const remedy =
    `If the client reported a timeout for ${n === 1 ? 'this stream' : 'these streams'} (Go: "context deadline exceeded (Client.Timeout or context cancellation while reading body)"; curl: exit 28), ` +
    `its total timeout (about ${since} s) bounds the whole stream: do not put a total timeout on streaming requests, bound the connect, the wait for the response head and the silence between messages instead ` +
    `(Go: no Client.Timeout for this request, Transport.ResponseHeaderTimeout and an idle timer reset on each message that cancels the request's context; curl: --connect-timeout and --speed-limit/--speed-time instead of --max-time; ` +
    `fetch: abort on such an idle timer, not AbortSignal.timeout), and reconnect when the stream ends (an EventSource resumes with Last-Event-ID). ` +
    'If it was a deliberate close or a stopped process, nothing is wrong on the network.';
  ctx.diagnose({ server: first.server, count: n, inferred: {}, explanation, remedy, anomalyIds: ids, severity: 'info' });
}
