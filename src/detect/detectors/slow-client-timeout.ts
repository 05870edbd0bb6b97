import type { AnalyzedConnection } from '../analyzed-connection';
import type { DetectContext, DetectorDefinition } from '../detector';
import { at, ms, requestLine } from '../facts';
import type { Finding } from '../finding';
import { inferTimeout } from '../infer-timeout';
import { APACHE, FRONT_PROXY_REQUEST_SETTINGS, LIGHTTPD, NGINX, NO_SERVER_HEADER, passedOnNote, type ServerIdentity } from '../known-timeouts';
import { firstCloseOf } from '../proxy-legs';
import { idleNoticeCrossed } from './request-after-close-notice';
import { answeredUnnamed, SERVER_SOFTWARE, ServerSoftware } from '../server-software';
import { exactStatus, type HttpExchange } from '../../http/exchange';

/**
 * A client that had sent nothing for this long (seconds) when the server closed on its unfinished
 * request had stalled: a server that closes while the bytes still flow is failing the upload for
 * another reason (a crash, a refusal), not timing out a slow client.
 */
const MIN_CLIENT_SILENCE = 0.5;

/**
 * A request head still unfinished this long (seconds) after its first byte, when the server closed
 * on it, was being trickled: a client writes its head at once, so it arrives within a round trip
 * or two. A slowloris, or a client stalled inside its head, keeps sending a few bytes now and then,
 * so no silence tells it apart; the head's own span does. The server's clock for a head (nginx's
 * `client_header_timeout` from the accept, Node's `headersTimeout`) runs whether bytes come or not.
 */
const MIN_HEAD_SPAN = 0.5;

/**
 * A head this short (bytes) is never rejected for its length: a server that answers 400 to it,
 * unfinished, had stopped waiting for the rest (Go's net/http parses what arrived by its
 * ReadHeaderTimeout and rejects it: `GET /x HT`).
 */
const SHORT_HEAD_BYTES = 4096;

/**
 * A body still arriving this long (seconds) after its request began, when the server closed on it
 * unanswered and its client sent on after the close, was cut by the server's timer or limit (Go's
 * ReadTimeout, Node's requestTimeout, a whole-request timer): no pause came first, the client was
 * steadily sending. A close sooner than this after the request crossed it (an idle close racing a
 * reused connection's upload: keepalive-race's), no timer on the request.
 */
const MIN_CUT_SPAN = 0.5;

/**
 * When the client last sent data at or before `end` (capture time), or -1 when the capture's
 * record of it does not say: its last data segment, the one before it, or its last before the
 * server's first close (Endpoint.peerDataBeforeCloseTs). A client trickling a head or a body goes
 * on sending after the server gave up (it has not seen the close yet): its last data overall is
 * then no measure of the silence the server timed.
 */
function clientDataBefore(conn: AnalyzedConnection, end: number): number {
  const c = conn.client;
  if (c.lastDataTs >= 0 && c.lastDataTs <= end) return c.lastDataTs;
  if (c.prevDataTs >= 0 && c.prevDataTs <= end) return c.prevDataTs;
  const beforeClose = conn.server.peerDataBeforeCloseTs;
  return beforeClose >= 0 && beforeClose <= end ? beforeClose : -1;
}

/** The exchange before `ex` on its connection, while it is still among the recent ones; null otherwise. */
function previousExchange(conn: AnalyzedConnection, ex: HttpExchange): HttpExchange | null {
  const recent = conn.app?.recent ?? [];
  for (let i = recent.length - 1; i >= 0; i--) if (recent[i].index === ex.index - 1) return recent[i];
  return null;
}

/** How the server ended the request it gave up on, when it answered: what its answer tells of its software. */
interface TimeoutAnswer {
  status: number;
  reason: string | null;
  /** Its connection's answers named no software (answeredUnnamed): no Server header on this one. */
  unnamed: boolean;
}

/**
 * The setting at work at `server`: by its software (settingFor), unless its timeout answers carry
 * no Server header while its other responses name software (ServerIdentity.passedOn). Those answers
 * were written by something else than the software the header names: a proxy in front that passes
 * its backend's header on (HAProxy's own 408 has none). Its timer first, the backend's as the other reading.
 */
function settingAt(identity: ServerIdentity | null, software: string | null, answers: readonly TimeoutAnswer[]): string {
  if (identity === null || identity.passedOn !== true || answers.length === 0 || !answers.every((a) => a.unnamed)) return settingFor(software, answers);
  const byAnswer = settingFor(NO_SERVER_HEADER, answers);
  const front = byAnswer === settingFor(null, answers) ? FRONT_PROXY_REQUEST_SETTINGS : byAnswer;
  return `the timer of a proxy in front, ${front}: ${passedOnNote(identity)}. Were they the backend's own: ${settingFor(software, answers)}`;
}

/** The server's setting, by the software its answers name (or, without a Server header, by how it answered), for the diagnosis. */
function settingFor(software: string | null, answers: readonly TimeoutAnswer[]): string {
  if (software !== null && NGINX.test(software)) {
    return 'nginx `client_body_timeout` (60 s by default, between two reads of the body) and `client_header_timeout` (60 s, from the accept, for the whole head); nginx closes without a byte and logs 408';
  }
  if (software !== null && APACHE.test(software)) {
    return 'Apache mod_reqtimeout `RequestReadTimeout` (by default header=20-40,MinRate=500 body=20,MinRate=500; it notices a deadline only when a read returns, so a trickling client is closed on as its next bytes arrive)';
  }
  if (software !== null && LIGHTTPD.test(software)) {
    return 'lighttpd `server.max-read-idle` (60 s by default, between two reads: a client that trickles a few bytes now and then is never timed out)';
  }
  if (software === NO_SERVER_HEADER && answers.length > 0) {
    // Servers that send no Server header, told apart by the answer they give at the timeout.
    if (answers.every((a) => a.status === 408 && a.reason === 'Request Time-out')) {
      // HAProxy 2.6's own 408 (slow-clients-more-servers).
      return 'HAProxy `timeout http-request` (for the whole head from the accept, and the body too with `option http-buffer-request`; when unset, `timeout client`)';
    }
    if (answers.every((a) => a.status === 408 && a.reason === 'Request Timeout')) {
      // Node.js 20 answers exactly `408 Request Timeout` with `Connection: close` (slow-clients-server-timeouts).
      return (
        'Node.js http.Server `requestTimeout` (300 s by default, from the request\'s first byte) and `headersTimeout` (60 s, for the head), ' +
        'both checked every `connectionsCheckingInterval` (30 s by default, so up to that much late); other servers: their request read timeout'
      );
    }
    if (answers.every((a) => a.status === 400)) {
      // Go's net/http parses a head cut by its deadline and rejects it (slow-clients-more-servers).
      return 'Go net/http `Server.ReadHeaderTimeout` (unset by default: then `ReadTimeout`, itself unset: no limit), which ends the read of a head still arriving, answered 400';
    }
  }
  return (
    'its request read timeout (nginx `client_body_timeout` / `client_header_timeout`, Node.js `requestTimeout` / `headersTimeout`, Apache `RequestReadTimeout`, ' +
    'HAProxy `timeout http-request`, Go net/http `ReadHeaderTimeout` / `ReadTimeout`, which closes without a byte, lighttpd `server.max-read-idle`)'
  );
}

/** How a server's timeouts ended the requests, for the diagnosis: its answers, or its closes. */
function answerText(answers: readonly TimeoutAnswer[], n: number): string {
  if (answers.length === 0) return 'closed without a response';
  const said = [...new Set(answers.map((a) => `${a.status}${a.reason !== null ? ` ${a.reason}` : ''}`))].join(', ');
  return answers.length === n ? `answered ${said}` : `answered ${said} to ${answers.length}, closed on the others without a response`;
}

/** The settings that cut a body still arriving: timers on the whole request, read limits. */
const CUT_SETTING =
  'a timer on the whole request, not on a silence (Go net/http `Server.ReadTimeout`, counted from the accept or the end of the previous response, ' +
  'which closes without a byte and logs `i/o timeout`; Node.js `requestTimeout`; a WSGI/ASGI worker timeout), or a limit on the body (`http.MaxBytesReader`)';

/** The sentence on the requests cut while their bodies still arrived (see MIN_CUT_SPAN). */
function cutText(cut: readonly Stalled[], n: number): string {
  const spans = cut.map((i) => i.sinceRequest);
  const lo = ms(Math.min(...spans));
  const hi = ms(Math.max(...spans));
  return (
    `${cut.length === n ? (n === 1 ? 'It was' : 'They were') : `${cut.length} of them ${cut.length === 1 ? 'was' : 'were'}`} cut while the body was still arriving ` +
    `(the client sent on after the close and was reset: EPIPE or ECONNRESET on its write), ${lo === hi ? `${lo} s` : `${lo}-${hi} s`} after the request began: ` +
    'no pause came first, so a timer on the whole request of about that length (started at or before the request\'s first byte) or a limit ended it. '
  );
}

interface Stalled {
  finding: Finding;
  /** The server's answer at the timeout, or null (it closed without one). */
  answer: TimeoutAnswer | null;
  /** The request's head never completed: the server timed out a head, not a body. */
  head: boolean;
  sinceRequest: number;
  /** Null when the capture does not say when the client last sent before the timeout (a head only). */
  sinceClientData: number | null;
  /** Since the handshake completed (the server's accept): the clock of a first request's head. */
  sinceAccept: number | null;
  /** Its body was still arriving when the server closed (the client sent on after it): no silence was timed. */
  cutSending: boolean;
}

/** The clock of the server's timer that its waits agree on, among `clocks`, or null (see onFinish). */
function agreedClock(
  clocks: readonly { waits: number[]; label: string }[],
  options: { fraction: number; absolute: number; minSamples: number },
): { value: NonNullable<ReturnType<typeof inferTimeout>>; clock: string } | null {
  let best: { value: NonNullable<ReturnType<typeof inferTimeout>>; clock: string } | null = null;
  for (const c of clocks) {
    const value = inferTimeout(c.waits, options);
    if (value === null) continue;
    if (best === null || value.samples > best.value.samples || (value.samples === best.value.samples && value.spread < best.value.spread)) {
      best = { value, clock: c.label };
    }
  }
  return best;
}

/**
 * slow-client-timeout: the server gave up on a request the client was still sending, too slowly:
 * it answered 408 Request Timeout, or closed (FIN) without a byte after the client had gone silent
 * in the middle of its body, or while its head was still trickling in (a request line that never
 * completed is a request here too: HttpSession.takeUnfinishedRequestLine), or on a body still flowing
 * (MIN_CUT_SPAN: a timer on the whole request, Go's ReadTimeout). The client is the slow side (a
 * stalled upload, a slow link, a slowloris), not the server.
 */
export const slowClientTimeout: DetectorDefinition = {
  id: 'slow-client-timeout',
  meta: {
    description:
      'The server gave up on a request the client was still sending: it answered 408 Request Timeout, or closed without a byte ' +
      'after the client had gone silent mid-body or while its head was still trickling in (a request line or header lines spread over ' +
      'half a second or more), or on an upload still flowing (the client sending on after the close) half a second or more after it began: ' +
      'a timer on the whole request or a limit. The client was too slow (a stalled upload, a slow link, a slowloris), not the server.',
    severity: 'warning',
    messages: {
      timedOut: '{request} timed out by the server{how} {sinceRequest} s after it began{sinceData}',
      cutSending:
        '{request} cut by the server{how} {sinceRequest} s after it began{sinceAccept} while its body was still arriving ' +
        '({received} of {length} body bytes sent; the client\'s last byte {sinceData} s before the close, and it sent on after it)',
    },
  },
  create(ctx: DetectContext) {
    const software = ctx.shared(SERVER_SOFTWARE, () => new ServerSoftware());
    const byServer = new Map<string, Stalled[]>();

    /** The exchange the server timed out: a 408, or a request still arriving that got no response. */
    const timedOut = (conn: AnalyzedConnection): HttpExchange | null => {
      const recent = conn.app?.recent ?? [];
      for (let i = recent.length - 1; i >= 0; i--) {
        const ex = recent[i];
        if (ex.uncertain || ex.requestStart === null || ex.requestCut === true) continue;
        // A status line the snaplen cut (`HTTP/1.1 40`, stored as 400) is no 408 or 400 (exactStatus).
        const status = exactStatus(ex);
        if (status === 408 || status === 400 || (ex.state === 'request-incomplete' && ex.responseStart === null)) return ex;
      }
      return null;
    };

    return {
      onConnectionEnd(conn: AnalyzedConnection): void {
        software.note(conn);
        const ex = timedOut(conn);
        if (ex === null || ex.requestStart === null) return;
        // A 408 that was the idle timer's close notice crossing a complete request on a kept-alive
        // connection is no slow client: request-after-close-notice reports the race.
        const status = exactStatus(ex);
        if (status === 408 && idleNoticeCrossed(ex, previousExchange(conn, ex))) return;
        const close = firstCloseOf(conn, ex.requestStart);
        if (close === null || close.byClient) return; // the client gave up, or nothing ended it
        const head = ex.requestHeadUnfinished === true;
        const answered408 = status === 408 && ex.responseStart !== null;
        // A 400 is a timeout's only on a short head still arriving (see SHORT_HEAD_BYTES; MIN_HEAD_SPAN below).
        const answered400 = status === 400 && ex.responseStart !== null;
        if (answered400 && (!head || ex.index !== 1 || conn.client.payloadBytes >= SHORT_HEAD_BYTES)) return;
        const answered = answered408 || answered400;
        // A reset of a request still arriving is a dying or refusing server's (reset-before-response).
        if (!answered && close.rst) return;
        const end = answered && ex.responseStart !== null ? ex.responseStart : close.ts;
        const sinceRequest = end - ex.requestStart;
        // The client's last byte before the server gave up (a trickling client sends on after it).
        const lastData = clientDataBefore(conn, end);
        // A body still arriving (the client sent on after the server's FIN, not having seen it) that
        // the server closed on well after it began: a timer on the whole request or a limit cut it.
        let cutSending = false;
        if (head) {
          // A head trickled: no silence need come before the close; the head's span says it was slow.
          if (!answered408 && sinceRequest < MIN_HEAD_SPAN) return;
        } else {
          // Sending when the server gave up (or unknown): not a silence it timed. A client that
          // sends on after a silence the server timed has not seen the close yet.
          if (lastData < 0) return;
          if (!answered408 && lastData > end - MIN_CLIENT_SILENCE) {
            if (answered || conn.clientDataAfterServerFin === null || sinceRequest < MIN_CUT_SPAN) return;
            cutSending = true;
          }
        }
        const sinceData = lastData >= 0 ? end - lastData : null;
        const accept = conn.handshakeAckTs >= 0 ? conn.handshakeAckTs : null;
        const finding = ctx.report({
          flowId: conn.id,
          client: conn.clientName,
          server: conn.serverName,
          ts: end,
          message: cutSending ? 'cutSending' : 'timedOut',
          data: cutSending
            ? {
                request: requestLine(ex) ?? 'a request',
                how: ' (a FIN without a response)',
                sinceRequest: ms(sinceRequest),
                // Go's ReadTimeout counts from the accept on a first request: the timer lies between the two.
                sinceAccept: accept !== null && ex.index === 1 && end - accept - sinceRequest >= 0.001 ? ` (${ms(end - accept)} s after the accept)` : '',
                received: ex.requestBodyBytes,
                length: ex.requestLength ?? 'unknown',
                sinceData: ms(sinceData ?? 0),
              }
            : {
                request: requestLine(ex) ?? 'a request',
                how: (answered ? ` (${`${ex.status ?? ''} ${ex.reason ?? ''}`.trimEnd()}` : ` (a ${close.rst ? 'RST' : 'FIN'} without a response`) + (head ? ', its head unfinished)' : ')'),
                sinceRequest: ms(sinceRequest),
                sinceData: sinceData === null ? '' : `, ${ms(sinceData)} s after the client last sent a byte of it`,
              },
          evidence: {
            method: ex.method,
            uri: ex.uri,
            requestLine: requestLine(ex),
            status: ex.status,
            requestComplete: ex.state !== 'request-incomplete',
            headComplete: !head,
            requestBodyBytes: ex.requestBodyBytes,
            requestStart: at(ex.requestStart),
            timedOutAt: at(end),
            sinceRequestStart: ms(sinceRequest),
            sinceClientData: sinceData === null ? null : ms(sinceData),
            closedWith: close.rst ? 'RST' : 'FIN',
            // The client was still sending when the server closed (it sent on after the FIN): a
            // timer on the whole request or a limit, not a silence, ended it.
            ...(cutSending ? { clientStillSending: true, requestLength: ex.requestLength ?? null, sinceAccept: accept !== null && ex.index === 1 ? ms(end - accept) : null } : {}),
          },
          frames: [
            ex.requestFrame ?? 0,
            ...(answered ? [ex.responseFrame ?? 0] : []),
            close.frame,
            // The client's bytes after the close, and the reset they drew.
            ...(cutSending && conn.clientDataAfterServerFin !== null ? [conn.clientDataAfterServerFin.frame] : []),
            ...(cutSending && conn.server.rstTs >= 0 ? [conn.server.rstFrame] : []),
          ],
        });
        let list = byServer.get(conn.serverName);
        if (list === undefined) byServer.set(conn.serverName, (list = []));
        if (list.length < 10_000) list.push({ finding, answer: answered ? { status: ex.status ?? 0, reason: ex.reason, unnamed: answeredUnnamed(conn) } : null, head, sinceRequest, sinceClientData: sinceData, sinceAccept: accept !== null && ex.index === 1 ? end - accept : null, cutSending });
      },

      onFinish(): void {
        const options = { fraction: ctx.options.spreadFraction, absolute: ctx.options.spreadAbsolute, minSamples: 2 };
        for (const [server, items] of byServer) {
          const n = items.length;
          const heads = items.filter((i) => i.head);
          const bodies = items.filter((i) => !i.head);
          // Which clock the server kept, the one its waits agree on. For a body: from the request's
          // start (Node's requestTimeout) or from the client's last byte (nginx's client_body_timeout).
          // For a head: from the accept (nginx's client_header_timeout, Node's headersTimeout on a
          // first request) or from the head's first byte.
          const body = agreedClock(
            [
              { waits: bodies.map((i) => i.sinceRequest), label: 'after each request began' },
              // A body cut while still arriving timed no silence: its last byte is no clock.
              { waits: bodies.flatMap((i) => (i.sinceClientData !== null && !i.cutSending ? [i.sinceClientData] : [])), label: 'after the client last sent a byte of it' },
            ],
            options,
          );
          const headClock = agreedClock(
            [
              { waits: heads.flatMap((i) => (i.sinceAccept !== null ? [i.sinceAccept] : [])), label: 'after the connection was accepted' },
              { waits: heads.map((i) => i.sinceRequest), label: 'after each head began' },
            ],
            options,
          );
          const inferred: Record<string, NonNullable<ReturnType<typeof inferTimeout>>> = {};
          if (body !== null) inferred.serverClientTimeout = body.value;
          if (headClock !== null) inferred.serverHeaderTimeout = headClock.value;
          const answers = items.flatMap((i) => (i.answer !== null ? [i.answer] : []));
          const setting = settingAt(software.of(server), software.softwareOf(server), answers);
          const what =
            heads.length === 0
              ? `${n} request${n === 1 ? '' : 's'}`
              : bodies.length === 0
                ? `${n} request head${n === 1 ? '' : 's'}`
                : `${n} requests (${heads.length} still in ${heads.length === 1 ? 'its head' : 'their heads'})`;
          const timings = [
            ...(body !== null ? [`${ms(body.value.value)} s ${body.clock}`] : []),
            ...(headClock !== null ? [`${heads.length === n ? '' : 'heads '}${ms(headClock.value.value)} s ${headClock.clock}`] : []),
          ];
          const cut = items.filter((i) => i.cutSending);
          ctx.diagnose({
            server,
            count: n,
            inferred,
            explanation:
              `${server} gave up on ${what} ${n === 1 ? 'its client was' : 'their clients were'} still sending ` +
              `(${answerText(answers, n)}${timings.length > 0 ? `, ${timings.join('; ')}` : ''}): ` +
              (cut.length === n
                ? 'the upload took longer than the server allows a whole request, not a client that stalled. '
                : `the client was too slow — an upload that stalled, a slow link, or a slowloris holding connections — not the server. `) +
              (cut.length > 0 ? cutText(cut, n) : '') +
              `The setting at work is ${cut.length === n ? CUT_SETTING : setting}.`,
            remedy:
              (cut.length > 0
                ? 'An upload cut while it still flowed outlasted a timer on the whole request (or a size limit): raise that timer to cover the largest ' +
                  'upload at the slowest legitimate rate, or time the body per read instead (Go: keep `ReadHeaderTimeout` and extend the upload\'s ' +
                  'deadline in its handler with `http.ResponseController.SetReadDeadline`, Go 1.20+; nginx `client_body_timeout` is per read). '
                : '') +
              (cut.length === n
                ? 'Keep a timer that frees the server of connections that never finish: a per-read one does that without cutting uploads that still flow.'
                : 'Find why the client stopped sending in the middle of its request (its own I/O: a stalled source of the upload, a full buffer, ' +
                  'a paused process) or whether it is a slowloris; raise the server\'s timeout only for clients that are legitimately that slow, ' +
                  'and keep it for the rest: it is what frees the server of connections that never finish.'),
            anomalyIds: items.map((i) => i.finding.id),
          });
        }
      },
    };
  },
};
