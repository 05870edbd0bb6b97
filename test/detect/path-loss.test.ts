import type { AnalyzedConnection } from '../../src/detect/analyzed-connection';
import { PathLossLog, pathLosses } from '../../src/detect/path-loss';

/** src/detect/path-loss.ts: where the path between two hosts visibly lost segments. */
function lossy(id: number, from: number, to: number, serverRetransmissions: number): AnalyzedConnection {
  return {
    id, clientHost: '10.0.0.1', serverHost: '10.0.0.2', startTs: from, lastTs: to,
    // Seen mid-stream, its capture whole, nothing out of order: only the server's resends count.
    client: { retransmissions: 0, retransmissionsBeforePeerAck: 0, captureLostBytes: 0, outOfOrder: 0, payloadBytes: 100, synTimes: [], synCount: 0 },
    server: { retransmissions: serverRetransmissions, captureLostBytes: 0, outOfOrder: 0, synAckTimes: [] },
  } as unknown as AnalyzedConnection;
}

test('a lossy connection counts where it was open, for its host pair only', () => {
  const log = new PathLossLog();
  log.note(lossy(1, 10, 12, 3));
  expect(log.around('10.0.0.1', '10.0.0.2', 11, 11.5)).toBe(3);
  expect(log.around('10.0.0.1', '10.0.0.2', 20, 21)).toBe(0);
  expect(log.around('10.0.0.3', '10.0.0.2', 11, 11.5)).toBe(0);
  expect(log.total('10.0.0.1', '10.0.0.2')).toBe(3);
});

test('shared by two detectors: a connection noted by each as it ends counts once', () => {
  const log = new PathLossLog();
  const conn = lossy(1, 10, 12, 3);
  log.note(conn);
  log.note(conn); // the second detector's onConnectionEnd for the same connection
  log.note(lossy(2, 11, 13, 2));
  expect(log.total('10.0.0.1', '10.0.0.2')).toBe(5);
});

test('what a capture next to the receiver shows of the path\'s losses: data past a hole filled later, a SYN-ACK resent by its timer', () => {
  const conn = (outOfOrder: number, synAckAfter: number, captureLostBytes = 0): AnalyzedConnection =>
    ({
      id: 1, clientHost: '10.0.0.1', serverHost: '10.0.0.2', startTs: 0, lastTs: 5,
      client: { retransmissions: 0, retransmissionsBeforePeerAck: 0, captureLostBytes: 0, outOfOrder: 0, payloadBytes: 100, synTimes: [0], synCount: 1 },
      server: { retransmissions: 0, captureLostBytes, outOfOrder, synAckTimes: [synAckAfter] },
    }) as unknown as AnalyzedConnection;
  expect(pathLosses(conn(0, 0.001))).toBe(0);
  expect(pathLosses(conn(2, 0.001))).toBe(2);
  // The capture's own holes are not the path's.
  expect(pathLosses(conn(2, 0.001, 1448))).toBe(0);
  // A single SYN answered 1 s later: the listener answers at once, so that SYN-ACK is a resend.
  expect(pathLosses(conn(0, 1.0))).toBe(1);
  expect(pathLosses(conn(0, 0.3))).toBe(0);
});
