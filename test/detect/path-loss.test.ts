import type { AnalyzedConnection } from '../../src/detect/analyzed-connection';
import { PathLossLog } from '../../src/detect/path-loss';

/** src/detect/path-loss.ts: where the path between two hosts visibly lost segments. */
function lossy(id: number, from: number, to: number, serverRetransmissions: number): AnalyzedConnection {
  return {
    id, clientHost: '10.0.0.1', serverHost: '10.0.0.2', startTs: from, lastTs: to,
    client: { retransmissions: 0, retransmissionsBeforePeerAck: 0 },
    server: { retransmissions: serverRetransmissions },
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
