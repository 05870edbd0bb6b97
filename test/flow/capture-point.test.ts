import { capturePosition } from '../../src/flow/capture-point';

describe('capturePosition: where the capture was taken, from the handshake', () => {
  test.each([
    // SYN at 0; a capture next to the client sees the SYN-ACK one RTT later and the ACK at once.
    [{ synTs: 0, synAckTs: 0.1, ackTs: 0.1001 }, 'client'],
    // Next to the server: SYN-ACK at once, the client's ACK one RTT later.
    [{ synTs: 0, synAckTs: 0.0001, ackTs: 0.1001 }, 'server'],
    // In the middle (a proxy, a router): both legs carry part of the RTT.
    [{ synTs: 0, synAckTs: 0.05, ackTs: 0.1 }, 'between'],
  ])('%j → %s', (t, near) => {
    expect(capturePosition(t)?.near).toBe(near);
  });

  test('round trips are reported per leg', () => {
    expect(capturePosition({ synTs: 10, synAckTs: 10.03, ackTs: 10.032 })).toEqual({ serverRtt: expect.closeTo(0.03, 9), clientRtt: expect.closeTo(0.002, 9), near: 'client' });
  });

  test('no complete handshake, or timestamps out of order: unknown', () => {
    expect(capturePosition({ synTs: -1, synAckTs: 1, ackTs: 2 })).toBeNull();
    expect(capturePosition({ synTs: 0, synAckTs: 1, ackTs: -1 })).toBeNull();
    expect(capturePosition({ synTs: 2, synAckTs: 1, ackTs: 3 })).toBeNull();
  });
});
