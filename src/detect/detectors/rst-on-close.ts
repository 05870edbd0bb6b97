import type { AnalyzedConnection } from '../analyzed-connection';
import type { DetectContext, DetectorDefinition } from '../detector';
import { ms, peerAckedAll, peerResetAfterReceivingAll, readBefore, requestLine } from '../facts';
import type { Endpoint } from '../../flow/endpoint';
import { seqGt } from '../../flow/seq';
import { exactStatus, statusClassEvidence, statusText, type HttpExchange } from '../../http/exchange';
import { NGINX } from '../known-timeouts';
import { resetFromOtherHost } from '../path-reset';
import { bodyReadTimerAnswer } from '../body-read-timer';
import { serverIdleClose } from './keepalive-race';
import { SERVER_SOFTWARE, ServerSoftware } from '../server-software';

/**
 * The lingering close of the server whose responses name it, for the remedy: nginx lingers by
 * default (uploads-expect-continue-nginx: with `lingering_close off` it reset two refused uploads).
 */
function lingeringAdvice(software: string | null): string {
  if (software !== null && NGINX.test(software)) {
    return (
      'Its responses say nginx, which does so by default: here `lingering_close` is off, or the rest of the body outlasted ' +
      '`lingering_time` (30 s by default) or a pause in it `lingering_timeout` (5 s): set `lingering_close on` (or `always`), or raise those. '
    );
  }
  return '';
}

/** How the server left request bytes unread when it closed. */
type Unread =
  /** It answered before the request body had arrived completely (e.g. 413, 401) and closed. */
  | 'request-body-incomplete'
  /** It answered before the request's head had arrived completely (e.g. 431, 400) and closed: no body, the rest of a head. */
  | 'request-head-incomplete'
  /** It answered while the request body was still arriving; the body completed, the close still found bytes unread. */
  | 'response-before-request-end'
  /** Its last response said Connection: close, but requests pipelined behind it had already arrived. */
  | 'pipelined-requests'
  /**
   * The whole request had arrived before the response, yet the RST advertised a wider receive
   * window than the server's last segment: its close discarded bytes still queued (resetWindowReopened).
   */
  | 'discarded-at-close';

interface Case {
  unread: Unread;
  /** The exchange the server answered last before closing. */
  answered: HttpExchange;
  /** The first request bytes left unread (the answered request itself, or the first pipelined one). */
  unreadExchange: HttpExchange;
  /** Requests pipelined behind the answered one, never answered. */
  unanswered: number;
}

/**
 * Finds the HTTP evidence that the server's application closed with request bytes still unread.
 * Only bytes that arrived before the server's last response data count: a request arriving
 * after the server went quiet is a race with an idle close (keepalive-race) or an outstanding
 * request at a crash (reset-before-response), not a response followed by an abortive close.
 */
function findUnread(conn: AnalyzedConnection): Case | null {
  const recent = conn.app?.recent ?? [];
  const serverLastData = conn.server.lastDataTs;
  let answeredAt = -1;
  for (let i = recent.length - 1; i >= 0; i--) {
    if (recent[i].responseStart !== null) {
      answeredAt = i;
      break;
    }
  }
  if (answeredAt < 0) return null;
  const answered = recent[answeredAt];
  if (answered.uncertain || answered.requestStart === null || answered.responseStart === null) return null;

  if (answered.state === 'request-incomplete') {
    // The capture's snaplen cut the request's head: its framing is unseen, and it may have been
    // whole on the wire (connect-timeout-tinyproxy cut to 128 bytes: a POST's head and body in one
    // cut segment). A head seen whole counts its body by the segments' lengths, cut or not.
    if (conn.client.cutBytes > 0 && (answered.requestCut === true || answered.requestHeadUnfinished === true)) return null;
    const unread: Unread = answered.requestHeadUnfinished === true ? 'request-head-incomplete' : 'request-body-incomplete';
    return { unread, answered, unreadExchange: answered, unanswered: recent.length - answeredAt - 1 };
  }
  if (answered.requestEnd !== null && answered.requestEnd > answered.responseStart) {
    return { unread: 'response-before-request-end', answered, unreadExchange: answered, unanswered: recent.length - answeredAt - 1 };
  }
  // Pipelined requests behind a response that announced the close: the server meant to stop there.
  const behind = recent.slice(answeredAt + 1).filter((ex) => !ex.uncertain && ex.requestStart !== null && ex.requestStart <= serverLastData);
  if (answered.responseClose && behind.length > 0) {
    return { unread: 'pipelined-requests', answered, unreadExchange: behind[0], unanswered: recent.length - answeredAt - 1 };
  }
  return null;
}

/**
 * The server's RST, sent without a FIN before it and acknowledging every byte the client sent,
 * advertised a wider receive window than the server's last segment before it. Linux's close()
 * purges the receive queue before it decides (tcp_close: bytes were unread, so RST instead of FIN,
 * TCPAbortOnClose), and the RST's window counts the room they had taken; no client byte came to
 * narrow it, and a read would have widened the window the server's response or ACK advertised.
 * A socket closed abortively on purpose (SO_LINGER 0) with nothing unread resets with the window
 * it had (TCPAbortOnData): the same as before, so it is not taken for this. A remainder too small
 * to narrow the window (Linux advertises at most rcv_ssthresh) leaves no trace and is not seen.
 */
function resetWindowReopened(conn: AnalyzedConnection): boolean {
  const s = conn.server;
  if (s.rstWindow <= s.window || !peerResetAfterReceivingAll(conn.client, s)) return false;
  // A RST in the server's name from another hop (a middlebox) says nothing of the server's buffer.
  return !resetFromOtherHost(s);
}

/**
 * The last exchange, its request whole before its response began and its response complete, when
 * the server's close discarded bytes unread (resetWindowReopened): what the response did not wait
 * for (the rest of a body it refused on its head, or a head read only in part).
 */
function findDiscarded(conn: AnalyzedConnection): Case | null {
  const recent = conn.app?.recent ?? [];
  const answered = recent[recent.length - 1];
  if (answered === undefined || answered.uncertain || answered.state !== 'complete' || answered.responseStart === null) return null;
  if (answered.requestEnd === null || answered.requestEnd > answered.responseStart) return null;
  if (!resetWindowReopened(conn)) return null;
  return { unread: 'discarded-at-close', answered, unreadExchange: answered, unanswered: 0 };
}

/**
 * The server's TCP stack took in client bytes after the server's FIN: it acknowledged them, or its
 * RST's acknowledgement covers them. Its socket was only half closed (shutdown of the sending side:
 * Go's net/http after an early answer to an upload closes its write side, waits half a second
 * without reading, then closes), so those bytes sat unread when it closed, and its RST is the
 * unread-data reset. A socket closed whole answers bytes that arrive after it with a RST that
 * acknowledges nothing new (Linux counts it as TCPAbortOnData): nothing was unread at its
 * close, and that reset is left alone.
 */
function receivedAfterFin(s: Endpoint): boolean {
  if (!s.finHasAck) return false;
  return (s.hasAck && seqGt(s.highestAck, s.finAck)) || (s.rstHasAck && seqGt(s.rstAck, s.finAck));
}

/**
 * The server's FIN closed the connection idle after the early answer, and the RST answered a new
 * request sent after that FIN: the answered upload had arrived whole before the FIN (a server that
 * answers before reading, as nginx's `return 200`, reads and discards the body itself, and a close
 * with bytes unread would have been a RST, not a FIN), and the client sent its next request only
 * after reading the response. Nothing of the upload was cut and no response was lost: the request
 * met a closed connection, keepalive-race's stale reuse, and the RST is its.
 */
function resetAnswersStaleRequest(conn: AnalyzedConnection, found: Case): boolean {
  const s = conn.server;
  const { answered } = found;
  if (found.unread !== 'response-before-request-end' || answered.requestEnd === null || answered.requestEnd > s.finTs) return false;
  const close = serverIdleClose(conn);
  if (close === null || close.lastExchange !== answered || close.lateRequest === null) return false;
  const late = close.lateRequest;
  return late.requestStart !== null && readBefore(late.requestStart, late.requestFrame ?? 0, s.rstTs, s.rstFrame);
}

function unreadDiscarded(found: Case): boolean {
  return found.unread === 'discarded-at-close';
}

/**
 * When the resets came after the responses: right after, or (a server that lingers, reading and
 * discarding the upload until its nginx `lingering_time`, then closes on what is still coming) up to
 * how long after. `longest` is the longest rstAfterResponse, in seconds.
 */
function whenAfterResponse(longest: number): string {
  return longest < 0.5 ? 'right after responding' : `up to ${Math.round(longest * 1000) / 1000} s after responding`;
}

/**
 * Only where this capture showed it: uploads the server invited with 100 Continue and then refused
 * (a chunked upload's size shows only as it arrives), by final status.
 */
function continuedNote(server: string, continued: ReadonlyMap<string, number>): string {
  if (continued.size === 0) return '';
  const refused = [...continued].map(([status, k]) => `${k}× ${status}`).join(', ');
  return ` (a chunked upload's size shows only as it arrives: ${server} answered 100 Continue first, then ${refused})`;
}

const UNREAD_WORDS: Record<Unread, string> = {
  'request-body-incomplete': 'before the request body had fully arrived',
  'request-head-incomplete': 'before the request head had fully arrived',
  'response-before-request-end': 'while the request body was still arriving',
  'pipelined-requests': 'with pipelined requests already received',
  'discarded-at-close': 'after the whole request had arrived, without reading all of it',
};

/**
 * rst-on-close: the server closed while request bytes sat unread in its receive buffer, so its
 * kernel sent RST instead of FIN (RFC 1122 §4.2.2.13, RFC 2525 §2.17) — and a RST makes the
 * client's kernel discard what the client has not read yet, possibly the very response the server
 * just sent. Wire signature: server RST with no FIN before it, after response data, with HTTP
 * evidence of unread request bytes. A client resetting after reading a full response (abortive
 * close) and a server resetting without having answered are other cases and stay silent here.
 */
export const rstOnClose: DetectorDefinition = {
  id: 'rst-on-close',
  meta: {
    description:
      'The server closed the connection while request bytes were still unread in its receive buffer, so its kernel ' +
      'sent RST instead of FIN: the client may lose the response (typically an early 413/401 to an upload that is still in progress); ' +
      'or it answered such an upload early, closed with FIN without reading the rest, and the body that kept coming drew its RST.',
    severity: 'warning',
    messages: {
      reset: '{server} answered {status}{when}, then closed with RST instead of FIN: unread request bytes; the client may lose the response',
      resetAfterFin: '{server} answered {status}{when}, sent FIN, then RST: its close found request bytes unread; the client may lose the response',
      discarded:
        '{server} answered {status}{when}, then closed with RST instead of FIN: the RST advertised a wider receive window than its last segment ' +
        '({windowBefore} → {windowAtReset} bytes), room its close freed by discarding request bytes unread; the client may lose the response',
      resetAfterClose:
        '{server} answered {status}{when} and closed (FIN) without reading the rest: the body the client went on sending drew a RST; the client may lose the response (EPIPE or ECONNRESET while it sends)',
      resetAfterCloseHead:
        '{server} answered {status}{when} and closed (FIN) without reading the rest: the rest of the head the client went on sending drew a RST; the client may lose the response (EPIPE or ECONNRESET while it sends)',
    },
  },
  create(ctx: DetectContext) {
    const software = ctx.shared(SERVER_SOFTWARE, () => new ServerSoftware());
    return {
      onConnectionEnd(conn: AnalyzedConnection): void {
        software.note(conn);
        const s = conn.server;
        const c = conn.client;
        if (s.rstTs < 0 || s.lastDataTs < 0) return;
        // A FIN first: the close found nothing unread, unless the server's socket went on taking
        // bytes in after it (receivedAfterFin).
        const finFirst = s.finTs >= 0 && s.finTs <= s.rstTs;
        // Closed whole (not only its sending side), the socket answers the bytes that come after
        // it with a RST: nothing sat unread at its close, but an upload it answered early and did
        // not drain was cut all the same (a 413 and a FIN, the rest of the body reset: the client
        // got EPIPE, and may lose the 413). Only where the client's bytes came after the FIN.
        // A RST behind the FIN with no client byte after it answered nothing: the socket was only
        // half closed (Node's early 413: end() sends FIN with a zero window, destroy() right after
        // finds the upload unread), and its close() with bytes unread sent it.
        const closedWhole = finFirst && !receivedAfterFin(s) && c.lastDataTs > s.finTs;
        if (c.rstTs >= 0 && c.rstTs <= s.rstTs) return; // the client reset first; the server only answered it
        const found = findUnread(conn) ?? (finFirst ? null : findDiscarded(conn));
        if (found === null) return;
        const discarded = unreadDiscarded(found);
        const { unread, answered, unreadExchange } = found;
        if (closedWhole && unread === 'pipelined-requests') return;
        // A 408 to a request still arriving is the server's timer giving up on a slow client (a
        // stalled upload, a slowloris head): slow-client-timeout's finding on the same connection.
        // The bytes the client sent on after it drew the RST as part of that story, not a second one.
        if ((unread === 'request-head-incomplete' || unread === 'request-body-incomplete') && exactStatus(answered) === 408) return;
        // An error answered at a quiet moment, long after the head, to an upload still flowing at its
        // client's pace is a read timer's (Go's ReadTimeout: the handler's read failed, it answered
        // 400): slow-client-timeout's finding. The RST is the unread rest of that upload, and a
        // lingering close would not have saved it (bodyReadTimerAnswer).
        if (unread === 'request-body-incomplete' || unread === 'response-before-request-end') {
          if (bodyReadTimerAnswer(conn) !== null) return;
        }
        if (finFirst && resetAnswersStaleRequest(conn, found)) return;
        const responseComplete = answered.responseEnd !== null && answered.state !== 'response-incomplete';
        ctx.report({
          flowId: conn.id,
          client: conn.clientName,
          server: conn.serverName,
          ts: s.rstTs,
          message: closedWhole ? (unread === 'request-head-incomplete' ? 'resetAfterCloseHead' : 'resetAfterClose') : finFirst ? 'resetAfterFin' : discarded ? 'discarded' : 'reset',
          data: {
            server: conn.serverName,
            status: statusText(answered) ?? 'a response',
            when: ` ${UNREAD_WORDS[unread]}`,
            windowBefore: String(s.window),
            windowAtReset: String(s.rstWindow),
          },
          evidence: {
            resetBy: 'server',
            unread,
            request: requestLine(answered),
            status: answered.status,
            ...statusClassEvidence(answered),
            responseComplete,
            /** The response reached the client's kernel before the RST (ACKed); whether the application read it is unknown. */
            responseAcked: peerAckedAll(s, c),
            rstAfterResponse: ms(s.rstTs - (answered.responseEnd ?? answered.responseStart ?? s.rstTs)),
            requestComplete: unread === 'request-body-incomplete' || unread === 'request-head-incomplete' ? false : answered.requestEnd !== null,
            requestBodyReceived: unread === 'pipelined-requests' ? null : answered.requestBodyBytes,
            unansweredRequests: found.unanswered,
            clientBytesSent: c.payloadBytes,
            // A zero window in the server's last advertisement: its receive buffer was full of unread bytes.
            serverWindowAtClose: s.window,
            clientStillSending: c.lastDataTs > (answered.responseStart ?? Infinity),
            // The server sent FIN before its RST (a half close), the client's upload going on after it.
            finBeforeReset: finFirst,
            // Its socket was closed whole at that FIN: the RST answered the bytes that came after it.
            closedBeforeBody: closedWhole,
            // Only where the window told it: what the server last advertised, and its RST (bytes).
            ...(discarded ? { windowBeforeReset: s.window, windowAtReset: s.rstWindow } : {}),
            // Only where seen: the server had answered 100 Continue before refusing (a size it learnt as the body came).
            ...(answered.interim.includes(100) ? { continuedFirst: true } : {}),
          },
          frames: [
            answered.responseFrame ?? 0,
            answered.responseEndFrame ?? 0,
            unreadExchange.requestFrame ?? 0,
            ...(finFirst ? [s.finFrame] : []),
            s.rstFrame,
          ],
        });
      },

      onFinish(): void {
        const byServer = new Map<
          string,
          { ids: string[]; statuses: Map<string, number>; kinds: Set<string>; halfClosed: number; closedWhole: number; longestAfter: number; continued: Map<string, number> }
        >();
        for (const f of ctx.findings('rst-on-close')) {
          const agg = byServer.get(f.server) ?? {
            ids: [], statuses: new Map<string, number>(), kinds: new Set<string>(), halfClosed: 0, closedWhole: 0, longestAfter: 0, continued: new Map<string, number>(),
          };
          agg.ids.push(f.id);
          const after = f.evidence.rstAfterResponse;
          if (typeof after === 'number' && after > agg.longestAfter) agg.longestAfter = after;
          if (f.evidence.closedBeforeBody === true) agg.closedWhole++;
          else if (f.evidence.finBeforeReset === true) agg.halfClosed++;
          const status = f.evidence.status === null ? 'no status' : String(f.evidence.statusClass ?? f.evidence.status);
          agg.statuses.set(status, (agg.statuses.get(status) ?? 0) + 1);
          if (f.evidence.continuedFirst === true) agg.continued.set(status, (agg.continued.get(status) ?? 0) + 1);
          agg.kinds.add(String(f.evidence.unread));
          byServer.set(f.server, agg);
        }
        for (const [server, agg] of byServer) {
          const n = agg.ids.length;
          const statuses = [...agg.statuses].map(([st, k]) => `${k}× ${st}`).join(', ');
          const pipelined = agg.kinds.has('pipelined-requests');
          const heads = agg.kinds.has('request-head-incomplete');
          // Only heads cut short: requests (a head's rest), not uploads (a body's rest).
          const headsOnly = heads && agg.kinds.size === 1;
          const early = heads || agg.kinds.has('request-body-incomplete') || agg.kinds.has('response-before-request-end');
          const noun = headsOnly ? 'request' : 'upload';
          const rest = headsOnly ? 'the rest of the request head' : 'the rest of the body';
          const discarded = agg.kinds.has('discarded-at-close');
          const whole = agg.closedWhole;
          const unreadAtClose = n - whole;
          ctx.diagnose({
            server,
            count: n,
            inferred: {},
            explanation:
              (whole > 0
                ? `${server} answered ${whole === n ? `${n} ${noun}${n === 1 ? '' : 's'}` : `${whole} ${noun}${whole === 1 ? '' : 's'}`} early${whole === n ? ` (${statuses})` : ''} and closed the connection (FIN) without reading ${rest}: ` +
                  'what the client went on sending met a closed socket, and its kernel answered it with RST. The client gets EPIPE or "connection reset by peer" while it still sends, often before it reads the response' +
                  (unreadAtClose > 0 ? `. On ${unreadAtClose} other connection${unreadAtClose === 1 ? '' : 's'} it ` : '')
                : `${server} `) +
              (unreadAtClose > 0
                ? `closed ${whole > 0 ? '' : `${n} connection${n === 1 ? '' : 's'} `}${whenAfterResponse(agg.longestAfter)} (${whole > 0 ? `all ${n}: ` : ''}${statuses}) while request bytes ` +
                  'were still unread in its receive buffer, so its kernel sent RST instead of FIN'
                : '') +
              (agg.halfClosed > 0
                ? ` (${agg.halfClosed === n ? '' : `on ${agg.halfClosed} of them `}after a FIN: it shut down its sending side, then closed without reading what the client still sent, ` +
                  'as Go\'s net/http does half a second after an early answer to an upload, and Node\'s http server at once)'
                : '') +
              (early && unreadAtClose > 0 ? (headsOnly ? ' — it answered requests before their head had all arrived' : ' — it answered uploads before reading their whole body') : '') +
              (discarded
                ? `${early ? ', and' : ' —'} it answered requests that had arrived whole without reading all of them: its RST advertised a wider receive window ` +
                  'than its last segment, the room its close freed by discarding them (a socket reset on purpose with SO_LINGER 0 and nothing unread keeps its window)'
                : '') +
              (pipelined ? (early || discarded ? ', and' : ' —') + ' it ended connections with pipelined requests already received' : '') +
              ". A RST makes the client's kernel drop data the client has not read yet, so the client may see " +
              '"connection reset by peer" instead of the response that was sent.',
            remedy:
              'On the server, do a lingering close: after sending the response, shutdown(SHUT_WR) and keep reading (and ' +
              'discarding) the rest of the request for a bounded time before close() — as nginx lingering_close and Apache ' +
              'do — or read the remaining body when it is small. ' +
              lingeringAdvice(software.softwareOf(server)) +
              (agg.halfClosed > 0
                ? 'A Go net/http handler can read the body, or a bounded part of it (io.Copy(io.Discard, io.LimitReader(r.Body, n))), before it answers: ' +
                  'the server\'s own close waits only half a second without reading. '
                : '') +
              'Clients sending large uploads with a Content-Length can send `Expect: 100-continue` so that the server can refuse ' +
              'before the body is sent' +
              continuedNote(server, agg.continued) +
              (pipelined ? '; clients should not pipeline requests behind one that may close the connection' : '') +
              '.',
            anomalyIds: agg.ids,
          });
        }
      },
    };
  },
};
