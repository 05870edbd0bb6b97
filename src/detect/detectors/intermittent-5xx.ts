import { packedStatus, unpackedStatus, type HttpExchange } from '../../http/exchange';
import type { AnalyzedConnection } from '../analyzed-connection';
import { Answer, AnswerList, AnswerLog } from '../answer-log';
import type { DetectContext, DetectorDefinition } from '../detector';
import { at, hostOf, microsAsMs } from '../facts';
import { RefusalsDuring } from '../refusals-during';
import type { Finding } from '../finding';
import { inferTimeout, median } from '../infer-timeout';
import type { InferredValue } from '../finding';
import { SERVER_SOFTWARE, ServerSoftware } from '../server-software';
import { FAST_GATEWAY_FAILURE, failureKey, LegRequest, refusedConnect, relayClosure, relayedToClientsText, sharedProxyLegs } from '../proxy-legs';

/**
 * intermittent-5xx: one server endpoint answers the same kind of request (method + path, query
 * left out) with 2xx sometimes and 5xx other times. Reported once per endpoint and kind of
 * request, at the end of the capture, with the ratio and the shape of the failures:
 *
 * - failures follow connections (every connection all-2xx or all-5xx) while interleaved in time:
 *   the signature of two processes behind one port — e.g. a stale listener left by a reload with
 *   SO_REUSEPORT, the kernel hashing each new connection to one of them;
 * - failures in one period: an outage or a restart;
 * - failures mixed within connections: a flaky backend or dependency.
 *
 * 5xx answers already explained as a proxy's upstream timeout (gateway-timeout), a request the
 * proxy never sent upstream (no-upstream-connect) or one its pool failed on a connection the backend
 * had just closed (keepalive-race, pool-picked-closed) are left out: those detectors run before this one.
 * So are a proxy's 5xx whose forwarded request failed on its upstream connection in a way another
 * detector names (keepalive-race, reset-before-response, unanswered-request): nginx answers 502 to a POST its pooled
 * upstream connection lost to the backend's idle close, and those 502s alternate with successes on
 * the client's connection like a flaky handler's would. Likewise when those detectors cannot judge
 * it because the snaplen cut the backend's Connection field off its responses: a forwarded request
 * the backend closed its connection on without answering is the upstream failure, not a flaky
 * handler (the proxy's 502s of a capture taken with -s 128 are the races of the whole capture).
 * And when nothing upstream is seen for a 5xx but an upstream connection of the proxy lost bytes
 * from the capture meanwhile (phase `lost`): the forwarded request and its failure may be there.
 */

/**
 * Kinds of finding on a proxy's upstream connection that explain the 5xx it answered meanwhile. An
 * unanswered forwarded request (the backend closed on it: killed, restarted, a Go handler past its
 * WriteTimeout) is unanswered-request's, whose diagnosis names why: the 5xx the proxy made of it is
 * that failure, not a second one (restart-reload-nginx: the four /w 502s of the kill).
 */
const UPSTREAM_FAILURE_KINDS = ['keepalive-race', 'reset-before-response', 'unanswered-request'] as const;

/**
 * How soon after the forwarded request's last byte the backend's FIN (with its kernel's RST behind)
 * still tells of a socket closed with the request unread (seconds): an idle timer's close that met
 * it, lazily (a close() some ms after the timer fired: Python's http.server 15-20 ms), whatever
 * keepalive-race could judge of it. An application that read the request and worked on it first
 * takes longer.
 */
const RACE_CLOSE_AFTER_REQUEST = 0.1;

/**
 * The upstream copy of a failed request met the signature of an upstream keep-alive race: a reused
 * connection (not its first request) that the backend closed, unanswered, with FIN and then RST
 * right after the request reached it. The proxy's 5xx passes that failure on (nginx's 502 for a
 * POST it may not send again), even where keepalive-race's own judgement stayed uncertain.
 */
function upstreamRaceSignature(r: LegRequest | null): boolean {
  if (r === null || r.responseStart !== null || r.index < 2) return false;
  const leg = r.leg;
  const end = r.end ?? r.start;
  return leg.closedBy === 'backend' && leg.resetBehindFin === true && leg.closeTs >= end && leg.closeTs - end <= RACE_CLOSE_AFTER_REQUEST;
}

/** A kind of request needs this many failed and this many successful answers to be intermittent. */
const MIN_FAILURES = 2;
const MIN_SUCCESSES = 2;
const MAX_KINDS = 2_000;

/** Bad Gateway: a gateway that got no valid answer from upstream (503 is as often an application's own). */
const BAD_GATEWAY = 502;
const SERVICE_UNAVAILABLE = 503;
/**
 * Varnish answers 503 "Backend fetch failed" where other proxies answer 502: for a backend
 * connection reset or closed under the request (a keep-alive race), refused, or timed out (blind
 * round 15, stacks S4: its 503s in 5 ms between successes were told as a server outage).
 */
const VARNISH = /varnish/i;
/**
 * The statuses a limit on a client's concurrent requests answers with, without passing the request
 * on: nginx limit_conn (503 by default, limit_conn_status), HAProxy `http-request deny` on a
 * connection count (403 by default, deny_status 429 or 503 as usually set), Envoy's circuit
 * breakers (503 "upstream overflow"). Only the 5xx among them reach this detector.
 */
const LIMIT_STATUS = SERVICE_UNAVAILABLE;
/**
 * A limit's rejection is answered at the pace of a local decision: the failures' slowest delay
 * at most this fraction of the successes' median (which stands for the round trip to whatever
 * serves them), and no slower than FAST_GATEWAY_FAILURE.
 */
const LIMIT_PACE_FRACTION = 0.1;
/** Answers of one server looked through for the requests in flight at each failure (bounded work). */
const MAX_IN_FLIGHT_SCAN = 4_096;

/**
 * Failures told as a concurrency limit's rejections: each answered at once while the same client
 * host had other requests to the server in flight (sent before the failure was answered, answered
 * after it). `inFlight` is the fewest and most such requests at a failure.
 */
interface ConcurrencyLimit {
  inFlight: [number, number];
  /** Client hosts the server answered in the capture, other than those that got these failures. */
  otherHosts: number;
}

/** Answers remembered per kind for the time/connection analysis (counts go on beyond). */
const MAX_RECORDS_PER_KIND = 256;
const FAIL_FRAMES_SHOWN = 5;
const OK_FRAMES_SHOWN = 3;
const CLIENTS_LISTED = 10;

/**
 * A kind is also the list of its remembered answers in the detector's answer log (the first
 * MAX_RECORDS_PER_KIND). With a list object of its own, reached through the kind for every
 * answer, the compiled handler met a list of another shape (map) than it was compiled for, and
 * was thrown away and compiled again.
 */
interface Kind extends AnswerList {
  server: string;
  method: string;
  path: string;
  /** Every 5xx and 2xx answer counted, remembered or not (those beyond the remembered ones are these less the remembered). */
  failedCount: number;
  okCount: number;
}

/**
 * `interleaved`: failures and successes alternate in time, but each connection carried one
 * request: whether failures follow connections or requests cannot be told.
 */
type Pattern = 'per-connection' | 'one-period' | 'within-connections' | 'interleaved';

/** The statuses a gateway answers when its upstream attempt failed (500 is as often the application's own). */
const GATEWAY_STATUSES: ReadonlySet<number> = new Set([502, 503, 504]);
/**
 * 5xx answers that share one delay from their requests (within max(2 %, 10 ms)) came when a timer
 * fired: a proxy's upstream connect or read timeout (Varnish's connect_timeout and
 * first_byte_timeout answer 503, Squid's 503 and 504, nginx's 504). From this delay on (seconds):
 * a refused connect or a reset pooled connection fails within ms (FAST_GATEWAY_FAILURE), timeouts
 * are whole seconds or hundreds of ms.
 */
const TIMER_MIN_DELAY = 0.25;
const TIMER_AGREEMENT = { fraction: 0.02, absolute: 0.01, minSamples: 2 };

/** The one delay most of these gateway failures shared (at least two, at least half of them), or null. */
function sharedTimerDelay(delays: readonly number[]): InferredValue | null {
  const cluster = inferTimeout(delays, TIMER_AGREEMENT);
  return cluster !== null && cluster.value >= TIMER_MIN_DELAY && cluster.samples * 2 >= delays.length ? cluster : null;
}

/** Seconds to the millisecond, for a delay said in seconds. */
function seconds(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/**
 * Whether a response came to a client that had already given up on it: it began after the client's
 * RST, or after its FIN with the client's RST answering it (a client that half-closed and still read
 * acknowledges the response instead), or the HTTP stage saw it so (responseAfterClientClose).
 */
function answeredNobody(ex: HttpExchange, conn: AnalyzedConnection): boolean {
  if (ex.responseAfterClientClose === true) return true;
  if (ex.responseStart === null) return false;
  const c = conn.client;
  const t = ex.responseStart;
  return (c.rstTs >= 0 && c.rstTs < t) || (c.finTs >= 0 && c.finTs < t && c.rstTs >= t);
}

/** The delays of the gateway failures (502/503/504) whose upstream side the capture does not show. */
function timedGatewayDelays(failed: readonly Answer[], unseen: ReadonlySet<string>): number[] {
  const delays: number[] = [];
  for (const a of failed) if (GATEWAY_STATUSES.has(a.status) && a.delay !== null && unseen.has(`${a.flowId}#${a.index}`)) delays.push(a.delay);
  return delays;
}

/** What a proxy's 502s answered at once tell (FAST_GATEWAY_FAILURE), its upstream side unseen: said by the fast finding and by an intermittent one. */
const FAST_502_CAUSES_ONLY =
  `the proxy failed them at once, at the pace of a local failure. Its upstream connection was reset or closed under the request ` +
  `(a pooled keep-alive connection the backend had just closed idle: a keep-alive race), or the backend refused the connection.`;
const FAST_502_CAUSES = `${FAST_502_CAUSES_ONLY} This capture does not show the proxy's upstream side, which alone tells these apart.`;
const FAST_502_REMEDY =
  `Capture the proxy's upstream side as well (on its host, \`-i any\`), or read its error log (ECONNRESET, "socket hang up", ` +
  `"upstream prematurely closed", "connection refused"). For a keep-alive race, make the proxy's pool drop idle upstream ` +
  `connections before the backend does (or raise the backend's idle timeout); for a refused connection, find why the backend is not listening.`;

/** Said where Varnish's 503 stands for the 502 of other proxies (gatewayFailureStatus). */
function varnishNote(statuses: readonly number[]): string {
  return statuses.includes(SERVICE_UNAVAILABLE) ? ' (Varnish answers 503 "Backend fetch failed" where other proxies answer 502)' : '';
}

/** How many proxies deep a relay is followed to the answer it passed on (a loop of relays is no chain). */
const MAX_RELAY_HOPS = 8;

const TIMER_REMEDY =
  'Read in the proxy\'s log which timeout fired (or capture its upstream side too): Varnish `connect_timeout` / `first_byte_timeout`, ' +
  'Squid `connect_timeout` / `read_timeout`, nginx `proxy_connect_timeout` / `proxy_read_timeout`; then make the backend connect and answer within it, or raise it.';

/** What a diagnosis says of gateway failures that shared one delay: a timer's, named with the delay. */
function timerText(timer: InferredValue, subject: string): string {
  const spread = timer.spread > 0 ? ` (within ${microsAsMs(timer.spread)} ms)` : '';
  return (
    `${subject} came ${seconds(timer.value)} s after their requests${spread}: ` +
    `one delay is a timer's, most likely the proxy's own upstream timeout (connect or read) giving up on its backend ` +
    `(Varnish's connect_timeout and first_byte_timeout answer 503, Squid's connect_timeout and read_timeout 503 or 504, nginx's proxy_connect_timeout and proxy_read_timeout 504), ` +
    `or the application's timeout on a dependency. This capture does not show the proxy's upstream side, which would tell connect from read.`
  );
}


/**
 * Where the failures were, in words that say what is counted: connections that got only 5xx,
 * connections that carried failures among successes. A connection that carried a 5xx did not
 * itself fail (no reset, no close under a request).
 */
function failedOnText(onlyFailed: number, mixed: number, connections: number): string {
  const conns = (n: number): string => `${n} connection${n === 1 ? '' : 's'}`;
  const parts: string[] = [];
  if (onlyFailed > 0) parts.push(`${conns(onlyFailed)} got only 5xx`);
  if (mixed > 0) parts.push(`${conns(mixed)} carried failures among successes`);
  return `${parts.join(', ')}; ${connections} connection${connections === 1 ? '' : 's'} in all`;
}


/**
 * Whether `uri[start, end)` is a path segment that names one resource rather than a kind of
 * request: all digits, a UUID, or 16 or more hex digits among which at least one digit (so that
 * a word made of the letters a–f is not taken for an id). Read char by char: this runs for every
 * answered request, and a regular expression over a split path cost more than the rest of the
 * detector together.
 */
function isIdSegment(uri: string, start: number, end: number): boolean {
  const length = end - start;
  if (length === 0) return false;
  if (length === 36 && isUuid(uri, start)) return true;
  let digits = 0;
  for (let i = start; i < end; i++) {
    const c = uri.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) digits++;
    else if (!isHexLetter(c)) return false;
  }
  return digits === length || (length >= 16 && digits > 0);
}

/** a–f or A–F. */
function isHexLetter(c: number): boolean {
  return (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

/** 8-4-4-4-12 hex digits. */
function isUuid(uri: string, start: number): boolean {
  for (let at = 0; at < 36; at++) {
    const c = uri.charCodeAt(start + at);
    if (at === 8 || at === 13 || at === 18 || at === 23) {
      if (c !== 0x2d) return false;
    } else if (!((c >= 0x30 && c <= 0x39) || isHexLetter(c))) {
      return false;
    }
  }
  return true;
}

/**
 * The kind of request a URI is: its path without the query, with identifier segments replaced
 * by `{id}`. An API addressed by id (`/items/17`, `/orders/3f2a…`) sends each path once or twice,
 * so a backend failing every other request would never gather enough answers on one exact path.
 * Builds a string only when the URI has a query or an id segment.
 */
export function requestKindPath(uri: string): string {
  const query = uri.indexOf('?');
  const end = query < 0 ? uri.length : query;
  let kind: string | null = null;
  let copiedUpTo = 0;
  let segmentStart = 0;
  for (let i = 0; i <= end; i++) {
    if (i < end && uri.charCodeAt(i) !== 0x2f) continue;
    if (isIdSegment(uri, segmentStart, i)) {
      kind = (kind ?? '') + uri.slice(copiedUpTo, segmentStart) + '{id}';
      copiedUpTo = i;
    }
    segmentStart = i + 1;
  }
  if (kind === null) return query < 0 ? uri : uri.slice(0, query);
  return kind + uri.slice(copiedUpTo, end);
}

/** 32-bit FNV-1a: its offset basis, and one step. */
const FNV_BASIS = 0x811c9dc5;
function fnv(hash: number, c: number): number {
  return Math.imul(hash ^ c, 0x01000193);
}

/** FNV-1a of "{id}" after `hash`. */
function fnvId(hash: number): number {
  return fnv(fnv(fnv(fnv(hash, 0x7b), 0x69), 0x64), 0x7d);
}

/**
 * The FNV-1a hash of requestKindPath(uri), computed without building that string. Finding a kind
 * by its path text meant, for every answered request, a slice, for a path with an id a string
 * joined of pieces, then flattened and hashed by the map: with every detector, intermittent-5xx's
 * onExchange was 2.8 % of the analysis's time (the bench's capture), though the kind exists after
 * its first request. One pass: a segment's characters are hashed as they come, and hashed again
 * as "{id}" from the hash before it when it ends an id.
 */
export function kindPathHash(uri: string): number {
  const query = uri.indexOf('?');
  const end = query < 0 ? uri.length : query;
  let hash = FNV_BASIS;
  let beforeSegment = hash;
  let segmentStart = 0;
  for (let i = 0; i < end; i++) {
    const c = uri.charCodeAt(i);
    if (c !== 0x2f) {
      hash = fnv(hash, c);
      continue;
    }
    if (isIdSegment(uri, segmentStart, i)) hash = fnvId(beforeSegment);
    hash = fnv(hash, 0x2f);
    beforeSegment = hash;
    segmentStart = i + 1;
  }
  return isIdSegment(uri, segmentStart, end) ? fnvId(beforeSegment) : hash;
}

/** requestKindPath(uri) === path, without building the former (one pass, as kindPathHash). */
export function isKindPathOf(path: string, uri: string): boolean {
  const query = uri.indexOf('?');
  const end = query < 0 ? uri.length : query;
  // Where the current segment's text (or "{id}") begins in `path`, and whether its characters so far are path's there.
  let segmentAt = 0;
  let segmentStart = 0;
  let same = true;
  for (let i = 0; i <= end; i++) {
    const c = i < end ? uri.charCodeAt(i) : -1;
    if (c !== 0x2f && c !== -1) {
      if (same && path.charCodeAt(segmentAt + i - segmentStart) !== c) same = false;
      continue;
    }
    if (isIdSegment(uri, segmentStart, i)) {
      if (!path.startsWith('{id}', segmentAt)) return false;
      segmentAt += 4;
    } else {
      if (!same) return false;
      segmentAt += i - segmentStart;
    }
    if (c === 0x2f) {
      if (path.charCodeAt(segmentAt) !== 0x2f) return false;
      segmentAt++;
    }
    segmentStart = i + 1;
    same = true;
  }
  return segmentAt === path.length;
}

export const intermittent5xx: DetectorDefinition = {
  id: 'intermittent-5xx',
  meta: {
    description:
      'One server endpoint answers the same kind of request with 2xx on some connections and 5xx on others (e.g. a stale listener after a reload with SO_REUSEPORT).',
    severity: 'warning',
    messages: {
      found:
        '{request} at {server}: {failed} of {total} answers were {statuses} ({failedOn}){shape}',
      fastBadGateway:
        '{server} answered {status} to {failed} of {total} requests within {fastest}–{slowest} ms: the proxy failed them at once (its upstream connection reset, closed or refused; the capture does not show its upstream side)',
      fastBadGatewayRefused:
        '{server} answered {status} to {failed} of {total} requests within {fastest}–{slowest} ms: the proxy failed them at once, a connect to {refusedBy} refused meanwhile ({refusals})',
      timedGateway:
        '{server} answered {statuses} to {failed} requests {delay} s after each: one delay, a timer\'s (the proxy\'s upstream timeout; the capture does not show its upstream side)',
    },
  },
  create(ctx: DetectContext) {
    /** connection-refused's findings by time, asked in onFinish (refusedDuring). */
    const refusals = new RefusalsDuring(() => ctx.findings('connection-refused'));
    /** Every kind in the order first seen (the order findings come out in). */
    const kinds: Kind[] = [];
    const log = new AnswerLog();
    /**
     * Kinds by server, method and kindPathHash of their path (those of one hash told apart by
     * isKindPathOf): lookups with strings the exchange already has and a number, no key built per
     * exchange.
     */
    const kindIndex = new Map<string, Map<string, Map<number, Kind[]>>>();
    /** What proxies did upstream (shared with the detectors that pair proxy legs). */
    const legs = sharedProxyLegs(ctx);
    const software = ctx.shared(SERVER_SOFTWARE, () => new ServerSoftware());

    /**
     * The status `server` answers when its upstream connection fails under a request (a keep-alive
     * race, a refused connect): 502, or 503 where its answers name Varnish.
     */
    function gatewayFailureStatus(server: string): number {
      return VARNISH.test(software.softwareOf(server) ?? '') ? SERVICE_UNAVAILABLE : BAD_GATEWAY;
    }

    /** `a` is a gateway failure of `server` answered at once (FAST_GATEWAY_FAILURE): a local failure's pace. */
    function fastGatewayFailure(a: Answer, server: string): boolean {
      return a.delay !== null && a.delay <= FAST_GATEWAY_FAILURE && (a.status === BAD_GATEWAY || a.status === gatewayFailureStatus(server));
    }

    /**
     * The proxies' 5xx whose upstream side the capture does not show (phase invisible): what the
     * proxy did upstream for them cannot be paired, only how fast it failed them.
     */
    function upstreamUnseen(): Set<string> {
      const keys = new Set<string>();
      for (const p of legs.pair()) if (p.phase === 'invisible') keys.add(`${p.failure.flowId}#${p.failure.index}`);
      return keys;
    }

    /** A failure a front relayed from further down (relaysToOrigins): its key, answer and kind. */
    interface Origin {
      key: string;
      answer: Answer;
      kind: Kind;
    }

    /** The failures (failureKey) a finding of this detector counted, for the relays of them (relaysToOrigins). */
    const counted = new Set<string>();

    /**
     * The fronts' relays (ProxyLegs.relays: the same status came back on the front's upstream leg
     * within its wait) of a failure this detector remembers and nothing else explains, each with the
     * key of that origin: the relay followed hop by hop down to an answer no proxy relayed from
     * further down (HAProxy passing on nginx's 502s, nginx's upstream out of sight).
     */
    function relaysToOrigins(explained: ReadonlySet<string>): Map<string, Origin> {
      const relays = legs.relays();
      const out = new Map<string, Origin>();
      if (relays.size === 0) return out;
      const failedAnswers = new Map<string, Origin>();
      for (const kind of kinds) {
        if (kind.failedCount === 0) continue;
        for (const a of log.answers(kind)) if (a.failed) failedAnswers.set(failureKey(a), { key: failureKey(a), answer: a, kind });
      }
      for (const front of relays.keys()) {
        if (explained.has(front)) continue;
        let key = relays.get(front);
        for (let hop = 0; key !== undefined && hop < MAX_RELAY_HOPS; hop++) {
          const next = relays.get(key);
          if (next === undefined) break;
          key = next;
        }
        const origin = key !== undefined && !relays.has(key) && !explained.has(key) ? failedAnswers.get(key) : undefined;
        if (origin !== undefined) out.set(front, origin);
      }
      return out;
    }

    /** Whether reportFastBadGateways will count the origin (a 502 at once of a kind no finding covers, its upstream unseen). */
    function countedAsFast(origin: Origin, reported: ReadonlySet<Kind>, explained: ReadonlySet<string>, unseen: ReadonlySet<string>): boolean {
      const a = origin.answer;
      return (
        !reported.has(origin.kind) && fastGatewayFailure(a, origin.kind.server) && !explained.has(origin.key) && unseen.has(origin.key)
      );
    }

    /** " 127.0.0.2:8080 relayed 5 of them to its clients: …" for failures the fronts passed on (relayedToClientsText), or ''. */
    function relayedText(failed: readonly Answer[]): string {
      const text = relayedToClientsText(legs, new Set(failed.map((a) => failureKey(a))));
      return text === ''
        ? ''
        : ` ${text[0].toUpperCase()}${text.slice(1)} (each the same status come back on the front's upstream leg within its wait): ` +
          `one failure each, passed on, counted here and not as a failure of the front's own.`;
    }

    function explainedElsewhere(): Set<string> {
      const keys = new Set<string>();
      const failedUpstream = new Set<number>();
      for (const kind of UPSTREAM_FAILURE_KINDS) for (const f of ctx.findings(kind)) if (f.flowId !== null) failedUpstream.add(f.flowId);
      // One pairing of the proxies' failures with their upstream legs (it is not cheap) for both tests.
      for (const p of legs.pair()) {
        const leg = p.leg;
        // Nothing seen upstream for it, while an upstream connection lost bytes from the capture:
        // the request the proxy forwarded, and how it failed, may be among them.
        if (p.failure.how === 'status' && p.phase === 'lost') keys.add(`${p.failure.flowId}#${p.failure.index}`);
        if (p.failure.how !== 'status' || p.phase !== 'read' || leg === null) continue;
        // The 5xx came while the request the proxy forwarded for it failed on that upstream connection,
        const namedUpstream = failedUpstream.has(leg.flowId);
        // or when the backend closed that connection unanswered after responses whose Connection field the snaplen cut.
        const unjudgedUpstream = leg.closeTermsUnseen && leg.closedBy === 'backend' && p.legRequest !== null && p.legRequest.responseStart === null;
        if (namedUpstream || unjudgedUpstream || upstreamRaceSignature(p.legRequest)) keys.add(`${p.failure.flowId}#${p.failure.index}`);
      }
      // accept-queue-overflow's 5xx answered at once while its server refused connections for lack of them (failed-at-once) carry an exchangeIndex too.
      for (const kind of ['gateway-timeout', 'no-upstream-connect', 'keepalive-race', 'accept-queue-overflow'] as const) {
        for (const f of ctx.findings(kind)) {
          // keepalive-race's own findings are on upstream legs; those on the proxy's client leg are
          // 5xx its pool answered without sending the request, on a connection the backend had just closed.
          if (kind === 'keepalive-race' && f.evidence.form !== 'pool-picked-closed') continue;
          const index = f.evidence.exchangeIndex;
          if (f.flowId !== null && typeof index === 'number') keys.add(`${f.flowId}#${index}`);
        }
      }
      for (const key of refusedUpstream()) keys.add(key);
      // A proxy's 502 for an upstream TLS handshake that failed (an alert, a certificate it rejected)
      // is that failure's, which tls-handshake-failed (run before this detector) names with them.
      for (const f of ctx.findings('tls-handshake-failed')) {
        const relayed = f.evidence.relayedExchanges;
        if (Array.isArray(relayed)) for (const key of relayed) keys.add(String(key));
      }
      // A front's relay of an upstream 5xx explained here is explained too, hop by hop: nginx passing
      // on the API's 502 for a request the API's pool lost to the backend's idle close is that race's.
      for (const key of relayClosure(keys, legs.relays()).keys()) keys.add(key);
      return keys;
    }

    /**
     * The proxies' 5xx answered while their connect upstream was refused (a SYN answered by RST:
     * connection-refused's findings, which run before this detector): the outage's, which
     * connection-refused's diagnosis counts, not a flaky handler's.
     */
    function refusedUpstream(): string[] {
      const refused = new Set<number>();
      for (const f of ctx.findings('connection-refused')) if (f.flowId !== null) refused.add(f.flowId);
      if (refused.size === 0) return [];
      const keys: string[] = [];
      for (const p of legs.pair()) if (p.failure.how === 'status' && refusedConnect(p, refused)) keys.push(failureKey(p.failure));
      return keys;
    }

    /**
     * Whether a kind has enough of both answers to be judged at all. Leaving out explained failures
     * only lowers the failures, so a kind short of them here stays short: most kinds of healthy
     * traffic never failed, and are passed over without materialising their answers.
     */
    function mayBeIntermittent(kind: Kind): boolean {
      return kind.failedCount >= MIN_FAILURES && kind.okCount >= MIN_SUCCESSES;
    }

    /** Every remembered answer of a server's kinds, up to MAX_IN_FLIGHT_SCAN (built once per server in onFinish). */
    const serverAnswers = new Map<string, Answer[]>();
    function answersOf(server: string): Answer[] {
      let list = serverAnswers.get(server);
      if (list !== undefined) return list;
      list = [];
      for (const kind of kinds) {
        if (kind.server !== server) continue;
        for (const a of log.answers(kind)) {
          if (list.length >= MAX_IN_FLIGHT_SCAN) break;
          list.push(a);
        }
      }
      serverAnswers.set(server, list);
      return list;
    }

    /**
     * Whether the failures are a concurrency limit's rejections (ConcurrencyLimit): every one a 503
     * answered at the pace of a local decision, far faster than the successes, while the same
     * client host had at least one other request to the server in flight. An outage or an
     * overloaded handler fails requests whatever else the client has open; a limit on the
     * client's concurrent requests fails exactly those beyond it.
     */
    function concurrencyLimitOf(server: string, failed: readonly Answer[], okDelays: readonly number[]): ConcurrencyLimit | null {
      if (failed.length === 0 || okDelays.length === 0) return null;
      let slowest = 0;
      for (const a of failed) {
        if (unpackedStatus(a.status).status !== LIMIT_STATUS || a.delay === null) return null;
        slowest = Math.max(slowest, a.delay);
      }
      if (slowest > FAST_GATEWAY_FAILURE || slowest > median([...okDelays]) * LIMIT_PACE_FRACTION) return null;
      const answers = answersOf(server);
      const failingHosts = new Set(failed.map((a) => hostOf(a.client)));
      let fewest = Infinity;
      let most = 0;
      for (const f of failed) {
        const host = hostOf(f.client);
        let inFlight = 0;
        for (const b of answers) {
          if (b.delay === null || b.ts <= f.ts || b.flowId === f.flowId) continue;
          // Its request ended before the failure was answered, its answer came after: in flight then.
          if (b.ts - b.delay < f.ts && hostOf(b.client) === host) inFlight++;
        }
        if (inFlight === 0) return null;
        fewest = Math.min(fewest, inFlight);
        most = Math.max(most, inFlight);
      }
      const others = new Set<string>();
      for (const a of answers) {
        const host = hostOf(a.client);
        if (!failingHosts.has(host)) others.add(host);
      }
      return { inFlight: [fewest, most], otherHosts: others.size };
    }

    /** Reports the kind when it is intermittent; whether it did. */
    function analyse(kind: Kind, explained: Set<string>, unseen: ReadonlySet<string>): boolean {
      const remembered = log.answers(kind);
      const rememberedFailed = remembered.reduce((n, a) => (a.failed ? n + 1 : n), 0);
      const moreFailed = kind.failedCount - rememberedFailed;
      const moreOk = kind.okCount - (remembered.length - rememberedFailed);
      const answers = remembered.filter((a) => !(a.failed && explained.has(`${a.flowId}#${a.index}`)));
      const failed = answers.filter((a) => a.failed);
      const ok = answers.filter((a) => !a.failed);
      const failedTotal = failed.length + moreFailed;
      const okTotal = ok.length + moreOk;
      if (failedTotal < MIN_FAILURES || okTotal < MIN_SUCCESSES || failed.length === 0) return false;

      const perConnection = new Map<number, { client: string; ok: number; failed: number }>();
      for (const a of answers) {
        let c = perConnection.get(a.flowId);
        if (c === undefined) perConnection.set(a.flowId, (c = { client: a.client, ok: 0, failed: 0 }));
        if (a.failed) c.failed++;
        else c.ok++;
      }
      const conns = [...perConnection.values()];
      const failingConnections = conns.filter((c) => c.failed > 0 && c.ok === 0).length;
      const okConnections = conns.filter((c) => c.ok > 0 && c.failed === 0).length;
      const mixedConnections = conns.filter((c) => c.ok > 0 && c.failed > 0).length;
      // Whether a connection's answers agree can only be seen on connections that carried several.
      const reused = conns.some((c) => c.ok + c.failed >= 2);
      const followsConnections = reused ? mixedConnections === 0 : null;

      const byTime = [...answers].sort((a, b) => a.ts - b.ts);
      const firstFail = failed.reduce((m, a) => Math.min(m, a.ts), Infinity);
      const lastFail = failed.reduce((m, a) => Math.max(m, a.ts), -Infinity);
      const okBetween = byTime.filter((a) => !a.failed && a.ts > firstFail && a.ts < lastFail).length;
      const interleavedInTime = okBetween > 0;
      const pattern: Pattern = !interleavedInTime
        ? 'one-period'
        : followsConnections === true ? 'per-connection' : followsConnections === null ? 'interleaved' : 'within-connections';

      // Exact codes first, then those the snaplen cut (`5xx`: packed above every code).
      const packed = [...new Set(failed.map((a) => a.status))].sort((a, b) => a - b).map(unpackedStatus);
      const statuses = packed.map((s) => s.statusClass ?? String(s.status));
      const cutStatuses = packed.flatMap((s) => (s.statusClass === undefined ? [] : [s.statusClass]));
      const failDelays = failed.map((a) => a.delay).filter((d): d is number => d !== null).sort((a, b) => a - b);
      const okDelays = ok.map((a) => a.delay).filter((d): d is number => d !== null).sort((a, b) => a - b);
      const timer = sharedTimerDelay(timedGatewayDelays(failed, unseen));
      // Every failure a 502 (Varnish: 503) answered at once, the proxy's upstream unseen: a local failure's pace (keep-alive race, refused).
      const fast502 = failed.length > 0 && moreFailed === 0 && failed.every((a) => fastGatewayFailure(a, kind.server) && unseen.has(failureKey(a)));
      // Not for 503s that Varnish answers for a failed backend fetch (fast502 above), nor for failures another finding explains (left out above).
      const limit = fast502 || moreFailed > 0 ? null : concurrencyLimitOf(kind.server, failed, okDelays);
      // The fronts further up that passed these failures on to their own clients (their relays are left out of their own kinds).
      const failedKeys = new Set(failed.map((a) => failureKey(a)));
      const relayedBy = relayClosure(failedKeys, legs.relays()).size;
      for (const key of failedKeys) counted.add(key);
      const failingClients = [...new Set(failed.map((a) => a.client))];
      const failingFlows = [...new Set(failed.map((a) => a.flowId))];
      const request = `${kind.method} ${kind.path}`;
      const total = failedTotal + okTotal;
      const shape =
        pattern === 'per-connection'
          ? ': failures follow connections (each connection got only 5xx or only 2xx), interleaved in time'
          : pattern === 'one-period'
            ? ': the failures came in one period, with no success between them'
            : pattern === 'interleaved'
              ? ': failures and successes alternate in time, each connection carrying one request'
              : ': failures and successes alternate on the same connections';
      const frames = [
        ...failed.slice(0, FAIL_FRAMES_SHOWN).map((a) => a.frame),
        ...ok.slice(0, OK_FRAMES_SHOWN).map((a) => a.frame),
      ];
      const finding = ctx.report({
        flowId: null,
        client: null,
        server: kind.server,
        ts: firstFail,
        message: 'found',
        data: {
          request, server: kind.server, failed: failedTotal, total, statuses: statuses.join('/'),
          failedOn: failedOnText(failingConnections, mixedConnections, conns.length), shape,
        },
        evidence: {
          method: kind.method,
          path: kind.path,
          responses: total,
          failures: failedTotal,
          successes: okTotal,
          failureRatio: Math.round((failedTotal / total) * 1000) / 1000,
          statuses: packed.flatMap((s) => (s.statusClass === undefined ? [s.status] : [])),
          // Only where the snaplen cut status lines: their classes (`5xx`), not counted in `statuses`.
          ...(cutStatuses.length > 0 ? { statusClasses: cutStatuses } : {}),
          connections: conns.length,
          failingConnections,
          okConnections,
          mixedConnections,
          failuresFollowConnections: followsConnections,
          interleavedInTime,
          pattern,
          firstFailure: at(firstFail),
          lastFailure: at(lastFail),
          median5xxMs: failDelays.length > 0 ? microsAsMs(median(failDelays)) : null,
          median2xxMs: okDelays.length > 0 ? microsAsMs(median(okDelays)) : null,
          ...(timer !== null ? { timerDelayMs: microsAsMs(timer.value), timerSamples: timer.samples } : {}),
          ...(fast502 ? { fast: true } : {}),
          ...(limit !== null ? { concurrencyLimitInFlight: [...limit.inFlight], otherClientHosts: limit.otherHosts } : {}),
          ...(relayedBy > 0 ? { relayedByFronts: relayedBy } : {}),
          failingClients: failingClients.slice(0, CLIENTS_LISTED),
          failingFlowIds: failingFlows.slice(0, CLIENTS_LISTED * 2),
        },
        frames,
      });
      let list = byServer.get(kind.server);
      if (list === undefined) byServer.set(kind.server, (list = []));
      list.push({
        finding, pattern, failed: failedTotal, total, failingConnections, connections: conns.length, request, statuses, failDelays, okDelays, timer, fast502, limit,
        relayed: relayedText(failed),
      });
      return true;
    }

    /**
     * A proxy's 502s answered at once (FAST_GATEWAY_FAILURE) on a capture that does not show its
     * upstream side, in kinds no intermittent finding covers (each request its own path, or every
     * one failing): one finding per endpoint. Such a 502 is no timeout and no application's error
     * but the proxy's upstream connection failing under the request — reset or closed (a pooled
     * connection the backend had just closed idle: a keep-alive race) or refused — which only the
     * upstream side tells apart.
     */
    function reportFastBadGateways(reported: ReadonlySet<Kind>, explained: Set<string>, unseen: ReadonlySet<string>): void {
      // `failed`: every 5xx of the endpoint's kinds, those answered later included (a 502 after a
      // wait is gateway-timeout's), so that "1 of N requests" counts what the capture holds.
      const byEndpoint = new Map<string, { fast: Answer[]; ok: number; failed: number; okDelays: number[] }>();
      for (const kind of kinds) {
        if (reported.has(kind)) continue;
        let entry = byEndpoint.get(kind.server);
        if (kind.failedCount === 0) {
          if (entry !== undefined) entry.ok += kind.okCount;
          else byEndpoint.set(kind.server, { fast: [], ok: kind.okCount, failed: 0, okDelays: [] });
          continue;
        }
        if (entry === undefined) byEndpoint.set(kind.server, (entry = { fast: [], ok: 0, failed: 0, okDelays: [] }));
        entry.ok += kind.okCount;
        entry.failed += kind.failedCount;
        for (const a of log.answers(kind)) {
          if (!a.failed) {
            if (a.delay !== null) entry.okDelays.push(a.delay);
            continue;
          }
          const key = `${a.flowId}#${a.index}`;
          if (!fastGatewayFailure(a, kind.server) || explained.has(key) || !unseen.has(key)) continue;
          entry.fast.push(a);
        }
      }
      for (const [server, entry] of byEndpoint) {
        if (entry.fast.length > 0) reportFastEndpoint(server, entry.fast, entry.ok, Math.max(0, entry.failed - entry.fast.length), entry.okDelays);
      }
    }

    /**
     * What the capture holds of refused connects while these 502s waited, when it holds one for each:
     * connection-refused's findings (a SYN answered by RST) from another host than the failing
     * client's, to another endpoint than the proxy, between a request's end and its 502. The proxy's
     * upstream address is not known from them (no request copies it), so they are told as what the
     * capture shows, most likely its own connect; null when some 502 had none (blind 14 S2b, both
     * legs: "this capture does not show the proxy's upstream side" beside its refused SYN and RST).
     */
    function refusedDuring(server: string, fast: readonly Answer[]): { text: string; ids: string[]; targets: string[] } | null {
      const ids: string[] = [];
      const targets = new Set<string>();
      for (const a of fast) {
        const hit = refusals.within(a.ts - (a.delay ?? 0), a.ts, server, a.client)[0];
        if (hit === undefined) return null;
        if (!ids.includes(hit.id)) ids.push(hit.id);
        targets.add(hit.server);
      }
      const one = fast.length === 1;
      const text =
        `The capture holds ${ids.length === 1 ? 'a refused connect' : `${ids.length} refused connects`} within ${one ? 'its wait' : 'their waits'}: ` +
        `${ids.slice(0, 5).join(', ')}, a SYN to ${[...targets].slice(0, 3).join(', ')} answered by RST, most likely the proxy's own upstream connect ` +
        `from its backend-side address (no forwarded request names that address): the backend refused the connection, not a keep-alive race.`;
      return { text, ids, targets: [...targets] };
    }

    function reportFastEndpoint(server: string, fast: Answer[], okCount: number, otherFailures: number, okDelays: number[]): void {
      const delays = fast.map((a) => a.delay ?? 0).sort((a, b) => a - b);
      const first = fast.reduce((m, a) => Math.min(m, a.ts), Infinity);
      const total = fast.length + otherFailures + okCount;
      const refused = refusedDuring(server, fast);
      const statuses = [...new Set(fast.map((a) => a.status))].sort((x, y) => x - y);
      const statusWords = `${statuses.join('/')}${varnishNote(statuses)}`;
      const finding = ctx.report({
        flowId: null,
        client: null,
        server,
        ts: first,
        message: refused === null ? 'fastBadGateway' : 'fastBadGatewayRefused',
        data: {
          server, status: statuses.join('/'), failed: fast.length, total, fastest: microsAsMs(delays[0]), slowest: microsAsMs(delays[delays.length - 1]),
          ...(refused !== null ? { refusedBy: refused.targets.slice(0, 3).join(', '), refusals: refused.ids.slice(0, 5).join(', ') } : {}),
        },
        evidence: {
          failures: fast.length,
          successes: okCount,
          // The endpoint's other 5xx (answered after a wait, or explained by another detector): counted in the total.
          ...(otherFailures > 0 ? { otherFailures } : {}),
          statuses,
          fast: true,
          min502Ms: microsAsMs(delays[0]),
          median5xxMs: microsAsMs(median(delays)),
          max502Ms: microsAsMs(delays[delays.length - 1]),
          median2xxMs: okDelays.length > 0 ? microsAsMs(median([...okDelays].sort((a, b) => a - b))) : null,
          firstFailure: at(first),
          failingClients: [...new Set(fast.map((a) => a.client))].slice(0, CLIENTS_LISTED),
          failingFlowIds: [...new Set(fast.map((a) => a.flowId))].slice(0, CLIENTS_LISTED * 2),
        },
        frames: fast.slice(0, FAIL_FRAMES_SHOWN).map((a) => a.frame),
      });
      const among = total > fast.length ? `${fast.length} of ${total} requests` : fast.length === 1 ? 'its only request' : `all ${fast.length} requests`;
      const others = otherFailures > 0 ? ` (${otherFailures} more 5xx among them ${otherFailures === 1 ? 'is' : 'are'} no such fast ${statuses.join('/')}: answered after a wait, or told by another finding)` : '';
      const within = delays.length === 1 ? `${microsAsMs(delays[0])} ms after it` : `within ${microsAsMs(delays[0])}–${microsAsMs(delays[delays.length - 1])} ms`;
      ctx.diagnose({
        server,
        count: fast.length,
        inferred: {},
        explanation: `${server} answered ${statusWords} to ${among} ${within}, well below any timeout${others}: ${refused === null ? FAST_502_CAUSES : `${FAST_502_CAUSES_ONLY} ${refused.text}`}${relayedText(fast)}`,
        remedy:
          refused === null
            ? FAST_502_REMEDY
            : `Find why ${refused.targets.slice(0, 3).join(', ')} refuses connections (nothing listening on that port, or a reject rule: see ${refused.ids.slice(0, 5).join(', ')}), ` +
              `or take it out of the proxy's pool; the proxy's error log confirms the failed connect ("connection refused").`,
        anomalyIds: [finding.id],
      });
    }

    /**
     * A proxy's gateway failures (502/503/504) on a capture that does not show its upstream side, in
     * kinds no intermittent finding covers (each failing kind seen once or twice: /ct/a, /ct/b),
     * that shared one delay from their requests: a timer's, the proxy's upstream connect or read
     * timeout. One finding per endpoint, for the failures of that delay.
     */
    function reportTimedGateways(reported: ReadonlySet<Kind>, explained: Set<string>, unseen: ReadonlySet<string>): void {
      const byEndpoint = new Map<string, Answer[]>();
      for (const kind of kinds) {
        if (reported.has(kind) || kind.failedCount === 0) continue;
        for (const a of log.answers(kind)) {
          const key = `${a.flowId}#${a.index}`;
          if (!a.failed || a.delay === null || a.delay <= FAST_GATEWAY_FAILURE || explained.has(key)) continue;
          if (!GATEWAY_STATUSES.has(a.status) || !unseen.has(key)) continue;
          let list = byEndpoint.get(kind.server);
          if (list === undefined) byEndpoint.set(kind.server, (list = []));
          list.push(a);
        }
      }
      for (const [server, failures] of byEndpoint) {
        const timer = sharedTimerDelay(failures.map((a) => a.delay ?? 0));
        if (timer === null) continue;
        const slack = Math.max(TIMER_AGREEMENT.fraction * timer.value, TIMER_AGREEMENT.absolute);
        const timed = failures.filter((a) => a.delay !== null && Math.abs(a.delay - timer.value) <= slack).sort((a, b) => a.ts - b.ts);
        reportTimedEndpoint(server, timed, timer);
      }
    }

    function reportTimedEndpoint(server: string, timed: Answer[], timer: InferredValue): void {
      const statuses = [...new Set(timed.map((a) => a.status))].sort((a, b) => a - b);
      const statusText = statuses.join('/');
      const finding = ctx.report({
        flowId: null,
        client: null,
        server,
        ts: timed[0].ts,
        message: 'timedGateway',
        data: { server, statuses: statusText, failed: timed.length, delay: seconds(timer.value) },
        evidence: {
          failures: timed.length,
          statuses,
          timerDelayMs: microsAsMs(timer.value),
          timerSpreadMs: microsAsMs(timer.spread),
          firstFailure: at(timed[0].ts),
          failingClients: [...new Set(timed.map((a) => a.client))].slice(0, CLIENTS_LISTED),
          failingFlowIds: [...new Set(timed.map((a) => a.flowId))].slice(0, CLIENTS_LISTED * 2),
        },
        frames: timed.slice(0, FAIL_FRAMES_SHOWN).map((a) => a.frame),
      });
      ctx.diagnose({
        server,
        count: timed.length,
        inferred: { proxyUpstreamTimeout: { value: seconds(timer.value), samples: timer.samples, spread: seconds(timer.spread) } },
        explanation: `${server} answered ${statusText} to ${timed.length} requests. ${timerText(timer, timed.length === 2 ? 'Both' : `All ${timed.length}`)}`,
        remedy: TIMER_REMEDY,
        anomalyIds: [finding.id],
      });
    }

    interface Summary {
      finding: Finding;
      pattern: Pattern;
      failed: number;
      total: number;
      failingConnections: number;
      connections: number;
      request: string;
      statuses: string[];
      failDelays: number[];
      okDelays: number[];
      /** The delay the proxy's gateway failures shared (its upstream side unseen), or null. */
      timer: InferredValue | null;
      /** Every failure was a 502 answered at once, the proxy's upstream unseen (FAST_GATEWAY_FAILURE). */
      fast502: boolean;
      /** The fronts that relayed these failures to their clients, in words (relayedText), or ''. */
      relayed: string;
      /** The failures were a concurrency limit's rejections (concurrencyLimitOf), or null. */
      limit: ConcurrencyLimit | null;
    }
    const byServer = new Map<string, Summary[]>();

    function diagnose(server: string, summaries: Summary[]): void {
      const failed = summaries.reduce((n, s) => n + s.failed, 0);
      const total = summaries.reduce((n, s) => n + s.total, 0);
      const kindsText = summaries.slice(0, 5).map((s) => s.request).join(', ');
      const statuses = [...new Set(summaries.flatMap((s) => s.statuses))].join('/');
      const perConnection = summaries.filter((s) => s.pattern === 'per-connection');
      const port = server.slice(server.lastIndexOf(':') + 1);
      const failDelays = summaries.flatMap((s) => s.failDelays).sort((a, b) => a - b);
      const okDelays = summaries.flatMap((s) => s.okDelays).sort((a, b) => a - b);
      const speed =
        failDelays.length > 0 && okDelays.length > 0
          ? ` The failures were answered in ${microsAsMs(median(failDelays))} ms (median), the successes in ${microsAsMs(median(okDelays))} ms.`
          : '';
      let explanation: string;
      let remedy: string;
      if (perConnection.length > 0) {
        const s = perConnection[0];
        explanation =
          `${server} answered ${failed} of ${total} requests (${kindsText}) with ${statuses}, and the failures follow connections: ` +
          `${s.failingConnections} of ${s.connections} connections got only ${statuses}, the others only 2xx, while both kinds of connection alternate in time. ` +
          `The same port is served by two different processes — typically a stale listener left by a reload (several processes bound with SO_REUSEPORT, ` +
          `the kernel hashing each new connection to one of them), or two backends of which one is broken behind a connection-level balancer.${speed}`;
        remedy =
          `List what listens on the port: \`ss -ltnp 'sport = :${port}'\` (several PIDs means several listeners). Finish the reload — stop the old ` +
          `workers/processes still bound to it (or fix the broken instance) — and make reloads wait until old processes have drained and exited.`;
      } else if (summaries.every((s) => s.limit !== null)) {
        // Rejected at once while the same client had other requests in flight: a limit on its concurrency, not an outage.
        const limits = summaries.flatMap((s) => (s.limit === null ? [] : [s.limit]));
        const fewest = Math.min(...limits.map((l) => l.inFlight[0]));
        const most = Math.max(...limits.map((l) => l.inFlight[1]));
        const inFlight = fewest === most ? `${most} at each` : `${fewest} to ${most}`;
        const limitText = fewest === most ? `${most}` : `${fewest}–${most}`;
        const alone = limits.every((l) => l.otherHosts === 0)
          ? ` That client host was the only one the server answered in this capture, so a limit per client and one on the server's concurrency as a whole (HAProxy maxconn with no queue, a worker pool rejecting at once) look alike here.`
          : '';
        explanation =
          `${server} answered ${failed} of ${total} requests (${kindsText}) with ${statuses} at once, each while the same client host had other requests ` +
          `to it in flight (${inFlight}): the signature of a limit on one client's concurrent requests or connections, which rejects those beyond it ` +
          `without passing them on — nginx limit_conn (503 by default, error log "limiting connections by zone"), HAProxy \`http-request deny\` on ` +
          `sc_conn_cur / src_conn_cur, Envoy's circuit breakers (503 "upstream overflow") — not an outage: the requests in flight were served.${alone}${speed}`;
        remedy =
          `Raise the limit where it is set (nginx \`limit_conn <zone> N\` above ${limitText}; HAProxy's conn_cur threshold; Envoy's circuit_breakers thresholds), ` +
          `or lower the client's concurrency (its pool size or parallel requests) to ${limitText} and let it queue or retry with backoff.`;
      } else if (summaries.every((s) => s.pattern === 'one-period' && s.fast502)) {
        // A proxy failing requests at once between successes: its upstream connections' pace, told below, not an outage's.
        explanation = `${server} answered ${failed} of ${total} requests (${kindsText}) with ${statuses}, all within one period, with successes before or after.${speed}`;
        remedy = '';
      } else if (summaries.every((s) => s.pattern === 'one-period')) {
        explanation =
          `${server} answered ${failed} of ${total} requests (${kindsText}) with ${statuses}, all within one period, with successes before or after: ` +
          `an outage, a restart or an overload of the server (or of something it depends on) during that time.${speed}`;
        remedy = `Look at the server's logs and its dependencies for that period (restarts, deployments, overload, a dependency down).`;
      } else if (summaries.every((s) => s.pattern !== 'within-connections')) {
        // Every connection carried one request: whether failures follow connections or requests is not seen.
        explanation =
          `${server} answered ${failed} of ${total} requests (${kindsText}) with ${statuses}, interleaved in time with successes; each connection carried ` +
          `one request, so whether failures follow connections (two processes behind one port) or individual requests (a flaky handler, a failing ` +
          `dependency, a balancer behind it with one bad backend) cannot be told.${speed}`;
        remedy = `Find the failing requests in the server's (or the balancer's) logs: which backend or dependency answered them, and why.`;
      } else {
        explanation =
          `${server} answered ${failed} of ${total} requests (${kindsText}) with ${statuses}, mixed with successes on the same connections: ` +
          `individual requests fail, not connections — a flaky handler, an overloaded or failing dependency, or a balancer behind it with one bad backend.${speed}`;
        remedy = `Find the failing requests in the server's (or the balancer's) logs: which backend or dependency answered them, and why.`;
      }
      // Gateway failures that shared one delay: a timer's, whatever the pattern (named with its delay).
      const timed = summaries.find((s) => s.timer !== null);
      const inferred: Record<string, InferredValue> = {};
      if (timed !== undefined && timed.timer !== null) {
        const timer = timed.timer;
        inferred.proxyUpstreamTimeout = { value: seconds(timer.value), samples: timer.samples, spread: seconds(timer.spread) };
        const of = timer.samples === timed.failed ? (timer.samples === 2 ? 'Both' : `All ${timer.samples}`) : `${timer.samples} of the ${timed.failed}`;
        explanation += ` ${timerText(timer, `${of} ${timed.statuses.join('/')} answers to ${timed.request}`)}`;
        remedy = remedy === '' ? TIMER_REMEDY : `${TIMER_REMEDY} ${remedy}`;
      }
      if (summaries.every((s) => s.fast502)) {
        // A proxy's 502s at once: the pace of its upstream connection failing under the request, whatever the pattern.
        const fastest = failDelays.length > 0 ? `within ${microsAsMs(failDelays[0])}–${microsAsMs(failDelays[failDelays.length - 1])} ms of their requests` : 'at once';
        const gateway = [gatewayFailureStatus(server)];
        explanation += ` Every failure was a ${gateway[0]}${varnishNote(gateway)} answered ${fastest}, well below any timeout: ${FAST_502_CAUSES}`;
        remedy = remedy === '' ? FAST_502_REMEDY : `${FAST_502_REMEDY} ${remedy}`;
      }
      explanation += summaries.map((s) => s.relayed).join('');
      ctx.diagnose({
        server,
        count: failed,
        inferred,
        explanation,
        remedy,
        anomalyIds: summaries.map((s) => s.finding.id),
      });
    }

    return {
      // What each server's answers name (gatewayFailureStatus), noted while its session is there.
      onConnectionEnd(conn) {
        software.note(conn);
      },

      onExchange(ex, conn) {
        if (ex.uncertain || ex.status === null || ex.method === null || ex.uri === null || ex.responseStart === null) return;
        // A response that began only after its client had closed answered nobody (a proxy that gave up
        // first, its backend's late 502 reset unread): neither a failure the client saw nor a timer's.
        if (answeredNobody(ex, conn)) return;
        const failed = ex.status >= 500 && ex.status <= 599;
        if (!failed && (ex.status < 200 || ex.status > 299)) return;
        const uri = ex.uri;
        const hash = kindPathHash(uri);
        const sameHash = kindIndex.get(conn.serverName)?.get(ex.method)?.get(hash);
        let kind: Kind | undefined;
        if (sameHash !== undefined) {
          for (const k of sameHash) {
            if (isKindPathOf(k.path, uri)) {
              kind = k;
              break;
            }
          }
        }
        if (kind === undefined) {
          if (kinds.length >= MAX_KINDS) return;
          kind = { server: conn.serverName, method: ex.method, path: requestKindPath(uri), first: -1, last: -1, length: 0, failedCount: 0, okCount: 0 };
          let byMethod = kindIndex.get(conn.serverName);
          if (byMethod === undefined) kindIndex.set(conn.serverName, (byMethod = new Map()));
          let byHash = byMethod.get(ex.method);
          if (byHash === undefined) byMethod.set(ex.method, (byHash = new Map()));
          if (sameHash === undefined) byHash.set(hash, [kind]);
          else sameHash.push(kind);
          kinds.push(kind);
        }
        if (failed) kind.failedCount++;
        else kind.okCount++;
        // Answers past the bound are only counted (above), with no counter of their own: the first kind
        // to reach the bound comes long after this handler was compiled, and a step it had never taken
        // threw the compiled code away.
        if (kind.length >= MAX_RECORDS_PER_KIND) return;
        // A response that began before its request ended (a proxy answering an upload still arriving,
        // or stopped short) has no delay after the request: its 0 is no 'answered at once' (a proxy
        // refusing at once) and no sample of a timer counted from the request's end.
        const delay = ex.requestEnd !== null && ex.responseStart >= ex.requestEnd ? ex.responseStart - ex.requestEnd : null;
        log.add(kind, conn.id, ex.index, conn.clientName, ex.responseStart, ex.responseFrame ?? 0, packedStatus(ex.status, ex.statusClass), delay, failed);
      },

      onFinish() {
        const explained = explainedElsewhere();
        const reported = new Set<Kind>();
        const unseen = upstreamUnseen();
        // A front's relay of a failure this detector counts at its origin (the proxy further down that
        // failed it) is that failure, passed on: left out of the front's kinds, counted by the
        // origin's finding. The kinds holding no relay (the origins') are judged first; then those
        // holding relays, each relay left out when a finding counts its origin (an intermittent
        // kind's, or the fast 502s'), judged as the front's own failure otherwise.
        const origins = relaysToOrigins(explained);
        const fronts: Kind[] = [];
        for (const kind of kinds) {
          if (!mayBeIntermittent(kind)) continue;
          if (origins.size > 0 && log.answers(kind).some((a) => a.failed && origins.has(failureKey(a)))) fronts.push(kind);
          else if (analyse(kind, explained, unseen)) reported.add(kind);
        }
        if (fronts.length > 0) {
          const left = new Set(explained);
          for (const [front, origin] of origins) if (counted.has(origin.key) || countedAsFast(origin, reported, explained, unseen)) left.add(front);
          for (const kind of fronts) if (analyse(kind, left, unseen)) reported.add(kind);
        }
        for (const [server, summaries] of byServer) diagnose(server, summaries);
        reportFastBadGateways(reported, explained, unseen);
        reportTimedGateways(reported, explained, unseen);
        counted.clear();
        serverAnswers.clear();
        kinds.length = 0;
        kindIndex.clear();
        log.clear();
      },
    };
  },
};
