import type { AnalyzedConnection } from './analyzed-connection';
import { seqAdd, seqGt } from '../flow/seq';

/**
 * A brand-new connection the server's application closed as it accepted it: a connection limit
 * refusing one more (Node's `server.maxConnections` destroys the socket it just accepted; nginx
 * out of `worker_connections` closes a connection it has not read from yet, "N worker_connections
 * are not enough, reusing connections"; a server shedding load, a per-address limit, an ACL
 * checked after accept()).
 *
 * Its two shapes on the wire (blind round 16, load S11 and S7):
 * - 'fin-before-request': the server sent FIN sooner than any idle timer (minIdleTimeout) after the
 *   handshake, having sent no byte and acknowledged none of the client's: the application closed
 *   the socket before any request reached it; the request that follows is answered with RST.
 *   No kernel closes a connection by FIN on its own: an application accepted and closed it.
 * - 'reset-after-request': the request had arrived (the kernel acknowledged it) when the application
 *   got to the socket, and its close with unread data sent RST (with ACK), as soon after the
 *   handshake, no byte sent. A listener closed by a restart resets the connections still in its
 *   accept queue exactly so, so this shape alone proves nothing: accept-queue-overflow counts it only
 *   beside the first shape, in one burst.
 *
 * Not a keep-alive race (no connection idle after use, no idle timer that short), and not a process
 * ending (it went on serving the connections it held).
 */
export type AcceptCloseForm = 'fin-before-request' | 'reset-after-request';

/** The shape of a server's close of a connection it refused as it accepted it (see AcceptCloseForm), or null. */
export function acceptCloseOf(conn: AnalyzedConnection, minIdleTimeout: number): AcceptCloseForm | null {
  const c = conn.client;
  const s = conn.server;
  const handshake = conn.handshakeAckTs;
  if (handshake < 0 || s.synAckCount === 0 || c.synCount === 0) return null;
  // The server sent nothing, and the capture lost nothing that could have been an answer.
  if (s.payloadBytes > 0 || s.finUnseen || s.lostBytes > 0 || c.lostBytes > 0) return null;
  const fin = s.finTs >= 0 && (s.rstTs < 0 || s.finTs <= s.rstTs);
  const close = fin ? s.finTs : s.rstTs;
  // Sooner than any idle timer, less the round trip a capture away from the server adds (the
  // handshake's own, SYN to its ACK, at whichever point the capture was taken).
  const roundTrip = c.synTimes.length > 0 ? Math.max(0, handshake - c.synTimes[c.synTimes.length - 1]) : 0;
  if (close < handshake || close - handshake - roundTrip >= minIdleTimeout) return null;
  // The client closed first: its own give-up, not the server's refusal.
  if ((c.finTs >= 0 && c.finTs <= close) || (c.rstTs >= 0 && c.rstTs <= close)) return null;
  if (fin) {
    // Nothing of the client's acknowledged: no request had reached the socket the application closed
    // (one that had would have been unread: RST, not FIN; a half-close answering it would send data).
    if (s.hasAck && seqGt(s.highestAck, seqAdd(c.isn, 1))) return null;
    return 'fin-before-request';
  }
  // The request had arrived, and the RST carries an ACK: a socket closed with it unread (the kernel
  // refusing a handshake its full accept queue cannot take resets data without ACK: accept-queue-overflow's resetAnswer).
  if (c.firstDataTs < 0 || c.firstDataTs > close || !s.rstHasAck) return null;
  return 'reset-after-request';
}
