import { capturePosition, handshakeCapturePosition } from '../../src/flow/capture-point';
import type { Connection } from '../../src/flow/connection';

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

describe('handshakeCapturePosition: handshakes that repeated on a lossy path', () => {
  // A connection reduced to what the function reads: the client's SYN times, the server's SYN-ACK times, the handshake's ACK.
  const conn = (syns: number[], synAcks: number[], ackTs: number) =>
    ({ client: { synTimes: syns }, server: { synAckTimes: synAcks }, handshakeAckTs: ackTs }) as unknown as Connection<unknown>;

  test('next to the server, the first SYN-ACK lost on its way: SYN, SYN-ACK, SYN again, SYN-ACK again, ACK one RTT later', () => {
    const p = handshakeCapturePosition(conn([0, 1.02], [0.0001, 1.0201], 1.0601));
    expect(p).toEqual({ serverRtt: expect.closeTo(0.0001, 9), clientRtt: expect.closeTo(0.04, 9), near: 'server' });
  });

  test('next to the client, the SYN lost: the retried SYN is answered one RTT later', () => {
    expect(handshakeCapturePosition(conn([0, 1.02], [1.06], 1.0601))?.near).toBe('client');
  });

  test('in the middle, the ACK lost beyond the capture: the server repeats its SYN-ACK and the client ACKs it again', () => {
    // The first ACK seen establishes the handshake; a SYN-ACK repeated after it does not move the client's leg.
    const p = handshakeCapturePosition(conn([0], [0.02, 1.02], 0.04));
    expect(p).toEqual({ serverRtt: expect.closeTo(0.02, 9), clientRtt: expect.closeTo(0.02, 9), near: 'between' });
  });

  test('in the middle, the ACK follows the repeated SYN-ACK: the client leg runs from that one', () => {
    const p = handshakeCapturePosition(conn([0], [0.02, 1.02], 1.04));
    expect(p).toEqual({ serverRtt: expect.closeTo(0.02, 9), clientRtt: expect.closeTo(0.02, 9), near: 'between' });
  });

  test('no SYN-ACK after the last SYN: unknown', () => {
    expect(handshakeCapturePosition(conn([0, 1.02], [0.02], 1.04))).toBeNull();
  });
});
