import { LegsByRequest, LEGS_TOGETHER } from '../../src/detect/legs-by-request';

interface Leg {
  flowId: number;
  server: string;
  requestStart: number;
  closeTs: number;
}

/** A front leg (the client's connection to a proxy, or to a server) as LegsByRequest.nearest takes it. */
const front = { flowId: 1, server: '10.0.0.2:8080', requestStart: 100, answeredAt: 100.01, closeTs: 103 };

describe('pairing a proxy\'s two legs of one request', () => {
  test('a later copy of the request to another server, closed together, is the upstream leg', () => {
    const legs = new LegsByRequest<Leg>((l) => l.closeTs);
    legs.add('GET /big', { flowId: 2, server: '10.0.0.3:9000', requestStart: 100.002, closeTs: 103.001 });
    expect(legs.nearest('GET /big', front, LEGS_TOGETHER)?.flowId).toBe(2);
  });

  test('another client\'s connection to the same server is never the upstream leg, however close in time', () => {
    // Two downloads begun a moment apart and cut together by the server's kill: no proxy's two legs.
    const legs = new LegsByRequest<Leg>((l) => l.closeTs);
    legs.add('GET /big', { flowId: 2, server: front.server, requestStart: 100.002, closeTs: 103.001 });
    expect(legs.nearest('GET /big', front, LEGS_TOGETHER)).toBeNull();
  });

  test('a copy forwarded after the front leg was answered, or closed apart, is another request\'s', () => {
    const legs = new LegsByRequest<Leg>((l) => l.closeTs);
    legs.add('GET /big', { flowId: 2, server: '10.0.0.3:9000', requestStart: 100.5, closeTs: 103.001 });
    legs.add('GET /big', { flowId: 3, server: '10.0.0.3:9000', requestStart: 100.002, closeTs: 103.5 });
    expect(legs.nearest('GET /big', front, LEGS_TOGETHER)).toBeNull();
  });
});
