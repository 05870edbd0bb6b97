import type { AnalyzedConnection } from '../analyzed-connection';
import type { DetectorDefinition } from '../detector';
import type { HttpExchange } from '../../http/exchange';
import type { Finding } from '../finding';
import { at, isIdempotent, ms, requestLine } from '../facts';

/** A spread of gaps in seconds as text: "0.205 ms" or "0.86–0.869 s". */
function spanText(values: readonly number[]): string {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const one = (v: number): string => (v < 1 ? `${Math.round(v * 1e6) / 1e3} ms` : `${Math.round(v * 1000) / 1000} s`);
  return lo === hi ? one(lo) : `${one(lo)} to ${one(hi)}`;
}

/**
 * request-after-close-notice: the client sent another request on a connection after a response
 * that told it the connection would close (`Connection: close`, or HTTP/1.0 without keep-alive).
 * RFC 9112 §9.6: a client that receives close must stop sending requests on that connection. The
 * server has usually closed already, so the request is reset or lost. Reported once per connection,
 * for the first such request, when the connection ends.
 */
export const requestAfterCloseNotice: DetectorDefinition = {
  id: 'request-after-close-notice',
  meta: {
    description:
      'Another request on a connection after a response that said it would close (Connection: close, or HTTP/1.0 without keep-alive).',
    severity: 'warning',
    messages: {
      late: '{request} sent {after} ms after a response that announced the close ({why}); {outcome}',
    },
  },
  create(ctx) {
    /**
     * The first late request per connection, reported when the connection ends (its fate, the
     * server's FIN and RST, is known by then). Bounded by live connections.
     */
    const late = new Map<number, { ex: HttpExchange; notice: HttpExchange }>();

    const report = (conn: AnalyzedConnection, ex: HttpExchange, notice: HttpExchange): void => {
      const requestStart = ex.requestStart ?? 0;
      const noticeStart = notice.responseStart ?? 0;
      const noticeEnd = notice.responseEnd ?? noticeStart;
      const s = conn.server;
      const after = requestStart - noticeEnd;
      const finBefore = s.finTs >= 0 && s.finTs <= requestStart;
      const reset = s.rstTs >= 0 && s.rstTs >= requestStart;
      const why = notice.responseVersion === 'HTTP/1.0' ? 'an HTTP/1.0 response, which closes unless it says keep-alive' : 'Connection: close';
      const outcome =
        ex.state === 'complete'
          ? `the server answered it anyway (${ex.status ?? '?'})`
          : reset
            ? `the server ${finBefore ? 'had already closed and ' : ''}answered RST`
            : finBefore
              ? 'the server had already closed; no response'
              : 'no response';
      const afterFin = conn.clientDataAfterServerFin;
      // A 408 that answered no request: the server's timer for a first request fired on a
      // connection opened ahead and left unused (Node's headersTimeout / requestTimeout).
      const unasked = notice.state === 'no-request';
      ctx.report({
        flowId: conn.id,
        client: conn.clientName,
        server: conn.serverName,
        ts: requestStart,
        message: 'late',
        data: { request: requestLine(ex) ?? 'A request', after: ms(after * 1000), why, outcome },
        evidence: {
          request: requestLine(ex),
          method: ex.method,
          uri: ex.uri,
          idempotent: isIdempotent(ex.method),
          noticeStatus: notice.status,
          noticeVersion: notice.responseVersion,
          noticeTs: at(noticeEnd),
          requestTs: at(requestStart),
          afterNotice: at(after),
          noticeUnasked: unasked,
          unusedBeforeNotice: unasked ? ms(noticeStart - conn.startTs) : null,
          serverFinTs: s.finTs >= 0 ? at(s.finTs) : null,
          serverFinAfterResponse: s.finTs >= 0 ? at(s.finTs - noticeEnd) : null,
          requestAfterServerFin: finBefore,
          requestAcksFin: finBefore && afterFin !== null ? afterFin.acksFin : null,
          rstTs: reset ? at(s.rstTs) : null,
          state: ex.state,
        },
        frames: [notice.responseFrame ?? 0, s.finTs >= 0 ? s.finFrame : 0, ex.requestFrame ?? 0, reset ? s.rstFrame : 0],
      });
    };

    /** One diagnosis per server: what the notices were, what became of the requests, what to change. */
    const diagnose = (server: string, found: readonly Finding[]): void => {
      const n = found.length;
      const unasked = found.filter((f) => f.evidence.noticeUnasked === true);
      const unanswered = found.filter((f) => f.evidence.state !== 'complete').length;
      const reset = found.filter((f) => f.evidence.rstTs !== null).length;
      const afterFin = found.filter((f) => f.evidence.requestAfterServerFin === true).length;
      const gaps = found.map((f) => Number(f.evidence.afterNotice));
      const unused = unasked.map((f) => Number(f.evidence.unusedBeforeNotice));
      const parts = [
        `${n} request${n === 1 ? ' was' : 's were'} sent on connections after ${server}'s response had announced the close ` +
          `(${spanText(gaps)} after it${afterFin > 0 ? `; ${afterFin === n ? 'each' : afterFin} after the server's FIN` : ''}): ` +
          'a client must not send more on such a connection (RFC 9112 §9.6). ' +
          (unanswered === 0
            ? 'The server answered them anyway; one that closes as it announced drops them.'
            : `${unanswered === n ? 'None was' : `${unanswered} ${unanswered === 1 ? 'was' : 'were'} not`} answered${reset > 0 ? ` (${reset} drew a RST)` : ''}: ` +
              'the client sees EOF, "socket hang up" or a reset, and retries only an idempotent request, if at all.'),
      ];
      if (unasked.length > 0) {
        parts.push(
          `${unasked.length === n ? 'Each' : `${unasked.length} of them`} followed a 408 that answered no request, sent on a connection opened ` +
            `${spanText(unused)} earlier and left unused: the server's timer for a first request fired (Node's http server: \`headersTimeout\`, ` +
            '60 s by default, checked every `connectionsCheckingInterval`; `requestTimeout`), and a client that opens connections ahead ' +
            '(a pre-connecting pool) did not read the 408 before using the connection.',
        );
      }
      const remedy =
        (unasked.length > 0
          ? 'Do not keep connections opened ahead unused longer than the server\'s first-request timeout (or raise that timeout, e.g. Node ' +
            '`server.headersTimeout`); a pool should check a connection for a close (a readable EOF or a pending response) before its first use. '
          : '') +
        'Make the client honour `Connection: close` (and HTTP/1.0 responses without keep-alive): every HTTP library does; a hand-written client, ' +
        'or one that pipelines behind a request whose answer may close, must read the response before writing the next request. ' +
        'If the server closes after a number of requests (nginx `keepalive_requests`, 1000 by default), a client that ignores the notice fails at that count.';
      ctx.diagnose({ server, count: n, inferred: {}, explanation: parts.join(' '), remedy, anomalyIds: found.map((f) => f.id) });
    };

    return {
      onExchange(ex, conn) {
        if (ex.index < 2 || ex.requestStart === null || late.has(conn.id)) return;
        const recent = conn.app?.recent ?? [];
        // The exchange just before this one on the same connection (recent ends with this one).
        let notice: HttpExchange | null = null;
        for (let i = recent.length - 1; i >= 0; i--) {
          if (recent[i].index === ex.index - 1) {
            notice = recent[i];
            break;
          }
        }
        if (notice === null || !notice.responseClose || notice.uncertain || notice.responseStart === null) return;
        if (ex.requestStart < notice.responseStart) return; // pipelined before the notice could be read
        late.set(conn.id, { ex, notice });
      },
      onConnectionEnd(conn) {
        const found = late.get(conn.id);
        if (found === undefined) return;
        late.delete(conn.id);
        report(conn, found.ex, found.notice);
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
