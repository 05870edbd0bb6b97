import type { AnalyzedConnection } from '../analyzed-connection';
import type { DetectContext, DetectorDefinition } from '../detector';
import { at, hostOf, ms, requestLine } from '../facts';
import type { Finding } from '../finding';
import { inferTimeout, inferTimeoutRange } from '../infer-timeout';
import { APACHE, FRONT_PROXY_REQUEST_SETTINGS, LIGHTTPD, NGINX, NO_SERVER_HEADER, passedOnNote, PUMA, PYTHON_HTTP_SERVER, type ServerIdentity, WEBRICK } from '../known-timeouts';
import { firstCloseOf, sharedProxyLegs } from '../proxy-legs';
import type { RememberedRequest } from '../request-index';
import { idleNoticeCrossed } from './request-after-close-notice';
import { answeredUnnamed, SERVER_SOFTWARE, ServerSoftware } from '../server-software';
import { exactStatus, type HttpExchange } from '../../http/exchange';
import { bodyReadTimerAnswer, clientDataBefore, MIN_CUT_SPAN, type BodyTimerAnswer } from '../body-read-timer';

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
 * A client silent this long (seconds) inside its own unfinished head before it closed was waiting
 * for an answer to a request it never finished (a head sent without its closing empty line, or a
 * client stalled in it) and gave up on it by its own timeout; sooner, it abandoned the head itself
 * (slow-client-timeout-go-header's near miss closes 0.5 s after). The same floor as
 * unanswered-request's for a wait worth noting (DELAYED_NOTED_AFTER).
 */
const ABANDONED_HEAD_WAIT = 3;

/**
 * A head this short (bytes) is never rejected for its length: a server that answers 400 to it,
 * unfinished, had stopped waiting for the rest (Go's net/http parses what arrived by its
 * ReadHeaderTimeout and rejects it: `GET /x HT`).
 */
const SHORT_HEAD_BYTES = 4096;

/**
 * Whether the server's FIN came while the request's head was still arriving, its client sending
 * the rest only after it (not having read the close yet): the head completed in the capture, but
 * not before the server gave up on it. Go's net/http at its ReadHeaderTimeout closes without a byte
 * (no 408 before Go 1.22's), and a client that stalled mid-head writes the rest into the closed
 * socket (blind round 15, S6). The request ended at or after the client's first segment after the
 * FIN, and that segment held more than the whole body: some of it was head.
 */
function headFinishedAfterFin(conn: AnalyzedConnection, ex: HttpExchange): boolean {
  const after = conn.clientDataAfterServerFin;
  const finTs = conn.server.finTs;
  if (after === null || finTs < 0 || ex.requestStart === null || ex.requestEnd === null) return false;
  return ex.requestStart < finTs && ex.requestEnd >= after.ts && after.length > ex.requestBodyBytes;
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
function settingAt(identity: ServerIdentity | null, software: string | null, answers: readonly TimeoutAnswer[], silentHeads: boolean, part: RequestPart = 'both', insideLine = false): string {
  if (identity === null || identity.passedOn !== true || answers.length === 0 || !answers.every((a) => a.unnamed)) return settingFor(software, answers, silentHeads, part, insideLine);
  const byAnswer = settingFor(NO_SERVER_HEADER, answers, false, part);
  const front = byAnswer === settingFor(null, answers, false, part) ? FRONT_PROXY_REQUEST_SETTINGS : byAnswer;
  return `the timer of a proxy in front, ${front}: ${passedOnNote(identity)}. Were they the backend's own: ${settingFor(software, answers, false, part)}`;
}

/**
 * Which part of their requests the clients were still sending when the server gave up: every head
 * unfinished, every head complete (a body still coming), or some of each. A server keeps a timer
 * for each (nginx `client_header_timeout` and `client_body_timeout`): the one at work is named,
 * not both (blind round 15, longlived s09: a body stalled 8 s, nginx's client_body_timeout 5s,
 * told as "client_body_timeout / client_header_timeout").
 */
type RequestPart = 'head' | 'body' | 'both';

/** A Server header of Go's (Go's net/http sends none of its own; a Go program may set one). */
const GO_SERVER = /^(go|golang)\b/i;

/**
 * Puma's timer on a request still arriving (Puma 5.6 server.rb reactor_wakeup, client.rb timeout!):
 * `first_data_timeout`, set again each time bytes are read, so counted from the last of them; a
 * head still unfinished is closed on without a byte, a body answered 408 (that answer alone names
 * Puma: `Server: Puma`). Blind round 17, appservers s15: set to 2, a half-sent head closed 2.001 s
 * after its bytes.
 */
const PUMA_SETTING = 'Puma `first_data_timeout` (30 s by default, counted from the last bytes read: it closes on a head still unfinished without a byte, and answers a body still owed 408)';

/**
 * The header timers that close on a head without a byte, for a server that names none (or Go),
 * by where the head stopped. Go's net/http at ReadHeaderTimeout hands what it read to its parser:
 * a head stopped inside a line is parsed as it stands and answered 400 (`GET ` in blind round 17,
 * appservers s03), one stopped at a line's end meets the timeout with nothing read and is closed
 * on without a byte (slow-client-timeout-go-header). So a silent close of a head stopped inside its
 * request line is not Go's; Puma's `first_data_timeout` closes silently either way.
 */
function silentHeadSetting(insideLine: boolean, namedGo: boolean): string {
  const others =
    'other servers: their header read timeout (Node.js `headersTimeout`, which answers 408, nginx `client_header_timeout`, which names itself, ' +
    'HAProxy `timeout http-request`, Apache `RequestReadTimeout`)';
  const go =
    'Go net/http `Server.ReadHeaderTimeout` (when unset, `ReadTimeout`; unset both: no limit; on a connection\'s first request it counts from the accept, ' +
    'on a later one from the request\'s first byte, the wait for that byte being `IdleTimeout`\'s)';
  return insideLine
    ? `a header timer that closes without a byte: ${PUMA_SETTING}; not Go's \`ReadHeaderTimeout\`, which answers 400 to a head stopped inside a line as this one did; ${others}`
    : namedGo
      ? `${go}, which closes without a byte on a head stopped at a line's end (a head stopped inside a line it answers 400)`
      : `a header timer that closes without a byte on a head stopped at a line's end (neither sends a Server header): ${go}, which answers 400 instead where the head ` +
        `stopped inside a line, or ${PUMA_SETTING}; ${others}`;
}

/**
 * The server's setting, by the software its answers name (or, without a Server header, by how it
 * answered), for the diagnosis. `silentHeads`: every request it gave up on was a head, closed on
 * without a byte.
 */
function settingFor(software: string | null, answers: readonly TimeoutAnswer[], silentHeads = false, part: RequestPart = 'both', insideLine = false): string {
  // Without a Server header (or naming Go), a silent close of a head is Go's ReadHeaderTimeout's (where
  // the head stopped at a line's end) or Puma's first_data_timeout's: nginx names itself, Node.js and
  // HAProxy answer 408 (blind round 15, S6; blind round 17, appservers s15).
  if (silentHeads && answers.length === 0 && software !== null && (software === NO_SERVER_HEADER || GO_SERVER.test(software))) {
    return silentHeadSetting(insideLine, GO_SERVER.test(software));
  }
  if (software !== null && WEBRICK.test(software)) {
    // webrick/httprequest.rb: every read of the head (a line) and of the body runs under
    // Timeout(:RequestTimeout) and answers 408 (blind round 17, appservers s11).
    return 'WEBrick `:RequestTimeout` (30 s by default), which bounds each read of the request, a line of its head or a part of its body, and answers 408 (the same setting closes idle keep-alive connections)';
  }
  if (software !== null && PUMA.test(software)) return PUMA_SETTING;
  if (software !== null && NGINX.test(software)) {
    // At its own client_body_timeout / client_header_timeout nginx closes without a byte (it only
    // logs 408): a 408 it sent came from its backend, passed on as it came (slow-client-timeout-proxy-upload-cut).
    if (answers.some((a) => a.status === 408)) {
      return (
        'not nginx\'s own: at its `client_body_timeout` / `client_header_timeout` nginx closes without a byte and only logs 408, so a 408 it sent ' +
        'was its backend\'s, passed on: nginx streamed the body to the backend (`proxy_request_buffering off`) and the backend\'s read timeout ' +
        '(Node.js `requestTimeout`, gunicorn/uvicorn timeouts, Go `ReadTimeout`) gave up on it first'
      );
    }
    const nginxTimers =
      part === 'body'
        ? 'nginx `client_body_timeout` (60 s by default, between two reads of the body)'
        : part === 'head'
          ? 'nginx `client_header_timeout` (60 s by default, from the accept, for the whole head)'
          : 'nginx `client_body_timeout` (60 s by default, between two reads of the body) and `client_header_timeout` (60 s, from the accept, for the whole head)';
    return `${nginxTimers}; nginx closes without a byte and logs 408`;
  }
  if (software !== null && APACHE.test(software)) {
    return 'Apache mod_reqtimeout `RequestReadTimeout` (by default header=20-40,MinRate=500 body=20,MinRate=500; it notices a deadline only when a read returns, so a trickling client is closed on as its next bytes arrive)';
  }
  if (software !== null && LIGHTTPD.test(software)) {
    return 'lighttpd `server.max-read-idle` (60 s by default, between two reads: a client that trickles a few bytes now and then is never timed out)';
  }
  if (software !== null && PYTHON_HTTP_SERVER.test(software)) {
    // socketserver's StreamRequestHandler.timeout is the socket's timeout for every read: the head's,
    // the body's (read by the handler) and the idle wait's alike (blind round 13, S12: timeout = 2).
    return 'Python http.server: the request handler\'s `timeout` class attribute (socketserver `StreamRequestHandler.timeout`, None by default), the socket timeout of every read, the head\'s and the body\'s';
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
      return (
        'Go net/http `Server.ReadHeaderTimeout` (unset by default: then `ReadTimeout`, itself unset: no limit), which ends the read of a head still arriving: ' +
        'a head stopped inside a line is parsed as it stands and answered 400 (one stopped at a line\'s end is closed on without a byte)'
      );
    }
  }
  if (part === 'body') {
    return (
      'its request body read timeout (nginx `client_body_timeout`, between two reads, Node.js `requestTimeout`, Apache `RequestReadTimeout` body=, ' +
      'HAProxy `timeout http-request` with `option http-buffer-request`, Go net/http `ReadTimeout`, which closes without a byte, lighttpd `server.max-read-idle`, ' +
      'Puma `first_data_timeout`, which answers 408)'
    );
  }
  if (part === 'head') {
    return (
      'its request header read timeout (nginx `client_header_timeout`, for the whole head from the accept, Node.js `headersTimeout`, Apache `RequestReadTimeout` header=, ' +
      'HAProxy `timeout http-request`, Go net/http `ReadHeaderTimeout` (or `ReadTimeout`), which closes without a byte where the head stopped at a line\'s end ' +
      'and answers 400 inside a line, lighttpd `server.max-read-idle`, Puma `first_data_timeout`, which closes without a byte)'
    );
  }
  return (
    'its request read timeout (nginx `client_body_timeout` / `client_header_timeout`, Node.js `requestTimeout` / `headersTimeout`, Apache `RequestReadTimeout`, ' +
    'HAProxy `timeout http-request`, Go net/http `ReadHeaderTimeout` / `ReadTimeout`, which closes without a byte (a head stopped inside a line: 400), ' +
    'lighttpd `server.max-read-idle`, Puma `first_data_timeout`)'
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
  'a timer on the whole request, not on a silence (Go net/http `Server.ReadTimeout`, counted from the accept on a connection\'s first request and ' +
  'from the first byte of each later one: the handler\'s read of the body fails with `i/o timeout`, and net/http closes without a byte, or the ' +
  'handler\'s own error answer goes out (a 400 from `http.Error`) where no `WriteTimeout` has passed; Node.js `requestTimeout`; a WSGI/ASGI worker ' +
  'timeout), or a limit on the body (`http.MaxBytesReader`)';

/**
 * CUT_SETTING where every cut was an error answered at a quiet moment (bodyReadTimerAnswer): no
 * byte just read prompted it, so no limit on the body either.
 */
const CUT_TIMER_SETTING =
  'a timer on reading the request, not on a silence (Go net/http `Server.ReadTimeout`, counted from the accept on a connection\'s first request ' +
  'and from the first byte of each later one: the handler\'s read of the body fails with `i/o timeout` and its error answer, a 400 from ' +
  '`http.Error`, goes out where no `WriteTimeout` has passed; Node.js `requestTimeout`; a WSGI/ASGI worker timeout)';

/** The sentence on the requests cut while their bodies still arrived (see MIN_CUT_SPAN). */
function cutText(cut: readonly Stalled[], n: number, agreed: boolean): string {
  const spans = cut.map((i) => i.sinceRequest);
  const lo = ms(Math.min(...spans));
  const hi = ms(Math.max(...spans));
  // Answered at a quiet moment (bodyReadTimerAnswer): no byte just read prompted it, so no limit either.
  const quiet = cut.every((i) => i.answer !== null);
  return (
    `${cut.length === n ? (n === 1 ? 'It was' : 'They were') : `${cut.length} of them ${cut.length === 1 ? 'was' : 'were'}`} cut while the body was still arriving ` +
    `(the client sent on after the ${quiet ? 'answer' : 'close'} and was reset: EPIPE or ECONNRESET on its write), ${lo === hi ? `${lo} s` : `${lo}-${hi} s`} after the request began: ` +
    (quiet
      ? 'no pause came first, and the answer came when no byte had just arrived, long after the head: not a refusal of what the server had read ' +
        '(a lingering close or `Expect: 100-continue` would not have saved it), but a timer on reading the request ran out'
      : 'no pause came first, so a timer on the whole request of about that length (started at or before the request\'s first byte) or a limit ended it') +
    (agreed || cut.length > 1
      ? '. '
      : ` (one sample: a timer of at most ${ms(Math.max(cut[0].sinceAccept ?? 0, cut[0].sinceRequest))} s, run out by then, and that value where it counts ` +
        'from the request\'s first byte, as Go\'s ReadTimeout does on a reused connection). ')
  );
}

/** What to change when a proxy streams request bodies to a backend whose read timeout ends its clients' stalled uploads. */
const STREAMING_PROXY_REMEDY =
  'Behind a proxy that streams request bodies, the backend\'s read timeout is what ends its clients\' stalled uploads, and the clients ' +
  'get the proxy\'s 502 (or the backend\'s 408) for it: make the backend\'s timeout longer than the proxy\'s own on its clients (nginx ' +
  '`client_body_timeout`, HAProxy `timeout client` / `timeout http-request`), so the proxy answers a stalled client 408 itself, or let the ' +
  'proxy buffer whole bodies before forwarding (nginx `proxy_request_buffering on`, HAProxy `option http-buffer-request`). ';

/** The sentence on bodies that stopped short a moment before the close (see StoppedShort), or ''. */
function stoppedText(stopped: readonly Stalled[], n: number): string {
  if (stopped.length === 0) return '';
  const gaps = stopped.map((i) => i.sinceClientData ?? 0);
  const lo = ms(Math.min(...gaps));
  const hi = ms(Math.max(...gaps));
  return (
    `${stopped.length === n ? (n === 1 ? 'Its body' : 'Their bodies') : `${stopped.length} of them`} stopped short only ${lo === hi ? `${lo} s` : `${lo}-${hi} s`} ` +
    'before the close, too short a silence for a timer on silence: a timer on the whole request (counted from its start or the accept) ran out ' +
    'after the body had stopped coming. '
  );
}

/** The sentence on bodies a proxy forwarded (relateLegs): the backend's timer fired, not the proxy's; or ''. */
function forwardedText(items: readonly Stalled[]): string {
  const forwarded = items.flatMap((i) => (i.forwardedFrom !== null ? [i.forwardedFrom] : []));
  if (forwarded.length === 0) return '';
  const list = [...new Set(forwarded.map((d) => d.server))];
  const proxies = list.length === 1 ? `the proxy ${list[0]}, which forwards` : `the proxies ${list.join(', ')}, which forward`;
  const answers = [...new Set(forwarded.map((d) => (d.status !== null ? String(d.status) : 'no answer')))].join(', ');
  return (
    ` ${forwarded.length === items.length ? (items.length === 1 ? 'It' : 'All') : forwarded.length} came through ${proxies} a body as it comes: the proxy's own client's upload had stopped, so it had nothing more to send, and this server's timer ` +
    'fired first, before any of the proxy\'s on its client (nginx `client_body_timeout`, 60 s by default between two reads; HAProxy ' +
    `\`timeout client\`): the proxy answered its client${forwarded.length === 1 ? '' : 's'} ${answers}.`
  );
}

/** The sentence on a proxy's answers that passed on its backend's timeout (relateLegs). */
function relayedText(relayed: readonly Stalled[]): string {
  const list = [...new Set(relayed.flatMap((i) => (i.relayedFrom !== null ? [i.relayedFrom.finding.server] : [])))];
  const backends = `${list.length === 1 ? 'backend' : 'backends'} ${list.join(', ')}`;
  const ids = relayed.flatMap((i) => (i.relayedFrom !== null ? [i.relayedFrom.finding.id] : []));
  return (
    `${relayed.length === 1 ? 'its answer' : `${relayed.length} of its answers`} came at once after the ${backends} had given up on the ` +
    `body the proxy forwarded (${ids.join(', ')}): the proxy streams request bodies (nginx \`proxy_request_buffering off\`, HAProxy without ` +
    '`option http-buffer-request`), the backend\'s read timeout fired first, and the proxy passed it on (a 502 for a backend that closed ' +
    'without an answer, the backend\'s own 408 as it came). Not the proxy\'s `client_body_timeout` or `timeout client`: the backend\'s timer.'
  );
}

interface Stalled {
  finding: Finding;
  /** The server's answer at the timeout, or null (it closed without one). */
  answer: TimeoutAnswer | null;
  /** The request's head never completed: the server timed out a head, not a body. */
  head: boolean;
  /** Its request line had not completed either: the head stopped inside a line (Go answers such a head 400, see silentHeadSetting). */
  lineUnfinished: boolean;
  sinceRequest: number;
  /** Null when the capture does not say when the client last sent before the timeout (a head only). */
  sinceClientData: number | null;
  /** Since the handshake completed (the server's accept): the clock of a first request's head. */
  sinceAccept: number | null;
  /** Its body was still arriving when the server closed (the client sent on after it): no silence was timed. */
  cutSending: boolean;
  /**
   * Its body had stopped short of its length less than MIN_CLIENT_SILENCE before the server closed,
   * and nothing more came (see StoppedShort): a timer on the whole request, not on that silence.
   */
  stoppedShort: boolean;
  /** Where it was: its connection and request (to relate a proxy's two legs). */
  flowId: number;
  index: number;
  client: string;
  method: string | null;
  uri: string | null;
  requestStart: number;
  end: number;
  /** The frame of the server's close or answer. */
  endFrame: number;
  /**
   * On a proxy's upstream leg: the client's request it forwarded (relateLegs), else null. On a
   * proxy's client leg: the upstream item whose timeout the proxy passed on (relayedFrom), else null.
   */
  forwardedFrom: RememberedRequest | null;
  relayedFrom: Stalled | null;
}

/**
 * A request whose body stopped short of its length a moment before the server closed on it without
 * an answer (less than MIN_CLIENT_SILENCE: no silence the server could have timed), its sender
 * sending nothing after: kept until the capture's end, when it is told a timer's (see onFinish).
 */
interface StoppedShort {
  conn: { id: number; clientName: string; serverName: string };
  ex: HttpExchange;
  end: number;
  lastData: number;
  closeFrame: number;
  accept: number | null;
}

/** A proxy's answer (a status) to a client whose body had not all come: the answer to relate to its backend's timeout. */
interface ShortAnswer {
  flowId: number;
  index: number;
  client: string;
  server: string;
  ex: HttpExchange;
  /** The client's last byte before the answer, or -1 when the capture does not say. */
  lastData: number;
}

/**
 * A proxy passes its backend's end on to its client at once (nginx's 502 on the backend's close,
 * its 408 as it came: within a millisecond on one host); its own timer on the client would fire at
 * its own time. An answer this long (seconds) or sooner after the backend gave up was the backend's.
 */
const RELAYED_WITHIN = 1;

/**
 * A server's answer this soon (seconds) after its client's close answered that close: Node.js
 * writes its 400 to an EOF inside a head at once (1.2 ms in blind round 17, appservers s18).
 */
const ANSWERED_CLOSE_WITHIN = 0.1;

/** Requests kept per kind until the capture's end (stopped-short candidates, short answers, findings per server). */
const MAX_KEPT = 10_000;

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
      'a timer on the whole request or a limit. The client was too slow (a stalled upload, a slow link, a slowloris), not the server. ' +
      'Told apart: a client that gave up on its own unfinished head after 3 s or more of silence, the server\'s header timer not having fired.',
    severity: 'warning',
    messages: {
      timedOut: '{request} timed out by the server{how} {sinceRequest} s after it began{sinceData}',
      stoppedShort:
        '{request} timed out by the server (a FIN without a response) {sinceRequest} s after it began{sinceAccept}, {sinceData} s after its body ' +
        'stopped short ({received} of {length} body bytes, nothing more sent){forwarded}',
      relayed:
        '{request} answered {answer} by the proxy {sinceRequest} s after it began{sinceData} ({received} of {length} body bytes sent): ' +
        'its backend {backend} had timed out the body it forwarded ({upstream})',
      cutSending:
        '{request} cut by the server{how} {sinceRequest} s after it began{sinceAccept} while its body was still arriving ' +
        '({received} of {length} body bytes sent; the client\'s last byte {sinceData} s before the close, and it sent on after it)',
      abandonedHead:
        '{request}: its head never finished (the client sent {sent} bytes of it{lineEnd}, then nothing for {wait} s) and the client gave up on it ' +
        '(its {closedWith}); the server had not timed it out in that time{answeredClose}',
      cutAnswered:
        '{request} answered {answer} by the server {sinceRequest} s after it began{sinceAccept} while its body was still arriving at the ' +
        'client\'s pace ({received} body bytes sent; nothing had come for {sinceData} s, so no byte it had just read prompted the answer, and the ' +
        'client sent on after it){reset}: a read timer on the request ran out, not a refusal of what it was sent',
    },
  },
  create(ctx: DetectContext) {
    const software = ctx.shared(SERVER_SOFTWARE, () => new ServerSoftware());
    const byServer = new Map<string, Stalled[]>();
    const legs = sharedProxyLegs(ctx);
    const stoppedShort: StoppedShort[] = [];
    /** Heads their clients gave up on (abandonedHead), by server: the wait, and what the server answered the close. */
    const abandoned = new Map<string, { finding: Finding; wait: number; answeredClose: TimeoutAnswer | null }[]>();

    /**
     * The client closed first on a request whose head it never finished, after waiting in silence
     * (ABANDONED_HEAD_WAIT): it gave up on a request the server was still waiting for (blind round
     * 17, appservers s18: Node's headersTimeout 2 s is checked only every connectionsCheckingInterval,
     * 30 s by default; the client's own 15 s timeout came first, and Node answered its FIN 400).
     * Not the server's timer: a finding of its own, the wait a lower bound of the server's header timer.
     */
    const reportAbandonedHead = (conn: AnalyzedConnection, ex: HttpExchange, close: { ts: number; frame: number; rst: boolean }): void => {
      if (ex.requestStart === null) return;
      const lastData = clientDataBefore(conn, close.ts);
      if (lastData < 0 || close.ts - lastData < ABANDONED_HEAD_WAIT) return;
      const wait = close.ts - lastData;
      // The server's answer to that close (its parser meeting the end inside a head), when one came at once.
      const answeredClose = ex.responseStart !== null && ex.responseStart >= close.ts && ex.responseStart - close.ts <= ANSWERED_CLOSE_WITHIN ? ex.responseStart : null;
      const status = exactStatus(ex);
      const sent = conn.client.payloadBytes;
      const finding = ctx.report({
        flowId: conn.id,
        client: conn.clientName,
        server: conn.serverName,
        ts: close.ts,
        message: 'abandonedHead',
        data: {
          request: requestLine(ex) ?? 'a request',
          sent,
          lineEnd: ex.requestLineUnfinished === true ? ', its request line unfinished' : '',
          wait: ms(wait),
          closedWith: close.rst ? 'RST' : 'FIN',
          answeredClose:
            answeredClose !== null
              ? `, and answered only the close, ${`${ex.status ?? ''} ${ex.reason ?? ''}`.trimEnd()} ${ms(answeredClose - close.ts)} s after it (its parser meeting the end inside a head)`
              : '',
        },
        evidence: {
          method: ex.method,
          uri: ex.uri,
          requestLine: requestLine(ex),
          status: answeredClose !== null ? ex.status : null,
          requestComplete: false,
          headComplete: false,
          requestStart: at(ex.requestStart),
          clientLastSent: at(lastData),
          clientClosedAt: at(close.ts),
          clientWaited: ms(wait),
          closedWith: close.rst ? 'RST' : 'FIN',
          closedBy: 'client',
          // The server's header timer had not fired by then: longer than the wait, or checked less often.
          serverHeaderTimerAbove: ms(wait),
          answeredClose: answeredClose !== null,
        },
        frames: [ex.requestFrame ?? 0, close.frame, ...(answeredClose !== null ? [ex.responseFrame ?? 0] : [])],
      });
      let list = abandoned.get(conn.serverName);
      if (list === undefined) abandoned.set(conn.serverName, (list = []));
      if (list.length < MAX_KEPT) {
        list.push({ finding, wait, answeredClose: answeredClose !== null && status !== null ? { status, reason: ex.reason, unnamed: answeredUnnamed(conn) } : null });
      }
    };
    /**
     * The upload a server's read timer ended with an answer while its body still flowed
     * (bodyReadTimerAnswer): the request failed (the answer is an error, and the rest of the body
     * met a closed socket), so an error, not a warning.
     */
    const reportAnsweredCut = (conn: AnalyzedConnection, timer: BodyTimerAnswer): void => {
      const { ex, answeredAt, sinceRequest, lastData } = timer;
      const accept = conn.handshakeAckTs >= 0 ? conn.handshakeAckTs : null;
      const sinceAccept = accept !== null && ex.index === 1 ? answeredAt - accept : null;
      const s = conn.server;
      const reset = s.rstTs >= answeredAt;
      const answer = `${ex.status ?? ''} ${ex.reason ?? ''}`.trimEnd();
      const finding = ctx.report({
        flowId: conn.id,
        client: conn.clientName,
        server: conn.serverName,
        ts: answeredAt,
        message: 'cutAnswered',
        severity: 'error',
        data: {
          request: requestLine(ex) ?? 'a request',
          answer,
          sinceRequest: ms(sinceRequest),
          sinceAccept: sinceAccept !== null && sinceAccept - sinceRequest >= 0.001 ? ` (${ms(sinceAccept)} s after the accept)` : '',
          received: ex.requestBodyBytes,
          sinceData: ms(answeredAt - lastData),
          reset: reset ? '; the rest of the body met the closed connection and drew a RST (the client gets EPIPE or ECONNRESET, often before it reads the answer)' : '',
        },
        evidence: {
          method: ex.method,
          uri: ex.uri,
          requestLine: requestLine(ex),
          status: ex.status,
          requestComplete: ex.state !== 'request-incomplete',
          headComplete: true,
          requestBodyBytes: ex.requestBodyBytes,
          requestLength: ex.requestLength ?? null,
          requestStart: at(ex.requestStart ?? answeredAt),
          timedOutAt: at(answeredAt),
          sinceRequestStart: ms(sinceRequest),
          sinceClientData: ms(answeredAt - lastData),
          sinceAccept: sinceAccept !== null ? ms(sinceAccept) : null,
          closedWith: s.finTs >= answeredAt && (s.rstTs < 0 || s.finTs <= s.rstTs) ? 'FIN' : s.rstTs >= answeredAt ? 'RST' : null,
          // The client went on sending after the answer: the server's timer, not a silence, ended it.
          clientStillSending: true,
          // The unread rest of the body drew the server's RST (rst-on-close's wire signature, this timer's cause).
          restReset: reset,
        },
        frames: [ex.requestFrame ?? 0, ex.responseFrame ?? 0, ...(s.finTs >= answeredAt ? [s.finFrame] : []), ...(reset ? [s.rstFrame] : [])],
      });
      keep(conn.serverName, {
        finding, answer: { status: ex.status ?? 0, reason: ex.reason, unnamed: answeredUnnamed(conn) }, head: false, lineUnfinished: false, sinceRequest,
        sinceClientData: answeredAt - lastData, sinceAccept, cutSending: true, stoppedShort: false,
        flowId: conn.id, index: ex.index, client: conn.clientName, method: ex.method, uri: ex.uri, requestStart: ex.requestStart ?? answeredAt, end: answeredAt,
        endFrame: ex.responseFrame ?? 0, forwardedFrom: null, relayedFrom: null,
      });
    };

    /** A proxy's answers to clients whose bodies had not all come, by `flowId#index`. */
    const shortAnswers = new Map<string, ShortAnswer>();

    const keep = (server: string, item: Stalled): void => {
      let list = byServer.get(server);
      if (list === undefined) byServer.set(server, (list = []));
      if (list.length < MAX_KEPT) list.push(item);
    };

    /**
     * The answers a proxy gives a client when its backend gave up on the body it forwarded: 502/503/504
     * (nginx and HAProxy on a backend's close without an answer), or the backend's own 408/400 passed on.
     * Only those to a body that had not all come (the client still owing bytes) are kept.
     */
    const noteShortAnswer = (conn: AnalyzedConnection): void => {
      for (const ex of conn.app?.recent ?? []) {
        if (ex.uncertain || ex.requestStart === null || ex.responseStart === null || ex.requestCut === true || ex.requestHeadUnfinished === true) continue;
        const status = exactStatus(ex);
        if (status === null || !(status === 408 || status === 400 || (status >= 502 && status <= 504))) continue;
        if (ex.requestLength === undefined || ex.requestBodyBytes >= ex.requestLength) continue;
        if (shortAnswers.size >= MAX_KEPT) return;
        shortAnswers.set(`${conn.id}#${ex.index}`, { flowId: conn.id, index: ex.index, client: conn.clientName, server: conn.serverName, ex, lastData: clientDataBefore(conn, ex.responseStart) });
      }
    };

    /** The exchange the server timed out: a 408, or a request still arriving that got no response. */
    const timedOut = (conn: AnalyzedConnection): HttpExchange | null => {
      const recent = conn.app?.recent ?? [];
      for (let i = recent.length - 1; i >= 0; i--) {
        const ex = recent[i];
        if (ex.uncertain || ex.requestStart === null || ex.requestCut === true) continue;
        // A status line the snaplen cut (`HTTP/1.1 40`, stored as 400) is no 408 or 400 (exactStatus).
        const status = exactStatus(ex);
        if (status === 408 || status === 400 || (ex.state === 'request-incomplete' && ex.responseStart === null)) return ex;
        // A head whose end came only after the server's FIN: unfinished when the server gave up on it.
        if (ex.state === 'no-response' && ex.responseStart === null && headFinishedAfterFin(conn, ex)) return ex;
      }
      return null;
    };

    /** The client's request a proxy forwarded as this one (its sender is that proxy), or null. */
    const forwardedCopy = (client: string, server: string, method: string | null, uri: string | null, start: number): RememberedRequest | null =>
      legs.downstreamOf({ client, server, method, uri, start });

    /**
     * The bodies that stopped short a moment before the server closed (StoppedShort), told a timer's
     * when either says so: a proxy forwarded the body with nothing more to send (its own client's
     * upload had stopped too: it was still unfinished when the server closed), so the server, not
     * the proxy, gave up on a body that no longer came; or the server's closes agree on the time
     * since each request began with its other body timeouts (a timer on the whole request: Go's
     * ReadTimeout, Node's requestTimeout), which a server dying at random moments does not.
     */
    const decideStoppedShort = (options: { fraction: number; absolute: number; minSamples: number }): void => {
      const waits = new Map<string, number[]>();
      const waitsOf = (server: string): number[] => {
        let list = waits.get(server);
        if (list === undefined) waits.set(server, (list = []));
        return list;
      };
      for (const c of stoppedShort) waitsOf(c.conn.serverName).push(c.end - (c.ex.requestStart ?? c.end));
      for (const [server, items] of byServer) for (const i of items) if (!i.head) waitsOf(server).push(i.sinceRequest);
      for (const c of stoppedShort) {
        const { conn, ex, end, lastData } = c;
        if (ex.requestStart === null) continue;
        const sinceRequest = end - ex.requestStart;
        const down = forwardedCopy(conn.clientName, conn.serverName, ex.method, ex.uri, ex.requestStart);
        const proxied = down !== null && (down.requestEnd === null || down.requestEnd >= end);
        if (!proxied) {
          const agreed = inferTimeoutRange(waits.get(conn.serverName) ?? [], options);
          if (agreed === null || sinceRequest < agreed.lo || sinceRequest > agreed.hi) continue;
        }
        const sinceAccept = c.accept !== null && ex.index === 1 ? end - c.accept : null;
        const finding = ctx.report({
          flowId: conn.id,
          client: conn.clientName,
          server: conn.serverName,
          ts: end,
          message: 'stoppedShort',
          data: {
            request: requestLine(ex) ?? 'a request',
            sinceRequest: ms(sinceRequest),
            sinceAccept: sinceAccept !== null && sinceAccept - sinceRequest >= 0.001 ? ` (${ms(sinceAccept)} s after the accept)` : '',
            sinceData: ms(end - lastData),
            received: ex.requestBodyBytes,
            length: ex.requestLength ?? 'unknown',
            forwarded: proxied && down !== null ? `; ${hostOf(conn.clientName)} forwarded it for ${down.client} (its client, to ${down.server}), whose upload had stopped too` : '',
          },
          evidence: {
            method: ex.method,
            uri: ex.uri,
            requestLine: requestLine(ex),
            status: null,
            requestComplete: false,
            headComplete: true,
            requestBodyBytes: ex.requestBodyBytes,
            requestLength: ex.requestLength ?? null,
            requestStart: at(ex.requestStart),
            timedOutAt: at(end),
            sinceRequestStart: ms(sinceRequest),
            sinceClientData: ms(end - lastData),
            sinceAccept: sinceAccept !== null ? ms(sinceAccept) : null,
            closedWith: 'FIN',
            // The body stopped short a moment before the close and nothing came after: a timer on the
            // whole request ended it, not a silence of the client's (too short) nor a flow it cut.
            bodyStoppedShort: true,
            ...(proxied && down !== null ? { forwardedFor: down.client, proxy: down.server } : {}),
          },
          frames: [ex.requestFrame ?? 0, c.closeFrame, ...(proxied && down !== null ? [down.frame] : [])],
        });
        keep(conn.serverName, {
          finding, answer: null, head: false, lineUnfinished: false, sinceRequest, sinceClientData: end - lastData, sinceAccept, cutSending: false, stoppedShort: true,
          flowId: conn.id, index: ex.index, client: conn.clientName, method: ex.method, uri: ex.uri, requestStart: ex.requestStart, end,
          endFrame: c.closeFrame, forwardedFrom: proxied ? down : null, relayedFrom: null,
        });
      }
      stoppedShort.length = 0;
    };

    /**
     * A proxy's two legs: each body timeout on a leg from a proxy to its backend (the request a copy
     * of one the proxy received) is related to the proxy's answer to its own client, given at once
     * after the backend gave up (RELAYED_WITHIN): a 502 on the backend's close without an answer, or
     * the backend's 408 passed on. That answer is reported on the client's leg (or, already reported
     * as a 408 there, marked), as the backend's timer, not the proxy's own.
     */
    const relateLegs = (): void => {
      const byKey = new Map<string, Stalled>();
      for (const items of byServer.values()) for (const i of items) byKey.set(`${i.flowId}#${i.index}`, i);
      const upstream = [...byServer.values()].flat().filter((i) => !i.head);
      for (const up of upstream) {
        const down = up.forwardedFrom ?? forwardedCopy(up.client, up.finding.server, up.method, up.uri, up.requestStart);
        if (down === null) continue;
        up.forwardedFrom = down;
        const key = `${down.flowId}#${down.index}`;
        const answer = shortAnswers.get(key);
        const answeredAt = answer?.ex.responseStart ?? null;
        if (answer === undefined || answeredAt === null || answeredAt < up.end - ctx.options.spreadAbsolute || answeredAt > up.end + RELAYED_WITHIN) continue;
        const already = byKey.get(key);
        if (already !== undefined) {
          already.relayedFrom = up;
          continue;
        }
        const ex = answer.ex;
        if (ex.requestStart === null) continue;
        const sinceRequest = answeredAt - ex.requestStart;
        const sinceData = answer.lastData >= 0 ? answeredAt - answer.lastData : null;
        const finding = ctx.report({
          flowId: answer.flowId,
          client: answer.client,
          server: answer.server,
          ts: answeredAt,
          message: 'relayed',
          data: {
            request: requestLine(ex) ?? 'a request',
            answer: `${ex.status ?? ''} ${ex.reason ?? ''}`.trimEnd(),
            sinceRequest: ms(sinceRequest),
            sinceData: sinceData === null ? '' : `, ${ms(sinceData)} s after the client last sent a byte of it`,
            received: ex.requestBodyBytes,
            length: ex.requestLength ?? 'unknown',
            backend: up.finding.server,
            upstream: up.finding.id,
          },
          evidence: {
            method: ex.method,
            uri: ex.uri,
            requestLine: requestLine(ex),
            status: ex.status,
            requestComplete: false,
            headComplete: true,
            requestBodyBytes: ex.requestBodyBytes,
            requestLength: ex.requestLength ?? null,
            requestStart: at(ex.requestStart),
            timedOutAt: at(answeredAt),
            sinceRequestStart: ms(sinceRequest),
            sinceClientData: sinceData === null ? null : ms(sinceData),
            // Whose timer it was: the backend's, on the leg the proxy forwarded the body on.
            timedOutBy: 'backend',
            backend: up.finding.server,
            upstreamFinding: up.finding.id,
            backendGaveUpAt: at(up.end),
          },
          frames: [ex.requestFrame ?? 0, ex.responseFrame ?? 0, up.endFrame],
        });
        keep(answer.server, {
          finding, answer: { status: ex.status ?? 0, reason: ex.reason, unnamed: false }, head: false, lineUnfinished: false, sinceRequest, sinceClientData: sinceData,
          sinceAccept: null, cutSending: false, stoppedShort: false, flowId: answer.flowId, index: answer.index, client: answer.client,
          method: ex.method, uri: ex.uri, requestStart: ex.requestStart, end: answeredAt, endFrame: ex.responseFrame ?? 0, forwardedFrom: null, relayedFrom: up,
        });
      }
      shortAnswers.clear();
    };

    /** A proxy whose every slow-client answer passed on its backend's timeout (relateLegs). */
    const diagnoseRelayed = (server: string, relayed: readonly Stalled[]): void => {
      const n = relayed.length;
      const answers = relayed.flatMap((i) => (i.answer !== null ? [i.answer] : []));
      ctx.diagnose({
        server,
        count: n,
        inferred: {},
        explanation:
          `${server} ${answerText(answers, n)} to ${n} request${n === 1 ? '' : 's'} whose client${n === 1 ? '' : 's'} had stopped sending the body, ` +
          `but the timer was not its own: ${relayedText(relayed)}`,
        remedy: STREAMING_PROXY_REMEDY + 'Then find why the clients stopped sending in the middle of their uploads.',
        anomalyIds: relayed.map((i) => i.finding.id),
      });
    };

    /** The heads a server's clients gave up on (reportAbandonedHead): the client's side, and the server's timer that did not free them. */
    const diagnoseAbandoned = (server: string, list: readonly { finding: Finding; wait: number; answeredClose: TimeoutAnswer | null }[]): void => {
      const n = list.length;
      const waits = list.map((i) => i.wait);
      const lo = ms(Math.min(...waits));
      const hi = ms(Math.max(...waits));
      const answers = list.flatMap((i) => (i.answeredClose !== null ? [i.answeredClose] : []));
      // Node.js answers an EOF inside a head `400 Bad Request` with no Server header, and its
      // headersTimeout fires only on a connectionsCheckingInterval tick (30 s by default).
      const soft = software.softwareOf(server);
      const node400 = answers.length > 0 && answers.every((a) => a.status === 400) && (soft === NO_SERVER_HEADER || soft === null);
      ctx.diagnose({
        server,
        count: n,
        inferred: {},
        explanation:
          `${n === 1 ? 'A client' : `${n} clients`} of ${server} sent part of a request head and then nothing, and gave up on ${n === 1 ? 'it' : 'them'} ` +
          `${lo === hi ? `${lo} s` : `${lo}-${hi} s`} later by closing: ${n === 1 ? 'it was' : 'they were'} waiting for an answer to a request never finished ` +
          '(a head sent without its closing empty line, or a client stalled inside it), and the failure is the client\'s own timeout. ' +
          `The server had not timed ${n === 1 ? 'it' : 'them'} out by then: its header timer is longer than ${hi} s, or checked less often` +
          (answers.length > 0 ? `; it answered ${answers.length === n ? (n === 1 ? 'the close' : 'every close') : `${answers.length} of the closes`} at once with ${[...new Set(answers.map((a) => `${a.status}${a.reason !== null ? ` ${a.reason}` : ''}`))].join(', ')}` : '') +
          (node400
            ? ' (without a Server header, as Node.js answers an EOF inside a head; Node\'s `headersTimeout` (60 s by default) is enforced only on a `connectionsCheckingInterval` tick (30 s by default), so a shorter one can let a head sit up to that much longer, and Go answers 400 to an EOF inside a line as well).'
            : '.'),
        remedy:
          'Make the client finish its request head (it ends with an empty line, CRLF CRLF) or find where it stalls inside it; a client that gives up on its own unfinished head only ' +
          'hides that. Keep a server header timeout that frees such connections sooner' +
          (node400 ? ' (Node.js: `headersTimeout`, with `connectionsCheckingInterval` well below it)' : ' (nginx `client_header_timeout`, Node.js `headersTimeout` with its `connectionsCheckingInterval`, Go `ReadHeaderTimeout`, Puma `first_data_timeout`)') +
          ': each one otherwise holds a connection for as long as its client waits.',
        anomalyIds: list.map((i) => i.finding.id),
      });
    };

    return {
      onConnectionEnd(conn: AnalyzedConnection): void {
        software.note(conn);
        noteShortAnswer(conn);
        // An answer a read timer gave to an upload still flowing (Go's handler answering 400 on its
        // read's `i/o timeout`): the timer's finding, not rst-on-close's early answer.
        const timer = bodyReadTimerAnswer(conn);
        if (timer !== null) {
          reportAnsweredCut(conn, timer);
          return;
        }
        const ex = timedOut(conn);
        if (ex === null || ex.requestStart === null) return;
        // A 408 that was the idle timer's close notice crossing a complete request on a kept-alive
        // connection is no slow client: request-after-close-notice reports the race.
        const status = exactStatus(ex);
        if (status === 408 && idleNoticeCrossed(ex, previousExchange(conn, ex))) return;
        const close = firstCloseOf(conn, ex.requestStart);
        if (close === null) return; // nothing ended it
        // The server's answer (408, 400) came before either side closed: it ended the request, and a
        // client that closes first on reading its `Connection: close` (WEBrick's 408 goes out before its
        // own close: blind round 17, appservers s11) is no client giving up. An answer after the
        // client's close answered that close (Node's 400 to an EOF inside a head), no timer.
        const answeredBeforeClose = (status === 408 || status === 400) && ex.responseStart !== null && ex.responseStart <= close.ts;
        if (close.byClient && !answeredBeforeClose) {
          // The client gave up: on a head it never finished, after a long silence, that is told (abandonedHead).
          if (ex.requestHeadUnfinished === true && !close.unseen) reportAbandonedHead(conn, ex, close);
          return;
        }
        // A head whose rest came only after the server's FIN was unfinished when the server gave up.
        const restAfterClose = ex.requestHeadUnfinished !== true && ex.responseStart === null && !close.rst && headFinishedAfterFin(conn, ex);
        const head = ex.requestHeadUnfinished === true || restAfterClose;
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
            if (answered || sinceRequest < MIN_CUT_SPAN) return;
            if (conn.clientDataAfterServerFin === null) {
              // The body had stopped a moment before the close, and nothing came after it: no silence
              // was timed, and no byte still flowing was cut. A timer on the whole request that ran
              // out after the body stopped short, or a server that died: told apart at the end
              // (onFinish), when it is known whether a proxy forwarded it with nothing more to send.
              if (lastData < end && ex.requestLength !== undefined && stoppedShort.length < MAX_KEPT) {
                stoppedShort.push({
                  conn: { id: conn.id, clientName: conn.clientName, serverName: conn.serverName },
                  ex, end, lastData, closeFrame: close.frame, accept: conn.handshakeAckTs >= 0 ? conn.handshakeAckTs : null,
                });
              }
              return;
            }
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
          // An upload cut while it flowed failed (no answer, and the rest of it met a closed socket).
          ...(cutSending ? { severity: 'error' as const } : {}),
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
                how: (answered ? ` (${`${ex.status ?? ''} ${ex.reason ?? ''}`.trimEnd()}` : ` (a ${close.rst ? 'RST' : 'FIN'} without a response`) + (restAfterClose ? `, its head unfinished: the client sent the rest after the close${conn.server.rstTs >= 0 ? ' and was reset' : ''})` : head ? ', its head unfinished)' : ')'),
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
            // The head completed in the capture, but only with bytes sent after the server's FIN.
            ...(restAfterClose ? { headRestAfterClose: true } : {}),
            requestBodyBytes: ex.requestBodyBytes,
            requestStart: at(ex.requestStart),
            timedOutAt: at(end),
            sinceRequestStart: ms(sinceRequest),
            sinceClientData: sinceData === null ? null : ms(sinceData),
            closedWith: close.rst ? 'RST' : 'FIN',
            // Who closed first after the answer: the client, on reading it, where it says so.
            ...(close.byClient ? { closedBy: 'client' } : {}),
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
        keep(conn.serverName, {
          finding, answer: answered ? { status: ex.status ?? 0, reason: ex.reason, unnamed: answeredUnnamed(conn) } : null, head,
          lineUnfinished: head && ex.requestLineUnfinished === true, sinceRequest,
          sinceClientData: sinceData, sinceAccept: accept !== null && ex.index === 1 ? end - accept : null, cutSending, stoppedShort: false,
          flowId: conn.id, index: ex.index, client: conn.clientName, method: ex.method, uri: ex.uri, requestStart: ex.requestStart, end,
          endFrame: answered ? (ex.responseFrame ?? close.frame) : close.frame, forwardedFrom: null, relayedFrom: null,
        });
      },

      onFinish(): void {
        const options = { fraction: ctx.options.spreadFraction, absolute: ctx.options.spreadAbsolute, minSamples: 2 };
        decideStoppedShort(options);
        relateLegs();
        for (const [server, all] of byServer) {
          // A proxy's answers that passed on its backend's timeout (relateLegs) are no timer of its own:
          // they name the backend's, and stay out of the proxy's clocks.
          const relayed = all.filter((i) => i.relayedFrom !== null);
          const items = all.filter((i) => i.relayedFrom === null);
          if (items.length === 0) {
            diagnoseRelayed(server, relayed);
            continue;
          }
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
          const cut = items.filter((i) => i.cutSending);
          // One head infers no timer, but bounds it: whether it counts from the accept or from the
          // head's first byte, it had run out by the close (at most this long, a timer checked on a
          // tick firing a little late), and counted at least from the head's first byte.
          const lone = headClock === null && heads.length === 1 ? heads[0] : null;
          const bound = lone === null ? null : Math.max(lone.sinceAccept ?? 0, lone.sinceRequest);
          if (lone !== null && bound !== null) inferred.serverHeaderTimeout = { value: bound, samples: 1, spread: 0 };
          // One upload cut while it flowed bounds the body's timer the same way (one sample: no value agreed).
          const loneCut = body === null && cut.length === 1 ? cut[0] : null;
          if (loneCut !== null) inferred.serverClientTimeout = { value: Math.max(loneCut.sinceAccept ?? 0, loneCut.sinceRequest), samples: 1, spread: 0 };
          // One body timed out after a silence or answered 408 bounds the body's timer too, whichever clock it
          // keeps (from the accept, the request's first byte or its last byte): it had run out by then. Else a
          // lone body's timer went unsaid beside a lone head's (blind round 17, appservers s02: Node's
          // requestTimeout 4 s answered 408 after 4.164 s, only the header timer inferred).
          const loneBody = body === null && loneCut === null && bodies.length === 1 ? bodies[0] : null;
          const bodyBound = loneBody === null ? null : Math.max(loneBody.sinceAccept ?? 0, loneBody.sinceRequest);
          if (bodyBound !== null) inferred.serverClientTimeout = { value: bodyBound, samples: 1, spread: 0 };
          const answers = items.flatMap((i) => (i.answer !== null ? [i.answer] : []));
          const part: RequestPart = heads.length === n ? 'head' : bodies.length === n ? 'body' : 'both';
          // One head closed on inside its request line rules out a server that answers those 400 (Go's).
          const setting = settingAt(software.of(server), software.softwareOf(server), answers, heads.length === n && answers.length === 0, part, heads.some((i) => i.lineUnfinished));
          const what =
            heads.length === 0
              ? `${n} request${n === 1 ? '' : 's'}`
              : bodies.length === 0
                ? `${n} request head${n === 1 ? '' : 's'}`
                : `${n} requests (${heads.length} still in ${heads.length === 1 ? 'its head' : 'their heads'})`;
          const timings = [
            ...(body !== null ? [`${ms(body.value.value)} s ${body.clock}`] : []),
            ...(loneBody !== null && bodyBound !== null
              ? [
                  `${bodies.length === n ? '' : 'the body '}${ms(loneBody.sinceRequest)} s after the request began` +
                    (loneBody.sinceAccept !== null && ms(loneBody.sinceAccept) !== ms(loneBody.sinceRequest) ? ` (${ms(loneBody.sinceAccept)} s after the accept)` : '') +
                    `: one timeout bounds the server's body timer to at most ${ms(bodyBound)} s`,
                ]
              : []),
            ...(headClock !== null ? [`${heads.length === n ? '' : 'heads '}${ms(headClock.value.value)} s ${headClock.clock}`] : []),
            ...(lone !== null && bound !== null
              ? [
                  `${heads.length === n ? '' : 'the head '}${ms(lone.sinceRequest)} s after it began` +
                    (lone.sinceAccept !== null && ms(lone.sinceAccept) !== ms(lone.sinceRequest) ? ` (${ms(lone.sinceAccept)} s after the accept)` : '') +
                    `: one close bounds the server's header timer to at most ${ms(bound)} s`,
                ]
              : []),
          ];
          ctx.diagnose({
            server,
            count: n,
            // Uploads cut while they flowed failed: an error, as their findings.
            ...(cut.length > 0 ? { severity: 'error' as const } : {}),
            inferred,
            explanation:
              `${server} gave up on ${what} ${n === 1 ? 'its client was' : 'their clients were'} still sending ` +
              `(${answerText(answers, n)}${timings.length > 0 ? `, ${timings.join('; ')}` : ''}): ` +
              (cut.length === n
                ? 'the upload took longer than the server allows a whole request, not a client that stalled. '
                : `the client was too slow — an upload that stalled, a slow link, or a slowloris holding connections — not the server. `) +
              (cut.length > 0 ? cutText(cut, n, body !== null) : '') +
              stoppedText(items.filter((i) => i.stoppedShort), n) +
              `The setting at work is ${cut.length === n ? (cut.every((i) => i.answer !== null) ? CUT_TIMER_SETTING : CUT_SETTING) : setting}.` +
              forwardedText(items) +
              (relayed.length > 0 ? ` ${relayedText(relayed)}` : ''),
            remedy:
              (items.some((i) => i.forwardedFrom !== null) ? STREAMING_PROXY_REMEDY : '') +
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
            anomalyIds: all.map((i) => i.finding.id),
          });
        }
        for (const [server, list] of abandoned) diagnoseAbandoned(server, list);
      },
    };
  },
};
