import { statusClassEvidence, statusText } from '../../http/exchange';
import type { HttpExchange } from '../../http/exchange';
import type { AnalyzedConnection } from '../analyzed-connection';
import { ownAgent } from '../client-agents';
import type { DetectContext, DetectOptions, DetectorDefinition } from '../detector';
import { at, ms, requestLine, timeOfDay } from '../facts';
import type { InferredValue } from '../finding';
import { inferTimeout, inferTimeoutRange, tickChecked, TickedSpread, tickedSpread, tickedTimeout } from '../infer-timeout';
import { closesAtKeepAlive, KeepAliveTimer, keepAliveTimerOf } from '../keep-alive-timer';
import { APACHE, KNOWN_IDLE_TIMEOUTS, matchKnown, NGINX, serverProduct } from '../known-timeouts';
import { LegsByRequest, LEGS_TOGETHER, RequestLeg } from '../legs-by-request';
import { LazyRange, lazyRange, lazyRangeText, lazyTimerStart } from '../read-timer';
import { firstCloseOf, sharedProxyLegs } from '../proxy-legs';
import { proxyTellsOf, TELL_HEADER_CASE, TELL_NGINX_CLOSE, TELL_NGINX_HTTP10 } from '../proxy-tells';
import { SERVER_SOFTWARE, ServerSoftware } from '../server-software';
import { closedWindows, ClosedWindow, cutResponse, CutResponse, FLUSH_AFTER_REOPEN, startedResponse, unfinishedResponse } from '../unfinished-response';

const MAX_KEPT = 10_000;
/** Servers whose advertised `Keep-Alive: timeout=` values are counted, and values counted per server. */
const MAX_ADVERTISING_SERVERS = 1_000;
const MAX_ADVERTISED_VALUES = 8;

/** A response whose body the server (or a proxy in front of it) ended with a FIN before it was whole (`declared` -1: chunked, its last chunk never came). */
export interface Truncation extends CutResponse {
  /**
   * The FIN came right behind data the client had been taking slowly (its window closed during the
   * response): the server's kernel was still draining its send buffer when the application closed,
   * so the FIN's time is not the close's (Go's WriteTimeout closed at 2.000 s, the FIN of a slow
   * reader's download followed at 2.81-3.32 s).
   */
  drained: boolean;
  /** The client kept writing (or reset) after the FIN: when its reset came, if it did. */
  clientResetTs: number;
  clientResetFrame: number;
  /** The longest pause between the server's data segments of this response before its last byte (-1: unknown; see earlierPause). */
  earlierPause: number;
  /** Its client's `User-Agent` (ownAgent: '' none, null unknown): which error its program saw. */
  agent: string | null;
  /** The earliest data a read timer re-armed lazily (nginx's) may have run from (read-timer.ts: lazyTimerStart). */
  timerFromTs: number;
  /**
   * The capture missed the FIN, which the client's acknowledgement (or the server's RST) proves
   * (Endpoint.finUnseen): closeTs is that proof, the latest the FIN can have come; it came after
   * lastByteTs, the earliest.
   */
  closeUnseen: boolean;
  /** Of a FIN the capture missed: the client's acknowledgement proved it (else the server's RST's number). */
  closeAcked: boolean;
}

/**
 * A successful response a server ended as whole without a Content-Length: its chunked body's last
 * chunk, or its close ending a close-delimited body. A proxy that ends its client's response so
 * when its backend cut the upstream one hid the cut (Caddy's reverse_proxy sends the last chunk
 * after "reading from backend: unexpected EOF"; blind round 15, S12).
 */
interface WholeLeg {
  flowId: number;
  client: string;
  server: string;
  request: string;
  status: number;
  requestStart: number;
  responseStart: number;
  /** When its last byte (or the close that ended it) came. */
  endTs: number;
  endFrame: number;
  received: number;
  end: 'chunked' | 'close';
}

/** The WholeLeg of a decided exchange, or null when it is none. */
function wholeLegOf(ex: HttpExchange, conn: AnalyzedConnection): WholeLeg | null {
  if (ex.state !== 'complete' || ex.uncertain || ex.status === null || ex.status < 200 || ex.status > 299) return null;
  if (ex.responseFraming !== 'chunked' && ex.responseFraming !== 'close') return null;
  if (ex.requestStart === null || ex.responseStart === null || ex.responseEnd === null) return null;
  return {
    flowId: conn.id,
    client: conn.clientName,
    server: conn.serverName,
    request: requestLine(ex) ?? '?',
    status: ex.status,
    requestStart: ex.requestStart,
    responseStart: ex.responseStart,
    endTs: ex.responseEnd,
    endFrame: ex.responseEndFrame ?? 0,
    received: ex.responseBodyBytes,
    end: ex.responseFraming,
  };
}

/** Whole legs kept while their upstream leg's end is still to come (the latest). */
const WHOLE_PENDING = 4096;

/** An upstream leg its client (a proxy) abandoned mid-body: closed before the response was whole. */
interface AbandonedLeg {
  flowId: number;
  server: string;
  request: string;
  requestStart: number;
  received: number;
  lastByteTs: number;
  closeTs: number;
  closeFrame: number;
  rst: boolean;
  /** The longest pause between the backend's data segments of this response before its last byte (-1: unknown). */
  earlierPause: number;
  /** The earliest backend data a read timer re-armed lazily (nginx's) may have run from (lazyTimerStart). */
  timerFromTs: number;
  /** What in the proxy's request says which proxy sent it (proxyTellsOf: TELL_* bits). */
  proxyTells: number;
}

/**
 * The longest pause between the server's data segments of `ex`'s response, from its head to its
 * last byte (HttpSession.responseLongestGap), or -1 when the session followed another response.
 */
function earlierPause(conn: AnalyzedConnection, ex: HttpExchange): number {
  const session = conn.app?.session ?? null;
  return session !== null && ex.responseStart !== null && session.responseGapFrom === ex.responseStart ? session.responseLongestGap : -1;
}

/**
 * Whether the client's receive window held the response back: closed between its last byte and
 * the close (the server could not send), or closed for at least `stall` seconds (zero-window-stall's
 * threshold) and the FIN came right behind its reopening. A server that gave up sending to a client
 * that stopped reading (nginx `send_timeout`) is zero-window-stall's case: its kernel flushes the
 * last bytes and the FIN once the window reopens, so the cut shows no silence at all.
 * zero-window-stall reports such a cut as an error itself ("the response was cut at N of M body
 * bytes"): one finding for the event, its cause the client's unread window, not a timer on the
 * server's silence. A stall the transfer went on from, long before the cut, did not make it: the
 * cut is this detector's, the stall zero-window-stall's warning.
 */
function windowHeldBack(windows: ClosedWindow[] | null, lastByteTs: number, closeTs: number, stall: number): boolean {
  return windows === null || windows.some((ep) => ep.endTs >= lastByteTs || (ep.endTs - ep.startTs >= stall && closeTs - ep.endTs <= FLUSH_AFTER_REOPEN));
}

/** The truncation a connection ended with, or null (see the detector's comment for each condition). */
export function truncationOf(conn: AnalyzedConnection, options: DetectOptions): Truncation | null {
  const ex = startedResponse(conn);
  if (ex === null) return null;
  // A body the close delimits ends with it; a head the snaplen cut has no known length.
  if (ex.responseFraming !== 'length' && ex.responseFraming !== 'chunked') return null;
  const close = firstCloseOf(conn, ex.responseStart);
  if (close === null || close.byClient || close.rst) return null;
  const c = conn.client;
  // A client that gave up first (its FIN after the response began, or any reset) ended the transfer
  // itself. A server FIN the capture missed is timed by the segment that proved it: a close of the
  // client's at that same moment is that segment, or came after it.
  const clientFirst = (ts: number): boolean => (close.unseen ? ts < close.ts : ts <= close.ts);
  if ((c.finTs >= 0 && c.finTs >= ex.responseStart && clientFirst(c.finTs)) || (c.rstTs >= 0 && clientFirst(c.rstTs))) return null;
  const s = conn.server;
  const lastByteTs = s.lastDataTs >= ex.responseStart && s.lastDataTs <= close.ts ? s.lastDataTs : ex.responseStart;
  const lastByteFrame = lastByteTs === s.lastDataTs ? s.lastDataFrame : (ex.responseFrame ?? 0);
  const windows = closedWindows(conn, ex.responseStart, close.ts);
  if (windowHeldBack(windows, lastByteTs, close.ts, options.zeroWindowStall)) return null;
  return {
    ...cutResponse(conn, ex, close, lastByteTs, lastByteFrame),
    drained: close.ts - lastByteTs < options.minIdleTimeout && windows !== null && windows.length > 0,
    clientResetTs: c.rstTs > close.ts ? c.rstTs : -1,
    clientResetFrame: c.rstTs > close.ts ? c.rstFrame : 0,
    earlierPause: earlierPause(conn, ex),
    agent: ownAgent(conn),
    timerFromTs: lazyTimerStart(conn, ex.responseStart, lastByteTs),
    closeUnseen: close.unseen,
    closeAcked: close.unseen && s.finLostByCapture,
  };
}

/** The upstream leg a proxy (its client) closed before the response was whole, or null. */
function abandonedLegOf(conn: AnalyzedConnection): AbandonedLeg | null {
  const ex = unfinishedResponse(conn);
  if (ex === null || ex.uncertain || ex.responseStart === null || ex.requestStart === null) return null;
  const close = firstCloseOf(conn, ex.responseStart);
  if (close === null || !close.byClient) return null;
  const s = conn.server;
  // A backend that writes on after the proxy closed (its next event, into the proxy's RST) has its
  // last data after the close: the silence the proxy's timer measured ended at the data before it.
  const beforeClose = conn.client.peerDataBeforeCloseTs;
  const lastByteTs =
    s.lastDataTs >= ex.responseStart && s.lastDataTs <= close.ts ? s.lastDataTs
    : beforeClose >= ex.responseStart && beforeClose <= close.ts ? beforeClose
    : ex.responseStart;
  return {
    flowId: conn.id,
    server: conn.serverName,
    request: requestLine(ex) ?? '?',
    requestStart: ex.requestStart,
    received: ex.responseBodyBytes,
    lastByteTs,
    closeTs: close.ts,
    closeFrame: close.frame,
    rst: close.rst,
    earlierPause: earlierPause(conn, ex),
    timerFromTs: lazyTimerStart(conn, ex.responseStart, lastByteTs),
    proxyTells: proxyTellsOf(ex, conn),
  };
}

/**
 * Where the proxy's log tells which timeout cut a response: HAProxy's (no error log of its own: its
 * log line's termination flags) when it named itself or its upstream requests' field names came in
 * lower case (as HAProxy 2.x writes them) with no nginx tell (blind round 15 longlived s06: a
 * HAProxy `timeout server` cut, logged `sD--`, got nginx's hint); nginx's error log otherwise.
 */
function timeoutLogHint(named: string | null, legs: readonly (AbandonedLeg | null)[]): { log: string; hint: string } {
  const upstream = legs.filter((l): l is AbandonedLeg => l !== null);
  const haproxy =
    named !== null
      ? /^haproxy\b/i.test(named)
      : upstream.length > 0 && upstream.every((l) => (l.proxyTells & TELL_HEADER_CASE) !== 0 && (l.proxyTells & (TELL_NGINX_HTTP10 | TELL_NGINX_CLOSE)) === 0);
  return haproxy
    ? {
        log: 'log',
        hint:
          `HAProxy's log line for it ends the session with termination flags \`sD\` (the server side timed out in the data phase: \`timeout server\`) or \`cD\` (the client side: \`timeout client\`)` +
          (named === null ? '; the upstream request\'s lower-case field names are HAProxy 2.x\'s' : ''),
      }
    : named !== null && APACHE.test(named)
      ? { log: 'error log', hint: 'Apache logs an expired timer as "(70007)The timeout specified has expired"' }
      : { log: 'error log', hint: 'nginx logs "upstream timed out … while reading upstream"' };
}

/** How a proxy ended a WholeLeg, for text. */
function wholeEnd(w: WholeLeg): string {
  return w.end === 'chunked' ? 'its chunked body\'s last chunk' : 'its close, ending a body without a length';
}

/** How the body fell short, for text. */
function shortfall(t: Truncation): string {
  return t.declared >= 0
    ? `${t.received} of its ${t.declared} body bytes (${t.declared - t.received} missing)`
    : `${t.received} body bytes without the last chunk`;
}

/** tickChecked, for delays no shorter than `minValue` (shorter ones are no timer's). */
function tickAbove(samples: readonly number[], options: { fraction: number; absolute: number; minSamples: number }, minValue: number): TickedSpread | null {
  const ticked = tickChecked(samples, options);
  return ticked !== null && ticked.lo >= minValue ? ticked : null;
}

/**
 * How the closes agree on a timer, for text: a tight cluster, or closes spread over a periodic
 * check's tick. `phrase` puts the seconds in their sentence.
 */
function agreement(value: InferredValue, ticked: TickedSpread | null, n: number, phrase: (seconds: string) => string): string {
  if (ticked !== null) {
    return (
      `${ticked.count} of them ${phrase(`${ms(ticked.lo)}-${ms(ticked.hi)}`)} (a timer checked on a periodic tick, as gunicorn's arbiter checks its workers once a second, ` +
      'fires anywhere in such a range: the shortest is taken for it, and the setting may lie up to that spread below)'
    );
  }
  return `each ${phrase(String(ms(value.value)))} (${value.samples} of ${n} agree, spread ${ms(value.spread)} s)`;
}

/**
 * Which timer the cuts show, from the tight clusters of their silences (`stall`) and of their times
 * since the request (`limit`); null when neither. A cluster below `minIdleTimeout` is no timer. A
 * cluster whose spread is within `spreadFraction` of its value is a timer's; one only as close as
 * `spreadAbsolute` allows is not, beside one that is: a response streamed in pieces 0.1-0.2 s apart
 * and cut by a worker timeout has silences that cluster loosely around 0.1 s, its times since the
 * request tightly. Then the larger cluster; the silence when they are as large.
 */
function pickTimer(stall: InferredValue | null, limit: InferredValue | null, options: DetectOptions): 'stall' | 'time-limit' | null {
  const usable = (c: InferredValue | null): c is InferredValue => c !== null && c.value >= options.minIdleTimeout;
  const tight = (c: InferredValue): boolean => c.spread <= options.spreadFraction * c.value;
  if (!usable(stall)) return usable(limit) ? 'time-limit' : null;
  if (!usable(limit)) return 'stall';
  if (tight(stall) !== tight(limit)) return tight(stall) ? 'stall' : 'time-limit';
  return stall.samples >= limit.samples ? 'stall' : 'time-limit';
}

/**
 * 'paced': the cuts came after a silence no longer than pauses their responses had already made
 * between data and gone on from: no timer on the silence between bytes (it would have fired at the
 * earlier pause), the server's own pacing. 'idle-close': each close came one keep-alive idle
 * timeout after the last byte (keep-alive-timer.ts): the server took the response for finished and
 * idled the connection; the cut was at the last byte.
 */
type Mechanism = 'stall' | 'time-limit' | 'either' | 'abrupt' | 'mixed' | 'paced' | 'idle-close';

/**
 * What the common clients report for a body the server's FIN cut, with Node's entry and Java's by
 * the cuts' `User-Agent`s (ownAgent): Node's http module sends none and reports 'aborted'; its
 * fetch (undici) sends `node` (Node 20) or `undici` and reports otherwise; Java 17's HttpClient
 * sends `Java-http-client/…` (blind round 13, S18: curl 7.88, Java 17, Node 20's fetch).
 */
function cutBodyErrors(cuts: readonly Truncation[]): string {
  const fetch = cuts.some((t) => t.agent !== null && /^(node|undici)$/.test(t.agent));
  const other = cuts.some((t) => t.agent === null || t.agent === '');
  const chunked = cuts.some((t) => t.declared < 0);
  const java = cuts.some((t) => t.agent !== null && t.agent.startsWith('Java-http-client/'));
  const fetchError = 'TypeError "terminated" with cause SocketError "other side closed" (UND_ERR_SOCKET)';
  const node = !fetch ? "Node's 'aborted'" : other ? `Node's 'aborted' (http module) or ${fetchError} (fetch)` : `Node's fetch ${fetchError}`;
  const javaError = !java
    ? ''
    : `, Java HttpClient's IOException ${chunked ? '"chunked transfer encoding, state: READING_LENGTH"' : ''}${chunked && cuts.some((t) => t.declared >= 0) ? ' or ' : ''}${cuts.some((t) => t.declared >= 0) ? '"fixed content-length: N, bytes received: M"' : ''}`;
  return `"unexpected EOF" (Go), curl's "(18) transfer closed with N bytes remaining", Python's ChunkedEncodingError or IncompleteRead${javaError}, ${node}`;
}

/** A KeepAliveTimer's evidence, for text: what shows the server's idle timer at that value. */
function keepAliveEvidence(timer: KeepAliveTimer): string {
  if (timer.source === 'keep-alive-header') return `the time its responses advertise (\`Keep-Alive: timeout=${timer.value}\`)`;
  const span = ms(timer.hi) > ms(timer.lo) ? `${ms(timer.lo)}-${ms(timer.hi)} s` : `${ms(timer.value)} s`;
  const of = timer.closes < timer.total ? ` (of ${timer.total} idle closes)` : '';
  return timer.closes === 1
    ? `the delay after which it closed another connection idle (${span} after its response)${of}`
    : `the delay after which it closed ${timer.closes} other connections idle (${span} after their responses)${of}`;
}

/** A KeepAliveTimer in a few words, for a finding's line. */
function keepAliveShort(timer: KeepAliveTimer): string {
  if (timer.source === 'keep-alive-header') return `its \`Keep-Alive: timeout=${timer.value}\``;
  return `${ms(timer.value)} s, as ${timer.closes === 1 ? 'another connection it closed idle shows' : `${timer.closes} connections it closed idle show`}`;
}

/** The setting that closes a server's idle connections, by the software it named ('' when unknown). */
function keepAliveSetting(software: string | null): string {
  const product = serverProduct(software);
  return product !== null ? product.idleSetting : '';
}

/**
 * Where a server that took an aborted response for finished logs why, by its software: Apache's
 * mod_cgid logs AH00574 when the script's output is reset (a script that exits without reading the
 * request body it was sent), at the moment the body stops (blind round 17 s13b: logged at
 * 11:10:50.703, the close 5.012 s later at KeepAliveTimeout 5).
 */
function abortedBodyLog(software: string | null): string {
  if (software !== null && APACHE.test(software)) {
    return 'for a CGI script Apache logs there the script\'s stderr, or "AH00574: ap_content_length_filter: apr_bucket_read() failed" (mod_cgid: the script\'s output was reset, as when a script exits without reading the request body it was sent)';
  }
  return 'the handler\'s error is logged there (an exception, a crashed script or worker, an upstream that ended its body early)';
}

/** The settings that cut a response after a silence mid-body, by the software the server named. */
function stallSettings(software: string | null): string {
  if (software !== null && NGINX.test(software)) {
    return 'nginx `proxy_read_timeout` (60 s by default: the longest silence between two reads from the backend; `fastcgi_read_timeout`, `uwsgi_read_timeout` for those backends)';
  }
  if (software !== null && APACHE.test(software)) return 'Apache `ProxyTimeout` (or `Timeout`, 60 s by default; `timeout=` on a `ProxyPass` worker)';
  if (software !== null && /^haproxy\b/i.test(software)) return 'HAProxy `timeout server` (inactivity on the server side)';
  if (software !== null && /^varnish\b/i.test(software)) return 'Varnish `between_bytes_timeout` (60 s by default)';
  return (
    'a proxy\'s read timeout between two reads from its backend (nginx `proxy_read_timeout`, 60 s by default; HAProxy `timeout server`; ' +
    'Apache `ProxyTimeout`; Varnish `between_bytes_timeout`; Envoy `stream_idle_timeout`, 5 min) or a server\'s own inactivity timeout on the socket'
  );
}

/**
 * The range a read timer that nginx re-arms lazily (read-timer.ts) lies in, for a cut of
 * `software`'s: from the silence after the last byte (a timer on the silence is no shorter: it
 * runs from a read no later than that) to the time since the earliest read within NGINX_LAZY_DELAY
 * of it; null when it is not nginx's or no such read came. The upstream leg shows the reads; the
 * client leg only their relays, which may trail them.
 */
function lazyRangeOf(software: string | null, t: Truncation, upstream: AbandonedLeg | null): LazyRange | null {
  if (software === null || !NGINX.test(software)) return null;
  return upstream !== null
    ? lazyRange(upstream.closeTs, upstream.lastByteTs, upstream.timerFromTs, true)
    : lazyRange(t.closeTs, t.lastByteTs, t.timerFromTs, false);
}

/**
 * Where the cuts of one nginx together put its lazily re-armed read timer (lazyRangeOf): the values
 * within every cut's range (a cut without one: its silence), or null when no cut has a range or
 * they disagree by more than `jitter` (the capture's). Its silences alone fall short of the setting
 * by up to NGX_TIMER_LAZY_DELAY each, and so need not agree with each other.
 */
function sharedLazyRange(ranges: readonly { lo: number; hi: number }[], jitter: number): { lo: number; hi: number } | null {
  if (!ranges.some((r) => ms(r.hi) > ms(r.lo))) return null;
  const lo = Math.max(...ranges.map((r) => r.lo));
  const hi = Math.min(...ranges.map((r) => r.hi));
  return lo > hi + jitter ? null : { lo, hi: Math.max(lo, hi) };
}

/** sharedLazyRange in words, for several cuts. */
function sharedLazyText(shared: { lo: number; hi: number }): string {
  return (
    ' nginx moves that read timer only for a read 0.3 s or more after it last set it (NGX_TIMER_LAZY_DELAY), so a silence before its close can fall short of its value by up to that much' +
    (ms(shared.hi) > ms(shared.lo) ? `: the reads before the cuts put it between ${ms(shared.lo)} s and ${ms(shared.hi)} s.` : `: the reads before the cuts put it at ${ms(shared.lo)} s.`)
  );
}

const TIME_LIMIT_SETTINGS =
  'Go `http.Server.WriteTimeout` (timed from the end of the request head, it cuts any response still being written; it takes effect ' +
  'at the handler\'s next write or flush after it, so the cut can come well after WriteTimeout: at the end of a handler that buffers), ' +
  'gunicorn `--timeout` and uWSGI `harakiri` (the worker is killed mid-response), Envoy\'s route `timeout` (15 s by default), ' +
  'or a proxy\'s total response timeout';

/** The settings that cut a response at a time since its request, by the software the server named. */
function timeLimitSettings(software: string | null): string {
  if (software !== null && /^gunicorn\b/i.test(software)) {
    return 'gunicorn `--timeout` (30 s by default: its arbiter kills a worker still busy past it, checking about once a second; a streaming response needs a gthread or async worker, or a longer timeout)';
  }
  return TIME_LIMIT_SETTINGS;
}

/**
 * response-truncated: a server, or a proxy in front of it, closed the connection (FIN) in the
 * middle of a response body: fewer bytes than its Content-Length, or a chunked body without its
 * last chunk. The client sees "unexpected EOF", curl's "(18) transfer closed with N bytes
 * remaining", Python's ChunkedEncodingError / IncompleteRead, Node's 'aborted'. Across a server's
 * truncations the timing says which timer: the same silence before the FIN is a read/inactivity
 * timeout between bytes (the backend stalled mid-body and the proxy gave up on it), the same time
 * since the request is a limit on the whole exchange (Go's WriteTimeout, a worker timeout), a FIN
 * right after the last byte is the application ending the response early (an error mid-stream, a
 * Content-Length larger than what it wrote).
 *
 * Left to other detectors: a server reset mid-response (reset-before-response), a client whose
 * window was closed while the server waited (zero-window-stall: it stopped reading), a client
 * that closed first (it gave up: its own choice), a body the close delimits (nothing is missing),
 * a response whose bytes the capture lost (uncertain).
 */
/**
 * A single cut's silence up to this many times the longest pause the response had already made and
 * gone on after reads as the server's own pace as much as a timer's: a process's exit or a killed
 * worker's close comes a moment after its pace (interpreter teardown, tens of ms), and a timer set
 * that close to a response's normal pauses would cut it at any slower moment.
 */
const NEAR_PACE = 1.5;

export const responseTruncated: DetectorDefinition = {
  id: 'response-truncated',
  meta: {
    description:
      'A server, or a proxy in front of it, closed the connection (FIN) in the middle of a response body: fewer bytes than its Content-Length, or a chunked body without its last chunk. ' +
      'The client sees "unexpected EOF" / "transfer closed with N bytes remaining". The same silence before the close across responses is a read timeout between bytes (a backend stalled mid-body), ' +
      'the same time since the request is a limit on the whole exchange (Go WriteTimeout, a worker timeout).',
    severity: 'error',
    messages: {
      truncated: '{request} ({status}): {server} closed the connection after {shortfall}, {silence} s after its last byte and {sinceRequest} s after the request{unseen}{upstream}{idle}',
    },
  },
  create(ctx: DetectContext) {
    const software = ctx.shared(SERVER_SOFTWARE, () => new ServerSoftware());
    // The servers' idle closes (shared with the keep-alive detectors): the timer a close after a cut may be.
    const legs = sharedProxyLegs(ctx);
    /** `Keep-Alive: timeout=` values each server advertised, counted (bounded). */
    const advertisedBy = new Map<string, Map<number, number>>();
    const truncations: Truncation[] = [];
    /** Truncations by request line, to find the backend's cut a proxy only relayed. */
    const truncationsByRequest = new LegsByRequest<Truncation>((t) => t.closeTs);
    /** Upstream legs their client (a proxy) abandoned mid-body, by request line. */
    const abandonedByRequest = new LegsByRequest<AbandonedLeg>((l) => l.closeTs);

    /**
     * The same request's leg from a proxy to its backend, forwarded while the client waited for the
     * response, closed within LEGS_TOGETHER of the client leg's FIN: the nearest, or null.
     */
    const legOf = <L extends RequestLeg>(legs: LegsByRequest<L>, t: Truncation): L | null =>
      legs.nearest(t.request, { flowId: t.flowId, server: t.server, requestStart: t.requestStart, answeredAt: t.responseStart, closeTs: t.closeTs }, LEGS_TOGETHER);

    /**
     * The backend's own truncation that the proxy passed on: its upstream leg cut first. A backend
     * FIN the capture missed is timed at the segment that proved it, which can come after the
     * proxy's own close it caused (HAProxy's FIN to nginx acknowledged nginx's, after HAProxy had
     * closed its client's leg: blind round 16, S12): it came after the backend's last byte, and no
     * later than the proxy's close is enough.
     */
    const relayedFrom = (t: Truncation): Truncation | null => {
      const up = legOf(truncationsByRequest, t);
      return up !== null && (up.closeUnseen ? up.lastByteTs : up.closeTs) <= t.closeTs ? up : null;
    };

    /**
     * Backend cuts a proxy hid: the response it gave its client for the same request ended as whole
     * (WholeLeg) right after the backend's cut, with no more body bytes than the backend had sent.
     * A proxy that passed the cut on (its client leg cut too) or answered 502 is not in here.
     */
    const hiddenBy = new Map<Truncation, WholeLeg>();
    /** Whole legs whose upstream leg had not ended yet when they were decided (a ring: the latest). */
    const pending: WholeLeg[] = [];
    let pendingNext = 0;
    const hide = (w: WholeLeg): boolean => {
      const up = truncationsByRequest.nearest(
        w.request,
        { flowId: w.flowId, server: w.server, requestStart: w.requestStart, answeredAt: w.responseStart, closeTs: w.endTs },
        LEGS_TOGETHER,
        (t) => t.closeTs <= w.endTs && w.received <= t.received && !hiddenBy.has(t),
      );
      if (up === null) return false;
      hiddenBy.set(up, w);
      return true;
    };

    return {
      onExchange(ex: HttpExchange, conn: AnalyzedConnection): void {
        if (ex.keepAliveTimeout !== null) {
          let counts = advertisedBy.get(conn.serverName);
          if (counts === undefined && advertisedBy.size < MAX_ADVERTISING_SERVERS) advertisedBy.set(conn.serverName, (counts = new Map()));
          if (counts !== undefined && (counts.has(ex.keepAliveTimeout) || counts.size < MAX_ADVERTISED_VALUES)) {
            counts.set(ex.keepAliveTimeout, (counts.get(ex.keepAliveTimeout) ?? 0) + 1);
          }
        }
        const w = wholeLegOf(ex, conn);
        if (w === null || hide(w)) return;
        if (pending.length < WHOLE_PENDING) pending.push(w);
        else pending[pendingNext] = w;
        pendingNext = (pendingNext + 1) % WHOLE_PENDING;
      },

      onConnectionEnd(conn: AnalyzedConnection): void {
        software.note(conn);
        if (conn.app?.session?.isTunnel === true) return;
        if ((conn.app?.recent.length ?? 0) === 0) return;
        const t = truncationOf(conn, ctx.options);
        if (t !== null) {
          if (truncations.length < MAX_KEPT) truncations.push(t);
          truncationsByRequest.add(t.request, t);
          return;
        }
        const leg = abandonedLegOf(conn);
        if (leg !== null) abandonedByRequest.add(leg.request, leg);
      },

      onFinish(): void {
        // The upstream legs that ended after their whole client leg was decided.
        for (const w of pending) hide(w);
        // Each server's keep-alive idle timer (keep-alive-timer.ts), made once per server.
        const timerOptions = { fraction: ctx.options.spreadFraction, absolute: ctx.options.spreadAbsolute, minIdle: ctx.options.minIdleTimeout };
        const timers = new Map<string, KeepAliveTimer | null>();
        const timerOf = (server: string): KeepAliveTimer | null => {
          let timer = timers.get(server);
          if (timer === undefined) {
            let advertised: number | null = null;
            let most = 0;
            for (const [value, count] of advertisedBy.get(server) ?? []) {
              if (count > most) {
                advertised = value;
                most = count;
              }
            }
            timer = keepAliveTimerOf(legs.idleCloseAges(server), advertised, timerOptions);
            timers.set(server, timer);
          }
          return timer;
        };
        /**
         * The server's keep-alive timer where a cut's close came at it, else null. Only for a cut of
         * its own whose close is timed: one that closed its upstream leg at the same moment is a
         * proxy's read timer on its backend's silence; one behind a slow reader's data, or timed at
         * the proof of a FIN the capture missed, has no silence of the server's.
         */
        const idleCloseOf = (t: Truncation, relayed: Truncation | null, upstream: AbandonedLeg | null): KeepAliveTimer | null => {
          if (relayed !== null || upstream !== null || t.drained || t.closeUnseen || t.silence < ctx.options.minIdleTimeout) return null;
          const timer = timerOf(t.server);
          return timer !== null && closesAtKeepAlive(t.silence, timer, timerOptions) ? timer : null;
        };
        const byServer = new Map<
          string,
          { t: Truncation; relayed: Truncation | null; upstream: AbandonedLeg | null; lazy: LazyRange | null; idle: KeepAliveTimer | null; id: string }[]
        >();
        /** The findings of a proxy that passed a backend's cut on, by that cut: diagnosed with the backend's, whose cause they share. */
        const relayersOf = new Map<Truncation, { id: string; server: string; t: Truncation }[]>();
        for (const t of truncations) {
          const relayed = relayedFrom(t);
          const upstream = relayed === null ? legOf(abandonedByRequest, t) : null;
          const hidden = hiddenBy.get(t) ?? null;
          const hiddenText =
            hidden === null
              ? ''
              : `; the proxy ${hidden.server} ended its response to ${hidden.client} as whole ${ms(hidden.endTs - t.closeTs) === 0 ? 'at once' : `${ms(hidden.endTs - t.closeTs)} s later`} (${wholeEnd(hidden)}, ${hidden.status}, ${hidden.received} body bytes): its client got the cut body as a complete response, with no error`;
          const upstreamText =
            relayed !== null
              ? `; it passed on its backend's cut: ${relayed.server} had closed the upstream leg ${relayed.closeUnseen ? 'before (a FIN the capture missed)' : `${ms(t.closeTs - relayed.closeTs)} s before`}, after ${shortfall(relayed)}`
              : upstream !== null
                ? `; it closed its upstream leg to ${upstream.server} at the same moment (${upstream.rst ? 'RST' : 'FIN'}), where the backend had sent nothing for ${ms(upstream.closeTs - upstream.lastByteTs)} s`
                : '';
          const lazy = relayed === null ? lazyRangeOf(software.softwareOf(t.server), t, upstream) : null;
          const idle = idleCloseOf(t, relayed, upstream);
          const finding = ctx.report({
            flowId: t.flowId,
            client: t.client,
            server: t.server,
            ts: t.closeTs,
            message: 'truncated',
            data: {
              request: t.request,
              status: statusText(t) ?? '?',
              server: t.server,
              shortfall: shortfall(t),
              silence: ms(t.silence),
              sinceRequest: ms(t.sinceRequest),
              unseen: !t.closeUnseen
                ? ''
                : `; the capture missed its FIN, which ${t.closeAcked ? `${t.client}'s acknowledgement` : `the sequence number of ${t.server}'s RST`} proves: timed there, the latest it can have come`,
              upstream: upstreamText + hiddenText,
              idle:
                idle === null
                  ? ''
                  : `; the body stopped at frame ${t.lastByteFrame}, and the close came one keep-alive idle timeout later (${keepAliveShort(idle)}): the server took the response for finished`,
            },
            evidence: {
              request: t.request,
              status: t.status,
              ...statusClassEvidence(t),
              framing: t.declared >= 0 ? 'content-length' : 'chunked',
              bodyDeclared: t.declared >= 0 ? t.declared : null,
              bodyReceived: t.received,
              bodyMissing: t.declared >= 0 ? t.declared - t.received : null,
              requestAt: at(t.requestStart),
              responseAt: at(t.responseStart),
              lastByteAt: at(t.lastByteTs),
              closedAt: at(t.closeTs),
              silenceBeforeClose: ms(t.silence),
              sinceRequest: ms(t.sinceRequest),
              closedWith: 'FIN',
              // Only where the capture missed the FIN (absent otherwise).
              ...(t.closeUnseen ? { finUnseen: true } : {}),
              finBehindSlowReader: t.drained,
              clientResetAfter: t.clientResetTs >= 0 ? ms(t.clientResetTs - t.closeTs) : null,
              relayedFromFlowId: relayed?.flowId ?? null,
              upstreamFlowId: relayed?.flowId ?? upstream?.flowId ?? null,
              upstreamServer: relayed?.server ?? upstream?.server ?? null,
              upstreamSilence: upstream !== null ? ms(upstream.closeTs - upstream.lastByteTs) : null,
              // Only where nginx's lazily re-armed read timer may have run from an earlier read (absent otherwise).
              ...(lazy !== null ? { readTimerAtLeast: ms(lazy.lo), readTimerAtMost: ms(lazy.hi), readTimerFromAt: at(lazy.fromTs) } : {}),
              // Only where the close came at the server's keep-alive idle timer (absent otherwise).
              ...(idle !== null ? { closedAtKeepAliveTimeout: true, keepAliveTimeout: ms(idle.value), keepAliveTimeoutFrom: idle.source } : {}),
              // Only where a proxy hid the cut from its client (absent otherwise).
              ...(hidden !== null
                ? { hiddenByProxy: hidden.server, hiddenClientFlowId: hidden.flowId, hiddenEndedWith: hidden.end === 'chunked' ? 'last-chunk' : 'close', hiddenStatus: hidden.status, hiddenBodyBytes: hidden.received }
                : {}),
            },
            frames: [
              ...new Set([
                t.requestFrame,
                t.responseFrame,
                t.lastByteFrame,
                t.closeFrame,
                ...(upstream !== null ? [upstream.closeFrame] : []),
                ...(relayed !== null ? [relayed.closeFrame] : []),
                ...(hidden !== null ? [hidden.endFrame] : []),
                ...(t.clientResetTs >= 0 ? [t.clientResetFrame] : []),
              ]),
            ]
              .filter((f) => f > 0)
              .sort((a, b) => a - b),
          });
          let list = byServer.get(t.server);
          if (list === undefined) byServer.set(t.server, (list = []));
          list.push({ t, relayed, upstream, lazy, idle, id: finding.id });
          if (relayed !== null) {
            const by = relayersOf.get(relayed);
            if (by === undefined) relayersOf.set(relayed, [{ id: finding.id, server: t.server, t }]);
            else by.push({ id: finding.id, server: t.server, t });
          }
        }

        const options = { fraction: ctx.options.spreadFraction, absolute: ctx.options.spreadAbsolute, minSamples: 2 };
        for (const [server, all] of byServer) {
          const own = all.filter((x) => x.relayed === null);
          if (own.length === 0) continue;
          // The silence a proxy's read timer measured is the backend's, on the upstream leg when the
          // capture has it: the client leg's last bytes can trail the backend's (HAProxy forwards an
          // unfinished body with MSG_MORE, and its kernel held the last partial segment ~200 ms:
          // 1.79-1.80 s of silence on the client legs for `timeout server 2s`).
          const silences = own.map((x) => (x.upstream !== null ? x.upstream.closeTs - x.upstream.lastByteTs : x.t.silence));
          // A FIN that waited behind a slow reader's data came after the close: no time of the timer's.
          const waits = own.filter((x) => !x.t.drained).map((x) => x.t.sinceRequest);
          const drained = own.length - waits.length;
          // nginx's lazily re-armed read timer (read-timer.ts): cuts by one timer need not agree on
          // their silences, only share a value within their ranges; then each is timed at the longest
          // silence they all allow (blind round 14, S3c: 1.404 s of silence for 1700ms).
          const lazyShared = own.length > 1 ? sharedLazyRange(own.map((x, i) => x.lazy ?? { lo: silences[i], hi: silences[i] }), ctx.options.spreadAbsolute) : null;
          const timedSilences = lazyShared !== null ? own.map(() => lazyShared.lo) : silences;
          const stallCluster = inferTimeout(timedSilences, options);
          const limitCluster = inferTimeout(waits, options);
          // Closes spread over a timer's tick past the densest few (gunicorn's arbiter checks its
          // workers once a second: cut 2.05-2.92 s after the request for `--timeout 2`): the timer is
          // the shortest of them, the spread is the tick's.
          const abrupt = own.every((x) => x.t.silence < ctx.options.minIdleTimeout);
          // With no two cuts close enough for a cluster, a tick alone can still show (tickChecked:
          // every cut within one tick, and no more than the shortest, above the first): a worker
          // timeout of 2 s checked once a second cut 2.006-2.899 s after four requests.
          const picked = pickTimer(stallCluster, limitCluster, ctx.options);
          const stallTicked =
            stallCluster !== null ? tickedSpread(timedSilences, stallCluster) : picked === null && !abrupt ? tickAbove(timedSilences, options, ctx.options.minIdleTimeout) : null;
          const limitTicked =
            limitCluster !== null ? tickedSpread(waits, limitCluster) : picked === null && stallTicked === null ? tickAbove(waits, options, ctx.options.minIdleTimeout) : null;
          const stall = stallTicked !== null ? tickedTimeout(stallTicked) : stallCluster;
          const limit = limitTicked !== null ? tickedTimeout(limitTicked) : limitCluster;
          // Which timer is decided by the tight clusters; a tick's spread only says where it lies.
          // Responses sent whole at once and then held open have silences equal to their times since
          // the request: either kind of timer fits.
          const alike =
            stallCluster !== null &&
            limitCluster !== null &&
            stallCluster.samples === limitCluster.samples &&
            Math.abs(stallCluster.value - limitCluster.value) <= Math.max(ctx.options.spreadFraction * limitCluster.value, ctx.options.spreadAbsolute);
          const timed: Mechanism =
            alike && stallCluster.value >= ctx.options.minIdleTimeout ? 'either'
            : (picked ?? (stallTicked !== null ? 'stall' : limitTicked !== null ? 'time-limit' : abrupt ? 'abrupt' : 'mixed'));
          const soft = software.softwareOf(server);
          // A proxy that passes its backend's Server header on (HAProxy does) does not name itself by it.
          const passedOn = soft !== null && own.some((x) => x.upstream !== null && software.softwareOf(x.upstream.server) === soft);
          const named = soft !== null && soft !== '' && !passedOn ? soft : null;
          const withUpstream = own.filter((x) => x.upstream !== null).length;
          const n = own.length;
          const relayedCount = all.length - own.length;
          // A timer on the silence between bytes fires at the first silence as long as its value: a
          // response that had paused as long between its data before, and gone on, was not under
          // such a timer (one counterexample is enough; within spreadFraction, the capture's jitter).
          // Then the cut came at the server's own pace (blind round 13, S18: a server that wrote a
          // chunk every 0.2 s and exited 0.2 s after its third, read as a 201.5 ms stall timeout).
          const pauses = own.map((x) => (x.upstream !== null ? x.upstream.earlierPause : x.t.earlierPause));
          const longestPause = Math.max(...pauses);
          const outlasted = (value: number): boolean => longestPause >= value * (1 - ctx.options.spreadFraction);
          // Such a timer fires no sooner than its value: at or below the shortest silence it cut after
          // (a cluster's lowest; a tick's shortest is its value already).
          const clusterLow = stallTicked === null ? (inferTimeoutRange(timedSilences, options)?.lo ?? null) : null;
          const stallValue =
            timed === 'stall' || timed === 'either' ? (stall === null ? null : (clusterLow ?? stall.value))
            : timed === 'mixed' && n === 1 ? silences[0]
            : null;
          const paced = stallValue !== null && stallValue >= ctx.options.minIdleTimeout && outlasted(stallValue);
          // The same time since the request with bodies of different lengths is a limit on the whole
          // exchange's, whatever the pacing; with equal bodies it is no more than the same work done.
          const limitUsable = limit !== null && limit.value >= ctx.options.minIdleTimeout;
          const sameBodies = own.every((x) => x.t.received === own[0].t.received);
          // Every close one keep-alive idle timeout after its last byte, the same delay as the server's
          // idle closes (or its Keep-Alive hint): the server idled connections it took for done, and
          // a stall cluster at that value is its idle timer's, not a timer on the silence mid-body
          // (blind round 17 s13: Apache mod_cgid, three cuts "2.012 s stall" at KeepAliveTimeout 2).
          const idleOwn = own.filter((x) => x.idle !== null);
          const idleTimer = idleOwn.length > 0 ? idleOwn[0].idle : null;
          const mechanism: Mechanism =
            idleOwn.length === n && idleTimer !== null ? 'idle-close'
            : !paced ? timed
            : limitUsable && (timed === 'either' || !sameBodies) ? 'time-limit'
            : 'paced';
          const inferred: Record<string, InferredValue> = {};
          if (mechanism === 'idle-close' && idleTimer !== null) {
            // The idle closes and the closes after the cuts are one timer's samples.
            const lo = Math.min(idleTimer.lo, ...silences);
            const hi = Math.max(idleTimer.hi, ...silences);
            if (idleTimer.source === 'idle-closes') inferred.serverIdleTimeout = { value: idleTimer.value, samples: idleTimer.closes + n, spread: hi - lo };
            else inferred.advertisedKeepAliveTimeout = { value: idleTimer.value, samples: n, spread: 0 };
          }
          if (mechanism === 'stall' && stall !== null) inferred.responseStallTimeout = stall;
          if ((mechanism === 'time-limit' || mechanism === 'either') && limit !== null) inferred.responseTimeLimit = limit;
          if (mechanism === 'either' && stall !== null) inferred.responseStallTimeout = stall;
          const head = `${server}${named !== null ? ` (${named})` : ''} closed ${n === 1 ? 'a response in the middle of its body' : `${n} responses in the middle of their bodies`} with a FIN`;
          const hiddenOwn = own.flatMap((x) => {
            const w = hiddenBy.get(x.t);
            return w === undefined ? [] : [w];
          });
          const clientView =
            hiddenOwn.length === n
              ? `Its client, a proxy, read the body end early; the proxy's own client${n === 1 ? '' : 's'} did not (below).`
              : `Clients see the body end early: ${cutBodyErrors(own.map((x) => x.t))}; a proxy in front of them answers 502 or passes the cut on${hiddenOwn.length > 0 ? ', or hides it (below)' : ''}.`;
          let explanation: string;
          let remedy: string;
          if (mechanism === 'idle-close' && idleTimer !== null) {
            const setting = keepAliveSetting(named);
            const stops = own.map((x) => `frame ${x.t.lastByteFrame} (${timeOfDay(x.t.lastByteTs)} UTC)`);
            const stopsText = stops.length > 6 ? `${stops.slice(0, 6).join(', ')}, ...` : stops.join(', ');
            const lo = Math.min(...silences);
            const hi = Math.max(...silences);
            const later = ms(hi) > ms(lo) ? `${ms(lo)}-${ms(hi)} s` : `${ms(lo)} s`;
            const bodies = own.every((x) => x.t.declared < 0) ? 'without the last chunk of a chunked body' : own.every((x) => x.t.declared >= 0) ? 'short of the Content-Length' : 'short of the body declared';
            explanation =
              `${head}, yet no timer cut ${n === 1 ? 'it' : 'them'} mid-body: the server stopped sending at ${n === 1 ? '' : 'their last bytes, '}${stopsText}, ${bodies}, ` +
              `and closed the connection ${later} later: one keep-alive idle timeout, ${keepAliveEvidence(idleTimer)}. ` +
              `So it took ${n === 1 ? 'the response' : 'these responses'} for complete: the handler that produced ${n === 1 ? 'it' : 'them'} ended early (a CGI script or handler that died or failed mid-body, an upstream that ended its body early) ` +
              `and the server neither finished the body nor closed at once. The cut happened at the last byte; the close only ended an idle connection. ${clientView}`;
            remedy =
              `Look in ${server}'s error log when ${n === 1 ? 'the body' : 'each body'} stopped, ${stopsText}, not at the close: ${abortedBodyLog(named)}. ` +
              `Fix the handler (or its upstream) so it finishes its body. No read, proxy or response timeout cut ${n === 1 ? 'it' : 'them'}: raising one ` +
              `(${named !== null && APACHE.test(named) ? '`ProxyTimeout`, `Timeout`' : 'a read timeout, a write timeout'}) changes nothing, and the keep-alive timeout${setting !== '' ? `, ${setting},` : ''} only decided when the idle connection was closed.`;
          } else if (mechanism === 'stall' && stall !== null) {
            explanation =
              `${head}, ${
                lazyShared !== null
                  ? `after ${withUpstream > 0 ? 'its backend' : 'it'} had sent nothing for ${ms(Math.min(...silences))}-${ms(Math.max(...silences))} s mid-body`
                  : agreement(stall, stallTicked, n, (v) => `after ${withUpstream > 0 ? 'its backend' : 'it'} had sent nothing for ${v} s mid-body`)
              }` +
              (withUpstream > 0 ? `, and closed the upstream leg of ${withUpstream === n ? 'each' : `${withUpstream} of them`} at the same moment: its backend stalled mid-body` : '') +
              `. A timer that measures silence between bytes gave up on a response still being produced: ${stallSettings(named)}.${lazyShared !== null ? sharedLazyText(lazyShared) : ''} ${clientView}`;
            remedy =
              `Find why the backend pauses ${ms(stall.value)} s or more in the middle of a body (a slow query between chunks, a blocked stream, a lock). ` +
              `If long pauses are expected (reports, exports, streaming endpoints), raise that read timeout for those routes only, or have the backend send data (or SSE comments) well inside it.`;
          } else if (mechanism === 'time-limit' && limit !== null) {
            explanation =
              `${head}, ${agreement(limit, limitTicked, n, (v) => `${v} s after the request began`)}, however long it had been sending: ` +
              `a limit on the whole exchange, not a stall: ${timeLimitSettings(named)}. Large or slow downloads, and slow clients, outlast it. ${clientView}`;
            remedy =
              `Raise that limit above the longest legitimate response (for a Go server, leave WriteTimeout at 0 and bound handlers with a context, or extend the deadline per request with http.ResponseController.SetWriteDeadline), ` +
              `or move large transfers to a route or server without it (or serve them resumably, with Range requests).`;
          } else if (mechanism === 'either' && limit !== null) {
            explanation =
              `${head}, each ${ms(limit.value)} s after its request began (${limit.samples} of ${n} agree, spread ${ms(limit.spread)} s), having sent nothing since its first bytes: ` +
              `either a timer on the silence between bytes, ${stallSettings(named)}; or a limit on the whole exchange, ${timeLimitSettings(named)}. These responses cannot tell which. ${clientView}`;
            remedy =
              `Find what holds these responses ${ms(limit.value)} s after their first bytes (a backend stalled mid-body, a slow query), and which of the two timers the server or its proxy sets to that value; ` +
              'raise it for these routes only if such responses are legitimate.';
          } else if (mechanism === 'paced' && stallValue !== null) {
            const k = pauses.filter((p) => p >= stallValue * (1 - ctx.options.spreadFraction)).length;
            const silenceText =
              stall !== null && n > 1 ? `each after ${ms(stall.value)} s without a byte mid-body (${stall.samples} of ${n} agree, spread ${ms(stall.spread)} s)` : `after ${ms(silences[0])} s without a byte mid-body`;
            explanation =
              `${head}, ${silenceText}, yet no timer on the silence between bytes cut ${n === 1 ? 'it' : 'them'}: ` +
              `${n === 1 ? 'the response' : k === n ? 'each response' : `${k} of them`} had already paused as long between ${n === 1 || k === n || k === 1 ? 'its' : 'their'} data (up to ${ms(longestPause)} s) and gone on, where such a timer would have fired. ` +
              `The server ended ${n === 1 ? 'it' : 'them'} itself, at its own pace (no later than its next data would have come): the application stopped and closed (the process exited or crashed, a worker was killed or restarted, an error mid-stream).`;
            if (limitUsable && limit !== null && n > 1) {
              explanation +=
                ` They also ended ${ms(limit.value)} s after their requests (${limit.samples} of ${n} agree) with bodies of the same length: ` +
                `a limit on the whole exchange that takes effect at the handler's next write (Go's http.Server \`WriteTimeout\`) would cut them so too; the server's log tells which.`;
            }
            explanation += ` ${clientView}`;
            remedy =
              `Look in the server's error log, and at its process manager (exit status, restarts; the kernel's OOM killer in \`dmesg\`), ${n === 1 ? `at ${timeOfDay(own[0].t.closeTs)} UTC` : 'at these times'} ` +
              `for what ended ${n === 1 ? 'this response' : 'these responses'} after ${n === 1 ? 'its' : 'their'} headers were sent. No proxy or read timeout needs raising for ${n === 1 ? 'it' : 'them'}.`;
          } else if (mechanism === 'abrupt') {
            explanation =
              `${head}, ${n === 1 ? '' : 'each '}right after its last byte (within ${ms(ctx.options.minIdleTimeout)} s): no timer ran out; the application ended the response early. ` +
              `An error while streaming (an exception, a handler panic, a worker killed, a backend connection lost), or a Content-Length larger than the body it wrote. ${clientView}`;
            remedy =
              `Look in the server's error log ${n === 1 ? `at ${timeOfDay(own[0].t.closeTs)} UTC` : 'at these times'} for errors raised after the response headers were sent (or a worker killed, or the process restarted); check that the Content-Length it declares matches what it writes.`;
          } else if (n === 1) {
            // One cut infers no timer, yet a close after a long silence with nothing wrong in between
            // is most often one: say what to look for, and how a second cut would tell which.
            const [only] = own;
            const silence = silences[0];
            // A silence little longer than the pauses the response had already made and gone on
            // after is the server's pace as much as a timer's (blind round 14, S3a: chunks every
            // 0.305 s, then a process exit whose teardown took 0.06 s more, read as 'most often a timer').
            const nearPace = longestPause > 0 && silence <= longestPause * NEAR_PACE;
            const logHint = timeoutLogHint(named, [only.upstream]);
            // With no idle close and no Keep-Alive hint of this server to compare, the close may
            // still be its keep-alive timer after a body it took for finished (blind round 17 s13b:
            // Apache, one cut, closed 5.012 s after its last byte at KeepAliveTimeout 5; the error
            // was logged at the last byte). Only for a cut of its own whose silence is timed.
            const idleUnseen =
              only.upstream === null && !only.t.drained && !only.t.closeUnseen && silence >= ctx.options.minIdleTimeout && !nearPace && timerOf(server) === null;
            // The named server's own default keep-alive timeout equal to the silence (Apache's 5 s) makes
            // the idle close the likelier reading: a timer on the silence that short is no default of its.
            const idleDefaults = idleUnseen ? matchKnown(silence, KNOWN_IDLE_TIMEOUTS, soft).filter((k) => k.side === 'server') : [];
            const idleLikely = named !== null && idleDefaults.some((k) => k.software !== undefined && k.software.test(named));
            const idleSetting = keepAliveSetting(named);
            const stopped = `${timeOfDay(only.t.lastByteTs)} UTC (frame ${only.t.lastByteFrame})`;
            const idleReading =
              'a server that took the response for finished (a CGI script or handler that died mid-body, an upstream that ended its body early) stops at the last byte ' +
              `and closes the connection only when its keep-alive idle timeout runs out${idleSetting !== '' && !idleLikely ? `, ${idleSetting}` : ''}; ` +
              `this capture shows no idle close of ${server} and no Keep-Alive hint to compare the ${ms(silence)} s with. Then the cut came at ${stopped}, where its error log has it, not at the close.`;
            const timerReading =
              `a timer on the silence between bytes, ${stallSettings(named)}; or a limit on the whole exchange, ${timeLimitSettings(named)}`;
            const lazyText = only.lazy !== null ? lazyRangeText(only.lazy) : '';
            const closedAfter =
              `${head} after ${ms(silence)} s without a byte mid-body${only.upstream !== null ? ' from its backend' : ''}, ${ms(only.t.sinceRequest)} s after the request began` +
              `${only.upstream !== null ? `, and closed its upstream leg to ${only.upstream.server} at the same moment: its backend stalled mid-body` : ''}`;
            explanation =
              closedAfter +
              (idleLikely
                ? `: ${ms(silence)} s is ${idleDefaults.map((k) => k.name).join(' / ')}, and no timer need have cut it mid-body: ${idleReading} ` +
                  `Otherwise a timer cut it: ${timerReading}. A capture that holds the server's idle closes tells which.${lazyText} ${clientView}`
                : '. ' +
                  (nearPace
                    ? `The response had already paused up to ${ms(longestPause)} s between its data and gone on, and this silence is little longer: the server may have ended it itself at its own pace ` +
                      `(the process exiting or crashing, a worker killed, an error mid-stream, whose close took a moment more than a pause), or a timer set just above that pace cut it: ` +
                      `${timerReading}. One cut cannot tell which. ${clientView}`
                    : `One cut infers no timer, but a close after such a silence is most often one: ${timerReading}. Should it recur, the value it recurs at tells which: the silence, or the time since the request.` +
                      `${lazyText}${idleUnseen ? ` Or no timer cut it mid-body: ${idleReading}` : ''} ${clientView}`));
            const stoppedRemedy = `look in ${server}'s error log at ${stopped}, when the body stopped: ${abortedBodyLog(named)}; then fix the handler, and no timeout needs raising.`;
            remedy =
              (idleLikely ? `First ${stoppedRemedy} If instead a timeout is logged at the close, ` : '') +
              (nearPace
                ? `Look in ${server}'s ${logHint.log} and at its process manager (exit status, restarts) at ${timeOfDay(only.t.closeTs)} UTC for what ended it: a timeout (${logHint.hint}) or the process going away; `
                : `${idleLikely ? 'at' : `Look in ${server}'s ${logHint.log} at`} ${timeOfDay(only.t.closeTs)} UTC ${idleLikely ? '' : 'for the timeout that closed it '}(${logHint.hint}); `) +
              `if this response legitimately pauses (an event stream, a long poll, a slow report), have the backend send data (or SSE comments) well inside ${ms(silence)} s, ` +
              'or raise that timer for this route only. ' +
              // The other candidate: sending data sooner does not help against a limit on the whole
              // exchange, and a time limit that ran from the request head's end (Go's WriteTimeout)
              // or from later cannot exceed the time since the request (blind round 15 S12: Go
              // WriteTimeout 1 s, cut 1.239 s after the request, at the handler's next write).
              `If instead a limit on the whole exchange cut it, it is set at or below ${ms(only.t.sinceRequest)} s: raise it for this route only` +
              // Go's net/http sends no Server header: a server that names its software is no Go server.
              (named === null
                ? ' (a Go handler can extend its own write deadline past the server\'s WriteTimeout: `http.NewResponseController(w).SetWriteDeadline`, Go 1.20).'
                : '.') +
              (idleUnseen && !idleLikely ? ` If no timeout is logged at the close, ${stoppedRemedy}` : '');
          } else {
            // A limit the server enforces only at the handler's next write after it (Go's
            // WriteTimeout: a write deadline) cuts each response when its handler next writes, so
            // its cuts agree on no time since the request; each came no sooner than the setting
            // (blind round 15 S12 and response-truncated-hidden-by-caddy: WriteTimeout 1 s, cuts
            // at 1.236 and 1.544 s, written every 0.2 and 0.3 s). Only for a server that names no
            // other software (Go's net/http sends no Server header).
            const earliest = Math.min(...own.map((x) => x.t.sinceRequest));
            const lazyLimit = named === null
              ? `A limit enforced only at the handler's next write or flush after it, Go \`http.Server.WriteTimeout\` (timed from the end of the request head), ` +
                `cuts each response at its own time, no sooner than the setting: if it is the cause, it is set at or below ${ms(earliest)} s (the earliest cut after its request). Otherwise `
              : '';
            explanation =
              `${head}, at times that agree neither as a silence before the close nor as a time since the request: no timer that fires at a fixed time. ` +
              `${lazyLimit}${lazyLimit !== '' ? 's' : 'S'}erver errors mid-stream, workers killed or restarted, or several timeouts at once. ${clientView}`;
            remedy =
              'Look in the server\'s error log at these times; the evidence gives each response\'s silence before the close and its time since the request.' +
              (lazyLimit !== '' ? ` A Go server logs nothing for a WriteTimeout (its handler's writes fail with "i/o timeout"): compare its WriteTimeout with ${ms(earliest)} s.` : '');
          }
          if (mechanism !== 'idle-close' && idleOwn.length > 0 && idleTimer !== null) {
            const k = idleOwn.length;
            explanation +=
              ` ${k === 1 ? 'One of them' : `${k} of them`} (${idleOwn.map((x) => x.id).join(', ')}) closed one keep-alive idle timeout after ${k === 1 ? 'its' : 'their'} last byte instead ` +
              `(${keepAliveEvidence(idleTimer)}): the server took ${k === 1 ? 'that response' : 'those'} for finished and idled the connection; ${k === 1 ? 'its' : 'their'} cut came at the last byte, where the server's error log has it.`;
          }
          if (drained > 0 && (mechanism === 'time-limit' || mechanism === 'either')) {
            explanation += ` ${drained === 1 ? 'One cut' : `${drained} cuts`} whose FIN came right behind data the client was taking slowly (its window closed) ${drained === 1 ? 'is' : 'are'} left out of the timing: the server's kernel was still sending what the application had written when it closed.`;
          }
          // Cuts at one instant across connections are one event's: a kill, crash or restart ends every
          // response at once, whatever each had been doing; a per-response timer only if they began together.
          const closes = own.map((x) => x.t.closeTs);
          const closeSpread = Math.max(...closes) - Math.min(...closes);
          if (n >= 2 && closeSpread <= LEGS_TOGETHER) {
            explanation +=
              mechanism === 'abrupt' || mechanism === 'mixed'
                ? ` ${n === 2 ? 'Both' : `All ${n}`} were cut within ${ms(closeSpread)} s of each other: one event ended them (the process killed, crashed or restarted), not each response's own error.`
                : ` ${n === 2 ? 'Both' : `All ${n}`} were cut within ${ms(closeSpread)} s of each other, as one event would cut them (the process killed or restarted): with requests that began together, that reads the same.`;
          }
          if (hiddenOwn.length > 0) {
            const k = hiddenOwn.length;
            const proxies = [...new Set(hiddenOwn.map((w) => w.server))].slice(0, 3).join(', ');
            const ends = [...new Set(hiddenOwn.map(wholeEnd))].join(', or ');
            explanation +=
              ` The proxy in front (${proxies}) passed ${k === 1 ? (n === 1 ? 'the cut body' : 'one cut body') : `${k} cut bodies`} on to its client${k === 1 ? '' : 's'} as whole: ` +
              `it ended its own response normally (${ends}, ${[...new Set(hiddenOwn.map((w) => w.status))].join('/')}) with no more body bytes than the backend had sent. ` +
              `${k === 1 ? 'Its client saw no error: it got' : 'None of its clients saw an error: each got'} a truncated body as a complete, successful response (silent data loss, worse than an error: nothing retries it or reports it). ` +
              "Caddy's reverse_proxy ends the chunked stream so when its backend's body breaks off (it logs \"aborting with incomplete response\"); nginx with proxy_buffering off closes its client's connection mid-body instead, which the client sees.";
            remedy +=
              ` Until then, ${k === 1 ? 'the response the proxy\'s client took' : 'the responses the proxy\'s clients took'} as complete ${k === 1 ? 'is' : 'are'} not: whatever ${k === 1 ? 'it' : 'they'} stored or passed on from ${k === 1 ? 'it' : 'them'} is cut short; ` +
              'a client can only tell by checking the body itself (a length or checksum in the payload, a closing record).';
          }
          if (relayedCount > 0) explanation += ` It also passed on ${relayedCount} cut${relayedCount === 1 ? '' : 's'} its backend made first.`;
          // A proxy's findings that passed these cuts on are this server's doing: listed here, with their
          // proxy named; and those of a proxy in front of that one, which passed on the first proxy's
          // cut, hop by hop (blind round 16, S12: HAProxy in front of nginx in front of the app; the
          // header counted the app's and nginx's findings, and HAProxy's were in no diagnosis).
          const relays: { id: string; server: string }[] = [];
          const relayedOwn = own.filter((x) => (relayersOf.get(x.t)?.length ?? 0) > 0).length;
          const counted = new Set<Truncation>(own.map((x) => x.t));
          let hop = own.map((x) => x.t);
          let hops = 0;
          while (hop.length > 0) {
            hops++;
            const next: Truncation[] = [];
            for (const cut of hop) {
              for (const r of relayersOf.get(cut) ?? []) {
                if (counted.has(r.t)) continue;
                counted.add(r.t);
                relays.push(r);
                next.push(r.t);
              }
            }
            hop = next;
          }
          hops--; // the last round found none
          if (relays.length > 0) {
            // Nearest proxy first (relays are gathered hop by hop).
            const servers = [...new Set(relays.map((r) => r.server))];
            const cuts = relayedOwn === 1 ? 'the cut' : `${relayedOwn} of the cuts`;
            const list = `${servers.slice(0, 3).join(', ')}${servers.length > 3 ? ', ...' : ''}`;
            explanation +=
              servers.length === 1
                ? ` A proxy in front (${servers[0]}) passed ${cuts} on to its client${relayedOwn === 1 ? '' : 's'}: the cause is here, not at the proxy.`
                : hops > 1
                  ? ` Proxies in front (nearest first: ${list}) passed ${cuts} on, hop by hop, to their clients: the cause is here, not at the proxies.`
                  : ` Proxies in front (${list}) passed ${cuts} on to their clients: the cause is here, not at the proxies.`;
          }
          // Cuts that were a client's at-once resend of another cut here (retried-request after a
          // body cut: Ruby's Net::HTTP resends an idempotent request once when its body breaks off):
          // one call failed for both, and the server ran the request twice (blind round 15 S15).
          const ownIds = new Set(own.map((x) => x.id));
          const cutFlows = new Set(ctx.findings('response-truncated').filter((f) => ownIds.has(f.id)).map((f) => f.flowId));
          const resends = ctx.findings('retried-request').filter((f) => f.evidence.responseCut === true && cutFlows.has(f.flowId) && cutFlows.has(Number(f.evidence.failedFlowId)));
          if (resends.length > 0) {
            const r = resends.length;
            explanation +=
              ` ${r === 1 ? 'One of these cuts was' : `${r} of these cuts were`} its client's resend of another cut here, on a new connection at once (${resends.map((f) => f.id).join(', ')}: ` +
              `as Ruby's Net::HTTP does for an idempotent request whose body breaks off): ${n - r} call${n - r === 1 ? '' : 's'} failed, and ${r === 1 ? 'that request' : 'each of those requests'} reached the server twice.`;
          }
          ctx.diagnose({
            server,
            count: n,
            inferred,
            explanation,
            remedy,
            anomalyIds: [...own.map((x) => x.id), ...relays.map((r) => r.id)],
          });
        }
      },
    };
  },
};
