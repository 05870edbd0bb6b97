import { KNOWN_IDLE_TIMEOUTS, matchKnown } from '../../src/detect/known-timeouts';

describe('known idle timeouts', () => {
  // Node 20's fetch (undici 6): keepAliveTimeout 4e3 ms unless the server sends a Keep-Alive hint
  // (then the hint less keepAliveTimeoutThreshold, 2e3 ms); measured against a Python server with
  // no hint, which closed at 1 s: undici reused its connections up to that moment.
  test('Node fetch (undici) keeps idle connections 4 s by default, not 15 s', () => {
    expect(matchKnown(4, KNOWN_IDLE_TIMEOUTS).map((k) => k.name).join('\n')).toMatch(/undici/);
    expect(matchKnown(15, KNOWN_IDLE_TIMEOUTS).map((k) => k.name).join('\n')).not.toMatch(/undici/);
  });
});
