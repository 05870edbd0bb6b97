import { ClientCadence } from '../../src/detect/client-cadence';
import type { AnalyzedConnection } from '../../src/detect/analyzed-connection';
import type { HttpExchange } from '../../src/http/exchange';

/** Just what ClientCadence reads of an exchange and its connection. */
function exchange(flowId: number, start: number, responseEnd: number | null, host = '10.0.0.1'): [HttpExchange, AnalyzedConnection] {
  const ex = { requestStart: start, requestEnd: start, responseEnd } as unknown as HttpExchange;
  const conn = { id: flowId, clientHost: host, serverName: '10.0.0.2:80', lastTs: start + 0.5 } as unknown as AnalyzedConnection;
  return [ex, conn];
}

describe('ClientCadence', () => {
  test('a sequential client that sent a request between two moments moved on', () => {
    const c = new ClientCadence();
    c.note(...exchange(1, 1, 1.1));
    c.note(...exchange(2, 2, 2.1));
    expect(c.movedOnBetween('10.0.0.1', '10.0.0.2:80', 1.5, 3)).toBe(true);
    expect(c.movedOnBetween('10.0.0.1', '10.0.0.2:80', 2.5, 3)).toBe(false); // nothing in between
    expect(c.movedOnBetween('10.0.0.9', '10.0.0.2:80', 1.5, 3)).toBe(false); // another host: unknown
  });

  test('two requests in flight at once on different connections: never judged', () => {
    const c = new ClientCadence();
    c.note(...exchange(1, 1, 3));
    c.note(...exchange(2, 2, 2.1));
    expect(c.movedOnBetween('10.0.0.1', '10.0.0.2:80', 1.5, 3)).toBe(false);
  });

  test('pipelined requests on one connection are not concurrency between connections', () => {
    const c = new ClientCadence();
    c.note(...exchange(1, 1, 3));
    c.note(...exchange(1, 1.5, 3.1));
    c.note(...exchange(2, 4, 4.1));
    expect(c.movedOnBetween('10.0.0.1', '10.0.0.2:80', 3.5, 5)).toBe(true);
  });

  test('an exchange without a response was in flight until its connection ended', () => {
    const c = new ClientCadence();
    c.note(...exchange(1, 1, null)); // connection's last packet at 1.5
    c.note(...exchange(2, 1.2, 1.3));
    expect(c.movedOnBetween('10.0.0.1', '10.0.0.2:80', 1.1, 2)).toBe(false);
  });
});
