import { RequestCopies } from '../../src/detect/request-copies';
import type { RememberedRequest } from '../../src/detect/request-index';

let entries = 0;
/** A remembered request: `client` asks `server` GET /late at `ts`, unanswered, its exchange over at `end`. */
function unanswered(client: string, server: string, ts: number, end: number, endKnown = true): RememberedRequest {
  return {
    entry: entries++, hash: 0, client, server, method: 'GET', uri: '/late', bodyBytes: 0, flowId: entries, ts, frame: 0, index: 1,
    connectionStart: ts, connectionReadyAt: ts, previousStart: -1, requestEnd: ts, responseStart: null, answered: false, end, endKnown, status: null,
    claimed: false, idempotencyKey: false, agent: null, version: null, connectionHeader: null, headWhole: false,
  };
}

describe('RequestCopies.forwardedFrom: a proxy forwards a request while its client waits for it', () => {
  const up = { client: '127.0.0.1:37278', server: '127.0.0.1:18102', method: 'GET', uri: '/late', start: 10.5 };

  test('a request the server on the sender\'s host still held unanswered when the copy left: forwarded', () => {
    const down = unanswered('127.0.0.1:33818', '127.0.0.1:18201', 7.4, 12);
    expect(new RequestCopies([down]).forwardedFrom(up)).toBe(down);
  });

  test('silent: its connection had ended unanswered 3 s before (the client had stopped waiting): another call, no forward', () => {
    const down = unanswered('127.0.0.1:33818', '127.0.0.1:18201', 7.4, 7.41);
    expect(new RequestCopies([down]).forwardedFrom(up)).toBeNull();
  });

  test('an end not known yet (the exchange was decided while its connection lived) does not rule a forward out', () => {
    const down = unanswered('127.0.0.1:33818', '127.0.0.1:18201', 7.4, 7.4, false);
    expect(new RequestCopies([down]).forwardedFrom(up)).toBe(down);
  });
});
