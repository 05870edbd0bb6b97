import type { DetectorDefinition } from '../detector';
import { isIdempotent, ms, requestLine } from '../facts';

/**
 * request-after-close-notice: the client sent another request on a connection after a response
 * that told it the connection would close (`Connection: close`, or HTTP/1.0 without keep-alive).
 * RFC 9112 §9.6: a client that receives close must stop sending requests on that connection. The
 * server has usually closed already, so the request is reset or lost. Reported once per connection,
 * at the first such request.
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
    /** Connections already reported (cleared at their end: bounded by live connections). */
    const reported = new Set<number>();
    return {
      onExchange(ex, conn) {
        if (ex.index < 2 || ex.requestStart === null || reported.has(conn.id)) return;
        const recent = conn.app?.recent ?? [];
        // The exchange just before this one on the same connection (recent ends with this one).
        let previous = null;
        for (let i = recent.length - 1; i >= 0; i--) {
          if (recent[i].index === ex.index - 1) {
            previous = recent[i];
            break;
          }
        }
        if (previous === null || !previous.responseClose || previous.uncertain || previous.responseStart === null) return;
        const noticeEnd = previous.responseEnd ?? previous.responseStart;
        if (ex.requestStart < previous.responseStart) return; // pipelined before the notice could be read
        reported.add(conn.id);
        const s = conn.server;
        const after = ex.requestStart - noticeEnd;
        const finBefore = s.finTs >= 0 && s.finTs <= ex.requestStart;
        const reset = s.rstTs >= 0 && s.rstTs >= ex.requestStart;
        const why = previous.responseVersion === 'HTTP/1.0' ? 'an HTTP/1.0 response without keep-alive' : 'Connection: close';
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
          ts: ex.requestStart,
          message: 'late',
          data: { request: requestLine(ex) ?? 'A request', after: ms(after * 1000), why, outcome },
          evidence: {
            request: requestLine(ex),
            method: ex.method,
            uri: ex.uri,
            idempotent: isIdempotent(ex.method),
            noticeStatus: previous.status,
            noticeVersion: previous.responseVersion,
            noticeTs: ms(noticeEnd),
            requestTs: ms(ex.requestStart),
            afterNotice: ms(after),
            serverFinTs: s.finTs >= 0 ? ms(s.finTs) : null,
            serverFinAfterResponse: s.finTs >= 0 ? ms(s.finTs - noticeEnd) : null,
            requestAfterServerFin: finBefore,
            requestAcksFin: finBefore && afterFin !== null ? afterFin.acksFin : null,
            rstTs: reset ? ms(s.rstTs) : null,
            state: ex.state,
          },
          frames: [previous.responseFrame ?? 0, finBefore ? s.finFrame : 0, ex.requestFrame ?? 0, reset ? s.rstFrame : 0],
        });
      },
      onConnectionEnd(conn) {
        reported.delete(conn.id);
      },
    };
  },
};
