import { RequestCopies } from '../../src/detect/request-copies';
import type { RememberedRequest } from '../../src/detect/request-index';

let entries = 0;
/** A remembered request: `client` asks `server` GET /late at `ts`, unanswered, its exchange over at `end`. */
function unanswered(client: string, server: string, ts: number, end: number, endKnown = true): RememberedRequest {
  return {
    entry: entries++, hash: 0, client, server, method: 'GET', uri: '/late', bodyBytes: 0, flowId: entries, ts, frame: 0, index: 1,
    connectionStart: ts, connectionReadyAt: ts, previousStart: -1, serverClosedBefore: -1, requestEnd: ts, responseStart: null, answered: false, unanswered: endKnown, clientGaveUpAt: null, end, endKnown, status: null,
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

describe('RequestCopies.upstreamAddressOf: a loopback proxy connecting from its clients\' own address', () => {
  /** The client's request to the proxy at `ts`, answered `status` at `answerAt`. */
  function answeredWith(client: string, ts: number, answerAt: number, status: number): RememberedRequest {
    return { ...unanswered(client, '127.0.0.2:8080', ts, answerAt + 0.001), responseStart: answerAt, answered: true, unanswered: false, status };
  }

  /** Two requests (at 0 and 5 s) forwarded from 127.0.0.1 to 127.0.0.3:8082, never answered, closed by the proxy at `closedAt` s after each. */
  function scene(closedAt: number, status: number): RememberedRequest[] {
    return [0, 5].flatMap((t, i) => [
      answeredWith(`127.0.0.1:4400${i}`, t, t + 2.002, status),
      unanswered(`127.0.0.1:5700${i}`, '127.0.0.3:8082', t + 0.0005, t + closedAt),
    ]);
  }

  test('copies never answered, closed as the proxy answered 504 (its read timeout): the clients\' address is its upstream one', () => {
    expect(new RequestCopies(scene(2.002, 504)).upstreamAddressOf('127.0.0.2')).toBe('127.0.0.1');
  });

  test('near miss: the same copies closed a second before the proxy\'s 504: the client asking two servers, no forward', () => {
    expect(new RequestCopies(scene(1.0, 504)).upstreamAddressOf('127.0.0.2')).toBeNull();
  });

  test('near miss: closed as the proxy answered 200: no gateway error, no forward given up', () => {
    expect(new RequestCopies(scene(2.002, 200)).upstreamAddressOf('127.0.0.2')).toBeNull();
  });
});

describe('RequestCopies.upstreamAddressOf: a request is waited for until it is answered or its client gives up', () => {
  const PROXY = '10.0.0.2:80';
  const BACKEND = '10.0.0.3:8080';
  /** A request of `client` to `server` at `ts` for /late, answered 200 at `answerAt`, its client having given up at `gaveUp` (null: it had not). */
  function req(client: string, server: string, ts: number, answerAt: number, gaveUp: number | null): RememberedRequest {
    return { ...unanswered(client, server, ts, answerAt + 0.001), responseStart: answerAt, answered: true, unanswered: false, status: 200, clientGaveUpAt: gaveUp };
  }

  /**
   * Blind 15, S17/S17b: clients at 10.0.0.1 (timeouts 1 s and 1.5 s) ask the proxy, which forwards
   * each from 10.0.1.2 to a backend answering in 3 s. `cancels`: the proxy closes the forward with
   * its client (Caddy); else it waits and writes the late answer into the closed client socket (h2o).
   */
  function scene(cancels: boolean): RememberedRequest[] {
    return [[0, 1], [1.5, 1], [3.1, 1.5], [5.0, 1.5]].flatMap(([t, timeout], i) => {
      const gaveUp = t + timeout;
      return [
        req(`10.0.0.1:4000${i}`, PROXY, t, cancels ? gaveUp + 0.0004 : t + 3.06, gaveUp),
        req(`10.0.1.2:5000${i}`, BACKEND, t + 0.05, t + 3.05, cancels ? gaveUp + 0.0002 : null),
      ];
    });
  }

  test.each([true, false])('cancels=%s: the proxy forwards from 10.0.1.2; the clients\' next requests are no forwards of the backend\'s', (cancels) => {
    const copies = new RequestCopies(scene(cancels));
    expect(copies.upstreamAddressOf('10.0.0.2')).toBe('10.0.1.2');
    expect(copies.upstreamAddressOf('10.0.0.3')).toBeNull();
    expect(copies.proxyForwardingFrom('10.0.0.1')).toBeNull();
  });

  test('near miss: a proxy whose read timeout answers 504 before its forward\'s late answer still forwards from 10.0.1.2', () => {
    const requests = [0, 1.5, 3.1, 5.0].flatMap((t, i) => [
      { ...req(`10.0.0.1:4000${i}`, PROXY, t, t + 1, null), status: 504 },
      req(`10.0.1.2:5000${i}`, BACKEND, t + 0.05, t + 3.05, t + 1),
    ]);
    expect(new RequestCopies(requests).upstreamAddressOf('10.0.0.2')).toBe('10.0.1.2');
  });
});

describe('RequestCopies.upstreamAddressOf: two proxies never forward to each other', () => {
  /** `client` asks `server` for /late at `ts`, answered 200 at `answerAt`, in time. */
  function req(client: string, server: string, ts: number, answerAt: number): RememberedRequest {
    return { ...unanswered(client, server, ts, answerAt + 0.001), responseStart: answerAt, answered: true, unanswered: false, status: 200 };
  }

  test('a backend slow for every other request: the client\'s next request, answered sooner, is no forward of the backend\'s (a loop)', () => {
    // 10.0.0.1 asks the proxy every second; the proxy forwards from 10.0.1.2; the backend takes 2.5 s and 0.3 s in turn.
    const requests = [0, 1, 2, 3, 4, 5].flatMap((t, i) => {
      const answered = t + 0.05 + (i % 2 === 0 ? 2.5 : 0.3);
      return [req(`10.0.0.1:4000${i}`, '10.0.0.2:80', t, answered + 0.01), req(`10.0.1.2:5000${i}`, '10.0.0.3:8080', t + 0.05, answered)];
    });
    const copies = new RequestCopies(requests);
    expect(copies.upstreamAddressOf('10.0.0.2')).toBe('10.0.1.2');
    expect(copies.upstreamAddressOf('10.0.0.3')).toBeNull();
    expect(copies.proxyForwardingFrom('10.0.0.1')).toBeNull();
  });

  test('near miss: a chain of two proxies (10.0.0.2 → 10.0.0.3 → 10.0.0.4), each from its own address, is no loop', () => {
    const requests = [0, 1, 2, 3].flatMap((t, i) => [
      req(`10.0.0.1:4000${i}`, '10.0.0.2:80', t, t + 0.52),
      req(`10.0.1.2:5000${i}`, '10.0.0.3:80', t + 0.01, t + 0.51),
      req(`10.0.2.3:6000${i}`, '10.0.0.4:8080', t + 0.02, t + 0.5),
    ]);
    const copies = new RequestCopies(requests);
    // The second proxy forwards into 10.0.0.4, not back to the first: kept. (The first is not
    // learned: both hops' requests copy its own, a tie that names none, as before.)
    expect(copies.upstreamAddressOf('10.0.0.3')).toBe('10.0.2.3');
  });
});
