import type { AnalyzedConnection } from '../analyzed-connection';
import type { DetectorDefinition } from '../detector';
import { exactStatus, statusClassEvidence, statusText, type HttpExchange } from '../../http/exchange';
import type { Finding } from '../finding';
import { at, isIdempotent, ms, requestLine } from '../facts';
import { inferTimeout } from '../infer-timeout';
import { FRONT_PROXY_REQUEST_SETTINGS, passedOnNote, type ServerIdentity } from '../known-timeouts';
import { answeredUnnamed, SERVER_SOFTWARE, ServerSoftware } from '../server-software';

/** A spread of gaps in seconds as text: "0.205 ms" or "0.86–0.869 s". */
function spanText(values: readonly number[]): string {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const one = (v: number): string => (v < 1 ? `${Math.round(v * 1e6) / 1e3} ms` : `${Math.round(v * 1000) / 1000} s`);
  return lo === hi ? one(lo) : `${one(lo)} to ${one(hi)}`;
}

/** The exchange at `index` among a connection's recent ones, or null (scrolled out, or none). */
function exchangeAt(recent: readonly HttpExchange[], index: number): HttpExchange | null {
  for (let i = recent.length - 1; i >= 0; i--) {
    if (recent[i].index === index) return recent[i];
    if (recent[i].index < index) break;
  }
  return null;
}

/**
 * A complete keep-alive exchange: the connection was idle from its end, kept open, when what
 * followed came.
 */
function keptAlive(prev: HttpExchange | null): prev is HttpExchange & { responseEnd: number } {
  return prev !== null && prev.state === 'complete' && !prev.uncertain && prev.responseEnd !== null && !prev.responseClose && prev.responseFraming !== 'close';
}

/**
 * `ex` was answered 408 Request Timeout with Connection: close, but the 408 was the server's idle
 * timer firing on a reused keep-alive connection, its close notice crossing the request, not a
 * timeout of the request: the request was complete (nothing left to wait for), it followed a
 * complete keep-alive exchange, and the connection had sat idle before it longer than the request
 * sat in the server before the 408. A request timer (Node's requestTimeout, nginx's
 * client_body_timeout) that fires on a complete request can only have met its last bytes crossing
 * it, after a long request; a server that tolerated more idleness before the request than the
 * request's whole stay was timing the idleness (a timer that ticks, or an event loop that runs its
 * timers before reading, leaves the request unread for a while). `prev` is the exchange before it.
 */
export function idleNoticeCrossed(ex: HttpExchange, prev: HttpExchange | null): boolean {
  if (exactStatus(ex) !== 408 || !ex.responseClose || ex.index < 2 || ex.uncertain) return false;
  if (ex.requestStart === null || ex.responseStart === null || ex.requestHeadUnfinished === true || ex.state === 'request-incomplete') return false;
  if (!keptAlive(prev)) return false;
  const idleBefore = ex.requestStart - prev.responseEnd;
  const inServer = ex.responseStart - ex.requestStart;
  return inServer >= 0 && idleBefore > inServer;
}

/** A late request, and the notice it met (the request's own 408 when it crossed the notice). */
interface Late {
  ex: HttpExchange;
  notice: HttpExchange;
  /** The request came before the notice, which answered it: a crossing (idleNoticeCrossed). */
  crossed: boolean;
  /**
   * When the connection last finished an exchange before the notice (its response's end); NaN when
   * it is unknown (scrolled out), -1 when the connection had carried none.
   */
  lastActivityTs: number;
}

/**
 * request-after-close-notice: the client sent another request on a connection after a response
 * that told it the connection would close (`Connection: close`, or HTTP/1.0 without keep-alive).
 * RFC 9112 §9.6: a client that receives close must stop sending requests on that connection. The
 * server has usually closed already, so the request is reset or lost. Reported once per connection,
 * for the first such request, when the connection ends.
 */
/** Node's http server's timers for a first request, which it ends with `408 Request Timeout`. */
const NODE_FIRST_REQUEST = "Node's http server: `headersTimeout`, 60 s by default, checked every `connectionsCheckingInterval`; `requestTimeout`";
/** HAProxy's, which ends it with `408 Request Time-out` and no Server header. */
const HAPROXY_FIRST_REQUEST = 'HAProxy: `timeout http-request`, when unset `timeout client`';

/**
 * Which timer sent the 408s that answered no request on connections opened ahead: a proxy in front
 * when they carry no Server header while the server's other responses name software
 * (ServerIdentity.passedOn: that header is the backend's, passed on); else by how they read.
 */
function firstRequestTimerOf(identity: ServerIdentity | null, unasked: readonly Finding[]): { setting: string; raise: string } {
  if (unasked.length > 0 && identity !== null && identity.passedOn === true && unasked.every((f) => f.evidence.noticeNamedNoSoftware === true)) {
    return { setting: `a proxy in front: ${FRONT_PROXY_REQUEST_SETTINGS}; ${passedOnNote(identity)}`, raise: 'HAProxy `timeout http-request`, nginx `client_header_timeout`' };
  }
  const reasons = new Set(unasked.map((f) => f.evidence.noticeReason));
  if (reasons.size === 1 && reasons.has('Request Time-out')) return { setting: HAPROXY_FIRST_REQUEST, raise: 'HAProxy `timeout http-request`' };
  if (reasons.size === 1 && reasons.has('Request Timeout')) return { setting: NODE_FIRST_REQUEST, raise: 'Node `server.headersTimeout`' };
  return { setting: `${NODE_FIRST_REQUEST}; ${HAPROXY_FIRST_REQUEST}`, raise: 'Node `server.headersTimeout`, HAProxy `timeout http-request`' };
}

export const requestAfterCloseNotice: DetectorDefinition = {
  id: 'request-after-close-notice',
  meta: {
    description:
      'Another request on a connection after a response that said it would close (Connection: close, or HTTP/1.0 without keep-alive).',
    severity: 'warning',
    messages: {
      late: '{request} sent {after} ms after a response that announced the close ({why}); {outcome}',
      idleLate:
        '{request} sent {after} ms after a 408 (Connection: close) the server sent on its own on a keep-alive connection idle {idle} s since its last response (its idle timeout, announced); {outcome}',
      crossed:
        '{request} crossed the server\'s idle-close notice: sent {idleBefore} s after the previous response on a keep-alive connection, it was answered {inServer} ms later by a 408 (Connection: close) the server sent when its idle timer fired, the request unread; {outcome}',
    },
  },
  create(ctx) {
    const software = ctx.shared(SERVER_SOFTWARE, () => new ServerSoftware());
    /**
     * The first late request per connection, reported when the connection ends (its fate, the
     * server's FIN and RST, is known by then). Bounded by live connections.
     */
    const late = new Map<number, Late>();

    const report = (conn: AnalyzedConnection, found: Late): void => {
      const { ex, notice, crossed, lastActivityTs } = found;
      const requestStart = ex.requestStart ?? 0;
      const noticeStart = notice.responseStart ?? 0;
      const noticeEnd = notice.responseEnd ?? noticeStart;
      const s = conn.server;
      const after = requestStart - noticeEnd;
      const finBefore = s.finTs >= 0 && s.finTs <= requestStart;
      const reset = s.rstTs >= 0 && s.rstTs >= requestStart;
      const why = notice.responseVersion === 'HTTP/1.0' ? 'an HTTP/1.0 response, which closes unless it says keep-alive' : 'Connection: close';
      const outcome = crossed
        ? `the server ${s.rstTs >= 0 ? 'reset the connection' : 'closed'} without reading it`
        : ex.state === 'complete'
          ? `the server answered it anyway (${statusText(ex) ?? '?'})`
          : reset
            ? `the server ${finBefore ? 'had already closed and ' : ''}answered RST`
            : finBefore
              ? 'the server had already closed; no response'
              : 'no response';
      const afterFin = conn.clientDataAfterServerFin;
      // A response that answered no request: a timer of the server fired on an idle connection and
      // announced the close. On a connection never used, its timer for a first request (Node's
      // headersTimeout / requestTimeout on a connection opened ahead); on one that had carried
      // exchanges, its idle keep-alive timeout. Either is an idle close, and a request on it the
      // race keepalive-race reports as an error; so is a request that the notice crossed.
      const unasked = notice.state === 'no-request';
      const neverUsed = unasked && lastActivityTs === -1;
      const idleNotice = unasked || crossed;
      // The idle time the server's timer measured: from the last response's end (the accept, never used) to the notice.
      const idleFrom = lastActivityTs === -1 ? conn.startTs : lastActivityTs;
      const idleBeforeNotice = idleNotice && !Number.isNaN(idleFrom) ? noticeStart - idleFrom : null;
      const data: Record<string, string | number> = crossed
        ? { request: requestLine(ex) ?? 'A request', idleBefore: ms(requestStart - idleFrom), inServer: ms((noticeStart - requestStart) * 1000), outcome }
        : unasked && !neverUsed && idleBeforeNotice !== null
          ? { request: requestLine(ex) ?? 'A request', after: ms(after * 1000), idle: ms(idleBeforeNotice), outcome }
          : { request: requestLine(ex) ?? 'A request', after: ms(after * 1000), why, outcome };
      ctx.report({
        flowId: conn.id,
        client: conn.clientName,
        server: conn.serverName,
        ts: requestStart,
        message: crossed ? 'crossed' : unasked && !neverUsed && idleBeforeNotice !== null ? 'idleLate' : 'late',
        data,
        ...(idleNotice ? { severity: 'error' as const } : {}),
        evidence: {
          request: requestLine(ex),
          method: ex.method,
          uri: ex.uri,
          idempotent: isIdempotent(ex.method),
          noticeStatus: notice.status,
          ...statusClassEvidence(notice, 'noticeStatusClass'),
          noticeVersion: notice.responseVersion,
          noticeTs: at(noticeEnd),
          requestTs: at(requestStart),
          afterNotice: at(after),
          noticeUnasked: unasked,
          noticeReason: notice.reason,
          // On a connection never used the notice is its first answer: whether that named any software.
          noticeNamedNoSoftware: neverUsed ? answeredUnnamed(conn) : null,
          noticeCrossed: crossed,
          idleNotice,
          noticeOnUsedConnection: idleNotice ? !neverUsed : null,
          unusedBeforeNotice: neverUsed ? ms(noticeStart - conn.startTs) : null,
          idleBeforeNotice: idleBeforeNotice === null ? null : ms(idleBeforeNotice),
          idleBeforeRequest: crossed ? ms(requestStart - idleFrom) : null,
          serverFinTs: s.finTs >= 0 ? at(s.finTs) : null,
          serverFinAfterResponse: s.finTs >= 0 ? at(s.finTs - noticeEnd) : null,
          requestAfterServerFin: finBefore,
          requestAcksFin: finBefore && afterFin !== null ? afterFin.acksFin : null,
          rstTs: reset ? at(s.rstTs) : null,
          state: ex.state,
        },
        frames: crossed
          ? [ex.requestFrame ?? 0, notice.responseFrame ?? 0, s.finTs >= 0 ? s.finFrame : 0, s.rstTs >= 0 ? s.rstFrame : 0]
          : [notice.responseFrame ?? 0, s.finTs >= 0 ? s.finFrame : 0, ex.requestFrame ?? 0, reset ? s.rstFrame : 0],
      });
    };

    /** One diagnosis per server: what the notices were, what became of the requests, what to change. */
    const diagnose = (server: string, found: readonly Finding[]): void => {
      const n = found.length;
      const unasked = found.filter((f) => f.evidence.unusedBeforeNotice !== null && f.evidence.noticeUnasked === true);
      const idleUsed = found.filter((f) => f.evidence.idleNotice === true && f.evidence.noticeOnUsedConnection === true);
      const crossed = idleUsed.filter((f) => f.evidence.noticeCrossed === true).length;
      const after = found.filter((f) => f.evidence.noticeCrossed !== true);
      const unanswered = found.filter((f) => f.evidence.state !== 'complete' || f.evidence.noticeCrossed === true).length;
      const reset = found.filter((f) => f.evidence.rstTs !== null).length;
      const afterFin = after.filter((f) => f.evidence.requestAfterServerFin === true).length;
      const gaps = after.map((f) => Number(f.evidence.afterNotice));
      const unused = unasked.map((f) => Number(f.evidence.unusedBeforeNotice));
      const idles = idleUsed.flatMap((f) => (f.evidence.idleBeforeNotice !== null ? [Number(f.evidence.idleBeforeNotice)] : []));
      const firstRequestTimer = firstRequestTimerOf(software.of(server), unasked);
      const parts: string[] = [];
      if (after.length > 0) {
        const m = after.length;
        parts.push(
          `${m} request${m === 1 ? ' was' : 's were'} sent on connections after ${server}'s response had announced the close ` +
            `(${spanText(gaps)} after it${afterFin > 0 ? `; ${afterFin === m ? 'each' : afterFin} after the server's FIN` : ''}): ` +
            'a client must not send more on such a connection (RFC 9112 §9.6).',
        );
      }
      if (crossed > 0) {
        parts.push(
          `${crossed} request${crossed === 1 ? '' : 's'} crossed the notice: sent on a kept-alive connection just before ${server} answered ` +
            `it with a 408 (Connection: close) and closed without reading ${crossed === 1 ? 'it' : 'them'}.`,
        );
      }
      parts.push(
        unanswered === 0
          ? 'The server answered them anyway; one that closes as it announced drops them.'
          : `${unanswered === n ? 'None was' : `${unanswered} ${unanswered === 1 ? 'was' : 'were'} not`} answered${reset > 0 ? ` (${reset} drew a RST)` : ''}: ` +
              `the client sees EOF, "socket hang up"${crossed > 0 ? ', a reset or the 408' : ' or a reset'}, and retries only an idempotent request, if at all.`,
      );
      // The idle keep-alive timeout: how long each used connection had been idle, from its last
      // response, when the server sent the notice. Not the time from a crossing request to the 408.
      const idleTimeout =
        idles.length > 0 ? inferTimeout(idles, { fraction: ctx.options.spreadFraction, absolute: ctx.options.spreadAbsolute, minSamples: 1 }) : null;
      if (idleUsed.length > 0) {
        parts.push(
          `${idleUsed.length === n ? 'Each' : `${idleUsed.length} of them`} met a 408 that the server sent on its own on a keep-alive connection that had carried ` +
            `requests and then sat idle${idles.length > 0 ? ` ${spanText(idles)} since its last response` : ''}: its idle keep-alive timeout fired and announced the close ` +
            'with a 408 (as some hand-written and raw-socket servers do) instead of a bare FIN. It is an idle close: ' +
            'a request on the connection as it came is the keep-alive race, the pool reusing a connection the server was closing.',
        );
      }
      if (unasked.length > 0) {
        parts.push(
          `${unasked.length === n ? 'Each' : `${unasked.length} of them`} followed a 408 that answered no request, sent on a connection opened ` +
            `${spanText(unused)} earlier and left unused: the server's timer for a first request fired (${firstRequestTimer.setting}), and a client that opens connections ahead ` +
            '(a pre-connecting pool) did not read the 408 before using the connection.',
        );
      }
      const remedy =
        (idleUsed.length > 0
          ? `Keep the client's pool idle timeout below the server's idle keep-alive timeout${idleTimeout !== null ? ` (about ${ms(idleTimeout.value)} s here)` : ''}, ` +
            'or raise the server\'s; retry an idempotent request that fails on a reused connection, and have the pool check a connection for a close ' +
            '(a readable EOF or a pending 408) before reusing it. '
          : '') +
        (unasked.length > 0
          ? `Do not keep connections opened ahead unused longer than the server's first-request timeout (or raise that timeout, e.g. ${firstRequestTimer.raise}); ` +
            'a pool should check a connection for a close (a readable EOF or a pending response) before its first use. '
          : '') +
        (after.length > idleUsed.length + unasked.length - crossed
          ? 'Make the client honour `Connection: close` (and HTTP/1.0 responses without keep-alive): every HTTP library does; a hand-written client, ' +
            'or one that pipelines behind a request whose answer may close, must read the response before writing the next request. ' +
            'If the server closes after a number of requests (nginx `keepalive_requests`, 1000 by default), a client that ignores the notice fails at that count.'
          : '');
      ctx.diagnose({
        server,
        count: n,
        inferred: idleTimeout !== null ? { serverIdleTimeout: idleTimeout } : {},
        explanation: parts.join(' '),
        remedy: remedy.trimEnd(),
        ...(found.some((f) => f.severity === 'error') ? { severity: 'error' as const } : {}),
        anomalyIds: found.map((f) => f.id),
      });
    };

    return {
      onExchange(ex, conn) {
        if (ex.index < 2 || ex.requestStart === null || late.has(conn.id)) return;
        const recent = conn.app?.recent ?? [];
        // The exchange just before this one on the same connection (recent ends with this one).
        const prev = exchangeAt(recent, ex.index - 1);
        if (idleNoticeCrossed(ex, prev)) {
          late.set(conn.id, { ex, notice: ex, crossed: true, lastActivityTs: prev?.responseEnd ?? NaN });
          return;
        }
        const notice = prev;
        if (notice === null || !notice.responseClose || notice.uncertain || notice.responseStart === null) return;
        if (ex.requestStart < notice.responseStart) return; // pipelined before the notice could be read
        // What the connection had done before a notice that answered no request: the idle time it closed.
        let lastActivityTs = NaN;
        if (notice.state === 'no-request') {
          const before = notice.index > 1 ? exchangeAt(recent, notice.index - 1) : null;
          lastActivityTs = notice.index === 1 ? -1 : keptAlive(before) ? before.responseEnd : NaN;
        }
        late.set(conn.id, { ex, notice, crossed: false, lastActivityTs });
      },
      onConnectionEnd(conn) {
        software.note(conn);
        const found = late.get(conn.id);
        if (found === undefined) return;
        late.delete(conn.id);
        report(conn, found);
      },

      onFinish() {
        const byServer = new Map<string, Finding[]>();
        for (const f of ctx.findings('request-after-close-notice')) {
          const list = byServer.get(f.server);
          if (list === undefined) byServer.set(f.server, [f]);
          else list.push(f);
        }
        for (const [server, found] of byServer) diagnose(server, found);
      },
    };
  },
};
