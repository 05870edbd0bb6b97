import type { Connection } from './connection';

/**
 * Where the capture was taken on a connection's path, told by its handshake: the time from the
 * client's SYN to the server's SYN-ACK is the round trip between the capture point and the
 * server; from the SYN-ACK to the client's ACK, the round trip to the client. A capture next to
 * the client sees almost all of the RTT on the server's side, and the other way round. It
 * matters for timing evidence: on a client-side capture a request that crossed the server's FIN
 * may even appear before it.
 */
export interface HandshakeTiming {
  synTs: number;
  synAckTs: number;
  ackTs: number;
}

export type CapturePoint = 'client' | 'server' | 'between';

export interface CapturePosition {
  /** Round trip from the capture point to the server and back (SYN → SYN-ACK), seconds. */
  serverRtt: number;
  /** Round trip from the capture point to the client and back (SYN-ACK → ACK), seconds. */
  clientRtt: number;
  /** The side the capture point is near, when one leg holds at least 80 % of the RTT. */
  near: CapturePoint;
}

/** Where the capture point sits, or null without a complete handshake (or with clock disorder). */
export function capturePosition(t: HandshakeTiming): CapturePosition | null {
  if (t.synTs < 0 || t.synAckTs < 0 || t.ackTs < 0) return null;
  const serverRtt = t.synAckTs - t.synTs;
  const clientRtt = t.ackTs - t.synAckTs;
  if (serverRtt < 0 || clientRtt < 0) return null;
  const rtt = serverRtt + clientRtt;
  const near: CapturePoint = rtt <= 0 ? 'between' : serverRtt >= 0.8 * rtt ? 'client' : clientRtt >= 0.8 * rtt ? 'server' : 'between';
  return { serverRtt, clientRtt, near };
}

/**
 * The capture position of a connection, from its last SYN, the SYN-ACK that answered it and the
 * handshake's ACK. On a lossy path a handshake repeats itself: a SYN-ACK lost on its way to the
 * client makes the client send its SYN again, and the server answers that one (a capture next to
 * the server sees SYN, SYN-ACK, SYN, SYN-ACK); a lost ACK makes the server repeat its SYN-ACK. So
 * the server's leg runs from the last SYN to the first SYN-ACK after it, and the client's leg from
 * the last SYN-ACK before the ACK to the ACK.
 */
export function handshakeCapturePosition<T>(conn: Connection<T>): CapturePosition | null {
  const syns = conn.client.synTimes;
  const synAcks = conn.server.synAckTimes;
  const ackTs = conn.handshakeAckTs;
  if (syns.length === 0 || synAcks.length === 0 || ackTs < 0) return null;
  const synTs = syns[syns.length - 1];
  let answer = -1;
  let lastBeforeAck = -1;
  for (let i = 0; i < synAcks.length; i++) {
    const t = synAcks[i];
    if (answer < 0 && t >= synTs) answer = t;
    if (t <= ackTs) lastBeforeAck = t;
  }
  if (answer < 0 || lastBeforeAck < answer) return null;
  // The client's leg shifted to follow the answering SYN-ACK (the same one when nothing repeated).
  return capturePosition({ synTs, synAckTs: answer, ackTs: answer + (ackTs - lastBeforeAck) });
}
