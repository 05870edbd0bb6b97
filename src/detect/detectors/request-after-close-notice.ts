import type { AnalyzedConnection } from '../analyzed-connection';
import type { DetectorDefinition } from '../detector';
import type { HttpExchange } from '../../http/exchange';
import { at, isIdempotent, ms, requestLine } from '../facts';

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
          afterNotice: ms(after),
          serverFinTs: s.finTs >= 0 ? at(s.finTs) : null,
          serverFinAfterResponse: s.finTs >= 0 ? ms(s.finTs - noticeEnd) : null,
          requestAfterServerFin: finBefore,
          requestAcksFin: finBefore && afterFin !== null ? afterFin.acksFin : null,
          rstTs: reset ? at(s.rstTs) : null,
          state: ex.state,
        },
        frames: [notice.responseFrame ?? 0, s.finTs >= 0 ? s.finFrame : 0, ex.requestFrame ?? 0, reset ? s.rstFrame : 0],
      });
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
    };
  },
};
